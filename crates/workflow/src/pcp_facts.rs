//! Our rows as the `pcp` crate's facts (`pcp::model`), and the scheda each PCP call sends, built when the
//! call is sent (`workflow::pcp_outbox`): the tender and its request, the lots, the bids and the stored
//! evaluation. What our rows do not hold (ANAC's AUSA codes and cost centres, ISTAT and NUTS codes, the
//! CCNL, durations) comes from the `[pcp]` configuration ([`Profile`]).

use chrono::{DateTime, Months, Utc};
use domain::ids::{Cig, CodiceFiscale, Cpv, NutsCode};
use domain::thresholds::ContractObject;
use lifecycle::ProcedureType;
use pcp::codes::{
    CategoriaMerceologica, ContrattiDisposizioniParticolari, EsitoProceduraAnnullata,
    FunzioniSvolte, GiustificazioneEsito, MotivoCollegamento, MotivoUrgenza, PrestazioniComprese,
    RuoloOE, TipoFinanziamento, TipoOE,
};
use pcp::model::{
    AffidamentoDiretto, Aggiudicazione, Appalto, Committente, Contratto, ElencoLotto,
    EsitoAggiudicazione, Finanziamento, InvitatiLotto, Lotto, MancataAggiudicazione, Membro,
    Offerta, OperatoreId, Partecipante, Procedura, QuadroEconomico, StazioneAppaltante,
};
use pcp::{PcpError, Scheda};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{WResult, WorkflowError};
use crate::pcp_outbox::Purpose;
use crate::store::entities::{bid, lot, municipality, operator, procurement_request, tender};

/// An SA as ANAC registered it (`[pcp.cuc]`, `[pcp.comuni."<codice fiscale>"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaProfile {
    pub codice_fiscale: String,
    pub codice_ausa: String,
    pub codice_centro_costo: String,
    pub denominazione: String,
}

/// A Comune's registration at ANAC and its ISTAT code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComuneProfile {
    pub codice_ausa: String,
    pub codice_centro_costo: String,
    /// ISTAT code of the place of performance (ANAC list `codIstat`).
    pub cod_istat: String,
}

/// The facts of the schede that our rows do not hold (`[pcp]` configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// The Province acting as centrale unica di committenza (the sender).
    pub cuc: SaProfile,
    /// Each Comune by codice fiscale; a Comune not listed gets `comune_default`.
    pub comuni: std::collections::BTreeMap<String, ComuneProfile>,
    pub comune_default: ComuneProfile,
    /// The convention's functions of the CUC (`funzioniSvolte`): `1` aggiudicazione, `2` with stipula, `3`
    /// with execution.
    pub funzioni: String,
    /// NUTS of the place of performance.
    pub nuts: String,
    /// CCNL applied (ANAC list `ccnl`, art. 11) when the lot does not say.
    pub ccnl: String,
    pub durata_mesi: u32,
    pub validita_offerta_giorni: u32,
    /// Garanzia definitiva, percent of the contract amount (art. 117 c.1).
    pub garanzia_percent: u32,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            cuc: SaProfile {
                codice_fiscale: "80001234568".into(),
                codice_ausa: "0000123456".into(),
                codice_centro_costo: "CDC-SUA-01".into(),
                denominazione: "Provincia - Stazione Unica Appaltante".into(),
            },
            comuni: Default::default(),
            comune_default: ComuneProfile {
                codice_ausa: "0000654321".into(),
                codice_centro_costo: "CDC-LLPP".into(),
                cod_istat: "001272001".into(),
            },
            funzioni: "1".into(),
            nuts: "ITC11".into(),
            ccnl: "H08".into(),
            durata_mesi: 24,
            validita_offerta_giorni: 180,
            garanzia_percent: 10,
        }
    }
}

/// What the buyer states about a lot for ANAC's schede and nothing else of ours uses (`lot.pcp_json`, set
/// with `PATCH /v1/tenders/{id}/lots/{lot_id}` `{"pcp": {…}}`). Each code is checked against ANAC's list
/// ([`LotPcp::check`]); what is absent falls back to the `[pcp.profile]` of the Province (NUTS, CCNL,
/// duration), except the SOA category of works and BIM above 1,000,000 euro, which only the buyer knows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LotPcp {
    /// The CCNL applied to the workers (art. 11; ANAC list `ccnl`, e.g. `H08`).
    #[schema(example = "H08")]
    pub ccnl: Option<String>,
    /// NUTS 3 of the place of performance (eForms BT-5071), e.g. `ITC11`.
    #[schema(example = "ITC11")]
    pub nuts: Option<String>,
    /// Prevailing SOA category as ANAC writes it (works: `OG 1`…`OS 35`; ANAC list `categoria`).
    /// Required for works.
    #[schema(example = "OG 3")]
    pub categoria: Option<String>,
    /// Contract duration in months (eForms BT-36).
    pub durata_mesi: Option<u32>,
    /// Funding source of the lot's whole value (ANAC list `tipoFinanziamento`: `A` own budget, `C01`…`C06`
    /// earmarked, `D` loan…).
    #[schema(example = "A")]
    pub finanziamento: Option<String>,
    /// Electronic modelling tools (BIM, art. 43) used for the works (`strumentiElettroniciSpecifici`):
    /// to state for works above 1,000,000 euro (ANAC REG5).
    pub bim: Option<bool>,
    /// The feasibility study exempting from BIM was approved in time (`docFAP`): stated with `bim` (REG5_1).
    pub bim_esenzione: Option<bool>,
    /// Direct award (art. 50 c.1 a-b): the operator chosen, by its id in the operators' register, as the
    /// decisione di contrarre names it (art. 17 c.2). Sent in AD3 (and SC1); required before
    /// `acquire_cig` of a direct award with PCP enabled.
    pub affidatario: Option<Uuid>,
    /// Direct award: the amount awarded, euro VAT excluded (`"38500.00"`), sent in AD3 (`importo`); required
    /// with `affidatario`.
    #[schema(example = "38500.00")]
    pub importo_affidamento: Option<String>,
    /// The lot's funding split among sources (`finanziamenti[]`), instead of `finanziamento`: each source's
    /// type (ANAC list `tipoFinanziamento`) and amount in euro; the amounts add up to the lot's value (base,
    /// options and renewals).
    pub finanziamenti: Option<Vec<FonteFinanziamento>>,
    /// The quadro economico's sums at the SA's disposal (VAT, technical expenses…; `sommeADisposizione`),
    /// euro, 0 when not stated.
    #[schema(example = "42000.00")]
    pub somme_a_disposizione: Option<String>,
}

