//! What a caller hands to [`crate::enqueue`] and what a buyer sees in a listing.

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use serde::Serialize;
use uuid::Uuid;

use crate::error::Error;
use crate::templates::MailTemplate;

/// The id of an outbox row. The `Message-ID` header of the mail is derived from it, so every attempt to
/// send the same row carries the same `Message-ID`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct MessageId(pub Uuid);

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Deduplication key of a message: the same key is enqueued at most once (unique index).
/// Build it from the id of the lifecycle event and the recipient, e.g. `"award:<event uuid>:<pec>"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        if key.trim().is_empty() {
            return Err(Error::invalid("idempotency_key", "must not be empty"));
        }
        if key.len() > Self::MAX_LEN {
            return Err(Error::invalid(
                "idempotency_key",
                format!(
                    "is {} bytes long, at most {} allowed",
                    key.len(),
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(key))
    }

    /// The conventional key: event id plus recipient address.
    pub fn for_event(event_id: Uuid, recipient: &Mailbox) -> Self {
        let key = format!("{event_id}:{}", recipient.email.to_string().to_lowercase());
        // A uuid (36) plus an address (at most 254) may exceed 255 bytes: keep the first 255 (on a char boundary).
        let mut end = key.len().min(Self::MAX_LEN);
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        Self(key[..end].to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A message to enqueue in the caller's transaction.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// PEC addresses (at least one). Prefer one message per addressee: each has its own status and receipt.
    pub to: Vec<Mailbox>,
    pub template: MailTemplate,
    /// Template context: a JSON object holding at least [`MailTemplate::required_keys`].
    pub context: serde_json::Value,
    pub tender_id: Option<Uuid>,
    pub lot_id: Option<Uuid>,
    pub idempotency_key: IdempotencyKey,
    /// The instant of the enqueue (from the caller's clock); the message is due immediately.
    pub now: DateTime<Utc>,
}

impl NewMessage {
    /// Checks what the database cannot: recipients present, context an object with the template's required keys.
    pub fn validate(&self) -> Result<(), Error> {
        if self.to.is_empty() {
            return Err(Error::invalid("to", "at least one recipient is required"));
        }
        let Some(object) = self.context.as_object() else {
            return Err(Error::invalid("context", "must be a JSON object"));
        };
        for key in self.template.required_keys() {
            match object.get(*key) {
                None | Some(serde_json::Value::Null) => {
                    return Err(Error::invalid(
                        "context",
                        format!("template `{}` needs `{key}`", self.template.name()),
                    ));
                }
                Some(_) => {}
            }
        }
        if self.template == MailTemplate::MunicipalityUpdate {
            let event = object.get("event").and_then(|v| v.as_str()).unwrap_or("");
            if !crate::templates::MUNICIPALITY_EVENTS.contains(&event) {
                return Err(Error::invalid(
                    "context",
                    format!(
                        "template `municipality_update`: `event` must be one of {}, not `{event}`",
                        crate::templates::MUNICIPALITY_EVENTS.join(", ")
                    ),
                ));
            }
        }
        for group in self.template.required_one_of() {
            let present = group
                .iter()
                .any(|k| object.get(*k).is_some_and(|v| !v.is_null()));
            if !present {
                return Err(Error::invalid(
                    "context",
                    format!(
                        "template `{}` needs one of `{}`",
                        self.template.name(),
                        group.join("`, `")
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Delivery status of an outbox row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for its (next) attempt at `next_attempt_at`.
    Queued,
    /// Claimed by a worker, which holds a lease until `lease_until`.
    Sending,
    /// Accepted by the SMTP server (or written by the file transport).
    Sent,
    /// Permanently refused (5xx, invalid content) or out of attempts; can be resent by a buyer.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "queued" => Status::Queued,
            "sending" => Status::Sending,
            "sent" => Status::Sent,
            "failed" => Status::Failed,
            other => return Err(Error::Corrupt(format!("unknown status `{other}`"))),
        })
    }
}

/// One outbox row as shown to a buyer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageView {
    pub id: MessageId,
    pub tender_id: Option<Uuid>,
    pub lot_id: Option<Uuid>,
    pub to: Vec<String>,
    pub template: String,
    pub subject: Option<String>,
    pub status: Status,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}
