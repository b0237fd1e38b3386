//! Counters per operator (invitations, bids, awards, awarded amounts), per Province and per municipality:
//! a pure aggregation over event records, for the rotation checks and the SUA's reports.

use crate::model::OperatorId;
use crate::rotation::Buyer;
use chrono::NaiveDate;
use domain::money::Euro;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// What happened to an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EventKind {
    Invited,
    Bid,
    Awarded { amount: Euro },
}

/// One event record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorEvent {
    pub operator: OperatorId,
    pub buyer: Buyer,
    pub date: NaiveDate,
    pub kind: EventKind,
}

/// The counters of one operator in one area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counters {
    pub invitations: u64,
    pub bids: u64,
    pub awards: u64,
    pub awarded: Euro,
}

/// The area a counter row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case", tag = "level", content = "id")]
pub enum Area {
    Province(Uuid),
    Municipality(Uuid),
}

/// Counters keyed by operator and area. An event of a municipality counts for the municipality and for its
/// Province; an event of the Province's own contract only for the Province.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CounterReport {
    pub counters: BTreeMap<(OperatorId, Area), Counters>,
}

/// A refused aggregation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CounterError {
    #[error("awarded: the total for operator {0} overflows")]
    Overflow(OperatorId),
    #[error("period: from {from} is after to {to}")]
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
}

impl CounterReport {
    pub fn get(&self, operator: OperatorId, area: Area) -> Counters {
        self.counters
            .get(&(operator, area))
            .copied()
            .unwrap_or_default()
    }
}

/// Aggregates the events dated within `from..=to` (either bound optional).
pub fn aggregate(
    events: &[OperatorEvent],
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<CounterReport, CounterError> {
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(CounterError::EmptyPeriod { from, to });
    }
    let mut report = CounterReport::default();
    for e in events {
        if from.is_some_and(|f| e.date < f) || to.is_some_and(|t| e.date > t) {
            continue;
        }
        let areas = std::iter::once(Area::Province(e.buyer.province))
            .chain(e.buyer.municipality.map(Area::Municipality));
        for area in areas {
            let c = report.counters.entry((e.operator, area)).or_default();
            match &e.kind {
                EventKind::Invited => c.invitations += 1,
                EventKind::Bid => c.bids += 1,
                EventKind::Awarded { amount } => {
                    c.awards += 1;
                    c.awarded = c
                        .awarded
                        .checked_add(*amount)
                        .ok_or(CounterError::Overflow(e.operator))?;
                }
            }
        }
    }
    Ok(report)
}
