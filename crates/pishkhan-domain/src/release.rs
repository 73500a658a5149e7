//! Surge releases as the system keeps them: the release, citizens' requests, the stored
//! lottery result, the winners' seats and the waitlist's offers (the lottery itself is the
//! `pishkhan-release` crate). The stores persist these.

use crate::booking::Booking;
use crate::model::{OfficeCode, ServiceCode};
use crate::schedule::TrackingCode;
use crate::{Mobile, NationalCode};

/// Where a release's slots are: one office, how many slots it gives, and at which slot times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseOffice {
    pub office: OfficeCode,
    /// The sum of `times[..].seats`.
    pub slots: u32,
    /// In time order.
    pub times: Vec<PlannedSlot>,
}

/// Seats of a release in one slot of one office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedSlot {
    pub start_ms: i64,
    pub end_ms: i64,
    pub seats: u32,
}

/// A release to open. `seed_hex` stays secret until the result is stored.
#[derive(Clone)]
pub struct NewRelease {
    pub id: String,
    pub service: ServiceCode,
    pub province: u8,
    pub offices: Vec<ReleaseOffice>,
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
    /// 64 lowercase hex digits.
    pub seed_hex: String,
    /// SHA-256 of the seed bytes, lowercase hex: published at the opening.
    pub seed_commitment: String,
}

impl std::fmt::Debug for NewRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRelease")
            .field("id", &self.id)
            .field("service", &self.service)
            .field("province", &self.province)
            .field("offices", &self.offices.len())
            .field("seed_hex", &"<redacted>")
            .field("seed_commitment", &self.seed_commitment)
            .finish()
    }
}

/// Where a release stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseStatus {
    /// Taking requests while inside its window.
    Open,
    /// Sealed: no request is taken any more; the result is not stored yet.
    Closed,
    /// The result is stored and the seed published.
    Allocated,
}

impl ReleaseStatus {
    pub fn code(self) -> &'static str {
        match self {
            ReleaseStatus::Open => "open",
            ReleaseStatus::Closed => "closed",
            ReleaseStatus::Allocated => "allocated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ReleaseStatus::Open,
            ReleaseStatus::Closed,
            ReleaseStatus::Allocated,
        ]
        .into_iter()
        .find(|v| v.code() == s)
    }
}

/// A release as stored. `seed_hex` is secret while the release is not allocated: publish it
/// only through [`Release::published_seed`].
#[derive(Clone, PartialEq)]
pub struct Release {
    pub id: String,
    pub service: ServiceCode,
    pub province: u8,
    pub offices: Vec<ReleaseOffice>,
    pub total_slots: u64,
    pub opens_at_ms: i64,
    pub closes_at_ms: i64,
    pub seed_commitment: String,
    pub seed_hex: String,
    pub status: ReleaseStatus,
    pub inputs_digest: Option<String>,
    pub allocation_digest: Option<String>,
    pub winners: Option<u64>,
    pub waitlisted: Option<u64>,
    pub created_by: String,
    pub created_at_ms: i64,
    pub closed_at_ms: Option<i64>,
    pub allocated_at_ms: Option<i64>,
}

impl Release {
    /// The seed, once the result is stored; `None` before.
    pub fn published_seed(&self) -> Option<&str> {
        (self.status == ReleaseStatus::Allocated).then_some(self.seed_hex.as_str())
    }

    /// Whether a request made at `now_ms` is inside the window of an open release.
    pub fn takes_requests_at(&self, now_ms: i64) -> bool {
        self.status == ReleaseStatus::Open
            && self.opens_at_ms <= now_ms
            && now_ms < self.closes_at_ms
    }
}

impl std::fmt::Debug for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Release")
            .field("id", &self.id)
            .field("service", &self.service)
            .field("status", &self.status)
            .field("total_slots", &self.total_slots)
            .field("seed_commitment", &self.seed_commitment)
            .field("seed_hex", &self.published_seed().unwrap_or("<secret>"))
            .finish_non_exhaustive()
    }
}

/// A citizen's request to take part in a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReleaseRequest {
    pub national_code: NationalCode,
    pub mobile: Mobile,
    /// Already checked against the release by the caller (1..=5 distinct offices of it).
    pub preferences: Vec<OfficeCode>,
    /// Resubmissions one citizen may make; beyond it the request is refused (`LimitReached`).
    pub max_submissions: u32,
}

/// A citizen's request as stored: their last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseRequest {
    pub release_id: String,
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub preferences: Vec<OfficeCode>,
    /// Arrival number of the last submission; ascending is arrival order.
    pub seq: i64,
    pub at_ms: i64,
    pub submissions: u32,
}

/// The result of a release's lottery, to be stored at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseResult {
    pub inputs_digest: String,
    pub allocation_digest: String,
    /// In lottery order, each with the slot their seat is planned in.
    pub winners: Vec<NewWinner>,
    /// In waitlist order.
    pub waitlist: Vec<(NationalCode, Mobile)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWinner {
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub office: OfficeCode,
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Won,
    Waitlisted,
}

impl ReleaseOutcome {
    pub fn code(self) -> &'static str {
        match self {
            ReleaseOutcome::Won => "won",
            ReleaseOutcome::Waitlisted => "waitlisted",
        }
    }
}

/// A winner's seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    /// The booking is not made yet.
    Pending,
    Booked,
    /// A booking rule (such as one active booking per service) refused the booking; the seat
    /// went to the waitlist.
    Unseated,
}

impl Seat {
    pub fn code(self) -> &'static str {
        match self {
            Seat::Pending => "pending",
            Seat::Booked => "booked",
            Seat::Unseated => "unseated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Seat::Pending, Seat::Booked, Seat::Unseated]
            .into_iter()
            .find(|v| v.code() == s)
    }
}

/// A seat given back by a winner, offered to a waitlisted citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseOffer {
    pub office: OfficeCode,
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
    pub offered_at_ms: i64,
}

/// One citizen's stored outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseAllocation {
    pub release_id: String,
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub outcome: ReleaseOutcome,
    /// 1-based: the place among winners in lottery order, or on the waitlist.
    pub place: u64,
    /// Winners: the office won, and the slot of the seat (the booked one once booked).
    pub office: Option<OfficeCode>,
    pub slot_start_ms: Option<i64>,
    pub slot_end_ms: Option<i64>,
    pub seat: Option<Seat>,
    pub tracking_code: Option<TrackingCode>,
    pub unseated_reason: Option<String>,
    pub freed_at_ms: Option<i64>,
    /// Waitlisted: the seat offered to them, if any.
    pub offer: Option<ReleaseOffer>,
}

/// What became of a winner's booking.
#[derive(Debug, Clone, PartialEq)]
pub enum SeatSettlement {
    Booked(Booking),
    Unseated {
        national_code: NationalCode,
        reason: String,
    },
}

/// A citizen's request to a release, with the release and their outcome once stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CitizenRelease {
    pub release: Release,
    pub request: ReleaseRequest,
    pub allocation: Option<ReleaseAllocation>,
}
