//! ANAC's validation rules (the DMN decision tables of `modello-dati/regole/`, vendored in `spec/regole/`)
//! that apply to the schede we build, checked on our facts before anything is sent. Each refusal names
//! ANAC's rule code (`REG47`) and carries ANAC's wording (`errori.json`).
//!
//! Rules that cannot fail by construction (e.g. REG1: the lots' categorie merceologiche are the appalto's;
//! REG2: every SA has a codice fiscale, it is a typed field) and rules about data we do not send (derogations
//! to qualification REG118-122, CPV secondaries REG65-66, accessibility REG32-33, which ANAC reads from the
//! eForm) are listed in `docs/pcp.md` and not checked here. `tests/rules.rs` checks that every code used here
//! appears in the vendored DMN table of its scheda.

use chrono::{DateTime, Utc};
use domain::thresholds::ContractObject;
use rust_decimal::Decimal;

use crate::codes::{CategoriaMerceologica, MotivoCollegamento, MotivoUrgenza, SchedaCode};
use crate::error::PcpError;
use crate::model::{Appalto, Committente, Contratto, ElencoLotto, EsitoAggiudicazione, Quota30};

/// The rule codes checked for each scheda (for the documentation and the DMN cross-check).
pub fn checked(code: SchedaCode) -> &'static [&'static str] {
    match code {
        SchedaCode::P1_16 | SchedaCode::P2_16 => &[
            "REG3", "REG4_1", "REG5", "REG5_1", "REG7", "REG8", "REG11", "REG14", "REG15", "REG18",
            "REG19", "REG21", "REG23", "REG24", "REG27", "REG28", "REG34", "REG35", "REG36",
            "REG37", "REG38", "REG98", "REG99", "REG105",
        ],
        SchedaCode::P7_2 => &[
            "REG4_1", "REG5", "REG5_1", "REG8", "REG14", "REG15", "REG18", "REG19", "REG37",
            "REG38", "REG98", "REG99", "REG105",
        ],
        SchedaCode::AD3 => &[
            "REG7", "REG8", "REG18", "REG19", "REG21", "REG23", "REG24", "REG27", "REG28",
            "REG34_1", "REG35_1", "REG36_1", "REG78", "REG112", "REG144", "REG145",
        ],
        SchedaCode::A1_29 | SchedaCode::A2_29 => {
            &["REG7", "REG8", "REG47", "REG50", "REG51", "REG112"]
        }
        SchedaCode::S1_2 => &["REG137", "REG138"],
        SchedaCode::S2 => &["REG78"],
        SchedaCode::SC1 => &["REG77", "REG117"],
        _ => &[],
    }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http:") || s.starts_with("https:")
}

/// The rules of the publication schede (P1_16, P2_16: `P1_16.dmn`, `P2_16.dmn`).
pub fn check_publication(code: SchedaCode, a: &Appalto, at: DateTime<Utc>) -> Result<(), PcpError> {
    // Each scheda's table has its own subset of the rules: only those in `checked(code)` refuse.
    appalto_rules(code, &|rule| checked(code).contains(&rule), a, at)
}

