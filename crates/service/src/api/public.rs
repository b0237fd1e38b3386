//! Public, unauthenticated endpoints: published tenders and their outcomes. These are the read paths a
//! busy deadline day hits, so they run two indexed queries per page and never touch bids.

use super::tenders::{TenderView, lots_of, publicly_visible, tender_view};
use crate::{
    db::entities::{lot, tender},
    error::{ApiResult, AppError, Page, PageQuery, Problem},
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_tenders))
        .routes(routes!(public_tender))
}

/// How long the public list's `total` may be reused: counting every published tender on each request of
/// a busy deadline day would cost more than the page itself. The total may lag by this much.
const TOTAL_TTL: std::time::Duration = std::time::Duration::from_secs(2);

async fn public_total<F, Fut>(st: &AppState, count: F) -> Result<u64, sea_orm::DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<u64, sea_orm::DbErr>>,
{
    let cached = *st.db.public_total.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, total)) = cached
        && at.elapsed() < TOTAL_TTL
    {
        return Ok(total);
    }
    let total = count().await?;
    *st.db.public_total.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((std::time::Instant::now(), total));
    Ok(total)
}

const INVITATION_ONLY: [&str; 3] = [
    "negoziata_senza_bando",
    "negoziata_senza_pubblicazione",
    "affidamento_diretto",
];

/// Published tenders, newest publication first (public). `total` may lag new publications by 2 s.
#[utoipa::path(get, path = "/v1/public/tenders", tag = "public",
    params(PageQuery),
    responses((status = 200, body = Page<TenderView>), (status = 422, body = Problem)))]
async fn public_tenders(
    State(st): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<TenderView>>> {
    let (page, per_page) = q.resolve()?;
    let select = || {
        tender::Entity::find()
            .filter(tender::Column::PublishedAt.is_not_null())
            .filter(tender::Column::ProcedureType.is_not_in(INVITATION_ONLY))
    };
    let rows = select()
        .order_by_desc(tender::Column::PublishedAt)
        .order_by_desc(tender::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(&st.db.conn)
        .await?;
    let total = public_total(&st, || select().count(&st.db.conn)).await?;
    let ids: Vec<Uuid> = rows.iter().map(|t| t.id).collect();
    let lots = lot::Entity::find()
        .filter(lot::Column::TenderId.is_in(ids))
        .order_by_asc(lot::Column::Number)
        .all(&st.db.conn)
        .await?;
    let items = rows
        .iter()
        .map(|t| {
            let mine: Vec<lot::Model> = lots
                .iter()
                .filter(|l| l.tender_id == t.id)
                .cloned()
                .collect();
            tender_view(t, &mine, false)
        })
        .collect();
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// One published tender with its lots and, once the economic envelopes are open, the evaluation (public).
#[utoipa::path(get, path = "/v1/public/tenders/{id}", tag = "public",
    responses((status = 200, body = TenderView), (status = 404, body = Problem)))]
async fn public_tender(
    State(st): State<AppState>,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TenderView>> {
    let t = tender::Entity::find_by_id(id)
        .one(&st.db.conn)
        .await?
        .filter(|t| publicly_visible(t, None))
        .ok_or(AppError::NotFound("tender"))?;
    let lots = lots_of(&st.db.conn, id).await?;
    Ok(Json(tender_view(&t, &lots, false)))
}
