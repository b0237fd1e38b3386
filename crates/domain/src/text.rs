//! Free text from outside (names, objects, reasons, messages): the one rule on which characters it may
//! hold.
//!
//! Refused: control characters other than tab and newline (U+0000 cannot even be written in XML 1.0,
//! so an L.190 file or a verbale could not carry it; a carriage return or an escape sequence rewrites
//! what a terminal or a log shows), and the bidirectional embeddings, overrides and isolates
//! (U+202A–U+202E, U+2066–U+2069), which make a text read differently from the characters it holds
//! ("Trojan Source", CVE-2021-42574): a file name `fattura\u{202E}fdp.exe` shows as `fatturaexe.pdf`.

use std::{fmt, ops::Deref, str::FromStr};

/// Why a text was refused: the first offending character and its position (in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error(
        "control character U+{:04X} at position {at} is not allowed (only tab and newline are)",
        *.ch as u32
    )]
    Control { ch: char, at: usize },
    #[error(
        "bidirectional control character U+{:04X} at position {at} is not allowed",
        *.ch as u32
    )]
    Bidi { ch: char, at: usize },
}

/// Whether `c` is a bidirectional embedding, override or isolate (U+202A–U+202E, U+2066–U+2069).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Check `s` against the rule of this module.
pub fn check(s: &str) -> Result<(), TextError> {
    for (at, ch) in s.chars().enumerate() {
        if ch.is_control() && ch != '\t' && ch != '\n' {
            return Err(TextError::Control { ch, at });
        }
        if is_bidi_control(ch) {
            return Err(TextError::Bidi { ch, at });
        }
    }
    Ok(())
}

/// A free text that passed [`check`]. Parsing (`FromStr`, `TryFrom<String>`, serde) is the only way in.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for Text {
    type Error = TextError;
    fn try_from(s: String) -> Result<Self, TextError> {
        check(&s)?;
        Ok(Text(s))
    }
}

impl FromStr for Text {
    type Err = TextError;
    fn from_str(s: &str) -> Result<Self, TextError> {
        Text::try_from(s.to_owned())
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_newline_and_ordinary_unicode_pass() {
        for ok in [
            "",
            "Lavori di manutenzione\tstraordinaria\nvia Roma, 1",
            "Comune di Sant'Angelo Lodigiano — €",
            "مدرسة", // right-to-left script itself is fine: only the invisible controls are refused
            "\u{200F}", // RIGHT-TO-LEFT MARK is not an override
        ] {
            check(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    #[test]
    fn controls_and_bidi_overrides_are_refused_naming_the_character() {
        assert_eq!(
            check("a\u{0}b"),
            Err(TextError::Control { ch: '\0', at: 1 })
        );
        assert_eq!(check("ab\rc"), Err(TextError::Control { ch: '\r', at: 2 }));
        assert!(check("\u{7F}").is_err());
        assert!(check("\u{85}").is_err()); // C1 NEXT LINE
        for c in ('\u{202A}'..='\u{202E}').chain('\u{2066}'..='\u{2069}') {
            let s = format!("fattura{c}fdp.exe");
            assert_eq!(check(&s), Err(TextError::Bidi { ch: c, at: 7 }), "{s:?}");
        }
        let e = check("x\u{202E}").unwrap_err().to_string();
        assert!(e.contains("U+202E") && e.contains("position 1"), "{e}");
    }

    #[test]
    fn text_deserialises_only_when_valid() {
        let t: Text = serde_json::from_str(r#""Scuola \"Dante\"\n""#).unwrap();
        assert_eq!(t.as_str(), "Scuola \"Dante\"\n");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""Scuola \"Dante\"\n""#
        );
        let e = serde_json::from_str::<Text>(r#""a\u0000""#).unwrap_err();
        assert!(e.to_string().contains("U+0000"), "{e}");
        assert!(serde_json::from_str::<Text>(r#""\u202e""#).is_err());
        assert!("ok".parse::<Text>().is_ok());
    }
}
