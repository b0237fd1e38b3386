//! Append-only audit log with a SHA-256 hash chain.
//!
//! Entry `n` stores `prev_hash` = hash of entry `n-1` (64 zeros for the first) and
//! `hash` = SHA-256 of the canonical JSON array `[seq, at, actor, action, object_kind, object_id, before,
//! after, prev_hash]`. Timestamps are truncated to microseconds so both backends store them exactly.
//! Entries are appended inside the transaction of the change they record (see [`crate::store::Db::write`]).

use crate::store::entities::audit_entry;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set,
};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

pub fn entry_hash(m: &audit_entry::Model) -> String {
    let canonical = serde_json::json!([
        m.seq,
        m.at.to_rfc3339_opts(SecondsFormat::Micros, true),
        m.actor,
        m.action,
        m.object_kind,
        m.object_id,
        m.before_json,
        m.after_json,
        m.prev_hash,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// Append one entry. Must run inside a write transaction (the caller holds the write lock).
pub async fn append<C: ConnectionTrait>(
    db: &C,
    at: DateTime<Utc>,
    e: Entry<'_>,
) -> Result<audit_entry::Model, sea_orm::DbErr> {
    let last = audit_entry::Entity::find()
        .order_by_desc(audit_entry::Column::Seq)
        .limit(1)
        .one(db)
        .await?;
    let (seq, prev_hash) = match last {
        Some(l) => (l.seq + 1, l.hash),
        None => (1, GENESIS.to_owned()),
    };
    let mut m = audit_entry::Model {
        seq,
        at: truncate_micros(at),
        actor: e.actor.to_owned(),
        action: e.action.to_owned(),
        object_kind: e.object_kind.to_owned(),
        object_id: e.object_id,
        before_json: e.before.map(|v| v.to_string()),
        after_json: e.after.map(|v| v.to_string()),
        prev_hash,
        hash: String::new(),
    };
    m.hash = entry_hash(&m);
    let am = audit_entry::ActiveModel {
        seq: Set(m.seq),
        at: Set(m.at),
        actor: Set(m.actor.clone()),
        action: Set(m.action.clone()),
        object_kind: Set(m.object_kind.clone()),
        object_id: Set(m.object_id.clone()),
        before_json: Set(m.before_json.clone()),
        after_json: Set(m.after_json.clone()),
        prev_hash: Set(m.prev_hash.clone()),
        hash: Set(m.hash.clone()),
    };
    am.insert(db).await?;
    Ok(m)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The whole chain checks out.
    Intact { entries: u64 },
    /// The first entry that does not check out, and why.
    Broken { seq: i64, reason: String },
}

/// Walk the chain in order and name the first broken entry.
pub async fn verify<C: ConnectionTrait>(db: &C) -> Result<Verdict, sea_orm::DbErr> {
    let mut pages = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Seq)
        .paginate(db, 1000);
    let mut prev_hash = GENESIS.to_owned();
    let mut expected_seq = 1i64;
    let mut n = 0u64;
    while let Some(page) = pages.fetch_and_next().await? {
        for m in page {
            if m.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: m.seq,
                    reason: format!("sequence gap: expected entry {expected_seq}"),
                });
            }
            if m.prev_hash != prev_hash {
                return Ok(Verdict::Broken {
                    seq: m.seq,
                    reason: "prev_hash does not match the previous entry's hash".into(),
                });
            }
            let h = entry_hash(&m);
            if h != m.hash {
                return Ok(Verdict::Broken {
                    seq: m.seq,
                    reason: "content does not match its hash (entry altered)".into(),
                });
            }
            prev_hash = m.hash;
            expected_seq += 1;
            n += 1;
        }
    }
    Ok(Verdict::Intact { entries: n })
}
