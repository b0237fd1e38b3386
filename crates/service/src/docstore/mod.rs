//! The document store (issue 6 "Documents", issue 8 "object store"): one object store behind a small API
//! ([`Store::put_stream`], [`Store::get`], [`Store::delete`]), a local directory by default
//! (`object_store::local::LocalFileSystem` under `[documents] dir`) or any S3-compatible store
//! (`object_store::aws::AmazonS3`, `[documents] backend = "s3"`).
//!
//! Uploads are streamed: the body goes through a [`Filter`] (sealing for bid files, SHA-256 for public
//! documents) into a multipart upload of 5 MiB parts, at most two in flight, so a file is never held whole
//! in memory. An object becomes visible only when its upload completes (local: a staging file renamed
//! into place and fsynced; S3: CompleteMultipartUpload); a refused, failed or abandoned upload is aborted
//! and leaves no object. The database row is written after the object, and the object is deleted again
//! if the row cannot be written.
//!
//! Sealed bid files (`api`): sealed in 64 KiB chunks with the data key of their envelope before they reach
//! the store, so the store only ever sees sealed bytes; the plaintext SHA-256 and size are recorded in
//! `bid_file`; downloads (only once the envelope is opened) verify the whole sealed object first, then
//! stream it. Public tender documents and request attachments (`public`): stored as they are, SHA-256
//! computed while streaming, verified again on download. See docs/sealing.md §7 "Files".

pub mod gc;

use crate::error::{ApiResult, AppError};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt, stream::BoxStream};
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart, path::Path as ObjPath};
use sealing::{ContextId, EnvelopeContext, EnvelopeKind, ItemId, Opener, OpeningKey, Sealer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use uuid::Uuid;

/// Which object store `[documents]` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A local directory, `[documents] dir`.
    #[default]
    Local,
    /// An S3-compatible bucket, `[documents] bucket`, `endpoint`, `region`, credentials.
    S3,
}

/// `[documents]` in the configuration. Secrets are never printed by `Debug`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DocumentSettings {
    /// `local` (default) or `s3`.
    pub backend: Backend,
    /// Directory of the local store (created at the first use). Relative paths are from the working
    /// directory. Unused with `s3`.
    pub dir: PathBuf,
    /// S3: the bucket (must exist).
    pub bucket: String,
    /// S3: endpoint URL of an S3-compatible service (`https://s3.example.it`); empty: AWS.
    pub endpoint: Option<String>,
    /// S3: region (`eu-south-1`; most S3-compatible services accept any value).
    pub region: String,
    /// S3: access key id; empty: `AWS_ACCESS_KEY_ID` or the instance's credentials.
    pub access_key_id: Option<String>,
    /// S3: secret access key; pass it as `SUA_DOCUMENTS__SECRET_ACCESS_KEY`.
    pub secret_access_key: Option<String>,
    /// S3: allow a plain-`http://` endpoint (a store on the local network or in tests only).
    pub allow_http: bool,
    /// S3: path-style requests (`endpoint/bucket/key`), which most S3-compatible services need.
    pub path_style: bool,
    /// A prefix for every key (`sua/`), to share a bucket; empty by default.
    pub prefix: String,
    /// Largest accepted file, in bytes (plaintext). Larger uploads get 413.
    pub max_file_bytes: u64,
    /// Accepted media types (the upload's `Content-Type`, parameters ignored, case-insensitive).
    pub allowed_media_types: Vec<String>,
    /// The opened store, built at the first use (not configuration).
    #[serde(skip)]
    store: StoreCell,
}

impl std::fmt::Debug for DocumentSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentSettings")
            .field("backend", &self.backend)
            .field("dir", &self.dir)
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .field("path_style", &self.path_style)
            .field("prefix", &self.prefix)
            .field("max_file_bytes", &self.max_file_bytes)
            .field("allowed_media_types", &self.allowed_media_types)
            .finish()
    }
}

