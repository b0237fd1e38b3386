//! Spawning `sua serve` and talking to it.

use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub const SUA: &str = env!("CARGO_BIN_EXE_sua");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running `sua serve` with its own database; killed on drop (the PostgreSQL database is dropped too).
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db_url: String,
    pub dir: tempfile::TempDir,
    server: testkit::serve::Server,
    pg: Option<testkit::pg::ScratchPg>,
}

impl TestApp {
    /// Spawn on `backend` (PostgreSQL: a fresh database on the server of `SUA_TEST_DATABASE_URL`,
    /// panicking when it is unset).
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    /// [`TestApp::spawn`] with more configuration (`SUA_SECTION__KEY` pairs; an empty value unsets one).
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("sua.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = testkit::pg::ScratchPg::create("sua_test").await;
                (pg.url.clone(), Some(pg))
            }
        };
        let server = testkit::serve::spawn(
            SUA.as_ref(),
            dir.path(),
            &db_url,
            &[
                &[("SUA_CLOCK__ALLOW_OVERRIDE", "true"), ("RUST_LOG", "warn")],
                extra,
            ]
            .concat(),
        );
        TestApp {
            base: server.base.clone(),
            client: reqwest::Client::new(),
            db_url,
            dir,
            server,
            pg,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Run a `sua` CLI command against this app's database; returns (exit ok, stdout).
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(SUA)
            .args(args)
            .current_dir(self.dir.path())
            .env("SUA_DATABASE__URL", &self.db_url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run sua");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        )
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut rb = self.client.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, v)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }
    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, token, Some(body))
            .await
    }
    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    /// Send a raw body (for malformed JSON tests).
    pub async fn post_raw(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut rb = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Graceful stop: SIGTERM, then wait.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        #[cfg(unix)]
        {
            let _ = Command::new("kill")
                .args(["-TERM", &self.server.child.id().to_string()])
                .status();
        }
        self.server.child.wait().expect("wait for sua")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Wait until at least `n` mails were written by the file transport; returns their contents.
    pub async fn wait_for_mails(&self, n: usize) -> Vec<String> {
        let dir = self.dir.path().join("mail");
        for _ in 0..150 {
            let mails: Vec<String> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                        .collect()
                })
                .unwrap_or_default();
            if mails.len() >= n {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("fewer than {n} mails written to {}", dir.display());
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.server.child.kill();
        let _ = self.server.child.wait();
        if let Some(pg) = self.pg.take() {
            // Best effort, on a fresh runtime thread (Drop cannot be async).
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(pg.drop_db());
                }
            })
            .join();
        }
    }
}

/// Two tests running `f`: `sqlite`, and `postgres`, ignored (with the reason) unless the build saw
/// `SUA_TEST_DATABASE_URL` (`cfg(sua_pg)`, set by the service crate's build script).
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn(Backend::Sqlite).await;
                ($body)(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(sua_pg),
                ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
            )]
            async fn postgres() {
                let app = TestApp::spawn(Backend::Postgres).await;
                ($body)(app).await;
            }
        }
    };
}

/// The body of an answer with the expected status (panics naming the body otherwise).
pub fn ok(r: &(u16, Value), expected: u16) -> Value {
    assert_eq!(r.0, expected, "unexpected status, body: {}", r.1);
    r.1.clone()
}

/// A lifecycle event (`POST …/events`) that must be accepted.
pub async fn event(app: &TestApp, path: &str, token: &str, ev: Value) -> Value {
    ok(&app.post(path, Some(token), &ev).await, 200)
}

/// Registers an economic operator (self-registration, no token) and returns its bearer token.
pub async fn operator(app: &TestApp, name: &str, cf: &str, pec: &str) -> String {
    let a = ok(
        &app.post(
            "/v1/operators",
            None,
            &json!({"name": name, "codice_fiscale": cf, "pec": pec}),
        )
        .await,
        201,
    );
    a["token"].as_str().unwrap().to_owned()
}

/// The two bidders most tests use: (name, codice fiscale, PEC, declared discount).
pub const ALFA_AND_BETA: [(&str, &str, &str, &str); 2] = [
    ("Pulizie Alfa srl", "05949241110", "alfa@pec.it", "12.5"),
    ("Beta Servizi spa", "02229829771", "beta@pec.it", "9.5"),
];

