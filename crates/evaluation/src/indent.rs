//! `--pretty` for `sua evaluate`: `serde_json`'s [`PrettyFormatter`](serde_json::ser::PrettyFormatter) text
//! (two spaces), each line break and its indentation written at once.
//!
//! The result is written by `serde_json`'s own serializer, compact by default, except the ranking and the lists
//! of ids of a lowest-price result (`crate::out`, session 8: the same text, written from fixed pieces). This crate had its own JSON
//! writer (`jsonw`, 650 lines) from when `serde_json` escaped strings byte by byte; measured again on
//! 100,000 bids (callgrind, the library path `examples/evaluate_file.rs`): compact, `serde_json` with a
//! 64 KiB `BufWriter` 243.1 M instructions against 240.5 M for the hand-written writer (1 % more) and the same
//! CPU time, so the hand-written writer was removed. Pretty, `PrettyFormatter` took 289 M against 258 M: it
//! writes the indentation two bytes per level with one `write_all` each; [`Indent`] writes a line break and its
//! indentation in one `write_all`, the rest is `PrettyFormatter`'s code as is (serde_json 1.0.154).

use serde_json::ser::Formatter;
use std::io::{self, Write};

/// A comma, a line break and enough spaces for 63 levels of two spaces.
const BREAK: &[u8; 128] = &{
    let mut b = [b' '; 128];
    b[0] = b',';
    b[1] = b'\n';
    b
};

/// `serde_json`'s pretty text, indentation two spaces.
#[derive(Debug, Default)]
pub(crate) struct Indent {
    depth: usize,
    has_value: bool,
}

impl Indent {
    /// A line break (after a comma unless `first`) and the indentation of the current depth.
    fn line<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        let from = usize::from(first);
        let spaces = 2 * self.depth;
        if 2 + spaces <= BREAK.len() {
            w.write_all(&BREAK[from..2 + spaces])
        } else {
            w.write_all(&BREAK[from..2])?;
            for _ in 0..self.depth {
                w.write_all(b"  ")?;
            }
            Ok(())
        }
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, c: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(c)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, c: &[u8]) -> io::Result<()> {
        self.depth -= 1;
        if self.has_value {
            self.line(w, true)?;
        }
        w.write_all(c)
    }
}

impl Formatter for Indent {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The text of `serde_json::to_string_pretty`, nesting deeper than the spaces of one write included.
    #[test]
    fn the_text_of_serde_json_pretty() {
        let mut deep = json!(["x", {}, []]);
        for i in 0..70 {
            deep = json!({ "k": deep, "n": [i, null, {"a": true}] });
        }
        let values = [
            json!({}),
            json!([]),
            json!([[], {}, [[]], {"a": {}}]),
            json!({"a": "\"\\\n\u{1}é", "b": [1, "2", null, false], "c": {"d": {"e": []}}}),
            deep,
        ];
        for v in values {
            let mut ours = Vec::new();
            serde::Serialize::serialize(
                &v,
                &mut serde_json::Serializer::with_formatter(&mut ours, Indent::default()),
            )
            .unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string_pretty(&v).unwrap()
            );
        }
    }
}
