//! PCP (ANAC's Piattaforma Contratti Pubblici) through the outbox and worker, against the mock
//! (`service::pcp::mock::MockPcp`, which validates every body against ANAC's schemas): the open tender above
//! the threshold goes crea-appalto P1_16 → conferma → esito with CIGs → pubblica-avviso → S2 → A1_29 → SC1;
//! an outage delays the calls, which go out once and in order; a KO is shown with ANAC's message and can
//! be resent; two replicas on one database never send one call twice. The mock also plays PDND: every
//! call carries a voucher obtained with the platform's client assertion, fetched once and renewed when it
//! expires; a PDND outage delays the calls like a PCP outage. Each test runs on SQLite and PostgreSQL.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use chrono::Duration;
use serde_json::{Value, json};
use service::pcp::mock::{Fault, MockPcp, PdndConfig};

const CLIENT_ID: &str = "client-test";
const PURPOSE_ID: &str = "purpose-test";
const VOUCHER_AUDIENCE: &str = "auth.uat.interop.pagopa.it/client-assertion";

/// The mock PCP with PDND's token endpoint, knowing the test key's public half; vouchers live `ttl`.
fn start_mock(ttl: std::time::Duration) -> MockPcp {
    MockPcp::start_with_pdnd(PdndConfig {
        public_key_pem: include_bytes!("../../crates/pcp/tests/keys/test-rsa.pub.pem").to_vec(),
        client_id: CLIENT_ID.into(),
        audience: VOUCHER_AUDIENCE.into(),
        purpose_id: PURPOSE_ID.into(),
        voucher_ttl: ttl,
    })
}

pub(crate) fn mock() -> MockPcp {
    start_mock(std::time::Duration::from_secs(600))
}

/// Runs `$body(backend)` on SQLite and, when the build saw `SUA_TEST_DATABASE_URL`, on PostgreSQL.
macro_rules! on_both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(sua_pg),
                ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
            )]
            async fn postgres() {
                ($body)(Backend::Postgres).await;
            }
        }
    };
}
pub(crate) use on_both_backends;

fn pcp_env(mock: &MockPcp) -> Vec<(&'static str, String)> {
    vec![
        ("SUA_PCP__MODI__TOKEN_ENDPOINT", mock.token_url()),
        ("SUA_PCP__ENABLED", "true".into()),
        ("SUA_PCP__BASE_URL", mock.url.clone()),
        ("SUA_PCP__POLL_INTERVAL_MS", "100".into()),
        ("SUA_PCP__BACKOFF_BASE_SECS", "1".into()),
        ("SUA_PCP__BACKOFF_MAX_SECS", "2".into()),
        ("SUA_PCP__ESITO_POLL_SECS", "0".into()),
        ("SUA_PCP__TIMEOUT_SECS", "2".into()),
        ("SUA_PCP__MODI__KID", "sua-test-key-1".into()),
        ("SUA_PCP__MODI__CLIENT_ID", CLIENT_ID.into()),
        ("SUA_PCP__MODI__PURPOSE_ID", PURPOSE_ID.into()),
        ("SUA_PCP__MODI__VOUCHER_AUDIENCE", VOUCHER_AUDIENCE.into()),
        (
            "SUA_PCP__MODI__SERVICE_AUDIENCE",
            "https://pcp.test/ComunicaAppalto/v1".into(),
        ),
        ("SUA_PCP__MODI__REG_CODICE_PIATTAFORMA", "SUA-TEST".into()),
        ("SUA_PCP__MODI__REG_CODICE_COMPONENTE", "SUA-CORE".into()),
        (
            "SUA_PCP__MODI__PRIVATE_KEY_PATH",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../pcp/tests/keys/test-rsa.pem"
            )
            .into(),
        ),
        (
            "SUA_PCP__MODI__USER_CODICE_FISCALE",
            "RSSMRA80A01H501U".into(),
        ),
    ]
}

pub(crate) async fn spawn(backend: Backend, mock: &MockPcp, extra: &[(&str, &str)]) -> TestApp {
    let env = pcp_env(mock);
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    TestApp::spawn_with(backend, &all).await
}

pub(crate) async fn calls(app: &TestApp, tid: &str, buyer: &str) -> Vec<Value> {
    ok(
        &app.get(&format!("/v1/tenders/{tid}/pcp"), Some(buyer))
            .await,
        200,
    )
    .as_array()
    .unwrap()
    .clone()
}

