//! PDND/ModI tokens: the tracking-evidence claims are valid against ANAC's `jws.yaml` (vendored), every
//! token verifies with the public key and carries `kid`, the signature binds the body's digest and the
//! client assertion binds the tracking evidence. The RSA key pair in `tests/keys/` is a test key only.

use chrono::{Duration, TimeZone, Utc};
use domain::ids::CodiceFiscale;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use pcp::modi::{self, IdpType, ModiConfig, SaModi, Trace, UserRole, Utente};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const KEY: &[u8] = include_bytes!("keys/test-rsa.pem");
const PUB: &[u8] = include_bytes!("keys/test-rsa.pub.pem");

fn cfg() -> ModiConfig {
    ModiConfig {
        kid: "sua-test-key-1".into(),
        client_id: "9b361d49-33f4-4f1e-a88b-4e12661f2309".into(),
        purpose_id: "1b361d49-33f4-4f1e-a88b-4e12661f2300".into(),
        voucher_audience: "auth.uat.interop.pagopa.it/client-assertion".into(),
        service_audience: "https://apigw-test.anticorruzione.it/modi/rest/ComunicaAppalto/v1"
            .into(),
        reg_codice_piattaforma: "0000001".into(),
        reg_codice_componente: "0000001".into(),
    }
}

fn user() -> Utente {
    Utente {
        codice_fiscale: CodiceFiscale::parse("RSSMRA80A01H501U").unwrap(),
        ruolo: UserRole::Rp,
        loa: 3,
        idp: IdpType::Spid,
    }
}

fn sa() -> SaModi {
    SaModi {
        codice_fiscale: Some(CodiceFiscale::parse("80001234568").unwrap()),
        codice_ausa: "0000123456".into(),
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap()
}

fn verify(token: &str, aud: &str) -> Value {
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[aud]);
    v.validate_exp = false; // the tokens are made at a fixed `now` in the past
    decode::<Value>(token, &DecodingKey::from_rsa_pem(PUB).unwrap(), &v)
        .unwrap()
        .claims
}

#[test]
fn tracking_evidence_follows_anacs_jws_schema() {
    let trace = Trace {
        id_appalto: None,
        trace_id: Uuid::from_u128(7),
        span_id: Uuid::from_u128(8),
    };
    let claims = modi::tracking_evidence_claims(
        &cfg(),
        &user(),
        &sa(),
        &trace,
        Uuid::from_u128(1),
        now(),
        Duration::minutes(5),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(include_str!("../spec/jws/jws.json")).unwrap();
    let schema = doc["components"]["schemas"]["body"].clone();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errs: Vec<String> = validator
        .iter_errors(&claims)
        .map(|e| e.to_string())
        .collect();
    assert!(errs.is_empty(), "{errs:?}");
    // every property we send is one ANAC describes
    let props = schema["properties"].as_object().unwrap();
    for k in claims.as_object().unwrap().keys() {
        assert!(props.contains_key(k), "{k} is not in jws.yaml");
    }
    assert_eq!(
        claims["businessFlowID"], "00000000-0000-0000-0000-000000000000",
        "first crea-appalto"
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );

    let token = modi::sign(&claims, &cfg().kid, KEY).unwrap();
    let header = decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some("sua-test-key-1"));
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(verify(&token, &cfg().service_audience), claims);

    let bad = Utente { loa: 2, ..user() };
    assert!(
        modi::tracking_evidence_claims(
            &cfg(),
            &bad,
            &sa(),
            &trace,
            Uuid::from_u128(1),
            now(),
            Duration::minutes(5)
        )
        .is_err()
    );
}

#[test]
fn the_signature_binds_the_body_digest() {
    let body = br#"{"idAppalto":"4f8f5660-87e8-4dbb-b325-17e216f4a519"}"#;
    let claims = modi::signature_claims(
        &cfg(),
        body,
        "application/json",
        Uuid::from_u128(2),
        now(),
        Duration::minutes(5),
    );
    let token = modi::sign(&claims, &cfg().kid, KEY).unwrap();
    let got = verify(&token, &cfg().service_audience);
    let digest = got["signed_headers"][0]["digest"].as_str().unwrap();
    assert_eq!(digest, modi::digest_header(body));
    assert!(digest.starts_with("SHA-256="));
    assert_ne!(
        digest,
        modi::digest_header(b"{}"),
        "another body, another digest"
    );
    assert_eq!(
        got["signed_headers"][1],
        json!({"content-type": "application/json"})
    );
}

#[test]
fn the_client_assertion_binds_the_tracking_evidence() {
    let trace = Trace {
        id_appalto: Some(Uuid::from_u128(9)),
        trace_id: Uuid::from_u128(7),
        span_id: Uuid::from_u128(8),
    };
    let audit = modi::tracking_evidence_claims(
        &cfg(),
        &user(),
        &sa(),
        &trace,
        Uuid::from_u128(3),
        now(),
        Duration::minutes(5),
    )
    .unwrap();
    let audit_jwt = modi::sign(&audit, &cfg().kid, KEY).unwrap();
    let claims = modi::client_assertion_claims(
        &cfg(),
        Some(&audit_jwt),
        Uuid::from_u128(4),
        now(),
        Duration::minutes(5),
    );
    let token = modi::sign(&claims, &cfg().kid, KEY).unwrap();
    let got = verify(&token, &cfg().voucher_audience);
    assert_eq!(got["iss"], got["sub"]);
    assert_eq!(got["purposeId"], cfg().purpose_id);
    assert_eq!(got["digest"]["alg"], "SHA256");
    assert_eq!(
        got["digest"]["value"],
        hex::encode(Sha256::digest(audit_jwt.as_bytes()))
    );
    // a key that is not an RSA PEM is refused, not panicked on
    assert!(modi::sign(&claims, "k", b"not a key").is_err());
}

#[test]
fn the_headers_of_a_call_carry_digest_signature_and_tracking_evidence() {
    let body = br#"{"idAppalto":"4f8f5660-87e8-4dbb-b325-17e216f4a519"}"#;
    let trace = Trace {
        id_appalto: Some(Uuid::from_u128(9)),
        trace_id: Uuid::from_u128(7),
        span_id: Uuid::from_u128(8),
    };
    let audit = modi::tracking_evidence_claims(
        &cfg(),
        &user(),
        &sa(),
        &trace,
        Uuid::from_u128(3),
        now(),
        Duration::minutes(5),
    )
    .unwrap();
    let headers = modi::call_headers(
        &cfg(),
        KEY,
        body,
        &audit,
        Uuid::from_u128(5),
        now(),
        Duration::minutes(5),
    )
    .unwrap();
    let get = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("Digest"), modi::digest_header(body));
    let sig = verify(&get("Agid-JWT-Signature"), &cfg().service_audience);
    assert_eq!(sig["signed_headers"][0]["digest"], get("Digest"));
    assert_eq!(
        verify(&get("Agid-JWT-TrackingEvidence"), &cfg().service_audience),
        audit
    );
}
