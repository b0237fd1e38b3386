//! Types shared by the three machines: transitions, effects, refusals, and the string-enum helper.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::lot::LotEvent;
use crate::participation::ParticipationEvent;
use crate::tender::TenderEvent;

/// A name that is not one of the enum's stable strings (defined in `domain`, next to the award criterion).
pub use domain::award::UnknownName;

/// Declares a fieldless enum whose variants have stable snake_case names, with serde, `as_str`, `Display`,
/// `FromStr` and `ALL`.
macro_rules! string_enum {
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident ($kind:literal) {
            $( $(#[$vm:meta])* $var:ident => $s:literal ),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $( $(#[$vm])* #[serde(rename = $s)] $var ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The stable snake_case name (stored in the database).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::common::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$var),)+
                    _ => Err($crate::common::UnknownName { kind: $kind, value: s.to_owned() }),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// Which machine an audit entry belongs to.
    pub enum Machine ("machine") {
        Tender => "tender",
        Lot => "lot",
        Participation => "participation",
        /// A municipality's procurement request to the SUA (before any tender exists).
        Request => "request",
    }
}

string_enum! {
    /// To whom a communication is owed.
    pub enum Addressee ("addressee") {
        /// The operator of this participation.
        Operator => "operator",
        /// The awardee (art. 90 c.1 b).
        Awardee => "awardee",
        /// Bidders with an admitted offer, those not yet definitively excluded, and those who challenged the
        /// bando or invitation (art. 90 c.1 c, e).
        OtherBidders => "other_bidders",
        /// All candidates and bidders (art. 90 c.1 a).
        AllCandidates => "all_candidates",
        /// The operators invited to a negotiated or restricted procedure.
        Invitees => "invitees",
        /// The beneficiary municipality (per the convenzione with the SUA).
        Comune => "comune",
        /// The public: the platform and the SA's website ("Amministrazione trasparente").
        Public => "public",
        /// ANAC's Banca dati nazionale dei contratti pubblici (BDNCP), through the certified platform.
        Bdncp => "bdncp",
    }
}

string_enum! {
    /// What a communication is about.
    pub enum CommunicationKind ("communication kind") {
        RequestAccepted => "request_accepted",
        CigAcquired => "cig_acquired",
        Publication => "publication",
        Invitation => "invitation",
        Clarification => "clarification",
        DocumentsAmended => "documents_amended",
        DeadlineExtended => "deadline_extended",
        SubmissionsClosed => "submissions_closed",
        DecisionNotToAward => "decision_not_to_award",
        Revocation => "revocation",
        Annulment => "annulment",
        SoccorsoRequest => "soccorso_request",
        Exclusion => "exclusion",
        AdmissionsAndExclusions => "admissions_and_exclusions",
        CommissionComposition => "commission_composition",
        AnomalyExplanationRequest => "anomaly_explanation_request",
        AwardProposal => "award_proposal",
        VerificationOutcome => "verification_outcome",
        Award => "award",
        AwardToOthers => "award_to_others",
        Suspension => "suspension",
        ContractDate => "contract_date",
        AwardNotice => "award_notice",
        ReceiptAcknowledgement => "receipt_acknowledgement",
        /// A municipality's procurement request reached the SUA.
        RequestReceived => "request_received",
        /// The SUA returned a request to the municipality with questions.
        RequestReturned => "request_returned",
        /// The SUA rejected a request, with its reasons.
        RequestRejected => "request_rejected",
    }
}

string_enum! {
    /// Timers the caller must set (and fire as events when due).
    pub enum TimerKind ("timer kind") {
        RequestsDeadline => "requests_deadline",
        OfferDeadline => "offer_deadline",
        /// Last day to publish answers to clarification requests (art. 88 c.3).
        ClarificationCutoff => "clarification_cutoff",
        /// Soccorso istruttorio term, 5-10 days (art. 101 c.1).
        Soccorso => "soccorso",
        /// Term for explanations on an abnormally low offer, at most 15 days (art. 110 c.2).
        AnomalyExplanations => "anomaly_explanations",
        /// Offer validity, default 180 days from the deadline (art. 17 c.4).
        OfferValidity => "offer_validity",
        /// Art. 90 communications are due within 5 days of the act.
        Art90Communication => "art90_communication",
        /// Standstill before stipula, 32 days from the last award communication (art. 18 c.3).
        Standstill => "standstill",
        /// Stipula within 60 days of the award (art. 18 c.2), 30 below threshold (art. 55 c.1).
        StipulaDeadline => "stipula_deadline",
        /// Maximum duration of the procedure up to award (art. 17 c.3, Allegato I.3): a soft SLA.
        MaxProcedureDuration => "max_procedure_duration",
    }
}

impl TimerKind {
    /// What the caller fires when a timer of this kind is due: an event of one machine, applied to the object
    /// the timer was set on. `None`: the timer is a reminder (or an SLA) only and changes no state.
    pub fn fires(self) -> Option<MachineEvent> {
        match self {
            Self::OfferDeadline => Some(MachineEvent::Tender(TenderEvent::CloseSubmissions)),
            Self::RequestsDeadline => Some(MachineEvent::Tender(TenderEvent::CloseRequests)),
            Self::Soccorso => Some(MachineEvent::Participation(
                ParticipationEvent::SoccorsoExpired,
            )),
            Self::Standstill => Some(MachineEvent::Lot(LotEvent::StandstillElapsed)),
            Self::ClarificationCutoff
            | Self::AnomalyExplanations
            | Self::OfferValidity
            | Self::Art90Communication
            | Self::StipulaDeadline
            | Self::MaxProcedureDuration => None,
        }
    }
}

/// An event of one of the tender, lot and participation machines (what a timer fires).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "machine", content = "event", rename_all = "snake_case")]
pub enum MachineEvent {
    Tender(TenderEvent),
    Lot(LotEvent),
    Participation(ParticipationEvent),
}

impl MachineEvent {
    /// The machine the event belongs to.
    pub fn machine(self) -> Machine {
        match self {
            MachineEvent::Tender(_) => Machine::Tender,
            MachineEvent::Lot(_) => Machine::Lot,
            MachineEvent::Participation(_) => Machine::Participation,
        }
    }

    /// The event's stable name (within its machine).
    pub fn as_str(self) -> &'static str {
        match self {
            MachineEvent::Tender(e) => e.as_str(),
            MachineEvent::Lot(e) => e.as_str(),
            MachineEvent::Participation(e) => e.as_str(),
        }
    }
}

/// One line of the audit log for an accepted transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub machine: Machine,
    pub event: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub at: DateTime<Utc>,
    /// The legal rules whose guards were checked and passed.
    pub rules_checked: Vec<&'static str>,
}

/// Something the caller must do because a transition was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Effect {
    /// Send a communication to `to` within `within_days` calendar days of the act.
    Communicate {
        to: Addressee,
        kind: CommunicationKind,
        within_days: u32,
        article: &'static str,
    },
    /// Set (or reset) a timer; the caller fires the matching event when it is due.
    SetTimer {
        kind: TimerKind,
        at: DateTime<Utc>,
        article: &'static str,
    },
    /// Cancel a timer set earlier.
    CancelTimer { kind: TimerKind },
    /// The transition is lawful but a configurable point deserves attention (e.g. a term below threshold that
    /// no statute fixes, art. 92 c.1 "termini congrui").
    Warn { rule: &'static str, message: String },
    /// The audit entry of this transition (always the last effect).
    Audit { entry: AuditEntry },
}

/// An accepted transition and what it requires of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition<S> {
    pub from: S,
    pub to: S,
    pub effects: Vec<Effect>,
}

