//! Our facts, as the scheda builders take them: small plain structs the workflow fills from its rows.
//! Identifiers are the validated types of `domain::ids`, money is `Decimal` euro, times are passed in.

use chrono::{DateTime, NaiveDate, Utc};
use domain::award::AwardCriterion;
use domain::ids::{Cig, CodiceFiscale, Cpv, Cup, NutsCode};
use domain::thresholds::ContractObject;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::codes::{
    CategoriaMerceologica, ContrattiDisposizioniParticolari, EsitoProceduraAnnullata,
    FunzioniSvolte, GiustificazioneEsito, MotivoCollegamento, MotivoUrgenza, PrestazioniComprese,
    RuoloOE, TipoFinanziamento, TipoOE, TipologiaAvvalimento,
};

/// A stazione appaltante as ANAC knows it (its AUSA registration and cost centre).
#[derive(Debug, Clone, PartialEq)]
pub struct StazioneAppaltante {
    pub codice_fiscale: CodiceFiscale,
    /// Code in ANAC's Anagrafe Unica delle Stazioni Appaltanti.
    pub codice_ausa: String,
    /// The cost centre (centro di costo) registered at ANAC for the RUP.
    pub codice_centro_costo: String,
    pub denominazione: String,
}

/// Who the appalto belongs to and who runs it (`stazioniAppaltanti` of the schede).
#[derive(Debug, Clone, PartialEq)]
pub enum Committente {
    /// The SA runs its own appalto.
    Diretto(StazioneAppaltante),
    /// The Province as centrale unica di committenza runs the appalto of a Comune (art. 62 c.6-7):
    /// the Comune is `saTitolare`, the Province states the functions it performs (`funzioniSvolte`).
    PerConto {
        cuc: StazioneAppaltante,
        titolare: StazioneAppaltante,
        funzioni: Vec<FunzioniSvolte>,
    },
}

impl Committente {
    /// The SA that signs and sends (the Province when it acts as CUC).
    pub fn sender(&self) -> &StazioneAppaltante {
        match self {
            Committente::Diretto(sa) => sa,
            Committente::PerConto { cuc, .. } => cuc,
        }
    }
}

/// The procedure, as far as the choice of scheda needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedura {
    /// Art. 71 open procedure.
    Aperta,
    /// Art. 50 c.1 c)-e) negotiated procedure without a bando, invitees drawn from the register.
    NegoziataSenzaBando,
    /// Art. 50 c.1 a)-b) direct award.
    AffidamentoDiretto,
}

/// The quadro economico of a lot (euro, VAT excluded except `somme_a_disposizione`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuadroEconomico {
    pub lavori: Decimal,
    pub servizi: Decimal,
    pub forniture: Decimal,
    /// Oneri della sicurezza, not subject to ribasso.
    pub sicurezza: Decimal,
    pub ulteriori_somme_no_ribasso: Decimal,
    pub progettazione: Decimal,
    pub opzioni_rinnovi: Decimal,
    pub ripetizioni: Decimal,
    /// VAT and other sums at the SA's disposal.
    pub somme_a_disposizione: Decimal,
}

impl QuadroEconomico {
    /// The lot's estimated value (art. 14 c.4): everything but the sums at disposal.
    pub fn valore_stimato(&self) -> Decimal {
        self.lavori
            + self.servizi
            + self.forniture
            + self.sicurezza
            + self.ulteriori_somme_no_ribasso
            + self.progettazione
            + self.opzioni_rinnovi
            + self.ripetizioni
    }

    /// The base of the bid (what the ribasso applies to): the components without safety costs, other sums
    /// not subject to ribasso, options and repetitions.
    pub fn base_asta(&self) -> Decimal {
        self.lavori + self.servizi + self.forniture + self.progettazione
    }
}

/// A source of funding of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Finanziamento {
    pub tipo: TipoFinanziamento,
    pub importo: Decimal,
}

/// The answer to "does the tender oblige to hire at least 30% women and young people?" (art. 47 c.4
/// D.L. 77/2021, `quota30PerCento`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quota30 {
    Si,
    No,
    SiQuotaInferiore,
}

/// `paritaDiGenereGenerazionale`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParitaDiGenere {
    pub quota30: Quota30,
    /// Lower quotas (percent), when `SiQuotaInferiore`.
    pub quota_femminile: Decimal,
    pub quota_giovanile: Decimal,
    /// ANAC list `motivoDeroga`, when the quota is lower or absent.
    pub motivi_deroga: Vec<String>,
    /// ANAC list `misurePremiali`.
    pub misure_premiali: Vec<String>,
}

