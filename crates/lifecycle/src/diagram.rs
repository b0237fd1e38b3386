//! Mermaid state diagrams generated from the `rust-fsm` tables, and the generated part of `docs/lifecycle.md`.

use std::fmt::Write;

use crate::{lot, participation, request, tender};

/// A Mermaid `stateDiagram-v2` for a machine given its transitions, initial state and final-state test.
pub fn mermaid<S: Copy + PartialEq, E: Copy>(
    states: &[S],
    transitions: &[(S, E, S)],
    initial: S,
    is_final: impl Fn(S) -> bool,
    state_name: impl Fn(S) -> &'static str,
    event_name: impl Fn(E) -> &'static str,
) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let _ = writeln!(out, "    [*] --> {}", state_name(initial));
    for (from, event, to) in transitions {
        let _ = writeln!(
            out,
            "    {} --> {} : {}",
            state_name(*from),
            state_name(*to),
            event_name(*event)
        );
    }
    for s in states.iter().copied().filter(|s| is_final(*s)) {
        let _ = writeln!(out, "    {} --> [*]", state_name(s));
    }
    out
}

/// The tender machine as Mermaid.
pub fn tender_mermaid() -> String {
    mermaid(
        tender::TenderState::ALL,
        &tender::transitions(),
        tender::TenderState::INITIAL,
        tender::TenderState::is_final,
        tender::TenderState::as_str,
        tender::TenderEvent::as_str,
    )
}

/// The lot machine as Mermaid.
pub fn lot_mermaid() -> String {
    mermaid(
        lot::LotState::ALL,
        &lot::transitions(),
        lot::LotState::INITIAL,
        lot::LotState::is_final,
        lot::LotState::as_str,
        lot::LotEvent::as_str,
    )
}

/// The participation machine as Mermaid.
pub fn participation_mermaid() -> String {
    mermaid(
        participation::ParticipationState::ALL,
        &participation::transitions(),
        participation::ParticipationState::INITIAL,
        participation::ParticipationState::is_final,
        participation::ParticipationState::as_str,
        participation::ParticipationEvent::as_str,
    )
}

/// The procurement request machine as Mermaid.
pub fn request_mermaid() -> String {
    mermaid(
        request::RequestState::ALL,
        &request::transitions(),
        request::RequestState::INITIAL,
        request::RequestState::is_final,
        request::RequestState::as_str,
        request::RequestEvent::as_str,
    )
}

/// Markers delimiting the generated section of `docs/lifecycle.md`.
pub const BEGIN_MARKER: &str =
    "<!-- BEGIN GENERATED: lifecycle diagrams (UPDATE_DOCS=1 cargo test -p lifecycle) -->";
pub const END_MARKER: &str = "<!-- END GENERATED: lifecycle diagrams -->";

/// The generated section of `docs/lifecycle.md`: the four diagrams.
pub fn generated_docs() -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN_MARKER}");
    for (title, diagram) in [
        ("Tender", tender_mermaid()),
        ("Lot", lot_mermaid()),
        ("Participation", participation_mermaid()),
        ("Procurement request", request_mermaid()),
    ] {
        let _ = writeln!(
            out,
            "\n### {title} machine (generated)\n\n```mermaid\n{diagram}```"
        );
    }
    let _ = writeln!(out, "\n{END_MARKER}");
    out
}

/// Replaces the generated section of `doc` (between the markers) with the current one; appends it if absent.
pub fn splice_generated(doc: &str) -> String {
    let generated = generated_docs();
    match (doc.find(BEGIN_MARKER), doc.find(END_MARKER)) {
        (Some(b), Some(e)) if e > b => {
            let end = e + END_MARKER.len();
            // Keep what follows the end marker's line.
            let rest = doc[end..].strip_prefix('\n').unwrap_or(&doc[end..]);
            format!("{}{}{}", &doc[..b], generated, rest)
        }
        _ => format!("{doc}\n{generated}"),
    }
}
