//! Validation of L.190 files against ANAC's XSDs, compiled into the crate (`schema/l190/`, see its
//! `SOURCES.md`), in Rust (the `xmlschema` crate): no external program, no file or network access.
//!
//! [`validate_dataset`] checks a `<legge190:pubblicazione>` against `datasetAppaltiL190.xsd`,
//! [`validate_index`] an `<indici>` against `datasetIndiceAppaltiL190.xsd`; both include `TypesL190.xsd`.
//! Every construct of the three schemas is enforced (see [`unenforced`]). Three rules `xmlschema` 0.0.14
//! does not apply whatever the schema are checked here, for ANAC's schemas only:
//! - it matches elements by local name, ignoring their namespace: [`validate`] checks the namespaces
//!   ANAC's schemas prescribe, the root in the schema's target namespace (`legge190_1_0` for the dataset,
//!   none for the index) and every other element unqualified (the dataset schema's local declarations
//!   are unqualified; the index schema has no target namespace);
//! - it accepts attributes a complex type does not declare (and has no `xs:anyAttribute` for):
//!   [`validate`] refuses every attribute but `xsi:` ones, namespace declarations and the one ANAC
//!   declares, `id` on the index's `dataset`;
//! - it does not check that `xs:ID` values are unique in the document: [`validate`] checks it for that
//!   `id`.
//!
//! Known difference from libxml2 (`xmllint --schema`): a value with surrounding blanks in an `xs:int`
//! (`<annoRiferimento>2023 </annoRiferimento>`) is accepted here, as XSD's `whiteSpace="collapse"` says,
//! and refused by libxml2. Our writer never writes such blanks.

use std::fmt;
use std::sync::OnceLock;

/// `datasetAppaltiL190.xsd` (version 1.1), byte for byte as ANAC publishes it.
pub const DATASET_XSD: &str = include_str!("../../schema/l190/datasetAppaltiL190.xsd");
/// `datasetIndiceAppaltiL190.xsd` (version 1.0).
pub const INDEX_XSD: &str = include_str!("../../schema/l190/datasetIndiceAppaltiL190.xsd");
/// `TypesL190.xsd` (version 1.3), included by both.
pub const TYPES_XSD: &str = include_str!("../../schema/l190/TypesL190.xsd");

/// The schema documents an `xs:include` may name, by `schemaLocation`.
const PARTS: &[(&str, &str)] = &[("TypesL190.xsd", TYPES_XSD)];

/// Which of ANAC's two documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XsdDocument {
    /// `datasetAppaltiL190.xsd`: the dataset of lots.
    Dataset,
    /// `datasetIndiceAppaltiL190.xsd`: the index listing dataset files.
    Index,
}

impl XsdDocument {
    /// The schema's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            XsdDocument::Dataset => "datasetAppaltiL190.xsd",
            XsdDocument::Index => "datasetIndiceAppaltiL190.xsd",
        }
    }

    fn text(self) -> &'static str {
        match self {
            XsdDocument::Dataset => DATASET_XSD,
            XsdDocument::Index => INDEX_XSD,
        }
    }

    fn schema(self) -> &'static xmlschema::Schema {
        static DATASET: OnceLock<xmlschema::Schema> = OnceLock::new();
        static INDEX: OnceLock<xmlschema::Schema> = OnceLock::new();
        let cell = match self {
            XsdDocument::Dataset => &DATASET,
            XsdDocument::Index => &INDEX,
        };
        cell.get_or_init(|| {
            xmlschema::parse_schema_with(self.text(), &PARTS)
                .unwrap_or_else(|e| panic!("the compiled-in {} parses: {e}", self.file_name()))
        })
    }
}

/// One reason a file does not validate: where (an element path such as
/// `/pubblicazione/data/lotto[3]/cig`, empty when the file is not XML at all) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XsdViolation {
    pub path: String,
    pub message: String,
}

impl fmt::Display for XsdViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A file that does not validate: every violation found, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct XsdError {
    pub schema: XsdDocument,
    pub violations: Vec<XsdViolation>,
}

impl fmt::Display for XsdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "does not validate against {} ({} problem{})",
            self.schema.file_name(),
            self.violations.len(),
            if self.violations.len() == 1 { "" } else { "s" }
        )?;
        for v in &self.violations {
            write!(f, "\n  {v}")?;
        }
        Ok(())
    }
}

/// Validates a dataset file against `datasetAppaltiL190.xsd`.
pub fn validate_dataset(xml: &[u8]) -> Result<(), XsdError> {
    validate(XsdDocument::Dataset, xml)
}

/// Validates an index file against `datasetIndiceAppaltiL190.xsd`.
pub fn validate_index(xml: &[u8]) -> Result<(), XsdError> {
    validate(XsdDocument::Index, xml)
}

/// Validates `xml` (UTF-8 bytes) against one of the schemas.
pub fn validate(schema: XsdDocument, xml: &[u8]) -> Result<(), XsdError> {
    let fail = |message: String| XsdError {
        schema,
        violations: vec![XsdViolation {
            path: String::new(),
            message,
        }],
    };
    let text = std::str::from_utf8(xml).map_err(|e| fail(format!("not UTF-8: {e}")))?;
    let doc = oxml::parse(text).map_err(|e| fail(format!("not well-formed XML: {e}")))?;
    let mut violations = Vec::new();
    if let Some(root) = doc.root_element() {
        let target = match schema {
            XsdDocument::Dataset => Some(super::NAMESPACE),
            XsdDocument::Index => None,
        };
        let path = format!(
            "/{}",
            doc.element_name(root).map_or("", |n| n.local.as_str())
        );
        let mut ids = std::collections::HashMap::new();
        check_names(
            &doc,
            schema,
            root,
            "",
            &path,
            target,
            &mut ids,
            &mut violations,
        );
    }
    let report = xmlschema::validate(&doc, schema.schema());
    violations.extend(report.violations.into_iter().map(|v| XsdViolation {
        path: v.path,
        message: v.message,
    }));
    if violations.is_empty() {
        Ok(())
    } else {
        Err(XsdError { schema, violations })
    }
}

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XMLNS: &str = "http://www.w3.org/2000/xmlns/";

