//! Transparency exports from the service's rows: the mapping onto the `anac` crate's models.
//!
//! [`load`] reads what an export needs into a [`Snapshot`]; everything else here is pure (no clock, no I/O):
//! [`l190_lots`] selects and maps the lots of one reference year onto [`anac::l190::Lotto`], and
//! [`ocds_records`] maps each public tender onto an [`anac::ocds::TenderRecord`] whose releases are the
//! lifecycle events recorded in the audit log. Bad stored data is reported as an [`ExportError`] naming the
//! tender or lot and the field, never a panic. See `docs/anac-export.md`, "Exporting from the service".

use crate::audit;
use std::collections::{HashMap, HashSet};

use anac::l190::{
    IdFiscale, LotCig, Lotto, Offerente, Procedura, SceltaContraente, Soggetto, StrutturaProponente,
};
use anac::ocds::{
    AwardCriteria, AwardRecord, AwardStatus, BidRecord, BidStatus, Bidder, Category,
    ContractRecord, ContractStatus, EventKind, LifecycleEvent, LotRecord, OrgId, Organization,
    Period, TenderRecord, TenderStatus,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::calendar::LegalCalendar;
use domain::ids::{Cig, CodiceFiscale};
use domain::money::{Euro, Rounding};
use lifecycle::{
    ProcedureType,
    lot::LotState,
    participation::ParticipationState,
    tender::{TenderPhase, TenderState},
};
use rust_decimal::Decimal;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::db::entities::{audit_entry, bid, lot, municipality, operator, province, tender};

/// Stored data that cannot be exported: which object, which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object} {id}: {field}: {message}")]
pub struct ExportError {
    /// `tender`, `lot`, `bid`, `operator`, `municipality` or `option`.
    pub object: &'static str,
    pub id: String,
    pub field: String,
    pub message: String,
}

fn fail<T>(
    object: &'static str,
    id: impl ToString,
    field: impl Into<String>,
    message: impl Into<String>,
) -> Result<T, ExportError> {
    Err(ExportError {
        object,
        id: id.to_string(),
        field: field.into(),
        message: message.into(),
    })
}

/// The rows an export reads. Lifecycle events are the audit entries whose action starts with `tender.` or
/// `lot.` on the loaded tenders and lots, in `seq` order.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub provinces: Vec<province::Model>,
    pub municipalities: Vec<municipality::Model>,
    pub operators: Vec<operator::Model>,
    pub tenders: Vec<tender::Model>,
    pub lots: Vec<lot::Model>,
    pub bids: Vec<bid::Model>,
    pub events: Vec<audit_entry::Model>,
}

/// Why the lots of `tenders` could not be read. A lot's CIG is a typed column (validated when written), so
/// a stored text that is not a CIG fails the whole read; name the lot and its field, as the export names
/// every other unexportable value.
async fn unreadable_lots<C: ConnectionTrait>(
    db: &C,
    tenders: Vec<Uuid>,
    err: sea_orm::DbErr,
) -> anyhow::Error {
    let raw = lot::Entity::find()
        .select_only()
        .column(lot::Column::Id)
        .column(lot::Column::Cig)
        .filter(lot::Column::TenderId.is_in(tenders))
        .order_by_asc(lot::Column::Id)
        .into_tuple::<(Uuid, Option<String>)>()
        .all(db)
        .await;
    let bad = raw.ok().and_then(|rows| {
        rows.into_iter().find_map(|(id, cig)| {
            let e = Cig::parse(cig.as_deref()?).err()?;
            Some(ExportError {
                object: "lot",
                id: id.to_string(),
                field: "cig".into(),
                message: e.to_string(),
            })
        })
    });
    match bad {
        Some(e) => e.into(),
        None => err.into(),
    }
}

