//! `Idempotency-Key` (issue 20): a client that lost the answer retries with the same key and body and
//! gets the first answer (same receipt) without a second bid; the same key with another body is 422;
//! keys are scoped by token. Uploads (tender and request documents, sealed bid files; streamed or as JSON)
//! too: a retry stores no second row and no second object.

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

/// A `PUT` of raw bytes (a streamed upload), with an `Idempotency-Key` when given.
async fn put_bytes(
    app: &TestApp,
    path: &str,
    token: &str,
    key: Option<&str>,
    ct: &str,
    body: &[u8],
) -> (u16, Value) {
    let mut rb = app
        .client
        .put(app.url(path))
        .bearer_auth(token)
        .header("content-type", ct)
        .header("connection", "close")
        .body(body.to_vec());
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Every object in the server's document store (files under `data/documents`, recursively).
fn store_objects(app: &TestApp) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![app.data_dir().join("data/documents")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A PDF upload under `key` refused with 422 naming the `Idempotency-Key` header.
async fn key_refused(app: &TestApp, path: &str, token: &str, key: &str, content: &[u8]) {
    let (status, problem) =
        put_bytes(app, path, token, Some(key), "application/pdf", content).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["field"], "Idempotency-Key", "{problem}");
}

fn has_key_param(api: &Value, path: &str, method: &str) -> bool {
    api["paths"][path][method]["parameters"]
        .as_array()
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")
        })
}

