//! PDND and ModI: the tokens a certified platform sends with every PCP call. Pure: `now`, ids and keys
//! are passed in.
//!
//! - **Tracking evidence** (`Agid-JWT-TrackingEvidence`, ModI `AUDIT_REST_01`): who acts, for which SA,
//!   from which platform, in which flow. Its claims are ANAC's `specifiche-jws/jws.yaml` (vendored as
//!   `spec/jws/jws.json`, checked by `tests/modi.rs`): the standard `iat`/`nbf`/`exp`/`jti`/`aud`, the
//!   user (`userCodiceFiscale`, `userRole` RP/DRP, `userLoa`, `userIdpType`), the SA (`SACodiceFiscale`,
//!   `SAcodiceAUSA`), the platform's registration (`regCodicePiattaforma`, `regCodiceComponente`) and the
//!   tracing ids (`businessFlowID` = idAppalto, the nil UUID for the first `crea-appalto`; `traceID`,
//!   `spanID`).
//! - **Signature** (`Agid-JWT-Signature`, ModI `INTEGRITY_REST_01`): the body's digest
//!   (`Digest: SHA-256=<base64>`) and the signed headers.
//! - **Client assertion** for the PDND voucher (`client_credentials` with `client_assertion`): `iss` =
//!   `sub` = the PDND client id, `purposeId`, and the SHA-256 of the tracking evidence (`digest`), which
//!   binds the voucher to it.
//!
//! Every token is signed RS256 with the key PDND knows by `kid` ([`sign`]).

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use domain::ids::CodiceFiscale;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::PcpError;

/// The platform's identity at PDND and in ANAC's register of certified platforms (configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct ModiConfig {
    /// The key id PDND knows the platform's public key by.
    pub kid: String,
    /// The PDND client id (`iss` and `sub` of the client assertion).
    pub client_id: String,
    /// The PDND purpose (finalità) the voucher is for.
    pub purpose_id: String,
    /// The audience of the client assertion: PDND's token endpoint audience.
    pub voucher_audience: String,
    /// The audience of the ModI tokens: the e-service's URL (e.g. `…/modi/rest/ComunicaAppalto/v1`).
    pub service_audience: String,
    pub reg_codice_piattaforma: String,
    pub reg_codice_componente: String,
}

/// `userRole`: the RUP (responsabile del progetto) or a delegate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserRole {
    Rp,
    Drp,
}

/// `userIdpType`: how the user was identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdpType {
    Spid,
    Cie,
    Cns,
    Eidas,
    /// The platform's own identity system.
    Custom,
}

/// The user acting on the platform, for the SA.
#[derive(Debug, Clone, PartialEq)]
pub struct Utente {
    pub codice_fiscale: CodiceFiscale,
    pub ruolo: UserRole,
    /// Level of assurance of the identification: 3 or 4.
    pub loa: u8,
    pub idp: IdpType,
}

/// The SA the user acts for.
#[derive(Debug, Clone, PartialEq)]
pub struct SaModi {
    pub codice_fiscale: Option<CodiceFiscale>,
    pub codice_ausa: String,
}

/// The tracing ids of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    /// The idAppalto, or `None` for the first `crea-appalto` (sent as the nil UUID).
    pub id_appalto: Option<Uuid>,
    pub trace_id: Uuid,
    pub span_id: Uuid,
}

fn times(now: DateTime<Utc>, ttl: Duration) -> (i64, i64) {
    (now.timestamp(), (now + ttl).timestamp())
}

