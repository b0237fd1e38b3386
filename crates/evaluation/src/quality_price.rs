//! Best quality-price ratio (OEPV), aggregative-compensatory method (ANAC Linee guida n. 2).
//!
//! `P_i = sum_j W_j * V_ij + E_i`: technical coefficients (mean of the commissioners' or
//! given), optional first riparametrazione per criterion and second riparametrazione of the
//! technical total, soglia di sbarramento, economic points by formula, totals and ranking.
//!
//! Arithmetic is `rust_decimal` (28 significant digits; divisions that do not terminate are
//! rounded at the 28th digit). `x^alpha` (concave formula) is rounded by an explicit policy
//! (default 10 decimals, half-up). Scores are rounded only when the tender says so.

use crate::error::EvalError;
use crate::ranking::{self, DrawRecord};
use crate::rounding::{Rounding, RoundingMode};
use rust_decimal::{Decimal, MathematicalOps};
use serde::Serialize;
use std::collections::HashSet;

/// A technical criterion and its weight (maximum points).
#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    pub id: String,
    pub weight: Decimal,
}

/// Which riparametrazione the tender provides (LG n. 2 §III; none is mandatory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Riparametrazione {
    None,
    First,
    FirstAndSecond,
}

/// When the soglia di sbarramento is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SbarramentoStage {
    /// On the raw technical score.
    BeforeRiparametrazione,
    /// On the technical score after the first riparametrazione.
    AfterFirst,
}

/// Minimum technical score below which a bid is excluded.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sbarramento {
    #[serde(serialize_with = "crate::ser::dec")]
    pub min_points: Decimal,
    pub applied: SbarramentoStage,
}

/// The base of the concave formula.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcaveBase {
    /// `V = (R / R_max)^alpha`.
    Max,
    /// `V = (R / R_mean)^alpha` if `R < R_mean`, else 1 (ANAC bando tipo n. 2/2026 §18.3).
    Mean,
}

/// The economic formula.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EconomicFormula {
    /// `V = R / R_max` (LG n. 2 §IV).
    Linear,
    /// LG n. 2 §IV: `X * R / R_mean` up to the mean, then `X + (1 - X)(R - R_mean)/(R_max - R_mean)`.
    Bilinear {
        #[serde(serialize_with = "crate::ser::dec")]
        x: Decimal,
    },
    /// Concave ("non lineare").
    Concave {
        #[serde(serialize_with = "crate::ser::dec")]
        alpha: Decimal,
        base: ConcaveBase,
    },
    /// `V = P_min / P` on prices.
    InversePrice,
}

/// A bid's technical coefficient on one criterion.
#[derive(Clone, Debug, PartialEq)]
pub enum Coefficient {
    Given(Decimal),
    /// The coefficients of each commissioner; their mean is used.
    Commissioners(Vec<Decimal>),
}

/// A bid of a quality-price tender.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityBid {
    pub id: String,
    /// One per criterion, in the order of [`QualityPriceParams::criteria`].
    pub coefficients: Vec<Coefficient>,
    /// The ribasso (needed by every formula except inverse_price on prices).
    pub discount: Option<Decimal>,
    /// The price (used by inverse_price when every bid has one).
    pub price: Option<Decimal>,
}

/// Rounding policies of the tender.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ScoreRounding {
    /// Applied to each coefficient (mean of the commissioners, or given).
    pub coefficients: Option<Rounding>,
    /// Applied to each criterion's points, the technical total, the economic points and the total.
    pub scores: Option<Rounding>,
    /// Applied to `x^alpha` in the concave formula (needed: the power is irrational).
    pub power: Rounding,
}

impl Default for ScoreRounding {
    fn default() -> Self {
        Self {
            coefficients: None,
            scores: None,
            power: Rounding::new(10, RoundingMode::HalfUp),
        }
    }
}

