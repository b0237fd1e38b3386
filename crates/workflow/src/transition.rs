//! The workflow's entry point: from stored rows to the pure `lifecycle` machines and back, committed.
//!
//! The service computes the facts it knows from the database (lots with a CIG, offers received, admitted
//! participations, lot states, deadlines, invitees) and takes the rest from the buyer's [`Declarations`]
//! (a motivation, the commission, the outcome of the FVOE checks...). Declarations sent with an event are
//! merged into those stored on the tender or lot, so later events see them too. A refusal becomes a 409
//! naming the legal rule; an accepted transition gives the new state and the effects to persist (timers,
//! communications, audit).

use crate::store::Scope;
use crate::store::evaluation::StoredEvaluation;
use crate::{
    access::{bids_of, lots_of},
    audit,
    error::{WResult, WorkflowError},
    store::entities::{audit_entry, bid, lot, tender, timer},
    views::{LotView, tender_view, to_json},
};
use chrono::{DateTime, Utc};
use lifecycle::{
    AwardCriterion, ContractObject, Effect, MachineEvent, ProcedureType, QualificationLevel,
    Refusal, TermReduction, TimerKind, Transition,
    lot::{Commission, FollowUp, Followers, LotEvent, LotFacts, LotState, StandstillExemption},
    participation::{Admission, ParticipationEvent, ParticipationFacts, ParticipationState},
    procedure::{ContractContext, RequirementChecks, ServiceNature},
    tender::{RotationFacts, TenderEvent, TenderFacts, TenderState},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn parse_procedure(field: &str, raw: &str) -> WResult<ProcedureType> {
    raw.parse::<ProcedureType>()
        .map_err(|e| WorkflowError::invalid(field, format!("{field}: {e}")))
}

pub fn parse_criterion(field: &str, raw: &str) -> WResult<AwardCriterion> {
    // requests use the wording "best_quality_price"; the machines call it "quality_price"
    let raw = if raw == "best_quality_price" {
        "quality_price"
    } else {
        raw
    };
    raw.parse::<AwardCriterion>()
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
    /// Refused: the SUA's qualification (art. 63) is configuration (`sua.qualification`).
    pub sua_qualification: Option<String>,
    /// none, urgency, prior_information_notice.
    pub term_reduction: Option<String>,
    /// The urgency that reduces the terms is specifically motivated in the acts (art. 71 c.3, 72 c.6).
    pub urgency_motivated: Option<bool>,
    /// When the prior information notice relied on for a reduction was sent (art. 71 c.4, 72 c.4 b).
    pub prior_information_notice_sent: Option<DateTime<Utc>>,
    pub requests_deadline: Option<DateTime<Utc>>,
    /// `extend_deadline` / `amend_documents`: the new offer deadline.
    pub new_deadline: Option<DateTime<Utc>>,
    pub significant_change: Option<bool>,
    /// Qualified operators that exist when fewer than the minimum are invited (art. 50 c.1; art. 76 c.7
    /// with a `motivation`).
    pub operators_available: Option<u32>,
    pub outgoing_contractor_involved: Option<bool>,
    /// motivated_market_structure, uncapped_market_survey, below_five_thousand.
    pub rotation_exception: Option<String>,
    /// `send_invitations` of a negotiated procedure whose invitees were written by hand: the sector of the
    /// contract (register category: `OG1`, `OS12-A` or a CPV division) on which rotation is applied (art. 49).
    pub rotation_category: Option<String>,
    /// With it, the motivated invitations of the outgoing contractor (art. 49 c.4).
    pub rotation_overrides: Option<Vec<crate::register::OverrideInput>>,
    pub commission_members: Option<u32>,
    pub rup_is_president: Option<bool>,
    pub tech_scores_frozen: Option<bool>,
    pub tie_among_best: Option<bool>,
    /// The contract has a certain cross-border interest: declared on a tender event (art. 48 c.2: the
    /// ordinary procedures below the threshold); lots read the same flag (art. 54 c.1: no automatic
    /// exclusion). Whether the rules provide automatic exclusion is not declared: it is read from the lot's
    /// evaluation rules.
    pub cross_border_interest: Option<bool>,
    pub best_offer_suspected_anomalous: Option<bool>,
    pub anomaly_term_days: Option<u32>,
    pub requirements_verified: Option<bool>,
    /// `art52_self_declaration`: a direct award below 40,000 euro awarded on the operator's
    /// self-declaration, the checks following (art. 52 c.1), instead of `requirements_verified`.
    pub requirement_checks: Option<String>,
    /// single_offer_unchallenged, framework_agreement, dynamic_purchasing_system.
    pub standstill_exemption: Option<String>,
    /// A timely challenge of the bando or invitation is pending (the single-offer exemption of art. 18 c.3
    /// lett. a) does not apply).
    pub single_offer_challenged: Option<bool>,
    /// Set by the platform when the outbox reports the last award communication sent (art. 18 c.3); a user
    /// who declares it is refused.
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
            urgency_motivated,
            prior_information_notice_sent,
            requests_deadline,
            new_deadline,
            significant_change,
            operators_available,
            outgoing_contractor_involved,
            rotation_exception,
            rotation_category,
            rotation_overrides,
            commission_members,
            rup_is_president,
            tech_scores_frozen,
            tie_among_best,
            cross_border_interest,
            best_offer_suspected_anomalous,
            anomaly_term_days,
            requirements_verified,
            requirement_checks,
            standstill_exemption,
            single_offer_challenged,
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

/// The body of `POST …/events`: the event name plus optional declarations. Unknown fields are refused (a
/// seed among them: the platform draws, nobody gives a seed).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    pub event: String,
    /// `propose_award` on a lot: the bid proposed; `accept_justification` / `reject_justification`: the
    /// bid whose explanations are judged (art. 110). Default: the first of the stored evaluation ranking.
    pub bid_id: Option<Uuid>,
    #[serde(default)]
    pub declarations: Declarations,
    /// `amend_documents` only: new evaluation rules of some lots (the rules are frozen at publication and
    /// change only through an amendment of the tender documents, a significant change that extends the offer
    /// deadline, art. 92 c.2 lett. b).
    #[serde(default)]
    pub evaluation_rules: Vec<LotRulesAmendment>,
}

/// New evaluation rules for one lot, in an `amend_documents` event.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotRulesAmendment {
    pub lot_id: Uuid,
    /// The lot's new rules, as in `PATCH /v1/tenders/{id}/lots/{lot_id}`.
    #[schema(value_type = Object)]
    pub evaluation_rules: serde_json::Value,
}

