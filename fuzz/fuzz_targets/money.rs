//! Money and percentages: `Euro::parse`, `Discount::parse` with any number of decimals, the service's
//! `euro_cents` and `percent` (the API's amount and ribasso fields; with the `service` feature) and the evaluation's price→ribasso.
//! Never a panic; an amount that parses prints as text that parses again to the same amount.
#![no_main]

use domain::money::{Discount, Euro};
use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(e) = Euro::parse(s) {
        assert_eq!(Euro::parse(&e.to_string()).ok(), Some(e), "{s:?}");
        assert_eq!(Euro::from_cents(e.cents()).ok(), Some(e));
    }
    let decimals = u32::from(first % 32);
    if let Ok(d) = Discount::parse(s, decimals) {
        assert_eq!(Discount::parse(&d.to_string(), decimals).ok(), Some(d), "{s:?}");
    }
    #[cfg(feature = "service")]
    {
        let _ = service::input::euro_cents("amount", s);
        let _ = service::input::percent("discount", s, Decimal::ZERO, Decimal::ONE_HUNDRED);
    }
    // "base|price": the ribasso of a price (the evaluation's conversion)
    if let Some((base, price)) = s.split_once('|')
        && let (Ok(base), Ok(price)) = (Decimal::from_str_exact(base), Decimal::from_str_exact(price))
    {
        if let Ok(d) = evaluation::lowest_price::discount_from_price(base, price, None) {
            assert!(d >= Decimal::ZERO && d < Decimal::ONE_HUNDRED, "{base} {price} → {d}");
        }
    }
});
