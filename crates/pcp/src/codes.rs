//! ANAC's code lists (*tipologiche*, `modello-dati/tipologiche/*.json`) as Rust enums.
//!
//! The enums are written by hand, with names a reader understands, and checked against the vendored JSON
//! by `tests/codes.rs`: each variant's code exists in its list, and for the lists marked `complete` the
//! enum has every code of the list (a code ANAC adds makes the test fail). The validity dates are read from
//! the vendored JSON itself when a code is written ([`check`]), so they cannot drift.
//! Long lists we only pass through (CCNL, SOA categories) stay strings, checked against the vendored list
//! by [`check_code`].
//!
//! A code has a validity period (`dataInizio`/`dataFine`): ANAC refuses a code out of its period, so the
//! builders check every code at the scheda's date ([`check_code`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Serialize, Serializer, ser::SerializeMap};

use crate::error::PcpError;

/// A value of one of ANAC's code lists: serialised as `{"idTipologica": …, "codice": …}`.
pub trait Tipologica: Copy + 'static {
    /// The list's name (`idTipologica`, also the file name in `tipologiche/`).
    const ID: &'static str;
    /// Whether the enum holds every code of the list (checked by `tests/codes.rs`).
    const COMPLETE: bool;
    /// Every variant.
    fn all() -> &'static [Self];
    /// ANAC's code.
    fn code(self) -> &'static str;
}

/// `{"idTipologica": …, "codice": …}` of any code list value.
pub fn tipologica_json<T: Tipologica>(t: T) -> serde_json::Value {
    serde_json::json!({"idTipologica": T::ID, "codice": t.code()})
}

/// `{"idTipologica": list, "codice": code}` for a list kept as strings.
pub fn tipologica_raw(list: &str, code: &str) -> serde_json::Value {
    serde_json::json!({"idTipologica": list, "codice": code})
}

macro_rules! tipologica {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($id:literal, complete = $complete:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $code:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl Tipologica for $name {
            const ID: &'static str = $id;
            const COMPLETE: bool = $complete;
            fn all() -> &'static [Self] {
                &[$( Self::$variant, )+]
            }
            fn code(self) -> &'static str {
                match self {
                    $( Self::$variant => $code, )+
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("idTipologica", $id)?;
                m.serialize_entry("codice", self.code())?;
                m.end()
            }
        }
    };
}

tipologica! {
    /// What a stazione appaltante does in the appalto (`funzioniSvolte`): the CUC's delegated functions.
    pub enum FunzioniSvolte ("funzioniSvolte", complete = true) {
        SoloAggiudicazione => "1",
        AggiudicazioneEStipula => "2",
        AggiudicazioneStipulaEsecuzione => "3",
        PropostaDiAggiudicazione => "4",
    }
}

tipologica! {
    /// The legal form of an economic operator (art. 65 D.Lgs. 36/2023), `tipoOE`.
    pub enum TipoOE ("tipoOE", complete = true) {
        /// Sole traders, companies, professionals (art. 65 c.2 a).
        ImpresaSingola => "1",
        ConsorzioCooperativeArtigiane => "2",
        ConsorzioStabile => "3",
        /// Temporary groupings (RTI).
        Raggruppamento => "4",
        ConsorzioOrdinario => "5",
        ReteDiImprese => "6",
        Geie => "7",
    }
}

tipologica! {
    /// The role of an operator in a bid, `ruoloOE` (codes 1-3, 6-9 ended on 31 July 2025).
    pub enum RuoloOE ("ruoloOE", complete = true) {
        MandatarioRti => "1",
        MandanteRti => "2",
        MonosoggettivoFino2025 => "3",
        ImpresaAusiliaria => "4",
        MandatarioGeie => "5",
        ConsorzioOrdinario => "6",
        ConsorzioStabile => "7",
        ConsorzioCooperative => "8",
        ConsorzioArtigiane => "9",
        Mandante => "10",
        ConsorziatoEsecutore => "11",
        MandanteGeie => "12",
        Mandatario => "13",
        /// A single operator (from 31 July 2025).
        OperatoreEconomico => "14",
        ImpresaCooptata => "15",
        SubappaltatoreQualificante => "16",
        ProgettistaIncaricato => "17",
    }
}

