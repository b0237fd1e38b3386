mod common;

use common::*;
use lifecycle::procedure::{
    self, ContractContext, MinTerm, allowed_procedures, check_procedure, check_qualification,
    min_invitees, min_offer_term, min_request_term, required_qualification,
};
use lifecycle::rules::Rules;
use lifecycle::{
    AwardCriterion, ContractObject, ProcedureType as P, QualificationLevel as Q, TermReduction,
};

fn allowed(ctx: &ContractContext) -> Vec<P> {
    allowed_procedures(&Rules::default(), ctx)
        .unwrap()
        .into_iter()
        .map(|o| o.procedure)
        .collect()
}

#[test]
fn which_procedures_are_allowed_depends_on_object_value_and_date() {
    let on = date(2026, 11, 28);
    let small = allowed(&contract(ContractObject::Supplies, 30_000, on));
    assert!(small.contains(&P::AffidamentoDiretto));
    assert!(small.contains(&P::Aperta));
    let mid = allowed(&contract(ContractObject::Works, 400_000, on));
    assert!(!mid.contains(&P::AffidamentoDiretto));
    assert!(mid.contains(&P::NegoziataSenzaBando));
    let big = allowed(&contract(ContractObject::Services, 216_000, on));
    assert!(!big.contains(&P::NegoziataSenzaBando));
    assert!(big.contains(&P::Ristretta));
    // Same value in 2025: still below the 221,000 threshold.
    let y2025 = allowed(&contract(
        ContractObject::Services,
        216_000,
        date(2025, 6, 1),
    ));
    assert!(y2025.contains(&P::NegoziataSenzaBando));
    // Conditional procedures are listed with their condition.
    let opts = allowed_procedures(
        &Rules::default(),
        &contract(ContractObject::Works, 6_000_000, on),
    )
    .unwrap();
    let art76 = opts
        .iter()
        .find(|o| o.procedure == P::NegoziataSenzaPubblicazione)
        .unwrap();
    assert_eq!(art76.condition, Some("art. 76 c.2"));
    assert!(
        opts.iter()
            .find(|o| o.procedure == P::Aperta)
            .unwrap()
            .condition
            .is_none()
    );
}

#[test]
fn check_procedure_names_the_broken_rule() {
    let rules = Rules::default();
    let on = date(2026, 11, 28);
    let e = check_procedure(
        &rules,
        P::AffidamentoDiretto,
        &contract(ContractObject::Works, 150_000, on),
        false,
    )
    .unwrap_err();
    assert_eq!(e.rule, "art. 50 c.1 lett. a)");
    let e = check_procedure(
        &rules,
        P::NegoziataSenzaBando,
        &contract(ContractObject::Works, 5_404_000, on),
        false,
    )
    .unwrap_err();
    assert_eq!(e.rule, "art. 50 c.1 lett. c)-e)");
    let e = check_procedure(
        &rules,
        P::DialogoCompetitivo,
        &contract(ContractObject::Services, 900_000, on),
        false,
    )
    .unwrap_err();
    assert_eq!(e.rule, "art. 70 c.2");
    assert!(
        check_procedure(
            &rules,
            P::DialogoCompetitivo,
            &contract(ContractObject::Services, 900_000, on),
            true
        )
        .is_ok()
    );
    // A date with no thresholds in the table is refused under art. 14, not guessed.
    let e = check_procedure(
        &rules,
        P::Aperta,
        &contract(ContractObject::Works, 1, date(2031, 1, 1)),
        false,
    )
    .unwrap_err();
    assert_eq!(e.rule, "art. 14");
    assert!(e.message.contains("2031-01-01"));
}

