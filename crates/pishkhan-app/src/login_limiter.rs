//! Failed sign-ins slow down what failed: a username at one client address, and one client
//! address across usernames.
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
//! The counts are the store's cells ([`pishkhan_store::Limits`]), shared by every node: a
//! guesser spreading attempts over the nodes behind a load balancer meets one count.

use pishkhan_domain::model::Username;
use pishkhan_store::LimitCell;

use crate::limit_cells::{cell, retry_after_s, words};
use crate::{App, AppError};

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
    fn forget_every_ms(self) -> i64 {
        i64::try_from(self.forget_one_every_s.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
    }

    /// The wait in milliseconds after a failure that brought the count to `count`.
    fn wait_ms(self, count: u32) -> i64 {
        let Some(past) = count.checked_sub(self.free_failures).filter(|p| *p > 0) else {
            return 0;
        };
        let doubling = 1u64.checked_shl(past - 1).unwrap_or(u64::MAX);
        let wait = self
            .first_wait_ms
            .saturating_mul(doubling)
            .min(self.max_wait_s.saturating_mul(1000));
        i64::try_from(wait).unwrap_or(i64::MAX / 4)
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

/// One key's failures, as instants (ms): its count has drained to nothing at `drained_at`
/// (`forget_one_every` per failure still counted), and it may try again at `wait_until`.
#[derive(Clone, Copy)]
struct Failures {
    drained_at: i64,
    wait_until: i64,
}

impl Failures {
    fn read(c: Option<&LimitCell>) -> Option<Self> {
        words::<2>(c).map(|[drained_at, wait_until]| Self {
            drained_at,
            wait_until,
        })
    }

    fn cell(self) -> LimitCell {
        cell(
            &[self.drained_at, self.wait_until],
            &[],
            self.drained_at.max(self.wait_until),
        )
    }

    fn count(self, now: i64, forget_every_ms: i64) -> u32 {
        let left = (self.drained_at - now).max(0);
        match forget_every_ms {
            0 => 0,
            every => u32::try_from((left as u64).div_ceil(every as u64)).unwrap_or(u32::MAX),
        }
    }
}

fn address_key(address: &str) -> String {
    format!("login:address:{address}")
}

fn account_key(username: &Username, address: &str) -> String {
    format!("login:account:{address}|{username}")
}

/// Refuses while `address`, or `username` at `address`, is waiting after failures, with
/// the longer of the two waits.
pub(crate) async fn check(
    state: &App,
    username: Option<&Username>,
    address: &str,
) -> Result<(), AppError> {
    let now = state.now_ms();
    let k_address = address_key(address);
    let k_account = username.map(|u| account_key(u, address));
    let mut keys = vec![k_address.as_str()];
    keys.extend(k_account.as_deref());
    let cells = state.store().limit_cells(&keys, now).await?;
    let waiting = |c: Option<&LimitCell>| {
        Failures::read(c)
            .map(|f| f.wait_until - now)
            .filter(|w| *w > 0)
    };
    let by_address = waiting(cells[0].as_ref());
    let by_account = cells.get(1).and_then(|c| waiting(c.as_ref()));
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
    let retry_after_s = retry_after_s(wait);
    Err(AppError::TooManyRequests {
        code,
        message: format!("{what}; try again in {retry_after_s} s"),
        retry_after_s,
    })
}

/// Counts a failed sign-in (for a username that may not parse, or exist) from `address`.
pub(crate) async fn failed(
    state: &App,
    username: Option<&Username>,
    address: &str,
) -> Result<(), AppError> {
    let limits = state.config().sign_in_limits;
    let now = state.now_ms();
    let k_address = address_key(address);
    let k_account = username.map(|u| account_key(u, address));
    let mut keys = vec![k_address.as_str()];
    keys.extend(k_account.as_deref());
    state
        .store()
        .limit_step(&keys, now, &mut |cells| {
            let backoffs = [limits.per_address, limits.per_account];
            for (c, b) in cells.iter_mut().zip(backoffs) {
                let mut f = Failures::read(c.as_ref()).unwrap_or(Failures {
                    drained_at: now,
                    wait_until: now,
                });
                f.drained_at = f.drained_at.max(now).saturating_add(b.forget_every_ms());
                let wait = b.wait_ms(f.count(now, b.forget_every_ms()));
                if wait > 0 {
                    f.wait_until = f.wait_until.max(now.saturating_add(wait));
                }
                *c = Some(f.cell());
            }
        })
        .await?;
    Ok(())
}

/// A right password for `username` at `address`: its count there starts over.
pub(crate) async fn succeeded(
    state: &App,
    username: &Username,
    address: &str,
) -> Result<(), AppError> {
    let key = account_key(username, address);
    state
        .store()
        .limit_step(&[&key], state.now_ms(), &mut |cells| cells[0] = None)
        .await?;
    Ok(())
}
