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

/// A bid's envelope, as a path segment (`sealed::parse_kind` reads it): documentation only.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // the schema of a path parameter
pub enum EnvelopeKind {
    Administrative,
    Technical,
    Economic,
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every error answer is an `application/problem+json` [`Problem`]: the handlers' annotations name the
/// refusals of their own rules (403, 404, 409, 413, 415, 422...); the answers every operation can give
/// from the layers around it are added here, once: 400 (a malformed path, query, header or JSON body),
/// 401 (an unknown, revoked or expired bearer token: public routes read an optional token too), 408 (the
/// request time limit), 422 (input the schema cannot express), 429 (the per-token rate limit, with
/// `Retry-After`), 503 (the database unreachable, with `Retry-After`), plus 404 where the path has an id, and 413 and 415 where there is a request body.
/// Applied after the routes are merged ([`routes`]).
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{
            ContentBuilder, Ref, ResponseBuilder, header::HeaderBuilder, path::Operation,
        };
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        let fix = |path: &str, op: &mut Operation| {
            let mut codes: Vec<(&str, &str)> = vec![
                (
                    "400",
                    "Malformed request (path, query, header or JSON syntax)",
                ),
                ("401", "Missing, unknown, revoked or expired token"),
                ("408", "The request took longer than the time limit"),
                ("422", "Invalid input; `field` names it"),
                ("429", "Too many requests for this token; see `Retry-After`"),
                (
                    "503",
                    "The database is unreachable for now; nothing was stored, retry after `Retry-After`",
                ),
            ];
            if path.contains('{') {
                codes.push(("404", "Not found"));
            }
            if op.request_body.is_some() {
                codes.push(("413", "Payload too large"));
                codes.push(("415", "Unsupported media type"));
            }
            if op.security.is_some() {
                codes.push(("403", "Forbidden for this caller"));
            }
            for (code, what) in codes {
                if !op.responses.responses.contains_key(code) {
                    let mut r = ResponseBuilder::new().description(what);
                    if code == "429" || code == "503" {
                        r = r.header(
                            "Retry-After",
                            HeaderBuilder::new()
                                .schema(Some(
                                    utoipa::openapi::ObjectBuilder::new()
                                        .schema_type(utoipa::openapi::schema::Type::Integer),
                                ))
                                .description(Some("Seconds to wait"))
                                .build(),
                        );
                    }
                    op.responses
                        .responses
                        .insert(code.to_owned(), r.build().into());
                }
            }
            for (code, resp) in op.responses.responses.iter_mut() {
                if !(code.starts_with('4') || code.starts_with('5')) {
                    continue;
                }
                if let utoipa::openapi::RefOr::T(r) = resp {
                    r.content.clear();
                    r.content
                        .insert("application/problem+json".to_owned(), problem().into());
                }
            }
        };
        // the free-text rule of `domain::text`, which `error::ApiJson` applies to every string of every
        // JSON body: stated on each string property of the request bodies' schemas
        let mut bodies = Vec::new();
        for item in openapi.paths.paths.values() {
            for op in [&item.post, &item.put, &item.patch].into_iter().flatten() {
                if let Some(utoipa::openapi::RefOr::T(b)) = &op.request_body
                    && let Some(utoipa::openapi::RefOr::T(c)) = b.content.get("application/json")
                    && let Some(utoipa::openapi::RefOr::Ref(r)) = &c.schema
                {
                    bodies.push(
                        r.ref_location
                            .trim_start_matches("#/components/schemas/")
                            .to_owned(),
                    );
                }
            }
        }
        if let Some(components) = openapi.components.as_mut() {
            let mut seen = std::collections::BTreeSet::new();
            while let Some(name) = bodies.pop() {
                if !seen.insert(name.clone()) {
                    continue;
                }
                if let Some(schema) = components.schemas.get_mut(&name) {
                    free_text_patterns(schema, &mut bodies);
                }
            }
        }
        for (path, item) in openapi.paths.paths.iter_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
            ]
            .into_iter()
            .flatten()
            {
                fix(path, op);
            }
        }
    }
}

/// `domain::text`'s rule as a JSON Schema pattern (ECMA-262 syntax).
pub const FREE_TEXT_PATTERN: &str =
    "^[^\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";

