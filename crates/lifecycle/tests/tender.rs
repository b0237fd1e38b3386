mod common;

use common::*;
use lifecycle::lot::LotState;
use lifecycle::rules::Rules;
use lifecycle::tender::{self, RotationException, TenderEvent as E, TenderFacts, TenderState as S};
use lifecycle::{
    Addressee, AwardCriterion, CommunicationKind, ContractObject, Effect, ProcedureType,
    QualificationLevel, TermReduction, TimerKind,
};

/// An open procedure for services of 500,000 (above the 216,000 sub-central threshold in 2026).
fn open_services() -> TenderFacts {
    let mut f = TenderFacts::new(
        ProcedureType::Aperta,
        AwardCriterion::QualityPrice,
        contract(ContractObject::Services, 500_000, date(2026, 11, 2)),
    );
    f.lots_with_cig = 1;
    f.sua_qualification = Some(QualificationLevel::Advanced);
    f
}

#[test]
fn an_open_procedure_goes_from_draft_to_open_with_its_effects() {
    let mut f = open_services();
    let now = rome(2026, 11, 2, 9, 0);
    let t = accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
    assert_eq!((t.from, t.to), (S::Draft, S::Approved));
    assert!(t.communications().any(|(to, k, _, _)| to == Addressee::Comune
        && k == CommunicationKind::RequestAccepted));
    let t = accepted(tender::apply(S::Approved, &E::AcquireCig, &f, now));
    assert_eq!(t.to, S::Ready);

    // Mon 2 Nov + 30 days = Wed 2 Dec, to the end of that day: a deadline at 12:00 on 3 Dec is lawful.
    f.offer_deadline = Some(rome(2026, 12, 3, 12, 0));
    let t = accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    assert_eq!(t.to, S::Open);
    assert_eq!(t.timer(TimerKind::OfferDeadline), f.offer_deadline);
    // Clarifications at least 6 days before: Fri 27 Nov, until the end of that day.
    assert_eq!(
        t.timer(TimerKind::ClarificationCutoff),
        Some(rome(2026, 11, 28, 0, 0))
    );
    // Allegato I.3: 9 months for an open quality-price procedure.
    assert_eq!(
        t.timer(TimerKind::MaxProcedureDuration),
        Some(rome(2027, 8, 2, 10, 0))
    );
    assert!(
        t.communications()
            .any(|(to, k, _, a)| to == Addressee::Bdncp
                && k == CommunicationKind::Publication
                && a.contains("art. 84"))
    );
    let audit = t.audit().unwrap();
    assert_eq!(
        (audit.from, audit.to, audit.event),
        ("ready", "open", "publish")
    );
    assert!(audit.rules_checked.contains(&"art. 71 c.2"));
}

#[test]
fn art_71_refuses_an_offer_term_shorter_than_30_days() {
    let mut f = open_services();
    let now = rome(2026, 11, 2, 9, 0);
    f.offer_deadline = Some(rome(2026, 12, 1, 23, 59));
    let r = refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.2");
    assert!(r.message.contains("shorter than 30 days"), "{}", r.message);
}

#[test]
fn the_minimum_term_rolls_past_christmas() {
    let mut f = open_services();
    // 25 Nov + 30 = Fri 25 Dec -> Mon 28 Dec 2026.
    let now = rome(2026, 11, 25, 10, 0);
    f.offer_deadline = Some(rome(2026, 12, 27, 12, 0));
    refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.2");
    f.offer_deadline = Some(rome(2026, 12, 28, 9, 0));
    refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.2");
    f.offer_deadline = Some(rome(2026, 12, 29, 9, 0));
    accepted(tender::apply(S::Ready, &E::Publish, &f, now));
}

#[test]
fn a_term_of_n_days_ends_at_the_end_of_its_last_day() {
    let mut f = open_services();
    // 2 Nov + 30 = Wed 2 Dec 2026: the term runs to the end of 2 Dec.
    let now = rome(2026, 11, 2, 9, 0);
    f.offer_deadline = Some(rome(2026, 12, 2, 0, 0));
    let r = refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.2");
    assert!(r.message.contains("shorter than 30 days"), "{}", r.message);
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.2");
    f.offer_deadline = Some(rome(2026, 12, 3, 0, 0));
    accepted(tender::apply(S::Ready, &E::Publish, &f, now));
}

