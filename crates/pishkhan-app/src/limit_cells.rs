//! How the limiters write what they keep about a key into the store's cells
//! ([`pishkhan_store::Limits`]): a few `i64`s, little-endian, and the instant the cell stops
//! restraining. The store shares the cells between every process on the database, so the
//! limits hold for a deployment, not per node; what each number means stays in its limiter.
//!
//! Times are the app clock's milliseconds (the wall clock in production, the same on every
//! node up to their clocks' skew).

use pishkhan_store::LimitCell;

/// The numbers a cell holds, or `None` for an absent cell or one not written by this
/// encoding (it then counts as absent: a limiter never fails on its own bookkeeping).
pub(crate) fn words<const N: usize>(cell: Option<&LimitCell>) -> Option<[i64; N]> {
    let state = &cell?.state;
    if state.len() < N * 8 {
        return None;
    }
    let mut out = [0i64; N];
    for (i, w) in out.iter_mut().enumerate() {
        *w = i64::from_le_bytes(state[i * 8..i * 8 + 8].try_into().ok()?);
    }
    Some(out)
}

/// A cell holding `words` (and `tail` after them) until `spent_at_ms`.
pub(crate) fn cell(words: &[i64], tail: &[u8], spent_at_ms: i64) -> LimitCell {
    let mut state = Vec::with_capacity(words.len() * 8 + tail.len());
    for w in words {
        state.extend_from_slice(&w.to_le_bytes());
    }
    state.extend_from_slice(tail);
    LimitCell { state, spent_at_ms }
}

/// Whole seconds until a wait of `wait_ms` is over, at least one (a `Retry-After` of 0
/// would invite an immediate retry that is refused again).
pub(crate) fn retry_after_s(wait_ms: i64) -> u64 {
    (wait_ms.max(0) as u64).div_ceil(1000).max(1)
}

/// A rate with a burst: `burst` at once, then one more every `every_ms`, kept as one
/// instant per key (the generic cell rate algorithm's theoretical arrival time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many at once; 0 allows nothing.
    pub burst: u32,
    /// One more this often; 0 limits nothing.
    pub every_ms: u64,
}

impl Rate {
    /// `per_min` an minute, all of them at once if they come together.
    pub fn per_minute(per_min: u32) -> Self {
        Self {
            burst: per_min,
            every_ms: 60_000 / u64::from(per_min.max(1)),
        }
    }

    pub(crate) fn every_ms(self) -> i64 {
        i64::try_from(self.every_ms).unwrap_or(i64::MAX / 4)
    }

    /// The key's next theoretical arrival time if one more is let through at `now_ms`, or
    /// how many milliseconds until one may be.
    pub(crate) fn admit(self, tat_ms: Option<i64>, now_ms: i64) -> Result<i64, i64> {
        let every = self.every_ms();
        if self.burst == 0 {
            return Err(every.max(1000));
        }
        let next = tat_ms
            .filter(|t| *t > now_ms)
            .unwrap_or(now_ms)
            .saturating_add(every);
        let ahead = next - now_ms;
        let allowance = every.saturating_mul(i64::from(self.burst));
        if ahead > allowance {
            Err(ahead - allowance)
        } else {
            Ok(next)
        }
    }
}
