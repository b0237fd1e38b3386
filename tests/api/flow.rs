//! A whole procurement over HTTP: request → tender → publication → bids → deadline → admission →
//! evaluation → award → signature, with the refusals met on the way.

use crate::both_backends;
use crate::helpers::*;
use serde_json::{Value, json};

/// Everything a scenario needs: tokens and ids.
pub struct World {
    pub admin: String,
    pub province: String,
    pub buyer: String,
    pub comune: String,
    pub municipality: String,
    pub other_buyer: String,
    pub other_municipality: String,
}

pub async fn world(app: &TestApp) -> World {
    let (okc, admin) = app.cli(&["admin", "create-token", "--role", "platform_admin"]);
    assert!(okc && admin.starts_with("sua_"), "{admin}");
    let admin = admin.lines().last().unwrap().to_owned();
    let p = ok(
        &app.post(
            "/v1/provinces",
            Some(&admin),
            &json!({"code": "VM", "name": "Provincia di Valmarina"}),
        )
        .await,
        201,
    );
    let p2 = ok(
        &app.post(
            "/v1/provinces",
            Some(&admin),
            &json!({"code": "XX", "name": "Altra Provincia"}),
        )
        .await,
        201,
    );
    let m = ok(&app.post("/v1/municipalities", Some(&admin), &json!({"province_id": p["id"], "name": "Comune di Castelrupe", "codice_fiscale": "00430120048"})).await, 201);
    let m2 = ok(&app.post("/v1/municipalities", Some(&admin), &json!({"province_id": p["id"], "name": "Comune di Altrove", "codice_fiscale": "80003120047"})).await, 201);
    let tok = |role: &str, org: &Value| json!({"role": role, "org": org});
    let buyer = ok(
        &app.post("/v1/tokens", Some(&admin), &tok("sua_buyer", &p["id"]))
            .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_buyer = ok(
        &app.post("/v1/tokens", Some(&admin), &tok("sua_buyer", &p2["id"]))
            .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let municipality = ok(
        &app.post("/v1/tokens", Some(&admin), &tok("municipality", &m["id"]))
            .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let other_municipality = ok(
        &app.post("/v1/tokens", Some(&admin), &tok("municipality", &m2["id"]))
            .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    World {
        admin,
        province: p["id"].as_str().unwrap().to_owned(),
        buyer,
        comune: m["id"].as_str().unwrap().to_owned(),
        municipality,
        other_buyer,
        other_municipality,
    }
}

pub fn request_body() -> Value {
    json!({
        "object": "Servizio di pulizia degli edifici comunali 2027",
        "contract_type": "services",
        "cpv": "90911200-8",
        "estimated_amount": "180000.00",
        "lots": [{"title": "Lotto unico", "estimated_amount": "180000.00"}],
        "rup": "Mario Rossi",
        "funding_source": "Fondi propri di bilancio",
        "desired_criterion": "lowest_price",
        "desired_timing": "entro marzo 2027"
    })
}

async fn wait_for_state(app: &TestApp, tender: &str, token: &str, state: &str) -> Value {
    for _ in 0..100 {
        let t = ok(
            &app.get(&format!("/v1/tenders/{tender}"), Some(token)).await,
            200,
        );
        if t["state"] == state {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("tender {tender} never reached {state}");
}

both_backends!(
    whole_procurement_from_request_to_signature,
    |app: TestApp| async move {
        let w = world(&app).await;

        // municipality submits a request; the other municipality cannot see it
        let r = ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let rid = r["id"].as_str().unwrap().to_owned();
        assert_eq!(r["status"], "submitted");
        assert_eq!(r["estimated_amount"], "180000.00");
        assert_eq!(
            app.get(&format!("/v1/requests/{rid}"), Some(&w.other_municipality))
                .await
                .0,
            404
        );
        assert_eq!(
            app.get(&format!("/v1/requests/{rid}"), Some(&w.other_buyer))
                .await
                .0,
            404
        );
        let list = ok(
            &app.get("/v1/requests", Some(&w.other_municipality)).await,
            200,
        );
        assert_eq!(list["total"], 0);

        // buyer returns it with a question; the municipality answers, which resubmits it
        ok(
            &app.post(
                &format!("/v1/requests/{rid}/return"),
                Some(&w.buyer),
                &json!({"reason": "Indicare il CUP, se esiste"}),
            )
            .await,
            200,
        );
        ok(
            &app.post(
                &format!("/v1/requests/{rid}/messages"),
                Some(&w.municipality),
                &json!({"body": "Nessun CUP: spesa corrente"}),
            )
            .await,
            201,
        );
        let msgs = ok(
            &app.get(&format!("/v1/requests/{rid}/messages"), Some(&w.buyer))
                .await,
            200,
        );
        assert_eq!(msgs.as_array().unwrap().len(), 2);
        let r = ok(
            &app.get(&format!("/v1/requests/{rid}"), Some(&w.buyer))
                .await,
            200,
        );
        assert_eq!(r["status"], "submitted");

        // buyer accepts it into an open procedure
        let acc = ok(
            &app.post(
                &format!("/v1/requests/{rid}/accept"),
                Some(&w.buyer),
                &json!({"procedure_type": "aperta"}),
            )
            .await,
            201,
        );
        let tid = acc["tender_id"].as_str().unwrap().to_owned();
        assert_eq!(
            app.post(
                &format!("/v1/requests/{rid}/withdraw"),
                Some(&w.municipality),
                &json!({})
            )
            .await
            .0,
            409
        );
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(t["state"], "draft");
        let lot = t["lots"][0]["id"].as_str().unwrap().to_owned();
        // the other Province's buyer does not even see it; the public neither (draft)
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}"), Some(&w.other_buyer))
                .await
                .0,
            404
        );
        assert_eq!(
            app.post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.other_buyer),
                &json!({"event": "publish"})
            )
            .await
            .0,
            404
        );
        assert_eq!(
            app.get(&format!("/v1/public/tenders/{tid}"), None).await.0,
            404
        );

        // the lifecycle refuses to acquire the CIG before the decisione di contrarre, naming the rule
        let refused = app
            .post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.buyer),
                &json!({"event": "acquire_cig"}),
            )
            .await;
        assert_eq!(refused.0, 409, "{}", refused.1);
        assert!(refused.1["rule"].is_string(), "{}", refused.1);
        event(
            &app,
            &format!("/v1/tenders/{tid}/events"),
            &w.buyer,
            json!({"event": "adopt_decision_to_contract"}),
        )
        .await;
        // no CIG yet: refused under art. 62
        let refused = app
            .post(
                &format!("/v1/tenders/{tid}/events"),
                Some(&w.buyer),
                &json!({"event": "acquire_cig"}),
            )
            .await;
        assert_eq!(refused.0, 409, "{}", refused.1);
        assert!(
            refused.1["rule"].as_str().unwrap().contains("62"),
            "{}",
            refused.1
        );
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}/lots/{lot}"),
                Some(&w.buyer),
                &json!({"cig": "B5A520026C", "evaluation_rules": {"anomaly": {"method": "A"}}}),
            )
            .await,
            200,
        );
        event(
            &app,
            &format!("/v1/tenders/{tid}/events"),
            &w.buyer,
            json!({"event": "acquire_cig"}),
        )
        .await;

        // deadline 40 days from the server's now
        let now = chrono::Utc::now();
        let deadline = now + chrono::Duration::days(40);
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"deadline": deadline}),
            )
            .await,
            200,
        );
        let tr = event(
            &app,
            &format!("/v1/tenders/{tid}/events"),
            &w.buyer,
            json!({"event": "publish"}),
        )
        .await;
        assert_eq!(tr["to"], "open");
        let public = ok(
            &app.get(&format!("/v1/public/tenders/{tid}"), None).await,
            200,
        );
        assert_eq!(public["state"], "open");
        let plist = ok(&app.get("/v1/public/tenders", None).await, 200);
        assert_eq!(plist["total"], 1);

        // two operators register and bid; a third asks a clarification
        let a = ok(&app.post("/v1/operators", None, &json!({"name": "Pulizie Alfa srl", "codice_fiscale": "05949241110", "partita_iva": "05949241110", "pec": "alfa@pec.it"})).await, 201);
        let b = ok(&app.post("/v1/operators", None, &json!({"name": "Beta Servizi spa", "codice_fiscale": "02229829771", "pec": "beta@pec.it"})).await, 201);
        let (ta, tb) = (
            a["token"].as_str().unwrap().to_owned(),
            b["token"].as_str().unwrap().to_owned(),
        );
        let q = ok(
            &app.post(
                &format!("/v1/tenders/{tid}/clarifications"),
                Some(&tb),
                &json!({"question": "Il sopralluogo è obbligatorio?"}),
            )
            .await,
            201,
        );
        // unanswered questions are not public
        assert_eq!(
            ok(
                &app.get(&format!("/v1/tenders/{tid}/clarifications"), None)
                    .await,
                200
            )
            .as_array()
            .unwrap()
            .len(),
            0
        );
        ok(
            &app.post(
                &format!("/v1/clarifications/{}/answer", q["id"].as_str().unwrap()),
                Some(&w.buyer),
                &json!({"answer": "No."}),
            )
            .await,
            200,
        );
        let pub_q = ok(
            &app.get(&format!("/v1/tenders/{tid}/clarifications"), None)
                .await,
            200,
        );
        assert_eq!(pub_q[0]["answer"], "No.");

        let bid_a = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&ta),
                &json!({"declared_discount": "12.345", "technical": {"note": "a"}}),
            )
            .await,
            201,
        );
        let bid_b = ok(
            &app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&tb),
                &json!({"declared_discount": "9.5"}),
            )
            .await,
            201,
        );
        let (ida, idb) = (
            bid_a["id"].as_str().unwrap().to_owned(),
            bid_b["id"].as_str().unwrap().to_owned(),
        );
        // one live bid per operator and lot; replace then works
        assert_eq!(
            app.post(
                &format!("/v1/lots/{lot}/bids"),
                Some(&tb),
                &json!({"declared_discount": "9.6"})
            )
            .await
            .0,
            409
        );
        let rep = ok(
            &app.put(
                &format!("/v1/bids/{idb}"),
                Some(&tb),
                &json!({"declared_discount": "10.5"}),
            )
            .await,
            200,
        );
        // sealed: not even the owner reads the content back before the opening; a signed receipt instead
        assert!(rep["declared_discount"].is_null(), "{rep}");
        assert_eq!(rep["receipt"]["receipt"]["action"], "replacement", "{rep}");
        // nobody reads another's bid, nor the buyer before opening
        assert_eq!(app.get(&format!("/v1/bids/{ida}"), Some(&tb)).await.0, 404);
        let sealed = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert!(
            sealed["declared_discount"].is_null()
                && sealed["operator_id"].is_null()
                && sealed["sealed"] == true,
            "{sealed}"
        );
        let staff = ok(
            &app.get(&format!("/v1/tenders/{tid}/bids"), Some(&w.buyer))
                .await,
            200,
        );
        assert!(
            staff
                .as_array()
                .unwrap()
                .iter()
                .all(|b| b["declared_discount"].is_null()),
            "{staff}"
        );
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}/bids"), Some(&ta))
                .await
                .0,
            404
        );
        let mine = ok(&app.get("/v1/bids", Some(&ta)).await, 200);
        assert_eq!(mine["total"], 1);
        // receipts (two submissions, one replacement) and the clarification notice went through the outbox
        let mails = app.wait_for_mails(4).await;
        assert!(
            mails.iter().any(|m| m.contains("alfa@pec.it")),
            "no receipt to Alfa"
        );
        assert!(
            mails.iter().all(|m| !m.contains("12.345")),
            "a receipt must not carry the sealed content"
        );
        assert!(mine["items"][0]["declared_discount"].is_null(), "{mine}");

        // the deadline passes (server clock moved); a late bid is refused by the clock, then the scheduler closes
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": deadline + chrono::Duration::minutes(1)}),
            )
            .await,
            200,
        );
        let late = app
            .put(
                &format!("/v1/bids/{idb}"),
                Some(&tb),
                &json!({"declared_discount": "50"}),
            )
            .await;
        assert_eq!(late.0, 409, "{}", late.1);
        assert_eq!(
            app.post(&format!("/v1/bids/{idb}/withdraw"), Some(&tb), &json!({}))
                .await
                .0,
            409
        );
        wait_for_state(&app, &tid, &w.buyer, "closed").await;

        // administrative envelope, admission, economic envelope
        event(
            &app,
            &format!("/v1/tenders/{tid}/events"),
            &w.buyer,
            json!({"event": "start_evaluation"}),
        )
        .await;
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "open_administrative"}),
        )
        .await;
        let opened = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert!(
            !opened["operator_id"].is_null() && opened["declared_discount"].is_null(),
            "{opened}"
        );
        event(
            &app,
            &format!("/v1/bids/{ida}/events"),
            &w.buyer,
            json!({"event": "admit"}),
        )
        .await;
        event(
            &app,
            &format!("/v1/bids/{idb}/events"),
            &w.buyer,
            json!({"event": "admit"}),
        )
        .await;
        // evaluation before the economic envelopes open is refused
        assert_eq!(
            app.post(
                &format!("/v1/lots/{lot}/evaluate"),
                Some(&w.buyer),
                &json!({})
            )
            .await
            .0,
            409
        );
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "start_economic_evaluation"}),
        )
        .await;
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "open_economic_offers"}),
        )
        .await;
        let opened = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(opened["declared_discount"], "12.345");

        // evaluation through the evaluation crate, explained result stored on the lot
        let ev = ok(
            &app.post(
                &format!("/v1/lots/{lot}/evaluate"),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        assert!(ev["result"].is_object(), "{ev}");
        assert!(
            ev["result"].to_string().contains(&ida),
            "the best discount is explained: {ev}"
        );

        // proposal, verification, award, standstill, signature
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "propose_award", "bid_id": ida}),
        )
        .await;
        event(&app, &format!("/v1/lots/{lot}/events"), &w.buyer, json!({"event": "verify_requirements", "declarations": {"requirements_verified": true}})).await;
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "award"}),
        )
        .await;
        let l = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        )["lots"][0]
            .clone();
        if l["state"] == "awarded" {
            let r = app
                .post(
                    &format!("/v1/lots/{lot}/events"),
                    Some(&w.buyer),
                    &json!({"event": "standstill_elapsed"}),
                )
                .await;
            assert_eq!(
                r.0, 200,
                "below threshold there is no standstill (art. 55 c.2): {}",
                r.1
            );
        }
        event(
            &app,
            &format!("/v1/lots/{lot}/events"),
            &w.buyer,
            json!({"event": "sign_contract"}),
        )
        .await;
        let public = ok(
            &app.get(&format!("/v1/public/tenders/{tid}"), None).await,
            200,
        );
        assert_eq!(public["lots"][0]["state"], "contracted");
        assert_eq!(public["lots"][0]["awardee_bid_id"], ida.as_str());
        let mine = ok(&app.get(&format!("/v1/bids/{ida}"), Some(&ta)).await, 200);
        assert_eq!(mine["state"], "contracted");
        let theirs = ok(&app.get(&format!("/v1/bids/{idb}"), Some(&tb)).await, 200);
        assert_eq!(theirs["state"], "ranked");

        // the audit chain holds, and names the first entry when tampered with
        let (intact, out) = app.cli(&["audit", "verify"]);
        assert!(intact, "{out}");
        assert!(out.contains("intact"), "{out}");
    }
);
