//! Shared application state handed to every handler (the HTTP edge's state).

use crate::{api::public::PublicCache, clock::SharedClock, config::Settings, db::Db};
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    /// Rendered answers of the public endpoints; stale as soon as `db` commits a write.
    pub public_cache: Arc<PublicCache>,
}

impl AppState {
    pub fn new(db: Db, clock: SharedClock, settings: Arc<Settings>) -> AppState {
        let public_cache = Arc::new(PublicCache::new(db.writes()));
        AppState {
            db,
            clock,
            settings,
            public_cache,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        crate::audit::truncate_micros(self.clock.now())
    }
}
