//! Reader of published L.190 datasets (ours or anyone's) into the model.
//!
//! Lots are read one at a time (each into a small tree, then mapped onto [`Lotto`]): memory stays bounded
//! by the largest lot. A lot that cannot be represented (an invalid CIG or codice fiscale, an unknown
//! `sceltaContraente`, a malformed amount or date, a missing element...) or that breaks the configured
//! [`Rules`] is reported as a [`LotFault`] naming each faulty field, and reading carries on with the next
//! lot. Only malformed XML or a document that is not a dataset stops the reader. No input makes it panic.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;
use std::str::FromStr;

use chrono::NaiveDate;
use domain::ids::{Cig, CodiceFiscale};
use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use rust_decimal::Decimal;

use super::rules::{Rules, check_lotto};
use super::{
    CIG_PLACEHOLDER, DatasetMeta, IdFiscale, LotCig, Lotto, MAX_IMPORTO, Membro, NAMESPACE,
    Offerente, Ruolo, SceltaContraente, Soggetto, StrutturaProponente,
};

/// Deepest element nesting accepted inside a lot (a well-formed lot has 4).
const MAX_DEPTH: usize = 16;

/// One faulty field of a lot: its path (schema element names, 1-based indices), the text found and why it
/// is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: String,
    pub value: String,
    pub message: String,
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.field, self.message)
        } else {
            write!(f, "{} = {:?}: {}", self.field, self.value, self.message)
        }
    }
}

/// A lot that was not read into the model: its 1-based position in the file, its `cig` text as found, and
/// every problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotFault {
    pub index: usize,
    pub cig: String,
    pub problems: Vec<FieldProblem>,
}

impl fmt::Display for LotFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "lot {} (cig {:?}): ", self.index, self.cig)?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// What the reader reports. [`ReadError::Lot`] is not fatal: the next call goes on with the next lot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("malformed XML at byte {position}: {message}")]
    Xml { position: u64, message: String },
    #[error("not an L.190 dataset (at byte {position}): {message}")]
    Structure { position: u64, message: String },
    #[error("dataset metadata: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Metadata(Vec<FieldProblem>),
    #[error("{0}")]
    Lot(LotFault),
}

impl ReadError {
    /// Whether reading stopped (anything but a faulty lot).
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ReadError::Lot(_))
    }
}

/// An element with its text and children, enough for one lot.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn named(e: &BytesStart<'_>) -> Node {
        Node {
            name: e.local_name().as_ref().to_owned(),
            ..Node::default()
        }
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Streaming reader: the metadata is read by [`LotReader::new`], then the lots by iteration.
pub struct LotReader<R> {
    reader: Reader<R>,
    buf: Vec<u8>,
    meta: DatasetMeta,
    url_file: String,
    rules: Rules,
    index: usize,
    done: bool,
}

impl<R: BufRead> LotReader<R> {
    /// Reads the header and metadata. Lots are checked against [`Rules::republish`]; see [`Self::with_rules`].
    pub fn new(input: R) -> Result<Self, ReadError> {
        let mut reader = Reader::from_reader(input);
        reader.config_mut().trim_text(false);
        let mut this = LotReader {
            reader,
            buf: Vec::with_capacity(4096),
            meta: DatasetMeta {
                titolo: String::new(),
                abstract_text: String::new(),
                data_pubblicazione: NaiveDate::MIN,
                ente_pubblicatore: String::new(),
                data_ultimo_aggiornamento: NaiveDate::MIN,
                anno_riferimento: 0,
                licenza: String::new(),
            },
            url_file: String::new(),
            rules: Rules::republish(),
            index: 0,
            done: false,
        };
        this.read_root()?;
        let metadata = match this.next_child_start()? {
            Some((node, _)) if node.name == "metadata" => node,
            Some((node, _)) => {
                return Err(this.structure(format!("expected <metadata>, found <{}>", node.name)));
            }
            None => return Err(this.structure("missing <metadata>".into())),
        };
        let (meta, url) = parse_meta(&metadata)?;
        this.meta = meta;
        this.url_file = url;
        match this.next_start_tag()? {
            Some((name, empty)) if name == "data" => this.done = empty,
            Some((name, _)) => {
                return Err(this.structure(format!("expected <data>, found <{name}>")));
            }
            None => return Err(this.structure("missing <data>".into())),
        }
        Ok(this)
    }