/// The rules on the appalto and its lots, those `applies` selects, refusals named for `code`.
fn appalto_rules(
    code: SchedaCode,
    applies: &dyn Fn(&str) -> bool,
    a: &Appalto,
    at: DateTime<Utc>,
) -> Result<(), PcpError> {
    let err = |rule: &'static str, detail: String| -> Result<(), PcpError> {
        if applies(rule) {
            Err(PcpError::rule_broken(rule, code, detail))
        } else {
            Ok(())
        }
    };
    if let Committente::PerConto { cuc, titolare, .. } = &a.committente
        && cuc.codice_fiscale == titolare.codice_fiscale
    {
        err(
            "REG3",
            format!(
                "the CUC and the titolare share codice fiscale {}",
                cuc.codice_fiscale
            ),
        )?;
    }
    // We never send motivazioneCIG, so every category must be 999 ("not in the DPCM list").
    if a.categorie_merceologiche
        .iter()
        .any(|c| *c != CategoriaMerceologica::NonElencata)
    {
        err(
            "REG4_1",
            "a DPCM category needs motivazioneCIG, which we do not send".into(),
        )?;
    }
    if a.motivo_urgenza == MotivoUrgenza::SommaUrgenzaProtezioneCivile
        && a.link_documenti.as_deref().is_none_or(str::is_empty)
    {
        err(
            "REG7",
            "somma urgenza (art. 140 c.10) needs linkDocumenti".into(),
        )?;
    }
    if let Some(link) = &a.link_documenti
        && !link.is_empty()
        && !is_url(link)
    {
        err(
            "REG8",
            format!("linkDocumenti '{link}' is not an http(s) URL"),
        )?;
    }
    if !is_url(&a.url_documenti) {
        err(
            "REG8",
            format!(
                "the documents' URL '{}' is not an http(s) URL",
                a.url_documenti
            ),
        )?;
    }
    if a.valore_stimato() <= Decimal::ZERO {
        err("REG98", "the appalto's value must be positive".into())?;
    }
    for l in &a.lotti {
        let id = &l.lot_identifier;
        let q = &l.quadro;
        let value = q.valore_stimato();
        if l.oggetto == ContractObject::Works
            && l.strumenti_elettronici.is_none()
            && value > Decimal::from(1_000_000)
        {
            err(
                "REG5",
                format!(
                    "{id}: works above 1,000,000 must state strumentiElettroniciSpecifici (art. 43)"
                ),
            )?;
        }
        if l.strumenti_elettronici.is_some() && l.doc_fap.is_none() {
            err(
                "REG5_1",
                format!("{id}: strumentiElettroniciSpecifici needs docFAP"),
            )?;
        }
        if l.in_programmazione && l.cui.is_none() {
            err("REG11", format!("{id}: a programmed lot needs its CUI"))?;
        }
        if l.ripetizioni && l.collegamento != MotivoCollegamento::Nessuno {
            err(
                "REG14",
                format!("{id}: repetitions exclude a link to an earlier CIG"),
            )?;
        }
        if l.collegamento != MotivoCollegamento::Nessuno && l.cig_collegati.is_empty() {
            err("REG15", format!("{id}: a linked lot needs the linked CIG"))?;
        }
        if l.pnrr && !l.acquisizione_cup {
            err("REG18", format!("{id}: a PNRR lot needs a CUP"))?;
        }
        if l.acquisizione_cup && l.cup.is_empty() {
            err("REG19", format!("{id}: acquisizioneCup without a CUP"))?;
        }
        if l.pnrr && l.parita.is_none() {
            err(
                "REG21",
                format!(
                    "{id}: a PNRR lot needs paritaDiGenereGenerazionale (art. 47 D.L. 77/2021)"
                ),
            )?;
        }
        if let Some(p) = &l.parita {
            if p.quota30 == Quota30::SiQuotaInferiore
                && p.quota_femminile.is_zero()
                && p.quota_giovanile.is_zero()
            {
                err(
                    "REG23",
                    format!("{id}: a lower quota must state at least one percentage"),
                )?;
            }
            if p.quota_femminile >= Decimal::from(30) && p.quota_giovanile >= Decimal::from(30) {
                err(
                    "REG24",
                    format!("{id}: quotas of 30% or more are not lower quotas"),
                )?;
            }
            if matches!(p.quota30, Quota30::SiQuotaInferiore | Quota30::No)
                && p.motivi_deroga.is_empty()
            {
                err(
                    "REG27",
                    format!("{id}: a lower or absent quota needs motivoDeroga"),
                )?;
            }
            if l.pnrr && p.misure_premiali.is_empty() {
                err("REG28", format!("{id}: a PNRR lot needs misurePremiali"))?;
            }
        }
        match l.oggetto {
            ContractObject::Works if q.lavori.is_zero() => {
                err("REG34", format!("{id}: a works lot needs impLavori"))?;
            }
            ContractObject::Services if q.servizi.is_zero() => {
                err("REG35", format!("{id}: a services lot needs impServizi"))?;
            }
            ContractObject::Supplies if q.forniture.is_zero() => {
                err("REG36", format!("{id}: a supplies lot needs impForniture"))?;
            }
            _ => {}
        }
        if l.opzioni_rinnovi && q.opzioni_rinnovi.is_zero() {
            err(
                "REG37",
                format!("{id}: options/renewals need sommeOpzioniRinnovi"),
            )?;
        }
        if l.ripetizioni && q.ripetizioni.is_zero() {
            err("REG38", format!("{id}: repetitions need sommeRipetizioni"))?;
        }
        if value <= Decimal::ZERO {
            err("REG99", format!("{id}: the lot's value must be positive"))?;
        }
        if l.scadenza_offerte <= at {
            err(
                "REG105",
                format!(
                    "{id}: the offer deadline {} is not after {at}",
                    l.scadenza_offerte
                ),
            )?;
        }
    }
    Ok(())
}