impl EventInput {
    /// An event sent by the engine itself (a timer, a bid submission...), without declarations.
    pub fn of(event: impl std::fmt::Display) -> EventInput {
        EventInput {
            event: event.to_string(),
            bid_id: None,
            declarations: Declarations::default(),
            evaluation_rules: Vec::new(),
        }
    }
}

/// An accepted transition, ready to persist: typed `from` and `to` states and the effects.
pub type Applied<S> = Transition<S>;

fn refusal(r: Refusal) -> WorkflowError {
    WorkflowError::from(r)
}

pub fn parse_event<T: std::str::FromStr>(raw: &str) -> WResult<T>
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

/// The instant whose thresholds apply (art. 14 c.7): the transmission of the call — the bando, the call for
/// requests or the invitation (`published_at`) — or, for a direct award (no call), the decisione di
/// contrarre (`decision_at`). Before that instant the procedure has not started: the thresholds in force
/// `now` apply, and the lifecycle checks them again at the transmission.
pub fn threshold_instant(t: &tender::Model, now: DateTime<Utc>) -> DateTime<Utc> {
    let started = if *t.procedure_type == ProcedureType::AffidamentoDiretto {
        t.decision_at
    } else {
        t.published_at
    };
    started.unwrap_or(now)
}

/// The contract context: value = the lots' base amounts, options and renewals (art. 14 c.4, c.9-10);
/// thresholds of the [`threshold_instant`], as a date in Italy.
fn contract(
    t: &tender::Model,
    lots: &[lot::Model],
    now: DateTime<Utc>,
) -> WResult<ContractContext> {
    let value = crate::amounts::contract_value(lots)?;
    let date = lifecycle::Rules::standard()
        .calendar
        .local_date(threshold_instant(t, now));
    Ok(ContractContext::from_euro(
        contract_object(&t.contract_type)?,
        value,
        date,
    ))
}

/// The certain cross-border interest (art. 48 c.2, art. 54 c.1): declared on the tender; a lot-level
/// declaration (the older place) still counts.
fn cross_border_interest(t: &tender::Model, lot_decl: Option<&Declarations>) -> bool {
    Declarations::from_json(&t.facts_json)
        .cross_border_interest
        .unwrap_or(false)
        || lot_decl.is_some_and(|d| d.cross_border_interest.unwrap_or(false))
}

