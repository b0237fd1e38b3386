//! The writer's output validates against the official XSD (`anac::l190::validate_dataset`), splits above the size limit, and
//! reads back into the same lots; every business rule refuses bad data naming the lot and the field.

mod common;

use std::fs::{self, File};
use std::io::{BufReader, BufWriter};

use anac::l190::{
    DatasetMeta, IdFiscale, LotCig, Lotto, Membro, Offerente, Rules, Ruolo, SceltaContraente,
    Soggetto, SplitOptions, WriteError, read_dataset, write_dataset, write_index, write_split,
};
use common::*;
use rust_decimal::Decimal;

fn write_to(dir: &std::path::Path, name: &str, lots: &[Lotto]) -> std::path::PathBuf {
    let path = dir.join(name);
    let out = BufWriter::new(File::create(&path).unwrap());
    write_dataset(
        &meta(2023),
        "https://www.provincia.esempio.it/l190/2023/dataset.xml",
        lots,
        &Rules::default(),
        out,
    )
    .unwrap();
    path
}

#[test]
fn every_code_and_shape_validates_and_reads_back_identically() {
    let dir = tempfile::tempdir().unwrap();
    // one lot per sceltaContraente code, with RTIs, foreign members, personal CFs, optional dates
    let mut lots: Vec<Lotto> = (0..SceltaContraente::ALL.len() as u32).map(lot).collect();
    lots[0].cig = LotCig::Placeholder;
    lots[1].partecipanti.clear();
    lots[1].aggiudicatari.clear();
    lots[1].data_inizio = None;
    lots[1].data_ultimazione = None;
    lots[2].oggetto = "Fornitura <urgente> di \"carta\" & toner: l'ufficio è pronto".into();
    lots[3].importo_aggiudicazione = Decimal::new(99_999_999_999_999, 2);
    lots[3].importo_somme_liquidate = Decimal::ZERO;
    let path = write_to(dir.path(), "all.xml", &lots);
    assert_valid_dataset(&path);

    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("<cig>0000000000</cig>"));
    assert!(text.contains("<importoAggiudicazione>999999999999.99</importoAggiudicazione>"));
    assert!(text.contains("35-PARTERNARIATO PER L\u{2019}INNOVAZIONE"));
    assert!(text.contains("&amp; toner"));

    let back = read_dataset(
        BufReader::new(File::open(&path).unwrap()),
        &Rules::default(),
    )
    .unwrap();
    assert!(back.faults.is_empty(), "{:?}", back.faults);
    assert_eq!(back.meta, meta(2023));
    assert_eq!(
        back.url_file,
        "https://www.provincia.esempio.it/l190/2023/dataset.xml"
    );
    // raggruppamenti are written first: compare after putting ours in the same order
    let expected: Vec<Lotto> = lots
        .into_iter()
        .map(|mut l| {
            l.partecipanti
                .sort_by_key(|o| !matches!(o, Offerente::Raggruppamento(_)));
            l.aggiudicatari
                .sort_by_key(|o| !matches!(o, Offerente::Raggruppamento(_)));
            l
        })
        .collect();
    assert_eq!(back.lots, expected);
}

#[test]
fn long_texts_are_cut_to_250_characters_and_still_validate() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = lot(1);
    l.oggetto = "è".repeat(260); // 2 bytes each: a byte cut would break a character
    l.struttura_proponente.denominazione = "x".repeat(251);
    if let Offerente::Singolo(s) = &mut l.partecipanti[0] {
        s.ragione_sociale = "€".repeat(300);
    }
    l.aggiudicatari = vec![l.partecipanti[0].clone()];
    let path = write_to(dir.path(), "long.xml", &[l]);
    assert_valid_dataset(&path);
    let back = read_dataset(
        BufReader::new(File::open(&path).unwrap()),
        &Rules::default(),
    )
    .unwrap();
    let b = &back.lots[0];
    assert_eq!(b.oggetto, "è".repeat(250));
    assert_eq!(b.struttura_proponente.denominazione, "x".repeat(250));
    match &b.partecipanti[0] {
        Offerente::Singolo(s) => assert_eq!(s.ragione_sociale, "€".repeat(250)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn empty_dataset_validates() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_to(dir.path(), "empty.xml", &[]);
    assert_valid_dataset(&path);
    let back = read_dataset(
        BufReader::new(File::open(&path).unwrap()),
        &Rules::default(),
    )
    .unwrap();
    assert!(back.lots.is_empty() && back.faults.is_empty());
}

/// The validator used by these tests does reject what the schema forbids (so a pass means something).
#[test]
fn the_xsd_validator_rejects_a_broken_dataset_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_to(dir.path(), "ok.xml", &[lot(1)]);
    let text = fs::read_to_string(&path).unwrap();
    let broken = text.replacen("<sceltaContraente>", "<sceltaContraente>X", 1);
    let e = anac::l190::validate_dataset(broken.as_bytes()).unwrap_err();
    assert_eq!(e.violations.len(), 1, "{e}");
    assert!(
        e.violations[0].path.ends_with("/lotto[1]/sceltaContraente"),
        "{e}"
    );
    assert!(e.violations[0].message.contains("X"), "{e}");
}