/// The rules of the direct-award scheda (`AD3.dmn`) that are not the publication's: the art. 50 c.1 a)-b)
/// limits (REG144 works ≤ 150,000, REG145 services and supplies ≤ 140,000), a participant (REG78), the
/// quadro economico by object (REG34_1-36_1), plus the publication rules the table shares (REG7, REG8,
/// REG18, REG19, REG21-28).
pub fn check_direct_award(
    a: &Appalto,
    importo: Decimal,
    partecipanti: usize,
) -> Result<(), PcpError> {
    let code = SchedaCode::AD3;
    let err = |rule, detail: String| Err(PcpError::rule_broken(rule, code, detail));
    if a.lotti.is_empty() {
        return err("REG112", "no lot awarded".into());
    }
    if partecipanti == 0 {
        return err("REG78", "no affidatario".into());
    }
    for l in &a.lotti {
        let id = &l.lot_identifier;
        match l.oggetto {
            ContractObject::Works if l.quadro.lavori.is_zero() => {
                return err("REG34_1", format!("{id}: a works lot needs impLavori"));
            }
            ContractObject::Services if l.quadro.servizi.is_zero() => {
                return err("REG35_1", format!("{id}: a services lot needs impServizi"));
            }
            ContractObject::Supplies if l.quadro.forniture.is_zero() => {
                return err(
                    "REG36_1",
                    format!("{id}: a supplies lot needs impForniture"),
                );
            }
            _ => {}
        }
        match l.oggetto {
            ContractObject::Works if importo > Decimal::from(150_000) => {
                return err(
                    "REG144",
                    format!("{id}: direct award of works for {importo} (art. 50 c.1 a)"),
                );
            }
            ContractObject::Services | ContractObject::Supplies
                if importo > Decimal::from(140_000) =>
            {
                return err(
                    "REG145",
                    format!(
                        "{id}: direct award of services/supplies for {importo} (art. 50 c.1 b)"
                    ),
                );
            }
            _ => {}
        }
    }
    // the rules AD3 shares with the publication schede, on the same facts
    let shared = |rule: &str| {
        matches!(
            rule,
            "REG7" | "REG8" | "REG18" | "REG19" | "REG21" | "REG23" | "REG24" | "REG27" | "REG28"
        )
    };
    appalto_rules(code, &shared, a, DateTime::<Utc>::MIN_UTC)
}

