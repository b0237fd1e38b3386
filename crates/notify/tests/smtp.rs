//! Against a real SMTP server on loopback (`testkit::smtp::SmtpSink`, in the test process): contents and headers,
//! 4xx/5xx handling, an outage with 200 messages, a ten-minute outage (probes backed off and capped), a
//! worker killed mid-send, a graceful stop.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use notify::{IdempotencyKey, MailTemplate, ManualClock, NewMessage, Status};
use support::{contexts, db, exclusion, mail_config, mailbox, smtp_transport, t0, worker};
use testkit::smtp::SmtpSink;
use uuid::Uuid;

/// Runs rounds until one claims nothing.
async fn drain(w: &notify::Worker) -> notify::RoundReport {
    let mut total = notify::RoundReport::default();
    for _ in 0..100 {
        let r = w.run_once().await.unwrap();
        if r.claimed == 0 {
            return total;
        }
        total.claimed += r.claimed;
        total.sent += r.sent;
        total.retried += r.retried;
        total.failed += r.failed;
        total.postponed += r.postponed;
    }
    panic!("the queue does not drain");
}

fn count_by_message_id(received: &[serde_json::Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in received {
        *counts
            .entry(m["message_id"].as_str().unwrap().to_owned())
            .or_insert(0) += 1;
    }
    counts
}

async fn wait_until(what: &str, timeout: StdDuration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn messages_arrive_with_the_right_recipients_subject_body_and_headers() {
    let sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    let config = mail_config(smtp_transport(sink.port));
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let tender = Uuid::new_v4();

    let award = notify::enqueue(
        &t.db,
        NewMessage {
            to: vec![mailbox(
                "Costruzioni Alfa S.p.A. <gare@pec.alfa.example.it>",
            )],
            template: MailTemplate::Award,
            context: contexts::full(MailTemplate::Award),
            tender_id: Some(tender),
            lot_id: Some(Uuid::new_v4()),
            idempotency_key: IdempotencyKey::new("award:1:alfa").unwrap(),
            now: t0(),
        },
    )
    .await
    .unwrap();
    let excl = notify::enqueue(
        &t.db,
        exclusion("beta@pec.example.it", tender, "excl:1:beta", t0()),
    )
    .await
    .unwrap();
    let r = w.run_once().await.unwrap();
    assert_eq!((r.claimed, r.sent), (2, 2));

    let received = sink.received();
    assert_eq!(received.len(), 2);
    let award_mail = received
        .iter()
        .find(|m| m["message_id"] == format!("<{award}@sua.provincia.example.it>"))
        .expect("award delivered with its Message-ID");
    assert_eq!(
        award_mail["rcpt_tos"],
        serde_json::json!(["gare@pec.alfa.example.it"])
    );
    assert_eq!(award_mail["mail_from"], "sua@pec.provincia.example.it");
    assert_eq!(
        award_mail["to"],
        "\"Costruzioni Alfa S.p.A.\" <gare@pec.alfa.example.it>"
    );
    assert_eq!(
        award_mail["from"],
        "SUA Provincia di Esempio <sua@pec.provincia.example.it>"
    );
    assert_eq!(
        award_mail["subject"],
        "Comunicazione di aggiudicazione - CIG B1234567AB: Manutenzione straordinaria della SP 12 \"Valle\" & ponti"
    );
    assert_eq!(award_mail["content_type"], "multipart/alternative");
    assert_eq!(award_mail["date"], "Sat, 28 Nov 2026 09:00:00 +0000");
    let text = award_mail["text"].as_str().unwrap();
    assert!(text.contains("CIG: B1234567AB"));
    assert!(
        text.contains("scade il 08/03/2027"),
        "standstill end in the text"
    );
    assert!(text.contains("€ 1.234.567,80"));
    let html = award_mail["html"].as_str().unwrap();
    assert!(html.contains("<th>CIG</th><td>B1234567AB</td>"));
    assert!(html.contains("SP 12 &quot;Valle&quot; &amp; ponti"));

    let excl_mail = received
        .iter()
        .find(|m| m["message_id"] == format!("<{excl}@sua.provincia.example.it>"))
        .unwrap();
    assert_eq!(
        excl_mail["rcpt_tos"],
        serde_json::json!(["beta@pec.example.it"])
    );
    assert!(
        excl_mail["text"]
            .as_str()
            .unwrap()
            .contains("Mancata regolarizzazione")
    );

    for m in notify::list_for_tender(&t.db, tender).await.unwrap() {
        assert_eq!(m.status, Status::Sent);
    }
    t.cleanup().await;
}

#[tokio::test]
async fn a_5xx_answer_fails_permanently_and_a_4xx_answer_is_retried_later() {
    let sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    let config = mail_config(smtp_transport(sink.port));
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let tender = Uuid::new_v4();
    let rejected = notify::enqueue(
        &t.db,
        exclusion("reject@pec.example.it", tender, "k1", t0()),
    )
    .await
    .unwrap();
    let busy = notify::enqueue(&t.db, exclusion("busy@pec.example.it", tender, "k2", t0()))
        .await
        .unwrap();
    let fine = notify::enqueue(&t.db, exclusion("ok@pec.example.it", tender, "k3", t0()))
        .await
        .unwrap();

    let r = w.run_once().await.unwrap();
    assert_eq!((r.sent, r.failed, r.retried, r.postponed), (1, 1, 1, 0));

    let v = notify::get(&t.db, rejected).await.unwrap();
    assert_eq!(v.status, Status::Failed);
    assert!(
        v.last_error.as_deref().unwrap().contains("550"),
        "{:?}",
        v.last_error
    );
    let v = notify::get(&t.db, busy).await.unwrap();
    assert_eq!(v.status, Status::Queued);
    assert!(
        v.last_error.as_deref().unwrap().contains("451"),
        "{:?}",
        v.last_error
    );
    assert_eq!(v.next_attempt_at, t0() + Duration::seconds(10));
    assert_eq!(notify::get(&t.db, fine).await.unwrap().status, Status::Sent);

    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0]["rcpt_tos"],
        serde_json::json!(["ok@pec.example.it"])
    );
    t.cleanup().await;
}

