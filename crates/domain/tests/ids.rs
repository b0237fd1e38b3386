//! Identifier parsing on real examples (the ANAC samples in `fixtures/anac/samples`) and on hand-picked refusals.

use domain::ids::{
    Cig, CigKind, CodiceFiscale, Cpv, Cup, IdError, IdKind, NutsCode, PartitaIva, PersonalCode,
};
use std::collections::BTreeSet;

fn samples_dir() -> String {
    format!("{}/../../fixtures/anac/samples", env!("CARGO_MANIFEST_DIR"))
}

/// All texts of `<tag>…</tag>` elements in the real (non-handwritten) ANAC sample datasets.
fn real_sample_values(tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    for file in [
        "sito-interporto-torino-2021-10lotti.xml",
        "sito-interporto-torino-2022-1220lotti.xml",
    ] {
        let path = format!("{}/{file}", samples_dir());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        let mut rest = text.as_str();
        while let Some(start) = rest.find(&open) {
            rest = &rest[start + open.len()..];
            let end = rest.find(&close).expect("closing tag");
            out.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    out
}

/// The four CIGs that cig.md reports as typos in the published files.
const CIG_TYPOS: [&str; 4] = ["X79OD48F4B", "XFA15687FA", "Z3DZ6A3041", "867656826G"];

#[test]
fn real_cigs_parse_except_the_known_typos() {
    let cigs = real_sample_values("cig");
    assert_eq!(cigs.len(), 1230);
    let mut v1 = 0;
    let mut smart = 0;
    for cig in &cigs {
        if CIG_TYPOS.contains(&cig.as_str()) {
            continue;
        }
        let parsed = Cig::parse(cig).unwrap_or_else(|e| panic!("{cig}: {e}"));
        assert_eq!(parsed.as_str(), cig);
        match parsed.kind() {
            CigKind::SimogV1 => v1 += 1,
            CigKind::SmartCig => smart += 1,
            CigKind::SimogV2 => {}
        }
    }
    // cig.md: 62 of 63 first-version and 1,164 of 1,167 SmartCIGs pass.
    assert_eq!((v1, smart), (62, 1164));
    for typo in CIG_TYPOS {
        assert!(cigs.iter().any(|c| c == typo), "{typo} is in the samples");
        assert!(Cig::parse(typo).is_err(), "{typo}");
    }
}

#[test]
fn cig_typos_are_refused_with_the_rule_they_break() {
    // a letter O where a hex digit must stand
    assert!(matches!(
        Cig::parse("X79OD48F4B"),
        Err(IdError::Character {
            kind: IdKind::Cig,
            position: 4,
            found: 'O',
            ..
        })
    ));
    assert!(matches!(
        Cig::parse("Z3DZ6A3041"),
        Err(IdError::Character {
            position: 4,
            found: 'Z',
            ..
        })
    ));
    // a G in a first-version check field
    assert!(matches!(
        Cig::parse("867656826G"),
        Err(IdError::Character {
            position: 10,
            found: 'G',
            ..
        })
    ));
    // well-formed but wrong check characters
    match Cig::parse("XFA15687FA") {
        Err(IdError::CheckDigit {
            kind: IdKind::Cig,
            expected,
            found,
        }) => {
            assert_eq!(found, "FA");
            assert_ne!(expected, found);
            assert_eq!(expected.len(), 2);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cig_check_characters_follow_anac_algorithm() {
    // First version 4823962B5D from the 2021 sample: 4823962 × 211 mod 4091 = 0xB5D.
    assert_eq!(4_823_962u64 * 211 % 4091, 0xB5D);
    let c = Cig::parse("4823962B5D").unwrap();
    assert_eq!(c.kind(), CigKind::SimogV1);
    // Second version: built from the rule, (N + ord(A)) × 211 mod 4091.
    let n = 0x1A2B3Cu64;
    for (letter, ord) in [('A', 1u64), ('J', 10), ('U', 21)] {
        let check = (n + ord) * 211 % 4091;
        let text = format!("{letter}1A2B3C{check:03X}");
        let cig = Cig::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(cig.kind(), CigKind::SimogV2);
        let wrong = format!("{letter}1A2B3C{:03X}", (check + 1) % 4091);
        assert!(matches!(
            Cig::parse(&wrong),
            Err(IdError::CheckDigit { .. })
        ));
    }
    // V is not a second-version letter, and not a SmartCIG letter.
    assert!(matches!(
        Cig::parse("V1A2B3C000"),
        Err(IdError::Character {
            position: 1,
            found: 'V',
            ..
        })
    ));
    // SmartCIG from the 2022 sample
    assert_eq!(Cig::parse("Z9B3522E08").unwrap().kind(), CigKind::SmartCig);
    // zero progressives are not issued
    assert!(matches!(
        Cig::parse("0000000000"),
        Err(IdError::Format { .. })
    ));
    assert!(matches!(
        Cig::parse("X000000000"),
        Err(IdError::Format { .. })
    ));
    // strict: lower case, spaces, wrong length
    assert!(matches!(
        Cig::parse("z9b3522e08"),
        Err(IdError::Character { position: 1, .. })
    ));
    assert!(matches!(
        Cig::parse(" Z9B3522E08"),
        Err(IdError::Length {
            expected: "10",
            found: 11,
            ..
        })
    ));
    assert!(matches!(
        Cig::parse(""),
        Err(IdError::Length { found: 0, .. })
    ));
}

#[test]
fn real_numeric_codici_fiscali_parse() {
    let cfs: BTreeSet<String> = real_sample_values("codiceFiscale")
        .into_iter()
        .chain(real_sample_values("codiceFiscaleProp"))
        .collect();
    assert!(cfs.len() > 200);
    for cf in &cfs {
        let parsed = CodiceFiscale::parse(cf).unwrap_or_else(|e| panic!("{cf}: {e}"));
        assert!(!parsed.is_person());
        assert_eq!(parsed.to_string(), *cf);
        // a company's numeric code passes the same check as a partita IVA
        PartitaIva::parse(cf).unwrap();
    }
}

#[test]
fn invented_numeric_codes_of_the_handwritten_sample_fail_their_check_digit() {
    // handwritten-valid-dataset.xml uses pattern-valid but invented codes
    assert_eq!(
        CodiceFiscale::parse("01234567890"),
        Err(IdError::CheckDigit {
            kind: IdKind::CodiceFiscale,
            expected: "7".into(),
            found: "0".into()
        })
    );
    assert!(matches!(
        PartitaIva::parse("09876543210"),
        Err(IdError::CheckDigit {
            kind: IdKind::PartitaIva,
            ..
        })
    ));
    assert_eq!(
        PartitaIva::parse("01234567897").unwrap().as_str(),
        "01234567897"
    );
}

#[test]
fn personal_codice_fiscale_check_letter_and_omocodia() {
    let cf = CodiceFiscale::parse("RSSMRA80A01H501U").unwrap();
    assert!(cf.is_person());
    // lower case accepted and normalised
    assert_eq!(CodiceFiscale::parse("rssmra80a01h501u").unwrap(), cf);
    assert_eq!(cf.to_string(), "RSSMRA80A01H501U");
    // wrong check letter
    assert_eq!(
        CodiceFiscale::parse("RSSMRA80A01H501A"),
        Err(IdError::CheckDigit {
            kind: IdKind::CodiceFiscale,
            expected: "U".into(),
            found: "A".into()
        })
    );
    // omocodia: the last digit 1 replaced by M; the check letter changes accordingly
    let omo = PersonalCode::parse("RSSMRA80A01H50MF");
    let expected = match PersonalCode::parse("RSSMRA80A01H50MA") {
        Err(IdError::CheckDigit { expected, .. }) => expected,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        omo.is_ok(),
        expected == "F",
        "{omo:?} / expected {expected}"
    );
    let omo = PersonalCode::parse(&format!("RSSMRA80A01H50M{expected}")).unwrap();
    assert_eq!(omo.as_str().len(), 16);
    // a letter outside LMNPQRSTUV where a digit stands
    assert!(matches!(
        PersonalCode::parse("RSSMRA8AA01H501U"),
        Err(IdError::Character {
            position: 8,
            found: 'A',
            ..
        })
    ));
    // month letter F does not exist
    assert!(matches!(
        PersonalCode::parse("RSSMRA80F01H501U"),
        Err(IdError::Character {
            position: 9,
            found: 'F',
            ..
        })
    ));
    // day 35 is neither a man's nor a woman's day
    assert!(matches!(
        PersonalCode::parse("RSSMRA80A35H501U"),
        Err(IdError::Format { .. })
    ));
    assert!(matches!(
        CodiceFiscale::parse("RSSMRA80A01H501"),
        Err(IdError::Length {
            expected: "16 or 11",
            found: 15,
            ..
        })
    ));
}

#[test]
fn errors_say_which_rule_broke() {
    let e = Cig::parse("XFA15687FA").unwrap_err().to_string();
    assert!(e.contains("CIG") && e.contains("check"), "{e}");
    let e = CodiceFiscale::parse("1234").unwrap_err().to_string();
    assert!(
        e.contains("codice fiscale") && e.contains("16 or 11") && e.contains('4'),
        "{e}"
    );
    let e = PartitaIva::parse("0123456789A").unwrap_err().to_string();
    assert!(e.contains("position 11"), "{e}");
}

#[test]
fn nuts_codes() {
    for ok in ["IT", "ITC", "ITC1", "ITC11", "ITZZZ", "ITI43"] {
        if ok.len() < 3 {
            assert!(NutsCode::parse(ok).is_err());
            continue;
        }
        assert_eq!(NutsCode::parse(ok).unwrap().as_str(), ok);
    }
    assert_eq!(NutsCode::parse("ITC11").unwrap().level(), 3);
    assert!(matches!(
        NutsCode::parse("FR101"),
        Err(IdError::Character { position: 1, .. })
    ));
    assert!(matches!(
        NutsCode::parse("itc11"),
        Err(IdError::Character { position: 1, .. })
    ));
    assert!(matches!(
        NutsCode::parse("ITC111"),
        Err(IdError::Length { .. })
    ));
    assert!(matches!(
        NutsCode::parse("ITc1"),
        Err(IdError::Character { position: 3, .. })
    ));
}

#[test]
fn serde_round_trip_and_refusal() {
    let cig: Cig = serde_json::from_str("\"Z9B3522E08\"").unwrap();
    assert_eq!(serde_json::to_string(&cig).unwrap(), "\"Z9B3522E08\"");
    let cf: CodiceFiscale = serde_json::from_str("\"rssmra80a01h501u\"").unwrap();
    assert_eq!(serde_json::to_string(&cf).unwrap(), "\"RSSMRA80A01H501U\"");
    let err = serde_json::from_str::<Cig>("\"XFA15687FA\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("check"), "{err}");
    assert!(serde_json::from_str::<PartitaIva>("12").is_err());
}

#[test]
fn cpv_codes() {
    let works = Cpv::parse("45000000-7").unwrap();
    assert_eq!(
        (works.division(), works.code(), works.is_works()),
        (45, "45000000", true)
    );
    // codes of the official vocabulary that break the reverse-engineered check-digit rule are accepted
    for real in [
        "09310000-5",
        "38941000-7",
        "38947000-7",
        "03111900-1",
        "90511000-2",
        "79710000-4",
    ] {
        assert_eq!(Cpv::parse(real).unwrap().as_str(), real);
    }
    assert_eq!(Cpv::parse("03111900-1").unwrap().division(), 3);
    assert!(!Cpv::parse("90511000-2").unwrap().is_works());
    assert!(matches!(
        Cpv::parse("45000000"),
        Err(IdError::Length {
            kind: IdKind::Cpv,
            found: 8,
            ..
        })
    ));
    assert!(matches!(
        Cpv::parse("45000000 7"),
        Err(IdError::Character {
            position: 9,
            found: ' ',
            ..
        })
    ));
    assert!(matches!(
        Cpv::parse("4500000A-7"),
        Err(IdError::Character {
            position: 8,
            found: 'A',
            ..
        })
    ));
    assert!(matches!(
        Cpv::parse("45000000-X"),
        Err(IdError::Character { position: 10, .. })
    ));
    // 00, 01, 99 are not CPV 2008 divisions
    for bad in ["00000000-0", "01000000-7", "99000000-1"] {
        assert!(
            matches!(
                Cpv::parse(bad),
                Err(IdError::Format {
                    kind: IdKind::Cpv,
                    ..
                })
            ),
            "{bad}"
        );
    }
}

#[test]
fn cup_codes() {
    let cup = Cup::parse("J31B17000510007").unwrap();
    assert_eq!(cup.decision_year(), 17);
    assert_eq!(Cup::parse("C11G06000000001").unwrap().decision_year(), 6);
    assert!(matches!(
        Cup::parse("J31B1700051000"),
        Err(IdError::Length {
            kind: IdKind::Cup,
            found: 14,
            ..
        })
    ));
    assert!(matches!(
        Cup::parse("j31B17000510007"),
        Err(IdError::Character {
            position: 1,
            found: 'j',
            ..
        })
    ));
    assert!(matches!(
        Cup::parse("JA1B17000510007"),
        Err(IdError::Character { position: 2, .. })
    ));
    assert!(matches!(
        Cup::parse("J3111700051000A"),
        Err(IdError::Character {
            position: 4,
            found: '1',
            ..
        })
    ));
    assert!(matches!(
        Cup::parse("J31B1700051000-"),
        Err(IdError::Character {
            position: 15,
            found: '-',
            ..
        })
    ));
}