/// Parameters of a quality-price evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityPriceParams {
    pub criteria: Vec<Criterion>,
    pub riparametrazione: Riparametrazione,
    pub sbarramento: Option<Sbarramento>,
    pub economic_max: Decimal,
    pub formula: EconomicFormula,
    pub rounding: ScoreRounding,
    pub seed: Option<u64>,
}

/// One criterion of one bid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CriterionScore {
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commissioners: Vec<String>,
    #[serde(serialize_with = "crate::ser::dec")]
    pub coefficient: Decimal,
    /// After the first riparametrazione (null without it).
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub riparametrized: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::dec")]
    pub points: Decimal,
}

/// One bid's scores.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BidScore {
    pub id: String,
    pub criteria: Vec<CriterionScore>,
    /// Sum of weight × coefficient, before any riparametrazione.
    #[serde(serialize_with = "crate::ser::dec")]
    pub technical_raw: Decimal,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub technical_after_first: Option<Decimal>,
    /// The final technical score (after the riparametrazioni the tender provides).
    #[serde(serialize_with = "crate::ser::dec")]
    pub technical: Decimal,
    /// False when below the soglia di sbarramento.
    pub admitted: bool,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub discount: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub price: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub economic_coefficient: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub economic: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub total: Option<Decimal>,
}

/// The economic reference values.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EconomicReport {
    pub formula: EconomicFormula,
    #[serde(serialize_with = "crate::ser::dec")]
    pub max_points: Decimal,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub max_discount: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub mean_discount: Option<Decimal>,
    #[serde(serialize_with = "crate::ser::opt_dec")]
    pub min_price: Option<Decimal>,
    /// "price" or "100 - discount" (prices proportional to 100 - ribasso when no price is given).
    pub price_basis: Option<String>,
}

/// A ranking line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QpRankLine {
    pub id: String,
    #[serde(serialize_with = "crate::ser::count")]
    pub rank: usize,
    #[serde(serialize_with = "crate::ser::dec")]
    pub total: Decimal,
}

