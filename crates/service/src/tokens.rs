//! Bearer API tokens: made, hashed and stored here; read from requests by `crate::auth`.
//!
//! A token is `sua_` + 32 random bytes (base64url). Only its SHA-256 is stored. A slow password hash
//! (argon2) protects low-entropy secrets against offline guessing; a 256-bit random token cannot be
//! guessed, so a fast hash is as safe and lets each request find its token with one indexed lookup
//! (an argon2 verification per request would cost tens of milliseconds of CPU).

use crate::db::entities::api_token;
use base64::Engine;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
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

/// Store a new token for `role`/`org` and return the clear token (shown once).
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    role: Role,
    org: Option<Uuid>,
    label: &str,
    now: chrono::DateTime<chrono::Utc>,
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
