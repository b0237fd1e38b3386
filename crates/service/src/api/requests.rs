//! Municipality procurement requests: submit, attach documents, follow, exchange questions and answers with
//! the SUA, withdraw; and the SUA buyer's review (accept into a tender, return with questions, reject).
//!
//! Request statuses: `submitted` → `returned` (questions pending) → `submitted` (answered) →
//! `accepted` (a draft tender exists) | `rejected` | `withdrawn`.
//!
//! Mails to the municipality's PEC (`workflow::mails::enqueue_request_mail`), in the transaction of the
//! change: submitted → `request_received`, accepted → `request_accepted` (listed with the new tender),
//! returned → `request_returned` (with the questions), rejected → `request_rejected`. Not mailed: the
//! municipality's answer that resubmits a request, a withdrawal, and the thread's other messages. A
//! municipality without a PEC gets no mail; the change still commits and the skip is logged.

use crate::input as validate;
use crate::{
    audit,
    auth::{Principal, Role},
    db::entities::{lot, municipality, procurement_request as req, request_message, tender},
    error::{ApiJson, ApiResult, AppError, Page, PageQuery, Problem},
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use lifecycle::{
    Transition,
    lot::LotState,
    request::{self, RequestActor, RequestEvent as Ev, RequestFacts, RequestState},
    tender::TenderState,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::WorkflowError;
use workflow::mails::RequestEvent;
use workflow::store::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_request, list_requests))
        .routes(routes!(get_request))
        .routes(routes!(withdraw_request))
        .routes(routes!(add_message, list_messages))
        .routes(routes!(accept_request))
        .routes(routes!(return_request))
        .routes(routes!(reject_request))
}

pub const CONTRACT_TYPES: &[&str] = &["works", "services", "supplies"];
pub const CRITERIA: &[&str] = &["lowest_price", "quality_price", "best_quality_price"];

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct RequestLot {
    pub title: String,
    /// Estimated amount in euro, decimal string (`"100000.00"`).
    pub estimated_amount: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    pub object: String,
    /// works, services or supplies.
    pub contract_type: String,
    pub cpv: String,
    pub cup: Option<String>,
    /// Euro, decimal string.
    pub estimated_amount: String,
    #[serde(default)]
    pub lots: Vec<RequestLot>,
    /// The Comune's RUP (name).
    pub rup: String,
    pub funding_source: String,
    /// lowest_price or best_quality_price.
    pub desired_criterion: String,
    pub desired_timing: Option<String>,
}