/// Loads the rows of one Province (by its code) or of all, optionally of one tender only.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    province_code: Option<&str>,
    tender_id: Option<Uuid>,
) -> anyhow::Result<Snapshot> {
    let mut pq = province::Entity::find().order_by_asc(province::Column::Code);
    if let Some(code) = province_code {
        pq = pq.filter(province::Column::Code.eq(code.trim().to_uppercase()));
    }
    let provinces = pq.all(db).await?;
    if let Some(code) = province_code
        && provinces.is_empty()
    {
        anyhow::bail!("--province: no province with code {code:?}");
    }
    let pids: Vec<Uuid> = provinces.iter().map(|p| p.id).collect();
    let mut tq = tender::Entity::find()
        .filter(tender::Column::ProvinceId.is_in(pids.clone()))
        .order_by_asc(tender::Column::CreatedAt)
        .order_by_asc(tender::Column::Id);
    if let Some(t) = tender_id {
        tq = tq.filter(tender::Column::Id.eq(t));
    }
    let tenders = tq.all(db).await?;
    if let Some(t) = tender_id
        && tenders.is_empty()
    {
        anyhow::bail!("--tender: no tender {t} (in the selected province)");
    }
    let municipalities = municipality::Entity::find()
        .filter(municipality::Column::ProvinceId.is_in(pids))
        .all(db)
        .await?;
    let mut lots = Vec::new();
    let mut bids = Vec::new();
    for chunk in tenders.chunks(500) {
        let ids: Vec<Uuid> = chunk.iter().map(|t| t.id).collect();
        let found = lot::Entity::find()
            .filter(lot::Column::TenderId.is_in(ids.clone()))
            .order_by_asc(lot::Column::Number)
            .all(db)
            .await;
        match found {
            Ok(found) => lots.extend(found),
            Err(e) => return Err(unreadable_lots(db, ids, e).await),
        }
        bids.extend(
            bid::Entity::find()
                .filter(bid::Column::TenderId.is_in(ids))
                .order_by_asc(bid::Column::SubmittedAt)
                .order_by_asc(bid::Column::Id)
                .all(db)
                .await?,
        );
    }
    let op_ids: HashSet<Uuid> = bids
        .iter()
        .map(|b| b.operator_id)
        .chain(tenders.iter().flat_map(workflow::transition::invitees))
        .collect();
    let mut operators = Vec::new();
    let op_ids: Vec<Uuid> = op_ids.into_iter().collect();
    for chunk in op_ids.chunks(500) {
        operators.extend(
            operator::Entity::find()
                .filter(operator::Column::Id.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    let objects: HashSet<String> = tenders
        .iter()
        .map(|t| t.id.to_string())
        .chain(lots.iter().map(|l| l.id.to_string()))
        .collect();
    let events = audit::in_written_order(
        audit_entry::Entity::find()
            .filter(audit_entry::Column::ObjectKind.is_in(["tender", "lot"])),
    )
    .all(db)
    .await?
    .into_iter()
    .filter(|e| objects.contains(&e.object_id))
    .filter(|e| e.action.starts_with("tender.") || e.action.starts_with("lot."))
    .collect();
    Ok(Snapshot {
        provinces,
        municipalities,
        operators,
        tenders,
        lots,
        bids,
        events,
    })
}

// ---------- shared helpers ----------

// Tenders whose offers (or requests) are still sealed (`TenderState::participants_sealed`) are left out of
// both exports' bid data (L.190 leaves them out entirely).

/// The L.190 procedure for a procedure type of the `lifecycle` crate.
pub fn procedura(procedure_type: ProcedureType) -> Procedura {
    match procedure_type {
        ProcedureType::AffidamentoDiretto => Procedura::AffidamentoDiretto,
        // art. 50 c.1 lett. c)-e): negotiated below the EU thresholds
        ProcedureType::NegoziataSenzaBando => Procedura::NegoziataSottoSoglia,
        ProcedureType::Aperta => Procedura::Aperta,
        ProcedureType::Ristretta => Procedura::Ristretta,
        ProcedureType::CompetitivaConNegoziazione => Procedura::CompetitivaConNegoziazione,
        ProcedureType::DialogoCompetitivo => Procedura::DialogoCompetitivo,
        ProcedureType::PartenariatoInnovazione => Procedura::PartenariatoInnovazione,
        // art. 76: negotiated without prior publication
        ProcedureType::NegoziataSenzaPubblicazione => Procedura::NegoziataSenzaBando,
    }
}

fn scelta(t: &tender::Model) -> Result<SceltaContraente, ExportError> {
    Ok(procedura(*t.procedure_type).into())
}

fn cents(object: &'static str, id: Uuid, field: &str, c: i64) -> Result<Euro, ExportError> {
    Euro::from_cents(c).or_else(|e| fail(object, id, field, e.to_string()))
}

/// The amount of a bid on its lot — the award amount when it is the awardee's (`importoAggiudicazione`, the
/// OCDS award value): `subject × (1 − ribasso) + labour + safety costs` (art. 41 c.14), the discounted part
/// rounded to the cent with `rounding`, through the one formula (`workflow::amounts::award_amount`,
/// `domain::costs::award_amount`). `None` when the bid declares neither a ribasso nor a price.
pub fn bid_price(
    b: &bid::Model,
    l: &lot::Model,
    rounding: Rounding,
) -> Result<Option<Decimal>, ExportError> {
    match workflow::amounts::award_amount(l, b, rounding) {
        Ok(a) => Ok(a.map(Euro::to_decimal)),
        Err(e) => {
            let id = if e.object == "lot" { l.id } else { b.id };
            fail(e.object, id, e.field, e.detail)
        }
    }
}

struct Index<'a> {
    provinces: HashMap<Uuid, &'a province::Model>,
    municipalities: HashMap<Uuid, &'a municipality::Model>,
    operators: HashMap<Uuid, &'a operator::Model>,
    lots_of: HashMap<Uuid, Vec<&'a lot::Model>>,
    bids_of_lot: HashMap<Uuid, Vec<&'a bid::Model>>,
    /// Audit entries by object id (string), in `seq` order.
    events_of: HashMap<&'a str, Vec<&'a audit_entry::Model>>,
}

impl<'a> Index<'a> {
    fn new(snap: &'a Snapshot) -> Self {
        let mut lots_of: HashMap<Uuid, Vec<&lot::Model>> = HashMap::new();
        for l in &snap.lots {
            lots_of.entry(l.tender_id).or_default().push(l);
        }
        for v in lots_of.values_mut() {
            v.sort_by_key(|l| (l.number, l.id));
        }
        let mut bids_of_lot: HashMap<Uuid, Vec<&bid::Model>> = HashMap::new();
        for b in &snap.bids {
            bids_of_lot.entry(b.lot_id).or_default().push(b);
        }
        for v in bids_of_lot.values_mut() {
            v.sort_by_key(|b| (b.submitted_at, b.id));
        }
        let mut events_of: HashMap<&str, Vec<&audit_entry::Model>> = HashMap::new();
        for e in &snap.events {
            events_of.entry(e.object_id.as_str()).or_default().push(e);
        }
        for v in events_of.values_mut() {
            v.sort_by_key(|e| audit::written_order_key(e));
        }
        Index {
            provinces: snap.provinces.iter().map(|p| (p.id, p)).collect(),
            municipalities: snap.municipalities.iter().map(|m| (m.id, m)).collect(),
            operators: snap.operators.iter().map(|o| (o.id, o)).collect(),
            lots_of,
            bids_of_lot,
            events_of,
        }
    }

    fn lots(&self, t: Uuid) -> &[&'a lot::Model] {
        self.lots_of.get(&t).map_or(&[], Vec::as_slice)
    }

    fn bids(&self, l: Uuid) -> &[&'a bid::Model] {
        self.bids_of_lot.get(&l).map_or(&[], Vec::as_slice)
    }

    fn events(&self, id: Uuid) -> &[&'a audit_entry::Model] {
        self.events_of
            .get(id.to_string().as_str())
            .map_or(&[], Vec::as_slice)
    }

    /// When `action` last happened to the object (the latest entry wins: a lot re-awarded after a failed
    /// verification keeps its last award).
    fn last(&self, id: Uuid, action: &str) -> Option<DateTime<Utc>> {
        self.events(id)
            .iter()
            .rev()
            .find(|e| e.action == action)
            .map(|e| e.at)
    }

    fn operator(&self, b: &bid::Model) -> Result<&'a operator::Model, ExportError> {
        match self.operators.get(&b.operator_id) {
            Some(o) => Ok(o),
            None => fail(
                "bid",
                b.id,
                "operator_id",
                format!("no operator {}", b.operator_id),
            ),
        }
    }

    fn province(&self, t: &tender::Model) -> Result<&'a province::Model, ExportError> {
        match self.provinces.get(&t.province_id) {
            Some(p) => Ok(p),
            None => fail(
                "tender",
                t.id,
                "province_id",
                format!("no province {}", t.province_id),
            ),
        }
    }

    fn municipality(
        &self,
        t: &tender::Model,
    ) -> Result<Option<&'a municipality::Model>, ExportError> {
        match t.municipality_id {
            None => Ok(None),
            Some(m) => match self.municipalities.get(&m) {
                Some(m) => Ok(Some(m)),
                None => fail(
                    "tender",
                    t.id,
                    "municipality_id",
                    format!("no municipality {m} in the tender's province"),
                ),
            },
        }
    }

    /// The day the tender became public: `published_at`, or for a procedure without publication (direct
    /// award) the start of the direct award.
    fn public_since(&self, t: &tender::Model) -> Option<DateTime<Utc>> {
        t.published_at
            .or_else(|| self.last(t.id, "tender.start_direct_award"))
    }
}

