//! The workflow's error: what the HTTP edge turns into a problem document and the scheduler into a timer
//! outcome. It knows nothing of status codes.

use lifecycle::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A rule refused the step; `rule` names it (an article, a lifecycle guard, "outbox"...).
    #[error("{detail}")]
    Refused { rule: String, detail: String },
    /// The thing does not exist (or the caller may not know it exists).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// An input value is not acceptable; `field` is its path (`lots[0].cig`).
    #[error("{detail}")]
    Invalid { field: String, detail: String },
    /// The caller's role or organisation does not allow the step.
    #[error("{0}")]
    Forbidden(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] sea_orm::DbErr),
    /// Anything else that is not the caller's fault (a key missing, a corrupt stored value).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type WResult<T> = Result<T, WorkflowError>;

impl WorkflowError {
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        WorkflowError::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }
    pub fn refused(rule: impl Into<String>, detail: impl Into<String>) -> Self {
        WorkflowError::Refused {
            rule: rule.into(),
            detail: detail.into(),
        }
    }
}

impl From<Refusal> for WorkflowError {
    fn from(r: Refusal) -> Self {
        WorkflowError::Refused {
            rule: r.rule.to_string(),
            detail: r.message,
        }
    }
}

/// The mail outbox failed: not the caller's fault.
impl From<notify::Error> for WorkflowError {
    fn from(e: notify::Error) -> Self {
        WorkflowError::Internal(anyhow::anyhow!("mail outbox: {e}"))
    }
}
