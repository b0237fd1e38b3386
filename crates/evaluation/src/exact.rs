//! Exact rational arithmetic for the anomaly threshold.
//!
//! The mean `S/n` of the ribassi is usually not a terminating decimal, while the law compares
//! each ribasso with the threshold ("pari o superiore"). The threshold is therefore kept as a
//! reduced fraction of `i128` (`num-rational`) and bids are compared with it exactly; decimals
//! are produced for display only (28 significant digits).

use crate::error::EvalError;
use num_rational::Ratio;
use num_traits::{CheckedAdd, CheckedDiv, CheckedMul, CheckedSub};
use rust_decimal::Decimal;

/// An exact rational number.
pub type Q = Ratio<i128>;

/// The exact value of a decimal.
pub fn q(d: Decimal) -> Q {
    Ratio::new(d.mantissa(), 10i128.pow(d.scale()))
}

/// An integer as a rational.
pub fn qi(n: i128) -> Q {
    Ratio::from_integer(n)
}

pub fn add(a: &Q, b: &Q, what: &'static str) -> Result<Q, EvalError> {
    a.checked_add(b).ok_or(EvalError::Overflow(what))
}

pub fn sub(a: &Q, b: &Q, what: &'static str) -> Result<Q, EvalError> {
    a.checked_sub(b).ok_or(EvalError::Overflow(what))
}

pub fn mul(a: &Q, b: &Q, what: &'static str) -> Result<Q, EvalError> {
    a.checked_mul(b).ok_or(EvalError::Overflow(what))
}

/// `a / b`; `b` must not be zero (callers check).
pub fn div(a: &Q, b: &Q, what: &'static str) -> Result<Q, EvalError> {
    a.checked_div(b).ok_or(EvalError::Overflow(what))
}

/// The value as a decimal: exact when it terminates within 28 digits, otherwise rounded at the
/// 28th significant digit (display only; comparisons use the fraction).
pub fn to_decimal(x: &Q, what: &'static str) -> Result<Decimal, EvalError> {
    let n =
        Decimal::try_from_i128_with_scale(*x.numer(), 0).map_err(|_| EvalError::Overflow(what))?;
    let d =
        Decimal::try_from_i128_with_scale(*x.denom(), 0).map_err(|_| EvalError::Overflow(what))?;
    n.checked_div(d)
        .map(|v| v.normalize())
        .ok_or(EvalError::Overflow(what))
}

/// "numerator/denominator", for the record.
pub fn fraction_string(x: &Q) -> String {
    if *x.denom() == 1 {
        x.numer().to_string()
    } else {
        format!("{}/{}", x.numer(), x.denom())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn decimal_round_trip_is_exact_and_ignores_trailing_zeros() {
        let a = q(Decimal::from_str("12.3450").unwrap());
        let b = q(Decimal::from_str("12.345").unwrap());
        assert_eq!(a, b);
        assert_eq!(
            to_decimal(&a, "t").unwrap(),
            Decimal::from_str("12.345").unwrap()
        );
    }

    #[test]
    fn a_third_is_not_a_decimal_but_compares_exactly() {
        let third = div(&qi(1), &qi(3), "t").unwrap();
        let back = q(to_decimal(&third, "t").unwrap());
        assert_ne!(back, third, "the display value is rounded");
        assert_eq!(mul(&third, &qi(3), "t").unwrap(), qi(1));
        assert_eq!(fraction_string(&third), "1/3");
    }
}
