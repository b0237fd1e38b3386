//! The bidder's pages: published tenders and invitations, its bids (submit, replace, withdraw before
//! the deadline, files with a progress bar), the signed receipts, the outcomes. Every action is the
//! API's bid operation; the file upload streams through to the API's upload route.

use super::{Ctx, back, render};
use crate::state::AppState;
use axum::{
    Form, Router,
    body::Body,
    extract::{Path, Request},
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post, put},
};
use minijinja::context;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;
use workflow::access::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/impresa", get(home))
        .route("/impresa/gare/{id}", get(tender_page))
        .route("/impresa/gare/{id}/lotti/{lot}/offerta", post(submit))
        .route("/impresa/gare/{id}/chiarimenti", post(ask))
        .route(
            "/impresa/gare/{id}/offerte/{bid}/sostituisci",
            post(replace),
        )
        .route("/impresa/gare/{id}/offerte/{bid}/ritira", post(withdraw))
        .route("/impresa/offerte/{bid}/ricevuta", get(receipt))
        .route(
            "/impresa/offerte/{bid}/buste/{kind}/files/{name}",
            put(upload),
        )
}

type F = Form<HashMap<String, String>>;

async fn my_bids(ctx: &Ctx) -> Vec<Value> {
    ctx.api(Method::GET, "/v1/bids?per_page=200", None)
        .await
        .ok()
        .and_then(|v| v["items"].as_array().cloned())
        .unwrap_or_default()
}

async fn home(ctx: Ctx) -> Response {
    let p = match ctx.require(Role::Bidder) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let tenders = match ctx.api(Method::GET, "/v1/tenders?per_page=200", None).await {
        Ok(v) => v["items"].as_array().cloned().unwrap_or_default(),
        Err(f) => return ctx.fail_page(&f),
    };
    let bids = my_bids(&ctx).await;
    let mine = p.org.map(|o| o.to_string()).unwrap_or_default();
    let rows: Vec<Value> = tenders
        .into_iter()
        .map(|mut t| {
            let proc: Option<lifecycle::ProcedureType> =
                t["procedure_type"].as_str().and_then(|s| s.parse().ok());
            t["invitation"] = json!(proc.is_some_and(|p| p.offers_by_invitation()));
            let tid = t["id"].clone();
            let my: Vec<Value> = bids
                .iter()
                .filter(|b| b["tender_id"] == tid)
                .cloned()
                .collect();
            // the outcome: my bid awarded on a lot, or not
            let awarded = t["lots"].as_array().into_iter().flatten().any(|l| {
                my.iter()
                    .any(|b| b["id"] == l["awardee_bid_id"] && !b["id"].is_null())
            });
            t["my_bids"] = json!(my.len());
            t["awarded_to_me"] = json!(awarded);
            t
        })
        .collect();
    render::page(
        &ctx,
        "bidder_home.html",
        context! { title => "La mia impresa", tenders => rows, bids => bids, operator => mine },
    )
}

async fn tender_page(ctx: Ctx, Path(id): Path<Uuid>) -> Response {
    if let Err(r) = ctx.require(Role::Bidder) {
        return r;
    }
    let t = match ctx
        .api(Method::GET, &format!("/v1/tenders/{id}"), None)
        .await
    {
        Ok(v) => v,
        Err(f) => return ctx.fail_page(&f),
    };
    let bids: Vec<Value> = my_bids(&ctx)
        .await
        .into_iter()
        .filter(|b| b["tender_id"].as_str() == Some(&id.to_string()))
        .collect();
    let clar = ctx
        .api(
            Method::GET,
            &format!("/v1/tenders/{id}/clarifications"),
            None,
        )
        .await
        .unwrap_or(Value::Array(vec![]));
    let docs = ctx
        .api(Method::GET, &format!("/v1/tenders/{id}/documents"), None)
        .await
        .unwrap_or(Value::Array(vec![]));
    let now = ctx.state.now();
    let open = t["deadline"]
        .as_str()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .is_some_and(|d| lifecycle::participation::offers_open(d.with_timezone(&chrono::Utc), now))
        && t["state"] == "open";
    let lots: Vec<Value> = t["lots"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let live = bids
                .iter()
                .find(|b| b["lot_id"] == l["id"] && b["state"] != "withdrawn")
                .cloned();
            let awarded_to_me = live
                .as_ref()
                .is_some_and(|b| b["id"] == l["awardee_bid_id"]);
            json!({"lot": l, "bid": live, "awarded_to_me": awarded_to_me})
        })
        .collect();
    render::page(
        &ctx,
        "bidder_tender.html",
        context! {
            title => t["title"].as_str().unwrap_or("Gara"),
            t => t, lots => lots, open => open, clarifications => clar, documents => docs,
            base_url => ctx.state.settings.http.public_base_url.clone(),
        },
    )
}

