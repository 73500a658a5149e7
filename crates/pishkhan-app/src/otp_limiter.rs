//! Limits on texting sign-in codes: per mobile, per client address and overall.
//!
//! The database limits codes per national code (every process sees that one), but a
//! national code is cheap to make up: alone it let one phone be flooded under many national
//! codes, and one address ask for texts to any number of phones. These three limits close
//! that. Each is a rate with a burst ([`Rate`]), and a request is counted by all three or by
//! none, in one step over the three cells. Only codes that are sent count: a refused request
//! leaves no trace, so the cells grow only as fast as the overall limit lets codes out.
//!
//! The cells are the store's ([`pishkhan_store::Limits`]): every node of a deployment counts
//! against the same ones, so n nodes let out what one would.

use pishkhan_store::LimitCell;

use crate::limit_cells::{cell, retry_after_s, words};
use crate::{App, AppError};

pub use crate::limit_cells::Rate;

/// The three limits on sending sign-in codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpLimits {
    /// Codes texted to one mobile, whatever national codes ask (a family may share one).
    pub per_mobile: Rate,
    /// Codes one client address asks for, whatever the mobiles. Loose, because a carrier's
    /// NAT puts many people behind one address.
    pub per_address: Rate,
    /// Codes the whole deployment texts: the bound on what a flood from many addresses costs.
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

/// What a sent code counted against, to hand back if it was not sent after all.
pub(crate) struct Counted {
    mobile: String,
    address: String,
}

fn keys(mobile: &str, address: &str) -> [String; 3] {
    [
        format!("otp:mobile:{mobile}"),
        format!("otp:address:{address}"),
        "otp:all".to_string(),
    ]
}

fn tat(c: Option<&LimitCell>) -> Option<i64> {
    words::<1>(c).map(|[t]| t)
}

/// Counts one code to `mobile` asked for from `address` against all three limits, or
/// refuses with the limit that binds (the per-mobile one first: it is the one a person can
/// act on) and how long until it lets one through.
pub(crate) async fn count(state: &App, mobile: &str, address: &str) -> Result<Counted, AppError> {
    let l = state.config().otp_limits;
    let now = state.now_ms();
    let [k_mobile, k_address, k_all] = keys(mobile, address);
    let mut refusal: Option<AppError> = None;
    state
        .store()
        .limit_step(&[&k_mobile, &k_address, &k_all], now, &mut |cells| {
            let refused = |code: &'static str, what: &str, wait_ms: i64| {
                let retry_after_s = retry_after_s(wait_ms);
                AppError::TooManyRequests {
                    code,
                    message: format!("{what}; try again in {retry_after_s} s"),
                    retry_after_s,
                }
            };
            let decided = (|| {
                let m = l
                    .per_mobile
                    .admit(tat(cells[0].as_ref()), now)
                    .map_err(|w| {
                        refused(
                            "too_many_codes_for_mobile",
                            "too many sign-in codes were sent to this mobile",
                            w,
                        )
                    })?;
                let a = l
                    .per_address
                    .admit(tat(cells[1].as_ref()), now)
                    .map_err(|w| {
                        refused(
                            "too_many_codes_from_address",
                            "too many sign-in codes were asked for from this address",
                            w,
                        )
                    })?;
                let o = l.overall.admit(tat(cells[2].as_ref()), now).map_err(|w| {
                    refused(
                        "too_many_codes",
                        "too many sign-in codes are being asked for",
                        w,
                    )
                })?;
                Ok([m, a, o])
            })();
            match decided {
                Ok(next) => {
                    for (c, t) in cells.iter_mut().zip(next) {
                        *c = Some(cell(&[t], &[], t));
                    }
                }
                Err(e) => refusal = Some(e),
            }
        })
        .await?;
    match refusal {
        Some(e) => Err(e),
        None => Ok(Counted {
            mobile: mobile.to_owned(),
            address: address.to_owned(),
        }),
    }
}

/// Takes back a count whose code was not sent (the database refused it, or failed).
pub(crate) async fn uncount(state: &App, counted: Counted) -> Result<(), AppError> {
    let l = state.config().otp_limits;
    let now = state.now_ms();
    let [k_mobile, k_address, k_all] = keys(&counted.mobile, &counted.address);
    let every = [l.per_mobile, l.per_address, l.overall].map(Rate::every_ms);
    state
        .store()
        .limit_step(&[&k_mobile, &k_address, &k_all], now, &mut |cells| {
            for (c, every) in cells.iter_mut().zip(every) {
                if let Some(t) = tat(c.as_ref()) {
                    let back = t.saturating_sub(every);
                    *c = (back > now).then(|| cell(&[back], &[], back));
                }
            }
        })
        .await?;
    Ok(())
}
