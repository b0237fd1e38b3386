//! Mails to the municipality's PEC: its request received, returned, accepted, rejected (one mail each,
//! naming the request, never twice); a municipality without a PEC gets none and the change still succeeds;
//! the lifecycle's communications to the Comune through to the signature, which also reaches the awardee;
//! the buyer's per-tender message list shows them.

use crate::both_backends;
use crate::flow::{request_body, world};
use crate::helpers::*;
use serde_json::{Value, json};

const PEC: &str = "protocollo@pec.comune.pec.it";

/// A municipality with a PEC in the world's Province, and a municipality token for it.
async fn comune_with_pec(app: &TestApp, admin: &str, province: &str) -> String {
    let m = ok(
        &app.post(
            "/v1/municipalities",
            Some(admin),
            &json!({"province_id": province, "name": "Comune di Pec", "codice_fiscale": "80003120047", "pec": PEC}),
        )
        .await,
        201,
    );
    ok(
        &app.post(
            "/v1/tokens",
            Some(admin),
            &json!({"role": "municipality", "org": m["id"]}),
        )
        .await,
        201,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// (template, recipients JSON, context JSON) of every outbox row, read from the database.
async fn outbox(app: &TestApp) -> Vec<(String, String, Value)> {
    use sea_orm::{ConnectionTrait, Database, Statement};
    let db = Database::connect(&app.db_url).await.unwrap();
    let stmt = Statement::from_string(
        db.get_database_backend(),
        "SELECT template, recipients, context FROM mail_message ORDER BY created_at, id".to_owned(),
    );
    let rows = db
        .query_all_raw(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let ctx: String = r.try_get("", "context").unwrap();
            (
                r.try_get::<String>("", "template").unwrap(),
                r.try_get::<String>("", "recipients").unwrap(),
                serde_json::from_str(&ctx).unwrap(),
            )
        })
        .collect();
    db.close().await.ok();
    rows
}

/// (address in `To:`, `Subject:`) of a written `.eml`, headers unfolded.
fn to_and_subject(eml: &str) -> (String, String) {
    let head = eml
        .split("\r\n\r\n")
        .next()
        .unwrap_or(eml)
        .replace("\r\n ", " ");
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_default()
            .trim()
            .to_owned()
    };
    let to = header("To:");
    let addr = to
        .rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>').to_owned())
        .unwrap_or(to);
    (addr, header("Subject:"))
}

