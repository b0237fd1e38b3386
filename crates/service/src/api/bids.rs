//! Economic operators (bidders): registration, bids (submit, replace, withdraw before the deadline),
//! clarifications (questions from bidders, answers public to all).

use super::{
    tenders::{self, Access, BidView, TransitionView, access_tender, bid_view},
    validate,
};
use crate::{
    audit,
    auth::{self, MaybePrincipal, Principal, Role},
    db::entities::{bid, clarification, lot, operator, tender},
    error::{ApiJson, ApiResult, AppError, Page, PageQuery, Problem},
    machines::{self, Declarations, EventInput},
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_operator))
        .routes(routes!(me))
        .routes(routes!(submit_bid))
        .routes(routes!(list_my_bids))
        .routes(routes!(get_bid, replace_bid))
        .routes(routes!(withdraw_bid))
        .routes(routes!(ask_clarification, list_clarifications))
        .routes(routes!(answer_clarification))
}

// ---------------------------------------------------------------- operators

#[derive(Deserialize, ToSchema)]
pub struct NewOperator {
    pub name: String,
    /// Codice fiscale of the operator (11 digits for companies, 16 characters for individuals).
    pub codice_fiscale: String,
    pub partita_iva: Option<String>,
    /// PEC address for legal communications.
    pub pec: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct OperatorView {
    pub id: Uuid,
    pub name: String,
    pub codice_fiscale: String,
    pub partita_iva: Option<String>,
    pub pec: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Registered {
    pub operator: OperatorView,
    /// A bidder token for this operator. Shown once: only its hash is stored.
    pub token: String,
}

fn operator_view(o: operator::Model) -> OperatorView {
    OperatorView {
        id: o.id,
        name: o.name,
        codice_fiscale: o.codice_fiscale,
        partita_iva: o.partita_iva,
        pec: o.pec,
    }
}

/// Register an economic operator once for the whole deployment; returns a bidder token.
/// (The PEC address is not verified here: a real deployment confirms it before activating the token.)
#[utoipa::path(post, path = "/v1/operators", tag = "bidders",
    request_body = NewOperator,
    responses((status = 201, body = Registered), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn register_operator(
    State(st): State<AppState>,
    ApiJson(b): ApiJson<NewOperator>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let name = validate::non_empty("name", &b.name, 300)?;
    let cf: domain::ids::CodiceFiscale = validate::id("codice_fiscale", &b.codice_fiscale)?;
    let piva = match &b.partita_iva {
        Some(p) => Some(validate::id::<domain::ids::PartitaIva>("partita_iva", p)?.to_string()),
        None => None,
    };
    let pec = validate::pec("pec", &b.pec)?;
    let now = st.now();
    let w = st.db.write().await?;
    if operator::Entity::find()
        .filter(operator::Column::CodiceFiscale.eq(cf.to_string()))
        .one(&w.txn)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "operator.unique",
            "an operator with this codice fiscale is already registered",
        ));
    }
    let o = operator::ActiveModel {
        id: Set(Uuid::now_v7()),
        codice_fiscale: Set(cf.to_string()),
        partita_iva: Set(piva),
        name: Set(name),
        pec: Set(pec),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let (_, token) = auth::issue(&w.txn, Role::Bidder, Some(o.id), "registration", now).await?;
    let view = operator_view(o);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: "anonymous",
            action: "operator.register",
            object_kind: "operator",
            object_id: view.id.to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or_default()),
        },
    )
    .await?;
    w.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Registered {
            operator: view,
            token,
        }),
    ))
}

/// The operator of the calling bidder.
#[utoipa::path(get, path = "/v1/operators/me", tag = "bidders", security(("bearer" = [])),
    responses((status = 200, body = OperatorView), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn me(State(st): State<AppState>, p: Principal) -> ApiResult<Json<OperatorView>> {
    let op = p.require(Role::Bidder)?;
    let o = operator::Entity::find_by_id(op)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("operator"))?;
    Ok(Json(operator_view(o)))
}