#[test]
fn split_into_several_files_each_valid_and_listed_by_a_valid_index() {
    let dir = tempfile::tempdir().unwrap();
    let n = 300u32;
    let opts = SplitOptions {
        max_bytes: 64 * 1024,
        ..SplitOptions::new("https://www.provincia.esempio.it/trasparenza/l190/2023/")
    };
    let files = write_split(
        &meta(2023),
        (0..n).map(lot),
        &opts,
        &Rules::default(),
        |name| File::create(dir.path().join(name)).map(BufWriter::new),
    )
    .unwrap();
    assert!(
        files.len() >= 3,
        "expected a split, got {} file(s)",
        files.len()
    );
    let mut read_back = Vec::new();
    for (i, f) in files.iter().enumerate() {
        assert_eq!(f.number, i + 1);
        assert_eq!(f.id, format!("ID_{}", i + 1));
        assert_eq!(f.file_name, format!("dataset_{}.xml", i + 1));
        assert_eq!(
            f.url,
            format!(
                "https://www.provincia.esempio.it/trasparenza/l190/2023/dataset_{}.xml",
                i + 1
            )
        );
        let path = dir.path().join(&f.file_name);
        let size = fs::metadata(&path).unwrap().len();
        assert_eq!(size, f.bytes, "reported size of {}", f.file_name);
        assert!(size <= opts.max_bytes, "{} is {size} bytes", f.file_name);
        assert_valid_dataset(&path);
        let ds = read_dataset(
            BufReader::new(File::open(&path).unwrap()),
            &Rules::default(),
        )
        .unwrap();
        assert_eq!(ds.url_file, f.url);
        assert_eq!(ds.lots.len() as u64, f.lots);
        read_back.extend(ds.lots);
    }
    // files are filled up: each one but the last would have overflowed with the next lot
    for f in &files[..files.len() - 1] {
        assert!(
            f.bytes > opts.max_bytes - 4 * 1024,
            "{} only {} bytes",
            f.file_name,
            f.bytes
        );
    }
    let cigs: Vec<String> = read_back
        .iter()
        .map(|l| l.cig.as_str().to_owned())
        .collect();
    let expected: Vec<String> = (0..n).map(|i| lot(i).cig.as_str().to_owned()).collect();
    assert_eq!(
        cigs, expected,
        "same lots, same order, none lost or repeated"
    );

    let index = dir.path().join("indice.xml");
    write_index(
        &meta(2023),
        &opts.url_for("indice.xml"),
        &files,
        BufWriter::new(File::create(&index).unwrap()),
    )
    .unwrap();
    assert_valid_index(&index);
    let text = fs::read_to_string(&index).unwrap();
    for f in &files {
        assert!(text.contains(&format!("<dataset id=\"{}\">", f.id)));
        assert!(text.contains(&format!("<linkDataset>{}</linkDataset>", f.url)));
    }
    assert!(
        text.contains("<indici "),
        "index root has no namespace prefix"
    );
}

#[test]
fn default_split_limit_is_5_mib_and_small_exports_stay_in_one_file() {
    assert_eq!(SplitOptions::new("https://x.example").max_bytes, 5_242_880);
    let mut bufs: Vec<(String, Vec<u8>)> = Vec::new();
    let files = write_split(
        &meta(2023),
        (0..50).map(lot),
        &SplitOptions::new("https://x.example/l190"),
        &Rules::default(),
        |name| {
            bufs.push((name.to_owned(), Vec::new()));
            Ok(Vec::new())
        },
    )
    .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].lots, 50);
}

#[test]
fn split_of_no_lots_writes_one_empty_valid_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let files = write_split(
        &meta(2023),
        std::iter::empty::<Lotto>(),
        &SplitOptions::new("https://x.example/l190"),
        &Rules::default(),
        |name| File::create(dir.path().join(name)),
    )
    .unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].lots, 0);
    assert_valid_dataset(&dir.path().join(&files[0].file_name));
}

