//! The PCP outbox (`pcp_call`): the calls owed to ANAC's Piattaforma Contratti Pubblici.

use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261206PcpCalls;

impl MigrationName for M20261206PcpCalls {
    fn name(&self) -> &str {
        "m20261206_000001_pcp_calls"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206PcpCalls {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("pcp_call")
                .if_not_exists()
                .col(pk_uuid("id"))
                .col(string_uniq("idempotency_key"))
                .col(uuid("tender_id"))
                .col(uuid_null("lot_id"))
                .col(big_integer("ord"))
                .col(string("operation"))
                .col(string("purpose"))
                .col(string_null("scheda"))
                .col(text_null("body"))
                .col(text_null("eform"))
                .col(string("status"))
                .col(integer("attempts"))
                .col(big_integer("next_attempt_at"))
                .col(big_integer_null("lease_until"))
                .col(uuid_null("claim_token"))
                .col(string_null("remote_id"))
                .col(text_null("response"))
                .col(string_null("error_code"))
                .col(text_null("error_message"))
                .col(big_integer("created_at"))
                .col(big_integer("updated_at"))
                .col(big_integer_null("sent_at"))
                .col(big_integer_null("confirmed_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_pcp_call_tender_id_ord")
                .table("pcp_call")
                .col("tender_id")
                .col("ord")
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_pcp_call_status_next_attempt_at")
                .table("pcp_call")
                .col("status")
                .col("next_attempt_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("pcp_call").to_owned())
            .await
    }
}

/// `lot.pcp_json`: what the buyer states about a lot for ANAC's schede and nothing else of ours uses (CCNL,
/// NUTS, SOA category, duration, funding, BIM: `workflow::pcp_facts::LotPcp`), `{}` until stated.
pub struct M20261206LotPcp;

impl MigrationName for M20261206LotPcp {
    fn name(&self) -> &str {
        "m20261206_000002_lot_pcp"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206LotPcp {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("lot")
                .add_column(ColumnDef::new("pcp_json").text().not_null().default("{}"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("lot")
                .drop_column("pcp_json")
                .to_owned(),
        )
        .await
    }
}
