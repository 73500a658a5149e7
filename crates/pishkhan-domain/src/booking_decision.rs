//! The booking decision, written once for both stores: may this citizen take a seat in this
//! slot (or move their booking there), given the rules, the slot's load and what the citizen
//! already holds? Pure: the stores read the facts (from memory on SQLite, inside the
//! transaction on PostgreSQL), call these functions, and persist what they decided.
//!
//! The window (tomorrow to 14 days ahead) is decided by [`BookingRules::check_window`] from the
//! Jalali calendar day, before the store is asked; these functions decide everything the store
//! decides.

use std::fmt;

use crate::NationalCode;
use crate::model::{OfficeCode, ServiceCode};
use crate::schedule::{BookingRules, BookingStatus};

/// One day in milliseconds; the visit window is counted in these.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What a booking request asks for: who, what, where and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingAsk<'a> {
    pub office: OfficeCode,
    pub service: &'a ServiceCode,
    pub slot_start_ms: i64,
    pub national_code: &'a NationalCode,
}

/// One of the citizen's bookings, as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding<'a> {
    pub service: &'a ServiceCode,
    pub slot_start_ms: i64,
    pub status: BookingStatus,
}

/// Seats taken in the slot, and how many it holds for the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLoad {
    pub booked: u32,
    pub capacity: u32,
}

/// An accepted booking request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingDecision {
    /// Take a new seat.
    Book,
    /// The idempotency key already made a booking: return that one and take no seat.
    /// `same_request` is false when the key was used for a different request
    /// (`idempotency_key_reused` to the client).
    Replay { same_request: bool },
}

/// Why a booking or a reschedule is refused. `Display` is the message the client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingRefusal {
    /// The citizen already holds `per_service` active bookings for the service.
    PerServiceLimit { per_service: u16 },
    /// The citizen already has `max` visits within `days` days of the slot.
    VisitLimit { max: u16, days: u16 },
    /// The slot holds as many people as its capacity allows.
    SlotFull,
    /// Only a booked appointment can be changed; `status` is `None` when the booking no longer
    /// counts (the store does not hold it as booked, checked in or completed).
    NotBooked {
        change: Change,
        status: Option<BookingStatus>,
    },
    /// A reschedule to the slot the booking is already in.
    SameSlot,
}

/// A change to an existing booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Cancel,
    Reschedule,
}

impl BookingRefusal {
    /// Whether the refusal is one of the citizen's limits (rather than capacity or state).
    pub fn is_limit(self) -> bool {
        matches!(
            self,
            BookingRefusal::PerServiceLimit { .. } | BookingRefusal::VisitLimit { .. }
        )
    }
}

impl fmt::Display for BookingRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookingRefusal::PerServiceLimit { per_service } => {
                write!(f, "at most {per_service} active booking(s) per service")
            }
            BookingRefusal::VisitLimit { max, days } => {
                write!(f, "at most {max} visits in any {days} days")
            }
            BookingRefusal::SlotFull => f.write_str("the slot is full"),
            BookingRefusal::NotBooked { change, status } => {
                let verb = match change {
                    Change::Cancel => "cancelled",
                    Change::Reschedule => "rescheduled",
                };
                write!(f, "only a booked appointment can be {verb}")?;
                match status {
                    Some(s) => write!(f, "; this one is {}", s.code()),
                    None => Ok(()),
                }
            }
            BookingRefusal::SameSlot => f.write_str("the booking is already in that slot"),
        }
    }
}

impl std::error::Error for BookingRefusal {}

impl BookingStatus {
    /// Whether a booking in this status counts as a visit (booked, checked in or completed);
    /// cancelled bookings and no-shows do not.
    pub fn counts_as_visit(self) -> bool {
        matches!(
            self,
            BookingStatus::Booked | BookingStatus::CheckedIn | BookingStatus::Completed
        )
    }
}

impl BookingRules {
    /// The visit window in milliseconds: a holding within this distance of a slot, either
    /// way (exclusive), is a visit near it.
    pub fn visit_window_ms(&self) -> i64 {
        i64::from(self.visit_window_days) * DAY_MS
    }