#[test]
fn urgency_reduces_the_open_term_to_15_days_and_the_clarification_cutoff_to_4() {
    let mut f = open_services();
    f.term_reduction = TermReduction::Urgency;
    let now = rome(2026, 11, 2, 9, 0);
    f.offer_deadline = Some(rome(2026, 11, 17, 12, 0));
    let r = refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.3");
    assert!(r.message.contains("motivated"));
    f.urgency_motivated = true;
    // 2 Nov + 15 = Tue 17 Nov.
    f.offer_deadline = Some(rome(2026, 11, 16, 12, 0));
    refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.3");
    f.offer_deadline = Some(rome(2026, 11, 18, 12, 0));
    let t = accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    // 4 days before Wed 18 Nov = Sat 14 Nov, brought back to Fri 13 Nov.
    assert_eq!(
        t.timer(TimerKind::ClarificationCutoff),
        Some(rome(2026, 11, 14, 0, 0))
    );
}

#[test]
fn publish_is_only_for_the_open_procedure() {
    let mut f = open_services();
    f.procedure = ProcedureType::Ristretta;
    f.offer_deadline = Some(rome(2027, 1, 30, 12, 0));
    let r = refused(
        tender::apply(S::Ready, &E::Publish, &f, rome(2026, 11, 2, 9, 0)),
        "art. 72",
    );
    assert!(r.message.contains("publish_call_for_requests"));
}

#[test]
fn a_restricted_procedure_has_a_request_phase_then_invitations() {
    let mut f = open_services();
    f.procedure = ProcedureType::Ristretta;
    let now = rome(2026, 11, 2, 9, 0);
    f.requests_deadline = Some(rome(2026, 11, 30, 12, 0));
    refused(
        tender::apply(S::Ready, &E::PublishCallForRequests, &f, now),
        "art. 72 c.2",
    );
    f.requests_deadline = Some(rome(2026, 12, 3, 12, 0));
    let t = accepted(tender::apply(S::Ready, &E::PublishCallForRequests, &f, now));
    assert_eq!(t.to, S::RequestsOpen);
    assert_eq!(t.timer(TimerKind::RequestsDeadline), f.requests_deadline);

    refused(
        tender::apply(
            S::RequestsOpen,
            &E::CloseRequests,
            &f,
            rome(2026, 12, 3, 11, 59),
        ),
        "lex specialis: requests deadline",
    );
    let later = rome(2026, 12, 3, 12, 0);
    assert_eq!(
        accepted(tender::apply(S::RequestsOpen, &E::CloseRequests, &f, later)).to,
        S::Prequalification
    );

    // Invitations: at least 5 candidates (where they exist) and 30 days for offers.
    let invite_at = rome(2026, 12, 10, 10, 0);
    f.candidates_admitted = 6;
    f.invitees = 4;
    f.offer_deadline = Some(rome(2027, 1, 12, 12, 0));
    refused(
        tender::apply(S::Prequalification, &E::SendInvitations, &f, invite_at),
        "art. 70 c.6",
    );
    f.invitees = 7;
    let r = refused(
        tender::apply(S::Prequalification, &E::SendInvitations, &f, invite_at),
        "art. 72",
    );
    assert!(r.message.contains("admitted candidates"));
    f.invitees = 6;
    f.offer_deadline = Some(rome(2027, 1, 8, 12, 0));
    refused(
        tender::apply(S::Prequalification, &E::SendInvitations, &f, invite_at),
        "art. 72 c.3",
    );
    // 10 Dec + 30 = Sat 9 Jan 2027 -> Mon 11 Jan, to the end of that day.
    f.offer_deadline = Some(rome(2027, 1, 12, 12, 0));
    let t = accepted(tender::apply(
        S::Prequalification,
        &E::SendInvitations,
        &f,
        invite_at,
    ));
    assert_eq!(t.to, S::Open);
    assert!(
        t.communications()
            .any(|(to, k, _, _)| to == Addressee::Invitees && k == CommunicationKind::Invitation)
    );
}

fn negotiated_works(value: i64) -> TenderFacts {
    let mut f = TenderFacts::new(
        ProcedureType::NegoziataSenzaBando,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Works, value, date(2026, 11, 2)),
    );
    f.lots_with_cig = 1;
    f.sua_qualification = Some(QualificationLevel::Advanced);
    f.offer_deadline = Some(rome(2026, 11, 20, 12, 0));
    f
}

