//! The scheduler: closes tenders at their deadline, fires the lifecycle timers (standstill end, soccorso
//! terms, requests deadline), starts the standstill of an award once the outbox reports its last
//! communication sent (art. 18 c.3), and enqueues the reminders owed ([`crate::reminders`]). Time comes from the
//! injected clock, so tests control it.
//!
//! Each firing runs in its own write transaction (the in-process lock plus, on PostgreSQL, the advisory
//! lock), re-reads the row and checks it is still due, so two replicas never fire the same event twice.
//! A refused transition (e.g. a standstill interrupted by a court's interim measure) is recorded on the
//! timer as its outcome, not retried. Bids are refused by the server clock at the deadline whatever the
//! scheduler has done yet (see `api::bids`).

use crate::{
    audit,
    db::entities::{bid, lot, tender, timer},
    runtime::Runtime,
};
use lifecycle::{
    MachineEvent, TimerKind,
    tender::{TenderEvent, TenderState},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::time::Duration;
use workflow::WorkflowError;
use workflow::store::Scope;
use workflow::transition::EventInput;
use workflow::transition::{run_bid_event, run_lot_event, run_tender_event};

pub const ACTOR: &str = "scheduler";

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub tenders_closed: u32,
    pub timers_fired: u32,
    pub refused: u32,
    /// Reminder mails enqueued (offer deadline and register listing expiry, see [`crate::reminders`]).
    pub reminders: u32,
    /// Awards whose communications the outbox reported sent: their standstill started (art. 18 c.3).
    pub award_communications_recorded: u32,
}

