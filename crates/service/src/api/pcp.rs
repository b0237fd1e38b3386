//! The buyer's view of a tender's PCP calls (`workflow::pcp_outbox`): list them with their states,
//! resend one in `errore` after correcting the data.

use crate::{
    auth::Principal,
    error::{ApiResult, AppError},
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, State},
};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::access::manage_tender;
use workflow::pcp_outbox::{self as outbox, CallView};
use workflow::store::Scope;

/// `GET /v1/tenders/{id}/pcp`, `POST /v1/pcp/calls/{id}/resend`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tender_pcp))
        .routes(routes!(resend_pcp_call))
}

/// Every PCP call of a tender in sending order, with its state (`in_coda`, `inviata`, `confermata`,
/// `errore` with ANAC's code and message): the buyers of the tender only.
#[utoipa::path(get, path = "/v1/tenders/{id}/pcp", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Vec<CallView>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_tender_pcp(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<CallView>>> {
    manage_tender(&st.db.conn, &p, id).await?;
    let rows = outbox::list_for_tender(&st.db.conn, id).await?;
    Ok(Json(rows.iter().map(outbox::view).collect()))
}

/// Put a call in `errore` back in the queue: its body is built again from the (corrected) data when it
/// is sent. 409 if the call is not in `errore`.
#[utoipa::path(post, path = "/v1/pcp/calls/{id}/resend", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = CallView), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn resend_pcp_call(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CallView>> {
    let now = st.now();
    let w = st.db.write(Scope::Platform).await?;
    let c = match outbox::get(&w.txn, id).await {
        Ok(c) => c,
        Err(workflow::WorkflowError::NotFound(_)) => return Err(AppError::NotFound("PCP call")),
        Err(e) => return Err(e.into()),
    };
    manage_tender(&w.txn, &p, c.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("PCP call"),
            e => e.into(),
        })?;
    outbox::resend(&w.txn, id, now).await?;
    let c = outbox::get(&w.txn, id).await?;
    w.commit().await?;
    Ok(Json(outbox::view(&c)))
}
