//! Business rules that `datasetAppaltiL190.xsd` does not enforce, checked before writing.
//!
//! The schema accepts an empty or short CIG, a codice fiscale with a wrong check character, a participant
//! with neither codice fiscale nor foreign id, and an end date before the start date. CIG and codice fiscale
//! are already checked by their types ([`domain::ids`]); the rest is checked here.

use std::fmt;

use rust_decimal::Decimal;

use super::{DatasetMeta, IdFiscale, LotCig, Lotto, MAX_IMPORTO, Offerente, Soggetto};

/// Which rules apply. [`Rules::default`] is the strict set for our own data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Accept the `0000000000` placeholder for lots without a CIG (default `true`). The placeholder is
    /// established practice of the L.190 generators, not an ANAC text: set `false` to refuse it.
    pub allow_placeholder_cig: bool,
    /// Refuse an operator with neither `codiceFiscale` nor `identificativoFiscaleEstero` (default `true`;
    /// the schema documentation requires one, its grammar does not). Set `false` only to re-publish
    /// third-party files that lack them.
    pub require_participant_id: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            allow_placeholder_cig: true,
            require_participant_id: true,
        }
    }
}

impl Rules {
    /// The rules for re-publishing files read from elsewhere: operators without a fiscal id are let through
    /// (real published files have them); every other rule still applies.
    pub fn republish() -> Self {
        Rules {
            require_participant_id: false,
            ..Rules::default()
        }
    }
}

/// One broken rule: the field (as a path of schema element names, 1-based indices) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn push(out: &mut Vec<Violation>, field: impl Into<String>, message: impl Into<String>) {
    out.push(Violation {
        field: field.into(),
        message: message.into(),
    });
}

fn check_text(out: &mut Vec<Violation>, field: &str, s: &str) {
    if s.trim().is_empty() {
        push(out, field, "must not be empty");
    }
}

/// Checks an `ImportoType` amount: 0 ≤ x ≤ 999 999 999 999.99 with at most 2 decimals.
fn check_importo(out: &mut Vec<Violation>, field: &str, v: Decimal) {
    if v.is_sign_negative() && !v.is_zero() {
        push(out, field, format!("amount {v} is negative"));
    } else if v > MAX_IMPORTO {
        push(out, field, format!("amount {v} exceeds 999999999999.99"));
    } else if v.normalize().scale() > 2 {
        push(
            out,
            field,
            format!("amount {v} has more than 2 decimals (round it explicitly before export)"),
        );
    }
}

fn check_soggetto(
    out: &mut Vec<Violation>,
    path: &dyn Fn() -> String,
    s: &Soggetto,
    rules: &Rules,
) {
    match &s.id {
        None if rules.require_participant_id => push(
            out,
            path(),
            "neither codiceFiscale nor identificativoFiscaleEstero is given (one is required)",
        ),
        Some(IdFiscale::Estero(e)) if e.trim().is_empty() => push(
            out,
            format!("{}/identificativoFiscaleEstero", path()),
            "must not be empty",
        ),
        _ => {}
    }
    if s.ragione_sociale.trim().is_empty() {
        push(
            out,
            format!("{}/ragioneSociale", path()),
            "must not be empty",
        );
    }
}

/// Paths are only formatted when a rule is broken: this runs for every lot of an export.
fn check_offerenti(
    out: &mut Vec<Violation>,
    list: &str,
    group: &str,
    single: &str,
    items: &[Offerente],
    rules: &Rules,
) {
    let (mut g, mut s) = (0, 0);
    for item in items {
        match item {
            Offerente::Raggruppamento(members) => {
                g += 1;
                let path = || format!("{list}/{group}[{g}]");
                if members.len() < 2 {
                    push(
                        out,
                        path(),
                        format!(
                            "a raggruppamento needs at least 2 members, found {}",
                            members.len()
                        ),
                    );
                }
                for (m, member) in members.iter().enumerate() {
                    let mpath = || format!("{}/membro[{}]", path(), m + 1);
                    check_soggetto(out, &mpath, &member.soggetto, rules);
                }
            }
            Offerente::Singolo(so) => {
                s += 1;
                check_soggetto(out, &|| format!("{list}/{single}[{s}]"), so, rules);
            }
        }
    }
}

/// Every rule `lot` breaks (empty when it may be written). Field paths follow the schema element names.
pub fn check_lotto(lot: &Lotto, rules: &Rules) -> Vec<Violation> {
    let mut out = Vec::new();
    if lot.cig == LotCig::Placeholder && !rules.allow_placeholder_cig {
        push(
            &mut out,
            "cig",
            "the placeholder 0000000000 is not allowed by the configured rules",
        );
    }
    check_text(
        &mut out,
        "strutturaProponente/denominazione",
        &lot.struttura_proponente.denominazione,
    );
    check_text(&mut out, "oggetto", &lot.oggetto);
    check_offerenti(
        &mut out,
        "partecipanti",
        "raggruppamento",
        "partecipante",
        &lot.partecipanti,
        rules,
    );
    check_offerenti(
        &mut out,
        "aggiudicatari",
        "aggiudicatarioRaggruppamento",
        "aggiudicatario",
        &lot.aggiudicatari,
        rules,
    );
    check_importo(
        &mut out,
        "importoAggiudicazione",
        lot.importo_aggiudicazione,
    );
    if let (Some(start), Some(end)) = (lot.data_inizio, lot.data_ultimazione)
        && end < start
    {
        push(
            &mut out,
            "tempiCompletamento/dataUltimazione",
            format!("end date {end} is before the start date {start}"),
        );
    }
    check_importo(
        &mut out,
        "importoSommeLiquidate",
        lot.importo_somme_liquidate,
    );
    out
}

/// Checks the metadata block: the texts the publication is identified by must not be empty.
///
/// Dates are not compared: real files carry a last update before the publication date, and the schema
/// and practice give no rule between them.
pub fn check_meta(meta: &DatasetMeta) -> Vec<Violation> {
    let mut out = Vec::new();
    check_text(&mut out, "metadata/titolo", &meta.titolo);
    check_text(
        &mut out,
        "metadata/entePubblicatore",
        &meta.ente_pubblicatore,
    );
    check_text(&mut out, "metadata/licenza", &meta.licenza);
    out
}
