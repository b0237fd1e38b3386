//! The `sua` service: the only crate of the workspace that does I/O.
//!
//! - [`config`]: layered settings (figment, `SUA_*` env overrides);
//! - [`db`]: sea-orm entities and migrations, one code path for SQLite and PostgreSQL;
//! - [`auth`]: bearer tokens and roles; [`api`]: the axum HTTP API and its OpenAPI document;
//! - [`machines`]: the edge between stored rows and the pure `lifecycle` machines;
//! - [`scheduler`]: deadline closing and lifecycle timers on an injected [`clock`];
//! - [`audit`]: the append-only, hash-chained audit log; [`cli`]: the `sua` command line.

pub mod api;
pub use workflow::{audit, clock, store as db};
pub mod auth;
pub mod cli;
pub mod cli_evaluate;
pub mod cli_export;
pub mod cli_receipt;
pub mod config;
pub mod demo;
pub mod docstore;
pub mod error;
pub mod export;
pub mod input;
pub mod reminders;
pub mod runtime;
pub mod scheduler;
pub mod sealed;
pub mod server;
pub mod state;
pub mod tokens;
