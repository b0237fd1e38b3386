//! Bearer API tokens and roles.
//!
//! A token is `sua_` + 32 random bytes (base64url). Only its SHA-256 is stored. A slow password hash
//! (argon2) protects low-entropy secrets against offline guessing; a 256-bit random token cannot be
//! guessed, so a fast hash is as safe and lets each request find its token with one indexed lookup
//! (an argon2 verification per request would cost tens of milliseconds of CPU).

use crate::{
    db::entities::api_token,
    error::{ApiResult, AppError},
    state::AppState,
};
use axum::{extract::FromRequestParts, http::request::Parts};
use base64::Engine;
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the deployment: provinces, municipalities, tokens.
    PlatformAdmin,
    /// A buyer of one Province (SUA); `org` = province id.
    SuaBuyer,
    /// A user of one Comune; `org` = municipality id.
    Municipality,
    /// A user of one economic operator; `org` = operator id.
    Bidder,
    /// A member of the commission of one tender; `org` = tender id.
    Commissioner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::SuaBuyer => "sua_buyer",
            Role::Municipality => "municipality",
            Role::Bidder => "bidder",
            Role::Commissioner => "commissioner",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "platform_admin" => Role::PlatformAdmin,
            "sua_buyer" => Role::SuaBuyer,
            "municipality" => Role::Municipality,
            "bidder" => Role::Bidder,
            "commissioner" => Role::Commissioner,
            _ => return None,
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub role: Role,
    /// Province, municipality, operator or tender, depending on the role; `None` for platform admins.
    pub org: Option<Uuid>,
}

impl Principal {
    /// Audit actor string, e.g. `sua_buyer:<province>/<token>`.
    pub fn actor(&self) -> String {
        match self.org {
            Some(o) => format!("{}:{o}/{}", self.role.as_str(), self.token_id),
            None => format!("{}/{}", self.role.as_str(), self.token_id),
        }
    }
    pub fn require(&self, role: Role) -> ApiResult<Uuid> {
        if self.role != role {
            return Err(AppError::Forbidden(format!(
                "this action needs the {} role",
                role.as_str()
            )));
        }
        self.org
            .ok_or_else(|| AppError::Forbidden("token has no organisation".into()))
    }
    pub fn require_admin(&self) -> ApiResult<()> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "this action needs the platform_admin role".into(),
            ))
        }
    }
}

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

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<Principal>, AppError> {
    let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = h
        .to_str()
        .ok()
        .and_then(|s| s.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(AppError::Unauthorized)?;
    let row = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .one(&state.db.conn)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if row.revoked_at.is_some() {
        return Err(AppError::Unauthorized);
    }
    let role = Role::parse(&row.role).ok_or(AppError::Unauthorized)?;
    Ok(Some(Principal {
        token_id: row.id,
        role,
        org: row.org_id,
    }))
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        authenticate(parts, state)
            .await?
            .ok_or(AppError::Unauthorized)
    }
}

/// An optional caller: public endpoints show more to authenticated callers.
/// A malformed or unknown token is still a 401 (never silently downgraded to anonymous).
pub struct MaybePrincipal(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybePrincipal {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybePrincipal(authenticate(parts, state).await?))
    }
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

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for r in [
            Role::PlatformAdmin,
            Role::SuaBuyer,
            Role::Municipality,
            Role::Bidder,
            Role::Commissioner,
        ] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
