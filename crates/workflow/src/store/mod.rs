//! Storage: the connection, every entity and every migration, in one place. The same code runs on SQLite
//! and PostgreSQL.

pub mod entities;
pub mod evaluation;
mod group;
pub mod migration;
pub mod stored;

pub use group::{DEFAULT_MAX_AGE as GROUP_COMMIT_MAX_AGE, MAX_ACTS as GROUP_COMMIT_MAX_ACTS};
pub use stored::{Stored, StoredName};

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection,
    DatabaseTransaction, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// What an act belongs to: a Province (its tenders, requests, bids and their timers) or the platform
/// (tokens, operators, Provinces themselves). It names the audit chain the act's entry goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    Province(uuid::Uuid),
    Platform,
}

impl Scope {
    /// The audit chain's key: the Province's id (hyphenated, lower case) or `platform`.
    pub fn key(&self) -> String {
        match self {
            Scope::Province(id) => id.to_string(),
            Scope::Platform => "platform".to_owned(),
        }
    }
}

impl Scope {
    /// The Province of a tender (its lots, bids, documents, seeds and timers belong to it).
    pub async fn of_tender<C: ConnectionTrait>(
        db: &C,
        tender_id: uuid::Uuid,
    ) -> Result<Scope, sea_orm::DbErr> {
        use sea_orm::{EntityTrait, QuerySelect};
        let province: Option<uuid::Uuid> = entities::tender::Entity::find_by_id(tender_id)
            .select_only()
            .column(entities::tender::Column::ProvinceId)
            .into_tuple()
            .one(db)
            .await?;
        province
            .map(Scope::Province)
            .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("tender {tender_id}")))
    }

    /// The Province of a lot's tender.
    pub async fn of_lot<C: ConnectionTrait>(
        db: &C,
        lot_id: uuid::Uuid,
    ) -> Result<Scope, sea_orm::DbErr> {
        use sea_orm::{EntityTrait, QuerySelect};
        let tender: Option<uuid::Uuid> = entities::lot::Entity::find_by_id(lot_id)
            .select_only()
            .column(entities::lot::Column::TenderId)
            .into_tuple()
            .one(db)
            .await?;
        match tender {
            Some(t) => Scope::of_tender(db, t).await,
            None => Err(sea_orm::DbErr::RecordNotFound(format!("lot {lot_id}"))),
        }
    }

    /// The Province of a bid's tender.
    pub async fn of_bid<C: ConnectionTrait>(
        db: &C,
        bid_id: uuid::Uuid,
    ) -> Result<Scope, sea_orm::DbErr> {
        use sea_orm::{EntityTrait, QuerySelect};
        let tender: Option<uuid::Uuid> = entities::bid::Entity::find_by_id(bid_id)
            .select_only()
            .column(entities::bid::Column::TenderId)
            .into_tuple()
            .one(db)
            .await?;
        match tender {
            Some(t) => Scope::of_tender(db, t).await,
            None => Err(sea_orm::DbErr::RecordNotFound(format!("bid {bid_id}"))),
        }
    }
}

impl Scope {
    /// The Province of a procurement request.
    pub async fn of_request<C: ConnectionTrait>(
        db: &C,
        request_id: uuid::Uuid,
    ) -> Result<Scope, sea_orm::DbErr> {
        use sea_orm::{EntityTrait, QuerySelect};
        let province: Option<uuid::Uuid> =
            entities::procurement_request::Entity::find_by_id(request_id)
                .select_only()
                .column(entities::procurement_request::Column::ProvinceId)
                .into_tuple()
                .one(db)
                .await?;
        province
            .map(Scope::Province)
            .ok_or_else(|| sea_orm::DbErr::RecordNotFound(format!("request {request_id}")))
    }

    /// The Province of an object named by kind (`tender`, `lot`, `bid`, `request`) and id: a timer's or a
    /// document's owner.
    pub async fn of_object<C: ConnectionTrait>(
        db: &C,
        kind: &str,
        id: uuid::Uuid,
    ) -> Result<Scope, sea_orm::DbErr> {
        match kind {
            "tender" => Scope::of_tender(db, id).await,
            "lot" => Scope::of_lot(db, id).await,
            "bid" => Scope::of_bid(db, id).await,
            "request" => Scope::of_request(db, id).await,
            "municipality" => Scope::of_column::<entities::municipality::Entity, _>(
                db,
                id,
                entities::municipality::Column::ProvinceId,
            )
            .await
            .map(Scope::Province),
            "clarification" => {
                let t = Scope::of_column::<entities::clarification::Entity, _>(
                    db,
                    id,
                    entities::clarification::Column::TenderId,
                )
                .await?;
                Scope::of_tender(db, t).await
            }
            other => Err(sea_orm::DbErr::Custom(format!(
                "no Province for an object of kind {other}"
            ))),
        }
    }
}

