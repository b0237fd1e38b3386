//! Idempotency keys of retried requests (the `Idempotency-Key` header, docs/operations.md).

pub mod idempotency_key {
    use sea_orm::entity::prelude::*;
    /// The first answer to a request that carried an `Idempotency-Key`: written in the transaction of the
    /// act it answers, so the key exists if and only if the act committed.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_key")]
    pub struct Model {
        /// Keys are scoped by token: two clients may use the same key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// `METHOD path` of the request.
        pub operation: String,
        /// Hex SHA-256 of the request body: the same key with another body is refused (422).
        pub request_sha256: String,
        pub status: i32,
        /// The JSON answer, returned again to a retry.
        pub response_json: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
