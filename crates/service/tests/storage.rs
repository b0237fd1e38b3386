//! Storage on both backends: extreme values round-trip exactly; the scheduler fires timers on an injected
//! clock. PostgreSQL runs when `SUA_TEST_DATABASE_URL` is set at build time (a fresh database per test),
//! else those tests are listed as ignored.

mod testdb;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use service::{
    audit,
    clock::ManualClock,
    config::Settings,
    db::{
        Db,
        entities::{bid, lot, tender, timer},
    },
    state::AppState,
};
use std::{str::FromStr, sync::Arc};
use testdb::{TestDb, postgres, sqlite};
use uuid::Uuid;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn insert_tender(
    db: &impl ConnectionTrait,
    state: &str,
    deadline: DateTime<Utc>,
) -> tender::Model {
    tender::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(Uuid::now_v7()),
        municipality_id: Set(None),
        request_id: Set(None),
        title: Set("Àccènti e “virgolette” — 😀".into()),
        contract_type: Set("services".into()),
        procedure_type: Set("aperta".parse().unwrap()),
        criterion: Set("lowest_price".parse().unwrap()),
        state: Set(state.parse().unwrap()),
        deadline: Set(Some(deadline)),
        published_at: Set(None),
        invitees_json: Set("[]".into()),
        facts_json: Set("{}".into()),
        created_at: Set(at("2027-01-11T09:00:00Z")),
        updated_at: Set(at("2027-01-11T09:00:00Z")),
        service_nature: Set(None),
        decision_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap()
}

async fn insert_lot(db: &impl ConnectionTrait, t: Uuid, cents: i64) -> lot::Model {
    lot::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(t),
        number: Set(1),
        title: Set("Lotto".into()),
        cig: Set(Some("B5A520026C".parse().unwrap())),
        base_amount_cents: Set(cents),
        state: Set("pending".parse().unwrap()),
        evaluation_json: Set(None),
        awardee_bid_id: Set(None),
        standstill_end: Set(None),
        facts_json: Set("{}".into()),
        updated_at: Set(at("2027-01-11T09:00:00Z")),
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

async fn round_trip(t: &TestDb) {
    let conn = &t.db.conn;
    // microsecond timestamps survive on both backends
    let deadline = at("2027-02-15T11:00:00.123456Z");
    let tn = insert_tender(conn, "open", deadline).await;
    for cents in [i64::MAX, i64::MIN, 0, 1, 9_999_999_999_999_999] {
        let l = insert_lot(conn, tn.id, cents).await;
        let back = lot::Entity::find_by_id(l.id)
            .one(conn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back.base_amount_cents, cents);
        lot::Entity::delete_by_id(l.id).exec(conn).await.unwrap();
    }
    let l = insert_lot(conn, tn.id, 1).await;
    // percentages as exact text: 28 significant digits, trailing zeros kept as written
    for discount in [
        "99.99999999999999999999999999",
        "0.10",
        "12.345",
        "0.0000000000000000000000000001",
    ] {
        let b = bid::ActiveModel {
            id: Set(Uuid::now_v7()),
            tender_id: Set(tn.id),
            lot_id: Set(l.id),
            operator_id: Set(Uuid::now_v7()),
            state: Set("submitted".parse().unwrap()),
            declared_discount: Set(Some(discount.into())),
            declared_price_cents: Set(Some(i64::MAX)),
            declared_labour_costs_cents: Set(None),
            technical_json: Set(r#"{"a":"€"}"#.into()),
            tech_score: Set(None),
            soccorso_due: Set(None),
            exclusion_reason: Set(None),
            submitted_at: Set(deadline),
            updated_at: Set(deadline),
        }
        .insert(conn)
        .await
        .unwrap();
        let back = bid::Entity::find_by_id(b.id)
            .one(conn)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, b);
        assert_eq!(back.declared_discount.as_deref(), Some(discount));
        assert_eq!(
            Decimal::from_str(back.declared_discount.as_deref().unwrap()).unwrap(),
            Decimal::from_str(discount).unwrap()
        );
    }
    let back = tender::Entity::find_by_id(tn.id)
        .one(conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, tn);
    assert_eq!(back.deadline, Some(deadline));
}

#[tokio::test]
async fn extreme_values_round_trip_on_sqlite() {
    let t = sqlite().await;
    round_trip(&t).await;
}

#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn extreme_values_round_trip_on_postgres() {
    let t = postgres().await;
    round_trip(&t).await;
    t.drop_pg().await;
}

