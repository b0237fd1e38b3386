//! The participation machine: one economic operator on one lot, from submission to contract or exit. It gives
//! the addressees of the art. 90 communications and the order for the rescroll after a failed verification.

use chrono::{DateTime, Utc};
use rust_fsm::StateMachineImpl;
use serde::Serialize;

use crate::common::{
    Addressee as To, CommunicationKind as Kind, EffectsBuilder, Machine, Refusal, TimerKind,
    Transition, string_enum,
};
use crate::lot::LotState;
use crate::procedure::{self, ProcedureType, RequirementChecks};
use crate::rules::Rules;
use rust_decimal::Decimal;

string_enum! {
    /// States of an operator's participation in a lot.
    pub enum ParticipationState ("participation state") {
        /// May submit an offer (invited, or any operator in an open procedure).
        Invited => "invited",
        /// Offer submitted and sealed.
        Submitted => "submitted",
        /// Soccorso istruttorio requested (art. 101 c.1).
        InSoccorso => "in_soccorso",
        Admitted => "admitted",
        Ranked => "ranked",
        ProposedAwardee => "proposed_awardee",
        /// Requirements verified (FVOE).
        Verified => "verified",
        Awardee => "awardee",
        /// Contract signed. Final.
        Contracted => "contracted",
        /// Excluded (art. 90 c.1 d communicated). Final.
        Excluded => "excluded",
        /// Offer withdrawn before the deadline. Final.
        Withdrawn => "withdrawn",
        /// No offer submitted by the deadline. Final.
        NoOffer => "no_offer",
        /// The lot ended without this operator's contract. Final.
        NotAwarded => "not_awarded",
    }
}

string_enum! {
    /// Events of a participation.
    pub enum ParticipationEvent ("participation event") {
        Submit => "submit",
        Replace => "replace",
        Withdraw => "withdraw",
        DeadlinePassed => "deadline_passed",
        RequestSoccorso => "request_soccorso",
        CureSoccorso => "cure_soccorso",
        SoccorsoExpired => "soccorso_expired",
        Admit => "admit",
        Exclude => "exclude",
        Rank => "rank",
        Propose => "propose",
        VerificationPassed => "verification_passed",
        VerificationFailed => "verification_failed",
        Award => "award",
        SignContract => "sign_contract",
        ReturnToRanking => "return_to_ranking",
        CloseWithoutAward => "close_without_award",
    }
}

impl ParticipationState {
    pub const INITIAL: ParticipationState = ParticipationState::Invited;

    /// Final states: nothing leaves them.
    pub fn is_final(self) -> bool {
        match self {
            Self::Contracted
            | Self::Excluded
            | Self::Withdrawn
            | Self::NoOffer
            | Self::NotAwarded => true,
            Self::Invited
            | Self::Submitted
            | Self::InSoccorso
            | Self::Admitted
            | Self::Ranked
            | Self::ProposedAwardee
            | Self::Verified
            | Self::Awardee => false,
        }
    }

    /// A live offer: one was submitted and not withdrawn. It counts among the offers received, the bidders
    /// of the lot and the addressees of the art. 90 communications. (`no_offer` counts here, as in the
    /// service's `live_bids` today; see [`is_participant`](Self::is_participant) for the stricter reading.)
    pub fn is_offer(self) -> bool {
        match self {
            Self::Invited | Self::Withdrawn => false,
            Self::Submitted
            | Self::InSoccorso
            | Self::Admitted
            | Self::Ranked
            | Self::ProposedAwardee
            | Self::Verified
            | Self::Awardee
            | Self::Contracted
            | Self::Excluded
            | Self::NoOffer
            | Self::NotAwarded => true,
        }
    }

    /// A participant in the published data (open data exports): an offer was submitted and not withdrawn.
    /// Not participants: an invitation never answered, no offer by the deadline, a withdrawn offer.
    pub fn is_participant(self) -> bool {
        match self {
            Self::Invited | Self::NoOffer | Self::Withdrawn => false,
            Self::Submitted
            | Self::InSoccorso
            | Self::Admitted
            | Self::Ranked
            | Self::ProposedAwardee
            | Self::Verified
            | Self::Awardee
            | Self::Contracted
            | Self::Excluded
            | Self::NotAwarded => true,
        }
    }

