//! Sealed bids in the service (issue 6): envelope storage, signed receipts, opening in order.
//!
//! The cryptography is the pure `sealing` crate; this module does the I/O around it (docs/sealing.md §5
//! and "In the service"). A bid version has up to three envelopes (A administrative, B technical, C
//! economic), each sealed with its own data key wrapped by the configured KEK. The `bid` row's clear
//! columns (`declared_discount`, `declared_price_cents`, `technical_json`) stay empty until the envelope
//! holding them is opened; the evaluation reads them from there.

pub mod keys;

pub use keys::{SealKeys, SealingSettings, keys};

use crate::{
    audit,
    db::entities::{bid, lot, tender},
    error::{ApiResult, AppError},
};
use chrono::{DateTime, Utc};
use lifecycle::{lot::OpenEnvelopes, participation::ParticipationState};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use sealing::{
    Admission, BidOpeningState, BidStanding, ContextId, EnvelopeContext, EnvelopeKind,
    EnvelopeManifest, LotOpeningState, LotStatus, Milestones, OpeningSequence, ReceiptAction,
    ReceiptBody, ServerTime, WrappedKey,
};
use uuid::Uuid;
use workflow::store::Scope;
use workflow::store::entities::EnvelopeState;

pub use workflow::store::entities::{bid_envelope, bid_receipt};

pub fn kind_name(k: EnvelopeKind) -> &'static str {
    match k {
        EnvelopeKind::Administrative => "administrative",
        EnvelopeKind::Technical => "technical",
        EnvelopeKind::Economic => "economic",
    }
}

pub fn parse_kind(field: &str, s: &str) -> ApiResult<EnvelopeKind> {
    match s {
        "administrative" | "A" | "a" => Ok(EnvelopeKind::Administrative),
        "technical" | "B" | "b" => Ok(EnvelopeKind::Technical),
        "economic" | "C" | "c" => Ok(EnvelopeKind::Economic),
        _ => Err(AppError::bad(
            field,
            format!("{field}: administrative, technical or economic (A, B, C)"),
        )),
    }
}

fn cid(field: &'static str, s: impl ToString) -> ApiResult<ContextId> {
    ContextId::parse_field(field, &s.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{field}: {e}")))
}

/// The head of `province`'s audit chain now, as a receipt or a published head states it.
pub async fn chain_head<C: ConnectionTrait>(
    db: &C,
    province: Uuid,
) -> ApiResult<sealing::ChainHead> {
    let chain = workflow::store::Scope::Province(province).key();
    let (sequence, hash) = audit::head(db, &chain).await?;
    Ok(sealing::ChainHead {
        chain: cid("province", chain)?,
        hash: hash.parse().map_err(crypto_err)?,
        sequence: u64::try_from(sequence).map_err(crypto_err)?,
    })
}

/// The head of `province`'s audit chain, read now and signed with the receipt key.
pub async fn signed_audit_head<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    province: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<sealing::SignedAuditHead> {
    let head = chain_head(db, province).await?;
    keys.signer
        .sign_audit_head(head, ServerTime::new(now))
        .map_err(crypto_err)
}

fn crypto_err(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("sealing: {e}"))
}

fn context(b: &bid::Model, kind: EnvelopeKind, version: i32) -> ApiResult<EnvelopeContext> {
    crate::docstore::envelope_context(b.tender_id, b.lot_id, b.id, kind, version)
}

/// The structured data of one envelope, before sealing.
pub struct EnvelopeData {
    pub kind: EnvelopeKind,
    pub data: serde_json::Value,
}

/// A stored, signed receipt.
pub struct StoredReceipt {
    pub sequence: i64,
    pub version: i32,
    pub json: String,
    /// `kind:sealed manifest sha256` for each envelope, for the PEC message.
    pub commitments: Vec<String>,
}

impl StoredReceipt {
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.json).unwrap_or_default()
    }
}

async fn last_version<C: ConnectionTrait>(db: &C, bid_id: Uuid) -> ApiResult<i32> {
    Ok(bid_envelope::Entity::find()
        .filter(bid_envelope::Column::BidId.eq(bid_id))
        .order_by_desc(bid_envelope::Column::Version)
        .one(db)
        .await?
        .map(|r| r.version)
        .unwrap_or(0))
}