/// The claims of `Agid-JWT-TrackingEvidence` (ANAC's `jws.yaml`).
pub fn tracking_evidence_claims(
    cfg: &ModiConfig,
    user: &Utente,
    sa: &SaModi,
    trace: &Trace,
    jti: Uuid,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Value, PcpError> {
    if !(3..=4).contains(&user.loa) {
        return Err(PcpError::invalid(
            "userLoa",
            "level of assurance must be 3 or 4",
        ));
    }
    let (iat, exp) = times(now, ttl);
    let mut v = json!({
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "jti": jti.to_string(),
        "aud": cfg.service_audience,
        "userCodiceFiscale": user.codice_fiscale.as_str(),
        "userRole": match user.ruolo { UserRole::Rp => "RP", UserRole::Drp => "DRP" },
        "userLoa": user.loa.to_string(),
        "userIdpType": match user.idp {
            IdpType::Spid => "SPID",
            IdpType::Cie => "CIE",
            IdpType::Cns => "CNS",
            IdpType::Eidas => "EIDAS",
            IdpType::Custom => "CUSTOM",
        },
        "SAcodiceAUSA": sa.codice_ausa,
        "regCodicePiattaforma": cfg.reg_codice_piattaforma,
        "regCodiceComponente": cfg.reg_codice_componente,
        "businessFlowID": trace.id_appalto.unwrap_or(Uuid::nil()).to_string(),
        "traceID": trace.trace_id.to_string(),
        "spanID": trace.span_id.to_string(),
    });
    if let Some(cf) = &sa.codice_fiscale {
        v["SACodiceFiscale"] = json!(cf.as_str());
    }
    Ok(v)
}

/// The `Digest` header of a body: `SHA-256=<base64 of its SHA-256>` (RFC 3230, as ModI requires).
pub fn digest_header(body: &[u8]) -> String {
    format!(
        "SHA-256={}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body))
    )
}

/// The claims of `Agid-JWT-Signature` for a request body (ModI `INTEGRITY_REST_01`): the digest and the
/// content type are among the signed headers.
pub fn signature_claims(
    cfg: &ModiConfig,
    body: &[u8],
    content_type: &str,
    jti: Uuid,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Value {
    let (iat, exp) = times(now, ttl);
    json!({
        "iat": iat,
        "nbf": iat,
        "exp": exp,
        "jti": jti.to_string(),
        "aud": cfg.service_audience,
        "iss": cfg.client_id,
        "sub": cfg.client_id,
        "signed_headers": [
            {"digest": digest_header(body)},
            {"content-type": content_type},
        ],
    })
}

/// The claims of the client assertion sent to PDND for a voucher, bound to a tracking evidence token by its
/// SHA-256 (`digest`, PDND's "voucher with audit" pattern).
pub fn client_assertion_claims(
    cfg: &ModiConfig,
    tracking_evidence_jwt: Option<&str>,
    jti: Uuid,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Value {
    let (iat, exp) = times(now, ttl);
    let mut v = json!({
        "iss": cfg.client_id,
        "sub": cfg.client_id,
        "aud": cfg.voucher_audience,
        "purposeId": cfg.purpose_id,
        "jti": jti.to_string(),
        "iat": iat,
        "exp": exp,
    });
    if let Some(t) = tracking_evidence_jwt {
        v["digest"] = json!({"alg": "SHA256", "value": hex::encode(Sha256::digest(t.as_bytes()))});
    }
    v
}

/// Signs claims as a compact JWS, RS256, header `{"alg": "RS256", "typ": "JWT", "kid": kid}`, with the
/// platform's RSA private key (PEM, PKCS#1 or PKCS#8).
pub fn sign(claims: &Value, kid: &str, private_key_pem: &[u8]) -> Result<String, PcpError> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private_key_pem)
        .map_err(|e| PcpError::invalid("modi.private_key", e.to_string()))?;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, claims, &key)
        .map_err(|e| PcpError::invalid("modi.sign", e.to_string()))
}

/// The ModI headers of one call to a PCP e-service, signed with the platform's key: `Digest`,
/// `Agid-JWT-Signature` (over the digest and content type) and `Agid-JWT-TrackingEvidence` (the given
/// tracking claims, see [`tracking_evidence_claims`]). The `Authorization: Bearer` voucher comes from PDND
/// (a client assertion with [`client_assertion_claims`], bound to the same tracking evidence).
pub fn call_headers(
    cfg: &ModiConfig,
    private_key_pem: &[u8],
    body: &[u8],
    tracking_claims: &Value,
    signature_jti: Uuid,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Vec<(&'static str, String)>, PcpError> {
    let content_type = "application/json";
    let signature = sign(
        &signature_claims(cfg, body, content_type, signature_jti, now, ttl),
        &cfg.kid,
        private_key_pem,
    )?;
    let tracking = sign(tracking_claims, &cfg.kid, private_key_pem)?;
    Ok(vec![
        ("Content-Type", content_type.to_owned()),
        ("Digest", digest_header(body)),
        ("Agid-JWT-Signature", signature),
        ("Agid-JWT-TrackingEvidence", tracking),
    ])
}
