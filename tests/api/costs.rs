//! Issue 17, missing guards and values, over HTTP: costs outside the ribasso (art. 41 c.14, art. 108 c.9)
//! carried to the award amount of the API, the award mail, the L.190 XML and the OCDS release; the value
//! and date that pick the threshold (art. 14 c.4, c.7); the guards of art. 48 c.2, art. 108 c.2, art. 76
//! c.7 and art. 52 c.1, each refused naming its article.

use crate::both_backends;
use crate::flow::world;
use crate::helpers::*;
use serde_json::{Value, json};

/// Tender events and lot events.
async fn tender_ev(app: &TestApp, tid: &str, buyer: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/v1/tenders/{tid}/events"), Some(buyer), &body)
        .await
}

async fn lot_ev(app: &TestApp, lot: &str, buyer: &str, body: Value) -> (u16, Value) {
    app.post(&format!("/v1/lots/{lot}/events"), Some(buyer), &body)
        .await
}

/// A 409 naming exactly `rule`.
#[track_caller]
fn refused_with(r: &(u16, Value), rule: &str) {
    assert_eq!(r.0, 409, "expected a refusal under {rule}: {}", r.1);
    assert_eq!(r.1["rule"], rule, "{}", r.1);
}

/// A new draft tender (buyer); returns (tender id, first lot id).
async fn draft(app: &TestApp, buyer: &str, body: Value) -> (String, String) {
    let t = ok(&app.post("/v1/tenders", Some(buyer), &body).await, 201);
    (
        t["id"].as_str().unwrap().to_owned(),
        t["lots"][0]["id"].as_str().unwrap().to_owned(),
    )
}

/// Operators registered by the test (names and PECs derived from `i`), with their tokens.
async fn operators(app: &TestApp, cfs: &[&str]) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for (i, cf) in cfs.iter().enumerate() {
        let o = ok(
            &app.post(
                "/v1/operators",
                None,
                &json!({"name": format!("Operatore {i} srl"), "codice_fiscale": cf,
                        "pec": format!("op{i}@pec.it")}),
            )
            .await,
            201,
        );
        v.push((
            o["operator"]["id"].as_str().unwrap_or_default().to_owned(),
            o["token"].as_str().unwrap().to_owned(),
        ));
    }
    v
}

/// The readable text of a written `.eml`: quoted-printable soft breaks joined and `=XX` decoded, base64
/// bodies decoded.
fn eml_text(eml: &str) -> String {
    use base64::Engine;
    let mut out = String::new();
    let flat = eml.replace("=\r\n", "").replace("=\n", "");
    let bytes = flat.as_bytes();
    let mut dec = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&flat[i + 1..i + 3], 16)
        {
            dec.push(b);
            i += 3;
            continue;
        }
        dec.push(bytes[i]);
        i += 1;
    }
    out.push_str(&String::from_utf8_lossy(&dec));
    let mut block = String::new();
    for line in eml.lines().chain(std::iter::once("")) {
        let l = line.trim_end();
        if l.len() >= 16
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        {
            block.push_str(l);
        } else if !block.is_empty() {
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(&block) {
                out.push('\n');
                out.push_str(&String::from_utf8_lossy(&b));
            }
            block.clear();
        }
    }
    out
}

