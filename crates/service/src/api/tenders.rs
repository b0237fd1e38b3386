//! Tenders and lots (SUA buyers), driven through the lifecycle machines; admission, commission scores,
//! evaluation and award.

use super::documents::{DocumentView, NewDocument, documents_of, store_document};
use crate::input as validate;
use crate::{
    audit,
    auth::{MaybePrincipal, Principal, Role},
    db::entities::{bid, lot, municipality, operator, tender},
    error::{ApiJson, ApiResult, AppError, Page, PageQuery, Problem},
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use domain::ids::Cig;
use lifecycle::{
    lot::{LotState, OpenEnvelopes},
    participation::{ParticipationEvent, ParticipationState},
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
use workflow::access::{
    Access, access_tender, bids_of, lots_of, manage_tender, publicly_visible, shows_invitees,
};
use workflow::store::{Stored, StoredName};
use workflow::transition::{self as machines, Applied, EventInput};
use workflow::transition::{run_bid_event, run_lot_event, run_tender_event};
use workflow::views::{LotView, TenderView, tender_view, to_json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tender, list_tenders))
        .routes(routes!(get_tender, patch_tender))
        .routes(routes!(add_lot))
        .routes(routes!(patch_lot))
        .routes(routes!(add_tender_document, list_tender_documents))
        .routes(routes!(tender_event))
        .routes(routes!(lot_event))
        .routes(routes!(bid_event))
        .routes(routes!(record_technical))
        .routes(routes!(evaluate_lot))
        .routes(routes!(list_tender_bids))
}

// ---------------------------------------------------------------- views

#[derive(Deserialize, ToSchema)]
pub struct NewLot {
    pub title: String,
    /// Euro, decimal string.
    pub base_amount: String,
    pub cig: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewTender {
    pub title: String,
    /// works, services, supplies.
    pub contract_type: String,
    /// aperta, ristretta, negoziata_senza_bando, affidamento_diretto, ...
    pub procedure_type: String,
    /// lowest_price or quality_price.
    pub criterion: String,
    pub municipality_id: Option<Uuid>,
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub invitees: Vec<Uuid>,
    pub lots: Vec<NewLot>,
}

fn parse_lot(i: Option<usize>, l: &NewLot) -> ApiResult<(String, i64, Option<Cig>)> {
    let p = |f: &str| match i {
        Some(i) => format!("lots[{i}].{f}"),
        None => f.to_owned(),
    };
    let title = validate::non_empty(&p("title"), &l.title, 2000)?;
    let amount = validate::euro_cents(&p("base_amount"), &l.base_amount)?;
    let cig = match &l.cig {
        Some(c) => Some(validate::id::<Cig>(&p("cig"), c)?),
        None => None,
    };
    Ok((title, amount, cig))
}

async fn check_invitees<C: ConnectionTrait>(db: &C, inv: &[Uuid]) -> ApiResult<()> {
    for (i, id) in inv.iter().enumerate() {
        if operator::Entity::find_by_id(*id).one(db).await?.is_none() {
            return Err(AppError::bad(
                format!("invitees[{i}]"),
                format!("invitees[{i}]: no such operator"),
            ));
        }
    }
    Ok(())
}

fn new_lot_row(
    tender_id: Uuid,
    number: i32,
    parsed: (String, i64, Option<Cig>),
    now: DateTime<Utc>,
) -> lot::ActiveModel {
    lot::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(tender_id),
        number: Set(number),
        title: Set(parsed.0),
        cig: Set(parsed.2.map(Stored)),
        base_amount_cents: Set(parsed.1),
        state: Set(LotState::INITIAL.into()),
        evaluation_json: Set(None),
        awardee_bid_id: Set(None),
        standstill_end: Set(None),
        facts_json: Set("{}".into()),
        updated_at: Set(now),
    }
}

