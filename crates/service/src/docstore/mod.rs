//! The document store (issue 6, "Documents"): files of sealed bid envelopes, streamed to a local
//! directory (`[documents] dir`) through `sealing::Sealer` and out through `sealing::Opener`.
//!
//! Upload: the body is never held whole in memory; it is sealed in 64 KiB chunks with the data key of
//! the envelope it belongs to (the key `sealed::seal_version` wrapped for that envelope and version),
//! written to a temporary file in the store directory, fsynced and renamed to its content-addressed
//! name (SHA-256 of the sealed bytes). The plaintext SHA-256 and size are recorded in `bid_file`.
//! Download: only once the envelope is opened; the whole sealed file is verified first (every chunk's
//! tag, the final chunk, the plaintext SHA-256 and length against the row), then streamed.
//! See docs/sealing.md §7 "Files".

pub mod api;

use crate::error::{ApiResult, AppError};
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use sealing::{ContextId, EnvelopeContext, EnvelopeKind, ItemId, Opener, OpeningKey, Sealer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// `[documents]` in the configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DocumentSettings {
    /// Directory of the store (created on first upload). Relative paths are from the working directory.
    pub dir: PathBuf,
    /// Largest accepted file, in bytes (plaintext). Larger uploads get 413.
    pub max_file_bytes: u64,
    /// Accepted media types (the upload's `Content-Type`, parameters ignored, case-insensitive).
    pub allowed_media_types: Vec<String>,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        DocumentSettings {
            dir: PathBuf::from("./data/documents"),
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
        }
    }
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
}

pub mod bid_file {
    use sea_orm::entity::prelude::*;
    /// One sealed file of one envelope of one bid version. `sealed_path` is relative to the store dir.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bid_file")]
    pub struct Model {
        /// Also the sealing item id: the file is bound to it, its envelope and version.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub bid_id: Uuid,
        pub version: i32,
        pub kind: String,
        pub name: String,
        pub media_type: String,
        /// Hex SHA-256 of the plaintext, computed while streaming.
        pub sha256: String,
        pub sealed_path: String,
        pub plain_len: i64,
        pub sealed_len: i64,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

/// Migration: the `bid_file` table.
pub struct M20261128BidFiles;

mod migration {
    use sea_orm_migration::{prelude::*, schema::*};

    impl MigrationName for super::M20261128BidFiles {
        fn name(&self) -> &str {
            "m20261128_000070_bid_files"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for super::M20261128BidFiles {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.create_table(
                Table::create()
                    .table("bid_file")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("bid_id"))
                    .col(integer("version"))
                    .col(string("kind"))
                    .col(string("name"))
                    .col(string("media_type"))
                    .col(string("sha256"))
                    .col(string("sealed_path"))
                    .col(big_integer("plain_len"))
                    .col(big_integer("sealed_len"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name("idx_bid_file_bid_version_kind_name")
                    .table("bid_file")
                    .col("bid_id")
                    .col("version")
                    .col("kind")
                    .col("name")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
        }

        async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.drop_table(Table::drop().table("bid_file").to_owned())
                .await
        }
    }
}

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
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if bad {
        return Err(AppError::bad(
            "name",
            "name: 1 to 200 characters, no '/', '\\' or control characters, not starting with '.'",
        ));
    }
    Ok(())
}

/// What a finished upload stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// File name inside the store directory (hex SHA-256 of the sealed bytes + `.sealed`).
    pub sealed_path: String,
    pub summary: sealing::SealedSummary,
}

/// Removes a file when dropped unless disarmed: a failed or abandoned upload leaves nothing behind.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Why an upload stream was not stored.
#[derive(Debug)]
pub enum UploadError {
    /// More than `max_bytes` arrived.
    TooLarge,
    /// The client's body failed (disconnect, malformed chunked encoding...).
    Body(String),
    Io(std::io::Error),
    Seal(sealing::SealError),
}

impl From<UploadError> for AppError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::TooLarge => AppError::TooLarge,
            UploadError::Body(m) => AppError::Malformed(format!("upload body: {m}")),
            UploadError::Io(e) => AppError::Internal(anyhow::anyhow!("document store: {e}")),
            UploadError::Seal(e) => AppError::Internal(anyhow::anyhow!("sealing: {e}")),
        }
    }
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        UploadError::Io(e)
    }
}

