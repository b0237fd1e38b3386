//! Signed receipts: verification, tamper detection, canonical form, key export and parsing.

use chrono::{TimeZone, Utc};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use sealing::*;
use serde_json::Value;

fn id(s: &str) -> ContextId {
    s.parse().unwrap()
}

fn digest(kind: EnvelopeKind, byte: u8) -> EnvelopeDigest {
    EnvelopeDigest {
        files: vec![
            FileDigest {
                media_type: "application/pdf".into(),
                name: format!("offerta {byte}.pdf"),
                sha256: Sha256Digest([byte; 32]),
                size: 1_048_576,
            },
            FileDigest {
                media_type: "application/pkcs7-mime".into(),
                name: "dichiarazione «ä».pdf.p7m".into(),
                sha256: Sha256Digest([byte + 1; 32]),
                size: 0,
            },
        ],
        key_commitment: Sha256Digest([byte + 3; 32]),
        kind,
        sealed_manifest_sha256: Sha256Digest([byte + 2; 32]),
        version: 2,
    }
}

fn body() -> ReceiptBody {
    ReceiptBody {
        tender: id("T-2026-001"),
        lot: id("L1"),
        bid: id("B-42"),
        bid_version: 2,
        operator: id("IT01234567890"),
        action: ReceiptAction::Replacement,
        envelopes: vec![
            digest(EnvelopeKind::Administrative, 1),
            digest(EnvelopeKind::Economic, 10),
        ],
        server_time: ServerTime::new(Utc.with_ymd_and_hms(2026, 11, 30, 11, 59, 59).unwrap()),
        sequence: 1234,
    }
}

fn signer() -> ReceiptSigner {
    ReceiptSigner::from_seed("sig-2026".parse().unwrap(), [5; 32])
}

fn signed_json() -> String {
    signer().sign(body()).unwrap().to_json()
}

#[test]
fn a_signed_receipt_verifies_and_carries_every_field() {
    let json = signed_json();
    let r = verify(json.as_bytes(), &signer().public_key().key).unwrap();
    let b = body();
    assert_eq!(
        (
            r.tender,
            r.lot,
            r.bid,
            r.bid_version,
            r.operator,
            r.action,
            r.envelopes,
            r.server_time,
            r.sequence
        ),
        (
            b.tender,
            b.lot,
            b.bid,
            b.bid_version,
            b.operator,
            b.action,
            b.envelopes,
            b.server_time,
            b.sequence
        )
    );
    assert_eq!(r.key_id.as_str(), "sig-2026");
    assert_eq!(r.format, ReceiptFormat::V1);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["receipt"]["server_time"], "2026-11-30T11:59:59.000000Z");
    assert_eq!(v["receipt"]["format"], "sua-receipt/1");
    assert!(r_describe_mentions(&json));
}

fn r_describe_mentions(json: &str) -> bool {
    let r = verify(json.as_bytes(), &signer().public_key().key).unwrap();
    let text = r.describe();
    text.contains("T-2026-001")
        && text.contains("busta C (economic)")
        && text.contains(&"0b".repeat(32))
}

