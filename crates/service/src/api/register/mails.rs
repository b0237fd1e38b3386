//! Invitation mails (lettera d'invito): one `invitation` message per invited operator, enqueued in the
//! `notify` outbox inside the caller's transaction (sent after commit by the mail worker, never lost).
//!
//! Each operator gets their own message (never a shared recipient list: the invited list is secret until
//! the deadline, art. 35). The idempotency key is `invitation:<tender id>:<operator id>`, so enqueuing the
//! invitations of a tender again sends nothing twice.

use crate::{
    db::entities::{operator, tender},
    error::{ApiResult, AppError},
    state::AppState,
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use utoipa::ToSchema;
use workflow::access::lots_of;

/// The act the invitation refers to (e.g. the determina a contrarre approving the lettera d'invito).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationLetter {
    /// E.g. `determinazione dirigenziale`.
    pub act_type: String,
    pub act_number: String,
    pub act_date: NaiveDate,
}

/// The idempotency key of the invitation of `operator` to `tender`.
pub fn invitation_key(tender: uuid::Uuid, operator: uuid::Uuid) -> String {
    format!("invitation:{tender}:{operator}")
}

/// Enqueues the invitation of every invitee of `t`; returns how many messages were enqueued (already
/// enqueued ones count too: the outbox deduplicates). Refused (422 naming `letter`) without an offer deadline.
pub async fn enqueue_invitations<C: ConnectionTrait>(
    db: &C,
    st: &AppState,
    t: &tender::Model,
    invited: &[uuid::Uuid],
    letter: &InvitationLetter,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    let act_type = crate::input::non_empty("letter.act_type", &letter.act_type, 200)?;
    let act_number = crate::input::non_empty("letter.act_number", &letter.act_number, 100)?;
    let deadline = t.deadline.ok_or_else(|| {
        AppError::bad(
            "letter",
            "letter: the invitations state the offer deadline; set the tender's deadline first",
        )
    })?;
    let lots: Vec<serde_json::Value> = lots_of(db, t.id)
        .await?
        .iter()
        .map(|l| {
            let mut v = serde_json::json!({"number": l.number, "title": l.title});
            if let Some(c) = &l.cig {
                v["cig"] = c.to_string().into();
            }
            v
        })
        .collect();
    let operators = operator::Entity::find()
        .filter(operator::Column::Id.is_in(invited.to_vec()))
        .all(db)
        .await?;
    let mut n = 0;
    for id in invited {
        let o = operators
            .iter()
            .find(|o| o.id == *id)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("invited operator {id} vanished")))?;
        let addr = o
            .pec
            .parse()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored PEC {:?}: {e}", o.pec)))?;
        let msg = notify::NewMessage {
            to: vec![notify::Mailbox::new(Some(o.name.clone()), addr)],
            template: notify::MailTemplate::Invitation,
            context: serde_json::json!({
                "recipient_name": o.name,
                "link": format!("{}/v1/tenders/{}", st.settings.http.public_base_url, t.id),
                "tender_title": t.title,
                "tender_ref": t.id.to_string(),
                "act_type": act_type,
                "act_number": act_number,
                "act_date": letter.act_date.to_string(),
                "deadline": deadline.to_rfc3339(),
                "lots": lots,
            }),
            tender_id: Some(t.id),
            lot_id: None,
            idempotency_key: notify::IdempotencyKey::new(invitation_key(t.id, o.id))?,
            now,
        };
        notify::enqueue(db, msg).await?;
        n += 1;
    }
    Ok(n)
}
