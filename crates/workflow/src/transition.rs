//! The workflow's entry point: from stored rows to the pure `lifecycle` machines and back, committed.
//!
//! The service computes the facts it knows from the database (lots with a CIG, offers received, admitted
//! participations, lot states, deadlines, invitees) and takes the rest from the buyer's [`Declarations`]
//! (a motivation, the commission, the outcome of the FVOE checks...). Declarations sent with an event are
//! merged into those stored on the tender or lot, so later events see them too. A refusal becomes a 409
//! naming the legal rule; an accepted transition gives the new state and the effects to persist (timers,
//! communications, audit).

use crate::{
    access::{bids_of, lots_of},
    audit,
    error::{WResult, WorkflowError},
    store::entities::{bid, lot, tender, timer},
    views::{LotView, tender_view, to_json},
};
use chrono::{DateTime, Utc};
use lifecycle::{
    AwardCriterion, ContractObject, Effect, ProcedureType, QualificationLevel, Refusal,
    TermReduction, Transition,
    lot::{Commission, LotEvent, LotFacts, LotState, StandstillExemption},
    participation::{ParticipationEvent, ParticipationFacts, ParticipationState},
    procedure::ContractContext,
    tender::{RotationFacts, TenderEvent, TenderFacts, TenderState},
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub const TENDER_INITIAL: &str = "draft";
pub const LOT_INITIAL: &str = "pending";
pub const PARTICIPATION_INITIAL: &str = "invited";

pub fn parse_procedure(field: &str, raw: &str) -> WResult<String> {
    raw.parse::<ProcedureType>()
        .map(|p| p.as_str().to_owned())
        .map_err(|e| WorkflowError::invalid(field, format!("{field}: {e}")))
}

pub fn parse_criterion(field: &str, raw: &str) -> WResult<String> {
    // requests use the wording "best_quality_price"; the machines call it "quality_price"
    let raw = if raw == "best_quality_price" {
        "quality_price"
    } else {
        raw
    };
    raw.parse::<AwardCriterion>()
        .map(|c| c.as_str().to_owned())
        .map_err(|e| WorkflowError::invalid(field, format!("{field}: {e}")))
}

/// Facts declared by the buyer (all optional). Sent inside an event body; merged into the stored ones.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    /// Motivation of a revocation/annulment, or of an art. 70/75/76 condition.
    pub motivation: Option<String>,
    pub condition_motivated: Option<bool>,
    pub essential_elements_present: Option<bool>,
    /// Direct award: the decisione di contrarre names the contractor (art. 17 c.2).
    pub contractor_named: Option<bool>,
    /// none, base, intermediate, advanced (art. 63). Default: advanced.
    pub sua_qualification: Option<String>,
    /// none, urgency, prior_information_notice.
    pub term_reduction: Option<String>,
    pub requests_deadline: Option<DateTime<Utc>>,
    /// `extend_deadline` / `amend_documents`: the new offer deadline.
    pub new_deadline: Option<DateTime<Utc>>,
    pub significant_change: Option<bool>,
    pub operators_available: Option<u32>,
    pub outgoing_contractor_involved: Option<bool>,
    /// motivated_market_structure, uncapped_market_survey, below_five_thousand.
    pub rotation_exception: Option<String>,
    pub commission_members: Option<u32>,
    pub rup_is_president: Option<bool>,
    pub tech_scores_frozen: Option<bool>,
    pub tie_among_best: Option<bool>,
    pub auto_exclusion_method_set: Option<bool>,
    pub cross_border_interest: Option<bool>,
    pub best_offer_suspected_anomalous: Option<bool>,
    pub anomaly_term_days: Option<u32>,
    pub requirements_verified: Option<bool>,
    /// single_offer_unchallenged, framework_agreement, dynamic_purchasing_system.
    pub standstill_exemption: Option<String>,
    pub last_award_communication_at: Option<DateTime<Utc>>,
    pub judgment_reference: Option<String>,
    /// Participation events: soccorso term in days (art. 101: 5-10).
    pub soccorso_days: Option<u32>,
    pub soccorso_document_in_fvoe: Option<bool>,
    pub soccorso_on_offer_content: Option<bool>,
    pub identity_uncertain: Option<bool>,
    pub exclusion_reason: Option<String>,
}