#[test]
fn qualification_levels_follow_art_62_and_63() {
    let rules = Rules::default();
    let on = date(2026, 11, 28);
    let q = |o, v| required_qualification(&rules, &contract(o, v, on)).unwrap();
    assert_eq!(q(ContractObject::Works, 500_000), Q::None);
    assert_eq!(q(ContractObject::Works, 500_001), Q::Base);
    assert_eq!(q(ContractObject::Works, 1_000_000), Q::Base);
    assert_eq!(q(ContractObject::Works, 1_000_001), Q::Intermediate);
    assert_eq!(q(ContractObject::Works, 5_404_000), Q::Advanced);
    assert_eq!(q(ContractObject::Services, 140_000), Q::None);
    assert_eq!(q(ContractObject::Services, 140_001), Q::Base);
    assert_eq!(q(ContractObject::Supplies, 750_001), Q::Intermediate);
    assert_eq!(q(ContractObject::Supplies, 5_000_001), Q::Advanced);
    let e = check_qualification(
        &rules,
        &contract(ContractObject::Works, 2_000_000, on),
        Some(Q::Base),
    )
    .unwrap_err();
    assert_eq!(e.rule, "art. 62 c.2, art. 63 c.2");
    assert!(
        check_qualification(
            &rules,
            &contract(ContractObject::Works, 2_000_000, on),
            Some(Q::Advanced)
        )
        .is_ok()
    );
    // Undeclared: only what art. 62 c.1 allows every SA (works up to 500,000).
    let e = check_qualification(
        &rules,
        &contract(ContractObject::Works, 2_000_000, on),
        None,
    )
    .unwrap_err();
    assert!(e.message.contains("not declared"), "{}", e.message);
    assert!(
        check_qualification(&rules, &contract(ContractObject::Works, 500_000, on), None).is_ok()
    );
}

#[test]
fn minimum_terms_follow_art_71_and_72() {
    assert_eq!(
        min_offer_term(&Rules::default(), P::Aperta, TermReduction::None),
        Some(MinTerm {
            days: 30,
            article: "art. 71 c.2"
        })
    );
    assert_eq!(
        min_offer_term(&Rules::default(), P::Aperta, TermReduction::Urgency)
            .unwrap()
            .days,
        15
    );
    assert_eq!(
        min_offer_term(
            &Rules::default(),
            P::Aperta,
            TermReduction::PriorInformationNotice
        )
        .unwrap()
        .days,
        15
    );
    assert_eq!(
        min_offer_term(
            &Rules::default(),
            P::Ristretta,
            TermReduction::PriorInformationNotice
        )
        .unwrap()
        .days,
        10
    );
    assert_eq!(
        min_offer_term(&Rules::default(), P::Ristretta, TermReduction::Urgency)
            .unwrap()
            .article,
        "art. 72 c.6 lett. b)"
    );
    assert_eq!(
        min_request_term(&Rules::default(), P::Ristretta, TermReduction::None)
            .unwrap()
            .days,
        30
    );
    assert_eq!(
        min_request_term(&Rules::default(), P::Ristretta, TermReduction::Urgency)
            .unwrap()
            .days,
        15
    );
    assert_eq!(
        min_request_term(&Rules::default(), P::Aperta, TermReduction::None),
        None
    );
    assert_eq!(
        min_offer_term(
            &Rules::default(),
            P::NegoziataSenzaBando,
            TermReduction::None
        ),
        None
    );
    assert_eq!(
        min_offer_term(
            &Rules::default(),
            P::AffidamentoDiretto,
            TermReduction::None
        ),
        None
    );
}

#[test]
fn minimum_invitees_are_5_or_10_for_negotiated_procedures() {
    let rules = Rules::default();
    let on = date(2026, 11, 28);
    let inv = |o, v| {
        let b = procedure::band(&rules, &contract(o, v, on)).unwrap();
        min_invitees(P::NegoziataSenzaBando, &b).map(|m| m.count)
    };
    assert_eq!(inv(ContractObject::Works, 200_000), Some(5));
    assert_eq!(inv(ContractObject::Works, 1_000_000), Some(10));
    assert_eq!(inv(ContractObject::Services, 150_000), Some(5));
    let b = procedure::band(&rules, &contract(ContractObject::Works, 200_000, on)).unwrap();
    assert_eq!(min_invitees(P::Aperta, &b), None);
}

#[test]
fn the_earliest_deadline_rolls_forward_with_the_calendar() {
    let rules = Rules::default();
    let term = MinTerm {
        days: 30,
        article: "art. 71 c.2",
    };
    // 25 Nov 2026 + 30 = Christmas -> Mon 28 Dec, at the end of that day.
    assert_eq!(
        procedure::earliest_deadline(&rules, rome(2026, 11, 25, 10, 0), term).unwrap(),
        rome(2026, 12, 29, 0, 0)
    );
    // A patron saint on 28 Dec (invented) moves it once more.
    let local = Rules {
        calendar: rules
            .calendar
            .clone()
            .with_local_holiday("Santo patrono", 12, 28)
            .unwrap(),
        ..Rules::default()
    };
    assert_eq!(
        procedure::earliest_deadline(&local, rome(2026, 11, 25, 10, 0), term).unwrap(),
        rome(2026, 12, 30, 0, 0)
    );
}

