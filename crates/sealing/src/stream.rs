//! Streaming sealing of one item (manifest or file) with the STREAM construction
//! (`aead::stream`, big-endian 32-bit counter + last-block flag) over XChaCha20-Poly1305.
//!
//! Sealed format, version 1:
//!
//! ```text
//! "SUAS" | 0x01 | nonce prefix (19 random bytes)          -- header, 24 bytes
//! chunk_0 .. chunk_{n-1}: CHUNK_LEN plaintext bytes + 16-byte tag each (non-last chunks)
//! chunk_n: 0..=CHUNK_LEN plaintext bytes + 16-byte tag, encrypted with the last-block flag
//! ```
//!
//! Every chunk is authenticated with the envelope context and item id as associated data, and its
//! position (counter) and last-ness are part of its nonce, so reordering, dropping, truncating,
//! appending or moving chunks to another item or envelope is detected. SHA-256 of the plaintext
//! is computed on the way in and on the way out.
//!
//! Both [`Sealer`] and [`Opener`] are push-style (feed bytes, get bytes back) so that async code
//! can drive them from an HTTP body stream; memory use is bounded by about two chunks plus the
//! size of the slice passed in.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use rand_core::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{Read, Write};
use zeroize::Zeroizing;

use crate::context::ItemId;
use crate::keys::{OpeningKey, SealingKey};

/// Plaintext bytes per chunk.
pub const CHUNK_LEN: usize = 64 * 1024;
const TAG_LEN: usize = 16;
/// Ciphertext bytes per full chunk.
pub const SEALED_CHUNK_LEN: usize = CHUNK_LEN + TAG_LEN;
const MAGIC: &[u8; 4] = b"SUAS";
const FORMAT_VERSION: u8 = 1;
const NONCE_PREFIX_LEN: usize = 19;
/// Length of the header in front of the chunks.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_PREFIX_LEN;

/// Ciphertext length for a plaintext of `plain_len` bytes (for size checks and store metadata).
pub fn sealed_len(plain_len: u64) -> u64 {
    let chunk = CHUNK_LEN as u64;
    let chunks = if plain_len == 0 {
        1
    } else {
        plain_len.div_ceil(chunk)
    };
    HEADER_LEN as u64 + plain_len + chunks * TAG_LEN as u64
}

/// A SHA-256 digest, shown and serialized as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// SHA-256 of a byte slice held in memory.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sha256: expected 64 lowercase hex digits")]
pub struct DigestParseError;

impl std::str::FromStr for Sha256Digest {
    type Err = DigestParseError;
    fn from_str(s: &str) -> Result<Self, DigestParseError> {
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(DigestParseError);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| DigestParseError)?;
        Ok(Self(out))
    }
}

impl TryFrom<String> for Sha256Digest {
    type Error = DigestParseError;
    fn try_from(s: String) -> Result<Self, DigestParseError> {
        s.parse()
    }
}

impl From<Sha256Digest> for String {
    fn from(d: Sha256Digest) -> String {
        d.to_hex()
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.to_hex())
    }
}

/// What the service stores about a sealed item next to its object in the document store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSummary {
    pub plaintext_sha256: Sha256Digest,
    pub plaintext_len: u64,
    pub sealed_len: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("item too large for one sealed stream (more than 2^32 chunks)")]
    TooLong,
    #[error("sealer already failed")]
    Poisoned,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("sealed item: truncated header ({0} bytes)")]
    TruncatedHeader(usize),
    #[error("sealed item: not a SUA sealed stream (bad magic)")]
    BadMagic,
    #[error("sealed item: unsupported format version {0}")]
    UnsupportedVersion(u8),
    #[error(
        "sealed item: chunk {chunk} failed authentication (tampered, reordered, or wrong key/envelope/item)"
    )]
    ChunkAuthentication { chunk: u64 },
    #[error(
        "sealed item: the stream does not end with a valid final chunk (truncated, or its final chunk altered)"
    )]
    Truncated,
    #[error("sealed item: plaintext SHA-256 is {actual}, expected {expected}")]
    DigestMismatch {
        expected: Sha256Digest,
        actual: Sha256Digest,
    },
    #[error("sealed item: plaintext length is {actual}, expected {expected}")]
    LengthMismatch { expected: u64, actual: u64 },
    #[error("opener already failed; discard everything it produced")]
    Poisoned,
}

