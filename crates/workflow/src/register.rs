//! The register's rows to the `register` crate's values: the register of a Province in one category, and the award history.
//!
//! Awards come from two places:
//! - the service's own lots that reached the award (`awarded`, `suspended`, `ready_to_sign`, `contracted`):
//!   the operator of the awardee bid, dated by the audit entry of the `award` event (the lot's last update
//!   otherwise), for the amount of the awarded offer (declared price, or base amount less the ribasso, to
//!   the cent, half-up); their category is the one of the tender's selection minutes (`register_draw`), so
//!   a tender awarded without a selection through the register counts for the counters but not for rotation;
//! - `register_award_history`: awards imported by the SUA (made before the platform) and recorded direct
//!   awards.

use crate::store::entities::{
    audit_entry, bid, lot, register_award_history, register_draw, register_listing, tender,
};
use crate::{WResult, WorkflowError};
use ::register::{
    AwardRecord, Buyer, Category, Listing, ListingStatus, OperatorId, Qualification, Register,
    SoaClass, Territory,
};
use chrono::NaiveDate;
use domain::money::Euro;
use lifecycle::lot::LotState;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

/// A motivated invitation or award of the outgoing contractor anyway (art. 49 c.4).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideInput {
    pub operator_id: Uuid,
    /// Market structure, effective absence of alternatives, accurate execution of the previous contract.
    pub reason: String,
    /// The RUP's attestation of the quality of the previous performance (required by default since the
    /// correttivo; see `docs/register.md`).
    pub quality_attestation: Option<String>,
}

/// Lot states that come after the award (the aggiudicazione was adopted): [`LotState::is_awarded`].
pub fn awarded_lot_states() -> impl Iterator<Item = &'static str> {
    LotState::ALL
        .iter()
        .filter(|s| s.is_awarded())
        .map(|s| s.as_str())
}

