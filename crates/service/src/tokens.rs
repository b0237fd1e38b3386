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

/// Record that the token was used at `now`, unless that was already recorded less than
/// [`LAST_USE_GRANULARITY`] ago (one conditional UPDATE, at most once a minute per token).
pub async fn touch<C: ConnectionTrait>(
    db: &C,
    row: &api_token::Model,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    if row
        .last_used_at
        .is_some_and(|t| now - t < LAST_USE_GRANULARITY)
    {
        return Ok(());
    }
    api_token::Entity::update_many()
        .col_expr(api_token::Column::LastUsedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
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
