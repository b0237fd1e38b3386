//! Sealed bids (issue 6) over HTTP: content unreadable by every role and endpoint before its opening,
//! nothing in clear in the database files, opening in order (409 naming the rule), signed receipts that
//! verify with the published key and `sua receipt verify`, tampering detected and audited, deadline race.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

const DISCOUNT: &str = "13.579135";
const MARK_A: &str = "MARKER-A-7f3c9e";
const MARK_B: &str = "MARKER-B-7f3c9e";

struct Open {
    tid: String,
    lot: String,
    deadline: chrono::DateTime<chrono::Utc>,
}

/// A published open procedure (lowest price), deadline 40 days ahead of the real clock.
async fn published(app: &TestApp, w: &crate::flow::World) -> Open {
    let p = publish_open(app, &w.municipality, &w.buyer, &request_body()).await;
    Open {
        tid: p.tid,
        lot: p.lot,
        deadline: p.deadline,
    }
}

async fn set_clock(app: &TestApp, admin: &str, now: chrono::DateTime<chrono::Utc>) {
    ok(
        &app.put("/v1/admin/clock", Some(admin), &json!({"now": now}))
            .await,
        200,
    );
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                hits.push(p.display().to_string());
            }
        }
    }
    hits
}

async fn sql(app: &TestApp, q: &str) -> Vec<sea_orm::QueryResult> {
    let db = Database::connect(&app.db_url).await.unwrap();
    let r = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), q))
        .await
        .unwrap();
    db.close().await.ok();
    r
}