    /// Checks lots against `rules` instead of [`Rules::republish`].
    pub fn with_rules(mut self, rules: Rules) -> Self {
        self.rules = rules;
        self
    }

    pub fn meta(&self) -> &DatasetMeta {
        &self.meta
    }

    /// The `urlFile` of the dataset as published.
    pub fn url_file(&self) -> &str {
        &self.url_file
    }

    fn structure(&self, message: String) -> ReadError {
        ReadError::Structure {
            position: self.reader.buffer_position(),
            message,
        }
    }

    fn xml_err(&self, e: impl fmt::Display) -> ReadError {
        ReadError::Xml {
            position: self.reader.error_position(),
            message: e.to_string(),
        }
    }

    /// Finds the root element and checks its name and namespace.
    fn read_root(&mut self) -> Result<(), ReadError> {
        loop {
            self.buf.clear();
            let ev = self.reader.read_event_into(&mut self.buf);
            match ev {
                Err(e) => {
                    let e = e.to_string();
                    return Err(self.xml_err(e));
                }
                Ok(Event::Start(e)) => {
                    let name = e.name();
                    if e.local_name().as_ref() != "pubblicazione" {
                        let n = name.as_ref().to_owned();
                        return Err(self.structure(format!(
                            "root element is <{n}>, expected <legge190:pubblicazione>"
                        )));
                    }
                    let xmlns = match name.prefix() {
                        Some(p) => format!("xmlns:{}", p.as_ref()),
                        None => "xmlns".to_owned(),
                    };
                    let ns = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == xmlns)
                        .map(|a| a.value.into_owned());
                    if ns.as_deref() != Some(NAMESPACE) {
                        return Err(self.structure(format!(
                            "root element namespace is {ns:?}, expected \"{NAMESPACE}\""
                        )));
                    }
                    return Ok(());
                }
                Ok(Event::Eof) => return Err(self.structure("empty document".into())),
                Ok(Event::Empty(_)) => {
                    return Err(self.structure("root element has no content".into()));
                }
                Ok(_) => {}
            }
        }
    }

    /// The next start tag at the current level (name, whether it is empty), skipping text and comments;
    /// `None` at an end tag or end of file.
    fn next_start_tag(&mut self) -> Result<Option<(String, bool)>, ReadError> {
        loop {
            self.buf.clear();
            match self.reader.read_event_into(&mut self.buf) {
                Err(e) => {
                    let e = e.to_string();
                    return Err(self.xml_err(e));
                }
                Ok(Event::Start(e)) => {
                    return Ok(Some((e.local_name().as_ref().to_owned(), false)));
                }
                Ok(Event::Empty(e)) => return Ok(Some((e.local_name().as_ref().to_owned(), true))),
                Ok(Event::End(_)) | Ok(Event::Eof) => return Ok(None),
                Ok(Event::Text(t)) if !t.xml10_content().trim().is_empty() => {
                    return Err(self.structure("unexpected text between elements".into()));
                }
                Ok(_) => {}
            }
        }
    }

    /// Reads the next element at the current level as a tree (`None` at the parent's end tag).
    fn next_child_start(&mut self) -> Result<Option<(Node, u64)>, ReadError> {
        let pos = self.reader.buffer_position();
        let (name, empty) = match self.next_start_tag()? {
            Some(t) => t,
            None => return Ok(None),
        };
        let node = if empty {
            Node {
                name,
                ..Node::default()
            }
        } else {
            self.read_tree(name)?
        };
        Ok(Some((node, pos)))
    }

    /// Reads the content of an element whose start tag was just read, up to its end tag.
    fn read_tree(&mut self, name: String) -> Result<Node, ReadError> {
        let mut stack = vec![Node {
            name,
            ..Node::default()
        }];
        loop {
            self.buf.clear();
            let ev = match self.reader.read_event_into(&mut self.buf) {
                Ok(ev) => ev,
                Err(e) => {
                    let e = e.to_string();
                    return Err(self.xml_err(e));
                }
            };
            let top = stack.len() - 1;
            match ev {
                Event::Start(e) => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.structure("elements nested too deeply".into()));
                    }
                    stack.push(Node::named(&e));
                }
                Event::Empty(e) => stack[top].children.push(Node::named(&e)),
                Event::Text(t) => stack[top].text.push_str(&t.xml10_content()),
                Event::CData(t) => stack[top].text.push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let resolved: Option<Cow<'_, str>> = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(Cow::Owned(c.to_string())),
                        Ok(None) => {
                            resolve_predefined_entity(&r.xml10_content()).map(Cow::Borrowed)
                        }
                        Err(_) => None,
                    };
                    match resolved {
                        Some(s) => stack[top].text.push_str(&s),
                        None => {
                            let name = r.xml10_content().into_owned();
                            return Err(self.xml_err(format!("unknown entity &{name};")));
                        }
                    }
                }
                Event::End(_) => {
                    let done = stack.pop().unwrap_or_default();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Eof => {
                    return Err(self.structure("end of file inside an element".into()));
                }
                _ => {}
            }
        }
    }
}

