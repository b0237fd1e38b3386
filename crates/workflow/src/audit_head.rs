//! The check of a saved head of an audit chain (its newest entry's sequence and hash when it was saved).
//!
//! A hash chain shows an edited entry but not the removal of the newest ones. The service signs a
//! Province chain's head ([`crate::audit::head`], as `sealing::ChainHead`, with the receipt key), publishes it
//! and puts it in every bid receipt; whoever saved it can later ask [`check`] whether the database still holds
//! that entry with that hash (`sua audit verify --head`).

use crate::audit::{self, GENESIS};
use crate::store::entities::audit_entry;
use sea_orm::{ConnectionTrait, EntityTrait};

/// What the database holds of a saved head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadCheck {
    /// The entry is there with the saved hash (the chain's own check, `audit::verify`, covers the entries
    /// up to it).
    Present,
    /// The chain now ends before the saved entry: entries `from..=to` (at least) were removed.
    Missing { from: i64, to: i64 },
    /// The entry is there with another hash: the chain was rewritten from there on.
    Rewritten { found: String },
}

/// Check a saved head of `chain` (`sequence`, `hash`) against the database.
pub async fn check<C: ConnectionTrait>(
    db: &C,
    chain: &str,
    sequence: i64,
    hash: &str,
) -> Result<HeadCheck, sea_orm::DbErr> {
    if sequence == 0 {
        return Ok(if hash == GENESIS {
            HeadCheck::Present
        } else {
            HeadCheck::Rewritten {
                found: GENESIS.to_owned(),
            }
        });
    }
    let (last, _) = audit::head(db, chain).await?;
    if last < sequence {
        return Ok(HeadCheck::Missing {
            from: last + 1,
            to: sequence,
        });
    }
    let entry = audit_entry::Entity::find_by_id((chain.to_owned(), sequence))
        .one(db)
        .await?;
    Ok(match entry {
        None => HeadCheck::Missing {
            from: sequence,
            to: sequence,
        },
        Some(e) if e.hash == hash => HeadCheck::Present,
        Some(e) => HeadCheck::Rewritten { found: e.hash },
    })
}
