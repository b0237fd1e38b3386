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
