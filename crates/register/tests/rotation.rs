//! Art. 49 rotation: the outgoing contractor is excluded, an override with recorded reasons keeps them,
//! exemptions (c.5, c.6) and the configurable scope, bands and streak.

use chrono::NaiveDate;
use domain::money::Euro;
use register::rotation::{ART_49_C2, ART_49_C5, ART_49_C6, RotationError, outgoing_contractor};
use register::*;
use uuid::Uuid;

fn op(n: u128) -> OperatorId {
    OperatorId(Uuid::from_u128(n))
}
fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}
fn eur(s: &str) -> Euro {
    Euro::parse(s).unwrap()
}
const PROVINCE: u128 = 100;
fn buyer(m: u128) -> Buyer {
    Buyer {
        province: Uuid::from_u128(PROVINCE),
        municipality: Some(Uuid::from_u128(m)),
    }
}
fn award(o: u128, cat: &str, amount: &str, date: NaiveDate, m: u128) -> AwardRecord {
    AwardRecord {
        operator: op(o),
        category: Category::parse(cat).unwrap(),
        amount: eur(amount),
        date,
        buyer: buyer(m),
    }
}
fn ctx(cat: &str, amount: &str, m: u128, kind: AwardKind) -> RotationContext {
    RotationContext {
        category: Category::parse(cat).unwrap(),
        amount: eur(amount),
        date: d(2026, 6, 1),
        buyer: buyer(m),
        kind,
    }
}
fn ov(o: u128, reason: &str, attestation: Option<&str>) -> RotationOverride {
    RotationOverride {
        operator: op(o),
        reason: reason.into(),
        quality_attestation: attestation.map(Into::into),
    }
}

fn history() -> Vec<AwardRecord> {
    vec![
        award(1, "OG1", "300000.00", d(2025, 3, 1), 1),
        award(2, "OG1", "400000.00", d(2025, 9, 1), 1), // operator 2 is the outgoing contractor for OG1 in comune 1
        award(3, "OG3", "400000.00", d(2026, 1, 1), 1), // another category
        award(4, "OG1", "400000.00", d(2026, 2, 1), 2), // another municipality
        award(5, "OG1", "400000.00", d(2026, 7, 1), 1), // after the date of the check
    ]
}

const CANDIDATES: [u128; 5] = [1, 2, 3, 4, 5];

fn candidates() -> Vec<OperatorId> {
    CANDIDATES.iter().map(|&n| op(n)).collect()
}

#[test]
fn outgoing_contractor_is_excluded_with_the_article() {
    let rules = RotationRules::default();
    let out = apply_rotation(
        &candidates(),
        &history(),
        &ctx("OG1", "500000.00", 1, AwardKind::Negotiated),
        &rules,
        &[],
    )
    .unwrap();
    assert_eq!(out.kept, vec![op(1), op(3), op(4), op(5)]);
    assert_eq!(out.excluded.len(), 1);
    let e = &out.excluded[0];
    assert_eq!((e.operator, e.article), (op(2), ART_49_C2));
    assert!(
        e.reason.contains("OG1") && e.reason.contains("2025-09-01"),
        "{}",
        e.reason
    );
    assert_eq!(out.exempt_by, None);
}

#[test]
fn scope_per_buyer_or_per_sua() {
    let per_buyer = RotationRules::default();
    // in comune 2 the last OG1 award went to operator 4
    let c2 = ctx("OG1", "500000.00", 2, AwardKind::Negotiated);
    assert_eq!(
        outgoing_contractor(&history(), &c2, &per_buyer).unwrap(),
        Some((op(4), d(2026, 2, 1)))
    );
    // counting every award of the SUA, operator 4's award (Feb 2026) is the last OG1 award for comune 1 too
    let per_sua = RotationRules {
        scope: RotationScope::Sua,
        ..RotationRules::default()
    };
    let c1 = ctx("OG1", "500000.00", 1, AwardKind::Negotiated);
    assert_eq!(
        outgoing_contractor(&history(), &c1, &per_sua).unwrap(),
        Some((op(4), d(2026, 2, 1)))
    );
    assert_eq!(
        outgoing_contractor(&history(), &c1, &per_buyer).unwrap(),
        Some((op(2), d(2025, 9, 1)))
    );
    // a municipality with no history: nobody is outgoing
    let c9 = ctx("OG1", "500000.00", 9, AwardKind::Negotiated);
    assert_eq!(
        outgoing_contractor(&history(), &c9, &per_buyer).unwrap(),
        None
    );
    // another province's awards never count
    let mut other = history();
    other.push(AwardRecord {
        buyer: Buyer {
            province: Uuid::from_u128(999),
            municipality: None,
        },
        ..award(7, "OG1", "400000.00", d(2026, 5, 1), 1)
    });
    assert_eq!(
        outgoing_contractor(&other, &c1, &per_sua).unwrap(),
        Some((op(4), d(2026, 2, 1)))
    );
}

