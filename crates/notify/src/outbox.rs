//! The outbox table operations: enqueue (in the caller's transaction), listing, resend, and the worker's
//! claim / complete steps. One code path for SQLite and PostgreSQL: the claim is a single conditional
//! `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`; SQLite has no row locks and ignores the
//! lock clause, which is fine because SQLite serialises writers (one worker per SQLite database).

use chrono::{DateTime, Duration, TimeZone, Utc};
use lettre::message::Mailbox;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    TryInsertResult,
};
use uuid::Uuid;

use crate::entity::{self, Column, Entity as MailMessage};
use crate::error::Error;
use crate::message::{MessageId, MessageView, NewMessage, Status};

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>, Error> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| Error::Corrupt(format!("timestamp {ms} out of range")))
}

/// Writes a message into the outbox, inside the caller's transaction (pass the `DatabaseTransaction` that
/// also writes the state change). If a message with the same idempotency key exists, nothing is written and
/// the existing id is returned: a repeated event does not enqueue twice. The insert uses
/// `ON CONFLICT DO NOTHING`, so a duplicate never aborts the caller's PostgreSQL transaction.
pub async fn enqueue(db: &impl ConnectionTrait, message: NewMessage) -> Result<MessageId, Error> {
    message.validate()?;
    let recipients: Vec<String> = message.to.iter().map(Mailbox::to_string).collect();
    let now = to_millis(message.now);
    let id = Uuid::now_v7();
    let row = entity::ActiveModel {
        id: Set(id),
        idempotency_key: Set(message.idempotency_key.as_str().to_owned()),
        tender_id: Set(message.tender_id),
        lot_id: Set(message.lot_id),
        recipients: Set(serde_json::to_string(&recipients).expect("strings serialise")),
        template: Set(message.template.name().to_owned()),
        context: Set(message.context.to_string()),
        status: Set(Status::Queued.as_str().to_owned()),
        attempts: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        claim_token: Set(None),
        sent_at: Set(None),
        message_id: Set(None),
        subject: Set(None),
        last_error: Set(None),
    };
    let result = MailMessage::insert(row)
        .on_conflict_do_nothing_on([Column::IdempotencyKey])
        .exec_without_returning(db)
        .await?;
    match result {
        TryInsertResult::Inserted(rows) if rows > 0 => Ok(MessageId(id)),
        // `ON CONFLICT DO NOTHING` reports 0 rows (or `Conflicted`, depending on the backend).
        TryInsertResult::Inserted(_) | TryInsertResult::Conflicted | TryInsertResult::Empty => {
            let existing = MailMessage::find()
                .filter(Column::IdempotencyKey.eq(message.idempotency_key.as_str()))
                .one(db)
                .await?
                .ok_or_else(|| Error::Corrupt("conflicting idempotency key vanished".into()))?;
            Ok(MessageId(existing.id))
        }
    }
}

pub(crate) fn view(row: &entity::Model) -> Result<MessageView, Error> {
    let to: Vec<String> = serde_json::from_str(&row.recipients)
        .map_err(|e| Error::Corrupt(format!("recipients of {}: {e}", row.id)))?;
    Ok(MessageView {
        id: MessageId(row.id),
        tender_id: row.tender_id,
        lot_id: row.lot_id,
        to,
        template: row.template.clone(),
        subject: row.subject.clone(),
        status: Status::parse(&row.status)?,
        attempts: row.attempts,
        last_error: row.last_error.clone(),
        message_id: row.message_id.clone(),
        created_at: from_millis(row.created_at)?,
        next_attempt_at: from_millis(row.next_attempt_at)?,
        sent_at: row.sent_at.map(from_millis).transpose()?,
    })
}

/// One message with its status.
pub async fn get(db: &impl ConnectionTrait, id: MessageId) -> Result<MessageView, Error> {
    let row = MailMessage::find_by_id(id.0)
        .one(db)
        .await?
        .ok_or(Error::NotFound(id.0))?;
    view(&row)
}

/// Every message of a tender, oldest first, with its status (for the buyer's view).
pub async fn list_for_tender(
    db: &impl ConnectionTrait,
    tender_id: Uuid,
) -> Result<Vec<MessageView>, Error> {
    MailMessage::find()
        .filter(Column::TenderId.eq(tender_id))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .iter()
        .map(view)
        .collect()
}

/// The messages whose idempotency key starts with `prefix` (e.g. every mail of one lifecycle act), oldest
/// first, with their status: lets the caller learn when the last of them was sent.
pub async fn with_key_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> Result<Vec<MessageView>, Error> {
    MailMessage::find()
        .filter(Column::IdempotencyKey.starts_with(prefix))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?
        .iter()
        .map(view)
        .collect()
}

/// Puts a `failed` message back in the queue, due at `now`, with its attempt counter reset (the last
/// error stays visible until the next attempt). The same outbox id, hence the same `Message-ID`, is reused.
pub async fn resend(
    db: &impl ConnectionTrait,
    id: MessageId,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let now = to_millis(now);
    let updated = MailMessage::update_many()
        .col_expr(Column::Status, Expr::value(Status::Queued.as_str()))
        .col_expr(Column::Attempts, Expr::value(0))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::ClaimToken, Expr::value(Option::<Uuid>::None))
        .filter(Column::Id.eq(id.0))
        .filter(Column::Status.eq(Status::Failed.as_str()))
        .exec(db)
        .await?;
    if updated.rows_affected == 1 {
        return Ok(());
    }
    let current = get(db, id).await?;
    Err(Error::NotFailed {
        id: id.0,
        status: current.status.as_str(),
    })
}