/// Waits until `pred` holds on the tender's calls (up to 30 s).
pub(crate) async fn wait_calls(
    app: &TestApp,
    tid: &str,
    buyer: &str,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..300 {
        last = calls(app, tid, buyer).await;
        if pred(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: {}", serde_json::to_string_pretty(&last).unwrap());
}

pub(crate) fn all_confirmed(c: &[Value], n: usize) -> bool {
    c.len() == n && c.iter().all(|x| x["status"] == "confermata")
}

/// The buyer takes a request above the EU threshold to `acquire_cig` with PCP enabled (deadline set
/// first: it goes in the publication scheda). Returns (tender, lot).
pub(crate) async fn to_acquire_cig(app: &TestApp, w: &crate::flow::World) -> (String, String) {
    to_acquire_cig_with(app, w, None).await
}

/// [`to_acquire_cig`], the lot's data for ANAC (`pcp`) stated first when given.
async fn to_acquire_cig_with(
    app: &TestApp,
    w: &crate::flow::World,
    pcp: Option<Value>,
) -> (String, String) {
    let mut body = request_body();
    body["estimated_amount"] = json!("400000.00");
    body["lots"][0]["estimated_amount"] = json!("400000.00");
    let tid = accepted(app, &w.municipality, &w.buyer, &body, "aperta").await;
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    let ev = format!("/v1/tenders/{tid}/events");
    event(
        app,
        &ev,
        &w.buyer,
        json!({"event": "adopt_decision_to_contract"}),
    )
    .await;
    let deadline = chrono::Utc::now() + Duration::days(40);
    ok(
        &app.patch(
            &format!("/v1/tenders/{tid}"),
            Some(&w.buyer),
            &json!({"deadline": deadline}),
        )
        .await,
        200,
    );
    if let Some(pcp) = pcp {
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}/lots/{lot}"),
                Some(&w.buyer),
                &json!({"pcp": pcp}),
            )
            .await,
            200,
        );
    }
    let tr = event(app, &ev, &w.buyer, json!({"event": "acquire_cig"})).await;
    assert_eq!(tr["to"], "approved", "the CIGs come from PCP later: {tr}");
    assert_eq!(
        tr["effects"][0]["pcp_calls"].as_array().unwrap().len(),
        2,
        "{tr}"
    );
    (tid, lot)
}

