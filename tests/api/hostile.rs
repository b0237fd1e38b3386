//! Hostile clients (issue 20): control characters and bidirectional overrides in free text, unknown
//! fields in a body; later: server limits, the per-token rate limit, token expiry and revocation.

use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::json;

/// Each refused body is a 422 problem naming the field, and nothing is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_bidi_overrides_and_unknown_fields_are_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let cases = [
        ("object", json!("Servizio\u{0}di pulizia")),
        ("object", json!("Servizio \u{202E}atsiv")),
        ("rup", json!("Mario\u{1b}[2J Rossi")),
        ("lots[0].title", json!("Lotto\u{2066}unico")),
    ];
    for (field, v) in cases {
        let mut b = request_body();
        if field == "lots[0].title" {
            b["lots"][0]["title"] = v;
        } else {
            b[field] = v;
        }
        let r = app.post("/v1/requests", Some(&w.municipality), &b).await;
        assert_eq!(r.0, 422, "{field}: {}", r.1);
        assert_eq!(r.1["field"], field, "{}", r.1);
        assert_eq!(r.1["type"], "https://sua.invalid/problems/invalid-input");
    }
    // tab and newline are text
    let mut b = request_body();
    b["desired_timing"] = json!("entro marzo 2027\n\tsalvo proroghe");
    ok(
        &app.post("/v1/requests", Some(&w.municipality), &b).await,
        201,
    );
    // an unknown field, at the top and inside a lot
    let mut b = request_body();
    b["priority"] = json!("high");
    let r = app.post("/v1/requests", Some(&w.municipality), &b).await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("priority")),
        "{}",
        r.1
    );
    let mut b = request_body();
    b["lots"][0]["cig"] = json!("x");
    let r = app.post("/v1/requests", Some(&w.municipality), &b).await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "lots[0].cig", "{}", r.1);
    // POST /v1/tokens accepted unknown fields before (issue 20)
    let (okc, admin) = app.cli(&["admin", "create-token", "--role", "platform_admin"]);
    assert!(okc, "{admin}");
    let admin = admin.lines().last().unwrap().to_owned();
    let r = app
        .post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin", "scopes": ["all"]}),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("scopes")),
        "{}",
        r.1
    );
    let r = app
        .post(
            "/v1/tokens",
            Some(&admin),
            &json!({"role": "platform_admin", "label": "ops\u{0}"}),
        )
        .await;
    assert_eq!(
        (r.0, r.1["field"].as_str()),
        (422, Some("label")),
        "{}",
        r.1
    );
    // one request was created, by the accepted body
    assert_eq!(
        ok(&app.get("/v1/requests", Some(&w.municipality)).await, 200)["total"],
        1
    );
}
