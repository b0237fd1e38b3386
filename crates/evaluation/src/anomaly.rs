//! Automatic exclusion of anomalous bids (art. 54 D.Lgs. 36/2023, Allegato II.2).
//!
//! Methods A, B and C on the ribassi of the admitted bids, exact arithmetic (see
//! [`crate::exact`]), every intermediate value recorded in [`AnomalyReport`] for the verbale.
//! Legal sources and open questions: `docs/evaluation.md`.

use crate::error::EvalError;
use crate::exact::{self, Q, q, qi};
use crate::ranking::{self, DrawRecord};
use crate::rounding::Rounding;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::HashSet;

/// A bid as a percentage discount (ribasso) on the base amount. The id is borrowed from the input text when
/// it can be (`sua evaluate` on 100,000 bids: no allocation per bid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscountBid<'a> {
    pub id: Cow<'a, str>,
    pub discount: Decimal,
}

impl<'a> DiscountBid<'a> {
    pub fn new(id: impl Into<Cow<'a, str>>, discount: Decimal) -> Self {
        Self {
            id: id.into(),
            discount,
        }
    }
}

/// The Allegato II.2 method stated in the tender documents (or drawn, art. 54 c.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Method {
    /// Metodo A (text verified): points 1 (n >= 15) and 2 (5 <= n < 15).
    A,
    /// Metodo B (text not verified; TuttoGare reading): parity of the digits of the sum.
    B,
    /// Metodo C (text not verified; TuttoGare reading): reference discount chosen by the SA.
    C,
}

impl Method {
    pub fn code(self) -> &'static str {
        match self {
            Method::A => "A",
            Method::B => "B",
            Method::C => "C",
        }
    }
}

/// How the decrement of Metodo A point 1 letter d) is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecrementReading {
    /// `T = M + SM - SM*p/100` (MIT circolare 2019, Cons. Stato V 2856/2020). Default.
    Absolute,
    /// `T = (M + SM) * (1 - SM*p/10000)` (TAR Marche 622/2019, a minority reading).
    Proportional,
}

/// The discount paid to the winner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AwardRule {
    /// The winner is paid its own ribasso (verified for Metodo A point 3). Default.
    OwnDiscount,
    /// Metodo B as TuttoGare implements it: the next lower distinct ribasso among the
    /// non-excluded bids ("second price"). Unverified; only for method B.
    NextLowerDiscount,
}

/// Parameters of the anomaly calculation, all taken from the tender documents.
#[derive(Clone, Debug, PartialEq)]
pub struct AnomalyParams {
    pub method: Method,
    /// Metodo C only: the ribasso di riferimento chosen by the SA before the deadline.
    pub reference_discount: Option<Decimal>,
    /// Metodo A point 1 only.
    pub decrement: DecrementReading,
    /// `None`: the method's default (A excludes bids equal to the threshold, B and C do not).
    pub exclude_equal: Option<bool>,
    pub award: AwardRule,
    /// Round the mean, scarto, ratio, decrement and threshold at every step, as calculators
    /// that follow a "decimali" clause of the tender do. `None`: exact.
    pub steps_rounding: Option<Rounding>,
    /// Round the final threshold before comparing. `None`: compare with the exact threshold.
    pub threshold_rounding: Option<Rounding>,
    /// When the method was drawn by lot (art. 54 c.2), the record of that draw.
    pub method_draw: Option<DrawRecord>,
}

impl AnomalyParams {
    /// The defaults for `method`: absolute decrement, own discount, exact arithmetic.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            reference_discount: None,
            decrement: DecrementReading::Absolute,
            exclude_equal: None,
            award: AwardRule::OwnDiscount,
            steps_rounding: None,
            threshold_rounding: None,
            method_draw: None,
        }
    }

    /// Metodo C with its reference discount.
    pub fn method_c(reference_discount: Decimal) -> Self {
        Self {
            reference_discount: Some(reference_discount),
            ..Self::new(Method::C)
        }
    }

    /// Whether a bid equal to the threshold is excluded.
    pub fn excludes_equal(&self) -> bool {
        self.exclude_equal.unwrap_or(self.method == Method::A)
    }
}

