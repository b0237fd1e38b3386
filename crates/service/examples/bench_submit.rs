//! Benchmark (issue 6): N bidders (default 500) submit sealed bids concurrently in the last minute before
//! the deadline; prints bids/s, latency percentiles and how many were acknowledged, refused or lost.
//! A benchmark, not a test: it prints figures (and exits 1 only if an acknowledged bid is missing).
//!
//!   cargo build -p service --bin sua --example bench_submit
//!   target/debug/examples/bench_submit [sqlite|postgres://user@host/db] [N]
//!
//! `SUA_BIN` names the `sua` binary (default: next to this example, `../sua`). For PostgreSQL a fresh
//! database is created on that server and dropped afterwards.

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn sua() -> std::path::PathBuf {
    std::env::var_os("SUA_BIN")
        .map(Into::into)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("sua")
        })
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(dir: &Path, db_url: &str) -> Server {
    let mut child = Command::new(sua())
        .arg("serve")
        .current_dir(dir)
        .env("SUA_DATABASE__URL", db_url)
        .env("SUA_HTTP__ADDR", "127.0.0.1:0")
        .env("SUA_MAIL__TRANSPORT__KIND", "file")
        .env("SUA_MAIL__TRANSPORT__DIR", dir.join("mail"))
        .env(
            "SUA_MAIL__TEMPLATES_DIR",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/templates/mail"),
        )
        .env("SUA_SCHEDULER__INTERVAL_SECS", "1")
        .env("SUA_CLOCK__ALLOW_OVERRIDE", "true")
        .env("SUA_DATABASE__MAX_CONNECTIONS", "16")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn sua serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("sua listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("sua serve did not start");
    Server { child, base }
}

async fn call(
    c: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = c.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    match r.send().await {
        Ok(resp) => {
            let s = resp.status().as_u16();
            (s, resp.json().await.unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

fn ok(r: (u16, Value), expected: u16) -> Value {
    assert_eq!(r.0, expected, "{}", r.1);
    r.1
}

/// An 11-digit numeric codice fiscale with a valid check digit.
fn codice_fiscale(n: u32) -> String {
    let digits = format!("{:07}001", n);
    let sum: u32 = digits
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// A published open procedure; returns (buyer token, lot id).
async fn published(
    c: &reqwest::Client,
    s: &Server,
    dir: &Path,
    db_url: &str,
) -> (String, String, String, chrono::DateTime<chrono::Utc>) {
    use reqwest::Method as M;
    let out = Command::new(sua())
        .args(["admin", "create-token", "--role", "platform_admin"])
        .current_dir(dir)
        .env("SUA_DATABASE__URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    let admin = String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let b = &s.base;
    let p = ok(
        call(
            c,
            b,
            M::POST,
            "/v1/provinces",
            Some(&admin),
            Some(json!({"code": "VM", "name": "Provincia di Valmarina"})),
        )
        .await,
        201,
    );
    let m = ok(
        call(c, b, M::POST, "/v1/municipalities", Some(&admin), Some(json!({"province_id": p["id"], "name": "Comune di Castelrupe", "codice_fiscale": "00430120048"}))).await,
        201,
    );
    let tok = |role: &str, org: &Value| Some(json!({"role": role, "org": org}));
    let buyer = ok(
        call(
            c,
            b,
            M::POST,
            "/v1/tokens",
            Some(&admin),
            tok("sua_buyer", &p["id"]),
        )
        .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let muni = ok(
        call(
            c,
            b,
            M::POST,
            "/v1/tokens",
            Some(&admin),
            tok("municipality", &m["id"]),
        )
        .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = ok(
        call(c, b, M::POST, "/v1/requests", Some(&muni), Some(json!({
            "object": "Servizio di pulizia 2027", "contract_type": "services", "cpv": "90911200-8",
            "estimated_amount": "180000.00",
            "lots": [{"title": "Lotto unico", "estimated_amount": "180000.00"}],
            "rup": "Mario Rossi", "funding_source": "Fondi propri di bilancio",
            "desired_criterion": "lowest_price"
        }))).await,
        201,
    );
    let rid = r["id"].as_str().unwrap();
    let acc = ok(
        call(
            c,
            b,
            M::POST,
            &format!("/v1/requests/{rid}/accept"),
            Some(&buyer),
            Some(json!({"procedure_type": "aperta"})),
        )
        .await,
        201,
    );
    let tid = acc["tender_id"].as_str().unwrap().to_owned();
    let t = ok(
        call(
            c,
            b,
            M::GET,
            &format!("/v1/tenders/{tid}"),
            Some(&buyer),
            None,
        )
        .await,
        200,
    );
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    let ev = |e: &str| Some(json!({"event": e}));
    let tev = format!("/v1/tenders/{tid}/events");
    ok(
        call(
            c,
            b,
            M::POST,
            &tev,
            Some(&buyer),
            ev("adopt_decision_to_contract"),
        )
        .await,
        200,
    );
    ok(
        call(
            c,
            b,
            M::PATCH,
            &format!("/v1/tenders/{tid}/lots/{lot}"),
            Some(&buyer),
            Some(json!({"cig": "B5A520026C"})),
        )
        .await,
        200,
    );
    ok(
        call(c, b, M::POST, &tev, Some(&buyer), ev("acquire_cig")).await,
        200,
    );
    let deadline = chrono::Utc::now() + chrono::Duration::days(40);
    ok(
        call(
            c,
            b,
            M::PATCH,
            &format!("/v1/tenders/{tid}"),
            Some(&buyer),
            Some(json!({"deadline": deadline})),
        )
        .await,
        200,
    );
    ok(
        call(c, b, M::POST, &tev, Some(&buyer), ev("publish")).await,
        200,
    );
    let t = ok(
        call(
            c,
            b,
            M::GET,
            &format!("/v1/tenders/{tid}"),
            Some(&buyer),
            None,
        )
        .await,
        200,
    );
    let deadline = serde_json::from_value(t["deadline"].clone()).unwrap();
    (admin, buyer, lot, deadline)
}

#[allow(dead_code)]
async fn rows(db_url: &str, q: &str) -> Vec<sea_orm::QueryResult> {
    let db = Database::connect(db_url).await.unwrap();
    let r = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), q))
        .await
        .unwrap();
    db.close().await.ok();
    r
}

#[tokio::main]
async fn main() {
    use reqwest::Method as M;
    let args: Vec<String> = std::env::args().collect();
    let target = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(500);
    let dir = tempfile::tempdir().unwrap();
    let (db_url, pg) = if target == "sqlite" {
        (
            format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display()),
            None,
        )
    } else {
        let name = format!("sua_bench_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&target).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let (prefix, _) = target.rsplit_once('/').unwrap();
        (format!("{prefix}/{name}"), Some((admin, name)))
    };
    let c = reqwest::Client::builder()
        .pool_max_idle_per_host(n)
        .build()
        .unwrap();
    let server = spawn(dir.path(), &db_url);
    let (admin, _buyer, lot, deadline) = published(&c, &server, dir.path(), &db_url).await;
    let mut tokens = Vec::new();
    for i in 0..n {
        let reg = ok(
            call(&c, &server.base, M::POST, "/v1/operators", None, Some(json!({
                "name": format!("Operatore {i}"), "codice_fiscale": codice_fiscale(1000 + i as u32),
                "pec": format!("op{i}@pec.it")
            }))).await,
            201,
        );
        tokens.push(reg["token"].as_str().unwrap().to_owned());
    }
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
                let r = call(
                    &c,
                    &base,
                    M::POST,
                    &format!("/v1/lots/{lot}/bids"),
                    Some(&tok),
                    Some(json!({"declared_discount": "12.5", "administrative": {"dgue": "ok"}})),
                )
                .await;
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
    println!(
        "{target}: {n} concurrent submissions in {:.2} s: {:.1} bids/s acknowledged; latency p50 {:?} p90 {:?} p99 {:?} max {:?}; acknowledged {}, refused {:?}, acknowledged but missing {lost}",
        wall.as_secs_f64(),
        acked.len() as f64 / wall.as_secs_f64(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        lat[lat.len() - 1],
        acked.len(),
        refused,
    );
    drop(server);
    if let Some((admin, name)) = pg {
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    }
    if lost > 0 {
        std::process::exit(1);
    }
}
