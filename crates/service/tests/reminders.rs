//! Reminders (issues 7 and 9) mailed by the scheduler on the injected clock: offer-deadline reminders to the
//! operators who started but did not submit, and register listing-expiry reminders. The clock is moved across
//! the offsets and the outbox is checked: the right recipients, once each, none to a bidder with a current bid,
//! none at or after the deadline, again after an extension; two replicas ticking at once enqueue each once.
//! PostgreSQL runs when `SUA_TEST_DATABASE_URL` is set at build time (a fresh database per test), else
//! those tests are listed as ignored.

mod testdb;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use service::{
    clock::ManualClock,
    config::Settings,
    db::{
        Db,
        entities::{bid, clarification, lot, operator, province, register_listing, tender},
    },
    state::AppState,
};
use std::{collections::BTreeMap, sync::Arc};
use testdb::{TestDb, postgres, sqlite};
use uuid::Uuid;

fn state(db: Db, clock: Arc<ManualClock>) -> AppState {
    let mut settings = Settings::default();
    settings.reminders.offer_deadline_hours = vec![48, 24];
    settings.reminders.listing_expiry_days = vec![60, 30, 7];
    AppState::new(db, clock, Arc::new(settings))
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
}

async fn insert_operator(db: &impl ConnectionTrait, n: u32, name: &str) -> operator::Model {
    operator::ActiveModel {
        id: Set(Uuid::now_v7()),
        codice_fiscale: Set(format!("0000000000{n}")),
        partita_iva: Set(None),
        name: Set(name.into()),
        pec: Set(format!("op{n}@pec.example.it")),
        created_at: Set(start()),
    }
    .insert(db)
    .await
    .unwrap()
}

async fn insert_tender(
    db: &impl ConnectionTrait,
    title: &str,
    deadline: DateTime<Utc>,
) -> tender::Model {
    tender::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(Uuid::now_v7()),
        municipality_id: Set(None),
        request_id: Set(None),
        title: Set(title.into()),
        contract_type: Set("services".into()),
        procedure_type: Set("aperta".parse().unwrap()),
        criterion: Set("lowest_price".parse().unwrap()),
        state: Set("open".parse().unwrap()),
        deadline: Set(Some(deadline)),
        published_at: Set(Some(start())),
        invitees_json: Set("[]".into()),
        facts_json: Set("{}".into()),
        created_at: Set(start()),
        updated_at: Set(start()),
        service_nature: Set(None),
        decision_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap()
}

async fn insert_lot(
    db: &impl ConnectionTrait,
    t: Uuid,
    number: i32,
    cig: Option<&str>,
) -> lot::Model {
    lot::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(t),
        number: Set(number),
        title: Set(format!("Lotto numero {number}")),
        cig: Set(cig.map(|c| {
            c.parse()
                .expect("test CIG is valid (check characters included)")
        })),
        base_amount_cents: Set(10_000_000),
        state: Set("pending".parse().unwrap()),
        evaluation_json: Set(None),
        awardee_bid_id: Set(None),
        standstill_end: Set(None),
        facts_json: Set("{}".into()),
        updated_at: Set(start()),
        labour_costs_cents: Set(0),
        safety_costs_cents: Set(0),
        options_cents: Set(0),
        renewals_cents: Set(0),
        evaluation_rules_json: Set(None),
        pcp_json: Set("{}".into()),
    }
    .insert(db)
    .await
    .unwrap()
}

async fn insert_bid(db: &impl ConnectionTrait, l: &lot::Model, op: Uuid, state: &str) {
    bid::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(l.tender_id),
        lot_id: Set(l.id),
        operator_id: Set(op),
        state: Set(state.parse().unwrap()),
        declared_discount: Set(None),
        declared_price_cents: Set(None),
        declared_labour_costs_cents: Set(None),
        technical_json: Set("{}".into()),
        tech_score: Set(None),
        soccorso_due: Set(None),
        exclusion_reason: Set(None),
        submitted_at: Set(start()),
        updated_at: Set(start()),
    }
    .insert(db)
    .await
    .unwrap();
}

async fn insert_question(db: &impl ConnectionTrait, t: Uuid, op: Uuid) {
    clarification::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(t),
        operator_id: Set(op),
        question: Set("Il sopralluogo è obbligatorio?".into()),
        answer: Set(None),
        answered_at: Set(None),
        created_at: Set(start()),
    }
    .insert(db)
    .await
    .unwrap();
}