/// Every leaf of the receipt, changed to another valid value, breaks the signature.
#[test]
fn changing_any_field_breaks_the_signature() {
    let json = signed_json();
    let key = signer().public_key().key;
    let original: Value = serde_json::from_str(&json).unwrap();
    let mutations: Vec<(&str, Value)> = vec![
        ("/receipt/action", "submission".into()),
        ("/receipt/bid", "B-43".into()),
        ("/receipt/key_id", "sig-2025".into()),
        ("/receipt/lot", "L2".into()),
        ("/receipt/operator", "IT01234567891".into()),
        ("/receipt/sequence", 1235.into()),
        ("/receipt/server_time", "2026-11-30T11:59:58.000000Z".into()),
        ("/receipt/tender", "T-2026-002".into()),
        ("/receipt/envelopes/0/kind", "technical".into()),
        (
            "/receipt/envelopes/1/sealed_manifest_sha256",
            "ff".repeat(32).into(),
        ),
        (
            "/receipt/envelopes/1/files/0/sha256",
            "00".repeat(32).into(),
        ),
        ("/receipt/envelopes/1/files/0/name", "offerta 11.pdf".into()),
        ("/receipt/envelopes/1/files/0/size", 1_048_577.into()),
        (
            "/receipt/envelopes/0/files/1/media_type",
            "application/pdf".into(),
        ),
        (
            "/receipt/envelopes/1/key_commitment",
            "00".repeat(32).into(),
        ),
    ];
    for (path, value) in mutations {
        let mut v = original.clone();
        *v.pointer_mut(path).unwrap() = value;
        let err = verify(v.to_string().as_bytes(), &key).unwrap_err();
        assert!(matches!(err, ReceiptError::BadSignature), "{path}: {err}");
    }
    // bid_version together with the envelope versions (so that the receipt stays consistent).
    let mut v = original.clone();
    v["receipt"]["bid_version"] = 3.into();
    v["receipt"]["envelopes"][0]["version"] = 3.into();
    v["receipt"]["envelopes"][1]["version"] = 3.into();
    assert!(matches!(
        verify(v.to_string().as_bytes(), &key),
        Err(ReceiptError::BadSignature)
    ));
    // Alone, it is refused as inconsistent before the signature is even checked.
    let mut v = original.clone();
    v["receipt"]["bid_version"] = 3.into();
    let err = verify(v.to_string().as_bytes(), &key).unwrap_err();
    assert!(err.to_string().contains("bid_version is 3"), "{err}");
    // Structural changes: drop a file digest, swap envelopes, drop an envelope.
    let mut v = original.clone();
    v.pointer_mut("/receipt/envelopes/0/files")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(matches!(
        verify(v.to_string().as_bytes(), &key),
        Err(ReceiptError::BadSignature)
    ));
    let mut v = original.clone();
    v.pointer_mut("/receipt/envelopes")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .reverse();
    assert!(matches!(
        verify(v.to_string().as_bytes(), &key),
        Err(ReceiptError::BadSignature)
    ));
    let mut v = original.clone();
    v.pointer_mut("/receipt/envelopes")
        .unwrap()
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(matches!(
        verify(v.to_string().as_bytes(), &key),
        Err(ReceiptError::BadSignature)
    ));
    // A different signature value.
    let mut v = original.clone();
    let other = signer()
        .sign(ReceiptBody {
            sequence: 1,
            ..body()
        })
        .unwrap()
        .to_json();
    let other: Value = serde_json::from_str(&other).unwrap();
    v["signature"] = other["signature"].clone();
    assert!(matches!(
        verify(v.to_string().as_bytes(), &key),
        Err(ReceiptError::BadSignature)
    ));
}

#[test]
fn added_fields_malformed_values_and_non_canonical_time_are_refused_with_the_field_named() {
    let key = signer().public_key().key;
    let original: Value = serde_json::from_str(&signed_json()).unwrap();
    let mut v = original.clone();
    v["receipt"]["note"] = "extra".into();
    let err = verify(v.to_string().as_bytes(), &key).unwrap_err();
    assert!(err.to_string().contains("unknown field `note`"), "{err}");
    let mut v = original.clone();
    v["comment"] = "extra".into();
    assert!(matches!(
        verify(v.to_string().as_bytes(), &key),
        Err(ReceiptError::Json(_))
    ));
    let mut v = original.clone();
    v["receipt"]["server_time"] = "2026-11-30T12:59:59+01:00".into();
    let err = verify(v.to_string().as_bytes(), &key).unwrap_err();
    assert!(err.to_string().contains("server_time"), "{err}");
    let mut v = original.clone();
    v["receipt"]["tender"] = "".into();
    assert!(
        verify(v.to_string().as_bytes(), &key)
            .unwrap_err()
            .to_string()
            .contains("must not be empty")
    );
    let mut v = original.clone();
    v["receipt"]["envelopes"][0]["sealed_manifest_sha256"] = "XYZ".into();
    assert!(
        verify(v.to_string().as_bytes(), &key)
            .unwrap_err()
            .to_string()
            .contains("sha256")
    );
    let mut v = original.clone();
    v["signature"] = "AAAA".into();
    assert!(
        verify(v.to_string().as_bytes(), &key)
            .unwrap_err()
            .to_string()
            .contains("signature")
    );
    assert!(matches!(
        verify(b"not json", &key),
        Err(ReceiptError::Json(_))
    ));
}

