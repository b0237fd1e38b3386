//! The PCP worker: sends the due calls of the PCP outbox (`workflow::pcp_outbox`) to ANAC's Piattaforma
//! Contratti Pubblici over HTTP, with the ModI headers when keys are configured, and records the answers.
//!
//! - `crea_appalto` builds the publication scheda from the rows (`workflow::pcp_facts`) and stores the
//!   `idAppalto`; `conferma_appalto` confirms, then polls `esito-operazione` (AP_CONF) and, on OK, reads
//!   the CIGs (`recupera-cig`), stores them on the lots and runs the tender's `acquire_cig` (actor `pcp`):
//!   the tender is `ready` to publish only once PCP gave every lot its CIG.
//! - `pubblica_avviso` (above the threshold) publishes the notice PCP created with the appalto.
//! - `scheda`: `crea-scheda` then `conferma-scheda`, then polls `esito-operazione` (SC_CONF).
//! - A 5xx, a timeout or a refused connection is retried with exponential backoff, without limit: an
//!   outage delays, never loses. A 4xx or a KO outcome is `errore` with ANAC's code and message (the
//!   buyer corrects and resends); a scheda our rules refuse before sending (`REG…`) is `errore` too.
//! - Claims follow `workflow::pcp_outbox::claim`: two workers never send one call twice.

pub mod mock;

use std::sync::Arc;
use std::time::Duration as StdDuration;
use workflow::store::Scope;

use chrono::{DateTime, Duration, Utc};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;
use workflow::pcp_facts::{self, Profile};
use workflow::pcp_outbox::{
    self as outbox, CONFERMATA, Claimed, ERRORE, INVIATA, Operation, Purpose, Update,
};
use workflow::store::entities::{lot, tender};

use crate::runtime::Runtime;

/// `[pcp]`: the connection to ANAC's PCP. Disabled by default: `sua serve` then behaves as without PCP
/// (the buyer types the CIG, nothing is sent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PcpSettings {
    pub enabled: bool,
    /// PCP's base URL (ANAC's test or production environment; the mock's URL in tests).
    pub base_url: String,
    /// Upper bound of one HTTP call.
    pub timeout_secs: u64,
    /// How long a claim is valid (another worker takes the call after it).
    pub lease_secs: u64,
    /// Pause between rounds of the worker.
    pub poll_interval_ms: u64,
    /// First retry delay after a 5xx or timeout, doubled at each attempt up to `backoff_max_secs`.
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// Delay before asking `esito-operazione` again while the outcome is not there.
    pub esito_poll_secs: u64,
    pub batch_size: u64,
    /// PDND/ModI identity and key (absent: no ModI headers, for the mock only).
    pub modi: Option<ModiSettings>,
    /// The facts of the schede our rows do not hold (AUSA codes, ISTAT, NUTS, CCNL...).
    pub profile: Profile,
}

impl Default for PcpSettings {
    fn default() -> Self {
        PcpSettings {
            enabled: false,
            base_url: String::new(),
            timeout_secs: 30,
            lease_secs: 120,
            poll_interval_ms: 1000,
            backoff_base_secs: 30,
            backoff_max_secs: 3600,
            esito_poll_secs: 5,
            batch_size: 10,
            modi: None,
            profile: Profile::default(),
        }
    }
}

/// `[pcp.modi]`: the platform's identity at PDND and in ANAC's register of platforms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModiSettings {
    /// PDND's token endpoint (e.g. `https://auth.interop.pagopa.it/token.oauth2`): the voucher is asked
    /// there with a client assertion signed by the platform's key.
    pub token_endpoint: String,
    pub kid: String,
    pub client_id: String,
    pub purpose_id: String,
    pub voucher_audience: String,
    pub service_audience: String,
    pub reg_codice_piattaforma: String,
    pub reg_codice_componente: String,
    /// The RSA private key (PEM) the platform signs with.
    pub private_key_path: std::path::PathBuf,
    /// The RUP's codice fiscale put in the tracking evidence.
    pub user_codice_fiscale: String,
}

impl PcpSettings {
    fn backoff(&self, attempts: i32) -> Duration {
        let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let secs = self
            .backoff_base_secs
            .max(1)
            .saturating_mul(1u64 << exp)
            .min(self.backoff_max_secs.max(1));
        Duration::seconds(secs as i64)
    }
}

