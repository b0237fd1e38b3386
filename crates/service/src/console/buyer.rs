//! The SUA buyer's pages: dashboard, request inbox, tender page with its lifecycle buttons.
//!
//! Reads go through the workflow's access functions (`tenders_of`, `manage_tender`) or the API itself;
//! every action is the API's operation (`Ctx::api`); a button is enabled by `workflow::transition::
//! check_*_event` (the lifecycle machine's dry run) and otherwise shows the rule that refuses it.

use super::{Ctx, back, charts, render, workflow_fail};
use crate::db::entities::{audit_entry, procurement_request, tender};
use crate::state::AppState;
use axum::{
    Form, Router,
    extract::{Path, Query},
    http::Method,
    response::Response,
    routing::{get, post},
};
use chrono::{Datelike, Duration, Utc};
use lifecycle::{lot::LotEvent, participation::ParticipationEvent as BidEv};
use minijinja::context;
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, sea_query::Expr,
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
        .route("/sua/gare/{id}/pcp/{call}/reinvia", post(resend_pcp))
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

/// One bar of the year's charts: its key (a municipality id or a procedure type), tenders and cents.
#[derive(Clone, Default)]
pub struct Spend {
    key: Option<String>,
    n: i64,
    cents: i64,
}

/// The year's spend per municipality and per procedure type, from the rows publication keeps
/// (`workflow::published`).
fn spend_groups(rows: &[crate::db::entities::tender_spend::Model]) -> (Vec<Spend>, Vec<Spend>) {
    fn add(v: &mut Vec<Spend>, key: Option<String>, r: &crate::db::entities::tender_spend::Model) {
        match v.iter_mut().find(|s| s.key == key) {
            Some(s) => {
                s.n += r.tenders;
                s.cents += r.base_amount_cents;
            }
            None => v.push(Spend {
                key,
                n: r.tenders,
                cents: r.base_amount_cents,
            }),
        }
    }
    let (mut by_muni, mut by_proc) = (Vec::new(), Vec::new());
    for r in rows {
        add(&mut by_muni, r.municipality_id.map(|m| m.to_string()), r);
        add(&mut by_proc, Some(r.procedure_type.clone()), r);
    }
    (by_muni, by_proc)
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
    // every read is one indexed query; the year's spend is kept at publication (`workflow::published`)
    let db = &st.db.conn;
    let counts = StateCount::find_by_statement(
        db.get_database_backend().build(
            &sel.clone()
                .select_only()
                .column(tender::Column::State)
                .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
                .group_by(tender::Column::State)
                .into_query(),
        ),
    )
    .all(db);
    let soon = sel
        .clone()
        .filter(tender::Column::Deadline.gte(now))
        .filter(tender::Column::Deadline.lt(now + Duration::days(14)))
        .order_by_asc(tender::Column::Deadline)
        .limit(50)
        .all(db);
    let inbox = procurement_request::Entity::find()
        .filter(procurement_request::Column::ProvinceId.eq(province))
        .filter(procurement_request::Column::Status.eq("submitted"))
        .count(db);
    let recent = sel
        .clone()
        .order_by_desc(tender::Column::CreatedAt)
        .order_by_desc(tender::Column::Id)
        .offset((page - 1) * super::public::PER_PAGE)
        .limit(super::public::PER_PAGE)
        .all(db);
    let read = async {
        let (counts, soon, inbox, recent) = tokio::try_join!(counts, soon, inbox, recent)?;
        Ok::<_, sea_orm::DbErr>((counts, soon, inbox, recent))
    };
    let spend_province = match p.role {
        Role::PlatformAdmin => None,
        _ => Some(province),
    };
    let (read, spend) = tokio::join!(read, workflow::published::spend(db, spend_province, year));
    let ((counts, soon, inbox, recent), spend) = match (read, spend) {
        (Ok(r), Ok(s)) => (r, s),
        (Err(e), _) => return fail(&ctx, e),
        (_, Err(e)) => return workflow_fail(&ctx, e),
    };
    let counts: Vec<(String, i64)> = counts.into_iter().map(|c| (c.state, c.n)).collect();
    let (by_muni, by_proc) = spend_groups(&spend);
    let (by_muni, by_proc) = (&by_muni, &by_proc);
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
                let c = s.cents;
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

/// The declarations a button's form sends with its event (and the dry run assumes). Asking the anomalous
/// bidder for explanations declares the best offer suspected (art. 110 c.1), with the longest term the
/// rules allow unless the form says otherwise; accepting or rejecting the explanations ends the suspicion
/// of that offer.
fn declared(event: &str) -> Value {
    let rules = lifecycle::Rules::standard();
    match event.parse::<LotEvent>() {
        Ok(LotEvent::VerifyRequirements) => json!({"requirements_verified": true}),
        Ok(LotEvent::StartAnomalyCheck) => json!({
            "best_offer_suspected_anomalous": true,
            "anomaly_term_days": rules.anomaly_max_days,
        }),
        Ok(LotEvent::AcceptJustification | LotEvent::RejectJustification) => {
            json!({"best_offer_suspected_anomalous": false})
        }
        _ => json!({}),
    }
}

/// A whole number of days from a form's field, or the message shown next to it.
fn days(f: &HashMap<String, String>, name: &str) -> Result<u32, String> {
    f.get(name)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| "Indicare il termine in giorni.".to_owned())?
        .parse::<u32>()
        .map_err(|_| "Il termine è un numero intero di giorni.".to_owned())
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
        let cig_source = workflow::pcp_outbox::cig_source(db, l)
            .await
            .unwrap_or_default();
        lot_blocks.push(json!({
            "lot": lv, "buttons": buttons, "offers": offers, "cig_source": cig_source,
            "chart": charts::discounts(&lv),
            "opened": l.state.open_envelopes().administrative,
            "evaluable": l.state.open_envelopes().economic,
        }));
    }
    let rules = lifecycle::Rules::standard();
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
                    .filter(|ev| {
                        matches!(
                            ev,
                            BidEv::Admit
                                | BidEv::Exclude
                                | BidEv::RequestSoccorso
                                | BidEv::CureSoccorso
                        )
                    })
                    .map(|ev| {
                        let e = ev.as_str();
                        let mut i = input(e, None);
                        match ev {
                            BidEv::Exclude => i.declarations.exclusion_reason = Some("x".into()),
                            BidEv::RequestSoccorso => {
                                i.declarations.soccorso_days = Some(rules.soccorso_max_days)
                            }
                            _ => {}
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
    let pp = format!("/v1/tenders/{id}/pcp");
    let (clar, docs, outbox, pcp) = tokio::join!(
        ctx.api(Method::GET, &cp, None),
        ctx.api(Method::GET, &dp, None),
        ctx.api(Method::GET, &mp, None),
        ctx.api(Method::GET, &pp, None),
    );
    // the PCP calls, each with its lot's number
    let pcp: Vec<Value> = pcp
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|mut c| {
            let lot = c["lot_id"]
                .as_str()
                .and_then(|l| lots.iter().find(|x| x.id.to_string() == l));
            c["lot_number"] = lot.map(|l| json!(l.number)).unwrap_or(Value::Null);
            c
        })
        .collect();
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
            soccorso_min => rules.soccorso_min_days,
            soccorso_max => rules.soccorso_max_days,
            anomaly_max => rules.anomaly_max_days,
            lots => lot_blocks,
            bids => bid_rows,
            offers => bids.iter().filter(|b| b.state.is_offer()).count(),
            timeline => timeline,
            clarifications => clar.unwrap_or(Value::Array(vec![])),
            documents => docs.unwrap_or(Value::Array(vec![])),
            pcp_calls => pcp,
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
    let mut d = declared(&ev);
    let form = format!("anomalia-{lot}");
    let asks_explanations = matches!(ev.parse::<LotEvent>(), Ok(LotEvent::StartAnomalyCheck));
    if asks_explanations {
        match days(&f, "anomaly_term_days") {
            Ok(n) => d["anomaly_term_days"] = json!(n),
            Err(m) => return super::back_to_field(&to_tender(id), &form, "anomaly_term_days", &m),
        }
    }
    let r = ctx
        .api(
            Method::POST,
            &format!("/v1/lots/{lot}/events"),
            Some(json!({"event": ev, "declarations": d})),
        )
        .await;
    match r {
        Ok(_) => back(
            &to_tender(id),
            Ok(format!("Fatto: {}.", render::label(&ev))),
        ),
        Err(e) if asks_explanations => {
            super::back_to_field(&to_tender(id), &form, "anomaly_term_days", &e.message())
        }
        Err(e) => back(&to_tender(id), Err(e.message())),
    }
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
    // the form's one field: where its error is shown
    let parsed = ev.parse::<BidEv>().ok();
    let field = match parsed {
        Some(BidEv::RequestSoccorso) => Some(("soccorso", "soccorso_days")),
        Some(BidEv::Exclude) => Some(("esclusione", "motivation")),
        _ => None,
    };
    let to_field = |m: &str| {
        let (form, name) = field.unwrap_or(("offerta", "event"));
        super::back_to_field(&to_tender(id), &format!("{form}-{bid}"), name, m)
    };
    if parsed == Some(BidEv::RequestSoccorso) {
        match days(&f, "soccorso_days") {
            Ok(n) => d["soccorso_days"] = json!(n),
            Err(m) => return to_field(&m),
        }
    }
    if let Some(m) = f.get("motivation").filter(|m| !m.trim().is_empty()) {
        d["exclusion_reason"] = json!(m);
    } else if parsed == Some(BidEv::Exclude) {
        return to_field("Indicare il motivo dell'esclusione (art. 90 c.1 lett. d).");
    }
    let r = ctx
        .api(
            Method::POST,
            &format!("/v1/bids/{bid}/events"),
            Some(json!({"event": ev, "declarations": d})),
        )
        .await;
    match r {
        Ok(_) => back(
            &to_tender(id),
            Ok(format!("Fatto: {}.", render::label(&ev))),
        ),
        Err(e) if field.is_some() => to_field(&e.message()),
        Err(e) => back(&to_tender(id), Err(e.message())),
    }
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

/// Put a PCP call in `errore` back in the queue (after the data were corrected); the API refuses any
/// other state.
async fn resend_pcp(ctx: Ctx, Path((id, call)): Path<(Uuid, Uuid)>, Form(f): F) -> Response {
    if let Err(r) = guarded(&ctx, &f).await {
        return r;
    }
    act(
        &ctx,
        id,
        Method::POST,
        &format!("/v1/pcp/calls/{call}/resend"),
        json!({}),
        "Chiamata rimessa in coda: sarà inviata di nuovo a PCP.",
    )
    .await
}