tipologica! {
    /// `prestazioniComprese`: for works, execution only or design and execution.
    pub enum PrestazioniComprese ("prestazioniComprese", complete = true) {
        SolaEsecuzione => "1",
        ProgettazioneEdEsecuzione => "2",
    }
}

tipologica! {
    /// `motivoUrgenza`.
    pub enum MotivoUrgenza ("motivoUrgenza", complete = true) {
        SommaUrgenzaBeniCulturali => "1",
        SommaUrgenzaProtezioneCivile => "2",
        EstremaUrgenzaSettoriSpeciali => "3",
        NegoziataEstremaUrgenza => "4",
        EstremaUrgenzaIdrogeologico => "5",
        Legge120 => "6",
        NonApplicabile => "7",
    }
}

tipologica! {
    /// `tipoFinanziamento`: where the money comes from.
    pub enum TipoFinanziamento ("tipoFinanziamento", complete = true) {
        BilancioStazioneAppaltante => "A",
        BilancioAmministrazioneCompetente => "B",
        VincolataComunitaria => "C01",
        VincolataNazionaleCentrale => "C02",
        VincolataRegionale => "C03",
        VincolataLocale => "C04",
        VincolataAltriPubblici => "C05",
        VincolataPrivati => "C06",
        Mutuo => "D",
        TrasferimentoImmobili => "E",
        EconomieStanziamenti => "F",
        CapitaliPrivati => "G",
        SfruttamentoBene => "H",
        Altro => "I",
    }
}

tipologica! {
    /// `motivoCollegamento`: why a lot is linked to an earlier CIG (10 = not linked).
    pub enum MotivoCollegamento ("motivoCollegamento", complete = true) {
        RipetizioneAnaloghi => "1",
        ConsegneComplementari => "2",
        Supplementari => "3",
        RevocaPrecedente => "4",
        GaraPrecedenteAnnullataODeserta => "5",
        EsecuzioneDopoProgettazione => "6",
        AffidamentoDaConcessionario => "7",
        ModificheContrattuali => "8",
        DaConcorsoDiProgettazione => "9",
        Nessuno => "10",
        AppaltoPreCommerciale => "11",
    }
}

tipologica! {
    /// `contrattiDisposizioniParticolari` (codes 2, 4, 5 ended on 28 May 2024).
    pub enum ContrattiDisposizioniParticolari ("contrattiDisposizioniParticolari", complete = true) {
        NonApplicabile => "1",
        ServiziSocialiAllegatoXiv => "2",
        RistorazioneAllegatoXiv => "4",
        MensaAllegatoXiv => "5",
        BeniCulturali => "6",
        RicercaESviluppo => "7",
        ServiziSociali => "8",
        Ristorazione => "9",
        Mensa => "10",
        DifesaESicurezza => "11",
    }
}

tipologica! {
    /// `modalitaAcquisizione` (supplies).
    pub enum ModalitaAcquisizione ("modalitaAcquisizione", complete = true) {
        Acquisto => "1",
        Leasing => "2",
        Noleggio => "3",
        AcquistoARiscatto => "4",
        Misto => "5",
    }
}

tipologica! {
    /// `categorieMerceologiche` (DPCM soggetti aggregatori): only "not in the list" is used by a Province.
    pub enum CategoriaMerceologica ("categorieMerceologiche", complete = false) {
        TrasportoScolastico => "24",
        ManutenzioneStrade => "25",
        /// Works, or goods and services not listed in the DPCM.
        NonElencata => "999",
    }
}

tipologica! {
    /// `tipologiaAvvalimento`.
    pub enum TipologiaAvvalimento ("tipologiaAvvalimento", complete = true) {
        Requisito => "1",
        MiglioramentoOfferta => "2",
    }
}

tipologica! {
    /// `esitoProceduraAnnullata`: a procedure annulled or revoked before or after the selection started.
    pub enum EsitoProceduraAnnullata ("esitoProceduraAnnullata", complete = true) {
        PrimaDellAvvio => "6",
        DopoLAvvio => "7",
    }
}

