//! OCDS validation for tests, in Rust and offline: a release package is checked with the `jsonschema` crate
//! against the OCDS 1.1.5 release package schema compiled into `anac` (`anac::ocds::schema`), whose
//! `$ref` to the release schema is answered from the compiled-in copy (no network: any other reference
//! fails). Shared by the anac and service tests (`#[path]`).
//!
//! What it checks, compared with libcoveocds (the official validator the tests used before):
//! - the JSON Schema (draft 4) of the package and of every release, including `required`, types,
//!   patterns and the `date-time`/`uri` formats: libcoveocds' `validation_errors`;
//! - the closed codelists (release tag, initiation type, tender/award/contract/milestone status,
//!   procurement method and category, currency): every one is an `enum` in the 1.1.5 schema, so a value
//!   outside them is a schema error here (libcoveocds lists them apart, as
//!   `additional_closed_codelist_values`);
//! - ids unique within each array of objects: libcoveocds' "Non-unique id values" validation error
//!   (its replacement for the schema's `uniqueItems`).
//!
//! Not replicated: the extensions the package declares (lots, bids) are not fetched, so their fields are
//! checked only as the core schema sees them (it allows additional fields); libcoveocds' informative
//! reports (additional fields, open codelist values, deprecated fields, the ocid prefix conformance
//! check and the release aggregates) have no schema equivalent and none was asserted by the tests.
#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::Value;

/// Answers the release schema's URI with the compiled-in copy; refuses everything else.
struct Offline;

impl jsonschema::Retrieve for Offline {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        if uri.as_str() == anac::ocds::schema::RELEASE_URI {
            Ok(serde_json::from_str(anac::ocds::schema::RELEASE)?)
        } else {
            Err(format!("no network: {uri} is not a vendored schema").into())
        }
    }
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: Value = serde_json::from_str(anac::ocds::schema::RELEASE_PACKAGE).unwrap();
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .with_retriever(Offline)
            .build(&schema)
            .expect("the vendored OCDS schema compiles")
    })
}

/// Every problem found in a release package, as `JSON pointer: message` lines; empty when valid.
pub fn ocds_problems(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = validator()
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    unique_ids(doc, String::new(), &mut out);
    out
}

/// Panics with the problems unless `doc` is a valid OCDS 1.1.5 release package.
pub fn assert_valid_ocds(doc: &Value) {
    let p = ocds_problems(doc);
    assert!(p.is_empty(), "invalid OCDS package:\n{}", p.join("\n"));
}

/// Reads and validates a release package file.
pub fn assert_valid_ocds_file(file: &std::path::Path) {
    let doc: Value = serde_json::from_slice(&std::fs::read(file).unwrap())
        .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
    let p = ocds_problems(&doc);
    assert!(
        p.is_empty(),
        "{}: invalid OCDS package:\n{}",
        file.display(),
        p.join("\n")
    );
}

fn unique_ids(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            let mut seen = std::collections::HashSet::new();
            for (i, item) in items.iter().enumerate() {
                // releases in a package are told apart by ocid and id together
                let key = item
                    .get("id")
                    .map(|id| format!("{} {id}", item.get("ocid").unwrap_or(&Value::Null)));
                if let Some(key) = key
                    && !seen.insert(key)
                {
                    let id = &item["id"];
                    out.push(format!("{at}/{i}: non-unique id value {id}"));
                }
                unique_ids(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, item) in m {
                unique_ids(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}
