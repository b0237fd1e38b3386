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
    // a page past the last one is refused, not an overflow (it was a panic in the paginator)
    for q in ["page=9223372036854775808", "page=1000001", "page=0"] {
        let r = app.get(&format!("/v1/tenders?{q}"), Some(&w.buyer)).await;
        assert_eq!(
            (r.0, r.1["field"].as_str()),
            (422, Some("page")),
            "{q}: {}",
            r.1
        );
    }
    assert_eq!(
        app.get("/v1/tenders?page=1000000", Some(&w.buyer)).await.0,
        200
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

fn admin_token(app: &TestApp, extra: &[&str]) -> String {
    let mut args = vec!["admin", "create-token", "--role", "platform_admin"];
    args.extend_from_slice(extra);
    let (okc, t) = app.cli(&args);
    assert!(okc, "{t}");
    t.lines().last().unwrap().to_owned()
}

fn sha_prefix(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))[..12].to_owned()
}

/// Tokens expire: an explicit `expires_at` (in the future only), the configured default otherwise; an
/// expired token is answered 401 naming why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused() {
    let app = TestApp::spawn_with(Backend::Sqlite, &[("SUA_TOKENS__DEFAULT_TTL_DAYS", "30")]).await;
    let admin = admin_token(&app, &["--expires-in-days", "0"]);
    let now = chrono::Utc::now();
    let r = ok(
        &app.post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin"}),
        )
        .await,
        201,
    );
    let default_exp: chrono::DateTime<chrono::Utc> =
        r["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (default_exp - now).num_hours() as f64 / 24.0;
    assert!((29.9..30.1).contains(&days), "default expiry {days} days");
    let soon = (now + chrono::TimeDelta::hours(1)).to_rfc3339();
    let short = ok(
        &app.post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin", "expires_at": soon}),
        )
        .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let past = (now - chrono::TimeDelta::minutes(1)).to_rfc3339();
    let r = app
        .post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin", "expires_at": past}),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("expires_at")),
        "{}",
        r.1
    );
    assert_eq!(app.get("/v1/tokens", Some(&short)).await.0, 200);
    // two hours later (the server's clock): expired; the never-expiring admin token still works
    let later = (now + chrono::TimeDelta::hours(2)).to_rfc3339();
    ok(
        &app.put("/v1/admin/clock", Some(&admin), &json!({"now": later}))
            .await,
        200,
    );
    let r = app.get("/v1/tokens", Some(&short)).await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(r.1["detail"], "the token is expired", "{}", r.1);
    let list = ok(&app.get("/v1/tokens", Some(&admin)).await, 200);
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["hash_prefix"] == sha_prefix(&short))
        .expect("listed");
    assert_eq!(mine["status"], "expired", "{mine}");
    // the CLI's tokens expire too
    let (okc, out) = app.cli(&[
        "admin",
        "create-token",
        "--role",
        "platform_admin",
        "--expires-in-days",
        "1",
    ]);
    assert!(okc, "{out}");
}

/// `sua admin list-tokens` shows each token's hash prefix, role, org, dates and last use;
/// `sua admin revoke-token <prefix>` refuses the token from its next request on, in the API and in a
/// console session opened with it; the platform admin can list and revoke over the API too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_tokens_are_refused_on_their_next_request() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let admin = admin_token(&app, &["--label", "operations"]);
    // the buyer uses the API and the console
    ok(&app.get("/v1/tenders", Some(&w.buyer)).await, 200);
    let mut browser = crate::console::Browser::new(&app);
    let home = browser.login(&w.buyer).await;
    assert_eq!(browser.get(&home).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await; // last use, written in the background
    let (okc, out) = app.cli(&["admin", "list-tokens"]);
    assert!(okc, "{out}");
    let header = out.lines().next().unwrap();
    assert_eq!(
        header,
        "hash_prefix\trole\torg\tlabel\tcreated\texpires\tlast_used\tstatus"
    );
    let buyer_line = out
        .lines()
        .find(|l| l.starts_with(&sha_prefix(&w.buyer)))
        .unwrap_or_else(|| panic!("buyer not listed: {out}"));
    let cols: Vec<&str> = buyer_line.split('\t').collect();
    assert_eq!(cols[1], "sua_buyer", "{buyer_line}");
    assert_eq!(cols[2], w.province, "{buyer_line}");
    assert_ne!(cols[5], "-", "an expiry: {buyer_line}");
    assert_ne!(cols[6], "-", "a last use: {buyer_line}");
    assert_eq!(cols[7], "active", "{buyer_line}");
    assert!(out.lines().any(|l| l.contains("\toperations\t")), "{out}");
    // refusals: too short, no match
    let (okc, e) = app.cli(&["admin", "revoke-token", "abc"]);
    assert!(!okc, "{e}");
    let (okc, e) = app.cli(&["admin", "revoke-token", "0000000000000000"]);
    assert!(!okc, "{e}");
    // revoke: the next API request and the next console page are refused
    let (okc, out) = app.cli(&["admin", "revoke-token", &sha_prefix(&w.buyer)[..10]]);
    assert!(okc, "{out}");
    assert!(out.contains("revoked"), "{out}");
    let r = app.get("/v1/tenders", Some(&w.buyer)).await;
    assert_eq!(r.0, 401, "{}", r.1);
    assert_eq!(r.1["detail"], "the token is revoked");
    let page = browser.get(&home).await;
    assert_eq!(page.status, 303, "the console session ended with its token");
    let (okc, _) = app.cli(&["admin", "revoke-token", &sha_prefix(&w.buyer)]);
    assert!(!okc, "revoking twice is refused");
    // over the API: only the platform admin lists and revokes
    assert_eq!(app.get("/v1/tokens", Some(&w.municipality)).await.0, 403);
    let list = ok(&app.get("/v1/tokens", Some(&admin)).await, 200);
    let m = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["hash_prefix"] == sha_prefix(&w.municipality))
        .expect("listed")
        .clone();
    assert_eq!(m["role"], "municipality");
    let id = m["id"].as_str().unwrap();
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&w.municipality),
            None,
        )
        .await;
    assert_eq!(r.0, 403);
    let r = ok(
        &app.send(
            reqwest::Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await,
        200,
    );
    assert_eq!(r["status"], "revoked");
    assert_eq!(app.get("/v1/requests", Some(&w.municipality)).await.0, 401);
    let r = app
        .send(
            reqwest::Method::DELETE,
            &format!("/v1/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(r.0, 409, "{}", r.1);
}
