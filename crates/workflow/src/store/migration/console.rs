//! The console's read models and sessions: the words of published titles (public search), the year's
//! spend per Province (buyer's dashboard), the sessions shared by the replicas; and the indexes that make
//! the dashboard's other reads cheap. Existing published tenders are indexed here.

use sea_orm::{ConnectionTrait, sea_query::Alias};
use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261206Console;

impl MigrationName for M20261206Console {
    fn name(&self) -> &str {
        "m20261206_000101_console_read_models"
    }
}

fn index(table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(format!("idx_{table}_{}", cols.join("_")))
        .table(table);
    for c in cols {
        i.col(*c);
    }
    i.to_owned()
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206Console {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut word = Table::create()
            .table("tender_word")
            .if_not_exists()
            .col(string("word"))
            .col(uuid("tender_id"))
            .primary_key(Index::create().col("word").col("tender_id"))
            .to_owned();
        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // prefix search is a range of the words in byte order (SQLite's default collation)
            word = Table::create()
                .table("tender_word")
                .if_not_exists()
                .col(
                    ColumnDef::new("word")
                        .string()
                        .not_null()
                        .extra("COLLATE \"C\""),
                )
                .col(uuid("tender_id"))
                .primary_key(Index::create().col("word").col("tender_id"))
                .to_owned();
        }
        m.create_table(word).await?;
        m.create_index(index("tender_word", &["tender_id", "word"]))
            .await?;
        m.create_table(
            Table::create()
                .table("tender_spend")
                .if_not_exists()
                .col(string("key").primary_key())
                .col(uuid("province_id"))
                .col(integer("year"))
                .col(uuid_null("municipality_id"))
                .col(string("procedure_type"))
                .col(big_integer("tenders"))
                .col(big_integer("base_amount_cents"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("tender_spend", &["province_id", "year"]))
            .await?;
        m.create_table(
            Table::create()
                .table("console_session")
                .if_not_exists()
                .col(string("id_hash").primary_key())
                .col(uuid("token_id"))
                .col(text("token_sealed"))
                .col(string("csrf"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("console_session", &["expires_at"]))
            .await?;
        m.create_index(index("console_session", &["token_id"]))
            .await?;
        // the dashboard: counts by state and the coming deadlines of a Province, its request inbox
        m.create_index(index("tender", &["province_id", "state"]))
            .await?;
        m.create_index(index("tender", &["province_id", "deadline"]))
            .await?;
        m.create_index(index("procurement_request", &["province_id", "status"]))
            .await?;
        backfill(m).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_tender_province_id_state", "tender"),
            ("idx_tender_province_id_deadline", "tender"),
            (
                "idx_procurement_request_province_id_status",
                "procurement_request",
            ),
        ] {
            m.drop_index(Index::drop().name(name).table(table).to_owned())
                .await?;
        }
        for t in ["console_session", "tender_spend", "tender_word"] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}

/// Record the tenders published before this migration as publication records them now.
async fn backfill(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = m.get_connection();
    let backend = db.get_database_backend();
    let q = sea_orm::sea_query::Query::select()
        .columns(
            [
                "id",
                "province_id",
                "municipality_id",
                "procedure_type",
                "title",
                "published_at",
            ]
            .map(Alias::new),
        )
        .expr_as(
            Expr::cust(
                "CAST((SELECT COALESCE(SUM(lot.base_amount_cents), 0) FROM lot \
                 WHERE lot.tender_id = tender.id) AS BIGINT)",
            ),
            Alias::new("cents"),
        )
        .from(Alias::new("tender"))
        .and_where(Expr::col(Alias::new("published_at")).is_not_null())
        .to_owned();
    for r in db.query_all_raw(backend.build(&q)).await? {
        let facts = crate::published::Published {
            tender_id: r.try_get("", "id")?,
            province_id: r.try_get("", "province_id")?,
            municipality_id: r.try_get("", "municipality_id")?,
            procedure_type: r.try_get("", "procedure_type")?,
            title: r.try_get("", "title")?,
            published_at: r.try_get("", "published_at")?,
            base_amount_cents: r.try_get("", "cents")?,
        };
        crate::published::record_facts(db, &facts).await?;
    }
    Ok(())
}
