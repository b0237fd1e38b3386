//! The text of a lowest-price result for `sua evaluate` ([`crate::evaluate_json_to`]), compact or indented:
//! the text `serde_json` writes for the same value (`serde_json::to_string` / `to_string_pretty`), byte for
//! byte (tests `the_writer_writes_what_serde_json_writes`, `every_branch_is_written_as_serde_json_writes_it`).
//!
//! Why not `serde_json` for all of it: on 100,000 bids the ranking is 69,000 lines of six strings each
//! (three keys, the id, the rank, the ribasso), and `serde_json` escapes every string byte by byte and writes it
//! in three calls: a ranking line cost about 1,240 instructions for 45 bytes, the writing 39 % of `sua
//! evaluate`'s instructions (bench/README.md, "sua evaluate"). Here a line is written from fixed pieces of text
//! (keys and punctuation, compact or indented) and the three values, into a buffer checked once per line.
//!
//! Only the ranking and the lists of ids are written by hand; the rest of the result is `serde_json`'s text of
//! it (with the long lists left empty), so the fields keep one home: the `Serialize` of the result.

use crate::indent::Indent;
use crate::lowest_price::{LowestPriceResult, RankLine};
use rust_decimal::Decimal;
use serde::Serialize;
use std::io::{self, Write};

/// Bytes gathered before each `write` to the output.
const BLOCK: usize = 1 << 16;

/// A block buffer in front of `W`: the text is written in blocks of about [`BLOCK`] bytes.
pub(crate) struct Out<W: Write> {
    buf: Vec<u8>,
    w: W,
}

impl<W: Write> Out<W> {
    pub(crate) fn new(w: W) -> Self {
        Self {
            buf: Vec::with_capacity(BLOCK),
            w,
        }
    }

    /// Room for `n` more bytes in the buffer (writing out what it holds when needed).
    #[inline]
    fn room(&mut self, n: usize) -> io::Result<()> {
        if self.buf.len() + n > self.buf.capacity() {
            self.drain()?;
            self.buf.reserve(n);
        }
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Writes the rest and flushes `W`; returns it.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.drain()?;
        self.w.flush()?;
        Ok(self.w)
    }

    #[inline]
    fn put(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// A string as `serde_json` writes it: quoted, escaped where needed.
    #[inline]
    fn string(&mut self, s: &str) -> io::Result<()> {
        self.room(s.len() + 2)?;
        if needs_no_escape(s.as_bytes()) {
            self.put(b"\"");
            self.put(s.as_bytes());
            self.put(b"\"");
            Ok(())
        } else {
            serde_json::to_writer(&mut *self, s).map_err(io::Error::from)
        }
    }
}

impl<W: Write> Write for Out<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.room(b.len())?;
        self.put(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// No byte of `b` is one `serde_json` escapes in a string (`"`, `\`, a control character below 0x20), checked
/// eight bytes at a time.
#[inline]
fn needs_no_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let special = |w: u64| {
        let below = w.wrapping_sub(ONES * 0x20) & !w;
        let quote = (w ^ (ONES * 0x22)).wrapping_sub(ONES) & !(w ^ (ONES * 0x22));
        let slash = (w ^ (ONES * 0x5c)).wrapping_sub(ONES) & !(w ^ (ONES * 0x5c));
        (below | quote | slash) & HIGH != 0
    };
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(c);
        if special(u64::from_le_bytes(word)) {
            return false;
        }
    }
    let rest = chunks.remainder();
    // the remaining bytes padded with spaces (which need no escape)
    let mut word = [b' '; 8];
    word[..rest.len()].copy_from_slice(rest);
    !special(u64::from_le_bytes(word))
}

/// The fixed text of a ranking line around its values, compact or indented.
trait Layout {
    /// The array's opening, the separator of two lines, the array's end.
    const OPEN: &'static [u8];
    const SEP: &'static [u8];
    const CLOSE: &'static [u8];
    /// Before a line's id, after its id, after its rank, after its ribasso when a price follows, at its end.
    const LINE_OPEN: &'static [u8];
    const AFTER_ID: &'static [u8];
    const AFTER_RANK: &'static [u8];
    const PRICE: &'static [u8];
    const LINE_CLOSE: &'static [u8];
}

struct Compact;