#[test]
fn maximum_durations_follow_allegato_i_3() {
    assert_eq!(
        P::Aperta.max_duration_months(AwardCriterion::QualityPrice),
        Some(9)
    );
    assert_eq!(
        P::Aperta.max_duration_months(AwardCriterion::LowestPrice),
        Some(5)
    );
    assert_eq!(
        P::Ristretta.max_duration_months(AwardCriterion::QualityPrice),
        Some(10)
    );
    assert_eq!(
        P::NegoziataSenzaBando.max_duration_months(AwardCriterion::LowestPrice),
        Some(3)
    );
    assert_eq!(
        P::AffidamentoDiretto.max_duration_months(AwardCriterion::LowestPrice),
        None
    );
}

#[test]
fn a_contract_context_can_be_built_from_euro() {
    let euro = domain::money::Euro::parse("215999.99").unwrap();
    let ctx = ContractContext::from_euro(ContractObject::Services, euro, date(2026, 11, 28));
    assert_eq!(ctx.estimated_value, rust_decimal_macros::dec!(215999.99));
    assert!(allowed(&ctx).contains(&P::NegoziataSenzaBando));
}

#[test]
fn rules_load_from_configuration_and_keep_their_checks() {
    let rules = Rules {
        calendar: Rules::default()
            .calendar
            .with_local_holiday("San Petronio", 10, 4)
            .unwrap(),
        min_offer_days_without_statutory_term: Some(10),
        ..Rules::default()
    };
    let json = serde_json::to_string(&rules).unwrap();
    let back: Rules = serde_json::from_str(&json).unwrap();
    assert_eq!(back, rules);
    let mut bad: serde_json::Value = serde_json::from_str(&json).unwrap();
    bad["thresholds"]["eu"][0]["valid_to"] = serde_json::json!("2020-01-01");
    assert!(serde_json::from_value::<Rules>(bad).is_err());
}

#[test]
fn art_73_terms_are_cited_to_c_4_and_c_5_and_their_value_is_configurable() {
    let p = P::CompetitivaConNegoziazione;
    let rules = Rules::default();
    let requests = min_request_term(&rules, p, TermReduction::None).unwrap();
    let offers = min_offer_term(&rules, p, TermReduction::None).unwrap();
    assert_eq!((requests.days, requests.article), (30, "art. 73 c.4"));
    assert_eq!((offers.days, offers.article), (30, "art. 73 c.5"));
    // The 2023 Italian text's reading: 10 and 25 days.
    let text_2023 = Rules {
        art73: lifecycle::rules::Art73Terms::TEXT_2023,
        ..Rules::default()
    };
    assert_eq!(
        min_request_term(&text_2023, p, TermReduction::None)
            .unwrap()
            .days,
        10
    );
    assert_eq!(
        min_offer_term(&text_2023, p, TermReduction::None)
            .unwrap()
            .days,
        25
    );
}

#[test]
fn art_14_c4_options_and_renewals_count_in_the_value_that_picks_the_procedure() {
    use domain::costs::contract_value;
    use domain::money::Euro;
    let eur = |s: &str| s.parse::<Euro>().unwrap();
    let on = date(2026, 3, 1);
    // 200,000 of services alone: a negotiated procedure without a bando is allowed
    let base = contract(ContractObject::Services, 200_000, on);
    assert!(check_procedure(&Rules::default(), P::NegoziataSenzaBando, &base, false).is_ok());
    // with 20,000 of options the value is 220,000: above the 216,000 threshold
    let value = contract_value([(eur("200000"), eur("20000"), Euro::ZERO)]).unwrap();
    let ctx = ContractContext::from_euro(ContractObject::Services, value, on);
    let e = check_procedure(&Rules::default(), P::NegoziataSenzaBando, &ctx, false).unwrap_err();
    assert_eq!(e.rule, "art. 50 c.1 lett. c)-e)");
}
