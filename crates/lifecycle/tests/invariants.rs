//! Property tests over random event sequences with random facts and times.
//!
//! Events are drawn mostly among those the table allows in the current state (so that runs get deep into the
//! machines), sometimes among all events; facts are random but biased towards the values that let guards pass.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use lifecycle::lot::{self, Commission, LotEvent, LotFacts, LotState, StandstillExemption};
use lifecycle::participation::{self, ParticipationEvent, ParticipationFacts, ParticipationState};
use lifecycle::tender::{self, TenderEvent, TenderFacts, TenderState};
use lifecycle::{AwardCriterion, ContractObject, ProcedureType, RULE_TRANSITION_TABLE};
use proptest::prelude::*;

/// Random knobs that become facts.
#[derive(Debug, Clone)]
struct Knobs {
    flag: [bool; 8],
    small: [u32; 6],
    advance_hours: u32,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        prop::array::uniform8(prop::bool::weighted(0.7)),
        prop::array::uniform6(0u32..6),
        0u32..(24 * 12),
    )
        .prop_map(|(flag, small, advance_hours)| Knobs {
            flag,
            small,
            advance_hours,
        })
}

/// One step: which event (index into the allowed list or into all events), and the knobs.
fn steps() -> impl Strategy<Value = Vec<(bool, usize, Knobs)>> {
    prop::collection::vec((prop::bool::weighted(0.9), any::<usize>(), knobs()), 1..100)
}

fn pick<S: PartialEq + Copy, E: Copy>(
    state: S,
    table: &[(S, E, S)],
    all: &[E],
    from_table: bool,
    i: usize,
) -> E {
    let allowed: Vec<E> = table
        .iter()
        .filter(|(f, _, _)| *f == state)
        .map(|(_, e, _)| *e)
        .collect();
    if from_table && !allowed.is_empty() {
        allowed[i % allowed.len()]
    } else {
        all[i % all.len()]
    }
}

