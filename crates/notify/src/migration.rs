//! Migrations of the outbox, to be appended to the service's migrator (see [`migrations`]).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, integer, string_len, string_len_uniq, string_null, text,
    text_null, uuid, uuid_null,
};

/// Every migration of the `notify` crate, in order. Table names are prefixed `mail_`.
///
/// The service includes them in its own `MigratorTrait::migrations()`:
/// `let mut m = vec![...service migrations...]; m.extend(notify::migrations()); m`.
pub fn migrations() -> Vec<Box<dyn MigrationTrait>> {
    vec![Box::new(CreateMailMessage)]
}

/// A standalone migrator with only the outbox tables (used by this crate's tests and by tools).
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        migrations()
    }
}

#[derive(DeriveIden)]
enum MailMessage {
    Table,
    Id,
    IdempotencyKey,
    TenderId,
    LotId,
    Recipients,
    Template,
    Context,
    Status,
    Attempts,
    CreatedAt,
    UpdatedAt,
    NextAttemptAt,
    LeaseUntil,
    ClaimToken,
    SentAt,
    MessageId,
    Subject,
    LastError,
}

struct CreateMailMessage;

impl MigrationName for CreateMailMessage {
    fn name(&self) -> &str {
        "m20261128_000001_notify_create_mail_message"
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for CreateMailMessage {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MailMessage::Table)
                    .if_not_exists()
                    .col(uuid(MailMessage::Id).primary_key())
                    .col(string_len_uniq(MailMessage::IdempotencyKey, 255))
                    .col(uuid_null(MailMessage::TenderId))
                    .col(uuid_null(MailMessage::LotId))
                    .col(text(MailMessage::Recipients))
                    .col(string_len(MailMessage::Template, 64))
                    .col(text(MailMessage::Context))
                    .col(string_len(MailMessage::Status, 16))
                    .col(integer(MailMessage::Attempts))
                    .col(big_integer(MailMessage::CreatedAt))
                    .col(big_integer(MailMessage::UpdatedAt))
                    .col(big_integer(MailMessage::NextAttemptAt))
                    .col(big_integer_null(MailMessage::LeaseUntil))
                    .col(uuid_null(MailMessage::ClaimToken))
                    .col(big_integer_null(MailMessage::SentAt))
                    .col(string_null(MailMessage::MessageId))
                    .col(text_null(MailMessage::Subject))
                    .col(text_null(MailMessage::LastError))
                    .to_owned(),
            )
            .await?;
        // The worker's claim query: due messages by status and time.
        manager
            .create_index(
                Index::create()
                    .name("mail_message_due_idx")
                    .table(MailMessage::Table)
                    .col(MailMessage::Status)
                    .col(MailMessage::NextAttemptAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        // The buyer's per-tender listing.
        manager
            .create_index(
                Index::create()
                    .name("mail_message_tender_idx")
                    .table(MailMessage::Table)
                    .col(MailMessage::TenderId)
                    .col(MailMessage::CreatedAt)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_message_claim_idx")
                    .table(MailMessage::Table)
                    .col(MailMessage::ClaimToken)
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailMessage::Table).to_owned())
            .await
    }
}