#[test]
fn negotiated_works_need_5_invitees_below_1_million_and_10_above() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = negotiated_works(800_000);
    f.invitees = 4;
    let r = refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 50 c.1 lett. c)",
    );
    assert!(r.message.contains("at least 5"));
    f.invitees = 5;
    let t = accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
    // No statutory term below threshold: a warning, not a refusal (art. 92 c.1).
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::Warn {
            rule: "art. 92 c.1",
            ..
        }
    )));
    // The invitees stay secret until the offer deadline (art. 35 c.2 b), c.3): nothing public.
    assert!(
        !t.communications()
            .any(|(to, _, _, _)| to == Addressee::Public)
    );

    let mut f = negotiated_works(2_000_000);
    f.invitees = 9;
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 50 c.1 lett. d)",
    );
    f.invitees = 10;
    accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
}

#[test]
fn fewer_invitees_are_allowed_only_when_fewer_operators_exist_and_it_is_flagged() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = negotiated_works(2_000_000);
    f.invitees = 7;
    f.operators_available = Some(7);
    let t = accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::Warn {
            rule: "art. 50 c.1 lett. d)",
            ..
        }
    )));
    f.invitees = 6;
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 50 c.1 lett. d)",
    );
}

#[test]
fn a_configured_minimum_term_turns_the_warning_into_a_guard() {
    let rules = Rules {
        min_offer_days_without_statutory_term: Some(20),
        ..Rules::default()
    };
    let mut f = negotiated_works(800_000);
    f.invitees = 5;
    let now = rome(2026, 11, 2, 9, 0);
    refused(
        tender::apply_with(&rules, S::Ready, &E::SendInvitations, &f, now),
        "art. 92 c.1",
    );
    f.offer_deadline = Some(rome(2026, 11, 24, 12, 0));
    accepted(tender::apply_with(
        &rules,
        S::Ready,
        &E::SendInvitations,
        &f,
        now,
    ));
}

#[test]
fn rotation_refuses_inviting_the_outgoing_contractor_without_a_fitting_exception() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = negotiated_works(800_000);
    f.invitees = 5;
    f.rotation.outgoing_contractor_involved = true;
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 49 c.2",
    );
    f.rotation.exception = Some(RotationException::BelowFiveThousand);
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 49 c.6",
    );
    f.rotation.exception = Some(RotationException::UncappedMarketSurvey);
    accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
    f.rotation.exception = Some(RotationException::MotivatedMarketStructure);
    accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
}

fn direct_award(value: i64) -> TenderFacts {
    let mut f = TenderFacts::new(
        ProcedureType::AffidamentoDiretto,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Supplies, value, date(2026, 11, 2)),
    );
    f.contractor_named = true;
    f.lots_with_cig = 1;
    f.sua_qualification = Some(QualificationLevel::None);
    f
}

#[test]
fn a_direct_award_must_name_the_contractor_and_stay_below_140000() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = direct_award(39_000);
    let t = accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
    assert!(t.audit().unwrap().rules_checked.contains(&"art. 17 c.2"));
    f.contractor_named = false;
    refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 17 c.2",
    );
    let f = direct_award(140_000);
    let r = refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 50 c.1 lett. b)",
    );
    assert!(r.message.contains("140,000"));
}

#[test]
fn a_direct_award_to_the_outgoing_contractor_needs_an_exception() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = direct_award(4_000);
    f.rotation.outgoing_contractor_involved = true;
    refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 49 c.2",
    );
    f.rotation.exception = Some(RotationException::BelowFiveThousand);
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
    let mut f = direct_award(6_000);
    f.rotation.outgoing_contractor_involved = true;
    f.rotation.exception = Some(RotationException::BelowFiveThousand);
    refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 49 c.6",
    );
}

#[test]
fn the_direct_award_path_skips_publication() {
    let now = rome(2026, 11, 2, 9, 0);
    let f = direct_award(39_000);
    refused(
        tender::apply(S::Ready, &E::Publish, &f, now),
        "art. 50 c.1 lett. a)-b)",
    );
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 50 c.1 lett. a)-b)",
    );
    assert_eq!(
        accepted(tender::apply(S::Ready, &E::StartDirectAward, &f, now)).to,
        S::InEvaluation
    );
    let open = open_services();
    refused(
        tender::apply(S::Ready, &E::StartDirectAward, &open, now),
        "art. 50 c.1 lett. a)-b)",
    );
}