// ---------------------------------------------------------------- bids

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BidContent {
    /// Ribasso percentage, exact decimal string (`"12.345"`), for discount-based tenders.
    pub declared_discount: Option<String>,
    /// Offered price in euro, decimal string.
    pub declared_price: Option<String>,
    /// The technical offer (free JSON object).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub technical: serde_json::Value,
}

struct ParsedBid {
    discount: Option<String>,
    price: Option<i64>,
    technical: String,
}

fn parse_bid(b: &BidContent) -> ApiResult<ParsedBid> {
    let discount = match &b.declared_discount {
        Some(d) => Some(
            validate::percent(
                "declared_discount",
                d,
                Decimal::ZERO,
                Decimal::from(100) - Decimal::new(1, 6),
            )?
            .to_string(),
        ),
        None => None,
    };
    let price = match &b.declared_price {
        Some(p) => Some(validate::euro_cents("declared_price", p)?),
        None => None,
    };
    if discount.is_none() && price.is_none() {
        return Err(AppError::bad(
            "declared_discount",
            "declared_discount: a bid declares a discount or a price",
        ));
    }
    let technical = match &b.technical {
        serde_json::Value::Null => "{}".to_owned(),
        v @ serde_json::Value::Object(_) => v.to_string(),
        _ => return Err(AppError::bad("technical", "technical: must be an object")),
    };
    Ok(ParsedBid {
        discount,
        price,
        technical,
    })
}

/// The server clock decides: after the deadline nothing is accepted, whatever the scheduler did.
fn check_open(t: &tender::Model, now: DateTime<Utc>) -> ApiResult<()> {
    let deadline = t
        .deadline
        .ok_or_else(|| AppError::conflict("lex specialis", "the tender has no offer deadline"))?;
    if now > deadline {
        return Err(AppError::conflict(
            "offer deadline",
            format!("the offer deadline passed at {deadline}"),
        ));
    }
    if !machines::accepts_bids(&t.state) {
        return Err(AppError::conflict(
            "offer deadline",
            format!("the tender is {} and accepts no bids", t.state),
        ));
    }
    Ok(())
}

/// Submit a bid on a lot (bidder), before the deadline. One live bid per operator and lot.
#[utoipa::path(post, path = "/v1/lots/{id}/bids", tag = "bidders", security(("bearer" = [])),
    request_body = BidContent,
    responses((status = 201, body = BidView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn submit_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(lot_id): Path<Uuid>,
    ApiJson(b): ApiJson<BidContent>,
) -> ApiResult<(StatusCode, Json<BidView>)> {
    let op = p.require(Role::Bidder)?;
    let parsed = parse_bid(&b)?;
    let now = st.now();
    let w = st.db.write().await?;
    let l = lot::Entity::find_by_id(lot_id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let (t, _) = access_tender(&w.txn, Some(&p), l.tender_id)
        .await
        .map_err(|_| AppError::NotFound("lot"))?;
    check_open(&t, now)?;
    let existing = bid::Entity::find()
        .filter(bid::Column::LotId.eq(lot_id))
        .filter(bid::Column::OperatorId.eq(op))
        .filter(bid::Column::State.ne("withdrawn"))
        .one(&w.txn)
        .await?;
    if existing.is_some() {
        return Err(AppError::conflict(
            "bid.unique",
            "you already have a bid on this lot: replace or withdraw it",
        ));
    }
    let applied = machines::apply_participation(
        &t,
        &l,
        machines::PARTICIPATION_INITIAL,
        None,
        op,
        "submit",
        &Declarations::default(),
        now,
    )?;
    let row = bid::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(t.id),
        lot_id: Set(lot_id),
        operator_id: Set(op),
        state: Set(applied.to.clone()),
        declared_discount: Set(parsed.discount),
        declared_price_cents: Set(parsed.price),
        technical_json: Set(parsed.technical),
        tech_score: Set(None),
        soccorso_due: Set(None),
        exclusion_reason: Set(None),
        submitted_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    // The audit entry records the submission, never the sealed content: only its digest.
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "bid.submit",
            object_kind: "bid",
            object_id: row.id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "lot_id": lot_id, "state": row.state, "content_sha256": content_digest(&row),
            })),
        },
    )
    .await?;
    enqueue_receipt(&w.txn, &st, &t, &row, now).await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(bid_view(&row, &l.state, true))))
}

