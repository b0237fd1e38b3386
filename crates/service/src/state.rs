//! Shared application state handed to every handler.

use crate::{clock::SharedClock, config::Settings, db::Db};
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn now(&self) -> DateTime<Utc> {
        crate::audit::truncate_micros(self.clock.now())
    }
}