pub fn invitees(t: &tender::Model) -> Vec<Uuid> {
    serde_json::from_str(&t.invitees_json).unwrap_or_default()
}

fn live_bids(bids: &[bid::Model], lot: Option<Uuid>) -> impl Iterator<Item = &bid::Model> {
    bids.iter()
        .filter(move |b| b.state.is_offer())
        .filter(move |b| lot.is_none_or(|l| b.lot_id == l))
}

/// Apply a tender event.
#[allow(clippy::too_many_arguments)]
pub fn apply_tender(
    t: &tender::Model,
    lots: &[lot::Model],
    bids: &[bid::Model],
    ev: TenderEvent,
    d: &Declarations,
    sua_qualification: Option<QualificationLevel>,
    rules_changed: bool,
    now: DateTime<Utc>,
) -> WResult<Applied<TenderState>> {
    let mut f = TenderFacts::new(*t.procedure_type, *t.criterion, contract(t, lots, now)?);
    f.service_nature = t.service_nature.map_or(ServiceNature::Ordinary, |n| *n);
    // the declarations of this event are merged into the tender's: `d` holds both
    f.cross_border_interest = d.cross_border_interest.unwrap_or(false);
    f.condition_motivated = d.condition_motivated.unwrap_or(false);
    f.essential_elements_present = d.essential_elements_present.unwrap_or(true);
    f.contractor_named = d.contractor_named.unwrap_or(false);
    f.sua_qualification = sua_qualification;
    f.lots_total = lots.len() as u32;
    f.lots_with_cig = lots.iter().filter(|l| l.cig.is_some()).count() as u32;
    f.term_reduction =
        parse_opt::<TermReduction>("declarations.term_reduction", &d.term_reduction)?
            .unwrap_or(TermReduction::None);
    f.urgency_motivated = d.urgency_motivated.unwrap_or(false);
    f.prior_information_notice_sent = d.prior_information_notice_sent;
    // the bando of a procedure with a request phase is transmitted when its call is published
    f.call_transmitted_at = t
        .published_at
        .filter(|_| t.procedure_type.has_request_phase());
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
    f.lot_states = lots.iter().map(|l| *l.state).collect();
    f.cross_border_interest = d.cross_border_interest.unwrap_or(false);
    f.lots_without_evaluation_rules = lots
        .iter()
        .filter(|l| crate::lex_specialis::summary(l, *t.criterion).is_none())
        .count() as u32;
    f.lots_without_automatic_exclusion = lots
        .iter()
        .filter(|l| !crate::lex_specialis::provides_automatic_exclusion(l, *t.criterion))
        .count() as u32;
    f.evaluation_rules_changed = rules_changed;
    f.motivation = d.motivation.clone();
    lifecycle::tender::apply(*t.state, &ev, &f, now).map_err(refusal)
}

/// Apply a lot event to the lot's facts (no persistence).
pub fn apply_lot(
    t: &tender::Model,
    lots: &[lot::Model],
    l: &lot::Model,
    bids: &[bid::Model],
    ev: LotEvent,
    d: &Declarations,
    now: DateTime<Utc>,
) -> WResult<Applied<LotState>> {
    let f = lot_facts(t, lots, l, bids, d, now)?;
    lifecycle::lot::apply(*l.state, &ev, &f, now).map_err(refusal)
}

