//! ANAC's data model, vendored in `crates/pcp/spec/` (see its `SOURCES.md`), compiled in, and turned into
//! self-contained JSON Schemas (draft 2020-12) that a validator can use offline.
//!
//! ANAC publishes each scheda as an OpenAPI 3.0 document whose types reference the common types
//! (`modello-dati-schede-dati-comuni`) and the code-list types (`modello-dati-tipologiche`) by their
//! `raw.githubusercontent.com` URL. [`scheda_body_schema`] gathers the scheda's types and those two documents
//! into one schema with local `$defs` and local `$ref`s.
//!
//! **`allOf` is inheritance in ANAC's model.** A derived type says `allOf: [$ref: Base]` and adds its own
//! `properties` and `additionalProperties: false`; the base also says `additionalProperties: false`. Read as
//! JSON Schema, each `allOf` branch is checked on its own, so the base would refuse the derived type's
//! properties and the derived type would refuse the base's: no document could be valid. ANAC means "the
//! derived type has the base's properties plus its own". So every `allOf` whose branches are all `$ref`s is
//! *flattened* here: the bases' (themselves flattened) `properties` and `required` are merged into the derived
//! type, the derived type's own keywords win, and `additionalProperties` is the derived type's if it states
//! one, else the base's. The result keeps `additionalProperties: false` meaningful: a property that neither
//! the derived type nor any base declares is refused.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

use crate::codes::SchedaCode;

const COMUNI: &str = include_str!("../spec/schede/modello-dati-schede-dati-comuni.json");
const TIPOLOGICHE: &str = include_str!("../spec/schede/modello-dati-tipologiche.json");
const NPA: &str = include_str!("../spec/schede/modello-dati-npa.json");
/// The OpenAPI of the PCP e-services (`specifiche-servizi-appalto.yaml`, converted to JSON once, see
/// `spec/SOURCES.md`).
pub const OPENAPI_APPALTO: &str = include_str!("../spec/openapi/specifiche-servizi-appalto.json");

/// The vendored JSON of one scheda's OpenAPI document.
pub fn scheda_document(code: SchedaCode) -> &'static str {
    match code {
        SchedaCode::P1_16 => include_str!("../spec/schede/modello-dati-schede-P1.16.json"),
        SchedaCode::P2_16 => include_str!("../spec/schede/modello-dati-schede-P2.16.json"),
        SchedaCode::P7_2 => include_str!("../spec/schede/modello-dati-schede-P7.2.json"),
        SchedaCode::AD3 => include_str!("../spec/schede/modello-dati-schede-AD3.json"),
        SchedaCode::A1_29 => include_str!("../spec/schede/modello-dati-schede-A1.29.json"),
        SchedaCode::A2_29 => include_str!("../spec/schede/modello-dati-schede-A2.29.json"),
        SchedaCode::S1_2 => include_str!("../spec/schede/modello-dati-schede-S1_2.json"),
        SchedaCode::S2 => include_str!("../spec/schede/modello-dati-schede-S2.json"),
        SchedaCode::SC1 => include_str!("../spec/schede/modello-dati-schede-SC1.json"),
        SchedaCode::NAG => include_str!("../spec/schede/modello-dati-schede-NAG.json"),
    }
}

/// The vendored DMN rule table of one scheda (`modello-dati/regole/<code>.dmn`).
pub fn scheda_rules_dmn(code: SchedaCode) -> &'static str {
    match code {
        SchedaCode::P1_16 => include_str!("../spec/regole/P1_16.dmn"),
        SchedaCode::P2_16 => include_str!("../spec/regole/P2_16.dmn"),
        SchedaCode::P7_2 => include_str!("../spec/regole/P7_2.dmn"),
        SchedaCode::AD3 => include_str!("../spec/regole/AD3.dmn"),
        SchedaCode::A1_29 => include_str!("../spec/regole/A1_29.dmn"),
        SchedaCode::A2_29 => include_str!("../spec/regole/A2_29.dmn"),
        SchedaCode::S1_2 => include_str!("../spec/regole/S1_2.dmn"),
        SchedaCode::S2 => include_str!("../spec/regole/S2.dmn"),
        SchedaCode::SC1 => include_str!("../spec/regole/SC1.dmn"),
        SchedaCode::NAG => include_str!("../spec/regole/NAG.dmn"),
    }
}

const COMUNI_URL: &str = "modello-dati-schede-dati-comuni.yaml#/components/schemas/";
const TIPOLOGICHE_URL: &str = "modello-dati-tipologiche.yaml#/components/schemas/";
const NPA_URL: &str = "modello-dati-npa.yaml#/components/schemas/";
const LOCAL: &str = "#/components/schemas/";

/// Where a type comes from: its `$defs` name is `<origin>__<Type>`.
#[derive(Clone, Copy)]
enum Origin {
    Comuni,
    Tipologiche,
    Npa,
    Scheda,
}

