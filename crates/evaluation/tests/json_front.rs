//! The JSON front end of `sua evaluate` (issue 3): field names, strings for numbers, and
//! refusals that name the bad field.

use evaluation::evaluate_json;
use serde_json::{Value, json};

fn run(v: Value) -> Value {
    evaluate_json(&v.to_string()).unwrap_or_else(|e| panic!("unexpected error: {e}"))
}

fn err(v: Value) -> String {
    match evaluate_json(&v.to_string()) {
        Ok(out) => panic!("expected an error, got {out}"),
        Err(e) => e.to_string(),
    }
}

const MIT: [&str; 20] = [
    "10.011", "11.110", "11.110", "11.431", "11.691", "12.751", "12.961", "13.471", "13.581",
    "13.910", "14.721", "14.812", "15.220", "15.627", "16.142", "16.352", "16.460", "16.752",
    "16.875", "16.992",
];

fn mit_bids() -> Value {
    Value::Array(
        MIT.iter()
            .enumerate()
            .map(|(i, d)| json!({"id": format!("op-{:02}", i + 1), "discount": d}))
            .collect(),
    )
}

/// MIT circolare 8/2019 example through the JSON interface: the output names of issue 3.
#[test]
fn lowest_price_output_shape() {
    let out =
        run(json!({"criterion": "lowest_price", "anomaly": {"method": "A"}, "bids": mit_bids()}));
    let a = &out["anomaly"];
    for key in [
        "applicable",
        "method",
        "admitted",
        "cut_low",
        "cut_high",
        "sum",
        "mean",
        "mean_excess",
        "ratio",
        "threshold",
        "excluded",
    ] {
        assert!(a.get(key).is_some(), "anomaly.{key} missing in {a}");
    }
    assert_eq!(a["applicable"], json!(true));
    assert_eq!(a["method"], json!("A"));
    assert_eq!(a["admitted"], json!("20"));
    assert_eq!(a["sum"], json!("215.882"));
    assert_eq!(a["ratio"], Value::Null, "no ratio with 15 or more bids");
    assert_eq!(a["cut_low"], json!(["op-01", "op-02", "op-03"]));
    assert!(a["threshold"].as_str().unwrap().starts_with("14.88483533"));
    assert_eq!(a["excluded"].as_array().unwrap().len(), 8);
    assert_eq!(out["winner"], json!("op-12"));
    assert_eq!(out["tie"], json!([]));
    assert_eq!(
        out["ranking"][0],
        json!({"id": "op-12", "rank": "1", "discount": "14.812"})
    );
}

/// Bids written as prices on a base amount; the ribasso is derived exactly.
#[test]
fn lowest_price_with_prices() {
    let out = run(json!({
        "criterion": "lowest_price", "base_amount": "100000.00",
        "bids": [{"id": "a", "price": "80000.00"}, {"id": "b", "price": "85000"}, {"id": "c", "discount": "12.5"}]
    }));
    assert_eq!(out["anomaly"]["method"], json!("none"));
    assert_eq!(out["winner"], json!("a"));
    assert_eq!(
        out["ranking"][0],
        json!({"id": "a", "rank": "1", "discount": "20", "price": "80000"})
    );
    assert_eq!(out["ranking"][2]["discount"], json!("12.5"));
}

#[test]
fn quality_price_output_shape() {
    let out = run(json!({
        "criterion": "quality_price",
        "technical": {"criteria": [{"id": "c1", "weight": "40"}, {"id": "c2", "weight": "30"}],
                      "riparametrazione": "first",
                      "sbarramento": {"min_points": "35", "applied": "after_first"}},
        "economic": {"max_points": "30", "formula": {"type": "linear"}},
        "bids": [
            {"id": "op-01", "coefficients": {"c1": "0.8", "c2": "0.5"}, "discount": "20"},
            {"id": "op-02", "coefficients": {"c1": ["0.6", "0.6", "0.6"], "c2": "0.75"}, "discount": "10"},
            {"id": "op-03", "coefficients": {"c1": "0.4", "c2": "0.25"}, "discount": "25"}
        ]
    }));
    let b = &out["bids"][0];
    for key in [
        "id",
        "technical_raw",
        "technical",
        "admitted",
        "economic",
        "total",
    ] {
        assert!(b.get(key).is_some(), "bids[0].{key} missing");
    }
    assert_eq!(b["technical"], json!("60"));
    assert_eq!(b["total"], json!("90"));
    assert_eq!(out["bids"][2]["admitted"], json!(false));
    assert_eq!(out["bids"][2]["economic"], Value::Null);
    // op-3 is out, so R_max among admitted is 20: op-01 30 points, op-02 15.
    assert_eq!(
        out["ranking"],
        json!([
            {"id": "op-01", "rank": "1", "total": "90"},
            {"id": "op-02", "rank": "2", "total": "75"}
        ])
    );
    assert_eq!(out["winner"], json!("op-01"));
}