    /// The offer is admitted and still in the race (admitted, ranked, proposed, verified, awardee or
    /// contracted): what the lot guards count as `admitted`.
    pub fn is_admitted(self) -> bool {
        match self {
            Self::Admitted
            | Self::Ranked
            | Self::ProposedAwardee
            | Self::Verified
            | Self::Awardee
            | Self::Contracted => true,
            Self::Invited
            | Self::Submitted
            | Self::InSoccorso
            | Self::Excluded
            | Self::Withdrawn
            | Self::NoOffer
            | Self::NotAwarded => false,
        }
    }

    /// The offer is in the ranking and still eligible for the award (ranked, proposed, verified, awardee):
    /// what the lot guards count as `ranked_remaining`.
    pub fn is_ranked_remaining(self) -> bool {
        match self {
            Self::Ranked | Self::ProposedAwardee | Self::Verified | Self::Awardee => true,
            Self::Invited
            | Self::Submitted
            | Self::InSoccorso
            | Self::Admitted
            | Self::Contracted
            | Self::Excluded
            | Self::Withdrawn
            | Self::NoOffer
            | Self::NotAwarded => false,
        }
    }

    /// The admission decision as the envelope-opening rule sees it. `not_awarded` counts as admitted there
    /// (the lot ended; its envelopes follow the lot's phase), unlike [`is_admitted`](Self::is_admitted).
    pub fn admission(self) -> Admission {
        match self {
            Self::Admitted
            | Self::Ranked
            | Self::ProposedAwardee
            | Self::Verified
            | Self::Awardee
            | Self::Contracted
            | Self::NotAwarded => Admission::Admitted,
            Self::Excluded => Admission::Excluded,
            Self::Invited
            | Self::Submitted
            | Self::InSoccorso
            | Self::Withdrawn
            | Self::NoOffer => Admission::Pending,
        }
    }
}

string_enum! {
    /// The admission decision on a participation ([`ParticipationState::admission`]).
    pub enum Admission ("admission") {
        /// Not decided (or never to be: no offer, withdrawn).
        Pending => "pending",
        Admitted => "admitted",
        Excluded => "excluded",
    }
}

rust_fsm::state_machine! {
    #[state_machine(input(crate::participation::ParticipationEvent), state(crate::participation::ParticipationState))]
    pub table(Invited)

    Invited => {
        Submit => Submitted,
        DeadlinePassed => NoOffer,
    },
    Submitted => {
        Replace => Submitted,
        Withdraw => Withdrawn,
        RequestSoccorso => InSoccorso,
        Admit => Admitted,
        Exclude => Excluded,
        CloseWithoutAward => NotAwarded,
    },
    InSoccorso => {
        CureSoccorso => Submitted,
        SoccorsoExpired => Excluded,
        CloseWithoutAward => NotAwarded,
    },
    Admitted => {
        Rank => Ranked,
        Exclude => Excluded,
        CloseWithoutAward => NotAwarded,
    },
    Ranked => {
        Propose => ProposedAwardee,
        Exclude => Excluded,
        CloseWithoutAward => NotAwarded,
    },
    ProposedAwardee => {
        VerificationPassed => Verified,
        VerificationFailed => Excluded,
        ReturnToRanking => Ranked,
        CloseWithoutAward => NotAwarded,
    },
    Verified => {
        Award => Awardee,
        ReturnToRanking => Ranked,
        CloseWithoutAward => NotAwarded,
    },
    Awardee => {
        SignContract => Contracted,
        ReturnToRanking => Ranked,
        CloseWithoutAward => NotAwarded,
    },
}

/// Every transition of the table, as `(from, event, to)`.
pub fn transitions() -> Vec<(ParticipationState, ParticipationEvent, ParticipationState)> {
    let mut v = Vec::new();
    for s in ParticipationState::ALL {
        for e in ParticipationEvent::ALL {
            if let Some(to) = table::Impl::transition(s, e) {
                v.push((*s, *e, to));
            }
        }
    }
    v
}

/// What the service knows about the participation when an event arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipationFacts {
    pub procedure: ProcedureType,
    pub offer_deadline: DateTime<Utc>,
    /// The operator was invited (needed for negotiated procedures and the second phase of the others).
    pub invited: bool,
    /// Current state of the lot.
    pub lot_state: LotState,
    /// Soccorso istruttorio term granted (art. 101 c.1: 5-10 days).
    pub soccorso_days: Option<u32>,
    /// The document requested is already in the operator's virtual file (FVOE): no soccorso (art. 101 c.1).
    pub soccorso_document_in_fvoe: bool,
    /// The request would touch the technical or economic offer: not allowed (art. 101 c.1).
    pub soccorso_on_offer_content: bool,
    /// The defect makes the bidder's identity absolutely uncertain: not curable (art. 101 c.1).
    pub identity_uncertain: bool,
    /// When the soccorso term expires (from the timer set at `request_soccorso`).
    pub soccorso_due: Option<DateTime<Utc>>,
    pub exclusion_reason: Option<String>,
    /// Outcome of the requirement checks (FVOE); `None` while pending.
    pub requirements_verified: Option<bool>,
    /// Instead of verified requirements, the art. 52 c.1 self-declaration (direct awards below 40,000).
    pub requirement_checks: Option<RequirementChecks>,
    /// The contract's estimated value (art. 14), for the art. 52 c.1 ceiling.
    pub contract_value: Option<Decimal>,
}