impl<R: BufRead> Iterator for LotReader<R> {
    type Item = Result<Lotto, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let node = match self.next_child_start() {
            Ok(Some((node, _))) => node,
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        };
        if node.name != "lotto" {
            self.done = true;
            return Some(Err(self.structure(format!(
                "expected <lotto> inside <data>, found <{}>",
                node.name
            ))));
        }
        self.index += 1;
        Some(parse_lotto(&node, self.index, &self.rules).map_err(ReadError::Lot))
    }
}

/// A whole dataset read into memory: the lots that passed and the faults of those that did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadDataset {
    pub meta: DatasetMeta,
    pub url_file: String,
    pub lots: Vec<Lotto>,
    pub faults: Vec<LotFault>,
}

/// Reads a whole dataset (lots checked against `rules`); faulty lots are collected, not fatal.
pub fn read_dataset<R: BufRead>(input: R, rules: &Rules) -> Result<ReadDataset, ReadError> {
    let reader = LotReader::new(input)?.with_rules(rules.clone());
    let meta = reader.meta().clone();
    let url_file = reader.url_file().to_owned();
    let (mut lots, mut faults) = (Vec::new(), Vec::new());
    for item in reader {
        match item {
            Ok(l) => lots.push(l),
            Err(ReadError::Lot(f)) => faults.push(f),
            Err(e) => return Err(e),
        }
    }
    Ok(ReadDataset {
        meta,
        url_file,
        lots,
        faults,
    })
}

/// Collects problems while mapping one lot.
struct Ctx {
    problems: Vec<FieldProblem>,
}

impl Ctx {
    fn problem(&mut self, field: &str, value: &str, message: impl Into<String>) {
        self.problems.push(FieldProblem {
            field: field.to_owned(),
            value: value.to_owned(),
            message: message.into(),
        });
    }

    /// The text of a required child element.
    fn text<'a>(&mut self, node: &'a Node, name: &str, path: &str) -> Option<&'a str> {
        match node.child(name) {
            Some(c) => Some(c.text.as_str()),
            None => {
                self.problem(&join(path, name), "", "required element is missing");
                None
            }
        }
    }

    fn unexpected(&mut self, node: &Node, allowed: &[&str], path: &str) {
        for c in &node.children {
            if !allowed.contains(&c.name.as_str()) {
                self.problem(&join(path, &c.name), "", "element not allowed here");
            }
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}/{name}")
    }
}

