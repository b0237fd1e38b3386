//! The PCP outbox: the calls owed to ANAC's Piattaforma Contratti Pubblici (PCP/BDNCP), enqueued in the
//! transaction of the act that causes them and sent by the worker of `service::pcp`.
//!
//! - [`start_appalto`] (the buyer's `acquire_cig` when PCP is enabled) enqueues `crea_appalto` with the
//!   publication scheda and `conferma_appalto`; the lots' CIGs come back asynchronously, are stored on the
//!   lots ([`store_cigs`]) and the worker then runs `acquire_cig` itself. A tender is *on PCP* once it has
//!   a `crea_appalto` call; a tender whose CIGs were typed in (`cig_source: external`) has none and
//!   enqueues nothing.
//! - [`enqueue_for_effects`] (called with the mails of every transition) turns the lifecycle's
//!   `Communicate { to: Bdncp }` effects into calls: publication → `pubblica_avviso`; award → S2 (the
//!   bidders) then A1_29/A2_29; contract signed → SC1; deserted/revoked → NAG (or A1_29 with no winner), for the
//!   whole procedure or for one lot that ended alone.
//!   The bodies are built when sent, from the rows as they are then, so that a buyer who corrects a
//!   refused call's data and resends it sends the corrected body.
//! - The worker claims due calls ([`claim`]) like the mail outbox: a conditional `UPDATE` per row with a
//!   fresh claim token and a lease, so two replicas never send one call twice; calls of one tender go
//!   strictly in order (a call is due only when every earlier call of its tender is `confermata`).
//!
//! States: `in_coda` (owed, not yet accepted), `inviata` (accepted, asynchronous outcome pending),
//! `confermata`, `errore` (ANAC's error code and message stored; the buyer may correct and [`resend`]).

use chrono::{DateTime, Duration, TimeZone, Utc};
use lifecycle::{Addressee, CommunicationKind, Effect};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};
use serde::Serialize;
use uuid::Uuid;

use crate::error::{WResult, WorkflowError};
use crate::store::entities::pcp_call::{self, Column, Entity as PcpCall};
use crate::store::entities::{lot, tender};

/// Call states.
pub const IN_CODA: &str = "in_coda";
pub const INVIATA: &str = "inviata";
pub const CONFERMATA: &str = "confermata";
pub const ERRORE: &str = "errore";

/// The PCP operation a call performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `crea-appalto` with the publication scheda (P1_16, P2_16, P7_2).
    CreaAppalto,
    /// `conferma-appalto`, its outcome (`esito-operazione` AP_CONF) and the CIGs (`recupera-cig`).
    ConfermaAppalto,
    /// `pubblica-avviso` (above the threshold: the notice goes to TED and the national publicity).
    PubblicaAvviso,
    /// `crea-scheda` then `conferma-scheda` and its outcome (`esito-operazione` SC_CONF).
    Scheda,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreaAppalto => "crea_appalto",
            Operation::ConfermaAppalto => "conferma_appalto",
            Operation::PubblicaAvviso => "pubblica_avviso",
            Operation::Scheda => "scheda",
        }
    }
    pub fn parse(s: &str) -> Option<Operation> {
        Some(match s {
            "crea_appalto" => Operation::CreaAppalto,
            "conferma_appalto" => Operation::ConfermaAppalto,
            "pubblica_avviso" => Operation::PubblicaAvviso,
            "scheda" => Operation::Scheda,
            _ => return None,
        })
    }
}