/// One source of a lot's funding (`finanziamenti[]` of the publication schede).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FonteFinanziamento {
    /// ANAC list `tipoFinanziamento` (`A` own budget, `C01`…`C06` earmarked, `D` loan…).
    #[schema(example = "C01")]
    pub tipo: String,
    /// Euro, e.g. `"120000.00"`.
    #[schema(example = "120000.00")]
    pub importo: String,
}

impl LotPcp {
    /// The stored JSON (`{}` when nothing was stated; an unreadable value counts as nothing stated).
    pub fn stored(l: &lot::Model) -> LotPcp {
        serde_json::from_str(&l.pcp_json).unwrap_or_default()
    }

    /// Checks every stated code against ANAC's lists valid at `at`; the error names the field.
    pub fn check(&self, at: DateTime<Utc>) -> WResult<()> {
        let code = |field: &str, list: &str, v: &Option<String>| -> WResult<()> {
            match v {
                Some(c) => pcp::codes::check_code(list, c, at)
                    .map_err(|e| bad(field, format!("{field}: {e}"))),
                None => Ok(()),
            }
        };
        code("pcp.ccnl", "ccnl", &self.ccnl)?;
        code("pcp.categoria", "categoria", &self.categoria)?;
        code(
            "pcp.finanziamento",
            "tipoFinanziamento",
            &self.finanziamento,
        )?;
        if let Some(n) = &self.nuts {
            NutsCode::parse(n).map_err(|e| bad("pcp.nuts", format!("pcp.nuts: {e}")))?;
        }
        if let Some(d) = self.durata_mesi
            && !(1..=1200).contains(&d)
        {
            return Err(bad("pcp.durata_mesi", "pcp.durata_mesi: 1 to 1200 months"));
        }
        if let Some(a) = &self.importo_affidamento {
            parse_importo(a)?;
        }
        if let Some(a) = &self.somme_a_disposizione {
            euro("pcp.somme_a_disposizione", a, true)?;
        }
        if let Some(list) = &self.finanziamenti {
            if self.finanziamento.is_some() {
                return Err(bad(
                    "pcp.finanziamenti",
                    "pcp.finanziamenti: state either one source for the whole value (finanziamento) or \
                     the split (finanziamenti), not both",
                ));
            }
            if list.is_empty() {
                return Err(bad(
                    "pcp.finanziamenti",
                    "pcp.finanziamenti: at least one source",
                ));
            }
            for (i, f) in list.iter().enumerate() {
                let field = format!("pcp.finanziamenti[{i}].tipo");
                pcp::codes::check_code("tipoFinanziamento", &f.tipo, at)
                    .map_err(|e| bad(&field, format!("{field}: {e}")))?;
                euro(
                    &format!("pcp.finanziamenti[{i}].importo"),
                    &f.importo,
                    false,
                )?;
            }
        }
        if self.bim.is_some() != self.bim_esenzione.is_some() {
            return Err(bad(
                "pcp.bim_esenzione",
                "pcp.bim_esenzione: state bim and bim_esenzione together (ANAC REG5_1: docFAP goes with \
                 strumentiElettroniciSpecifici)",
            ));
        }
        Ok(())
    }

    /// The direct award's operator and amount (art. 17 c.2), both stated; the error names the missing one.
    pub fn direct_award(&self) -> WResult<(Uuid, Decimal)> {
        let op = self.affidatario.ok_or_else(|| {
            bad(
                "pcp.affidatario",
                "pcp.affidatario: a direct award states the operator chosen (its id in the operators' \
                 register) before its CIG is requested with AD3",
            )
        })?;
        let amount = self.importo_affidamento.as_deref().ok_or_else(|| {
            bad(
                "pcp.importo_affidamento",
                "pcp.importo_affidamento: a direct award states the amount awarded before its CIG is \
                 requested with AD3",
            )
        })?;
        Ok((op, parse_importo(amount)?))
    }

    fn tipo_finanziamento(field: &str, c: &str) -> WResult<TipoFinanziamento> {
        use pcp::codes::Tipologica;
        TipoFinanziamento::all()
            .iter()
            .copied()
            .find(|t| t.code() == c)
            .ok_or_else(|| bad(field, format!("{field}: {c} is not in ANAC's list")))
    }

