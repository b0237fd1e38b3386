//! The delivery worker: claims due outbox rows, renders and sends them after the enqueuing transaction
//! committed, and records the outcome.
//!
//! Guarantee: **at-least-once delivery with a stable `Message-ID`**. A row is marked `sent` only after
//! the server accepted it; if the worker dies between the server's `250 OK` and that update, the row's
//! lease expires and the message is sent again, with the same `Message-ID` (`<outbox-uuid@domain>`), so
//! the recipient (and the PEC receipts) can recognise the copy. Rows already marked `sent` are never
//! sent again, and a claimed row belongs to one worker until its lease expires.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::entity;
use crate::error::Error;
use crate::outbox::{self, Outcome};
use crate::templates::{MailTemplate, Rendered, Templates};
use crate::transport::{SendError, Transport};
use crate::writer::Writer;

/// The injected source of time: the one clock trait of the workspace (the mail worker, the service's
/// handlers and scheduler all read it, so tests and the demo move time for all of them at once).
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Shift the clock by `offset` from real time; `false` if this clock cannot be moved that way.
    fn set_offset(&self, _offset: chrono::Duration) -> bool {
        false
    }
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (for tests and simulations).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = t;
    }
    pub fn advance(&self, d: Duration) {
        *self.0.lock().expect("clock lock") += d;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
    fn set_offset(&self, offset: chrono::Duration) -> bool {
        self.set(Utc::now() + offset);
        true
    }
}

/// `[mail.worker]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkerConfig {
    /// Messages claimed per round.
    pub batch_size: usize,
    /// Sends in flight at once within a round (keep it at most `mail.transport.pool_size` for SMTP).
    pub concurrency: usize,
    /// How long a claim is valid; after that a crashed worker's messages are taken by another.
    pub lease_secs: u64,
    /// Upper bound of one send (SMTP command timeout and overall guard).
    pub send_timeout_secs: u64,
    /// Pause between rounds when there is nothing to do.
    pub poll_interval_ms: u64,
    /// First retry delay; doubled at each further attempt.
    pub backoff_base_secs: u64,
    /// Longest retry delay.
    pub backoff_max_secs: u64,
    /// Attempts before a transient failure becomes `failed`. An unreachable server is not the
    /// message's fault: it never makes a message `failed` and costs no attempt.
    pub max_attempts: i32,
    /// Longest pause between two probes of an unreachable server (connection refused, TLS failure,
    /// no answer, authentication refused). The probes back off from `backoff_base_secs`, doubling per
    /// consecutive failed probe of this worker, up to this cap: mail resumes at most this long after
    /// the server is back, whatever the outage lasted.
    pub outage_retry_max_secs: u64,
    /// Giving way to the application: while at least this many of its write acts are under way (a
    /// deadline rush), the worker pauses `yield_pause_ms` after each round instead of going straight on,
    /// so bids are acknowledged before their receipt mails are sent (the mails are already queued in the
    /// same transaction as the bid, never lost). `0` never gives way.
    pub yield_above_writes: usize,
    /// The pause after a round while the application's writes are that many.
    pub yield_pause_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            batch_size: 20,
            concurrency: 2,
            lease_secs: 300,
            send_timeout_secs: 60,
            poll_interval_ms: 1000,
            backoff_base_secs: 30,
            backoff_max_secs: 3600,
            max_attempts: 20,
            outage_retry_max_secs: 60,
            yield_above_writes: 16,
            yield_pause_ms: 250,
        }
    }
}

impl WorkerConfig {
    pub fn validate(&self) -> Result<(), Error> {
        let field = |name: &str, why: &str| Err(Error::Config(format!("mail.worker.{name} {why}")));
        if self.batch_size == 0 {
            return field("batch_size", "must be at least 1");
        }
        if self.concurrency == 0 {
            return field("concurrency", "must be at least 1");
        }
        if self.send_timeout_secs == 0 {
            return field("send_timeout_secs", "must be at least 1");
        }
        if self.lease_secs <= self.send_timeout_secs {
            return field("lease_secs", "must be longer than send_timeout_secs");
        }
        if self.backoff_base_secs == 0 || self.backoff_max_secs < self.backoff_base_secs {
            return field(
                "backoff_base_secs",
                "must be at least 1 and not above backoff_max_secs",
            );
        }
        if self.max_attempts < 1 {
            return field("max_attempts", "must be at least 1");
        }
        if self.outage_retry_max_secs == 0 {
            return field("outage_retry_max_secs", "must be at least 1");
        }
        Ok(())
    }

