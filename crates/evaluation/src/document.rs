//! The input document of `sua evaluate` as read, without a `serde_json::Value` per bid.
//!
//! A tender may have 100,000 bids: as `Value`s (a map per bid, an owned string per field) they take about
//! 80 MB. Here a bid whose fields are only `id`, `discount` and `price`, each a string or null, is kept as
//! three slices of the input ([`BidIn::Flat`]); any other bid is kept as a `Value` ([`BidIn::Other`]), so
//! the checks of `json.rs` see it exactly as before and name the same field with the same message. The
//! other top-level fields are small and stay a `Value` map.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

/// One bid as read.
pub(crate) enum BidIn<'de> {
    /// An object whose fields are among `id`, `discount`, `price`, each a string or null (null = absent).
    Flat {
        id: Option<Cow<'de, str>>,
        discount: Option<Cow<'de, str>>,
        price: Option<Cow<'de, str>>,
    },
    /// Anything else, as `serde_json` reads it.
    Other(Value),
}

/// The `bids` field as read.
pub(crate) enum BidsIn<'de> {
    List(Vec<BidIn<'de>>),
    /// Every bid flat (`id`, `discount`, `price`: a string without escapes, or null/absent), read by
    /// [`DocIn::parse`]'s fast scanner: the three fields as slices of the input, in that order.
    Slices(FlatBids<'de>),
    /// Not an array (or null): kept for the error message.
    Other(Value),
}

/// Flat bids as the places of their three fields (`id`, `discount`, `price`) in the input: 24 bytes a bid
/// instead of 48 for three `Option<&str>` (`sua evaluate` on 100,000 bids: 2.4 MB less).
pub(crate) struct FlatBids<'de> {
    input: &'de str,
    spans: Vec<[Span; 3]>,
}

/// `start..end` in the input; `start == u32::MAX` for an absent field.
#[derive(Clone, Copy)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    const ABSENT: Span = Span {
        start: u32::MAX,
        end: 0,
    };
}

impl<'de> FlatBids<'de> {
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }

    /// The fields of bid `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> [Option<&'de str>; 3] {
        let input = self.input;
        // the scanner's places in `input`, between two quotes (char boundaries)
        let field =
            |s: Span| (s.start != u32::MAX).then(|| &input[s.start as usize..s.end as usize]);
        let [id, discount, price] = self.spans[i];
        [field(id), field(discount), field(price)]
    }

    /// The fields of each bid, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = [Option<&'de str>; 3]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// The size of the bids' text from which the scanner reads them with two threads: about 10,000 bids (a
/// thread costs 50 to 100 µs to start and join; 10,000 bids take about 1 ms to scan).
pub(crate) const SPLIT_MIN_BYTES: usize = 400_000;

/// The whole input document: `top` is the document without its `bids` (or the document itself when it is
/// not an object), `bids` the `bids` field if present.
pub(crate) struct DocIn<'de> {
    pub top: Value,
    pub bids: Option<BidsIn<'de>>,
}

impl<'de> DocIn<'de> {
    /// Read `input` (one JSON document). A document whose bids are all flat, with strings without escapes,
    /// is read by a scanner of its own ([`scan`]); any other is read, or refused with its position, by
    /// `serde_json` as before: both give the same document.
    pub(crate) fn parse(input: &'de str) -> Result<Self, serde_json::Error> {
        Self::parse_split(input, SPLIT_MIN_BYTES)
    }

    /// As [`DocIn::parse`], the scanner's bids split between two threads when they are at least `split_min`
    /// bytes of input (the same document either way).
    pub(crate) fn parse_split(
        input: &'de str,
        split_min: usize,
    ) -> Result<Self, serde_json::Error> {
        if let Some(doc) = scan::document(input, split_min) {
            return Ok(doc);
        }
        Self::parse_serde(input)
    }

    /// Read `input` with `serde_json` only.
    fn parse_serde(input: &'de str) -> Result<Self, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(input);
        let doc = de.deserialize_any(DocVisitor)?;
        de.end()?;
        Ok(doc)
    }

    /// A document already held as a `Value` (the service's input document, the lot's rules).
    pub(crate) fn from_value(v: Value) -> DocIn<'static> {
        match v {
            Value::Object(mut m) => {
                let bids = m.remove("bids").map(|b| match b {
                    Value::Array(a) => BidsIn::List(a.into_iter().map(BidIn::Other).collect()),
                    other => BidsIn::Other(other),
                });
                DocIn {
                    top: Value::Object(m),
                    bids,
                }
            }
            other => DocIn {
                top: other,
                bids: None,
            },
        }
    }
}