/// The rules of the award scheda (`A1_29.dmn`).
pub fn check_award(code: SchedaCode, e: &EsitoAggiudicazione) -> Result<(), PcpError> {
    let err = |rule, detail: String| Err(PcpError::rule_broken(rule, code, detail));
    if e.motivo_urgenza == MotivoUrgenza::SommaUrgenzaProtezioneCivile
        && e.link_documenti.as_deref().is_none_or(str::is_empty)
    {
        return err(
            "REG7",
            "somma urgenza (art. 140 c.10) needs linkDocumenti".into(),
        );
    }
    if let Some(link) = &e.link_documenti
        && !link.is_empty()
        && !is_url(link)
    {
        return err(
            "REG8",
            format!("linkDocumenti '{link}' is not an http(s) URL"),
        );
    }
    if e.aggiudicazioni.is_empty() {
        return err("REG112", "no lot awarded".into());
    }
    for ag in &e.aggiudicazioni {
        let cig = &ag.cig;
        if (ag.annullata.is_some() || ag.senza_vincitore.is_some())
            && ag.offerte.iter().any(|o| o.aggiudicatario)
        {
            return Err(PcpError::invalid(
                "aggiudicazioni.offertePresentate.aggiudicatario",
                format!("{cig}: a lot annulled, revoked or closed without a winner has no winner"),
            ));
        }
        if ag.offerte.len() > ag.offerte_ammesse as usize {
            return err(
                "REG47",
                format!(
                    "{cig}: {} bids listed, {} admitted",
                    ag.offerte.len(),
                    ag.offerte_ammesse
                ),
            );
        }
        let hundred = Decimal::from(100);
        if let Some(o) = ag
            .offerte
            .iter()
            .find(|o| o.ribasso.is_some_and(|r| r < Decimal::ZERO || r > hundred))
        {
            return err(
                "REG50",
                format!("{cig}: ribasso {:?} outside 0-100", o.ribasso),
            );
        }
        // ANAC: every bid states offertaEconomica (ribasso) or offertaInAumento; we send only ribassi.
        if ag.offerte.iter().any(|o| o.aggiudicatario)
            && ag.offerte.iter().any(|o| o.ribasso.is_none())
        {
            return err("REG51", format!("{cig}: a bid without its ribasso"));
        }
    }
    Ok(())
}

/// The rules of S2 (`S2.dmn`).
pub fn check_s2(lotti: &[ElencoLotto]) -> Result<(), PcpError> {
    for l in lotti {
        if l.partecipanti.is_empty() || l.partecipanti.iter().all(|p| p.membri.is_empty()) {
            return Err(PcpError::rule_broken(
                "REG78",
                SchedaCode::S2,
                format!(
                    "{}: no participant (a deserted lot goes in NAG or A1_29, not S2)",
                    l.cig
                ),
            ));
        }
    }
    Ok(())
}

/// The rules of S1_2 (`S1_2.dmn`): at least one lot and one invitee per lot (REG137), no empty text
/// (REG138: the invitees' tax ids and names).
pub fn check_s1_2(lotti: &[crate::model::InvitatiLotto]) -> Result<(), PcpError> {
    let err = |rule, detail: String| Err(PcpError::rule_broken(rule, SchedaCode::S1_2, detail));
    if lotti.is_empty() {
        return err("REG137", "no lot".into());
    }
    for l in lotti {
        if l.invitati.iter().all(|p| p.membri.is_empty()) {
            return err("REG137", format!("{}: no invitee", l.cig));
        }
        for m in l.invitati.iter().flat_map(|p| p.membri.iter()) {
            if m.id.as_str().trim().is_empty() || m.denominazione.trim().is_empty() {
                return err(
                    "REG138",
                    format!("{}: an invitee without tax id or name", l.cig),
                );
            }
        }
    }
    Ok(())
}

/// The rules of SC1 (`SC1.dmn`).
pub fn check_sc1(c: &Contratto) -> Result<(), PcpError> {
    if c.data_scadenza < c.data_stipula {
        return Err(PcpError::rule_broken(
            "REG77",
            SchedaCode::SC1,
            format!(
                "scadenza {} before stipula {}",
                c.data_scadenza, c.data_stipula
            ),
        ));
    }
    if c.importo_cauzione < Decimal::ZERO {
        return Err(PcpError::rule_broken(
            "REG117",
            SchedaCode::SC1,
            format!("cauzione {}", c.importo_cauzione),
        ));
    }
    Ok(())
}
