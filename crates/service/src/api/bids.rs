//! Economic operators (bidders): registration, bids (submit, replace, withdraw before the deadline),
//! clarifications (questions from bidders, answers public to all).

use super::idempotency::{Idempotency, IdempotentJson, Replayed};
use super::tenders::{BidView, TransitionView, bid_view, visible_envelopes};
use crate::input as validate;
use crate::{
    audit,
    auth::{self, MaybePrincipal, Principal, Role},
    db::entities::{bid, clarification, lot, operator, tender},
    error::{ApiJson, ApiResult, AppError, Page, PageQuery, Problem},
    sealed,
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use lifecycle::{
    AwardCriterion,
    lot::OpenEnvelopes,
    participation::{ParticipationEvent, ParticipationState},
    tender::TenderEvent,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::access::{Access, access_tender};
use workflow::store::Scope;
use workflow::store::entities::EnvelopeState;
use workflow::transition::{self as machines, Declarations, EventInput};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_operator))
        .routes(routes!(me))
        .routes(routes!(submit_bid))
        .routes(routes!(list_my_bids))
        .routes(routes!(get_bid, replace_bid))
        .routes(routes!(withdraw_bid))
        .routes(routes!(bid_envelopes))
        .routes(routes!(open_envelope))
        .routes(routes!(receipt_keys))
        .routes(routes!(ask_clarification, list_clarifications))
        .routes(routes!(answer_clarification))
}

// ---------------------------------------------------------------- operators

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
    let w = st.db.write(Scope::Platform).await?;
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
    let (_, token) = auth::issue(
        &w.txn,
        Role::Bidder,
        Some(o.id),
        "registration",
        now,
        crate::tokens::default_expiry(&st.settings.tokens, now),
    )
    .await?;
    let view = operator_view(o);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Platform,
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
    /// Offered price in euro, decimal string: the price of the part subject to the ribasso (the lot's
    /// labour and safety costs are added to it for the award amount, art. 41 c.14).
    pub declared_price: Option<String>,
    /// The operator's own labour costs in euro (art. 108 c.9), sealed in busta C with the ribasso or price;
    /// required where the lot has labour costs.
    pub declared_labour_costs: Option<String>,
    /// The technical offer (free JSON object): sealed in busta B.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub technical: serde_json::Value,
    /// Administrative declarations (free JSON object, e.g. DGUE data): sealed in busta A.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub administrative: serde_json::Value,
}

struct ParsedBid {
    discount: Option<String>,
    price: Option<i64>,
    labour_costs: Option<i64>,
    technical: serde_json::Value,
    administrative: serde_json::Value,
}

impl ParsedBid {
    /// The envelopes of this bid: A always, B for quality-price tenders (or when a technical offer is
    /// given), C always. Nothing of this is stored in clear.
    fn envelopes(self, t: &tender::Model) -> Vec<sealed::EnvelopeData> {
        use sealing::EnvelopeKind;
        let mut v = vec![sealed::EnvelopeData {
            kind: EnvelopeKind::Administrative,
            data: serde_json::json!({"administrative": self.administrative}),
        }];
        let has_tech = self.technical.as_object().is_some_and(|o| !o.is_empty());
        if has_tech || t.criterion != AwardCriterion::LowestPrice {
            v.push(sealed::EnvelopeData {
                kind: EnvelopeKind::Technical,
                data: serde_json::json!({"technical": self.technical}),
            });
        }
        v.push(sealed::EnvelopeData {
            kind: EnvelopeKind::Economic,
            data: serde_json::json!({
                "declared_discount": self.discount, "declared_price_cents": self.price,
                "declared_labour_costs_cents": self.labour_costs,
            }),
        });
        v
    }
}

/// A bid as just submitted or replaced, with its signed receipt.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BidReceipted {
    #[serde(flatten)]
    pub bid: BidView,
    /// The signed receipt (`sua-receipt/1`, docs/sealing.md §4); verify it with `sua receipt verify`.
    #[schema(value_type = Object)]
    pub receipt: serde_json::Value,
}