impl Scope {
    /// One uuid column of the row `id` of entity `E`.
    async fn of_column<E, C>(
        db: &C,
        id: uuid::Uuid,
        col: E::Column,
    ) -> Result<uuid::Uuid, sea_orm::DbErr>
    where
        E: sea_orm::EntityTrait,
        <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<uuid::Uuid>,
        C: ConnectionTrait,
    {
        use sea_orm::QuerySelect;
        let v: Option<uuid::Uuid> = E::find_by_id(id)
            .select_only()
            .column(col)
            .into_tuple()
            .one(db)
            .await?;
        v.ok_or_else(|| {
            sea_orm::DbErr::RecordNotFound(format!("{} {id}", E::default().table_name()))
        })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// The connection pool plus the write locks.
///
/// Every mutating request runs in one transaction taken through [`Db::write`] with the [`Scope`] of its act:
/// - **PostgreSQL**: writes are serialised per scope, not globally: an in-process lock per scope (so a
///   waiting request holds no pooled connection) and a transaction-scoped advisory lock whose key is derived
///   from the scope ([`Scope::lock_key`]), so that replicas serialise the writes of one Province (and the
///   appends to its audit chain) while other Provinces write in parallel.
/// - **SQLite** allows one writer: one in-process writer whatever the scope, with **group commit**
///   (`group.rs`): the writer keeps one `BEGIN IMMEDIATE` transaction open across acts, each act runs in a
///   SAVEPOINT of it (a failing act rolls back to its savepoint only), and one COMMIT (one fsync,
///   `synchronous=FULL`) makes the batch durable when no act is waiting, or at
///   [`GROUP_COMMIT_MAX_ACTS`] acts, or after [`GROUP_COMMIT_MAX_AGE`]. [`WriteTxn::commit`] returns
///   only after that COMMIT: a request is answered once its act is on disk, and a failed COMMIT fails
///   every act of the batch.
#[derive(Clone)]
pub struct Db {
    pub conn: DatabaseConnection,
    locks: Arc<WriteLocks>,
    /// How many write transactions this process committed: readers that cache what they read (the
    /// public pages) compare it to know whether a write happened since.
    writes: Arc<AtomicU64>,
}

/// The in-process write locks: one per scope (PostgreSQL) or the one group-committing writer (SQLite).
#[derive(Default)]
struct WriteLocks {
    group: Arc<group::Group>,
    per_scope: std::sync::Mutex<HashMap<Scope, Arc<Mutex<()>>>>,
    /// Write acts of this process begun (waiting for their lock or running) and not yet ended.
    pending: AtomicUsize,
}

/// A write transaction; commit it with [`WriteTxn::commit`]. Dropping it rolls back (on SQLite: to its
/// savepoint in the batch).
pub struct WriteTxn {
    /// The act's transaction (on SQLite a savepoint in the writer's batch). Dropped before `hold`.
    pub txn: DatabaseTransaction,
    scope: Scope,
    hold: Hold,
    writes: Arc<AtomicU64>,
    _pending: Pending,
}

/// Counts a write act in [`WriteLocks::pending`] from the moment it asks for its lock until it ends.
struct Pending(Arc<WriteLocks>);

impl Pending {
    fn new(locks: &Arc<WriteLocks>) -> Self {
        locks.pending.fetch_add(1, Ordering::SeqCst);
        Pending(locks.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a write transaction holds until it ends.
enum Hold {
    /// PostgreSQL: the scope's in-process lock.
    Lock(OwnedMutexGuard<()>),
    /// SQLite: the writer, in a batch.
    Batch(group::Slot),
}

impl WriteTxn {
    /// The scope this transaction holds the lock of: its act's audit chain.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Commit, then count the write: a cache of what was read before ([`Db::writes`]) is stale. On
    /// SQLite: release the act's savepoint, let the next act in, and return once the batch's COMMIT is
    /// done (its error if it failed: nothing of this act is then visible).
    pub async fn commit(self) -> Result<(), sea_orm::DbErr> {
        let WriteTxn {
            txn, hold, writes, ..
        } = self;
        match hold {
            Hold::Lock(guard) => {
                let done = txn.commit().await;
                writes.fetch_add(1, Ordering::SeqCst);
                drop(guard);
                done
            }
            Hold::Batch(mut slot) => {
                // RELEASE SAVEPOINT; on error the savepoint is rolled back and the slot ends the act
                txn.commit().await?;
                let outcome = slot.released();
                drop(slot);
                let outcome = outcome.ok_or_else(|| {
                    sea_orm::DbErr::Custom("the write's batch was gone at its release".to_owned())
                })?;
                group::durable(outcome).await?;
                writes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        }
    }
}

/// Advisory lock class of the write path (the first key of the two-key form; "SUA" in ASCII).
const PG_WRITE_LOCK_CLASS: i32 = 0x0053_5541;

impl Scope {
    /// The second key of the scope's PostgreSQL advisory lock: 0 for the platform, else 32 bits of the
    /// SHA-256 of the Province's id (two Provinces sharing a key only wait for each other; never wrong).
    pub fn lock_key(&self) -> i32 {
        use sha2::Digest;
        match self {
            Scope::Platform => 0,
            Scope::Province(id) => {
                let d = sha2::Sha256::digest(id.as_bytes());
                i32::from_be_bytes([d[0], d[1], d[2], d[3]]) | 1
            }
        }
    }
}

/// On PostgreSQL, take (until the transaction ends) the advisory lock of `scope` in transaction `db`:
/// re-entrant, and a no-op on SQLite (one writer). [`Db::write`] takes it at BEGIN; the audit log takes it
/// again before appending to a chain, so (chain, seq) stays linear even for an act that names another
/// scope's chain.
pub async fn lock_scope<C: ConnectionTrait>(db: &C, scope: Scope) -> Result<(), sea_orm::DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        db.execute_unprepared(&format!(
            "SELECT pg_advisory_xact_lock({PG_WRITE_LOCK_CLASS}, {})",
            scope.lock_key()
        ))
        .await?;
    }
    Ok(())
}

/// How long a SQLite connection waits for another connection's write lock before `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// SQLite's query planner stability guarantee (`SQLITE_DBCONFIG_ENABLE_QPSG`) on a new connection: a
/// statement's plan no longer depends on the values bound to it. Without it, SQLite marks a statement to
/// be prepared again whenever a parameter that could change its plan is bound anew, even to the same
/// value: every `LIMIT ?` (each sea-orm `.one()`), and with the `sqlite_stat4` samples of `ANALYZE` every
/// parameter compared with an indexed column. On the write path that re-prepared nearly every statement:
/// half of the SQLite time of a bid submission (perf, bench/README.md, session 8). Our plans do not
/// need the values: where a value's frequency matters (the rarest search word) the code counts it first
/// (`published::title_condition`).
async fn stable_plans(
    conn: &mut sea_orm::sqlx::SqliteConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    // SAFETY: `db` is the open connection's handle, locked away from sqlx's worker thread for the
    // duration of the call by `handle`; SQLITE_DBCONFIG_ENABLE_QPSG takes an int (1: on) and an
    // `int*` where it may write the new setting, here null (SQLite then writes nothing).
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as std::ffi::c_int,
            std::ptr::null_mut::<std::ffi::c_int>(),
        )
    };
    if rc != libsqlite3_sys::SQLITE_OK {
        return Err(sea_orm::sqlx::Error::Configuration(
            format!("SQLite refused the query planner stability guarantee (code {rc})").into(),
        ));
    }
    Ok(())
}

impl Db {
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        if let Some(path) = sqlite_file_path(url)
            && let Some(dir) = std::path::Path::new(&path).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!(
                    "database.url: cannot create directory {}: {e}",
                    dir.display()
                )
            })?;
        }
        let mut opts = ConnectOptions::new(url.to_owned());
        opts.max_connections(max_connections.max(1))
            .min_connections(1)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            // SQLite: on every pooled connection (a PRAGMA run once would set one connection only). WAL
            // lets readers proceed while one writer writes; FULL: a commit is on disk (fsync of the WAL)
            // before it returns, so an acknowledged write survives a power cut; a writer that finds the
            // database locked waits up to the busy timeout instead of failing at once.
            .map_sqlx_sqlite_opts(|o| {
                use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
                o.journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(SQLITE_BUSY_TIMEOUT)
                    // the savepoint of each act (group commit) journals the pages it changes: in
                    // memory, not in a temporary file written for every act
                    .pragma("temp_store", "memory")
            })
            .map_sqlx_sqlite_pool_opts(|o| {
                o.after_connect(|conn, _| Box::pin(async move { stable_plans(conn).await }))
            });
        let conn = Database::connect(opts)
            .await
            .map_err(|e| anyhow::anyhow!("database.url: cannot connect: {e}"))?;
        Ok(Db {
            conn,
            locks: Arc::default(),
            writes: Arc::default(),
        })
    }

    /// The count of committed write transactions (shared by the clones of this `Db`).
    pub fn writes(&self) -> Arc<AtomicU64> {
        self.writes.clone()
    }

    pub fn backend(&self) -> DatabaseBackend {
        self.conn.get_database_backend()
    }

    /// Apply the migrations; on SQLite, refresh the planner's statistics (bounded by `analysis_limit`):
    /// without them SQLite cannot tell a rare search word from a state every tender shares
    /// (PostgreSQL's autovacuum keeps its own).
    pub async fn migrate(&self) -> Result<(), sea_orm::DbErr> {
        migration::Migrator::up(&self.conn, None).await?;
        if self.backend() == DatabaseBackend::Sqlite {
            self.conn
                .execute_unprepared("PRAGMA analysis_limit=1000; ANALYZE;")
                .await?;
        }
        Ok(())
    }

    /// A write transaction for an act of `scope` (the Province it belongs to, or the platform): the
    /// scope's locks are held until commit or drop. Audit entries appended in it go to `scope`'s chain.
    pub async fn write(&self, scope: Scope) -> Result<WriteTxn, sea_orm::DbErr> {
        let pending = Pending::new(&self.locks);
        if self.backend() != DatabaseBackend::Postgres {
            let (txn, slot) = self.locks.group.begin(&self.conn).await?;
            return Ok(WriteTxn {
                txn,
                scope,
                hold: Hold::Batch(slot),
                writes: self.writes.clone(),
                _pending: pending,
            });
        }
        let lock = {
            let mut map = self
                .locks
                .per_scope
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            map.entry(scope).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        let txn = self.conn.begin().await?;
        lock_scope(&txn, scope).await?;
        Ok(WriteTxn {
            txn,
            scope,
            hold: Hold::Lock(guard),
            writes: self.writes.clone(),
            _pending: pending,
        })
    }

    /// SQLite: how long a group-commit batch stays open at most (default [`GROUP_COMMIT_MAX_AGE`]).
    pub fn set_group_commit_max_age(&self, age: Duration) {
        self.locks.group.set_max_age(age);
    }

    /// Write acts of this process begun and not yet ended (waiting for their lock or running): how busy
    /// the write path is, for background work that should give way to it (the mail worker).
    pub fn pending_writes(&self) -> usize {
        self.locks.pending.load(Ordering::SeqCst)
    }

    /// SQLite: how many group-commit batches this process committed.
    pub fn group_commits(&self) -> u64 {
        self.locks.group.commits()
    }

    /// Readiness probe: a trivial query.
    pub async fn ping(&self) -> Result<(), sea_orm::DbErr> {
        self.conn.execute_unprepared("SELECT 1").await.map(|_| ())
    }
}

