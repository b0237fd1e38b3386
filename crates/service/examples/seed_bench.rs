//! Seed a database with N published tenders (one lot each) for the read benchmark
//! (`scripts/bench-read.sh`). Usage: `seed_bench <database-url> [count]`. Applies migrations first.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, Set};
use service::db::{
    Db,
    entities::{lot, province, tender},
};
use uuid::Uuid;
use workflow::store::Scope;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: seed_bench <database-url> [count]"))?;
    let count: usize = args
        .next()
        .map(|c| c.parse())
        .transpose()?
        .unwrap_or(10_000);
    let db = Db::connect(&url, 4).await?;
    db.migrate().await?;
    let now = service::audit::truncate_micros(Utc::now());
    let w = db.write(Scope::Platform).await?;
    let p = Uuid::now_v7();
    province::ActiveModel {
        id: Set(p),
        code: Set(format!("B{}", &p.simple().to_string()[..6])),
        name: Set("Provincia di Benchmark".into()),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    for i in 0..count {
        let id = Uuid::now_v7();
        let published = now - Duration::minutes(i as i64);
        let t = tender::ActiveModel {
            id: Set(id),
            province_id: Set(p),
            municipality_id: Set(None),
            request_id: Set(None),
            title: Set(format!("Servizio di manutenzione n. {i} — lotto unico")),
            contract_type: Set("services".into()),
            procedure_type: Set(lifecycle::ProcedureType::Aperta.into()),
            criterion: Set(lifecycle::AwardCriterion::LowestPrice.into()),
            state: Set(lifecycle::tender::TenderState::Open.into()),
            deadline: Set(Some(now + Duration::days(40))),
            published_at: Set(Some(published)),
            invitees_json: Set("[]".into()),
            facts_json: Set("{}".into()),
            created_at: Set(published),
            updated_at: Set(published),
            service_nature: Set(None),
            decision_at: Set(None),
        }
        .insert(&w.txn)
        .await?;
        let l = lot::ActiveModel {
            id: Set(Uuid::now_v7()),
            tender_id: Set(id),
            number: Set(1),
            title: Set("Lotto unico".into()),
            cig: Set(Some("B5A520026C".parse()?)),
            base_amount_cents: Set(18_000_000 + i as i64),
            state: Set(lifecycle::lot::LotState::Pending.into()),
            evaluation_json: Set(None),
            awardee_bid_id: Set(None),
            standstill_end: Set(None),
            facts_json: Set("{}".into()),
            updated_at: Set(published),
            labour_costs_cents: Set(0),
            safety_costs_cents: Set(0),
            options_cents: Set(0),
            renewals_cents: Set(0),
            evaluation_rules_json: Set(None),
            pcp_json: Set("{}".into()),
        }
        .insert(&w.txn)
        .await?;
        // what publication records (the console's search words and the year's spend)
        workflow::published::record(&w.txn, &t, &[l]).await?;
        if i == count / 2 {
            println!("{id}");
        }
    }
    w.commit().await?;
    // fresh statistics, as a live database has them (autovacuum may not have run yet; `sua serve`
    // analyses a SQLite database at start-up)
    sea_orm::ConnectionTrait::execute_unprepared(&db.conn, "ANALYZE").await?;
    eprintln!("seeded {count} tenders");
    Ok(())
}
