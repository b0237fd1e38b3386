//! Platform administration: provinces (SUA tenants), municipalities, API tokens, and the test-only clock.

use crate::input as validate;
use crate::{
    audit,
    auth::{self, Principal, Role},
    db::entities::{municipality, province, tender},
    error::{ApiJson, ApiResult, AppError, Problem},
    state::AppState,
};
use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::store::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_province))
        .routes(routes!(create_municipality))
        .routes(routes!(create_token, list_tokens))
        .routes(routes!(revoke_token))
        .routes(routes!(set_clock))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProvince {
    /// Short code, e.g. `PV`.
    pub code: String,
    pub name: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ProvinceView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
}

/// Create a Province (an SUA tenant).
#[utoipa::path(post, path = "/v1/provinces", tag = "admin", security(("bearer" = [])),
    request_body = NewProvince,
    responses((status = 201, body = ProvinceView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_province(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewProvince>,
) -> ApiResult<(StatusCode, Json<ProvinceView>)> {
    p.require_admin()?;
    let code = validate::non_empty("code", &b.code, 16)?.to_uppercase();
    let name = validate::non_empty("name", &b.name, 200)?;
    let now = st.now();
    let w = st.db.write(Scope::Platform).await?;
    if province::Entity::find()
        .all(&w.txn)
        .await?
        .iter()
        .any(|x| x.code == code)
    {
        return Err(AppError::bad(
            "code",
            "code: a province with this code exists",
        ));
    }
    let id = Uuid::now_v7();
    province::ActiveModel {
        id: Set(id),
        code: Set(code.clone()),
        name: Set(name.clone()),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let view = ProvinceView { id, code, name };
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Platform,
            actor: &p.actor(),
            action: "province.create",
            object_kind: "province",
            object_id: id.to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or_default()),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMunicipality {
    pub province_id: Uuid,
    pub name: String,
    /// The Comune's codice fiscale (11 digits).
    pub codice_fiscale: String,
    /// The Comune's PEC address (request and contract mails).
    pub pec: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MunicipalityView {
    pub id: Uuid,
    pub province_id: Uuid,
    pub name: String,
    pub codice_fiscale: String,
    pub pec: Option<String>,
}

/// Create a municipality (Comune) served by a Province.
#[utoipa::path(post, path = "/v1/municipalities", tag = "admin", security(("bearer" = [])),
    request_body = NewMunicipality,
    responses((status = 201, body = MunicipalityView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_municipality(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewMunicipality>,
) -> ApiResult<(StatusCode, Json<MunicipalityView>)> {
    p.require_admin()?;
    let name = validate::non_empty("name", &b.name, 200)?;
    let cf: domain::ids::CodiceFiscale = validate::id("codice_fiscale", &b.codice_fiscale)?;
    let now = st.now();
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
    let id = Uuid::now_v7();
    let view = MunicipalityView {
        id,
        province_id: b.province_id,
        name,
        codice_fiscale: cf.to_string(),
        pec: b
            .pec
            .as_deref()
            .map(|p| validate::pec("pec", p))
            .transpose()?,
    };
    municipality::ActiveModel {
        id: Set(id),
        province_id: Set(b.province_id),
        name: Set(view.name.clone()),
        codice_fiscale: Set(view.codice_fiscale.clone()),
        created_at: Set(now),
        pec: Set(view.pec.clone()),
    }
    .insert(&w.txn)
    .await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(b.province_id),
            actor: &p.actor(),
            action: "municipality.create",
            object_kind: "municipality",
            object_id: id.to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or_default()),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub role: Role,
    /// Province (sua_buyer), municipality, operator (bidder) or tender (commissioner); absent for admins.
    pub org: Option<Uuid>,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub label: String,
    /// When the token stops working; absent: `[tokens] default_ttl_days` after now. Must be in the
    /// future.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssuedToken {
    pub id: Uuid,
    pub role: Role,
    pub org: Option<Uuid>,
    /// When the token stops working (absent: never).
    pub expires_at: Option<DateTime<Utc>>,
    /// The bearer token. Shown once: only its hash is stored.
    pub token: String,
}

/// Issue an API token. Platform admins issue any token; a SUA buyer may issue commissioner tokens for
/// its own Province's tenders.
#[utoipa::path(post, path = "/v1/tokens", tag = "admin", security(("bearer" = [])),
    request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    let now = st.now();
    let label = if b.label.is_empty() {
        String::new()
    } else {
        validate::non_empty("label", &b.label, 200)?
    };
    let expires_at = match b.expires_at {
        Some(e) if e <= now => {
            return Err(AppError::bad(
                "expires_at",
                "expires_at: must be in the future",
            ));
        }
        Some(e) => Some(e),
        None => crate::tokens::default_expiry(&st.settings.tokens, now),
    };
    let w = st.db.write(Scope::Platform).await?;
    match p.role {
        Role::PlatformAdmin => {}
        Role::SuaBuyer if b.role == Role::Commissioner => {
            let province = p.org;
            let t = match b.org {
                Some(o) => tender::Entity::find_by_id(o).one(&w.txn).await?,
                None => None,
            };
            if t.is_none_or(|t| Some(t.province_id) != province) {
                return Err(AppError::bad("org", "org: no such tender in your province"));
            }
        }
        _ => {
            return Err(AppError::Forbidden(
                "only platform admins issue tokens (buyers: commissioner tokens)".into(),
            ));
        }
    }
    workflow::access::check_org(&w.txn, b.role, b.org).await?;
    let (id, token) = auth::issue(&w.txn, b.role, b.org, &label, now, expires_at).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Platform,
            actor: &p.actor(),
            action: "token.issue",
            object_kind: "api_token",
            object_id: id.to_string(),
            before: None,
            after: Some(
                serde_json::json!({"role": b.role, "org": b.org, "label": label, "expires_at": expires_at}),
            ),
        },
    )
    .await?;
    w.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedToken {
            id,
            role: b.role,
            org: b.org,
            expires_at,
            token,
        }),
    ))
}

