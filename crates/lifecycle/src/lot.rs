//! The lot machine: the CIG is per lot, and so are evaluation, anomaly check, award, standstill and stipula.

use chrono::{DateTime, Utc};
use rust_fsm::StateMachineImpl;
use serde::{Deserialize, Serialize};

use crate::common::{
    Addressee as To, CommunicationKind as Kind, EffectsBuilder, Machine, Refusal, TimerKind,
    Transition, string_enum,
};
use crate::participation::{ParticipationEvent, ParticipationState};
use crate::procedure::{self, AwardCriterion, ContractContext, ProcedureType, RequirementChecks};
use crate::rules::Rules;
use domain::thresholds::ContractObject;

string_enum! {
    /// States of a lot.
    pub enum LotState ("lot state") {
        /// Waiting for the offer deadline (or for a direct award to start).
        Pending => "pending",
        /// Administrative documentation being examined (busta amministrativa), soccorso istruttorio.
        AdminReview => "admin_review",
        /// Technical offers being scored by the commissione giudicatrice (quality-price only).
        TechEval => "tech_eval",
        /// Technical scores frozen (or lowest price): economic offers may be opened.
        EconEval => "econ_eval",
        /// Economic offers opened; ranking available.
        Ranked => "ranked",
        /// The best offer appears abnormally low: explanations requested (art. 110).
        AnomalyCheck => "anomaly_check",
        /// Proposta di aggiudicazione to the best offer (art. 17 c.5).
        Proposed => "proposed",
        /// Requirements of the proposed awardee verified (FVOE, art. 24, 99).
        Verified => "verified",
        /// Aggiudicazione adopted; immediately efficacious (art. 17 c.5); standstill running.
        Awarded => "awarded",
        /// Stipula blocked by an interim request notified to the SA (art. 18 c.4).
        Suspended => "suspended",
        /// Standstill elapsed (or not applicable): the contract may be signed.
        ReadyToSign => "ready_to_sign",
        /// Contract signed. Final for this engine (execution is out of scope).
        Contracted => "contracted",
        /// No offers for this lot. Final.
        Deserted => "deserted",
        /// Nobody admitted or no suitable offer. Final.
        NotAwarded => "not_awarded",
        /// Revoked in autotutela before stipula. Final.
        Revoked => "revoked",
        /// Annulled in autotutela or by a court before stipula. Final.
        Annulled => "annulled",
    }
}

string_enum! {
    /// Events of a lot.
    pub enum LotEvent ("lot event") {
        OpenAdministrative => "open_administrative",
        DeclareDeserted => "declare_deserted",
        StartDirectAward => "start_direct_award",
        StartTechnicalEvaluation => "start_technical_evaluation",
        StartEconomicEvaluation => "start_economic_evaluation",
        ExcludeAll => "exclude_all",
        AppointCommission => "appoint_commission",
        FreezeTechnicalScores => "freeze_technical_scores",
        OpenEconomicOffers => "open_economic_offers",
        ResolveTie => "resolve_tie",
        AutoExcludeAnomalous => "auto_exclude_anomalous",
        StartAnomalyCheck => "start_anomaly_check",
        AcceptJustification => "accept_justification",
        RejectJustification => "reject_justification",
        ProposeAward => "propose_award",
        NoSuitableOffer => "no_suitable_offer",
        VerifyRequirements => "verify_requirements",
        VerificationFailed => "verification_failed",
        Award => "award",
        /// The outbox reported the last art. 90 c.1 b)-c) award communication sent: the standstill starts.
        RecordAwardCommunications => "record_award_communications",
        StandstillElapsed => "standstill_elapsed",
        NotifyCautelare => "notify_cautelare",
        CautelareDecided => "cautelare_decided",
        SignContract => "sign_contract",
        ReopenRanking => "reopen_ranking",
        Revoke => "revoke",
        Annul => "annul",
    }
}

impl LotState {
    pub const INITIAL: LotState = LotState::Pending;

    /// Final states: nothing leaves them.
    pub fn is_final(self) -> bool {
        match self {
            Self::Contracted
            | Self::Deserted
            | Self::NotAwarded
            | Self::Revoked
            | Self::Annulled => true,
            Self::Pending
            | Self::AdminReview
            | Self::TechEval
            | Self::EconEval
            | Self::Ranked
            | Self::AnomalyCheck
            | Self::Proposed
            | Self::Verified
            | Self::Awarded
            | Self::Suspended
            | Self::ReadyToSign => false,
        }
    }

