//! The municipality's PEC address (where its mails go).

use sea_orm_migration::prelude::*;

/// Adds the nullable `pec` column to `municipality`.
pub struct M20261128MunicipalityPec;

impl MigrationName for M20261128MunicipalityPec {
    fn name(&self) -> &str {
        "m20261128_000010_municipality_pec"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261128MunicipalityPec {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("municipality")
                .add_column(ColumnDef::new("pec").string().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("municipality")
                .drop_column("pec")
                .to_owned(),
        )
        .await
    }
}
