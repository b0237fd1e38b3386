mod common;

use common::*;
use lifecycle::lot::LotState;
use lifecycle::participation::{
    self, ParticipationEvent as E, ParticipationFacts, ParticipationState as S,
};
use lifecycle::rules::Rules;
use lifecycle::{Addressee, CommunicationKind, ProcedureType, TimerKind};

fn open_facts() -> ParticipationFacts {
    ParticipationFacts::new(
        ProcedureType::Aperta,
        rome(2026, 12, 2, 12, 0),
        LotState::Pending,
    )
}

#[test]
fn an_offer_is_accepted_before_the_deadline_and_refused_at_or_after_it() {
    let f = open_facts();
    let t = accepted(participation::apply(
        S::Invited,
        &E::Submit,
        &f,
        rome(2026, 12, 2, 11, 59),
    ));
    assert_eq!(t.to, S::Submitted);
    assert!(
        t.communications()
            .any(|(to, k, _, _)| to == Addressee::Operator
                && k == CommunicationKind::ReceiptAcknowledgement)
    );
    for late in [rome(2026, 12, 2, 12, 0), rome(2026, 12, 3, 9, 0)] {
        let r = refused(
            participation::apply(S::Invited, &E::Submit, &f, late),
            "lex specialis: offer deadline",
        );
        assert!(r.message.contains("has passed"));
        refused(
            participation::apply(S::Submitted, &E::Replace, &f, late),
            "lex specialis: offer deadline",
        );
        refused(
            participation::apply(S::Submitted, &E::Withdraw, &f, late),
            "lex specialis: offer deadline",
        );
    }
}

#[test]
fn in_negotiated_procedures_only_invited_operators_may_bid() {
    let mut f = ParticipationFacts::new(
        ProcedureType::NegoziataSenzaBando,
        rome(2026, 12, 2, 12, 0),
        LotState::Pending,
    );
    assert!(!f.invited);
    let now = rome(2026, 11, 20, 9, 0);
    refused(
        participation::apply(S::Invited, &E::Submit, &f, now),
        "art. 50 c.1 lett. c)-e)",
    );
    f.invited = true;
    accepted(participation::apply(S::Invited, &E::Submit, &f, now));
}

#[test]
fn an_offer_may_be_withdrawn_or_replaced_before_the_deadline() {
    let f = open_facts();
    let now = rome(2026, 11, 30, 9, 0);
    assert_eq!(
        accepted(participation::apply(S::Submitted, &E::Replace, &f, now)).to,
        S::Submitted
    );
    assert_eq!(
        accepted(participation::apply(S::Submitted, &E::Withdraw, &f, now)).to,
        S::Withdrawn
    );
}

#[test]
fn soccorso_istruttorio_lasts_5_to_10_days_and_excludes_offer_content_and_fvoe_documents() {
    let mut f = open_facts();
    f.lot_state = LotState::AdminReview;
    let now = rome(2026, 12, 3, 10, 0);
    refused(
        participation::apply(S::Submitted, &E::RequestSoccorso, &f, now),
        "art. 101 c.1",
    );
    for bad in [4, 11] {
        f.soccorso_days = Some(bad);
        let r = refused(
            participation::apply(S::Submitted, &E::RequestSoccorso, &f, now),
            "art. 101 c.1",
        );
        assert!(r.message.contains("not less than 5"));
    }
    f.soccorso_days = Some(5);
    refused(
        participation::apply(
            S::Submitted,
            &E::RequestSoccorso,
            &f,
            rome(2026, 12, 1, 9, 0),
        ),
        "lex specialis: offer deadline",
    );
    let mut fvoe = f.clone();
    fvoe.soccorso_document_in_fvoe = true;
    let r = refused(
        participation::apply(S::Submitted, &E::RequestSoccorso, &fvoe, now),
        "art. 101 c.1",
    );
    assert!(r.message.contains("FVOE"));
    let mut content = f.clone();
    content.soccorso_on_offer_content = true;
    let r = refused(
        participation::apply(S::Submitted, &E::RequestSoccorso, &content, now),
        "art. 101 c.1",
    );
    assert!(r.message.contains("economic offer"));
    let mut identity = f.clone();
    identity.identity_uncertain = true;
    refused(
        participation::apply(S::Submitted, &E::RequestSoccorso, &identity, now),
        "art. 101 c.1",
    );

    let t = accepted(participation::apply(
        S::Submitted,
        &E::RequestSoccorso,
        &f,
        now,
    ));
    assert_eq!(t.to, S::InSoccorso);
    // Thu 3 Dec + 5 = Tue 8 Dec (Immacolata) -> Wed 9 Dec, end of day.
    let due = rome(2026, 12, 10, 0, 0);
    assert_eq!(t.timer(TimerKind::Soccorso), Some(due));

    f.soccorso_due = Some(due);
    refused(
        participation::apply(
            S::InSoccorso,
            &E::SoccorsoExpired,
            &f,
            rome(2026, 12, 9, 23, 0),
        ),
        "art. 101 c.2",
    );
    refused(
        participation::apply(S::InSoccorso, &E::CureSoccorso, &f, due),
        "art. 101 c.2",
    );
    assert_eq!(
        accepted(participation::apply(
            S::InSoccorso,
            &E::CureSoccorso,
            &f,
            rome(2026, 12, 9, 23, 0)
        ))
        .to,
        S::Submitted
    );
    let t = accepted(participation::apply(
        S::InSoccorso,
        &E::SoccorsoExpired,
        &f,
        due,
    ));
    assert_eq!(t.to, S::Excluded);
    assert!(
        t.communications()
            .any(|(_, k, d, _)| k == CommunicationKind::Exclusion && d == 5)
    );
}

