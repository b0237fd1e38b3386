//! Issue 9 over HTTP: the Province's register of operators (elenchi), the draw of invitees for negotiated
//! procedures without notice, market surveys, direct-award checks and per-operator counters.
//!
//! The rules are the pure `register` crate's ([`::register::select_invitees`], [`::register::apply_rotation`],
//! [`::register::draw`], [`::register::check_direct_award`], [`::register::invitees_visible`],
//! [`::register::counters::aggregate`]); this module only loads rows, calls them and stores the result with
//! its audit entry, in one [`crate::db::Db::write`] transaction.
//!
//! - [`listings`]: `POST /v1/register/applications` (bidder), listing, admission, suspension, removal,
//!   renewal of an admitted listing's expiry (SUA buyer of the Province), import of past awards for the
//!   rotation history;
//! - [`invitations`]: `POST|GET /v1/tenders/{id}/invitations/draw`, `GET /v1/tenders/{id}/invitations`;
//! - [`mails`]: invitation mails through the `notify` outbox (`POST /v1/tenders/{id}/invitations/mails`, or
//!   with the selection);
//! - [`direct`]: `POST /v1/direct-awards/check`;
//! - [`stats`]: `GET /v1/register/operators/{id}/counters`;
//! - [`history`]: the award history the rotation rule and the counters read;
//! - [`settings`]: the configurable rules ([`::register::SelectionConfig`]) from `SUA_REGISTER_CONFIG`.
//!
//! See `docs/register.md`.

pub mod direct;
/// The register's tables (now with every other entity in `workflow::store`).
pub mod entities {
    pub use workflow::store::entities::{register_award_history, register_draw, register_listing};
}
pub use workflow::register as history;
pub mod invitations;
pub mod listings;
pub mod mails;
pub mod rotation;
pub mod settings;
pub mod stats;

use crate::{error::AppError, state::AppState};
use ::register::rotation::RotationError;
use ::register::{Category, OperatorId, RotationOverride, SelectionError};
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

/// Every route of the register, merged into [`crate::api::routes`].
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(listings::router())
        .merge(invitations::router())
        .merge(direct::router())
        .merge(stats::router())
}

/// Parses a register category (`OG1`, `OS12-A`, CPV division `90`) or a 422 naming `field`.
pub fn parse_category(field: &str, raw: &str) -> Result<Category, AppError> {
    Category::parse(raw.trim()).map_err(|e| AppError::bad(field, format!("{field}: {e}")))
}

/// A motivated decision to invite (or award to) the outgoing contractor anyway (art. 49 c.4).
/// A motivated invitation or award of the outgoing contractor (art. 49 c.4): one shape for the draw, the
/// direct award and a hand-written invitee list.
pub use workflow::register::OverrideInput;

pub(crate) fn overrides(input: &[OverrideInput]) -> Vec<RotationOverride> {
    input
        .iter()
        .map(|o| RotationOverride {
            operator: OperatorId(o.operator_id),
            reason: o.reason.clone(),
            quality_attestation: o.quality_attestation.clone(),
        })
        .collect()
}

/// Maps a refusal of the pure crate to a problem document: input faults are 422 naming the field, legal
/// refusals are 409 naming the rule.
pub(crate) fn selection_error(e: SelectionError, ov: &[RotationOverride]) -> AppError {
    let at = |op: &OperatorId| {
        ov.iter()
            .position(|o| o.operator == *op)
            .map(|i| format!("overrides[{i}]"))
            .unwrap_or_else(|| "overrides".into())
    };
    let detail = e.to_string();
    match &e {
        SelectionError::Threshold(_) => AppError::conflict("art. 14, art. 50 c.1", detail),
        SelectionError::NotNegotiatedBand { article, .. } => AppError::conflict(
            format!("{article} (amount: the sum of the tender's lots)"),
            detail,
        ),
        SelectionError::NotDirectAwardBand { article, .. } => {
            AppError::conflict(article.to_string(), detail)
        }
        SelectionError::BelowLegalMinimum { .. } => AppError::bad("invitees", detail),
        SelectionError::NotEnoughEligible { .. } => AppError::conflict(
            "art. 50 c.1 lett. c-e (at least 5 or 10 operators, ove esistenti)",
            detail,
        ),
        SelectionError::MissingDrawMotivation => AppError::bad("motivation", detail),
        SelectionError::NoRespondents => AppError::bad("respondents", detail),
        SelectionError::MissingReasons => AppError::bad("reasons", detail),
        SelectionError::Rotated(_) => AppError::conflict(::register::rotation::ART_49_C2, detail),
        SelectionError::Draw(_) => AppError::bad("invitees", detail),
        SelectionError::Rotation(r) => match r {
            RotationError::EmptyOverrideReason(op) => {
                AppError::bad(format!("{}.reason", at(op)), detail)
            }
            RotationError::MissingQualityAttestation(op) => {
                AppError::bad(format!("{}.quality_attestation", at(op)), detail)
            }
            RotationError::OverrideNotNeeded(op) => {
                AppError::bad(format!("{}.operator_id", at(op)), detail)
            }
            RotationError::ZeroStreak => AppError::Internal(anyhow::anyhow!(
                "register configuration: rotation.streak must be at least 1"
            )),
        },
    }
}

/// The stored JSON of a list of operator ids (same encoding as `tender.invitees_json`).
pub(crate) fn ids_json(ids: &[OperatorId]) -> String {
    let v: Vec<Uuid> = ids.iter().map(|o| o.0).collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn ids_from_json(s: &str) -> Vec<Uuid> {
    serde_json::from_str(s).unwrap_or_default()
}
