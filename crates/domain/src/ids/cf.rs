//! Codice fiscale (personal and numeric) and partita IVA.

use super::{DIGIT, IdError, IdKind, chars_of_len, expect_char, string_id};

/// A codice fiscale: the 16-character code of a natural person or the 11-digit numeric code of a company,
/// association or public body.
///
/// Lower-case letters are accepted and normalised to upper case (the Agenzia delle Entrate's own check
/// program is case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodiceFiscale {
    Person(PersonalCode),
    Numeric(NumericCode),
}

/// The 16-character codice fiscale of a natural person, check letter verified.
///
/// Layout: 3 letters (surname), 3 letters (name), 2 year digits, month letter (`ABCDEHLMPRST`), 2 day digits
/// (01–31, women 41–71), a letter and 3 digits (Belfiore code of the comune or foreign state), check letter.
/// In case of omocodia any of the 7 digits may be replaced by the letters `LMNPQRSTUV` (for 0–9); the day is
/// checked after decoding them. Not checked: that the Belfiore code exists, that the day exists in that
/// month, and that omocodia substitutions were made from the right as the Agenzia issues them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PersonalCode(String);

/// The 11-digit numeric codice fiscale (companies, associations, public bodies), check digit verified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumericCode(String);

/// A partita IVA: 11 digits, the last a check digit (same algorithm as the numeric codice fiscale).
///
/// Only the check digit is verified; the provincial office code (digits 8–10) is not checked against the
/// list of offices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitaIva(String);

string_id!(CodiceFiscale);
string_id!(PersonalCode);
string_id!(NumericCode);
string_id!(PartitaIva);

const OMOCODIA: [char; 10] = ['L', 'M', 'N', 'P', 'Q', 'R', 'S', 'T', 'U', 'V'];
const MONTHS: &str = "ABCDEHLMPRST";
/// 0-based positions of the seven digits that omocodia may replace.
const NUMERIC_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
/// Values of characters in odd (1-based) positions, for 0-9 then A-Z (0 and A share a value, etc.).
const ODD_VALUES: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// Value of an alphanumeric character in the check computation: digits map to A-J.
fn base_index(c: char) -> usize {
    match c {
        '0'..='9' => c as usize - '0' as usize,
        _ => c as usize - 'A' as usize,
    }
}

fn omocodia_digit(c: char) -> Option<u32> {
    c.to_digit(10)
        .or_else(|| OMOCODIA.iter().position(|&o| o == c).map(|p| p as u32))
}

/// The check letter of the first 15 characters of a personal code (Agenzia delle Entrate's odd/even tables).
fn person_check(chars: &[char]) -> char {
    let sum: u32 = chars[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                ODD_VALUES[base_index(c)]
            } else {
                base_index(c) as u32
            }
        })
        .sum();
    char::from(b'A' + (sum % 26) as u8)
}

/// The check digit of the first 10 digits of a numeric code or partita IVA.
fn numeric_check(digits: &[u32]) -> u32 {
    let sum: u32 = digits[..10]
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    (10 - sum % 10) % 10
}

fn parse_numeric(kind: IdKind, s: &str) -> Result<String, IdError> {
    let c = chars_of_len(kind, s, |n| n == 11, "11")?;
    for i in 0..11 {
        expect_char(kind, &c, i, |c| c.is_ascii_digit(), DIGIT)?;
    }
    let digits: Vec<u32> = c.iter().filter_map(|c| c.to_digit(10)).collect();
    let expected = numeric_check(&digits);
    if expected != digits[10] {
        return Err(IdError::CheckDigit {
            kind,
            expected: expected.to_string(),
            found: digits[10].to_string(),
        });
    }
    Ok(s.to_owned())
}

impl PersonalCode {
    /// Parses a 16-character personal codice fiscale (lower case accepted, normalised to upper case).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        const K: IdKind = IdKind::CodiceFiscale;
        let c: Vec<char> = chars_of_len(K, s, |n| n == 16, "16")?
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let letter = |c: char| c.is_ascii_uppercase();
        const LETTER: &str = "a letter";
        for i in 0..6 {
            expect_char(K, &c, i, letter, LETTER)?;
        }
        const NUM: &str = "a digit or an omocodia letter (L M N P Q R S T U V)";
        for &i in &NUMERIC_POSITIONS {
            expect_char(K, &c, i, |c| omocodia_digit(c).is_some(), NUM)?;
        }
        expect_char(
            K,
            &c,
            8,
            |c| MONTHS.contains(c),
            "a month letter (A B C D E H L M P R S T)",
        )?;
        expect_char(K, &c, 11, letter, LETTER)?;
        expect_char(K, &c, 15, letter, LETTER)?;
        let day = omocodia_digit(c[9]).unwrap_or(0) * 10 + omocodia_digit(c[10]).unwrap_or(0);
        if !(1..=31).contains(&day) && !(41..=71).contains(&day) {
            return Err(IdError::Format {
                kind: K,
                reason: format!("day of birth {day:02} is not in 01-31 or 41-71"),
            });
        }
        let expected = person_check(&c);
        if expected != c[15] {
            return Err(IdError::CheckDigit {
                kind: K,
                expected: expected.to_string(),
                found: c[15].to_string(),
            });
        }
        Ok(PersonalCode(c.into_iter().collect()))
    }

    /// The canonical (upper-case) text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl NumericCode {
    /// Parses an 11-digit numeric codice fiscale, verifying its check digit.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        parse_numeric(IdKind::CodiceFiscale, s).map(NumericCode)
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartitaIva {
    /// Parses an 11-digit partita IVA, verifying its check digit.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        parse_numeric(IdKind::PartitaIva, s).map(PartitaIva)
    }

    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl CodiceFiscale {
    /// Parses a codice fiscale: 16 characters (person) or 11 digits (numeric).
    pub fn parse(s: &str) -> Result<Self, IdError> {
        match s.chars().count() {
            16 => PersonalCode::parse(s).map(CodiceFiscale::Person),
            11 => NumericCode::parse(s).map(CodiceFiscale::Numeric),
            found => Err(IdError::Length {
                kind: IdKind::CodiceFiscale,
                expected: "16 or 11",
                found,
            }),
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        match self {
            CodiceFiscale::Person(p) => p.as_str(),
            CodiceFiscale::Numeric(n) => n.as_str(),
        }
    }

    /// Whether this is the code of a natural person.
    pub fn is_person(&self) -> bool {
        matches!(self, CodiceFiscale::Person(_))
    }
}

/// The numeric codice fiscale with the same digits as a partita IVA (a company's codice fiscale usually
/// equals its partita IVA; the check algorithm is the same).
impl From<PartitaIva> for NumericCode {
    fn from(p: PartitaIva) -> Self {
        NumericCode(p.0)
    }
}

impl From<PartitaIva> for CodiceFiscale {
    fn from(p: PartitaIva) -> Self {
        CodiceFiscale::Numeric(p.into())
    }
}

impl From<PersonalCode> for CodiceFiscale {
    fn from(p: PersonalCode) -> Self {
        CodiceFiscale::Person(p)
    }
}

impl From<NumericCode> for CodiceFiscale {
    fn from(n: NumericCode) -> Self {
        CodiceFiscale::Numeric(n)
    }
}