// ---------- refusals ----------

fn refused(lots: Vec<Lotto>, rules: &Rules) -> (usize, String, Vec<String>) {
    match write_dataset(
        &meta(2023),
        "https://x.example/d.xml",
        &lots,
        rules,
        Vec::new(),
    ) {
        Err(WriteError::Lot(e)) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("lot {}", e.index)), "{msg}");
            (
                e.index,
                e.cig.clone(),
                e.violations.iter().map(|v| v.field.clone()).collect(),
            )
        }
        other => panic!("expected a lot error, got {other:?}"),
    }
}

fn refused_field(mutate: impl FnOnce(&mut Lotto), rules: &Rules) -> Vec<String> {
    let mut bad = lot(3);
    mutate(&mut bad);
    let (index, cig, fields) = refused(vec![lot(1), lot(2), bad.clone()], rules);
    assert_eq!(index, 3, "the third lot is the faulty one");
    assert_eq!(cig, bad.cig.as_str());
    fields
}

#[test]
fn placeholder_cig_refused_when_configured() {
    let strict = Rules {
        allow_placeholder_cig: false,
        ..Rules::default()
    };
    assert_eq!(
        refused_field(|l| l.cig = LotCig::Placeholder, &strict),
        ["cig"]
    );
}

#[test]
fn participant_without_any_fiscal_id_is_refused() {
    let fields = refused_field(
        |l| {
            l.partecipanti.push(Offerente::Singolo(Soggetto {
                id: None,
                ragione_sociale: "Senza Codice S.r.l.".into(),
            }))
        },
        &Rules::default(),
    );
    assert_eq!(fields, ["partecipanti/partecipante[3]"]);
    // ... also inside a raggruppamento of awardees
    let fields = refused_field(
        |l| {
            l.aggiudicatari = vec![Offerente::Raggruppamento(vec![
                Membro {
                    soggetto: Soggetto {
                        id: None,
                        ragione_sociale: "A".into(),
                    },
                    ruolo: Ruolo::Mandataria,
                },
                Membro {
                    soggetto: Soggetto {
                        id: Some(IdFiscale::CodiceFiscale(numeric_cf(42))),
                        ragione_sociale: "B".into(),
                    },
                    ruolo: Ruolo::Mandante,
                },
            ])]
        },
        &Rules::default(),
    );
    assert_eq!(
        fields,
        ["aggiudicatari/aggiudicatarioRaggruppamento[1]/membro[1]"]
    );
    // the republish rules let it through
    let mut l = lot(3);
    l.partecipanti.push(Offerente::Singolo(Soggetto {
        id: None,
        ragione_sociale: "Senza Codice S.r.l.".into(),
    }));
    assert!(
        write_dataset(
            &meta(2023),
            "https://x.example/d.xml",
            [l],
            &Rules::republish(),
            Vec::new()
        )
        .is_ok()
    );
}

#[test]
fn empty_foreign_id_and_empty_names_are_refused() {
    let fields = refused_field(
        |l| {
            l.partecipanti[0] = Offerente::Singolo(Soggetto {
                id: Some(IdFiscale::Estero("  ".into())),
                ragione_sociale: String::new(),
            })
        },
        &Rules::default(),
    );
    assert_eq!(
        fields,
        [
            "partecipanti/partecipante[1]/identificativoFiscaleEstero",
            "partecipanti/partecipante[1]/ragioneSociale"
        ]
    );
    assert_eq!(
        refused_field(|l| l.oggetto = " ".into(), &Rules::default()),
        ["oggetto"]
    );
    assert_eq!(
        refused_field(
            |l| l.struttura_proponente.denominazione.clear(),
            &Rules::default()
        ),
        ["strutturaProponente/denominazione"]
    );
}

#[test]
fn end_date_before_start_date_is_refused() {
    let fields = refused_field(
        |l| {
            l.data_inizio = chrono::NaiveDate::from_ymd_opt(2023, 6, 2);
            l.data_ultimazione = chrono::NaiveDate::from_ymd_opt(2023, 6, 1);
        },
        &Rules::default(),
    );
    assert_eq!(fields, ["tempiCompletamento/dataUltimazione"]);
}

