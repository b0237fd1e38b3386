//! The amounts of a lot that the ribasso does not touch, and the award amount (art. 41 c.14, art. 108 c.9
//! D.Lgs. 36/2023), and the value of a contract used to choose the threshold (art. 14 c.4).
//!
//! A lot's base amount (`importo a base di gara`) is the total; the labour costs (`costi della manodopera`)
//! and the safety costs (`oneri per la sicurezza`) estimated by the stazione appaltante are part of it but
//! "sono scorporati dall'importo assoggettato al ribasso" (art. 41 c.14). An offer's ribasso applies only to
//! the rest, and the award amount adds them back:
//!
//! ```text
//! award amount = subject × (1 − ribasso / 100) + not subject      (rounded once, to the cent)
//! subject      = base − labour costs − safety costs
//! not subject  = labour costs + safety costs
//! ```
//!
//! An offer given as a price is the price of the part subject to the ribasso; the award amount is that price
//! plus the part not subject to it. This module is the one home of that formula: the API, the award mail and
//! both transparency exports (L.190 `importoAggiudicazione`, OCDS award value) call [`award_amount`].

use crate::money::{Discount, Euro, Rounding, price_from_discount};

/// Why a lot's amounts are not consistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostsError {
    /// The costs not subject to the ribasso exceed the base amount.
    #[error(
        "{field}: labour costs {labour} plus safety costs {safety} exceed the base amount {base} (art. 41 c.14)"
    )]
    ExceedBase {
        /// The field to blame (`labour_costs` or `safety_costs`).
        field: &'static str,
        base: Euro,
        labour: Euro,
        safety: Euro,
    },
    /// A sum does not fit in an amount.
    #[error("{field}: the sum overflows")]
    Overflow { field: &'static str },
}

/// A lot's base amount split per art. 41 c.14: the total, and the costs not subject to the ribasso.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct LotBase {
    total: Euro,
    labour_costs: Euro,
    safety_costs: Euro,
}

impl LotBase {
    /// The split of `total`; refused (naming `labour_costs` or `safety_costs`) when the costs exceed it.
    pub fn new(total: Euro, labour_costs: Euro, safety_costs: Euro) -> Result<Self, CostsError> {
        let not_subject = labour_costs
            .checked_add(safety_costs)
            .ok_or(CostsError::Overflow {
                field: "safety_costs",
            })?;
        if not_subject > total {
            return Err(CostsError::ExceedBase {
                field: if labour_costs > total {
                    "labour_costs"
                } else {
                    "safety_costs"
                },
                base: total,
                labour: labour_costs,
                safety: safety_costs,
            });
        }
        Ok(LotBase {
            total,
            labour_costs,
            safety_costs,
        })
    }

    /// A base with no costs outside the ribasso.
    pub fn all_subject(total: Euro) -> Self {
        LotBase {
            total,
            labour_costs: Euro::ZERO,
            safety_costs: Euro::ZERO,
        }
    }

    /// The base amount (the total).
    pub fn total(&self) -> Euro {
        self.total
    }

    /// The labour costs estimated by the stazione appaltante (art. 41 c.13-14).
    pub fn labour_costs(&self) -> Euro {
        self.labour_costs
    }

    /// The safety costs (oneri per la sicurezza, not subject to the ribasso).
    pub fn safety_costs(&self) -> Euro {
        self.safety_costs
    }

    /// The amount the ribasso applies to: total − labour − safety.
    pub fn subject_to_ribasso(&self) -> Euro {
        // labour + safety ≤ total by construction
        self.total
            .checked_sub(self.not_subject_to_ribasso())
            .unwrap_or(Euro::ZERO)
    }

    /// The amount not subject to the ribasso: labour + safety.
    pub fn not_subject_to_ribasso(&self) -> Euro {
        // checked in `new`; `all_subject` has zero costs
        self.labour_costs
            .checked_add(self.safety_costs)
            .unwrap_or(self.total)
    }
}

/// What an economic offer states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EconomicOffer {
    /// A ribasso on the amount subject to it.
    Discount(Discount),
    /// A price for the amount subject to the ribasso.
    Price(Euro),
}

