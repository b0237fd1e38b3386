//! The platform's draws, committed in advance (art. 54 c.2, impartiality of the sorteggio; art. 50 c.2).
//!
//! Every seed of a draw (the tie-break and the method draw of a lot's evaluation, the draw of the invitees of
//! a negotiated procedure) is 32 bytes from the operating system's random generator. When it is generated its
//! SHA-256 is committed: stored, written in the audit chain (`draw.commit`) and shown on the public tender
//! page, before the facts it decides exist (the evaluation seed at publication, before any bid; the invitee
//! seed when the negotiated tender is created, before the selection takes its list of candidates). The seed
//! itself is revealed after (the evaluation seed at evaluation, the invitee seed at the offer deadline, when
//! the invitees stop being secret): written in the audit chain (`draw.reveal`) and shown with its hash, so
//! anyone can check `sha256(seed) == hash` (`echo -n $SEED | xxd -r -p | sha256sum`) and replay the draw.
//! Before the reveal no answer carries the seed: it is read only here, by [`secret`], for the draw.
//!
//! Nobody gives a seed through the API.

use crate::{
    audit,
    error::{WResult, WorkflowError},
    store::entities::draw_seed,
};
use chrono::{DateTime, Utc};
use rand::TryRngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a seed decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A lot's tie-break in the ranking and, when the rules say so, the draw of the anomaly method.
    Evaluation,
    /// The draw of the invitees of a negotiated procedure from the register.
    Invitees,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Evaluation => "evaluation",
            Purpose::Invitees => "invitees",
        }
    }
}

/// A committed seed as anyone may read it: the hash always, the seed once revealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SeedView {
    /// `evaluation` (a lot's tie-break and method draw) or `invitees`.
    pub purpose: String,
    pub lot_id: Option<Uuid>,
    /// Hex SHA-256 of the 32 seed bytes, committed at `committed_at`.
    pub sha256: String,
    pub committed_at: DateTime<Utc>,
    /// Hex of the 32 seed bytes: null until revealed.
    pub seed: Option<String>,
    pub revealed_at: Option<DateTime<Utc>>,
}

impl From<&draw_seed::Model> for SeedView {
    fn from(m: &draw_seed::Model) -> Self {
        SeedView {
            purpose: m.purpose.clone(),
            lot_id: m.lot_id,
            sha256: m.sha256.clone(),
            committed_at: m.committed_at,
            seed: m.revealed_at.map(|_| m.seed_hex.clone()),
            revealed_at: m.revealed_at,
        }
    }
}

/// Hex SHA-256 of seed bytes: the commitment.
pub fn commitment(seed: &[u8; 32]) -> String {
    hex::encode(Sha256::digest(seed))
}

fn fresh() -> WResult<[u8; 32]> {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut seed)
        .map_err(|e| WorkflowError::Internal(anyhow::anyhow!("OS random generator: {e}")))?;
    Ok(seed)
}

async fn find<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
    lot_id: Option<Uuid>,
    purpose: Purpose,
) -> WResult<Option<draw_seed::Model>> {
    let q = draw_seed::Entity::find()
        .filter(draw_seed::Column::TenderId.eq(tender_id))
        .filter(draw_seed::Column::Purpose.eq(purpose.as_str()));
    let q = match lot_id {
        Some(l) => q.filter(draw_seed::Column::LotId.eq(l)),
        None => q.filter(draw_seed::Column::LotId.is_null()),
    };
    Ok(q.one(db).await?)
}

/// Generate and commit the seed of `purpose` for the tender (and lot), unless one is committed already:
/// the hash goes in the audit chain (`draw.commit`); the seed stays secret.
pub async fn commit<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    now: DateTime<Utc>,
    tender_id: Uuid,
    lot_id: Option<Uuid>,
    purpose: Purpose,
) -> WResult<SeedView> {
    if let Some(m) = find(db, tender_id, lot_id, purpose).await? {
        return Ok(SeedView::from(&m));
    }
    let seed = fresh()?;
    let m = draw_seed::ActiveModel {
        id: Set(Uuid::now_v7()),
        tender_id: Set(tender_id),
        lot_id: Set(lot_id),
        purpose: Set(purpose.as_str().to_owned()),
        seed_hex: Set(hex::encode(seed)),
        sha256: Set(commitment(&seed)),
        committed_at: Set(audit::truncate_micros(now)),
        revealed_at: Set(None),
    }
    .insert(db)
    .await?;
    let view = SeedView::from(&m);
    let chain = crate::store::Scope::of_tender(db, tender_id).await?;
    audit::append(
        db,
        now,
        audit::Entry {
            chain,
            actor,
            action: "draw.commit",
            object_kind: if lot_id.is_some() { "lot" } else { "tender" },
            object_id: lot_id.unwrap_or(tender_id).to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or_default()),
        },
    )
    .await?;
    Ok(view)
}