/// The outbox rows of `template`: idempotency key → (recipient, context).
async fn outbox(
    db: &impl ConnectionTrait,
    template: &str,
) -> BTreeMap<String, (String, serde_json::Value)> {
    notify::entity::Entity::find()
        .filter(notify::entity::Column::Template.eq(template))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            let to: Vec<String> = serde_json::from_str(&m.recipients).unwrap();
            assert_eq!(to.len(), 1, "one recipient per reminder");
            (
                m.idempotency_key,
                (to[0].clone(), serde_json::from_str(&m.context).unwrap()),
            )
        })
        .collect()
}

fn recipients_with(
    rows: &BTreeMap<String, (String, serde_json::Value)>,
    key_part: &str,
) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .filter(|(k, _)| k.contains(key_part))
        .map(|(_, (to, _))| to.clone())
        .collect();
    v.sort();
    v
}

async fn tick(st: &AppState) -> u32 {
    service::scheduler::tick(st).await.unwrap().reminders
}

fn templates() -> notify::Templates {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/templates/mail");
    let mut globals = BTreeMap::new();
    globals.insert(
        "organization".to_owned(),
        "Provincia di Prova - SUA".to_owned(),
    );
    notify::Templates::load(&dir, &globals).unwrap()
}

async fn deadline_scenario(t: &TestDb) {
    let clock = Arc::new(ManualClock::new(start()));
    let st = state(t.db.clone(), clock.clone());
    let db = &t.db.conn;
    let deadline = start() + Duration::days(10);
    let tn = insert_tender(db, "Servizio di sgombero neve 2027-2029", deadline).await;
    let l1 = insert_lot(db, tn.id, 1, Some("B5A520026C")).await;
    let l2 = insert_lot(db, tn.id, 2, Some("B2E4F60F0F")).await;
    let alfa = insert_operator(db, 1, "Alfa srl").await; // withdrew its bid on lot 1: reminded
    let beta = insert_operator(db, 2, "Beta spa").await; // bid in force (and a question): never
    let gamma = insert_operator(db, 3, "Gamma coop").await; // asked a question, no bid: reminded until it bids
    let delta = insert_operator(db, 4, "Delta snc").await; // withdrew lot 2, bid in force on lot 1: lot 2
    let eps = insert_operator(db, 5, "Epsilon srl").await; // withdrew and submitted again: never
    let _zeta = insert_operator(db, 6, "Zeta srl").await; // nothing on this tender: never
    insert_bid(db, &l1, alfa.id, "withdrawn").await;
    insert_bid(db, &l1, beta.id, "submitted").await;
    insert_question(db, tn.id, beta.id).await;
    insert_question(db, tn.id, gamma.id).await;
    insert_bid(db, &l2, delta.id, "withdrawn").await;
    insert_bid(db, &l1, delta.id, "submitted").await;
    insert_bid(db, &l1, eps.id, "withdrawn").await;
    insert_bid(db, &l1, eps.id, "submitted").await;

    // three days before: no window is open
    clock.set(deadline - Duration::hours(72));
    assert_eq!(tick(&st).await, 0);
    clock.set(deadline - Duration::hours(48) - Duration::seconds(1));
    assert_eq!(tick(&st).await, 0);
    // 48 hours before: Alfa, Gamma and Delta, once, however many passes
    clock.set(deadline - Duration::hours(48));
    assert_eq!(tick(&st).await, 3);
    assert_eq!(tick(&st).await, 0);
    clock.set(deadline - Duration::hours(30));
    assert_eq!(tick(&st).await, 0, "the 48 h reminder is not sent twice");
    let rows = outbox(db, "deadline_reminder").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        recipients_with(&rows, ":48h"),
        vec![
            "Alfa srl <op1@pec.example.it>".to_owned(),
            "Delta snc <op4@pec.example.it>".to_owned(),
            "Gamma coop <op3@pec.example.it>".to_owned()
        ]
    );
    // what each mail says: the recipient's own lot, CIG and the deadline; nobody else's name
    let tpl = templates();
    for (key, (to, ctx)) in &rows {
        assert!(key.starts_with(&format!("reminder:{}:", tn.id)), "{key}");
        assert!(
            key.contains("20270311T090000Z"),
            "the deadline is in the key: {key}"
        );
        let text = serde_json::to_string(ctx).unwrap();
        for other in ["Alfa", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"] {
            if !to.contains(other) {
                assert!(!text.contains(other), "{to}: names {other}: {text}");
            }
        }
        let r = tpl
            .render(notify::MailTemplate::DeadlineReminder, ctx)
            .unwrap();
        assert!(r.text.contains("Servizio di sgombero neve"), "{}", r.text);
        assert!(r.text.contains("11/03/2027 alle ore 10:00"), "{}", r.text);
        if to.contains("Alfa") {
            assert_eq!(ctx["started"], "withdrawn");
            assert_eq!(ctx["lot_number"], 1);
            assert!(r.text.contains("CIG: B5A520026C"), "{}", r.text);
            assert!(r.text.contains("ha ritirato l'offerta"), "{}", r.text);
            assert!(!r.text.contains("B2E4F60F0F"), "not lot 2: {}", r.text);
        } else if to.contains("Delta") {
            // its bid on lot 1 is in force: the mail names lot 2 and its CIG only
            assert_eq!(ctx["started"], "withdrawn");
            assert_eq!(ctx["lot_number"], 2);
            assert!(ctx.get("lots").is_none(), "{ctx}");
            assert!(r.text.contains("Lotto 2 - Lotto numero 2"), "{}", r.text);
            assert!(r.text.contains("CIG: B2E4F60F0F"), "{}", r.text);
            assert!(!r.text.contains("B5A520026C"), "not lot 1: {}", r.text);
            assert!(!r.text.contains("Lotto 1"), "not lot 1: {}", r.text);
            assert!(r.text.contains("ha ritirato l'offerta"), "{}", r.text);
        } else {
            assert_eq!(ctx["started"], "clarification");
            assert!(
                r.text.contains("Lotto 1: Lotto numero 1 (CIG B5A520026C)"),
                "{}",
                r.text
            );
            assert!(
                r.text.contains("Lotto 2: Lotto numero 2 (CIG B2E4F60F0F)"),
                "{}",
                r.text
            );
        }
    }

    // Gamma submits before the 24 h offset: it is not reminded again
    insert_bid(db, &l2, gamma.id, "submitted").await;
    // 24 hours before, two replicas tick at once: Alfa's and Delta's reminders are enqueued once
    clock.set(deadline - Duration::hours(24));
    let replica = Db::connect(&t.url, 4).await.unwrap();
    let st2 = state(replica, clock.clone());
    let (a, b) = tokio::join!(tick(&st), tick(&st2));
    assert_eq!(
        a + b,
        2,
        "two reminders between the two replicas ({a} + {b})"
    );
    let rows = outbox(db, "deadline_reminder").await;
    assert_eq!(
        recipients_with(&rows, ":24h"),
        vec![
            "Alfa srl <op1@pec.example.it>".to_owned(),
            "Delta snc <op4@pec.example.it>".to_owned()
        ]
    );
    assert_eq!(rows.len(), 5);
    // the last second before the deadline, at the deadline (the tender closes) and after: nothing
    clock.set(deadline - Duration::seconds(1));
    assert_eq!(tick(&st).await, 0);
    clock.set(deadline);
    let pass = service::scheduler::tick(&st).await.unwrap();
    assert_eq!((pass.tenders_closed, pass.reminders), (1, 0), "{pass:?}");
    clock.set(deadline + Duration::hours(1));
    assert_eq!(tick(&st).await, 0);
    assert_eq!(outbox(db, "deadline_reminder").await.len(), 5);
    st2.runtime.db.conn.close().await.ok();

    // an extended deadline owes its reminders again
    let d2 = clock_now(&clock) + Duration::days(5);
    let t2 = insert_tender(db, "Fornitura di sale stradale", d2).await;
    let l = insert_lot(db, t2.id, 1, Some("B765432AB2")).await;
    insert_bid(db, &l, alfa.id, "withdrawn").await;
    clock.set(d2 - Duration::hours(24));
    assert_eq!(
        tick(&st).await,
        1,
        "the 24 h reminder of the first deadline"
    );
    let extended = d2 + Duration::days(3);
    let mut am = t2.into_active_model();
    am.deadline = Set(Some(extended));
    let t2 = am.update(db).await.unwrap();
    assert_eq!(
        tick(&st).await,
        0,
        "four days before the new deadline: nothing yet"
    );
    clock.set(extended - Duration::hours(48));
    assert_eq!(tick(&st).await, 1);
    clock.set(extended - Duration::hours(24));
    assert_eq!(tick(&st).await, 1);
    assert_eq!(tick(&st).await, 0);
    let rows: Vec<String> = outbox(db, "deadline_reminder")
        .await
        .into_keys()
        .filter(|k| k.contains(&t2.id.to_string()))
        .collect();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let old = d2.format("%Y%m%dT%H%M%SZ").to_string();
    let new = extended.format("%Y%m%dT%H%M%SZ").to_string();
    assert_eq!(
        rows.iter().filter(|k| k.contains(&old)).count(),
        1,
        "{rows:?}"
    );
    assert_eq!(
        rows.iter().filter(|k| k.contains(&new)).count(),
        2,
        "{rows:?}"
    );
}