macro_rules! merge_fields {
    ($dst:ident, $src:ident, $($f:ident),*) => { $( if $src.$f.is_some() { $dst.$f = $src.$f.clone(); } )* };
}

impl Declarations {
    pub fn from_json(s: &str) -> Declarations {
        serde_json::from_str(s).unwrap_or_default()
    }
    pub fn merge(&mut self, o: &Declarations) {
        merge_fields!(
            self,
            o,
            motivation,
            condition_motivated,
            essential_elements_present,
            contractor_named,
            sua_qualification,
            term_reduction,
            requests_deadline,
            new_deadline,
            significant_change,
            operators_available,
            outgoing_contractor_involved,
            rotation_exception,
            commission_members,
            rup_is_president,
            tech_scores_frozen,
            tie_among_best,
            auto_exclusion_method_set,
            cross_border_interest,
            best_offer_suspected_anomalous,
            anomaly_term_days,
            requirements_verified,
            standstill_exemption,
            last_award_communication_at,
            judgment_reference,
            soccorso_days,
            soccorso_document_in_fvoe,
            soccorso_on_offer_content,
            identity_uncertain,
            exclusion_reason
        );
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// The body of `POST …/events`: the event name plus optional declarations.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct EventInput {
    pub event: String,
    /// `propose_award` on a lot: the bid proposed (default: the first of the stored evaluation ranking).
    pub bid_id: Option<Uuid>,
    #[serde(default)]
    pub declarations: Declarations,
}

/// An accepted transition, ready to persist.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub from: String,
    pub to: String,
    pub effects: Vec<Effect>,
}

impl Applied {
    fn from_transition<S: Copy>(t: Transition<S>, name: fn(S) -> &'static str) -> Applied {
        Applied {
            from: name(t.from).to_owned(),
            to: name(t.to).to_owned(),
            effects: t.effects,
        }
    }
}

fn refusal(r: Refusal) -> WorkflowError {
    WorkflowError::from(r)
}

fn parse_state<T: std::str::FromStr>(what: &str, s: &str) -> WResult<T> {
    s.parse::<T>().map_err(|_| {
        WorkflowError::Internal(anyhow::anyhow!(
            "stored {what} state {s:?} is not a known state"
        ))
    })
}

fn parse_event<T: std::str::FromStr>(raw: &str) -> WResult<T>
where
    T::Err: std::fmt::Display,
{
    raw.parse::<T>()
        .map_err(|e| WorkflowError::invalid("event", format!("event: {e}")))
}

fn parse_opt<T: std::str::FromStr>(field: &str, v: &Option<String>) -> WResult<Option<T>>
where
    T::Err: std::fmt::Display,
{
    v.as_deref()
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| WorkflowError::invalid(field, format!("{field}: {e}")))
        })
        .transpose()
}

fn snake_enum<T: serde::de::DeserializeOwned>(
    field: &str,
    v: &Option<String>,
) -> WResult<Option<T>> {
    v.as_deref()
        .map(|s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned()))
                .map_err(|_| WorkflowError::invalid(field, format!("{field}: unknown value {s:?}")))
        })
        .transpose()
}

fn contract_object(contract_type: &str) -> WResult<ContractObject> {
    Ok(match contract_type {
        "works" => ContractObject::Works,
        "services" => ContractObject::Services,
        "supplies" => ContractObject::Supplies,
        other => {
            return Err(WorkflowError::Internal(anyhow::anyhow!(
                "stored contract type {other:?} unknown"
            )));
        }
    })
}

/// The contract context: value = sum of the lots' base amounts; thresholds dated at the tender's creation
/// (the start of the procedure as the engine knows it; the decisione di contrarre date is not stored yet).
fn contract(t: &tender::Model, lots: &[lot::Model]) -> WResult<ContractContext> {
    let cents: i64 = lots.iter().map(|l| l.base_amount_cents).sum();
    Ok(ContractContext::new(
        contract_object(&t.contract_type)?,
        Decimal::new(cents, 2),
        t.created_at.date_naive(),
    ))
}

