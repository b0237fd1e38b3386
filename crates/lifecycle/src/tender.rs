//! The tender (procedure) machine: one decisione di contrarre, one bando or set of invitations, one platform
//! procedure, one or more lots. Evaluation and award are per lot (see [`crate::lot`]); the tender completes only
//! when every lot is final.

use chrono::{DateTime, Months, Utc};
use rust_fsm::StateMachineImpl;
use serde::{Deserialize, Serialize};

use crate::common::{
    Addressee as To, CommunicationKind as Kind, EffectsBuilder, Machine, Refusal, TimerKind,
    Transition, string_enum,
};
use crate::lot::LotState;
use crate::procedure::{
    self, AwardCriterion, ContractContext, MinTerm, ProcedureType, QualificationLevel,
    ServiceNature, TermReduction,
};
use crate::rules::Rules;

string_enum! {
    /// States of a tender.
    pub enum TenderState ("tender state") {
        /// Being prepared; no act adopted.
        Draft => "draft",
        /// Decisione di contrarre adopted (art. 17 c.1-2).
        Approved => "approved",
        /// A CIG acquired for every lot (art. 62 c.2, PCP).
        Ready => "ready",
        /// Call for requests to participate published (restricted, competitive negotiation, dialogue,
        /// partnership).
        RequestsOpen => "requests_open",
        /// Requests closed; candidates being selected before invitations.
        Prequalification => "prequalification",
        /// Offers may be submitted until the deadline.
        Open => "open",
        /// Offer deadline passed; offers sealed.
        Closed => "closed",
        /// Lots under evaluation and award (or a direct award in progress).
        InEvaluation => "in_evaluation",
        /// Every lot reached a final state. Final.
        Completed => "completed",
        /// No offers (or no admissible candidates). Final.
        Deserted => "deserted",
        /// Revoked in autotutela (L. 241/1990 art. 21-quinquies). Final.
        Revoked => "revoked",
        /// Annulled in autotutela (L. 241/1990 art. 21-nonies) or by a court. Final.
        Annulled => "annulled",
    }
}

string_enum! {
    /// Events of a tender.
    pub enum TenderEvent ("tender event") {
        AdoptDecisionToContract => "adopt_decision_to_contract",
        AcquireCig => "acquire_cig",
        /// Publish the bando of an open procedure.
        Publish => "publish",
        /// Publish the call for requests to participate (procedures with a request phase).
        PublishCallForRequests => "publish_call_for_requests",
        CloseRequests => "close_requests",
        /// Invite operators to submit offers (negotiated procedures; second phase of the others).
        SendInvitations => "send_invitations",
        AnswerClarification => "answer_clarification",
        AmendDocuments => "amend_documents",
        ExtendDeadline => "extend_deadline",
        CloseSubmissions => "close_submissions",
        DeclareDeserted => "declare_deserted",
        StartEvaluation => "start_evaluation",
        StartDirectAward => "start_direct_award",
        Complete => "complete",
        Revoke => "revoke",
        Annul => "annul",
    }
}

impl TenderState {
    pub const INITIAL: TenderState = TenderState::Draft;

    /// Final states: nothing leaves them.
    pub fn is_final(self) -> bool {
        match self {
            Self::Completed | Self::Deserted | Self::Revoked | Self::Annulled => true,
            Self::Draft
            | Self::Approved
            | Self::Ready
            | Self::RequestsOpen
            | Self::Prequalification
            | Self::Open
            | Self::Closed
            | Self::InEvaluation => false,
        }
    }

    /// The tender has been published (a bando, a call for requests or invitations went out) or is past
    /// publication: the public and the bidders may know it exists. Before that it is the SA's draft.
    pub fn is_public(self) -> bool {
        !self.is_editable()
    }

    /// Tender fields (title, procedure, criterion, lots, invitees) may still be edited: nothing has been
    /// published yet. Exactly the states that are not [`is_public`](Self::is_public).
    pub fn is_editable(self) -> bool {
        match self {
            Self::Draft | Self::Approved | Self::Ready => true,
            Self::RequestsOpen
            | Self::Prequalification
            | Self::Open
            | Self::Closed
            | Self::InEvaluation
            | Self::Completed
            | Self::Deserted
            | Self::Revoked
            | Self::Annulled => false,
        }
    }

    /// Offers may be submitted, replaced or withdrawn (the participation guards still check the deadline).
    pub fn accepts_bids(self) -> bool {
        match self {
            Self::Open => true,
            Self::Draft
            | Self::Approved
            | Self::Ready
            | Self::RequestsOpen
            | Self::Prequalification
            | Self::Closed
            | Self::InEvaluation
            | Self::Completed
            | Self::Deserted
            | Self::Revoked
            | Self::Annulled => false,
        }
    }

    /// Operators may ask clarification questions (art. 88 c.3): while requests or offers may be submitted,
    /// the states where the table has `answer_clarification`.
    pub fn takes_clarification_questions(self) -> bool {
        match self {
            Self::RequestsOpen | Self::Open => true,
            Self::Draft
            | Self::Approved
            | Self::Ready
            | Self::Prequalification
            | Self::Closed
            | Self::InEvaluation
            | Self::Completed
            | Self::Deserted
            | Self::Revoked
            | Self::Annulled => false,
        }
    }

