//! `sua demo`: every fixture procurement driven through the public HTTP API, on a fresh SQLite file, with
//! mail written as `.eml` files and a simulated clock the demo moves through deadlines and the standstill.
//!
//! The service runs in process on a loopback port; the demo is its only client (reqwest) and acts as the
//! platform admin, the SUA buyer, the municipalities, the operators and the commission, each with its own
//! token. It also drives the scheduler (one pass after each clock move) and the mail worker (flushed after
//! each step, on the simulated clock). PCP (ANAC's Piattaforma Contratti Pubblici) is the in-process mock
//! (`pcp::mock`, which validates every body against ANAC's schemas): every lot gets its CIG from PCP and
//! the PCP worker is drained after each step like the mail worker. Outputs: `sua.db`, `mail/*.eml`,
//! `verbali/*.md`, `anac/`, `ocds/`, `pcp/<scheda>-<reference>.json` (each scheda sent, as ANAC's example:
//! `{"scheda": {"codice", "versione", "body"}}`), `pcp/eforms/*.xml`, `pcp/calls.json` (every PCP call in
//! order, with its outcome), `summary.json` (the outcome of each lot, for scripts and the test).

mod fixture;
mod verbale;

use crate::{
    api,
    auth::{self, Role},
    clock::{Clock, ManualClock},
    config::Settings,
    scheduler,
    state::AppState,
};
use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::Args;
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};
use workflow::store::Scope;

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Directory to write into; refused if it exists and is not empty.
    #[arg(long, default_value = "demo-out")]
    pub out: PathBuf,
}

/// The demo's clock, shared by the service, the scheduler and the mail worker.
struct DemoClock(ManualClock);

impl Clock for DemoClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
}

pub async fn run(args: DemoArgs, mut settings: Settings) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let out = prepare_out(&args.out)?;
    settings.database.url = format!("sqlite://{}?mode=rwc", out.join("sua.db").display());
    settings.database.max_connections = 4;
    settings.mail.transport = notify::TransportConfig::File {
        dir: out.join("mail"),
    };
    settings.mail.templates_dir = templates_dir(&settings.mail.templates_dir);
    settings.clock.allow_override = true;
    // one client drives every procedure as fast as it can: no per-token rate limit
    settings.http.rate_limit_per_second = 0;
    // the invented Province declared its qualification to ANAC (art. 63): it runs tenders of any size
    settings.sua.qualification = Some(lifecycle::QualificationLevel::Advanced);
    // PCP: the mock on loopback, the worker driven by the demo on its clock (no ModI keys: the mock asks
    // for no voucher)
    let pcp_mock = crate::pcp::mock::MockPcp::start();
    settings.pcp.enabled = true;
    settings.pcp.base_url = pcp_mock.url.clone();
    settings.pcp.esito_poll_secs = 0;
    settings.pcp.modi = None;
    let fx = fixture::load()?;

    let db = crate::runtime::open_db(&settings).await?;
    let first = fx
        .tenders
        .iter()
        .map(|t| t.published_at.with_timezone(&Utc))
        .min()
        .ok_or_else(|| anyhow!("fixtures/demo.json: no tenders"))?;
    let start = Utc
        .from_local_datetime(
            &(first - Duration::days(7))
                .date_naive()
                .and_hms_opt(8, 0, 0)
                .unwrap_or_default(),
        )
        .single()
        .unwrap_or(first - Duration::days(7));
    let clock = Arc::new(DemoClock(ManualClock::new(start)));
    let state = AppState::new(db.clone(), clock.clone(), Arc::new(settings.clone()));
    let mailer = settings
        .mail
        .build_mailer()
        .map_err(|e| anyhow!("mail: {e}"))?;
    let worker = notify::Worker::new(
        db.conn.clone(),
        mailer,
        settings.mail.worker.clone(),
        clock.clone(),
    )
    .map_err(|e| anyhow!("mail: {e}"))?
    .with_writer(Arc::new(db.clone()));
    let pcp = crate::pcp::Worker::new(state.runtime.clone(), settings.pcp.clone())?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("cannot listen on 127.0.0.1")?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = api::app(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .await
    });
    println!(
        "sua demo: service on http://{addr}, database {}",
        out.join("sua.db").display()
    );
    println!();

    let mut d = Demo {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
        clock,
        state,
        worker,
        pcp,
        fx,
        out: out.clone(),
        admin: String::new(),
        buyer: String::new(),
        province_id: String::new(),
        municipalities: BTreeMap::new(),
        operators: BTreeMap::new(),
        tenders: Vec::new(),
        mails_sent: 0,
        summary: Vec::new(),
        awarded_at: BTreeMap::new(),
    };
    let result = d.drive().await;
    let _ = stop_tx.send(());
    let _ = server.await;
    result?;
    let (schede, eforms) = write_pcp(&d, &out.join("pcp")).await?;
    drop(pcp_mock);

    // transparency exports, from the database the API wrote
    println!();
    let year =
        d.fx.tenders
            .first()
            .map(|t| t.published_at.date_naive().format("%Y").to_string())
            .and_then(|y| y.parse::<i32>().ok())
            .unwrap_or(2027);
    let code = export(&d, &settings, &out, year).await?;
    if code != ExitCode::SUCCESS {
        bail!("export failed");
    }
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&json!({"lots": d.summary, "mails_sent": d.mails_sent}))?,
    )?;
    let validated = validate_xml(&out.join("anac"));
    println!();
    println!("Outputs in {}:", out.display());
    for (what, path) in [
        ("database", "sua.db"),
        ("mails (.eml)", "mail"),
        ("verbali", "verbali"),
        ("L.190 XML + indice.xml", "anac"),
        ("OCDS release package", "ocds"),
        ("PCP schede and eForms", "pcp"),
        ("lot outcomes", "summary.json"),
    ] {
        println!("  {what:<24} {}", out.join(path).display());
    }
    println!(
        "  {:<24} {schede} schede and {eforms} eForms sent to PCP",
        ""
    );
    println!(
        "  {:<24} {} mails written",
        "",
        count_eml(&out.join("mail"))
    );
    match validated {
        Ok(msg) => println!("XML validation: {msg}"),
        Err(e) => {
            println!("XML validation: FAILED: {e:#}");
            return Ok(ExitCode::FAILURE);
        }
    }
    println!("demo completed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// Create `dir` (or accept an empty one) and return it absolute.
fn prepare_out(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        let mut rd = std::fs::read_dir(dir)
            .with_context(|| format!("--out: {} is not a readable directory", dir.display()))?;
        if rd.next().is_some() {
            bail!(
                "--out: {} exists and is not empty; choose another directory or remove it",
                dir.display()
            );
        }
    }
    for sub in ["mail", "verbali", "anac", "ocds", "pcp/eforms"] {
        std::fs::create_dir_all(dir.join(sub))
            .with_context(|| format!("--out: cannot create {}", dir.join(sub).display()))?;
    }
    Ok(std::fs::canonicalize(dir)?)
}