/// What a scheda reports (the builder picks the scheda code from it and the procedure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The publication (P1_16, P2_16, P7_2) and its confirmation and notice.
    Publication,
    /// The bidders of a lot (S2).
    Bidders,
    /// The award of a lot (A1_29, A2_29).
    Award,
    /// The contract signed (SC1).
    Contract,
    /// The procedure ends without an award (NAG; above the threshold A1_29 with no winner).
    NotAwarded,
    /// The operators invited to a negotiated procedure, once the offer deadline passed (S1_2).
    Invitees,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Publication => "publication",
            Purpose::Bidders => "bidders",
            Purpose::Award => "award",
            Purpose::Contract => "contract",
            Purpose::NotAwarded => "not_awarded",
            Purpose::Invitees => "invitees",
        }
    }
    pub fn parse(s: &str) -> Option<Purpose> {
        Some(match s {
            "publication" => Purpose::Publication,
            "bidders" => Purpose::Bidders,
            "award" => Purpose::Award,
            "contract" => Purpose::Contract,
            "not_awarded" => Purpose::NotAwarded,
            "invitees" => Purpose::Invitees,
            _ => return None,
        })
    }
}

pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// A call as shown to the buyer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallView {
    pub id: Uuid,
    pub tender_id: Uuid,
    pub lot_id: Option<Uuid>,
    /// Position among the tender's calls (sent in this order).
    pub ord: i64,
    #[schema(example = "crea_appalto")]
    pub operation: String,
    #[schema(example = "publication")]
    pub purpose: String,
    /// The scheda sent (`P1_16`, `S2`, `A1_29`...), once built.
    pub scheda: Option<String>,
    /// `in_coda`, `inviata`, `confermata` or `errore`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// PCP's id of what the call created (`idAppalto`, `idScheda`).
    pub remote_id: Option<String>,
    /// ANAC's error code and message of the last failure.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

pub fn view(r: &pcp_call::Model) -> CallView {
    CallView {
        id: r.id,
        tender_id: r.tender_id,
        lot_id: r.lot_id,
        ord: r.ord,
        operation: r.operation.clone(),
        purpose: r.purpose.clone(),
        scheda: r.scheda.clone(),
        status: r.status.clone(),
        attempts: r.attempts,
        next_attempt_at: from_millis(r.next_attempt_at),
        remote_id: r.remote_id.clone(),
        error_code: r.error_code.clone(),
        error_message: r.error_message.clone(),
        created_at: from_millis(r.created_at),
        sent_at: r.sent_at.map(from_millis),
        confirmed_at: r.confirmed_at.map(from_millis),
    }
}

/// Enqueues one call in the caller's transaction. A call with the same idempotency key already
/// enqueued is kept and its id returned: a repeated act does not enqueue twice.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
    lot_id: Option<Uuid>,
    operation: Operation,
    purpose: Purpose,
    idempotency_key: String,
    now: DateTime<Utc>,
) -> WResult<Uuid> {
    if let Some(existing) = PcpCall::find()
        .filter(Column::IdempotencyKey.eq(idempotency_key.as_str()))
        .one(db)
        .await?
    {
        return Ok(existing.id);
    }
    // writes are serialised (`Db::write`), so the next position of the tender is its maximum plus one
    let last = PcpCall::find()
        .filter(Column::TenderId.eq(tender_id))
        .order_by_desc(Column::Ord)
        .limit(1)
        .one(db)
        .await?;
    let ord = last.map_or(1, |l| l.ord + 1);
    let now_ms = to_millis(now);
    let id = Uuid::now_v7();
    let row = pcp_call::ActiveModel {
        id: Set(id),
        idempotency_key: Set(idempotency_key.clone()),
        tender_id: Set(tender_id),
        lot_id: Set(lot_id),
        ord: Set(ord),
        operation: Set(operation.as_str().to_owned()),
        purpose: Set(purpose.as_str().to_owned()),
        scheda: Set(None),
        body: Set(None),
        eform: Set(None),
        status: Set(IN_CODA.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now_ms),
        lease_until: Set(None),
        claim_token: Set(None),
        remote_id: Set(None),
        response: Set(None),
        error_code: Set(None),
        error_message: Set(None),
        created_at: Set(now_ms),
        updated_at: Set(now_ms),
        sent_at: Set(None),
        confirmed_at: Set(None),
    };
    let result = PcpCall::insert(row)
        .on_conflict_do_nothing_on([Column::IdempotencyKey])
        .exec_without_returning(db)
        .await?;
    match result {
        TryInsertResult::Inserted(n) if n > 0 => Ok(id),
        _ => PcpCall::find()
            .filter(Column::IdempotencyKey.eq(idempotency_key.as_str()))
            .one(db)
            .await?
            .map(|r| r.id)
            .ok_or_else(|| WorkflowError::Internal(anyhow::anyhow!("PCP call vanished"))),
    }
}