fn operator_cf(o: &operator::Model) -> Result<CodiceFiscale, ExportError> {
    match CodiceFiscale::parse(&o.codice_fiscale) {
        Ok(cf) => Ok(cf),
        Err(e) => match o.partita_iva.as_deref().map(CodiceFiscale::parse) {
            // a company's partita IVA is its numeric codice fiscale
            Some(Ok(cf)) => Ok(cf),
            _ => fail("operator", o.id, "codice_fiscale", e.to_string()),
        },
    }
}

// ---------- L.190 ----------

/// Whom `strutturaProponente` names when the SUA runs a tender for a municipality (the law does not say:
/// see the docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proponente {
    /// The municipality the contract is for (default).
    #[default]
    Municipality,
    /// The Province's SUA.
    Sua,
}

/// What to select and how to map it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L190Selection {
    /// The reference year (`annoRiferimento`).
    pub year: i32,
    pub proponente: Proponente,
    /// The SUA's codice fiscale: required with [`Proponente::Sua`], and for tenders without a municipality.
    pub sua_codice_fiscale: Option<CodiceFiscale>,
    /// The SUA's name (default: the Province's name).
    pub sua_name: Option<String>,
    /// How a ribasso becomes a price in cents.
    pub rounding: Rounding,
    /// List as `partecipanti` every operator invited to bid (the law's "operatori invitati a presentare
    /// offerte"): the tender's invitees and every bid row whatever its state. Default `false`: the
    /// operators of the offers actually made and not withdrawn.
    pub include_invited: bool,
}

