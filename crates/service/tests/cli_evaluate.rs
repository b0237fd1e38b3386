//! `sua evaluate` as a user runs it: JSON in, JSON out, exit 2 naming the bad field.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn evaluate_stdin(input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sua"))
        .args(["evaluate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sua starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn five_bids(method: &str) -> String {
    format!(
        r#"{{"criterion": "lowest_price", "anomaly": {{"method": "{method}"}},
            "bids": [{{"id": "a", "discount": "10.000"}}, {{"id": "b", "discount": "12.500"}},
                     {{"id": "c", "discount": "15.250"}}, {{"id": "d", "discount": "20.000"}},
                     {{"id": "e", "discount": "31.000"}}]}}"#
    )
}

#[test]
fn lowest_price_without_anomaly_ranks_the_highest_discount_first() {
    let out = evaluate_stdin(&five_bids("none"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON only");
    assert_eq!(v["winner"], "e");
    let ranking: Vec<&str> = v["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ranking, ["e", "d", "c", "b", "a"]);
}

#[test]
fn method_a_with_five_bids_reports_an_applicable_threshold_between_min_and_max() {
    let out = evaluate_stdin(&five_bids("A"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["anomaly"]["applicable"], true);
    let threshold: rust_decimal::Decimal =
        v["anomaly"]["threshold"].as_str().unwrap().parse().unwrap();
    assert!(
        threshold > rust_decimal::Decimal::from(10) && threshold < rust_decimal::Decimal::from(31)
    );
}

#[test]
fn a_bad_discount_exits_2_and_names_the_field() {
    let input = five_bids("none").replace("\"15.250\"", "\"quindici\"");
    let out = evaluate_stdin(&input);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bids[2].discount"), "stderr: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_file_exits_2_with_its_name() {
    let out = Command::new(env!("CARGO_BIN_EXE_sua"))
        .args(["evaluate", "/nonexistent/input.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/input.json"));
}
