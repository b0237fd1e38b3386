//! An in-process mock of ANAC's Piattaforma Contratti Pubblici (PCP) on loopback, used by `sua demo` (which
//! sends its schede to it) and by the tests (which also inject faults): the e-services a
//! platform calls for a procedure (ANAC's `specifiche-servizi-appalto` OpenAPI, paths as in ANAC's worked
//! example), answering as the OpenAPI says, and **validating every request body** against the vendored
//! schemas: the request against its OpenAPI component (`CreaAppaltoRequest`, ...) and the scheda's `body`
//! against the JSON Schema of its scheda (`pcp::spec::scheda_body_schema`). An invalid body gets 400 with
//! an ANAC-style problem (`errori: [{"idTipologica": "errori", "codice": "ERR4", "dettaglio": …}]`).
//!
//! Served: `POST /ComunicaAppalto/v2/crea-appalto`, `POST /ComunicaAppalto/v2/conferma-appalto`,
//! `GET /ComunicaAppalto/v2/recupera-cig`, `GET /ServiziComuni/v2/esito-operazione`,
//! `POST /PubblicaAvviso/v2/pubblica-avviso`, `POST /ComunicaPostPubblicazione/v2/crea-scheda`,
//! `POST /ComunicaPostPubblicazione/v2/conferma-scheda`. Conferma is asynchronous as on PCP: it answers
//! "Richiesta acquisita" and the outcome (with the CIGs assigned to the lots) is read with esito-operazione.
//!
//! Faults ([`Fault`]): the next calls answer a 5xx, or hang past a client's timeout, or the next conferma
//! ends KO with one of ANAC's error codes; [`MockPcp::set_down`] makes every call answer 503 for a while.
//! A second `crea-appalto` with the same `codiceAppalto` is refused (ERR38), as PCP does. Ids are
//! deterministic (a counter), CIGs follow ANAC's algorithm.
//!
//! **PDND** ([`MockPcp::start_with_pdnd`]): the mock also plays PDND's authorization server,
//! `POST /token.oauth2` (`client_credentials` with a `client_assertion`): the assertion's RS256 signature is
//! checked with the platform's public key, and its `iss`/`sub` (client id), `aud`, `exp` and `purposeId`
//! against [`PdndConfig`]; the voucher issued lives `voucher_ttl`. Every PCP route then refuses (401) a call
//! without `Authorization: Bearer <voucher>` or with an expired one. [`MockPcp::set_auth_down`] makes the
//! token endpoint answer 503 (PDND unavailable).

use std::collections::{BTreeMap, VecDeque};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use axum::extract::{Form, Query, Request, State};
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use pcp::SchedaCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

/// A fault the mock injects, consumed by the next matching call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// The next call answers this status (e.g. 503, a maintenance window) with an ANAC problem body.
    Status(u16),
    /// The next call waits this long before answering (longer than the client's timeout: a timeout).
    Delay(Duration),
    /// The next `conferma-appalto` / `conferma-scheda` ends KO with this ANAC error code (e.g. `ERR16`).
    Ko { codice: String, dettaglio: String },
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub path: String,
    pub body: Value,
    /// The HTTP status the mock answered.
    pub status: u16,
}

/// PDND's authorization server as the mock plays it: who may have a voucher and for how long.
#[derive(Debug, Clone)]
pub struct PdndConfig {
    /// The platform's RSA public key (PEM): the client assertion must be signed with its private key.
    pub public_key_pem: Vec<u8>,
    /// The PDND client id: the assertion's `iss` and `sub`.
    pub client_id: String,
    /// The assertion's `aud` (PDND's token audience).
    pub audience: String,
    /// The assertion's `purposeId`.
    pub purpose_id: String,
    /// How long a voucher is valid (`expires_in`).
    pub voucher_ttl: Duration,
}

