//! Streaming writers: one dataset, a dataset split into files of at most 5 MiB, and the index.
//!
//! Each lot is checked ([`check_lotto`]) and formatted into a reused buffer with quick-xml's `Writer`, then
//! copied to the output: memory stays constant whatever the number of lots. Nothing here opens files; the
//! caller hands in any [`Write`] (a factory closure for the split writer).
//!
//! A lot that breaks a rule stops the export with an error naming the lot and the field; the files written
//! so far are incomplete, so the caller should write into a temporary directory and move it into place
//! only on success (or run [`check_lotto`] over the lots first).

use std::borrow::{Borrow, Cow};
use std::fmt::{self, Write as _};
use std::io::{self, Write};

use chrono::{Datelike, NaiveDate};
use quick_xml::Writer;
use quick_xml::escape::partial_escape;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use rust_decimal::Decimal;

use super::rules::{Rules, Violation, check_lotto, check_meta};
use super::{
    DatasetMeta, IdFiscale, Lotto, MAX_DATASET_BYTES, MAX_TEXT_CHARS, NAMESPACE, Offerente,
    Soggetto,
};

/// `xsi:schemaLocation` of the dataset: ANAC's published address of the schema.
pub const DATASET_SCHEMA_LOCATION: &str =
    "legge190_1_0 https://dati.anticorruzione.it/schema/datasetAppaltiL190.xsd";
/// `xsi:noNamespaceSchemaLocation` of the index.
pub const INDEX_SCHEMA_LOCATION: &str =
    "https://dati.anticorruzione.it/schema/datasetIndiceAppaltiL190.xsd";
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const FOOTER: &[u8] = b"\n  </data>\n</legge190:pubblicazione>\n";

/// A lot refused by the business rules: its 1-based position in the input, its CIG and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotError {
    pub index: usize,
    pub cig: String,
    pub violations: Vec<Violation>,
}

impl fmt::Display for LotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lot {} (CIG {}): ", self.index, self.cig)?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}")]
    Lot(LotError),
    #[error("dataset metadata: {}", join(.0))]
    Meta(Vec<Violation>),
    #[error(
        "lot {index} (CIG {cig}) alone makes a file of {bytes} bytes, over the {max_bytes} bytes allowed per file"
    )]
    LotTooLarge {
        index: usize,
        cig: String,
        bytes: u64,
        max_bytes: u64,
    },
    #[error("option {field}: {message}")]
    Option {
        field: &'static str,
        message: String,
    },
    #[error("I/O error while writing: {0}")]
    Io(#[from] io::Error),
}

fn join(v: &[Violation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// How [`write_split`] names, addresses and sizes its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitOptions {
    /// Public address of the folder the files are published in (e.g.
    /// `https://www.provincia.example.it/trasparenza/l190/2023`); `urlFile` and `linkDataset` are built from it.
    pub base_url: String,
    /// File names are `{file_stem}_{n}.xml`, n from 1.
    pub file_stem: String,
    /// Largest file size in bytes ([`MAX_DATASET_BYTES`], 5 MiB, by default).
    pub max_bytes: u64,
}

impl SplitOptions {
    pub fn new(base_url: impl Into<String>) -> Self {
        SplitOptions {
            base_url: base_url.into(),
            file_stem: "dataset".to_owned(),
            max_bytes: MAX_DATASET_BYTES,
        }
    }

    /// The public URL of a file published in `base_url`.
    pub fn url_for(&self, file_name: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), file_name)
    }

    fn validate(&self) -> Result<(), WriteError> {
        let bad = |field, message: &str| {
            Err(WriteError::Option {
                field,
                message: message.to_owned(),
            })
        };
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return bad("base_url", "must be an absolute http(s) URL");
        }
        if self.base_url.chars().any(char::is_whitespace) {
            return bad("base_url", "must not contain spaces");
        }
        if self.file_stem.is_empty()
            || !self
                .file_stem
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return bad(
                "file_stem",
                "must be non-empty and use only letters, digits, '_', '-', '.'",
            );
        }
        if self.max_bytes < 4096 {
            return bad("max_bytes", "must be at least 4096");
        }
        Ok(())
    }
}