    /// Which envelopes of the bids on this lot the lot's phase has opened: the sealed-order invariant.
    /// Administrative from `admin_review`, technical from `tech_eval`, economic from `ranked` (after
    /// `open_economic_offers`). Before that nobody but the bidder reads a bid. A lot that ended before the
    /// ranking (excluded all, revoked, annulled, no suitable offer) keeps only the administrative envelope open.
    pub fn open_envelopes(self) -> OpenEnvelopes {
        const NONE: OpenEnvelopes = OpenEnvelopes {
            administrative: false,
            technical: false,
            economic: false,
        };
        const ADMINISTRATIVE: OpenEnvelopes = OpenEnvelopes {
            administrative: true,
            technical: false,
            economic: false,
        };
        const TECHNICAL: OpenEnvelopes = OpenEnvelopes {
            administrative: true,
            technical: true,
            economic: false,
        };
        const ALL: OpenEnvelopes = OpenEnvelopes {
            administrative: true,
            technical: true,
            economic: true,
        };
        match self {
            Self::Pending | Self::Deserted => NONE,
            Self::AdminReview => ADMINISTRATIVE,
            Self::TechEval | Self::EconEval => TECHNICAL,
            Self::Revoked | Self::Annulled | Self::NotAwarded => ADMINISTRATIVE,
            Self::Ranked
            | Self::AnomalyCheck
            | Self::Proposed
            | Self::Verified
            | Self::Awarded
            | Self::Suspended
            | Self::ReadyToSign
            | Self::Contracted => ALL,
        }
    }

    /// The aggiudicazione has been adopted (art. 17 c.5) and stands: awarded, suspended, ready to sign or
    /// contracted.
    pub fn is_awarded(self) -> bool {
        match self {
            Self::Awarded | Self::Suspended | Self::ReadyToSign | Self::Contracted => true,
            Self::Pending
            | Self::AdminReview
            | Self::TechEval
            | Self::EconEval
            | Self::Ranked
            | Self::AnomalyCheck
            | Self::Proposed
            | Self::Verified
            | Self::Deserted
            | Self::NotAwarded
            | Self::Revoked
            | Self::Annulled => false,
        }
    }

    /// No envelope of this lot may be opened any more, whatever was opened before: the lot is deserted or
    /// annulled. (The sealing rule's "closed" lot status.)
    pub fn closes_openings(self) -> bool {
        match self {
            Self::Deserted | Self::Annulled => true,
            Self::Pending
            | Self::AdminReview
            | Self::TechEval
            | Self::EconEval
            | Self::Ranked
            | Self::AnomalyCheck
            | Self::Proposed
            | Self::Verified
            | Self::Awarded
            | Self::Suspended
            | Self::ReadyToSign
            | Self::Contracted
            | Self::NotAwarded
            | Self::Revoked => false,
        }
    }
}

/// Which envelopes of a lot's bids are open ([`LotState::open_envelopes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpenEnvelopes {
    /// The busta amministrativa (and the bidder's identity).
    pub administrative: bool,
    /// The technical offer.
    pub technical: bool,
    /// The economic offer.
    pub economic: bool,
}

impl OpenEnvelopes {
    /// Every envelope open (what the bidder always sees of its own bid).
    pub const ALL: OpenEnvelopes = OpenEnvelopes {
        administrative: true,
        technical: true,
        economic: true,
    };
}

/// Which participations a lot event drives ([`LotEvent::participation_follow_up`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Followers {
    /// Every participation of the lot in state `admitted`.
    Admitted,
    /// The one bid chosen by the buyer, or by default the first of the stored evaluation ranking (it becomes
    /// the lot's awardee).
    Chosen,
    /// The lot's awardee (proposed or actual).
    Awardee,
    /// The bid whose explanations were judged (art. 110): the one the buyer names, or by default the first
    /// of the stored evaluation ranking (the best offer, the one suspected abnormally low). It does not
    /// become the lot's awardee.
    Judged,
}

impl Followers {
    /// The participation state the followers are picked by: `admitted` for [`Followers::Admitted`]; `None`
    /// for the other two, which are picked by bid (the chosen one, the lot's awardee), not by state.
    pub fn by_state(self) -> Option<ParticipationState> {
        match self {
            Followers::Admitted => Some(ParticipationState::Admitted),
            Followers::Chosen | Followers::Awardee | Followers::Judged => None,
        }
    }
}

/// The participation event a lot event implies, and on which participations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FollowUp {
    pub event: ParticipationEvent,
    pub on: Followers,
}

impl LotEvent {
    /// The participation event this lot event drives, if any: opening the economic offers ranks the admitted
    /// bids; proposing the award proposes the chosen bid; verification, award and stipula move the awardee.
    pub fn participation_follow_up(self) -> Option<FollowUp> {
        let follow = |event, on| Some(FollowUp { event, on });
        match self {
            Self::OpenEconomicOffers => follow(ParticipationEvent::Rank, Followers::Admitted),
            Self::ProposeAward => follow(ParticipationEvent::Propose, Followers::Chosen),
            Self::VerifyRequirements => {
                follow(ParticipationEvent::VerificationPassed, Followers::Awardee)
            }
            Self::VerificationFailed => {
                follow(ParticipationEvent::VerificationFailed, Followers::Awardee)
            }
            Self::Award => follow(ParticipationEvent::Award, Followers::Awardee),
            Self::SignContract => follow(ParticipationEvent::SignContract, Followers::Awardee),
            // explanations not accepted: the offer is excluded as abnormally low (art. 110 c.5)
            Self::RejectJustification => follow(ParticipationEvent::Exclude, Followers::Judged),
            Self::OpenAdministrative
            | Self::DeclareDeserted
            | Self::StartDirectAward
            | Self::StartTechnicalEvaluation
            | Self::StartEconomicEvaluation
            | Self::ExcludeAll
            | Self::AppointCommission
            | Self::FreezeTechnicalScores
            | Self::ResolveTie
            | Self::AutoExcludeAnomalous
            | Self::StartAnomalyCheck
            | Self::AcceptJustification
            | Self::NoSuitableOffer
            | Self::RecordAwardCommunications
            | Self::StandstillElapsed
            | Self::NotifyCautelare
            | Self::CautelareDecided
            | Self::ReopenRanking
            | Self::Revoke
            | Self::Annul => None,
        }
    }