#[test]
fn seed_resolves_a_tie_and_is_recorded() {
    let doc = json!({"criterion": "lowest_price", "seed": "12345",
        "bids": [{"id": "a", "discount": "10"}, {"id": "b", "discount": "10.000"}, {"id": "c", "discount": "9"}]});
    let out = run(doc.clone());
    assert_eq!(out["tie"], json!([]));
    assert_eq!(out["draw"]["seed"], json!("12345"));
    assert_eq!(out["draw"]["candidates"], json!(["a", "b"]));
    assert_eq!(out["winner"], out["draw"]["order"][0]);
    assert_eq!(run(doc), out, "replayable");
    let open = run(json!({"criterion": "lowest_price",
        "bids": [{"id": "a", "discount": "10"}, {"id": "b", "discount": "10.000"}]}));
    assert_eq!(open["tie"], json!(["a", "b"]));
    assert_eq!(open["winner"], Value::Null);
}

#[test]
fn method_c_and_rounding_options() {
    let out = run(json!({"criterion": "lowest_price",
        "anomaly": {"method": "C", "reference_discount": "23.791"},
        "rounding": {"threshold": {"decimals": "3", "mode": "truncate"}},
        "bids": mit_bids()}));
    assert_eq!(out["anomaly"]["threshold"], json!("22.915"));
    assert_eq!(
        out["anomaly"]["rounding"]["threshold"],
        json!({"decimals": "3", "mode": "truncate"})
    );
}

#[test]
fn refusals_name_the_field() {
    let bids3 = |bad: Value| {
        json!({"criterion": "lowest_price", "bids": [
            {"id": "a", "discount": "1"}, {"id": "b", "discount": "2"}, {"id": "c", "discount": "3"}, bad]})
    };
    assert_eq!(
        err(bids3(json!({"id": "d", "discount": "abc"}))),
        "bids[3].discount: \"abc\" is not a decimal"
    );
    assert!(err(bids3(json!({"id": "d", "discount": "12,5"}))).contains("use a dot"));
    assert!(
        err(bids3(json!({"id": "d", "discount": 12.5})))
            .starts_with("bids[3].discount: must be a JSON string")
    );
    assert!(err(bids3(json!({"id": "d", "discount": "1e3"}))).starts_with("bids[3].discount:"));
    assert!(
        err(bids3(json!({"id": "d", "discount": "100"})))
            .starts_with("bids[3].discount: 100 is outside")
    );
    assert!(
        err(bids3(json!({"id": "d", "discout": "1"})))
            .starts_with("bids[3].discout: unknown field")
    );
    assert_eq!(
        err(bids3(json!({"id": "a", "discount": "1"}))),
        "bids[3].id: duplicate id 'a'"
    );
    assert_eq!(
        err(bids3(json!({"id": "d"}))),
        "bids[3]: discount or price is required"
    );
    assert_eq!(
        err(bids3(json!({"id": "d", "discount": "1", "price": "2"}))),
        "bids[3]: give either discount or price, not both"
    );
    assert_eq!(
        err(bids3(json!({"id": "d", "price": "2"}))),
        "base_amount: required because bids[3] gives a price"
    );
    assert_eq!(err(bids3(json!({"discount": "2"}))), "bids[3].id: required");
    assert_eq!(err(json!({"bids": []})), "criterion: required");
    assert!(
        err(json!({"criterion": "cheapest", "bids": []}))
            .starts_with("criterion: \"cheapest\" is not one of")
    );
    assert_eq!(
        err(json!({"criterion": "lowest_price", "anomaly": {"method": "C"}, "bids": mit_bids()})),
        "anomaly.reference_discount: required for method C"
    );
    assert!(
        err(json!({"criterion": "lowest_price", "anomaly": {"method": "D"}, "bids": []}))
            .starts_with("anomaly.method:")
    );
    assert!(
        err(json!({"criterion": "lowest_price", "seed": "-1", "bids": []})).starts_with("seed:")
    );
    assert!(err(json!({"criterion": "lowest_price", "base_amount": "3", "bids": [{"id": "a", "price": "2"}]}))
        .contains("rounding.discount"));
    assert!(err(json!({"criterion": "lowest_price", "rounding": {"threshold": {"decimals": "40", "mode": "half_up"}},
        "anomaly": {"method": "A"}, "bids": []}))
    .starts_with("rounding.threshold.decimals:"));
    assert!(
        evaluate_json("{not json")
            .unwrap_err()
            .to_string()
            .starts_with("$: not valid JSON")
    );
    assert!(
        evaluate_json("[]")
            .unwrap_err()
            .to_string()
            .starts_with("$: must be an object")
    );
}

