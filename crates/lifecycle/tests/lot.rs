mod common;

use common::*;
use lifecycle::lot::{
    self, Commission, LotEvent as E, LotFacts, LotState as S, StandstillExemption,
};
use lifecycle::rules::Rules;
use lifecycle::{
    Addressee, AwardCriterion, CommunicationKind, ContractObject, Effect, ProcedureType, TimerKind,
};

/// A quality-price lot of an open procedure for services of 500,000 (above threshold in 2026).
fn qp_lot() -> LotFacts {
    let mut f = LotFacts::new(
        ProcedureType::Aperta,
        AwardCriterion::QualityPrice,
        contract(ContractObject::Services, 500_000, date(2026, 11, 2)),
    );
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    f.offers_received = 4;
    f
}

/// A lowest-price lot of a negotiated procedure for works of 800,000 (below threshold).
fn lp_works_lot() -> LotFacts {
    let mut f = LotFacts::new(
        ProcedureType::NegoziataSenzaBando,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Works, 800_000, date(2026, 11, 2)),
    );
    f.offer_deadline = Some(rome(2026, 11, 20, 12, 0));
    f.offers_received = 7;
    f
}

#[test]
fn offers_are_sealed_until_the_deadline() {
    let f = qp_lot();
    refused(
        lot::apply(
            S::Pending,
            &E::OpenAdministrative,
            &f,
            rome(2026, 12, 2, 11, 0),
        ),
        "lex specialis: offer deadline",
    );
    let t = accepted(lot::apply(
        S::Pending,
        &E::OpenAdministrative,
        &f,
        rome(2026, 12, 2, 12, 0),
    ));
    assert_eq!(t.to, S::AdminReview);
}

#[test]
fn a_lot_without_offers_is_deserted() {
    let mut f = qp_lot();
    f.offers_received = 0;
    let now = rome(2026, 12, 3, 9, 0);
    refused(
        lot::apply(S::Pending, &E::OpenAdministrative, &f, now),
        "art. 90 c.1 lett. a)",
    );
    assert_eq!(
        accepted(lot::apply(S::Pending, &E::DeclareDeserted, &f, now)).to,
        S::Deserted
    );
}

#[test]
fn the_quality_price_path_goes_through_the_commission_and_frozen_scores() {
    let mut f = qp_lot();
    let now = rome(2026, 12, 3, 9, 0);
    f.admitted = 3;
    f.excluded = 1;
    f.pending_soccorso = 1;
    refused(
        lot::apply(S::AdminReview, &E::StartTechnicalEvaluation, &f, now),
        "art. 101 c.1",
    );
    f.pending_soccorso = 0;
    refused(
        lot::apply(S::AdminReview, &E::StartEconomicEvaluation, &f, now),
        "art. 108",
    );
    let t = accepted(lot::apply(
        S::AdminReview,
        &E::StartTechnicalEvaluation,
        &f,
        now,
    ));
    assert_eq!(t.to, S::TechEval);
    // The excluded operator is told within 5 days (art. 90 c.1 d).
    assert!(
        t.communications()
            .any(|(to, k, d, a)| to == Addressee::Operator
                && k == CommunicationKind::Exclusion
                && d == 5
                && a == "art. 90 c.1 lett. d)")
    );

    // Commission: odd, at most five; the RUP may not chair it above threshold.
    f.commission = Some(Commission {
        members: 4,
        rup_is_president: false,
    });
    refused(
        lot::apply(S::TechEval, &E::AppointCommission, &f, now),
        "art. 93 c.2",
    );
    f.commission = Some(Commission {
        members: 7,
        rup_is_president: false,
    });
    refused(
        lot::apply(S::TechEval, &E::AppointCommission, &f, now),
        "art. 93 c.2",
    );
    f.commission = Some(Commission {
        members: 3,
        rup_is_president: true,
    });
    refused(
        lot::apply(S::TechEval, &E::AppointCommission, &f, now),
        "art. 93 c.3, art. 51",
    );
    f.commission = Some(Commission {
        members: 3,
        rup_is_president: false,
    });
    refused(
        lot::apply(
            S::TechEval,
            &E::AppointCommission,
            &f,
            rome(2026, 12, 1, 9, 0),
        ),
        "art. 93 c.1",
    );
    accepted(lot::apply(S::TechEval, &E::AppointCommission, &f, now));

    f.technical_scored = 2;
    refused(
        lot::apply(S::TechEval, &E::FreezeTechnicalScores, &f, now),
        "art. 108",
    );
    f.technical_scored = 3;
    assert_eq!(
        accepted(lot::apply(S::TechEval, &E::FreezeTechnicalScores, &f, now)).to,
        S::EconEval
    );
    refused(
        lot::apply(S::EconEval, &E::OpenEconomicOffers, &f, now),
        "art. 108, sealed envelopes",
    );
    f.tech_scores_frozen = true;
    assert_eq!(
        accepted(lot::apply(S::EconEval, &E::OpenEconomicOffers, &f, now)).to,
        S::Ranked
    );
}

