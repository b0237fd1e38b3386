//! The injected clock. Handlers and the scheduler never call `Utc::now()` directly: they ask the
//! [`Clock`] held in the application state, so tests control time. The trait and the manual clock are
//! `notify`'s (the mail worker reads the same clock); the offset clock, real time plus an offset an admin
//! may set, is here.

use chrono::{DateTime, Duration, Utc};
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

pub use notify::{Clock, ManualClock, SystemClock};

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
