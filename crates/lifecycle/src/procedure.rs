//! Procedure types and the rules that pick them: which procedures are allowed for an object and value at a date
//! (art. 50, 70-76), the qualification an SA needs (art. 62-63), the minimum number of invitees (art. 50 c.1
//! c-e) and the minimum terms for requests and offers (art. 71-73), computed with the `LegalCalendar`.

use chrono::{DateTime, NaiveDate, Utc};
use domain::money::Euro;
use domain::thresholds::{Art50Band, BandDecision, ContractObject, ThresholdScope};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::common::{Refusal, string_enum};
use crate::rules::Rules;

string_enum! {
    /// The procedure used to choose the contractor.
    pub enum ProcedureType ("procedure type") {
        /// Art. 50 c.1 lett. a)-b): direct award below 150,000 (works) / 140,000 (services, supplies).
        AffidamentoDiretto => "affidamento_diretto",
        /// Art. 50 c.1 lett. c)-e): negotiated procedure without a bando, 5 or 10 operators consulted.
        NegoziataSenzaBando => "negoziata_senza_bando",
        /// Art. 71: open procedure.
        Aperta => "aperta",
        /// Art. 72: restricted procedure (requests to participate, then offers from invited candidates).
        Ristretta => "ristretta",
        /// Art. 73: competitive procedure with negotiation (only in the cases of art. 70).
        CompetitivaConNegoziazione => "competitiva_con_negoziazione",
        /// Art. 74: competitive dialogue (only in the cases of art. 70).
        DialogoCompetitivo => "dialogo_competitivo",
        /// Art. 75: innovation partnership.
        PartenariatoInnovazione => "partenariato_innovazione",
        /// Art. 76: negotiated procedure without prior publication (exhaustive list of cases).
        NegoziataSenzaPubblicazione => "negoziata_senza_pubblicazione",
    }
}

/// The award criterion (art. 108): one enum, defined in `domain` and shared with `sealing`.
pub use domain::award::AwardCriterion;

string_enum! {
    /// Qualification level of a stazione appaltante for the award phase (art. 63 c.2), in increasing order.
    pub enum QualificationLevel ("qualification level") {
        /// Not qualified: may only run what art. 62 c.1 allows every SA.
        None => "none",
        /// 1st level: services and supplies up to 750,000, works up to 1,000,000.
        Base => "base",
        /// 2nd level: services and supplies up to 5,000,000, works up to the EU threshold.
        Intermediate => "intermediate",
        /// 3rd level: no limit.
        Advanced => "advanced",
    }
}

string_enum! {
    /// Reductions of the minimum terms of art. 71-72.
    pub enum TermReduction ("term reduction") {
        None => "none",
        /// Specifically motivated urgency (art. 71 c.3, art. 72 c.6).
        Urgency => "urgency",
        /// A prior information notice not used as a call, sent 35 days to 12 months before (art. 71 c.4, 72 c.4).
        PriorInformationNotice => "prior_information_notice",
    }
}