#[test]
fn pretty_printed_or_reordered_copies_still_verify() {
    let key = signer().public_key().key;
    let v: Value = serde_json::from_str(&signed_json()).unwrap();
    let pretty = serde_json::to_string_pretty(&v).unwrap();
    assert!(verify(pretty.as_bytes(), &key).is_ok());
    // Reorder top-level members by hand.
    let reordered = format!(
        "{{\"signature\":{},\"receipt\":{}}}",
        v["signature"], v["receipt"]
    );
    assert!(verify(reordered.as_bytes(), &key).is_ok());
}

fn assert_keys_sorted(v: &Value, path: &str) {
    match v {
        Value::Object(map) => {
            let keys: Vec<&String> = map.keys().collect();
            let mut sorted = keys.clone();
            sorted.sort();
            assert_eq!(keys, sorted, "keys at {path}");
            for (k, child) in map {
                assert_keys_sorted(child, &format!("{path}/{k}"));
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| assert_keys_sorted(c, &format!("{path}/{i}"))),
        Value::Number(n) => assert!(n.is_u64(), "only unsigned integers at {path}"),
        _ => {}
    }
}

#[test]
fn the_signed_bytes_are_canonical_json() {
    let r = signer().sign(body()).unwrap().receipt;
    let bytes = r.canonical_bytes();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(!text.contains('\n'));
    // compact: no whitespace outside strings (file names may contain spaces)
    assert!(!text.contains(", ") && !text.contains(": ") && !text.contains("{ "));
    // Parsing with order preserved (serde_json keeps the text's order when iterating a
    // `preserve_order` map, and sorts otherwise): either way keys come out sorted.
    let v: Value = serde_json::from_str(text).unwrap();
    assert_keys_sorted(&v, "");
    // Encoding the parsed value again gives the same bytes.
    assert_eq!(serde_json::to_vec(&v).unwrap(), bytes);
    assert!(text.starts_with("{\"action\":\"replacement\",\"bid\":\"B-42\",\"bid_version\":2,"));
}

#[test]
fn another_key_does_not_verify_and_key_sets_pick_by_id() {
    let json = signed_json();
    let other = ReceiptSigner::from_seed("sig-2025".parse().unwrap(), [6; 32]);
    assert!(matches!(
        verify(json.as_bytes(), &other.public_key().key),
        Err(ReceiptError::BadSignature)
    ));
    let set = [other.public_key(), signer().public_key()];
    assert_eq!(
        verify_with_keys(json.as_bytes(), &set).unwrap().sequence,
        1234
    );
    let only_other = [other.public_key()];
    assert!(matches!(
        verify_with_keys(json.as_bytes(), &only_other),
        Err(ReceiptError::UnknownKey(_))
    ));
    // A key with the right id but other bytes still fails.
    let impostor = PublishedKey {
        key_id: Some("sig-2026".parse().unwrap()),
        key: other.public_key().key,
    };
    assert!(matches!(
        verify_with_keys(json.as_bytes(), &[impostor]),
        Err(ReceiptError::BadSignature)
    ));
}

#[test]
fn public_keys_export_and_parse_as_pem_base64_and_jwks() {
    let pk = signer().public_key();
    let pem = pk.to_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let json = signed_json();
    for text in [pem.clone(), pk.to_base64(), jwks(std::slice::from_ref(&pk))] {
        let r = verify_receipt_file(json.as_bytes(), &text).unwrap();
        assert_eq!(r.sequence, 1234, "{text}");
    }
    let set: Value = serde_json::from_str(&jwks(std::slice::from_ref(&pk))).unwrap();
    assert_eq!(set["keys"][0]["kid"], "sig-2026");
    assert_eq!(set["keys"][0]["crv"], "Ed25519");
    assert!(
        parse_public_keys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
    );
    assert!(
        parse_public_keys("AAAA")
            .unwrap_err()
            .to_string()
            .contains("32 bytes")
    );
    assert!(parse_public_keys("{\"keys\":[]}").is_err());
    let other = ReceiptSigner::from_seed("sig-2025".parse().unwrap(), [6; 32]).public_key();
    assert!(matches!(
        verify_receipt_file(json.as_bytes(), &other.to_pem()),
        Err(ReceiptError::BadSignature)
    ));
}

#[test]
fn signing_keys_round_trip_through_pkcs8_pem() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (s, pem) = ReceiptSigner::generate("sig-x".parse().unwrap(), &mut rng);
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let again = ReceiptSigner::from_pkcs8_pem("sig-x".parse().unwrap(), &pem).unwrap();
    assert_eq!(again.public_key(), s.public_key());
    assert!(!format!("{s:?}").contains(pem.as_str()));
    assert!(ReceiptSigner::from_pkcs8_pem("sig-x".parse().unwrap(), "garbage").is_err());
}

