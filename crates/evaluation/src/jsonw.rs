//! A JSON writer for the lowest-price result of `sua evaluate`: the same text as `serde_json`'s compact
//! serializer and its pretty one (two spaces), for every `serde` type, but each string is written with one
//! scan instead of `serde_json`'s byte-by-byte escaping loop, which took a fifth of the whole run on 100,000
//! bids (half a million strings: ids, ranks, ribassi). The result types keep their `Serialize` derives: the
//! field names and order have one home. Tests: `same_text_as_serde_json` below, and `cli_evaluate` against
//! outputs of the previous code.

use serde::ser::{self, Serialize};
use std::fmt::{self, Display, Write as _};
use std::io::{self, Write};

/// Why writing failed.
#[derive(Debug)]
pub(crate) enum Error {
    Io(io::Error),
    Custom(String),
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => e.fmt(f),
            Error::Custom(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::Custom(msg.to_string())
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            Error::Custom(m) => io::Error::other(m),
        }
    }
}

type Result<T> = std::result::Result<T, Error>;

/// The writer: `pretty` indents by two spaces, as `serde_json::to_writer_pretty`.
pub(crate) struct Writer<W> {
    out: W,
    /// What is written goes here first, and to `out` in blocks of about 64 KiB (small writes cost less
    /// into a `Vec` than through `io::Write`).
    buf: Vec<u8>,
    pretty: bool,
    depth: usize,
    scratch: String,
}

const BLOCK: usize = 1 << 16;

impl<W: Write> Writer<W> {
    /// A newline after the value, and everything written out (call once the value is serialized).
    pub(crate) fn end_line(&mut self) -> io::Result<()> {
        self.buf.push(b'\n');
        self.flush()
    }

    /// Write out what is buffered.
    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn maybe_flush(&mut self) -> Result<()> {
        if self.buf.len() >= BLOCK {
            self.flush()?;
        }
        Ok(())
    }

    pub(crate) fn new(out: W, pretty: bool) -> Self {
        Self {
            out,
            buf: Vec::with_capacity(BLOCK + 4096),
            pretty,
            depth: 0,
            scratch: String::new(),
        }
    }

    fn newline_indent(&mut self) -> Result<()> {
        const SPACES: &[u8; 64] = &[b' '; 64];
        self.buf.push(b'\n');
        let mut n = self.depth * 2;
        while n > 0 {
            let k = n.min(SPACES.len());
            self.buf.extend_from_slice(&SPACES[..k]);
            n -= k;
        }
        Ok(())
    }

    fn string(&mut self, s: &str) -> Result<()> {
        write_escaped(&mut self.buf, s);
        Ok(())
    }

    fn open(&mut self, c: u8) -> Result<Compound<'_, W>> {
        self.buf.push(c);
        self.depth += 1;
        Ok(Compound {
            w: self,
            first: true,
            variant: false,
        })
    }
}

/// What must be escaped, as `serde_json` does: `"`, `\` and the control characters (named where JSON
/// names them, `\u00XX` with lowercase hex digits otherwise).
const fn escape(b: u8) -> u8 {
    match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        0..=0x1f => b'u',
        _ => 0,
    }
}

static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = escape(i as u8);
        i += 1;
    }
    t
};

/// How many of the first bytes of `b` need no escape in a JSON string (none of `"`, `\`, a control
/// character), counted eight at a time; at most `b.len()`, possibly less by up to 7 (the caller checks the
/// rest byte by byte).
pub(crate) fn plain_prefix(b: &[u8]) -> usize {
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

fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let plain = plain_prefix(bytes);
    if bytes[plain..].iter().all(|&b| ESCAPE[b as usize] == 0) {
        // nothing to escape (ids, numbers, names): one copy
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = ESCAPE[b as usize];
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if e == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', e]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// An array or object being written.
pub(crate) struct Compound<'a, W> {
    w: &'a mut Writer<W>,
    first: bool,
    /// Inside `{"Variant": …}`: closing closes that object too.
    variant: bool,
}

impl<W: Write> Compound<'_, W> {
    /// Before an element or a key.
    fn next(&mut self) -> Result<()> {
        if !std::mem::replace(&mut self.first, false) {
            self.w.buf.push(b',');
        }
        self.w.maybe_flush()?;
        if self.w.pretty {
            self.w.newline_indent()?;
        }
        Ok(())
    }

    fn element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.next()?;
        v.serialize(&mut *self.w)
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, v: &T) -> Result<()> {
        self.next()?;
        self.w.string(key)?;
        self.colon()?;
        v.serialize(&mut *self.w)
    }

    fn colon(&mut self) -> Result<()> {
        self.w
            .buf
            .extend_from_slice(if self.w.pretty { b": " } else { b":" });
        Ok(())
    }

    fn close(self, c: u8) -> Result<()> {
        self.w.depth -= 1;
        if !self.first && self.w.pretty {
            self.w.newline_indent()?;
        }
        self.w.buf.push(c);
        if self.variant {
            self.w.depth -= 1;
            if self.w.pretty {
                self.w.newline_indent()?;
            }
            self.w.buf.push(b'}');
        }
        Ok(())
    }
}