pub fn invitees(t: &tender::Model) -> Vec<Uuid> {
    serde_json::from_str(&t.invitees_json).unwrap_or_default()
}

fn live_bids(bids: &[bid::Model], lot: Option<Uuid>) -> impl Iterator<Item = &bid::Model> {
    bids.iter()
        .filter(move |b| b.state != "withdrawn" && b.state != PARTICIPATION_INITIAL)
        .filter(move |b| lot.is_none_or(|l| b.lot_id == l))
}

/// Apply a tender event.
pub fn apply_tender(
    t: &tender::Model,
    lots: &[lot::Model],
    bids: &[bid::Model],
    event: &str,
    d: &Declarations,
    now: DateTime<Utc>,
) -> WResult<Applied> {
    let state: TenderState = parse_state("tender", &t.state)?;
    let ev: TenderEvent = parse_event(event)?;
    let mut f = TenderFacts::new(
        parse_state("procedure", &t.procedure_type)?,
        parse_state("criterion", &t.criterion)?,
        contract(t, lots)?,
    );
    f.condition_motivated = d.condition_motivated.unwrap_or(false);
    f.essential_elements_present = d.essential_elements_present.unwrap_or(true);
    f.contractor_named = d.contractor_named.unwrap_or(false);
    f.sua_qualification =
        parse_opt::<QualificationLevel>("declarations.sua_qualification", &d.sua_qualification)?
            .unwrap_or(QualificationLevel::Advanced);
    f.lots_total = lots.len() as u32;
    f.lots_with_cig = lots.iter().filter(|l| l.cig.is_some()).count() as u32;
    f.term_reduction =
        parse_opt::<TermReduction>("declarations.term_reduction", &d.term_reduction)?
            .unwrap_or(TermReduction::None);
    f.requests_deadline = d.requests_deadline;
    f.offer_deadline = t.deadline;
    f.new_deadline = d.new_deadline;
    f.significant_change = d.significant_change.unwrap_or(false);
    f.invitees = invitees(t).len() as u32;
    f.operators_available = d.operators_available;
    f.rotation = RotationFacts {
        outgoing_contractor_involved: d.outgoing_contractor_involved.unwrap_or(false),
        exception: snake_enum("declarations.rotation_exception", &d.rotation_exception)?,
    };
    f.offers_received = live_bids(bids, None).count() as u32;
    f.lot_states = lots
        .iter()
        .map(|l| parse_state::<LotState>("lot", &l.state))
        .collect::<WResult<_>>()?;
    f.motivation = d.motivation.clone();
    lifecycle::tender::apply(state, &ev, &f, now)
        .map(|tr| Applied::from_transition(tr, TenderState::as_str))
        .map_err(refusal)
}

/// Apply a lot event.
pub fn apply_lot(
    t: &tender::Model,
    lots: &[lot::Model],
    l: &lot::Model,
    bids: &[bid::Model],
    event: &str,
    d: &Declarations,
    now: DateTime<Utc>,
) -> WResult<Applied> {
    let state: LotState = parse_state("lot", &l.state)?;
    let ev: LotEvent = parse_event(event)?;
    let mut f = LotFacts::new(
        parse_state("procedure", &t.procedure_type)?,
        parse_state("criterion", &t.criterion)?,
        contract(t, lots)?,
    );
    let mine: Vec<&bid::Model> = live_bids(bids, Some(l.id)).collect();
    let count = |states: &[&str]| {
        mine.iter()
            .filter(|b| states.contains(&b.state.as_str()))
            .count() as u32
    };
    f.offer_deadline = t.deadline;
    f.offers_received = mine.len() as u32;
    f.admitted = count(&[
        "admitted",
        "ranked",
        "proposed_awardee",
        "verified",
        "awardee",
        "contracted",
    ]);
    f.excluded = count(&["excluded"]);
    f.pending_soccorso = count(&["in_soccorso"]);
    f.commission = d.commission_members.map(|members| Commission {
        members,
        rup_is_president: d.rup_is_president.unwrap_or(false),
    });
    f.technical_scored = mine
        .iter()
        .filter(|b| b.state == "admitted" && b.tech_score.is_some())
        .count() as u32;
    f.tech_scores_frozen = d.tech_scores_frozen.unwrap_or(false);
    f.ranked_remaining = count(&["ranked", "proposed_awardee", "verified", "awardee"]);
    f.tie_among_best = d.tie_among_best.unwrap_or(false);
    f.auto_exclusion_method_set = d.auto_exclusion_method_set.unwrap_or(false);
    f.cross_border_interest = d.cross_border_interest.unwrap_or(false);
    f.best_offer_suspected_anomalous = d.best_offer_suspected_anomalous.unwrap_or(false);
    f.anomaly_term_days = d.anomaly_term_days;
    f.requirements_verified = d.requirements_verified;
    f.standstill_exemption = snake_enum::<StandstillExemption>(
        "declarations.standstill_exemption",
        &d.standstill_exemption,
    )?;
    f.last_award_communication_at = d.last_award_communication_at;
    f.judgment_reference = d.judgment_reference.clone();
    f.motivation = d.motivation.clone();
    lifecycle::lot::apply(state, &ev, &f, now)
        .map(|tr| Applied::from_transition(tr, LotState::as_str))
        .map_err(refusal)
}