/// The facts of a lot: what the database knows (offers, admissions) plus the buyer's declarations.
fn lot_facts(
    t: &tender::Model,
    lots: &[lot::Model],
    l: &lot::Model,
    bids: &[bid::Model],
    d: &Declarations,
    now: DateTime<Utc>,
) -> WResult<LotFacts> {
    let mut f = LotFacts::new(*t.procedure_type, *t.criterion, contract(t, lots, now)?);
    let mine: Vec<&bid::Model> = live_bids(bids, Some(l.id)).collect();
    let count = |pick: fn(ParticipationState) -> bool| {
        mine.iter().filter(|b| pick(*b.state)).count() as u32
    };
    f.offer_deadline = t.deadline;
    f.offers_received = mine.len() as u32;
    f.admitted = count(ParticipationState::is_admitted);
    f.excluded = count(|s| s.admission() == Admission::Excluded);
    f.pending_soccorso = count(|s| s == ParticipationState::InSoccorso);
    f.commission = d.commission_members.map(|members| Commission {
        members,
        rup_is_president: d.rup_is_president.unwrap_or(false),
    });
    f.technical_scored = mine
        .iter()
        .filter(|b| b.state == ParticipationState::Admitted && b.tech_score.is_some())
        .count() as u32;
    f.tech_scores_frozen = d.tech_scores_frozen.unwrap_or(false);
    f.ranked_remaining = count(ParticipationState::is_ranked_remaining);
    f.tie_among_best = d.tie_among_best.unwrap_or(false);
    f.auto_exclusion_method_set =
        crate::lex_specialis::provides_automatic_exclusion(l, *t.criterion);
    f.cross_border_interest = cross_border_interest(t, Some(d));
    f.best_offer_suspected_anomalous = d.best_offer_suspected_anomalous.unwrap_or(false);
    f.anomaly_term_days = d.anomaly_term_days;
    f.requirements_verified = d.requirements_verified;
    f.requirement_checks =
        parse_opt::<RequirementChecks>("declarations.requirement_checks", &d.requirement_checks)?;
    f.standstill_exemption = snake_enum::<StandstillExemption>(
        "declarations.standstill_exemption",
        &d.standstill_exemption,
    )?;
    f.single_offer_challenged = d.single_offer_challenged.unwrap_or(false);
    f.last_award_communication_at = d.last_award_communication_at;
    f.judgment_reference = d.judgment_reference.clone();
    f.motivation = d.motivation.clone();
    Ok(f)
}

/// Apply a participation (bid) event.
#[allow(clippy::too_many_arguments)]
pub fn apply_participation(
    t: &tender::Model,
    l: &lot::Model,
    state: ParticipationState,
    soccorso_due: Option<DateTime<Utc>>,
    operator: Uuid,
    ev: ParticipationEvent,
    d: &Declarations,
    now: DateTime<Utc>,
) -> WResult<Applied<ParticipationState>> {
    let deadline = t.deadline.ok_or_else(|| {
        WorkflowError::refused("lex specialis", "the tender has no offer deadline")
    })?;
    let mut f = ParticipationFacts::new(*t.procedure_type, deadline, *l.state);
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
    f.requirement_checks =
        parse_opt::<RequirementChecks>("declarations.requirement_checks", &d.requirement_checks)?;
    if f.requirement_checks.is_some() {
        let lots = [l.clone()];
        f.contract_value = Some(crate::amounts::contract_value(&lots)?.to_decimal());
    }
    lifecycle::participation::apply(state, &ev, &f, now).map_err(refusal)
}

// ---------------------------------------------------------------- committing a transition

