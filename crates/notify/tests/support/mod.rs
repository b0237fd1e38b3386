//! Helpers shared by the integration tests (each test binary uses a subset).
#![allow(dead_code)]

pub mod contexts;
pub mod db;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use notify::{
    IdempotencyKey, MailConfig, MailTemplate, Mailbox, ManualClock, NewMessage, SmtpConfig,
    SmtpSecurity, TransportConfig, Worker, WorkerConfig,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub fn templates_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/templates/mail")
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap()
}

/// Worker settings for tests: short timeouts so that failures show in seconds.
pub fn worker_config() -> WorkerConfig {
    WorkerConfig {
        batch_size: 25,
        concurrency: 4,
        lease_secs: 30,
        send_timeout_secs: 5,
        poll_interval_ms: 20,
        backoff_base_secs: 10,
        backoff_max_secs: 600,
        max_attempts: 5,
        outage_retry_max_secs: 60,
        yield_above_writes: 16,
        yield_pause_ms: 250,
    }
}

pub fn mail_config(transport: TransportConfig) -> MailConfig {
    MailConfig {
        from: "SUA Provincia di Esempio <sua@pec.provincia.example.it>".into(),
        message_id_domain: Some("sua.provincia.example.it".into()),
        templates_dir: templates_dir(),
        organization: "Provincia di Esempio - Stazione Unica Appaltante".into(),
        transport,
        worker: worker_config(),
    }
}

pub fn smtp_transport(port: u16) -> TransportConfig {
    TransportConfig::Smtp(SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(port),
        security: SmtpSecurity::None,
        username: None,
        password: None,
        pool_size: 4,
    })
}

pub fn worker(db: &DatabaseConnection, config: &MailConfig, clock: Arc<ManualClock>) -> Worker {
    Worker::new(
        db.clone(),
        config.build_mailer().expect("mailer"),
        config.worker.clone(),
        clock,
    )
    .expect("worker")
}

pub fn mailbox(s: &str) -> Mailbox {
    s.parse().unwrap()
}

/// An exclusion notice to `to` for tender `tender`, keyed by `key`.
pub fn exclusion(to: &str, tender: Uuid, key: &str, now: DateTime<Utc>) -> NewMessage {
    NewMessage {
        to: vec![mailbox(to)],
        template: MailTemplate::Exclusion,
        context: contexts::full(MailTemplate::Exclusion),
        tender_id: Some(tender),
        lot_id: None,
        idempotency_key: IdempotencyKey::new(key).unwrap(),
        now,
    }
}