/// One exported lot, with the ids it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L190Lot {
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    pub lotto: Lotto,
}

/// The lots of one year, and what was left out or filled in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct L190Export {
    pub lots: Vec<L190Lot>,
    /// Tenders of the year whose offers are still sealed (left out; they belong to a later file).
    pub sealed_tenders: Vec<Uuid>,
    /// Lots written with the `0000000000` placeholder because they have no CIG.
    pub placeholder_lots: Vec<Uuid>,
}

fn local_year(d: DateTime<Utc>) -> i32 {
    LegalCalendar::italy().local_date(d).year()
}

fn local_date(d: DateTime<Utc>) -> NaiveDate {
    LegalCalendar::italy().local_date(d)
}

/// Selects the lots of `sel.year` and maps them onto [`Lotto`].
///
/// A lot belongs to year Y when its tender became public in Y (Europe/Rome dates), or when it was awarded
/// or its contract signed in Y. Tenders not yet public, and tenders whose offers are still sealed, are
/// left out. Lots are in tender then lot-number order.
pub fn l190_lots(snap: &Snapshot, sel: &L190Selection) -> Result<L190Export, ExportError> {
    let ix = Index::new(snap);
    let mut out = L190Export::default();
    for t in &snap.tenders {
        if !t.state.is_public() {
            continue;
        }
        let tender_in_year = ix
            .public_since(t)
            .is_some_and(|d| local_year(d) == sel.year);
        let lots: Vec<&lot::Model> = ix
            .lots(t.id)
            .iter()
            .copied()
            .filter(|l| {
                tender_in_year
                    || [
                        ix.last(l.id, "lot.award"),
                        ix.last(l.id, "lot.sign_contract"),
                    ]
                    .into_iter()
                    .flatten()
                    .any(|d| local_year(d) == sel.year)
            })
            .collect();
        if lots.is_empty() {
            continue;
        }
        if t.state.participants_sealed() {
            out.sealed_tenders.push(t.id);
            continue;
        }
        let struttura = struttura(&ix, t, sel)?;
        let scelta = scelta(t)?;
        let n_lots = ix.lots(t.id).len();
        for l in lots {
            if l.cig.is_none() {
                out.placeholder_lots.push(l.id);
            }
            out.lots.push(L190Lot {
                tender_id: t.id,
                lot_id: l.id,
                lotto: lotto(&ix, t, l, n_lots, &struttura, scelta, sel)?,
            });
        }
    }
    Ok(out)
}

fn struttura(
    ix: &Index<'_>,
    t: &tender::Model,
    sel: &L190Selection,
) -> Result<StrutturaProponente, ExportError> {
    let sua = || -> Result<StrutturaProponente, ExportError> {
        let Some(cf) = &sel.sua_codice_fiscale else {
            return fail(
                "tender",
                t.id,
                "strutturaProponente/codiceFiscaleProp",
                match sel.proponente {
                    Proponente::Sua => {
                        "the SUA is the proponent but no codice fiscale is configured for it (provinces have none stored): pass --sua-codice-fiscale"
                    }
                    Proponente::Municipality => {
                        "the tender has no municipality, so the SUA is the proponent, but no codice fiscale is configured for it: pass --sua-codice-fiscale"
                    }
                },
            );
        };
        let name = match &sel.sua_name {
            Some(n) => n.clone(),
            None => ix.province(t)?.name.clone(),
        };
        Ok(StrutturaProponente {
            codice_fiscale: cf.clone(),
            denominazione: name,
        })
    };
    match (sel.proponente, ix.municipality(t)?) {
        (Proponente::Sua, _) | (Proponente::Municipality, None) => sua(),
        (Proponente::Municipality, Some(m)) => {
            let cf = CodiceFiscale::parse(&m.codice_fiscale)
                .or_else(|e| fail("municipality", m.id, "codice_fiscale", e.to_string()))?;
            Ok(StrutturaProponente {
                codice_fiscale: cf,
                denominazione: m.name.clone(),
            })
        }
    }
}

