//! Access-control refusals and bad inputs: 401/403/404 and 4xx problem documents, nothing changed.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::{Value, json};

/// Count of the audit entries: every accepted change writes one, so an unchanged count means nothing changed.
fn audit_entries(app: &TestApp) -> u64 {
    let (okc, out) = app.cli(&["audit", "verify"]);
    assert!(okc, "{out}");
    out.split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("entry count")
}

both_backends!(
    bad_inputs_are_4xx_problems_and_change_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let before = audit_entries(&app);
        let base = request_body();
        let cases: Vec<(Value, &str)> = vec![
            (
                {
                    let mut b = base.clone();
                    b["estimated_amount"] = json!("-100.00");
                    b
                },
                "estimated_amount",
            ),
            (
                {
                    let mut b = base.clone();
                    b["estimated_amount"] = json!("1.001");
                    b
                },
                "estimated_amount",
            ),
            (
                {
                    let mut b = base.clone();
                    b["cpv"] = json!("99999999-9");
                    b
                },
                "cpv",
            ),
            (
                {
                    let mut b = base.clone();
                    b["cup"] = json!("NOT-A-CUP");
                    b
                },
                "cup",
            ),
            (
                {
                    let mut b = base.clone();
                    b["contract_type"] = json!("magic");
                    b
                },
                "contract_type",
            ),
            (
                {
                    let mut b = base.clone();
                    b["lots"][0]["estimated_amount"] = json!("-1");
                    b
                },
                "lots[0].estimated_amount",
            ),
            (
                {
                    let mut b = base.clone();
                    b["estimated_amount"] = json!(100);
                    b
                },
                "estimated_amount",
            ),
            (
                {
                    let mut b = base.clone();
                    b.as_object_mut().unwrap().remove("rup");
                    b
                },
                "",
            ),
        ];
        for (body, field) in cases {
            let r = app.post("/v1/requests", Some(&w.municipality), &body).await;
            assert_eq!(r.0, 422, "{field}: {}", r.1);
            if !field.is_empty() {
                assert_eq!(r.1["field"], field, "{}", r.1);
            }
            assert_eq!(r.1["status"], 422);
        }
        // malformed JSON: 400 problem
        let r = app
            .post_raw("/v1/requests", Some(&w.municipality), "{\"object\": ")
            .await;
        assert_eq!(r.0, 400, "{}", r.1);
        assert_eq!(r.1["status"], 400);
        // invalid CIG on a tender, invalid codice fiscale of an operator
        let r = app.post("/v1/tenders", Some(&w.buyer), &json!({
        "title": "x", "contract_type": "works", "procedure_type": "aperta", "criterion": "lowest_price",
        "lots": [{"title": "l", "base_amount": "1000.00", "cig": "B5A520026D"}]})).await;
        assert_eq!(r.0, 422, "{}", r.1);
        assert_eq!(r.1["field"], "lots[0].cig");
        let r = app
            .post(
                "/v1/operators",
                None,
                &json!({"name": "x", "codice_fiscale": "05949241111", "pec": "x@pec.it"}),
            )
            .await;
        assert_eq!(r.0, 422, "{}", r.1);
        assert_eq!(r.1["field"], "codice_fiscale");
        let r = app
            .post(
                "/v1/operators",
                None,
                &json!({"name": "x", "codice_fiscale": "05949241110", "pec": "not mail"}),
            )
            .await;
        assert_eq!(r.1["field"], "pec", "{}", r.1);
        // unknown ids and malformed ids
        let unknown = uuid::Uuid::new_v4();
        assert_eq!(
            app.get(&format!("/v1/requests/{unknown}"), Some(&w.municipality))
                .await
                .0,
            404
        );
        assert_eq!(
            app.get(&format!("/v1/tenders/{unknown}"), Some(&w.buyer))
                .await
                .0,
            404
        );
        assert_eq!(
            app.post(
                &format!("/v1/lots/{unknown}/events"),
                Some(&w.buyer),
                &json!({"event": "award"})
            )
            .await
            .0,
            404
        );
        let r = app
            .get("/v1/requests/not-a-uuid", Some(&w.municipality))
            .await;
        assert_eq!(r.0, 400, "{}", r.1);
        assert_eq!(r.1["status"], 400, "a problem document: {}", r.1);
        let r = app
            .get("/v1/requests?page=abc", Some(&w.municipality))
            .await;
        assert_eq!(r.1["status"], 400, "a problem document: {}", r.1);
        // bad pagination
        assert_eq!(
            app.get("/v1/requests?per_page=1000", Some(&w.municipality))
                .await
                .0,
            422
        );
        // nothing changed
        assert_eq!(audit_entries(&app), before);
        assert_eq!(
            ok(&app.get("/v1/requests", Some(&w.municipality)).await, 200)["total"],
            0
        );
        assert_eq!(
            ok(&app.get("/v1/public/tenders", None).await, 200)["total"],
            0
        );
    }
);

