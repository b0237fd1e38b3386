//! Envelope encryption keys: one random data key (DEK) per envelope, wrapped by a key-encryption
//! key (KEK) from configuration, identified by a [`KeyId`].
//!
//! A DEK never leaves this module as bytes. It is handed out as a [`SealingKey`] (can only encrypt,
//! used while the bidder uploads) or as an [`OpeningKey`] (can decrypt), and an `OpeningKey` can
//! only be obtained with an [`OpeningPermit`], which only [`crate::authorize_opening`] creates.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRng;
use std::fmt;
use zeroize::Zeroizing;

use crate::context::{EnvelopeContext, IdError, KeyId};
use crate::opening::OpeningPermit;
use crate::stream::Sha256Digest;
use sha2::{Digest as _, Sha256};

/// Length of every symmetric key of this crate (XChaCha20-Poly1305).
pub const KEY_LEN: usize = 32;
const WRAP_NONCE_LEN: usize = 24;
const WRAPPED_LEN: usize = WRAP_NONCE_LEN + KEY_LEN + 16;
const WRAPPED_PREFIX: &str = "sua-wk1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{field}: {source}")]
    Id {
        field: &'static str,
        #[source]
        source: IdError,
    },
    #[error("{field}: expected {KEY_LEN} bytes of base64, {detail}")]
    BadKeyMaterial { field: &'static str, detail: String },
    #[error("keyring: KEK id {0} appears twice")]
    DuplicateKek(KeyId),
    #[error(
        "wrapped_key: unknown KEK id {0} (retired KEKs must stay in the keyring until every DEK is re-wrapped)"
    )]
    UnknownKek(KeyId),
    #[error("envelope key does not match the key commitment on the receipt (data key substituted)")]
    CommitmentMismatch,
    #[error("wrapped_key: malformed text form ({0})")]
    Malformed(&'static str),
    #[error(
        "wrapped_key: does not open with KEK {0} for this envelope (wrong key, tampered, or moved from another envelope)"
    )]
    UnwrapFailed(KeyId),
}

/// A key-encryption key. Its bytes are zeroed on drop and never printed.
pub struct Kek {
    id: KeyId,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kek")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Kek {
    pub fn from_bytes(id: KeyId, key: [u8; KEY_LEN]) -> Self {
        Self {
            id,
            key: Zeroizing::new(key),
        }
    }

    /// Reads a KEK from configuration: `id` and 32 bytes in standard base64.
    pub fn from_base64(id: &str, key_b64: &str) -> Result<Self, KeyError> {
        let id = KeyId::parse_field("kek.id", id).map_err(|source| KeyError::Id {
            field: "kek.id",
            source,
        })?;
        let bytes = Zeroizing::new(STANDARD.decode(key_b64.trim()).map_err(|e| {
            KeyError::BadKeyMaterial {
                field: "kek.key",
                detail: e.to_string(),
            }
        })?);
        let key: [u8; KEY_LEN] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::BadKeyMaterial {
                    field: "kek.key",
                    detail: format!("got {} bytes", bytes.len()),
                })?;
        Ok(Self::from_bytes(id, key))
    }

    /// A fresh random KEK (for `sua keys generate` and tests); returns it with its base64 form.
    pub fn generate(id: KeyId, rng: &mut impl CryptoRng) -> (Self, Zeroizing<String>) {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(key.as_mut());
        let b64 = Zeroizing::new(STANDARD.encode(key.as_ref()));
        (Self { id, key }, b64)
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }
}

/// A DEK wrapped (encrypted) under a KEK, bound to its envelope context.
///
/// Stored in the envelope's database row as text: [`WrappedKey::to_text`] / [`WrappedKey::parse`].
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    kek: KeyId,
    /// nonce (24) || ciphertext of the DEK (32) || tag (16)
    bytes: [u8; WRAPPED_LEN],
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedKey({})", self.to_text())
    }
}

impl WrappedKey {
    /// The KEK this DEK is wrapped under (to find rows that still need re-wrapping).
    pub fn kek_id(&self) -> &KeyId {
        &self.kek
    }

    /// `sua-wk1.<kek id>.<base64url(nonce || wrapped DEK || tag)>`
    pub fn to_text(&self) -> String {
        format!(
            "{WRAPPED_PREFIX}.{}.{}",
            self.kek,
            URL_SAFE_NO_PAD.encode(self.bytes)
        )
    }

    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut parts = text.split('.');
        let (Some(prefix), Some(kek), Some(body), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Malformed("expected three dot-separated parts"));
        };
        if prefix != WRAPPED_PREFIX {
            return Err(KeyError::Malformed("unknown prefix"));
        }
        let kek = KeyId::parse_field("wrapped_key.kek_id", kek).map_err(|source| KeyError::Id {
            field: "wrapped_key.kek_id",
            source,
        })?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| KeyError::Malformed("bad base64"))?;
        let bytes = raw
            .try_into()
            .map_err(|_| KeyError::Malformed("wrong length"))?;
        Ok(Self { kek, bytes })
    }
}

/// The unwrapped data key of one envelope. Private: only [`SealingKey`] and [`OpeningKey`] hold one.
pub(crate) struct Dek {
    pub(crate) ctx: EnvelopeContext,
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl Dek {
    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.key.as_ref().into())
    }

    /// SHA-256("sua-dek-commit/v1" || context || DEK). XChaCha20-Poly1305 is not key-committing:
    /// whoever chooses the key could craft one ciphertext that opens under two keys. Printing
    /// this value on the receipt pins the key, and with it the plaintext of the sealed manifest.
    /// It reveals nothing about the DEK (256 random bits).
    fn commitment(&self) -> Sha256Digest {
        let mut h = Sha256::new();
        h.update(b"sua-dek-commit/v1");
        h.update(self.ctx.item_aad(&crate::ItemId::Manifest));
        h.update(self.key.as_ref());
        Sha256Digest(h.finalize().into())
    }
}

