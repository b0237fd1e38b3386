//! The platform administrator's pages: Provinces and municipalities (list and the API's create forms),
//! tokens (the API's issue form: the token is shown once), the audit chain's verification and the mail
//! outbox's state. Every write is the API's operation; reads are the tables the API writes.

use super::{Ctx, back, render};
use crate::db::entities::{api_token, municipality, province};
use crate::state::AppState;
use axum::{
    Form, Router,
    http::{Method, StatusCode},
    response::Response,
    routing::{get, post},
};
use minijinja::context;
use sea_orm::{
    EntityTrait, FromQueryResult, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, Query},
};
use serde_json::{Value, json};
use std::collections::HashMap;
use workflow::access::Role;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home))
        .route("/admin/province", post(new_province))
        .route("/admin/comuni", post(new_municipality))
        .route("/admin/token", post(new_token))
        .route("/admin/registro", get(audit))
}

type F = Form<HashMap<String, String>>;

#[derive(FromQueryResult)]
struct StatusCount {
    status: String,
    n: i64,
}

/// A refused form: its name, the values sent, the message of each field.
type Refused<'a> = (
    &'a str,
    &'a HashMap<String, String>,
    HashMap<String, String>,
);

/// The page, with the values and the field errors of the form that was just refused (`form`).
async fn render_home(ctx: &Ctx, form: Option<Refused<'_>>, issued: Option<Value>) -> Response {
    let db = &ctx.state.db.conn;
    let read = async {
        let provinces = province::Entity::find()
            .order_by_asc(province::Column::Code)
            .all(db)
            .await?;
        let munis = municipality::Entity::find()
            .order_by_asc(municipality::Column::Name)
            .limit(1000)
            .all(db)
            .await?;
        let tokens = api_token::Entity::find()
            .order_by_desc(api_token::Column::CreatedAt)
            .limit(50)
            .all(db)
            .await?;
        let backend = db.get_database_backend();
        let outbox = StatusCount::find_by_statement(
            backend.build(
                Query::select()
                    .column(Alias::new("status"))
                    .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), Alias::new("n"))
                    .from(notify::entity::Entity)
                    .group_by_col(Alias::new("status")),
            ),
        )
        .all(db)
        .await?;
        Ok::<_, sea_orm::DbErr>((provinces, munis, tokens, outbox))
    };
    let (provinces, munis, tokens, outbox) = match read.await {
        Ok(x) => x,
        Err(e) => {
            return ctx.fail_page(&super::Fail {
                status: 500,
                detail: e.to_string(),
                field: None,
                rule: None,
            });
        }
    };
    let pname = |id: uuid::Uuid| {
        provinces
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    let munis_v: Vec<Value> = munis
        .iter()
        .map(|m| json!({"id": m.id, "name": m.name, "cf": m.codice_fiscale, "pec": m.pec, "province": pname(m.province_id)}))
        .collect();
    let tokens_v: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"role": t.role, "label": t.label, "org": t.org_id, "created_at": t.created_at, "revoked": t.revoked_at.is_some()}))
        .collect();
    let outbox_v: Vec<Value> = outbox
        .iter()
        .map(|c| json!({"status": c.status, "n": c.n}))
        .collect();
    let (which, values, errors) = match form {
        Some((w, v, e)) => (w, v.clone(), e),
        None => ("", HashMap::new(), HashMap::new()),
    };
    let roles: Vec<(&str, &str)> = [
        Role::SuaBuyer,
        Role::Municipality,
        Role::Bidder,
        Role::Commissioner,
        Role::PlatformAdmin,
    ]
    .iter()
    .map(|r| (r.as_str(), render::label(r.as_str())))
    .collect();
    let mut r = render::page(
        ctx,
        "admin_home.html",
        context! {
            title => "Amministrazione della piattaforma",
            provinces => provinces.iter().map(|p| json!({"id": p.id, "code": p.code, "name": p.name})).collect::<Vec<_>>(),
            municipalities => munis_v, tokens => tokens_v, outbox => outbox_v, roles => roles,
            form => which, values => values, errors => errors, issued => issued,
        },
    );
    if !which.is_empty() {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    r
}

async fn home(ctx: Ctx) -> Response {
    if let Err(r) = ctx.require(Role::PlatformAdmin) {
        return r;
    }
    render_home(&ctx, None, None).await
}