impl Origin {
    fn prefix(self) -> &'static str {
        match self {
            Origin::Comuni => "comuni",
            Origin::Tipologiche => "tipologiche",
            Origin::Npa => "npa",
            Origin::Scheda => "scheda",
        }
    }
}

fn schemas_of(doc: &str) -> Map<String, Value> {
    let v: Value = serde_json::from_str(doc).expect("vendored ANAC JSON parses (checked by tests)");
    match v.pointer("/components/schemas") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    }
}

/// OpenAPI 3.0 writes `exclusiveMaximum: true` next to `maximum: n`; JSON Schema 2020-12 writes
/// `exclusiveMaximum: n` (same for the minimum). ANAC's response types use the 3.0 form.
fn openapi30_bounds(m: &mut Map<String, Value>) {
    for (excl, bound) in [
        ("exclusiveMaximum", "maximum"),
        ("exclusiveMinimum", "minimum"),
    ] {
        match m.get(excl) {
            Some(Value::Bool(true)) => {
                if let Some(b) = m.remove(bound) {
                    m.insert(excl.into(), b);
                } else {
                    m.remove(excl);
                }
            }
            Some(Value::Bool(false)) => {
                m.remove(excl);
            }
            _ => {}
        }
    }
}

/// Rewrites every `$ref` of `v` (written in a document of origin `own`) to a local `#/$defs/...` name.
fn rewrite_refs(v: &mut Value, own: Origin) {
    match v {
        Value::Object(m) => {
            openapi30_bounds(m);
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                let target = if let Some(name) = r.strip_prefix(LOCAL) {
                    format!("{}__{name}", own.prefix())
                } else if let Some((_, name)) = r.split_once(COMUNI_URL) {
                    format!("comuni__{name}")
                } else if let Some((_, name)) = r.split_once(TIPOLOGICHE_URL) {
                    format!("tipologiche__{name}")
                } else if let Some((_, name)) = r.split_once(NPA_URL) {
                    format!("npa__{name}")
                } else if let Some((_, name)) = r.split_once(".yaml#/components/schemas/") {
                    // another scheda's document: only the one being built is gathered
                    format!("scheda__{name}")
                } else {
                    r.clone()
                };
                *r = format!("#/$defs/{target}");
            }
            for (_, x) in m.iter_mut() {
                rewrite_refs(x, own);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_refs(x, own)),
        _ => {}
    }
}

/// Flattens `allOf`-as-inheritance everywhere in `v` (see the module documentation).
fn flatten(v: &Value, defs: &BTreeMap<String, Value>, depth: usize) -> Value {
    assert!(
        depth < 64,
        "allOf inheritance deeper than 64 levels: a cycle in ANAC's model"
    );
    match v {
        Value::Object(m) => {
            let mut own = Map::new();
            for (k, x) in m {
                if k != "allOf" {
                    own.insert(k.clone(), flatten(x, defs, depth + 1));
                }
            }
            let Some(Value::Array(branches)) = m.get("allOf") else {
                return Value::Object(own);
            };
            let all_refs = branches.iter().all(|b| {
                b.as_object()
                    .is_some_and(|o| o.len() == 1 && o.contains_key("$ref"))
            });
            if !all_refs {
                let flat: Vec<Value> = branches
                    .iter()
                    .map(|b| flatten(b, defs, depth + 1))
                    .collect();
                own.insert("allOf".into(), Value::Array(flat));
                return Value::Object(own);
            }
            let mut merged = Map::new();
            for b in branches {
                let mut r = b["$ref"].as_str().unwrap_or_default();
                // A base may itself be only a `$ref` (the OpenAPI's `PaginazioneType` points into
                // `modello-dati-npa`): follow the chain to the type that has the properties.
                let base = loop {
                    let name = r.trim_start_matches("#/$defs/");
                    let found = defs.get(name).unwrap_or_else(|| {
                        panic!("allOf base {r} is not in the gathered documents")
                    });
                    match found.as_object() {
                        Some(o) if o.len() == 1 && o.contains_key("$ref") => {
                            r = o["$ref"].as_str().unwrap_or_default();
                        }
                        _ => break found,
                    }
                };
                let Value::Object(base) = flatten(base, defs, depth + 1) else {
                    continue;
                };
                merge_into(&mut merged, base);
            }
            merge_into(&mut merged, own);
            Value::Object(merged)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| flatten(x, defs, depth + 1)).collect()),
        other => other.clone(),
    }
}

/// `over`'s keywords win over `into`'s, except `properties` (merged, `over` wins per property) and
/// `required` (union, in order).
fn merge_into(into: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (k.as_str(), into.get_mut(&k), v) {
            ("properties", Some(Value::Object(base)), Value::Object(props)) => {
                for (p, s) in props {
                    base.insert(p, s);
                }
            }
            ("required", Some(Value::Array(base)), Value::Array(req)) => {
                for r in req {
                    if !base.contains(&r) {
                        base.push(r);
                    }
                }
            }
            (_, _, v) => {
                into.insert(k, v);
            }
        }
    }
}