/// The attributes ANAC's schemas declare, as (schema, parent element, element, attribute): only the
/// index's `<dataset id="…">`, of type `xs:ID` (a test checks the schemas declare no other).
pub(crate) const DECLARED_ATTRIBUTES: &[(XsdDocument, &str, &str, &str)] =
    &[(XsdDocument::Index, "indice", "dataset", "id")];

fn in_namespace(ns: Option<&str>) -> String {
    match ns {
        Some(ns) => format!("in namespace `{ns}`"),
        None => "in no namespace".to_owned(),
    }
}

/// What `xmlschema` 0.0.14 leaves out, for the element at `node` (whose path is `path`) and below: it must
/// be in namespace `want` (its descendants in none), and carry no attribute but those the schema declares,
/// unqualified (`xsi:` attributes and namespace declarations aside).
#[allow(clippy::too_many_arguments)]
fn check_names<'d>(
    doc: &'d oxml::Document,
    schema: XsdDocument,
    node: oxml::NodeId,
    parent: &str,
    path: &str,
    want: Option<&str>,
    ids: &mut std::collections::HashMap<&'d str, String>,
    out: &mut Vec<XsdViolation>,
) {
    let Some(name) = doc.element_name(node) else {
        return;
    };
    let violation = |path: String, message: String| XsdViolation { path, message };
    if name.namespace.as_deref() != want {
        out.push(violation(
            path.to_owned(),
            format!(
                "element `{}` must be {}, not {}",
                name.local,
                in_namespace(want),
                in_namespace(name.namespace.as_deref())
            ),
        ));
    }
    for a in doc.attributes(node) {
        let Some(n) = doc.name(a.name) else { continue };
        let ns = n.namespace.as_deref();
        if ns == Some(XSI) || ns == Some(XMLNS) || n.local == "xmlns" {
            continue;
        }
        let declared = DECLARED_ATTRIBUTES
            .iter()
            .any(|&(s, p, e, at)| s == schema && p == parent && e == name.local && at == n.local);
        if !declared {
            out.push(violation(
                format!("{path}/@{}", n.local),
                format!("attribute `{}` is not allowed on `{}`", n.local, name.local),
            ));
        } else if let Some(ns) = ns {
            out.push(violation(
                format!("{path}/@{}", n.local),
                format!(
                    "attribute `{}` must be in no namespace, not `{ns}`",
                    n.local
                ),
            ));
        } else if let Some(first) = ids.get(a.value.trim()) {
            // every declared attribute is an xs:ID: unique in the document
            out.push(violation(
                format!("{path}/@{}", n.local),
                format!("xs:ID `{}` is not unique (also at {first})", a.value.trim()),
            ));
        } else {
            ids.insert(a.value.trim(), format!("{path}/@{}", n.local));
        }
    }
    let kids: Vec<oxml::NodeId> = doc
        .children(node)
        .iter()
        .copied()
        .filter(|&c| doc.is_element(c))
        .collect();
    let local = |c: oxml::NodeId| doc.element_name(c).map_or("", |n| n.local.as_str());
    for (i, &c) in kids.iter().enumerate() {
        let same = kids.iter().filter(|&&k| local(k) == local(c)).count();
        let at = if same > 1 {
            let nth = kids[..=i].iter().filter(|&&k| local(k) == local(c)).count();
            format!("{path}/{}[{nth}]", local(c))
        } else {
            format!("{path}/{}", local(c))
        };
        check_names(doc, schema, c, &name.local, &at, None, ids, out);
    }
}

/// The constructs of a schema that the validator does not enforce (`xmlschema::support::unsupported`),
/// as `construct: effect` lines; empty for ANAC's schemas (a test keeps it so).
///
/// The audit reads one document, so it is given the schema with its `xs:include` of `TypesL190.xsd`
/// replaced by that file's declarations (what a chameleon include means: they take the including
/// schema's target namespace); otherwise every `legge190:` type would look unresolved to it.
pub fn unenforced(schema: XsdDocument) -> Vec<String> {
    let include = "<xsd:include schemaLocation=\"TypesL190.xsd\"/>";
    let open = TYPES_XSD
        .find("<xsd:schema")
        .and_then(|i| TYPES_XSD[i..].find('>').map(|j| i + j + 1))
        .expect("TypesL190.xsd has a schema element");
    let close = TYPES_XSD
        .rfind("</xsd:schema>")
        .expect("TypesL190.xsd closes its schema element");
    assert!(
        schema.text().contains(include),
        "{} includes TypesL190.xsd",
        schema.file_name()
    );
    let merged = schema.text().replacen(include, &TYPES_XSD[open..close], 1);
    let doc = oxml::parse(&merged).expect("the compiled-in schemas are well-formed");
    xmlschema::support::unsupported(&doc)
        .into_iter()
        .map(|u| format!("{}: {}", u.construct, u.effect))
        .collect()
}