#[test]
fn an_unqualified_sa_cannot_run_a_large_procedure() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = open_services();
    f.sua_qualification = Some(QualificationLevel::None);
    let r = refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 62 c.2, art. 63 c.2",
    );
    assert!(r.message.contains("base"));
    f.sua_qualification = Some(QualificationLevel::Base);
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
}

#[test]
fn procedures_with_a_condition_need_it_motivated() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = open_services();
    f.procedure = ProcedureType::CompetitivaConNegoziazione;
    refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 70 c.2",
    );
    f.condition_motivated = true;
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
}

#[test]
fn a_cig_is_needed_for_every_lot() {
    let mut f = open_services();
    f.lots_total = 3;
    f.lots_with_cig = 2;
    let now = rome(2026, 11, 2, 9, 0);
    let r = refused(
        tender::apply(S::Approved, &E::AcquireCig, &f, now),
        "art. 62 c.2",
    );
    assert!(r.message.contains("2 of 3"));
    f.lots_with_cig = 3;
    accepted(tender::apply(S::Approved, &E::AcquireCig, &f, now));
}

#[test]
fn clarifications_after_the_cutoff_are_refused_until_the_deadline_is_extended() {
    let mut f = open_services();
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    accepted(tender::apply(
        S::Open,
        &E::AnswerClarification,
        &f,
        rome(2026, 11, 26, 18, 0),
    ));
    let late = rome(2026, 11, 27, 9, 0);
    let r = refused(
        tender::apply(S::Open, &E::AnswerClarification, &f, late),
        "art. 88 c.3",
    );
    assert!(r.message.contains("extend"));

    refused(
        tender::apply(S::Open, &E::ExtendDeadline, &f, late),
        "art. 92 c.2",
    );
    f.new_deadline = Some(rome(2026, 12, 10, 12, 0));
    let t = accepted(tender::apply(S::Open, &E::ExtendDeadline, &f, late));
    assert_eq!(t.timer(TimerKind::OfferDeadline), f.new_deadline);
    assert!(
        t.communications()
            .any(|(to, k, _, _)| to == Addressee::AllCandidates
                && k == CommunicationKind::DeadlineExtended)
    );
    // With the extended deadline the clarification is in time again.
    f.offer_deadline = f.new_deadline;
    accepted(tender::apply(S::Open, &E::AnswerClarification, &f, late));
}

#[test]
fn a_significant_amendment_requires_a_later_deadline() {
    let mut f = open_services();
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    f.significant_change = true;
    let now = rome(2026, 11, 20, 9, 0);
    refused(
        tender::apply(S::Open, &E::AmendDocuments, &f, now),
        "art. 92 c.2 lett. b)",
    );
    f.new_deadline = Some(rome(2026, 12, 1, 12, 0));
    refused(
        tender::apply(S::Open, &E::AmendDocuments, &f, now),
        "art. 92 c.2 lett. b)",
    );
    f.new_deadline = Some(rome(2026, 12, 15, 12, 0));
    let t = accepted(tender::apply(S::Open, &E::AmendDocuments, &f, now));
    assert_eq!(t.timer(TimerKind::OfferDeadline), f.new_deadline);
    f.significant_change = false;
    f.new_deadline = None;
    let t = accepted(tender::apply(S::Open, &E::AmendDocuments, &f, now));
    assert_eq!(t.timer(TimerKind::OfferDeadline), None);
}

#[test]
fn submissions_close_only_at_the_deadline_and_set_offer_validity() {
    let mut f = open_services();
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    refused(
        tender::apply(S::Open, &E::CloseSubmissions, &f, rome(2026, 12, 2, 11, 59)),
        "lex specialis: offer deadline",
    );
    let t = accepted(tender::apply(
        S::Open,
        &E::CloseSubmissions,
        &f,
        rome(2026, 12, 2, 12, 0),
    ));
    assert_eq!(t.to, S::Closed);
    // 180 days from the deadline (art. 17 c.4).
    assert_eq!(
        t.timer(TimerKind::OfferValidity),
        Some(rome(2026, 12, 2, 12, 0) + chrono::Duration::days(180))
    );
}

