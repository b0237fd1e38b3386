//! Signed receipts for submission, replacement and withdrawal of a bid.
//!
//! A receipt file is JSON: `{"receipt": {...}, "signature": "<base64 Ed25519 signature>"}`.
//! The signature covers the *canonical* encoding of `receipt`: compact JSON, object keys in
//! lexicographic order at every level, only strings, unsigned integers below 2^53 and arrays
//! (which is what RFC 8785 / JCS produces for such values). The verifier parses the receipt into
//! its strict type (unknown fields refused), re-encodes it canonically and checks the signature,
//! so a pretty-printed copy still verifies and any changed value does not.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

use crate::audit_head::ChainHead;
use crate::context::{ContextId, KeyId};
use crate::manifest::{EnvelopeDigest, FileDigest};

/// Largest sequence number (integers above 2^53 - 1 are not exact in every JSON reader).
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt: not valid receipt JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("receipt: {field}: {detail}")]
    Invalid { field: &'static str, detail: String },
    #[error(
        "receipt: signature does not verify (the receipt was modified or signed by another key)"
    )]
    BadSignature,
    #[error("receipt: signed with key {0}, which is not among the given public keys")]
    UnknownKey(KeyId),
    #[error("public key: {0}")]
    PublicKey(String),
    #[error("signing key: {0}")]
    SigningKey(String),
}

fn invalid(field: &'static str, detail: impl Into<String>) -> ReceiptError {
    ReceiptError::Invalid {
        field,
        detail: detail.into(),
    }
}

/// What happened to the bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptAction {
    Submission,
    Replacement,
    Withdrawal,
    /// A file was added to an envelope of the bid version already submitted: the receipt restates the
    /// version's envelopes with every file they now hold (it supersedes the earlier receipts of that
    /// version, which listed fewer files).
    FileUpload,
}

/// The receipt format tag; only one value exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReceiptFormat {
    #[serde(rename = "sua-receipt/1")]
    V1,
}

/// Server time with microsecond precision, always written `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServerTime(DateTime<Utc>);

impl ServerTime {
    /// Truncates to microseconds so that the canonical text round-trips.
    pub fn new(t: DateTime<Utc>) -> Self {
        Self(t.trunc_subsecs(6))
    }

    pub fn get(&self) -> DateTime<Utc> {
        self.0
    }
}

impl fmt::Display for ServerTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::Micros, true))
    }
}

impl TryFrom<String> for ServerTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let t = DateTime::parse_from_rfc3339(&s)
            .map_err(|e| format!("server_time: {e}"))?
            .with_timezone(&Utc);
        let canonical = Self(t);
        if canonical.to_string() != s {
            return Err(format!(
                "server_time: {s:?} is not in canonical form {canonical}"
            ));
        }
        Ok(canonical)
    }
}

impl From<ServerTime> for String {
    fn from(t: ServerTime) -> String {
        t.to_string()
    }
}

/// The fields the service fills in; the signer adds the format tag and its key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptBody {
    pub tender: ContextId,
    pub lot: ContextId,
    pub bid: ContextId,
    pub bid_version: u32,
    /// Codice fiscale / partita IVA of the economic operator, as the service's id.
    pub operator: ContextId,
    pub action: ReceiptAction,
    /// One line per envelope of the version submitted; empty for a withdrawal.
    pub envelopes: Vec<EnvelopeDigest>,
    /// Trusted server time of the action.
    pub server_time: ServerTime,
    /// Strictly increasing number of receipts issued by the platform (from the database).
    pub sequence: u64,
}

/// A file line must stay inside what the canonical encoding (JCS) and `jq -S` agree on: no control
/// characters in strings (their escapes differ between encoders), integers below 2^53.
fn validate_file(kind: crate::EnvelopeKind, f: &FileDigest) -> Result<(), ReceiptError> {
    let n = f.name.chars().count();
    if n == 0 || n > 255 || f.name.chars().any(char::is_control) {
        return Err(invalid(
            "files",
            format!(
                "{kind}: file name {:?}: 1 to 255 characters, no control characters",
                f.name
            ),
        ));
    }
    if f.media_type.is_empty()
        || f.media_type.len() > 255
        || !f
            .media_type
            .bytes()
            .all(|b| b.is_ascii_graphic() || b == b' ')
    {
        return Err(invalid(
            "files",
            format!(
                "{kind}: media type {:?}: 1 to 255 printable ASCII characters",
                f.media_type
            ),
        ));
    }
    if f.size > MAX_SEQUENCE {
        return Err(invalid(
            "files",
            format!("{kind}: size above {MAX_SEQUENCE}"),
        ));
    }
    Ok(())
}