    /// The lot's funding sources for a lot worth `valore`: the split stated (its amounts must add up to
    /// `valore`), else one source (`finanziamento`, `A` when absent) for the whole value.
    pub fn finanziamenti(&self, valore: Decimal) -> WResult<Vec<Finanziamento>> {
        let Some(list) = &self.finanziamenti else {
            let tipo = match &self.finanziamento {
                None => TipoFinanziamento::BilancioStazioneAppaltante,
                Some(c) => Self::tipo_finanziamento("pcp.finanziamento", c)?,
            };
            return Ok(vec![Finanziamento {
                tipo,
                importo: valore,
            }]);
        };
        let out = list
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Ok(Finanziamento {
                    tipo: Self::tipo_finanziamento(
                        &format!("pcp.finanziamenti[{i}].tipo"),
                        &f.tipo,
                    )?,
                    importo: euro(
                        &format!("pcp.finanziamenti[{i}].importo"),
                        &f.importo,
                        false,
                    )?,
                })
            })
            .collect::<WResult<Vec<_>>>()?;
        let sum: Decimal = out.iter().map(|f| f.importo).sum();
        if sum != valore {
            return Err(bad(
                "pcp.finanziamenti",
                format!(
                    "pcp.finanziamenti: the sources add up to {sum} euro, the lot is worth {valore} (base, \
                     options and renewals)"
                ),
            ));
        }
        Ok(out)
    }

    /// The sums at the SA's disposal stated, 0 when not.
    pub fn somme_a_disposizione(&self) -> WResult<Decimal> {
        self.somme_a_disposizione
            .as_deref()
            .map_or(Ok(Decimal::ZERO), |a| {
                euro("pcp.somme_a_disposizione", a, true)
            })
    }

    /// Checks the stated amounts against the lot's own (the funding split adds up to its value): after an
    /// edit of the lot, and again when a scheda is built.
    pub fn check_amounts(&self, t: &tender::Model, l: &lot::Model) -> WResult<()> {
        self.finanziamenti(quadro(object(t)?, l).valore_stimato())?;
        self.somme_a_disposizione()?;
        Ok(())
    }
}

/// `pcp.importo_affidamento`: euro, positive, at most two decimals.
fn parse_importo(s: &str) -> WResult<Decimal> {
    euro("pcp.importo_affidamento", s, false)
}

/// An amount in euro the buyer states: positive (or zero when `zero_ok`), at most two decimals; the error
/// names `field`.
fn euro(field: &str, s: &str, zero_ok: bool) -> WResult<Decimal> {
    let d: Decimal = s.trim().parse().map_err(|_| {
        bad(
            field,
            format!("{field}: '{s}' is not an amount in euro (\"38500.00\")"),
        )
    })?;
    let sign_ok = if zero_ok {
        d >= Decimal::ZERO
    } else {
        d > Decimal::ZERO
    };
    if !sign_ok || d.normalize().scale() > 2 {
        return Err(bad(
            field,
            format!(
                "{field}: '{s}' must be {}, with at most two decimals",
                if zero_ok { "zero or more" } else { "positive" }
            ),
        ));
    }
    Ok(d)
}

/// A scheda ready to send, with the eForm it carries (for the record).
#[derive(Debug, Clone)]
pub struct Built {
    pub scheda: Scheda,
    pub eform: Option<String>,
}

fn pcp_err(e: PcpError) -> WorkflowError {
    let rule = e.rule().unwrap_or("PCP").to_owned();
    WorkflowError::Refused {
        rule,
        detail: e.to_string(),
    }
}

fn bad(field: &str, detail: impl Into<String>) -> WorkflowError {
    WorkflowError::invalid(field, detail)
}

fn cf(field: &str, s: &str) -> WResult<CodiceFiscale> {
    CodiceFiscale::parse(s).map_err(|e| bad(field, format!("{field}: {e}")))
}

fn object(t: &tender::Model) -> WResult<ContractObject> {
    Ok(match t.contract_type.as_str() {
        "works" => ContractObject::Works,
        "services" => ContractObject::Services,
        _ => ContractObject::Supplies,
    })
}

/// The lot identifier PCP pairs with the CIG it assigns (eForms BT-137).
pub fn lot_identifier(number: i32) -> String {
    format!("LOT-{number:04}")
}

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

/// Everything a scheda of the tender is built from, read once.
pub struct TenderRows {
    pub tender: tender::Model,
    pub lots: Vec<lot::Model>,
    pub bids: Vec<bid::Model>,
    pub request: Option<procurement_request::Model>,
    pub municipality: Option<municipality::Model>,
    pub operators: Vec<operator::Model>,
}

pub async fn load<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<TenderRows> {
    let tender = tender::Entity::find_by_id(tender_id)
        .one(db)
        .await?
        .ok_or(WorkflowError::NotFound("tender"))?;
    let lots = lot::Entity::find()
        .filter(lot::Column::TenderId.eq(tender_id))
        .order_by_asc(lot::Column::Number)
        .all(db)
        .await?;
    let bids = bid::Entity::find()
        .filter(bid::Column::TenderId.eq(tender_id))
        .order_by_asc(bid::Column::SubmittedAt)
        .all(db)
        .await?;
    let request = match tender.request_id {
        Some(r) => procurement_request::Entity::find_by_id(r).one(db).await?,
        None => None,
    };
    let municipality = match tender.municipality_id {
        Some(m) => municipality::Entity::find_by_id(m).one(db).await?,
        None => None,
    };
    let mut ids: Vec<Uuid> = bids.iter().map(|b| b.operator_id).collect();
    ids.extend(crate::transition::invitees(&tender));
    ids.extend(lots.iter().filter_map(|l| LotPcp::stored(l).affidatario));
    let operators = operator::Entity::find()
        .filter(operator::Column::Id.is_in(ids))
        .all(db)
        .await?;
    Ok(TenderRows {
        tender,
        lots,
        bids,
        request,
        municipality,
        operators,
    })
}