/// The scalar `visit_*` methods of a visitor, delegated to [`LooseVisitor`] and wrapped by `$wrap`.
macro_rules! delegate_scalars {
    ($wrap:expr) => {
        delegate_scalars!(@ $wrap;
            visit_borrowed_str(v: &'de str),
            visit_str(v: &str),
            visit_string(v: String),
            visit_unit(),
            visit_none(),
            visit_bool(v: bool),
            visit_i64(v: i64),
            visit_u64(v: u64),
            visit_f64(v: f64),
        );
    };
    (@ $wrap:expr; $($name:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $name<E: de::Error>(self, $($arg: $ty),*) -> Result<Self::Value, E> {
            LooseVisitor.$name($($arg),*).map(|l| $wrap(l.into_value()))
        })*
    };
}

/// A scalar read without allocating when it is a string with no escape.
enum Loose<'de> {
    Str(Cow<'de, str>),
    Null,
    Other(Value),
}

impl Loose<'_> {
    fn into_value(self) -> Value {
        match self {
            Loose::Str(s) => Value::String(s.into_owned()),
            Loose::Null => Value::Null,
            Loose::Other(v) => v,
        }
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::from(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(x) = seq.next_element::<Value>()? {
            v.push(x);
        }
        Ok(Loose::Other(Value::Array(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut m = Map::new();
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            m.insert(k, v);
        }
        Ok(Loose::Other(Value::Object(m)))
    }
}

impl<'de> de::Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

/// A bid's key: one of the three flat fields, or another (kept).
enum BidKey {
    Id,
    Discount,
    Price,
    Other(String),
}

impl<'de> de::Deserialize<'de> for BidKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = BidKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, v: &str) -> Result<BidKey, E> {
                Ok(match v {
                    "id" => BidKey::Id,
                    "discount" => BidKey::Discount,
                    "price" => BidKey::Price,
                    other => BidKey::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_str(V)
    }
}

impl BidKey {
    fn name(&self) -> &str {
        match self {
            BidKey::Id => "id",
            BidKey::Discount => "discount",
            BidKey::Price => "price",
            BidKey::Other(s) => s,
        }
    }
}

/// Delegates every non-object to [`LooseVisitor`], as [`BidIn::Other`].
struct BidVisitor;

impl<'de> Visitor<'de> for BidVisitor {
    type Value = BidIn<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a bid")
    }
    delegate_scalars!(BidIn::Other);
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        LooseVisitor
            .visit_seq(seq)
            .map(|l| BidIn::Other(l.into_value()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut id, mut discount, mut price) = (None, None, None);
        while let Some(key) = map.next_key::<BidKey>()? {
            let value = map.next_value::<Loose<'de>>()?;
            let slot = match (&key, &value) {
                (BidKey::Id, Loose::Str(_) | Loose::Null) => &mut id,
                (BidKey::Discount, Loose::Str(_) | Loose::Null) => &mut discount,
                (BidKey::Price, Loose::Str(_) | Loose::Null) => &mut price,
                _ => {
                    // Not a flat bid: the whole object as a Value (later duplicates win, as in serde_json).
                    let mut m = Map::new();
                    for (k, v) in [("id", id), ("discount", discount), ("price", price)] {
                        if let Some(v) = v {
                            m.insert(k.into(), Value::from(v));
                        }
                    }
                    m.insert(key.name().to_owned(), value.into_value());
                    while let Some((k, v)) = map.next_entry::<String, Value>()? {
                        m.insert(k, v);
                    }
                    return Ok(BidIn::Other(Value::Object(m)));
                }
            };
            // null is kept as Value::Null until the end, so that a fallback map sees it as serde_json would
            *slot = Some(value.into_value_keep_str());
        }
        Ok(BidIn::Flat {
            id: id.and_then(FlatField::into_str),
            discount: discount.and_then(FlatField::into_str),
            price: price.and_then(FlatField::into_str),
        })
    }
}

/// A flat field while its bid is read: a string, or null (present but counting as absent).
enum FlatField<'de> {
    Str(Cow<'de, str>),
    Null,
}

impl<'de> FlatField<'de> {
    fn into_str(self) -> Option<Cow<'de, str>> {
        match self {
            FlatField::Str(s) => Some(s),
            FlatField::Null => None,
        }
    }
}

impl From<FlatField<'_>> for Value {
    fn from(f: FlatField<'_>) -> Value {
        match f {
            FlatField::Str(s) => Value::String(s.into_owned()),
            FlatField::Null => Value::Null,
        }
    }
}

