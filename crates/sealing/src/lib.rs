//! Cryptographic core of sealed bids (pure: no I/O of its own, no clock, no OS randomness).
//!
//! - [`Keyring`]: envelope encryption. One random data key per envelope (busta A, B, C and per bid
//!   version), wrapped by a configured KEK; [`Keyring::rewrap`] rotates KEKs without touching files.
//! - [`Sealer`] / [`Opener`]: push-style streaming XChaCha20-Poly1305 (STREAM, 64 KiB chunks) with
//!   SHA-256 of the plaintext, for multi-GiB uploads in constant memory.
//! - [`seal_manifest`] / [`open_manifest`]: the envelope's structured data and file list, whose
//!   sealed SHA-256 is the envelope commitment printed on receipts.
//! - [`authorize_opening`]: the opening order rule; its [`OpeningPermit`] is required to obtain an
//!   [`OpeningKey`], so no code path decrypts an envelope without passing the rule.
//! - [`ReceiptSigner`] / [`verify`]: Ed25519-signed receipts in canonical JSON.
//!
//! See `docs/sealing.md` for the threat model and what the service must do.

mod context;
mod keys;
mod manifest;
mod opening;
mod receipt;
mod stream;

pub use context::{ContextId, EnvelopeContext, EnvelopeKind, IdError, ItemId, KeyId};
pub use keys::{KEY_LEN, Kek, KeyError, Keyring, OpeningKey, SealingKey, WrappedKey};
pub use manifest::{
    EnvelopeDigest, EnvelopeManifest, FileEntry, ManifestError, SealedManifest, open_manifest,
    seal_manifest,
};
pub use opening::{
    Admission, AwardCriterion, BidOpeningState, BidStanding, LotOpeningState, LotStatus,
    Milestones, OpeningPermit, OpeningRefusal, OpeningSequence, authorize_opening, may_open,
};
pub use receipt::{
    MAX_SEQUENCE, PublishedKey, Receipt, ReceiptAction, ReceiptBody, ReceiptError, ReceiptFormat,
    ReceiptSigner, ServerTime, SignedReceipt, jwks, parse_public_keys, verify, verify_receipt_file,
    verify_with_keys,
};
pub use stream::{
    CHUNK_LEN, DigestParseError, HEADER_LEN, OpenError, Opener, SEALED_CHUNK_LEN, SealError,
    SealedSummary, Sealer, Sha256Digest, StreamIoError, open_bytes, open_stream, seal_bytes,
    seal_stream, sealed_len,
};