fn lotto(
    ix: &Index<'_>,
    t: &tender::Model,
    l: &lot::Model,
    n_lots: usize,
    struttura: &StrutturaProponente,
    scelta: SceltaContraente,
    sel: &L190Selection,
) -> Result<Lotto, ExportError> {
    let cig = match &l.cig {
        Some(c) => LotCig::Cig(c.0.clone()),
        None => LotCig::Placeholder,
    };
    // An empty title stays empty so that the anac rules refuse the lot, naming `oggetto`.
    let oggetto = if t.title.trim().is_empty() {
        String::new()
    } else if n_lots <= 1 {
        t.title.clone()
    } else if l.title.trim().is_empty() {
        String::new()
    } else {
        format!("{} - Lotto {}: {}", t.title, l.number, l.title)
    };
    let mut partecipanti = Vec::new();
    let mut seen = HashSet::new();
    for b in ix.bids(l.id) {
        let counted = sel.include_invited || b.state.is_participant();
        if !counted || !seen.insert(b.operator_id) {
            continue;
        }
        partecipanti.push(Offerente::Singolo(soggetto(ix.operator(b)?)?));
    }
    if sel.include_invited {
        for op in workflow::transition::invitees(t) {
            if !seen.insert(op) {
                continue;
            }
            let Some(o) = ix.operators.get(&op) else {
                return fail("tender", t.id, "invitees_json", format!("no operator {op}"));
            };
            partecipanti.push(Offerente::Singolo(soggetto(o)?));
        }
    }
    let mut aggiudicatari = Vec::new();
    let mut importo = Decimal::ZERO;
    if l.state.is_awarded()
        && let Some(aw) = l.awardee_bid_id
    {
        let Some(b) = ix.bids(l.id).iter().find(|b| b.id == aw) else {
            return fail(
                "lot",
                l.id,
                "awardee_bid_id",
                format!("no bid {aw} on this lot"),
            );
        };
        aggiudicatari.push(Offerente::Singolo(soggetto(ix.operator(b)?)?));
        importo = match bid_price(b, l, sel.rounding)? {
            Some(p) => p,
            None => {
                return fail(
                    "bid",
                    b.id,
                    "declared_discount",
                    "the awarded bid declares neither a ribasso nor a price",
                );
            }
        };
    }
    Ok(Lotto {
        cig,
        struttura_proponente: struttura.clone(),
        oggetto,
        scelta_contraente: scelta,
        partecipanti,
        aggiudicatari,
        importo_aggiudicazione: importo,
        data_inizio: ix.last(l.id, "lot.sign_contract").map(local_date),
        data_ultimazione: None,
        importo_somme_liquidate: Decimal::ZERO,
    })
}

fn soggetto(o: &operator::Model) -> Result<Soggetto, ExportError> {
    Ok(Soggetto {
        id: Some(IdFiscale::CodiceFiscale(operator_cf(o)?)),
        ragione_sociale: o.name.clone(),
    })
}

// ---------- OCDS ----------

/// The OCDS tender status for a tender state: its phase.
pub fn tender_status(state: TenderState) -> TenderStatus {
    match state.phase() {
        TenderPhase::Planning => TenderStatus::Planning,
        TenderPhase::Active => TenderStatus::Active,
        TenderPhase::Complete => TenderStatus::Complete,
        TenderPhase::Unsuccessful => TenderStatus::Unsuccessful,
        TenderPhase::Cancelled => TenderStatus::Cancelled,
    }
}

/// The release a lifecycle event makes, if any (see the docs for the table).
pub fn event_kind(action: &str) -> Option<EventKind> {
    Some(match action {
        "tender.publish" | "tender.publish_call_for_requests" | "tender.send_invitations" => {
            EventKind::Tender
        }
        "tender.amend_documents" | "tender.extend_deadline" => EventKind::TenderAmendment,
        "tender.answer_clarification"
        | "tender.close_requests"
        | "tender.close_submissions"
        | "tender.declare_deserted"
        | "tender.start_evaluation"
        | "tender.start_direct_award"
        | "tender.complete"
        | "lot.declare_deserted"
        | "lot.exclude_all"
        | "lot.no_suitable_offer" => EventKind::TenderUpdate,
        "tender.revoke" | "tender.annul" => EventKind::TenderCancellation,
        "lot.propose_award" | "lot.award" => EventKind::Award,
        "lot.verification_failed" | "lot.reopen_ranking" => EventKind::AwardUpdate,
        "lot.revoke" | "lot.annul" => EventKind::AwardCancellation,
        "lot.sign_contract" => EventKind::Contract,
        _ => return None,
    })
}

