//! Euro amounts and discounts: parsing, refusals, exact conversions.

use domain::money::{
    Discount, Euro, MoneyError, Rounding, discount_from_price, price_from_discount,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn eur(s: &str) -> Euro {
    Euro::parse(s).unwrap()
}

#[test]
fn euro_parse_and_display() {
    assert_eq!(eur("1234.56").cents(), 123_456);
    assert_eq!(eur("1234.5").cents(), 123_450);
    assert_eq!(eur("1234").cents(), 123_400);
    assert_eq!(eur("0.01").cents(), 1);
    assert_eq!(eur("1234.5").to_string(), "1234.50");
    assert_eq!(eur("0").to_string(), "0.00");
    assert_eq!(eur("0.07").to_string(), "0.07");
    assert_eq!(
        Euro::from_cents(i64::MAX).unwrap().to_string(),
        "92233720368547758.07"
    );
    assert_eq!(eur("92233720368547758.07").cents(), i64::MAX);
}

#[test]
fn euro_parse_refusals_name_the_rule() {
    assert!(matches!(Euro::parse("-1.00"), Err(MoneyError::Negative(_))));
    assert!(matches!(
        Euro::parse("1.234"),
        Err(MoneyError::TooManyDecimals(_))
    ));
    assert!(matches!(
        Euro::parse("92233720368547758.08"),
        Err(MoneyError::Overflow(_))
    ));
    for bad in [
        "", ".5", "1.", "1,50", "1 000", "+1", "1.2.3", "1e3", " 1", "€1", "1.-5",
    ] {
        assert!(
            matches!(Euro::parse(bad), Err(MoneyError::Malformed { .. })),
            "{bad:?}: {:?}",
            Euro::parse(bad)
        );
    }
    let msg = Euro::parse("1,50").unwrap_err().to_string();
    assert!(msg.contains("amount") && msg.contains("1,50"), "{msg}");
}

#[test]
fn euro_from_cents_and_decimal() {
    assert!(matches!(Euro::from_cents(-1), Err(MoneyError::Negative(s)) if s == "-0.01"));
    assert_eq!(Euro::from_decimal(dec!(12.3)).unwrap().cents(), 1230);
    assert_eq!(Euro::from_decimal(dec!(1.500)).unwrap().cents(), 150);
    assert_eq!(Euro::from_decimal(dec!(-0.00)).unwrap(), Euro::ZERO);
    assert!(matches!(
        Euro::from_decimal(dec!(1.505)),
        Err(MoneyError::TooManyDecimals(_))
    ));
    assert!(matches!(
        Euro::from_decimal(dec!(-0.01)),
        Err(MoneyError::Negative(_))
    ));
    assert!(matches!(
        Euro::from_decimal(Decimal::MAX),
        Err(MoneyError::Overflow(_))
    ));
    assert_eq!(eur("1234.56").to_decimal(), dec!(1234.56));
    assert_eq!(eur("1234.56").to_decimal().scale(), 2);
}

#[test]
fn euro_checked_arithmetic() {
    assert_eq!(eur("1.10").checked_add(eur("2.95")), Some(eur("4.05")));
    assert_eq!(eur("4.05").checked_sub(eur("2.95")), Some(eur("1.10")));
    assert_eq!(eur("1.00").checked_sub(eur("1.01")), None);
    assert_eq!(
        Euro::from_cents(i64::MAX).unwrap().checked_add(eur("0.01")),
        None
    );
}

#[test]
fn euro_serde_is_a_string() {
    assert_eq!(
        serde_json::to_string(&eur("1234.5")).unwrap(),
        "\"1234.50\""
    );
    let e: Euro = serde_json::from_str("\"0.99\"").unwrap();
    assert_eq!(e.cents(), 99);
    assert!(
        serde_json::from_str::<Euro>("1234.5").is_err(),
        "a JSON number is refused"
    );
    let err = serde_json::from_str::<Euro>("\"-3\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("negative"), "{err}");
}

#[test]
fn discount_construction() {
    let d = Discount::new(dec!(12.5), 3).unwrap();
    assert_eq!(d.value(), dec!(12.500));
    assert_eq!(d.decimals(), 3);
    assert_eq!(d.to_string(), "12.500");
    assert_eq!(Discount::new(dec!(0), 2).unwrap().to_string(), "0.00");
    assert!(matches!(
        Discount::new(dec!(100), 2),
        Err(MoneyError::DiscountOutOfRange(_))
    ));
    assert!(matches!(
        Discount::new(dec!(-0.01), 2),
        Err(MoneyError::DiscountOutOfRange(_))
    ));
    assert!(matches!(
        Discount::new(dec!(12.3456), 3),
        Err(MoneyError::DiscountTooManyDecimals { decimals: 3, .. })
    ));
    assert!(matches!(
        Discount::new(dec!(1), 11),
        Err(MoneyError::DiscountDecimals {
            decimals: 11,
            max: 10
        })
    ));
    assert_eq!(Discount::new(dec!(99.99), 2).unwrap().value(), dec!(99.99));
}

#[test]
fn discount_parse_and_serde() {
    assert_eq!(Discount::parse("12.345", 3).unwrap().value(), dec!(12.345));
    assert_eq!(Discount::parse("012.3", 3).unwrap().to_string(), "12.300");
    assert!(matches!(
        Discount::parse("12.3456", 3),
        Err(MoneyError::DiscountTooManyDecimals { .. })
    ));
    assert!(matches!(
        Discount::parse("100", 3),
        Err(MoneyError::DiscountOutOfRange(_))
    ));
    assert!(matches!(
        Discount::parse("1000.5", 3),
        Err(MoneyError::DiscountOutOfRange(_))
    ));
    for bad in ["", "-1", "12,5", "12.5%", ".5", "5.", " 5"] {
        assert!(
            matches!(
                Discount::parse(bad, 3),
                Err(MoneyError::DiscountMalformed { .. })
            ),
            "{bad:?}"
        );
    }
    let d: Discount = "7.250".parse().unwrap();
    assert_eq!(d.decimals(), 3);
    let json = serde_json::to_string(&Discount::new(dec!(7.25), 3).unwrap()).unwrap();
    assert_eq!(json, "\"7.250\"");
    let back: Discount = serde_json::from_str(&json).unwrap();
    assert_eq!(back, Discount::new(dec!(7.25), 3).unwrap());
    assert!(serde_json::from_str::<Discount>("\"100.00\"").is_err());
}

#[test]
fn price_from_discount_rounds_as_asked() {
    // 100,000.00 with 12.345 % → 87,655.00 exactly
    let base = eur("100000.00");
    let d = Discount::new(dec!(12.345), 3).unwrap();
    assert_eq!(
        price_from_discount(base, &d, Rounding::HalfUp),
        eur("87655.00")
    );
    // 1,234.57 with 10.555 % → 1,104.260... exactly 1104.2600... compute: 123457 × 89445 / 100000 = 110426.1236...
    let base = eur("1234.57");
    let d = Discount::new(dec!(10.555), 3).unwrap();
    assert_eq!(
        price_from_discount(base, &d, Rounding::HalfUp).cents(),
        110_426
    );
    assert_eq!(
        price_from_discount(base, &d, Rounding::Truncate).cents(),
        110_426
    );
    // a tie: 0.01 with 50 % = 0.005 → HalfUp 0.01, Truncate 0.00
    let d = Discount::new(dec!(50), 0).unwrap();
    assert_eq!(
        price_from_discount(eur("0.01"), &d, Rounding::HalfUp).cents(),
        1
    );
    assert_eq!(
        price_from_discount(eur("0.01"), &d, Rounding::Truncate).cents(),
        0
    );
    // 0.15 with 33.3 % = 0.10005 → both 0.10
    let d = Discount::new(dec!(33.3), 1).unwrap();
    assert_eq!(
        price_from_discount(eur("0.15"), &d, Rounding::HalfUp).cents(),
        10
    );
    // the largest base and the finest discount do not overflow
    let max = Euro::from_cents(i64::MAX).unwrap();
    let d = Discount::new(dec!(0.0000000001), 10).unwrap();
    assert_eq!(
        price_from_discount(max, &d, Rounding::HalfUp).cents(),
        i64::MAX - 9_223_372
    );
    let d = Discount::new(dec!(99.9999999999), 10).unwrap();
    assert_eq!(
        price_from_discount(max, &d, Rounding::Truncate).cents(),
        9_223_372
    );
    // zero discount: same price
    let zero = Discount::new(Decimal::ZERO, 2).unwrap();
    assert_eq!(price_from_discount(base, &zero, Rounding::Truncate), base);
}

#[test]
fn discount_from_price_rounds_and_refuses() {
    let base = eur("100000.00");
    let d = discount_from_price(base, eur("87655.00"), 3, Rounding::HalfUp).unwrap();
    assert_eq!(d.value(), dec!(12.345));
    // 1/3 off: 33.3333... → 33.333 either way; 2/3 off → 66.667 HalfUp, 66.666 Truncate
    let base = eur("3.00");
    assert_eq!(
        discount_from_price(base, eur("2.00"), 3, Rounding::HalfUp)
            .unwrap()
            .value(),
        dec!(33.333)
    );
    assert_eq!(
        discount_from_price(base, eur("1.00"), 3, Rounding::HalfUp)
            .unwrap()
            .value(),
        dec!(66.667)
    );
    assert_eq!(
        discount_from_price(base, eur("1.00"), 3, Rounding::Truncate)
            .unwrap()
            .value(),
        dec!(66.666)
    );
    assert_eq!(
        discount_from_price(base, base, 2, Rounding::HalfUp)
            .unwrap()
            .value(),
        dec!(0.00)
    );
    assert_eq!(
        discount_from_price(Euro::ZERO, Euro::ZERO, 2, Rounding::HalfUp),
        Err(MoneyError::ZeroBase)
    );
    assert!(matches!(
        discount_from_price(base, eur("3.01"), 2, Rounding::HalfUp),
        Err(MoneyError::PriceAboveBase { .. })
    ));
    // a zero price is a 100 % discount: out of range
    assert!(matches!(
        discount_from_price(base, Euro::ZERO, 2, Rounding::HalfUp),
        Err(MoneyError::DiscountOutOfRange(_))
    ));
    // 0.01 on 1,000,000.00 is 99.999999 %: HalfUp at 3 places reaches 100 and is refused, Truncate is not
    let big = eur("1000000.00");
    assert!(discount_from_price(big, eur("0.01"), 3, Rounding::HalfUp).is_err());
    assert_eq!(
        discount_from_price(big, eur("0.01"), 3, Rounding::Truncate)
            .unwrap()
            .value(),
        dec!(99.999)
    );
    assert!(matches!(
        discount_from_price(base, base, 11, Rounding::HalfUp),
        Err(MoneyError::DiscountDecimals { .. })
    ));
}
