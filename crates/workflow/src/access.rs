//! Who may do what to a tender: roles, the caller, and the tender access rules (art. 35 secrecy).

use crate::error::{WResult, WorkflowError};
use crate::store::entities::{bid, lot, municipality, operator, province, tender};
use crate::transition as machines;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the deployment: provinces, municipalities, tokens.
    PlatformAdmin,
    /// A buyer of one Province (SUA); `org` = province id.
    SuaBuyer,
    /// A user of one Comune; `org` = municipality id.
    Municipality,
    /// A user of one economic operator; `org` = operator id.
    Bidder,
    /// A member of the commission of one tender; `org` = tender id.
    Commissioner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::SuaBuyer => "sua_buyer",
            Role::Municipality => "municipality",
            Role::Bidder => "bidder",
            Role::Commissioner => "commissioner",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "platform_admin" => Role::PlatformAdmin,
            "sua_buyer" => Role::SuaBuyer,
            "municipality" => Role::Municipality,
            "bidder" => Role::Bidder,
            "commissioner" => Role::Commissioner,
            _ => return None,
        })
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub role: Role,
    /// Province, municipality, operator or tender, depending on the role; `None` for platform admins.
    pub org: Option<Uuid>,
}

impl Principal {
    /// Audit actor string, e.g. `sua_buyer:<province>/<token>`.
    pub fn actor(&self) -> String {
        match self.org {
            Some(o) => format!("{}:{o}/{}", self.role.as_str(), self.token_id),
            None => format!("{}/{}", self.role.as_str(), self.token_id),
        }
    }
    pub fn require(&self, role: Role) -> WResult<Uuid> {
        if self.role != role {
            return Err(WorkflowError::Forbidden(format!(
                "this action needs the {} role",
                role.as_str()
            )));
        }
        self.org
            .ok_or_else(|| WorkflowError::Forbidden("token has no organisation".into()))
    }
    pub fn require_admin(&self) -> WResult<()> {
        if self.role == Role::PlatformAdmin {
            Ok(())
        } else {
            Err(WorkflowError::Forbidden(
                "this action needs the platform_admin role".into(),
            ))
        }
    }
}

// ---------------------------------------------------------------- access

/// How the caller relates to a tender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Platform admin or buyer of the tender's Province.
    Manage,
    /// The beneficiary municipality or a commissioner of this tender.
    Staff,
    /// A bidder or the public, on a published tender.
    Public,
}

pub async fn lots_of<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<Vec<lot::Model>> {
    Ok(lot::Entity::find()
        .filter(lot::Column::TenderId.eq(tender_id))
        .order_by_asc(lot::Column::Number)
        .all(db)
        .await?)
}

pub async fn bids_of<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<Vec<bid::Model>> {
    Ok(bid::Entity::find()
        .filter(bid::Column::TenderId.eq(tender_id))
        .order_by_asc(bid::Column::SubmittedAt)
        .all(db)
        .await?)
}

/// Art. 35 c.2 lett. b: before the offer deadline the invited operators are known only to the Province's
/// buyers; the municipality and the commission see them once the deadline has passed (a tender without a
/// deadline keeps them secret). Bidders and the public read them through the invitations endpoint, if ever.
pub fn shows_invitees(t: &tender::Model, access: Access, now: DateTime<Utc>) -> bool {
    use ::register::selection::Viewer;
    let viewer = match access {
        Access::Manage => Viewer::Buyer,
        Access::Staff => Viewer::Public,
        Access::Public => return false,
    };
    ::register::invitees_visible(viewer, now, t.deadline.unwrap_or(DateTime::<Utc>::MAX_UTC))
}

/// Whether the public (or a bidder) may see the tender.
pub fn publicly_visible(t: &tender::Model, bidder: Option<Uuid>) -> bool {
    if !t.state.is_public() {
        return false;
    }
    let invitation_only = t.procedure_type.offers_by_invitation();
    !invitation_only || bidder.is_some_and(|b| machines::invitees(t).contains(&b))
}

/// The tenders a caller works on, as a query to refine and page: a buyer's Province, a municipality's
/// own, a commissioner's one, all for admins; bidders get the public states (refine each row with
/// [`publicly_visible`]: invitation-only procedures show only to their invitees). With the access the
/// caller has to each of them.
pub fn tenders_of(p: &Principal) -> (sea_orm::Select<tender::Entity>, Access) {
    use lifecycle::tender::TenderState;
    let sel = tender::Entity::find();
    match p.role {
        Role::PlatformAdmin => (sel, Access::Manage),
        Role::SuaBuyer => (
            sel.filter(tender::Column::ProvinceId.eq(p.org)),
            Access::Manage,
        ),
        Role::Municipality => (
            sel.filter(tender::Column::MunicipalityId.eq(p.org)),
            Access::Staff,
        ),
        Role::Commissioner => (sel.filter(tender::Column::Id.eq(p.org)), Access::Staff),
        Role::Bidder => {
            let unpublished = TenderState::ALL
                .iter()
                .filter(|s| !s.is_public())
                .map(|s| s.as_str());
            (
                sel.filter(tender::Column::State.is_not_in(unpublished)),
                Access::Public,
            )
        }
    }
}

