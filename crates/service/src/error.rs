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
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
        let (status, kind, field, rule) = match &self {
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", None, None),
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
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None, None)
            }
        };
        let detail = match &self {
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
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(v) => Ok(ApiJson(v)),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let syntax = matches!(
                    inner.classify(),
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof
                );
                let field = if path == "." { String::new() } else { path };
                let err = if syntax {
                    AppError::Malformed(format!("malformed JSON body: {inner}"))
                } else {
                    AppError::bad(field, format!("invalid JSON body: {inner}"))
                };
                let resp = err.into_response();
                Err(resp)
            }
        }
    }
}

/// Pagination query: `?page=1&per_page=50` (per_page at most 200).
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

impl PageQuery {
    pub fn resolve(&self) -> ApiResult<(u64, u64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if page == 0 {
            return Err(AppError::bad("page", "page starts at 1"));
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
