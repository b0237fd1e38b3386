//! The buyer's view of a tender's outbox: list its mails, resend a failed one.

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
use workflow::store::Scope;

/// `GET /v1/tenders/{id}/messages`, `POST /v1/messages/{id}/resend`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tender_messages))
        .routes(routes!(resend_message))
}

/// Every mail of a tender with its status (queued, sending, sent, failed), attempts and last error: the
/// SUA buyers of the tender's Province only. Before the offer deadline the mails to operators are listed
/// without recipient, subject, error or Message-ID: how many, never who (art. 35 c.2 a).
#[utoipa::path(get, path = "/v1/tenders/{id}/messages", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_tender_messages(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<notify::MessageView>>> {
    let t = manage_tender(&st.db.conn, &p, id).await?;
    let now = st.now();
    let mut list = notify::list_for_tender(&st.db.conn, id).await?;
    for m in &mut list {
        if !workflow::access::outbox_names_recipient(&t, &m.template, now) {
            m.to.clear();
            m.subject = None;
            m.last_error = None;
            m.message_id = None;
        }
    }
    Ok(Json(list))
}

/// Put a failed mail back in the queue (same outbox id, same `Message-ID`). 409 if it has not failed.
#[utoipa::path(post, path = "/v1/messages/{id}/resend", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
async fn resend_message(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<notify::MessageView>> {
    let now = st.now();
    let mid = notify::MessageId(id);
    let w = st.db.write(Scope::Platform).await?;
    let m = match notify::get(&w.txn, mid).await {
        Ok(m) => m,
        Err(notify::Error::NotFound(_)) => return Err(AppError::NotFound("message")),
        Err(e) => return Err(e.into()),
    };
    let Some(tender_id) = m.tender_id else {
        return Err(AppError::NotFound("message"));
    };
    manage_tender(&w.txn, &p, tender_id).await?;
    match notify::resend(&w.txn, mid, now).await {
        Ok(()) => {}
        Err(notify::Error::NotFailed { status, .. }) => {
            return Err(AppError::Conflict {
                rule: "outbox".into(),
                detail: format!("only a failed message can be resent; this one is {status}"),
            });
        }
        Err(e) => return Err(e.into()),
    }
    let view = notify::get(&w.txn, mid).await?;
    w.commit().await?;
    Ok(Json(view))
}
