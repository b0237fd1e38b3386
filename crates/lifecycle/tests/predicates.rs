//! The read-only questions the service asks about states and events, and the rules that span machines. Each
//! test compares with the string rule the service spelled before (kept here as the oracle), so moving the rule
//! into the crate changed no answer.

mod common;

use common::*;
use lifecycle::lot::{self, FollowUp, Followers, LotEvent, LotFacts, LotState, OpenEnvelopes};
use lifecycle::participation::{Admission, ParticipationEvent, ParticipationState};
use lifecycle::tender::{TenderEvent, TenderPhase, TenderState};
use lifecycle::{
    AwardCriterion, ContractObject, Effect, Machine, MachineEvent, ProcedureType, TimerKind,
};

#[test]
fn a_tender_is_public_exactly_when_it_is_no_longer_editable() {
    for s in TenderState::ALL.iter().copied() {
        let old_public = !matches!(s.as_str(), "draft" | "approved" | "ready");
        let old_editable = matches!(s.as_str(), "draft" | "approved" | "ready");
        assert_eq!(s.is_public(), old_public, "{s}");
        assert_eq!(s.is_editable(), old_editable, "{s}");
        assert_ne!(s.is_public(), s.is_editable(), "{s}");
    }
}

#[test]
fn only_an_open_tender_accepts_bids() {
    let accepting: Vec<_> = TenderState::ALL
        .iter()
        .filter(|s| s.accepts_bids())
        .collect();
    assert_eq!(accepting, [&TenderState::Open]);
}

#[test]
fn clarification_questions_are_taken_where_the_table_answers_them() {
    let answering: Vec<TenderState> = lifecycle::tender::transitions()
        .into_iter()
        .filter(|(_, e, _)| *e == TenderEvent::AnswerClarification)
        .map(|(s, _, _)| s)
        .collect();
    for s in TenderState::ALL.iter().copied() {
        let old = matches!(s.as_str(), "open" | "requests_open");
        assert_eq!(s.takes_clarification_questions(), old, "{s}");
        assert_eq!(answering.contains(&s), old, "{s}");
    }
}

#[test]
fn participants_stay_sealed_while_requests_or_offers_may_arrive() {
    for s in TenderState::ALL.iter().copied() {
        let old = ["requests_open", "prequalification", "open"].contains(&s.as_str());
        assert_eq!(s.participants_sealed(), old, "{s}");
        // Sealed tenders are public ones.
        assert!(!s.participants_sealed() || s.is_public(), "{s}");
    }
}

#[test]
fn the_tender_phase_is_the_ocds_status_the_export_gave() {
    for s in TenderState::ALL.iter().copied() {
        let old = match s.as_str() {
            "draft" | "approved" | "ready" => "planning",
            "completed" => "complete",
            "deserted" => "unsuccessful",
            "revoked" | "annulled" => "cancelled",
            _ => "active",
        };
        assert_eq!(s.phase().as_str(), old, "{s}");
    }
    assert_eq!(TenderState::Draft.phase(), TenderPhase::Planning);
    // Every final state has an ending phase.
    for s in TenderState::ALL.iter().filter(|s| s.is_final()) {
        assert!(!matches!(
            s.phase(),
            TenderPhase::Planning | TenderPhase::Active
        ));
    }
}

/// The service's `machines::envelopes(&str)` before the move.
fn old_envelopes(lot_state: &str) -> (bool, bool, bool) {
    match lot_state {
        "pending" | "deserted" => (false, false, false),
        "admin_review" => (true, false, false),
        "tech_eval" | "econ_eval" => (true, true, false),
        "revoked" | "annulled" | "not_awarded" => (true, false, false),
        _ => (true, true, true),
    }
}

