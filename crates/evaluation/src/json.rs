//! JSON front end of `sua evaluate`: one JSON document in, one JSON result out.
//!
//! Every number in the input and the output is a JSON string holding a decimal ("12.345"); a
//! JSON number is refused, so nothing goes through binary floating point. Unknown fields are
//! refused too (a misspelt field in a tender calculation must not be silently ignored). Errors
//! name the field with its path, e.g. `bids[3].discount: not a decimal`.

use crate::anomaly::{AnomalyParams, AwardRule, DecrementReading, DiscountBid, Method, Outcome};
use crate::document::{BidIn, BidsIn, DocIn};
use crate::error::EvalError;
use crate::lowest_price::{self, LowestPriceInput};
use crate::quality_price::{
    self, Coefficient, ConcaveBase, Criterion, EconomicFormula, QualityBid, QualityPriceParams,
    Riparametrazione, Sbarramento, SbarramentoStage, ScoreRounding,
};
use crate::rounding::{MAX_DECIMALS, Rounding, RoundingMode};
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use std::borrow::Cow;
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

/// The first position among `0..n` whose id an earlier position has (`None`: all different); `id_of(j)` is
/// the id at `j`. The duplicate check of the bids at the lowest price, after they are read: the ids' hashes,
/// each with its position below it in a `u64`, are sorted (a radix sort, `anomaly::sort_u64`: passes streaming
/// through memory) and ids are compared only within a run of equal hashes. A set of the ids filled bid by bid
/// costs a cache miss a bid (100,000 bids: a table of 1 MB or more read at random, a fifth of the reading's
/// time); this takes 1.6 MB for a moment and reads it in order (bench/README.md, "sua evaluate", session 8).
fn first_repeated<'x>(n: usize, id_of: impl Fn(usize) -> &'x str) -> Option<usize> {
    use std::hash::BuildHasher;
    let hasher = foldhash::fast::FixedState::default();
    let index_bits = usize::BITS - n.leading_zeros();
    if index_bits > 32 {
        // (more than 4 billion bids: a set, as before)
        let mut seen: IdSet = HashSet::with_capacity_and_hasher(n, hasher);
        return (0..n).find(|&j| !seen.insert(id_of(j)));
    }
    let mask = (1u64 << index_bits) - 1;
    let mut keys: Vec<u64> = (0..n)
        .map(|j| ((hasher.hash_one(id_of(j)) >> 32) << index_bits) | j as u64)
        .collect();
    crate::anomaly::sort_u64(&mut keys);
    let mut first: Option<usize> = None;
    let mut start = 0;
    while start < keys.len() {
        let hash = keys[start] >> index_bits;
        let mut end = start + 1;
        while end < keys.len() && keys[end] >> index_bits == hash {
            end += 1;
        }
        // positions ascend within the run: the first one with an equal id before it
        for k in start + 1..end {
            let at = (keys[k] & mask) as usize;
            if first.is_some_and(|f| f <= at) {
                break;
            }
            let id = id_of(at);
            if keys[start..k]
                .iter()
                .any(|&o| id_of((o & mask) as usize) == id)
            {
                first = Some(at);
                break;
            }
        }
        start = end;
    }
    first
}

fn join(path: &str, key: &str) -> String {
    if key.is_empty() {
        // an empty field name still gets a path (found by `cargo fuzz`, target `evaluate`)
        let at = if path.is_empty() { "$" } else { path };
        return format!("{at}[\"\"]");
    }
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
        Value::String(s) => decimal_str(s, path),
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

/// The text of a decimal (the content of a JSON string).
fn decimal_str(s: &str, path: impl FnOnce() -> String) -> R<Decimal> {
    match plain_decimal(s.as_bytes()) {
        Some(d) => Ok(d),
        None => decimal_text(s, path),
    }
}

/// A field of a flat bid, read as [`decimal_str`] reads it: the usual decimal without a `Result` in between
/// (on 100,000 bids, handing the decimal through `Result` and `Option::transpose` stalled the reading of the
/// bids: bench/README.md, "sua evaluate", session 8).
#[inline]
fn decimal_field(s: Option<&str>, path: impl FnOnce() -> String) -> R<Option<Decimal>> {
    let Some(s) = s else { return Ok(None) };
    Ok(Some(match plain_decimal(s.as_bytes()) {
        Some(d) => d,
        None => decimal_text(s, path)?,
    }))
}

/// [`decimal_str`] past its fast path.
#[inline(never)]
fn decimal_text(s: &str, path: impl FnOnce() -> String) -> R<Decimal> {
    let t = s.trim();
    let plain = !t.is_empty()
        && t.bytes()
            .all(|c| c.is_ascii_digit() || c == b'.' || c == b'-' || c == b'+');
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

/// `digits` or `digits.digits`, at most 18 digits in all: the decimal `Decimal::from_str_exact` gives (same
/// mantissa and scale), read without its general parser (100,000 ribassi per large tender). `None`: any other
/// text, read by `from_str_exact`.
#[inline]
fn plain_decimal(s: &[u8]) -> Option<Decimal> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let (mut m, mut scale, mut point, mut digits) = (0u64, 0u32, false, 0usize);
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                m = m * 10 + u64::from(c - b'0');
                digits += 1;
                scale += u32::from(point);
            }
            b'.' if !point && i > 0 && i + 1 < s.len() => point = true,
            _ => return None,
        }
    }
    (digits <= 18).then(|| Decimal::from_i128_with_scale(i128::from(m), scale))
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

