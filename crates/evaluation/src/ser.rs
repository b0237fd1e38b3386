//! Serialization helpers: every number goes out as a JSON string; decimals are normalized
//! (no trailing zeros), so `12.50` and `12.5` give the same output.

use rust_decimal::Decimal;
use serde::Serializer;

pub fn dec<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.normalize().to_string())
}

pub fn opt_dec<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => dec(d, s),
        None => s.serialize_none(),
    }
}

pub fn count<S: Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&n.to_string())
}

pub fn opt_count<S: Serializer>(n: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => count(n, s),
        None => s.serialize_none(),
    }
}

pub fn u64_str<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&n.to_string())
}

pub fn u32_str<S: Serializer>(n: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&n.to_string())
}
