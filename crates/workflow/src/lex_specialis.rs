//! A lot's evaluation rules: part of the lex specialis (art. 54 c.2, art. 108 c.7, c.12).
//!
//! The rules are the `evaluation` crate's input document without what the evaluation fills in (criterion,
//! base amount, bids, seeds): the anomaly method (fixed, `none`, or drawn at evaluation among compatible
//! methods), the decrement reading, `exclude_equal`, the award rule and the roundings at the lowest price;
//! the technical criteria, riparametrazione, sbarramento, economic formula and roundings at quality-price.
//! They are checked by the evaluation's own parser ([`evaluation::parse_rules`]) when written, set while the
//! tender is a draft and frozen at publication: after it they change only through `amend_documents`, with the
//! term extension of a significant change (art. 92 c.2 lett. b). `POST /v1/lots/{id}/evaluate` takes none of
//! them.

use crate::error::{WResult, WorkflowError};
use crate::store::entities::lot;
use evaluation::LotRules;
use lifecycle::AwardCriterion;
use serde_json::Value;

/// The rule a change after publication breaks.
pub const FROZEN_RULE: &str = "art. 54 c.2, art. 108 c.12";

/// Check `rules` for a lot of a tender awarded by `criterion`; `field` names them in errors (e.g.
/// `evaluation_rules`, `lots[1].evaluation_rules`). Returns the text to store and what the engine reads.
pub fn parse(criterion: AwardCriterion, field: &str, rules: &Value) -> WResult<(String, LotRules)> {
    let parsed = evaluation::parse_rules(criterion.as_str(), rules).map_err(|e| {
        let path = if e.path == "$" {
            field.to_owned()
        } else {
            format!("{field}.{}", e.path)
        };
        WorkflowError::invalid(path.clone(), format!("{path}: {}", e.message))
    })?;
    Ok((rules.to_string(), parsed))
}

/// The stored rules of a lot, if any.
pub fn stored(l: &lot::Model) -> Option<Value> {
    l.evaluation_rules_json
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
}

/// What the stored rules of a lot say, read again with the evaluation's parser; `None` when the lot has
/// none or they no longer fit `criterion` (the tender's criterion changed after they were written).
pub fn summary(l: &lot::Model, criterion: AwardCriterion) -> Option<LotRules> {
    evaluation::parse_rules(criterion.as_str(), &stored(l)?).ok()
}

/// The lot's rules provide for the automatic exclusion of anomalous bids: a method or a draw among methods
/// (the lifecycle's `auto_exclusion_method_set`, derived, never declared).
pub fn provides_automatic_exclusion(l: &lot::Model, criterion: AwardCriterion) -> bool {
    summary(l, criterion).is_some_and(|r| r.automatic_exclusion.is_provided())
}
