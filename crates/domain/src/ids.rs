//! Identifiers of Italian public procurement, as types that can only hold valid values.
//!
//! Every type here parses from text (`parse`, [`FromStr`](std::str::FromStr), `TryFrom<String>`, serde),
//! displays back to its canonical text, and refuses anything else with an [`IdError`] naming the type and
//! the rule broken (length, character at a position, check character, format). No input makes a parser
//! panic (property-tested).
//!
//! Input is never trimmed. Lower-case letters are accepted (and normalised to upper case) only for the
//! codice fiscale, whose official check program is case-insensitive; every other code must be written
//! exactly in its official form.
//!
//! | type | rule checked |
//! |---|---|
//! | [`Cig`] | the three ANAC formats and their check characters (ANAC's published algorithm) |
//! | [`CodiceFiscale`] | 16-char personal code (omocodia allowed, check letter) or 11-digit numeric code (check digit) |
//! | [`PartitaIva`] | 11 digits, check digit |
//! | [`Cup`] | 15 chars, the published layout (see [`Cup`]); no check character exists |
//! | [`Cpv`] | `NNNNNNNN-C`, a CPV 2008 division; the check digit is *not* verified (no published algorithm, see [`Cpv`]) |
//! | [`NutsCode`] | `IT` + 1 to 3 upper-case alphanumerics |

mod cf;
mod cig;
mod cpv;
mod cup;
mod nuts;

pub use cf::{CodiceFiscale, NumericCode, PartitaIva, PersonalCode};
pub use cig::{Cig, CigKind};
pub use cpv::{CPV_DIVISIONS, Cpv};
pub use cup::Cup;
pub use nuts::NutsCode;

use std::fmt;

/// Which identifier an [`IdError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Cig,
    CodiceFiscale,
    PartitaIva,
    Cup,
    Cpv,
    NutsCode,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Cig => "CIG",
            IdKind::CodiceFiscale => "codice fiscale",
            IdKind::PartitaIva => "partita IVA",
            IdKind::Cup => "CUP",
            IdKind::Cpv => "CPV code",
            IdKind::NutsCode => "NUTS code",
        })
    }
}

/// Why a text is not a valid identifier. Positions are 1-based and count characters, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind}: expected {expected} characters, found {found}")]
    Length {
        kind: IdKind,
        /// The accepted length(s), e.g. `"10"` or `"16 or 11"`.
        expected: &'static str,
        found: usize,
    },
    #[error("{kind}: invalid character {found:?} at position {position}, expected {expected}")]
    Character {
        kind: IdKind,
        position: usize,
        found: char,
        /// What may stand at that position, e.g. `"a hexadecimal digit (0-9, A-F)"`.
        expected: &'static str,
    },
    #[error("{kind}: wrong check character: expected {expected}, found {found}")]
    CheckDigit {
        kind: IdKind,
        expected: String,
        found: String,
    },
    #[error("{kind}: {reason}")]
    Format { kind: IdKind, reason: String },
}

/// Checks the character count of `s` against `ok` and returns the chars.
pub(crate) fn chars_of_len(
    kind: IdKind,
    s: &str,
    ok: impl Fn(usize) -> bool,
    expected: &'static str,
) -> Result<Vec<char>, IdError> {
    let chars: Vec<char> = s.chars().collect();
    if ok(chars.len()) {
        Ok(chars)
    } else {
        Err(IdError::Length {
            kind,
            expected,
            found: chars.len(),
        })
    }
}

/// Refuses the character at 0-based index `i` if it fails `ok`.
pub(crate) fn expect_char(
    kind: IdKind,
    chars: &[char],
    i: usize,
    ok: impl Fn(char) -> bool,
    expected: &'static str,
) -> Result<(), IdError> {
    if ok(chars[i]) {
        Ok(())
    } else {
        Err(IdError::Character {
            kind,
            position: i + 1,
            found: chars[i],
            expected,
        })
    }
}

pub(crate) const DIGIT: &str = "a digit (0-9)";
pub(crate) const HEX: &str = "an upper-case hexadecimal digit (0-9, A-F)";
pub(crate) const UPPER_ALNUM: &str = "an upper-case letter or a digit";

/// Implements the common string-backed traits for an identifier that has
/// `fn parse(&str) -> Result<Self, IdError>` and `fn as_str(&self) -> &str`.
macro_rules! string_id {
    ($t:ty) => {
        impl ::std::str::FromStr for $t {
            type Err = $crate::ids::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
        impl ::std::convert::TryFrom<String> for $t {
            type Error = $crate::ids::IdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl ::std::convert::TryFrom<&str> for $t {
            type Error = $crate::ids::IdError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                Self::parse(s)
            }
        }
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.as_str().to_owned()
            }
        }
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_id;
