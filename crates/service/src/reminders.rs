//! Reminders the scheduler mails (issues 7 and 9), on the injected clock:
//!
//! - **offer deadline** (`deadline_reminder`): at each `[reminders] offer_deadline_hours` offset before an open
//!   tender's offer deadline, one mail to every operator who *started but did not submit*;
//! - **register listing expiry** (`listing_expiry_reminder`): at each `[reminders] listing_expiry_days` offset
//!   before an admitted or suspended listing's `expires_on`, one mail to the listed operator.
//!
//! *Started but did not submit.* A bid is created already submitted (`POST /v1/lots/{id}/bids` seals and
//! receipts it in one request: there is no draft), so "started" is read from the two things an operator can
//! leave on a tender without a bid in force: it **withdrew a bid** (bid state `withdrawn`), or it **asked a
//! clarification** on the tender. The rule is per lot where the data allows it:
//! - a withdrawn bid on lot L, with **no current bid** (any state but `withdrawn`) **on lot L**, owes a reminder
//!   about L, even if the operator holds a bid on another lot of the tender;
//! - a clarification is asked on the tender and names no lot: it owes a reminder about **every lot** while the
//!   operator holds no current bid on any lot of the tender; once it bids, the lots it chose are its answer,
//!   and only its withdrawals name lots it is still owed.
//!
//! An operator with a current bid on every lot it started is never reminded. Each operator gets **one mail**
//! per deadline and offset listing all the lots it is owed (`lot_number`/`lot_title`/`cig` for one, `lots` for
//! several); `started` is `withdrawn` if it withdrew a bid on one of them, else `clarification`. Invited
//! operators who did nothing are not "started": the lettera d'invito already states the deadline.
//!
//! *Which offset.* At a tick, the offset due is the smallest one whose window has opened (`now ≥ deadline −
//! offset`, and `now < deadline`): a scheduler that was down sends the most urgent reminder only, never a
//! burst of stale ones. The same for listings (`::register::reminders_due`, in days, on the UTC date).
//!
//! *Once.* Each mail has an idempotency key: `reminder:<tender>:<operator>:<deadline>:<offset>h` (the deadline
//! is part of it, so an extended deadline owes its reminders again) and
//! `listing-reminder:<listing>:<expires_on>:<days>d` (a renewed expiry owes them again). The keys are checked
//! and the mails enqueued inside one write transaction (in-process lock plus the PostgreSQL advisory lock), and
//! the outbox's unique key backs it up: any number of ticks, on any number of replicas, enqueue each once.

use crate::{
    db::entities::{bid, clarification, lot, operator, province, tender},
    runtime::Runtime,
};
use chrono::{DateTime, Duration, Utc};
use lifecycle::{participation::ParticipationState, tender::TenderState};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use uuid::Uuid;
use workflow::WResult;
use workflow::access::lots_of;
use workflow::store::Scope;
use workflow::{register::to_listing, store::entities::register_listing};

/// What one pass enqueued.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub deadline: u32,
    pub listing_expiry: u32,
}

impl Enqueued {
    pub fn total(self) -> u32 {
        self.deadline + self.listing_expiry
    }
}

/// Enqueues every reminder due at `now`; returns how many mails were enqueued by this call (those already in
/// the outbox are not counted).
pub async fn enqueue_due(st: &Runtime, now: DateTime<Utc>) -> WResult<Enqueued> {
    Ok(Enqueued {
        deadline: deadline_reminders(st, now).await?,
        listing_expiry: listing_reminders(st, now).await?,
    })
}

/// The offset (hours) whose reminder is due at `now` for `deadline`: the smallest one whose window has opened,
/// `None` at or after the deadline or before the largest window.
pub fn due_offset(deadline: DateTime<Utc>, now: DateTime<Utc>, hours: &[u32]) -> Option<u32> {
    if now >= deadline {
        return None;
    }
    hours
        .iter()
        .copied()
        .filter(|h| now >= deadline - Duration::hours(i64::from(*h)))
        .min()
}