impl ProcedureType {
    /// The article that regulates the procedure.
    pub fn article(self) -> &'static str {
        match self {
            Self::AffidamentoDiretto => "art. 50 c.1 lett. a)-b)",
            Self::NegoziataSenzaBando => "art. 50 c.1 lett. c)-e)",
            Self::Aperta => "art. 71",
            Self::Ristretta => "art. 72",
            Self::CompetitivaConNegoziazione => "art. 73",
            Self::DialogoCompetitivo => "art. 74",
            Self::PartenariatoInnovazione => "art. 75",
            Self::NegoziataSenzaPubblicazione => "art. 76",
        }
    }

    /// Procedures with a first phase of requests to participate, then offers from invited candidates.
    pub fn has_request_phase(self) -> bool {
        matches!(
            self,
            Self::Ristretta
                | Self::CompetitivaConNegoziazione
                | Self::DialogoCompetitivo
                | Self::PartenariatoInnovazione
        )
    }

    /// Procedures opened by publishing a bando (as opposed to sending invitations or a direct award).
    pub fn is_published(self) -> bool {
        self == Self::Aperta || self.has_request_phase()
    }

    /// Procedures where only invited operators may bid, invited without a prior publication.
    pub fn is_invitation_only(self) -> bool {
        matches!(
            self,
            Self::NegoziataSenzaBando | Self::NegoziataSenzaPubblicazione
        )
    }

    /// Whether an operator needs an invitation to submit an offer.
    pub fn offers_by_invitation(self) -> bool {
        self.is_invitation_only() || self.has_request_phase()
    }

    /// Procedures usable only when a legal condition holds and is motivated in the decisione di contrarre.
    pub fn condition(self) -> Option<&'static str> {
        match self {
            Self::CompetitivaConNegoziazione | Self::DialogoCompetitivo => Some("art. 70 c.2"),
            Self::PartenariatoInnovazione => Some("art. 75 c.1"),
            Self::NegoziataSenzaPubblicazione => Some("art. 76 c.2"),
            _ => None,
        }
    }

    /// Maximum duration in months from publication/invitation to award (art. 17 c.3, Allegato I.3), if fixed.
    pub fn max_duration_months(self, criterion: AwardCriterion) -> Option<u32> {
        use AwardCriterion::*;
        match (self, criterion) {
            (Self::Aperta, QualityPrice) => Some(9),
            (Self::Aperta, LowestPrice) => Some(5),
            (Self::Ristretta, QualityPrice) => Some(10),
            (Self::Ristretta, LowestPrice) => Some(6),
            (Self::CompetitivaConNegoziazione, QualityPrice) => Some(7),
            (Self::CompetitivaConNegoziazione, LowestPrice) => Some(4),
            (Self::NegoziataSenzaBando | Self::NegoziataSenzaPubblicazione, QualityPrice) => {
                Some(4)
            }
            (Self::NegoziataSenzaBando | Self::NegoziataSenzaPubblicazione, LowestPrice) => Some(3),
            (Self::DialogoCompetitivo, _) => Some(7),
            (Self::PartenariatoInnovazione, _) => Some(9),
            (Self::AffidamentoDiretto, _) => None,
        }
    }
}

/// What a contract is and when the procedure starts: the inputs of every procedure rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContractContext {
    pub scope: ThresholdScope,
    /// Estimated value net of VAT, options and renewals included (art. 14 c.4).
    pub estimated_value: Decimal,
    /// The date whose thresholds apply (the decisione di contrarre / start of the procedure).
    pub date: NaiveDate,
}

impl ContractContext {
    pub fn new(object: ContractObject, estimated_value: Decimal, date: NaiveDate) -> Self {
        ContractContext {
            scope: ThresholdScope::sub_central(object),
            estimated_value,
            date,
        }
    }

    /// The same, from an exact `Euro` amount (non-negative by construction).
    pub fn from_euro(object: ContractObject, estimated_value: Euro, date: NaiveDate) -> Self {
        Self::new(object, estimated_value.to_decimal(), date)
    }
}

/// The art. 50 band of a contract, as a refusal naming art. 14 when the value or date is unusable.
pub fn band(rules: &Rules, ctx: &ContractContext) -> Result<BandDecision, Refusal> {
    rules
        .thresholds
        .band(ctx.date, ctx.scope, ctx.estimated_value)
        .map_err(|e| Refusal::new("art. 14", e.to_string()))
}

/// A procedure that may be used, and the condition that must be motivated for it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcedureOption {
    pub procedure: ProcedureType,
    /// `Some(article)`: allowed only if the condition of that article holds and is motivated.
    pub condition: Option<&'static str>,
}

/// The procedures allowed for a contract (art. 50 below the EU threshold, Part IV above it).
///
/// Below the EU threshold the ordinary procedures of Part IV remain usable (ANAC/MIT position), and the
/// negotiated procedure without bando may be used in the direct-award bands too (a more competitive choice;
/// not verified in law — see docs/lifecycle.md).
pub fn allowed_procedures(
    rules: &Rules,
    ctx: &ContractContext,
) -> Result<Vec<ProcedureOption>, Refusal> {
    let b = band(rules, ctx)?;
    Ok(ProcedureType::ALL
        .iter()
        .copied()
        .filter(|p| match p {
            ProcedureType::AffidamentoDiretto => b.band.is_direct_award(),
            ProcedureType::NegoziataSenzaBando => b.band.is_below_eu_threshold(),
            _ => true,
        })
        .map(|procedure| ProcedureOption {
            procedure,
            condition: procedure.condition(),
        })
        .collect())
}