/// Put [`FREE_TEXT_PATTERN`] on every plain string property of `schema` (recursively through inline
/// objects, arrays and combinators); collect the components it refers to in `refs`.
fn free_text_patterns(
    schema: &mut utoipa::openapi::RefOr<utoipa::openapi::Schema>,
    refs: &mut Vec<String>,
) {
    use utoipa::openapi::{
        RefOr, Schema,
        schema::{SchemaType, Type},
    };
    match schema {
        RefOr::Ref(r) => refs.push(
            r.ref_location
                .trim_start_matches("#/components/schemas/")
                .to_owned(),
        ),
        RefOr::T(Schema::Object(o)) => {
            let is_string = match &o.schema_type {
                SchemaType::Type(Type::String) => true,
                SchemaType::Array(ts) => ts.contains(&Type::String),
                _ => false,
            };
            if is_string && o.format.is_none() && o.pattern.is_none() && o.enum_values.is_none() {
                o.pattern = Some(FREE_TEXT_PATTERN.to_owned());
            }
            for p in o.properties.values_mut() {
                free_text_patterns(p, refs);
            }
        }
        RefOr::T(Schema::Array(a)) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut a.items {
                free_text_patterns(items, refs);
            }
        }
        RefOr::T(Schema::OneOf(c)) => c.items.iter_mut().for_each(|s| free_text_patterns(s, refs)),
        RefOr::T(Schema::AllOf(c)) => c.items.iter_mut().for_each(|s| free_text_patterns(s, refs)),
        RefOr::T(Schema::AnyOf(c)) => c.items.iter_mut().for_each(|s| free_text_patterns(s, refs)),
        _ => {}
    }
}

/// A refusal to see a related object (not found, or not the caller's) answered as `what` not found, so
/// the answer does not tell which; any other failure (the database unreachable...) as itself.
pub(crate) fn hidden_as(
    what: &'static str,
) -> impl Fn(workflow::WorkflowError) -> crate::error::AppError {
    move |e| match e {
        workflow::WorkflowError::NotFound(_) | workflow::WorkflowError::Forbidden(_) => {
            crate::error::AppError::NotFound(what)
        }
        other => crate::error::AppError::from(other),
    }
}

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

/// The routes and their OpenAPI description, before state is attached.
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
    let mut doc = doc;
    ProblemResponses.modify(&mut doc);
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

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::collections::BTreeSet;

    /// Every object schema reachable from `s` that lists `properties` must say
    /// `additionalProperties: false` (the body refuses unknown fields: `error::ApiJson`).
    fn open_objects(
        doc: &Value,
        s: &Value,
        at: &str,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            if !seen.insert(r.to_owned()) {
                return;
            }
            let name = r.trim_start_matches("#/components/schemas/");
            let target = &doc["components"]["schemas"][name];
            return open_objects(doc, target, name, seen, out);
        }
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            if s.get("additionalProperties") != Some(&Value::Bool(false)) {
                out.push(at.to_owned());
            }
            for (k, p) in props {
                open_objects(doc, p, &format!("{at}.{k}"), seen, out);
            }
        }
        for key in ["allOf", "oneOf", "anyOf"] {
            for (i, sub) in s
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                open_objects(doc, sub, &format!("{at}/{key}[{i}]"), seen, out);
            }
        }
        if let Some(items) = s.get("items") {
            open_objects(doc, items, &format!("{at}[]"), seen, out);
        }
    }

    #[test]
    fn every_json_request_body_refuses_unknown_fields_in_the_schema() {
        let (_, doc) = super::routes();
        let doc = serde_json::to_value(&doc).unwrap();
        let mut bodies = 0;
        let mut open = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(s) = op.pointer("/requestBody/content/application~1json/schema") else {
                    continue;
                };
                bodies += 1;
                let mut seen = BTreeSet::new();
                open_objects(&doc, s, &format!("{method} {path}"), &mut seen, &mut open);
            }
        }
        assert!(bodies >= 30, "only {bodies} JSON request bodies found");
        assert!(
            open.is_empty(),
            "schemas without additionalProperties: false: {open:#?}"
        );
    }
}