both_backends!(
    the_award_amount_leaves_labour_costs_outside_the_ribasso_everywhere,
    |app: TestApp| async move {
        let w = world(&app).await;
        let lot = |labour: &str| {
            json!({"title": "Lotto unico", "base_amount": "100000.00", "labour_costs": labour,
                   "cig": "B5A520026C", "evaluation_rules": {"anomaly": {"method": "A"}}})
        };
        let body = |labour: &str| {
            json!({"title": "Manutenzione del verde pubblico 2027", "contract_type": "services",
                   "procedure_type": "aperta", "criterion": "lowest_price",
                   "municipality_id": w.comune, "lots": [lot(labour)]})
        };
        // the costs outside the ribasso are part of the base: above it, or negative, a 422 names the field
        let r = app
            .post("/v1/tenders", Some(&w.buyer), &body("100000.01"))
            .await;
        assert_eq!(r.0, 422, "{}", r.1);
        assert!(r.1.to_string().contains("lots[0].labour_costs"), "{}", r.1);
        let r = app.post("/v1/tenders", Some(&w.buyer), &body("-1")).await;
        assert_eq!(r.0, 422, "{}", r.1);
        assert!(r.1.to_string().contains("lots[0].labour_costs"), "{}", r.1);
        // 100,000.00 of which 20,000.00 labour costs: 80,000.00 subject to the ribasso
        let (tid, lid) = draft(&app, &w.buyer, body("20000.00")).await;
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(t["lots"][0]["labour_costs"], "20000.00", "{t}");
        assert_eq!(t["lots"][0]["amount_subject_to_ribasso"], "80000.00", "{t}");
        let patch = app
            .patch(
                &format!("/v1/tenders/{tid}/lots/{lid}"),
                Some(&w.buyer),
                &json!({"safety_costs": "80000.01"}),
            )
            .await;
        assert_eq!(patch.0, 422, "{}", patch.1);
        assert!(patch.1.to_string().contains("safety_costs"), "{}", patch.1);

        ok(
            &tender_ev(
                &app,
                &tid,
                &w.buyer,
                json!({"event": "adopt_decision_to_contract"}),
            )
            .await,
            200,
        );
        ok(
            &tender_ev(&app, &tid, &w.buyer, json!({"event": "acquire_cig"})).await,
            200,
        );
        let deadline = chrono::Utc::now() + chrono::Duration::days(40);
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"deadline": deadline}),
            )
            .await,
            200,
        );
        ok(
            &tender_ev(&app, &tid, &w.buyer, json!({"event": "publish"})).await,
            200,
        );

        let ops = operators(&app, &["05949241110", "02229829771"]).await;
        // art. 108 c.9: the economic offer states the operator's labour costs, or the bid is refused
        let r = app
            .post(
                &format!("/v1/lots/{lid}/bids"),
                Some(&ops[0].1),
                &json!({"declared_discount": "10"}),
            )
            .await;
        assert_eq!(r.0, 422, "{}", r.1);
        assert!(
            r.1.to_string().contains("declared_labour_costs")
                && r.1.to_string().contains("art. 108 c.9"),
            "{}",
            r.1
        );
        let a = ok(
            &app.post(
                &format!("/v1/lots/{lid}/bids"),
                Some(&ops[0].1),
                &json!({"declared_discount": "10", "declared_labour_costs": "19500.00"}),
            )
            .await,
            201,
        );
        ok(
            &app.post(
                &format!("/v1/lots/{lid}/bids"),
                Some(&ops[1].1),
                &json!({"declared_discount": "5", "declared_labour_costs": "20000.00"}),
            )
            .await,
            201,
        );
        let ida = a["id"].as_str().unwrap().to_owned();

        // past the deadline: admission, economic offers, evaluation, award
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": deadline + chrono::Duration::minutes(1)}),
            )
            .await,
            200,
        );
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
        ok(
            &tender_ev(&app, &tid, &w.buyer, json!({"event": "start_evaluation"})).await,
            200,
        );
        ok(
            &lot_ev(
                &app,
                &lid,
                &w.buyer,
                json!({"event": "open_administrative"}),
            )
            .await,
            200,
        );
        let bids = ok(
            &app.get(&format!("/v1/tenders/{tid}/bids"), Some(&w.buyer))
                .await,
            200,
        );
        for b in bids.as_array().unwrap() {
            ok(
                &app.post(
                    &format!("/v1/bids/{}/events", b["id"].as_str().unwrap()),
                    Some(&w.buyer),
                    &json!({"event": "admit"}),
                )
                .await,
                200,
            );
        }
        for e in ["start_economic_evaluation", "open_economic_offers"] {
            ok(
                &lot_ev(&app, &lid, &w.buyer, json!({"event": e})).await,
                200,
            );
        }
        let opened = ok(
            &app.get(&format!("/v1/bids/{ida}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(opened["declared_labour_costs"], "19500.00", "{opened}");
        ok(
            &app.post(
                &format!("/v1/lots/{lid}/evaluate"),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        ok(
            &lot_ev(
                &app,
                &lid,
                &w.buyer,
                json!({"event": "propose_award", "bid_id": ida}),
            )
            .await,
            200,
        );
        ok(
            &lot_ev(
                &app,
                &lid,
                &w.buyer,
                json!({"event": "verify_requirements",
                       "declarations": {"requirements_verified": true}}),
            )
            .await,
            200,
        );
        ok(
            &lot_ev(&app, &lid, &w.buyer, json!({"event": "award"})).await,
            200,
        );

        // 1. the API: 80,000.00 × (1 − 10 %) + 20,000.00 = 92,000.00 (not 90,000.00)
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        assert_eq!(t["lots"][0]["award_amount"], "92000.00", "{t}");

        // 2. the award mail to the awardee (.eml written by the outbox)
        let mut found = None;
        for _ in 0..150 {
            let mails = app.wait_for_mails(1).await;
            found = mails
                .iter()
                .map(|m| eml_text(m))
                .find(|m| m.contains("Importo di aggiudicazione"));
            if found.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mail = found.expect("an award mail with the amount");
        assert!(mail.contains("92.000,00"), "{mail}");
        assert!(!mail.contains("90.000,00"), "{mail}");

        // 3. the L.190 XML
        let out = app.data_dir().join("l190");
        let year = chrono::Utc::now().format("%Y").to_string();
        let (done, stdout) = app.cli(&[
            "export",
            "l190",
            "--year",
            &year,
            "--province",
            "VM",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(done, "{stdout}");
        let xml = std::fs::read_to_string(out.join("dataset_1.xml")).unwrap();
        assert!(
            xml.contains("<importoAggiudicazione>92000.00</importoAggiudicazione>"),
            "{xml}"
        );

        // 4. the OCDS release: the award's value
        let file = app.data_dir().join("ocds.json");
        let (done, stdout) = app.cli(&[
            "export",
            "ocds",
            "--out",
            file.to_str().unwrap(),
            "--tender",
            &tid,
            "--ocid-prefix",
            "ocds-abc123",
            "--publisher",
            "Provincia di Valmarina",
        ]);
        assert!(done, "{stdout}");
        let pkg: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let amounts: Vec<String> = pkg["releases"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["awards"].as_array().cloned().unwrap_or_default())
            .map(|a| a["value"]["amount"].to_string())
            .collect();
        assert!(!amounts.is_empty(), "{pkg}");
        assert!(
            amounts
                .iter()
                .all(|a| a.parse::<rust_decimal::Decimal>().unwrap()
                    == rust_decimal::Decimal::from(92_000)),
            "{amounts:?}"
        );
    }
);

both_backends!(
    the_threshold_is_the_one_in_force_at_the_transmission_and_counts_options,
    |app: TestApp| async move {
        let w = world(&app).await;
        let at = |s: &str| json!({"now": s});
        // art. 14 c.7: 218,000.00 of services, decided on 20 Dec 2025 (threshold 221,000: band e), invited
        // on 10 Jan 2026 (threshold 216,000: above it)
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &at("2025-12-20T09:00:00Z"),
            )
            .await,
            200,
        );
        let ops = operators(
            &app,
            &[
                "05949241110",
                "02229829771",
                "01234567897",
                "00743110157",
                "00488410010",
            ],
        )
        .await;
        let invitees: Vec<&str> = ops.iter().map(|o| o.0.as_str()).collect();
        let (tid, lid) = draft(
            &app,
            &w.buyer,
            json!({"title": "Servizio di vigilanza", "contract_type": "services",
                   "procedure_type": "negoziata_senza_bando", "criterion": "quality_price",
                   "invitees": invitees,
                   "lots": [{"title": "Lotto unico", "base_amount": "218000.00"}]}),
        )
        .await;
        ok(
            &tender_ev(
                &app,
                &tid,
                &w.buyer,
                json!({"event": "adopt_decision_to_contract"}),
            )
            .await,
            200,
        );
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}/lots/{lid}"),
                Some(&w.buyer),
                &json!({"cig": "B5A520026C"}),
            )
            .await,
            200,
        );
        ok(
            &tender_ev(&app, &tid, &w.buyer, json!({"event": "acquire_cig"})).await,
            200,
        );
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"deadline": "2026-02-20T11:00:00Z"}),
            )
            .await,
            200,
        );
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &at("2026-01-10T09:00:00Z"),
            )
            .await,
            200,
        );
        // (the invitees were written by hand: rotation is applied in the contract's sector, art. 49)
        let r = tender_ev(
            &app,
            &tid,
            &w.buyer,
            json!({"event": "send_invitations", "declarations": {"rotation_category": "90"}}),
        )
        .await;
        refused_with(&r, "art. 50 c.1 lett. c)-e)");
        assert!(r.1.to_string().contains("216000"), "{}", r.1);

        // art. 14 c.4: 200,000.00 of base and 20,000.00 of options are 220,000.00: above 216,000
        let (tid2, _) = draft(
            &app,
            &w.buyer,
            json!({"title": "Servizio di pulizia", "contract_type": "services",
                   "procedure_type": "negoziata_senza_bando", "criterion": "lowest_price",
                   "lots": [{"title": "Lotto unico", "base_amount": "200000.00",
                             "options": "20000.00"}]}),
        )
        .await;
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid2}"), Some(&w.buyer))
                .await,
            200,
        );
        assert_eq!(t["lots"][0]["options"], "20000.00", "{t}");
        let r = tender_ev(
            &app,
            &tid2,
            &w.buyer,
            json!({"event": "adopt_decision_to_contract"}),
        )
        .await;
        refused_with(&r, "art. 50 c.1 lett. c)-e)");
        assert!(r.1.to_string().contains("220000"), "{}", r.1);
    }
);