/// Push-style encryptor of one item. Feed plaintext with [`Sealer::update`], collect the
/// returned ciphertext, then call [`Sealer::finish`].
pub struct Sealer {
    enc: Option<EncryptorBE32<XChaCha20Poly1305>>,
    aad: Vec<u8>,
    header: Option<[u8; HEADER_LEN]>,
    /// Pending plaintext (zeroed on drop).
    buf: Zeroizing<Vec<u8>>,
    hasher: Sha256,
    plain_len: u64,
    sealed_len: u64,
}

impl Sealer {
    /// Starts sealing `item` of the envelope `key` belongs to; the nonce prefix comes from `rng`.
    pub fn new(key: &SealingKey, item: &ItemId, rng: &mut impl CryptoRng) -> Self {
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        rng.fill_bytes(&mut prefix);
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(MAGIC);
        header[4] = FORMAT_VERSION;
        header[5..].copy_from_slice(&prefix);
        let enc = EncryptorBE32::from_aead(key.0.cipher(), prefix.as_slice().into());
        Self {
            enc: Some(enc),
            aad: key.0.ctx.item_aad(item),
            header: Some(header),
            buf: Zeroizing::new(Vec::with_capacity(SEALED_CHUNK_LEN)),
            hasher: Sha256::new(),
            plain_len: 0,
            sealed_len: 0,
        }
    }

    fn take_header(&mut self, out: &mut Vec<u8>) {
        if let Some(h) = self.header.take() {
            out.extend_from_slice(&h);
        }
    }

    fn flush_full_chunk(&mut self, out: &mut Vec<u8>) -> Result<(), SealError> {
        let enc = self.enc.as_mut().ok_or(SealError::Poisoned)?;
        if enc
            .encrypt_next_in_place(&self.aad, &mut *self.buf)
            .is_err()
        {
            self.enc = None;
            return Err(SealError::TooLong);
        }
        out.extend_from_slice(&self.buf);
        self.buf.clear();
        Ok(())
    }

    /// Seals `data`, appending ciphertext to `out` (may append nothing: a chunk is emitted only
    /// once it is known not to be the last one).
    pub fn update_into(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), SealError> {
        if self.enc.is_none() {
            return Err(SealError::Poisoned);
        }
        let before = out.len();
        self.take_header(out);
        self.hasher.update(data);
        self.plain_len += data.len() as u64;
        while !data.is_empty() {
            if self.buf.len() == CHUNK_LEN {
                // More plaintext follows, so the buffered chunk is not the last one.
                self.flush_full_chunk(out)?;
            }
            let take = (CHUNK_LEN - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        self.sealed_len += (out.len() - before) as u64;
        Ok(())
    }

    /// Seals `data` and returns the ciphertext produced so far.
    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(data.len() + SEALED_CHUNK_LEN);
        self.update_into(data, &mut out)?;
        Ok(out)
    }

    /// Seals the final chunk; returns the last ciphertext bytes and the summary to store.
    pub fn finish(mut self) -> Result<(Vec<u8>, SealedSummary), SealError> {
        let mut out = Vec::with_capacity(self.buf.len() + HEADER_LEN + TAG_LEN);
        self.take_header(&mut out);
        let enc = self.enc.take().ok_or(SealError::Poisoned)?;
        enc.encrypt_last_in_place(&self.aad, &mut *self.buf)
            .map_err(|_| SealError::TooLong)?;
        out.extend_from_slice(&self.buf);
        self.sealed_len += out.len() as u64;
        let summary = SealedSummary {
            plaintext_sha256: Sha256Digest(self.hasher.finalize().into()),
            plaintext_len: self.plain_len,
            sealed_len: self.sealed_len,
        };
        Ok((out, summary))
    }
}

/// Push-style decryptor of one item. Every byte it returns belongs to an authenticated chunk in
/// the right position, but the item is complete and untruncated only once [`Opener::finish`]
/// succeeds: callers must treat earlier output as provisional (write to a temporary file, and
/// discard it on error).
pub struct Opener {
    dec: Option<DecryptorBE32<XChaCha20Poly1305>>,
    cipher: Option<XChaCha20Poly1305>,
    aad: Vec<u8>,
    buf: Vec<u8>,
    /// Plaintext of the chunk being opened (zeroed on drop).
    scratch: Zeroizing<Vec<u8>>,
    hasher: Sha256,
    plain_len: u64,
    chunk: u64,
    failed: bool,
}

impl Opener {
    pub fn new(key: &OpeningKey, item: &ItemId) -> Self {
        Self {
            dec: None,
            cipher: Some(key.0.cipher()),
            aad: key.0.ctx.item_aad(item),
            buf: Vec::with_capacity(2 * SEALED_CHUNK_LEN),
            scratch: Zeroizing::new(Vec::with_capacity(SEALED_CHUNK_LEN)),
            hasher: Sha256::new(),
            plain_len: 0,
            chunk: 0,
            failed: false,
        }
    }

