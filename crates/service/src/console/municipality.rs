//! The municipality's pages: its requests (with the new-request form, checked field by field with the
//! API's own checks), each request's thread with the SUA's questions, and the tenders made from them.

use super::{Ctx, back, render};
use crate::api::requests::{NewRequest, RequestLot, check_new_request};
use crate::state::AppState;
use axum::{
    Form, Router,
    extract::Path,
    http::{Method, StatusCode},
    response::Response,
    routing::{get, post},
};
use minijinja::context;
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;
use workflow::access::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/comune", get(home))
        .route("/comune/richieste", post(submit))
        .route("/comune/richieste/{id}", get(request_page))
        .route("/comune/richieste/{id}/messaggi", post(message))
}

/// The Italian name of a request field (the API's field paths).
fn field_label(field: &str) -> &str {
    match field {
        "object" => "Oggetto",
        "contract_type" => "Tipo di contratto",
        "cpv" => "CPV",
        "cup" => "CUP",
        "estimated_amount" => "Importo stimato",
        "rup" => "RUP",
        "funding_source" => "Fonte di finanziamento",
        "desired_criterion" => "Criterio richiesto",
        other => other,
    }
}

async fn home_with(
    ctx: &Ctx,
    form: HashMap<String, String>,
    errors: HashMap<String, String>,
) -> Response {
    let (reqs, tenders) = tokio::join!(
        ctx.api(Method::GET, "/v1/requests?per_page=200", None),
        ctx.api(Method::GET, "/v1/tenders?per_page=200", None),
    );
    let reqs = match reqs {
        Ok(v) => v,
        Err(f) => return ctx.fail_page(&f),
    };
    let tenders = tenders
        .map(|t| t["items"].clone())
        .unwrap_or(Value::Array(vec![]));
    let mut r = render::page(
        ctx,
        "muni_home.html",
        context! {
            title => "Il mio Comune",
            requests => reqs["items"], tenders => tenders, form => form, errors => errors,
        },
    );
    if !errors.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn home(ctx: Ctx) -> Response {
    if let Err(r) = ctx.require(Role::Municipality) {
        return r;
    }
    let mut form = HashMap::new();
    form.insert("contract_type".to_owned(), "services".to_owned());
    form.insert("desired_criterion".to_owned(), "lowest_price".to_owned());
    home_with(&ctx, form, HashMap::new()).await
}

async fn submit(ctx: Ctx, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = ctx
        .require(Role::Municipality)
        .and_then(|_| ctx.check_csrf(&f))
    {
        return r;
    }
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let opt = |k: &str| Some(get(k)).filter(|v| !v.trim().is_empty());
    let amount = get("estimated_amount").trim().replace(',', ".");
    let b = NewRequest {
        object: get("object"),
        contract_type: get("contract_type"),
        cpv: get("cpv").trim().to_owned(),
        cup: opt("cup").map(|c| c.trim().to_owned()),
        estimated_amount: amount.clone(),
        lots: vec![RequestLot {
            title: "Lotto unico".into(),
            estimated_amount: amount,
        }],
        rup: get("rup"),
        funding_source: get("funding_source"),
        desired_criterion: get("desired_criterion"),
        desired_timing: opt("desired_timing"),
    };
    // every field checked by the API's own checks, each message next to its field; nothing is sent
    if let Err(errs) = check_new_request(&b) {
        let errors: HashMap<String, String> = errs
            .into_iter()
            .filter_map(|e| match e {
                crate::error::AppError::BadRequest { field, detail } => {
                    let field = if field.starts_with("lots[") {
                        "estimated_amount".to_owned()
                    } else {
                        field
                    };
                    let msg = format!(
                        "{}: {}",
                        field_label(&field),
                        detail.split_once(": ").map_or(detail.as_str(), |x| x.1)
                    );
                    Some((field, msg))
                }
                _ => None,
            })
            .collect();
        return home_with(&ctx, f, errors).await;
    }
    let body = json!({
        "object": b.object, "contract_type": b.contract_type, "cpv": b.cpv, "cup": b.cup,
        "estimated_amount": b.estimated_amount,
        "lots": [{"title": "Lotto unico", "estimated_amount": b.lots[0].estimated_amount}],
        "rup": b.rup, "funding_source": b.funding_source, "desired_criterion": b.desired_criterion,
        "desired_timing": b.desired_timing,
    });
    match ctx.api(Method::POST, "/v1/requests", Some(body)).await {
        Ok(v) => back(
            &format!("/comune/richieste/{}", v["id"].as_str().unwrap_or_default()),
            Ok("Richiesta inviata alla SUA.".into()),
        ),
        Err(e) => {
            let mut errors = HashMap::new();
            errors.insert(
                e.field.clone().unwrap_or_else(|| "object".into()),
                e.message(),
            );
            home_with(&ctx, f, errors).await
        }
    }
}

async fn request_page(ctx: Ctx, Path(id): Path<Uuid>) -> Response {
    if let Err(r) = ctx.require(Role::Municipality) {
        return r;
    }
    let r = match ctx
        .api(Method::GET, &format!("/v1/requests/{id}"), None)
        .await
    {
        Ok(v) => v,
        Err(f) => return ctx.fail_page(&f),
    };
    let msgs = ctx
        .api(Method::GET, &format!("/v1/requests/{id}/messages"), None)
        .await
        .unwrap_or(Value::Array(vec![]));
    let tender = match r["tender_id"].as_str() {
        Some(t) => ctx
            .api(Method::GET, &format!("/v1/tenders/{t}"), None)
            .await
            .ok(),
        None => None,
    };
    render::page(
        &ctx,
        "muni_request.html",
        context! {
            title => r["object"].as_str().unwrap_or("Richiesta"),
            r => r, messages => msgs, tender => tender,
        },
    )
}

async fn message(
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    if let Err(r) = ctx
        .require(Role::Municipality)
        .and_then(|_| ctx.check_csrf(&f))
    {
        return r;
    }
    let body = json!({"body": f.get("body").cloned().unwrap_or_default()});
    let to = format!("/comune/richieste/{id}");
    match ctx
        .api(
            Method::POST,
            &format!("/v1/requests/{id}/messages"),
            Some(body),
        )
        .await
    {
        Ok(_) => back(&to, Ok("Risposta inviata alla SUA.".into())),
        Err(e) => back(&to, Err(e.message())),
    }
}
