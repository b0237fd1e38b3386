//! Selecting the invitees of a negotiated procedure without notice (art. 50 c.1 lett. c–e): a seeded draw
//! from the Province's register or a market survey, with the rotation rule (art. 49); the minutes of the
//! selection; the invited list, secret until the offer deadline (art. 35 c.2 lett. b).

use super::{
    OverrideInput,
    entities::register_draw,
    history::{register_for, rotation_history},
    ids_from_json, ids_json,
    mails::{InvitationLetter, enqueue_invitations},
    overrides, parse_category, selection_error, settings,
};
use crate::{
    audit,
    auth::{MaybePrincipal, Principal, Role},
    db::entities::{operator, tender},
    error::{ApiJson, ApiResult, AppError, Problem},
    input as validate,
    state::AppState,
};
use ::register::{
    Buyer, OperatorId, ProcedureRequest, SelectionMode, draw::Draw, invitees_visible,
    select_invitees, selection::Viewer,
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::ids::NutsCode;
use lifecycle::ProcedureType;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::access::{Access, access_tender, lots_of, manage_tender};
use workflow::draws::SeedView;
use workflow::store::Scope;
use workflow::transition as machines;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(make_selection, get_minutes))
        .routes(routes!(get_invitations))
        .routes(routes!(send_mails))
}

/// The procedure type whose invitees the register selects.
pub const NEGOTIATED: ProcedureType = ProcedureType::NegoziataSenzaBando;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionInput {
    /// `draw` (default): seeded random draw from the register; `market_survey`: everyone who answered.
    #[serde(default)]
    pub mode: Option<String>,
    /// `OG1`, `OS12-A` (works) or a CPV division (`90`): the register category and rotation sector.
    pub category: String,
    /// Draw: how many operators to invite (at least the legal minimum of the band).
    pub invitees: Option<usize>,
    /// Draw: the specific motivation of the random draw (art. 50 c.2).
    pub motivation: Option<String>,
    /// Draw: only operators listed for a territory covering this NUTS area.
    pub territory: Option<String>,
    /// Market survey: the operators who answered.
    pub respondents: Option<Vec<Uuid>>,
    /// Market survey: whether the notice capped the number of operators to invite (then rotation applies,
    /// art. 49 c.5).
    pub capped: Option<bool>,
    /// Motivated re-invitations of the outgoing contractor (art. 49 c.4).
    #[serde(default)]
    pub overrides: Vec<OverrideInput>,
    /// When given (and the tender has its offer deadline), one `invitation` mail per invitee is enqueued in
    /// the same transaction; otherwise send them later with `POST /v1/tenders/{id}/invitations/mails`.
    pub letter: Option<InvitationLetter>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone, Debug)]
pub struct MinutesView {
    pub id: Uuid,
    pub tender_id: Uuid,
    /// `draw` or `market_survey`.
    pub mode: String,
    pub category: String,
    /// Euro: the sum of the tender's lots.
    pub amount: String,
    pub selection_date: NaiveDate,
    /// The art. 50 band decision (band, EU threshold, minimum invitees).
    #[schema(value_type = Object)]
    pub band: serde_json::Value,
    /// Hex of the 32 seed bytes (draws): null until revealed at the offer deadline (the seed and the eligible
    /// list reveal the invitees, secret until then, art. 35 c.2 lett. b).
    pub seed: Option<String>,
    /// Hex SHA-256 of the seed, committed when the tender was created, before the candidates were taken
    /// (draws): check `sha256(seed) == seed_sha256` once the seed is revealed.
    pub seed_sha256: Option<String>,
    /// When the seed was committed.
    pub seed_committed_at: Option<DateTime<Utc>>,
    /// How the draw is computed, for a replay.
    pub algorithm: Option<String>,
    /// Invitees requested (draws).
    pub requested: i32,
    /// Eligible operators before rotation (draw) or respondents (survey), sorted.
    pub candidates: Vec<Uuid>,
    /// The list the draw was made from (after rotation), sorted: replay with the seed.
    pub eligible: Vec<Uuid>,
    /// The invited operators, in draw order.
    pub invited: Vec<Uuid>,
    /// Exclusions (with article and reason), overrides (with reasons), exemption.
    #[schema(value_type = Object)]
    pub rotation: serde_json::Value,
    /// The configurable rules applied.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub motivation: Option<String>,
    pub capped: Option<bool>,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    /// Whether recomputing the draw from `seed` and `eligible` gives `invited` (checked when read).
    pub replays: Option<bool>,
    /// Invitation mails enqueued with the selection (`None`: none were asked for, or when read back).
    pub invitation_mails: Option<usize>,
}