/// A bid's id: present, not blank, not seen before (`new_id` records it and tells whether it is new). `path`
/// is the bid's (`bids[3]`).
fn bid_id<'a>(
    id: Option<&'a str>,
    path: &dyn Fn() -> String,
    new_id: impl FnOnce(&'a str) -> bool,
) -> R<&'a str> {
    let id = id.ok_or_else(|| InputError::new(format!("{}.id", path()), "required"))?;
    // (an id starting with a visible ASCII character is not blank: no need to trim it)
    if !id.as_bytes().first().is_some_and(u8::is_ascii_graphic) && id.trim().is_empty() {
        return Err(InputError::new(
            format!("{}.id", path()),
            "must not be empty",
        ));
    }
    if !new_id(id) {
        return Err(InputError::new(
            format!("{}.id", path()),
            format!("duplicate id '{id}'"),
        ));
    }
    Ok(id)
}

fn check_discount(d: Decimal, path: impl FnOnce() -> String) -> R<Decimal> {
    if !crate::anomaly::in_range(d) {
        return Err(InputError::new(path(), format!("{d} is outside [0, 100)")));
    }
    Ok(d)
}

/// Discount and price of a bid: exactly one is given; a price is turned into a ribasso when the
/// base amount is known. `path` is the bid's.
fn offer(
    path: &dyn Fn() -> String,
    discount: Option<Decimal>,
    price: Option<Decimal>,
    base: Option<Decimal>,
    discount_rounding: Option<Rounding>,
    need_discount: bool,
) -> R<(Option<Decimal>, Option<Decimal>)> {
    match (discount, price) {
        (Some(_), Some(_)) => Err(InputError::new(
            path(),
            "give either discount or price, not both",
        )),
        (None, None) => Err(InputError::new(path(), "discount or price is required")),
        (Some(d), None) => Ok((
            Some(check_discount(d, || format!("{}.discount", path()))?),
            None,
        )),
        (None, Some(p)) => {
            let Some(base) = base else {
                if need_discount {
                    return Err(InputError::new(
                        "base_amount",
                        format!("required because {} gives a price", path()),
                    ));
                }
                if p <= Decimal::ZERO {
                    return Err(InputError::new(
                        format!("{}.price", path()),
                        "must be greater than zero",
                    ));
                }
                return Ok((None, Some(p)));
            };
            let d = lowest_price::discount_from_price(base, p, discount_rounding)
                .map_err(|m| InputError::new(format!("{}.price", path()), m))?;
            Ok((Some(d), Some(p)))
        }
    }
}

/// Discount and price of an `Obj` bid.
fn obj_offer(
    b: &Obj<'_>,
    base: Option<Decimal>,
    discount_rounding: Option<Rounding>,
    need_discount: bool,
) -> R<(Option<Decimal>, Option<Decimal>)> {
    let discount = b.dec_opt("discount")?;
    let price = b.dec_opt("price")?;
    offer(
        &|| b.path.clone(),
        discount,
        price,
        base,
        discount_rounding,
        need_discount,
    )
}

/// The result of either criterion, serialized as is.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Output<'r, 'a> {
    LowestPrice(&'r lowest_price::LowestPriceResult<'a>),
    QualityPrice(&'r quality_price::QualityPriceResult),
}

/// A checked input document, ready to evaluate.
enum Parsed<'i> {
    LowestPrice(LowestPriceInput<'i>),
    QualityPrice(QualityPriceParams, Vec<QualityBid>),
}

/// Read and check the input document. What is read of it (a `Value` for the small fields, slices of `input`
/// for the bids) is dropped on return: only the evaluation's own input is kept.
fn parse_input(input: &str, split: Split) -> R<Parsed<'_>> {
    let doc = DocIn::parse_split(input, split.bytes)
        .map_err(|e| InputError::new("$", format!("not valid JSON: {e}")))?;
    let top = Obj::new(&doc.top, String::new())?;
    let criterion = top.choice(
        "criterion",
        &[("lowest_price", 0u8), ("quality_price", 1u8)],
        None,
    )?;
    if criterion == 0 {
        top.allow(&[
            "criterion",
            "anomaly",
            "bids",
            "base_amount",
            "seed",
            "rounding",
        ])?;
        Ok(Parsed::LowestPrice(lowest_price_input_split(
            &top,
            doc.bids.as_ref(),
            split.bids,
        )?))
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
        let (params, bids) = quality_price_input(&top, doc.bids.as_ref())?;
        Ok(Parsed::QualityPrice(params, bids))
    }
}

/// Parse, evaluate, and hand the result to `emit` (which serializes it). The outer `Err` is invalid
/// input, the inner one `emit`'s.
fn evaluate_with<T, E>(
    input: &str,
    emit: impl FnOnce(&Output<'_, '_>) -> Result<T, E>,
) -> Result<Result<T, E>, InputError> {
    match parse_input(input, Split::DEFAULT)? {
        Parsed::LowestPrice(input) => Ok(emit(&Output::LowestPrice(
            // the ids were checked unique, naming the bid, by `lowest_price_input`
            &lowest_price::evaluate_unique_ids(&input)?,
        ))),
        Parsed::QualityPrice(params, bids) => Ok(emit(&Output::QualityPrice(
            &quality_price::evaluate(&params, &bids)?,
        ))),
    }
}

fn ser_err(e: serde_json::Error) -> InputError {
    InputError::new("$", format!("cannot serialize the result: {e}"))
}

/// Evaluate the JSON document `input` (see issue 3 / `docs/evaluation.md` for the schema) and
/// return the JSON result. `Err` means invalid input; its `Display` is `path: message`.
pub fn evaluate_json(input: &str) -> Result<Value, InputError> {
    evaluate_with(input, |o| serde_json::to_value(o))?.map_err(ser_err)
}

/// As [`evaluate_json`], pretty-printed (serialized straight from the result: faster than
/// printing the `Value`).
pub fn evaluate_json_pretty(input: &str) -> Result<String, InputError> {
    evaluate_with(input, |o| serde_json::to_string_pretty(o))?.map_err(ser_err)
}

/// Why [`evaluate_json_to`] failed.
#[derive(Debug, Error)]
pub enum EvaluateError {
    /// Invalid input (nothing was written).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The result could not be written (e.g. a closed pipe).
    #[error("cannot write the result: {0}")]
    Write(std::io::Error),
}