fn committente(p: &Profile, r: &TenderRows) -> WResult<Committente> {
    let cuc = StazioneAppaltante {
        codice_fiscale: cf("pcp.cuc.codice_fiscale", &p.cuc.codice_fiscale)?,
        codice_ausa: p.cuc.codice_ausa.clone(),
        codice_centro_costo: p.cuc.codice_centro_costo.clone(),
        denominazione: p.cuc.denominazione.clone(),
    };
    let Some(m) = &r.municipality else {
        return Ok(Committente::Diretto(cuc));
    };
    let c = p.comuni.get(&m.codice_fiscale).unwrap_or(&p.comune_default);
    let funzioni = match p.funzioni.as_str() {
        "2" => FunzioniSvolte::AggiudicazioneEStipula,
        "3" => FunzioniSvolte::AggiudicazioneStipulaEsecuzione,
        _ => FunzioniSvolte::SoloAggiudicazione,
    };
    Ok(Committente::PerConto {
        cuc,
        titolare: StazioneAppaltante {
            codice_fiscale: cf("municipality.codice_fiscale", &m.codice_fiscale)?,
            codice_ausa: c.codice_ausa.clone(),
            codice_centro_costo: c.codice_centro_costo.clone(),
            denominazione: m.name.clone(),
        },
        funzioni: vec![funzioni],
    })
}

/// The lot's quadro economico from its amounts: the base without the safety costs as the object's
/// amount, the safety costs (not subject to the ribasso, art. 41 c.14), options and renewals (art. 14 c.4).
/// The sums at the SA's disposal (VAT, technical expenses…) are the buyer's (`LotPcp::somme_a_disposizione`).
fn quadro(o: ContractObject, l: &lot::Model) -> QuadroEconomico {
    let net = money(l.base_amount_cents - l.safety_costs_cents);
    let mut q = QuadroEconomico {
        sicurezza: money(l.safety_costs_cents),
        opzioni_rinnovi: money(l.options_cents + l.renewals_cents),
        ..QuadroEconomico::default()
    };
    match o {
        ContractObject::Works => q.lavori = net,
        ContractObject::Services => q.servizi = net,
        ContractObject::Supplies => q.forniture = net,
    }
    q
}

fn procedura(t: &tender::Model) -> Procedura {
    match t.procedure_type.0 {
        ProcedureType::AffidamentoDiretto => Procedura::AffidamentoDiretto,
        ProcedureType::Aperta => Procedura::Aperta,
        _ => Procedura::NegoziataSenzaBando,
    }
}

/// Whether the tender is above the EU threshold (the same rule the lifecycle applies: art. 14).
pub fn sopra_soglia(r: &TenderRows) -> WResult<bool> {
    let cents: i64 = r.lots.iter().map(|l| l.base_amount_cents).sum();
    let ctx = lifecycle::procedure::ContractContext::new(
        object(&r.tender)?,
        money(cents),
        r.tender.created_at.date_naive(),
    );
    let band = lifecycle::procedure::band(&lifecycle::Rules::default(), &ctx).map_err(|e| {
        WorkflowError::Refused {
            rule: e.rule.to_string(),
            detail: e.message.clone(),
        }
    })?;
    Ok(!band.band.is_below_eu_threshold())
}

/// The appalto as published: the tender, its request and lots.
pub fn appalto(p: &Profile, base_url: &str, r: &TenderRows) -> WResult<Appalto> {
    let t = &r.tender;
    let o = object(t)?;
    let cpv_raw = r
        .request
        .as_ref()
        .map(|q| q.cpv.clone())
        .unwrap_or_default();
    let cpv = Cpv::parse(&cpv_raw).map_err(|e| bad("request.cpv", format!("request.cpv: {e}")))?;
    let comune = r
        .municipality
        .as_ref()
        .and_then(|m| p.comuni.get(&m.codice_fiscale))
        .unwrap_or(&p.comune_default);
    // a direct award has no offers and no deadline: AD3 has no field for it (the lot's `scadenza_offerte`
    // is not written by `schede::ad3`)
    let deadline = match (t.deadline, procedura(t)) {
        (Some(d), _) => d,
        (None, Procedura::AffidamentoDiretto) => t.created_at,
        (None, _) => {
            return Err(bad(
                "deadline",
                "deadline: the offer deadline goes in the publication scheda: set it before acquire_cig",
            ));
        }
    };
    let cup: Vec<_> = r
        .request
        .as_ref()
        .and_then(|q| q.cup.clone())
        .map(|c| c.0)
        .into_iter()
        .collect();
    let lotti = r
        .lots
        .iter()
        .map(|l| {
            let lp = LotPcp::stored(l);
            let mut q = quadro(o, l);
            q.somme_a_disposizione = lp.somme_a_disposizione()?;
            let nuts_raw = lp.nuts.clone().unwrap_or_else(|| p.nuts.clone());
            let nuts = NutsCode::parse(&nuts_raw)
                .map_err(|e| bad("pcp.nuts", format!("lot {}: pcp.nuts: {e}", l.number)))?;
            let categoria = match (o, &lp.categoria) {
                (_, Some(c)) => c.clone(),
                (ContractObject::Works, None) => {
                    return Err(bad(
                        "pcp.categoria",
                        format!(
                            "lot {}: pcp.categoria: a works lot states its prevailing SOA category (ANAC's list: OG 1…OS 35)",
                            l.number
                        ),
                    ));
                }
                (ContractObject::Services, None) => "FS".into(),
                (ContractObject::Supplies, None) => "FB".into(),
            };
            Ok(Lotto {
                lot_identifier: lot_identifier(l.number),
                titolo: l.title.clone(),
                descrizione: l.title.clone(),
                oggetto: o,
                cpv: cpv.clone(),
                nuts: nuts.clone(),
                cod_istat: comune.cod_istat.clone(),
                finanziamenti: lp.finanziamenti(q.valore_stimato())?,
                quadro: q,
                acquisizione_cup: !cup.is_empty(),
                cup: cup.clone(),
                pnrr: false,
                ccnl: lp.ccnl.clone().unwrap_or_else(|| p.ccnl.clone()),
                categoria,
                categorie_scorporabili: vec![],
                prestazioni: PrestazioniComprese::SolaEsecuzione,
                servizio_pubblico_locale: false,
                in_programmazione: false,
                cui: None,
                opzioni_rinnovi: l.options_cents + l.renewals_cents > 0,
                ripetizioni: false,
                collegamento: MotivoCollegamento::Nessuno,
                cig_collegati: vec![],
                disposizioni_particolari: ContrattiDisposizioniParticolari::NonApplicabile,
                strumenti_elettronici: lp.bim,
                doc_fap: lp.bim_esenzione,
                parita: None,
                scadenza_offerte: deadline,
                validita_offerta_giorni: p.validita_offerta_giorni,
                durata_mesi: lp.durata_mesi.unwrap_or(p.durata_mesi),
            })
        })
        .collect::<WResult<Vec<_>>>()?;
    let base = base_url.trim_end_matches('/');
    Ok(Appalto {
        codice_appalto: format!("SUA-{}", t.id.simple()),
        titolo: t.title.clone(),
        descrizione: r
            .request
            .as_ref()
            .map_or_else(|| t.title.clone(), |q| q.object.clone()),
        committente: committente(p, r)?,
        procedura: procedura(t),
        sopra_soglia: sopra_soglia(r)?,
        criterio: t.criterion.0,
        motivo_urgenza: MotivoUrgenza::NonApplicabile,
        link_documenti: None,
        url_documenti: format!("{base}/v1/public/tenders/{}", t.id),
        url_offerte: format!("{base}/v1/tenders/{}/bids", t.id),
        categorie_merceologiche: vec![CategoriaMerceologica::NonElencata],
        lotti,
    })
}