/// Persist the timers an accepted transition set or cancelled.
pub async fn persist_effects<C: ConnectionTrait, S>(
    db: &C,
    object_kind: &str,
    object_id: Uuid,
    a: &Applied<S>,
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

/// The declarations a tender event is judged with: the tender's stored facts, then the caller's.
fn tender_declarations(t: &tender::Model, input: &EventInput) -> Declarations {
    let mut decl = Declarations::from_json(&t.facts_json);
    decl.merge(&input.declarations);
    decl
}

/// The declarations a lot event is judged with: the lot's stored facts, then the caller's. A new award's
/// communications are not sent yet: the standstill has no start until the outbox reports them sent.
fn lot_declarations(l: &lot::Model, ev: LotEvent, declared: &Declarations) -> Declarations {
    let mut decl = Declarations::from_json(&l.facts_json);
    decl.merge(declared);
    if ev == LotEvent::Award {
        decl.last_award_communication_at = None;
    }
    decl
}

/// What no user may ask of a lot: an event only the platform records, or the sending time of the award
/// communications (art. 18 c.3: the outbox reports it).
fn check_user_lot_event(ev: LotEvent, input: &EventInput) -> WResult<()> {
    if ev.recorded_by_platform() {
        return Err(WorkflowError::refused(
            "art. 18 c.3",
            format!(
                "{ev} is recorded by the platform when the outbox reports the last award communication sent"
            ),
        ));
    }
    if input.declarations.last_award_communication_at.is_some() {
        return Err(WorkflowError::invalid(
            "declarations.last_award_communication_at",
            "declarations.last_award_communication_at: the standstill runs from the sending of the last award \
             communication as the outbox reports it (art. 18 c.3); it cannot be declared",
        ));
    }
    Ok(())
}

/// Would [`run_tender_event`] accept `input` now? The same facts and machine, nothing written: what a
/// console button asks before it is enabled (the refusal names the rule).
pub fn check_tender_event(
    t: &tender::Model,
    lots: &[lot::Model],
    bids: &[bid::Model],
    input: &EventInput,
    sua_qualification: Option<QualificationLevel>,
    now: DateTime<Utc>,
) -> WResult<Applied<TenderState>> {
    let ev: TenderEvent = parse_event(&input.event)?;
    let amended = amended_rules(t, lots, ev, &input.evaluation_rules)?;
    apply_tender(
        t,
        lots,
        bids,
        ev,
        &tender_declarations(t, input),
        sua_qualification,
        !amended.is_empty(),
        now,
    )
}

/// Would [`run_lot_event`] accept `input` now? (nothing written)
pub fn check_lot_event(
    t: &tender::Model,
    lots: &[lot::Model],
    l: &lot::Model,
    bids: &[bid::Model],
    input: &EventInput,
    now: DateTime<Utc>,
) -> WResult<Applied<LotState>> {
    let ev: LotEvent = parse_event(&input.event)?;
    check_user_lot_event(ev, input)?;
    let decl = lot_declarations(l, ev, &input.declarations);
    apply_lot(t, lots, l, bids, ev, &decl, now)
}

/// Would [`run_bid_event`] accept `input` now? (nothing written)
pub fn check_bid_event(
    t: &tender::Model,
    l: &lot::Model,
    b: &bid::Model,
    input: &EventInput,
    now: DateTime<Utc>,
) -> WResult<Applied<ParticipationState>> {
    let ev: ParticipationEvent = parse_event(&input.event)?;
    apply_participation(
        t,
        l,
        *b.state,
        b.soccorso_due,
        b.operator_id,
        ev,
        &input.declarations,
        now,
    )
}

/// The events the machines list from each state (the transition tables), once each: the candidates a
/// console offers as buttons, each then asked with a `check_*` function.
pub fn tender_events_from(state: TenderState) -> Vec<TenderEvent> {
    dedup(lifecycle::tender::transitions(), state)
}

pub fn lot_events_from(state: LotState) -> Vec<LotEvent> {
    dedup(lifecycle::lot::transitions(), state)
}

pub fn bid_events_from(state: ParticipationState) -> Vec<ParticipationEvent> {
    dedup(lifecycle::participation::transitions(), state)
}

fn dedup<S: PartialEq, E: PartialEq>(table: Vec<(S, E, S)>, state: S) -> Vec<E> {
    let mut out = Vec::new();
    for (from, ev, _) in table {
        if from == state && !out.contains(&ev) {
            out.push(ev);
        }
    }
    out
}

/// Apply a tender event and persist it (shared with the scheduler). Runs inside the caller's transaction.
/// `sua_qualification` is the SUA's declared qualification (art. 63), from its configuration.
#[allow(clippy::too_many_arguments)]
pub async fn run_tender_event<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    base_url: &str,
    sua_qualification: Option<QualificationLevel>,
    t: tender::Model,
    input: &EventInput,
    now: DateTime<Utc>,
) -> WResult<Applied<TenderState>> {
    let ev: TenderEvent = parse_event(&input.event)?;
    if input.declarations.sua_qualification.is_some() {
        return Err(WorkflowError::invalid(
            "declarations.sua_qualification",
            "declarations.sua_qualification: the SUA's qualification (art. 63) is its configuration \
             (`sua.qualification`), not a declaration of one tender",
        ));
    }
    let lots = lots_of(db, t.id).await?;
    let bids = bids_of(db, t.id).await?;
    let mut decl = tender_declarations(&t, input);
    let amended = amended_rules(&t, &lots, ev, &input.evaluation_rules)?;
    let applied = apply_tender(
        &t,
        &lots,
        &bids,
        ev,
        &decl,
        sua_qualification,
        !amended.is_empty(),
        now,
    )?;
    let before = tender_view(&t, &lots, true);
    let from_state = *t.state;
    let id = t.id;
    let previous_deadline = t.deadline;
    let mail_decl = decl.clone();
    let mut am = t.into_active_model();
    am.state = Set(applied.to.into());
    if matches!(
        ev,
        TenderEvent::ExtendDeadline | TenderEvent::AmendDocuments
    ) && let Some(d) = decl.new_deadline
    {
        am.deadline = Set(Some(audit::truncate_micros(d)));
    }
    if matches!(
        ev,
        TenderEvent::Publish | TenderEvent::SendInvitations | TenderEvent::PublishCallForRequests
    ) && before.published_at.is_none()
    {
        am.published_at = Set(Some(now));
    }
    if ev == TenderEvent::AdoptDecisionToContract {
        // the start of a procedure without a call (art. 14 c.7)
        am.decision_at = Set(Some(now));
    }
    decl.new_deadline = None;
    am.facts_json = Set(decl.to_json());
    am.updated_at = Set(now);
    let t = am.update(db).await?;
    for (l, rules) in amended {
        let mut am = l.into_active_model();
        am.evaluation_rules_json = Set(Some(rules));
        am.updated_at = Set(now);
        am.update(db).await?;
    }
    let lots = lots_of(db, id).await?;
    if before.published_at.is_none() && t.published_at.is_some() {
        // the console's read models: the title's words, the year's spend
        crate::published::record(db, &t, &lots).await?;
    }
    persist_effects(db, "tender", id, &applied, now).await?;
    let entry = audit::append(
        db,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor,
            action: &format!("tender.{ev}"),
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
        event: MachineEvent::Tender(ev),
        declarations: &mail_decl,
        previous_deadline,
        standstill: None,
        chain: &entry.chain,
        seq: entry.seq,
        now,
    };
    crate::mails::enqueue_communications(db, &subject, &applied.effects).await?;
    if from_state == TenderState::Ready
        && matches!(
            ev,
            TenderEvent::Publish
                | TenderEvent::PublishCallForRequests
                | TenderEvent::SendInvitations
                | TenderEvent::StartDirectAward
        )
    {
        // the lex specialis is published: each lot's evaluation draws get their seed now, before any bid
        for l in &lots {
            crate::draws::commit(
                db,
                actor,
                now,
                id,
                Some(l.id),
                crate::draws::Purpose::Evaluation,
            )
            .await?;
        }
    }
    if ev == TenderEvent::CloseSubmissions {
        // the invitees stop being secret at the offer deadline: so does the seed that drew them
        crate::draws::reveal(db, actor, now, id, None, crate::draws::Purpose::Invitees).await?;
    }
    Ok(applied)
}

