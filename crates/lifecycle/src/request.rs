//! The procurement request machine: a municipality (comune) asks the SUA to run a procurement for it, under the
//! convenzione between them (art. 62 c.13). The SUA buyer accepts it into a draft tender, returns it with
//! questions, or rejects it; the municipality answers (which resubmits it) or withdraws it.
//!
//! `submitted` → `returned` (questions pending) → `submitted` (answered) → `accepted` (a draft tender exists) |
//! `rejected` | `withdrawn`. A request is created `submitted` ([`RequestState::INITIAL`]); the mail that
//! acknowledges it (`request_received`) is owed at creation, not by a transition.

use chrono::{DateTime, Utc};
use rust_fsm::StateMachineImpl;
use serde::{Deserialize, Serialize};

use crate::common::{
    Addressee as To, CommunicationKind as Kind, EffectsBuilder, Machine, Refusal, Transition,
    string_enum,
};

string_enum! {
    /// States of a procurement request.
    pub enum RequestState ("request state") {
        /// Sent by the municipality; awaiting the SUA's review (again, after an answer).
        Submitted => "submitted",
        /// Returned by the SUA with questions; awaiting the municipality's answer.
        Returned => "returned",
        /// Accepted into a draft tender. Final.
        Accepted => "accepted",
        /// Rejected by the SUA, with reasons. Final.
        Rejected => "rejected",
        /// Withdrawn by the municipality. Final.
        Withdrawn => "withdrawn",
    }
}

string_enum! {
    /// Events of a procurement request (named as the service's audit actions `request.<event>`).
    pub enum RequestEvent ("request event") {
        /// The SUA buyer accepts the request into a new draft tender.
        Accept => "accept",
        /// The SUA buyer returns the request with questions (the reason).
        Return => "return",
        /// The municipality answers the questions (a message on the thread): the request is submitted again.
        Resubmit => "resubmit",
        /// The SUA buyer rejects the request, with reasons.
        Reject => "reject",
        /// The municipality withdraws its request.
        Withdraw => "withdraw",
    }
}

string_enum! {
    /// Who acts on a request.
    pub enum RequestActor ("request actor") {
        /// The requesting municipality.
        Municipality => "municipality",
        /// A buyer of the SUA.
        SuaBuyer => "sua_buyer",
    }
}

/// The rule naming who may move a request (the convenzione between the SUA and the municipality).
pub const RULE_WHO_ACTS: &str = "convenzione SUA-comune (art. 62 c.13)";
/// A rejection states its reasons (L. 241/1990 art. 3: every administrative decision is motivated).
pub const RULE_REJECTION_MOTIVATED: &str = "L. 241/1990 art. 3";
/// A request is returned with the questions the municipality must answer.
pub const RULE_RETURN_WITH_QUESTIONS: &str = "convenzione SUA-comune (questions)";

impl RequestState {
    pub const INITIAL: RequestState = RequestState::Submitted;

    /// Final states: nothing leaves them.
    pub fn is_final(self) -> bool {
        match self {
            Self::Accepted | Self::Rejected | Self::Withdrawn => true,
            Self::Submitted | Self::Returned => false,
        }
    }

    /// The parties may still post messages on the request's thread: not once it is rejected or withdrawn
    /// (an accepted request keeps its thread open).
    pub fn accepts_messages(self) -> bool {
        match self {
            Self::Submitted | Self::Returned | Self::Accepted => true,
            Self::Rejected | Self::Withdrawn => false,
        }
    }
}

impl RequestEvent {
    /// The only actor who may send this event.
    pub fn actor(self) -> RequestActor {
        match self {
            Self::Accept | Self::Return | Self::Reject => RequestActor::SuaBuyer,
            Self::Resubmit | Self::Withdraw => RequestActor::Municipality,
        }
    }
}