impl Default for DocumentSettings {
    fn default() -> Self {
        DocumentSettings {
            backend: Backend::Local,
            dir: PathBuf::from("./data/documents"),
            bucket: String::new(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
            path_style: true,
            prefix: String::new(),
            max_file_bytes: 1 << 30,
            allowed_media_types: [
                "application/pdf",
                "application/pkcs7-mime",
                "application/xml",
                "application/zip",
                "application/octet-stream",
                "application/vnd.oasis.opendocument.text",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "text/plain",
                "image/png",
                "image/jpeg",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
            store: StoreCell::default(),
        }
    }
}

/// The headers of a streamed upload, checked before its body is read: the media type (`Content-Type`,
/// 415 if not allowed) and, when `Content-Length` announces more than `max_file_bytes`, 413 at once.
#[allow(clippy::result_large_err)] // a handler's error response, returned at once
pub(crate) fn upload_media_type(
    cfg: &DocumentSettings,
    headers: &axum::http::HeaderMap,
) -> Result<String, axum::response::Response> {
    use axum::{
        http::{StatusCode, header},
        response::IntoResponse,
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(media_type) = cfg.allowed(ct) else {
        let mut r = AppError::bad(
            "content-type",
            format!(
                "content-type: '{ct}' is not an allowed media type ({})",
                cfg.allowed_media_types.join(", ")
            ),
        )
        .into_response();
        *r.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return Err(r);
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cfg.max_file_bytes) {
        return Err(AppError::TooLarge.into_response());
    }
    Ok(media_type)
}

impl DocumentSettings {
    /// The media type of an upload if allowed: `None` otherwise.
    pub fn allowed(&self, content_type: &str) -> Option<String> {
        let mt = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.allowed_media_types
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&mt))
            .then_some(mt)
    }

    /// Check the settings, naming the key at fault (called by `config::Settings::validate`).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_file_bytes == 0 {
            return Err("documents.max_file_bytes: must be at least 1".into());
        }
        if !self.prefix.is_empty() && ObjPath::parse(&self.prefix).is_err() {
            return Err(format!(
                "documents.prefix: '{}' is not a valid key prefix",
                self.prefix
            ));
        }
        if self.backend == Backend::S3 {
            if self.bucket.trim().is_empty() {
                return Err("documents.bucket: required with backend = \"s3\"".into());
            }
            if self.access_key_id.is_some() != self.secret_access_key.is_some() {
                return Err(
                    "documents.access_key_id and documents.secret_access_key go together".into(),
                );
            }
            if let Some(e) = &self.endpoint
                && !(e.starts_with("https://") || (self.allow_http && e.starts_with("http://")))
            {
                return Err(format!(
                    "documents.endpoint: '{e}' must be an https:// URL (http:// only with documents.allow_http = true)"
                ));
            }
        }
        Ok(())
    }

    /// The store these settings describe, opened once and shared by every request.
    pub fn store(&self) -> ApiResult<Store> {
        if let Some(s) = self.store.0.get() {
            return Ok(s.clone());
        }
        let s = Store::open(self)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("document store: {e}")))?;
        Ok(self.store.0.get_or_init(|| s).clone())
    }
}

/// The lazily opened store of a `DocumentSettings`. A clone starts empty: changed settings open their
/// own store.
#[derive(Default)]
struct StoreCell(OnceLock<Store>);

impl Clone for StoreCell {
    fn clone(&self) -> Self {
        StoreCell::default()
    }
}

/// Size of a multipart part (S3's minimum for every part but the last is 5 MiB).
const PART_BYTES: usize = 5 << 20;
/// Parts uploaded at once: with the part being filled, at most 3 parts of memory per upload.
const PARTS_IN_FLIGHT: usize = 2;

/// The document store: an object store and the key prefix of this installation.
#[derive(Clone)]
pub struct Store {
    os: Arc<dyn ObjectStore>,
    prefix: String,
    label: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

impl Store {
    /// Open the store `s` describes (a local directory is created if missing).
    pub fn open(s: &DocumentSettings) -> Result<Store, String> {
        s.validate()?;
        let (os, label): (Arc<dyn ObjectStore>, String) = match s.backend {
            Backend::Local => {
                std::fs::create_dir_all(&s.dir)
                    .map_err(|e| format!("documents.dir {}: {e}", s.dir.display()))?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(&s.dir)
                    .map_err(|e| format!("documents.dir {}: {e}", s.dir.display()))?
                    .with_fsync(true);
                (Arc::new(fs), format!("local:{}", s.dir.display()))
            }
            Backend::S3 => {
                let mut b = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&s.bucket)
                    .with_region(&s.region)
                    .with_allow_http(s.allow_http)
                    .with_virtual_hosted_style_request(!s.path_style);
                if let Some(e) = &s.endpoint {
                    b = b.with_endpoint(e);
                }
                if let (Some(k), Some(sk)) = (&s.access_key_id, &s.secret_access_key) {
                    b = b.with_access_key_id(k).with_secret_access_key(sk);
                }
                let s3 = b.build().map_err(|e| format!("documents (s3): {e}"))?;
                let at = s.endpoint.as_deref().unwrap_or("aws");
                (Arc::new(s3), format!("s3:{at}/{}", s.bucket))
            }
        };
        Ok(Store {
            os,
            prefix: s.prefix.trim_matches('/').to_owned(),
            label,
        })
    }

