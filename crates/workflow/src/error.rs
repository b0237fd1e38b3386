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

/// Whether a database error means the store cannot be reached right now (no connection from the pool,
/// the connection lost or refused, the server shutting down or not accepting connections, SQLite's
/// lock not obtained within its busy timeout), rather than a fault of the statement or of the data.
/// The edge answers these 503 with `Retry-After`: the same request may succeed later, and nothing was
/// committed (the transaction that met the error rolls back).
pub fn store_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx::Error as X};
    let runtime = match e {
        // no connection from the pool, or a new connection refused (whatever the server's reason, e.g.
        // a database not accepting connections, SQLSTATE 55000)
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(r) | DbErr::Query(r) => r,
        _ => return false,
    };
    let RuntimeErr::SqlxError(x) = runtime else {
        return false;
    };
    match x.as_ref() {
        X::Io(_) | X::Tls(_) | X::PoolTimedOut | X::PoolClosed | X::WorkerCrashed => true,
        X::Protocol(_) => true,
        X::Database(d) => {
            let code = d.code().unwrap_or_default();
            // PostgreSQL: class 08 (connection exception), 57P01-57P03 (shutdown, cannot connect now),
            // 53300 (too many connections). SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED (busy timeout ran out).
            code.starts_with("08")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
                || (d
                    .try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                    .is_some()
                    && matches!(&*code, "5" | "6" | "517" | "262"))
        }
        _ => false,
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::store_unavailable;
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr, sqlx::Error as X};
    use std::sync::Arc;

    fn exec(x: X) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(Arc::new(x)))
    }

    #[test]
    fn connection_faults_are_unavailability_and_data_faults_are_not() {
        assert!(store_unavailable(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
        assert!(store_unavailable(&exec(X::PoolTimedOut)));
        assert!(store_unavailable(&exec(X::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        )))));
        assert!(!store_unavailable(&exec(X::RowNotFound)));
        assert!(!store_unavailable(&DbErr::RecordNotFound("x".into())));
        assert!(!store_unavailable(&DbErr::Custom("x".into())));
    }
}
