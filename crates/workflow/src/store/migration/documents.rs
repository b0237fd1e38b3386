//! `document.storage_key`: the rows' bytes moved to the document store.

/// Migration: `document.storage_key` (the rows' bytes move to the document store).
pub struct M20261128DocumentStoreKey;

mod migration {
    use sea_orm_migration::{prelude::*, schema::*};

    impl MigrationName for super::M20261128DocumentStoreKey {
        fn name(&self) -> &str {
            "m20261128_000090_document_storage_key"
        }
    }

    #[sea_orm_migration::async_trait::async_trait]
    impl MigrationTrait for super::M20261128DocumentStoreKey {
        async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
            if m.has_column("document", "storage_key").await? {
                return Ok(());
            }
            m.alter_table(
                Table::alter()
                    .table("document")
                    .add_column(string_null("storage_key"))
                    .to_owned(),
            )
            .await
        }

        async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
            m.alter_table(
                Table::alter()
                    .table("document")
                    .drop_column("storage_key")
                    .to_owned(),
            )
            .await
        }
    }
}
