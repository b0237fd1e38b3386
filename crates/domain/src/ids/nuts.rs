//! NUTS territorial codes (Italy).

use super::{IdError, IdKind, UPPER_ALNUM, chars_of_len, expect_char, string_id};

/// An Italian NUTS code: `IT` followed by 1 to 3 upper-case letters or digits, e.g. `ITC` (NUTS 1),
/// `ITC1` (NUTS 2), `ITC11` (NUTS 3, Provincia di Torino), and the extra-regio code `ITZZZ`.
///
/// Only the shape is checked, not that the code is in the current NUTS classification (which changes
/// every few years).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NutsCode(String);

string_id!(NutsCode);

impl NutsCode {
    /// Parses an Italian NUTS code.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const K: IdKind = IdKind::NutsCode;
        let c = chars_of_len(K, s, |n| (3..=5).contains(&n), "3 to 5")?;
        expect_char(K, &c, 0, |c| c == 'I', "'I' (Italian codes start with IT)")?;
        expect_char(K, &c, 1, |c| c == 'T', "'T' (Italian codes start with IT)")?;
        for i in 2..c.len() {
            expect_char(
                K,
                &c,
                i,
                |c| c.is_ascii_uppercase() || c.is_ascii_digit(),
                UPPER_ALNUM,
            )?;
        }
        Ok(NutsCode(s.to_owned()))
    }

    /// The code's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The NUTS level: 1 (`ITC`), 2 (`ITC1`) or 3 (`ITC11`).
    pub fn level(&self) -> u8 {
        (self.0.len() - 2) as u8
    }
}
