//! Public tender documents (bando, disciplinare, answers to clarifications) and municipality request
//! attachments, in the document store, unencrypted (issue 6 "Documents").
//!
//! Upload: streamed (`PUT /v1/tenders/{id}/documents/{name}`, `PUT /v1/requests/{id}/documents/{name}`,
//! the body is the file and `Content-Type` its media type) or, for small files, as JSON with base64
//! content (`POST .../documents`, kept for existing clients; bounded by `http.body_limit_bytes`). Both end
//! in the store under `documents/{owner kind}/{owner id}/{document id}` with the SHA-256 computed while
//! streaming; the `document` row holds the key, size, SHA-256 and media type, not the bytes. Size limit
//! (413, before the body when `Content-Length` says so) and allowed types (415) come from `[documents]`.
//! A name is used once per tender or request (409 otherwise), so a retried upload cannot duplicate.
//! Every upload route takes an `Idempotency-Key` (`api::idempotency`): a retry with the same key and
//! content gets the first answer (201, the same document) instead of that 409, with no second row and
//! no second object; the same key with another content or media type is refused (422).
//!
//! Download: `GET /v1/documents/{id}`; the stored object is hashed in full and compared with the row
//! before the first byte is sent (409 "file integrity" otherwise), and hashed again while streaming.
//! Tender documents: whoever may see the tender (anyone once it is published, its buyers before);
//! request attachments: the owning municipality and the SUA buyers of its Province (and the platform
//! admin, as for the request itself). Anyone else gets 404.
//!
//! Rows written before the store (`storage_key` NULL) keep their bytes in `document.content` and are
//! still served from there, verified the same way; they are not moved.

use crate::docstore::{self, HashFilter, check_name};
use crate::{
    api::idempotency::{Idempotency, IdempotentJson, Replayed, Streamed},
    api::requests::visible_request,
    audit,
    auth::{MaybePrincipal, Principal, Role},
    db::entities::procurement_request as req,
    error::{ApiResult, AppError, Problem},
    state::AppState,
};
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use bytes::Bytes;
use futures_util::Stream;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::access::{access_tender, manage_tender};
use workflow::store::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_request_document, list_request_documents))
        .routes(routes!(put_request_document))
        .routes(routes!(put_tender_document))
        .routes(routes!(get_document))
}

/// The `document` rows (defined with the other entities).
pub use crate::db::entities::document;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDocument {
    pub name: String,
    pub media_type: String,
    /// File content, standard base64 (small files; larger ones: the streamed `PUT` route).
    pub content_base64: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DocumentView {
    pub id: Uuid,
    pub name: String,
    pub media_type: String,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub size_bytes: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Where to download it: `/v1/documents/{id}`.
    pub href: String,
}

impl From<document::Model> for DocumentView {
    fn from(d: document::Model) -> Self {
        DocumentView {
            href: format!("/v1/documents/{}", d.id),
            id: d.id,
            name: d.name,
            media_type: d.media_type,
            sha256: d.sha256,
            size_bytes: d.size_bytes,
            created_at: d.created_at,
        }
    }
}

/// Who owns a document.
#[derive(Clone, Copy, Debug)]
pub enum Owner {
    Tender(Uuid),
    Request(Uuid),
}

impl Owner {
    fn kind(self) -> &'static str {
        match self {
            Owner::Tender(_) => "tender",
            Owner::Request(_) => "request",
        }
    }
    fn id(self) -> Uuid {
        match self {
            Owner::Tender(id) | Owner::Request(id) => id,
        }
    }
    fn parse(kind: &str, id: Uuid) -> ApiResult<Owner> {
        match kind {
            "tender" => Ok(Owner::Tender(id)),
            "request" => Ok(Owner::Request(id)),
            k => Err(AppError::Internal(anyhow::anyhow!(
                "document owner kind '{k}'"
            ))),
        }
    }
}

/// The `Idempotency-Key` parameter of the upload routes (OpenAPI).
pub const KEY_DOC: &str = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and the same content returns the first answer (201, the same document) without a second document; the same key with another content or media type is refused (422).";

