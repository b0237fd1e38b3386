//! OCDS 1.1 release packages: one package per tender, one release per lifecycle event.
//!
//! The service maps its rows onto [`TenderRecord`]; [`release_package`] checks the record (errors name the
//! field) and builds the package. Each release is the state of the tender *as of its event's date*:
//! the tender (with the status the event left it in), the bids received once the submission deadline has
//! passed (details and statistics, per lot and overall), the awards decided, the contracts signed and the
//! payments made by that date. Parties carry their roles: `buyer` is the municipality, `procuringEntity`
//! the Province's SUA, then `tenderer` and `supplier`.
//!
//! Lots and bids use the official lots and bid extensions (declared in the package). Amounts are written
//! as exact JSON numbers from `Decimal` (never through a float).

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::ids::{Cig, CodiceFiscale};
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::l190::SceltaContraente;

/// The extensions used, at the tag matching OCDS 1.1.5.
pub const EXTENSIONS: [&str; 2] = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
];

/// The OCDS 1.1.5 schemas, compiled in (`schema/ocds/1.1.5/`, see its `SOURCES.md`), for validating
/// packages offline: the release package schema and the release schema its `releases` items `$ref`.
pub mod schema {
    /// `release-package-schema.json` at OCDS 1.1.5.
    pub const RELEASE_PACKAGE: &str =
        include_str!("../schema/ocds/1.1.5/release-package-schema.json");
    /// `release-schema.json` at OCDS 1.1.5.
    pub const RELEASE: &str = include_str!("../schema/ocds/1.1.5/release-schema.json");
    /// The `id` (and `$ref` target) of [`RELEASE`].
    pub const RELEASE_URI: &str =
        "https://standard.open-contracting.org/schema/1__1__5/release-schema.json";
}

/// A record that cannot be exported: the field (path in the input model) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("OCDS export, field {field}: {message}")]
pub struct OcdsError {
    pub field: String,
    pub message: String,
}

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, OcdsError> {
    Err(OcdsError {
        field: field.into(),
        message: message.into(),
    })
}

/// Who publishes, and how identifiers and addresses are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcdsConfig {
    /// The publisher's registered prefix, `ocds-` + 6 lower-case letters or digits; the ocid of a tender is
    /// `{ocid_prefix}-{tender id}`.
    pub ocid_prefix: String,
    /// Where packages are published; a package's `uri` is `{package_base_uri}/{tender id}.json`.
    pub package_base_uri: String,
    pub publisher_name: String,
    /// The publisher's codice fiscale (`publisher.scheme` = `IT-CF`).
    pub publisher_cf: Option<CodiceFiscale>,
    pub publisher_uri: Option<String>,
    /// URL of the data licence (e.g. `https://creativecommons.org/licenses/by/4.0/`).
    pub license: Option<String>,
    pub publication_policy: Option<String>,
    /// The Province's SUA (role `procuringEntity`).
    pub procuring_entity: Organization,
}

/// An organization's identity: an Italian codice fiscale, or a foreign identifier in an org-id.guide scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrgId {
    CodiceFiscale(CodiceFiscale),
    Foreign { scheme: String, id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub street_address: Option<String>,
    pub locality: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub telephone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub address: Option<Address>,
    pub contact: Option<Contact>,
}

impl Organization {
    /// The party id: `IT-CF-{codice fiscale}` or `{scheme}-{id}`.
    pub fn party_id(&self) -> String {
        match &self.id {
            OrgId::CodiceFiscale(cf) => format!("IT-CF-{}", cf.as_str()),
            OrgId::Foreign { scheme, id } => format!("{scheme}-{id}"),
        }
    }
}

/// A bidder: one operator, or a raggruppamento (RTI, consorzio), members in order (mandataria first).
// A handful of bidders per tender: boxing the single case would only make the model clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bidder {
    Single(Organization),
    Group(Vec<Organization>),
}

