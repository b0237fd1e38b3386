//! Reading real published files: faulty lots are reported field by field and reading carries on; the lots
//! read are written again, validate, and carry the same data. Broken input never panics.

mod common;

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter};

use anac::l190::{LotReader, ReadError, Rules, read_dataset, write_dataset};
use common::*;
use domain::ids::Cig;
use proptest::prelude::*;

const SAMPLES: [&str; 3] = [
    "handwritten-valid-dataset.xml",
    "sito-interporto-torino-2021-10lotti.xml",
    "sito-interporto-torino-2022-1220lotti.xml",
];

/// The `<cig>` texts of a file, found by plain string search (an oracle independent of the reader).
fn raw_cigs(text: &str) -> Vec<String> {
    text.split("<cig>")
        .skip(1)
        .map(|s| s[..s.find("</cig>").unwrap()].to_owned())
        .collect()
}

#[test]
fn samples_round_trip_through_our_writer() {
    let dir = tempfile::tempdir().unwrap();
    for name in SAMPLES {
        let text = fs::read_to_string(sample(name)).unwrap();
        let cigs = raw_cigs(&text);
        let ds = read_dataset(text.as_bytes(), &Rules::republish()).unwrap();
        assert_eq!(
            ds.lots.len() + ds.faults.len(),
            cigs.len(),
            "{name}: every lot is either read or reported"
        );
        // every lot whose CIG fails ANAC's check algorithm is reported, naming the cig field
        let bad_cigs: BTreeSet<&String> = cigs
            .iter()
            .filter(|c| c.as_str() != "0000000000" && Cig::parse(c).is_err())
            .collect();
        let reported_cig: BTreeSet<&String> = ds
            .faults
            .iter()
            .filter(|f| f.problems.iter().any(|p| p.field == "cig"))
            .map(|f| &f.cig)
            .collect();
        assert_eq!(bad_cigs, reported_cig, "{name}");
        for f in &ds.faults {
            assert!(!f.problems.is_empty());
            assert_eq!(
                cigs[f.index - 1],
                f.cig,
                "{name}: fault index points at the lot"
            );
        }

        let out = dir.path().join(name);
        write_dataset(
            &ds.meta,
            &ds.url_file,
            &ds.lots,
            &Rules::republish(),
            BufWriter::new(File::create(&out).unwrap()),
        )
        .unwrap();
        assert_valid_dataset(&out);
        let again = read_dataset(
            BufReader::new(File::open(&out).unwrap()),
            &Rules::republish(),
        )
        .unwrap();
        assert!(again.faults.is_empty(), "{name}: {:?}", again.faults);
        assert_eq!(again.meta, ds.meta, "{name}");
        assert_eq!(
            again.lots, ds.lots,
            "{name}: same lots after the round trip"
        );
    }
}

#[test]
fn the_2022_sample_has_four_bad_cigs_and_six_inverted_date_ranges() {
    let text = fs::read_to_string(sample("sito-interporto-torino-2022-1220lotti.xml")).unwrap();
    let ds = read_dataset(text.as_bytes(), &Rules::republish()).unwrap();
    assert_eq!(ds.lots.len(), 1210);
    let by_field = |field: &str| -> Vec<(usize, String)> {
        ds.faults
            .iter()
            .filter(|f| f.problems.iter().any(|p| p.field == field))
            .map(|f| (f.index, f.cig.clone()))
            .collect()
    };
    assert_eq!(
        by_field("cig"),
        [
            (64, "X79OD48F4B".to_owned()),
            (169, "XFA15687FA".to_owned()),
            (672, "Z3DZ6A3041".to_owned()),
            (998, "867656826G".to_owned()),
        ]
    );
    assert_eq!(by_field("tempiCompletamento/dataUltimazione").len(), 6);
    let msg = ds.faults[0].to_string();
    assert!(msg.starts_with("lot 64 (cig \"X79OD48F4B\")"), "{msg}");
    assert!(msg.contains("position 4"), "{msg}");
    // participants without fiscal code are common in this file: the strict rules report them
    let strict = read_dataset(text.as_bytes(), &Rules::default()).unwrap();
    assert!(strict.lots.len() < ds.lots.len());
    assert!(strict.faults.iter().flat_map(|f| &f.problems).any(|p| {
        p.message
            .contains("neither codiceFiscale nor identificativoFiscaleEstero")
    }));
}

const ONE_LOT_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<legge190:pubblicazione xmlns:legge190="legge190_1_0"><metadata><titolo>t</titolo><abstract>a</abstract>
<dataPubblicazioneDataset>2024-01-15</dataPubblicazioneDataset><entePubblicatore>e</entePubblicatore>
<dataUltimoAggiornamentoDataset>2024-01-15+01:00</dataUltimoAggiornamentoDataset><annoRiferimento>2023</annoRiferimento>
<urlFile>https://x.example/d.xml</urlFile><licenza>IODL</licenza></metadata><data>"#;

