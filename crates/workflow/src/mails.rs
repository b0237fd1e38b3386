//! Lifecycle communications → outbox mails.
//!
//! Every accepted transition returns `Effect::Communicate { to, kind, .. }`; [`enqueue_communications`]
//! resolves each addressee to PEC recipients and enqueues one `notify` message per recipient, in the
//! caller's transaction (the same one as the state change). The idempotency key is
//! `lc:<audit seq>:<kind>:<operator id>`, so a retried transaction never mails twice.
//!
//! The municipality (`comune` addressee) is the Comune the tender is run for (`tender.municipality_id`, else
//! the municipality of the tender's request); its mails go to `municipality.pec`, one per communication,
//! key `lc:<audit seq>:<kind>:comune:<municipality id>`. Publication → `tender_published`; revocation and
//! annulment → `revocation`; the contract date → `contract_signed`; every other step it is kept informed
//! of (CIG acquired, invitations sent, submissions closed, admissions and exclusions, commission, award
//! proposal, verification outcome, award with the standstill end, suspension, decision not to award) →
//! `municipality_update` with `event` = the kind and a `details` sentence. Not mailed: `request_accepted`
//! at the decisione di contrarre (the request's acceptance was already mailed by the request handler,
//! `api::requests`). A municipality without a PEC (or with one that does not parse) gets no mail: the
//! transition still commits and the skip is logged with a warning.
//!
//! Not mailed here: `public` and `bdncp` addressees (publication/ANAC are other channels), the invitations
//! to operators, clarifications and receipts (enqueued by their own handlers).
//!
//! The act (`act_type`, `act_number`, `act_date`) named in the mails is the platform's record of the
//! transition: its kind, the audit sequence number and the date of the transition. The formal act number
//! (determina) is not yet an input of the events.

use crate::{
    error::WResult,
    store::entities::{bid, lot, municipality, operator, procurement_request, tender},
    transition::Declarations,
};
use chrono::{DateTime, Utc};
use lifecycle::lot::StandstillOutlook;
use lifecycle::{
    Addressee, CommunicationKind, Effect, MachineEvent, TimerKind,
    lot::LotEvent,
    participation::{ParticipationEvent, ParticipationState},
    tender::TenderEvent,
};
use notify::MailTemplate;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// What the transition was applied to, and when.
pub struct Subject<'a> {
    /// `http.public_base_url`.
    pub base_url: &'a str,
    pub tender: &'a tender::Model,
    /// The lot of a lot or participation event.
    pub lot: Option<&'a lot::Model>,
    /// The bid of a participation event.
    pub bid: Option<&'a bid::Model>,
    /// The event (e.g. the lot's `award`).
    pub event: MachineEvent,
    pub declarations: &'a Declarations,
    /// The offer deadline before the transition (for `deadline_extended`).
    pub previous_deadline: Option<DateTime<Utc>>,
    /// An award: what its communications say of the standstill (art. 90 c.2).
    pub standstill: Option<lifecycle::lot::StandstillOutlook>,
    /// The audit chain of the transition's entry (its Province's id).
    pub chain: &'a str,
    /// Audit sequence number of the transition in its chain (idempotency key and act number).
    pub seq: i64,
    pub now: DateTime<Utc>,
}

/// Which template a communication to an operator uses (`None`: not mailed by this module).
fn template_for(kind: CommunicationKind) -> Option<MailTemplate> {
    use CommunicationKind as K;
    Some(match kind {
        K::Award | K::AwardToOthers => MailTemplate::Award,
        K::Exclusion => MailTemplate::Exclusion,
        K::SoccorsoRequest => MailTemplate::SoccorsoIstruttorio,
        K::DecisionNotToAward => MailTemplate::NotAwarded,
        K::Revocation | K::Annulment => MailTemplate::Revocation,
        K::DeadlineExtended => MailTemplate::DeadlineExtended,
        K::DocumentsAmended => MailTemplate::DocumentsAmended,
        K::AnomalyExplanationRequest => MailTemplate::AnomalyExplanationRequest,
        K::ContractDate => MailTemplate::ContractSigned,
        _ => return None,
    })
}