/// As [`evaluate_json`], written to `out` as it is serialized: compact, or indented by two spaces when
/// `pretty` (the same JSON value either way), then a newline. Nothing is written when the input is invalid.
/// The text goes to `out` in blocks of 64 KiB (no need to buffer it); `out` is flushed.
pub fn evaluate_json_to<W: std::io::Write>(
    input: &str,
    pretty: bool,
    out: W,
) -> Result<(), EvaluateError> {
    evaluate_json_to_split(input, pretty, out, Split::DEFAULT)
}

/// From which size the reading of the bids is shared between two threads (the result is the same either
/// way; tests force the split on small inputs).
#[derive(Clone, Copy)]
struct Split {
    /// the scan of the bids' text ([`DocIn::parse_split`]), from this many bytes
    bytes: usize,
    /// the checks of the bids ([`lowest_price_input_split`]), from this many bids
    bids: usize,
    /// the text of the ranking (`out::lowest_price`), from this many lines
    lines: usize,
}

impl Split {
    /// About 10,000 bids: a thread costs 50 to 100 µs to start and join, 10,000 bids about 1 ms to read.
    const DEFAULT: Split = Split {
        bytes: crate::document::SPLIT_MIN_BYTES,
        bids: 10_000,
        lines: 10_000,
    };
}

fn evaluate_json_to_split<W: std::io::Write>(
    input: &str,
    pretty: bool,
    mut out: W,
    split: Split,
) -> Result<(), EvaluateError> {
    use serde::Serialize;
    use std::io::Write as _;
    match parse_input(input, split)? {
        Parsed::LowestPrice(input) => {
            // the ids were checked unique, naming the bid, by `lowest_price_input`
            let mut result = lowest_price::evaluate_unique_ids(&input).map_err(InputError::from)?;
            let mut block = crate::out::Out::new(out);
            crate::out::lowest_price(&mut block, &mut result, pretty, split.lines)
                .and_then(|()| block.finish())
                .map_err(EvaluateError::Write)?;
        }
        Parsed::QualityPrice(params, bids) => {
            let result = quality_price::evaluate(&params, &bids).map_err(InputError::from)?;
            let o = Output::QualityPrice(&result);
            let mut block = std::io::BufWriter::with_capacity(1 << 16, &mut out);
            if pretty {
                let indent = crate::indent::Indent::default();
                o.serialize(&mut serde_json::Serializer::with_formatter(
                    &mut block, indent,
                ))
            } else {
                o.serialize(&mut serde_json::Serializer::new(&mut block))
            }
            .map_err(|e| EvaluateError::Write(e.into()))?;
            block.write_all(b"\n").map_err(EvaluateError::Write)?;
            block
                .into_inner()
                .map_err(|e| EvaluateError::Write(e.into_error()))?
                .flush()
                .map_err(EvaluateError::Write)?;
        }
    }
    Ok(())
}

/// The `bids` array, required.
fn bids_req<'b, 'de>(bids: Option<&'b BidsIn<'de>>) -> R<BidList<'b, 'de>> {
    match bids {
        None | Some(BidsIn::Other(Value::Null)) => Err(InputError::new("bids", "required")),
        Some(BidsIn::Other(other)) => Err(InputError::new(
            "bids",
            format!("must be an array, not {}", kind(other)),
        )),
        Some(BidsIn::List(l)) => Ok(BidList::List(l)),
        Some(BidsIn::Slices(l)) => Ok(BidList::Slices(l)),
    }
}

/// The bids as read, either form.
#[derive(Clone, Copy)]
enum BidList<'b, 'de> {
    List(&'b [BidIn<'de>]),
    Slices(&'b crate::document::FlatBids<'de>),
}

/// One bid of a [`BidList`].
enum BidView<'b, 'de> {
    /// `id`, `discount`, `price` (strings or absent); `id_in` is the id again when it is a slice of the input
    /// (kept by the evaluation without a copy).
    Flat {
        id: Option<&'b str>,
        id_in: Option<&'de str>,
        discount: Option<&'b str>,
        price: Option<&'b str>,
    },
    Other(&'b Value),
}

impl<'b, 'de> BidList<'b, 'de> {
    fn len(self) -> usize {
        match self {
            BidList::List(l) => l.len(),
            BidList::Slices(l) => l.len(),
        }
    }

    fn iter(self) -> impl Iterator<Item = BidView<'b, 'de>> {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Bid `i` (below `len`).
    #[inline]
    fn get(self, i: usize) -> BidView<'b, 'de> {
        match self {
            BidList::List(l) => match &l[i] {
                BidIn::Flat {
                    id,
                    discount,
                    price,
                } => BidView::Flat {
                    id: id.as_deref(),
                    id_in: match id {
                        Some(Cow::Borrowed(s)) => Some(*s),
                        _ => None,
                    },
                    discount: discount.as_deref(),
                    price: price.as_deref(),
                },
                BidIn::Other(v) => BidView::Other(v),
            },
            BidList::Slices(l) => {
                let [id, discount, price] = l.get(i);
                BidView::Flat {
                    id,
                    id_in: id,
                    discount,
                    price,
                }
            }
        }
    }
}

fn base_amount(top: &Obj<'_>) -> R<Option<Decimal>> {
    let base = top.dec_opt("base_amount")?;
    if base.is_some_and(|b| b <= Decimal::ZERO) {
        return Err(InputError::new("base_amount", "must be greater than zero"));
    }
    Ok(base)
}

fn lowest_price_input<'de>(
    top: &Obj<'_>,
    bids_in: Option<&BidsIn<'de>>,
) -> R<LowestPriceInput<'de>> {
    lowest_price_input_split(top, bids_in, Split::DEFAULT.bids)
}

