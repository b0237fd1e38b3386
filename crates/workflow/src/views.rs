//! What a tender and its lots look like to a reader: the HTTP answers and the audit log's before/after
//! snapshots.

use crate::store::entities::{lot, tender};
use crate::transition as machines;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct LotView {
    pub id: Uuid,
    pub number: i32,
    pub title: String,
    pub cig: Option<String>,
    /// Base amount in euro (decimal string).
    pub base_amount: String,
    pub state: String,
    pub awardee_bid_id: Option<Uuid>,
    pub standstill_end: Option<DateTime<Utc>>,
    /// The lot's evaluation rules (lex specialis: fixed before publication, art. 54 c.2, art. 108 c.12).
    #[schema(value_type = Option<Object>)]
    pub evaluation_rules: Option<serde_json::Value>,
    /// The explained evaluation result, once the economic envelopes are open.
    #[schema(value_type = Option<Object>)]
    pub evaluation: Option<serde_json::Value>,
}

impl From<&lot::Model> for LotView {
    fn from(l: &lot::Model) -> Self {
        LotView {
            id: l.id,
            number: l.number,
            title: l.title.clone(),
            cig: l.cig.as_ref().map(|c| c.to_string()),
            base_amount: cents_to_string(l.base_amount_cents),
            state: l.state.to_string(),
            awardee_bid_id: l.awardee_bid_id,
            standstill_end: l.standstill_end,
            evaluation_rules: crate::lex_specialis::stored(l),
            evaluation: l
                .evaluation_json
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct TenderView {
    pub id: Uuid,
    pub province_id: Uuid,
    pub municipality_id: Option<Uuid>,
    pub request_id: Option<Uuid>,
    pub title: String,
    pub contract_type: String,
    pub procedure_type: String,
    pub criterion: String,
    pub state: String,
    pub deadline: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub invitees: Vec<Uuid>,
    pub lots: Vec<LotView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub fn tender_view(t: &tender::Model, lots: &[lot::Model], show_invitees: bool) -> TenderView {
    TenderView {
        id: t.id,
        province_id: t.province_id,
        municipality_id: t.municipality_id,
        request_id: t.request_id,
        title: t.title.clone(),
        contract_type: t.contract_type.clone(),
        procedure_type: t.procedure_type.to_string(),
        criterion: t.criterion.to_string(),
        state: t.state.to_string(),
        deadline: t.deadline,
        published_at: t.published_at,
        invitees: if show_invitees {
            machines::invitees(t)
        } else {
            Vec::new()
        },
        lots: lots
            .iter()
            .map(|l| {
                let mut v = LotView::from(l);
                if !l.state.open_envelopes().economic {
                    v.evaluation = None;
                }
                v
            })
            .collect(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

pub fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Euro cents as exact decimal text (`123456` → `"1234.56"`).
pub fn cents_to_string(cents: i64) -> String {
    rust_decimal::Decimal::new(cents, 2).to_string()
}