/// A withdrawal, with its signed receipt.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WithdrawalReceipted {
    #[serde(flatten)]
    pub transition: TransitionView,
    #[schema(value_type = Object)]
    pub receipt: serde_json::Value,
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
    let object = |field: &str, v: &serde_json::Value| match v {
        serde_json::Value::Null => Ok(serde_json::json!({})),
        v @ serde_json::Value::Object(_) => Ok(v.clone()),
        _ => Err(AppError::bad(field, format!("{field}: must be an object"))),
    };
    let labour_costs = match &b.declared_labour_costs {
        Some(c) => Some(validate::euro_cents("declared_labour_costs", c)?),
        None => None,
    };
    Ok(ParsedBid {
        discount,
        price,
        labour_costs,
        technical: object("technical", &b.technical)?,
        administrative: object("administrative", &b.administrative)?,
    })
}

/// Art. 108 c.9: where the lot has labour costs, the economic offer states the operator's own (à pena di
/// esclusione); a bid without them is refused at the door, naming the field.
fn check_labour_costs(l: &lot::Model, declared: Option<i64>) -> ApiResult<()> {
    if l.labour_costs_cents > 0 && declared.is_none() {
        return Err(AppError::bad(
            "declared_labour_costs",
            "declared_labour_costs: art. 108 c.9: the economic offer states the operator's own labour costs \
             (the lot has labour costs)",
        ));
    }
    Ok(())
}

/// The server clock decides: at or after the deadline nothing is accepted, whatever the scheduler did.
fn check_open(t: &tender::Model, now: DateTime<Utc>) -> ApiResult<()> {
    let deadline = t
        .deadline
        .ok_or_else(|| AppError::conflict("lex specialis", "the tender has no offer deadline"))?;
    if !lifecycle::participation::offers_open(deadline, now) {
        return Err(AppError::conflict(
            "offer deadline",
            format!("the offer deadline passed at {deadline}"),
        ));
    }
    if !t.state.accepts_bids() {
        return Err(AppError::conflict(
            "offer deadline",
            format!("the tender is {} and accepts no bids", t.state),
        ));
    }
    Ok(())
}