    /// Delay before attempt `attempts + 1`, after `attempts` failed ones: base · 2^(attempts−1), capped.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let secs = self
            .backoff_base_secs
            .saturating_mul(1u64 << exp)
            .min(self.backoff_max_secs);
        Duration::seconds(secs as i64)
    }

    /// Pause before the next probe after `failures` consecutive failed probes of an unreachable
    /// server: `backoff_base_secs · 2^(failures−1)`, capped at `outage_retry_max_secs`.
    pub fn outage_backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        let secs = self
            .backoff_base_secs
            .saturating_mul(1u64 << exp)
            .min(self.outage_retry_max_secs);
        Duration::seconds(secs as i64)
    }
}

/// Renders and builds messages and sends them through the transport.
#[derive(Clone, Debug)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    message_id_domain: String,
    templates: Arc<Templates>,
}

impl Mailer {
    pub fn new(
        transport: Transport,
        from: Mailbox,
        message_id_domain: String,
        templates: Arc<Templates>,
    ) -> Self {
        Self {
            transport,
            from,
            message_id_domain,
            templates,
        }
    }

    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The `Message-ID` of an outbox row: the same for every attempt.
    pub fn message_id_for(&self, id: uuid::Uuid) -> String {
        format!("<{id}@{}>", self.message_id_domain)
    }

    fn build(
        &self,
        row: &entity::Model,
        now: DateTime<Utc>,
    ) -> Result<(Rendered, Message), String> {
        let template: MailTemplate = row.template.parse().map_err(|e: Error| e.to_string())?;
        let context: serde_json::Value =
            serde_json::from_str(&row.context).map_err(|e| format!("context: {e}"))?;
        let rendered = self
            .templates
            .render(template, &context)
            .map_err(|e| e.to_string())?;
        let recipients: Vec<String> =
            serde_json::from_str(&row.recipients).map_err(|e| format!("recipients: {e}"))?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(rendered.subject.clone())
            .message_id(Some(self.message_id_for(row.id)))
            .date(now.into());
        for r in &recipients {
            let mailbox: Mailbox = r.parse().map_err(|e| format!("recipient `{r}`: {e}"))?;
            builder = builder.to(mailbox);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                rendered.text.clone(),
                rendered.html.clone(),
            ))
            .map_err(|e| format!("message: {e}"))?;
        Ok((rendered, message))
    }
}

/// What one round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Claimed but not attempted (server unreachable, stop requested, lease running out).
    pub postponed: usize,
    /// Outcomes that could not be recorded because the claim had been taken over.
    pub lost_claims: usize,
}

#[derive(Clone, Debug)]
struct Outage {
    failures: u32,
    next_probe: DateTime<Utc>,
    error: String,
}

/// The delivery worker. Several may run against one PostgreSQL database; on SQLite run one.
pub struct Worker {
    /// Where the claims and outcomes are written (by default plain transactions on the pool).
    writer: Arc<dyn Writer>,
    mailer: Mailer,
    config: WorkerConfig,
    clock: Arc<dyn Clock>,
    /// The server was found unreachable: consecutive failed probes, when to probe next, why. Until
    /// then, claimed messages are postponed without a connection attempt. `None` once it answers.
    outage: Mutex<Option<Outage>>,
}

