//! Test helpers: valid identifiers, sample lots, the vendored samples, XSD validation.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use anac::l190::{
    DatasetMeta, IdFiscale, LotCig, Lotto, Membro, Offerente, Ruolo, SceltaContraente, Soggetto,
    StrutturaProponente,
};
use chrono::NaiveDate;
use domain::ids::{Cig, CodiceFiscale};
use rust_decimal::Decimal;

/// The real and hand-written L.190 samples vendored in the repository (`fixtures/anac/samples`).
pub fn sample(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/anac/samples"
    ))
    .join(name)
}

pub fn assert_valid_dataset(file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    if let Err(e) = anac::l190::validate_dataset(&bytes) {
        panic!("{} {e}", file.display());
    }
}

pub fn assert_valid_index(file: &Path) {
    let bytes = std::fs::read(file).unwrap();
    if let Err(e) = anac::l190::validate_index(&bytes) {
        panic!("{} {e}", file.display());
    }
}

/// The n-th SmartCIG (`Z` + 2 check hex digits + 7 hex digits), n ≥ 1; parsed, so its check is verified
/// by the domain type.
pub fn smart_cig(n: u32) -> Cig {
    let c = n & 0x0FFF_FFFF;
    let kk = (u64::from(c) * 211) % 251;
    Cig::parse(&format!("Z{kk:02X}{c:07X}")).expect("generated SmartCIG must be valid")
}

/// A numeric codice fiscale built from a 10-digit base, with its check digit computed here (Luhn-like,
/// as the Agenzia delle Entrate defines it) and verified by the domain type.
pub fn numeric_cf(base: u64) -> CodiceFiscale {
    let digits: Vec<u32> = format!("{:010}", base % 10_000_000_000)
        .chars()
        .map(|c| c.to_digit(10).unwrap())
        .collect();
    let mut sum = 0;
    for (i, d) in digits.iter().enumerate() {
        if i.is_multiple_of(2) {
            sum += d;
        } else {
            let x = d * 2;
            sum += if x > 9 { x - 9 } else { x };
        }
    }
    let check = (10 - sum % 10) % 10;
    let s: String = digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect();
    CodiceFiscale::parse(&format!("{s}{check}")).expect("generated CF must be valid")
}

pub fn meta(anno: i32) -> DatasetMeta {
    DatasetMeta {
        titolo: format!("Pubblicazione legge 190 anno {anno}"),
        abstract_text: format!(
            "Dati art. 1 c. 32 L. 190/2012 anno {anno} - SUA Provincia di Esempio"
        ),
        data_pubblicazione: NaiveDate::from_ymd_opt(anno + 1, 1, 15).unwrap(),
        ente_pubblicatore: "Provincia di Esempio - Stazione Unica Appaltante".into(),
        data_ultimo_aggiornamento: NaiveDate::from_ymd_opt(anno + 1, 1, 20).unwrap(),
        anno_riferimento: anno,
        licenza: "IODL 2.0".into(),
    }
}

pub fn singolo(cf: CodiceFiscale, name: &str) -> Offerente {
    Offerente::Singolo(Soggetto {
        id: Some(IdFiscale::CodiceFiscale(cf)),
        ragione_sociale: name.into(),
    })
}

pub fn rti() -> Offerente {
    Offerente::Raggruppamento(vec![
        Membro {
            soggetto: Soggetto {
                id: Some(IdFiscale::CodiceFiscale(numeric_cf(123456789))),
                ragione_sociale: "Alfa Costruzioni S.r.l.".into(),
            },
            ruolo: Ruolo::Mandataria,
        },
        Membro {
            soggetto: Soggetto {
                id: Some(IdFiscale::Estero("DE123456789".into())),
                ragione_sociale: "Beta Bau GmbH".into(),
            },
            ruolo: Ruolo::Mandante,
        },
    ])
}

/// A plausible lot; `n` varies CIG, amounts, procedure and participants.
pub fn lot(n: u32) -> Lotto {
    let scelta = SceltaContraente::ALL[n as usize % SceltaContraente::ALL.len()];
    let mut partecipanti = vec![
        singolo(
            numeric_cf(1_000_000 + u64::from(n)),
            "Gamma Forniture S.p.A.",
        ),
        singolo(
            CodiceFiscale::parse("RSSMRA80A01H501U").unwrap(),
            "Mario Rossi impresa individuale",
        ),
    ];
    if n.is_multiple_of(3) {
        partecipanti.push(rti());
    }
    let aggiudicatari = if n.is_multiple_of(3) {
        vec![rti()]
    } else {
        vec![partecipanti[0].clone()]
    };
    Lotto {
        cig: LotCig::Cig(smart_cig(n + 1)),
        struttura_proponente: StrutturaProponente {
            codice_fiscale: numeric_cf(80_000_000 + u64::from(n % 7)),
            denominazione: format!("Comune di Esempio {} (tramite SUA)", n % 7),
        },
        oggetto: format!(
            "Lavori di manutenzione straordinaria scuola n. {n} - Lotto {}",
            n % 4 + 1
        ),
        scelta_contraente: scelta,
        partecipanti,
        aggiudicatari,
        importo_aggiudicazione: Decimal::new(i64::from(n) * 12_345 + 50, 2),
        data_inizio: NaiveDate::from_ymd_opt(2023, 1 + n % 12, 1),
        data_ultimazione: if n.is_multiple_of(2) {
            NaiveDate::from_ymd_opt(2023, 12, 31)
        } else {
            None
        },
        importo_somme_liquidate: Decimal::new(i64::from(n) * 1_000, 2),
    }
}