    /// The earliest slot start a holding can have and still matter to a booking of the slot
    /// at `slot_start_ms`, other than through the per-service rule (which counts every
    /// active booking). Stores use it to bound what they read.
    pub fn visits_matter_after_ms(&self, slot_start_ms: i64) -> i64 {
        slot_start_ms - self.visit_window_ms()
    }
}

/// Decides a booking request.
///
/// - `prior`: what the request's idempotency key booked before, if it did. A replay wins over
///   every rule, since it takes no seat.
/// - `holdings`: the citizen's bookings (any status; those that don't count are ignored).
/// - `load`: the slot's seats taken and its capacity for the service.
///
/// The rules in order: one active booking per service (`per_service`), at most
/// `max_visits_in_window` visits within `visit_window_days` of the slot, then capacity.
pub fn decide_booking(
    rules: &BookingRules,
    ask: &BookingAsk<'_>,
    prior: Option<&BookingAsk<'_>>,
    holdings: &[Holding<'_>],
    load: SlotLoad,
) -> Result<BookingDecision, BookingRefusal> {
    if let Some(prior) = prior {
        return Ok(BookingDecision::Replay {
            same_request: prior == ask,
        });
    }
    let same_service = holdings
        .iter()
        .filter(|h| h.status == BookingStatus::Booked && h.service == ask.service)
        .count();
    if same_service >= usize::from(rules.per_service) {
        return Err(BookingRefusal::PerServiceLimit {
            per_service: rules.per_service,
        });
    }
    check_visits(rules, ask.slot_start_ms, holdings)?;
    check_capacity(load)?;
    Ok(BookingDecision::Book)
}

/// Decides moving a booking to the slot at `to_slot_start_ms`.
///
/// - `current`: the booking's status and slot start, `None` when the store does not hold it
///   as counting;
/// - `others`: the citizen's other bookings (without the one that moves);
/// - `load`: the new slot's seats taken and capacity.
///
/// The per-service rule does not apply (the booking keeps its service).
pub fn decide_reschedule(
    rules: &BookingRules,
    current: Option<(BookingStatus, i64)>,
    to_slot_start_ms: i64,
    others: &[Holding<'_>],
    load: SlotLoad,
) -> Result<(), BookingRefusal> {
    let from_ms = match current {
        Some((BookingStatus::Booked, from_ms)) => from_ms,
        other => {
            return Err(BookingRefusal::NotBooked {
                change: Change::Reschedule,
                status: other.map(|(s, _)| s),
            });
        }
    };
    if from_ms == to_slot_start_ms {
        return Err(BookingRefusal::SameSlot);
    }
    check_visits(rules, to_slot_start_ms, others)?;
    check_capacity(load)
}

/// Decides cancelling a booking in `status` (`None` when the store does not hold it as
/// counting): only a booked appointment can be cancelled.
pub fn decide_cancel(status: Option<BookingStatus>) -> Result<(), BookingRefusal> {
    match status {
        Some(BookingStatus::Booked) => Ok(()),
        status => Err(BookingRefusal::NotBooked {
            change: Change::Cancel,
            status,
        }),
    }
}

fn check_visits(
    rules: &BookingRules,
    slot_start_ms: i64,
    holdings: &[Holding<'_>],
) -> Result<(), BookingRefusal> {
    let window_ms = rules.visit_window_ms();
    let visits = holdings
        .iter()
        .filter(|h| h.status.counts_as_visit())
        .filter(|h| (h.slot_start_ms - slot_start_ms).abs() < window_ms)
        .count();
    if visits >= usize::from(rules.max_visits_in_window) {
        return Err(BookingRefusal::VisitLimit {
            max: rules.max_visits_in_window,
            days: rules.visit_window_days,
        });
    }
    Ok(())
}

fn check_capacity(load: SlotLoad) -> Result<(), BookingRefusal> {
    if load.booked >= load.capacity {
        return Err(BookingRefusal::SlotFull);
    }
    Ok(())
}
