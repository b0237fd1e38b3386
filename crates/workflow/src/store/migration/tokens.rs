//! API tokens that expire and record their last use (issue 20).

use sea_orm_migration::prelude::*;

/// Adds the nullable `expires_at` and `last_used_at` columns to `api_token` (existing tokens: no expiry).
pub struct M20261206TokenExpiry;

impl MigrationName for M20261206TokenExpiry {
    fn name(&self) -> &str {
        "m20261206_000020_token_expiry"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206TokenExpiry {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // one column per statement: SQLite's ALTER TABLE adds one at a time
        for col in ["expires_at", "last_used_at"] {
            m.alter_table(
                Table::alter()
                    .table("api_token")
                    .add_column(ColumnDef::new(col).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in ["last_used_at", "expires_at"] {
            m.alter_table(
                Table::alter()
                    .table("api_token")
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