#[derive(Default)]
struct Appalto {
    lots: Vec<String>,
    cigs: Vec<(String, String)>,
    id_avviso: Option<Uuid>,
    id_scheda_p: Option<Uuid>,
    esiti: Vec<Value>,
    schede: BTreeMap<Uuid, String>,
}

#[derive(Default)]
struct Inner {
    /// While set, every call answers 503 (an outage or ANAC's maintenance window).
    down: bool,
    /// The `codiceAppalto` already created: PCP refuses a second one (ERR38), which is what makes a
    /// duplicated `crea-appalto` visible.
    codici: Vec<String>,
    counter: u128,
    cig_counter: u32,
    appalti: BTreeMap<Uuid, Appalto>,
    faults: VecDeque<Fault>,
    received: Vec<Received>,
    /// PDND's side: absent, the PCP routes ask for no voucher.
    pdnd: Option<PdndConfig>,
    /// While set, the token endpoint answers 503 (PDND unavailable).
    auth_down: bool,
    /// The vouchers issued, with their expiry.
    vouchers: BTreeMap<String, Instant>,
}

impl Inner {
    fn next_id(&mut self) -> Uuid {
        self.counter += 1;
        Uuid::from_u128(0x9c9_0000_0000_4000_8000_0000_0000_0000 + self.counter)
    }

    /// A CIG of PCP's format (SIMOG second version: `A NNNNNN KKK`, check characters per ANAC's algorithm).
    fn next_cig(&mut self) -> String {
        self.cig_counter += 1;
        let letter = 'B';
        let n = 0x100000 + self.cig_counter;
        let ord = u32::from(letter) - u32::from('A') + 1;
        format!("{letter}{n:06X}{:03X}", ((n + ord) * 211) % 4091)
    }
}

type Shared = Arc<Mutex<Inner>>;

/// The running mock.
pub struct MockPcp {
    /// `http://127.0.0.1:PORT`: the base URL of every service.
    pub url: String,
    inner: Shared,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

fn problem(status: StatusCode, detail: &str, codice: &str, dettaglio: &str) -> Response {
    let body = json!({
        "status": status.as_u16(),
        "title": status.canonical_reason().unwrap_or("Error"),
        "detail": detail,
        "type": "about:blank",
        "errori": [{"idTipologica": "errori", "codice": codice, "dettaglio": dettaglio}],
    });
    (
        status,
        [("content-type", "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn ack() -> Response {
    Json(json!({"status": 200, "title": "OK", "detail": "Richiesta acquisita", "type": "about:blank"}))
        .into_response()
}

/// Compiled validators, by request component or scheda code: compiling ANAC's schemas takes a while, so
/// each is compiled once per process.
fn validator(key: &str, schema: impl FnOnce() -> Value) -> Arc<jsonschema::Validator> {
    static CACHE: std::sync::OnceLock<Mutex<BTreeMap<String, Arc<jsonschema::Validator>>>> =
        std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(v) = cache.lock().unwrap().get(key) {
        return v.clone();
    }
    let v = Arc::new(jsonschema::validator_for(&schema()).expect("ANAC's schema compiles"));
    cache.lock().unwrap().insert(key.to_owned(), v.clone());
    v
}

/// Validates `body` against an OpenAPI request component, then the scheda it carries (if any) against its
/// scheda schema. `Err` is the 400 answer.
fn validate(component: &str, body: &Value) -> Result<Option<SchedaCode>, Box<Response>> {
    let v = validator(component, || pcp::spec::request_schema(component));
    let errs: Vec<String> = v
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if !errs.is_empty() {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "Richiesta non valida",
            "ERR4",
            &errs.join("; "),
        )));
    }
    let Some(scheda) = body.get("scheda") else {
        return Ok(None);
    };
    let codice = scheda["codice"]["codice"].as_str().unwrap_or_default();
    let Some(code) = SchedaCode::parse(codice) else {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "Codice scheda errato",
            "ERR3",
            codice,
        )));
    };
    let v = validator(code.as_str(), || pcp::spec::scheda_body_schema(code));
    let errs: Vec<String> = v
        .iter_errors(&scheda["body"])
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if !errs.is_empty() {
        return Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "Errore nella conversione della scheda secondo il json schema",
            "ERR4",
            &errs.join("; "),
        )));
    }
    Ok(Some(code))
}

