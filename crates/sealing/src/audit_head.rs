//! Signed heads of the audit chain: the newest entry's sequence and hash, signed with the receipt key.
//!
//! A hash chain shows an edited entry, but not the removal of the newest ones: the shorter chain is still a
//! valid chain. Whoever saved a signed head (an auditor from the well-known URL, a bidder inside a receipt)
//! can later check that the database still holds an entry with that sequence and hash, so a rollback is
//! seen.
//!
//! A head file is JSON: `{"head": {...}, "signature": "<base64 Ed25519 signature>"}`; the signature covers
//! the canonical encoding of `head` (compact, keys in lexicographic order), as for receipts. The `format`
//! tag (`sua-audit-head/1`) keeps a signed head from being read as a receipt and the other way round.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::context::{ContextId, KeyId};
use crate::receipt::{MAX_SEQUENCE, PublishedKey, ReceiptError, ReceiptSigner, ServerTime};
use crate::stream::Sha256Digest;

/// The head format tag; only one value exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AuditHeadFormat {
    #[serde(rename = "sua-audit-head/1")]
    V1,
}

/// Where a chain stands: its key (the Province's id), the newest entry's sequence and hash. Inside a receipt
/// it is the head when the receipt was signed. Fields in lexicographic order (the canonical encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    /// The chain: the Province's id.
    pub chain: ContextId,
    /// SHA-256 (hex) of the newest entry; 64 zeros for an empty chain.
    pub hash: Sha256Digest,
    /// Sequence of the newest entry in its chain; 0 for an empty chain.
    pub sequence: u64,
}

/// A signed head, as published and saved: a [`ChainHead`] with the time it was read and the signing key.
/// Fields in lexicographic order (the canonical encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    /// When the head was read (server time).
    pub at: ServerTime,
    pub chain: ContextId,
    pub format: AuditHeadFormat,
    pub hash: Sha256Digest,
    pub key_id: KeyId,
    pub sequence: u64,
}

/// A head with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAuditHead {
    pub head: AuditHead,
    pub signature: Signature,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadFile {
    head: AuditHead,
    signature: String,
}

fn invalid(field: &'static str, detail: impl Into<String>) -> ReceiptError {
    ReceiptError::Invalid {
        field,
        detail: detail.into(),
    }
}

impl ChainHead {
    pub(crate) fn validate(&self) -> Result<(), ReceiptError> {
        if self.sequence > MAX_SEQUENCE {
            return Err(invalid("sequence", format!("above {MAX_SEQUENCE}")));
        }
        Ok(())
    }
}

impl AuditHead {
    /// The exact bytes that are signed: the canonical JSON (keys sorted).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("head serialization cannot fail")
    }

    /// The chain's head it states.
    pub fn chain_head(&self) -> ChainHead {
        ChainHead {
            chain: self.chain.clone(),
            hash: self.hash,
            sequence: self.sequence,
        }
    }
}

impl SignedAuditHead {
    /// The head file (compact JSON, canonical head inside).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&HeadFile {
            head: self.head.clone(),
            signature: STANDARD.encode(self.signature.to_bytes()),
        })
        .expect("head serialization cannot fail")
    }
}

impl ReceiptSigner {
    /// Sign the head of a chain, read at `at`.
    pub fn sign_audit_head(
        &self,
        head: ChainHead,
        at: ServerTime,
    ) -> Result<SignedAuditHead, ReceiptError> {
        head.validate()?;
        let head = AuditHead {
            at,
            chain: head.chain,
            format: AuditHeadFormat::V1,
            hash: head.hash,
            key_id: self.key_id().clone(),
            sequence: head.sequence,
        };
        let signature = self.sign_bytes(&head.canonical_bytes());
        Ok(SignedAuditHead { head, signature })
    }
}

/// Verifies a head file against a set of published keys (the key whose id is the head's `key_id`, or the
/// only key given when it carries no id) and returns the head.
pub fn verify_audit_head(
    head_json: &[u8],
    keys: &[PublishedKey],
) -> Result<AuditHead, ReceiptError> {
    let file: HeadFile = serde_json::from_slice(head_json)?;
    let head = file.head;
    head.chain_head().validate()?;
    let sig = STANDARD
        .decode(file.signature.trim())
        .map_err(|e| invalid("signature", format!("base64: {e}")))?;
    let sig: [u8; 64] = sig
        .as_slice()
        .try_into()
        .map_err(|_| invalid("signature", "expected 64 bytes"))?;
    let key = keys
        .iter()
        .find(|k| k.key_id.as_ref() == Some(&head.key_id))
        .or(match keys {
            [only] if only.key_id.is_none() => Some(only),
            _ => None,
        })
        .ok_or_else(|| ReceiptError::UnknownKey(head.key_id.clone()))?;
    key.key
        .verify_strict(&head.canonical_bytes(), &Signature::from_bytes(&sig))
        .map_err(|_| ReceiptError::BadSignature)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signer(id: &str, seed: u8) -> ReceiptSigner {
        ReceiptSigner::from_seed(KeyId::parse_field("key_id", id).unwrap(), [seed; 32])
    }

    fn head(seq: u64) -> ChainHead {
        ChainHead {
            chain: ContextId::parse_field("chain", "0190a7e2-7a3c-7d2e-9b1e-3c1d2e4f5a6b").unwrap(),
            hash: Sha256Digest::of(b"entry"),
            sequence: seq,
        }
    }

    fn at() -> ServerTime {
        ServerTime::new(chrono::Utc.with_ymd_and_hms(2026, 12, 6, 10, 0, 0).unwrap())
    }

    #[test]
    fn a_signed_head_verifies_and_any_change_does_not() {
        let s = signer("receipts-2026", 7);
        let signed = s.sign_audit_head(head(41), at()).unwrap();
        let json = signed.to_json();
        let keys = [s.public_key()];
        let back = verify_audit_head(json.as_bytes(), &keys).unwrap();
        assert_eq!(back, signed.head);
        assert_eq!(back.sequence, 41);
        // the canonical form: keys sorted, the chain head's fields at the top level
        let canonical = String::from_utf8(signed.head.canonical_bytes()).unwrap();
        assert!(
            canonical.starts_with(r#"{"at":"2026-12-06T10:00:00.000000Z","chain":"#),
            "{canonical}"
        );
        // a pretty-printed copy still verifies
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        assert!(verify_audit_head(pretty.as_bytes(), &keys).is_ok());
        // a rolled-back sequence does not
        let forged = json.replace(r#""sequence":41"#, r#""sequence":40"#);
        assert_ne!(forged, json);
        assert!(matches!(
            verify_audit_head(forged.as_bytes(), &keys),
            Err(ReceiptError::BadSignature)
        ));
        // another platform's key does not
        let other = signer("receipts-2026", 8);
        assert!(matches!(
            verify_audit_head(json.as_bytes(), &[other.public_key()]),
            Err(ReceiptError::BadSignature)
        ));
        let unknown = signer("other", 7);
        assert!(matches!(
            verify_audit_head(json.as_bytes(), &[unknown.public_key()]),
            Err(ReceiptError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_head_is_not_a_receipt_nor_has_unknown_fields() {
        let s = signer("k", 1);
        let json = s.sign_audit_head(head(1), at()).unwrap().to_json();
        assert!(crate::verify_with_keys(json.as_bytes(), &[s.public_key()]).is_err());
        let extra = json.replace(r#""format":"#, r#""extra":1,"format":"#);
        assert!(verify_audit_head(extra.as_bytes(), &[s.public_key()]).is_err());
        assert!(s.sign_audit_head(head(MAX_SEQUENCE + 1), at()).is_err());
    }
}
