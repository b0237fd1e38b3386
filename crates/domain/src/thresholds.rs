//! Dated thresholds: the EU thresholds of art. 14 D.Lgs. 36/2023 and the art. 50 c.1 bands, as data.
//!
//! Thresholds are not constants: the Commission revises the EU ones every two years (Delegated Regulations),
//! and the value that applies is the one in force on the date the procedure starts (the caller chooses which
//! date that is). Every period has `valid_from` / `valid_to` (inclusive); a date outside every period is an
//! error naming the date, never a silent fallback.
//!
//! Amounts are exact euro values (`Decimal`), net of VAT. A contract is *above* a threshold when its estimated
//! value is equal to or greater than it (art. 14 c.1 "pari o superiore").

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The object of a contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractObject {
    Works,
    Services,
    Supplies,
}

impl ContractObject {
    pub const ALL: [ContractObject; 3] = [Self::Works, Self::Services, Self::Supplies];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Works => "works",
            Self::Services => "services",
            Self::Supplies => "supplies",
        }
    }
}

impl std::fmt::Display for ContractObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ContractObject {
    type Err = ThresholdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| ThresholdError::UnknownContractObject(s.to_owned()))
    }
}

/// Which EU threshold for supplies and services applies to the contracting authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthorityKind {
    /// Central government authorities (Annex I dir. 2014/24).
    Central,
    /// Sub-central authorities: Province, Comuni, and an SUA acting for them.
    #[default]
    SubCentral,
}

/// Ordinary or special (utilities) sectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    #[default]
    Ordinary,
    Special,
}

/// What is being bought, as far as thresholds are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ThresholdScope {
    pub object: ContractObject,
    pub authority: AuthorityKind,
    pub sector: Sector,
    /// Social and other specific services of Annex XIV dir. 2014/24 (threshold 750,000).
    pub social_services: bool,
}

impl ThresholdScope {
    /// An ordinary-sector contract of a sub-central authority (the usual case for an SUA).
    pub fn sub_central(object: ContractObject) -> Self {
        ThresholdScope {
            object,
            authority: AuthorityKind::SubCentral,
            sector: Sector::Ordinary,
            social_services: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ThresholdError {
    #[error("date: no EU threshold period (art. 14) in the table covers {0}")]
    NoEuPeriod(NaiveDate),
    #[error("date: no art. 50 band period in the table covers {0}")]
    NoArt50Period(NaiveDate),
    #[error("valid_to: period starting {from} ends {to}, before it starts")]
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
    #[error("valid_from: period starting {0} overlaps the previous period")]
    Overlap(NaiveDate),
    #[error("value: {0} is negative")]
    NegativeValue(Decimal),
    #[error("{field}: band limits must be positive and increasing")]
    BadBands { field: &'static str },
    #[error("object: '{0}' is not one of works, services, supplies")]
    UnknownContractObject(String),
}

/// The EU thresholds (art. 14 c.1) for one two-year period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EuThresholds {
    pub valid_from: NaiveDate,
    pub valid_to: NaiveDate,
    /// Works, and works/services concessions.
    pub works: Decimal,
    /// Supplies, services and design contests of central government authorities.
    pub supplies_services_central: Decimal,
    /// Supplies, services and design contests of sub-central authorities.
    pub supplies_services_sub_central: Decimal,
    /// Social and other specific services (Annex XIV dir. 2014/24); fixed in the directive.
    pub social_services: Decimal,
    pub special_sectors_supplies_services: Decimal,
    pub special_sectors_works: Decimal,
    pub source: String,
}

impl EuThresholds {
    /// The threshold that applies to `scope`.
    pub fn for_scope(&self, scope: ThresholdScope) -> Decimal {
        match (scope.sector, scope.object) {
            (Sector::Special, ContractObject::Works) => self.special_sectors_works,
            (Sector::Special, _) if scope.social_services => self.social_services,
            (Sector::Special, _) => self.special_sectors_supplies_services,
            (Sector::Ordinary, ContractObject::Works) => self.works,
            (Sector::Ordinary, _) if scope.social_services => self.social_services,
            (Sector::Ordinary, _) => match scope.authority {
                AuthorityKind::Central => self.supplies_services_central,
                AuthorityKind::SubCentral => self.supplies_services_sub_central,
            },
        }
    }
}

/// The art. 50 c.1 bands (national figures fixed by the code, not linked to the EU thresholds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Art50Bands {
    pub valid_from: NaiveDate,
    /// `None`: still in force.
    pub valid_to: Option<NaiveDate>,
    /// Lett. a): direct award of works below this value.
    pub direct_award_works: Decimal,
    /// Lett. b): direct award of services and supplies below this value.
    pub direct_award_services_supplies: Decimal,
    /// Lett. c)/d): works from this value up to the EU threshold need 10 invitees instead of 5.
    pub works_ten_invitees_from: Decimal,
    /// Invitees for lett. c) and e).
    pub invitees_low: u32,
    /// Invitees for lett. d).
    pub invitees_high: u32,
    pub source: String,
}

/// Where a contract value falls under art. 50 c.1 (or above the EU threshold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Art50Band {
    /// Lett. a): works below 150,000 — affidamento diretto.
    LettA,
    /// Lett. b): services and supplies below 140,000 — affidamento diretto.
    LettB,
    /// Lett. c): works 150,000 to < 1,000,000 — negoziata senza bando, at least 5 operators.
    LettC,
    /// Lett. d): works 1,000,000 to < EU threshold — negoziata senza bando, at least 10 operators.
    LettD,
    /// Lett. e): services and supplies 140,000 to < EU threshold — negoziata senza bando, at least 5.
    LettE,
    /// Value equal to or above the EU threshold of art. 14: Part IV procedures.
    AboveEuThreshold,
}

impl Art50Band {
    pub fn is_direct_award(self) -> bool {
        matches!(self, Self::LettA | Self::LettB)
    }
    pub fn is_below_eu_threshold(self) -> bool {
        !matches!(self, Self::AboveEuThreshold)
    }
    /// The article reference, e.g. "art. 50 c.1 lett. c)".
    pub fn article(self) -> &'static str {
        match self {
            Self::LettA => "art. 50 c.1 lett. a)",
            Self::LettB => "art. 50 c.1 lett. b)",
            Self::LettC => "art. 50 c.1 lett. c)",
            Self::LettD => "art. 50 c.1 lett. d)",
            Self::LettE => "art. 50 c.1 lett. e)",
            Self::AboveEuThreshold => "art. 14 c.1",
        }
    }
}