both_backends!(
    roles_and_ownership_are_enforced,
    |app: TestApp| async move {
        let w = world(&app).await;
        // unauthenticated: 401
        assert_eq!(app.post("/v1/requests", None, &request_body()).await.0, 401);
        // wrong role: 403
        assert_eq!(
            app.post("/v1/requests", Some(&w.buyer), &request_body())
                .await
                .0,
            403
        );
        assert_eq!(
            app.post(
                "/v1/provinces",
                Some(&w.buyer),
                &json!({"code": "ZZ", "name": "z"})
            )
            .await
            .0,
            403
        );
        assert_eq!(
            app.post(
                "/v1/tokens",
                Some(&w.municipality),
                &json!({"role": "platform_admin"})
            )
            .await
            .0,
            403
        );
        let r = app.post("/v1/tenders", Some(&w.municipality), &json!({
        "title": "x", "contract_type": "works", "procedure_type": "aperta", "criterion": "lowest_price",
        "lots": [{"title": "l", "base_amount": "1000.00"}]})).await;
        assert_eq!(r.0, 403);
        // the clock cannot be moved by a buyer
        assert_eq!(
            app.put(
                "/v1/admin/clock",
                Some(&w.buyer),
                &json!({"now": "2030-01-01T00:00:00Z"})
            )
            .await
            .0,
            403
        );
        // a buyer of Province A cannot touch Province B's tender
        let t = ok(
            &app.post(
                "/v1/tenders",
                Some(&w.buyer),
                &json!({
        "title": "Fornitura arredi", "contract_type": "supplies", "procedure_type": "aperta",
        "criterion": "lowest_price", "municipality_id": w.comune,
        "lots": [{"title": "Lotto 1", "base_amount": "235000.00", "cig": "B5A4100B07"}]}),
            )
            .await,
            201,
        );
        let tid = t["id"].as_str().unwrap();
        assert_eq!(
            app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.other_buyer),
                &json!({"title": "hijack"})
            )
            .await
            .0,
            404
        );
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}"), Some(&w.other_buyer))
                .await
                .0,
            404
        );
        // the beneficiary municipality reads it but may not drive it
        ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.municipality))
                .await,
            200,
        );
        assert_eq!(
            app.post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.municipality),
                &json!({"event": "adopt_decision_to_contract"})
            )
            .await
            .0,
            403
        );
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}"), Some(&w.other_municipality))
                .await
                .0,
            404
        );
        // a bidder cannot see a draft tender; an unknown event is a 422 naming `event`
        let op = ok(
            &app.post(
                "/v1/operators",
                None,
                &json!({"name": "Alfa", "codice_fiscale": "08881650215", "pec": "a@pec.it"}),
            )
            .await,
            201,
        );
        let tb = op["token"].as_str().unwrap();
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}"), Some(tb)).await.0,
            404
        );
        let r = app
            .post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.buyer),
                &json!({"event": "launch"}),
            )
            .await;
        assert_eq!(
            (r.0, r.1["field"].as_str()),
            (422, Some("event")),
            "{}",
            r.1
        );
        // bidders cannot bid on a tender that is not open (404: they cannot see it)
        let lot = t["lots"][0]["id"].as_str().unwrap();
        assert_eq!(
            app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(tb),
                &json!({"declared_discount": "5"})
            )
            .await
            .0,
            404
        );
        // a commissioner token for this tender reads it, not the other Province's
        let c = ok(
            &app.post(
                "/v1/tokens",
                Some(&w.buyer),
                &json!({"role": "commissioner", "org": tid}),
            )
            .await,
            201,
        );
        ok(
            &app.get(
                &format!("/v1/tenders/{tid}"),
                Some(c["token"].as_str().unwrap()),
            )
            .await,
            200,
        );
        assert_eq!(
            app.post(
                "/v1/tokens",
                Some(&w.other_buyer),
                &json!({"role": "commissioner", "org": tid})
            )
            .await
            .0,
            422
        );
        let _ = (&w.province, &w.admin);
    }
);

