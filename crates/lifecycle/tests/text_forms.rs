//! Every state and event is stored as its snake_case text (TEXT columns): each round-trips through `as_str`,
//! `Display`, `FromStr` and serde, and `ALL` lists every variant once.

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};
use std::str::FromStr;

use lifecycle::lot::{LotEvent, LotState};
use lifecycle::participation::{Admission, ParticipationEvent, ParticipationState};
use lifecycle::request::{RequestActor, RequestEvent, RequestState};
use lifecycle::tender::{TenderEvent, TenderPhase, TenderState};
use lifecycle::{Machine, TimerKind, UnknownName};
use serde::{Serialize, de::DeserializeOwned};

#[track_caller]
fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str)
where
    T: Copy + Debug + Ord + Display + Serialize + DeserializeOwned + FromStr<Err = UnknownName>,
{
    assert!(!all.is_empty());
    let distinct: BTreeSet<T> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "ALL lists a variant twice");
    for v in all.iter().copied() {
        let text = as_str(v);
        assert_eq!(v.to_string(), text);
        assert_eq!(text.parse::<T>().unwrap(), v);
        let json = serde_json::to_value(v).unwrap();
        assert_eq!(json, serde_json::Value::String(text.to_owned()));
        assert_eq!(serde_json::from_value::<T>(json).unwrap(), v);
    }
    assert!("".parse::<T>().is_err());
    assert!(as_str(all[0]).to_uppercase().parse::<T>().is_err());
}

#[test]
fn every_state_round_trips_through_its_stored_text() {
    round_trips(TenderState::ALL, TenderState::as_str);
    round_trips(LotState::ALL, LotState::as_str);
    round_trips(ParticipationState::ALL, ParticipationState::as_str);
    round_trips(RequestState::ALL, RequestState::as_str);
}

#[test]
fn every_event_round_trips_through_its_stored_text() {
    round_trips(TenderEvent::ALL, TenderEvent::as_str);
    round_trips(LotEvent::ALL, LotEvent::as_str);
    round_trips(ParticipationEvent::ALL, ParticipationEvent::as_str);
    round_trips(RequestEvent::ALL, RequestEvent::as_str);
}

#[test]
fn every_label_the_predicates_return_round_trips_through_its_text() {
    round_trips(TenderPhase::ALL, TenderPhase::as_str);
    round_trips(Admission::ALL, Admission::as_str);
    round_trips(RequestActor::ALL, RequestActor::as_str);
    round_trips(TimerKind::ALL, TimerKind::as_str);
    round_trips(Machine::ALL, Machine::as_str);
}

#[test]
fn the_request_statuses_are_the_texts_the_service_stores() {
    let names: Vec<&str> = RequestState::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        ["submitted", "returned", "accepted", "rejected", "withdrawn"]
    );
}
