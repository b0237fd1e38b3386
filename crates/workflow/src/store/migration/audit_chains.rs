//! The audit log becomes one hash chain per Province (plus `platform`), keyed by (chain, seq).
//!
//! The entries written before this migration were hashed without a chain key, and re-chaining them would
//! change every hash an outside party may have recorded. They are kept unchanged as the closed `legacy`
//! chain (verified with the formula they were written with); every new entry goes to its Province's chain or
//! to `platform`, each starting at seq 1 from the genesis hash. See `workflow::audit`.

use sea_orm_migration::{prelude::*, schema::*};

pub struct M20261206AuditChains;

impl MigrationName for M20261206AuditChains {
    fn name(&self) -> &str {
        "m20261206_000020_audit_chains"
    }
}

const COLUMNS: &str =
    "seq, at, actor, action, object_kind, object_id, before_json, after_json, prev_hash, hash";

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206AuditChains {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot change a primary key in place: a new table, the rows copied, the old one dropped
        // and the new one renamed.
        let create = Table::create()
            .table("audit_entry_chained")
            .col(string("chain"))
            .col(big_integer("seq"))
            .col(timestamp_with_time_zone("at"))
            .col(string("actor"))
            .col(string("action"))
            .col(string("object_kind"))
            .col(string("object_id"))
            .col(text_null("before_json"))
            .col(text_null("after_json"))
            .col(string("prev_hash"))
            .col(string("hash"))
            .primary_key(Index::create().col("chain").col("seq"))
            .to_owned();
        // readers look an object's history up (the console's timeline, the exports, the award entry)
        let index = Index::create()
            .name("idx_audit_entry_object")
            .table("audit_entry")
            .col("object_kind")
            .col("object_id")
            .to_owned();
        let backend = m.get_database_backend();
        let steps = [
            backend.build(&create).to_string(),
            format!(
                "INSERT INTO audit_entry_chained (chain, {COLUMNS}) \
                 SELECT 'legacy', {COLUMNS} FROM audit_entry"
            ),
            "DROP TABLE audit_entry".to_owned(),
            "ALTER TABLE audit_entry_chained RENAME TO audit_entry".to_owned(),
            backend.build(&index).to_string(),
        ];
        let conn = m.get_connection();
        if backend == sea_orm::DatabaseBackend::Sqlite {
            // one batch on one connection, in one transaction (the migrator runs SQLite migrations
            // outside a transaction, and statement by statement on pooled connections a later one may
            // still see the dropped table)
            conn.execute_unprepared(&format!("BEGIN IMMEDIATE; {}; COMMIT;", steps.join("; ")))
                .await?;
        } else {
            // PostgreSQL: the migrator runs each migration in a transaction
            for step in steps {
                conn.execute_unprepared(&step).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the per-Province audit chains cannot be merged back into one chain".into(),
        ))
    }
}
