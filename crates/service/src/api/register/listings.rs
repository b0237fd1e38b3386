//! The register of operators: applications (bidders), admission, suspension and removal with a reason, renewal
//! of an admitted listing's expiry (SUA buyers of the Province), expiry reminders owed, and the import of past
//! awards for the rotation history.

use super::{
    entities::{register_award_history, register_listing},
    history::{listing_status, status_columns, to_listing},
    parse_category,
};
use crate::{
    audit,
    auth::{Principal, Role},
    db::entities::{municipality, operator, province},
    error::{ApiJson, ApiResult, AppError, Page, PageQuery, Problem},
    input as validate,
    state::AppState,
};
use ::register::{Category, SoaClass, Territory, model::RenewalError, reminders_due};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::ids::NutsCode;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::store::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply))
        .routes(routes!(list_listings))
        .routes(routes!(get_listing))
        .routes(routes!(admit))
        .routes(routes!(suspend))
        .routes(routes!(remove))
        .routes(routes!(renew))
        .routes(routes!(reminders))
        .routes(routes!(import_award))
}

// ---------------------------------------------------------------- views

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct ListingView {
    pub id: Uuid,
    pub province_id: Uuid,
    pub operator_id: Uuid,
    /// `OG1`, `OS12-A` (works) or a CPV division (`90`).
    pub category: String,
    pub soa_class: Option<String>,
    /// `national` or NUTS codes.
    pub territories: Vec<String>,
    /// applied, admitted, suspended, removed.
    pub status: String,
    pub status_on: Option<NaiveDate>,
    pub reason: Option<String>,
    pub expires_on: NaiveDate,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn territory_text(t: &Territory) -> String {
    match t {
        Territory::National => "national".into(),
        Territory::Nuts(n) => n.to_string(),
    }
}

pub fn listing_view(r: &register_listing::Model) -> ListingView {
    let territories: Vec<Territory> = serde_json::from_str(&r.territories_json).unwrap_or_default();
    ListingView {
        id: r.id,
        province_id: r.province_id,
        operator_id: r.operator_id,
        category: r.category.clone(),
        soa_class: r.soa_class.clone(),
        territories: territories.iter().map(territory_text).collect(),
        status: r.status.clone(),
        status_on: r.status_on,
        reason: r.reason.clone(),
        expires_on: r.expires_on,
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

// ---------------------------------------------------------------- apply

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApplication {
    /// The Province (SUA) whose register the operator applies to.
    pub province_id: Uuid,
    /// `OG1`…`OG13`, `OS1`…`OS35` (SOA, works) or a two-digit CPV division (services, supplies).
    pub category: String,
    /// Works: the SOA classification level (`I` … `VIII`); omit when listed without SOA (works below
    /// 150,000 euro). Not allowed for CPV divisions.
    pub soa_class: Option<String>,
    /// `national` or NUTS codes (`ITC1` covers `ITC11`). At least one.
    pub territories: Vec<String>,
    /// The last day the listing is valid (e.g. the expiry of the SOA attestation); after today.
    pub expires_on: NaiveDate,
}

fn parse_territories(raw: &[String]) -> ApiResult<Vec<Territory>> {
    if raw.is_empty() {
        return Err(AppError::bad(
            "territories",
            "territories: at least one (national or a NUTS code)",
        ));
    }
    let mut out: Vec<Territory> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let t = t.trim();
        let parsed = if t.eq_ignore_ascii_case("national") {
            Territory::National
        } else {
            Territory::Nuts(validate::id::<NutsCode>(&format!("territories[{i}]"), t)?)
        };
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

/// Apply to be listed in a Province's register in one category (bidder). One live listing per category.
#[utoipa::path(post, path = "/v1/register/applications", tag = "register", security(("bearer" = [])),
    request_body = NewApplication,
    responses((status = 201, body = ListingView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn apply(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewApplication>,
) -> ApiResult<(StatusCode, Json<ListingView>)> {
    let op = p.require(Role::Bidder)?;
    let category = parse_category("category", &b.category)?;
    let soa_class = match (&b.soa_class, category) {
        (None, _) => None,
        (Some(c), Category::Works(_)) => Some(
            SoaClass::parse(c.trim())
                .map_err(|e| AppError::bad("soa_class", format!("soa_class: {e}")))?
                .as_str()
                .to_owned(),
        ),
        (Some(_), Category::Cpv(_)) => {
            return Err(AppError::bad(
                "soa_class",
                "soa_class: only works categories (SOA) have a classification level",
            ));
        }
    };
    let territories = parse_territories(&b.territories)?;
    let now = st.now();
    if b.expires_on <= now.date_naive() {
        return Err(AppError::bad(
            "expires_on",
            "expires_on: must be after today",
        ));
    }
    let w = st.db.write(Scope::Province(b.province_id)).await?;
    if province::Entity::find_by_id(b.province_id)
        .one(&w.txn)
        .await?
        .is_none()
    {
        return Err(AppError::bad(
            "province_id",
            "province_id: no such province",
        ));
    }
    let live = register_listing::Entity::find()
        .filter(register_listing::Column::ProvinceId.eq(b.province_id))
        .filter(register_listing::Column::OperatorId.eq(op))
        .filter(register_listing::Column::Category.eq(category.to_string()))
        .filter(register_listing::Column::Status.ne(listing_status::REMOVED))
        .one(&w.txn)
        .await?;
    if let Some(l) = live {
        return Err(AppError::conflict(
            "register.unique",
            format!(
                "you already have a listing in category {category} (status {}, id {})",
                l.status, l.id
            ),
        ));
    }
    let row = register_listing::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(b.province_id),
        operator_id: Set(op),
        category: Set(category.to_string()),
        soa_class: Set(soa_class),
        territories_json: Set(serde_json::to_string(&territories).unwrap_or_else(|_| "[]".into())),
        status: Set(listing_status::APPLIED.into()),
        status_on: Set(None),
        reason: Set(None),
        expires_on: Set(b.expires_on),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let view = listing_view(&row);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(b.province_id),
            actor: &p.actor(),
            action: "register.apply",
            object_kind: "register_listing",
            object_id: row.id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

// ---------------------------------------------------------------- read

#[derive(Deserialize, IntoParams)]
pub struct ListingQuery {
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
    /// applied, admitted, suspended, removed.
    pub status: Option<String>,
    pub category: Option<String>,
    pub operator_id: Option<Uuid>,
}

/// Listings: a buyer sees the register of their Province, a bidder their own listings, an admin all.
#[utoipa::path(get, path = "/v1/register/listings", tag = "register", security(("bearer" = [])),
    params(ListingQuery),
    responses((status = 200, body = Page<ListingView>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list_listings(
    State(st): State<AppState>,
    p: Principal,
    Query(q): Query<ListingQuery>,
) -> ApiResult<Json<Page<ListingView>>> {
    let (page, per_page) = PageQuery {
        page: q.page,
        per_page: q.per_page,
    }
    .resolve()?;
    let mut sel = register_listing::Entity::find();
    sel = match p.role {
        Role::PlatformAdmin => sel,
        Role::SuaBuyer => sel.filter(register_listing::Column::ProvinceId.eq(p.org)),
        Role::Bidder => sel.filter(register_listing::Column::OperatorId.eq(p.org)),
        _ => {
            return Err(AppError::Forbidden(
                "the register is kept by the SUA buyers".into(),
            ));
        }
    };
    if let Some(s) = &q.status {
        validate::one_of("status", s, &listing_status::ALL)?;
        sel = sel.filter(register_listing::Column::Status.eq(s.as_str()));
    }
    if let Some(c) = &q.category {
        let c = parse_category("category", c)?;
        sel = sel.filter(register_listing::Column::Category.eq(c.to_string()));
    }
    if let Some(o) = q.operator_id {
        sel = sel.filter(register_listing::Column::OperatorId.eq(o));
    }
    let pages = sel
        .order_by_asc(register_listing::Column::CreatedAt)
        .order_by_asc(register_listing::Column::Id)
        .paginate(&st.db.conn, per_page);
    let total = pages.num_items().await?;
    let items = pages
        .fetch_page(page - 1)
        .await?
        .iter()
        .map(listing_view)
        .collect();
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// The listing if `p` may see it (buyer of its Province, its operator, admin); 404 otherwise.
async fn visible_listing<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> ApiResult<register_listing::Model> {
    let r = register_listing::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("listing"))?;
    let ok = match p.role {
        Role::PlatformAdmin => true,
        Role::SuaBuyer => p.org == Some(r.province_id),
        Role::Bidder => p.org == Some(r.operator_id),
        _ => false,
    };
    if ok {
        Ok(r)
    } else {
        Err(AppError::NotFound("listing"))
    }
}

/// One listing (its operator, the buyers of its Province).
#[utoipa::path(get, path = "/v1/register/listings/{id}", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = ListingView), (status = 404, body = Problem)))]
async fn get_listing(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ListingView>> {
    Ok(Json(listing_view(
        &visible_listing(&st.db.conn, &p, id).await?,
    )))
}

// ---------------------------------------------------------------- status changes

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AdmitInput {
    /// A different expiry than the one applied for (e.g. the SUA's own validity period).
    pub expires_on: Option<NaiveDate>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: String,
}

enum Change {
    Admit(Option<NaiveDate>),
    Suspend(String),
    Remove(String),
}

async fn change_status(
    st: &AppState,
    p: &Principal,
    id: Uuid,
    change: Change,
) -> ApiResult<Json<ListingView>> {
    let province = p.require(Role::SuaBuyer)?;
    let now = st.now();
    let today = now.date_naive();
    let w = st.db.write(Scope::Province(province)).await?;
    let r = visible_listing(&w.txn, p, id).await?;
    debug_assert_eq!(r.province_id, province);
    let mut l = to_listing(&r)?;
    let (action, result) = match &change {
        Change::Admit(_) => ("register.admit", l.admit(today)),
        Change::Suspend(reason) => ("register.suspend", l.suspend(today, reason)),
        Change::Remove(reason) => ("register.remove", l.remove(today, reason)),
    };
    result.map_err(|e| match e {
        ::register::model::StatusError::MissingReason(_) => AppError::bad("reason", e.to_string()),
        other => AppError::conflict("register.status", other.to_string()),
    })?;
    let before = listing_view(&r);
    let (status, status_on, reason) = status_columns(&l.status);
    let mut am = r.into_active_model();
    if let Change::Admit(Some(exp)) = change {
        if exp <= today {
            return Err(AppError::bad(
                "expires_on",
                "expires_on: must be after today",
            ));
        }
        am.expires_on = Set(exp);
    }
    am.status = Set(status);
    am.status_on = Set(status_on);
    am.reason = Set(reason);
    am.updated_at = Set(now);
    let r = am.update(&w.txn).await?;
    let view = listing_view(&r);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(r.province_id),
            actor: &p.actor(),
            action,
            object_kind: "register_listing",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(view))
}

/// Admit an application, or readmit a suspended listing (SUA buyer of the Province).
#[utoipa::path(post, path = "/v1/register/listings/{id}/admit", tag = "register", security(("bearer" = [])),
    request_body = AdmitInput,
    responses((status = 200, body = ListingView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn admit(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<AdmitInput>,
) -> ApiResult<Json<ListingView>> {
    change_status(&st, &p, id, Change::Admit(b.expires_on)).await
}

/// Suspend an admitted listing, with a reason (SUA buyer of the Province).
#[utoipa::path(post, path = "/v1/register/listings/{id}/suspend", tag = "register", security(("bearer" = [])),
    request_body = ReasonInput,
    responses((status = 200, body = ListingView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn suspend(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<ReasonInput>,
) -> ApiResult<Json<ListingView>> {
    change_status(&st, &p, id, Change::Suspend(b.reason)).await
}

/// Remove a listing, with a reason; final (SUA buyer of the Province). The operator may apply again.
#[utoipa::path(post, path = "/v1/register/listings/{id}/remove", tag = "register", security(("bearer" = [])),
    request_body = ReasonInput,
    responses((status = 200, body = ListingView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn remove(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<ReasonInput>,
) -> ApiResult<Json<ListingView>> {
    change_status(&st, &p, id, Change::Remove(b.reason)).await
}

// ---------------------------------------------------------------- renewal

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenewalInput {
    /// Required: the new last day of validity, after today and later than the current `expires_on` (e.g. the
    /// expiry of the renewed SOA attestation).
    #[schema(required = true)]
    pub expires_on: Option<NaiveDate>,
    /// What was checked (documents received, protocol number...); kept in the audit log.
    pub note: Option<String>,
}

/// Renew an admitted listing: move its `expires_on` to a later date, keeping it admitted (SUA buyer of the
/// Province). The expiry reminders (`[reminders] listing_expiry_days`) are owed again for the new date.
/// An applied listing is admitted, a suspended one readmitted (`admit`, with `expires_on`); a removed one
/// stays removed (409, rule `register.status`).
#[utoipa::path(post, path = "/v1/register/listings/{id}/renew", tag = "register", security(("bearer" = [])),
    request_body = RenewalInput,
    responses((status = 200, body = ListingView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn renew(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<RenewalInput>,
) -> ApiResult<Json<ListingView>> {
    let province = p.require(Role::SuaBuyer)?;
    let expires_on = b
        .expires_on
        .ok_or_else(|| AppError::bad("expires_on", "expires_on: required (the new expiry)"))?;
    let note = match &b.note {
        Some(n) => Some(validate::non_empty("note", n, 2000)?),
        None => None,
    };
    let now = st.now();
    let w = st.db.write(Scope::Province(province)).await?;
    let r = visible_listing(&w.txn, &p, id).await?;
    let mut l = to_listing(&r)?;
    l.renew(now.date_naive(), expires_on).map_err(|e| match e {
        RenewalError::Status(s) => AppError::conflict("register.status", s.to_string()),
        date => AppError::bad("expires_on", date.to_string()),
    })?;
    let before = listing_view(&r);
    let mut am = r.into_active_model();
    am.expires_on = Set(l.expires_on);
    am.updated_at = Set(now);
    let r = am.update(&w.txn).await?;
    let view = listing_view(&r);
    let mut after = to_json(&view);
    if let (Some(n), Some(o)) = (note, after.as_object_mut()) {
        o.insert("note".into(), n.into());
    }
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(r.province_id),
            actor: &p.actor(),
            action: "register.renew",
            object_kind: "register_listing",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(after),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(view))
}

// ---------------------------------------------------------------- reminders

#[derive(Serialize, ToSchema)]
pub struct ReminderView {
    pub listing_id: Uuid,
    pub operator_id: Uuid,
    pub category: String,
    pub expires_on: NaiveDate,
    /// The reminder window entered (days before expiry).
    pub days_before: u32,
    pub days_left: i64,
}

/// Expiry reminders owed today to the operators of the Province's register (SUA buyer), by the schedule
/// `[reminders] listing_expiry_days` (default 60/30/7 days before expiry). The scheduler mails each of them
/// once (`listing_expiry_reminder`, see `service::reminders` and `docs/register.md`).
#[utoipa::path(get, path = "/v1/register/reminders", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = Vec<ReminderView>), (status = 403, body = Problem)))]
async fn reminders(State(st): State<AppState>, p: Principal) -> ApiResult<Json<Vec<ReminderView>>> {
    let province = p.require(Role::SuaBuyer)?;
    let rows = register_listing::Entity::find()
        .filter(register_listing::Column::ProvinceId.eq(province))
        .filter(register_listing::Column::Status.is_in(listing_status::ON_REGISTER))
        .all(&st.db.conn)
        .await?;
    let listings = rows
        .iter()
        .map(to_listing)
        .collect::<workflow::WResult<Vec<_>>>()?;
    let due = reminders_due(
        &listings,
        st.now().date_naive(),
        &st.settings.reminders.listing_expiry_days,
        &HashSet::new(),
    );
    Ok(Json(
        due.into_iter()
            .filter_map(|r| {
                let row = rows.iter().find(|x| {
                    x.operator_id == r.key.operator.0 && x.category == r.key.category.to_string()
                })?;
                Some(ReminderView {
                    listing_id: row.id,
                    operator_id: row.operator_id,
                    category: row.category.clone(),
                    expires_on: r.key.expires_on,
                    days_before: r.key.days_before,
                    days_left: r.days_left,
                })
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- past awards

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPastAward {
    pub operator_id: Uuid,
    pub category: String,
    /// Euro, decimal string.
    pub amount: String,
    pub awarded_on: NaiveDate,
    /// `None`: the Province's own contract.
    pub municipality_id: Option<Uuid>,
    /// Decision number, CIG...
    pub reference: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PastAwardView {
    pub id: Uuid,
    pub province_id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub operator_id: Uuid,
    pub category: String,
    pub amount: String,
    pub awarded_on: NaiveDate,
    /// `import` or `direct_award`.
    pub source: String,
    pub reference: Option<String>,
    pub reasons: Option<String>,
}

pub fn past_award_view(h: &register_award_history::Model) -> PastAwardView {
    PastAwardView {
        id: h.id,
        province_id: h.province_id,
        municipality_id: h.municipality_id,
        operator_id: h.operator_id,
        category: h.category.clone(),
        amount: validate::cents_to_string(h.amount_cents),
        awarded_on: h.awarded_on,
        source: h.source.clone(),
        reference: h.reference.clone(),
        reasons: h.reasons.clone(),
    }
}

/// Check that an operator exists and a municipality belongs to the Province (422 naming the field).
pub async fn check_parties<C: ConnectionTrait>(
    db: &C,
    province: Uuid,
    operator_field: &str,
    operator_id: Uuid,
    municipality_id: Option<Uuid>,
) -> ApiResult<()> {
    if operator::Entity::find_by_id(operator_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::bad(
            operator_field,
            format!("{operator_field}: no such operator"),
        ));
    }
    if let Some(m) = municipality_id {
        let ok = municipality::Entity::find_by_id(m)
            .one(db)
            .await?
            .is_some_and(|m| m.province_id == province);
        if !ok {
            return Err(AppError::bad(
                "municipality_id",
                "municipality_id: not a municipality of your province",
            ));
        }
    }
    Ok(())
}

/// Record an award made before the platform (SUA buyer), so that the rotation rule and the counters know it.
#[utoipa::path(post, path = "/v1/register/awards", tag = "register", security(("bearer" = [])),
    request_body = NewPastAward,
    responses((status = 201, body = PastAwardView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn import_award(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewPastAward>,
) -> ApiResult<(StatusCode, Json<PastAwardView>)> {
    let province = p.require(Role::SuaBuyer)?;
    let category = parse_category("category", &b.category)?;
    let amount = validate::euro_cents("amount", &b.amount)?;
    let now = st.now();
    if b.awarded_on > now.date_naive() {
        return Err(AppError::bad(
            "awarded_on",
            "awarded_on: an award in the future cannot be imported",
        ));
    }
    let reference = match &b.reference {
        Some(r) => Some(validate::non_empty("reference", r, 500)?),
        None => None,
    };
    let w = st.db.write(Scope::Province(province)).await?;
    check_parties(
        &w.txn,
        province,
        "operator_id",
        b.operator_id,
        b.municipality_id,
    )
    .await?;
    let h = register_award_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(province),
        municipality_id: Set(b.municipality_id),
        operator_id: Set(b.operator_id),
        category: Set(category.to_string()),
        amount_cents: Set(amount),
        awarded_on: Set(b.awarded_on),
        source: Set("import".into()),
        reference: Set(reference),
        reasons: Set(None),
        rotation_json: Set(None),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let view = past_award_view(&h);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(province),
            actor: &p.actor(),
            action: "register.award_import",
            object_kind: "register_award",
            object_id: h.id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}