impl Worker {
    pub fn new(
        db: DatabaseConnection,
        mailer: Mailer,
        config: WorkerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            writer: Arc::new(db),
            mailer,
            config,
            clock,
            outage: Mutex::new(None),
        })
    }

    /// Writes the claims and outcomes through `writer` (the service's one writer) instead of plain
    /// transactions on the pool.
    pub fn with_writer(mut self, writer: Arc<dyn Writer>) -> Self {
        self.writer = writer;
        self
    }

    /// One round: claim a batch of due messages and try each once.
    pub async fn run_once(&self) -> Result<RoundReport, Error> {
        self.round(None).await
    }

    async fn round(&self, stop: Option<&watch::Receiver<bool>>) -> Result<RoundReport, Error> {
        let now = self.clock.now();
        let lease = Duration::seconds(self.config.lease_secs as i64);
        // one write transaction for the claim
        let claim = {
            let w = self.writer.begin().await?;
            let claim = outbox::claim(w.txn(), now, lease, self.config.batch_size as u64).await?;
            w.commit().await?;
            claim
        };
        let lease_until = now + lease;
        let timeout = StdDuration::from_secs(self.config.send_timeout_secs);
        let mut report = RoundReport {
            claimed: claim.rows.len(),
            ..RoundReport::default()
        };
        // a known outage: nothing is attempted before its next probe
        let mut postpone: Option<(DateTime<Utc>, String)> = self
            .outage
            .lock()
            .map_err(|_| Error::Corrupt("outage state poisoned".into()))?
            .clone()
            .filter(|o| o.next_probe > now)
            .map(|o| (o.next_probe, o.error));
        for chunk in claim.rows.chunks(self.config.concurrency) {
            // Decide for each row of the chunk: not attempted, not buildable, or sent concurrently.
            let mut outcomes: Vec<Option<Outcome>> = (0..chunk.len()).map(|_| None).collect();
            let mut subjects: Vec<Option<String>> = vec![None; chunk.len()];
            let mut sends = JoinSet::new();
            for (i, row) in chunk.iter().enumerate() {
                let now = self.clock.now();
                let stopping = stop.is_some_and(|s| *s.borrow());
                let lease_short =
                    now + Duration::seconds(self.config.send_timeout_secs as i64) >= lease_until;
                if let Some((at, why)) = &postpone {
                    report.postponed += 1;
                    outcomes[i] = Some(Outcome::Postponed {
                        at: *at,
                        error: format!("not attempted: {why}"),
                    });
                } else if stopping || lease_short {
                    report.postponed += 1;
                    outcomes[i] = Some(Outcome::Released { at: now });
                } else {
                    match self.mailer.build(row, now) {
                        Err(error) => {
                            report.failed += 1;
                            tracing::warn!(id = %row.id, %error, "mail cannot be built");
                            outcomes[i] = Some(Outcome::Failed { error });
                        }
                        Ok((rendered, message)) => {
                            subjects[i] = Some(rendered.subject);
                            let transport = self.mailer.transport.clone();
                            let secs = self.config.send_timeout_secs;
                            sends.spawn(async move {
                                let result =
                                    match tokio::time::timeout(timeout, transport.send(message))
                                        .await
                                    {
                                        Ok(r) => r,
                                        Err(_) => Err(SendError::Unreachable(format!(
                                            "no answer within {secs} s"
                                        ))),
                                    };
                                (i, result)
                            });
                        }
                    }
                }
            }
            while let Some(joined) = sends.join_next().await {
                let (i, result) = match joined {
                    Ok(r) => r,
                    Err(e) => {
                        // A panicking send task: its row keeps its lease and is retried after it.
                        tracing::error!(error = %e, "mail send task failed");
                        continue;
                    }
                };
                let row = &chunk[i];
                let now = self.clock.now();
                if !matches!(result, Err(SendError::Unreachable(_)))
                    && let Ok(mut o) = self.outage.lock()
                {
                    // the server answered
                    *o = None;
                }
                outcomes[i] = Some(match result {
                    Ok(()) => {
                        report.sent += 1;
                        Outcome::Sent
                    }
                    Err(SendError::Permanent(error)) => {
                        report.failed += 1;
                        Outcome::Failed { error }
                    }
                    Err(SendError::Transient(error))
                        if row.attempts >= self.config.max_attempts =>
                    {
                        report.failed += 1;
                        Outcome::Failed {
                            error: format!("gave up after {} attempts: {error}", row.attempts),
                        }
                    }
                    Err(SendError::Transient(error)) => {
                        report.retried += 1;
                        Outcome::Retry {
                            at: now + self.config.backoff(row.attempts),
                            error,
                        }
                    }
                    Err(SendError::Unreachable(error)) => {
                        // The server, not the message: no attempt counted, never `failed`; the next
                        // probe backs off per consecutive outage probe, capped so that mail resumes
                        // promptly once the server is back.
                        report.retried += 1;
                        let at = match &postpone {
                            Some((at, _)) => *at,
                            None => {
                                let mut o = self
                                    .outage
                                    .lock()
                                    .map_err(|_| Error::Corrupt("outage state poisoned".into()))?;
                                let failures = o.as_ref().map_or(0, |o| o.failures) + 1;
                                let at = now + self.config.outage_backoff(failures);
                                *o = Some(Outage {
                                    failures,
                                    next_probe: at,
                                    error: error.clone(),
                                });
                                at
                            }
                        };
                        postpone = Some((at, error.clone()));
                        Outcome::Postponed { at, error }
                    }
                });
            }
            // one write transaction for the chunk's outcomes
            let w = self.writer.begin().await?;
            for ((row, outcome), subject) in chunk.iter().zip(outcomes).zip(subjects) {
                let Some(outcome) = outcome else { continue };
                if let Outcome::Failed { error } | Outcome::Retry { error, .. } = &outcome {
                    tracing::info!(id = %row.id, attempts = row.attempts, %error, "mail not sent");
                }
                let recorded = outbox::complete(
                    w.txn(),
                    row.id,
                    claim.token,
                    self.clock.now(),
                    &self.mailer.message_id_for(row.id),
                    subject.as_deref(),
                    outcome,
                )
                .await?;
                if !recorded {
                    report.lost_claims += 1;
                    tracing::warn!(id = %row.id, "claim on mail was taken over before its outcome was recorded");
                }
            }
            w.commit().await?;
        }
        Ok(report)
    }

    /// Spawns the worker on the current Tokio runtime. It runs rounds until [`WorkerHandle::shutdown`]:
    /// immediately again after a busy round, otherwise after `poll_interval_ms` or a
    /// [`WorkerHandle::wake`]. Dropping the handle detaches the worker; it keeps running.
    pub fn spawn(self) -> WorkerHandle {
        let (stop_tx, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let wake_worker = wake.clone();
        let join = tokio::spawn(async move {
            let mut stop_rx = stop_rx;
            let poll = StdDuration::from_millis(self.config.poll_interval_ms);
            let yield_pause = StdDuration::from_millis(self.config.yield_pause_ms);
            loop {
                if *stop_rx.borrow() {
                    break;
                }
                let busy = match self.round(Some(&stop_rx)).await {
                    Ok(r) => r.claimed > 0 && r.postponed == 0 && r.retried == 0,
                    Err(e) => {
                        tracing::error!(error = %e, "mail worker round failed");
                        false
                    }
                };
                let pending = self.writer.pending();
                if self.config.yield_above_writes > 0 && pending >= self.config.yield_above_writes {
                    tracing::debug!(pending, "mail worker gives way to the application's writes");
                    tokio::select! {
                        _ = stop_rx.changed() => {}
                        _ = tokio::time::sleep(yield_pause) => {}
                    }
                    continue;
                }
                if busy {
                    continue;
                }
                tokio::select! {
                    changed = stop_rx.changed() => {
                        // The handle was dropped without `shutdown`: the worker stays detached (like a
                        // dropped `JoinHandle`) and keeps polling.
                        if changed.is_err() {
                            tokio::time::sleep(poll).await;
                        }
                    }
                    _ = tokio::time::sleep(poll) => {}
                    _ = wake_worker.notified() => {}
                }
            }
        });
        WorkerHandle {
            stop: stop_tx,
            wake,
            join,
        }
    }
}

/// Handle of a spawned worker.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    wake: Arc<Notify>,
    join: JoinHandle<()>,
}

impl WorkerHandle {
    /// Asks for a round now (e.g. after a commit that enqueued messages).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Graceful stop: the sends in progress finish, the rest of the batch goes back to the queue.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.join.await;
    }

    /// Kills the worker task at its current await point (simulates a crash; for tests).
    pub fn abort(&self) {
        self.join.abort();
    }

    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}