fn mailbox(o: &operator::Model) -> ApiResult<notify::Mailbox> {
    let addr = o
        .pec
        .parse()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored PEC {:?}: {e}", o.pec)))?;
    Ok(notify::Mailbox::new(Some(o.name.clone()), addr))
}

fn outbox_err(e: notify::Error) -> AppError {
    AppError::Internal(anyhow::anyhow!("mail outbox: {e}"))
}

/// The bid receipt, enqueued in the transaction of the submission (sent after commit, never lost).
async fn enqueue_receipt<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    t: &tender::Model,
    b: &bid::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(o) = operator::Entity::find_by_id(b.operator_id).one(db).await? else {
        return Ok(());
    };
    let digest = content_digest(b);
    let msg = notify::NewMessage {
        to: vec![mailbox(&o)?],
        template: notify::MailTemplate::BidReceipt,
        context: serde_json::json!({
            "recipient_name": o.name,
            "link": format!("{}/v1/bids/{}", st.settings.http.public_base_url, b.id),
            "tender_title": t.title,
            "tender_ref": t.id.to_string(),
            "received_at": now.to_rfc3339(),
            "receipt_ref": format!("{}:{}", b.id, &digest[..16]),
            "deadline": t.deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
        }),
        tender_id: Some(t.id),
        lot_id: Some(b.lot_id),
        idempotency_key: notify::IdempotencyKey::new(format!("bid_receipt:{}:{digest}", b.id))
            .map_err(outbox_err)?,
        now,
    };
    notify::enqueue(db, msg).await.map_err(outbox_err)?;
    Ok(())
}

fn content_digest(b: &bid::Model) -> String {
    use sha2::{Digest, Sha256};
    let s = serde_json::json!([
        b.declared_discount,
        b.declared_price_cents,
        b.technical_json
    ]);
    hex::encode(Sha256::digest(s.to_string().as_bytes()))
}

/// The calling bidder's own bids.
#[utoipa::path(get, path = "/v1/bids", tag = "bidders", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<BidView>), (status = 403, body = Problem)))]
async fn list_my_bids(
    State(st): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<BidView>>> {
    let op = p.require(Role::Bidder)?;
    let (page, per_page) = q.resolve()?;
    let pages = bid::Entity::find()
        .filter(bid::Column::OperatorId.eq(op))
        .order_by_desc(bid::Column::SubmittedAt)
        .paginate(&st.db.conn, per_page);
    let total = pages.num_items().await?;
    let items = pages
        .fetch_page(page - 1)
        .await?
        .iter()
        .map(|b| bid_view(b, "", true))
        .collect();
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// One bid: its owner sees it all; the tender's staff see only the envelopes already opened;
/// anyone else gets 404.
#[utoipa::path(get, path = "/v1/bids/{id}", tag = "bidders", security(("bearer" = [])),
    responses((status = 200, body = BidView), (status = 404, body = Problem)))]