/// Takes the next fault if it is a status or a delay (KO faults wait for a conferma).
async fn transport_fault(inner: &Shared) -> Option<Response> {
    let fault = {
        let mut g = inner.lock().unwrap();
        if g.down {
            return Some(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "Servizio in manutenzione",
                "ERR500",
                "PCP non disponibile",
            ));
        }
        match g.faults.front() {
            Some(Fault::Status(_) | Fault::Delay(_)) => g.faults.pop_front(),
            _ => None,
        }
    };
    match fault {
        Some(Fault::Status(s)) => {
            let status = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            Some(problem(
                status,
                "Servizio non disponibile",
                "ERR500",
                "fault injected",
            ))
        }
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        _ => None,
    }
}

fn record(inner: &Shared, uri: &Uri, body: Value, resp: &Response) {
    inner.lock().unwrap().received.push(Received {
        path: uri.path().to_owned(),
        body,
        status: resp.status().as_u16(),
    });
}

fn id_of(body: &Value, key: &str) -> Option<Uuid> {
    body.get(key)?.as_str()?.parse().ok()
}

/// The outcome of an asynchronous operation: OK with its detail and ids, or KO with an ANAC error.
enum Outcome<'a> {
    Ok(&'a str, Option<Uuid>, Option<Uuid>),
    Ko(&'a str, &'a str),
}

fn esito(id_appalto: Uuid, op: &str, ok: Outcome<'_>) -> Value {
    let mut e = json!({
        "idAppalto": id_appalto.to_string(),
        "tipoOperazione": {"idTipologica": "tipoOperazione", "codice": op},
        "dataControllo": "2026-01-01T00:00:00.000+00:00",
    });
    match ok {
        Outcome::Ok(dettaglio, id_scheda, id_avviso) => {
            e["esito"] = json!({"idTipologica": "esito", "codice": "OK"});
            e["dettaglio"] = json!({"idTipologica": "esitoOperazione", "codice": dettaglio});
            if let Some(s) = id_scheda {
                e["idScheda"] = json!(s.to_string());
            }
            if let Some(a) = id_avviso {
                e["idAvviso"] = json!(a.to_string());
            }
        }
        Outcome::Ko(codice, dettaglio) => {
            e["esito"] = json!({"idTipologica": "esito", "codice": "KO"});
            e["errori"] =
                json!([{"idTipologica": "errori", "codice": codice, "dettaglio": dettaglio}]);
        }
    }
    e
}

