//! The lex specialis of a lot's evaluation and the platform's committed draws (issue 17 items 1-2):
//! `lot.evaluation_rules_json`, the rules fixed before publication (art. 54 c.2, art. 108 c.12), and the
//! `draw_seed` table, the seeds of the draws the platform makes, committed (SHA-256) before the facts they
//! decide are known and revealed after.

use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261206LexSpecialis;

impl MigrationName for M20261206LexSpecialis {
    fn name(&self) -> &str {
        "m20261206_000001_lex_specialis"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206LexSpecialis {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("lot")
                .add_column(ColumnDef::new("evaluation_rules_json").text().null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("draw_seed")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(uuid("tender_id"))
                .col(uuid_null("lot_id"))
                .col(string("purpose"))
                .col(string("seed_hex"))
                .col(string("sha256"))
                .col(timestamp_with_time_zone("committed_at"))
                .col(timestamp_with_time_zone_null("revealed_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_draw_seed_tender_id")
                .table("draw_seed")
                .col("tender_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("draw_seed").to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table("lot")
                .drop_column("evaluation_rules_json")
                .to_owned(),
        )
        .await
    }
}
