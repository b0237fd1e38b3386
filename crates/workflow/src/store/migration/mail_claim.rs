//! Indexes of the mail worker's claim (issue 20): each of its two steps walks one index in order and
//! stops at the batch size, instead of sorting every queued message.

use sea_orm_migration::prelude::*;

pub struct M20261206MailClaimOrder;

impl MigrationName for M20261206MailClaimOrder {
    fn name(&self) -> &str {
        "m20261206_000022_mail_claim_order"
    }
}

/// (name, columns): the due queued messages by time then id; the expired leases by time then id.
const INDEXES: [(&str, [&str; 3]); 2] = [
    (
        "mail_message_due_order_idx",
        ["status", "next_attempt_at", "id"],
    ),
    ("mail_message_lease_idx", ["status", "lease_until", "id"]),
];

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for M20261206MailClaimOrder {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols) in INDEXES {
            let mut i = Index::create();
            i.name(name).table("mail_message").if_not_exists();
            for c in cols {
                i.col(c);
            }
            m.create_index(i.to_owned()).await?;
        }
        // the (status, next_attempt_at) index of the first migration is a prefix of the new one
        m.drop_index(
            Index::drop()
                .name("mail_message_due_idx")
                .table("mail_message")
                .if_exists()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name("mail_message_due_idx")
                .table("mail_message")
                .col("status")
                .col("next_attempt_at")
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        for (name, _) in INDEXES {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table("mail_message")
                    .if_exists()
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
