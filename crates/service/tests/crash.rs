//! Crash tests (issue 6): `sua serve` is killed with SIGKILL
//! - while bidders are submitting: after a restart on the same database every acknowledged bid is intact
//!   (its sealed envelopes and signed receipt, the receipt verifying with the published key) and no
//!   half-written bid, envelope or receipt is visible;
//! - in the middle of a file upload: after a restart there is no `bid_file` row and no file in the
//!   document store for it (incomplete uploads are removed at start-up), the file acknowledged before the
//!   crash is still listed on the bidder's signed receipt and downloads with its hash after opening, and
//!   the interrupted bidder can upload again.
//!
//! SQLite always; PostgreSQL too when `SUA_TEST_DATABASE_URL` is set. The server set-up and HTTP helpers
//! are in `tests/support` (shared with `examples/bench_submit.rs`).

mod support;

use reqwest::Method as M;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use support::{call, ok, published, register_bidders, rows, spawn, submit_bid};
use testkit::pg::ScratchPg;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn submissions_scenario(db_url: String, dir: tempfile::TempDir) {
    let c = reqwest::Client::new();
    let server = spawn(dir.path(), &db_url, &[]);
    let lot = published(&c, &server, dir.path(), &db_url).await.lot;
    const N: u32 = 48;
    let tokens = register_bidders(&c, &server.base, 0, N).await;
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
                let r = submit_bid(&c, &base, &lot, &tok).await;
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
    server.kill(); // SIGKILL
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
    let server = spawn(dir.path(), &db_url, &[]);
    let published_keys = receipt_keys(&c, &server).await;
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
        let r =
            sealing::verify_with_keys(receipts[0].to_string().as_bytes(), &published_keys).unwrap();
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
    for r in rows(&db_url, "SELECT bid_id FROM signed_receipt").await {
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
    assert_gap_free(&db_url).await;
    drop(server);
}

async fn receipt_keys(c: &reqwest::Client, s: &support::Server) -> Vec<sealing::PublishedKey> {
    let keys = c
        .get(format!("{}/.well-known/sua-receipt-keys.json", s.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    sealing::parse_public_keys(&keys).unwrap()
}

/// Receipt numbers have no gaps within each Province.
async fn assert_gap_free(db_url: &str) {
    let mut per_province: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for r in rows(db_url, "SELECT province_id, sequence FROM signed_receipt").await {
        let p: uuid::Uuid = r.try_get("", "province_id").unwrap();
        per_province
            .entry(p.to_string())
            .or_default()
            .push(r.try_get("", "sequence").unwrap());
    }
    assert!(!per_province.is_empty(), "no receipt stored");
    for (p, mut seqs) in per_province {
        seqs.sort();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "Province {p}"
        );
    }
}

/// Every regular file under `dir`, as paths relative to it.
fn store_files(dir: &Path) -> Vec<(String, u64)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, u64)>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            let md = e.metadata().unwrap();
            if md.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, md.len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A file body that is not trivially compressible, reproducible from its length and seed.
fn content(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

async fn upload(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    media: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let r = c
        .put(format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", media)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Starts an upload of `declared` bytes over a raw HTTP/1.1 connection and sends at most `send` of them,
/// 64 KiB at a time, then keeps the connection open without finishing. `sent` counts what was written;
/// the task ends when the server goes away, returning whatever the server answered (nothing, if killed).
fn slow_upload(
    base: &str,
    token: &str,
    path: &str,
    declared: u64,
    send: u64,
    sent: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<Vec<u8>> {
    let addr = base.trim_start_matches("http://").to_owned();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/zip\r\nContent-Length: {declared}\r\n\r\n"
    );
    tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        let chunk = content(64 << 10, 9);
        while sent.load(Ordering::SeqCst) < send {
            if s.write_all(&chunk).await.is_err() {
                break;
            }
            sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // stalled mid-body: wait for an answer or for the connection to die
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(120), s.read_to_end(&mut answer)).await;
        answer
    })
}

async fn sua_verify(dir: &Path, receipt: &str, keys: &str) -> std::process::Output {
    let (r, k) = (dir.join("receipt.json"), dir.join("keys.json"));
    std::fs::write(&r, receipt).unwrap();
    std::fs::write(&k, keys).unwrap();
    Command::new(support::sua())
        .args(["receipt", "verify"])
        .arg(&r)
        .arg("--key")
        .arg(&k)
        .output()
        .unwrap()
}

/// The mails written by the file transport so far, decoded enough to search (quoted-printable soft line
/// breaks removed).
fn mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("mail"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            String::from_utf8_lossy(&std::fs::read(e.path()).unwrap())
                .replace("=\r\n", "")
                .replace("=\n", "")
        })
        .collect()
}