#[test]
fn bands_separate_the_rule() {
    // bands: < 150,000 | < 1,000,000 | rest; operator 2's award (400,000) is in band 1
    let rules = RotationRules {
        bands: vec![eur("150000.00"), eur("1000000.00")],
        ..RotationRules::default()
    };
    let same_band = ctx("OG1", "999999.99", 1, AwardKind::Negotiated);
    assert_eq!(
        outgoing_contractor(&history(), &same_band, &rules)
            .unwrap()
            .map(|o| o.0),
        Some(op(2))
    );
    let other_band = ctx("OG1", "1000000.00", 1, AwardKind::Negotiated);
    assert_eq!(
        outgoing_contractor(&history(), &other_band, &rules).unwrap(),
        None
    );
    assert_eq!(rules.band_of(eur("149999.99")), 0);
    assert_eq!(rules.band_of(eur("150000.00")), 1);
}

#[test]
fn streak_of_two_needs_two_consecutive_awards_to_the_same_operator() {
    let rules = RotationRules {
        streak: 2,
        ..RotationRules::default()
    };
    let c1 = ctx("OG1", "500000.00", 1, AwardKind::Negotiated);
    assert_eq!(outgoing_contractor(&history(), &c1, &rules).unwrap(), None);
    let mut h = history();
    h.push(award(2, "OG1", "350000.00", d(2025, 12, 1), 1));
    assert_eq!(
        outgoing_contractor(&h, &c1, &rules).unwrap(),
        Some((op(2), d(2025, 12, 1)))
    );
    // same-day awards: the later in the history is the later award
    h.push(award(6, "OG1", "350000.00", d(2025, 12, 1), 1));
    assert_eq!(outgoing_contractor(&h, &c1, &rules).unwrap(), None);
    let zero = RotationRules {
        streak: 0,
        ..RotationRules::default()
    };
    assert_eq!(
        outgoing_contractor(&h, &c1, &zero),
        Err(RotationError::ZeroStreak)
    );
}

#[test]
fn override_with_reasons_keeps_the_outgoing_contractor() {
    let rules = RotationRules::default();
    let c = ctx("OG1", "500000.00", 1, AwardKind::Negotiated);
    let o = ov(
        2,
        "only two qualified operators in the area; previous works executed on time",
        Some("RUP attestation 12/2026"),
    );
    let out = apply_rotation(
        &candidates(),
        &history(),
        &c,
        &rules,
        std::slice::from_ref(&o),
    )
    .unwrap();
    assert_eq!(out.kept, candidates());
    assert!(out.excluded.is_empty());
    assert_eq!(out.overridden, vec![o]);
}

#[test]
fn override_refusals() {
    let rules = RotationRules::default();
    let c = ctx("OG1", "500000.00", 1, AwardKind::Negotiated);
    let run = |o: RotationOverride, rules: &RotationRules| {
        apply_rotation(&candidates(), &history(), &c, rules, &[o])
    };
    assert_eq!(
        run(ov(2, "", Some("ok")), &rules),
        Err(RotationError::EmptyOverrideReason(op(2)))
    );
    assert_eq!(
        run(ov(2, "  \n", Some("ok")), &rules),
        Err(RotationError::EmptyOverrideReason(op(2)))
    );
    assert_eq!(
        run(ov(2, "market", None), &rules),
        Err(RotationError::MissingQualityAttestation(op(2)))
    );
    assert_eq!(
        run(ov(2, "market", Some(" ")), &rules),
        Err(RotationError::MissingQualityAttestation(op(2)))
    );
    // operator 1 is not outgoing: an override for them is refused
    assert_eq!(
        run(ov(1, "market", Some("ok")), &rules),
        Err(RotationError::OverrideNotNeeded(op(1)))
    );
    // without the correttivo's attestation requirement, the reason alone suffices
    let lax = RotationRules {
        require_quality_attestation: false,
        ..RotationRules::default()
    };
    assert!(
        run(ov(2, "market", None), &lax)
            .unwrap()
            .excluded
            .is_empty()
    );
}

#[test]
fn exemptions_c5_and_c6() {
    let rules = RotationRules::default();
    // c.5: uncapped market survey
    let c = ctx("OG1", "500000.00", 1, AwardKind::NegotiatedUncappedSurvey);
    let out = apply_rotation(&candidates(), &history(), &c, &rules, &[]).unwrap();
    assert_eq!((out.kept.len(), out.exempt_by), (5, Some(ART_49_C5)));
    // an override is pointless (and refused) when nobody is outgoing
    assert_eq!(
        apply_rotation(
            &candidates(),
            &history(),
            &c,
            &rules,
            &[ov(2, "x", Some("y"))]
        ),
        Err(RotationError::OverrideNotNeeded(op(2)))
    );
    // c.6: direct award below 5,000
    let mut h = history();
    h.push(award(2, "OG1", "4000.00", d(2026, 1, 1), 1));
    let small = ctx("OG1", "4999.99", 1, AwardKind::DirectAward);
    let out = apply_rotation(&[op(2)], &h, &small, &rules, &[]).unwrap();
    assert_eq!((out.kept, out.exempt_by), (vec![op(2)], Some(ART_49_C6)));
    let at_limit = ctx("OG1", "5000.00", 1, AwardKind::DirectAward);
    let out = apply_rotation(&[op(2)], &h, &at_limit, &rules, &[]).unwrap();
    assert_eq!(out.excluded.len(), 1);
    // without the exemption, even small direct awards rotate
    let none = RotationRules {
        direct_award_exemption_below: None,
        ..RotationRules::default()
    };
    assert_eq!(
        apply_rotation(&[op(2)], &h, &small, &none, &[])
            .unwrap()
            .excluded
            .len(),
        1
    );
}