/// The configured templates directory if it exists, else the one in the source tree this binary was
/// built from (so `sua demo` also works outside the repository root during development).
fn templates_dir(configured: &Path) -> PathBuf {
    if configured.is_dir() {
        return configured.to_path_buf();
    }
    let built = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/templates/mail"
    ));
    if built.is_dir() {
        built.to_path_buf()
    } else {
        configured.to_path_buf()
    }
}

fn count_eml(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

/// One tender as the demo knows it while driving it.
struct Run {
    idx: usize,
    id: String,
    municipality_token: String,
    /// (lot number, lot id)
    lots: Vec<(u32, String)>,
    /// (operator key, lot number, bid id)
    bids: Vec<(String, u32, String)>,
    /// (lot number, the CIG PCP assigned)
    cigs: Vec<(u32, String)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    DirectAward,
    Publish,
    Bids,
    Revoke,
    Close,
    Admission,
    Evaluate,
    Sign,
}

struct Demo {
    http: reqwest::Client,
    base: String,
    clock: Arc<DemoClock>,
    state: AppState,
    worker: notify::Worker,
    pcp: crate::pcp::Worker,
    fx: fixture::Fixture,
    out: PathBuf,
    admin: String,
    buyer: String,
    province_id: String,
    /// key -> (id, token)
    municipalities: BTreeMap<String, (String, String)>,
    /// key -> (id, token)
    operators: BTreeMap<String, (String, String)>,
    tenders: Vec<Run>,
    mails_sent: usize,
    summary: Vec<Value>,
    /// lot id -> when its award communication went out
    awarded_at: BTreeMap<String, DateTime<Utc>>,
}

/// The operator asked for a soccorso istruttorio in the demo: the second bidder of the first open
/// lowest-price tender with many bids (its documents are then completed in time).
fn soccorso_operator(t: &fixture::Tender) -> Option<&str> {
    (t.procedure == "aperta" && t.criterion == "lowest_price" && t.bids.len() >= 10)
        .then(|| t.bids.get(1).map(|b| b.operator.as_str()))
        .flatten()
}

/// The operator who asks a clarification in the demo: the first bidder of a quality-price tender.
fn clarification_asker(t: &fixture::Tender) -> Option<&str> {
    (t.criterion == "quality_price")
        .then(|| t.bids.first().map(|b| b.operator.as_str()))
        .flatten()
}

/// A decimal rounded to 3 places for the timeline (the verbale keeps every digit).
fn short(v: &Value) -> String {
    match s(v).parse::<rust_decimal::Decimal>() {
        Ok(d) if d.scale() > 3 => format!("{}", d.round_dp(3)),
        _ => s(v),
    }
}

fn s(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}

impl Demo {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn say(&self, actor: &str, what: impl AsRef<str>) {
        println!(
            "{}  {actor:<34} {}",
            self.now().format("%Y-%m-%d %H:%M UTC"),
            what.as_ref()
        );
    }

    /// Move the simulated clock forward (never back), run one scheduler pass and deliver due mail.
    async fn advance_to(&mut self, at: DateTime<Utc>) -> anyhow::Result<()> {
        if at > self.now() {
            self.clock.0.set(at);
        }
        let tick = scheduler::tick(&self.state)
            .await
            .map_err(|e| anyhow!("scheduler: {e}"))?;
        if tick.tenders_closed > 0 || tick.timers_fired > 0 {
            self.say(
                "scheduler",
                format!(
                    "{} tender(s) closed at the deadline, {} timer(s) fired",
                    tick.tenders_closed, tick.timers_fired
                ),
            );
        }
        self.flush_mail().await?;
        self.flush_pcp().await
    }

    /// Sends the due PCP calls until none is left (the mock answers at once; the outcomes are polled in
    /// the same rounds). A call PCP or our checks refused stops the demo, naming ANAC's code.
    async fn flush_pcp(&mut self) -> anyhow::Result<()> {
        self.pcp.drain(200).await?;
        let errors: Vec<(String, String)> = {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            use workflow::store::entities::pcp_call;
            pcp_call::Entity::find()
                .filter(pcp_call::Column::Status.eq(workflow::pcp_outbox::ERRORE))
                .all(&self.state.db.conn)
                .await?
                .into_iter()
                .map(|c| {
                    (
                        format!("{} {}", c.operation, c.scheda.unwrap_or_default()),
                        format!(
                            "{}: {}",
                            c.error_code.unwrap_or_default(),
                            c.error_message.unwrap_or_default()
                        ),
                    )
                })
                .collect()
        };
        if let Some((call, why)) = errors.first() {
            bail!("PCP refused {call}: {why}");
        }
        Ok(())
    }

    async fn flush_mail(&mut self) -> anyhow::Result<()> {
        loop {
            let r = self
                .worker
                .run_once()
                .await
                .map_err(|e| anyhow!("mail worker: {e}"))?;
            self.mails_sent += r.sent;
            if r.failed > 0 {
                bail!("mail worker: {} message(s) failed", r.failed);
            }
            if r.claimed == 0 {
                return Ok(());
            }
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expect: u16,
    ) -> anyhow::Result<Value> {
        let mut rb = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status != expect {
            bail!("{method} {path}: expected {expect}, got {status}: {v}");
        }
        Ok(v)
    }

    async fn get(&self, path: &str, token: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, Some(token), None, 200)
            .await
    }
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
        expect: u16,
    ) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, token, Some(&body), expect)
            .await
    }
    async fn patch(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::PATCH, path, Some(token), Some(&body), 200)
            .await
    }
    async fn put(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::PUT, path, Some(token), Some(&body), 200)
            .await
    }
    async fn event(&self, kind: &str, id: &str, body: Value) -> anyhow::Result<Value> {
        let buyer = self.buyer.clone();
        self.post(&format!("/v1/{kind}/{id}/events"), Some(&buyer), body, 200)
            .await
    }

    fn op_name(&self, key: &str) -> String {
        self.fx
            .operators
            .iter()
            .find(|o| o.key == key)
            .map_or_else(|| key.to_owned(), |o| o.name.clone())
    }

    fn op_by_bid(&self, run: &Run, bid: &str) -> Option<String> {
        run.bids
            .iter()
            .find(|(_, _, b)| b == bid)
            .map(|(k, _, _)| k.clone())
    }

    async fn drive(&mut self) -> anyhow::Result<()> {
        self.setup().await?;
        // every dated step of every tender, in time order
        let mut plan: Vec<(DateTime<Utc>, Step, usize)> = Vec::new();
        for (i, t) in self.fx.tenders.iter().enumerate() {
            let publ = t.published_at.with_timezone(&Utc);
            let dl = t.deadline.with_timezone(&Utc);
            if t.direct_award.is_some() {
                plan.push((publ, Step::DirectAward, i));
                continue;
            }
            plan.push((publ, Step::Publish, i));
            if t.revoke.is_some() {
                if !t.bids.is_empty() {
                    plan.push((publ + Duration::days(3), Step::Bids, i));
                }
                plan.push((publ + Duration::days(10), Step::Revoke, i));
                continue;
            }
            if !t.bids.is_empty() {
                plan.push((publ + Duration::days(3), Step::Bids, i));
            }
            plan.push((dl + Duration::minutes(1), Step::Close, i));
            if !t.bids.is_empty() {
                plan.push((dl + Duration::hours(22), Step::Admission, i));
                // a soccorso istruttorio holds the evaluation until the bidder has answered
                let evaluation_at = if soccorso_operator(t).is_some() {
                    dl + Duration::days(8)
                } else {
                    dl + Duration::hours(23)
                };
                plan.push((evaluation_at, Step::Evaluate, i));
                plan.push((dl + Duration::days(15), Step::Sign, i));
            }
        }
        plan.sort();
        for (at, step, i) in plan {
            self.advance_to(at).await?;
            match step {
                Step::DirectAward => self.direct_award(i).await,
                Step::Publish => self.publish(i).await,
                Step::Bids => self.bids(i).await,
                Step::Revoke => self.revoke(i).await,
                Step::Close => self.close(i).await,
                Step::Admission => self.admission(i).await,
                Step::Evaluate => self.evaluate(i).await,
                Step::Sign => self.sign(i).await,
            }
            .with_context(|| format!("tender {}: {step:?}", self.fx.tenders[i].key))?;
            self.flush_mail().await?;
            self.flush_pcp()
                .await
                .with_context(|| format!("tender {}: {step:?}", self.fx.tenders[i].key))?;
        }
        // every lot's CIG in the summary (from PCP)
        for r in &self.tenders {
            let key = self.fx.tenders[r.idx].key.clone();
            for (n, cig) in &r.cigs {
                if let Some(e) = self
                    .summary
                    .iter_mut()
                    .find(|e| e["tender"] == key.as_str() && e["lot"] == *n)
                {
                    e["cig"] = json!(cig);
                }
            }
        }
        // every lot ended as the fixture says
        for t in &self.fx.tenders {
            for l in &t.lots {
                let got = self
                    .summary
                    .iter()
                    .find(|e| e["tender"] == t.key.as_str() && e["lot"] == l.number)
                    .map(|e| s(&e["outcome"]))
                    .unwrap_or_default();
                let ok = match t.expected.as_str() {
                    "awarded" => got == "contracted",
                    other => got == other,
                };
                if !ok {
                    bail!(
                        "tender {} lot {}: expected {}, got {got:?}",
                        t.key,
                        l.number,
                        t.expected
                    );
                }
            }
        }
        Ok(())
    }

    async fn setup(&mut self) -> anyhow::Result<()> {
        // the bootstrap token, as `sua admin create-token --role platform_admin` issues it
        let w = self.state.db.write(Scope::Platform).await?;
        let (_, token) = auth::issue(
            &w.txn,
            Role::PlatformAdmin,
            None,
            "sua demo",
            self.now(),
            None,
        )
        .await?;
        w.commit().await?;
        self.admin = token;
        self.say(
            "platform admin",
            "token issued on the server (sua admin create-token)",
        );
        let admin = self.admin.clone();
        let p = self
            .post(
                "/v1/provinces",
                Some(&admin),
                json!({"code": "VM", "name": self.fx.province.name}),
                201,
            )
            .await?;
        self.province_id = s(&p["id"]);
        self.say(
            "platform admin",
            format!("created the Province \"{}\" (SUA)", self.fx.province.name),
        );
        self.buyer = s(&self
            .post(
                "/v1/tokens",
                Some(&admin),
                json!({"role": "sua_buyer", "org": self.province_id, "label": "ufficio gare SUA"}),
                201,
            )
            .await?["token"]);
        self.say("platform admin", "issued the SUA buyer's token");
        for m in &self.fx.municipalities {
            let r = self
                .post(
                    "/v1/municipalities",
                    Some(&admin),
                    json!({"province_id": self.province_id, "name": m.name, "codice_fiscale": m.codice_fiscale, "pec": m.pec}),
                    201,
                )
                .await?;
            let id = s(&r["id"]);
            let tok = s(&self
                .post(
                    "/v1/tokens",
                    Some(&admin),
                    json!({"role": "municipality", "org": id, "label": m.rup.name}),
                    201,
                )
                .await?["token"]);
            self.say(
                "platform admin",
                match &m.pec {
                    Some(pec) => format!("created {} (PEC {pec}) and its token", m.name),
                    None => format!("created {} and its token", m.name),
                },
            );
            self.municipalities.insert(m.key.clone(), (id, tok));
        }
        for o in &self.fx.operators {
            let mut body =
                json!({"name": o.name, "codice_fiscale": o.codice_fiscale, "pec": o.pec});
            if let Some(piva) = &o.partita_iva {
                body["partita_iva"] = json!(piva);
            }
            let r = self.post("/v1/operators", None, body, 201).await?;
            self.operators
                .insert(o.key.clone(), (s(&r["operator"]["id"]), s(&r["token"])));
        }
        self.say(
            "operators",
            format!(
                "{} economic operators registered (bidder tokens)",
                self.fx.operators.len()
            ),
        );
        // the municipalities' requests, accepted by the SUA into draft tenders
        for i in 0..self.fx.tenders.len() {
            self.request_and_prepare(i).await?;
        }
        self.flush_mail().await
    }

    async fn request_and_prepare(&mut self, i: usize) -> anyhow::Result<()> {
        let t = &self.fx.tenders[i];
        let (_, mtok) = self
            .municipalities
            .get(&t.municipality)
            .cloned()
            .ok_or_else(|| anyhow!("tender {}: unknown municipality {}", t.key, t.municipality))?;
        let mname = self
            .fx
            .municipalities
            .iter()
            .find(|m| m.key == t.municipality)
            .map(|m| (m.name.clone(), m.rup.name.clone()))
            .unwrap_or_default();
        let total: rust_decimal::Decimal = t
            .lots
            .iter()
            .map(|l| l.base_amount.parse::<rust_decimal::Decimal>())
            .sum::<Result<_, _>>()
            .with_context(|| format!("tender {}: lots[].base_amount", t.key))?;
        let lots: Vec<Value> = t
            .lots
            .iter()
            .map(|l| json!({"title": l.title, "estimated_amount": l.base_amount}))
            .collect();
        let mut body = json!({
            "object": t.title, "contract_type": t.object, "cpv": t.cpv,
            "estimated_amount": format!("{total:.2}"), "lots": lots, "rup": mname.1,
            "funding_source": t.funding, "desired_criterion": t.criterion,
        });
        if let Some(cup) = &t.cup {
            body["cup"] = json!(cup);
        }
        let r = self.post("/v1/requests", Some(&mtok), body, 201).await?;
        let rid = s(&r["id"]);
        self.say(
            &mname.0,
            format!("submits the request \"{}\" ({} euro)", t.title, total),
        );
        let buyer = self.buyer.clone();
        if t.cup.is_none() {
            // the SUA asks about the CUP; the municipality's answer resubmits the request
            self.post(
                &format!("/v1/requests/{rid}/return"),
                Some(&buyer),
                json!({"reason": "Indicare il CUP, se esiste"}),
                200,
            )
            .await?;
            self.say(
                "SUA buyer",
                "returns the request: \"Indicare il CUP, se esiste\"",
            );
            self.post(
                &format!("/v1/requests/{rid}/messages"),
                Some(&mtok),
                json!({"body": "Nessun CUP: spesa corrente, non è un progetto di investimento"}),
                201,
            )
            .await?;
            self.say(
                &mname.0,
                "answers: no CUP (current expenditure); the request is resubmitted",
            );
        }
        let acc = self
            .post(
                &format!("/v1/requests/{rid}/accept"),
                Some(&buyer),
                json!({"procedure_type": t.procedure}),
                201,
            )
            .await?;
        let tid = s(&acc["tender_id"]);
        self.say(
            "SUA buyer",
            format!("accepts it into a procedure {} (tender {tid})", t.procedure),
        );
        // a direct award's decisione di contrarre names the operator and the amount (art. 17 c.2)
        let decision = match &t.direct_award {
            Some(_) => {
                json!({"event": "adopt_decision_to_contract", "declarations": {"contractor_named": true}})
            }
            None => json!({"event": "adopt_decision_to_contract"}),
        };
        self.event("tenders", &tid, decision).await?;
        let view = self.get(&format!("/v1/tenders/{tid}"), &buyer).await?;
        let mut lots = Vec::new();
        for (n, l) in view["lots"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let fl = t.lots.get(n).ok_or_else(|| {
                anyhow!("tender {}: the API made more lots than the fixture", t.key)
            })?;
            let lid = s(&l["id"]);
            // the evaluation rules are part of the lex specialis: set before publication (art. 54 c.2)
            let mut body = json!({"base_amount": fl.base_amount, "title": fl.title,
                       "labour_costs": fl.labour_costs, "safety_costs": fl.safety_costs});
            if let Some(x) = &fl.pcp {
                body["pcp"] = x.clone();
            }
            if let Some(d) = &t.direct_award {
                // AD3 carries the operator and the amount: stated on the lot before the CIG is asked
                let op = self
                    .operators
                    .get(&d.operator)
                    .map(|o| o.0.clone())
                    .ok_or_else(|| anyhow!("tender {}: unknown operator {}", t.key, d.operator))?;
                let mut pcp = body["pcp"].take();
                if pcp.is_null() {
                    pcp = json!({});
                }
                pcp["affidatario"] = json!(op);
                pcp["importo_affidamento"] = json!(d.amount);
                body["pcp"] = pcp;
            } else {
                body["evaluation_rules"] = evaluation_rules(t);
            }
            self.patch(&format!("/v1/tenders/{tid}/lots/{lid}"), &buyer, body)
                .await?;
            lots.push((fl.number, lid));
        }
        // the deadline goes into the publication scheda: set before the CIGs are asked (REG105); a direct
        // award has none
        let mut patch = match t.direct_award {
            Some(_) => json!({}),
            None => json!({"deadline": t.deadline.with_timezone(&Utc)}),
        };
        if !t.invitees.is_empty() {
            let ids: Vec<String> = t
                .invitees
                .iter()
                .map(|k| {
                    self.operators
                        .get(k)
                        .map(|o| o.0.clone())
                        .ok_or_else(|| anyhow!("tender {}: unknown invitee {k}", t.key))
                })
                .collect::<anyhow::Result<_>>()?;
            patch["invitees"] = json!(ids);
        }
        if patch != json!({}) {
            self.patch(&format!("/v1/tenders/{tid}"), &buyer, patch)
                .await?;
        }
        let deadline = t.deadline;
        // the CIGs come from PCP: the appalto is created with its publication scheda and confirmed
        let tr = self
            .event("tenders", &tid, json!({"event": "acquire_cig"}))
            .await?;
        if tr["to"] != "approved" {
            bail!("acquire_cig did not go through PCP: {tr}");
        }
        self.flush_pcp().await?;
        let calls =
            workflow::pcp_outbox::list_for_tender(&self.state.db.conn, tid.parse()?).await?;
        let scheda = calls
            .first()
            .and_then(|c| c.scheda.clone())
            .unwrap_or_default();
        let view = self.get(&format!("/v1/tenders/{tid}"), &buyer).await?;
        if view["state"] != "ready" {
            bail!("PCP gave no CIG: tender {}", s(&view["state"]));
        }
        let mut cigs = Vec::new();
        for (n, lid) in &lots {
            let cig = view["lots"]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| s(&l["id"]) == *lid))
                .map(|l| s(&l["cig"]))
                .unwrap_or_default();
            cigs.push((*n, cig));
        }
        let listed: Vec<&str> = cigs.iter().map(|c| c.1.as_str()).collect();
        self.say(
            "PCP",
            format!(
                "crea-appalto {scheda}, conferma-appalto: CIG {} assigned",
                listed.join(", ")
            ),
        );
        let said = match self.fx.tenders[i].direct_award.clone() {
            Some(d) => format!(
                "decisione di contrarre naming {} for {} euro (art. 17 c.2), CIG from PCP (AD3)",
                self.op_name(&d.operator),
                d.amount
            ),
            None => format!(
                "decisione di contrarre, CIG from PCP, deadline {}",
                deadline.format("%Y-%m-%d %H:%M %:z")
            ),
        };
        self.say("SUA buyer", said);
        self.tenders.push(Run {
            idx: i,
            id: tid,
            municipality_token: mtok,
            lots,
            bids: Vec::new(),
            cigs,
        });
        Ok(())
    }

    fn run(&self, i: usize) -> anyhow::Result<&Run> {
        self.tenders
            .iter()
            .find(|r| r.idx == i)
            .ok_or_else(|| anyhow!("tender {i} was not prepared"))
    }

    async fn publish(&mut self, i: usize) -> anyhow::Result<()> {
        let tid = self.run(i)?.id.clone();
        let t = &self.fx.tenders[i];
        if t.invitees.is_empty() {
            self.event("tenders", &tid, json!({"event": "publish"}))
                .await?;
            self.say(
                "SUA buyer",
                format!("publishes \"{}\" ({} lot(s))", t.title, t.lots.len()),
            );
        } else {
            let buyer = self.buyer.clone();
            let letter = json!({"act_type": "determinazione dirigenziale", "act_number": format!("{}/{}", 10 + i, self.now().format("%Y")), "act_date": self.now().date_naive()});
            let r = self
                .post(
                    &format!("/v1/tenders/{tid}/invitations/mails"),
                    Some(&buyer),
                    letter,
                    200,
                )
                .await?;
            // the invitees were written by hand: rotation (art. 49) is applied to them in the contract's
            // sector, a works category for works, else the CPV division
            let sector = if t.object == "works" {
                "OG1".to_owned()
            } else {
                t.cpv.chars().take(2).collect()
            };
            self.event(
                "tenders",
                &tid,
                json!({"event": "send_invitations", "declarations": {"rotation_category": sector}}),
            )
            .await?;
            self.say(
                "SUA buyer",
                format!(
                    "sends the lettera d'invito of \"{}\" to {} invitees",
                    t.title,
                    s(&r["enqueued"])
                ),
            );
        }
        Ok(())
    }

    async fn bids(&mut self, i: usize) -> anyhow::Result<()> {
        let run = self.run(i)?;
        let lots = run.lots.clone();
        let tid = run.id.clone();
        if let Some(asker) = clarification_asker(&self.fx.tenders[i]) {
            let tok = self
                .operators
                .get(asker)
                .map(|o| o.1.clone())
                .ok_or_else(|| anyhow!("unknown operator {asker}"))?;
            let q = self
                .post(
                    &format!("/v1/tenders/{tid}/clarifications"),
                    Some(&tok),
                    json!({"question": "Il sopralluogo è obbligatorio per tutti i lotti?"}),
                    201,
                )
                .await?;
            self.say(
                &self.op_name(asker),
                "asks a clarification: is the site visit mandatory for every lot?",
            );
            let buyer = self.buyer.clone();
            self.post(
                &format!("/v1/clarifications/{}/answer", s(&q["id"])),
                Some(&buyer),
                json!({"answer": "No: il sopralluogo è facoltativo (disciplinare, art. 7)."}),
                200,
            )
            .await?;
            self.say(
                "SUA buyer",
                "publishes the answer (art. 88 c.3); the asker is notified by PEC",
            );
        }
        let mut placed = Vec::new();
        for b in &self.fx.tenders[i].bids {
            let (_, tok) = self
                .operators
                .get(&b.operator)
                .ok_or_else(|| anyhow!("unknown operator {}", b.operator))?;
            let lid = lots
                .iter()
                .find(|(n, _)| *n == b.lot)
                .map(|(_, id)| id.clone())
                .ok_or_else(|| anyhow!("bid of {} on unknown lot {}", b.operator, b.lot))?;
            let mut body = json!({"declared_discount": b.discount});
            // art. 108 c.9: where the lot has labour costs the offer states the operator's own
            if let Some(c) = self.fx.tenders[i]
                .lots
                .iter()
                .find(|l| l.number == b.lot)
                .and_then(|l| l.labour_costs.clone())
            {
                body["declared_labour_costs"] = json!(c);
            }
            if b.coefficients.is_some() {
                body["technical"] = json!({"relazione_tecnica": format!("Offerta tecnica di {}", self.op_name(&b.operator))});
            }
            let r = self
                .post(&format!("/v1/lots/{lid}/bids"), Some(tok), body, 201)
                .await?;
            placed.push((b.operator.clone(), b.lot, s(&r["id"])));
        }
        let n = placed.len();
        let ops: std::collections::BTreeSet<&String> = placed.iter().map(|p| &p.0).collect();
        self.say(
            "operators",
            format!(
                "{} sealed bid(s) from {} operator(s) on \"{}\"",
                n,
                ops.len(),
                self.fx.tenders[i].title
            ),
        );
        if let Some(r) = self.tenders.iter_mut().find(|r| r.idx == i) {
            r.bids = placed;
        }
        Ok(())
    }

    async fn revoke(&mut self, i: usize) -> anyhow::Result<()> {
        let tid = self.run(i)?.id.clone();
        let t = &self.fx.tenders[i];
        let reason = t
            .revoke
            .as_ref()
            .map(|r| r.reason.clone())
            .unwrap_or_default();
        self.event(
            "tenders",
            &tid,
            json!({"event": "revoke", "declarations": {"motivation": reason}}),
        )
        .await?;
        self.say("SUA buyer", format!("revokes \"{}\": {reason}", t.title));
        let view = self
            .get(&format!("/v1/tenders/{tid}"), &self.buyer.clone())
            .await?;
        for n in self.run(i)?.lots.iter().map(|l| l.0).collect::<Vec<_>>() {
            self.summary.push(json!({
                "tender": t.key, "lot": n, "tender_state": view["state"], "outcome": "revoked",
                "reason": reason,
            }));
            println!("{:>22}  [{}] lot {n}: REVOKED ({reason})", "", t.key);
        }
        Ok(())
    }

    async fn close(&mut self, i: usize) -> anyhow::Result<()> {
        let run = self.run(i)?;
        let tid = run.id.clone();
        let buyer = self.buyer.clone();
        let view = self.get(&format!("/v1/tenders/{tid}"), &buyer).await?;
        let t = &self.fx.tenders[i];
        self.say(
            "SUA buyer",
            format!(
                "offer deadline of \"{}\" passed: tender {}",
                t.title,
                s(&view["state"])
            ),
        );
        if t.bids.is_empty() {
            if view["state"] != "deserted" {
                self.event("tenders", &tid, json!({"event": "declare_deserted"}))
                    .await?;
            }
            let view = self.get(&format!("/v1/tenders/{tid}"), &buyer).await?;
            self.say(
                "SUA buyer",
                format!(
                    "no offers: \"{}\" declared deserted ({})",
                    t.title,
                    s(&view["state"])
                ),
            );
            for n in self.run(i)?.lots.iter().map(|l| l.0).collect::<Vec<_>>() {
                self.summary.push(json!({
                    "tender": t.key, "lot": n, "tender_state": view["state"], "outcome": "deserted",
                }));
                println!("{:>22}  [{}] lot {n}: DESERTED (no offers)", "", t.key);
            }
        }
        Ok(())
    }

    async fn admission(&mut self, i: usize) -> anyhow::Result<()> {
        let key = self.fx.tenders[i].key.clone();
        let run = self.run(i)?;
        let (tid, lots, bids) = (run.id.clone(), run.lots.clone(), run.bids.clone());
        let t = &self.fx.tenders[i];
        let soccorso = soccorso_operator(t);
        self.event("tenders", &tid, json!({"event": "start_evaluation"}))
            .await?;
        for (n, lid) in &lots {
            self.event("lots", lid, json!({"event": "open_administrative"}))
                .await?;
            let on_lot: Vec<&(String, u32, String)> = bids.iter().filter(|b| b.1 == *n).collect();
            let mut admitted = 0;
            for (op, _, bid) in &on_lot {
                if Some(op.as_str()) == soccorso {
                    self.event(
                        "bids",
                        bid,
                        json!({"event": "request_soccorso", "declarations": {"soccorso_days": 7}}),
                    )
                    .await?;
                    self.say(
                        "SUA buyer",
                        format!(
                            "[{key}] lot {n}: soccorso istruttorio (art. 101) asked of {}: 7 days to complete the DGUE",
                            self.op_name(op)
                        ),
                    );
                } else {
                    self.event("bids", bid, json!({"event": "admit"})).await?;
                    admitted += 1;
                }
            }
            self.say(
                "SUA buyer",
                format!(
                    "[{key}] lot {n}: administrative envelopes opened, {admitted} of {} bid(s) admitted",
                    on_lot.len()
                ),
            );
        }
        Ok(())
    }

    async fn evaluate(&mut self, i: usize) -> anyhow::Result<()> {
        let key = self.fx.tenders[i].key.clone();
        let run = self.run(i)?;
        let (tid, lots, bids) = (run.id.clone(), run.lots.clone(), run.bids.clone());
        let t = &self.fx.tenders[i].clone();
        let qp = t.criterion == "quality_price";
        let soccorso = soccorso_operator(t);
        let commissioner = if qp {
            let buyer = self.buyer.clone();
            let tok = self
                .post(
                    "/v1/tokens",
                    Some(&buyer),
                    json!({"role": "commissioner", "org": tid, "label": "commissione giudicatrice"}),
                    201,
                )
                .await?;
            Some(s(&tok["token"]))
        } else {
            None
        };
        for (n, lid) in &lots {
            let on_lot: Vec<&(String, u32, String)> = bids.iter().filter(|b| b.1 == *n).collect();
            for (op, _, bid) in &on_lot {
                if Some(op.as_str()) == soccorso {
                    self.event("bids", bid, json!({"event": "cure_soccorso"}))
                        .await?;
                    self.event("bids", bid, json!({"event": "admit"})).await?;
                    self.say(
                        "SUA buyer",
                        format!(
                            "[{key}] lot {n}: {} completed the documents in time: soccorso cured, bid admitted",
                            self.op_name(op)
                        ),
                    );
                }
            }
            if qp {
                self.event("lots", lid, json!({"event": "start_technical_evaluation"}))
                    .await?;
                self.event("lots", lid, json!({"event": "appoint_commission", "declarations": {"commission_members": 3}})).await?;
                let ctok = commissioner.clone().unwrap_or_default();
                for (op, _, bid) in &on_lot {
                    let coeff = t
                        .bids
                        .iter()
                        .find(|b| &b.operator == op && b.lot == *n)
                        .and_then(|b| b.coefficients.clone())
                        .ok_or_else(|| anyhow!("lot {n}: no coefficients for {op}"))?;
                    self.put(
                        &format!("/v1/bids/{bid}/technical-evaluation"),
                        &ctok,
                        json!({"technical": {"coefficients": coeff}}),
                    )
                    .await?;
                }
                self.say(
                    "commission",
                    format!(
                        "[{key}] lot {n}: three commissioners' coefficients recorded for {} offer(s)",
                        on_lot.len()
                    ),
                );
                self.event("lots", lid, json!({"event": "freeze_technical_scores", "declarations": {"tech_scores_frozen": true}})).await?;
            } else {
                self.event("lots", lid, json!({"event": "start_economic_evaluation"}))
                    .await?;
            }
            self.event("lots", lid, json!({"event": "open_economic_offers"}))
                .await?;
            let buyer = self.buyer.clone();
            let ev = self
                .post(
                    &format!("/v1/lots/{lid}/evaluate"),
                    Some(&buyer),
                    json!({}),
                    200,
                )
                .await?;
            let names: BTreeMap<String, String> = on_lot
                .iter()
                .map(|(op, _, bid)| (bid.clone(), format!("{} ({op})", self.op_name(op))))
                .collect();
            let md = verbale::render(t, *n, &ev, &names);
            std::fs::write(
                self.out
                    .join("verbali")
                    .join(format!("{}-lot{n}.md", t.key)),
                md,
            )?;
            let r = &ev["result"];
            let winner = s(&r["winner"]);
            self.say(
                "SUA buyer",
                format!("[{key}] lot {n}: evaluation stored, verbale written"),
            );
            self.event("lots", lid, json!({"event": "propose_award"}))
                .await?;
            self.event("lots", lid, json!({"event": "verify_requirements", "declarations": {"requirements_verified": true}})).await?;
            self.event("lots", lid, json!({"event": "award"})).await?;
            // the standstill runs from the sending of the last award communication (art. 18 c.3): deliver the
            // mail, then a scheduler pass records the sending time the outbox reports
            self.flush_mail().await?;
            self.advance_to(self.now()).await?;
            self.awarded_at.insert(lid.clone(), self.now());
            let op = self
                .op_by_bid(self.run(i)?, &winner)
                .ok_or_else(|| anyhow!("lot {n}: the winner {winner} is not a known bid"))?;
            let mut line = format!("[{key}] lot {n}: AWARDED to {}", self.op_name(&op));
            let mut entry = json!({
                "tender": t.key, "lot": n, "outcome": "awarded", "winner": op, "winner_bid": winner,
                "bids": on_lot.len(),
            });
            if qp {
                let total = r["ranking"][0]["total"].clone();
                let discount = t
                    .bids
                    .iter()
                    .find(|b| b.operator == op && b.lot == *n)
                    .map(|b| b.discount.clone());
                line.push_str(&format!(
                    ", score {} / 100, ribasso {}%",
                    short(&total),
                    discount.clone().unwrap_or_default()
                ));
                entry["total"] = total;
                entry["discount"] = json!(discount);
            } else {
                let a = &r["anomaly"];
                let excluded: Vec<String> = a["excluded"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|x| self.op_by_bid(self.run(i).ok()?, &s(x)))
                    .collect();
                line.push_str(&format!(
                    ", ribasso {}% (anomaly method {}: threshold {}, {} bid(s) excluded{})",
                    s(&r["award_discount"]),
                    s(&a["method"]),
                    short(&a["threshold"]),
                    excluded.len(),
                    if excluded.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", excluded.join(", "))
                    }
                ));
                entry["discount"] = r["award_discount"].clone();
                entry["threshold"] = a["threshold"].clone();
                entry["excluded"] = json!(excluded);
            }
            // the award amount as the engine computes it (labour and safety costs outside the ribasso,
            // art. 41 c.14): the lot's view, not a formula of the demo's own
            let view = self.get(&format!("/v1/tenders/{tid}"), &self.buyer).await?;
            let lot_view = view["lots"]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| s(&l["id"]) == *lid).cloned())
                .unwrap_or(Value::Null);
            let base = s(&lot_view["base_amount"]).to_owned();
            let outside = t
                .lots
                .iter()
                .find(|l| l.number == *n)
                .is_some_and(|l| l.labour_costs.is_some() || l.safety_costs.is_some());
            if let Some(amount) = lot_view["award_amount"].as_str() {
                line.push_str(&format!(", amount {amount} euro on a base of {base}"));
                if outside {
                    line.push_str(&format!(
                        " (labour {} and safety {} outside the ribasso)",
                        s(&lot_view["labour_costs"]),
                        s(&lot_view["safety_costs"])
                    ));
                }
                entry["amount"] = json!(amount);
            }
            self.say(
                "SUA buyer",
                format!("[{key}] lot {n}: award proposed, requirements verified, awarded"),
            );
            println!("{:>22}  {line}", "");
            self.summary.push(entry);
        }
        Ok(())
    }

    /// A direct award (art. 50 c.1 a-b): its AD3 already reported the operator and amount to PCP with the
    /// CIG, so the award sends no scheda; the contract sends SC1.
    async fn direct_award(&mut self, i: usize) -> anyhow::Result<()> {
        let run = self.run(i)?;
        let (tid, lots) = (run.id.clone(), run.lots.clone());
        let t = self.fx.tenders[i].clone();
        let d = t
            .direct_award
            .clone()
            .ok_or_else(|| anyhow!("tender {}: not a direct award", t.key))?;
        let amount: rust_decimal::Decimal = d
            .amount
            .parse()
            .with_context(|| format!("tender {}: direct_award.amount", t.key))?;
        self.event("tenders", &tid, json!({"event": "start_direct_award"}))
            .await?;
        for (n, lid) in &lots {
            self.event("lots", lid, json!({"event": "start_direct_award"}))
                .await?;
            // below 40,000 euro the award may rest on the operator's self-declaration (art. 52 c.1)
            let checks = if amount < rust_decimal::Decimal::from(40_000) {
                json!({"requirement_checks": "art52_self_declaration"})
            } else {
                json!({"requirements_verified": true})
            };
            self.event(
                "lots",
                lid,
                json!({"event": "verify_requirements", "declarations": checks}),
            )
            .await?;
            self.event("lots", lid, json!({"event": "award"})).await?;
            // below the threshold no standstill (art. 55 c.2)
            self.event("lots", lid, json!({"event": "standstill_elapsed"}))
                .await?;
            self.event("lots", lid, json!({"event": "sign_contract"}))
                .await?;
            let name = self.op_name(&d.operator);
            self.say(
                "SUA buyer",
                format!(
                    "[{}] lot {n}: direct award to {name}, {} euro; contract signed",
                    t.key, d.amount
                ),
            );
            println!(
                "{:>22}  [{}] lot {n}: AWARDED to {name} (direct award, art. 50 c.1 lett. b), amount {} euro",
                "", t.key, d.amount
            );
            let view = self.get(&format!("/v1/tenders/{tid}"), &self.buyer).await?;
            self.summary.push(json!({
                "tender": t.key, "lot": n, "tender_state": view["state"], "outcome": "contracted",
                "winner": d.operator, "amount": d.amount, "procedure": t.procedure,
            }));
        }
        Ok(())
    }

    async fn sign(&mut self, i: usize) -> anyhow::Result<()> {
        let run = self.run(i)?;
        let (tid, lots) = (run.id.clone(), run.lots.clone());
        let _ = &run.municipality_token;
        let title = self.fx.tenders[i].title.clone();
        let buyer = self.buyer.clone();
        for (n, lid) in &lots {
            let view = self.get(&format!("/v1/tenders/{tid}"), &buyer).await?;
            let lot = view["lots"]
                .as_array()
                .and_then(|ls| ls.iter().find(|l| s(&l["id"]) == *lid).cloned())
                .unwrap_or(Value::Null);
            if let Some(end) = lot["standstill_end"]
                .as_str()
                .and_then(|e| e.parse::<DateTime<Utc>>().ok())
            {
                self.advance_to(end + Duration::minutes(1)).await?;
                self.say(
                    "SUA buyer",
                    format!("lot {n}: standstill ended {}", end.format("%Y-%m-%d")),
                );
            }
            let view = self.get(&format!("/v1/tenders/{tid}"), &buyer).await?;
            let state = view["lots"]
                .as_array()
                .and_then(|ls| {
                    ls.iter()
                        .find(|l| s(&l["id"]) == *lid)
                        .map(|l| s(&l["state"]))
                })
                .unwrap_or_default();
            if state == "awarded" {
                let buyer = self.buyer.clone();
                let path = format!("/v1/lots/{lid}/events");
                let body = json!({"event": "standstill_elapsed"});
                let ended = self
                    .awarded_at
                    .get(lid)
                    .and_then(|sent| {
                        lifecycle::lot::standstill_end(&lifecycle::Rules::default(), *sent).ok()
                    })
                    .is_some_and(|end| end <= self.now());
                if self
                    .post(&path, Some(&buyer), body.clone(), 200)
                    .await
                    .is_ok()
                {
                    let what = if ended {
                        "standstill (art. 18 c.3) elapsed"
                    } else {
                        "no standstill applies (below the EU threshold, art. 55 c.2)"
                    };
                    self.say("SUA buyer", format!("{title}, lot {n}: {what}"));
                } else {
                    // The lot does not expose when its standstill ends (standstill_end stays null): compute it
                    // with the lifecycle crate from the award communication's date, the same rule it applies.
                    let sent = self
                        .awarded_at
                        .get(lid)
                        .copied()
                        .ok_or_else(|| anyhow!("lot {n}: award time unknown"))?;
                    let end = lifecycle::lot::standstill_end(&lifecycle::Rules::default(), sent)
                        .map_err(|e| anyhow!("lot {n}: standstill: {e:?}"))?;
                    self.advance_to(end + Duration::minutes(1)).await?;
                    self.post(&path, Some(&buyer), body, 200).await?;
                    self.say(
                        "SUA buyer",
                        format!(
                            "{title}, lot {n}: standstill (art. 18 c.3) elapsed, ended {}",
                            end.format("%Y-%m-%d %H:%M UTC")
                        ),
                    );
                }
            }
            self.event("lots", lid, json!({"event": "sign_contract"}))
                .await?;
            self.say("SUA buyer", format!("{title}, lot {n}: contract signed"));
            if let Some(e) = self
                .summary
                .iter_mut()
                .find(|e| e["tender"] == self.fx.tenders[i].key.as_str() && e["lot"] == *n)
            {
                e["outcome"] = json!("contracted");
            }
        }
        Ok(())
    }
}