    fn path(&self, key: &str) -> Result<ObjPath, StoreError> {
        let full = if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        };
        ObjPath::parse(&full).map_err(|e| StoreError::Other(format!("key '{full}': {e}")))
    }

    /// Begin a multipart upload of `key`: nothing is visible under `key` until [`Upload::finish`].
    pub async fn begin(&self, key: &str) -> Result<Upload, UploadError> {
        let path = self.path(key).map_err(UploadError::Store)?;
        let up = self
            .os
            .put_multipart(&path)
            .await
            .map_err(|e| UploadError::Store(StoreError::from(e)))?;
        Ok(Upload {
            w: Some(WriteMultipart::new_with_chunk_size(up, PART_BYTES)),
        })
    }

    /// Stream `body` through `filter` into the object `key`. Refuses with [`UploadError::TooLarge`] as
    /// soon as more than `max_bytes` have arrived; on any error the upload is aborted and no object is
    /// left. Returns the number of bytes stored (after the filter).
    pub async fn put_stream<S, E, F>(
        &self,
        key: &str,
        mut body: S,
        max_bytes: u64,
        filter: &mut F,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
        F: Filter + ?Sized,
    {
        let mut up = self.begin(key).await?;
        let mut stored: u64 = 0;
        let r = async {
            let mut out = Vec::with_capacity(1 << 20);
            let mut received: u64 = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| UploadError::Body(e.to_string()))?;
                received += chunk.len() as u64;
                if received > max_bytes {
                    return Err(UploadError::TooLarge);
                }
                filter.update(&chunk, &mut out)?;
                if out.len() >= 1 << 19 {
                    stored += out.len() as u64;
                    up.write(&out).await?;
                    out.clear();
                }
            }
            if received == 0 {
                return Err(UploadError::Empty);
            }
            filter.finish(&mut out)?;
            stored += out.len() as u64;
            up.write(&out).await
        }
        .await;
        match r {
            Ok(()) => {
                up.finish().await?;
                Ok(stored)
            }
            Err(e) => {
                up.abort().await;
                Err(e)
            }
        }
    }

    /// The object `key` as a stream of chunks.
    pub async fn get(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let path = self.path(key)?;
        let r = self.os.get(&path).await?;
        Ok(r.into_stream().map(|c| c.map_err(StoreError::from)).boxed())
    }

    /// Delete the object `key` (no error if it is already gone).
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match self.os.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Whether the object `key` exists.
    pub async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        let path = self.path(key)?;
        match self.os.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// A store failure.
#[derive(Debug)]
pub enum StoreError {
    /// No object under the key.
    NotFound,
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::NotFound => f.write_str("the stored object is missing"),
            StoreError::Other(e) => f.write_str(e),
        }
    }
}

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StoreError::NotFound,
            e => StoreError::Other(e.to_string()),
        }
    }
}

/// An upload in progress: parts are sent while the body streams in. Dropped without
/// [`finish`](Upload::finish) (a client gone mid-way, a cancelled request), it is aborted in the
/// background: the staging file or the S3 multipart upload is removed and no object appears.
pub struct Upload {
    w: Option<WriteMultipart>,
}

impl Upload {
    /// Append bytes; waits while [`PARTS_IN_FLIGHT`] parts are being sent.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), UploadError> {
        let w = self.w.as_mut().expect("upload in progress");
        w.wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| UploadError::Store(e.into()))?;
        w.write(bytes);
        Ok(())
    }

    /// Complete the upload: the object becomes visible, whole.
    pub async fn finish(mut self) -> Result<(), UploadError> {
        let w = self.w.take().expect("upload in progress");
        w.finish()
            .await
            .map(|_| ())
            .map_err(|e| UploadError::Store(e.into()))
    }

    /// Abort the upload: the parts sent so far are removed.
    pub async fn abort(mut self) {
        if let Some(w) = self.w.take()
            && let Err(e) = w.abort().await
        {
            tracing::warn!(error = %e, "document store: aborting an upload failed");
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if let Some(w) = self.w.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = w.abort().await {
                    tracing::warn!(error = %e, "document store: aborting an abandoned upload failed");
                }
            });
        }
    }
}

/// What an upload does to the body on its way to the store.
pub trait Filter {
    /// Transform `input`, appending what is to be stored to `out`.
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), UploadError>;
    /// The end of the body: append what remains to `out`.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), UploadError>;
}

/// Sealing: the store receives the sealed bytes only.
pub struct SealFilter {
    sealer: Option<Sealer>,
    /// Set by `finish`.
    pub summary: Option<sealing::SealedSummary>,
}