/// Whether the tender runs on PCP: its appalto was created (or is being created) through PCP.
pub async fn on_pcp<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<bool> {
    Ok(PcpCall::find()
        .filter(Column::TenderId.eq(tender_id))
        .filter(Column::Operation.eq(Operation::CreaAppalto.as_str()))
        .one(db)
        .await?
        .is_some())
}

/// The buyer's `acquire_cig` with PCP enabled: enqueues `crea_appalto` (the publication scheda, built
/// when sent) and `conferma_appalto`. The lots get their CIGs when the outcome arrives; the tender stays
/// `approved` until then. Refused when the tender is already on PCP or a lot already has a typed-in CIG
/// (`cig_source: external`: a procedure started elsewhere does not create its appalto again).
pub async fn start_appalto<C: ConnectionTrait>(
    db: &C,
    t: &tender::Model,
    lots: &[lot::Model],
    now: DateTime<Utc>,
) -> WResult<Vec<Uuid>> {
    if lots.is_empty() {
        return Err(WorkflowError::Refused {
            rule: "art. 62 c.2".into(),
            detail: "a CIG is needed for every lot: the tender has no lot".into(),
        });
    }
    let a = enqueue(
        db,
        t.id,
        None,
        Operation::CreaAppalto,
        Purpose::Publication,
        format!("pcp:{}:crea_appalto", t.id),
        now,
    )
    .await?;
    let c = enqueue(
        db,
        t.id,
        None,
        Operation::ConfermaAppalto,
        Purpose::Publication,
        format!("pcp:{}:conferma_appalto", t.id),
        now,
    )
    .await?;
    Ok(vec![a, c])
}

