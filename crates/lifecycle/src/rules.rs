//! The configurable points of law and the reference data every guard uses.
//!
//! `Rules::default()` is the engine's reading of D.Lgs. 36/2023 as amended by D.Lgs. 209/2024. Where the law is
//! uncertain the choice is a field here, documented in `docs/lifecycle.md`, rather than a constant in a guard.

use chrono::NaiveDate;
use domain::calendar::LegalCalendar;
use domain::thresholds::ThresholdTable;
use serde::{Deserialize, Serialize};

/// A standstill length in force from a date (art. 18 c.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandstillPeriod {
    /// The date of the last award communication from which this length applies.
    pub from: NaiveDate,
    pub days: u32,
    pub source: String,
}

/// The minimum terms of the competitive procedure with negotiation (art. 73). An open point: the 2023 text
/// of D.Lgs. 36/2023 says 10 days for requests (art. 73 c.4) and 25 for initial offers (c.5); directive
/// 2014/24/EU art. 29(1) says 30 and 30, and whether D.Lgs. 209/2024 aligned the Italian text is not
/// verified. The default is the directive's 30/30, the stricter reading (a term longer than the minimum is
/// lawful under both); [`Art73Terms::TEXT_2023`] is the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Art73Terms {
    /// Requests to participate, from the transmission of the bando (art. 73 c.4).
    pub requests_days: u32,
    /// Initial offers, from the invitation (art. 73 c.5).
    pub offers_days: u32,
}

impl Art73Terms {
    /// Directive 2014/24/EU art. 29(1): 30 and 30 days (the default).
    pub const DIRECTIVE: Art73Terms = Art73Terms {
        requests_days: 30,
        offers_days: 30,
    };
    /// D.Lgs. 36/2023 as published in 2023: 10 and 25 days.
    pub const TEXT_2023: Art73Terms = Art73Terms {
        requests_days: 10,
        offers_days: 25,
    };
}

/// Calendar, thresholds and the configurable legal parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    pub calendar: LegalCalendar,
    pub thresholds: ThresholdTable,
    /// Standstill lengths by date of the last award communication, sorted by `from`: 35 days in the 2023 text,
    /// 32 since D.Lgs. 209/2024 (in force 31 Dec 2024). The transitional rule is not verified.
    pub standstill: Vec<StandstillPeriod>,
    /// Minimum terms of art. 73 (an open point, see [`Art73Terms`]).
    pub art73: Art73Terms,
    /// Apply the minimum terms of art. 71-73 to ordinary procedures below the EU threshold too (safe side).
    pub part_iv_terms_below_threshold: bool,
    /// Minimum offer term for procedures with no statutory minimum (art. 50 negotiated procedures, art. 92 c.1
    /// "termini congrui"). `None`: no hard guard, a warning effect is emitted instead.
    pub min_offer_days_without_statutory_term: Option<u32>,
    /// Clarifications must be published at least this many days before the offer deadline (art. 88 c.3).
    pub clarification_cutoff_days: u32,
    /// The same when the offer term was reduced for urgency (art. 88 c.3).
    pub clarification_cutoff_days_reduced: u32,
    /// Soccorso istruttorio term bounds (art. 101 c.1): not less than 5, not more than 10 days.
    pub soccorso_min_days: u32,
    pub soccorso_max_days: u32,
    /// Maximum term for explanations on an abnormally low offer (art. 110 c.2).
    pub anomaly_max_days: u32,
    /// Offer validity from the deadline when the bando says nothing (art. 17 c.4).
    pub offer_validity_days: u32,
    /// Art. 90 c.1: communications within this many days of the act.
    pub art90_days: u32,
    /// Stipula within this many days of the award (art. 18 c.2) / below threshold (art. 55 c.1).
    pub stipula_days: u32,
    pub stipula_days_below_threshold: u32,
    /// Maximum members of a commissione giudicatrice (art. 93 c.2: odd number, at most five).
    pub commission_max_members: u32,
    /// Minimum admitted offers for the automatic exclusion of anomalous offers (art. 54 c.1).
    pub auto_exclusion_min_offers: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            calendar: LegalCalendar::italy(),
            thresholds: ThresholdTable::official(),
            standstill: vec![
                StandstillPeriod {
                    from: NaiveDate::from_ymd_opt(2023, 7, 1).expect("valid date"),
                    days: 35,
                    source: "art. 18 c.3 D.Lgs. 36/2023, 2023 text".to_owned(),
                },
                StandstillPeriod {
                    from: NaiveDate::from_ymd_opt(2024, 12, 31).expect("valid date"),
                    days: 32,
                    source: "art. 18 c.3 as amended by art. 6 D.Lgs. 209/2024".to_owned(),
                },
            ],
            art73: Art73Terms::DIRECTIVE,
            part_iv_terms_below_threshold: true,
            min_offer_days_without_statutory_term: None,
            clarification_cutoff_days: 6,
            clarification_cutoff_days_reduced: 4,
            soccorso_min_days: 5,
            soccorso_max_days: 10,
            anomaly_max_days: 15,
            offer_validity_days: 180,
            art90_days: 5,
            stipula_days: 60,
            stipula_days_below_threshold: 30,
            commission_max_members: 5,
            auto_exclusion_min_offers: 5,
        }
    }
}

impl Rules {
    /// The shared default rules (built once; pure data).
    pub fn standard() -> &'static Rules {
        static RULES: std::sync::LazyLock<Rules> = std::sync::LazyLock::new(Rules::default);
        &RULES
    }

    /// The standstill length for an award communicated on `date` (the last period starting on or before it;
    /// the first period for earlier dates).
    pub fn standstill_days(&self, date: NaiveDate) -> u32 {
        self.standstill
            .iter()
            .rev()
            .find(|p| p.from <= date)
            .or(self.standstill.first())
            .map_or(32, |p| p.days)
    }
}
