//! Rotation (art. 49) on every path to the invitations of a negotiated procedure (art. 50 c.1 c–e).
//!
//! A list drawn from the register or taken from a market survey had rotation applied by the selection
//! ([`super::invitations`]). A list the buyer wrote by hand gets the same rule when the invitations are
//! sent: the same award history, the same [`::register::apply_rotation`] with the register's configured
//! rules, the same c.4 override with its reasons and the RUP's quality attestation. The outcome becomes the
//! lifecycle's rotation facts, so its guard (`art. 49 c.2`) sees what the register computed, never a
//! declaration.

use super::{history::rotation_history, overrides, parse_category, settings};
use crate::error::{ApiResult, AppError};
use ::register::rotation::{ART_49_C2, RotationError};
use ::register::{AwardKind, Buyer, OperatorId, RotationContext, apply_rotation};
use chrono::{DateTime, Utc};
use domain::money::Euro;
use lifecycle::{ProcedureType, tender::TenderEvent};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use workflow::access::lots_of;
use workflow::store::entities::{register_draw, tender};
use workflow::transition::{EventInput, invitees};

const CATEGORY: &str = "declarations.rotation_category";
const OVERRIDES: &str = "declarations.rotation_overrides";

/// Completes `input` (a tender event) with the rotation facts of a hand-written invitee list: on
/// `send_invitations` of a negotiated procedure whose invitees were not selected through the register,
/// applies rotation to the list and refuses the outgoing contractor without a c.4 override (409 naming
/// art. 49 c.2). Users never declare the rotation facts of a negotiated procedure themselves.
pub async fn check_hand_written_invitees<C: ConnectionTrait>(
    db: &C,
    t: &tender::Model,
    input: &mut EventInput,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let d = &input.declarations;
    let declared_rotation = d.rotation_category.is_some() || d.rotation_overrides.is_some();
    let negotiated = *t.procedure_type == ProcedureType::NegoziataSenzaBando;
    if negotiated && (d.outgoing_contractor_involved.is_some() || d.rotation_exception.is_some()) {
        return Err(AppError::bad(
            "declarations.outgoing_contractor_involved",
            "declarations.outgoing_contractor_involved: in a negotiated procedure rotation (art. 49) is \
             computed from the register's award history, not declared; send rotation_category (and \
             rotation_overrides for a motivated invitation of the outgoing contractor)",
        ));
    }
    let sending = input.event == TenderEvent::SendInvitations.as_str();
    if !negotiated || !sending {
        if declared_rotation {
            return Err(AppError::bad(
                CATEGORY,
                format!(
                    "{CATEGORY}: only with send_invitations of a negotiated procedure whose invitees were \
                     written by hand"
                ),
            ));
        }
        return Ok(());
    }
    if let Some(draw) = register_draw::Entity::find()
        .filter(register_draw::Column::TenderId.eq(t.id))
        .one(db)
        .await?
    {
        if declared_rotation {
            return Err(AppError::bad(
                CATEGORY,
                format!(
                    "{CATEGORY}: the invitees were selected by {} (minutes {}), which applied rotation",
                    draw.mode, draw.id
                ),
            ));
        }
        return Ok(());
    }
    let raw = d.rotation_category.as_deref().ok_or_else(|| {
        AppError::bad(
            CATEGORY,
            format!(
                "{CATEGORY}: the invitees were written by hand; name the sector of the contract (register \
                 category: OG1, OS12-A or a CPV division) so that rotation can be applied (art. 49 c.2)"
            ),
        )
    })?;
    let category = parse_category(CATEGORY, raw)?;
    let ov = overrides(d.rotation_overrides.as_deref().unwrap_or_default());
    let cfg = settings::get()?;
    let lots = lots_of(db, t.id).await?;
    let amount = Euro::from_cents(lots.iter().map(|l| l.base_amount_cents).sum())
        .map_err(|e| AppError::conflict("tender.amount", format!("lots: {e}")))?;
    let ctx = RotationContext {
        category,
        amount,
        date: now.date_naive(),
        buyer: Buyer {
            province: t.province_id,
            municipality: t.municipality_id,
        },
        kind: AwardKind::Negotiated,
    };
    let listed: Vec<OperatorId> = invitees(t).into_iter().map(OperatorId).collect();
    let history = rotation_history(db, t.province_id, category).await?;
    let outcome = apply_rotation(&listed, &history, &ctx, &cfg.selection.rotation, &ov)
        .map_err(|e| rotation_error(e, &ov))?;
    if !outcome.excluded.is_empty() {
        let why: Vec<String> = outcome
            .excluded
            .iter()
            .map(|x| format!("operator {} is the {}", x.operator.0, x.reason))
            .collect();
        return Err(AppError::conflict(
            ART_49_C2,
            format!(
                "invitees: {}; invite the outgoing contractor only with a motivated override (art. 49 c.4: \
                 reasons and the RUP's quality attestation) in {OVERRIDES}",
                why.join("; ")
            ),
        ));
    }
    let d = &mut input.declarations;
    d.outgoing_contractor_involved = Some(!outcome.overridden.is_empty());
    if !outcome.overridden.is_empty() {
        d.rotation_exception = Some("motivated_market_structure".to_owned());
    }
    Ok(())
}

fn rotation_error(e: RotationError, ov: &[::register::RotationOverride]) -> AppError {
    let at = |op: &OperatorId| {
        ov.iter()
            .position(|o| o.operator == *op)
            .map(|i| format!("{OVERRIDES}[{i}]"))
            .unwrap_or_else(|| OVERRIDES.to_owned())
    };
    let detail = e.to_string();
    match &e {
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
    }
}