impl SealFilter {
    pub fn new(sealer: Sealer) -> Self {
        SealFilter {
            sealer: Some(sealer),
            summary: None,
        }
    }
}

impl Filter for SealFilter {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), UploadError> {
        self.sealer
            .as_mut()
            .ok_or_else(|| UploadError::Io(std::io::Error::other("sealer finished")))?
            .update_into(input, out)
            .map_err(UploadError::Seal)
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), UploadError> {
        let s = self
            .sealer
            .take()
            .ok_or_else(|| UploadError::Io(std::io::Error::other("sealer finished")))?;
        let (last, summary) = s.finish().map_err(UploadError::Seal)?;
        out.extend_from_slice(&last);
        self.summary = Some(summary);
        Ok(())
    }
}

/// Public documents: stored as they are, SHA-256 and size computed while streaming.
#[derive(Default)]
pub struct HashFilter {
    hasher: Sha256,
    pub len: u64,
    /// Hex SHA-256, set by `finish`.
    pub sha256: Option<String>,
}

impl Filter for HashFilter {
    fn update(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), UploadError> {
        self.hasher.update(input);
        self.len += input.len() as u64;
        out.extend_from_slice(input);
        Ok(())
    }
    fn finish(&mut self, _out: &mut Vec<u8>) -> Result<(), UploadError> {
        self.sha256 = Some(hex::encode(std::mem::take(&mut self.hasher).finalize()));
        Ok(())
    }
}

pub use workflow::store::entities::bid_file;
pub use workflow::store::migration::M20261128BidFiles;

/// The binding context of an envelope of a bid version (the same one `sealed` binds its key to).
pub fn envelope_context(
    tender: Uuid,
    lot: Uuid,
    bid: Uuid,
    kind: EnvelopeKind,
    version: i32,
) -> ApiResult<EnvelopeContext> {
    let id = |f: &'static str, u: Uuid| {
        ContextId::parse_field(f, &u.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{f}: {e}")))
    };
    Ok(EnvelopeContext {
        tender: id("tender", tender)?,
        lot: id("lot", lot)?,
        bid: id("bid", bid)?,
        kind,
        version: u32::try_from(version)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("bid version {version}")))?,
    })
}

/// The sealing item id of file `id`.
pub fn item(id: Uuid) -> ApiResult<ItemId> {
    Ok(ItemId::File(
        ContextId::parse_field("file", &id.to_string())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("file: {e}")))?,
    ))
}

/// A file name as the bidder gave it: 1..=200 characters, no path separators, no control characters,
/// not starting with a dot.
pub fn check_name(name: &str) -> ApiResult<()> {
    let bad = name.is_empty()
        || name.chars().count() > 200
        || name.starts_with('.')
        || name.chars().any(|c| c == '/' || c == '\\')
        || domain::text::check(name).is_err()
        || name.contains('\t')
        || name.contains('\n');
    if bad {
        return Err(AppError::bad(
            "name",
            "name: 1 to 200 characters, no '/', '\\', control or bidirectional characters, not starting with '.'",
        ));
    }
    Ok(())
}

/// What a finished upload stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Key of the sealed object in the store (`<file id>.sealed`; older rows: the hex SHA-256 of the
    /// sealed bytes + `.sealed`).
    pub sealed_path: String,
    pub summary: sealing::SealedSummary,
}

/// Why an upload stream was not stored.
#[derive(Debug)]
pub enum UploadError {
    /// More than `max_bytes` arrived.
    TooLarge,
    /// Nothing arrived: a 0-byte document is refused on every upload route (it cannot be a bid
    /// file, a tender document or an attachment, and usually means a client sent the wrong body).
    Empty,
    /// The client's body failed (disconnect, malformed chunked encoding...).
    Body(String),
    Io(std::io::Error),
    Seal(sealing::SealError),
    Store(StoreError),
}

impl From<UploadError> for AppError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge => AppError::TooLarge,
            UploadError::Empty => AppError::bad("body", "body: the document is empty (0 bytes)"),
            UploadError::Body(m) => AppError::Malformed(format!("upload body: {m}")),
            UploadError::Io(e) => AppError::Internal(anyhow::anyhow!("document store: {e}")),
            UploadError::Seal(e) => AppError::Internal(anyhow::anyhow!("sealing: {e}")),
            UploadError::Store(e) => AppError::Internal(anyhow::anyhow!("document store: {e}")),
        }
    }
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        UploadError::Io(e)
    }
}