#[test]
fn the_economic_envelope_cannot_be_reached_from_admin_review_in_quality_price() {
    let mut f = qp_lot();
    f.admitted = 2;
    f.tech_scores_frozen = true;
    let now = rome(2026, 12, 3, 9, 0);
    refused(
        lot::apply(S::AdminReview, &E::OpenEconomicOffers, &f, now),
        lifecycle::RULE_TRANSITION_TABLE,
    );
    refused(
        lot::apply(S::TechEval, &E::OpenEconomicOffers, &f, now),
        lifecycle::RULE_TRANSITION_TABLE,
    );
}

#[test]
fn the_ranking_needs_anomaly_and_tie_resolved_before_the_proposal() {
    let mut f = qp_lot();
    let now = rome(2026, 12, 10, 9, 0);
    f.ranked_remaining = 3;
    f.tie_among_best = true;
    refused(
        lot::apply(S::Ranked, &E::ProposeAward, &f, now),
        "R.D. 827/1924 art. 77",
    );
    accepted(lot::apply(S::Ranked, &E::ResolveTie, &f, now));
    f.tie_among_best = false;
    refused(
        lot::apply(S::Ranked, &E::ResolveTie, &f, now),
        "R.D. 827/1924 art. 77",
    );
    f.best_offer_suspected_anomalous = true;
    refused(
        lot::apply(S::Ranked, &E::ProposeAward, &f, now),
        "art. 110 c.1",
    );
    f.anomaly_term_days = Some(16);
    refused(
        lot::apply(S::Ranked, &E::StartAnomalyCheck, &f, now),
        "art. 110 c.2",
    );
    f.anomaly_term_days = Some(15);
    let t = accepted(lot::apply(S::Ranked, &E::StartAnomalyCheck, &f, now));
    // 10 Dec + 15 = Fri 25 Dec -> Mon 28 Dec, end of day.
    assert_eq!(
        t.timer(TimerKind::AnomalyExplanations),
        Some(rome(2026, 12, 29, 0, 0))
    );
    let t = accepted(lot::apply(
        S::AnomalyCheck,
        &E::RejectJustification,
        &f,
        now,
    ));
    assert_eq!(t.to, S::Ranked);
    assert!(
        t.communications()
            .any(|(_, k, _, _)| k == CommunicationKind::Exclusion)
    );
    f.best_offer_suspected_anomalous = false;
    assert_eq!(
        accepted(lot::apply(S::Ranked, &E::ProposeAward, &f, now)).to,
        S::Proposed
    );
    f.ranked_remaining = 0;
    refused(
        lot::apply(S::Ranked, &E::ProposeAward, &f, now),
        "art. 17 c.5",
    );
    assert_eq!(
        accepted(lot::apply(S::Ranked, &E::NoSuitableOffer, &f, now)).to,
        S::NotAwarded
    );
}

#[test]
fn no_award_without_a_successful_verification() {
    let mut f = qp_lot();
    let now = rome(2026, 12, 15, 9, 0);
    refused(
        lot::apply(S::Proposed, &E::VerifyRequirements, &f, now),
        "art. 17 c.5, art. 99",
    );
    refused(
        lot::apply(S::Verified, &E::Award, &f, now),
        "art. 17 c.5, art. 99",
    );
    // Award cannot be reached from Proposed at all.
    refused(
        lot::apply(S::Proposed, &E::Award, &f, now),
        lifecycle::RULE_TRANSITION_TABLE,
    );
    f.requirements_verified = Some(false);
    refused(
        lot::apply(S::Proposed, &E::VerifyRequirements, &f, now),
        "art. 17 c.5, art. 99",
    );
    let t = accepted(lot::apply(S::Proposed, &E::VerificationFailed, &f, now));
    assert_eq!(t.to, S::Ranked);
    f.requirements_verified = Some(true);
    refused(
        lot::apply(S::Proposed, &E::VerificationFailed, &f, now),
        "art. 99",
    );
    assert_eq!(
        accepted(lot::apply(S::Proposed, &E::VerifyRequirements, &f, now)).to,
        S::Verified
    );
}