/// A claim of due messages by one worker.
pub(crate) struct Claim {
    pub token: Uuid,
    pub rows: Vec<entity::Model>,
}

/// Claims up to `limit` due messages: `sending` ones whose lease has expired (their worker died) first,
/// then `queued` ones whose `next_attempt_at` has come. Run it in a transaction (the worker's writer). Each claimed row gets `status = sending`, a fresh claim
/// token, `lease_until = now + lease` and one more attempt.
pub(crate) async fn claim(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    lease: Duration,
    limit: u64,
) -> Result<Claim, Error> {
    let token = Uuid::new_v4();
    let now_ms = to_millis(now);
    // Two steps, each an ordered walk of an index that stops at `limit` (one `OR` of both would make
    // SQLite sort every due row): first the messages whose worker died (lease expired), then the
    // queued ones that are due. The second never takes a row of the first: those are `sending` now.
    let expired = Column::Status
        .eq(Status::Sending.as_str())
        .and(Column::LeaseUntil.lte(now_ms));
    let due = Column::Status
        .eq(Status::Queued.as_str())
        .and(Column::NextAttemptAt.lte(now_ms));
    let mut left = limit;
    for (cond, order) in [(expired, Column::LeaseUntil), (due, Column::NextAttemptAt)] {
        if left == 0 {
            break;
        }
        let ids = Query::select()
            .column(Column::Id)
            .from(MailMessage)
            .cond_where(cond)
            .order_by(order, sea_orm::Order::Asc)
            .order_by(Column::Id, sea_orm::Order::Asc)
            .limit(left)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let taken = MailMessage::update_many()
            .col_expr(Column::Status, Expr::value(Status::Sending.as_str()))
            .col_expr(Column::ClaimToken, Expr::value(token))
            .col_expr(Column::LeaseUntil, Expr::value(to_millis(now + lease)))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .col_expr(Column::UpdatedAt, Expr::value(now_ms))
            .filter(Column::Id.in_subquery(ids))
            .exec(db)
            .await?;
        left = left.saturating_sub(taken.rows_affected);
    }
    let rows = MailMessage::find()
        .filter(Column::ClaimToken.eq(token))
        .filter(Column::Status.eq(Status::Sending.as_str()))
        .order_by_asc(Column::NextAttemptAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    Ok(Claim { token, rows })
}

/// Outcome of one attempt, recorded by [`complete`].
#[derive(Debug)]
pub(crate) enum Outcome {
    Sent,
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    Failed {
        error: String,
    },
    /// Not attempted (server unreachable earlier in the batch): retry at `at`, the attempt is not counted.
    Postponed {
        at: DateTime<Utc>,
        error: String,
    },
    /// Not attempted (stop requested, lease running out): due again at `at`, the attempt is not counted.
    Released {
        at: DateTime<Utc>,
    },
}

/// Records the outcome, only if this claim still owns the row (a row whose lease expired and which another
/// worker re-claimed is left to that worker). Returns whether the row was updated.
pub(crate) async fn complete(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    now: DateTime<Utc>,
    message_id: &str,
    subject: Option<&str>,
    outcome: Outcome,
) -> Result<bool, Error> {
    let now_ms = to_millis(now);
    let mut update = MailMessage::update_many()
        .col_expr(Column::UpdatedAt, Expr::value(now_ms))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<i64>::None))
        .col_expr(Column::ClaimToken, Expr::value(Option::<Uuid>::None))
        .col_expr(Column::MessageId, Expr::value(message_id));
    if let Some(subject) = subject {
        update = update.col_expr(Column::Subject, Expr::value(subject));
    }
    update = match outcome {
        Outcome::Sent => update
            .col_expr(Column::Status, Expr::value(Status::Sent.as_str()))
            .col_expr(Column::SentAt, Expr::value(now_ms)),
        Outcome::Retry { at, error } => update
            .col_expr(Column::Status, Expr::value(Status::Queued.as_str()))
            .col_expr(Column::NextAttemptAt, Expr::value(to_millis(at)))
            .col_expr(Column::LastError, Expr::value(error)),
        Outcome::Failed { error } => update
            .col_expr(Column::Status, Expr::value(Status::Failed.as_str()))
            .col_expr(Column::LastError, Expr::value(error)),
        Outcome::Postponed { at, error } => update
            .col_expr(Column::Status, Expr::value(Status::Queued.as_str()))
            .col_expr(Column::NextAttemptAt, Expr::value(to_millis(at)))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1))
            .col_expr(Column::LastError, Expr::value(error)),
        Outcome::Released { at } => update
            .col_expr(Column::Status, Expr::value(Status::Queued.as_str()))
            .col_expr(Column::NextAttemptAt, Expr::value(to_millis(at)))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1)),
    };
    let result = update
        .filter(Column::Id.eq(id))
        .filter(Column::ClaimToken.eq(token))
        .filter(Column::Status.eq(Status::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
