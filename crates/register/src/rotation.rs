//! The rotation principle, art. 49 D.Lgs. 36/2023 (below-threshold contracts only).
//!
//! Art. 49 c.2 forbids awarding a contract to the *contraente uscente* when two consecutive awards concern the
//! same sector (the award being made and the one before it, per TAR Sicilia I, 19 Mar 2024 n. 1099). The
//! uncertain points are parameters of [`RotationRules`]:
//! - whose awards count ([`RotationScope`]): every award of the SUA, or only those of the same municipality
//!   (the SUA awards on behalf of municipalities; the law speaks of the *stazione appaltante*);
//! - the value bands of c.3 (optional, set by the SUA): with bands, only awards in the same band count;
//! - how many consecutive awards make an operator "outgoing" (`streak`, 1 by default: the last awardee);
//! - the c.6 exemption for direct awards below 5,000 euro;
//! - whether an override under c.4 needs, besides its reasons, the RUP's attestation of the quality of the
//!   previous performance (required since the correttivo, D.Lgs. 209/2024, whose exact wording the
//!   reference did not read).
//!
//! Negotiated procedures whose market survey set no cap on the number of invitees are exempt (c.5).
//!
//! The history passed in must hold the awards already made, not the one being checked.

use crate::model::{Category, OperatorId};
use chrono::NaiveDate;
use domain::money::Euro;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The article excluding the outgoing contractor.
pub const ART_49_C2: &str = "art. 49 c.2 D.Lgs. 36/2023";
/// The article allowing a motivated override.
pub const ART_49_C4: &str = "art. 49 c.4 D.Lgs. 36/2023";
/// The exemption for uncapped market surveys.
pub const ART_49_C5: &str = "art. 49 c.5 D.Lgs. 36/2023";
/// The exemption for small direct awards.
pub const ART_49_C6: &str = "art. 49 c.6 D.Lgs. 36/2023";

/// Who buys: the Province (the SUA itself) or a municipality through the SUA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Buyer {
    pub province: Uuid,
    /// `None`: the Province's own contract.
    pub municipality: Option<Uuid>,
}

/// A past award, as the rotation rule and the counters see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwardRecord {
    pub operator: OperatorId,
    pub category: Category,
    pub amount: Euro,
    pub date: NaiveDate,
    pub buyer: Buyer,
}

/// Whose awards count for the rotation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RotationScope {
    /// Every award made through the SUA (same Province), whatever the municipality.
    Sua,
    /// Only awards for the same buyer (municipality, or the Province's own contracts).
    #[default]
    Buyer,
}

/// The rotation parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationRules {
    pub scope: RotationScope,
    /// Upper edges of the value bands of c.3, ascending (band `i` holds amounts `< bands[i]` and `≥` the previous
    /// edge); empty: a single band.
    pub bands: Vec<Euro>,
    /// How many consecutive awards in the same sector (and band) make their operator outgoing; at least 1.
    pub streak: u32,
    /// C.6: direct awards below this amount are exempt (`None`: no exemption).
    pub direct_award_exemption_below: Option<Euro>,
    /// C.4 after the correttivo: an override also needs the RUP's attestation of the previous performance.
    pub require_quality_attestation: bool,
}

impl Default for RotationRules {
    fn default() -> Self {
        RotationRules {
            scope: RotationScope::default(),
            bands: Vec::new(),
            streak: 1,
            direct_award_exemption_below: Some(
                Euro::from_cents(500_000).expect("positive literal"),
            ),
            require_quality_attestation: true,
        }
    }
}

impl RotationRules {
    /// The band of `amount` (0 when there are no bands).
    pub fn band_of(&self, amount: Euro) -> usize {
        self.bands.iter().filter(|&&edge| edge <= amount).count()
    }
}

/// The kind of award the rotation check is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardKind {
    /// Affidamento diretto (art. 50 c.1 lett. a–b).
    DirectAward,
    /// Procedura negoziata with invitees chosen from the register or a capped market survey.
    Negotiated,
    /// Procedura negoziata after a market survey with no cap on the number of invitees (c.5: exempt).
    NegotiatedUncappedSurvey,
}

/// The award being prepared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationContext {
    pub category: Category,
    pub amount: Euro,
    pub date: NaiveDate,
    pub buyer: Buyer,
    pub kind: AwardKind,
}

/// A motivated decision to invite or award the outgoing contractor anyway (c.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationOverride {
    pub operator: OperatorId,
    /// The reasons: market structure, effective absence of alternatives, accurate execution of the previous
    /// contract.
    pub reason: String,
    /// The RUP's attestation of the quality of the previous performance.
    pub quality_attestation: Option<String>,
}

/// An operator excluded by the rotation rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exclusion {
    pub operator: OperatorId,
    pub article: &'static str,
    pub reason: String,
}

