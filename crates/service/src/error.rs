//! The HTTP error type: every error leaves as `application/problem+json` (RFC 9457) with, where it applies,
//! the `field` path of the offending input or the lifecycle `rule` that refused the step.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required")]
    Unauthorized,
    /// A known token that may no longer be used: `revoked` or `expired`.
    #[error("the token is {0}")]
    TokenRefused(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{detail}")]
    BadRequest { field: String, detail: String },
    #[error("{detail}")]
    Conflict { rule: String, detail: String },
    #[error("{0}")]
    Malformed(String),
    #[error("payload too large")]
    TooLarge,
    /// The caller's token sent more requests than `[http] rate_limit_per_second` allows.
    #[error("too many requests for this token: retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// The database cannot be reached now (see [`workflow::error::store_unavailable`]): 503 with
    /// `Retry-After`; nothing of the request was committed.
    #[error("the database is unavailable: retry after {UNAVAILABLE_RETRY_SECS} s")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The `Retry-After` of a 503 (the database unreachable): a pool's connect attempt takes up to seconds.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

/// Whether `e` (or an error it wraps) is the database being unreachable.
fn unavailable_cause(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<sea_orm::DbErr>()
            .is_some_and(workflow::error::store_unavailable)
    })
}

impl AppError {
    pub fn bad(field: impl Into<String>, detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            field: field.into(),
            detail: detail.into(),
        }
    }
    pub fn conflict(rule: impl Into<String>, detail: impl Into<String>) -> Self {
        AppError::Conflict {
            rule: rule.into(),
            detail: detail.into(),
        }
    }
}

/// The workflow's refusals and faults, as the HTTP edge answers them.
impl From<workflow::WorkflowError> for AppError {
    fn from(e: workflow::WorkflowError) -> Self {
        use workflow::WorkflowError as W;
        match e {
            W::Refused { rule, detail } => AppError::Conflict { rule, detail },
            W::NotFound(what) => AppError::NotFound(what),
            W::Invalid { field, detail } => AppError::BadRequest { field, detail },
            W::Forbidden(why) => AppError::Forbidden(why),
            W::Store(e) => AppError::from(e),
            W::Internal(e) => AppError::Internal(e),
        }
    }
}

/// The mail outbox failed: not the caller's fault (the workflow's rule, [`workflow::WorkflowError`]).
impl From<notify::Error> for AppError {
    fn from(e: notify::Error) -> Self {
        AppError::from(workflow::WorkflowError::from(e))
    }
}

impl From<sea_orm::DbErr> for AppError {
    /// Kept whole: the answer tells a database out of reach (503) from a fault (500) when it is made.
    fn from(e: sea_orm::DbErr) -> Self {
        AppError::Internal(anyhow::Error::new(e))
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// JSON path of the offending input field, e.g. `lots[0].cig`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The lifecycle rule that refused the transition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        // a database fault wrapped on its way (workflow, outbox): still the database being unreachable
        let this = match self {
            AppError::Internal(e) if unavailable_cause(&e) => {
                tracing::warn!(error = %e, "database unavailable");
                AppError::Unavailable
            }
            other => other,
        };
        let (status, kind, field, rule) = match &this {
            AppError::Unauthorized | AppError::TokenRefused(_) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", None, None)
            }
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None, None),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", None, None),
            AppError::BadRequest { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                Some(field.clone()),
                None,
            ),
            AppError::Conflict { rule, .. } => {
                (StatusCode::CONFLICT, "refused", None, Some(rule.clone()))
            }
            AppError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed", None, None),
            AppError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", None, None),
            AppError::TooManyRequests { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "rate-limited", None, None)
            }
            AppError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None, None),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None, None)
            }
        };
        let detail = match &this {
            AppError::Internal(_) => "internal error; see the server log".to_owned(),
            other => other.to_string(),
        };
        let body = Problem {
            type_: format!("https://sua.invalid/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("error").to_owned(),
            status: status.as_u16(),
            detail,
            field,
            rule,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        let retry_after = match &this {
            AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            AppError::Unavailable => Some(UNAVAILABLE_RETRY_SECS),
            _ => None,
        };
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

pub type ApiResult<T> = Result<T, AppError>;

/// A JSON body extractor whose failures are problem documents naming the field path
/// (`serde_path_to_error`), with 400 for malformed JSON and 422 for well-formed but invalid input.
///
/// Two rules hold here for every body, so that no field can escape them by being forgotten: every string
/// of the body is free text under `domain::text` (no control character but tab and newline, no
/// bidirectional override), and a field the target type does not know is refused (`serde_ignored`),
/// not silently dropped.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::TooLarge.into_response()
            } else {
                AppError::bad("", e.body_text()).into_response()
            }
        })?;
        parse_body(&bytes)
            .map(ApiJson)
            .map_err(IntoResponse::into_response)
    }
}

