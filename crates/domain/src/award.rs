//! The award criterion (art. 108 D.Lgs. 36/2023), one enum for every crate that needs it: the lifecycle
//! machines (which rules apply), the sealing rule (whether a busta B exists) and the stored tender column.

use serde::{Deserialize, Serialize};

/// A name that is not one of the enum's stable strings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: '{value}' is not a known name")]
pub struct UnknownName {
    pub kind: &'static str,
    pub value: String,
}

/// The award criterion (art. 108).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AwardCriterion {
    /// Minor prezzo: no busta B.
    #[serde(rename = "lowest_price")]
    LowestPrice,
    /// Offerta economicamente più vantaggiosa, best quality-price ratio.
    #[serde(rename = "quality_price", alias = "best_quality_price_ratio")]
    QualityPrice,
}

impl AwardCriterion {
    /// Every variant, in declaration order.
    pub const ALL: &'static [AwardCriterion] =
        &[AwardCriterion::LowestPrice, AwardCriterion::QualityPrice];

    /// The stable snake_case name (stored in the database).
    pub const fn as_str(self) -> &'static str {
        match self {
            AwardCriterion::LowestPrice => "lowest_price",
            AwardCriterion::QualityPrice => "quality_price",
        }
    }
}

impl std::fmt::Display for AwardCriterion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AwardCriterion {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        AwardCriterion::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownName {
                kind: "award criterion",
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_old_sealing_name_still_reads() {
        for c in AwardCriterion::ALL {
            assert_eq!(c.as_str().parse::<AwardCriterion>(), Ok(*c));
            assert_eq!(
                serde_json::to_string(c).unwrap(),
                format!("\"{}\"", c.as_str())
            );
        }
        assert_eq!(
            serde_json::from_str::<AwardCriterion>("\"best_quality_price_ratio\"").unwrap(),
            AwardCriterion::QualityPrice
        );
        assert_eq!(
            "x".parse::<AwardCriterion>().unwrap_err().to_string(),
            "award criterion: 'x' is not a known name"
        );
    }
}
