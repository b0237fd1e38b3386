//! The injected clock. Handlers and the scheduler never call `Utc::now()` directly: they ask the
//! [`Clock`] held in the application state, so tests control time.

use chrono::{DateTime, Duration, Utc};
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
    /// Shift the clock by `offset` from real time. Only the [`OffsetClock`] and [`ManualClock`] support it.
    fn set_offset(&self, _offset: Duration) -> bool {
        false
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// Real time plus a settable offset (zero unless `clock.allow_override` lets an admin move it).
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
    fn set_offset(&self, offset: Duration) -> bool {
        self.offset_ms
            .store(offset.num_milliseconds(), Ordering::SeqCst);
        true
    }
}

/// A clock that only moves when told to (unit tests).
pub struct ManualClock {
    at_ms: AtomicI64,
}

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock {
            at_ms: AtomicI64::new(at.timestamp_millis()),
        }
    }
    pub fn advance(&self, d: Duration) {
        self.at_ms.fetch_add(d.num_milliseconds(), Ordering::SeqCst);
    }
    pub fn set(&self, at: DateTime<Utc>) {
        self.at_ms.store(at.timestamp_millis(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.at_ms.load(Ordering::SeqCst)).unwrap_or_default()
    }
    fn set_offset(&self, offset: Duration) -> bool {
        self.set(Utc::now() + offset);
        true
    }
}
