//! The `sua evaluate` input (and a lot's evaluation rules): never a panic; a document that evaluates gives
//! the same JSON value compact, indented, and as a `Value`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    match evaluation::evaluate_json(s) {
        Ok(v) => {
            let mut compact = Vec::new();
            evaluation::evaluate_json_to(s, false, &mut compact).expect("evaluates again");
            let mut pretty = Vec::new();
            evaluation::evaluate_json_to(s, true, &mut pretty).expect("evaluates again");
            let c: serde_json::Value = serde_json::from_slice(&compact).expect("compact is JSON");
            let p: serde_json::Value = serde_json::from_slice(&pretty).expect("pretty is JSON");
            assert_eq!(c, v);
            assert_eq!(p, v);
        }
        Err(e) => assert!(!e.path.is_empty(), "an error names its field: {e}"),
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
        for criterion in ["lowest_price", "quality_price"] {
            let _ = evaluation::parse_rules(criterion, &v);
        }
    }
});