/// The idempotency key of a deadline reminder.
pub fn deadline_key(tender: Uuid, operator: Uuid, deadline: DateTime<Utc>, hours: u32) -> String {
    format!(
        "reminder:{tender}:{operator}:{}:{hours}h",
        deadline.format("%Y%m%dT%H%M%SZ")
    )
}

/// The idempotency key of a listing-expiry reminder.
pub fn listing_key(listing: Uuid, expires_on: chrono::NaiveDate, days: u32) -> String {
    format!("listing-reminder:{listing}:{expires_on}:{days}d")
}

/// Which of `keys` are already in the outbox.
async fn existing_keys<C: ConnectionTrait>(db: &C, keys: &[String]) -> WResult<HashSet<String>> {
    use notify::entity::{Column, Entity};
    let mut out = HashSet::new();
    for chunk in keys.chunks(500) {
        let rows: Vec<String> = Entity::find()
            .select_only()
            .column(Column::IdempotencyKey)
            .filter(Column::IdempotencyKey.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

fn mailbox(o: &operator::Model) -> Option<notify::Mailbox> {
    match o.pec.parse() {
        Ok(addr) => Some(notify::Mailbox::new(Some(o.name.clone()), addr)),
        Err(_) => {
            tracing::warn!(operator = %o.id, pec = %o.pec, "stored PEC does not parse: reminder skipped");
            None
        }
    }
}

// ---------------------------------------------------------------- offer deadline

/// An operator owed a deadline reminder, and why.
struct Owed {
    operator: Uuid,
    /// `withdrawn` (it withdrew a bid on one of `lots`) or `clarification`.
    started: &'static str,
    /// The lots it is reminded of: those it started and holds no current bid on.
    lots: BTreeSet<Uuid>,
}

/// What one operator left on a tender: lots with a current bid, lots with a withdrawn bid, whether it asked.
#[derive(Default)]
struct Trace {
    current: BTreeSet<Uuid>,
    withdrawn: BTreeSet<Uuid>,
    asked: bool,
}

/// Per lot (see the module documentation): a withdrawn bid on lot L with no current bid on L owes L; a
/// clarification, which names no lot, owes every lot while the operator holds no current bid on the tender.
/// `None` when nothing is owed (in particular, a current bid on every lot it started).
fn owed_lots(t: &Trace, all_lots: &[Uuid]) -> Option<(&'static str, BTreeSet<Uuid>)> {
    let mut lots: BTreeSet<Uuid> = t.withdrawn.difference(&t.current).copied().collect();
    let started = if lots.is_empty() {
        "clarification"
    } else {
        "withdrawn"
    };
    if t.asked && t.current.is_empty() {
        lots.extend(all_lots.iter().copied());
    }
    // a tender without lots (not publishable) still owes an asker its mail, naming none
    (!lots.is_empty() || (t.asked && t.current.is_empty())).then_some((started, lots))
}

/// The operators of `t` who started but hold no current bid on some lot they started (see the module
/// documentation), with those lots.
async fn owed<C: ConnectionTrait>(db: &C, t: &tender::Model) -> WResult<Vec<Owed>> {
    let bids = bid::Entity::find()
        .filter(bid::Column::TenderId.eq(t.id))
        .all(db)
        .await?;
    let all_lots: Vec<Uuid> = lot::Entity::find()
        .select_only()
        .column(lot::Column::Id)
        .filter(lot::Column::TenderId.eq(t.id))
        .into_tuple()
        .all(db)
        .await?;
    let mut traces: BTreeMap<Uuid, Trace> = BTreeMap::new();
    for b in &bids {
        let tr = traces.entry(b.operator_id).or_default();
        if b.state == ParticipationState::Withdrawn {
            tr.withdrawn.insert(b.lot_id);
        } else {
            tr.current.insert(b.lot_id);
        }
    }
    for c in clarification::Entity::find()
        .filter(clarification::Column::TenderId.eq(t.id))
        .all(db)
        .await?
    {
        traces.entry(c.operator_id).or_default().asked = true;
    }
    Ok(traces
        .iter()
        .filter_map(|(op, tr)| {
            owed_lots(tr, &all_lots).map(|(started, lots)| Owed {
                operator: *op,
                started,
                lots,
            })
        })
        .collect())
}

fn lot_json(l: &lot::Model) -> Value {
    let mut v = json!({"number": l.number, "title": l.title});
    if let Some(c) = &l.cig {
        v["cig"] = c.to_string().into();
    }
    v
}

async fn deadline_reminders(st: &Runtime, now: DateTime<Utc>) -> WResult<u32> {
    let hours = &st.settings.reminders.offer_deadline_hours;
    let Some(widest) = hours.iter().max() else {
        return Ok(0);
    };
    let tenders = tender::Entity::find()
        .filter(tender::Column::State.eq(TenderState::Open.as_str()))
        .filter(tender::Column::Deadline.gt(now))
        .filter(tender::Column::Deadline.lte(now + Duration::hours(i64::from(*widest))))
        .order_by_asc(tender::Column::Deadline)
        .all(&st.db.conn)
        .await?;
    let mut n = 0;
    for t in tenders {
        // a cheap check outside the write lock: nothing owed, or everything already enqueued
        let Some((deadline, h)) = t
            .deadline
            .and_then(|d| Some((d, due_offset(d, now, hours)?)))
        else {
            continue;
        };
        let keys: Vec<String> = owed(&st.db.conn, &t)
            .await?
            .iter()
            .map(|o| deadline_key(t.id, o.operator, deadline, h))
            .collect();
        if keys.is_empty() || existing_keys(&st.db.conn, &keys).await?.len() == keys.len() {
            continue;
        }
        let w = st.db.write(Scope::Province(t.province_id)).await?;
        n += enqueue_for_tender(&w.txn, st, t.id, now).await?;
        w.commit().await?;
    }
    Ok(n)
}

/// Inside the write transaction: re-reads the tender and the participants and enqueues what is still owed.
async fn enqueue_for_tender<C: ConnectionTrait>(
    db: &C,
    st: &Runtime,
    tender_id: Uuid,
    now: DateTime<Utc>,
) -> WResult<u32> {
    let Some(t) = tender::Entity::find_by_id(tender_id).one(db).await? else {
        return Ok(0);
    };
    let Some(deadline) = t.deadline.filter(|_| t.state == TenderState::Open) else {
        return Ok(0);
    };
    let Some(h) = due_offset(deadline, now, &st.settings.reminders.offer_deadline_hours) else {
        return Ok(0);
    };
    let owed = owed(db, &t).await?;
    let keys: Vec<String> = owed
        .iter()
        .map(|o| deadline_key(t.id, o.operator, deadline, h))
        .collect();
    let done = existing_keys(db, &keys).await?;
    let lots = lots_of(db, t.id).await?;
    let operators = operator::Entity::find()
        .filter(operator::Column::Id.is_in(owed.iter().map(|o| o.operator).collect::<Vec<_>>()))
        .all(db)
        .await?;
    let mut n = 0;
    for (o, key) in owed.iter().zip(keys) {
        if done.contains(&key) {
            continue;
        }
        let Some(op) = operators.iter().find(|x| x.id == o.operator) else {
            continue;
        };
        let Some(to) = mailbox(op) else { continue };
        let concerned: Vec<&lot::Model> = lots.iter().filter(|l| o.lots.contains(&l.id)).collect();
        let mut ctx = json!({
            "recipient_name": op.name,
            "link": format!("{}/v1/tenders/{}", st.settings.http.public_base_url, t.id),
            "tender_title": t.title,
            "tender_ref": t.id.to_string(),
            "deadline": deadline.to_rfc3339(),
            "started": o.started,
            "offset_hours": h,
        });
        let mut lot_id = None;
        match concerned.as_slice() {
            [l] => {
                lot_id = Some(l.id);
                ctx["lot_number"] = l.number.into();
                ctx["lot_title"] = l.title.clone().into();
                if let Some(c) = &l.cig {
                    ctx["cig"] = c.to_string().into();
                }
            }
            [] => {}
            many => ctx["lots"] = many.iter().map(|l| lot_json(l)).collect::<Vec<_>>().into(),
        }
        let msg = notify::NewMessage {
            to: vec![to],
            template: notify::MailTemplate::DeadlineReminder,
            context: ctx,
            tender_id: Some(t.id),
            lot_id,
            idempotency_key: notify::IdempotencyKey::new(key)?,
            now,
        };
        notify::enqueue(db, msg).await?;
        n += 1;
    }
    Ok(n)
}

// ---------------------------------------------------------------- register listing expiry

/// The reminder due today for one listing row, if any: (days before expiry, days left).
fn listing_due(
    r: &register_listing::Model,
    today: chrono::NaiveDate,
    days: &[u32],
) -> WResult<Option<(u32, i64)>> {
    let listing = to_listing(r)?;
    Ok(
        ::register::reminders_due(std::slice::from_ref(&listing), today, days, &HashSet::new())
            .first()
            .map(|x| (x.key.days_before, x.days_left)),
    )
}

async fn due_listings<C: ConnectionTrait>(
    db: &C,
    today: chrono::NaiveDate,
    days: &[u32],
    ids: Option<&[Uuid]>,
) -> WResult<Vec<(register_listing::Model, u32, i64, String)>> {
    let widest = days.iter().copied().max().unwrap_or(0);
    let mut q = register_listing::Entity::find()
        .filter(
            register_listing::Column::Status.is_in(workflow::register::listing_status::ON_REGISTER),
        )
        .filter(register_listing::Column::ExpiresOn.gte(today))
        .filter(register_listing::Column::ExpiresOn.lte(today + Duration::days(i64::from(widest))));
    if let Some(ids) = ids {
        q = q.filter(register_listing::Column::Id.is_in(ids.to_vec()));
    }
    let mut out = Vec::new();
    for r in q
        .order_by_asc(register_listing::Column::ExpiresOn)
        .all(db)
        .await?
    {
        if let Some((d, left)) = listing_due(&r, today, days)? {
            let key = listing_key(r.id, r.expires_on, d);
            out.push((r, d, left, key));
        }
    }
    Ok(out)
}

async fn listing_reminders(st: &Runtime, now: DateTime<Utc>) -> WResult<u32> {
    let days = &st.settings.reminders.listing_expiry_days;
    if days.is_empty() {
        return Ok(0);
    }
    let today = now.date_naive();
    // outside the write lock: which are due and not yet enqueued
    let due = due_listings(&st.db.conn, today, days, None).await?;
    let keys: Vec<String> = due.iter().map(|x| x.3.clone()).collect();
    let done = existing_keys(&st.db.conn, &keys).await?;
    let todo: Vec<Uuid> = due
        .iter()
        .filter(|x| !done.contains(&x.3))
        .map(|x| x.0.id)
        .collect();
    let mut n = 0;
    for batch in todo.chunks(200) {
        let w = st.db.write(Scope::Platform).await?;
        let due = due_listings(&w.txn, today, days, Some(batch)).await?;
        let keys: Vec<String> = due.iter().map(|x| x.3.clone()).collect();
        let done = existing_keys(&w.txn, &keys).await?;
        let mut ops: Vec<Uuid> = due.iter().map(|x| x.0.operator_id).collect();
        ops.sort();
        ops.dedup();
        let operators = operator::Entity::find()
            .filter(operator::Column::Id.is_in(ops))
            .all(&w.txn)
            .await?;
        let provinces = province::Entity::find().all(&w.txn).await?;
        for (r, d, left, key) in due {
            if done.contains(&key) {
                continue;
            }
            let Some(op) = operators.iter().find(|o| o.id == r.operator_id) else {
                continue;
            };
            let Some(to) = mailbox(op) else { continue };
            let province_name = provinces
                .iter()
                .find(|p| p.id == r.province_id)
                .map_or_else(|| r.province_id.to_string(), |p| p.name.clone());
            let mut ctx = json!({
                "recipient_name": op.name,
                "link": format!("{}/v1/register/listings/{}", st.settings.http.public_base_url, r.id),
                "province_name": province_name,
                "category": r.category,
                "expires_on": r.expires_on.to_string(),
                "days_before": d,
                "days_left": left,
            });
            if let Some(c) = &r.soa_class {
                ctx["soa_class"] = c.clone().into();
            }
            let msg = notify::NewMessage {
                to: vec![to],
                template: notify::MailTemplate::ListingExpiryReminder,
                context: ctx,
                tender_id: None,
                lot_id: None,
                idempotency_key: notify::IdempotencyKey::new(key)?,
                now,
            };
            notify::enqueue(&w.txn, msg).await?;
            n += 1;
        }
        w.commit().await?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_due_offset_is_the_most_urgent_open_window_and_none_at_the_deadline() {
        let d = Utc.with_ymd_and_hms(2027, 3, 10, 11, 0, 0).unwrap();
        let hours = [48, 24];
        assert_eq!(due_offset(d, d - Duration::hours(49), &hours), None);
        assert_eq!(due_offset(d, d - Duration::hours(48), &hours), Some(48));
        assert_eq!(due_offset(d, d - Duration::hours(30), &hours), Some(48));
        assert_eq!(due_offset(d, d - Duration::hours(24), &hours), Some(24));
        assert_eq!(due_offset(d, d - Duration::seconds(1), &hours), Some(24));
        assert_eq!(due_offset(d, d, &hours), None);
        assert_eq!(due_offset(d, d + Duration::hours(1), &hours), None);
        assert_eq!(due_offset(d, d - Duration::hours(1), &[]), None);
    }

    #[test]
    fn owed_lots_are_per_lot_for_withdrawals_and_every_lot_for_an_asker_without_bids() {
        let (l1, l2, l3) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let all = [l1, l2, l3];
        let tr = |current: &[Uuid], withdrawn: &[Uuid], asked: bool| Trace {
            current: current.iter().copied().collect(),
            withdrawn: withdrawn.iter().copied().collect(),
            asked,
        };
        let set = |v: &[Uuid]| v.iter().copied().collect::<BTreeSet<_>>();
        // withdrew lot 2, bid in force on lot 1: lot 2 only
        assert_eq!(
            owed_lots(&tr(&[l1], &[l2], false), &all),
            Some(("withdrawn", set(&[l2])))
        );
        // withdrew and bid again on the same lot: nothing
        assert_eq!(owed_lots(&tr(&[l1], &[l1], false), &all), None);
        // a bid in force on every lot it started, and a question: nothing
        assert_eq!(owed_lots(&tr(&[l1, l2], &[l1, l2], true), &all), None);
        assert_eq!(owed_lots(&tr(&[l1], &[], true), &all), None);
        // a question and no bid: every lot
        assert_eq!(
            owed_lots(&tr(&[], &[], true), &all),
            Some(("clarification", set(&all)))
        );
        // a question, a withdrawal and no bid: every lot, started by the withdrawal
        assert_eq!(
            owed_lots(&tr(&[], &[l3], true), &all),
            Some(("withdrawn", set(&all)))
        );
        // a question, a bid on lot 1 and a withdrawal on lot 3: lot 3 only
        assert_eq!(
            owed_lots(&tr(&[l1], &[l3], true), &all),
            Some(("withdrawn", set(&[l3])))
        );
        // nothing started
        assert_eq!(owed_lots(&tr(&[l1], &[], false), &all), None);
    }

    #[test]
    fn keys_name_the_deadline_so_an_extension_owes_reminders_again() {
        let (t, o) = (Uuid::nil(), Uuid::max());
        let d = Utc.with_ymd_and_hms(2027, 3, 10, 11, 0, 0).unwrap();
        let k = deadline_key(t, o, d, 24);
        assert_eq!(
            k,
            format!("reminder:{t}:{o}:20270310T110000Z:24h"),
            "tender, operator, deadline, offset"
        );
        assert_ne!(k, deadline_key(t, o, d + Duration::days(7), 24));
        assert!(k.len() <= notify::IdempotencyKey::MAX_LEN);
    }
}