/// Store a document given as JSON with base64 content (owner `request` or `tender`): it goes to the
/// document store like a streamed one; audit-logged with its SHA-256. A retry under the request's
/// `Idempotency-Key` gets the first answer (the JSON body's digest is the fingerprint).
pub async fn store_document(
    st: &AppState,
    p: &Principal,
    owner_kind: &str,
    owner_id: Uuid,
    b: NewDocument,
    idem: Idempotency,
) -> ApiResult<(StatusCode, DocumentView)> {
    let owner = Owner::parse(owner_kind, owner_id)?;
    let cfg = &st.settings.documents;
    let name = checked_name(&b.name)?;
    let media_type = cfg.allowed(&b.media_type).ok_or_else(|| {
        AppError::bad(
            "media_type",
            format!(
                "media_type: '{}' is not an allowed media type ({})",
                b.media_type,
                cfg.allowed_media_types.join(", ")
            ),
        )
    })?;
    let content = base64::engine::general_purpose::STANDARD
        .decode(b.content_base64.trim())
        .map_err(|e| AppError::bad("content_base64", format!("content_base64: {e}")))?;
    let body = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(content))]);
    put_document(st, p, owner, name, media_type, body, idem, false).await
}

fn checked_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    check_name(name)?;
    Ok(name.to_owned())
}

async fn name_taken<C: ConnectionTrait>(db: &C, owner: Owner, name: &str) -> ApiResult<()> {
    let n = document::Entity::find()
        .filter(document::Column::OwnerKind.eq(owner.kind()))
        .filter(document::Column::OwnerId.eq(owner.id()))
        .filter(document::Column::Name.eq(name))
        .one(db)
        .await?;
    if n.is_some() {
        return Err(AppError::conflict(
            "document name",
            format!("the {} already has a document named '{name}'", owner.kind()),
        ));
    }
    Ok(())
}

/// A request that `p` may attach documents to: its municipality, while the request is open.
async fn open_request<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> ApiResult<req::Model> {
    p.require(Role::Municipality)?;
    let r = visible_request(db, p, id).await?;
    if r.status.is_final() {
        return Err(AppError::conflict(
            "request.document",
            format!("documents cannot be added to a {} request", r.status),
        ));
    }
    Ok(r)
}

/// Stream `body` into the store and write its row (after the owner's checks, which the caller did).
/// The object is deleted again if the row cannot be written, or if a retry under the same
/// `Idempotency-Key` committed first (its answer is given). `streamed`: `idem`'s fingerprint is
/// completed with the body's digest once read (the caller already asked
/// [`Idempotency::replay_streamed`]); otherwise it is the JSON body's and is checked first.
#[allow(clippy::too_many_arguments)]
async fn put_document<S, E>(
    st: &AppState,
    p: &Principal,
    owner: Owner,
    name: String,
    media_type: String,
    body: S,
    idem: Idempotency,
    streamed: bool,
) -> ApiResult<(StatusCode, DocumentView)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if !streamed && let Some(first) = idem.replay(&st.db.conn, p).await? {
        return Ok(first);
    }
    // a name already taken is refused before the body is stored, unless the request has a key: then a
    // copy of it that raced this one may have taken the name, and the check under the lock (after its
    // replay) tells the two apart
    if let Err(e) = name_taken(&st.db.conn, owner, &name).await
        && !idem.has_key()
    {
        return Err(e);
    }
    let cfg = &st.settings.documents;
    let store = cfg.store()?;
    let id = Uuid::now_v7();
    let key = format!("documents/{}/{}/{id}", owner.kind(), owner.id());
    let mut f = HashFilter::default();
    store
        .put_stream(&key, body, cfg.max_file_bytes, &mut f)
        .await
        .map_err(AppError::from)?;
    let sha = f
        .sha256
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("upload not finished")))?;
    let idem = if streamed {
        idem.with_streamed_body(&media_type, &sha)
    } else {
        idem
    };
    // (answer, whether this request stored it: false when a retry under its key committed first)
    let r: ApiResult<((StatusCode, DocumentView), bool)> = async {
        let now = st.now();
        let scope = super::scope_of(&st.db, owner.kind(), owner.id()).await?;
        let w = st.db.write(scope).await?;
        let w = match idem.replay_in(w, p).await? {
            Replayed::Answer(status, first) => return Ok(((status, first), false)),
            Replayed::Run(w) => w,
        };
        // checked again at the end of the upload
        name_taken(&w.txn, owner, &name).await?;
        if let Owner::Request(rid) = owner {
            open_request(&w.txn, p, rid).await?;
        }
        let d = document::ActiveModel {
            id: Set(id),
            owner_kind: Set(owner.kind().to_owned()),
            owner_id: Set(owner.id()),
            name: Set(name.clone()),
            media_type: Set(media_type.clone()),
            sha256: Set(sha.clone()),
            size_bytes: Set(f.len as i64),
            content: Set(Vec::new()),
            storage_key: Set(Some(key.clone())),
            created_at: Set(now),
        }
        .insert(&w.txn)
        .await?;
        let view = DocumentView::from(d);
        audit::append(
            &w.txn,
            now,
            audit::Entry {
                chain: Scope::of_object(&w.txn, owner.kind(), owner.id()).await?,
                actor: &p.actor(),
                action: "document.add",
                object_kind: owner.kind(),
                object_id: owner.id().to_string(),
                before: None,
                after: Some(serde_json::to_value(&view).unwrap_or_default()),
            },
        )
        .await?;
        idem.record(&w.txn, p, StatusCode::CREATED, &view, now)
            .await?;
        w.commit().await?;
        Ok(((StatusCode::CREATED, view), true))
    }
    .await;
    if !matches!(r, Ok((_, true)))
        && let Err(e) = store.delete(&key).await
    {
        tracing::warn!(%key, error = %e, "document store: orphan object");
    }
    r.map(|(answer, _)| answer)
}

