//! Money: euro amounts in exact integer cents, and the *ribasso percentuale* (discount on a base amount).
//!
//! No floats anywhere. Conversions between a price and a discount on a base amount are computed in exact
//! integer arithmetic and rounded once, with the [`Rounding`] the tender chooses.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::fmt;
use std::str::FromStr;

/// Why an amount or a discount is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount: negative amounts are not allowed (found {0})")]
    Negative(String),
    #[error("amount: at most 2 decimal places are allowed (found {0})")]
    TooManyDecimals(String),
    #[error("amount: {0} is too large")]
    Overflow(String),
    #[error("amount {input:?}: {reason}")]
    Malformed { input: String, reason: &'static str },
    #[error("discount: {0} is outside [0, 100)")]
    DiscountOutOfRange(String),
    #[error("discount: {value} has more than {decimals} decimal places")]
    DiscountTooManyDecimals { value: String, decimals: u32 },
    #[error("discount: {decimals} decimal places requested, at most {max} are supported")]
    DiscountDecimals { decimals: u32, max: u32 },
    #[error("discount {input:?}: {reason}")]
    DiscountMalformed { input: String, reason: &'static str },
    #[error("discount: the base amount is zero")]
    ZeroBase,
    #[error("discount: the price {price} is above the base amount {base}")]
    PriceAboveBase { base: Euro, price: Euro },
}

/// A non-negative amount in euro, stored as integer cents.
///
/// Text form: digits, optionally a dot and one or two decimals (`"1234.56"`, `"1234.5"`, `"1234"`); no sign,
/// no spaces, no thousands separators. [`Display`](fmt::Display) always writes two decimals; serde uses the
/// same text (a JSON string, so no float ever carries an amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Euro(i64);

impl Euro {
    pub const ZERO: Euro = Euro(0);

    /// An amount from integer cents; negative values are refused.
    pub fn from_cents(cents: i64) -> Result<Self, MoneyError> {
        if cents < 0 {
            return Err(MoneyError::Negative(Decimal::new(cents, 2).to_string()));
        }
        Ok(Euro(cents))
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// The exact amount as a decimal with two decimal places.
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// An amount from a decimal: refused if negative or if it has more than 2 significant decimal places
    /// (`1.500` is accepted as `1.50`, `1.505` is refused: no silent rounding).
    pub fn from_decimal(d: Decimal) -> Result<Self, MoneyError> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err(MoneyError::Negative(d.to_string()));
        }
        if d.normalize().scale() > 2 {
            return Err(MoneyError::TooManyDecimals(d.to_string()));
        }
        // At most 2 decimal places, so `d × 100` is an integer.
        let cents = d
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|c| c.to_i64())
            .ok_or_else(|| MoneyError::Overflow(d.to_string()))?;
        Ok(Euro(cents))
    }

    /// Parses `"1234.56"` (see the type's documentation for the accepted text).
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let malformed = |reason| MoneyError::Malformed {
            input: s.to_owned(),
            reason,
        };
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if s.starts_with('-') {
            return Err(MoneyError::Negative(s.to_owned()));
        }
        if int.is_empty() {
            return Err(malformed("digits expected before the decimal point"));
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed(
                "only digits and one '.' are allowed (no sign, spaces or thousands separators)",
            ));
        }
        let frac = frac.unwrap_or("");
        if s.contains('.') && frac.is_empty() {
            return Err(malformed("digits expected after the decimal point"));
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed(
                "only digits and one '.' are allowed (no sign, spaces or thousands separators)",
            ));
        }
        if frac.len() > 2 {
            return Err(MoneyError::TooManyDecimals(s.to_owned()));
        }
        let overflow = || MoneyError::Overflow(s.to_owned());
        let mut cents: i64 = 0;
        for b in int
            .bytes()
            .chain(frac.bytes())
            .chain("00"[frac.len()..].bytes())
        {
            cents = cents
                .checked_mul(10)
                .and_then(|c| c.checked_add(i64::from(b - b'0')))
                .ok_or_else(overflow)?;
        }
        Ok(Euro(cents))
    }

    /// The sum, or `None` on overflow.
    pub fn checked_add(self, other: Euro) -> Option<Euro> {
        self.0.checked_add(other.0).map(Euro)
    }

    /// The difference, or `None` if it would be negative.
    pub fn checked_sub(self, other: Euro) -> Option<Euro> {
        self.0.checked_sub(other.0).filter(|c| *c >= 0).map(Euro)
    }
}

impl fmt::Display for Euro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl FromStr for Euro {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Euro::parse(s)
    }
}

impl TryFrom<Decimal> for Euro {
    type Error = MoneyError;
    fn try_from(d: Decimal) -> Result<Self, Self::Error> {
        Euro::from_decimal(d)
    }
}

impl From<Euro> for Decimal {
    fn from(e: Euro) -> Decimal {
        e.to_decimal()
    }
}

