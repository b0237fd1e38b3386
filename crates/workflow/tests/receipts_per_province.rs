//! The migration to receipts numbered per Province keeps every receipt signed before it, with the number
//! it was signed with, under its tender's Province; each Province then goes on from its own highest.

use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use workflow::store::{Db, migration::Migrator};

/// Inserts a row into `table` with the given values and a placeholder for every other NOT NULL column
/// without a default (the test only needs the keys).
async fn insert(db: &Db, table: &str, given: &[(&str, sea_orm::Value)]) {
    let cols = db
        .conn
        .query_all_raw(Statement::from_string(
            db.backend(),
            format!("PRAGMA table_info({table})"),
        ))
        .await
        .unwrap();
    let (mut names, mut values, mut bound) = (Vec::new(), Vec::new(), Vec::new());
    for c in cols {
        let name: String = c.try_get("", "name").unwrap();
        let ty: String = c.try_get("", "type").unwrap();
        let notnull: i32 = c.try_get("", "notnull").unwrap();
        let default: Option<String> = c.try_get("", "dflt_value").unwrap();
        let value = if let Some((_, v)) = given.iter().find(|(n, _)| *n == name) {
            bound.push(v.clone());
            "?".to_owned()
        } else if notnull == 1 && default.is_none() {
            let ty = ty.to_lowercase();
            if ty.contains("int") || ty.contains("bool") || ty.contains("real") {
                "0".to_owned()
            } else if ty.contains("time") || ty.contains("date") {
                "'2026-11-30T08:00:00+00:00'".to_owned()
            } else {
                "'x'".to_owned()
            }
        } else {
            continue;
        };
        names.push(name);
        values.push(value);
    }
    db.conn
        .execute_raw(Statement::from_sql_and_values(
            db.backend(),
            format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                values.join(", ")
            ),
            bound,
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn receipts_signed_before_keep_their_number_under_their_province() {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    let all = Migrator::migrations();
    let ours = all
        .iter()
        .position(|m| m.name() == "m20261206_000023_receipts_per_province")
        .expect("the migration is in the list");
    Migrator::up(&db.conn, Some(ours as u32)).await.unwrap();
    let (pa, pb) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let (ta, tb) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    insert(
        &db,
        "tender",
        &[("id", ta.into()), ("province_id", pa.into())],
    )
    .await;
    insert(
        &db,
        "tender",
        &[("id", tb.into()), ("province_id", pb.into())],
    )
    .await;
    // platform-wide numbers 1..=3: 1 and 3 in Province A, 2 in Province B
    let mut bids = Vec::new();
    for (seq, t) in [(1, ta), (2, tb), (3, ta)] {
        let b = uuid::Uuid::now_v7();
        insert(&db, "bid", &[("id", b.into()), ("tender_id", t.into())]).await;
        insert(
            &db,
            "bid_receipt",
            &[
                ("sequence", i64::from(seq).into()),
                ("bid_id", b.into()),
                ("json", format!("{{\"sequence\":{seq}}}").into()),
            ],
        )
        .await;
        bids.push(b);
    }
    db.migrate().await.unwrap();
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(
            db.backend(),
            "SELECT province_id, sequence, bid_id, json FROM signed_receipt ORDER BY sequence",
        ))
        .await
        .unwrap();
    let got: Vec<(uuid::Uuid, i64, uuid::Uuid, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get("", "province_id").unwrap(),
                r.try_get("", "sequence").unwrap(),
                r.try_get("", "bid_id").unwrap(),
                r.try_get("", "json").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (pa, 1, bids[0], "{\"sequence\":1}".to_owned()),
            (pb, 2, bids[1], "{\"sequence\":2}".to_owned()),
            (pa, 3, bids[2], "{\"sequence\":3}".to_owned()),
        ]
    );
    // the old table is gone
    assert!(
        db.conn
            .execute_unprepared("SELECT 1 FROM bid_receipt")
            .await
            .is_err()
    );
}