async fn crea_appalto(State(inner): State<Shared>, uri: Uri, Json(body): Json<Value>) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        let code = match validate("CreaAppaltoRequest", &body) {
            Ok(c) => c,
            Err(r) => return *r,
        };
        if code.is_some_and(|c| !c.creates_appalto()) {
            return problem(StatusCode::BAD_REQUEST, "Scheda non ammessa", "ERR2", "scheda non ammessa in questa fase");
        }
        // the lots of a publication scheda, or of AD3 (which creates the appalto awarded)
        let form = &body["scheda"]["body"]["anacForm"];
        let lots: Vec<String> = form["lotti"]
            .as_array()
            .or_else(|| form["aggiudicazioni"].as_array())
            .map(|l| l.iter().filter_map(|x| x["lotIdentifier"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let codice = body["scheda"]["body"]["anacForm"]["appalto"]["codiceAppalto"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut g = inner.lock().unwrap();
        if g.codici.contains(&codice) {
            return problem(
                StatusCode::BAD_REQUEST,
                "Richiesta non valida",
                "ERR38",
                &format!("codiceAppalto {codice} già presente"),
            );
        }
        g.codici.push(codice);
        let id = g.next_id();
        let id_scheda = g.next_id();
        g.appalti.insert(
            id,
            Appalto {
                lots,
                id_scheda_p: Some(id_scheda),
                ..Appalto::default()
            },
        );
        Json(json!({
            "status": 200, "title": "Operazione Effettuata", "detail": "Creazione eseguita con successo",
            "type": "about:blank", "idAppalto": id.to_string(),
        }))
        .into_response()
    }
    .await;
    record(&inner, &uri, body, &resp);
    resp
}

fn take_ko(g: &mut Inner) -> Option<(String, String)> {
    if let Some(Fault::Ko { .. }) = g.faults.front()
        && let Some(Fault::Ko { codice, dettaglio }) = g.faults.pop_front()
    {
        return Some((codice, dettaglio));
    }
    None
}

async fn conferma_appalto(
    State(inner): State<Shared>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        if let Err(r) = validate("ConfermaAppaltoRequest", &body) {
            return *r;
        }
        let id = id_of(&body, "idAppalto").unwrap_or_default();
        let mut g = inner.lock().unwrap();
        let ko = take_ko(&mut g);
        let n = match g.appalti.get(&id) {
            Some(a) => a.lots.len(),
            None => {
                return problem(
                    StatusCode::NOT_FOUND,
                    "Dato non trovato",
                    "ERR19",
                    "idAppalto non trovato",
                );
            }
        };
        let e = if let Some((codice, dettaglio)) = ko {
            esito(id, "AP_CONF", Outcome::Ko(&codice, &dettaglio))
        } else {
            let cigs: Vec<String> = (0..n).map(|_| g.next_cig()).collect();
            let avviso = g.next_id();
            let a = g.appalti.get_mut(&id).expect("checked above");
            a.cigs = a.lots.iter().cloned().zip(cigs).collect();
            a.id_avviso = Some(avviso);
            esito(
                id,
                "AP_CONF",
                Outcome::Ok("AP_CONF", a.id_scheda_p, Some(avviso)),
            )
        };
        g.appalti.get_mut(&id).expect("checked above").esiti.push(e);
        ack()
    }
    .await;
    record(&inner, &uri, body, &resp);
    resp
}

async fn esito_operazione(
    State(inner): State<Shared>,
    uri: Uri,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        let (Some(id), Some(op)) = (
            q.get("idAppalto").and_then(|s| s.parse::<Uuid>().ok()),
            q.get("tipoOperazione"),
        ) else {
            return problem(StatusCode::BAD_REQUEST, "Richiesta non valida", "ERR26", "idAppalto e tipoOperazione obbligatori");
        };
        let g = inner.lock().unwrap();
        let Some(a) = g.appalti.get(&id) else {
            return problem(StatusCode::NOT_FOUND, "Dato non trovato", "ERR19", "idAppalto non trovato");
        };
        let mut lista: Vec<&Value> = a
            .esiti
            .iter()
            .filter(|e| e["tipoOperazione"]["codice"] == op.as_str())
            .collect();
        if q.get("tipoRicerca").map(String::as_str) == Some("ULTIMO_ESITO") {
            lista = lista.into_iter().last().into_iter().collect();
        }
        Json(json!({
            "status": 200, "title": "OK", "detail": "Esecuzione avvenuta con successo", "type": "about:blank",
            "listaEsiti": lista,
        }))
        .into_response()
    }
    .await;
    record(&inner, &uri, json!(q), &resp);
    resp
}