async fn mark<C: ConnectionTrait>(db: &C, bid_id: Uuid, to: EnvelopeState) -> ApiResult<()> {
    let rows = bid_envelope::Entity::find()
        .filter(bid_envelope::Column::BidId.eq(bid_id))
        .filter(bid_envelope::Column::State.eq(EnvelopeState::Submitted.as_str()))
        .all(db)
        .await?;
    for r in rows {
        let mut am = r.into_active_model();
        am.state = Set(to.as_str().to_owned());
        am.update(db).await?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn store_receipt<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    b: &bid::Model,
    operator_cf: &str,
    action: ReceiptAction,
    version: i32,
    envelopes: Vec<sealing::EnvelopeDigest>,
    now: DateTime<Utc>,
) -> ApiResult<StoredReceipt> {
    let province = tender::Entity::find_by_id(b.tender_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("tender"))?
        .province_id;
    sign_and_store_receipt(
        db,
        keys,
        b,
        operator_cf,
        province,
        action,
        version,
        envelopes,
        now,
    )
    .await
}

/// [`store_receipt`] when the caller knows the Province of the bid's tender.
#[allow(clippy::too_many_arguments)]
async fn sign_and_store_receipt<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    b: &bid::Model,
    operator_cf: &str,
    province: Uuid,
    action: ReceiptAction,
    version: i32,
    envelopes: Vec<sealing::EnvelopeDigest>,
    now: DateTime<Utc>,
) -> ApiResult<StoredReceipt> {
    // gap-free within the Province: the caller's transaction holds the Province's write lock
    // (`Db::write`), so no other act of this Province draws a number before this one commits
    let sequence = bid_receipt::Entity::find()
        .filter(bid_receipt::Column::ProvinceId.eq(province))
        .order_by_desc(bid_receipt::Column::Sequence)
        .one(db)
        .await?
        .map(|r| r.sequence)
        .unwrap_or(0)
        + 1;
    let commitments = envelopes
        .iter()
        .map(|e| format!("{}:{}", kind_name(e.kind), e.sealed_manifest_sha256))
        .collect();
    // the head of the Province's audit chain as this receipt is signed (before the bid's own entry)
    let audit_head = chain_head(db, province).await?;
    let signed = keys
        .signer
        .sign_with_head(
            ReceiptBody {
                tender: cid("tender", b.tender_id)?,
                lot: cid("lot", b.lot_id)?,
                bid: cid("bid", b.id)?,
                bid_version: version as u32,
                operator: cid("operator", operator_cf)?,
                action,
                envelopes,
                server_time: ServerTime::new(now),
                sequence: sequence as u64,
            },
            Some(audit_head),
        )
        .map_err(crypto_err)?;
    let json = signed.to_json();
    let action = match action {
        ReceiptAction::Submission => "submission",
        ReceiptAction::Replacement => "replacement",
        ReceiptAction::Withdrawal => "withdrawal",
        ReceiptAction::FileUpload => "file_upload",
    };
    bid_receipt::ActiveModel {
        province_id: Set(province),
        sequence: Set(sequence),
        bid_id: Set(b.id),
        version: Set(version),
        action: Set(action.to_owned()),
        json: Set(json.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(StoredReceipt {
        sequence,
        version,
        json,
        commitments,
    })
}

/// Seal a new version of bid `b` (submission or replacement): earlier versions become `superseded`, the
/// new envelopes are stored sealed, and the signed receipt is stored. Runs inside the caller's write
/// transaction, so the bid, its envelopes and its receipt commit together or not at all.
pub async fn seal_version<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    b: &bid::Model,
    operator_cf: &str,
    action: ReceiptAction,
    envelopes: Vec<EnvelopeData>,
    now: DateTime<Utc>,
) -> ApiResult<StoredReceipt> {
    let version = last_version(db, b.id).await? + 1;
    mark(db, b.id, EnvelopeState::Superseded).await?;
    let sealed = seal_envelopes(keys, b.tender_id, b.lot_id, b.id, version, envelopes, now)?;
    insert_envelopes(db, sealed.rows).await?;
    store_receipt(
        db,
        keys,
        b,
        operator_cf,
        action,
        version,
        sealed.digests,
        now,
    )
    .await
}

/// The envelopes of one bid version, sealed and ready to store: the cryptography of
/// [`seal_version`] without its I/O, so a first submission can seal before its act takes the writer.
pub struct SealedVersion {
    bid_id: Uuid,
    version: i32,
    rows: Vec<bid_envelope::ActiveModel>,
    digests: Vec<sealing::EnvelopeDigest>,
}

/// Seal `envelopes` as version `version` of bid `bid_id` of `lot` in `tender` (no I/O).
pub fn seal_envelopes(
    keys: &SealKeys,
    tender: Uuid,
    lot: Uuid,
    bid_id: Uuid,
    version: i32,
    envelopes: Vec<EnvelopeData>,
    now: DateTime<Utc>,
) -> ApiResult<SealedVersion> {
    let mut rows = Vec::new();
    let mut digests = Vec::new();
    // synchronously: the thread RNG stays on this thread
    let mut rng = rand::rng();
    for e in envelopes {
        let ctx = crate::docstore::envelope_context(tender, lot, bid_id, e.kind, version)?;
        let (wrapped, key) = keys.ring.new_envelope_key(&ctx, &mut rng);
        let manifest = EnvelopeManifest {
            data: e.data,
            files: vec![],
        };
        let sealed = sealing::seal_manifest(&key, &manifest, &mut rng).map_err(crypto_err)?;
        digests.push(manifest.digest(&key, &sealed));
        rows.push(bid_envelope::ActiveModel {
            id: Set(Uuid::now_v7()),
            bid_id: Set(bid_id),
            version: Set(version),
            kind: Set(kind_name(e.kind).to_owned()),
            wrapped_dek: Set(wrapped.to_text()),
            commitment: Set(sealed.commitment().to_string()),
            sealed_manifest: Set(sealed.0),
            state: Set(EnvelopeState::Submitted.as_str().to_owned()),
            opened_at: Set(None),
            opened_json: Set(None),
            open_error: Set(None),
            created_at: Set(now),
        });
    }
    Ok(SealedVersion {
        bid_id,
        version,
        rows,
        digests,
    })
}

async fn insert_envelopes<C: ConnectionTrait>(
    db: &C,
    rows: Vec<bid_envelope::ActiveModel>,
) -> ApiResult<()> {
    if !rows.is_empty() {
        bid_envelope::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Store the first version of a new bid `b` (just inserted in the caller's write transaction), sealed
/// beforehand by [`seal_envelopes`], and sign its receipt: what [`seal_version`] does for a submission,
/// with no earlier version to look for or supersede. `province` is the Province of `b`'s tender.
pub async fn store_first_version<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    b: &bid::Model,
    operator_cf: &str,
    province: Uuid,
    sealed: SealedVersion,
    now: DateTime<Utc>,
) -> ApiResult<StoredReceipt> {
    if sealed.bid_id != b.id || sealed.version != 1 {
        return Err(AppError::Internal(anyhow::anyhow!(
            "envelopes sealed for bid {} version {} stored as the first version of bid {}",
            sealed.bid_id,
            sealed.version,
            b.id
        )));
    }
    insert_envelopes(db, sealed.rows).await?;
    sign_and_store_receipt(
        db,
        keys,
        b,
        operator_cf,
        province,
        ReceiptAction::Submission,
        1,
        sealed.digests,
        now,
    )
    .await
}

/// The receipt that counts for a bid version: the latest one that lists its envelopes (the submission or
/// replacement, or the last `file_upload` receipt, which restates them with every file).
pub async fn latest_receipt<C: ConnectionTrait>(
    db: &C,
    bid_id: Uuid,
    version: i32,
) -> ApiResult<Option<bid_receipt::Model>> {
    Ok(bid_receipt::Entity::find()
        .filter(bid_receipt::Column::BidId.eq(bid_id))
        .filter(bid_receipt::Column::Version.eq(version))
        .filter(bid_receipt::Column::Action.ne("withdrawal"))
        .order_by_desc(bid_receipt::Column::Sequence)
        .one(db)
        .await?)
}

/// The files of a bid version as a receipt lists them: per envelope kind, in upload order.
async fn version_files<C: ConnectionTrait>(
    db: &C,
    bid_id: Uuid,
    version: i32,
) -> ApiResult<Vec<crate::docstore::bid_file::Model>> {
    use crate::docstore::bid_file;
    Ok(bid_file::Entity::find()
        .filter(bid_file::Column::BidId.eq(bid_id))
        .filter(bid_file::Column::Version.eq(version))
        .order_by_asc(bid_file::Column::CreatedAt)
        .order_by_asc(bid_file::Column::Id)
        .all(db)
        .await?)
}

fn file_digest(f: &crate::docstore::bid_file::Model) -> ApiResult<sealing::FileDigest> {
    Ok(sealing::FileDigest {
        media_type: f.media_type.clone(),
        name: f.name.clone(),
        sha256: f.sha256.parse().map_err(|_| {
            AppError::Internal(anyhow::anyhow!("bid_file.sha256 of {} is not hex", f.id))
        })?,
        size: u64::try_from(f.plain_len)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("bid_file.plain_len of {}", f.id)))?,
    })
}

/// A file was added to version `version` of bid `b` (inside the upload's write transaction, after its
/// `bid_file` row): sign a `file_upload` receipt that restates the version's envelopes from its latest
/// receipt (same commitments and key commitments, checked against the published keys) with the full list
/// of files each envelope now holds. The newest receipt of a version is the one that counts.
pub async fn file_receipt<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    b: &bid::Model,
    operator_cf: &str,
    version: i32,
    now: DateTime<Utc>,
) -> ApiResult<StoredReceipt> {
    let last = latest_receipt(db, b.id, version).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "bid {} version {version} has no receipt",
            b.id
        ))
    })?;
    let r = sealing::verify_with_keys(last.json.as_bytes(), &keys.published).map_err(|e| {
        AppError::Internal(anyhow::anyhow!(
            "stored receipt #{} does not verify: {e}",
            last.sequence
        ))
    })?;
    let files = version_files(db, b.id, version).await?;
    let mut lines = r.envelopes;
    for line in &mut lines {
        let kind = kind_name(line.kind);
        line.files = files
            .iter()
            .filter(|f| f.kind == kind)
            .map(file_digest)
            .collect::<ApiResult<_>>()?;
    }
    if let Some(f) = files
        .iter()
        .find(|f| !lines.iter().any(|l| kind_name(l.kind) == f.kind))
    {
        return Err(AppError::Internal(anyhow::anyhow!(
            "file {} is in a {} envelope the receipt does not list",
            f.id,
            f.kind
        )));
    }
    store_receipt(
        db,
        keys,
        b,
        operator_cf,
        ReceiptAction::FileUpload,
        version,
        lines,
        now,
    )
    .await
}