fn parse_cf(ctx: &mut Ctx, field: &str, raw: &str) -> Option<CodiceFiscale> {
    match CodiceFiscale::parse(raw.trim()) {
        Ok(cf) => Some(cf),
        Err(e) => {
            ctx.problem(field, raw, e.to_string());
            None
        }
    }
}

/// `xs:decimal` restricted by `ImportoType`.
fn parse_importo(ctx: &mut Ctx, field: &str, raw: &str) -> Option<Decimal> {
    let t = raw.trim();
    let digits = t.strip_prefix('+').unwrap_or(t);
    let shape_ok = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit());
    let value = if shape_ok {
        Decimal::from_str(digits).ok()
    } else {
        None
    };
    match value {
        None => {
            ctx.problem(
                field,
                raw,
                "not a decimal amount (digits and an optional '.' only, no sign, no thousands separator)",
            );
            None
        }
        Some(v) if v > MAX_IMPORTO => {
            ctx.problem(field, raw, "amount exceeds 999999999999.99");
            None
        }
        Some(v) if v.normalize().scale() > 2 => {
            ctx.problem(field, raw, "amount has more than 2 decimals");
            None
        }
        Some(v) => Some(v),
    }
}

/// `xs:date`: `YYYY-MM-DD`, optionally followed by a timezone (`Z`, `+01:00`), which is dropped.
fn parse_date(ctx: &mut Ctx, field: &str, raw: &str) -> Option<NaiveDate> {
    let t = raw.trim();
    let (date, tz) = if t.len() > 10 && t.is_char_boundary(10) {
        t.split_at(10)
    } else {
        (t, "")
    };
    let tz_ok = tz.is_empty()
        || tz == "Z"
        || (tz.len() == 6
            && (tz.starts_with('+') || tz.starts_with('-'))
            && tz.as_bytes()[3] == b':'
            && tz
                .bytes()
                .enumerate()
                .all(|(i, b)| i == 0 || i == 3 || b.is_ascii_digit()));
    match NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(d) if tz_ok && date.len() == 10 => Some(d),
        _ => {
            ctx.problem(field, raw, "not a date in the form YYYY-MM-DD");
            None
        }
    }
}

fn parse_soggetto(ctx: &mut Ctx, node: &Node, path: &str, extra: &[&str]) -> Option<Soggetto> {
    let mut allowed = vec![
        "codiceFiscale",
        "identificativoFiscaleEstero",
        "ragioneSociale",
    ];
    allowed.extend_from_slice(extra);
    ctx.unexpected(node, &allowed, path);
    let cf = node.child("codiceFiscale");
    let est = node.child("identificativoFiscaleEstero");
    let id = match (cf, est) {
        (Some(_), Some(_)) => {
            ctx.problem(
                path,
                "",
                "both codiceFiscale and identificativoFiscaleEstero are given (the schema allows one)",
            );
            return None;
        }
        (Some(c), None) => Some(IdFiscale::CodiceFiscale(parse_cf(
            ctx,
            &join(path, "codiceFiscale"),
            &c.text,
        )?)),
        (None, Some(e)) => Some(IdFiscale::Estero(e.text.clone())),
        (None, None) => None,
    };
    let ragione_sociale = ctx.text(node, "ragioneSociale", path)?.to_owned();
    Some(Soggetto {
        id,
        ragione_sociale,
    })
}

