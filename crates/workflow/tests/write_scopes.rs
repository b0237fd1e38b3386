//! Writes are serialised per scope (Province or platform), not globally: on PostgreSQL a write of one
//! Province proceeds while another Province's write transaction is open; a second write of the same
//! Province waits for the first to end.

use std::time::Duration;
use uuid::Uuid;
use workflow::store::{Db, Scope};

/// A scratch database on the server of `SUA_TEST_DATABASE_URL`.
async fn scratch_pg() -> (String, String, String) {
    use sea_orm::{ConnectionTrait, Database};
    let server = std::env::var("SUA_TEST_DATABASE_URL").expect(
        "this test needs PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    );
    let name = format!("write_scopes_{}", Uuid::now_v7().simple());
    let admin = Database::connect(&server).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.ok();
    let base = server.rsplit_once('/').unwrap().0;
    (format!("{base}/{name}"), server, name)
}

async fn drop_pg(server: &str, name: &str) {
    use sea_orm::{ConnectionTrait, Database};
    let admin = Database::connect(server).await.unwrap();
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
    admin.close().await.ok();
}

#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn a_write_of_one_province_does_not_wait_for_another_provinces_on_postgres() {
    let (url, server, name) = scratch_pg().await;
    // two `Db`s: two replicas, so only the advisory locks can serialise them
    let r1 = Db::connect(&url, 4).await.unwrap();
    r1.migrate().await.unwrap();
    let r2 = Db::connect(&url, 4).await.unwrap();
    let (a, b) = (
        Scope::Province(Uuid::now_v7()),
        Scope::Province(Uuid::now_v7()),
    );
    assert_ne!(a.lock_key(), b.lock_key());
    let held = r1.write(a).await.unwrap();
    // another Province, on the other replica: at once
    let other = tokio::time::timeout(Duration::from_secs(2), r2.write(b))
        .await
        .expect("a write of another Province must not wait")
        .unwrap();
    other.commit().await.unwrap();
    // the platform too
    let platform = tokio::time::timeout(Duration::from_secs(2), r2.write(Scope::Platform))
        .await
        .expect("a platform write must not wait for a Province's")
        .unwrap();
    drop(platform);
    // the same Province on the other replica waits for the first transaction to end
    let same = tokio::spawn(async move {
        let w = r2.write(a).await.unwrap();
        w.commit().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !same.is_finished(),
        "a second write of the same Province must wait"
    );
    held.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), same)
        .await
        .expect("it proceeds once the first commits")
        .unwrap();
    r1.conn.close().await.ok();
    drop_pg(&server, &name).await;
}

#[tokio::test]
async fn on_sqlite_every_write_takes_the_one_writer_lock() {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    db.migrate().await.unwrap();
    let (a, b) = (
        Scope::Province(Uuid::now_v7()),
        Scope::Province(Uuid::now_v7()),
    );
    let held = db.write(a).await.unwrap();
    assert_eq!(held.scope(), a);
    let db2 = db.clone();
    let other = tokio::spawn(async move { db2.write(b).await.map(|w| w.scope()) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!other.is_finished(), "SQLite has one writer");
    drop(held);
    assert_eq!(other.await.unwrap().unwrap(), b);
}
