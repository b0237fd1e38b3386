//! `PUT`/`GET /v1/bids/{id}/envelopes/{kind}/files/{name}`: sealed files of a bid's envelopes.
//!
//! The upload takes an `Idempotency-Key` (`api::idempotency`): a retry with the same key and content
//! gets the first answer (the same file and `file_upload` receipt, even after the deadline) with no
//! second row and no second sealed object; the same key with another content is refused (422).

use crate::api::idempotency::{Idempotency, Replayed, Streamed};
use crate::docstore::{self, bid_file, envelope_context, expected_summary, item, store_stream};
use crate::{
    auth::{Principal, Role},
    db::entities::{bid, lot, tender},
    error::{ApiResult, AppError, Problem},
    sealed,
    state::AppState,
};
use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::store::Scope;
use workflow::store::entities::EnvelopeState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload_file, download_file))
}

/// A stored file of an envelope (no content).
#[derive(Serialize, ToSchema)]
pub struct FileView {
    pub id: Uuid,
    pub bid_id: Uuid,
    pub version: i32,
    pub kind: String,
    pub name: String,
    pub media_type: String,
    /// Hex SHA-256 of the plaintext, computed while streaming.
    pub sha256: String,
    pub size: i64,
    pub sealed_size: i64,
    /// On upload: the signed `file_upload` receipt (docs/sealing.md §4) listing every file of the bid
    /// version, this one included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<serde_json::Value>,
}

fn view(r: &bid_file::Model) -> FileView {
    FileView {
        id: r.id,
        bid_id: r.bid_id,
        version: r.version,
        kind: r.kind.clone(),
        name: r.name.clone(),
        media_type: r.media_type.clone(),
        sha256: r.sha256.clone(),
        size: r.plain_len,
        sealed_size: r.sealed_len,
        receipt: None,
    }
}

/// The current (`submitted`) envelope of `kind` of the bid.
async fn current_envelope<C: sea_orm::ConnectionTrait>(
    db: &C,
    bid_id: Uuid,
    kind: &str,
) -> ApiResult<Option<sealed::bid_envelope::Model>> {
    Ok(sealed::bid_envelope::Entity::find()
        .filter(sealed::bid_envelope::Column::BidId.eq(bid_id))
        .filter(sealed::bid_envelope::Column::Kind.eq(kind))
        .filter(sealed::bid_envelope::Column::State.eq(EnvelopeState::Submitted.as_str()))
        .order_by_desc(sealed::bid_envelope::Column::Version)
        .one(db)
        .await?)
}

fn before_deadline(t: &tender::Model, now: chrono::DateTime<chrono::Utc>) -> ApiResult<()> {
    let deadline = t
        .deadline
        .ok_or_else(|| AppError::conflict("lex specialis", "the tender has no offer deadline"))?;
    if now >= deadline || !t.state.accepts_bids() {
        return Err(AppError::conflict(
            "offer deadline",
            format!(
                "the offer deadline passed at {deadline} (or the tender is {})",
                t.state
            ),
        ));
    }
    Ok(())
}

