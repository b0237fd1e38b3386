//! The workflow room of the `sua` engine: what turns an event into a committed state.
//!
//! - [`store`]: the connection, every entity and every migration (SQLite and PostgreSQL);
//! - [`audit`]: the append-only, hash-chained audit log;
//! - [`clock`]: the injected clock;
//! - [`transition`]: **the entry point**: `run_tender_event`, `run_lot_event`, `run_bid_event` apply a
//!   lifecycle event and write, in the caller's transaction, the new state, its timers, the audit entry
//!   and the outbox mails ([`mails`]); the cascade from a lot event to its participations;
//! - [`access`]: roles, the caller, who may read or manage a tender; [`views`]: tenders and lots as read;
//! - [`lex_specialis`]: a lot's evaluation rules, fixed before publication; [`draws`]: the platform's draw
//!   seeds, committed before the facts they decide and revealed after;
//! - [`anomaly`]: the art. 110 judgement on each offer suspected abnormally low, as recorded;
//! - [`register`]: the register's rows as the `register` crate's values (listings, award history);
//! - [`error`]: [`WorkflowError`], the one error of this crate.
//!
//! This crate does I/O (the database) but knows nothing of HTTP: no axum, tower or hyper. The `sua`
//! binary (`crates/service`) is its HTTP, CLI and scheduler edge.

pub mod access;
pub mod amounts;
pub mod anomaly;
pub mod audit;
pub mod audit_head;
pub mod clock;
pub mod draws;
pub mod error;
pub mod lex_specialis;
pub mod mails;
pub mod pcp_facts;
pub mod pcp_outbox;
pub mod published;
pub mod register;
pub mod store;
pub mod transition;
pub mod views;

pub use error::{WResult, WorkflowError};
