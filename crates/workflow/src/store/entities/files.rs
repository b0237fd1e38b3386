//! Sealed bid files (docs/sealing.md §7). Public documents are `document` in the core entities.

pub mod bid_file {
    use sea_orm::entity::prelude::*;
    /// One sealed file of one envelope of one bid version. `sealed_path` is relative to the store dir.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bid_file")]
    pub struct Model {
        /// Also the sealing item id: the file is bound to it, its envelope and version.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub bid_id: Uuid,
        pub version: i32,
        pub kind: String,
        pub name: String,
        pub media_type: String,
        /// Hex SHA-256 of the plaintext, computed while streaming.
        pub sha256: String,
        pub sealed_path: String,
        pub plain_len: i64,
        pub sealed_len: i64,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