/// Checks that `procedure` may be used for the contract; `condition_motivated` says whether the decisione di
/// contrarre motivates the condition of art. 70/75/76 for the procedures that need one.
pub fn check_procedure(
    rules: &Rules,
    procedure: ProcedureType,
    ctx: &ContractContext,
    condition_motivated: bool,
) -> Result<BandDecision, Refusal> {
    let b = band(rules, ctx)?;
    match procedure {
        ProcedureType::AffidamentoDiretto if !b.band.is_direct_award() => {
            let (rule, limit) = match ctx.scope.object {
                ContractObject::Works => ("art. 50 c.1 lett. a)", "150,000 for works"),
                _ => ("art. 50 c.1 lett. b)", "140,000 for services and supplies"),
            };
            return Err(Refusal::new(
                rule,
                format!(
                    "affidamento diretto needs an estimated value below {limit}; this contract is {} ({})",
                    ctx.estimated_value,
                    b.band.article()
                ),
            ));
        }
        ProcedureType::NegoziataSenzaBando if !b.band.is_below_eu_threshold() => {
            return Err(Refusal::new(
                "art. 50 c.1 lett. c)-e)",
                format!(
                    "procedura negoziata senza bando is only for values below the EU threshold of {}; this \
                     contract is {}",
                    b.eu_threshold, ctx.estimated_value
                ),
            ));
        }
        _ => {}
    }
    if let Some(article) = procedure.condition()
        && !condition_motivated
    {
        return Err(Refusal::new(
            article,
            format!(
                "{} may only be used when the condition of {article} holds and is motivated in the \
                 decisione di contrarre",
                procedure.as_str()
            ),
        ));
    }
    Ok(b)
}

/// The qualification level an SA needs to run the award phase of a contract (art. 62 c.1, art. 63 c.2).
pub fn required_qualification(
    rules: &Rules,
    ctx: &ContractContext,
) -> Result<QualificationLevel, Refusal> {
    let b = band(rules, ctx)?;
    let v = ctx.estimated_value;
    let d = Decimal::from;
    let bands = rules
        .thresholds
        .art50_at(ctx.date)
        .map_err(|e| Refusal::new("art. 50", e.to_string()))?;
    Ok(match ctx.scope.object {
        ContractObject::Works if v <= d(500_000) => QualificationLevel::None,
        ContractObject::Works if v <= d(1_000_000) => QualificationLevel::Base,
        ContractObject::Works if b.band.is_below_eu_threshold() => QualificationLevel::Intermediate,
        ContractObject::Works => QualificationLevel::Advanced,
        _ if v <= bands.direct_award_services_supplies => QualificationLevel::None,
        _ if v <= d(750_000) => QualificationLevel::Base,
        _ if v <= d(5_000_000) => QualificationLevel::Intermediate,
        _ => QualificationLevel::Advanced,
    })
}

/// Checks that an SA of level `held` may run the contract (art. 62 c.2: ANAC does not issue the CIG otherwise).
/// `None`: the SUA has not declared its qualification; it may run only what art. 62 c.1 allows every SA.
pub fn check_qualification(
    rules: &Rules,
    ctx: &ContractContext,
    held: Option<QualificationLevel>,
) -> Result<QualificationLevel, Refusal> {
    let needed = required_qualification(rules, ctx)?;
    match held {
        Some(held) => Refusal::unless(held >= needed, "art. 62 c.2, art. 63 c.2", || {
            format!(
                "a {} contract of {} needs qualification level '{}', the stazione appaltante has '{}'",
                ctx.scope.object, ctx.estimated_value, needed, held
            )
        })?,
        None => Refusal::unless(
            needed == QualificationLevel::None,
            "art. 62 c.2, art. 63 c.2",
            || {
                format!(
                    "a {} contract of {} needs qualification level '{}', and the stazione appaltante has not \
                     declared its qualification (configuration `sua.qualification`)",
                    ctx.scope.object, ctx.estimated_value, needed
                )
            },
        )?,
    }
    Ok(needed)
}

/// A minimum number (of invitees) and the rule that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinInvitees {
    pub count: u32,
    pub article: &'static str,
}

