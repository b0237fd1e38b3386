//! Explicit rounding policies. The engine computes exactly and rounds only where a
//! [`Rounding`] is given (the tender documents say how many decimals and whether values are
//! truncated or rounded: TAR Catania III, 4013/2024). Every policy used is echoed in the result.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

/// How the last kept digit is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// 5 and above rounds away from zero ("arrotondamento": 0.1235 -> 0.124 with 3 decimals).
    HalfUp,
    /// Digits beyond `decimals` are dropped ("troncamento": 0.1239 -> 0.123).
    Truncate,
}

/// A number of decimals and a mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rounding {
    #[serde(serialize_with = "crate::ser::u32_str")]
    pub decimals: u32,
    pub mode: RoundingMode,
}

/// Largest number of decimals a policy may ask for (the precision of `rust_decimal`).
pub const MAX_DECIMALS: u32 = 28;

impl Rounding {
    pub const fn new(decimals: u32, mode: RoundingMode) -> Self {
        Self { decimals, mode }
    }

    /// Round `value` by this policy.
    pub fn apply(&self, value: Decimal) -> Decimal {
        let strategy = match self.mode {
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::Truncate => RoundingStrategy::ToZero,
        };
        value
            .round_dp_with_strategy(self.decimals.min(MAX_DECIMALS), strategy)
            .normalize()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn half_up_and_truncate_differ_on_the_fourth_decimal() {
        let half_up = Rounding::new(3, RoundingMode::HalfUp);
        let trunc = Rounding::new(3, RoundingMode::Truncate);
        assert_eq!(half_up.apply(d("14.8848353333")), d("14.885"));
        assert_eq!(trunc.apply(d("14.8848353333")), d("14.884"));
        assert_eq!(half_up.apply(d("0.1235")), d("0.124"));
        assert_eq!(trunc.apply(d("0.1235")), d("0.123"));
        assert_eq!(half_up.apply(d("2.5")), d("2.5"));
    }
}
