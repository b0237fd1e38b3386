//! The audit log is one hash chain per Province plus `platform`; the entries written before the chains
//! existed are kept, hashes unchanged, as the closed `legacy` chain.

use chrono::{TimeZone, Utc};
use sea_orm::{ConnectionTrait, Statement};
use sea_orm_migration::MigratorTrait;
use uuid::Uuid;
use workflow::audit::{self, Entry, Verdict};
use workflow::store::entities::audit_entry;
use workflow::store::{Db, Scope, migration::Migrator};

fn entry(chain: Scope, action: &str) -> Entry<'_> {
    Entry {
        chain,
        actor: "test",
        action,
        object_kind: "tender",
        object_id: "x".into(),
        before: None,
        after: Some(serde_json::json!({"a": action})),
    }
}

#[tokio::test]
async fn each_province_has_its_own_chain_and_a_broken_entry_is_named_by_chain_and_seq() {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    db.migrate().await.unwrap();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let at = Utc.with_ymd_and_hms(2027, 1, 11, 9, 0, 0).unwrap();
    for (chain, action) in [
        (Scope::Province(a), "a1"),
        (Scope::Platform, "p1"),
        (Scope::Province(b), "b1"),
        (Scope::Province(a), "a2"),
        (Scope::Province(a), "a3"),
        (Scope::Province(b), "b2"),
    ] {
        let w = db.write(chain).await.unwrap();
        audit::append(&w.txn, at, entry(chain, action))
            .await
            .unwrap();
        w.commit().await.unwrap();
    }
    // seq and prev_hash run per chain
    let (seq_a, head_a) = audit::head(&db.conn, &a.to_string()).await.unwrap();
    assert_eq!(seq_a, 3);
    assert_eq!(audit::head(&db.conn, &b.to_string()).await.unwrap().0, 2);
    assert_eq!(audit::head(&db.conn, "platform").await.unwrap().0, 1);
    assert_eq!(
        audit::head(&db.conn, &Uuid::now_v7().to_string())
            .await
            .unwrap(),
        (0, audit::GENESIS.to_owned())
    );
    let first_b = audit_entry_at(&db, &b.to_string(), 1).await;
    assert_eq!(first_b.prev_hash, audit::GENESIS);
    assert_eq!(
        audit::verify(&db.conn).await.unwrap(),
        Verdict::Intact {
            entries: 6,
            chains: 3
        }
    );
    let mut chains = audit::chains(&db.conn).await.unwrap();
    chains.sort();
    let mut expected = vec![a.to_string(), b.to_string(), "platform".to_owned()];
    expected.sort();
    assert_eq!(chains, expected);
    // the chain key is part of the hash: an entry moved to another chain does not check out
    let last_a = audit_entry_at(&db, &a.to_string(), 3).await;
    assert_eq!(last_a.hash, head_a);
    // alter entry 2 of Province b: named with its chain
    exec(
        &db,
        &format!("UPDATE audit_entry SET actor = 'mallory' WHERE chain = '{b}' AND seq = 2"),
    )
    .await;
    match audit::verify(&db.conn).await.unwrap() {
        Verdict::Broken { chain, seq, reason } => {
            assert_eq!((chain.as_str(), seq), (b.to_string().as_str(), 2));
            assert!(reason.contains("altered"), "{reason}");
        }
        v => panic!("{v:?}"),
    }
}

#[tokio::test]
async fn a_deleted_entry_in_the_middle_of_a_chain_is_a_named_gap() {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    db.migrate().await.unwrap();
    let a = Uuid::now_v7();
    let at = Utc.with_ymd_and_hms(2027, 1, 11, 9, 0, 0).unwrap();
    for action in ["a1", "a2", "a3"] {
        let w = db.write(Scope::Province(a)).await.unwrap();
        audit::append(&w.txn, at, entry(Scope::Province(a), action))
            .await
            .unwrap();
        w.commit().await.unwrap();
    }
    exec(
        &db,
        &format!("DELETE FROM audit_entry WHERE chain = '{a}' AND seq = 2"),
    )
    .await;
    match audit::verify(&db.conn).await.unwrap() {
        Verdict::Broken { chain, seq, reason } => {
            assert_eq!((chain, seq), (a.to_string(), 3));
            assert!(reason.contains("gap"), "{reason}");
        }
        v => panic!("{v:?}"),
    }
}

#[tokio::test]
async fn entries_written_before_the_chains_are_kept_as_the_legacy_chain_with_their_hashes() {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    let all = Migrator::migrations();
    let ours = all
        .iter()
        .position(|m| m.name() == "m20261206_000020_audit_chains")
        .expect("the audit chains migration is in the list");
    Migrator::up(&db.conn, Some(ours as u32)).await.unwrap();
    // three entries of the single global chain, hashed as they were: [seq, at, …, prev_hash]
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
    let mut prev = audit::GENESIS.to_owned();
    let mut hashes = Vec::new();
    for seq in 1..=3i64 {
        let mut m = audit_entry::Model {
            chain: audit::LEGACY.to_owned(),
            seq,
            at,
            actor: "cli".into(),
            action: "province.create".into(),
            object_kind: "province".into(),
            object_id: format!("p{seq}"),
            before_json: None,
            after_json: Some("{}".into()),
            prev_hash: prev.clone(),
            hash: String::new(),
        };
        m.hash = audit::entry_hash(&m);
        let stmt = Statement::from_sql_and_values(
            db.conn.get_database_backend(),
            "INSERT INTO audit_entry (seq, at, actor, action, object_kind, object_id, before_json, \
             after_json, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                m.seq.into(),
                m.at.into(),
                m.actor.clone().into(),
                m.action.clone().into(),
                m.object_kind.clone().into(),
                m.object_id.clone().into(),
                m.before_json.clone().into(),
                m.after_json.clone().into(),
                m.prev_hash.clone().into(),
                m.hash.clone().into(),
            ],
        );
        db.conn.execute_raw(stmt).await.unwrap();
        prev = m.hash.clone();
        hashes.push(m.hash);
    }
    db.migrate().await.unwrap();
    // unchanged, in the closed legacy chain
    assert_eq!(
        audit::head(&db.conn, audit::LEGACY).await.unwrap(),
        (3, hashes[2].clone())
    );
    // new acts start their own chain at 1
    let w = db.write(Scope::Platform).await.unwrap();
    let e = audit::append(&w.txn, at, entry(Scope::Platform, "token.issue"))
        .await
        .unwrap();
    w.commit().await.unwrap();
    assert_eq!((e.seq, e.prev_hash.as_str()), (1, audit::GENESIS));
    assert_eq!(
        audit::verify(&db.conn).await.unwrap(),
        Verdict::Intact {
            entries: 4,
            chains: 2
        }
    );
    // the legacy entries are still checked
    exec(
        &db,
        "UPDATE audit_entry SET object_id = 'p9' WHERE chain = 'legacy' AND seq = 1",
    )
    .await;
    assert!(matches!(
        audit::verify(&db.conn).await.unwrap(),
        Verdict::Broken { chain, seq: 1, .. } if chain == audit::LEGACY
    ));
}

async fn audit_entry_at(db: &Db, chain: &str, seq: i64) -> audit_entry::Model {
    use sea_orm::EntityTrait;
    audit_entry::Entity::find_by_id((chain.to_owned(), seq))
        .one(&db.conn)
        .await
        .unwrap()
        .unwrap()
}

async fn exec(db: &Db, sql: &str) {
    db.conn.execute_unprepared(sql).await.unwrap();
}
