//! Test support shared by the workspace's tests, used only as a dev-dependency: everything the tests
//! need runs inside the test process, so `cargo test --workspace` needs nothing installed beyond the
//! Rust toolchain (PostgreSQL variants run when `SUA_TEST_DATABASE_URL` is set, see [`pg`]).
//!
//! - [`smtp::SmtpSink`]: an SMTP server on loopback that records what it receives, answers `550`/`451`
//!   to chosen recipients, can delay its `250`, require AUTH, and be stopped (an outage) and restarted;
//! - [`s3::S3Server`]: an S3-compatible server on loopback (s3s over a temporary directory);
//! - [`pg`]: scratch PostgreSQL databases on the server of `SUA_TEST_DATABASE_URL`;
//! - [`serve`]: starts a `sua serve` process and waits until it listens;
//! - [`fixtures`]: a published open tender, set up over the HTTP API.

pub mod fixtures;
pub mod pg;
pub mod s3;
pub mod serve;
pub mod smtp;