/// The result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QualityPriceResult {
    pub criterion: &'static str,
    /// All bids, sorted by id.
    pub bids: Vec<BidScore>,
    pub ranking: Vec<QpRankLine>,
    pub winner: Option<String>,
    pub tie: Vec<String>,
    pub draw: Option<DrawRecord>,
    #[serde(serialize_with = "crate::ser::dec")]
    pub technical_max: Decimal,
    pub riparametrazione: Riparametrazione,
    pub sbarramento: Option<Sbarramento>,
    pub economic: EconomicReport,
    pub rounding: ScoreRounding,
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> EvalError {
    EvalError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

fn unit_interval(v: Decimal) -> bool {
    v >= Decimal::ZERO && v <= Decimal::ONE
}

fn div(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, EvalError> {
    if b == Decimal::ONE {
        return Ok(a);
    }
    a.checked_div(b).ok_or(EvalError::Overflow(what))
}

fn mul(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, EvalError> {
    a.checked_mul(b).ok_or(EvalError::Overflow(what))
}

fn add(a: Decimal, b: Decimal, what: &'static str) -> Result<Decimal, EvalError> {
    a.checked_add(b).ok_or(EvalError::Overflow(what))
}

fn validate(params: &QualityPriceParams, bids: &[QualityBid]) -> Result<(), EvalError> {
    if params.criteria.is_empty() {
        return Err(invalid(
            "technical.criteria",
            "at least one criterion is needed",
        ));
    }
    let mut seen = HashSet::new();
    for (j, c) in params.criteria.iter().enumerate() {
        if !seen.insert(c.id.as_str()) {
            return Err(invalid(
                format!("technical.criteria[{j}].id"),
                format!("duplicate criterion '{}'", c.id),
            ));
        }
        if c.weight <= Decimal::ZERO {
            return Err(invalid(
                format!("technical.criteria[{j}].weight"),
                "must be greater than zero",
            ));
        }
    }
    if params.economic_max < Decimal::ZERO {
        return Err(invalid("economic.max_points", "must not be negative"));
    }
    match params.formula {
        EconomicFormula::Bilinear { x } if x <= Decimal::ZERO || x >= Decimal::ONE => {
            return Err(invalid(
                "economic.formula.x",
                "must be between 0 and 1 (exclusive), e.g. 0.90",
            ));
        }
        EconomicFormula::Concave { alpha, .. }
            if alpha <= Decimal::ZERO || alpha > Decimal::ONE =>
        {
            return Err(invalid("economic.formula.alpha", "must be in (0, 1]"));
        }
        _ => {}
    }
    if params
        .sbarramento
        .is_some_and(|s| s.applied == SbarramentoStage::AfterFirst)
        && params.riparametrazione == Riparametrazione::None
    {
        return Err(invalid(
            "technical.sbarramento.applied",
            "after_first needs a riparametrazione (first or first_and_second)",
        ));
    }
    let mut ids =
        HashSet::with_capacity_and_hasher(bids.len(), foldhash::fast::FixedState::default());
    for (i, b) in bids.iter().enumerate() {
        if !ids.insert(b.id.as_str()) {
            return Err(EvalError::DuplicateId(b.id.clone()));
        }
        if b.coefficients.len() != params.criteria.len() {
            return Err(invalid(
                format!("bids[{i}].coefficients"),
                "one coefficient per criterion is needed",
            ));
        }
        for (j, c) in b.coefficients.iter().enumerate() {
            let field = || format!("bids[{i}].coefficients.{}", params.criteria[j].id);
            match c {
                Coefficient::Given(v) if !unit_interval(*v) => {
                    return Err(invalid(field(), format!("{v} is outside [0, 1]")));
                }
                Coefficient::Commissioners(vs) if vs.is_empty() => {
                    return Err(invalid(
                        field(),
                        "empty list of commissioners' coefficients",
                    ));
                }
                Coefficient::Commissioners(vs) => {
                    if let Some((k, v)) = vs.iter().enumerate().find(|(_, v)| !unit_interval(**v)) {
                        return Err(invalid(
                            format!("{}[{k}]", field()),
                            format!("{v} is outside [0, 1]"),
                        ));
                    }
                }
                _ => {}
            }
        }
        if let Some(d) = b.discount
            && (d < Decimal::ZERO || d >= Decimal::ONE_HUNDRED)
        {
            return Err(invalid(
                format!("bids[{i}].discount"),
                format!("{d} is outside [0, 100)"),
            ));
        }
        if let Some(p) = b.price
            && p <= Decimal::ZERO
        {
            return Err(invalid(
                format!("bids[{i}].price"),
                "must be greater than zero",
            ));
        }
        let needs_discount = !matches!(params.formula, EconomicFormula::InversePrice);
        if needs_discount && b.discount.is_none() {
            return Err(invalid(
                format!("bids[{i}].discount"),
                "required by the economic formula",
            ));
        }
        if !needs_discount && b.discount.is_none() && b.price.is_none() {
            return Err(invalid(
                format!("bids[{i}]"),
                "a discount or a price is required",
            ));
        }
    }
    Ok(())
}

/// Evaluate a quality-price tender.
pub fn evaluate(
    params: &QualityPriceParams,
    bids: &[QualityBid],
) -> Result<QualityPriceResult, EvalError> {
    validate(params, bids)?;
    let rs = |v: Decimal| params.rounding.scores.map_or(v, |r| r.apply(v));
    let rc = |v: Decimal| params.rounding.coefficients.map_or(v, |r| r.apply(v));
    let ncrit = params.criteria.len();
    let technical_max = params.criteria.iter().try_fold(Decimal::ZERO, |acc, c| {
        add(acc, c.weight, "technical maximum")
    })?;

    // Coefficients as fractions num/den (den = number of commissioners, or 1), so that
    // weight x mean and the riparametrazione divide once: exact whenever the result terminates.
    let mut frac: Vec<Vec<(Decimal, Decimal)>> = Vec::with_capacity(bids.len());
    for b in bids {
        let mut row = Vec::with_capacity(ncrit);
        for c in &b.coefficients {
            row.push(match c {
                Coefficient::Given(v) => (rc(*v), Decimal::ONE),
                Coefficient::Commissioners(vs) => {
                    let s = vs
                        .iter()
                        .try_fold(Decimal::ZERO, |a, v| add(a, *v, "coefficient mean"))?;
                    let n = Decimal::from(vs.len());
                    match params.rounding.coefficients {
                        Some(r) => (r.apply(div(s, n, "coefficient mean")?), Decimal::ONE),
                        None => (s, n),
                    }
                }
            });
        }
        frac.push(row);
    }
    let mut coef: Vec<Vec<Decimal>> = Vec::with_capacity(bids.len());
    let mut raw_points = Vec::with_capacity(bids.len());
    let mut raw_total = Vec::with_capacity(bids.len());
    for row in &frac {
        let mut c = Vec::with_capacity(ncrit);
        let mut pts = Vec::with_capacity(ncrit);
        let mut total = Decimal::ZERO;
        for (j, (n, d)) in row.iter().enumerate() {
            c.push(div(*n, *d, "coefficient")?);
            let p = rs(div(
                mul(params.criteria[j].weight, *n, "points")?,
                *d,
                "points",
            )?);
            total = add(total, p, "technical score")?;
            pts.push(p);
        }
        coef.push(c);
        raw_points.push(pts);
        raw_total.push(rs(total));
    }
    let mut admitted = vec![true; bids.len()];
    if let Some(s) = params.sbarramento
        && s.applied == SbarramentoStage::BeforeRiparametrazione
    {
        for (i, t) in raw_total.iter().enumerate() {
            admitted[i] = *t >= s.min_points;
        }
    }

    // First riparametrazione, among the bids still in the technical evaluation: each
    // coefficient divided by the highest one on its criterion (LG n. 2 §III).
    let mut ripar: Option<Vec<Vec<Decimal>>> = None;
    let mut first_points = raw_points.clone();
    let mut first_total = raw_total.clone();
    if params.riparametrazione != Riparametrazione::None {
        let mut best = vec![(Decimal::ZERO, Decimal::ONE); ncrit];
        for (i, row) in frac.iter().enumerate() {
            if admitted[i] {
                for (j, (n, d)) in row.iter().enumerate() {
                    let (bn, bd) = best[j];
                    if mul(*n, bd, "riparametrazione")? > mul(bn, *d, "riparametrazione")? {
                        best[j] = (*n, *d);
                    }
                }
            }
        }
        let mut rows = Vec::with_capacity(bids.len());
        for (i, row) in frac.iter().enumerate() {
            let mut r = Vec::with_capacity(ncrit);
            let mut total = Decimal::ZERO;
            for (j, (n, d)) in row.iter().enumerate() {
                let (bn, bd) = best[j];
                let w = params.criteria[j].weight;
                let (v, p) = if bn.is_zero() {
                    (Decimal::ZERO, Decimal::ZERO)
                } else {
                    let num = mul(*n, bd, "riparametrazione")?;
                    let den = mul(*d, bn, "riparametrazione")?;
                    match params.rounding.coefficients {
                        Some(rd) => {
                            let v = rd.apply(div(num, den, "riparametrazione")?);
                            (v, rs(mul(w, v, "points")?))
                        }
                        None => (
                            div(num, den, "riparametrazione")?,
                            rs(div(mul(w, num, "points")?, den, "points")?),
                        ),
                    }
                };
                total = add(total, p, "technical score")?;
                first_points[i][j] = p;
                r.push(v);
            }
            first_total[i] = rs(total);
            rows.push(r);
        }
        ripar = Some(rows);
    }
    if let Some(s) = params.sbarramento
        && s.applied == SbarramentoStage::AfterFirst
    {
        for (i, t) in first_total.iter().enumerate() {
            admitted[i] = *t >= s.min_points;
        }
    }
    // Second riparametrazione of the technical total, among admitted bids.
    let mut technical = first_total.clone();
    if params.riparametrazione == Riparametrazione::FirstAndSecond {
        let best = (0..bids.len())
            .filter(|&i| admitted[i])
            .map(|i| first_total[i])
            .max()
            .unwrap_or(Decimal::ZERO);
        for i in 0..bids.len() {
            if !best.is_zero() && admitted[i] {
                technical[i] = rs(div(
                    mul(first_total[i], technical_max, "second riparametrazione")?,
                    best,
                    "second riparametrazione",
                )?);
            }
        }
    }

    // Economic coefficient and points among admitted bids (points = max x coefficient, with
    // a single division).
    let adm: Vec<usize> = (0..bids.len()).filter(|&i| admitted[i]).collect();
    let emax = params.economic_max;
    let mut econ = EconomicReport {
        formula: params.formula,
        max_points: emax,
        max_discount: None,
        mean_discount: None,
        min_price: None,
        price_basis: None,
    };
    let mut coefficient: Vec<Option<Decimal>> = vec![None; bids.len()];
    let mut economic_pts: Vec<Option<Decimal>> = vec![None; bids.len()];
    if !adm.is_empty() {
        match params.formula {
            EconomicFormula::InversePrice => {
                let all_prices = adm.iter().all(|&i| bids[i].price.is_some());
                let price = |i: usize| -> Result<Decimal, EvalError> {
                    if all_prices {
                        Ok(bids[i].price.unwrap_or_default())
                    } else {
                        let d = bids[i].discount.ok_or_else(|| {
                            invalid(
                                format!("bids[{i}].discount"),
                                "needed when some bids give no price",
                            )
                        })?;
                        Ok(Decimal::ONE_HUNDRED - d)
                    }
                };
                econ.price_basis = Some(
                    if all_prices {
                        "price"
                    } else {
                        "100 - discount"
                    }
                    .into(),
                );
                let mut pmin: Option<Decimal> = None;
                for &i in &adm {
                    let p = price(i)?;
                    pmin = Some(pmin.map_or(p, |m| m.min(p)));
                }
                let pmin = pmin.unwrap_or(Decimal::ONE);
                econ.min_price = Some(pmin);
                for &i in &adm {
                    let p = price(i)?;
                    coefficient[i] = Some(div(pmin, p, "inverse price")?);
                    economic_pts[i] = Some(rs(div(
                        mul(emax, pmin, "inverse price")?,
                        p,
                        "inverse price",
                    )?));
                }
            }
            formula => {
                let r = |i: usize| bids[i].discount.unwrap_or_default();
                let rmax = adm.iter().map(|&i| r(i)).max().unwrap_or_default();
                let sum = adm
                    .iter()
                    .try_fold(Decimal::ZERO, |a, &i| add(a, r(i), "mean discount"))?;
                let n = Decimal::from(adm.len());
                econ.max_discount = Some(rmax);
                econ.mean_discount = Some(div(sum, n, "mean discount")?);
                for &i in &adm {
                    let ri = r(i);
                    let nri = mul(n, ri, "mean discount")?;
                    let (v, e) = match formula {
                        EconomicFormula::Linear => {
                            if rmax.is_zero() {
                                (Decimal::ZERO, Decimal::ZERO)
                            } else {
                                (
                                    div(ri, rmax, "linear")?,
                                    div(mul(emax, ri, "linear")?, rmax, "linear")?,
                                )
                            }
                        }
                        EconomicFormula::Bilinear { x } => {
                            if nri <= sum {
                                if sum.is_zero() {
                                    (Decimal::ZERO, Decimal::ZERO)
                                } else {
                                    let num = mul(x, nri, "bilinear")?;
                                    (
                                        div(num, sum, "bilinear")?,
                                        div(mul(emax, num, "bilinear")?, sum, "bilinear")?,
                                    )
                                }
                            } else {
                                let num = nri - sum;
                                let den = mul(n, rmax, "bilinear")? - sum;
                                let rest = mul(Decimal::ONE - x, num, "bilinear")?;
                                (
                                    x + div(rest, den, "bilinear")?,
                                    mul(emax, x, "bilinear")?
                                        + div(mul(emax, rest, "bilinear")?, den, "bilinear")?,
                                )
                            }
                        }
                        EconomicFormula::Concave { alpha, base } => {
                            let v = if base == ConcaveBase::Mean && nri >= sum {
                                Decimal::ONE
                            } else {
                                let ratio = match base {
                                    ConcaveBase::Max if !rmax.is_zero() => {
                                        Some(div(ri, rmax, "concave")?)
                                    }
                                    ConcaveBase::Mean if !sum.is_zero() => {
                                        Some(div(nri, sum, "concave")?)
                                    }
                                    _ => None,
                                };
                                match ratio {
                                    None => Decimal::ZERO,
                                    Some(x) if x.is_zero() => Decimal::ZERO,
                                    Some(x) if x == Decimal::ONE => Decimal::ONE,
                                    Some(x) => {
                                        let p = x
                                            .checked_powd(alpha)
                                            .ok_or(EvalError::Overflow("concave power"))?;
                                        params.rounding.power.apply(p).min(Decimal::ONE)
                                    }
                                }
                            };
                            (v, mul(emax, v, "concave")?)
                        }
                        EconomicFormula::InversePrice => (Decimal::ZERO, Decimal::ZERO),
                    };
                    coefficient[i] = Some(v);
                    economic_pts[i] = Some(rs(e));
                }
            }
        }
    }

    let mut scores = Vec::with_capacity(bids.len());
    for (i, b) in bids.iter().enumerate() {
        let economic = economic_pts[i];
        let total = match economic {
            Some(e) => Some(rs(add(technical[i], e, "total")?)),
            None => None,
        };
        let criteria = params
            .criteria
            .iter()
            .enumerate()
            .map(|(j, c)| CriterionScore {
                id: c.id.clone(),
                commissioners: match &b.coefficients[j] {
                    Coefficient::Commissioners(vs) => {
                        vs.iter().map(|v| v.normalize().to_string()).collect()
                    }
                    Coefficient::Given(_) => Vec::new(),
                },
                coefficient: coef[i][j],
                riparametrized: ripar.as_ref().map(|r| r[i][j]),
                points: first_points[i][j],
            })
            .collect();
        scores.push(BidScore {
            id: b.id.clone(),
            criteria,
            technical_raw: raw_total[i],
            technical_after_first: ripar.as_ref().map(|_| first_total[i]),
            technical: technical[i],
            admitted: admitted[i],
            discount: b.discount,
            price: b.price,
            economic_coefficient: coefficient[i],
            economic,
            total,
        });
    }
    let entries: Vec<(usize, &str, Decimal)> = scores
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.total.map(|t| (i, s.id.as_str(), t)))
        .collect();
    let ranked = ranking::rank(entries, params.seed);
    let ranking = ranked
        .lines
        .iter()
        .map(|l| QpRankLine {
            id: scores[l.index].id.clone(),
            rank: l.rank,
            total: scores[l.index].total.unwrap_or_default(),
        })
        .collect();
    let winner = ranked.winner.map(|i| scores[i].id.clone());
    let tie = ranked.tie.iter().map(|&i| scores[i].id.clone()).collect();
    scores.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(QualityPriceResult {
        criterion: "quality_price",
        bids: scores,
        ranking,
        winner,
        tie,
        draw: ranked.draw,
        technical_max,
        riparametrazione: params.riparametrazione,
        sbarramento: params.sbarramento,
        economic: econ,
        rounding: params.rounding,
    })
}
