//! Direct awards (affidamento diretto, art. 50 c.1 lett. a–b): the decision names the contractor; the engine
//! checks the amount band and the rotation rule (art. 49, c.4 overrides, c.6 exemption) and records the
//! reasons. A recorded direct award joins the award history (rotation, counters).

use super::{
    OverrideInput,
    entities::register_award_history,
    history::rotation_history,
    listings::{PastAwardView, check_parties, past_award_view},
    overrides, parse_category, selection_error, settings,
};
use crate::{
    audit,
    auth::{Principal, Role},
    error::{ApiJson, ApiResult, AppError, Problem},
    input as validate,
    state::AppState,
};
use ::register::{Buyer, DirectAwardRequest, OperatorId, ProcedureRequest, check_direct_award};
use axum::{Json, extract::State, http::StatusCode};
use domain::money::Euro;
use sea_orm::{ActiveModelTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::store::Scope;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(check))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectAwardInput {
    /// The operator the decision names.
    pub contractor: Uuid,
    /// Register category / rotation sector: `OG1`, `OS12-A` or a CPV division.
    pub category: String,
    /// Euro, net of VAT, decimal string.
    pub amount: String,
    /// The recorded reasons for the choice of the contractor.
    pub reasons: String,
    /// `None`: the Province's own contract.
    pub municipality_id: Option<Uuid>,
    /// Decision number, CIG...
    pub reference: Option<String>,
    /// Motivated award to the outgoing contractor (art. 49 c.4).
    #[serde(default)]
    pub overrides: Vec<OverrideInput>,
    /// `true`: check only, record nothing.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DirectAwardView {
    /// Whether the award was recorded (`false` for a dry run).
    pub recorded: bool,
    /// The recorded award (absent for a dry run).
    pub award: Option<PastAwardView>,
    /// The art. 50 band decision.
    #[schema(value_type = Object)]
    pub band: serde_json::Value,
    /// The rotation outcome: exemption (c.6), overrides with reasons (c.4).
    #[schema(value_type = Object)]
    pub rotation: serde_json::Value,
    pub reasons: String,
}

/// Check a direct award (SUA buyer): band (art. 50 c.1 lett. a–b at today's date), rotation (art. 49), recorded
/// reasons. Accepted: 201 and the award is recorded (200 with `dry_run`). Refused: 409 naming the rule, or 422
/// naming the field.
#[utoipa::path(post, path = "/v1/direct-awards/check", tag = "register", security(("bearer" = [])),
    request_body = DirectAwardInput,
    responses((status = 201, body = DirectAwardView), (status = 200, body = DirectAwardView),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn check(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<DirectAwardInput>,
) -> ApiResult<(StatusCode, Json<DirectAwardView>)> {
    let province = p.require(Role::SuaBuyer)?;
    let cfg = settings::get()?;
    let category = parse_category("category", &b.category)?;
    let cents = validate::euro_cents("amount", &b.amount)?;
    let amount =
        Euro::from_cents(cents).map_err(|e| AppError::bad("amount", format!("amount: {e}")))?;
    let reference = match &b.reference {
        Some(r) => Some(validate::non_empty("reference", r, 500)?),
        None => None,
    };
    let ov = overrides(&b.overrides);
    let now = st.now();
    let today = now.date_naive();
    let w = st.db.write(Scope::Province(province)).await?;
    check_parties(
        &w.txn,
        province,
        "contractor",
        b.contractor,
        b.municipality_id,
    )
    .await?;
    let history = rotation_history(&w.txn, province, category).await?;
    let request = DirectAwardRequest {
        contractor: OperatorId(b.contractor),
        procedure: ProcedureRequest {
            category,
            amount,
            date: today,
            buyer: Buyer {
                province,
                municipality: b.municipality_id,
            },
            territory: None,
            scope: None,
        },
        reasons: b.reasons.clone(),
    };
    let decision = check_direct_award(
        &request,
        &history,
        &ov,
        &cfg.selection.rotation,
        &cfg.thresholds,
    )
    .map_err(|e| selection_error(e, &ov))?;
    let band = serde_json::to_value(&decision.band).unwrap_or_default();
    let rotation = serde_json::to_value(&decision.rotation).unwrap_or_default();
    if b.dry_run {
        return Ok((
            StatusCode::OK,
            Json(DirectAwardView {
                recorded: false,
                award: None,
                band,
                rotation,
                reasons: decision.reasons,
            }),
        ));
    }
    let h = register_award_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        province_id: Set(province),
        municipality_id: Set(b.municipality_id),
        operator_id: Set(b.contractor),
        category: Set(category.to_string()),
        amount_cents: Set(cents),
        awarded_on: Set(today),
        source: Set("direct_award".into()),
        reference: Set(reference),
        reasons: Set(Some(decision.reasons.trim().to_owned())),
        rotation_json: Set(Some(rotation.to_string())),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    let view = DirectAwardView {
        recorded: true,
        award: Some(past_award_view(&h)),
        band,
        rotation,
        reasons: decision.reasons,
    };
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(province),
            actor: &p.actor(),
            action: "register.direct_award",
            object_kind: "register_award",
            object_id: h.id.to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or_default()),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}