#[test]
fn the_award_sends_art_90_communications_and_the_standstill_runs_32_days_from_the_last_one() {
    let mut f = qp_lot();
    f.requirements_verified = Some(true);
    let award_at = rome(2026, 12, 15, 9, 0);
    let t = accepted(lot::apply(S::Verified, &E::Award, &f, award_at));
    assert_eq!(t.to, S::Awarded);
    let comms: Vec<_> = t.communications().collect();
    assert!(comms.contains(&(
        Addressee::Awardee,
        CommunicationKind::Award,
        5,
        "art. 90 c.1 lett. b)"
    )));
    assert!(comms.contains(&(
        Addressee::OtherBidders,
        CommunicationKind::AwardToOthers,
        5,
        "art. 90 c.1 lett. c)"
    )));
    // Stipula within 60 days of the award: 15 Dec + 60 = Sat 13 Feb 2027 -> Mon 15 Feb.
    assert_eq!(
        t.timer(TimerKind::StipulaDeadline),
        Some(rome(2027, 2, 16, 0, 0))
    );

    refused(
        lot::apply(
            S::Awarded,
            &E::StandstillElapsed,
            &f,
            rome(2027, 3, 1, 9, 0),
        ),
        "art. 18 c.3",
    );
    let sent = rome(2026, 12, 17, 16, 0);
    f.last_award_communication_at = Some(sent);
    refused(
        lot::apply(
            S::Awarded,
            &E::RecordAwardCommunications,
            &f,
            rome(2026, 12, 17, 15, 0),
        ),
        "art. 18 c.3",
    );
    let t = accepted(lot::apply(
        S::Awarded,
        &E::RecordAwardCommunications,
        &f,
        rome(2026, 12, 17, 17, 0),
    ));
    // 17 Dec + 32 = Mon 18 Jan 2027; the standstill ends at the end of that day.
    let end = rome(2027, 1, 19, 0, 0);
    assert_eq!(t.timer(TimerKind::Standstill), Some(end));
    let r = refused(
        lot::apply(
            S::Awarded,
            &E::StandstillElapsed,
            &f,
            rome(2027, 1, 18, 23, 0),
        ),
        "art. 18 c.3",
    );
    assert!(r.message.contains("32 days"));
    assert_eq!(
        accepted(lot::apply(S::Awarded, &E::StandstillElapsed, &f, end)).to,
        S::ReadyToSign
    );
}

#[test]
fn the_standstill_was_35_days_before_the_correttivo() {
    let rules = Rules::default();
    assert_eq!(rules.standstill_days(date(2024, 12, 30)), 35);
    assert_eq!(rules.standstill_days(date(2024, 12, 31)), 32);
    let end = lot::standstill_end(&rules, rome(2024, 11, 4, 10, 0)).unwrap();
    // 4 Nov 2024 + 35 = Mon 9 Dec 2024.
    assert_eq!(end, rome(2024, 12, 10, 0, 0));
}

#[test]
fn below_threshold_there_is_no_standstill_and_no_automatic_suspension() {
    let mut f = lp_works_lot();
    f.requirements_verified = Some(true);
    let now = rome(2026, 12, 1, 9, 0);
    let t = accepted(lot::apply(S::Verified, &E::Award, &f, now));
    // Stipula within 30 days below threshold (art. 55 c.1): 1 Dec + 30 = Thu 31 Dec.
    assert_eq!(
        t.timer(TimerKind::StipulaDeadline),
        Some(rome(2027, 1, 1, 0, 0))
    );
    assert!(
        t.audit()
            .unwrap()
            .rules_checked
            .contains(&"art. 55 c.2, art. 18 c.3 lett. d)")
    );
    assert_eq!(
        accepted(lot::apply(S::Awarded, &E::StandstillElapsed, &f, now)).to,
        S::ReadyToSign
    );
    refused(
        lot::apply(S::ReadyToSign, &E::NotifyCautelare, &f, now),
        "art. 55 c.2",
    );
}

