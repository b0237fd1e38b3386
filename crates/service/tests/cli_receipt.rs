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
