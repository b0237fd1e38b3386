//! The verbale of a lot's evaluation, in Markdown, from the stored evaluation JSON (`input` + `result`):
//! every intermediate value the evaluation crate explained, with bid ids shown with their operators.

use super::fixture::Tender;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// `names`: bid id -> "Operator name (key)".
pub fn render(t: &Tender, lot: u32, stored: &Value, names: &BTreeMap<String, String>) -> String {
    let mut md = String::new();
    let l = t.lots.iter().find(|l| l.number == lot);
    let _ = writeln!(md, "# Verbale di valutazione — {} — lotto {lot}\n", t.title);
    if let Some(l) = l {
        let _ = writeln!(
            md,
            "- Lotto: {} (CIG {})\n- Importo a base di gara: {} euro",
            l.title, l.cig, l.base_amount
        );
    }
    let _ = writeln!(
        md,
        "- Procedura: {}; criterio: {}\n- Valutazione eseguita il: {}\n",
        t.procedure,
        t.criterion,
        stored["evaluated_at"].as_str().unwrap_or("?")
    );
    let input = &stored["input"];
    let _ = writeln!(
        md,
        "## Offerte ammesse\n\n| Operatore | Offerta (id) | Ribasso % |\n|---|---|---|"
    );
    for b in input["bids"].as_array().cloned().unwrap_or_default() {
        let id = b["id"].as_str().unwrap_or("");
        let _ = writeln!(
            md,
            "| {} | `{id}` | {} |",
            names.get(id).map_or("?", String::as_str),
            b["discount"].as_str().unwrap_or("")
        );
    }
    let mut params = input.clone();
    if let Some(o) = params.as_object_mut() {
        o.remove("bids");
    }
    let _ = writeln!(md, "\n## Parametri\n");
    tree(&mut md, &params, 0, names);
    let _ = writeln!(md, "\n## Risultato (ogni valore intermedio)\n");
    tree(&mut md, &stored["result"], 0, names);
    md
}

fn label(v: &str, names: &BTreeMap<String, String>) -> String {
    match names.get(v) {
        Some(n) => format!("{n} `{v}`"),
        None => v.to_owned(),
    }
}

/// Nested bullet list of a JSON value; bid ids are named.
fn tree(md: &mut String, v: &Value, depth: usize, names: &BTreeMap<String, String>) {
    let pad = "  ".repeat(depth);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match x {
                    Value::Object(_) | Value::Array(_) if !is_flat(x) => {
                        let _ = writeln!(md, "{pad}- **{k}**:");
                        tree(md, x, depth + 1, names);
                    }
                    _ => {
                        let _ = writeln!(md, "{pad}- **{k}**: {}", scalar(x, names));
                    }
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if is_flat(x) {
                    let _ = writeln!(md, "{pad}- {}", scalar(x, names));
                } else {
                    let _ = writeln!(md, "{pad}- [{}]", i + 1);
                    tree(md, x, depth + 1, names);
                }
            }
        }
        x => {
            let _ = writeln!(md, "{pad}- {}", scalar(x, names));
        }
    }
}

fn is_flat(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.iter().all(|x| !x.is_object() && !x.is_array()),
        _ => true,
    }
}

fn scalar(v: &Value, names: &BTreeMap<String, String>) -> String {
    match v {
        Value::String(s) => label(s, names),
        Value::Null => "—".into(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(|x| scalar(x, names)).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(_) => "{}".into(),
        x => x.to_string(),
    }
}
