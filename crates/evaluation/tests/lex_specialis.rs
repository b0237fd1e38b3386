//! The evaluation rules are part of the lex specialis (art. 54 c.2, art. 108 c.12): checked before any bid
//! exists, with no seed given by anyone; after the ranking is reopened the anomaly threshold is kept.

use evaluation::json::{AutomaticExclusion, parse_rules, rerank_json};
use evaluation::{anomaly::Method, evaluate_json, input_document};
use serde_json::{Value, json};

fn bids(values: &[&str]) -> Vec<Value> {
    values
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"id": format!("op-{:02}", i + 1), "discount": d}))
        .collect()
}

#[test]
fn art_54_c2_rules_are_checked_before_any_bid_exists() {
    let fixed = parse_rules("lowest_price", &json!({"anomaly": {"method": "A"}})).unwrap();
    assert_eq!(
        fixed.automatic_exclusion,
        AutomaticExclusion::Method(Method::A)
    );
    assert!(fixed.automatic_exclusion.is_provided());
    let drawn = parse_rules(
        "lowest_price",
        &json!({"anomaly": {"method": "draw", "draw": {"among": ["B", "A"]}}}),
    )
    .unwrap();
    assert_eq!(
        drawn.automatic_exclusion,
        AutomaticExclusion::DrawnAmong(vec![Method::A, Method::B])
    );
    let none = parse_rules("lowest_price", &json!({"anomaly": {"method": "none"}})).unwrap();
    assert!(!none.automatic_exclusion.is_provided());
    assert!(
        !parse_rules("lowest_price", &json!({}))
            .unwrap()
            .automatic_exclusion
            .is_provided()
    );
    let qp = json!({"technical": {"criteria": [{"id": "c1", "weight": "70"}]},
                    "economic": {"max_points": "30", "formula": {"type": "linear"}}});
    assert!(parse_rules("quality_price", &qp).is_ok());
}

#[test]
fn art_54_c2_bad_rules_name_the_field() {
    let e = parse_rules("lowest_price", &json!({"anomaly": {"method": "Z"}})).unwrap_err();
    assert_eq!(e.path, "anomaly.method");
    let e = parse_rules(
        "lowest_price",
        &json!({"anomaly": {"method": "A", "decrement": "sideways"}}),
    )
    .unwrap_err();
    assert_eq!(e.path, "anomaly.decrement");
    let e = parse_rules(
        "lowest_price",
        &json!({"anomaly": {"method": "draw", "draw": {"among": ["C"]}}}),
    )
    .unwrap_err();
    assert_eq!(e.path, "anomaly.reference_discount");
    // the bids and the base amount are not rules; a quality-price field is not a lowest-price rule
    for k in ["bids", "base_amount", "criterion", "technical"] {
        let e = parse_rules("lowest_price", &json!({ k: "x" })).unwrap_err();
        assert_eq!(e.path, k, "{e}");
    }
    let e = parse_rules("quality_price", &json!({"economic": {"max_points": "30"}})).unwrap_err();
    assert_eq!(e.path, "technical");
}

#[test]
fn art_54_c2_nobody_gives_a_seed() {
    let e = parse_rules(
        "lowest_price",
        &json!({"anomaly": {"method": "A"}, "seed": "1"}),
    )
    .unwrap_err();
    assert_eq!(e.path, "seed");
    assert!(e.message.contains("platform"), "{e}");
    let e = parse_rules(
        "lowest_price",
        &json!({"anomaly": {"method": "draw", "draw": {"among": ["A", "B"], "seed": "7"}}}),
    )
    .unwrap_err();
    assert_eq!(e.path, "anomaly.draw.seed");
}