/// Checks a stored file against the signed receipt that counts for its version: the receipt must list it
/// in its envelope with the same name, media type, size and plaintext SHA-256. `Err(message)` when it
/// does not (a row or object changed after the receipt was issued).
pub async fn check_file_on_receipt<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    f: &crate::docstore::bid_file::Model,
) -> ApiResult<Result<(), String>> {
    let Some(last) = latest_receipt(db, f.bid_id, f.version).await? else {
        return Ok(Err("no receipt for this bid version".into()));
    };
    let r = match sealing::verify_with_keys(last.json.as_bytes(), &keys.published) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("stored receipt does not verify: {e}"))),
    };
    let want = file_digest(f)?;
    let listed = r
        .envelopes
        .iter()
        .filter(|l| kind_name(l.kind) == f.kind)
        .flat_map(|l| l.files.iter())
        .any(|g| *g == want);
    if listed {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "the file '{}' is not on receipt #{} as stored (name, media type, size or SHA-256 differ)",
            f.name, last.sequence
        )))
    }
}

/// Withdrawal: every envelope of the bid becomes `withdrawn` (never opened); a receipt is signed.
pub async fn withdraw<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    b: &bid::Model,
    operator_cf: &str,
    now: DateTime<Utc>,
) -> ApiResult<StoredReceipt> {
    let version = last_version(db, b.id).await?.max(1);
    mark(db, b.id, EnvelopeState::Withdrawn).await?;
    store_receipt(
        db,
        keys,
        b,
        operator_cf,
        ReceiptAction::Withdrawal,
        version,
        vec![],
        now,
    )
    .await
}

