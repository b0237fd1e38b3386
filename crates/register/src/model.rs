//! The register's vocabulary: operators, categories (SOA for works, CPV divisions for services and
//! supplies), classification levels, territories, listings and their status.

use chrono::NaiveDate;
use domain::ids::{CPV_DIVISIONS, Cpv, NutsCode};
use domain::money::Euro;
use domain::thresholds::ContractObject;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// An economic operator (the same id as the operator's row in the service's database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OperatorId(pub Uuid);

impl fmt::Display for OperatorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a value of the register's vocabulary is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error(
        "soa_category: {0:?} is not an SOA category (OG1–OG13, OS1–OS35 with OS2-A/B, OS12-A/B, OS18-A/B, OS20-A/B)"
    )]
    SoaCategory(String),
    #[error(
        "soa_class: {0:?} is not a classification level (I, II, III, III-bis, IV, IV-bis, V, VI, VII, VIII)"
    )]
    SoaClass(String),
    #[error("cpv_division: {0:?} is not a CPV 2008 division")]
    CpvDivision(String),
    #[error("category: {0:?} is neither an SOA category nor a CPV division")]
    Category(String),
}

/// The family of an SOA category (Allegato II.12 D.Lgs. 36/2023, formerly all. A d.P.R. 207/2010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SoaFamily {
    /// Opere generali.
    OG,
    /// Opere specializzate.
    OS,
}

/// An SOA category of works: `OG1`…`OG13`, `OS1`…`OS35`, with the split categories `OS2-A`, `OS2-B`,
/// `OS12-A`, `OS12-B`, `OS18-A`, `OS18-B`, `OS20-A`, `OS20-B` (where the plain number does not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SoaCategory {
    family: SoaFamily,
    number: u8,
    variant: Option<char>,
}

const SPLIT_OS: [u8; 4] = [2, 12, 18, 20];

impl SoaCategory {
    /// Parses the canonical form, e.g. `OG1`, `OS12-A`.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        let err = || ModelError::SoaCategory(s.to_owned());
        let family = match s.get(..2) {
            Some("OG") => SoaFamily::OG,
            Some("OS") => SoaFamily::OS,
            _ => return Err(err()),
        };
        let rest = &s[2..];
        let (num, variant) = match rest.split_once('-') {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        };
        if num.is_empty()
            || num.len() > 2
            || num.starts_with('0')
            || !num.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let number: u8 = num.parse().map_err(|_| err())?;
        let variant = match variant {
            None => None,
            Some("A") => Some('A'),
            Some("B") => Some('B'),
            Some(_) => return Err(err()),
        };
        let ok = match family {
            SoaFamily::OG => (1..=13).contains(&number) && variant.is_none(),
            SoaFamily::OS => {
                (1..=35).contains(&number) && (SPLIT_OS.contains(&number) == variant.is_some())
            }
        };
        if !ok {
            return Err(err());
        }
        Ok(SoaCategory {
            family,
            number,
            variant,
        })
    }

    pub fn family(&self) -> SoaFamily {
        self.family
    }

    pub fn number(&self) -> u8 {
        self.number
    }
}

impl fmt::Display for SoaCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}{}", self.family, self.number)?;
        if let Some(v) = self.variant {
            write!(f, "-{v}")?;
        }
        Ok(())
    }
}

impl FromStr for SoaCategory {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// An SOA classification level (*classifica*), Allegato II.12 (formerly art. 61 d.P.R. 207/2010).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SoaClass {
    I,
    II,
    III,
    IIIBis,
    IV,
    IVBis,
    V,
    VI,
    VII,
    VIII,
}

impl SoaClass {
    pub const ALL: [SoaClass; 10] = [
        Self::I,
        Self::II,
        Self::III,
        Self::IIIBis,
        Self::IV,
        Self::IVBis,
        Self::V,
        Self::VI,
        Self::VII,
        Self::VIII,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::I => "I",
            Self::II => "II",
            Self::III => "III",
            Self::IIIBis => "III-bis",
            Self::IV => "IV",
            Self::IVBis => "IV-bis",
            Self::V => "V",
            Self::VI => "VI",
            Self::VII => "VII",
            Self::VIII => "VIII",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ModelError> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ModelError::SoaClass(s.to_owned()))
    }
}

