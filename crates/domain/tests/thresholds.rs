use chrono::NaiveDate;
use domain::thresholds::{
    Art50Band, Art50Bands, AuthorityKind, ContractObject, EuThresholds, Sector, ThresholdError,
    ThresholdScope, ThresholdTable,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn band(date: NaiveDate, object: ContractObject, value: Decimal) -> Art50Band {
    ThresholdTable::official()
        .band(date, ThresholdScope::sub_central(object), value)
        .unwrap()
        .band
}

#[test]
fn the_eu_threshold_is_chosen_by_date() {
    let t = ThresholdTable::official();
    let works = ThresholdScope::sub_central(ContractObject::Works);
    let services = ThresholdScope::sub_central(ContractObject::Services);
    assert_eq!(
        t.eu_threshold(d(2025, 12, 31), works).unwrap(),
        dec!(5538000)
    );
    assert_eq!(t.eu_threshold(d(2026, 1, 1), works).unwrap(), dec!(5404000));
    assert_eq!(
        t.eu_threshold(d(2025, 6, 1), services).unwrap(),
        dec!(221000)
    );
    assert_eq!(
        t.eu_threshold(d(2027, 12, 31), services).unwrap(),
        dec!(216000)
    );
}

#[test]
fn each_kind_of_authority_and_contract_gets_its_threshold_in_2026() {
    let t = ThresholdTable::official();
    let date = d(2026, 11, 28);
    let scope = |object, authority, sector, social_services| ThresholdScope {
        object,
        authority,
        sector,
        social_services,
    };
    use AuthorityKind::*;
    use ContractObject::*;
    use Sector::*;
    let cases = [
        (scope(Supplies, Central, Ordinary, false), dec!(140000)),
        (scope(Services, SubCentral, Ordinary, false), dec!(216000)),
        (scope(Services, SubCentral, Ordinary, true), dec!(750000)),
        (scope(Works, Central, Ordinary, false), dec!(5404000)),
        (scope(Supplies, SubCentral, Special, false), dec!(432000)),
        (scope(Works, SubCentral, Special, false), dec!(5404000)),
    ];
    for (s, want) in cases {
        assert_eq!(t.eu_threshold(date, s).unwrap(), want, "{s:?}");
    }
}

#[test]
fn works_bands_of_art_50_have_exact_boundaries() {
    let date = d(2026, 11, 28);
    let w = ContractObject::Works;
    assert_eq!(band(date, w, dec!(0)), Art50Band::LettA);
    assert_eq!(band(date, w, dec!(149999.99)), Art50Band::LettA);
    assert_eq!(band(date, w, dec!(150000)), Art50Band::LettC);
    assert_eq!(band(date, w, dec!(999999.99)), Art50Band::LettC);
    assert_eq!(band(date, w, dec!(1000000)), Art50Band::LettD);
    assert_eq!(band(date, w, dec!(5403999.99)), Art50Band::LettD);
    assert_eq!(band(date, w, dec!(5404000)), Art50Band::AboveEuThreshold);
    // The same value was still below the 2024-2025 threshold.
    assert_eq!(band(d(2025, 12, 31), w, dec!(5404000)), Art50Band::LettD);
}

#[test]
fn services_and_supplies_bands_of_art_50_have_exact_boundaries() {
    let date = d(2026, 11, 28);
    for o in [ContractObject::Services, ContractObject::Supplies] {
        assert_eq!(band(date, o, dec!(139999.99)), Art50Band::LettB);
        assert_eq!(band(date, o, dec!(140000)), Art50Band::LettE);
        assert_eq!(band(date, o, dec!(215999.99)), Art50Band::LettE);
        assert_eq!(band(date, o, dec!(216000)), Art50Band::AboveEuThreshold);
        assert_eq!(band(d(2025, 3, 1), o, dec!(216000)), Art50Band::LettE);
    }
}

#[test]
fn minimum_invitees_are_5_or_10() {
    let t = ThresholdTable::official();
    let date = d(2026, 11, 28);
    let inv = |o, v| {
        t.band(date, ThresholdScope::sub_central(o), v)
            .unwrap()
            .min_invitees
    };
    assert_eq!(inv(ContractObject::Works, dec!(100000)), None);
    assert_eq!(inv(ContractObject::Works, dec!(500000)), Some(5));
    assert_eq!(inv(ContractObject::Works, dec!(2000000)), Some(10));
    assert_eq!(inv(ContractObject::Services, dec!(200000)), Some(5));
    assert_eq!(inv(ContractObject::Services, dec!(300000)), None);
}

#[test]
fn a_date_outside_every_period_is_an_error_naming_the_date() {
    let t = ThresholdTable::official();
    let scope = ThresholdScope::sub_central(ContractObject::Works);
    let err = t.band(d(2028, 1, 1), scope, dec!(100)).unwrap_err();
    assert_eq!(err, ThresholdError::NoEuPeriod(d(2028, 1, 1)));
    assert!(err.to_string().starts_with("date:"));
    assert!(t.band(d(2023, 12, 31), scope, dec!(100)).is_err());
    assert_eq!(
        t.art50_at(d(2023, 6, 30)).unwrap_err(),
        ThresholdError::NoArt50Period(d(2023, 6, 30))
    );
}

#[test]
fn a_negative_value_is_refused() {
    let t = ThresholdTable::official();
    let scope = ThresholdScope::sub_central(ContractObject::Works);
    let err = t.band(d(2026, 1, 1), scope, dec!(-1)).unwrap_err();
    assert!(err.to_string().starts_with("value:"));
    assert!(
        t.is_above_eu_threshold(d(2026, 1, 1), scope, dec!(-0.01))
            .is_err()
    );
}

#[test]
fn a_future_revision_can_be_loaded_as_data() {
    let mut eu = ThresholdTable::official().eu_periods().to_vec();
    let mut next = eu.last().unwrap().clone();
    next.valid_from = d(2028, 1, 1);
    next.valid_to = d(2029, 12, 31);
    next.works = dec!(5500000);
    eu.push(next);
    let art50 = ThresholdTable::official().art50_periods().to_vec();
    let t = ThresholdTable::new(eu, art50).unwrap();
    let scope = ThresholdScope::sub_central(ContractObject::Works);
    assert_eq!(t.eu_threshold(d(2028, 6, 1), scope).unwrap(), dec!(5500000));
    assert_eq!(t.eu_threshold(d(2027, 6, 1), scope).unwrap(), dec!(5404000));
}

#[test]
fn overlapping_or_inverted_periods_are_refused() {
    let official = ThresholdTable::official();
    let art50 = official.art50_periods().to_vec();
    let mut eu = official.eu_periods().to_vec();
    let mut overlapping: EuThresholds = eu[1].clone();
    overlapping.valid_from = d(2027, 6, 1);
    overlapping.valid_to = d(2029, 6, 1);
    eu.push(overlapping);
    assert_eq!(
        ThresholdTable::new(eu, art50.clone()).unwrap_err(),
        ThresholdError::Overlap(d(2027, 6, 1))
    );

    let mut inverted = official.eu_periods()[0].clone();
    inverted.valid_to = d(2023, 1, 1);
    assert!(matches!(
        ThresholdTable::new(vec![inverted], art50.clone()).unwrap_err(),
        ThresholdError::EmptyPeriod { .. }
    ));

    let mut open_then_more: Vec<Art50Bands> = art50.clone();
    let mut later = art50[0].clone();
    later.valid_from = d(2030, 1, 1);
    open_then_more.push(later);
    assert!(matches!(
        ThresholdTable::new(official.eu_periods().to_vec(), open_then_more).unwrap_err(),
        ThresholdError::Overlap(_)
    ));
}

#[test]
fn contract_objects_have_stable_names() {
    for o in ContractObject::ALL {
        let s = serde_json::to_string(&o).unwrap();
        assert_eq!(s, format!("\"{}\"", o.as_str()));
        assert_eq!(o.as_str().parse::<ContractObject>().unwrap(), o);
    }
    let err = "lavori".parse::<ContractObject>().unwrap_err();
    assert!(err.to_string().starts_with("object:"));
}

#[test]
fn a_deserialised_table_is_checked_like_a_new_one() {
    let t = ThresholdTable::official();
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(
        serde_json::from_value::<ThresholdTable>(json.clone()).unwrap(),
        t
    );
    let mut bad = json;
    bad["eu"][1]["valid_from"] = serde_json::json!("2025-06-01");
    let err = serde_json::from_value::<ThresholdTable>(bad).unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
}