/// The bids of a lowest-price input as read, up to the first refused.
struct BidsRead<'de> {
    bids: Vec<DiscountBid<'de>>,
    /// one entry per bid once a bid gives a price (none otherwise)
    prices: Vec<Option<Decimal>>,
    /// The first bid refused, with its id when the id itself is good: its checks come after the duplicate
    /// check of that id, made for all the bids read (the same error, for the same bid, as checking bid by bid).
    refused: Option<(InputError, Option<Cow<'de, str>>)>,
}

impl<'de> BidsRead<'de> {
    /// The bids of `self` then those of `next`, read from where `self`'s end, as if read in one run: `next`
    /// counts only if `self` refused none.
    fn then(mut self, next: BidsRead<'de>) -> BidsRead<'de> {
        if self.refused.is_some() {
            return self;
        }
        let (n1, n2) = (self.bids.len(), next.bids.len());
        match (self.prices.is_empty(), next.prices.is_empty()) {
            (true, true) => {}
            (true, false) => {
                self.prices.reserve_exact(n1 + n2);
                self.prices.resize(n1, None);
                self.prices.extend(next.prices);
            }
            (false, true) => self.prices.resize(n1 + n2, None),
            (false, false) => self.prices.extend(next.prices),
        }
        self.bids.extend(next.bids);
        self.refused = next.refused;
        self
    }
}

/// Bids `range` of `list` (their paths `bids[i]` as in the whole list), up to the first refused, into `bids`
/// (empty, with room for them).
fn read_bids<'de>(
    list: BidList<'_, 'de>,
    range: std::ops::Range<usize>,
    mut bids: Vec<DiscountBid<'de>>,
    base: Option<Decimal>,
    discount_rounding: Option<Rounding>,
) -> BidsRead<'de> {
    let from = range.start;
    let mut prices: Vec<Option<Decimal>> = Vec::new();
    let mut refused = None;
    for i in range {
        let b = list.get(i);
        let path = || format!("bids[{i}]");
        // the id (present, not blank), and the rest of the bid
        let read = match b {
            BidView::Flat {
                id,
                id_in,
                discount,
                price,
            } => bid_id(id, &path, |_| true).map(|id| {
                let id = match id_in {
                    Some(s) => Cow::Borrowed(s),
                    None => Cow::Owned(id.to_owned()),
                };
                (id, Err((discount, price)))
            }),
            BidView::Other(v) => Obj::new(v, path()).and_then(|b| {
                b.allow(&["id", "discount", "price"])?;
                let id = bid_id(b.str_opt("id")?, &path, |_| true)?;
                Ok((Cow::Owned(id.to_owned()), Ok(b)))
            }),
        };
        let (id, rest) = match read {
            Ok(r) => r,
            Err(e) => {
                refused = Some((e, None));
                break;
            }
        };
        let offered = match rest {
            Err((discount, price)) => decimal_field(discount, || format!("bids[{i}].discount"))
                .and_then(|d| Ok((d, decimal_field(price, || format!("bids[{i}].price"))?))),
            Ok(b) => b
                .dec_opt("discount")
                .and_then(|d| Ok((d, b.dec_opt("price")?))),
        }
        .and_then(|offered| match offered {
            // the usual bid, as `offer` takes it (a ribasso in range, no price)
            (Some(d), None) if crate::anomaly::in_range(d) => Ok((Some(d), None)),
            (d, p) => offer(&path, d, p, base, discount_rounding, true),
        });
        let (d, p) = match offered {
            Ok(dp) => dp,
            Err(e) => {
                refused = Some((e, Some(id)));
                break;
            }
        };
        bids.push(DiscountBid::new(id, d.unwrap_or_default()));
        if p.is_some() && prices.capacity() == 0 {
            prices = Vec::with_capacity(bids.capacity());
            prices.resize(i - from, None);
        }
        if prices.capacity() > 0 {
            prices.push(p);
        }
    }
    BidsRead {
        bids,
        prices,
        refused,
    }
}

