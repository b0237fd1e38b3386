//! The standstill (art. 18 c.3) runs from the sending of the last award communication, as the outbox reports
//! it, not from the award nor from the queueing of its mails: the PEC server is down when the award is made,
//! the mails go out three days later, and the standstill ends 32 days after that.

use crate::flow::{request_body, world};
use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

async fn award_messages(app: &TestApp, tid: &str, buyer: &str) -> Vec<Value> {
    ok(
        &app.get(&format!("/v1/tenders/{tid}/messages"), Some(buyer))
            .await,
        200,
    )
    .as_array()
    .unwrap()
    .iter()
    .filter(|m| m["template"] == "award")
    .cloned()
    .collect()
}

async fn run(backend: Backend) {
    let mut sink = testkit::smtp::SmtpSink::start(std::time::Duration::ZERO);
    let port = sink.port.to_string();
    let app = TestApp::spawn_with(
        backend,
        &[
            ("SUA_MAIL__TRANSPORT__KIND", "smtp"),
            ("SUA_MAIL__TRANSPORT__DIR", ""),
            ("SUA_MAIL__TRANSPORT__HOST", "127.0.0.1"),
            ("SUA_MAIL__TRANSPORT__PORT", &port),
            ("SUA_MAIL__TRANSPORT__SECURITY", "none"),
        ],
    )
    .await;
    let w = world(&app).await;
    // above the EU threshold for services: the standstill applies
    let mut body = request_body();
    body["estimated_amount"] = json!("400000.00");
    body["lots"][0]["estimated_amount"] = json!("400000.00");
    let p = publish_open(&app, &w.municipality, &w.buyer, &body).await;
    let (tid, lot) = (p.tid.clone(), p.lot.clone());
    let lev = format!("/v1/lots/{lot}/events");
    let bids = bid_ids(register_and_bid(&app, &lot, &ALFA_AND_BETA).await);
    let deadline = p.deadline + Duration::minutes(1);
    close_after_deadline(&app, &w.admin, &w.buyer, &tid, p.deadline).await;
    verified_for_award(&app, &w.buyer, &tid, &lot, &bids).await;

    // Nobody declares when the communications were sent, nor records it by hand.
    let r = app
        .post(
            &lev,
            Some(&w.buyer),
            &json!({"event": "award", "declarations": {"last_award_communication_at": deadline}}),
        )
        .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["field"], "declarations.last_award_communication_at");
    let r = app
        .post(
            &lev,
            Some(&w.buyer),
            &json!({"event": "record_award_communications"}),
        )
        .await;
    assert_eq!(r.0, 409, "{}", r.1);
    assert!(r.1.to_string().contains("art. 18 c.3"), "{}", r.1);

    // The PEC server is down when the award is made.
    tokio::task::block_in_place(|| sink.stop());
    let tr = event(&app, &lev, &w.buyer, json!({"event": "award"})).await;
    assert!(
        !tr["effects"].to_string().contains("\"standstill\""),
        "the award itself sets no standstill: {tr}"
    );
    let queued = award_messages(&app, &tid, &w.buyer).await;
    assert_eq!(queued.len(), 2, "{queued:?}");
    let queued_at = queued.iter().map(|m| at(&m["created_at"])).max().unwrap();
    // a scheduler pass or two later there is still no standstill end: nothing was sent
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let t = ok(
        &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
        200,
    );
    assert_eq!(t["lots"][0]["standstill_end"], Value::Null, "{t}");
    let r = app
        .post(
            &lev,
            Some(&w.buyer),
            &json!({"event": "standstill_elapsed"}),
        )
        .await;
    assert_eq!(r.0, 409, "{}", r.1);

    // Three days later the PEC server is back and the mails go out.
    tokio::task::block_in_place(|| sink.restart());
    let late = deadline + Duration::days(3);
    ok(
        &app.put("/v1/admin/clock", Some(&w.admin), &json!({"now": late}))
            .await,
        200,
    );
    let mut sent = Vec::new();
    let mut end = Value::Null;
    for _ in 0..300 {
        sent = award_messages(&app, &tid, &w.buyer).await;
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        end = t["lots"][0]["standstill_end"].clone();
        if sent.iter().all(|m| m["status"] == "sent") && !end.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        sent.iter().all(|m| m["status"] == "sent"),
        "award mails not sent: {sent:?}"
    );
    let last_sent = sent.iter().map(|m| at(&m["sent_at"])).max().unwrap();
    assert!(
        last_sent >= late,
        "sent at {last_sent}, before the outage ended"
    );
    let end = at(&end);
    let expected = lifecycle::lot::standstill_end(lifecycle::Rules::standard(), last_sent).unwrap();
    assert_eq!(end, expected, "32 days from the sending of the last mail");
    assert_eq!(
        lifecycle::Rules::standard()
            .standstill_days(lifecycle::Rules::standard().calendar.local_date(last_sent)),
        32
    );
    assert!(
        end > lifecycle::lot::standstill_end(lifecycle::Rules::standard(), queued_at).unwrap(),
        "not from the queueing"
    );
    // the mail stated the term in days from its sending (art. 90 c.2), the date being unknown when queued
    let award_mails: Vec<Value> = sink
        .received()
        .into_iter()
        .filter(|m| m["text"].as_str().unwrap_or("").contains("aggiudicata"))
        .collect();
    assert_eq!(award_mails.len(), 2, "{award_mails:?}");
    for m in &award_mails {
        let text = m["text"].as_str().unwrap();
        assert!(
            text.contains("prima di 32 giorni dall'invio dell'ultima delle comunicazioni"),
            "{text}"
        );
    }
    // the contract cannot be signed before the end, and can after it
    let r = app
        .post(
            &lev,
            Some(&w.buyer),
            &json!({"event": "standstill_elapsed"}),
        )
        .await;
    assert_eq!(r.0, 409, "{}", r.1);
    ok(
        &app.put(
            "/v1/admin/clock",
            Some(&w.admin),
            &json!({"now": end + Duration::minutes(1)}),
        )
        .await,
        200,
    );
    for _ in 0..100 {
        let t = ok(
            &app.get(&format!("/v1/tenders/{tid}"), Some(&w.buyer)).await,
            200,
        );
        if t["lots"][0]["state"] == "ready_to_sign" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the standstill timer did not fire after its end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standstill_runs_from_the_sending_of_the_last_award_mail_art_18_c_3() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn the_standstill_runs_from_the_sending_of_the_last_award_mail_art_18_c_3_postgres() {
    run(Backend::Postgres).await;
}