/// The lots' new evaluation rules of an `amend_documents` event, checked (the only way to change them after
/// publication, art. 54 c.2, art. 108 c.12, art. 92 c.2 lett. b).
fn amended_rules(
    t: &tender::Model,
    lots: &[lot::Model],
    ev: TenderEvent,
    changes: &[LotRulesAmendment],
) -> WResult<Vec<(lot::Model, String)>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    if ev != TenderEvent::AmendDocuments {
        return Err(WorkflowError::invalid(
            "evaluation_rules",
            "evaluation_rules: only an amend_documents event changes the rules of published lots",
        ));
    }
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let l = lots.iter().find(|l| l.id == c.lot_id).ok_or_else(|| {
                WorkflowError::invalid(
                    format!("evaluation_rules[{i}].lot_id"),
                    format!("evaluation_rules[{i}].lot_id: not a lot of this tender"),
                )
            })?;
            let (text, _) = crate::lex_specialis::parse(
                *t.criterion,
                &format!("evaluation_rules[{i}].evaluation_rules"),
                &c.evaluation_rules,
            )?;
            Ok((l.clone(), text))
        })
        .collect()
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
) -> WResult<Applied<LotState>> {
    let ev: LotEvent = parse_event(&input.event)?;
    check_user_lot_event(ev, input)?;
    apply_lot_event(
        db,
        actor,
        base_url,
        t,
        l,
        ev,
        &input.declarations,
        input.bid_id,
        now,
    )
    .await
}

