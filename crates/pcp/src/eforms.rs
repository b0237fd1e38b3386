//! eForms XML (EU Implementing Regulation 2019/1780, SDK 1.15) for the notices PCP forwards to TED: the
//! contract notice of subtype 16 (open procedure, Directive 2014/24/EU) that goes inside P1_16, and the
//! contract award notice of subtype 29 that goes inside A1_29. Written with quick-xml, element order as the
//! UBL 2.3 XSDs require (vendored in `spec/eforms/`, validated by `tests/eforms.rs`).
//!
//! What is written is the structure the XSD checks and the fields our data has (buyer, CUC as service
//! provider, lots with CPV, NUTS, value, duration, deadline, documents and submission URLs; results with
//! tenders, winners and amounts). The eForms business rules (schematron, XSLT 2) are not run here: PCP runs
//! them when it receives the scheda and answers a KO with their codes.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use domain::award::AwardCriterion;
use domain::thresholds::ContractObject;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::error::PcpError;
use crate::model::{
    Appalto, Committente, ElencoLotto, EsitoAggiudicazione, Membro, StazioneAppaltante,
};

/// The eForms SDK version the notices declare (`cbc:CustomizationID`).
pub const SDK: &str = "eforms-sdk-1.15";

/// Identifiers of a notice, chosen by the caller (no randomness here): the notice's UUID (BT-701) and the
/// procedure's (BT-04, the same in every notice of one procedure).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeIds {
    pub notice: Uuid,
    pub procedure: Uuid,
}

impl NoticeIds {
    /// Fixed ids for tests and examples.
    pub fn example() -> Self {
        NoticeIds {
            notice: Uuid::from_u128(0x0e4f_0000_0000_4000_8000_0000_0000_0016),
            procedure: Uuid::from_u128(0x0e4f_0000_0000_4000_8000_0000_0000_0001),
        }
    }
}

/// eForms dates and times carry their offset: `2026-10-01Z`, `09:00:00Z`.
fn format_date_time(t: DateTime<Utc>) -> (String, String) {
    (
        t.format("%Y-%m-%dZ").to_string(),
        t.format("%H:%M:%SZ").to_string(),
    )
}

type W = Writer<Cursor<Vec<u8>>>;
type R = Result<(), PcpError>;

fn xml_err(e: impl std::fmt::Display) -> PcpError {
    PcpError::invalid("eform", format!("XML writing failed: {e}"))
}

fn open(w: &mut W, name: &str, attrs: &[(&str, &str)]) -> R {
    let mut s = BytesStart::new(name);
    for a in attrs {
        s.push_attribute(*a);
    }
    w.write_event(Event::Start(s)).map_err(xml_err)
}

fn close(w: &mut W, name: &str) -> R {
    w.write_event(Event::End(BytesEnd::new(name)))
        .map_err(xml_err)
}

fn leaf(w: &mut W, name: &str, attrs: &[(&str, &str)], text: &str) -> R {
    open(w, name, attrs)?;
    w.write_event(Event::Text(BytesText::new(text)))
        .map_err(xml_err)?;
    close(w, name)
}

fn amount(d: Decimal) -> String {
    d.round_dp(2).normalize().to_string()
}

fn nature(o: ContractObject) -> &'static str {
    match o {
        ContractObject::Works => "works",
        ContractObject::Services => "services",
        ContractObject::Supplies => "supplies",
    }
}