/// The minutes as read: the seed only once revealed (at `close_submissions`) or once the offer deadline has
/// passed (`deadline_passed`), when the invitees stop being secret (art. 35 c.2 lett. b).
fn minutes_view(
    d: &register_draw::Model,
    commit: Option<&SeedView>,
    deadline_passed: bool,
) -> MinutesView {
    let commit = commit.filter(|_| d.seed_hex.is_some());
    let parse = |s: &str| serde_json::from_str(s).unwrap_or(serde_json::Value::Null);
    let eligible = ids_from_json(&d.eligible_json);
    let invited = ids_from_json(&d.invited_json);
    let replays = d.seed_hex.as_deref().map(|s| {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(s, &mut seed).is_ok()
            && Draw {
                seed,
                eligible: eligible.iter().copied().map(OperatorId).collect(),
                invited: invited.iter().copied().map(OperatorId).collect(),
                algorithm: String::new(),
            }
            .replays()
    });
    MinutesView {
        id: d.id,
        tender_id: d.tender_id,
        mode: d.mode.clone(),
        category: d.category.clone(),
        amount: validate::cents_to_string(d.amount_cents),
        selection_date: d.selection_date,
        band: parse(&d.band_json),
        seed: commit.and_then(|c| {
            c.seed
                .clone()
                .or_else(|| deadline_passed.then(|| d.seed_hex.clone()).flatten())
        }),
        seed_sha256: commit.map(|c| c.sha256.clone()),
        seed_committed_at: commit.map(|c| c.committed_at),
        algorithm: d.algorithm.clone(),
        requested: d.requested,
        candidates: ids_from_json(&d.candidates_json),
        eligible,
        invited,
        rotation: parse(&d.rotation_json),
        config: parse(&d.config_json),
        motivation: d.motivation.clone(),
        capped: d.capped,
        actor: d.actor.clone(),
        created_at: d.created_at,
        replays,
        invitation_mails: None,
    }
}

/// What the audit chain records of a selection: the minutes' id, mode, the seed's commitment (the seed is
/// revealed at the offer deadline, `draw.reveal`) and invitees, and the SHA-256 of the stored candidate and
/// eligible lists (which may hold thousands of ids), so that the chain commits to the minutes without copying
/// them.
fn audit_summary(d: &register_draw::Model) -> serde_json::Value {
    use sha2::{Digest, Sha256};
    let sha = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
    serde_json::json!({
        "minutes_id": d.id,
        "mode": d.mode,
        "category": d.category,
        "amount_cents": d.amount_cents,
        "selection_date": d.selection_date,
        "seed_sha256": d.seed_hex.as_deref().and_then(|h| {
            let mut b = [0u8; 32];
            hex::decode_to_slice(h, &mut b).ok().map(|_| workflow::draws::commitment(&b))
        }),
        "invited": ids_from_json(&d.invited_json),
        "candidates": ids_from_json(&d.candidates_json).len(),
        "candidates_json_sha256": sha(&d.candidates_json),
        "eligible": ids_from_json(&d.eligible_json).len(),
        "eligible_json_sha256": sha(&d.eligible_json),
        "rotation": serde_json::from_str::<serde_json::Value>(&d.rotation_json).unwrap_or_default(),
        "motivation": d.motivation,
    })
}