/// A receipt. Fields are declared in lexicographic order: that order is the canonical encoding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub action: ReceiptAction,
    /// The head of the Province's audit chain when the receipt was signed: with it the bidder can later show
    /// that entries were removed from the chain (`sua audit verify --head`). Absent from receipts issued
    /// before it existed, which verify as they did (the field is then not part of the signed bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<ChainHead>,
    pub bid: ContextId,
    pub bid_version: u32,
    pub envelopes: Vec<EnvelopeDigest>,
    pub format: ReceiptFormat,
    pub key_id: KeyId,
    pub lot: ContextId,
    pub operator: ContextId,
    pub sequence: u64,
    pub server_time: ServerTime,
    pub tender: ContextId,
}

impl Receipt {
    fn validate(&self) -> Result<(), ReceiptError> {
        if let Some(h) = &self.audit_head {
            h.validate()?;
        }
        if self.sequence > MAX_SEQUENCE {
            return Err(invalid("sequence", format!("above {MAX_SEQUENCE}")));
        }
        if self.bid_version == 0 {
            return Err(invalid("bid_version", "versions start at 1"));
        }
        match self.action {
            ReceiptAction::Withdrawal if !self.envelopes.is_empty() => {
                return Err(invalid("envelopes", "a withdrawal lists no envelopes"));
            }
            ReceiptAction::Submission | ReceiptAction::Replacement | ReceiptAction::FileUpload
                if self.envelopes.is_empty() =>
            {
                return Err(invalid(
                    "envelopes",
                    "a submission lists at least one envelope",
                ));
            }
            _ => {}
        }
        if self.action == ReceiptAction::FileUpload
            && self.envelopes.iter().all(|e| e.files.is_empty())
        {
            return Err(invalid(
                "envelopes",
                "a file_upload receipt lists at least one file",
            ));
        }
        for (i, e) in self.envelopes.iter().enumerate() {
            if self.envelopes[..i].iter().any(|o| o.kind == e.kind) {
                return Err(invalid("envelopes", format!("{} listed twice", e.kind)));
            }
            if e.version != self.bid_version {
                return Err(invalid(
                    "envelopes",
                    format!(
                        "{} has version {}, bid_version is {}",
                        e.kind, e.version, self.bid_version
                    ),
                ));
            }
            for (j, f) in e.files.iter().enumerate() {
                validate_file(e.kind, f)?;
                if e.files[..j].iter().any(|g| g.name == f.name) {
                    return Err(invalid(
                        "files",
                        format!("{}: file '{}' listed twice", e.kind, f.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The exact bytes that are signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("receipt serialization cannot fail")
    }

    /// A short human-readable summary (for `sua receipt verify`).
    pub fn describe(&self) -> String {
        let mut s = format!(
            "receipt #{} ({:?}) signed by key {}\n  tender {} lot {} bid {} version {}\n  operator {}\n  server time {}\n",
            self.sequence,
            self.action,
            self.key_id,
            self.tender,
            self.lot,
            self.bid,
            self.bid_version,
            self.operator,
            self.server_time
        );
        if let Some(h) = &self.audit_head {
            s.push_str(&format!(
                "  audit chain {} at entry {} (sha256 {})\n",
                h.chain, h.sequence, h.hash
            ));
        }
        for e in &self.envelopes {
            s.push_str(&format!(
                "  {}: sealed manifest sha256 {}\n",
                e.kind, e.sealed_manifest_sha256
            ));
            for f in &e.files {
                s.push_str(&format!(
                    "    file {:?} ({}, {} bytes) sha256 {}\n",
                    f.name, f.media_type, f.size, f.sha256
                ));
            }
        }
        s
    }
}

/// A receipt with its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReceipt {
    pub receipt: Receipt,
    pub signature: Signature,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiptFile {
    receipt: Receipt,
    signature: String,
}

impl SignedReceipt {
    /// The receipt file (compact JSON, canonical receipt inside).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&ReceiptFile {
            receipt: self.receipt.clone(),
            signature: STANDARD.encode(self.signature.to_bytes()),
        })
        .expect("receipt serialization cannot fail")
    }
}

/// The platform's receipt signing key.
pub struct ReceiptSigner {
    key_id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for ReceiptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiptSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl ReceiptSigner {
    pub fn from_seed(key_id: KeyId, seed: [u8; 32]) -> Self {
        let seed = Zeroizing::new(seed);
        Self {
            key_id,
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), e.g. from `openssl genpkey -algorithm ed25519`.
    pub fn from_pkcs8_pem(key_id: KeyId, pem: &str) -> Result<Self, ReceiptError> {
        let key =
            SigningKey::from_pkcs8_pem(pem).map_err(|e| ReceiptError::SigningKey(e.to_string()))?;
        Ok(Self { key_id, key })
    }

    /// A fresh key (for `sua keys generate`); returns it with its PKCS#8 PEM.
    pub fn generate(key_id: KeyId, rng: &mut impl CryptoRng) -> (Self, Zeroizing<String>) {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let signer = Self::from_seed(key_id, *seed);
        let pem = signer
            .key
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding of an Ed25519 key cannot fail");
        (signer, pem)
    }

    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    pub fn public_key(&self) -> PublishedKey {
        PublishedKey {
            key_id: Some(self.key_id.clone()),
            key: self.key.verifying_key(),
        }
    }

    /// The signature of `bytes` (the canonical encoding of what the caller signs).
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> Signature {
        self.key.sign(bytes)
    }

    /// Sign a receipt without an audit head.
    pub fn sign(&self, body: ReceiptBody) -> Result<SignedReceipt, ReceiptError> {
        self.sign_with_head(body, None)
    }

    /// Sign a receipt stating `audit_head`, the head of the Province's audit chain at signing.
    pub fn sign_with_head(
        &self,
        body: ReceiptBody,
        audit_head: Option<ChainHead>,
    ) -> Result<SignedReceipt, ReceiptError> {
        let receipt = Receipt {
            action: body.action,
            audit_head,
            bid: body.bid,
            bid_version: body.bid_version,
            envelopes: body.envelopes,
            format: ReceiptFormat::V1,
            key_id: self.key_id.clone(),
            lot: body.lot,
            operator: body.operator,
            sequence: body.sequence,
            server_time: body.server_time,
            tender: body.tender,
        };
        receipt.validate()?;
        let signature = self.key.sign(&receipt.canonical_bytes());
        Ok(SignedReceipt { receipt, signature })
    }
}

/// A receipt verification key, with its id when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedKey {
    pub key_id: Option<KeyId>,
    pub key: VerifyingKey,
}

impl PublishedKey {
    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), readable by openssl.
    pub fn to_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding of an Ed25519 key cannot fail")
    }

    /// The raw 32-byte key in standard base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key.as_bytes())
    }

    fn jwk(&self) -> serde_json::Value {
        let mut jwk = serde_json::json!({
            "alg": "EdDSA",
            "crv": "Ed25519",
            "kty": "OKP",
            "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(self.key.as_bytes()),
        });
        if let Some(id) = &self.key_id {
            jwk["kid"] = serde_json::Value::String(id.to_string());
        }
        jwk
    }
}

/// The JWK Set (RFC 7517/8037) to serve at the well-known URL, listing current and past keys.
pub fn jwks(keys: &[PublishedKey]) -> String {
    let keys: Vec<_> = keys.iter().map(PublishedKey::jwk).collect();
    serde_json::to_string_pretty(&serde_json::json!({ "keys": keys }))
        .expect("JSON of JWKS cannot fail")
}

fn key_from_bytes(bytes: &[u8]) -> Result<VerifyingKey, ReceiptError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ReceiptError::PublicKey(format!("expected 32 bytes, got {}", bytes.len())))?;
    VerifyingKey::from_bytes(&arr).map_err(|e| ReceiptError::PublicKey(e.to_string()))
}