/// Submit a bid on a lot (bidder), before the deadline. One live bid per operator and lot.
#[utoipa::path(post, path = "/v1/lots/{id}/bids", tag = "bidders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and body returns the first answer (the same receipt) without a second effect; the same key with another body is refused (422).")),
    request_body = BidContent,
    responses((status = 201, body = BidReceipted), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn submit_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(lot_id): Path<Uuid>,
    IdempotentJson(idem, b): IdempotentJson<BidContent>,
) -> ApiResult<(StatusCode, Json<BidReceipted>)> {
    let op = p.require(Role::Bidder)?;
    let parsed = parse_bid(&b)?;
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let now = st.now();
    // Before the act takes its Province's writer, and so outside the one serialised section of a
    // deadline rush: what a published tender never changes (the lot's tender and its Province, the
    // award criterion that decides the envelopes, the operator's identity) and the sealing, the act's
    // costliest part. Everything the act decides on is read again inside it.
    let pre_lot = lot::Entity::find_by_id(lot_id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let pre_tender = tender::Entity::find_by_id(pre_lot.tender_id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let o = operator::Entity::find_by_id(op)
        .one(&st.db.conn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bidder token without operator {op}")))?;
    let bid_id = Uuid::now_v7();
    let criterion = pre_tender.criterion;
    let declared_labour_costs = parsed.labour_costs;
    let sealed_envelopes = sealed::seal_envelopes(
        &keys,
        pre_tender.id,
        lot_id,
        bid_id,
        1,
        parsed.envelopes(&pre_tender),
        now,
    )?;
    let w = st.db.write(Scope::Province(pre_tender.province_id)).await?;
    let w = match idem.replay_in(w, &p).await? {
        Replayed::Answer(status, first) => return Ok((status, Json(first))),
        Replayed::Run(w) => w,
    };
    let l = lot::Entity::find_by_id(lot_id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let (t, _) = access_tender(&w.txn, Some(&p), l.tender_id)
        .await
        .map_err(super::hidden_as("lot"))?;
    check_open(&t, now)?;
    if t.criterion != criterion {
        return Err(AppError::conflict(
            "tender.criterion",
            "the tender's award criterion changed while the bid was being sealed: submit it again",
        ));
    }
    check_labour_costs(&l, declared_labour_costs)?;
    let existing = bid::Entity::find()
        .filter(bid::Column::LotId.eq(lot_id))
        .filter(bid::Column::OperatorId.eq(op))
        .filter(bid::Column::State.ne(ParticipationState::Withdrawn.as_str()))
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
        ParticipationState::INITIAL,
        None,
        op,
        ParticipationEvent::Submit,
        &Declarations::default(),
        now,
    )?;
    let row = bid::ActiveModel {
        id: Set(bid_id),
        tender_id: Set(t.id),
        lot_id: Set(lot_id),
        operator_id: Set(op),
        state: Set(applied.to.into()),
        // sealed: filled in only when the envelope holding them is opened
        declared_discount: Set(None),
        declared_price_cents: Set(None),
        declared_labour_costs_cents: Set(None),
        technical_json: Set("{}".into()),
        tech_score: Set(None),
        soccorso_due: Set(None),
        exclusion_reason: Set(None),
        submitted_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let receipt = sealed::store_first_version(
        &w.txn,
        &keys,
        &row,
        &o.codice_fiscale,
        t.province_id,
        sealed_envelopes,
        now,
    )
    .await?;
    // The audit entry records the submission, never the sealed content: only its commitments.
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "bid.submit",
            object_kind: "bid",
            object_id: row.id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "lot_id": lot_id, "state": row.state, "version": receipt.version,
                "commitments": receipt.commitments, "receipt_sequence": receipt.sequence,
            })),
        },
    )
    .await?;
    enqueue_receipt(&w.txn, &st, &t, &row, &o, &receipt, now).await?;
    let answer = BidReceipted {
        bid: bid_view(&row, OpenEnvelopes::ALL),
        receipt: receipt.value(),
    };
    idem.record(&w.txn, &p, StatusCode::CREATED, &answer, now)
        .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn bid_operator<C: ConnectionTrait>(db: &C, b: &bid::Model) -> ApiResult<operator::Model> {
    operator::Entity::find_by_id(b.operator_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bid {} has no operator", b.id)))
}

fn mailbox(o: &operator::Model) -> ApiResult<notify::Mailbox> {
    let addr = o
        .pec
        .parse()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored PEC {:?}: {e}", o.pec)))?;
    Ok(notify::Mailbox::new(Some(o.name.clone()), addr))
}

/// A file was added to version `version` of bid `b` (called by the upload handler inside its write
/// transaction, after the `bid_file` row): signs the `file_upload` receipt listing every file of the
/// version (`sealed::file_receipt`) and enqueues it to the bidder's PEC like any other receipt.
pub(crate) async fn file_upload_receipt<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    t: &tender::Model,
    b: &bid::Model,
    version: i32,
    now: DateTime<Utc>,
) -> ApiResult<sealed::StoredReceipt> {
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let o = bid_operator(db, b).await?;
    let receipt = sealed::file_receipt(db, &keys, b, &o.codice_fiscale, version, now).await?;
    enqueue_receipt(db, st, t, b, &o, &receipt, now).await?;
    Ok(receipt)
}

/// Italian label of an envelope kind, for the receipt mail.
fn busta(kind: &str) -> &'static str {
    match kind {
        "administrative" => "A (documentazione amministrativa)",
        "technical" => "B (offerta tecnica)",
        _ => "C (offerta economica)",
    }
}

/// The files a signed receipt lists, flattened for the mail template (`files`): envelope, name, media
/// type, size, SHA-256, in receipt order.
fn receipt_files(receipt: &serde_json::Value) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for e in receipt["receipt"]["envelopes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for f in e["files"].as_array().into_iter().flatten() {
            out.push(serde_json::json!({
                "envelope": busta(e["kind"].as_str().unwrap_or_default()),
                "name": f["name"], "media_type": f["media_type"],
                "size": f["size"], "sha256": f["sha256"],
            }));
        }
    }
    out
}

