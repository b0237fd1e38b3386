//! Every scheda the crate builds is valid against ANAC's JSON schema of that scheda (vendored, compiled in,
//! `allOf` inheritance flattened by `pcp::spec`), checked offline with the `jsonschema` crate. The schema
//! loading itself is tested too: it refuses what ANAC's model refuses and accepts inherited properties.

use chrono::{DateTime, TimeZone, Utc};
use pcp::{SchedaCode, example, schede, spec};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

fn validator(code: SchedaCode) -> jsonschema::Validator {
    jsonschema::validator_for(&spec::scheda_body_schema(code)).expect("ANAC's schema compiles")
}

fn errors(code: SchedaCode, body: &Value) -> Vec<String> {
    validator(code)
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn assert_valid(code: SchedaCode, body: &Value) {
    let errs = errors(code, body);
    assert!(errs.is_empty(), "{} invalid: {errs:#?}", code.as_str());
}

fn p1_16() -> pcp::Scheda {
    let a = example::appalto(now());
    let eform =
        pcp::eforms::contract_notice(&a, &pcp::eforms::NoticeIds::example(), now()).unwrap();
    schede::p1_16(&a, &eform, "<espd/>", now()).unwrap()
}

#[test]
fn p1_16_is_valid_against_its_schema() {
    let s = p1_16();
    assert_valid(SchedaCode::P1_16, &s.body);
    let req = s.request(None);
    assert_eq!(
        req["scheda"]["codice"],
        json!({"idTipologica": "codiceScheda", "codice": "P1_16"})
    );
    assert_eq!(req["scheda"]["versione"], "1.0");
    // the CUC fields: the Comune is titolare, the Province states what it does
    let sas = &s.body["anacForm"]["stazioniAppaltanti"];
    assert_eq!(sas[0]["saTitolare"], true);
    assert_eq!(sas[0]["codiceFiscale"], "00345678908");
    assert!(sas[0].get("funzioniSvolte").is_none());
    assert_eq!(sas[1]["saTitolare"], false);
    assert_eq!(
        sas[1]["funzioniSvolte"],
        json!([{"idTipologica": "funzioniSvolte", "codice": "1"}])
    );
    // finanziamenti, required by the current model, are there
    assert_eq!(
        s.body["anacForm"]["lotti"][0]["finanziamenti"][0]["importo"],
        json!(255000)
    );
}

#[test]
fn p2_16_below_threshold_is_valid_against_its_schema() {
    let mut a = example::appalto(now());
    a.sopra_soglia = false;
    let s = schede::publication(&a, "<unused/>", "<espd/>", now()).unwrap();
    assert_eq!(s.codice, SchedaCode::P2_16);
    assert_valid(SchedaCode::P2_16, &s.body);
    assert!(s.body.get("eform").is_none());
    let lot = &s.body["anacForm"]["lotti"][1];
    assert_eq!(lot["datiBase"]["importo"], json!(185000));
    assert_eq!(lot["datiBaseCPV"]["cpvPrevalente"]["codice"], "77310000");
    assert_eq!(
        s.body["anacForm"]["appalto"]["datiBase"]["importo"],
        json!(440000)
    );
    // and the schema is strict there too
    let mut body = s.body.clone();
    body["anacForm"]["lotti"][0]
        .as_object_mut()
        .unwrap()
        .remove("datiBaseCPV");
    assert!(
        errors(SchedaCode::P2_16, &body)
            .iter()
            .any(|e| e.contains("datiBaseCPV"))
    );
    // above the threshold the same tender gets P1_16
    a.sopra_soglia = true;
    assert_eq!(
        schede::publication(&a, "<cn/>", "<espd/>", now())
            .unwrap()
            .codice,
        SchedaCode::P1_16
    );
    a.procedura = pcp::model::Procedura::NegoziataSenzaBando;
    assert!(schede::publication(&a, "<cn/>", "<espd/>", now()).is_err());
}

#[test]
fn p7_2_negotiated_and_ad3_direct_award_are_valid_against_their_schemas() {
    let n = example::negoziata(now());
    let s = schede::publication(&n, "<unused/>", "<unused/>", now()).unwrap();
    assert_eq!(s.codice, SchedaCode::P7_2);
    assert_valid(SchedaCode::P7_2, &s.body);
    assert_eq!(
        s.body["anacForm"]["lotti"][0]["condizioniNegoziata"][0]["codice"],
        "45"
    );
    assert_eq!(
        s.body["anacForm"]["appalto"]["datiBaseProcedura"]["tipoProcedura"]["codice"],
        "neg-wo-call"
    );

    let d = example::affidamento(now());
    let s = schede::ad3(&d, now()).unwrap();
    assert_valid(SchedaCode::AD3, &s.body);
    assert!(s.codice.creates_appalto(), "AD3 goes to crea-appalto");
    let p = &s.body["anacForm"]["aggiudicazioni"][0]["partecipanti"][0];
    assert_eq!(
        (p["importo"].clone(), p["codiceFiscale"].clone()),
        (json!(38000), json!("01234567897"))
    );
    let mut rti = example::affidamento(now());
    rti.affidatario = example::partecipanti().remove(2);
    assert!(
        schede::ad3(&rti, now()).is_err(),
        "a grouping is refused, not half-reported"
    );
}

#[test]
fn publish_and_award_pick_the_scheda_and_return_the_eform() {
    let mut a = example::appalto(now());
    let ids = pcp::eforms::NoticeIds::example();
    let (s, cn) = schede::publish(&a, &ids, "<espd/>", now()).unwrap();
    assert_eq!(s.codice, SchedaCode::P1_16);
    let cn = cn.expect("a contract notice above the threshold");
    use base64::Engine;
    let sent = base64::engine::general_purpose::STANDARD
        .decode(s.body["eform"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        sent,
        cn.as_bytes(),
        "the eForm in the scheda is the one returned"
    );
    let (s, can) = schede::award(&a, &example::esito(), &example::elenco(), &ids, now()).unwrap();
    assert_eq!((s.codice, can.is_some()), (SchedaCode::A1_29, true));
    a.sopra_soglia = false;
    let (s, cn) = schede::publish(&a, &ids, "<espd/>", now()).unwrap();
    assert_eq!((s.codice, cn), (SchedaCode::P2_16, None));
    let (s, can) = schede::award(&a, &example::esito(), &example::elenco(), &ids, now()).unwrap();
    assert_eq!((s.codice, can), (SchedaCode::A2_29, None));
}

#[test]
fn s1_2_invitees_are_valid_against_their_schema() {
    let lotti = vec![pcp::model::InvitatiLotto {
        cig: example::cigs()[0].clone(),
        data_invito: now(),
        scadenza_offerte: now() + chrono::Duration::days(15),
        invitati: example::partecipanti(),
    }];
    let s = schede::s1_2(&lotti, now()).unwrap();
    assert_valid(SchedaCode::S1_2, &s.body);
    assert_eq!(
        s.body["anacForm"]["elencoSoggetti"][0]["elencoInvitati"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let mut empty = lotti.clone();
    empty[0].invitati.clear();
    assert_eq!(
        schede::s1_2(&empty, now()).unwrap_err().rule(),
        Some("REG137")
    );
    let mut unnamed = lotti;
    unnamed[0].invitati[0].membri[0].denominazione = " ".into();
    assert_eq!(
        schede::s1_2(&unnamed, now()).unwrap_err().rule(),
        Some("REG138")
    );
}

#[test]
fn s2_a1_29_a2_29_sc1_nag_are_valid_against_their_schemas() {
    let s2 = schede::s2(&example::elenco(), now()).unwrap();
    assert_valid(SchedaCode::S2, &s2.body);
    // an RTI is listed member by member under one idPartecipante
    let parts = s2.body["anacForm"]["elencoSoggetti"][0]["partecipanti"]
        .as_array()
        .unwrap();
    assert_eq!(parts.len(), 4);
    assert_eq!(parts[2]["idPartecipante"], parts[3]["idPartecipante"]);
    assert_eq!(parts[3]["paeseOperatoreEconomico"], "FRA");

    let a = example::appalto(now());
    let eform = pcp::eforms::award_notice(
        &a,
        &example::esito(),
        &example::elenco(),
        &pcp::eforms::NoticeIds::example(),
        now(),
    )
    .unwrap();
    let a1 = schede::a1_29(&example::esito(), &eform, now()).unwrap();
    assert_valid(SchedaCode::A1_29, &a1.body);
    assert_eq!(
        a1.body["anacForm"]["aggiudicazioni"][1]["offertePresentate"][1]["offertaEconomica"],
        json!(10)
    );

    // above the threshold, a revoked lot is reported in A1_29 with esitoProceduraAnnullata and no winner
    let mut revoked = example::esito();
    revoked.aggiudicazioni[1]
        .offerte
        .iter_mut()
        .for_each(|o| o.aggiudicatario = false);
    revoked.aggiudicazioni[1].annullata = Some(pcp::codes::EsitoProceduraAnnullata::DopoLAvvio);
    let a1r = schede::a1_29(&revoked, "<can/>", now()).unwrap();
    assert_valid(SchedaCode::A1_29, &a1r.body);
    assert_eq!(
        a1r.body["anacForm"]["aggiudicazioni"][1]["esitoProceduraAnnullata"]["codice"],
        "7"
    );
    revoked.aggiudicazioni[1].offerte[0].aggiudicatario = true;
    assert!(
        schede::a1_29(&revoked, "<can/>", now()).is_err(),
        "a revoked lot with a winner"
    );

    // above the threshold, a deserted lot (no bids) is A1_29 with no offers and no winner, not NAG
    let mut deserted = example::esito();
    deserted.aggiudicazioni.truncate(1);
    deserted.aggiudicazioni[0].offerte.clear();
    deserted.aggiudicazioni[0].offerte_ammesse = 0;
    deserted.aggiudicazioni[0].senza_vincitore =
        Some(pcp::codes::GiustificazioneEsito::NessunaOfferta);
    let a1d = schede::a1_29(&deserted, "<can/>", now()).unwrap();
    assert_valid(SchedaCode::A1_29, &a1d.body);
    assert_eq!(
        a1d.body["anacForm"]["aggiudicazioni"][0]["numeroOfferteAmmesse"],
        json!(0)
    );
    assert!(a1d.body["anacForm"]["aggiudicazioni"][0]["esitoProceduraAnnullata"].is_null());
    // a lot closed without a winner that names one is refused before sending
    let mut wrong = example::esito();
    wrong.aggiudicazioni[0].senza_vincitore = Some(pcp::codes::GiustificazioneEsito::TutteRespinte);
    assert!(schede::a1_29(&wrong, "<can/>", now()).is_err());

    // below the threshold the award goes in A2_29
    let mut below = example::esito();
    below.procedura = pcp::model::Procedura::NegoziataSenzaBando;
    let a2 = schede::a2_29(&below, now()).unwrap();
    assert_valid(SchedaCode::A2_29, &a2.body);
    assert_eq!(
        a2.body["anacForm"]["appalto"]["datiBaseProcedura"]["tipoProcedura"]["codice"],
        "neg-wo-call"
    );
    assert_eq!(
        a2.body["anacForm"]["aggiudicazioni"][0]["datiBaseRisultatoProcedura"]["esitoProcedura"]["codice"],
        "selec-w"
    );
    below.procedura = pcp::model::Procedura::AffidamentoDiretto;
    assert!(schede::a2_29(&below, now()).is_err());

    let sc1 = schede::sc1(&example::contratto()).unwrap();
    assert_valid(SchedaCode::SC1, &sc1.body);
    assert_eq!(
        sc1.body["anacForm"]["datiContratto"]["importoCauzione"],
        json!(21500)
    );
    assert_eq!(
        sc1.body["anacForm"]["datiContratto"]["dataStipula"],
        "2026-12-01T00:00:00Z"
    );

    let nag = schede::nag(&[example::deserta()], now()).unwrap();
    assert_valid(SchedaCode::NAG, &nag.body);
}

#[test]
fn the_schema_refuses_a_missing_required_field_and_an_unknown_property() {
    let mut body = p1_16().body;
    body["anacForm"]["lotti"][0]
        .as_object_mut()
        .unwrap()
        .remove("finanziamenti");
    let errs = errors(SchedaCode::P1_16, &body);
    assert!(errs.iter().any(|e| e.contains("finanziamenti")), "{errs:?}");

    let mut body = p1_16().body;
    body["anacForm"]["lotti"][0]["nonNelModello"] = json!(true);
    let errs = errors(SchedaCode::P1_16, &body);
    assert!(errs.iter().any(|e| e.contains("nonNelModello")), "{errs:?}");
}

#[test]
fn allof_inheritance_keeps_both_the_base_and_the_derived_properties() {
    // LottoP_16Type = LottoBaseType (lotIdentifier, finanziamenti, ...) + its own (ccnl, categoria, ...),
    // both with additionalProperties: false. Read as plain JSON Schema no lot could be valid.
    let schema = spec::scheda_body_schema(SchedaCode::P1_16);
    let lotto = &schema["$defs"]["comuni__LottoP_16Type"];
    assert!(lotto.get("allOf").is_none());
    for p in [
        "lotIdentifier",
        "finanziamenti",
        "ccnl",
        "quadroEconomicoStandard",
    ] {
        assert!(lotto["properties"].get(p).is_some(), "{p} missing");
    }
    let required: Vec<&str> = lotto["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"finanziamenti") && required.contains(&"ccnl"));
    assert_eq!(lotto["additionalProperties"], json!(false));
    // AggiudicazioneA1_29Type states no additionalProperties: it inherits the base's false
    let schema = spec::scheda_body_schema(SchedaCode::A1_29);
    assert_eq!(
        schema["$defs"]["comuni__AggiudicazioneA1_29Type"]["additionalProperties"],
        json!(false)
    );
}

fn example_file(name: &str) -> Value {
    let text = match name {
        "P1_16" => include_str!("../spec/esempi/P1_16.json"),
        "A1_29" => include_str!("../spec/esempi/A1_29.json"),
        "S2" => include_str!("../spec/esempi/S2.json"),
        _ => unreachable!(),
    };
    serde_json::from_str(text).unwrap()
}

#[test]
fn anacs_worked_example_predates_the_model_only_where_the_model_changed() {
    // The worked example's P1_16 was written for an older model: since then `finanziamenti` became
    // required, `ccnl` became a code-list value, and three lot flags were removed. Exactly these differences
    // are found, nothing else (so the schema loading does not refuse what the model allows).
    let p1 = example_file("P1_16");
    let errs = errors(SchedaCode::P1_16, &p1["scheda"]["body"]);
    assert_eq!(errs.len(), 6, "{errs:#?}");
    for e in &errs {
        assert!(
            e.contains("\"finanziamenti\" is a required property")
                || e.contains("is not of type \"object\" at /anacForm/lotti/0/ccnl")
                || e.contains("is not of type \"object\" at /anacForm/lotti/1/ccnl")
                || e.contains("'iniziativeNonSoddisfacenti', 'regimeParticolare', 'saNonSoggettaObblighi24Dicembre2015' were unexpected"),
            "unexpected: {e}"
        );
    }
    // A1_29: `offertaAnomala` became required and `ccnl` a code-list value.
    let a1 = example_file("A1_29");
    let errs = errors(SchedaCode::A1_29, &a1["scheda"]["body"]);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(
        errs[0].contains("\"offertaAnomala\" is a required property"),
        "{errs:#?}"
    );
    assert!(
        errs[1].contains(
            "is not of type \"object\" at /anacForm/aggiudicazioni/0/offertePresentate/0/ccnl"
        ),
        "{errs:#?}"
    );
    // S2: the auxiliary firms (`impreseAusiliarie`) left the model; nothing else differs.
    let s2 = example_file("S2");
    let errs = errors(SchedaCode::S2, &s2["scheda"]["body"]);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs.iter()
            .all(|e| e.contains("'impreseAusiliarie' was unexpected")),
        "{errs:#?}"
    );
}

#[test]
fn request_schemas_of_the_e_services_compile_and_check_the_envelope() {
    for c in [
        "CreaAppaltoRequest",
        "ConfermaAppaltoRequest",
        "CreaSchedaRequest",
        "ConfermaSchedaRequest",
        "PubblicaAvvisoRequest",
    ] {
        jsonschema::validator_for(&spec::request_schema(c)).unwrap_or_else(|e| panic!("{c}: {e}"));
    }
    let v = jsonschema::validator_for(&spec::request_schema("CreaAppaltoRequest")).unwrap();
    assert!(v.is_valid(&p1_16().request(None)));
    assert!(!v.is_valid(&json!({"scheda": {"versione": "1.0", "body": {}}})));
    let v = jsonschema::validator_for(&spec::request_schema("CreaSchedaRequest")).unwrap();
    let s2 = schede::s2(&example::elenco(), now()).unwrap();
    assert!(v.is_valid(&s2.request(Some(uuid::Uuid::from_u128(9)))));
    assert!(
        !v.is_valid(&s2.request(None)),
        "crea-scheda needs idAppalto"
    );
}
