//! Receipt numbers per Province: the signed receipts move from `bid_receipt` (keyed by a platform-wide
//! sequence) to `signed_receipt`, keyed by (province, sequence), so that drawing a receipt number needs only the Province's own write lock
//! (one Province's rush no longer waits on the others' commits).
//!
//! Existing receipts keep the number they were signed with (it is inside their signed JSON); they were
//! unique platform-wide, so they stay unique within their Province, and a Province's next receipt takes
//! its highest number + 1.

use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261206ReceiptsPerProvince;

impl MigrationName for M20261206ReceiptsPerProvince {
    fn name(&self) -> &str {
        "m20261206_000023_receipts_per_province"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206ReceiptsPerProvince {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("signed_receipt")
                .col(uuid("province_id"))
                .col(big_integer("sequence"))
                .col(uuid("bid_id"))
                .col(integer("version"))
                .col(string("action"))
                .col(text("json"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("province_id").col("sequence"))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO signed_receipt (province_id, sequence, bid_id, version, action, json, created_at) \
                 SELECT t.province_id, r.sequence, r.bid_id, r.version, r.action, r.json, r.created_at \
                 FROM bid_receipt r JOIN bid b ON b.id = r.bid_id JOIN tender t ON t.id = b.tender_id",
            )
            .await?;
        m.drop_table(Table::drop().table("bid_receipt").to_owned())
            .await?;
        m.create_index(
            Index::create()
                .name("idx_signed_receipt_bid_id")
                .table("signed_receipt")
                .col("bid_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "receipts per Province: not reversible (numbers would collide platform-wide)".into(),
        ))
    }
}