impl fmt::Display for SoaClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The amount limit of each classification level, as data (the figures can change by regulation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoaClassLimits {
    /// `(class, limit)`; a class absent from the list (VIII) has no limit.
    pub limits: Vec<(SoaClass, Euro)>,
    /// Art. 61 c.2 d.P.R. 207/2010 (kept in Allegato II.12): a qualification covers works up to its class
    /// limit increased by one fifth. Set to `false` to require `amount ≤ limit` strictly.
    pub increase_by_one_fifth: bool,
}

impl SoaClassLimits {
    /// The limits of Allegato II.12 (same figures as art. 61 c.4 d.P.R. 207/2010): I 258,000; II 516,000;
    /// III 1,033,000; III-bis 1,500,000; IV 2,582,000; IV-bis 3,500,000; V 5,165,000; VI 10,329,000;
    /// VII 15,494,000; VIII unlimited.
    pub fn official() -> Self {
        let e = |euros: i64| Euro::from_cents(euros * 100).expect("positive literal");
        SoaClassLimits {
            limits: vec![
                (SoaClass::I, e(258_000)),
                (SoaClass::II, e(516_000)),
                (SoaClass::III, e(1_033_000)),
                (SoaClass::IIIBis, e(1_500_000)),
                (SoaClass::IV, e(2_582_000)),
                (SoaClass::IVBis, e(3_500_000)),
                (SoaClass::V, e(5_165_000)),
                (SoaClass::VI, e(10_329_000)),
                (SoaClass::VII, e(15_494_000)),
            ],
            increase_by_one_fifth: true,
        }
    }

    /// The nominal limit of `class`, `None` if unlimited.
    pub fn limit(&self, class: SoaClass) -> Option<Euro> {
        self.limits
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, l)| *l)
    }

    /// Whether a qualification in `class` covers works of `amount`.
    pub fn covers(&self, class: SoaClass, amount: Euro) -> bool {
        match self.limit(class) {
            None => true,
            Some(limit) => {
                let limit = i128::from(limit.cents());
                let effective = if self.increase_by_one_fifth {
                    limit + limit / 5
                } else {
                    limit
                };
                i128::from(amount.cents()) <= effective
            }
        }
    }
}

impl Default for SoaClassLimits {
    fn default() -> Self {
        Self::official()
    }
}

/// A CPV division (the first two digits of a CPV code), used as the category of services and supplies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CpvDivision(u8);

impl CpvDivision {
    pub fn new(division: u8) -> Result<Self, ModelError> {
        if CPV_DIVISIONS.contains(&division) {
            Ok(CpvDivision(division))
        } else {
            Err(ModelError::CpvDivision(format!("{division:02}")))
        }
    }

    /// Parses two digits, e.g. `"09"`, `"90"`.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ModelError::CpvDivision(s.to_owned()));
        }
        Self::new(
            s.parse()
                .map_err(|_| ModelError::CpvDivision(s.to_owned()))?,
        )
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl From<&Cpv> for CpvDivision {
    fn from(c: &Cpv) -> Self {
        // a parsed Cpv always has a valid division
        CpvDivision(c.division())
    }
}

impl fmt::Display for CpvDivision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

/// A category of the register: an SOA category (works) or a CPV division (services and supplies).
///
/// It is also the "sector" of the rotation rule (art. 49 c.2: "stesso settore merceologico … stessa categoria
/// di opere … stesso settore di servizi"). Using the CPV division as the *settore merceologico* is a
/// convention of this engine; the law does not say how fine the sector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Works(SoaCategory),
    Cpv(CpvDivision),
}

impl Category {
    /// Works for SOA categories and CPV division 45; services for CPV divisions 50–98; supplies otherwise
    /// (divisions 03–44 and 48).
    pub fn contract_object(&self) -> ContractObject {
        match self {
            Category::Works(_) => ContractObject::Works,
            Category::Cpv(d) if d.0 == 45 => ContractObject::Works,
            Category::Cpv(d) if d.0 >= 50 => ContractObject::Services,
            Category::Cpv(_) => ContractObject::Supplies,
        }
    }

    /// Parses `OG1`, `OS12-A` or a two-digit CPV division such as `90`.
    pub fn parse(s: &str) -> Result<Self, ModelError> {
        if s.starts_with('O') {
            SoaCategory::parse(s).map(Category::Works)
        } else if s.len() == 2 {
            CpvDivision::parse(s).map(Category::Cpv)
        } else {
            Err(ModelError::Category(s.to_owned()))
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Category::Works(c) => c.fmt(f),
            Category::Cpv(d) => d.fmt(f),
        }
    }
}

impl FromStr for Category {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

macro_rules! serde_as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_as_text!(SoaCategory);
serde_as_text!(CpvDivision);
serde_as_text!(Category);

/// Where an operator is listed to work.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Territory {
    /// The whole national territory.
    National,
    /// A NUTS area and everything inside it (`ITC1` covers `ITC11`).
    Nuts(NutsCode),
}

impl Territory {
    /// Whether this territory covers the NUTS area `area`.
    pub fn covers(&self, area: &NutsCode) -> bool {
        match self {
            Territory::National => true,
            Territory::Nuts(t) => area.as_str().starts_with(t.as_str()),
        }
    }
}