impl<S> Transition<S> {
    /// The communications owed, as `(to, kind, within_days, article)`.
    pub fn communications(
        &self,
    ) -> impl Iterator<Item = (Addressee, CommunicationKind, u32, &'static str)> + '_ {
        self.effects.iter().filter_map(|e| match e {
            Effect::Communicate {
                to,
                kind,
                within_days,
                article,
            } => Some((*to, *kind, *within_days, *article)),
            _ => None,
        })
    }

    /// The timer of `kind` set by this transition, if any.
    pub fn timer(&self, kind: TimerKind) -> Option<DateTime<Utc>> {
        self.effects.iter().find_map(|e| match e {
            Effect::SetTimer { kind: k, at, .. } if *k == kind => Some(*at),
            _ => None,
        })
    }

    /// The audit entry (every accepted transition has exactly one).
    pub fn audit(&self) -> Option<&AuditEntry> {
        self.effects.iter().find_map(|e| match e {
            Effect::Audit { entry } => Some(entry),
            _ => None,
        })
    }
}

/// A refused transition: the legal rule it would break and a message for the user. Never a panic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{rule}: {message}")]
pub struct Refusal {
    /// The rule, e.g. "art. 71 c.1".
    pub rule: &'static str,
    pub message: String,
}

/// The rule named when the transition table has no such transition at all.
pub const RULE_TRANSITION_TABLE: &str = "lifecycle transition table";

impl Refusal {
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            rule,
            message: message.into(),
        }
    }

    pub(crate) fn not_in_table(machine: Machine, state: &str, event: &str, is_final: bool) -> Self {
        let why = if is_final {
            format!("{machine} is in the final state '{state}'; no event can change it")
        } else {
            format!("{machine} in state '{state}' has no transition for event '{event}'")
        };
        Refusal::new(RULE_TRANSITION_TABLE, why)
    }

    /// A guard that fails with `message` unless `ok`.
    pub(crate) fn unless(
        ok: bool,
        rule: &'static str,
        message: impl FnOnce() -> String,
    ) -> Result<(), Self> {
        if ok {
            Ok(())
        } else {
            Err(Refusal::new(rule, message()))
        }
    }
}

