//! The register's tables. Same conventions as the core entities: money in integer cents, JSON as TEXT,
//! ids UUID v7, times UTC; dates (listing expiry, award dates) are calendar dates.

/// One listing of an operator in one category of a Province's register (elenco).
pub mod register_listing {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "register_listing")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// The Province (SUA) keeping the register.
        pub province_id: Uuid,
        pub operator_id: Uuid,
        /// `OG1`, `OS12-A` (works, SOA) or a two-digit CPV division (`90`).
        pub category: String,
        /// SOA classification level (`I` … `VIII`), works only; `None`: listed without SOA attestation.
        pub soa_class: Option<String>,
        /// JSON array of territories (`"national"` or `{"nuts": "ITC1"}`).
        pub territories_json: String,
        /// `applied`, `admitted`, `suspended`, `removed`.
        pub status: String,
        /// The date of the last status change (admission, suspension, removal).
        pub status_on: Option<Date>,
        /// Why the listing was suspended or removed.
        pub reason: Option<String>,
        /// The last day the listing is valid.
        pub expires_on: Date,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

/// Awards the rotation rule and the counters must know that the service did not run itself: awards made before
/// the platform (imported by the SUA) and the direct awards recorded through `POST /v1/direct-awards/check`.
pub mod register_award_history {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "register_award_history")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub province_id: Uuid,
        /// `None`: the Province's own contract.
        pub municipality_id: Option<Uuid>,
        pub operator_id: Uuid,
        pub category: String,
        pub amount_cents: i64,
        pub awarded_on: Date,
        /// `import` or `direct_award`.
        pub source: String,
        /// Free reference (decision number, CIG) or the direct award's decision id.
        pub reference: Option<String>,
        /// Direct awards: the recorded reasons for the choice of the contractor.
        pub reasons: Option<String>,
        /// Direct awards: the rotation outcome (exemption, overrides with reasons) as JSON.
        pub rotation_json: Option<String>,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

/// The minutes of a selection of invitees (draw or market survey) for one tender.
pub mod register_draw {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "register_draw")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub tender_id: Uuid,
        pub province_id: Uuid,
        pub municipality_id: Option<Uuid>,
        pub category: String,
        pub amount_cents: i64,
        /// The date the selection was made at (thresholds, listing validity, rotation history).
        pub selection_date: Date,
        /// `draw` or `market_survey`.
        pub mode: String,
        /// Hex of the 32 seed bytes (draws only).
        pub seed_hex: Option<String>,
        pub algorithm: Option<String>,
        /// Invitees requested (draws) or `0` (market survey).
        pub requested: i32,
        /// Draw: the eligible operators before rotation; survey: the respondents (sorted JSON array).
        pub candidates_json: String,
        /// The list the draw was made from (after rotation), canonical order; survey: the invited.
        pub eligible_json: String,
        /// The invited operators, in draw order.
        pub invited_json: String,
        /// Rotation outcome: exclusions with reasons, overrides with reasons, exemption.
        pub rotation_json: String,
        /// The art. 50 band decision.
        pub band_json: String,
        /// The `SelectionConfig` applied (so the minutes say which configurable rules were used).
        pub config_json: String,
        pub motivation: Option<String>,
        pub capped: Option<bool>,
        pub actor: String,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}