fn act_type(kind: CommunicationKind) -> &'static str {
    use CommunicationKind as K;
    match kind {
        K::Award | K::AwardToOthers => "provvedimento di aggiudicazione",
        K::Exclusion => "provvedimento di esclusione",
        K::DecisionNotToAward => "decisione di non aggiudicare",
        K::Revocation => "provvedimento di revoca",
        K::Annulment => "provvedimento di annullamento",
        K::DeadlineExtended => "proroga del termine",
        K::DocumentsAmended => "rettifica dei documenti di gara",
        _ => "atto",
    }
}

async fn operators_of_bids<C: ConnectionTrait>(
    db: &C,
    bids: &[bid::Model],
) -> WResult<Vec<operator::Model>> {
    let mut ids: Vec<Uuid> = bids.iter().map(|b| b.operator_id).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(operator::Entity::find()
        .filter(operator::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// Bids that count as participation: submitted, not withdrawn.
fn live(b: &bid::Model) -> bool {
    b.state.is_offer()
}

fn timer_at(effects: &[Effect], kind: TimerKind) -> Option<DateTime<Utc>> {
    effects.iter().find_map(|e| match e {
        Effect::SetTimer { kind: k, at, .. } if *k == kind => Some(*at),
        _ => None,
    })
}

/// Enqueues the mails the `effects` of one transition owe; returns how many were enqueued.
pub async fn enqueue_communications<C: ConnectionTrait>(
    db: &C,
    s: &Subject<'_>,
    effects: &[Effect],
) -> WResult<u32> {
    crate::pcp_outbox::enqueue_for_effects(db, s.tender, s.lot, effects, s.now).await?;
    let comms: Vec<(Addressee, CommunicationKind)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Communicate { to, kind, .. } => Some((*to, *kind)),
            _ => None,
        })
        .collect();
    if comms.is_empty() {
        return Ok(0);
    }
    let t = s.tender;
    let bids: Vec<bid::Model> = bid::Entity::find()
        .filter(bid::Column::TenderId.eq(t.id))
        .all(db)
        .await?
        .into_iter()
        .filter(live)
        .filter(|b| s.lot.is_none_or(|l| b.lot_id == l.id))
        .collect();
    let awardee_bid = s
        .lot
        .and_then(|l| l.awardee_bid_id)
        .and_then(|id| bids.iter().find(|b| b.id == id));
    // a direct award has no bid: its awardee is the operator the decisione di contrarre names (art. 17
    // c.2), stated on the lot with the amount (`lot.pcp`, as AD3 reports them)
    let named = match (s.lot, awardee_bid) {
        (Some(l), None) if t.procedure_type.0 == lifecycle::ProcedureType::AffidamentoDiretto => {
            crate::pcp_facts::LotPcp::stored(l).direct_award().ok()
        }
        _ => None,
    };
    let awardee = match (awardee_bid, named) {
        (Some(b), _) => operator::Entity::find_by_id(b.operator_id).one(db).await?,
        (None, Some((op, _))) => operator::Entity::find_by_id(op).one(db).await?,
        (None, None) => None,
    };
    // the award amount, costs outside the ribasso included (art. 41 c.14): the one formula
    let award_amount = match (s.lot, awardee_bid, named) {
        (Some(l), Some(b), _) => {
            crate::amounts::award_amount(l, b, crate::amounts::AWARD_ROUNDING)?
                .map(|e| e.to_string())
        }
        (_, None, Some((_, importo))) => Some(format!("{importo:.2}")),
        _ => None,
    };
    let mut sent = 0;
    for (to, kind) in comms {
        if to == Addressee::Comune {
            sent += enqueue_to_comune(db, s, kind, effects, &bids, awardee.as_ref()).await?;
            continue;
        }
        let Some(template) = template_for(kind) else {
            continue;
        };
        let recipients: Vec<operator::Model> = match to {
            Addressee::Operator => match s.bid {
                Some(b) => operator::Entity::find_by_id(b.operator_id)
                    .one(db)
                    .await?
                    .into_iter()
                    .collect(),
                // a lot-level exclusion also drives the participation event, which mails the operator
                None => continue,
            },
            Addressee::Awardee => awardee.iter().cloned().collect(),
            // the contract date goes to every participant, the awardee included (the lifecycle names the
            // others, art. 90 c.1 e; the awardee is a party and is told too)
            Addressee::OtherBidders if kind == CommunicationKind::ContractDate => {
                operators_of_bids(db, &bids).await?
            }
            // art. 90 c.1 c: the other bidders, excluded ones included while they may still challenge
            Addressee::OtherBidders => {
                let others: Vec<bid::Model> = bids
                    .iter()
                    .filter(|b| Some(b.id) != awardee_bid.map(|a| a.id))
                    .cloned()
                    .collect();
                operators_of_bids(db, &others).await?
            }
            Addressee::AllCandidates => operators_of_bids(db, &bids).await?,
            Addressee::Comune => continue, // handled above
            Addressee::Invitees | Addressee::Public | Addressee::Bdncp => continue,
        };
        for o in recipients {
            let Ok(addr) = o.pec.parse() else {
                tracing::warn!(operator = %o.id, pec = %o.pec, "stored PEC does not parse: mail skipped");
                continue;
            };
            let is_awardee = awardee.as_ref().is_some_and(|a| a.id == o.id);
            let mut ctx = context(s, kind, effects, &o.name, is_awardee, awardee.as_ref());
            if matches!(
                kind,
                CommunicationKind::Award | CommunicationKind::AwardToOthers
            ) && let Some(a) = &award_amount
            {
                ctx.insert("amount".into(), json!(a));
                ctx.insert("vat_excluded".into(), json!(true));
            }
            let msg = notify::NewMessage {
                to: vec![notify::Mailbox::new(Some(o.name.clone()), addr)],
                template,
                context: Value::Object(ctx),
                tender_id: Some(t.id),
                lot_id: s.lot.map(|l| l.id),
                idempotency_key: notify::IdempotencyKey::new(format!(
                    "{}{}",
                    act_key_prefix(s.chain, s.seq, kind),
                    o.id
                ))?,
                now: s.now,
            };
            notify::enqueue(db, msg).await?;
            sent += 1;
        }
    }
    Ok(sent)
}

/// The idempotency-key prefix of the operator mails of kind `kind` enqueued by the act of audit entry
/// (`chain`, `seq`): `lc:<chain>:<seq>:<kind>:`. The acts of the single chain before the per-Province chains
/// (`legacy`) keep the prefix they were enqueued with, `lc:<seq>:<kind>:`.
pub fn act_key_prefix(chain: &str, seq: i64, kind: CommunicationKind) -> String {
    if chain == crate::audit::LEGACY {
        format!("lc:{seq}:{kind}:")
    } else {
        format!("lc:{chain}:{seq}:{kind}:")
    }
}

/// When the last award communication to the operators (art. 90 c.1 b-c) of the award recorded by audit
/// entry (`chain`, `seq`) was sent, as the outbox reports it; `None` while one of them is not sent yet (queued, being
/// sent, or failed and waiting for the buyer's resend). An award that owed no operator mail counts as
/// communicated at `award_at`.
pub async fn award_communications_sent<C: ConnectionTrait>(
    db: &C,
    chain: &str,
    seq: i64,
    award_at: DateTime<Utc>,
) -> WResult<Option<DateTime<Utc>>> {
    let mut last = None;
    let mut any = false;
    for kind in [CommunicationKind::Award, CommunicationKind::AwardToOthers] {
        for m in notify::with_key_prefix(db, &act_key_prefix(chain, seq, kind)).await? {
            any = true;
            match (m.status, m.sent_at) {
                (notify::Status::Sent, Some(at)) => last = last.max(Some(at)),
                _ => return Ok(None),
            }
        }
    }
    Ok(if any { last } else { Some(award_at) })
}

fn context(
    s: &Subject<'_>,
    kind: CommunicationKind,
    effects: &[Effect],
    recipient_name: &str,
    recipient_is_awardee: bool,
    awardee: Option<&operator::Model>,
) -> Map<String, Value> {
    let t = s.tender;
    let rfc = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339()).unwrap_or_default();
    let mut c = Map::new();
    let mut put = |k: &str, v: Value| {
        c.insert(k.to_owned(), v);
    };
    put("recipient_name", json!(recipient_name));
    put(
        "link",
        json!(format!(
            "{}/v1/tenders/{}",
            s.base_url.trim_end_matches('/'),
            t.id
        )),
    );
    put("tender_title", json!(t.title));
    put("tender_ref", json!(t.id.to_string()));
    if let Some(l) = s.lot {
        put("lot_number", json!(l.number));
        put("lot_title", json!(l.title));
    }
    let cig = s
        .lot
        .and_then(|l| l.cig.as_ref())
        .map(|c| c.to_string())
        .unwrap_or_else(|| {
            // a tender-level event: the CIGs of all lots are not at hand here, say so plainly
            "vedi lotti".to_owned()
        });
    put("cig", json!(cig));
    put("act_type", json!(act_type(kind)));
    put("act_number", json!(s.seq.to_string()));
    put("act_date", json!(s.now.date_naive().to_string()));
    put("event", json!(s.event.as_str()));
    let reasons = s
        .declarations
        .exclusion_reason
        .clone()
        .or_else(|| s.bid.and_then(|b| b.exclusion_reason.clone()))
        .or_else(|| s.declarations.motivation.clone())
        .unwrap_or_else(|| "si veda il provvedimento".to_owned());
    put("reasons", json!(reasons));
    put("deadline", json!(rfc(t.deadline)));
    match kind {
        CommunicationKind::Award | CommunicationKind::AwardToOthers => {
            put(
                "awardee_name",
                json!(awardee.map(|a| a.name.clone()).unwrap_or_default()),
            );
            put(
                "is_awardee",
                json!(kind == CommunicationKind::Award && recipient_is_awardee),
            );
            // art. 90 c.2: the end date once the last award communication was sent (a mail sent after it, e.g.
            // to the Comune), else the term that runs from that sending, else the exemption that applies
            let end = timer_at(effects, TimerKind::Standstill)
                .or_else(|| s.lot.and_then(|l| l.standstill_end));
            match (end, s.standstill) {
                (Some(end), _) => put("standstill_end", json!(end.to_rfc3339())),
                (None, Some(StandstillOutlook::RunsFromSending { days })) => {
                    put("standstill_days", json!(days))
                }
                (None, Some(StandstillOutlook::Exempt { article })) => {
                    put("standstill_not_applicable", json!(article))
                }
                (None, None) => put(
                    "standstill_not_applicable",
                    json!("termine dilatorio non applicabile (art. 55 c.2 / art. 18 c.3)"),
                ),
            }
        }
        CommunicationKind::SoccorsoRequest => {
            put(
                "missing",
                json!(s.declarations.motivation.clone().unwrap_or_else(|| {
                    "documentazione indicata nella richiesta sulla piattaforma".into()
                })),
            );
            put(
                "term_end",
                json!(rfc(
                    timer_at(effects, TimerKind::Soccorso).or(s.bid.and_then(|b| b.soccorso_due))
                )),
            );
        }
        CommunicationKind::AnomalyExplanationRequest => {
            put(
                "elements",
                json!(s.declarations.motivation.clone().unwrap_or_else(|| {
                    "elementi dell'offerta indicati nella richiesta".into()
                })),
            );
            put(
                "term_end",
                json!(rfc(timer_at(effects, TimerKind::AnomalyExplanations))),
            );
        }
        CommunicationKind::DeadlineExtended => {
            put(
                "previous_deadline",
                json!(rfc(s.previous_deadline.or(t.deadline))),
            );
            put("new_deadline", json!(rfc(t.deadline)));
        }
        CommunicationKind::DocumentsAmended => {
            put(
                "changes",
                json!(
                    s.declarations
                        .motivation
                        .clone()
                        .unwrap_or_else(|| { "si vedano i documenti di gara aggiornati".into() })
                ),
            );
        }
        CommunicationKind::ContractDate => {
            put(
                "awardee_name",
                json!(awardee.map(|a| a.name.clone()).unwrap_or_default()),
            );
            put("contract_date", json!(s.now.date_naive().to_string()));
        }
        _ => {}
    }
    c
}