/// Reads public keys given as SPKI PEM, raw base64, a JWK or a JWK Set.
pub fn parse_public_keys(text: &str) -> Result<Vec<PublishedKey>, ReceiptError> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        let key = VerifyingKey::from_public_key_pem(text)
            .map_err(|e| ReceiptError::PublicKey(e.to_string()))?;
        return Ok(vec![PublishedKey { key_id: None, key }]);
    }
    if text.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ReceiptError::PublicKey(format!("JWK: {e}")))?;
        let jwks: Vec<&serde_json::Value> = match v.get("keys").and_then(|k| k.as_array()) {
            Some(arr) => arr.iter().collect(),
            None => vec![&v],
        };
        let mut out = Vec::new();
        for jwk in jwks {
            if jwk.get("kty").and_then(|v| v.as_str()) != Some("OKP")
                || jwk.get("crv").and_then(|v| v.as_str()) != Some("Ed25519")
            {
                continue;
            }
            let x = jwk
                .get("x")
                .and_then(|v| v.as_str())
                .ok_or_else(|| ReceiptError::PublicKey("JWK without x".into()))?;
            let raw = URL_SAFE_NO_PAD
                .decode(x)
                .map_err(|e| ReceiptError::PublicKey(format!("JWK x: {e}")))?;
            let key_id = match jwk.get("kid").and_then(|v| v.as_str()) {
                Some(kid) => Some(
                    KeyId::parse_field("kid", kid)
                        .map_err(|e| ReceiptError::PublicKey(e.to_string()))?,
                ),
                None => None,
            };
            out.push(PublishedKey {
                key_id,
                key: key_from_bytes(&raw)?,
            });
        }
        if out.is_empty() {
            return Err(ReceiptError::PublicKey(
                "no Ed25519 key in the JWK set".into(),
            ));
        }
        return Ok(out);
    }
    let raw = STANDARD
        .decode(text)
        .map_err(|e| ReceiptError::PublicKey(format!("base64: {e}")))?;
    Ok(vec![PublishedKey {
        key_id: None,
        key: key_from_bytes(&raw)?,
    }])
}