    /// Only the platform records this event, from facts it observes itself: the sending of the last award
    /// communication is reported by the outbox (art. 18 c.3), never declared by a user.
    pub fn recorded_by_platform(self) -> bool {
        matches!(self, Self::RecordAwardCommunications)
    }

    /// The lot forgets its (proposed) awardee: the verification of the requirements failed (art. 99), the
    /// ranking scrolls to the next offer.
    pub fn clears_awardee(self) -> bool {
        match self {
            Self::VerificationFailed => true,
            Self::OpenAdministrative
            | Self::DeclareDeserted
            | Self::StartDirectAward
            | Self::StartTechnicalEvaluation
            | Self::StartEconomicEvaluation
            | Self::ExcludeAll
            | Self::AppointCommission
            | Self::FreezeTechnicalScores
            | Self::OpenEconomicOffers
            | Self::ResolveTie
            | Self::AutoExcludeAnomalous
            | Self::StartAnomalyCheck
            | Self::AcceptJustification
            | Self::RejectJustification
            | Self::ProposeAward
            | Self::NoSuitableOffer
            | Self::VerifyRequirements
            | Self::Award
            | Self::RecordAwardCommunications
            | Self::StandstillElapsed
            | Self::NotifyCautelare
            | Self::CautelareDecided
            | Self::SignContract
            | Self::ReopenRanking
            | Self::Revoke
            | Self::Annul => false,
        }
    }
}

