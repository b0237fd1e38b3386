//! PCP and the outcome of one lot: in a tender of two lots above the threshold, lot 1 is awarded (S2 and
//! A1_29 with its winner) while lot 2 ends alone, deserted or revoked: PCP receives, once, an A1_29
//! without a winner for lot 2's CIG only (valid against ANAC's schema: the mock refuses it otherwise) with
//! the award notice 29 saying `clos-nw` and the reason, and lot 1's schede are unaffected. On SQLite and
//! PostgreSQL, like `pcp.rs`.

use crate::flow::{request_body, world};
use crate::helpers::*;
use crate::pcp::{all_confirmed, mock, on_both_backends, spawn, wait_calls, wait_state};
use chrono::Duration;
use serde_json::{Value, json};
use service::pcp::mock::MockPcp;

/// Every CIG a scheda's body names.
fn cigs_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("cig", Value::String(s)) => out.push(s.clone()),
                    ("cig", Value::Array(a)) => {
                        out.extend(a.iter().filter_map(|c| c.as_str().map(str::to_owned)))
                    }
                    _ => cigs_in(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| cigs_in(x, out)),
        _ => {}
    }
}

fn cigs(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    cigs_in(v, &mut out);
    out.sort();
    out.dedup();
    out
}

/// The schede among the bodies PCP received, in order, with their codes (`P1_16`, `S2`...).
fn schede_sent(got: &[service::pcp::mock::Received]) -> (Vec<&Value>, Vec<&str>) {
    let schede: Vec<&Value> = got
        .iter()
        .map(|r| &r.body)
        .filter(|b| b.pointer("/scheda/codice/codice").is_some())
        .collect();
    let codes = schede
        .iter()
        .map(|b| b["scheda"]["codice"]["codice"].as_str().unwrap())
        .collect();
    (schede, codes)
}

fn eform(body: &Value) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(body["scheda"]["body"]["eform"].as_str().expect("an eForm"))
            .unwrap(),
    )
    .unwrap()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Ending {
    Deserted,
    Revoked,
}

on_both_backends!(
    a_lot_deserted_while_the_other_is_awarded_sends_its_own_a1_29_without_a_winner,
    |b| one_lot_ends_alone(b, Ending::Deserted, true)
);

on_both_backends!(
    a_lot_revoked_while_the_other_is_awarded_sends_its_own_a1_29_without_a_winner,
    |b| one_lot_ends_alone(b, Ending::Revoked, true)
);

on_both_backends!(
    below_the_threshold_a_lot_deserted_while_the_other_is_awarded_sends_its_own_nag,
    |b| one_lot_ends_alone(b, Ending::Deserted, false)
);

/// A tender of two lots published through the mock PCP, its CIGs confirmed: `above`: two lots of
/// 400,000 euro (above the EU threshold), else two of 90,000.
struct TwoLots {
    mock: MockPcp,
    app: TestApp,
    w: crate::flow::World,
    tid: String,
    tpath: String,
    ev: String,
    lots: [(String, String); 2],
    deadline: chrono::DateTime<chrono::Utc>,
}

