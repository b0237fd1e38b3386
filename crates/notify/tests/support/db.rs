//! Databases for the tests: a fresh SQLite file, or a fresh PostgreSQL database when
//! `SUA_TEST_DATABASE_URL` is set.

use sea_orm::{Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

pub struct TestDb {
    pub db: DatabaseConnection,
    _dir: Option<tempfile::TempDir>,
    pg: Option<testkit::pg::ScratchPg>,
}

pub async fn sqlite() -> TestDb {
    // A RAM-backed directory when there is one: each commit is an fsync, and the tests commit a lot.
    let dir = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("outbox.db").display()
    );
    let db = Database::connect(&url).await.unwrap();
    notify::Migrator::up(&db, None).await.unwrap();
    TestDb {
        db,
        _dir: Some(dir),
        pg: None,
    }
}

/// A fresh database `notify_test_<uuid>` on the server of `SUA_TEST_DATABASE_URL`, migrated; dropped by
/// [`TestDb::cleanup`]. Panics when the variable is unset (the tests that call this are ignored then).
pub async fn postgres() -> TestDb {
    let pg = testkit::pg::ScratchPg::create("notify_test").await;
    let db = Database::connect(&pg.url).await.unwrap();
    notify::Migrator::up(&db, None).await.unwrap();
    TestDb {
        db,
        _dir: None,
        pg: Some(pg),
    }
}

impl TestDb {
    pub fn url_for_second_connection(&self) -> Option<String> {
        self.pg.as_ref().map(|pg| pg.url.clone())
    }

    pub async fn cleanup(self) {
        let TestDb { db, pg, .. } = self;
        db.close().await.unwrap();
        if let Some(pg) = pg {
            pg.drop_db().await;
        }
    }
}