/// One file written by [`write_split`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetFile {
    /// 1-based.
    pub number: usize,
    /// The index id, `ID_{number}`.
    pub id: String,
    pub file_name: String,
    pub url: String,
    pub lots: u64,
    pub bytes: u64,
}

type Fmt = Writer<Vec<u8>>;

fn start(w: &mut Fmt, name: &str) -> io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(name)))
}

fn end(w: &mut Fmt, name: &str) -> io::Result<()> {
    w.write_event(Event::End(BytesEnd::new(name)))
}

fn leaf(w: &mut Fmt, name: &str, text: &str) -> io::Result<()> {
    start(w, name)?;
    // `<`, `>` and `&` only: quotes need no escaping in element content.
    w.write_event(Event::Text(BytesText::from_escaped(partial_escape(text))))?;
    end(w, name)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Drops characters XML 1.0 cannot carry and, with `max`, cuts to `max` characters (never inside a
/// character). Borrows when nothing changes.
pub(crate) fn clean_text(s: &str, max: Option<usize>) -> Cow<'_, str> {
    let all_ok = s.chars().all(is_xml_char);
    let short = max.is_none_or(|m| s.len() <= m || s.chars().count() <= m);
    if all_ok && short {
        return Cow::Borrowed(s);
    }
    let it = s.chars().filter(|c| is_xml_char(*c));
    Cow::Owned(match max {
        Some(m) => it.take(m).collect(),
        None => it.collect(),
    })
}

fn text_leaf(w: &mut Fmt, name: &str, text: &str, max: Option<usize>) -> io::Result<()> {
    leaf(w, name, &clean_text(text, max))
}

fn fmt_date(buf: &mut String, d: NaiveDate) -> &str {
    buf.clear();
    let _ = write!(buf, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    buf
}

fn fmt_importo(buf: &mut String, v: Decimal) -> &str {
    buf.clear();
    let _ = write!(buf, "{:.2}", v);
    buf
}

fn write_soggetto(w: &mut Fmt, s: &Soggetto) -> io::Result<()> {
    match &s.id {
        Some(IdFiscale::CodiceFiscale(cf)) => leaf(w, "codiceFiscale", cf.as_str())?,
        Some(IdFiscale::Estero(e)) => text_leaf(w, "identificativoFiscaleEstero", e, None)?,
        None => {}
    }
    text_leaf(
        w,
        "ragioneSociale",
        &s.ragione_sociale,
        Some(MAX_TEXT_CHARS),
    )
}

fn write_offerenti(
    w: &mut Fmt,
    list: &str,
    group: &str,
    single: &str,
    items: &[Offerente],
) -> io::Result<()> {
    if items.is_empty() {
        return w.write_event(Event::Empty(BytesStart::new(list)));
    }
    start(w, list)?;
    for item in items {
        if let Offerente::Raggruppamento(members) = item {
            start(w, group)?;
            for m in members {
                start(w, "membro")?;
                write_soggetto(w, &m.soggetto)?;
                leaf(w, "ruolo", m.ruolo.label())?;
                end(w, "membro")?;
            }
            end(w, group)?;
        }
    }
    for item in items {
        if let Offerente::Singolo(s) = item {
            start(w, single)?;
            write_soggetto(w, s)?;
            end(w, single)?;
        }
    }
    end(w, list)
}

fn write_lotto(w: &mut Fmt, lot: &Lotto, buf: &mut String) -> io::Result<()> {
    start(w, "lotto")?;
    leaf(w, "cig", lot.cig.as_str())?;
    start(w, "strutturaProponente")?;
    leaf(
        w,
        "codiceFiscaleProp",
        lot.struttura_proponente.codice_fiscale.as_str(),
    )?;
    text_leaf(
        w,
        "denominazione",
        &lot.struttura_proponente.denominazione,
        Some(MAX_TEXT_CHARS),
    )?;
    end(w, "strutturaProponente")?;
    text_leaf(w, "oggetto", &lot.oggetto, Some(MAX_TEXT_CHARS))?;
    leaf(w, "sceltaContraente", lot.scelta_contraente.label())?;
    write_offerenti(
        w,
        "partecipanti",
        "raggruppamento",
        "partecipante",
        &lot.partecipanti,
    )?;
    write_offerenti(
        w,
        "aggiudicatari",
        "aggiudicatarioRaggruppamento",
        "aggiudicatario",
        &lot.aggiudicatari,
    )?;
    leaf(
        w,
        "importoAggiudicazione",
        fmt_importo(buf, lot.importo_aggiudicazione),
    )?;
    if lot.data_inizio.is_none() && lot.data_ultimazione.is_none() {
        w.write_event(Event::Empty(BytesStart::new("tempiCompletamento")))?;
    } else {
        start(w, "tempiCompletamento")?;
        if let Some(d) = lot.data_inizio {
            leaf(w, "dataInizio", fmt_date(buf, d))?;
        }
        if let Some(d) = lot.data_ultimazione {
            leaf(w, "dataUltimazione", fmt_date(buf, d))?;
        }
        end(w, "tempiCompletamento")?;
    }
    leaf(
        w,
        "importoSommeLiquidate",
        fmt_importo(buf, lot.importo_somme_liquidate),
    )?;
    end(w, "lotto")
}

fn write_metadata(w: &mut Fmt, meta: &DatasetMeta, url: &str, index: bool) -> io::Result<()> {
    let mut buf = String::new();
    start(w, "metadata")?;
    text_leaf(w, "titolo", &meta.titolo, None)?;
    text_leaf(w, "abstract", &meta.abstract_text, None)?;
    leaf(
        w,
        if index {
            "dataPubblicazioneIndice"
        } else {
            "dataPubblicazioneDataset"
        },
        fmt_date(&mut buf, meta.data_pubblicazione),
    )?;
    text_leaf(w, "entePubblicatore", &meta.ente_pubblicatore, None)?;
    leaf(
        w,
        if index {
            "dataUltimoAggiornamentoIndice"
        } else {
            "dataUltimoAggiornamentoDataset"
        },
        fmt_date(&mut buf, meta.data_ultimo_aggiornamento),
    )?;
    leaf(w, "annoRiferimento", &meta.anno_riferimento.to_string())?;
    text_leaf(w, "urlFile", url, None)?;
    text_leaf(w, "licenza", &meta.licenza, None)?;
    end(w, "metadata")
}

fn header(meta: &DatasetMeta, url: &str) -> io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let root = BytesStart::new("legge190:pubblicazione").with_attributes([
        ("xmlns:legge190", NAMESPACE),
        ("xmlns:xsi", XSI),
        ("xsi:schemaLocation", DATASET_SCHEMA_LOCATION),
    ]);
    w.write_event(Event::Start(root))?;
    write_metadata(&mut w, meta, url, false)?;
    start(&mut w, "data")?;
    Ok(w.into_inner())
}

/// Formats lots one at a time into a reused buffer, indented as children of `<data>`.
struct LotFormatter {
    w: Fmt,
    buf: String,
    index: usize,
}

impl LotFormatter {
    fn new() -> io::Result<Self> {
        let mut w = Writer::new_with_indent(Vec::with_capacity(4096), b' ', 2);
        start(&mut w, "legge190:pubblicazione")?;
        start(&mut w, "data")?;
        w.get_mut().clear();
        Ok(LotFormatter {
            w,
            buf: String::with_capacity(32),
            index: 0,
        })
    }

    /// Checks and formats the next lot; the bytes stay valid until the next call.
    fn format(&mut self, lot: &Lotto, rules: &Rules) -> Result<&[u8], WriteError> {
        self.index += 1;
        let violations = check_lotto(lot, rules);
        if !violations.is_empty() {
            return Err(WriteError::Lot(LotError {
                index: self.index,
                cig: lot.cig.as_str().to_owned(),
                violations,
            }));
        }
        self.w.get_mut().clear();
        write_lotto(&mut self.w, lot, &mut self.buf)?;
        Ok(self.w.get_ref())
    }
}

fn check_meta_or_err(meta: &DatasetMeta) -> Result<(), WriteError> {
    let v = check_meta(meta);
    if v.is_empty() {
        Ok(())
    } else {
        Err(WriteError::Meta(v))
    }
}

/// Writes one dataset (no size limit) with `urlFile` = `url_file`; returns the number of lots and bytes.
pub fn write_dataset<I, L, W>(
    meta: &DatasetMeta,
    url_file: &str,
    lots: I,
    rules: &Rules,
    mut out: W,
) -> Result<(u64, u64), WriteError>
where
    I: IntoIterator<Item = L>,
    L: Borrow<Lotto>,
    W: Write,
{
    check_meta_or_err(meta)?;
    let mut fmt = LotFormatter::new()?;
    let head = header(meta, url_file)?;
    out.write_all(&head)?;
    let (mut n, mut bytes) = (0u64, head.len() as u64);
    for lot in lots {
        let b = fmt.format(lot.borrow(), rules)?;
        out.write_all(b)?;
        bytes += b.len() as u64;
        n += 1;
    }
    out.write_all(FOOTER)?;
    out.flush()?;
    Ok((n, bytes + FOOTER.len() as u64))
}

struct OpenFile<W> {
    info: DatasetFile,
    out: W,
}

impl<W: Write> OpenFile<W> {
    fn finish(mut self) -> io::Result<DatasetFile> {
        self.out.write_all(FOOTER)?;
        self.out.flush()?;
        self.info.bytes += FOOTER.len() as u64;
        Ok(self.info)
    }
}

/// Writes the lots into as many datasets as needed so that none exceeds `opts.max_bytes`, opening each file
/// with `make_writer(file_name)`, and returns the files in order (to be listed with [`write_index`]).
///
/// Each file is a complete dataset whose `urlFile` is its own URL. With no lots, one dataset with an empty
/// `<data>` is written.
pub fn write_split<I, L, W, F>(
    meta: &DatasetMeta,
    lots: I,
    opts: &SplitOptions,
    rules: &Rules,
    mut make_writer: F,
) -> Result<Vec<DatasetFile>, WriteError>
where
    I: IntoIterator<Item = L>,
    L: Borrow<Lotto>,
    W: Write,
    F: FnMut(&str) -> io::Result<W>,
{
    opts.validate()?;
    check_meta_or_err(meta)?;
    let mut fmt = LotFormatter::new()?;
    let mut done: Vec<DatasetFile> = Vec::new();
    let mut current: Option<OpenFile<W>> = None;
    let footer = FOOTER.len() as u64;
    let mut open = |number: usize| -> Result<OpenFile<W>, WriteError> {
        let file_name = format!("{}_{number}.xml", opts.file_stem);
        let url = opts.url_for(&file_name);
        let head = header(meta, &url)?;
        let mut out = make_writer(&file_name)?;
        out.write_all(&head)?;
        Ok(OpenFile {
            info: DatasetFile {
                number,
                id: format!("ID_{number}"),
                file_name,
                url,
                lots: 0,
                bytes: head.len() as u64,
            },
            out,
        })
    };
    for lot in lots {
        let lot = lot.borrow();
        let index = fmt.index + 1;
        let bytes = fmt.format(lot, rules)?;
        let len = bytes.len() as u64;
        let full =
            |f: &OpenFile<W>| f.info.lots > 0 && f.info.bytes + len + footer > opts.max_bytes;
        if current.as_ref().is_some_and(full)
            && let Some(f) = current.take()
        {
            done.push(f.finish()?);
        }
        let file = match &mut current {
            Some(f) => f,
            None => current.insert(open(done.len() + 1)?),
        };
        if file.info.bytes + len + footer > opts.max_bytes {
            return Err(WriteError::LotTooLarge {
                index,
                cig: lot.cig.as_str().to_owned(),
                bytes: file.info.bytes + len + footer,
                max_bytes: opts.max_bytes,
            });
        }
        file.out.write_all(bytes)?;
        file.info.bytes += len;
        file.info.lots += 1;
    }
    let last = match current {
        Some(f) => f,
        None => open(done.len() + 1)?,
    };
    done.push(last.finish()?);
    Ok(done)
}

/// Writes the index (`indici`, no namespace) listing `files`, with `urlFile` = `index_url`.
/// `dataUltimoAggiornamento` of each entry is the metadata's last-update date.
pub fn write_index<W: Write>(
    meta: &DatasetMeta,
    index_url: &str,
    files: &[DatasetFile],
    out: W,
) -> Result<(), WriteError> {
    check_meta_or_err(meta)?;
    if files.is_empty() {
        return Err(WriteError::Option {
            field: "files",
            message: "an index lists at least one dataset".to_owned(),
        });
    }
    let mut ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(WriteError::Option {
            field: "files",
            message: format!("duplicate dataset id {}", w[0]),
        });
    }
    let mut w = Writer::new_with_indent(out, b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    w.write_event(Event::Start(BytesStart::new("indici").with_attributes([
        ("xmlns:xsi", XSI),
        ("xsi:noNamespaceSchemaLocation", INDEX_SCHEMA_LOCATION),
    ])))?;
    // The metadata block is formatted into a buffer to reuse the dataset's helpers.
    let mut m = Writer::new_with_indent(Vec::new(), b' ', 2);
    start(&mut m, "indici")?;
    m.get_mut().clear();
    write_metadata(&mut m, meta, index_url, true)?;
    w.get_mut().write_all(m.get_ref())?;
    let mut date = String::new();
    let updated = fmt_date(&mut date, meta.data_ultimo_aggiornamento).to_owned();
    w.write_event(Event::Start(BytesStart::new("indice")))?;
    for f in files {
        w.write_event(Event::Start(
            BytesStart::new("dataset").with_attributes([("id", f.id.as_str())]),
        ))?;
        w.write_event(Event::Start(BytesStart::new("linkDataset")))?;
        w.write_event(Event::Text(BytesText::new(&f.url)))?;
        w.write_event(Event::End(BytesEnd::new("linkDataset")))?;
        w.write_event(Event::Start(BytesStart::new("dataUltimoAggiornamento")))?;
        w.write_event(Event::Text(BytesText::new(&updated)))?;
        w.write_event(Event::End(BytesEnd::new("dataUltimoAggiornamento")))?;
        w.write_event(Event::End(BytesEnd::new("dataset")))?;
    }
    w.write_event(Event::End(BytesEnd::new("indice")))?;
    w.write_event(Event::End(BytesEnd::new("indici")))?;
    let out = w.get_mut();
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_cuts_at_a_character_boundary() {
        let s = "è".repeat(300);
        let c = clean_text(&s, Some(250));
        assert_eq!(c.chars().count(), 250);
        assert!(c.chars().all(|c| c == 'è'));
        assert!(matches!(clean_text("abc", Some(250)), Cow::Borrowed(_)));
        assert_eq!(clean_text("a\u{1}b\u{FFFE}c\td", None), "abc\td");
        // exactly 250 multibyte characters: unchanged
        let s = "€".repeat(250);
        assert_eq!(clean_text(&s, Some(250)), s);
    }

    #[test]
    fn amounts_have_two_decimals_and_a_dot() {
        let mut b = String::new();
        assert_eq!(fmt_importo(&mut b, Decimal::new(3500, 0)), "3500.00");
        assert_eq!(fmt_importo(&mut b, Decimal::new(1250005, 1)), "125000.50");
        assert_eq!(fmt_importo(&mut b, Decimal::ZERO), "0.00");
        assert_eq!(
            fmt_importo(&mut b, super::super::MAX_IMPORTO),
            "999999999999.99"
        );
    }
}