both_backends!(
    sealed_content_is_unreadable_until_opened_in_order,
    |app: TestApp| async move {
        let w = world(&app).await;
        let o = published(&app, &w).await;
        let (tid, lot) = (o.tid.clone(), o.lot.clone());
        let ta = operator(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
        let tb = operator(&app, "Beta Servizi spa", "02229829771", "beta@pec.it").await;
        let sub = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&ta),
                &json!({"declared_discount": DISCOUNT, "technical": {"note": MARK_B},
                        "administrative": {"dgue": MARK_A}}),
            )
            .await,
            201,
        );
        let ida = sub["id"].as_str().unwrap().to_owned();
        let r = &sub["receipt"]["receipt"];
        assert_eq!(r["action"], "submission", "{sub}");
        assert_eq!(r["bid"], ida.as_str());
        assert_eq!(r["bid_version"], 1);
        assert_eq!(r["operator"], "05949241110");
        assert_eq!(r["envelopes"].as_array().unwrap().len(), 3, "{sub}");
        let seq1 = r["sequence"].as_u64().unwrap();
        let bsub = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&tb),
                &json!({"declared_discount": "9.5"}),
            )
            .await,
            201,
        );
        let idb = bsub["id"].as_str().unwrap().to_owned();
        assert_eq!(bsub["receipt"]["receipt"]["sequence"], seq1 + 1);
        // Alfa replaces: version 2; version 1 stays sealed for ever
        let rep = ok(
            &app.put(
                &format!("/v1/bids/{ida}"),
                Some(&ta),
                &json!({"declared_discount": DISCOUNT, "technical": {"note": MARK_B},
                        "administrative": {"dgue": MARK_A}}),
            )
            .await,
            200,
        );
        assert_eq!(rep["receipt"]["receipt"]["bid_version"], 2);
        assert_eq!(rep["receipt"]["receipt"]["action"], "replacement");

        // before the deadline: no endpoint shows the content, to any role
        let readers: Vec<(&str, Option<&str>)> = vec![
            ("owner", Some(&ta)),
            ("other bidder", Some(&tb)),
            ("buyer", Some(&w.buyer)),
            ("municipality", Some(&w.municipality)),
            ("other buyer", Some(&w.other_buyer)),
            ("admin", Some(&w.admin)),
            ("anonymous", None),
        ];
        let paths = [
            format!("/v1/bids/{ida}"),
            format!("/v1/bids/{ida}/envelopes"),
            "/v1/bids".to_owned(),
            format!("/v1/tenders/{tid}/bids"),
            format!("/v1/tenders/{tid}"),
            format!("/v1/public/tenders/{tid}"),
        ];
        let check_nothing_leaks = |phase: &'static str| {
            let app = &app;
            let readers = readers.clone();
            let paths = paths.clone();
            async move {
                for (who, tok) in &readers {
                    for p in &paths {
                        let (_, body) = app.get(p, *tok).await;
                        let s = body.to_string();
                        for m in [DISCOUNT, MARK_A, MARK_B] {
                            assert!(!s.contains(m), "{phase}: {who} reads {m} at {p}: {s}");
                        }
                    }
                }
            }
        };
        check_nothing_leaks("before the deadline").await;
        // the owner sees its versions and receipts, never the content
        let mine = ok(
            &app.get(&format!("/v1/bids/{ida}/envelopes"), Some(&ta))
                .await,
            200,
        );
        assert_eq!(mine["envelopes"].as_array().unwrap().len(), 6, "{mine}");
        assert_eq!(mine["receipts"].as_array().unwrap().len(), 2, "{mine}");
        assert!(
            mine["envelopes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["content"].is_null())
        );
        // the buyer may not open anything before the deadline: 409 naming the rule
        for kind in ["administrative", "technical", "economic"] {
            let r = app
                .post(
                    &format!("/v1/bids/{ida}/envelopes/{kind}/open"),
                    Some(&w.buyer),
                    &json!({}),
                )
                .await;
            assert_eq!(r.0, 409, "{kind}: {}", r.1);
            assert!(r.1["rule"].is_string(), "{}", r.1);
        }
        // a bidder or another Province cannot even try
        for tok in [&ta, &w.other_buyer] {
            let r = app
                .post(
                    &format!("/v1/bids/{ida}/envelopes/economic/open"),
                    Some(tok),
                    &json!({}),
                )
                .await;
            assert!(matches!(r.0, 403 | 404), "{}", r.1);
        }
        // the database files and everything else on disk hold no plaintext
        if app.db_url.starts_with("sqlite") {
            for m in [DISCOUNT, MARK_A, MARK_B] {
                let hits = files_containing(app.dir.path(), m.as_bytes());
                assert!(hits.is_empty(), "{m} in clear in {hits:?}");
            }
        }
        for m in [DISCOUNT, MARK_A, MARK_B] {
            for (table, cols) in [
                (
                    "bid",
                    "coalesce(declared_discount,'') || technical_json || coalesce(tech_score,'')",
                ),
                (
                    "bid_envelope",
                    "wrapped_dek || commitment || coalesce(opened_json,'')",
                ),
                ("signed_receipt", "json"),
                ("audit_entry", "coalesce(after_json,'')"),
            ] {
                let rows = sql(
                    &app,
                    &format!("SELECT 1 FROM {table} WHERE {cols} LIKE '%{m}%'"),
                )
                .await;
                assert!(rows.is_empty(), "{m} in clear in {table}");
            }
        }

        // the deadline passes; the tender closes
        set_clock(&app, &w.admin, o.deadline + chrono::Duration::minutes(1)).await;
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
            json!({"event": "start_evaluation"}),
        )
        .await;
        check_nothing_leaks("after the deadline, before the session").await;
        let r = app
            .post(
                &format!("/v1/bids/{ida}/envelopes/administrative/open"),
                Some(&w.buyer),
                &json!({}),
            )
            .await;
        assert_eq!(r.0, 409, "{}", r.1);
        assert_eq!(r.1["rule"], "sealed-order invariant", "{}", r.1);

        // busta A opens with the administrative session; C stays sealed
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "open_administrative"}),
        )
        .await;
        let env = ok(
            &app.get(&format!("/v1/bids/{ida}/envelopes"), Some(&w.buyer))
                .await,
            200,
        );
        let by_kind = |env: &Value, k: &str| {
            env["envelopes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["kind"] == k)
                .cloned()
                .unwrap()
        };
        assert_eq!(env["envelopes"].as_array().unwrap().len(), 3, "{env}");
        assert_eq!(
            by_kind(&env, "administrative")["content"]["administrative"]["dgue"],
            MARK_A
        );
        assert!(by_kind(&env, "economic")["content"].is_null(), "{env}");
        let b = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert!(b["declared_discount"].is_null(), "{b}");
        let r = app
            .post(
                &format!("/v1/bids/{ida}/envelopes/economic/open"),
                Some(&w.buyer),
                &json!({}),
            )
            .await;
        assert_eq!(r.0, 409, "{}", r.1);
        // other readers still see nothing of C
        for (who, tok) in &readers {
            let (_, body) = app.get(&format!("/v1/tenders/{tid}/bids"), *tok).await;
            assert!(!body.to_string().contains(DISCOUNT), "{who}: {body}");
        }

        // admission, then the economic session opens C (and only the current version)
        for id in [&ida, &idb] {
            event(
                &app,
                &format!("/v1/bids/{id}/events"),
                &w.buyer,
                json!({"event": "admit"}),
            )
            .await;
        }
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "start_economic_evaluation"}),
        )
        .await;
        let b = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert!(b["declared_discount"].is_null(), "{b}");
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "open_economic_offers"}),
        )
        .await;
        let b = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(b["declared_discount"], DISCOUNT, "{b}");
        // a lowest-price lot has no busta B: it is never opened
        let r = app
            .post(
                &format!("/v1/bids/{ida}/envelopes/technical/open"),
                Some(&w.buyer),
                &json!({}),
            )
            .await;
        assert_eq!(r.0, 409, "{}", r.1);
        assert!(
            r.1["detail"].as_str().unwrap().contains("lowest-price"),
            "{}",
            r.1
        );
        let mine = ok(
            &app.get(&format!("/v1/bids/{ida}/envelopes"), Some(&ta))
                .await,
            200,
        );
        for e in mine["envelopes"].as_array().unwrap() {
            if e["version"] == 1 {
                assert_eq!(e["state"], "superseded");
                assert!(e["opened_at"].is_null() && e["content"].is_null(), "{e}");
            }
        }
        // every decryption is an audit entry (A and C of both bids)
        let opened = sql(
            &app,
            "SELECT object_id FROM audit_entry WHERE action = 'envelope.open'",
        )
        .await;
        assert_eq!(opened.len(), 4);
        // the evaluation reads the opened discount
        let ev = ok(
            &app.post(
                &format!("/v1/lots/{lot}/evaluate"),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        assert!(ev["input"].to_string().contains(DISCOUNT), "{ev}");
    }
);

