//! The audit chain's signed head, public: whoever saves it can later show that entries were removed
//! (`sua audit verify --head FILE`).

use crate::{
    db::entities::province,
    error::{ApiResult, AppError},
    sealed,
    state::AppState,
};
use axum::extract::{Path, State};
use sea_orm::EntityTrait;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_head))
}

/// The head of the Province's audit chain (sequence and SHA-256 of its newest entry), read now and signed
/// with the receipt key (`/.well-known/sua-receipt-keys.json`): `{"head": {"at", "chain", "format":
/// "sua-audit-head/1", "hash", "key_id", "sequence"}, "signature"}`. Public. Save it, and later run
/// `sua audit verify --head FILE`: entries removed after it are named. Every bid receipt carries the head
/// of its Province's chain too (`receipt.audit_head`).
#[utoipa::path(get, path = "/.well-known/sua/audit-head/{province}", tag = "public",
    params(("province" = Uuid, Path, description = "The Province's id")),
    responses(
        (status = 200, description = "The signed head", body = Object, content_type = "application/json"),
        (status = 400, description = "The id is not a UUID", body = crate::error::Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "No such Province", body = crate::error::Problem,
            content_type = "application/problem+json"),
    ))]
async fn audit_head(
    State(st): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<([(axum::http::HeaderName, &'static str); 2], String)> {
    province::Entity::find_by_id(id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("province"))?;
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let head = sealed::signed_audit_head(&st.db.conn, &keys, id, st.now()).await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "application/json"),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        head.to_json(),
    ))
}