// ---------------------------------------------------------------- mails to the municipality

/// The Comune a tender is run for: the tender's own `municipality_id`, else its request's.
pub async fn municipality_of_tender<C: ConnectionTrait>(
    db: &C,
    t: &tender::Model,
) -> WResult<Option<municipality::Model>> {
    let id = match (t.municipality_id, t.request_id) {
        (Some(id), _) => Some(id),
        (None, Some(r)) => procurement_request::Entity::find_by_id(r)
            .one(db)
            .await?
            .map(|r| r.municipality_id),
        (None, None) => None,
    };
    Ok(match id {
        Some(id) => municipality::Entity::find_by_id(id).one(db).await?,
        None => None,
    })
}

/// The municipality's PEC as a mailbox; `None`, logged with a warning, when it has none or the stored one
/// does not parse (the caller's state change goes on without the mail).
pub fn municipality_mailbox(m: &municipality::Model, what: &str) -> Option<notify::Mailbox> {
    let Some(pec) = m.pec.as_deref() else {
        tracing::warn!(municipality = %m.id, mail = what, "the municipality has no PEC: mail skipped");
        return None;
    };
    match pec.parse() {
        Ok(addr) => Some(notify::Mailbox::new(Some(m.name.clone()), addr)),
        Err(_) => {
            tracing::warn!(municipality = %m.id, pec, mail = what, "stored PEC does not parse: mail skipped");
            None
        }
    }
}

