//! The sealed manifest of an envelope: its structured data (JSON) and the list of its files with
//! their plaintext SHA-256, sealed as one item. The SHA-256 of the *sealed* manifest is the
//! envelope's commitment printed on receipts: it pins the structured data and, through the file
//! digests inside, every file, without revealing low-entropy content (a ribasso) to anyone who
//! only sees the receipt or the database.

use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::context::{ContextId, EnvelopeKind, ItemId};
use crate::keys::{OpeningKey, SealingKey};
use crate::stream::{OpenError, SealError, SealedSummary, Sha256Digest, open_bytes, seal_bytes};

/// One file of an envelope, as listed in its manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The item id the file was sealed under (the service's document id).
    pub item: ContextId,
    /// Original file name (confidential: it lives only inside the sealed manifest).
    pub name: String,
    pub media_type: String,
    pub len: u64,
    pub sha256: Sha256Digest,
}

impl FileEntry {
    /// The line of this file on a receipt.
    pub fn digest(&self) -> FileDigest {
        FileDigest {
            media_type: self.media_type.clone(),
            name: self.name.clone(),
            sha256: self.sha256,
            size: self.len,
        }
    }
}

/// One file on a receipt: what the bidder can check against their own copy (`sha256sum`, `ls -l`).
/// Fields are in lexicographic order (canonical JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDigest {
    /// The media type the file was uploaded with (`Content-Type`, normalised by the service).
    pub media_type: String,
    /// The file name the bidder gave (1 to 200 characters, no control characters).
    pub name: String,
    /// SHA-256 of the plaintext, computed while the upload was sealed.
    pub sha256: Sha256Digest,
    /// Plaintext length in bytes.
    pub size: u64,
}

/// Structured data and files of one envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeManifest {
    pub data: serde_json::Value,
    pub files: Vec<FileEntry>,
}

impl EnvelopeManifest {
    /// The entry of a sealed file, built from what its [`crate::Sealer`] reported.
    pub fn file_entry(
        item: ContextId,
        name: &str,
        media_type: &str,
        summary: &SealedSummary,
    ) -> FileEntry {
        FileEntry {
            item,
            name: name.to_owned(),
            media_type: media_type.to_owned(),
            len: summary.plaintext_len,
            sha256: summary.plaintext_sha256,
        }
    }

    /// What a receipt shows for this envelope once sealed.
    pub fn digest(&self, key: &SealingKey, sealed: &SealedManifest) -> EnvelopeDigest {
        EnvelopeDigest {
            files: self.files.iter().map(FileEntry::digest).collect(),
            key_commitment: key.key_commitment(),
            kind: key.context().kind,
            sealed_manifest_sha256: sealed.commitment(),
            version: key.context().version,
        }
    }
}

/// The sealed manifest bytes (store them in the envelope row or the document store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedManifest(pub Vec<u8>);

impl SealedManifest {
    /// SHA-256 of the sealed bytes: the envelope's commitment.
    pub fn commitment(&self) -> Sha256Digest {
        Sha256Digest::of(&self.0)
    }
}

/// The per-envelope line of a receipt. Fields are in lexicographic order (canonical JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeDigest {
    /// Every file of the envelope, in upload order: name, media type, size and plaintext SHA-256 (a
    /// bidder can check them with `sha256sum`). Empty when the envelope holds structured data only.
    pub files: Vec<FileDigest>,
    /// Commitment to the envelope's data key ([`SealingKey::key_commitment`]).
    pub key_commitment: Sha256Digest,
    pub kind: EnvelopeKind,
    pub sealed_manifest_sha256: Sha256Digest,
    pub version: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("manifest: not valid manifest JSON after decryption: {0}")]
    Json(#[from] serde_json::Error),
    #[error("manifest: file item {0} listed twice")]
    DuplicateFile(ContextId),
}

fn check_unique(m: &EnvelopeManifest) -> Result<(), ManifestError> {
    for (i, f) in m.files.iter().enumerate() {
        if m.files[..i].iter().any(|g| g.item == f.item) {
            return Err(ManifestError::DuplicateFile(f.item.clone()));
        }
    }
    Ok(())
}

/// Seals a manifest with the envelope key.
pub fn seal_manifest(
    key: &SealingKey,
    manifest: &EnvelopeManifest,
    rng: &mut impl CryptoRng,
) -> Result<SealedManifest, ManifestError> {
    check_unique(manifest)?;
    let json = zeroize::Zeroizing::new(serde_json::to_vec(manifest)?);
    let (sealed, _) = seal_bytes(key, &ItemId::Manifest, &json, rng)?;
    Ok(SealedManifest(sealed))
}

/// Opens a sealed manifest (requires an [`OpeningKey`], i.e. an authorized opening).
pub fn open_manifest(key: &OpeningKey, sealed: &[u8]) -> Result<EnvelopeManifest, ManifestError> {
    let (json, _) = open_bytes(key, &ItemId::Manifest, sealed)?;
    let m: EnvelopeManifest = serde_json::from_slice(&json)?;
    check_unique(&m)?;
    Ok(m)
}
