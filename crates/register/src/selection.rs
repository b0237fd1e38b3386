//! Choosing whom to invite to a negotiated procedure (art. 50 c.1 lett. c–e), checking a direct award
//! (lett. a–b), and who may see the invited list.

use crate::draw::{Draw, DrawError, draw};
use crate::eligibility::{EligibilityQuery, EligibilityRules, Register};
use crate::model::{Category, OperatorId};
use crate::rotation::{
    AwardKind, AwardRecord, Buyer, Exclusion, RotationContext, RotationError, RotationOutcome,
    RotationOverride, RotationRules, apply_rotation,
};
use chrono::{DateTime, NaiveDate, Utc};
use domain::ids::NutsCode;
use domain::money::Euro;
use domain::thresholds::{BandDecision, ThresholdError, ThresholdScope, ThresholdTable};
use serde::{Deserialize, Serialize};

/// The article allowing a random draw only in motivated cases.
pub const ART_50_C2: &str = "art. 50 c.2 D.Lgs. 36/2023";

/// Everything configurable about a selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionConfig {
    pub eligibility: EligibilityRules,
    pub rotation: RotationRules,
    /// Art. 50 c.2: a random draw needs a specific motivation ("situazioni particolari e specificamente
    /// motivate").
    pub require_draw_motivation: bool,
    /// Art. 50 c.1 c–e says "at least 5 [10] operators, *ove esistenti*" (where they exist). `false` (default):
    /// fewer eligible operators than the minimum is refused; `true`: all eligible operators are invited.
    pub invite_all_when_fewer_exist: bool,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        SelectionConfig {
            eligibility: EligibilityRules::default(),
            rotation: RotationRules::default(),
            require_draw_motivation: true,
            invite_all_when_fewer_exist: false,
        }
    }
}

/// The procedure the invitees are for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcedureRequest {
    pub category: Category,
    /// Estimated value, net of VAT.
    pub amount: Euro,
    /// The date of the selection (thresholds, listing validity and rotation history are taken at this date).
    pub date: NaiveDate,
    pub buyer: Buyer,
    /// `Some(area)`: only operators listed for a territory covering `area`.
    pub territory: Option<NutsCode>,
    /// Thresholds scope; `None`: a sub-central ordinary-sector contract of the category's object.
    pub scope: Option<ThresholdScope>,
}

impl ProcedureRequest {
    fn scope(&self) -> ThresholdScope {
        self.scope
            .unwrap_or_else(|| ThresholdScope::sub_central(self.category.contract_object()))
    }

    fn rotation_context(&self, kind: AwardKind) -> RotationContext {
        RotationContext {
            category: self.category,
            amount: self.amount,
            date: self.date,
            buyer: self.buyer,
            kind,
        }
    }
}

/// How invitees are chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum SelectionMode {
    /// Random draw of `invitees` among the eligible operators of the register.
    Draw {
        invitees: usize,
        #[serde(with = "hex::serde")]
        seed: [u8; 32],
        motivation: String,
    },
    /// Indagine di mercato: everyone who answered is invited (their requirements are verified by the buyer).
    /// `capped`: the survey notice limited the number of operators to invite (then rotation applies, c.5).
    MarketSurvey {
        respondents: Vec<OperatorId>,
        capped: bool,
    },
}

/// The result of a selection, for the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub band: BandDecision,
    /// Candidates before rotation: the eligible operators (draw) or the respondents (survey), sorted.
    pub candidates: Vec<OperatorId>,
    pub rotation: RotationOutcome,
    pub draw: Option<Draw>,
    /// The operators to invite.
    pub invited: Vec<OperatorId>,
}

/// A refused selection or direct award.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectionError {
    #[error(transparent)]
    Threshold(#[from] ThresholdError),
    #[error(
        "amount: {amount} euro falls in {article}, not a negotiated procedure without notice (art. 50 c.1 lett. c–e)"
    )]
    NotNegotiatedBand { amount: Euro, article: &'static str },
    #[error("invitees: {requested} requested, the minimum for {article} is {minimum}")]
    BelowLegalMinimum {
        requested: usize,
        minimum: usize,
        article: &'static str,
    },
    #[error(
        "invitees: {available} eligible operators after rotation, {required} required; selection refused"
    )]
    NotEnoughEligible { available: usize, required: usize },
    #[error("motivation: a random draw needs a specific motivation ({ART_50_C2})")]
    MissingDrawMotivation,
    #[error("respondents: nobody answered the market survey")]
    NoRespondents,
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error(transparent)]
    Draw(#[from] DrawError),
    #[error("reasons: a direct award must record its reasons")]
    MissingReasons,
    #[error(
        "amount: {amount} euro falls in {article}, not a direct award band (art. 50 c.1 lett. a–b)"
    )]
    NotDirectAwardBand { amount: Euro, article: &'static str },
    #[error("contractor: {} is excluded: {} ({})", .0.operator, .0.reason, .0.article)]
    Rotated(Exclusion),
}

