//! Benchmark (issues 6 and 20): the deadline rush. Bidders submit sealed bids in the last minute before
//! the deadline; prints bids/s, latency percentiles and how many were acknowledged, refused, lost or
//! duplicated. A benchmark, not a test: it prints figures (and exits 1 if an acknowledged bid is missing,
//! a bid is stored twice or a stored receipt differs from the acknowledged one).
//!
//!   cargo build --release -p service --bin sua --example bench_submit
//!   target/release/examples/bench_submit [sqlite|postgres://user@host/db] [N] [options]
//!
//! Without options: closed loop, one replica, one tender with one lot, N bidders (default 500) all
//! submitting at once (the figures of issue 6). Options (issue 20):
//!
//! - `--rate R --secs S`: open loop: R submissions per second for S seconds, each sent at its scheduled
//!   time whatever the answers to the earlier ones; latency is measured from the scheduled time (no
//!   coordinated omission).
//! - `--lots L` (default 1): each tender has L lots; bidders bid on every lot (fewer bidders to register).
//! - `--provinces P` (default 1): P Provinces, one tender each; submissions go round-robin over them.
//! - `--replicas K` (PostgreSQL only, default 1): K `sua serve` processes on the one database (same data
//!   directory, so the same keys); submission i goes to replica i mod K.
//! - `--probe`: a second Province (not in the rush): its buyer's tender list (reads, 20/s) and its
//!   municipality's new requests (writes, 4/s), measured for 5 s on the idle server, then during the rush.
//! - `--retry`: every submission carries an `Idempotency-Key`; an answer that is no answer (connection
//!   refused or cut, 5xx, 408, 429) is retried with the same key and body on the next replica, up to 120 s.
//! - `--fault pg-outage[:SECS]` (PostgreSQL; implies `--retry`): halfway through the rush the bench's own
//!   database refuses connections for SECS seconds (default 5: `ALTER DATABASE … ALLOW_CONNECTIONS false`
//!   and `pg_terminate_backend` of its connections; the server itself is never restarted); `/health` of
//!   every replica is polled meanwhile.
//! - `--fault kill-replica` (`--replicas` ≥ 2; implies `--retry`): halfway through the rush the last replica
//!   is killed with SIGKILL; its clients fail over to the others with the same key.
//!
//! (`cargo run --release -p service --example bench_submit -- [target] [N]` also works once the `sua`
//! binary of the same profile is built.) `SUA_BIN` names the `sua` binary (default: next to this
//! example, `../sua`). For PostgreSQL a fresh database is created on that server and dropped afterwards.
//! The server setup and HTTP helpers come from `tests/support` (shared with the crash and fault tests).

#[path = "../tests/support/mod.rs"]
mod support;

use reqwest::Method as M;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{call, codice_fiscale, ok, rows, spawn};
use tokio::time::Instant;

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    PgOutage(f64),
    KillReplica,
}

struct Opts {
    target: String,
    n: usize,
    rate: Option<f64>,
    secs: f64,
    lots: usize,
    provinces: usize,
    replicas: usize,
    probe: bool,
    retry: bool,
    fault: Option<Fault>,
}

