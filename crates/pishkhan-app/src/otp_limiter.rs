//! Limits on texting sign-in codes, in memory: per mobile, per client address and overall.
//!
//! The database limits codes per national code (every process sees that one), but a
//! national code is cheap to make up: alone it let one phone be flooded under many national
//! codes, and one address ask for texts to any number of phones. These three limits close
//! that. Each is a rate with a burst (`burst` codes at once, then one more every `every_ms`),
//! kept as one instant per key (the generic cell rate algorithm), and a request is counted
//! by all three or by none. Only codes that are sent count: a refused request leaves no
//! trace, so the tables grow only as fast as the overall limit lets codes out, and they are
//! bounded besides ([`crate::limit_table`]).
//!
//! They hold per process, like the sign-in limiter: a deployment of n processes lets n times
//! as many codes out, which the numbers allow for.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::AppError;
use crate::limit_table::{LimitTable, Restraint};

/// Most mobiles, and most client addresses, tracked at once (about 10 MB each at most).
const MAX_TRACKED_KEYS: usize = 100_000;

/// `burst` at once, then one more every `every_ms`. A burst of 0 allows nothing; an
/// interval of 0 limits nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub burst: u32,
    pub every_ms: u64,
}

impl Rate {
    fn every(self) -> Duration {
        Duration::from_millis(self.every_ms)
    }

    /// The key's next theoretical arrival time if one more is let through at `now`, or how
    /// long until one may be.
    fn admit(self, tat: Option<Instant>, now: Instant) -> Result<Instant, Duration> {
        if self.burst == 0 {
            return Err(self.every().max(Duration::from_secs(1)));
        }
        let next = tat.filter(|t| *t > now).unwrap_or(now) + self.every();
        let ahead = next - now;
        let allowance = self.every().saturating_mul(self.burst);
        if ahead > allowance {
            Err(ahead - allowance)
        } else {
            Ok(next)
        }
    }
}

/// The three limits on sending sign-in codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpLimits {
    /// Codes texted to one mobile, whatever national codes ask (a family may share one).
    pub per_mobile: Rate,
    /// Codes one client address asks for, whatever the mobiles. Loose, because a carrier's
    /// NAT puts many people behind one address.
    pub per_address: Rate,
    /// Codes this process texts in all: the bound on what a flood from many addresses costs.
    pub overall: Rate,
}

impl Default for OtpLimits {
    fn default() -> Self {
        Self {
            // 5 at once, then 5 an hour.
            per_mobile: Rate {
                burst: 5,
                every_ms: 12 * 60 * 1000,
            },
            // 20 at once, then 2 a minute.
            per_address: Rate {
                burst: 20,
                every_ms: 30 * 1000,
            },
            // 300 at once, then 50 a second.
            overall: Rate {
                burst: 300,
                every_ms: 20,
            },
        }
    }
}

/// One key's theoretical arrival time: it restrains until then.
struct Tat(Instant);

impl Restraint for Tat {
    fn spent_at(&self) -> Instant {
        self.0
    }
}

struct Tables {
    mobiles: LimitTable<Tat>,
    addresses: LimitTable<Tat>,
    overall: Option<Instant>,
}

pub(crate) struct OtpLimiter {
    limits: OtpLimits,
    tables: Mutex<Tables>,
}

/// What a sent code counted against, to hand back if it was not sent after all.
pub(crate) struct Counted {
    mobile: String,
    address: String,
}

impl OtpLimiter {
    pub(crate) fn new(limits: OtpLimits) -> Self {
        Self {
            limits,
            tables: Mutex::new(Tables {
                mobiles: LimitTable::new(MAX_TRACKED_KEYS),
                addresses: LimitTable::new(MAX_TRACKED_KEYS),
                overall: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one code to `mobile` asked for from `address` against all three limits, or
    /// refuses with the limit that binds (the per-mobile one first: it is the one a person
    /// can act on) and how long until it lets one through.
    pub(crate) fn count(&self, mobile: &str, address: &str) -> Result<Counted, AppError> {
        let now = Instant::now();
        let l = self.limits;
        let mut t = self.lock();
        let refused = |code: &'static str, what: &str, wait: Duration| {
            let retry_after_s = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            AppError::TooManyRequests {
                code,
                message: format!("{what}; try again in {} s", retry_after_s.max(1)),
                retry_after_s: retry_after_s.max(1),
            }
        };
        let mobile_next = l
            .per_mobile
            .admit(t.mobiles.get(mobile).map(|e| e.0), now)
            .map_err(|w| {
                refused(
                    "too_many_codes_for_mobile",
                    "too many sign-in codes were sent to this mobile",
                    w,
                )
            })?;
        let address_next = l
            .per_address
            .admit(t.addresses.get(address).map(|e| e.0), now)
            .map_err(|w| {
                refused(
                    "too_many_codes_from_address",
                    "too many sign-in codes were asked for from this address",
                    w,
                )
            })?;
        let overall_next = l.overall.admit(t.overall, now).map_err(|w| {
            refused(
                "too_many_codes",
                "too many sign-in codes are being asked for",
                w,
            )
        })?;
        t.mobiles.entry(mobile, now, || Tat(now)).0 = mobile_next;
        t.addresses.entry(address, now, || Tat(now)).0 = address_next;
        t.overall = Some(overall_next);
        Ok(Counted {
            mobile: mobile.to_owned(),
            address: address.to_owned(),
        })
    }

    /// Takes back a count whose code was not sent (the database refused it, or failed).
    pub(crate) fn uncount(&self, counted: Counted) {
        let l = self.limits;
        let mut t = self.lock();
        let back = |tat: &mut Instant, every: Duration| {
            if let Some(earlier) = tat.checked_sub(every) {
                *tat = earlier;
            }
        };
        if let Some(e) = t.mobiles.get_mut(&counted.mobile) {
            back(&mut e.0, l.per_mobile.every());
        }
        if let Some(e) = t.addresses.get_mut(&counted.address) {
            back(&mut e.0, l.per_address.every());
        }
        if let Some(tat) = t.overall.as_mut() {
            back(tat, l.overall.every());
        }
    }
}
