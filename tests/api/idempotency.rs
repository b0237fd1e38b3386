//! `Idempotency-Key` (issue 20): a client that lost the answer retries with the same key and body and
//! gets the first answer (same receipt) without a second bid; the same key with another body is 422;
//! keys are scoped by token.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::{Value, json};

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn operator(app: &TestApp, name: &str, cf: &str, pec: &str) -> String {
    let a = ok(
        &app.post(
            "/v1/operators",
            None,
            &json!({"name": name, "codice_fiscale": cf, "pec": pec}),
        )
        .await,
        201,
    );
    a["token"].as_str().unwrap().to_owned()
}

both_backends!(
    a_retried_bid_submission_with_its_idempotency_key_lands_once,
    |app: TestApp| async move {
        let w = world(&app).await;
        let p = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
        let path = format!("/v1/lots/{}/bids", p.lot);
        let ta = operator(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
        let tb = operator(&app, "Beta Servizi spa", "02229829771", "beta@pec.it").await;
        let bid = json!({"declared_discount": "12.5"});
        let first = ok(&post_with_key(&app, &path, &ta, "retry-1", &bid).await, 201);
        // the answer was lost: the retry gets the same answer, receipt included, and no second bid
        let again = ok(&post_with_key(&app, &path, &ta, "retry-1", &bid).await, 201);
        assert_eq!(again, first);
        let mine = ok(&app.get("/v1/bids", Some(&ta)).await, 200);
        assert_eq!(mine["total"], 1, "{mine}");
        // the same key with another body: refused, naming the header
        let (status, problem) = post_with_key(
            &app,
            &path,
            &ta,
            "retry-1",
            &json!({"declared_discount": "13"}),
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
        // without the key the same body is a second submission: refused as such (the first counts)
        let (status, problem) = app.post(&path, Some(&ta), &bid).await;
        assert_eq!(status, 409, "{problem}");
        // keys are scoped by token: another bidder's "retry-1" is its own
        let other = ok(&post_with_key(&app, &path, &tb, "retry-1", &bid).await, 201);
        assert_ne!(other["receipt"], first["receipt"]);
        assert_eq!(
            other["receipt"]["receipt"]["sequence"].as_u64().unwrap(),
            first["receipt"]["receipt"]["sequence"].as_u64().unwrap() + 1
        );
        // a key that is not 1..255 visible ASCII characters is refused
        let (status, problem) = post_with_key(&app, &path, &tb, "due parole", &bid).await;
        assert_eq!(status, 422, "{problem}");
        // the withdrawal too: a retry returns the first receipt, not a refusal
        let id = first["id"].as_str().unwrap().to_owned();
        let wpath = format!("/v1/bids/{id}/withdraw");
        let w1 = ok(
            &post_with_key(&app, &wpath, &ta, "withdraw-1", &json!(null)).await,
            200,
        );
        let w2 = ok(
            &post_with_key(&app, &wpath, &ta, "withdraw-1", &json!(null)).await,
            200,
        );
        assert_eq!(w1, w2);
        // the OpenAPI documents the header
        let api = ok(&app.get("/openapi.json", None).await, 200);
        let params = &api["paths"]["/v1/lots/{id}/bids"]["post"]["parameters"];
        assert!(
            params
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
            "{params}"
        );
    }
);