/// The award amount of `offer` on `base`: `subject × (1 − ribasso/100) + not subject`, the first term brought
/// to the cent once with `rounding` (exact integer arithmetic, [`price_from_discount`]); for a price offer,
/// `price + not subject`. `None` only if the sum overflows.
pub fn award_amount(base: &LotBase, offer: &EconomicOffer, rounding: Rounding) -> Option<Euro> {
    let subject = match offer {
        EconomicOffer::Discount(d) => price_from_discount(base.subject_to_ribasso(), d, rounding),
        EconomicOffer::Price(p) => *p,
    };
    subject.checked_add(base.not_subject_to_ribasso())
}

/// The estimated value of a contract for the threshold (art. 14 c.4): the total payable, net of VAT,
/// options, renewals and extensions included; for lots, the sum over all lots (art. 14 c.9-10).
/// `None` on overflow.
pub fn contract_value<I>(lots: I) -> Option<Euro>
where
    I: IntoIterator<Item = (Euro, Euro, Euro)>,
{
    lots.into_iter()
        .try_fold(Euro::ZERO, |acc, (base, options, renewals)| {
            acc.checked_add(base)?
                .checked_add(options)?
                .checked_add(renewals)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Euro {
        s.parse().unwrap()
    }

    #[test]
    fn labour_costs_stay_outside_the_ribasso_art_41_c14() {
        // base 100,000.00, labour 20,000.00, ribasso 10 % → 80,000 × 0.9 + 20,000 = 92,000.00
        let base = LotBase::new(eur("100000.00"), eur("20000.00"), Euro::ZERO).unwrap();
        assert_eq!(base.subject_to_ribasso(), eur("80000.00"));
        assert_eq!(base.not_subject_to_ribasso(), eur("20000.00"));
        let d: Discount = "10".parse().unwrap();
        let a = award_amount(&base, &EconomicOffer::Discount(d), Rounding::HalfUp).unwrap();
        assert_eq!(a, eur("92000.00"));
        // without the split the ribasso would wrongly cut the labour costs too
        let all = award_amount(
            &LotBase::all_subject(eur("100000.00")),
            &EconomicOffer::Discount(d),
            Rounding::HalfUp,
        )
        .unwrap();
        assert_eq!(all, eur("90000.00"));
    }

    #[test]
    fn safety_costs_are_added_back_and_rounding_applies_once() {
        let base = LotBase::new(eur("1000.01"), eur("100.00"), eur("0.01")).unwrap();
        assert_eq!(base.subject_to_ribasso(), eur("900.00"));
        let d: Discount = "12.345".parse().unwrap();
        // 900.00 × 0.87655 = 788.895 → 788.90 half up, 788.89 truncated; + 100.01
        let half = award_amount(&base, &EconomicOffer::Discount(d), Rounding::HalfUp).unwrap();
        let trunc = award_amount(&base, &EconomicOffer::Discount(d), Rounding::Truncate).unwrap();
        assert_eq!(half, eur("888.91"));
        assert_eq!(trunc, eur("888.90"));
        // a price is the price of the subject part
        let p = award_amount(
            &base,
            &EconomicOffer::Price(eur("850.00")),
            Rounding::HalfUp,
        );
        assert_eq!(p, Some(eur("950.01")));
    }

    #[test]
    fn costs_above_the_base_are_refused_naming_the_field() {
        let e = LotBase::new(eur("100.00"), eur("100.01"), Euro::ZERO).unwrap_err();
        assert!(matches!(
            e,
            CostsError::ExceedBase {
                field: "labour_costs",
                ..
            }
        ));
        let e = LotBase::new(eur("100.00"), eur("60.00"), eur("40.01")).unwrap_err();
        assert!(matches!(
            e,
            CostsError::ExceedBase {
                field: "safety_costs",
                ..
            }
        ));
        assert!(e.to_string().contains("art. 41 c.14"));
        // equal to the base is lawful (nothing subject to the ribasso)
        let b = LotBase::new(eur("100.00"), eur("60.00"), eur("40.00")).unwrap();
        assert_eq!(b.subject_to_ribasso(), Euro::ZERO);
    }

    #[test]
    fn options_and_renewals_count_in_the_contract_value_art_14_c4() {
        let v = contract_value([
            (eur("150000.00"), eur("30000.00"), eur("40000.00")),
            (eur("10000.00"), Euro::ZERO, Euro::ZERO),
        ]);
        assert_eq!(v, Some(eur("230000.00")));
        assert_eq!(
            contract_value([(Euro::from_cents(i64::MAX).unwrap(), eur("0.01"), Euro::ZERO)]),
            None
        );
    }
}