/// One scheduler pass at the clock's current time.
pub async fn tick(st: &Runtime) -> Result<Tick, WorkflowError> {
    let now = st.now();
    let mut out = Tick::default();
    // 1. open tenders past their deadline
    let due = tender::Entity::find()
        .filter(tender::Column::State.eq(TenderState::Open.as_str()))
        .filter(tender::Column::Deadline.lte(now))
        .limit(200)
        .all(&st.db.conn)
        .await?;
    for t in due {
        let w = st.db.write(Scope::Province(t.province_id)).await?;
        let Some(t) = tender::Entity::find_by_id(t.id).one(&w.txn).await? else {
            continue;
        };
        if t.state != TenderState::Open || t.deadline.is_none_or(|d| d > now) {
            continue;
        }
        match run_tender_event(
            &w.txn,
            ACTOR,
            &st.settings.http.public_base_url,
            st.settings.sua.qualification,
            t,
            &EventInput::of(TenderEvent::CloseSubmissions),
            now,
        )
        .await
        {
            Ok(_) => {
                w.commit().await?;
                out.tenders_closed += 1;
            }
            Err(WorkflowError::Refused { rule, detail }) => {
                tracing::warn!(%rule, %detail, "scheduler: close_submissions refused");
                out.refused += 1;
            }
            Err(e) => return Err(e),
        }
    }
    // 2. due timers
    let timers = timer::Entity::find()
        .filter(timer::Column::FiredAt.is_null())
        .filter(timer::Column::DueAt.lte(now))
        .order_by_asc(timer::Column::DueAt)
        .limit(200)
        .all(&st.db.conn)
        .await?;
    for tm in timers {
        // the Province of the timer's object; a timer whose object is gone only records its outcome
        let scope = match Scope::of_object(&st.db.conn, &tm.object_kind, tm.object_id).await {
            Ok(s) => s,
            Err(sea_orm::DbErr::RecordNotFound(_)) => Scope::Platform,
            Err(e) => return Err(e.into()),
        };
        let w = st.db.write(scope).await?;
        let Some(tm) = timer::Entity::find_by_id(tm.id)
            .one(&w.txn)
            .await?
            .filter(|t| t.fired_at.is_none())
        else {
            continue;
        };
        // an unknown kind is treated as a reminder, as before
        let fires = tm
            .event
            .parse::<TimerKind>()
            .ok()
            .and_then(TimerKind::fires);
        let result = match fires {
            Some(MachineEvent::Tender(ev)) => {
                match tender::Entity::find_by_id(tm.object_id).one(&w.txn).await? {
                    // the deadline pass above (or a buyer) already closed it: nothing left to do
                    Some(t)
                        if ev == TenderEvent::CloseSubmissions && t.state != TenderState::Open =>
                    {
                        Ok(format!("already {}", t.state))
                    }
                    Some(t) => run_tender_event(
                        &w.txn,
                        ACTOR,
                        &st.settings.http.public_base_url,
                        st.settings.sua.qualification,
                        t,
                        &EventInput::of(ev),
                        now,
                    )
                    .await
                    .map(|a| a.to.to_string()),
                    None => Err(WorkflowError::NotFound("tender")),
                }
            }
            Some(MachineEvent::Lot(ev)) => {
                match lot::Entity::find_by_id(tm.object_id).one(&w.txn).await? {
                    Some(l) => match tender::Entity::find_by_id(l.tender_id).one(&w.txn).await? {
                        Some(t) => run_lot_event(
                            &w.txn,
                            ACTOR,
                            &st.settings.http.public_base_url,
                            &t,
                            l,
                            &EventInput::of(ev),
                            now,
                        )
                        .await
                        .map(|a| a.to.to_string()),
                        None => Err(WorkflowError::NotFound("tender")),
                    },
                    None => Err(WorkflowError::NotFound("lot")),
                }
            }
            Some(MachineEvent::Participation(ev)) => {
                match bid::Entity::find_by_id(tm.object_id).one(&w.txn).await? {
                    Some(b) => {
                        let l = lot::Entity::find_by_id(b.lot_id).one(&w.txn).await?;
                        let t = tender::Entity::find_by_id(b.tender_id).one(&w.txn).await?;
                        match (t, l) {
                            (Some(t), Some(l)) => run_bid_event(
                                &w.txn,
                                ACTOR,
                                &st.settings.http.public_base_url,
                                &t,
                                &l,
                                b,
                                &EventInput::of(ev),
                                now,
                            )
                            .await
                            .map(|a| a.to.to_string()),
                            _ => Err(WorkflowError::NotFound("bid")),
                        }
                    }
                    None => Err(WorkflowError::NotFound("bid")),
                }
            }
            None => {
                // a reminder (art. 90 communications, stipula term...): recorded, no transition
                audit::append(
                    &w.txn,
                    now,
                    audit::Entry {
                        chain: scope,
                        actor: ACTOR,
                        action: &format!("timer.{}", tm.event),
                        object_kind: &tm.object_kind,
                        object_id: tm.object_id.to_string(),
                        before: None,
                        after: Some(serde_json::json!({"due_at": tm.due_at})),
                    },
                )
                .await?;
                Ok("reminder".to_owned())
            }
        };
        let (outcome, w) = match result {
            Ok(to) => {
                out.timers_fired += 1;
                (format!("fired: {to}"), w)
            }
            Err(e) => {
                // roll back whatever the refused event wrote, then record the outcome on its own
                drop(w);
                let outcome = match e {
                    WorkflowError::Refused { rule, detail } => {
                        out.refused += 1;
                        format!("refused: {rule}: {detail}")
                    }
                    WorkflowError::NotFound(what) => format!("dropped: {what} not found"),
                    e => return Err(e),
                };
                (outcome, st.db.write(scope).await?)
            }
        };
        let mut am = tm.into_active_model();
        am.fired_at = Set(Some(now));
        am.outcome = Set(Some(outcome));
        am.update(&w.txn).await?;
        w.commit().await?;
    }
    // 3. awards whose communications are all sent: the standstill runs from the last one (art. 18 c.3)
    for id in workflow::transition::lots_awaiting_award_communications(&st.db.conn, 200).await? {
        let w = st.db.write(Scope::of_lot(&st.db.conn, id).await?).await?;
        if workflow::transition::record_award_communications_if_sent(
            &w.txn,
            ACTOR,
            &st.settings.http.public_base_url,
            id,
            now,
        )
        .await?
        {
            w.commit().await?;
            out.award_communications_recorded += 1;
        }
    }
    // 4. reminders owed at this instant (each enqueued once, whatever the number of passes or replicas)
    out.reminders = crate::reminders::enqueue_due(st, now).await?.total();
    Ok(out)
}

/// Run [`tick`] every `interval` until `stop` turns true.
pub async fn run(st: Runtime, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                match tick(&st).await {
                    Ok(t) if t != Tick::default() => tracing::info!(?t, "scheduler pass"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "scheduler pass failed"),
                }
            }
            _ = stop.changed() => {
                if *stop.borrow() { break; }
            }
        }
    }
}