fn lot_xml(cig: &str, cf: &str, scelta: &str, importo: &str, inizio: &str) -> String {
    format!(
        "<lotto><cig>{cig}</cig><strutturaProponente><codiceFiscaleProp>{cf}</codiceFiscaleProp>\
         <denominazione>Comune</denominazione></strutturaProponente><oggetto>Lavori &amp; servizi &#8364;</oggetto>\
         <sceltaContraente>{scelta}</sceltaContraente><partecipanti><partecipante><codiceFiscale>00435970587</codiceFiscale>\
         <ragioneSociale>Ditta</ragioneSociale></partecipante></partecipanti><aggiudicatari/>\
         <importoAggiudicazione>{importo}</importoAggiudicazione><tempiCompletamento><dataInizio>{inizio}</dataInizio>\
         </tempiCompletamento><importoSommeLiquidate>0</importoSommeLiquidate></lotto>"
    )
}

#[test]
fn each_faulty_field_is_named_and_reading_carries_on() {
    let good = lot_xml(
        "9123456211",
        "03717710010",
        "01-PROCEDURA APERTA",
        "100.5",
        "2023-01-01",
    );
    let doc = format!(
        "{ONE_LOT_HEAD}{good}{}{}{}{good}</data></legge190:pubblicazione>",
        lot_xml(
            "9123456212",
            "03717710011",
            "01-Procedura aperta",
            "1.000,00",
            "01/02/2023"
        ),
        lot_xml("", "03717710010", "01-PROCEDURA APERTA", "-1", "2023-02-30"),
        "<lotto><cig>9123456211</cig></lotto>",
    );
    let mut reader = LotReader::new(doc.as_bytes()).unwrap();
    assert_eq!(reader.meta().anno_riferimento, 2023);
    assert_eq!(reader.url_file(), "https://x.example/d.xml");
    let first = reader.next().unwrap().unwrap();
    assert_eq!(first.oggetto, "Lavori & servizi €");
    assert_eq!(first.importo_aggiudicazione.to_string(), "100.5");

    let fields = |item: Option<Result<_, ReadError>>| -> Vec<String> {
        match item {
            Some(Err(ReadError::Lot(f))) => f.problems.iter().map(|p| p.field.clone()).collect(),
            other => panic!("expected a faulty lot, got {other:?}"),
        }
    };
    assert_eq!(
        fields(reader.next()),
        [
            "cig",
            "strutturaProponente/codiceFiscaleProp",
            "sceltaContraente",
            "importoAggiudicazione",
            "tempiCompletamento/dataInizio"
        ]
    );
    assert_eq!(
        fields(reader.next()),
        [
            "cig",
            "importoAggiudicazione",
            "tempiCompletamento/dataInizio"
        ]
    );
    let missing = fields(reader.next());
    for f in [
        "strutturaProponente",
        "oggetto",
        "sceltaContraente",
        "partecipanti",
        "aggiudicatari",
        "importoAggiudicazione",
        "tempiCompletamento",
        "importoSommeLiquidate",
    ] {
        assert!(
            missing.iter().any(|m| m == f),
            "{f} not reported in {missing:?}"
        );
    }
    assert!(
        reader.next().unwrap().is_ok(),
        "the lot after the faulty ones is read"
    );
    assert!(reader.next().is_none());
}

#[test]
fn documents_that_are_not_datasets_are_refused_without_panic() {
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("<indici></indici>".into(), "root element"),
        (
            r#"<legge190:pubblicazione xmlns:legge190="legge190_1_3"><metadata/></legge190:pubblicazione>"#.into(),
            "namespace",
        ),
        (ONE_LOT_HEAD.replace("<annoRiferimento>2023", "<annoRiferimento>duemila"), "annoRiferimento"),
        (format!("{ONE_LOT_HEAD}<lotto><cig>12"), "end of file"),
        (format!("{ONE_LOT_HEAD}<lotto><cig>1</oggetto>"), "malformed XML"),
    ];
    for (doc, expect) in cases {
        let err = match LotReader::new(doc.as_bytes()) {
            Err(e) => e,
            Ok(mut r) => match r.by_ref().find_map(Result::err) {
                Some(e) => e,
                None => panic!("{expect}: no error"),
            },
        };
        assert!(err.is_fatal(), "{expect}: {err}");
        assert!(
            err.to_string().contains(expect),
            "expected {expect:?} in {err}"
        );
    }
}

#[test]
fn the_index_sample_is_not_taken_for_a_dataset() {
    let f = BufReader::new(File::open(sample("handwritten-valid-index.xml")).unwrap());
    let err = LotReader::new(f).err().expect("an index is not a dataset");
    assert!(err.to_string().contains("<indici>"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Cutting, or overwriting bytes of, a real file never makes the reader panic.
    #[test]
    fn mangled_files_never_panic(cut in 0usize..6000, pos in 0usize..6000, byte in any::<u8>()) {
        let mut bytes = fs::read(sample("sito-interporto-torino-2021-10lotti.xml")).unwrap();
        let pos = pos % bytes.len();
        bytes[pos] = byte;
        bytes.truncate(cut.max(1).min(bytes.len()));
        if let Ok(reader) = LotReader::new(&bytes[..]) {
            for item in reader {
                let _ = item.map_err(|e| e.to_string());
            }
        }
    }
}