#[test]
fn above_threshold_exemptions_of_art_18_c_3_skip_the_standstill() {
    let mut f = qp_lot();
    f.standstill_exemption = Some(StandstillExemption::FrameworkAgreement);
    let now = rome(2026, 12, 16, 9, 0);
    accepted(lot::apply(S::Awarded, &E::StandstillElapsed, &f, now));
}

#[test]
fn an_interim_request_suspends_stipula_above_threshold_until_the_court_decides() {
    let mut f = qp_lot();
    let now = rome(2027, 1, 10, 9, 0);
    let t = accepted(lot::apply(S::ReadyToSign, &E::NotifyCautelare, &f, now));
    assert_eq!(t.to, S::Suspended);
    refused(
        lot::apply(S::Suspended, &E::SignContract, &f, now),
        lifecycle::RULE_TRANSITION_TABLE,
    );
    assert_eq!(
        accepted(lot::apply(S::Suspended, &E::CautelareDecided, &f, now)).to,
        S::Awarded
    );
    // A court-ordered re-evaluation reopens the ranking with a reference.
    refused(
        lot::apply(S::Suspended, &E::ReopenRanking, &f, now),
        "c.p.a. art. 121-122, L. 241/1990 art. 21-nonies",
    );
    f.judgment_reference = Some("TAR Lazio, sez. I, ord. 123/2027".into());
    assert_eq!(
        accepted(lot::apply(S::Suspended, &E::ReopenRanking, &f, now)).to,
        S::Ranked
    );
}

#[test]
fn signing_the_contract_is_communicated_and_final() {
    let f = qp_lot();
    let now = rome(2027, 1, 20, 9, 0);
    let t = accepted(lot::apply(S::ReadyToSign, &E::SignContract, &f, now));
    assert_eq!(t.to, S::Contracted);
    assert!(
        t.communications()
            .any(|(to, k, _, a)| to == Addressee::OtherBidders
                && k == CommunicationKind::ContractDate
                && a == "art. 90 c.1 lett. e)")
    );
    assert!(t.effects.contains(&Effect::CancelTimer {
        kind: TimerKind::StipulaDeadline
    }));
}

#[test]
fn automatic_exclusion_of_anomalous_offers_follows_art_54() {
    let mut f = lp_works_lot();
    let now = rome(2026, 11, 25, 9, 0);
    f.admitted = 5;
    f.auto_exclusion_method_set = true;
    accepted(lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &f, now));

    let mut few = f.clone();
    few.admitted = 4;
    let r = refused(
        lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &few, now),
        "art. 54 c.1",
    );
    assert!(r.message.contains("at least 5"));
    let mut cross = f.clone();
    cross.cross_border_interest = true;
    refused(
        lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &cross, now),
        "art. 54 c.1",
    );
    let mut qp = f.clone();
    qp.criterion = AwardCriterion::QualityPrice;
    refused(
        lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &qp, now),
        "art. 54 c.1",
    );
    let mut supplies = f.clone();
    supplies.contract = contract(ContractObject::Supplies, 180_000, date(2026, 11, 2));
    refused(
        lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &supplies, now),
        "art. 54 c.1",
    );
    let mut above = f.clone();
    above.contract = contract(ContractObject::Works, 6_000_000, date(2026, 11, 2));
    refused(
        lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &above, now),
        "art. 54 c.1",
    );
    let mut no_method = f.clone();
    no_method.auto_exclusion_method_set = false;
    refused(
        lot::apply(S::Ranked, &E::AutoExcludeAnomalous, &no_method, now),
        "art. 54 c.2",
    );
}

#[test]
fn lowest_price_goes_straight_to_economic_evaluation() {
    let mut f = lp_works_lot();
    f.admitted = 6;
    let now = rome(2026, 11, 21, 9, 0);
    refused(
        lot::apply(S::AdminReview, &E::StartTechnicalEvaluation, &f, now),
        "art. 108",
    );
    let t = accepted(lot::apply(
        S::AdminReview,
        &E::StartEconomicEvaluation,
        &f,
        now,
    ));
    assert_eq!(t.to, S::EconEval);
    assert_eq!(
        accepted(lot::apply(S::EconEval, &E::OpenEconomicOffers, &f, now)).to,
        S::Ranked
    );
}