/// Collects effects and checked rules while guards run; finishes with the audit entry.
pub(crate) struct EffectsBuilder {
    pub effects: Vec<Effect>,
    pub rules: Vec<&'static str>,
}

impl EffectsBuilder {
    pub fn new() -> Self {
        EffectsBuilder {
            effects: Vec::new(),
            rules: Vec::new(),
        }
    }

    pub fn rule(&mut self, rule: &'static str) {
        if !self.rules.contains(&rule) {
            self.rules.push(rule);
        }
    }

    pub fn communicate(
        &mut self,
        to: Addressee,
        kind: CommunicationKind,
        within_days: u32,
        article: &'static str,
    ) {
        self.effects.push(Effect::Communicate {
            to,
            kind,
            within_days,
            article,
        });
    }

    pub fn timer(&mut self, kind: TimerKind, at: DateTime<Utc>, article: &'static str) {
        self.effects.push(Effect::SetTimer { kind, at, article });
    }

    pub fn cancel(&mut self, kind: TimerKind) {
        self.effects.push(Effect::CancelTimer { kind });
    }

    pub fn warn(&mut self, rule: &'static str, message: impl Into<String>) {
        self.effects.push(Effect::Warn {
            rule,
            message: message.into(),
        });
    }

    pub fn finish<S: Copy>(
        mut self,
        machine: Machine,
        event: &'static str,
        from: (S, &'static str),
        to: (S, &'static str),
        at: DateTime<Utc>,
    ) -> Transition<S> {
        self.effects.push(Effect::Audit {
            entry: AuditEntry {
                machine,
                event,
                from: from.1,
                to: to.1,
                at,
                rules_checked: self.rules,
            },
        });
        Transition {
            from: from.0,
            to: to.0,
            effects: self.effects,
        }
    }
}