/// The lot as the opening rule sees it. The service's lot machine and the sealing rule must both agree
/// before an envelope opens: `LotState::open_envelopes` says which envelopes the lot's phase opens.
pub fn lot_opening_state(t: &tender::Model, l: &lot::Model) -> Option<LotOpeningState> {
    let OpenEnvelopes {
        administrative,
        technical,
        economic,
    } = l.state.open_envelopes();
    Some(LotOpeningState {
        criterion: *t.criterion,
        sequence: OpeningSequence::Standard,
        status: if l.state.closes_openings() {
            LotStatus::Closed
        } else {
            LotStatus::Active
        },
        deadline: t.deadline?,
        milestones: Milestones {
            opening_session_started: administrative,
            admission_decided: technical || economic,
            technical_scores_frozen: economic,
            economic_ranking_done: economic,
        },
    })
}

pub fn bid_opening_state(b: &bid::Model, env: &bid_envelope::Model) -> BidOpeningState {
    let standing = match EnvelopeState::from_name(&env.state) {
        Some(EnvelopeState::Submitted) if b.state != ParticipationState::Withdrawn => {
            BidStanding::Current
        }
        Some(EnvelopeState::Superseded) => BidStanding::Superseded,
        Some(EnvelopeState::Submitted | EnvelopeState::Withdrawn) | None => BidStanding::Withdrawn,
    };
    let admission = match b.state.admission() {
        lifecycle::participation::Admission::Admitted => Admission::Admitted,
        lifecycle::participation::Admission::Excluded => Admission::Excluded,
        lifecycle::participation::Admission::Pending => Admission::Pending,
    };
    BidOpeningState {
        standing,
        admission,
    }
}