/// Draw the method by lot among `candidates` (art. 54 c.2: "sorteggio tra i metodi compatibili
/// dell'allegato II.2"), with the same reproducible procedure as the tie draw
/// ([`ranking::draw`] over the codes "A", "B", "C"). Which methods are compatible is for the
/// caller to say (e.g. C needs a reference discount and is presumably for works only).
pub fn draw_method(candidates: &[Method], seed: u64) -> Result<(Method, DrawRecord), EvalError> {
    let mut codes: Vec<String> = candidates.iter().map(|m| m.code().to_string()).collect();
    codes.sort();
    codes.dedup();
    if codes.len() != candidates.len() || codes.is_empty() {
        return Err(EvalError::Invalid {
            field: "anomaly.draw.among".into(),
            message: "give at least one method, each once".into(),
        });
    }
    let record = ranking::draw(&codes, seed);
    let method = match record.order[0].as_str() {
        "A" => Method::A,
        "B" => Method::B,
        _ => Method::C,
    };
    Ok((method, record))
}

/// Art. 54 c.1: automatic exclusion only with at least five admitted bids.
pub const MIN_ADMITTED: usize = 5;
/// Metodo A point 1 applies from fifteen admitted bids, point 2 below.
pub const POINT_1_FROM: usize = 15;

/// What happened to the anomaly step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tender does not provide for automatic exclusion.
    NotRequested,
    /// Fewer than five admitted bids (art. 54 c.1).
    NotApplicable,
    /// The threshold was computed and applied.
    Computed,
    /// The law gives no threshold for these data (e.g. no kept bid above the mean).
    Undetermined,
}

/// Rounding policies in force, echoed in the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AnomalyRounding {
    pub steps: Option<Rounding>,
    pub threshold: Option<Rounding>,
}

/// Every value of the calculation, for the verbale. Ids are listed by ascending ribasso
/// (ties by id).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyReport<'a> {
    pub applicable: bool,
    pub outcome: Outcome,
    /// "A", "B", "C" or "none".
    pub method: String,
    #[serde(serialize_with = "crate::ser::count")]
    pub admitted: usize,
    pub note: Option<String>,
    /// The rule applied, with its legal source.
    pub rule: Option<String>,
    /// k = ceil(10% of the admitted bids), counted bid by bid.
    #[serde(serialize_with = "crate::ser::opt_count")]
    pub wing_size: Option<usize>,
    pub cut_low: Vec<&'a str>,
    pub cut_high: Vec<&'a str>,
    #[serde(serialize_with = "crate::ser::opt_count")]
    pub kept: Option<usize>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub sum: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub mean: Option<Decimal>,
    /// Number of kept bids strictly above the mean.
    #[serde(serialize_with = "crate::ser::opt_count")]
    pub above_mean: Option<usize>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub sum_above_mean: Option<Decimal>,
    /// Scarto medio aritmetico.
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub mean_excess: Option<Decimal>,
    /// Scarto / mean (Metodo A point 2 only).
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub ratio: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub ratio_limit: Option<Decimal>,
    /// The branch taken, as a formula.
    pub branch: Option<String>,
    /// First two decimals of the sum (A point 1, B, C).
    pub sum_decimals: Vec<String>,
    /// Their product p.
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub decrement_product: Option<Decimal>,
    /// The amount subtracted from (or, in B/C with odd parity, added to) the base value.
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub decrement: Option<Decimal>,
    pub decrement_reading: Option<DecrementReading>,
    /// Sum of the digits of the integer part of the sum and of its first two decimals (B, C).
    #[serde(serialize_with = "crate::ser::opt_count")]
    pub parity_digit_sum: Option<usize>,
    pub parity: Option<String>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub reference_discount: Option<Decimal>,
    /// M + SM (A, B) or the reference discount (C), before the decrement.
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub threshold_base: Option<Decimal>,
    /// The exact threshold as a fraction "numerator/denominator" (before any final rounding).
    pub threshold_exact: Option<String>,
    /// The threshold used for the comparison (28 significant digits when not terminating).
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub threshold: Option<Decimal>,
    /// "discount >= threshold" or "discount > threshold".
    pub comparison: Option<String>,
    pub excluded: Vec<&'a str>,
    pub rounding: AnomalyRounding,
    /// The draw of the method among the compatible ones (art. 54 c.2), if it was drawn.
    pub method_draw: Option<DrawRecord>,
    /// Indexes (into the bids given) of the excluded bids.
    #[serde(skip)]
    pub excluded_index: Vec<usize>,
}