fn keep<T>(errors: &mut Vec<AppError>, r: ApiResult<T>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

/// A new request's fields, checked with the domain types.
pub struct CheckedRequest {
    pub object: String,
    pub contract_type: String,
    pub cpv: domain::ids::Cpv,
    pub cup: Option<workflow::store::Stored<domain::ids::Cup>>,
    pub amount: i64,
    pub rup: String,
    pub funding: String,
    pub criterion: String,
}

/// Check every field of a new request (the API answers the first refusal; the console shows each next to
/// its field). Never empty on `Err`.
pub fn check_new_request(b: &NewRequest) -> Result<CheckedRequest, Vec<AppError>> {
    let mut errors = Vec::new();
    let object = keep(&mut errors, validate::non_empty("object", &b.object, 2000));
    let contract_type = keep(
        &mut errors,
        validate::one_of("contract_type", &b.contract_type, CONTRACT_TYPES),
    );
    let cpv = keep(&mut errors, validate::id::<domain::ids::Cpv>("cpv", &b.cpv));
    let cup = match b.cup.as_deref() {
        Some(c) => keep(&mut errors, validate::id::<domain::ids::Cup>("cup", c))
            .map(|c| Some(workflow::store::Stored(c))),
        None => Some(None),
    };
    let amount = keep(
        &mut errors,
        validate::euro_cents("estimated_amount", &b.estimated_amount).and_then(|a| {
            if a == 0 {
                Err(AppError::bad(
                    "estimated_amount",
                    "estimated_amount: must be positive",
                ))
            } else {
                Ok(a)
            }
        }),
    );
    for (i, l) in b.lots.iter().enumerate() {
        keep(
            &mut errors,
            validate::non_empty(&format!("lots[{i}].title"), &l.title, 500),
        );
        keep(
            &mut errors,
            validate::euro_cents(&format!("lots[{i}].estimated_amount"), &l.estimated_amount),
        );
    }
    let rup = keep(&mut errors, validate::non_empty("rup", &b.rup, 200));
    let funding = keep(
        &mut errors,
        validate::non_empty("funding_source", &b.funding_source, 500),
    );
    let criterion = keep(
        &mut errors,
        validate::one_of("desired_criterion", &b.desired_criterion, CRITERIA),
    );
    match (
        object,
        contract_type,
        cpv,
        cup,
        amount,
        rup,
        funding,
        criterion,
    ) {
        (
            Some(object),
            Some(contract_type),
            Some(cpv),
            Some(cup),
            Some(amount),
            Some(rup),
            Some(funding),
            Some(criterion),
        ) if errors.is_empty() => Ok(CheckedRequest {
            object,
            contract_type,
            cpv,
            cup,
            amount,
            rup,
            funding,
            criterion,
        }),
        _ => Err(errors),
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    pub id: Uuid,
    pub province_id: Uuid,
    pub municipality_id: Uuid,
    pub object: String,
    pub contract_type: String,
    pub cpv: String,
    pub cup: Option<String>,
    pub estimated_amount: String,
    pub lots: Vec<RequestLot>,
    pub rup: String,
    pub funding_source: String,
    pub desired_criterion: String,
    pub desired_timing: Option<String>,
    pub status: String,
    pub tender_id: Option<Uuid>,
    pub decision_reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<req::Model> for RequestView {
    fn from(m: req::Model) -> Self {
        RequestView {
            id: m.id,
            province_id: m.province_id,
            municipality_id: m.municipality_id,
            object: m.object,
            contract_type: m.contract_type,
            cpv: m.cpv,
            cup: m.cup.map(|c| c.to_string()),
            estimated_amount: validate::cents_to_string(m.estimated_amount_cents),
            lots: serde_json::from_str(&m.lots_json).unwrap_or_default(),
            rup: m.rup,
            funding_source: m.funding_source,
            desired_criterion: m.desired_criterion,
            desired_timing: m.desired_timing,
            status: m.status.to_string(),
            tender_id: m.tender_id,
            decision_reason: m.decision_reason,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Load a request the caller may see, or 404 (existence is not leaked to other tenants).
pub(crate) async fn visible_request<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> ApiResult<req::Model> {
    let r = req::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("request"))?;
    let ok = match p.role {
        Role::PlatformAdmin => true,
        Role::Municipality => p.org == Some(r.municipality_id),
        Role::SuaBuyer => p.org == Some(r.province_id),
        _ => false,
    };
    if ok {
        Ok(r)
    } else {
        Err(AppError::NotFound("request"))
    }
}

/// Submit a procurement request (municipality users).
#[utoipa::path(post, path = "/v1/requests", tag = "requests", security(("bearer" = [])),
    request_body = NewRequest,
    responses((status = 201, body = RequestView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_request(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewRequest>,
) -> ApiResult<(StatusCode, Json<RequestView>)> {
    let comune = p.require(Role::Municipality)?;
    // the first refusal names the field (the console shows them all: `check_new_request`)
    let CheckedRequest {
        object,
        contract_type,
        cpv,
        cup,
        amount,
        rup,
        funding,
        criterion,
    } = check_new_request(&b).map_err(|mut errors| errors.remove(0))?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "municipality", comune).await?;
    let w = st.db.write(scope).await?;
    let m = municipality::Entity::find_by_id(comune)
        .one(&w.txn)
        .await?
        .ok_or(AppError::Forbidden("unknown municipality".into()))?;
    let row = req::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(m.province_id),
        municipality_id: Set(comune),
        object: Set(object),
        contract_type: Set(contract_type),
        cpv: Set(cpv.to_string()),
        cup: Set(cup),
        estimated_amount_cents: Set(amount),
        lots_json: Set(serde_json::to_string(&b.lots).unwrap_or_else(|_| "[]".into())),
        rup: Set(rup),
        funding_source: Set(funding),
        desired_criterion: Set(criterion),
        desired_timing: Set(b.desired_timing),
        status: Set(RequestState::INITIAL.into()),
        tender_id: Set(None),
        decision_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let view = RequestView::from(row.clone());
    let entry = audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(row.province_id),
            actor: &p.actor(),
            action: "request.submit",
            object_kind: "request",
            object_id: view.id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    workflow::mails::enqueue_request_mail(
        &w.txn,
        &st.settings.http.public_base_url,
        &row,
        RequestEvent::Received,
        entry.seq,
        now,
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// List requests: a municipality sees its own, a buyer its Province's, an admin all.
#[utoipa::path(get, path = "/v1/requests", tag = "requests", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<RequestView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_requests(
    State(st): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<RequestView>>> {
    let (page, per_page) = q.resolve()?;
    let mut sel = req::Entity::find();
    sel = match p.role {
        Role::PlatformAdmin => sel,
        Role::Municipality => sel.filter(req::Column::MunicipalityId.eq(p.org)),
        Role::SuaBuyer => sel.filter(req::Column::ProvinceId.eq(p.org)),
        _ => {
            return Err(AppError::Forbidden(
                "requests are for municipalities and buyers".into(),
            ));
        }
    };
    let pages = sel
        .order_by_desc(req::Column::CreatedAt)
        .paginate(&st.db.conn, per_page);
    let total = pages.num_items().await?;
    let items = pages.fetch_page(page - 1).await?;
    Ok(Json(Page {
        items: items.into_iter().map(RequestView::from).collect(),
        page,
        per_page,
        total,
    }))
}

/// One request.
#[utoipa::path(get, path = "/v1/requests/{id}", tag = "requests", security(("bearer" = [])),
    responses((status = 200, body = RequestView), (status = 404, body = Problem)))]
async fn get_request(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<RequestView>> {
    Ok(Json(visible_request(&st.db.conn, &p, id).await?.into()))
}

/// What a status change also writes in its transaction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Also {
    Nothing,
    /// Return: the reason becomes the buyer's message on the thread, and `request_returned` is mailed.
    ReturnWithQuestions,
    /// Reject: `request_rejected` is mailed with the reason.
    MailRejection,
}

/// The role that sends a request event (the machine's actor).
fn role_of(actor: RequestActor) -> Role {
    match actor {
        RequestActor::Municipality => Role::Municipality,
        RequestActor::SuaBuyer => Role::SuaBuyer,
    }
}

/// Apply a request event through the request machine; a refusal is a 409 naming the rule.
fn apply_request(
    r: &req::Model,
    event: Ev,
    reason: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Transition<RequestState>> {
    let facts = RequestFacts {
        actor: event.actor(),
        reason,
    };
    Ok(request::apply(*r.status, &event, &facts, now).map_err(WorkflowError::from)?)
}

async fn set_status(
    st: &AppState,
    p: &Principal,
    id: Uuid,
    event: Ev,
    reason: Option<String>,
    also: Also,
) -> ApiResult<RequestView> {
    p.require(role_of(event.actor()))?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "request", id).await?;
    let w = st.db.write(scope).await?;
    let r = visible_request(&w.txn, p, id).await?;
    let tr = apply_request(&r, event, reason.clone(), now)?;
    let before = RequestView::from(r.clone());
    let mut am = r.into_active_model();
    am.status = Set(tr.to.into());
    if reason.is_some() {
        am.decision_reason = Set(reason.clone());
    }
    am.updated_at = Set(now);
    let row = am.update(&w.txn).await?;
    let view = RequestView::from(row.clone());
    if also == Also::ReturnWithQuestions {
        insert_message_in(
            &w.txn,
            p,
            id,
            "sua_buyer",
            reason.as_deref().unwrap_or(""),
            now,
        )
        .await?;
    }
    let entry = audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(row.province_id),
            actor: &p.actor(),
            action: &format!("request.{event}"),
            object_kind: "request",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    let reasons = reason.as_deref().unwrap_or("");
    let mail = match also {
        Also::Nothing => None,
        Also::ReturnWithQuestions => Some(RequestEvent::Returned { reasons }),
        Also::MailRejection => Some(RequestEvent::Rejected { reasons }),
    };
    if let Some(ev) = mail {
        workflow::mails::enqueue_request_mail(
            &w.txn,
            &st.settings.http.public_base_url,
            &row,
            ev,
            entry.seq,
            now,
        )
        .await?;
    }
    w.commit().await?;
    Ok(view)
}

/// Withdraw a request before the SUA accepts it (municipality).
#[utoipa::path(post, path = "/v1/requests/{id}/withdraw", tag = "requests", security(("bearer" = [])),
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw_request(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<RequestView>> {
    set_status(&st, &p, id, Ev::Withdraw, None, Also::Nothing)
        .await
        .map(Json)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// Return a request to the municipality with questions (buyer). The reason is stored as a message and
/// mailed to the municipality (`request_returned`), in the same transaction as the status change.
#[utoipa::path(post, path = "/v1/requests/{id}/return", tag = "requests", security(("bearer" = [])),
    request_body = Reason,
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn return_request(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<Reason>,
) -> ApiResult<Json<RequestView>> {
    let reason = validate::non_empty("reason", &b.reason, 5000)?;
    let v = set_status(
        &st,
        &p,
        id,
        Ev::Return,
        Some(reason),
        Also::ReturnWithQuestions,
    )
    .await?;
    Ok(Json(v))
}

/// Reject a request with a reason (buyer); the municipality is mailed the reason (`request_rejected`).
#[utoipa::path(post, path = "/v1/requests/{id}/reject", tag = "requests", security(("bearer" = [])),
    request_body = Reason,
    responses((status = 200, body = RequestView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn reject_request(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<Reason>,
) -> ApiResult<Json<RequestView>> {
    let reason = validate::non_empty("reason", &b.reason, 5000)?;
    set_status(&st, &p, id, Ev::Reject, Some(reason), Also::MailRejection)
        .await
        .map(Json)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    pub body: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    pub author_role: String,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Store a message on a request's thread, with its audit entry, in the caller's transaction.
async fn insert_message_in<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    request_id: Uuid,
    author_role: &str,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<MessageView> {
    let m = request_message::ActiveModel {
        id: Set(Uuid::now_v7()),
        request_id: Set(request_id),
        author_role: Set(author_role.to_owned()),
        body: Set(body.to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    audit::append(
        db,
        now,
        audit::Entry {
            chain: Scope::of_request(db, request_id).await?,
            actor: &p.actor(),
            action: "request.message",
            object_kind: "request",
            object_id: request_id.to_string(),
            before: None,
            after: Some(serde_json::json!({"message": m.id, "author_role": author_role})),
        },
    )
    .await?;
    Ok(MessageView {
        id: m.id,
        author_role: m.author_role,
        body: m.body,
        created_at: m.created_at,
    })
}

/// Post a message on a request: the buyer asks, the municipality answers. A municipality's answer to a
/// returned request puts it back to `submitted`.
#[utoipa::path(post, path = "/v1/requests/{id}/messages", tag = "requests", security(("bearer" = [])),
    request_body = NewMessage,
    responses((status = 201, body = MessageView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_message(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<NewMessage>,
) -> ApiResult<(StatusCode, Json<MessageView>)> {
    let body = validate::non_empty("body", &b.body, 10000)?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "request", id).await?;
    let w = st.db.write(scope).await?;
    let r = visible_request(&w.txn, &p, id).await?;
    let role = match p.role {
        Role::Municipality => "municipality",
        Role::SuaBuyer => "sua_buyer",
        _ => {
            return Err(AppError::Forbidden(
                "only the parties exchange messages".into(),
            ));
        }
    };
    if !r.status.accepts_messages() {
        return Err(AppError::conflict(
            "request.message",
            format!("the request is {}", r.status),
        ));
    }
    let m = insert_message_in(&w.txn, &p, id, role, &body, now).await?;
    // the answer and the resubmission are one change: both or neither
    if role == "municipality" && r.status == RequestState::Returned {
        let tr = apply_request(&r, Ev::Resubmit, None, now)?;
        let before = RequestView::from(r.clone());
        let mut am = r.into_active_model();
        am.status = Set(tr.to.into());
        am.updated_at = Set(now);
        let view = RequestView::from(am.update(&w.txn).await?);
        audit::append(
            &w.txn,
            now,
            audit::Entry {
                chain: Scope::of_request(&w.txn, id).await?,
                actor: &p.actor(),
                action: &format!("request.{}", Ev::Resubmit),
                object_kind: "request",
                object_id: id.to_string(),
                before: Some(to_json(&before)),
                after: Some(to_json(&view)),
            },
        )
        .await?;
    }
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// The question/answer thread of a request.
#[utoipa::path(get, path = "/v1/requests/{id}/messages", tag = "requests", security(("bearer" = [])),
    responses((status = 200, body = Vec<MessageView>), (status = 404, body = Problem)))]
async fn list_messages(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<MessageView>>> {
    visible_request(&st.db.conn, &p, id).await?;
    let rows = request_message::Entity::find()
        .filter(request_message::Column::RequestId.eq(id))
        .order_by_asc(request_message::Column::CreatedAt)
        .all(&st.db.conn)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|m| MessageView {
                id: m.id,
                author_role: m.author_role,
                body: m.body,
                created_at: m.created_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Procedure type for the new tender (see `POST /v1/tenders`).
    pub procedure_type: String,
    /// Tender title; defaults to the request object.
    pub title: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    pub request: RequestView,
    pub tender_id: Uuid,
}

/// Accept a request into a new draft tender (buyer). The request's lots become the tender's lots.
#[utoipa::path(post, path = "/v1/requests/{id}/accept", tag = "requests", security(("bearer" = [])),
    request_body = AcceptRequest,
    responses((status = 201, body = Accepted), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn accept_request(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<AcceptRequest>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let province = p.require(Role::SuaBuyer)?;
    let procedure = workflow::transition::parse_procedure("procedure_type", &b.procedure_type)?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "request", id).await?;
    let w = st.db.write(scope).await?;
    let r = visible_request(&w.txn, &p, id).await?;
    let accepted = apply_request(&r, Ev::Accept, None, now)?;
    let tender_id = Uuid::now_v7();
    let title = match b.title {
        Some(t) => validate::non_empty("title", &t, 2000)?,
        None => r.object.clone(),
    };
    let t = tender::ActiveModel {
        id: Set(tender_id),
        province_id: Set(province),
        municipality_id: Set(Some(r.municipality_id)),
        request_id: Set(Some(r.id)),
        title: Set(title),
        contract_type: Set(r.contract_type.clone()),
        procedure_type: Set(procedure.into()),
        criterion: Set(workflow::transition::parse_criterion(
            "desired_criterion",
            &r.desired_criterion,
        )?
        .into()),
        state: Set(TenderState::INITIAL.into()),
        deadline: Set(None),
        published_at: Set(None),
        invitees_json: Set("[]".into()),
        facts_json: Set("{}".into()),
        created_at: Set(now),
        updated_at: Set(now),
        service_nature: Set(None),
        decision_at: Set(None),
    }
    .insert(&w.txn)
    .await?;
    workflow::draws::commit_invitee_seed(&w.txn, &p.actor(), now, &t).await?;
    let lots: Vec<RequestLot> = serde_json::from_str(&r.lots_json).unwrap_or_default();
    let lots = if lots.is_empty() {
        vec![RequestLot {
            title: r.object.clone(),
            estimated_amount: validate::cents_to_string(r.estimated_amount_cents),
        }]
    } else {
        lots
    };
    for (i, l) in lots.iter().enumerate() {
        lot::ActiveModel {
            id: Set(Uuid::now_v7()),
            tender_id: Set(tender_id),
            number: Set(i as i32 + 1),
            title: Set(l.title.clone()),
            cig: Set(None),
            base_amount_cents: Set(validate::euro_cents("lots", &l.estimated_amount)?),
            state: Set(LotState::INITIAL.into()),
            evaluation_json: Set(None),
            awardee_bid_id: Set(None),
            standstill_end: Set(None),
            facts_json: Set("{}".into()),
            updated_at: Set(now),
            labour_costs_cents: Set(0),
            safety_costs_cents: Set(0),
            options_cents: Set(0),
            renewals_cents: Set(0),
            evaluation_rules_json: Set(None),
            pcp_json: Set("{}".into()),
        }
        .insert(&w.txn)
        .await?;
    }
    let before = RequestView::from(r.clone());
    let mut am = r.into_active_model();
    am.status = Set(accepted.to.into());
    am.tender_id = Set(Some(tender_id));
    am.updated_at = Set(now);
    let row = am.update(&w.txn).await?;
    let view = RequestView::from(row.clone());
    let entry = audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(row.province_id),
            actor: &p.actor(),
            action: &format!("request.{}", Ev::Accept),
            object_kind: "request",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    workflow::mails::enqueue_request_mail(
        &w.txn,
        &st.settings.http.public_base_url,
        &row,
        RequestEvent::Accepted { tender_id },
        entry.seq,
        now,
    )
    .await?;
    w.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(Accepted {
            request: view,
            tender_id,
        }),
    ))
}
