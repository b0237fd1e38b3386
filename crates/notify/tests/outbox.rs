//! The outbox on SQLite with the file transport: transactional enqueue, idempotency, validation,
//! statuses, backoff, permanent failures and resend.

mod support;

use std::sync::Arc;

use chrono::Duration;
use notify::{
    Error, IdempotencyKey, MailTemplate, ManualClock, MessageId, NewMessage, Status,
    TransportConfig, WorkerConfig,
};
use sea_orm::TransactionTrait;
use support::{contexts, db, exclusion, mail_config, mailbox, t0, worker};
use uuid::Uuid;

#[tokio::test]
async fn a_message_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let t = db::sqlite().await;
    let tender = Uuid::new_v4();

    let txn = t.db.begin().await.unwrap();
    notify::enqueue(&txn, exclusion("a@pec.example.it", tender, "ev1:a", t0()))
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert!(
        notify::list_for_tender(&t.db, tender)
            .await
            .unwrap()
            .is_empty()
    );

    let txn = t.db.begin().await.unwrap();
    let id = notify::enqueue(&txn, exclusion("a@pec.example.it", tender, "ev1:a", t0()))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let listed = notify::list_for_tender(&t.db, tender).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].status, Status::Queued);
    assert_eq!(listed[0].attempts, 0);
    assert_eq!(listed[0].to, vec!["a@pec.example.it".to_owned()]);
    assert_eq!(listed[0].created_at, t0());
    t.cleanup().await;
}

#[tokio::test]
async fn a_repeated_event_is_enqueued_once() {
    let t = db::sqlite().await;
    let tender = Uuid::new_v4();
    let first = notify::enqueue(&t.db, exclusion("a@pec.example.it", tender, "ev1:a", t0()))
        .await
        .unwrap();
    let txn = t.db.begin().await.unwrap();
    let again = notify::enqueue(&txn, exclusion("a@pec.example.it", tender, "ev1:a", t0()))
        .await
        .unwrap();
    // The caller's transaction is still usable after the duplicate.
    let other = notify::enqueue(&txn, exclusion("b@pec.example.it", tender, "ev1:b", t0()))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(first, again);
    assert_ne!(first, other);
    assert_eq!(
        notify::list_for_tender(&t.db, tender).await.unwrap().len(),
        2
    );
    t.cleanup().await;
}

#[tokio::test]
async fn listing_is_per_tender_and_oldest_first() {
    let t = db::sqlite().await;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let id1 = notify::enqueue(&t.db, exclusion("x@pec.example.it", a, "k1", t0()))
        .await
        .unwrap();
    notify::enqueue(&t.db, exclusion("x@pec.example.it", b, "k2", t0()))
        .await
        .unwrap();
    let id3 = notify::enqueue(
        &t.db,
        exclusion("y@pec.example.it", a, "k3", t0() + Duration::seconds(1)),
    )
    .await
    .unwrap();
    let listed: Vec<MessageId> = notify::list_for_tender(&t.db, a)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, vec![id1, id3]);
    assert!(
        notify::list_for_tender(&t.db, Uuid::new_v4())
            .await
            .unwrap()
            .is_empty()
    );
    t.cleanup().await;
}