async fn two_lots_published(backend: Backend, above: bool) -> TwoLots {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    // two lots of services: 400,000 euro each, above the EU threshold, or 90,000 each, below it
    let (each, total) = if above {
        ("400000.00", "800000.00")
    } else {
        ("90000.00", "180000.00")
    };
    let mut body = request_body();
    body["estimated_amount"] = json!(total);
    body["lots"] = json!([
        {"title": "Lotto 1: edifici scolastici", "estimated_amount": each},
        {"title": "Lotto 2: uffici comunali", "estimated_amount": each}
    ]);
    let tid = accepted(&app, &w.municipality, &w.buyer, &body, "aperta").await;
    let tpath = format!("/v1/tenders/{tid}");
    let ev = format!("{tpath}/events");
    event(
        &app,
        &ev,
        &w.buyer,
        json!({"event": "adopt_decision_to_contract"}),
    )
    .await;
    let deadline = chrono::Utc::now() + Duration::days(40);
    ok(
        &app.patch(&tpath, Some(&w.buyer), &json!({"deadline": deadline}))
            .await,
        200,
    );
    if !above {
        // below the threshold the tender documents provide for the automatic exclusion (art. 54 c.1)
        let t = ok(&app.get(&tpath, Some(&w.buyer)).await, 200);
        for l in t["lots"].as_array().unwrap() {
            ok(
                &app.patch(
                    &format!("{tpath}/lots/{}", l["id"].as_str().unwrap()),
                    Some(&w.buyer),
                    &json!({"evaluation_rules": {"anomaly": {"method": "A"}}}),
                )
                .await,
                200,
            );
        }
    }
    let tr = event(&app, &ev, &w.buyer, json!({"event": "acquire_cig"})).await;
    assert_eq!(tr["to"], "approved", "{tr}");
    let t = wait_state(&app, &tpath, &w.buyer, "/state", "ready").await;
    let lot_of = |n: usize| {
        let l = &t["lots"][n];
        assert_eq!(l["number"], json!(n + 1), "{t}");
        (
            l["id"].as_str().unwrap().to_owned(),
            l["cig"].as_str().expect("a CIG from PCP").to_owned(),
        )
    };
    let ((lot1, cig1), (lot2, cig2)) = (lot_of(0), lot_of(1));
    assert_ne!(cig1, cig2);
    event(&app, &ev, &w.buyer, json!({"event": "publish"})).await;
    wait_calls(&app, &tid, &w.buyer, "pubblica-avviso", |c| {
        all_confirmed(c, 3)
    })
    .await;

    TwoLots {
        mock,
        app,
        w,
        tid,
        tpath,
        ev,
        lots: [(lot1, cig1), (lot2, cig2)],
        deadline,
    }
}

