//! Hostile clients (issue 20): control characters and bidirectional overrides in free text, unknown
//! fields in a body; later: server limits, the per-token rate limit, token expiry and revocation.

use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::json;

/// Each refused body is a 422 problem naming the field, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_bidi_overrides_and_unknown_fields_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let cases = [
        ("object", json!("Servizio\u{0}di pulizia")),
        ("object", json!("Servizio \u{202E}atsiv")),
        ("rup", json!("Mario\u{1b}[2J Rossi")),
        ("lots[0].title", json!("Lotto\u{2066}unico")),
    ];
    for (field, v) in cases {
        let mut b = request_body();
        if field == "lots[0].title" {
            b["lots"][0]["title"] = v;
        } else {
            b[field] = v;
        }
        let r = app.post("/v1/requests", Some(&w.municipality), &b).await;
        assert_eq!(r.0, 422, "{field}: {}", r.1);
        assert_eq!(r.1["field"], field, "{}", r.1);
        assert_eq!(r.1["type"], "https://sua.invalid/problems/invalid-input");
    }
    // tab and newline are text
    let mut b = request_body();
    b["desired_timing"] = json!("entro marzo 2027\n\tsalvo proroghe");
    ok(
        &app.post("/v1/requests", Some(&w.municipality), &b).await,
        201,
    );
    // an unknown field, at the top and inside a lot
    let mut b = request_body();
    b["priority"] = json!("high");
    let r = app.post("/v1/requests", Some(&w.municipality), &b).await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("priority")),
        "{}",
        r.1
    );
    let mut b = request_body();
    b["lots"][0]["cig"] = json!("x");
    let r = app.post("/v1/requests", Some(&w.municipality), &b).await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "lots[0].cig", "{}", r.1);
    // POST /v1/tokens accepted unknown fields before (issue 20)
    let (okc, admin) = app.cli(&["admin", "create-token", "--role", "platform_admin"]);
    assert!(okc, "{admin}");
    let admin = admin.lines().last().unwrap().to_owned();
    let r = app
        .post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin", "scopes": ["all"]}),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("scopes")),
        "{}",
        r.1
    );
    let r = app
        .post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin", "label": "ops\u{0}"}),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("label")),
        "{}",
        r.1
    );
    // one request was created, by the accepted body
    assert_eq!(
        ok(&app.get("/v1/requests", Some(&w.municipality)).await, 200)["total"],
        1
    );
}

fn host(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// A connection that starts a request and never finishes its header is closed after
/// `http.header_read_timeout_secs`; meanwhile the server answers others at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_header_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[("SUA_HTTP__HEADER_READ_TIMEOUT_SECS", "1")],
    )
    .await;
    let start = std::time::Instant::now();
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = tokio::net::TcpStream::connect(host(&app)).await.unwrap();
        s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: 1")
            .await
            .unwrap();
        slow.push(s);
    }
    // others are served while the slow ones hang
    let t = std::time::Instant::now();
    let r = app.get("/health/live", None).await;
    assert_eq!(r.0, 200);
    assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
    for mut s in slow {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("the server must close a connection whose header never ends")
            .unwrap_or(0);
        // closed (perhaps after a 408 status line), never a served request
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(900),
        "closed before the timeout: {:?}",
        start.elapsed()
    );
    assert_eq!(app.get("/health/live", None).await.0, 200);
}

/// At most `http.max_connections` connections are served: the next one waits until one closes (here
/// the silent ones, closed by the header-read timeout), then is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("SUA_HTTP__HEADER_READ_TIMEOUT_SECS", "2"),
            ("SUA_HTTP__MAX_CONNECTIONS", "3"),
        ],
    )
    .await;
    // the start-up probe's idle connections are closed by the header-read timer
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(tokio::net::TcpStream::connect(host(&app)).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let t = std::time::Instant::now();
    let r = fresh()
        .get(app.url("/health/live"))
        .timeout(std::time::Duration::from_millis(800))
        .send()
        .await;
    assert!(r.is_err(), "served past the cap: {r:?}");
    let r = fresh()
        .get(app.url("/health/live"))
        .timeout(std::time::Duration::from_secs(6))
        .send()
        .await
        .expect("served once the silent connections are closed");
    assert_eq!(r.status(), 200);
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    drop(silent);
}

/// Past `http.rate_limit_burst` requests at once, a token is answered 429 with `Retry-After` and a
/// problem document; another token is not affected; after the wait the token is served again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_past_its_rate_is_answered_429_with_retry_after() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        &[
            ("SUA_HTTP__RATE_LIMIT_PER_SECOND", "1"),
            ("SUA_HTTP__RATE_LIMIT_BURST", "3"),
        ],
    )
    .await;
    let token = |app: &TestApp| {
        let (okc, t) = app.cli(&["admin", "create-token", "--role", "platform_admin"]);
        assert!(okc, "{t}");
        t.lines().last().unwrap().to_owned()
    };
    let (a, b) = (token(&app), token(&app));
    for _ in 0..3 {
        assert_eq!(app.get("/v1/requests", Some(&a)).await.0, 200);
    }
    let resp = app
        .client
        .get(app.url("/v1/requests"))
        .bearer_auth(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(
        body["type"], "https://sua.invalid/problems/rate-limited",
        "{body}"
    );
    assert_eq!(body["status"], 429);
    // the other token has its own bucket; anonymous public reads are not counted per token
    assert_eq!(app.get("/v1/requests", Some(&b)).await.0, 200);
    assert_eq!(app.get("/v1/public/tenders", None).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    assert_eq!(app.get("/v1/requests", Some(&a)).await.0, 200);
}
