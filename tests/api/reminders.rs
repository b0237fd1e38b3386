//! `sua serve` end to end: the scheduler enqueues the offer-deadline reminder on the moved server clock, and the
//! mail worker, running on that same clock, sends it (before `notify::start_with_clock` the worker used wall
//! time and left every mail enqueued after a forward clock move queued). Only the operator who withdrew gets
//! it; the one with a bid in force does not.

use crate::both_backends;
use crate::flow::world;
use crate::helpers::*;
use serde_json::json;

both_backends!(
    the_deadline_reminder_is_enqueued_and_sent_on_the_server_clock,
    |app: TestApp| async move {
        let w = world(&app).await;
        let p = publish_open(
            &app,
            &w.municipality,
            &w.buyer,
            &crate::flow::request_body(),
        )
        .await;
        let (tid, lot, deadline) = (p.tid, p.lot, p.deadline);
        let mut bids = Vec::new();
        let mut tokens = Vec::new();
        for (name, cf, pec) in [
            ("Pulizie Alfa srl", "05949241110", "alfa@pec.it"),
            ("Beta Servizi spa", "02229829771", "beta@pec.it"),
        ] {
            let o = ok(
                &app.post(
                    "/v1/operators",
                    None,
                    &json!({"name": name, "codice_fiscale": cf, "pec": pec}),
                )
                .await,
                201,
            );
            let tok = o["token"].as_str().unwrap().to_owned();
            let b = ok(
                &app.post(
                    &format!("/v1/lots/{lot}/bids"),
                    Some(&tok),
                    &json!({"declared_discount": "10.5"}),
                )
                .await,
                201,
            );
            bids.push(b["id"].as_str().unwrap().to_owned());
            tokens.push(tok);
        }
        // Alfa withdraws: it started and holds no bid in force; Beta's bid stands
        ok(
            &app.post(
                &format!("/v1/bids/{}/withdraw", bids[0]),
                Some(&tokens[0]),
                &json!({}),
            )
            .await,
            200,
        );
        // 47 hours before the deadline (the 48 h window is open), 40 days ahead of wall time
        ok(
            &app.put(
                "/v1/admin/clock",
                Some(&w.admin),
                &json!({"now": deadline - chrono::Duration::hours(47)}),
            )
            .await,
            200,
        );
        let mut reminders = Vec::new();
        for _ in 0..150 {
            let list = ok(
                &app.get(&format!("/v1/tenders/{tid}/messages"), Some(&w.buyer))
                    .await,
                200,
            );
            reminders = list
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["template"] == "deadline_reminder")
                .cloned()
                .collect();
            if !reminders.is_empty() && reminders.iter().all(|m| m["status"] == "sent") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(reminders.len(), 1, "{reminders:?}");
        let m = &reminders[0];
        assert_eq!(m["status"], "sent", "sent on the server clock: {m}");
        // before the deadline the buyer's listing names no operator (art. 35 c.2 a): who got the
        // reminder, and its subject, are checked on the .eml below
        assert_eq!(m["to"], json!([]), "{m}");
        assert!(m["subject"].is_null(), "{m}");
        // the .eml: Alfa's, naming the CIG, not Beta
        let mails = app.wait_for_mails(1).await;
        let eml = mails
            .iter()
            .find(|e| e.contains("Subject: Promemoria: termine offerte"))
            .expect("the reminder's .eml")
            .replace("=\r\n", "");
        assert!(
            eml.contains("alfa@pec.it") && eml.contains("B5A520026C"),
            "{eml}"
        );
        assert!(
            !eml.contains("beta@pec.it") && !eml.contains("Beta Servizi"),
            "{eml}"
        );
        // later passes do not send it again
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let list = ok(
            &app.get(&format!("/v1/tenders/{tid}/messages"), Some(&w.buyer))
                .await,
            200,
        );
        let n = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["template"] == "deadline_reminder")
            .count();
        assert_eq!(n, 1, "{list}");
    }
);
