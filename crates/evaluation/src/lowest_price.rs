//! Award at the lowest price (prezzo più basso): optional automatic exclusion (art. 54,
//! Allegato II.2), then the highest remaining ribasso wins; a tie for first place is reported
//! or resolved by a seeded draw (Allegato II.2 Metodo A point 3: "sorteggio").

use crate::anomaly::{self, AnomalyParams, AnomalyReport, AwardRule, DiscountBid, Method, Outcome};
use crate::error::EvalError;
use crate::exact;
use crate::ranking::{self, DrawRecord};
use crate::rounding::Rounding;
use rust_decimal::Decimal;
use serde::Serialize;

/// The ribasso equivalent to `price` on `base_amount`: `(base - price) / base * 100`.
///
/// When this is not a terminating decimal (e.g. base 3, price 2) the tender must say how it is
/// rounded: without `rounding` such a price is refused rather than silently approximated.
pub fn discount_from_price(
    base_amount: Decimal,
    price: Decimal,
    rounding: Option<Rounding>,
) -> Result<Decimal, String> {
    if base_amount <= Decimal::ZERO {
        return Err("base_amount must be greater than zero".into());
    }
    if price <= Decimal::ZERO {
        return Err("must be greater than zero".into());
    }
    if price > base_amount {
        return Err(format!(
            "{price} is above base_amount {base_amount} (offers above the base are not admissible)"
        ));
    }
    let diff = (base_amount - price)
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or("too many digits")?;
    let d = diff.checked_div(base_amount).ok_or("too many digits")?;
    // The exact fraction (base - price) * 100 / base, from the inputs themselves: the decimal steps above
    // round when a result needs more than 28 digits (a 23-digit base minus a price with 7 decimals).
    let exact = exact::sub(&exact::q(base_amount), &exact::q(price), "discount")
        .and_then(|n| exact::mul(&n, &exact::qi(100), "discount"))
        .and_then(|n| exact::div(&n, &exact::q(base_amount), "discount"))
        .ok();
    match rounding {
        Some(r) => match &exact {
            // the exact value rounded as the policy says (not the rounded decimal rounded again)
            Some(x) => round_exact(x, r).ok_or_else(|| "too many digits".to_string()),
            None => Ok(r.apply(d)),
        },
        None => {
            // Exact check: the decimal must equal the fraction.
            if exact.is_some_and(|x| exact::q(d) == x) {
                Ok(d.normalize())
            } else {
                Err(format!(
                    "the ribasso (base_amount - price) / base_amount * 100 = {d}... is not a terminating \
                     decimal; set rounding.discount (decimals and mode) as the tender documents say"
                ))
            }
        }
    }
}

/// A non-negative exact value rounded to `r.decimals` as `r.mode` says; `None` if it does not fit.
fn round_exact(x: &exact::Q, r: Rounding) -> Option<Decimal> {
    use crate::rounding::RoundingMode;
    let scaled = exact::mul(x, &exact::qi(10i128.checked_pow(r.decimals)?), "discount").ok()?;
    let n = match r.mode {
        RoundingMode::Truncate => scaled.trunc(),
        RoundingMode::HalfUp => exact::add(&scaled, &exact::Q::new(1, 2), "discount")
            .ok()?
            .trunc(),
    };
    Decimal::try_from_i128_with_scale(n.to_integer(), r.decimals)
        .ok()
        .map(|d| d.normalize())
}

/// The data of a lowest-price evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct LowestPriceInput<'i> {
    /// The admitted bids, as ribassi (derived from the price when the bid gave one).
    pub bids: Vec<DiscountBid<'i>>,
    /// The price of each bid when it offered a price (same length as `bids`, or empty).
    pub prices: Vec<Option<Decimal>>,
    pub base_amount: Option<Decimal>,
    /// How ribassi derived from prices were rounded (recorded only).
    pub discount_rounding: Option<Rounding>,
    /// `None`: the tender does not provide for automatic exclusion.
    pub anomaly: Option<AnomalyParams>,
    /// Seed of the draw for a tie in first place.
    pub seed: Option<u64>,
}

/// One line of the ranking.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RankLine<'a> {
    pub id: &'a str,
    #[serde(serialize_with = "crate::ser::count")]
    pub rank: usize,
    #[serde(serialize_with = "crate::ser::dec")]
    pub discount: Decimal,
    #[serde(
        serialize_with = "crate::ser::opt_dec",
        skip_serializing_if = "Option::is_none"
    )]
    pub price: Option<Decimal>,
}

/// The result, ready for the verbale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LowestPriceResult<'a> {
    pub criterion: &'static str,
    pub anomaly: AnomalyReport<'a>,
    /// The bids not excluded, best first.
    pub ranking: Vec<RankLine<'a>>,
    pub winner: Option<&'a str>,
    /// Bids tied for first place, when no seed was given (no winner then).
    pub tie: Vec<&'a str>,
    pub draw: Option<DrawRecord>,
    pub award_rule: AwardRule,
    /// The ribasso applied to the contract.
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub award_discount: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub base_amount: Option<Decimal>,
    pub discount_rounding: Option<Rounding>,
    pub note: Option<String>,
}