/// The stored names of a register listing's status (`register_listing.status`, the register crate's
/// `ListingStatus`). Not lifecycle states, though two are spelled like participation and lot states.
pub mod listing_status {
    pub const APPLIED: &str = "applied";
    pub const ADMITTED: &str = "admitted";
    pub const SUSPENDED: &str = "suspended";
    pub const REMOVED: &str = "removed";
    /// Every status, in the register's order.
    pub const ALL: [&str; 4] = [APPLIED, ADMITTED, SUSPENDED, REMOVED];
    /// The statuses of a listing still on the register (it may expire, and is reminded of it).
    pub const ON_REGISTER: [&str; 2] = [ADMITTED, SUSPENDED];
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> WorkflowError {
    WorkflowError::Internal(anyhow::anyhow!("stored {what} is invalid: {e}"))
}

/// A stored listing as the pure crate's [`Listing`].
pub fn to_listing(r: &register_listing::Model) -> WResult<Listing> {
    let category = Category::parse(&r.category).map_err(|e| corrupt("listing category", e))?;
    let qualification = match category {
        Category::Works(category) => Qualification::Works {
            category,
            class: r
                .soa_class
                .as_deref()
                .map(SoaClass::parse)
                .transpose()
                .map_err(|e| corrupt("listing soa_class", e))?,
        },
        Category::Cpv(division) => Qualification::Cpv { division },
    };
    let territories: Vec<Territory> =
        serde_json::from_str(&r.territories_json).map_err(|e| corrupt("listing territories", e))?;
    let on = r.status_on.unwrap_or(r.created_at.date_naive());
    let reason = r.reason.clone().unwrap_or_default();
    let status = match r.status.as_str() {
        listing_status::APPLIED => ListingStatus::Applied,
        listing_status::ADMITTED => ListingStatus::Admitted { on },
        listing_status::SUSPENDED => ListingStatus::Suspended { on, reason },
        listing_status::REMOVED => ListingStatus::Removed { on, reason },
        other => return Err(corrupt("listing status", other)),
    };
    Ok(Listing {
        operator: OperatorId(r.operator_id),
        qualification,
        territories,
        status,
        expires_on: r.expires_on,
    })
}

/// The status columns of a listing: (status, status_on, reason).
pub fn status_columns(s: &ListingStatus) -> (String, Option<NaiveDate>, Option<String>) {
    match s {
        ListingStatus::Applied => (listing_status::APPLIED.into(), None, None),
        ListingStatus::Admitted { on } => (listing_status::ADMITTED.into(), Some(*on), None),
        ListingStatus::Suspended { on, reason } => (
            listing_status::SUSPENDED.into(),
            Some(*on),
            Some(reason.clone()),
        ),
        ListingStatus::Removed { on, reason } => (
            listing_status::REMOVED.into(),
            Some(*on),
            Some(reason.clone()),
        ),
    }
}

/// The register of `province` in `category` (removed listings left out: an operator has at most one live
/// listing per category).
pub async fn register_for<C: ConnectionTrait>(
    db: &C,
    province: Uuid,
    category: Category,
) -> WResult<Register> {
    let rows = register_listing::Entity::find()
        .filter(register_listing::Column::ProvinceId.eq(province))
        .filter(register_listing::Column::Category.eq(category.to_string()))
        .filter(register_listing::Column::Status.ne(listing_status::REMOVED))
        .all(db)
        .await?;
    let listings = rows.iter().map(to_listing).collect::<WResult<Vec<_>>>()?;
    Register::new(listings).map_err(|e| corrupt("register", e))
}

/// An award as the counters see it (the category is unknown for tenders selected outside the register).
#[derive(Debug, Clone)]
pub struct KnownAward {
    pub operator: OperatorId,
    pub category: Option<Category>,
    pub amount: Euro,
    pub date: NaiveDate,
    pub buyer: Buyer,
}

fn euro(cents: i64) -> WResult<Euro> {
    Euro::from_cents(cents).map_err(|e| corrupt("amount", e))
}

/// The amount of an awarded offer, in cents: the award amount of [`crate::amounts::award_amount`] (the
/// ribasso on the part subject to it, half up, plus the costs outside it), or the base amount when the bid
/// declares no economic offer (or a stored value is unreadable).
pub fn awarded_cents(l: &lot::Model, b: &bid::Model) -> i64 {
    match crate::amounts::award_amount(l, b, crate::amounts::AWARD_ROUNDING) {
        Ok(Some(e)) => e.cents(),
        _ => l.base_amount_cents,
    }
}

/// Every award known in `province` (optionally only for `operator`), oldest first.
pub async fn awards<C: ConnectionTrait>(
    db: &C,
    province: Uuid,
    operator: Option<Uuid>,
) -> WResult<Vec<KnownAward>> {
    let mut out = Vec::new();
    // the service's own awarded lots
    let tenders: HashMap<Uuid, tender::Model> = tender::Entity::find()
        .filter(tender::Column::ProvinceId.eq(province))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    // only the two columns: the minutes' lists may hold thousands of ids each
    let categories: HashMap<Uuid, Category> = register_draw::Entity::find()
        .select_only()
        .column(register_draw::Column::TenderId)
        .column(register_draw::Column::Category)
        .filter(register_draw::Column::ProvinceId.eq(province))
        .into_tuple::<(Uuid, String)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(t, c)| Some((t, Category::parse(&c).ok()?)))
        .collect();
    if !tenders.is_empty() {
        let lots = lot::Entity::find()
            .filter(lot::Column::TenderId.is_in(tenders.keys().copied()))
            .filter(lot::Column::State.is_in(awarded_lot_states()))
            .all(db)
            .await?;
        for l in lots {
            let Some(bid_id) = l.awardee_bid_id else {
                continue;
            };
            let Some(b) = bid::Entity::find_by_id(bid_id).one(db).await? else {
                continue;
            };
            if operator.is_some_and(|o| o != b.operator_id) {
                continue;
            }
            let Some(t) = tenders.get(&l.tender_id) else {
                continue;
            };
            let award_entry = crate::audit::newest_first(
                audit_entry::Entity::find()
                    .filter(audit_entry::Column::ObjectKind.eq("lot"))
                    .filter(audit_entry::Column::ObjectId.eq(l.id.to_string()))
                    .filter(audit_entry::Column::Action.eq("lot.award")),
            )
            .one(db)
            .await?;
            let date = award_entry
                .map(|e| e.at.date_naive())
                .unwrap_or(l.updated_at.date_naive());
            out.push(KnownAward {
                operator: OperatorId(b.operator_id),
                category: categories.get(&t.id).copied(),
                amount: euro(awarded_cents(&l, &b))?,
                date,
                buyer: Buyer {
                    province,
                    municipality: t.municipality_id,
                },
            });
        }
    }
    // imported awards and recorded direct awards
    let mut q = register_award_history::Entity::find()
        .filter(register_award_history::Column::ProvinceId.eq(province));
    if let Some(o) = operator {
        q = q.filter(register_award_history::Column::OperatorId.eq(o));
    }
    for h in q
        .order_by_asc(register_award_history::Column::CreatedAt)
        .all(db)
        .await?
    {
        out.push(KnownAward {
            operator: OperatorId(h.operator_id),
            category: Some(Category::parse(&h.category).map_err(|e| corrupt("award category", e))?),
            amount: euro(h.amount_cents)?,
            date: h.awarded_on,
            buyer: Buyer {
                province,
                municipality: h.municipality_id,
            },
        });
    }
    // stable order by date: later in the slice = later award on the same day
    out.sort_by_key(|a| a.date);
    Ok(out)
}