/// What an operator is listed for in one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Qualification {
    /// Works: an SOA category, with its classification level (`None`: listed without SOA attestation, for works
    /// below the amount from which SOA is required).
    Works {
        category: SoaCategory,
        class: Option<SoaClass>,
    },
    /// Services or supplies: a CPV division.
    Cpv { division: CpvDivision },
}

impl Qualification {
    pub fn category(&self) -> Category {
        match self {
            Qualification::Works { category, .. } => Category::Works(*category),
            Qualification::Cpv { division } => Category::Cpv(*division),
        }
    }
}

/// The status of a listing, set by the SUA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ListingStatus {
    /// Applied, not yet examined.
    Applied,
    Admitted {
        on: NaiveDate,
    },
    Suspended {
        on: NaiveDate,
        reason: String,
    },
    /// Final.
    Removed {
        on: NaiveDate,
        reason: String,
    },
}

/// One listing: an operator in one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub operator: OperatorId,
    pub qualification: Qualification,
    pub territories: Vec<Territory>,
    pub status: ListingStatus,
    /// The last day the listing is valid.
    pub expires_on: NaiveDate,
}

/// A refused change of a listing's status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("reason: a reason is required to {0} a listing")]
    MissingReason(&'static str),
    #[error("status: the listing was removed on {0}; removal is final")]
    Removed(NaiveDate),
    #[error("status: cannot {action} a listing that is {current}")]
    NotAllowed {
        action: &'static str,
        current: &'static str,
    },
}

/// A refused renewal of a listing's expiry ([`Listing::renew`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenewalError {
    /// The listing is not admitted (applied, suspended) or was removed.
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error("expires_on: {new} is not after today ({today})")]
    NotAfterToday { today: NaiveDate, new: NaiveDate },
    #[error("expires_on: {new} is not later than the current expiry {current}")]
    NotLater { current: NaiveDate, new: NaiveDate },
}

impl ListingStatus {
    fn name(&self) -> &'static str {
        match self {
            ListingStatus::Applied => "applied",
            ListingStatus::Admitted { .. } => "admitted",
            ListingStatus::Suspended { .. } => "suspended",
            ListingStatus::Removed { .. } => "removed",
        }
    }
}

impl Listing {
    fn check_not_removed(&self) -> Result<(), StatusError> {
        if let ListingStatus::Removed { on, .. } = self.status {
            return Err(StatusError::Removed(on));
        }
        Ok(())
    }

    /// Admits an applied listing, or readmits a suspended one.
    pub fn admit(&mut self, on: NaiveDate) -> Result<(), StatusError> {
        self.check_not_removed()?;
        if let ListingStatus::Admitted { .. } = self.status {
            return Err(StatusError::NotAllowed {
                action: "admit",
                current: self.status.name(),
            });
        }
        self.status = ListingStatus::Admitted { on };
        Ok(())
    }

    /// Suspends an admitted listing; the reason is required.
    pub fn suspend(&mut self, on: NaiveDate, reason: &str) -> Result<(), StatusError> {
        self.check_not_removed()?;
        if reason.trim().is_empty() {
            return Err(StatusError::MissingReason("suspend"));
        }
        if !matches!(self.status, ListingStatus::Admitted { .. }) {
            return Err(StatusError::NotAllowed {
                action: "suspend",
                current: self.status.name(),
            });
        }
        self.status = ListingStatus::Suspended {
            on,
            reason: reason.to_owned(),
        };
        Ok(())
    }

    /// Renews an admitted listing: moves its expiry to `expires_on`, which must be after `today` and later
    /// than the current expiry. The status (and its date) is unchanged. An applied listing is admitted
    /// instead, a suspended one readmitted (both may set a new expiry); a removed one is final.
    pub fn renew(&mut self, today: NaiveDate, expires_on: NaiveDate) -> Result<(), RenewalError> {
        self.check_not_removed()?;
        if !matches!(self.status, ListingStatus::Admitted { .. }) {
            return Err(StatusError::NotAllowed {
                action: "renew",
                current: self.status.name(),
            }
            .into());
        }
        if expires_on <= today {
            return Err(RenewalError::NotAfterToday {
                today,
                new: expires_on,
            });
        }
        if expires_on <= self.expires_on {
            return Err(RenewalError::NotLater {
                current: self.expires_on,
                new: expires_on,
            });
        }
        self.expires_on = expires_on;
        Ok(())
    }

    /// Removes the listing (final); the reason is required.
    pub fn remove(&mut self, on: NaiveDate, reason: &str) -> Result<(), StatusError> {
        self.check_not_removed()?;
        if reason.trim().is_empty() {
            return Err(StatusError::MissingReason("remove"));
        }
        self.status = ListingStatus::Removed {
            on,
            reason: reason.to_owned(),
        };
        Ok(())
    }
}
