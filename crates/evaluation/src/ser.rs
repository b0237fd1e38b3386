//! Serialization helpers: every number goes out as a JSON string; decimals are normalized
//! (no trailing zeros), so `12.50` and `12.5` give the same output. `collect_str` writes the text
//! straight into the output (no `String` per number).

use rust_decimal::Decimal;
use serde::Serializer;

pub fn dec<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&d.normalize())
}

pub fn opt_dec<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => dec(d, s),
        None => s.serialize_none(),
    }
}

pub fn count<S: Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

pub fn opt_count<S: Serializer>(n: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => count(n, s),
        None => s.serialize_none(),
    }
}

pub fn u64_str<S: Serializer>(n: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}

pub fn u32_str<S: Serializer>(n: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(n)
}
