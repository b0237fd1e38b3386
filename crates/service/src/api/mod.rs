//! The HTTP API (axum 0.8). [`app`] builds the whole router, so tests can drive it with
//! `tower::ServiceExt::oneshot` without a socket; the OpenAPI 3.1 document is generated from the handlers'
//! `#[utoipa::path]` annotations and served at `/openapi.json`.

pub mod admin;
pub mod audit;
pub mod bid_files;
pub mod bids;
pub mod documents;
pub mod idempotency;
pub mod messages;
pub mod pcp;
pub mod public;
pub mod register;
pub mod requests;
pub mod tenders;

use crate::{error::Problem, state::AppState};
use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde::Serialize;
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "sua — Stazione Unica Appaltante e-procurement API",
        description = "Municipality requests, tenders and lots driven through the lifecycle machines, bids, \
            clarifications, evaluation and award. Authenticate with `Authorization: Bearer <token>`. Errors \
            are `application/problem+json` documents (`Problem`)."
    ),
    modifiers(&BearerAuth),
    components(schemas(Problem))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The routes and their OpenAPI description, before state is attached.
/// The scope (Province or platform) of an act on the object `kind` `id` (`tender`, `lot`, `bid`,
/// `request`, `municipality`, `clarification`), to take its write lock: 404 naming `kind` if there is none.
pub(crate) async fn scope_of(
    db: &crate::db::Db,
    kind: &'static str,
    id: uuid::Uuid,
) -> crate::error::ApiResult<crate::db::Scope> {
    match crate::db::Scope::of_object(&db.conn, kind, id).await {
        Ok(s) => Ok(s),
        Err(sea_orm::DbErr::RecordNotFound(_)) => Err(crate::error::AppError::NotFound(kind)),
        Err(e) => Err(e.into()),
    }
}

pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(admin::router())
        .merge(requests::router())
        .merge(tenders::router())
        .merge(bids::router())
        .merge(public::router())
        .merge(register::router())
        .merge(bid_files::router())
        .merge(documents::router())
        .merge(messages::router())
        .merge(pcp::router())
        .merge(audit::router())
        .split_for_parts();
    (router, doc)
}

/// The application: every route, with the health probes and `/openapi.json`.
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes();
    let doc = std::sync::Arc::new(doc);
    // the console calls the API's handlers in process (same code path, same access rules)
    let api = router.clone().with_state(state.clone());
    crate::console::attach(router, api)
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json((*doc).clone()) }
            }),
        )
        .fallback(|| async { crate::error::AppError::NotFound("route") })
        .layer(axum::middleware::map_response(problem_for_rejections))
        .with_state(state)
}

/// axum's own extractor rejections (a malformed id in the path, a bad query string, a wrong content
/// type) are plain text: turn every such 4xx into a problem document so clients see one error format.
async fn problem_for_rejections(resp: axum::response::Response) -> axum::response::Response {
    let status = resp.status();
    let plain = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return resp;
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&bytes).into_owned();
    let err = match status {
        StatusCode::UNAUTHORIZED => crate::error::AppError::Unauthorized,
        StatusCode::NOT_FOUND => crate::error::AppError::NotFound("resource"),
        StatusCode::PAYLOAD_TOO_LARGE => crate::error::AppError::TooLarge,
        StatusCode::UNPROCESSABLE_ENTITY => crate::error::AppError::bad("", detail),
        _ => crate::error::AppError::Malformed(detail),
    };
    let mut out = err.into_response();
    *out.status_mut() = status;
    out
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    database: &'static str,
    version: &'static str,
}

async fn live() -> impl IntoResponse {
    Json(serde_json::json!({"status": "alive"}))
}

/// Liveness and readiness: 200 when the database answers, 503 otherwise.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let ok = state.db.ping().await.is_ok();
    let body = Health {
        status: if ok { "ok" } else { "degraded" },
        database: if ok { "up" } else { "down" },
        version: env!("CARGO_PKG_VERSION"),
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body))
}
