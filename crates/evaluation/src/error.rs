//! Errors of the evaluation functions (the JSON front end has its own [`crate::InputError`]).

use thiserror::Error;

/// A computation that cannot be carried out on the data given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvalError {
    /// Two bids carry the same id.
    #[error("duplicate bid id '{0}'")]
    DuplicateId(String),
    /// A value is outside its allowed range (e.g. a coefficient above 1).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Exact arithmetic exceeded the range of the exact number types (absurdly many digits).
    #[error("arithmetic overflow while computing {0}: too many digits in the input")]
    Overflow(&'static str),
}