fn parse_offerenti(
    ctx: &mut Ctx,
    node: Option<&Node>,
    list: &str,
    group: &str,
    single: &str,
) -> Vec<Offerente> {
    let Some(node) = node else {
        ctx.problem(list, "", "required element is missing");
        return Vec::new();
    };
    ctx.unexpected(node, &[group, single], list);
    let (mut g, mut s) = (0, 0);
    let mut out = Vec::new();
    for c in &node.children {
        if c.name == group {
            g += 1;
            let path = format!("{list}/{group}[{g}]");
            ctx.unexpected(c, &["membro"], &path);
            let mut members = Vec::new();
            for (m, mn) in c.children.iter().filter(|n| n.name == "membro").enumerate() {
                let mpath = format!("{path}/membro[{}]", m + 1);
                let soggetto = parse_soggetto(ctx, mn, &mpath, &["ruolo"]);
                let ruolo = ctx.text(mn, "ruolo", &mpath).and_then(|r| {
                    let found = Ruolo::from_label(r.trim());
                    if found.is_none() {
                        ctx.problem(&join(&mpath, "ruolo"), r, "not one of the 5 ruolo labels");
                    }
                    found
                });
                if let (Some(soggetto), Some(ruolo)) = (soggetto, ruolo) {
                    members.push(Membro { soggetto, ruolo });
                }
            }
            out.push(Offerente::Raggruppamento(members));
        } else if c.name == single {
            s += 1;
            if let Some(so) = parse_soggetto(ctx, c, &format!("{list}/{single}[{s}]"), &[]) {
                out.push(Offerente::Singolo(so));
            }
        }
    }
    out
}

fn parse_lotto(node: &Node, index: usize, rules: &Rules) -> Result<Lotto, LotFault> {
    let mut ctx = Ctx {
        problems: Vec::new(),
    };
    ctx.unexpected(
        node,
        &[
            "cig",
            "strutturaProponente",
            "oggetto",
            "sceltaContraente",
            "partecipanti",
            "aggiudicatari",
            "importoAggiudicazione",
            "tempiCompletamento",
            "importoSommeLiquidate",
        ],
        "",
    );
    let cig_text = node
        .child("cig")
        .map(|c| c.text.clone())
        .unwrap_or_default();
    let cig = ctx.text(node, "cig", "").and_then(|raw| {
        if raw.trim() == CIG_PLACEHOLDER {
            return Some(LotCig::Placeholder);
        }
        match Cig::parse(raw.trim()) {
            Ok(c) => Some(LotCig::Cig(c)),
            Err(e) => {
                ctx.problem("cig", raw, e.to_string());
                None
            }
        }
    });
    let sp = match node.child("strutturaProponente") {
        Some(sp) => {
            ctx.unexpected(
                sp,
                &["codiceFiscaleProp", "denominazione"],
                "strutturaProponente",
            );
            let cf = ctx
                .text(sp, "codiceFiscaleProp", "strutturaProponente")
                .and_then(|raw| parse_cf(&mut ctx, "strutturaProponente/codiceFiscaleProp", raw));
            let den = ctx.text(sp, "denominazione", "strutturaProponente");
            match (cf, den) {
                (Some(codice_fiscale), Some(d)) => Some(StrutturaProponente {
                    codice_fiscale,
                    denominazione: d.to_owned(),
                }),
                _ => None,
            }
        }
        None => {
            ctx.problem("strutturaProponente", "", "required element is missing");
            None
        }
    };
    let oggetto = ctx.text(node, "oggetto", "").map(str::to_owned);
    let scelta = ctx.text(node, "sceltaContraente", "").and_then(|raw| {
        let found = SceltaContraente::from_label(raw.trim());
        if found.is_none() {
            ctx.problem(
                "sceltaContraente",
                raw,
                "not one of the 29 sceltaContraente labels of TypesL190.xsd v1.3",
            );
        }
        found
    });
    let partecipanti = parse_offerenti(
        &mut ctx,
        node.child("partecipanti"),
        "partecipanti",
        "raggruppamento",
        "partecipante",
    );
    let aggiudicatari = parse_offerenti(
        &mut ctx,
        node.child("aggiudicatari"),
        "aggiudicatari",
        "aggiudicatarioRaggruppamento",
        "aggiudicatario",
    );
    let importo = ctx
        .text(node, "importoAggiudicazione", "")
        .and_then(|raw| parse_importo(&mut ctx, "importoAggiudicazione", raw));
    let (mut inizio, mut fine) = (None, None);
    match node.child("tempiCompletamento") {
        Some(t) => {
            ctx.unexpected(t, &["dataInizio", "dataUltimazione"], "tempiCompletamento");
            if let Some(d) = t.child("dataInizio") {
                inizio = parse_date(&mut ctx, "tempiCompletamento/dataInizio", &d.text);
            }
            if let Some(d) = t.child("dataUltimazione") {
                fine = parse_date(&mut ctx, "tempiCompletamento/dataUltimazione", &d.text);
            }
        }
        None => ctx.problem("tempiCompletamento", "", "required element is missing"),
    }
    let liquidate = ctx
        .text(node, "importoSommeLiquidate", "")
        .and_then(|raw| parse_importo(&mut ctx, "importoSommeLiquidate", raw));
    let fault = |problems| LotFault {
        index,
        cig: cig_text.clone(),
        problems,
    };
    match (cig, sp, oggetto, scelta, importo, liquidate) {
        (Some(cig), Some(sp), Some(oggetto), Some(scelta), Some(importo), Some(liquidate))
            if ctx.problems.is_empty() =>
        {
            let lot = Lotto {
                cig,
                struttura_proponente: sp,
                oggetto,
                scelta_contraente: scelta,
                partecipanti,
                aggiudicatari,
                importo_aggiudicazione: importo,
                data_inizio: inizio,
                data_ultimazione: fine,
                importo_somme_liquidate: liquidate,
            };
            let violations = check_lotto(&lot, rules);
            if violations.is_empty() {
                Ok(lot)
            } else {
                Err(fault(
                    violations
                        .into_iter()
                        .map(|v| FieldProblem {
                            field: v.field,
                            value: String::new(),
                            message: v.message,
                        })
                        .collect(),
                ))
            }
        }
        _ => Err(fault(ctx.problems)),
    }
}

