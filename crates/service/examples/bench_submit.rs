//! Benchmark (issue 6): N bidders (default 500) submit sealed bids concurrently in the last minute before
//! the deadline; prints bids/s, latency percentiles and how many were acknowledged, refused or lost.
//! A benchmark, not a test: it prints figures (and exits 1 only if an acknowledged bid is missing).
//!
//!   cargo build --release -p service --bin sua --example bench_submit
//!   target/release/examples/bench_submit [sqlite|postgres://user@host/db] [N]
//!
//! (`cargo run --release -p service --example bench_submit -- [target] [N]` also works once the `sua`
//! binary of the same profile is built.) `SUA_BIN` names the `sua` binary (default: next to this
//! example, `../sua`). For PostgreSQL a fresh database is created on that server and dropped afterwards.
//! The server setup, tender and bidders come from `tests/support` (shared with the crash test).

#[path = "../tests/support/mod.rs"]
mod support;

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;
use std::time::Instant;
use support::{call, ok, published, register_bidders, spawn, submit_bid};

#[tokio::main]
async fn main() {
    use reqwest::Method as M;
    let args: Vec<String> = std::env::args().collect();
    let target = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(500);
    let load_before = support::load_average();
    let dir = tempfile::tempdir().unwrap();
    let (db_url, pg) = if target == "sqlite" {
        (
            format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display()),
            None,
        )
    } else {
        let pg = testkit::pg::ScratchPg::create_on(&target, "sua_bench").await;
        (pg.url.clone(), Some(pg))
    };
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()
        .unwrap();
    let server = spawn(
        dir.path(),
        &db_url,
        &[
            ("SUA_CLOCK__ALLOW_OVERRIDE", "true"),
            ("SUA_DATABASE__MAX_CONNECTIONS", "16"),
        ],
    );
    let t = published(&c, &server, dir.path(), &db_url).await;
    let (admin, lot, deadline) = (t.admin, t.lot, t.deadline);
    let tokens = register_bidders(&c, &server.base, 0, n as u32).await;
    // the last minute before the deadline
    ok(
        call(
            &c,
            &server.base,
            M::PUT,
            "/v1/admin/clock",
            Some(&admin),
            Some(json!({"now": deadline - chrono::Duration::seconds(60)})),
        )
        .await,
        200,
    );
    let started = Instant::now();
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|tok| {
            let (c, base, lot) = (c.clone(), server.base.clone(), lot.clone());
            tokio::spawn(async move {
                let t0 = Instant::now();
                let r = submit_bid(&c, &base, &lot, &tok).await;
                (t0.elapsed(), r)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut acked = Vec::new();
    let mut refused: std::collections::BTreeMap<u16, usize> = Default::default();
    for t in tasks {
        let (d, (status, body)) = t.await.unwrap();
        lat.push(d);
        if status == 201 {
            acked.push(body["id"].as_str().unwrap().to_owned());
        } else {
            *refused.entry(status).or_default() += 1;
        }
    }
    let wall = started.elapsed();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    let db = Database::connect(&db_url).await.unwrap();
    let stored: std::collections::HashSet<String> = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT bid_id FROM bid_receipt",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<uuid::Uuid>("", "bid_id").unwrap().to_string())
        .collect();
    db.close().await.ok();
    let lost = acked.iter().filter(|id| !stored.contains(*id)).count();
    let ms = |d: std::time::Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
    let backend = if pg.is_some() { "postgresql" } else { "sqlite" };
    println!("== bench_submit ==");
    println!(
        "backend        {backend} (database.max_connections = 16)\nserver binary  {} ({} build of this example)",
        support::sua().display(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("bidders        {n} concurrent submissions, server clock 60 s before the deadline");
    println!("wall time      {:.2} s", wall.as_secs_f64());
    println!(
        "throughput     {:.1} acknowledged bids/s",
        acked.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "latency        p50 {}  p90 {}  p99 {}  max {}",
        ms(pct(0.5)),
        ms(pct(0.9)),
        ms(pct(0.99)),
        ms(lat[lat.len() - 1])
    );
    println!(
        "outcome        acknowledged {}, refused {refused:?}, acknowledged but missing {lost}",
        acked.len()
    );
    println!(
        "load average   {load_before} (before)  {} (after)",
        support::load_average()
    );
    drop(server);
    if let Some(pg) = pg {
        pg.drop_db().await;
    }
    if lost > 0 {
        std::process::exit(1);
    }
}