/// Seal `body` into a new object of `store` named after the sealing item (`<file id>.sealed`). Refuses
/// with [`UploadError::TooLarge`] as soon as more than `max_bytes` have arrived; a refused, failed or
/// dropped upload leaves no object.
pub async fn store_stream<S, E>(
    store: &Store,
    file_id: Uuid,
    sealer: Sealer,
    body: S,
    max_bytes: u64,
) -> Result<Stored, UploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let key = format!("{file_id}.sealed");
    let mut f = SealFilter::new(sealer);
    store.put_stream(&key, body, max_bytes, &mut f).await?;
    let summary = f
        .summary
        .ok_or_else(|| UploadError::Io(std::io::Error::other("sealer not finished")))?;
    Ok(Stored {
        sealed_path: key,
        summary,
    })
}

/// Verify a stored sealed object end to end (every chunk, the final chunk, SHA-256 and length) without
/// keeping its plaintext.
pub async fn verify_sealed(
    store: &Store,
    key: &str,
    okey: &OpeningKey,
    item: &ItemId,
    expected: &sealing::SealedSummary,
) -> Result<(), String> {
    let mut s = store
        .get(key)
        .await
        .map_err(|e| format!("stored file unreadable: {e}"))?;
    let mut opener = Opener::new(okey, item);
    let mut sink = Vec::with_capacity(1 << 20);
    while let Some(c) = s.next().await {
        let c = c.map_err(|e| format!("stored file unreadable: {e}"))?;
        sink.clear();
        opener
            .update_into(&c, &mut sink)
            .map_err(|e| e.to_string())?;
    }
    opener
        .finish_verified(expected)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A response body: `run` sends chunks into the channel from a task; an error item aborts the HTTP
/// response, so the client never gets a complete wrong file.
fn channel_body<F, Fut>(run: F) -> axum::body::Body
where
    F: FnOnce(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let fut = run(tx.clone());
    tokio::spawn(async move {
        if let Err(e) = fut.await {
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) });
    axum::body::Body::from_stream(stream)
}

/// Stream a stored sealed object's plaintext, verified as it goes (see [`channel_body`]).
pub fn stream_sealed(
    store: Store,
    key: String,
    okey: OpeningKey,
    item: ItemId,
    expected: sealing::SealedSummary,
) -> axum::body::Body {
    channel_body(move |tx| async move {
        let mut s = store.get(&key).await.map_err(|e| e.to_string())?;
        let mut opener = Opener::new(&okey, &item);
        while let Some(c) = s.next().await {
            let c = c.map_err(|e| e.to_string())?;
            let mut out = Vec::with_capacity(c.len() + 64 * 1024);
            opener
                .update_into(&c, &mut out)
                .map_err(|e| e.to_string())?;
            if !out.is_empty() && tx.send(Ok(out.into())).await.is_err() {
                return Ok(()); // client gone
            }
        }
        let last = opener
            .finish_verified(&expected)
            .map_err(|e| e.to_string())?;
        let _ = tx.send(Ok(last.into())).await;
        Ok(())
    })
}

/// Check a stored plain object against the SHA-256 and size its row promises.
pub async fn verify_plain(store: &Store, key: &str, sha256: &str, len: u64) -> Result<(), String> {
    let mut s = store
        .get(key)
        .await
        .map_err(|e| format!("stored file unreadable: {e}"))?;
    let mut h = Sha256::new();
    let mut n: u64 = 0;
    while let Some(c) = s.next().await {
        let c = c.map_err(|e| format!("stored file unreadable: {e}"))?;
        n += c.len() as u64;
        h.update(&c);
    }
    check_digest(h, n, sha256, len)
}

fn check_digest(h: Sha256, n: u64, sha256: &str, len: u64) -> Result<(), String> {
    if n != len {
        return Err(format!("{n} bytes stored, {len} recorded"));
    }
    let got = hex::encode(h.finalize());
    if !got.eq_ignore_ascii_case(sha256) {
        return Err(format!("SHA-256 {got} stored, {sha256} recorded"));
    }
    Ok(())
}

/// Stream a stored plain object, hashing it again as it goes: a mismatch at the end aborts the response.
pub fn stream_plain(store: Store, key: String, sha256: String, len: u64) -> axum::body::Body {
    channel_body(move |tx| async move {
        let mut s = store.get(&key).await.map_err(|e| e.to_string())?;
        let mut h = Sha256::new();
        let mut n: u64 = 0;
        let mut held: Option<Bytes> = None;
        while let Some(c) = s.next().await {
            let c = c.map_err(|e| e.to_string())?;
            n += c.len() as u64;
            h.update(&c);
            // one chunk is held back until the next arrives: the last one goes out only once the whole
            // object has been checked
            if let Some(prev) = held.replace(c)
                && tx.send(Ok(prev)).await.is_err()
            {
                return Ok(());
            }
        }
        check_digest(h, n, &sha256, len)?;
        if let Some(last) = held {
            let _ = tx.send(Ok(last)).await;
        }
        Ok(())
    })
}

/// The summary a row promises (what `finish_verified` checks against).
pub fn expected_summary(row: &bid_file::Model) -> ApiResult<sealing::SealedSummary> {
    let sha = row
        .sha256
        .parse()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("bid_file.sha256 of {}", row.id)))?;
    Ok(sealing::SealedSummary {
        plaintext_sha256: sha,
        plaintext_len: row.plain_len as u64,
        sealed_len: row.sealed_len as u64,
    })
}

