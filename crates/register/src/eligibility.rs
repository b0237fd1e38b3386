//! The register of operators: eligibility for a procedure, and expiry reminders.

use crate::model::{
    Category, Listing, ListingStatus, OperatorId, Qualification, SoaClass, SoaClassLimits,
};
use chrono::NaiveDate;
use domain::ids::NutsCode;
use domain::money::Euro;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// A refused register.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("listings: operator {operator} is listed twice in category {category}")]
    DuplicateListing {
        operator: OperatorId,
        category: Category,
    },
}

/// The register: every listing, indexed by category.
#[derive(Debug, Clone, Default)]
pub struct Register {
    listings: Vec<Listing>,
    by_category: HashMap<Category, Vec<usize>>,
}

/// What a procedure needs from an operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibilityQuery {
    pub category: Category,
    /// The estimated value of the contract (for the SOA class).
    pub amount: Euro,
    /// The date at which the listing must be admitted and not expired.
    pub date: NaiveDate,
    /// `Some(area)`: the operator must be listed for a territory covering `area`.
    pub territory: Option<NutsCode>,
}

/// The qualification rules, as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibilityRules {
    pub class_limits: SoaClassLimits,
    /// Works of at least this amount need an SOA classification (150,000 euro: Allegato II.12; below it the
    /// operator may qualify otherwise, so a works listing without class is enough).
    pub soa_required_from: Euro,
}

impl Default for EligibilityRules {
    fn default() -> Self {
        EligibilityRules {
            class_limits: SoaClassLimits::official(),
            soa_required_from: Euro::from_cents(15_000_000).expect("positive literal"),
        }
    }
}

/// Why an operator is not eligible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum Ineligible {
    #[error("operator {0} is not listed in category {1}")]
    NotListed(OperatorId, Category),
    #[error("listing status is {0}, not admitted")]
    NotAdmitted(&'static str),
    #[error("listing expired on {0}")]
    Expired(NaiveDate),
    #[error("SOA class {class} does not cover {amount} euro")]
    ClassTooLow { class: SoaClass, amount: Euro },
    #[error("works of {amount} euro need an SOA classification (from {required_from} euro)")]
    NoSoaClass { amount: Euro, required_from: Euro },
    #[error("not listed for a territory covering {0}")]
    Territory(String),
}

impl Register {
    /// Builds the register; an operator may have at most one listing per category.
    pub fn new(listings: Vec<Listing>) -> Result<Self, RegisterError> {
        let mut by_category: HashMap<Category, Vec<usize>> = HashMap::new();
        let mut seen = HashSet::with_capacity(listings.len());
        for (i, l) in listings.iter().enumerate() {
            let category = l.qualification.category();
            if !seen.insert((l.operator, category)) {
                return Err(RegisterError::DuplicateListing {
                    operator: l.operator,
                    category,
                });
            }
            by_category.entry(category).or_default().push(i);
        }
        Ok(Register {
            listings,
            by_category,
        })
    }

    pub fn listings(&self) -> &[Listing] {
        &self.listings
    }

    /// The listing of `operator` in `category`.
    pub fn listing(&self, operator: OperatorId, category: Category) -> Option<&Listing> {
        self.in_category(category).find(|l| l.operator == operator)
    }

    fn in_category(&self, category: Category) -> impl Iterator<Item = &Listing> {
        self.by_category
            .get(&category)
            .into_iter()
            .flatten()
            .map(|&i| &self.listings[i])
    }

    /// Whether `operator` is eligible for `query`, and if not, the first reason.
    pub fn check(
        &self,
        operator: OperatorId,
        query: &EligibilityQuery,
        rules: &EligibilityRules,
    ) -> Result<(), Ineligible> {
        let listing = self
            .listing(operator, query.category)
            .ok_or(Ineligible::NotListed(operator, query.category))?;
        check_listing(listing, query, rules)
    }

    /// Every eligible operator, in canonical (sorted) order.
    pub fn eligible(&self, query: &EligibilityQuery, rules: &EligibilityRules) -> Vec<OperatorId> {
        let mut out: Vec<OperatorId> = self
            .in_category(query.category)
            .filter(|l| check_listing(l, query, rules).is_ok())
            .map(|l| l.operator)
            .collect();
        out.sort_unstable();
        out
    }
}

/// Whether one listing makes its operator eligible for `query` (the category is assumed to match).
pub fn check_listing(
    listing: &Listing,
    query: &EligibilityQuery,
    rules: &EligibilityRules,
) -> Result<(), Ineligible> {
    if !matches!(listing.status, ListingStatus::Admitted { .. }) {
        let name = match listing.status {
            ListingStatus::Applied => "applied",
            ListingStatus::Suspended { .. } => "suspended",
            ListingStatus::Removed { .. } => "removed",
            ListingStatus::Admitted { .. } => "admitted",
        };
        return Err(Ineligible::NotAdmitted(name));
    }
    if query.date > listing.expires_on {
        return Err(Ineligible::Expired(listing.expires_on));
    }
    if let Qualification::Works { class, .. } = listing.qualification {
        match class {
            Some(class) if !rules.class_limits.covers(class, query.amount) => {
                return Err(Ineligible::ClassTooLow {
                    class,
                    amount: query.amount,
                });
            }
            None if query.amount >= rules.soa_required_from => {
                return Err(Ineligible::NoSoaClass {
                    amount: query.amount,
                    required_from: rules.soa_required_from,
                });
            }
            _ => {}
        }
    }
    if let Some(area) = &query.territory
        && !listing.territories.iter().any(|t| t.covers(area))
    {
        return Err(Ineligible::Territory(area.to_string()));
    }
    Ok(())
}

/// Identifies a reminder already sent, so that it is not sent twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReminderKey {
    pub operator: OperatorId,
    pub category: Category,
    pub expires_on: NaiveDate,
    pub days_before: u32,
}

/// A reminder owed to an operator whose listing is about to expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reminder {
    pub key: ReminderKey,
    /// Days from `today` to the expiry date (0: it expires today).
    pub days_left: i64,
}

/// The reminders due on `today`.
///
/// `schedule` lists how many days before expiry to remind (e.g. `[60, 30, 7]`). A listing (admitted or
/// suspended) is owed the reminder of the most urgent window it has entered, unless that one is in `sent`;
/// a reminder missed on its day is sent late rather than never, and earlier windows missed are skipped.
pub fn reminders_due(
    listings: &[Listing],
    today: NaiveDate,
    schedule: &[u32],
    sent: &HashSet<ReminderKey>,
) -> Vec<Reminder> {
    let mut out = Vec::new();
    for l in listings {
        if !matches!(
            l.status,
            ListingStatus::Admitted { .. } | ListingStatus::Suspended { .. }
        ) {
            continue;
        }
        let days_left = (l.expires_on - today).num_days();
        if days_left < 0 {
            continue;
        }
        let Some(&window) = schedule
            .iter()
            .filter(|&&d| days_left <= i64::from(d))
            .min()
        else {
            continue;
        };
        let key = ReminderKey {
            operator: l.operator,
            category: l.qualification.category(),
            expires_on: l.expires_on,
            days_before: window,
        };
        if !sent.contains(&key) {
            out.push(Reminder { key, days_left });
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}