async fn upload_scenario(db_url: String, dir: tempfile::TempDir) {
    let c = reqwest::Client::new();
    let env = [("SUA_CLOCK__ALLOW_OVERRIDE", "true")];
    let store: PathBuf = dir.path().join("data/documents");
    let server = spawn(dir.path(), &db_url, &env);
    let t = published(&c, &server, dir.path(), &db_url).await;
    let tokens = register_bidders(&c, &server.base, 0, 2).await;
    let (ta, tb) = (&tokens[0], &tokens[1]);
    let bid_a = ok(submit_bid(&c, &server.base, &t.lot, ta).await, 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bid_b = ok(submit_bid(&c, &server.base, &t.lot, tb).await, 201)["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // bidder A's file is acknowledged: the signed receipt lists it (name, media type, size, SHA-256)
    let doc_a = content(300_000, 1);
    let path_a = format!("/v1/bids/{bid_a}/envelopes/administrative/files/dgue.pdf");
    let up = ok(
        upload(
            &c,
            &server.base,
            ta,
            &path_a,
            "application/pdf",
            doc_a.clone(),
        )
        .await,
        201,
    );
    let sha_a = sealing::Sha256Digest::of(&doc_a).to_string();
    assert_eq!(up["sha256"], sha_a.as_str(), "{up}");
    let receipt_a = up["receipt"].clone();
    assert_eq!(receipt_a["receipt"]["action"], "file_upload", "{up}");
    let line = receipt_a["receipt"]["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "administrative")
        .unwrap()
        .clone();
    assert_eq!(
        line["files"],
        json!([{"media_type": "application/pdf", "name": "dgue.pdf", "sha256": sha_a, "size": 300_000}]),
        "{receipt_a}"
    );
    // it verifies with the published keys through the CLI; with the file hash changed it does not
    let keys_text = c
        .get(format!("{}/.well-known/sua-receipt-keys.json", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let out = sua_verify(dir.path(), &receipt_a.to_string(), &keys_text).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"dgue.pdf\" (application/pdf, 300000 bytes)"),
        "{stdout}"
    );
    assert!(stdout.contains(&sha_a), "{stdout}");
    let mut forged = receipt_a.clone();
    for e in forged["receipt"]["envelopes"].as_array_mut().unwrap() {
        if e["kind"] == "administrative" {
            e["files"][0]["sha256"] = "00".repeat(32).into();
        }
    }
    assert_ne!(forged, receipt_a);
    let out = sua_verify(dir.path(), &forged.to_string(), &keys_text).await;
    assert!(
        !out.status.success(),
        "a receipt with a changed file hash verified"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signature does not verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // and the bidder's PEC receipt names the file with its hash
    let mut mailed = false;
    for _ in 0..100 {
        if mails(dir.path())
            .iter()
            .any(|m| m.contains("dgue.pdf") && m.contains(&sha_a))
        {
            mailed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(mailed, "no receipt mail lists dgue.pdf with its SHA-256");
    let before = store_files(&store);
    assert_eq!(before.len(), 1, "{before:?}");

    // bidder B's 64 MiB upload is in flight (about 24 MiB sent, the body never finished): SIGKILL
    let path_b = format!("/v1/bids/{bid_b}/envelopes/administrative/files/offerta.zip");
    let sent = Arc::new(AtomicU64::new(0));
    let task = slow_upload(&server.base, tb, &path_b, 64 << 20, 24 << 20, sent.clone());
    let mut server = server;
    let mut on_disk = false;
    for _ in 0..600 {
        let now = store_files(&store);
        // the upload's bytes are in the store directory (a temp or staging file), not yet a stored file
        if sent.load(Ordering::SeqCst) >= 24 << 20
            && now.iter().any(|f| !before.contains(f) && f.1 > 0)
        {
            on_disk = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = store_files(&store);
    server.kill();
    assert!(
        on_disk,
        "the upload never reached the store directory: {during:?}"
    );
    let answer = task.await.unwrap();
    assert!(
        answer.is_empty(),
        "the server answered the unfinished upload: {}",
        String::from_utf8_lossy(&answer)
    );

    // restart on the same database and data directory
    let server = spawn(dir.path(), &db_url, &env);
    let files = rows(&db_url, "SELECT bid_id, name, sealed_path FROM bid_file").await;
    let names: Vec<(uuid::Uuid, String)> = files
        .iter()
        .map(|r| {
            (
                r.try_get("", "bid_id").unwrap(),
                r.try_get("", "name").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        vec![(bid_a.parse().unwrap(), "dgue.pdf".to_owned())],
        "only the acknowledged file has a row"
    );
    // no half-written file is left in the store: only the acknowledged object
    let after = store_files(&store);
    let sealed_path: String = files[0].try_get("", "sealed_path").unwrap();
    assert_eq!(
        after, before,
        "left in the store after the crash (during: {during:?})"
    );
    assert!(
        after.iter().any(|(p, _)| *p == sealed_path),
        "{after:?} / {sealed_path}"
    );
    // A's receipts: the submission and the upload, the latest one the acknowledged one
    let envs = ok(
        call(
            &c,
            &server.base,
            M::GET,
            &format!("/v1/bids/{bid_a}/envelopes"),
            Some(ta),
            None,
        )
        .await,
        200,
    );
    let receipts = envs["receipts"].as_array().unwrap();
    assert_eq!(receipts.len(), 2, "{envs}");
    assert_eq!(receipts[1], receipt_a);
    // B has no file, its receipt none either; B uploads again (same name) and gets it on a receipt
    let envs = ok(
        call(
            &c,
            &server.base,
            M::GET,
            &format!("/v1/bids/{bid_b}/envelopes"),
            Some(tb),
            None,
        )
        .await,
        200,
    );
    assert_eq!(envs["receipts"].as_array().unwrap().len(), 1, "{envs}");
    let doc_b = content(3 << 20, 2);
    let up = ok(
        upload(
            &c,
            &server.base,
            tb,
            &path_b,
            "application/zip",
            doc_b.clone(),
        )
        .await,
        201,
    );
    let sha_b = sealing::Sha256Digest::of(&doc_b).to_string();
    assert_eq!(up["sha256"], sha_b.as_str());
    let keys = receipt_keys(&c, &server).await;
    let r = sealing::verify_with_keys(up["receipt"].to_string().as_bytes(), &keys).unwrap();
    let listed: Vec<_> = r.envelopes.iter().flat_map(|e| e.files.iter()).collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].size),
        ("offerta.zip", 3 << 20)
    );
    assert_eq!(listed[0].sha256.to_string(), sha_b);
    assert_gap_free(&db_url).await;

    // after the deadline and the openings, both files download with their hashes
    ok(
        call(
            &c,
            &server.base,
            M::PUT,
            "/v1/admin/clock",
            Some(&t.admin),
            Some(json!({"now": t.deadline + chrono::Duration::minutes(1)})),
        )
        .await,
        200,
    );
    let tender = format!("/v1/tenders/{}", t.tender);
    for _ in 0..100 {
        let v = ok(
            call(&c, &server.base, M::GET, &tender, Some(&t.buyer), None).await,
            200,
        );
        if v["state"] == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ev = |e: &str| Some(json!({"event": e}));
    ok(
        call(
            &c,
            &server.base,
            M::POST,
            &format!("{tender}/events"),
            Some(&t.buyer),
            ev("start_evaluation"),
        )
        .await,
        200,
    );
    let lev = format!("/v1/lots/{}/events", t.lot);
    ok(
        call(
            &c,
            &server.base,
            M::POST,
            &lev,
            Some(&t.buyer),
            ev("open_administrative"),
        )
        .await,
        200,
    );
    let get = |path: String| {
        let c = c.clone();
        let (base, tok) = (server.base.clone(), t.buyer.clone());
        async move {
            let r = c
                .get(format!("{base}{path}"))
                .bearer_auth(tok)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
        }
    };
    let (st, got) = get(path_a.clone()).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&got));
    assert_eq!(sealing::Sha256Digest::of(&got).to_string(), sha_a);
    // a row changed behind the platform's back (here: renamed; content and hashes intact, so only the
    // signed receipt can tell) is refused: the download must match the latest receipt
    {
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(&db_url).await.unwrap();
        db.execute_unprepared("UPDATE bid_file SET name = 'renamed.pdf' WHERE name = 'dgue.pdf'")
            .await
            .unwrap();
        db.close().await.ok();
    }
    let (st, body) = get(path_a.replace("dgue.pdf", "renamed.pdf")).await;
    assert_eq!(st, 409, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["rule"], "file integrity", "{v}");
    let (st, got) = get(path_b.clone()).await;
    assert_eq!(st, 200, "{}", String::from_utf8_lossy(&got));
    assert_eq!(got.len(), doc_b.len());
    assert_eq!(sealing::Sha256Digest::of(&got).to_string(), sha_b);
    drop(server);
}

async fn on_postgres(prefix: &str) -> ScratchPg {
    ScratchPg::create(prefix).await
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_submissions_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    submissions_scenario(sqlite_url(&dir), dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn sigkill_during_submissions_postgres() {
    let pg = on_postgres("sua_crash").await;
    submissions_scenario(pg.url.clone(), tempfile::tempdir().unwrap()).await;
    pg.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_an_upload_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    upload_scenario(sqlite_url(&dir), dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn sigkill_during_an_upload_postgres() {
    let pg = on_postgres("sua_crash_up").await;
    upload_scenario(pg.url.clone(), tempfile::tempdir().unwrap()).await;
    pg.drop_db().await;
}