/// A band with the figures that produced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandDecision {
    pub band: Art50Band,
    /// The EU threshold applied.
    pub eu_threshold: Decimal,
    /// Minimum operators to consult for lett. c)–e) ("ove esistenti"); `None` otherwise.
    pub min_invitees: Option<u32>,
}

/// Every dated threshold the engine knows. Deserialising runs the checks of [`ThresholdTable::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTable")]
pub struct ThresholdTable {
    eu: Vec<EuThresholds>,
    art50: Vec<Art50Bands>,
}

#[derive(Deserialize)]
struct RawTable {
    eu: Vec<EuThresholds>,
    art50: Vec<Art50Bands>,
}

impl TryFrom<RawTable> for ThresholdTable {
    type Error = ThresholdError;
    fn try_from(raw: RawTable) -> Result<Self, Self::Error> {
        ThresholdTable::new(raw.eu, raw.art50)
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid literal date")
}

impl Default for ThresholdTable {
    fn default() -> Self {
        Self::official()
    }
}

impl ThresholdTable {
    /// The periods in force as known to this release: EU thresholds 2024–2025 (Delegated Regulations (EU)
    /// 2023/2495–2497) and 2026–2027 (Delegated Regulations (EU) 2025/2150–2152), art. 50 bands since the code
    /// took effect (1 July 2023, art. 229 c.2).
    pub fn official() -> Self {
        let d = |n: i64| Decimal::from(n);
        let eu = vec![
            EuThresholds {
                valid_from: ymd(2024, 1, 1),
                valid_to: ymd(2025, 12, 31),
                works: d(5_538_000),
                supplies_services_central: d(143_000),
                supplies_services_sub_central: d(221_000),
                social_services: d(750_000),
                special_sectors_supplies_services: d(443_000),
                special_sectors_works: d(5_538_000),
                source: "Delegated Regulations (EU) 2023/2495, 2023/2496, 2023/2497".to_owned(),
            },
            EuThresholds {
                valid_from: ymd(2026, 1, 1),
                valid_to: ymd(2027, 12, 31),
                works: d(5_404_000),
                supplies_services_central: d(140_000),
                supplies_services_sub_central: d(216_000),
                social_services: d(750_000),
                special_sectors_supplies_services: d(432_000),
                special_sectors_works: d(5_404_000),
                source: "Delegated Regulations (EU) 2025/2150, 2025/2151, 2025/2152".to_owned(),
            },
        ];
        let art50 = vec![Art50Bands {
            valid_from: ymd(2023, 7, 1),
            valid_to: None,
            direct_award_works: d(150_000),
            direct_award_services_supplies: d(140_000),
            works_ten_invitees_from: d(1_000_000),
            invitees_low: 5,
            invitees_high: 10,
            source: "D.Lgs. 36/2023 art. 50 c.1 (bands unchanged by D.Lgs. 209/2024)".to_owned(),
        }];
        ThresholdTable { eu, art50 }
    }