pub async fn documents_of<C: ConnectionTrait>(
    db: &C,
    owner_kind: &str,
    owner_id: Uuid,
) -> ApiResult<Vec<DocumentView>> {
    Ok(document::Entity::find()
        .filter(document::Column::OwnerKind.eq(owner_kind))
        .filter(document::Column::OwnerId.eq(owner_id))
        .order_by_asc(document::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(DocumentView::from)
        .collect())
}

/// The checked name and media type of a streamed upload (see [`super::upload_media_type`]).
#[allow(clippy::result_large_err)] // a handler's error response, returned at once
fn streamed_upload_checks(
    st: &AppState,
    name: &str,
    headers: &HeaderMap,
) -> Result<(String, String), Response> {
    let name = checked_name(name).map_err(IntoResponse::into_response)?;
    let media_type = docstore::upload_media_type(&st.settings.documents, headers)?;
    Ok((name, media_type))
}

/// Attach a document to a request (municipality, while the request is open), as JSON with base64
/// content. Larger files: `PUT /v1/requests/{id}/documents/{name}`.
#[utoipa::path(post, path = "/v1/requests/{id}/documents", tag = "requests", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body = NewDocument,
    responses((status = 201, body = DocumentView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn add_request_document(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    IdempotentJson(idem, b): IdempotentJson<NewDocument>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    if let Some((status, first)) = idem.replay(&st.db.conn, &p).await? {
        return Ok((status, Json(first)));
    }
    open_request(&st.db.conn, &p, id).await?;
    let (status, v) = store_document(&st, &p, "request", id, b, idem).await?;
    Ok((status, Json(v)))
}

/// Documents attached to a request (its municipality and the buyers of its Province).
#[utoipa::path(get, path = "/v1/requests/{id}/documents", tag = "requests", security(("bearer" = [])),
    responses((status = 200, body = Vec<DocumentView>), (status = 404, body = Problem)))]
async fn list_request_documents(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    visible_request(&st.db.conn, &p, id).await?;
    Ok(Json(documents_of(&st.db.conn, "request", id).await?))
}

/// Attach a document to a request, streamed (municipality, while the request is open). The body is the
/// file; `Content-Type` is its media type.
#[utoipa::path(put, path = "/v1/requests/{id}/documents/{name}", tag = "requests", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("name" = String, Path, description = "file name, once per request"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
async fn put_request_document(
    State(st): State<AppState>,
    p: Principal,
    Path((id, name)): Path<(Uuid, String)>,
    idem: Idempotency,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentView>), Response> {
    put_streamed(&st, &p, Owner::Request(id), &name, idem, &headers, body).await
}

/// Attach a tender document (bando, disciplinare, answers to clarifications), streamed (the tender's
/// buyers). The body is the file; `Content-Type` is its media type.
#[utoipa::path(put, path = "/v1/tenders/{id}/documents/{name}", tag = "tenders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("name" = String, Path, description = "file name, once per tender"),
        ("Idempotency-Key" = Option<String>, Header, description = KEY_DOC)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = DocumentView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem)))]