both_backends!(
    the_guards_of_art_48_108_76_and_52_refuse_naming_their_article,
    |app: TestApp| async move {
        let w = world(&app).await;
        // the OpenAPI schemas carry the new fields
        let api = ok(&app.get("/openapi.json", None).await, 200);
        let props = |schema: &str| api["components"]["schemas"][schema]["properties"].clone();
        for f in ["labour_costs", "safety_costs", "options", "renewals"] {
            assert!(props("NewLot")[f].is_object(), "NewLot.{f}");
            assert!(props("LotPatch")[f].is_object(), "LotPatch.{f}");
            assert!(props("LotView")[f].is_object(), "LotView.{f}");
        }
        assert!(props("LotView")["award_amount"].is_object());
        assert!(props("NewTender")["service_nature"].is_object());
        assert!(props("BidContent")["declared_labour_costs"].is_object());
        assert!(props("Declarations")["requirement_checks"].is_object());
        let tender = |procedure: &str, criterion: &str, amount: &str, extra: Value| {
            let mut b = json!({"title": "Affidamento di prova", "contract_type": "services",
                   "procedure_type": procedure, "criterion": criterion,
                   "lots": [{"title": "Lotto unico", "base_amount": amount}]});
            if let (Some(b), Some(e)) = (b.as_object_mut(), extra.as_object()) {
                b.extend(e.clone());
            }
            b
        };

        // art. 48 c.2: a certain cross-border interest refuses the negotiated procedure without a bando
        let (tid, _) = draft(
            &app,
            &w.buyer,
            tender(
                "negoziata_senza_bando",
                "lowest_price",
                "180000.00",
                json!({}),
            ),
        )
        .await;
        let r = tender_ev(
            &app,
            &tid,
            &w.buyer,
            json!({"event": "adopt_decision_to_contract",
                   "declarations": {"cross_border_interest": true}}),
        )
        .await;
        refused_with(&r, "art. 48 c.2");

        // art. 108 c.2: social services are awarded on quality-price; a typo is a 422 naming the field
        let bad = app
            .post(
                "/v1/tenders",
                Some(&w.buyer),
                &tender(
                    "aperta",
                    "lowest_price",
                    "300000.00",
                    json!({"service_nature": "servizi_sociali"}),
                ),
            )
            .await;
        assert_eq!(bad.0, 422, "{}", bad.1);
        assert!(bad.1.to_string().contains("service_nature"), "{}", bad.1);
        let (tid, _) = draft(
            &app,
            &w.buyer,
            tender(
                "aperta",
                "lowest_price",
                "300000.00",
                json!({"service_nature": "social_services"}),
            ),
        )
        .await;
        let r = tender_ev(
            &app,
            &tid,
            &w.buyer,
            json!({"event": "adopt_decision_to_contract"}),
        )
        .await;
        refused_with(&r, "art. 108 c.2 lett. a)");
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"criterion": "quality_price"}),
            )
            .await,
            200,
        );
        ok(
            &tender_ev(
                &app,
                &tid,
                &w.buyer,
                json!({"event": "adopt_decision_to_contract"}),
            )
            .await,
            200,
        );

        // art. 76 c.7: one operator consulted needs the reason why no more can be
        let ops = operators(&app, &["05949241110"]).await;
        let (tid, lid) = draft(
            &app,
            &w.buyer,
            tender(
                "negoziata_senza_pubblicazione",
                "lowest_price",
                "300000.00",
                json!({"invitees": [ops[0].0]}),
            ),
        )
        .await;
        ok(
            &tender_ev(
                &app,
                &tid,
                &w.buyer,
                json!({"event": "adopt_decision_to_contract",
                       "declarations": {"condition_motivated": true}}),
            )
            .await,
            200,
        );
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}/lots/{lid}"),
                Some(&w.buyer),
                &json!({"cig": "B5A520026C"}),
            )
            .await,
            200,
        );
        ok(
            &tender_ev(&app, &tid, &w.buyer, json!({"event": "acquire_cig"})).await,
            200,
        );
        let deadline = chrono::Utc::now() + chrono::Duration::days(20);
        ok(
            &app.patch(
                &format!("/v1/tenders/{tid}"),
                Some(&w.buyer),
                &json!({"deadline": deadline}),
            )
            .await,
            200,
        );
        let r = tender_ev(&app, &tid, &w.buyer, json!({"event": "send_invitations"})).await;
        refused_with(&r, "art. 76 c.7");
        let tr = ok(
            &tender_ev(
                &app,
                &tid,
                &w.buyer,
                json!({"event": "send_invitations", "declarations": {
                    "operators_available": 1,
                    "motivation": "diritti di esclusiva (art. 76 c.2 lett. b) n. 3)"}}),
            )
            .await,
            200,
        );
        assert!(
            tr["effects"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"] == "art. 76 c.7"
                    && e["message"].as_str().unwrap_or("").contains("esclusiva")),
            "{tr}"
        );

        // art. 52 c.1: a direct award below 40,000 on the self-declaration; at 40,000 refused
        for (amount, accepted) in [("39999.99", true), ("40000.00", false)] {
            let (tid, lid) = draft(
                &app,
                &w.buyer,
                tender("affidamento_diretto", "lowest_price", amount, json!({})),
            )
            .await;
            ok(
                &tender_ev(
                    &app,
                    &tid,
                    &w.buyer,
                    json!({"event": "adopt_decision_to_contract",
                           "declarations": {"contractor_named": true}}),
                )
                .await,
                200,
            );
            ok(
                &app.patch(
                    &format!("/v1/tenders/{tid}/lots/{lid}"),
                    Some(&w.buyer),
                    &json!({"cig": "B5A520026C"}),
                )
                .await,
                200,
            );
            for e in ["acquire_cig", "start_direct_award"] {
                ok(
                    &tender_ev(&app, &tid, &w.buyer, json!({"event": e})).await,
                    200,
                );
            }
            ok(
                &lot_ev(&app, &lid, &w.buyer, json!({"event": "start_direct_award"})).await,
                200,
            );
            let verify = json!({"event": "verify_requirements",
                                "declarations": {"requirement_checks": "art52_self_declaration"}});
            let r = lot_ev(&app, &lid, &w.buyer, verify).await;
            if accepted {
                ok(&r, 200);
                let award = ok(
                    &lot_ev(&app, &lid, &w.buyer, json!({"event": "award"})).await,
                    200,
                );
                assert!(
                    award["effects"].to_string().contains("art. 52 c.1"),
                    "{award}"
                );
            } else {
                refused_with(&r, "art. 52 c.1");
            }
        }
    }
);
