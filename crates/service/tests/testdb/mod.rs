//! A migrated test database: a temporary SQLite file, or a fresh PostgreSQL database next to
//! `SUA_TEST_DATABASE_URL` (dropped by `drop_pg`). Shared by the storage and reminders tests.
#![allow(dead_code)] // not every test uses every field

use sea_orm::{ConnectionTrait, Database};
use service::db::Db;
use uuid::Uuid;

pub struct TestDb {
    pub db: Db,
    pub url: String,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub async fn drop_pg(self) {
        let TestDb { db, pg, .. } = self;
        db.conn.close().await.ok();
        if let Some((base, name)) = pg {
            let admin = Database::connect(&base).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .ok();
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

pub async fn postgres() -> Option<TestDb> {
    let base = std::env::var("SUA_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())?;
    let name = format!("sua_test_{}", Uuid::new_v4().simple());
    let admin = Database::connect(&base).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.ok();
    let url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let db = Db::connect(&url, 4).await.unwrap();
    db.migrate().await.unwrap();
    Some(TestDb {
        db,
        url,
        _dir: tempfile::tempdir().unwrap(),
        pg: Some((base, name)),
    })
}