both_backends!(
    request_events_are_mailed_to_the_municipality_pec,
    |app: TestApp| async move {
        let w = world(&app).await;
        let mtok = comune_with_pec(&app, &w.admin, &w.province).await;
        let mut body_a = request_body();
        body_a["object"] = json!("Servizio di pulizia delle scuole 2027");
        let a = ok(&app.post("/v1/requests", Some(&mtok), &body_a).await, 201);
        let ra = a["id"].as_str().unwrap().to_owned();
        // returned with questions: the question is on the thread and in the mail
        ok(
            &app.post(
                &format!("/v1/requests/{ra}/return"),
                Some(&w.buyer),
                &json!({"reason": "Indicare il CUP, se esiste"}),
            )
            .await,
            200,
        );
        let thread = ok(
            &app.get(&format!("/v1/requests/{ra}/messages"), Some(&mtok))
                .await,
            200,
        );
        assert_eq!(thread.as_array().unwrap().len(), 1, "{thread}");
        assert_eq!(thread[0]["author_role"], "sua_buyer");
        // the municipality's answer resubmits the request: no mail
        ok(
            &app.post(
                &format!("/v1/requests/{ra}/messages"),
                Some(&mtok),
                &json!({"body": "Nessun CUP: spesa corrente"}),
            )
            .await,
            201,
        );
        let acc = ok(
            &app.post(
                &format!("/v1/requests/{ra}/accept"),
                Some(&w.buyer),
                &json!({"procedure_type": "aperta"}),
            )
            .await,
            201,
        );
        let tid = acc["tender_id"].as_str().unwrap().to_owned();
        // a retried accept is refused and mails nothing more
        let again = app
            .post(
                &format!("/v1/requests/{ra}/accept"),
                Some(&w.buyer),
                &json!({"procedure_type": "aperta"}),
            )
            .await;
        assert_eq!(again.0, 409, "{}", again.1);

        let mut body_b = request_body();
        body_b["object"] = json!("Fornitura di arredi scolastici");
        let b = ok(&app.post("/v1/requests", Some(&mtok), &body_b).await, 201);
        let rb = b["id"].as_str().unwrap().to_owned();
        ok(
            &app.post(
                &format!("/v1/requests/{rb}/reject"),
                Some(&w.buyer),
                &json!({"reason": "Importo fuori dalla convenzione"}),
            )
            .await,
            200,
        );
        let again = app
            .post(
                &format!("/v1/requests/{rb}/reject"),
                Some(&w.buyer),
                &json!({"reason": "Importo fuori dalla convenzione"}),
            )
            .await;
        assert_eq!(again.0, 409, "{}", again.1);

        // the world's municipality has no PEC: its request is submitted, returned, rejected, unmailed
        let c = ok(
            &app.post("/v1/requests", Some(&w.municipality), &request_body())
                .await,
            201,
        );
        let rc = c["id"].as_str().unwrap().to_owned();
        ok(
            &app.post(
                &format!("/v1/requests/{rc}/return"),
                Some(&w.buyer),
                &json!({"reason": "Domanda"}),
            )
            .await,
            200,
        );
        ok(
            &app.post(
                &format!("/v1/requests/{rc}/reject"),
                Some(&w.buyer),
                &json!({"reason": "Motivo"}),
            )
            .await,
            200,
        );
        let got = ok(
            &app.get(&format!("/v1/requests/{rc}"), Some(&w.municipality))
                .await,
            200,
        );
        assert_eq!(got["status"], "rejected");

        // exactly five rows in the outbox, all to the PEC, in the order of the events
        let rows = outbox(&app).await;
        let templates: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            templates,
            [
                "request_received",
                "request_returned",
                "request_accepted",
                "request_received",
                "request_rejected"
            ],
            "{rows:?}"
        );
        for (t, to, ctx) in &rows {
            assert!(to.contains(PEC), "{t} to {to}");
            assert_eq!(ctx["recipient_name"], "Comune di Pec");
        }
        assert_eq!(rows[1].2["reasons"], "Indicare il CUP, se esiste");
        assert_eq!(rows[4].2["reasons"], "Importo fuori dalla convenzione");

        // as written by the worker: one mail per event, each subject naming its request
        let mails = app.wait_for_mails(5).await;
        assert_eq!(mails.len(), 5);
        let mut got: Vec<(String, String)> = mails.iter().map(|m| to_and_subject(m)).collect();
        got.sort();
        let mut want: Vec<(String, String)> = vec![
            (
                PEC.into(),
                format!("Richiesta ricevuta: Servizio di pulizia delle scuole 2027 (rif. {ra})"),
            ),
            (
                PEC.into(),
                format!(
                    "Richiesta da integrare: Servizio di pulizia delle scuole 2027 (rif. {ra})"
                ),
            ),
            (
                PEC.into(),
                format!("Richiesta accettata: Servizio di pulizia delle scuole 2027 (rif. {ra})"),
            ),
            (
                PEC.into(),
                format!("Richiesta ricevuta: Fornitura di arredi scolastici (rif. {rb})"),
            ),
            (
                PEC.into(),
                format!("Richiesta non accolta: Fornitura di arredi scolastici (rif. {rb})"),
            ),
        ];
        want.sort();
        assert_eq!(got, want);
        let rejected = mails
            .iter()
            .find(|m| m.contains("non accolta"))
            .unwrap()
            .replace("=\r\n", "");
        assert!(
            rejected.contains("Importo fuori dalla convenzione"),
            "{rejected}"
        );

        // the acceptance is listed with the new tender, for its buyers
        let list = ok(
            &app.get(&format!("/v1/tenders/{tid}/messages"), Some(&w.buyer))
                .await,
            200,
        );
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0]["template"], "request_accepted");
        assert!(list[0]["to"][0].as_str().unwrap().contains(PEC));
    }
);