/// Lot 1 awarded, lot 2 ending alone; `above`: two lots of 400,000 euro (A1_29 / A1_29 without a winner),
/// else two of 90,000 (A2_29 / NAG).
async fn one_lot_ends_alone(backend: Backend, ending: Ending, above: bool) {
    let TwoLots {
        mock,
        app,
        w,
        tid,
        tpath,
        ev: _,
        lots: [(lot1, cig1), (lot2, cig2)],
        deadline,
    } = two_lots_published(backend, above).await;
    let (award_code, nw_code) = if above {
        ("A1_29", "A1_29")
    } else {
        ("A2_29", "NAG")
    };
    // two bids on lot 1, none on lot 2
    let bids = bid_ids(register_and_bid(&app, &lot1, &ALFA_AND_BETA).await);
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": deadline + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    wait_state(&app, &tpath, &w.buyer, "/state", "closed").await;

    // lot 1 goes to award: S2 and A1_29 with its winner
    verified_for_award(&app, &w.buyer, &tid, &lot1, &bids).await;
    let tr = event(
        &app,
        &format!("/v1/lots/{lot1}/events"),
        &w.buyer,
        json!({"event": "award"}),
    )
    .await;
    assert_eq!(tr["to"], "awarded", "{tr}");
    wait_calls(&app, &tid, &w.buyer, "S2 and A1_29 of lot 1", |c| {
        all_confirmed(c, 5)
    })
    .await;

    // lot 2 ends alone
    let lev2 = format!("/v1/lots/{lot2}/events");
    let (to, reason) = match ending {
        Ending::Deserted => (
            event(&app, &lev2, &w.buyer, json!({"event": "declare_deserted"})).await,
            "no-rece",
        ),
        Ending::Revoked => (
            event(
                &app,
                &lev2,
                &w.buyer,
                json!({"event": "revoke",
                       "declarations": {"motivation": "Il servizio degli uffici comunali è stato internalizzato"}}),
            )
            .await,
            "chan-need",
        ),
    };
    let want = match ending {
        Ending::Deserted => "deserted",
        Ending::Revoked => "revoked",
    };
    assert_eq!(to["to"], want, "{to}");
    let c = wait_calls(&app, &tid, &w.buyer, "the outcome of lot 2", |c| {
        all_confirmed(c, 6)
    })
    .await;
    // the tender's calls show it: lot 2's own call, confirmed
    let last = &c[5];
    assert_eq!(
        (
            last["lot_id"].as_str(),
            last["purpose"].as_str(),
            last["scheda"].as_str(),
            last["status"].as_str()
        ),
        (
            Some(lot2.as_str()),
            Some("not_awarded"),
            Some(nw_code),
            Some("confermata")
        ),
        "{c:#?}"
    );
    assert!(last["remote_id"].is_string(), "{last}");
    let of_lot1: Vec<(&str, &str)> = c
        .iter()
        .filter(|x| x["lot_id"] == json!(lot1))
        .map(|x| {
            (
                x["purpose"].as_str().unwrap(),
                x["scheda"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        of_lot1,
        [("bidders", "S2"), ("award", award_code)],
        "{c:#?}"
    );
    let t = ok(&app.get(&tpath, Some(&w.buyer)).await, 200);
    assert_eq!(t["lots"][0]["state"], "awarded", "{t}");
    assert_eq!(t["lots"][1]["state"], want, "{t}");

    // what PCP received: every body valid, lot 2's scheda once, naming lot 2's CIG only
    let got = mock.received();
    assert!(got.iter().all(|r| r.status == 200), "{got:#?}");
    let (schede, codes) = schede_sent(&got);
    let publication = if above { "P1_16" } else { "P2_16" };
    assert_eq!(codes, [publication, "S2", award_code, nw_code], "{codes:?}");
    let (award1, nw2) = (schede[2], schede[3]);
    assert_eq!(cigs(award1), [cig1.as_str()], "{award1}");
    assert_eq!(cigs(nw2), [cig2.as_str()], "{nw2}");
    let ag1 = &award1["scheda"]["body"]["anacForm"]["aggiudicazioni"][0];
    let winners: Vec<&Value> = ag1["offertePresentate"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["aggiudicatario"] == json!(true))
        .collect();
    assert_eq!(winners.len(), 1, "{ag1}");
    if !above {
        // NAG: lot 2 alone, with the reason
        let lotti = nw2["scheda"]["body"]["anacForm"]["lotti"]
            .as_array()
            .unwrap();
        assert_eq!(lotti.len(), 1, "{nw2}");
        assert_eq!(
            lotti[0]["datiBaseRisultatoProcedura"]["giustificazione"]["codice"], reason,
            "{nw2}"
        );
        assert!(nw2["scheda"]["body"].get("eform").is_none(), "{nw2}");
        return;
    }
    let ag2 = &nw2["scheda"]["body"]["anacForm"]["aggiudicazioni"];
    assert_eq!(ag2.as_array().unwrap().len(), 1, "{ag2}");
    assert_eq!(ag2[0]["numeroOfferteAmmesse"], json!(0), "{ag2}");
    assert!(
        ag2[0]["offertePresentate"]
            .as_array()
            .is_none_or(|o| o.is_empty()),
        "{ag2}"
    );
    assert_eq!(
        ag2[0].get("esitoProceduraAnnullata").is_some(),
        ending == Ending::Revoked,
        "revoked after the publication: esitoProceduraAnnullata; deserted: none. {ag2}"
    );
    let lotti = nw2["scheda"]["body"]["anacForm"]["lotti"].as_array();
    if let Some(lotti) = lotti {
        let ids: Vec<&Value> = lotti.iter().map(|l| &l["lotIdentifier"]).collect();
        assert_eq!(ids, [&json!("LOT-0002")], "{nw2}");
    }
    let xml = eform(nw2);
    assert!(xml.contains(">clos-nw</cbc:TenderResultCode>"), "{xml}");
    assert!(!xml.contains(">selec-w</cbc:TenderResultCode>"), "{xml}");
    assert!(
        xml.contains(&format!(r#"listName="non-award-justification">{reason}<"#)),
        "{xml}"
    );
    let xml1 = eform(award1);
    assert!(xml1.contains(">selec-w</cbc:TenderResultCode>"), "{xml1}");
    // the crea-scheda of lot 2's outcome went once
    let crea: usize = got
        .iter()
        .filter(|r| r.path.ends_with("crea-scheda"))
        .count();
    assert_eq!(crea, 3, "S2, A1_29 of lot 1, A1_29 of lot 2");
}

on_both_backends!(
    a_deserted_tender_reports_only_the_lots_that_did_not_report_alone,
    deserted_tender_after_one_lot_alone
);

/// No bid on either lot: lot 2 is declared deserted alone (its own A1_29 without a winner), then the
/// whole tender is declared deserted: its A1_29 without a winner names lot 1 only, and lot 2 is not
/// reported twice.
async fn deserted_tender_after_one_lot_alone(backend: Backend) {
    let TwoLots {
        mock,
        app,
        w,
        tid,
        tpath,
        ev,
        lots: [(_, cig1), (lot2, cig2)],
        deadline,
    } = two_lots_published(backend, true).await;
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": deadline + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    wait_state(&app, &tpath, &w.buyer, "/state", "closed").await;
    let to = event(
        &app,
        &format!("/v1/lots/{lot2}/events"),
        &w.buyer,
        json!({"event": "declare_deserted"}),
    )
    .await;
    assert_eq!(to["to"], "deserted", "{to}");
    wait_calls(&app, &tid, &w.buyer, "lot 2 deserted", |c| {
        all_confirmed(c, 4)
    })
    .await;
    let to = event(&app, &ev, &w.buyer, json!({"event": "declare_deserted"})).await;
    assert_eq!(to["to"], "deserted", "{to}");
    let c = wait_calls(&app, &tid, &w.buyer, "the tender deserted", |c| {
        all_confirmed(c, 5)
    })
    .await;
    let not_awarded: Vec<(Option<&str>, &str)> = c
        .iter()
        .filter(|x| x["purpose"] == "not_awarded")
        .map(|x| (x["lot_id"].as_str(), x["scheda"].as_str().unwrap()))
        .collect();
    assert_eq!(
        not_awarded,
        [(Some(lot2.as_str()), "A1_29"), (None, "A1_29")],
        "{c:#?}"
    );
    let got = mock.received();
    let (schede, codes) = schede_sent(&got);
    assert_eq!(codes, ["P1_16", "A1_29", "A1_29"], "{codes:?}");
    assert_eq!(cigs(schede[1]), [cig2.as_str()], "{}", schede[1]);
    assert_eq!(cigs(schede[2]), [cig1.as_str()], "{}", schede[2]);
}

on_both_backends!(
    a_lot_revoked_after_bids_sends_its_bidders_then_its_outcome,
    lot_revoked_after_bids
);

/// A bid on each lot; after the deadline lot 2 is revoked: PCP receives lot 2's participants (S2) and
/// then its A1_29 without a winner, both for lot 2's CIG and valid (the mock checks every body).
async fn lot_revoked_after_bids(backend: Backend) {
    let TwoLots {
        mock,
        app,
        w,
        tid,
        tpath,
        ev: _,
        lots: [(lot1, _), (lot2, cig2)],
        deadline,
    } = two_lots_published(backend, true).await;
    register_and_bid(&app, &lot1, &ALFA_AND_BETA[..1]).await;
    register_and_bid(&app, &lot2, &ALFA_AND_BETA[1..]).await;
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": deadline + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    wait_state(&app, &tpath, &w.buyer, "/state", "closed").await;
    let to = event(
        &app,
        &format!("/v1/lots/{lot2}/events"),
        &w.buyer,
        json!({"event": "revoke",
               "declarations": {"motivation": "Il servizio degli uffici comunali è stato internalizzato"}}),
    )
    .await;
    assert_eq!(to["to"], "revoked", "{to}");
    let c = wait_calls(&app, &tid, &w.buyer, "lot 2 revoked", |c| {
        all_confirmed(c, 5)
    })
    .await;
    let of_lot2: Vec<(&str, &str)> = c
        .iter()
        .filter(|x| x["lot_id"] == json!(lot2))
        .map(|x| {
            (
                x["purpose"].as_str().unwrap(),
                x["scheda"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        of_lot2,
        [("bidders", "S2"), ("not_awarded", "A1_29")],
        "{c:#?}"
    );
    let got = mock.received();
    assert!(got.iter().all(|r| r.status == 200), "{got:#?}");
    let (schede, codes) = schede_sent(&got);
    assert_eq!(codes, ["P1_16", "S2", "A1_29"], "{codes:?}");
    assert_eq!(cigs(schede[1]), [cig2.as_str()], "{}", schede[1]);
    assert_eq!(cigs(schede[2]), [cig2.as_str()], "{}", schede[2]);
}

on_both_backends!(
    a_direct_award_of_two_lots_is_refused_at_acquire_cig_naming_lots,
    direct_award_of_two_lots_refused
);

/// AD3 creates the appalto already awarded with one lot: a direct award of two lots is refused at
/// `acquire_cig` (422 naming `lots`) even with the operator and amount stated, and nothing goes to PCP.
async fn direct_award_of_two_lots_refused(backend: Backend) {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let mut body = request_body();
    body["estimated_amount"] = json!("38000.00");
    body["lots"] = json!([
        {"title": "Lotto 1", "estimated_amount": "20000.00"},
        {"title": "Lotto 2", "estimated_amount": "18000.00"}
    ]);
    let tid = accepted(
        &app,
        &w.municipality,
        &w.buyer,
        &body,
        "affidamento_diretto",
    )
    .await;
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    assert_eq!(t["lots"].as_array().unwrap().len(), 2, "{t}");
    let ev = format!("/v1/tenders/{tid}/events");
    event(
        &app,
        &ev,
        &w.buyer,
        json!({"event": "adopt_decision_to_contract", "declarations": {"contractor_named": true}}),
    )
    .await;
    let o = ok(
        &app.post(
            "/v1/operators",
            None,
            &json!({"name": "Pulizie Alfa srl", "codice_fiscale": "05949241110", "pec": "alfa@pec.it"}),
        )
        .await,
        201,
    );
    let op = o["operator"]["id"].as_str().unwrap().to_owned();
    for (n, importo) in [(0, "20000.00"), (1, "18000.00")] {
        let lot = t["lots"][n]["id"].as_str().unwrap();
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}/lots/{lot}"),
                Some(&w.buyer),
                &json!({"pcp": {"affidatario": op, "importo_affidamento": importo}}),
            )
            .await,
            200,
        );
    }
    let r = app
        .post(&ev, Some(&w.buyer), &json!({"event": "acquire_cig"}))
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "lots", "{}", r.1);
    assert!(
        r.1["detail"].as_str().unwrap_or_default().contains("AD3"),
        "{}",
        r.1
    );
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    assert_eq!(t["state"], "approved", "{t}");
    assert!(
        t["lots"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["cig"].is_null()),
        "{t}"
    );
    let c = crate::pcp::calls(&app, &tid, &w.buyer).await;
    assert!(c.is_empty(), "no call enqueued: {c:?}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(mock.received().is_empty(), "{:?}", mock.received());
}

on_both_backends!(
    a_bid_judged_abnormally_low_after_its_explanations_is_offerta_anomala_in_a1_29,
    anomaly_judged_per_bid
);

/// Art. 110: the best offer appears abnormally low; its explanations are not accepted
/// (`reject_justification`): the bid is excluded (art. 110 c.5) and the judgement is
/// recorded on the lot's stored evaluation for that bid (`lots[].evaluation.anomaly_verification`); the award goes to the next bid, and A1_29 says
/// `offertaAnomala` for the rejected bid only (not `impresaEsclusaAutomaticamente`: no art. 54 step here).
async fn anomaly_judged_per_bid(backend: Backend) {
    let mock = mock();
    let app = spawn(backend, &mock, &[]).await;
    let w = world(&app).await;
    let (tid, lot) = crate::pcp::to_acquire_cig(&app, &w).await;
    let tpath = format!("/v1/tenders/{tid}");
    wait_state(&app, &tpath, &w.buyer, "/state", "ready").await;
    let ev = format!("{tpath}/events");
    event(&app, &ev, &w.buyer, json!({"event": "publish"})).await;
    let bids = bid_ids(
        register_and_bid(
            &app,
            &lot,
            &[
                ("Pulizie Alfa srl", "05949241110", "alfa@pec.it", "38.5"),
                ("Beta Servizi spa", "02229829771", "beta@pec.it", "12.5"),
                ("Gamma Coop", "01234567897", "gamma@pec.it", "9.5"),
            ],
        )
        .await,
    );
    let t = ok(&app.get(&tpath, Some(&w.buyer)).await, 200);
    let deadline: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(t["deadline"].clone()).unwrap();
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": deadline + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    wait_state(&app, &tpath, &w.buyer, "/state", "closed").await;
    let lev = format!("/v1/lots/{lot}/events");
    event(&app, &ev, &w.buyer, json!({"event": "start_evaluation"})).await;
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "open_administrative"}),
    )
    .await;
    for id in &bids {
        event(
            &app,
            &format!("/v1/bids/{id}/events"),
            &w.buyer,
            json!({"event": "admit"}),
        )
        .await;
    }
    for e in ["start_economic_evaluation", "open_economic_offers"] {
        event(&app, &lev, &w.buyer, json!({ "event": e })).await;
    }
    let evaluation = ok(
        &app.post(
            &format!("/v1/lots/{lot}/evaluate"),
            Some(&w.buyer),
            &json!({}),
        )
        .await,
        200,
    );
    assert_eq!(
        evaluation["result"]["ranking"][0]["id"], bids[0],
        "the 38.5% discount ranks first: {evaluation}"
    );
    // explanations asked of the best offer (art. 110 c.1-2), then not accepted (c.5)
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "start_anomaly_check",
               "declarations": {"best_offer_suspected_anomalous": true, "anomaly_term_days": 10}}),
    )
    .await;
    let tr = event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "reject_justification"}),
    )
    .await;
    assert_eq!(tr["to"], "ranked", "{tr}");
    let a = ok(
        &app.get(&format!("/v1/bids/{}", bids[0]), Some(&w.buyer))
            .await,
        200,
    );
    assert_eq!(
        a["state"], "excluded",
        "the offer is excluded (art. 110 c.5): {a}"
    );
    let t = ok(&app.get(&tpath, Some(&w.buyer)).await, 200);
    let judged = &t["lots"][0]["evaluation"]["anomaly_verification"];
    assert_eq!(judged.as_array().map(Vec::len), Some(1), "{t}");
    assert_eq!(judged[0]["bid"], bids[0], "{judged}");
    assert_eq!(judged[0]["anomalous"], true, "{judged}");
    // the award goes to the next offer
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "propose_award", "bid_id": bids[1],
               "declarations": {"best_offer_suspected_anomalous": false}}),
    )
    .await;
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "verify_requirements", "declarations": {"requirements_verified": true}}),
    )
    .await;
    let tr = event(&app, &lev, &w.buyer, json!({"event": "award"})).await;
    assert_eq!(tr["to"], "awarded", "{tr}");
    wait_calls(&app, &tid, &w.buyer, "S2 and A1_29", |c| {
        all_confirmed(c, 5)
    })
    .await;
    let got = mock.received();
    assert!(got.iter().all(|r| r.status == 200), "{got:#?}");
    let a1 = got
        .iter()
        .map(|r| &r.body)
        .find(|b| b.pointer("/scheda/codice/codice") == Some(&json!("A1_29")))
        .expect("A1_29 sent");
    let offerte = a1["scheda"]["body"]["anacForm"]["aggiudicazioni"][0]["offertePresentate"]
        .as_array()
        .unwrap_or_else(|| panic!("{a1}"));
    let of = |id: &str| {
        offerte
            .iter()
            .find(|o| o["idPartecipante"] == id)
            .unwrap_or_else(|| panic!("{id} in {offerte:?}"))
    };
    let (rejected, winner, third) = (of(&bids[0]), of(&bids[1]), of(&bids[2]));
    assert_eq!(rejected["offertaAnomala"], true, "{rejected}");
    assert_eq!(
        rejected["impresaEsclusaAutomaticamente"], false,
        "{rejected}"
    );
    assert_eq!(rejected["aggiudicatario"], false, "{rejected}");
    assert_eq!(winner["offertaAnomala"], false, "{winner}");
    assert_eq!(winner["aggiudicatario"], true, "{winner}");
    assert_eq!(third["offertaAnomala"], false, "{third}");
}