#[test]
fn envelopes_open_in_the_sealed_order_as_the_lot_advances() {
    for s in LotState::ALL.iter().copied() {
        let e = s.open_envelopes();
        assert_eq!(
            (e.administrative, e.technical, e.economic),
            old_envelopes(s.as_str()),
            "{s}"
        );
        // Technical never before administrative, economic never before technical.
        assert!(!e.technical || e.administrative, "{s}");
        assert!(!e.economic || e.technical, "{s}");
    }
    assert_eq!(LotState::Ranked.open_envelopes(), OpenEnvelopes::ALL);
    assert!(!LotState::EconEval.open_envelopes().economic);
}

#[test]
fn a_lot_counts_as_awarded_from_the_award_to_the_contract() {
    for s in LotState::ALL.iter().copied() {
        let old = ["awarded", "suspended", "ready_to_sign", "contracted"].contains(&s.as_str());
        assert_eq!(s.is_awarded(), old, "{s}");
        // An awarded lot has its economic offers open.
        assert!(!s.is_awarded() || s.open_envelopes().economic, "{s}");
    }
}

#[test]
fn only_a_deserted_or_annulled_lot_closes_the_openings() {
    for s in LotState::ALL.iter().copied() {
        let old = matches!(s.as_str(), "deserted" | "annulled");
        assert_eq!(s.closes_openings(), old, "{s}");
    }
}

#[test]
fn a_live_offer_is_any_participation_but_an_unanswered_invitation_or_a_withdrawal() {
    for s in ParticipationState::ALL.iter().copied() {
        let old_live = s.as_str() != "withdrawn" && s.as_str() != "invited";
        assert_eq!(s.is_offer(), old_live, "{s}");
        let old_participant = !["invited", "no_offer", "withdrawn"].contains(&s.as_str());
        assert_eq!(s.is_participant(), old_participant, "{s}");
        // The two readings differ only on `no_offer`.
        assert_eq!(
            s.is_offer() != s.is_participant(),
            s == ParticipationState::NoOffer,
            "{s}"
        );
    }
}

#[test]
fn admitted_and_ranked_remaining_are_the_lists_the_lot_facts_counted() {
    for s in ParticipationState::ALL.iter().copied() {
        let admitted = [
            "admitted",
            "ranked",
            "proposed_awardee",
            "verified",
            "awardee",
            "contracted",
        ]
        .contains(&s.as_str());
        let ranked = ["ranked", "proposed_awardee", "verified", "awardee"].contains(&s.as_str());
        assert_eq!(s.is_admitted(), admitted, "{s}");
        assert_eq!(s.is_ranked_remaining(), ranked, "{s}");
        assert!(!s.is_ranked_remaining() || s.is_admitted(), "{s}");
        assert!(!s.is_admitted() || s.is_offer(), "{s}");
    }
}

#[test]
fn the_opening_rule_sees_admission_as_the_sealed_store_did() {
    for s in ParticipationState::ALL.iter().copied() {
        let old = match s.as_str() {
            "admitted" | "ranked" | "proposed_awardee" | "verified" | "awardee" | "contracted"
            | "not_awarded" => Admission::Admitted,
            "excluded" => Admission::Excluded,
            _ => Admission::Pending,
        };
        assert_eq!(s.admission(), old, "{s}");
    }
}

#[test]
fn four_timers_fire_an_event_and_the_others_only_remind() {
    let fired: Vec<(TimerKind, Machine, &str)> = TimerKind::ALL
        .iter()
        .filter_map(|k| k.fires().map(|e| (*k, e.machine(), e.as_str())))
        .collect();
    assert_eq!(
        fired,
        [
            (
                TimerKind::RequestsDeadline,
                Machine::Tender,
                "close_requests"
            ),
            (
                TimerKind::OfferDeadline,
                Machine::Tender,
                "close_submissions"
            ),
            (
                TimerKind::Soccorso,
                Machine::Participation,
                "soccorso_expired"
            ),
            (TimerKind::Standstill, Machine::Lot, "standstill_elapsed"),
        ]
    );
    assert_eq!(
        TimerKind::OfferDeadline.fires(),
        Some(MachineEvent::Tender(TenderEvent::CloseSubmissions))
    );
    assert_eq!(
        serde_json::to_value(TimerKind::Soccorso.fires()).unwrap(),
        serde_json::json!({"machine": "participation", "event": "soccorso_expired"})
    );
}