/// Evaluate at the lowest price.
pub fn evaluate<'a>(input: &'a LowestPriceInput<'_>) -> Result<LowestPriceResult<'a>, EvalError> {
    anomaly::validate_bids(&input.bids)?;
    evaluate_unique_ids(input)
}

/// As [`evaluate`], when the caller has already checked that the ids are unique (the JSON front end, which
/// names the duplicate bid): the ribassi are still checked.
pub(crate) fn evaluate_unique_ids<'a>(
    input: &'a LowestPriceInput<'_>,
) -> Result<LowestPriceResult<'a>, EvalError> {
    let bids = &input.bids;
    anomaly::validate_discounts(bids)?;
    if !input.prices.is_empty() && input.prices.len() != bids.len() {
        return Err(EvalError::Invalid {
            field: "prices".into(),
            message: "must be empty or have one entry per bid".into(),
        });
    }
    let sorted = anomaly::sort_bids(bids);
    let report = match &input.anomaly {
        None => AnomalyReport::not_requested(bids.len()),
        Some(p) => anomaly::compute_inner(p, bids, &sorted.order, sorted.keys.as_ref())?,
    };
    rank(input, &sorted, report)
}

/// The anomaly threshold of a lot's first evaluation, kept for every later ranking of the same lot: variations
/// after the award, even by a judgment, change neither the means nor the threshold (art. 108 c.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeptThreshold {
    /// The outcome of the first evaluation's anomaly step.
    pub outcome: Outcome,
    /// The threshold it compared with (when `outcome` is [`Outcome::Computed`]).
    pub threshold: Option<Decimal>,
}

/// Rank `input.bids` (the bids still in the ranking, e.g. after `reopen_ranking`) against the threshold of
/// the first evaluation, without recomputing it (art. 108 c.12): a bid is excluded when its ribasso is at or
/// above `kept.threshold` as the rules' comparison says; the others are ranked, a first-place tie drawn with
/// `input.seed`. With fewer than five bids left the threshold still applies: it was fixed when it was computed.
pub fn rank_with_threshold<'a>(
    input: &'a LowestPriceInput<'_>,
    kept: &KeptThreshold,
) -> Result<LowestPriceResult<'a>, EvalError> {
    let bids = &input.bids;
    anomaly::validate_bids(bids)?;
    if !input.prices.is_empty() && input.prices.len() != bids.len() {
        return Err(EvalError::Invalid {
            field: "prices".into(),
            message: "must be empty or have one entry per bid".into(),
        });
    }
    let sorted = anomaly::sort_bids(bids);
    let mut report = match &input.anomaly {
        None => AnomalyReport::not_requested(bids.len()),
        Some(p) => AnomalyReport::empty(p.method.code(), bids.len(), kept.outcome, Some(p)),
    };
    report.outcome = kept.outcome;
    report.rule = Some(
        "art. 108 c.12 D.Lgs. 36/2023: the threshold of the first evaluation is kept, not recomputed".into(),
    );
    if let (Some(p), Outcome::Computed) = (&input.anomaly, kept.outcome) {
        let t = kept.threshold.ok_or_else(|| EvalError::Invalid {
            field: "anomaly.threshold".into(),
            message: "a computed outcome needs its threshold".into(),
        })?;
        report.applicable = true;
        report.threshold = Some(t);
        let equal = p.excludes_equal();
        report.comparison = Some(
            if equal {
                "discount >= threshold"
            } else {
                "discount > threshold"
            }
            .into(),
        );
        let order = &sorted.order;
        let first = if equal {
            order.partition_point(|&i| bids[i].discount < t)
        } else {
            order.partition_point(|&i| bids[i].discount <= t)
        };
        report.excluded = order[first..].iter().map(|&i| &*bids[i].id).collect();
        report.excluded_index = order[first..].to_vec();
    }
    report.note = Some(match kept.outcome {
        Outcome::Computed => format!(
            "ranking of the bids left after the ranking was reopened, against the threshold {} of the first \
             evaluation (art. 108 c.12)",
            kept.threshold.unwrap_or_default()
        ),
        Outcome::Undetermined => {
            "the first evaluation found no threshold; it is not recomputed (art. 108 c.12)".into()
        }
        Outcome::NotApplicable | Outcome::NotRequested => {
            "no automatic exclusion in the first evaluation; none now (art. 108 c.12)".into()
        }
    });
    rank(input, &sorted, report)
}

