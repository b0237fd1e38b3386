//! `notify::start_with_clock`: the spawned worker reads time from the injected clock, not the system's. A
//! message due in the clock's future (enqueued by an application whose clock is ahead, or backed off after
//! a failure) is not sent before that clock reaches it, and is sent once it does, whatever the wall time.

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use notify::{ManualClock, Status, TransportConfig};
use support::{db, exclusion, mail_config, t0};
use uuid::Uuid;

/// Polls the message until `pred` holds (up to ~5 s of wall time); returns its last view.
async fn wait_for(
    db: &sea_orm::DatabaseConnection,
    id: notify::MessageId,
    pred: impl Fn(&notify::MessageView) -> bool,
) -> notify::MessageView {
    let mut v = notify::get(db, id).await.unwrap();
    for _ in 0..250 {
        if pred(&v) {
            return v;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        v = notify::get(db, id).await.unwrap();
    }
    v
}

fn eml_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_due_in_the_clocks_future_is_sent_when_the_injected_clock_reaches_it() {
    let t = db::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(TransportConfig::File {
        dir: dir.path().to_owned(),
    });
    let clock = Arc::new(ManualClock::new(t0()));
    // enqueued at t0 + 3 days (e.g. by a service whose simulated clock is ahead of the worker's)
    let due = t0() + Duration::days(3);
    let id = notify::enqueue(
        &t.db,
        exclusion("a@pec.example.it", Uuid::new_v4(), "future", due),
    )
    .await
    .unwrap();
    let handle = notify::start_with_clock(t.db.clone(), &config, clock.clone()).unwrap();
    // many poll rounds (20 ms each) pass on the wall clock: not sent, the injected clock is at t0
    tokio::time::sleep(StdDuration::from_millis(400)).await;
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!((v.status, v.attempts), (Status::Queued, 0), "{v:?}");
    assert_eq!(eml_count(dir.path()), 0);
    // one second short of the due instant: still not sent
    clock.set(due - Duration::seconds(1));
    handle.wake();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(notify::get(&t.db, id).await.unwrap().status, Status::Queued);
    // the injected clock reaches it: sent, stamped with the injected time
    clock.set(due);
    handle.wake();
    let v = wait_for(&t.db, id, |v| v.status == Status::Sent).await;
    assert_eq!(v.status, Status::Sent, "{v:?}");
    assert_eq!(v.sent_at, Some(due));
    assert_eq!(eml_count(dir.path()), 1);
    handle.shutdown().await;
    t.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backed_off_retry_waits_for_the_injected_clock_not_the_wall_clock() {
    let t = db::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("out");
    let config = mail_config(TransportConfig::File {
        dir: mail_dir.clone(),
    });
    // backoff_base_secs = 10: the first retry is due 10 s after the failed attempt
    assert_eq!(config.worker.backoff_base_secs, 10);
    let clock = Arc::new(ManualClock::new(t0()));
    // the worker creates the directory at start; then it disappears: the first attempt fails (transient)
    let handle = notify::start_with_clock(t.db.clone(), &config, clock.clone()).unwrap();
    std::fs::remove_dir(&mail_dir).unwrap();
    let id = notify::enqueue(
        &t.db,
        exclusion("a@pec.example.it", Uuid::new_v4(), "retry", t0()),
    )
    .await
    .unwrap();
    handle.wake();
    let v = wait_for(&t.db, id, |v| v.attempts == 1 && v.status == Status::Queued).await;
    assert_eq!((v.status, v.attempts), (Status::Queued, 1), "{v:?}");
    assert_eq!(v.next_attempt_at, t0() + Duration::seconds(10));
    std::fs::create_dir(&mail_dir).unwrap();
    // more than 10 s of poll rounds would pass on a system clock; here the wall clock moves ~0.5 s, so
    // the injected one is what matters: still at t0, nothing is retried
    tokio::time::sleep(StdDuration::from_millis(500)).await;
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!((v.status, v.attempts), (Status::Queued, 1), "{v:?}");
    clock.advance(Duration::seconds(9));
    handle.wake();
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert_eq!(notify::get(&t.db, id).await.unwrap().attempts, 1);
    // the injected clock reaches the retry instant: sent at the second attempt
    clock.advance(Duration::seconds(1));
    handle.wake();
    let v = wait_for(&t.db, id, |v| v.status == Status::Sent).await;
    assert_eq!((v.status, v.attempts), (Status::Sent, 2), "{v:?}");
    assert_eq!(v.sent_at, Some(t0() + Duration::seconds(10)));
    assert_eq!(eml_count(&mail_dir), 1);
    handle.shutdown().await;
    t.cleanup().await;
}
