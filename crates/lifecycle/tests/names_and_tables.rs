//! Stable names (stored in the database) and structural properties of the three transition tables.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::str::FromStr;

use lifecycle::lot::{self, LotEvent, LotState};
use lifecycle::participation::{self, Admission, ParticipationEvent, ParticipationState};
use lifecycle::request::{RequestActor, RequestEvent, RequestState};
use lifecycle::tender::{self, TenderEvent, TenderPhase, TenderState};
use lifecycle::{
    Addressee, AwardCriterion, CommunicationKind, Machine, ProcedureType, QualificationLevel,
    TermReduction, TimerKind, UnknownName,
};
use serde::{Serialize, de::DeserializeOwned};

fn check_names<T>(all: &[T], as_str: fn(T) -> &'static str, kind: &str)
where
    T: Copy + Debug + PartialEq + Serialize + DeserializeOwned + FromStr<Err = UnknownName>,
{
    let mut seen = BTreeSet::new();
    for v in all.iter().copied() {
        let name = as_str(v);
        assert!(seen.insert(name), "duplicate name {name}");
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name} is not snake_case"
        );
        assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{name}\""));
        assert_eq!(
            serde_json::from_str::<T>(&format!("\"{name}\"")).unwrap(),
            v
        );
        assert_eq!(name.parse::<T>().unwrap(), v);
    }
    let err = "NotAName".parse::<T>().unwrap_err();
    assert_eq!(err.kind, kind);
    assert!(err.to_string().contains("NotAName"));
    assert!(serde_json::from_str::<T>("\"NotAName\"").is_err());
}

#[test]
fn every_state_event_and_label_has_a_stable_snake_case_name() {
    check_names(TenderState::ALL, TenderState::as_str, "tender state");
    check_names(TenderEvent::ALL, TenderEvent::as_str, "tender event");
    check_names(LotState::ALL, LotState::as_str, "lot state");
    check_names(LotEvent::ALL, LotEvent::as_str, "lot event");
    check_names(
        ParticipationState::ALL,
        ParticipationState::as_str,
        "participation state",
    );
    check_names(
        ParticipationEvent::ALL,
        ParticipationEvent::as_str,
        "participation event",
    );
    check_names(ProcedureType::ALL, ProcedureType::as_str, "procedure type");
    check_names(
        AwardCriterion::ALL,
        AwardCriterion::as_str,
        "award criterion",
    );
    check_names(
        QualificationLevel::ALL,
        QualificationLevel::as_str,
        "qualification level",
    );
    check_names(TermReduction::ALL, TermReduction::as_str, "term reduction");
    check_names(Addressee::ALL, Addressee::as_str, "addressee");
    check_names(
        CommunicationKind::ALL,
        CommunicationKind::as_str,
        "communication kind",
    );
    check_names(TimerKind::ALL, TimerKind::as_str, "timer kind");
    check_names(Machine::ALL, Machine::as_str, "machine");
    check_names(RequestState::ALL, RequestState::as_str, "request state");
    check_names(RequestEvent::ALL, RequestEvent::as_str, "request event");
    check_names(RequestActor::ALL, RequestActor::as_str, "request actor");
    check_names(TenderPhase::ALL, TenderPhase::as_str, "tender phase");
    check_names(Admission::ALL, Admission::as_str, "admission");
}

#[test]
fn some_names_are_pinned_because_the_database_stores_them() {
    assert_eq!(TenderState::InEvaluation.as_str(), "in_evaluation");
    assert_eq!(LotState::ReadyToSign.as_str(), "ready_to_sign");
    assert_eq!(ParticipationState::InSoccorso.as_str(), "in_soccorso");
    assert_eq!(
        ProcedureType::NegoziataSenzaBando.as_str(),
        "negoziata_senza_bando"
    );
    assert_eq!(AwardCriterion::QualityPrice.as_str(), "quality_price");
    assert_eq!(
        TimerKind::Art90Communication.as_str(),
        "art90_communication"
    );
}

/// Checks a table: finals have no way out, every state is reachable from the initial one, every non-final
/// state can reach a final one, every event is used.
fn check_table<S: Copy + Ord + Debug, E: Copy + Ord + Debug>(
    states: &[S],
    events: &[E],
    transitions: &[(S, E, S)],
    initial: S,
    is_final: fn(S) -> bool,
) {
    for (from, e, _) in transitions {
        assert!(
            !is_final(*from),
            "{from:?} is final but has a transition on {e:?}"
        );
    }
    let used: BTreeSet<E> = transitions.iter().map(|(_, e, _)| *e).collect();
    for e in events {
        assert!(used.contains(e), "event {e:?} is never used");
    }
    let reach = |start: S| {
        let mut seen = BTreeSet::from([start]);
        let mut stack = vec![start];
        while let Some(s) = stack.pop() {
            for (f, _, t) in transitions {
                if *f == s && seen.insert(*t) {
                    stack.push(*t);
                }
            }
        }
        seen
    };
    let from_initial = reach(initial);
    for s in states {
        assert!(from_initial.contains(s), "{s:?} is unreachable");
        if !is_final(*s) {
            assert!(
                reach(*s).iter().any(|x| is_final(*x)),
                "{s:?} cannot reach a final state"
            );
        }
    }
    assert!(states.iter().any(|s| is_final(*s)));
}

#[test]
fn the_tender_table_is_well_formed() {
    check_table(
        TenderState::ALL,
        TenderEvent::ALL,
        &tender::transitions(),
        TenderState::INITIAL,
        TenderState::is_final,
    );
}

#[test]
fn the_lot_table_is_well_formed() {
    check_table(
        LotState::ALL,
        LotEvent::ALL,
        &lot::transitions(),
        LotState::INITIAL,
        LotState::is_final,
    );
}

#[test]
fn the_participation_table_is_well_formed() {
    check_table(
        ParticipationState::ALL,
        ParticipationEvent::ALL,
        &participation::transitions(),
        ParticipationState::INITIAL,
        ParticipationState::is_final,
    );
}

#[test]
fn the_only_way_into_ranked_from_the_envelopes_is_opening_the_economic_offers() {
    let into_ranked: BTreeSet<(LotState, LotEvent)> = lot::transitions()
        .into_iter()
        .filter(|(f, _, t)| *t == LotState::Ranked && *f != LotState::Ranked)
        .map(|(f, e, _)| (f, e))
        .collect();
    for (from, e) in &into_ranked {
        let from_envelopes = matches!(
            from,
            LotState::AdminReview | LotState::TechEval | LotState::EconEval
        );
        if from_envelopes {
            assert_eq!(
                (*from, *e),
                (LotState::EconEval, LotEvent::OpenEconomicOffers)
            );
        }
    }
    // And the only way into econ_eval for a technical evaluation is freezing the scores.
    let into_econ: Vec<_> = lot::transitions()
        .into_iter()
        .filter(|(_, _, t)| *t == LotState::EconEval)
        .map(|(f, e, _)| (f, e))
        .collect();
    assert_eq!(
        into_econ,
        vec![
            (LotState::AdminReview, LotEvent::StartEconomicEvaluation),
            (LotState::TechEval, LotEvent::FreezeTechnicalScores)
        ]
    );
}
