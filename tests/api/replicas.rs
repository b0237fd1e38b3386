//! Every timer fires once with two replicas up (issue 20, "Faults"): two `sua serve` processes on one
//! database (a SQLite file; a PostgreSQL database), both schedulers ticking every second and both mail
//! workers sending to one SMTP server. The offer deadline closes the tender once, the award's
//! communications start the standstill once, the standstill's end makes the lot ready to sign once:
//! one state change and one audit entry each, and every mail arrives once.

use crate::flow::{request_body, world};
use crate::helpers::*;
use chrono::Duration;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The scheduler's audit entries, by action (the database holds one tender).
async fn scheduler_actions(db_url: &str) -> BTreeMap<String, Vec<String>> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(db_url).await.unwrap();
    let stmt = Statement::from_string(
        db.get_database_backend(),
        "SELECT action, object_id FROM audit_entry WHERE actor = 'scheduler' ORDER BY chain, seq"
            .to_owned(),
    );
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in db.query_all_raw(stmt).await.unwrap() {
        let action: String = r.try_get("", "action").unwrap();
        let object: String = r.try_get("", "object_id").unwrap();
        out.entry(action).or_default().push(object);
    }
    db.close().await.ok();
    out
}

/// `(status, n)` of the mail outbox.
async fn outbox_status(db_url: &str) -> BTreeMap<String, i64> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(db_url).await.unwrap();
    let stmt = Statement::from_string(
        db.get_database_backend(),
        "SELECT status, COUNT(*) AS n FROM mail_message GROUP BY status".to_owned(),
    );
    let out = db
        .query_all_raw(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "status").unwrap(),
                r.try_get::<i64>("", "n").unwrap(),
            )
        })
        .collect();
    db.close().await.ok();
    out
}

