//! Lifecycle communications → outbox mails.
//!
//! Every accepted transition returns `Effect::Communicate { to, kind, .. }`; [`enqueue_communications`]
//! resolves each addressee to PEC recipients and enqueues one `notify` message per recipient, in the
//! caller's transaction (the same one as the state change). The idempotency key is
//! `lc:<audit seq>:<kind>:<operator id>`, so a retried transaction never mails twice.
//!
//! Not mailed here: `public` and `bdncp` addressees (publication/ANAC are other channels), invitations,
//! clarifications and receipts (enqueued by their own handlers), and the municipality (`comune`): its PEC
//! is now stored (`municipality.pec`) but not yet used here, so those are logged with a warning.
//!
//! The act (`act_type`, `act_number`, `act_date`) named in the mails is the platform's record of the
//! transition: its kind, the audit sequence number and the date of the transition. The formal act number
//! (determina) is not yet an input of the events.

use crate::{
    db::entities::{bid, lot, operator, tender},
    error::{ApiResult, AppError},
    machines::Declarations,
};
use chrono::{DateTime, Utc};
use lifecycle::{Addressee, CommunicationKind, Effect, TimerKind};
use notify::MailTemplate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// What the transition was applied to, and when.
pub struct Subject<'a> {
    /// `http.public_base_url`.
    pub base_url: &'a str,
    pub tender: &'a tender::Model,
    /// The lot of a lot or participation event.
    pub lot: Option<&'a lot::Model>,
    /// The bid of a participation event.
    pub bid: Option<&'a bid::Model>,
    /// The event name (e.g. `award`).
    pub event: &'a str,
    pub declarations: &'a Declarations,
    /// The offer deadline before the transition (for `deadline_extended`).
    pub previous_deadline: Option<DateTime<Utc>>,
    /// Audit sequence number of the transition (idempotency key and act number).
    pub seq: i64,
    pub now: DateTime<Utc>,
}

fn outbox_err(e: notify::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("mail outbox: {e}"))
}

/// Which template a communication to an operator uses (`None`: not mailed by this module).
fn template_for(kind: CommunicationKind) -> Option<MailTemplate> {
    use CommunicationKind as K;
    Some(match kind {
        K::Award | K::AwardToOthers => MailTemplate::Award,
        K::Exclusion => MailTemplate::Exclusion,
        K::SoccorsoRequest => MailTemplate::SoccorsoIstruttorio,
        K::DecisionNotToAward => MailTemplate::NotAwarded,
        K::Revocation | K::Annulment => MailTemplate::Revocation,
        K::DeadlineExtended => MailTemplate::DeadlineExtended,
        K::DocumentsAmended => MailTemplate::DocumentsAmended,
        K::AnomalyExplanationRequest => MailTemplate::AnomalyExplanationRequest,
        K::ContractDate => MailTemplate::ContractSigned,
        _ => return None,
    })
}

fn act_type(kind: CommunicationKind) -> &'static str {
    use CommunicationKind as K;
    match kind {
        K::Award | K::AwardToOthers => "provvedimento di aggiudicazione",
        K::Exclusion => "provvedimento di esclusione",
        K::DecisionNotToAward => "decisione di non aggiudicare",
        K::Revocation => "provvedimento di revoca",
        K::Annulment => "provvedimento di annullamento",
        K::DeadlineExtended => "proroga del termine",
        K::DocumentsAmended => "rettifica dei documenti di gara",
        _ => "atto",
    }
}

