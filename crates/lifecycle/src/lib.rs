//! The tender, lot and participation state machines of D.Lgs. 36/2023, for a Stazione Unica Appaltante, and the
//! machine of the municipalities' procurement requests that precede a tender.
//!
//! Each machine has a `rust-fsm` table saying *which* transitions exist, and guards in plain Rust saying *when*
//! they are lawful. `apply(state, &event, &facts, now)` checks the table, then the guards, and returns either a
//! [`Transition`] with its [`Effect`]s (communications owed, timers to set, audit entry) or a [`Refusal`] naming
//! the legal rule. It never panics on bad input.
//!
//! This crate is pure: no I/O, no clock. The caller supplies `now`, the facts, and (optionally) the [`Rules`]
//! with the calendar, thresholds and the configurable points of law.
//!
//! What this crate is not: it stores nothing, sends nothing and computes no scores (see `evaluation`).

pub mod diagram;
pub mod lot;
pub mod participation;
pub mod procedure;
pub mod request;
pub mod rules;
pub mod tender;

mod common;

pub use common::{
    Addressee, AuditEntry, CommunicationKind, Effect, Machine, MachineEvent, RULE_TRANSITION_TABLE,
    Refusal, TimerKind, Transition, UnknownName,
};
pub use domain::thresholds::ContractObject;
pub use procedure::{AwardCriterion, ProcedureType, QualificationLevel, TermReduction};
pub use rules::Rules;
