//! The SUA buyer's pages: dashboard, request inbox, tender page with its lifecycle buttons.
//!
//! Reads go through the workflow's access functions (`tenders_of`, `manage_tender`) or the API itself;
//! every action is the API's operation (`Ctx::api`); a button is enabled by `workflow::transition::
//! check_*_event` (the lifecycle machine's dry run) and otherwise shows the rule that refuses it.

use super::{Ctx, back, charts, render, workflow_fail};
use crate::db::entities::{audit_entry, lot, procurement_request, tender};
use crate::state::AppState;
use axum::{
    Form, Router,
    extract::{Path, Query},
    http::Method,
    response::Response,
    routing::{get, post},
};
use chrono::{Datelike, Duration, TimeZone, Utc};
use minijinja::context;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
    sea_query::{Expr, ExprTrait as _, Query as SqlQuery},
};
use serde_json::{Value, json};
use std::collections::HashMap;
use uuid::Uuid;
use workflow::access::{Role, bids_of, lots_of};
use workflow::transition::{EventInput, check_bid_event, check_lot_event, check_tender_event};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sua", get(home))
        .route("/sua/richieste", get(requests))
        .route("/sua/richieste/{id}/accetta", post(accept))
        .route("/sua/richieste/{id}/restituisci", post(return_request))
        .route("/sua/gare/{id}", get(tender_page))
        .route("/sua/gare/{id}/evento", post(tender_event))
        .route("/sua/gare/{id}/scadenza", post(set_deadline))
        .route("/sua/gare/{id}/lotti/{lot}/cig", post(set_cig))
        .route("/sua/gare/{id}/lotti/{lot}/regole", post(set_rules))
        .route("/sua/gare/{id}/lotti/{lot}/evento", post(lot_event))
        .route("/sua/gare/{id}/lotti/{lot}/valuta", post(evaluate))
        .route("/sua/gare/{id}/offerte/{bid}/evento", post(bid_event))
        .route("/sua/gare/{id}/chiarimenti/{c}/risposta", post(answer))
}

type F = Form<HashMap<String, String>>;

fn fail(ctx: &Ctx, e: impl std::fmt::Display) -> Response {
    ctx.fail_page(&super::Fail {
        status: 500,
        detail: e.to_string(),
        field: None,
        rule: None,
    })
}

#[derive(FromQueryResult)]
struct StateCount {
    state: String,
    n: i64,
}

/// A chart's rows: label, value, value as shown.
type Rows = Vec<(String, f64, String)>;

#[derive(Clone)]
pub struct Spend {
    key: Option<String>,
    n: i64,
    cents: Option<i64>,
}

/// What the dashboard aggregates over all the caller's tenders (the costly part of the page).
pub struct Overview {
    counts: Vec<(String, i64)>,
    soon: Vec<tender::Model>,
    inbox: u64,
    by_muni: Vec<Spend>,
    by_proc: Vec<Spend>,
}

type OverviewKey = (&'static str, Option<Uuid>, i32);
/// When it was read: the database's write generation and the instant.
type Stamped = (u64, std::time::Instant, std::sync::Arc<Overview>);

/// The dashboards' aggregates, as the public API's cache keeps its answers: served while no write has
/// committed in this process since they were read and for at most [`crate::api::public::TTL`] (the bound
/// for writes made by another replica).
#[derive(Default)]
pub struct OverviewCache {
    /// One reading at a time: the requests that miss wait for it and take its result.
    fill: tokio::sync::Mutex<()>,
    entries: std::sync::Mutex<HashMap<OverviewKey, Stamped>>,
}

impl OverviewCache {
    fn get(&self, key: &OverviewKey, generation: u64) -> Option<std::sync::Arc<Overview>> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((g, at, o)) if *g == generation && at.elapsed() < crate::api::public::TTL => {
                Some(o.clone())
            }
            _ => None,
        }
    }

    fn put(&self, key: OverviewKey, generation: u64, o: Overview) -> std::sync::Arc<Overview> {
        let o = std::sync::Arc::new(o);
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 1024 {
            map.clear();
        }
        map.insert(key, (generation, std::time::Instant::now(), o.clone()));
        o
    }
}