/// Enqueues the PCP calls the `effects` of one transition owe (`Communicate { to: Bdncp }`), for a tender
/// on PCP; nothing for the others. Runs in the transition's transaction.
pub async fn enqueue_for_effects<C: ConnectionTrait>(
    db: &C,
    t: &tender::Model,
    l: Option<&lot::Model>,
    effects: &[Effect],
    now: DateTime<Utc>,
) -> WResult<u32> {
    let kinds: Vec<CommunicationKind> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Communicate {
                to: Addressee::Bdncp,
                kind,
                ..
            } => Some(*kind),
            _ => None,
        })
        .collect();
    let invitees_due = l.is_none()
        && matches!(
            t.state.0,
            lifecycle::tender::TenderState::Closed | lifecycle::tender::TenderState::Deserted
        )
        && !crate::transition::invitees(t).is_empty();
    if (kinds.is_empty() && !invitees_due) || !on_pcp(db, t.id).await? {
        return Ok(0);
    }
    let mut n = 0;
    if invitees_due {
        // S1_2: the invitees of a negotiated procedure are secret until the offer deadline (art. 35 c.2
        // b)); the transition that passes it (closed, or deserted without offers) owes them to PCP, before
        // any later scheda
        enqueue(
            db,
            t.id,
            None,
            Operation::Scheda,
            Purpose::Invitees,
            format!("pcp:{}:invitees", t.id),
            now,
        )
        .await?;
        n += 1;
    }
    for kind in kinds {
        let calls: Vec<(Option<Uuid>, Operation, Purpose, String)> = match (kind, l) {
            (CommunicationKind::Publication, _) => vec![(
                None,
                Operation::PubblicaAvviso,
                Purpose::Publication,
                format!("pcp:{}:pubblica_avviso", t.id),
            )],
            // a direct award was reported, awarded, by its AD3 (`crea_appalto`): no S2, no A-scheda
            (CommunicationKind::Award, Some(_))
                if t.procedure_type.0 == lifecycle::ProcedureType::AffidamentoDiretto =>
            {
                vec![]
            }
            (CommunicationKind::Award, Some(l)) => vec![
                (
                    Some(l.id),
                    Operation::Scheda,
                    Purpose::Bidders,
                    format!("pcp:{}:{}:bidders", t.id, l.id),
                ),
                (
                    Some(l.id),
                    Operation::Scheda,
                    Purpose::Award,
                    format!("pcp:{}:{}:award", t.id, l.id),
                ),
            ],
            (CommunicationKind::ContractDate, Some(l)) => vec![(
                Some(l.id),
                Operation::Scheda,
                Purpose::Contract,
                format!("pcp:{}:{}:contract", t.id, l.id),
            )],
            // the whole procedure ends, but every lot on PCP already ended alone and was reported
            (
                CommunicationKind::DecisionNotToAward
                | CommunicationKind::Revocation
                | CommunicationKind::Annulment,
                None,
            ) if every_lot_ended_alone(db, t.id).await? => vec![],
            // a lot ending alone after bids came in: its participants (S2) first, so that the outcome
            // names bidders PCP knows
            (
                CommunicationKind::DecisionNotToAward
                | CommunicationKind::Revocation
                | CommunicationKind::Annulment,
                Some(l),
            ) => {
                let mut v = Vec::new();
                if lot_has_bids(db, l.id).await? {
                    v.push((
                        Some(l.id),
                        Operation::Scheda,
                        Purpose::Bidders,
                        format!("pcp:{}:{}:bidders", t.id, l.id),
                    ));
                }
                v.push((
                    Some(l.id),
                    Operation::Scheda,
                    Purpose::NotAwarded,
                    format!("pcp:{}:{}:not_awarded", t.id, l.id),
                ));
                v
            }
            (
                CommunicationKind::DecisionNotToAward
                | CommunicationKind::Revocation
                | CommunicationKind::Annulment,
                None,
            ) => vec![(
                None,
                Operation::Scheda,
                Purpose::NotAwarded,
                format!("pcp:{}:not_awarded", t.id),
            )],
            (other, _) => {
                tracing::warn!(kind = %other, tender = %t.id, "no PCP call for this communication");
                vec![]
            }
        };
        for (lot_id, op, purpose, key) in calls {
            enqueue(db, t.id, lot_id, op, purpose, key, now).await?;
            n += 1;
        }
    }
    Ok(n)
}

/// Whether lot `lot_id` received an offer (the participation states that count as one:
/// [`lifecycle::participation::ParticipationState::is_offer`]).
async fn lot_has_bids<C: ConnectionTrait>(db: &C, lot_id: Uuid) -> WResult<bool> {
    use crate::store::entities::bid;
    Ok(bid::Entity::find()
        .filter(bid::Column::LotId.eq(lot_id))
        .all(db)
        .await?
        .iter()
        .any(|b| b.state.0.is_offer()))
}

/// Every lot of the tender that has a CIG ended alone without an award ([`crate::pcp_facts::ended_alone`]).
async fn every_lot_ended_alone<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<bool> {
    let lots = lot::Entity::find()
        .filter(lot::Column::TenderId.eq(tender_id))
        .all(db)
        .await?;
    let on_pcp: Vec<&lot::Model> = lots.iter().filter(|l| l.cig.is_some()).collect();
    Ok(!on_pcp.is_empty()
        && on_pcp
            .iter()
            .all(|l| crate::pcp_facts::ended_alone(l.state.0)))
}

