//! Per-agency protection: a retry budget and a circuit breaker.
//!
//! Both take the time as an argument (milliseconds on any monotonic clock), so they are pure
//! and testable; [`crate::Exchange`] keeps one of each per agency.

/// Length of the window the retry budget counts requests over, in milliseconds.
pub const RETRY_BUDGET_WINDOW_MS: u64 = 10_000;
/// Retries allowed per window whatever the traffic, so that a quiet agency's rare failures
/// still get a retry.
pub const RETRY_BUDGET_FLOOR: u32 = 3;

const BUCKET_MS: u64 = 1_000;
const BUCKETS: usize = (RETRY_BUDGET_WINDOW_MS / BUCKET_MS) as usize;

/// Caps retries at `ratio × requests + RETRY_BUDGET_FLOOR` over the last
/// [`RETRY_BUDGET_WINDOW_MS`], so that retries can never multiply the load on an agency that is
/// already struggling (at ratio 0.1, at most ~10% extra load once the floor is used).
///
/// Counted in one-second buckets: O(1) memory and time.
#[derive(Debug, Clone, Default)]
pub struct RetryBudget {
    /// `(bucket number, first attempts, retries)`.
    buckets: [(u64, u64, u64); BUCKETS],
}

impl RetryBudget {
    pub fn new() -> RetryBudget {
        RetryBudget::default()
    }

    fn bucket(&mut self, now_ms: u64) -> &mut (u64, u64, u64) {
        let number = now_ms / BUCKET_MS + 1; // 0 marks an unused bucket
        let slot = &mut self.buckets[(number % BUCKETS as u64) as usize];
        if slot.0 != number {
            *slot = (number, 0, 0);
        }
        slot
    }

    fn totals(&self, now_ms: u64) -> (u64, u64) {
        let number = now_ms / BUCKET_MS + 1;
        let oldest = number.saturating_sub(BUCKETS as u64 - 1);
        self.buckets
            .iter()
            .filter(|(n, _, _)| *n >= oldest && *n <= number)
            .fold((0, 0), |(r, t), (_, req, ret)| (r + req, t + ret))
    }

    /// Records a first attempt.
    pub fn record_request(&mut self, now_ms: u64) {
        self.bucket(now_ms).1 += 1;
    }

    /// Whether one more retry fits the budget at `ratio`; if so it is recorded.
    pub fn try_retry(&mut self, ratio: f64, now_ms: u64) -> bool {
        let (requests, retries) = self.totals(now_ms);
        let allowed = ratio.clamp(0.0, 1.0) * requests as f64 + f64::from(RETRY_BUDGET_FLOOR);
        if (retries + 1) as f64 > allowed {
            return false;
        }
        self.bucket(now_ms).2 += 1;
        true
    }
}

/// What a circuit breaker currently does with calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// The cool-down is over: the next call is a trial (only one at a time).
    HalfOpen,
}

/// How a call was let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Normal,
    /// The one trial call after a cool-down; its result closes or reopens the circuit.
    Trial,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inner {
    Closed { failures: u32 },
    Open { until_ms: u64 },
    HalfOpen { trial_in_flight: bool },
}

/// Opens after `failures` consecutive failed calls, refuses calls for `cooldown_ms`, then lets
/// one trial through: success closes it, failure opens it for another cool-down.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    inner: Inner,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker {
            inner: Inner::Closed { failures: 0 },
        }
    }
}

impl CircuitBreaker {
    pub fn new() -> CircuitBreaker {
        CircuitBreaker::default()
    }

    pub fn state(&self, now_ms: u64) -> CircuitState {
        match self.inner {
            Inner::Closed { .. } => CircuitState::Closed,
            Inner::Open { until_ms } if now_ms < until_ms => CircuitState::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Lets a call through, or refuses it (`None`) while open or while a trial is running.
    pub fn try_acquire(&mut self, now_ms: u64) -> Option<Admission> {
        match self.inner {
            Inner::Closed { .. } => Some(Admission::Normal),
            Inner::Open { until_ms } if now_ms < until_ms => None,
            Inner::Open { .. }
            | Inner::HalfOpen {
                trial_in_flight: false,
            } => {
                self.inner = Inner::HalfOpen {
                    trial_in_flight: true,
                };
                Some(Admission::Trial)
            }
            Inner::HalfOpen {
                trial_in_flight: true,
            } => None,
        }
    }

    /// A call succeeded: the circuit closes.
    pub fn on_success(&mut self) {
        self.inner = Inner::Closed { failures: 0 };
    }

    /// A call failed. `failures` and `cooldown_ms` are the directory's limits at the time.
    pub fn on_failure(&mut self, failures: u32, cooldown_ms: u64, now_ms: u64) {
        let open = Inner::Open {
            until_ms: now_ms.saturating_add(cooldown_ms),
        };
        self.inner = match self.inner {
            Inner::Closed { failures: n } if n + 1 >= failures.max(1) => {
                tracing::warn!(failures = n + 1, cooldown_ms, "circuit opened");
                open
            }
            Inner::Closed { failures: n } => Inner::Closed { failures: n + 1 },
            Inner::HalfOpen { .. } => open,
            // A late failure of a call started before the circuit opened changes nothing.
            state @ Inner::Open { .. } => state,
        };
    }

    /// A call was abandoned (its caller went away) without a result. A trial is given up so
    /// that the next call can be the trial; other calls change nothing.
    pub fn on_abandoned(&mut self, admission: Admission) {
        if admission == Admission::Trial
            && self.inner
                == (Inner::HalfOpen {
                    trial_in_flight: true,
                })
        {
            self.inner = Inner::HalfOpen {
                trial_in_flight: false,
            };
        }
    }
}
