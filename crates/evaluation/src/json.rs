//! JSON front end of `sua evaluate`: one JSON document in, one JSON result out.
//!
//! Every number in the input and the output is a JSON string holding a decimal ("12.345"); a
//! JSON number is refused, so nothing goes through binary floating point. Unknown fields are
//! refused too (a misspelt field in a tender calculation must not be silently ignored). Errors
//! name the field with its path, e.g. `bids[3].discount: not a decimal`.

use crate::anomaly::{AnomalyParams, AwardRule, DecrementReading, DiscountBid, Method};
use crate::error::EvalError;
use crate::lowest_price::{self, LowestPriceInput};
use crate::quality_price::{
    self, Coefficient, ConcaveBase, Criterion, EconomicFormula, QualityBid, QualityPriceParams,
    Riparametrazione, Sbarramento, SbarramentoStage, ScoreRounding,
};
use crate::rounding::{MAX_DECIMALS, Rounding, RoundingMode};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::collections::HashSet;
use thiserror::Error;

/// Invalid input, naming the field by its path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{path}: {message}")]
pub struct InputError {
    /// e.g. `bids[3].discount`; `$` for the document itself.
    pub path: String,
    pub message: String,
}

impl InputError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<EvalError> for InputError {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::Invalid { field, message } => InputError::new(field, message),
            EvalError::DuplicateId(id) => InputError::new("bids", format!("duplicate id '{id}'")),
            EvalError::Overflow(what) => InputError::new(
                "bids",
                format!("arithmetic overflow while computing {what}: too many digits"),
            ),
        }
    }
}

type R<T> = Result<T, InputError>;
type IdSet<'a> = HashSet<&'a str, foldhash::fast::FixedState>;

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a JSON number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON object with its path.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: String) -> R<Self> {
        match v {
            Value::Object(map) => Ok(Self { map, path }),
            other => Err(InputError::new(
                if path.is_empty() {
                    "$".to_string()
                } else {
                    path
                },
                format!("must be an object, not {}", kind(other)),
            )),
        }
    }

    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn allow(&self, keys: &[&str]) -> R<()> {
        for k in self.map.keys() {
            if !keys.contains(&k.as_str()) {
                return Err(InputError::new(
                    self.at(k),
                    format!("unknown field (expected one of: {})", keys.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn req(&self, key: &str) -> R<&'a Value> {
        self.get(key)
            .ok_or_else(|| InputError::new(self.at(key), "required"))
    }

    fn str_opt(&self, key: &str) -> R<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(InputError::new(
                self.at(key),
                format!("must be a string, not {}", kind(other)),
            )),
        }
    }

    fn str_req(&self, key: &str) -> R<&'a str> {
        self.str_opt(key)?
            .ok_or_else(|| InputError::new(self.at(key), "required"))
    }

    fn dec_opt(&self, key: &str) -> R<Option<Decimal>> {
        self.get(key)
            .map(|v| decimal(v, || self.at(key)))
            .transpose()
    }

    fn dec_req(&self, key: &str) -> R<Decimal> {
        decimal(self.req(key)?, || self.at(key))
    }

    fn obj_opt(&self, key: &str) -> R<Option<Obj<'a>>> {
        self.get(key).map(|v| Obj::new(v, self.at(key))).transpose()
    }

    fn obj_req(&self, key: &str) -> R<Obj<'a>> {
        Obj::new(self.req(key)?, self.at(key))
    }

    fn arr_req(&self, key: &str) -> R<&'a Vec<Value>> {
        match self.req(key)? {
            Value::Array(a) => Ok(a),
            other => Err(InputError::new(
                self.at(key),
                format!("must be an array, not {}", kind(other)),
            )),
        }
    }

    fn bool_opt(&self, key: &str) -> R<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(InputError::new(
                self.at(key),
                format!("must be true or false, not {}", kind(other)),
            )),
        }
    }

    fn choice<T: Copy>(&self, key: &str, options: &[(&str, T)], default: Option<T>) -> R<T> {
        match self.str_opt(key)? {
            None => default.ok_or_else(|| InputError::new(self.at(key), "required")),
            Some(s) => options
                .iter()
                .find(|(name, _)| *name == s)
                .map(|(_, v)| *v)
                .ok_or_else(|| {
                    let names: Vec<String> =
                        options.iter().map(|(n, _)| format!("\"{n}\"")).collect();
                    InputError::new(
                        self.at(key),
                        format!("\"{s}\" is not one of {}", names.join(", ")),
                    )
                }),
        }
    }
}