#[tokio::test]
async fn during_an_outage_200_messages_wait_and_after_it_all_arrive_exactly_once() {
    let mut sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    let config = mail_config(smtp_transport(sink.port));
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let tender = Uuid::new_v4();

    sink.stop();
    let mut ids = Vec::new();
    for i in 0..200 {
        let to = format!("ditta{i}@pec.example.it");
        ids.push(
            notify::enqueue(&t.db, exclusion(&to, tender, &format!("outage:{i}"), t0()))
                .await
                .unwrap(),
        );
    }
    let r = drain(&w).await;
    assert_eq!(r.sent, 0);
    assert_eq!(r.claimed, 200, "every message was looked at once");
    // One chunk of concurrent attempts finds the server down; until the next probe every other message
    // is postponed without a connection or an attempt counted.
    let concurrency = config.worker.concurrency;
    assert_eq!(r.retried, concurrency);
    assert_eq!(r.postponed, 200 - concurrency);
    for m in notify::list_for_tender(&t.db, tender).await.unwrap() {
        assert_eq!(m.status, Status::Queued);
        assert!(m.attempts <= 1);
        assert!(m.next_attempt_at > t0());
        assert!(m.last_error.is_some());
    }

    sink.restart();
    clock.advance(Duration::seconds(11));
    let r = drain(&w).await;
    assert_eq!(r.sent, 200);

    let received = sink.received();
    assert_eq!(received.len(), 200, "nothing lost, nothing sent twice");
    let counts = count_by_message_id(&received);
    assert_eq!(counts.len(), 200);
    for id in &ids {
        assert_eq!(
            counts.get(&format!("<{id}@sua.provincia.example.it>")),
            Some(&1)
        );
        assert_eq!(notify::get(&t.db, *id).await.unwrap().status, Status::Sent);
    }
    t.cleanup().await;
}