/// The SUA's identity for the `procuringEntity` party.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SuaIdentity {
    /// When absent the party is identified as `X-SUA-PROVINCE-{code}` (provinces have no stored codice
    /// fiscale yet).
    pub codice_fiscale: Option<CodiceFiscale>,
    /// Default: the Province's name.
    pub name: Option<String>,
}

/// The `procuringEntity` organization of a tender's Province.
pub fn procuring_entity(p: &province::Model, sua: &SuaIdentity) -> Organization {
    Organization {
        id: match &sua.codice_fiscale {
            Some(cf) => OrgId::CodiceFiscale(cf.clone()),
            None => OrgId::Foreign {
                scheme: "X-SUA-PROVINCE".to_owned(),
                id: p.code.clone(),
            },
        },
        name: sua.name.clone().unwrap_or_else(|| p.name.clone()),
        address: None,
        contact: None,
    }
}

/// One tender ready for [`anac::ocds::release_package`], with the Province that runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcdsTender {
    pub province_id: Uuid,
    pub record: TenderRecord,
}

/// Maps every public tender of the snapshot onto a [`TenderRecord`] (tenders not yet published are left
/// out). The buyer is the municipality (the SUA itself for a tender without one).
pub fn ocds_records(
    snap: &Snapshot,
    sua: &SuaIdentity,
    rounding: Rounding,
) -> Result<Vec<OcdsTender>, ExportError> {
    let ix = Index::new(snap);
    let mut out = Vec::new();
    for t in &snap.tenders {
        if !t.state.is_public() {
            continue;
        }
        let province = ix.province(t)?;
        out.push(OcdsTender {
            province_id: province.id,
            record: ocds_record(&ix, t, province, sua, rounding)?,
        });
    }
    Ok(out)
}

fn ocds_record(
    ix: &Index<'_>,
    t: &tender::Model,
    province: &province::Model,
    sua: &SuaIdentity,
    rounding: Rounding,
) -> Result<TenderRecord, ExportError> {
    let buyer = match ix.municipality(t)? {
        Some(m) => Organization {
            id: OrgId::CodiceFiscale(
                CodiceFiscale::parse(&m.codice_fiscale)
                    .or_else(|e| fail("municipality", m.id, "codice_fiscale", e.to_string()))?,
            ),
            name: m.name.clone(),
            address: None,
            contact: None,
        },
        None => procuring_entity(province, sua),
    };
    let sealed = t.state.participants_sealed();
    let lots = ix.lots(t.id);
    let mut lot_records = Vec::new();
    let mut bids = Vec::new();
    let mut awards = Vec::new();
    let mut contracts = Vec::new();
    let mut total = Decimal::ZERO;
    for l in lots {
        let base = cents("lot", l.id, "base_amount_cents", l.base_amount_cents)?.to_decimal();
        total += base;
        lot_records.push(LotRecord {
            id: l.id.to_string(),
            cig: l.cig.as_ref().map(|c| c.0.clone()),
            title: if l.title.trim().is_empty() && lots.len() == 1 {
                t.title.clone()
            } else {
                l.title.clone()
            },
            description: None,
            value: Some(base),
        });
        let econ_open = l.state.open_envelopes().economic;
        for b in ix.bids(l.id) {
            use ParticipationState as P;
            if sealed {
                continue;
            }
            let status = match *b.state {
                // no offer to publish
                P::Invited | P::NoOffer => continue,
                P::Withdrawn => BidStatus::Withdrawn,
                P::Excluded => BidStatus::Disqualified,
                P::Submitted | P::InSoccorso => BidStatus::Pending,
                P::Admitted
                | P::Ranked
                | P::ProposedAwardee
                | P::Verified
                | P::Awardee
                | P::Contracted
                | P::NotAwarded => BidStatus::Valid,
            };
            let o = ix.operator(b)?;
            bids.push(BidRecord {
                id: b.id.to_string(),
                lot_ids: vec![l.id.to_string()],
                bidder: Bidder::Single(organization(o)?),
                date: b.submitted_at,
                status,
                value: if econ_open && b.state != P::Withdrawn {
                    bid_price(b, l, rounding)?
                } else {
                    None
                },
            });
        }
        let Some(aw) = l.awardee_bid_id else { continue };
        let status = match *l.state {
            LotState::Proposed | LotState::Verified => AwardStatus::Pending,
            // the aggiudicazione stands (`LotState::is_awarded`)
            LotState::Awarded
            | LotState::Suspended
            | LotState::ReadyToSign
            | LotState::Contracted => AwardStatus::Active,
            LotState::Revoked | LotState::Annulled => AwardStatus::Cancelled,
            LotState::Pending
            | LotState::AdminReview
            | LotState::TechEval
            | LotState::EconEval
            | LotState::Ranked
            | LotState::AnomalyCheck
            | LotState::Deserted
            | LotState::NotAwarded => continue,
        };
        debug_assert_eq!(status == AwardStatus::Active, l.state.is_awarded());
        let Some(b) = ix.bids(l.id).iter().find(|b| b.id == aw) else {
            return fail(
                "lot",
                l.id,
                "awardee_bid_id",
                format!("no bid {aw} on this lot"),
            );
        };
        let date = match status {
            AwardStatus::Pending => ix.last(l.id, "lot.propose_award"),
            _ => ix.last(l.id, "lot.award"),
        }
        .unwrap_or(l.updated_at);
        let price = bid_price(b, l, rounding)?;
        let award_id = format!("award-{}", l.id);
        awards.push(AwardRecord {
            id: award_id.clone(),
            lot_ids: vec![l.id.to_string()],
            bid_id: (!sealed).then(|| b.id.to_string()),
            suppliers: Bidder::Single(organization(ix.operator(b)?)?),
            date,
            status,
            value: price,
        });
        if l.state == LotState::Contracted {
            contracts.push(ContractRecord {
                id: format!("contract-{}", l.id),
                award_id,
                title: None,
                value: price,
                date_signed: ix.last(l.id, "lot.sign_contract").unwrap_or(l.updated_at),
                period: None,
                status: ContractStatus::Active,
                payments: Vec::new(),
            });
        }
    }
    Ok(TenderRecord {
        id: t.id.to_string(),
        title: t.title.clone(),
        description: None,
        buyer,
        procedure: scelta(t)?,
        category: match t.contract_type.as_str() {
            "works" => Category::Works,
            "services" => Category::Services,
            "supplies" => Category::Goods,
            other => {
                return fail(
                    "tender",
                    t.id,
                    "contract_type",
                    format!("unknown contract type {other:?}"),
                );
            }
        },
        award_criteria: match t.criterion.as_str() {
            "lowest_price" => Some(AwardCriteria::PriceOnly),
            "quality_price" => Some(AwardCriteria::RatedCriteria),
            _ => None,
        },
        value: (!lots.is_empty()).then_some(total),
        tender_period: Some(Period {
            start: ix.public_since(t),
            end: t.deadline,
        }),
        lots: lot_records,
        bids,
        awards,
        contracts,
        events: events(ix, t, lots),
    })
}

