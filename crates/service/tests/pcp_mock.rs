//! The mock PCP answers ANAC's worked example's sequence (crea-appalto P1_16 → conferma-appalto →
//! esito-operazione with the CIGs → pubblica-avviso → S2 → A1_29 → SC1) with bodies built by the `pcp`
//! crate, refuses invalid bodies with ANAC-style errors, and injects faults.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use pcp::{eforms, example, schede};
use serde_json::{Value, json};
use service::pcp::mock::{Fault, MockPcp};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn post(c: &reqwest::Client, m: &MockPcp, path: &str, body: &Value) -> (u16, Value) {
    let r = c
        .post(format!("{}{path}", m.url))
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn get(c: &reqwest::Client, m: &MockPcp, path: &str) -> (u16, Value) {
    let r = c.get(format!("{}{path}", m.url)).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The mock's answer is valid against ANAC's OpenAPI component for it.
fn assert_answer(component: &str, answer: &Value) {
    let v = jsonschema::validator_for(&pcp::spec::openapi_schema(component)).unwrap();
    let errs: Vec<String> = v
        .iter_errors(answer)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errs.is_empty(), "{component}: {errs:#?}\n{answer}");
}

/// crea-appalto with the sample P1_16; returns idAppalto.
async fn create(c: &reqwest::Client, m: &MockPcp) -> String {
    let a = example::appalto(now());
    let cn = eforms::contract_notice(&a, &eforms::NoticeIds::example(), now()).unwrap();
    let p1 = schede::p1_16(&a, &cn, "<espd/>", now()).unwrap();
    let (s, r) = post(c, m, "/ComunicaAppalto/v2/crea-appalto", &p1.request(None)).await;
    assert_eq!(s, 200, "{r}");
    assert_answer("CreaAppaltoResponse", &r);
    r["idAppalto"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_worked_example_sequence_goes_through() {
    let m = MockPcp::start();
    let c = client();
    let id = create(&c, &m).await;

    let (s, r) = post(
        &c,
        &m,
        "/ComunicaAppalto/v2/conferma-appalto",
        &json!({"idAppalto": id}),
    )
    .await;
    assert_eq!(
        (s, r["detail"].as_str()),
        (200, Some("Richiesta acquisita"))
    );

    let (s, r) = get(&c, &m, &format!("/ServiziComuni/v2/esito-operazione?idAppalto={id}&tipoRicerca=ULTIMO_ESITO&tipoOperazione=AP_CONF")).await;
    assert_eq!(s, 200);
    assert_answer("EsitoOperazioneListaResponse", &r);
    let esito = &r["listaEsiti"][0];
    assert_eq!(esito["esito"]["codice"], "OK");
    let id_avviso = esito["idAvviso"].as_str().unwrap().to_owned();

    let (s, r) = get(
        &c,
        &m,
        &format!("/ComunicaAppalto/v2/recupera-cig?idAppalto={id}"),
    )
    .await;
    assert_eq!(s, 200);
    assert_answer("CigListaResponse", &r);
    let result = r["result"].as_array().unwrap();
    assert_eq!(result.len(), 2);
    assert_eq!(result[0]["lotIdentifier"], "LOT-0001");
    // the CIGs PCP assigns pass ANAC's check algorithm
    let cigs: Vec<domain::ids::Cig> = result
        .iter()
        .map(|x| domain::ids::Cig::parse(x["cig"].as_str().unwrap()).unwrap())
        .collect();

    let (s, _) = post(
        &c,
        &m,
        "/PubblicaAvviso/v2/pubblica-avviso",
        &json!({"idAppalto": id, "idAvviso": id_avviso}),
    )
    .await;
    assert_eq!(s, 200);

    // the post-publication schede carry the CIGs PCP assigned
    let mut elenco = example::elenco();
    let mut esito_agg = example::esito();
    for (i, cig) in cigs.iter().enumerate() {
        elenco[i].cig = cig.clone();
        esito_agg.aggiudicazioni[i].cig = cig.clone();
    }
    let mut contratto = example::contratto();
    contratto.cig = vec![cigs[0].clone()];
    let a = example::appalto(now());
    let can = eforms::award_notice(
        &a,
        &esito_agg,
        &elenco,
        &eforms::NoticeIds::example(),
        now(),
    )
    .unwrap();
    let uuid: uuid::Uuid = id.parse().unwrap();
    for scheda in [
        schede::s2(&elenco, now()).unwrap(),
        schede::a1_29(&esito_agg, &can, now()).unwrap(),
        schede::sc1(&contratto).unwrap(),
    ] {
        let (s, r) = post(
            &c,
            &m,
            "/ComunicaPostPubblicazione/v2/crea-scheda",
            &scheda.request(Some(uuid)),
        )
        .await;
        assert_eq!(s, 200, "{} {r}", scheda.codice.as_str());
        assert_answer("CreaSchedaResponse", &r);
        let id_scheda = r["idScheda"].as_str().unwrap();
        let (s, _) = post(
            &c,
            &m,
            "/ComunicaPostPubblicazione/v2/conferma-scheda",
            &json!({"idScheda": id_scheda, "idAppalto": id}),
        )
        .await;
        assert_eq!(s, 200);
    }
    let (_, r) = get(&c, &m, &format!("/ServiziComuni/v2/esito-operazione?idAppalto={id}&tipoRicerca=TUTTI&tipoOperazione=SC_CONF")).await;
    assert_eq!(r["listaEsiti"].as_array().unwrap().len(), 3);
    let paths: Vec<String> = m
        .received()
        .into_iter()
        .filter(|r| r.status == 200)
        .map(|r| r.path)
        .collect();
    assert_eq!(paths.len(), 12);
    assert_eq!(paths[0], "/ComunicaAppalto/v2/crea-appalto");
}

#[tokio::test]
async fn an_invalid_scheda_is_refused_with_anacs_error() {
    let m = MockPcp::start();
    let c = client();
    let a = example::appalto(now());
    let mut req = schede::p1_16(&a, "<x/>", "<x/>", now())
        .unwrap()
        .request(None);
    req["scheda"]["body"]["anacForm"]["lotti"][0]
        .as_object_mut()
        .unwrap()
        .remove("finanziamenti");
    let (s, r) = post(&c, &m, "/ComunicaAppalto/v2/crea-appalto", &req).await;
    assert_eq!(s, 400);
    assert_answer("ErrorResponse", &r);
    assert_eq!(r["errori"][0]["codice"], "ERR4");
    assert!(
        r["errori"][0]["dettaglio"]
            .as_str()
            .unwrap()
            .contains("finanziamenti"),
        "{r}"
    );
    // the envelope too: a request without its scheda code
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaAppalto/v2/crea-appalto",
        &json!({"scheda": {"versione": "1.0", "body": {}}}),
    )
    .await;
    assert_eq!((s, r["errori"][0]["codice"].as_str()), (400, Some("ERR4")));
    // a post-award scheda naming a CIG that is not the appalto's
    let id = create(&c, &m).await;
    let s2 = schede::s2(&example::elenco(), now()).unwrap();
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaPostPubblicazione/v2/crea-scheda",
        &s2.request(Some(id.parse().unwrap())),
    )
    .await;
    assert_eq!((s, r["errori"][0]["codice"].as_str()), (404, Some("ERR23")));
}

#[tokio::test]
async fn faults_5xx_timeout_and_ko() {
    let m = MockPcp::start();
    let c = client();
    m.inject(Fault::Status(503));
    let a = example::appalto(now());
    let body = schede::p1_16(&a, "<x/>", "<x/>", now())
        .unwrap()
        .request(None);
    let (s, r) = post(&c, &m, "/ComunicaAppalto/v2/crea-appalto", &body).await;
    assert_eq!((s, r["status"].as_u64()), (503, Some(503)));

    m.inject(Fault::Delay(Duration::from_secs(8)));
    let short = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let err = short
        .post(format!("{}/ComunicaAppalto/v2/crea-appalto", m.url))
        .json(&body)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    let id = create(&c, &m).await;
    m.inject(Fault::Ko {
        codice: "ERR16".into(),
        dettaglio: "operazione non consentita per lo stato dell'appalto".into(),
    });
    let (s, _) = post(
        &c,
        &m,
        "/ComunicaAppalto/v2/conferma-appalto",
        &json!({"idAppalto": id}),
    )
    .await;
    assert_eq!(
        s, 200,
        "conferma is asynchronous: the KO comes with esito-operazione"
    );
    let (_, r) = get(&c, &m, &format!("/ServiziComuni/v2/esito-operazione?idAppalto={id}&tipoRicerca=ULTIMO_ESITO&tipoOperazione=AP_CONF")).await;
    assert_eq!(r["listaEsiti"][0]["esito"]["codice"], "KO");
    assert_eq!(r["listaEsiti"][0]["errori"][0]["codice"], "ERR16");
    let (_, r) = get(
        &c,
        &m,
        &format!("/ComunicaAppalto/v2/recupera-cig?idAppalto={id}"),
    )
    .await;
    assert_eq!(r["result"], json!([]), "no CIG after a KO");
    // resent, it goes through
    let (s, _) = post(
        &c,
        &m,
        "/ComunicaAppalto/v2/conferma-appalto",
        &json!({"idAppalto": id}),
    )
    .await;
    assert_eq!(s, 200);
    let (_, r) = get(
        &c,
        &m,
        &format!("/ComunicaAppalto/v2/recupera-cig?idAppalto={id}"),
    )
    .await;
    assert_eq!(r["result"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_below_threshold_schede_are_accepted_too() {
    let m = MockPcp::start();
    let c = client();
    // negotiated without bando: P7_2 → conferma → CIG → A2_29 → NAG of nothing (one lot, awarded)
    let n = example::negoziata(now());
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaAppalto/v2/crea-appalto",
        &schede::p7_2(&n, now()).unwrap().request(None),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let id = r["idAppalto"].as_str().unwrap().to_owned();
    post(
        &c,
        &m,
        "/ComunicaAppalto/v2/conferma-appalto",
        &json!({"idAppalto": id}),
    )
    .await;
    let (_, r) = get(
        &c,
        &m,
        &format!("/ComunicaAppalto/v2/recupera-cig?idAppalto={id}"),
    )
    .await;
    let cig = domain::ids::Cig::parse(r["result"][0]["cig"].as_str().unwrap()).unwrap();
    // the invitees, after the offer deadline
    let s12 = schede::s1_2(
        &[pcp::model::InvitatiLotto {
            cig: cig.clone(),
            data_invito: now(),
            scadenza_offerte: n.lotti[0].scadenza_offerte,
            invitati: example::partecipanti(),
        }],
        now(),
    )
    .unwrap();
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaPostPubblicazione/v2/crea-scheda",
        &s12.request(Some(id.parse().unwrap())),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let mut e = example::esito();
    e.procedura = pcp::model::Procedura::NegoziataSenzaBando;
    e.aggiudicazioni.truncate(1);
    e.aggiudicazioni[0].cig = cig.clone();
    let a2 = schede::a2_29(&e, now()).unwrap();
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaPostPubblicazione/v2/crea-scheda",
        &a2.request(Some(id.parse().unwrap())),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    // a lot that ends without an award
    let nag = schede::nag(
        &[pcp::model::MancataAggiudicazione {
            cig,
            ..example::deserta()
        }],
        now(),
    )
    .unwrap();
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaPostPubblicazione/v2/crea-scheda",
        &nag.request(Some(id.parse().unwrap())),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    // open below the threshold and direct award create their appalto
    let mut open = example::appalto(now());
    open.sopra_soglia = false;
    for body in [
        schede::p2_16(&open, "<espd/>", now())
            .unwrap()
            .request(None),
        schede::ad3(&example::affidamento(now()), now())
            .unwrap()
            .request(None),
    ] {
        let (s, r) = post(&c, &m, "/ComunicaAppalto/v2/crea-appalto", &body).await;
        assert_eq!(s, 200, "{r}");
    }
    // a post-award scheda is not accepted by crea-appalto
    let (s, r) = post(
        &c,
        &m,
        "/ComunicaAppalto/v2/crea-appalto",
        &json!({"scheda": a2.envelope()}),
    )
    .await;
    assert_eq!((s, r["errori"][0]["codice"].as_str()), (400, Some("ERR2")));
}

#[tokio::test]
async fn an_outage_answers_503_until_it_ends_and_a_duplicate_appalto_is_refused() {
    let m = MockPcp::start();
    let c = client();
    let a = example::appalto(now());
    let body = schede::p1_16(&a, "<x/>", "<x/>", now())
        .unwrap()
        .request(None);
    m.set_down(true);
    for _ in 0..3 {
        let (s, r) = post(&c, &m, "/ComunicaAppalto/v2/crea-appalto", &body).await;
        assert_eq!(
            (s, r["errori"][0]["codice"].as_str()),
            (503, Some("ERR500"))
        );
    }
    m.set_down(false);
    let (s, _) = post(&c, &m, "/ComunicaAppalto/v2/crea-appalto", &body).await;
    assert_eq!(s, 200);
    // sent twice (e.g. by two replicas): PCP refuses the second
    let (s, r) = post(&c, &m, "/ComunicaAppalto/v2/crea-appalto", &body).await;
    assert_eq!((s, r["errori"][0]["codice"].as_str()), (400, Some("ERR38")));
    let statuses: Vec<u16> = m.received().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 503, 200, 400]);
}