impl<'a, W: Write> ser::Serializer for &'a mut Writer<W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, W>;
    type SerializeTuple = Compound<'a, W>;
    type SerializeTupleStruct = Compound<'a, W>;
    type SerializeTupleVariant = Compound<'a, W>;
    type SerializeMap = Compound<'a, W>;
    type SerializeStruct = Compound<'a, W>;
    type SerializeStructVariant = Compound<'a, W>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        write!(self.buf, "{v}")?;
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        write!(self.buf, "{v}")?;
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        write!(self.buf, "{v}")?;
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        write!(self.buf, "{v}")?;
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<()> {
        // as serde_json writes it (ryu; null when not finite)
        serde_json::to_writer(&mut self.buf, &v).map_err(|e| Error::Custom(e.to_string()))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        serde_json::to_writer(&mut self.buf, &v).map_err(|e| Error::Custom(e.to_string()))
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.buf.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<()> {
        let mut o = self.open(b'{')?;
        o.field(variant, v)?;
        o.close(b'}')
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, W>> {
        self.open(b'[')
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, W>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, W>> {
        self.variant(variant, b'[')
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, W>> {
        self.open(b'{')
    }
    fn serialize_struct(self, _: &'static str, _len: usize) -> Result<Compound<'a, W>> {
        self.open(b'{')
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, W>> {
        self.variant(variant, b'{')
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<()> {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        let r = write!(s, "{v}")
            .map_err(|_| Error::Custom("a Display implementation returned an error".into()))
            .and_then(|()| self.string(&s));
        self.scratch = s;
        r
    }
}

impl<'a, W: Write> Writer<W> {
    /// `{"variant": ` then the inner array or object (`c`).
    fn variant(&'a mut self, variant: &str, c: u8) -> Result<Compound<'a, W>> {
        self.buf.push(b'{');
        self.depth += 1;
        if self.pretty {
            self.newline_indent()?;
        }
        self.string(variant)?;
        self.buf
            .extend_from_slice(if self.pretty { b": " } else { b":" });
        let mut inner = self.open(c)?;
        inner.variant = true;
        Ok(inner)
    }
}

impl<W: Write> ser::SerializeSeq for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl<W: Write> ser::SerializeTuple for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl<W: Write> ser::SerializeTupleStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl<W: Write> ser::SerializeTupleVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.element(v)
    }
    fn end(self) -> Result<()> {
        self.close(b']')
    }
}

impl<W: Write> ser::SerializeMap for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        self.next()?;
        key.serialize(KeySerializer { w: &mut *self.w })
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<()> {
        self.colon()?;
        v.serialize(&mut *self.w)
    }
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

impl<W: Write> ser::SerializeStruct for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.field(key, v)
    }
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

impl<W: Write> ser::SerializeStructVariant for Compound<'_, W> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<()> {
        self.field(key, v)
    }
    fn end(self) -> Result<()> {
        self.close(b'}')
    }
}

/// A map key: a string (or what `serde_json` writes as one: a unit variant, an integer, a char); anything
/// else is refused, as `serde_json` refuses it.
struct KeySerializer<'a, W> {
    w: &'a mut Writer<W>,
}

fn key_must_be_a_string() -> Error {
    Error::Custom("key must be a string".into())
}

impl<W: Write> ser::Serializer for KeySerializer<'_, W> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<()> {
        self.w.string(v)
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.w.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.w.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _: &'static str, v: &T) -> Result<()> {
        v.serialize(self)
    }
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.w.string(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.w.string(&v.to_string())
    }
    fn serialize_f32(self, _: f32) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _: f64) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<()> {
        self.w.string(&v.to_string())
    }
}