#[test]
fn six_lot_events_drive_a_participation_event() {
    use ParticipationEvent as P;
    let driven: Vec<(LotEvent, FollowUp)> = LotEvent::ALL
        .iter()
        .filter_map(|e| e.participation_follow_up().map(|f| (*e, f)))
        .collect();
    let f = |event, on| FollowUp { event, on };
    assert_eq!(
        driven,
        [
            (
                LotEvent::OpenEconomicOffers,
                f(P::Rank, Followers::Admitted)
            ),
            (
                LotEvent::RejectJustification,
                f(P::Exclude, Followers::Judged)
            ),
            (LotEvent::ProposeAward, f(P::Propose, Followers::Chosen)),
            (
                LotEvent::VerifyRequirements,
                f(P::VerificationPassed, Followers::Awardee)
            ),
            (
                LotEvent::VerificationFailed,
                f(P::VerificationFailed, Followers::Awardee)
            ),
            (LotEvent::Award, f(P::Award, Followers::Awardee)),
            (
                LotEvent::SignContract,
                f(P::SignContract, Followers::Awardee)
            ),
        ]
    );
    assert_eq!(
        Followers::Admitted.by_state(),
        Some(ParticipationState::Admitted)
    );
    assert_eq!(Followers::Awardee.by_state(), None);
    assert_eq!(Followers::Judged.by_state(), None);
}

#[test]
fn only_a_failed_verification_clears_the_lots_awardee() {
    let clearing: Vec<_> = LotEvent::ALL
        .iter()
        .filter(|e| e.clears_awardee())
        .collect();
    assert_eq!(clearing, [&LotEvent::VerificationFailed]);
}

/// A verified lot of an open procedure for services of 500,000 (above threshold: a standstill applies).
fn verified_above_threshold() -> LotFacts {
    let mut f = LotFacts::new(
        ProcedureType::Aperta,
        AwardCriterion::LowestPrice,
        contract(ContractObject::Services, 500_000, date(2026, 11, 2)),
    );
    f.offer_deadline = Some(rome(2026, 12, 2, 12, 0));
    f.offers_received = 3;
    f.admitted = 3;
    f.ranked_remaining = 3;
    f.requirements_verified = Some(true);
    f
}

#[test]
fn the_standstill_runs_from_the_sending_of_the_last_award_communication_art_18_c_3() {
    let f = verified_above_threshold();
    let now = rome(2027, 1, 11, 10, 0);
    // The award sets no standstill: its communications are only queued.
    let award = accepted(lot::apply(LotState::Verified, &LotEvent::Award, &f, now));
    assert_eq!(award.to, LotState::Awarded);
    assert_eq!(award.timer(TimerKind::Standstill), None);
    assert!(
        award.effects.contains(&Effect::SetTimer {
            kind: TimerKind::Art90Communication,
            at: lifecycle::Rules::standard()
                .calendar
                .term_end_instant(now, 5)
                .unwrap(),
            article: "art. 90 c.1",
        })
    );
    // The award mails say how many days run from the sending, not a date.
    assert_eq!(
        lot::standstill_outlook(lifecycle::Rules::standard(), &f, now).unwrap(),
        lot::StandstillOutlook::RunsFromSending { days: 32 }
    );
    // Recording needs the sending time; sent three days later, the standstill ends 32 days after that.
    refused(
        lot::apply(
            LotState::Awarded,
            &LotEvent::RecordAwardCommunications,
            &f,
            now,
        ),
        "art. 18 c.3",
    );
    let sent = rome(2027, 1, 14, 9, 30);
    let mut recorded = f.clone();
    recorded.last_award_communication_at = Some(sent);
    let later = rome(2027, 1, 14, 9, 31);
    let r = accepted(lot::apply(
        LotState::Awarded,
        &LotEvent::RecordAwardCommunications,
        &recorded,
        later,
    ));
    assert_eq!(r.to, LotState::Awarded);
    let end = lot::standstill_end(lifecycle::Rules::standard(), sent).unwrap();
    assert_eq!(r.timer(TimerKind::Standstill), Some(end));
    // 14 Jan + 32 = Mon 15 Feb 2027, at its end (00:00 of the 16th, Rome)
    assert_eq!(end, rome(2027, 2, 16, 0, 0));
    assert!(r.effects.contains(&Effect::CancelTimer {
        kind: TimerKind::Art90Communication
    }));
    // A sending time in the future is refused.
    refused(
        lot::apply(
            LotState::Awarded,
            &LotEvent::RecordAwardCommunications,
            &recorded,
            now,
        ),
        "art. 18 c.3",
    );
    // Only the platform records it.
    assert!(LotEvent::RecordAwardCommunications.recorded_by_platform());
    assert_eq!(
        LotEvent::ALL
            .iter()
            .filter(|e| e.recorded_by_platform())
            .count(),
        1
    );
}

