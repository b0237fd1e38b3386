//! Scratch PostgreSQL databases: each test creates its own uniquely named database on the server of
//! `SUA_TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`) and drops it at the end.
//!
//! Tests that need PostgreSQL are not skipped silently when the variable is unset: the crates that have
//! them carry a build script that sets `cfg(sua_pg)` when the variable is set at build time, and those
//! tests are marked `#[cfg_attr(not(sua_pg), ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=...")]`,
//! so cargo counts them as ignored. A PostgreSQL test that runs anyway without the variable (with
//! `--ignored`) panics saying so.

use sea_orm::{ConnectionTrait, Database};

/// The environment variable naming the PostgreSQL server the tests may create databases on.
pub const ENV: &str = "SUA_TEST_DATABASE_URL";

/// The server URL from `SUA_TEST_DATABASE_URL`, if set and not empty.
pub fn server_url() -> Option<String> {
    std::env::var(ENV).ok().filter(|s| !s.is_empty())
}

/// The server URL from `SUA_TEST_DATABASE_URL`; panics with what to set when it is not.
pub fn require_server_url() -> String {
    server_url().unwrap_or_else(|| {
        panic!(
            "this test needs PostgreSQL: set {ENV}=postgres://postgres@127.0.0.1:5432/test \
             (without it, the PostgreSQL tests are built as ignored)"
        )
    })
}

/// A fresh database `<prefix>_<uuid>` on a PostgreSQL server; [`drop_db`](Self::drop_db) drops it.
#[derive(Debug)]
pub struct ScratchPg {
    /// The URL of the new database (the server URL with its database name replaced).
    pub url: String,
    /// The new database's name.
    pub name: String,
    server_url: String,
}

impl ScratchPg {
    /// Creates a database on the server of `SUA_TEST_DATABASE_URL`; panics when it is unset.
    pub async fn create(prefix: &str) -> ScratchPg {
        Self::create_on(&require_server_url(), prefix).await
    }

    /// Creates a database on the server of `server_url` (`postgres://user@host:port/anydb`).
    pub async fn create_on(server_url: &str, prefix: &str) -> ScratchPg {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(server_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {ENV} ({server_url}): {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
        admin.close().await.ok();
        ScratchPg {
            url: database_url(server_url, &name),
            name,
            server_url: server_url.to_owned(),
        }
    }

    /// Drops the database, closing any connection still open to it (best effort: a failure to drop a
    /// scratch database does not fail the test).
    pub async fn drop_db(self) {
        if let Ok(admin) = Database::connect(&self.server_url).await {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await;
            admin.close().await.ok();
        }
    }
}

/// `server_url` with its database name replaced by `name`.
pub fn database_url(server_url: &str, name: &str) -> String {
    let (base, _) = server_url
        .rsplit_once('/')
        .unwrap_or_else(|| panic!("{ENV} must end with /<database>: {server_url}"));
    format!("{base}/{name}")
}