/// A decimal written as a JSON string.
fn decimal(v: &Value, path: impl FnOnce() -> String) -> R<Decimal> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            let plain = !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '+');
            let parsed = if plain {
                Decimal::from_str_exact(t).ok()
            } else {
                None
            };
            parsed.ok_or_else(|| {
                let hint = if t.contains(',') {
                    " (use a dot as the decimal separator)"
                } else {
                    ""
                };
                InputError::new(path(), format!("\"{s}\" is not a decimal{hint}"))
            })
        }
        Value::Number(n) => Err(InputError::new(
            path(),
            format!("must be a JSON string holding a decimal (write \"{n}\"), not a JSON number"),
        )),
        other => Err(InputError::new(
            path(),
            format!("must be a string holding a decimal, not {}", kind(other)),
        )),
    }
}

fn rounding(o: Option<Obj<'_>>) -> R<Option<Rounding>> {
    let Some(o) = o else { return Ok(None) };
    o.allow(&["decimals", "mode"])?;
    let decimals = o.str_req("decimals")?;
    let decimals: u32 = decimals
        .parse()
        .ok()
        .filter(|d| *d <= MAX_DECIMALS)
        .ok_or_else(|| {
            InputError::new(
                o.at("decimals"),
                format!("\"{decimals}\" is not an integer from 0 to 28"),
            )
        })?;
    let mode = o.choice(
        "mode",
        &[
            ("half_up", RoundingMode::HalfUp),
            ("truncate", RoundingMode::Truncate),
        ],
        None,
    )?;
    Ok(Some(Rounding::new(decimals, mode)))
}

/// The `seed` field of `doc`: an unsigned 64-bit integer written as a string.
fn seed_in(doc: &Obj<'_>) -> R<Option<u64>> {
    match doc.get("seed") {
        None => Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            InputError::new(
                doc.at("seed"),
                format!("\"{s}\" is not an unsigned 64-bit integer"),
            )
        }),
        Some(other) => Err(InputError::new(
            doc.at("seed"),
            format!(
                "must be a string holding an unsigned integer, not {}",
                kind(other)
            ),
        )),
    }
}

fn bid_id<'a>(b: &Obj<'a>, seen: &mut IdSet<'a>) -> R<&'a str> {
    let id = b.str_req("id")?;
    if id.trim().is_empty() {
        return Err(InputError::new(b.at("id"), "must not be empty"));
    }
    if !seen.insert(id) {
        return Err(InputError::new(b.at("id"), format!("duplicate id '{id}'")));
    }
    Ok(id)
}

fn check_discount(d: Decimal, path: String) -> R<Decimal> {
    if d < Decimal::ZERO || d >= Decimal::ONE_HUNDRED {
        return Err(InputError::new(path, format!("{d} is outside [0, 100)")));
    }
    Ok(d)
}

/// Discount and price of a bid: exactly one is given; a price is turned into a ribasso when the
/// base amount is known.
fn offer(
    b: &Obj<'_>,
    base: Option<Decimal>,
    discount_rounding: Option<Rounding>,
    need_discount: bool,
) -> R<(Option<Decimal>, Option<Decimal>)> {
    let discount = b.dec_opt("discount")?;
    let price = b.dec_opt("price")?;
    match (discount, price) {
        (Some(_), Some(_)) => Err(InputError::new(
            b.path.clone(),
            "give either discount or price, not both",
        )),
        (None, None) => Err(InputError::new(
            b.path.clone(),
            "discount or price is required",
        )),
        (Some(d), None) => Ok((Some(check_discount(d, b.at("discount"))?), None)),
        (None, Some(p)) => {
            let Some(base) = base else {
                if need_discount {
                    return Err(InputError::new(
                        "base_amount",
                        format!("required because {} gives a price", b.path),
                    ));
                }
                if p <= Decimal::ZERO {
                    return Err(InputError::new(b.at("price"), "must be greater than zero"));
                }
                return Ok((None, Some(p)));
            };
            let d = lowest_price::discount_from_price(base, p, discount_rounding)
                .map_err(|m| InputError::new(b.at("price"), m))?;
            Ok((Some(d), Some(p)))
        }
    }
}