rust_fsm::state_machine! {
    #[state_machine(input(crate::lot::LotEvent), state(crate::lot::LotState))]
    pub table(Pending)

    Pending => {
        OpenAdministrative => AdminReview,
        DeclareDeserted => Deserted,
        StartDirectAward => Proposed,
        Revoke => Revoked,
        Annul => Annulled,
    },
    AdminReview => {
        StartTechnicalEvaluation => TechEval,
        StartEconomicEvaluation => EconEval,
        ExcludeAll => NotAwarded,
        Revoke => Revoked,
        Annul => Annulled,
    },
    TechEval => {
        AppointCommission => TechEval,
        FreezeTechnicalScores => EconEval,
        ExcludeAll => NotAwarded,
        Revoke => Revoked,
        Annul => Annulled,
    },
    EconEval => {
        OpenEconomicOffers => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Ranked => {
        ResolveTie => Ranked,
        AutoExcludeAnomalous => Ranked,
        StartAnomalyCheck => AnomalyCheck,
        ProposeAward => Proposed,
        NoSuitableOffer => NotAwarded,
        Revoke => Revoked,
        Annul => Annulled,
    },
    AnomalyCheck => {
        AcceptJustification => Ranked,
        RejectJustification => Ranked,
        ReopenRanking => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Proposed => {
        VerifyRequirements => Verified,
        VerificationFailed => Ranked,
        ReopenRanking => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Verified => {
        Award => Awarded,
        ReopenRanking => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Awarded => {
        RecordAwardCommunications => Awarded,
        StandstillElapsed => ReadyToSign,
        NotifyCautelare => Suspended,
        ReopenRanking => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Suspended => {
        CautelareDecided => Awarded,
        ReopenRanking => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
    ReadyToSign => {
        SignContract => Contracted,
        NotifyCautelare => Suspended,
        ReopenRanking => Ranked,
        Revoke => Revoked,
        Annul => Annulled,
    },
}

/// Every transition of the table, as `(from, event, to)`.
pub fn transitions() -> Vec<(LotState, LotEvent, LotState)> {
    let mut v = Vec::new();
    for s in LotState::ALL {
        for e in LotEvent::ALL {
            if let Some(to) = table::Impl::transition(s, e) {
                v.push((*s, *e, to));
            }
        }
    }
    v
}

/// The commissione giudicatrice (art. 93).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commission {
    pub members: u32,
    pub rup_is_president: bool,
}

/// The cases of art. 18 c.3 where the standstill does not apply, other than below threshold (lett. d), which
/// the engine derives from the contract value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandstillExemption {
    /// Lett. a): one offer submitted or admitted, and no timely challenge of the bando/invitation (or challenges
    /// definitively rejected).
    SingleOfferUnchallenged,
    /// Lett. b): contract based on a framework agreement.
    FrameworkAgreement,
    /// Lett. c): specific contract under a dynamic purchasing system.
    DynamicPurchasingSystem,
}

/// What the service knows about the lot when an event arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LotFacts {
    pub procedure: ProcedureType,
    pub criterion: AwardCriterion,
    /// The contract of the tender (thresholds are computed on the whole procedure's value).
    pub contract: ContractContext,
    pub offer_deadline: Option<DateTime<Utc>>,
    pub offers_received: u32,
    pub admitted: u32,
    pub excluded: u32,
    /// Participations whose soccorso istruttorio is still open.
    pub pending_soccorso: u32,
    pub commission: Option<Commission>,
    /// Admitted technical offers with a final score.
    pub technical_scored: u32,
    /// The commission froze the technical scores (minutes closed) — required before economic offers open.
    pub tech_scores_frozen: bool,
    /// Ranked offers still eligible (not excluded, not failed verification).
    pub ranked_remaining: u32,
    /// The best offers are tied.
    pub tie_among_best: bool,
    /// The lot's evaluation rules (fixed before publication) state the Allegato II.2 method for automatic
    /// exclusion, or that it is drawn at evaluation, art. 54 c.2. Derived from the stored rules.
    pub auto_exclusion_method_set: bool,
    /// The contract has a certain cross-border interest (excludes automatic exclusion, art. 54 c.1).
    pub cross_border_interest: bool,
    /// The best remaining offer appears abnormally low and has not been cleared (art. 110 c.1).
    pub best_offer_suspected_anomalous: bool,
    /// Term for explanations on an abnormally low offer.
    pub anomaly_term_days: Option<u32>,
    /// Outcome of the requirement checks on the proposed awardee (FVOE): `None` while pending.
    pub requirements_verified: Option<bool>,
    /// Instead of verified requirements, the art. 52 c.1 self-declaration (direct awards below 40,000).
    pub requirement_checks: Option<RequirementChecks>,
    pub standstill_exemption: Option<StandstillExemption>,
    /// A timely challenge of the bando or invitation is pending: the single-offer exemption (art. 18 c.3 lett.
    /// a) does not apply.
    pub single_offer_challenged: bool,
    /// When the last art. 90 c.1 b)-c) award communication was sent (reported by the outbox, art. 18 c.3).
    pub last_award_communication_at: Option<DateTime<Utc>>,
    /// A judgment or act reference (for `reopen_ranking`).
    pub judgment_reference: Option<String>,
    /// Motivation of a revocation/annulment act.
    pub motivation: Option<String>,
}

impl LotFacts {
    pub fn new(
        procedure: ProcedureType,
        criterion: AwardCriterion,
        contract: ContractContext,
    ) -> Self {
        LotFacts {
            procedure,
            criterion,
            contract,
            offer_deadline: None,
            offers_received: 0,
            admitted: 0,
            excluded: 0,
            pending_soccorso: 0,
            commission: None,
            technical_scored: 0,
            tech_scores_frozen: false,
            ranked_remaining: 0,
            tie_among_best: false,
            auto_exclusion_method_set: false,
            cross_border_interest: false,
            best_offer_suspected_anomalous: false,
            anomaly_term_days: None,
            requirements_verified: None,
            requirement_checks: None,
            standstill_exemption: None,
            single_offer_challenged: false,
            last_award_communication_at: None,
            judgment_reference: None,
            motivation: None,
        }
    }
}

/// Applies `event` to a lot in `state` with the standard rules.
pub fn apply(
    state: LotState,
    event: &LotEvent,
    facts: &LotFacts,
    now: DateTime<Utc>,
) -> Result<Transition<LotState>, Refusal> {
    apply_with(Rules::standard(), state, event, facts, now)
}

/// Applies `event` with the given rules.
pub fn apply_with(
    rules: &Rules,
    state: LotState,
    event: &LotEvent,
    facts: &LotFacts,
    now: DateTime<Utc>,
) -> Result<Transition<LotState>, Refusal> {
    let to = table::Impl::transition(&state, event).ok_or_else(|| {
        Refusal::not_in_table(
            Machine::Lot,
            state.as_str(),
            event.as_str(),
            state.is_final(),
        )
    })?;
    let mut fx = EffectsBuilder::new();
    guard(rules, state, *event, facts, now, &mut fx)?;
    Ok(fx.finish(
        Machine::Lot,
        event.as_str(),
        (state, state.as_str()),
        (to, to.as_str()),
        now,
    ))
}

/// A lot that ends without an award on its own (deserted, every bid excluded, no suitable offer, revoked,
/// annulled) while the procedure's other lots may go on: its outcome is owed to the BDNCP for that lot
/// (art. 23 c.5 and art. 28; on PCP the NAG scheda, above the threshold A1_29 without a winner), as the
/// tender-level ending owes it for the whole procedure.
fn ended_alone(kind: Kind, days: u32, fx: &mut EffectsBuilder) {
    fx.communicate(To::Bdncp, kind, days, "art. 23, art. 28");
}

fn art90(rules: &Rules, now: DateTime<Utc>, fx: &mut EffectsBuilder) -> Result<(), Refusal> {
    let at = rules
        .calendar
        .term_end_instant(now, rules.art90_days)
        .map_err(|e| Refusal::new("art. 90 c.1", e.to_string()))?;
    fx.timer(TimerKind::Art90Communication, at, "art. 90 c.1");
    Ok(())
}

fn is_above(rules: &Rules, f: &LotFacts) -> Result<bool, Refusal> {
    Ok(!procedure::band(rules, &f.contract)?
        .band
        .is_below_eu_threshold())
}

/// Why the automatic exclusion of anomalous bids of art. 54 c.1 does not apply to a contract, or `None` when it
/// applies (the last condition, at least five admitted offers, is checked at evaluation): it applies to
/// lowest-price awards of works and services below the EU threshold without a certain cross-border interest,
/// other than the direct awards of art. 50 c.1 a-b. Where it applies the tender documents must provide for it
/// ("prevedono negli atti di gara l'esclusione automatica"): the publication guard of the tender calls this.
pub fn automatic_exclusion_inapplicable(
    rules: &Rules,
    procedure: ProcedureType,
    criterion: AwardCriterion,
    contract: &ContractContext,
    cross_border_interest: bool,
) -> Result<Option<&'static str>, Refusal> {
    let above = !procedure::band(rules, contract)?
        .band
        .is_below_eu_threshold();
    Ok(if above {
        Some("automatic exclusion applies only below the EU threshold")
    } else if criterion != AwardCriterion::LowestPrice {
        Some("automatic exclusion applies only to lowest-price awards")
    } else if contract.scope.object == ContractObject::Supplies {
        Some("automatic exclusion applies only to works and services")
    } else if cross_border_interest {
        Some("not applicable to contracts of certain cross-border interest")
    } else if procedure == ProcedureType::AffidamentoDiretto {
        Some("not applicable to direct awards (art. 50 c.1 a-b)")
    } else {
        None
    })
}

/// The standstill exemption that applies, with its article, if any.
///
/// Lett. d) (below the EU threshold, art. 55 c.2) follows from the contract value. Lett. a) follows from the
/// offers: one offer submitted or one admitted, unless the buyer states that a timely challenge of the bando or
/// invitation is pending (`single_offer_challenged`). Lett. b) and c) are facts of the procedure (framework
/// agreement, dynamic purchasing system) that the buyer declares; a declared lett. a) with more than one offer
/// submitted and admitted is refused by the award's guard ([`check_declared_exemption`]).
pub fn standstill_exemption(rules: &Rules, f: &LotFacts) -> Result<Option<&'static str>, Refusal> {
    if !is_above(rules, f)? {
        return Ok(Some("art. 55 c.2, art. 18 c.3 lett. d)"));
    }
    if single_offer(f) && !f.single_offer_challenged {
        return Ok(Some("art. 18 c.3 lett. a)"));
    }
    Ok(f.standstill_exemption.and_then(|e| match e {
        StandstillExemption::SingleOfferUnchallenged => None,
        StandstillExemption::FrameworkAgreement => Some("art. 18 c.3 lett. b)"),
        StandstillExemption::DynamicPurchasingSystem => Some("art. 18 c.3 lett. c)"),
    }))
}

/// One offer was submitted, or one was admitted (art. 18 c.3 lett. a).
fn single_offer(f: &LotFacts) -> bool {
    f.offers_received == 1 || f.admitted == 1
}

/// A declared lett. a) exemption must match the offers: the exemption is computed, not declared.
fn check_declared_exemption(f: &LotFacts) -> Result<(), Refusal> {
    Refusal::unless(
        f.standstill_exemption != Some(StandstillExemption::SingleOfferUnchallenged)
            || single_offer(f),
        "art. 18 c.3 lett. a)",
        || {
            format!(
                "the single-offer exemption needs one offer submitted or admitted: {} submitted, {} admitted",
                f.offers_received, f.admitted
            )
        },
    )
}

/// What the award communications say of the standstill (art. 90 c.2): which exemption applies, or how many
/// days it runs from the sending of the last of them (its end is known only once they are sent, art. 18 c.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StandstillOutlook {
    Exempt { article: &'static str },
    RunsFromSending { days: u32 },
}

/// The standstill outlook of an award made at `now`.
pub fn standstill_outlook(
    rules: &Rules,
    f: &LotFacts,
    now: DateTime<Utc>,
) -> Result<StandstillOutlook, Refusal> {
    Ok(match standstill_exemption(rules, f)? {
        Some(article) => StandstillOutlook::Exempt { article },
        None => StandstillOutlook::RunsFromSending {
            days: rules.standstill_days(rules.calendar.local_date(now)),
        },
    })
}

/// The instant the standstill ends for award communications last sent at `sent`.
pub fn standstill_end(rules: &Rules, sent: DateTime<Utc>) -> Result<DateTime<Utc>, Refusal> {
    let cal = &rules.calendar;
    let days = rules.standstill_days(cal.local_date(sent));
    cal.term_end_instant(sent, days)
        .map_err(|e| Refusal::new("art. 18 c.3", e.to_string()))
}

/// The requirements of the proposed awardee are established for the award (art. 17 c.5, or art. 52 c.1).
fn requirements_established(f: &LotFacts) -> Result<&'static str, Refusal> {
    procedure::check_requirements(
        f.procedure,
        Some(f.contract.estimated_value),
        f.requirements_verified,
        f.requirement_checks,
    )
}

