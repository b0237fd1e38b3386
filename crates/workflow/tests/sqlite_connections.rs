//! SQLite: every pooled connection runs with the durability settings, not only the one that happened to
//! run a PRAGMA at start-up.

use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use workflow::store::Db;

/// A scratch SQLite file (removed with its WAL at the end).
struct ScratchFile(std::path::PathBuf);

impl ScratchFile {
    fn new(tag: &str) -> Self {
        Self(std::env::temp_dir().join(format!("sua_{tag}_{}.db", uuid::Uuid::now_v7().simple())))
    }
    fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.display())
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", self.0.display()));
        }
    }
}

async fn pragma<C: ConnectionTrait>(c: &C, name: &str) -> String {
    let row = c
        .query_one_raw(Statement::from_string(
            c.get_database_backend(),
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0)
        .map(|v| v.to_string())
        .or_else(|_| row.try_get_by_index::<String>(0))
        .unwrap()
}

#[tokio::test]
async fn every_pooled_sqlite_connection_is_durable_in_wal_with_a_busy_timeout() {
    let file = ScratchFile::new("pragmas");
    let db = Db::connect(&file.url(), 5).await.unwrap();
    db.migrate().await.unwrap();
    // five transactions open at once hold five different connections of the pool
    let mut open = Vec::new();
    for _ in 0..5 {
        open.push(db.conn.begin().await.unwrap());
    }
    let mut ids = std::collections::HashSet::new();
    for txn in &open {
        // 2 = FULL: the WAL is synced at every commit
        assert_eq!(pragma(txn, "synchronous").await, "2");
        assert_eq!(pragma(txn, "journal_mode").await.to_lowercase(), "wal");
        assert_eq!(pragma(txn, "busy_timeout").await, "10000");
        // 2 = MEMORY: a savepoint's journal is not a temporary file
        assert_eq!(pragma(txn, "temp_store").await, "2");
        // each transaction is on its own connection: a temp table is per connection
        let n = ids.len();
        txn.execute_unprepared(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS conn_tag(x); INSERT INTO conn_tag VALUES ({n})"
        ))
        .await
        .unwrap();
        let tag = txn
            .query_one_raw(Statement::from_string(
                txn.get_database_backend(),
                "SELECT count(*) FROM conn_tag".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<i64>(0)
            .unwrap();
        assert_eq!(tag, 1, "a connection seen twice");
        ids.insert(n);
    }
    assert_eq!(ids.len(), 5);
    drop(open);
    db.conn.close().await.ok();
}

async fn count(db: &Db, sql: &str) -> i64 {
    db.conn
        .query_one_raw(Statement::from_string(db.backend(), sql.to_owned()))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// The planner keeps its per-index statistics after the start-up `ANALYZE`, but no value samples: with
/// them, SQLite re-prepares every statement whose parameter meets an indexed column at each new value.
#[tokio::test]
async fn start_up_analysis_keeps_index_statistics_without_value_samples() {
    let file = ScratchFile::new("analyze");
    let db = Db::connect(&file.url(), 2).await.unwrap();
    db.migrate().await.unwrap();
    db.conn
        .execute_unprepared(
            "CREATE TABLE probe(a INTEGER, b TEXT); CREATE INDEX probe_a ON probe(a);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO probe SELECT i % 7, 'x' || i FROM n;",
        )
        .await
        .unwrap();
    // the next start analyses the rows now there
    db.migrate().await.unwrap();
    assert!(
        count(
            &db,
            "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'probe_a'"
        )
        .await
            == 1,
        "the index's statistics are kept"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM sqlite_stat4").await, 0);
    db.conn.close().await.ok();
}