/// Writes every scheda the demo sent to PCP (`DIR/pcp/<scheda>-<tender key>[-lotto<n>].json`, the body
/// as sent), the eForms sent with them (`DIR/pcp/eforms/<same name>.xml`) and the list of calls in order
/// (`DIR/pcp/calls.json`). Returns (schede, eForms) written.
async fn write_pcp(d: &Demo, dir: &Path) -> anyhow::Result<(usize, usize)> {
    let (mut schede, mut eforms) = (0, 0);
    let mut listed = Vec::new();
    for r in &d.tenders {
        let key = &d.fx.tenders[r.idx].key;
        let lot_ids: BTreeMap<String, u32> =
            r.lots.iter().map(|(n, id)| (id.clone(), *n)).collect();
        let calls = workflow::pcp_outbox::list_for_tender(&d.state.db.conn, r.id.parse()?).await?;
        for c in calls {
            let lot = c.lot_id.and_then(|l| lot_ids.get(&l.to_string()).copied());
            let mut entry = json!({
                "tender": key, "lot": lot, "operation": c.operation, "purpose": c.purpose,
                "scheda": c.scheda, "status": c.status, "remote_id": c.remote_id,
            });
            if let (Some(code), Some(body)) = (&c.scheda, &c.body)
                && body.contains("\"scheda\"")
            {
                let name = match lot {
                    Some(n) => format!("{code}-{key}-lotto{n}"),
                    None => format!("{code}-{key}"),
                };
                let v: Value = serde_json::from_str(body)
                    .with_context(|| format!("PCP call {}: body", c.id))?;
                std::fs::write(
                    dir.join(format!("{name}.json")),
                    serde_json::to_string_pretty(&v)?,
                )?;
                entry["file"] = json!(format!("{name}.json"));
                schede += 1;
                if let Some(x) = &c.eform {
                    std::fs::write(dir.join("eforms").join(format!("{name}.xml")), x)?;
                    entry["eform"] = json!(format!("eforms/{name}.xml"));
                    eforms += 1;
                }
            }
            listed.push(entry);
        }
    }
    std::fs::write(
        dir.join("calls.json"),
        serde_json::to_string_pretty(&listed)?,
    )?;
    Ok((schede, eforms))
}