#[test]
fn a_tender_without_offers_is_deserted_and_one_with_offers_is_not() {
    let mut f = open_services();
    let now = rome(2026, 12, 3, 9, 0);
    let t = accepted(tender::apply(S::Closed, &E::DeclareDeserted, &f, now));
    assert_eq!(t.to, S::Deserted);
    assert!(
        t.communications()
            .any(|(to, k, d, a)| to == Addressee::AllCandidates
                && k == CommunicationKind::DecisionNotToAward
                && d == 5
                && a == "art. 90 c.1 lett. a)")
    );
    // Art. 90 timer: 3 Dec + 5 = Tue 8 Dec (Immacolata) -> Wed 9 Dec, end of day.
    assert_eq!(
        t.timer(TimerKind::Art90Communication),
        Some(rome(2026, 12, 10, 0, 0))
    );
    refused(
        tender::apply(S::Closed, &E::StartEvaluation, &f, now),
        "art. 90 c.1 lett. a)",
    );
    f.offers_received = 3;
    refused(
        tender::apply(S::Closed, &E::DeclareDeserted, &f, now),
        "art. 90 c.1 lett. a)",
    );
    assert_eq!(
        accepted(tender::apply(S::Closed, &E::StartEvaluation, &f, now)).to,
        S::InEvaluation
    );
}

#[test]
fn a_tender_completes_only_when_all_its_lots_are_final() {
    let mut f = open_services();
    f.lots_total = 2;
    let now = rome(2027, 3, 1, 9, 0);
    f.lot_states = vec![LotState::Contracted, LotState::Awarded];
    let r = refused(
        tender::apply(S::InEvaluation, &E::Complete, &f, now),
        "art. 58 (lots)",
    );
    assert!(r.message.contains("awarded"));
    f.lot_states = vec![LotState::Contracted];
    refused(
        tender::apply(S::InEvaluation, &E::Complete, &f, now),
        "art. 58 (lots)",
    );
    f.lot_states = vec![LotState::Contracted, LotState::NotAwarded];
    assert_eq!(
        accepted(tender::apply(S::InEvaluation, &E::Complete, &f, now)).to,
        S::Completed
    );
}

#[test]
fn revocation_needs_a_motivation_and_is_impossible_after_stipula() {
    let mut f = open_services();
    let now = rome(2026, 11, 20, 9, 0);
    refused(
        tender::apply(S::Open, &E::Revoke, &f, now),
        "L. 241/1990 art. 21-quinquies",
    );
    f.motivation = Some("   ".into());
    refused(
        tender::apply(S::Open, &E::Annul, &f, now),
        "L. 241/1990 art. 21-nonies",
    );
    f.motivation = Some("sopravvenuti motivi di interesse pubblico".into());
    let t = accepted(tender::apply(S::Open, &E::Revoke, &f, now));
    assert_eq!(t.to, S::Revoked);
    assert!(t.effects.contains(&Effect::CancelTimer {
        kind: TimerKind::OfferDeadline
    }));
    f.lot_states = vec![LotState::Contracted, LotState::Ranked];
    refused(
        tender::apply(S::InEvaluation, &E::Annul, &f, now),
        "art. 18 c.2",
    );
}

#[test]
fn nothing_leaves_a_final_tender_state() {
    let mut f = open_services();
    f.motivation = Some("x".into());
    let now = rome(2026, 11, 20, 9, 0);
    for s in S::ALL.iter().filter(|s| s.is_final()) {
        for e in E::ALL {
            let r = refused(
                tender::apply(*s, e, &f, now),
                lifecycle::RULE_TRANSITION_TABLE,
            );
            assert!(r.message.contains("final"));
        }
    }
}

#[test]
fn a_prior_information_notice_reduces_the_term_only_if_sent_35_days_to_12_months_before() {
    let mut f = open_services();
    f.term_reduction = TermReduction::PriorInformationNotice;
    let now = rome(2026, 11, 2, 9, 0);
    // 2 Nov + 15 = Tue 17 Nov.
    f.offer_deadline = Some(rome(2026, 11, 18, 12, 0));
    refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.4");
    for too_recent_or_old in [rome(2026, 10, 1, 9, 0), rome(2025, 11, 1, 9, 0)] {
        f.prior_information_notice_sent = Some(too_recent_or_old);
        refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.4");
    }
    f.prior_information_notice_sent = Some(rome(2026, 9, 28, 9, 0));
    let t = accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    assert!(t.audit().unwrap().rules_checked.contains(&"art. 71 c.4"));
    // Still not shorter than 15 days.
    f.offer_deadline = Some(rome(2026, 11, 17, 12, 0));
    refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 71 c.4");
}