/// Which template a communication to the Comune uses, and the `event` of `municipality_update`.
fn comune_template(kind: CommunicationKind) -> Option<(MailTemplate, Option<&'static str>)> {
    use CommunicationKind as K;
    Some(match kind {
        K::Publication => (MailTemplate::TenderPublished, None),
        K::Revocation | K::Annulment => (MailTemplate::Revocation, None),
        K::ContractDate => (MailTemplate::ContractSigned, None),
        K::CigAcquired => (MailTemplate::MunicipalityUpdate, Some("cig_acquired")),
        K::Invitation => (MailTemplate::MunicipalityUpdate, Some("invitation")),
        K::SubmissionsClosed => (MailTemplate::MunicipalityUpdate, Some("submissions_closed")),
        K::AdmissionsAndExclusions => (
            MailTemplate::MunicipalityUpdate,
            Some("admissions_and_exclusions"),
        ),
        K::CommissionComposition => (
            MailTemplate::MunicipalityUpdate,
            Some("commission_composition"),
        ),
        K::AwardProposal => (MailTemplate::MunicipalityUpdate, Some("award_proposal")),
        K::VerificationOutcome => (
            MailTemplate::MunicipalityUpdate,
            Some("verification_outcome"),
        ),
        K::Award => (MailTemplate::MunicipalityUpdate, Some("award")),
        K::Suspension => (MailTemplate::MunicipalityUpdate, Some("suspension")),
        K::DecisionNotToAward => (
            MailTemplate::MunicipalityUpdate,
            Some("decision_not_to_award"),
        ),
        // request_accepted: mailed by the request handler when the SUA accepted the request
        _ => return None,
    })
}

