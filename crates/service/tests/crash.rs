//! Crash test (issue 6): `sua serve` is killed with SIGKILL while bidders are submitting; after a restart
//! on the same database every acknowledged bid is intact (its sealed envelopes and signed receipt, the
//! receipt verifying with the published key) and no half-written bid, envelope or receipt is visible.
//! SQLite always; PostgreSQL too when `SUA_TEST_DATABASE_URL` is set.

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SUA: &str = env!("CARGO_BIN_EXE_sua");

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
    let mut child = Command::new(SUA)
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
async fn published(c: &reqwest::Client, s: &Server, dir: &Path, db_url: &str) -> (String, String) {
    use reqwest::Method as M;
    let out = Command::new(SUA)
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
    (buyer, lot)
}

async fn rows(db_url: &str, q: &str) -> Vec<sea_orm::QueryResult> {
    let db = Database::connect(db_url).await.unwrap();
    let r = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), q))
        .await
        .unwrap();
    db.close().await.ok();
    r
}

async fn scenario(db_url: String, dir: tempfile::TempDir) {
    use reqwest::Method as M;
    let c = reqwest::Client::new();
    let server = spawn(dir.path(), &db_url);
    let (_buyer, lot) = published(&c, &server, dir.path(), &db_url).await;
    const N: u32 = 48;
    let mut tokens = Vec::new();
    for i in 0..N {
        let reg = ok(
            call(
                &c,
                &server.base,
                M::POST,
                "/v1/operators",
                None,
                Some(json!({
                    "name": format!("Operatore {i}"), "codice_fiscale": codice_fiscale(1000 + i),
                    "pec": format!("op{i}@pec.it")
                })),
            )
            .await,
            201,
        );
        tokens.push(reg["token"].as_str().unwrap().to_owned());
    }
    // submissions in flight from 8 workers; SIGKILL once 12 are acknowledged
    let acked = Arc::new(AtomicUsize::new(0));
    let queue = Arc::new(std::sync::Mutex::new(tokens));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (c, base, lot, acked, queue) = (
            c.clone(),
            server.base.clone(),
            lot.clone(),
            acked.clone(),
            queue.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let Some(tok) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = call(
                    &c,
                    &base,
                    M::POST,
                    &format!("/v1/lots/{lot}/bids"),
                    Some(&tok),
                    Some(json!({"declared_discount": "12.5", "administrative": {"dgue": "ok"}})),
                )
                .await;
                if r.0 == 201 {
                    acked.fetch_add(1, Ordering::SeqCst);
                    mine.push((tok, r.1));
                } else if r.0 == 0 {
                    // the server is gone: this one was never acknowledged
                    continue;
                } else {
                    panic!("unexpected refusal {}: {}", r.0, r.1);
                }
            }
            mine
        }));
    }
    let mut server = server;
    for _ in 0..600 {
        if acked.load(Ordering::SeqCst) >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    let mut acknowledged: Vec<(String, Value)> = Vec::new();
    for w in workers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(acknowledged.len() >= 12, "{}", acknowledged.len());
    assert!(
        (acknowledged.len() as u32) < N,
        "the kill came after every submission: the test proves nothing"
    );

    // restart on the same database (and the same generated keys)
    let server = spawn(dir.path(), &db_url);
    let keys = c
        .get(format!("{}/.well-known/sua-receipt-keys.json", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let published = sealing::parse_public_keys(&keys).unwrap();
    for (tok, ack) in &acknowledged {
        let id = ack["id"].as_str().unwrap();
        let env = ok(
            call(
                &c,
                &server.base,
                M::GET,
                &format!("/v1/bids/{id}/envelopes"),
                Some(tok),
                None,
            )
            .await,
            200,
        );
        let kinds: HashSet<&str> = env["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            HashSet::from(["administrative", "economic"]),
            "{env}"
        );
        let receipts = env["receipts"].as_array().unwrap();
        assert_eq!(receipts.len(), 1, "{env}");
        assert_eq!(
            receipts[0], ack["receipt"],
            "the stored receipt is the acknowledged one"
        );
        let r = sealing::verify_with_keys(receipts[0].to_string().as_bytes(), &published).unwrap();
        // the commitments on the receipt match the stored envelopes
        for line in &r.envelopes {
            let kind = serde_json::to_value(line.kind).unwrap();
            let e = env["envelopes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == kind)
                .unwrap();
            assert_eq!(e["commitment"], line.sealed_manifest_sha256.to_string());
        }
    }
    // nothing half-written: every bid has its envelopes and one receipt, every envelope and receipt a bid
    let bids: HashSet<uuid::Uuid> = rows(&db_url, "SELECT id FROM bid")
        .await
        .iter()
        .map(|r| r.try_get("", "id").unwrap())
        .collect();
    let mut envs: HashMap<uuid::Uuid, usize> = HashMap::new();
    for r in rows(&db_url, "SELECT bid_id FROM bid_envelope").await {
        *envs.entry(r.try_get("", "bid_id").unwrap()).or_default() += 1;
    }
    let mut receipts: HashMap<uuid::Uuid, usize> = HashMap::new();
    for r in rows(&db_url, "SELECT bid_id FROM bid_receipt").await {
        *receipts
            .entry(r.try_get("", "bid_id").unwrap())
            .or_default() += 1;
    }
    for b in &bids {
        assert_eq!(envs.get(b), Some(&2), "bid {b} without its envelopes");
        assert_eq!(receipts.get(b), Some(&1), "bid {b} without its receipt");
    }
    assert!(envs.keys().all(|b| bids.contains(b)), "orphan envelope");
    assert!(receipts.keys().all(|b| bids.contains(b)), "orphan receipt");
    assert!(bids.len() >= acknowledged.len());
    // receipt numbers have no gaps
    let mut seqs: Vec<i64> = rows(&db_url, "SELECT sequence FROM bid_receipt")
        .await
        .iter()
        .map(|r| r.try_get("", "sequence").unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_submissions_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display());
    scenario(url, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_submissions_postgres() {
    let Some(base) = std::env::var("SUA_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        eprintln!("skipped: crash test on PostgreSQL (set SUA_TEST_DATABASE_URL)");
        return;
    };
    let name = format!("sua_crash_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(&base).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    scenario(url, tempfile::tempdir().unwrap()).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .ok();
}