async fn operators_of_bids<C: ConnectionTrait>(
    db: &C,
    bids: &[bid::Model],
) -> ApiResult<Vec<operator::Model>> {
    let mut ids: Vec<Uuid> = bids.iter().map(|b| b.operator_id).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(operator::Entity::find()
        .filter(operator::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// Bids that count as participation: submitted, not withdrawn.
fn live(b: &bid::Model) -> bool {
    b.state != "withdrawn" && b.state != crate::machines::PARTICIPATION_INITIAL
}

fn timer_at(effects: &[Effect], kind: TimerKind) -> Option<DateTime<Utc>> {
    effects.iter().find_map(|e| match e {
        Effect::SetTimer { kind: k, at, .. } if *k == kind => Some(*at),
        _ => None,
    })
}

/// Enqueues the mails the `effects` of one transition owe; returns how many were enqueued.
pub async fn enqueue_communications<C: ConnectionTrait>(
    db: &C,
    s: &Subject<'_>,
    effects: &[Effect],
) -> ApiResult<u32> {
    let comms: Vec<(Addressee, CommunicationKind)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Communicate { to, kind, .. } => Some((*to, *kind)),
            _ => None,
        })
        .collect();
    if comms.is_empty() {
        return Ok(0);
    }
    let t = s.tender;
    let bids: Vec<bid::Model> = bid::Entity::find()
        .filter(bid::Column::TenderId.eq(t.id))
        .all(db)
        .await?
        .into_iter()
        .filter(live)
        .filter(|b| s.lot.is_none_or(|l| b.lot_id == l.id))
        .collect();
    let awardee_bid = s
        .lot
        .and_then(|l| l.awardee_bid_id)
        .and_then(|id| bids.iter().find(|b| b.id == id));
    let awardee = match awardee_bid {
        Some(b) => operator::Entity::find_by_id(b.operator_id).one(db).await?,
        None => None,
    };
    let mut sent = 0;
    for (to, kind) in comms {
        let Some(template) = template_for(kind) else {
            continue;
        };
        let recipients: Vec<operator::Model> = match to {
            Addressee::Operator => match s.bid {
                Some(b) => operator::Entity::find_by_id(b.operator_id)
                    .one(db)
                    .await?
                    .into_iter()
                    .collect(),
                // a lot-level exclusion also drives the participation event, which mails the operator
                None => continue,
            },
            Addressee::Awardee => awardee.iter().cloned().collect(),
            // the contract date goes to every participant, the awardee included (the lifecycle names the
            // others, art. 90 c.1 e; the awardee is a party and is told too)
            Addressee::OtherBidders if kind == CommunicationKind::ContractDate => {
                operators_of_bids(db, &bids).await?
            }
            // art. 90 c.1 c: the other bidders, excluded ones included while they may still challenge
            Addressee::OtherBidders => {
                let others: Vec<bid::Model> = bids
                    .iter()
                    .filter(|b| Some(b.id) != awardee_bid.map(|a| a.id))
                    .cloned()
                    .collect();
                operators_of_bids(db, &others).await?
            }
            Addressee::AllCandidates => operators_of_bids(db, &bids).await?,
            Addressee::Comune => {
                tracing::warn!(tender = %t.id, kind = %kind, "communication to the municipality not mailed (not implemented yet)");
                continue;
            }
            Addressee::Invitees | Addressee::Public | Addressee::Bdncp => continue,
        };
        for o in recipients {
            let Ok(addr) = o.pec.parse() else {
                tracing::warn!(operator = %o.id, pec = %o.pec, "stored PEC does not parse: mail skipped");
                continue;
            };
            let ctx = context(s, kind, effects, &o, awardee.as_ref());
            let msg = notify::NewMessage {
                to: vec![notify::Mailbox::new(Some(o.name.clone()), addr)],
                template,
                context: Value::Object(ctx),
                tender_id: Some(t.id),
                lot_id: s.lot.map(|l| l.id),
                idempotency_key: notify::IdempotencyKey::new(format!(
                    "lc:{}:{}:{}",
                    s.seq, kind, o.id
                ))
                .map_err(outbox_err)?,
                now: s.now,
            };
            notify::enqueue(db, msg).await.map_err(outbox_err)?;
            sent += 1;
        }
    }
    Ok(sent)
}

fn context(
    s: &Subject<'_>,
    kind: CommunicationKind,
    effects: &[Effect],
    o: &operator::Model,
    awardee: Option<&operator::Model>,
) -> Map<String, Value> {
    let t = s.tender;
    let rfc = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    let mut c = Map::new();
    let mut put = |k: &str, v: Value| {
        c.insert(k.to_owned(), v);
    };
    put("recipient_name", json!(o.name));
    put(
        "link",
        json!(format!(
            "{}/v1/tenders/{}",
            s.base_url.trim_end_matches('/'),
            t.id
        )),
    );
    put("tender_title", json!(t.title));
    put("tender_ref", json!(t.id.to_string()));
    if let Some(l) = s.lot {
        put("lot_number", json!(l.number));
        put("lot_title", json!(l.title));
    }
    let cig = s.lot.and_then(|l| l.cig.clone()).unwrap_or_else(|| {
        // a tender-level event: the CIGs of all lots are not at hand here, say so plainly
        "vedi lotti".to_owned()
    });
    put("cig", json!(cig));
    put("act_type", json!(act_type(kind)));
    put("act_number", json!(s.seq.to_string()));
    put("act_date", json!(s.now.date_naive().to_string()));
    put("event", json!(s.event));
    let reasons = s
        .declarations
        .exclusion_reason
        .clone()
        .or_else(|| s.bid.and_then(|b| b.exclusion_reason.clone()))
        .or_else(|| s.declarations.motivation.clone())
        .unwrap_or_else(|| "si veda il provvedimento".to_owned());
    put("reasons", json!(reasons));
    put("deadline", json!(rfc(t.deadline)));
    match kind {
        CommunicationKind::Award | CommunicationKind::AwardToOthers => {
            put(
                "awardee_name",
                json!(awardee.map(|a| a.name.clone()).unwrap_or_default()),
            );
            put(
                "is_awardee",
                json!(kind == CommunicationKind::Award && awardee.is_some_and(|a| a.id == o.id)),
            );
            let end = timer_at(effects, TimerKind::Standstill)
                .or_else(|| s.lot.and_then(|l| l.standstill_end));
            match end {
                Some(end) => put("standstill_end", json!(end.to_rfc3339())),
                None => put(
                    "standstill_not_applicable",
                    json!(
                        s.declarations
                            .standstill_exemption
                            .clone()
                            .unwrap_or_else(|| {
                                "termine dilatorio non applicabile (art. 55 c.2 / art. 18 c.3)"
                                    .into()
                            })
                    ),
                ),
            }
        }
        CommunicationKind::SoccorsoRequest => {
            put(
                "missing",
                json!(s.declarations.motivation.clone().unwrap_or_else(|| {
                    "documentazione indicata nella richiesta sulla piattaforma".into()
                })),
            );
            put(
                "term_end",
                json!(rfc(
                    timer_at(effects, TimerKind::Soccorso).or(s.bid.and_then(|b| b.soccorso_due))
                )),
            );
        }
        CommunicationKind::AnomalyExplanationRequest => {
            put(
                "elements",
                json!(s.declarations.motivation.clone().unwrap_or_else(|| {
                    "elementi dell'offerta indicati nella richiesta".into()
                })),
            );
            put(
                "term_end",
                json!(rfc(timer_at(effects, TimerKind::AnomalyExplanations))),
            );
        }
        CommunicationKind::DeadlineExtended => {
            put(
                "previous_deadline",
                json!(rfc(s.previous_deadline.or(t.deadline))),
            );
            put("new_deadline", json!(rfc(t.deadline)));
        }
        CommunicationKind::DocumentsAmended => {
            put(
                "changes",
                json!(
                    s.declarations
                        .motivation
                        .clone()
                        .unwrap_or_else(|| { "si vedano i documenti di gara aggiornati".into() })
                ),
            );
        }
        CommunicationKind::ContractDate => {
            put(
                "awardee_name",
                json!(awardee.map(|a| a.name.clone()).unwrap_or_default()),
            );
            put("contract_date", json!(s.now.date_naive().to_string()));
        }
        _ => {}
    }
    c
}

// ---------------------------------------------------------------- buyer's view of the outbox

use crate::{auth::Principal, state::AppState};
use axum::{
    Json,
    extract::{Path, State},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// `GET /v1/tenders/{id}/messages`, `POST /v1/messages/{id}/resend`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tender_messages))
        .routes(routes!(resend_message))
}

/// Every mail of a tender with its status (queued, sending, sent, failed), attempts and last error: the
/// SUA buyers of the tender's Province only.
#[utoipa::path(get, path = "/v1/tenders/{id}/messages", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_tender_messages(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<notify::MessageView>>> {
    crate::api::tenders::manage_tender(&st.db.conn, &p, id).await?;
    let list = notify::list_for_tender(&st.db.conn, id)
        .await
        .map_err(outbox_err)?;
    Ok(Json(list))
}