#[test]
fn quality_price_refusals_name_the_field() {
    let doc = |bid: Value, formula: Value| {
        json!({"criterion": "quality_price",
            "technical": {"criteria": [{"id": "c1", "weight": "40"}]},
            "economic": {"max_points": "30", "formula": formula},
            "bids": [bid]})
    };
    let linear = json!({"type": "linear"});
    assert_eq!(
        err(doc(
            json!({"id": "a", "coefficients": {}, "discount": "1"}),
            linear.clone()
        )),
        "bids[0].coefficients.c1: missing coefficient"
    );
    assert!(
        err(doc(
            json!({"id": "a", "coefficients": {"c1": "0.5", "c9": "1"}, "discount": "1"}),
            linear.clone()
        ))
        .starts_with("bids[0].coefficients.c9: unknown field")
    );
    assert_eq!(
        err(doc(
            json!({"id": "a", "coefficients": {"c1": ["0.5", "x"]}, "discount": "1"}),
            linear.clone()
        )),
        "bids[0].coefficients.c1[1]: \"x\" is not a decimal"
    );
    assert_eq!(
        err(doc(
            json!({"id": "a", "coefficients": {"c1": "1.5"}, "discount": "1"}),
            linear
        )),
        "bids[0].coefficients.c1: 1.5 is outside [0, 1]"
    );
    assert_eq!(
        err(doc(
            json!({"id": "a", "coefficients": {"c1": "0.5"}, "discount": "1"}),
            json!({"type": "concave", "alpha": "0.5"})
        )),
        "economic.formula.base: required"
    );
    assert!(
        err(doc(
            json!({"id": "a", "coefficients": {"c1": "0.5"}, "discount": "1"}),
            json!({"type": "bilinear", "x": "2"})
        ))
        .starts_with("economic.formula.x:")
    );
}

/// The pretty printer serializes straight from the result; it must say the same thing.
#[test]
fn pretty_output_equals_the_value_output() {
    let doc = json!({"criterion": "lowest_price", "anomaly": {"method": "B"}, "bids": mit_bids()})
        .to_string();
    let pretty = evaluation::evaluate_json_pretty(&doc).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&pretty).unwrap(),
        evaluate_json(&doc).unwrap()
    );
    assert!(
        evaluation::evaluate_json_pretty("{}")
            .unwrap_err()
            .to_string()
            .starts_with("criterion:")
    );
}

