//! Tenders and lots (SUA buyers), driven through the lifecycle machines; admission, commission scores,
//! evaluation and award.

use super::documents::{DocumentView, NewDocument, documents_of, store_document};
use super::idempotency::{IdempotentJson, Replayed};
use crate::input as validate;
use crate::{
    audit,
    auth::{MaybePrincipal, Principal, Role},
    db::entities::{bid, lot, municipality, operator, tender},
    error::{ApiJson, ApiResult, AppError, Page, PageQuery, Problem},
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use chrono::{DateTime, Utc};
use domain::ids::Cig;
use lifecycle::{
    AwardCriterion,
    lot::{LotState, OpenEnvelopes},
    participation::{ParticipationEvent, ParticipationState},
    tender::TenderState,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;
use workflow::access::{
    Access, access_tender, bids_of, lots_of, manage_tender, publicly_visible, shows_invitees,
};
use workflow::store::Scope;
use workflow::store::{Stored, StoredName};
use workflow::transition::{self as machines, Applied, EventInput};
use workflow::transition::{run_bid_event, run_lot_event, run_tender_event};
use workflow::views::{LotView, TenderView, fill_award_amounts, tender_view, to_json};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tender, list_tenders))
        .routes(routes!(get_tender, patch_tender))
        .routes(routes!(add_lot))
        .routes(routes!(patch_lot))
        .routes(routes!(add_tender_document, list_tender_documents))
        .routes(routes!(tender_event))
        .routes(routes!(lot_event))
        .routes(routes!(bid_event))
        .routes(routes!(record_technical))
        .routes(routes!(evaluate_lot))
        .routes(routes!(list_tender_bids))
}

// ---------------------------------------------------------------- views

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLot {
    pub title: String,
    /// Euro, decimal string: the total base amount, labour and safety costs included.
    pub base_amount: String,
    pub cig: Option<String>,
    /// Labour costs estimated by the SA (euro): part of `base_amount`, not subject to the ribasso
    /// (art. 41 c.13-14). Default 0. `labour_costs + safety_costs ≤ base_amount`.
    pub labour_costs: Option<String>,
    /// Safety costs (oneri per la sicurezza, euro): part of `base_amount`, not subject to the ribasso.
    pub safety_costs: Option<String>,
    /// Options and extensions (euro), outside the base, counted in the value that picks the threshold and
    /// the procedure (art. 14 c.4). Default 0.
    pub options: Option<String>,
    /// Renewals (euro), outside the base, counted in that value (art. 14 c.4). Default 0.
    pub renewals: Option<String>,
    /// The lot's evaluation rules: part of the lex specialis, fixed before publication (art. 54 c.2,
    /// art. 108 c.7, c.12). Checked by the evaluation's own parser.
    pub evaluation_rules: Option<EvaluationRules>,
}

/// A lot's amounts besides the base, in cents.
#[derive(Debug, Clone, Copy, Default)]
struct LotCosts {
    labour: i64,
    safety: i64,
    options: i64,
    renewals: i64,
}

/// Each amount non-negative, and labour + safety ≤ base (art. 41 c.14, `domain::costs::LotBase`); the 422
/// names the field (`prefix` is `lots[0].` or empty).
fn check_costs(prefix: &str, base: i64, c: &LotCosts) -> ApiResult<()> {
    use domain::costs::{CostsError, LotBase};
    use domain::money::Euro;
    let e = |cents: i64| Euro::from_cents(cents).unwrap_or_default();
    LotBase::new(e(base), e(c.labour), e(c.safety))
        .map(|_| ())
        .map_err(|err| {
            let field = match &err {
                CostsError::ExceedBase { field, .. } | CostsError::Overflow { field } => *field,
            };
            AppError::bad(format!("{prefix}{field}"), format!("{prefix}{err}"))
        })
}

fn parse_costs(i: Option<usize>, l: &NewLot, base: i64) -> ApiResult<LotCosts> {
    let prefix = match i {
        Some(i) => format!("lots[{i}]."),
        None => String::new(),
    };
    let amount = |f: &str, v: &Option<String>| match v {
        Some(a) => validate::euro_cents(&format!("{prefix}{f}"), a),
        None => Ok(0),
    };
    let c = LotCosts {
        labour: amount("labour_costs", &l.labour_costs)?,
        safety: amount("safety_costs", &l.safety_costs)?,
        options: amount("options", &l.options)?,
        renewals: amount("renewals", &l.renewals)?,
    };
    check_costs(&prefix, base, &c)?;
    Ok(c)
}

/// A lot's evaluation rules: the `evaluation` crate's input without criterion, base amount, bids and seeds
/// (docs/evaluation.md). At the lowest price `anomaly` and `rounding`; at quality-price `technical`,
/// `economic` and `rounding`. Numbers are JSON strings. No seed: the platform draws (its seed is committed
/// at publication and revealed at evaluation).
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct EvaluationRules {
    /// Lowest price: automatic exclusion of anomalous bids (art. 54, Allegato II.2).
    pub anomaly: Option<AnomalyRules>,
    /// Quality-price: the technical criteria, their weights, riparametrazione and sbarramento (art. 108 c.7).
    /// E.g. `{"criteria": [{"id": "c1", "weight": "70"}], "riparametrazione": "first",
    /// "sbarramento": {"min_points": "40", "applied": "before_riparametrazione"}}`.
    #[schema(value_type = Option<Object>)]
    pub technical: Option<serde_json::Value>,
    /// Quality-price: the economic points and formula (`linear`, `bilinear` with `x`, `concave` with
    /// `alpha` and `base`, `inverse_price`).
    /// E.g. `{"max_points": "30", "formula": {"type": "bilinear", "x": "0.9"}}`.
    #[schema(value_type = Option<Object>)]
    pub economic: Option<serde_json::Value>,
    /// Roundings the tender documents state: lowest price `discount`, `steps`, `threshold`; quality-price
    /// `coefficients`, `scores`, `power`, `discount`; each `{"decimals": "3", "mode": "half_up" | "truncate"}`.
    #[schema(value_type = Option<Object>)]
    pub rounding: Option<serde_json::Value>,
}