#[test]
fn the_soccorso_bounds_are_configurable() {
    let rules = Rules {
        soccorso_max_days: 7,
        ..Rules::default()
    };
    let mut f = open_facts();
    f.soccorso_days = Some(10);
    let now = rome(2026, 12, 3, 10, 0);
    refused(
        participation::apply_with(&rules, S::Submitted, &E::RequestSoccorso, &f, now),
        "art. 101 c.1",
    );
    accepted(participation::apply(
        S::Submitted,
        &E::RequestSoccorso,
        &f,
        now,
    ));
}

#[test]
fn an_exclusion_states_its_reasons() {
    let mut f = open_facts();
    let now = rome(2026, 12, 3, 10, 0);
    refused(
        participation::apply(S::Admitted, &E::Exclude, &f, now),
        "art. 90 c.1 lett. d)",
    );
    f.exclusion_reason = Some("DGUE non sottoscritto, soccorso non riscontrato".into());
    let t = accepted(participation::apply(S::Admitted, &E::Exclude, &f, now));
    assert_eq!(t.to, S::Excluded);
}

#[test]
fn the_participation_follows_the_lot_through_ranking_award_and_contract() {
    let mut f = open_facts();
    let now = rome(2026, 12, 3, 10, 0);
    refused(
        participation::apply(S::Submitted, &E::Admit, &f, now),
        "art. 90 c.1 lett. d)",
    );
    f.lot_state = LotState::AdminReview;
    let mut s = accepted(participation::apply(S::Submitted, &E::Admit, &f, now)).to;
    refused(participation::apply(s, &E::Rank, &f, now), "art. 108");
    f.lot_state = LotState::Ranked;
    s = accepted(participation::apply(s, &E::Rank, &f, now)).to;
    f.lot_state = LotState::Proposed;
    s = accepted(participation::apply(s, &E::Propose, &f, now)).to;
    assert_eq!(s, S::ProposedAwardee);
    refused(
        participation::apply(s, &E::VerificationPassed, &f, now),
        "art. 17 c.5, art. 99",
    );
    f.requirements_verified = Some(true);
    s = accepted(participation::apply(s, &E::VerificationPassed, &f, now)).to;
    f.lot_state = LotState::Verified;
    refused(participation::apply(s, &E::Award, &f, now), "art. 17 c.5");
    f.lot_state = LotState::Awarded;
    s = accepted(participation::apply(s, &E::Award, &f, now)).to;
    assert_eq!(s, S::Awardee);
    refused(
        participation::apply(s, &E::CloseWithoutAward, &f, now),
        "art. 17 c.5",
    );
    f.lot_state = LotState::Contracted;
    refused(
        participation::apply(s, &E::CloseWithoutAward, &f, now),
        "art. 17 c.5",
    );
    s = accepted(participation::apply(s, &E::SignContract, &f, now)).to;
    assert_eq!(s, S::Contracted);
    assert!(s.is_final());
}

#[test]
fn a_failed_verification_excludes_and_the_others_close_when_the_lot_ends() {
    let mut f = open_facts();
    let now = rome(2026, 12, 10, 10, 0);
    f.requirements_verified = Some(false);
    let t = accepted(participation::apply(
        S::ProposedAwardee,
        &E::VerificationFailed,
        &f,
        now,
    ));
    assert_eq!(t.to, S::Excluded);
    f.lot_state = LotState::Ranked;
    refused(
        participation::apply(S::Ranked, &E::CloseWithoutAward, &f, now),
        "art. 17 c.5",
    );
    f.lot_state = LotState::Contracted;
    assert_eq!(
        accepted(participation::apply(
            S::Ranked,
            &E::CloseWithoutAward,
            &f,
            now
        ))
        .to,
        S::NotAwarded
    );
}

#[test]
fn an_operator_who_never_bid_is_closed_after_the_deadline() {
    let f = open_facts();
    refused(
        participation::apply(S::Invited, &E::DeadlinePassed, &f, rome(2026, 12, 1, 9, 0)),
        "lex specialis: offer deadline",
    );
    assert_eq!(
        accepted(participation::apply(
            S::Invited,
            &E::DeadlinePassed,
            &f,
            rome(2026, 12, 2, 12, 0)
        ))
        .to,
        S::NoOffer
    );
}
