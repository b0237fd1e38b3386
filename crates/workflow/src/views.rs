//! What a tender and its lots look like to a reader: the HTTP answers and the audit log's before/after
//! snapshots.

use crate::error::WResult;
use crate::store::entities::{bid, lot, tender};
use crate::transition as machines;
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct LotView {
    pub id: Uuid,
    pub number: i32,
    pub title: String,
    pub cig: Option<String>,
    /// Where the CIG came from: `pcp` (assigned by ANAC's PCP to this tender's appalto), `external` (typed
    /// in for a procedure started elsewhere); `null` without a CIG. Filled by `GET /v1/tenders/{id}`.
    #[serde(default)]
    #[schema(example = "pcp")]
    pub cig_source: Option<String>,
    /// What the buyer stated for ANAC's schede (CCNL, NUTS, SOA category, duration, funding, BIM).
    #[serde(default)]
    pub pcp: crate::pcp_facts::LotPcp,
    /// Base amount in euro (decimal string): the total, labour and safety costs included.
    pub base_amount: String,
    /// Labour costs estimated by the SA, part of the base, not subject to the ribasso (art. 41 c.14).
    pub labour_costs: String,
    /// Safety costs, part of the base, not subject to the ribasso (art. 41 c.14).
    pub safety_costs: String,
    /// The part of the base the ribasso applies to: base − labour − safety.
    pub amount_subject_to_ribasso: String,
    /// Options and extensions, outside the base, counted in the contract value (art. 14 c.4).
    pub options: String,
    /// Renewals, outside the base, counted in the contract value (art. 14 c.4).
    pub renewals: String,
    /// The award amount of the proposed or awarded offer, once its busta C is open:
    /// `subject × (1 − ribasso) + labour + safety`, the discounted part rounded half up to the cent
    /// (`domain::costs::award_amount`).
    pub award_amount: Option<String>,
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
            cig_source: None,
            pcp: crate::pcp_facts::LotPcp::stored(l),
            base_amount: cents_to_string(l.base_amount_cents),
            labour_costs: cents_to_string(l.labour_costs_cents),
            safety_costs: cents_to_string(l.safety_costs_cents),
            amount_subject_to_ribasso: cents_to_string(
                l.base_amount_cents - l.labour_costs_cents - l.safety_costs_cents,
            ),
            options: cents_to_string(l.options_cents),
            renewals: cents_to_string(l.renewals_cents),
            award_amount: None,
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

/// Fills each lot's `award_amount` from its proposed or awarded bid, where the lot's phase has opened the
/// economic envelopes (the one formula, [`crate::amounts::award_amount`]).
pub async fn fill_award_amounts<C: ConnectionTrait>(
    db: &C,
    view: &mut TenderView,
    lots: &[lot::Model],
) -> WResult<()> {
    for v in &mut view.lots {
        let Some(l) = lots.iter().find(|l| l.id == v.id) else {
            continue;
        };
        v.award_amount = lot_award_amount(db, l).await?;
    }
    Ok(())
}

/// The award amount of the lot's proposed or awarded bid, once the economic envelopes are open.
pub async fn lot_award_amount<C: ConnectionTrait>(
    db: &C,
    l: &lot::Model,
) -> WResult<Option<String>> {
    let Some(id) = l
        .awardee_bid_id
        .filter(|_| l.state.open_envelopes().economic)
    else {
        return Ok(None);
    };
    let Some(b) = bid::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    Ok(crate::amounts::award_amount(l, &b, crate::amounts::AWARD_ROUNDING)?.map(|e| e.to_string()))
}

pub fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Euro cents as exact decimal text (`123456` → `"1234.56"`).
pub fn cents_to_string(cents: i64) -> String {
    rust_decimal::Decimal::new(cents, 2).to_string()
}