both_backends!(
    lifecycle_steps_and_the_signature_are_mailed_to_the_municipality,
    |app: TestApp| async move {
        let w = world(&app).await;
        let mtok = comune_with_pec(&app, &w.admin, &w.province).await;
        // below the EU threshold: no standstill (art. 55 c.2), the contract can be signed at once
        let p = publish_open(&app, &mtok, &w.buyer, &request_body()).await;
        let (tid, lot, deadline) = (p.tid, p.lot, p.deadline);
        let tev = format!("/v1/tenders/{tid}/events");
        let lev = format!("/v1/lots/{lot}/events");
        let bids = bid_ids(register_and_bid(&app, &lot, &ALFA_AND_BETA).await);
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
            let t = ok(
                &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
                200,
            );
            if t["state"] == "closed" {
                closed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(closed, "the scheduler closes the tender at the deadline");
        event(&app, &tev, &w.buyer, json!({"event": "start_evaluation"})).await;
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "open_administrative"}),
        )
        .await;
        for id in &bids {
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
        ok(
            &app.post(
                &format!("/v1/lots/{lot}/evaluate"),
                Some(&w.buyer),
                &json!({}),
            )
            .await,
            200,
        );
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "propose_award", "bid_id": bids[0]}),
        )
        .await;
        event(&app, &lev, &w.buyer, json!({"event": "verify_requirements", "declarations": {"requirements_verified": true}})).await;
        event(&app, &lev, &w.buyer, json!({"event": "award"})).await;
        let l = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        )["lots"][0]
            .clone();
        if l["state"] == "awarded" {
            event(&app, &lev, &w.buyer, json!({"event": "standstill_elapsed"})).await;
        }
        event(&app, &lev, &w.buyer, json!({"event": "sign_contract"})).await;

        // every communication to the Comune, in order: the request ones, then one per lifecycle step
        // (the decisione di contrarre's `request_accepted` is not mailed twice)
        let rows = outbox(&app).await;
        let to_comune: Vec<String> = rows
            .iter()
            .filter(|r| r.1.contains(PEC))
            .map(|r| match r.0.as_str() {
                "municipality_update" => format!("update:{}", r.2["event"].as_str().unwrap()),
                t => t.to_owned(),
            })
            .collect();
        assert_eq!(
            to_comune,
            [
                "request_received",
                "request_accepted",
                "update:cig_acquired",
                "tender_published",
                "update:submissions_closed",
                "update:admissions_and_exclusions",
                "update:award_proposal",
                "update:verification_outcome",
                "update:award",
                "contract_signed",
            ],
            "{rows:?}"
        );
        let update = |event: &str| {
            rows.iter()
                .find(|r| r.0 == "municipality_update" && r.2["event"] == event)
                .unwrap()
                .2
                .clone()
        };
        assert!(
            update("cig_acquired")["details"]
                .as_str()
                .unwrap()
                .contains("B5A520026C"),
            "{rows:?}"
        );
        assert!(
            update("submissions_closed")["details"]
                .as_str()
                .unwrap()
                .contains("Offerte pervenute: 2"),
            "{rows:?}"
        );
        assert!(
            update("admissions_and_exclusions")["details"]
                .as_str()
                .unwrap()
                .contains("Offerte ammesse: 2; offerte escluse: 0"),
            "{rows:?}"
        );
        assert!(
            update("award")["details"]
                .as_str()
                .unwrap()
                .contains("Pulizie Alfa srl"),
            "{rows:?}"
        );
        // the signature: the municipality, the awardee and the other bidder, once each
        let signed = |pec: &str| {
            rows.iter()
                .filter(|r| r.0 == "contract_signed" && r.1.contains(pec))
                .count()
        };
        assert_eq!(signed(PEC), 1);
        assert_eq!(signed("alfa@pec.it"), 1);
        assert_eq!(signed("beta@pec.it"), 1);
        let comune_signed = rows
            .iter()
            .find(|r| r.0 == "contract_signed" && r.1.contains(PEC))
            .unwrap();
        assert_eq!(comune_signed.2["awardee_name"], "Pulizie Alfa srl");
        assert_eq!(comune_signed.2["recipient_name"], "Comune di Pec");

        // the buyer's per-tender list shows the municipality's mails (all but the request's receipt)
        let list = ok(
            &app.get(&format!("/v1/tenders/{tid}/messages"), Some(&w.buyer))
                .await,
            200,
        );
        let to_pec = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"][0].as_str().unwrap_or("").contains(PEC))
            .count();
        assert_eq!(to_pec, to_comune.len() - 1, "{list}");
    }
);