both_backends!(
    a_retried_upload_with_its_idempotency_key_stores_one_document_and_one_object,
    |app: TestApp| async move {
        let w = world(&app).await;
        let p = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
        let tid = p.tid.clone();
        let path = format!("/v1/tenders/{tid}/documents/capitolato.pdf");
        let docs = format!("/v1/tenders/{tid}/documents");
        let content = b"%PDF-1.4 capitolato speciale d'appalto".to_vec();
        let before = store_objects(&app).len();

        // tender document, streamed: the retry gets the first answer, no second row, no second object
        let first = ok(
            &put_bytes(
                &app,
                &path,
                &w.buyer,
                Some("doc-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        let again = ok(
            &put_bytes(
                &app,
                &path,
                &w.buyer,
                Some("doc-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        assert_eq!(again, first);
        let list = ok(&app.get(&docs, Some(&w.buyer)).await, 200);
        let named = |l: &Value, n: &str| {
            l.as_array()
                .unwrap()
                .iter()
                .filter(|d| d["name"] == n)
                .count()
        };
        assert_eq!(named(&list, "capitolato.pdf"), 1, "{list}");
        assert_eq!(store_objects(&app).len(), before + 1);
        // without the key the same upload is a second one: refused as such (the name is taken)
        let (status, problem) =
            put_bytes(&app, &path, &w.buyer, None, "application/pdf", &content).await;
        assert_eq!(status, 409, "{problem}");
        // the same key with another content, or another media type: 422 naming the header, nothing stored
        key_refused(
            &app,
            &path,
            &w.buyer,
            "doc-1",
            b"%PDF-1.4 un altro capitolato",
        )
        .await;
        let (status, problem) =
            put_bytes(&app, &path, &w.buyer, Some("doc-1"), "text/plain", &content).await;
        assert!(status == 422 || status == 415, "{status} {problem}");
        // ... or on another route (another file name)
        let other_name = format!("/v1/tenders/{tid}/documents/disciplinare.pdf");
        key_refused(&app, &other_name, &w.buyer, "doc-1", &content).await;
        // a malformed key is refused before anything is stored
        key_refused(&app, &other_name, &w.buyer, "due parole", &content).await;
        // nobody else's token replays the key: another Province's buyer is judged on its own (404)
        let (status, problem) = put_bytes(
            &app,
            &path,
            &w.other_buyer,
            Some("doc-1"),
            "application/pdf",
            &content,
        )
        .await;
        assert_eq!(status, 404, "{problem}");
        assert!(problem.get("id").is_none(), "{problem}");
        assert_eq!(store_objects(&app).len(), before + 1);
        let list = ok(&app.get(&docs, Some(&w.buyer)).await, 200);
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

        // tender document as JSON with base64 content: the same rule
        let json_doc = json!({"name": "bando.pdf", "media_type": "application/pdf",
            "content_base64": "JVBERi0xLjQgYmFuZG8="});
        let j1 = ok(
            &post_with_key(&app, &docs, &w.buyer, "doc-2", &json_doc).await,
            201,
        );
        let j2 = ok(
            &post_with_key(&app, &docs, &w.buyer, "doc-2", &json_doc).await,
            201,
        );
        assert_eq!(j1, j2);
        let mut changed = json_doc.clone();
        changed["content_base64"] = json!("JVBERi0xLjQgYWx0cm8=");
        let (status, problem) = post_with_key(&app, &docs, &w.buyer, "doc-2", &changed).await;
        assert_eq!(status, 422, "{problem}");
        let list = ok(&app.get(&docs, Some(&w.buyer)).await, 200);
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
        assert_eq!(store_objects(&app).len(), before + 2);

        // a municipality's request attachment, streamed
        let rq = ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let rq = rq["id"].as_str().unwrap().to_owned();
        let rpath = format!("/v1/requests/{rq}/documents/relazione.pdf");
        let r1 = ok(
            &put_bytes(
                &app,
                &rpath,
                &w.municipality,
                Some("att-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        let r2 = ok(
            &put_bytes(
                &app,
                &rpath,
                &w.municipality,
                Some("att-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        assert_eq!(r1, r2);
        let rl = ok(
            &app.get(
                &format!("/v1/requests/{rq}/documents"),
                Some(&w.municipality),
            )
            .await,
            200,
        );
        assert_eq!(rl.as_array().unwrap().len(), 1, "{rl}");
        assert_eq!(store_objects(&app).len(), before + 3);

        // a sealed bid file: the retry gets the same file and receipt, even after the deadline
        let ta = operator(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
        let tb = operator(&app, "Beta Servizi spa", "02229829771", "beta@pec.it").await;
        let sub = ok(
            &app.post(
                &format!("/v1/lots/{}/bids", p.lot),
                Some(&ta),
                &json!({"declared_discount": "12.5", "administrative": {"dgue": "ok"}}),
            )
            .await,
            201,
        );
        let bid = sub["id"].as_str().unwrap().to_owned();
        let fpath = format!("/v1/bids/{bid}/envelopes/administrative/files/dgue.pdf");
        let f1 = ok(
            &put_bytes(
                &app,
                &fpath,
                &ta,
                Some("file-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        assert!(f1["receipt"].is_object(), "{f1}");
        let f2 = ok(
            &put_bytes(
                &app,
                &fpath,
                &ta,
                Some("file-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        assert_eq!(f2, f1);
        assert_eq!(store_objects(&app).len(), before + 4);
        let (status, problem) = put_bytes(
            &app,
            &fpath,
            &ta,
            Some("file-1"),
            "application/pdf",
            b"%PDF-1.4 altro",
        )
        .await;
        assert_eq!(status, 422, "{problem}");
        // another bidder with the same key and content: its own request, refused as such (not its bid)
        let (status, problem) = put_bytes(
            &app,
            &fpath,
            &tb,
            Some("file-1"),
            "application/pdf",
            &content,
        )
        .await;
        assert_eq!(status, 404, "{problem}");
        assert!(problem.get("receipt").is_none(), "{problem}");
        assert_eq!(store_objects(&app).len(), before + 4);
        // the deadline passes: a new upload is refused, the retry still gets its answer
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": p.deadline + chrono::Duration::minutes(1)}),
            )
            .await,
            200,
        );
        let (status, problem) = put_bytes(
            &app,
            &fpath.replace("dgue.pdf", "tardi.pdf"),
            &ta,
            Some("file-2"),
            "application/pdf",
            &content,
        )
        .await;
        assert_eq!(status, 409, "{problem}");
        let f3 = ok(
            &put_bytes(
                &app,
                &fpath,
                &ta,
                Some("file-1"),
                "application/pdf",
                &content,
            )
            .await,
            201,
        );
        assert_eq!(f3, f1);
        assert_eq!(store_objects(&app).len(), before + 4);

        // two copies of the same upload at once (a client retrying before the first answer): both get
        // the one document; the loser's object is deleted
        let race = format!("/v1/tenders/{tid}/documents/concorrente.pdf");
        let big: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
        let (x, y) = tokio::join!(
            put_bytes(
                &app,
                &race,
                &w.buyer,
                Some("race-1"),
                "application/pdf",
                &big
            ),
            put_bytes(
                &app,
                &race,
                &w.buyer,
                Some("race-1"),
                "application/pdf",
                &big
            ),
        );
        let (x, y) = (ok(&x, 201), ok(&y, 201));
        assert_eq!(x, y);
        let list = ok(&app.get(&docs, Some(&w.buyer)).await, 200);
        assert_eq!(named(&list, "concorrente.pdf"), 1, "{list}");
        assert_eq!(store_objects(&app).len(), before + 5);

        // the OpenAPI documents the header on every upload route
        let api = ok(&app.get("/openapi.json", None).await, 200);
        for (path, method) in [
            ("/v1/tenders/{id}/documents/{name}", "put"),
            ("/v1/requests/{id}/documents/{name}", "put"),
            ("/v1/tenders/{id}/documents", "post"),
            ("/v1/requests/{id}/documents", "post"),
            ("/v1/bids/{id}/envelopes/{kind}/files/{name}", "put"),
        ] {
            assert!(has_key_param(&api, path, method), "{method} {path}");
        }
    }
);