tipologica! {
    /// `esitoProcedura` (eForms BT-142 winner chosen).
    pub enum EsitoProcedura ("esitoProcedura", complete = true) {
        /// No winner chosen and the competition is closed (deserted or all bids excluded).
        ChiusaSenzaVincitore => "clos-nw",
        /// No winner chosen yet, the competition is still open.
        ApertaSenzaVincitore => "open-nw",
        /// At least one winner chosen.
        ConVincitore => "selec-w",
    }
}

tipologica! {
    /// `giustificazione` (eForms BT-144 not-awarded reason).
    pub enum GiustificazioneEsito ("giustificazione", complete = true) {
        /// Every bid was rejected (excluded).
        TutteRespinte => "all-rej",
        CambiamentoEsigenze => "chan-need",
        FondiInsufficienti => "ins-fund",
        /// No bid was received (deserted).
        NessunaOfferta => "no-rece",
        RifiutoFirma => "no-signed",
        UnaSolaOfferta => "one-admis",
        Altro => "other",
        DecisioneRicorso => "rev-body",
        RevisioneSuRichiesta => "rev-buyer",
        ErroreProcedurale => "tch-pr-error",
    }
}

tipologica! {
    /// `esito`: the outcome of an asynchronous operation.
    pub enum Esito ("esito", complete = true) {
        Ok => "OK",
        Ko => "KO",
        InAttesa => "WT",
    }
}

tipologica! {
    /// `tipoOperazione`: the operations whose outcome `esito-operazione` reports (those we call).
    pub enum TipoOperazione ("tipoOperazione", complete = false) {
        CreaAppalto => "AP_CREA",
        ConfermaAppalto => "AP_CONF",
        CreaScheda => "SC_CREA",
        ConfermaScheda => "SC_CONF",
        PubblicaAvviso => "AV_PUBB",
    }
}

tipologica! {
    /// `esitoOperazione`: the detailed outcome (those we read).
    pub enum EsitoOperazione ("esitoOperazione", complete = false) {
        AppaltoConfermato => "AP_CONF",
        AppaltoInConferma => "AP_IN_CONF",
        AppaltoNonConfermato => "AP_N_CONF",
        SchedaConfermata => "SC_CONF",
        SchedaInConferma => "SC_IN_CONF",
        SchedaNonConfermata => "SC_N_CONF",
        AvvisoPubblicato => "AV_PUBB",
        AvvisoNonPubblicato => "AV_N_PUBB",
    }
}

tipologica! {
    /// `statoAppalto`.
    pub enum StatoAppalto ("statoAppalto", complete = true) {
        InLavorazione => "IN_LAV",
        Confermato => "CONF",
        Cancellato => "CANC",
        InAttesaPubblicazione => "IN_ATT_PUBB",
        InStopPubblicazione => "IN_STOP_PUBB",
        Pubblicato => "PUBB",
    }
}

tipologica! {
    /// `criteriAggiudicazione` (eForms award-criterion-type).
    pub enum CriterioAggiudicazione ("criteriAggiudicazione", complete = true) {
        Qualita => "quality",
        Costo => "cost",
        Prezzo => "price",
    }
}

tipologica! {
    /// `codiceScheda`: the schede this crate builds (ANAC's list has 150).
    pub enum SchedaCode ("codiceScheda", complete = false) {
        /// Bando di gara, ordinary sectors, above (and below) the EU threshold, with eForm 16 to TED.
        P1_16 => "P1_16",
        /// Bando di gara, ordinary sectors, below the EU threshold (art. 50), no TED.
        P2_16 => "P2_16",
        /// Negotiated procedure without a bando below the threshold: request for offers to operators drawn
        /// from a list (art. 50 c.1 c-e).
        P7_2 => "P7_2",
        /// Direct award below the art. 50 c.1 a-b limit, no TED.
        AD3 => "AD3",
        /// Award, with eForm 29 to TED.
        A1_29 => "A1_29",
        /// Award below the threshold, no TED.
        A2_29 => "A2_29",
        /// The operators invited (negotiated procedures), with the invitation date and the deadline.
        S1_2 => "S1_2",
        /// The operators who submitted a bid.
        S2 => "S2",
        /// The signed contract.
        SC1 => "SC1",
        /// No award (deserted, all excluded, annulled or revoked), below the threshold.
        NAG => "NAG",
    }
}