impl AnomalyReport<'_> {
    pub(crate) fn empty(
        method: &str,
        admitted: usize,
        outcome: Outcome,
        params: Option<&AnomalyParams>,
    ) -> Self {
        Self {
            applicable: false,
            outcome,
            method: method.to_string(),
            admitted,
            note: None,
            rule: None,
            wing_size: None,
            cut_low: Vec::new(),
            cut_high: Vec::new(),
            kept: None,
            sum: None,
            mean: None,
            above_mean: None,
            sum_above_mean: None,
            mean_excess: None,
            ratio: None,
            ratio_limit: None,
            branch: None,
            sum_decimals: Vec::new(),
            decrement_product: None,
            decrement: None,
            decrement_reading: None,
            parity_digit_sum: None,
            parity: None,
            reference_discount: params.and_then(|p| p.reference_discount),
            method_draw: params.and_then(|p| p.method_draw.clone()),
            threshold_base: None,
            threshold_exact: None,
            threshold: None,
            comparison: None,
            excluded: Vec::new(),
            rounding: AnomalyRounding {
                steps: params.and_then(|p| p.steps_rounding),
                threshold: params.and_then(|p| p.threshold_rounding),
            },
            excluded_index: Vec::new(),
        }
    }

    /// The report when the tender provides no automatic exclusion.
    pub fn not_requested(admitted: usize) -> Self {
        let mut r = Self::empty("none", admitted, Outcome::NotRequested, None);
        r.note = Some("automatic exclusion not provided by the tender documents".into());
        r
    }
}