/// Selects the invitees of a negotiated procedure.
///
/// Checks, in order: the art. 50 band of the amount at the date (must be lett. c, d or e); for a draw, the
/// motivation (art. 50 c.2) and that the number requested reaches the legal minimum; eligibility in the
/// register; rotation (art. 49, with overrides); enough operators left; then the draw.
pub fn select_invitees(
    register: &Register,
    history: &[AwardRecord],
    request: &ProcedureRequest,
    mode: &SelectionMode,
    overrides: &[RotationOverride],
    config: &SelectionConfig,
    thresholds: &ThresholdTable,
) -> Result<Selection, SelectionError> {
    let band = thresholds.band(request.date, request.scope(), request.amount.to_decimal())?;
    let minimum = band.min_invitees.ok_or(SelectionError::NotNegotiatedBand {
        amount: request.amount,
        article: band.band.article(),
    })? as usize;
    match mode {
        SelectionMode::Draw {
            invitees,
            seed,
            motivation,
        } => {
            if config.require_draw_motivation && motivation.trim().is_empty() {
                return Err(SelectionError::MissingDrawMotivation);
            }
            if *invitees < minimum {
                return Err(SelectionError::BelowLegalMinimum {
                    requested: *invitees,
                    minimum,
                    article: band.band.article(),
                });
            }
            let query = EligibilityQuery {
                category: request.category,
                amount: request.amount,
                date: request.date,
                territory: request.territory.clone(),
            };
            let candidates = register.eligible(&query, &config.eligibility);
            let rotation = apply_rotation(
                &candidates,
                history,
                &request.rotation_context(AwardKind::Negotiated),
                &config.rotation,
                overrides,
            )?;
            let mut n = *invitees;
            if rotation.kept.len() < n {
                if config.invite_all_when_fewer_exist && !rotation.kept.is_empty() {
                    n = rotation.kept.len();
                } else {
                    return Err(SelectionError::NotEnoughEligible {
                        available: rotation.kept.len(),
                        required: n,
                    });
                }
            }
            let d = draw(&rotation.kept, n, *seed)?;
            Ok(Selection {
                band,
                candidates,
                invited: d.invited.clone(),
                draw: Some(d),
                rotation,
            })
        }
        SelectionMode::MarketSurvey {
            respondents,
            capped,
        } => {
            let mut candidates = respondents.clone();
            candidates.sort_unstable();
            candidates.dedup();
            if candidates.is_empty() {
                return Err(SelectionError::NoRespondents);
            }
            let kind = if *capped {
                AwardKind::Negotiated
            } else {
                AwardKind::NegotiatedUncappedSurvey
            };
            let rotation = apply_rotation(
                &candidates,
                history,
                &request.rotation_context(kind),
                &config.rotation,
                overrides,
            )?;
            let may_invite_fewer = config.invite_all_when_fewer_exist && !rotation.kept.is_empty();
            if rotation.kept.len() < minimum && !may_invite_fewer {
                return Err(SelectionError::NotEnoughEligible {
                    available: rotation.kept.len(),
                    required: minimum,
                });
            }
            Ok(Selection {
                band,
                invited: rotation.kept.clone(),
                candidates,
                draw: None,
                rotation,
            })
        }
    }
}

/// A proposed direct award (affidamento diretto).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectAwardRequest {
    pub contractor: OperatorId,
    pub procedure: ProcedureRequest,
    /// The recorded reasons for the choice of the contractor.
    pub reasons: String,
}

/// An accepted direct award, for the decision's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectAwardDecision {
    pub band: BandDecision,
    pub rotation: RotationOutcome,
    pub reasons: String,
}

/// Checks a direct award: recorded reasons, the amount in the direct-award band (art. 50 c.1 lett. a–b) at the
/// date, and the rotation rule (art. 49, exemption c.6 and overrides c.4).
pub fn check_direct_award(
    request: &DirectAwardRequest,
    history: &[AwardRecord],
    overrides: &[RotationOverride],
    rules: &RotationRules,
    thresholds: &ThresholdTable,
) -> Result<DirectAwardDecision, SelectionError> {
    if request.reasons.trim().is_empty() {
        return Err(SelectionError::MissingReasons);
    }
    let p = &request.procedure;
    let band = thresholds.band(p.date, p.scope(), p.amount.to_decimal())?;
    if !band.band.is_direct_award() {
        return Err(SelectionError::NotDirectAwardBand {
            amount: p.amount,
            article: band.band.article(),
        });
    }
    let mut rotation = apply_rotation(
        &[request.contractor],
        history,
        &p.rotation_context(AwardKind::DirectAward),
        rules,
        overrides,
    )?;
    if let Some(excluded) = rotation.excluded.pop() {
        return Err(SelectionError::Rotated(excluded));
    }
    Ok(DirectAwardDecision {
        band,
        rotation,
        reasons: request.reasons.clone(),
    })
}

/// Who asks to see the invited list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    /// The buyer (SUA / municipality staff of the procedure).
    Buyer,
    /// An operator, invited or not.
    Bidder,
    Public,
}

/// Art. 35 c.2 lett. b: access to the list of invited operators is deferred until the deadline for offers;
/// before it only the buyer sees it.
pub fn invitees_visible(viewer: Viewer, now: DateTime<Utc>, deadline: DateTime<Utc>) -> bool {
    viewer == Viewer::Buyer || now >= deadline
}
