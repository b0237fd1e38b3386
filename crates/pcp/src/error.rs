//! Why a scheda could not be built.

use chrono::{DateTime, Utc};

use crate::codes::SchedaCode;

/// A refusal to build a scheda. [`PcpError::Rule`] names ANAC's rule code (`REG47`, from the DMN tables in
/// `modello-dati/regole/`, described in `errori.json`), so the message the buyer sees is the one PCP would
/// answer, before anything is sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PcpError {
    #[error("ANAC {rule} ({scheda}): {description} — {detail}", scheda = scheda.as_str())]
    Rule {
        /// ANAC's rule code, e.g. `REG47`.
        rule: &'static str,
        scheda: SchedaCode,
        /// ANAC's own wording of the rule (`errori.json`).
        description: String,
        /// What in our data broke it.
        detail: String,
    },
    #[error("code '{code}' is not in ANAC's list {list}")]
    UnknownCode { list: String, code: String },
    #[error("code '{code}' of ANAC's list {list} is not valid at {at}")]
    ExpiredCode {
        list: String,
        code: String,
        at: DateTime<Utc>,
    },
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
}

impl PcpError {
    /// ANAC's rule code of a [`PcpError::Rule`].
    pub fn rule(&self) -> Option<&'static str> {
        match self {
            PcpError::Rule { rule, .. } => Some(rule),
            _ => None,
        }
    }

    pub(crate) fn rule_broken(
        rule: &'static str,
        scheda: SchedaCode,
        detail: impl Into<String>,
    ) -> Self {
        PcpError::Rule {
            rule,
            scheda,
            description: crate::codes::error_description(rule).unwrap_or_default(),
            detail: detail.into(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        PcpError::Invalid {
            field: field.into(),
            detail: detail.into(),
        }
    }
}
