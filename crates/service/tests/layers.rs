//! The service's import graph, read from its own `use` lines: the HTTP layer sits on top, nothing below
//! reaches back up into it, and the workflow crate knows nothing of HTTP (docs/ARCHITECTURE.md, "Layers").
//!
//! The graph's nodes are the service's top-level modules (`api`, `scheduler`, `sealed`, …): a file under
//! `src/api/` belongs to `api`. An edge `a → b` is any `crate::b` path (in a `use` line or inline) or a
//! `b` item inside `use crate::{…}` written in a file of `a`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The HTTP layer: routes and handlers (`api`), the web console (`console`, pages over the same
/// handlers), the state they share (`state`), the bearer-token extractors (`auth`). They may import each
/// other; nothing else may import them, except the binary's entry points that serve or drive the router.
const HTTP_LAYER: [&str; 4] = ["api", "console", "state", "auth"];
/// Entry points that build or drive the router: the server, the demo (it drives the HTTP API in process).
const ROUTER_HOSTS: [&str; 4] = ["server", "demo", "main", "lib"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules a file names through `crate::`.
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // `use crate::{a::x, b, c::{y, z}}`: the first identifier of each top-level item
            let mut depth = 0;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_alphanumeric() || c == '_') => {
                        out.insert(ident_at(&group[k..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident_at(after);
            if !id.is_empty() {
                out.insert(id);
            }
        }
        rest = after;
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // comments are not imports
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let m = module_of(&src, &f);
        let refs = references(&code);
        let entry = g.entry(m.clone()).or_default();
        entry.extend(refs.into_iter().filter(|r| *r != m));
    }
    g
}

fn reachable(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(n) = todo.pop() {
        for m in g.get(&n).into_iter().flatten() {
            if seen.insert(m.clone()) {
                todo.push(m.clone());
            }
        }
    }
    seen
}

#[test]
fn the_reference_reader_sees_grouped_and_inline_paths() {
    let r = references("use crate::{a::x, b, c::{y, z}};\nfn f() { crate::d::g(); }");
    assert_eq!(
        r.into_iter().collect::<Vec<_>>(),
        ["a", "b", "c", "d"].map(String::from)
    );
}

#[test]
fn nothing_below_the_http_layer_imports_it() {
    let g = graph();
    assert!(
        g.contains_key("api"),
        "the reader found no api module: {g:?}"
    );
    let mut offenders = Vec::new();
    for (m, refs) in &g {
        if HTTP_LAYER.contains(&m.as_str()) || ROUTER_HOSTS.contains(&m.as_str()) {
            continue;
        }
        for r in refs {
            if HTTP_LAYER.contains(&r.as_str()) {
                offenders.push(format!("{m} → {r}"));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "modules below the HTTP layer import it: {offenders:?}"
    );
}

#[test]
fn no_import_loop_runs_through_the_http_layer() {
    let g = graph();
    for top in HTTP_LAYER {
        for m in reachable(&g, top) {
            if HTTP_LAYER.contains(&m.as_str()) {
                continue;
            }
            assert!(
                !reachable(&g, &m).contains(top),
                "import loop: {top} → … → {m} → … → {top}"
            );
        }
    }
}

#[test]
fn the_workflow_crate_has_no_http_dependency() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflow");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for http in ["axum", "tower", "hyper", "utoipa-axum", "reqwest"] {
        assert!(
            !manifest
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{http} "))
                    || l.trim_start().starts_with(&format!("{http}."))),
            "crates/workflow/Cargo.toml depends on {http}"
        );
    }
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for http in ["axum::", "AppError", "StatusCode"] {
            assert!(
                !text.contains(http),
                "{} names {http}: the workflow knows nothing of HTTP",
                f.display()
            );
        }
    }
}
