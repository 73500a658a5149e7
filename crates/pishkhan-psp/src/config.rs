//! The PSP's settings, checked once at start.

use std::path::PathBuf;

use pishkhan_protocol::psp::Fault;

use crate::error::PspError;

/// Most merchants one PSP serves.
const MAX_MERCHANTS: usize = 100;
/// Longest merchant id.
const MAX_MERCHANT_ID_LEN: usize = 64;
/// Longest verify window: a week. Shaparak's is minutes; a longer one only delays reversals.
const MAX_VERIFY_WINDOW_MS: u64 = 7 * 24 * 3600 * 1000;
/// Most transactions the state may ever hold (memory and the journal grow with it).
const MAX_MAX_TRANSACTIONS: usize = 10_000_000;
/// Longest a `timeout` fault may hold a request.
const MAX_FAULT_HANG_MS: u64 = 600_000;

/// How callbacks are delivered. Bounded in every direction: attempts, each attempt's time,
/// the backoff, and how long the payer's redirect waits for the first attempt.
#[derive(Debug, Clone)]
pub struct CallbackPolicy {
    /// Attempts per callback (1..=10); a 2xx answer ends them.
    pub attempts: u32,
    /// Time allowed to one attempt.
    pub attempt_timeout_ms: u64,
    /// Wait before the second attempt; it doubles after each failure.
    pub first_backoff_ms: u64,
    /// How long the payer's 303 waits for the first attempt, so that a merchant usually sees
    /// the callback before the payer's browser comes back, but a slow merchant cannot hold the
    /// payer.
    pub wait_ms: u64,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            attempt_timeout_ms: 5_000,
            first_backoff_ms: 250,
            wait_ms: 2_000,
        }
    }
}

/// Everything the PSP is started with.
#[derive(Clone)]
pub struct PspConfig {
    /// The merchants that may ask for tokens (`--merchant`, default `pishkhan`).
    pub merchants: Vec<String>,
    /// How long after payment a transaction may be verified before the PSP reverses it.
    pub verify_window_ms: u64,
    /// Most transactions held; past it new tokens are refused with `capacity`.
    pub max_transactions: usize,
    /// Bearer secret of `/control/*`; without it those routes do not exist.
    pub control_token: Option<String>,
    /// A fault for every order from the start (`--fault`).
    pub fault: Option<Fault>,
    /// Where `psp.jsonl` lives; without it the state is in memory only.
    pub data_dir: Option<PathBuf>,
    /// How long the `timeout` fault holds a request.
    pub fault_hang_ms: u64,
    pub callback: CallbackPolicy,
}

impl Default for PspConfig {
    fn default() -> Self {
        Self {
            merchants: vec!["pishkhan".to_string()],
            verify_window_ms: 1_800_000,
            max_transactions: 1_000_000,
            control_token: None,
            fault: None,
            data_dir: None,
            fault_hang_ms: 30_000,
            callback: CallbackPolicy::default(),
        }
    }
}

/// The control token never reaches a log.
impl std::fmt::Debug for PspConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PspConfig")
            .field("merchants", &self.merchants)
            .field("verify_window_ms", &self.verify_window_ms)
            .field("max_transactions", &self.max_transactions)
            .field(
                "control_token",
                &self.control_token.as_ref().map(|_| "[redacted]"),
            )
            .field("fault", &self.fault)
            .field("data_dir", &self.data_dir)
            .field("fault_hang_ms", &self.fault_hang_ms)
            .field("callback", &self.callback)
            .finish()
    }
}

/// Merchant ids are short and plain, so they can go into pages, logs and CSV unescaped.
pub(crate) fn is_merchant_id(s: &str) -> bool {
    (1..=MAX_MERCHANT_ID_LEN).contains(&s.len())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        })
}

impl PspConfig {
    pub(crate) fn check(&self) -> Result<(), PspError> {
        let bad = |m: String| Err(PspError::Config(m));
        if self.merchants.is_empty() || self.merchants.len() > MAX_MERCHANTS {
            return bad(format!(
                "between 1 and {MAX_MERCHANTS} merchants are needed"
            ));
        }
        if let Some(m) = self.merchants.iter().find(|m| !is_merchant_id(m)) {
            return bad(format!(
                "merchant id {m:?} must be 1..={MAX_MERCHANT_ID_LEN} of a-z 0-9 . _ -"
            ));
        }
        if !(1..=MAX_VERIFY_WINDOW_MS).contains(&self.verify_window_ms) {
            return bad(format!(
                "the verify window must be 1..={MAX_VERIFY_WINDOW_MS} ms"
            ));
        }
        if !(1..=MAX_MAX_TRANSACTIONS).contains(&self.max_transactions) {
            return bad(format!(
                "the transaction limit must be 1..={MAX_MAX_TRANSACTIONS}"
            ));
        }
        if let Some(t) = &self.control_token {
            let printable = t.bytes().all(|b| b.is_ascii_graphic());
            if !(16..=256).contains(&t.len()) || !printable {
                return bad("the control token must be 16..=256 printable characters".into());
            }
        }
        if self.fault_hang_ms > MAX_FAULT_HANG_MS {
            return bad(format!(
                "the fault hang may not exceed {MAX_FAULT_HANG_MS} ms"
            ));
        }
        let c = &self.callback;
        let ok = (1..=10).contains(&c.attempts)
            && (1..=60_000).contains(&c.attempt_timeout_ms)
            && c.first_backoff_ms <= 60_000
            && c.wait_ms <= 60_000;
        if !ok {
            return bad(
                "callback: 1..=10 attempts, 1..=60000 ms each, backoff and wait up to 60000 ms"
                    .into(),
            );
        }
        Ok(())
    }
}