#[test]
fn the_single_offer_exemption_follows_from_the_offers_art_18_c_3_a() {
    let rules = lifecycle::Rules::standard();
    let now = rome(2027, 1, 11, 10, 0);
    // Three offers: no exemption, and declaring lett. a) is refused at the award.
    let mut f = verified_above_threshold();
    assert_eq!(lot::standstill_exemption(rules, &f).unwrap(), None);
    f.standstill_exemption = Some(lot::StandstillExemption::SingleOfferUnchallenged);
    refused(
        lot::apply(LotState::Verified, &LotEvent::Award, &f, now),
        "art. 18 c.3 lett. a)",
    );
    // One offer submitted: exempt without any declaration.
    let mut one = verified_above_threshold();
    one.offers_received = 1;
    one.admitted = 1;
    one.ranked_remaining = 1;
    assert_eq!(
        lot::standstill_exemption(rules, &one).unwrap(),
        Some("art. 18 c.3 lett. a)")
    );
    assert_eq!(
        lot::standstill_outlook(rules, &one, now).unwrap(),
        lot::StandstillOutlook::Exempt {
            article: "art. 18 c.3 lett. a)"
        }
    );
    // Three submitted, one admitted: exempt too ("presentata o ammessa una sola offerta").
    let mut admitted_one = verified_above_threshold();
    admitted_one.admitted = 1;
    assert_eq!(
        lot::standstill_exemption(rules, &admitted_one).unwrap(),
        Some("art. 18 c.3 lett. a)")
    );
    // A timely challenge of the bando keeps the standstill.
    one.single_offer_challenged = true;
    assert_eq!(lot::standstill_exemption(rules, &one).unwrap(), None);
    // Lett. b) is a fact of the procedure, declared.
    let mut fa = verified_above_threshold();
    fa.standstill_exemption = Some(lot::StandstillExemption::FrameworkAgreement);
    assert_eq!(
        lot::standstill_exemption(rules, &fa).unwrap(),
        Some("art. 18 c.3 lett. b)")
    );
    accepted(lot::apply(LotState::Verified, &LotEvent::Award, &fa, now));
}

#[test]
fn an_award_needs_verified_requirements_art_17_c_5() {
    let mut unverified = verified_above_threshold();
    unverified.requirements_verified = None;
    refused(
        lot::apply(
            LotState::Verified,
            &LotEvent::Award,
            &unverified,
            rome(2027, 1, 11, 10, 0),
        ),
        "art. 17 c.5, art. 99",
    );
}

#[test]
fn offers_are_open_strictly_before_the_deadline() {
    use chrono::{Duration, TimeZone, Utc};
    use lifecycle::participation::offers_open;
    let d = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    assert!(offers_open(d, d - Duration::milliseconds(1)));
    assert!(offers_open(d, d - Duration::microseconds(1)));
    assert!(
        !offers_open(d, d),
        "an offer at the deadline's instant is late"
    );
    assert!(!offers_open(d, d + Duration::microseconds(1)));
}
