//! A migrated test database: a temporary SQLite file, or a fresh PostgreSQL database next to
//! `SUA_TEST_DATABASE_URL` (dropped by `drop_pg`). Shared by the storage and reminders tests.
#![allow(dead_code)] // not every test uses every field

use service::db::Db;

pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: tempfile::TempDir,
    pg: Option<testkit::pg::ScratchPg>,
}

impl TestDb {
    pub async fn drop_pg(self) {
        let TestDb { db, pg, .. } = self;
        db.conn.close().await.ok();
        if let Some(pg) = pg {
            pg.drop_db().await;
        }
    }
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = Db::connect(&url, 4).await.unwrap();
    db.migrate().await.unwrap();
    TestDb {
        db,
        url,
        _dir: dir,
        pg: None,
    }
}

/// A fresh, migrated database on the server of `SUA_TEST_DATABASE_URL`; panics when it is unset (the
/// tests that call this are ignored then).
pub async fn postgres() -> TestDb {
    let pg = testkit::pg::ScratchPg::create("sua_test").await;
    let url = pg.url.clone();
    let db = Db::connect(&url, 4).await.unwrap();
    db.migrate().await.unwrap();
    TestDb {
        db,
        url,
        _dir: tempfile::tempdir().unwrap(),
        pg: Some(pg),
    }
}