    /// Requests or offers may still arrive and are sealed: nothing about the participants may be published
    /// (exports leave the bid data of such tenders out).
    pub fn participants_sealed(self) -> bool {
        match self {
            Self::RequestsOpen | Self::Prequalification | Self::Open => true,
            Self::Draft
            | Self::Approved
            | Self::Ready
            | Self::Closed
            | Self::InEvaluation
            | Self::Completed
            | Self::Deserted
            | Self::Revoked
            | Self::Annulled => false,
        }
    }

    /// The phase of the procedure as open-data standards (OCDS `tender.status`) see it.
    pub fn phase(self) -> TenderPhase {
        match self {
            Self::Draft | Self::Approved | Self::Ready => TenderPhase::Planning,
            Self::RequestsOpen
            | Self::Prequalification
            | Self::Open
            | Self::Closed
            | Self::InEvaluation => TenderPhase::Active,
            Self::Completed => TenderPhase::Complete,
            Self::Deserted => TenderPhase::Unsuccessful,
            Self::Revoked | Self::Annulled => TenderPhase::Cancelled,
        }
    }
}

string_enum! {
    /// The phase of a tender, coarser than its state (the OCDS `tender.status` codes).
    pub enum TenderPhase ("tender phase") {
        /// Not yet published.
        Planning => "planning",
        /// Published and not yet ended.
        Active => "active",
        /// Every lot reached a final state.
        Complete => "complete",
        /// Deserted.
        Unsuccessful => "unsuccessful",
        /// Revoked or annulled.
        Cancelled => "cancelled",
    }
}