#[test]
fn the_pin_window_of_a_restricted_procedure_counts_back_from_the_bando_art_72_c_4_b() {
    // Restricted procedure: bando (call for requests) transmitted on 2 Nov 2026, invitations on 10 Dec.
    let mut f = open_services();
    f.procedure = ProcedureType::Ristretta;
    f.term_reduction = TermReduction::PriorInformationNotice;
    f.candidates_admitted = 6;
    f.invitees = 6;
    let bando = rome(2026, 11, 2, 9, 0);
    let invite_at = rome(2026, 12, 10, 10, 0);
    // 10 days from the invitation (art. 72 c.4): 20 Dec is a Sunday -> Mon 21 Dec, to its end.
    f.offer_deadline = Some(rome(2026, 12, 22, 12, 0));
    // Without the bando's transmission recorded the window cannot be checked.
    f.prior_information_notice_sent = Some(rome(2026, 9, 1, 9, 0));
    refused(
        tender::apply(S::Prequalification, &E::SendInvitations, &f, invite_at),
        "art. 72 c.4 lett. b)",
    );
    f.call_transmitted_at = Some(bando);
    // A PIN sent 20 days before the bando is too recent, although 58 days before the invitation.
    f.prior_information_notice_sent = Some(rome(2026, 10, 13, 9, 0));
    let r = refused(
        tender::apply(S::Prequalification, &E::SendInvitations, &f, invite_at),
        "art. 72 c.4 lett. b)",
    );
    assert!(
        r.message.contains("transmission of the bando"),
        "{}",
        r.message
    );
    // A PIN sent 11 months and a half before the bando is lawful, although over 12 months before the
    // invitation.
    f.prior_information_notice_sent = Some(rome(2025, 11, 20, 9, 0));
    let t = accepted(tender::apply(
        S::Prequalification,
        &E::SendInvitations,
        &f,
        invite_at,
    ));
    assert!(
        t.audit()
            .unwrap()
            .rules_checked
            .contains(&"art. 72 c.4 lett. b)")
    );
}

#[test]
fn an_expired_deadline_cannot_be_extended_nor_the_documents_amended() {
    let mut f = open_services();
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    f.new_deadline = Some(rome(2026, 12, 20, 12, 0));
    let late = rome(2026, 12, 2, 12, 0);
    let r = refused(
        tender::apply(S::Open, &E::ExtendDeadline, &f, late),
        "art. 92 c.2",
    );
    assert!(r.message.contains("expired"));
    refused(
        tender::apply(S::Open, &E::AmendDocuments, &f, late),
        "art. 92 c.2",
    );
    accepted(tender::apply(
        S::Open,
        &E::ExtendDeadline,
        &f,
        rome(2026, 12, 2, 11, 59),
    ));
}

#[test]
fn invitees_stay_secret_until_the_offer_deadline() {
    let mut f = negotiated_works(800_000);
    f.invitees = 5;
    let now = rome(2026, 11, 2, 9, 0);
    f.offer_deadline = Some(rome(2026, 11, 24, 12, 0));
    let t = accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
    assert!(
        t.communications()
            .any(|(to, k, _, _)| to == Addressee::Invitees && k == CommunicationKind::Invitation)
    );
    assert!(
        !t.communications()
            .any(|(to, _, _, _)| to == Addressee::Public)
    );
}

// ---------------------------------------------------------------- issue 17: missing guards

fn services(procedure: ProcedureType, criterion: AwardCriterion, value: i64) -> TenderFacts {
    let mut f = TenderFacts::new(
        procedure,
        criterion,
        contract(ContractObject::Services, value, date(2026, 11, 2)),
    );
    f.lots_with_cig = 1;
    f.contractor_named = true;
    f.condition_motivated = true;
    f.sua_qualification = Some(QualificationLevel::Advanced);
    f.offer_deadline = Some(rome(2026, 12, 20, 12, 0));
    f
}

#[test]
fn art_48_c2_certain_cross_border_interest_forces_the_ordinary_procedures() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = services(
        ProcedureType::NegoziataSenzaBando,
        AwardCriterion::LowestPrice,
        180_000,
    );
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
    f.cross_border_interest = true;
    let r = refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
        "art. 48 c.2",
    );
    assert!(r.message.contains("ordinary procedures"), "{}", r.message);
    // the same at the invitation, if the flag came after the decision
    f.invitees = 5;
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 48 c.2",
    );
    let mut d = services(
        ProcedureType::AffidamentoDiretto,
        AwardCriterion::LowestPrice,
        50_000,
    );
    d.cross_border_interest = true;
    refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &d, now),
        "art. 48 c.2",
    );
    // the open procedure is an ordinary one
    let mut o = services(ProcedureType::Aperta, AwardCriterion::LowestPrice, 180_000);
    o.cross_border_interest = true;
    let t = accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &o,
        now,
    ));
    assert!(t.audit().unwrap().rules_checked.contains(&"art. 48 c.2"));
}