#[test]
fn nobody_admitted_ends_the_lot_without_award() {
    let mut f = lp_works_lot();
    let now = rome(2026, 11, 21, 9, 0);
    f.admitted = 1;
    refused(
        lot::apply(S::AdminReview, &E::ExcludeAll, &f, now),
        "art. 90 c.1 lett. a)",
    );
    f.admitted = 0;
    f.pending_soccorso = 2;
    refused(
        lot::apply(S::AdminReview, &E::ExcludeAll, &f, now),
        "art. 101 c.1",
    );
    f.pending_soccorso = 0;
    assert_eq!(
        accepted(lot::apply(S::AdminReview, &E::ExcludeAll, &f, now)).to,
        S::NotAwarded
    );
}

#[test]
fn the_direct_award_lot_path_reaches_contract_without_offers_or_standstill() {
    let mut f = LotFacts::new(
        ProcedureType::AffidamentoDiretto,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Services, 60_000, date(2026, 11, 2)),
    );
    let now = rome(2026, 11, 3, 9, 0);
    refused(
        lot::apply(S::Pending, &E::OpenAdministrative, &f, now),
        "art. 50 c.1 lett. a)-b)",
    );
    let mut s = accepted(lot::apply(S::Pending, &E::StartDirectAward, &f, now)).to;
    assert_eq!(s, S::Proposed);
    f.requirements_verified = Some(true);
    for e in [
        E::VerifyRequirements,
        E::Award,
        E::StandstillElapsed,
        E::SignContract,
    ] {
        let t = accepted(lot::apply(s, &e, &f, now));
        if e == E::Award {
            assert!(
                !t.communications()
                    .any(|(to, _, _, _)| to == Addressee::OtherBidders)
            );
        }
        s = t.to;
    }
    assert_eq!(s, S::Contracted);
    let other = qp_lot();
    refused(
        lot::apply(S::Pending, &E::StartDirectAward, &other, now),
        "art. 50 c.1 lett. a)-b)",
    );
}

#[test]
fn revocation_of_a_lot_needs_a_motivation() {
    let mut f = qp_lot();
    let now = rome(2027, 1, 5, 9, 0);
    refused(
        lot::apply(S::Awarded, &E::Revoke, &f, now),
        "L. 241/1990 art. 21-quinquies",
    );
    f.motivation = Some("copertura finanziaria venuta meno".into());
    let t = accepted(lot::apply(S::Awarded, &E::Revoke, &f, now));
    assert_eq!(t.to, S::Revoked);
    assert!(t.effects.contains(&Effect::CancelTimer {
        kind: TimerKind::Standstill
    }));
}

#[test]
fn the_commission_has_an_odd_number_of_members_three_or_five() {
    let mut f = qp_lot();
    let now = rome(2026, 12, 3, 9, 0);
    for members in [0, 1, 2, 4, 6, 7] {
        f.commission = Some(Commission {
            members,
            rup_is_president: false,
        });
        let r = refused(
            lot::apply(S::TechEval, &E::AppointCommission, &f, now),
            "art. 93 c.2",
        );
        assert!(r.message.contains("odd number"), "{}", r.message);
    }
    for members in [3, 5] {
        f.commission = Some(Commission {
            members,
            rup_is_president: false,
        });
        accepted(lot::apply(S::TechEval, &E::AppointCommission, &f, now));
    }
}

fn direct_award_lot(value: i64) -> LotFacts {
    LotFacts::new(
        ProcedureType::AffidamentoDiretto,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Services, value, date(2026, 11, 2)),
    )
}

