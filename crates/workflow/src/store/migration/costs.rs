//! Costs outside the ribasso and the value of the contract (art. 41 c.14, art. 108 c.9, art. 14 c.4, c.7),
//! and what the decisione di contrarre declares about the contract (art. 108 c.2).
//!
//! - `lot`: `labour_costs_cents`, `safety_costs_cents` (part of `base_amount_cents`, not subject to the
//!   ribasso), `options_cents`, `renewals_cents` (outside the base, counted in the threshold value);
//! - `bid`: `declared_labour_costs_cents` (the operator's own labour costs, sealed in busta C until opened);
//! - `tender`: `service_nature` (art. 108 c.2 cases), `decision_at` (the decisione di contrarre: the start
//!   of a procedure without a call, art. 14 c.7).

use sea_orm_migration::prelude::*;

/// Adds the columns above; one ALTER per column (SQLite adds one at a time).
pub struct M20261206LotCosts;

impl MigrationName for M20261206LotCosts {
    fn name(&self) -> &str {
        "m20261206_000001_lot_costs"
    }
}

const LOT_CENTS: [&str; 4] = [
    "labour_costs_cents",
    "safety_costs_cents",
    "options_cents",
    "renewals_cents",
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206LotCosts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in LOT_CENTS {
            m.alter_table(
                Table::alter()
                    .table("lot")
                    .add_column(ColumnDef::new(c).big_integer().not_null().default(0i64))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table("bid")
                .add_column(
                    ColumnDef::new("declared_labour_costs_cents")
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("tender")
                .add_column(ColumnDef::new("service_nature").string().null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("tender")
                .add_column(
                    ColumnDef::new("decision_at")
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for c in LOT_CENTS {
            m.alter_table(Table::alter().table("lot").drop_column(c).to_owned())
                .await?;
        }
        m.alter_table(
            Table::alter()
                .table("bid")
                .drop_column("declared_labour_costs_cents")
                .to_owned(),
        )
        .await?;
        for c in ["service_nature", "decision_at"] {
            m.alter_table(Table::alter().table("tender").drop_column(c).to_owned())
                .await?;
        }
        Ok(())
    }
}