#[test]
fn art_108_c2_quality_price_is_compulsory_where_the_law_says() {
    use lifecycle::procedure::ServiceNature as N;
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = services(ProcedureType::Aperta, AwardCriterion::LowestPrice, 300_000);
    for (nature, rule) in [
        (N::SocialServices, "art. 108 c.2 lett. a)"),
        (N::Catering, "art. 108 c.2 lett. a)"),
        (N::LabourIntensive, "art. 108 c.2 lett. a), c.3"),
        (N::TechnicalIntellectual, "art. 108 c.2 lett. b)"),
        (N::HighTechnology, "art. 108 c.2 lett. c)"),
        (N::IntegratedContract, "art. 108 c.2 lett. e)"),
        (N::InnovativeWorks, "art. 108 c.2 lett. f)"),
    ] {
        f.service_nature = nature;
        refused(
            tender::apply(S::Draft, &E::AdoptDecisionToContract, &f, now),
            rule,
        );
    }
    f.service_nature = N::Ordinary;
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
    // technical-intellectual services below 140,000 may use lowest price
    let mut small = services(
        ProcedureType::NegoziataSenzaBando,
        AwardCriterion::LowestPrice,
        139_999,
    );
    small.service_nature = N::TechnicalIntellectual;
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &small,
        now,
    ));
    // a competitive dialogue is quality-price whatever its object (lett. d)
    let dialogue = services(
        ProcedureType::DialogoCompetitivo,
        AwardCriterion::LowestPrice,
        300_000,
    );
    refused(
        tender::apply(S::Draft, &E::AdoptDecisionToContract, &dialogue, now),
        "art. 108 c.2 lett. d)",
    );
    // quality-price is always allowed
    f.service_nature = N::SocialServices;
    f.criterion = AwardCriterion::QualityPrice;
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        now,
    ));
    // the criterion edited to lowest price after the decision is refused at publication
    f.criterion = AwardCriterion::LowestPrice;
    f.offer_deadline = Some(rome(2026, 12, 20, 12, 0));
    refused(
        tender::apply(S::Ready, &E::Publish, &f, now),
        "art. 108 c.2 lett. a)",
    );
}

#[test]
fn art_76_c7_at_least_three_operators_are_consulted_where_possible() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = services(
        ProcedureType::NegoziataSenzaPubblicazione,
        AwardCriterion::LowestPrice,
        300_000,
    );
    f.invitees = 1;
    let r = refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 76 c.7",
    );
    assert!(r.message.contains("at least 3"), "{}", r.message);
    // fewer operators exist, but no reason is stated: still refused
    f.operators_available = Some(1);
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, now),
        "art. 76 c.7",
    );
    // the reason stated: accepted, with a warning that records it
    f.motivation = Some("diritti di esclusiva (art. 76 c.2 lett. b) n. 3)".into());
    let t = accepted(tender::apply(S::Ready, &E::SendInvitations, &f, now));
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::Warn { rule: "art. 76 c.7", message } if message.contains("diritti di esclusiva")
    )));
    // three invitees need no reason
    let mut three = services(
        ProcedureType::NegoziataSenzaPubblicazione,
        AwardCriterion::LowestPrice,
        300_000,
    );
    three.invitees = 3;
    let t = accepted(tender::apply(S::Ready, &E::SendInvitations, &three, now));
    assert!(!t.effects.iter().any(|e| matches!(
        e,
        Effect::Warn {
            rule: "art. 76 c.7",
            ..
        }
    )));
}

#[test]
fn art_14_c7_the_thresholds_are_those_in_force_at_the_transmission_of_the_call() {
    // 218,000 of services: below the 2024-25 sub-central threshold (221,000), above the 2026-27 one
    // (216,000). The decisione di contrarre in December 2025 allows a negotiated procedure; the invitation
    // sent on 10 January 2026 is the call, and the 2026 threshold applies to it.
    let mut f = services(
        ProcedureType::NegoziataSenzaBando,
        AwardCriterion::LowestPrice,
        218_000,
    );
    f.contract.date = date(2025, 12, 20);
    accepted(tender::apply(
        S::Draft,
        &E::AdoptDecisionToContract,
        &f,
        rome(2025, 12, 20, 9, 0),
    ));
    f.contract.date = date(2026, 1, 10);
    f.invitees = 5;
    f.offer_deadline = Some(rome(2026, 2, 20, 12, 0));
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &f, rome(2026, 1, 10, 9, 0)),
        "art. 50 c.1 lett. c)-e)",
    );
}