/// Tenders published in `year` by the Province, per `column` (municipality or procedure type): how many
/// and the sum of their lots' base amounts.
async fn spend_by(
    st: &AppState,
    province: Uuid,
    year: i32,
    column: tender::Column,
) -> Result<Vec<Spend>, sea_orm::DbErr> {
    let from = Utc
        .with_ymd_and_hms(year, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let to = Utc
        .with_ymd_and_hms(year + 1, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let q = SqlQuery::select()
        .expr_as(
            Expr::col((tender::Entity, column)),
            sea_orm::sea_query::Alias::new("key"),
        )
        .expr_as(
            Expr::cust("CAST(COUNT(DISTINCT tender.id) AS BIGINT)"),
            sea_orm::sea_query::Alias::new("n"),
        )
        .expr_as(
            Expr::cust("CAST(SUM(lot.base_amount_cents) AS BIGINT)"),
            sea_orm::sea_query::Alias::new("cents"),
        )
        .from(tender::Entity)
        .inner_join(
            lot::Entity,
            Expr::col((lot::Entity, lot::Column::TenderId))
                .equals((tender::Entity, tender::Column::Id)),
        )
        .and_where(Expr::col((tender::Entity, tender::Column::ProvinceId)).eq(province))
        .and_where(Expr::col((tender::Entity, tender::Column::PublishedAt)).gte(from))
        .and_where(Expr::col((tender::Entity, tender::Column::PublishedAt)).lt(to))
        .add_group_by([Expr::col((tender::Entity, column))])
        .to_owned();
    let backend = st.db.conn.get_database_backend();
    let rows = st.db.conn.query_all_raw(backend.build(&q)).await?;
    rows.iter()
        .map(|r| {
            // the municipality id is a UUID column (a blob in SQLite), the procedure type text
            let key = match column {
                tender::Column::MunicipalityId => {
                    r.try_get::<Option<Uuid>>("", "key")?.map(|u| u.to_string())
                }
                _ => r.try_get::<Option<String>>("", "key")?,
            };
            Ok(Spend {
                key,
                n: r.try_get("", "n")?,
                cents: r.try_get("", "cents")?,
            })
        })
        .collect()
}

async fn home(ctx: Ctx, Query(q): Query<HashMap<String, String>>) -> Response {
    let p = match ctx.require(Role::SuaBuyer) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let st = &ctx.state;
    let now = st.now();
    let page: u64 = q.get("pagina").and_then(|p| p.parse().ok()).unwrap_or(1);
    let page = std::cmp::max(page, 1);
    let (sel, _) = workflow::access::tenders_of(&p);
    let province = p.org.unwrap_or_default();
    let year = q
        .get("anno")
        .and_then(|y| y.parse().ok())
        .unwrap_or_else(|| now.year());
    let key = (p.role.as_str(), p.org, year);
    let generation = st.db.writes().load(std::sync::atomic::Ordering::SeqCst);
    let cached = st.console.overview.get(&key, generation);
    let _fill = match cached {
        Some(_) => None,
        None => Some(st.console.overview.fill.lock().await),
    };
    let overview = match cached.or_else(|| st.console.overview.get(&key, generation)) {
        Some(o) => Ok(o),
        None => {
            let read = async {
                let counts = StateCount::find_by_statement(
                    st.db.conn.get_database_backend().build(
                        &sel.clone()
                            .select_only()
                            .column(tender::Column::State)
                            .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
                            .group_by(tender::Column::State)
                            .into_query(),
                    ),
                )
                .all(&st.db.conn);
                let soon = sel
                    .clone()
                    .filter(tender::Column::Deadline.gte(now))
                    .filter(tender::Column::Deadline.lt(now + Duration::days(14)))
                    .order_by_asc(tender::Column::Deadline)
                    .limit(50)
                    .all(&st.db.conn);
                let inbox = procurement_request::Entity::find()
                    .filter(procurement_request::Column::ProvinceId.eq(province))
                    .filter(procurement_request::Column::Status.eq("submitted"))
                    .count(&st.db.conn);
                let (counts, soon, inbox) = tokio::try_join!(counts, soon, inbox)?;
                let by_muni = spend_by(st, province, year, tender::Column::MunicipalityId).await?;
                let by_proc = spend_by(st, province, year, tender::Column::ProcedureType).await?;
                Ok::<_, sea_orm::DbErr>(Overview {
                    counts: counts.into_iter().map(|c| (c.state, c.n)).collect(),
                    soon,
                    inbox,
                    by_muni,
                    by_proc,
                })
            };
            read.await
                .map(|o| st.console.overview.put(key, generation, o))
        }
    };
    let recent = sel
        .clone()
        .order_by_desc(tender::Column::CreatedAt)
        .order_by_desc(tender::Column::Id)
        .offset((page - 1) * super::public::PER_PAGE)
        .limit(super::public::PER_PAGE)
        .all(&st.db.conn)
        .await;
    let (o, recent) = match (overview, recent) {
        (Ok(o), Ok(r)) => (o, r),
        (Err(e), _) | (_, Err(e)) => return fail(&ctx, e),
    };
    let (counts, soon, inbox, by_muni, by_proc) =
        (&o.counts, o.soon.clone(), o.inbox, &o.by_muni, &o.by_proc);
    let total: i64 = counts.iter().map(|c| c.1).sum();
    let counts: Vec<Value> = counts
        .iter()
        .map(|(state, n)| json!({"state": state, "n": n}))
        .collect();
    let soon = super::public::rows(st, soon).await.unwrap_or_default();
    let recent = super::public::rows(st, recent).await.unwrap_or_default();
    let names = super::public::municipality_names(
        st,
        by_muni
            .iter()
            .filter_map(|s| s.key.as_deref()?.parse().ok()),
    )
    .await
    .unwrap_or_default();
    let rows = |v: &[Spend], name: &dyn Fn(&str) -> String| -> (Rows, Rows) {
        let spend = v
            .iter()
            .map(|s| {
                let c = s.cents.unwrap_or(0);
                let label = name(s.key.as_deref().unwrap_or("—"));
                (
                    label,
                    c as f64,
                    render::euro(&workflow::views::cents_to_string(c)),
                )
            })
            .collect();
        let count = v
            .iter()
            .map(|s| {
                (
                    name(s.key.as_deref().unwrap_or("—")),
                    s.n as f64,
                    s.n.to_string(),
                )
            })
            .collect();
        (spend, count)
    };
    let muni_name = |k: &str| {
        k.parse::<Uuid>()
            .ok()
            .and_then(|id| names.get(&id).cloned())
            .unwrap_or_else(|| "senza Comune".to_owned())
    };
    let (muni_spend, muni_count) = rows(by_muni, &muni_name);
    let (proc_spend, proc_count) = rows(by_proc, &|k| render::label(k).to_owned());
    let pages = std::cmp::max((total as u64).div_ceil(super::public::PER_PAGE), 1);
    render::page(
        &ctx,
        "buyer_home.html",
        context! {
            title => "Cruscotto della SUA",
            counts => counts, total => total, soon => soon, recent => recent, inbox => inbox,
            page => page, pages => pages, year => year,
            chart_muni_spend => charts::bars("Importo a base di gara per Comune", &muni_spend),
            chart_muni_count => charts::bars("Numero di gare per Comune", &muni_count),
            chart_proc_spend => charts::bars("Importo per tipo di procedura", &proc_spend),
            chart_proc_count => charts::bars("Numero di gare per tipo di procedura", &proc_count),
            muni_rows => muni_spend.iter().zip(muni_count.iter()).map(|(a, b)| (a.0.clone(), a.2.clone(), b.2.clone())).collect::<Vec<_>>(),
            proc_rows => proc_spend.iter().zip(proc_count.iter()).map(|(a, b)| (a.0.clone(), a.2.clone(), b.2.clone())).collect::<Vec<_>>(),
        },
    )
}

async fn requests(ctx: Ctx) -> Response {
    if let Err(r) = ctx.require(Role::SuaBuyer) {
        return r;
    }
    let list = match ctx
        .api(Method::GET, "/v1/requests?per_page=200", None)
        .await
    {
        Ok(v) => v,
        Err(f) => return ctx.fail_page(&f),
    };
    let procedures: Vec<(&str, &str)> = lifecycle::ProcedureType::ALL
        .iter()
        .map(|p| (p.as_str(), render::label(p.as_str())))
        .collect();
    render::page(
        &ctx,
        "buyer_requests.html",
        context! { title => "Richieste dei Comuni", items => list["items"], procedures => procedures },
    )
}

async fn accept(ctx: Ctx, Path(id): Path<Uuid>, Form(f): F) -> Response {
    if let Err(r) = ctx.require(Role::SuaBuyer).and_then(|_| ctx.check_csrf(&f)) {
        return r;
    }
    let mut body = json!({"procedure_type": f.get("procedure_type").cloned().unwrap_or_default()});
    if let Some(t) = f.get("title").filter(|t| !t.trim().is_empty()) {
        body["title"] = json!(t);
    }
    match ctx
        .api(
            Method::POST,
            &format!("/v1/requests/{id}/accept"),
            Some(body),
        )
        .await
    {
        Ok(v) => back(
            &format!("/sua/gare/{}", v["tender_id"].as_str().unwrap_or_default()),
            Ok("Richiesta accettata: gara creata in bozza.".into()),
        ),
        Err(e) => back("/sua/richieste", Err(e.message())),
    }
}

async fn return_request(ctx: Ctx, Path(id): Path<Uuid>, Form(f): F) -> Response {
    if let Err(r) = ctx.require(Role::SuaBuyer).and_then(|_| ctx.check_csrf(&f)) {
        return r;
    }
    let what = if f.get("azione").map(String::as_str) == Some("respingi") {
        "reject"
    } else {
        "return"
    };
    let body = json!({"reason": f.get("reason").cloned().unwrap_or_default()});
    match ctx
        .api(
            Method::POST,
            &format!("/v1/requests/{id}/{what}"),
            Some(body),
        )
        .await
    {
        Ok(_) => back(
            "/sua/richieste",
            Ok("Fatto: il Comune riceve la comunicazione.".into()),
        ),
        Err(e) => back("/sua/richieste", Err(e.message())),
    }
}

/// A button's state: the event, and when refused the rule and why.
fn button(event: &str, r: Result<(), workflow::WorkflowError>) -> Value {
    match r {
        Ok(()) => json!({"event": event, "allowed": true}),
        Err(workflow::WorkflowError::Refused { rule, detail }) => {
            json!({"event": event, "allowed": false, "rule": rule, "detail": detail})
        }
        Err(workflow::WorkflowError::Invalid { field, detail }) => {
            json!({"event": event, "allowed": false, "rule": field, "detail": detail})
        }
        Err(e) => {
            json!({"event": event, "allowed": false, "rule": "errore", "detail": e.to_string()})
        }
    }
}

/// The declarations a button's form sends with its event (and the dry run assumes).
fn declared(event: &str) -> Value {
    match event {
        "verify_requirements" => json!({"requirements_verified": true}),
        _ => json!({}),
    }
}

fn input(event: &str, motivation: Option<&str>) -> EventInput {
    let mut d = declared(event);
    if let Some(m) = motivation.filter(|m| !m.trim().is_empty()) {
        d["motivation"] = json!(m);
    }
    serde_json::from_value(json!({"event": event, "declarations": d}))
        .unwrap_or_else(|_| EventInput::of(event))
}

/// An audit entry in words.
fn timeline_line(e: &audit_entry::Model) -> Value {
    let (kind, ev) = e.action.split_once('.').unwrap_or(("", &e.action));
    let who = match e
        .actor
        .split(':')
        .next()
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("")
    {
        "sua_buyer" => "SUA",
        "municipality" => "Comune",
        "platform_admin" => "amministratore",
        "scheduler" | "system" => "sistema (scadenza)",
        other if other.starts_with("scheduler") => "sistema (scadenza)",
        _ => "sistema",
    };
    let what = match (kind, ev) {
        ("lot", "evaluate") => "Valutazione delle offerte eseguita".to_owned(),
        (_, "create") => "Gara creata".to_owned(),
        (_, "update" | "edit") => "Dati modificati".to_owned(),
        _ => render::label(ev).to_owned(),
    };
    let object = if kind == "lot" { " (lotto)" } else { "" };
    json!({"at": e.at, "who": who, "what": format!("{what}{object}")})
}

async fn tender_page(ctx: Ctx, Path(id): Path<Uuid>) -> Response {
    let p = match ctx.require(Role::SuaBuyer) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let st = &ctx.state;
    let db = &st.db.conn;
    let now = st.now();
    let t = match workflow::access::manage_tender(db, &p, id).await {
        Ok(t) => t,
        Err(e) => return workflow_fail(&ctx, e),
    };
    let (lots, bids) = match tokio::try_join!(lots_of(db, id), bids_of(db, id)) {
        Ok(x) => x,
        Err(e) => return workflow_fail(&ctx, e),
    };
    let view = workflow::views::tender_view(&t, &lots, true);
    // lifecycle buttons: every event the machine lists from this state, asked with a dry run
    let tender_buttons: Vec<Value> = workflow::transition::tender_events_from(*t.state)
        .into_iter()
        .map(|ev| {
            let e = ev.as_str();
            button(
                e,
                check_tender_event(
                    &t,
                    &lots,
                    &bids,
                    &input(e, Some("x")),
                    st.settings.sua.qualification,
                    now,
                )
                .map(|_| ()),
            )
        })
        .collect();
    let mut lot_blocks = Vec::new();
    for (l, lv) in lots.iter().zip(view.lots.iter()) {
        let buttons: Vec<Value> = workflow::transition::lot_events_from(*l.state)
            .into_iter()
            .map(|ev| {
                let e = ev.as_str();
                button(
                    e,
                    check_lot_event(&t, &lots, l, &bids, &input(e, Some("x")), now).map(|_| ()),
                )
            })
            .collect();
        let offers = bids
            .iter()
            .filter(|b| b.lot_id == l.id && b.state.is_offer())
            .count();
        let lv = workflow::views::to_json(lv);
        lot_blocks.push(json!({
            "lot": lv, "buttons": buttons, "offers": offers,
            "chart": charts::discounts(&lv),
            "opened": l.state.open_envelopes().administrative,
            "evaluable": l.state.open_envelopes().economic,
        }));
    }
    // bids as the API shows them to the buyer (sealed until opened), with their admission buttons
    let bid_views = ctx
        .api(Method::GET, &format!("/v1/tenders/{id}/bids"), None)
        .await
        .unwrap_or(Value::Array(vec![]));
    let bid_rows: Vec<Value> = bid_views
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut v| {
            let b = v["id"]
                .as_str()
                .and_then(|s| s.parse::<Uuid>().ok())
                .and_then(|bid| bids.iter().find(|b| b.id == bid));
            let l = b.and_then(|b| lots.iter().find(|l| l.id == b.lot_id));
            if let (Some(b), Some(l)) = (b, l)
                && l.state.open_envelopes().administrative
            {
                v["buttons"] = workflow::transition::bid_events_from(*b.state)
                    .into_iter()
                    .filter(|ev| matches!(ev.as_str(), "admit" | "exclude" | "request_soccorso"))
                    .map(|ev| {
                        let e = ev.as_str();
                        let mut i = input(e, None);
                        if e == "exclude" {
                            i.declarations.exclusion_reason = Some("x".into());
                        }
                        button(e, check_bid_event(&t, l, b, &i, now).map(|_| ()))
                    })
                    .collect();
            }
            v
        })
        .collect();
    let lot_ids: Vec<String> = std::iter::once(id)
        .chain(lots.iter().map(|l| l.id))
        .map(|i| i.to_string())
        .collect();
    let timeline: Vec<Value> = workflow::audit::in_written_order(
        audit_entry::Entity::find().filter(audit_entry::Column::ObjectId.is_in(lot_ids)),
    )
    .limit(500)
    .all(db)
    .await
    .unwrap_or_default()
    .iter()
    .map(timeline_line)
    .collect();
    let (cp, dp, mp) = (
        format!("/v1/tenders/{id}/clarifications"),
        format!("/v1/tenders/{id}/documents"),
        format!("/v1/tenders/{id}/messages"),
    );
    let (clar, docs, outbox) = tokio::join!(
        ctx.api(Method::GET, &cp, None),
        ctx.api(Method::GET, &dp, None),
        ctx.api(Method::GET, &mp, None),
    );
    let muni = match t.municipality_id {
        Some(m) => super::public::municipality_names(st, [m].into_iter())
            .await
            .ok()
            .and_then(|n| n.get(&m).cloned()),
        None => None,
    };
    let deadline_local = t.deadline.map(|d| {
        d.with_timezone(&chrono_tz::Europe::Rome)
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    });
    render::page(
        &ctx,
        "buyer_tender.html",
        context! {
            title => t.title.clone(),
            t => workflow::views::to_json(&view),
            municipality => muni,
            editable => t.state.is_editable(),
            deadline_local => deadline_local,
            tender_buttons => tender_buttons,
            lots => lot_blocks,
            bids => bid_rows,
            offers => bids.iter().filter(|b| b.state.is_offer()).count(),
            timeline => timeline,
            clarifications => clar.unwrap_or(Value::Array(vec![])),
            documents => docs.unwrap_or(Value::Array(vec![])),
            outbox => outbox.ok().and_then(|o| o.get("items").cloned().or(Some(o))).unwrap_or(Value::Array(vec![])),
        },
    )
}

fn to_tender(id: Uuid) -> String {
    format!("/sua/gare/{id}")
}

async fn guarded(ctx: &Ctx, f: &HashMap<String, String>) -> Result<(), Response> {
    ctx.require(Role::SuaBuyer)?;
    ctx.check_csrf(f)
}

async fn tender_event(ctx: Ctx, Path(id): Path<Uuid>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let ev = f.get("event").cloned().unwrap_or_default();
    let mut d = declared(&ev);
    if let Some(m) = f.get("motivation").filter(|m| !m.trim().is_empty()) {
        d["motivation"] = json!(m);
    }
    act(
        &ctx,
        id,
        Method::POST,
        &format!("/v1/tenders/{id}/events"),
        json!({"event": ev, "declarations": d}),
        format!("Fatto: {}.", render::label(&ev)),
    )
    .await
}

async fn lot_event(ctx: Ctx, Path((id, lot)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let ev = f.get("event").cloned().unwrap_or_default();
    act(
        &ctx,
        id,
        Method::POST,
        &format!("/v1/lots/{lot}/events"),
        json!({"event": ev, "declarations": declared(&ev)}),
        format!("Fatto: {}.", render::label(&ev)),
    )
    .await
}

async fn evaluate(ctx: Ctx, Path((id, lot)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    act(
        &ctx,
        id,
        Method::POST,
        &format!("/v1/lots/{lot}/evaluate"),
        json!({}),
        "Valutazione eseguita.".to_owned(),
    )
    .await
}

async fn bid_event(ctx: Ctx, Path((id, bid)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let ev = f.get("event").cloned().unwrap_or_default();
    let mut d = json!({});
    if let Some(m) = f.get("motivation").filter(|m| !m.trim().is_empty()) {
        d["exclusion_reason"] = json!(m);
    }
    act(
        &ctx,
        id,
        Method::POST,
        &format!("/v1/bids/{bid}/events"),
        json!({"event": ev, "declarations": d}),
        format!("Fatto: {}.", render::label(&ev)),
    )
    .await
}

async fn answer(ctx: Ctx, Path((id, c)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let body = json!({"answer": f.get("answer").cloned().unwrap_or_default()});
    act(
        &ctx,
        id,
        Method::POST,
        &format!("/v1/clarifications/{c}/answer"),
        body,
        "Risposta pubblicata.".to_owned(),
    )
    .await
}

async fn set_deadline(ctx: Ctx, Path(id): Path<Uuid>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let raw = f.get("deadline").cloned().unwrap_or_default();
    let parsed = chrono::NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|n| n.and_local_timezone(chrono_tz::Europe::Rome).single())
        .map(|d| d.with_timezone(&Utc));
    let Some(d) = parsed else {
        return back(
            &to_tender(id),
            Err("Scadenza: data e ora non valide.".into()),
        );
    };
    act(
        &ctx,
        id,
        Method::PATCH,
        &format!("/v1/tenders/{id}"),
        json!({"deadline": d}),
        "Scadenza salvata.".to_owned(),
    )
    .await
}

/// The lot's evaluation rules, part of the lex specialis (art. 54 c.2): at the lowest price the method of
/// automatic exclusion (Allegato II.2, or a draw among the methods); at quality-price the rules as JSON
/// (docs/api.md). The API checks them and refuses them after publication.
async fn set_rules(ctx: Ctx, Path((id, lot)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let rules = match (
        f.get("anomaly_method").map(String::as_str),
        f.get("rules_json"),
    ) {
        (Some("draw"), _) => {
            json!({"anomaly": {"method": "draw", "draw": {"among": ["A", "B", "C"]}}})
        }
        (Some(m), _) if !m.is_empty() => json!({"anomaly": {"method": m}}),
        (_, Some(j)) => match serde_json::from_str::<serde_json::Value>(j) {
            Ok(v) => v,
            Err(e) => {
                return back(
                    &to_tender(id),
                    Err(format!("Regole di valutazione: JSON non valido ({e})")),
                );
            }
        },
        _ => {
            return back(
                &to_tender(id),
                Err("Regole di valutazione: scegliere il metodo".to_owned()),
            );
        }
    };
    act(
        &ctx,
        id,
        Method::PATCH,
        &format!("/v1/tenders/{id}/lots/{lot}"),
        json!({ "evaluation_rules": rules }),
        "Regole di valutazione salvate.",
    )
    .await
}

/// An API operation on behalf of the session, then back to the tender page with its outcome.
async fn act(
    ctx: &Ctx,
    id: Uuid,
    method: Method,
    path: &str,
    body: serde_json::Value,
    done: impl Into<String>,
) -> Response {
    let r = ctx.api(method, path, Some(body)).await;
    back(
        &to_tender(id),
        r.map(|_| done.into()).map_err(|e| e.message()),
    )
}

async fn set_cig(ctx: Ctx, Path((id, lot)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    let body = json!({"cig": f.get("cig").map(|c| c.trim().to_owned()).unwrap_or_default()});
    act(
        &ctx,
        id,
        Method::PATCH,
        &format!("/v1/tenders/{id}/lots/{lot}"),
        body,
        "CIG salvato.",
    )
    .await
}