#[test]
fn inconsistent_receipts_are_not_signed() {
    let s = signer();
    let e = s
        .sign(ReceiptBody {
            action: ReceiptAction::Withdrawal,
            ..body()
        })
        .unwrap_err();
    assert!(e.to_string().contains("envelopes"), "{e}");
    let e = s
        .sign(ReceiptBody {
            envelopes: vec![],
            ..body()
        })
        .unwrap_err();
    assert!(e.to_string().contains("envelopes"));
    let e = s
        .sign(ReceiptBody {
            sequence: MAX_SEQUENCE + 1,
            ..body()
        })
        .unwrap_err();
    assert!(e.to_string().contains("sequence"));
    let e = s
        .sign(ReceiptBody {
            bid_version: 0,
            ..body()
        })
        .unwrap_err();
    assert!(e.to_string().contains("bid_version"));
    let twice = vec![
        digest(EnvelopeKind::Economic, 1),
        digest(EnvelopeKind::Economic, 5),
    ];
    assert!(
        s.sign(ReceiptBody {
            envelopes: twice,
            ..body()
        })
        .is_err()
    );
    let mut wrong_version = digest(EnvelopeKind::Economic, 1);
    wrong_version.version = 1;
    assert!(
        s.sign(ReceiptBody {
            envelopes: vec![wrong_version],
            ..body()
        })
        .is_err()
    );
    let withdrawal = ReceiptBody {
        action: ReceiptAction::Withdrawal,
        envelopes: vec![],
        ..body()
    };
    let json = s.sign(withdrawal).unwrap().to_json();
    assert_eq!(
        verify(json.as_bytes(), &s.public_key().key).unwrap().action,
        ReceiptAction::Withdrawal
    );
}