fn opts() -> Opts {
    let mut o = Opts {
        target: "sqlite".into(),
        n: 500,
        rate: None,
        secs: 30.0,
        lots: 1,
        provinces: 1,
        replicas: 1,
        probe: false,
        retry: false,
        fault: None,
    };
    let mut args = std::env::args().skip(1);
    let mut positional = 0;
    while let Some(a) = args.next() {
        let mut val = |name: &str| -> String {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match a.as_str() {
            "--rate" => o.rate = Some(val("--rate").parse().expect("--rate R")),
            "--secs" => o.secs = val("--secs").parse().expect("--secs S"),
            "--lots" => o.lots = val("--lots").parse().expect("--lots L"),
            "--provinces" => o.provinces = val("--provinces").parse().expect("--provinces P"),
            "--replicas" => o.replicas = val("--replicas").parse().expect("--replicas K"),
            "--probe" => o.probe = true,
            "--retry" => o.retry = true,
            "--fault" => {
                let f = val("--fault");
                o.fault = Some(if f == "kill-replica" {
                    Fault::KillReplica
                } else if let Some(rest) = f.strip_prefix("pg-outage") {
                    Fault::PgOutage(rest.trim_start_matches(':').parse().unwrap_or(5.0))
                } else {
                    panic!("--fault pg-outage[:SECS] | kill-replica")
                });
                o.retry = true;
            }
            _ if a.starts_with("--") => panic!("unknown option {a}"),
            _ if positional == 0 => {
                o.target = a;
                positional += 1;
            }
            _ => o.n = a.parse().expect("N: a number of bidders"),
        }
    }
    assert!(o.lots >= 1 && o.provinces >= 1 && o.replicas >= 1);
    if o.target == "sqlite" {
        assert!(
            o.replicas == 1 && o.fault.is_none_or(|f| f == Fault::KillReplica),
            "replicas and the PostgreSQL outage need PostgreSQL"
        );
    }
    if o.fault == Some(Fault::KillReplica) {
        assert!(
            o.replicas >= 2,
            "--fault kill-replica needs --replicas 2 or more"
        );
    }
    o
}

/// A SIMOG first-version CIG with its check characters, from a progressive number.
fn cig(p: u64) -> String {
    format!("{p:07}{:03X}", p * 211 % 4091)
}

struct Province {
    buyer: String,
    municipality: String,
    lots: Vec<String>,
}

/// As the platform admin: Province `i` (code `B<i>`), its municipality, buyer and municipality tokens and,
/// when `lots` > 0, a published open tender with that many lots (CIG and evaluation rules on each).
async fn province(c: &reqwest::Client, base: &str, admin: &str, i: usize, lots: usize) -> Province {
    let p = ok(
        call(
            c,
            base,
            M::POST,
            "/v1/provinces",
            Some(admin),
            Some(json!({"code": format!("B{i}"), "name": format!("Provincia di prova {i}")})),
        )
        .await,
        201,
    );
    let m = ok(
        call(
            c,
            base,
            M::POST,
            "/v1/municipalities",
            Some(admin),
            Some(json!({
                "province_id": p["id"], "name": format!("Comune di prova {i}"),
                "codice_fiscale": codice_fiscale(700_000 + i as u32)
            })),
        )
        .await,
        201,
    );
    let token = |role: &str, org: &Value| {
        let body = Some(json!({"role": role, "org": org}));
        async move {
            ok(
                call(c, base, M::POST, "/v1/tokens", Some(admin), body).await,
                201,
            )["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let buyer = token("sua_buyer", &p["id"]).await;
    let municipality = token("municipality", &m["id"]).await;
    if lots == 0 {
        return Province {
            buyer,
            municipality,
            lots: vec![],
        };
    }
    let request = json!({
        "object": format!("Servizio di pulizia 2027, provincia {i}"), "contract_type": "services",
        "cpv": "90911200-8", "estimated_amount": format!("{}.00", 10_000 * lots),
        "lots": (0..lots).map(|l| json!({"title": format!("Lotto {}", l + 1), "estimated_amount": "10000.00"}))
            .collect::<Vec<_>>(),
        "rup": "Mario Rossi", "funding_source": "Fondi propri di bilancio",
        "desired_criterion": "lowest_price"
    });
    let r = ok(
        call(
            c,
            base,
            M::POST,
            "/v1/requests",
            Some(&municipality),
            Some(request),
        )
        .await,
        201,
    );
    let rid = r["id"].as_str().unwrap();
    let acc = ok(
        call(
            c,
            base,
            M::POST,
            &format!("/v1/requests/{rid}/accept"),
            Some(&buyer),
            Some(json!({"procedure_type": "aperta"})),
        )
        .await,
        201,
    );
    let tender = format!("/v1/tenders/{}", acc["tender_id"].as_str().unwrap());
    let events = format!("{tender}/events");
    let ev = |e: &str| Some(json!({"event": e}));
    ok(
        call(
            c,
            base,
            M::POST,
            &events,
            Some(&buyer),
            ev("adopt_decision_to_contract"),
        )
        .await,
        200,
    );
    let t = ok(
        call(c, base, M::GET, &tender, Some(&buyer), None).await,
        200,
    );
    let lot_ids: Vec<String> = t["lots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect();
    for (l, id) in lot_ids.iter().enumerate() {
        ok(
            call(
                c,
                base,
                M::PATCH,
                &format!("{tender}/lots/{id}"),
                Some(&buyer),
                Some(json!({
                    "cig": cig((i * 1000 + l + 1) as u64),
                    "evaluation_rules": testkit::fixtures::OPEN_LOT_RULES.clone()
                })),
            )
            .await,
            200,
        );
    }
    ok(
        call(c, base, M::POST, &events, Some(&buyer), ev("acquire_cig")).await,
        200,
    );
    let deadline = chrono::Utc::now() + chrono::Duration::days(40);
    ok(
        call(
            c,
            base,
            M::PATCH,
            &tender,
            Some(&buyer),
            Some(json!({"deadline": deadline})),
        )
        .await,
        200,
    );
    ok(
        call(c, base, M::POST, &events, Some(&buyer), ev("publish")).await,
        200,
    );
    Province {
        buyer,
        municipality,
        lots: lot_ids,
    }
}

/// Registers `n` economic operators, 16 at a time over the replicas; returns their tokens.
async fn register(c: &reqwest::Client, bases: &[String], n: usize) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..16 {
        let (c, base, next) = (c.clone(), bases[w % bases.len()].clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    break mine;
                }
                let reg = ok(
                    call(&c, &base, M::POST, "/v1/operators", None, Some(json!({
                        "name": format!("Operatore {i}"), "codice_fiscale": codice_fiscale(1000 + i as u32),
                        "pec": format!("op{i}@pec.it")
                    }))).await,
                    201,
                );
                mine.push((i, reg["token"].as_str().unwrap().to_owned()));
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    all.sort();
    all.into_iter().map(|(_, t)| t).collect()
}

/// The answer to one submission, after its retries.
struct Done {
    latency: Duration,
    status: u16,
    body: Value,
    attempts: u32,
}

/// One submission ([`support::submit_retrying`]), its latency counted from `scheduled`.
async fn submit(
    c: &reqwest::Client,
    bases: &[String],
    first: usize,
    lot: &str,
    token: &str,
    retry: bool,
    scheduled: Instant,
) -> Done {
    let give_up = Duration::from_secs(120);
    let (status, body, attempts) =
        support::submit_retrying(c, bases, first, lot, token, retry, give_up).await;
    Done {
        latency: scheduled.elapsed(),
        status,
        body,
        attempts,
    }
}

fn pct(lat: &mut [Duration], p: f64) -> Duration {
    lat.sort();
    if lat.is_empty() {
        return Duration::ZERO;
    }
    lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// The second Province's calls: reads (its buyer's tender list) at 20/s and writes (a new request of
/// its municipality) at 4/s, open loop, until `stop`; latencies from the scheduled time.
async fn probe(
    c: reqwest::Client,
    base: String,
    p: Arc<Province>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let start = Instant::now();
    let mut tasks = Vec::new();
    let mut i = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let at = start + Duration::from_millis(50 * u64::from(i));
        tokio::time::sleep_until(at).await;
        let (c, base, p) = (c.clone(), base.clone(), p.clone());
        let write = i % 5 == 4;
        tasks.push(tokio::spawn(async move {
            let (s, _) = if write {
                call(
                    &c,
                    &base,
                    M::POST,
                    "/v1/requests",
                    Some(&p.municipality),
                    Some(json!({
                        "object": "Fornitura di arredi scolastici", "contract_type": "supplies",
                        "cpv": "39160000-1", "estimated_amount": "40000.00",
                        "rup": "Anna Bianchi", "funding_source": "Fondi propri di bilancio",
                        "desired_criterion": "lowest_price"
                    })),
                )
                .await
            } else {
                call(
                    &c,
                    &base,
                    M::GET,
                    "/v1/tenders?page=1&per_page=20",
                    Some(&p.buyer),
                    None,
                )
                .await
            };
            (write, at.elapsed(), s == if write { 201 } else { 200 })
        }));
        i += 1;
    }
    let (mut reads, mut writes, mut failed) = (Vec::new(), Vec::new(), 0);
    for t in tasks {
        let (write, d, good) = t.await.unwrap();
        if !good {
            failed += 1;
        }
        if write { writes.push(d) } else { reads.push(d) }
    }
    (reads, writes, failed)
}

fn probe_line(what: &str, (mut r, mut w, failed): (Vec<Duration>, Vec<Duration>, usize)) -> String {
    format!(
        "{what}: reads {} p50 {} p99 {} max {}; writes {} p50 {} p99 {} max {}; failed {failed}",
        r.len(),
        ms(pct(&mut r, 0.5)),
        ms(pct(&mut r, 0.99)),
        ms(pct(&mut r, 1.0)),
        w.len(),
        ms(pct(&mut w, 0.5)),
        ms(pct(&mut w, 0.99)),
        ms(pct(&mut w, 1.0)),
    )
}

/// `/health` of every replica every 100 ms until `stop`: (time since `t0`, replica, status).
fn watch_health(
    c: reqwest::Client,
    bases: Vec<String>,
    t0: Instant,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(Duration, usize, u16)>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            for (i, b) in bases.iter().enumerate() {
                let s = match c
                    .get(format!("{b}/health"))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(r) => r.status().as_u16(),
                    Err(e) if e.is_timeout() => 1, // no answer within 2 s
                    Err(_) => 0,
                };
                seen.push((t0.elapsed(), i, s));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        seen
    })
}

#[tokio::main]
async fn main() {
    let o = opts();
    let load_before = support::load_average();
    let dir = tempfile::tempdir().unwrap();
    let (db_url, pg) = if o.target == "sqlite" {
        (
            format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display()),
            None,
        )
    } else {
        let pg = testkit::pg::ScratchPg::create_on(&o.target, "sua_bench").await;
        (pg.url.clone(), Some(pg))
    };
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(4096)
        .timeout(Duration::from_secs(90))
        .build()
        .unwrap();
    let env = [
        ("SUA_CLOCK__ALLOW_OVERRIDE", "true"),
        ("SUA_DATABASE__MAX_CONNECTIONS", "16"),
    ];
    // the first replica generates the development keys in the shared data directory; the others reuse them
    let mut servers = vec![spawn(dir.path(), &db_url, &env)];
    for _ in 1..o.replicas {
        servers.push(spawn(dir.path(), &db_url, &env));
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    let base = &bases[0];
    let admin = support::admin_token(dir.path(), &db_url);
    let mut provinces = Vec::new();
    for i in 0..o.provinces {
        provinces.push(province(&c, base, &admin, i, o.lots).await);
    }
    let second = if o.probe {
        Some(Arc::new(province(&c, base, &admin, o.provinces, 0).await))
    } else {
        None
    };
    let lots: Vec<String> = (0..o.lots)
        .flat_map(|l| provinces.iter().map(move |p| p.lots[l].clone()))
        .collect(); // round-robin over the Provinces
    let jobs = match o.rate {
        Some(r) => (r * o.secs).round() as usize,
        None => o.n,
    };
    let bidders = jobs.div_ceil(lots.len());
    let tokens = Arc::new(register(&c, &bases, bidders).await);
    // shortly before the deadline, on every replica (the clock offset is per process): the last minute,
    // or longer for an open-loop run that may last longer (else its late submissions are refused 409)
    let before = match o.rate {
        Some(_) => 60 + 4 * o.secs as i64,
        None => 60,
    };
    let deadline: chrono::DateTime<chrono::Utc> = {
        let t = ok(
            call(
                &c,
                base,
                M::GET,
                "/v1/tenders?page=1&per_page=1",
                Some(&provinces[0].buyer),
                None,
            )
            .await,
            200,
        );
        serde_json::from_value(t["items"][0]["deadline"].clone()).unwrap()
    };
    for b in &bases {
        ok(
            call(
                &c,
                b,
                M::PUT,
                "/v1/admin/clock",
                Some(&admin),
                Some(json!({"now": deadline - chrono::Duration::seconds(before)})),
            )
            .await,
            200,
        );
    }
    let idle_probe = match &second {
        Some(p) => {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let h = tokio::spawn(probe(c.clone(), base.clone(), p.clone(), stop.clone()));
            tokio::time::sleep(Duration::from_secs(5)).await;
            stop.store(true, Ordering::SeqCst);
            Some(h.await.unwrap())
        }
        None => None,
    };

    // the rush
    let stop_probe = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rush_probe = second.as_ref().map(|p| {
        tokio::spawn(probe(
            c.clone(),
            base.clone(),
            p.clone(),
            stop_probe.clone(),
        ))
    });
    let bases_arc = Arc::new(bases.clone());
    let lots = Arc::new(lots);
    let started = Instant::now();
    let acked_so_far = Arc::new(AtomicUsize::new(0));
    let stop_health = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let health = o
        .fault
        .map(|_| watch_health(c.clone(), bases.clone(), started, stop_health.clone()));
    let fault_at = match o.rate {
        Some(_) => Duration::from_secs_f64(o.secs / 2.0),
        None => Duration::MAX, // closed loop: once a third of the bids are acknowledged
    };
    let killed = match o.fault {
        Some(Fault::KillReplica) => Some(servers.pop().unwrap()),
        _ => None,
    };
    let fault_task = o.fault.map(|f| {
        let acked = acked_so_far.clone();
        let pg = pg.as_ref().map(|p| (o.target.clone(), p.name.clone()));
        let mut killed = killed;
        tokio::spawn(async move {
            // open loop: halfway in time; closed loop: once a third of the bids are acknowledged
            while started.elapsed() < fault_at && (fault_at != Duration::MAX || acked.load(Ordering::SeqCst) < jobs / 3) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let at = started.elapsed();
            match f {
                Fault::KillReplica => {
                    killed.as_mut().unwrap().kill();
                    format!("last replica killed (SIGKILL) at {:.1} s", at.as_secs_f64())
                }
                Fault::PgOutage(secs) => {
                    let (server, name) = pg.unwrap();
                    support::pg_refuse_connections(&server, &name, true).await;
                    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
                    support::pg_refuse_connections(&server, &name, false).await;
                    let back = started.elapsed();
                    format!(
                        "database {name} refused connections from {:.1} s to {:.1} s (its connections terminated)",
                        at.as_secs_f64(),
                        back.as_secs_f64()
                    )
                }
            }
        })
    });
    let period = o.rate.map(|r| Duration::from_secs_f64(1.0 / r));
    let mut tasks = Vec::with_capacity(jobs);
    for i in 0..jobs {
        let scheduled = match period {
            Some(p) => {
                let at = started + p * i as u32;
                tokio::time::sleep_until(at).await;
                at
            }
            None => started,
        };
        let (c, bases, lots, tokens, acked) = (
            c.clone(),
            bases_arc.clone(),
            lots.clone(),
            tokens.clone(),
            acked_so_far.clone(),
        );
        let retry = o.retry;
        tasks.push(tokio::spawn(async move {
            let lot = &lots[i % lots.len()];
            let d = submit(
                &c,
                &bases,
                i,
                lot,
                &tokens[i / lots.len()],
                retry,
                scheduled,
            )
            .await;
            if d.status == 201 {
                acked.fetch_add(1, Ordering::SeqCst);
            }
            d
        }));
    }
    stop_probe.store(true, Ordering::SeqCst);
    let mut lat = Vec::new();
    let mut acked: HashMap<String, Value> = HashMap::new();
    let mut refused: BTreeMap<u16, usize> = Default::default();
    let (mut retried, mut attempts_max) = (0usize, 0u32);
    for t in tasks {
        let d = t.await.unwrap();
        lat.push(d.latency);
        if d.attempts > 1 {
            retried += 1;
        }
        attempts_max = attempts_max.max(d.attempts);
        if d.status == 201 {
            acked.insert(
                d.body["id"].as_str().unwrap().to_owned(),
                d.body["receipt"].clone(),
            );
        } else {
            *refused.entry(d.status).or_default() += 1;
        }
    }
    let wall = started.elapsed();
    let fault_line = match fault_task {
        Some(t) => Some(t.await.unwrap()),
        None => None,
    };
    // after the fault: /health of the surviving replicas until all say 200 (at most 60 s)
    if health.is_some() {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            let mut all = true;
            for b in &bases[..servers.len()] {
                let s = c
                    .get(format!("{b}/health"))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0);
                all &= s == 200;
            }
            if all {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    stop_health.store(true, Ordering::SeqCst);
    let health_seen = match health {
        Some(h) => Some(h.await.unwrap()),
        None => None,
    };
    let rush_probe = match rush_probe {
        Some(h) => Some(h.await.unwrap()),
        None => None,
    };

    // what the database holds
    let bids: Vec<(String, String, String)> =
        rows(&db_url, "SELECT id, lot_id, operator_id FROM bid")
            .await
            .iter()
            .map(|r| {
                let u = |c: &str| r.try_get::<uuid::Uuid>("", c).unwrap().to_string();
                (u("id"), u("lot_id"), u("operator_id"))
            })
            .collect();
    let receipts: HashMap<String, Value> = rows(
        &db_url,
        "SELECT bid_id, json FROM signed_receipt WHERE version = 1",
    )
    .await
    .iter()
    .map(|r| {
        (
            r.try_get::<uuid::Uuid>("", "bid_id").unwrap().to_string(),
            serde_json::from_str(&r.try_get::<String>("", "json").unwrap()).unwrap(),
        )
    })
    .collect();
    let lost = acked
        .keys()
        .filter(|id| !receipts.contains_key(*id))
        .count();
    let pairs: HashSet<(&str, &str)> = bids
        .iter()
        .map(|(_, l, o)| (l.as_str(), o.as_str()))
        .collect();
    let duplicated = bids.len() - pairs.len();
    let unacked = bids
        .iter()
        .filter(|(id, _, _)| !acked.contains_key(id))
        .count();
    let differing = acked
        .iter()
        .filter(|(id, r)| receipts.get(*id).is_some_and(|s| s != *r))
        .count();

    let backend = if pg.is_some() { "postgresql" } else { "sqlite" };
    println!("== bench_submit ==");
    println!(
        "backend        {backend} (database.max_connections = 16), {} replica(s)\nserver binary  {} ({} build of this example)",
        o.replicas,
        support::sua().display(),
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    match o.rate {
        Some(r) => println!(
            "load           open loop: {r} submissions/s for {} s ({jobs}), latency from the scheduled send time",
            o.secs
        ),
        None => println!("load           closed loop: {jobs} concurrent submissions"),
    }
    println!(
        "tenders        {} Province(s), one tender each, {} lot(s) per tender; {bidders} bidders; server clock {before} s before the deadline{}",
        o.provinces,
        o.lots,
        if o.retry {
            "; clients retry with their Idempotency-Key"
        } else {
            ""
        }
    );
    println!("wall time      {:.2} s", wall.as_secs_f64());
    println!(
        "throughput     {:.1} acknowledged bids/s",
        acked.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "latency        p50 {}  p90 {}  p99 {}  max {}",
        ms(pct(&mut lat, 0.5)),
        ms(pct(&mut lat, 0.9)),
        ms(pct(&mut lat, 0.99)),
        ms(pct(&mut lat, 1.0))
    );
    println!(
        "outcome        acknowledged {}, refused {refused:?}, acknowledged but missing {lost}",
        acked.len()
    );
    println!(
        "stored         {} bids: duplicated {duplicated}, stored but not acknowledged {unacked}, receipts differing from the acknowledged {differing}",
        bids.len()
    );
    if o.retry {
        println!("retries        {retried} submissions retried (at most {attempts_max} attempts)");
    }
    if let Some(f) = fault_line {
        println!("fault          {f}");
    }
    if let Some(seen) = health_seen {
        let bad: Vec<_> = seen.iter().filter(|(_, _, s)| *s != 200).collect();
        let fmt = |x: Option<&&(Duration, usize, u16)>| {
            x.map(|(t, r, s)| format!("{:.1} s (replica {r}: {s})", t.as_secs_f64()))
                .unwrap_or_else(|| "-".into())
        };
        let mut counts: BTreeMap<u16, usize> = Default::default();
        for (_, _, s) in &seen {
            *counts.entry(*s).or_default() += 1;
        }
        println!(
            "health         {} polls, status counts {counts:?} (0 = refused, 1 = no answer in 2 s); first not 200 at {}, last at {}",
            seen.len(),
            fmt(bad.first()),
            fmt(bad.last())
        );
    }
    if let Some(p) = idle_probe {
        println!("{}", probe_line("second Prov.  idle", p));
    }
    if let Some(p) = rush_probe {
        println!("{}", probe_line("second Prov.  rush", p));
    }
    println!(
        "load average   {load_before} (before)  {} (after)",
        support::load_average()
    );
    drop(servers);
    if let Some(pg) = pg {
        pg.drop_db().await;
    }
    if lost > 0 || duplicated > 0 || differing > 0 || (o.retry && unacked > 0) {
        std::process::exit(1);
    }
}
