//! Property tests for money: parsing never panics, text round-trips, conversions are consistent.

use domain::money::{Discount, Euro, Rounding, discount_from_price, price_from_discount};
use proptest::prelude::*;
use rust_decimal::Decimal;

fn rounding() -> impl Strategy<Value = Rounding> {
    prop_oneof![Just(Rounding::HalfUp), Just(Rounding::Truncate)]
}

fn discount() -> impl Strategy<Value = Discount> {
    (0u32..=6).prop_flat_map(|decimals| {
        let scale = 10i64.pow(decimals);
        (0..100 * scale)
            .prop_map(move |units| Discount::new(Decimal::new(units, decimals), decimals).unwrap())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics(s in "\\PC{0,30}") {
        let _ = Euro::parse(&s);
        let _ = Discount::parse(&s, 3);
        let _ = s.parse::<Discount>();
    }

    #[test]
    fn parse_never_panics_on_number_like_text(s in "[-+0-9.,]{0,25}") {
        let _ = Euro::parse(&s);
        let _ = Discount::parse(&s, 4);
        let _ = s.parse::<Discount>();
    }

    #[test]
    fn euro_text_and_serde_round_trip(cents in 0i64..=i64::MAX) {
        let e = Euro::from_cents(cents).unwrap();
        prop_assert_eq!(Euro::parse(&e.to_string()).unwrap(), e);
        prop_assert_eq!(Euro::from_decimal(e.to_decimal()).unwrap(), e);
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Euro>(&json).unwrap(), e);
    }

    #[test]
    fn euro_add_sub_inverse(a in 0i64..1_000_000_000_000, b in 0i64..1_000_000_000_000) {
        let (a, b) = (Euro::from_cents(a).unwrap(), Euro::from_cents(b).unwrap());
        let sum = a.checked_add(b).unwrap();
        prop_assert_eq!(sum.checked_sub(b), Some(a));
        prop_assert_eq!(a.checked_sub(b).is_some(), a >= b);
    }

    #[test]
    fn discount_text_round_trip(d in discount()) {
        let back: Discount = d.to_string().parse().unwrap();
        prop_assert_eq!(back, d);
        prop_assert_eq!(Discount::parse(&d.to_string(), d.decimals()).unwrap(), d);
    }

    #[test]
    fn price_is_within_base_and_matches_decimal_arithmetic(
        base in 0i64..10_000_000_000_000, d in discount(), r in rounding()
    ) {
        let base = Euro::from_cents(base).unwrap();
        let price = price_from_discount(base, &d, r);
        prop_assert!(price <= base);
        // exact value in Decimal (fits: base < 1e13 cents, discount scale ≤ 6)
        let exact = base.to_decimal() * (Decimal::ONE_HUNDRED - d.value()) / Decimal::ONE_HUNDRED;
        let diff = (price.to_decimal() - exact).abs();
        match r {
            Rounding::HalfUp => prop_assert!(diff <= Decimal::new(5, 3), "{price} vs {exact}"),
            Rounding::Truncate => {
                prop_assert!(price.to_decimal() <= exact);
                prop_assert!(diff < Decimal::new(1, 2));
            }
        }
    }

    #[test]
    fn discount_from_its_own_price_is_close(
        base in 1i64..10_000_000_000_000, d in discount(), r in rounding()
    ) {
        let base = Euro::from_cents(base).unwrap();
        let price = price_from_discount(base, &d, r);
        match discount_from_price(base, price, d.decimals(), r) {
            Ok(back) => {
                // the price carries cent precision only: the discount comes back within one cent of base
                let cent_in_percent = Decimal::ONE_HUNDRED / base.to_decimal() / Decimal::ONE_HUNDRED;
                let unit = Decimal::new(1, d.decimals());
                prop_assert!((back.value() - d.value()).abs() <= cent_in_percent + unit,
                    "{d} → {price} → {back}");
            }
            Err(e) => {
                // only a price of zero (discount rounds to 100 %) may fail
                prop_assert!(price.cents() <= 1, "{e}");
            }
        }
    }
}