// ---------------------------------------------------------------- rules fixed before the bids are known

/// An open procedure for services of 180,000 at the lowest price: below the EU threshold, so art. 54 c.1
/// applies.
fn open_services_lowest_price() -> TenderFacts {
    let mut f = TenderFacts::new(
        ProcedureType::Aperta,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Services, 180_000, date(2026, 11, 2)),
    );
    f.lots_with_cig = 1;
    f.offer_deadline = Some(rome(2026, 12, 3, 12, 0));
    f
}

#[test]
fn art_54_c1_publication_without_automatic_exclusion_is_refused() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = open_services_lowest_price();
    f.lots_without_automatic_exclusion = 1;
    let r = refused(tender::apply(S::Ready, &E::Publish, &f, now), "art. 54 c.1");
    assert!(r.message.contains("automatic exclusion"), "{}", r.message);
    // the same for the letter of invitation of a negotiated procedure for works
    let mut n = negotiated_works(500_000);
    n.invitees = 5;
    n.lots_without_automatic_exclusion = 1;
    refused(
        tender::apply(S::Ready, &E::SendInvitations, &n, now),
        "art. 54 c.1",
    );
    // with a method (or a draw) on every lot it publishes, and says which rule it checked
    f.lots_without_automatic_exclusion = 0;
    let t = accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    assert!(t.audit().unwrap().rules_checked.contains(&"art. 54 c.1"));
}

#[test]
fn art_54_c1_automatic_exclusion_is_not_required_where_it_does_not_apply() {
    let now = rome(2026, 11, 2, 9, 0);
    let base = {
        let mut f = open_services_lowest_price();
        f.lots_without_automatic_exclusion = 1;
        f
    };
    // certain cross-border interest
    let mut f = base.clone();
    f.cross_border_interest = true;
    accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    // supplies
    let mut f = base.clone();
    f.contract = contract(ContractObject::Supplies, 180_000, date(2026, 11, 2));
    accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    // above the EU threshold
    let mut f = base.clone();
    f.contract = contract(ContractObject::Services, 500_000, date(2026, 11, 2));
    accepted(tender::apply(S::Ready, &E::Publish, &f, now));
    // the lot's conditions are the same function
    assert_eq!(
        lifecycle::lot::automatic_exclusion_inapplicable(
            Rules::standard(),
            ProcedureType::AffidamentoDiretto,
            AwardCriterion::LowestPrice,
            &base.contract,
            false
        )
        .unwrap(),
        Some("not applicable to direct awards (art. 50 c.1 a-b)")
    );
    assert_eq!(
        lifecycle::lot::automatic_exclusion_inapplicable(
            Rules::standard(),
            ProcedureType::Aperta,
            AwardCriterion::LowestPrice,
            &base.contract,
            false
        )
        .unwrap(),
        None
    );
}

#[test]
fn art_108_c7_quality_price_lots_state_their_criteria_before_publication() {
    let now = rome(2026, 11, 2, 9, 0);
    let mut f = open_services();
    f.offer_deadline = Some(rome(2026, 12, 3, 12, 0));
    f.lots_without_evaluation_rules = 1;
    f.lots_without_automatic_exclusion = 1;
    refused(
        tender::apply(S::Ready, &E::Publish, &f, now),
        "art. 108 c.7",
    );
    f.lots_without_evaluation_rules = 0;
    // quality-price: no automatic exclusion required
    accepted(tender::apply(S::Ready, &E::Publish, &f, now));
}

#[test]
fn art_92_c2_b_a_change_of_the_evaluation_rules_is_significant_and_extends_the_deadline() {
    let mut f = open_services();
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    f.evaluation_rules_changed = true;
    let now = rome(2026, 11, 20, 9, 0);
    refused(
        tender::apply(S::Open, &E::AmendDocuments, &f, now),
        "art. 92 c.2 lett. b)",
    );
    f.new_deadline = Some(rome(2026, 12, 15, 12, 0));
    let t = accepted(tender::apply(S::Open, &E::AmendDocuments, &f, now));
    assert_eq!(t.timer(TimerKind::OfferDeadline), f.new_deadline);
}
