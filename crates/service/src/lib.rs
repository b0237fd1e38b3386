//! The `sua` binary: the edge around the `workflow` crate (docs/ARCHITECTURE.md, "crates/service").
//!
//! - HTTP layer: [`api`] (every route and the OpenAPI document), [`state`], [`auth`] (bearer-token
//!   extractors), [`error`] (problem documents). Handlers parse, authorise, call `workflow`, render.
//! - Below it: [`runtime`] (database, clock, settings), [`scheduler`] and [`reminders`], [`sealed`] (bid
//!   envelopes and receipts), [`docstore`] (the document store), [`export`] (ANAC and OCDS), [`input`]
//!   (parsing outside input), [`tokens`], [`config`], [`cli`] and the offline commands.
//! - Router hosts: [`server`] (`sua serve`) and [`demo`] (`sua demo`).
//!
//! `db`, `audit` and `clock` are the workflow crate's `store`, `audit` and `clock`, re-exported.
//! `tests/layers.rs` checks that nothing below the HTTP layer imports it.

pub mod api;
pub use workflow::{audit, clock, store as db};
pub mod auth;
pub mod cli;
pub mod cli_audit;
pub mod cli_evaluate;
pub mod cli_export;
pub mod cli_receipt;
pub mod config;
pub mod console;
pub mod demo;
pub mod docstore;
pub mod error;
pub mod export;
pub mod input;
pub mod pcp;
pub mod reminders;
pub mod runtime;
pub mod scheduler;
pub mod sealed;
pub mod server;
pub mod state;
pub mod tokens;
