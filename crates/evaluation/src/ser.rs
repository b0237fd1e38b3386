//! Serialization helpers: every number goes out as a JSON string; decimals are normalized
//! (no trailing zeros), so `12.50` and `12.5` give the same output. The text is made on the stack (no
//! `String` per number): [`plain_text`] for the usual decimals (the text of `Display`, without its
//! general formatter), `collect_str` of `Display` otherwise.

use rust_decimal::Decimal;
use serde::Serializer;

pub fn dec<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    let mut buf = [0u8; 48];
    match plain_text(d, &mut buf) {
        Some(t) => s.serialize_str(t),
        None => s.collect_str(&d.normalize()),
    }
}

/// The text of `d.normalize()` (its `Display`) for a non-negative decimal whose mantissa fits in 64 bits;
/// `None` otherwise. Written from the last digit backwards at the end of `buf`, in one pass: at most 28
/// decimals, the point and 20 integer digits (30 bytes when there are 28 decimals).
#[inline]
pub(crate) fn plain_text<'b>(d: &Decimal, buf: &'b mut [u8; 48]) -> Option<&'b str> {
    let mut m = u64::try_from(d.mantissa()).ok()?;
    let mut scale = d.scale() as usize;
    while scale > 0 && m % 10 == 0 {
        m /= 10;
        scale -= 1;
    }
    let mut i = buf.len();
    if scale > 0 {
        // the decimals, with the zeros after the point (0.05); then the point
        for _ in 0..scale {
            i -= 1;
            buf[i] = b'0' + (m % 10) as u8;
            m /= 10;
        }
        i -= 1;
        buf[i] = b'.';
    }
    loop {
        i -= 1;
        buf[i] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    Some(ascii(&buf[i..]))
}

/// The text of ASCII digits and points written above.
fn ascii(b: &[u8]) -> &str {
    debug_assert!(b.is_ascii());
    // SAFETY: only ASCII digits and '.' are written into the buffers passed here, and ASCII is UTF-8.
    unsafe { std::str::from_utf8_unchecked(b) }
}

pub fn opt_dec<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => dec(d, s),
        None => s.serialize_none(),
    }
}

pub fn count<S: Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = *n;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    s.serialize_str(ascii(&digits[i..]))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn plain_text_is_the_text_of_display() {
        let mut values: Vec<Decimal> = [
            "0",
            "0.000",
            "1",
            "10",
            "100.00",
            "0.5",
            "0.05",
            "12.345",
            "12.3450",
            "25.657901630828545",
            "99.999",
            "0.0000000000000000000000000001",
            "18446744073709551615",
            "1844674407370955.1615",
            "0.1000000000000000000",
        ]
        .iter()
        .map(|s| Decimal::from_str(s).unwrap())
        .collect();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let scale = (x % 29) as u32;
            let m = i128::from(x >> (x % 60));
            values.push(Decimal::from_i128_with_scale(m, scale));
        }
        for d in values {
            let mut buf = [0u8; 48];
            let t = plain_text(&d, &mut buf).expect("non-negative, 64-bit mantissa");
            assert_eq!(t, d.normalize().to_string(), "{d:?}");
        }
        assert!(plain_text(&Decimal::from_str("-1.5").unwrap(), &mut [0; 48]).is_none());
    }
}