/// Upload a file into an envelope of one's bid (bidder, before the deadline, current version). The body
/// is the file (streamed, sealed with the envelope's data key); `Content-Type` is its media type.
#[utoipa::path(put, path = "/v1/bids/{id}/envelopes/{kind}/files/{name}", tag = "bidders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("kind" = inline(crate::api::EnvelopeKind), Path),
        ("name" = String, Path, description = "file name"),
        ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and the same content returns the first answer (201, the same file and receipt, even after the deadline) without a second file; the same key with another content or media type is refused (422).")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn upload_file(
    State(st): State<AppState>,
    p: Principal,
    Path((id, kind, name)): Path<(Uuid, String, String)>,
    idem: Idempotency,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<serde_json::Value>), Response> {
    let cfg = &st.settings.documents;
    let kind = sealed::parse_kind("kind", &kind).map_err(IntoResponse::into_response)?;
    let kind_s = sealed::kind_name(kind);
    docstore::check_name(&name).map_err(IntoResponse::into_response)?;
    let media_type = docstore::upload_media_type(cfg, &headers)?;
    // a retry whose key has its answer: that answer, before any check (the deadline may have passed)
    let body = match idem
        .replay_streamed(
            &st.db.conn,
            &p,
            &media_type,
            body.into_data_stream(),
            cfg.max_file_bytes,
        )
        .await
        .map_err(IntoResponse::into_response)?
    {
        Streamed::Replay(status, first) => return Ok((status, Json(first))),
        Streamed::Run(body) => body,
    };
    let r: ApiResult<_> = async {
        let op = p.require(Role::Bidder)?;
        let b = bid::Entity::find_by_id(id)
            .one(&st.db.conn)
            .await?
            .filter(|b| b.operator_id == op)
            .ok_or(AppError::NotFound("bid"))?;
        let t = tender::Entity::find_by_id(b.tender_id)
            .one(&st.db.conn)
            .await?
            .ok_or(AppError::NotFound("bid"))?;
        before_deadline(&t, st.now())?;
        let env = current_envelope(&st.db.conn, b.id, kind_s)
            .await?
            .ok_or_else(|| {
                AppError::conflict(
                    "envelope",
                    format!("the bid has no submitted {kind_s} envelope to attach a file to"),
                )
            })?;
        let keys = sealed::service_keys(&st.settings.sealing)?;
        let ctx = envelope_context(b.tender_id, b.lot_id, b.id, kind, env.version)?;
        let wrapped = sealing::WrappedKey::parse(&env.wrapped_dek)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("wrapped key: {e}")))?;
        let key = keys
            .ring
            .sealing_key(&wrapped, &ctx)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("envelope key: {e}")))?;
        Ok((b, t, env, key))
    }
    .await;
    let (b, t, env, key) = r.map_err(IntoResponse::into_response)?;
    let file_id = Uuid::now_v7();
    let it = item(file_id).map_err(IntoResponse::into_response)?;
    let sealer = {
        let mut rng = rand::rng();
        sealing::Sealer::new(&key, &it, &mut rng)
    };
    drop(key);
    let store = cfg.store().map_err(IntoResponse::into_response)?;
    let stored = store_stream(&store, file_id, sealer, body, cfg.max_file_bytes)
        .await
        .map_err(|e| AppError::from(e).into_response())?;
    let idem = idem.with_streamed_body(&media_type, &stored.summary.plaintext_sha256.to_hex());
    // (answer, whether this request stored it: false when a retry under its key committed first)
    let r: ApiResult<((StatusCode, serde_json::Value), bool)> = async {
        let now = st.now();
        let w = st.db.write(Scope::Province(t.province_id)).await?;
        let w = match idem.replay_in(w, &p).await? {
            Replayed::Answer(status, first) => return Ok(((status, first), false)),
            Replayed::Run(w) => w,
        };
        // the deadline and the version are checked again at the end of the upload
        before_deadline(&t, now)?;
        let cur = current_envelope(&w.txn, b.id, kind_s).await?;
        if cur.as_ref().map(|c| c.version) != Some(env.version) {
            return Err(AppError::conflict(
                "envelope",
                "the bid was replaced or withdrawn during the upload",
            ));
        }
        let exists = bid_file::Entity::find()
            .filter(bid_file::Column::BidId.eq(b.id))
            .filter(bid_file::Column::Version.eq(env.version))
            .filter(bid_file::Column::Kind.eq(kind_s))
            .filter(bid_file::Column::Name.eq(name.as_str()))
            .one(&w.txn)
            .await?;
        if exists.is_some() {
            return Err(AppError::conflict(
                "file name",
                format!("{kind_s} already holds a file named '{name}' in this version"),
            ));
        }
        let row = bid_file::ActiveModel {
            id: Set(file_id),
            bid_id: Set(b.id),
            version: Set(env.version),
            kind: Set(kind_s.to_owned()),
            name: Set(name.clone()),
            media_type: Set(media_type.clone()),
            sha256: Set(stored.summary.plaintext_sha256.to_hex()),
            sealed_path: Set(stored.sealed_path.clone()),
            plain_len: Set(stored.summary.plaintext_len as i64),
            sealed_len: Set(stored.summary.sealed_len as i64),
            created_at: Set(now),
        }
        .insert(&w.txn)
        .await?;
        // the signed receipt now lists this file (same transaction: no file without its receipt)
        let receipt =
            crate::api::bids::file_upload_receipt(&w.txn, &st, &t, &b, env.version, now).await?;
        let mut v = view(&row);
        v.receipt = Some(receipt.value());
        let v = serde_json::to_value(&v)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("answer: {e}")))?;
        idem.record(&w.txn, &p, StatusCode::CREATED, &v, now)
            .await?;
        w.commit().await?;
        Ok(((StatusCode::CREATED, v), true))
    }
    .await;
    if !matches!(r, Ok((_, true)))
        && let Err(d) = store.delete(&stored.sealed_path).await
    {
        tracing::warn!(key = %stored.sealed_path, error = %d, "document store: orphan object");
    }
    match r {
        Ok(((status, v), _)) => Ok((status, Json(v))),
        Err(e) => Err(e.into_response()),
    }
}

