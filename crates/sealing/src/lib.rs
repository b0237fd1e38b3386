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
//!
//! # The whole flow
//!
//! ```
//! use sealing::*;
//! use rand_chacha::{ChaCha20Rng, rand_core::SeedableRng};
//! use chrono::{TimeZone, Utc};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = ChaCha20Rng::seed_from_u64(1); // the service passes `rand::rng()`
//! // KEKs come from configuration (secret), as 32 bytes of base64.
//! let ring = Keyring::new(Kek::from_base64("kek-2026", "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=")?, vec![])?;
//! let ctx = EnvelopeContext {
//!     tender: "T-1".parse()?, lot: "L1".parse()?, bid: "B-1".parse()?,
//!     kind: EnvelopeKind::Economic, version: 1,
//! };
//! // Draft envelope: store `wrapped.to_text()` in the envelope row.
//! let (wrapped, key) = ring.new_envelope_key(&ctx, &mut rng);
//!
//! // Upload, streamed: push body chunks, write what comes out to the document store.
//! let item = ItemId::File("doc-1".parse()?);
//! let mut sealer = Sealer::new(&key, &item, &mut rng);
//! let mut stored = Vec::new();
//! for body_chunk in [&b"%PDF-1.7 offerta"[..], &b" economica"[..]] {
//!     stored.extend(sealer.update(body_chunk)?);
//! }
//! let (tail, summary) = sealer.finish()?;
//! stored.extend(tail);
//!
//! // Submission: seal the manifest, sign the receipt (one DB transaction in the service).
//! let manifest = EnvelopeManifest {
//!     data: serde_json::json!({ "ribasso": "12.345" }),
//!     files: vec![EnvelopeManifest::file_entry("doc-1".parse()?, "offerta.pdf", "application/pdf", &summary)],
//! };
//! let sealed_manifest = seal_manifest(&key, &manifest, &mut rng)?;
//! let signer = ReceiptSigner::from_seed("sig-2026".parse()?, [7; 32]);
//! let receipt = signer.sign(ReceiptBody {
//!     tender: ctx.tender.clone(), lot: ctx.lot.clone(), bid: ctx.bid.clone(), bid_version: 1,
//!     operator: "IT01234567890".parse()?, action: ReceiptAction::Submission,
//!     envelopes: vec![manifest.digest(&key, &sealed_manifest)],
//!     server_time: ServerTime::new(Utc.with_ymd_and_hms(2026, 11, 30, 11, 0, 0).unwrap()),
//!     sequence: 1,
//! })?;
//! let receipt_json = receipt.to_json();
//! assert_eq!(verify_receipt_file(receipt_json.as_bytes(), &signer.public_key().to_pem())?.sequence, 1);
//!
//! // Opening session, after the deadline and in order.
//! let lot = LotOpeningState {
//!     criterion: AwardCriterion::LowestPrice, sequence: OpeningSequence::Standard,
//!     status: LotStatus::Active, deadline: Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
//!     milestones: Milestones { opening_session_started: true, ..Default::default() },
//! };
//! let bid = BidOpeningState { standing: BidStanding::Current, admission: Admission::Admitted };
//! let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
//! // Admissions are not decided yet: busta C stays sealed.
//! assert_eq!(authorize_opening(&ctx, &lot, &bid, now).unwrap_err(), OpeningRefusal::AdmissionNotDecided);
//! let lot = LotOpeningState { milestones: Milestones { admission_decided: true, ..lot.milestones }, ..lot };
//! let permit = authorize_opening(&ctx, &lot, &bid, now)?; // the service audits this first
//! let opening = ring.opening_key(&WrappedKey::parse(&wrapped.to_text())?, &permit)?;
//! // The data key is the one the receipt committed to.
//! opening.check_commitment(&verify(receipt_json.as_bytes(), &signer.public_key().key)?.envelopes[0].key_commitment)?;
//! let opened_manifest = open_manifest(&opening, &sealed_manifest.0)?;
//! let mut opener = Opener::new(&opening, &item);
//! let mut plain = opener.update(&stored)?;
//! plain.extend(opener.finish_verified(&summary)?);
//! assert_eq!(plain, b"%PDF-1.7 offerta economica");
//! assert_eq!(opened_manifest.data["ribasso"], "12.345");
//! # Ok(()) }
//! ```

mod audit_head;
mod context;
mod keys;
mod manifest;
mod opening;
mod receipt;
mod stream;

pub use audit_head::{AuditHead, AuditHeadFormat, ChainHead, SignedAuditHead, verify_audit_head};
pub use context::{ContextId, EnvelopeContext, EnvelopeKind, IdError, ItemId, KeyId};
pub use keys::{KEY_LEN, Kek, KeyError, Keyring, OpeningKey, SealingKey, WrappedKey};
pub use manifest::{
    EnvelopeDigest, EnvelopeManifest, FileDigest, FileEntry, ManifestError, SealedManifest,
    open_manifest, seal_manifest,
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