/// A lot of the tender.
#[derive(Debug, Clone, PartialEq)]
pub struct Lotto {
    /// Our lot identifier, `LOT-0001` (eForms BT-137; ANAC pairs it with the CIG it assigns).
    pub lot_identifier: String,
    pub titolo: String,
    pub descrizione: String,
    pub oggetto: ContractObject,
    pub cpv: Cpv,
    pub nuts: NutsCode,
    /// ISTAT code of the place of performance (ANAC list `codIstat`, e.g. `015146` + progressive).
    pub cod_istat: String,
    pub quadro: QuadroEconomico,
    pub cup: Vec<Cup>,
    /// Whether the lot is a public investment project that needs a CUP (L. 3/2003 art. 11).
    pub acquisizione_cup: bool,
    /// Funded by the PNRR/PNC.
    pub pnrr: bool,
    pub finanziamenti: Vec<Finanziamento>,
    /// The CCNL applied (ANAC list `ccnl`, art. 11).
    pub ccnl: String,
    /// The prevalent SOA category (`OG 1`...) for works, `FS` services, `FB` supplies (ANAC list `categoria`).
    pub categoria: String,
    pub categorie_scorporabili: Vec<String>,
    /// Execution, or design and execution (required by P1_16 for every lot; meaningful for works).
    pub prestazioni: PrestazioniComprese,
    pub servizio_pubblico_locale: bool,
    /// Whether the lot is in the SA's three-year works / two-year purchases programme, with its CUI.
    pub in_programmazione: bool,
    pub cui: Option<String>,
    pub opzioni_rinnovi: bool,
    pub ripetizioni: bool,
    pub collegamento: MotivoCollegamento,
    pub cig_collegati: Vec<Cig>,
    pub disposizioni_particolari: ContrattiDisposizioniParticolari,
    /// Electronic modelling tools (BIM, art. 43) used, and if so whether a feasibility study exempts them.
    pub strumenti_elettronici: Option<bool>,
    pub doc_fap: Option<bool>,
    /// The gender and youth employment clause (art. 47 c.4 D.L. 77/2021), required for PNRR lots.
    pub parita: Option<ParitaDiGenere>,
    /// The deadline for offers (eForms BT-131).
    pub scadenza_offerte: DateTime<Utc>,
    /// The days the offer stays binding (eForms BT-98).
    pub validita_offerta_giorni: u32,
    /// Contract duration in months (eForms BT-36).
    pub durata_mesi: u32,
}

/// The tender, as published.
#[derive(Debug, Clone, PartialEq)]
pub struct Appalto {
    /// Our unique reference of the appalto (8 to 64 characters, `codiceAppalto`).
    pub codice_appalto: String,
    pub titolo: String,
    pub descrizione: String,
    pub committente: Committente,
    pub procedura: Procedura,
    pub sopra_soglia: bool,
    pub criterio: AwardCriterion,
    pub motivo_urgenza: MotivoUrgenza,
    /// Only for somma urgenza (art. 140 c.10): where its documents are.
    pub link_documenti: Option<String>,
    /// Where the tender documents are published (eForms BT-15).
    pub url_documenti: String,
    /// Where bids are submitted (eForms BT-18): our platform.
    pub url_offerte: String,
    pub categorie_merceologiche: Vec<CategoriaMerceologica>,
    pub lotti: Vec<Lotto>,
}

impl Appalto {
    pub fn valore_stimato(&self) -> Decimal {
        self.lotti.iter().map(|l| l.quadro.valore_stimato()).sum()
    }
}

/// An economic operator's identifier: an Italian codice fiscale, or a foreign tax identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatoreId {
    Italiano(CodiceFiscale),
    Estero {
        paese: String,
        identificativo: String,
    },
}

impl OperatoreId {
    pub fn as_str(&self) -> &str {
        match self {
            OperatoreId::Italiano(cf) => cf.as_str(),
            OperatoreId::Estero { identificativo, .. } => identificativo,
        }
    }

    /// ISO 3166-1 alpha-3 country (eForms country codes).
    pub fn paese(&self) -> &str {
        match self {
            OperatoreId::Italiano(_) => "ITA",
            OperatoreId::Estero { paese, .. } => paese,
        }
    }
}

/// One operator in a bid: alone, or a member of a grouping (RTI, consortium) with its role.
#[derive(Debug, Clone, PartialEq)]
pub struct Membro {
    pub id: OperatoreId,
    pub denominazione: String,
    pub tipo: TipoOE,
    pub ruolo: RuoloOE,
}

/// A bidder (a participation): one operator or a grouping, with its reliance on others' capacities.
#[derive(Debug, Clone, PartialEq)]
pub struct Partecipante {
    /// Our participation id (`idPartecipante`, shared by every member of a grouping).
    pub id: Uuid,
    pub membri: Vec<Membro>,
    /// Avvalimento (art. 104): the kind, and the auxiliary firms.
    pub avvalimento: Option<(TipologiaAvvalimento, Vec<(OperatoreId, String)>)>,
}