fn parse_file(receipt_json: &[u8]) -> Result<(Receipt, Signature), ReceiptError> {
    let file: ReceiptFile = serde_json::from_slice(receipt_json)?;
    let sig = STANDARD
        .decode(file.signature.trim())
        .map_err(|e| invalid("signature", format!("base64: {e}")))?;
    let sig: [u8; 64] = sig
        .as_slice()
        .try_into()
        .map_err(|_| invalid("signature", "expected 64 bytes"))?;
    file.receipt.validate()?;
    Ok((file.receipt, Signature::from_bytes(&sig)))
}

/// Verifies a receipt file against one public key.
pub fn verify(receipt_json: &[u8], key: &VerifyingKey) -> Result<Receipt, ReceiptError> {
    let (receipt, sig) = parse_file(receipt_json)?;
    key.verify_strict(&receipt.canonical_bytes(), &sig)
        .map_err(|_| ReceiptError::BadSignature)?;
    Ok(receipt)
}

/// Verifies a receipt file against a set of published keys: the key whose id matches the
/// receipt's `key_id`, or the only key given when it carries no id.
pub fn verify_with_keys(
    receipt_json: &[u8],
    keys: &[PublishedKey],
) -> Result<Receipt, ReceiptError> {
    let (receipt, _) = parse_file(receipt_json)?;
    let key = keys
        .iter()
        .find(|k| k.key_id.as_ref() == Some(&receipt.key_id))
        .or(match keys {
            [only] if only.key_id.is_none() => Some(only),
            _ => None,
        })
        .ok_or_else(|| ReceiptError::UnknownKey(receipt.key_id.clone()))?;
    verify(receipt_json, &key.key)
}

/// The whole of `sua receipt verify FILE --key KEYFILE`: the CLI reads both files and prints
/// [`Receipt::describe`] or the error.
pub fn verify_receipt_file(
    receipt_file: &[u8],
    public_key_text: &str,
) -> Result<Receipt, ReceiptError> {
    let keys = parse_public_keys(public_key_text)?;
    verify_with_keys(receipt_file, &keys)
}
