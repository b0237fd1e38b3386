//! Every code in `fixtures/demo.json` must be valid: the demo and the black-box tests build on it.

use domain::ids::{Cig, CodiceFiscale, Cpv, Cup, NutsCode, PartitaIva};
use serde_json::Value;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/demo.json");
    let text = std::fs::read_to_string(path).expect("fixtures/demo.json is readable");
    serde_json::from_str(&text).expect("fixtures/demo.json is JSON")
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string in {v}"))
}

#[test]
fn every_fiscal_code_and_vat_number_in_the_fixtures_is_valid() {
    let f = fixtures();
    CodiceFiscale::parse(text(&f["province"], "codice_fiscale")).unwrap();
    NutsCode::parse(text(&f["province"], "nuts")).unwrap();
    let municipalities = f["municipalities"].as_array().unwrap();
    assert_eq!(municipalities.len(), 5);
    for m in municipalities {
        CodiceFiscale::parse(text(m, "codice_fiscale")).unwrap();
        let rup = CodiceFiscale::parse(text(&m["rup"], "codice_fiscale")).unwrap();
        assert!(
            matches!(rup, CodiceFiscale::Person(_)),
            "a RUP has a personal code"
        );
    }
    let operators = f["operators"].as_array().unwrap();
    assert!(operators.len() >= 20);
    for o in operators {
        PartitaIva::parse(text(o, "partita_iva")).unwrap();
        CodiceFiscale::parse(text(o, "codice_fiscale")).unwrap();
    }
}

#[test]
fn every_cig_cup_and_cpv_in_the_fixtures_is_valid_and_cigs_are_unique() {
    let f = fixtures();
    let mut cigs = std::collections::BTreeSet::new();
    for t in f["tenders"].as_array().unwrap() {
        Cpv::parse(text(t, "cpv")).unwrap();
        if let Some(cup) = t["cup"].as_str() {
            Cup::parse(cup).unwrap();
        }
        for lot in t["lots"].as_array().unwrap() {
            let cig = Cig::parse(text(lot, "cig")).unwrap();
            assert!(cigs.insert(cig), "CIG {} appears twice", text(lot, "cig"));
        }
    }
}
