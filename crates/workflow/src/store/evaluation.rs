//! A lot's stored evaluation (`lot.evaluation_json`), named once: written by `POST /v1/lots/{id}/evaluate`
//! as `{"input", "result", "evaluated_at"}` (`result` is the `evaluation` crate's explained result, answered
//! as is over HTTP) and read back typed for the one thing the workflow needs: which bid ranks first.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// The stored JSON of an evaluation: the evaluation's input (as the service completed it), its result
/// and when it ran. The text is what the HTTP answer and the audit entry carry.
pub fn stored_evaluation(input: Value, result: Value, evaluated_at: DateTime<Utc>) -> Value {
    json!({"input": input, "result": result, "evaluated_at": evaluated_at})
}

/// The stored evaluation `stored` (its JSON text) marked as reopened at `at` (`reopen_ranking`): the next
/// evaluation ranks the bids left against its threshold and scores (art. 108 c.12) instead of returning it.
pub fn mark_reopened(stored: &str, at: DateTime<Utc>) -> String {
    match serde_json::from_str::<Value>(stored) {
        Ok(Value::Object(mut m)) => {
            m.insert("reopened_at".into(), json!(at));
            Value::Object(m).to_string()
        }
        _ => stored.to_owned(),
    }
}

/// Whether the stored evaluation was reopened since it was computed (see [`mark_reopened`]).
pub fn is_reopened(stored: &Value) -> bool {
    stored.get("reopened_at").is_some_and(|v| !v.is_null())
}

/// What the workflow reads of a stored evaluation. Every evaluation the service ever stored has this shape
/// (the `evaluation` crate's results have carried `winner` and `ranking[].id` since it was written); other
/// fields are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StoredEvaluation {
    pub result: Ranking,
}

/// The ranked bids of an evaluation result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ranking {
    /// The proposed winner; `None` when the result proposes none (an undetermined anomaly threshold, or a
    /// tie for first place without a seed).
    #[serde(default)]
    pub winner: Option<Uuid>,
    /// The bids not excluded, best first.
    #[serde(default)]
    pub ranking: Vec<RankedBid>,
}

/// One line of the ranking (only the bid id is read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RankedBid {
    pub id: Uuid,
}

impl StoredEvaluation {
    /// Reads the stored JSON; `None` if it does not have the evaluation's shape.
    pub fn read(stored: &str) -> Option<Self> {
        serde_json::from_str(stored).ok()
    }

    /// The bid the evaluation puts first: the winner, else the head of the ranking.
    pub fn first_ranked(&self) -> Option<Uuid> {
        self.result
            .winner
            .or_else(|| self.result.ranking.first().map(|r| r.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_winner_else_the_head_of_the_ranking() {
        let a = Uuid::now_v7();
        let b = Uuid::now_v7();
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let with_winner = stored_evaluation(
            json!({"criterion": "lowest_price"}),
            json!({"criterion": "lowest_price", "winner": b.to_string(),
                   "ranking": [{"id": a.to_string(), "rank": "1"}, {"id": b.to_string(), "rank": "2"}]}),
            at,
        );
        let e = StoredEvaluation::read(&with_winner.to_string()).unwrap();
        assert_eq!(e.first_ranked(), Some(b));
        let no_winner = stored_evaluation(
            json!({}),
            json!({"winner": null, "tie": [a.to_string(), b.to_string()],
                   "ranking": [{"id": a.to_string(), "rank": "1"}, {"id": b.to_string(), "rank": "1"}]}),
            at,
        );
        let e = StoredEvaluation::read(&no_winner.to_string()).unwrap();
        assert_eq!(e.first_ranked(), Some(a));
        let empty = stored_evaluation(json!({}), json!({"winner": null, "ranking": []}), at);
        assert_eq!(
            StoredEvaluation::read(&empty.to_string())
                .unwrap()
                .first_ranked(),
            None
        );
        assert_eq!(StoredEvaluation::read("{}"), None);
    }

    #[test]
    fn a_reopened_evaluation_is_marked_and_still_read() {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        let a = Uuid::now_v7();
        let s = stored_evaluation(
            json!({}),
            json!({"winner": a.to_string(), "ranking": []}),
            at,
        );
        assert!(!is_reopened(&s));
        let m = mark_reopened(&s.to_string(), at);
        assert!(is_reopened(&serde_json::from_str(&m).unwrap()));
        assert_eq!(StoredEvaluation::read(&m).unwrap().first_ranked(), Some(a));
    }
}