/// The result of either criterion, serialized as is.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Output<'r, 'a> {
    LowestPrice(&'r lowest_price::LowestPriceResult<'a>),
    QualityPrice(&'r quality_price::QualityPriceResult),
}

/// Parse, evaluate, and hand the result to `emit` (which serializes it).
fn evaluate_with<T>(
    input: &str,
    emit: impl FnOnce(&Output<'_, '_>) -> Result<T, serde_json::Error>,
) -> Result<T, InputError> {
    let doc: Value = serde_json::from_str(input)
        .map_err(|e| InputError::new("$", format!("not valid JSON: {e}")))?;
    let top = Obj::new(&doc, String::new())?;
    let criterion = top.choice(
        "criterion",
        &[("lowest_price", 0u8), ("quality_price", 1u8)],
        None,
    )?;
    let ser_err =
        |e: serde_json::Error| InputError::new("$", format!("cannot serialize the result: {e}"));
    if criterion == 0 {
        top.allow(&[
            "criterion",
            "anomaly",
            "bids",
            "base_amount",
            "seed",
            "rounding",
        ])?;
        let input = lowest_price_input(&top)?;
        emit(&Output::LowestPrice(&lowest_price::evaluate(&input)?)).map_err(ser_err)
    } else {
        top.allow(&[
            "criterion",
            "technical",
            "economic",
            "bids",
            "base_amount",
            "seed",
            "rounding",
        ])?;
        let (params, bids) = quality_price_input(&top)?;
        emit(&Output::QualityPrice(&quality_price::evaluate(
            &params, &bids,
        )?))
        .map_err(ser_err)
    }
}

/// Evaluate the JSON document `input` (see issue 3 / `docs/evaluation.md` for the schema) and
/// return the JSON result. `Err` means invalid input; its `Display` is `path: message`.
pub fn evaluate_json(input: &str) -> Result<Value, InputError> {
    evaluate_with(input, |o| serde_json::to_value(o))
}

/// As [`evaluate_json`], pretty-printed (serialized straight from the result: faster than
/// printing the `Value`).
pub fn evaluate_json_pretty(input: &str) -> Result<String, InputError> {
    evaluate_with(input, |o| serde_json::to_string_pretty(o))
}

fn base_amount(top: &Obj<'_>) -> R<Option<Decimal>> {
    let base = top.dec_opt("base_amount")?;
    if base.is_some_and(|b| b <= Decimal::ZERO) {
        return Err(InputError::new("base_amount", "must be greater than zero"));
    }
    Ok(base)
}