/// The row's timestamp type, for the handlers.
pub type Timestamp = DateTime<Utc>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sealing::{Kek, KeyId, Keyring};
    use std::path::Path;

    fn keyring() -> (Keyring, EnvelopeContext) {
        let mut rng = rand::rng();
        let (kek, _) = Kek::generate(KeyId::parse_field("kek", "k1").unwrap(), &mut rng);
        let ring = Keyring::new(kek, vec![]).unwrap();
        let ctx = envelope_context(
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            EnvelopeKind::Technical,
            1,
        )
        .unwrap();
        (ring, ctx)
    }

    fn body(parts: Vec<Vec<u8>>) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(p.into())))
    }

    fn local(dir: &Path) -> Store {
        let s = DocumentSettings {
            dir: dir.to_path_buf(),
            ..Default::default()
        };
        s.store().unwrap()
    }

    /// Every file under `dir`, recursively, relative (also used by the `gc` tests).
    pub(crate) fn entries(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
                }
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn over_the_limit_while_streaming_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let (ring, ctx) = keyring();
        let (_, key) = ring.new_envelope_key(&ctx, &mut rand::rng());
        let id = Uuid::now_v7();
        let it = item(id).unwrap();
        let sealer = Sealer::new(&key, &it, &mut rand::rng());
        // 3 chunks of 40 KiB against a 100 KiB limit: refused at the third
        let r = store_stream(
            &store,
            id,
            sealer,
            body(vec![vec![7u8; 40 << 10]; 3]),
            100 << 10,
        )
        .await;
        assert!(matches!(r, Err(UploadError::TooLarge)), "{r:?}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    /// A 0-byte document is refused (422 naming the body) on every upload route, since they all stream
    /// through `put_stream`; an empty chunk in the stream does not count as content, and nothing is left.
    #[tokio::test]
    async fn an_empty_document_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        for parts in [vec![], vec![Vec::new()]] {
            let mut f = HashFilter::default();
            let r = store.put_stream("e/0", body(parts), 1 << 20, &mut f).await;
            assert!(matches!(r, Err(UploadError::Empty)), "{r:?}");
            assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        }
        match AppError::from(UploadError::Empty) {
            AppError::BadRequest { field, .. } => assert_eq!(field, "body"),
            other => panic!("{other:?}"),
        }
        let mut f = HashFilter::default();
        assert_eq!(
            store
                .put_stream("e/1", body(vec![b"x".to_vec()]), 1 << 20, &mut f)
                .await
                .unwrap(),
            1
        );
    }

    /// A body that fails after some parts (the client went away): aborted, nothing visible; and a
    /// future dropped mid-way (a cancelled request) leaves nothing either.
    #[tokio::test]
    async fn failed_or_dropped_uploads_leave_no_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let parts: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(vec![1u8; 6 << 20].into()),
            Ok(vec![2u8; 6 << 20].into()),
            Err(std::io::Error::other("connection reset")),
        ];
        let mut f = HashFilter::default();
        let r = store
            .put_stream("a/b", futures_util::stream::iter(parts), 1 << 30, &mut f)
            .await;
        assert!(matches!(r, Err(UploadError::Body(_))), "{r:?}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        assert!(!store.exists("a/b").await.unwrap());

        // dropped while waiting for more body
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(1);
        let s2 = store.clone();
        let h = tokio::spawn(async move {
            let body = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|x| (x, rx))
            });
            let mut f = HashFilter::default();
            s2.put_stream("c", Box::pin(body), 1 << 30, &mut f).await
        });
        tx.send(Ok(vec![3u8; 6 << 20].into())).await.unwrap();
        tx.send(Ok(vec![3u8; 1 << 10].into())).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(
            !entries(dir.path()).is_empty(),
            "a staging file while uploading"
        );
        h.abort();
        let _ = h.await;
        for _ in 0..50 {
            if entries(dir.path()).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        assert!(!store.exists("c").await.unwrap());
    }

    #[tokio::test]
    async fn plain_round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let plain: Vec<u8> = (0..(7u32 << 20)).map(|i| (i % 251) as u8).collect();
        let parts = plain.chunks(100_000).map(<[u8]>::to_vec).collect();
        let mut f = HashFilter::default();
        let n = store
            .put_stream("documents/x/1", body(parts), 8 << 20, &mut f)
            .await
            .unwrap();
        assert_eq!(n, plain.len() as u64);
        let sha = f.sha256.unwrap();
        assert_eq!(sha, hex::encode(Sha256::digest(&plain)));
        assert_eq!(entries(dir.path()), vec!["documents/x/1".to_owned()]);
        verify_plain(&store, "documents/x/1", &sha, n)
            .await
            .unwrap();
        let got = axum::body::to_bytes(
            stream_plain(store.clone(), "documents/x/1".into(), sha.clone(), n),
            usize::MAX,
        )
        .await
        .unwrap();
        assert!(got == plain);
        // tampered: refused by the check, and the stream fails instead of ending
        let path = dir.path().join("documents/x/1");
        let mut t = plain.clone();
        t[5_000_000] ^= 1;
        std::fs::write(&path, &t).unwrap();
        let e = verify_plain(&store, "documents/x/1", &sha, n)
            .await
            .unwrap_err();
        assert!(e.contains("SHA-256"), "{e}");
        let r = axum::body::to_bytes(
            stream_plain(store.clone(), "documents/x/1".into(), sha.clone(), n),
            usize::MAX,
        )
        .await;
        assert!(r.is_err(), "a tampered object must not stream to its end");
        // an empty file is refused (issue 20), and leaves no object
        let mut f = HashFilter::default();
        let r = store
            .put_stream("documents/x/empty", body(vec![]), 8 << 20, &mut f)
            .await;
        assert!(matches!(r, Err(UploadError::Empty)), "{r:?}");
        assert!(!store.exists("documents/x/empty").await.unwrap());
        // missing
        store.delete("documents/x/1").await.unwrap();
        let e = verify_plain(&store, "documents/x/1", &sha, n)
            .await
            .unwrap_err();
        assert!(e.contains("missing"), "{e}");
    }

    #[tokio::test]
    async fn round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let store = local(dir.path());
        let (ring, ctx) = keyring();
        let (wrapped, key) = ring.new_envelope_key(&ctx, &mut rand::rng());
        let id = Uuid::now_v7();
        let it = item(id).unwrap();
        let sealer = Sealer::new(&key, &it, &mut rand::rng());
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let parts = plain.chunks(30_000).map(<[u8]>::to_vec).collect();
        let s = store_stream(&store, id, sealer, body(parts), 1 << 20)
            .await
            .unwrap();
        assert_eq!(s.summary.plaintext_len, plain.len() as u64);
        assert_eq!(
            s.summary.plaintext_sha256,
            sealing::Sha256Digest::of(&plain)
        );
        assert_eq!(entries(dir.path()), vec![s.sealed_path.clone()]);
        assert_eq!(s.sealed_path, format!("{id}.sealed"));
        let path = dir.path().join(&s.sealed_path);
        let sealed = std::fs::read(&path).unwrap();
        assert_eq!(sealed.len() as u64, s.summary.sealed_len);
        // opening needs a permit: build one for this context
        let lot = sealing::LotOpeningState {
            criterion: sealing::AwardCriterion::QualityPrice,
            sequence: sealing::OpeningSequence::Standard,
            status: sealing::LotStatus::Active,
            deadline: Utc::now() - chrono::Duration::days(1),
            milestones: sealing::Milestones {
                opening_session_started: true,
                admission_decided: true,
                technical_scores_frozen: false,
                economic_ranking_done: false,
            },
        };
        let bid = sealing::BidOpeningState {
            standing: sealing::BidStanding::Current,
            admission: sealing::Admission::Admitted,
        };
        let permit = sealing::authorize_opening(&ctx, &lot, &bid, Utc::now()).unwrap();
        let okey = ring.opening_key(&wrapped, &permit).unwrap();
        let k = &s.sealed_path;
        verify_sealed(&store, k, &okey, &it, &s.summary)
            .await
            .unwrap();
        // a wrong promised digest is refused
        let mut wrong = s.summary;
        wrong.plaintext_sha256 = sealing::Sha256Digest::of(b"other");
        assert!(verify_sealed(&store, k, &okey, &it, &wrong).await.is_err());
        // a flipped byte is refused
        let mut t = sealed.clone();
        t[1000] ^= 1;
        std::fs::write(&path, &t).unwrap();
        let e = verify_sealed(&store, k, &okey, &it, &s.summary)
            .await
            .unwrap_err();
        assert!(e.contains("chunk"), "{e}");
        // a truncated file is refused
        std::fs::write(&path, &sealed[..sealed.len() - 10]).unwrap();
        assert!(
            verify_sealed(&store, k, &okey, &it, &s.summary)
                .await
                .is_err()
        );
        // another item id (file swapped under another row) is refused
        std::fs::write(&path, &sealed).unwrap();
        let other = item(Uuid::now_v7()).unwrap();
        assert!(
            verify_sealed(&store, k, &okey, &other, &s.summary)
                .await
                .is_err()
        );
        verify_sealed(&store, k, &okey, &it, &s.summary)
            .await
            .unwrap();
        let got = axum::body::to_bytes(
            stream_sealed(store.clone(), k.clone(), okey, it, s.summary),
            usize::MAX,
        )
        .await
        .unwrap();
        assert!(got == plain);
    }

    #[test]
    fn names_media_types_and_settings() {
        for bad in [
            "",
            ".hidden",
            "a/b",
            "a\\b",
            "x\ny",
            "x\ty",
            "fattura\u{202E}fdp.exe",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        check_name("offerta tecnica.pdf").unwrap();
        let s = DocumentSettings::default();
        assert_eq!(
            s.allowed("Application/PDF; charset=binary").as_deref(),
            Some("application/pdf")
        );
        assert!(s.allowed("text/html").is_none());
        assert!(s.allowed("").is_none());
        s.validate().unwrap();
        let s3 = DocumentSettings {
            backend: Backend::S3,
            ..Default::default()
        };
        assert!(s3.validate().unwrap_err().contains("documents.bucket"));
        let s3 = DocumentSettings {
            backend: Backend::S3,
            bucket: "b".into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..Default::default()
        };
        assert!(s3.validate().unwrap_err().contains("documents.endpoint"));
        let s3 = DocumentSettings {
            allow_http: true,
            secret_access_key: Some("very secret".into()),
            ..s3
        };
        assert!(
            s3.validate()
                .unwrap_err()
                .contains("documents.access_key_id")
        );
        assert!(!format!("{s3:?}").contains("very secret"));
        let s3 = DocumentSettings {
            access_key_id: Some("k".into()),
            ..s3
        };
        s3.validate().unwrap();
        // an S3 store opens without contacting the service
        s3.store().unwrap();
    }
}