/// What happened when an opening was attempted.
#[derive(Debug)]
pub enum OpenOutcome {
    /// Opened now or earlier: the envelope's structured data.
    Opened(serde_json::Value),
    /// Not yet (or never): the rule that refuses it.
    Refused { rule: String, detail: String },
    /// The envelope failed its integrity checks (recorded on the row and in the audit log).
    IntegrityFailure(String),
}

fn envelope_flag(l: &lot::Model, kind: EnvelopeKind) -> bool {
    let open = l.state.open_envelopes();
    match kind {
        EnvelopeKind::Administrative => open.administrative,
        EnvelopeKind::Technical => open.technical,
        EnvelopeKind::Economic => open.economic,
    }
}

/// Try to open one envelope: the lot phase and `sealing::authorize_opening` must allow it; the opening is
/// audited before the data key is unwrapped; the key must match the commitment on the signed receipt.
#[allow(clippy::too_many_arguments)]
pub async fn try_open<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    actor: &str,
    t: &tender::Model,
    l: &lot::Model,
    b: &bid::Model,
    env: bid_envelope::Model,
    now: DateTime<Utc>,
) -> ApiResult<OpenOutcome> {
    if env.opened_at.is_some() {
        let v = env
            .opened_json
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        return Ok(OpenOutcome::Opened(v));
    }
    if let Some(e) = env.open_error {
        return Ok(OpenOutcome::IntegrityFailure(e));
    }
    let kind = parse_kind("kind", &env.kind)?;
    if !envelope_flag(l, kind) {
        return Ok(OpenOutcome::Refused {
            rule: "sealed-order invariant".into(),
            detail: format!(
                "{kind} stays sealed while the lot is {} (A opens at open_administrative, B in technical \
                 evaluation, C at open_economic_offers)",
                l.state
            ),
        });
    }
    let Some(lot_state) = lot_opening_state(t, l) else {
        return Ok(OpenOutcome::Refused {
            rule: "lex specialis".into(),
            detail: "the tender has no offer deadline".into(),
        });
    };
    let ctx = context(b, kind, env.version)?;
    let permit =
        match sealing::authorize_opening(&ctx, &lot_state, &bid_opening_state(b, &env), now) {
            Ok(p) => p,
            Err(r) => {
                return Ok(OpenOutcome::Refused {
                    rule: "opening order (docs/sealing.md §3)".into(),
                    detail: format!("{kind} of bid {} version {}: {r}", b.id, env.version),
                });
            }
        };
    audit::append(
        db,
        now,
        audit::Entry {
            chain: Scope::Province(t.province_id),
            actor,
            action: "envelope.open",
            object_kind: "bid",
            object_id: b.id.to_string(),
            before: None,
            after: Some(serde_json::json!({
                "kind": env.kind, "version": env.version, "authorized_at": permit.authorized_at(),
                "commitment": env.commitment,
            })),
        },
    )
    .await?;
    let opened = open_checked(db, keys, &env, kind, &permit).await?;
    let mut am = env.clone().into_active_model();
    match opened {
        Ok(data) => {
            am.opened_at = Set(Some(now));
            am.opened_json = Set(Some(data.to_string()));
            am.update(db).await?;
            copy_into_bid(db, b, kind, &data).await?;
            Ok(OpenOutcome::Opened(data))
        }
        Err(msg) => {
            am.open_error = Set(Some(msg.clone()));
            am.update(db).await?;
            audit::append(
                db,
                now,
                audit::Entry {
                    chain: Scope::Province(t.province_id),
                    actor,
                    action: "envelope.integrity_failure",
                    object_kind: "bid",
                    object_id: b.id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({
                        "kind": env.kind, "version": env.version, "error": msg,
                    })),
                },
            )
            .await?;
            Ok(OpenOutcome::IntegrityFailure(msg))
        }
    }
}