pub(crate) async fn wait_state(
    app: &TestApp,
    path: &str,
    buyer: &str,
    key: &str,
    want: &str,
) -> Value {
    let mut t = Value::Null;
    for _ in 0..300 {
        t = ok(&app.get(path, Some(buyer)).await, 200);
        if t.pointer(key).and_then(Value::as_str) == Some(want) {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{key} never became {want}: {t}");
}

on_both_backends!(
    an_open_tender_above_the_threshold_goes_through_pcp_from_p1_16_to_sc1,
    from_p1_16_to_sc1
);

async fn from_p1_16_to_sc1(backend: Backend) {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    // a second replica on the same database: its worker races the first for every call
    let replica = testkit::serve::spawn(
        SUA.as_ref(),
        app.dir.path(),
        &app.db_url,
        &pcp_env(&mock)
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain([("SUA_CLOCK__ALLOW_OVERRIDE", "true")])
            .collect::<Vec<_>>(),
    );
    let w = world(&app).await;
    let (tid, lot) = to_acquire_cig(&app, &w).await;
    // PCP assigns the CIG; the worker stores it and makes the tender ready
    let t = wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    let cig = t["lots"][0]["cig"]
        .as_str()
        .expect("a CIG from PCP")
        .to_owned();
    domain::ids::Cig::parse(&cig).expect("ANAC's check characters");
    assert_eq!(t["lots"][0]["cig_source"], "pcp", "{t}");
    let c = calls(&app, &tid, &w.buyer).await;
    assert_eq!(c[0]["scheda"], "P1_16", "{c:?}");
    assert!(all_confirmed(&c, 2), "{c:?}");
    // publication: pubblica-avviso (the contract notice goes to TED through PCP)
    let ev = format!("/v1/tenders/{tid}/events");
    event(&app, &ev, &w.buyer, json!({"event": "publish"})).await;
    wait_calls(&app, &tid, &w.buyer, "pubblica-avviso", |c| {
        all_confirmed(c, 3)
    })
    .await;

    // bids, evaluation, award
    let lev = format!("/v1/lots/{lot}/events");
    let bids = bid_ids(register_and_bid(&app, &lot, &ALFA_AND_BETA).await);
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    let deadline: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(t["deadline"].clone()).unwrap();
    let after = deadline + Duration::minutes(1);
    ok(
        &app.put("/v1/admin/clock", Some(&w.admin), &json!({"now": after}))
            .await,
        200,
    );
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "closed",
    )
    .await;
    verified_for_award(&app, &w.buyer, &tid, &lot, &bids).await;
    // the award does not wait for PCP
    let tr = event(&app, &lev, &w.buyer, json!({"event": "award"})).await;
    assert_eq!(tr["to"], "awarded", "{tr}");
    let c = wait_calls(&app, &tid, &w.buyer, "S2 and A1_29", |c| {
        all_confirmed(c, 5)
    })
    .await;
    assert_eq!(c[3]["scheda"], "S2", "{c:?}");
    assert_eq!(c[4]["scheda"], "A1_29", "{c:?}");

    // the standstill ends; the contract is signed: SC1
    let t = wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/lots/0/state",
        "awarded",
    )
    .await;
    let _ = t;
    let mut end = Value::Null;
    for _ in 0..300 {
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        end = t["lots"][0]["standstill_end"].clone();
        if !end.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let end: chrono::DateTime<chrono::Utc> = serde_json::from_value(end).expect("a standstill end");
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": end + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/lots/0/state",
        "ready_to_sign",
    )
    .await;
    event(&app, &lev, &w.buyer, json!({"event": "sign_contract"})).await;
    let c = wait_calls(&app, &tid, &w.buyer, "SC1", |c| all_confirmed(c, 6)).await;
    assert_eq!(c[5]["scheda"], "SC1", "{c:?}");

    // every body PCP received was valid (the mock answers 400 otherwise) and each call went out once
    let got = mock.received();
    assert!(got.iter().all(|r| r.status == 200), "{got:#?}");
    let posts: Vec<&str> = got
        .iter()
        .filter(|r| {
            !r.path.contains("esito-operazione")
                && !r.path.contains("recupera-cig")
                && !r.path.contains("token")
        })
        .map(|r| r.path.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        posts,
        [
            "crea-appalto",
            "conferma-appalto",
            "pubblica-avviso",
            "crea-scheda",
            "conferma-scheda",
            "crea-scheda",
            "conferma-scheda",
            "crea-scheda",
            "conferma-scheda"
        ],
        "in order, once each, although two workers raced"
    );
    let codes: Vec<&str> = got
        .iter()
        .filter_map(|r| {
            r.body
                .pointer("/scheda/codice/codice")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(codes, ["P1_16", "S2", "A1_29", "SC1"]);
    // one voucher per replica, for every call
    assert!(mock.vouchers_issued() <= 2, "{}", mock.vouchers_issued());
    drop(replica);
}

on_both_backends!(
    pcp_down_delays_the_calls_which_go_out_once_in_order_when_it_returns,
    pcp_down
);

async fn pcp_down(backend: Backend) {
    let mock = mock();
    mock.set_down(true);
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let (tid, _) = to_acquire_cig(&app, &w).await;
    // the worker tries, PCP answers 503: the call stays queued with the reason, nothing is lost
    let c = wait_calls(&app, &tid, &w.buyer, "attempts during the outage", |c| {
        c[0]["error_code"] == "TRANSIENT"
    })
    .await;
    // (the attempt is counted when claimed, the reason recorded when PCP answered)
    assert_eq!(c[0]["status"], "in_coda", "{c:?}");
    assert!(c[0]["attempts"].as_i64().unwrap() >= 1, "{c:?}");
    assert_eq!(
        c[1]["attempts"], 0,
        "the conferma waits for the crea: {c:?}"
    );
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    assert_eq!(t["state"], "approved", "no CIG, no publication");
    mock.set_down(false);
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    let c = calls(&app, &tid, &w.buyer).await;
    assert!(all_confirmed(&c, 2), "{c:?}");
    let ok_posts: Vec<String> = answered(&mock, 200)
        .into_iter()
        .filter(|p| !p.contains("esito") && !p.contains("recupera"))
        .collect();
    assert_eq!(
        ok_posts,
        [
            "/ComunicaAppalto/v2/crea-appalto",
            "/ComunicaAppalto/v2/conferma-appalto"
        ],
        "once each, in order"
    );
}

on_both_backends!(
    a_ko_is_shown_with_anacs_message_and_can_be_resent_by_the_buyer_only,
    ko_resent
);

async fn ko_resent(backend: Backend) {
    let mock = mock();
    mock.inject(Fault::Ko {
        codice: "ERR16".into(),
        dettaglio: "Stazione appaltante non abilitata".into(),
    });
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let (tid, _) = to_acquire_cig(&app, &w).await;
    let c = wait_calls(&app, &tid, &w.buyer, "KO", |c| {
        c.len() == 2 && c[1]["status"] == "errore"
    })
    .await;
    assert_eq!(c[1]["error_code"], "ERR16", "{c:?}");
    assert_eq!(c[1]["error_message"], "Stazione appaltante non abilitata");
    let id = c[1]["id"].as_str().unwrap();
    // others may not see nor resend it
    let r = app
        .get(&format!("/v1/tenders/{tid}/pcp"), Some(&w.other_buyer))
        .await;
    assert!(matches!(r.0, 403 | 404), "{r:?}");
    let r = app
        .post(
            &format!("/v1/pcp/calls/{id}/resend"),
            Some(&w.other_buyer),
            &json!({}),
        )
        .await;
    assert!(matches!(r.0, 403 | 404), "{r:?}");
    // a call not in errore cannot be resent
    let first = c[0]["id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/v1/pcp/calls/{first}/resend"),
            Some(&w.buyer),
            &json!({}),
        )
        .await;
    assert_eq!(r.0, 409, "{r:?}");
    let r = ok(
        &app.post(
            &format!("/v1/pcp/calls/{id}/resend"),
            Some(&w.buyer),
            &json!({}),
        )
        .await,
        200,
    );
    assert_eq!(r["status"], "in_coda");
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    let c = calls(&app, &tid, &w.buyer).await;
    assert!(all_confirmed(&c, 2), "{c:?}");
    assert_eq!(c[1]["error_code"], Value::Null);
}

both_backends!(
    with_pcp_disabled_acquire_cig_takes_the_typed_in_cig_as_before,
    |app: TestApp| async move {
        let w = world(&app).await;
        let p = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
        let c = calls(&app, &p.tid, &w.buyer).await;
        assert!(c.is_empty(), "{c:?}");
        let t = ok(
            &app.get(&format!("/v1/tenders/{}", p.tid), Some(&w.buyer))
                .await,
            200,
        );
        assert_eq!(t["lots"][0]["cig_source"], "external", "{t}");
    }
);

/// The PCP calls the mock answered with `status`, by path.
pub(crate) fn answered(mock: &MockPcp, status: u16) -> Vec<String> {
    mock.received()
        .into_iter()
        .filter(|r| r.status == status && !r.path.contains("token"))
        .map(|r| r.path)
        .collect()
}

on_both_backends!(
    one_pdnd_voucher_serves_many_calls_and_is_renewed_when_it_expires,
    voucher_cached_and_renewed
);

async fn voucher_cached_and_renewed(backend: Backend) {
    // vouchers of 3 s: renewed 0.6 s before they expire
    let mock = start_mock(std::time::Duration::from_secs(3));
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let (tid, _) = to_acquire_cig(&app, &w).await;
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    // crea-appalto, conferma-appalto, esito-operazione, recupera-cig: one voucher
    assert!(answered(&mock, 200).len() >= 4, "{:?}", mock.received());
    assert_eq!(mock.vouchers_issued(), 1, "one voucher for every call");
    assert!(
        answered(&mock, 401).is_empty(),
        "every call had a valid voucher"
    );
    // the voucher expires: the next call gets a new one
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    event(
        &app,
        &format!("/v1/tenders/{tid}/events"),
        &w.buyer,
        json!({"event": "publish"}),
    )
    .await;
    wait_calls(&app, &tid, &w.buyer, "pubblica-avviso", |c| {
        all_confirmed(c, 3)
    })
    .await;
    assert_eq!(mock.vouchers_issued(), 2, "renewed after expiry");
    assert!(
        answered(&mock, 401).is_empty(),
        "never sent with an expired voucher"
    );
}

on_both_backends!(
    a_pdnd_outage_delays_the_calls_and_never_loses_them,
    pdnd_down
);

async fn pdnd_down(backend: Backend) {
    let mock = mock();
    mock.set_auth_down(true);
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let (tid, _) = to_acquire_cig(&app, &w).await;
    let c = wait_calls(&app, &tid, &w.buyer, "attempts during PDND's outage", |c| {
        c[0]["error_code"] == "TRANSIENT"
    })
    .await;
    assert_eq!(c[0]["status"], "in_coda", "{c:?}");
    assert!(
        c[0]["error_message"].as_str().unwrap().contains("PDND"),
        "{c:?}"
    );
    assert!(
        answered(&mock, 200).is_empty(),
        "nothing reaches PCP without a voucher"
    );
    mock.set_auth_down(false);
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    let c = calls(&app, &tid, &w.buyer).await;
    assert!(all_confirmed(&c, 2), "{c:?}");
    let posts: Vec<String> = answered(&mock, 200)
        .into_iter()
        .filter(|p| !p.contains("esito") && !p.contains("recupera"))
        .collect();
    assert_eq!(
        posts,
        [
            "/ComunicaAppalto/v2/crea-appalto",
            "/ComunicaAppalto/v2/conferma-appalto"
        ],
        "once each, in order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdnd_refuses_an_assertion_for_another_purpose_and_pcp_refuses_a_call_without_voucher() {
    let mock = MockPcp::start_with_pdnd(PdndConfig {
        public_key_pem: include_bytes!("../../crates/pcp/tests/keys/test-rsa.pub.pem").to_vec(),
        client_id: CLIENT_ID.into(),
        audience: VOUCHER_AUDIENCE.into(),
        purpose_id: "another-purpose".into(),
        voucher_ttl: std::time::Duration::from_secs(600),
    });
    // a call without a voucher
    let r = reqwest::Client::new()
        .get(format!(
            "{}/ServiziComuni/v2/esito-operazione?idAppalto={}&tipoOperazione=AP_CONF",
            mock.url,
            uuid::Uuid::nil()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let app = spawn(Backend::Sqlite, &mock, &[]).await;
    let w = world(&app).await;
    let (tid, _) = to_acquire_cig(&app, &w).await;
    let c = wait_calls(&app, &tid, &w.buyer, "voucher refused", |c| {
        c[0]["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("purposeId"))
    })
    .await;
    assert_eq!(
        c[0]["status"], "in_coda",
        "waits for the configuration to be fixed: {c:?}"
    );
    assert_eq!(mock.vouchers_issued(), 0);
}

both_backends!(
    a_lots_data_for_anacs_schede_is_checked_against_anacs_lists_and_shown,
    |app: TestApp| async move {
        let w = world(&app).await;
        let r = ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let rid = r["id"].as_str().unwrap();
        let acc = ok(
            &app.post(
                &format!("/v1/requests/{rid}/accept"),
                Some(&w.buyer),
                &json!({"procedure_type": "aperta"}),
            )
            .await,
            201,
        );
        let tid = acc["tender_id"].as_str().unwrap();
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        let lot = t["lots"][0]["id"].as_str().unwrap();
        let path = format!("/v1/tenders/{tid}/lots/{lot}");
        // each code against ANAC's list; the problem names the field
        for (bad, field) in [
            (json!({"ccnl": "ZZZ"}), "pcp.ccnl"),
            (json!({"categoria": "OG3"}), "pcp.categoria"),
            (json!({"finanziamento": "X"}), "pcp.finanziamento"),
            (json!({"nuts": "FR101"}), "pcp.nuts"),
            (json!({"durata_mesi": 0}), "pcp.durata_mesi"),
            (json!({"bim": true}), "pcp.bim_esenzione"),
        ] {
            let r = app.patch(&path, Some(&w.buyer), &json!({"pcp": bad})).await;
            assert_eq!(r.0, 422, "{bad}: {r:?}");
            assert_eq!(r.1["field"], field, "{r:?}");
        }
        let r = app
            .patch(&path, Some(&w.buyer), &json!({"pcp": {"colore": "blu"}}))
            .await;
        assert!(matches!(r.0, 400 | 422), "unknown field refused: {r:?}");
        let good = json!({"ccnl": "H08", "categoria": "OG 3", "finanziamento": "C03", "nuts": "ITC11",
                          "durata_mesi": 12, "bim": false, "bim_esenzione": true});
        let v = ok(
            &app.patch(&path, Some(&w.buyer), &json!({"pcp": good}))
                .await,
            200,
        );
        assert_eq!(v["pcp"]["categoria"], "OG 3", "{v}");
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(t["lots"][0]["pcp"]["finanziamento"], "C03", "{t}");
        assert_eq!(t["lots"][0]["cig_source"], Value::Null, "no CIG yet");
    }
);

on_both_backends!(
    a_direct_award_gets_its_cig_from_ad3_and_reports_the_contract_with_sc1,
    direct_award_ad3
);

/// A direct award (art. 50 c.1 a-b): the buyer states the operator and amount on the lot (the decisione di
/// contrarre names them, art. 17 c.2); `acquire_cig` sends AD3 (crea-appalto, which creates the appalto
/// awarded) and conferma-appalto; the CIG comes from the outcome; the award sends nothing more (AD3 said
/// it); the contract sends SC1 with the same `idPartecipante`.
async fn direct_award_ad3(backend: Backend) {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let mut body = request_body();
    body["estimated_amount"] = json!("38000.00");
    body["lots"][0]["estimated_amount"] = json!("38000.00");
    let tid = accepted(
        &app,
        &w.municipality,
        &w.buyer,
        &body,
        "affidamento_diretto",
    )
    .await;
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    let ev = format!("/v1/tenders/{tid}/events");
    let lev = format!("/v1/lots/{lot}/events");
    event(
        &app,
        &ev,
        &w.buyer,
        json!({"event": "adopt_decision_to_contract", "declarations": {"contractor_named": true}}),
    )
    .await;
    // without the operator and the amount there is no AD3 to send: refused, naming the field
    let r = app
        .post(&ev, Some(&w.buyer), &json!({"event": "acquire_cig"}))
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "pcp.affidatario", "{}", r.1);
    let o = ok(
        &app.post(
            "/v1/operators",
            None,
            &json!({"name": "Pulizie Alfa srl", "codice_fiscale": "05949241110", "pec": "alfa@pec.it"}),
        )
        .await,
        201,
    );
    let op = o["operator"]["id"].as_str().unwrap().to_owned();
    let lot_path = format!("/v1/tenders/{tid}/lots/{lot}");
    for (pcp, field) in [
        (
            json!({"affidatario": op, "importo_affidamento": "zero"}),
            "pcp.importo_affidamento",
        ),
        (
            json!({"affidatario": op, "importo_affidamento": "-10.00"}),
            "pcp.importo_affidamento",
        ),
        (
            json!({"affidatario": uuid::Uuid::nil(), "importo_affidamento": "37500.00"}),
            "pcp.affidatario",
        ),
    ] {
        let r = app
            .patch(&lot_path, Some(&w.buyer), &json!({"pcp": pcp}))
            .await;
        assert_eq!(r.0, 422, "{pcp}: {}", r.1);
        assert_eq!(r.1["field"], field, "{}", r.1);
    }
    let l = ok(
        &app.patch(
            &lot_path,
            Some(&w.buyer),
            &json!({"pcp": {"affidatario": op, "importo_affidamento": "37500.00"}}),
        )
        .await,
        200,
    );
    assert_eq!(l["pcp"]["affidatario"], op.as_str(), "{l}");
    let tr = event(&app, &ev, &w.buyer, json!({"event": "acquire_cig"})).await;
    assert_eq!(tr["to"], "approved", "the CIG comes from PCP later: {tr}");
    let t = wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    let cig = t["lots"][0]["cig"].as_str().expect("a CIG from PCP");
    domain::ids::Cig::parse(cig).expect("ANAC's check characters");
    assert_eq!(t["lots"][0]["cig_source"], "pcp", "{t}");
    let c = calls(&app, &tid, &w.buyer).await;
    assert_eq!(c[0]["scheda"], "AD3", "{c:?}");
    assert!(all_confirmed(&c, 2), "{c:?}");

    // the direct award runs; its award is already reported by AD3
    event(&app, &ev, &w.buyer, json!({"event": "start_direct_award"})).await;
    event(&app, &lev, &w.buyer, json!({"event": "start_direct_award"})).await;
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "verify_requirements",
               "declarations": {"requirement_checks": "art52_self_declaration"}}),
    )
    .await;
    let tr = event(&app, &lev, &w.buyer, json!({"event": "award"})).await;
    assert_eq!(tr["to"], "awarded", "{tr}");
    // below the threshold no standstill (art. 55 c.2): the contract may be signed at once
    let tr = event(&app, &lev, &w.buyer, json!({"event": "standstill_elapsed"})).await;
    assert_eq!(tr["to"], "ready_to_sign", "{tr}");
    assert_eq!(
        calls(&app, &tid, &w.buyer).await.len(),
        2,
        "no S2/A2_29 for a direct award"
    );
    event(&app, &lev, &w.buyer, json!({"event": "sign_contract"})).await;
    let c = wait_calls(&app, &tid, &w.buyer, "SC1", |c| all_confirmed(c, 3)).await;
    assert_eq!(c[2]["scheda"], "SC1", "{c:?}");

    // every body valid (the mock answers 400 otherwise); AD3 names the operator and amount, SC1 the same
    // participant
    let got = mock.received();
    assert!(got.iter().all(|r| r.status == 200), "{got:#?}");
    let schede: Vec<&Value> = got
        .iter()
        .filter(|r| r.body.pointer("/scheda/codice/codice").is_some())
        .map(|r| &r.body)
        .collect();
    let codes: Vec<&str> = schede
        .iter()
        .map(|b| b["scheda"]["codice"]["codice"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["AD3", "SC1"]);
    let ag = &schede[0]["scheda"]["body"]["anacForm"]["aggiudicazioni"][0];
    let p = &ag["partecipanti"][0];
    assert_eq!(p["codiceFiscale"], "05949241110", "{ag}");
    assert_eq!(p["importo"], json!(37500), "{ag}");
    assert_eq!(
        schede[1]["scheda"]["body"]["anacForm"]["datiContratto"]["idPartecipante"],
        p["idPartecipante"],
    );
}

on_both_backends!(
    a_deserted_tender_above_the_threshold_is_reported_with_a1_29_without_a_winner,
    deserted_above_threshold
);

/// Above the threshold a tender without a winner is reported with A1_29 (no winner, the award notice 29
/// saying `clos-nw` with BT-144's reason), not with NAG (below the threshold only).
async fn deserted_above_threshold(backend: Backend) {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    // the lot (400,000 euro) funded from two sources, with sums at disposal in its quadro economico
    let pcp = json!({
        "finanziamenti": [{"tipo": "A", "importo": "250000.00"}, {"tipo": "C01", "importo": "150000.00"}],
        "somme_a_disposizione": "88000.00"
    });
    let (tid, lot) = to_acquire_cig_with(&app, &w, Some(pcp)).await;
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    assert_eq!(
        t["lots"][0]["pcp"]["finanziamenti"][1]["tipo"], "C01",
        "{t}"
    );
    let _ = lot;
    wait_state(
        &app,
        &format!("/v1/tenders/{tid}"),
        &w.buyer,
        "/state",
        "ready",
    )
    .await;
    let ev = format!("/v1/tenders/{tid}/events");
    event(&app, &ev, &w.buyer, json!({"event": "publish"})).await;
    wait_calls(&app, &tid, &w.buyer, "pubblica-avviso", |c| {
        all_confirmed(c, 3)
    })
    .await;
    // nobody bids; the deadline passes: the tender is deserted
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    let deadline: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(t["deadline"].clone()).unwrap();
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": deadline + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    let mut state = Value::Null;
    for _ in 0..300 {
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        state = t["state"].clone();
        if state == "deserted" {
            break;
        }
        if state == "closed" {
            event(&app, &ev, &w.buyer, json!({"event": "declare_deserted"})).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(state, "deserted");
    let c = wait_calls(&app, &tid, &w.buyer, "A1_29 without a winner", |c| {
        all_confirmed(c, 4)
    })
    .await;
    assert_eq!(
        c[3]["scheda"], "A1_29",
        "not NAG above the threshold: {c:?}"
    );
    assert_eq!(c[3]["purpose"], "not_awarded", "{c:?}");
    let got = mock.received();
    assert!(got.iter().all(|r| r.status == 200), "{got:#?}");
    let a1 = got
        .iter()
        .map(|r| &r.body)
        .find(|b| b.pointer("/scheda/codice/codice") == Some(&json!("A1_29")))
        .expect("A1_29 sent");
    let ag = &a1["scheda"]["body"]["anacForm"]["aggiudicazioni"][0];
    assert_eq!(ag["numeroOfferteAmmesse"], json!(0), "{ag}");
    assert!(
        ag["offertePresentate"]
            .as_array()
            .is_none_or(|o| o.is_empty()),
        "{ag}"
    );
    use base64::Engine;
    let xml = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(a1["scheda"]["body"]["eform"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(xml.contains(">clos-nw</cbc:TenderResultCode>"), "{xml}");
    assert!(
        xml.contains(r#"listName="non-award-justification">no-rece<"#),
        "{xml}"
    );
    // the publication carried the funding split and the sums at disposal
    let p1 = got
        .iter()
        .map(|r| &r.body)
        .find(|b| b.pointer("/scheda/codice/codice") == Some(&json!("P1_16")))
        .expect("P1_16 sent");
    let l = &p1["scheda"]["body"]["anacForm"]["lotti"][0];
    assert_eq!(
        l["finanziamenti"],
        json!([
            {"tipoFinanziamento": {"idTipologica": "tipoFinanziamento", "codice": "A"}, "importo": 250000},
            {"tipoFinanziamento": {"idTipologica": "tipoFinanziamento", "codice": "C01"}, "importo": 150000}
        ]),
        "{l}"
    );
    assert_eq!(
        l["quadroEconomicoStandard"]["sommeADisposizione"],
        json!(88000),
        "{l}"
    );
}

on_both_backends!(
    a_lots_funding_split_and_sums_at_disposal_are_checked_field_by_field,
    funding_split_refused
);

/// The funding split and the sums at disposal the buyer states for ANAC: each bad value refused with 422
/// naming its field; the split must add up to the lot's value, also when the lot's amount changes later.
async fn funding_split_refused(backend: Backend) {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let r = ok(
        &app.post("/v1/requests", Some(&w.municipality), &request_body())
            .await,
        201,
    );
    let rid = r["id"].as_str().unwrap();
    let acc = ok(
        &app.post(
            &format!("/v1/requests/{rid}/accept"),
            Some(&w.buyer),
            &json!({"procedure_type": "aperta"}),
        )
        .await,
        201,
    );
    let tid = acc["tender_id"].as_str().unwrap().to_owned();
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/tenders/{tid}/lots/{lot}");
    // the lot is worth 180,000 euro
    for (pcp, field) in [
        (
            json!({"finanziamenti": [{"tipo": "ZZ", "importo": "180000.00"}]}),
            "pcp.finanziamenti[0].tipo",
        ),
        (
            json!({"finanziamenti": [{"tipo": "A", "importo": "100000.00"}, {"tipo": "D", "importo": "-1"}]}),
            "pcp.finanziamenti[1].importo",
        ),
        (json!({"finanziamenti": []}), "pcp.finanziamenti"),
        (
            json!({"finanziamento": "A", "finanziamenti": [{"tipo": "A", "importo": "180000.00"}]}),
            "pcp.finanziamenti",
        ),
        (
            json!({"finanziamenti": [{"tipo": "A", "importo": "100000.00"}, {"tipo": "D", "importo": "70000.00"}]}),
            "pcp.finanziamenti",
        ),
        (
            json!({"somme_a_disposizione": "1.234"}),
            "pcp.somme_a_disposizione",
        ),
        (
            json!({"somme_a_disposizione": "-5"}),
            "pcp.somme_a_disposizione",
        ),
    ] {
        let r = app.patch(&path, Some(&w.buyer), &json!({"pcp": pcp})).await;
        assert_eq!(r.0, 422, "{pcp}: {}", r.1);
        assert_eq!(r.1["field"], field, "{pcp}: {}", r.1);
    }
    let good = json!({
        "finanziamenti": [{"tipo": "A", "importo": "100000.00"}, {"tipo": "D", "importo": "80000.00"}],
        "somme_a_disposizione": "0"
    });
    let l = ok(
        &app.patch(&path, Some(&w.buyer), &json!({"pcp": good}))
            .await,
        200,
    );
    assert_eq!(l["pcp"]["finanziamenti"][1]["importo"], "80000.00", "{l}");
    // the lot's amount changes: the split no longer adds up, refused naming it; both together are fine
    let r = app
        .patch(&path, Some(&w.buyer), &json!({"base_amount": "200000.00"}))
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "pcp.finanziamenti", "{}", r.1);
    ok(
        &app.patch(
            &path,
            Some(&w.buyer),
            &json!({"base_amount": "200000.00", "pcp": {
                "finanziamenti": [{"tipo": "A", "importo": "120000.00"}, {"tipo": "D", "importo": "80000.00"}]}}),
        )
        .await,
        200,
    );
}