/// The ESPD request PCP wants with P1_16/P2_16. Not built yet (docs/pcp.md, "What remains"): a minimal
/// document naming the procedure stands in.
fn espd_request(a: &Appalto) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><QualificationApplicationRequest \
         xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:QualificationApplicationRequest-2\">\
         <ContractFolderID xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">{}</ContractFolderID>\
         </QualificationApplicationRequest>",
        a.codice_appalto
    )
}

fn notice_ids(t: &tender::Model, what: u128) -> pcp::eforms::NoticeIds {
    pcp::eforms::NoticeIds {
        notice: Uuid::from_u128(t.id.as_u128() ^ what),
        procedure: t.id,
    }
}

fn live(b: &bid::Model) -> bool {
    b.state.0.is_offer()
}

fn partecipante(r: &TenderRows, b: &bid::Model) -> WResult<Partecipante> {
    let o = r
        .operators
        .iter()
        .find(|o| o.id == b.operator_id)
        .ok_or(WorkflowError::NotFound("operator"))?;
    Ok(Partecipante {
        id: b.id,
        membri: vec![Membro {
            id: OperatoreId::Italiano(cf("operator.codice_fiscale", &o.codice_fiscale)?),
            denominazione: o.name.clone(),
            tipo: TipoOE::ImpresaSingola,
            ruolo: RuoloOE::OperatoreEconomico,
        }],
        avvalimento: None,
    })
}

/// An invited operator of a lot: `idPartecipante` is its bid's id when it bid on the lot (the same id S2
/// sends), else an id derived from the lot and the operator (stable across resends).
fn invitato(r: &TenderRows, l: &lot::Model, operator_id: Uuid) -> WResult<Partecipante> {
    if let Some(b) = r
        .bids
        .iter()
        .find(|b| b.lot_id == l.id && b.operator_id == operator_id && live(b))
    {
        return partecipante(r, b);
    }
    operator_of_lot(r, l, operator_id, "operator")
}

/// An operator of the register as a single firm on a lot, with no bid: `idPartecipante` derived from the
/// lot and the operator (stable across resends; the same in AD3 and SC1). `field` names what pointed to it.
fn operator_of_lot(
    r: &TenderRows,
    l: &lot::Model,
    operator_id: Uuid,
    field: &str,
) -> WResult<Partecipante> {
    let o = r
        .operators
        .iter()
        .find(|o| o.id == operator_id)
        .ok_or_else(|| {
            bad(
                field,
                format!("{field}: no operator {operator_id} in the register"),
            )
        })?;
    Ok(Partecipante {
        id: Uuid::from_u128(l.id.as_u128() ^ operator_id.as_u128()),
        membri: vec![Membro {
            id: OperatoreId::Italiano(cf("operator.codice_fiscale", &o.codice_fiscale)?),
            denominazione: o.name.clone(),
            tipo: TipoOE::ImpresaSingola,
            ruolo: RuoloOE::OperatoreEconomico,
        }],
        avvalimento: None,
    })
}

/// The direct award of a tender's only lot: the operator and amount the buyer stated (`lot.pcp`).
/// The one lot of a direct award reported with AD3: AD3 creates the appalto already awarded with one
/// lot, so a direct award of several lots is refused (422 naming `lots`) at `acquire_cig` and when built.
pub fn direct_award_lot(lots: &[lot::Model]) -> WResult<&lot::Model> {
    let [l] = lots else {
        return Err(bad(
            "lots",
            format!(
                "lots: a direct award is reported to PCP (AD3) with one lot; this tender has {}",
                lots.len()
            ),
        ));
    };
    Ok(l)
}