#[test]
fn single_member_raggruppamento_is_refused() {
    let fields = refused_field(
        |l| {
            l.partecipanti = vec![Offerente::Raggruppamento(vec![Membro {
                soggetto: Soggetto {
                    id: Some(IdFiscale::CodiceFiscale(numeric_cf(7))),
                    ragione_sociale: "Sola S.r.l.".into(),
                },
                ruolo: Ruolo::Mandataria,
            }])]
        },
        &Rules::default(),
    );
    assert_eq!(fields, ["partecipanti/raggruppamento[1]"]);
}

#[test]
fn bad_amounts_are_refused() {
    let r = Rules::default();
    assert_eq!(
        refused_field(|l| l.importo_aggiudicazione = Decimal::new(-100, 2), &r),
        ["importoAggiudicazione"]
    );
    assert_eq!(
        refused_field(|l| l.importo_somme_liquidate = Decimal::new(1_001, 3), &r),
        ["importoSommeLiquidate"]
    );
    assert_eq!(
        refused_field(
            |l| l.importo_aggiudicazione = Decimal::new(100_000_000_000_000, 2),
            &r
        ),
        ["importoAggiudicazione"]
    );
    // trailing zeros beyond 2 decimals are not extra precision: accepted
    let mut ok = lot(3);
    ok.importo_aggiudicazione = Decimal::new(1_500, 3);
    let mut out = Vec::new();
    write_dataset(&meta(2023), "https://x.example/d.xml", [ok], &r, &mut out).unwrap();
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("<importoAggiudicazione>1.50</importoAggiudicazione>")
    );
}

#[test]
fn bad_metadata_and_options_are_refused() {
    let mut m: DatasetMeta = meta(2023);
    m.titolo.clear();
    let e = write_dataset(
        &m,
        "https://x.example/d.xml",
        Vec::<Lotto>::new(),
        &Rules::default(),
        Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("metadata/titolo"), "{e}");

    for (opts, field) in [
        (SplitOptions::new("ftp://x.example"), "base_url"),
        (SplitOptions::new("https://x.example/a b"), "base_url"),
        (
            SplitOptions {
                file_stem: "../evil".into(),
                ..SplitOptions::new("https://x.example")
            },
            "file_stem",
        ),
        (
            SplitOptions {
                max_bytes: 10,
                ..SplitOptions::new("https://x.example")
            },
            "max_bytes",
        ),
    ] {
        let e = write_split(&meta(2023), [lot(1)], &opts, &Rules::default(), |_| {
            Ok(Vec::new())
        })
        .unwrap_err();
        assert!(
            matches!(e, WriteError::Option { field: f, .. } if f == field),
            "{e}"
        );
    }
    let e = write_index(&meta(2023), "https://x.example/i.xml", &[], Vec::new()).unwrap_err();
    assert!(e.to_string().contains("files"), "{e}");
}

#[test]
fn a_lot_too_large_for_one_file_is_refused() {
    let mut big = lot(3);
    for i in 0..200 {
        big.partecipanti.push(singolo(
            numeric_cf(5_000 + i),
            &"Operatore economico ".repeat(10),
        ));
    }
    let opts = SplitOptions {
        max_bytes: 8 * 1024,
        ..SplitOptions::new("https://x.example")
    };
    let e = write_split(&meta(2023), [lot(1), big], &opts, &Rules::default(), |_| {
        Ok(Vec::new())
    })
    .unwrap_err();
    match e {
        WriteError::LotTooLarge {
            index, max_bytes, ..
        } => {
            assert_eq!(index, 2);
            assert_eq!(max_bytes, 8 * 1024);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn index_refuses_duplicate_ids() {
    let files = write_split(
        &meta(2023),
        (0..3).map(lot),
        &SplitOptions::new("https://x.example/l190"),
        &Rules::default(),
        |_| Ok(Vec::new()),
    )
    .unwrap();
    let twice = [files[0].clone(), files[0].clone()];
    let e = write_index(
        &meta(2023),
        "https://x.example/l190/indice.xml",
        &twice,
        Vec::new(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("duplicate dataset id ID_1"), "{e}");
}

#[test]
fn procedures_of_the_2023_code_map_onto_l190_codes() {
    use anac::l190::Procedura as P;
    let code = |p: P| SceltaContraente::from(p).code();
    assert_eq!(code(P::Aperta), "01");
    assert_eq!(code(P::NegoziataSottoSoglia), "33");
    assert_eq!(code(P::AffidamentoDiretto), "23");
    assert_eq!(code(P::PartenariatoInnovazione), "35");
    assert_eq!(code(P::CompetitivaConNegoziazione), "37");
}