/// The ranking of the bids `report` did not exclude, the tie draw and the award discount.
fn rank<'a>(
    input: &'a LowestPriceInput<'_>,
    sorted: &anomaly::Sorted,
    report: AnomalyReport<'a>,
) -> Result<LowestPriceResult<'a>, EvalError> {
    let bids = &input.bids;
    let order = &sorted.order;
    let price_of = |i: usize| input.prices.get(i).copied().flatten();
    let mut excluded = vec![false; bids.len()];
    for &i in &report.excluded_index {
        excluded[i] = true;
    }
    // Descending ribasso, ties by ascending id: the ascending order reversed, with each group
    // of equal ribassi put back in id order. Kept as positions in `order` (the ribassi compare there).
    let same = |a: usize, b: usize| match &sorted.keys {
        Some((k, _)) => k[a] == k[b],
        None => bids[order[a]].discount == bids[order[b]].discount,
    };
    let mut positions: Vec<usize> =
        Vec::with_capacity(bids.len().saturating_sub(report.excluded_index.len()));
    let mut group_start = 0;
    for pos in (0..order.len()).rev() {
        if excluded[order[pos]] {
            continue;
        }
        if let Some(&last) = positions.last()
            && !same(last, pos)
        {
            positions[group_start..].reverse();
            group_start = positions.len();
        }
        positions.push(pos);
    }
    positions[group_start..].reverse();
    let undetermined = report.outcome == Outcome::Undetermined;
    let ranked = ranking::rank_sorted_with(
        positions.len(),
        |k| {
            let i = order[positions[k]];
            (i, &*bids[i].id)
        },
        |k| same(positions[k - 1], positions[k]),
        if undetermined { None } else { input.seed },
    );
    drop(positions);
    let ranking: Vec<RankLine<'_>> = ranked
        .lines
        .iter()
        .map(|l| RankLine {
            id: &bids[l.index].id,
            rank: l.rank,
            discount: bids[l.index].discount,
            price: price_of(l.index),
        })
        .collect();
    let award_rule = input
        .anomaly
        .as_ref()
        .map_or(AwardRule::OwnDiscount, |p| p.award);
    let mut out = LowestPriceResult {
        criterion: "lowest_price",
        anomaly: report,
        ranking,
        winner: None,
        tie: Vec::new(),
        draw: None,
        award_rule,
        award_discount: None,
        base_amount: input.base_amount,
        discount_rounding: input.discount_rounding,
        note: None,
    };
    if undetermined {
        out.note = Some(
            "the anomaly threshold could not be determined (see anomaly.note): no winner is proposed; \
             the ranking shows all admitted bids"
                .into(),
        );
        return Ok(out);
    }
    out.tie = ranked.tie.iter().map(|&i| &*bids[i].id).collect();
    out.draw = ranked.draw;
    if let Some(w) = ranked.winner {
        out.winner = Some(&*bids[w].id);
        let own = bids[w].discount;
        let second = input
            .anomaly
            .as_ref()
            .is_some_and(|p| p.method == Method::B && p.award == AwardRule::NextLowerDiscount);
        out.award_discount = Some(if second {
            (0..bids.len())
                .filter(|&i| !excluded[i] && bids[i].discount < own)
                .map(|i| bids[i].discount)
                .max()
                .unwrap_or(own)
        } else {
            own
        });
    } else if !out.tie.is_empty() {
        out.note = Some(
            "first place is tied: a draw (sorteggio) is needed; pass a seed to perform it".into(),
        );
    }
    if out.anomaly.outcome == Outcome::NotApplicable && out.winner.is_some() {
        out.note = Some(
            "automatic exclusion not applicable: the RUP may still check the best offer under art. 110".into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Found by `cargo fuzz` (target `money`): a 23-digit base minus a price with 7 decimals does not fit
    /// in a decimal's 28 digits, the subtraction rounded the price away and the ribasso came out as exactly
    /// 100. It is refused now (the exact fraction is below 100 and not a 28-digit decimal).
    #[test]
    fn a_price_lost_in_the_rounding_of_a_huge_base_is_not_a_100_ribasso() {
        use std::str::FromStr;
        let base = Decimal::from_str("10001000110001000165000").unwrap();
        let price = Decimal::from_str("0.0000005000").unwrap();
        let r = discount_from_price(base, price, None);
        assert!(r.is_err(), "{r:?}");
        // with a rounding policy the exact value is rounded, not the rounded difference
        let three = crate::rounding::Rounding::new(3, crate::rounding::RoundingMode::Truncate);
        assert_eq!(
            discount_from_price(base, price, Some(three)).unwrap(),
            Decimal::from_str("99.999").unwrap()
        );
        // ordinary prices are unchanged
        assert_eq!(
            discount_from_price(Decimal::from(100_000), Decimal::from(80_000), None).unwrap(),
            Decimal::from(20)
        );
    }

    use super::*;
    use crate::rounding::RoundingMode;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn discount_from_price_is_exact_or_refused() {
        assert_eq!(
            discount_from_price(d("100000"), d("80000.00"), None),
            Ok(d("20"))
        );
        assert_eq!(
            discount_from_price(d("150000"), d("123456.78"), None),
            Ok(d("17.69548"))
        );
        let err = discount_from_price(d("3"), d("2"), None).unwrap_err();
        assert!(err.contains("rounding.discount"), "{err}");
        let r = Rounding::new(3, RoundingMode::HalfUp);
        assert_eq!(
            discount_from_price(d("3"), d("2"), Some(r)),
            Ok(d("33.333"))
        );
        assert!(
            discount_from_price(d("100"), d("101"), None)
                .unwrap_err()
                .contains("above")
        );
        assert!(discount_from_price(d("100"), d("0"), None).is_err());
    }
}
