//! Property tests: the draw is a replayable sample of distinct eligible operators whatever the input order;
//! eligibility agrees with the per-operator check; parsers never panic.

use chrono::NaiveDate;
use domain::money::Euro;
use proptest::prelude::*;
use register::*;
use uuid::Uuid;

fn d(days: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Days::new(days)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn draw_properties(
        ids in prop::collection::btree_set(any::<u128>(), 1..40),
        pick in any::<prop::sample::Index>(),
        seed in any::<[u8; 32]>(),
        rotate in any::<usize>(),
    ) {
        let eligible: Vec<OperatorId> = ids.into_iter().map(|n| OperatorId(Uuid::from_u128(n))).collect();
        let n = pick.index(eligible.len()) + 1;
        let dr = draw(&eligible, n, seed).unwrap();
        prop_assert_eq!(dr.invited.len(), n);
        let mut distinct = dr.invited.clone();
        distinct.sort();
        distinct.dedup();
        prop_assert_eq!(distinct.len(), n);
        prop_assert!(dr.invited.iter().all(|o| eligible.contains(o)));
        prop_assert!(dr.replays());
        let mut rotated = eligible.clone();
        let len = rotated.len();
        rotated.rotate_left(rotate % len);
        prop_assert_eq!(draw(&rotated, n, seed).unwrap(), dr);
        prop_assert!(draw(&eligible, eligible.len() + 1, seed).is_err());
    }

    #[test]
    fn eligible_agrees_with_check(
        specs in prop::collection::vec((0u8..4, 0usize..10, 0u64..400, any::<bool>()), 1..60),
        amount in 0i64..2_000_000_000,
        day in 0u64..400,
    ) {
        let og1 = SoaCategory::parse("OG1").unwrap();
        let listings: Vec<Listing> = specs.iter().enumerate().map(|(i, &(status, class, expiry, has_class))| Listing {
            operator: OperatorId(Uuid::from_u128(i as u128)),
            qualification: Qualification::Works { category: og1, class: has_class.then_some(SoaClass::ALL[class]) },
            territories: vec![Territory::National],
            status: match status {
                0 => ListingStatus::Applied,
                1 => ListingStatus::Suspended { on: d(0), reason: "r".into() },
                2 => ListingStatus::Removed { on: d(0), reason: "r".into() },
                _ => ListingStatus::Admitted { on: d(0) },
            },
            expires_on: d(expiry),
        }).collect();
        let register = Register::new(listings.clone()).unwrap();
        let query = EligibilityQuery {
            category: Category::Works(og1),
            amount: Euro::from_cents(amount).unwrap(),
            date: d(day),
            territory: None,
        };
        let rules = EligibilityRules::default();
        let eligible = register.eligible(&query, &rules);
        for l in &listings {
            let ok = register.check(l.operator, &query, &rules).is_ok();
            prop_assert_eq!(ok, eligible.contains(&l.operator));
            if ok {
                let admitted = matches!(l.status, ListingStatus::Admitted { .. });
                prop_assert!(admitted);
                prop_assert!(l.expires_on >= query.date);
            }
        }
        prop_assert!(eligible.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,12}") {
        let _ = SoaCategory::parse(&s);
        let _ = SoaClass::parse(&s);
        let _ = Category::parse(&s);
        let _ = CpvDivision::parse(&s);
    }
}