/// The rotation history of `province` in `category` (the pure crate filters by buyer, band and date).
pub async fn rotation_history<C: ConnectionTrait>(
    db: &C,
    province: Uuid,
    category: Category,
) -> WResult<Vec<AwardRecord>> {
    Ok(awards(db, province, None)
        .await?
        .into_iter()
        .filter(|a| a.category == Some(category))
        .map(|a| AwardRecord {
            operator: a.operator,
            category,
            amount: a.amount,
            date: a.date,
            buyer: a.buyer,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bid_with(price: Option<i64>, discount: Option<&str>) -> bid::Model {
        let now = chrono::Utc::now();
        bid::Model {
            id: Uuid::nil(),
            tender_id: Uuid::nil(),
            lot_id: Uuid::nil(),
            operator_id: Uuid::nil(),
            state: lifecycle::participation::ParticipationState::Awardee.into(),
            declared_discount: discount.map(str::to_owned),
            declared_price_cents: price,
            declared_labour_costs_cents: None,
            technical_json: "{}".into(),
            tech_score: None,
            soccorso_due: None,
            exclusion_reason: None,
            submitted_at: now,
            updated_at: now,
        }
    }

    fn lot_with(base_cents: i64, labour_cents: i64) -> lot::Model {
        lot::Model {
            id: Uuid::nil(),
            tender_id: Uuid::nil(),
            number: 1,
            title: "Lotto".into(),
            cig: None,
            base_amount_cents: base_cents,
            state: LotState::Awarded.into(),
            evaluation_json: None,
            awardee_bid_id: None,
            standstill_end: None,
            facts_json: "{}".into(),
            updated_at: chrono::Utc::now(),
            labour_costs_cents: labour_cents,
            safety_costs_cents: 0,
            options_cents: 0,
            renewals_cents: 0,
            evaluation_rules_json: None,
            pcp_json: "{}".into(),
        }
    }

    #[test]
    fn awarded_amount_is_the_price_or_the_base_less_the_ribasso() {
        assert_eq!(
            awarded_cents(&lot_with(10_000_000, 0), &bid_with(Some(12_345), None)),
            12_345
        );
        // 180,000.00 less 12.345% = 157,779.00
        assert_eq!(
            awarded_cents(&lot_with(18_000_000, 0), &bid_with(None, Some("12.345"))),
            15_777_900
        );
        // half-up to the cent: 0.05 less 50% = 0.025 -> 0.03
        assert_eq!(
            awarded_cents(&lot_with(5, 0), &bid_with(None, Some("50"))),
            3
        );
        assert_eq!(awarded_cents(&lot_with(5, 0), &bid_with(None, None)), 5);
        // labour costs stay outside the ribasso (art. 41 c.14): 80,000 × 0.9 + 20,000
        assert_eq!(
            awarded_cents(
                &lot_with(10_000_000, 2_000_000),
                &bid_with(None, Some("10"))
            ),
            9_200_000
        );
    }

    #[test]
    fn stored_listings_become_pure_listings_or_an_internal_error() {
        let now = chrono::Utc::now();
        let mut r = register_listing::Model {
            id: Uuid::nil(),
            province_id: Uuid::nil(),
            operator_id: Uuid::max(),
            category: "OG1".into(),
            soa_class: Some("III-bis".into()),
            territories_json: r#"["national"]"#.into(),
            status: "suspended".into(),
            status_on: NaiveDate::from_ymd_opt(2026, 11, 1),
            reason: Some("DURC irregolare".into()),
            expires_on: NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
            created_at: now,
            updated_at: now,
        };
        let l = to_listing(&r).unwrap();
        assert_eq!(
            l.qualification,
            Qualification::Works {
                category: "OG1".parse().unwrap(),
                class: Some(SoaClass::IIIBis)
            }
        );
        assert!(
            matches!(l.status, ListingStatus::Suspended { ref reason, .. } if reason == "DURC irregolare")
        );
        assert_eq!(status_columns(&l.status).0, "suspended");
        r.status = "limbo".into();
        assert!(matches!(to_listing(&r), Err(WorkflowError::Internal(_))));
    }
}