/// Waits until every mail of the outbox is `sent` (at most 30 s); returns the counts by status.
async fn drained(db_url: &str) -> BTreeMap<String, i64> {
    let mut status = BTreeMap::new();
    for _ in 0..300 {
        status = outbox_status(db_url).await;
        if status.keys().all(|s| s == "sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    status
}

async fn tender(app: &TestApp, base: &str, tid: &str, buyer: &str) -> Value {
    let r = app
        .client
        .get(format!("{base}/v1/tenders/{tid}"))
        .bearer_auth(buyer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Moves the clock of both replicas (the second first: both schedulers then race for the same timers).
/// First the outbox drains: the clock offset is per process, so for a moment the replicas' clocks
/// disagree by weeks, and a mail in flight on one would look like an expired lease to the other (in
/// production the replicas' clocks agree within the lease, `mail.worker.lease_secs`).
async fn set_clocks(app: &TestApp, second: &str, admin: &str, now: chrono::DateTime<chrono::Utc>) {
    drained(&app.db_url).await;
    for base in [second, app.base.as_str()] {
        let r = app
            .client
            .put(format!("{base}/v1/admin/clock"))
            .bearer_auth(admin)
            .json(&json!({ "now": now }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{base}");
    }
}

async fn wait_for(
    app: &TestApp,
    second: &str,
    tid: &str,
    buyer: &str,
    what: &str,
    f: impl Fn(&Value) -> bool,
) {
    for _ in 0..300 {
        // read through both replicas: they see the same database
        let a = tender(app, &app.base, tid, buyer).await;
        let b = tender(app, second, tid, buyer).await;
        if f(&a) && f(&b) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: not reached");
}

async fn run(backend: Backend) {
    let sink = testkit::smtp::SmtpSink::start(std::time::Duration::ZERO);
    let port = sink.port.to_string();
    let smtp = [
        ("SUA_MAIL__TRANSPORT__KIND", "smtp"),
        ("SUA_MAIL__TRANSPORT__DIR", ""),
        ("SUA_MAIL__TRANSPORT__HOST", "127.0.0.1"),
        ("SUA_MAIL__TRANSPORT__PORT", port.as_str()),
        ("SUA_MAIL__TRANSPORT__SECURITY", "none"),
    ];
    let app = TestApp::spawn_with(backend, &smtp).await;
    // the second replica: same database, same data directory (keys, document store), its own scheduler
    // and mail worker
    let replica = testkit::serve::spawn(
        SUA.as_ref(),
        app.dir.path(),
        &app.db_url,
        &[
            &[("SUA_CLOCK__ALLOW_OVERRIDE", "true"), ("RUST_LOG", "warn")],
            &smtp[..],
        ]
        .concat(),
    );
    let second = replica.base.clone();
    let w = world(&app).await;
    // above the EU threshold for services: the standstill applies
    let mut body = request_body();
    body["estimated_amount"] = json!("400000.00");
    body["lots"][0]["estimated_amount"] = json!("400000.00");
    let p = publish_open(&app, &w.municipality, &w.buyer, &body).await;
    let (tid, lot) = (p.tid.clone(), p.lot.clone());
    let bids = bid_ids(register_and_bid(&app, &lot, &ALFA_AND_BETA).await);

    // 1. the offer deadline passes on both replicas: closed once
    set_clocks(&app, &second, &w.admin, p.deadline + Duration::minutes(1)).await;
    wait_for(&app, &second, &tid, &w.buyer, "closed", |t| {
        t["state"] == "closed"
    })
    .await;
    // a few more passes of both schedulers
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let a = scheduler_actions(&app.db_url).await;
    assert_eq!(
        a.get("tender.close_submissions").map(Vec::len),
        Some(1),
        "{a:?}"
    );

    // 2. the award: its communications go out, and both schedulers see them sent: the standstill starts once
    verified_for_award(&app, &w.buyer, &tid, &lot, &bids).await;
    event(
        &app,
        &format!("/v1/lots/{lot}/events"),
        &w.buyer,
        json!({"event": "award"}),
    )
    .await;
    wait_for(&app, &second, &tid, &w.buyer, "standstill started", |t| {
        !t["lots"][0]["standstill_end"].is_null()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let a = scheduler_actions(&app.db_url).await;
    assert_eq!(
        a.get("lot.record_award_communications").map(Vec::len),
        Some(1),
        "{a:?}"
    );
    let t = tender(&app, &app.base, &tid, &w.buyer).await;
    let end: chrono::DateTime<chrono::Utc> = t["lots"][0]["standstill_end"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // 3. the standstill ends on both replicas: its timer fires once
    set_clocks(&app, &second, &w.admin, end + Duration::minutes(1)).await;
    wait_for(&app, &second, &tid, &w.buyer, "ready to sign", |t| {
        t["lots"][0]["state"] == "ready_to_sign"
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let a = scheduler_actions(&app.db_url).await;
    assert_eq!(
        a.get("lot.standstill_elapsed").map(Vec::len),
        Some(1),
        "{a:?}"
    );
    // no scheduler act on any object twice (close, award communications, standstill, reminders, timers)
    for (action, objects) in &a {
        let mut seen = std::collections::BTreeSet::new();
        for o in objects {
            assert!(seen.insert(o), "{action} on {o} twice: {a:?}");
        }
    }
    // every timer row fired at most once (one row each, fired_at set once) and none is left due
    {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let db = Database::connect(&app.db_url).await.unwrap();
        let stmt = Statement::from_string(
            db.get_database_backend(),
            "SELECT event, outcome FROM timer WHERE fired_at IS NOT NULL".to_owned(),
        );
        let fired: Vec<(String, String)> = db
            .query_all_raw(stmt)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.try_get::<String>("", "event").unwrap(),
                    r.try_get::<Option<String>>("", "outcome")
                        .unwrap()
                        .unwrap_or_default(),
                )
            })
            .collect();
        db.close().await.ok();
        // the deadline's own timer found the tender closed by the deadline pass; the standstill's fired
        let outcome = |ev: &str| {
            fired
                .iter()
                .filter(|(e, _)| e == ev)
                .map(|(_, o)| o.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            outcome("offer_deadline"),
            ["fired: already closed"],
            "{fired:?}"
        );
        assert_eq!(outcome("standstill"), ["fired: ready_to_sign"], "{fired:?}");
    }

    // every mail of the outbox was sent, each once, by one of the two workers
    let status = drained(&app.db_url).await;
    let sent = *status.get("sent").unwrap_or(&0);
    assert_eq!(status.len(), 1, "{status:?}");
    let received = tokio::task::block_in_place(|| sink.received());
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for m in &received {
        *by_id
            .entry(m["message_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(by_id.values().all(|n| *n == 1), "a mail twice: {by_id:?}");
    assert_eq!(received.len() as i64, sent, "{status:?}");
    let award_mails = received
        .iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains("aggiudicata"))
        .count();
    assert_eq!(award_mails, 2);
    drop(replica);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_and_every_timer_fire_once_with_two_replicas_on_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn the_deadline_and_every_timer_fire_once_with_two_replicas_on_postgres() {
    run(Backend::Postgres).await;
}
