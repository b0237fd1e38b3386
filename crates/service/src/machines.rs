//! Edge between stored rows and the pure `lifecycle` machines.

use crate::error::{ApiResult, AppError};

pub const TENDER_INITIAL: &str = "draft";
pub const LOT_INITIAL: &str = "draft";

pub fn parse_procedure(field: &str, raw: &str) -> ApiResult<String> {
    raw.parse::<lifecycle::ProcedureType>()
        .map(|p| p.as_str().to_owned())
        .map_err(|e| AppError::bad(field, format!("{field}: {e}")))
}