fn guarded(ctx: &Ctx, f: &HashMap<String, String>) -> Result<(), Response> {
    ctx.require(Role::PlatformAdmin)?;
    ctx.check_csrf(f)
}

/// The field an API refusal names (`declarations.x` → `x`), or `general`.
fn field_of(f: &super::Fail) -> String {
    f.field
        .as_deref()
        .map(|x| x.rsplit('.').next().unwrap_or(x).to_owned())
        .filter(|x| !x.is_empty())
        .unwrap_or_else(|| "general".into())
}

/// Call the API with a form's body; on a refusal, the page again with the error next to its field.
async fn submit(
    ctx: &Ctx,
    form: &str,
    f: &HashMap<String, String>,
    path: &str,
    body: Value,
) -> Result<Value, Response> {
    match ctx.api(Method::POST, path, Some(body)).await {
        Ok(v) => Ok(v),
        Err(e) => {
            let errors = HashMap::from([(field_of(&e), e.message())]);
            Err(render_home(ctx, Some((form, f, errors)), None).await)
        }
    }
}

async fn new_province(ctx: Ctx, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f) {
        return r;
    }
    let body = json!({"code": f.get("code").cloned().unwrap_or_default(), "name": f.get("name").cloned().unwrap_or_default()});
    match submit(&ctx, "province", &f, "/v1/provinces", body).await {
        Ok(_) => back("/admin", Ok("Provincia creata.".into())),
        Err(r) => r,
    }
}

async fn new_municipality(ctx: Ctx, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f) {
        return r;
    }
    let text = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let province_id = match text("province_id").parse::<uuid::Uuid>() {
        Ok(p) => p,
        Err(_) => {
            let errors = HashMap::from([(
                "province_id".to_owned(),
                "Scegliere la Provincia.".to_owned(),
            )]);
            return render_home(&ctx, Some(("comune", &f, errors)), None).await;
        }
    };
    let mut body = json!({
        "province_id": province_id, "name": text("name"), "codice_fiscale": text("codice_fiscale"),
    });
    if !text("pec").is_empty() {
        body["pec"] = json!(text("pec"));
    }
    match submit(&ctx, "comune", &f, "/v1/municipalities", body).await {
        Ok(_) => back("/admin", Ok("Comune creato.".into())),
        Err(r) => r,
    }
}

async fn new_token(ctx: Ctx, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f) {
        return r;
    }
    let text = |k: &str| f.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let org = match text("org") {
        o if o.is_empty() => None,
        o => match o.parse::<uuid::Uuid>() {
            Ok(u) => Some(u),
            Err(_) => {
                let errors = HashMap::from([(
                    "org".to_owned(),
                    "Organizzazione: un identificativo (UUID) o vuoto.".to_owned(),
                )]);
                return render_home(&ctx, Some(("token", &f, errors)), None).await;
            }
        },
    };
    let body = json!({"role": text("role"), "org": org, "label": text("label")});
    match submit(&ctx, "token", &f, "/v1/tokens", body).await {
        // shown once, on this answer only (never stored in clear, never in a URL)
        Ok(v) => render_home(&ctx, None, Some(v)).await,
        Err(r) => r,
    }
}

/// The audit chain, walked from the first entry (`sua audit verify` does the same).
async fn audit(ctx: Ctx) -> Response {
    if let Err(r) = ctx.require(Role::PlatformAdmin) {
        return r;
    }
    let verdict = workflow::audit::verify(&ctx.state.db.conn).await;
    let (intact, entries, chains, chain, seq, reason) = match verdict {
        Ok(workflow::audit::Verdict::Intact { entries, chains }) => {
            (true, entries, chains, None, None, None)
        }
        Ok(workflow::audit::Verdict::Broken { chain, seq, reason }) => {
            (false, 0, 0, Some(chain), Some(seq), Some(reason))
        }
        Err(e) => {
            return ctx.fail_page(&super::Fail {
                status: 500,
                detail: e.to_string(),
                field: None,
                rule: None,
            });
        }
    };
    render::page(
        &ctx,
        "admin_audit.html",
        context! {
            title => "Registro delle operazioni",
            intact => intact, entries => entries, chains => chains, chain => chain, seq => seq,
            reason => reason,
            checked_at => ctx.state.now().to_rfc3339(),
        },
    )
}
