//! CPV codes (Common Procurement Vocabulary, Regulation (EC) 213/2008).

use super::{DIGIT, IdError, IdKind, chars_of_len, expect_char, string_id};

/// The 45 divisions (first two digits) of the CPV 2008 main vocabulary.
pub const CPV_DIVISIONS: [u8; 45] = [
    3, 9, 14, 15, 16, 18, 19, 22, 24, 30, 31, 32, 33, 34, 35, 37, 38, 39, 41, 42, 43, 44, 45, 48,
    50, 51, 55, 60, 63, 64, 65, 66, 70, 71, 72, 73, 75, 76, 77, 79, 80, 85, 90, 92, 98,
];

/// A CPV main-vocabulary code as published: 8 digits, a hyphen and a check digit, e.g. `45000000-7`.
///
/// Checked: the shape `NNNNNNNN-C` and that the division (first two digits) is one of the 45 divisions of
/// CPV 2008 ([`CPV_DIVISIONS`]).
///
/// **Not checked: the check digit.** Its algorithm is not published by the EU Publications Office. Most codes
/// of the vocabulary satisfy a weighted sum (weights 3,7,1,3,7,1,3,7, modulo 10), but the official list
/// itself contains codes that do not (all of division 09, e.g. `09310000-5` Electricity, and later additions
/// such as `38941000-7` … `38947000-7`, which all end in 7). Verifying a reverse-engineered rule would refuse
/// real codes, so the check digit is only required to be a digit; membership in the vocabulary needs the
/// code list itself, which this crate does not embed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cpv(String);

string_id!(Cpv);

impl Cpv {
    /// Parses `NNNNNNNN-C`.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const K: IdKind = IdKind::Cpv;
        let c = chars_of_len(K, s, |n| n == 10, "10 (NNNNNNNN-C)")?;
        for i in (0..8).chain([9]) {
            expect_char(K, &c, i, |c| c.is_ascii_digit(), DIGIT)?;
        }
        expect_char(K, &c, 8, |c| c == '-', "'-' before the check digit")?;
        let division = (c[0] as u8 - b'0') * 10 + (c[1] as u8 - b'0');
        if !CPV_DIVISIONS.contains(&division) {
            return Err(IdError::Format {
                kind: K,
                reason: format!("{division:02} is not a CPV 2008 division"),
            });
        }
        Ok(Cpv(s.to_owned()))
    }

    /// The full code, `NNNNNNNN-C`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 8 digits without the check digit.
    pub fn code(&self) -> &str {
        &self.0[..8]
    }

    /// The division: the first two digits (e.g. 45 for construction work).
    pub fn division(&self) -> u8 {
        let b = self.0.as_bytes();
        (b[0] - b'0') * 10 + (b[1] - b'0')
    }

    /// Whether the code is in division 45 (construction work).
    pub fn is_works(&self) -> bool {
        self.division() == 45
    }
}
