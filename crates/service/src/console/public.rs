//! Public pages (no login): the published tenders with search, and each tender's page — what
//! "Amministrazione trasparente" links to. The list is `workflow::access::public_tenders` (the public
//! API's query) refined by the search; a tender's page is the public API's answer.

use super::{Ctx, render};
use crate::db::entities::{lot, municipality, procurement_request, tender};
use crate::state::AppState;
use axum::{
    Router,
    extract::{Path, Query},
    http::Method,
    response::Response,
    routing::get,
};
use minijinja::context;
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Query as SqlQuery,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use workflow::views::tender_view;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/gare", get(list))
        .route("/gare/{id}", get(page))
}

pub const PER_PAGE: u64 = 20;

#[derive(Deserialize, Default, Debug, Clone)]
pub struct Search {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub cpv: String,
    #[serde(default)]
    pub comune: String,
    #[serde(default)]
    pub stato: String,
    pub pagina: Option<u64>,
}

/// `%text%` with the LIKE wildcards of the text escaped.
fn like(text: &str) -> String {
    let esc = text
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{esc}%")
}

/// The search's conditions on a tender query. The title is searched by words in the index that
/// publication writes (`workflow::published::title_condition`): each word of the search must start a
/// word of the title, case and accents aside.
pub async fn search_condition(st: &AppState, s: &Search) -> Result<Condition, sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};
    let mut c = Condition::all();
    match workflow::published::title_condition(&st.db.conn, &s.q).await {
        Ok(Some(t)) => c = c.add(t),
        Ok(None) => {}
        Err(e) => return Err(sea_orm::DbErr::Custom(e.to_string())),
    }
    if !s.stato.trim().is_empty() {
        c = c.add(tender::Column::State.eq(s.stato.trim()));
    }
    if !s.comune.trim().is_empty() {
        c = c.add(
            tender::Column::MunicipalityId.in_subquery(
                SqlQuery::select()
                    .column(municipality::Column::Id)
                    .from(municipality::Entity)
                    .and_where(
                        Expr::col(municipality::Column::Name)
                            .like(LikeExpr::new(like(&s.comune)).escape('\\')),
                    )
                    .to_owned(),
            ),
        );
    }
    if !s.cpv.trim().is_empty() {
        let prefix = s
            .cpv
            .trim()
            .trim_end_matches('0')
            .replace(['%', '_', '\\'], "");
        c = c.add(
            tender::Column::RequestId.in_subquery(
                SqlQuery::select()
                    .column(procurement_request::Column::Id)
                    .from(procurement_request::Entity)
                    .and_where(
                        Expr::col(procurement_request::Column::Cpv).like(format!("{prefix}%")),
                    )
                    .to_owned(),
            ),
        );
    }
    Ok(c)
}

/// Municipality names by id, for the rows shown.
pub async fn municipality_names(
    st: &AppState,
    ids: impl Iterator<Item = Uuid>,
) -> Result<std::collections::HashMap<Uuid, String>, sea_orm::DbErr> {
    let ids: Vec<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    Ok(municipality::Entity::find()
        .filter(municipality::Column::Id.is_in(ids))
        .all(&st.db.conn)
        .await?
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect())
}

/// Tender rows with their lots (one query for the page's lots), as the API's views plus the
/// municipality's name and the total base amount.
pub async fn rows(st: &AppState, ts: Vec<tender::Model>) -> Result<Vec<Value>, sea_orm::DbErr> {
    let ids: Vec<Uuid> = ts.iter().map(|t| t.id).collect();
    let lots = if ids.is_empty() {
        Vec::new()
    } else {
        lot::Entity::find()
            .filter(lot::Column::TenderId.is_in(ids))
            .order_by_asc(lot::Column::Number)
            .all(&st.db.conn)
            .await?
    };
    let names = municipality_names(st, ts.iter().filter_map(|t| t.municipality_id)).await?;
    Ok(ts
        .iter()
        .map(|t| {
            let mine: Vec<lot::Model> = lots
                .iter()
                .filter(|l| l.tender_id == t.id)
                .cloned()
                .collect();
            let cents: i64 = mine.iter().map(|l| l.base_amount_cents).sum();
            let mut v = workflow::views::to_json(&tender_view(t, &mine, false));
            v["municipality"] = t
                .municipality_id
                .and_then(|m| names.get(&m).cloned())
                .map(Value::String)
                .unwrap_or(Value::Null);
            v["amount"] = Value::String(workflow::views::cents_to_string(cents));
            v
        })
        .collect())
}

async fn list(ctx: Ctx, Query(s): Query<Search>) -> Response {
    let st = &ctx.state;
    let page = s.pagina.unwrap_or(1).max(1);
    let found = async {
        let cond = search_condition(st, &s).await?;
        let select = || workflow::access::public_tenders().filter(cond.clone());
        let total = select().count(&st.db.conn).await?;
        let ts = select()
            .order_by_desc(tender::Column::PublishedAt)
            .order_by_desc(tender::Column::Id)
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
            .all(&st.db.conn)
            .await?;
        Ok::<_, sea_orm::DbErr>((total, rows(st, ts).await?))
    }
    .await;
    let (total, items) = match found {
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
    let pages = total.div_ceil(PER_PAGE).max(1);
    let qs = format!(
        "q={}&cpv={}&comune={}&stato={}",
        super::urlencode(&s.q),
        super::urlencode(&s.cpv),
        super::urlencode(&s.comune),
        super::urlencode(&s.stato)
    );
    let states: Vec<(&str, &str)> = lifecycle::tender::TenderState::ALL
        .iter()
        .filter(|s| s.is_public())
        .map(|s| (s.as_str(), render::label(s.as_str())))
        .collect();
    render::page(
        &ctx,
        "public_list.html",
        context! {
            title => "Gare pubblicate",
            items => items, total => total, page => page, pages => pages, qs => qs,
            q => s.q, cpv => s.cpv, comune => s.comune, stato => s.stato, states => states,
        },
    )
}

async fn page(ctx: Ctx, Path(id): Path<Uuid>) -> Response {
    // the public API's answers, asked anonymously (a logged-in bidder sees here what the public sees)
    let anon = ctx.anonymous();
    let t = match anon
        .api(Method::GET, &format!("/v1/public/tenders/{id}"), None)
        .await
    {
        Ok(t) => t,
        Err(f) => return ctx.fail_page(&f),
    };
    let clar = anon
        .api(
            Method::GET,
            &format!("/v1/tenders/{id}/clarifications"),
            None,
        )
        .await
        .unwrap_or(Value::Array(vec![]));
    let docs = anon
        .api(Method::GET, &format!("/v1/tenders/{id}/documents"), None)
        .await
        .unwrap_or(Value::Array(vec![]));
    let muni = match t["municipality_id"]
        .as_str()
        .and_then(|m| m.parse::<Uuid>().ok())
    {
        Some(m) => municipality_names(&ctx.state, [m].into_iter())
            .await
            .ok()
            .and_then(|n| n.get(&m).cloned()),
        None => None,
    };
    let lots: Vec<Value> = t["lots"].as_array().cloned().unwrap_or_default();
    let charts: Vec<String> = lots
        .iter()
        .map(|l| super::charts::discounts(l).unwrap_or_default())
        .collect();
    render::page(
        &ctx,
        "public_tender.html",
        context! {
            title => t["title"].as_str().unwrap_or("Gara"),
            t => t, clarifications => clar, documents => docs, municipality => muni, charts => charts,
        },
    )
}
