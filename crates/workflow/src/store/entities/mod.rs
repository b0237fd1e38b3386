//! sea-orm entities. Conventions (one code path for SQLite and PostgreSQL):
//! money is `i64` euro-cents (`*_cents`), percentages and scores are exact decimal TEXT (never sea-orm's
//! `Decimal`, which goes through f64 on SQLite), JSON documents are TEXT, ids are UUID v7, times are UTC.

macro_rules! entity_boilerplate {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

mod console;
mod files;
mod idempotency;
mod pcp;
mod register;
mod sealed;

pub use console::{console_session, tender_spend, tender_word};
pub use files::bid_file;
pub use idempotency::idempotency_key;
pub use pcp::pcp_call;
pub use register::{register_award_history, register_draw, register_listing};
pub use sealed::{EnvelopeState, bid_envelope, bid_receipt};

pub use super::stored::Stored;

pub mod province {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "province")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub code: String,
        pub name: String,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod municipality {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "municipality")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub province_id: Uuid,
        pub name: String,
        pub codice_fiscale: String,
        pub created_at: DateTimeUtc,
        /// The Comune's PEC, for request and contract mails (absent: those mails are skipped with a warning).
        pub pec: Option<String>,
    }
    entity_boilerplate!();
}

pub mod operator {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "operator")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub codice_fiscale: String,
        pub partita_iva: Option<String>,
        pub name: String,
        pub pec: String,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod api_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_token")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Hex SHA-256 of the token; the token itself is never stored.
        #[sea_orm(unique)]
        pub token_hash: String,
        pub role: String,
        pub org_id: Option<Uuid>,
        pub label: String,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
        /// Refused from this instant on (`None`: no expiry).
        pub expires_at: Option<DateTimeUtc>,
        /// Last authenticated request, recorded at most once a minute.
        pub last_used_at: Option<DateTimeUtc>,
    }
    entity_boilerplate!();
}

pub mod procurement_request {
    use super::Stored;
    use lifecycle::request::RequestState;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "procurement_request")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub province_id: Uuid,
        pub municipality_id: Uuid,
        pub object: String,
        pub contract_type: String,
        pub cpv: String,
        /// The CUP, validated when written and read back typed.
        pub cup: Option<Stored<domain::ids::Cup>>,
        pub estimated_amount_cents: i64,
        pub lots_json: String,
        pub rup: String,
        pub funding_source: String,
        pub desired_criterion: String,
        pub desired_timing: Option<String>,
        pub status: Stored<RequestState>,
        pub tender_id: Option<Uuid>,
        pub decision_reason: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod request_message {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "request_message")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub request_id: Uuid,
        /// `sua_buyer` (a question) or `municipality` (an answer).
        pub author_role: String,
        pub body: String,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod document {
    use sea_orm::entity::prelude::*;
    /// A tender document or a request attachment. `storage_key` is the object's key in the document
    /// store (`docstore::public`); `content` holds the bytes only for rows written before the store (then
    /// `storage_key` is NULL), and is empty otherwise.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "document")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `request` or `tender`.
        pub owner_kind: String,
        pub owner_id: Uuid,
        pub name: String,
        pub media_type: String,
        /// Hex SHA-256 of the content, computed while streaming.
        pub sha256: String,
        pub size_bytes: i64,
        pub content: Vec<u8>,
        pub storage_key: Option<String>,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod tender {
    use super::Stored;
    use lifecycle::{AwardCriterion, ProcedureType, procedure::ServiceNature, tender::TenderState};
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tender")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub province_id: Uuid,
        pub municipality_id: Option<Uuid>,
        pub request_id: Option<Uuid>,
        pub title: String,
        pub contract_type: String,
        pub procedure_type: Stored<ProcedureType>,
        pub criterion: Stored<AwardCriterion>,
        pub state: Stored<TenderState>,
        pub deadline: Option<DateTimeUtc>,
        pub published_at: Option<DateTimeUtc>,
        /// JSON array of operator ids invited (negotiated procedures).
        pub invitees_json: String,
        /// Declarations of the buyer used as lifecycle facts (JSON, see `machines::Declarations`).
        pub facts_json: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// What the contract is, for the art. 108 c.2 cases (`None`: ordinary).
        pub service_nature: Option<Stored<ServiceNature>>,
        /// When the decisione di contrarre was adopted (the start of a procedure without a call, art. 14 c.7).
        pub decision_at: Option<DateTimeUtc>,
    }
    entity_boilerplate!();
}

