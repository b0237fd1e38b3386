//! The register's tables (listings, award history, draws).

use super::idx;
use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261128RegisterTables;

impl MigrationName for M20261128RegisterTables {
    fn name(&self) -> &str {
        "m20261128_000009_register_tables"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261128RegisterTables {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            Table::create()
                .table("register_listing")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(uuid("province_id"))
                .col(uuid("operator_id"))
                .col(string("category"))
                .col(string_null("soa_class"))
                .col(text("territories_json"))
                .col(string("status"))
                .col(date_null("status_on"))
                .col(text_null("reason"))
                .col(date("expires_on"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
            Table::create()
                .table("register_award_history")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(uuid("province_id"))
                .col(uuid_null("municipality_id"))
                .col(uuid("operator_id"))
                .col(string("category"))
                .col(big_integer("amount_cents"))
                .col(date("awarded_on"))
                .col(string("source"))
                .col(text_null("reference"))
                .col(text_null("reasons"))
                .col(text_null("rotation_json"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            Table::create()
                .table("register_draw")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(uuid_uniq("tender_id"))
                .col(uuid("province_id"))
                .col(uuid_null("municipality_id"))
                .col(string("category"))
                .col(big_integer("amount_cents"))
                .col(date("selection_date"))
                .col(string("mode"))
                .col(string_null("seed_hex"))
                .col(text_null("algorithm"))
                .col(integer("requested"))
                .col(text("candidates_json"))
                .col(text("eligible_json"))
                .col(text("invited_json"))
                .col(text("rotation_json"))
                .col(text("band_json"))
                .col(text("config_json"))
                .col(text_null("motivation"))
                .col(boolean_null("capped"))
                .col(string("actor"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        ];
        for t in tables {
            m.create_table(t).await?;
        }
        for i in [
            idx(
                "register_listing",
                &["province_id", "category", "status"],
                false,
            ),
            idx("register_listing", &["operator_id"], false),
            idx(
                "register_award_history",
                &["province_id", "category", "awarded_on"],
                false,
            ),
            idx("register_award_history", &["operator_id"], false),
            idx("register_draw", &["province_id", "category"], false),
        ] {
            m.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "register_draw",
            "register_award_history",
            "register_listing",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
