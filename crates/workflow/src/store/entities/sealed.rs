//! Sealed bid envelopes and signed receipts (docs/sealing.md).

/// The state of a sealed envelope version (`bid_envelope.state`): not a lifecycle state, though two of its
/// names are spelled like participation states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeState {
    /// The version that counts.
    Submitted,
    /// Replaced by a later version of the bid.
    Superseded,
    /// The bid was withdrawn: never opened.
    Withdrawn,
}

impl EnvelopeState {
    pub const ALL: [EnvelopeState; 3] = [
        EnvelopeState::Submitted,
        EnvelopeState::Superseded,
        EnvelopeState::Withdrawn,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EnvelopeState::Submitted => "submitted",
            EnvelopeState::Superseded => "superseded",
            EnvelopeState::Withdrawn => "withdrawn",
        }
    }

    /// The state of a stored name, if it is one.
    pub fn from_name(s: &str) -> Option<EnvelopeState> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

pub mod bid_envelope {
    use sea_orm::entity::prelude::*;
    /// One sealed envelope of one bid version. Holds no plaintext until `opened_at` is set.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bid_envelope")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub bid_id: Uuid,
        pub version: i32,
        /// `administrative`, `technical` or `economic`.
        pub kind: String,
        /// `sealing::WrappedKey::to_text()`: the data key wrapped by a KEK.
        pub wrapped_dek: String,
        pub sealed_manifest: Vec<u8>,
        /// Hex SHA-256 of `sealed_manifest` (the commitment printed on the receipt).
        pub commitment: String,
        /// `submitted` (the version that counts), `superseded` or `withdrawn` (never opened).
        pub state: String,
        pub opened_at: Option<DateTimeUtc>,
        /// The envelope's structured data, written only when it is opened.
        pub opened_json: Option<String>,
        /// Why opening failed (tampered ciphertext, substituted key...), if it did.
        pub open_error: Option<String>,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub mod bid_receipt {
    use sea_orm::entity::prelude::*;
    /// Every signed receipt, numbered by `sequence` within its tender's Province (gap-free: the
    /// Province's writes are serialised by its write lock).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signed_receipt")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub province_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub sequence: i64,
        pub bid_id: Uuid,
        pub version: i32,
        /// `submission`, `replacement` or `withdrawal`.
        pub action: String,
        pub json: String,
        pub created_at: DateTimeUtc,
    }
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