/// Apply a participation (bid) event.
#[allow(clippy::too_many_arguments)]
pub fn apply_participation(
    t: &tender::Model,
    l: &lot::Model,
    state: &str,
    soccorso_due: Option<DateTime<Utc>>,
    operator: Uuid,
    event: &str,
    d: &Declarations,
    now: DateTime<Utc>,
) -> WResult<Applied> {
    let state: ParticipationState = parse_state("participation", state)?;
    let ev: ParticipationEvent = parse_event(event)?;
    let deadline = t.deadline.ok_or_else(|| {
        WorkflowError::refused("lex specialis", "the tender has no offer deadline")
    })?;
    let mut f = ParticipationFacts::new(
        parse_state("procedure", &t.procedure_type)?,
        deadline,
        parse_state("lot", &l.state)?,
    );
    if !f.invited {
        f.invited = invitees(t).contains(&operator);
    }
    f.soccorso_days = d.soccorso_days;
    f.soccorso_document_in_fvoe = d.soccorso_document_in_fvoe.unwrap_or(false);
    f.soccorso_on_offer_content = d.soccorso_on_offer_content.unwrap_or(false);
    f.identity_uncertain = d.identity_uncertain.unwrap_or(false);
    f.soccorso_due = soccorso_due;
    f.exclusion_reason = d.exclusion_reason.clone();
    f.requirements_verified = d.requirements_verified;
    lifecycle::participation::apply(state, &ev, &f, now)
        .map(|tr| Applied::from_transition(tr, ParticipationState::as_str))
        .map_err(refusal)
}

/// Bids may be submitted, replaced or withdrawn only while the tender is open.
pub fn accepts_bids(tender_state: &str) -> bool {
    tender_state == TenderState::Open.as_str()
}

/// States in which a tender is public (published or past publication).
pub fn is_public(tender_state: &str) -> bool {
    !matches!(tender_state, "draft" | "approved" | "ready")
}

/// Tender fields (title, procedure, criterion, lots) may be edited only before publication.
pub fn editable(tender_state: &str) -> bool {
    matches!(tender_state, "draft" | "approved" | "ready")
}

/// Which envelopes of the bids on a lot are open, by the lot state (administrative, technical, economic).
/// The sealed-order invariant: administrative from `admin_review`, technical from `tech_eval`, economic
/// from `ranked` (after `open_economic_offers`). Before that nobody but the bidder reads a bid.
pub fn envelopes(lot_state: &str) -> (bool, bool, bool) {
    match lot_state {
        "pending" | "deserted" => (false, false, false),
        "admin_review" => (true, false, false),
        "tech_eval" | "econ_eval" => (true, true, false),
        "revoked" | "annulled" | "not_awarded" => (true, false, false),
        _ => (true, true, true),
    }
}