/// The mail worker's claims and outcomes: on SQLite through [`Db::write`] (platform scope), so that no
/// write bypasses the one writer; on PostgreSQL plain transactions (its claim skips the rows another
/// replica has locked, and needs no scope lock).
impl notify::Writer for Db {
    fn pending(&self) -> usize {
        self.pending_writes()
    }

    fn begin(&self) -> notify::writer::WriteFuture<'_, Box<dyn notify::WriteSession>> {
        Box::pin(async move {
            if self.backend() == DatabaseBackend::Postgres {
                return notify::Writer::begin(&self.conn).await;
            }
            let w = self.write(Scope::Platform).await?;
            Ok(Box::new(w) as Box<dyn notify::WriteSession>)
        })
    }
}

impl notify::WriteSession for WriteTxn {
    fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }
    fn commit(self: Box<Self>) -> notify::writer::WriteFuture<'static, ()> {
        Box::pin(WriteTxn::commit(*self))
    }
}

/// The file behind a `sqlite:` URL, if it names one (not `:memory:`).
fn sqlite_file_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        None
    } else {
        Some(path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_file_path;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file_path("sqlite://data/sua.db?mode=rwc").as_deref(),
            Some("data/sua.db")
        );
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
        assert_eq!(sqlite_file_path("postgres://x/y"), None);
    }
}
