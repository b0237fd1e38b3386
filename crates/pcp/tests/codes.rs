//! The hand-written code-list enums match ANAC's vendored lists (`spec/tipologiche/*.json`): every variant's
//! code is in its list; a list marked complete has no code the enum lacks. A list ANAC changes makes this
//! fail.

use pcp::codes::{self, Tipologica};
use std::collections::BTreeSet;

fn check<T: Tipologica>() {
    let entries = codes::entries(T::ID).unwrap_or_else(|| panic!("{} not vendored", T::ID));
    let listed: BTreeSet<&str> = entries.iter().map(|e| e.code.as_str()).collect();
    let ours: BTreeSet<&str> = T::all().iter().map(|t| t.code()).collect();
    assert_eq!(
        ours.len(),
        T::all().len(),
        "{}: a code written twice",
        T::ID
    );
    let unknown: Vec<_> = ours.difference(&listed).collect();
    assert!(
        unknown.is_empty(),
        "{}: codes not in ANAC's list: {unknown:?}",
        T::ID
    );
    if T::COMPLETE {
        let missing: Vec<_> = listed.difference(&ours).collect();
        assert!(
            missing.is_empty(),
            "{}: ANAC codes missing from the enum: {missing:?}",
            T::ID
        );
    }
}

#[test]
fn enums_match_anacs_lists() {
    check::<codes::FunzioniSvolte>();
    check::<codes::TipoOE>();
    check::<codes::RuoloOE>();
    check::<codes::PrestazioniComprese>();
    check::<codes::MotivoUrgenza>();
    check::<codes::TipoFinanziamento>();
    check::<codes::MotivoCollegamento>();
    check::<codes::ContrattiDisposizioniParticolari>();
    check::<codes::ModalitaAcquisizione>();
    check::<codes::CategoriaMerceologica>();
    check::<codes::TipologiaAvvalimento>();
    check::<codes::EsitoProceduraAnnullata>();
    check::<codes::EsitoProcedura>();
    check::<codes::GiustificazioneEsito>();
    check::<codes::Esito>();
    check::<codes::TipoOperazione>();
    check::<codes::EsitoOperazione>();
    check::<codes::StatoAppalto>();
    check::<codes::CriterioAggiudicazione>();
    check::<codes::SchedaCode>();
}

#[test]
fn a_code_list_value_serialises_as_anacs_pair() {
    let v = serde_json::to_value(codes::FunzioniSvolte::AggiudicazioneEStipula).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"idTipologica": "funzioniSvolte", "codice": "2"})
    );
}

#[test]
fn every_vendored_list_parses_with_codes() {
    for id in [
        "ccnl",
        "categoria",
        "errori",
        "tipoProcedura",
        "codiceScheda",
        "misurePremiali",
        "motivoDeroga",
    ] {
        let e = codes::entries(id).unwrap();
        assert!(
            !e.is_empty() && e.iter().all(|x| !x.code.is_empty()),
            "{id}"
        );
    }
    assert!(
        codes::error_description("REG47")
            .unwrap()
            .contains("offerte")
    );
}
