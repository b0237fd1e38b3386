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
    /// Not an array (or null): kept for the error message.
    Other(Value),
}

/// The whole input document: `top` is the document without its `bids` (or the document itself when it is
/// not an object), `bids` the `bids` field if present.
pub(crate) struct DocIn<'de> {
    pub top: Value,
    pub bids: Option<BidsIn<'de>>,
}

impl<'de> DocIn<'de> {
    /// Read `input` (one JSON document).
    pub(crate) fn parse(input: &'de str) -> Result<Self, serde_json::Error> {
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
