//! The scheda of each phase, built from our facts: `{"scheda": {"codice": …, "versione": …, "body": …}}`
//! as ANAC's worked example sends it, following the current data model (`modello-dati/schede/`).
//!
//! Every builder checks the codes it writes at the scheda's date (a code out of its validity period is
//! refused) and the ANAC rules of [`crate::rules`] that apply, before returning the body.

use base64::Engine;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use domain::thresholds::ContractObject;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::codes::{
    self, CategoriaMerceologica, ModalitaAcquisizione, SchedaCode, Tipologica, tipologica_raw,
};
use crate::error::PcpError;
use crate::model::{
    Appalto, Committente, Contratto, ElencoLotto, EsitoAggiudicazione, Lotto,
    MancataAggiudicazione, ParitaDiGenere, QuadroEconomico, Quota30, StazioneAppaltante,
};
use crate::rules;

/// A built scheda.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheda {
    pub codice: SchedaCode,
    pub body: Value,
}

impl Scheda {
    /// `{"codice": {"idTipologica": "codiceScheda", "codice": …}, "versione": …, "body": …}`.
    pub fn envelope(&self) -> Value {
        json!({
            "codice": codes::tipologica_json(self.codice),
            "versione": self.codice.versione(),
            "body": self.body,
        })
    }

    /// The body of `crea-appalto` (`{"scheda": …}`) for the schede that create the appalto, of `crea-scheda`
    /// (`{"idAppalto": …, "scheda": …}`) for the others. This is also the file `sua demo` writes.
    pub fn request(&self, id_appalto: Option<Uuid>) -> Value {
        match id_appalto {
            Some(id) if !self.codice.creates_appalto() => {
                json!({"idAppalto": id.to_string(), "scheda": self.envelope()})
            }
            _ => json!({"scheda": self.envelope()}),
        }
    }
}

/// A money amount as a JSON number. ANAC's schemas say `number/double`; an amount in euro with at most
/// two decimals and up to 13 integer digits is a double whose shortest text is the same decimal, which is
/// checked here (the JSON carries exactly the decimal we hold).
pub fn money(d: Decimal, field: &str) -> Result<Value, PcpError> {
    let d = d.normalize();
    if d.scale() == 0
        && let Some(i) = d.to_i64()
    {
        return Ok(json!(i));
    }
    let f = d
        .to_f64()
        .ok_or_else(|| PcpError::invalid(field, "amount out of range"))?;
    let n =
        serde_json::Number::from_f64(f).ok_or_else(|| PcpError::invalid(field, "not finite"))?;
    if n.to_string() != d.to_string() {
        return Err(PcpError::invalid(
            field,
            format!("{d} has no exact JSON number representation"),
        ));
    }
    Ok(Value::Number(n))
}