impl Bidder {
    fn members(&self) -> &[Organization] {
        match self {
            Bidder::Single(o) => std::slice::from_ref(o),
            Bidder::Group(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Goods,
    Works,
    Services,
}

/// Award criterion: minor prezzo, or offerta economicamente più vantaggiosa (quality and price).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwardCriteria {
    PriceOnly,
    RatedCriteria,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TenderStatus {
    Planning,
    Planned,
    Active,
    Cancelled,
    Unsuccessful,
    Complete,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BidStatus {
    Pending,
    Valid,
    Disqualified,
    Withdrawn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AwardStatus {
    Pending,
    Active,
    Cancelled,
    Unsuccessful,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ContractStatus {
    Pending,
    Active,
    Cancelled,
    Terminated,
}

/// The lifecycle events that make a release; each maps to one OCDS release tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Planning,
    Tender,
    TenderAmendment,
    TenderUpdate,
    TenderCancellation,
    Award,
    AwardUpdate,
    AwardCancellation,
    Contract,
    ContractUpdate,
    ContractAmendment,
    Implementation,
    ContractTermination,
}

impl EventKind {
    /// The `releaseTag` code.
    pub fn tag(self) -> &'static str {
        match self {
            EventKind::Planning => "planning",
            EventKind::Tender => "tender",
            EventKind::TenderAmendment => "tenderAmendment",
            EventKind::TenderUpdate => "tenderUpdate",
            EventKind::TenderCancellation => "tenderCancellation",
            EventKind::Award => "award",
            EventKind::AwardUpdate => "awardUpdate",
            EventKind::AwardCancellation => "awardCancellation",
            EventKind::Contract => "contract",
            EventKind::ContractUpdate => "contractUpdate",
            EventKind::ContractAmendment => "contractAmendment",
            EventKind::Implementation => "implementation",
            EventKind::ContractTermination => "contractTermination",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotRecord {
    pub id: String,
    pub cig: Option<Cig>,
    pub title: String,
    pub description: Option<String>,
    pub value: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BidRecord {
    pub id: String,
    /// Lots the bid is for (empty: the whole tender).
    pub lot_ids: Vec<String>,
    pub bidder: Bidder,
    /// When the bid was received.
    pub date: DateTime<Utc>,
    pub status: BidStatus,
    /// Economic offer, once opened.
    pub value: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwardRecord {
    pub id: String,
    pub lot_ids: Vec<String>,
    pub bid_id: Option<String>,
    pub suppliers: Bidder,
    pub date: DateTime<Utc>,
    pub status: AwardStatus,
    pub value: Option<Decimal>,
}

/// A payment to the supplier (net of VAT: the L.190 "somme liquidate").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: String,
    pub date: DateTime<Utc>,
    pub amount: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractRecord {
    pub id: String,
    pub award_id: String,
    pub title: Option<String>,
    pub value: Option<Decimal>,
    pub date_signed: DateTime<Utc>,
    pub period: Option<Period>,
    pub status: ContractStatus,
    pub payments: Vec<Payment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleEvent {
    /// Unique within the tender; becomes the release id.
    pub id: String,
    pub date: DateTime<Utc>,
    pub kind: EventKind,
    /// The tender's status right after this event (the lifecycle knows it; it is not guessed here).
    pub tender_status: TenderStatus,
}

/// Everything exported about one tender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenderRecord {
    /// Our tender id; the ocid is `{prefix}-{id}`.
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The municipality the SUA runs the tender for (role `buyer`).
    pub buyer: Organization,
    pub procedure: SceltaContraente,
    pub category: Category,
    pub award_criteria: Option<AwardCriteria>,
    pub value: Option<Decimal>,
    /// Bid submission period; bids are published only once its end has passed.
    pub tender_period: Option<Period>,
    pub lots: Vec<LotRecord>,
    pub bids: Vec<BidRecord>,
    pub awards: Vec<AwardRecord>,
    pub contracts: Vec<ContractRecord>,
    pub events: Vec<LifecycleEvent>,
}

/// OCDS `procurementMethod` for an L.190 procedure code.
pub fn procurement_method(p: SceltaContraente) -> &'static str {
    use SceltaContraente as S;
    match p {
        S::ProceduraAperta => "open",
        S::ProceduraRistretta
        | S::NegoziataPreviaPubblicazione
        | S::DialogoCompetitivo
        | S::SistemaDinamicoAcquisizione
        | S::SelettivaArt238
        | S::RistrettaDaAvvisi
        | S::NegoziataConIndizioneSettoriSpeciali
        | S::ConfrontoCompetitivoAccordoQuadro
        | S::RistrettaSemplificata
        | S::PartenariatoInnovazione
        | S::CompetitivaConNegoziazione => "selective",
        S::NegoziataSenzaPreviaPubblicazione
        | S::NegoziataSenzaIndizioneSettoriSpeciali
        | S::CottimoFiduciario
        | S::NegoziataSottoSoglia
        | S::RegolamentiOrganiCostituzionali
        | S::LeggeRegionale
        | S::OpereUrbanizzazioneScomputo
        | S::RegolamentoInternoSettoriSpeciali
        | S::AffidamentoRiservato => "limited",
        S::AffidamentoDirettoL381
        | S::AffidamentoDiretto
        | S::AffidamentoInHouse
        | S::AffidamentoSocietaRaggruppate
        | S::AffidamentoDirettoAccordoQuadro
        | S::AffidamentoDirettoVariante
        | S::AffidamentoDirettoSupplementari
        | S::AffidamentoDirettoModifiche => "direct",
    }
}

// ---------- output model ----------

/// An exact decimal written as a JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.normalize().to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

fn ts(d: &DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Value {
    pub amount: Amount,
    pub currency: &'static str,
}

fn eur(d: Decimal) -> Value {
    Value {
        amount: Amount(d),
        currency: "EUR",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Publisher {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleasePackage {
    pub uri: String,
    pub version: &'static str,
    pub extensions: Vec<&'static str>,
    pub published_date: String,
    pub publisher: Publisher,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publication_policy: Option<String>,
    pub releases: Vec<Release>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub ocid: String,
    pub id: String,
    pub date: String,
    pub tag: Vec<&'static str>,
    pub initiation_type: &'static str,
    pub language: &'static str,
    pub parties: Vec<Party>,
    pub buyer: OrgRef,
    pub tender: Tender,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bids: Option<Bids>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub awards: Vec<Award>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<Contract>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgRef {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identifier {
    pub scheme: String,
    pub id: String,
    pub legal_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddressOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telephone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Party {
    pub id: String,
    pub name: String,
    pub identifier: Identifier,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact_point: Option<ContactOut>,
    pub roles: Vec<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<String>,
}

fn period_out(p: &Period) -> PeriodOut {
    PeriodOut {
        start_date: p.start.as_ref().map(ts),
        end_date: p.end.as_ref().map(ts),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Lot {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The lot's CIG (not an OCDS field: an additional field, as ANAC's own OCDS data keys lots by CIG).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cig: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tender {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: TenderStatus,
    pub procuring_entity: OrgRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub procurement_method: &'static str,
    pub procurement_method_details: &'static str,
    pub main_procurement_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award_criteria: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tender_period: Option<PeriodOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_tenderers: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tenderers: Vec<OrgRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<Lot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistic {
    pub id: String,
    pub measure: &'static str,
    pub value: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_lot: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    pub id: String,
    pub date: String,
    pub status: BidStatus,
    pub tenderers: Vec<OrgRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_lots: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bids {
    pub statistics: Vec<Statistic>,
    pub details: Vec<Bid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Award {
    pub id: String,
    pub status: AwardStatus,
    pub date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub suppliers: Vec<OrgRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_lots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_bid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub id: String,
    pub date: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Implementation {
    pub transactions: Vec<Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Contract {
    pub id: String,
    #[serde(rename = "awardID")]
    pub award_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub status: ContractStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    pub date_signed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<PeriodOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation: Option<Implementation>,
}

// ---------- checks ----------

fn check_id(field: &str, id: &str) -> Result<(), OcdsError> {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return err(
            field,
            format!("{id:?} must be non-empty and use only A-Z a-z 0-9 - _ ."),
        );
    }
    Ok(())
}

fn check_unique<'a>(
    field: &str,
    ids: impl Iterator<Item = &'a str>,
) -> Result<HashSet<&'a str>, OcdsError> {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        check_id(&format!("{field}[{i}].id"), id)?;
        if !seen.insert(id) {
            return err(format!("{field}[{i}].id"), format!("duplicate id {id:?}"));
        }
    }
    Ok(seen)
}

fn check_amount(field: &str, v: Option<Decimal>) -> Result<(), OcdsError> {
    match v {
        Some(v) if v.is_sign_negative() && !v.is_zero() => {
            err(field, format!("amount {v} is negative"))
        }
        _ => Ok(()),
    }
}

fn check_period(field: &str, p: &Option<Period>) -> Result<(), OcdsError> {
    if let Some(Period {
        start: Some(s),
        end: Some(e),
    }) = p
        && e < s
    {
        return err(field, format!("end {e} is before start {s}"));
    }
    Ok(())
}

fn check_org(field: &str, o: &Organization) -> Result<(), OcdsError> {
    if o.name.trim().is_empty() {
        return err(format!("{field}.name"), "must not be empty");
    }
    if let OrgId::Foreign { scheme, id } = &o.id
        && (scheme.trim().is_empty() || id.trim().is_empty())
    {
        return err(
            format!("{field}.id"),
            "foreign scheme and id must not be empty",
        );
    }
    Ok(())
}

fn check_bidder(field: &str, b: &Bidder) -> Result<(), OcdsError> {
    if let Bidder::Group(m) = b
        && m.len() < 2
    {
        return err(
            field,
            format!(
                "a raggruppamento needs at least 2 members, found {}",
                m.len()
            ),
        );
    }
    for (i, o) in b.members().iter().enumerate() {
        check_org(&format!("{field}[{i}]"), o)?;
    }
    Ok(())
}

fn check_lot_refs(field: &str, refs: &[String], lots: &HashSet<&str>) -> Result<(), OcdsError> {
    for (i, r) in refs.iter().enumerate() {
        if !lots.contains(r.as_str()) {
            return err(format!("{field}[{i}]"), format!("unknown lot {r:?}"));
        }
    }
    Ok(())
}

fn check(record: &TenderRecord, config: &OcdsConfig) -> Result<(), OcdsError> {
    let p = &config.ocid_prefix;
    let ok_prefix = p.len() == 11
        && p.starts_with("ocds-")
        && p[5..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !ok_prefix {
        return err(
            "config.ocid_prefix",
            format!("{p:?} is not ocds- followed by 6 lower-case letters or digits"),
        );
    }
    for (field, uri) in [
        ("config.package_base_uri", Some(&config.package_base_uri)),
        ("config.publisher_uri", config.publisher_uri.as_ref()),
        ("config.license", config.license.as_ref()),
        (
            "config.publication_policy",
            config.publication_policy.as_ref(),
        ),
    ] {
        if let Some(u) = uri
            && (!(u.starts_with("https://") || u.starts_with("http://"))
                || u.contains(char::is_whitespace))
        {
            return err(field, format!("{u:?} is not an absolute http(s) URL"));
        }
    }
    if config.publisher_name.trim().is_empty() {
        return err("config.publisher_name", "must not be empty");
    }
    check_org("config.procuring_entity", &config.procuring_entity)?;
    check_id("record.id", &record.id)?;
    if record.title.trim().is_empty() {
        return err("record.title", "must not be empty");
    }
    check_org("record.buyer", &record.buyer)?;
    check_amount("record.value", record.value)?;
    check_period("record.tender_period", &record.tender_period)?;
    let lots = check_unique("record.lots", record.lots.iter().map(|l| l.id.as_str()))?;
    for (i, l) in record.lots.iter().enumerate() {
        check_amount(&format!("record.lots[{i}].value"), l.value)?;
        if l.title.trim().is_empty() {
            return err(format!("record.lots[{i}].title"), "must not be empty");
        }
    }
    let bids = check_unique("record.bids", record.bids.iter().map(|b| b.id.as_str()))?;
    for (i, b) in record.bids.iter().enumerate() {
        check_lot_refs(&format!("record.bids[{i}].lot_ids"), &b.lot_ids, &lots)?;
        check_bidder(&format!("record.bids[{i}].bidder"), &b.bidder)?;
        check_amount(&format!("record.bids[{i}].value"), b.value)?;
    }
    let awards = check_unique("record.awards", record.awards.iter().map(|a| a.id.as_str()))?;
    for (i, a) in record.awards.iter().enumerate() {
        check_lot_refs(&format!("record.awards[{i}].lot_ids"), &a.lot_ids, &lots)?;
        check_bidder(&format!("record.awards[{i}].suppliers"), &a.suppliers)?;
        check_amount(&format!("record.awards[{i}].value"), a.value)?;
        if let Some(b) = &a.bid_id
            && !bids.contains(b.as_str())
        {
            return err(
                format!("record.awards[{i}].bid_id"),
                format!("unknown bid {b:?}"),
            );
        }
    }
    check_unique(
        "record.contracts",
        record.contracts.iter().map(|c| c.id.as_str()),
    )?;
    for (i, c) in record.contracts.iter().enumerate() {
        if !awards.contains(c.award_id.as_str()) {
            return err(
                format!("record.contracts[{i}].award_id"),
                format!("unknown award {:?}", c.award_id),
            );
        }
        check_amount(&format!("record.contracts[{i}].value"), c.value)?;
        check_period(&format!("record.contracts[{i}].period"), &c.period)?;
        check_unique(
            &format!("record.contracts[{i}].payments"),
            c.payments.iter().map(|p| p.id.as_str()),
        )?;
        for (j, p) in c.payments.iter().enumerate() {
            check_amount(
                &format!("record.contracts[{i}].payments[{j}].amount"),
                Some(p.amount),
            )?;
        }
    }
    if record.events.is_empty() {
        return err(
            "record.events",
            "at least one lifecycle event is needed to make a release",
        );
    }
    check_unique("record.events", record.events.iter().map(|e| e.id.as_str()))?;
    Ok(())
}

// ---------- building ----------

struct Parties(Vec<Party>);

impl Parties {
    fn add(&mut self, o: &Organization, role: &'static str) -> OrgRef {
        let id = o.party_id();
        if let Some(p) = self.0.iter_mut().find(|p| p.id == id) {
            if !p.roles.contains(&role) {
                p.roles.push(role);
            }
        } else {
            let (scheme, ident) = match &o.id {
                OrgId::CodiceFiscale(cf) => ("IT-CF".to_owned(), cf.as_str().to_owned()),
                OrgId::Foreign { scheme, id } => (scheme.clone(), id.clone()),
            };
            self.0.push(Party {
                id: id.clone(),
                name: o.name.clone(),
                identifier: Identifier {
                    scheme,
                    id: ident,
                    legal_name: o.name.clone(),
                },
                address: o.address.as_ref().map(|a| AddressOut {
                    street_address: a.street_address.clone(),
                    locality: a.locality.clone(),
                    region: a.region.clone(),
                    postal_code: a.postal_code.clone(),
                    country_name: a.country_name.clone(),
                }),
                contact_point: o.contact.as_ref().map(|c| ContactOut {
                    name: c.name.clone(),
                    email: c.email.clone(),
                    telephone: c.telephone.clone(),
                }),
                roles: vec![role],
            });
        }
        OrgRef {
            id,
            name: o.name.clone(),
        }
    }
}

fn statistics(bids: &[&BidRecord], lot: Option<&str>) -> Vec<Statistic> {
    let relevant: Vec<&&BidRecord> = bids
        .iter()
        .filter(|b| b.status != BidStatus::Withdrawn)
        .filter(|b| lot.is_none_or(|l| b.lot_ids.iter().any(|x| x == l)))
        .collect();
    let count = |s: Option<BidStatus>| {
        relevant
            .iter()
            .filter(|b| s.is_none_or(|s| b.status == s))
            .count()
    };
    let suffix = lot.map(|l| format!("-{l}")).unwrap_or_default();
    [
        ("bids", count(None)),
        ("validBids", count(Some(BidStatus::Valid))),
        ("disqualifiedBids", count(Some(BidStatus::Disqualified))),
    ]
    .into_iter()
    .map(|(measure, value)| Statistic {
        id: format!("{measure}{suffix}"),
        measure,
        value,
        related_lot: lot.map(str::to_owned),
    })
    .collect()
}

fn release(record: &TenderRecord, config: &OcdsConfig, ocid: &str, ev: &LifecycleEvent) -> Release {
    let at = ev.date;
    let mut parties = Parties(Vec::new());
    let buyer = parties.add(&record.buyer, "buyer");
    let procuring_entity = parties.add(&config.procuring_entity, "procuringEntity");

    let deadline_passed = record
        .tender_period
        .as_ref()
        .and_then(|p| p.end)
        .is_none_or(|end| at >= end);
    let bids: Vec<&BidRecord> = if deadline_passed {
        record.bids.iter().filter(|b| b.date <= at).collect()
    } else {
        Vec::new()
    };
    let mut tenderers: Vec<OrgRef> = Vec::new();
    let details: Vec<Bid> = bids
        .iter()
        .map(|b| {
            let refs: Vec<OrgRef> = b
                .bidder
                .members()
                .iter()
                .map(|o| parties.add(o, "tenderer"))
                .collect();
            if b.status != BidStatus::Withdrawn {
                for r in &refs {
                    if !tenderers.iter().any(|t| t.id == r.id) {
                        tenderers.push(r.clone());
                    }
                }
            }
            Bid {
                id: b.id.clone(),
                date: ts(&b.date),
                status: b.status,
                tenderers: refs,
                value: b.value.map(eur),
                related_lots: b.lot_ids.clone(),
            }
        })
        .collect();
    let bids_out = (!bids.is_empty()).then(|| {
        let mut stats = statistics(&bids, None);
        for l in &record.lots {
            if bids.iter().any(|b| b.lot_ids.contains(&l.id)) {
                stats.extend(statistics(&bids, Some(&l.id)));
            }
        }
        Bids {
            statistics: stats,
            details,
        }
    });

    let awards: Vec<Award> = record
        .awards
        .iter()
        .filter(|a| a.date <= at)
        .map(|a| Award {
            id: a.id.clone(),
            status: a.status,
            date: ts(&a.date),
            value: a.value.map(eur),
            suppliers: a
                .suppliers
                .members()
                .iter()
                .map(|o| parties.add(o, "supplier"))
                .collect(),
            related_lots: a.lot_ids.clone(),
            related_bid: a.bid_id.clone(),
        })
        .collect();
    let contracts: Vec<Contract> = record
        .contracts
        .iter()
        .filter(|c| c.date_signed <= at && awards.iter().any(|a| a.id == c.award_id))
        .map(|c| {
            let transactions: Vec<Transaction> = c
                .payments
                .iter()
                .filter(|p| p.date <= at)
                .map(|p| Transaction {
                    id: p.id.clone(),
                    date: ts(&p.date),
                    value: eur(p.amount),
                })
                .collect();
            Contract {
                id: c.id.clone(),
                award_id: c.award_id.clone(),
                title: c.title.clone(),
                status: c.status,
                value: c.value.map(eur),
                date_signed: ts(&c.date_signed),
                period: c.period.as_ref().map(period_out),
                implementation: (!transactions.is_empty())
                    .then_some(Implementation { transactions }),
            }
        })
        .collect();

    let tender = Tender {
        id: record.id.clone(),
        title: record.title.clone(),
        description: record.description.clone(),
        status: ev.tender_status,
        procuring_entity,
        value: record.value.map(eur),
        procurement_method: procurement_method(record.procedure),
        procurement_method_details: record.procedure.label(),
        main_procurement_category: match record.category {
            Category::Goods => "goods",
            Category::Works => "works",
            Category::Services => "services",
        },
        award_criteria: record.award_criteria.map(|c| match c {
            AwardCriteria::PriceOnly => "priceOnly",
            AwardCriteria::RatedCriteria => "ratedCriteria",
        }),
        tender_period: record.tender_period.as_ref().map(period_out),
        number_of_tenderers: bids_out.as_ref().map(|_| tenderers.len()),
        tenderers,
        lots: record
            .lots
            .iter()
            .map(|l| Lot {
                id: l.id.clone(),
                title: l.title.clone(),
                description: l.description.clone(),
                value: l.value.map(eur),
                cig: l.cig.as_ref().map(|c| c.as_str().to_owned()),
            })
            .collect(),
    };
    Release {
        ocid: ocid.to_owned(),
        id: ev.id.clone(),
        date: ts(&at),
        tag: vec![ev.kind.tag()],
        initiation_type: "tender",
        language: "it",
        parties: parties.0,
        buyer,
        tender,
        bids: bids_out,
        awards,
        contracts,
    }
}

/// The ocid of a tender.
pub fn ocid(record: &TenderRecord, config: &OcdsConfig) -> String {
    format!("{}-{}", config.ocid_prefix, record.id)
}

/// Builds the release package of one tender: one release per lifecycle event, in date order.
/// `published` is the package's `publishedDate` (passed in: this crate reads no clock).
pub fn release_package(
    record: &TenderRecord,
    config: &OcdsConfig,
    published: DateTime<Utc>,
) -> Result<ReleasePackage, OcdsError> {
    check(record, config)?;
    let ocid = ocid(record, config);
    let mut events: Vec<&LifecycleEvent> = record.events.iter().collect();
    events.sort_by_key(|e| e.date);
    Ok(ReleasePackage {
        uri: format!(
            "{}/{}.json",
            config.package_base_uri.trim_end_matches('/'),
            record.id
        ),
        version: "1.1",
        extensions: EXTENSIONS.to_vec(),
        published_date: ts(&published),
        publisher: Publisher {
            name: config.publisher_name.clone(),
            scheme: config.publisher_cf.as_ref().map(|_| "IT-CF".to_owned()),
            uid: config.publisher_cf.as_ref().map(|c| c.as_str().to_owned()),
            uri: config.publisher_uri.clone(),
        },
        license: config.license.clone(),
        publication_policy: config.publication_policy.clone(),
        releases: events
            .into_iter()
            .map(|e| release(record, config, &ocid, e))
            .collect(),
    })
}

/// Serialises a package as JSON into any writer.
pub fn write_package<W: std::io::Write>(
    package: &ReleasePackage,
    out: W,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer_pretty(out, package)
}
