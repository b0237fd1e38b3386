//! Benchmark (issue 6): upload one large file (default 1 GiB, generated on the fly, never held in
//! memory) into a sealed bid envelope of an in-process `sua` server on loopback; prints MB/s and the
//! process's peak RSS (VmHWM), which includes the server since it runs in this process.
//!
//!   cargo run --release -p service --example bench_upload [MiB]
//!
//! A benchmark, not a test: it prints figures; it exits non-zero only if the upload is not accepted
//! or the stored size/SHA-256 differ from what was sent. The tender and bidder set-up come from
//! `tests/support` (shared with the crash test and `bench_submit`).

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::Value;
use service::{
    api, auth, auth::Role, clock::OffsetClock, config::Settings, server::open_db, state::AppState,
};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Instant;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let load_before = support::load_average();
    let mib: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1024);
    let total = mib << 20;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::default();
    settings.database.url = format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display());
    settings.sealing.key_dir = dir.path().join("keys");
    settings.documents.dir = dir.path().join("documents");
    settings.documents.max_file_bytes = total.max(1 << 30);
    let db = open_db(&settings).await.unwrap();
    service::sealed::keys(&settings.sealing).unwrap();
    let (_, admin) = auth::issue(
        &db.conn,
        Role::PlatformAdmin,
        None,
        "bench",
        chrono::Utc::now(),
        None,
    )
    .await
    .unwrap();
    let state = AppState::new(db, Arc::new(OffsetClock::default()), Arc::new(settings));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api::app(state)).await });

    let c = reqwest::Client::new();
    let b = base.as_str();
    let t = support::publish_tender(&c, b, admin).await;
    let bidder = support::register_bidders(&c, b, 0, 1).await.remove(0);
    let bid = support::ok(support::submit_bid(&c, b, &t.lot, &bidder).await, 201);
    let bid = bid["id"].as_str().unwrap().to_owned();

    // the body: `total` bytes in 256 KiB pieces of a cheap pattern. Its SHA-256 is computed in a first,
    // untimed pass: in production the client is another machine, so its hashing must not compete with
    // the server for this machine's CPU inside the measured time.
    let rss_before = peak_rss_kib();
    const PIECE: u64 = 256 * 1024;
    let piece = |i: u64, v: &mut Vec<u8>| {
        let len = PIECE.min(total - i * PIECE) as usize;
        v.truncate(0);
        v.resize(len, (i % 251) as u8);
        v[0] = (i >> 8) as u8;
    };
    let mut v = vec![0u8; PIECE as usize];
    let mut hasher = Sha256::new();
    for i in 0..total.div_ceil(PIECE) {
        piece(i, &mut v);
        hasher.update(&v);
    }
    let sent = hex::encode(hasher.finalize());
    let host = b.trim_start_matches("http://").to_owned();
    let start = Instant::now();
    // a raw HTTP/1.1 request, so the client side holds one piece at a time
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "PUT /v1/bids/{bid}/envelopes/administrative/files/big.bin HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Bearer {bidder}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {total}\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    for i in 0..total.div_ceil(PIECE) {
        piece(i, &mut v);
        s.write_all(&v).await.unwrap();
    }
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["size"], total, "{v}");
    assert_eq!(v["sha256"], sent.as_str(), "{v}");
    let mb_s = total as f64 / 1e6 / secs;
    println!("== bench_upload ==");
    println!(
        "build          {} (client and server in this process, SQLite, local document store)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!(
        "file           {mib} MiB ({total} bytes), sealed size {}",
        v["sealed_size"]
    );
    println!(
        "time           {secs:.2} s: {mb_s:.0} MB/s ({:.0} MiB/s); target >= 200 MB/s: {}",
        total as f64 / (1u64 << 20) as f64 / secs,
        if mb_s >= 200.0 { "met" } else { "NOT met" }
    );
    println!(
        "peak RSS       {} MiB (VmHWM, whole process; {} MiB before the upload); target < 100 MB: {}",
        peak_rss_kib() / 1024,
        rss_before / 1024,
        if peak_rss_kib() * 1024 < 100_000_000 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "load average   {load_before} (before)  {} (after)",
        support::load_average()
    );
}

use tokio::io::{AsyncReadExt, AsyncWriteExt};
