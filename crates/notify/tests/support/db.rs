//! Databases for the tests: a fresh SQLite file, or a fresh PostgreSQL database when
//! `SUA_TEST_DATABASE_URL` is set.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;

pub struct TestDb {
    pub db: DatabaseConnection,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
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
        drop_pg: None,
    }
}

/// A fresh database `notify_test_<uuid>` on the server of `SUA_TEST_DATABASE_URL`, migrated; dropped by
/// [`TestDb::cleanup`]. `None` (and a printed "skipped") when the variable is unset.
pub async fn postgres(test: &str) -> Option<TestDb> {
    let Ok(admin_url) = std::env::var("SUA_TEST_DATABASE_URL") else {
        println!("skipped {test}: SUA_TEST_DATABASE_URL is not set");
        return None;
    };
    let name = format!("notify_test_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("SUA_TEST_DATABASE_URL ends with /<database>");
    let url = format!("{base}/{name}");
    let db = Database::connect(&url).await.unwrap();
    notify::Migrator::up(&db, None).await.unwrap();
    Some(TestDb {
        db,
        _dir: None,
        drop_pg: Some((admin_url, name)),
    })
}

impl TestDb {
    pub fn url_for_second_connection(&self) -> Option<String> {
        let (admin_url, name) = self.drop_pg.as_ref()?;
        let (base, _) = admin_url.rsplit_once('/')?;
        Some(format!("{base}/{name}"))
    }

    pub async fn cleanup(self) {
        let TestDb { db, drop_pg, .. } = self;
        db.close().await.unwrap();
        if let Some((admin_url, name)) = drop_pg {
            let admin = Database::connect(&admin_url).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .unwrap();
        }
    }
}
