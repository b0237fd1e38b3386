//! The HTTP API (axum 0.8). [`app`] builds the whole router, so tests can drive it with
//! `tower::ServiceExt::oneshot` without a socket; the OpenAPI 3.1 document is generated from the handlers'
//! `#[utoipa::path]` annotations and served at `/openapi.json`.

pub mod admin;
pub mod bids;
pub mod public;
pub mod requests;
pub mod tenders;
pub mod validate;

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
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(admin::router())
        .merge(requests::router())
        .merge(tenders::router())
        .merge(bids::router())
        .merge(public::router())
        .merge(crate::register::router())
        .split_for_parts();
    (router, doc)
}

/// The application: every route, with the health probes and `/openapi.json`.
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes();
    let doc = std::sync::Arc::new(doc);
    router
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
        .with_state(state)
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