    fn fail<T>(&mut self, e: OpenError) -> Result<T, OpenError> {
        self.failed = true;
        self.dec = None;
        Err(e)
    }

    fn parse_header(&mut self) -> Result<usize, OpenError> {
        if self.dec.is_some() {
            return Ok(0);
        }
        if self.buf.len() < HEADER_LEN {
            if self.buf.len() >= 4 && &self.buf[..4] != MAGIC {
                return self.fail(OpenError::BadMagic);
            }
            return Ok(0);
        }
        if &self.buf[..4] != MAGIC {
            return self.fail(OpenError::BadMagic);
        }
        if self.buf[4] != FORMAT_VERSION {
            let v = self.buf[4];
            return self.fail(OpenError::UnsupportedVersion(v));
        }
        let cipher = self.cipher.take().expect("header parsed once");
        self.dec = Some(DecryptorBE32::from_aead(
            cipher,
            self.buf[5..HEADER_LEN].into(),
        ));
        Ok(HEADER_LEN)
    }

    /// Decrypts what `data` completes, appending plaintext to `out`.
    pub fn update_into(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<(), OpenError> {
        if self.failed {
            return Err(OpenError::Poisoned);
        }
        self.buf.extend_from_slice(data);
        let mut pos = self.parse_header()?;
        if self.dec.is_none() {
            return Ok(());
        }
        // A chunk is decrypted as non-last only when more bytes follow it.
        while self.buf.len() - pos > SEALED_CHUNK_LEN {
            self.scratch.clear();
            self.scratch
                .extend_from_slice(&self.buf[pos..pos + SEALED_CHUNK_LEN]);
            let dec = self.dec.as_mut().expect("checked above");
            if dec
                .decrypt_next_in_place(&self.aad, &mut *self.scratch)
                .is_err()
            {
                let chunk = self.chunk;
                return self.fail(OpenError::ChunkAuthentication { chunk });
            }
            self.hasher.update(&self.scratch);
            self.plain_len += self.scratch.len() as u64;
            out.extend_from_slice(&self.scratch);
            self.chunk += 1;
            pos += SEALED_CHUNK_LEN;
        }
        self.buf.drain(..pos);
        Ok(())
    }

    pub fn update(&mut self, data: &[u8]) -> Result<Vec<u8>, OpenError> {
        let mut out = Vec::with_capacity(data.len() + SEALED_CHUNK_LEN);
        self.update_into(data, &mut out)?;
        Ok(out)
    }

    /// Decrypts the final chunk; returns the last plaintext bytes and the plaintext summary.
    pub fn finish(mut self) -> Result<(Vec<u8>, Sha256Digest, u64), OpenError> {
        if self.failed {
            return Err(OpenError::Poisoned);
        }
        let Some(dec) = self.dec.take() else {
            return Err(if self.buf.len() >= 4 && &self.buf[..4] != MAGIC {
                OpenError::BadMagic
            } else {
                OpenError::TruncatedHeader(self.buf.len())
            });
        };
        if self.buf.len() < TAG_LEN {
            return Err(OpenError::Truncated);
        }
        let mut last = std::mem::take(&mut self.buf);
        if dec.decrypt_last_in_place(&self.aad, &mut last).is_err() {
            // Either the final chunk was tampered with, or the real final chunk was cut off and
            // what is left is a non-last chunk.
            return Err(if last.len() == SEALED_CHUNK_LEN {
                OpenError::Truncated
            } else {
                OpenError::ChunkAuthentication { chunk: self.chunk }
            });
        }
        self.hasher.update(&last);
        self.plain_len += last.len() as u64;
        Ok((
            last,
            Sha256Digest(self.hasher.finalize().into()),
            self.plain_len,
        ))
    }

    /// Like [`Opener::finish`], and checks the plaintext against what was stored at sealing time.
    pub fn finish_verified(self, expected: &SealedSummary) -> Result<Vec<u8>, OpenError> {
        let (last, digest, len) = self.finish()?;
        if len != expected.plaintext_len {
            return Err(OpenError::LengthMismatch {
                expected: expected.plaintext_len,
                actual: len,
            });
        }
        if digest != expected.plaintext_sha256 {
            return Err(OpenError::DigestMismatch {
                expected: expected.plaintext_sha256,
                actual: digest,
            });
        }
        Ok(last)
    }
}

/// Seals an in-memory item (a manifest, a small file).
pub fn seal_bytes(
    key: &SealingKey,
    item: &ItemId,
    plaintext: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<(Vec<u8>, SealedSummary), SealError> {
    let mut sealer = Sealer::new(key, item, rng);
    let mut out = Vec::with_capacity(sealed_len(plaintext.len() as u64) as usize);
    sealer.update_into(plaintext, &mut out)?;
    let (tail, summary) = sealer.finish()?;
    out.extend_from_slice(&tail);
    Ok((out, summary))
}

/// Opens an in-memory sealed item; returns the plaintext and its SHA-256.
pub fn open_bytes(
    key: &OpeningKey,
    item: &ItemId,
    sealed: &[u8],
) -> Result<(Vec<u8>, Sha256Digest), OpenError> {
    let mut opener = Opener::new(key, item);
    let mut out = Vec::with_capacity(sealed.len());
    opener.update_into(sealed, &mut out)?;
    let (tail, digest, _) = opener.finish()?;
    out.extend_from_slice(&tail);
    Ok((out, digest))
}

/// Error of the blocking `Read`/`Write` adapters.
#[derive(Debug, thiserror::Error)]
pub enum StreamIoError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Open(#[from] OpenError),
}

/// Blocking adapter: seals everything `reader` yields into `writer`, one chunk at a time.
pub fn seal_stream(
    key: &SealingKey,
    item: &ItemId,
    rng: &mut impl CryptoRng,
    mut reader: impl Read,
    mut writer: impl Write,
) -> Result<SealedSummary, StreamIoError> {
    let mut sealer = Sealer::new(key, item, rng);
    let mut inbuf = vec![0u8; CHUNK_LEN];
    let mut out = Vec::with_capacity(2 * SEALED_CHUNK_LEN);
    loop {
        let n = match reader.read(&mut inbuf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        sealer.update_into(&inbuf[..n], &mut out)?;
        writer.write_all(&out)?;
        out.clear();
    }
    let (tail, summary) = sealer.finish()?;
    writer.write_all(&tail)?;
    writer.flush()?;
    Ok(summary)
}

/// Blocking adapter: opens `reader` into `writer` and verifies length and SHA-256 against
/// `expected`. On error, whatever was written must be discarded.
pub fn open_stream(
    key: &OpeningKey,
    item: &ItemId,
    expected: &SealedSummary,
    mut reader: impl Read,
    mut writer: impl Write,
) -> Result<(), StreamIoError> {
    let mut opener = Opener::new(key, item);
    let mut inbuf = vec![0u8; SEALED_CHUNK_LEN];
    let mut out = Vec::with_capacity(2 * SEALED_CHUNK_LEN);
    loop {
        let n = match reader.read(&mut inbuf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        opener.update_into(&inbuf[..n], &mut out)?;
        writer.write_all(&out)?;
        out.clear();
    }
    let tail = opener.finish_verified(expected)?;
    writer.write_all(&tail)?;
    writer.flush()?;
    Ok(())
}
