//! Schema migrations (sea-orm-migration), applied at `sua serve` start-up and by `sua migrate`.
//! One code path for SQLite and PostgreSQL: only portable column types are used.

mod audit_chains;
mod console;
mod costs;
mod documents;
mod files;
mod idempotency;
mod lex_specialis;
mod mail_claim;
mod pcp;
mod pec;
mod receipts;
mod register;
mod sealed;
mod tokens;

pub use files::M20261128BidFiles;

use sea_orm_migration::{prelude::*, schema::*};

/// Every migration of the schema, in order: the one list (`sua migrate`, `sua serve` start-up).
pub struct Migrator;

#[sea_orm_migration::async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        // in the order they were written; a new migration goes at the end
        let mut m: Vec<Box<dyn MigrationTrait>> = vec![
            Box::new(M20261128Initial),
            Box::new(M20261128PublicListIndex),
            Box::new(register::M20261128RegisterTables),
        ];
        // the mail outbox of the `notify` crate
        m.extend(notify::migrations());
        // sealed bid envelopes and signed receipts, sealed bid files, public documents in the store
        m.push(Box::new(sealed::M20261128SealedBids));
        m.push(Box::new(files::M20261128BidFiles));
        m.push(Box::new(documents::M20261128DocumentStoreKey));
        // the municipality's PEC
        m.push(Box::new(pec::M20261128MunicipalityPec));
        // costs outside the ribasso, options and renewals, service nature, decisione di contrarre instant
        m.push(Box::new(costs::M20261206LotCosts));
        // a lot's evaluation rules (lex specialis) and the platform's committed draw seeds
        m.push(Box::new(lex_specialis::M20261206LexSpecialis));
        // the PCP outbox (calls to ANAC's Piattaforma Contratti Pubblici)
        m.push(Box::new(pcp::M20261206PcpCalls));
        // the console: words of published titles, the year's spend, sessions, the dashboard's indexes
        m.push(Box::new(console::M20261206Console));
        // what the buyer states about a lot for ANAC's schede (CCNL, NUTS, SOA category, BIM...)
        m.push(Box::new(pcp::M20261206LotPcp));
        // the audit log: one hash chain per Province (and `platform`); older entries kept as `legacy`
        m.push(Box::new(audit_chains::M20261206AuditChains));
        // API tokens: expiry and last use
        m.push(Box::new(tokens::M20261206TokenExpiry));
        // the first answers of requests retried with an `Idempotency-Key`
        m.push(Box::new(idempotency::M20261206IdempotencyKeys));
        // the mail worker's claim walks an index in order instead of sorting the queue
        m.push(Box::new(mail_claim::M20261206MailClaimOrder));
        // signed receipts numbered per Province
        m.push(Box::new(receipts::M20261206ReceiptsPerProvince));
        m
    }
}

struct M20261128Initial;

impl MigrationName for M20261128Initial {
    fn name(&self) -> &str {
        "m20261128_000001_initial"
    }
}

