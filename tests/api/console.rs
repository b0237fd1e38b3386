//! The web console (`/`, `/gare`, `/sua`, `/comune`, `/impresa`) over the running `sua serve`: login and
//! session cookie, CSRF on every form, each page refusing the wrong role and other tenants, form errors
//! next to their fields with nothing written, lifecycle buttons as the machine allows them.

use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::{Value, json};

/// A browser without JavaScript: keeps the session cookie, does not follow redirects.
struct Browser {
    client: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    location: Option<String>,
    set_cookie: Vec<String>,
    body: String,
}

impl Browser {
    fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: app.base.clone(),
            cookie: None,
        }
    }

    async fn send(&mut self, rb: reqwest::RequestBuilder) -> Page {
        let rb = match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        };
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let set_cookie: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookie {
            let pair = c.split(';').next().unwrap().to_owned();
            if pair.ends_with('=') {
                self.cookie = None;
            } else {
                self.cookie = Some(pair);
            }
        }
        Page {
            status,
            location,
            set_cookie,
            body: r.text().await.unwrap_or_default(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let rb = self.client.get(format!("{}{path}", self.base));
        self.send(rb).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let rb = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(rb).await
    }

    /// Log in with `token` through the form; returns where the console sends the role.
    async fn login(&mut self, token: &str) -> String {
        let p = self.get("/").await;
        let csrf = csrf_of(&p.body);
        let r = self
            .post("/login", &[("csrf", &csrf), ("token", token)])
            .await;
        assert_eq!(r.status, 303, "login: {}", r.body);
        r.location.unwrap()
    }

    /// The CSRF token of the page at `path`.
    async fn csrf(&mut self, path: &str) -> String {
        csrf_of(&self.get(path).await.body)
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn csrf_of(html: &str) -> String {
    let i = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("no CSRF field in {html}"));
    let rest = &html[i + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn bidder_token(app: &TestApp, name: &str, cf: &str, pec: &str) -> String {
    let o = ok(
        &app.post(
            "/v1/operators",
            None,
            &json!({"name": name, "codice_fiscale": cf, "pec": pec}),
        )
        .await,
        201,
    );
    o["token"].as_str().unwrap().to_owned()
}

async fn request_count(app: &TestApp, token: &str) -> Value {
    ok(&app.get("/v1/requests", Some(token)).await, 200)["total"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_login_sets_a_strict_cookie_and_every_form_needs_the_csrf_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let mut b = Browser::new(&app);
    let first = b.get("/").await;
    assert_eq!(first.status, 200);
    assert!(
        first.body.contains(r#"<input id="token" name="token""#),
        "{}",
        first.body
    );
    let c = &first.set_cookie[0];
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"),
        "{c}"
    );
    // a POST without the token is refused, with a token from another session too
    assert_eq!(b.post("/login", &[("token", &w.buyer)]).await.status, 403);
    let mut other = Browser::new(&app);
    let foreign = other.csrf("/").await;
    assert_eq!(
        b.post("/login", &[("csrf", &foreign), ("token", &w.buyer)])
            .await
            .status,
        403
    );
    // a wrong token: 401 and the form again
    let csrf = b.csrf("/").await;
    let bad = b
        .post("/login", &[("csrf", &csrf), ("token", "sua_nope")])
        .await;
    assert_eq!(bad.status, 401);
    assert!(bad.body.contains("Token non valido"));
    // the right one: a new session id, to the role's home
    let before = b.cookie.clone();
    assert_eq!(b.login(&w.buyer).await, "/sua");
    assert_ne!(b.cookie, before, "a new session id at login");
    assert_eq!(b.get("/sua").await.status, 200);
    assert_eq!(b.get("/").await.location.as_deref(), Some("/sua"));
    // logout without CSRF: refused, still logged in; with it: out
    assert_eq!(b.post("/logout", &[]).await.status, 403);
    assert_eq!(b.get("/sua").await.status, 200);
    let csrf = b.csrf("/sua").await;
    assert_eq!(b.post("/logout", &[("csrf", &csrf)]).await.status, 303);
    let after = b.get("/sua").await;
    assert_eq!(after.status, 303, "logged out: back to the login");

    // over https (a proxy in front) the cookie is Secure
    let mut s = Browser::new(&app);
    let rb = s
        .client
        .get(format!("{}/", s.base))
        .header("x-forwarded-proto", "https");
    let p = s.send(rb).await;
    assert!(p.set_cookie[0].contains("; Secure"), "{:?}", p.set_cookie);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_pages_refuse_the_wrong_role_and_other_tenants() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let p = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
    let bidder = bidder_token(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;

    let mut anon = Browser::new(&app);
    for path in [
        "/sua",
        "/sua/richieste",
        "/comune",
        "/impresa",
        &format!("/sua/gare/{}", p.tid),
    ] {
        let r = anon.get(path).await;
        assert_eq!(r.status, 303, "{path} needs a login");
        assert!(r.location.unwrap().starts_with("/?"), "{path}");
    }
    let mut muni = Browser::new(&app);
    muni.login(&w.municipality).await;
    let mut buyer = Browser::new(&app);
    buyer.login(&w.buyer).await;
    let mut other_buyer = Browser::new(&app);
    other_buyer.login(&w.other_buyer).await;
    let mut other_muni = Browser::new(&app);
    other_muni.login(&w.other_municipality).await;
    let mut bid = Browser::new(&app);
    assert_eq!(bid.login(&bidder).await, "/impresa");

    let tender = format!("/sua/gare/{}", p.tid);
    let request = format!("/comune/richieste/{}", p.request);
    // wrong role: 403
    for path in ["/sua", tender.as_str(), "/impresa"] {
        assert_eq!(muni.get(path).await.status, 403, "municipality: {path}");
    }
    for path in ["/sua/richieste", tender.as_str(), "/comune"] {
        assert_eq!(bid.get(path).await.status, 403, "bidder: {path}");
    }
    for path in ["/comune", "/impresa"] {
        assert_eq!(buyer.get(path).await.status, 403, "buyer: {path}");
    }
    // other tenants: not found (they may not know it exists)
    assert_eq!(other_buyer.get(&tender).await.status, 404);
    assert_eq!(other_muni.get(&request).await.status, 404);
    // the right ones
    let page = buyer.get(&tender).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Servizio di pulizia"));
    assert_eq!(muni.get(&request).await.status, 200);
    assert_eq!(
        bid.get(&format!("/impresa/gare/{}", p.tid)).await.status,
        200
    );
    // another tenant's POST changes nothing either
    let csrf = other_buyer.csrf("/sua").await;
    let r = other_buyer
        .post(
            &format!("{tender}/evento"),
            &[("csrf", &csrf), ("event", "revoke"), ("motivation", "x")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location.unwrap().contains("err="), "refused by the API");
    let t = ok(
        &app.get(&format!("/v1/tenders/{}", p.tid), Some(&w.buyer))
            .await,
        200,
    );
    assert_eq!(t["state"], "open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_request_form_shows_each_error_next_to_its_field_and_writes_nothing() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let mut muni = Browser::new(&app);
    muni.login(&w.municipality).await;
    let csrf = muni.csrf("/comune").await;
    let bad = muni
        .post(
            "/comune/richieste",
            &[
                ("csrf", &csrf),
                ("object", "Manutenzione strade"),
                ("contract_type", "works"),
                ("cpv", "4523314-0"),
                ("estimated_amount", "12,345"),
                ("rup", ""),
                ("funding_source", "Bilancio"),
                ("desired_criterion", "lowest_price"),
                ("cup", "NOTACUP"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422);
    for field in ["cpv", "estimated_amount", "rup", "cup"] {
        assert!(
            bad.body.contains(&format!(r#"id="f-{field}-err""#)),
            "no message next to {field}: {}",
            bad.body
        );
    }
    assert!(!bad.body.contains(r#"id="f-object-err""#));
    assert!(
        bad.body.contains(r#"value="Manutenzione strade""#),
        "the input is kept"
    );
    assert_eq!(request_count(&app, &w.municipality).await, 0);
    // a valid form without the CSRF token: 403, nothing written
    let good = [
        ("object", "Manutenzione strade 2027"),
        ("contract_type", "services"),
        ("cpv", "90911200-8"),
        ("estimated_amount", "180000,00"),
        ("rup", "Mario Rossi"),
        ("funding_source", "Bilancio"),
        ("desired_criterion", "lowest_price"),
    ];
    assert_eq!(muni.post("/comune/richieste", &good).await.status, 403);
    assert_eq!(request_count(&app, &w.municipality).await, 0);
    let mut with = good.to_vec();
    with.push(("csrf", &csrf));
    let r = muni.post("/comune/richieste", &with).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(request_count(&app, &w.municipality).await, 1);
    let v = ok(&app.get("/v1/requests", Some(&w.municipality)).await, 200);
    assert_eq!(v["items"][0]["estimated_amount"], "180000.00");
    assert_eq!(v["items"][0]["cpv"], "90911200-8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_buttons_follow_the_lifecycle_and_public_pages_search() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let p = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
    let mut buyer = Browser::new(&app);
    buyer.login(&w.buyer).await;
    let tender = format!("/sua/gare/{}", p.tid);
    let page = buyer.get(&tender).await.body;
    // before the deadline the machine refuses to close submissions: disabled, with its rule
    let i = page
        .find(r#"value="close_submissions""#)
        .expect("the close button");
    let button = &page[i..i + 600];
    assert!(button.contains("disabled"), "{button}");
    assert!(button.contains(r#"class="why""#), "{button}");
    // revoke is allowed: enabled
    let i = page.find(r#"value="revoke""#).expect("the revoke button");
    assert!(
        !page[i..i + 200].contains("disabled"),
        "{}",
        &page[i..i + 200]
    );
    assert!(page.contains(r#"id="n-offerte">0<"#));
    // an event POST without CSRF: 403, still open
    assert_eq!(
        buyer
            .post(&format!("{tender}/evento"), &[("event", "revoke")])
            .await
            .status,
        403
    );
    let t = ok(
        &app.get(&format!("/v1/tenders/{}", p.tid), Some(&w.buyer))
            .await,
        200,
    );
    assert_eq!(t["state"], "open");
    // through the button the API refuses closing early and says why
    let csrf = csrf_of(&page);
    let r = buyer
        .post(
            &format!("{tender}/evento"),
            &[("csrf", &csrf), ("event", "close_submissions")],
        )
        .await;
    let to = r.location.unwrap();
    assert!(
        to.contains("err=lex%20specialis") && to.contains("cannot%20close%20earlier"),
        "{to}"
    );

    // public pages
    let mut anon = Browser::new(&app);
    let list = anon.get("/gare?q=pulizia").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains(&p.tid), "{}", list.body);
    assert!(list.body.contains("Comune di Castelrupe"));
    for q in [
        "/gare?q=zzz",
        "/gare?q=pulizia%20zzz",
        "/gare?q=ulizia",
        "/gare?comune=Altrove",
        "/gare?cpv=4523",
        "/gare?stato=closed",
    ] {
        assert!(!anon.get(q).await.body.contains(&p.tid), "{q}");
    }
    // the title is searched by words: each word of the search starts a word of the title, case and
    // accents aside, in any order
    for q in [
        "/gare?q=PULIZ",
        "/gare?q=pulizia%20servizio",
        "/gare?q=Servìzio",
        "/gare?cpv=9091",
        "/gare?comune=castel",
        "/gare?stato=open",
    ] {
        assert!(anon.get(q).await.body.contains(&p.tid), "{q}");
    }
    assert_eq!(anon.get(&format!("/gare/{}", p.tid)).await.status, 200);
    // a draft is not public
    let r = ok(
        &app.post("/v1/requests", Some(&w.municipality), &request_body())
            .await,
        201,
    );
    let acc = ok(
        &app.post(
            &format!("/v1/requests/{}/accept", r["id"].as_str().unwrap()),
            Some(&w.buyer),
            &json!({"procedure_type": "aperta"}),
        )
        .await,
        201,
    );
    let draft = acc["tender_id"].as_str().unwrap();
    assert_eq!(anon.get(&format!("/gare/{draft}")).await.status, 404);
    assert_eq!(buyer.get(&format!("/sua/gare/{draft}")).await.status, 200);
    // the dashboard counts both and lists the coming deadline only if within 14 days (this one is 40 away)
    let dash = buyer.get("/sua").await.body;
    assert!(dash.contains("Gare per stato (2)"), "{dash}");
    assert!(dash.contains("Nessuna scadenza nei prossimi 14 giorni"));
    // the year's spend, recorded at publication: the published tender only, under its municipality
    let i = dash
        .rfind("<td>Comune di Castelrupe</td>")
        .unwrap_or_else(|| panic!("no spend row: {dash}"));
    let row = &dash[i..i + 120];
    assert!(
        row.contains("€ 180.000,00") && row.contains(r#"<td class="num">1</td>"#),
        "{row}"
    );
}

/// Sessions are rows of the database: a second `sua serve` on the same database accepts the session the
/// first one opened (replicas behind a load balancer, or a restart), and a logout on one ends it on both.
async fn sessions_are_shared_by_replicas(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let replica = testkit::serve::spawn(
        SUA.as_ref(),
        app.dir.path(),
        &app.db_url,
        &[("SUA_CLOCK__ALLOW_OVERRIDE", "true"), ("RUST_LOG", "warn")],
    );
    let mut one = Browser::new(&app);
    assert_eq!(one.login(&w.buyer).await, "/sua");
    let mut two = Browser::new(&app);
    two.base = replica.base.clone();
    two.cookie = one.cookie.clone();
    let page = two.get("/sua").await;
    assert_eq!(page.status, 200, "the other replica knows the session");
    // the CSRF token is the session's, on either replica
    let csrf = csrf_of(&page.body);
    assert_eq!(csrf, one.csrf("/sua").await);
    // logout on the second: the first no longer knows it either
    assert_eq!(two.post("/logout", &[("csrf", &csrf)]).await.status, 303);
    assert_eq!(one.get("/sua").await.status, 303, "logged out everywhere");
    // a forged or unknown id is no session
    one.cookie = Some("sua_console=forged".into());
    assert_eq!(one.get("/sua").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_are_shared_by_replicas_sqlite() {
    sessions_are_shared_by_replicas(Backend::Sqlite).await;
}

#[cfg_attr(
    not(sua_pg),
    ignore = "needs PostgreSQL: set SUA_TEST_DATABASE_URL when building the tests"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_are_shared_by_replicas_postgres() {
    sessions_are_shared_by_replicas(Backend::Postgres).await;
}

/// A session expires after eight idle hours (on the injected clock); using it moves its expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_sessions_expire_when_idle() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let mut b = Browser::new(&app);
    b.login(&w.buyer).await;
    assert_eq!(b.get("/sua").await.status, 200);
    let t0 = chrono::Utc::now();
    let at = |h: i64| json!({"now": t0 + chrono::Duration::hours(h)});
    ok(
        &app.put("/v1/admin/clock", Some(&w.admin), &at(7)).await,
        200,
    );
    assert_eq!(
        b.get("/sua").await.status,
        200,
        "seven idle hours: still in"
    );
    ok(
        &app.put("/v1/admin/clock", Some(&w.admin), &at(14)).await,
        200,
    );
    assert_eq!(
        b.get("/sua").await.status,
        200,
        "used at 7 h: it runs to 15 h"
    );
    ok(
        &app.put("/v1/admin/clock", Some(&w.admin), &at(23)).await,
        200,
    );
    let r = b.get("/sua").await;
    assert_eq!(r.status, 303, "nine idle hours: expired");
    assert!(r.location.unwrap().starts_with("/?"));
}

/// Where the error of a refused form is shown: the page the redirect leads to.
async fn after(b: &mut Browser, r: Page) -> String {
    assert_eq!(r.status, 303, "{}", r.body);
    let to = r.location.unwrap();
    b.get(&to).await.body
}

async fn bid_state(app: &TestApp, buyer: &str, tid: &str, bid: &str) -> String {
    let v = ok(
        &app.get(&format!("/v1/tenders/{tid}/bids"), Some(buyer))
            .await,
        200,
    );
    v.as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == bid)
        .unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn lot_state(app: &TestApp, buyer: &str, tid: &str) -> String {
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(buyer)).await,
        200,
    );
    t["lots"][0]["state"].as_str().unwrap().to_owned()
}

/// The soccorso istruttorio (art. 101) and the anomaly explanations (art. 110) through their forms: a bad
/// value is refused with the message next to its field and changes nothing; the lifecycle's refusal
/// stands next to a disabled button; a valid form moves the bid or the lot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_soccorso_and_anomaly_forms() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let p = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
    let (tid, lot) = (p.tid.clone(), p.lot.clone());
    let mut bids = Vec::new();
    for (name, cf, pec, discount) in [
        ("Pulizie Alfa srl", "05949241110", "alfa@pec.it", "30.000"),
        ("Beta Servizi spa", "02229829771", "beta@pec.it", "10.000"),
    ] {
        let token = bidder_token(&app, name, cf, pec).await;
        let b = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&token),
                &json!({"declared_discount": discount}),
            )
            .await,
            201,
        );
        bids.push(b["id"].as_str().unwrap().to_owned());
    }
    close_after_deadline(&app, &w.admin, &w.buyer, &tid, p.deadline).await;
    let tev = format!("/v1/tenders/{tid}/events");
    let lev = format!("/v1/lots/{lot}/events");
    event(&app, &tev, &w.buyer, json!({"event": "start_evaluation"})).await;
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "open_administrative"}),
    )
    .await;

    let mut buyer = Browser::new(&app);
    buyer.login(&w.buyer).await;
    let page_path = format!("/sua/gare/{tid}");
    let page = buyer.get(&page_path).await.body;
    let a = &bids[0];
    let form = format!(r#"id="soccorso-{a}""#);
    assert!(page.contains(&form), "{page}");
    let csrf = csrf_of(&page);
    let post = format!("{page_path}/offerte/{a}/evento");
    let err_id = format!(r#"id="soccorso-{a}-soccorso_days-err""#);
    // without CSRF: 403
    let r = buyer
        .post(
            &post,
            &[("event", "request_soccorso"), ("soccorso_days", "7")],
        )
        .await;
    assert_eq!(r.status, 403);
    // not a number: the message next to the field, nothing asked
    let r = buyer
        .post(
            &post,
            &[
                ("csrf", &csrf),
                ("event", "request_soccorso"),
                ("soccorso_days", "sette"),
            ],
        )
        .await;
    let body = after(&mut buyer, r).await;
    let i = body.find(&err_id).unwrap_or_else(|| panic!("{body}"));
    assert!(
        body[i..i + 200].contains("numero intero"),
        "{}",
        &body[i..i + 200]
    );
    assert!(body.contains(r#"aria-describedby="soccorso-"#));
    // twenty days: the law's refusal (5 to 10 days), next to the field
    let r = buyer
        .post(
            &post,
            &[
                ("csrf", &csrf),
                ("event", "request_soccorso"),
                ("soccorso_days", "20"),
            ],
        )
        .await;
    let body = after(&mut buyer, r).await;
    let i = body.find(&err_id).unwrap_or_else(|| panic!("{body}"));
    assert!(
        body[i..i + 300].contains("art. 101"),
        "{}",
        &body[i..i + 300]
    );
    assert_eq!(bid_state(&app, &w.buyer, &tid, a).await, "submitted");
    // seven days: in soccorso, and the operator's reply can be recorded
    let r = buyer
        .post(
            &post,
            &[
                ("csrf", &csrf),
                ("event", "request_soccorso"),
                ("soccorso_days", "7"),
            ],
        )
        .await;
    let body = after(&mut buyer, r).await;
    assert_eq!(bid_state(&app, &w.buyer, &tid, a).await, "in_soccorso");
    assert!(body.contains("l'operatore regolarizza entro il"), "{body}");
    assert!(body.contains(r#"value="cure_soccorso""#));
    let r = buyer
        .post(&post, &[("csrf", &csrf), ("event", "cure_soccorso")])
        .await;
    after(&mut buyer, r).await;
    assert_eq!(bid_state(&app, &w.buyer, &tid, a).await, "submitted");

    // the economic offers: the lot is ranked, the explanations form appears
    for b in &bids {
        event(
            &app,
            &format!("/v1/bids/{b}/events"),
            &w.buyer,
            json!({"event": "admit"}),
        )
        .await;
    }
    for e in ["start_economic_evaluation", "open_economic_offers"] {
        event(&app, &lev, &w.buyer, json!({ "event": e })).await;
    }
    let page = buyer.get(&page_path).await.body;
    let form = format!(r#"id="anomalia-{lot}""#);
    let i = page.find(&form).unwrap_or_else(|| panic!("{page}"));
    assert!(
        !page[i..i + 900].contains("disabled"),
        "{}",
        &page[i..i + 900]
    );
    // before the check, accepting explanations is not a step of this state: no such button
    assert!(!page.contains(r#"value="accept_justification""#));
    let post = format!("{page_path}/lotti/{lot}/evento");
    let err_id = format!(r#"id="anomalia-{lot}-anomaly_term_days-err""#);
    let r = buyer
        .post(
            &post,
            &[
                ("csrf", &csrf),
                ("event", "start_anomaly_check"),
                ("anomaly_term_days", "99"),
            ],
        )
        .await;
    let body = after(&mut buyer, r).await;
    let i = body.find(&err_id).unwrap_or_else(|| panic!("{body}"));
    assert!(
        body[i..i + 300].contains("art. 110 c.2"),
        "{}",
        &body[i..i + 300]
    );
    assert_eq!(lot_state(&app, &w.buyer, &tid).await, "ranked");
    let r = buyer
        .post(
            &post,
            &[
                ("csrf", &csrf),
                ("event", "start_anomaly_check"),
                ("anomaly_term_days", "10"),
            ],
        )
        .await;
    let body = after(&mut buyer, r).await;
    assert_eq!(lot_state(&app, &w.buyer, &tid).await, "anomaly_check");
    for ev in ["accept_justification", "reject_justification"] {
        let i = body
            .find(&format!(r#"value="{ev}""#))
            .unwrap_or_else(|| panic!("{ev}: {body}"));
        assert!(
            !body[i..i + 200].contains("disabled"),
            "{}",
            &body[i..i + 200]
        );
    }
    // proposing the award is refused while the explanations are pending: disabled, with the rule
    let r = buyer
        .post(&post, &[("csrf", &csrf), ("event", "accept_justification")])
        .await;
    let body = after(&mut buyer, r).await;
    assert_eq!(lot_state(&app, &w.buyer, &tid).await, "ranked");
    let i = body
        .find(r#"value="propose_award""#)
        .expect("propose button");
    assert!(
        !body[i..i + 200].contains("disabled"),
        "explanations accepted: {}",
        &body[i..i + 200]
    );
}

/// The platform admin's pages: only the admin; forms with CSRF and their errors next to the field; the
/// token shown once; the audit chain verified; the mail outbox counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_admin_pages() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    for token in [&w.buyer, &w.municipality] {
        let mut b = Browser::new(&app);
        let home = b.login(token).await;
        assert_eq!(b.get("/admin").await.status, 403);
        assert_eq!(b.get("/admin/registro").await.status, 403);
        let csrf = b.csrf(&home).await;
        let r = b
            .post(
                "/admin/province",
                &[("csrf", &csrf), ("code", "ZZ"), ("name", "Zeta")],
            )
            .await;
        assert_eq!(r.status, 403);
    }
    assert_eq!(Browser::new(&app).get("/admin").await.status, 303);
    let mut admin = Browser::new(&app);
    assert_eq!(admin.login(&w.admin).await, "/admin");
    let page = admin.get("/admin").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Provincia di"), "{}", page.body);
    let csrf = csrf_of(&page.body);
    let provinces = || async { admin_count(&app, "SELECT COUNT(*) FROM province").await };
    let before = provinces().await;
    // without CSRF: refused, nothing created
    let r = admin
        .post(
            "/admin/province",
            &[("code", "ZZ"), ("name", "Provincia di Zeta")],
        )
        .await;
    assert_eq!(r.status, 403);
    // an empty name: the API's message next to the field, the code kept
    let r = admin
        .post(
            "/admin/province",
            &[("csrf", &csrf), ("code", "ZZ"), ("name", " ")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains(r#"id="pv-name-err""#), "{}", r.body);
    assert!(r.body.contains(r#"value="ZZ""#));
    assert_eq!(provinces().await, before);
    let r = admin
        .post(
            "/admin/province",
            &[
                ("csrf", &csrf),
                ("code", "ZZ"),
                ("name", "Provincia di Zeta"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(provinces().await, before + 1);
    // a municipality with a wrong codice fiscale: next to the field
    let page = admin.get("/admin").await.body;
    let i = page
        .find("Provincia di Zeta</option>")
        .expect("the new province to choose");
    let v = page[..i].rfind("value=\"").unwrap();
    let pid = page[v + 7..v + 7 + 36].to_owned();
    let r = admin
        .post(
            "/admin/comuni",
            &[
                ("csrf", &csrf),
                ("province_id", &pid),
                ("name", "Comune di Zeta"),
                ("codice_fiscale", "123"),
            ],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains(r#"id="cm-codice_fiscale-err""#),
        "{}",
        r.body
    );
    // a token for the new province's buyers: shown once, and it opens the buyer's console
    let r = admin
        .post(
            "/admin/token",
            &[
                ("csrf", &csrf),
                ("role", "sua_buyer"),
                ("org", &pid),
                ("label", "Ufficio gare"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let i = r
        .body
        .find(r#"id="issued-token" readonly value=""#)
        .expect("the token");
    let rest = &r.body[i + r#"id="issued-token" readonly value=""#.len()..];
    let token = &rest[..rest.find('"').unwrap()];
    let mut zeta = Browser::new(&app);
    assert_eq!(zeta.login(token).await, "/sua");
    assert!(
        !admin.get("/admin").await.body.contains(token),
        "shown once only"
    );
    // the audit chain
    let audit = admin.get("/admin/registro").await;
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("Catena integra"), "{}", audit.body);
}

async fn admin_count(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&app.db_url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}