/// An API token as the platform admin sees it (never the token itself: only its hash is stored).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    /// The first 12 hex characters of the token's SHA-256 (`sua admin revoke-token` takes it).
    pub hash_prefix: String,
    pub role: Role,
    pub org: Option<Uuid>,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Last authenticated request (recorded at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

impl TokenView {
    fn of(t: crate::db::entities::api_token::Model, now: DateTime<Utc>) -> Self {
        let status = crate::tokens::refusal(&t, now)
            .unwrap_or("active")
            .to_owned();
        TokenView {
            id: t.id,
            hash_prefix: t.token_hash[..crate::tokens::HASH_PREFIX_LEN].to_owned(),
            role: Role::parse(&t.role).unwrap_or(Role::Bidder),
            org: t.org_id,
            label: t.label,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            status,
        }
    }
}

/// List every API token (platform admins).
#[utoipa::path(get, path = "/v1/tokens", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_tokens(State(st): State<AppState>, p: Principal) -> ApiResult<Json<Vec<TokenView>>> {
    p.require_admin()?;
    let now = st.now();
    let rows = crate::tokens::list(&st.db.conn).await?;
    Ok(Json(
        rows.into_iter().map(|t| TokenView::of(t, now)).collect(),
    ))
}

/// Revoke an API token (platform admins): refused from its next request on.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TokenView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn revoke_token(
    State(st): State<AppState>,
    p: Principal,
    axum::extract::Path(id): axum::extract::Path<Uuid>,
) -> ApiResult<Json<TokenView>> {
    use crate::db::entities::api_token;
    p.require_admin()?;
    let now = st.now();
    let w = st.db.write(Scope::Platform).await?;
    let row = api_token::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("token"))?;
    if !crate::tokens::revoke(&w.txn, &row, now).await? {
        return Err(AppError::conflict("token", "the token is already revoked"));
    }
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Platform,
            actor: &p.actor(),
            action: "token.revoke",
            object_kind: "api_token",
            object_id: id.to_string(),
            before: None,
            after: Some(
                serde_json::json!({"role": row.role, "org": row.org_id, "revoked_at": now}),
            ),
        },
    )
    .await?;
    w.commit().await?;
    let mut row = row;
    row.revoked_at = Some(now);
    Ok(Json(TokenView::of(row, now)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockOverride {
    /// The instant the server clock should show now.
    pub now: DateTime<Utc>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    pub now: DateTime<Utc>,
}

/// TEST/DEMO ONLY: move the server clock. Answers 404 unless `clock.allow_override = true`.
#[utoipa::path(put, path = "/v1/admin/clock", tag = "admin", security(("bearer" = [])),
    request_body = ClockOverride,
    responses((status = 200, body = ClockView), (status = 404, body = Problem)))]
async fn set_clock(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<ClockOverride>,
) -> ApiResult<Json<ClockView>> {
    if !st.settings.clock.allow_override {
        return Err(AppError::NotFound("route"));
    }
    p.require_admin()?;
    let offset = b.now - Utc::now();
    if !st.clock.set_offset(offset) {
        return Err(AppError::NotFound("route"));
    }
    tracing::warn!(now = %b.now, "server clock overridden (clock.allow_override)");
    Ok(Json(ClockView { now: st.now() }))
}