fn direct_award_of(r: &TenderRows) -> WResult<(&lot::Model, Partecipante, Decimal)> {
    let l = direct_award_lot(&r.lots)?;
    let (op, importo) = LotPcp::stored(l).direct_award()?;
    Ok((l, operator_of_lot(r, l, op, "pcp.affidatario")?, importo))
}

fn lot_cig(l: &lot::Model) -> WResult<Cig> {
    l.cig
        .clone()
        .map(|c| c.0)
        .ok_or_else(|| bad("cig", format!("lot {}: no CIG yet", l.number)))
}

fn elenco(r: &TenderRows, l: &lot::Model) -> WResult<ElencoLotto> {
    let partecipanti = r
        .bids
        .iter()
        .filter(|b| b.lot_id == l.id && live(b))
        .map(|b| partecipante(r, b))
        .collect::<WResult<Vec<_>>>()?;
    Ok(ElencoLotto {
        cig: lot_cig(l)?,
        partecipanti,
    })
}

/// A bid's amount in euro and ribasso: the declared price, else the base less the declared discount.
fn amount(l: &lot::Model, b: &bid::Model) -> (Decimal, Option<Decimal>) {
    let base = money(l.base_amount_cents);
    let discount = b
        .declared_discount
        .as_deref()
        .and_then(|d| d.parse::<Decimal>().ok());
    let importo = match (b.declared_price_cents, discount) {
        (Some(c), _) => money(c),
        (None, Some(d)) => (base * (Decimal::ONE_HUNDRED - d) / Decimal::ONE_HUNDRED).round_dp(2),
        (None, None) => base,
    };
    let ribasso = discount.or_else(|| {
        (base > Decimal::ZERO)
            .then(|| ((base - importo) * Decimal::ONE_HUNDRED / base).round_dp(3))
            .filter(|r| *r >= Decimal::ZERO)
    });
    (importo, ribasso)
}

/// The anomaly step of a lot's stored evaluation (art. 54 c.1, art. 110), as A1_29/A2_29 report it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Anomalia {
    /// The threshold (a ribasso in percent), when it was computed and applied; rounded to the 5
    /// decimals ANAC's `valoreSogliaAnomalia` allows.
    pub soglia: Option<Decimal>,
    /// The bids at or above the threshold, excluded automatically as anomalous (art. 54 c.1).
    pub escluse: Vec<Uuid>,
}