impl<'de> Loose<'de> {
    /// A string or null (the caller has checked it is one of the two).
    fn into_value_keep_str(self) -> FlatField<'de> {
        match self {
            Loose::Str(s) => FlatField::Str(s),
            _ => FlatField::Null,
        }
    }
}

impl<'de> de::Deserialize<'de> for BidIn<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BidVisitor)
    }
}

struct BidsSeed;

impl<'de> DeserializeSeed<'de> for BidsSeed {
    type Value = BidsIn<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BidsIn<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("the bids")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(b) = seq.next_element::<BidIn<'de>>()? {
                    v.push(b);
                }
                Ok(BidsIn::List(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                LooseVisitor
                    .visit_map(map)
                    .map(|l| BidsIn::Other(l.into_value()))
            }
            delegate_scalars!(BidsIn::Other);
        }
        d.deserialize_any(V)
    }
}

struct DocVisitor;

impl<'de> Visitor<'de> for DocVisitor {
    type Value = DocIn<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON document")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = Map::new();
        let mut bids = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "bids" {
                bids = Some(map.next_value_seed(BidsSeed)?);
            } else {
                let v = map.next_value::<Value>()?;
                top.insert(key, v);
            }
        }
        Ok(DocIn {
            top: Value::Object(top),
            bids,
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let top = LooseVisitor.visit_seq(seq)?.into_value();
        Ok(DocIn { top, bids: None })
    }
    delegate_scalars!(|top| DocIn { top, bids: None });
}

/// The fast reading of a large input: a top-level object whose `bids` is an array of flat bids, each field a
/// string with no escape or null. The other top-level values are read by `serde_json` (as [`DocVisitor`]
/// does). Anything else — a syntax error, an escape, a duplicate field, another field in a bid — gives
/// `None`, and the document is read by `serde_json` from the start, so errors and edge cases are its own.
mod scan {
    use super::{BidsIn, DocIn, FlatBids, Span};
    use serde_json::{Map, Value};