pub mod lot {
    use super::Stored;
    use domain::ids::Cig;
    use lifecycle::lot::LotState;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lot")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tender_id: Uuid,
        pub number: i32,
        pub title: String,
        /// The CIG acquired from ANAC, validated when written and read back typed.
        pub cig: Option<Stored<Cig>>,
        pub base_amount_cents: i64,
        pub state: Stored<LotState>,
        /// The explained evaluation result (JSON from the `evaluation` crate).
        pub evaluation_json: Option<String>,
        pub awardee_bid_id: Option<Uuid>,
        pub standstill_end: Option<DateTimeUtc>,
        /// Declarations of the buyer used as lifecycle facts (JSON).
        pub facts_json: String,
        pub updated_at: DateTimeUtc,
        /// Labour costs estimated by the SA: part of the base, not subject to the ribasso (art. 41 c.14).
        pub labour_costs_cents: i64,
        /// Safety costs: part of the base, not subject to the ribasso (art. 41 c.14).
        pub safety_costs_cents: i64,
        /// Options and extensions, outside the base, counted in the contract value (art. 14 c.4).
        pub options_cents: i64,
        /// Renewals, outside the base, counted in the contract value (art. 14 c.4).
        pub renewals_cents: i64,
        /// The lot's evaluation rules (lex specialis, art. 54 c.2, art. 108 c.12): the `evaluation` crate's
        /// input without criterion, base amount, bids and seeds, checked by its parser when written.
        pub evaluation_rules_json: Option<String>,
        /// What the buyer states for ANAC's schede (`pcp_facts::LotPcp`, JSON, `{}` until stated).
        #[sea_orm(column_type = "Text")]
        pub pcp_json: String,
    }
    entity_boilerplate!();
}

/// A seed of a draw the platform makes (tie-break and method draw of a lot: `evaluation`; invitees of a
/// negotiated procedure: `invitees`): generated from the OS random generator, its SHA-256 committed before
/// the facts it decides are known, the seed revealed after. `seed_hex` is read only through
/// `workflow::draws`, which shows it once `revealed_at` is set.
pub mod draw_seed {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "draw_seed")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tender_id: Uuid,
        pub lot_id: Option<Uuid>,
        /// `evaluation` or `invitees`.
        pub purpose: String,
        /// Hex of the 32 seed bytes: secret until revealed.
        pub seed_hex: String,
        /// Hex SHA-256 of the 32 seed bytes: the commitment.
        pub sha256: String,
        pub committed_at: DateTimeUtc,
        pub revealed_at: Option<DateTimeUtc>,
    }
    entity_boilerplate!();
}

pub mod bid {
    use super::Stored;
    use lifecycle::participation::ParticipationState;
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "bid")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tender_id: Uuid,
        pub lot_id: Uuid,
        pub operator_id: Uuid,
        /// Participation state (lifecycle machine).
        pub state: Stored<ParticipationState>,
        /// Ribasso, exact decimal text (e.g. `12.345`).
        pub declared_discount: Option<String>,
        pub declared_price_cents: Option<i64>,
        /// The operator's own labour costs (art. 108 c.9), from busta C once opened.
        pub declared_labour_costs_cents: Option<i64>,
        pub technical_json: String,
        /// The commission's technical evaluation of this bid (JSON, merged into the evaluation input).
        pub tech_score: Option<String>,
        pub soccorso_due: Option<DateTimeUtc>,
        pub exclusion_reason: Option<String>,
        pub submitted_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod clarification {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "clarification")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tender_id: Uuid,
        pub operator_id: Uuid,
        pub question: String,
        pub answer: Option<String>,
        pub answered_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod timer {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "timer")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// `tender`, `lot` or `bid`.
        pub object_kind: String,
        pub object_id: Uuid,
        /// The lifecycle event fired when due.
        pub event: String,
        pub due_at: DateTimeUtc,
        pub fired_at: Option<DateTimeUtc>,
        pub outcome: Option<String>,
        pub created_at: DateTimeUtc,
    }
    entity_boilerplate!();
}

pub mod audit_entry {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_entry")]
    pub struct Model {
        /// The chain: a Province's id, `platform`, or `legacy` (entries written before the chains).
        #[sea_orm(primary_key, auto_increment = false)]
        pub chain: String,
        /// Position in its chain, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub at: DateTimeUtc,
        pub actor: String,
        pub action: String,
        pub object_kind: String,
        pub object_id: String,
        pub before_json: Option<String>,
        pub after_json: Option<String>,
        pub prev_hash: String,
        pub hash: String,
    }
    entity_boilerplate!();
}