fn gather(scheda: Option<SchedaCode>) -> BTreeMap<String, Value> {
    let mut docs = vec![
        (Origin::Comuni, COMUNI),
        (Origin::Tipologiche, TIPOLOGICHE),
        (Origin::Npa, NPA),
    ];
    if let Some(code) = scheda {
        docs.push((Origin::Scheda, scheda_document(code)));
    }
    let mut defs = BTreeMap::new();
    for (origin, doc) in docs {
        for (name, mut schema) in schemas_of(doc) {
            // modello-dati-npa.yaml has a stray `type: object` among its schemas (an indentation slip):
            // only objects are types.
            if !schema.is_object() {
                continue;
            }
            rewrite_refs(&mut schema, origin);
            defs.insert(format!("{}__{name}", origin.prefix()), schema);
        }
    }
    defs
}

/// A `$ref` to a type not gathered (another scheda's, in the generic envelope types of
/// `modello-dati-npa`) becomes a schema nothing satisfies, so using it fails loudly rather than passing.
fn close_dangling(v: &mut Value, defs: &BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && let Some(name) = r.strip_prefix("#/$defs/")
                && !defs.contains_key(name)
            {
                *v = json!({"not": {}, "description": format!("{name} is not vendored")});
                return;
            }
            m.values_mut().for_each(|x| close_dangling(x, defs));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| close_dangling(x, defs)),
        _ => {}
    }
}

fn schema_with_root(defs: BTreeMap<String, Value>, root: &str) -> Value {
    let mut flat: Map<String, Value> = defs
        .iter()
        .map(|(k, v)| (k.clone(), flatten(v, &defs, 0)))
        .collect();
    for v in flat.values_mut() {
        close_dangling(v, &defs);
    }
    assert!(
        flat.contains_key(root),
        "root type {root} is not in ANAC's documents"
    );
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/$defs/{root}"),
        "$defs": flat,
    })
}

/// The JSON Schema of a scheda's `body` (`{"anacForm": …, "eform": …}`), self-contained, with `allOf`
/// inheritance flattened.
pub fn scheda_body_schema(code: SchedaCode) -> Value {
    schema_with_root(
        gather(Some(code)),
        &format!("scheda__Scheda{}Type", code.as_str()),
    )
}

/// The JSON Schema of the envelope `{"codice": …, "versione": …}` every scheda has (ANAC's `SchedaType`),
/// accepting any `body`: the body is checked against [`scheda_body_schema`] of its code.
pub fn scheda_envelope_schema() -> Value {
    let mut defs = gather(None);
    if let Some(Value::Object(t)) = defs.get_mut("npa__SchedaType")
        && let Some(Value::Object(props)) = t.get_mut("properties")
    {
        props.insert("body".into(), json!({"type": "object"}));
    }
    schema_with_root(defs, "npa__SchedaType")
}

/// The JSON Schema of a request body of the e-services, by ANAC's OpenAPI component name
/// (`CreaAppaltoRequest`, `ConfermaAppaltoRequest`, `CreaSchedaRequest`, `ConfermaSchedaRequest`,
/// `PubblicaAvvisoRequest`), with its `scheda` checked only as an envelope (see [`scheda_envelope_schema`]).
pub fn request_schema(component: &str) -> Value {
    openapi_schema(component)
}

/// The JSON Schema of any component of ANAC's e-services OpenAPI (requests, and responses such as
/// `CreaAppaltoResponse`, `AckResponse`, `EsitoOperazioneListaResponse`, `CigListaResponse`,
/// `ErrorResponse`), self-contained, `allOf` flattened; a `scheda` in it is checked only as an envelope.
pub fn openapi_schema(component: &str) -> Value {
    let mut defs = gather(None);
    for (name, mut schema) in schemas_of(OPENAPI_APPALTO) {
        if !schema.is_object() {
            continue;
        }
        rewrite_refs(&mut schema, Origin::Scheda);
        defs.insert(format!("scheda__{name}"), schema);
    }
    // The `scheda` of a request is a SchedaType whose `body` is one of many schede: the mock checks the body
    // against the scheda named by `codice`, so here the envelope accepts any object as body.
    for t in [
        "npa__SchedaComunicaAppaltoType",
        "npa__SchedaPostPubblicazioneType",
    ] {
        if let Some(Value::Object(m)) = defs.get_mut(t)
            && let Some(Value::Object(props)) = m.get_mut("properties")
        {
            props.insert("body".into(), json!({"type": "object"}));
        }
    }
    schema_with_root(defs, &format!("scheda__{component}"))
}
