//! CUP (codice unico di progetto), the identifier of a public investment project (L. 3/2003 art. 11).

use super::{DIGIT, IdError, IdKind, UPPER_ALNUM, chars_of_len, expect_char, string_id};

/// A CUP: 15 upper-case characters, e.g. `J31B17000510007`.
///
/// The DIPE (Presidency of the Council of Ministers) does not publish a check character or a full
/// grammar of the code. What is checked is the layout every issued CUP shows: a letter, two digits, a
/// letter, two digits (the year of the decision), then 9 upper-case letters or digits. A text that passes
/// may still not be an issued CUP: only the CUP system (OpenCUP) can confirm that.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cup(String);

string_id!(Cup);

impl Cup {
    /// Parses a CUP.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const K: IdKind = IdKind::Cup;
        const LETTER: &str = "an upper-case letter";
        let c = chars_of_len(K, s, |n| n == 15, "15")?;
        let upper = |c: char| c.is_ascii_uppercase();
        let digit = |c: char| c.is_ascii_digit();
        expect_char(K, &c, 0, upper, LETTER)?;
        expect_char(K, &c, 1, digit, DIGIT)?;
        expect_char(K, &c, 2, digit, DIGIT)?;
        expect_char(K, &c, 3, upper, LETTER)?;
        expect_char(K, &c, 4, digit, "a digit (year of the decision)")?;
        expect_char(K, &c, 5, digit, "a digit (year of the decision)")?;
        for i in 6..15 {
            expect_char(K, &c, i, |c| upper(c) || digit(c), UPPER_ALNUM)?;
        }
        Ok(Cup(s.to_owned()))
    }

    /// The code's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The two-digit year of the decision (positions 5–6), e.g. 17 for 2017.
    pub fn decision_year(&self) -> u8 {
        let b = self.0.as_bytes();
        (b[4] - b'0') * 10 + (b[5] - b'0')
    }
}