    /// A table from custom periods (e.g. a future revision loaded from configuration). Periods are sorted and
    /// must not overlap.
    pub fn new(
        mut eu: Vec<EuThresholds>,
        mut art50: Vec<Art50Bands>,
    ) -> Result<Self, ThresholdError> {
        eu.sort_by_key(|p| p.valid_from);
        art50.sort_by_key(|p| p.valid_from);
        let mut prev_end: Option<NaiveDate> = None;
        for p in &eu {
            if p.valid_to < p.valid_from {
                return Err(ThresholdError::EmptyPeriod {
                    from: p.valid_from,
                    to: p.valid_to,
                });
            }
            if prev_end.is_some_and(|e| p.valid_from <= e) {
                return Err(ThresholdError::Overlap(p.valid_from));
            }
            let amounts = [
                p.works,
                p.supplies_services_central,
                p.supplies_services_sub_central,
                p.social_services,
                p.special_sectors_supplies_services,
                p.special_sectors_works,
            ];
            if amounts.iter().any(|a| *a <= Decimal::ZERO) {
                return Err(ThresholdError::BadBands { field: "eu" });
            }
            prev_end = Some(p.valid_to);
        }
        let mut prev_end: Option<Option<NaiveDate>> = None;
        for p in &art50 {
            if let Some(to) = p.valid_to
                && to < p.valid_from
            {
                return Err(ThresholdError::EmptyPeriod {
                    from: p.valid_from,
                    to,
                });
            }
            match prev_end {
                Some(None) => return Err(ThresholdError::Overlap(p.valid_from)),
                Some(Some(e)) if p.valid_from <= e => {
                    return Err(ThresholdError::Overlap(p.valid_from));
                }
                _ => {}
            }
            if p.direct_award_works <= Decimal::ZERO
                || p.direct_award_services_supplies <= Decimal::ZERO
                || p.works_ten_invitees_from <= p.direct_award_works
            {
                return Err(ThresholdError::BadBands { field: "art50" });
            }
            prev_end = Some(p.valid_to);
        }
        Ok(ThresholdTable { eu, art50 })
    }

    pub fn eu_periods(&self) -> &[EuThresholds] {
        &self.eu
    }

    pub fn art50_periods(&self) -> &[Art50Bands] {
        &self.art50
    }

    /// The EU thresholds in force on `date`.
    pub fn eu_at(&self, date: NaiveDate) -> Result<&EuThresholds, ThresholdError> {
        self.eu
            .iter()
            .find(|p| p.valid_from <= date && date <= p.valid_to)
            .ok_or(ThresholdError::NoEuPeriod(date))
    }

    /// The art. 50 bands in force on `date`.
    pub fn art50_at(&self, date: NaiveDate) -> Result<&Art50Bands, ThresholdError> {
        self.art50
            .iter()
            .find(|p| p.valid_from <= date && p.valid_to.is_none_or(|to| date <= to))
            .ok_or(ThresholdError::NoArt50Period(date))
    }

    /// The EU threshold for `scope` on `date`.
    pub fn eu_threshold(
        &self,
        date: NaiveDate,
        scope: ThresholdScope,
    ) -> Result<Decimal, ThresholdError> {
        Ok(self.eu_at(date)?.for_scope(scope))
    }

    /// Whether `value` is equal to or above the EU threshold for `scope` on `date`.
    pub fn is_above_eu_threshold(
        &self,
        date: NaiveDate,
        scope: ThresholdScope,
        value: Decimal,
    ) -> Result<bool, ThresholdError> {
        if value < Decimal::ZERO {
            return Err(ThresholdError::NegativeValue(value));
        }
        Ok(value >= self.eu_threshold(date, scope)?)
    }

    /// The art. 50 c.1 band of a contract of estimated value `value` on `date`.
    pub fn band(
        &self,
        date: NaiveDate,
        scope: ThresholdScope,
        value: Decimal,
    ) -> Result<BandDecision, ThresholdError> {
        if value < Decimal::ZERO {
            return Err(ThresholdError::NegativeValue(value));
        }
        let eu_threshold = self.eu_threshold(date, scope)?;
        let b = self.art50_at(date)?;
        let band = if value >= eu_threshold {
            Art50Band::AboveEuThreshold
        } else {
            match scope.object {
                ContractObject::Works if value < b.direct_award_works => Art50Band::LettA,
                ContractObject::Works if value < b.works_ten_invitees_from => Art50Band::LettC,
                ContractObject::Works => Art50Band::LettD,
                _ if value < b.direct_award_services_supplies => Art50Band::LettB,
                _ => Art50Band::LettE,
            }
        };
        let min_invitees = match band {
            Art50Band::LettC | Art50Band::LettE => Some(b.invitees_low),
            Art50Band::LettD => Some(b.invitees_high),
            _ => None,
        };
        Ok(BandDecision {
            band,
            eu_threshold,
            min_invitees,
        })
    }
}