fn organization(o: &operator::Model) -> Result<Organization, ExportError> {
    Ok(Organization {
        id: OrgId::CodiceFiscale(operator_cf(o)?),
        name: o.name.clone(),
        address: None,
        contact: None,
    })
}

/// The releases of a tender: its public lifecycle events from the audit log, each with the tender status
/// it left. A tender public without any recorded event (rows written by another tool) gets one `tender`
/// release at its publication date with its current status.
fn events(ix: &Index<'_>, t: &tender::Model, lots: &[&lot::Model]) -> Vec<LifecycleEvent> {
    let mut entries: Vec<&audit_entry::Model> = ix.events(t.id).to_vec();
    for l in lots {
        entries.extend_from_slice(ix.events(l.id));
    }
    entries.sort_by_key(|e| audit::written_order_key(e));
    let mut status = TenderStatus::Planning;
    let mut published = false;
    let mut out = Vec::new();
    for e in entries {
        if e.object_kind == "tender"
            && let Some(state) = e
                .after_json
                .as_deref()
                .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
                .and_then(|v| v["tender"]["state"].as_str()?.parse().ok())
                .map(tender_status)
        {
            status = state;
        }
        let Some(kind) = event_kind(&e.action) else {
            continue;
        };
        if kind == EventKind::Tender {
            published = true;
        }
        // nothing is published before the call (or the start of a direct award)
        if !published && e.action != "tender.start_direct_award" {
            continue;
        }
        published = true;
        out.push(LifecycleEvent {
            id: format!("{}-{}", e.seq, e.action.replace('.', "-")),
            date: e.at,
            kind,
            tender_status: status,
        });
    }
    if out.is_empty() {
        out.push(LifecycleEvent {
            id: "published".to_owned(),
            date: ix.public_since(t).unwrap_or(t.updated_at),
            kind: EventKind::Tender,
            tender_status: tender_status(*t.state),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_procedure_type_of_the_lifecycle_maps_to_an_l190_code() {
        use lifecycle::ProcedureType;
        for p in [
            ProcedureType::AffidamentoDiretto,
            ProcedureType::NegoziataSenzaBando,
            ProcedureType::Aperta,
            ProcedureType::Ristretta,
            ProcedureType::CompetitivaConNegoziazione,
            ProcedureType::DialogoCompetitivo,
            ProcedureType::PartenariatoInnovazione,
            ProcedureType::NegoziataSenzaPubblicazione,
        ] {
            // every procedure type has a code
            let _ = SceltaContraente::from(procedura(p)).code();
        }
        assert_eq!(
            SceltaContraente::from(procedura(ProcedureType::NegoziataSenzaBando)).code(),
            "33"
        );
    }

    #[test]
    fn lifecycle_actions_map_to_release_tags() {
        assert_eq!(event_kind("tender.publish"), Some(EventKind::Tender));
        assert_eq!(event_kind("lot.sign_contract"), Some(EventKind::Contract));
        assert_eq!(event_kind("tender.create"), None);
        assert_eq!(event_kind("lot.open_administrative"), None);
        assert_eq!(
            tender_status(TenderState::Deserted),
            TenderStatus::Unsuccessful
        );
        assert_eq!(
            tender_status(TenderState::InEvaluation),
            TenderStatus::Active
        );
    }

    fn bid_row(discount: Option<&str>, price: Option<i64>) -> bid::Model {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        bid::Model {
            id: Uuid::nil(),
            tender_id: Uuid::nil(),
            lot_id: Uuid::nil(),
            operator_id: Uuid::nil(),
            state: ParticipationState::Awardee.into(),
            declared_discount: discount.map(str::to_owned),
            declared_price_cents: price,
            declared_labour_costs_cents: None,
            technical_json: "{}".into(),
            tech_score: None,
            soccorso_due: None,
            exclusion_reason: None,
            submitted_at: t,
            updated_at: t,
        }
    }

    fn lot_row(base_cents: i64, labour_cents: i64) -> lot::Model {
        lot::Model {
            id: Uuid::nil(),
            tender_id: Uuid::nil(),
            number: 1,
            title: "Lotto".into(),
            cig: None,
            base_amount_cents: base_cents,
            state: LotState::Awarded.into(),
            evaluation_json: None,
            awardee_bid_id: None,
            standstill_end: None,
            facts_json: "{}".into(),
            updated_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            labour_costs_cents: labour_cents,
            safety_costs_cents: 0,
            options_cents: 0,
            renewals_cents: 0,
            evaluation_rules_json: None,
            pcp_json: "{}".into(),
        }
    }

    #[test]
    fn the_award_amount_leaves_labour_costs_outside_the_ribasso() {
        // base 100,000.00 with 20,000.00 of labour costs, ribasso 10 %: 80,000 × 0.9 + 20,000
        let p = bid_price(
            &bid_row(Some("10"), None),
            &lot_row(10_000_000, 2_000_000),
            Rounding::HalfUp,
        )
        .unwrap();
        assert_eq!(p, Some(Decimal::new(9_200_000, 2)));
        // a price is the price of the part subject to the ribasso
        let p = bid_price(
            &bid_row(None, Some(7_000_000)),
            &lot_row(10_000_000, 2_000_000),
            Rounding::HalfUp,
        )
        .unwrap();
        assert_eq!(p, Some(Decimal::new(9_000_000, 2)));
        // costs above the base: the lot is named
        let e = bid_price(
            &bid_row(Some("10"), None),
            &lot_row(100, 101),
            Rounding::HalfUp,
        )
        .unwrap_err();
        assert_eq!((e.object, e.field.as_str()), ("lot", "labour_costs_cents"));
    }

    #[test]
    fn bid_prices_come_from_the_price_or_the_ribasso() {
        // 100 000.00 less 12.345 % = 87 655.00
        let p = bid_price(
            &bid_row(Some("12.345"), None),
            &lot_row(10_000_000, 0),
            Rounding::HalfUp,
        )
        .unwrap();
        assert_eq!(p, Some(Decimal::new(8_765_500, 2)));
        // 1 000.01 less 33.3 % = 667.00667 -> 667.01 half up, 667.00 truncated
        let b = bid_row(Some("33.3"), None);
        assert_eq!(
            bid_price(&b, &lot_row(100_001, 0), Rounding::HalfUp).unwrap(),
            Some(Decimal::new(66_701, 2))
        );
        assert_eq!(
            bid_price(&b, &lot_row(100_001, 0), Rounding::Truncate).unwrap(),
            Some(Decimal::new(66_700, 2))
        );
        assert_eq!(
            bid_price(
                &bid_row(None, Some(123_456)),
                &lot_row(1, 0),
                Rounding::HalfUp
            )
            .unwrap(),
            Some(Decimal::new(123_456, 2))
        );
        assert_eq!(
            bid_price(&bid_row(None, None), &lot_row(1, 0), Rounding::HalfUp).unwrap(),
            None
        );
        let e = bid_price(
            &bid_row(Some("abc"), None),
            &lot_row(1, 0),
            Rounding::HalfUp,
        )
        .unwrap_err();
        assert_eq!(e.field, "declared_discount");
        let e = bid_price(&bid_row(None, Some(-5)), &lot_row(1, 0), Rounding::HalfUp).unwrap_err();
        assert_eq!(e.field, "declared_price_cents");
    }
}
