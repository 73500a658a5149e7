//! Bookings as the system keeps them: a stored booking, a booking to make, where a moved
//! booking goes, and the outcome of a request. The stores persist these; the booking decision
//! (`booking_decision.rs`) decides them.

use crate::model::{OfficeCode, ServiceCode};
use crate::schedule::{BookingRules, BookingStatus, TrackingCode};
use crate::{Mobile, NationalCode};

/// A booking as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub tracking_code: TrackingCode,
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub status: BookingStatus,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub created_by: String,
}

/// A booking to make. The store computes what the slot holds for this service from its own
/// data (the office's policy and counters, the service's handling minutes) and refuses to go
/// past it; the caller can't say. The store assigns the booking's number and tracking code.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub rules: BookingRules,
    /// Scoped by the caller (for example `staff:operator:KEY`).
    pub idempotency_key: Option<String>,
}

/// Where a rescheduled booking goes. The store computes the new slot's capacity for the
/// booking's service, as for a new booking.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSlot {
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
    pub rules: BookingRules,
}

/// The outcome of a booking request: a new booking, or the one an idempotent retry made.
#[derive(Debug, Clone, PartialEq)]
pub enum Booked {
    New(Booking),
    Replayed(Booking),
}
