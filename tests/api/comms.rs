//! Lifecycle communications become outbox mails: award (with the standstill end), exclusion, revocation;
//! the buyer lists them per tender, a bidder or another Province cannot.

use crate::both_backends;
use crate::flow::world;
use crate::helpers::*;
use serde_json::{Value, json};

/// The tender's messages once there are `n`; with `sent`, once every one of them is sent (and none failed).
/// Only the bid receipts are waited for until sent. After the test moves the server clock, the mail worker
/// (`notify::start_with_clock`, on the same injected clock) sends the later mails too, but the test does not
/// depend on when: it counts them in the outbox listing whatever their status (`sent: false`).
async fn messages(app: &TestApp, tid: &str, buyer: &str, n: usize, sent: bool) -> Vec<Value> {
    for _ in 0..150 {
        let list = ok(
            &app.get(&format!("/v1/tenders/{tid}/messages"), Some(buyer))
                .await,
            200,
        );
        let items = list.as_array().unwrap().clone();
        if items.len() >= n && (!sent || items.iter().all(|m| m["status"] == "sent")) {
            return items;
        }
        assert!(
            items.iter().all(|m| m["status"] != "failed"),
            "a message failed: {list}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("fewer than {n} messages (sent: {sent}) for tender {tid}");
}

fn count(items: &[Value], template: &str, to: &str) -> usize {
    items
        .iter()
        .filter(|m| m["template"] == template && m["to"][0].as_str().unwrap_or("").contains(to))
        .count()
}

both_backends!(
    award_exclusion_and_revocation_are_mailed_to_participants,
    |app: TestApp| async move {
        let w = world(&app).await;
        // a municipality may be given a PEC; a malformed one is refused naming the field
        let bad = app
            .post(
                "/v1/municipalities",
                Some(&w.admin),
                &json!({"province_id": w.province, "name": "Comune di Pec", "codice_fiscale": "80003120047", "pec": "non-una-pec"}),
            )
            .await;
        assert_eq!(bad.0, 422, "{}", bad.1);
        assert!(bad.1.to_string().contains("pec"), "{}", bad.1);
        let m = ok(
            &app.post(
                "/v1/municipalities",
                Some(&w.admin),
                &json!({"province_id": w.province, "name": "Comune di Pec", "codice_fiscale": "80003120047", "pec": "protocollo@pec.comune.it"}),
            )
            .await,
            201,
        );
        assert_eq!(m["pec"], "protocollo@pec.comune.it");
        // above the EU threshold for services, so the standstill applies (art. 18 c.3)
        let mut body = crate::flow::request_body();
        body["estimated_amount"] = json!("400000.00");
        body["lots"][0]["estimated_amount"] = json!("400000.00");
        let p = publish_open(&app, &w.municipality, &w.buyer, &body).await;
        let (tid, lot, deadline) = (p.tid, p.lot, p.deadline);
        let tev = format!("/v1/tenders/{tid}/events");
        let lev = format!("/v1/lots/{lot}/events");
        let mut tokens = Vec::new();
        let mut bids = Vec::new();
        for (name, cf, pec, discount) in [
            ("Pulizie Alfa srl", "05949241110", "alfa@pec.it", "12.5"),
            ("Beta Servizi spa", "02229829771", "beta@pec.it", "9.5"),
            ("Gamma Coop", "00430120048", "gamma@pec.it", "8.0"),
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
                    &json!({"declared_discount": discount}),
                )
                .await,
                201,
            );
            bids.push(b["id"].as_str().unwrap().to_owned());
            tokens.push(tok);
        }
        let (ida, idb, idc) = (&bids[0], &bids[1], &bids[2]);
        // before any lifecycle mail: only the three receipts
        let receipts = messages(&app, &tid, &w.buyer, 3, true).await;
        assert_eq!(receipts.len(), 3, "{receipts:?}");
        // art. 35 c.2 a: before the deadline the buyer learns how many receipts, never who has bid
        let listed = serde_json::to_string(&receipts).unwrap();
        for who in [
            "alfa@pec.it",
            "beta@pec.it",
            "gamma",
            "Alfa",
            "Beta",
            "Gamma",
        ] {
            assert!(
                !listed.contains(who),
                "{who} named before the deadline: {listed}"
            );
        }
        assert!(
            receipts
                .iter()
                .all(|m| m["template"] == "bid_receipt" && m["to"] == json!([]))
        );
        // bidders and the other Province's buyer do not see the tender's messages
        let (st, _) = app
            .get(&format!("/v1/tenders/{tid}/messages"), Some(&tokens[0]))
            .await;
        assert!(st == 403 || st == 404, "a bidder listed the messages: {st}");
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}/messages"), Some(&w.other_buyer))
                .await
                .0,
            404
        );
        assert_eq!(
            app.get(&format!("/v1/tenders/{tid}/messages"), None)
                .await
                .0,
            401
        );
        // deadline passes, the scheduler closes the tender
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
        // the tender's own offer_deadline timer fires after the scheduler closed it: a no-op, not a refusal
        {
            use sea_orm::{ConnectionTrait, Database, Statement};
            let db = Database::connect(&app.db_url).await.unwrap();
            // the only tender of this database (uuids are stored differently on SQLite and PostgreSQL)
            let sql = "SELECT outcome FROM timer WHERE event = 'offer_deadline' AND object_kind = 'tender' \
                       AND fired_at IS NOT NULL"
                .to_owned();
            let mut outcomes = Vec::new();
            for _ in 0..100 {
                let stmt = Statement::from_string(db.get_database_backend(), sql.clone());
                outcomes = db
                    .query_all_raw(stmt)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| {
                        r.try_get::<Option<String>>("", "outcome")
                            .unwrap()
                            .unwrap_or_default()
                    })
                    .collect();
                if !outcomes.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            db.close().await.ok();
            assert_eq!(outcomes, vec!["fired: already closed".to_owned()]);
        }
        // after the deadline the receipts name their recipients again
        let after = messages(&app, &tid, &w.buyer, 3, false).await;
        assert_eq!(count(&after, "bid_receipt", "alfa@pec.it"), 1, "{after:?}");
        event(&app, &tev, &w.buyer, json!({"event": "start_evaluation"})).await;
        event(
            &app,
            &lev,
            &w.buyer,
            json!({"event": "open_administrative"}),
        )
        .await;
        for id in [ida, idb] {
            event(
                &app,
                &format!("/v1/bids/{id}/events"),
                &w.buyer,
                json!({"event": "admit"}),
            )
            .await;
        }
        // an exclusion without reasons is refused and mails nobody
        let refused = app
            .post(
                &format!("/v1/bids/{idc}/events"),
                Some(&w.buyer),
                &json!({"event": "exclude"}),
            )
            .await;
        assert_eq!(refused.0, 409, "{}", refused.1);
        event(
            &app,
            &format!("/v1/bids/{idc}/events"),
            &w.buyer,
            json!({"event": "exclude", "declarations": {"exclusion_reason": "DURC irregolare"}}),
        )
        .await;
        let after_exclusion = messages(&app, &tid, &w.buyer, 4, false).await;
        assert_eq!(count(&after_exclusion, "exclusion", "gamma@pec.it"), 1);
        assert_eq!(count(&after_exclusion, "exclusion", "alfa@pec.it"), 0);
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
            json!({"event": "propose_award", "bid_id": ida}),
        )
        .await;
        event(&app, &lev, &w.buyer, json!({"event": "verify_requirements", "declarations": {"requirements_verified": true}})).await;
        let tr = event(&app, &lev, &w.buyer, json!({"event": "award"})).await;
        assert!(
            !tr["effects"].to_string().contains("\"standstill\""),
            "the award sets no standstill: it runs from the sending of its mails: {tr}"
        );
        // once the outbox has sent the award mails, standstill_end is recorded on the lot: 32 days from the
        // sending of the last one (art. 18 c.3)
        let mut end = serde_json::Value::Null;
        for _ in 0..150 {
            let t = ok(
                &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
                200,
            );
            end = t["lots"][0]["standstill_end"].clone();
            if !end.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let end: chrono::DateTime<chrono::Utc> = end
            .as_str()
            .unwrap_or_else(|| panic!("no standstill_end"))
            .parse()
            .unwrap();
        let last_sent = messages(&app, &tid, &w.buyer, 7, true)
            .await
            .iter()
            .filter(|m| m["template"] == "award")
            .map(|m| {
                m["sent_at"]
                    .as_str()
                    .unwrap()
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
            })
            .max()
            .unwrap();
        assert_eq!(
            end,
            lifecycle::lot::standstill_end(lifecycle::Rules::standard(), last_sent).unwrap()
        );
        // award mail to the awardee and to the other bidders (the excluded one too: it may still
        // challenge its exclusion, art. 90 c.1 c)
        let msgs = messages(&app, &tid, &w.buyer, 7, false).await;
        assert_eq!(msgs.len(), 7, "{msgs:?}");
        for pec in ["alfa@pec.it", "beta@pec.it", "gamma@pec.it"] {
            assert_eq!(count(&msgs, "award", pec), 1, "{pec}: {msgs:?}");
        }
        // the standstill cannot elapse early
        let early = app
            .post(
                &lev,
                Some(&w.buyer),
                &json!({"event": "standstill_elapsed"}),
            )
            .await;
        assert_eq!(early.0, 409, "{}", early.1);
        // revocation of the lot is mailed to every candidate, excluded one included
        let refused = app
            .post(&lev, Some(&w.buyer), &json!({"event": "revoke"}))
            .await;
        assert_eq!(
            refused.0, 409,
            "a revocation without motivation: {}",
            refused.1
        );
        event(&app, &lev, &w.buyer, json!({"event": "revoke", "declarations": {"motivation": "Sopravvenuto interesse pubblico"}})).await;
        let msgs = messages(&app, &tid, &w.buyer, 10, false).await;
        for pec in ["alfa@pec.it", "beta@pec.it", "gamma@pec.it"] {
            assert_eq!(count(&msgs, "revocation", pec), 1, "{pec}: {msgs:?}");
        }
        assert_eq!(msgs.len(), 10, "nothing mailed twice: {msgs:?}");
        assert_eq!(msgs[0]["template"], "bid_receipt");
        assert_eq!(msgs[0]["status"], "sent");
        // a sent message cannot be resent; an unknown one is 404; a bidder cannot resend
        let id = msgs[0]["id"].as_str().unwrap();
        assert_eq!(
            app.post(
                &format!("/v1/messages/{id}/resend"),
                Some(&w.buyer),
                &json!({})
            )
            .await
            .0,
            409
        );
        let (st, _) = app
            .post(
                &format!("/v1/messages/{id}/resend"),
                Some(&tokens[0]),
                &json!({}),
            )
            .await;
        assert!(st == 403 || st == 404, "a bidder resent a message: {st}");
        assert_eq!(
            app.post(
                &format!("/v1/messages/{}/resend", uuid::Uuid::now_v7()),
                Some(&w.buyer),
                &json!({})
            )
            .await
            .0,
            404
        );
    }
);
