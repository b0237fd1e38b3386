//! Fault tests (issue 20), PostgreSQL, with the real `sua serve` binary. Bidders submit through workers
//! that retry an answer that is no answer (connection refused or cut, 5xx, 408, 429) with the same
//! `Idempotency-Key`, on the next replica:
//! - the bench's own database refuses connections for a while during the submissions (`ALTER DATABASE …
//!   ALLOW_CONNECTIONS false` and `pg_terminate_backend` of its connections; the PostgreSQL server, shared,
//!   is never restarted): `/health` answers 503 while it does, 200 again afterwards without a restart;
//!   requests that need the database meanwhile are answered 503 with `Retry-After`, never 500;
//! - one of two replicas on the database is killed with SIGKILL during the submissions: its clients fail
//!   over to the other one.
//!
//! In both: every submission ends acknowledged, exactly one bid per bidder is stored (0 lost, 0
//! duplicated), each stored receipt is the acknowledged one and verifies with the published keys.
//! Longer runs of the same faults under load: `bench/faults.sh`.
//!
//! These tests need `SUA_TEST_DATABASE_URL` (e.g. `postgres://postgres@127.0.0.1:5432/test`); without it
//! they are built as ignored, and run anyway (`--ignored`) they fail saying so.

mod support;

use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{published, register_bidders, rows, spawn};
use testkit::pg::ScratchPg;

const BIDDERS: u32 = 40;

/// One acknowledged submission: (bidder token, answer body, attempts).
type Acked = (String, Value, u32);

/// Starts `workers` workers submitting one bid per token over `bases` (worker w starts on replica
/// w mod K), retrying with the idempotency key for up to 90 s; `acked` counts acknowledgements.
fn submissions(
    c: &reqwest::Client,
    bases: &[String],
    lot: &str,
    tokens: Vec<String>,
    acked: Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<Vec<Acked>>> {
    let queue = Arc::new(std::sync::Mutex::new(tokens));
    (0..6)
        .map(|w| {
            let (c, bases, lot, acked, queue) = (
                c.clone(),
                bases.to_vec(),
                lot.to_owned(),
                acked.clone(),
                queue.clone(),
            );
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let Some(tok) = queue.lock().unwrap().pop() else {
                        break mine;
                    };
                    let (status, body, attempts) = support::submit_retrying(
                        &c,
                        &bases,
                        w,
                        &lot,
                        &tok,
                        true,
                        Duration::from_secs(90),
                    )
                    .await;
                    assert_eq!(status, 201, "the submission never landed: {body}");
                    acked.fetch_add(1, Ordering::SeqCst);
                    mine.push((tok, body, attempts));
                }
            })
        })
        .collect()
}

