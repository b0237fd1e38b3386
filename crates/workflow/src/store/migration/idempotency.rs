//! The `Idempotency-Key` table: the first answer of each (token, key).

use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261206IdempotencyKeys;

impl MigrationName for M20261206IdempotencyKeys {
    fn name(&self) -> &str {
        "m20261206_000021_idempotency_keys"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206IdempotencyKeys {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("idempotency_key")
                .if_not_exists()
                .col(uuid("token_id"))
                .col(string("key"))
                .col(string("operation"))
                .col(string("request_sha256"))
                .col(integer("status"))
                .col(text("response_json"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("token_id").col("key"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("idempotency_key").to_owned())
            .await
    }
}
