//! What the console reads instead of recomputing it: the words of published tenders' titles (the public
//! search), the year's spend per Province (the buyer's dashboard), and the console's sessions.

pub mod tender_word {
    use sea_orm::entity::prelude::*;
    /// One word of a published tender's title, normalised (`workflow::published::words`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tender_word")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub word: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tender_id: Uuid,
    }
    entity_boilerplate!();
}

pub mod tender_spend {
    use sea_orm::entity::prelude::*;
    /// The tenders a Province published in a year (UTC) for one municipality (or none) and one procedure
    /// type: how many, and the sum of their lots' base amounts. Written at publication, in its transaction
    /// (`workflow::published::record`); lots and amounts no longer change after it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tender_spend")]
    pub struct Model {
        /// `province/year/municipality-or-"-"/procedure_type`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub province_id: Uuid,
        pub year: i32,
        pub municipality_id: Option<Uuid>,
        pub procedure_type: String,
        pub tenders: i64,
        pub base_amount_cents: i64,
    }
    entity_boilerplate!();
}

pub mod console_session {
    use sea_orm::entity::prelude::*;
    /// A logged-in console session, shared by every replica on the database. The cookie holds the
    /// session id; the row is found by its SHA-256 and holds the bearer token sealed with a key derived
    /// from the id (a reader of the table has neither).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_session")]
    pub struct Model {
        /// Hex SHA-256 of the session id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id_hash: String,
        /// The API token's row (to find a token's sessions).
        pub token_id: Uuid,
        /// Nonce and ciphertext of the bearer token (base64).
        pub token_sealed: String,
        pub csrf: String,
        pub created_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
    }
    entity_boilerplate!();
}
