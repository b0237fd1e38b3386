//! The art. 110 verification of an offer that appears abnormally low, judged bid by bid: the buyer accepts
//! the explanations (c.4) or does not and excludes the offer (c.5). Each judgement is recorded in the lot's
//! stored evaluation (`lot.evaluation_json`, key `anomaly_verification`: `[{"bid", "anomalous", "at"}]`,
//! beside the evaluation crate's `result.anomaly`, the automatic step of art. 54 c.1), by the lot event
//! that makes it (`accept_justification`, `reject_justification`); the award schede read it
//! (`pcp_facts`: `offertaAnomala`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

const KEY: &str = "anomaly_verification";

/// `stored` with the judgement on `bid` appended (a later judgement on the same bid replaces the earlier);
/// `None` without a stored evaluation (a lot ranked without `POST …/evaluate`): the judgement is then not
/// recorded here, only the bid's exclusion, since a record of judgements alone would pass for the
/// evaluation that runs once (art. 54 c.2).
pub fn record(
    stored: Option<&str>,
    bid: Uuid,
    anomalous: bool,
    at: DateTime<Utc>,
) -> Option<String> {
    let mut m = match stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) {
        Some(Value::Object(m)) if m.contains_key("result") => m,
        _ => return None,
    };
    let mut list: Vec<Value> = m
        .get(KEY)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    list.retain(|j| j["bid"] != json!(bid));
    list.push(json!({"bid": bid, "anomalous": anomalous, "at": at}));
    m.insert(KEY.into(), Value::Array(list));
    Some(Value::Object(m).to_string())
}

/// The bids judged abnormally low after their explanations (art. 110 c.5), from the stored evaluation
/// and the evaluations it replaced after a reopened ranking (`previous`), the latest judgement per bid.
pub fn judged_anomalous(stored: Option<&str>) -> Vec<Uuid> {
    let Some(mut v) = stored.and_then(|s| serde_json::from_str::<Value>(s).ok()) else {
        return Vec::new();
    };
    let (mut seen, mut out) = (Vec::new(), Vec::new());
    loop {
        for j in v[KEY].as_array().into_iter().flatten().rev() {
            let Some(id) = j["bid"].as_str().and_then(|s| s.parse::<Uuid>().ok()) else {
                continue;
            };
            if !seen.contains(&id) {
                seen.push(id);
                if j["anomalous"] == json!(true) {
                    out.push(id);
                }
            }
        }
        match v.get_mut("previous").map(Value::take) {
            Some(p) if p.is_object() => v = p,
            _ => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judgements_are_recorded_per_bid_and_the_last_one_counts() {
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let stored = r#"{"result": {"ranking": []}, "reopened_at": null}"#;
        let s = record(Some(stored), a, true, at).unwrap();
        let s = record(Some(&s), b, false, at).unwrap();
        assert_eq!(judged_anomalous(Some(&s)), [a]);
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v["result"],
            json!({"ranking": []}),
            "the evaluation is kept"
        );
        // a ranking reopened and evaluated again keeps the judgements under `previous`
        let again = json!({"result": {"ranking": []}, "previous": v}).to_string();
        assert_eq!(judged_anomalous(Some(&again)), [a]);
        let s = record(Some(&again), a, false, at).unwrap();
        assert!(
            judged_anomalous(Some(&s)).is_empty(),
            "the latest judgement counts"
        );
        // no stored evaluation: nothing recorded (it would pass for the evaluation)
        assert_eq!(record(None, b, true, at), None);
        assert_eq!(record(Some(r#"{"x": 1}"#), b, true, at), None);
        assert!(judged_anomalous(None).is_empty());
        assert!(judged_anomalous(Some("not json")).is_empty());
    }
}