/// Commit the seed of the invitee draw of a negotiated procedure (art. 50 c.1 lett. c-e), when the tender is
/// one: called when the tender is created (or becomes one), before any selection takes its candidates.
pub async fn commit_invitee_seed<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    now: DateTime<Utc>,
    t: &crate::store::entities::tender::Model,
) -> WResult<Option<SeedView>> {
    if *t.procedure_type != lifecycle::ProcedureType::NegoziataSenzaBando {
        return Ok(None);
    }
    commit(db, actor, now, t.id, None, Purpose::Invitees)
        .await
        .map(Some)
}

/// The committed seed's bytes, for the draw it decides (never for an answer before its reveal).
pub async fn secret<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
    lot_id: Option<Uuid>,
    purpose: Purpose,
) -> WResult<Option<[u8; 32]>> {
    let Some(m) = find(db, tender_id, lot_id, purpose).await? else {
        return Ok(None);
    };
    let mut seed = [0u8; 32];
    hex::decode_to_slice(&m.seed_hex, &mut seed)
        .map_err(|e| WorkflowError::Internal(anyhow::anyhow!("stored seed {}: {e}", m.id)))?;
    Ok(Some(seed))
}

/// Reveal the committed seed of `purpose` (if any, and not yet revealed): `revealed_at` is set and the seed
/// with its hash goes in the audit chain (`draw.reveal`).
pub async fn reveal<C: ConnectionTrait>(
    db: &C,
    actor: &str,
    now: DateTime<Utc>,
    tender_id: Uuid,
    lot_id: Option<Uuid>,
    purpose: Purpose,
) -> WResult<Option<SeedView>> {
    let Some(m) = find(db, tender_id, lot_id, purpose).await? else {
        return Ok(None);
    };
    if m.revealed_at.is_some() {
        return Ok(Some(SeedView::from(&m)));
    }
    let mut am = m.into_active_model();
    am.revealed_at = Set(Some(audit::truncate_micros(now)));
    let m = am.update(db).await?;
    let view = SeedView::from(&m);
    let chain = crate::store::Scope::of_tender(db, tender_id).await?;
    audit::append(
        db,
        now,
        audit::Entry {
            chain,
            actor,
            action: "draw.reveal",
            object_kind: if lot_id.is_some() { "lot" } else { "tender" },
            object_id: lot_id.unwrap_or(tender_id).to_string(),
            before: None,
            after: Some(serde_json::to_value(&view).unwrap_or_default()),
        },
    )
    .await?;
    Ok(Some(view))
}

/// The committed seeds of a tender (its lots' and its own), as anyone may read them.
pub async fn of_tender<C: ConnectionTrait>(db: &C, tender_id: Uuid) -> WResult<Vec<SeedView>> {
    Ok(draw_seed::Entity::find()
        .filter(draw_seed::Column::TenderId.eq(tender_id))
        .order_by_asc(draw_seed::Column::CommittedAt)
        .order_by_asc(draw_seed::Column::Id)
        .all(db)
        .await?
        .iter()
        .map(SeedView::from)
        .collect())
}

/// The committed seed of `purpose` as anyone may read it.
pub async fn view<C: ConnectionTrait>(
    db: &C,
    tender_id: Uuid,
    lot_id: Option<Uuid>,
    purpose: Purpose,
) -> WResult<Option<SeedView>> {
    Ok(find(db, tender_id, lot_id, purpose)
        .await?
        .as_ref()
        .map(SeedView::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_is_the_sha256_of_the_seed_bytes() {
        // sha256 of 32 zero bytes
        assert_eq!(
            commitment(&[0u8; 32]),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
        let a = fresh().unwrap();
        let b = fresh().unwrap();
        assert_ne!(a, b, "two seeds from the OS generator differ");
    }

    #[test]
    fn a_seed_is_shown_only_once_revealed() {
        let mut m = draw_seed::Model {
            id: Uuid::now_v7(),
            tender_id: Uuid::now_v7(),
            lot_id: None,
            purpose: "invitees".into(),
            seed_hex: "ab".repeat(32),
            sha256: "x".into(),
            committed_at: DateTime::<Utc>::UNIX_EPOCH,
            revealed_at: None,
        };
        assert_eq!(SeedView::from(&m).seed, None);
        m.revealed_at = Some(DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(SeedView::from(&m).seed.as_deref(), Some(&*"ab".repeat(32)));
    }
}