const NS: &[(&str, &str)] = &[
    (
        "xmlns:cac",
        "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    ),
    (
        "xmlns:cbc",
        "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    ),
    (
        "xmlns:ext",
        "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    ),
    (
        "xmlns:efac",
        "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    ),
    (
        "xmlns:efext",
        "http://data.europa.eu/p27/eforms-ubl-extensions/1",
    ),
    (
        "xmlns:efbc",
        "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
    ),
];

fn organization(w: &mut W, id: &str, sa: &StazioneAppaltante, a: &Appalto) -> R {
    open(w, "efac:Organization", &[])?;
    open(w, "efac:Company", &[])?;
    open(w, "cac:PartyIdentification", &[])?;
    leaf(w, "cbc:ID", &[("schemeName", "organization")], id)?;
    close(w, "cac:PartyIdentification")?;
    open(w, "cac:PartyName", &[])?;
    leaf(w, "cbc:Name", &[("languageID", "ITA")], &sa.denominazione)?;
    close(w, "cac:PartyName")?;
    open(w, "cac:PostalAddress", &[])?;
    let nuts = a.lotti.first().map(|l| l.nuts.as_str()).unwrap_or("ITZZZ");
    leaf(w, "cbc:CountrySubentityCode", &[("listName", "nuts")], nuts)?;
    open(w, "cac:Country", &[])?;
    leaf(
        w,
        "cbc:IdentificationCode",
        &[("listName", "country")],
        "ITA",
    )?;
    close(w, "cac:Country")?;
    close(w, "cac:PostalAddress")?;
    open(w, "cac:PartyLegalEntity", &[])?;
    leaf(w, "cbc:CompanyID", &[], sa.codice_fiscale.as_str())?;
    close(w, "cac:PartyLegalEntity")?;
    close(w, "efac:Company")?;
    close(w, "efac:Organization")
}

/// A tenderer's organisation: name, country, tax id.
fn tenderer_organization(w: &mut W, id: &str, m: &Membro) -> R {
    open(w, "efac:Organization", &[])?;
    open(w, "efac:Company", &[])?;
    open(w, "cac:PartyIdentification", &[])?;
    leaf(w, "cbc:ID", &[("schemeName", "organization")], id)?;
    close(w, "cac:PartyIdentification")?;
    open(w, "cac:PartyName", &[])?;
    leaf(w, "cbc:Name", &[("languageID", "ITA")], &m.denominazione)?;
    close(w, "cac:PartyName")?;
    open(w, "cac:PostalAddress", &[])?;
    open(w, "cac:Country", &[])?;
    leaf(
        w,
        "cbc:IdentificationCode",
        &[("listName", "country")],
        m.id.paese(),
    )?;
    close(w, "cac:Country")?;
    close(w, "cac:PostalAddress")?;
    open(w, "cac:PartyLegalEntity", &[])?;
    leaf(w, "cbc:CompanyID", &[], m.id.as_str())?;
    close(w, "cac:PartyLegalEntity")?;
    close(w, "efac:Company")?;
    close(w, "efac:Organization")
}

/// The organisations: ORG-0001 the titolare (the Comune), ORG-0002 the CUC (the Province) when it acts for
/// it, then the tenderers (award notice) numbered on from ORG-0003.
fn organizations(w: &mut W, a: &Appalto, tenderers: &[(String, &Membro)]) -> R {
    open(w, "efac:Organizations", &[])?;
    match &a.committente {
        Committente::Diretto(sa) => organization(w, "ORG-0001", sa, a)?,
        Committente::PerConto { cuc, titolare, .. } => {
            organization(w, "ORG-0001", titolare, a)?;
            organization(w, "ORG-0002", cuc, a)?;
        }
    }
    for (id, m) in tenderers {
        tenderer_organization(w, id, m)?;
    }
    close(w, "efac:Organizations")
}

fn header(w: &mut W, ids: &NoticeIds, at: DateTime<Utc>, type_list: &str, type_code: &str) -> R {
    let (d, t) = format_date_time(at);
    leaf(w, "cbc:UBLVersionID", &[], "2.3")?;
    leaf(w, "cbc:CustomizationID", &[], SDK)?;
    leaf(
        w,
        "cbc:ID",
        &[("schemeName", "notice-id")],
        &ids.notice.to_string(),
    )?;
    leaf(w, "cbc:ContractFolderID", &[], &ids.procedure.to_string())?;
    leaf(w, "cbc:IssueDate", &[], &d)?;
    leaf(w, "cbc:IssueTime", &[], &t)?;
    leaf(w, "cbc:VersionID", &[], "01")?;
    leaf(w, "cbc:RegulatoryDomain", &[], "32014L0024")?;
    leaf(
        w,
        "cbc:NoticeTypeCode",
        &[("listName", type_list)],
        type_code,
    )?;
    leaf(w, "cbc:NoticeLanguageCode", &[], "ITA")
}

fn contracting_party(w: &mut W, a: &Appalto) -> R {
    open(w, "cac:ContractingParty", &[])?;
    open(w, "cac:ContractingPartyType", &[])?;
    leaf(
        w,
        "cbc:PartyTypeCode",
        &[("listName", "buyer-legal-type")],
        "ra",
    )?;
    close(w, "cac:ContractingPartyType")?;
    open(w, "cac:ContractingActivity", &[])?;
    leaf(
        w,
        "cbc:ActivityTypeCode",
        &[("listName", "authority-activity")],
        "gen-pub",
    )?;
    close(w, "cac:ContractingActivity")?;
    open(w, "cac:Party", &[])?;
    open(w, "cac:PartyIdentification", &[])?;
    leaf(w, "cbc:ID", &[("schemeName", "organization")], "ORG-0001")?;
    close(w, "cac:PartyIdentification")?;
    if matches!(a.committente, Committente::PerConto { .. }) {
        // The Province runs the procedure for the Comune (eForms: "procurement service provider").
        open(w, "cac:ServiceProviderParty", &[])?;
        leaf(
            w,
            "cbc:ServiceTypeCode",
            &[("listName", "organisation-role")],
            "serv-prov",
        )?;
        open(w, "cac:Party", &[])?;
        open(w, "cac:PartyIdentification", &[])?;
        leaf(w, "cbc:ID", &[("schemeName", "organization")], "ORG-0002")?;
        close(w, "cac:PartyIdentification")?;
        close(w, "cac:Party")?;
        close(w, "cac:ServiceProviderParty")?;
    }
    close(w, "cac:Party")?;
    close(w, "cac:ContractingParty")
}

#[allow(clippy::too_many_arguments)]
fn project(
    w: &mut W,
    id: Option<&str>,
    title: &str,
    descr: &str,
    o: ContractObject,
    value: Option<Decimal>,
    cpv: &str,
    nuts: &str,
) -> R {
    open(w, "cac:ProcurementProject", &[])?;
    if let Some(id) = id {
        leaf(w, "cbc:ID", &[("schemeName", "InternalID")], id)?;
    }
    leaf(w, "cbc:Name", &[("languageID", "ITA")], title)?;
    leaf(w, "cbc:Description", &[("languageID", "ITA")], descr)?;
    leaf(
        w,
        "cbc:ProcurementTypeCode",
        &[("listName", "contract-nature")],
        nature(o),
    )?;
    if let Some(v) = value {
        // BT-27 estimated value (UBL order: before the classification)
        open(w, "cac:RequestedTenderTotal", &[])?;
        leaf(
            w,
            "cbc:EstimatedOverallContractAmount",
            &[("currencyID", "EUR")],
            &amount(v),
        )?;
        close(w, "cac:RequestedTenderTotal")?;
    }
    open(w, "cac:MainCommodityClassification", &[])?;
    leaf(w, "cbc:ItemClassificationCode", &[("listName", "cpv")], cpv)?;
    close(w, "cac:MainCommodityClassification")?;
    open(w, "cac:RealizedLocation", &[])?;
    open(w, "cac:Address", &[])?;
    leaf(w, "cbc:CountrySubentityCode", &[("listName", "nuts")], nuts)?;
    open(w, "cac:Country", &[])?;
    leaf(
        w,
        "cbc:IdentificationCode",
        &[("listName", "country")],
        "ITA",
    )?;
    close(w, "cac:Country")?;
    close(w, "cac:Address")?;
    close(w, "cac:RealizedLocation")
}

fn finish(w: W) -> Result<String, PcpError> {
    String::from_utf8(w.into_inner().into_inner()).map_err(xml_err)
}

fn procedure_code(a: &Appalto) -> &'static str {
    match a.procedura {
        crate::model::Procedura::Aperta => "open",
        crate::model::Procedura::NegoziataSenzaBando => "neg-wo-call",
        crate::model::Procedura::AffidamentoDiretto => "neg-wo-call",
    }
}

/// The contract notice, subtype 16 (`cn-standard`, open procedure under Directive 2014/24/EU).
pub fn contract_notice(
    a: &Appalto,
    ids: &NoticeIds,
    at: DateTime<Utc>,
) -> Result<String, PcpError> {
    if a.lotti.is_empty() {
        return Err(PcpError::invalid(
            "lotti",
            "a contract notice needs at least one lot",
        ));
    }
    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(xml_err)?;
    let mut root: Vec<(&str, &str)> = vec![(
        "xmlns",
        "urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2",
    )];
    root.extend_from_slice(NS);
    open(&mut w, "ContractNotice", &root)?;
    open(&mut w, "ext:UBLExtensions", &[])?;
    open(&mut w, "ext:UBLExtension", &[])?;
    open(&mut w, "ext:ExtensionContent", &[])?;
    open(&mut w, "efext:EformsExtension", &[])?;
    open(&mut w, "efac:NoticeSubType", &[])?;
    leaf(
        &mut w,
        "cbc:SubTypeCode",
        &[("listName", "notice-subtype")],
        "16",
    )?;
    close(&mut w, "efac:NoticeSubType")?;
    organizations(&mut w, a, &[])?;
    close(&mut w, "efext:EformsExtension")?;
    close(&mut w, "ext:ExtensionContent")?;
    close(&mut w, "ext:UBLExtension")?;
    close(&mut w, "ext:UBLExtensions")?;
    header(&mut w, ids, at, "competition", "cn-standard")?;
    contracting_party(&mut w, a)?;
    open(&mut w, "cac:TenderingTerms", &[])?;
    open(&mut w, "cac:TendererQualificationRequest", &[])?;
    open(&mut w, "cac:SpecificTendererRequirement", &[])?;
    leaf(
        &mut w,
        "cbc:TendererRequirementTypeCode",
        &[("listName", "exclusion-grounds-source")],
        "epo-procurement-document",
    )?;
    close(&mut w, "cac:SpecificTendererRequirement")?;
    close(&mut w, "cac:TendererQualificationRequest")?;
    close(&mut w, "cac:TenderingTerms")?;
    open(&mut w, "cac:TenderingProcess", &[])?;
    leaf(
        &mut w,
        "cbc:ProcedureCode",
        &[("listName", "procurement-procedure-type")],
        procedure_code(a),
    )?;
    open(&mut w, "cac:ProcessJustification", &[])?;
    leaf(
        &mut w,
        "cbc:ProcessReasonCode",
        &[("listName", "accelerated-procedure")],
        "false",
    )?;
    close(&mut w, "cac:ProcessJustification")?;
    close(&mut w, "cac:TenderingProcess")?;
    let first = &a.lotti[0];
    project(
        &mut w,
        None,
        &a.titolo,
        &a.descrizione,
        first.oggetto,
        None,
        first.cpv.code(),
        first.nuts.as_str(),
    )?;
    close(&mut w, "cac:ProcurementProject")?;
    for l in &a.lotti {
        open(&mut w, "cac:ProcurementProjectLot", &[])?;
        leaf(
            &mut w,
            "cbc:ID",
            &[("schemeName", "Lot")],
            &l.lot_identifier,
        )?;
        open(&mut w, "cac:TenderingTerms", &[])?;
        leaf(
            &mut w,
            "cbc:VariantConstraintCode",
            &[("listName", "permission")],
            "not-allowed",
        )?;
        let eu = if l.pnrr { "eu-funds" } else { "no-eu-funds" };
        leaf(
            &mut w,
            "cbc:FundingProgramCode",
            &[("listName", "eu-funded")],
            eu,
        )?;
        open(&mut w, "cac:CallForTendersDocumentReference", &[])?;
        leaf(&mut w, "cbc:ID", &[], &a.codice_appalto)?;
        leaf(&mut w, "cbc:DocumentType", &[], "non-restricted-document")?;
        open(&mut w, "cac:Attachment", &[])?;
        open(&mut w, "cac:ExternalReference", &[])?;
        leaf(&mut w, "cbc:URI", &[], &a.url_documenti)?;
        close(&mut w, "cac:ExternalReference")?;
        close(&mut w, "cac:Attachment")?;
        close(&mut w, "cac:CallForTendersDocumentReference")?;
        open(&mut w, "cac:TendererQualificationRequest", &[])?;
        open(&mut w, "cac:SpecificTendererRequirement", &[])?;
        leaf(
            &mut w,
            "cbc:TendererRequirementTypeCode",
            &[("listName", "reserved-procurement")],
            "none",
        )?;
        close(&mut w, "cac:SpecificTendererRequirement")?;
        close(&mut w, "cac:TendererQualificationRequest")?;
        open(&mut w, "cac:AwardingTerms", &[])?;
        open(&mut w, "cac:AwardingCriterion", &[])?;
        open(&mut w, "cac:SubordinateAwardingCriterion", &[])?;
        let crit = match a.criterio {
            AwardCriterion::LowestPrice => "price",
            AwardCriterion::QualityPrice => "quality",
        };
        leaf(
            &mut w,
            "cbc:AwardingCriterionTypeCode",
            &[("listName", "award-criterion-type")],
            crit,
        )?;
        close(&mut w, "cac:SubordinateAwardingCriterion")?;
        close(&mut w, "cac:AwardingCriterion")?;
        close(&mut w, "cac:AwardingTerms")?;
        open(&mut w, "cac:TenderRecipientParty", &[])?;
        leaf(&mut w, "cbc:EndpointID", &[], &a.url_offerte)?;
        close(&mut w, "cac:TenderRecipientParty")?;
        open(&mut w, "cac:TenderValidityPeriod", &[])?;
        leaf(
            &mut w,
            "cbc:DurationMeasure",
            &[("unitCode", "DAY")],
            &l.validita_offerta_giorni.to_string(),
        )?;
        close(&mut w, "cac:TenderValidityPeriod")?;
        open(&mut w, "cac:Language", &[])?;
        leaf(&mut w, "cbc:ID", &[], "ITA")?;
        close(&mut w, "cac:Language")?;
        close(&mut w, "cac:TenderingTerms")?;
        open(&mut w, "cac:TenderingProcess", &[])?;
        leaf(
            &mut w,
            "cbc:SubmissionMethodCode",
            &[("listName", "esubmission")],
            "required",
        )?;
        open(&mut w, "cac:TenderSubmissionDeadlinePeriod", &[])?;
        let (d, t) = format_date_time(l.scadenza_offerte);
        leaf(&mut w, "cbc:EndDate", &[], &d)?;
        leaf(&mut w, "cbc:EndTime", &[], &t)?;
        close(&mut w, "cac:TenderSubmissionDeadlinePeriod")?;
        close(&mut w, "cac:TenderingProcess")?;
        project(
            &mut w,
            Some(&l.lot_identifier),
            &l.titolo,
            &l.descrizione,
            l.oggetto,
            Some(l.quadro.valore_stimato()),
            l.cpv.code(),
            l.nuts.as_str(),
        )?;
        open(&mut w, "cac:PlannedPeriod", &[])?;
        leaf(
            &mut w,
            "cbc:DurationMeasure",
            &[("unitCode", "MONTH")],
            &l.durata_mesi.to_string(),
        )?;
        close(&mut w, "cac:PlannedPeriod")?;
        close(&mut w, "cac:ProcurementProject")?;
        close(&mut w, "cac:ProcurementProjectLot")?;
    }
    close(&mut w, "ContractNotice")?;
    finish(w)
}

/// The contract award notice, subtype 29 (`can-standard`, Directive 2014/24/EU): per lot the result
/// (winner chosen or not), the tenders with their amounts, the winners' contracts.
pub fn award_notice(
    a: &Appalto,
    e: &EsitoAggiudicazione,
    elenco: &[ElencoLotto],
    ids: &NoticeIds,
    at: DateTime<Utc>,
) -> Result<String, PcpError> {
    let mut w = Writer::new_with_indent(Cursor::new(Vec::new()), b' ', 1);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(xml_err)?;
    let mut root: Vec<(&str, &str)> = vec![(
        "xmlns",
        "urn:oasis:names:specification:ubl:schema:xsd:ContractAwardNotice-2",
    )];
    root.extend_from_slice(NS);
    open(&mut w, "ContractAwardNotice", &root)?;
    open(&mut w, "ext:UBLExtensions", &[])?;
    open(&mut w, "ext:UBLExtension", &[])?;
    open(&mut w, "ext:ExtensionContent", &[])?;
    open(&mut w, "efext:EformsExtension", &[])?;
    open(&mut w, "efac:NoticeResult", &[])?;
    // Ids: result RES-nnnn per lot, tender TEN-nnnn per bid, contract CON-nnnn per winner, party TPA-nnnn per
    // bidder; the lot of an award is found by its CIG in `elenco` order (the lots' order).
    let mut tenders = Vec::new(); // (tender id, lot id, amount, party id)
    let mut contracts = Vec::new(); // (contract id, tender id)
    let mut parties: Vec<Uuid> = Vec::new();
    for (i, ag) in e.aggiudicazioni.iter().enumerate() {
        let lot_id = elenco
            .iter()
            .position(|l| l.cig == ag.cig)
            .and_then(|p| a.lotti.get(p))
            .map(|l| l.lot_identifier.clone())
            .ok_or_else(|| {
                PcpError::invalid(
                    "aggiudicazioni.cig",
                    format!("{} is not a lot of the appalto", ag.cig),
                )
            })?;
        open(&mut w, "efac:LotResult", &[])?;
        leaf(
            &mut w,
            "cbc:ID",
            &[("schemeName", "result")],
            &format!("RES-{:04}", i + 1),
        )?;
        let winner = ag.offerte.iter().any(|o| o.aggiudicatario);
        leaf(
            &mut w,
            "cbc:TenderResultCode",
            &[("listName", "winner-selection-status")],
            if winner { "selec-w" } else { "clos-nw" },
        )?;
        if let (false, Some(why)) = (winner, ag.senza_vincitore) {
            // BT-144: why no winner was chosen
            open(&mut w, "efac:DecisionReason", &[])?;
            leaf(
                &mut w,
                "efbc:DecisionReasonCode",
                &[("listName", "non-award-justification")],
                crate::codes::Tipologica::code(why),
            )?;
            close(&mut w, "efac:DecisionReason")?;
        }
        let mut lot_tenders = Vec::new();
        for o in &ag.offerte {
            let tid = format!("TEN-{:04}", tenders.len() + 1);
            let party = match parties.iter().position(|p| *p == o.id_partecipante) {
                Some(p) => p,
                None => {
                    parties.push(o.id_partecipante);
                    parties.len() - 1
                }
            };
            tenders.push((
                tid.clone(),
                lot_id.clone(),
                o.importo,
                format!("TPA-{:04}", party + 1),
            ));
            if o.aggiudicatario {
                contracts.push((format!("CON-{:04}", contracts.len() + 1), tid.clone()));
            }
            lot_tenders.push(tid);
        }
        for t in &lot_tenders {
            open(&mut w, "efac:LotTender", &[])?;
            leaf(&mut w, "cbc:ID", &[("schemeName", "tender")], t)?;
            close(&mut w, "efac:LotTender")?;
        }
        open(&mut w, "efac:ReceivedSubmissionsStatistics", &[])?;
        leaf(
            &mut w,
            "efbc:StatisticsCode",
            &[("listName", "received-submission-type")],
            "tenders",
        )?;
        leaf(
            &mut w,
            "efbc:StatisticsNumeric",
            &[],
            &ag.offerte.len().to_string(),
        )?;
        close(&mut w, "efac:ReceivedSubmissionsStatistics")?;
        for (cid, tid) in &contracts {
            if lot_tenders.contains(tid) {
                open(&mut w, "efac:SettledContract", &[])?;
                leaf(&mut w, "cbc:ID", &[("schemeName", "contract")], cid)?;
                close(&mut w, "efac:SettledContract")?;
            }
        }
        open(&mut w, "efac:TenderLot", &[])?;
        leaf(&mut w, "cbc:ID", &[("schemeName", "Lot")], &lot_id)?;
        close(&mut w, "efac:TenderLot")?;
        close(&mut w, "efac:LotResult")?;
    }
    for (tid, lot, importo, party) in &tenders {
        open(&mut w, "efac:LotTender", &[])?;
        leaf(&mut w, "cbc:ID", &[("schemeName", "tender")], tid)?;
        open(&mut w, "cac:LegalMonetaryTotal", &[])?;
        leaf(
            &mut w,
            "cbc:PayableAmount",
            &[("currencyID", "EUR")],
            &amount(*importo),
        )?;
        close(&mut w, "cac:LegalMonetaryTotal")?;
        open(&mut w, "efac:TenderingParty", &[])?;
        leaf(
            &mut w,
            "cbc:ID",
            &[("schemeName", "tendering-party")],
            party,
        )?;
        close(&mut w, "efac:TenderingParty")?;
        open(&mut w, "efac:TenderLot", &[])?;
        leaf(&mut w, "cbc:ID", &[("schemeName", "Lot")], lot)?;
        close(&mut w, "efac:TenderLot")?;
        close(&mut w, "efac:LotTender")?;
    }
    let (award_date, _) = format_date_time(at);
    for (cid, tid) in &contracts {
        open(&mut w, "efac:SettledContract", &[])?;
        leaf(&mut w, "cbc:ID", &[("schemeName", "contract")], cid)?;
        leaf(&mut w, "cbc:AwardDate", &[], &award_date)?;
        open(&mut w, "efac:LotTender", &[])?;
        leaf(&mut w, "cbc:ID", &[("schemeName", "tender")], tid)?;
        close(&mut w, "efac:LotTender")?;
        close(&mut w, "efac:SettledContract")?;
    }
    // Each bidder's members become organisations ORG-0003…; a grouping's first member is its lead.
    let mut tenderers: Vec<(String, &Membro)> = Vec::new();
    for (i, p) in parties.iter().enumerate() {
        let partecipante = elenco
            .iter()
            .flat_map(|l| l.partecipanti.iter())
            .find(|x| x.id == *p)
            .ok_or_else(|| {
                PcpError::invalid(
                    "offertePresentate.idPartecipante",
                    format!("{p} is not a bidder"),
                )
            })?;
        open(&mut w, "efac:TenderingParty", &[])?;
        leaf(
            &mut w,
            "cbc:ID",
            &[("schemeName", "tendering-party")],
            &format!("TPA-{:04}", i + 1),
        )?;
        let group = partecipante.membri.len() > 1;
        for (k, m) in partecipante.membri.iter().enumerate() {
            let org = format!("ORG-{:04}", 3 + tenderers.len());
            open(&mut w, "efac:Tenderer", &[])?;
            leaf(&mut w, "cbc:ID", &[("schemeName", "organization")], &org)?;
            if group {
                leaf(
                    &mut w,
                    "efbc:GroupLeadIndicator",
                    &[],
                    if k == 0 { "true" } else { "false" },
                )?;
            }
            close(&mut w, "efac:Tenderer")?;
            tenderers.push((org, m));
        }
        close(&mut w, "efac:TenderingParty")?;
    }
    close(&mut w, "efac:NoticeResult")?;
    open(&mut w, "efac:NoticeSubType", &[])?;
    leaf(
        &mut w,
        "cbc:SubTypeCode",
        &[("listName", "notice-subtype")],
        "29",
    )?;
    close(&mut w, "efac:NoticeSubType")?;
    organizations(&mut w, a, &tenderers)?;
    close(&mut w, "efext:EformsExtension")?;
    close(&mut w, "ext:ExtensionContent")?;
    close(&mut w, "ext:UBLExtension")?;
    close(&mut w, "ext:UBLExtensions")?;
    header(&mut w, ids, at, "result", "can-standard")?;
    contracting_party(&mut w, a)?;
    open(&mut w, "cac:TenderingProcess", &[])?;
    leaf(
        &mut w,
        "cbc:ProcedureCode",
        &[("listName", "procurement-procedure-type")],
        procedure_code(a),
    )?;
    close(&mut w, "cac:TenderingProcess")?;
    let first = a
        .lotti
        .first()
        .ok_or_else(|| PcpError::invalid("lotti", "an award notice needs at least one lot"))?;
    project(
        &mut w,
        None,
        &a.titolo,
        &a.descrizione,
        first.oggetto,
        None,
        first.cpv.code(),
        first.nuts.as_str(),
    )?;
    close(&mut w, "cac:ProcurementProject")?;
    for l in &a.lotti {
        open(&mut w, "cac:ProcurementProjectLot", &[])?;
        leaf(
            &mut w,
            "cbc:ID",
            &[("schemeName", "Lot")],
            &l.lot_identifier,
        )?;
        project(
            &mut w,
            Some(&l.lot_identifier),
            &l.titolo,
            &l.descrizione,
            l.oggetto,
            None,
            l.cpv.code(),
            l.nuts.as_str(),
        )?;
        close(&mut w, "cac:ProcurementProject")?;
        close(&mut w, "cac:ProcurementProjectLot")?;
    }
    open(&mut w, "cac:TenderResult", &[])?;
    leaf(&mut w, "cbc:AwardDate", &[], &award_date)?;
    close(&mut w, "cac:TenderResult")?;
    close(&mut w, "ContractAwardNotice")?;
    finish(w)
}
