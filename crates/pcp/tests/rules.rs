//! ANAC's DMN rules checked before sending: each violating input is refused with ANAC's rule code, and
//! every code the crate checks appears in the vendored DMN table of its scheda.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use pcp::codes::{CategoriaMerceologica, MotivoCollegamento, MotivoUrgenza};
use pcp::model::{Appalto, Committente, ParitaDiGenere, Quota30};
use pcp::{SchedaCode, example, rules, schede};
use rust_decimal::Decimal;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

fn p1(a: &Appalto) -> Option<&'static str> {
    schede::p1_16(a, "<x/>", "<x/>", now())
        .err()
        .and_then(|e| e.rule())
}

fn broken(f: impl FnOnce(&mut Appalto)) -> Option<&'static str> {
    let mut a = example::appalto(now());
    f(&mut a);
    p1(&a)
}

#[test]
fn the_sample_tender_breaks_no_rule() {
    assert_eq!(p1(&example::appalto(now())), None);
}

#[test]
fn publication_rules_refuse_with_anacs_code() {
    assert_eq!(
        broken(
            |a| if let Committente::PerConto { cuc, titolare, .. } = &mut a.committente {
                cuc.codice_fiscale = titolare.codice_fiscale.clone();
            }
        ),
        Some("REG3")
    );
    assert_eq!(
        broken(|a| a.categorie_merceologiche = vec![CategoriaMerceologica::ManutenzioneStrade]),
        Some("REG4_1")
    );
    assert_eq!(
        broken(|a| {
            a.lotti[0].oggetto = domain::thresholds::ContractObject::Works;
            a.lotti[0].quadro.lavori = Decimal::from(2_000_000);
        }),
        Some("REG5")
    );
    assert_eq!(
        broken(|a| a.lotti[0].strumenti_elettronici = Some(true)),
        Some("REG5_1")
    );
    assert_eq!(
        broken(|a| a.motivo_urgenza = MotivoUrgenza::SommaUrgenzaProtezioneCivile),
        Some("REG7")
    );
    assert_eq!(
        broken(|a| a.link_documenti = Some("ftp://x".into())),
        Some("REG8")
    );
    assert_eq!(
        broken(|a| a.url_documenti = "www.example.it".into()),
        Some("REG8")
    );
    assert_eq!(
        broken(|a| a.lotti[1].in_programmazione = true),
        Some("REG11")
    );
    assert_eq!(
        broken(|a| {
            a.lotti[0].ripetizioni = true;
            a.lotti[0].quadro.ripetizioni = Decimal::ONE;
            a.lotti[0].collegamento = MotivoCollegamento::RipetizioneAnaloghi;
        }),
        Some("REG14")
    );
    assert_eq!(
        broken(|a| a.lotti[0].collegamento = MotivoCollegamento::GaraPrecedenteAnnullataODeserta),
        Some("REG15")
    );
    assert_eq!(broken(|a| a.lotti[0].pnrr = true), Some("REG18"));
    assert_eq!(
        broken(|a| a.lotti[0].acquisizione_cup = true),
        Some("REG19")
    );
    let cup = domain::ids::Cup::parse("J31B17000510007").unwrap();
    let pnrr = |a: &mut Appalto| {
        a.lotti[0].pnrr = true;
        a.lotti[0].acquisizione_cup = true;
        a.lotti[0].cup = vec![cup.clone()];
    };
    assert_eq!(broken(|a| pnrr(a)), Some("REG21"));
    let parita = |q, f: i64, g: i64, deroga: bool, premiali: bool| ParitaDiGenere {
        quota30: q,
        quota_femminile: Decimal::from(f),
        quota_giovanile: Decimal::from(g),
        motivi_deroga: if deroga { vec!["1".into()] } else { vec![] },
        misure_premiali: if premiali { vec!["1".into()] } else { vec![] },
    };
    assert_eq!(
        broken(|a| {
            pnrr(a);
            a.lotti[0].parita = Some(parita(Quota30::Si, 0, 0, false, true));
        }),
        None
    );
    assert_eq!(
        broken(|a| a.lotti[0].parita = Some(parita(Quota30::SiQuotaInferiore, 0, 0, true, false))),
        Some("REG23")
    );
    assert_eq!(
        broken(|a| a.lotti[0].parita = Some(parita(Quota30::SiQuotaInferiore, 30, 40, true, false))),
        Some("REG24")
    );
    assert_eq!(
        broken(|a| a.lotti[0].parita = Some(parita(Quota30::No, 0, 0, false, false))),
        Some("REG27")
    );
    assert_eq!(
        broken(|a| {
            pnrr(a);
            a.lotti[0].parita = Some(parita(Quota30::Si, 0, 0, false, false));
        }),
        Some("REG28")
    );
    assert_eq!(
        broken(|a| a.lotti[0].oggetto = domain::thresholds::ContractObject::Works),
        Some("REG34")
    );
    assert_eq!(
        broken(|a| a.lotti[0].quadro.servizi = Decimal::ZERO),
        Some("REG35")
    );
    assert_eq!(
        broken(|a| a.lotti[0].oggetto = domain::thresholds::ContractObject::Supplies),
        Some("REG36")
    );
    assert_eq!(broken(|a| a.lotti[0].opzioni_rinnovi = true), Some("REG37"));
    assert_eq!(broken(|a| a.lotti[0].ripetizioni = true), Some("REG38"));
    assert_eq!(
        broken(|a| for l in &mut a.lotti {
            l.quadro = Default::default();
        }),
        Some("REG98")
    );
    assert_eq!(
        broken(|a| a.lotti[1].quadro = Default::default()),
        Some("REG35")
    );
    assert_eq!(
        broken(|a| a.lotti[1].scadenza_offerte = now() - Duration::minutes(1)),
        Some("REG105")
    );
}