async fn export(d: &Demo, settings: &Settings, out: &Path, year: i32) -> anyhow::Result<ExitCode> {
    use crate::cli_export::{
        ExportCommand, L190Args, OcdsArgs, ProponenteArg, RoundingArg, SuaArgs,
    };
    let sua = SuaArgs {
        province: Some("VM".into()),
        sua_codice_fiscale: Some(d.fx.province.codice_fiscale.clone()),
        sua_name: None,
        price_rounding: RoundingArg::HalfUp,
    };
    let l190 = L190Args {
        year,
        out: out.join("anac"),
        sua: sua.clone(),
        base_url: None,
        proponente: ProponenteArg::Municipality,
        ente: None,
        licenza: "IODL 2.0".into(),
        include_invited: false,
        no_placeholder_cig: true,
        max_file_bytes: anac::l190::MAX_DATASET_BYTES,
    };
    println!(
        "ANAC L.190 export for {year} into {}:",
        out.join("anac").display()
    );
    let code = crate::cli_export::run(ExportCommand::L190(l190), settings.clone()).await?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    let ocds = OcdsArgs {
        out: out
            .join("ocds")
            .join(format!("release-package-{year}.json")),
        tender: None,
        sua,
        ocid_prefix: "ocds-vm0sua".into(),
        base_url: None,
        publisher: None,
        license: "https://creativecommons.org/licenses/by/4.0/".into(),
    };
    println!("OCDS release package:");
    crate::cli_export::run(ExportCommand::Ocds(ocds), settings.clone()).await
}

