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

/// A file is read through a private copy made by the kernel (`cli_evaluate::Mapping`): the same result as the
/// same document on standard input; a file that is not UTF-8, or empty, is refused as before.
#[test]
fn a_file_is_read_as_standard_input_is() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("five.json");
    std::fs::write(&path, five_bids("A")).unwrap();
    let from_file = evaluate_file(&[path.to_str().unwrap()]);
    assert_eq!(from_file.status.code(), Some(0), "{from_file:?}");
    assert_eq!(from_file.stdout, evaluate_stdin(&five_bids("A")).stdout);

    let bad = dir.path().join("latin1.json");
    std::fs::write(
        &bad,
        b"{\"criterion\": \"lowest_price\", \"bids\": [{\"id\": \"\xe0\"}]}",
    )
    .unwrap();
    let out = evaluate_file(&[bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("latin1.json") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    let out = evaluate_file(&[empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}

fn evaluate_file(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sua"))
        .arg("evaluate")
        .args(args)
        .output()
        .expect("sua starts")
}

/// The paths of JSON values where `a` and `b` differ (empty when equal), to name what a format change lost.
fn differences(a: &serde_json::Value, b: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                match (x.get(k), y.get(k)) {
                    (Some(u), Some(v)) => differences(u, v, &format!("{path}.{k}"), out),
                    _ => out.push(format!("{path}.{k} present on one side only")),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                differences(u, v, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} vs {b}")),
        _ => {}
    }
}

/// Compact (the default) and `--pretty` carry the same JSON value, and it is the value the previous format
/// (indented, before issue 20) gave for the same input: nothing of the explanation is lost. The
/// `*.previous.json` files are `sua evaluate` outputs of commit 0d05608 on the fixtures beside them.
#[test]
fn compact_and_pretty_carry_the_value_of_the_previous_format() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/evaluate");
    for name in [
        "lowest_price_a",
        "lowest_price_drawn_method",
        "quality_price",
    ] {
        let input = format!("{dir}/{name}.json");
        let compact = evaluate_file(&[&input]);
        let pretty = evaluate_file(&["--pretty", &input]);
        for out in [&compact, &pretty] {
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let compact = String::from_utf8(compact.stdout).unwrap();
        let pretty = String::from_utf8(pretty.stdout).unwrap();
        assert_eq!(
            compact.matches('\n').count(),
            1,
            "{name}: compact is one line"
        );
        assert!(compact.ends_with("}\n"), "{name}");
        assert!(
            pretty.starts_with("{\n  \""),
            "{name}: indented by two spaces"
        );
        let compact: serde_json::Value = serde_json::from_str(&compact).unwrap();
        let pretty: serde_json::Value = serde_json::from_str(&pretty).unwrap();
        let previous: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{dir}/{name}.previous.json")).unwrap(),
        )
        .unwrap();
        for (label, v) in [("compact", &compact), ("pretty", &pretty)] {
            let mut diff = Vec::new();
            differences(&previous, v, "$", &mut diff);
            assert!(
                diff.is_empty(),
                "{name} {label} differs from the previous output: {diff:#?}"
            );
        }
    }
}
