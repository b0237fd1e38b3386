//! What a ciphertext is bound to: the tender, lot, bid, envelope kind, bid version and item.
//!
//! Every AEAD operation of this crate authenticates a byte string built here as associated data,
//! so a ciphertext (or a wrapped data key) copied into another bid, lot, envelope or version fails
//! to open.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Error for identifiers that cannot be used as binding context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: longer than {max} bytes")]
    TooLong { field: &'static str, max: usize },
    #[error(
        "{field}: character {ch:?} not allowed (use ASCII letters, digits, '-', '_', '.', ':', '/')"
    )]
    BadChar { field: &'static str, ch: char },
}

fn check_id(field: &'static str, s: &str, max: usize, extra: &[char]) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { field });
    }
    if s.len() > max {
        return Err(IdError::TooLong { field, max });
    }
    if let Some(ch) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || extra.contains(c)))
    {
        return Err(IdError::BadChar { field, ch });
    }
    Ok(())
}

/// An opaque identifier of a tender, lot, bid, operator or stored file, as the service knows it
/// (a UUID, a CIG, a codice fiscale...). Holds 1..=128 bytes of `[A-Za-z0-9-_.:/]`.
///
/// This crate does not interpret the identifier; the service converts its typed ids to this.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContextId(String);

impl ContextId {
    pub const MAX_LEN: usize = 128;

    /// Parses an identifier; `field` names it in the error.
    pub fn parse_field(field: &'static str, s: &str) -> Result<Self, IdError> {
        check_id(field, s, Self::MAX_LEN, &['.', ':', '/'])?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ContextId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse_field("id", &s)
    }
}

impl std::str::FromStr for ContextId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse_field("id", s)
    }
}

impl From<ContextId> for String {
    fn from(id: ContextId) -> String {
        id.0
    }
}

impl fmt::Display for ContextId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifier of a key (KEK or receipt signing key): 1..=64 bytes of `[A-Za-z0-9-_]`.
/// No dots, so it can sit inside the dotted text form of a [`crate::WrappedKey`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    pub const MAX_LEN: usize = 64;

    pub fn parse_field(field: &'static str, s: &str) -> Result<Self, IdError> {
        check_id(field, s, Self::MAX_LEN, &[])?;
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse_field("key_id", &s)
    }
}

impl std::str::FromStr for KeyId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse_field("key_id", s)
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> String {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The three envelopes (buste) of a bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvelopeKind {
    /// Busta A: documentazione amministrativa (DGUE, declarations).
    Administrative,
    /// Busta B: offerta tecnica (only for quality-price award).
    Technical,
    /// Busta C: offerta economica (ribasso or price, and its documents).
    Economic,
}

impl EnvelopeKind {
    pub const ALL: [EnvelopeKind; 3] = [Self::Administrative, Self::Technical, Self::Economic];

    /// The letter used in Italian practice: A, B, C.
    pub fn letter(self) -> char {
        match self {
            Self::Administrative => 'A',
            Self::Technical => 'B',
            Self::Economic => 'C',
        }
    }
}

impl fmt::Display for EnvelopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Administrative => "busta A (administrative)",
            Self::Technical => "busta B (technical)",
            Self::Economic => "busta C (economic)",
        };
        f.write_str(name)
    }
}

/// One envelope of one version of one bid: the binding context of its data key and content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EnvelopeContext {
    pub tender: ContextId,
    pub lot: ContextId,
    pub bid: ContextId,
    pub kind: EnvelopeKind,
    /// Version of the bid (1 for the first submission, +1 at each replacement).
    pub version: u32,
}

/// An item sealed inside an envelope: its manifest (structured data + file list) or one file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemId {
    Manifest,
    File(ContextId),
}

const DOMAIN: &[u8] = b"sua-sealing/v1";

fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    // Length-prefixed, so no two different contexts encode to the same bytes.
    let len = u32::try_from(bytes.len()).expect("context fields are bounded to 128 bytes");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

