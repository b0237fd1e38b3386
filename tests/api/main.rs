//! Black-box tests: start the built `sua` binary on a free port with a temporary database and talk HTTP.
//! SQLite always; PostgreSQL when `SUA_TEST_DATABASE_URL` is set at build time (a fresh database per
//! test), else the PostgreSQL variants are listed as ignored.

mod audit_head;
mod comms;
mod console;
mod console_browser;
mod costs;
mod files;
mod flow;
#[allow(dead_code)] // not every test uses every helper
mod helpers;
mod hostile;
mod idempotency;
mod legal;
mod lex_specialis;
mod municipality_mail;
mod pcp;
mod pcp_lots;
mod refusals;
mod register;
mod reminders;
mod replicas;
mod sealed;
mod smoke;
mod standstill;