fn lowest_price_input_split<'de>(
    top: &Obj<'_>,
    bids_in: Option<&BidsIn<'de>>,
    split_bids: usize,
) -> R<LowestPriceInput<'de>> {
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
                        check_discount(r, || a.at("reference_discount"))?;
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
    let list = bids_req(bids_in)?;
    let n = list.len();
    let read = &|range, bids| read_bids(list, range, bids, base, discount_rounding);
    let BidsRead {
        bids,
        prices,
        refused,
    } = if n >= split_bids.max(2) {
        // the second half read by another thread; its bids count only if the first half refused none
        let mid = n / 2;
        std::thread::scope(|scope| {
            // allocated by this thread, so that it goes back to this thread's heap when freed (malloc keeps a
            // heap per thread: the other's would only add to the peak memory)
            let rest = Vec::with_capacity(n - mid);
            let second = scope.spawn(move || read(mid..n, rest));
            let first = read(0..mid, Vec::with_capacity(n));
            // (a panic of the other thread is a bug: it is passed on)
            let second = second
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            first.then(second)
        })
    } else {
        read(0..n, Vec::with_capacity(n))
    };
    // the ids read: the bids', then the refused bid's (at its position, `bids.len()`)
    let last = refused.as_ref().and_then(|r| r.1.as_deref());
    let id_of = |j: usize| match bids.get(j) {
        Some(b) => &*b.id,
        None => last.unwrap_or_default(),
    };
    if let Some(j) = first_repeated(bids.len() + usize::from(last.is_some()), id_of) {
        return Err(InputError::new(
            format!("bids[{j}].id"),
            format!("duplicate id '{}'", id_of(j)),
        ));
    }
    if let Some((e, _)) = refused {
        return Err(e);
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

fn quality_price_input(
    top: &Obj<'_>,
    bids_in: Option<&BidsIn<'_>>,
) -> R<(QualityPriceParams, Vec<QualityBid>)> {
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
    let list = bids_req(bids_in)?;
    let mut seen: IdSet =
        HashSet::with_capacity_and_hasher(list.len(), foldhash::fast::FixedState::default());
    let mut bids = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let path = || format!("bids[{i}]");
        let v = match v {
            BidView::Other(v) => v,
            BidView::Flat { id, .. } => {
                // no coefficients (the only fields are id, discount and price)
                bid_id(id, &path, |id| seen.insert(id))?;
                return Err(InputError::new(
                    format!("bids[{i}].coefficients"),
                    "required",
                ));
            }
        };
        let b = Obj::new(v, path())?;
        b.allow(&["id", "coefficients", "discount", "price"])?;
        let id = bid_id(b.str_opt("id")?, &path, |id| seen.insert(id))?;
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
        let (discount, price) = obj_offer(&b, base, discount_rounding, need_discount)?;
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

// ---------------------------------------------------------------- a lot's evaluation rules (lex specialis)

/// The fields of a lot's evaluation rules at the lowest price: the rest of the input document (criterion,
/// base amount, bids, seeds) is filled in at evaluation.
pub const RULES_FIELDS_LOWEST_PRICE: &[&str] = &["anomaly", "rounding"];
/// The fields of a lot's evaluation rules at the best quality-price ratio.
pub const RULES_FIELDS_QUALITY_PRICE: &[&str] = &["technical", "economic", "rounding"];

/// How a lot's rules provide for the automatic exclusion of anomalous bids (art. 54 c.1-2).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AutomaticExclusion {
    /// No automatic exclusion (`anomaly` absent or `method: "none"`); quality-price rules.
    NotProvided,
    /// The method stated in the tender documents.
    Method(Method),
    /// The method is drawn at evaluation among these (art. 54 c.2).
    DrawnAmong(Vec<Method>),
}

impl AutomaticExclusion {
    /// The rules provide for automatic exclusion: a method, or a draw among methods.
    pub fn is_provided(&self) -> bool {
        !matches!(self, AutomaticExclusion::NotProvided)
    }
}

/// What the engine needs to know of valid rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LotRules {
    pub automatic_exclusion: AutomaticExclusion,
}

/// Check a lot's evaluation rules for `criterion` (`lowest_price` or `quality_price`) with the same parser
/// as the evaluation, before any bid exists: the rules are part of the lex specialis (art. 54 c.2, art. 108
/// c.12) and are fixed while the tender is a draft. Only [`RULES_FIELDS_LOWEST_PRICE`] or
/// [`RULES_FIELDS_QUALITY_PRICE`] are allowed: no bids, no base amount, and no seed (the platform draws; a
/// seed is never given).
pub fn parse_rules(criterion: &str, rules: &Value) -> Result<LotRules, InputError> {
    let top = Obj::new(rules, String::new())?;
    let no_seed = |path: String| {
        InputError::new(
            path,
            "seeds are not given: the platform generates every draw's seed and commits to it in advance \
             (art. 54 c.2)",
        )
    };
    if top.map.contains_key("seed") {
        return Err(no_seed("seed".into()));
    }
    let anomaly = top.obj_opt("anomaly")?;
    if let Some(a) = &anomaly
        && let Some(d) = a.obj_opt("draw")?
        && d.map.contains_key("seed")
    {
        return Err(no_seed(d.at("seed")));
    }
    let fields = match criterion {
        "lowest_price" => RULES_FIELDS_LOWEST_PRICE,
        "quality_price" => RULES_FIELDS_QUALITY_PRICE,
        other => {
            return Err(InputError::new(
                "criterion",
                format!("\"{other}\" is not lowest_price or quality_price"),
            ));
        }
    };
    top.allow(fields)?;
    // the evaluation's own parser, on the rules with no bid (and a placeholder seed for a drawn method)
    let doc = DocIn::from_value(input_document(criterion, rules, None, Vec::new(), Some(0)));
    let doc_obj = Obj::new(&doc.top, String::new())?;
    let automatic_exclusion = if criterion == "lowest_price" {
        let parsed = lowest_price_input(&doc_obj, doc.bids.as_ref())?;
        match (parsed.anomaly, anomaly) {
            (None, _) => AutomaticExclusion::NotProvided,
            (Some(p), _) if p.method_draw.is_none() => AutomaticExclusion::Method(p.method),
            (Some(_), Some(a)) => {
                let among = a.obj_req("draw")?.arr_req("among")?;
                let mut methods: Vec<Method> = among
                    .iter()
                    .filter_map(|v| match v.as_str() {
                        Some("A") => Some(Method::A),
                        Some("B") => Some(Method::B),
                        Some("C") => Some(Method::C),
                        _ => None,
                    })
                    .collect();
                methods.sort_by_key(|m| m.code());
                AutomaticExclusion::DrawnAmong(methods)
            }
            (Some(p), None) => AutomaticExclusion::Method(p.method),
        }
    } else {
        quality_price_input(&doc_obj, doc.bids.as_ref())?;
        AutomaticExclusion::NotProvided
    };
    Ok(LotRules {
        automatic_exclusion,
    })
}