/// Apply a lot event and persist it (any event, platform-recorded ones included), with the participation
/// events it implies.
#[allow(clippy::too_many_arguments)]
async fn apply_lot_event<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    base_url: &str,
    t: &tender::Model,
    l: lot::Model,
    ev: LotEvent,
    declared: &Declarations,
    bid_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> WResult<Applied<LotState>> {
    let lots = lots_of(db, t.id).await?;
    let bids = bids_of(db, t.id).await?;
    let decl = lot_declarations(&l, ev, declared);
    let mut standstill = None;
    if ev == LotEvent::Award {
        let f = lot_facts(t, &lots, &l, &bids, &decl, now)?;
        standstill = Some(
            lifecycle::lot::standstill_outlook(lifecycle::Rules::standard(), &f, now)
                .map_err(refusal)?,
        );
    }
    let applied = apply_lot(t, &lots, &l, &bids, ev, &decl, now)?;
    let before = LotView::from(&l);
    let lot_id = l.id;
    // which bids follow
    let mut awardee = l.awardee_bid_id;
    let mut followers: Vec<bid::Model> = Vec::new();
    let follow_up = ev.participation_follow_up();
    if let Some(FollowUp { on, .. }) = follow_up {
        followers = match on {
            Followers::Admitted => bids
                .iter()
                .filter(|b| b.lot_id == lot_id && Some(*b.state) == on.by_state())
                .cloned()
                .collect(),
            Followers::Chosen => {
                let chosen = bid_id.or_else(|| first_ranked(&l)).ok_or_else(|| {
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
            Followers::Awardee => bids
                .iter()
                .filter(|b| Some(b.id) == l.awardee_bid_id)
                .cloned()
                .collect(),
            Followers::Judged => vec![judged_bid(&l, &bids, bid_id)?],
        };
    }
    // the art. 110 judgement on the offer whose explanations were examined, recorded per bid
    let judgement = match ev {
        // explanations accepted: nothing follows, so without a named bid or a stored ranking there is
        // nobody to record the judgement on, and the event stands
        LotEvent::AcceptJustification if bid_id.is_none() && first_ranked(&l).is_none() => None,
        LotEvent::AcceptJustification => Some((judged_bid(&l, &bids, bid_id)?.id, false)),
        LotEvent::RejectJustification => Some((judged_bid(&l, &bids, bid_id)?.id, true)),
        _ => None,
    };
    let l_evaluation = l.evaluation_json.clone();
    let mut am = l.into_active_model();
    am.state = Set(applied.to.into());
    am.awardee_bid_id = Set(if ev.clears_awardee() { None } else { awardee });
    if let Some(at) = applied.timer(TimerKind::Standstill) {
        am.standstill_end = Set(Some(audit::truncate_micros(at)));
    } else if ev == LotEvent::Award
        || applied.effects.contains(&Effect::CancelTimer {
            kind: TimerKind::Standstill,
        })
    {
        // no standstill end until the award communications are sent (art. 18 c.3)
        am.standstill_end = Set(None);
    }
    if ev == LotEvent::ReopenRanking
        && let Some(stored) = &l_evaluation
    {
        // the next evaluation ranks the bids left against this one's threshold (art. 108 c.12)
        am.evaluation_json = Set(Some(crate::store::evaluation::mark_reopened(stored, now)));
    }
    if let Some((bid, anomalous)) = judgement
        && let Some(recorded) = crate::anomaly::record(l_evaluation.as_deref(), bid, anomalous, now)
    {
        am.evaluation_json = Set(Some(recorded));
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
            chain: Scope::Province(t.province_id),
            actor,
            action: &format!("lot.{ev}"),
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
        event: MachineEvent::Lot(ev),
        declarations: &lot_decl,
        previous_deadline: None,
        standstill,
        chain: &entry.chain,
        seq: entry.seq,
        now,
    };
    crate::mails::enqueue_communications(db, &subject, &applied.effects).await?;
    if let Some(FollowUp { event, .. }) = follow_up {
        let mut declarations = lot_decl;
        if ev == LotEvent::RejectJustification && declarations.exclusion_reason.is_none() {
            // the exclusion's reasons (art. 90 c.1 d) when the buyer states none of its own
            declarations.exclusion_reason = Some(
                "Offerta anormalmente bassa: le spiegazioni fornite non sono state accolte \
                 (art. 110, comma 5, D.Lgs. 36/2023)"
                    .into(),
            );
        }
        let follow = EventInput {
            event: event.as_str().to_owned(),
            bid_id: None,
            declarations,
            evaluation_rules: Vec::new(),
        };
        for b in followers {
            run_bid_event(db, actor, base_url, t, &l, b, &follow, now).await?;
        }
    }
    Ok(applied)
}

/// The bid whose explanations (art. 110) the lot event judges: the one named, else the best ranked.
fn judged_bid(l: &lot::Model, bids: &[bid::Model], bid_id: Option<Uuid>) -> WResult<bid::Model> {
    let id = bid_id.or_else(|| first_ranked(l)).ok_or_else(|| {
        WorkflowError::invalid(
            "bid_id",
            "bid_id: which bid's explanations are judged (no stored ranking)",
        )
    })?;
    bids.iter()
        .find(|b| b.id == id && b.lot_id == l.id)
        .cloned()
        .ok_or_else(|| WorkflowError::invalid("bid_id", "bid_id: no such bid on this lot"))
}

/// The best-ranked bid of the stored evaluation, if any.
fn first_ranked(l: &lot::Model) -> Option<Uuid> {
    StoredEvaluation::read(l.evaluation_json.as_deref()?)?.first_ranked()
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
) -> WResult<Applied<ParticipationState>> {
    let ev: ParticipationEvent = parse_event(&input.event)?;
    let applied = apply_participation(
        t,
        l,
        *b.state,
        b.soccorso_due,
        b.operator_id,
        ev,
        &input.declarations,
        now,
    )?;
    let id = b.id;
    let before_state = b.state;
    let mut am = b.into_active_model();
    am.state = Set(applied.to.into());
    if let Some(at) = applied.timer(TimerKind::Soccorso) {
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
            chain: Scope::Province(t.province_id),
            actor,
            action: &format!("bid.{ev}"),
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
        event: MachineEvent::Participation(ev),
        declarations: &input.declarations,
        previous_deadline: None,
        standstill: None,
        chain: &entry.chain,
        seq: entry.seq,
        now,
    };
    crate::mails::enqueue_communications(db, &subject, &applied.effects).await?;
    Ok(applied)
}

// ---------------------------------------------------------------- the standstill's start (art. 18 c.3)

/// Awarded lots whose award communications are not yet recorded as sent (candidates for
/// [`record_award_communications_if_sent`]), at most `limit`. Every awarded lot is read, in pages of
/// `limit` by id, so that lots already recorded (awarded for the 32 days of their standstill) never hide
/// a newer one behind the page size.
pub async fn lots_awaiting_award_communications<C: ConnectionTrait>(
    db: &C,
    limit: u64,
) -> WResult<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = lot::Entity::find()
            .filter(lot::Column::State.eq(LotState::Awarded.as_str()))
            .order_by_asc(lot::Column::Id)
            .limit(limit);
        if let Some(a) = after {
            q = q.filter(lot::Column::Id.gt(a));
        }
        let page = q.all(db).await?;
        after = page.last().map(|l| l.id);
        let full = page.len() as u64 == limit;
        out.extend(
            page.into_iter()
                .filter(|l| {
                    Declarations::from_json(&l.facts_json)
                        .last_award_communication_at
                        .is_none()
                })
                .map(|l| l.id),
        );
        if !full || out.len() as u64 >= limit {
            out.truncate(limit as usize);
            return Ok(out);
        }
    }
}

/// When the outbox reports every award communication of the lot's award sent, records it: the lot's
/// `record_award_communications` event with the sending time of the last one, which starts the standstill
/// (art. 18 c.3) and sets `standstill_end`. Returns whether it recorded. Runs in the caller's transaction;
/// a lot no longer awarded, or already recorded, is left alone.
pub async fn record_award_communications_if_sent<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    base_url: &str,
    lot_id: Uuid,
    now: DateTime<Utc>,
) -> WResult<bool> {
    let Some(l) = lot::Entity::find_by_id(lot_id).one(db).await? else {
        return Ok(false);
    };
    if l.state != LotState::Awarded
        || Declarations::from_json(&l.facts_json)
            .last_award_communication_at
            .is_some()
    {
        return Ok(false);
    }
    let Some(award) = audit::newest_first(
        audit_entry::Entity::find()
            .filter(audit_entry::Column::ObjectKind.eq("lot"))
            .filter(audit_entry::Column::ObjectId.eq(lot_id.to_string()))
            .filter(audit_entry::Column::Action.eq(format!("lot.{}", LotEvent::Award))),
    )
    .one(db)
    .await?
    else {
        return Ok(false);
    };
    let Some(sent) =
        crate::mails::award_communications_sent(db, &award.chain, award.seq, award.at).await?
    else {
        return Ok(false);
    };
    let Some(t) = tender::Entity::find_by_id(l.tender_id).one(db).await? else {
        return Ok(false);
    };
    let declared = Declarations {
        last_award_communication_at: Some(sent.min(now)),
        ..Declarations::default()
    };
    apply_lot_event(
        db,
        actor,
        base_url,
        &t,
        l,
        LotEvent::RecordAwardCommunications,
        &declared,
        None,
        now,
    )
    .await?;
    Ok(true)
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
    fn unknown_events_and_criteria_name_the_field() {
        match parse_event::<TenderEvent>("launch") {
            Err(WorkflowError::Invalid { field, .. }) => assert_eq!(field, "event"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_criterion("c", "best_quality_price").unwrap(),
            AwardCriterion::QualityPrice
        );
        assert!(parse_criterion("c", "cheapest").is_err());
        assert!(parse_procedure("p", "aperta").is_ok());
        assert!(parse_procedure("p", "open").is_err());
    }
}
