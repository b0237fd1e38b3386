//! The L.190/2012 art. 1 c. 32 dataset ("file AVCP"): model, business rules, streaming writer, index and
//! reader.
//!
//! - [`Lotto`] and friends: one lot as the schema sees it, with identifiers that can only hold valid values.
//! - [`check_lotto`] and [`Rules`]: what `datasetAppaltiL190.xsd` does not enforce.
//! - [`write_dataset`], [`write_split`], [`write_index`]: streaming writers over an iterator of lots
//!   (constant memory), splitting above [`MAX_DATASET_BYTES`] and listing the parts in an index.
//! - [`LotReader`] / [`read_dataset`]: reads published files, reporting each faulty lot and field.
//! - [`validate_dataset`], [`validate_index`]: validation against ANAC's XSDs, compiled in.

mod codes;
mod reader;
mod rules;
mod writer;
mod xsd;

pub use codes::{Procedura, Ruolo, SceltaContraente};
pub use reader::{FieldProblem, LotFault, LotReader, ReadDataset, ReadError, read_dataset};
pub use rules::{Rules, Violation, check_lotto, check_meta};
pub use writer::{
    DatasetFile, LotError, SplitOptions, WriteError, write_dataset, write_index, write_split,
};
pub use xsd::{
    DATASET_XSD, INDEX_XSD, TYPES_XSD, XsdDocument, XsdError, XsdViolation, unenforced,
    validate_dataset, validate_index,
};

use chrono::NaiveDate;
use domain::ids::{Cig, CodiceFiscale};
use rust_decimal::Decimal;

/// Namespace of the dataset root element (unchanged in every schema version).
pub const NAMESPACE: &str = "legge190_1_0";
/// The CIG that practice (not an ANAC text) uses for contracts without a CIG.
pub const CIG_PLACEHOLDER: &str = "0000000000";
/// Size above which a dataset is split (5 MiB, the limit ANAC's harvester was reported to apply).
pub const MAX_DATASET_BYTES: u64 = 5 * 1024 * 1024;
/// Maximum length, in characters, of `oggetto`, `denominazione` and `ragioneSociale`.
pub const MAX_TEXT_CHARS: usize = 250;
/// Largest amount `ImportoType` accepts.
pub const MAX_IMPORTO: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2); // 999999999999.99

/// The `cig` of a lot: a checked CIG, or the placeholder for a contract that has none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LotCig {
    Cig(Cig),
    /// Written as `0000000000`.
    Placeholder,
}

impl LotCig {
    /// The text written in `<cig>`.
    pub fn as_str(&self) -> &str {
        match self {
            LotCig::Cig(c) => c.as_str(),
            LotCig::Placeholder => CIG_PLACEHOLDER,
        }
    }
}

impl From<Cig> for LotCig {
    fn from(c: Cig) -> Self {
        LotCig::Cig(c)
    }
}

/// Fiscal identity of an operator: an Italian codice fiscale or a foreign tax id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdFiscale {
    /// `codiceFiscale`.
    CodiceFiscale(CodiceFiscale),
    /// `identificativoFiscaleEstero` (free text, e.g. a VAT number of another state).
    Estero(String),
}

/// An operator (`singoloType`): fiscal identity and name. The identity is optional only because published
/// files omit it; [`Rules::require_participant_id`] refuses that for our own data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Soggetto {
    pub id: Option<IdFiscale>,
    pub ragione_sociale: String,
}

/// A member of a raggruppamento (`aggregatoType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Membro {
    pub soggetto: Soggetto,
    pub ruolo: Ruolo,
}

/// A participant or awardee: a single operator or a raggruppamento (RTI, consorzio) of at least two members.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Offerente {
    Singolo(Soggetto),
    Raggruppamento(Vec<Membro>),
}

/// `strutturaProponente`: the body the contract is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StrutturaProponente {
    pub codice_fiscale: CodiceFiscale,
    pub denominazione: String,
}

/// One `lotto` of the dataset.
///
/// Participants and awardees keep their order; the writer emits all raggruppamenti before the single
/// operators, as the schema requires.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lotto {
    pub cig: LotCig,
    pub struttura_proponente: StrutturaProponente,
    /// Cut to 250 characters when written.
    pub oggetto: String,
    pub scelta_contraente: SceltaContraente,
    pub partecipanti: Vec<Offerente>,
    pub aggiudicatari: Vec<Offerente>,
    /// Net of VAT, 0 ≤ x ≤ 999 999 999 999.99, at most 2 decimals.
    pub importo_aggiudicazione: Decimal,
    pub data_inizio: Option<NaiveDate>,
    pub data_ultimazione: Option<NaiveDate>,
    /// Net of VAT; not checked against `importo_aggiudicazione` (practice publishes cumulative sums).
    pub importo_somme_liquidate: Decimal,
}

/// The `metadata` block of a dataset (also used for the index). `urlFile` is not here: the writer
/// builds it for each file it writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DatasetMeta {
    pub titolo: String,
    pub abstract_text: String,
    pub data_pubblicazione: NaiveDate,
    pub ente_pubblicatore: String,
    pub data_ultimo_aggiornamento: NaiveDate,
    pub anno_riferimento: i32,
    /// e.g. `"IODL 2.0"`, or `"CC-BY 4.0"`.
    pub licenza: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_importo_is_the_schema_bound() {
        assert_eq!(MAX_IMPORTO.to_string(), "999999999999.99");
    }
}
