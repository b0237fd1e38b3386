//! SQLite group commit: acts that wait for the writer share one COMMIT; each is acknowledged only once
//! that COMMIT is done; a failing act rolls back alone; a failing COMMIT fails every act of its batch.

use sea_orm::{ConnectionTrait, Statement};
use std::sync::atomic::Ordering;
use std::time::Duration;
use workflow::store::{Db, Scope};

mod support;
use support::ScratchFile;

async fn db_with(file: &ScratchFile, ddl: &str) -> Db {
    let db = Db::connect(&file.url(), 4).await.unwrap();
    db.conn.execute_unprepared(ddl).await.unwrap();
    db
}

/// The rows of `sql` (a `SELECT id ... ORDER BY id`) seen by a separate connection to the file.
async fn ids(file: &ScratchFile, sql: &str) -> Vec<i64> {
    let other = Db::connect(&file.url(), 1).await.unwrap();
    let rows = other
        .conn
        .query_all_raw(Statement::from_string(other.backend(), sql.to_owned()))
        .await
        .unwrap();
    let ids = rows
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0).unwrap())
        .collect();
    other.conn.close().await.ok();
    ids
}

async fn insert(db: &Db, id: i64) -> Result<(), sea_orm::DbErr> {
    let w = db.write(Scope::Platform).await?;
    w.txn
        .execute_unprepared(&format!("INSERT INTO t(id) VALUES ({id})"))
        .await?;
    w.commit().await
}

#[tokio::test]
async fn concurrent_acts_share_commits_and_are_all_durable() {
    let file = ScratchFile::new("group");
    let db = db_with(&file, "CREATE TABLE t(id INTEGER PRIMARY KEY)").await;
    db.set_group_commit_max_age(Duration::from_secs(2));
    let before = db.group_commits();
    // one act holds the writer while 50 more line up behind it
    let held = db.write(Scope::Platform).await.unwrap();
    held.txn
        .execute_unprepared("INSERT INTO t(id) VALUES (0)")
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 1..=50 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move { insert(&db, i).await }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        tasks.iter().all(|t| !t.is_finished()),
        "no act is acknowledged before its batch commits"
    );
    let first = tokio::spawn(held.commit());
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    first.await.unwrap().unwrap();
    let commits = db.group_commits() - before;
    assert!(
        (1..=3).contains(&commits),
        "51 acts queued together share a few COMMITs, not {commits}"
    );
    assert_eq!(db.writes().load(Ordering::SeqCst), 51);
    // every acknowledged act is there for another connection
    assert_eq!(
        ids(&file, "SELECT id FROM t ORDER BY id").await,
        (0..=50).collect::<Vec<i64>>()
    );
}

#[tokio::test]
async fn a_failing_act_rolls_back_alone_and_its_batch_mates_commit() {
    let file = ScratchFile::new("group_fail");
    let db = db_with(&file, "CREATE TABLE t(id INTEGER PRIMARY KEY)").await;
    db.set_group_commit_max_age(Duration::from_secs(2));
    let before = db.group_commits();
    let held = db.write(Scope::Platform).await.unwrap();
    held.txn
        .execute_unprepared("INSERT INTO t(id) VALUES (1)")
        .await
        .unwrap();
    let a = {
        let db = db.clone();
        tokio::spawn(async move {
            let w = db.write(Scope::Platform).await.unwrap();
            w.txn
                .execute_unprepared("INSERT INTO t(id) VALUES (2)")
                .await
                .unwrap();
            // a duplicate key: the act fails and is dropped uncommitted
            let dup = w
                .txn
                .execute_unprepared("INSERT INTO t(id) VALUES (1)")
                .await;
            assert!(dup.is_err());
            drop(w);
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = {
        let db = db.clone();
        tokio::spawn(async move { insert(&db, 3).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = tokio::spawn(held.commit());
    a.await.unwrap();
    b.await.unwrap().unwrap();
    first.await.unwrap().unwrap();
    assert_eq!(db.group_commits() - before, 1, "one batch");
    assert_eq!(ids(&file, "SELECT id FROM t ORDER BY id").await, vec![1, 3]);
    assert_eq!(db.writes().load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failed_commit_fails_every_act_of_the_batch_and_none_is_visible() {
    let file = ScratchFile::new("group_commit_error");
    // a deferred foreign key is checked at COMMIT: an orphan child makes the COMMIT fail
    let db = db_with(
        &file,
        "CREATE TABLE parent(id INTEGER PRIMARY KEY); \
         CREATE TABLE child(id INTEGER PRIMARY KEY, \
           parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED); \
         CREATE TABLE t(id INTEGER PRIMARY KEY)",
    )
    .await;
    let fk = db
        .conn
        .query_one_raw(Statement::from_string(
            db.backend(),
            "PRAGMA foreign_keys".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(fk, 1, "the test needs foreign keys enforced");
    db.set_group_commit_max_age(Duration::from_secs(2));
    let held = db.write(Scope::Platform).await.unwrap();
    held.txn
        .execute_unprepared("INSERT INTO child(id, parent) VALUES (1, 99)")
        .await
        .unwrap();
    let mates: Vec<_> = (10..13)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move { insert(&db, i).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = held.commit().await;
    assert!(first.is_err(), "the orphan's own act fails");
    for m in mates {
        let e = m
            .await
            .unwrap()
            .expect_err("a batch mate is told the COMMIT failed");
        assert!(e.to_string().contains("failed to commit"), "{e}");
    }
    assert!(ids(&file, "SELECT id FROM t ORDER BY id").await.is_empty());
    assert!(
        ids(&file, "SELECT id FROM child ORDER BY id")
            .await
            .is_empty()
    );
    assert_eq!(db.writes().load(Ordering::SeqCst), 0);
    // the writer goes on: the next act commits
    insert(&db, 20).await.unwrap();
    assert_eq!(ids(&file, "SELECT id FROM t ORDER BY id").await, vec![20]);
    assert_eq!(db.writes().load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_act_alone_commits_at_once() {
    let file = ScratchFile::new("group_alone");
    let db = db_with(&file, "CREATE TABLE t(id INTEGER PRIMARY KEY)").await;
    // a long age limit: an act with nobody waiting behind it does not wait for it
    db.set_group_commit_max_age(Duration::from_secs(30));
    tokio::time::timeout(Duration::from_secs(5), insert(&db, 1))
        .await
        .expect("committed without waiting for the age limit")
        .unwrap();
    assert_eq!(ids(&file, "SELECT id FROM t").await, vec![1]);
}