/// Check the bids: unique ids, ribasso in [0, 100).
pub fn validate_bids(bids: &[DiscountBid<'_>]) -> Result<(), EvalError> {
    let mut seen =
        HashSet::with_capacity_and_hasher(bids.len(), foldhash::fast::FixedState::default());
    for (i, b) in bids.iter().enumerate() {
        if !seen.insert(&*b.id) {
            return Err(EvalError::DuplicateId(b.id.to_string()));
        }
        check_discount(i, b)?;
    }
    Ok(())
}

/// Check the ribassi only: each in [0, 100).
pub(crate) fn validate_discounts(bids: &[DiscountBid<'_>]) -> Result<(), EvalError> {
    bids.iter()
        .enumerate()
        .try_for_each(|(i, b)| check_discount(i, b))
}

fn check_discount(i: usize, b: &DiscountBid<'_>) -> Result<(), EvalError> {
    if !in_range(b.discount) {
        return Err(EvalError::Invalid {
            field: format!("bids[{i}].discount"),
            message: format!("{} is outside [0, 100)", b.discount),
        });
    }
    Ok(())
}

/// 0 <= d < 100, without a general decimal comparison (hot path for large tenders).
pub(crate) fn in_range(d: Decimal) -> bool {
    let m = d.mantissa();
    if m < 0 {
        return false;
    }
    // 100 at the decimal's scale: 10^(scale + 2), scale <= 28
    const POW10: [i128; 31] = {
        let mut t = [1i128; 31];
        let mut i = 1;
        while i < 31 {
            t[i] = t[i - 1] * 10;
            i += 1;
        }
        t
    };
    match POW10.get(d.scale() as usize + 2) {
        Some(&hundred) => m < hundred,
        None => d < Decimal::ONE_HUNDRED,
    }
}

/// Exact sum of decimals, on a common integer scale when possible (fast), else decimal by
/// decimal. `None` on overflow.
pub(crate) fn exact_sum(values: impl Iterator<Item = Decimal> + Clone) -> Option<Decimal> {
    let scale = values.clone().map(|d| d.scale()).max().unwrap_or(0);
    let mut acc: i128 = 0;
    let mut fast = true;
    for d in values.clone() {
        let scaled = if d.scale() == scale {
            Some(d.mantissa())
        } else {
            10i128
                .checked_pow(scale - d.scale())
                .and_then(|f| d.mantissa().checked_mul(f))
        };
        match scaled.and_then(|v| acc.checked_add(v)) {
            Some(v) => acc = v,
            None => {
                fast = false;
                break;
            }
        }
    }
    if fast && let Ok(sum) = Decimal::try_from_i128_with_scale(acc, scale) {
        return Some(sum);
    }
    let mut values = values;
    values.try_fold(Decimal::ZERO, |a, d| a.checked_add(d))
}

/// The canonical order and, when every ribasso fits a common integer scale, the scaled ribassi
/// in that order (for exact integer sums over contiguous ranges).
pub(crate) struct Sorted {
    pub order: Vec<usize>,
    pub keys: Option<(Vec<i128>, u32)>,
}

/// Sort the bids by ascending ribasso, ties by id.
pub(crate) fn sort_bids(bids: &[DiscountBid<'_>]) -> Sorted {
    // Fast path: compare the ribassi as integers on a common scale (exact); ids only on ties.
    let scale = bids.iter().map(|b| b.discount.scale()).max().unwrap_or(0);
    if let Some(sorted) = sort_packed(bids, scale) {
        return sorted;
    }
    let keys: Option<Vec<(i128, usize)>> = bids
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if b.discount.scale() == scale {
                return Some((b.discount.mantissa(), i));
            }
            let factor = 10i128.checked_pow(scale - b.discount.scale())?;
            Some((b.discount.mantissa().checked_mul(factor)?, i))
        })
        .collect();
    match keys {
        Some(mut keys) => {
            // Integer sort first, then id order inside each (short) group of equal ribassi.
            keys.sort_unstable();
            let mut start = 0;
            while start < keys.len() {
                let mut end = start + 1;
                while end < keys.len() && keys[end].0 == keys[start].0 {
                    end += 1;
                }
                if end - start > 1 {
                    keys[start..end].sort_unstable_by(|a, b| bids[a.1].id.cmp(&bids[b.1].id));
                }
                start = end;
            }
            let (values, order): (Vec<i128>, Vec<usize>) = keys.into_iter().unzip();
            Sorted {
                order,
                keys: Some((values, scale)),
            }
        }
        None => {
            let mut order: Vec<usize> = (0..bids.len()).collect();
            order.sort_unstable_by(|&a, &b| {
                bids[a]
                    .discount
                    .cmp(&bids[b].discount)
                    .then_with(|| bids[a].id.cmp(&bids[b].id))
            });
            Sorted { order, keys: None }
        }
    }
}

/// As [`sort_bids`] when every scaled ribasso and the bid's index fit together in 64 bits (ribasso high,
/// index low): one sort of plain integers, then the ids inside each group of equal ribassi. The same order
/// as the general path; `None` when they do not fit.
fn sort_packed(bids: &[DiscountBid<'_>], scale: u32) -> Option<Sorted> {
    let index_bits = usize::BITS - bids.len().leading_zeros();
    let limit = 1u64.checked_shl(64 - index_bits.max(1))?;
    let mut packed = Vec::with_capacity(bids.len());
    for (i, b) in bids.iter().enumerate() {
        let factor = 10u64.checked_pow(scale - b.discount.scale())?;
        let key = u64::try_from(b.discount.mantissa())
            .ok()?
            .checked_mul(factor)?;
        if key >= limit {
            return None;
        }
        packed.push((key << index_bits) | i as u64);
    }
    sort_u64(&mut packed);
    let mask = (1u64 << index_bits) - 1;
    // Equal ribassi come out in the order of the bids (the index is the low bits of the key): already the
    // order of their ids when the ids ascend with the bids (as a platform numbering them in order gives), which
    // one pass over neighbouring ids tells (it stops at the first pair out of order). Then no id of a group is
    // compared: on 100,000 bids, 70,000 comparisons of ids scattered over the input (bench/README.md).
    let ids_ascend = bids.windows(2).all(|w| w[0].id < w[1].id);
    let mut start = if ids_ascend { packed.len() } else { 0 };
    while start < packed.len() {
        let key = packed[start] >> index_bits;
        let mut end = start + 1;
        while end < packed.len() && packed[end] >> index_bits == key {
            end += 1;
        }
        if end - start > 1 {
            packed[start..end].sort_unstable_by(|a, b| {
                bids[(a & mask) as usize]
                    .id
                    .cmp(&bids[(b & mask) as usize].id)
            });
        }
        start = end;
    }
    let order = packed.iter().map(|p| (p & mask) as usize).collect();
    let values = packed.iter().map(|p| i128::from(p >> index_bits)).collect();
    Some(Sorted {
        order,
        keys: Some((values, scale)),
    })
}

/// Sort plain integers ascending (the order of `sort_unstable`): below 4,096 values `sort_unstable` itself,
/// otherwise a least-significant-digit radix sort of 11 bits a pass over the bits in use only (three passes
/// for 100,000 ribassi with three decimals packed with their index, against the 17 levels of comparisons of
/// a quicksort: `sort_packed` took a tenth of `sua evaluate`'s instructions, bench/README.md).
pub(crate) fn sort_u64(v: &mut Vec<u64>) {
    const BITS: u32 = 11;
    const MASK: u64 = (1 << BITS) - 1;
    if v.len() < 4096 {
        v.sort_unstable();
        return;
    }
    let used = u64::BITS - v.iter().fold(0, |a, &x| a | x).leading_zeros();
    let mut tmp = vec![0u64; v.len()];
    let mut starts = vec![0usize; 1 << BITS];
    for pass in 0..used.div_ceil(BITS) {
        let shift = pass * BITS;
        starts.fill(0);
        for &x in v.iter() {
            starts[((x >> shift) & MASK) as usize] += 1;
        }
        let mut at = 0;
        for s in starts.iter_mut() {
            at += std::mem::replace(s, at);
        }
        for &x in v.iter() {
            let d = ((x >> shift) & MASK) as usize;
            tmp[starts[d]] = x;
            starts[d] += 1;
        }
        std::mem::swap(v, &mut tmp);
    }
}

/// Indexes of `bids` by ascending ribasso, ties by id: the canonical order of the verbale.
pub fn ascending_order(bids: &[DiscountBid<'_>]) -> Vec<usize> {
    sort_bids(bids).order
}

/// Exact sum of the scaled ribassi at positions `range` of the sorted order.
fn key_sum(keys: Option<&(Vec<i128>, u32)>, range: std::ops::Range<usize>) -> Option<Decimal> {
    let (values, scale) = keys?;
    let sum = values[range]
        .iter()
        .try_fold(0i128, |a, v| a.checked_add(*v))?;
    Decimal::try_from_i128_with_scale(sum, *scale).ok()
}

/// Compute the anomaly threshold and the excluded bids. `bids` are the admitted bids.
pub fn compute<'a>(
    params: &AnomalyParams,
    bids: &'a [DiscountBid<'_>],
) -> Result<AnomalyReport<'a>, EvalError> {
    validate_bids(bids)?;
    let sorted = sort_bids(bids);
    compute_inner(params, bids, &sorted.order, sorted.keys.as_ref())
}

