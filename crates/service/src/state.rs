//! Shared application state handed to every handler (the HTTP edge's state): the [`Runtime`] below the
//! HTTP layer, plus the public pages' cache.

use crate::{
    api::public::PublicCache, clock::SharedClock, config::Settings, db::Db, runtime::Runtime,
};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub runtime: Runtime,
    /// Rendered answers of the public endpoints; stale as soon as `db` commits a write.
    pub public_cache: Arc<PublicCache>,
    /// The per-token request rate limit (`[http] rate_limit_per_second`, `rate_limit_burst`); `None`
    /// when disabled.
    pub rate_limit: Option<Arc<TokenRateLimit>>,
    /// The tokens' last uses waiting to be written (coalesced, in the background).
    pub last_use: Arc<crate::tokens::LastUse>,
}

/// One token bucket per API token id (GCRA, `governor`).
pub type TokenRateLimit = governor::DefaultKeyedRateLimiter<uuid::Uuid>;

fn rate_limit(settings: &Settings) -> Option<Arc<TokenRateLimit>> {
    let per_second = std::num::NonZeroU32::new(settings.http.rate_limit_per_second)?;
    let burst = std::num::NonZeroU32::new(settings.http.rate_limit_burst).unwrap_or(per_second);
    let quota = governor::Quota::per_second(per_second).allow_burst(burst);
    Some(Arc::new(governor::RateLimiter::keyed(quota)))
}

impl AppState {
    pub fn new(db: Db, clock: SharedClock, settings: Arc<Settings>) -> AppState {
        let public_cache = Arc::new(PublicCache::new(db.writes()));
        let rate_limit = rate_limit(&settings);
        AppState {
            runtime: Runtime {
                db,
                clock,
                settings,
            },
            public_cache,
            rate_limit,
            last_use: Arc::default(),
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}