/// An instant as the templates' `data_ora` filter prints it (Europe/Rome), for free text.
fn data_ora(d: Option<DateTime<Utc>>) -> String {
    match d {
        Some(d) => {
            notify::templates::filter_data_ora(d.to_rfc3339()).unwrap_or_else(|_| d.to_rfc3339())
        }
        None => "non indicato".to_owned(),
    }
}

/// Ends a sentence with a full stop, unless it ends with one already (a name like "… Soc. Coop.").
fn period(mut s: String) -> String {
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// The `details` sentence of a `municipality_update` mail.
fn comune_details(
    s: &Subject<'_>,
    kind: CommunicationKind,
    lots: &[lot::Model],
    bids: &[bid::Model],
    awardee: Option<&operator::Model>,
) -> String {
    use CommunicationKind as K;
    let t = s.tender;
    let awardee_name = awardee.map(|a| a.name.as_str());
    match kind {
        K::CigAcquired => lots
            .iter()
            .map(|l| match &l.cig {
                Some(cig) => format!("Lotto {} - {}: CIG {cig}", l.number, l.title),
                None => format!("Lotto {} - {}: CIG non ancora acquisito", l.number, l.title),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        K::Invitation => {
            let n = serde_json::from_str::<Vec<Value>>(&t.invitees_json)
                .map(|v| v.len())
                .unwrap_or_default();
            format!(
                "Lettere d'invito trasmesse a {n} operatori economici. Termine per la presentazione delle \
                 offerte: {}.",
                data_ora(t.deadline)
            )
        }
        K::SubmissionsClosed => {
            let mut out = format!(
                "Il termine per la presentazione delle offerte ({}) è scaduto. Offerte pervenute: {}.",
                data_ora(t.deadline),
                bids.len()
            );
            if lots.len() > 1 {
                for l in lots {
                    let n = bids.iter().filter(|b| b.lot_id == l.id).count();
                    out.push_str(&format!("\nLotto {} - {}: {n}", l.number, l.title));
                }
            }
            out
        }
        K::AdmissionsAndExclusions => {
            let admitted = bids
                .iter()
                .filter(|b| b.state == ParticipationState::Admitted)
                .count();
            let excluded = bids
                .iter()
                .filter(|b| b.state == ParticipationState::Excluded)
                .count();
            format!("Offerte ammesse: {admitted}; offerte escluse: {excluded}.")
        }
        K::CommissionComposition => match s.declarations.commission_members {
            Some(n) => format!(
                "Nominata la commissione giudicatrice ({n} componenti); la composizione e i curricula sono \
                 pubblicati nella sezione Amministrazione trasparente (art. 93, art. 28)."
            ),
            None => "Nominata la commissione giudicatrice; la composizione e i curricula sono pubblicati \
                     nella sezione Amministrazione trasparente (art. 93, art. 28)."
                .to_owned(),
        },
        K::AwardProposal => match awardee_name {
            Some(n) => period(format!("Proposta di aggiudicazione in favore di {n}")),
            None => "Formulata la proposta di aggiudicazione.".to_owned(),
        },
        K::VerificationOutcome
            if s.event == MachineEvent::Lot(LotEvent::VerificationFailed)
                || s.event == MachineEvent::Participation(ParticipationEvent::VerificationFailed) =>
        {
            "La verifica dei requisiti dell'operatore proposto per l'aggiudicazione ha avuto esito \
             negativo: l'operatore è escluso (art. 99)."
                .to_owned()
        }
        K::VerificationOutcome => match awardee_name {
            Some(n) => format!("La verifica dei requisiti in capo a {n} ha avuto esito positivo."),
            None => "La verifica dei requisiti ha avuto esito positivo.".to_owned(),
        },
        K::Award => match awardee_name {
            Some(n) => period(format!("Aggiudicazione in favore di {n}")),
            None => "Disposta l'aggiudicazione.".to_owned(),
        },
        K::Suspension => "La stipula del contratto è sospesa per la proposizione di un ricorso con \
                          domanda cautelare (art. 18 c.4)."
            .to_owned(),
        K::DecisionNotToAward => {
            let default = match s.event {
                MachineEvent::Tender(TenderEvent::DeclareDeserted)
                | MachineEvent::Lot(LotEvent::DeclareDeserted) => "Nessuna offerta pervenuta entro il termine: la procedura è deserta.",
                MachineEvent::Lot(LotEvent::ExcludeAll) => "Tutte le offerte sono state escluse.",
                MachineEvent::Lot(LotEvent::NoSuitableOffer) => "Nessuna offerta è risultata conveniente o idonea.",
                MachineEvent::Tender(_) | MachineEvent::Lot(_) | MachineEvent::Participation(_) => "Si veda il provvedimento sulla piattaforma.",
            };
            s.declarations
                .motivation
                .clone()
                .unwrap_or_else(|| default.to_owned())
        }
        _ => String::new(),
    }
}

/// Enqueues the mail one `Communicate { to: Comune, kind }` effect owes to the tender's municipality;
/// returns how many were enqueued (0 or 1).
async fn enqueue_to_comune<C: ConnectionTrait>(
    db: &C,
    s: &Subject<'_>,
    kind: CommunicationKind,
    effects: &[Effect],
    bids: &[bid::Model],
    awardee: Option<&operator::Model>,
) -> WResult<u32> {
    let Some((template, update_event)) = comune_template(kind) else {
        return Ok(0);
    };
    let t = s.tender;
    let Some(m) = municipality_of_tender(db, t).await? else {
        tracing::warn!(tender = %t.id, kind = %kind, "the tender has no municipality: mail skipped");
        return Ok(0);
    };
    let Some(to) = municipality_mailbox(&m, kind.as_str()) else {
        return Ok(0);
    };
    let lots: Vec<lot::Model> = lot::Entity::find()
        .filter(lot::Column::TenderId.eq(t.id))
        .order_by_asc(lot::Column::Number)
        .all(db)
        .await?;
    let mut ctx = context(s, kind, effects, &m.name, false, awardee);
    if s.lot.is_none() && !lots.is_empty() && lots.iter().all(|l| l.cig.is_some()) {
        let cigs: Vec<&str> = lots
            .iter()
            .filter_map(|l| l.cig.as_ref())
            .map(|c| c.as_str())
            .collect();
        ctx.insert("cig".into(), json!(cigs.join(", ")));
    }
    match template {
        MailTemplate::TenderPublished => {
            ctx.insert(
                "published_at".into(),
                json!(t.published_at.unwrap_or(s.now).to_rfc3339()),
            );
            let list: Vec<Value> = lots
                .iter()
                .map(|l| {
                    let mut v = json!({"number": l.number, "title": l.title});
                    if let Some(cig) = &l.cig {
                        v["cig"] = json!(cig);
                    }
                    v
                })
                .collect();
            ctx.insert("lots".into(), json!(list));
        }
        MailTemplate::MunicipalityUpdate => {
            ctx.insert("event".into(), json!(update_event.unwrap_or_default()));
            ctx.insert(
                "details".into(),
                json!(comune_details(s, kind, &lots, bids, awardee)),
            );
        }
        _ => {}
    }
    let msg = notify::NewMessage {
        to: vec![to],
        template,
        context: Value::Object(ctx),
        tender_id: Some(t.id),
        lot_id: s.lot.map(|l| l.id),
        idempotency_key: notify::IdempotencyKey::new(format!(
            "lc:{}:{}:comune:{}",
            s.seq, kind, m.id
        ))?,
        now: s.now,
    };
    notify::enqueue(db, msg).await?;
    Ok(1)
}

// ---------------------------------------------------------------- request mails to the municipality

/// What the SUA did with a municipality's procurement request (the mail it owes the municipality).
pub enum RequestEvent<'a> {
    /// `request_received`: the request was submitted.
    Received,
    /// `request_accepted`: accepted into the draft tender `tender_id` (the mail is listed with that tender).
    Accepted { tender_id: Uuid },
    /// `request_returned`: returned with the buyer's questions.
    Returned { reasons: &'a str },
    /// `request_rejected`, with the reasons.
    Rejected { reasons: &'a str },
}

impl RequestEvent<'_> {
    fn name(&self) -> &'static str {
        match self {
            RequestEvent::Received => "received",
            RequestEvent::Accepted { .. } => "accepted",
            RequestEvent::Returned { .. } => "returned",
            RequestEvent::Rejected { .. } => "rejected",
        }
    }
}

/// The act named in request mails: the platform's record of the decision (its audit sequence number and
/// date), as for the lifecycle mails; the formal act (determina) is not an input of the request API.
const REQUEST_ACT_TYPE: &str = "atto registrato sulla piattaforma";

/// Enqueues, in the caller's transaction, the mail `ev` owes to the municipality of request `r`, recorded
/// by the audit entry `seq`. Idempotency key `req:<request id>:<event>:<seq>`: a retried transaction never
/// mails twice. A municipality without a usable PEC gets no mail (logged); returns how many were enqueued.
pub async fn enqueue_request_mail<C: ConnectionTrait>(
    db: &C,
    base_url: &str,
    r: &procurement_request::Model,
    ev: RequestEvent<'_>,
    seq: i64,
    now: DateTime<Utc>,
) -> WResult<u32> {
    let Some(m) = municipality::Entity::find_by_id(r.municipality_id)
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let Some(to) = municipality_mailbox(&m, ev.name()) else {
        return Ok(0);
    };
    let mut ctx = json!({
        "recipient_name": m.name,
        "link": format!("{}/v1/requests/{}", base_url.trim_end_matches('/'), r.id),
        "request_ref": r.id.to_string(),
        "request_title": r.object,
    });
    let act = |c: &mut Value| {
        c["act_type"] = json!(REQUEST_ACT_TYPE);
        c["act_number"] = json!(seq.to_string());
        c["act_date"] = json!(now.date_naive().to_string());
    };
    let (template, tender_id) = match &ev {
        RequestEvent::Received => {
            ctx["received_at"] = json!(r.created_at.to_rfc3339());
            (MailTemplate::RequestReceived, None)
        }
        RequestEvent::Accepted { tender_id } => {
            act(&mut ctx);
            (MailTemplate::RequestAccepted, Some(*tender_id))
        }
        RequestEvent::Returned { reasons } => {
            ctx["reasons"] = json!(reasons);
            (MailTemplate::RequestReturned, None)
        }
        RequestEvent::Rejected { reasons } => {
            act(&mut ctx);
            ctx["reasons"] = json!(reasons);
            (MailTemplate::RequestRejected, None)
        }
    };
    let msg = notify::NewMessage {
        to: vec![to],
        template,
        context: ctx,
        tender_id,
        lot_id: None,
        idempotency_key: notify::IdempotencyKey::new(format!("req:{}:{}:{seq}", r.id, ev.name()))?,
        now,
    };
    notify::enqueue(db, msg).await?;
    Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Db, Scope, entities::province};
    use sea_orm::{ActiveModelTrait, PaginatorTrait, Set};

    async fn request_of(db: &Db, pec: Option<&str>, cf: &str) -> procurement_request::Model {
        let now = Utc::now();
        let w = db.write(Scope::Platform).await.unwrap();
        let p = Uuid::now_v7();
        province::ActiveModel {
            id: Set(p),
            code: Set(cf[..2].to_owned()),
            name: Set("Provincia".into()),
            created_at: Set(now),
        }
        .insert(&w.txn)
        .await
        .unwrap();
        let m = Uuid::now_v7();
        municipality::ActiveModel {
            id: Set(m),
            province_id: Set(p),
            name: Set("Comune di Prova".into()),
            codice_fiscale: Set(cf.into()),
            created_at: Set(now),
            pec: Set(pec.map(str::to_owned)),
        }
        .insert(&w.txn)
        .await
        .unwrap();
        let r = procurement_request::ActiveModel {
            id: Set(Uuid::now_v7()),
            province_id: Set(p),
            municipality_id: Set(m),
            object: Set("Servizio di prova".into()),
            contract_type: Set("services".into()),
            cpv: Set("90911200-8".into()),
            cup: Set(None),
            estimated_amount_cents: Set(1_000_000),
            lots_json: Set("[]".into()),
            rup: Set("Mario Rossi".into()),
            funding_source: Set("Bilancio".into()),
            desired_criterion: Set("lowest_price".into()),
            desired_timing: Set(None),
            status: Set(lifecycle::request::RequestState::INITIAL.into()),
            tender_id: Set(None),
            decision_reason: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&w.txn)
        .await
        .unwrap();
        w.commit().await.unwrap();
        r
    }

    async fn rows(db: &Db) -> u64 {
        notify::entity::Entity::find()
            .count(&db.conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_request_mail_is_enqueued_once_per_event_and_skipped_without_a_pec() {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        db.migrate().await.unwrap();
        let now = Utc::now();
        let with = request_of(&db, Some("protocollo@pec.comune.prova.it"), "80003120047").await;
        let without = request_of(&db, None, "00430120048").await;
        let rejected = RequestEvent::Rejected {
            reasons: "Fuori convenzione",
        };
        // a retried transaction replays the same event with the same audit entry: one row
        for _ in 0..2 {
            let w = db.write(Scope::Platform).await.unwrap();
            let n =
                enqueue_request_mail(&w.txn, "http://sua", &with, RequestEvent::Received, 7, now)
                    .await
                    .unwrap();
            assert_eq!(n, 1);
            w.commit().await.unwrap();
        }
        assert_eq!(rows(&db).await, 1);
        // another event (or the same event recorded by another audit entry) is another mail
        let w = db.write(Scope::Platform).await.unwrap();
        enqueue_request_mail(&w.txn, "http://sua", &with, rejected, 8, now)
            .await
            .unwrap();
        enqueue_request_mail(&w.txn, "http://sua", &with, RequestEvent::Received, 9, now)
            .await
            .unwrap();
        w.commit().await.unwrap();
        assert_eq!(rows(&db).await, 3);
        // a rolled-back transaction leaves no mail
        let w = db.write(Scope::Platform).await.unwrap();
        enqueue_request_mail(&w.txn, "http://sua", &with, RequestEvent::Received, 10, now)
            .await
            .unwrap();
        drop(w);
        assert_eq!(rows(&db).await, 3);
        // no PEC: nothing enqueued, no error
        let w = db.write(Scope::Platform).await.unwrap();
        let n = enqueue_request_mail(
            &w.txn,
            "http://sua",
            &without,
            RequestEvent::Received,
            11,
            now,
        )
        .await
        .unwrap();
        assert_eq!(n, 0);
        w.commit().await.unwrap();
        assert_eq!(rows(&db).await, 3);
        let list = notify::entity::Entity::find().all(&db.conn).await.unwrap();
        assert!(
            list.iter()
                .all(|m| m.recipients.contains("protocollo@pec.comune.prova.it"))
        );
        assert_eq!(
            list.iter()
                .filter(|m| m.template == "request_rejected")
                .count(),
            1
        );
    }
}
