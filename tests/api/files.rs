//! Sealed bid files over HTTP (issue 6, "Documents"): upload streamed and sealed into the store, no
//! role can read a file before its envelope opens, round trip after opening, 413 over the limit with
//! nothing left in the store, 415 for a media type not allowed, a tampered stored file detected.

use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MARK: &[u8] = b"FILE-MARKER-c4d1e2f3";

async fn event(app: &TestApp, path: &str, token: &str, ev: &str) {
    ok(
        &app.post(path, Some(token), &json!({"event": ev})).await,
        200,
    );
}

/// A published open procedure (lowest price): (tender id, lot id, deadline).
async fn published(
    app: &TestApp,
    w: &crate::flow::World,
) -> (String, String, chrono::DateTime<chrono::Utc>) {
    let p = publish_open(app, &w.municipality, &w.buyer, &request_body()).await;
    (p.tid, p.lot, p.deadline)
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

async fn upload(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    ct: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rb = app
        .client
        .put(app.url(path))
        .header("content-type", ct)
        // refusals answer before reading the body; a fresh connection each time avoids reusing one
        // the server is closing
        .header("connection", "close")
        .body(body);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn download(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Vec<u8>) {
    let mut rb = app.client.get(app.url(path));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    (
        status,
        resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
    )
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every file under `dir` (recursively), with its content.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out
}

fn store_entries(app: &TestApp) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(app.data_dir().join("data/documents"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A request whose Content-Length announces more than the 1 GiB default limit: the answer (413) comes
/// before any body is sent.
async fn oversized_put(app: &TestApp, path: &str, token: &str) -> String {
    let host = app.base.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
    let req = format!(
        "PUT {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        (1u64 << 30) + 1
    );
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(&[0u8; 4096]).await.unwrap();
    let mut buf = vec![0u8; 512];
    let n = tokio::time::timeout(std::time::Duration::from_secs(20), s.read(&mut buf))
        .await
        .expect("no answer to an oversized upload")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn sealed_files_round_trip_only_after_opening() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let w = world(&app).await;
    let (tid, lot, deadline) = published(&app, &w).await;
    let ta = operator(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
    let tb = operator(&app, "Beta Servizi spa", "02229829771", "beta@pec.it").await;
    let sub = ok(
        &app.post(
            &format!("/v1/lots/{lot}/bids"),
            Some(&ta),
            &json!({"declared_discount": "12.5", "administrative": {"dgue": "ok"}}),
        )
        .await,
        201,
    );
    let ida = sub["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/bids/{ida}/envelopes/administrative/files/dgue.pdf");
    // 300 KiB, several sealed chunks, with a marker in the middle
    let mut content: Vec<u8> = (0..300 * 1024u32).map(|i| (i % 253) as u8).collect();
    content[150_000..150_000 + MARK.len()].copy_from_slice(MARK);

    // refusals: media type, name, someone else's bid, no token, an envelope the bid does not have
    let r = upload(&app, &path, Some(&ta), "text/html", content.clone()).await;
    assert_eq!(r.0, 415, "{}", r.1);
    assert_eq!(r.1["field"], "content-type", "{}", r.1);
    let bad_name = format!("/v1/bids/{ida}/envelopes/administrative/files/.hidden");
    let r = upload(&app, &bad_name, Some(&ta), "application/pdf", vec![1]).await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "name", "{}", r.1);
    let r = upload(&app, &path, Some(&tb), "application/pdf", vec![1]).await;
    assert_eq!(r.0, 404, "{}", r.1);
    let r = upload(&app, &path, Some(&w.buyer), "application/pdf", vec![1]).await;
    assert_eq!(r.0, 403, "{}", r.1);
    let r = upload(&app, &path, None, "application/pdf", vec![1]).await;
    assert_eq!(r.0, 401, "{}", r.1);
    let tech = format!("/v1/bids/{ida}/envelopes/technical/files/x.pdf");
    let r = upload(&app, &tech, Some(&ta), "application/pdf", vec![1]).await;
    assert_eq!(r.0, 409, "lowest price: no envelope B; {}", r.1);
    assert!(store_entries(&app).is_empty(), "{:?}", store_entries(&app));

    // the upload
    let f = ok(
        &upload(&app, &path, Some(&ta), "application/pdf", content.clone()).await,
        201,
    );
    assert_eq!(f["size"], content.len() as u64, "{f}");
    assert_eq!(f["version"], 1);
    assert_eq!(f["media_type"], "application/pdf");
    let sha = f["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    let r = upload(&app, &path, Some(&ta), "application/pdf", vec![1, 2]).await;
    assert_eq!(r.0, 409, "same name twice: {}", r.1);
    let entries = store_entries(&app);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].ends_with(".sealed"), "{entries:?}");
    // nothing of the plaintext anywhere under the server's directory (store and database)
    for (p, b) in all_files(&app.data_dir()) {
        assert!(!contains(&b, MARK), "marker in clear in {}", p.display());
    }

    // 413 before the body: Content-Length over the limit; nothing left in the store
    let head = oversized_put(&app, &path.replace("dgue.pdf", "big.pdf"), &ta).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(store_entries(&app), entries);

    // before opening: nobody reads it, whatever the role
    for (who, tok, want) in [
        ("owner", Some(ta.as_str()), 409),
        ("buyer", Some(w.buyer.as_str()), 409),
        (
            "beneficiary municipality",
            Some(w.municipality.as_str()),
            409,
        ),
        ("other bidder", Some(tb.as_str()), 404),
        ("other province's buyer", Some(w.other_buyer.as_str()), 404),
        (
            "other municipality",
            Some(w.other_municipality.as_str()),
            404,
        ),
        ("anonymous", None, 401),
    ] {
        let (st, body) = download(&app, &path, tok).await;
        assert_eq!(st, want, "{who}: {}", String::from_utf8_lossy(&body));
        assert!(!contains(&body, MARK), "{who} read the marker");
    }

    // the deadline passes: no more uploads; the administrative session opens envelope A
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": deadline + chrono::Duration::minutes(1)}),
        )
        .await,
        200,
    );
    let late = path.replace("dgue.pdf", "late.pdf");
    let r = upload(&app, &late, Some(&ta), "application/pdf", vec![1]).await;
    assert_eq!(r.0, 409, "{}", r.1);
    assert_eq!(r.1["rule"], "offer deadline", "{}", r.1);
    for _ in 0..100 {
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        if t["state"] == "closed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    event(
        &app,
        &format!("/v1/tenders/{tid}/events"),
        &w.buyer,
        "start_evaluation",
    )
    .await;
    let (st, _) = download(&app, &path, Some(&w.buyer)).await;
    assert_eq!(st, 409, "still sealed before the administrative session");
    event(
        &app,
        &format!("/v1/lots/{lot}/events"),
        &w.buyer,
        "open_administrative",
    )
    .await;

    // after opening: the owner and the tender's staff get the exact bytes; others still 404
    for tok in [&ta, &w.buyer] {
        let (st, body) = download(&app, &path, Some(tok)).await;
        assert_eq!(st, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(body.len(), content.len());
        assert!(body == content, "downloaded bytes differ");
    }
    for tok in [&tb, &w.other_buyer] {
        assert_eq!(download(&app, &path, Some(tok)).await.0, 404);
    }
    let missing = path.replace("dgue.pdf", "nope.pdf");
    assert_eq!(download(&app, &missing, Some(&w.buyer)).await.0, 404);

    // a tampered stored file is detected: 409, never the wrong bytes
    let stored = app.data_dir().join("data/documents").join(&entries[0]);
    let original = std::fs::read(&stored).unwrap();
    let mut t = original.clone();
    t[70_000] ^= 0x01;
    std::fs::write(&stored, &t).unwrap();
    let (st, body) = download(&app, &path, Some(&w.buyer)).await;
    assert_eq!(st, 409, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["rule"], "file integrity", "{v}");
    // truncated: also detected
    std::fs::write(&stored, &original[..original.len() - 100]).unwrap();
    let (st, body) = download(&app, &path, Some(&w.buyer)).await;
    assert_eq!(st, 409, "{}", String::from_utf8_lossy(&body));
    // restored: served again
    std::fs::write(&stored, &original).unwrap();
    assert_eq!(download(&app, &path, Some(&w.buyer)).await.0, 200);
}