struct Ctx<'a> {
    params: &'a AnomalyParams,
}

impl Ctx<'_> {
    /// Apply the per-step rounding policy, if any.
    fn step(&self, x: Q, what: &'static str) -> Result<Q, EvalError> {
        match self.params.steps_rounding {
            Some(r) => Ok(q(r.apply(exact::to_decimal(&x, what)?))),
            None => Ok(x),
        }
    }
}

fn ids<'a>(bids: &'a [DiscountBid<'_>], order: &[usize]) -> Vec<&'a str> {
    order.iter().map(|&i| &*bids[i].id).collect()
}

fn dec(x: &Q, what: &'static str) -> Result<Decimal, EvalError> {
    exact::to_decimal(x, what)
}

/// First two decimals of `s` (a missing digit is 0) and the sum of the digits of the integer
/// part plus those two decimals.
fn sum_digits(s: Decimal) -> (u32, u32, usize) {
    let s = s.abs();
    let f = s.fract();
    let d1 = (f * Decimal::TEN).trunc().to_u32().unwrap_or(0);
    let d2 = (f * Decimal::ONE_HUNDRED).trunc().to_u32().unwrap_or(0) % 10;
    let int_digits: usize = s
        .trunc()
        .normalize()
        .to_string()
        .chars()
        .filter_map(|c| c.to_digit(10))
        .map(|d| d as usize)
        .sum();
    (d1, d2, int_digits + d1 as usize + d2 as usize)
}

/// As [`compute`], with `order` = [`ascending_order`] of the (already validated) bids.
pub fn compute_sorted<'a>(
    params: &AnomalyParams,
    bids: &'a [DiscountBid<'_>],
    order: &[usize],
) -> Result<AnomalyReport<'a>, EvalError> {
    compute_inner(params, bids, order, None)
}

