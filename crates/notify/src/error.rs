//! The error type of the crate.

/// Errors of the outbox API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the caller; `field` names what is wrong.
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("message {0} not found")]
    NotFound(uuid::Uuid),
    /// `resend` of a message that is not `failed`.
    #[error("message {id} is {status}, only a failed message can be resent")]
    NotFailed {
        id: uuid::Uuid,
        status: &'static str,
    },
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// A row that this crate cannot have written (e.g. unknown status or bad JSON).
    #[error("corrupt outbox row: {0}")]
    Corrupt(String),
    #[error("template: {0}")]
    Template(String),
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}
