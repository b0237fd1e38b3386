//! Append-only audit log: one SHA-256 hash chain per Province, one for the platform.
//!
//! Each act's entry goes to the chain of its [`Scope`]: a Province's id (its requests, tenders, lots, bids,
//! documents, register and their timers) or `platform` (Provinces, operators, tokens). Within a chain,
//! entry `n` stores `prev_hash` = hash of entry `n-1` (64 zeros for the first) and `hash` = SHA-256 of the
//! canonical JSON array `[chain, seq, at, actor, action, object_kind, object_id, before, after, prev_hash]`.
//! Timestamps are truncated to microseconds so both backends store them exactly. Entries are appended inside
//! the transaction of the change they record, which holds its scope's write lock
//! ([`crate::store::Db::write`]); (chain, seq) is the table's key, so two writers can never both append
//! the same position.
//!
//! The entries written before the chains existed form the closed chain `legacy`: their hashes are those
//! they were written with (`[seq, at, …, prev_hash]`, no chain key), kept so that a hash recorded outside
//! stays checkable; nothing is appended to it.

use crate::store::Scope;
use crate::store::entities::audit_entry;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain key of the entries written before the per-Province chains (closed, verified as written).
pub const LEGACY: &str = "legacy";

pub struct Entry<'a> {
    /// The chain: the Province the act belongs to, or the platform.
    pub chain: Scope,
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
    let at = m.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let canonical = if m.chain == LEGACY {
        serde_json::json!([
            m.seq,
            at,
            m.actor,
            m.action,
            m.object_kind,
            m.object_id,
            m.before_json,
            m.after_json,
            m.prev_hash,
        ])
    } else {
        serde_json::json!([
            m.chain,
            m.seq,
            at,
            m.actor,
            m.action,
            m.object_kind,
            m.object_id,
            m.before_json,
            m.after_json,
            m.prev_hash,
        ])
    };
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The head of a chain: its last entry's seq and hash, or `(0, GENESIS)` for a chain with no entry.
pub async fn head<C: ConnectionTrait>(
    db: &C,
    chain: &str,
) -> Result<(i64, String), sea_orm::DbErr> {
    let last = audit_entry::Entity::find()
        .filter(audit_entry::Column::Chain.eq(chain))
        .order_by_desc(audit_entry::Column::Seq)
        .limit(1)
        .one(db)
        .await?;
    Ok(last.map_or((0, GENESIS.to_owned()), |l| (l.seq, l.hash)))
}

/// Every chain key that has entries, in order.
pub async fn chains<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, sea_orm::DbErr> {
    audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::Chain)
        .distinct()
        .order_by_asc(audit_entry::Column::Chain)
        .into_tuple()
        .all(db)
        .await
}

/// An object's entries in the order they were written: the `legacy` chain's first, then by seq (all the
/// entries of one object after the migration are in one chain, its Province's or the platform's).
pub fn in_written_order(q: Select<audit_entry::Entity>) -> Select<audit_entry::Entity> {
    q.order_by_desc(audit_entry::Column::Chain.eq(LEGACY))
        .order_by_asc(audit_entry::Column::Seq)
}

/// The sort key of [`in_written_order`], for entries already read.
pub fn written_order_key(m: &audit_entry::Model) -> (bool, i64) {
    (m.chain != LEGACY, m.seq)
}

/// The reverse of [`in_written_order`]: the newest entry first.
pub fn newest_first(q: Select<audit_entry::Entity>) -> Select<audit_entry::Entity> {
    q.order_by_asc(audit_entry::Column::Chain.eq(LEGACY))
        .order_by_desc(audit_entry::Column::Seq)
}

/// Append one entry to its chain. Must run inside a write transaction holding the scope's write lock.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    at: DateTime<Utc>,
    e: Entry<'_>,
) -> Result<audit_entry::Model, sea_orm::DbErr> {
    crate::store::lock_scope(db, e.chain).await?;
    let chain = e.chain.key();
    let (last_seq, prev_hash) = head(db, &chain).await?;
    let mut m = audit_entry::Model {
        chain,
        seq: last_seq + 1,
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
        chain: Set(m.chain.clone()),
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
    /// Every chain checks out.
    Intact { entries: u64, chains: u64 },
    /// The first entry that does not check out, its chain, and why.
    Broken {
        chain: String,
        seq: i64,
        reason: String,
    },
}

/// Walk every chain in order and name the first broken entry (chain and seq).
pub async fn verify<C: ConnectionTrait>(db: &C) -> Result<Verdict, sea_orm::DbErr> {
    let mut pages = audit_entry::Entity::find()
        .order_by_asc(audit_entry::Column::Chain)
        .order_by_asc(audit_entry::Column::Seq)
        .paginate(db, 1000);
    let mut chain: Option<String> = None;
    let mut prev_hash = GENESIS.to_owned();
    let mut expected_seq = 1i64;
    let (mut n, mut chains) = (0u64, 0u64);
    while let Some(page) = pages.fetch_and_next().await? {
        for m in page {
            if chain.as_deref() != Some(m.chain.as_str()) {
                chain = Some(m.chain.clone());
                prev_hash = GENESIS.to_owned();
                expected_seq = 1;
                chains += 1;
            }
            let broken = |reason: String| Verdict::Broken {
                chain: m.chain.clone(),
                seq: m.seq,
                reason,
            };
            if m.seq != expected_seq {
                return Ok(broken(format!(
                    "sequence gap: expected entry {expected_seq}"
                )));
            }
            if m.prev_hash != prev_hash {
                return Ok(broken(
                    "prev_hash does not match the previous entry's hash".into(),
                ));
            }
            if entry_hash(&m) != m.hash {
                return Ok(broken(
                    "content does not match its hash (entry altered)".into(),
                ));
            }
            prev_hash = m.hash;
            expected_seq += 1;
            n += 1;
        }
    }
    Ok(Verdict::Intact { entries: n, chains })
}