fn field_of(e: Error) -> (&'static str, String) {
    match e {
        Error::Invalid { field, reason } => (field, reason),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_messages_are_refused_with_the_field_named() {
    let t = db::sqlite().await;
    let tender = Uuid::new_v4();

    let mut m = exclusion("a@pec.example.it", tender, "k", t0());
    m.to.clear();
    let (field, _) = field_of(notify::enqueue(&t.db, m).await.unwrap_err());
    assert_eq!(field, "to");

    let mut m = exclusion("a@pec.example.it", tender, "k", t0());
    m.context.as_object_mut().unwrap().remove("cig");
    let (field, reason) = field_of(notify::enqueue(&t.db, m).await.unwrap_err());
    assert_eq!(field, "context");
    assert!(
        reason.contains("`cig`") && reason.contains("exclusion"),
        "{reason}"
    );

    let mut m = exclusion("a@pec.example.it", tender, "k", t0());
    m.context["reasons"] = serde_json::Value::Null;
    let (_, reason) = field_of(notify::enqueue(&t.db, m).await.unwrap_err());
    assert!(reason.contains("`reasons`"), "{reason}");

    let mut m = exclusion("a@pec.example.it", tender, "k", t0());
    m.context = serde_json::json!(["not", "an", "object"]);
    let (field, _) = field_of(notify::enqueue(&t.db, m).await.unwrap_err());
    assert_eq!(field, "context");

    // The award must state the standstill end or why there is none (art. 90 c.2).
    let mut m = exclusion("a@pec.example.it", tender, "k", t0());
    m.template = MailTemplate::Award;
    m.context = contexts::full(MailTemplate::Award);
    m.context.as_object_mut().unwrap().remove("standstill_end");
    let (_, reason) = field_of(notify::enqueue(&t.db, m).await.unwrap_err());
    assert!(reason.contains("standstill_end") && reason.contains("standstill_not_applicable"));

    let mut m = exclusion("a@pec.example.it", tender, "k", t0());
    m.template = MailTemplate::MunicipalityUpdate;
    m.context = contexts::full(MailTemplate::MunicipalityUpdate);
    m.context["event"] = serde_json::json!("party");
    let (_, reason) = field_of(notify::enqueue(&t.db, m).await.unwrap_err());
    assert!(
        reason.contains("`event`") && reason.contains("`party`"),
        "{reason}"
    );

    let (field, _) = field_of(IdempotencyKey::new("  ").unwrap_err());
    assert_eq!(field, "idempotency_key");
    let (field, _) = field_of(IdempotencyKey::new("k".repeat(256)).unwrap_err());
    assert_eq!(field, "idempotency_key");
    let (field, _) = field_of("nonexistent".parse::<MailTemplate>().unwrap_err());
    assert_eq!(field, "template");

    assert!(
        notify::list_for_tender(&t.db, tender)
            .await
            .unwrap()
            .is_empty()
    );
    t.cleanup().await;
}

#[test]
fn the_conventional_idempotency_key_is_event_and_recipient() {
    let event = Uuid::nil();
    let k = IdempotencyKey::for_event(event, &mailbox("Ditta <Ufficio.Gare@PEC.example.it>"));
    assert_eq!(
        k.as_str(),
        "00000000-0000-0000-0000-000000000000:ufficio.gare@pec.example.it"
    );
    let long = format!(
        "{}@{}.example.it",
        "a".repeat(60),
        vec!["b".repeat(60); 4].join(".")
    );
    let k = IdempotencyKey::for_event(event, &mailbox(&long));
    assert!(k.as_str().len() <= IdempotencyKey::MAX_LEN);
}

#[tokio::test]
async fn the_file_transport_writes_one_eml_per_message_with_a_stable_message_id() {
    let t = db::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(TransportConfig::File {
        dir: dir.path().to_owned(),
    });
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let tender = Uuid::new_v4();
    let mut ids = Vec::new();
    for i in 0..3 {
        let to = format!("ditta{i}@pec.example.it");
        ids.push(
            notify::enqueue(&t.db, exclusion(&to, tender, &format!("k{i}"), t0()))
                .await
                .unwrap(),
        );
    }
    clock.advance(Duration::seconds(2));
    let report = w.run_once().await.unwrap();
    assert_eq!((report.claimed, report.sent), (3, 3));
    assert_eq!(
        w.run_once().await.unwrap().claimed,
        0,
        "nothing is sent twice"
    );

    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(files.len(), 3);
    for id in &ids {
        let view = notify::get(&t.db, *id).await.unwrap();
        assert_eq!(view.status, Status::Sent);
        assert_eq!(view.attempts, 1);
        assert_eq!(view.sent_at, Some(t0() + Duration::seconds(2)));
        let mid = format!("<{}@sua.provincia.example.it>", id);
        assert_eq!(view.message_id.as_deref(), Some(mid.as_str()));
        assert!(
            view.subject
                .as_deref()
                .unwrap()
                .starts_with("Comunicazione di esclusione - CIG B1234567AB")
        );
        let eml = files
            .iter()
            .find(|f| f.contains(&mid))
            .unwrap_or_else(|| panic!("no .eml with {mid}"));
        assert!(eml.contains("From: \"SUA Provincia di Esempio\" <sua@pec.provincia.example.it>"));
        assert!(
            eml.contains("Date: Sat, 28 Nov 2026 09:00:02 +0000"),
            "{eml}"
        );
        assert!(eml.contains("multipart/alternative"));
        assert!(eml.contains("text/plain") && eml.contains("text/html"));
    }
    t.cleanup().await;
}

#[tokio::test]
async fn a_transient_failure_backs_off_exponentially_then_gives_up_and_can_be_resent() {
    let t = db::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let mail_dir = dir.path().join("out");
    let mut config = mail_config(TransportConfig::File {
        dir: mail_dir.clone(),
    });
    config.worker.max_attempts = 3;
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let id = notify::enqueue(
        &t.db,
        exclusion("a@pec.example.it", Uuid::new_v4(), "k", t0()),
    )
    .await
    .unwrap();
    // The directory disappears: every write fails with an I/O error (transient).
    std::fs::remove_dir(&mail_dir).unwrap();

    let r = w.run_once().await.unwrap();
    assert_eq!(r.retried, 1);
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!((v.status, v.attempts), (Status::Queued, 1));
    assert_eq!(v.next_attempt_at, t0() + Duration::seconds(10));
    assert!(v.last_error.as_deref().unwrap().contains("file transport"));

    // Not due yet: nothing is claimed.
    clock.advance(Duration::seconds(9));
    assert_eq!(w.run_once().await.unwrap().claimed, 0);

    clock.advance(Duration::seconds(1));
    assert_eq!(w.run_once().await.unwrap().retried, 1);
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!(v.attempts, 2);
    assert_eq!(
        v.next_attempt_at,
        clock_now(&clock) + Duration::seconds(20),
        "doubled"
    );

    clock.advance(Duration::seconds(20));
    assert_eq!(w.run_once().await.unwrap().failed, 1);
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!((v.status, v.attempts), (Status::Failed, 3));
    assert!(
        v.last_error
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts")
    );
    clock.advance(Duration::days(1));
    assert_eq!(
        w.run_once().await.unwrap().claimed,
        0,
        "failed stays failed"
    );

    // The buyer resends it once the problem is fixed: same outbox id, same Message-ID.
    std::fs::create_dir(&mail_dir).unwrap();
    notify::resend(&t.db, id, clock_now(&clock)).await.unwrap();
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!((v.status, v.attempts), (Status::Queued, 0));
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!(v.status, Status::Sent);
    let eml = std::fs::read_dir(&mail_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(
        std::fs::read_to_string(eml)
            .unwrap()
            .contains(&format!("<{id}@sua.provincia.example.it>"))
    );
    t.cleanup().await;
}

fn clock_now(c: &ManualClock) -> chrono::DateTime<chrono::Utc> {
    notify::Clock::now(c)
}

#[tokio::test]
async fn a_message_that_cannot_be_rendered_fails_permanently_with_the_reason() {
    let t = db::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let config = mail_config(TransportConfig::File {
        dir: dir.path().to_owned(),
    });
    let clock = Arc::new(ManualClock::new(t0()));
    let w = worker(&t.db, &config, clock.clone());
    let mut m = exclusion("a@pec.example.it", Uuid::new_v4(), "k", t0());
    m.context["act_date"] = serde_json::json!("ieri");
    let id = notify::enqueue(&t.db, m).await.unwrap();
    assert_eq!(w.run_once().await.unwrap().failed, 1);
    let v = notify::get(&t.db, id).await.unwrap();
    assert_eq!(v.status, Status::Failed);
    assert!(
        v.last_error.as_deref().unwrap().contains("ieri"),
        "{:?}",
        v.last_error
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    t.cleanup().await;
}

#[tokio::test]
async fn only_a_failed_message_can_be_resent() {
    let t = db::sqlite().await;
    let id = notify::enqueue(
        &t.db,
        exclusion("a@pec.example.it", Uuid::new_v4(), "k", t0()),
    )
    .await
    .unwrap();
    match notify::resend(&t.db, id, t0()).await.unwrap_err() {
        Error::NotFailed { status, .. } => assert_eq!(status, "queued"),
        other => panic!("{other:?}"),
    }
    let unknown = MessageId(Uuid::new_v4());
    assert!(matches!(
        notify::resend(&t.db, unknown, t0()).await.unwrap_err(),
        Error::NotFound(_)
    ));
    assert!(matches!(
        notify::get(&t.db, unknown).await.unwrap_err(),
        Error::NotFound(_)
    ));
    t.cleanup().await;
}

#[test]
fn backoff_doubles_from_the_base_up_to_the_cap() {
    let c = WorkerConfig {
        backoff_base_secs: 30,
        backoff_max_secs: 3600,
        ..WorkerConfig::default()
    };
    let secs: Vec<i64> = (1..=9).map(|a| c.backoff(a).num_seconds()).collect();
    assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
    assert_eq!(c.backoff(1000).num_seconds(), 3600);
}

#[test]
fn inconsistent_worker_settings_are_refused_naming_the_key() {
    let bad = [
        (
            WorkerConfig {
                batch_size: 0,
                ..WorkerConfig::default()
            },
            "batch_size",
        ),
        (
            WorkerConfig {
                concurrency: 0,
                ..WorkerConfig::default()
            },
            "concurrency",
        ),
        (
            WorkerConfig {
                lease_secs: 60,
                send_timeout_secs: 60,
                ..WorkerConfig::default()
            },
            "lease_secs",
        ),
        (
            WorkerConfig {
                send_timeout_secs: 0,
                ..WorkerConfig::default()
            },
            "send_timeout_secs",
        ),
        (
            WorkerConfig {
                backoff_base_secs: 100,
                backoff_max_secs: 10,
                ..WorkerConfig::default()
            },
            "backoff_base_secs",
        ),
        (
            WorkerConfig {
                max_attempts: 0,
                ..WorkerConfig::default()
            },
            "max_attempts",
        ),
    ];
    for (config, key) in bad {
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(&format!("mail.worker.{key}")), "{err}");
    }
    WorkerConfig::default().validate().unwrap();
}

#[test]
fn mail_configuration_defaults_to_the_file_transport_and_reads_smtp_settings() {
    let c: notify::MailConfig = serde_json::from_value(serde_json::json!({})).unwrap();
    assert_eq!(
        c.transport,
        TransportConfig::File {
            dir: "data/mail".into()
        }
    );
    let c: notify::MailConfig = serde_json::from_value(serde_json::json!({
        "from": "SUA <sua@pec.example.it>",
        "transport": {"kind": "smtp", "host": "smtps.pec.example.it", "security": "tls",
                      "username": "sua", "password": "secret"},
        "worker": {"batch_size": 5}
    }))
    .unwrap();
    match &c.transport {
        TransportConfig::Smtp(s) => {
            assert_eq!(s.security, notify::SmtpSecurity::Tls);
            assert_eq!(s.pool_size, 2);
            assert!(
                !format!("{s:?}").contains("secret"),
                "password is redacted in Debug"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.worker.batch_size, 5);
    assert_eq!(c.worker.lease_secs, WorkerConfig::default().lease_secs);
    let err = serde_json::from_value::<notify::MailConfig>(serde_json::json!({
        "transport": {"kind": "carrier-pigeon"}
    }))
    .unwrap_err();
    assert!(err.to_string().contains("carrier-pigeon"));
}

#[test]
fn building_a_mailer_refuses_bad_settings_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = TransportConfig::File {
        dir: dir.path().to_owned(),
    };
    let mut c = mail_config(file.clone());
    c.from = "not an address".into();
    assert!(
        c.build_mailer()
            .unwrap_err()
            .to_string()
            .contains("mail.from")
    );

    let mut c = mail_config(file.clone());
    c.templates_dir = dir.path().join("nowhere");
    assert!(
        c.build_mailer()
            .unwrap_err()
            .to_string()
            .contains("nowhere")
    );

    let mut c = mail_config(file);
    c.message_id_domain = Some("a b".into());
    assert!(
        c.build_mailer()
            .unwrap_err()
            .to_string()
            .contains("mail.message_id_domain")
    );

    let mut c = mail_config(support::smtp_transport(25));
    if let TransportConfig::Smtp(s) = &mut c.transport {
        s.username = Some("only-user".into());
    }
    assert!(
        c.build_mailer()
            .unwrap_err()
            .to_string()
            .contains("mail.transport.username")
    );

    // A valid message renders the same way whatever the transport.
    let _ = NewMessage::validate;
}

#[tokio::test]
async fn the_migration_can_be_reverted_and_reapplied() {
    use sea_orm_migration::MigratorTrait;
    let t = db::sqlite().await;
    notify::enqueue(
        &t.db,
        exclusion("a@pec.example.it", Uuid::new_v4(), "k", t0()),
    )
    .await
    .unwrap();
    notify::Migrator::down(&t.db, None).await.unwrap();
    assert!(
        notify::list_for_tender(&t.db, Uuid::new_v4())
            .await
            .is_err(),
        "table dropped"
    );
    notify::Migrator::up(&t.db, None).await.unwrap();
    let tender = Uuid::new_v4();
    notify::enqueue(&t.db, exclusion("a@pec.example.it", tender, "k", t0()))
        .await
        .unwrap();
    assert_eq!(
        notify::list_for_tender(&t.db, tender).await.unwrap().len(),
        1
    );
    let names: Vec<String> = notify::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    assert_eq!(names, vec!["m20261128_000001_notify_create_mail_message"]);
    t.cleanup().await;
}
