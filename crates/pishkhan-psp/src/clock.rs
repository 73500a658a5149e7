//! The PSP's clock: the system clock moved by an offset that `/control/clock` sets, so the
//! demo can put payments on past days through the real code path.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Earliest and latest instants the clock may be set to (2000-01-01 and 2200-01-01, Unix ms):
/// wide enough for any test, narrow enough that no day or deadline arithmetic overflows.
pub(crate) const MIN_NOW_MS: i64 = 946_684_800_000;
pub(crate) const MAX_NOW_MS: i64 = 7_258_118_400_000;

#[derive(Debug, Default)]
pub(crate) struct PspClock {
    offset_ms: AtomicI64,
}

fn system_ms() -> i64 {
    // A system clock before 1970 reads as 1970; the checks on moves keep the sum in range.
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl PspClock {
    pub(crate) fn now_ms(&self) -> i64 {
        system_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the clock to `now_ms`; refused outside [`MIN_NOW_MS`]..=[`MAX_NOW_MS`].
    pub(crate) fn set_now(&self, now_ms: i64) -> Result<(), String> {
        self.set_offset(now_ms.saturating_sub(system_ms()))
    }

    /// Sets the offset from the system clock (0: real time); refused when the clock would
    /// leave [`MIN_NOW_MS`]..=[`MAX_NOW_MS`].
    pub(crate) fn set_offset(&self, offset_ms: i64) -> Result<(), String> {
        let now = system_ms().saturating_add(offset_ms);
        if !(MIN_NOW_MS..=MAX_NOW_MS).contains(&now) {
            return Err(format!(
                "the clock must stay between {MIN_NOW_MS} and {MAX_NOW_MS} (Unix ms)"
            ));
        }
        self.offset_ms.store(offset_ms, Ordering::Relaxed);
        Ok(())
    }
}
