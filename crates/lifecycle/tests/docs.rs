//! `docs/lifecycle.md` embeds the Mermaid diagrams generated from the transition tables. This test fails when
//! the document is stale; `UPDATE_DOCS=1 cargo test -p lifecycle --test docs` rewrites the generated section.

use std::path::PathBuf;

use lifecycle::diagram::{self, BEGIN_MARKER, END_MARKER};
use lifecycle::lot;
use lifecycle::tender::{self, TenderState};

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/lifecycle.md")
}

#[test]
fn docs_lifecycle_md_shows_the_current_machines() {
    let path = doc_path();
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let expected = diagram::splice_generated(&current);
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &expected).expect("write docs/lifecycle.md");
        return;
    }
    assert!(
        current == expected,
        "docs/lifecycle.md is stale (the state machines changed). Regenerate it with:\n\n    \
         UPDATE_DOCS=1 cargo test -p lifecycle --test docs\n"
    );
}

#[test]
fn the_tender_diagram_has_every_transition_and_final_state() {
    let m = diagram::tender_mermaid();
    assert!(m.starts_with("stateDiagram-v2\n    [*] --> draft\n"));
    assert!(m.contains("    draft --> approved : adopt_decision_to_contract\n"));
    assert!(m.contains("    open --> open : extend_deadline\n"));
    for s in TenderState::ALL.iter().filter(|s| s.is_final()) {
        assert!(m.contains(&format!("    {} --> [*]\n", s.as_str())));
    }
    let finals = TenderState::ALL.iter().filter(|s| s.is_final()).count();
    assert_eq!(m.lines().count(), 2 + tender::transitions().len() + finals);
    assert_eq!(
        diagram::lot_mermaid().matches(" : ").count(),
        lot::transitions().len()
    );
}

#[test]
fn splicing_replaces_only_the_generated_section() {
    let doc = format!(
        "# Title\n\nintro\n\n{BEGIN_MARKER}\nold diagrams\n{END_MARKER}\n\n## After\ntext\n"
    );
    let spliced = diagram::splice_generated(&doc);
    assert!(spliced.starts_with("# Title\n\nintro\n\n"));
    assert!(spliced.ends_with("\n## After\ntext\n"));
    assert!(!spliced.contains("old diagrams"));
    assert!(spliced.contains("[*] --> pending"));
    // Idempotent.
    assert_eq!(diagram::splice_generated(&spliced), spliced);
    // A document without markers gets the section appended.
    assert!(diagram::splice_generated("# Only\n").contains(BEGIN_MARKER));
}

/// The legal sources named by the guards (string literals in the crate's source), reduced to their article or
/// act, e.g. "art. 71 c.2" -> "art. 71", "L. 241/1990 art. 21-nonies" -> "L. 241/1990".
fn sources_named_in_code() -> std::collections::BTreeSet<String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for literal in text.split('"').skip(1).step_by(2) {
            for part in literal.split(", ") {
                let mut words = part.split_whitespace();
                let (Some(first), Some(second)) = (words.next(), words.next()) else {
                    continue;
                };
                let key = match first {
                    "art." => {
                        let n: String = second.chars().take_while(|c| c.is_ascii_digit()).collect();
                        if n.is_empty() {
                            continue;
                        }
                        format!("art. {n}")
                    }
                    "L." | "R.D." | "dir." => format!("{first} {second}"),
                    _ => continue,
                };
                found.insert(key);
            }
        }
    }
    found
}

#[test]
fn every_article_a_guard_names_is_documented() {
    let doc = std::fs::read_to_string(doc_path()).unwrap();
    let named = sources_named_in_code();
    assert!(named.contains("art. 71") && named.contains("L. 241/1990"));
    let missing: Vec<&String> = named.iter().filter(|k| !doc.contains(k.as_str())).collect();
    assert!(
        missing.is_empty(),
        "docs/lifecycle.md does not mention {missing:?}, which the code names in guards or effects"
    );
}