/// The minimum number of operators to invite, "ove esistenti": 5 or 10 for art. 50 c.1 c)-e); 5 candidates for
/// the restricted procedure and 3 for competitive negotiation, dialogue and innovation partnership (art. 70 c.6);
/// 3 "ove possibile" for the negotiated procedure without publication (art. 76 c.7).
pub fn min_invitees(procedure: ProcedureType, band: &BandDecision) -> Option<MinInvitees> {
    match procedure {
        ProcedureType::NegoziataSenzaBando => {
            // In the direct-award bands (a more competitive choice) the lett. c)/e) figure applies.
            let count = band.min_invitees.unwrap_or(5);
            let article = match band.band {
                Art50Band::LettD => "art. 50 c.1 lett. d)",
                Art50Band::LettA | Art50Band::LettC => "art. 50 c.1 lett. c)",
                _ => "art. 50 c.1 lett. e)",
            };
            Some(MinInvitees { count, article })
        }
        ProcedureType::Ristretta => Some(MinInvitees {
            count: 5,
            article: "art. 70 c.6",
        }),
        ProcedureType::CompetitivaConNegoziazione
        | ProcedureType::DialogoCompetitivo
        | ProcedureType::PartenariatoInnovazione => Some(MinInvitees {
            count: 3,
            article: "art. 70 c.6",
        }),
        // "ove possibile": fewer only with the operators that exist and a stated reason (the tender guard)
        ProcedureType::NegoziataSenzaPubblicazione => Some(MinInvitees {
            count: 3,
            article: "art. 76 c.7",
        }),
        _ => None,
    }
}

/// A minimum term in days and the rule that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinTerm {
    pub days: u32,
    pub article: &'static str,
}

/// Minimum term for requests to participate (procedures with a request phase).
pub fn min_request_term(
    rules: &Rules,
    procedure: ProcedureType,
    reduction: TermReduction,
) -> Option<MinTerm> {
    if !procedure.has_request_phase() {
        return None;
    }
    let (days, article) = match (procedure, reduction) {
        (ProcedureType::Ristretta, TermReduction::Urgency) => (15, "art. 72 c.6 lett. a)"),
        (ProcedureType::Ristretta, _) => (30, "art. 72 c.2"),
        (ProcedureType::CompetitivaConNegoziazione, TermReduction::Urgency) => {
            (15, "art. 73 c.4, art. 72 c.6 lett. a)")
        }
        (ProcedureType::CompetitivaConNegoziazione, _) => {
            (rules.art73.requests_days, "art. 73 c.4")
        }
        (ProcedureType::DialogoCompetitivo, _) => (30, "art. 74 c.2"),
        _ => (30, "art. 75 c.2"),
    };
    Some(MinTerm { days, article })
}

/// Minimum term for offers, from the transmission of the bando (open) or the invitation (others), above the
/// EU threshold. `None`: no statutory minimum (negotiated procedures, direct award, dialogue, partnership).
pub fn min_offer_term(
    rules: &Rules,
    procedure: ProcedureType,
    reduction: TermReduction,
) -> Option<MinTerm> {
    use TermReduction::*;
    let (days, article) = match (procedure, reduction) {
        (ProcedureType::Aperta, None) => (30, "art. 71 c.2"),
        (ProcedureType::Aperta, Urgency) => (15, "art. 71 c.3"),
        (ProcedureType::Aperta, PriorInformationNotice) => (15, "art. 71 c.4"),
        (ProcedureType::Ristretta, None) => (30, "art. 72 c.3"),
        (ProcedureType::Ristretta, PriorInformationNotice) => (10, "art. 72 c.4"),
        (ProcedureType::Ristretta, Urgency) => (10, "art. 72 c.6 lett. b)"),
        (ProcedureType::CompetitivaConNegoziazione, None) => {
            (rules.art73.offers_days, "art. 73 c.5")
        }
        (ProcedureType::CompetitivaConNegoziazione, PriorInformationNotice) => {
            (10, "art. 73 c.5, art. 72 c.4")
        }
        (ProcedureType::CompetitivaConNegoziazione, Urgency) => {
            (10, "art. 73 c.5, art. 72 c.6 lett. b)")
        }
        _ => return Option::None,
    };
    Some(MinTerm { days, article })
}