/// Validate every dataset and the index against ANAC's XSD (compiled into the `anac` crate).
fn validate_xml(anac_dir: &Path) -> anyhow::Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(anac_dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let mut checked = 0;
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| f.display().to_string())?;
        let valid = if f.file_name().is_some_and(|n| n == "indice.xml") {
            anac::l190::validate_index(&bytes)
        } else {
            anac::l190::validate_dataset(&bytes)
        };
        if let Err(e) = valid {
            bail!("{} {e}", f.display());
        }
        checked += 1;
    }
    if checked == 0 {
        bail!("no XML written into {}", anac_dir.display());
    }
    Ok(format!("{checked} file(s) validated against ANAC's XSD"))
}

/// A fixture tender's evaluation rules, set on its lots before publication: the anomaly method at the lowest
/// price; the technical criteria (their labels are for people: the evaluation takes id and weight) and the
/// economic formula at quality-price.
fn evaluation_rules(t: &fixture::Tender) -> Value {
    if t.criterion == "quality_price" {
        let mut technical = t.technical.clone().unwrap_or(Value::Null);
        if let Some(cs) = technical["criteria"].as_array_mut() {
            for c in cs {
                if let Some(o) = c.as_object_mut() {
                    o.remove("label");
                }
            }
        }
        json!({"technical": technical, "economic": t.economic.clone().unwrap_or(Value::Null)})
    } else {
        match &t.anomaly {
            Some(a) => json!({ "anomaly": a }),
            None => json!({}),
        }
    }
}