/// Create a draft tender with its lots (buyer).
#[utoipa::path(post, path = "/v1/tenders", tag = "tenders", security(("bearer" = [])),
    request_body = NewTender,
    responses((status = 201, body = TenderView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_tender(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewTender>,
) -> ApiResult<(StatusCode, Json<TenderView>)> {
    let province = p.require(Role::SuaBuyer)?;
    let title = validate::non_empty("title", &b.title, 2000)?;
    let contract_type = validate::one_of(
        "contract_type",
        &b.contract_type,
        super::requests::CONTRACT_TYPES,
    )?;
    let procedure = machines::parse_procedure("procedure_type", &b.procedure_type)?;
    let criterion = machines::parse_criterion("criterion", &b.criterion)?;
    if b.lots.is_empty() {
        return Err(AppError::bad("lots", "lots: at least one lot"));
    }
    let lots = b
        .lots
        .iter()
        .enumerate()
        .map(|(i, l)| parse_lot(Some(i), l))
        .collect::<ApiResult<Vec<_>>>()?;
    let now = st.now();
    let w = st.db.write().await?;
    if let Some(m) = b.municipality_id {
        let ok = municipality::Entity::find_by_id(m)
            .one(&w.txn)
            .await?
            .is_some_and(|m| m.province_id == province);
        if !ok {
            return Err(AppError::bad(
                "municipality_id",
                "municipality_id: not a municipality of your province",
            ));
        }
    }
    check_invitees(&w.txn, &b.invitees).await?;
    let id = Uuid::now_v7();
    let t = tender::ActiveModel {
        id: Set(id),
        province_id: Set(province),
        municipality_id: Set(b.municipality_id),
        request_id: Set(None),
        title: Set(title),
        contract_type: Set(contract_type),
        procedure_type: Set(procedure.into()),
        criterion: Set(criterion.into()),
        state: Set(TenderState::INITIAL.into()),
        deadline: Set(b.deadline.map(audit::truncate_micros)),
        published_at: Set(None),
        invitees_json: Set(serde_json::to_string(&b.invitees).unwrap_or_else(|_| "[]".into())),
        facts_json: Set("{}".into()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let mut rows = Vec::new();
    for (i, parsed) in lots.into_iter().enumerate() {
        rows.push(
            new_lot_row(id, i as i32 + 1, parsed, now)
                .insert(&w.txn)
                .await?,
        );
    }
    let view = tender_view(&t, &rows, true);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "tender.create",
            object_kind: "tender",
            object_id: id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Tenders the caller works on: a buyer's Province, a municipality's own, a commissioner's one, all for
/// admins; bidders get the published tenders and those they are invited to.
#[utoipa::path(get, path = "/v1/tenders", tag = "tenders", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<TenderView>), (status = 401, body = Problem)))]
async fn list_tenders(
    State(st): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<TenderView>>> {
    let (page, per_page) = q.resolve()?;
    let sel = tender::Entity::find();
    let sel = match p.role {
        Role::PlatformAdmin => sel,
        Role::SuaBuyer => sel.filter(tender::Column::ProvinceId.eq(p.org)),
        Role::Municipality => sel.filter(tender::Column::MunicipalityId.eq(p.org)),
        Role::Commissioner => sel.filter(tender::Column::Id.eq(p.org)),
        Role::Bidder => {
            // published tenders, filtered below for invitation-only procedures
            let unpublished = TenderState::ALL
                .iter()
                .filter(|s| !s.is_public())
                .map(|s| s.as_str());
            sel.filter(tender::Column::State.is_not_in(unpublished))
        }
    };
    let pages = sel
        .order_by_desc(tender::Column::CreatedAt)
        .paginate(&st.db.conn, per_page);
    let total = pages.num_items().await?;
    let mut items = Vec::new();
    for t in pages.fetch_page(page - 1).await? {
        if p.role == Role::Bidder && !publicly_visible(&t, p.org) {
            continue;
        }
        let lots = lots_of(&st.db.conn, t.id).await?;
        let access = match p.role {
            Role::PlatformAdmin | Role::SuaBuyer => Access::Manage,
            Role::Municipality | Role::Commissioner => Access::Staff,
            Role::Bidder => Access::Public,
        };
        items.push(tender_view(&t, &lots, shows_invitees(&t, access, st.now())));
    }
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// One tender with its lots (any caller who may see it; 404 otherwise).
#[utoipa::path(get, path = "/v1/tenders/{id}", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = TenderView), (status = 404, body = Problem)))]
async fn get_tender(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TenderView>> {
    let (t, a) = access_tender(&st.db.conn, p.as_ref(), id).await?;
    let lots = lots_of(&st.db.conn, id).await?;
    Ok(Json(tender_view(
        &t,
        &lots,
        shows_invitees(&t, a, st.now()),
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenderPatch {
    pub title: Option<String>,
    pub procedure_type: Option<String>,
    pub criterion: Option<String>,
    /// The offer deadline. After publication use the `extend_deadline` event.
    pub deadline: Option<DateTime<Utc>>,
    pub invitees: Option<Vec<Uuid>>,
}

/// Edit a tender before publication (buyer).
#[utoipa::path(patch, path = "/v1/tenders/{id}", tag = "tenders", security(("bearer" = [])),
    request_body = TenderPatch,
    responses((status = 200, body = TenderView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn patch_tender(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<TenderPatch>,
) -> ApiResult<Json<TenderView>> {
    let now = st.now();
    let w = st.db.write().await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!(
                "a tender in state {} cannot be edited; use its events",
                t.state
            ),
        ));
    }
    let lots = lots_of(&w.txn, id).await?;
    let before = tender_view(&t, &lots, true);
    let mut am = t.into_active_model();
    if let Some(x) = &b.title {
        am.title = Set(validate::non_empty("title", x, 2000)?);
    }
    if let Some(x) = &b.procedure_type {
        am.procedure_type = Set(machines::parse_procedure("procedure_type", x)?.into());
    }
    if let Some(x) = &b.criterion {
        am.criterion = Set(machines::parse_criterion("criterion", x)?.into());
    }
    if let Some(x) = b.deadline {
        am.deadline = Set(Some(audit::truncate_micros(x)));
    }
    if let Some(x) = &b.invitees {
        // a list drawn from the register (or taken from a market survey) is the one in the minutes:
        // replacing it by hand would make the recorded draw say something that did not happen
        let drawn = workflow::store::entities::register_draw::Entity::find()
            .filter(workflow::store::entities::register_draw::Column::TenderId.eq(id))
            .one(&w.txn)
            .await?;
        if let Some(d) = drawn {
            return Err(AppError::conflict(
                "art. 50 c.2 (selection minutes)",
                format!(
                    "invitees: the invited operators were selected by {} (minutes {}); they cannot be replaced",
                    d.mode, d.id
                ),
            ));
        }
        check_invitees(&w.txn, x).await?;
        am.invitees_json = Set(serde_json::to_string(x).unwrap_or_else(|_| "[]".into()));
    }
    am.updated_at = Set(now);
    let t = am.update(&w.txn).await?;
    let view = tender_view(&t, &lots, true);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "tender.edit",
            object_kind: "tender",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(view))
}

/// Add a lot to a tender before publication (buyer).
#[utoipa::path(post, path = "/v1/tenders/{id}/lots", tag = "tenders", security(("bearer" = [])),
    request_body = NewLot,
    responses((status = 201, body = LotView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_lot(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<NewLot>,
) -> ApiResult<(StatusCode, Json<LotView>)> {
    let parsed = parse_lot(None, &b)?;
    let now = st.now();
    let w = st.db.write().await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!("a tender in state {} cannot get new lots", t.state),
        ));
    }
    let n = lots_of(&w.txn, id).await?.len() as i32 + 1;
    let l = new_lot_row(id, n, parsed, now).insert(&w.txn).await?;
    let view = LotView::from(&l);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "lot.create",
            object_kind: "lot",
            object_id: l.id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotPatch {
    pub title: Option<String>,
    pub base_amount: Option<String>,
    /// The CIG acquired from ANAC for this lot.
    pub cig: Option<String>,
}

async fn load_lot<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
    lot_id: Uuid,
) -> ApiResult<lot::Model> {
    lot::Entity::find_by_id(lot_id)
        .one(db)
        .await?
        .filter(|l| l.tender_id == tender_id)
        .ok_or(AppError::NotFound("lot"))
}

/// Edit a lot before publication: title, base amount, CIG (buyer).
#[utoipa::path(patch, path = "/v1/tenders/{id}/lots/{lot_id}", tag = "tenders", security(("bearer" = [])),
    request_body = LotPatch,
    responses((status = 200, body = LotView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn patch_lot(
    State(st): State<AppState>,
    p: Principal,
    Path((id, lot_id)): Path<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<LotPatch>,
) -> ApiResult<Json<LotView>> {
    let cig = match &b.cig {
        Some(c) => Some(validate::id::<Cig>("cig", c)?),
        None => None,
    };
    let amount = match &b.base_amount {
        Some(a) => Some(validate::euro_cents("base_amount", a)?),
        None => None,
    };
    let title = match &b.title {
        Some(t) => Some(validate::non_empty("title", t, 2000)?),
        None => None,
    };
    let now = st.now();
    let w = st.db.write().await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    let l = load_lot(&w.txn, id, lot_id).await?;
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!("lots of a tender in state {} cannot be edited", t.state),
        ));
    }
    let before = LotView::from(&l);
    let mut am = l.into_active_model();
    if let Some(c) = cig {
        am.cig = Set(Some(Stored(c)));
    }
    if let Some(a) = amount {
        am.base_amount_cents = Set(a);
    }
    if let Some(x) = title {
        am.title = Set(x);
    }
    am.updated_at = Set(now);
    let l = am.update(&w.txn).await?;
    let view = LotView::from(&l);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "lot.edit",
            object_kind: "lot",
            object_id: lot_id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(view))
}

/// Attach a tender document (bando, disciplinare...) (buyer).
#[utoipa::path(post, path = "/v1/tenders/{id}/documents", tag = "tenders", security(("bearer" = [])),
    request_body = NewDocument,
    responses((status = 201, body = DocumentView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_tender_document(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<NewDocument>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    manage_tender(&st.db.conn, &p, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(store_document(&st, &p, "tender", id, b).await?),
    ))
}

/// A tender's documents (whoever may see the tender).
#[utoipa::path(get, path = "/v1/tenders/{id}/documents", tag = "tenders",
    responses((status = 200, body = Vec<DocumentView>), (status = 404, body = Problem)))]
async fn list_tender_documents(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    access_tender(&st.db.conn, p.as_ref(), id).await?;
    Ok(Json(documents_of(&st.db.conn, "tender", id).await?))
}

// ---------------------------------------------------------------- transitions

/// The answer to an accepted event.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TransitionView {
    pub from: String,
    pub to: String,
    /// Effects the lifecycle machine asked for (timers set, communications owed, audit).
    #[schema(value_type = Vec<Object>)]
    pub effects: Vec<serde_json::Value>,
}

impl<S: StoredName> From<&Applied<S>> for TransitionView {
    fn from(a: &Applied<S>) -> Self {
        TransitionView {
            from: a.from.name().to_owned(),
            to: a.to.name().to_owned(),
            effects: a.effects.iter().map(to_json).collect(),
        }
    }
}

/// Apply a lifecycle event to a tender (buyer). A refused transition is a 409 naming the legal rule.
#[utoipa::path(post, path = "/v1/tenders/{id}/events", tag = "tenders", security(("bearer" = [])),
    request_body = EventInput,
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn tender_event(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(mut b): ApiJson<EventInput>,
) -> ApiResult<Json<TransitionView>> {
    let now = st.now();
    let w = st.db.write().await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    // with PCP enabled, `acquire_cig` asks PCP for the CIGs (service::pcp); the tender becomes ready when
    // they arrive
    if let Some(calls) = crate::pcp::acquire_cig_through_pcp(&st, &w.txn, &t, &b.event, now).await?
    {
        w.commit().await?;
        return Ok(Json(TransitionView {
            from: t.state.0.name().to_owned(),
            to: t.state.0.name().to_owned(),
            effects: vec![serde_json::json!({"pcp_calls": calls})],
        }));
    }
    // rotation (art. 49) on a hand-written invitee list, computed from the register as the draw does
    crate::api::register::rotation::check_hand_written_invitees(&w.txn, &t, &mut b, now).await?;
    let applied = run_tender_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        st.settings.sua.qualification,
        t,
        &b,
        now,
    )
    .await?;
    w.commit().await?;
    Ok(Json(TransitionView::from(&applied)))
}

/// Apply a lifecycle event to a lot (buyer): admission phases, evaluation, proposal, award, signature.
/// `propose_award` takes `bid_id` (default: first of the stored evaluation). Participations follow.
#[utoipa::path(post, path = "/v1/lots/{id}/events", tag = "tenders", security(("bearer" = [])),
    request_body = EventInput,
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn lot_event(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<EventInput>,
) -> ApiResult<Json<TransitionView>> {
    let now = st.now();
    let w = st.db.write().await?;
    let l = lot::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let t = manage_tender(&w.txn, &p, l.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("lot"),
            e => e.into(),
        })?;
    let applied = run_lot_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        &t,
        l,
        &b,
        now,
    )
    .await?;
    let keys = crate::sealed::service_keys(&st.settings.sealing)?;
    crate::sealed::open_due(&w.txn, &keys, &p.actor(), &t, id, now).await?;
    w.commit().await?;
    Ok(Json(TransitionView::from(&applied)))
}

/// Load a bid for tender staff: (tender, lot, bid, access). Bidders and strangers get 404.
async fn staff_bid<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> ApiResult<(tender::Model, lot::Model, bid::Model, Access)> {
    let b = bid::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let (t, a) = access_tender(db, Some(p), b.tender_id)
        .await
        .map_err(|_| AppError::NotFound("bid"))?;
    if a == Access::Public {
        return Err(AppError::NotFound("bid"));
    }
    let l = load_lot(db, t.id, b.lot_id).await?;
    Ok((t, l, b, a))
}

/// Admission phase on one participation (buyer): `admit`, `exclude` (with `declarations.exclusion_reason`),
/// `request_soccorso` (with `declarations.soccorso_days`), `cure_soccorso`.
#[utoipa::path(post, path = "/v1/bids/{id}/events", tag = "tenders", security(("bearer" = [])),
    request_body = EventInput,
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn bid_event(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<EventInput>,
) -> ApiResult<Json<TransitionView>> {
    if let Ok(
        ParticipationEvent::Submit | ParticipationEvent::Replace | ParticipationEvent::Withdraw,
    ) = b.event.parse()
    {
        return Err(AppError::bad(
            "event",
            "event: bidders submit, replace and withdraw through /v1/bids",
        ));
    }
    let now = st.now();
    let w = st.db.write().await?;
    let (t, l, bd, a) = staff_bid(&w.txn, &p, id).await?;
    if a != Access::Manage {
        return Err(AppError::Forbidden(
            "only the SUA buyers of this tender may do this".into(),
        ));
    }
    let applied = run_bid_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        &t,
        &l,
        bd,
        &b,
        now,
    )
    .await?;
    let keys = crate::sealed::service_keys(&st.settings.sealing)?;
    crate::sealed::open_due(&w.txn, &keys, &p.actor(), &t, l.id, now).await?;
    w.commit().await?;
    Ok(Json(TransitionView::from(&applied)))
}

#[derive(Deserialize, ToSchema)]
pub struct TechnicalEvaluation {
    /// The commission's evaluation of this bid's technical offer, merged into the bid's entry of the
    /// evaluation input (e.g. `{"coefficients": {"c1": "0.8"}}` for quality-price criteria).
    #[schema(value_type = Object)]
    pub technical: serde_json::Value,
}

/// Record the commission's technical evaluation of a bid (commissioner of the tender, or buyer), while the
/// lot is in technical evaluation.
#[utoipa::path(put, path = "/v1/bids/{id}/technical-evaluation", tag = "tenders", security(("bearer" = [])),
    request_body = TechnicalEvaluation,
    responses((status = 200, body = BidView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_technical(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<TechnicalEvaluation>,
) -> ApiResult<Json<BidView>> {
    if !b.technical.is_object() {
        return Err(AppError::bad("technical", "technical: must be an object"));
    }
    let now = st.now();
    let w = st.db.write().await?;
    let (_t, l, bd, a) = staff_bid(&w.txn, &p, id).await?;
    if !(a == Access::Manage || p.role == Role::Commissioner) {
        return Err(AppError::Forbidden(
            "only the commission or the buyers record scores".into(),
        ));
    }
    if l.state != LotState::TechEval || bd.state != ParticipationState::Admitted {
        return Err(AppError::conflict(
            "art. 93 (commissione giudicatrice)",
            format!(
                "technical scores are recorded on admitted bids of a lot in tech_eval (lot: {}, bid: {})",
                l.state, bd.state
            ),
        ));
    }
    let mut am = bd.into_active_model();
    am.tech_score = Set(Some(b.technical.to_string()));
    am.updated_at = Set(now);
    let bd = am.update(&w.txn).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "bid.technical_evaluation",
            object_kind: "bid",
            object_id: id.to_string(),
            before: None,
            after: Some(b.technical.clone()),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(bid_view(&bd, OpenEnvelopes::ALL)))
}

#[derive(Deserialize, ToSchema)]
pub struct EvaluateInput {
    /// Evaluation parameters of the `evaluation` crate's JSON input, without `criterion`, `bids` and
    /// `base_amount` (the service fills them from the tender and the opened bids): e.g.
    /// `{"anomaly": {"method": "none"}, "seed": "42"}`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// Run the evaluation of a lot whose economic offers are open (buyer) and store the explained result.
#[utoipa::path(post, path = "/v1/lots/{id}/evaluate", tag = "tenders", security(("bearer" = [])),
    request_body = EvaluateInput,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn evaluate_lot(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<EvaluateInput>,
) -> ApiResult<Json<serde_json::Value>> {
    let now = st.now();
    let w = st.db.write().await?;
    let l = lot::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let t = manage_tender(&w.txn, &p, l.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("lot"),
            e => e.into(),
        })?;
    if l.state != LotState::Ranked {
        return Err(AppError::conflict(
            "sealed-order invariant",
            format!(
                "evaluation runs once the economic offers are open (lot state ranked, not {})",
                l.state
            ),
        ));
    }
    let mut input = match b.params {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => serde_json::Map::new(),
        _ => return Err(AppError::bad("params", "params: must be an object")),
    };
    for k in ["criterion", "bids", "base_amount"] {
        if input.contains_key(k) {
            return Err(AppError::bad(
                format!("params.{k}"),
                format!("params.{k}: filled in by the service"),
            ));
        }
    }
    let bids: Vec<serde_json::Value> = bids_of(&w.txn, t.id)
        .await?
        .into_iter()
        .filter(|x| x.lot_id == l.id && x.state == ParticipationState::Ranked)
        .map(|x| {
            let mut e = serde_json::Map::new();
            e.insert("id".into(), x.id.to_string().into());
            if let Some(d) = &x.declared_discount {
                e.insert("discount".into(), d.clone().into());
            }
            if let Some(c) = x.declared_price_cents {
                e.insert("price".into(), validate::cents_to_string(c).into());
            }
            if let Some(serde_json::Value::Object(tech)) = x
                .tech_score
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
            {
                e.extend(tech);
            }
            serde_json::Value::Object(e)
        })
        .collect();
    input.insert("criterion".into(), t.criterion.as_str().into());
    input.insert(
        "base_amount".into(),
        validate::cents_to_string(l.base_amount_cents).into(),
    );
    input.insert("bids".into(), bids.into());
    let input = serde_json::Value::Object(input);
    let result = evaluation::evaluate_json(&input.to_string()).map_err(|e| {
        let field = if e.path == "$" {
            "params".to_owned()
        } else {
            format!("params.{}", e.path)
        };
        AppError::bad(field, format!("evaluation: {e}"))
    })?;
    let stored = workflow::store::evaluation::stored_evaluation(input, result, now);
    let mut am = l.into_active_model();
    am.evaluation_json = Set(Some(stored.to_string()));
    am.updated_at = Set(now);
    am.update(&w.txn).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            actor: &p.actor(),
            action: "lot.evaluate",
            object_kind: "lot",
            object_id: id.to_string(),
            before: None,
            after: Some(stored.clone()),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(stored))
}

// ---------------------------------------------------------------- bids as seen by the tender's staff

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BidView {
    pub id: Uuid,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    /// Hidden (null) until the administrative envelope is open.
    pub operator_id: Option<Uuid>,
    pub state: String,
    /// Hidden until the economic envelope is open.
    pub declared_discount: Option<String>,
    pub declared_price: Option<String>,
    /// Hidden until the technical envelope is open.
    #[schema(value_type = Option<Object>)]
    pub technical: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub technical_evaluation: Option<serde_json::Value>,
    pub soccorso_due: Option<DateTime<Utc>>,
    pub exclusion_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether envelopes are sealed for this reader.
    pub sealed: bool,
}

/// Nothing of a bid is open (before the lot's phase opens it, or once the bid is withdrawn).
const SEALED: OpenEnvelopes = OpenEnvelopes {
    administrative: false,
    technical: false,
    economic: false,
};

/// The envelopes of a bid its lot's phase opened to staff (the owner sees [`OpenEnvelopes::ALL`]): none of a
/// withdrawn bid, whatever the lot's state.
pub fn visible_envelopes(b: &bid::Model, l: Option<&lot::Model>) -> OpenEnvelopes {
    if b.state == ParticipationState::Withdrawn {
        return SEALED;
    }
    l.map_or(SEALED, |l| l.state.open_envelopes())
}

/// A bid as a reader may see it, with the envelopes open to that reader: the owner sees everything
/// ([`OpenEnvelopes::ALL`]); others see what [`visible_envelopes`] says.
pub fn bid_view(b: &bid::Model, open: OpenEnvelopes) -> BidView {
    let OpenEnvelopes {
        administrative: admin,
        technical: tech,
        economic: econ,
    } = open;
    BidView {
        id: b.id,
        tender_id: b.tender_id,
        lot_id: b.lot_id,
        operator_id: admin.then_some(b.operator_id),
        state: b.state.to_string(),
        declared_discount: if econ {
            b.declared_discount.clone()
        } else {
            None
        },
        declared_price: if econ {
            b.declared_price_cents.map(validate::cents_to_string)
        } else {
            None
        },
        technical: if tech {
            serde_json::from_str(&b.technical_json).ok()
        } else {
            None
        },
        technical_evaluation: if tech {
            b.tech_score
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
        } else {
            None
        },
        soccorso_due: b.soccorso_due,
        exclusion_reason: if admin {
            b.exclusion_reason.clone()
        } else {
            None
        },
        submitted_at: b.submitted_at,
        updated_at: b.updated_at,
        sealed: !(admin && tech && econ),
    }
}

/// The bids of a tender for its staff (buyers, municipality, commission): envelopes stay sealed until the
/// lot opens them. Withdrawn bids are listed without content.
#[utoipa::path(get, path = "/v1/tenders/{id}/bids", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Vec<BidView>), (status = 404, body = Problem)))]
async fn list_tender_bids(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<BidView>>> {
    let (t, a) = access_tender(&st.db.conn, Some(&p), id).await?;
    if a == Access::Public {
        return Err(AppError::NotFound("tender"));
    }
    let lots = lots_of(&st.db.conn, t.id).await?;
    let bids = bids_of(&st.db.conn, t.id).await?;
    Ok(Json(
        bids.iter()
            .filter(|b| b.state != ParticipationState::INITIAL)
            .map(|b| {
                bid_view(
                    b,
                    visible_envelopes(b, lots.iter().find(|l| l.id == b.lot_id)),
                )
            })
            .collect(),
    ))
}
