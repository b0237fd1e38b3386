//! A lot's amounts and an offer's award amount, read from the stored rows and computed by the one formula of
//! `domain::costs` (art. 41 c.14, art. 108 c.9; art. 14 c.4 for the contract value). The API's lot view,
//! the award mail, the register's award history and the L.190 / OCDS exports all come through here.

use crate::error::{WResult, WorkflowError};
use crate::store::entities::{bid, lot};
use domain::costs::{self, EconomicOffer, LotBase};
use domain::money::{Discount, Euro, Rounding};

/// How the engine brings the discounted part of an award amount to the cent where no export option says
/// otherwise (API, mails, register): half up, once.
pub const AWARD_ROUNDING: Rounding = Rounding::HalfUp;

/// A stored value that does not make an amount: a corrupt row, or an inconsistent lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountError {
    /// `lot` or `bid`.
    pub object: &'static str,
    pub field: &'static str,
    pub detail: String,
}

impl From<AmountError> for WorkflowError {
    fn from(e: AmountError) -> Self {
        WorkflowError::Internal(anyhow::anyhow!(
            "stored {}.{} is invalid: {}",
            e.object,
            e.field,
            e.detail
        ))
    }
}

fn euro(object: &'static str, field: &'static str, cents: i64) -> Result<Euro, AmountError> {
    Euro::from_cents(cents).map_err(|e| AmountError {
        object,
        field,
        detail: e.to_string(),
    })
}

/// The lot's base split per art. 41 c.14.
pub fn lot_base(l: &lot::Model) -> Result<LotBase, AmountError> {
    LotBase::new(
        euro("lot", "base_amount_cents", l.base_amount_cents)?,
        euro("lot", "labour_costs_cents", l.labour_costs_cents)?,
        euro("lot", "safety_costs_cents", l.safety_costs_cents)?,
    )
    .map_err(|e| AmountError {
        object: "lot",
        field: "labour_costs_cents",
        detail: e.to_string(),
    })
}

/// What the bid's economic offer states (a price wins over a ribasso, as the evaluation reads it); `None`
/// while busta C is sealed or when it declares neither.
pub fn economic_offer(b: &bid::Model) -> Result<Option<EconomicOffer>, AmountError> {
    if let Some(c) = b.declared_price_cents {
        return Ok(Some(EconomicOffer::Price(euro(
            "bid",
            "declared_price_cents",
            c,
        )?)));
    }
    if let Some(d) = &b.declared_discount {
        let d: Discount = d
            .parse()
            .map_err(|e: domain::money::MoneyError| AmountError {
                object: "bid",
                field: "declared_discount",
                detail: e.to_string(),
            })?;
        return Ok(Some(EconomicOffer::Discount(d)));
    }
    Ok(None)
}

/// The award amount of bid `b` on lot `l`: `subject × (1 − ribasso) + not subject`
/// ([`domain::costs::award_amount`]), the discounted part rounded to the cent with `rounding`. `None` when
/// the bid declares neither a ribasso nor a price (or its busta C is still sealed).
pub fn award_amount(
    l: &lot::Model,
    b: &bid::Model,
    rounding: Rounding,
) -> Result<Option<Euro>, AmountError> {
    let base = lot_base(l)?;
    let Some(offer) = economic_offer(b)? else {
        return Ok(None);
    };
    costs::award_amount(&base, &offer, rounding)
        .map(Some)
        .ok_or_else(|| AmountError {
            object: "bid",
            field: "declared_price_cents",
            detail: "the award amount overflows".into(),
        })
}

/// The estimated value of the contract (art. 14 c.4, c.9-10): every lot's base, options and renewals.
pub fn contract_value(lots: &[lot::Model]) -> WResult<Euro> {
    let mut parts = Vec::with_capacity(lots.len());
    for l in lots {
        parts.push((
            euro("lot", "base_amount_cents", l.base_amount_cents)?,
            euro("lot", "options_cents", l.options_cents)?,
            euro("lot", "renewals_cents", l.renewals_cents)?,
        ));
    }
    costs::contract_value(parts).ok_or_else(|| {
        WorkflowError::from(AmountError {
            object: "lot",
            field: "base_amount_cents",
            detail: "the contract value overflows".into(),
        })
    })
}
