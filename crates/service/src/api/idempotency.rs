//! `Idempotency-Key` on bid submission and lifecycle events: a client that lost the answer retries with
//! the same key and body and gets the first answer (the same receipt) without a second effect.
//!
//! The key is scoped by the caller's token. The first answer is stored (`idempotency_key`) in the
//! transaction of the act it answers, under the act's write lock, so it exists if and only if the act
//! committed; a retry reads it under the same lock, before any check of the act (a retry after the
//! deadline still gets its receipt). The same key with another body or on another operation: 422.
//! A refused request stores nothing: its retry is judged again.
//!
//! Uploads whose body is a stream (tender and request documents, bid files): the body's digest is known
//! only once it has been read. The request's fingerprint is then the SHA-256 of its media type and of
//! the body's SHA-256 ([`Idempotency::with_streamed_body`]). A retry whose key already has an answer
//! is read only to hash it, nothing is stored ([`Idempotency::replay_streamed`]); a first request is
//! streamed into the store and checked again under the act's lock, where a retry that raced it finds
//! the answer and its own object is deleted. So a retried upload leaves one row and one object.

use crate::db::entities::idempotency_key;
use crate::error::{ApiJson, ApiResult, AppError};
use axum::{
    body::{Body, Bytes},
    extract::{FromRequest, FromRequestParts, Request},
    http::{HeaderMap, StatusCode, request::Parts},
    response::{IntoResponse, Response},
};
use futures_util::{Stream, StreamExt};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use workflow::access::Principal;
use workflow::store::WriteTxn;

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

/// What [`Idempotency::replay_in`] found.
pub enum Replayed<R> {
    /// The key's first answer, durable.
    Answer(StatusCode, R),
    /// No answer yet: run the act in this transaction.
    Run(WriteTxn),
}

/// What to do with a streamed upload (see [`Idempotency::replay_streamed`]).
pub enum Streamed<S, R> {
    /// The key already has its answer: give it again (the body was read and hashed, nothing stored).
    Replay(StatusCode, R),
    /// Run the upload with its body, untouched.
    Run(S),
}

impl Idempotency {
    /// Whether the request carries an `Idempotency-Key`.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The fingerprint of a streamed upload once its body is read: its media type and the SHA-256 of
    /// its bytes (hex), so another content or another type under the same key is refused.
    pub fn with_streamed_body(self, media_type: &str, body_sha256: &str) -> Self {
        Idempotency {
            sha256: hex::encode(Sha256::digest(format!("{media_type}\n{body_sha256}"))),
            ..self
        }
    }

    /// For a streamed upload, before anything is stored: when the key already has an answer (a
    /// committed act of this token), read the body only to hash it (at most `max_bytes`, else 413) and
    /// give the answer back, or refuse (422) if the operation, the media type or the content differ.
    /// Otherwise hand the body back untouched. Without a key, always `Run`.
    pub async fn replay_streamed<C, R, S, E>(
        &self,
        db: &C,
        p: &Principal,
        media_type: &str,
        body: S,
        max_bytes: u64,
    ) -> ApiResult<Streamed<S, R>>
    where
        C: ConnectionTrait,
        R: DeserializeOwned,
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Some(key) = &self.key else {
            return Ok(Streamed::Run(body));
        };
        let Some(row) = idempotency_key::Entity::find_by_id((p.token_id, key.clone()))
            .one(db)
            .await?
        else {
            return Ok(Streamed::Run(body));
        };
        if row.operation != self.operation {
            // another route: refused without reading the body
            return Err(reused(&row.operation));
        }
        let sha = stream_sha256(body, max_bytes).await?;
        let idem = Idempotency {
            key: self.key.clone(),
            sha256: self.sha256.clone(),
            operation: self.operation.clone(),
        }
        .with_streamed_body(media_type, &sha);
        match idem.replay(db, p).await? {
            Some((status, r)) => Ok(Streamed::Replay(status, r)),
            // the row exists and is never deleted
            None => Err(AppError::Internal(anyhow::anyhow!(
                "idempotency key vanished"
            ))),
        }
    }

    /// The first answer to this (token, key), if the act already committed: `None` to run the act.
    /// In the act's write transaction, before any check, call [`Idempotency::replay_in`] instead.
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
            return Err(reused(&row.operation));
        }
        let status = StatusCode::from_u16(row.status as u16)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored status: {e}")))?;
        let body = serde_json::from_str(&row.response_json)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored answer: {e}")))?;
        Ok(Some((status, body)))
    }

    /// [`Idempotency::replay`] in the act's write transaction `w`, which it takes: when the key has its
    /// first answer, `w` is committed (it wrote nothing) before the answer is given back, so the answer
    /// never leaves before what it answers is durable (with SQLite's group commit the first act may still
    /// be in the batch this transaction joined); otherwise `w` comes back to run the act.
    pub async fn replay_in<R: DeserializeOwned>(
        &self,
        w: WriteTxn,
        p: &Principal,
    ) -> ApiResult<Replayed<R>> {
        match self.replay(&w.txn, p).await? {
            Some((status, r)) => {
                w.commit().await?;
                Ok(Replayed::Answer(status, r))
            }
            None => Ok(Replayed::Run(w)),
        }
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

/// 422: the key was used for another request (`operation` or another body).
fn reused(operation: &str) -> AppError {
    AppError::bad(
        HEADER,
        format!(
            "{HEADER}: this key was used for another request ({operation}); a retry sends the same body to \
             the same operation, a new request takes a new key"
        ),
    )
}

/// The hex SHA-256 of a body read to its end, refused (413) past `max_bytes`.
async fn stream_sha256<S, E>(mut body: S, max_bytes: u64) -> ApiResult<String>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut h = Sha256::new();
    let mut len: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| AppError::Malformed(format!("upload body: {e}")))?;
        len += chunk.len() as u64;
        if len > max_bytes {
            return Err(AppError::TooLarge);
        }
        h.update(&chunk);
    }
    Ok(hex::encode(h.finalize()))
}
