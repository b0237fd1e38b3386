//! Mail notifications of the SUA engine: a transactional outbox that never loses a message.
//!
//! * [`migrations`] — the `mail_message` table, for the service's migrator.
//! * [`enqueue`] — called inside the caller's transaction, together with the state change that owes the
//!   communication; idempotent on [`IdempotencyKey`].
//! * [`Worker`] — claims due messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one worker on SQLite),
//!   renders the Italian templates ([`Templates`]), sends with lettre ([`Transport`]: `smtp` or `file`),
//!   retries with exponential backoff, marks 5xx answers as permanent failures.
//! * [`list_for_tender`], [`get`], [`resend`] — what the buyer sees and can do.
//!
//! Delivery is at-least-once with a stable `Message-ID` derived from the outbox id: see `docs/notifications.md`.

pub mod config;
pub mod entity;
mod error;
mod message;
pub mod migration;
mod outbox;
pub mod templates;
pub mod transport;
pub mod worker;
pub mod writer;

pub use config::MailConfig;
pub use error::Error;
pub use message::{IdempotencyKey, MessageId, MessageView, NewMessage, Status};
pub use migration::{Migrator, migrations};
pub use outbox::{enqueue, get, list_for_tender, resend, with_key_prefix};
pub use templates::{MailTemplate, Rendered, Templates};
pub use transport::{SendError, SmtpConfig, SmtpSecurity, Transport, TransportConfig};
pub use worker::{
    Clock, Mailer, ManualClock, RoundReport, SystemClock, Worker, WorkerConfig, WorkerHandle,
};
pub use writer::{WriteSession, Writer};

/// Re-exported so callers can build recipients without depending on lettre directly.
pub use lettre::message::Mailbox;

/// Builds the mailer from `config` and spawns a worker on `db` with the system clock, on the current Tokio
/// runtime (call it from async code). Keep the handle and call `shutdown().await` on exit.
pub fn start(db: sea_orm::DatabaseConnection, config: &MailConfig) -> Result<WorkerHandle, Error> {
    start_with_clock(db, config, std::sync::Arc::new(SystemClock))
}

/// Like [`start`], with the worker reading time from `clock`: pass the application's clock, so that a
/// message enqueued at the application's "now" is due at that same "now", and retries back off on it
/// (a simulated or shifted clock in tests and `sua demo` moves the worker too).
pub fn start_with_clock(
    db: sea_orm::DatabaseConnection,
    config: &MailConfig,
    clock: std::sync::Arc<dyn Clock>,
) -> Result<WorkerHandle, Error> {
    let mailer = config.build_mailer()?;
    let worker = Worker::new(db, mailer, config.worker.clone(), clock)?;
    Ok(worker.spawn())
}

/// Like [`start_with_clock`], with the worker's writes (claims, outcomes) going through `writer`: the
/// service passes its one writer, so that on SQLite no write of the worker bypasses its write lock.
pub fn start_with_writer(
    db: sea_orm::DatabaseConnection,
    writer: std::sync::Arc<dyn Writer>,
    config: &MailConfig,
    clock: std::sync::Arc<dyn Clock>,
) -> Result<WorkerHandle, Error> {
    let mailer = config.build_mailer()?;
    let worker = Worker::new(db, mailer, config.worker.clone(), clock)?.with_writer(writer);
    Ok(worker.spawn())
}