impl ParticipationFacts {
    pub fn new(
        procedure: ProcedureType,
        offer_deadline: DateTime<Utc>,
        lot_state: LotState,
    ) -> Self {
        ParticipationFacts {
            procedure,
            offer_deadline,
            invited: !procedure.offers_by_invitation(),
            lot_state,
            soccorso_days: None,
            soccorso_document_in_fvoe: false,
            soccorso_on_offer_content: false,
            identity_uncertain: false,
            soccorso_due: None,
            exclusion_reason: None,
            requirements_verified: None,
            requirement_checks: None,
            contract_value: None,
        }
    }
}

/// Applies `event` to a participation in `state` with the standard rules.
pub fn apply(
    state: ParticipationState,
    event: &ParticipationEvent,
    facts: &ParticipationFacts,
    now: DateTime<Utc>,
) -> Result<Transition<ParticipationState>, Refusal> {
    apply_with(Rules::standard(), state, event, facts, now)
}

/// Applies `event` with the given rules.
pub fn apply_with(
    rules: &Rules,
    state: ParticipationState,
    event: &ParticipationEvent,
    facts: &ParticipationFacts,
    now: DateTime<Utc>,
) -> Result<Transition<ParticipationState>, Refusal> {
    let to = table::Impl::transition(&state, event).ok_or_else(|| {
        Refusal::not_in_table(
            Machine::Participation,
            state.as_str(),
            event.as_str(),
            state.is_final(),
        )
    })?;
    let mut fx = EffectsBuilder::new();
    guard(rules, state, *event, facts, now, &mut fx)?;
    Ok(fx.finish(
        Machine::Participation,
        event.as_str(),
        (state, state.as_str()),
        (to, to.as_str()),
        now,
    ))
}

fn lot_in(
    f: &ParticipationFacts,
    ok: &[LotState],
    rule: &'static str,
    what: &str,
) -> Result<(), Refusal> {
    Refusal::unless(ok.contains(&f.lot_state), rule, || {
        format!("{what} requires the lot in {ok:?}, it is '{}'", f.lot_state)
    })
}

/// Offers are taken strictly before the deadline: one at the deadline's instant is late. The one home of
/// this boundary: the guard below and the service's early check before sealing both ask it.
pub fn offers_open(deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < deadline
}

/// The requirements are established for the award: verified (art. 17 c.5, art. 99) or, for a direct award
/// below 40,000 euro, self-declared (art. 52 c.1). The one rule, [`procedure::check_requirements`].
fn requirements_established(f: &ParticipationFacts) -> Result<&'static str, Refusal> {
    procedure::check_requirements(
        f.procedure,
        f.contract_value,
        f.requirements_verified,
        f.requirement_checks,
    )
}

