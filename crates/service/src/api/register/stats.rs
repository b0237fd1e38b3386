//! Counters per operator (invitations, bids, awards, awarded amounts) per Province and per municipality, from
//! the service's data, aggregated by [`::register::counters::aggregate`].
//!
//! - invitations: the tenders of the Province whose invitees include the operator, dated by the selection
//!   minutes (the tender's creation when the invitees were set by hand);
//! - bids: the operator's bids on the Province's tenders (withdrawn ones left out), dated at submission;
//! - awards: see [`super::history`].

use super::{entities::register_draw, history::awards};
use crate::{
    auth::{Principal, Role},
    db::entities::{bid, operator, tender},
    error::{ApiResult, AppError, Problem},
    input as validate,
    state::AppState,
};
use ::register::{
    Buyer, OperatorId,
    counters::{Area, EventKind, OperatorEvent, aggregate},
};
use axum::{
    Json,
    extract::{Path, Query, State},
};
use chrono::NaiveDate;
use lifecycle::participation::ParticipationState;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::transition as machines;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(counters))
}

#[derive(Deserialize, IntoParams)]
pub struct PeriodQuery {
    /// First day counted (inclusive).
    pub from: Option<NaiveDate>,
    /// Last day counted (inclusive).
    pub to: Option<NaiveDate>,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct CounterRow {
    /// `province` or `municipality`.
    pub level: String,
    pub id: Uuid,
    pub invitations: u64,
    pub bids: u64,
    pub awards: u64,
    /// Euro, sum of the awarded amounts.
    pub awarded: String,
}

#[derive(Serialize, Deserialize, ToSchema, Debug)]
pub struct CountersView {
    pub operator_id: Uuid,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// The Province first, then its municipalities with any activity.
    pub rows: Vec<CounterRow>,
}

/// The counters of one operator in the caller's Province and its municipalities (SUA buyer only).
#[utoipa::path(get, path = "/v1/register/operators/{id}/counters", tag = "register", security(("bearer" = [])),
    params(PeriodQuery),
    responses((status = 200, body = CountersView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn counters(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    Query(q): Query<PeriodQuery>,
) -> ApiResult<Json<CountersView>> {
    let province = p.require(Role::SuaBuyer)?;
    let db = &st.db.conn;
    if operator::Entity::find_by_id(id).one(db).await?.is_none() {
        return Err(AppError::NotFound("operator"));
    }
    let op = OperatorId(id);
    let tenders: HashMap<Uuid, tender::Model> = tender::Entity::find()
        .filter(tender::Column::ProvinceId.eq(province))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let selected_on: HashMap<Uuid, NaiveDate> = register_draw::Entity::find()
        .select_only()
        .column(register_draw::Column::TenderId)
        .column(register_draw::Column::CreatedAt)
        .filter(register_draw::Column::ProvinceId.eq(province))
        .into_tuple::<(Uuid, chrono::DateTime<chrono::Utc>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(t, at)| (t, at.date_naive()))
        .collect();
    let buyer_of = |t: &tender::Model| Buyer {
        province,
        municipality: t.municipality_id,
    };
    let mut events = Vec::new();
    for t in tenders.values() {
        if machines::invitees(t).contains(&id) {
            events.push(OperatorEvent {
                operator: op,
                buyer: buyer_of(t),
                date: selected_on
                    .get(&t.id)
                    .copied()
                    .unwrap_or(t.created_at.date_naive()),
                kind: EventKind::Invited,
            });
        }
    }
    for b in bid::Entity::find()
        .filter(bid::Column::OperatorId.eq(id))
        .filter(
            bid::Column::State.is_in(
                ParticipationState::ALL
                    .iter()
                    .filter(|s| s.is_offer())
                    .map(|s| s.as_str()),
            ),
        )
        .all(db)
        .await?
    {
        if let Some(t) = tenders.get(&b.tender_id) {
            events.push(OperatorEvent {
                operator: op,
                buyer: buyer_of(t),
                date: b.submitted_at.date_naive(),
                kind: EventKind::Bid,
            });
        }
    }
    for a in awards(db, province, Some(id)).await? {
        events.push(OperatorEvent {
            operator: op,
            buyer: a.buyer,
            date: a.date,
            kind: EventKind::Awarded { amount: a.amount },
        });
    }
    let report = aggregate(&events, q.from, q.to)
        .map_err(|e| AppError::bad("from", format!("from: {e}")))?;
    let mut rows: Vec<CounterRow> = report
        .counters
        .iter()
        .map(|((_, area), c)| {
            let (level, id) = match area {
                Area::Province(i) => ("province", *i),
                Area::Municipality(i) => ("municipality", *i),
            };
            CounterRow {
                level: level.into(),
                id,
                invitations: c.invitations,
                bids: c.bids,
                awards: c.awards,
                awarded: validate::cents_to_string(c.awarded.cents()),
            }
        })
        .collect();
    if !rows.iter().any(|r| r.level == "province") {
        rows.insert(
            0,
            CounterRow {
                level: "province".into(),
                id: province,
                invitations: 0,
                bids: 0,
                awards: 0,
                awarded: "0.00".into(),
            },
        );
    }
    Ok(Json(CountersView {
        operator_id: id,
        from: q.from,
        to: q.to,
        rows,
    }))
}
