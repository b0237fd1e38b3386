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
}

impl AppState {
    pub fn new(db: Db, clock: SharedClock, settings: Arc<Settings>) -> AppState {
        let public_cache = Arc::new(PublicCache::new(db.writes()));
        AppState {
            runtime: Runtime {
                db,
                clock,
                settings,
            },
            public_cache,
        }
    }
}

impl std::ops::Deref for AppState {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}
