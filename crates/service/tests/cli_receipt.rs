//! `sua receipt verify` as a bidder runs it, offline: a genuine receipt verifies, a modified one does not.

use sealing::{ReceiptAction, ReceiptBody, ReceiptSigner, ServerTime};
use std::process::Command;

fn signed_withdrawal_and_key() -> (String, String) {
    let signer = ReceiptSigner::from_seed("platform-2026".parse().unwrap(), [7u8; 32]);
    let body = ReceiptBody {
        tender: "tender-1".parse().unwrap(),
        lot: "lot-1".parse().unwrap(),
        bid: "bid-1".parse().unwrap(),
        bid_version: 2,
        operator: "01234567897".parse().unwrap(),
        action: ReceiptAction::Withdrawal,
        envelopes: vec![],
        server_time: ServerTime::new(
            chrono::DateTime::parse_from_rfc3339("2027-02-15T10:59:59.123456Z")
                .unwrap()
                .into(),
        ),
        sequence: 42,
    };
    let receipt = signer.sign(body).unwrap().to_json();
    (receipt, signer.public_key().to_pem())
}

fn verify(receipt: &str, key: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let (r, k) = (dir.path().join("receipt.json"), dir.path().join("key.pem"));
    std::fs::write(&r, receipt).unwrap();
    std::fs::write(&k, key).unwrap();
    Command::new(env!("CARGO_BIN_EXE_sua"))
        .args(["receipt", "verify"])
        .arg(&r)
        .arg("--key")
        .arg(&k)
        .output()
        .unwrap()
}

#[test]
fn a_genuine_receipt_verifies_and_its_content_is_printed() {
    let (receipt, key) = signed_withdrawal_and_key();
    let out = verify(&receipt, &key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("receipt #42"), "{text}");
    assert!(text.contains("tender-1"), "{text}");
}

#[test]
fn a_receipt_with_a_changed_time_is_refused() {
    let (receipt, key) = signed_withdrawal_and_key();
    let forged = receipt.replace("10:59:59.123456", "11:59:59.123456");
    assert_ne!(forged, receipt);
    let out = verify(&forged, &key);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid receipt"));
}

#[test]
fn a_receipt_checked_against_another_platform_key_is_refused() {
    let (receipt, _) = signed_withdrawal_and_key();
    let other = ReceiptSigner::from_seed("platform-2026".parse().unwrap(), [8u8; 32]);
    let out = verify(&receipt, &other.public_key().to_pem());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_file_upload_receipt_prints_its_files_and_a_changed_file_hash_is_refused() {
    use sealing::{EnvelopeDigest, EnvelopeKind, FileDigest, Sha256Digest};
    let signer = ReceiptSigner::from_seed("platform-2026".parse().unwrap(), [7u8; 32]);
    let file = FileDigest {
        media_type: "application/pdf".into(),
        name: "offerta tecnica.pdf".into(),
        sha256: Sha256Digest::of(b"the technical offer"),
        size: 19,
    };
    let line = |kind, files| EnvelopeDigest {
        files,
        key_commitment: Sha256Digest([3; 32]),
        kind,
        sealed_manifest_sha256: Sha256Digest([4; 32]),
        version: 1,
    };
    let body = ReceiptBody {
        tender: "tender-1".parse().unwrap(),
        lot: "lot-1".parse().unwrap(),
        bid: "bid-1".parse().unwrap(),
        bid_version: 1,
        operator: "01234567897".parse().unwrap(),
        action: ReceiptAction::FileUpload,
        envelopes: vec![
            line(EnvelopeKind::Administrative, vec![]),
            line(EnvelopeKind::Technical, vec![file.clone()]),
        ],
        server_time: ServerTime::new(
            chrono::DateTime::parse_from_rfc3339("2027-02-15T10:00:00Z")
                .unwrap()
                .into(),
        ),
        sequence: 43,
    };
    let receipt = signer.sign(body).unwrap().to_json();
    let key = signer.public_key().to_pem();
    let out = verify(&receipt, &key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FileUpload"), "{text}");
    assert!(
        text.contains(&format!(
            "file \"offerta tecnica.pdf\" (application/pdf, 19 bytes) sha256 {}",
            file.sha256
        )),
        "{text}"
    );
    // one changed hex digit of the file's hash, its size or its name: the signature fails
    let sha = file.sha256.to_string();
    let mut other = sha.clone();
    other.replace_range(0..1, if sha.starts_with('0') { "1" } else { "0" });
    for forged in [
        receipt.replace(&sha, &other),
        receipt.replace("\"size\":19", "\"size\":20"),
        receipt.replace("offerta tecnica.pdf", "offerta tecnica2.pdf"),
    ] {
        assert_ne!(forged, receipt);
        let out = verify(&forged, &key);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("signature does not verify"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