/// Every call of a tender, in sending order.
pub async fn list_for_tender<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
) -> WResult<Vec<pcp_call::Model>> {
    Ok(PcpCall::find()
        .filter(Column::TenderId.eq(tender_id))
        .order_by_asc(Column::Ord)
        .all(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> WResult<pcp_call::Model> {
    PcpCall::find_by_id(id)
        .one(db)
        .await?
        .ok_or(WorkflowError::NotFound("PCP call"))
}

/// Puts a call in `errore` back in the queue, due now, attempts reset (ANAC's last message stays visible
/// until the next answer). Its body is built again when sent: the data the buyer corrected is sent.
pub async fn resend<C: ConnectionTrait>(db: &C, id: Uuid, now: DateTime<Utc>) -> WResult<()> {
    let now_ms = to_millis(now);
    let r = PcpCall::update_many()
        .col_expr(Column::Status, Expr::value(IN_CODA))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now_ms))
        .col_expr(Column::UpdatedAt, Expr::value(now_ms))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::ClaimToken, Expr::value(Option::<Uuid>::None))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq(ERRORE))
        .exec(db)
        .await?;
    if r.rows_affected == 1 {
        return Ok(());
    }
    let c = get(db, id).await?;
    Err(WorkflowError::Refused {
        rule: "art. 23".into(),
        detail: format!(
            "only a call in `errore` can be resent; this one is `{}`",
            c.status
        ),
    })
}

/// A claimed call: the row and the token that owns it until `lease_until`.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub row: pcp_call::Model,
    pub token: Uuid,
}

/// Claims up to `limit` due calls: `in_coda` or `inviata` ones whose `next_attempt_at` has come and
/// whose lease (if any) expired, and whose tender has no earlier call not yet `confermata`. Each claim is
/// a conditional `UPDATE` of one row (the same on SQLite and PostgreSQL: on PostgreSQL a concurrent
/// claimer waits for the row and re-checks the condition, so one of two replicas gets it); the claimed
/// row gets a fresh token, `lease_until = now + lease` and one more attempt.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> WResult<Vec<Claimed>> {
    let now_ms = to_millis(now);
    let due_cond = || {
        sea_orm::Condition::all()
            .add(Column::Status.is_in([IN_CODA, INVIATA]))
            .add(Column::NextAttemptAt.lte(now_ms))
            .add(
                sea_orm::Condition::any()
                    .add(Column::LeaseUntil.is_null())
                    .add(Column::LeaseUntil.lte(now_ms)),
            )
    };
    let candidates = PcpCall::find()
        .filter(due_cond())
        .order_by_asc(Column::NextAttemptAt)
        .order_by_asc(Column::Ord)
        .limit(std::cmp::max(limit.saturating_mul(4), limit))
        .all(db)
        .await?;
    let mut out = Vec::new();
    for c in candidates {
        if out.len() as u64 >= limit {
            break;
        }
        // strictly in order: an earlier call of the same tender not yet confirmed holds this one back
        let earlier = PcpCall::find()
            .filter(Column::TenderId.eq(c.tender_id))
            .filter(Column::Ord.lt(c.ord))
            .filter(Column::Status.ne(CONFERMATA))
            .one(db)
            .await?;
        if earlier.is_some() {
            continue;
        }
        let token = Uuid::new_v4();
        let r = PcpCall::update_many()
            .col_expr(Column::ClaimToken, Expr::value(token))
            .col_expr(Column::LeaseUntil, Expr::value(to_millis(now + lease)))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .col_expr(Column::UpdatedAt, Expr::value(now_ms))
            .filter(Column::Id.eq(c.id))
            .filter(due_cond())
            .exec(db)
            .await?;
        if r.rows_affected == 1
            && let Some(row) = PcpCall::find_by_id(c.id)
                .filter(Column::ClaimToken.eq(token))
                .one(db)
                .await?
        {
            out.push(Claimed { row, token });
        }
    }
    Ok(out)
}

