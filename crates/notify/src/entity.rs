//! The sea-orm entity of the outbox table `mail_message`.
//!
//! Times are stored as integer milliseconds since the Unix epoch (UTC) so that the same comparisons
//! (`next_attempt_at <= now`) are exact and identical on SQLite and PostgreSQL; the public API converts
//! them to `chrono::DateTime<Utc>`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_message")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique: a repeated lifecycle event does not enqueue the same message twice.
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub tender_id: Option<Uuid>,
    pub lot_id: Option<Uuid>,
    /// JSON array of RFC 5322 mailboxes (`"Name <addr@pec.it>"`).
    #[sea_orm(column_type = "Text")]
    pub recipients: String,
    pub template: String,
    /// JSON object: the template context.
    #[sea_orm(column_type = "Text")]
    pub context: String,
    /// `queued`, `sending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub created_at: i64,
    pub updated_at: i64,
    pub next_attempt_at: i64,
    /// While `sending`: the claim is valid until this instant; afterwards another worker may take the message.
    pub lease_until: Option<i64>,
    /// Opaque token of the claim that owns the message while `sending`.
    pub claim_token: Option<Uuid>,
    pub sent_at: Option<i64>,
    /// The `Message-ID` header, derived from `id`; set at the first attempt.
    pub message_id: Option<String>,
    /// Rendered subject, set at the first attempt (for listings).
    #[sea_orm(column_type = "Text", nullable)]
    pub subject: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