/// Unwrap, check against the signed receipt, decrypt. `Err(message)` for integrity failures.
async fn open_checked<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    env: &bid_envelope::Model,
    kind: EnvelopeKind,
    permit: &sealing::OpeningPermit,
) -> ApiResult<Result<serde_json::Value, String>> {
    let receipt = latest_receipt(db, env.bid_id, env.version).await?;
    let Some(receipt) = receipt else {
        return Ok(Err("no receipt for this bid version".into()));
    };
    let r = match sealing::verify_with_keys(receipt.json.as_bytes(), &keys.published) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("stored receipt does not verify: {e}"))),
    };
    let Some(line) = r.envelopes.iter().find(|e| e.kind == kind) else {
        return Ok(Err(format!("the receipt lists no {kind}")));
    };
    if sealing::SealedManifest(env.sealed_manifest.clone()).commitment()
        != line.sealed_manifest_sha256
    {
        return Ok(Err(
            "sealed envelope does not match the hash on the receipt (altered after submission)"
                .into(),
        ));
    }
    let result = (|| {
        let wrapped = WrappedKey::parse(&env.wrapped_dek).map_err(|e| e.to_string())?;
        let key = keys
            .ring
            .opening_key(&wrapped, permit)
            .map_err(|e| e.to_string())?;
        key.check_commitment(&line.key_commitment)
            .map_err(|e| e.to_string())?;
        let m = sealing::open_manifest(&key, &env.sealed_manifest).map_err(|e| e.to_string())?;
        Ok(m.data)
    })();
    Ok(result)
}

async fn copy_into_bid<C: ConnectionTrait>(
    db: &C,
    b: &bid::Model,
    kind: EnvelopeKind,
    data: &serde_json::Value,
) -> ApiResult<()> {
    let Some(current) = bid::Entity::find_by_id(b.id).one(db).await? else {
        return Ok(());
    };
    let mut am = current.into_active_model();
    match kind {
        EnvelopeKind::Economic => {
            am.declared_discount = Set(data["declared_discount"].as_str().map(str::to_owned));
            am.declared_price_cents = Set(data["declared_price_cents"].as_i64());
            am.declared_labour_costs_cents = Set(data["declared_labour_costs_cents"].as_i64());
        }
        EnvelopeKind::Technical => {
            am.technical_json = Set(data["technical"].to_string());
        }
        EnvelopeKind::Administrative => return Ok(()),
    }
    am.update(db).await?;
    Ok(())
}

/// Open every envelope of lot `lot_id` that its current phase and the opening rule allow (called after
/// each lot or bid event). Refusals are normal (not yet); integrity failures are recorded and audited.
pub async fn open_due<C: ConnectionTrait>(
    db: &C,
    keys: &SealKeys,
    actor: &str,
    t: &tender::Model,
    lot_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let Some(l) = lot::Entity::find_by_id(lot_id).one(db).await? else {
        return Ok(());
    };
    let bids = bid::Entity::find()
        .filter(bid::Column::LotId.eq(lot_id))
        .all(db)
        .await?;
    for b in bids {
        let envs = bid_envelope::Entity::find()
            .filter(bid_envelope::Column::BidId.eq(b.id))
            .filter(bid_envelope::Column::State.eq(EnvelopeState::Submitted.as_str()))
            .filter(bid_envelope::Column::OpenedAt.is_null())
            .filter(bid_envelope::Column::OpenError.is_null())
            .order_by_asc(bid_envelope::Column::Kind)
            .all(db)
            .await?;
        for env in envs {
            try_open(db, keys, actor, t, &l, &b, env, now).await?;
        }
    }
    Ok(())
}

/// The keys of the running service (`[sealing]`), as an API error if they cannot be loaded.
pub fn service_keys(settings: &SealingSettings) -> ApiResult<std::sync::Arc<SealKeys>> {
    keys(settings).map_err(AppError::Internal)
}