/// What the scheduler fires when a timer of `kind` is due: (level, event). `None`: a reminder only.
pub fn timer_event(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "offer_deadline" => Some(("tender", "close_submissions")),
        "requests_deadline" => Some(("tender", "close_requests")),
        "soccorso" => Some(("bid", "soccorso_expired")),
        "standstill" => Some(("lot", "standstill_elapsed")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_merge_keeps_earlier_values_and_takes_new_ones() {
        let mut a = Declarations {
            commission_members: Some(3),
            motivation: Some("x".into()),
            ..Default::default()
        };
        let b = Declarations {
            motivation: Some("y".into()),
            requirements_verified: Some(true),
            ..Default::default()
        };
        a.merge(&b);
        assert_eq!(a.commission_members, Some(3));
        assert_eq!(a.motivation.as_deref(), Some("y"));
        assert_eq!(a.requirements_verified, Some(true));
        assert_eq!(
            Declarations::from_json(&a.to_json()).commission_members,
            Some(3)
        );
    }

    #[test]
    fn envelopes_open_in_order() {
        assert_eq!(envelopes("pending"), (false, false, false));
        assert_eq!(envelopes("admin_review"), (true, false, false));
        assert_eq!(envelopes("tech_eval"), (true, true, false));
        assert_eq!(envelopes("ranked"), (true, true, true));
    }

    #[test]
    fn unknown_events_and_criteria_name_the_field() {
        match parse_event::<TenderEvent>("launch") {
            Err(WorkflowError::Invalid { field, .. }) => assert_eq!(field, "event"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_criterion("c", "best_quality_price").unwrap(),
            "quality_price"
        );
        assert!(parse_criterion("c", "cheapest").is_err());
        assert!(parse_procedure("p", "aperta").is_ok());
        assert!(parse_procedure("p", "open").is_err());
    }
}

// ---------------------------------------------------------------- committing a transition

/// Persist the timers an accepted transition set or cancelled.
pub async fn persist_effects<C: ConnectionTrait>(
    db: &C,
    object_kind: &str,
    object_id: Uuid,
    a: &Applied,
    now: DateTime<Utc>,
) -> WResult<()> {
    for e in &a.effects {
        let kind = match e {
            Effect::SetTimer { kind, .. } | Effect::CancelTimer { kind } => *kind,
            _ => continue,
        };
        // a timer set again replaces the pending one; a cancelled timer never fires
        let pending = timer::Entity::find()
            .filter(timer::Column::ObjectId.eq(object_id))
            .filter(timer::Column::Event.eq(kind.as_str()))
            .filter(timer::Column::FiredAt.is_null())
            .all(db)
            .await?;
        for p in pending {
            let mut am = p.into_active_model();
            am.fired_at = Set(Some(now));
            am.outcome = Set(Some("cancelled".into()));
            am.update(db).await?;
        }
        if let Effect::SetTimer { at, .. } = e {
            timer::ActiveModel {
                id: Set(Uuid::now_v7()),
                object_kind: Set(object_kind.to_owned()),
                object_id: Set(object_id),
                event: Set(kind.as_str().to_owned()),
                due_at: Set(audit::truncate_micros(*at)),
                fired_at: Set(None),
                outcome: Set(None),
                created_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Apply a tender event and persist it (shared with the scheduler). Runs inside the caller's transaction.
pub async fn run_tender_event<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    base_url: &str,
    t: tender::Model,
    input: &EventInput,
    now: DateTime<Utc>,
) -> WResult<Applied> {
    let lots = lots_of(db, t.id).await?;
    let bids = bids_of(db, t.id).await?;
    let mut decl = Declarations::from_json(&t.facts_json);
    decl.merge(&input.declarations);
    let applied = apply_tender(&t, &lots, &bids, &input.event, &decl, now)?;
    let before = tender_view(&t, &lots, true);
    let id = t.id;
    let previous_deadline = t.deadline;
    let mail_decl = decl.clone();
    let mut am = t.into_active_model();
    am.state = Set(applied.to.clone());
    if matches!(input.event.as_str(), "extend_deadline" | "amend_documents")
        && let Some(d) = decl.new_deadline
    {
        am.deadline = Set(Some(audit::truncate_micros(d)));
    }
    if matches!(
        input.event.as_str(),
        "publish" | "send_invitations" | "publish_call_for_requests"
    ) && before.published_at.is_none()
    {
        am.published_at = Set(Some(now));
    }
    decl.new_deadline = None;
    am.facts_json = Set(decl.to_json());
    am.updated_at = Set(now);
    let t = am.update(db).await?;
    persist_effects(db, "tender", id, &applied, now).await?;
    let entry = audit::append(
        db,
        now,
        audit::Entry {
            actor,
            action: &format!("tender.{}", input.event),
            object_kind: "tender",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(serde_json::json!({
                "tender": tender_view(&t, &lots, true),
                "effects": applied.effects,
            })),
        },
    )
    .await?;
    let subject = crate::mails::Subject {
        base_url,
        tender: &t,
        lot: None,
        bid: None,
        event: &input.event,
        declarations: &mail_decl,
        previous_deadline,
        seq: entry.seq,
        now,
    };
    crate::mails::enqueue_communications(db, &subject, &applied.effects).await?;
    Ok(applied)
}

/// Participation events a lot event drives: (participation event, on which bids).
fn participation_follow_up(lot_event: &str) -> Option<(&'static str, Follow)> {
    Some(match lot_event {
        "open_economic_offers" => ("rank", Follow::Admitted),
        "propose_award" => ("propose", Follow::Chosen),
        "verify_requirements" => ("verification_passed", Follow::Awardee),
        "verification_failed" => ("verification_failed", Follow::Awardee),
        "award" => ("award", Follow::Awardee),
        "sign_contract" => ("sign_contract", Follow::Awardee),
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Follow {
    Admitted,
    Chosen,
    Awardee,
}

/// Apply a lot event and persist it, with the participation events it implies.
pub async fn run_lot_event<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    base_url: &str,
    t: &tender::Model,
    l: lot::Model,
    input: &EventInput,
    now: DateTime<Utc>,
) -> WResult<Applied> {
    let lots = lots_of(db, t.id).await?;
    let bids = bids_of(db, t.id).await?;
    let mut decl = Declarations::from_json(&l.facts_json);
    decl.merge(&input.declarations);
    if input.event == "award" && input.declarations.last_award_communication_at.is_none() {
        // the award mails are enqueued in this transaction: their time is the default (art. 18 c.3)
        decl.last_award_communication_at = Some(now);
    }
    let mut applied = apply_lot(t, &lots, &l, &bids, &input.event, &decl, now)?;
    if input.event == "award" {
        // record the award communications at once: standstill timer and `standstill_end`
        let mut awarded = l.clone();
        awarded.state = applied.to.clone();
        let recorded = apply_lot(
            t,
            &lots,
            &awarded,
            &bids,
            "record_award_communications",
            &decl,
            now,
        )?;
        let at = applied
            .effects
            .iter()
            .position(|e| matches!(e, Effect::Audit { .. }))
            .unwrap_or(applied.effects.len());
        let extra: Vec<Effect> = recorded
            .effects
            .into_iter()
            .filter(|e| matches!(e, Effect::SetTimer { .. } | Effect::CancelTimer { .. }))
            .collect();
        applied.effects.splice(at..at, extra);
    }
    let before = LotView::from(&l);
    let lot_id = l.id;
    // which bids follow
    let mut awardee = l.awardee_bid_id;
    let mut followers: Vec<bid::Model> = Vec::new();
    if let Some((_, who)) = participation_follow_up(&input.event) {
        followers = match who {
            Follow::Admitted => bids
                .iter()
                .filter(|b| b.lot_id == lot_id && b.state == "admitted")
                .cloned()
                .collect(),
            Follow::Chosen => {
                let chosen = input.bid_id.or_else(|| first_ranked(&l)).ok_or_else(|| {
                    WorkflowError::invalid(
                        "bid_id",
                        "bid_id: which bid is proposed (no stored ranking)",
                    )
                })?;
                let b = bids
                    .iter()
                    .find(|b| b.id == chosen && b.lot_id == lot_id)
                    .ok_or_else(|| {
                        WorkflowError::invalid("bid_id", "bid_id: no such bid on this lot")
                    })?;
                awardee = Some(b.id);
                vec![b.clone()]
            }
            Follow::Awardee => bids
                .iter()
                .filter(|b| Some(b.id) == l.awardee_bid_id)
                .cloned()
                .collect(),
        };
    }
    let mut am = l.into_active_model();
    am.state = Set(applied.to.clone());
    am.awardee_bid_id = Set(if input.event == "verification_failed" {
        None
    } else {
        awardee
    });
    if let Some(at) = applied.effects.iter().find_map(|e| match e {
        Effect::SetTimer { kind, at, .. } if kind.as_str() == "standstill" => Some(*at),
        _ => None,
    }) {
        am.standstill_end = Set(Some(audit::truncate_micros(at)));
    }
    am.facts_json = Set(decl.to_json());
    am.updated_at = Set(now);
    let l = am.update(db).await?;
    let lot_decl = decl;
    persist_effects(db, "lot", lot_id, &applied, now).await?;
    let entry = audit::append(
        db,
        now,
        audit::Entry {
            actor,
            action: &format!("lot.{}", input.event),
            object_kind: "lot",
            object_id: lot_id.to_string(),
            before: Some(to_json(&before)),
            after: Some(serde_json::json!({"lot": LotView::from(&l), "effects": applied.effects})),
        },
    )
    .await?;
    let subject = crate::mails::Subject {
        base_url,
        tender: t,
        lot: Some(&l),
        bid: None,
        event: &input.event,
        declarations: &lot_decl,
        previous_deadline: None,
        seq: entry.seq,
        now,
    };
    crate::mails::enqueue_communications(db, &subject, &applied.effects).await?;
    if let Some((pev, _)) = participation_follow_up(&input.event) {
        let follow = EventInput {
            event: pev.to_owned(),
            bid_id: None,
            declarations: lot_decl,
        };
        for b in followers {
            run_bid_event(db, actor, base_url, t, &l, b, &follow, now).await?;
        }
    }
    Ok(applied)
}

/// The best-ranked bid of the stored evaluation, if any.
fn first_ranked(l: &lot::Model) -> Option<Uuid> {
    let v: serde_json::Value = serde_json::from_str(l.evaluation_json.as_deref()?).ok()?;
    let r = &v["result"];
    let candidates = [
        r["winner"].as_str(),
        r["awardee"].as_str(),
        r["ranking"][0]["id"].as_str(),
        r["ranking"][0].as_str(),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|s| s.parse().ok())
}

/// Apply a participation event to a bid and persist it (and enqueue the mails it owes).
#[allow(clippy::too_many_arguments)]
pub async fn run_bid_event<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    base_url: &str,
    t: &tender::Model,
    l: &lot::Model,
    b: bid::Model,
    input: &EventInput,
    now: DateTime<Utc>,
) -> WResult<Applied> {
    let applied = apply_participation(
        t,
        l,
        &b.state,
        b.soccorso_due,
        b.operator_id,
        &input.event,
        &input.declarations,
        now,
    )?;
    let id = b.id;
    let before_state = b.state.clone();
    let mut am = b.into_active_model();
    am.state = Set(applied.to.clone());
    if let Some(at) = applied.effects.iter().find_map(|e| match e {
        Effect::SetTimer { kind, at, .. } if kind.as_str() == "soccorso" => Some(*at),
        _ => None,
    }) {
        am.soccorso_due = Set(Some(audit::truncate_micros(at)));
    }
    if let Some(r) = &input.declarations.exclusion_reason {
        am.exclusion_reason = Set(Some(r.clone()));
    }
    am.updated_at = Set(now);
    let b = am.update(db).await?;
    persist_effects(db, "bid", id, &applied, now).await?;
    let entry = audit::append(
        db,
        now,
        audit::Entry {
            actor,
            action: &format!("bid.{}", input.event),
            object_kind: "bid",
            object_id: id.to_string(),
            before: Some(serde_json::json!({"state": before_state})),
            after: Some(serde_json::json!({"state": applied.to, "effects": applied.effects})),
        },
    )
    .await?;
    let subject = crate::mails::Subject {
        base_url,
        tender: t,
        lot: Some(l),
        bid: Some(&b),
        event: &input.event,
        declarations: &input.declarations,
        previous_deadline: None,
        seq: entry.seq,
        now,
    };
    crate::mails::enqueue_communications(db, &subject, &applied.effects).await?;
    Ok(applied)
}