/// Download a file of an envelope, only once the envelope is opened (the bid's owner, or the tender's
/// staff for the current version). The sealed file is verified in full before the first byte is sent.
#[utoipa::path(get, path = "/v1/bids/{id}/envelopes/{kind}/files/{name}", tag = "bidders",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("kind" = inline(crate::api::EnvelopeKind), Path), ("name" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn download_file(
    State(st): State<AppState>,
    p: Principal,
    Path((id, kind, name)): Path<(Uuid, String, String)>,
) -> ApiResult<Response> {
    let kind = sealed::parse_kind("kind", &kind)?;
    let kind_s = sealed::kind_name(kind);
    let (b, _owner) = workflow::access::read_bid(&st.db.conn, &p, id).await?;
    let env = current_envelope(&st.db.conn, b.id, kind_s)
        .await?
        .ok_or(AppError::NotFound("file"))?;
    let row = bid_file::Entity::find()
        .filter(bid_file::Column::BidId.eq(b.id))
        .filter(bid_file::Column::Version.eq(env.version))
        .filter(bid_file::Column::Kind.eq(kind_s))
        .filter(bid_file::Column::Name.eq(name.as_str()))
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("file"))?;
    if env.opened_at.is_none() {
        return Err(AppError::conflict(
            "sealed-order invariant",
            format!("the {kind_s} envelope is not opened: its files stay sealed"),
        ));
    }
    let t = tender::Entity::find_by_id(b.tender_id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let l = lot::Entity::find_by_id(b.lot_id)
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let ctx = envelope_context(b.tender_id, b.lot_id, b.id, kind, env.version)?;
    let lot_state = sealed::lot_opening_state(&t, &l)
        .ok_or_else(|| AppError::conflict("lex specialis", "the tender has no offer deadline"))?;
    let permit = sealing::authorize_opening(
        &ctx,
        &lot_state,
        &sealed::bid_opening_state(&b, &env),
        st.now(),
    )
    .map_err(|r| AppError::conflict("opening order (docs/sealing.md §3)", r.to_string()))?;
    let keys = sealed::service_keys(&st.settings.sealing)?;
    let wrapped = sealing::WrappedKey::parse(&env.wrapped_dek)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("wrapped key: {e}")))?;
    let key = keys
        .ring
        .opening_key(&wrapped, &permit)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("envelope key: {e}")))?;
    let expected = expected_summary(&row)?;
    // the row must still be what the bidder's signed receipt lists
    if let Err(m) = sealed::check_file_on_receipt(&st.db.conn, &keys, &row).await? {
        tracing::error!(file = %row.id, error = %m, "stored file is not on its receipt");
        return Err(AppError::conflict("file integrity", m));
    }
    let it = item(row.id)?;
    let store = st.settings.documents.store()?;
    docstore::verify_sealed(&store, &row.sealed_path, &key, &it, &expected)
        .await
        .map_err(|e| {
            tracing::error!(file = %row.id, error = %e, "stored file failed its integrity check");
            AppError::conflict(
                "file integrity",
                format!("the stored file '{name}' failed its integrity check: {e}"),
            )
        })?;
    let mut resp =
        docstore::stream_sealed(store, row.sealed_path.clone(), key, it, expected).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&row.media_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(row.plain_len as u64),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256={}", row.sha256)) {
        h.insert("x-content-sha256", v);
    }
    Ok(resp)
}