/// The bid receipt, enqueued in the transaction of the submission (sent after commit, never lost). The
/// message carries the receipt number, the envelope commitments and every file the receipt lists (name,
/// size, SHA-256); the signed receipt JSON is in the message context (`receipt`).
async fn enqueue_receipt<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    t: &tender::Model,
    b: &bid::Model,
    o: &operator::Model,
    receipt: &sealed::StoredReceipt,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let msg = notify::NewMessage {
        to: vec![mailbox(o)?],
        template: notify::MailTemplate::BidReceipt,
        context: serde_json::json!({
            "recipient_name": o.name,
            "link": format!("{}/v1/bids/{}", st.settings.http.public_base_url, b.id),
            "tender_title": t.title,
            "tender_ref": t.id.to_string(),
            "received_at": now.to_rfc3339(),
            "receipt_ref": receipt.sequence.to_string(),
            "bid_digest": receipt.commitments.join(", "),
            "action": receipt.value()["receipt"]["action"],
            "files": receipt_files(&receipt.value()),
            "receipt": receipt.value(),
            "deadline": t.deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
        }),
        tender_id: Some(t.id),
        lot_id: Some(b.lot_id),
        idempotency_key: notify::IdempotencyKey::new(format!(
            "bid_receipt:{}:{}",
            b.id, receipt.sequence
        ))?,
        now,
    };
    notify::enqueue(db, msg).await?;
    Ok(())
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
        .map(|b| bid_view(b, OpenEnvelopes::ALL))
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
            return Ok(Json(bid_view(&b, OpenEnvelopes::ALL)));
        }
        return Err(AppError::NotFound("bid"));
    }
    let (_, a) = access_tender(&st.db.conn, Some(&p), b.tender_id)
        .await
        .map_err(super::hidden_as("bid"))?;
    if a == Access::Public {
        return Err(AppError::NotFound("bid"));
    }
    let l = lot::Entity::find_by_id(b.lot_id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    Ok(Json(bid_view(&b, visible_envelopes(&b, Some(&l)))))
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
    responses((status = 200, body = BidReceipted), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn replace_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<BidContent>,
) -> ApiResult<Json<BidReceipted>> {
    let parsed = parse_bid(&b)?;
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "bid", id).await?;
    let w = st.db.write(scope).await?;
    let (t, l, bd) = own_bid(&w.txn, &p, id).await?;
    check_open(&t, now)?;
    check_labour_costs(&l, parsed.labour_costs)?;
    let applied = machines::apply_participation(
        &t,
        &l,
        *bd.state,
        None,
        bd.operator_id,
        ParticipationEvent::Replace,
        &Declarations::default(),
        now,
    )?;
    let mut am = bd.into_active_model();
    am.state = Set(applied.to.into());
    am.updated_at = Set(now);
    let bd = am.update(&w.txn).await?;
    let o = bid_operator(&w.txn, &bd).await?;
    let receipt = sealed::seal_version(
        &w.txn,
        &keys,
        &bd,
        &o.codice_fiscale,
        sealing::ReceiptAction::Replacement,
        parsed.envelopes(&t),
        now,
    )
    .await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "bid.replace",
            object_kind: "bid",
            object_id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "version": receipt.version, "commitments": receipt.commitments,
                "receipt_sequence": receipt.sequence,
            })),
        },
    )
    .await?;
    enqueue_receipt(&w.txn, &st, &t, &bd, &o, &receipt, now).await?;
    w.commit().await?;
    Ok(Json(BidReceipted {
        bid: bid_view(&bd, OpenEnvelopes::ALL),
        receipt: receipt.value(),
    }))
}

