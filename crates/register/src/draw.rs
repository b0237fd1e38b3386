//! The seeded, replayable draw of invitees.

use crate::model::OperatorId;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

/// How a draw is computed, recorded with it so that anyone can replay it.
pub const DRAW_ALGORITHM: &str = "eligible operators sorted ascending by id; ChaCha20 stream cipher RNG \
(rand_chacha 0.9 ChaCha20Rng::from_seed) seeded with the 32 seed bytes; positions chosen with \
rand::seq::index::sample (rand 0.9) over the sorted list; invited listed in draw order";

/// A draw: the seed, the eligible list it was drawn from (canonical order) and the invitees in draw order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    #[serde(with = "hex::serde")]
    pub seed: [u8; 32],
    pub eligible: Vec<OperatorId>,
    pub invited: Vec<OperatorId>,
    pub algorithm: String,
}

/// A refused draw.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawError {
    #[error("invitees: {requested} requested but only {eligible} operators are eligible")]
    NotEnoughEligible { eligible: usize, requested: usize },
    #[error("invitees: at least one operator must be drawn")]
    ZeroInvitees,
    #[error("eligible: operator {0} appears twice")]
    Duplicate(OperatorId),
}

/// Draws `n` of `eligible` with the seed. The eligible list is put in canonical (ascending) order first, so
/// the result depends only on the set of eligible operators, `n` and the seed.
pub fn draw(eligible: &[OperatorId], n: usize, seed: [u8; 32]) -> Result<Draw, DrawError> {
    let mut sorted = eligible.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(DrawError::Duplicate(w[0]));
    }
    if n == 0 {
        return Err(DrawError::ZeroInvitees);
    }
    if sorted.len() < n {
        return Err(DrawError::NotEnoughEligible {
            eligible: sorted.len(),
            requested: n,
        });
    }
    let mut rng = ChaCha20Rng::from_seed(seed);
    let invited = rand::seq::index::sample(&mut rng, sorted.len(), n)
        .into_iter()
        .map(|i| sorted[i])
        .collect();
    Ok(Draw {
        seed,
        eligible: sorted,
        invited,
        algorithm: DRAW_ALGORITHM.to_owned(),
    })
}

impl Draw {
    /// Recomputes the draw from its seed and eligible list and says whether it gives the same invitees.
    pub fn replays(&self) -> bool {
        draw(&self.eligible, self.invited.len(), self.seed)
            .is_ok_and(|d| d.invited == self.invited && d.eligible == self.eligible)
    }
}