/// Procedures whose offers come only by invitation: never listed publicly.
pub const INVITATION_ONLY: [&str; 3] = [
    "negoziata_senza_bando",
    "negoziata_senza_pubblicazione",
    "affidamento_diretto",
];

/// The public list's rows: published tenders that are not invitation-only (what [`publicly_visible`]
/// admits for an anonymous reader), as a query to refine and page.
pub fn public_tenders() -> sea_orm::Select<tender::Entity> {
    tender::Entity::find()
        .filter(tender::Column::PublishedAt.is_not_null())
        .filter(tender::Column::ProcedureType.is_not_in(INVITATION_ONLY))
}

/// Load a tender with the caller's access, or 404 when the caller may not know it exists.
pub async fn access_tender<C: ConnectionTrait>(
    db: &C,
    p: Option<&Principal>,
    id: Uuid,
) -> WResult<(tender::Model, Access)> {
    let t = tender::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(WorkflowError::NotFound("tender"))?;
    let access = match p.map(|p| (p.role, p.org)) {
        Some((Role::PlatformAdmin, _)) => Some(Access::Manage),
        Some((Role::SuaBuyer, org)) if org == Some(t.province_id) => Some(Access::Manage),
        Some((Role::Municipality, org)) if org.is_some() && org == t.municipality_id => {
            Some(Access::Staff)
        }
        Some((Role::Commissioner, org)) if org == Some(t.id) => Some(Access::Staff),
        Some((Role::Bidder, org)) if publicly_visible(&t, org) => Some(Access::Public),
        None if publicly_visible(&t, None) => Some(Access::Public),
        _ => None,
    };
    match access {
        Some(a) => Ok((t, a)),
        None => Err(WorkflowError::NotFound("tender")),
    }
}

pub async fn manage_tender<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> WResult<tender::Model> {
    let (t, a) = access_tender(db, Some(p), id).await?;
    if a == Access::Manage {
        Ok(t)
    } else {
        Err(WorkflowError::Forbidden(
            "only the SUA buyers of this tender may do this".into(),
        ))
    }
}

// ---------------------------------------------------------------- create / edit

/// Check that `org` exists and fits `role`.
pub async fn check_org<C: sea_orm::ConnectionTrait>(
    db: &C,
    role: Role,
    org: Option<Uuid>,
) -> WResult<()> {
    let missing = || WorkflowError::invalid("org", "org: no such organisation for this role");
    match (role, org) {
        (Role::PlatformAdmin, None) => Ok(()),
        (Role::PlatformAdmin, Some(_)) => Err(WorkflowError::invalid(
            "org",
            "org: platform_admin takes no organisation",
        )),
        (_, None) => Err(WorkflowError::invalid("org", "org: required for this role")),
        (Role::SuaBuyer, Some(o)) => province::Entity::find_by_id(o)
            .one(db)
            .await?
            .map(|_| ())
            .ok_or_else(missing),
        (Role::Municipality, Some(o)) => municipality::Entity::find_by_id(o)
            .one(db)
            .await?
            .map(|_| ())
            .ok_or_else(missing),
        (Role::Bidder, Some(o)) => operator::Entity::find_by_id(o)
            .one(db)
            .await?
            .map(|_| ())
            .ok_or_else(missing),
        (Role::Commissioner, Some(o)) => tender::Entity::find_by_id(o)
            .one(db)
            .await?
            .map(|_| ())
            .ok_or_else(missing),
    }
}

/// Who may read a bid (its envelopes' state, its files): the operator that submitted it, and the SUA's
/// buyers, the municipality and the commission of its tender. Anyone else — another bidder, the public —
/// is told the bid does not exist. Returns the bid and whether the caller is its owner.
pub async fn read_bid<C: ConnectionTrait>(
    db: &C,
    p: &Principal,
    id: Uuid,
) -> WResult<(bid::Model, bool)> {
    let b = bid::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(WorkflowError::NotFound("bid"))?;
    let owner = p.role == Role::Bidder && p.org == Some(b.operator_id);
    if !owner {
        if p.role == Role::Bidder {
            return Err(WorkflowError::NotFound("bid"));
        }
        let (_, a) = access_tender(db, Some(p), b.tender_id)
            .await
            .map_err(|_| WorkflowError::NotFound("bid"))?;
        if a == Access::Public {
            return Err(WorkflowError::NotFound("bid"));
        }
    }
    Ok((b, owner))
}

/// Art. 35 c.2 lett. a D.Lgs. 36/2023: until the offer deadline nobody learns who has bid or shown interest,
/// the SUA's own staff included. The outbox of a tender names operators (a bid receipt goes to the bidder's
/// PEC, a reminder to an operator who started a bid), so before the deadline its listing keeps every
/// message but names the recipient only of the mails to the municipality and of the invitations (the buyer
/// chose the invitees). A tender without a deadline counts as before it.
pub fn outbox_names_recipient(t: &tender::Model, template: &str, now: DateTime<Utc>) -> bool {
    let deadline_passed = t
        .deadline
        .is_some_and(|d| !lifecycle::participation::offers_open(d, now));
    use notify::MailTemplate as M;
    deadline_passed
        || matches!(
            template.parse::<M>(),
            Ok(M::RequestReceived
                | M::RequestAccepted
                | M::RequestReturned
                | M::RequestRejected
                | M::MunicipalityUpdate
                | M::Invitation)
        )
}
