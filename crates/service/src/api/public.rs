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
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(public_tenders))
        .routes(routes!(public_tender))
}

const HIDDEN: [&str; 3] = ["draft", "approved", "ready"];
const INVITATION_ONLY: [&str; 3] = [
    "negoziata_senza_bando",
    "negoziata_senza_pubblicazione",
    "affidamento_diretto",
];

/// Published tenders, newest publication first (public).
#[utoipa::path(get, path = "/v1/public/tenders", tag = "public",
    params(PageQuery),
    responses((status = 200, body = Page<TenderView>), (status = 422, body = Problem)))]
async fn public_tenders(
    State(st): State<AppState>,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<TenderView>>> {
    let (page, per_page) = q.resolve()?;
    let pages = tender::Entity::find()
        .filter(tender::Column::State.is_not_in(HIDDEN))
        .filter(tender::Column::ProcedureType.is_not_in(INVITATION_ONLY))
        .order_by_desc(tender::Column::PublishedAt)
        .order_by_desc(tender::Column::Id)
        .paginate(&st.db.conn, per_page);
    let total = pages.num_items().await?;
    let rows = pages.fetch_page(page - 1).await?;
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
