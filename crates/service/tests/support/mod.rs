//! Shared by the black-box crash test (`tests/crash.rs`) and the submission benchmark
//! (`examples/bench_submit.rs`, which includes this file with `#[path = "../tests/support/mod.rs"]`):
//! start the real `sua serve` binary on a free port, call it over HTTP, set up a published open tender,
//! register bidders and submit bids, read the database directly, make a throw-away PostgreSQL database.
#![allow(dead_code)] // each includer uses a part

use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `sua` binary: Cargo's path when built as a test of the package, else `SUA_BIN`, else the `sua`
/// next to the running executable's directory (`target/<profile>/examples/x` -> `target/<profile>/sua`).
pub fn sua() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_sua") {
        return p.into();
    }
    std::env::var_os("SUA_BIN")
        .map(Into::into)
        .unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap();
            exe.parent().unwrap().parent().unwrap().join("sua")
        })
}

pub use testkit::serve::Server;

/// Starts `sua serve` in `dir` (its data directory: keys, document store, mail files) on `db_url`, with
/// extra environment variables (`SUA_SECTION__KEY`), and waits for its "listening" line.
pub fn spawn(dir: &Path, db_url: &str, env: &[(&str, &str)]) -> Server {
    testkit::serve::spawn(&sua(), dir, db_url, env)
}

/// One JSON call; `(0, Null)` when the server is gone (connection refused or cut).
pub async fn call(
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

/// The body of a call that must have answered `expected`.
#[track_caller]
pub fn ok(r: (u16, Value), expected: u16) -> Value {
    assert_eq!(r.0, expected, "{}", r.1);
    r.1
}

/// An 11-digit numeric codice fiscale with a valid check digit.
pub fn codice_fiscale(n: u32) -> String {
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

/// A published open procedure, lowest price, one lot, deadline in 40 days.
pub struct Published {
    pub admin: String,
    pub buyer: String,
    pub tender: String,
    pub lot: String,
    pub deadline: chrono::DateTime<chrono::Utc>,
}

/// A platform-admin token, made with `sua admin create-token` on the server's database.
pub fn admin_token(dir: &Path, db_url: &str) -> String {
    let out = Command::new(sua())
        .args(["admin", "create-token", "--role", "platform_admin"])
        .current_dir(dir)
        .env("SUA_DATABASE__URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap()
        .to_owned()
}

/// A platform-admin token from the CLI, then [`publish_tender`].
pub async fn published(c: &reqwest::Client, s: &Server, dir: &Path, db_url: &str) -> Published {
    let admin = admin_token(dir, db_url);
    publish_tender(c, &s.base, admin).await
}

/// As the platform admin `admin`: a province, a municipality, its request, the tender accepted from it,
/// its CIG and deadline, published; all over HTTP.
pub async fn publish_tender(c: &reqwest::Client, base: &str, admin: String) -> Published {
    use reqwest::Method as M;
    let b = base;
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
        call(c, b, M::POST, "/v1/municipalities", Some(&admin), Some(json!({
            "province_id": p["id"], "name": "Comune di Castelrupe", "codice_fiscale": "00430120048"
        }))).await,
        201,
    );
    let admin_ref = &admin;
    let token = |role: &str, org: &Value| {
        let body = Some(json!({"role": role, "org": org}));
        async move {
            ok(
                call(c, b, M::POST, "/v1/tokens", Some(admin_ref), body).await,
                201,
            )["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let buyer = token("sua_buyer", &p["id"]).await;
    let muni = token("municipality", &m["id"]).await;
    let request = json!({
        "object": "Servizio di pulizia 2027", "contract_type": "services", "cpv": "90911200-8",
        "estimated_amount": "180000.00",
        "lots": [{"title": "Lotto unico", "estimated_amount": "180000.00"}],
        "rup": "Mario Rossi", "funding_source": "Fondi propri di bilancio",
        "desired_criterion": "lowest_price"
    });
    let p = testkit::fixtures::publish_open(c, b, &muni, &buyer, &request).await;
    Published {
        admin,
        buyer,
        tender: p.tender,
        lot: p.lot,
        deadline: p.deadline,
    }
}

/// Registers `n` economic operators (codici fiscali from `first`); returns their bearer tokens.
pub async fn register_bidders(c: &reqwest::Client, base: &str, first: u32, n: u32) -> Vec<String> {
    let mut tokens = Vec::new();
    for i in first..first + n {
        let reg = ok(
            call(
                c,
                base,
                reqwest::Method::POST,
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
    tokens
}

/// The bid every test bidder submits (envelopes A and C).
pub async fn submit_bid(c: &reqwest::Client, base: &str, lot: &str, token: &str) -> (u16, Value) {
    call(
        c,
        base,
        reqwest::Method::POST,
        &format!("/v1/lots/{lot}/bids"),
        Some(token),
        Some(json!({"declared_discount": "12.5", "administrative": {"dgue": "ok"}})),
    )
    .await
}

/// Raw rows of a query, on a connection of its own.
pub async fn rows(db_url: &str, q: &str) -> Vec<sea_orm::QueryResult> {
    let db = Database::connect(db_url).await.unwrap();
    let r = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), q))
        .await
        .unwrap();
    db.close().await.ok();
    r
}

/// `/proc/loadavg`'s 1, 5 and 15 minute load averages (the machine may be shared: print it with figures).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Makes the PostgreSQL database `name` on the server of `server_url` refuse new connections and
/// terminates the ones it has (`refuse`), or accept connections again (`!refuse`): an outage of this
/// one database, the server itself (shared with other databases) untouched.
pub async fn pg_refuse_connections(server_url: &str, name: &str, refuse: bool) {
    let admin = Database::connect(server_url).await.unwrap();
    admin
        .execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {}",
            if refuse { "false" } else { "true" }
        ))
        .await
        .unwrap();
    if refuse {
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
    }
    admin.close().await.ok();
}

/// A bid submission (the body of [`submit_bid`]) as a client that may lose answers sends it: sent to
/// `bases[first]`; with `retry`, under an `Idempotency-Key`, and while the answer is no answer (connection
/// refused or cut, 5xx, 408, 429) sent again with the same key and body to the next replica (backoff
/// 25 ms per attempt, at most 500 ms), until `give_up` has passed. Returns the last answer and the number
/// of attempts.
pub async fn submit_retrying(
    c: &reqwest::Client,
    bases: &[String],
    first: usize,
    lot: &str,
    token: &str,
    retry: bool,
    give_up: std::time::Duration,
) -> (u16, Value, u32) {
    let started = std::time::Instant::now();
    let key = uuid::Uuid::new_v4().to_string();
    let body = json!({"declared_discount": "12.5", "administrative": {"dgue": "ok"}});
    let mut attempts = 0u32;
    loop {
        let base = &bases[(first + attempts as usize) % bases.len()];
        attempts += 1;
        let mut r = c
            .post(format!("{base}/v1/lots/{lot}/bids"))
            .bearer_auth(token)
            .json(&body);
        if retry {
            r = r.header("Idempotency-Key", &key);
        }
        let (status, v) = match r.send().await {
            Ok(resp) => {
                let s = resp.status().as_u16();
                (s, resp.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        };
        let no_answer = status == 0 || status >= 500 || status == 408 || status == 429;
        if !(retry && no_answer) || started.elapsed() > give_up {
            return (status, v, attempts);
        }
        tokio::time::sleep(std::time::Duration::from_millis(
            (25 * u64::from(attempts)).min(500),
        ))
        .await;
    }
}
