//! What the scheduler, the reminders and the HTTP handlers share below the HTTP layer: the database,
//! the injected clock and the settings.

use crate::{clock::SharedClock, config::Settings, db::Db};
use chrono::{DateTime, Utc};
use std::sync::Arc;

#[derive(Clone)]
pub struct Runtime {
    pub db: Db,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
}

impl Runtime {
    /// The clock's time, truncated to what both databases store exactly.
    pub fn now(&self) -> DateTime<Utc> {
        crate::audit::truncate_micros(self.clock.now())
    }
}

/// Connect and apply migrations.
pub async fn open_db(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database.url, settings.database.max_connections).await?;
    db.migrate()
        .await
        .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
    Ok(db)
}
