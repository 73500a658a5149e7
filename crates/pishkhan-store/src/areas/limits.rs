//! The abuse limits' state: a few bytes per key (a mobile, a client address, a username at an
//! address, an operator, an office), which `pishkhan-app`'s limiters encode and decide on.
//!
//! The store keeps the cells and makes each step atomic for every process that shares the
//! database, so a deployment of several nodes counts once, not once per node. What a cell
//! means, and every rule about it, stays in the limiter that owns its key.

use async_trait::async_trait;

use crate::Result;

/// Longest key a limiter may use (keys name a mobile, an address, an operator).
pub const MAX_LIMIT_KEY_BYTES: usize = 200;
/// Largest state one cell may hold (the biggest, an operator's distinct subjects in an
/// hour, is 8 bytes per subject).
pub const MAX_LIMIT_STATE_BYTES: usize = 16 * 1024;
/// Most keys one step may change together.
pub const MAX_LIMIT_KEYS_PER_STEP: usize = 4;

/// What a limiter keeps about one key until `spent_at_ms`: from then on the cell restrains
/// nothing and reads as absent, so the store may forget it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitCell {
    pub state: Vec<u8>,
    pub spent_at_ms: i64,
}

/// A limiter's decision over its keys' cells, in the order of the keys it named; it leaves in
/// each slot what to keep (`None` forgets the key). It runs while the cells are held, so it
/// must not wait on anything.
pub type LimitStep<'a> = &'a mut (dyn FnMut(&mut [Option<LimitCell>]) + Send);

/// Limit cells, shared by every process on the database. Not audited and taking no permit:
/// they are the limiters' own bookkeeping, changed by the request being limited, not by a
/// person's decision.
#[async_trait]
pub trait Limits {
    /// Runs `step` on the live cells of `keys` (a cell spent by `now_ms` reads as `None`) and
    /// keeps what it leaves, as one atomic step: no other step on any of these keys, from
    /// this process or another, runs in between. Keys must be distinct, at most
    /// [`MAX_LIMIT_KEYS_PER_STEP`] of them.
    async fn limit_step(&self, keys: &[&str], now_ms: i64, step: LimitStep<'_>) -> Result<()>;

    /// The live cells of `keys` as they are now, without holding them.
    async fn limit_cells(&self, keys: &[&str], now_ms: i64) -> Result<Vec<Option<LimitCell>>>;
}
