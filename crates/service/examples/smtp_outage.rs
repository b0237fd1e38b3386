//! Fault run (issue 20): the SMTP server is down for ten minutes while bids (each owing a receipt mail)
//! keep arriving, then it is back. Prints how many mails were queued, sent, received by the server,
//! received twice or never, and how long after the server's return mail resumed and the outbox drained.
//! A fault run, not a test (the suite's version runs on an injected clock:
//! `crates/notify/tests/smtp.rs`); exits 1 if a mail was lost, duplicated or failed.
//!
//!   bench/smtp_outage.sh [OUTAGE_SECS] [MAILS]            (defaults: 600 and 60)
//!
//! `sua serve` runs with the production defaults of `[mail.worker]` (backoff from 30 s, probes of an
//! unreachable server capped at `outage_retry_max_secs` = 60 s) against an SMTP server in this process
//! (`testkit::smtp::SmtpSink`: stopped = connections refused). `SUA_BIN` names the `sua` binary.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::{published, register_bidders, rows, spawn, submit_bid};

async fn outbox(db_url: &str) -> BTreeMap<String, i64> {
    rows(
        db_url,
        "SELECT status, COUNT(*) AS n FROM mail_message GROUP BY status",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.try_get::<String>("", "status").unwrap(),
            r.try_get::<i64>("", "n").unwrap(),
        )
    })
    .collect()
}

fn pending(o: &BTreeMap<String, i64>) -> i64 {
    o.get("queued").copied().unwrap_or(0) + o.get("sending").copied().unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let outage_secs: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(600);
    let n: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    println!("load average before: {}", support::load_average());
    let mut sink = testkit::smtp::SmtpSink::start(Duration::ZERO);
    let port = sink.port.to_string();
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display());
    let mut server = spawn(
        dir.path(),
        &db_url,
        &[
            ("SUA_MAIL__TRANSPORT__KIND", "smtp"),
            ("SUA_MAIL__TRANSPORT__DIR", ""),
            ("SUA_MAIL__TRANSPORT__HOST", "127.0.0.1"),
            ("SUA_MAIL__TRANSPORT__PORT", &port),
            ("SUA_MAIL__TRANSPORT__SECURITY", "none"),
            ("RUST_LOG", "warn"),
        ],
    );
    let c = reqwest::Client::new();
    let t = published(&c, &server, dir.path(), &db_url).await;
    let tokens = register_bidders(&c, &server.base, 0, n).await;
    // what was owed before the outage goes out first
    let t0 = Instant::now();
    while pending(&outbox(&db_url).await) > 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "outbox not drained before the outage"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let before = tokio::task::block_in_place(|| sink.received().len());

    // the outage: a bid (and its receipt mail) every OUTAGE/MAILS seconds
    tokio::task::block_in_place(|| sink.stop());
    let down = Instant::now();
    println!("smtp down: {outage_secs} s; {n} bids during the outage");
    let every = Duration::from_secs_f64(outage_secs as f64 / f64::from(n));
    let mut acknowledged = 0;
    for (i, tok) in tokens.iter().enumerate() {
        let at = every * i as u32;
        if let Some(wait) = at.checked_sub(down.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let (status, body) = submit_bid(&c, &server.base, &t.lot, tok).await;
        assert_eq!(status, 201, "{body}");
        acknowledged += 1;
    }
    if let Some(wait) = Duration::from_secs(outage_secs).checked_sub(down.elapsed()) {
        tokio::time::sleep(wait).await;
    }
    let during = outbox(&db_url).await;
    let received_during = tokio::task::block_in_place(|| sink.received().len()) - before;
    tokio::task::block_in_place(|| sink.restart());
    let up = Instant::now();
    println!(
        "smtp back after {:.0} s; outbox then {during:?}",
        down.elapsed().as_secs_f64()
    );

    // the server is back: wait for the outbox to drain (at most 5 minutes)
    let mut first: Option<Duration> = None;
    let mut last = outbox(&db_url).await;
    while pending(&last) > 0 && up.elapsed() < Duration::from_secs(300) {
        if first.is_none() && tokio::task::block_in_place(|| sink.received().len()) > before {
            first = Some(up.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        last = outbox(&db_url).await;
    }
    let drained = up.elapsed();
    let first = first.unwrap_or(drained);
    // let the last sends be recorded, then count by Message-ID
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = tokio::task::block_in_place(|| sink.received());
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for m in &received {
        *by_id
            .entry(m["message_id"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
    }
    let sent_ids: Vec<String> = rows(
        &db_url,
        "SELECT message_id FROM mail_message WHERE status = 'sent'",
    )
    .await
    .iter()
    .map(|r| {
        r.try_get::<Option<String>>("", "message_id")
            .unwrap()
            .unwrap_or_default()
    })
    .collect();
    let lost = sent_ids
        .iter()
        .filter(|id| !by_id.contains_key(*id))
        .count() as i64
        + pending(&last);
    let duplicated = by_id.values().filter(|n| **n > 1).count();
    let failed = last.get("failed").copied().unwrap_or(0);
    println!(
        "resumed {:.1} s after the server's return (first delivery); outbox drained after {:.1} s",
        first.as_secs_f64(),
        drained.as_secs_f64()
    );
    println!(
        "outcome bids acknowledged {acknowledged}, mails in outbox {}, sent {}, failed {failed}, \
         received by the server {} ({} during the outage), distinct {}, duplicated {duplicated}, lost {lost}",
        last.values().sum::<i64>(),
        sent_ids.len(),
        received.len(),
        received_during,
        by_id.len(),
    );
    println!("load average after: {}", support::load_average());
    server.kill();
    if lost > 0 || duplicated > 0 || failed > 0 || received_during > 0 {
        std::process::exit(1);
    }
}
