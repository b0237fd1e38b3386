//! The `bid_file` table.

/// Migration: the `bid_file` table.
pub struct M20261128BidFiles;

mod migration {
    use sea_orm_migration::{prelude::*, schema::*};

    impl MigrationName for super::M20261128BidFiles {
        fn name(&self) -> &str {
            "m20261128_000070_bid_files"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for super::M20261128BidFiles {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.create_table(
                Table::create()
                    .table("bid_file")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("bid_id"))
                    .col(integer("version"))
                    .col(string("kind"))
                    .col(string("name"))
                    .col(string("media_type"))
                    .col(string("sha256"))
                    .col(string("sealed_path"))
                    .col(big_integer("plain_len"))
                    .col(big_integer("sealed_len"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name("idx_bid_file_bid_version_kind_name")
                    .table("bid_file")
                    .col("bid_id")
                    .col("version")
                    .col("kind")
                    .col("name")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
        }

        async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.drop_table(Table::drop().table("bid_file").to_owned())
                .await
        }
    }
}