both_backends!(
    tampering_with_the_audit_log_is_detected,
    |app: TestApp| async move {
        let w = world(&app).await;
        ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
        // alter entry 3 directly in the database
        {
            use sea_orm::{ConnectionTrait, Database};
            let db = Database::connect(&app.db_url).await.unwrap();
            db.execute_unprepared("UPDATE audit_entry SET actor = 'mallory' WHERE seq = 3")
                .await
                .unwrap();
            db.close().await.ok();
        }
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(!intact, "{out}");
        assert!(out.contains("entry 3"), "{out}");
    }
);

both_backends!(
    a_deadline_at_00_00_of_the_last_day_of_the_term_is_refused,
    |app: TestApp| async move {
        // A term of N days ends at the end of its last day: 00:00 of that day is one day short.
        let w = world(&app).await;
        let r = ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let rid = r["id"].as_str().unwrap();
        let acc = ok(
            &app.post(
                &format!("/v1/requests/{rid}/accept"),
                Some(&w.buyer),
                &json!({"procedure_type": "aperta"}),
            )
            .await,
            201,
        );
        let tender = format!("/v1/tenders/{}", acc["tender_id"].as_str().unwrap());
        let events = format!("{tender}/events");
        let t = ok(&app.get(&tender, Some(&w.buyer)).await, 200);
        let lot = t["lots"][0]["id"].as_str().unwrap();
        event(
            &app,
            &events,
            &w.buyer,
            json!({"event": "adopt_decision_to_contract"}),
        )
        .await;
        ok(
            &app.patch(
                &format!("{tender}/lots/{lot}"),
                Some(&w.buyer),
                &json!({"cig": "B5A520026C", "evaluation_rules": {"anomaly": {"method": "A"}}}),
            )
            .await,
            200,
        );
        event(&app, &events, &w.buyer, json!({"event": "acquire_cig"})).await;
        // The 30-day term of art. 71 c.2 from now, with the calendar's roll-forward.
        let rules = lifecycle::rules::Rules::default();
        let term = lifecycle::procedure::MinTerm {
            days: 30,
            article: "art. 71 c.2",
        };
        let end =
            lifecycle::procedure::earliest_deadline(&rules, chrono::Utc::now(), term).unwrap();
        let cal = &rules.calendar;
        let last_day_midnight =
            cal.start_of_day(cal.local_date(end - chrono::Duration::seconds(1)));
        ok(
            &app.patch(
                &tender,
                Some(&w.buyer),
                &json!({"deadline": last_day_midnight}),
            )
            .await,
            200,
        );
        let refused = app
            .post(&events, Some(&w.buyer), &json!({"event": "publish"}))
            .await;
        assert_eq!(refused.0, 409, "{}", refused.1);
        assert!(refused.1.to_string().contains("art. 71"), "{}", refused.1);
        ok(
            &app.patch(&tender, Some(&w.buyer), &json!({"deadline": end}))
                .await,
            200,
        );
        event(&app, &events, &w.buyer, json!({"event": "publish"})).await;
    }
);