/// Reads the anomaly step from the stored evaluation's result (`result.anomaly` of the lowest-price
/// evaluation: `outcome`, `threshold`, `excluded`); a quality-price evaluation or an evaluation without
/// automatic exclusion yields no threshold and no excluded bid.
pub fn anomalia(evaluation_json: Option<&str>) -> Anomalia {
    let Some(v) = evaluation_json.and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
    else {
        return Anomalia::default();
    };
    let a = &v["result"]["anomaly"];
    if a["outcome"] != "computed" {
        return Anomalia::default();
    }
    let soglia = a["threshold"]
        .as_str()
        .and_then(|t| t.parse::<Decimal>().ok())
        .map(|t| t.round_dp(5).normalize())
        .filter(|t| *t >= Decimal::ZERO && *t <= Decimal::ONE_HUNDRED);
    let escluse = a["excluded"]
        .as_array()
        .map(|x| {
            x.iter()
                .filter_map(|id| id.as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    Anomalia { soglia, escluse }
}

fn aggiudicazione(p: &Profile, r: &TenderRows, l: &lot::Model) -> WResult<Aggiudicazione> {
    let anomalia = anomalia(l.evaluation_json.as_deref());
    // art. 110 c.5: the offers judged abnormally low after their explanations
    let giudicate = crate::anomaly::judged_anomalous(l.evaluation_json.as_deref());
    let ranking: Vec<Uuid> = l
        .evaluation_json
        .as_deref()
        .and_then(crate::store::evaluation::StoredEvaluation::read)
        .map(|e| e.result.ranking.iter().map(|x| x.id).collect())
        .unwrap_or_default();
    let lbids: Vec<&bid::Model> = r
        .bids
        .iter()
        .filter(|b| b.lot_id == l.id && live(b))
        .collect();
    let offerte = lbids
        .iter()
        .map(|b| {
            let (importo, ribasso) = amount(l, b);
            let pos = ranking
                .iter()
                .position(|x| *x == b.id)
                .map(|i| i as u32 + 1);
            Offerta {
                id_partecipante: b.id,
                importo,
                ribasso: ribasso.or(Some(Decimal::ZERO)),
                punteggio_qualita: b.tech_score.as_deref().and_then(|s| s.parse().ok()),
                aggiudicatario: l.awardee_bid_id == Some(b.id),
                posizione: pos,
                // art. 54 c.1: the bids at or above the threshold are excluded as anomalous; art. 110
                // c.5: a bid whose explanations were not accepted is anomalous too (not automatically)
                anomala: anomalia.escluse.contains(&b.id) || giudicate.contains(&b.id),
                esclusa_automaticamente: anomalia.escluse.contains(&b.id),
                sopra_soglia_anomalia: anomalia.soglia.map(|_| anomalia.escluse.contains(&b.id)),
                ccnl: p.ccnl.clone(),
            }
        })
        .collect();
    Ok(Aggiudicazione {
        cig: lot_cig(l)?,
        offerte,
        offerte_ammesse: lbids.len() as u32,
        soglia_anomalia: anomalia.soglia,
        quadro: None,
        annullata: None,
        senza_vincitore: None,
    })
}

/// A lot in this state ended on its own without an award (deserted, every bid excluded or none suitable,
/// revoked, annulled): the lifecycle owed its own `Bdncp` communication, so its NAG / A1_29 without a
/// winner went for that lot alone, and a later ending of the whole procedure does not report it again.
pub fn ended_alone(s: lifecycle::lot::LotState) -> bool {
    use lifecycle::lot::LotState as S;
    match s {
        S::Deserted | S::NotAwarded | S::Revoked | S::Annulled => true,
        S::Pending
        | S::AdminReview
        | S::TechEval
        | S::EconEval
        | S::Ranked
        | S::AnomalyCheck
        | S::Proposed
        | S::Verified
        | S::Awarded
        | S::Suspended
        | S::ReadyToSign
        | S::Contracted => false,
    }
}

/// The scheda a call of `purpose` sends for the tender (and lot), built from the rows as they are now.
pub fn build(
    p: &Profile,
    base_url: &str,
    r: &TenderRows,
    lot_id: Option<Uuid>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> WResult<Built> {
    let the_lot = || -> WResult<&lot::Model> {
        lot_id
            .and_then(|id| r.lots.iter().find(|l| l.id == id))
            .ok_or(WorkflowError::NotFound("lot"))
    };
    match purpose {
        Purpose::Publication if r.tender.procedure_type.0 == ProcedureType::AffidamentoDiretto => {
            // AD3 creates the appalto and awards it at once (art. 50 c.1 a-b): the operator and amount the
            // decisione di contrarre names (art. 17 c.2), stated on the lot
            let a = appalto(p, base_url, r)?;
            let (_, affidatario, importo) = direct_award_of(r)?;
            let d = AffidamentoDiretto {
                appalto: a,
                affidatario,
                importo,
                data_aggiudicazione: now,
                relazione_unica: true,
            };
            let scheda = pcp::schede::ad3(&d, now).map_err(pcp_err)?;
            Ok(Built {
                scheda,
                eform: None,
            })
        }
        Purpose::Publication => {
            let a = appalto(p, base_url, r)?;
            let (scheda, eform) =
                pcp::schede::publish(&a, &notice_ids(&r.tender, 0x16), &espd_request(&a), now)
                    .map_err(pcp_err)?;
            Ok(Built { scheda, eform })
        }
        Purpose::Bidders => {
            let l = the_lot()?;
            let scheda = pcp::schede::s2(&[elenco(r, l)?], now).map_err(pcp_err)?;
            Ok(Built {
                scheda,
                eform: None,
            })
        }
        Purpose::Award => {
            let l = the_lot()?;
            let mut a = appalto(p, base_url, r)?;
            a.lotti
                .retain(|x| x.lot_identifier == lot_identifier(l.number));
            let e = EsitoAggiudicazione {
                procedura: procedura(&r.tender),
                data_aggiudicazione: now,
                subappalto: Some(false),
                motivo_urgenza: MotivoUrgenza::NonApplicabile,
                link_documenti: None,
                relazione_unica: true,
                opere_urbanizzazione_scomputo: false,
                aggiudicazioni: vec![aggiudicazione(p, r, l)?],
            };
            let (scheda, eform) = pcp::schede::award(
                &a,
                &e,
                &[elenco(r, l)?],
                &notice_ids(&r.tender, 0x29 ^ l.id.as_u128()),
                now,
            )
            .map_err(pcp_err)?;
            Ok(Built { scheda, eform })
        }
        Purpose::Contract => {
            let l = the_lot()?;
            let (id_partecipante, importo) =
                if r.tender.procedure_type.0 == ProcedureType::AffidamentoDiretto {
                    // no bid: the operator and amount of AD3
                    let (_, d, importo) = direct_award_of(r)?;
                    (d.id, importo)
                } else {
                    let w = l
                        .awardee_bid_id
                        .and_then(|id| r.bids.iter().find(|b| b.id == id))
                        .ok_or_else(|| bad("awardee", "the lot has no awardee"))?;
                    (w.id, amount(l, w).0)
                };
            let day = now.date_naive();
            let end = now
                .checked_add_months(Months::new(p.durata_mesi))
                .unwrap_or(now)
                .date_naive();
            let ausa = match committente(p, r)? {
                Committente::PerConto { titolare, .. } => titolare.codice_ausa,
                Committente::Diretto(sa) => sa.codice_ausa,
            };
            let c = Contratto {
                id_partecipante,
                cig: vec![lot_cig(l)?],
                codici_ausa: vec![ausa],
                data_stipula: day,
                data_esecutivita: None,
                data_decorrenza: day,
                data_scadenza: end,
                importo_cauzione: (importo * Decimal::from(p.garanzia_percent)
                    / Decimal::ONE_HUNDRED)
                    .round_dp(2),
            };
            let scheda = pcp::schede::sc1(&c).map_err(pcp_err)?;
            Ok(Built {
                scheda,
                eform: None,
            })
        }
        Purpose::Invitees => {
            let t = &r.tender;
            let invitees = crate::transition::invitees(t);
            let deadline = t
                .deadline
                .ok_or_else(|| bad("deadline", "deadline: the invitations' offer deadline"))?;
            let lotti = r
                .lots
                .iter()
                .filter(|l| l.cig.is_some())
                .map(|l| {
                    let invitati = invitees
                        .iter()
                        .map(|op| invitato(r, l, *op))
                        .collect::<WResult<Vec<_>>>()?;
                    Ok(InvitatiLotto {
                        cig: lot_cig(l)?,
                        data_invito: t.published_at.unwrap_or(now),
                        scadenza_offerte: deadline,
                        invitati,
                    })
                })
                .collect::<WResult<Vec<_>>>()?;
            let scheda = pcp::schede::s1_2(&lotti, now).map_err(pcp_err)?;
            Ok(Built {
                scheda,
                eform: None,
            })
        }
        Purpose::NotAwarded => {
            use lifecycle::lot::LotState;
            use lifecycle::tender::TenderState;
            let lots: Vec<&lot::Model> = match lot_id {
                Some(_) => vec![the_lot()?],
                // the lots that ended alone before the procedure did were reported by their own call
                None => r
                    .lots
                    .iter()
                    .filter(|l| l.cig.is_some() && !ended_alone(l.state.0))
                    .collect(),
            };
            let t = &r.tender;
            // why each lot has no winner (NAG's `giustificazione`, eForms BT-144) and, revoked or
            // annulled, before or after the procedure started (`esitoProceduraAnnullata`)
            let outcome = |l: &lot::Model| {
                let revoked = t.state.0 == TenderState::Revoked || l.state.0 == LotState::Revoked;
                let annulled =
                    t.state.0 == TenderState::Annulled || l.state.0 == LotState::Annulled;
                let has_bids = r.bids.iter().any(|b| b.lot_id == l.id);
                let giustificazione = if revoked {
                    GiustificazioneEsito::CambiamentoEsigenze
                } else if annulled {
                    GiustificazioneEsito::ErroreProcedurale
                } else if has_bids {
                    GiustificazioneEsito::TutteRespinte
                } else {
                    GiustificazioneEsito::NessunaOfferta
                };
                let annullata = (revoked || annulled).then_some(if t.published_at.is_some() {
                    EsitoProceduraAnnullata::DopoLAvvio
                } else {
                    EsitoProceduraAnnullata::PrimaDellAvvio
                });
                (giustificazione, annullata)
            };
            if sopra_soglia(r)? {
                // above the threshold: A1_29 with no winner and the award notice 29 saying `clos-nw`
                let mut a = appalto(p, base_url, r)?;
                let ids: Vec<String> = lots.iter().map(|l| lot_identifier(l.number)).collect();
                a.lotti.retain(|x| ids.contains(&x.lot_identifier));
                let mut aggiudicazioni = Vec::new();
                let mut elenchi = Vec::new();
                for l in &lots {
                    let (why, annullata) = outcome(l);
                    let mut ag = aggiudicazione(p, r, l)?;
                    ag.offerte.iter_mut().for_each(|o| o.aggiudicatario = false);
                    ag.senza_vincitore = Some(why);
                    ag.annullata = annullata;
                    aggiudicazioni.push(ag);
                    elenchi.push(elenco(r, l)?);
                }
                let e = EsitoAggiudicazione {
                    procedura: procedura(t),
                    data_aggiudicazione: now,
                    subappalto: None,
                    motivo_urgenza: MotivoUrgenza::NonApplicabile,
                    link_documenti: None,
                    relazione_unica: true,
                    opere_urbanizzazione_scomputo: false,
                    aggiudicazioni,
                };
                let which = lot_id.map_or(0, |id| id.as_u128());
                let (scheda, eform) =
                    pcp::schede::award(&a, &e, &elenchi, &notice_ids(t, 0x29 ^ 0xA11 ^ which), now)
                        .map_err(pcp_err)?;
                return Ok(Built { scheda, eform });
            }
            let lotti = lots
                .iter()
                .map(|l| {
                    let (giustificazione, annullata) = outcome(l);
                    Ok(MancataAggiudicazione {
                        cig: lot_cig(l)?,
                        giustificazione,
                        annullata,
                    })
                })
                .collect::<WResult<Vec<_>>>()?;
            let scheda = pcp::schede::nag(&lotti, now).map_err(pcp_err)?;
            Ok(Built {
                scheda,
                eform: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The anomaly step read back from what the evaluation crate really writes (MIT circolare 8/2019's
    /// twenty ribassi, metodo A, automatic exclusion).
    #[test]
    fn the_anomaly_threshold_and_the_excluded_bids_come_from_the_stored_evaluation() {
        let ribassi = [
            "10.011", "11.110", "11.110", "11.431", "11.691", "12.751", "12.961", "13.471",
            "13.581", "13.910", "14.721", "14.812", "15.220", "15.627", "16.142", "16.352",
            "16.460", "16.752", "16.875", "16.992",
        ];
        let ids: Vec<Uuid> = (1..=20u128).map(Uuid::from_u128).collect();
        let bids: Vec<serde_json::Value> = ids
            .iter()
            .zip(ribassi)
            .map(|(id, d)| serde_json::json!({"id": id.to_string(), "discount": d}))
            .collect();
        let input = serde_json::json!({"criterion": "lowest_price", "anomaly": {"method": "A"}, "bids": bids});
        let result = evaluation::evaluate_json(&input.to_string()).unwrap();
        let stored = crate::store::evaluation::stored_evaluation(input, result, Utc::now());
        let a = anomalia(Some(&stored.to_string()));
        let soglia = a.soglia.expect("a threshold computed");
        assert_eq!(
            soglia,
            Decimal::new(1488484, 5),
            "14.88483533… to 5 decimals"
        );
        // the bids at or above 14.88484: the last eight ribassi
        assert_eq!(a.escluse.len(), 8, "{a:?}");
        assert!(a.escluse.iter().all(|id| ids[12..].contains(id)), "{a:?}");

        // no automatic exclusion requested, fewer than five bids, or no evaluation: nothing to report
        let none = serde_json::json!({"criterion": "lowest_price", "bids": bids});
        let r = evaluation::evaluate_json(&none.to_string()).unwrap();
        let s = crate::store::evaluation::stored_evaluation(none, r, Utc::now());
        assert_eq!(anomalia(Some(&s.to_string())), Anomalia::default());
        assert_eq!(anomalia(None), Anomalia::default());
        assert_eq!(anomalia(Some("{}")), Anomalia::default());
    }
}