impl SchedaCode {
    pub fn as_str(self) -> &'static str {
        self.code()
    }

    /// The data model version the builders follow (`versione` of the envelope).
    pub fn versione(self) -> &'static str {
        "1.0"
    }

    /// Whether the scheda carries an eForm for TED.
    pub fn has_eform(self) -> bool {
        matches!(self, SchedaCode::P1_16 | SchedaCode::A1_29)
    }

    /// Whether the scheda creates the appalto (`crea-appalto`) rather than following it (`crea-scheda`).
    pub fn creates_appalto(self) -> bool {
        matches!(
            self,
            SchedaCode::P1_16 | SchedaCode::P2_16 | SchedaCode::P7_2 | SchedaCode::AD3
        )
    }

    pub fn parse(s: &str) -> Option<SchedaCode> {
        SchedaCode::all().iter().copied().find(|c| c.code() == s)
    }
}

/// The vendored JSON of a code list, by `idTipologica`.
pub fn list_json(id: &str) -> Option<&'static str> {
    Some(match id {
        "funzioniSvolte" => include_str!("../spec/tipologiche/funzioniSvolte.json"),
        "tipoOE" => include_str!("../spec/tipologiche/tipoOE.json"),
        "ruoloOE" => include_str!("../spec/tipologiche/ruoloOE.json"),
        "prestazioniComprese" => include_str!("../spec/tipologiche/prestazioniComprese.json"),
        "motivoUrgenza" => include_str!("../spec/tipologiche/motivoUrgenza.json"),
        "tipoFinanziamento" => include_str!("../spec/tipologiche/tipoFinanziamento.json"),
        "motivoCollegamento" => include_str!("../spec/tipologiche/motivoCollegamento.json"),
        "contrattiDisposizioniParticolari" => {
            include_str!("../spec/tipologiche/contrattiDisposizioniParticolari.json")
        }
        "modalitaAcquisizione" => include_str!("../spec/tipologiche/modalitaAcquisizione.json"),
        "giustificazione" => include_str!("../spec/tipologiche/giustificazione.json"),
        "tipoRealizzazione" => include_str!("../spec/tipologiche/tipoRealizzazione.json"),
        "subappalto" => include_str!("../spec/tipologiche/subappalto.json"),
        "accordoQuadro" => include_str!("../spec/tipologiche/accordoQuadro.json"),
        "sistemaDinamicoAcquisizione" => {
            include_str!("../spec/tipologiche/sistemaDinamicoAcquisizione.json")
        }
        "affidamentiRiservati" => include_str!("../spec/tipologiche/affidamentiRiservati.json"),
        "tipoClassificazione" => include_str!("../spec/tipologiche/tipoClassificazione.json"),
        "oggettoContratto" => include_str!("../spec/tipologiche/oggettoContratto.json"),
        "accessibilita" => include_str!("../spec/tipologiche/accessibilita.json"),
        "settore" => include_str!("../spec/tipologiche/settore.json"),
        "lingue" => include_str!("../spec/tipologiche/lingue.json"),
        "categorieMerceologiche" => include_str!("../spec/tipologiche/categorieMerceologiche.json"),
        "tipologiaAvvalimento" => include_str!("../spec/tipologiche/tipologiaAvvalimento.json"),
        "esitoProceduraAnnullata" => {
            include_str!("../spec/tipologiche/esitoProceduraAnnullata.json")
        }
        "esitoProcedura" => include_str!("../spec/tipologiche/esitoProcedura.json"),
        "esito" => include_str!("../spec/tipologiche/esito.json"),
        "tipoOperazione" => include_str!("../spec/tipologiche/tipoOperazione.json"),
        "esitoOperazione" => include_str!("../spec/tipologiche/esitoOperazione.json"),
        "statoAppalto" => include_str!("../spec/tipologiche/statoAppalto.json"),
        "criteriAggiudicazione" => include_str!("../spec/tipologiche/criteriAggiudicazione.json"),
        "codiceScheda" => include_str!("../spec/tipologiche/codiceScheda.json"),
        "ccnl" => include_str!("../spec/tipologiche/ccnl.json"),
        "categoria" => include_str!("../spec/tipologiche/categoria.json"),
        "errori" => include_str!("../spec/tipologiche/errori.json"),
        "tipoProcedura" => include_str!("../spec/tipologiche/tipoProcedura.json"),
        "tipologiaLavoro" => include_str!("../spec/tipologiche/tipologiaLavoro.json"),
        "condizioniNegoziata" => include_str!("../spec/tipologiche/condizioniNegoziata.json"),
        "giustificazioniAggiudicazioneDiretta" => {
            include_str!("../spec/tipologiche/giustificazioniAggiudicazioneDiretta.json")
        }
        "motivazioneMancatoAffidamento" => {
            include_str!("../spec/tipologiche/motivazioneMancatoAffidamento.json")
        }
        "motivoDerogaQlf" => include_str!("../spec/tipologiche/motivoDerogaQlf.json"),
        "motivoDeroga" => include_str!("../spec/tipologiche/motivoDeroga.json"),
        "misurePremiali" => include_str!("../spec/tipologiche/misurePremiali.json"),
        _ => return None,
    })
}