/// Select the invitees of a negotiated procedure without notice (SUA buyer of the tender's Province), before
/// publication: a seeded draw from the register (`mode: draw`; the seed is the platform's, generated from the
/// OS random generator and committed (SHA-256) when the tender was created, revealed at the offer deadline) or
/// a market survey. The amount is the sum of the lots; the date is today. Stores the minutes, sets the tender's
/// invitees and writes an audit entry, in one transaction. One selection per tender.
#[utoipa::path(post, path = "/v1/tenders/{id}/invitations/draw", tag = "register", security(("bearer" = [])),
    request_body = SelectionInput,
    responses((status = 201, body = MinutesView), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn make_selection(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<SelectionInput>,
) -> ApiResult<(StatusCode, Json<MinutesView>)> {
    let cfg = settings::get()?;
    let category = parse_category("category", &b.category)?;
    let territory = match &b.territory {
        Some(t) => Some(validate::id::<NutsCode>("territory", t.trim())?),
        None => None,
    };
    let ov = overrides(&b.overrides);
    let mode_name = b.mode.as_deref().unwrap_or("draw");
    let seed = [0u8; 32]; // the committed seed, read in the transaction below
    let mut mode = match mode_name {
        "draw" => {
            if b.respondents.is_some() || b.capped.is_some() {
                return Err(AppError::bad(
                    "respondents",
                    "respondents: only for mode market_survey",
                ));
            }
            SelectionMode::Draw {
                invitees: b.invitees.ok_or_else(|| {
                    AppError::bad("invitees", "invitees: how many operators to draw")
                })?,
                seed,
                motivation: b.motivation.clone().unwrap_or_default(),
            }
        }
        "market_survey" => {
            if b.invitees.is_some() || b.territory.is_some() {
                return Err(AppError::bad(
                    "invitees",
                    "invitees: a market survey invites everyone who answered (no number, no territory)",
                ));
            }
            SelectionMode::MarketSurvey {
                respondents: b
                    .respondents
                    .clone()
                    .ok_or_else(|| {
                        AppError::bad("respondents", "respondents: the operators who answered")
                    })?
                    .into_iter()
                    .map(OperatorId)
                    .collect(),
                capped: b.capped.unwrap_or(false),
            }
        }
        other => {
            return Err(AppError::bad(
                "mode",
                format!("mode: {other:?} is not draw or market_survey"),
            ));
        }
    };
    let now = st.now();
    let today = now.date_naive();
    let scope = crate::api::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    if let SelectionMode::Draw { seed, .. } = &mut mode {
        *seed = workflow::draws::secret(&w.txn, id, None, workflow::draws::Purpose::Invitees)
            .await?
            .ok_or_else(|| {
                AppError::conflict(
                    "art. 50 c.2 (draw committed in advance)",
                    "the seed of this tender's draw was not committed in advance (it is committed when a \
                     negotiated tender is created); the draw cannot be made",
                )
            })?;
    }
    if t.procedure_type != NEGOTIATED {
        return Err(AppError::conflict(
            "art. 50 c.1 lett. c-e",
            format!(
                "invitees are selected for a {NEGOTIATED} procedure, not {}",
                t.procedure_type
            ),
        ));
    }
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!(
                "the invitees are chosen before publication; the tender is {}",
                t.state
            ),
        ));
    }
    if let Some(prev) = register_draw::Entity::find()
        .filter(register_draw::Column::TenderId.eq(id))
        .one(&w.txn)
        .await?
    {
        return Err(AppError::conflict(
            "register.selection_final",
            format!(
                "the invitees of this tender were already selected on {} (minutes {}); a selection is not repeated",
                prev.selection_date, prev.id
            ),
        ));
    }
    if let Some(object) = contract_object(&t.contract_type)
        && category.contract_object() != object
    {
        return Err(AppError::bad(
            "category",
            format!(
                "category: {category} is a {} category, the tender is for {}",
                category.contract_object(),
                object
            ),
        ));
    }
    if let SelectionMode::MarketSurvey { respondents, .. } = &mode {
        for (i, r) in respondents.iter().enumerate() {
            if operator::Entity::find_by_id(r.0)
                .one(&w.txn)
                .await?
                .is_none()
            {
                return Err(AppError::bad(
                    format!("respondents[{i}]"),
                    format!("respondents[{i}]: no such operator"),
                ));
            }
        }
    }
    let lots = lots_of(&w.txn, id).await?;
    // the value of the contract, options and renewals included (art. 14 c.4)
    let amount = workflow::amounts::contract_value(&lots)?;
    let buyer = Buyer {
        province: t.province_id,
        municipality: t.municipality_id,
    };
    let request = ProcedureRequest {
        category,
        amount,
        date: today,
        buyer,
        territory,
        scope: None,
    };
    let register = register_for(&w.txn, t.province_id, category).await?;
    let history = rotation_history(&w.txn, t.province_id, category).await?;
    let sel = select_invitees(
        &register,
        &history,
        &request,
        &mode,
        &ov,
        &cfg.selection,
        &cfg.thresholds,
    )
    .map_err(|e| selection_error(e, &ov))?;
    let (seed_hex, algorithm, requested, eligible) = match &sel.draw {
        Some(d) => (
            Some(hex::encode(d.seed)),
            Some(d.algorithm.clone()),
            d.invited.len() as i32,
            d.eligible.clone(),
        ),
        None => (None, None, 0, sel.rotation.kept.clone()),
    };
    let (motivation, capped) = match &mode {
        SelectionMode::Draw { motivation, .. } => (Some(motivation.trim().to_owned()), None),
        SelectionMode::MarketSurvey { capped, .. } => (None, Some(*capped)),
    };
    let minutes = register_draw::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(id),
        province_id: Set(t.province_id),
        municipality_id: Set(t.municipality_id),
        category: Set(category.to_string()),
        amount_cents: Set(amount.cents()),
        selection_date: Set(today),
        mode: Set(mode_name.to_owned()),
        seed_hex: Set(seed_hex),
        algorithm: Set(algorithm),
        requested: Set(requested),
        candidates_json: Set(ids_json(&sel.candidates)),
        eligible_json: Set(ids_json(&eligible)),
        invited_json: Set(ids_json(&sel.invited)),
        rotation_json: Set(serde_json::to_string(&sel.rotation).unwrap_or_default()),
        band_json: Set(serde_json::to_string(&sel.band).unwrap_or_default()),
        config_json: Set(serde_json::to_string(&cfg.selection).unwrap_or_default()),
        motivation: Set(motivation),
        capped: Set(capped),
        actor: Set(p.actor()),
        created_at: Set(now),
    }
    .insert(&w.txn)
    .await?;
    // the tender's invitees, written as api/tenders.rs writes them
    let invited: Vec<Uuid> = sel.invited.iter().map(|o| o.0).collect();
    let before_invitees = machines::invitees(&t);
    let mut am = t.into_active_model();
    am.invitees_json = Set(serde_json::to_string(&invited).unwrap_or_else(|_| "[]".into()));
    am.updated_at = Set(now);
    let t = am.update(&w.txn).await?;
    let commit =
        workflow::draws::view(&w.txn, id, None, workflow::draws::Purpose::Invitees).await?;
    let mut view = minutes_view(&minutes, commit.as_ref(), false);
    if let Some(letter) = &b.letter {
        view.invitation_mails =
            Some(enqueue_invitations(&w.txn, &st, &t, &invited, letter, now).await?);
    }
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "tender.invitations_select",
            object_kind: "tender",
            object_id: id.to_string(),
            before: Some(serde_json::json!({ "invitees": before_invitees })),
            after: Some(audit_summary(&minutes)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

fn contract_object(contract_type: &str) -> Option<domain::thresholds::ContractObject> {
    contract_type.parse().ok()
}

/// The tender if `p` may see its invited list now: always the buyers of its Province; after the offer
/// deadline also the beneficiary municipality, the commission and the invited operators. Before the deadline
/// everyone else gets 403 (art. 35 c.2 lett. b); callers who may not see the tender at all get 404.
async fn invitations_access(
    st: &AppState,
    p: Option<&Principal>,
    id: Uuid,
) -> ApiResult<tender::Model> {
    let (t, access) = access_tender(&st.db.conn, p, id).await?;
    let viewer = match access {
        Access::Manage => Viewer::Buyer,
        Access::Staff => Viewer::Public,
        Access::Public => Viewer::Bidder,
    };
    // no deadline yet: the offers are not due, the list stays secret
    let deadline = t.deadline.unwrap_or(DateTime::<Utc>::MAX_UTC);
    if !invitees_visible(viewer, st.now(), deadline) {
        return Err(AppError::Forbidden(
            "the list of invited operators is secret until the offer deadline (art. 35 c.2 lett. b D.Lgs. 36/2023)"
                .into(),
        ));
    }
    let invited_bidder = p.is_some_and(|p| {
        p.role == Role::Bidder && p.org.is_some_and(|o| machines::invitees(&t).contains(&o))
    });
    if access == Access::Public && !invited_bidder {
        return Err(AppError::Forbidden(
            "the list of invited operators is shown to the invited operators".into(),
        ));
    }
    Ok(t)
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct InvitedOperator {
    pub operator_id: Uuid,
    pub name: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct InvitationsView {
    pub tender_id: Uuid,
    pub deadline: Option<DateTime<Utc>>,
    /// `draw`, `market_survey`, or `manual` (invitees set on the tender without a selection).
    pub mode: String,
    pub minutes_id: Option<Uuid>,
    pub invited: Vec<InvitedOperator>,
}

/// The invited operators of a tender. Before the offer deadline only the buyers of the tender's Province see
/// them (art. 35 c.2 lett. b); after it also the tender's staff and the invited operators.
#[utoipa::path(get, path = "/v1/tenders/{id}/invitations", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = InvitationsView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_invitations(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<InvitationsView>> {
    let t = invitations_access(&st, p.as_ref(), id).await?;
    let minutes = register_draw::Entity::find()
        .filter(register_draw::Column::TenderId.eq(id))
        .one(&st.db.conn)
        .await?;
    let ids = machines::invitees(&t);
    let names = operator::Entity::find()
        .filter(operator::Column::Id.is_in(ids.clone()))
        .all(&st.db.conn)
        .await?;
    Ok(Json(InvitationsView {
        tender_id: t.id,
        deadline: t.deadline,
        mode: minutes
            .as_ref()
            .map(|m| m.mode.clone())
            .unwrap_or_else(|| "manual".into()),
        minutes_id: minutes.map(|m| m.id),
        invited: ids
            .into_iter()
            .map(|id| InvitedOperator {
                operator_id: id,
                name: names
                    .iter()
                    .find(|o| o.id == id)
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
            })
            .collect(),
    }))
}

/// The minutes of the selection: seed, eligible list, invited, rotation exclusions and overrides with their
/// reasons, the rules applied. Same visibility as the invited list (the seed and the eligible list reveal it).
#[utoipa::path(get, path = "/v1/tenders/{id}/invitations/draw", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = MinutesView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_minutes(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<MinutesView>> {
    let t = invitations_access(&st, p.as_ref(), id).await?;
    let deadline_passed = t.deadline.is_some_and(|d| st.now() >= d);
    let d = register_draw::Entity::find()
        .filter(register_draw::Column::TenderId.eq(id))
        .one(&st.db.conn)
        .await?
        .ok_or(AppError::NotFound("selection minutes"))?;
    let commit =
        workflow::draws::view(&st.db.conn, id, None, workflow::draws::Purpose::Invitees).await?;
    Ok(Json(minutes_view(&d, commit.as_ref(), deadline_passed)))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MailsView {
    pub tender_id: Uuid,
    /// Invitation messages in the outbox for this tender's invitees (one per invitee; never duplicated).
    pub enqueued: usize,
}

/// Enqueue the invitation mails (lettera d'invito) of the tender's invitees (SUA buyer of the tender's
/// Province), before the offer deadline. One message per invitee; repeating the call sends nothing twice.
#[utoipa::path(post, path = "/v1/tenders/{id}/invitations/mails", tag = "register", security(("bearer" = [])),
    request_body = InvitationLetter,
    responses((status = 200, body = MailsView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn send_mails(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<InvitationLetter>,
) -> ApiResult<Json<MailsView>> {
    let now = st.now();
    let scope = crate::api::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    let invited = machines::invitees(&t);
    if invited.is_empty() {
        return Err(AppError::conflict(
            "art. 50 c.1 lett. c-e",
            "the tender has no invitees yet: select them first",
        ));
    }
    if t.deadline.is_some_and(|d| now >= d) {
        return Err(AppError::conflict(
            "lex specialis",
            "the offer deadline has passed; invitations can no longer be sent",
        ));
    }
    let enqueued = enqueue_invitations(&w.txn, &st, &t, &invited, &b, now).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "tender.invitation_mails",
            object_kind: "tender",
            object_id: id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "enqueued": enqueued,
                "act_type": b.act_type,
                "act_number": b.act_number,
                "act_date": b.act_date,
            })),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(MailsView {
        tender_id: id,
        enqueued,
    }))
}