/// Put a failed mail back in the queue (same outbox id, same `Message-ID`). 409 if it has not failed.
#[utoipa::path(post, path = "/v1/messages/{id}/resend", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn resend_message(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<notify::MessageView>> {
    let now = st.now();
    let mid = notify::MessageId(id);
    let w = st.db.write().await?;
    let m = match notify::get(&w.txn, mid).await {
        Ok(m) => m,
        Err(notify::Error::NotFound(_)) => return Err(AppError::NotFound("message")),
        Err(e) => return Err(outbox_err(e)),
    };
    let Some(tender_id) = m.tender_id else {
        return Err(AppError::NotFound("message"));
    };
    crate::api::tenders::manage_tender(&w.txn, &p, tender_id).await?;
    match notify::resend(&w.txn, mid, now).await {
        Ok(()) => {}
        Err(notify::Error::NotFailed { status, .. }) => {
            return Err(AppError::Conflict {
                rule: "outbox".into(),
                detail: format!("only a failed message can be resent; this one is {status}"),
            });
        }
        Err(e) => return Err(outbox_err(e)),
    }
    let view = notify::get(&w.txn, mid).await.map_err(outbox_err)?;
    w.commit().await?;
    Ok(Json(view))
}

// ---------------------------------------------------------------- the municipality's PEC

use sea_orm_migration::prelude::*;

/// Adds the nullable `pec` column to `municipality`.
pub struct M20261128MunicipalityPec;

impl MigrationName for M20261128MunicipalityPec {
    fn name(&self) -> &str {
        "m20261128_000010_municipality_pec"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261128MunicipalityPec {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("municipality")
                .add_column(ColumnDef::new("pec").string().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("municipality")
                .drop_column("pec")
                .to_owned(),
        )
        .await
    }
}