#[test]
fn server_time_is_truncated_to_microseconds_and_round_trips() {
    let t = Utc.timestamp_nanos(1_796_000_000_123_456_789);
    let st = ServerTime::new(t);
    assert_eq!(st.to_string(), "2026-11-30T00:53:20.123456Z");
    let json = signer()
        .sign(ReceiptBody {
            server_time: st,
            ..body()
        })
        .unwrap()
        .to_json();
    assert_eq!(
        verify(json.as_bytes(), &signer().public_key().key)
            .unwrap()
            .server_time,
        st
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Arbitrary text never panics the verifier, and only the genuine receipt verifies.
    #[test]
    fn arbitrary_input_never_panics_the_verifier(s in ".{0,200}", cut in 0usize..400) {
        let key = signer().public_key().key;
        proptest::prop_assert!(verify(s.as_bytes(), &key).is_err());
        let json = signed_json();
        let cut = cut.min(json.len().saturating_sub(1));
        proptest::prop_assert!(verify(&json.as_bytes()[..cut], &key).is_err());
        let _ = parse_public_keys(&s);
    }
}

#[test]
fn a_file_upload_receipt_lists_files_and_refuses_bad_file_lines() {
    let s = signer();
    let key = s.public_key().key;
    let json = s
        .sign(ReceiptBody {
            action: ReceiptAction::FileUpload,
            ..body()
        })
        .unwrap()
        .to_json();
    let r = verify(json.as_bytes(), &key).unwrap();
    assert_eq!(r.action, ReceiptAction::FileUpload);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["receipt"]["action"], "file_upload");
    assert_eq!(
        v["receipt"]["envelopes"][0]["files"][1],
        serde_json::json!({"media_type": "application/pkcs7-mime",
            "name": "dichiarazione «ä».pdf.p7m", "sha256": "02".repeat(32), "size": 0})
    );
    let text = r.describe();
    assert!(
        text.contains("\"offerta 10.pdf\" (application/pdf, 1048576 bytes) sha256 0a0a"),
        "{text}"
    );
    // a file_upload receipt without any file is not signed
    let mut no_files = body();
    for e in &mut no_files.envelopes {
        e.files.clear();
    }
    let e = s
        .sign(ReceiptBody {
            action: ReceiptAction::FileUpload,
            ..no_files
        })
        .unwrap_err();
    assert!(e.to_string().contains("at least one file"), "{e}");
    // file lines that canonical JSON tools would encode differently, or that repeat, are refused
    type Change = fn(&mut FileDigest);
    let bad: Vec<(Change, &str)> = vec![
        (|f| f.name = String::new(), "file name"),
        (|f| f.name = "a\nb.pdf".into(), "file name"),
        (|f| f.name = "x".repeat(256), "file name"),
        (|f| f.media_type = String::new(), "media type"),
        (
            |f| f.media_type = "application/pdf\u{7f}".into(),
            "media type",
        ),
        (|f| f.size = MAX_SEQUENCE + 1, "size"),
        (|f| f.name = "offerta 1.pdf".into(), "listed twice"),
    ];
    for (change, expect) in bad {
        let mut b = body();
        change(&mut b.envelopes[0].files[1]);
        let e = s.sign(b.clone()).unwrap_err();
        assert!(e.to_string().contains(expect), "{expect}: {e}");
        // and a receipt edited that way is refused by the verifier too, naming the field
        let mut v: Value = serde_json::from_str(&signed_json()).unwrap();
        v["receipt"]["envelopes"][0]["files"][1] =
            serde_json::to_value(&b.envelopes[0].files[1]).unwrap();
        let e = verify(v.to_string().as_bytes(), &key).unwrap_err();
        assert!(e.to_string().contains("files"), "{expect}: {e}");
    }
}

/// A receipt issued before receipts carried an audit head (the fixture was signed by the code of commit
/// 0d05608 with this file's `signer()` and `body()`) still verifies, and signing the same body today without
/// a head gives the same bytes.
#[test]
fn a_receipt_from_before_the_audit_head_still_verifies() {
    let old = include_str!("fixtures/receipt-before-audit-head.json").trim_end();
    let key = include_str!("fixtures/receipt-before-audit-head.key.pem");
    let r = verify_receipt_file(old.as_bytes(), key).unwrap();
    assert_eq!(r.audit_head, None);
    assert!(!old.contains("audit_head"));
    assert_eq!(signed_json(), old);
}

/// The audit head is part of the signed bytes: changing it, or removing it, breaks the signature.
#[test]
fn the_audit_head_in_a_receipt_is_signed() {
    let head = ChainHead {
        chain: id("0190a7e2-7a3c-7d2e-9b1e-3c1d2e4f5a6b"),
        hash: Sha256Digest([9; 32]),
        sequence: 77,
    };
    let json = signer()
        .sign_with_head(body(), Some(head.clone()))
        .unwrap()
        .to_json();
    assert!(
        json.contains(r#"{"receipt":{"action":"replacement","audit_head":{"chain":"0190a7e2"#),
        "canonical order: {json}"
    );
    let keys = [signer().public_key()];
    let r = verify_with_keys(json.as_bytes(), &keys).unwrap();
    assert_eq!(r.audit_head, Some(head));
    assert!(
        r.describe()
            .contains("audit chain 0190a7e2-7a3c-7d2e-9b1e-3c1d2e4f5a6b at entry 77")
    );
    let rolled_back = json.replace(r#""sequence":77"#, r#""sequence":76"#);
    assert_ne!(rolled_back, json);
    assert!(matches!(
        verify_with_keys(rolled_back.as_bytes(), &keys),
        Err(ReceiptError::BadSignature)
    ));
    let mut v: Value = serde_json::from_str(&json).unwrap();
    v["receipt"].as_object_mut().unwrap().remove("audit_head");
    assert!(matches!(
        verify_with_keys(v.to_string().as_bytes(), &keys),
        Err(ReceiptError::BadSignature)
    ));
}