/// Seal `body` into `dir`: temp file, fsync, rename to the content-addressed name, fsync the directory.
/// Refuses with [`UploadError::TooLarge`] as soon as more than `max_bytes` have arrived (the temp file
/// is removed, also when the future is dropped mid-way).
pub async fn store_stream<S, E>(
    dir: &Path,
    mut sealer: Sealer,
    mut body: S,
    max_bytes: u64,
) -> Result<Stored, UploadError>
where
    S: Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".upload-{}.tmp", Uuid::now_v7()));
    let mut guard = RemoveOnDrop(Some(tmp.clone()));
    let file = tokio::fs::File::create(&tmp).await?;
    let mut w = tokio::io::BufWriter::with_capacity(1 << 20, file);
    let mut hasher = Sha256::new();
    let mut out = Vec::with_capacity(1 << 20);
    let mut received: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| UploadError::Body(e.to_string()))?;
        received += chunk.len() as u64;
        if received > max_bytes {
            return Err(UploadError::TooLarge);
        }
        sealer
            .update_into(&chunk, &mut out)
            .map_err(UploadError::Seal)?;
        if out.len() >= 1 << 19 {
            hasher.update(&out);
            w.write_all(&out).await?;
            out.clear();
        }
    }
    let (last, summary) = sealer.finish().map_err(UploadError::Seal)?;
    out.extend_from_slice(&last);
    hasher.update(&out);
    w.write_all(&out).await?;
    w.flush().await?;
    let file = w.into_inner();
    file.sync_all().await?;
    drop(file);
    let name = format!("{}.sealed", hex::encode(hasher.finalize()));
    tokio::fs::rename(&tmp, dir.join(&name)).await?;
    guard.0 = None;
    let d = dir.to_path_buf();
    // the rename is durable once the directory entry is
    tokio::task::spawn_blocking(move || std::fs::File::open(d)?.sync_all())
        .await
        .map_err(|e| UploadError::Io(std::io::Error::other(e)))??;
    Ok(Stored {
        sealed_path: name,
        summary,
    })
}

/// Read size of the opening passes.
const READ_CHUNK: usize = 256 * 1024;