/// SMTP down for ten minutes (on the injected clock), mail enqueued before and during the outage, then the
/// server is back: every message arrives exactly once and none is `failed`; during the outage the probes
/// back off (10, 20, 40 s...) up to `outage_retry_max_secs` (60 s) and cost no attempt, so mail resumes
/// within a minute of the server's return, not after the hour of `backoff_max_secs`.
#[tokio::test]
async fn a_ten_minute_outage_delays_mail_by_at_most_the_outage_cap_and_sends_each_once() {
    let mut sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    let mut config = mail_config(smtp_transport(sink.port));
    config.worker.backoff_max_secs = 3600;
    assert_eq!(config.worker.outage_retry_max_secs, 60);
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let tender = Uuid::new_v4();
    let step = Duration::seconds(5);
    let outage = Duration::minutes(10);

    sink.stop();
    let mut ids = Vec::new();
    let mut probe_times = Vec::new();
    let mut elapsed = Duration::zero();
    while elapsed < outage {
        // one mail every 20 s of the outage (30 in all)
        if elapsed.num_seconds() % 20 == 0 {
            let i = ids.len();
            let to = format!("ditta{i}@pec.example.it");
            let now = t0() + elapsed;
            ids.push(
                notify::enqueue(&t.db, exclusion(&to, tender, &format!("ten:{i}"), now))
                    .await
                    .unwrap(),
            );
        }
        let r = drain(&w).await;
        assert_eq!((r.sent, r.failed), (0, 0), "{r:?}");
        if r.retried > 0 {
            probe_times.push(elapsed.num_seconds());
        }
        clock.advance(step);
        elapsed += step;
    }
    // the probes back off and are capped: 0, 10, 30, 70, 130, 190... s
    let gaps: Vec<i64> = probe_times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(&gaps[..4], &[10, 20, 40, 60], "{probe_times:?}");
    assert!(gaps.iter().all(|g| *g <= 60), "{gaps:?}");
    assert!(probe_times.len() <= 14, "{probe_times:?}");
    for m in notify::list_for_tender(&t.db, tender).await.unwrap() {
        assert_eq!((m.status, m.attempts), (Status::Queued, 0), "{m:?}");
        assert!(m.next_attempt_at <= t0() + outage + Duration::seconds(60));
    }

    // the server is back: everything is sent within the cap
    sink.restart();
    let back = clock_now(&clock);
    let mut sent = 0;
    while sent < ids.len() {
        let r = drain(&w).await;
        assert_eq!(r.failed, 0);
        sent += r.sent;
        if sent < ids.len() {
            clock.advance(step);
            assert!(
                clock_now(&clock) - back <= Duration::seconds(60),
                "mail did not resume within 60 s of the server's return"
            );
        }
    }
    let received = sink.received();
    assert_eq!(
        received.len(),
        ids.len(),
        "nothing lost, nothing sent twice"
    );
    let counts = count_by_message_id(&received);
    for id in &ids {
        assert_eq!(
            counts.get(&format!("<{id}@sua.provincia.example.it>")),
            Some(&1)
        );
        let m = notify::get(&t.db, *id).await.unwrap();
        assert_eq!((m.status, m.attempts), (Status::Sent, 1), "{m:?}");
    }
    t.cleanup().await;
}

fn clock_now(c: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    notify::Clock::now(c)
}

#[tokio::test]
async fn a_worker_killed_mid_send_loses_nothing_and_repeats_at_most_the_message_in_flight() {
    // The sink records each message, then waits 1 s before its 250: the worker is killed in that window.
    let mut sink = SmtpSink::start(StdDuration::from_secs(1));
    let t = db::sqlite().await;
    let config = mail_config(smtp_transport(sink.port));
    let clock = Arc::new(ManualClock::new(t0()));
    let tender = Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..8 {
        let to = format!("ditta{i}@pec.example.it");
        ids.push(
            notify::enqueue(&t.db, exclusion(&to, tender, &format!("crash:{i}"), t0()))
                .await
                .unwrap(),
        );
    }

    let handle = worker(&t.db, &config, clock.clone()).spawn();
    wait_until("two deliveries", StdDuration::from_secs(20), || {
        sink.received().len() >= 2
    })
    .await;
    handle.abort();
    while !handle.is_finished() {
        tokio::time::sleep(StdDuration::from_millis(5)).await;
    }
    // Let the server finish recording what had fully reached it before the crash.
    let mut before = sink.received();
    loop {
        tokio::time::sleep(StdDuration::from_millis(300)).await;
        let now = sink.received();
        if now.len() == before.len() {
            break;
        }
        before = now;
    }
    let messages = notify::list_for_tender(&t.db, tender).await.unwrap();
    assert!(
        messages.iter().any(|m| m.status == Status::Sending),
        "the worker died holding claimed messages"
    );
    let sent_before: Vec<String> = messages
        .iter()
        .filter(|m| m.status == Status::Sent)
        .map(|m| m.message_id.clone().unwrap())
        .collect();
    // Messages the server has but whose 250 the worker never saw (the sends in flight at the crash).
    let unacknowledged: std::collections::BTreeSet<String> = before
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .filter(|mid| !sent_before.contains(mid))
        .collect();
    assert!(!unacknowledged.is_empty(), "killed mid-send");
    assert!(unacknowledged.len() <= config.worker.concurrency);

    // Restart (server without delay, worker after the lease of the dead one expired).
    sink.stop();
    sink.set_delay(StdDuration::ZERO);
    sink.restart();
    clock.advance(Duration::seconds(31));
    let w = worker(&t.db, &config, clock.clone());
    drain(&w).await;

    let received = sink.received();
    let counts = count_by_message_id(&received);
    for id in &ids {
        let mid = format!("<{id}@sua.provincia.example.it>");
        assert!(counts.get(&mid).is_some_and(|n| *n >= 1), "{mid} lost");
        assert_eq!(notify::get(&t.db, *id).await.unwrap().status, Status::Sent);
    }
    // Only the messages in flight at the crash are repeated, once, with the same Message-ID; nothing that
    // was recorded as sent went out again.
    let repeated: std::collections::BTreeSet<String> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(mid, _)| mid.clone())
        .collect();
    assert_eq!(repeated, unacknowledged);
    assert!(counts.values().all(|n| *n <= 2));
    assert_eq!(received.len(), ids.len() + unacknowledged.len());
    t.cleanup().await;
}