/// Withdraw one's bid before the deadline (bidder).
#[utoipa::path(post, path = "/v1/bids/{id}/withdraw", tag = "bidders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and body returns the first answer (the same receipt) without a second effect; the same key with another body is refused (422).")),
    responses((status = 200, body = WithdrawalReceipted), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw_bid(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    idem: Idempotency,
) -> ApiResult<Json<WithdrawalReceipted>> {
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "bid", id).await?;
    let w = st.db.write(scope).await?;
    let w = match idem.replay_in(w, &p).await? {
        Replayed::Answer(_, first) => return Ok(Json(first)),
        Replayed::Run(w) => w,
    };
    let (t, l, bd) = own_bid(&w.txn, &p, id).await?;
    check_open(&t, now)?;
    let input = EventInput::of(ParticipationEvent::Withdraw);
    let o = bid_operator(&w.txn, &bd).await?;
    let b_row = bd.clone();
    let applied = workflow::transition::run_bid_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        &t,
        &l,
        bd,
        &input,
        now,
    )
    .await?;
    let receipt = sealed::withdraw(&w.txn, &keys, &b_row, &o.codice_fiscale, now).await?;
    enqueue_receipt(&w.txn, &st, &t, &b_row, &o, &receipt, now).await?;
    let answer = WithdrawalReceipted {
        transition: TransitionView::from(&applied),
        receipt: receipt.value(),
    };
    idem.record(&w.txn, &p, StatusCode::OK, &answer, now)
        .await?;
    w.commit().await?;
    Ok(Json(answer))
}

// ---------------------------------------------------------------- sealed envelopes and receipts

#[derive(Serialize, Deserialize, ToSchema)]
pub struct EnvelopeView {
    /// `administrative`, `technical` or `economic`.
    pub kind: String,
    pub version: i32,
    /// `submitted` (counts), `superseded` or `withdrawn` (never opened).
    pub state: String,
    /// Hex SHA-256 of the sealed envelope (as on the receipt).
    pub commitment: String,
    pub opened_at: Option<DateTime<Utc>>,
    /// The envelope's content: null until it is opened.
    #[schema(value_type = Option<Object>)]
    pub content: Option<serde_json::Value>,
    /// Set when the envelope failed its integrity checks at opening.
    pub integrity_error: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BidEnvelopes {
    pub bid_id: Uuid,
    pub envelopes: Vec<EnvelopeView>,
    /// The bid's signed receipts (shown to its owner only).
    #[schema(value_type = Vec<Object>)]
    pub receipts: Vec<serde_json::Value>,
}

fn envelope_view(e: sealed::bid_envelope::Model) -> EnvelopeView {
    EnvelopeView {
        content: e
            .opened_at
            .and(e.opened_json.as_deref())
            .and_then(|s| serde_json::from_str(s).ok()),
        kind: e.kind,
        version: e.version,
        state: e.state,
        commitment: e.commitment,
        opened_at: e.opened_at,
        integrity_error: e.open_error,
    }
}

/// The sealed envelopes of a bid: the owner sees every version and its receipts; the tender's staff see
/// the envelopes that count, with content only once opened; anyone else gets 404.
#[utoipa::path(get, path = "/v1/bids/{id}/envelopes", tag = "bidders", security(("bearer" = [])),
    responses((status = 200, body = BidEnvelopes), (status = 404, body = Problem)))]
async fn bid_envelopes(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<BidEnvelopes>> {
    let (_, owner) = workflow::access::read_bid(&st.db.conn, &p, id).await?;
    let mut q = sealed::bid_envelope::Entity::find()
        .filter(sealed::bid_envelope::Column::BidId.eq(id))
        .order_by_asc(sealed::bid_envelope::Column::Version)
        .order_by_asc(sealed::bid_envelope::Column::Kind);
    if !owner {
        q = q.filter(sealed::bid_envelope::Column::State.eq(EnvelopeState::Submitted.as_str()));
    }
    let envelopes = q
        .all(&st.db.conn)
        .await?
        .into_iter()
        .map(envelope_view)
        .collect();
    let receipts = if owner {
        sealed::bid_receipt::Entity::find()
            .filter(sealed::bid_receipt::Column::BidId.eq(id))
            .order_by_asc(sealed::bid_receipt::Column::Sequence)
            .all(&st.db.conn)
            .await?
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.json).ok())
            .collect()
    } else {
        vec![]
    };
    Ok(Json(BidEnvelopes {
        bid_id: id,
        envelopes,
        receipts,
    }))
}