fn state(db: Db, clock: Arc<ManualClock>) -> AppState {
    AppState::new(db, clock, Arc::new(Settings::default()))
}

async fn scheduler_scenario(t: &TestDb) {
    let start = Utc.with_ymd_and_hms(2027, 1, 11, 9, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(start));
    let st = state(t.db.clone(), clock.clone());
    let deadline = start + Duration::days(35);
    let tn = insert_tender(&t.db.conn, "open", deadline).await;
    insert_lot(&t.db.conn, tn.id, 100_000).await;
    // a reminder timer and a standstill timer on an unknown lot
    for (kind, due) in [
        ("art90_communication", start + Duration::days(5)),
        ("standstill", start + Duration::days(1)),
    ] {
        timer::ActiveModel {
            id: Set(Uuid::now_v7()),
            object_kind: Set("lot".into()),
            object_id: Set(Uuid::now_v7()),
            event: Set(kind.into()),
            due_at: Set(due),
            fired_at: Set(None),
            outcome: Set(None),
            created_at: Set(start),
        }
        .insert(&t.db.conn)
        .await
        .unwrap();
    }
    // nothing is due yet
    let tick = service::scheduler::tick(&st).await.unwrap();
    assert_eq!(tick, Default::default());
    // one second before the deadline: the tender is still open; the due reminder fires and the timer of
    // an unknown lot is dropped
    clock.set(deadline - Duration::seconds(1));
    let tick = service::scheduler::tick(&st).await.unwrap();
    assert_eq!((tick.tenders_closed, tick.timers_fired), (0, 1), "{tick:?}");
    let now_t = tender::Entity::find_by_id(tn.id)
        .one(&t.db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now_t.state.as_str(), "open");
    let timers = timer::Entity::find().all(&t.db.conn).await.unwrap();
    assert!(timers.iter().all(|t| t.fired_at.is_some()), "{timers:?}");
    assert!(
        timers
            .iter()
            .any(|t| t.outcome.as_deref() == Some("fired: reminder"))
    );
    assert!(timers.iter().any(|t| {
        t.outcome
            .as_deref()
            .is_some_and(|o| o.starts_with("dropped"))
    }));
    // at the deadline the tender closes
    clock.set(deadline);
    let tick = service::scheduler::tick(&st).await.unwrap();
    assert_eq!((tick.tenders_closed, tick.timers_fired), (1, 0), "{tick:?}");
    let closed = tender::Entity::find_by_id(tn.id)
        .one(&t.db.conn)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.state.as_str(), "closed");
    // a second pass does nothing (no double firing)
    assert_eq!(
        service::scheduler::tick(&st).await.unwrap(),
        Default::default()
    );
    // the audit chain recorded the closing by the scheduler
    match audit::verify(&t.db.conn).await.unwrap() {
        audit::Verdict::Intact { entries, chains } => assert!(entries >= 2 && chains >= 1),
        v => panic!("{v:?}"),
    }
}

#[tokio::test]
async fn the_scheduler_closes_at_the_deadline_and_fires_timers_once_on_sqlite() {
    let t = sqlite().await;
    scheduler_scenario(&t).await;
}

#[tokio::test]
#[cfg_attr(
    not(sua_pg),
    ignore = "PostgreSQL: set SUA_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test to run"
)]
async fn the_scheduler_closes_at_the_deadline_and_fires_timers_once_on_postgres() {
    let t = postgres().await;
    scheduler_scenario(&t).await;
    t.drop_pg().await;
}