#[tokio::test]
async fn a_graceful_stop_finishes_the_send_in_progress_and_requeues_the_rest() {
    let sink = SmtpSink::start(StdDuration::from_millis(300));
    let t = db::sqlite().await;
    let config = mail_config(smtp_transport(sink.port));
    let clock = Arc::new(ManualClock::new(t0()));
    let tender = Uuid::new_v4();
    for i in 0..10 {
        let to = format!("ditta{i}@pec.example.it");
        notify::enqueue(&t.db, exclusion(&to, tender, &format!("stop:{i}"), t0()))
            .await
            .unwrap();
    }
    let handle = worker(&t.db, &config, clock.clone()).spawn();
    handle.wake();
    wait_until("a delivery", StdDuration::from_secs(20), || {
        !sink.received().is_empty()
    })
    .await;
    handle.shutdown().await;

    let messages = notify::list_for_tender(&t.db, tender).await.unwrap();
    let sent = messages.iter().filter(|m| m.status == Status::Sent).count();
    assert!(
        messages.iter().all(|m| m.status != Status::Sending),
        "no claim left behind"
    );
    assert!((1..10).contains(&sent), "stopped mid-batch ({sent} sent)");
    assert_eq!(
        sink.received().len(),
        sent,
        "every delivered message is recorded as sent"
    );
    for m in messages.iter().filter(|m| m.status == Status::Queued) {
        assert_eq!(m.attempts, 0, "requeued messages were not attempted");
        assert_eq!(m.next_attempt_at, t0());
    }
    t.cleanup().await;
}

#[tokio::test]
async fn tls_or_starttls_against_a_plaintext_server_never_sends_in_clear_and_is_retried() {
    let sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    for (i, security) in [notify::SmtpSecurity::Tls, notify::SmtpSecurity::Starttls]
        .into_iter()
        .enumerate()
    {
        let mut transport = smtp_transport(sink.port);
        if let notify::TransportConfig::Smtp(s) = &mut transport {
            s.security = security;
        }
        let config = mail_config(transport);
        let clock = Arc::new(ManualClock::new(t0()));
        let w = worker(&t.db, &config, clock);
        let id = notify::enqueue(
            &t.db,
            exclusion(
                "a@pec.example.it",
                Uuid::new_v4(),
                &format!("tls:{i}"),
                t0(),
            ),
        )
        .await
        .unwrap();
        let r = w.run_once().await.unwrap();
        assert_eq!((r.sent, r.retried, r.failed), (0, 1, 0), "{security:?}");
        let v = notify::get(&t.db, id).await.unwrap();
        assert_eq!(v.status, Status::Queued);
        assert!(v.last_error.is_some());
    }
    assert!(sink.received().is_empty(), "nothing went out without TLS");
    t.cleanup().await;
}