fn guard(
    rules: &Rules,
    state: ParticipationState,
    event: ParticipationEvent,
    f: &ParticipationFacts,
    now: DateTime<Utc>,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    use ParticipationEvent as E;
    let days = rules.art90_days;
    let deadline = f.offer_deadline;
    let before_deadline = || {
        Refusal::unless(
            offers_open(deadline, now),
            "lex specialis: offer deadline",
            || {
                format!(
                    "the offer deadline {deadline} has passed: nothing may be submitted, replaced or withdrawn"
                )
            },
        )
    };
    let after_deadline = |what: &str| {
        Refusal::unless(
            !offers_open(deadline, now),
            "lex specialis: offer deadline",
            || format!("{what} only after the offer deadline {deadline}"),
        )
    };
    match event {
        E::Submit => {
            before_deadline()?;
            if f.procedure.offers_by_invitation() {
                Refusal::unless(f.invited, f.procedure.article(), || {
                    format!(
                        "in a {} procedure only invited operators may submit an offer",
                        f.procedure
                    )
                })?;
            }
            fx.communicate(To::Operator, Kind::ReceiptAcknowledgement, 0, "art. 25");
        }
        E::Replace => {
            before_deadline()?;
            fx.rule("art. 17 c.4, art. 92 c.3");
            fx.communicate(To::Operator, Kind::ReceiptAcknowledgement, 0, "art. 25");
        }
        E::Withdraw => {
            before_deadline()?;
            fx.rule("art. 92 c.3");
        }
        E::DeadlinePassed => after_deadline("closing a participation without offer")?,
        E::RequestSoccorso => {
            after_deadline("soccorso istruttorio")?;
            let rule = "art. 101 c.1";
            Refusal::unless(!f.soccorso_on_offer_content, rule, || {
                "soccorso istruttorio cannot cover the technical or economic offer".into()
            })?;
            Refusal::unless(!f.soccorso_document_in_fvoe, rule, || {
                "the document is already in the operator's virtual file (FVOE): no soccorso".into()
            })?;
            Refusal::unless(!f.identity_uncertain, rule, || {
                "a defect that makes the bidder's identity absolutely uncertain cannot be cured"
                    .into()
            })?;
            let d = f
                .soccorso_days
                .filter(|d| (rules.soccorso_min_days..=rules.soccorso_max_days).contains(d))
                .ok_or_else(|| {
                    Refusal::new(
                        rule,
                        format!(
                            "the soccorso term is not less than {} and not more than {} days; given {:?}",
                            rules.soccorso_min_days, rules.soccorso_max_days, f.soccorso_days
                        ),
                    )
                })?;
            let at = rules
                .calendar
                .term_end_instant(now, d)
                .map_err(|e| Refusal::new(rule, e.to_string()))?;
            fx.communicate(To::Operator, Kind::SoccorsoRequest, 0, rule);
            fx.timer(TimerKind::Soccorso, at, rule);
        }
        E::CureSoccorso => {
            let due = f
                .soccorso_due
                .ok_or_else(|| Refusal::new("art. 101 c.1", "soccorso_due is missing"))?;
            Refusal::unless(now < due, "art. 101 c.2", || {
                format!("the soccorso term expired at {due}: the operator is excluded")
            })?;
            fx.cancel(TimerKind::Soccorso);
        }
        E::SoccorsoExpired => {
            let due = f
                .soccorso_due
                .ok_or_else(|| Refusal::new("art. 101 c.2", "soccorso_due is missing"))?;
            Refusal::unless(now >= due, "art. 101 c.2", || {
                format!("the soccorso term runs until {due}")
            })?;
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
        }
        E::Admit => {
            after_deadline("admission")?;
            lot_in(
                f,
                &[LotState::AdminReview],
                "art. 90 c.1 lett. d)",
                "admission",
            )?;
        }
        E::Exclude => {
            Refusal::unless(
                f.exclusion_reason
                    .as_deref()
                    .is_some_and(|r| !r.trim().is_empty()),
                "art. 90 c.1 lett. d)",
                || "an exclusion states its reasons".into(),
            )?;
            if state == ParticipationState::Submitted {
                after_deadline("exclusion")?;
            }
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
        }
        E::Rank => lot_in(f, &[LotState::Ranked], "art. 108", "ranking")?,
        E::Propose => lot_in(f, &[LotState::Proposed], "art. 17 c.5", "proposal")?,
        E::VerificationPassed => {
            fx.rule(requirements_established(f)?);
        }
        E::VerificationFailed => {
            Refusal::unless(f.requirements_verified == Some(false), "art. 99", || {
                "the requirement checks did not fail".into()
            })?;
            fx.communicate(To::Operator, Kind::Exclusion, days, "art. 90 c.1 lett. d)");
        }
        E::Award => {
            fx.rule(requirements_established(f)?);
            lot_in(f, &[LotState::Awarded], "art. 17 c.5", "award")?;
        }
        E::SignContract => lot_in(f, &[LotState::Contracted], "art. 18 c.1", "stipula")?,
        E::ReturnToRanking => lot_in(
            f,
            &[LotState::Ranked],
            "art. 17 c.5",
            "returning to the ranking",
        )?,
        E::CloseWithoutAward => {
            Refusal::unless(
                f.lot_state.is_final()
                    && !(state == ParticipationState::Awardee
                        && f.lot_state == LotState::Contracted),
                "art. 17 c.5",
                || format!("the lot is '{}': the participation stays open", f.lot_state),
            )?;
        }
    }
    Ok(())
}