both_backends!(
    receipts_verify_with_the_published_key_and_tampering_is_detected,
    |app: TestApp| async move {
        let w = world(&app).await;
        let o = published(&app, &w).await;
        let lot = o.lot.clone();
        let ta = operator(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
        let tb = operator(&app, "Beta Servizi spa", "02229829771", "beta@pec.it").await;
        let sub = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&ta),
                &json!({"declared_discount": "11.5"}),
            )
            .await,
            201,
        );
        let ida = sub["id"].as_str().unwrap().to_owned();
        let keys = app
            .client
            .get(app.url("/.well-known/sua-receipt-keys.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(keys.status(), 200);
        let keys = keys.text().await.unwrap();
        let dir = app.dir.path();
        std::fs::write(dir.join("keys.json"), &keys).unwrap();
        std::fs::write(dir.join("receipt.json"), sub["receipt"].to_string()).unwrap();
        let (good, out) = app.cli(&["receipt", "verify", "receipt.json", "--key", "keys.json"]);
        assert!(good, "{out}");
        let mut forged = sub["receipt"].clone();
        forged["receipt"]["sequence"] = json!(999);
        std::fs::write(dir.join("forged.json"), forged.to_string()).unwrap();
        let (good, _) = app.cli(&["receipt", "verify", "forged.json", "--key", "keys.json"]);
        assert!(!good, "a modified receipt must not verify");
        // a withdrawal is receipted too, and its PEC carries the receipt number
        let bsub = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&tb),
                &json!({"declared_discount": "8"}),
            )
            .await,
            201,
        );
        let idb = bsub["id"].as_str().unwrap().to_owned();
        let wd = ok(
            &app.post(&format!("/v1/bids/{idb}/withdraw"), Some(&tb), &json!({}))
                .await,
            200,
        );
        assert_eq!(wd["receipt"]["receipt"]["action"], "withdrawal", "{wd}");
        assert!(
            wd["receipt"]["receipt"]["envelopes"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        std::fs::write(dir.join("wd.json"), wd["receipt"].to_string()).unwrap();
        let (good, out) = app.cli(&["receipt", "verify", "wd.json", "--key", "keys.json"]);
        assert!(good, "{out}");

        // someone with database access flips a byte of Alfa's sealed economic envelope
        let uida = uuid::Uuid::parse_str(&ida).unwrap();
        let rows: Vec<_> = sql(
            &app,
            "SELECT bid_id, sealed_manifest FROM bid_envelope WHERE kind = 'economic'",
        )
        .await
        .into_iter()
        .filter(|r| r.try_get::<uuid::Uuid>("", "bid_id").unwrap() == uida)
        .collect();
        assert_eq!(rows.len(), 1);
        let mut bytes: Vec<u8> = rows[0].try_get("", "sealed_manifest").unwrap();
        let n = bytes.len();
        bytes[n - 20] ^= 1;
        let db = Database::connect(&app.db_url).await.unwrap();
        let be = db.get_database_backend();
        db.execute_raw(Statement::from_sql_and_values(
            be,
            if be == sea_orm::DatabaseBackend::Postgres {
                "UPDATE bid_envelope SET sealed_manifest = $1 WHERE bid_id = $2 AND kind = 'economic'"
            } else {
                "UPDATE bid_envelope SET sealed_manifest = ? WHERE bid_id = ? AND kind = 'economic'"
            },
            [bytes.into(), uida.into()],
        ))
        .await
        .unwrap();
        db.close().await.ok();

        set_clock(&app, &w.admin, o.deadline + chrono::Duration::minutes(1)).await;
        let tid = o.tid.clone();
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
        for (path, ev) in [
            (format!("/v1/tenders/{tid}/events"), "start_evaluation"),
            (format!("/v1/lots/{lot}/events"), "open_administrative"),
        ] {
            event(&app, &path, &w.buyer, json!({"event": ev})).await;
        }
        event(
            &app,
            &format!("/v1/bids/{ida}/events"),
            &w.buyer,
            json!({"event": "admit"}),
        )
        .await;
        for ev in ["start_economic_evaluation", "open_economic_offers"] {
            event(
                &app,
                &format!("/v1/lots/{lot}/events"),
                &w.buyer,
                json!({"event": ev}),
            )
            .await;
        }
        // detected: not opened, recorded, audited; a clear 409 on an explicit opening
        let b = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert!(b["declared_discount"].is_null(), "{b}");
        let env = ok(
            &app.get(&format!("/v1/bids/{ida}/envelopes"), Some(&w.buyer))
                .await,
            200,
        );
        let econ = env["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "economic")
            .unwrap();
        assert!(econ["integrity_error"].is_string(), "{env}");
        let r = app
            .post(
                &format!("/v1/bids/{ida}/envelopes/economic/open"),
                Some(&w.buyer),
                &json!({}),
            )
            .await;
        assert_eq!(r.0, 409, "{}", r.1);
        assert_eq!(r.1["rule"], "envelope integrity", "{}", r.1);
        let audited = sql(
            &app,
            "SELECT 1 FROM audit_entry WHERE action = 'envelope.integrity_failure'",
        )
        .await;
        assert_eq!(audited.len(), 1);
        // the withdrawn bid was never opened
        let uidb = uuid::Uuid::parse_str(&idb).unwrap();
        let opened = sql(
            &app,
            "SELECT bid_id FROM bid_envelope WHERE opened_at IS NOT NULL",
        )
        .await;
        assert!(!opened.is_empty(), "busta A of the admitted bid was opened");
        assert!(
            opened
                .iter()
                .all(|r| r.try_get::<uuid::Uuid>("", "bid_id").unwrap() != uidb)
        );
    }
);

both_backends!(
    deadline_race_is_decided_by_the_server_clock,
    |app: TestApp| async move {
        let w = world(&app).await;
        let o = published(&app, &w).await;
        let ta = operator(&app, "Pulizie Alfa srl", "05949241110", "alfa@pec.it").await;
        let tb = operator(&app, "Beta Servizi spa", "02229829771", "beta@pec.it").await;
        // just before the deadline (the server clock runs on after being set: a margin of 2 s for the
        // request; the 1 ms boundary itself is the unit test `deadline_boundary_is_exclusive`)
        set_clock(&app, &w.admin, o.deadline - chrono::Duration::seconds(2)).await;
        ok(
            &app.post(
                &format!("/v1/lots/{}/bids", o.lot),
                Some(&ta),
                &json!({"declared_discount": "10"}),
            )
            .await,
            201,
        );
        set_clock(&app, &w.admin, o.deadline).await;
        let late = app
            .post(
                &format!("/v1/lots/{}/bids", o.lot),
                Some(&tb),
                &json!({"declared_discount": "10"}),
            )
            .await;
        assert_eq!(late.0, 409, "{}", late.1);
        assert_eq!(late.1["rule"], "offer deadline", "{}", late.1);
        // nothing of the refused bid was stored
        let n = sql(&app, "SELECT 1 FROM signed_receipt").await;
        assert_eq!(n.len(), 1);
    }
);

both_backends!(
    receipts_are_numbered_per_province_without_gaps,
    |app: TestApp| async move {
        let w = world(&app).await;
        let here = publish_open(&app, &w.municipality, &w.buyer, &request_body()).await;
        // a second Province with its own Comune and buyer
        let p2 = ok(
            &app.post(
                "/v1/provinces",
                Some(&w.admin),
                &json!({"code": "YY", "name": "Provincia di Seconda"}),
            )
            .await,
            201,
        );
        let m2 = ok(
            &app.post(
                "/v1/municipalities",
                Some(&w.admin),
                &json!({"province_id": p2["id"], "name": "Comune di Secondo",
                        "codice_fiscale": "80003120047"}),
            )
            .await,
            201,
        );
        let token = |role: &'static str, org: Value| {
            let app = &app;
            let admin = w.admin.clone();
            async move {
                ok(
                    &app.post(
                        "/v1/tokens",
                        Some(&admin),
                        &json!({"role": role, "org": org}),
                    )
                    .await,
                    201,
                )["token"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let buyer2 = token("sua_buyer", p2["id"].clone()).await;
        let comune2 = token("municipality", m2["id"].clone()).await;
        let there = publish_open(&app, &comune2, &buyer2, &request_body()).await;
        let seq = |v: &Value| v["receipt"]["receipt"]["sequence"].as_u64().unwrap();
        let bids = register_and_bid(&app, &here.lot, &ALFA_AND_BETA).await;
        let (ta, tb) = (&bids[0].0, &bids[1].0);
        // the other Province's first receipt is its own number 1, whatever this Province drew before
        let b = ok(
            &app.post(
                &format!("/v1/lots/{}/bids", there.lot),
                Some(ta),
                &json!({"declared_discount": "10"}),
            )
            .await,
            201,
        );
        assert_eq!(seq(&b), 1, "{b}");
        let c = ok(
            &app.post(
                &format!("/v1/lots/{}/bids", there.lot),
                Some(tb),
                &json!({"declared_discount": "11"}),
            )
            .await,
            201,
        );
        assert_eq!(seq(&c), 2, "{c}");
        // this Province goes on from its own last number (two submissions: 1 and 2)
        let rep = ok(
            &app.put(
                &format!("/v1/bids/{}", bids[0].1),
                Some(ta),
                &json!({"declared_discount": "13"}),
            )
            .await,
            200,
        );
        assert_eq!(seq(&rep), 3, "{rep}");
    }
);