/// What the rotation rule did to a list of candidates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationOutcome {
    /// The candidates that remain, in their input order.
    pub kept: Vec<OperatorId>,
    pub excluded: Vec<Exclusion>,
    /// Overrides applied: the outgoing contractor kept with recorded reasons.
    pub overridden: Vec<RotationOverride>,
    /// The article exempting this award from rotation, if any.
    pub exempt_by: Option<&'static str>,
}

/// A refused rotation check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    #[error("reason: the override for operator {0} has no reason ({ART_49_C4} requires one)")]
    EmptyOverrideReason(OperatorId),
    #[error(
        "quality_attestation: the override for operator {0} lacks the RUP's attestation of the quality of the previous performance ({ART_49_C4})"
    )]
    MissingQualityAttestation(OperatorId),
    #[error("operator: {0} is not the outgoing contractor; no override is needed or allowed")]
    OverrideNotNeeded(OperatorId),
    #[error("streak: must be at least 1")]
    ZeroStreak,
}

/// The outgoing contractor for `ctx` (the operator who won the last `streak` awards in the same sector, band
/// and scope, up to and including `ctx.date`), with the date of their last award. History order breaks ties
/// between awards of the same day (later in the slice = later award).
pub fn outgoing_contractor(
    history: &[AwardRecord],
    ctx: &RotationContext,
    rules: &RotationRules,
) -> Result<Option<(OperatorId, NaiveDate)>, RotationError> {
    if rules.streak == 0 {
        return Err(RotationError::ZeroStreak);
    }
    let band = rules.band_of(ctx.amount);
    let mut relevant: Vec<(usize, &AwardRecord)> = history
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            a.category == ctx.category
                && a.date <= ctx.date
                && rules.band_of(a.amount) == band
                && match rules.scope {
                    RotationScope::Sua => a.buyer.province == ctx.buyer.province,
                    RotationScope::Buyer => a.buyer == ctx.buyer,
                }
        })
        .collect();
    relevant.sort_by_key(|(i, a)| (a.date, *i));
    let streak = rules.streak as usize;
    if relevant.len() < streak {
        return Ok(None);
    }
    let last = &relevant[relevant.len() - streak..];
    let operator = last[0].1.operator;
    if last.iter().all(|(_, a)| a.operator == operator) {
        Ok(Some((operator, last[streak - 1].1.date)))
    } else {
        Ok(None)
    }
}

/// Applies the rotation rule to `candidates` (invitees or the direct awardee).
///
/// Refused: an override with a blank reason, one without the quality attestation when the rules require it,
/// and an override for an operator who is not the outgoing contractor.
pub fn apply_rotation(
    candidates: &[OperatorId],
    history: &[AwardRecord],
    ctx: &RotationContext,
    rules: &RotationRules,
    overrides: &[RotationOverride],
) -> Result<RotationOutcome, RotationError> {
    for o in overrides {
        if o.reason.trim().is_empty() {
            return Err(RotationError::EmptyOverrideReason(o.operator));
        }
        if rules.require_quality_attestation
            && o.quality_attestation
                .as_deref()
                .is_none_or(|a| a.trim().is_empty())
        {
            return Err(RotationError::MissingQualityAttestation(o.operator));
        }
    }
    let exempt_by = match ctx.kind {
        AwardKind::NegotiatedUncappedSurvey => Some(ART_49_C5),
        AwardKind::DirectAward
            if rules
                .direct_award_exemption_below
                .is_some_and(|limit| ctx.amount < limit) =>
        {
            Some(ART_49_C6)
        }
        _ => None,
    };
    let outgoing = if exempt_by.is_some() {
        None
    } else {
        outgoing_contractor(history, ctx, rules)?
    };
    if let Some(o) = overrides
        .iter()
        .find(|o| outgoing.is_none_or(|(op, _)| op != o.operator))
    {
        return Err(RotationError::OverrideNotNeeded(o.operator));
    }
    let mut outcome = RotationOutcome {
        kept: Vec::with_capacity(candidates.len()),
        excluded: Vec::new(),
        overridden: Vec::new(),
        exempt_by,
    };
    for &c in candidates {
        match outgoing {
            Some((op, last_date)) if op == c => {
                if let Some(o) = overrides.iter().find(|o| o.operator == c) {
                    outcome.kept.push(c);
                    outcome.overridden.push(o.clone());
                } else {
                    outcome.excluded.push(Exclusion {
                        operator: c,
                        article: ART_49_C2,
                        reason: format!(
                            "outgoing contractor: won the last {} award(s) in category {} and the same value band, the last on {}",
                            rules.streak, ctx.category, last_date
                        ),
                    });
                }
            }
            _ => outcome.kept.push(c),
        }
    }
    Ok(outcome)
}