async fn recupera_cig(
    State(inner): State<Shared>,
    uri: Uri,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        let id = q.get("idAppalto").and_then(|s| s.parse::<Uuid>().ok()).unwrap_or_default();
        let g = inner.lock().unwrap();
        let Some(a) = g.appalti.get(&id) else {
            return problem(StatusCode::NOT_FOUND, "Dato non trovato", "ERR19", "idAppalto non trovato");
        };
        let result: Vec<Value> = a.cigs.iter().map(|(l, c)| json!({"cig": c, "lotIdentifier": l})).collect();
        Json(json!({
            "status": 200, "title": "OK", "detail": "Operazione eseguita con successo", "type": "about:blank",
            "totRows": result.len(), "totPages": 1, "currentPage": 1, "elementPage": 20, "result": result,
        }))
        .into_response()
    }
    .await;
    record(&inner, &uri, json!(q), &resp);
    resp
}

async fn pubblica_avviso(
    State(inner): State<Shared>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        if let Err(r) = validate("PubblicaAvvisoRequest", &body) {
            return *r;
        }
        let (id, avviso) = (id_of(&body, "idAppalto"), id_of(&body, "idAvviso"));
        let g = inner.lock().unwrap();
        match id.and_then(|i| g.appalti.get(&i)) {
            Some(a) if a.id_avviso.is_some() && a.id_avviso == avviso => ack(),
            Some(_) => problem(
                StatusCode::NOT_FOUND,
                "Dato non trovato",
                "ERR22",
                "idAvviso non trovato",
            ),
            None => problem(
                StatusCode::NOT_FOUND,
                "Dato non trovato",
                "ERR19",
                "idAppalto non trovato",
            ),
        }
    }
    .await;
    record(&inner, &uri, body, &resp);
    resp
}

/// Every CIG a post-publication scheda names (S2, A1_29, SC1, NAG).
fn cigs_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("cig", Value::String(s)) => out.push(s.clone()),
                    ("cig", Value::Array(a)) => {
                        out.extend(a.iter().filter_map(|c| c.as_str().map(str::to_owned)))
                    }
                    _ => cigs_in(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| cigs_in(x, out)),
        _ => {}
    }
}

async fn crea_scheda(State(inner): State<Shared>, uri: Uri, Json(body): Json<Value>) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        let code = match validate("CreaSchedaRequest", &body) {
            Ok(c) => c,
            Err(r) => return *r,
        };
        if code.is_some_and(SchedaCode::creates_appalto) {
            return problem(StatusCode::BAD_REQUEST, "Scheda non ammessa", "ERR2", "scheda non ammessa in questa fase");
        }
        let id = id_of(&body, "idAppalto").unwrap_or_default();
        let mut g = inner.lock().unwrap();
        let Some(a) = g.appalti.get(&id) else {
            return problem(StatusCode::NOT_FOUND, "Dato non trovato", "ERR19", "idAppalto non trovato");
        };
        let mut cigs = Vec::new();
        cigs_in(&body["scheda"]["body"], &mut cigs);
        if let Some(c) = cigs.iter().find(|c| !a.cigs.iter().any(|(_, x)| x == *c)) {
            return problem(StatusCode::NOT_FOUND, "Dato non trovato", "ERR23", &format!("cig {c} non trovato"));
        }
        let id_scheda = g.next_id();
        let codice = code.map(|c| c.as_str().to_owned()).unwrap_or_default();
        g.appalti.get_mut(&id).expect("checked above").schede.insert(id_scheda, codice);
        Json(json!({
            "status": 200, "title": "Operazione Effettuata", "detail": "Creazione eseguita con successo",
            "type": "about:blank", "idScheda": id_scheda.to_string(),
        }))
        .into_response()
    }
    .await;
    record(&inner, &uri, body, &resp);
    resp
}