async fn get_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<BidView>> {
    let b = bid::Entity::find_by_id(id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    if p.role == Role::Bidder {
        if p.org == Some(b.operator_id) {
            return Ok(Json(bid_view(&b, "", true)));
        }
        return Err(AppError::NotFound("bid"));
    }
    let (_, a) = access_tender(&st.db.conn, Some(&p), b.tender_id)
        .await
        .map_err(|_| AppError::NotFound("bid"))?;
    if a == Access::Public {
        return Err(AppError::NotFound("bid"));
    }
    let l = lot::Entity::find_by_id(b.lot_id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let ls = if b.state == "withdrawn" {
        "pending"
    } else {
        &l.state
    };
    Ok(Json(bid_view(&b, ls, false)))
}

async fn own_bid<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> ApiResult<(tender::Model, lot::Model, bid::Model)> {
    let op = p.require(Role::Bidder)?;
    let b = bid::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|b| b.operator_id == op)
        .ok_or(AppError::NotFound("bid"))?;
    let t = tender::Entity::find_by_id(b.tender_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let l = lot::Entity::find_by_id(b.lot_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    Ok((t, l, b))
}

/// Replace the content of one's bid before the deadline (bidder).
#[utoipa::path(put, path = "/v1/bids/{id}", tag = "bidders", security(("bearer" = [])),
    request_body = BidContent,
    responses((status = 200, body = BidView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<BidContent>,
) -> ApiResult<Json<BidView>> {
    let parsed = parse_bid(&b)?;
    let now = st.now();
    let w = st.db.write().await?;
    let (t, l, bd) = own_bid(&w.txn, &p, id).await?;
    check_open(&t, now)?;
    let applied = machines::apply_participation(
        &t,
        &l,
        &bd.state,
        None,
        bd.operator_id,
        "replace",
        &Declarations::default(),
        now,
    )?;
    let before = content_digest(&bd);
    let mut am = bd.into_active_model();
    am.state = Set(applied.to);
    am.declared_discount = Set(parsed.discount);
    am.declared_price_cents = Set(parsed.price);
    am.technical_json = Set(parsed.technical);
    am.updated_at = Set(now);
    let bd = am.update(&w.txn).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "bid.replace",
            object_kind: "bid",
            object_id: id.to_string(),
            before: Some(serde_json::json!({"content_sha256": before})),
            after: Some(serde_json::json!({"content_sha256": content_digest(&bd)})),
        },
    )
    .await?;
    enqueue_receipt(&w.txn, &st, &t, &bd, now).await?;
    w.commit().await?;
    Ok(Json(bid_view(&bd, &l.state, true)))
}

/// Withdraw one's bid before the deadline (bidder).
#[utoipa::path(post, path = "/v1/bids/{id}/withdraw", tag = "bidders", security(("bearer" = [])),
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TransitionView>> {
    let now = st.now();
    let w = st.db.write().await?;
    let (t, l, bd) = own_bid(&w.txn, &p, id).await?;
    check_open(&t, now)?;
    let input = EventInput {
        event: "withdraw".into(),
        bid_id: None,
        declarations: Declarations::default(),
    };
    let applied = tenders::run_bid_event(&w.txn, &p.actor(), &t, &l, bd, &input, now).await?;
    w.commit().await?;
    Ok(Json(TransitionView::from(&applied)))
}

// ---------------------------------------------------------------- clarifications

#[derive(Deserialize, ToSchema)]
pub struct NewQuestion {
    pub question: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ClarificationView {
    pub id: Uuid,
    pub tender_id: Uuid,
    pub question: String,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Whether the caller asked it (the asker's identity is never shown to others).
    pub mine: bool,
}

fn clar_view(c: clarification::Model, me: Option<Uuid>) -> ClarificationView {
    ClarificationView {
        id: c.id,
        tender_id: c.tender_id,
        question: c.question,
        answer: c.answer,
        answered_at: c.answered_at,
        created_at: c.created_at,
        mine: me == Some(c.operator_id),
    }
}

/// Ask a clarification on a published tender (bidder).
#[utoipa::path(post, path = "/v1/tenders/{id}/clarifications", tag = "bidders", security(("bearer" = [])),
    request_body = NewQuestion,
    responses((status = 201, body = ClarificationView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn ask_clarification(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<NewQuestion>,
) -> ApiResult<(StatusCode, Json<ClarificationView>)> {
    let op = p.require(Role::Bidder)?;
    let question = validate::non_empty("question", &b.question, 10000)?;
    let now = st.now();
    let w = st.db.write().await?;
    let (t, _) = access_tender(&w.txn, Some(&p), id).await?;
    if !matches!(t.state.as_str(), "open" | "requests_open") {
        return Err(AppError::conflict(
            "art. 88 c.3",
            format!(
                "clarifications are asked while the tender is open (it is {})",
                t.state
            ),
        ));
    }
    let c = clarification::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(id),
        operator_id: Set(op),
        question: Set(question),
        answer: Set(None),
        answered_at: Set(None),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "clarification.ask",
            object_kind: "clarification",
            object_id: c.id.to_string(),
            before: None,
            after: Some(serde_json::json!({"tender_id": id, "question": c.question})),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(clar_view(c, Some(op)))))
}

/// Clarifications of a tender: answered ones are public; a bidder also sees its own pending questions;
/// the tender's staff see all.
#[utoipa::path(get, path = "/v1/tenders/{id}/clarifications", tag = "bidders",
    responses((status = 200, body = Vec<ClarificationView>), (status = 404, body = Problem)))]
async fn list_clarifications(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<ClarificationView>>> {
    let (_, a) = access_tender(&st.db.conn, p.as_ref(), id).await?;
    let me = p
        .as_ref()
        .filter(|p| p.role == Role::Bidder)
        .and_then(|p| p.org);
    let rows = clarification::Entity::find()
        .filter(clarification::Column::TenderId.eq(id))
        .order_by_asc(clarification::Column::CreatedAt)
        .all(&st.db.conn)
        .await?;
    Ok(Json(
        rows.into_iter()
            .filter(|c| a != Access::Public || c.answer.is_some() || me == Some(c.operator_id))
            .map(|c| clar_view(c, me))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NewAnswer {
    pub answer: String,
}

/// Answer a clarification (buyer); the answer becomes public. Goes through the tender machine's
/// `answer_clarification` (art. 88 c.3: not later than 6 days before the deadline, 4 if urgent).
#[utoipa::path(post, path = "/v1/clarifications/{id}/answer", tag = "tenders", security(("bearer" = [])),
    request_body = NewAnswer,
    responses((status = 200, body = ClarificationView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn answer_clarification(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<NewAnswer>,
) -> ApiResult<Json<ClarificationView>> {
    let answer = validate::non_empty("answer", &b.answer, 20000)?;
    let now = st.now();
    let w = st.db.write().await?;
    let c = clarification::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("clarification"))?;
    let t = tenders::manage_tender(&w.txn, &p, c.tender_id)
        .await
        .map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("clarification"),
            e => e,
        })?;
    if c.answer.is_some() {
        return Err(AppError::conflict(
            "clarification.answer",
            "already answered",
        ));
    }
    let input = EventInput {
        event: "answer_clarification".into(),
        bid_id: None,
        declarations: Declarations::default(),
    };
    let (tender_title, tender_deadline) = (t.title.clone(), t.deadline);
    tenders::run_tender_event(&w.txn, &p.actor(), t, &input, now).await?;
    let mut am = c.into_active_model();
    am.answer = Set(Some(answer));
    am.answered_at = Set(Some(now));
    let c = am.update(&w.txn).await?;
    // the asker is told the answer is published (art. 88 c.3); the answer itself is public
    if let Some(o) = operator::Entity::find_by_id(c.operator_id)
        .one(&w.txn)
        .await?
    {
        let msg = notify::NewMessage {
            to: vec![mailbox(&o)?],
            template: notify::MailTemplate::ClarificationAnswered,
            context: serde_json::json!({
                "recipient_name": o.name,
                "link": format!("{}/v1/tenders/{}/clarifications", st.settings.http.public_base_url, c.tender_id),
                "tender_title": tender_title,
                "tender_ref": c.tender_id.to_string(),
                "answered_at": now.to_rfc3339(),
                "deadline": tender_deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
            }),
            tender_id: Some(c.tender_id),
            lot_id: None,
            idempotency_key: notify::IdempotencyKey::new(format!(
                "clarification_answered:{}",
                c.id
            ))
            .map_err(outbox_err)?,
            now,
        };
        notify::enqueue(&w.txn, msg).await.map_err(outbox_err)?;
    }
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "clarification.answer",
            object_kind: "clarification",
            object_id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({"answer": c.answer})),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(clar_view(c, None)))
}
