//! Property tests for identifiers: parsing never panics, and what parses displays back to itself.

use domain::ids::{Cig, CodiceFiscale, Cpv, Cup, NutsCode, PartitaIva};
use proptest::prelude::*;

fn parse_all(s: &str) {
    if let Ok(v) = Cig::parse(s) {
        let shown = v.to_string();
        assert_eq!(Cig::parse(&shown).unwrap(), v);
        assert_eq!(v.as_str(), s, "CIG is never normalised");
    }
    if let Ok(v) = CodiceFiscale::parse(s) {
        let shown = v.to_string();
        assert_eq!(CodiceFiscale::parse(&shown).unwrap(), v);
        assert_eq!(v.as_str(), s.to_ascii_uppercase());
    }
    if let Ok(v) = PartitaIva::parse(s) {
        assert_eq!(v.as_str(), s);
    }
    if let Ok(v) = Cup::parse(s) {
        assert_eq!(v.as_str(), s);
    }
    if let Ok(v) = Cpv::parse(s) {
        assert_eq!(v.as_str(), s);
    }
    if let Ok(v) = NutsCode::parse(s) {
        assert_eq!(v.as_str(), s);
    }
}

/// A valid SmartCIG for a progressive number.
fn smart_cig(letter: char, n: u64) -> String {
    format!("{letter}{:02X}{n:07X}", n * 211 % 251)
}

/// A valid second-version CIG.
fn v2_cig(letter: char, n: u64) -> String {
    let ord = u64::from(letter) - u64::from('A') + 1;
    format!("{letter}{n:06X}{:03X}", (n + ord) * 211 % 4091)
}

/// The check digit of a numeric codice fiscale / partita IVA.
fn luhn_it(d: &[u32]) -> u32 {
    let s: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 0 {
                x
            } else if x * 2 > 9 {
                x * 2 - 9
            } else {
                x * 2
            }
        })
        .sum();
    (10 - s % 10) % 10
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_any_text(s in "\\PC{0,20}") {
        parse_all(&s);
    }

    #[test]
    fn never_panics_on_id_like_text(s in "[0-9A-Za-z\\-]{8,17}") {
        parse_all(&s);
    }

    #[test]
    fn generated_cigs_parse_and_any_single_change_is_refused(
        n in 1u64..0x0FFF_FFFF, letter in prop::sample::select(vec!['X', 'Y', 'Z']),
        v2 in prop::sample::select(('A'..='U').collect::<Vec<_>>()), m in 0u64..0xFF_FFFF,
        pos in 0usize..10, replacement in prop::sample::select(('0'..='9').chain('A'..='F').collect::<Vec<_>>())
    ) {
        for text in [smart_cig(letter, n), v2_cig(v2, m)] {
            let cig = Cig::parse(&text).unwrap();
            prop_assert_eq!(cig.to_string(), text.clone());
            let mut changed: Vec<char> = text.chars().collect();
            if pos > 0 && changed[pos] != replacement {
                changed[pos] = replacement;
                let changed: String = changed.into_iter().collect();
                // a single substituted hex digit always changes the check (211 is invertible mod 4091 and 251,
                // and a change in the check field itself is a mismatch)
                prop_assert!(Cig::parse(&changed).is_err(), "{} accepted", changed);
            }
        }
    }

    #[test]
    fn generated_partite_iva_parse_and_wrong_check_is_refused(digits in prop::collection::vec(0u32..10, 10), delta in 1u32..10) {
        let check = luhn_it(&digits);
        let text: String = digits.iter().chain([check].iter()).map(|d| char::from_digit(*d, 10).unwrap()).collect();
        let p = PartitaIva::parse(&text).unwrap();
        prop_assert_eq!(p.as_str(), text.as_str());
        prop_assert!(CodiceFiscale::parse(&text).is_ok());
        let wrong: String = digits.iter().chain([(check + delta) % 10].iter()).map(|d| char::from_digit(*d, 10).unwrap()).collect();
        prop_assert!(PartitaIva::parse(&wrong).is_err());
    }
}