/// The operators that submitted a bid for one lot (scheda S2).
#[derive(Debug, Clone, PartialEq)]
pub struct ElencoLotto {
    pub cig: Cig,
    pub partecipanti: Vec<Partecipante>,
}

/// The operators invited to bid for one lot (scheda S1_2, negotiated procedures): sent after the offer
/// deadline, when the invitees are no longer secret (art. 35 c.2 b)).
#[derive(Debug, Clone, PartialEq)]
pub struct InvitatiLotto {
    pub cig: Cig,
    pub data_invito: DateTime<Utc>,
    pub scadenza_offerte: DateTime<Utc>,
    /// Each invitee with the id its participation will have (`idPartecipante`, the same in S2).
    pub invitati: Vec<Partecipante>,
}

/// One bid in the ranking of a lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Offerta {
    pub id_partecipante: Uuid,
    /// The bid's amount in euro.
    pub importo: Decimal,
    /// The ribasso in percent (0-100), for price bids.
    pub ribasso: Option<Decimal>,
    /// The quality score (0-100), for quality-price awards.
    pub punteggio_qualita: Option<Decimal>,
    pub aggiudicatario: bool,
    pub posizione: Option<u32>,
    pub anomala: bool,
    pub esclusa_automaticamente: bool,
    pub sopra_soglia_anomalia: Option<bool>,
    /// The CCNL the bidder declared (ANAC list `ccnl`).
    pub ccnl: String,
}

/// The award of one lot (scheda A1_29 / A2_29).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggiudicazione {
    pub cig: Cig,
    pub offerte: Vec<Offerta>,
    /// The bids admitted after the administrative check.
    pub offerte_ammesse: u32,
    pub soglia_anomalia: Option<Decimal>,
    pub quadro: Option<QuadroEconomico>,
    /// Set when the lot's procedure was annulled or revoked (no winner).
    pub annullata: Option<EsitoProceduraAnnullata>,
    /// Set when the lot ends without a winner (deserted, every bid excluded, revoked...): the reason, as
    /// the eForm 29 states it (BT-144 `non-award-justification`, the same codes as NAG's
    /// `giustificazione`) with the result `clos-nw`.
    pub senza_vincitore: Option<GiustificazioneEsito>,
}

/// The award phase of the appalto.
#[derive(Debug, Clone, PartialEq)]
pub struct EsitoAggiudicazione {
    /// The procedure that was run (below the threshold, A2_29 states it).
    pub procedura: Procedura,
    /// When the award was decided (art. 17 c.5).
    pub data_aggiudicazione: DateTime<Utc>,
    /// Whether the winner declared it will subcontract (`None`: not yet known).
    pub subappalto: Option<bool>,
    pub motivo_urgenza: MotivoUrgenza,
    pub link_documenti: Option<String>,
    /// The SA has drawn up the Relazione unica sulle procedure (art. 112).
    pub relazione_unica: bool,
    pub opere_urbanizzazione_scomputo: bool,
    pub aggiudicazioni: Vec<Aggiudicazione>,
}

/// The signed contract (scheda SC1).
#[derive(Debug, Clone, PartialEq)]
pub struct Contratto {
    pub id_partecipante: Uuid,
    pub cig: Vec<Cig>,
    /// AUSA codes of the signing administrations.
    pub codici_ausa: Vec<String>,
    pub data_stipula: NaiveDate,
    pub data_esecutivita: Option<NaiveDate>,
    pub data_decorrenza: NaiveDate,
    pub data_scadenza: NaiveDate,
    /// Garanzia definitiva (art. 117).
    pub importo_cauzione: Decimal,
}

/// A lot that ends without an award (scheda NAG, below the threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct MancataAggiudicazione {
    pub cig: Cig,
    pub giustificazione: GiustificazioneEsito,
    /// Set when the procedure was annulled or revoked.
    pub annullata: Option<EsitoProceduraAnnullata>,
}

/// A direct award (art. 50 c.1 a)-b), scheda AD3): the appalto with its lot, the operator chosen and the
/// amount, decided at `data_aggiudicazione`.
#[derive(Debug, Clone, PartialEq)]
pub struct AffidamentoDiretto {
    pub appalto: Appalto,
    /// The operator (a single firm: a grouping's members would need per-member amounts, ANAC REG52-53).
    pub affidatario: Partecipante,
    pub importo: Decimal,
    pub data_aggiudicazione: DateTime<Utc>,
    pub relazione_unica: bool,
}
