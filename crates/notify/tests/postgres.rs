//! PostgreSQL: the claim skips rows locked by another replica, two workers share one outbox without
//! sending anything twice, and a duplicate enqueue does not abort the caller's transaction.
//! Runs when `SUA_TEST_DATABASE_URL` is set at build time (CI: postgres://postgres@127.0.0.1:5432/test),
//! else the tests are listed as ignored; each test creates and drops its own database.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use notify::{ManualClock, Status};
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use support::{db, exclusion, mail_config, smtp_transport, t0, worker};
use testkit::smtp::SmtpSink;
use uuid::Uuid;

#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn the_claim_skips_messages_locked_by_another_transaction() {
    let t = db::postgres().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(notify::TransportConfig::File {
        dir: dir.path().to_owned(),
    });
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let tender = Uuid::new_v4();
    for i in 0..10 {
        let to = format!("ditta{i}@pec.example.it");
        notify::enqueue(&t.db, exclusion(&to, tender, &format!("lock:{i}"), t0()))
            .await
            .unwrap();
    }
    // Another replica holds row locks on 4 messages (as it would in the middle of its own claim).
    let other = Database::connect(t.url_for_second_connection().unwrap())
        .await
        .unwrap();
    let txn = other.begin().await.unwrap();
    let locked = txn
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT id FROM mail_message ORDER BY id LIMIT 4 FOR UPDATE",
        ))
        .await
        .unwrap();
    assert_eq!(locked.len(), 4);

    let r = w.run_once().await.unwrap();
    assert_eq!(
        (r.claimed, r.sent),
        (6, 6),
        "locked rows are skipped, not waited for"
    );
    txn.commit().await.unwrap();
    let r = w.run_once().await.unwrap();
    assert_eq!((r.claimed, r.sent), (4, 4));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 10);
    other.close().await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn two_workers_on_one_database_never_send_a_message_twice() {
    let t = db::postgres().await;
    let sink = SmtpSink::start(std::time::Duration::ZERO);
    let mut config = mail_config(smtp_transport(sink.port));
    config.worker.batch_size = 5;
    let clock = Arc::new(ManualClock::new(t0()));
    let tender = Uuid::new_v4();
    let n = 120;
    let mut ids = Vec::new();
    for i in 0..n {
        let to = format!("ditta{i}@pec.example.it");
        ids.push(
            notify::enqueue(&t.db, exclusion(&to, tender, &format!("pair:{i}"), t0()))
                .await
                .unwrap(),
        );
    }
    // Two replicas: separate connection pools, separate workers, running at the same time.
    let second = Database::connect(t.url_for_second_connection().unwrap())
        .await
        .unwrap();
    let workers = [
        worker(&t.db, &config, clock.clone()),
        worker(&second, &config, clock.clone()),
    ];
    let mut tasks = Vec::new();
    for w in workers {
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            let mut lost = 0;
            loop {
                let r = w.run_once().await.unwrap();
                sent += r.sent;
                lost += r.lost_claims;
                if r.claimed == 0 {
                    return (sent, lost);
                }
            }
        }));
    }
    let mut per_worker = Vec::new();
    for task in tasks {
        per_worker.push(task.await.unwrap());
    }
    assert_eq!(per_worker.iter().map(|(s, _)| s).sum::<usize>(), n);
    assert!(per_worker.iter().all(|(_, lost)| *lost == 0));
    assert!(
        per_worker.iter().all(|(s, _)| *s > 0),
        "both replicas took part: {per_worker:?}"
    );

    let received = sink.received();
    assert_eq!(received.len(), n, "no message sent twice, none lost");
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for m in &received {
        *counts.entry(m["message_id"].as_str().unwrap()).or_default() += 1;
    }
    for id in &ids {
        let mid = format!("<{id}@sua.provincia.example.it>");
        assert_eq!(counts.get(mid.as_str()), Some(&1));
        assert_eq!(notify::get(&t.db, *id).await.unwrap().status, Status::Sent);
    }
    second.close().await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn a_duplicate_enqueue_does_not_abort_the_callers_postgres_transaction() {
    let t = db::postgres().await;
    let tender = Uuid::new_v4();
    let txn = t.db.begin().await.unwrap();
    let a = notify::enqueue(&txn, exclusion("a@pec.example.it", tender, "dup", t0()))
        .await
        .unwrap();
    let b = notify::enqueue(&txn, exclusion("a@pec.example.it", tender, "dup", t0()))
        .await
        .unwrap();
    assert_eq!(a, b);
    // Still usable: a unique violation would have put the transaction in the aborted state.
    txn.execute_unprepared("SELECT 1").await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        notify::list_for_tender(&t.db, tender).await.unwrap().len(),
        1
    );
    t.cleanup().await;
}