#[tokio::test]
async fn smtp_auth_sends_with_the_right_credentials_and_postpones_with_wrong_ones() {
    let sink = SmtpSink::start_with_auth("sua@pec.provincia.example.it", "segreta");
    let t = db::sqlite().await;
    let with_password = |password: Option<&str>| {
        let mut transport = smtp_transport(sink.port);
        if let notify::TransportConfig::Smtp(s) = &mut transport {
            s.username = password.map(|_| "sua@pec.provincia.example.it".to_owned());
            s.password = password.map(str::to_owned);
        }
        mail_config(transport)
    };
    let tender = Uuid::new_v4();
    let clock = Arc::new(ManualClock::new(t0()));
    for i in 0..3 {
        let to = format!("ditta{i}@pec.example.it");
        notify::enqueue(&t.db, exclusion(&to, tender, &format!("auth:{i}"), t0()))
            .await
            .unwrap();
    }

    for (password, code) in [(Some("sbagliata"), "535"), (None, "530")] {
        let w = worker(&t.db, &with_password(password), clock.clone());
        let r = w.run_once().await.unwrap();
        assert_eq!(
            (r.sent, r.failed),
            (0, 0),
            "{code}: nothing fails permanently"
        );
        assert!(r.retried >= 1 && r.retried + r.postponed == 3, "{r:?}");
        for m in notify::list_for_tender(&t.db, tender).await.unwrap() {
            assert_eq!(m.status, Status::Queued);
            assert!(
                m.last_error.as_deref().unwrap().contains(code),
                "{:?}",
                m.last_error
            );
        }
        clock.advance(Duration::seconds(600));
    }
    assert!(sink.received().is_empty());

    let w = worker(&t.db, &with_password(Some("segreta")), clock.clone());
    assert_eq!(w.run_once().await.unwrap().sent, 3);
    assert_eq!(sink.received().len(), 3);
    t.cleanup().await;
}

#[tokio::test]
async fn a_started_worker_delivers_what_is_enqueued_after_it_started() {
    let sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    let config = mail_config(smtp_transport(sink.port));
    let handle = notify::start(t.db.clone(), &config).unwrap();
    let tender = Uuid::new_v4();
    let now = chrono::Utc::now();
    for i in 0..3 {
        let to = format!("ditta{i}@pec.example.it");
        notify::enqueue(&t.db, exclusion(&to, tender, &format!("live:{i}"), now))
            .await
            .unwrap();
    }
    handle.wake();
    wait_until("three deliveries", StdDuration::from_secs(20), || {
        sink.received().len() == 3
    })
    .await;
    handle.shutdown().await;
    for m in notify::list_for_tender(&t.db, tender).await.unwrap() {
        assert_eq!(m.status, Status::Sent);
    }
    t.cleanup().await;
}

/// The application's writes as a busy service would report them: `pending` acts under way.
struct BusyWriter {
    conn: sea_orm::DatabaseConnection,
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl notify::Writer for BusyWriter {
    fn begin(&self) -> notify::writer::WriteFuture<'_, Box<dyn notify::WriteSession>> {
        notify::Writer::begin(&self.conn)
    }
    fn pending(&self) -> usize {
        self.pending.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// During a rush of the service's writes the worker keeps sending, one round per pause (never starved),
/// and once the rush is over it goes straight on.
#[tokio::test]
async fn the_worker_gives_way_to_a_rush_of_writes_without_stopping() {
    let sink = SmtpSink::start(StdDuration::ZERO);
    let t = db::sqlite().await;
    let mut config = mail_config(smtp_transport(sink.port));
    config.worker.batch_size = 2;
    config.worker.yield_above_writes = 8;
    config.worker.yield_pause_ms = 2000;
    let clock = Arc::new(ManualClock::new(t0()));
    let tender = Uuid::new_v4();
    for i in 0..6 {
        let to = format!("ditta{i}@pec.example.it");
        notify::enqueue(&t.db, exclusion(&to, tender, &format!("rush:{i}"), t0()))
            .await
            .unwrap();
    }
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(50));
    let busy = BusyWriter {
        conn: t.db.clone(),
        pending: pending.clone(),
    };
    let started = Instant::now();
    let handle = worker(&t.db, &config, clock.clone())
        .with_writer(Arc::new(busy))
        .spawn();
    wait_until(
        "six deliveries during the rush",
        StdDuration::from_secs(20),
        || sink.received().len() >= 6,
    )
    .await;
    // three rounds of two: a pause after the first and after the second at least (the six sends
    // themselves take about a second on loopback)
    assert!(
        started.elapsed() >= StdDuration::from_millis(4000),
        "the worker did not pause between rounds: {:?}",
        started.elapsed()
    );
    // the rush is over: six more go out in one go, without the pauses
    pending.store(0, std::sync::atomic::Ordering::SeqCst);
    for i in 6..12 {
        let to = format!("ditta{i}@pec.example.it");
        notify::enqueue(&t.db, exclusion(&to, tender, &format!("rush:{i}"), t0()))
            .await
            .unwrap();
    }
    handle.wake();
    wait_until(
        "six more after the rush",
        StdDuration::from_secs(20),
        || sink.received().len() >= 12,
    )
    .await;
    handle.shutdown().await;
    t.cleanup().await;
}