fn lowest_price_input(top: &Obj<'_>) -> R<LowestPriceInput> {
    let base = base_amount(top)?;
    let (discount_rounding, steps, threshold) = match top.obj_opt("rounding")? {
        None => (None, None, None),
        Some(r) => {
            r.allow(&["discount", "steps", "threshold"])?;
            (
                rounding(r.obj_opt("discount")?)?,
                rounding(r.obj_opt("steps")?)?,
                rounding(r.obj_opt("threshold")?)?,
            )
        }
    };
    let anomaly = match top.obj_opt("anomaly")? {
        None => None,
        Some(a) => {
            a.allow(&[
                "method",
                "reference_discount",
                "decrement",
                "exclude_equal",
                "award",
                "draw",
            ])?;
            let method = a.choice(
                "method",
                &[
                    ("A", Some(Some(Method::A))),
                    ("B", Some(Some(Method::B))),
                    ("C", Some(Some(Method::C))),
                    ("draw", Some(None)),
                    ("none", None),
                ],
                None,
            )?;
            if method != Some(None) && a.get("draw").is_some() {
                return Err(InputError::new(
                    a.at("draw"),
                    "only used when method is \"draw\"",
                ));
            }
            let mut method_draw = None;
            let method = match method {
                Some(Some(m)) => Some(m),
                Some(None) => {
                    for k in ["decrement", "exclude_equal", "award"] {
                        if a.get(k).is_some() {
                            return Err(InputError::new(
                                a.at(k),
                                "not allowed when the method is drawn (each method keeps its default)",
                            ));
                        }
                    }
                    let d = a.obj_req("draw")?;
                    d.allow(&["among", "seed"])?;
                    let among = d.arr_req("among")?;
                    let mut methods = Vec::with_capacity(among.len());
                    for (i, v) in among.iter().enumerate() {
                        methods.push(match v.as_str() {
                            Some("A") => Method::A,
                            Some("B") => Method::B,
                            Some("C") => Method::C,
                            _ => {
                                return Err(InputError::new(
                                    format!("{}[{i}]", d.at("among")),
                                    "must be \"A\", \"B\" or \"C\"",
                                ));
                            }
                        });
                    }
                    if methods.contains(&Method::C) && a.get("reference_discount").is_none() {
                        return Err(InputError::new(
                            a.at("reference_discount"),
                            "required when method C may be drawn",
                        ));
                    }
                    let seed =
                        seed_in(&d)?.ok_or_else(|| InputError::new(d.at("seed"), "required"))?;
                    let (m, record) = crate::anomaly::draw_method(&methods, seed)?;
                    method_draw = Some(record);
                    Some(m)
                }
                None => None,
            };
            match method {
                None => {
                    for k in ["reference_discount", "decrement", "exclude_equal", "award"] {
                        if a.get(k).is_some() {
                            return Err(InputError::new(
                                a.at(k),
                                "not used when method is \"none\"",
                            ));
                        }
                    }
                    None
                }
                Some(method) => {
                    let mut p = AnomalyParams::new(method);
                    p.method_draw = method_draw;
                    p.reference_discount = a.dec_opt("reference_discount")?;
                    if p.method_draw.is_some() && method != Method::C {
                        // Drawn method other than C: the reference discount is not used.
                        p.reference_discount = None;
                    }
                    if let Some(r) = p.reference_discount {
                        check_discount(r, a.at("reference_discount"))?;
                    }
                    p.decrement = a.choice(
                        "decrement",
                        &[
                            ("absolute", DecrementReading::Absolute),
                            ("proportional", DecrementReading::Proportional),
                        ],
                        Some(DecrementReading::Absolute),
                    )?;
                    p.exclude_equal = a.bool_opt("exclude_equal")?;
                    p.award = a.choice(
                        "award",
                        &[
                            ("own_discount", AwardRule::OwnDiscount),
                            ("next_lower_discount", AwardRule::NextLowerDiscount),
                        ],
                        Some(AwardRule::OwnDiscount),
                    )?;
                    p.steps_rounding = steps;
                    p.threshold_rounding = threshold;
                    Some(p)
                }
            }
        }
    };
    if anomaly.is_none() && (steps.is_some() || threshold.is_some()) {
        return Err(InputError::new(
            "rounding",
            "steps/threshold rounding needs an anomaly method",
        ));
    }
    let arr = top.arr_req("bids")?;
    let mut seen =
        HashSet::with_capacity_and_hasher(arr.len(), foldhash::fast::FixedState::default());
    let mut bids = Vec::with_capacity(arr.len());
    let mut prices = Vec::with_capacity(arr.len());
    for (i, v) in arr.iter().enumerate() {
        let b = Obj::new(v, format!("bids[{i}]"))?;
        b.allow(&["id", "discount", "price"])?;
        let id = bid_id(&b, &mut seen)?;
        let (d, p) = offer(&b, base, discount_rounding, true)?;
        bids.push(DiscountBid::new(id, d.unwrap_or_default()));
        prices.push(p);
    }
    if prices.iter().all(Option::is_none) {
        prices.clear();
    }
    Ok(LowestPriceInput {
        bids,
        prices,
        base_amount: base,
        discount_rounding,
        anomaly,
        seed: seed_in(top)?,
    })
}