async fn wait_acked(acked: &AtomicUsize, n: usize) {
    let t = Instant::now();
    while acked.load(Ordering::SeqCst) < n {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "{n} acknowledgements not reached"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn health(c: &reqwest::Client, base: &str) -> u16 {
    match c
        .get(format!("{base}/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
    {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Every submission acknowledged once, one bid per bidder stored, each receipt stored as acknowledged
/// and verifying with the keys `base` publishes.
async fn assert_exactly_once(c: &reqwest::Client, base: &str, db_url: &str, acked: &[Acked]) {
    assert_eq!(
        acked.len(),
        BIDDERS as usize,
        "every submission acknowledged"
    );
    let ids: HashSet<&str> = acked
        .iter()
        .map(|(_, b, _)| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), acked.len(), "two submissions answered one bid");
    let bids = rows(db_url, "SELECT id, lot_id, operator_id FROM bid").await;
    let stored: HashSet<String> = bids
        .iter()
        .map(|r| r.try_get::<uuid::Uuid>("", "id").unwrap().to_string())
        .collect();
    let pairs: HashSet<(uuid::Uuid, uuid::Uuid)> = bids
        .iter()
        .map(|r| {
            (
                r.try_get("", "lot_id").unwrap(),
                r.try_get("", "operator_id").unwrap(),
            )
        })
        .collect();
    assert_eq!(bids.len(), pairs.len(), "a bidder's bid stored twice");
    assert_eq!(
        stored,
        ids.iter().map(|s| s.to_string()).collect(),
        "stored bids = acknowledged bids (0 lost, none unacknowledged)"
    );
    let receipts: HashMap<String, Value> = rows(db_url, "SELECT bid_id, json FROM signed_receipt")
        .await
        .iter()
        .map(|r| {
            (
                r.try_get::<uuid::Uuid>("", "bid_id").unwrap().to_string(),
                serde_json::from_str(&r.try_get::<String>("", "json").unwrap()).unwrap(),
            )
        })
        .collect();
    assert_eq!(receipts.len(), acked.len(), "one receipt per bid");
    let keys = c
        .get(format!("{base}/.well-known/sua-receipt-keys.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let keys = sealing::parse_public_keys(&keys).unwrap();
    for (_, body, _) in acked {
        let id = body["id"].as_str().unwrap();
        assert_eq!(receipts[id], body["receipt"], "stored receipt of {id}");
        sealing::verify_with_keys(body["receipt"].to_string().as_bytes(), &keys).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn postgres_connection_loss_during_submissions() {
    let server_url = testkit::pg::require_server_url();
    let pg = ScratchPg::create("sua_fault_pg").await;
    let dir = tempfile::tempdir().unwrap();
    let c = reqwest::Client::new();
    let server = spawn(dir.path(), &pg.url, &[]);
    let lot = published(&c, &server, dir.path(), &pg.url).await.lot;
    let tokens = register_bidders(&c, &server.base, 0, BIDDERS).await;
    let reader = tokens[0].clone();
    let acked = Arc::new(AtomicUsize::new(0));
    let bases = vec![server.base.clone()];
    let workers = submissions(&c, &bases, &lot, tokens, acked.clone());
    wait_acked(&acked, 8).await;

    // the outage: until /health has said 503 (at least 1 s, at most 20 s)
    support::pg_refuse_connections(&server_url, &pg.name, true).await;
    let at_outage = acked.load(Ordering::SeqCst);
    let t = Instant::now();
    let mut unready = false;
    let mut refused_503 = 0u32;
    while t.elapsed() < Duration::from_secs(1)
        || (!unready && t.elapsed() < Duration::from_secs(20))
    {
        unready |= health(&c, &server.base).await == 503;
        // a request that reads the database meanwhile: 503 with Retry-After and a problem, never a 500
        if let Ok(r) = c
            .get(format!("{}/v1/bids", server.base))
            .bearer_auth(&reader)
            .timeout(Duration::from_secs(15))
            .send()
            .await
        {
            let status = r.status().as_u16();
            let retry_after = r.headers().get("retry-after").cloned();
            let media = r.headers().get("content-type").cloned();
            let body = r.text().await.unwrap_or_default();
            assert_ne!(status, 500, "a database outage answered 500: {body}");
            if status == 503 {
                refused_503 += 1;
                assert!(retry_after.is_some(), "503 without Retry-After: {body}");
                assert_eq!(
                    media.as_ref().and_then(|m| m.to_str().ok()),
                    Some("application/problem+json"),
                    "{body}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = acked.load(Ordering::SeqCst);
    support::pg_refuse_connections(&server_url, &pg.name, false).await;
    assert!(
        unready,
        "/health never answered 503 while the database refused connections"
    );
    assert!(
        refused_503 > 0,
        "no request was answered 503 while the database refused connections"
    );
    // the same process recovers by itself
    let t = Instant::now();
    while health(&c, &server.base).await != 200 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "/health not 200 again 30 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    assert!(
        at_outage < BIDDERS as usize,
        "every submission was acknowledged before the outage: the test proves nothing"
    );
    assert!(
        all.iter().any(|(_, _, attempts)| *attempts > 1),
        "no submission was retried: the outage was not felt ({at_outage} acknowledged before, {during} at its end)"
    );
    assert_exactly_once(&c, &server.base, &pg.url, &all).await;
    drop(server);
    pg.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn one_of_two_replicas_killed_during_submissions() {
    let pg = ScratchPg::create("sua_fault_replica").await;
    let dir = tempfile::tempdir().unwrap();
    let c = reqwest::Client::new();
    // two replicas on one database and one data directory (the second reuses the first one's keys)
    let a = spawn(dir.path(), &pg.url, &[]);
    let mut b = spawn(dir.path(), &pg.url, &[]);
    let lot = published(&c, &a, dir.path(), &pg.url).await.lot;
    let tokens = register_bidders(&c, &a.base, 0, BIDDERS).await;
    let acked = Arc::new(AtomicUsize::new(0));
    let bases = vec![a.base.clone(), b.base.clone()];
    let workers = submissions(&c, &bases, &lot, tokens, acked.clone());
    wait_acked(&acked, 10).await;
    b.kill(); // SIGKILL
    let at_kill = acked.load(Ordering::SeqCst);
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    assert!(
        at_kill < BIDDERS as usize,
        "every submission was acknowledged before the kill: the test proves nothing"
    );
    assert!(
        all.iter().any(|(_, _, attempts)| *attempts > 1),
        "no submission failed over to the surviving replica"
    );
    assert_exactly_once(&c, &a.base, &pg.url, &all).await;
    drop(a);
    pg.drop_db().await;
}