/// Art. 54 c.2: the method may be drawn by lot among the compatible ones; the draw is recorded.
#[test]
fn method_drawn_by_lot_is_recorded_and_replayable() {
    let doc = |seed: &str| {
        json!({"criterion": "lowest_price",
            "anomaly": {"method": "draw", "draw": {"among": ["A", "B"], "seed": seed}},
            "bids": mit_bids()})
    };
    let out = run(doc("31"));
    let rec = &out["anomaly"]["method_draw"];
    assert_eq!(rec["candidates"], json!(["A", "B"]));
    assert_eq!(out["anomaly"]["method"], rec["order"][0]);
    assert_eq!(run(doc("31")), out);
    let drawn: std::collections::BTreeSet<String> = (0..20)
        .map(|s| {
            run(doc(&s.to_string()))["anomaly"]["method"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        drawn.into_iter().collect::<Vec<_>>(),
        vec!["A", "B"],
        "both methods come out for some seed"
    );
    // A method given explicitly has no draw record.
    let fixed =
        run(json!({"criterion": "lowest_price", "anomaly": {"method": "A"}, "bids": mit_bids()}));
    assert_eq!(fixed["anomaly"]["method_draw"], Value::Null);

    let bad = |anomaly: Value| {
        err(json!({"criterion": "lowest_price", "anomaly": anomaly, "bids": mit_bids()}))
    };
    assert_eq!(
        bad(json!({"method": "draw", "draw": {"among": ["A", "C"], "seed": "1"}})),
        "anomaly.reference_discount: required when method C may be drawn"
    );
    assert_eq!(
        bad(json!({"method": "draw", "draw": {"among": ["A"]}})),
        "anomaly.draw.seed: required"
    );
    assert_eq!(
        bad(json!({"method": "draw", "draw": {"among": ["A", "Z"], "seed": "1"}})),
        "anomaly.draw.among[1]: must be \"A\", \"B\" or \"C\""
    );
    assert!(
        bad(json!({"method": "draw", "draw": {"among": ["A", "A"], "seed": "1"}}))
            .starts_with("anomaly.draw.among:")
    );
    assert!(bad(json!({"method": "draw", "decrement": "proportional", "draw": {"among": ["A"], "seed": "1"}}))
        .starts_with("anomaly.decrement: not allowed"));
    assert!(
        bad(json!({"method": "A", "draw": {"among": ["A"], "seed": "1"}}))
            .starts_with("anomaly.draw: only used")
    );
}

/// Prices on a base amount in a quality-price tender: the ribasso is derived for the formula, and
/// trailing zeros anywhere in the input change nothing in the output.
#[test]
fn quality_price_with_prices_and_trailing_zeros() {
    let doc = |pad: &str| {
        json!({"criterion": "quality_price", "base_amount": format!("200000.00{pad}"),
        "technical": {"criteria": [{"id": "q", "weight": format!("70.0{pad}")}], "riparametrazione": "first"},
        "economic": {"max_points": format!("30.{pad}"), "formula": {"type": "bilinear", "x": format!("0.90{pad}")}},
        "rounding": {"scores": {"decimals": "3", "mode": "half_up"}},
        "bids": [
            {"id": "a", "coefficients": {"q": [format!("0.70{pad}"), "0.8", "0.75"]}, "price": format!("160000.0{pad}")},
            {"id": "b", "coefficients": {"q": format!("0.5{pad}")}, "price": "180000"},
            {"id": "c", "coefficients": {"q": "1"}, "discount": format!("5.0{pad}")}
        ]})
    };
    let out = run(doc(""));
    // a: ribasso 20, b: 10, c: 5; mean 35/3. a > mean: 0.9 + 0.1 * (60 - 35) / (60 - 35) = 1 -> 30.
    assert_eq!(out["bids"][0]["discount"], json!("20"));
    assert_eq!(out["bids"][0]["economic"], json!("30"));
    // b: 10 <= mean: 0.9 * 30 / 35 = 27/35 -> 30 * 27/35 = 23.142857... -> 23.143.
    assert_eq!(out["bids"][1]["economic"], json!("23.143"));
    // Coefficients: a = 0.75 (mean), b = 0.5, c = 1; first riparametrazione on max 1.
    assert_eq!(out["bids"][0]["technical"], json!("52.5"));
    assert_eq!(run(doc("0")), out);
    assert_eq!(run(doc("000")), out);
}

/// Prices whose ribasso does not terminate are accepted once the tender's rounding is given.
#[test]
fn lowest_price_with_a_rounded_derived_discount() {
    let doc = json!({"criterion": "lowest_price", "base_amount": "300000",
        "rounding": {"discount": {"decimals": "3", "mode": "truncate"}},
        "bids": [{"id": "a", "price": "200000"}, {"id": "b", "price": "250000"}]});
    let out = run(doc);
    assert_eq!(
        out["ranking"][0],
        json!({"id": "a", "rank": "1", "discount": "33.333", "price": "200000"})
    );
    assert_eq!(
        out["discount_rounding"],
        json!({"decimals": "3", "mode": "truncate"})
    );
}

fn err_text(input: &str) -> String {
    match evaluate_json(input) {
        Ok(out) => panic!("expected an error for {input}, got {out}"),
        Err(e) => e.to_string(),
    }
}

/// Bids are read without a `Value` each when their fields are only id, discount and price as strings; any
/// other bid falls back to the object checks. Both forms are refused with the same field and message, and
/// JSON's own rules (escapes, a repeated key: the last wins, null = absent) hold in both.
#[test]
fn flat_bids_and_other_bids_are_checked_alike() {
    let doc = |bid: &str| {
        format!(
            r#"{{"criterion": "lowest_price", "bids": [{{"id": "z", "discount": "1"}}, {bid}]}}"#
        )
    };
    let cases = [
        (
            r#"{"id": "a", "discount": 12}"#,
            "bids[1].discount: must be a JSON string holding a decimal (write \"12\"), not a JSON number",
        ),
        (
            r#"{"id": "a", "discount": "12", "note": "x"}"#,
            "bids[1].note: unknown field (expected one of: id, discount, price)",
        ),
        (r#"{"id": null, "discount": "12"}"#, "bids[1].id: required"),
        (r#"{"discount": "12"}"#, "bids[1].id: required"),
        (
            r#"{"id": 7, "discount": "12"}"#,
            "bids[1].id: must be a string, not a JSON number",
        ),
        (
            r#"{"id": " ", "discount": "12"}"#,
            "bids[1].id: must not be empty",
        ),
        (
            r#"{"id": "\u007a", "discount": "12"}"#,
            "bids[1].id: duplicate id 'z'",
        ),
        (
            r#"{"id": "a", "discount": "1,5"}"#,
            "bids[1].discount: \"1,5\" is not a decimal (use a dot as the decimal separator)",
        ),
        (
            r#"{"id": "a", "discount": "100"}"#,
            "bids[1].discount: 100 is outside [0, 100)",
        ),
        (
            r#"{"id": "a", "discount": "1", "price": "2"}"#,
            "bids[1]: give either discount or price, not both",
        ),
        (
            r#"{"id": "a", "discount": null}"#,
            "bids[1]: discount or price is required",
        ),
        (
            r#"{"id": "a", "price": "2"}"#,
            "base_amount: required because bids[1] gives a price",
        ),
        (
            r#"{"id": "a", "discount": "1", "discount": true}"#,
            "bids[1].discount: must be a string holding a decimal, not a boolean",
        ),
        (r#"["a", "1"]"#, "bids[1]: must be an object, not an array"),
        (r#""a""#, "bids[1]: must be an object, not a string"),
    ];
    for (bid, expected) in cases {
        assert_eq!(err_text(&doc(bid)), expected, "bid {bid}");
    }
    // a repeated key: the last wins, as serde_json reads a Value
    let out = evaluate_json(&doc(r#"{"id": "a", "discount": true, "discount": "3"}"#)).unwrap();
    assert_eq!(out["winner"], json!("a"));
    let out = evaluate_json(&doc(r#"{"id": "a\u0062", "discount": "3", "price": null}"#)).unwrap();
    assert_eq!(out["winner"], json!("ab"));
    assert_eq!(
        err_text(r#"{"criterion": "lowest_price", "bids": {"id": "a"}}"#),
        "bids: must be an array, not an object"
    );
    assert_eq!(
        err_text(r#"{"criterion": "lowest_price", "bids": null}"#),
        "bids: required"
    );
    assert_eq!(err_text(r#"[1]"#), "$: must be an object, not an array");
    assert!(
        err_text(r#"{"criterion": "lowest_price", "bids": []} x"#)
            .starts_with("$: not valid JSON: trailing characters")
    );
    // quality-price bids need coefficients, whichever form they were read in
    let qp = r#"{"criterion": "quality_price", "technical": {"criteria": [{"id": "c1", "weight": "70"}]},
        "economic": {"max_points": "30", "formula": {"type": "linear"}}, "bids": [{"id": "a", "discount": "5"}]}"#;
    assert_eq!(err_text(qp), "bids[0].coefficients: required");
}

/// The streamed writer gives the same JSON value compact and indented, equal to `evaluate_json`'s; compact
/// is one line.
#[test]
fn compact_and_pretty_writers_carry_the_same_value() {
    let input =
        json!({"criterion": "lowest_price", "anomaly": {"method": "A"}, "bids": mit_bids()})
            .to_string();
    let value = evaluate_json(&input).unwrap();
    let mut compact = Vec::new();
    evaluation::evaluate_json_to(&input, false, &mut compact).unwrap();
    let mut pretty = Vec::new();
    evaluation::evaluate_json_to(&input, true, &mut pretty).unwrap();
    let compact = String::from_utf8(compact).unwrap();
    let pretty = String::from_utf8(pretty).unwrap();
    assert_eq!(compact.matches('\n').count(), 1, "one line: {compact}");
    assert!(pretty.contains("\n  \"anomaly\": {\n    \""), "{pretty}");
    assert_eq!(serde_json::from_str::<Value>(&compact).unwrap(), value);
    assert_eq!(serde_json::from_str::<Value>(&pretty).unwrap(), value);
    assert_eq!(
        pretty,
        format!("{}\n", evaluation::evaluate_json_pretty(&input).unwrap())
    );
    // invalid input writes nothing
    let mut out = Vec::new();
    let e = evaluation::evaluate_json_to(r#"{"criterion": "x"}"#, false, &mut out).unwrap_err();
    assert!(matches!(e, evaluation::EvaluateError::Input(_)), "{e}");
    assert!(out.is_empty());
}