fn clock_now(c: &ManualClock) -> DateTime<Utc> {
    service::clock::Clock::now(c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_reminders_go_once_per_offset_to_who_started_and_did_not_submit_on_sqlite() {
    let t = sqlite().await;
    deadline_scenario(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn deadline_reminders_go_once_per_offset_to_who_started_and_did_not_submit_on_postgres() {
    let t = postgres().await;
    deadline_scenario(&t).await;
    t.drop_pg().await;
}

async fn insert_listing(
    db: &impl ConnectionTrait,
    province: Uuid,
    op: Uuid,
    category: &str,
    status: &str,
    expires_on: NaiveDate,
) -> register_listing::Model {
    register_listing::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(province),
        operator_id: Set(op),
        category: Set(category.into()),
        soa_class: Set(category.starts_with("OG").then(|| "III".to_owned())),
        territories_json: Set("[\"national\"]".into()),
        status: Set(status.into()),
        status_on: Set((status != "applied").then_some(start().date_naive())),
        reason: Set((status == "suspended" || status == "removed").then(|| "DURC".to_owned())),
        expires_on: Set(expires_on),
        created_at: Set(start()),
        updated_at: Set(start()),
    }
    .insert(db)
    .await
    .unwrap()
}

async fn listing_scenario(t: &TestDb) {
    let clock = Arc::new(ManualClock::new(start()));
    let st = state(t.db.clone(), clock.clone());
    let db = &t.db.conn;
    let today = start().date_naive();
    let p = province::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set("PV".into()),
        name: Set("Provincia di Prova".into()),
        created_at: Set(start()),
    }
    .insert(db)
    .await
    .unwrap();
    let alfa = insert_operator(db, 1, "Alfa srl").await;
    let beta = insert_operator(db, 2, "Beta spa").await;
    let gamma = insert_operator(db, 3, "Gamma coop").await;
    let admitted = insert_listing(
        db,
        p.id,
        alfa.id,
        "OG3",
        "admitted",
        today + Duration::days(65),
    )
    .await;
    let suspended = insert_listing(
        db,
        p.id,
        beta.id,
        "90",
        "suspended",
        today + Duration::days(20),
    )
    .await;
    // never reminded: removed, only applied, already expired
    insert_listing(
        db,
        p.id,
        gamma.id,
        "OG1",
        "removed",
        today + Duration::days(10),
    )
    .await;
    insert_listing(
        db,
        p.id,
        gamma.id,
        "OG2",
        "applied",
        today + Duration::days(10),
    )
    .await;
    insert_listing(
        db,
        p.id,
        gamma.id,
        "77",
        "admitted",
        today - Duration::days(1),
    )
    .await;

    // day 0: the suspended listing is 20 days from expiry, inside the 30-day window
    assert_eq!(tick(&st).await, 1);
    assert_eq!(tick(&st).await, 0);
    let key = |l: &register_listing::Model, d: u32| {
        service::reminders::listing_key(l.id, l.expires_on, d)
    };
    let rows = outbox(db, "listing_expiry_reminder").await;
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        vec![key(&suspended, 30)]
    );
    // day 5: the admitted listing enters its 60-day window
    clock.set(start() + Duration::days(5));
    assert_eq!(tick(&st).await, 1);
    clock.set(start() + Duration::days(12));
    assert_eq!(tick(&st).await, 0);
    // day 13: the suspended one is 7 days from expiry
    clock.set(start() + Duration::days(13));
    assert_eq!(tick(&st).await, 1);
    clock.set(start() + Duration::days(35));
    assert_eq!(tick(&st).await, 1);
    clock.set(start() + Duration::days(58));
    assert_eq!(tick(&st).await, 1);
    assert_eq!(tick(&st).await, 0);
    // day 66: expired, nothing more
    clock.set(start() + Duration::days(66));
    assert_eq!(tick(&st).await, 0);
    let rows = outbox(db, "listing_expiry_reminder").await;
    let mut want = vec![
        key(&suspended, 30),
        key(&suspended, 7),
        key(&admitted, 60),
        key(&admitted, 30),
        key(&admitted, 7),
    ];
    want.sort();
    assert_eq!(rows.keys().cloned().collect::<Vec<_>>(), want);
    assert_eq!(recipients_with(&rows, &admitted.id.to_string()).len(), 3);
    assert!(
        recipients_with(&rows, &admitted.id.to_string())
            .iter()
            .all(|to| to.contains("op1@pec.example.it"))
    );
    // the mail names the register, the category, the expiry date and how to renew
    let tpl = templates();
    let (_, ctx) = &rows[&key(&admitted, 7)];
    assert_eq!(ctx["days_left"], 7);
    let r = tpl
        .render(notify::MailTemplate::ListingExpiryReminder, ctx)
        .unwrap();
    assert!(r.subject.contains("OG3"), "{}", r.subject);
    assert!(r.text.contains("Provincia di Prova"), "{}", r.text);
    assert!(r.text.contains("classifica III"), "{}", r.text);
    let exp = admitted.expires_on.format("%d/%m/%Y").to_string();
    assert!(r.text.contains(&exp), "{}", r.text);
    assert!(r.text.contains("Per rinnovarla"), "{}", r.text);
    // renewed with a later expiry: its reminders are owed again
    let mut am = admitted.clone().into_active_model();
    am.expires_on = Set(today + Duration::days(66 + 40));
    let renewed = am.update(db).await.unwrap();
    assert_eq!(tick(&st).await, 1);
    assert!(
        outbox(db, "listing_expiry_reminder")
            .await
            .contains_key(&key(&renewed, 60))
    );
    assert_eq!(tick(&st).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_expiry_reminders_go_once_per_listing_and_offset_on_sqlite() {
    let t = sqlite().await;
    listing_scenario(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn listing_expiry_reminders_go_once_per_listing_and_offset_on_postgres() {
    let t = postgres().await;
    listing_scenario(&t).await;
    t.drop_pg().await;
}

#[test]
#[allow(clippy::result_large_err)] // figment::Jail's error type
fn reminder_schedules_are_configurable_and_validated_naming_the_key() {
    figment::Jail::expect_with(|jail| {
        let s = service::config::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.reminders.offer_deadline_hours, vec![48, 24]);
        assert_eq!(s.reminders.listing_expiry_days, vec![60, 30, 7]);
        jail.create_file("sua.toml", "[reminders]\nlisting_expiry_days = [90, 15]\n")?;
        jail.set_env("SUA_REMINDERS__OFFER_DEADLINE_HOURS", "[72, 24, 2]");
        let s = service::config::load(Some(std::path::Path::new("sua.toml")))
            .map_err(|e| e.to_string())?;
        assert_eq!(s.reminders.offer_deadline_hours, vec![72, 24, 2]);
        assert_eq!(s.reminders.listing_expiry_days, vec![90, 15]);
        jail.set_env("SUA_REMINDERS__OFFER_DEADLINE_HOURS", "[]");
        let s = service::config::load(None).map_err(|e| e.to_string())?;
        assert!(s.reminders.offer_deadline_hours.is_empty(), "empty: off");
        jail.set_env("SUA_REMINDERS__OFFER_DEADLINE_HOURS", "[0]");
        let e = service::config::load(None).unwrap_err().to_string();
        assert!(e.contains("reminders.offer_deadline_hours"), "{e}");
        jail.set_env("SUA_REMINDERS__OFFER_DEADLINE_HOURS", "[24]");
        jail.set_env("SUA_REMINDERS__LISTING_EXPIRY_DAYS", "[0]");
        let e = service::config::load(None).unwrap_err().to_string();
        assert!(e.contains("reminders.listing_expiry_days"), "{e}");
        Ok(())
    });
}
