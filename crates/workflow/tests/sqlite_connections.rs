//! SQLite: every pooled connection runs with the durability settings, not only the one that happened to
//! run a PRAGMA at start-up.

use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use workflow::store::Db;

mod support;
use support::ScratchFile;

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

/// The query planner stability guarantee of a connection, as SQLite reports it (`-1`: read, not set).
async fn qpsg(conn: &mut sea_orm::sqlx::SqliteConnection) -> i32 {
    let mut handle = conn.lock_handle().await.unwrap();
    let db = handle.as_raw_handle().as_ptr();
    let mut on: std::ffi::c_int = -1;
    // SAFETY: `db` is the open connection's handle, locked away from sqlx's worker thread by `handle`;
    // with -1 SQLite only writes the current setting into `on`.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            -1 as std::ffi::c_int,
            &mut on as *mut std::ffi::c_int,
        )
    };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK);
    on
}

/// Every pooled connection has stable plans: without them SQLite prepares a statement again each time
/// a `LIMIT ?` or an indexed column's parameter is bound anew (half of a bid submission's SQLite time).
#[tokio::test]
async fn every_pooled_sqlite_connection_keeps_its_plans_whatever_the_values() {
    let file = ScratchFile::new("qpsg");
    let db = Db::connect(&file.url(), 3).await.unwrap();
    db.migrate().await.unwrap();
    let pool = db.conn.get_sqlite_connection_pool();
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(pool.acquire().await.unwrap());
    }
    for c in &mut held {
        assert_eq!(qpsg(c).await, 1);
    }
    drop(held);
    db.conn.close().await.ok();
}