    /// The bytes that end a string without escapes: its closing quote, or what the scanner leaves to
    /// `serde_json` (an escape, a control character).
    static STOP: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 0x20 {
            t[i] = true;
            i += 1;
        }
        t[b'"' as usize] = true;
        t[b'\\' as usize] = true;
        t
    };

    /// How many of the first bytes of `b` need no escape in a JSON string (none of `"`, `\`, a control
    /// character), counted eight at a time; at most `b.len()`, possibly less by up to 7 (the caller checks the
    /// rest byte by byte). Not inlined: [`Cursor::string`] is, and the scan takes a seventh more instructions
    /// when this is inlined into it instead.
    #[inline(never)]
    fn plain_prefix(b: &[u8]) -> usize {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        let mut i = 0;
        while let Some(chunk) = b.get(i..i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let w = u64::from_le_bytes(word);
            // a byte below 0x20, or equal to '"' or '\' (exact for the lowest such byte)
            let below = w.wrapping_sub(ONES * 0x20) & !w;
            let quote = (w ^ (ONES * 0x22)).wrapping_sub(ONES) & !(w ^ (ONES * 0x22));
            let slash = (w ^ (ONES * 0x5c)).wrapping_sub(ONES) & !(w ^ (ONES * 0x5c));
            let m = (below | quote | slash) & HIGH;
            if m != 0 {
                return i + (m.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
        i
    }

    struct Cursor<'de> {
        s: &'de str,
        b: &'de [u8],
        pos: usize,
    }

    impl<'de> Cursor<'de> {
        /// Skips whitespace. Most calls find none or a few bytes (an indented input: a line break and the
        /// indentation): a byte above the space ends it at once.
        #[inline]
        fn ws(&mut self) {
            let b = self.b;
            let mut i = self.pos;
            while let Some(&c) = b.get(i) {
                if c > b' ' || !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                    break;
                }
                i += 1;
            }
            self.pos = i;
        }
        /// After a bid's opening quote: which of its three fields the key names (`id`, `discount`, `price`, the
        /// key and its closing quote read), `None` for any other key (nothing read).
        #[inline]
        fn flat_key(&mut self) -> Option<usize> {
            let rest = self.b.get(self.pos..)?;
            let (slot, len) = if rest.starts_with(b"id\"") {
                (0, 3)
            } else if rest.starts_with(b"discount\"") {
                (1, 9)
            } else if rest.starts_with(b"price\"") {
                (2, 6)
            } else {
                return None;
            };
            self.pos += len;
            Some(slot)
        }
        fn peek(&self) -> Option<u8> {
            self.b.get(self.pos).copied()
        }
        fn eat(&mut self, c: u8) -> Option<()> {
            (self.peek()? == c).then(|| self.pos += 1)
        }
        /// A string with no escape and no control character, after its opening quote.
        fn string(&mut self) -> Option<&'de str> {
            let start = self.pos;
            let end = self.string_end()?;
            self.s.get(start..end)
        }
        /// As [`Cursor::string`], giving where the string ends (its closing quote) instead of the string. The
        /// string lies between two ASCII quotes: both ends are char boundaries of the input.
        #[inline]
        fn string_end(&mut self) -> Option<usize> {
            let (b, start) = (self.b, self.pos);
            let mut i = start + plain_prefix(b.get(start..)?);
            while i < b.len() && !STOP[b[i] as usize] {
                i += 1;
            }
            if b.get(i) != Some(&b'"') {
                return None;
            }
            self.pos = i + 1;
            Some(i)
        }
        fn literal(&mut self, word: &[u8]) -> Option<()> {
            let end = self.pos + word.len();
            (self.b.get(self.pos..end)? == word).then(|| self.pos = end)
        }
    }

    /// Nesting depth of a JSON text already checked valid (strings skipped).
    fn depth(text: &[u8]) -> usize {
        let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
        for &c in text {
            if in_str {
                match (esc, c) {
                    (true, _) => esc = false,
                    (false, b'\\') => esc = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
            } else {
                match c {
                    b'"' => in_str = true,
                    b'[' | b'{' => {
                        d += 1;
                        max = max.max(d);
                    }
                    b']' | b'}' => d = d.saturating_sub(1),
                    _ => {}
                }
            }
        }
        max
    }

    /// A flat bid, after its `{`.
    fn bid(c: &mut Cursor<'_>) -> Option<[Span; 3]> {
        let mut fields = [Span::ABSENT; 3];
        let mut seen = [false; 3];
        c.ws();
        if c.eat(b'}').is_some() {
            return Some(fields);
        }
        loop {
            c.eat(b'"')?;
            let slot = c.flat_key()?;
            if std::mem::replace(&mut seen[slot], true) {
                return None;
            }
            c.ws();
            c.eat(b':')?;
            c.ws();
            match c.peek()? {
                b'"' => {
                    c.pos += 1;
                    let start = c.pos;
                    let end = c.string_end()?;
                    // (the input's length fits in u32: checked by `bids`)
                    fields[slot] = Span {
                        start: start as u32,
                        end: end as u32,
                    };
                }
                b'n' => c.literal(b"null")?,
                _ => return None,
            }
            c.ws();
            match c.peek()? {
                b',' => {
                    c.pos += 1;
                    c.ws();
                }
                b'}' => {
                    c.pos += 1;
                    return Some(fields);
                }
                _ => return None,
            }
        }
    }

    /// How a run of bids ended: at the array's `]` (read), or at `stop`, the start of a bid (not read).
    enum Ended {
        Array,
        AtStop,
    }

    /// Bids from `c` (at a bid's `{`, or at the `]` when `empty_ok`) into `out`, up to the end of the array, or
    /// up to `stop` if a bid starts exactly there (after a comma and whitespace).
    fn bid_run(
        c: &mut Cursor<'_>,
        stop: usize,
        out: &mut Vec<[Span; 3]>,
        empty_ok: bool,
    ) -> Option<Ended> {
        if empty_ok && c.eat(b']').is_some() {
            return Some(Ended::Array);
        }
        loop {
            if c.pos == stop {
                return Some(Ended::AtStop);
            }
            c.eat(b'{')?;
            out.push(bid(c)?);
            c.ws();
            match c.peek()? {
                b',' => {
                    c.pos += 1;
                    c.ws();
                }
                b']' => {
                    c.pos += 1;
                    return Some(Ended::Array);
                }
                _ => return None,
            }
        }
    }

    /// Where the second of two threads may start scanning the bids: the first `{` after the middle of
    /// `b[from..]` that follows a comma and whitespace, if any. Only a guess (the `{` could be inside a string):
    /// it is used only if the first thread's scan, from the array's start, reaches a bid starting exactly there.
    fn guess_boundary(b: &[u8], from: usize) -> Option<usize> {
        let mid = from + (b.len() - from) / 2;
        let brace = mid + b.get(mid..)?.iter().position(|&c| c == b'{')?;
        let before = b[..brace]
            .iter()
            .rposition(|c| !matches!(c, b' ' | b'\n' | b'\r' | b'\t'))?;
        (b[before] == b',').then_some(brace)
    }

    /// The `bids` array, at its `[`. When what follows is at least `split_min` bytes, its second half is
    /// scanned by another thread from a guessed bid boundary ([`guess_boundary`]); the first half's scan
    /// confirms the boundary by reaching it (else it scans on to the end and the other thread's work is
    /// dropped). The bids, and the failure of the scan, are those of the scan in one thread: from the start of
    /// a bid the scan does not depend on what came before.
    fn bids<'de>(c: &mut Cursor<'de>, split_min: usize) -> Option<FlatBids<'de>> {
        c.eat(b'[')?;
        // places in the input as u32 (a larger input is left to serde_json)
        u32::try_from(c.b.len()).ok().filter(|&n| n < u32::MAX)?;
        // about 40 bytes of input per bid at least: a first guess, so the vector seldom grows
        let mut spans = Vec::with_capacity((c.b.len() - c.pos) / 48);
        c.ws();
        let stop = if c.b.len() - c.pos >= split_min {
            guess_boundary(c.b, c.pos)
        } else {
            None
        };
        let Some(stop) = stop else {
            bid_run(c, usize::MAX, &mut spans, true)?;
            spans.shrink_to_fit();
            return Some(FlatBids { input: c.s, spans });
        };
        let (s, b) = (c.s, c.b);
        let (first, second) = std::thread::scope(|scope| {
            // allocated by this thread, so that it goes back to this thread's heap when freed (malloc keeps a
            // heap per thread: the other's would only add to the peak memory)
            let mut rest = Vec::with_capacity((b.len() - stop) / 48);
            let second = scope.spawn(move || {
                let mut c2 = Cursor { s, b, pos: stop };
                let spans = &mut rest;
                let ended = bid_run(&mut c2, usize::MAX, spans, false);
                ended.map(|_| (rest, c2.pos))
            });
            let first = bid_run(c, stop, &mut spans, true);
            // (a panic of the other thread is a bug: it is passed on)
            let second = second
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (first, second)
        });
        match first? {
            Ended::Array => {}
            Ended::AtStop => {
                let (rest, end) = second?;
                spans.extend_from_slice(&rest);
                c.pos = end;
            }
        }
        spans.shrink_to_fit();
        Some(FlatBids { input: c.s, spans })
    }

    pub(super) fn document(input: &str, split_min: usize) -> Option<DocIn<'_>> {
        let mut c = Cursor {
            s: input,
            b: input.as_bytes(),
            pos: 0,
        };
        c.ws();
        c.eat(b'{')?;
        let mut top = Map::new();
        let mut bids_in = None;
        c.ws();
        if c.eat(b'}').is_none() {
            loop {
                c.eat(b'"')?;
                let key = c.string()?;
                c.ws();
                c.eat(b':')?;
                c.ws();
                if key == "bids" {
                    if bids_in.is_some() || c.peek()? != b'[' {
                        return None;
                    }
                    bids_in = Some(BidsIn::Slices(bids(&mut c, split_min)?));
                } else {
                    if top.contains_key(key) {
                        return None;
                    }
                    let rest = &input[c.pos..];
                    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
                    let v = values.next()?.ok()?;
                    let end = values.byte_offset();
                    // serde_json's depth limit counts from the document: stay well inside it
                    if depth(&rest.as_bytes()[..end]) > 100 {
                        return None;
                    }
                    c.pos += end;
                    top.insert(key.to_owned(), v);
                }
                c.ws();
                match c.peek()? {
                    b',' => {
                        c.pos += 1;
                        c.ws();
                    }
                    b'}' => {
                        c.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        c.ws();
        if c.pos != c.b.len() {
            return None;
        }
        Some(DocIn {
            top: Value::Object(top),
            bids: bids_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bids as (id, discount, price), whichever way they were read; `None` for a bid that is not flat.
    type Flat = Vec<Option<[Option<String>; 3]>>;

    fn flat(doc: &DocIn<'_>) -> Option<Flat> {
        let own = |s: Option<&str>| s.map(str::to_owned);
        match doc.bids.as_ref()? {
            BidsIn::Slices(l) => Some(l.iter().map(|b| Some(b.map(own))).collect()),
            BidsIn::List(l) => Some(
                l.iter()
                    .map(|b| match b {
                        BidIn::Flat {
                            id,
                            discount,
                            price,
                        } => Some([id, discount, price].map(|f| own(f.as_deref()))),
                        BidIn::Other(_) => None,
                    })
                    .collect(),
            ),
            BidsIn::Other(_) => None,
        }
    }

    /// The scanner reads what serde_json reads, and leaves to it what it does not take.
    #[test]
    fn the_scanner_reads_what_serde_json_reads() {
        let taken = [
            r#"{"criterion": "lowest_price", "bids": [{"id": "a", "discount": "1.5"}, {"id": "b", "price": "9"}]}"#,
            "\n {\"bids\":[],\"seed\":\"42\"} \n",
            r#"{"bids": [{}, {"id": null, "discount": null, "price": null}, {"price": "1", "id": "é"}]}"#,
            r#"{"anomaly": {"method": "A", "x": [1, 2.5, {"y": null}]}, "bids": [ { "id" : "a" , "discount" : "2" } ] }"#,
            r#"{"criterion": "lowest_price", "base_amount": 100, "s": "a\"b", "bids": []}"#,
            "{}",
            r#"{"bids": [{"id": "\u0001"}]}"#, // an escape: left to serde_json
        ];
        for input in taken {
            let scanned = scan::document(input, usize::MAX);
            let read = DocIn::parse_serde(input).unwrap();
            if let Some(scanned) = &scanned {
                assert_eq!(scanned.top, read.top, "{input}");
                assert_eq!(flat(scanned), flat(&read), "{input}");
            }
            let parsed = DocIn::parse(input).unwrap();
            assert_eq!(parsed.top, read.top, "{input}");
            assert_eq!(flat(&parsed), flat(&read), "{input}");
        }
        assert!(scan::document(taken[0], usize::MAX).is_some());
        assert!(scan::document(taken[6], usize::MAX).is_none());
        // left to serde_json: the same document or the same error as before
        let left = [
            r#"{"bids": [{"id": "a", "id": "b"}]}"#,
            r#"{"bids": [{"id": "a", "note": "x"}]}"#,
            r#"{"bids": [{"id": 7}]}"#,
            r#"{"bids": [], "bids": [{"id": "a"}]}"#,
            r#"{"seed": "1", "seed": "2", "bids": []}"#,
            r#"{"bids": {"id": "a"}}"#,
            r#"{"bids": [{"id": "a"}"#,
            r#"{"bids": [{"id": "a"},]}"#,
            r#"{"bids": [{"id": "a"}]} x"#,
            r#"{"n": 1e999, "bids": []}"#,
            "{\"bids\": [{\"id\": \"a\tb\"}]}",
            r#"[1, 2]"#,
            "",
        ];
        for input in left {
            assert!(scan::document(input, usize::MAX).is_none(), "{input}");
            match (DocIn::parse(input), DocIn::parse_serde(input)) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.top, b.top, "{input}");
                    assert_eq!(flat(&a), flat(&b), "{input}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{input}"),
                _ => panic!("{input}: one read, the other refused"),
            }
        }
        // serde_json's depth limit counts from the document: a deep top-level value is left to it
        let deep = format!(
            r#"{{"x": {}1{}, "bids": []}}"#,
            "[".repeat(127),
            "]".repeat(127)
        );
        assert!(scan::document(&deep, usize::MAX).is_none());
        assert_eq!(
            DocIn::parse(&deep).err().map(|e| e.to_string()),
            DocIn::parse_serde(&deep).err().map(|e| e.to_string())
        );
    }
}