impl serde::Serialize for Euro {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Euro {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Euro::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How a computed amount or discount is brought to its number of decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Round to nearest, ties away from zero (all values here are non-negative, so ties go up).
    HalfUp,
    /// Drop the extra digits.
    Truncate,
}

impl Rounding {
    /// `num / den` rounded to an integer; both non-negative, `den > 0`.
    fn divide(self, num: i128, den: i128) -> i128 {
        match self {
            Rounding::HalfUp => (num + den / 2) / den,
            Rounding::Truncate => num / den,
        }
    }
}

/// A *ribasso percentuale*: a discount in percent, in `[0, 100)`, with a fixed number of decimal places
/// chosen by the tender (at most [`Discount::MAX_DECIMALS`]).
///
/// Text form and serde: the value written with exactly `decimals` places (`"12.500"` for 3 places); read back,
/// the number of places written becomes `decimals`, so the pair round-trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Discount {
    value: Decimal,
    decimals: u32,
}

impl Discount {
    pub const MAX_DECIMALS: u32 = 10;

    /// A discount of `value` percent with `decimals` places; refused if outside `[0, 100)` or if `value`
    /// has more significant places than `decimals` (no silent rounding).
    pub fn new(value: Decimal, decimals: u32) -> Result<Self, MoneyError> {
        if decimals > Self::MAX_DECIMALS {
            return Err(MoneyError::DiscountDecimals {
                decimals,
                max: Self::MAX_DECIMALS,
            });
        }
        if value.is_sign_negative() && !value.is_zero() || value >= Decimal::ONE_HUNDRED {
            return Err(MoneyError::DiscountOutOfRange(value.to_string()));
        }
        if value.normalize().scale() > decimals {
            return Err(MoneyError::DiscountTooManyDecimals {
                value: value.to_string(),
                decimals,
            });
        }
        let mut value = value.abs(); // -0 → 0
        value.rescale(decimals);
        Ok(Discount { value, decimals })
    }

    /// Parses a discount written with a dot and at most `decimals` places (e.g. `"12.345"`).
    pub fn parse(s: &str, decimals: u32) -> Result<Self, MoneyError> {
        let malformed = |reason| MoneyError::DiscountMalformed {
            input: s.to_owned(),
            reason,
        };
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty() || (s.contains('.') && frac.is_empty()) {
            return Err(malformed(
                "digits expected on both sides of the decimal point",
            ));
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(malformed(
                "only digits and one '.' are allowed (no sign, spaces or '%')",
            ));
        }
        if int.trim_start_matches('0').len() > 2 {
            return Err(MoneyError::DiscountOutOfRange(s.to_owned()));
        }
        if frac.len() > 28 {
            return Err(MoneyError::DiscountTooManyDecimals {
                value: s.to_owned(),
                decimals,
            });
        }
        let value = Decimal::from_str_exact(s).map_err(|_| malformed("not a number"))?;
        Discount::new(value, decimals)
    }

    /// The discount in percent, with exactly [`decimals`](Self::decimals) places.
    pub fn value(&self) -> Decimal {
        self.value
    }

    /// The number of decimal places of this discount (a parameter of the tender).
    pub fn decimals(&self) -> u32 {
        self.decimals
    }

    /// The value as an integer count of `10^-decimals` percent units.
    fn units(&self) -> i128 {
        self.value.mantissa()
    }
}

impl fmt::Display for Discount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value)
    }
}

impl FromStr for Discount {
    type Err = MoneyError;
    /// Parses a discount; its number of places becomes [`Discount::decimals`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let decimals = s.split_once('.').map_or(0, |(_, f)| f.len());
        let decimals = u32::try_from(decimals).unwrap_or(u32::MAX);
        if decimals > Self::MAX_DECIMALS {
            return Err(MoneyError::DiscountDecimals {
                decimals,
                max: Self::MAX_DECIMALS,
            });
        }
        Discount::parse(s, decimals)
    }
}

impl serde::Serialize for Discount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Discount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The price offered with `discount` on `base`: `base × (1 − discount/100)`, brought to cents with
/// `rounding`. Exact: computed in integers, rounded once. The result is never above `base`.
pub fn price_from_discount(base: Euro, discount: &Discount, rounding: Rounding) -> Euro {
    let scale = 100 * 10i128.pow(discount.decimals);
    // base < 2^63 and scale ≤ 10^12 < 2^40: the product fits in i128.
    let num = i128::from(base.0) * (scale - discount.units());
    let cents = rounding.divide(num, scale);
    // 0 ≤ cents ≤ base.0, so the conversion cannot fail.
    Euro(i64::try_from(cents).unwrap_or(base.0))
}

/// The discount that `price` represents on `base`: `(base − price) / base × 100`, brought to `decimals`
/// places with `rounding`.
///
/// Refused: a zero base, a price above the base, more than [`Discount::MAX_DECIMALS`] places, and a result
/// that rounds to 100 (a zero price).
pub fn discount_from_price(
    base: Euro,
    price: Euro,
    decimals: u32,
    rounding: Rounding,
) -> Result<Discount, MoneyError> {
    if decimals > Discount::MAX_DECIMALS {
        return Err(MoneyError::DiscountDecimals {
            decimals,
            max: Discount::MAX_DECIMALS,
        });
    }
    if base.0 == 0 {
        return Err(MoneyError::ZeroBase);
    }
    if price > base {
        return Err(MoneyError::PriceAboveBase { base, price });
    }
    let num = i128::from(base.0 - price.0) * 100 * 10i128.pow(decimals);
    let units = rounding.divide(num, i128::from(base.0));
    let value = Decimal::try_from_i128_with_scale(units, decimals)
        .map_err(|_| MoneyError::DiscountOutOfRange(units.to_string()))?;
    Discount::new(value, decimals)
}
