//! The PCP outbox: idempotent enqueue, strict order per tender, one claim per call, resend of `errore`.

use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;
use workflow::pcp_outbox::{self as outbox, CONFERMATA, ERRORE, Operation, Purpose, Update};
use workflow::store::Db;

async fn db() -> Db {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    db.migrate().await.unwrap();
    db
}

#[tokio::test]
async fn calls_of_one_tender_go_in_order_and_are_claimed_once() {
    let db = db().await;
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let c = &db.conn;
    let key = |t: Uuid, s: &str| format!("pcp:{t}:{s}");
    let a1 = outbox::enqueue(
        c,
        a,
        None,
        Operation::CreaAppalto,
        Purpose::Publication,
        key(a, "1"),
        now,
    )
    .await
    .unwrap();
    let a2 = outbox::enqueue(
        c,
        a,
        None,
        Operation::ConfermaAppalto,
        Purpose::Publication,
        key(a, "2"),
        now,
    )
    .await
    .unwrap();
    // the same act again: the same call, not a second one
    let again = outbox::enqueue(
        c,
        a,
        None,
        Operation::ConfermaAppalto,
        Purpose::Publication,
        key(a, "2"),
        now,
    )
    .await
    .unwrap();
    assert_eq!(a2, again);
    let b1 = outbox::enqueue(
        c,
        b,
        None,
        Operation::CreaAppalto,
        Purpose::Publication,
        key(b, "1"),
        now,
    )
    .await
    .unwrap();
    let listed = outbox::list_for_tender(c, a).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.ord).collect::<Vec<_>>(), vec![1, 2]);

    // the first call of each tender is due; the second of `a` waits for the first
    let lease = Duration::minutes(5);
    let claimed = outbox::claim(c, now, lease, 10).await.unwrap();
    let mut ids: Vec<Uuid> = claimed.iter().map(|x| x.row.id).collect();
    ids.sort();
    let mut want = vec![a1, b1];
    want.sort();
    assert_eq!(ids, want);
    // a second claimer (another replica) gets nothing while the leases hold
    assert!(outbox::claim(c, now, lease, 10).await.unwrap().is_empty());
    // after the lease expires, the call is due again (its worker died)
    let late = outbox::claim(c, now + Duration::minutes(6), lease, 10)
        .await
        .unwrap();
    assert_eq!(late.len(), 2);
    // the stale claim cannot record an outcome any more
    let stale = claimed.iter().find(|x| x.row.id == a1).unwrap();
    let done = Update {
        status: Some(CONFERMATA),
        confirmed: true,
        ..Update::default()
    };
    assert!(!outbox::complete(c, stale, now, done.clone()).await.unwrap());
    let fresh = late.iter().find(|x| x.row.id == a1).unwrap();
    assert!(outbox::complete(c, fresh, now, done).await.unwrap());
    // now the second call of `a` is due
    let next = outbox::claim(c, now + Duration::minutes(7), lease, 10)
        .await
        .unwrap();
    assert_eq!(next.iter().map(|x| x.row.id).collect::<Vec<_>>(), vec![a2]);
    // a KO: `errore` with ANAC's message, not due any more, and resendable
    let ko = Update {
        status: Some(ERRORE),
        error: Some(("ERR16".into(), "CIG non valido".into())),
        ..Update::default()
    };
    assert!(outbox::complete(c, &next[0], now, ko).await.unwrap());
    let row = outbox::get(c, a2).await.unwrap();
    assert_eq!(
        (row.status.as_str(), row.error_code.as_deref()),
        (ERRORE, Some("ERR16"))
    );
    assert!(
        outbox::claim(c, now + Duration::hours(1), lease, 10)
            .await
            .unwrap()
            .iter()
            .all(|x| x.row.id != a2)
    );
    // only an `errore` call can be resent
    assert!(outbox::resend(c, a1, now).await.is_err());
    outbox::resend(c, a2, now).await.unwrap();
    let again = outbox::claim(c, now + Duration::hours(1), lease, 10)
        .await
        .unwrap();
    assert!(again.iter().any(|x| x.row.id == a2));
    assert_eq!(outbox::get(c, a2).await.unwrap().attempts, 1);
}
