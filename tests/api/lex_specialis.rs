//! Rules fixed before the bids are known (issue 17 items 1-3, art. 54 c.1 guard): the evaluation rules are
//! the lot's, set while the tender is a draft and frozen at publication (art. 54 c.2, art. 108 c.12); the
//! evaluate route takes none of them and runs once; the draws' seed is the platform's, its hash public before
//! the bids and the seed revealed at evaluation; after `reopen_ranking` the threshold is kept (art. 108 c.12);
//! a tender where art. 54 c.1 applies is not published without automatic exclusion.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

/// A valid 11-digit numeric codice fiscale, distinct for each `n`.
fn cf(n: u32) -> String {
    let body = format!("{:07}{:03}", 2_000_000 + n, 1 + n % 100);
    let digits: Vec<u32> = body.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let sum: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, dd) if dd > 9 => dd - 9,
            (_, dd) => dd,
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Everything the OpenAPI says about a schema, `$ref`s followed, as one text.
fn schema_text(doc: &Value, schema: &Value, depth: usize) -> String {
    if depth > 6 {
        return String::new();
    }
    let mut out = schema.to_string();
    let mut refs = Vec::new();
    collect_refs(schema, &mut refs);
    for r in refs {
        let name = r.trim_start_matches("#/components/schemas/");
        out.push_str(&schema_text(
            doc,
            &doc["components"]["schemas"][name],
            depth + 1,
        ));
    }
    out
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(r) = x.as_str() {
                        out.push(r.to_owned());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

both_backends!(
    openapi_evaluate_takes_no_rules_and_the_lot_schemas_have_them,
    |app: TestApp| async move {
        let doc = ok(&app.get("/openapi.json", None).await, 200);
        let body = &doc["paths"]["/v1/lots/{id}/evaluate"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert!(!body.is_null(), "no request body schema: {doc}");
        let evaluate = schema_text(&doc, body, 0);
        for f in [
            "method",
            "reading",
            "decrement",
            "rounding",
            "formula",
            "seed",
            "params",
        ] {
            assert!(
                !evaluate.contains(&format!("\"{f}\"")),
                "evaluate's body has {f}: {evaluate}"
            );
        }
        for path in [
            ("/v1/tenders/{id}/lots", "post"),
            ("/v1/tenders/{id}/lots/{lot_id}", "patch"),
            ("/v1/tenders", "post"),
        ] {
            let schema = &doc["paths"][path.0][path.1]["requestBody"]["content"]["application/json"]
                ["schema"];
            let text = schema_text(&doc, schema, 0);
            for f in [
                "evaluation_rules",
                "anomaly",
                "method",
                "decrement",
                "exclude_equal",
                "rounding",
                "technical",
                "economic",
            ] {
                assert!(
                    text.contains(&format!("\"{f}\"")),
                    "{} {} lacks {f}: {text}",
                    path.1,
                    path.0
                );
            }
            assert!(
                !text.contains("\"seed\""),
                "{} {} takes a seed",
                path.1,
                path.0
            );
        }
    }
);

// Drives a lowest-price open tender for services of 180,000 euro (art. 54 c.1 applies) from the request
// to six ranked bids, checking each rule on the way.
both_backends!(
    rules_fixed_before_the_bids_are_known,
    |app: TestApp| async move {
        let w = world(&app).await;
        // nobody gives a seed, in any body
        let r = app
            .post(
                "/v1/tenders",
                Some(&w.buyer),
                &json!({"title": "x", "contract_type": "services", "procedure_type": "aperta",
                        "criterion": "lowest_price", "seed": "1",
                        "lots": [{"title": "l", "base_amount": "1000.00"}]}),
            )
            .await;
        assert_eq!(r.0, 422, "{}", r.1);
        let r = ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let rid = s(&r["id"]);
        let acc = ok(
            &app.post(
                &format!("/v1/requests/{rid}/accept"),
                Some(&w.buyer),
                &json!({"procedure_type": "aperta"}),
            )
            .await,
            201,
        );
        let tid = s(&acc["tender_id"]);
        let tender = format!("/v1/tenders/{tid}");
        let tev = format!("{tender}/events");
        let t = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
        let lot = s(&t["lots"][0]["id"]);
        let lot_path = format!("{tender}/lots/{lot}");
        event(
            &app,
            &tev,
            &w.buyer,
            json!({"event": "adopt_decision_to_contract"}),
        )
        .await;
        ok(
            &app.patch(&lot_path, Some(&w.buyer), &json!({"cig": "B5A520026C"}))
                .await,
            200,
        );
        event(&app, &tev, &w.buyer, json!({"event": "acquire_cig"})).await;
        let deadline = chrono::Utc::now() + chrono::Duration::days(40);
        ok(
            &app.patch(&tender, Some(&w.buyer), &json!({"deadline": deadline}))
                .await,
            200,
        );

        // art. 54 c.1: no rules, or `none`, where automatic exclusion applies: publication refused
        let refused = app
            .post(&tev, Some(&w.buyer), &json!({"event": "publish"}))
            .await;
        assert_eq!(refused.0, 409, "{}", refused.1);
        assert!(
            refused.1.to_string().contains("art. 54 c.1"),
            "{}",
            refused.1
        );
        ok(
            &app.patch(
                &lot_path,
                Some(&w.buyer),
                &json!({"evaluation_rules": {"anomaly": {"method": "none"}}}),
            )
            .await,
            200,
        );
        let refused = app
            .post(&tev, Some(&w.buyer), &json!({"event": "publish"}))
            .await;
        assert_eq!(refused.0, 409, "{}", refused.1);
        assert!(
            refused.1.to_string().contains("art. 54 c.1"),
            "{}",
            refused.1
        );

        // bad rules are a 4xx naming the field; a seed is never accepted
        let bad = app
            .patch(
                &lot_path,
                Some(&w.buyer),
                &json!({"evaluation_rules": {"anomaly": {"method": "Z"}}}),
            )
            .await;
        assert_eq!(bad.0, 422, "{}", bad.1);
        assert!(
            bad.1
                .to_string()
                .contains("evaluation_rules.anomaly.method"),
            "{}",
            bad.1
        );
        for body in [
            json!({"evaluation_rules": {"anomaly": {"method": "A"}, "seed": "1"}}),
            json!({"evaluation_rules": {"anomaly": {"method": "draw", "draw": {"among": ["A", "B"], "seed": "7"}}}}),
        ] {
            let r = app.patch(&lot_path, Some(&w.buyer), &body).await;
            assert_eq!(r.0, 422, "{body}: {}", r.1);
            assert!(r.1.to_string().contains("seed"), "{}", r.1);
        }
        let r = app
            .post(
                &tev,
                Some(&w.buyer),
                &json!({"event": "publish", "seed": "42"}),
            )
            .await;
        assert_eq!(r.0, 422, "a seed in an event body: {}", r.1);

        // the method drawn at evaluation among A and B (art. 54 c.2): publication accepted
        ok(
            &app.patch(
                &lot_path,
                Some(&w.buyer),
                &json!({"evaluation_rules": {"anomaly": {"method": "draw", "draw": {"among": ["A", "B"]}}}}),
            )
            .await,
            200,
        );
        event(&app, &tev, &w.buyer, json!({"event": "publish"})).await;

        // the draw seed's hash is on the public tender page before any bid; the seed is not
        let public = ok(
            &app.get(&format!("/v1/public/tenders/{tid}"), None).await,
            200,
        );
        let draws = public["draws"]
            .as_array()
            .expect("draws on the public page");
        assert_eq!(draws.len(), 1, "{public}");
        assert_eq!(draws[0]["purpose"], "evaluation");
        assert_eq!(draws[0]["lot_id"], json!(lot));
        let committed = s(&draws[0]["sha256"]);
        assert_eq!(committed.len(), 64);
        assert!(
            draws[0]["seed"].is_null(),
            "seed shown before the reveal: {public}"
        );
        assert_eq!(
            public["lots"][0]["evaluation_rules"]["anomaly"]["method"], "draw",
            "the rules are public: {public}"
        );
        // nobody reads the seed before the reveal: not the buyer either
        let buyer_view = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
        assert!(!buyer_view.to_string().contains("seed_hex"), "{buyer_view}");

        // frozen at publication: a change of the method is refused naming art. 54
        let frozen = app
            .patch(
                &lot_path,
                Some(&w.buyer),
                &json!({"evaluation_rules": {"anomaly": {"method": "A"}}}),
            )
            .await;
        assert_eq!(frozen.0, 409, "{}", frozen.1);
        assert!(frozen.1.to_string().contains("art. 54 c.2"), "{}", frozen.1);
        // ...except by amending the tender documents, a significant change that extends the deadline
        let amend = json!({"event": "amend_documents",
            "evaluation_rules": [{"lot_id": lot, "evaluation_rules": {"anomaly": {"method": "A"}}}]});
        let r = app.post(&tev, Some(&w.buyer), &amend).await;
        assert_eq!(r.0, 409, "{}", r.1);
        assert!(r.1.to_string().contains("art. 92 c.2 lett. b)"), "{}", r.1);
        let stored = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
        let deadline: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(stored["deadline"].clone()).unwrap();
        let new_deadline = deadline + chrono::Duration::days(10);
        let mut amend = amend;
        amend["declarations"] = json!({"new_deadline": new_deadline});
        event(&app, &tev, &w.buyer, amend).await;
        let t = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
        assert_eq!(t["lots"][0]["evaluation_rules"]["anomaly"]["method"], "A");
        let deadline: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(t["deadline"].clone()).unwrap();

        // six bids
        let discounts = ["10.5", "11.2", "12.0", "12.8", "13.1", "19.9"];
        let mut bids = Vec::new();
        for (i, d) in discounts.iter().enumerate() {
            let op = ok(
                &app.post(
                    "/v1/operators",
                    None,
                    &json!({"name": format!("Impresa {i} srl"), "codice_fiscale": cf(i as u32),
                            "pec": format!("impresa{i}@pec.it")}),
                )
                .await,
                201,
            );
            let tok = s(&op["token"]);
            let b = ok(
                &app.post(
                    &format!("/v1/lots/{lot}/bids"),
                    Some(&tok),
                    &json!({"declared_discount": d}),
                )
                .await,
                201,
            );
            bids.push(s(&b["id"]));
        }
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": deadline + chrono::Duration::minutes(1)}),
            )
            .await,
            200,
        );
        let mut closed = false;
        for _ in 0..100 {
            if ok(&app.get(&tender, Some(&w.buyer)).await, 200)["state"] == "closed" {
                closed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(closed, "the scheduler closes the submissions");
        event(&app, &tev, &w.buyer, json!({"event": "start_evaluation"})).await;
        let lev = format!("/v1/lots/{lot}/events");
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "open_administrative"}),
        )
        .await;
        for b in &bids {
            event(
                &app,
                &format!("/v1/bids/{b}/events"),
                &w.buyer,
                json!({"event": "admit"}),
            )
            .await;
        }
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "start_economic_evaluation"}),
        )
        .await;
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "open_economic_offers"}),
        )
        .await;
        // a declared rule is not a declaration any more: the rules say it
        let r = app
            .post(
                &lev,
                Some(&w.buyer),
                &json!({"event": "resolve_tie", "declarations": {"auto_exclusion_method_set": true}}),
            )
            .await;
        assert_eq!(r.0, 422, "{}", r.1);

        // the evaluate body takes nothing: a seed, a method, old params are refused naming the field
        let evaluate = format!("/v1/lots/{lot}/evaluate");
        for (body, field) in [
            (json!({"seed": "1"}), "seed"),
            (json!({"params": {"anomaly": {"method": "none"}}}), "params"),
            (json!({"method": "B"}), "method"),
        ] {
            let r = app.post(&evaluate, Some(&w.buyer), &body).await;
            assert_eq!(r.0, 422, "{body}: {}", r.1);
            assert!(r.1.to_string().contains(field), "{}", r.1);
        }
        let first = ok(&app.post(&evaluate, Some(&w.buyer), &json!({})).await, 200);
        let a = &first["result"]["anomaly"];
        assert_eq!(a["method"], "A", "{first}");
        assert_eq!(a["outcome"], "computed", "{first}");
        let threshold = a["threshold"].clone();
        let winner = s(&first["result"]["winner"]);
        assert!(
            a["excluded"].as_array().unwrap().contains(&json!(bids[5])),
            "19.9 is anomalous: {a}"
        );

        // the seed is revealed: sha256(seed) is the hash published before the bids, and the draws replay it
        let seed = s(&first["platform_seed"]["seed"]);
        let bytes = hex::decode(&seed).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), committed);
        let head: [u8; 8] = bytes[..8].try_into().unwrap();
        assert_eq!(
            first["input"]["seed"],
            json!(u64::from_be_bytes(head).to_string())
        );
        let public = ok(
            &app.get(&format!("/v1/public/tenders/{tid}"), None).await,
            200,
        );
        assert_eq!(public["draws"][0]["seed"], json!(seed), "{public}");
        assert_eq!(public["draws"][0]["sha256"], json!(committed));

        // evaluation runs once: the same answer, not a recomputation
        let second = ok(&app.post(&evaluate, Some(&w.buyer), &json!({})).await, 200);
        assert_eq!(second, first);
        let no_body = app
            .send(reqwest::Method::POST, &evaluate, Some(&w.buyer), None)
            .await;
        assert_eq!(ok(&no_body, 200), first);

        // art. 108 c.12: after the ranking is reopened (a judgment), the threshold is kept
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "propose_award", "bid_id": winner}),
        )
        .await;
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "reopen_ranking", "declarations": {"judgment_reference": "TAR Valmarina, sez. I, n. 12/2027"}}),
        )
        .await;
        let again = ok(&app.post(&evaluate, Some(&w.buyer), &json!({})).await, 200);
        assert_eq!(again["reranked_after_reopen"], true, "{again}");
        assert_eq!(
            again["result"]["anomaly"]["threshold"], threshold,
            "{again}"
        );
        assert!(
            again["result"]["anomaly"]["rule"]
                .as_str()
                .unwrap()
                .contains("art. 108 c.12")
        );
        assert_ne!(again["result"]["winner"], json!(winner));
        assert!(
            !again["result"]["ranking"].to_string().contains(&winner),
            "the proposed awardee left the ranking: {again}"
        );
        // a recomputation on the bids left would have given another threshold
        let left: Vec<Value> = bids
            .iter()
            .zip(discounts)
            .filter(|(b, _)| **b != winner)
            .map(|(b, d)| json!({"id": b, "discount": d}))
            .collect();
        let fresh = evaluation::evaluate_json(
            &json!({"criterion": "lowest_price", "anomaly": {"method": "A"}, "bids": left})
                .to_string(),
        )
        .unwrap();
        assert_ne!(fresh["anomaly"]["threshold"], threshold);
        // and it runs once again
        let third = ok(&app.post(&evaluate, Some(&w.buyer), &json!({})).await, 200);
        assert_eq!(third, again);
        // the commitment and the reveal are in the audit chain, which still verifies
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
    }
);