/// Each of `bidders` registers and submits a bid with its declared discount on `lot`: (token, bid id)
/// in order.
pub async fn register_and_bid(
    app: &TestApp,
    lot: &str,
    bidders: &[(&str, &str, &str, &str)],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, cf, pec, discount) in bidders {
        let tok = operator(app, name, cf, pec).await;
        let b = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&tok),
                &json!({"declared_discount": discount}),
            )
            .await,
            201,
        );
        out.push((tok, b["id"].as_str().unwrap().to_owned()));
    }
    out
}

/// The bid ids of [`register_and_bid`]'s answer.
pub fn bid_ids(v: Vec<(String, String)>) -> Vec<String> {
    v.into_iter().map(|(_, id)| id).collect()
}

/// The municipality (`municipality` token) submits `request` and the buyer accepts it into a procedure
/// of `procedure_type`: the new tender's id.
pub async fn accepted(
    app: &TestApp,
    municipality: &str,
    buyer: &str,
    request: &Value,
    procedure_type: &str,
) -> String {
    let r = ok(
        &app.post("/v1/requests", Some(municipality), request).await,
        201,
    );
    let rid = r["id"].as_str().unwrap();
    let acc = ok(
        &app.post(
            &format!("/v1/requests/{rid}/accept"),
            Some(buyer),
            &json!({ "procedure_type": procedure_type }),
        )
        .await,
        201,
    );
    acc["tender_id"].as_str().unwrap().to_owned()
}

/// A published open procedure (lowest price, one lot, CIG `B5A520026C`).
pub struct Published {
    pub request: String,
    pub tid: String,
    pub lot: String,
    /// As stored (the API truncates to microseconds).
    pub deadline: chrono::DateTime<chrono::Utc>,
}

/// The municipality (`municipality` token) submits `request`, the buyer accepts it into an open
/// procedure, adopts the decision to contract, sets the CIG and a deadline 40 days ahead of the real
/// clock, and publishes.
pub async fn publish_open(
    app: &TestApp,
    municipality: &str,
    buyer: &str,
    request: &Value,
) -> Published {
    let p =
        testkit::fixtures::publish_open(&app.client, &app.base, municipality, buyer, request).await;
    Published {
        request: p.request,
        tid: p.tender,
        lot: p.lot,
        deadline: p.deadline,
    }
}

/// Moves the server clock (as `admin`) to `deadline` + 1 minute and waits until the scheduler has closed
/// tender `tid` (read as `buyer`).
pub async fn close_after_deadline(
    app: &TestApp,
    admin: &str,
    buyer: &str,
    tid: &str,
    deadline: chrono::DateTime<chrono::Utc>,
) {
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(admin),
            &serde_json::json!({"now": deadline + chrono::Duration::minutes(1)}),
        )
        .await,
        200,
    );
    for _ in 0..100 {
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(buyer)).await,
            200,
        );
        if t["state"] == "closed" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("tender {tid} not closed after its deadline");
}

/// From a closed lowest-price tender: starts the evaluation, opens the administrative envelopes and admits
/// every bid of `bids`, opens the economic offers, proposes `bids[0]` and records its requirements as
/// verified: lot `lot` is ready to be awarded.
pub async fn verified_for_award(app: &TestApp, buyer: &str, tid: &str, lot: &str, bids: &[String]) {
    let lev = format!("/v1/lots/{lot}/events");
    let tev = format!("/v1/tenders/{tid}/events");
    event(
        app,
        &tev,
        buyer,
        serde_json::json!({"event": "start_evaluation"}),
    )
    .await;
    event(
        app,
        &lev,
        buyer,
        serde_json::json!({"event": "open_administrative"}),
    )
    .await;
    for id in bids {
        let bev = format!("/v1/bids/{id}/events");
        event(app, &bev, buyer, serde_json::json!({"event": "admit"})).await;
    }
    for e in ["start_economic_evaluation", "open_economic_offers"] {
        event(app, &lev, buyer, serde_json::json!({ "event": e })).await;
    }
    let propose = serde_json::json!({"event": "propose_award", "bid_id": bids[0]});
    event(app, &lev, buyer, propose).await;
    let verified = serde_json::json!({"event": "verify_requirements",
        "declarations": {"requirements_verified": true}});
    event(app, &lev, buyer, verified).await;
}