impl EnvelopeContext {
    fn encode(&self, purpose: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 3 * ContextId::MAX_LEN);
        push_field(&mut out, DOMAIN);
        push_field(&mut out, purpose);
        push_field(&mut out, self.tender.as_str().as_bytes());
        push_field(&mut out, self.lot.as_str().as_bytes());
        push_field(&mut out, self.bid.as_str().as_bytes());
        push_field(&mut out, &[self.kind.letter() as u8]);
        push_field(&mut out, &self.version.to_be_bytes());
        out
    }

    /// Associated data for wrapping this envelope's data key under the KEK `kek`.
    pub(crate) fn wrap_aad(&self, kek: &KeyId) -> Vec<u8> {
        let mut out = self.encode(b"dek-wrap");
        push_field(&mut out, kek.as_str().as_bytes());
        out
    }

    /// Associated data for every chunk of `item` in this envelope.
    pub(crate) fn item_aad(&self, item: &ItemId) -> Vec<u8> {
        let mut out = self.encode(b"item");
        match item {
            ItemId::Manifest => push_field(&mut out, b"manifest"),
            ItemId::File(id) => {
                push_field(&mut out, b"file");
                push_field(&mut out, id.as_str().as_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ContextId {
        s.parse().unwrap()
    }

    #[test]
    fn ids_refuse_empty_long_and_odd_characters_naming_the_field() {
        assert_eq!(
            ContextId::parse_field("tender", ""),
            Err(IdError::Empty { field: "tender" })
        );
        assert!(matches!(
            ContextId::parse_field("lot", &"x".repeat(129)),
            Err(IdError::TooLong { field: "lot", .. })
        ));
        assert_eq!(
            ContextId::parse_field("bid", "a|b"),
            Err(IdError::BadChar {
                field: "bid",
                ch: '|'
            })
        );
        assert!(ContextId::parse_field("bid", "2026/001:Z1A2B3C4D5").is_ok());
        assert!(matches!(
            KeyId::parse_field("kek", "a.b"),
            Err(IdError::BadChar { ch: '.', .. })
        ));
        let err = serde_json::from_str::<ContextId>("\"\"").unwrap_err();
        assert!(err.to_string().contains("must not be empty"));
    }

    #[test]
    fn every_context_field_changes_the_associated_data() {
        let base = EnvelopeContext {
            tender: id("t1"),
            lot: id("l1"),
            bid: id("b1"),
            kind: EnvelopeKind::Economic,
            version: 1,
        };
        let item = ItemId::File(id("f1"));
        let a = base.item_aad(&item);
        let variants = [
            EnvelopeContext {
                tender: id("t2"),
                ..base.clone()
            },
            EnvelopeContext {
                lot: id("l2"),
                ..base.clone()
            },
            EnvelopeContext {
                bid: id("b2"),
                ..base.clone()
            },
            EnvelopeContext {
                kind: EnvelopeKind::Technical,
                ..base.clone()
            },
            EnvelopeContext {
                version: 2,
                ..base.clone()
            },
        ];
        for v in &variants {
            assert_ne!(v.item_aad(&item), a, "{v:?}");
        }
        assert_ne!(base.item_aad(&ItemId::File(id("f2"))), a);
        assert_ne!(base.item_aad(&ItemId::Manifest), a);
        // Length prefixes: moving a character from one field to the next changes the bytes.
        let shifted = EnvelopeContext {
            tender: id("t1l"),
            lot: id("1"),
            ..base.clone()
        };
        let unshifted = EnvelopeContext {
            tender: id("t1"),
            lot: id("l1"),
            ..base.clone()
        };
        assert_ne!(shifted.item_aad(&item), unshifted.item_aad(&item));
        // Wrapping and item data never share associated data.
        let kek: KeyId = "k1".parse().unwrap();
        assert_ne!(base.wrap_aad(&kek), a);
        assert_ne!(base.wrap_aad(&kek), base.wrap_aad(&"k2".parse().unwrap()));
    }
}
