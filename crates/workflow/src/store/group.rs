//! SQLite group commit: the one writer keeps one outer `BEGIN IMMEDIATE` transaction open across acts;
//! each act runs in a SAVEPOINT of it (a nested transaction), and one COMMIT (one fsync of the WAL) makes
//! a whole batch durable.
//!
//! - An act takes the writer (the mutex around [`Batch`]), opens the batch if none is open, and runs in
//!   its own savepoint. An act that fails or is dropped rolls back to its savepoint only.
//! - [`super::WriteTxn::commit`] releases the savepoint, lets the next act in, then waits for the
//!   batch's COMMIT: the caller learns of its act only once it is on disk.
//! - The batch commits as soon as no act is waiting for the writer, or when it holds [`MAX_ACTS`] acts,
//!   or when it is older than the age limit (10 ms by default; a timer commits it even if no act ends).
//!   The COMMIT runs in its own task, holding the writer until it is done, so a caller that goes away
//!   cannot interrupt it.
//! - A failed COMMIT fails every act of the batch: each caller gets the error, and SQLite rolls the
//!   whole transaction back, so nothing they wrote is visible.

use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// Acts in one batch at most.
pub const MAX_ACTS: usize = 256;
/// How long a batch stays open at most, by default.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_millis(10);

/// What a batch's COMMIT gave: `None` while it is open or committing.
type Outcome = Option<Result<(), String>>;

/// The writer's state: the open batch, if any.
#[derive(Default)]
pub(super) struct Batch {
    open: Option<Open>,
    generation: u64,
}

struct Open {
    outer: DatabaseTransaction,
    /// Acts whose savepoint was released into the batch.
    acts: usize,
    opened: Instant,
    generation: u64,
    done: watch::Sender<Outcome>,
}

/// The SQLite writer: one batch at a time.
pub(super) struct Group {
    batch: Arc<Mutex<Batch>>,
    /// Acts waiting for the writer.
    waiting: AtomicUsize,
    /// The age limit of a batch, in microseconds.
    max_age_us: AtomicU64,
    /// COMMITs that succeeded.
    commits: AtomicU64,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            batch: Arc::default(),
            waiting: AtomicUsize::new(0),
            max_age_us: AtomicU64::new(DEFAULT_MAX_AGE.as_micros() as u64),
            commits: AtomicU64::new(0),
        }
    }
}

/// Counts an act waiting for the writer while it exists (also when the waiting future is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(n: &'a AtomicUsize) -> Self {
        n.fetch_add(1, Ordering::SeqCst);
        Waiting(n)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An act's hold on the writer. Dropping it (after the act's savepoint was released or rolled back)
/// commits the batch or lets the next act in.
pub(super) struct Slot {
    group: Arc<Group>,
    guard: Option<OwnedMutexGuard<Batch>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            self.group.finish(guard);
        }
    }
}

impl Slot {
    /// Count the act's released savepoint in its batch; the receiver learns the batch's outcome.
    pub(super) fn released(&mut self) -> Option<watch::Receiver<Outcome>> {
        let open = self.guard.as_mut()?.open.as_mut()?;
        open.acts += 1;
        Some(open.done.subscribe())
    }
}

impl Group {
    pub(super) fn max_age(&self) -> Duration {
        Duration::from_micros(self.max_age_us.load(Ordering::Relaxed))
    }

    pub(super) fn set_max_age(&self, age: Duration) {
        self.max_age_us
            .store(age.as_micros() as u64, Ordering::Relaxed);
    }

    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::SeqCst)
    }

    /// Take the writer and open a savepoint in the open batch (opening one if needed).
    pub(super) async fn begin(
        self: &Arc<Self>,
        conn: &DatabaseConnection,
    ) -> Result<(DatabaseTransaction, Slot), DbErr> {
        let guard = {
            let _waiting = Waiting::new(&self.waiting);
            self.batch.clone().lock_owned().await
        };
        let mut slot = Slot {
            group: self.clone(),
            guard: Some(guard),
        };
        let batch = slot.guard.as_mut().expect("just taken");
        if batch.open.is_none() {
            // the write lock at BEGIN (IMMEDIATE): never a lock upgrade that could fail with SQLITE_BUSY
            let outer = conn
                .begin_with_options(sea_orm::TransactionOptions {
                    sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
                    ..Default::default()
                })
                .await?;
            batch.generation += 1;
            let generation = batch.generation;
            batch.open = Some(Open {
                outer,
                acts: 0,
                opened: Instant::now(),
                generation,
                done: watch::channel(None).0,
            });
            self.arm_timer(generation);
        }
        let open = batch.open.as_ref().expect("opened above");
        let savepoint = open.outer.begin().await?;
        Ok((savepoint, slot))
    }

    /// Commit the batch `generation` when it reaches the age limit, if it is still open then (its acts
    /// may all have ended with other acts waiting, and those have gone away).
    fn arm_timer(self: &Arc<Self>, generation: u64) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let group = Arc::downgrade(self);
        let age = self.max_age();
        rt.spawn(async move {
            tokio::time::sleep(age).await;
            let Some(group) = group.upgrade() else { return };
            let guard = group.batch.clone().lock_owned().await;
            if guard
                .open
                .as_ref()
                .is_some_and(|o| o.generation == generation)
            {
                group.commit(guard).await;
            }
        });
    }

    /// An act is done with the writer: commit the batch now if no act is waiting, or it is full, or old
    /// enough; else let the next act in.
    fn finish(self: &Arc<Self>, guard: OwnedMutexGuard<Batch>) {
        let Some(open) = guard.open.as_ref() else {
            return;
        };
        let now = self.waiting.load(Ordering::SeqCst) == 0
            || open.acts >= MAX_ACTS
            || open.opened.elapsed() >= self.max_age();
        if !now {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            // in its own task: a caller that goes away cannot interrupt a COMMIT
            Ok(rt) => {
                let group = self.clone();
                rt.spawn(async move { group.commit(guard).await });
            }
            // no runtime (shutting down): the batch rolls back when the outer transaction is dropped
            Err(_) => drop(guard),
        }
    }

    /// COMMIT the open batch, holding the writer until it is done, and tell its acts.
    async fn commit(&self, mut guard: OwnedMutexGuard<Batch>) {
        let Some(open) = guard.open.take() else {
            return;
        };
        let done = open.done;
        let result = open.outer.commit().await;
        if result.is_ok() {
            self.commits.fetch_add(1, Ordering::SeqCst);
        } else {
            // the outer transaction was dropped uncommitted: its ROLLBACK is queued on the connection
            // before any later statement
            tracing::error!(error = ?result, acts = open.acts, "group commit failed");
        }
        done.send_replace(Some(result.map_err(|e| e.to_string())));
        drop(guard);
    }
}

/// Wait for the outcome of the batch an act was released into.
pub(super) async fn durable(mut rx: watch::Receiver<Outcome>) -> Result<(), DbErr> {
    match rx.wait_for(Option::is_some).await {
        Ok(outcome) => match outcome.as_ref().expect("waited for Some") {
            Ok(()) => Ok(()),
            Err(e) => Err(DbErr::Custom(format!(
                "the batch this write was part of failed to commit: {e}"
            ))),
        },
        Err(_) => Err(DbErr::Custom(
            "the batch this write was part of was dropped before its commit".to_owned(),
        )),
    }
}
