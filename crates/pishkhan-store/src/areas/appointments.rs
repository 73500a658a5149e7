//! Appointments: each office's settings, holidays and closures, slot loads and bookings
//! (make, cancel, reschedule, list) and the day-before reminders.

use async_trait::async_trait;
use pishkhan_domain::access::Permit;
use pishkhan_domain::model::{LocalizedText, OfficeCode, WeeklyHours};
use pishkhan_domain::schedule::{SlotPolicy, TrackingCode};
use pishkhan_domain::{JalaliDate, NationalCode};

use crate::{AuditContext, Result};

pub use pishkhan_domain::booking::{Booked, Booking, NewBooking, NewSlot};

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Appointments: Send + Sync + 'static {
    /// The office's appointment settings, if the manager set any.
    async fn slot_policy(&self, office: OfficeCode) -> Result<Option<SlotPolicy>>;

    async fn set_slot_policy(
        &self,
        permit: &Permit,
        office: OfficeCode,
        policy: &SlotPolicy,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Holidays entered by the regulator between `from` and `to`, inclusive.
    async fn holidays(
        &self,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, LocalizedText)>>;

    async fn set_holiday(
        &self,
        permit: &Permit,
        day: JalaliDate,
        name: &LocalizedText,
        ctx: &AuditContext,
    ) -> Result<()>;

    async fn closures(
        &self,
        office: OfficeCode,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, LocalizedText)>>;

    async fn set_closure(
        &self,
        permit: &Permit,
        office: OfficeCode,
        day: JalaliDate,
        reason: &LocalizedText,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Booked seats per slot start of `office` in `[from_ms, to_ms)`.
    async fn slot_loads(
        &self,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>>;

    /// Books a seat. Refuses with `SlotFull` when the slot is at capacity and `LimitReached`
    /// when the citizen already holds what the rules allow; either way nothing is written.
    async fn create_booking(
        &self,
        permit: &Permit,
        booking: &NewBooking,
        ctx: &AuditContext,
    ) -> Result<Booked>;

    async fn booking(&self, code: &TrackingCode) -> Result<Booking>;

    /// Bookings of `office` with slots in `[from_ms, to_ms)`, every status, by slot then number.
    async fn office_bookings(
        &self,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Booking>>;

    /// Enqueues the day-before reminder of every booked appointment with a slot in
    /// `[from_ms, to_ms)`, once per booking and slot; returns how many were new.
    ///
    /// **No permit:** system work (the sweeper); it only adds outbox messages, one per booking and
    /// slot.
    async fn enqueue_reminders(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<u64>;

    /// Moves bookings whose slots lie past the embedded engine's memory horizon at `now_ms`
    /// (at most `limit`) out of its memory and into SQLite's citizen and office indexes;
    /// returns how many. PostgreSQL archives nothing.
    ///
    /// **No permit:** system work (the sweeper); no booking's status, slot or record changes.
    async fn archive_bookings(&self, now_ms: i64, limit: u32) -> Result<u64>;

    /// A citizen's bookings, latest slot first (at most 100).
    async fn citizen_bookings(&self, national_code: &NationalCode) -> Result<Vec<Booking>>;

    /// Cancels a booked appointment and frees its seat.
    async fn cancel_booking(
        &self,
        permit: &Permit,
        code: &TrackingCode,
        ctx: &AuditContext,
    ) -> Result<Booking>;

    /// Moves a booked appointment to another slot of the same office, atomically: the new seat
    /// is taken before the old one is released, or nothing changes (`SlotFull`).
    async fn reschedule_booking(
        &self,
        permit: &Permit,
        code: &TrackingCode,
        to: &NewSlot,
        ctx: &AuditContext,
    ) -> Result<Booking>;

    /// Sets the office's weekly opening hours (`ConfigureSchedule` of that office), audited;
    /// `NotFound` for an unknown office.
    async fn set_office_hours(
        &self,
        permit: &Permit,
        office: OfficeCode,
        hours: &WeeklyHours,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Opens again a day the office had closed (`ConfigureSchedule` of that office), audited;
    /// `NotFound` when that day was not closed.
    async fn remove_closure(
        &self,
        permit: &Permit,
        office: OfficeCode,
        day: JalaliDate,
        ctx: &AuditContext,
    ) -> Result<()>;
}
