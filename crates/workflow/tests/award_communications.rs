//! The scheduler's candidates for recording the award communications (art. 18 c.3): lots already recorded
//! stay awarded for the 32 days of their standstill and must not hide a newer award behind the page size.

use chrono::{TimeZone, Utc};
use sea_orm::{ActiveModelTrait, Set};
use uuid::Uuid;
use workflow::store::Db;
use workflow::store::entities::{lot, tender};

#[tokio::test]
async fn an_unrecorded_award_is_found_behind_many_recorded_ones() {
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    db.migrate().await.unwrap();
    let at = Utc.with_ymd_and_hms(2027, 1, 11, 9, 0, 0).unwrap();
    let t = tender::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(Uuid::now_v7()),
        municipality_id: Set(None),
        request_id: Set(None),
        title: Set("Gara".into()),
        contract_type: Set("services".into()),
        procedure_type: Set("aperta".parse().unwrap()),
        criterion: Set("lowest_price".parse().unwrap()),
        state: Set("closed".parse().unwrap()),
        deadline: Set(Some(at)),
        published_at: Set(Some(at)),
        invitees_json: Set("[]".into()),
        facts_json: Set("{}".into()),
        created_at: Set(at),
        updated_at: Set(at),
        service_nature: Set(None),
        decision_at: Set(None),
    }
    .insert(&db.conn)
    .await
    .unwrap();
    let recorded = r#"{"last_award_communication_at": "2027-01-11T09:00:00Z"}"#;
    let mut ids = Vec::new();
    // five awarded lots already recorded, then one whose mails are not yet reported sent (ids increase)
    for (n, facts) in [recorded; 5].into_iter().chain(["{}"]).enumerate() {
        let l = lot::ActiveModel {
            id: Set(Uuid::now_v7()),
            tender_id: Set(t.id),
            number: Set(n as i32 + 1),
            title: Set(format!("Lotto {}", n + 1)),
            cig: Set(None),
            base_amount_cents: Set(10_000_000),
            state: Set("awarded".parse().unwrap()),
            evaluation_json: Set(None),
            awardee_bid_id: Set(None),
            standstill_end: Set(None),
            facts_json: Set(facts.into()),
            updated_at: Set(at),
            labour_costs_cents: Set(0),
            safety_costs_cents: Set(0),
            options_cents: Set(0),
            renewals_cents: Set(0),
            evaluation_rules_json: Set(None),
            pcp_json: Set("{}".into()),
        }
        .insert(&db.conn)
        .await
        .unwrap();
        ids.push(l.id);
    }
    let found = workflow::transition::lots_awaiting_award_communications(&db.conn, 2)
        .await
        .unwrap();
    assert_eq!(found, vec![ids[5]]);
}