fn idx(table: &'static str, cols: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("idx_{table}_{}", cols.join("_")))
        .table(table);
    for c in cols {
        i.col(*c);
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261128Initial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let tables = vec![
            table_auto_free("province")
                .col(pk_uuid("id"))
                .col(string_uniq("code"))
                .col(string("name"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("municipality")
                .col(pk_uuid("id"))
                .col(uuid("province_id"))
                .col(string("name"))
                .col(string("codice_fiscale"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("operator")
                .col(pk_uuid("id"))
                .col(string_uniq("codice_fiscale"))
                .col(string_null("partita_iva"))
                .col(string("name"))
                .col(string("pec"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("api_token")
                .col(pk_uuid("id"))
                .col(string_uniq("token_hash"))
                .col(string("role"))
                .col(uuid_null("org_id"))
                .col(string("label"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .to_owned(),
            table_auto_free("procurement_request")
                .col(pk_uuid("id"))
                .col(uuid("province_id"))
                .col(uuid("municipality_id"))
                .col(text("object"))
                .col(string("contract_type"))
                .col(string("cpv"))
                .col(string_null("cup"))
                .col(big_integer("estimated_amount_cents"))
                .col(text("lots_json"))
                .col(string("rup"))
                .col(string("funding_source"))
                .col(string("desired_criterion"))
                .col(text_null("desired_timing"))
                .col(string("status"))
                .col(uuid_null("tender_id"))
                .col(text_null("decision_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
            table_auto_free("request_message")
                .col(pk_uuid("id"))
                .col(uuid("request_id"))
                .col(string("author_role"))
                .col(text("body"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("document")
                .col(pk_uuid("id"))
                .col(string("owner_kind"))
                .col(uuid("owner_id"))
                .col(string("name"))
                .col(string("media_type"))
                .col(string("sha256"))
                .col(big_integer("size_bytes"))
                .col(blob("content"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("tender")
                .col(pk_uuid("id"))
                .col(uuid("province_id"))
                .col(uuid_null("municipality_id"))
                .col(uuid_null("request_id"))
                .col(text("title"))
                .col(string("contract_type"))
                .col(string("procedure_type"))
                .col(string("criterion"))
                .col(string("state"))
                .col(timestamp_with_time_zone_null("deadline"))
                .col(timestamp_with_time_zone_null("published_at"))
                .col(text("invitees_json"))
                .col(text("facts_json"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
            table_auto_free("lot")
                .col(pk_uuid("id"))
                .col(uuid("tender_id"))
                .col(integer("number"))
                .col(text("title"))
                .col(string_null("cig"))
                .col(big_integer("base_amount_cents"))
                .col(string("state"))
                .col(text_null("evaluation_json"))
                .col(uuid_null("awardee_bid_id"))
                .col(timestamp_with_time_zone_null("standstill_end"))
                .col(text("facts_json"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
            table_auto_free("bid")
                .col(pk_uuid("id"))
                .col(uuid("tender_id"))
                .col(uuid("lot_id"))
                .col(uuid("operator_id"))
                .col(string("state"))
                .col(string_null("declared_discount"))
                .col(big_integer_null("declared_price_cents"))
                .col(text("technical_json"))
                .col(text_null("tech_score"))
                .col(timestamp_with_time_zone_null("soccorso_due"))
                .col(text_null("exclusion_reason"))
                .col(timestamp_with_time_zone("submitted_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
            table_auto_free("clarification")
                .col(pk_uuid("id"))
                .col(uuid("tender_id"))
                .col(uuid("operator_id"))
                .col(text("question"))
                .col(text_null("answer"))
                .col(timestamp_with_time_zone_null("answered_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("timer")
                .col(pk_uuid("id"))
                .col(string("object_kind"))
                .col(uuid("object_id"))
                .col(string("event"))
                .col(timestamp_with_time_zone("due_at"))
                .col(timestamp_with_time_zone_null("fired_at"))
                .col(text_null("outcome"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
            table_auto_free("audit_entry")
                .col(big_integer("seq").primary_key())
                .col(timestamp_with_time_zone("at"))
                .col(string("actor"))
                .col(string("action"))
                .col(string("object_kind"))
                .col(string("object_id"))
                .col(text_null("before_json"))
                .col(text_null("after_json"))
                .col(string("prev_hash"))
                .col(string("hash"))
                .to_owned(),
        ];
        for t in tables {
            m.create_table(t).await?;
        }
        for i in [
            idx("municipality", &["province_id"], false),
            idx(
                "procurement_request",
                &["municipality_id", "created_at"],
                false,
            ),
            idx("procurement_request", &["province_id", "created_at"], false),
            idx("request_message", &["request_id", "created_at"], false),
            idx("document", &["owner_kind", "owner_id"], false),
            idx("tender", &["state", "published_at"], false),
            idx("tender", &["province_id", "created_at"], false),
            idx("lot", &["tender_id", "number"], true),
            idx("bid", &["lot_id", "operator_id"], false),
            idx("bid", &["operator_id", "submitted_at"], false),
            idx("clarification", &["tender_id", "created_at"], false),
            idx("timer", &["fired_at", "due_at"], false),
        ] {
            m.create_index(i).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "audit_entry",
            "timer",
            "clarification",
            "bid",
            "lot",
            "tender",
            "document",
            "request_message",
            "procurement_request",
            "api_token",
            "operator",
            "municipality",
            "province",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// The public list of tenders is read newest-publication first: an index on (published_at, id) lets both
/// backends stop after one page instead of sorting every tender.
struct M20261128PublicListIndex;

impl MigrationName for M20261128PublicListIndex {
    fn name(&self) -> &str {
        "m20261128_000002_public_list_index"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261128PublicListIndex {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(idx("tender", &["published_at", "id"], false))
            .await?;
        m.create_index(idx("tender", &["procedure_type", "published_at"], false))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idx_tender_published_at_id",
            "idx_tender_procedure_type_published_at",
        ] {
            m.drop_index(Index::drop().name(name).table("tender").to_owned())
                .await?;
        }
        Ok(())
    }
}

fn table_auto_free(name: &'static str) -> TableCreateStatement {
    Table::create().table(name).if_not_exists().to_owned()
}