/// The earliest lawful deadline for a term of `term` triggered at `start`, with the calendar's roll-forward.
/// A term of N days ends at the end of its last day (Reg. 1182/71 art. 3(2)(b)): a deadline at any hour of the
/// last day, 00:00 included, is one day short.
pub fn earliest_deadline(
    rules: &Rules,
    start: DateTime<Utc>,
    term: MinTerm,
) -> Result<DateTime<Utc>, Refusal> {
    let cal = &rules.calendar;
    let last = cal
        .term_end(cal.local_date(start), term.days)
        .map_err(|e| Refusal::new(term.article, e.to_string()))?;
    Ok(cal.end_of_day(last))
}

/// Checks a deadline against a minimum term triggered at `start`.
pub fn check_deadline(
    rules: &Rules,
    start: DateTime<Utc>,
    deadline: DateTime<Utc>,
    term: MinTerm,
    what: &str,
) -> Result<(), Refusal> {
    let earliest = earliest_deadline(rules, start, term)?;
    Refusal::unless(deadline >= earliest, term.article, || {
        let cal = &rules.calendar;
        format!(
            "{what} term shorter than {} days: the deadline {} (local date {}) is before the earliest lawful \
             deadline {} (local date {}, Saturdays, Sundays and holidays rolled forward)",
            term.days,
            deadline,
            cal.local_date(deadline),
            earliest,
            cal.local_date(earliest)
        )
    })
}

string_enum! {
    /// What the contract is, where art. 108 c.2 makes the quality-price criterion compulsory. Declared on the
    /// tender (the decisione di contrarre states the award criterion, art. 17 c.1); `ordinary` for the rest.
    pub enum ServiceNature ("service nature") {
        /// None of the cases of art. 108 c.2: the criterion is the SA's choice (lowest price for standardised
        /// services and supplies, art. 108 c.3).
        Ordinary => "ordinary",
        /// Art. 108 c.2 lett. a): social services.
        SocialServices => "social_services",
        /// Art. 108 c.2 lett. a): hospital, care and school catering.
        Catering => "catering",
        /// Art. 108 c.2 lett. a), c.3: labour-intensive services (Allegato I.1 art. 2 c.1 lett. e).
        LabourIntensive => "labour_intensive",
        /// Art. 108 c.2 lett. b): engineering and architecture services and the other technical and
        /// intellectual services, from 140,000 euro.
        TechnicalIntellectual => "technical_intellectual",
        /// Art. 108 c.2 lett. c): services and supplies with a high technological content or innovative, from
        /// 140,000 euro.
        HighTechnology => "high_technology",
        /// Art. 108 c.2 lett. e): appalto integrato (design and execution).
        IntegratedContract => "integrated_contract",
        /// Art. 108 c.2 lett. f): works with a high technological content or innovative.
        InnovativeWorks => "innovative_works",
    }
}

/// The art. 108 c.2 (or c.3) case that makes the quality-price criterion compulsory for a contract, if any.
/// A direct award compares no offers and has no criterion to choose: none applies.
pub fn quality_price_required(
    procedure: ProcedureType,
    nature: ServiceNature,
    ctx: &ContractContext,
) -> Option<&'static str> {
    if procedure == ProcedureType::AffidamentoDiretto {
        return None;
    }
    let from_140k = ctx.estimated_value >= Decimal::from(140_000);
    match (procedure, nature) {
        (ProcedureType::DialogoCompetitivo | ProcedureType::PartenariatoInnovazione, _) => {
            Some("art. 108 c.2 lett. d)")
        }
        (_, ServiceNature::SocialServices | ServiceNature::Catering) => {
            Some("art. 108 c.2 lett. a)")
        }
        (_, ServiceNature::LabourIntensive) => Some("art. 108 c.2 lett. a), c.3"),
        (_, ServiceNature::TechnicalIntellectual) if from_140k => Some("art. 108 c.2 lett. b)"),
        (_, ServiceNature::HighTechnology) if from_140k => Some("art. 108 c.2 lett. c)"),
        (_, ServiceNature::IntegratedContract) => Some("art. 108 c.2 lett. e)"),
        (_, ServiceNature::InnovativeWorks) => Some("art. 108 c.2 lett. f)"),
        _ => None,
    }
}

