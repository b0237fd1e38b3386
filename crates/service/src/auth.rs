//! The HTTP edge of authentication: the bearer token of a request becomes a [`Principal`]
//! (tokens themselves: [`crate::tokens`]; roles and the caller: `workflow::access`).

use crate::{db::entities::api_token, error::AppError, state::AppState};
use axum::{extract::FromRequestParts, http::request::Parts};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub use crate::tokens::{hash_token, issue, new_token};
pub use workflow::access::{Principal, Role};

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
    let p = principal_for_token(state, token).await?;
    rate_limit(state, &p)?;
    Ok(Some(p))
}

/// The per-token rate limit: 429 with `Retry-After` (whole seconds, at least 1) past the quota.
fn rate_limit(state: &AppState, p: &Principal) -> Result<(), AppError> {
    let Some(limiter) = &state.rate_limit else {
        return Ok(());
    };
    limiter.check_key(&p.token_id).map_err(|not_until| {
        use governor::clock::{Clock, DefaultClock};
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::TooManyRequests {
            retry_after_secs: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
        }
    })
}

/// The caller a clear token stands for (the API's bearer header, the console's login form), or 401 when
/// it is unknown, revoked or expired. The row is read on every request (no cache), so a revocation is
/// effective on the token's next request. The token's last use is recorded at most once a minute, in
/// the background, coalesced with other tokens' (`tokens::LastUse`).
pub async fn principal_for_token(state: &AppState, token: &str) -> Result<Principal, AppError> {
    let row = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_token(token)))
        .one(&state.db.conn)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let now = state.now();
    if let Some(why) = crate::tokens::refusal(&row, now) {
        return Err(AppError::TokenRefused(why));
    }
    let role = Role::parse(&row.role).ok_or(AppError::Unauthorized)?;
    let principal = Principal {
        token_id: row.id,
        role,
        org: row.org_id,
    };
    if row
        .last_used_at
        .is_none_or(|t| now - t >= crate::tokens::LAST_USE_GRANULARITY)
    {
        state.last_use.record(&state.db, row.id, now);
    }
    Ok(principal)
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