fn date_time(d: DateTime<Utc>) -> Value {
    Value::String(d.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn date(d: NaiveDate) -> Value {
    date_time(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

fn tip<T: Tipologica>(t: T, at: DateTime<Utc>) -> Result<Value, PcpError> {
    codes::check(t, at)?;
    Ok(codes::tipologica_json(t))
}

fn raw(list: &str, code: &str, at: DateTime<Utc>) -> Result<Value, PcpError> {
    codes::check_code(list, code, at)?;
    Ok(tipologica_raw(list, code))
}

fn sa_json(
    sa: &StazioneAppaltante,
    titolare: bool,
    funzioni: &[codes::FunzioniSvolte],
    at: DateTime<Utc>,
) -> Result<Value, PcpError> {
    let mut m = Map::new();
    m.insert("codiceFiscale".into(), json!(sa.codice_fiscale.as_str()));
    m.insert("codiceAusa".into(), json!(sa.codice_ausa));
    m.insert("codiceCentroCosto".into(), json!(sa.codice_centro_costo));
    m.insert("saTitolare".into(), json!(titolare));
    if !funzioni.is_empty() {
        let f: Result<Vec<Value>, PcpError> = funzioni.iter().map(|f| tip(*f, at)).collect();
        m.insert("funzioniSvolte".into(), Value::Array(f?));
    }
    Ok(Value::Object(m))
}

/// `stazioniAppaltanti`: the SA alone, or the Comune (`saTitolare`) and the Province as CUC with the
/// functions it performs.
pub fn stazioni_appaltanti(c: &Committente, at: DateTime<Utc>) -> Result<Value, PcpError> {
    Ok(match c {
        Committente::Diretto(sa) => json!([sa_json(sa, true, &[], at)?]),
        Committente::PerConto {
            cuc,
            titolare,
            funzioni,
        } => json!([
            sa_json(titolare, true, &[], at)?,
            sa_json(cuc, false, funzioni, at)?
        ]),
    })
}

fn quadro_json(q: &QuadroEconomico) -> Result<Value, PcpError> {
    let f = |d: Decimal, n: &str| money(d, &format!("quadroEconomicoStandard.{n}"));
    Ok(json!({
        "impLavori": f(q.lavori, "impLavori")?,
        "impServizi": f(q.servizi, "impServizi")?,
        "impForniture": f(q.forniture, "impForniture")?,
        "impTotaleSicurezza": f(q.sicurezza, "impTotaleSicurezza")?,
        "ulterioriSommeNoRibasso": f(q.ulteriori_somme_no_ribasso, "ulterioriSommeNoRibasso")?,
        "impProgettazione": f(q.progettazione, "impProgettazione")?,
        "sommeOpzioniRinnovi": f(q.opzioni_rinnovi, "sommeOpzioniRinnovi")?,
        "sommeRipetizioni": f(q.ripetizioni, "sommeRipetizioni")?,
        "sommeADisposizione": f(q.somme_a_disposizione, "sommeADisposizione")?,
    }))
}

fn parita_json(p: &ParitaDiGenere, at: DateTime<Utc>) -> Result<Value, PcpError> {
    let quota = match p.quota30 {
        Quota30::Si => "SI",
        Quota30::No => "NO",
        Quota30::SiQuotaInferiore => "SI_QUOTA_INFERIORE",
    };
    let mut m = Map::new();
    m.insert("quota30PerCento".into(), json!(quota));
    if p.quota30 == Quota30::SiQuotaInferiore {
        m.insert(
            "quotaInferioreOccupFemminile".into(),
            money(p.quota_femminile, "quotaInferioreOccupFemminile")?,
        );
        m.insert(
            "quotaInferioreOccupGiovanile".into(),
            money(p.quota_giovanile, "quotaInferioreOccupGiovanile")?,
        );
    }
    if !p.motivi_deroga.is_empty() {
        let v: Result<Vec<Value>, PcpError> = p
            .motivi_deroga
            .iter()
            .map(|c| raw("motivoDeroga", c, at))
            .collect();
        m.insert("motivoDeroga".into(), Value::Array(v?));
    }
    if !p.misure_premiali.is_empty() {
        let v: Result<Vec<Value>, PcpError> = p
            .misure_premiali
            .iter()
            .map(|c| raw("misurePremiali", c, at))
            .collect();
        m.insert("misurePremiali".into(), Value::Array(v?));
    }
    Ok(Value::Object(m))
}

fn categorie(cats: &[CategoriaMerceologica], at: DateTime<Utc>) -> Result<Value, PcpError> {
    let v: Result<Vec<Value>, PcpError> = cats.iter().map(|c| tip(*c, at)).collect();
    Ok(Value::Array(v?))
}

/// A lot as `LottoP_16Type` (= `LottoBaseType` + P_16 fields).
fn lotto_p16(l: &Lotto, appalto: &Appalto, at: DateTime<Utc>) -> Result<Value, PcpError> {
    let mut m = Map::new();
    m.insert("lotIdentifier".into(), json!(l.lot_identifier));
    m.insert(
        "categorieMerceologiche".into(),
        categorie(&appalto.categorie_merceologiche, at)?,
    );
    m.insert(
        "contrattiDisposizioniParticolari".into(),
        tip(l.disposizioni_particolari, at)?,
    );
    m.insert("codIstat".into(), tipologica_raw("codIstat", &l.cod_istat));
    m.insert("afferenteInvestimentiPNRR".into(), json!(l.pnrr));
    m.insert("acquisizioneCup".into(), json!(l.acquisizione_cup));
    if !l.cup.is_empty() {
        m.insert(
            "cupLotto".into(),
            Value::Array(l.cup.iter().map(|c| json!(c.as_str())).collect()),
        );
    }
    let fin: Result<Vec<Value>, PcpError> = l
        .finanziamenti
        .iter()
        .map(|f| {
            Ok(json!({
                "tipoFinanziamento": tip(f.tipo, at)?,
                "importo": money(f.importo, "finanziamenti.importo")?,
            }))
        })
        .collect();
    m.insert("finanziamenti".into(), Value::Array(fin?));
    m.insert("prestazioniComprese".into(), tip(l.prestazioni, at)?);
    m.insert(
        "servizioPubblicoLocale".into(),
        json!(l.servizio_pubblico_locale),
    );
    m.insert(
        "ripetizioniEConsegneComplementari".into(),
        json!(l.ripetizioni),
    );
    m.insert(
        "lavoroOAcquistoPrevistoInProgrammazione".into(),
        json!(l.in_programmazione),
    );
    if let Some(cui) = &l.cui {
        m.insert("cui".into(), json!(cui));
    }
    if let Some(s) = l.strumenti_elettronici {
        m.insert("strumentiElettroniciSpecifici".into(), json!(s));
    }
    if let Some(d) = l.doc_fap {
        m.insert("docFAP".into(), json!(d));
    }
    m.insert("ccnl".into(), raw("ccnl", &l.ccnl, at)?);
    m.insert("opzioniRinnovi".into(), json!(l.opzioni_rinnovi));
    let mut coll = Map::new();
    if !l.cig_collegati.is_empty() {
        coll.insert(
            "cigCollegato".into(),
            Value::Array(l.cig_collegati.iter().map(|c| json!(c.as_str())).collect()),
        );
    }
    coll.insert("motivoCollegamento".into(), tip(l.collegamento, at)?);
    m.insert("ipotesiCollegamento".into(), Value::Object(coll));
    m.insert("categoria".into(), raw("categoria", &l.categoria, at)?);
    if !l.categorie_scorporabili.is_empty() {
        let v: Result<Vec<Value>, PcpError> = l
            .categorie_scorporabili
            .iter()
            .map(|c| raw("categoria", c, at))
            .collect();
        m.insert("categoriaScorporabile".into(), Value::Array(v?));
    }
    if l.oggetto == ContractObject::Supplies {
        m.insert(
            "modalitaAcquisizione".into(),
            tip(ModalitaAcquisizione::Acquisto, at)?,
        );
    }
    if let Some(p) = &l.parita {
        m.insert("paritaDiGenereGenerazionale".into(), parita_json(p, at)?);
    }
    m.insert("quadroEconomicoStandard".into(), quadro_json(&l.quadro)?);
    Ok(Value::Object(m))
}

fn appalto_p16(a: &Appalto, at: DateTime<Utc>) -> Result<Value, PcpError> {
    let mut m = Map::new();
    m.insert("codiceAppalto".into(), json!(a.codice_appalto));
    m.insert(
        "categorieMerceologiche".into(),
        categorie(&a.categorie_merceologiche, at)?,
    );
    m.insert("motivoUrgenza".into(), tip(a.motivo_urgenza, at)?);
    if let Some(link) = &a.link_documenti {
        m.insert("linkDocumenti".into(), json!(link));
    }
    Ok(Value::Object(m))
}

fn b64(xml: &str) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(xml.as_bytes()))
}

/// P1_16: the bando of an open procedure, ordinary sectors, sent to TED with eForm 16 (art. 71, 84-85).
/// `eform_xml` is the contract notice ([`crate::eforms::contract_notice`]); `espd_xml` the ESPD request.
/// `at` is the time of sending (codes are checked at it, the offer deadline must follow it).
pub fn p1_16(
    a: &Appalto,
    eform_xml: &str,
    espd_xml: &str,
    at: DateTime<Utc>,
) -> Result<Scheda, PcpError> {
    rules::check_publication(SchedaCode::P1_16, a, at)?;
    let lotti: Result<Vec<Value>, PcpError> = a.lotti.iter().map(|l| lotto_p16(l, a, at)).collect();
    let body = json!({
        "anacForm": {
            "stazioniAppaltanti": stazioni_appaltanti(&a.committente, at)?,
            "appalto": appalto_p16(a, at)?,
            "lotti": lotti?,
        },
        "eform": b64(eform_xml),
        "espd": b64(espd_xml),
    });
    Ok(Scheda {
        codice: SchedaCode::P1_16,
        body,
    })
}

fn oggetto_contratto(o: ContractObject) -> &'static str {
    match o {
        ContractObject::Works => "works",
        ContractObject::Services => "services",
        ContractObject::Supplies => "supplies",
    }
}

/// P2_16: the bando of an open procedure below the EU threshold (art. 50 c.1 d), no TED). Without an
/// eForm, the data TED would read from it go in the scheda's `datiBase*` groups. `espd_xml` is the ESPD
/// request.
pub fn p2_16(a: &Appalto, espd_xml: &str, at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    rules::check_publication(SchedaCode::P2_16, a, at)?;
    let mut appalto = appalto_p16(a, at)?;
    appalto["datiBase"] = json!({
        "oggetto": a.titolo,
        "importo": money(a.valore_stimato(), "appalto.datiBase.importo")?,
    });
    appalto["datiBaseProcedura"] = json!({"tipoProcedura": raw("tipoProcedura", "open", at)?});
    appalto["datiBaseStrumentiProcedura"] = json!({
        "accordoQuadro": raw("accordoQuadro", "none", at)?,
        "sistemaDinamicoAcquisizione": raw("sistemaDinamicoAcquisizione", "none", at)?,
        "astaElettronica": false,
    });
    let criterio = match a.criterio {
        domain::award::AwardCriterion::LowestPrice => "price",
        domain::award::AwardCriterion::QualityPrice => "quality",
    };
    let mut lotti = Vec::new();
    for l in &a.lotti {
        let mut v = lotto_p16(l, a, at)?;
        v["datiBase"] = json!({
            "oggettoContratto": raw("oggettoContratto", oggetto_contratto(l.oggetto), at)?,
            "oggetto": l.titolo,
            "importo": money(l.quadro.valore_stimato(), "lotti.datiBase.importo")?,
        });
        v["datiBaseContratto"] = json!({"codNUTS": tipologica_raw("codNUTS", l.nuts.as_str())});
        v["datiBaseAggiuntivi"] =
            json!({"affidamentiRiservati": [raw("affidamentiRiservati", "none", at)?]});
        v["datiBaseAggiudicazione"] =
            json!({"criteriAggiudicazione": raw("criteriAggiudicazione", criterio, at)?});
        v["datiBaseTerminiInvio"] =
            json!({"scadenzaPresentazioneOfferte": date_time(l.scadenza_offerte)});
        v["datiBaseCPV"] = json!({
            "tipoClassificazione": raw("tipoClassificazione", "cpv", at)?,
            "cpvPrevalente": tipologica_raw("CPV", l.cpv.code()),
        });
        v["datiBaseDocumenti"] =
            json!({"url": a.url_documenti, "lingue": [raw("lingue", "ITA", at)?]});
        lotti.push(v);
    }
    Ok(Scheda {
        codice: SchedaCode::P2_16,
        body: json!({
            "anacForm": {
                "stazioniAppaltanti": stazioni_appaltanti(&a.committente, at)?,
                "appalto": appalto,
                "lotti": lotti,
            },
            "espd": b64(espd_xml),
        }),
    })
}

/// P7_2: a negotiated procedure without a bando below the threshold, offers requested from operators drawn
/// from the register (art. 50 c.1 c)-e), `condizioniNegoziata` 45). The list of invitees goes later, in
/// S1_2 / S2.
pub fn p7_2(a: &Appalto, at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    rules::check_publication(SchedaCode::P7_2, a, at)?;
    let mut appalto = Map::new();
    appalto.insert("codiceAppalto".into(), json!(a.codice_appalto));
    appalto.insert("contrattoDifesa".into(), json!(false));
    appalto.insert("settore".into(), raw("settore", "1", at)?);
    appalto.insert(
        "categorieMerceologiche".into(),
        categorie(&a.categorie_merceologiche, at)?,
    );
    appalto.insert("motivoUrgenza".into(), tip(a.motivo_urgenza, at)?);
    if let Some(link) = &a.link_documenti {
        appalto.insert("linkDocumenti".into(), json!(link));
    }
    appalto.insert(
        "datiBase".into(),
        json!({"oggetto": a.titolo, "importo": money(a.valore_stimato(), "appalto.datiBase.importo")?}),
    );
    appalto.insert(
        "datiBaseProcedura".into(),
        json!({"tipoProcedura": raw("tipoProcedura", "neg-wo-call", at)?}),
    );
    appalto.insert(
        "datiBaseStrumentiProcedura".into(),
        json!({"accordoQuadro": raw("accordoQuadro", "none", at)?, "astaElettronica": false}),
    );
    let criterio = match a.criterio {
        domain::award::AwardCriterion::LowestPrice => "price",
        domain::award::AwardCriterion::QualityPrice => "quality",
    };
    let mut lotti = Vec::new();
    for l in &a.lotti {
        let mut v = lotto_p16(l, a, at)?;
        v["condizioniNegoziata"] = json!([raw("condizioniNegoziata", "45", at)?]);
        v["tipoRealizzazione"] = raw("tipoRealizzazione", "1", at)?;
        v["datiBase"] = json!({
            "oggettoContratto": raw("oggettoContratto", oggetto_contratto(l.oggetto), at)?,
            "oggetto": l.titolo,
            "importo": money(l.quadro.valore_stimato(), "lotti.datiBase.importo")?,
        });
        v["datiBaseCPV"] = json!({
            "tipoClassificazione": raw("tipoClassificazione", "cpv", at)?,
            "cpvPrevalente": tipologica_raw("CPV", l.cpv.code()),
        });
        v["datiBaseContratto"] = json!({"codNUTS": tipologica_raw("codNUTS", l.nuts.as_str())});
        v["datiBaseAggiudicazione"] =
            json!({"criteriAggiudicazione": raw("criteriAggiudicazione", criterio, at)?});
        v["datiBaseAggiuntivi"] =
            json!({"affidamentiRiservati": [raw("affidamentiRiservati", "none", at)?]});
        v["datiBaseDocumenti"] = json!({"url": a.url_documenti});
        v["datiBaseTerminiInvio"] =
            json!({"scadenzaPresentazioneOfferte": date_time(l.scadenza_offerte)});
        lotti.push(v);
    }
    Ok(Scheda {
        codice: SchedaCode::P7_2,
        body: json!({
            "anacForm": {
                "stazioniAppaltanti": stazioni_appaltanti(&a.committente, at)?,
                "appalto": appalto,
                "lotti": lotti,
            },
        }),
    })
}

/// AD3: a direct award below the art. 50 c.1 a)-b) limits (≥ 5,000 euro), which creates the appalto and
/// awards it at once (no publication, no TED).
pub fn ad3(d: &crate::model::AffidamentoDiretto, at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    let a = &d.appalto;
    if d.affidatario.membri.len() != 1 {
        return Err(PcpError::invalid(
            "affidatario",
            "a direct award is reported here for a single operator",
        ));
    }
    rules::check_direct_award(a, d.importo, d.affidatario.membri.len())?;
    let mut appalto = Map::new();
    appalto.insert("codiceAppalto".into(), json!(a.codice_appalto));
    appalto.insert("contrattoDifesa".into(), json!(false));
    appalto.insert("settore".into(), raw("settore", "1", at)?);
    appalto.insert("accordoQuadro".into(), json!(false));
    appalto.insert("motivoUrgenza".into(), tip(a.motivo_urgenza, at)?);
    if let Some(link) = &a.link_documenti {
        appalto.insert("linkDocumenti".into(), json!(link));
    }
    appalto.insert(
        "relazioneUnicaSulleProcedure".into(),
        json!(d.relazione_unica),
    );
    appalto.insert("opereUrbanizzazioneScomputo".into(), json!(false));
    appalto.insert("datiBase".into(), json!({"oggetto": a.titolo}));
    let membro = &d.affidatario.membri[0];
    let mut p = Map::new();
    p.insert("codiceFiscale".into(), json!(membro.id.as_str()));
    p.insert("denominazione".into(), json!(membro.denominazione));
    p.insert("ruoloOE".into(), tip(membro.ruolo, at)?);
    p.insert("tipoOE".into(), tip(membro.tipo, at)?);
    p.insert("idPartecipante".into(), json!(d.affidatario.id.to_string()));
    p.insert("paeseOperatoreEconomico".into(), json!(membro.id.paese()));
    p.insert(
        "avvalimento".into(),
        json!(d.affidatario.avvalimento.is_some()),
    );
    if let Some((tipo, _)) = &d.affidatario.avvalimento {
        p.insert("tipologiaAvvalimento".into(), tip(*tipo, at)?);
    }
    p.insert("importo".into(), money(d.importo, "partecipanti.importo")?);
    let mut aggiudicazioni = Vec::new();
    for l in &a.lotti {
        let mut m = Map::new();
        m.insert("lotIdentifier".into(), json!(l.lot_identifier));
        m.insert("partecipanti".into(), json!([Value::Object(p.clone())]));
        m.insert("ccnl".into(), raw("ccnl", &l.ccnl, at)?);
        m.insert("categoria".into(), raw("categoria", &l.categoria, at)?);
        m.insert("codIstat".into(), tipologica_raw("codIstat", &l.cod_istat));
        m.insert("afferenteInvestimentiPNRR".into(), json!(l.pnrr));
        m.insert("acquisizioneCup".into(), json!(l.acquisizione_cup));
        if !l.cup.is_empty() {
            m.insert(
                "cupLotto".into(),
                Value::Array(l.cup.iter().map(|c| json!(c.as_str())).collect()),
            );
        }
        if let Some(par) = &l.parita {
            m.insert("paritaDiGenereGenerazionale".into(), parita_json(par, at)?);
        }
        m.insert("quadroEconomicoStandard".into(), quadro_json(&l.quadro)?);
        m.insert(
            "datiBase".into(),
            json!({"oggetto": l.titolo, "oggettoContratto": raw("oggettoContratto", oggetto_contratto(l.oggetto), at)?}),
        );
        m.insert(
            "datiBaseCPV".into(),
            json!({
                "tipoClassificazione": raw("tipoClassificazione", "cpv", at)?,
                "cpvPrevalente": tipologica_raw("CPV", l.cpv.code()),
            }),
        );
        m.insert(
            "datiBaseContratto".into(),
            json!({"codNUTS": tipologica_raw("codNUTS", l.nuts.as_str())}),
        );
        m.insert(
            "datiBaseAggiudicazioneAppalto".into(),
            json!({"dataAggiudicazione": date_time(d.data_aggiudicazione)}),
        );
        m.insert("datiBaseDocumenti".into(), json!({"url": a.url_documenti}));
        if let Some(s) = l.strumenti_elettronici {
            m.insert("strumentiElettroniciSpecifici".into(), json!(s));
        }
        if let Some(f) = l.doc_fap {
            m.insert("docFAP".into(), json!(f));
        }
        aggiudicazioni.push(Value::Object(m));
    }
    Ok(Scheda {
        codice: SchedaCode::AD3,
        body: json!({
            "anacForm": {
                "stazioniAppaltanti": stazioni_appaltanti(&a.committente, at)?,
                "appalto": appalto,
                "aggiudicazioni": aggiudicazioni,
            },
        }),
    })
}

/// The publication scheda of a procedure: P1_16 above the EU threshold (with the contract notice 16),
/// P2_16 below it, P7_2 for a negotiated procedure without a bando below it. A direct award has no
/// publication: its scheda is [`ad3`]. Above the threshold only the open procedure is built (the
/// negotiated procedures of art. 76 would need P7_1_x/A7_1_x, see `docs/pcp.md`): refused here rather than
/// sent with the wrong scheda.
pub fn publication(
    a: &Appalto,
    eform_xml: &str,
    espd_xml: &str,
    at: DateTime<Utc>,
) -> Result<Scheda, PcpError> {
    use crate::model::Procedura;
    match (a.procedura, a.sopra_soglia) {
        (Procedura::Aperta, true) => p1_16(a, eform_xml, espd_xml, at),
        (Procedura::Aperta, false) => p2_16(a, espd_xml, at),
        (Procedura::NegoziataSenzaBando, false) => p7_2(a, at),
        (p, sopra) => Err(PcpError::invalid(
            "procedura",
            format!("{p:?} (sopra soglia: {sopra}) has no publication scheda built here"),
        )),
    }
}

/// The publication of a tender, ready to send: the scheda [`publication`] picks and, above the threshold,
/// the contract notice it carries (also returned, for the record: `sua demo` writes it to
/// `DIR/pcp/eforms/`).
pub fn publish(
    a: &Appalto,
    ids: &crate::eforms::NoticeIds,
    espd_xml: &str,
    at: DateTime<Utc>,
) -> Result<(Scheda, Option<String>), PcpError> {
    if a.sopra_soglia {
        let cn = crate::eforms::contract_notice(a, ids, at)?;
        let s = publication(a, &cn, espd_xml, at)?;
        Ok((s, Some(cn)))
    } else {
        Ok((publication(a, "", espd_xml, at)?, None))
    }
}

/// The award of a tender, ready to send: A1_29 with the contract award notice above the threshold
/// (returned too), A2_29 below it.
pub fn award(
    a: &Appalto,
    e: &EsitoAggiudicazione,
    elenco: &[ElencoLotto],
    ids: &crate::eforms::NoticeIds,
    at: DateTime<Utc>,
) -> Result<(Scheda, Option<String>), PcpError> {
    if a.sopra_soglia {
        let can = crate::eforms::award_notice(a, e, elenco, ids, at)?;
        Ok((a1_29(e, &can, at)?, Some(can)))
    } else {
        Ok((a2_29(e, at)?, None))
    }
}

/// S1_2: for each lot of a negotiated procedure, the operators invited, the invitation date and the offer
/// deadline.
pub fn s1_2(lotti: &[crate::model::InvitatiLotto], at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    rules::check_s1_2(lotti)?;
    let mut elenco = Vec::new();
    for l in lotti {
        let mut invitati = Vec::new();
        for p in &l.invitati {
            for m in &p.membri {
                invitati.push(json!({
                    "codiceFiscale": m.id.as_str(),
                    "denominazione": m.denominazione,
                    "ruoloOE": tip(m.ruolo, at)?,
                    "tipoOE": tip(m.tipo, at)?,
                    "idPartecipante": p.id.to_string(),
                }));
            }
        }
        elenco.push(json!({
            "cig": l.cig.as_str(),
            "dataInvito": date_time(l.data_invito),
            "scadenzaPresentazioneOfferte": date_time(l.scadenza_offerte),
            "elencoInvitati": invitati,
        }));
    }
    Ok(Scheda {
        codice: SchedaCode::S1_2,
        body: json!({"anacForm": {"elencoSoggetti": elenco}}),
    })
}

/// S2: for each lot, the operators that submitted a bid (every member of a grouping, with its role).
pub fn s2(lotti: &[ElencoLotto], at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    rules::check_s2(lotti)?;
    let mut elenco = Vec::new();
    for l in lotti {
        let mut partecipanti = Vec::new();
        for p in &l.partecipanti {
            for membro in &p.membri {
                let mut m = Map::new();
                m.insert("codiceFiscale".into(), json!(membro.id.as_str()));
                m.insert("denominazione".into(), json!(membro.denominazione));
                m.insert("ruoloOE".into(), tip(membro.ruolo, at)?);
                m.insert("tipoOE".into(), tip(membro.tipo, at)?);
                m.insert("idPartecipante".into(), json!(p.id.to_string()));
                m.insert("paeseOperatoreEconomico".into(), json!(membro.id.paese()));
                m.insert("avvalimento".into(), json!(p.avvalimento.is_some()));
                if let Some((tipo, _)) = &p.avvalimento {
                    m.insert("tipologiaAvvalimento".into(), tip(*tipo, at)?);
                }
                partecipanti.push(Value::Object(m));
            }
        }
        elenco.push(json!({"cig": l.cig.as_str(), "partecipanti": partecipanti}));
    }
    Ok(Scheda {
        codice: SchedaCode::S2,
        body: json!({"anacForm": {"elencoSoggetti": elenco}}),
    })
}

/// A1_29: the award of an above-threshold procedure, with eForm 29 to TED (art. 111).
pub fn a1_29(
    e: &EsitoAggiudicazione,
    eform_xml: &str,
    at: DateTime<Utc>,
) -> Result<Scheda, PcpError> {
    rules::check_award(SchedaCode::A1_29, e)?;
    let (appalto, aggiudicazioni) = award_parts(e, at)?;
    Ok(Scheda {
        codice: SchedaCode::A1_29,
        body: json!({
            "anacForm": {"appalto": appalto, "aggiudicazioni": aggiudicazioni},
            "eform": b64(eform_xml),
        }),
    })
}

/// A2_29: the award of a below-threshold procedure (art. 50 c.9), no TED: what eForm 29 would say goes in
/// the `datiBase*` groups (procedure, techniques, subcontracting, award date, result).
pub fn a2_29(e: &EsitoAggiudicazione, at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    rules::check_award(SchedaCode::A2_29, e)?;
    let (mut appalto, mut aggiudicazioni) = award_parts(e, at)?;
    let tipo = match e.procedura {
        crate::model::Procedura::Aperta => "open",
        crate::model::Procedura::NegoziataSenzaBando => "neg-wo-call",
        crate::model::Procedura::AffidamentoDiretto => {
            return Err(PcpError::invalid(
                "procedura",
                "a direct award is reported with AD3, not A2_29",
            ));
        }
    };
    appalto["datiBaseProcedura"] = json!({"tipoProcedura": raw("tipoProcedura", tipo, at)?});
    appalto["datiBaseStrumentiProcedura"] = json!({
        "accordoQuadro": raw("accordoQuadro", "none", at)?,
        "sistemaDinamicoAcquisizione": raw("sistemaDinamicoAcquisizione", "none", at)?,
        "astaElettronica": false,
    });
    let sub = match e.subappalto {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not-known",
    };
    appalto["datiBaseSubappalti"] = json!({"subappalto": raw("subappalto", sub, at)?});
    for (ag, v) in e.aggiudicazioni.iter().zip(aggiudicazioni.iter_mut()) {
        let esito = if ag.offerte.iter().any(|o| o.aggiudicatario) {
            codes::EsitoProcedura::ConVincitore
        } else {
            codes::EsitoProcedura::ChiusaSenzaVincitore
        };
        v["datiBaseAggiudicazioneAppalto"] =
            json!({"dataAggiudicazione": date_time(e.data_aggiudicazione)});
        v["datiBaseRisultatoProcedura"] = json!({"esitoProcedura": tip(esito, at)?});
    }
    Ok(Scheda {
        codice: SchedaCode::A2_29,
        body: json!({"anacForm": {"appalto": appalto, "aggiudicazioni": aggiudicazioni}}),
    })
}

/// The `appalto` and `aggiudicazioni` shared by A1_29 and A2_29.
fn award_parts(
    e: &EsitoAggiudicazione,
    at: DateTime<Utc>,
) -> Result<(Value, Vec<Value>), PcpError> {
    let mut appalto = Map::new();
    appalto.insert("motivoUrgenza".into(), tip(e.motivo_urgenza, at)?);
    if let Some(link) = &e.link_documenti {
        appalto.insert("linkDocumenti".into(), json!(link));
    }
    appalto.insert(
        "relazioneUnicaSulleProcedure".into(),
        json!(e.relazione_unica),
    );
    appalto.insert(
        "opereUrbanizzazioneScomputo".into(),
        json!(e.opere_urbanizzazione_scomputo),
    );
    let mut aggiudicazioni = Vec::new();
    for ag in &e.aggiudicazioni {
        let mut m = Map::new();
        m.insert("cig".into(), json!(ag.cig.as_str()));
        if let Some(s) = ag.soglia_anomalia {
            m.insert(
                "valoreSogliaAnomalia".into(),
                money(s, "valoreSogliaAnomalia")?,
            );
        }
        let mut offerte = Vec::new();
        for o in &ag.offerte {
            let mut om = Map::new();
            om.insert(
                "idPartecipante".into(),
                json!(o.id_partecipante.to_string()),
            );
            om.insert(
                "importo".into(),
                money(o.importo, "offertePresentate.importo")?,
            );
            om.insert("aggiudicatario".into(), json!(o.aggiudicatario));
            om.insert("ccnl".into(), raw("ccnl", &o.ccnl, at)?);
            if let Some(p) = o.posizione {
                om.insert("posizioneGraduatoria".into(), json!(p));
            }
            if let Some(r) = o.ribasso {
                om.insert("offertaEconomica".into(), money(r, "offertaEconomica")?);
            }
            if let Some(q) = o.punteggio_qualita {
                om.insert("offertaQualitativa".into(), money(q, "offertaQualitativa")?);
            }
            if let Some(s) = o.sopra_soglia_anomalia {
                om.insert("offertaMaggioreSogliaAnomalia".into(), json!(s));
            }
            om.insert(
                "impresaEsclusaAutomaticamente".into(),
                json!(o.esclusa_automaticamente),
            );
            om.insert("offertaAnomala".into(), json!(o.anomala));
            offerte.push(Value::Object(om));
        }
        m.insert("offertePresentate".into(), Value::Array(offerte));
        m.insert("numeroOfferteAmmesse".into(), json!(ag.offerte_ammesse));
        if let Some(q) = &ag.quadro {
            m.insert("quadroEconomicoStandard".into(), quadro_json(q)?);
        }
        if let Some(x) = ag.annullata {
            m.insert("esitoProceduraAnnullata".into(), tip(x, at)?);
        }
        aggiudicazioni.push(Value::Object(m));
    }
    Ok((Value::Object(appalto), aggiudicazioni))
}

/// SC1: the signed contract (art. 18).
pub fn sc1(c: &Contratto) -> Result<Scheda, PcpError> {
    rules::check_sc1(c)?;
    let mut m = Map::new();
    m.insert(
        "codiceAusa".into(),
        Value::Array(c.codici_ausa.iter().map(|a| json!(a)).collect()),
    );
    m.insert(
        "idPartecipante".into(),
        json!(c.id_partecipante.to_string()),
    );
    m.insert(
        "cig".into(),
        Value::Array(c.cig.iter().map(|x| json!(x.as_str())).collect()),
    );
    m.insert("dataStipula".into(), date(c.data_stipula));
    if let Some(d) = c.data_esecutivita {
        m.insert("dataEsecutivita".into(), date(d));
    }
    m.insert("dataDecorrenza".into(), date(c.data_decorrenza));
    m.insert("dataScadenza".into(), date(c.data_scadenza));
    m.insert(
        "importoCauzione".into(),
        money(c.importo_cauzione, "importoCauzione")?,
    );
    Ok(Scheda {
        codice: SchedaCode::SC1,
        body: json!({"anacForm": {"datiContratto": m}}),
    })
}

/// NAG: lots of a below-threshold procedure that end without an award: deserted (`no-rece`), every bid
/// excluded (`all-rej`), or annulled/revoked (with `esitoProceduraAnnullata`).
pub fn nag(lotti: &[MancataAggiudicazione], at: DateTime<Utc>) -> Result<Scheda, PcpError> {
    if lotti.is_empty() {
        return Err(PcpError::invalid("lotti", "NAG needs at least one lot"));
    }
    let mut out = Vec::new();
    for l in lotti {
        let mut m = Map::new();
        m.insert("cig".into(), json!(l.cig.as_str()));
        m.insert(
            "datiBaseRisultatoProcedura".into(),
            json!({"giustificazione": tip(l.giustificazione, at)?}),
        );
        if let Some(a) = l.annullata {
            m.insert("esitoProceduraAnnullata".into(), tip(a, at)?);
        }
        out.push(Value::Object(m));
    }
    Ok(Scheda {
        codice: SchedaCode::NAG,
        body: json!({"anacForm": {"lotti": out}}),
    })
}