/// The automatic exclusion of anomalous bids as the tender documents state it (art. 54 c.1-2).
#[derive(Deserialize, Serialize, ToSchema, Clone, Debug)]
#[serde(deny_unknown_fields)]
pub struct AnomalyRules {
    /// `A`, `B`, `C` (Allegato II.2), `draw` (drawn at evaluation among `draw.among`, art. 54 c.2), or `none`
    /// (only where art. 54 c.1 does not apply: publication is refused otherwise).
    pub method: String,
    /// Method A point 1: `absolute` (default) or `proportional` decrement reading.
    pub decrement: Option<String>,
    /// Whether a bid equal to the threshold is excluded (default: A yes, B and C no).
    pub exclude_equal: Option<bool>,
    /// Method B: `own_discount` (default) or `next_lower_discount`.
    pub award: Option<String>,
    /// Method C (or a draw that may give C): the reference discount, decimal string.
    pub reference_discount: Option<String>,
    /// `method: draw`: the compatible methods drawn among, e.g. `{"among": ["A", "B"]}`. No seed.
    #[schema(value_type = Option<Object>)]
    pub draw: Option<serde_json::Value>,
}

/// The rules as the evaluation reads them (absent fields left out).
fn rules_value(r: &EvaluationRules) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    strip_nulls(&mut v);
    v
}