#[test]
fn the_platform_seed_goes_where_the_draws_read_it() {
    let rules = json!({"anomaly": {"method": "draw", "draw": {"among": ["A", "B"]}}});
    let doc = input_document(
        "lowest_price",
        &rules,
        Some("1000"),
        bids(&["10", "11"]),
        Some(42),
    );
    assert_eq!(doc["seed"], "42");
    assert_eq!(doc["anomaly"]["draw"]["seed"], "42");
    assert_eq!(doc["criterion"], "lowest_price");
    let out = evaluate_json(&doc.to_string()).unwrap();
    assert_eq!(out["anomaly"]["method_draw"]["seed"], "42");
}

/// Art. 108 c.12: once the ranking is reopened, the bids left are ranked against the first threshold; a
/// fresh computation on them would give another one.
#[test]
fn art_108_c12_threshold_is_not_recomputed_after_reopen() {
    let all = [
        "10.5", "11.2", "12.0", "12.8", "13.1", "13.9", "14.4", "15.0", "16.2", "21.0",
    ];
    let rules = json!({"anomaly": {"method": "A"}});
    let first_doc = input_document("lowest_price", &rules, None, bids(&all), Some(1));
    let first = evaluate_json(&first_doc.to_string()).unwrap();
    assert_eq!(first["anomaly"]["outcome"], "computed");
    let t1 = first["anomaly"]["threshold"].clone();
    let winner = first["winner"].as_str().unwrap().to_owned();
    // the awardee leaves the ranking (e.g. the award is annulled by a judgment)
    let left: Vec<Value> = bids(&all)
        .into_iter()
        .filter(|b| b["id"] != winner.as_str())
        .collect();
    let doc = input_document("lowest_price", &rules, None, left, Some(1));
    let fresh = evaluate_json(&doc.to_string()).unwrap();
    assert_ne!(
        fresh["anomaly"]["threshold"], t1,
        "the data must be such that a recomputation would move the threshold"
    );
    let again = rerank_json(&doc.to_string(), &first).unwrap();
    assert_eq!(again["anomaly"]["threshold"], t1);
    assert!(
        again["anomaly"]["rule"]
            .as_str()
            .unwrap()
            .contains("art. 108 c.12")
    );
    assert_ne!(again["winner"], json!(winner));
    // the bids excluded as anomalous stay excluded; the ranking is the first one without the awardee
    assert_eq!(
        again["anomaly"]["excluded"], first["anomaly"]["excluded"],
        "{again}"
    );
    let first_order: Vec<&Value> = first["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .filter(|id| *id != winner.as_str())
        .collect();
    let again_order: Vec<&Value> = again["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["id"])
        .collect();
    assert_eq!(again_order, first_order);
}

#[test]
fn art_108_c12_quality_price_scores_are_kept_after_reopen() {
    let rules = json!({"technical": {"criteria": [{"id": "c1", "weight": "70"}]},
                       "economic": {"max_points": "30", "formula": {"type": "bilinear", "x": "0.9"}}});
    let b =
        |id: &str, c: &str, d: &str| json!({"id": id, "coefficients": {"c1": c}, "discount": d});
    let all = vec![b("a", "1", "5"), b("b", "0.9", "20"), b("c", "0.5", "30")];
    let doc = input_document("quality_price", &rules, None, all.clone(), Some(3));
    let first = evaluate_json(&doc.to_string()).unwrap();
    let winner = first["winner"].as_str().unwrap().to_owned();
    let left: Vec<Value> = all
        .into_iter()
        .filter(|x| x["id"] != winner.as_str())
        .collect();
    let doc = input_document("quality_price", &rules, None, left, Some(3));
    let fresh = evaluate_json(&doc.to_string()).unwrap();
    let again = rerank_json(&doc.to_string(), &first).unwrap();
    let total = |r: &Value, id: &str| {
        r["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .map(|l| l["total"].clone())
    };
    let other = again["winner"].as_str().unwrap().to_owned();
    assert_ne!(other, winner);
    assert_eq!(total(&again, &other), total(&first, &other));
    assert_ne!(
        total(&fresh, &other),
        total(&first, &other),
        "a recomputation would move the means and the scores"
    );
}