fn has_motivation(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|m| !m.trim().is_empty())
}

fn guard(
    rules: &Rules,
    state: LotState,
    event: LotEvent,
    f: &LotFacts,
    now: DateTime<Utc>,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    use LotEvent as E;
    let days = rules.art90_days;
    let quality_price = f.criterion == AwardCriterion::QualityPrice;
    match event {
        E::OpenAdministrative | E::DeclareDeserted => {
            Refusal::unless(
                f.procedure != ProcedureType::AffidamentoDiretto,
                "art. 50 c.1 lett. a)-b)",
                || "a direct award has no offers to open: use start_direct_award".into(),
            )?;
            let deadline = f.offer_deadline.ok_or_else(|| {
                Refusal::new("lex specialis: offer deadline", "offer_deadline is missing")
            })?;
            Refusal::unless(now >= deadline, "lex specialis: offer deadline", || {
                format!("offers are sealed until the deadline {deadline}")
            })?;
            if event == E::OpenAdministrative {
                Refusal::unless(f.offers_received >= 1, "art. 90 c.1 lett. a)", || {
                    "no offers for this lot: declare it deserted".into()
                })?;
            } else {
                Refusal::unless(f.offers_received == 0, "art. 90 c.1 lett. a)", || {
                    format!("{} offers were received for this lot", f.offers_received)
                })?;
                fx.communicate(
                    To::AllCandidates,
                    Kind::DecisionNotToAward,
                    days,
                    "art. 90 c.1 lett. a)",
                );
                fx.communicate(
                    To::Comune,
                    Kind::DecisionNotToAward,
                    days,
                    "art. 62 c.13 (convenzione)",
                );
                ended_alone(Kind::DecisionNotToAward, days, fx);
                art90(rules, now, fx)?;
            }
        }
        E::StartDirectAward => {
            Refusal::unless(
                f.procedure == ProcedureType::AffidamentoDiretto,
                "art. 50 c.1 lett. a)-b)",
                || format!("{} is not a direct award", f.procedure),
            )?;
        }
        E::StartTechnicalEvaluation | E::StartEconomicEvaluation => {
            let want_tech = event == E::StartTechnicalEvaluation;
            Refusal::unless(want_tech == quality_price, "art. 108", || {
                if quality_price {
                    "quality-price award: technical offers are evaluated before economic ones"
                        .into()
                } else {
                    "lowest-price award: there is no technical evaluation".into()
                }
            })?;
            Refusal::unless(f.pending_soccorso == 0, "art. 101 c.1", || {
                format!(
                    "{} soccorso istruttorio requests are still open: wait for answers or expiry",
                    f.pending_soccorso
                )
            })?;
            Refusal::unless(f.admitted >= 1, "art. 90 c.1 lett. a)", || {
                "nobody was admitted: use exclude_all".into()
            })?;
            fx.rule("art. 90 c.1 lett. d)");
            if f.excluded > 0 {
                fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
                art90(rules, now, fx)?;
            }
            fx.communicate(To::Public, Kind::AdmissionsAndExclusions, 0, "art. 28");
            fx.communicate(
                To::Comune,
                Kind::AdmissionsAndExclusions,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::ExcludeAll => {
            Refusal::unless(f.pending_soccorso == 0, "art. 101 c.1", || {
                "soccorso istruttorio requests are still open".into()
            })?;
            Refusal::unless(f.admitted == 0, "art. 90 c.1 lett. a)", || {
                format!("{} offers are still admitted", f.admitted)
            })?;
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
            fx.communicate(
                To::AllCandidates,
                Kind::DecisionNotToAward,
                days,
                "art. 90 c.1 lett. a)",
            );
            fx.communicate(
                To::Comune,
                Kind::DecisionNotToAward,
                days,
                "art. 62 c.13 (convenzione)",
            );
            ended_alone(Kind::DecisionNotToAward, days, fx);
            art90(rules, now, fx)?;
        }
        E::AppointCommission => {
            fx.rule("art. 93 c.1");
            let deadline = f
                .offer_deadline
                .ok_or_else(|| Refusal::new("art. 93 c.1", "offer_deadline is missing"))?;
            Refusal::unless(now >= deadline, "art. 93 c.1", || {
                format!("the commission is appointed after the offer deadline {deadline}")
            })?;
            let c = f
                .commission
                .ok_or_else(|| Refusal::new("art. 93 c.2", "commission composition is missing"))?;
            fx.rule("art. 93 c.2");
            Refusal::unless(
                c.members >= 3 && c.members % 2 == 1 && c.members <= rules.commission_max_members,
                "art. 93 c.2",
                || {
                    format!(
                        "the commission has an odd number of members, at least three and at most {}; proposed {}",
                        rules.commission_max_members, c.members
                    )
                },
            )?;
            if c.rup_is_president {
                Refusal::unless(!is_above(rules, f)?, "art. 93 c.3, art. 51", || {
                    "the RUP may chair the commission only below the EU threshold (art. 51); above it the \
                     RUP may only be a member (art. 93 c.3)"
                        .into()
                })?;
            }
            fx.communicate(
                To::Public,
                Kind::CommissionComposition,
                0,
                "art. 28, art. 93",
            );
            fx.communicate(
                To::Comune,
                Kind::CommissionComposition,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::FreezeTechnicalScores => {
            Refusal::unless(f.commission.is_some(), "art. 93 c.1", || {
                "technical offers are scored by an appointed commissione giudicatrice".into()
            })?;
            Refusal::unless(f.technical_scored == f.admitted, "art. 108", || {
                format!(
                    "all admitted technical offers must be scored: {} of {}",
                    f.technical_scored, f.admitted
                )
            })?;
            Refusal::unless(f.admitted >= 1, "art. 108", || {
                "no technical offer is left: use exclude_all".into()
            })?;
        }
        E::OpenEconomicOffers => {
            if quality_price {
                Refusal::unless(f.tech_scores_frozen, "art. 108, sealed envelopes", || {
                    "economic offers cannot be opened before the technical scores are frozen".into()
                })?;
            }
        }
        E::ResolveTie => {
            Refusal::unless(f.tie_among_best, "R.D. 827/1924 art. 77", || {
                "there is no tie among the best offers".into()
            })?;
        }
        E::AutoExcludeAnomalous => {
            let rule = "art. 54 c.1";
            fx.rule(rule);
            if let Some(why) = automatic_exclusion_inapplicable(
                rules,
                f.procedure,
                f.criterion,
                &f.contract,
                f.cross_border_interest,
            )? {
                return Err(Refusal::new(rule, why));
            }
            Refusal::unless(f.admitted >= rules.auto_exclusion_min_offers, rule, || {
                format!(
                    "at least {} admitted offers are needed; {} admitted",
                    rules.auto_exclusion_min_offers, f.admitted
                )
            })?;
            Refusal::unless(f.auto_exclusion_method_set, "art. 54 c.2", || {
                "the Allegato II.2 method must be stated in the bando or drawn".into()
            })?;
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
            art90(rules, now, fx)?;
        }
        E::StartAnomalyCheck => {
            Refusal::unless(f.best_offer_suspected_anomalous, "art. 110 c.1", || {
                "the best offer does not appear abnormally low".into()
            })?;
            let d = f
                .anomaly_term_days
                .filter(|d| (1..=rules.anomaly_max_days).contains(d))
                .ok_or_else(|| {
                    Refusal::new(
                        "art. 110 c.2",
                        format!(
                            "the term for explanations is at most {} days; given {:?}",
                            rules.anomaly_max_days, f.anomaly_term_days
                        ),
                    )
                })?;
            let at = rules
                .calendar
                .term_end_instant(now, d)
                .map_err(|e| Refusal::new("art. 110 c.2", e.to_string()))?;
            fx.communicate(
                To::Operator,
                Kind::AnomalyExplanationRequest,
                0,
                "art. 110 c.2",
            );
            fx.timer(TimerKind::AnomalyExplanations, at, "art. 110 c.2");
        }
        E::AcceptJustification => {
            fx.rule("art. 110 c.4");
            fx.cancel(TimerKind::AnomalyExplanations);
        }
        E::RejectJustification => {
            fx.rule("art. 110 c.5");
            fx.cancel(TimerKind::AnomalyExplanations);
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
            art90(rules, now, fx)?;
        }
        E::ProposeAward => {
            Refusal::unless(f.ranked_remaining >= 1, "art. 17 c.5", || {
                "no ranked offer is left: use no_suitable_offer".into()
            })?;
            Refusal::unless(!f.best_offer_suspected_anomalous, "art. 110 c.1", || {
                "the best offer appears abnormally low: check it (start_anomaly_check) before proposing".into()
            })?;
            Refusal::unless(!f.tie_among_best, "R.D. 827/1924 art. 77", || {
                "the best offers are tied: resolve the tie first".into()
            })?;
            fx.communicate(
                To::Comune,
                Kind::AwardProposal,
                days,
                "art. 17 c.5, convenzione",
            );
        }
        E::NoSuitableOffer => {
            Refusal::unless(f.ranked_remaining == 0, "art. 90 c.1 lett. a)", || {
                format!("{} ranked offers are still eligible", f.ranked_remaining)
            })?;
            fx.communicate(
                To::AllCandidates,
                Kind::DecisionNotToAward,
                days,
                "art. 90 c.1 lett. a)",
            );
            fx.communicate(
                To::Comune,
                Kind::DecisionNotToAward,
                days,
                "art. 62 c.13 (convenzione)",
            );
            ended_alone(Kind::DecisionNotToAward, days, fx);
            art90(rules, now, fx)?;
        }
        E::VerifyRequirements => {
            let article = requirements_established(f)?;
            fx.rule(article);
            fx.communicate(
                To::Comune,
                Kind::VerificationOutcome,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::VerificationFailed => {
            Refusal::unless(f.requirements_verified == Some(false), "art. 99", || {
                "the requirement checks did not fail".into()
            })?;
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
            fx.communicate(
                To::Comune,
                Kind::VerificationOutcome,
                days,
                "art. 62 c.13 (convenzione)",
            );
            art90(rules, now, fx)?;
        }
        E::Award => {
            fx.rule("art. 17 c.5");
            let article = requirements_established(f)?;
            if article != "art. 17 c.5" {
                fx.rule(article);
                fx.warn(
                    article,
                    "awarded on the operator's self-declaration: the requirements are checked afterwards, \
                     also on the annual sample (art. 52 c.1-2)",
                );
            }
            check_declared_exemption(f)?;
            fx.communicate(To::Awardee, Kind::Award, days, "art. 90 c.1 lett. b)");
            if f.procedure != ProcedureType::AffidamentoDiretto {
                fx.communicate(
                    To::OtherBidders,
                    Kind::AwardToOthers,
                    days,
                    "art. 90 c.1 lett. c)",
                );
            }
            fx.communicate(To::Comune, Kind::Award, days, "art. 62 c.13 (convenzione)");
            fx.communicate(To::Bdncp, Kind::Award, days, "art. 23, art. 28");
            art90(rules, now, fx)?;
            let (stipula_days, rule) = if is_above(rules, f)? {
                (rules.stipula_days, "art. 18 c.2")
            } else {
                (rules.stipula_days_below_threshold, "art. 55 c.1")
            };
            let at = rules
                .calendar
                .term_end_instant(now, stipula_days)
                .map_err(|e| Refusal::new(rule, e.to_string()))?;
            fx.timer(TimerKind::StipulaDeadline, at, rule);
            if let Some(article) = standstill_exemption(rules, f)? {
                fx.rule(article);
            } else {
                fx.rule("art. 90 c.2");
            }
        }
        E::RecordAwardCommunications => {
            let sent = f
                .last_award_communication_at
                .filter(|s| *s <= now)
                .ok_or_else(|| {
                    Refusal::new(
                        "art. 18 c.3",
                        "last_award_communication_at is missing or in the future",
                    )
                })?;
            if standstill_exemption(rules, f)?.is_none() {
                fx.timer(
                    TimerKind::Standstill,
                    standstill_end(rules, sent)?,
                    "art. 18 c.3",
                );
            }
            fx.cancel(TimerKind::Art90Communication);
        }
        E::StandstillElapsed => {
            if let Some(article) = standstill_exemption(rules, f)? {
                fx.rule(article);
            } else {
                fx.rule("art. 18 c.3");
                let sent = f.last_award_communication_at.ok_or_else(|| {
                    Refusal::new(
                        "art. 18 c.3",
                        "the standstill runs from the last award communication, which was not sent",
                    )
                })?;
                let end = standstill_end(rules, sent)?;
                Refusal::unless(now >= end, "art. 18 c.3", || {
                    format!(
                        "the contract cannot be signed before {} days from the last award communication: \
                         standstill ends {end}",
                        rules.standstill_days(rules.calendar.local_date(sent))
                    )
                })?;
            }
        }
        E::NotifyCautelare => {
            Refusal::unless(is_above(rules, f)?, "art. 55 c.2", || {
                "below the EU threshold an interim request does not suspend stipula (art. 18 c.4 does not \
                 apply); only a court order does"
                    .into()
            })?;
            fx.rule("art. 18 c.4");
            fx.communicate(
                To::Comune,
                Kind::Suspension,
                days,
                "art. 18 c.4, convenzione",
            );
        }
        E::CautelareDecided => {
            fx.rule("art. 18 c.4");
        }
        E::SignContract => {
            fx.rule("art. 18 c.1");
            fx.communicate(
                To::OtherBidders,
                Kind::ContractDate,
                days,
                "art. 90 c.1 lett. e)",
            );
            fx.communicate(To::Bdncp, Kind::ContractDate, days, "art. 23, art. 28");
            fx.communicate(To::Public, Kind::AwardNotice, 30, "art. 111");
            fx.communicate(
                To::Comune,
                Kind::ContractDate,
                days,
                "art. 62 c.13 (convenzione)",
            );
            fx.cancel(TimerKind::StipulaDeadline);
            fx.cancel(TimerKind::OfferValidity);
        }
        E::ReopenRanking => {
            Refusal::unless(
                has_motivation(&f.judgment_reference) || has_motivation(&f.motivation),
                "c.p.a. art. 121-122, L. 241/1990 art. 21-nonies",
                || "reopening the ranking needs a judgment reference or a motivated act".into(),
            )?;
            for t in [
                TimerKind::Standstill,
                TimerKind::StipulaDeadline,
                TimerKind::AnomalyExplanations,
            ] {
                fx.cancel(t);
            }
        }
        E::Revoke | E::Annul => {
            let rule = if event == E::Revoke {
                "L. 241/1990 art. 21-quinquies"
            } else {
                "L. 241/1990 art. 21-nonies"
            };
            Refusal::unless(has_motivation(&f.motivation), rule, || {
                "a revocation or annulment is a motivated act: motivation is missing".into()
            })?;
            let kind = if event == E::Revoke {
                Kind::Revocation
            } else {
                Kind::Annulment
            };
            fx.communicate(To::AllCandidates, kind, days, "art. 90 c.1 lett. a)");
            fx.communicate(To::Comune, kind, days, "art. 62 c.13 (convenzione)");
            ended_alone(kind, days, fx);
            art90(rules, now, fx)?;
            for t in [TimerKind::Standstill, TimerKind::StipulaDeadline] {
                fx.cancel(t);
            }
        }
    }
    let _ = state;
    Ok(())
}
