//! The SUA's register of economic operators (*elenchi di operatori economici*) and the pure rules built on
//! it: who is eligible for a procedure, the rotation principle (art. 49 D.Lgs. 36/2023), the reproducible draw
//! of invitees for negotiated procedures without notice (art. 50 c.1 lett. c–e), the checks of a direct award
//! (lett. a–b), expiry reminders and per-operator counters.
//!
//! Pure: no I/O, no clock, no randomness of its own. Dates, seeds and history are passed in; the same input
//! always gives the same output, so a draw can be replayed from its seed and eligible list.
//!
//! # Uncertain legal points, made configurable
//! - Rotation ([`rotation`]): whose awards count (whole SUA or same buyer, [`rotation::RotationScope`]); value
//!   bands (c.3); how many consecutive awards make the contractor "outgoing" (default 1: the previous award,
//!   TAR Sicilia 1099/2024); the c.6 exemption below 5,000 euro; whether an override (c.4) needs the RUP's
//!   attestation of the previous performance's quality (correttivo D.Lgs. 209/2024, exact wording unread).
//! - Sector for services and supplies: the CPV division (the law does not define *settore merceologico*).
//! - Art. 50 c.1 "*ove esistenti*": refuse (default) or invite everyone when fewer operators than the minimum
//!   are eligible ([`selection::SelectionConfig::invite_all_when_fewer_exist`]).
//! - Art. 50 c.2: a random draw only "in situazioni particolari e specificamente motivate": a motivation is
//!   required by default.
//! - SOA: class limits as data, the one-fifth increase of art. 61 c.2 d.P.R. 207/2010 switchable, SOA required
//!   from 150,000 euro.
//!
//! The minimum number of invitees comes from `domain::thresholds` (dated art. 50 bands), not from constants.

pub mod counters;
pub mod draw;
pub mod eligibility;
pub mod model;
pub mod rotation;
pub mod selection;

pub use draw::{Draw, DrawError, draw};
pub use eligibility::{EligibilityQuery, EligibilityRules, Ineligible, Register, reminders_due};
pub use model::{
    Category, CpvDivision, Listing, ListingStatus, OperatorId, Qualification, SoaCategory,
    SoaClass, SoaClassLimits, Territory,
};
pub use rotation::{
    AwardKind, AwardRecord, Buyer, RotationContext, RotationOverride, RotationRules, RotationScope,
    apply_rotation,
};
pub use selection::{
    DirectAwardRequest, ProcedureRequest, Selection, SelectionConfig, SelectionError,
    SelectionMode, check_direct_award, invitees_visible, select_invitees,
};