rust_fsm::state_machine! {
    #[state_machine(input(crate::request::RequestEvent), state(crate::request::RequestState))]
    pub table(Submitted)

    Submitted => {
        Accept => Accepted,
        Return => Returned,
        Reject => Rejected,
        Withdraw => Withdrawn,
    },
    Returned => {
        Resubmit => Submitted,
        Reject => Rejected,
        Withdraw => Withdrawn,
    },
}

/// Every transition of the table, as `(from, event, to)`.
pub fn transitions() -> Vec<(RequestState, RequestEvent, RequestState)> {
    let mut v = Vec::new();
    for s in RequestState::ALL {
        for e in RequestEvent::ALL {
            if let Some(to) = table::Impl::transition(s, e) {
                v.push((*s, *e, to));
            }
        }
    }
    v
}

/// What the service knows when a request event arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFacts {
    /// Who sends the event.
    pub actor: RequestActor,
    /// The reason of a return (the questions) or of a rejection.
    pub reason: Option<String>,
}

impl RequestFacts {
    pub fn new(actor: RequestActor) -> Self {
        RequestFacts {
            actor,
            reason: None,
        }
    }

    pub fn with_reason(actor: RequestActor, reason: impl Into<String>) -> Self {
        RequestFacts {
            actor,
            reason: Some(reason.into()),
        }
    }
}

/// Applies `event` to a request in `state`: the table, then the guards (who acts, reasons). The accepted
/// transition lists the mails owed to the municipality and its audit entry. Never panics.
pub fn apply(
    state: RequestState,
    event: &RequestEvent,
    facts: &RequestFacts,
    now: DateTime<Utc>,
) -> Result<Transition<RequestState>, Refusal> {
    let to = table::Impl::transition(&state, event).ok_or_else(|| {
        Refusal::not_in_table(
            Machine::Request,
            state.as_str(),
            event.as_str(),
            state.is_final(),
        )
    })?;
    let mut fx = EffectsBuilder::new();
    guard(state, *event, facts, &mut fx)?;
    Ok(fx.finish(
        Machine::Request,
        event.as_str(),
        (state, state.as_str()),
        (to, to.as_str()),
        now,
    ))
}

fn has_reason(r: &Option<String>) -> bool {
    r.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn guard(
    _state: RequestState,
    event: RequestEvent,
    f: &RequestFacts,
    fx: &mut EffectsBuilder,
) -> Result<(), Refusal> {
    fx.rule(RULE_WHO_ACTS);
    let who = event.actor();
    Refusal::unless(f.actor == who, RULE_WHO_ACTS, || {
        format!(
            "only the {} may {} a request",
            match who {
                RequestActor::Municipality => "municipality",
                RequestActor::SuaBuyer => "SUA buyer",
            },
            event.as_str()
        )
    })?;
    // The mails are sent in the transaction of the change: due at once.
    match event {
        RequestEvent::Accept => {
            fx.communicate(To::Comune, Kind::RequestAccepted, 0, RULE_WHO_ACTS);
        }
        RequestEvent::Return => {
            fx.rule(RULE_RETURN_WITH_QUESTIONS);
            Refusal::unless(has_reason(&f.reason), RULE_RETURN_WITH_QUESTIONS, || {
                "a request is returned with the questions the municipality must answer".into()
            })?;
            fx.communicate(
                To::Comune,
                Kind::RequestReturned,
                0,
                RULE_RETURN_WITH_QUESTIONS,
            );
        }
        RequestEvent::Reject => {
            fx.rule(RULE_REJECTION_MOTIVATED);
            Refusal::unless(has_reason(&f.reason), RULE_REJECTION_MOTIVATED, || {
                "a rejection states its reasons".into()
            })?;
            fx.communicate(
                To::Comune,
                Kind::RequestRejected,
                0,
                RULE_REJECTION_MOTIVATED,
            );
        }
        // Not mailed: the answer that resubmits (the SUA reads the thread) and a withdrawal.
        RequestEvent::Resubmit | RequestEvent::Withdraw => {}
    }
    Ok(())
}