fn lot_facts(
    criterion: AwardCriterion,
    value: i64,
    deadline: DateTime<Utc>,
    k: &Knobs,
) -> LotFacts {
    let mut f = LotFacts::new(
        ProcedureType::Aperta,
        criterion,
        contract(ContractObject::Services, value, date(2026, 11, 2)),
    );
    f.offer_deadline = Some(deadline);
    f.offers_received = k.small[0];
    f.admitted = k.small[0].saturating_sub(u32::from(k.small[1] == 0));
    f.excluded = k.small[0] - f.admitted;
    f.pending_soccorso = u32::from(!k.flag[0]);
    f.commission = k.flag[1].then_some(Commission {
        members: 1 + 2 * (k.small[2] % 3),
        rup_is_president: !k.flag[2],
    });
    f.technical_scored = if k.flag[3] { f.admitted } else { 0 };
    f.tech_scores_frozen = k.flag[4];
    f.ranked_remaining = k.small[3];
    f.tie_among_best = !k.flag[5];
    f.best_offer_suspected_anomalous = !k.flag[6];
    f.anomaly_term_days = Some(k.small[4] * 4);
    f.requirements_verified = match k.small[5] {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    f.standstill_exemption = (!k.flag[7]).then_some(StandstillExemption::FrameworkAgreement);
    f.last_award_communication_at = Some(deadline + Duration::days(i64::from(k.small[4])));
    // Revocation and reopening are rare, so that runs get deep into the machine.
    f.judgment_reference = (k.small[2] == 5).then(|| "TAR".to_owned());
    f.motivation = (k.small[5] == 5 && k.small[4] == 0).then(|| "motivazione".to_owned());
    f
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Lot: nothing leaves a final state; economic offers never open before technical scores are frozen in
    /// quality-price; no award without a verification; every accepted transition ends with its audit entry.
    #[test]
    fn lot_invariants_hold_on_random_runs(
        qp in any::<bool>(), above in any::<bool>(), run in steps()
    ) {
        let criterion = if qp { AwardCriterion::QualityPrice } else { AwardCriterion::LowestPrice };
        let value = if above { 500_000 } else { 150_000 };
        let deadline = rome(2026, 12, 2, 12, 0);
        let mut now = rome(2026, 11, 25, 9, 0);
        let table = lot::transitions();
        let mut state = LotState::INITIAL;
        let mut froze_scores = false;
        let mut verified_since_proposal = false;
        for (from_table, i, k) in run {
            now += Duration::hours(i64::from(k.advance_hours));
            let event = pick(state, &table, LotEvent::ALL, from_table, i);
            let facts = lot_facts(criterion, value, deadline, &k);
            let result = lot::apply(state, &event, &facts, now);
            if state.is_final() {
                let refusal = result.as_ref().unwrap_err();
                prop_assert_eq!(refusal.rule, RULE_TRANSITION_TABLE);
                continue;
            }
            let Ok(t) = result else { continue };
            prop_assert_eq!(t.from, state);
            let audit = t.audit().expect("audit entry");
            prop_assert_eq!(audit.event, event.as_str());
            match event {
                LotEvent::FreezeTechnicalScores => froze_scores = true,
                LotEvent::OpenEconomicOffers if qp => {
                    prop_assert!(froze_scores, "economic offers opened before technical scores were frozen");
                    prop_assert!(facts.tech_scores_frozen);
                }
                LotEvent::ProposeAward | LotEvent::StartDirectAward => verified_since_proposal = false,
                LotEvent::VerifyRequirements => {
                    prop_assert_eq!(facts.requirements_verified, Some(true));
                    verified_since_proposal = true;
                }
                LotEvent::Award => {
                    prop_assert!(verified_since_proposal, "award without verification");
                    prop_assert_eq!(facts.requirements_verified, Some(true));
                }
                LotEvent::OpenAdministrative | LotEvent::AppointCommission => {
                    prop_assert!(now >= deadline, "envelopes or commission before the deadline");
                }
                LotEvent::StandstillElapsed
                    if above
                        && lot::standstill_exemption(lifecycle::Rules::standard(), &facts)
                            .unwrap()
                            .is_none() =>
                {
                    let end = lot::standstill_end(
                        lifecycle::Rules::standard(),
                        facts.last_award_communication_at.unwrap(),
                    ).unwrap();
                    prop_assert!(now >= end, "stipula allowed inside the standstill");
                }
                _ => {}
            }
            state = t.to;
        }
    }

    /// Participation: nothing leaves a final state; no offer is accepted (or replaced) at or after the deadline.
    #[test]
    fn no_bid_is_accepted_after_the_deadline(run in steps(), negotiated in any::<bool>()) {
        let procedure = if negotiated { ProcedureType::NegoziataSenzaBando } else { ProcedureType::Aperta };
        let deadline = rome(2026, 12, 2, 12, 0);
        let mut now = rome(2026, 11, 20, 9, 0);
        let table = participation::transitions();
        let mut state = ParticipationState::INITIAL;
        for (from_table, i, k) in run {
            // Sometimes jump back in time too: the caller's clock is not trusted to be monotonic here.
            if k.flag[7] {
                now += Duration::hours(i64::from(k.advance_hours) / 4);
            } else {
                now -= Duration::hours(i64::from(k.advance_hours) / 8);
            }
            let event = pick(state, &table, ParticipationEvent::ALL, from_table, i);
            let lot_state = LotState::ALL[k.small[0] as usize * 3 % LotState::ALL.len()];
            let mut f = ParticipationFacts::new(procedure, deadline, lot_state);
            f.invited = k.flag[0] || !negotiated;
            f.soccorso_days = Some(3 + k.small[1] * 2);
            f.soccorso_due = Some(deadline + Duration::days(i64::from(k.small[2])));
            f.exclusion_reason = k.flag[1].then(|| "motivo".to_owned());
            f.requirements_verified = k.flag[2].then_some(k.flag[3]);
            let result = participation::apply(state, &event, &f, now);
            if state.is_final() {
                prop_assert_eq!(result.unwrap_err().rule, RULE_TRANSITION_TABLE);
                continue;
            }
            let Ok(t) = result else { continue };
            if matches!(event, ParticipationEvent::Submit | ParticipationEvent::Replace) {
                prop_assert!(now < deadline, "offer accepted at {} after the deadline {}", now, deadline);
            }
            if event == ParticipationEvent::Submit {
                prop_assert!(f.invited || !negotiated, "uninvited operator's offer accepted");
            }
            if event == ParticipationEvent::Award {
                prop_assert_eq!(f.requirements_verified, Some(true));
            }
            state = t.to;
        }
    }

    /// Tender with several simulated lots: nothing leaves a final state, and the tender completes only when all
    /// of its lots are final.
    #[test]
    fn a_tender_completes_only_when_all_its_lots_are_final(
        lots in 1usize..4,
        run in prop::collection::vec((0usize..5, prop::bool::weighted(0.9), any::<usize>(), knobs()), 1..200),
    ) {
        let deadline = rome(2027, 1, 15, 12, 0);
        let mut now = rome(2026, 11, 2, 9, 0);
        let ttable = tender::transitions();
        let ltable = lot::transitions();
        let mut tstate = TenderState::INITIAL;
        let mut lstates = vec![LotState::INITIAL; lots];
        for (which, from_table, i, k) in run {
            now += Duration::hours(i64::from(k.advance_hours) / 4);
            if which == 0 {
                let event = pick(tstate, &ttable, TenderEvent::ALL, from_table, i);
                let mut f = TenderFacts::new(
                    ProcedureType::Aperta,
                    AwardCriterion::LowestPrice,
                    contract(ContractObject::Services, 500_000, date(2026, 11, 2)),
                );
                f.lots_total = lots as u32;
                f.lots_with_cig = lots as u32;
                f.sua_qualification = Some(lifecycle::QualificationLevel::Advanced);
                f.offer_deadline = Some(deadline);
                f.offers_received = k.small[0];
                f.motivation = (k.small[5] == 5 && k.small[4] == 0).then(|| "motivazione".to_owned());
                f.lot_states = lstates.clone();
                let result = tender::apply(tstate, &event, &f, now);
                if tstate.is_final() {
                    prop_assert_eq!(result.unwrap_err().rule, RULE_TRANSITION_TABLE);
                    continue;
                }
                if let Ok(t) = result {
                    if t.to == TenderState::Completed {
                        prop_assert!(lstates.iter().all(|s| s.is_final()), "completed with open lots {:?}", lstates);
                    }
                    tstate = t.to;
                }
            } else {
                let n = (which - 1) % lots;
                let event = pick(lstates[n], &ltable, LotEvent::ALL, from_table, i);
                let f = lot_facts(AwardCriterion::LowestPrice, 500_000, deadline, &k);
                let result = lot::apply(lstates[n], &event, &f, now);
                if lstates[n].is_final() {
                    prop_assert_eq!(result.unwrap_err().rule, RULE_TRANSITION_TABLE);
                    continue;
                }
                if let Ok(t) = result {
                    lstates[n] = t.to;
                }
            }
        }
    }
}

#[test]
fn the_random_runs_do_reach_deep_states() {
    // Guards against a vacuous property: a fixed favourable run reaches `contracted`.
    let deadline = rome(2026, 12, 2, 12, 0);
    let k = Knobs {
        flag: [true, true, true, true, true, true, true, true],
        small: [3, 3, 1, 2, 3, 2],
        advance_hours: 0,
    };
    let f = lot_facts(AwardCriterion::QualityPrice, 500_000, deadline, &k);
    let now = deadline + Duration::days(60);
    let mut s = LotState::INITIAL;
    for e in [
        LotEvent::OpenAdministrative,
        LotEvent::StartTechnicalEvaluation,
        LotEvent::AppointCommission,
        LotEvent::FreezeTechnicalScores,
        LotEvent::OpenEconomicOffers,
        LotEvent::ProposeAward,
        LotEvent::VerifyRequirements,
        LotEvent::Award,
        LotEvent::StandstillElapsed,
        LotEvent::SignContract,
    ] {
        s = accepted(lot::apply(s, &e, &f, now)).to;
    }
    assert_eq!(s, LotState::Contracted);
}