/// The evaluation's input document for a lot: its `rules` (see [`parse_rules`]) with the criterion, the base
/// amount, the bids and the platform's draw seed put where the evaluation reads them (`seed` for a tie, and
/// `anomaly.draw.seed` when the method is drawn).
pub fn input_document(
    criterion: &str,
    rules: &Value,
    base_amount: Option<&str>,
    bids: Vec<Value>,
    seed: Option<u64>,
) -> Value {
    let mut doc = match rules {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    doc.insert("criterion".into(), criterion.into());
    if let Some(b) = base_amount {
        doc.insert("base_amount".into(), b.into());
    }
    doc.insert("bids".into(), Value::Array(bids));
    if let Some(seed) = seed {
        doc.insert("seed".into(), seed.to_string().into());
        if let Some(Value::Object(a)) = doc.get_mut("anomaly")
            && a.get("method").and_then(Value::as_str) == Some("draw")
            && let Some(Value::Object(d)) = a.get_mut("draw")
        {
            d.insert("seed".into(), seed.to_string().into());
        }
    }
    Value::Object(doc)
}

/// Rank again the bids of `input` (the evaluation's input document with the bids still in the ranking, e.g.
/// after `reopen_ranking`) against the `first` evaluation's result, recomputing neither the anomaly threshold
/// nor any mean (art. 108 c.12): at the lowest price the first threshold is applied
/// ([`lowest_price::rank_with_threshold`]); at quality-price the first evaluation's total scores are ranked
/// again, without the bids no longer in `input`.
pub fn rerank_json(input: &str, first: &Value) -> Result<Value, InputError> {
    let doc =
        DocIn::parse(input).map_err(|e| InputError::new("$", format!("not valid JSON: {e}")))?;
    let top = Obj::new(&doc.top, String::new())?;
    let ser = |e: serde_json::Error| InputError::new("$", format!("cannot serialize: {e}"));
    match top.str_req("criterion")? {
        "lowest_price" => {
            let input = lowest_price_input(&top, doc.bids.as_ref())?;
            let a = &first["anomaly"];
            let outcome = match a["outcome"].as_str() {
                Some("computed") => Outcome::Computed,
                Some("undetermined") => Outcome::Undetermined,
                Some("not_applicable") => Outcome::NotApplicable,
                _ => Outcome::NotRequested,
            };
            let threshold = match a.get("threshold").filter(|v| !v.is_null()) {
                Some(v) => Some(decimal(v, || "first.anomaly.threshold".into())?),
                None => None,
            };
            let kept = lowest_price::KeptThreshold { outcome, threshold };
            let out = lowest_price::rank_with_threshold(&input, &kept)?;
            serde_json::to_value(&out).map_err(ser)
        }
        _ => {
            let (params, bids) = quality_price_input(&top, doc.bids.as_ref())?;
            let here: HashSet<&str> = bids.iter().map(|b| b.id.as_str()).collect();
            let lines = first["ranking"].as_array().cloned().unwrap_or_default();
            let mut kept = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                let id = l["id"].as_str().unwrap_or_default().to_owned();
                if here.contains(id.as_str()) {
                    let total = decimal(&l["total"], || format!("first.ranking[{i}].total"))?;
                    kept.push((id, total));
                }
            }
            let entries: Vec<(usize, &str, Decimal)> = kept
                .iter()
                .enumerate()
                .map(|(i, (id, t))| (i, id.as_str(), *t))
                .collect();
            let ranked = crate::ranking::rank(entries, params.seed);
            let mut out = first.clone();
            out["ranking"] = ranked
                .lines
                .iter()
                .map(|l| {
                    serde_json::json!({"id": kept[l.index].0, "rank": l.rank.to_string(),
                        "total": kept[l.index].1.normalize().to_string()})
                })
                .collect();
            out["winner"] = ranked
                .winner
                .map_or(Value::Null, |w| kept[w].0.clone().into());
            out["tie"] = ranked.tie.iter().map(|&i| kept[i].0.clone()).collect();
            out["draw"] = serde_json::to_value(&ranked.draw).map_err(ser)?;
            out["note"] = "ranking of the bids left after the ranking was reopened, on the scores of the first \
                evaluation (art. 108 c.12)"
                .into();
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn plain_decimals_are_read_as_from_str_exact_reads_them() {
        for t in [
            "0",
            "00",
            "1",
            "12.345",
            "12.3450",
            "007.500",
            "0.0",
            "99.999",
            "100",
            "123456789012345678",
            "12345678901234567.8",
            "0.00000000000000001",
        ] {
            let fast = plain_decimal(t.as_bytes()).expect(t);
            assert_eq!(
                Some((fast.mantissa(), fast.scale())),
                Decimal::from_str_exact(t)
                    .ok()
                    .map(|d| (d.mantissa(), d.scale())),
                "{t}"
            );
        }
        // anything else goes to from_str_exact
        for t in [
            "",
            ".5",
            "5.",
            "1.2.3",
            "-1",
            "+1",
            " 1",
            "1e3",
            "1_000",
            "1234567890123456789",
            "0.000000000000000001",
            "١",
        ] {
            assert_eq!(plain_decimal(t.as_bytes()), None, "{t}");
        }
        assert_eq!(
            decimal_str("12.50", || "x".into()).unwrap(),
            Decimal::from_str("12.50").unwrap()
        );
    }

    /// Found by `cargo fuzz` (target `evaluate`, `fuzz/corpus/evaluate/regression-empty-field-name`): an
    /// unknown field with an empty name was refused with an empty path.
    #[test]
    fn an_empty_field_name_is_named_by_its_path() {
        let e = evaluate_json(r#"{"criterion": "lowest_price", "": 1, "bids": []}"#).unwrap_err();
        assert_eq!(e.path, "$[\"\"]");
        assert!(e.message.starts_with("unknown field"), "{e}");
        let e = evaluate_json(r#"{"criterion": "lowest_price", "anomaly": {"": 1}, "bids": []}"#)
            .unwrap_err();
        assert_eq!(e.path, "anomaly[\"\"]");
    }

    /// The first repeated id is found among many (equal hashes included), and only a repeated one; the error
    /// names the same bid as the check bid by bid, before the bid's other faults and after an earlier bid's.
    #[test]
    fn the_first_repeated_id_is_found() {
        let ids: Vec<String> = (0..5000)
            .map(|i| format!("id-{}", i * 7919 % 5000))
            .collect();
        assert_eq!(first_repeated(ids.len(), |j| &ids[j]), None);
        for (at, from) in [(4999, 0), (17, 16), (2500, 3), (1, 0)] {
            let mut with = ids.clone();
            with[at] = with[from].clone();
            assert_eq!(
                first_repeated(with.len(), |j| &with[j]),
                Some(at),
                "{at} {from}"
            );
        }
        let mut twice = ids.clone();
        twice[30] = twice[10].clone();
        twice[20] = twice[5].clone();
        assert_eq!(first_repeated(twice.len(), |j| &twice[j]), Some(20));
        let e = |bids: &str| {
            let e = evaluate_json(&format!(
                r#"{{"criterion": "lowest_price", "bids": [{bids}]}}"#
            ))
            .unwrap_err();
            format!("{e}")
        };
        let (a, b) = (
            r#"{"id": "a", "discount": "1"}"#,
            r#"{"id": "b", "discount": "2"}"#,
        );
        assert_eq!(e(&format!("{a}, {b}, {a}")), "bids[2].id: duplicate id 'a'");
        // the duplicate id of a bid comes before its ribasso; an earlier bid's fault before both
        assert_eq!(
            e(&format!(r#"{a}, {b}, {{"id": "a", "discount": "x"}}"#)),
            "bids[2].id: duplicate id 'a'"
        );
        assert_eq!(
            e(&format!(r#"{a}, {{"id": "b", "discount": "x"}}, {a}"#)),
            "bids[1].discount: \"x\" is not a decimal"
        );
        assert_eq!(
            e(&format!(r#"{a}, {{"id": " "}}, {a}"#)),
            "bids[1].id: must not be empty"
        );
        assert_eq!(
            e(&format!(r#"{a}, {{"id": "a", "note": 1}}, {a}"#)),
            "bids[1].note: unknown field (expected one of: id, discount, price)"
        );
        assert_eq!(
            e(&format!(r#"{a}, {{"id": "a", "discount": 1}}"#)),
            "bids[1].id: duplicate id 'a'"
        );
    }

    /// Every shape of a lowest-price result (threshold computed or not, a tie drawn or left open, too few bids,
    /// every bid excluded but the ranking's, prices, ids that need escapes in each list, an empty ranking) is
    /// written as `serde_json` writes it, compact and indented.
    #[test]
    fn every_branch_is_written_as_serde_json_writes_it() {
        let bids = |n: usize, id: &dyn Fn(usize) -> String, discount: &dyn Fn(usize) -> String| {
            (0..n)
                .map(|i| {
                    let id = serde_json::to_string(&id(i)).unwrap();
                    format!(r#"{{"id": {id}, "discount": "{}"}}"#, discount(i))
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let plain = |i: usize| format!("b{i:03}");
        let odd = |i: usize| match i % 5 {
            0 => format!("q\"{i}"),
            1 => format!("s\\{i}"),
            2 => format!("c\u{1}{i}"),
            3 => format!("é{i}"),
            _ => format!("{i}\u{7f}"),
        };
        let spread = |i: usize| format!("{}.{}", 5 + (i * 7) % 30, (i * 13) % 1000);
        let doc = |head: &str, bids: String| {
            format!(r#"{{"criterion": "lowest_price", {head} "bids": [{bids}]}}"#)
        };
        let inputs = [
            doc(
                r#""anomaly": {"method": "A"}, "seed": "3","#,
                bids(40, &plain, &spread),
            ),
            doc(
                r#""anomaly": {"method": "A"}, "seed": "3","#,
                bids(40, &odd, &spread),
            ),
            doc(
                r#""anomaly": {"method": "A"},"#,
                bids(40, &odd, &|i| format!("{}", 10 + i % 3)),
            ),
            doc(
                r#""anomaly": {"method": "A"},"#,
                bids(20, &plain, &|_| "12.5".into()),
            ),
            doc(r#""anomaly": {"method": "B"},"#, bids(12, &odd, &spread)),
            doc(
                r#""anomaly": {"method": "C", "reference_discount": "20"},"#,
                bids(12, &plain, &spread),
            ),
            doc(r#""anomaly": {"method": "A"},"#, bids(3, &odd, &spread)),
            doc(
                r#""seed": "9","#,
                bids(7, &odd, &|i| format!("{}", 30 - i % 2)),
            ),
            doc(r#""anomaly": {"method": "A"},"#, String::new()),
            doc(
                r#""base_amount": "1000", "anomaly": {"method": "A"},"#,
                (0..16)
                    .map(|i| {
                        let id = serde_json::to_string(&odd(i)).unwrap();
                        format!(r#"{{"id": {id}, "price": "{}"}}"#, 700 + 13 * i)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ];
        assert_writes_what_serde_json_writes(&inputs);
    }

    /// For each input, compact and pretty: `evaluate_json_to` writes exactly serde_json's text of the
    /// same result.
    fn assert_writes_what_serde_json_writes<S: AsRef<str>>(inputs: &[S]) {
        for input in inputs {
            let input = input.as_ref();
            for pretty in [false, true] {
                let mut ours = Vec::new();
                evaluate_json_to(input, pretty, &mut ours).unwrap();
                let theirs = evaluate_with(input, |o| {
                    if pretty {
                        serde_json::to_string_pretty(o)
                    } else {
                        serde_json::to_string(o)
                    }
                })
                .unwrap()
                .unwrap();
                assert_eq!(String::from_utf8(ours).unwrap(), theirs + "\n", "{input}");
            }
        }
    }

    /// `evaluate_json_to` writes the text serde_json writes for the same result, compact and pretty.
    #[test]
    fn the_writer_writes_what_serde_json_writes() {
        let inputs = [
            r#"{"criterion": "lowest_price", "anomaly": {"method": "A"}, "seed": "7",
                "bids": [{"id": "a\"q\\b\u0001\u001f\n\t\r\b\f\u007f é", "discount": "10.000"},
                         {"id": "b", "discount": "12.5"}, {"id": "c", "discount": "15.25"},
                         {"id": "d", "discount": "20"}, {"id": "e", "discount": "31"},
                         {"id": "f", "discount": "31"}]}"#,
            r#"{"criterion": "lowest_price", "base_amount": "100000", "bids": [{"id": "x", "price": "80000.00"},
                {"id": "y", "discount": "0.0000001"}]}"#,
            r#"{"criterion": "lowest_price", "anomaly": {"method": "draw", "draw": {"among": ["A", "B"], "seed": "3"}},
                "rounding": {"threshold": {"decimals": "3", "mode": "half_up"}},
                "bids": [{"id": "1", "discount": "1"}, {"id": "2", "discount": "2"}, {"id": "3", "discount": "3"},
                         {"id": "4", "discount": "4"}, {"id": "5", "discount": "5"}]}"#,
            r#"{"criterion": "lowest_price", "bids": []}"#,
            r#"{"criterion": "quality_price", "seed": "1",
                "technical": {"criteria": [{"id": "c1", "weight": "70"}], "riparametrazione": "first"},
                "economic": {"max_points": "30", "formula": {"type": "bilinear", "x": "0.9"}},
                "bids": [{"id": "a", "coefficients": {"c1": ["0.5", "0.75"]}, "discount": "10"},
                         {"id": "b", "coefficients": {"c1": "1"}, "discount": "20"}]}"#,
        ];
        assert_writes_what_serde_json_writes(&inputs);
    }

    /// A large input read with two threads (the scan of the bids and their checks split in two halves) gives
    /// the same output text, compact and pretty, and the same first error as the reading in one thread:
    /// faults in either half or in both, a duplicate across the halves, a guessed boundary inside an id,
    /// an escape in the second half (the whole document left to serde_json).
    #[test]
    fn a_split_reading_gives_what_one_thread_gives() {
        const N: usize = 3000;
        let forced = Split {
            bytes: 0,
            bids: 2,
            lines: 2,
        };
        let one = Split {
            bytes: usize::MAX,
            bids: usize::MAX,
            lines: usize::MAX,
        };
        let run = |input: &str, pretty: bool, split: Split| {
            let mut out = Vec::new();
            match evaluate_json_to_split(input, pretty, &mut out, split) {
                Ok(()) => Ok(String::from_utf8(out).unwrap()),
                Err(e) => Err(e.to_string()),
            }
        };
        let doc = |bid: &dyn Fn(usize) -> String| {
            let bids: Vec<String> = (0..N).map(bid).collect();
            format!(
                "{{\"criterion\": \"lowest_price\", \"anomaly\": {{\"method\": \"A\"}}, \"seed\": \"5\",\n  \"bids\": [\n    {}\n  ]\n}}",
                bids.join(",\n    ")
            )
        };
        let plain = |i: usize| {
            format!(
                r#"{{"id": "b{i}", "discount": "{}.{:03}"}}"#,
                5 + (i * 7) % 30,
                (i * 13) % 1000
            )
        };
        let with = |at: &'static [(usize, &'static str)]| {
            move |i: usize| match at.iter().find(|(j, _)| *j == i) {
                Some((_, b)) => b.to_string(),
                None => plain(i),
            }
        };
        let mut inputs = vec![
            doc(&plain),
            // ids with `, {` in them: the guessed boundary may be inside a string
            doc(&|i| format!(r#"{{"id": "x, {{{i}", "discount": "{}"}}"#, 5 + i % 30)),
            // prices in the second half only, and in both
            doc(&|i| {
                if i >= N - 10 {
                    format!(r#"{{"id": "p{i}", "price": "{}"}}"#, 700 + i % 100)
                } else {
                    plain(i)
                }
            }),
        ];
        inputs[2] = inputs[2].replace(
            "\"criterion\": \"lowest_price\",",
            "\"criterion\": \"lowest_price\", \"base_amount\": \"1000\",",
        );
        for faults in [
            &[(2900, r#"{"id": "b10", "discount": "1"}"#)][..],
            &[(100, r#"{"id": "b2999", "discount": "1"}"#)],
            &[
                (200, r#"{"id": "z", "discount": "x"}"#),
                (2000, r#"{"id": "b1"}"#),
            ],
            &[(2200, r#"{"id": "z", "discount": "101"}"#)],
            &[(2200, r#"{"id": "b7", "discount": "x"}"#)],
            &[
                (1600, r#"{"id": " "}"#),
                (1700, r#"{"id": "b3", "note": "n"}"#),
            ],
            &[(2500, r#"{"id": "e\u0041", "discount": "3"}"#)],
            &[
                (2500, r#"{"id": "e\u0041", "discount": "3"}"#),
                (2600, r#"{"id": "b2"}"#),
            ],
            &[(1499, r#"{"id": "b1500", "discount": "2"}"#)],
            &[(1500, r#"{"id": "b1499", "discount": "2"}"#)],
        ] {
            inputs.push(doc(&with(faults)));
        }
        let mut errors = 0;
        for input in &inputs {
            for pretty in [false, true] {
                let a = run(input, pretty, one);
                errors += usize::from(a.is_err());
                assert_eq!(run(input, pretty, forced), a, "pretty {pretty}");
                assert_eq!(run(input, pretty, Split::DEFAULT), a, "pretty {pretty}");
            }
        }
        // every fault above but the lone escape is an error
        assert_eq!(errors, 2 * 9);
        // the scan itself: the same bids with two threads
        for input in &inputs {
            let a = DocIn::parse_split(input, usize::MAX).unwrap();
            let b = DocIn::parse_split(input, 0).unwrap();
            fn slices<'a>(d: &DocIn<'a>) -> Option<Vec<[Option<&'a str>; 3]>> {
                match &d.bids {
                    Some(BidsIn::Slices(l)) => Some((0..l.len()).map(|i| l.get(i)).collect()),
                    _ => None,
                }
            }
            assert_eq!(slices(&a), slices(&b));
        }
    }
}
