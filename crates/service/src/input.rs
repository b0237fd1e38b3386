//! Input parsing at the HTTP edge: wire strings become domain types or a 422 naming the field.

use crate::error::{ApiResult, AppError};
use rust_decimal::Decimal;
use std::{fmt::Display, str::FromStr};

/// Parse an identifier (Cig, CodiceFiscale, PartitaIva, ...) with its domain `FromStr`.
pub fn id<T>(field: &str, raw: &str) -> ApiResult<T>
where
    T: FromStr,
    T::Err: Display,
{
    raw.parse::<T>()
        .map_err(|e| AppError::bad(field, format!("{field}: {e}")))
}

/// A euro amount given as a decimal string (`"1234.50"`), converted to integer cents.
/// Refuses negative amounts, more than two decimals and values that do not fit in i64 cents.
pub fn euro_cents(field: &str, raw: &str) -> ApiResult<i64> {
    use domain::money::{Euro, MoneyError};
    let d = Decimal::from_str_exact(raw.trim())
        .map_err(|_| AppError::bad(field, format!("{field}: not a decimal amount: {raw:?}")))?;
    // the rule (not negative, at most two decimals, fits) is the domain's; the messages name the field
    Euro::from_decimal(d).map(Euro::cents).map_err(|e| {
        let why = match e {
            MoneyError::Negative(_) => "amount must not be negative",
            MoneyError::TooManyDecimals(_) => "at most two decimals (euro cents)",
            _ => "amount too large",
        };
        AppError::bad(field, format!("{field}: {why}"))
    })
}

/// Integer cents back to the canonical decimal string with two decimals.
pub use workflow::views::cents_to_string;

/// A percentage (ribasso, score) as exact decimal text, within `[min, max]`.
pub fn percent(field: &str, raw: &str, min: Decimal, max: Decimal) -> ApiResult<Decimal> {
    let d = Decimal::from_str_exact(raw.trim())
        .map_err(|_| AppError::bad(field, format!("{field}: not a decimal number: {raw:?}")))?;
    if d < min || d > max {
        return Err(AppError::bad(
            field,
            format!("{field}: must be between {min} and {max}"),
        ));
    }
    Ok(d.normalize())
}

pub fn non_empty(field: &str, raw: &str, max_len: usize) -> ApiResult<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(AppError::bad(field, format!("{field}: must not be empty")));
    }
    if t.chars().count() > max_len {
        return Err(AppError::bad(
            field,
            format!("{field}: at most {max_len} characters"),
        ));
    }
    Ok(t.to_owned())
}

pub fn one_of(field: &str, raw: &str, allowed: &[&str]) -> ApiResult<String> {
    if allowed.contains(&raw) {
        Ok(raw.to_owned())
    } else {
        Err(AppError::bad(
            field,
            format!("{field}: must be one of {}", allowed.join(", ")),
        ))
    }
}

pub fn pec(field: &str, raw: &str) -> ApiResult<String> {
    let t = raw.trim();
    let ok = t.len() <= 254
        && t.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !t.contains(char::is_whitespace);
    if ok {
        Ok(t.to_lowercase())
    } else {
        Err(AppError::bad(field, format!("{field}: not a mail address")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn euro_amounts_become_exact_cents_or_a_named_error() {
        assert_eq!(euro_cents("a", "1234.5").unwrap(), 123450);
        assert_eq!(euro_cents("a", "0").unwrap(), 0);
        assert_eq!(euro_cents("a", "92233720368547758.07").unwrap(), i64::MAX);
        for bad in ["-1", "1.234", "abc", "", "92233720368547758.08", "1e3"] {
            match euro_cents("lots[0].base_amount", bad) {
                Err(AppError::BadRequest { field, .. }) => assert_eq!(field, "lots[0].base_amount"),
                other => panic!("{bad}: {other:?}"),
            }
        }
        assert_eq!(cents_to_string(123450), "1234.50");
        assert_eq!(cents_to_string(i64::MAX), "92233720368547758.07");
    }

    #[test]
    fn percentages_are_bounded() {
        let hundred = Decimal::from(100);
        assert_eq!(
            percent("d", "12.3400", Decimal::ZERO, hundred)
                .unwrap()
                .to_string(),
            "12.34"
        );
        assert!(percent("d", "100.01", Decimal::ZERO, hundred).is_err());
        assert!(percent("d", "-0.01", Decimal::ZERO, hundred).is_err());
    }

    #[test]
    fn pec_addresses_are_checked() {
        assert_eq!(
            pec("pec", " Gare@PEC.Ditta.it ").unwrap(),
            "gare@pec.ditta.it"
        );
        for bad in ["", "x", "a@b", "@b.it", "a b@c.it"] {
            assert!(pec("pec", bad).is_err(), "{bad}");
        }
    }
}
