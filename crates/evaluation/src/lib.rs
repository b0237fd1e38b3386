//! Bid evaluation for the Stazione Unica Appaltante: who wins, and why.
//!
//! * [`lowest_price`]: award at the lowest price, with the automatic exclusion of anomalous
//!   bids of art. 54 and Allegato II.2 D.Lgs. 36/2023 ([`anomaly`], methods A, B, C);
//! * [`quality_price`]: best quality-price ratio (OEPV), aggregative-compensatory method;
//! * [`ranking`]: ranks, ties for first place and the seeded draw (sorteggio);
//! * [`json`]: the JSON front end of `sua evaluate` ([`evaluate_json`]).
//!
//! Pure: no I/O, no clock, no randomness other than the seed passed in. Numbers are
//! `rust_decimal::Decimal` (the anomaly threshold is an exact fraction); rounding happens only
//! where a [`rounding::Rounding`] policy says so, and every policy is echoed in the result.
//! Legal sources, parameters and open questions: `docs/evaluation.md`.

pub mod anomaly;
mod document;
pub mod error;
pub mod exact;
mod indent;
pub mod json;
pub mod lowest_price;
mod out;
pub mod quality_price;
pub mod ranking;
pub mod rounding;
mod ser;

pub use error::EvalError;
pub use json::{
    AutomaticExclusion, EvaluateError, InputError, LotRules, evaluate_json, evaluate_json_pretty,
    evaluate_json_to, input_document, parse_rules, rerank_json,
};