async fn put_tender_document(
    State(st): State<AppState>,
    p: Principal,
    Path((id, name)): Path<(Uuid, String)>,
    idem: Idempotency,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentView>), Response> {
    put_streamed(&st, &p, Owner::Tender(id), &name, idem, &headers, body).await
}

/// A streamed upload to `owner`: the retry of a keyed request gets its first answer before any check;
/// otherwise the caller must be allowed to attach to `owner` (the request open and the municipality's,
/// the tender managed by the buyer), then the body is stored ([`put_document`]).
async fn put_streamed(
    st: &AppState,
    p: &Principal,
    owner: Owner,
    name: &str,
    idem: Idempotency,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<DocumentView>), Response> {
    let (name, media_type) = streamed_upload_checks(st, name, headers)?;
    let body = match idem
        .replay_streamed(
            &st.db.conn,
            p,
            &media_type,
            body.into_data_stream(),
            st.settings.documents.max_file_bytes,
        )
        .await
        .map_err(IntoResponse::into_response)?
    {
        Streamed::Replay(status, first) => return Ok((status, Json(first))),
        Streamed::Run(body) => body,
    };
    let allowed = match owner {
        Owner::Request(id) => open_request(&st.db.conn, p, id).await.map(drop),
        Owner::Tender(id) => manage_tender(&st.db.conn, p, id)
            .await
            .map(drop)
            .map_err(AppError::from),
    };
    allowed.map_err(IntoResponse::into_response)?;
    let (status, v) = put_document(st, p, owner, name, media_type, body, idem, true)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((status, Json(v)))
}

/// `filename*=` of a Content-Disposition (RFC 8187): UTF-8, percent-encoded.
fn disposition(name: &str) -> String {
    let mut enc = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(b as char);
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename*=UTF-8''{enc}")
}

/// Download a document: a tender document by whoever may see the tender (anyone once published), a
/// request attachment by the request's municipality and the SUA buyers of its Province. The stored
/// bytes are checked against the recorded SHA-256 and size before the first byte is sent (409 "file
/// integrity" otherwise).
#[utoipa::path(get, path = "/v1/documents/{id}", tag = "documents",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn get_document(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let d = document::Entity::find_by_id(id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    let visible = match Owner::parse(&d.owner_kind, d.owner_id)? {
        Owner::Tender(t) => access_tender(&st.db.conn, p.as_ref(), t).await.is_ok(),
        Owner::Request(r) => match &p {
            Some(p) => visible_request(&st.db.conn, p, r).await.is_ok(),
            None => false,
        },
    };
    if !visible {
        return Err(AppError::NotFound("document"));
    }
    let integrity = |e: String| {
        tracing::error!(document = %d.id, error = %e, "stored document failed its integrity check");
        AppError::conflict(
            "file integrity",
            format!(
                "the stored document '{}' failed its integrity check: {e}",
                d.name
            ),
        )
    };
    let len = u64::try_from(d.size_bytes).unwrap_or(0);
    let body = match &d.storage_key {
        Some(key) => {
            let store = st.settings.documents.store()?;
            docstore::verify_plain(&store, key, &d.sha256, len)
                .await
                .map_err(integrity)?;
            docstore::stream_plain(store, key.clone(), d.sha256.clone(), len)
        }
        None => {
            // a row from before the store: the bytes are in the row
            let got = hex::encode(Sha256::digest(&d.content));
            if d.content.len() as u64 != len || !got.eq_ignore_ascii_case(&d.sha256) {
                return Err(integrity(format!(
                    "SHA-256 {got} stored, {} recorded",
                    d.sha256
                )));
            }
            Body::from(d.content.clone())
        }
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&d.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256={}", d.sha256)) {
        h.insert("x-content-sha256", v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition(&d.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_is_encoded() {
        assert_eq!(
            disposition("bando di gara.pdf"),
            "attachment; filename*=UTF-8''bando%20di%20gara.pdf"
        );
        assert_eq!(
            disposition("è\";x"),
            "attachment; filename*=UTF-8''%C3%A8%22%3Bx"
        );
    }
}