impl Layout for Compact {
    const OPEN: &'static [u8] = b"[";
    const SEP: &'static [u8] = b",";
    const CLOSE: &'static [u8] = b"]";
    const LINE_OPEN: &'static [u8] = b"{\"id\":";
    const AFTER_ID: &'static [u8] = b",\"rank\":\"";
    const AFTER_RANK: &'static [u8] = b"\",\"discount\":\"";
    const PRICE: &'static [u8] = b"\",\"price\":\"";
    const LINE_CLOSE: &'static [u8] = b"\"}";
}

/// The ranking at depth 1 of the result: its lines at depth 2, their fields at depth 3.
struct Pretty;

impl Layout for Pretty {
    const OPEN: &'static [u8] = b"[\n    ";
    const SEP: &'static [u8] = b",\n    ";
    const CLOSE: &'static [u8] = b"\n  ]";
    const LINE_OPEN: &'static [u8] = b"{\n      \"id\": ";
    const AFTER_ID: &'static [u8] = b",\n      \"rank\": \"";
    const AFTER_RANK: &'static [u8] = b"\",\n      \"discount\": \"";
    const PRICE: &'static [u8] = b"\",\n      \"price\": \"";
    const LINE_CLOSE: &'static [u8] = b"\"\n    }";
}

/// A comma, a line break and the indentation of `depth` (as [`Indent`] writes them, at most 63 levels).
fn separator(pretty: Option<usize>) -> &'static [u8] {
    const BREAK: &[u8; 128] = &{
        let mut b = [b' '; 128];
        b[0] = b',';
        b[1] = b'\n';
        b
    };
    match pretty {
        None => b",",
        Some(depth) => &BREAK[..2 + 2 * depth],
    }
}

/// A decimal's text (`crate::ser::dec`'s).
#[inline]
fn decimal<W: Write>(out: &mut Out<W>, d: &Decimal) -> io::Result<()> {
    let mut buf = [0u8; 48];
    match crate::ser::plain_text(d, &mut buf) {
        Some(t) => {
            out.put(t.as_bytes());
            Ok(())
        }
        None => {
            let t = d.normalize().to_string();
            out.room(t.len())?;
            out.put(t.as_bytes());
            Ok(())
        }
    }
}

