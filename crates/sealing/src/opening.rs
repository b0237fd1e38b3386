//! The opening rule: may envelope K of this bid be decrypted now?
//!
//! [`authorize_opening`] is the only way to get an [`OpeningPermit`], and a permit is the only way
//! to get an [`crate::OpeningKey`]. The facts are passed in by the service (it maps the lot's
//! lifecycle state to [`LotOpeningState`]); the time is passed in too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::context::{EnvelopeContext, EnvelopeKind};

/// Award criterion of the lot: the one enum of `domain` (the lifecycle machines use it too).
pub use domain::award::AwardCriterion;

/// Order in which envelopes are examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpeningSequence {
    /// A, then (after admission) B, then (after technical scores are frozen) C.
    Standard,
    /// Inversione procedimentale (art. 107 c.3 D.Lgs. 36/2023, open procedures, if the lex
    /// specialis provides it): offers (B, then C) first, administrative documentation (A) after
    /// the economic ranking. How exactly it applies is a choice of the tender documents; see
    /// docs/sealing.md.
    InversioneProcedimentale,
}

/// Status of the lot as far as opening goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LotStatus {
    Active,
    /// Suspended (e.g. by a court order): no opening until resumed.
    Suspended,
    /// Cancelled or deserted: sealed envelopes stay sealed.
    Closed,
}

/// Milestones of the lot's evaluation, each reached (true) or not. Provided by the service from
/// the lifecycle crate's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Milestones {
    /// The first public session (seduta di apertura) has started.
    pub opening_session_started: bool,
    /// Admissions and exclusions after busta A are decided (provvedimento di ammissione).
    pub admission_decided: bool,
    /// Technical scores are frozen (commissione closed the evaluation of busta B).
    pub technical_scores_frozen: bool,
    /// Only for inversione procedimentale: the economic ranking is done.
    pub economic_ranking_done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotOpeningState {
    pub criterion: AwardCriterion,
    pub sequence: OpeningSequence,
    pub status: LotStatus,
    /// Deadline for the submission of bids (termine di presentazione delle offerte).
    pub deadline: DateTime<Utc>,
    pub milestones: Milestones,
}

/// Which version of the bid this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BidStanding {
    /// The last submitted version: the one that counts.
    Current,
    /// Replaced by a later version: never opened.
    Superseded,
    /// Withdrawn before the deadline: never opened.
    Withdrawn,
}

/// Outcome of the admission checks for this bid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    Pending,
    Admitted,
    /// Excluded (administrative or technical, e.g. below the soglia di sbarramento): its later
    /// envelopes are never opened.
    Excluded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidOpeningState {
    pub standing: BidStanding,
    pub admission: Admission,
}

/// Why an envelope may not be opened. Every variant is a normal business refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum OpeningRefusal {
    #[error("the deadline for bids ({deadline}) has not passed")]
    BeforeDeadline { deadline: DateTime<Utc> },
    #[error("the lot is suspended")]
    LotSuspended,
    #[error("the lot is cancelled or deserted: envelopes stay sealed")]
    LotClosed,
    #[error("this bid version was replaced by a later one and is never opened")]
    Superseded,
    #[error("this bid was withdrawn and is never opened")]
    Withdrawn,
    #[error("a lowest-price lot has no technical envelope")]
    NoTechnicalEnvelope,
    #[error("the opening session has not started")]
    SessionNotStarted,
    #[error("admissions after busta A are not decided yet")]
    AdmissionNotDecided,
    #[error("technical scores are not frozen yet")]
    TechnicalScoresNotFrozen,
    #[error("the economic ranking is not done yet (inversione procedimentale)")]
    EconomicRankingNotDone,
    #[error("the admission of this bid is still pending")]
    AdmissionPending,
    #[error("this bid is excluded: its {0} is never opened")]
    BidExcluded(EnvelopeKind),
}

/// Proof that opening one envelope was authorized. Not `Clone`, not deserializable: only
/// [`authorize_opening`] makes one, and it is good for exactly the envelope it names.
#[derive(Debug)]
pub struct OpeningPermit {
    ctx: EnvelopeContext,
    at: DateTime<Utc>,
}

impl OpeningPermit {
    pub fn context(&self) -> &EnvelopeContext {
        &self.ctx
    }

    /// The instant the opening was authorized (for the audit entry).
    pub fn authorized_at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// The pure rule. `now` is the server's trusted time.
pub fn may_open(
    kind: EnvelopeKind,
    lot: &LotOpeningState,
    bid: &BidOpeningState,
    now: DateTime<Utc>,
) -> Result<(), OpeningRefusal> {
    use OpeningRefusal as R;
    if now < lot.deadline {
        return Err(R::BeforeDeadline {
            deadline: lot.deadline,
        });
    }
    match lot.status {
        LotStatus::Active => {}
        LotStatus::Suspended => return Err(R::LotSuspended),
        LotStatus::Closed => return Err(R::LotClosed),
    }
    match bid.standing {
        BidStanding::Current => {}
        BidStanding::Superseded => return Err(R::Superseded),
        BidStanding::Withdrawn => return Err(R::Withdrawn),
    }
    let m = &lot.milestones;
    if !m.opening_session_started {
        return Err(R::SessionNotStarted);
    }
    let quality = lot.criterion == AwardCriterion::QualityPrice;
    if kind == EnvelopeKind::Technical && !quality {
        return Err(R::NoTechnicalEnvelope);
    }
    let require_admitted = |bid: &BidOpeningState| match bid.admission {
        Admission::Admitted => Ok(()),
        Admission::Pending => Err(R::AdmissionPending),
        Admission::Excluded => Err(R::BidExcluded(kind)),
    };
    let not_excluded = |bid: &BidOpeningState| match bid.admission {
        Admission::Excluded => Err(R::BidExcluded(kind)),
        _ => Ok(()),
    };
    match (lot.sequence, kind) {
        (OpeningSequence::Standard, EnvelopeKind::Administrative) => Ok(()),
        (OpeningSequence::Standard, EnvelopeKind::Technical) => {
            if !m.admission_decided {
                return Err(R::AdmissionNotDecided);
            }
            require_admitted(bid)
        }
        (OpeningSequence::Standard, EnvelopeKind::Economic) => {
            if !m.admission_decided {
                return Err(R::AdmissionNotDecided);
            }
            if quality && !m.technical_scores_frozen {
                return Err(R::TechnicalScoresNotFrozen);
            }
            require_admitted(bid)
        }
        (OpeningSequence::InversioneProcedimentale, EnvelopeKind::Technical) => not_excluded(bid),
        (OpeningSequence::InversioneProcedimentale, EnvelopeKind::Economic) => {
            if quality && !m.technical_scores_frozen {
                return Err(R::TechnicalScoresNotFrozen);
            }
            not_excluded(bid)
        }
        (OpeningSequence::InversioneProcedimentale, EnvelopeKind::Administrative) => {
            if !m.economic_ranking_done {
                return Err(R::EconomicRankingNotDone);
            }
            Ok(())
        }
    }
}

/// Applies [`may_open`] to `ctx.kind` and returns the permit the key ring asks for.
/// The service writes the audit entry (who, which envelope, `permit.authorized_at()`) before
/// using the permit.
pub fn authorize_opening(
    ctx: &EnvelopeContext,
    lot: &LotOpeningState,
    bid: &BidOpeningState,
    now: DateTime<Utc>,
) -> Result<OpeningPermit, OpeningRefusal> {
    may_open(ctx.kind, lot, bid, now)?;
    Ok(OpeningPermit {
        ctx: ctx.clone(),
        at: now,
    })
}
