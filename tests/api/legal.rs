//! Legal rules that depend on the stazione appaltante itself, tried as a buyer would.

use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::json;

/// Submits a request of `amount` euro for services and accepts it into an open procedure: (tender id).
async fn accepted_tender(app: &TestApp, w: &crate::flow::World, amount: &str) -> String {
    let mut body = request_body();
    body["estimated_amount"] = json!(amount);
    body["lots"][0]["estimated_amount"] = json!(amount);
    let r = ok(
        &app.post("/v1/requests", Some(&w.municipality), &body).await,
        201,
    );
    let acc = ok(
        &app.post(
            &format!("/v1/requests/{}/accept", r["id"].as_str().unwrap()),
            Some(&w.buyer),
            &json!({"procedure_type": "aperta"}),
        )
        .await,
        201,
    );
    acc["tender_id"].as_str().unwrap().to_owned()
}

async fn undeclared_qualification_limits_the_sua_to_art_62_c_1(backend: Backend) {
    // `sua.qualification` left undeclared
    let app = TestApp::spawn_with(backend, &[("SUA_SUA__QUALIFICATION", "")]).await;
    let w = world(&app).await;
    // 400,000 of services needs the intermediate level (art. 63 c.2): refused, naming the rule
    let big = accepted_tender(&app, &w, "400000.00").await;
    let r = app
        .post(
            &format!("/v1/tenders/{big}/events"),
            Some(&w.buyer),
            &json!({"event": "adopt_decision_to_contract"}),
        )
        .await;
    assert_eq!(r.0, 409, "{}", r.1);
    let text = r.1.to_string();
    assert!(text.contains("art. 62 c.2"), "{text}");
    assert!(text.contains("not declared"), "{text}");
    // nor can a buyer declare the SUA's level for one tender
    let r = app
        .post(
            &format!("/v1/tenders/{big}/events"),
            Some(&w.buyer),
            &json!({"event": "adopt_decision_to_contract",
                    "declarations": {"sua_qualification": "advanced"}}),
        )
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "declarations.sua_qualification");
    let t = ok(
        &app.get(&format!("/v1/tenders/{big}"), Some(&w.buyer)).await,
        200,
    );
    assert_eq!(t["state"], "draft", "nothing changed: {t}");
    // 100,000 of services is within what every SA may do (art. 62 c.1): accepted
    let small = accepted_tender(&app, &w, "100000.00").await;
    ok(
        &app.post(
            &format!("/v1/tenders/{small}/events"),
            Some(&w.buyer),
            &json!({"event": "adopt_decision_to_contract"}),
        )
        .await,
        200,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sua_without_a_declared_qualification_cannot_run_large_tenders_art_62_63() {
    undeclared_qualification_limits_the_sua_to_art_62_c_1(Backend::Sqlite).await;
}

/// A hand-written invitation of the outgoing contractor (art. 49): refused without the override, naming the
/// article; accepted with its reasons and the RUP's quality attestation, as the seeded draw would.
async fn rotation_holds_on_a_hand_written_invitee_list(app: TestApp) {
    use crate::register::{negotiated_tender, operator, world};
    let w = world(&app).await;
    let mut ops = Vec::new();
    for n in 1..=5 {
        ops.push(operator(&app, n).await.0);
    }
    let outgoing = ops[2].clone();
    // the last award in division 77 for this municipality went to `outgoing`
    let past = json!({"operator_id": outgoing, "category": "77", "amount": "150000.00",
        "awarded_on": (chrono::Utc::now() - chrono::Duration::days(90)).date_naive().to_string(),
        "municipality_id": w.comune, "reference": "Det. 12/2026"});
    ok(
        &app.post("/v1/register/awards", Some(&w.buyer), &past).await,
        201,
    );
    let tid = negotiated_tender(&app, &w).await;
    let tender = format!("/v1/tenders/{tid}");
    let events = format!("{tender}/events");
    let t = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
    let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
    ok(
        &app.post(
            &events,
            Some(&w.buyer),
            &json!({"event": "adopt_decision_to_contract"}),
        )
        .await,
        200,
    );
    ok(
        &app.patch(
            &format!("{tender}/lots/{lot}"),
            Some(&w.buyer),
            &json!({"cig": "B5A520026C", "evaluation_rules": {"anomaly": {"method": "A"}}}),
        )
        .await,
        200,
    );
    ok(
        &app.post(&events, Some(&w.buyer), &json!({"event": "acquire_cig"}))
            .await,
        200,
    );
    // the buyer writes the list by hand, the outgoing contractor in it
    let deadline = chrono::Utc::now() + chrono::Duration::days(20);
    ok(
        &app.patch(
            &tender,
            Some(&w.buyer),
            &json!({"deadline": deadline, "invitees": ops}),
        )
        .await,
        200,
    );
    let send = |declarations: serde_json::Value| json!({"event": "send_invitations", "declarations": declarations});
    // the sector is needed to apply rotation
    let r = app.post(&events, Some(&w.buyer), &send(json!({}))).await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "declarations.rotation_category");
    // a buyer cannot declare rotation away
    let r = app
        .post(
            &events,
            Some(&w.buyer),
            &send(json!({"rotation_category": "77", "outgoing_contractor_involved": false})),
        )
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    // without the override: refused, naming art. 49
    let r = app
        .post(
            &events,
            Some(&w.buyer),
            &send(json!({"rotation_category": "77"})),
        )
        .await;
    assert_eq!(r.0, 409, "{}", r.1);
    let text = r.1.to_string();
    assert!(text.contains("art. 49"), "{text}");
    assert!(
        text.contains(&outgoing),
        "names the outgoing contractor: {text}"
    );
    // an override without the RUP's attestation is refused naming the field
    let r = app
        .post(
            &events,
            Some(&w.buyer),
            &send(json!({"rotation_category": "77", "rotation_overrides": [
                {"operator_id": outgoing, "reason": "unico operatore con la macchina richiesta"}]})),
        )
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(
        r.1["field"],
        "declarations.rotation_overrides[0].quality_attestation"
    );
    let t = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
    assert_ne!(t["state"], "open", "nothing sent: {t}");
    // with reasons and attestation: accepted, the exception recorded
    let tr = ok(
        &app.post(
            &events,
            Some(&w.buyer),
            &send(json!({"rotation_category": "77", "rotation_overrides": [
                {"operator_id": outgoing, "reason": "unico operatore con la macchina richiesta",
                 "quality_attestation": "Il RUP attesta la regolare esecuzione del contratto precedente"}]})),
        )
        .await,
        200,
    );
    assert_eq!(tr["to"], "open");
    assert!(tr.to_string().contains("art. 49 c.4"), "{tr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_written_invitation_of_the_outgoing_contractor_is_refused_without_override_art_49() {
    rotation_holds_on_a_hand_written_invitee_list(TestApp::spawn(Backend::Sqlite).await).await;
}

/// The commissione giudicatrice of a quality-price lot has three or five members (art. 93 c.2): a
/// one-member (or even) commission is refused naming the article, three members are accepted.
async fn the_commission_has_three_or_five_members(app: TestApp) {
    let w = world(&app).await;
    let mut body = request_body();
    body["desired_criterion"] = json!("best_quality_price");
    let p = publish_open(&app, &w.municipality, &w.buyer, &body).await;
    let t = ok(
        &app.get(&format!("/v1/tenders/{}", p.tid), Some(&w.buyer))
            .await,
        200,
    );
    assert_eq!(t["criterion"], "quality_price", "{t}");
    let o = ok(
        &app.post(
            "/v1/operators",
            None,
            &json!({"name": "Pulizie Alfa srl", "codice_fiscale": "05949241110", "pec": "alfa@pec.it"}),
        )
        .await,
        201,
    );
    let b = ok(
        &app.post(
            &format!("/v1/lots/{}/bids", p.lot),
            o["token"].as_str(),
            &json!({"declared_discount": "10"}),
        )
        .await,
        201,
    );
    close_after_deadline(&app, &w.admin, &w.buyer, &p.tid, p.deadline).await;
    let lev = format!("/v1/lots/{}/events", p.lot);
    event(
        &app,
        &format!("/v1/tenders/{}/events", p.tid),
        &w.buyer,
        json!({"event": "start_evaluation"}),
    )
    .await;
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "open_administrative"}),
    )
    .await;
    event(
        &app,
        &format!("/v1/bids/{}/events", b["id"].as_str().unwrap()),
        &w.buyer,
        json!({"event": "admit"}),
    )
    .await;
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "start_technical_evaluation"}),
    )
    .await;
    for members in [1, 2, 7] {
        let r = app
            .post(
                &lev,
                Some(&w.buyer),
                &json!({"event": "appoint_commission", "declarations": {"commission_members": members}}),
            )
            .await;
        assert_eq!(r.0, 409, "{members} members: {}", r.1);
        assert!(r.1.to_string().contains("art. 93 c.2"), "{}", r.1);
    }
    event(
        &app,
        &lev,
        &w.buyer,
        json!({"event": "appoint_commission", "declarations": {"commission_members": 3}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_member_commissione_giudicatrice_is_refused_art_93() {
    the_commission_has_three_or_five_members(TestApp::spawn(Backend::Sqlite).await).await;
}