/// The ranking: each line as `RankLine`'s `Serialize` writes it (`serde_json`'s text, compact or indented).
/// From `split_lines` lines, the text of the second half is made by another thread while the first half is
/// made and written, and handed over in blocks (at most [`AHEAD`] blocks ahead of the writing).
fn ranking<W: Write, L: Layout>(
    out: &mut Out<W>,
    lines: &[RankLine<'_>],
    split_lines: usize,
) -> io::Result<()> {
    if lines.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(L::OPEN)?;
    if lines.len() < split_lines.max(2) {
        rank_lines::<W, L>(out, lines, true)?;
        return out.write_all(L::CLOSE);
    }
    let (first, second) = lines.split_at(lines.len() / 2);
    std::thread::scope(|scope| {
        let (blocks, made) = std::sync::mpsc::sync_channel::<Vec<u8>>(AHEAD);
        scope.spawn(move || {
            let mut part = Out::new(Blocks(blocks));
            // (an error here is the writing's end: the receiver gone)
            let _ = rank_lines::<Blocks, L>(&mut part, second, false).and_then(|()| part.drain());
        });
        rank_lines::<W, L>(out, first, true)?;
        out.drain()?;
        // `made` is dropped on an error, which ends the other thread's sending
        for block in made {
            out.w.write_all(&block)?;
        }
        Ok::<(), io::Error>(())
    })?;
    out.write_all(L::CLOSE)
}

/// Blocks of the ranking's second half made ahead of the writing: at most 6 (384 KiB; each block is memory of
/// the other thread's heap, which adds to the peak).
const AHEAD: usize = 6;

/// Each write sent as a block to the thread that writes the output.
struct Blocks(std::sync::mpsc::SyncSender<Vec<u8>>);

impl Write for Blocks {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0
            .send(b.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Ranking lines, each after a separator but the first when `first`.
fn rank_lines<W: Write, L: Layout>(
    out: &mut Out<W>,
    lines: &[RankLine<'_>],
    first: bool,
) -> io::Result<()> {
    for (k, l) in lines.iter().enumerate() {
        // the fixed text and two numbers of at most 48 bytes each, besides the id
        out.room(256)?;
        if k > 0 || !first {
            out.put(L::SEP);
        }
        out.put(L::LINE_OPEN);
        out.string(l.id)?;
        out.put(L::AFTER_ID);
        out.put(itoa::Buffer::new().format(l.rank).as_bytes());
        out.put(L::AFTER_RANK);
        decimal(out, &l.discount)?;
        if let Some(price) = &l.price {
            out.room(128)?;
            out.put(L::PRICE);
            decimal(out, price)?;
        }
        out.put(L::LINE_CLOSE);
    }
    Ok(())
}

/// An array of ids, its items at `depth` when indented.
fn ids<W: Write>(out: &mut Out<W>, ids: &[&str], pretty: Option<usize>) -> io::Result<()> {
    if ids.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    for (k, id) in ids.iter().enumerate() {
        match (k, pretty) {
            (0, None) => {}
            (0, Some(_)) => out.write_all(&separator(pretty)[1..])?,
            _ => out.write_all(separator(pretty))?,
        }
        out.string(id)?;
    }
    if let Some(depth) = pretty {
        out.write_all(&separator(Some(depth - 1))[1..])?;
    }
    out.write_all(b"]")
}

/// The long lists of a result, written by hand in the text of the rest.
enum List<'r, 'a> {
    Ids(&'r [&'a str]),
    Ranking(&'r [RankLine<'a>]),
}

/// A lowest-price result, then a line break: `serde_json`'s text of `r` with its four long lists taken out
/// (`r.anomaly`'s `cut_low`, `cut_high` and `excluded`, and `r.ranking`: `[]` there, and left empty in `r`),
/// each written by hand in its place. The place of a list is its `"key":[]` in that text, searched in the
/// order of the fields: outside any string value (in a JSON string every `"` is escaped, so an unescaped quote,
/// a key and its closing quote are a key), and these keys are found once each in the result's text.
pub(crate) fn lowest_price<W: Write>(
    out: &mut Out<W>,
    r: &mut LowestPriceResult<'_>,
    pretty: bool,
    split_lines: usize,
) -> io::Result<()> {
    let cut_low = std::mem::take(&mut r.anomaly.cut_low);
    let cut_high = std::mem::take(&mut r.anomaly.cut_high);
    let excluded = std::mem::take(&mut r.anomaly.excluded);
    let lines = std::mem::take(&mut r.ranking);
    let mut text = Vec::with_capacity(8192);
    if pretty {
        r.serialize(&mut serde_json::Serializer::with_formatter(
            &mut text,
            Indent::default(),
        ))
    } else {
        r.serialize(&mut serde_json::Serializer::new(&mut text))
    }
    .map_err(io::Error::from)?;
    // the depth of each list's items when indented: the anomaly report's fields are at depth 2, the result's at 1
    let lists = [
        ("cut_low", 3, List::Ids(&cut_low)),
        ("cut_high", 3, List::Ids(&cut_high)),
        ("excluded", 3, List::Ids(&excluded)),
        ("ranking", 2, List::Ranking(&lines)),
    ];
    let mut rest = &text[..];
    for (key, depth, list) in lists {
        let needle = if pretty {
            format!("\"{key}\": []")
        } else {
            format!("\"{key}\":[]")
        };
        let at = rest
            .windows(needle.len())
            .position(|w| w == needle.as_bytes())
            .ok_or_else(|| io::Error::other(format!("no field {key} in the result")))?;
        let split = at + needle.len() - 2;
        out.write_all(&rest[..split])?;
        match list {
            List::Ids(l) => ids(out, l, pretty.then_some(depth))?,
            List::Ranking(l) if pretty => ranking::<W, Pretty>(out, l, split_lines)?,
            List::Ranking(l) => ranking::<W, Compact>(out, l, split_lines)?,
        }
        rest = &rest[split + 2..];
    }
    out.write_all(rest)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_escape_check_finds_every_byte_serde_json_escapes() {
        for b in 0u8..=0x7f {
            let escaped = serde_json::to_string(&char::from(b).to_string())
                .unwrap()
                .len()
                > 3;
            for at in 0..17 {
                let mut s = vec![b'a'; 17];
                s[at] = b;
                let s = String::from_utf8(s).unwrap();
                assert_eq!(
                    super::needs_no_escape(s.as_bytes()),
                    !escaped,
                    "{b:#x} at {at}"
                );
            }
        }
        assert!(super::needs_no_escape("é€😀".as_bytes()));
    }
}