/// One entry of a code list.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeEntry {
    pub code: String,
    pub description_it: String,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

fn parse_date(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    let s = v.as_str()?;
    let s = s.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|n| n.and_utc())
}

/// Every entry of a vendored code list (a code can appear more than once, with different periods).
pub fn entries(id: &str) -> Option<Vec<CodeEntry>> {
    parsed(id).cloned()
}

/// The parsed lists, each parsed once per process from the compiled-in JSON.
fn parsed(id: &str) -> Option<&'static Vec<CodeEntry>> {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<BTreeMap<String, &'static Vec<CodeEntry>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(v) = cache.lock().ok()?.get(id) {
        return Some(v);
    }
    let list: &'static Vec<CodeEntry> = Box::leak(Box::new(parse_list(id)?));
    cache.lock().ok()?.insert(id.to_owned(), list);
    Some(list)
}

fn parse_list(id: &str) -> Option<Vec<CodeEntry>> {
    let v: serde_json::Value = serde_json::from_str(list_json(id)?).ok()?;
    let list = v.as_array()?;
    Some(
        list.iter()
            .map(|e| CodeEntry {
                code: e["codice"].as_str().unwrap_or_default().to_owned(),
                description_it: e["descrizione"]["it"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                valid_from: parse_date(&e["dataInizio"]),
                valid_until: parse_date(&e["dataFine"]),
            })
            .collect(),
    )
}

/// Refuses a code that is not in the list, or not valid at `at` (`dataInizio` ≤ at < `dataFine`).
pub fn check_code(list: &str, code: &str, at: DateTime<Utc>) -> Result<(), PcpError> {
    let entries = parsed(list).ok_or_else(|| PcpError::UnknownCode {
        list: list.to_owned(),
        code: code.to_owned(),
    })?;
    let matching: Vec<&CodeEntry> = entries.iter().filter(|e| e.code == code).collect();
    if matching.is_empty() {
        return Err(PcpError::UnknownCode {
            list: list.to_owned(),
            code: code.to_owned(),
        });
    }
    let valid = matching
        .iter()
        .any(|e| e.valid_from.is_none_or(|f| f <= at) && e.valid_until.is_none_or(|u| at < u));
    if valid {
        Ok(())
    } else {
        Err(PcpError::ExpiredCode {
            list: list.to_owned(),
            code: code.to_owned(),
            at,
        })
    }
}

/// [`check_code`] for an enum value.
pub fn check<T: Tipologica>(t: T, at: DateTime<Utc>) -> Result<(), PcpError> {
    check_code(T::ID, t.code(), at)
}

/// The Italian description of one of ANAC's error codes (`errori.json`), e.g. `REG47`.
pub fn error_description(code: &str) -> Option<String> {
    parsed("errori")?
        .iter()
        .find(|e| e.code == code)
        .map(|e| e.description_it.clone())
}
