//! Benchmark (issue 6): upload one large file (default 1 GiB, generated on the fly, never held in
//! memory) into a sealed bid envelope of an in-process `sua` server on loopback; prints MB/s and the
//! process's peak RSS (VmHWM), which includes the server since it runs in this process.
//!
//!   cargo run --release -p service --example bench_upload [MiB]
//!
//! A benchmark, not a test: it prints figures; it exits non-zero only if the upload is not accepted
//! or the stored size/SHA-256 differ from what was sent.

use serde_json::{Value, json};
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

async fn call(
    c: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    expected: u16,
) -> Value {
    let mut r = c.request(method, format!("{base}{path}"));
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("request");
    let s = resp.status().as_u16();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(s, expected, "{path}: {v}");
    v
}

#[tokio::main]
async fn main() {
    use reqwest::Method as M;
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
    )
    .await
    .unwrap();
    let state = AppState {
        db,
        clock: Arc::new(OffsetClock::default()),
        settings: Arc::new(settings),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, api::app(state)).await });

    let c = reqwest::Client::new();
    let b = base.as_str();
    let p = call(
        &c,
        b,
        M::POST,
        "/v1/provinces",
        Some(&admin),
        Some(json!({"code": "VM", "name": "Provincia di Valmarina"})),
        201,
    )
    .await;
    let m = call(
        &c,
        b,
        M::POST,
        "/v1/municipalities",
        Some(&admin),
        Some(json!({"province_id": p["id"],
        "name": "Comune di Castelrupe", "codice_fiscale": "00430120048"})),
        201,
    )
    .await;
    let tok = |role: &str, org: &Value| Some(json!({"role": role, "org": org}));
    let buyer = call(
        &c,
        b,
        M::POST,
        "/v1/tokens",
        Some(&admin),
        tok("sua_buyer", &p["id"]),
        201,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let muni = call(
        &c,
        b,
        M::POST,
        "/v1/tokens",
        Some(&admin),
        tok("municipality", &m["id"]),
        201,
    )
    .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = call(
        &c,
        b,
        M::POST,
        "/v1/requests",
        Some(&muni),
        Some(json!({
        "object": "Servizio di pulizia 2027", "contract_type": "services", "cpv": "90911200-8",
        "estimated_amount": "180000.00",
        "lots": [{"title": "Lotto unico", "estimated_amount": "180000.00"}],
        "rup": "Mario Rossi", "funding_source": "Fondi propri di bilancio",
        "desired_criterion": "lowest_price"})),
        201,
    )
    .await;
    let rid = r["id"].as_str().unwrap();
    let acc = call(
        &c,
        b,
        M::POST,
        &format!("/v1/requests/{rid}/accept"),
        Some(&buyer),
        Some(json!({"procedure_type": "aperta"})),
        201,
    )
    .await;
    let tid = acc["tender_id"].as_str().unwrap().to_owned();
    let t = call(
        &c,
        b,
        M::GET,
        &format!("/v1/tenders/{tid}"),
        Some(&buyer),
        None,
        200,
    )
    .await;
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    let tev = format!("/v1/tenders/{tid}/events");
    let ev = |e: &str| Some(json!({"event": e}));
    call(
        &c,
        b,
        M::POST,
        &tev,
        Some(&buyer),
        ev("adopt_decision_to_contract"),
        200,
    )
    .await;
    call(
        &c,
        b,
        M::PATCH,
        &format!("/v1/tenders/{tid}/lots/{lot}"),
        Some(&buyer),
        Some(json!({"cig": "B5A520026C"})),
        200,
    )
    .await;
    call(&c, b, M::POST, &tev, Some(&buyer), ev("acquire_cig"), 200).await;
    let deadline = chrono::Utc::now() + chrono::Duration::days(40);
    call(
        &c,
        b,
        M::PATCH,
        &format!("/v1/tenders/{tid}"),
        Some(&buyer),
        Some(json!({"deadline": deadline})),
        200,
    )
    .await;
    call(&c, b, M::POST, &tev, Some(&buyer), ev("publish"), 200).await;
    let op = call(
        &c,
        b,
        M::POST,
        "/v1/operators",
        None,
        Some(json!({"name": "Pulizie Alfa srl",
        "codice_fiscale": "05949241110", "pec": "alfa@pec.it"})),
        201,
    )
    .await;
    let bidder = op["token"].as_str().unwrap().to_owned();
    let bid = call(
        &c,
        b,
        M::POST,
        &format!("/v1/lots/{lot}/bids"),
        Some(&bidder),
        Some(json!({"declared_discount": "12.5"})),
        201,
    )
    .await;
    let bid = bid["id"].as_str().unwrap().to_owned();

    // the body: `total` bytes in 256 KiB pieces of a cheap pattern, hashed as they are produced
    let rss_before = peak_rss_kib();
    let mut hasher = Sha256::new();
    const PIECE: u64 = 256 * 1024;
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
    let mut v = vec![0u8; PIECE as usize];
    for i in 0..total.div_ceil(PIECE) {
        let len = PIECE.min(total - i * PIECE) as usize;
        v.truncate(0);
        v.resize(len, (i % 251) as u8);
        v[0] = (i >> 8) as u8;
        hasher.update(&v);
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
    let sent = hex::encode(hasher.finalize());
    assert_eq!(v["size"], total, "{v}");
    assert_eq!(v["sha256"], sent.as_str(), "{v}");
    println!(
        "uploaded {mib} MiB in {secs:.2} s: {:.0} MB/s (MiB/s {:.0}); peak RSS {} MiB (before upload {} MiB); sealed size {}",
        total as f64 / 1e6 / secs,
        total as f64 / (1u64 << 20) as f64 / secs,
        peak_rss_kib() / 1024,
        rss_before / 1024,
        v["sealed_size"],
    );
}

use tokio::io::{AsyncReadExt, AsyncWriteExt};