fn strip_nulls(v: &mut serde_json::Value) {
    if let serde_json::Value::Object(m) = v {
        m.retain(|_, x| !x.is_null());
        for x in m.values_mut() {
            if matches!(x, serde_json::Value::Object(_)) {
                strip_nulls(x);
            }
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTender {
    pub title: String,
    /// works, services, supplies.
    pub contract_type: String,
    /// aperta, ristretta, negoziata_senza_bando, affidamento_diretto, ...
    pub procedure_type: String,
    /// lowest_price or quality_price.
    pub criterion: String,
    pub municipality_id: Option<Uuid>,
    pub deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub invitees: Vec<Uuid>,
    pub lots: Vec<NewLot>,
    /// What the contract is, for the cases where quality-price is compulsory (art. 108 c.2-3):
    /// ordinary (default), social_services, catering, labour_intensive, technical_intellectual,
    /// high_technology, integrated_contract, innovative_works.
    pub service_nature: Option<String>,
}

fn parse_service_nature(field: &str, raw: &str) -> ApiResult<lifecycle::procedure::ServiceNature> {
    raw.parse()
        .map_err(|e| AppError::bad(field, format!("{field}: {e}")))
}

/// A new lot's title, base amount in cents, CIG and evaluation rules (checked for `criterion`).
type ParsedLot = (String, i64, Option<Cig>, Option<String>);

fn parse_lot(i: Option<usize>, l: &NewLot, criterion: AwardCriterion) -> ApiResult<ParsedLot> {
    let p = |f: &str| match i {
        Some(i) => format!("lots[{i}].{f}"),
        None => f.to_owned(),
    };
    let title = validate::non_empty(&p("title"), &l.title, 2000)?;
    let amount = validate::euro_cents(&p("base_amount"), &l.base_amount)?;
    let cig = match &l.cig {
        Some(c) => Some(validate::id::<Cig>(&p("cig"), c)?),
        None => None,
    };
    let rules = match &l.evaluation_rules {
        Some(r) => Some(
            workflow::lex_specialis::parse(criterion, &p("evaluation_rules"), &rules_value(r))?.0,
        ),
        None => None,
    };
    Ok((title, amount, cig, rules))
}

async fn check_invitees<C: ConnectionTrait>(db: &C, inv: &[Uuid]) -> ApiResult<()> {
    for (i, id) in inv.iter().enumerate() {
        if operator::Entity::find_by_id(*id).one(db).await?.is_none() {
            return Err(AppError::bad(
                format!("invitees[{i}]"),
                format!("invitees[{i}]: no such operator"),
            ));
        }
    }
    Ok(())
}

fn new_lot_row(
    tender_id: Uuid,
    number: i32,
    parsed: ParsedLot,
    costs: LotCosts,
    now: DateTime<Utc>,
) -> lot::ActiveModel {
    lot::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(tender_id),
        number: Set(number),
        title: Set(parsed.0),
        cig: Set(parsed.2.map(Stored)),
        base_amount_cents: Set(parsed.1),
        state: Set(LotState::INITIAL.into()),
        evaluation_json: Set(None),
        awardee_bid_id: Set(None),
        standstill_end: Set(None),
        facts_json: Set("{}".into()),
        updated_at: Set(now),
        labour_costs_cents: Set(costs.labour),
        safety_costs_cents: Set(costs.safety),
        options_cents: Set(costs.options),
        renewals_cents: Set(costs.renewals),
        evaluation_rules_json: Set(parsed.3),
        pcp_json: Set("{}".into()),
    }
}

/// Create a draft tender with its lots (buyer).
#[utoipa::path(post, path = "/v1/tenders", tag = "tenders", security(("bearer" = [])),
    request_body = NewTender,
    responses((status = 201, body = TenderView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_tender(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(b): ApiJson<NewTender>,
) -> ApiResult<(StatusCode, Json<TenderView>)> {
    let province = p.require(Role::SuaBuyer)?;
    let title = validate::non_empty("title", &b.title, 2000)?;
    let contract_type = validate::one_of(
        "contract_type",
        &b.contract_type,
        super::requests::CONTRACT_TYPES,
    )?;
    let procedure = machines::parse_procedure("procedure_type", &b.procedure_type)?;
    let criterion = machines::parse_criterion("criterion", &b.criterion)?;
    if b.lots.is_empty() {
        return Err(AppError::bad("lots", "lots: at least one lot"));
    }
    let lots = b
        .lots
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let parsed = parse_lot(Some(i), l, criterion)?;
            let costs = parse_costs(Some(i), l, parsed.1)?;
            Ok((parsed, costs))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let service_nature = b
        .service_nature
        .as_deref()
        .map(|n| parse_service_nature("service_nature", n))
        .transpose()?;
    let now = st.now();
    let w = st.db.write(Scope::Province(province)).await?;
    if let Some(m) = b.municipality_id {
        let ok = municipality::Entity::find_by_id(m)
            .one(&w.txn)
            .await?
            .is_some_and(|m| m.province_id == province);
        if !ok {
            return Err(AppError::bad(
                "municipality_id",
                "municipality_id: not a municipality of your province",
            ));
        }
    }
    check_invitees(&w.txn, &b.invitees).await?;
    let id = Uuid::now_v7();
    let t = tender::ActiveModel {
        id: Set(id),
        province_id: Set(province),
        municipality_id: Set(b.municipality_id),
        request_id: Set(None),
        title: Set(title),
        contract_type: Set(contract_type),
        procedure_type: Set(procedure.into()),
        criterion: Set(criterion.into()),
        state: Set(TenderState::INITIAL.into()),
        deadline: Set(b.deadline.map(audit::truncate_micros)),
        published_at: Set(None),
        invitees_json: Set(serde_json::to_string(&b.invitees).unwrap_or_else(|_| "[]".into())),
        facts_json: Set("{}".into()),
        created_at: Set(now),
        updated_at: Set(now),
        service_nature: Set(service_nature.map(Stored)),
        decision_at: Set(None),
    }
    .insert(&w.txn)
    .await?;
    workflow::draws::commit_invitee_seed(&w.txn, &p.actor(), now, &t).await?;
    let mut rows = Vec::new();
    for (i, (parsed, costs)) in lots.into_iter().enumerate() {
        rows.push(
            new_lot_row(id, i as i32 + 1, parsed, costs, now)
                .insert(&w.txn)
                .await?,
        );
    }
    let view = tender_view(&t, &rows, true);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "tender.create",
            object_kind: "tender",
            object_id: id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Tenders the caller works on: a buyer's Province, a municipality's own, a commissioner's one, all for
/// admins; bidders get the published tenders and those they are invited to.
#[utoipa::path(get, path = "/v1/tenders", tag = "tenders", security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = Page<TenderView>), (status = 401, body = Problem)))]
async fn list_tenders(
    State(st): State<AppState>,
    p: Principal,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<TenderView>>> {
    let (page, per_page) = q.resolve()?;
    let (sel, access) = workflow::access::tenders_of(&p);
    let pages = sel
        .order_by_desc(tender::Column::CreatedAt)
        .paginate(&st.db.conn, per_page);
    let total = pages.num_items().await?;
    let mut items = Vec::new();
    for t in pages.fetch_page(page - 1).await? {
        if p.role == Role::Bidder && !publicly_visible(&t, p.org) {
            continue;
        }
        let lots = lots_of(&st.db.conn, t.id).await?;
        items.push(tender_view(&t, &lots, shows_invitees(&t, access, st.now())));
    }
    Ok(Json(Page {
        items,
        page,
        per_page,
        total,
    }))
}

/// One tender with its lots (any caller who may see it; 404 otherwise).
#[utoipa::path(get, path = "/v1/tenders/{id}", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = TenderView), (status = 404, body = Problem)))]
async fn get_tender(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TenderView>> {
    let (t, a) = access_tender(&st.db.conn, p.as_ref(), id).await?;
    let lots = lots_of(&st.db.conn, id).await?;
    let mut view = tender_view(&t, &lots, shows_invitees(&t, a, st.now()));
    fill_award_amounts(&st.db.conn, &mut view, &lots).await?;
    workflow::pcp_outbox::fill_cig_sources(&st.db.conn, &mut view).await?;
    Ok(Json(view))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
/// A change of the criterion must fit the lots' evaluation rules (clear or replace them first).
pub struct TenderPatch {
    pub title: Option<String>,
    pub procedure_type: Option<String>,
    pub criterion: Option<String>,
    /// The offer deadline. After publication use the `extend_deadline` event.
    pub deadline: Option<DateTime<Utc>>,
    pub invitees: Option<Vec<Uuid>>,
    /// What the contract is, for art. 108 c.2-3 (see `NewTender.service_nature`).
    pub service_nature: Option<String>,
}

/// Edit a tender before publication (buyer).
#[utoipa::path(patch, path = "/v1/tenders/{id}", tag = "tenders", security(("bearer" = [])),
    request_body = TenderPatch,
    responses((status = 200, body = TenderView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn patch_tender(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<TenderPatch>,
) -> ApiResult<Json<TenderView>> {
    let now = st.now();
    let scope = super::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!(
                "a tender in state {} cannot be edited; use its events",
                t.state
            ),
        ));
    }
    let lots = lots_of(&w.txn, id).await?;
    let before = tender_view(&t, &lots, true);
    let mut am = t.into_active_model();
    if let Some(x) = &b.title {
        am.title = Set(validate::non_empty("title", x, 2000)?);
    }
    if let Some(x) = &b.procedure_type {
        am.procedure_type = Set(machines::parse_procedure("procedure_type", x)?.into());
    }
    if let Some(x) = &b.criterion {
        let criterion = machines::parse_criterion("criterion", x)?;
        for l in &lots {
            if let Some(rules) = workflow::lex_specialis::stored(l) {
                workflow::lex_specialis::parse(criterion, "criterion", &rules).map_err(|e| {
                    AppError::bad(
                        "criterion",
                        format!(
                            "criterion: the evaluation rules of lot {} do not fit {criterion} ({e}); change or \
                             clear them first",
                            l.number
                        ),
                    )
                })?;
            }
        }
        am.criterion = Set(criterion.into());
    }
    if let Some(x) = &b.service_nature {
        am.service_nature = Set(Some(Stored(parse_service_nature("service_nature", x)?)));
    }
    if let Some(x) = b.deadline {
        am.deadline = Set(Some(audit::truncate_micros(x)));
    }
    if let Some(x) = &b.invitees {
        // a list drawn from the register (or taken from a market survey) is the one in the minutes:
        // replacing it by hand would make the recorded draw say something that did not happen
        let drawn = workflow::store::entities::register_draw::Entity::find()
            .filter(workflow::store::entities::register_draw::Column::TenderId.eq(id))
            .one(&w.txn)
            .await?;
        if let Some(d) = drawn {
            return Err(AppError::conflict(
                "art. 50 c.2 (selection minutes)",
                format!(
                    "invitees: the invited operators were selected by {} (minutes {}); they cannot be replaced",
                    d.mode, d.id
                ),
            ));
        }
        check_invitees(&w.txn, x).await?;
        am.invitees_json = Set(serde_json::to_string(x).unwrap_or_else(|_| "[]".into()));
    }
    am.updated_at = Set(now);
    let t = am.update(&w.txn).await?;
    workflow::draws::commit_invitee_seed(&w.txn, &p.actor(), now, &t).await?;
    let view = tender_view(&t, &lots, true);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "tender.edit",
            object_kind: "tender",
            object_id: id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(view))
}

/// Add a lot to a tender before publication (buyer).
#[utoipa::path(post, path = "/v1/tenders/{id}/lots", tag = "tenders", security(("bearer" = [])),
    request_body = NewLot,
    responses((status = 201, body = LotView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_lot(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<NewLot>,
) -> ApiResult<(StatusCode, Json<LotView>)> {
    let now = st.now();
    let scope = super::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!("a tender in state {} cannot get new lots", t.state),
        ));
    }
    let parsed = parse_lot(None, &b, *t.criterion)?;
    let costs = parse_costs(None, &b, parsed.1)?;
    let n = lots_of(&w.txn, id).await?.len() as i32 + 1;
    let l = new_lot_row(id, n, parsed, costs, now)
        .insert(&w.txn)
        .await?;
    let view = LotView::from(&l);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "lot.create",
            object_kind: "lot",
            object_id: l.id.to_string(),
            before: None,
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotPatch {
    pub title: Option<String>,
    pub base_amount: Option<String>,
    /// The CIG acquired from ANAC for this lot.
    pub cig: Option<String>,
    /// Labour costs, part of the base, not subject to the ribasso (art. 41 c.14).
    pub labour_costs: Option<String>,
    /// Safety costs, part of the base, not subject to the ribasso (art. 41 c.14).
    pub safety_costs: Option<String>,
    /// Options and extensions, counted in the contract value (art. 14 c.4).
    pub options: Option<String>,
    /// Renewals, counted in the contract value (art. 14 c.4).
    pub renewals: Option<String>,
    /// What ANAC's schede need about the lot (replacing what was stated): CCNL, NUTS, SOA category,
    /// duration, funding, BIM; each code checked against ANAC's list.
    pub pcp: Option<workflow::pcp_facts::LotPcp>,
    /// The lot's evaluation rules (replacing the stored ones; `null` clears them). Only while the tender is a
    /// draft: at publication they are frozen (art. 54 c.2, art. 108 c.12) and change only with the tender's
    /// `amend_documents` event, which carries them and extends the offer deadline (art. 92 c.2 lett. b).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<EvaluationRules>)]
    pub evaluation_rules: Option<Option<EvaluationRules>>,
}

/// A field that is present (`Some`), possibly `null` (`Some(None)`); absent is `None` (with `default`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

async fn load_lot<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
    lot_id: Uuid,
) -> ApiResult<lot::Model> {
    lot::Entity::find_by_id(lot_id)
        .one(db)
        .await?
        .filter(|l| l.tender_id == tender_id)
        .ok_or(AppError::NotFound("lot"))
}

/// Edit a lot before publication: title, base amount and its costs outside the ribasso, options and
/// renewals, CIG, evaluation rules, the data of ANAC's schede (buyer).
#[utoipa::path(patch, path = "/v1/tenders/{id}/lots/{lot_id}", tag = "tenders", security(("bearer" = [])),
    request_body = LotPatch,
    responses((status = 200, body = LotView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn patch_lot(
    State(st): State<AppState>,
    p: Principal,
    Path((id, lot_id)): Path<(Uuid, Uuid)>,
    ApiJson(b): ApiJson<LotPatch>,
) -> ApiResult<Json<LotView>> {
    let cig = match &b.cig {
        Some(c) => Some(validate::id::<Cig>("cig", c)?),
        None => None,
    };
    let amount = match &b.base_amount {
        Some(a) => Some(validate::euro_cents("base_amount", a)?),
        None => None,
    };
    let title = match &b.title {
        Some(t) => Some(validate::non_empty("title", t, 2000)?),
        None => None,
    };
    let cents =
        |f: &str, v: &Option<String>| v.as_deref().map(|a| validate::euro_cents(f, a)).transpose();
    let labour = cents("labour_costs", &b.labour_costs)?;
    let safety = cents("safety_costs", &b.safety_costs)?;
    let options = cents("options", &b.options)?;
    let renewals = cents("renewals", &b.renewals)?;
    let now = st.now();
    if let Some(x) = &b.pcp {
        x.check(now)?;
    }
    let scope = super::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let t = manage_tender(&w.txn, &p, id).await?;
    let l = load_lot(&w.txn, id, lot_id).await?;
    if let Some(op) = b.pcp.as_ref().and_then(|x| x.affidatario)
        && workflow::store::entities::operator::Entity::find_by_id(op)
            .one(&w.txn)
            .await?
            .is_none()
    {
        return Err(AppError::bad(
            "pcp.affidatario",
            format!("pcp.affidatario: no operator {op} in the register"),
        ));
    }
    let costs = LotCosts {
        labour: labour.unwrap_or(l.labour_costs_cents),
        safety: safety.unwrap_or(l.safety_costs_cents),
        options: options.unwrap_or(l.options_cents),
        renewals: renewals.unwrap_or(l.renewals_cents),
    };
    check_costs("", amount.unwrap_or(l.base_amount_cents), &costs)?;
    let rules = match &b.evaluation_rules {
        None => None,
        Some(_) if t.published_at.is_some() || !t.state.is_editable() => {
            return Err(AppError::conflict(
                workflow::lex_specialis::FROZEN_RULE,
                format!(
                    "evaluation_rules: the evaluation rules are part of the lex specialis and are frozen at \
                     publication (art. 54 c.2, art. 108 c.12; the tender is {}); change them only by amending the \
                     tender documents: POST /v1/tenders/{id}/events with amend_documents and evaluation_rules, \
                     extending the offer deadline (art. 92 c.2 lett. b)",
                    t.state
                ),
            ));
        }
        Some(None) => Some(None),
        Some(Some(r)) => Some(Some(
            workflow::lex_specialis::parse(*t.criterion, "evaluation_rules", &rules_value(r))?.0,
        )),
    };
    if !t.state.is_editable() {
        return Err(AppError::conflict(
            "tender.edit",
            format!("lots of a tender in state {} cannot be edited", t.state),
        ));
    }
    let before = LotView::from(&l);
    let mut am = l.into_active_model();
    if let Some(c) = cig {
        am.cig = Set(Some(Stored(c)));
    }
    if let Some(a) = amount {
        am.base_amount_cents = Set(a);
    }
    am.labour_costs_cents = Set(costs.labour);
    am.safety_costs_cents = Set(costs.safety);
    am.options_cents = Set(costs.options);
    am.renewals_cents = Set(costs.renewals);
    if let Some(x) = title {
        am.title = Set(x);
    }
    if let Some(r) = rules {
        am.evaluation_rules_json = Set(r);
    }
    if let Some(x) = &b.pcp {
        am.pcp_json = Set(serde_json::to_string(x).map_err(anyhow::Error::from)?);
    }
    am.updated_at = Set(now);
    let l = am.update(&w.txn).await?;
    // the funding split stated for ANAC adds up to the lot's value, as edited
    workflow::pcp_facts::LotPcp::stored(&l).check_amounts(&t, &l)?;
    let view = LotView::from(&l);
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "lot.edit",
            object_kind: "lot",
            object_id: lot_id.to_string(),
            before: Some(to_json(&before)),
            after: Some(to_json(&view)),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(view))
}

/// Attach a tender document (bando, disciplinare...) (buyer).
#[utoipa::path(post, path = "/v1/tenders/{id}/documents", tag = "tenders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = super::documents::KEY_DOC)),
    request_body = NewDocument,
    responses((status = 201, body = DocumentView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_tender_document(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    IdempotentJson(idem, b): IdempotentJson<NewDocument>,
) -> ApiResult<(StatusCode, Json<DocumentView>)> {
    if let Some((status, first)) = idem.replay(&st.db.conn, &p).await? {
        return Ok((status, Json(first)));
    }
    manage_tender(&st.db.conn, &p, id).await?;
    let (status, v) = store_document(&st, &p, "tender", id, b, idem).await?;
    Ok((status, Json(v)))
}

/// A tender's documents (whoever may see the tender).
#[utoipa::path(get, path = "/v1/tenders/{id}/documents", tag = "tenders",
    responses((status = 200, body = Vec<DocumentView>), (status = 404, body = Problem)))]
async fn list_tender_documents(
    State(st): State<AppState>,
    MaybePrincipal(p): MaybePrincipal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<DocumentView>>> {
    access_tender(&st.db.conn, p.as_ref(), id).await?;
    Ok(Json(documents_of(&st.db.conn, "tender", id).await?))
}

// ---------------------------------------------------------------- transitions

/// The answer to an accepted event.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TransitionView {
    pub from: String,
    pub to: String,
    /// Effects the lifecycle machine asked for (timers set, communications owed, audit).
    #[schema(value_type = Vec<Object>)]
    pub effects: Vec<serde_json::Value>,
}

impl<S: StoredName> From<&Applied<S>> for TransitionView {
    fn from(a: &Applied<S>) -> Self {
        TransitionView {
            from: a.from.name().to_owned(),
            to: a.to.name().to_owned(),
            effects: a.effects.iter().map(to_json).collect(),
        }
    }
}

/// Apply a lifecycle event to a tender (buyer). A refused transition is a 409 naming the legal rule.
#[utoipa::path(post, path = "/v1/tenders/{id}/events", tag = "tenders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and body returns the first answer without a second effect; the same key with another body is refused (422).")),
    request_body = EventInput,
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn tender_event(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    IdempotentJson(idem, mut b): IdempotentJson<EventInput>,
) -> ApiResult<Json<TransitionView>> {
    let now = st.now();
    let scope = super::scope_of(&st.db, "tender", id).await?;
    let w = st.db.write(scope).await?;
    let w = match idem.replay_in(w, &p).await? {
        Replayed::Answer(_, first) => return Ok(Json(first)),
        Replayed::Run(w) => w,
    };
    let t = manage_tender(&w.txn, &p, id).await?;
    // with PCP enabled, `acquire_cig` asks PCP for the CIGs (service::pcp); the tender becomes ready when
    // they arrive
    if let Some(calls) = crate::pcp::acquire_cig_through_pcp(&st, &w.txn, &t, &b.event, now).await?
    {
        w.commit().await?;
        return Ok(Json(TransitionView {
            from: t.state.0.name().to_owned(),
            to: t.state.0.name().to_owned(),
            effects: vec![serde_json::json!({"pcp_calls": calls})],
        }));
    }
    // rotation (art. 49) on a hand-written invitee list, computed from the register as the draw does
    crate::api::register::rotation::check_hand_written_invitees(&w.txn, &t, &mut b, now).await?;
    let applied = run_tender_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        st.settings.sua.qualification,
        t,
        &b,
        now,
    )
    .await?;
    let answer = TransitionView::from(&applied);
    idem.record(&w.txn, &p, StatusCode::OK, &answer, now)
        .await?;
    w.commit().await?;
    Ok(Json(answer))
}

/// Apply a lifecycle event to a lot (buyer): admission phases, evaluation, proposal, award, signature.
/// `propose_award` takes `bid_id` (default: first of the stored evaluation). Participations follow.
#[utoipa::path(post, path = "/v1/lots/{id}/events", tag = "tenders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and body returns the first answer without a second effect; the same key with another body is refused (422).")),
    request_body = EventInput,
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn lot_event(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    IdempotentJson(idem, b): IdempotentJson<EventInput>,
) -> ApiResult<Json<TransitionView>> {
    let now = st.now();
    let scope = super::scope_of(&st.db, "lot", id).await?;
    let w = st.db.write(scope).await?;
    let w = match idem.replay_in(w, &p).await? {
        Replayed::Answer(_, first) => return Ok(Json(first)),
        Replayed::Run(w) => w,
    };
    let l = lot::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let t = manage_tender(&w.txn, &p, l.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("lot"),
            e => e.into(),
        })?;
    let applied = run_lot_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        &t,
        l,
        &b,
        now,
    )
    .await?;
    let keys = crate::sealed::service_keys(&st.settings.sealing)?;
    crate::sealed::open_due(&w.txn, &keys, &p.actor(), &t, id, now).await?;
    let answer = TransitionView::from(&applied);
    idem.record(&w.txn, &p, StatusCode::OK, &answer, now)
        .await?;
    w.commit().await?;
    Ok(Json(answer))
}

/// Load a bid for tender staff: (tender, lot, bid, access). Bidders and strangers get 404.
async fn staff_bid<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> ApiResult<(tender::Model, lot::Model, bid::Model, Access)> {
    let b = bid::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("bid"))?;
    let (t, a) = access_tender(db, Some(p), b.tender_id)
        .await
        .map_err(super::hidden_as("bid"))?;
    if a == Access::Public {
        return Err(AppError::NotFound("bid"));
    }
    let l = load_lot(db, t.id, b.lot_id).await?;
    Ok((t, l, b, a))
}

/// Admission phase on one participation (buyer): `admit`, `exclude` (with `declarations.exclusion_reason`),
/// `request_soccorso` (with `declarations.soccorso_days`), `cure_soccorso`.
#[utoipa::path(post, path = "/v1/bids/{id}/events", tag = "tenders", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header, description = "A client-chosen key (1 to 255 visible ASCII characters, e.g. a UUID), scoped by token: a retry with the same key and body returns the first answer without a second effect; the same key with another body is refused (422).")),
    request_body = EventInput,
    responses((status = 200, body = TransitionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn bid_event(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    IdempotentJson(idem, b): IdempotentJson<EventInput>,
) -> ApiResult<Json<TransitionView>> {
    if let Ok(
        ParticipationEvent::Submit | ParticipationEvent::Replace | ParticipationEvent::Withdraw,
    ) = b.event.parse()
    {
        return Err(AppError::bad(
            "event",
            "event: bidders submit, replace and withdraw through /v1/bids",
        ));
    }
    let now = st.now();
    let scope = super::scope_of(&st.db, "bid", id).await?;
    let w = st.db.write(scope).await?;
    let w = match idem.replay_in(w, &p).await? {
        Replayed::Answer(_, first) => return Ok(Json(first)),
        Replayed::Run(w) => w,
    };
    let (t, l, bd, a) = staff_bid(&w.txn, &p, id).await?;
    if a != Access::Manage {
        return Err(AppError::Forbidden(
            "only the SUA buyers of this tender may do this".into(),
        ));
    }
    let applied = run_bid_event(
        &w.txn,
        &p.actor(),
        &st.settings.http.public_base_url,
        &t,
        &l,
        bd,
        &b,
        now,
    )
    .await?;
    let keys = crate::sealed::service_keys(&st.settings.sealing)?;
    crate::sealed::open_due(&w.txn, &keys, &p.actor(), &t, l.id, now).await?;
    let answer = TransitionView::from(&applied);
    idem.record(&w.txn, &p, StatusCode::OK, &answer, now)
        .await?;
    w.commit().await?;
    Ok(Json(answer))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TechnicalEvaluation {
    /// The commission's evaluation of this bid's technical offer, merged into the bid's entry of the
    /// evaluation input (e.g. `{"coefficients": {"c1": "0.8"}}` for quality-price criteria).
    #[schema(value_type = Object)]
    pub technical: serde_json::Value,
}

/// Record the commission's technical evaluation of a bid (commissioner of the tender, or buyer), while the
/// lot is in technical evaluation.
#[utoipa::path(put, path = "/v1/bids/{id}/technical-evaluation", tag = "tenders", security(("bearer" = [])),
    request_body = TechnicalEvaluation,
    responses((status = 200, body = BidView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn record_technical(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    ApiJson(b): ApiJson<TechnicalEvaluation>,
) -> ApiResult<Json<BidView>> {
    if !b.technical.is_object() {
        return Err(AppError::bad("technical", "technical: must be an object"));
    }
    let now = st.now();
    let scope = super::scope_of(&st.db, "bid", id).await?;
    let w = st.db.write(scope).await?;
    let (t, l, bd, a) = staff_bid(&w.txn, &p, id).await?;
    if !(a == Access::Manage || p.role == Role::Commissioner) {
        return Err(AppError::Forbidden(
            "only the commission or the buyers record scores".into(),
        ));
    }
    if l.state != LotState::TechEval || bd.state != ParticipationState::Admitted {
        return Err(AppError::conflict(
            "art. 93 (commissione giudicatrice)",
            format!(
                "technical scores are recorded on admitted bids of a lot in tech_eval (lot: {}, bid: {})",
                l.state, bd.state
            ),
        ));
    }
    let mut am = bd.into_active_model();
    am.tech_score = Set(Some(b.technical.to_string()));
    am.updated_at = Set(now);
    let bd = am.update(&w.txn).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "bid.technical_evaluation",
            object_kind: "bid",
            object_id: id.to_string(),
            before: None,
            after: Some(b.technical.clone()),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(bid_view(&bd, OpenEnvelopes::ALL)))
}

/// The body of `POST /v1/lots/{id}/evaluate`: empty (or no body at all). The evaluation takes nothing from
/// the caller: the rules are the lot's (fixed before publication, art. 54 c.2, art. 108 c.12), the draws'
/// seed is the platform's (committed at publication, revealed by the evaluation). Any field is refused.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EvaluateInput {}

/// Run the evaluation of a lot whose economic offers are open (buyer), with the lot's evaluation rules and
/// the platform's committed seed (revealed now), and store the explained result. It runs once: a second call
/// returns the stored result. After `reopen_ranking` the next call ranks the bids left against the first
/// evaluation's threshold and scores, recomputing neither (art. 108 c.12).
#[utoipa::path(post, path = "/v1/lots/{id}/evaluate", tag = "tenders", security(("bearer" = [])),
    request_body(content = EvaluateInput, description = "Empty: no method, reading, rounding, formula or seed."),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn evaluate_lot(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> ApiResult<Json<serde_json::Value>> {
    evaluate_body(&body)?;
    let now = st.now();
    let scope = super::scope_of(&st.db, "lot", id).await?;
    let w = st.db.write(scope).await?;
    let l = lot::Entity::find_by_id(id)
        .one(&w.txn)
        .await?
        .ok_or(AppError::NotFound("lot"))?;
    let t = manage_tender(&w.txn, &p, l.tender_id)
        .await
        .map_err(|e| match e {
            workflow::WorkflowError::NotFound(_) => AppError::NotFound("lot"),
            e => e.into(),
        })?;
    use workflow::store::evaluation as stored_eval;
    let previous: Option<serde_json::Value> = l
        .evaluation_json
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok());
    if let Some(prev) = &previous
        && !stored_eval::is_reopened(prev)
    {
        // evaluation runs once (art. 54 c.2): the stored result, not a recomputation
        return Ok(Json(prev.clone()));
    }
    if l.state != LotState::Ranked {
        return Err(AppError::conflict(
            "sealed-order invariant",
            format!(
                "evaluation runs once the economic offers are open (lot state ranked, not {})",
                l.state
            ),
        ));
    }
    let rules = match workflow::lex_specialis::stored(&l) {
        Some(r) => r,
        None if t.criterion == AwardCriterion::LowestPrice => serde_json::json!({}),
        None => {
            return Err(AppError::conflict(
                "art. 108 c.7",
                "the lot has no evaluation rules: the criteria and weights are fixed in the tender documents",
            ));
        }
    };
    let bids: Vec<serde_json::Value> = bids_of(&w.txn, t.id)
        .await?
        .into_iter()
        .filter(|x| x.lot_id == l.id && x.state == ParticipationState::Ranked)
        .map(|x| {
            let mut e = serde_json::Map::new();
            e.insert("id".into(), x.id.to_string().into());
            if let Some(d) = &x.declared_discount {
                e.insert("discount".into(), d.clone().into());
            }
            if let Some(c) = x.declared_price_cents {
                e.insert("price".into(), validate::cents_to_string(c).into());
            }
            if let Some(serde_json::Value::Object(tech)) = x
                .tech_score
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
            {
                e.extend(tech);
            }
            serde_json::Value::Object(e)
        })
        .collect();
    // the ribasso applies to the base less the labour and safety costs (art. 41 c.14)
    let subject = workflow::amounts::lot_base(&l)
        .map_err(workflow::WorkflowError::from)?
        .subject_to_ribasso();
    let secret = workflow::draws::secret(
        &w.txn,
        t.id,
        Some(l.id),
        workflow::draws::Purpose::Evaluation,
    )
    .await?;
    let input = evaluation::input_document(
        t.criterion.as_str(),
        &rules,
        Some(&subject.to_string()),
        bids,
        secret.as_ref().map(evaluation::ranking::seed_from_bytes),
    );
    let field = |e: &evaluation::InputError| {
        if e.path == "$" {
            "evaluation".to_owned()
        } else {
            format!("evaluation.{}", e.path)
        }
    };
    let result = match &previous {
        Some(prev) => evaluation::rerank_json(&input.to_string(), &prev["result"]),
        None => evaluation::evaluate_json(&input.to_string()),
    }
    .map_err(|e| AppError::bad(field(&e), format!("evaluation: {e}")))?;
    let seed = workflow::draws::reveal(
        &w.txn,
        &p.actor(),
        now,
        t.id,
        Some(l.id),
        workflow::draws::Purpose::Evaluation,
    )
    .await?;
    let mut stored = stored_eval::stored_evaluation(input, result, now);
    stored["platform_seed"] = serde_json::to_value(&seed).unwrap_or_default();
    if let Some(prev) = previous {
        stored["reranked_after_reopen"] = serde_json::Value::Bool(true);
        stored["previous"] = prev;
    }
    let mut am = l.into_active_model();
    am.evaluation_json = Set(Some(stored.to_string()));
    am.updated_at = Set(now);
    am.update(&w.txn).await?;
    audit::append(
        &w.txn,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor: &p.actor(),
            action: "lot.evaluate",
            object_kind: "lot",
            object_id: id.to_string(),
            before: None,
            after: Some(stored.clone()),
        },
    )
    .await?;
    w.commit().await?;
    Ok(Json(stored))
}

/// The evaluate body: nothing, or an empty object. A field is refused naming it.
fn evaluate_body(body: &[u8]) -> ApiResult<()> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| AppError::Malformed(format!("malformed JSON body: {e}")))?;
    let serde_json::Value::Object(m) = v else {
        return Err(AppError::bad("", "the body is empty or {}"));
    };
    if let Some(k) = m.keys().next() {
        return Err(AppError::bad(
            k.clone(),
            format!(
                "{k}: the evaluation takes no input: its rules (method, decrement reading, rounding, formula) \
                 are the lot's, fixed before publication (art. 54 c.2, art. 108 c.12; set them on the lot), and \
                 the draws' seed is the platform's, committed at publication"
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- bids as seen by the tender's staff

#[derive(Serialize, Deserialize, ToSchema)]
pub struct BidView {
    pub id: Uuid,
    pub tender_id: Uuid,
    pub lot_id: Uuid,
    /// Hidden (null) until the administrative envelope is open.
    pub operator_id: Option<Uuid>,
    pub state: String,
    /// Hidden until the economic envelope is open.
    pub declared_discount: Option<String>,
    pub declared_price: Option<String>,
    /// The operator's own labour costs (art. 108 c.9); hidden until the economic envelope is open.
    pub declared_labour_costs: Option<String>,
    /// Hidden until the technical envelope is open.
    #[schema(value_type = Option<Object>)]
    pub technical: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub technical_evaluation: Option<serde_json::Value>,
    pub soccorso_due: Option<DateTime<Utc>>,
    pub exclusion_reason: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Whether envelopes are sealed for this reader.
    pub sealed: bool,
}

/// Nothing of a bid is open (before the lot's phase opens it, or once the bid is withdrawn).
const SEALED: OpenEnvelopes = OpenEnvelopes {
    administrative: false,
    technical: false,
    economic: false,
};

/// The envelopes of a bid its lot's phase opened to staff (the owner sees [`OpenEnvelopes::ALL`]): none of a
/// withdrawn bid, whatever the lot's state.
pub fn visible_envelopes(b: &bid::Model, l: Option<&lot::Model>) -> OpenEnvelopes {
    if b.state == ParticipationState::Withdrawn {
        return SEALED;
    }
    l.map_or(SEALED, |l| l.state.open_envelopes())
}

/// A bid as a reader may see it, with the envelopes open to that reader: the owner sees everything
/// ([`OpenEnvelopes::ALL`]); others see what [`visible_envelopes`] says.
pub fn bid_view(b: &bid::Model, open: OpenEnvelopes) -> BidView {
    let OpenEnvelopes {
        administrative: admin,
        technical: tech,
        economic: econ,
    } = open;
    BidView {
        id: b.id,
        tender_id: b.tender_id,
        lot_id: b.lot_id,
        operator_id: admin.then_some(b.operator_id),
        state: b.state.to_string(),
        declared_discount: if econ {
            b.declared_discount.clone()
        } else {
            None
        },
        declared_price: if econ {
            b.declared_price_cents.map(validate::cents_to_string)
        } else {
            None
        },
        declared_labour_costs: if econ {
            b.declared_labour_costs_cents.map(validate::cents_to_string)
        } else {
            None
        },
        technical: if tech {
            serde_json::from_str(&b.technical_json).ok()
        } else {
            None
        },
        technical_evaluation: if tech {
            b.tech_score
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok())
        } else {
            None
        },
        soccorso_due: b.soccorso_due,
        exclusion_reason: if admin {
            b.exclusion_reason.clone()
        } else {
            None
        },
        submitted_at: b.submitted_at,
        updated_at: b.updated_at,
        sealed: !(admin && tech && econ),
    }
}

/// The bids of a tender for its staff (buyers, municipality, commission): envelopes stay sealed until the
/// lot opens them. Withdrawn bids are listed without content.
#[utoipa::path(get, path = "/v1/tenders/{id}/bids", tag = "tenders", security(("bearer" = [])),
    responses((status = 200, body = Vec<BidView>), (status = 404, body = Problem)))]
async fn list_tender_bids(
    State(st): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<BidView>>> {
    let (t, a) = access_tender(&st.db.conn, Some(&p), id).await?;
    if a == Access::Public {
        return Err(AppError::NotFound("tender"));
    }
    let lots = lots_of(&st.db.conn, t.id).await?;
    let bids = bids_of(&st.db.conn, t.id).await?;
    Ok(Json(
        bids.iter()
            .filter(|b| b.state != ParticipationState::INITIAL)
            .map(|b| {
                bid_view(
                    b,
                    visible_envelopes(b, lots.iter().find(|l| l.id == b.lot_id)),
                )
            })
            .collect(),
    ))
}