/// Whether `name` is the leftover of an upload that never finished in a local store directory: the
/// staging file of object_store's local multipart upload (`<key>#<digits>`, which object_store itself
/// never lists) or the temporary file of the earlier local writer (`.upload-<uuid>.tmp`).
fn is_incomplete_upload(name: &str) -> bool {
    let staged = name
        .rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    staged || (name.starts_with(".upload-") && name.ends_with(".tmp"))
}

/// Start-up cleanup of a local store directory: removes the partial files of uploads interrupted by a
/// crash (SIGKILL, power loss), returns how many. They are never visible (no `bid_file` row points to
/// them, downloads go through rows), only disk space. Call it before serving: an upload in flight in
/// *another* process sharing the directory would lose its staging file and fail cleanly (no row); the
/// local backend is meant for one `sua serve` (replicas use S3, where an unfinished multipart upload is
/// never an object). A missing directory is no error.
pub fn remove_incomplete_uploads(dir: &std::path::Path) -> std::io::Result<usize> {
    fn walk(d: &std::path::Path, n: &mut usize) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for e in entries {
            let e = e?;
            let ty = e.file_type()?;
            if ty.is_dir() {
                walk(&e.path(), n)?;
            } else if ty.is_file() && is_incomplete_upload(&e.file_name().to_string_lossy()) {
                std::fs::remove_file(e.path())?;
                *n += 1;
            }
        }
        Ok(())
    }
    let mut n = 0;
    walk(dir, &mut n)?;
    Ok(n)
}

#[cfg(test)]
mod cleanup_tests {
    use super::*;

    #[test]
    fn start_up_cleanup_removes_only_partial_uploads() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("tenders");
        std::fs::create_dir_all(&sub).unwrap();
        let keep = ["a.sealed", "b#x", "c#", "x.tmp", ".upload-x.txt"];
        let gone = ["a.sealed#1", ".upload-0193.tmp"];
        for n in keep.iter().chain(&gone) {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        std::fs::write(sub.join("d.pdf#12"), b"x").unwrap();
        assert_eq!(remove_incomplete_uploads(dir.path()).unwrap(), 3);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let mut want: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(left, want);
        assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
        assert_eq!(
            remove_incomplete_uploads(&dir.path().join("missing")).unwrap(),
            0
        );
    }
}