#[test]
fn a_refusal_carries_anacs_wording() {
    let e = schede::p1_16(
        &{
            let mut a = example::appalto(now());
            a.lotti[0].opzioni_rinnovi = true;
            a
        },
        "<x/>",
        "<x/>",
        now(),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("ANAC REG37 (P1_16): "), "{text}");
    assert!(text.contains("LOT-0001"), "{text}");
}

#[test]
fn award_rules_refuse_with_anacs_code() {
    let a1 = |f: &dyn Fn(&mut pcp::model::EsitoAggiudicazione)| {
        let mut e = example::esito();
        f(&mut e);
        schede::a1_29(&e, "<x/>", now())
            .err()
            .and_then(|e| e.rule())
    };
    assert_eq!(a1(&|_| {}), None);
    assert_eq!(a1(&|e| e.aggiudicazioni.clear()), Some("REG112"));
    assert_eq!(
        a1(&|e| e.aggiudicazioni[0].offerte_ammesse = 2),
        Some("REG47")
    );
    assert_eq!(
        a1(&|e| e.aggiudicazioni[0].offerte[1].ribasso = Some(Decimal::from(101))),
        Some("REG50")
    );
    assert_eq!(
        a1(&|e| e.aggiudicazioni[0].offerte[2].ribasso = None),
        Some("REG51")
    );
    assert_eq!(
        a1(&|e| e.motivo_urgenza = MotivoUrgenza::SommaUrgenzaProtezioneCivile),
        Some("REG7")
    );
    assert_eq!(
        a1(&|e| e.link_documenti = Some("file:///x".into())),
        Some("REG8")
    );
}

#[test]
fn s2_and_sc1_rules_refuse_with_anacs_code() {
    let mut elenco = example::elenco();
    elenco[1].partecipanti.clear();
    assert_eq!(
        schede::s2(&elenco, now()).unwrap_err().rule(),
        Some("REG78")
    );

    let mut c = example::contratto();
    c.data_scadenza = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    assert_eq!(schede::sc1(&c).unwrap_err().rule(), Some("REG77"));
    let mut c = example::contratto();
    c.importo_cauzione = Decimal::from(-1);
    assert_eq!(schede::sc1(&c).unwrap_err().rule(), Some("REG117"));
}

