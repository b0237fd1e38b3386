//! The workflow room of the `sua` engine: what turns an event into a committed state.
//!
//! - [`store`]: the connection, every entity and every migration (SQLite and PostgreSQL);
//! - [`audit`]: the append-only, hash-chained audit log;
//! - [`clock`]: the injected clock.
//!
//! This crate does I/O (the database) but knows nothing of HTTP: no axum, tower or hyper. The `sua`
//! binary (`crates/service`) is its HTTP, CLI and scheduler edge.

pub mod audit;
pub mod clock;
pub mod store;