/// Checks the award criterion against art. 108 c.2-3: lowest price is refused where quality-price is
/// compulsory, naming the case.
pub fn check_criterion(
    procedure: ProcedureType,
    criterion: AwardCriterion,
    nature: ServiceNature,
    ctx: &ContractContext,
) -> Result<(), Refusal> {
    match quality_price_required(procedure, nature, ctx) {
        Some(article) if criterion == AwardCriterion::LowestPrice => Err(Refusal::new(
            article,
            format!(
                "this contract ({} {}, {}) is awarded only on the best quality-price ratio: lowest price is \
                 not allowed",
                nature, ctx.scope.object, procedure
            ),
        )),
        _ => Ok(()),
    }
}

/// Checks art. 48 c.2: below the EU threshold, a contract of certain cross-border interest follows the
/// ordinary procedures of Part IV; the art. 50 c.1 procedures (direct award, negotiated without a bando)
/// are refused. Above the threshold they are refused anyway by [`check_procedure`].
pub fn check_cross_border(
    rules: &Rules,
    procedure: ProcedureType,
    ctx: &ContractContext,
    cross_border_interest: bool,
) -> Result<(), Refusal> {
    if !cross_border_interest
        || !matches!(
            procedure,
            ProcedureType::AffidamentoDiretto | ProcedureType::NegoziataSenzaBando
        )
    {
        return Ok(());
    }
    let b = band(rules, ctx)?;
    Refusal::unless(!b.band.is_below_eu_threshold(), "art. 48 c.2", || {
        format!(
            "a contract of certain cross-border interest follows the ordinary procedures (open, restricted, \
             ...): {} ({}) is not allowed",
            procedure,
            procedure.article()
        )
    })
}

string_enum! {
    /// How the awardee's requirements stand before the award when they are not verified (art. 52 c.1).
    pub enum RequirementChecks ("requirement checks") {
        /// Art. 52 c.1: direct award below 40,000 euro on the operator's self-declaration; the checks follow,
        /// also on an annual sample.
        Art52SelfDeclaration => "art52_self_declaration",
    }
}

/// The ceiling of art. 52 c.1 (direct awards on self-declaration): strictly below 40,000 euro.
pub const ART52_CEILING_EUR: i64 = 40_000;

/// Whether the requirements of the proposed awardee are established for the award: verified (art. 17 c.5,
/// art. 99), or, for a direct award below 40,000 euro, declared by the operator (art. 52 c.1). Returns the
/// article relied on. `verified == Some(false)` always refuses (the checks failed).
pub fn check_requirements(
    procedure: ProcedureType,
    contract_value: Option<Decimal>,
    verified: Option<bool>,
    checks: Option<RequirementChecks>,
) -> Result<&'static str, Refusal> {
    match (verified, checks) {
        (Some(true), _) => Ok("art. 17 c.5"),
        (Some(false), _) => Err(Refusal::new(
            "art. 17 c.5, art. 99",
            "the requirement checks failed: use verification_failed",
        )),
        (None, Some(RequirementChecks::Art52SelfDeclaration)) => {
            Refusal::unless(
                procedure == ProcedureType::AffidamentoDiretto,
                "art. 52 c.1",
                || {
                    format!(
                        "the award on the operator's self-declaration is only for direct awards (art. 50 c.1 \
                         lett. a-b); this is {procedure}"
                    )
                },
            )?;
            let ceiling = Decimal::from(ART52_CEILING_EUR);
            Refusal::unless(
                contract_value.is_some_and(|v| v < ceiling),
                "art. 52 c.1",
                || {
                    format!(
                        "the award on the operator's self-declaration is only below {ceiling} euro; this \
                         contract is {}: verify the requirements first",
                        contract_value.map_or("unknown".into(), |v| v.to_string())
                    )
                },
            )?;
            Ok("art. 52 c.1")
        }
        (None, None) => Err(Refusal::new(
            "art. 17 c.5, art. 99",
            "no award without a successful verification of the requirements (FVOE), or, for a direct award \
             below 40,000 euro, the operator's self-declaration (art. 52 c.1)",
        )),
    }
}