async fn conferma_scheda(
    State(inner): State<Shared>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Response {
    let resp = async {
        if let Some(r) = transport_fault(&inner).await {
            return r;
        }
        if let Err(r) = validate("ConfermaSchedaRequest", &body) {
            return *r;
        }
        let (id, id_scheda) = (
            id_of(&body, "idAppalto").unwrap_or_default(),
            id_of(&body, "idScheda"),
        );
        let mut g = inner.lock().unwrap();
        let ko = take_ko(&mut g);
        let Some(a) = g.appalti.get_mut(&id) else {
            return problem(
                StatusCode::NOT_FOUND,
                "Dato non trovato",
                "ERR19",
                "idAppalto non trovato",
            );
        };
        let Some(id_scheda) = id_scheda.filter(|s| a.schede.contains_key(s)) else {
            return problem(
                StatusCode::NOT_FOUND,
                "Dato non trovato",
                "ERR20",
                "idScheda non trovato",
            );
        };
        let e = match ko {
            Some((codice, dettaglio)) => esito(id, "SC_CONF", Outcome::Ko(&codice, &dettaglio)),
            None => esito(id, "SC_CONF", Outcome::Ok("SC_CONF", Some(id_scheda), None)),
        };
        a.esiti.push(e);
        ack()
    }
    .await;
    record(&inner, &uri, body, &resp);
    resp
}

/// The form of PDND's token request (`application/x-www-form-urlencoded`).
#[derive(serde::Deserialize)]
struct TokenRequest {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_assertion: String,
    #[serde(default)]
    client_assertion_type: String,
    #[serde(default)]
    grant_type: String,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Checks a client assertion as PDND does: RS256 signature with the platform's key, `iss` = `sub` = the
/// client id, `aud`, not expired, `purposeId`.
fn check_assertion(cfg: &PdndConfig, req: &TokenRequest) -> Result<(), String> {
    if req.grant_type != "client_credentials" {
        return Err(format!(
            "grant_type {:?}: client_credentials expected",
            req.grant_type
        ));
    }
    if req.client_assertion_type != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err(format!(
            "client_assertion_type {:?}",
            req.client_assertion_type
        ));
    }
    if req.client_id != cfg.client_id {
        return Err(format!("client_id {:?} unknown", req.client_id));
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(&cfg.public_key_pem)
        .map_err(|e| format!("the platform's public key: {e}"))?;
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[&cfg.audience]);
    v.set_issuer(&[&cfg.client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(&req.client_assertion, &key, &v)
        .map_err(|e| format!("client_assertion: {e}"))?;
    if data.header.kid.is_none() {
        return Err("client_assertion: no kid".into());
    }
    if data.claims["sub"] != cfg.client_id.as_str() {
        return Err("client_assertion: sub is not the client id".into());
    }
    if data.claims["purposeId"] != cfg.purpose_id.as_str() {
        return Err(format!(
            "client_assertion: purposeId {} is not this client's purpose",
            data.claims["purposeId"]
        ));
    }
    Ok(())
}

async fn token(State(inner): State<Shared>, uri: Uri, Form(req): Form<TokenRequest>) -> Response {
    let resp = {
        let mut g = inner.lock().unwrap();
        match g.pdnd.clone() {
            None => oauth_error(StatusCode::NOT_FOUND, "invalid_request", "no PDND here"),
            Some(_) if g.auth_down => oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "PDND non disponibile",
            ),
            Some(cfg) => match check_assertion(&cfg, &req) {
                Err(e) => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", &e),
                Ok(()) => {
                    let voucher = format!("voucher-{}", g.next_id());
                    g.vouchers
                        .insert(voucher.clone(), Instant::now() + cfg.voucher_ttl);
                    Json(json!({
                        "access_token": voucher, "token_type": "Bearer",
                        "expires_in": cfg.voucher_ttl.as_secs(),
                    }))
                    .into_response()
                }
            },
        }
    };
    record(&inner, &uri, json!({"client_id": req.client_id}), &resp);
    resp
}

/// With PDND configured, every PCP route needs a valid voucher: 401 otherwise.
async fn require_voucher(State(inner): State<Shared>, req: Request, next: Next) -> Response {
    let refusal = {
        let g = inner.lock().unwrap();
        if g.pdnd.is_none() {
            None
        } else {
            let bearer = req
                .headers()
                .get("authorization")
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.strip_prefix("Bearer "));
            match bearer.map(|b| g.vouchers.get(b)) {
                None => Some("voucher PDND assente"),
                Some(None) => Some("voucher PDND non valido"),
                Some(Some(until)) if *until <= Instant::now() => Some("voucher PDND scaduto"),
                Some(Some(_)) => None,
            }
        }
    };
    match refusal {
        None => next.run(req).await,
        Some(why) => {
            let resp = problem(StatusCode::UNAUTHORIZED, "Non autorizzato", "ERR401", why);
            let uri = req.uri().clone();
            record(&inner, &uri, Value::Null, &resp);
            resp
        }
    }
}

fn router(inner: Shared) -> Router {
    let token_route = Router::new()
        .route("/token.oauth2", post(token))
        .with_state(inner.clone());
    Router::new()
        .route("/ComunicaAppalto/v2/crea-appalto", post(crea_appalto))
        .route(
            "/ComunicaAppalto/v2/conferma-appalto",
            post(conferma_appalto),
        )
        .route("/ComunicaAppalto/v2/recupera-cig", get(recupera_cig))
        .route("/ServiziComuni/v2/esito-operazione", get(esito_operazione))
        .route("/PubblicaAvviso/v2/pubblica-avviso", post(pubblica_avviso))
        .route(
            "/ComunicaPostPubblicazione/v2/crea-scheda",
            post(crea_scheda),
        )
        .route(
            "/ComunicaPostPubblicazione/v2/conferma-scheda",
            post(conferma_scheda),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            inner.clone(),
            require_voucher,
        ))
        .with_state(inner)
        .merge(token_route)
}