fn parse_meta(node: &Node) -> Result<(DatasetMeta, String), ReadError> {
    let mut ctx = Ctx {
        problems: Vec::new(),
    };
    let p = "metadata";
    let titolo = ctx.text(node, "titolo", p).unwrap_or_default().to_owned();
    let abstract_text = ctx.text(node, "abstract", p).unwrap_or_default().to_owned();
    // v1.0 of the schema spelled it "dataPubbicazioneDataset".
    let pub_node = node
        .child("dataPubblicazioneDataset")
        .or_else(|| node.child("dataPubbicazioneDataset"));
    let data_pubblicazione = match pub_node {
        Some(n) => parse_date(&mut ctx, "metadata/dataPubblicazioneDataset", &n.text),
        None => {
            ctx.problem(
                "metadata/dataPubblicazioneDataset",
                "",
                "required element is missing",
            );
            None
        }
    };
    let ente = ctx
        .text(node, "entePubblicatore", p)
        .unwrap_or_default()
        .to_owned();
    let agg = ctx
        .text(node, "dataUltimoAggiornamentoDataset", p)
        .and_then(|raw| parse_date(&mut ctx, "metadata/dataUltimoAggiornamentoDataset", raw));
    let anno = ctx.text(node, "annoRiferimento", p).and_then(|raw| {
        let v = raw.trim().parse::<i32>().ok();
        if v.is_none() {
            ctx.problem("metadata/annoRiferimento", raw, "not an integer year");
        }
        v
    });
    let url = ctx
        .text(node, "urlFile", p)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let licenza = ctx
        .text(node, "licenza", p)
        .unwrap_or_default()
        .trim()
        .to_owned();
    match (data_pubblicazione, agg, anno) {
        (Some(dp), Some(da), Some(anno)) if ctx.problems.is_empty() => Ok((
            DatasetMeta {
                titolo,
                abstract_text,
                data_pubblicazione: dp,
                ente_pubblicatore: ente,
                data_ultimo_aggiornamento: da,
                anno_riferimento: anno,
                licenza,
            },
            url,
        )),
        _ => Err(ReadError::Metadata(ctx.problems)),
    }
}
