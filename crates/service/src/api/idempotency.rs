//! `Idempotency-Key` on bid submission and lifecycle events: a client that lost the answer retries with
//! the same key and body and gets the first answer (the same receipt) without a second effect.
//!
//! The key is scoped by the caller's token. The first answer is stored (`idempotency_key`) in the
//! transaction of the act it answers, under the act's write lock, so it exists if and only if the act
//! committed; a retry reads it under the same lock, before any check of the act (a retry after the
//! deadline still gets its receipt). The same key with another body or on another operation: 422.
//! A refused request stores nothing: its retry is judged again.

use crate::db::entities::idempotency_key;
use crate::error::{ApiJson, ApiResult, AppError};
use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use workflow::access::Principal;

/// The request header.
pub const HEADER: &str = "Idempotency-Key";

/// The longest key accepted.
const MAX_LEN: usize = 255;

/// The `Idempotency-Key` of a request (if any) and the SHA-256 of its body.
pub struct Idempotency {
    key: Option<String>,
    sha256: String,
    operation: String,
}

fn key_of(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(HEADER) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .ok()
        .filter(|s| !s.is_empty() && s.len() <= MAX_LEN && s.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            AppError::bad(
                HEADER,
                format!("{HEADER}: 1 to {MAX_LEN} visible ASCII characters (e.g. a UUID)"),
            )
        })?;
    Ok(Some(s.to_owned()))
}

fn operation(parts: &Parts) -> String {
    format!("{} {}", parts.method, parts.uri.path())
}

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = Response;

    /// For a request without a body (the body's digest is that of no bytes).
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Idempotency {
            key: key_of(&parts.headers).map_err(IntoResponse::into_response)?,
            sha256: hex::encode(Sha256::digest(b"")),
            operation: operation(parts),
        })
    }
}

/// A JSON body (parsed as [`ApiJson`] parses it) with the request's [`Idempotency`].
pub struct IdempotentJson<T>(pub Idempotency, pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for IdempotentJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let idem = Idempotency::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let ApiJson(v) = ApiJson::<T>::from_request(Request::new(Body::from(bytes)), state).await?;
        Ok(IdempotentJson(Idempotency { sha256, ..idem }, v))
    }
}

impl Idempotency {
    /// The first answer to this (token, key), if the act already committed: `None` to run the act.
    /// Call it inside the act's write transaction, before any check.
    pub async fn replay<C: ConnectionTrait, R: DeserializeOwned>(
        &self,
        db: &C,
        p: &Principal,
    ) -> ApiResult<Option<(StatusCode, R)>> {
        let Some(key) = &self.key else {
            return Ok(None);
        };
        let Some(row) = idempotency_key::Entity::find_by_id((p.token_id, key.clone()))
            .one(db)
            .await?
        else {
            return Ok(None);
        };
        if row.operation != self.operation || row.request_sha256 != self.sha256 {
            return Err(AppError::bad(
                HEADER,
                format!(
                    "{HEADER}: this key was used for another request ({}); a retry sends the same body to \
                     the same operation, a new request takes a new key",
                    row.operation
                ),
            ));
        }
        let status = StatusCode::from_u16(row.status as u16)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored status: {e}")))?;
        let body = serde_json::from_str(&row.response_json)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored answer: {e}")))?;
        Ok(Some((status, body)))
    }

    /// Store the answer of the act, in its transaction (before its commit).
    pub async fn record<C: ConnectionTrait, R: Serialize>(
        &self,
        db: &C,
        p: &Principal,
        status: StatusCode,
        answer: &R,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ApiResult<()> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        idempotency_key::ActiveModel {
            token_id: Set(p.token_id),
            key: Set(key.clone()),
            operation: Set(self.operation.clone()),
            request_sha256: Set(self.sha256.clone()),
            status: Set(i32::from(status.as_u16())),
            response_json: Set(serde_json::to_string(answer)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("answer: {e}")))?),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
        Ok(())
    }
}