impl MockPcp {
    /// Starts the mock on a free loopback port, in its own thread and runtime (usable from sync and async
    /// tests alike).
    pub fn start() -> Self {
        Self::start_inner(None)
    }

    /// Starts the mock with PDND's token endpoint (`{url}/token.oauth2`): every PCP call then needs a
    /// voucher issued for a client assertion that `pdnd` accepts.
    pub fn start_with_pdnd(pdnd: PdndConfig) -> Self {
        Self::start_inner(Some(pdnd))
    }

    fn start_inner(pdnd: Option<PdndConfig>) -> Self {
        let listener = StdListener::bind("127.0.0.1:0").expect("bind the mock PCP");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr: SocketAddr = listener.local_addr().expect("local address");
        let inner: Shared = Arc::default();
        inner.lock().unwrap().pdnd = pdnd;
        let app = router(inner.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("mock PCP runtime");
            rt.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("mock PCP listener");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .expect("mock PCP serves");
            });
        });
        MockPcp {
            url: format!("http://{addr}"),
            inner,
            running: Some((tx, handle)),
        }
    }

    /// Queues a fault for the next matching call.
    pub fn inject(&self, fault: Fault) {
        self.inner.lock().unwrap().faults.push_back(fault);
    }

    /// Makes every call answer 503 until called again with `false` (PCP down for a while).
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// Makes PDND's token endpoint answer 503 until called again with `false`.
    pub fn set_auth_down(&self, down: bool) {
        self.inner.lock().unwrap().auth_down = down;
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        format!("{}/token.oauth2", self.url)
    }

    /// How many vouchers PDND issued.
    pub fn vouchers_issued(&self) -> usize {
        self.inner.lock().unwrap().vouchers.len()
    }

    /// Every request received, in order, with the status answered.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Stops the server (in-flight requests finish).
    pub fn stop(&mut self) {
        if let Some((tx, handle)) = self.running.take() {
            let _ = tx.send(());
            let _ = handle.join();
        }
    }
}

impl Drop for MockPcp {
    fn drop(&mut self) {
        self.stop();
    }
}