/// Encrypt-only handle on an envelope's DEK, for sealing uploads before the deadline.
pub struct SealingKey(pub(crate) Dek);

/// Decrypt handle on an envelope's DEK; exists only after an opening was authorized.
pub struct OpeningKey(pub(crate) Dek);

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealingKey({:?})", self.0.ctx)
    }
}

impl fmt::Debug for OpeningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpeningKey({:?})", self.0.ctx)
    }
}

impl SealingKey {
    pub fn context(&self) -> &EnvelopeContext {
        &self.0.ctx
    }

    /// Key commitment to print on the receipt (see [`OpeningKey::check_commitment`]).
    pub fn key_commitment(&self) -> Sha256Digest {
        self.0.commitment()
    }
}

impl OpeningKey {
    pub fn context(&self) -> &EnvelopeContext {
        &self.0.ctx
    }

    /// Checks that this is the key the receipt committed to (call it before trusting what the
    /// envelope opens to: a substituted DEK is refused).
    pub fn check_commitment(&self, expected: &Sha256Digest) -> Result<(), KeyError> {
        if &self.0.commitment() == expected {
            Ok(())
        } else {
            Err(KeyError::CommitmentMismatch)
        }
    }
}

/// The configured KEKs: one current (wraps new DEKs) and any number of retired ones (still unwrap).
#[derive(Debug)]
pub struct Keyring {
    current: Kek,
    retired: Vec<Kek>,
}

impl Keyring {
    pub fn new(current: Kek, retired: Vec<Kek>) -> Result<Self, KeyError> {
        let mut seen = vec![current.id.clone()];
        for k in &retired {
            if seen.contains(&k.id) {
                return Err(KeyError::DuplicateKek(k.id.clone()));
            }
            seen.push(k.id.clone());
        }
        Ok(Self { current, retired })
    }

    pub fn current_id(&self) -> &KeyId {
        &self.current.id
    }

    fn kek(&self, id: &KeyId) -> Result<&Kek, KeyError> {
        std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| &k.id == id)
            .ok_or_else(|| KeyError::UnknownKek(id.clone()))
    }

    fn wrap(
        &self,
        ctx: &EnvelopeContext,
        dek: &[u8; KEY_LEN],
        rng: &mut impl CryptoRng,
    ) -> WrappedKey {
        let mut nonce = [0u8; WRAP_NONCE_LEN];
        rng.fill_bytes(&mut nonce);
        let aad = ctx.wrap_aad(&self.current.id);
        let ct = self
            .current
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: dek,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 encryption of 32 bytes cannot fail");
        let mut bytes = [0u8; WRAPPED_LEN];
        bytes[..WRAP_NONCE_LEN].copy_from_slice(&nonce);
        bytes[WRAP_NONCE_LEN..].copy_from_slice(&ct);
        WrappedKey {
            kek: self.current.id.clone(),
            bytes,
        }
    }

    fn unwrap(&self, wrapped: &WrappedKey, ctx: &EnvelopeContext) -> Result<Dek, KeyError> {
        let kek = self.kek(&wrapped.kek)?;
        let aad = ctx.wrap_aad(&wrapped.kek);
        let (nonce, ct) = wrapped.bytes.split_at(WRAP_NONCE_LEN);
        let nonce: [u8; WRAP_NONCE_LEN] = nonce.try_into().expect("fixed layout");
        let plain = Zeroizing::new(
            kek.cipher()
                .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| KeyError::UnwrapFailed(wrapped.kek.clone()))?,
        );
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(&plain);
        Ok(Dek {
            ctx: ctx.clone(),
            key,
        })
    }

    /// Creates the data key of a new envelope (or new version of it). Store the `WrappedKey` in
    /// the envelope row; use the `SealingKey` to seal its manifest and files.
    pub fn new_envelope_key(
        &self,
        ctx: &EnvelopeContext,
        rng: &mut impl CryptoRng,
    ) -> (WrappedKey, SealingKey) {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rng.fill_bytes(key.as_mut());
        let wrapped = self.wrap(ctx, &key, rng);
        (
            wrapped,
            SealingKey(Dek {
                ctx: ctx.clone(),
                key,
            }),
        )
    }

    /// Recovers the encrypt-only key of a stored envelope, e.g. to seal a further upload to a
    /// draft envelope. Fails if the wrapped key belongs to another envelope context.
    pub fn sealing_key(
        &self,
        wrapped: &WrappedKey,
        ctx: &EnvelopeContext,
    ) -> Result<SealingKey, KeyError> {
        self.unwrap(wrapped, ctx).map(SealingKey)
    }

    /// Recovers the decrypting key of the envelope the permit was granted for.
    pub fn opening_key(
        &self,
        wrapped: &WrappedKey,
        permit: &OpeningPermit,
    ) -> Result<OpeningKey, KeyError> {
        self.unwrap(wrapped, permit.context()).map(OpeningKey)
    }

    /// KEK rotation: re-wraps a DEK under the current KEK. The sealed content is untouched; the
    /// DEK itself never leaves this function.
    pub fn rewrap(
        &self,
        wrapped: &WrappedKey,
        ctx: &EnvelopeContext,
        rng: &mut impl CryptoRng,
    ) -> Result<WrappedKey, KeyError> {
        let dek = self.unwrap(wrapped, ctx)?;
        Ok(self.wrap(ctx, &dek.key, rng))
    }

    /// True if the wrapped key is not under the current KEK (a rotation job should re-wrap it).
    pub fn needs_rewrap(&self, wrapped: &WrappedKey) -> bool {
        wrapped.kek != self.current.id
    }
}