fn quality_price_input(top: &Obj<'_>) -> R<(QualityPriceParams, Vec<QualityBid>)> {
    let base = base_amount(top)?;
    let mut score_rounding = ScoreRounding::default();
    let mut discount_rounding = None;
    if let Some(r) = top.obj_opt("rounding")? {
        r.allow(&["coefficients", "scores", "power", "discount"])?;
        score_rounding.coefficients = rounding(r.obj_opt("coefficients")?)?;
        score_rounding.scores = rounding(r.obj_opt("scores")?)?;
        if let Some(p) = rounding(r.obj_opt("power")?)? {
            score_rounding.power = p;
        }
        discount_rounding = rounding(r.obj_opt("discount")?)?;
    }
    let tech = top.obj_req("technical")?;
    tech.allow(&["criteria", "riparametrazione", "sbarramento"])?;
    let mut criteria = Vec::new();
    for (j, v) in tech.arr_req("criteria")?.iter().enumerate() {
        let c = Obj::new(v, format!("technical.criteria[{j}]"))?;
        c.allow(&["id", "weight"])?;
        criteria.push(Criterion {
            id: c.str_req("id")?.to_string(),
            weight: c.dec_req("weight")?,
        });
    }
    let riparametrazione = tech.choice(
        "riparametrazione",
        &[
            ("none", Riparametrazione::None),
            ("first", Riparametrazione::First),
            ("first_and_second", Riparametrazione::FirstAndSecond),
        ],
        Some(Riparametrazione::None),
    )?;
    let sbarramento = match tech.obj_opt("sbarramento")? {
        None => None,
        Some(s) => {
            s.allow(&["min_points", "applied"])?;
            let min_points = s.dec_req("min_points")?;
            if min_points < Decimal::ZERO {
                return Err(InputError::new(s.at("min_points"), "must not be negative"));
            }
            Some(Sbarramento {
                min_points,
                applied: s.choice(
                    "applied",
                    &[
                        (
                            "before_riparametrazione",
                            SbarramentoStage::BeforeRiparametrazione,
                        ),
                        ("after_first", SbarramentoStage::AfterFirst),
                    ],
                    None,
                )?,
            })
        }
    };
    let eco = top.obj_req("economic")?;
    eco.allow(&["max_points", "formula"])?;
    let economic_max = eco.dec_req("max_points")?;
    let f = eco.obj_req("formula")?;
    let ftype = f.choice(
        "type",
        &[
            ("linear", 0u8),
            ("bilinear", 1),
            ("concave", 2),
            ("inverse_price", 3),
        ],
        None,
    )?;
    let formula = match ftype {
        0 => {
            f.allow(&["type"])?;
            EconomicFormula::Linear
        }
        1 => {
            f.allow(&["type", "x"])?;
            EconomicFormula::Bilinear { x: f.dec_req("x")? }
        }
        2 => {
            f.allow(&["type", "alpha", "base"])?;
            EconomicFormula::Concave {
                alpha: f.dec_req("alpha")?,
                base: f.choice(
                    "base",
                    &[("max", ConcaveBase::Max), ("mean", ConcaveBase::Mean)],
                    None,
                )?,
            }
        }
        _ => {
            f.allow(&["type"])?;
            EconomicFormula::InversePrice
        }
    };
    let need_discount = !matches!(formula, EconomicFormula::InversePrice);
    let arr = top.arr_req("bids")?;
    let mut seen =
        HashSet::with_capacity_and_hasher(arr.len(), foldhash::fast::FixedState::default());
    let mut bids = Vec::with_capacity(arr.len());
    for (i, v) in arr.iter().enumerate() {
        let b = Obj::new(v, format!("bids[{i}]"))?;
        b.allow(&["id", "coefficients", "discount", "price"])?;
        let id = bid_id(&b, &mut seen)?;
        let co = b.obj_req("coefficients")?;
        let names: Vec<&str> = criteria.iter().map(|c| c.id.as_str()).collect();
        co.allow(&names)?;
        let mut coefficients = Vec::with_capacity(criteria.len());
        for c in &criteria {
            let path = || co.at(&c.id);
            let v = co
                .get(&c.id)
                .ok_or_else(|| InputError::new(path(), "missing coefficient"))?;
            coefficients.push(match v {
                Value::Array(list) => Coefficient::Commissioners(
                    list.iter()
                        .enumerate()
                        .map(|(k, x)| decimal(x, || format!("{}[{k}]", path())))
                        .collect::<R<_>>()?,
                ),
                other => Coefficient::Given(decimal(other, path)?),
            });
        }
        let (discount, price) = offer(&b, base, discount_rounding, need_discount)?;
        bids.push(QualityBid {
            id: id.to_string(),
            coefficients,
            discount,
            price,
        });
    }
    Ok((
        QualityPriceParams {
            criteria,
            riparametrazione,
            sbarramento,
            economic_max,
            formula,
            rounding: score_rounding,
            seed: seed_in(top)?,
        },
        bids,
    ))
}
