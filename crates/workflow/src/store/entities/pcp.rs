//! The PCP outbox table `pcp_call`: one row per call owed to ANAC's Piattaforma Contratti Pubblici.
//! Times are integer milliseconds since the Unix epoch (UTC), as in the mail outbox, so that the due and
//! lease comparisons are exact and identical on SQLite and PostgreSQL.

pub mod pcp_call {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "pcp_call")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Unique per act and scheda: a repeated act does not enqueue the same call twice.
        #[sea_orm(unique)]
        pub idempotency_key: String,
        pub tender_id: Uuid,
        pub lot_id: Option<Uuid>,
        /// Position among the calls of the tender's appalto: a call waits while an earlier one is not
        /// `confermata`.
        pub ord: i64,
        /// `crea_appalto`, `conferma_appalto`, `pubblica_avviso` or `scheda` (crea-scheda + conferma-scheda).
        pub operation: String,
        /// What the scheda reports: `publication`, `bidders`, `award`, `contract`, `not_awarded`.
        pub purpose: String,
        /// The scheda code sent (`P1_16`, `S2`, ...), once built.
        pub scheda: Option<String>,
        /// The last request body sent (JSON).
        #[sea_orm(column_type = "Text", nullable)]
        pub body: Option<String>,
        /// The eForm sent with the scheda, if any (XML).
        #[sea_orm(column_type = "Text", nullable)]
        pub eform: Option<String>,
        /// `in_coda`, `inviata` (accepted, outcome pending), `confermata`, `errore`.
        pub status: String,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub lease_until: Option<i64>,
        pub claim_token: Option<Uuid>,
        /// PCP's id of what this call created: `idAppalto` (crea_appalto), `idScheda` (scheda).
        pub remote_id: Option<String>,
        /// The last answer of PCP (JSON), for the record.
        #[sea_orm(column_type = "Text", nullable)]
        pub response: Option<String>,
        /// ANAC's error code (`ERR16`, `REG47`...) and message of the last failure.
        pub error_code: Option<String>,
        #[sea_orm(column_type = "Text", nullable)]
        pub error_message: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        pub sent_at: Option<i64>,
        pub confirmed_at: Option<i64>,
    }
    entity_boilerplate!();
}