fn to_tender(id: Uuid) -> String {
    format!("/impresa/gare/{id}")
}

fn guard(ctx: &Ctx, f: &HashMap<String, String>) -> Result<(), Response> {
    ctx.require(Role::Bidder)?;
    ctx.check_csrf(f)
}

fn content(f: &HashMap<String, String>) -> Value {
    let d = f
        .get("declared_discount")
        .map(|d| d.trim().replace(',', "."))
        .unwrap_or_default();
    json!({"declared_discount": d})
}

async fn submit(ctx: Ctx, Path((id, lot)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guard(&ctx, &f) {
        return r;
    }
    let r = ctx
        .api(
            Method::POST,
            &format!("/v1/lots/{lot}/bids"),
            Some(content(&f)),
        )
        .await;
    back(
        &to_tender(id),
        r.map(|_| "Offerta presentata: la ricevuta firmata è disponibile.".to_owned())
            .map_err(|e| e.message()),
    )
}

async fn replace(ctx: Ctx, Path((id, bid)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guard(&ctx, &f) {
        return r;
    }
    let r = ctx
        .api(Method::PUT, &format!("/v1/bids/{bid}"), Some(content(&f)))
        .await;
    back(
        &to_tender(id),
        r.map(|_| "Offerta sostituita: nuova ricevuta firmata.".to_owned())
            .map_err(|e| e.message()),
    )
}

async fn withdraw(ctx: Ctx, Path((id, bid)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guard(&ctx, &f) {
        return r;
    }
    let r = ctx
        .api(
            Method::POST,
            &format!("/v1/bids/{bid}/withdraw"),
            Some(json!({})),
        )
        .await;
    back(
        &to_tender(id),
        r.map(|_| "Offerta ritirata.".to_owned())
            .map_err(|e| e.message()),
    )
}

async fn ask(ctx: Ctx, Path(id): Path<Uuid>, Form(f): F) -> Response {
    if let Err(r) = guard(&ctx, &f) {
        return r;
    }
    let body = json!({"question": f.get("question").cloned().unwrap_or_default()});
    let r = ctx
        .api(
            Method::POST,
            &format!("/v1/tenders/{id}/clarifications"),
            Some(body),
        )
        .await;
    back(
        &to_tender(id),
        r.map(|_| "Domanda inviata alla SUA.".to_owned())
            .map_err(|e| e.message()),
    )
}

/// The latest signed receipt of a bid, as a file for `sua receipt verify`.
async fn receipt(ctx: Ctx, Path(bid): Path<Uuid>) -> Response {
    if let Err(r) = ctx.require(Role::Bidder) {
        return r;
    }
    let env = match ctx
        .api(Method::GET, &format!("/v1/bids/{bid}/envelopes"), None)
        .await
    {
        Ok(v) => v,
        Err(f) => return ctx.fail_page(&f),
    };
    let Some(last) = env["receipts"].as_array().and_then(|r| r.last()).cloned() else {
        return ctx.error_page(
            StatusCode::NOT_FOUND,
            "Nessuna ricevuta per questa offerta.",
        );
    };
    let body = serde_json::to_vec_pretty(&last).unwrap_or_default();
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"ricevuta-{bid}.json\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

/// A file of an envelope, streamed through to `PUT /v1/bids/{id}/envelopes/{kind}/files/{name}` with the
/// session's token. The CSRF token comes in the `X-CSRF-Token` header (the page's script sends it).
async fn upload(
    ctx: Ctx,
    Path((bid, kind, name)): Path<(Uuid, String, String)>,
    req: Request,
) -> Response {
    if let Err(r) = ctx.require(Role::Bidder) {
        return r;
    }
    let token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Err(r) = ctx.check_csrf_value(token.as_deref()) {
        return r;
    }
    let (parts, body) = req.into_parts();
    let mut out = axum::http::Request::builder()
        .method(Method::PUT)
        .uri(format!(
            "/v1/bids/{bid}/envelopes/{}/files/{}",
            super::urlencode(&kind),
            super::urlencode(&name)
        ));
    if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
        out = out.header(header::CONTENT_TYPE, ct);
    }
    if let Some(len) = parts.headers.get(header::CONTENT_LENGTH) {
        out = out.header(header::CONTENT_LENGTH, len);
    }
    if let Some(tok) = ctx.session.as_ref().and_then(|s| s.token.as_deref()) {
        out = out.header(header::AUTHORIZATION, format!("Bearer {tok}"));
    }
    let Ok(out) = out.body(Body::new(body)) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match ctx.dispatch(out).await {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(f) => (
            StatusCode::from_u16(f.status).unwrap_or(StatusCode::BAD_REQUEST),
            axum::Json(json!({"detail": f.message()})),
        )
            .into_response(),
    }
}