#[test]
fn direct_award_rules_refuse_with_anacs_code() {
    let ad3 = |f: &dyn Fn(&mut pcp::model::AffidamentoDiretto)| {
        let mut d = example::affidamento(now());
        f(&mut d);
        schede::ad3(&d, now()).err().and_then(|e| e.rule())
    };
    assert_eq!(ad3(&|_| {}), None);
    assert_eq!(ad3(&|d| d.importo = Decimal::from(140_001)), Some("REG145"));
    assert_eq!(
        ad3(&|d| {
            d.appalto.lotti[0].oggetto = domain::thresholds::ContractObject::Works;
            d.appalto.lotti[0].quadro.lavori = Decimal::from(150_001);
            d.importo = Decimal::from(150_001);
        }),
        Some("REG144")
    );
    assert_eq!(
        ad3(&|d| {
            d.appalto.lotti[0].oggetto = domain::thresholds::ContractObject::Works;
            d.appalto.lotti[0].quadro.lavori = Decimal::from(150_000);
            d.importo = Decimal::from(150_000);
        }),
        None,
        "150,000 for works is allowed (art. 50 c.1 a)"
    );
    assert_eq!(
        ad3(&|d| d.appalto.lotti[0].quadro.servizi = Decimal::ZERO),
        Some("REG35_1")
    );
    assert_eq!(ad3(&|d| d.appalto.lotti.clear()), Some("REG112"));
    assert_eq!(ad3(&|d| d.appalto.lotti[0].pnrr = true), Some("REG18"));
    assert_eq!(
        ad3(&|d| d.appalto.motivo_urgenza = MotivoUrgenza::SommaUrgenzaProtezioneCivile),
        Some("REG7")
    );
    // rules of other tables do not apply to AD3: an offer deadline in the past is not REG105 here
    assert_eq!(
        ad3(&|d| d.appalto.lotti[0].scadenza_offerte = now() - Duration::days(1)),
        None
    );
}

#[test]
fn negotiated_publication_checks_only_its_tables_rules() {
    // REG11 (CUI of a programmed lot) is in P1_16's table, not in P7_2's
    let mut n = example::negoziata(now());
    n.lotti[0].in_programmazione = true;
    assert!(schede::p7_2(&n, now()).is_ok());
    assert_eq!(
        p1(&{
            let mut a = example::appalto(now());
            a.lotti[0].in_programmazione = true;
            a
        }),
        Some("REG11")
    );
    n.lotti[0].opzioni_rinnovi = true;
    assert_eq!(schede::p7_2(&n, now()).unwrap_err().rule(), Some("REG37"));
}

#[test]
fn every_checked_code_is_in_the_scheda_dmn_table_and_in_errori() {
    for code in [
        SchedaCode::P1_16,
        SchedaCode::P2_16,
        SchedaCode::P7_2,
        SchedaCode::AD3,
        SchedaCode::A1_29,
        SchedaCode::A2_29,
        SchedaCode::S2,
        SchedaCode::SC1,
    ] {
        let dmn = pcp::spec::scheda_rules_dmn(code);
        for rule in rules::checked(code) {
            let needle = format!("\\&quot;codice\\&quot;:\\&quot;{rule}\\&quot;");
            let plain = format!("\\\"codice\\\":\\\"{rule}\\\"");
            assert!(
                dmn.contains(&needle) || dmn.contains(&plain),
                "{rule} not in {}.dmn",
                code.as_str()
            );
            assert!(
                pcp::codes::error_description(rule).is_some(),
                "{rule} not in errori.json"
            );
        }
    }
}

#[test]
fn expired_codes_are_refused_at_the_schedas_date() {
    // ruoloOE 3 ("monosoggettivo") ended on 31 July 2025
    let mut elenco = example::elenco();
    elenco[0].partecipanti[0].membri[0].ruolo = pcp::codes::RuoloOE::MonosoggettivoFino2025;
    let err = schede::s2(&elenco, now()).unwrap_err();
    assert!(
        matches!(err, pcp::PcpError::ExpiredCode { ref list, .. } if list == "ruoloOE"),
        "{err}"
    );
    let before = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
    let mut elenco = example::elenco();
    for l in &mut elenco {
        for p in &mut l.partecipanti {
            for m in &mut p.membri {
                m.ruolo = pcp::codes::RuoloOE::MonosoggettivoFino2025;
            }
        }
    }
    assert!(schede::s2(&elenco, before).is_ok());
    // an unknown CCNL
    let mut a = example::appalto(now());
    a.lotti[0].ccnl = "ZZ9".into();
    assert!(matches!(
        schede::p1_16(&a, "<x/>", "<x/>", now()),
        Err(pcp::PcpError::UnknownCode { .. })
    ));
}