/// Open one envelope of a bid now (buyer of the tender), if the lot's phase and the opening order allow
/// it; 409 names the rule otherwise. Every opening, and every integrity failure, is an audit entry.
/// (Lot and bid events open the due envelopes by themselves; this is the explicit, per-envelope form.)
#[utoipa::path(post, path = "/v1/bids/{id}/envelopes/{kind}/open", tag = "tenders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("kind" = inline(crate::api::EnvelopeKind), Path)),
    responses((status = 200, body = EnvelopeView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn open_envelope(
    State(st): State<AppState>,
    p: Principal,
    Path((id, kind)): Path<(Uuid, String)>,
) -> ApiResult<Json<EnvelopeView>> {
    let kind = sealed::parse_kind("kind", &kind)?;
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "bid", id).await?;
    let w = st.db.write(scope).await?;
    let b = bid::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let t = workflow::access::manage_tender(&w.txn, &p, b.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("bid"),
            e => e.into(),
        })?;
    let l = lot::Entity::find_by_id(b.lot_id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let env = sealed::bid_envelope::Entity::find()
        .filter(sealed::bid_envelope::Column::BidId.eq(id))
        .filter(sealed::bid_envelope::Column::Kind.eq(sealed::kind_name(kind)))
        .order_by_desc(sealed::bid_envelope::Column::Version)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("envelope"))?;
    let env_id = env.id;
    let outcome = sealed::try_open(&w.txn, &keys, &p.actor(), &t, &l, &b, env, now).await?;
    // commit first: the audit entries of an opening or of an integrity failure must stay
    w.commit().await?;
    match outcome {
        sealed::OpenOutcome::Opened(_) => {
            let env = sealed::bid_envelope::Entity::find_by_id(env_id)
                .one(&st.db.conn)
                .await?
                .ok_or(AppError::NotFound("envelope"))?;
            Ok(Json(envelope_view(env)))
        }
        sealed::OpenOutcome::Refused { rule, detail } => Err(AppError::conflict(rule, detail)),
        sealed::OpenOutcome::IntegrityFailure(msg) => Err(AppError::conflict(
            "envelope integrity",
            format!("{kind} failed its integrity check and was not opened: {msg}"),
        )),
    }
}

/// The platform's receipt-signing public keys as a JWK Set (RFC 8037, `kid` = the receipt's `key_id`).
/// Save it and run `sua receipt verify RECEIPT.json --key sua-receipt-keys.json`.
#[utoipa::path(get, path = "/.well-known/sua-receipt-keys.json", tag = "bidders",
    responses((status = 200, body = Object, content_type = "application/jwk-set+json")))]
async fn receipt_keys(
    State(st): State<AppState>,
) -> ApiResult<([(axum::http::HeaderName, &'static str); 1], String)> {
    let keys = sealed::service_keys(&st.settings.sealing)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/jwk-set+json")],
        sealing::jwks(&keys.published),
    ))
}

// ---------------------------------------------------------------- clarifications

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
    let scope = super::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let (t, _) = access_tender(&w.txn, Some(&p), id).await?;
    if !t.state.takes_clarification_questions() {
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
            chain: Scope::Province(t.province_id),
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
#[serde(deny_unknown_fields)]
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
    let scope = super::scope_of(&st.db, "clarification", id).await?;
    let w = st.db.write(scope).await?;
    let c = clarification::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("clarification"))?;
    let t = workflow::access::manage_tender(&w.txn, &p, c.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("clarification"),
            e => e.into(),
        })?;
    if c.answer.is_some() {
        return Err(AppError::conflict(
            "clarification.answer",
            "already answered",
        ));
    }
    let input = EventInput::of(TenderEvent::AnswerClarification);
    let (tender_title, tender_deadline) = (t.title.clone(), t.deadline);
    workflow::transition::run_tender_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        st.settings.sua.qualification,
        t,
        &input,
        now,
    )
    .await?;
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
            ))?,
            now,
        };
        notify::enqueue(&w.txn, msg).await?;
    }
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::of_tender(&w.txn, c.tender_id).await?,
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
