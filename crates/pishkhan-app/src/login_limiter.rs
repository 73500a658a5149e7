//! Failed sign-ins slow down what failed, in memory: a username at one client address, and
//! one client address across usernames.
//!
//! Neither locks anything. Each failure adds one to a count that drains by one every
//! `forget_one_every_s`; past `free_failures`, each further failure makes that key wait
//! before its next attempt, `first_wait_ms` and then twice as long each time, up to
//! `max_wait_s`. A wait binds only its own key: a wrong password from one address never
//! stops the member signing in from another, and the per-address count catches spraying one
//! guess each at many usernames. A successful sign-in clears its username's count at that
//! address, not the address's, so signing in to one's own account does not buy more guesses
//! at others.
//!
//! It is per process on purpose: it slows guessing against one node without a shared store
//! on the sign-in path. Its tables are bounded ([`crate::limit_table`]).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use pishkhan_domain::model::Username;

use crate::AppError;
use crate::limit_table::{LimitTable, Restraint};

/// Most keys tracked at once in each table (a few MB).
const MAX_TRACKED_KEYS: usize = 50_000;

/// How one kind of key backs off after failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Failures that cost nothing.
    pub free_failures: u32,
    /// The count forgets one failure this often (0: it keeps none, and nothing waits).
    pub forget_one_every_s: u64,
    /// The wait after the first failure past the free ones; each further one doubles it.
    pub first_wait_ms: u64,
    /// The longest wait.
    pub max_wait_s: u64,
}

impl Backoff {
    fn forget_every(self) -> Duration {
        Duration::from_secs(self.forget_one_every_s)
    }

    /// The wait after a failure that brought the count to `count`.
    fn wait(self, count: u32) -> Duration {
        let Some(past) = count.checked_sub(self.free_failures).filter(|p| *p > 0) else {
            return Duration::ZERO;
        };
        let doubling = 1u32.checked_shl(past - 1).unwrap_or(u32::MAX);
        Duration::from_millis(self.first_wait_ms)
            .saturating_mul(doubling)
            .min(Duration::from_secs(self.max_wait_s))
    }
}

/// The limits on failed sign-ins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// One username at one client address: someone guessing one member's password.
    pub per_account: Backoff,
    /// One client address, whatever the usernames: someone spraying guesses.
    pub per_address: Backoff,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            // 5 free, then 2 s, 4 s, … up to 5 min; one forgotten every 5 min.
            per_account: Backoff {
                free_failures: 5,
                forget_one_every_s: 300,
                first_wait_ms: 2_000,
                max_wait_s: 300,
            },
            // 20 free, then 2 s, 4 s, … up to 15 min; one forgotten a minute.
            per_address: Backoff {
                free_failures: 20,
                forget_one_every_s: 60,
                first_wait_ms: 2_000,
                max_wait_s: 900,
            },
        }
    }
}

/// One key's failures, as instants: its count has drained to nothing at `drained_at`
/// (`forget_one_every` per failure still counted), and it may try again at `wait_until`.
struct Failures {
    drained_at: Instant,
    wait_until: Instant,
}

impl Failures {
    fn count(&self, now: Instant, forget_every: Duration) -> u32 {
        let left = self.drained_at.saturating_duration_since(now).as_nanos();
        match forget_every.as_nanos() {
            0 => 0,
            every => u32::try_from(left.div_ceil(every)).unwrap_or(u32::MAX),
        }
    }
}

impl Restraint for Failures {
    fn spent_at(&self) -> Instant {
        self.drained_at.max(self.wait_until)
    }
}

struct Tables {
    accounts: LimitTable<Failures>,
    addresses: LimitTable<Failures>,
}

pub(crate) struct LoginLimiter {
    limits: SignInLimits,
    tables: Mutex<Tables>,
}

fn account_key(username: &Username, address: &str) -> String {
    format!("{address}|{username}")
}

impl LoginLimiter {
    pub(crate) fn new(limits: SignInLimits) -> Self {
        Self {
            limits,
            tables: Mutex::new(Tables {
                accounts: LimitTable::new(MAX_TRACKED_KEYS),
                addresses: LimitTable::new(MAX_TRACKED_KEYS),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses while `address`, or `username` at `address`, is waiting after failures, with
    /// the longer of the two waits.
    pub(crate) fn check(&self, username: Option<&Username>, address: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let t = self.lock();
        let waiting = |f: Option<&Failures>| {
            f.map(|f| f.wait_until.saturating_duration_since(now))
                .filter(|w| !w.is_zero())
        };
        let by_address = waiting(t.addresses.get(address));
        let by_account = username.and_then(|u| waiting(t.accounts.get(&account_key(u, address))));
        let (code, what, wait) = match (by_address, by_account) {
            (Some(a), b) if b.is_none_or(|b| a >= b) => (
                "too_many_failed_sign_ins_from_address",
                "too many failed sign-ins from this address",
                a,
            ),
            (_, Some(b)) => (
                "too_many_failed_sign_ins",
                "too many failed sign-ins for this username from this address",
                b,
            ),
            _ => return Ok(()),
        };
        let retry_after_s = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        Err(AppError::TooManyRequests {
            code,
            message: format!("{what}; try again in {retry_after_s} s"),
            retry_after_s,
        })
    }

    /// Counts a failed sign-in (for a username that may not parse, or exist) from `address`.
    pub(crate) fn failed(&self, username: Option<&Username>, address: &str) {
        let now = Instant::now();
        let mut t = self.lock();
        let count = |table: &mut LimitTable<Failures>, key: &str, b: Backoff| {
            let f = table.entry(key, now, || Failures {
                drained_at: now,
                wait_until: now,
            });
            f.drained_at = f.drained_at.max(now) + b.forget_every();
            let wait = b.wait(f.count(now, b.forget_every()));
            if !wait.is_zero() {
                f.wait_until = f.wait_until.max(now + wait);
            }
        };
        count(&mut t.addresses, address, self.limits.per_address);
        if let Some(u) = username {
            count(
                &mut t.accounts,
                &account_key(u, address),
                self.limits.per_account,
            );
        }
    }

    /// A right password for `username` at `address`: its count there starts over.
    pub(crate) fn succeeded(&self, username: &Username, address: &str) {
        self.lock().accounts.remove(&account_key(username, address));
    }
}
