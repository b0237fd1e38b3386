//! The sealed-envelope and receipt tables.

/// Migration: the sealed-envelope and receipt tables.
pub struct M20261128SealedBids;

mod migration {
    use sea_orm_migration::{prelude::*, schema::*};

    impl MigrationName for super::M20261128SealedBids {
        fn name(&self) -> &str {
            "m20261128_000060_sealed_bids"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for super::M20261128SealedBids {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.create_table(
                Table::create()
                    .table("bid_envelope")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("bid_id"))
                    .col(integer("version"))
                    .col(string("kind"))
                    .col(text("wrapped_dek"))
                    .col(blob("sealed_manifest"))
                    .col(string("commitment"))
                    .col(string("state"))
                    .col(timestamp_with_time_zone_null("opened_at"))
                    .col(text_null("opened_json"))
                    .col(text_null("open_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name("idx_bid_envelope_bid_version_kind")
                    .table("bid_envelope")
                    .col("bid_id")
                    .col("version")
                    .col("kind")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
            m.create_table(
                Table::create()
                    .table("bid_receipt")
                    .if_not_exists()
                    .col(big_integer("sequence").primary_key())
                    .col(uuid("bid_id"))
                    .col(integer("version"))
                    .col(string("action"))
                    .col(text("json"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name("idx_bid_receipt_bid_id")
                    .table("bid_receipt")
                    .col("bid_id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
        }

        async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
            for t in ["bid_receipt", "bid_envelope"] {
                m.drop_table(Table::drop().table(t).to_owned()).await?;
            }
            Ok(())
        }
    }
}