/// The rules of [`ApiJson`] on a body's bytes.
pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::Malformed(format!("malformed JSON body: {e}")))?;
    let mut path = String::new();
    check_texts(&value, &mut path)?;
    let mut unknown: Option<String> = None;
    let mut note = |p: serde_ignored::Path| {
        if unknown.is_none() {
            let mut s = String::new();
            ignored_path(&p, &mut s);
            unknown = Some(s);
        }
    };
    let de = serde_ignored::Deserializer::new(value, &mut note);
    let parsed = serde_path_to_error::deserialize(de);
    let v: T = match parsed {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            return Err(AppError::bad(
                field,
                format!("invalid JSON body: {}", e.into_inner()),
            ));
        }
    };
    if let Some(field) = unknown {
        return Err(AppError::bad(
            field.clone(),
            format!("{field}: unknown field"),
        ));
    }
    Ok(v)
}

/// Every string (and object key) of `v` against `domain::text::check`, naming the first offender's path
/// (`lots[0].object`).
fn check_texts(v: &serde_json::Value, path: &mut String) -> Result<(), AppError> {
    use serde_json::Value;
    let refuse = |path: &str, e: domain::text::TextError| {
        let field = if path.is_empty() { "" } else { path };
        AppError::bad(field, format!("{field}: {e}"))
    };
    match v {
        Value::String(s) => domain::text::check(s).map_err(|e| refuse(path, e)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_texts(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                domain::text::check(k).map_err(|e| refuse(path, e))?;
                check_texts(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// A `serde_ignored` path in `serde_path_to_error`'s notation (`lots[0].extra`).
fn ignored_path(p: &serde_ignored::Path, out: &mut String) {
    use serde_ignored::Path as P;
    match p {
        P::Root => {}
        P::Seq { parent, index } => {
            ignored_path(parent, out);
            out.push_str(&format!("[{index}]"));
        }
        P::Map { parent, key } => {
            ignored_path(parent, out);
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(key);
        }
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent, out)
        }
    }
}

/// The last page a listing serves (so that the offset, `(page - 1) * per_page`, always fits).
pub const MAX_PAGE: u64 = 1_000_000;

/// Pagination query: `?page=1&per_page=50` (page 1 to 1,000,000, per_page 1 to 200).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    /// 1-based page number.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Items per page (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<u64>,
}

impl PageQuery {
    pub fn resolve(&self) -> ApiResult<(u64, u64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 || page > MAX_PAGE {
            return Err(AppError::bad(
                "page",
                format!("page must be between 1 and {MAX_PAGE}"),
            ));
        }
        if per_page == 0 || per_page > 200 {
            return Err(AppError::bad(
                "per_page",
                "per_page must be between 1 and 200",
            ));
        }
        Ok((page, per_page))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub per_page: u64,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Lot {
        object: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        #[serde(default)]
        lots: Vec<Lot>,
        note: Option<String>,
    }

    fn field_of(r: Result<Body, AppError>) -> (String, String) {
        match r {
            Err(AppError::BadRequest { field, detail }) => (field, detail),
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn valid_bodies_pass_with_tab_and_newline() {
        let b: Body = parse_body(br#"{"title":"a\tb\nc","lots":[{"object":"x"}]}"#).unwrap();
        assert_eq!(b.title, "a\tb\nc");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_refused_naming_the_field() {
        let (f, d) = field_of(parse_body(
            br#"{"title":"ok","lots":[{"object":"x"},{"object":"a\u0000"}]}"#,
        ));
        assert_eq!(f, "lots[1].object");
        assert!(d.contains("U+0000"), "{d}");
        let (f, d) = field_of(parse_body(br#"{"title":"fattura\u202efdp.exe"}"#));
        assert_eq!(f, "title");
        assert!(d.contains("U+202E"), "{d}");
        let (f, _) = field_of(parse_body(br#"{"title":"x","note":"\u001b[2J"}"#));
        assert_eq!(f, "note");
        let (f, _) = field_of(parse_body(br#"{"title":"x","note":"\u2067"}"#));
        assert_eq!(f, "note");
    }

    #[test]
    fn unknown_fields_are_refused_at_any_depth() {
        let (f, d) = field_of(parse_body(br#"{"title":"x","admin":true}"#));
        assert_eq!(f, "admin");
        assert!(d.contains("unknown field"), "{d}");
        let (f, _) = field_of(parse_body(
            br#"{"title":"x","lots":[{"object":"y","extra":1}]}"#,
        ));
        assert_eq!(f, "lots[0].extra");
    }

    #[test]
    fn malformed_json_is_400_and_a_wrong_type_names_its_field() {
        assert!(matches!(
            parse_body::<Body>(b"{\"title\":"),
            Err(AppError::Malformed(_))
        ));
        let (f, _) = field_of(parse_body(br#"{"title":"x","lots":[{"object":3}]}"#));
        assert_eq!(f, "lots[0].object");
    }
}