/// A PDND voucher and when to ask for a new one.
struct Voucher {
    token: String,
    renew_at: std::time::Instant,
}

/// A voucher is renewed this long before it expires (at most a fifth of its lifetime).
const VOUCHER_MARGIN: StdDuration = StdDuration::from_secs(30);

/// An answer of PCP, as the worker reads it.
enum Answer {
    Ok(Value),
    /// 4xx: refused, with ANAC's error code and message.
    Refused(String, String),
    /// 5xx, timeout, connection refused: try again later.
    Transient(String),
}

fn anac_error(v: &Value, fallback: &str) -> (String, String) {
    let e = &v["errori"][0];
    let code = e["codice"].as_str().unwrap_or(fallback).to_owned();
    let msg = e["dettaglio"]
        .as_str()
        .or(v["detail"].as_str())
        .unwrap_or("")
        .to_owned();
    (code, msg)
}

/// The worker's HTTP side.
pub struct Worker {
    pub rt: Runtime,
    pub cfg: PcpSettings,
    client: reqwest::Client,
    key: Option<Vec<u8>>,
    /// The PDND voucher, shared by the calls until shortly before it expires.
    voucher: tokio::sync::Mutex<Option<Voucher>>,
}

impl Worker {
    pub fn new(rt: Runtime, cfg: PcpSettings) -> anyhow::Result<Worker> {
        let client = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(cfg.timeout_secs.max(1)))
            .build()?;
        let key = match &cfg.modi {
            Some(m) => Some(std::fs::read(&m.private_key_path).map_err(|e| {
                anyhow::anyhow!(
                    "pcp.modi.private_key_path: cannot read {}: {e}",
                    m.private_key_path.display()
                )
            })?),
            None => None,
        };
        Ok(Worker {
            rt,
            cfg,
            client,
            key,
            voucher: tokio::sync::Mutex::new(None),
        })
    }

    fn modi_config(m: &ModiSettings) -> pcp::modi::ModiConfig {
        pcp::modi::ModiConfig {
            kid: m.kid.clone(),
            client_id: m.client_id.clone(),
            purpose_id: m.purpose_id.clone(),
            voucher_audience: m.voucher_audience.clone(),
            service_audience: m.service_audience.clone(),
            reg_codice_piattaforma: m.reg_codice_piattaforma.clone(),
            reg_codice_componente: m.reg_codice_componente.clone(),
        }
    }

    /// The PDND voucher for the next call (`None` without `[pcp.modi]`): the cached one until shortly
    /// before it expires, else a new one from PDND's token endpoint (`client_credentials` with a client
    /// assertion signed by the platform's key). `Err` is a reason to try again later (PDND down or
    /// refusing): the call waits, it is not lost.
    async fn bearer(&self) -> Result<Option<String>, String> {
        let (Some(m), Some(key)) = (&self.cfg.modi, &self.key) else {
            return Ok(None);
        };
        let mut cached = self.voucher.lock().await;
        if let Some(v) = cached.as_ref()
            && std::time::Instant::now() < v.renew_at
        {
            return Ok(Some(v.token.clone()));
        }
        // the tokens are checked by other parties' clocks: the wall clock, not the procedure's
        let claims = pcp::modi::client_assertion_claims(
            &Self::modi_config(m),
            None,
            Uuid::new_v4(),
            Utc::now(),
            Duration::minutes(2),
        );
        let assertion = pcp::modi::sign(&claims, &m.kid, key).map_err(|e| e.to_string())?;
        let asked = std::time::Instant::now();
        let resp = self
            .client
            .post(&m.token_endpoint)
            .form(&[
                ("client_id", m.client_id.as_str()),
                ("client_assertion", assertion.as_str()),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("grant_type", "client_credentials"),
            ])
            .send()
            .await
            .map_err(|e| format!("PDND unreachable: {e}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        let token = v["access_token"].as_str().filter(|_| status.is_success());
        let Some(token) = token else {
            return Err(format!(
                "PDND voucher refused ({status}): {} {}",
                v["error"].as_str().unwrap_or_default(),
                v["error_description"].as_str().unwrap_or_default()
            ));
        };
        let ttl = StdDuration::from_secs(v["expires_in"].as_u64().unwrap_or(0));
        let renew_at = asked + ttl - VOUCHER_MARGIN.min(ttl / 5);
        *cached = Some(Voucher {
            token: token.to_owned(),
            renew_at,
        });
        Ok(Some(token.to_owned()))
    }

    fn headers(
        &self,
        body: &[u8],
        id_appalto: Option<Uuid>,
    ) -> Result<Vec<(&'static str, String)>, String> {
        let (Some(m), Some(key)) = (&self.cfg.modi, &self.key) else {
            return Ok(vec![("Content-Type", "application/json".into())]);
        };
        let cfg = Self::modi_config(m);
        let user = pcp::modi::Utente {
            codice_fiscale: domain::ids::CodiceFiscale::parse(&m.user_codice_fiscale)
                .map_err(|e| format!("pcp.modi.user_codice_fiscale: {e}"))?,
            ruolo: pcp::modi::UserRole::Rp,
            loa: 3,
            idp: pcp::modi::IdpType::Custom,
        };
        let sa = pcp::modi::SaModi {
            codice_fiscale: domain::ids::CodiceFiscale::parse(&self.cfg.profile.cuc.codice_fiscale)
                .ok(),
            codice_ausa: self.cfg.profile.cuc.codice_ausa.clone(),
        };
        let trace = pcp::modi::Trace {
            id_appalto,
            trace_id: Uuid::new_v4(),
            span_id: Uuid::new_v4(),
        };
        // checked by PCP's clock: the wall clock, not the procedure's
        let now = Utc::now();
        let ttl = Duration::minutes(5);
        let tracking =
            pcp::modi::tracking_evidence_claims(&cfg, &user, &sa, &trace, Uuid::new_v4(), now, ttl)
                .map_err(|e| e.to_string())?;
        pcp::modi::call_headers(&cfg, key, body, &tracking, Uuid::new_v4(), now, ttl)
            .map_err(|e| e.to_string())
    }

    async fn call(&self, post: Option<&Value>, path: &str, id_appalto: Option<Uuid>) -> Answer {
        let url = format!("{}{path}", self.cfg.base_url.trim_end_matches('/'));
        let bearer = match self.bearer().await {
            Ok(b) => b,
            Err(why) => return Answer::Transient(why),
        };
        let req = match post {
            Some(body) => {
                let bytes = body.to_string().into_bytes();
                let headers = match self.headers(&bytes, id_appalto) {
                    Ok(h) => h,
                    Err(e) => return Answer::Refused("MODI".into(), e),
                };
                let mut r = self.client.post(&url);
                for (k, v) in headers {
                    r = r.header(k, v);
                }
                r.body(bytes)
            }
            None => self.client.get(&url),
        };
        let req = match &bearer {
            Some(b) => req.bearer_auth(b),
            None => req,
        };
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return Answer::Transient(format!("PCP unreachable: {e}")),
        };
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if status.as_u16() == 401 {
            // the voucher was refused (expired early, revoked): ask for a new one next time
            *self.voucher.lock().await = None;
            let (c, m) = anac_error(&v, "HTTP401");
            return Answer::Transient(format!("PCP {status}: {c} {m}"));
        }
        if status.is_success() {
            Answer::Ok(v)
        } else if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            let (c, m) = anac_error(&v, "HTTP");
            Answer::Transient(format!("PCP {status}: {c} {m}"))
        } else {
            let (c, m) = anac_error(&v, &format!("HTTP{}", status.as_u16()));
            Answer::Refused(c, m)
        }
    }

    /// One round: claims the due calls and sends them. Returns how many calls were attempted.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let now = self.rt.now();
        let claimed = {
            let w = self.rt.db.write(Scope::Platform).await?;
            let c = outbox::claim(
                &w.txn,
                now,
                Duration::seconds(self.cfg.lease_secs as i64),
                self.cfg.batch_size.max(1),
            )
            .await?;
            w.commit().await?;
            c
        };
        let n = claimed.len();
        for c in claimed {
            let u = self.attempt(&c).await;
            let u = match u {
                Ok(u) => u,
                Err(e) => Update {
                    status: Some(ERRORE),
                    error: Some(("SUA".into(), e.to_string())),
                    ..Update::default()
                },
            };
            self.finish(&c, u).await?;
        }
        Ok(n)
    }

    /// Runs `run_once` until nothing is attempted (tests and the demo), at most `rounds` rounds.
    pub async fn drain(&self, rounds: usize) -> anyhow::Result<usize> {
        let mut total = 0;
        for _ in 0..rounds {
            let n = self.run_once().await?;
            if n == 0 {
                break;
            }
            total += n;
        }
        Ok(total)
    }

    async fn finish(&self, c: &Claimed, u: Update) -> anyhow::Result<()> {
        let now = self.rt.now();
        let w = self
            .rt
            .db
            .write(Scope::of_tender(&self.rt.db.conn, c.row.tender_id).await?)
            .await?;
        let cigs = u.confirmed && c.row.operation == Operation::ConfermaAppalto.as_str();
        let owned = outbox::complete(&w.txn, c, now, u).await?;
        if owned && cigs {
            // the lots have their CIGs: the tender may now be published (art. 62 c.2)
            let t = tender::Entity::find_by_id(c.row.tender_id)
                .one(&w.txn)
                .await?
                .ok_or_else(|| anyhow::anyhow!("tender vanished"))?;
            if t.state.0 == lifecycle::tender::TenderState::Approved {
                // a refusal (decided before anything is written) leaves the CIGs stored: the buyer then
                // runs `acquire_cig` by hand, on the lifecycle path
                let r = workflow::transition::run_tender_event(
                    &w.txn,
                    "pcp",
                    &self.rt.settings.http.public_base_url,
                    self.rt.settings.sua.qualification,
                    t,
                    &workflow::transition::EventInput::of("acquire_cig"),
                    now,
                )
                .await;
                match r {
                    Ok(_) => {}
                    Err(workflow::WorkflowError::Refused { rule, detail }) => {
                        tracing::warn!(tender = %c.row.tender_id, %rule, %detail, "acquire_cig after PCP's CIGs refused");
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        w.commit().await?;
        Ok(())
    }

    fn transient(&self, c: &Claimed, why: String, now: DateTime<Utc>) -> Update {
        tracing::warn!(call = %c.row.id, error = %why, "PCP call postponed");
        Update {
            next_attempt_at: Some(now + self.cfg.backoff(c.row.attempts + 1)),
            error: Some(("TRANSIENT".into(), why)),
            ..Update::default()
        }
    }

    fn refused(code: String, msg: String) -> Update {
        Update {
            status: Some(ERRORE),
            error: Some((code, msg)),
            ..Update::default()
        }
    }

    async fn id_appalto(&self, tender_id: Uuid) -> anyhow::Result<Option<Uuid>> {
        Ok(outbox::id_appalto(&self.rt.db.conn, tender_id).await?)
    }

    async fn attempt(&self, c: &Claimed) -> anyhow::Result<Update> {
        let now = self.rt.now();
        let op = Operation::parse(&c.row.operation)
            .ok_or_else(|| anyhow::anyhow!("operation {:?} unknown", c.row.operation))?;
        let purpose = Purpose::parse(&c.row.purpose)
            .ok_or_else(|| anyhow::anyhow!("purpose {:?} unknown", c.row.purpose))?;
        match op {
            Operation::CreaAppalto => {
                let rows = pcp_facts::load(&self.rt.db.conn, c.row.tender_id).await?;
                let built = match pcp_facts::build(
                    &self.cfg.profile,
                    &self.rt.settings.http.public_base_url,
                    &rows,
                    None,
                    purpose,
                    now,
                ) {
                    Ok(b) => b,
                    Err(e) => return Ok(refused_before_sending(e)),
                };
                let body = built.scheda.request(None);
                let mut u = Update {
                    scheda: Some(built.scheda.codice.as_str().to_owned()),
                    body: Some(body.to_string()),
                    eform: built.eform,
                    ..Update::default()
                };
                match self
                    .call(Some(&body), "/ComunicaAppalto/v2/crea-appalto", None)
                    .await
                {
                    Answer::Ok(v) => {
                        u.status = Some(CONFERMATA);
                        u.sent = true;
                        u.confirmed = true;
                        u.remote_id = v["idAppalto"].as_str().map(str::to_owned);
                        u.response = Some(v.to_string());
                        Ok(u)
                    }
                    Answer::Refused(code, msg) => Ok(Update {
                        status: Some(ERRORE),
                        error: Some((code, msg)),
                        ..u
                    }),
                    Answer::Transient(why) => Ok(Update {
                        scheda: u.scheda,
                        body: u.body,
                        eform: u.eform,
                        ..self.transient(c, why, now)
                    }),
                }
            }
            Operation::ConfermaAppalto => {
                let id = self
                    .id_appalto(c.row.tender_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no idAppalto: crea-appalto not confirmed"))?;
                if c.row.status == INVIATA {
                    return self.poll_conferma_appalto(c, id, now).await;
                }
                let body = json!({"idAppalto": id.to_string()});
                match self
                    .call(
                        Some(&body),
                        "/ComunicaAppalto/v2/conferma-appalto",
                        Some(id),
                    )
                    .await
                {
                    Answer::Ok(v) => Ok(Update {
                        status: Some(INVIATA),
                        sent: true,
                        body: Some(body.to_string()),
                        response: Some(v.to_string()),
                        next_attempt_at: Some(now),
                        uncount: true,
                        ..Update::default()
                    }),
                    Answer::Refused(code, msg) => Ok(Self::refused(code, msg)),
                    Answer::Transient(why) => Ok(self.transient(c, why, now)),
                }
            }
            Operation::PubblicaAvviso => {
                let calls = outbox::list_for_tender(&self.rt.db.conn, c.row.tender_id).await?;
                let crea = calls
                    .iter()
                    .find(|x| x.operation == Operation::CreaAppalto.as_str());
                if crea.and_then(|x| x.scheda.as_deref()) != Some("P1_16") {
                    // below the threshold the appalto is public once confirmed: nothing to send
                    return Ok(Update {
                        status: Some(CONFERMATA),
                        confirmed: true,
                        response: Some(
                            json!({"detail": "pubblica-avviso non dovuto (sotto soglia)"})
                                .to_string(),
                        ),
                        ..Update::default()
                    });
                }
                let id = self
                    .id_appalto(c.row.tender_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no idAppalto"))?;
                let avviso = calls
                    .iter()
                    .find(|x| x.operation == Operation::ConfermaAppalto.as_str())
                    .and_then(|x| x.response.as_deref())
                    .and_then(|r| serde_json::from_str::<Value>(r).ok())
                    .and_then(|v| v["idAvviso"].as_str().map(str::to_owned))
                    .ok_or_else(|| {
                        anyhow::anyhow!("no idAvviso in the outcome of conferma-appalto")
                    })?;
                let body = json!({"idAppalto": id.to_string(), "idAvviso": avviso});
                match self
                    .call(Some(&body), "/PubblicaAvviso/v2/pubblica-avviso", Some(id))
                    .await
                {
                    Answer::Ok(v) => Ok(Update {
                        status: Some(CONFERMATA),
                        sent: true,
                        confirmed: true,
                        body: Some(body.to_string()),
                        response: Some(v.to_string()),
                        ..Update::default()
                    }),
                    Answer::Refused(code, msg) => Ok(Self::refused(code, msg)),
                    Answer::Transient(why) => Ok(self.transient(c, why, now)),
                }
            }
            Operation::Scheda => {
                let id = self
                    .id_appalto(c.row.tender_id)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("no idAppalto"))?;
                if c.row.status == INVIATA {
                    return self.poll_scheda(c, id, now).await;
                }
                let mut u = Update::default();
                let id_scheda = match c.row.remote_id.clone() {
                    // created by an earlier attempt whose conferma did not go through
                    Some(s) => s,
                    None => {
                        let rows = pcp_facts::load(&self.rt.db.conn, c.row.tender_id).await?;
                        let built = match pcp_facts::build(
                            &self.cfg.profile,
                            &self.rt.settings.http.public_base_url,
                            &rows,
                            c.row.lot_id,
                            purpose,
                            now,
                        ) {
                            Ok(b) => b,
                            Err(e) => return Ok(refused_before_sending(e)),
                        };
                        let body = built.scheda.request(Some(id));
                        u.scheda = Some(built.scheda.codice.as_str().to_owned());
                        u.body = Some(body.to_string());
                        u.eform = built.eform;
                        match self
                            .call(
                                Some(&body),
                                "/ComunicaPostPubblicazione/v2/crea-scheda",
                                Some(id),
                            )
                            .await
                        {
                            Answer::Ok(v) => {
                                let s = v["idScheda"].as_str().unwrap_or_default().to_owned();
                                u.remote_id = Some(s.clone());
                                s
                            }
                            Answer::Refused(code, msg) => {
                                return Ok(Update {
                                    status: Some(ERRORE),
                                    error: Some((code, msg)),
                                    ..u
                                });
                            }
                            Answer::Transient(why) => {
                                return Ok(Update {
                                    scheda: u.scheda,
                                    body: u.body,
                                    eform: u.eform,
                                    ..self.transient(c, why, now)
                                });
                            }
                        }
                    }
                };
                let body = json!({"idScheda": id_scheda, "idAppalto": id.to_string()});
                match self
                    .call(
                        Some(&body),
                        "/ComunicaPostPubblicazione/v2/conferma-scheda",
                        Some(id),
                    )
                    .await
                {
                    Answer::Ok(v) => Ok(Update {
                        status: Some(INVIATA),
                        sent: true,
                        response: Some(v.to_string()),
                        next_attempt_at: Some(now),
                        uncount: true,
                        ..u
                    }),
                    Answer::Refused(code, msg) => Ok(Update {
                        status: Some(ERRORE),
                        error: Some((code, msg)),
                        ..u
                    }),
                    Answer::Transient(why) => Ok(Update {
                        remote_id: u.remote_id,
                        scheda: u.scheda,
                        body: u.body,
                        eform: u.eform,
                        ..self.transient(c, why, now)
                    }),
                }
            }
        }
    }

    async fn esito(
        &self,
        c: &Claimed,
        id: Uuid,
        op: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Value>, Update> {
        let path = format!(
            "/ServiziComuni/v2/esito-operazione?idAppalto={id}&tipoOperazione={op}&tipoRicerca=ULTIMO_ESITO"
        );
        match self.call(None, &path, Some(id)).await {
            Answer::Ok(v) => Ok(v["listaEsiti"].as_array().and_then(|l| l.last()).cloned()),
            Answer::Refused(code, msg) => Err(Self::refused(code, msg)),
            Answer::Transient(why) => Err(self.transient(c, why, now)),
        }
    }

    fn wait_esito(&self, now: DateTime<Utc>) -> Update {
        Update {
            next_attempt_at: Some(now + Duration::seconds(self.cfg.esito_poll_secs as i64)),
            uncount: true,
            ..Update::default()
        }
    }

    fn ko(e: &Value) -> Option<Update> {
        (e["esito"]["codice"] == "KO").then(|| {
            let (code, msg) = anac_error(e, "KO");
            Self::refused(code, msg)
        })
    }

    async fn poll_conferma_appalto(
        &self,
        c: &Claimed,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Update> {
        let e = match self.esito(c, id, "AP_CONF", now).await {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(self.wait_esito(now)),
            Err(u) => return Ok(u),
        };
        if let Some(ko) = Self::ko(&e) {
            return Ok(ko);
        }
        let path = format!("/ComunicaAppalto/v2/recupera-cig?idAppalto={id}");
        let v = match self.call(None, &path, Some(id)).await {
            Answer::Ok(v) => v,
            Answer::Refused(code, msg) => return Ok(Self::refused(code, msg)),
            Answer::Transient(why) => return Ok(self.transient(c, why, now)),
        };
        let pairs: Vec<(String, String)> = v["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        Some((
                            x["lotIdentifier"].as_str()?.to_owned(),
                            x["cig"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.store_cigs(c.row.tender_id, &pairs, now).await?;
        Ok(Update {
            status: Some(CONFERMATA),
            confirmed: true,
            response: Some(e.to_string()),
            ..Update::default()
        })
    }

    /// Stores the CIGs PCP assigned on the lots (`cig_source: pcp`), each checked with ANAC's algorithm.
    async fn store_cigs(
        &self,
        tender_id: Uuid,
        pairs: &[(String, String)],
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        use sea_orm::{ActiveModelTrait, ColumnTrait, IntoActiveModel, QueryFilter, Set};
        let w = self
            .rt
            .db
            .write(Scope::of_tender(&self.rt.db.conn, tender_id).await?)
            .await?;
        let lots = lot::Entity::find()
            .filter(lot::Column::TenderId.eq(tender_id))
            .all(&w.txn)
            .await?;
        for l in lots {
            let Some((_, cig)) = pairs
                .iter()
                .find(|(li, _)| *li == pcp_facts::lot_identifier(l.number))
            else {
                continue;
            };
            let cig = domain::ids::Cig::parse(cig)
                .map_err(|e| anyhow::anyhow!("CIG {cig} from PCP: {e}"))?;
            let mut am = l.into_active_model();
            am.cig = Set(Some(workflow::store::Stored(cig)));
            am.updated_at = Set(now);
            am.update(&w.txn).await?;
        }
        w.commit().await?;
        Ok(())
    }

    async fn poll_scheda(
        &self,
        c: &Claimed,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Update> {
        let e = match self.esito(c, id, "SC_CONF", now).await {
            Ok(Some(e)) => e,
            Ok(None) => return Ok(self.wait_esito(now)),
            Err(u) => return Ok(u),
        };
        if let Some(ko) = Self::ko(&e) {
            // a corrected resend creates the scheda again
            return Ok(Update {
                clear_remote_id: true,
                ..ko
            });
        }
        Ok(Update {
            status: Some(CONFERMATA),
            confirmed: true,
            response: Some(e.to_string()),
            ..Update::default()
        })
    }
}

fn refused_before_sending(e: workflow::WorkflowError) -> Update {
    let (code, msg) = match &e {
        workflow::WorkflowError::Refused { rule, detail } => (rule.clone(), detail.clone()),
        workflow::WorkflowError::Invalid { field, detail } => {
            (format!("SUA:{field}"), detail.clone())
        }
        other => ("SUA".into(), other.to_string()),
    };
    Update {
        status: Some(ERRORE),
        error: Some((code, msg)),
        ..Update::default()
    }
}

/// The buyer's `acquire_cig` when PCP is enabled and no lot has a typed-in CIG: instead of the lifecycle
/// event, enqueue `crea_appalto` (with the publication scheda, built when sent) and `conferma_appalto`;
/// the worker stores the CIGs PCP assigns and then runs `acquire_cig` itself. Returns the calls enqueued,
/// or `None` when the event goes through the lifecycle as without PCP (PCP disabled, another event, a
/// tender not `approved` — the lifecycle refuses it —, or CIGs typed in: `cig_source: external`).
pub async fn acquire_cig_through_pcp<C: sea_orm::ConnectionTrait>(
    rt: &Runtime,
    db: &C,
    t: &tender::Model,
    event: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Uuid>>, workflow::WorkflowError> {
    use sea_orm::{ColumnTrait, QueryFilter};
    if !rt.settings.pcp.enabled
        || event != "acquire_cig"
        || t.state.0 != lifecycle::tender::TenderState::Approved
    {
        return Ok(None);
    }
    let lots = lot::Entity::find()
        .filter(lot::Column::TenderId.eq(t.id))
        .all(db)
        .await?;
    if lots.iter().any(|l| l.cig.is_some()) {
        return Ok(None);
    }
    if outbox::on_pcp(db, t.id).await? {
        return Err(workflow::WorkflowError::Refused {
            rule: "art. 62 c.2".into(),
            detail: "the CIGs were already requested from PCP: see GET /v1/tenders/{id}/pcp".into(),
        });
    }
    if t.procedure_type.0 == lifecycle::ProcedureType::AffidamentoDiretto {
        // AD3 creates the appalto already awarded: the operator and amount the decisione di contrarre
        // names (art. 17 c.2) go with the CIG request, stated on the lot (`pcp.affidatario`,
        // `pcp.importo_affidamento`)
        let l = pcp_facts::direct_award_lot(&lots)?;
        let (op, _) = pcp_facts::LotPcp::stored(l).direct_award()?;
        let known = workflow::store::entities::operator::Entity::find_by_id(op)
            .one(db)
            .await?;
        if known.is_none() {
            return Err(workflow::WorkflowError::invalid(
                "pcp.affidatario",
                format!("pcp.affidatario: no operator {op} in the register"),
            ));
        }
    }
    outbox::start_appalto(db, t, &lots, now).await.map(Some)
}

/// The worker started by `sua serve` when `[pcp] enabled`: a round every `poll_interval_ms` until `stop`.
pub fn spawn(
    rt: Runtime,
    cfg: PcpSettings,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let w = Arc::new(Worker::new(rt, cfg)?);
    Ok(tokio::spawn(async move {
        loop {
            match w.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "PCP worker round failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(StdDuration::from_millis(w.cfg.poll_interval_ms.max(10))) => {}
                _ = stop.changed() => break,
            }
        }
    }))
}