#[test]
fn art_52_c1_direct_awards_below_40000_may_be_awarded_on_the_self_declaration() {
    use lifecycle::procedure::RequirementChecks;
    let now = rome(2026, 11, 20, 9, 0);
    let mut f = direct_award_lot(39_999);
    // neither verified nor self-declared: refused
    refused(
        lot::apply(S::Proposed, &E::VerifyRequirements, &f, now),
        "art. 17 c.5, art. 99",
    );
    f.requirement_checks = Some(RequirementChecks::Art52SelfDeclaration);
    let t = accepted(lot::apply(S::Proposed, &E::VerifyRequirements, &f, now));
    assert_eq!(t.to, S::Verified);
    let t = accepted(lot::apply(S::Verified, &E::Award, &f, now));
    assert!(t.audit().unwrap().rules_checked.contains(&"art. 52 c.1"));
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::Warn {
            rule: "art. 52 c.1",
            ..
        }
    )));
    // at 40,000 the requirements are verified first
    let mut big = direct_award_lot(40_000);
    big.requirement_checks = Some(RequirementChecks::Art52SelfDeclaration);
    let r = refused(lot::apply(S::Verified, &E::Award, &big, now), "art. 52 c.1");
    assert!(r.message.contains("40000"), "{}", r.message);
    // only direct awards
    let mut neg = lp_works_lot();
    neg.contract = contract(ContractObject::Works, 30_000, date(2026, 11, 2));
    neg.requirement_checks = Some(RequirementChecks::Art52SelfDeclaration);
    refused(
        lot::apply(S::Proposed, &E::VerifyRequirements, &neg, now),
        "art. 52 c.1",
    );
    // failed checks are never overridden by a self-declaration
    f.requirements_verified = Some(false);
    refused(
        lot::apply(S::Verified, &E::Award, &f, now),
        "art. 17 c.5, art. 99",
    );
}

/// A lot that ends alone without an award owes its outcome to the BDNCP (art. 23, art. 28: on PCP the
/// NAG scheda, or A1_29 without a winner above the threshold), like a tender that ends without one; the
/// lots that go on owe nothing until their award.
#[test]
fn a_lot_that_ends_alone_without_an_award_is_communicated_to_the_bdncp() {
    let bdncp = |t: &lifecycle::Transition<S>| -> Vec<CommunicationKind> {
        t.communications()
            .filter(|(to, _, _, a)| *to == Addressee::Bdncp && *a == "art. 23, art. 28")
            .map(|(_, k, _, _)| k)
            .collect()
    };
    let now = rome(2026, 12, 3, 9, 0);
    // deserted: no offers for this lot
    let mut f = qp_lot();
    f.offers_received = 0;
    let t = accepted(lot::apply(S::Pending, &E::DeclareDeserted, &f, now));
    assert_eq!(
        (t.to, bdncp(&t)),
        (S::Deserted, vec![CommunicationKind::DecisionNotToAward])
    );
    // every bid excluded
    let mut f = lp_works_lot();
    f.admitted = 0;
    let t = accepted(lot::apply(S::AdminReview, &E::ExcludeAll, &f, now));
    assert_eq!(
        (t.to, bdncp(&t)),
        (S::NotAwarded, vec![CommunicationKind::DecisionNotToAward])
    );
    // no suitable offer left in the ranking
    f.ranked_remaining = 0;
    let t = accepted(lot::apply(S::Ranked, &E::NoSuitableOffer, &f, now));
    assert_eq!(
        (t.to, bdncp(&t)),
        (S::NotAwarded, vec![CommunicationKind::DecisionNotToAward])
    );
    // revoked and annulled, even after the award (before stipula)
    let mut f = qp_lot();
    f.motivation = Some("copertura finanziaria venuta meno".into());
    for (from, e, to, kind) in [
        (
            S::Ranked,
            E::Revoke,
            S::Revoked,
            CommunicationKind::Revocation,
        ),
        (
            S::Awarded,
            E::Revoke,
            S::Revoked,
            CommunicationKind::Revocation,
        ),
        (
            S::Proposed,
            E::Annul,
            S::Annulled,
            CommunicationKind::Annulment,
        ),
    ] {
        let t = accepted(lot::apply(from, &e, &f, now));
        assert_eq!((t.to, bdncp(&t)), (to, vec![kind]), "{from} {e}");
    }
    // opening the offers of a lot that had some owes nothing to the BDNCP
    let f = qp_lot();
    let t = accepted(lot::apply(
        S::Pending,
        &E::OpenAdministrative,
        &f,
        rome(2026, 12, 2, 12, 0),
    ));
    assert!(bdncp(&t).is_empty());
}