rust_fsm::state_machine! {
    #[state_machine(input(crate::tender::TenderEvent), state(crate::tender::TenderState))]
    pub table(Draft)

    Draft => {
        AdoptDecisionToContract => Approved,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Approved => {
        AcquireCig => Ready,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Ready => {
        Publish => Open,
        PublishCallForRequests => RequestsOpen,
        SendInvitations => Open,
        StartDirectAward => InEvaluation,
        Revoke => Revoked,
        Annul => Annulled,
    },
    RequestsOpen => {
        AnswerClarification => RequestsOpen,
        ExtendDeadline => RequestsOpen,
        CloseRequests => Prequalification,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Prequalification => {
        SendInvitations => Open,
        DeclareDeserted => Deserted,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Open => {
        AnswerClarification => Open,
        AmendDocuments => Open,
        ExtendDeadline => Open,
        CloseSubmissions => Closed,
        Revoke => Revoked,
        Annul => Annulled,
    },
    Closed => {
        DeclareDeserted => Deserted,
        StartEvaluation => InEvaluation,
        Revoke => Revoked,
        Annul => Annulled,
    },
    InEvaluation => {
        Complete => Completed,
        Revoke => Revoked,
        Annul => Annulled,
    },
}

/// Every transition of the table, as `(from, event, to)`, in declaration order of states and events.
pub fn transitions() -> Vec<(TenderState, TenderEvent, TenderState)> {
    let mut v = Vec::new();
    for s in TenderState::ALL {
        for e in TenderEvent::ALL {
            if let Some(to) = table::Impl::transition(s, e) {
                v.push((*s, *e, to));
            }
        }
    }
    v
}

/// Why the outgoing contractor may be invited or awarded again (art. 49 c.4-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationException {
    /// Art. 49 c.4 (as rewritten by D.Lgs. 209/2024): market structure, real absence of alternatives, accurate
    /// execution and quality of the previous performance, all motivated (RUP attestation).
    MotivatedMarketStructure,
    /// Art. 49 c.5: negotiated procedure c)-e) whose market survey set no cap on the operators invited.
    UncappedMarketSurvey,
    /// Art. 49 c.6: direct award below 5,000 euro.
    BelowFiveThousand,
}

/// Facts about rotation (art. 49, below the EU threshold only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RotationFacts {
    /// The contractor named (direct award) or an invitee is the outgoing contractor of the same sector / category
    /// (and value band, if the SA defined bands, art. 49 c.3).
    pub outgoing_contractor_involved: bool,
    pub exception: Option<RotationException>,
}

/// What the service knows about the tender when an event arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenderFacts {
    pub procedure: ProcedureType,
    pub criterion: AwardCriterion,
    pub contract: ContractContext,
    /// What the contract is, for the cases of art. 108 c.2 where quality-price is compulsory.
    pub service_nature: ServiceNature,
    /// The contract has a certain cross-border interest (art. 48 c.2: the ordinary procedures apply below
    /// the threshold; art. 54 c.1: no automatic exclusion). The one flag, declared on the tender.
    pub cross_border_interest: bool,
    /// The condition of art. 70/75/76 for the procedures that need one is motivated in the decisione di contrarre.
    pub condition_motivated: bool,
    /// The decisione di contrarre states the essential elements, selection and award criteria (art. 17 c.1).
    pub essential_elements_present: bool,
    /// For a direct award the act names the contractor, object, amount, reasons and requirements (art. 17 c.2).
    pub contractor_named: bool,
    /// The SUA's declared qualification (art. 63), from its configuration; `None` when not declared.
    pub sua_qualification: Option<QualificationLevel>,
    pub lots_total: u32,
    pub lots_with_cig: u32,
    pub term_reduction: TermReduction,
    /// The urgency that reduces the terms is specifically motivated in the acts (art. 71 c.3, art. 72 c.6).
    pub urgency_motivated: bool,
    /// When the prior information notice relied on for a reduction was sent (art. 71 c.4, art. 72 c.4): at
    /// least 35 days and at most 12 months before the bando.
    pub prior_information_notice_sent: Option<DateTime<Utc>>,
    /// When the bando (call for requests to participate) was transmitted: restricted and competitive
    /// procedures check the PIN window of art. 72 c.4 lett. b) against it when the invitations go out.
    pub call_transmitted_at: Option<DateTime<Utc>>,
    pub requests_deadline: Option<DateTime<Utc>>,
    pub offer_deadline: Option<DateTime<Utc>>,
    /// The new deadline, for `extend_deadline` and `amend_documents`.
    pub new_deadline: Option<DateTime<Utc>>,
    /// `amend_documents`: the change is significant (art. 92 c.2 lett. b).
    pub significant_change: bool,
    /// Operators invited (negotiated procedures, second phase of the others).
    pub invitees: u32,
    /// Qualified operators that exist, when fewer than the legal minimum ("ove esistenti", art. 50 c.1).
    pub operators_available: Option<u32>,
    pub rotation: RotationFacts,
    pub requests_received: u32,
    pub candidates_admitted: u32,
    pub offers_received: u32,
    /// Current state of every lot of the tender.
    pub lot_states: Vec<LotState>,
    /// Lots whose evaluation rules do not provide for the automatic exclusion of anomalous bids (neither a
    /// method nor a draw among methods, art. 54 c.1-2).
    pub lots_without_automatic_exclusion: u32,
    /// Lots with no evaluation rules at all (art. 108 c.7: the quality-price criteria and their weights are in
    /// the tender documents).
    pub lots_without_evaluation_rules: u32,
    /// `amend_documents`: the amendment changes a lot's evaluation rules (a significant change, art. 92 c.2
    /// lett. b): the rules are part of the lex specialis, art. 54 c.2, art. 108 c.12).
    pub evaluation_rules_changed: bool,
    /// Motivation of a revocation/annulment act.
    pub motivation: Option<String>,
}

impl TenderFacts {
    /// Facts for a tender of one lot with no event-specific data yet.
    pub fn new(
        procedure: ProcedureType,
        criterion: AwardCriterion,
        contract: ContractContext,
    ) -> Self {
        TenderFacts {
            procedure,
            criterion,
            contract,
            service_nature: ServiceNature::Ordinary,
            cross_border_interest: false,
            condition_motivated: false,
            essential_elements_present: true,
            contractor_named: false,
            sua_qualification: None,
            lots_total: 1,
            lots_with_cig: 0,
            term_reduction: TermReduction::None,
            urgency_motivated: false,
            prior_information_notice_sent: None,
            call_transmitted_at: None,
            requests_deadline: None,
            offer_deadline: None,
            new_deadline: None,
            significant_change: false,
            invitees: 0,
            operators_available: None,
            rotation: RotationFacts::default(),
            requests_received: 0,
            candidates_admitted: 0,
            offers_received: 0,
            lot_states: Vec::new(),
            lots_without_automatic_exclusion: 0,
            lots_without_evaluation_rules: 0,
            evaluation_rules_changed: false,
            motivation: None,
        }
    }
}

/// Applies `event` to a tender in `state` with the standard rules.
pub fn apply(
    state: TenderState,
    event: &TenderEvent,
    facts: &TenderFacts,
    now: DateTime<Utc>,
) -> Result<Transition<TenderState>, Refusal> {
    apply_with(Rules::standard(), state, event, facts, now)
}

/// Applies `event` with the given rules (calendar with local holidays, configured points of law).
pub fn apply_with(
    rules: &Rules,
    state: TenderState,
    event: &TenderEvent,
    facts: &TenderFacts,
    now: DateTime<Utc>,
) -> Result<Transition<TenderState>, Refusal> {
    let to = table::Impl::transition(&state, event).ok_or_else(|| {
        Refusal::not_in_table(
            Machine::Tender,
            state.as_str(),
            event.as_str(),
            state.is_final(),
        )
    })?;
    let mut fx = EffectsBuilder::new();
    guard(rules, state, *event, facts, now, &mut fx)?;
    Ok(fx.finish(
        Machine::Tender,
        event.as_str(),
        (state, state.as_str()),
        (to, to.as_str()),
        now,
    ))
}

fn require_deadline(
    d: Option<DateTime<Utc>>,
    rule: &'static str,
    field: &str,
) -> Result<DateTime<Utc>, Refusal> {
    d.ok_or_else(|| Refusal::new(rule, format!("{field} is missing")))
}

fn art90_timer(rules: &Rules, now: DateTime<Utc>, fx: &mut EffectsBuilder) -> Result<(), Refusal> {
    let at = rules
        .calendar
        .term_end_instant(now, rules.art90_days)
        .map_err(|e| Refusal::new("art. 90 c.1", e.to_string()))?;
    fx.timer(TimerKind::Art90Communication, at, "art. 90 c.1");
    Ok(())
}

fn clarification_cutoff(
    rules: &Rules,
    deadline: DateTime<Utc>,
    reduction: TermReduction,
) -> Result<DateTime<Utc>, Refusal> {
    let days = if reduction == TermReduction::Urgency {
        rules.clarification_cutoff_days_reduced
    } else {
        rules.clarification_cutoff_days
    };
    let cal = &rules.calendar;
    let last = cal
        .days_before(cal.local_date(deadline), days)
        .map_err(|e| Refusal::new("art. 88 c.3", e.to_string()))?;
    Ok(cal.end_of_day(last))
}

/// The evaluation rules of every lot are fixed before publication, and they are complete: where art. 54 c.1
/// applies (see [`crate::lot::automatic_exclusion_inapplicable`]) they provide for the automatic exclusion of
/// anomalous bids, by a method or a draw among methods (art. 54 c.1-2); at quality-price they state the
/// criteria and their weights (art. 108 c.7).
fn check_evaluation_rules(
    rules: &Rules,
    f: &TenderFacts,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    if f.criterion == AwardCriterion::QualityPrice {
        fx.rule("art. 108 c.7");
        Refusal::unless(f.lots_without_evaluation_rules == 0, "art. 108 c.7", || {
            format!(
                "the tender documents state the evaluation criteria and their weights: {} of {} lots have no \
                 evaluation rules",
                f.lots_without_evaluation_rules, f.lots_total
            )
        })?;
    }
    let inapplicable = crate::lot::automatic_exclusion_inapplicable(
        rules,
        f.procedure,
        f.criterion,
        &f.contract,
        f.cross_border_interest,
    )?;
    if inapplicable.is_none() {
        fx.rule("art. 54 c.1");
        Refusal::unless(
            f.lots_without_automatic_exclusion == 0,
            "art. 54 c.1",
            || {
                format!(
                    "the tender documents must provide for the automatic exclusion of anomalous offers (lowest \
                 price, works or services below the EU threshold, no certain cross-border interest): {} of {} \
                 lots state neither an Allegato II.2 method nor a draw among methods (art. 54 c.2)",
                    f.lots_without_automatic_exclusion, f.lots_total
                )
            },
        )?;
    }
    Ok(())
}

fn is_above(rules: &Rules, facts: &TenderFacts) -> Result<bool, Refusal> {
    Ok(!procedure::band(rules, &facts.contract)?
        .band
        .is_below_eu_threshold())
}

/// Checks that a reduction of the terms is lawful: urgency motivated, or a prior information notice sent 35
/// days to 12 months before `now`.
/// Checks a reduction of the terms. The PIN window (35 days to 12 months) counts back from the transmission
/// of the bando (art. 71 c.4, art. 72 c.4 lett. b): `bando_sent` is that instant — `now` when this act
/// transmits it (open procedure, call for requests), the stored transmission when invitations follow a call
/// (restricted and competitive procedures), `now` for procedures without a bando.
fn check_reduction(
    f: &TenderFacts,
    bando_sent: Option<DateTime<Utc>>,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    let (urgency_rule, pin_rule) = if f.procedure == ProcedureType::Aperta {
        ("art. 71 c.3", "art. 71 c.4")
    } else {
        ("art. 72 c.6", "art. 72 c.4 lett. b)")
    };
    match f.term_reduction {
        TermReduction::None => Ok(()),
        TermReduction::Urgency => {
            fx.rule(urgency_rule);
            Refusal::unless(f.urgency_motivated, urgency_rule, || {
                "terms may be reduced for urgency only when the urgency is specifically motivated"
                    .into()
            })
        }
        TermReduction::PriorInformationNotice => {
            fx.rule(pin_rule);
            let bando_sent = bando_sent.ok_or_else(|| {
                Refusal::new(
                    pin_rule,
                    "the transmission of the bando, from which the prior information notice's window counts \
                     back, is not recorded",
                )
            })?;
            let ok = f.prior_information_notice_sent.is_some_and(|sent| {
                sent <= bando_sent - chrono::Duration::days(35)
                    && sent
                        .checked_add_months(Months::new(12))
                        .is_some_and(|l| bando_sent <= l)
            });
            Refusal::unless(ok, pin_rule, || {
                format!(
                    "a prior information notice reduces the terms only if sent at least 35 days and at most 12 \
                     months before the transmission of the bando ({bando_sent}); sent: {:?}",
                    f.prior_information_notice_sent
                )
            })
        }
    }
}

/// Checks the offer term of a procedure, or warns/uses the configured minimum where no statute fixes one.
fn check_offer_term(
    rules: &Rules,
    facts: &TenderFacts,
    start: DateTime<Utc>,
    deadline: DateTime<Utc>,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    let above = is_above(rules, facts)?;
    let statutory = procedure::min_offer_term(rules, facts.procedure, facts.term_reduction)
        .filter(|_| above || rules.part_iv_terms_below_threshold);
    match (statutory, rules.min_offer_days_without_statutory_term) {
        (Some(term), _) => {
            fx.rule(term.article);
            procedure::check_deadline(rules, start, deadline, term, "offer")
        }
        (None, Some(days)) => {
            let term = MinTerm {
                days,
                article: "art. 92 c.1",
            };
            fx.rule(term.article);
            procedure::check_deadline(rules, start, deadline, term, "offer")
        }
        (None, None) => {
            if deadline <= start {
                return Err(Refusal::new(
                    "art. 92 c.1",
                    "offer deadline must be after the invitation",
                ));
            }
            fx.warn(
                "art. 92 c.1",
                format!(
                    "no statutory minimum offer term for {}: check that {} calendar days are adequate \
                     (termini congrui)",
                    facts.procedure,
                    rules.calendar.days_between(start, deadline)
                ),
            );
            Ok(())
        }
    }
}

fn check_rotation(
    rules: &Rules,
    facts: &TenderFacts,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    if is_above(rules, facts)? || !facts.rotation.outgoing_contractor_involved {
        return Ok(());
    }
    fx.rule("art. 49 c.2");
    match facts.rotation.exception {
        None => Err(Refusal::new(
            "art. 49 c.2",
            "rotation: the outgoing contractor cannot be invited or awarded again without a motivated \
             exception (art. 49 c.4-6)",
        )),
        Some(RotationException::MotivatedMarketStructure) => {
            fx.rule("art. 49 c.4");
            Ok(())
        }
        Some(RotationException::UncappedMarketSurvey) => Refusal::unless(
            facts.procedure == ProcedureType::NegoziataSenzaBando,
            "art. 49 c.5",
            || {
                "the uncapped-market-survey exception applies only to art. 50 c.1 c)-e) procedures"
                    .into()
            },
        ),
        Some(RotationException::BelowFiveThousand) => Refusal::unless(
            facts.procedure == ProcedureType::AffidamentoDiretto
                && facts.contract.estimated_value < rust_decimal::Decimal::from(5_000),
            "art. 49 c.6",
            || "the rotation waiver applies only to direct awards below 5,000 euro".into(),
        ),
    }
}

/// The choices the decisione di contrarre makes that depend on what the contract is: the ordinary
/// procedures for a certain cross-border interest (art. 48 c.2), quality-price where compulsory (art. 108
/// c.2-3).
fn check_procedure_choice(
    rules: &Rules,
    f: &TenderFacts,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    if f.cross_border_interest {
        fx.rule("art. 48 c.2");
    }
    procedure::check_cross_border(rules, f.procedure, &f.contract, f.cross_border_interest)?;
    if let Some(article) =
        procedure::quality_price_required(f.procedure, f.service_nature, &f.contract)
    {
        fx.rule(article);
    }
    procedure::check_criterion(f.procedure, f.criterion, f.service_nature, &f.contract)
}

/// At the transmission of the call (bando, call for requests, invitation; for a direct award its start) the
/// thresholds in force are those of that instant (art. 14 c.7): the band and the procedure choices are
/// checked again with the contract as it stands then (the tender is editable until it is public).
fn check_at_transmission(
    rules: &Rules,
    f: &TenderFacts,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    fx.rule("art. 14 c.7");
    // the condition of art. 70/75/76 was checked with the decisione di contrarre
    procedure::check_procedure(rules, f.procedure, &f.contract, true)?;
    check_procedure_choice(rules, f, fx)
}

fn guard(
    rules: &Rules,
    state: TenderState,
    event: TenderEvent,
    f: &TenderFacts,
    now: DateTime<Utc>,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    use TenderEvent as E;
    let days = rules.art90_days;
    match event {
        E::AdoptDecisionToContract => {
            fx.rule("art. 17 c.1");
            Refusal::unless(f.essential_elements_present, "art. 17 c.1", || {
                "the decisione di contrarre must state the essential elements of the contract and the \
                 selection and award criteria"
                    .into()
            })?;
            Refusal::unless(f.lots_total >= 1, "art. 58", || {
                "a tender has at least one lot".into()
            })?;
            if f.procedure == ProcedureType::AffidamentoDiretto {
                fx.rule("art. 17 c.2");
                Refusal::unless(f.contractor_named, "art. 17 c.2", || {
                    "a direct award names the contractor, object, amount, reasons and requirements in the \
                     decisione di contrarre"
                        .into()
                })?;
                check_rotation(rules, f, fx)?;
            }
            fx.rule(f.procedure.article());
            procedure::check_procedure(rules, f.procedure, &f.contract, f.condition_motivated)?;
            check_procedure_choice(rules, f, fx)?;
            fx.rule("art. 62 c.2, art. 63 c.2");
            procedure::check_qualification(rules, &f.contract, f.sua_qualification)?;
            fx.communicate(
                To::Comune,
                Kind::RequestAccepted,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::AcquireCig => {
            fx.rule("art. 62 c.2");
            procedure::check_qualification(rules, &f.contract, f.sua_qualification)?;
            Refusal::unless(
                f.lots_total >= 1 && f.lots_with_cig == f.lots_total,
                "art. 62 c.2",
                || {
                    format!(
                        "a CIG is needed for every lot: {} of {} lots have one",
                        f.lots_with_cig, f.lots_total
                    )
                },
            )?;
            fx.communicate(
                To::Comune,
                Kind::CigAcquired,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::Publish => {
            Refusal::unless(
                f.procedure == ProcedureType::Aperta,
                f.procedure.article(),
                || {
                    format!(
                        "publish opens an open procedure; {} uses {}",
                        f.procedure,
                        if f.procedure.has_request_phase() {
                            "publish_call_for_requests"
                        } else if f.procedure.is_invitation_only() {
                            "send_invitations"
                        } else {
                            "start_direct_award"
                        }
                    )
                },
            )?;
            check_evaluation_rules(rules, f, fx)?;
            let deadline = require_deadline(f.offer_deadline, "art. 71 c.1", "offer_deadline")?;
            check_at_transmission(rules, f, fx)?;
            check_reduction(f, Some(now), fx)?;
            check_offer_term(rules, f, now, deadline, fx)?;
            publication_effects(rules, f, now, deadline, TimerKind::OfferDeadline, fx)?;
        }
        E::PublishCallForRequests => {
            Refusal::unless(
                f.procedure.has_request_phase(),
                f.procedure.article(),
                || format!("{} has no phase of requests to participate", f.procedure),
            )?;
            check_evaluation_rules(rules, f, fx)?;
            let deadline = require_deadline(
                f.requests_deadline,
                f.procedure.article(),
                "requests_deadline",
            )?;
            check_at_transmission(rules, f, fx)?;
            check_reduction(f, Some(now), fx)?;
            if let Some(term) = procedure::min_request_term(rules, f.procedure, f.term_reduction)
                && (is_above(rules, f)? || rules.part_iv_terms_below_threshold)
            {
                fx.rule(term.article);
                procedure::check_deadline(rules, now, deadline, term, "requests")?;
            }
            publication_effects(rules, f, now, deadline, TimerKind::RequestsDeadline, fx)?;
        }
        E::CloseRequests => {
            let deadline = require_deadline(
                f.requests_deadline,
                f.procedure.article(),
                "requests_deadline",
            )?;
            Refusal::unless(now >= deadline, "lex specialis: requests deadline", || {
                format!("requests may be received until {deadline}")
            })?;
        }
        E::SendInvitations => {
            let ok = match state {
                TenderState::Ready => f.procedure.is_invitation_only(),
                _ => f.procedure.has_request_phase(),
            };
            Refusal::unless(ok, f.procedure.article(), || {
                format!(
                    "{} does not send invitations from state '{state}'",
                    f.procedure
                )
            })?;
            if state == TenderState::Ready {
                // the invitation is the call of a procedure without a bando (art. 14 c.7), and its letter is
                // the lex specialis of an invitation-only procedure
                check_at_transmission(rules, f, fx)?;
                check_evaluation_rules(rules, f, fx)?;
            }
            let band = procedure::band(rules, &f.contract)?;
            if let Some(min) = procedure::min_invitees(f.procedure, &band) {
                fx.rule(min.article);
                let needed = match f.operators_available {
                    Some(n) if n < min.count => n.max(1),
                    _ => min.count,
                };
                Refusal::unless(f.invitees >= needed, min.article, || {
                    format!(
                        "at least {} operators must be invited where they exist; {} invited",
                        min.count, f.invitees
                    )
                })?;
                if needed < min.count && f.procedure == ProcedureType::NegoziataSenzaPubblicazione {
                    // art. 76 c.7: "ove possibile" — fewer than three only for a stated reason (e.g. the
                    // exclusive rights of art. 76 c.2 lett. b), recorded with the act
                    let why = f
                        .motivation
                        .as_deref()
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .ok_or_else(|| {
                            Refusal::new(
                                min.article,
                                format!(
                                    "at least {} operators are consulted where possible; {} invited: state                                      why more cannot be consulted (motivation)",
                                    min.count, f.invitees
                                ),
                            )
                        })?;
                    fx.warn(
                        min.article,
                        format!(
                            "{} operators consulted, fewer than {}: {why}",
                            f.invitees, min.count
                        ),
                    );
                } else if needed < min.count {
                    fx.warn(
                        min.article,
                        format!(
                            "only {needed} qualified operators exist, fewer than {}: motivate it",
                            min.count
                        ),
                    );
                }
            } else {
                Refusal::unless(f.invitees >= 1, f.procedure.article(), || {
                    "at least one operator must be invited".into()
                })?;
            }
            if state == TenderState::Prequalification {
                Refusal::unless(
                    f.invitees <= f.candidates_admitted,
                    f.procedure.article(),
                    || {
                        format!(
                            "only admitted candidates may be invited: {} invitees, {} candidates admitted",
                            f.invitees, f.candidates_admitted
                        )
                    },
                )?;
            }
            if f.procedure == ProcedureType::NegoziataSenzaBando {
                check_rotation(rules, f, fx)?;
            }
            let deadline =
                require_deadline(f.offer_deadline, f.procedure.article(), "offer_deadline")?;
            let bando_sent = if f.procedure.has_request_phase() {
                f.call_transmitted_at
            } else {
                Some(now)
            };
            check_reduction(f, bando_sent, fx)?;
            check_offer_term(rules, f, now, deadline, fx)?;
            fx.communicate(To::Invitees, Kind::Invitation, 0, f.procedure.article());
            // No public effect: the invitees stay secret until the offer deadline (art. 35 c.2 b), c.3); the
            // list of the operators consulted goes in the results notice (art. 50 c.9).
            fx.communicate(
                To::Comune,
                Kind::Invitation,
                days,
                "art. 62 c.13 (convenzione)",
            );
            fx.timer(TimerKind::OfferDeadline, deadline, f.procedure.article());
            fx.timer(
                TimerKind::ClarificationCutoff,
                clarification_cutoff(rules, deadline, f.term_reduction)?,
                "art. 88 c.3",
            );
            if state == TenderState::Ready {
                max_duration_timer(f, now, fx);
            }
        }
        E::AnswerClarification => {
            if state == TenderState::Open {
                let deadline = require_deadline(f.offer_deadline, "art. 88 c.3", "offer_deadline")?;
                let cutoff = clarification_cutoff(rules, deadline, f.term_reduction)?;
                fx.rule("art. 88 c.3");
                Refusal::unless(now < cutoff, "art. 88 c.3", || {
                    format!(
                        "additional information must be given at least {} days before the offer deadline \
                         (last moment {cutoff}); extend the deadline first (art. 92 c.2 lett. a)",
                        if f.term_reduction == TermReduction::Urgency {
                            rules.clarification_cutoff_days_reduced
                        } else {
                            rules.clarification_cutoff_days
                        }
                    )
                })?;
            }
            fx.communicate(To::Public, Kind::Clarification, 0, "art. 88 c.3");
        }
        E::AmendDocuments => {
            let deadline = require_deadline(f.offer_deadline, "art. 92 c.2", "offer_deadline")?;
            Refusal::unless(now < deadline, "art. 92 c.2", || {
                format!(
                    "the offer deadline {deadline} has passed: the tender documents can no longer change"
                )
            })?;
            if f.significant_change || f.evaluation_rules_changed {
                fx.rule("art. 92 c.2 lett. b)");
                let new = f.new_deadline.filter(|n| *n > deadline).ok_or_else(|| {
                    Refusal::new(
                        "art. 92 c.2 lett. b)",
                        "a significant change to the tender documents requires extending the offer deadline \
                         (new_deadline after the current one)",
                    )
                })?;
                extension_effects(rules, f, new, TimerKind::OfferDeadline, fx)?;
            }
            fx.communicate(To::Public, Kind::DocumentsAmended, 0, "art. 92 c.2");
            fx.communicate(To::AllCandidates, Kind::DocumentsAmended, 0, "art. 92 c.2");
        }
        E::ExtendDeadline => {
            let (current, kind) = if state == TenderState::RequestsOpen {
                (f.requests_deadline, TimerKind::RequestsDeadline)
            } else {
                (f.offer_deadline, TimerKind::OfferDeadline)
            };
            let current = require_deadline(current, "art. 92 c.2", "current deadline")?;
            fx.rule("art. 92 c.2");
            Refusal::unless(now < current, "art. 92 c.2", || {
                format!("the deadline {current} has passed: an expired term cannot be extended")
            })?;
            let new = f.new_deadline.filter(|n| *n > current).ok_or_else(|| {
                Refusal::new(
                    "art. 92 c.2",
                    format!("an extension needs new_deadline after the current deadline {current}"),
                )
            })?;
            extension_effects(rules, f, new, kind, fx)?;
        }
        E::CloseSubmissions => {
            let deadline = require_deadline(f.offer_deadline, "lex specialis", "offer_deadline")?;
            Refusal::unless(now >= deadline, "lex specialis: offer deadline", || {
                format!(
                    "offers may be submitted until {deadline}; submissions cannot close earlier"
                )
            })?;
            fx.cancel(TimerKind::ClarificationCutoff);
            let validity = deadline
                .checked_add_signed(chrono::Duration::days(i64::from(rules.offer_validity_days)))
                .unwrap_or(deadline);
            fx.timer(TimerKind::OfferValidity, validity, "art. 17 c.4");
            fx.communicate(
                To::Comune,
                Kind::SubmissionsClosed,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::DeclareDeserted => {
            let none = if state == TenderState::Closed {
                f.offers_received == 0
            } else {
                f.candidates_admitted == 0
            };
            Refusal::unless(none, "art. 90 c.1 lett. a)", || {
                if state == TenderState::Closed {
                    format!(
                        "{} offers were received: the tender is not deserted",
                        f.offers_received
                    )
                } else {
                    format!(
                        "{} candidates were admitted: invite them",
                        f.candidates_admitted
                    )
                }
            })?;
            not_award_effects(rules, now, Kind::DecisionNotToAward, fx)?;
        }
        E::StartEvaluation => {
            Refusal::unless(f.offers_received >= 1, "art. 90 c.1 lett. a)", || {
                "no offers were received: declare the tender deserted".into()
            })?;
        }
        E::StartDirectAward => {
            Refusal::unless(
                f.procedure == ProcedureType::AffidamentoDiretto,
                "art. 50 c.1 lett. a)-b)",
                || format!("{} is not a direct award", f.procedure),
            )?;
            check_at_transmission(rules, f, fx)?;
            fx.communicate(
                To::Comune,
                Kind::AwardProposal,
                days,
                "art. 62 c.13 (convenzione)",
            );
        }
        E::Complete => {
            let all_final = !f.lot_states.is_empty()
                && f.lot_states.len() == f.lots_total as usize
                && f.lot_states.iter().all(|s| s.is_final());
            Refusal::unless(all_final, "art. 58 (lots)", || {
                let open: Vec<&str> = f
                    .lot_states
                    .iter()
                    .filter(|s| !s.is_final())
                    .map(|s| s.as_str())
                    .collect();
                format!(
                    "a tender completes only when all its {} lots are final; {} known, not final: {:?}",
                    f.lots_total,
                    f.lot_states.len(),
                    open
                )
            })?;
        }
        E::Revoke | E::Annul => {
            let rule = if event == E::Revoke {
                "L. 241/1990 art. 21-quinquies"
            } else {
                "L. 241/1990 art. 21-nonies"
            };
            fx.rule(rule);
            Refusal::unless(
                f.motivation
                    .as_deref()
                    .is_some_and(|m| !m.trim().is_empty()),
                rule,
                || "a revocation or annulment is a motivated act: motivation is missing".into(),
            )?;
            Refusal::unless(
                !f.lot_states.contains(&LotState::Contracted),
                "art. 18 c.2",
                || {
                    "autotutela on the procedure is possible only before stipula; a lot is already \
                     contracted (use contractual remedies)"
                        .into()
                },
            )?;
            let kind = if event == E::Revoke {
                Kind::Revocation
            } else {
                Kind::Annulment
            };
            not_award_effects(rules, now, kind, fx)?;
        }
    }
    Ok(())
}

fn max_duration_timer(f: &TenderFacts, now: DateTime<Utc>, fx: &mut EffectsBuilder) {
    if let Some(months) = f.procedure.max_duration_months(f.criterion)
        && let Some(at) = now.checked_add_months(Months::new(months))
    {
        fx.timer(
            TimerKind::MaxProcedureDuration,
            at,
            "art. 17 c.3, Allegato I.3",
        );
    }
}

fn publication_effects(
    rules: &Rules,
    f: &TenderFacts,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
    kind: TimerKind,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    fx.communicate(To::Bdncp, Kind::Publication, 0, "art. 84, art. 27");
    fx.communicate(To::Public, Kind::Publication, 0, "art. 85, art. 28");
    fx.communicate(
        To::Comune,
        Kind::Publication,
        rules.art90_days,
        "art. 62 c.13 (convenzione)",
    );
    fx.timer(kind, deadline, f.procedure.article());
    if kind == TimerKind::OfferDeadline {
        fx.timer(
            TimerKind::ClarificationCutoff,
            clarification_cutoff(rules, deadline, f.term_reduction)?,
            "art. 88 c.3",
        );
    }
    max_duration_timer(f, now, fx);
    Ok(())
}

fn extension_effects(
    rules: &Rules,
    f: &TenderFacts,
    new: DateTime<Utc>,
    kind: TimerKind,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    fx.timer(kind, new, "art. 92 c.2");
    if kind == TimerKind::OfferDeadline {
        fx.timer(
            TimerKind::ClarificationCutoff,
            clarification_cutoff(rules, new, f.term_reduction)?,
            "art. 88 c.3",
        );
    }
    // Notice on the SA's website (art. 92 c.2 lett. c), as amended); bidders may withdraw and replace (c.3).
    fx.communicate(To::Public, Kind::DeadlineExtended, 0, "art. 92 c.2");
    fx.communicate(To::AllCandidates, Kind::DeadlineExtended, 0, "art. 92 c.3");
    Ok(())
}

fn not_award_effects(
    rules: &Rules,
    now: DateTime<Utc>,
    kind: Kind,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    let days = rules.art90_days;
    fx.rule("art. 90 c.1 lett. a)");
    fx.communicate(To::AllCandidates, kind, days, "art. 90 c.1 lett. a)");
    fx.communicate(To::Comune, kind, days, "art. 62 c.13 (convenzione)");
    fx.communicate(To::Bdncp, kind, days, "art. 23, art. 28");
    art90_timer(rules, now, fx)?;
    for t in [
        TimerKind::RequestsDeadline,
        TimerKind::OfferDeadline,
        TimerKind::ClarificationCutoff,
        TimerKind::MaxProcedureDuration,
    ] {
        fx.cancel(t);
    }
    Ok(())
}