/// Verify a stored sealed file end to end (every chunk, the final chunk, SHA-256 and length) without
/// keeping its plaintext. Blocking: call from `spawn_blocking`.
pub fn verify_file(
    path: &Path,
    key: &OpeningKey,
    item: &ItemId,
    expected: &sealing::SealedSummary,
) -> Result<(), String> {
    let mut f = std::fs::File::open(path).map_err(|e| format!("stored file unreadable: {e}"))?;
    let mut opener = Opener::new(key, item);
    let mut buf = vec![0u8; READ_CHUNK];
    let mut sink = Vec::with_capacity(READ_CHUNK + 64 * 1024);
    loop {
        let n = f.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        sink.clear();
        opener
            .update_into(&buf[..n], &mut sink)
            .map_err(|e| e.to_string())?;
    }
    opener
        .finish_verified(expected)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Stream a stored sealed file's plaintext into `tx` (blocking; run in `spawn_blocking`). Any failure is
/// sent as an error item, which aborts the HTTP response: the client never gets a complete wrong file.
pub fn stream_file(
    path: &Path,
    key: &OpeningKey,
    item: &ItemId,
    expected: &sealing::SealedSummary,
    tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
) {
    let run = || -> Result<(), String> {
        let mut f = std::fs::File::open(path).map_err(|e| e.to_string())?;
        let mut opener = Opener::new(key, item);
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            let n = f.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            let mut out = Vec::with_capacity(n + 64 * 1024);
            opener
                .update_into(&buf[..n], &mut out)
                .map_err(|e| e.to_string())?;
            if !out.is_empty() && tx.blocking_send(Ok(out.into())).is_err() {
                return Ok(()); // client gone
            }
        }
        let last = opener
            .finish_verified(expected)
            .map_err(|e| e.to_string())?;
        let _ = tx.blocking_send(Ok(last.into()));
        Ok(())
    };
    if let Err(e) = run() {
        let _ = tx.blocking_send(Err(std::io::Error::other(e)));
    }
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
mod tests {
    use super::*;
    use sealing::{Kek, KeyId, Keyring};

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

    fn body(
        parts: Vec<Vec<u8>>,
    ) -> impl Stream<Item = Result<axum::body::Bytes, std::io::Error>> + Unpin {
        futures_util::stream::iter(parts.into_iter().map(|p| Ok(p.into())))
    }

    fn entries(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn over_the_limit_while_streaming_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, ctx) = keyring();
        let (_, key) = ring.new_envelope_key(&ctx, &mut rand::rng());
        let it = item(Uuid::now_v7()).unwrap();
        let sealer = Sealer::new(&key, &it, &mut rand::rng());
        // 3 chunks of 40 KiB against a 100 KiB limit: refused at the third
        let r = store_stream(
            dir.path(),
            sealer,
            body(vec![vec![7u8; 40 << 10]; 3]),
            100 << 10,
        )
        .await;
        assert!(matches!(r, Err(UploadError::TooLarge)), "{r:?}");
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    }

    #[tokio::test]
    async fn round_trip_and_tamper_detection() {
        let dir = tempfile::tempdir().unwrap();
        let (ring, ctx) = keyring();
        let (wrapped, key) = ring.new_envelope_key(&ctx, &mut rand::rng());
        let it = item(Uuid::now_v7()).unwrap();
        let sealer = Sealer::new(&key, &it, &mut rand::rng());
        let plain: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let parts = plain.chunks(30_000).map(<[u8]>::to_vec).collect();
        let s = store_stream(dir.path(), sealer, body(parts), 1 << 20)
            .await
            .unwrap();
        assert_eq!(s.summary.plaintext_len, plain.len() as u64);
        assert_eq!(
            s.summary.plaintext_sha256,
            sealing::Sha256Digest::of(&plain)
        );
        assert_eq!(entries(dir.path()), vec![s.sealed_path.clone()]);
        let path = dir.path().join(&s.sealed_path);
        let sealed = std::fs::read(&path).unwrap();
        assert_eq!(
            s.sealed_path,
            format!("{}.sealed", hex::encode(Sha256::digest(&sealed)))
        );
        // opening needs a permit: build one for this context
        let lot = sealing::LotOpeningState {
            criterion: sealing::AwardCriterion::BestQualityPriceRatio,
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
        verify_file(&path, &okey, &it, &s.summary).unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let (p2, k2, i2, s2) = (path.clone(), okey, it.clone(), s.summary);
        let h = tokio::task::spawn_blocking(move || {
            stream_file(&p2, &k2, &i2, &s2, tx);
            k2
        });
        let mut got = Vec::new();
        while let Some(b) = rx.recv().await {
            got.extend_from_slice(&b.unwrap());
        }
        let okey = h.await.unwrap();
        assert_eq!(got, plain);
        // a wrong promised digest is refused
        let mut wrong = s.summary;
        wrong.plaintext_sha256 = sealing::Sha256Digest::of(b"other");
        assert!(verify_file(&path, &okey, &it, &wrong).is_err());
        // a flipped byte is refused
        let mut t = sealed.clone();
        t[1000] ^= 1;
        std::fs::write(&path, &t).unwrap();
        let e = verify_file(&path, &okey, &it, &s.summary).unwrap_err();
        assert!(e.contains("chunk"), "{e}");
        // a truncated file is refused
        std::fs::write(&path, &sealed[..sealed.len() - 10]).unwrap();
        assert!(verify_file(&path, &okey, &it, &s.summary).is_err());
        // another item id (file swapped under another row) is refused
        std::fs::write(&path, &sealed).unwrap();
        let other = item(Uuid::now_v7()).unwrap();
        assert!(verify_file(&path, &okey, &other, &s.summary).is_err());
        verify_file(&path, &okey, &it, &s.summary).unwrap();
    }

    #[test]
    fn names_and_media_types() {
        for bad in ["", ".hidden", "a/b", "a\\b", "x\ny"] {
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
