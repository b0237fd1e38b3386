//! CIG (codice identificativo gara), ANAC's lot identifier.

use super::{HEX, IdError, IdKind, chars_of_len, expect_char, string_id};

/// Which of ANAC's three CIG formats a [`Cig`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CigKind {
    /// SIMOG first version: `A NNNNNN KKK`, `A` a digit; `KKK` = hex(ANNNNNN × 211 mod 4091).
    SimogV1,
    /// SIMOG second version and PCP: `A NNNNNN KKK`, `A` in `A..=U`, `NNNNNN` hexadecimal;
    /// `KKK` = hex((NNNNNN + ord(A)) × 211 mod 4091), with `ord(A)` = 1 … `ord(U)` = 21.
    SimogV2,
    /// SmartCIG: `A KK CCCCCCC`, `A` in `X, Y, Z`, `CCCCCCC` hexadecimal and not all zeros;
    /// `KK` = hex(CCCCCCC × 211 mod 251).
    SmartCig,
}

/// A CIG in one of the three formats of ANAC's published validation algorithm (repository
/// `anticorruzione/npa`, `docs/Algoritmo validazione CIG`), check characters verified.
///
/// Exactly 10 characters, upper case (check characters are written as zero-padded upper-case hex).
/// Also refused: a first-version progressive `ANNNNNN` of zero and a SmartCIG progressive of zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cig(String);

string_id!(Cig);

const K: IdKind = IdKind::Cig;

fn is_hex(c: char) -> bool {
    c.is_ascii_digit() || ('A'..='F').contains(&c)
}

fn hex_value(chars: &[char]) -> u64 {
    chars.iter().fold(0, |acc, c| {
        acc * 16 + u64::from(c.to_digit(16).unwrap_or(0))
    })
}

fn check(kind: IdKind, chars: &[char], expected: u64, width: usize) -> Result<(), IdError> {
    let expected = format!("{expected:0width$X}");
    let found: String = chars.iter().collect();
    if expected == found {
        Ok(())
    } else {
        Err(IdError::CheckDigit {
            kind,
            expected,
            found,
        })
    }
}

impl Cig {
    /// Parses a CIG, verifying its check characters.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let c = chars_of_len(K, s, |n| n == 10, "10")?;
        match c[0] {
            '0'..='9' => {
                for i in 1..7 {
                    expect_char(K, &c, i, |c| c.is_ascii_digit(), super::DIGIT)?;
                }
                for i in 7..10 {
                    expect_char(K, &c, i, is_hex, HEX)?;
                }
                let p: u64 = c[..7].iter().fold(0, |acc, c| {
                    acc * 10 + u64::from(c.to_digit(10).unwrap_or(0))
                });
                if p == 0 {
                    return Err(IdError::Format {
                        kind: K,
                        reason: "first-version progressive number 0000000 is not issued".into(),
                    });
                }
                check(K, &c[7..], p * 211 % 4091, 3)?;
            }
            'A'..='U' => {
                for i in 1..10 {
                    expect_char(K, &c, i, is_hex, HEX)?;
                }
                let ord = u64::from(c[0]) - u64::from('A') + 1;
                let n = hex_value(&c[1..7]);
                check(K, &c[7..], (n + ord) * 211 % 4091, 3)?;
            }
            'X' | 'Y' | 'Z' => {
                for i in 1..10 {
                    expect_char(K, &c, i, is_hex, HEX)?;
                }
                let n = hex_value(&c[3..]);
                if n == 0 {
                    return Err(IdError::Format {
                        kind: K,
                        reason: "SmartCIG progressive number 0000000 is not issued".into(),
                    });
                }
                check(K, &c[1..3], n * 211 % 251, 2)?;
            }
            _ => {
                return Err(IdError::Character {
                    kind: K,
                    position: 1,
                    found: c[0],
                    expected: "a digit, an upper-case letter A-U, or X, Y, Z",
                });
            }
        }
        Ok(Cig(c.into_iter().collect()))
    }

    /// The canonical text of the CIG.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Which of the three formats this CIG has.
    pub fn kind(&self) -> CigKind {
        match self.0.as_bytes()[0] {
            b'0'..=b'9' => CigKind::SimogV1,
            b'X' | b'Y' | b'Z' => CigKind::SmartCig,
            _ => CigKind::SimogV2,
        }
    }
}
