//! The procurement request machine: the same transitions, actors and mails as the service's request handlers.

mod common;

use common::*;
use lifecycle::request::{
    self, RULE_REJECTION_MOTIVATED, RULE_RETURN_WITH_QUESTIONS, RULE_WHO_ACTS, RequestActor as A,
    RequestEvent as E, RequestFacts, RequestState as S,
};
use lifecycle::{Addressee, CommunicationKind, Machine, RULE_TRANSITION_TABLE};

fn now() -> chrono::DateTime<chrono::Utc> {
    rome(2026, 12, 1, 10, 0)
}

fn municipality() -> RequestFacts {
    RequestFacts::new(A::Municipality)
}

fn buyer(reason: &str) -> RequestFacts {
    RequestFacts::with_reason(A::SuaBuyer, reason)
}

#[test]
fn the_table_is_exactly_the_one_the_request_handlers_enforced() {
    // (from, event, to) as `set_status(allowed_from, to)`, `accept_request` and `add_message` allowed them.
    let expected = [
        (S::Submitted, E::Accept, S::Accepted),
        (S::Submitted, E::Return, S::Returned),
        (S::Submitted, E::Reject, S::Rejected),
        (S::Submitted, E::Withdraw, S::Withdrawn),
        (S::Returned, E::Resubmit, S::Submitted),
        (S::Returned, E::Reject, S::Rejected),
        (S::Returned, E::Withdraw, S::Withdrawn),
    ];
    let mut table = request::transitions();
    table.sort();
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(table, expected);
    assert_eq!(S::INITIAL, S::Submitted);
}

#[test]
fn a_request_is_created_submitted_and_ends_accepted_rejected_or_withdrawn() {
    let finals: Vec<S> = S::ALL.iter().copied().filter(|s| s.is_final()).collect();
    assert_eq!(finals, [S::Accepted, S::Rejected, S::Withdrawn]);
    for s in finals {
        for e in E::ALL {
            let facts = RequestFacts::with_reason(e.actor(), "why");
            let r = refused(request::apply(s, e, &facts, now()), RULE_TRANSITION_TABLE);
            assert!(r.message.contains("final state"), "{}", r.message);
        }
    }
}

#[test]
fn the_buyer_accepts_returns_and_rejects_and_the_municipality_answers_and_withdraws() {
    assert_eq!(E::Accept.actor(), A::SuaBuyer);
    assert_eq!(E::Return.actor(), A::SuaBuyer);
    assert_eq!(E::Reject.actor(), A::SuaBuyer);
    assert_eq!(E::Resubmit.actor(), A::Municipality);
    assert_eq!(E::Withdraw.actor(), A::Municipality);
    // The wrong actor is refused under the convenzione, with the state unchanged.
    refused(
        request::apply(S::Submitted, &E::Withdraw, &buyer("x"), now()),
        RULE_WHO_ACTS,
    );
    refused(
        request::apply(
            S::Submitted,
            &E::Reject,
            &RequestFacts::with_reason(A::Municipality, "x"),
            now(),
        ),
        RULE_WHO_ACTS,
    );
    refused(
        request::apply(S::Returned, &E::Resubmit, &buyer("x"), now()),
        RULE_WHO_ACTS,
    );
}

#[test]
fn a_return_needs_the_questions_and_a_rejection_its_reasons() {
    let blank = RequestFacts::with_reason(A::SuaBuyer, "  ");
    refused(
        request::apply(S::Submitted, &E::Return, &blank, now()),
        RULE_RETURN_WITH_QUESTIONS,
    );
    refused(
        request::apply(
            S::Returned,
            &E::Reject,
            &RequestFacts::new(A::SuaBuyer),
            now(),
        ),
        RULE_REJECTION_MOTIVATED,
    );
    let t = accepted(request::apply(
        S::Submitted,
        &E::Reject,
        &buyer("outside the convention"),
        now(),
    ));
    assert_eq!(t.to, S::Rejected);
    assert!(
        t.audit()
            .unwrap()
            .rules_checked
            .contains(&RULE_REJECTION_MOTIVATED)
    );
}

#[test]
fn the_municipality_is_mailed_on_accept_return_and_reject_only() {
    let mails = |s, e: E| {
        let facts = RequestFacts::with_reason(e.actor(), "questions");
        accepted(request::apply(s, &e, &facts, now()))
            .communications()
            .map(|(to, kind, _, _)| (to, kind))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mails(S::Submitted, E::Accept),
        [(Addressee::Comune, CommunicationKind::RequestAccepted)]
    );
    assert_eq!(
        mails(S::Submitted, E::Return),
        [(Addressee::Comune, CommunicationKind::RequestReturned)]
    );
    assert_eq!(
        mails(S::Returned, E::Reject),
        [(Addressee::Comune, CommunicationKind::RequestRejected)]
    );
    assert!(mails(S::Returned, E::Resubmit).is_empty());
    assert!(mails(S::Submitted, E::Withdraw).is_empty());
}

#[test]
fn an_answer_puts_a_returned_request_back_under_review() {
    let t = accepted(request::apply(
        S::Returned,
        &E::Resubmit,
        &municipality(),
        now(),
    ));
    assert_eq!((t.from, t.to), (S::Returned, S::Submitted));
    let audit = t.audit().unwrap();
    assert_eq!(audit.machine, Machine::Request);
    assert_eq!(
        (audit.event, audit.from, audit.to),
        ("resubmit", "returned", "submitted")
    );
    // A submitted request is not "answered" back to submitted: messages on it change nothing.
    refused(
        request::apply(S::Submitted, &E::Resubmit, &municipality(), now()),
        RULE_TRANSITION_TABLE,
    );
}

#[test]
fn only_a_submitted_request_can_be_accepted_or_returned() {
    for e in [E::Accept, E::Return] {
        refused(
            request::apply(S::Returned, &e, &buyer("q"), now()),
            RULE_TRANSITION_TABLE,
        );
    }
}

#[test]
fn messages_are_closed_once_a_request_is_rejected_or_withdrawn() {
    for s in S::ALL.iter().copied() {
        let old = !matches!(s.as_str(), "rejected" | "withdrawn");
        assert_eq!(s.accepts_messages(), old, "{s}");
    }
}

#[test]
fn the_request_diagram_is_in_the_generated_docs() {
    let m = lifecycle::diagram::request_mermaid();
    assert!(m.starts_with("stateDiagram-v2\n    [*] --> submitted\n"));
    assert!(m.contains("    returned --> submitted : resubmit\n"));
    assert!(
        lifecycle::diagram::generated_docs()
            .contains("### Procurement request machine (generated)")
    );
}