/// As [`compute_sorted`], with the scaled ribassi of [`sort_bids`] when available.
pub(crate) fn compute_inner<'a>(
    params: &AnomalyParams,
    bids: &'a [DiscountBid<'_>],
    order: &[usize],
    keys: Option<&(Vec<i128>, u32)>,
) -> Result<AnomalyReport<'a>, EvalError> {
    let n = bids.len();
    let method = params.method;
    let mut r = AnomalyReport::empty(method.code(), n, Outcome::NotApplicable, Some(params));
    if method == Method::C && params.reference_discount.is_none() {
        return Err(EvalError::Invalid {
            field: "anomaly.reference_discount".into(),
            message: "required for method C".into(),
        });
    }
    if method != Method::C && params.reference_discount.is_some() {
        return Err(EvalError::Invalid {
            field: "anomaly.reference_discount".into(),
            message: "only method C uses a reference discount".into(),
        });
    }
    if method != Method::A && params.decrement != DecrementReading::Absolute {
        return Err(EvalError::Invalid {
            field: "anomaly.decrement".into(),
            message: "the proportional reading exists only for method A point 1".into(),
        });
    }
    if method != Method::B && params.award != AwardRule::OwnDiscount {
        return Err(EvalError::Invalid {
            field: "anomaly.award".into(),
            message: "the next-lower-discount rule exists only for method B".into(),
        });
    }
    if n < MIN_ADMITTED {
        r.note = Some(format!(
            "{n} admitted bids, fewer than {MIN_ADMITTED} (art. 54 c.1 D.Lgs. 36/2023): no automatic \
             exclusion; the best offer may still be checked under art. 110"
        ));
        return Ok(r);
    }
    r.applicable = true;
    let ctx = Ctx { params };
    let disc = |pos: usize| bids[order[pos]].discount;

    // a) wing cut: k counted bid by bid, extended to values equal to the k-th.
    let k = n.div_ceil(10);
    r.wing_size = Some(k);
    let low = disc(k - 1);
    let high = disc(n - k);
    let lo_end = order.partition_point(|&i| bids[i].discount <= low);
    let hi_start = order.partition_point(|&i| bids[i].discount < high);
    r.cut_low = ids(bids, &order[..lo_end]);
    r.cut_high = ids(bids, &order[hi_start.max(lo_end)..]);
    if lo_end >= hi_start {
        r.outcome = Outcome::Undetermined;
        r.kept = Some(0);
        r.note = Some(
            "no bid is left after the wing cut (too many equal ribassi): Allegato II.2 gives no \
             threshold; the RUP must decide"
                .into(),
        );
        return Ok(r);
    }
    let kept = &order[lo_end..hi_start];
    let m = kept.len();
    r.kept = Some(m);
    let s = match key_sum(keys, lo_end..hi_start) {
        Some(v) => v,
        None => {
            exact_sum(kept.iter().map(|&i| bids[i].discount)).ok_or(EvalError::Overflow("sum"))?
        }
    };
    r.sum = Some(s);
    let mean = ctx.step(exact::div(&q(s), &qi(m as i128), "mean")?, "mean")?;
    r.mean = Some(dec(&mean, "mean")?);

    // b) scarto medio over the kept bids strictly above the mean.
    let ab = kept.partition_point(|&i| q(bids[i].discount) <= mean);
    let above = &kept[ab..];
    let c = above.len();
    r.above_mean = Some(c);
    if c == 0 {
        r.outcome = Outcome::Undetermined;
        r.note = Some(
            "no kept bid is above the mean: the scarto medio is undefined and Allegato II.2 is \
             silent; the RUP must decide"
                .into(),
        );
        return Ok(r);
    }
    let a = match key_sum(keys, lo_end + ab..hi_start) {
        Some(v) => v,
        None => exact_sum(above.iter().map(|&i| bids[i].discount))
            .ok_or(EvalError::Overflow("sum above mean"))?,
    };
    r.sum_above_mean = Some(a);
    let cq = qi(c as i128);
    let excess = exact::sub(&q(a), &exact::mul(&cq, &mean, "scarto")?, "scarto")?;
    let sm = ctx.step(exact::div(&excess, &cq, "scarto")?, "scarto")?;
    r.mean_excess = Some(dec(&sm, "scarto")?);

    let (d1, d2, parity_sum) = sum_digits(s);
    let p = qi((d1 * d2) as i128);
    let hundred = qi(100);
    let threshold: Q = match method {
        Method::A if n >= POINT_1_FROM => {
            r.rule = Some("Allegato II.2, Metodo A, point 1 (15 or more admitted bids)".into());
            r.sum_decimals = vec![d1.to_string(), d2.to_string()];
            r.decrement_product = Some(Decimal::from(d1 * d2));
            r.decrement_reading = Some(params.decrement);
            let base = ctx.step(exact::add(&mean, &sm, "threshold")?, "threshold")?;
            r.threshold_base = Some(dec(&base, "threshold")?);
            match params.decrement {
                DecrementReading::Absolute => {
                    let v = ctx.step(
                        exact::div(&exact::mul(&sm, &p, "decrement")?, &hundred, "decrement")?,
                        "decrement",
                    )?;
                    r.decrement = Some(dec(&v, "decrement")?);
                    r.branch = Some("T = M + SM - SM * p / 100".into());
                    ctx.step(exact::sub(&base, &v, "threshold")?, "threshold")?
                }
                DecrementReading::Proportional => {
                    let f =
                        exact::div(&exact::mul(&sm, &p, "decrement")?, &qi(10_000), "decrement")?;
                    let t = ctx.step(
                        exact::mul(&base, &exact::sub(&qi(1), &f, "threshold")?, "threshold")?,
                        "threshold",
                    )?;
                    r.decrement = Some(dec(&exact::sub(&base, &t, "decrement")?, "decrement")?);
                    r.branch =
                        Some("T = (M + SM) * (1 - SM * p / 10000) (TAR Marche reading)".into());
                    t
                }
            }
        }
        Method::A => {
            r.rule = Some("Allegato II.2, Metodo A, point 2 (5 to 14 admitted bids)".into());
            if *mean.numer() <= 0 {
                r.outcome = Outcome::Undetermined;
                r.note = Some("the mean is zero: the ratio scarto/mean is undefined".into());
                return Ok(r);
            }
            let ratio = ctx.step(exact::div(&sm, &mean, "ratio")?, "ratio")?;
            let limit = Q::new(15, 100);
            r.ratio = Some(dec(&ratio, "ratio")?);
            r.ratio_limit = Some(Decimal::new(15, 2));
            if ratio <= limit {
                r.branch = Some("SM / M <= 0.15: T = M * 1.2".into());
                ctx.step(exact::mul(&mean, &Q::new(6, 5), "threshold")?, "threshold")?
            } else {
                r.branch = Some("SM / M > 0.15: T = M + SM".into());
                ctx.step(exact::add(&mean, &sm, "threshold")?, "threshold")?
            }
        }
        Method::B | Method::C => {
            r.rule = Some(if method == Method::B {
                "Allegato II.2, Metodo B (reading of the TuttoGare implementation; legal text not verified)".into()
            } else {
                "Allegato II.2, Metodo C (reading of the TuttoGare implementation; legal text not verified)".into()
            });
            r.sum_decimals = vec![d1.to_string(), d2.to_string()];
            r.decrement_product = Some(Decimal::from(d1 * d2));
            r.parity_digit_sum = Some(parity_sum);
            let even = parity_sum % 2 == 0;
            r.parity = Some(if even { "even" } else { "odd" }.into());
            let base = if method == Method::B {
                ctx.step(exact::add(&mean, &sm, "threshold")?, "threshold")?
            } else {
                q(params.reference_discount.unwrap_or_default())
            };
            r.threshold_base = Some(dec(&base, "threshold")?);
            let v = ctx.step(
                exact::div(&exact::mul(&sm, &p, "decrement")?, &hundred, "decrement")?,
                "decrement",
            )?;
            r.decrement = Some(dec(&v, "decrement")?);
            let base_name = if method == Method::B {
                "(M + SM)"
            } else {
                "R_rif"
            };
            if even {
                r.branch = Some(format!(
                    "digit sum {parity_sum} even: T = {base_name} - SM * p / 100"
                ));
                ctx.step(exact::sub(&base, &v, "threshold")?, "threshold")?
            } else {
                r.branch = Some(format!(
                    "digit sum {parity_sum} odd: T = {base_name} + SM * p / 100"
                ));
                ctx.step(exact::add(&base, &v, "threshold")?, "threshold")?
            }
        }
    };
    r.threshold_exact = Some(exact::fraction_string(&threshold));
    let cmp_threshold = match params.threshold_rounding {
        Some(rd) => q(rd.apply(dec(&threshold, "threshold")?)),
        None => threshold,
    };
    r.threshold = Some(dec(&cmp_threshold, "threshold")?);
    let equal_excluded = params.excludes_equal();
    r.comparison = Some(
        if equal_excluded {
            "discount >= threshold"
        } else {
            "discount > threshold"
        }
        .into(),
    );
    let first_excluded = if equal_excluded {
        order.partition_point(|&i| q(bids[i].discount) < cmp_threshold)
    } else {
        order.partition_point(|&i| q(bids[i].discount) <= cmp_threshold)
    };
    r.excluded = ids(bids, &order[first_excluded..]);
    r.excluded_index = order[first_excluded..].to_vec();
    r.outcome = Outcome::Computed;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn exact_sum_fast_and_slow_paths_agree() {
        let v: Vec<Decimal> = ["1.5", "2.25", "0.125", "10"]
            .iter()
            .map(|s| Decimal::from_str(s).unwrap())
            .collect();
        assert_eq!(
            exact_sum(v.iter().copied()),
            Some(Decimal::from_str("13.875").unwrap())
        );
        // 28 decimals on one value and a large integer on another: the common scale overflows
        // i128, the decimal-by-decimal path takes over.
        let big = Decimal::from_str("79228162514264337593543950").unwrap();
        let tiny = Decimal::from_str("0.0000000000000000000000000001").unwrap();
        assert_eq!(exact_sum([big, tiny].into_iter()), big.checked_add(tiny));
        assert!(in_range(Decimal::from_str("99.999").unwrap()));
        assert!(!in_range(Decimal::from_str("100.000").unwrap()));
        assert!(!in_range(Decimal::from_str("-0.001").unwrap()));
        assert!(in_range(Decimal::ZERO));
    }

    #[test]
    fn ascending_order_with_mixed_scales_and_ties() {
        let b = vec![
            DiscountBid::new("z", Decimal::from_str("10.50").unwrap()),
            DiscountBid::new("a", Decimal::from_str("10.5").unwrap()),
            DiscountBid::new("m", Decimal::from_str("9.999").unwrap()),
            DiscountBid::new("b", Decimal::from_str("11").unwrap()),
        ];
        assert_eq!(ascending_order(&b), vec![2, 1, 0, 3]);
    }

    /// The radix sort gives `sort_unstable`'s order: short and long inputs, one bit to all 64 in use,
    /// duplicates, zeros.
    #[test]
    fn sort_u64_is_sort_unstable() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for (n, bits) in [
            (0, 64),
            (1, 64),
            (4095, 33),
            (4096, 1),
            (5000, 11),
            (5000, 12),
            (20_000, 33),
            (20_000, 64),
            (30_000, 40),
        ] {
            let mut v: Vec<u64> = (0..n)
                .map(|_| {
                    if bits == 64 {
                        next()
                    } else {
                        next() >> (64 - bits)
                    }
                })
                .collect();
            if n > 10 {
                v[3] = v[7]; // a duplicate
                v[5] = 0;
            }
            let mut expected = v.clone();
            expected.sort_unstable();
            sort_u64(&mut v);
            assert_eq!(v, expected, "{n} values of {bits} bits");
        }
    }

    #[test]
    fn digits_of_the_sum() {
        assert_eq!(
            sum_digits(Decimal::from_str("215.882").unwrap()),
            (8, 8, 24)
        );
        assert_eq!(sum_digits(Decimal::from_str("153.75").unwrap()), (7, 5, 21));
        assert_eq!(sum_digits(Decimal::from_str("195.8").unwrap()), (8, 0, 23));
        assert_eq!(
            sum_digits(Decimal::from_str("195.80000").unwrap()),
            (8, 0, 23)
        );
        assert_eq!(sum_digits(Decimal::from_str("100").unwrap()), (0, 0, 1));
    }
}
