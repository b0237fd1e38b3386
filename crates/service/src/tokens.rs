//! Bearer API tokens: made, hashed and stored here; read from requests by `crate::auth`.
//!
//! A token is `sua_` + 32 random bytes (base64url). Only its SHA-256 is stored. A slow password hash
//! (argon2) protects low-entropy secrets against offline guessing; a 256-bit random token cannot be
//! guessed, so a fast hash is as safe and lets each request find its token with one indexed lookup
//! (an argon2 verification per request would cost tens of milliseconds of CPU).

use crate::db::entities::api_token;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::Expr,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use workflow::access::Role;

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "sua_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// How many hex characters of a token's hash name it in listings (`sua admin list-tokens`).
pub const HASH_PREFIX_LEN: usize = 12;

/// The shortest hash prefix `sua admin revoke-token` accepts.
pub const MIN_PREFIX_LEN: usize = 8;

/// A token's last use is written at most once per this interval (a write per request would cost more
/// than the request).
pub const LAST_USE_GRANULARITY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// The expiry of a token issued at `now` with no explicit one: `[tokens] default_ttl_days` later, or
/// none when it is 0.
pub fn default_expiry(
    settings: &crate::config::TokenSettings,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    (settings.default_ttl_days > 0)
        .then(|| now + chrono::TimeDelta::days(i64::from(settings.default_ttl_days)))
}

/// Why a stored token does not authenticate at `now`, if it does not.
pub fn refusal(row: &api_token::Model, now: DateTime<Utc>) -> Option<&'static str> {
    if row.revoked_at.is_some() {
        Some("revoked")
    } else if row.expires_at.is_some_and(|e| e <= now) {
        Some("expired")
    } else {
        None
    }
}

/// The tokens' last uses waiting to be written, coalesced: a request only notes its token here; one
/// background flush at a time writes every noted use in one write transaction, taken like every other
/// write ([`crate::db::Db::write`], platform scope). During a rush of many tokens (the last minutes
/// before a deadline, each bidder with its own token) that is one extra transaction per flush, not one
/// per token, and no request waits for it or holds a pooled connection meanwhile.
#[derive(Default)]
pub struct LastUse {
    pending: std::sync::Mutex<std::collections::HashMap<Uuid, DateTime<Utc>>>,
    flushing: std::sync::atomic::AtomicBool,
}

impl LastUse {
    /// Note that token `id` was used at `now`; start a flush unless one is running (it will see it).
    pub fn record(self: &std::sync::Arc<Self>, db: &crate::db::Db, id: Uuid, now: DateTime<Utc>) {
        use std::sync::atomic::Ordering;
        self.lock().insert(id, now);
        if !self.flushing.swap(true, Ordering::SeqCst) {
            let me = self.clone();
            let db = db.clone();
            tokio::spawn(async move { me.flush(&db).await });
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<Uuid, DateTime<Utc>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn flush(&self, db: &crate::db::Db) {
        use std::sync::atomic::Ordering;
        loop {
            let batch: Vec<(Uuid, DateTime<Utc>)> =
                std::mem::take(&mut *self.lock()).into_iter().collect();
            if batch.is_empty() {
                self.flushing.store(false, Ordering::SeqCst);
                // a use noted between the take and the store started no flush: take it over
                if self.lock().is_empty() || self.flushing.swap(true, Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            if let Err(e) = write_last_uses(db, &batch).await {
                tracing::debug!(error = %e, tokens = batch.len(), "tokens' last use not recorded");
            }
        }
    }
}

/// Write the noted last uses in one transaction (a use never moves a recorded one back).
async fn write_last_uses(
    db: &crate::db::Db,
    batch: &[(Uuid, DateTime<Utc>)],
) -> Result<(), sea_orm::DbErr> {
    let w = db.write(workflow::store::Scope::Platform).await?;
    for (id, at) in batch {
        api_token::Entity::update_many()
            .col_expr(api_token::Column::LastUsedAt, Expr::value(*at))
            .filter(api_token::Column::Id.eq(*id))
            .filter(
                sea_orm::Condition::any()
                    .add(api_token::Column::LastUsedAt.is_null())
                    .add(api_token::Column::LastUsedAt.lt(*at)),
            )
            .exec(&w.txn)
            .await?;
    }
    w.commit().await
}

/// Every token, oldest first.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<api_token::Model>, sea_orm::DbErr> {
    api_token::Entity::find()
        .order_by_asc(api_token::Column::CreatedAt)
        .order_by_asc(api_token::Column::Id)
        .all(db)
        .await
}

/// Why a hash prefix names no single token.
#[derive(Debug, thiserror::Error)]
pub enum PrefixError {
    #[error("a hash prefix is at least {MIN_PREFIX_LEN} hexadecimal characters")]
    Malformed,
    #[error("no token's hash starts with {0}")]
    NoMatch(String),
    #[error("{1} tokens' hashes start with {0}: give more characters")]
    Ambiguous(String, usize),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// The one token whose hash starts with `prefix`.
pub async fn find_by_prefix<C: ConnectionTrait>(
    db: &C,
    prefix: &str,
) -> Result<api_token::Model, PrefixError> {
    let prefix = prefix.trim().to_ascii_lowercase();
    if prefix.len() < MIN_PREFIX_LEN || !prefix.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PrefixError::Malformed);
    }
    let mut found = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.starts_with(&prefix))
        .all(db)
        .await?;
    match found.len() {
        0 => Err(PrefixError::NoMatch(prefix)),
        1 => Ok(found.remove(0)),
        n => Err(PrefixError::Ambiguous(prefix, n)),
    }
}

/// Revoke `row` at `now` (effective on the token's next request: every request reads the row).
/// Returns false when it was already revoked.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    row: &api_token::Model,
    now: DateTime<Utc>,
) -> Result<bool, sea_orm::DbErr> {
    let r = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(row.id))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Store a new token for `role`/`org` and return the clear token (shown once).
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    role: Role,
    org: Option<Uuid>,
    label: &str,
    now: chrono::DateTime<chrono::Utc>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(Uuid, String), sea_orm::DbErr> {
    let token = new_token();
    let id = Uuid::now_v7();
    api_token::ActiveModel {
        id: Set(id),
        token_hash: Set(hash_token(&token)),
        role: Set(role.as_str().to_owned()),
        org_id: Set(org),
        label: Set(label.to_owned()),
        created_at: Set(now),
        revoked_at: Set(None),
        expires_at: Set(expires_at),
        last_used_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((id, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("sua_") && a.len() == 4 + 43);
        assert_eq!(hash_token(&a), hash_token(&a));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a).len(), 64);
    }
}