/// What an attempt changed, recorded by [`complete`].
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// The new status (`None`: unchanged).
    pub status: Option<&'static str>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub scheda: Option<String>,
    pub body: Option<String>,
    pub eform: Option<String>,
    pub remote_id: Option<String>,
    pub response: Option<String>,
    /// `Some((code, message))` records a failure; `Some` with a cleared error is not needed: a
    /// `confermata` call clears it.
    pub error: Option<(String, String)>,
    pub sent: bool,
    pub confirmed: bool,
    /// Not counted as an attempt (waiting for an asynchronous outcome).
    pub uncount: bool,
    /// Forget PCP's id of the scheda (a KO outcome: a corrected resend creates the scheda again).
    pub clear_remote_id: bool,
}

/// Records the outcome of an attempt and releases the claim, only if the claim still owns the row.
pub async fn complete<C: ConnectionTrait>(
    db: &C,
    c: &Claimed,
    now: DateTime<Utc>,
    u: Update,
) -> WResult<bool> {
    let now_ms = to_millis(now);
    let mut q = PcpCall::update_many()
        .col_expr(Column::UpdatedAt, Expr::value(now_ms))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::ClaimToken, Expr::value(Option::<Uuid>::None));
    if let Some(s) = u.status {
        q = q.col_expr(Column::Status, Expr::value(s));
        if s == CONFERMATA {
            q = q
                .col_expr(Column::ErrorCode, Expr::value(Option::<String>::None))
                .col_expr(Column::ErrorMessage, Expr::value(Option::<String>::None));
        }
    }
    if let Some(at) = u.next_attempt_at {
        q = q.col_expr(Column::NextAttemptAt, Expr::value(to_millis(at)));
    }
    for (col, v) in [
        (Column::Scheda, u.scheda),
        (Column::Body, u.body),
        (Column::Eform, u.eform),
        (Column::RemoteId, u.remote_id),
        (Column::Response, u.response),
    ] {
        if let Some(v) = v {
            q = q.col_expr(col, Expr::value(v));
        }
    }
    if let Some((code, msg)) = u.error {
        q = q
            .col_expr(Column::ErrorCode, Expr::value(code))
            .col_expr(Column::ErrorMessage, Expr::value(msg));
    }
    if u.sent {
        q = q.col_expr(Column::SentAt, Expr::value(now_ms));
    }
    if u.confirmed {
        q = q.col_expr(Column::ConfirmedAt, Expr::value(now_ms));
    }
    if u.clear_remote_id {
        q = q.col_expr(Column::RemoteId, Expr::value(Option::<String>::None));
    }
    if u.uncount {
        q = q.col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1));
    }
    let r = q
        .filter(Column::Id.eq(c.row.id))
        .filter(Column::ClaimToken.eq(c.token))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// PCP's `idAppalto` of a tender, once `crea_appalto` succeeded.
pub async fn id_appalto<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<Option<Uuid>> {
    Ok(PcpCall::find()
        .filter(Column::TenderId.eq(tender_id))
        .filter(Column::Operation.eq(Operation::CreaAppalto.as_str()))
        .one(db)
        .await?
        .and_then(|c| c.remote_id)
        .and_then(|s| s.parse().ok()))
}

/// Fills each lot's `cig_source` in a tender's view ([`cig_source`], with one query for the tender).
pub async fn fill_cig_sources<C: ConnectionTrait>(
    db: &C,
    view: &mut crate::views::TenderView,
) -> WResult<()> {
    let on = on_pcp(db, view.id).await?;
    for l in &mut view.lots {
        l.cig_source = l
            .cig
            .as_ref()
            .map(|_| if on { "pcp" } else { "external" }.to_owned());
    }
    Ok(())
}

/// Where a lot's CIG came from: `pcp` (assigned by PCP to this tender's appalto), `external` (typed in
/// for a procedure started elsewhere), `None` (no CIG yet).
pub async fn cig_source<C: ConnectionTrait>(
    db: &C,
    l: &lot::Model,
) -> WResult<Option<&'static str>> {
    if l.cig.is_none() {
        return Ok(None);
    }
    Ok(Some(if on_pcp(db, l.tender_id).await? {
        "pcp"
    } else {
        "external"
    }))
}
