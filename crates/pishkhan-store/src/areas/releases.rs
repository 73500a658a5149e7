//! Surge releases: the release, citizens' requests, the stored lottery result, the winners'
//! seats and the waitlist's offers (see the `pishkhan-release` crate for the lottery).

use async_trait::async_trait;
use pishkhan_domain::NationalCode;
use pishkhan_domain::access::Permit;

use crate::{AuditContext, Result};

/// The held turn of [`Releases::release_close_turn`]; dropping it lets the next one run.
pub struct ReleaseCloseTurn {
    pub(crate) _held: Option<crate::dialect::SessionLock>,
}

pub use pishkhan_domain::release::{
    CitizenRelease, NewRelease, NewReleaseRequest, NewWinner, PlannedSlot, Release,
    ReleaseAllocation, ReleaseOffer, ReleaseOffice, ReleaseOutcome, ReleaseRequest, ReleaseResult,
    ReleaseStatus, Seat, SeatSettlement,
};

// ---- row mapping -------------------------------------------------------------------------

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Releases: Send + Sync + 'static {
    /// Waits for, then holds until the returned turn drops, the turn to run release
    /// `release_id`'s close sequence, across every process on the database: two nodes seating
    /// the same winners at once could deadlock each other's booking transactions. The
    /// embedded store has one process, whose own lock (in the app) suffices: there the turn
    /// holds nothing.
    async fn release_close_turn(&self, release_id: &str) -> Result<ReleaseCloseTurn>;

    /// Opens a release (regulator). `Conflict` when the id is taken.
    async fn create_release(
        &self,
        permit: &Permit,
        release: &NewRelease,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// A release with its seed, which is secret until allocated: publish it only through
    /// [`Release::published_seed`].
    async fn release(&self, id: &str) -> Result<Release>;

    /// Releases whose seats are planned but not yet allocated (at most 1,000, oldest first).
    async fn unallocated_releases(&self) -> Result<Vec<Release>>;

    /// Stores a citizen's request, replacing their earlier one; `Ok(true)` when it replaced
    /// one. `WrongState` outside the window or once sealed, `LimitReached` past
    /// `max_submissions`. The window is checked inside the transaction.
    async fn submit_release_request(
        &self,
        permit: &Permit,
        release_id: &str,
        request: &NewReleaseRequest,
        ctx: &AuditContext,
    ) -> Result<bool>;

    /// Every stored request (each citizen's last), in arrival order.
    async fn release_requests(&self, release_id: &str) -> Result<Vec<ReleaseRequest>>;

    /// Seals an open release whose window has passed; `Ok(false)` when sealed already,
    /// `WrongState` while the window is open.
    async fn seal_release(
        &self,
        permit: &Permit,
        release_id: &str,
        ctx: &AuditContext,
    ) -> Result<bool>;

    /// Stores a sealed release's result and its waitlist notices, and marks it allocated, all
    /// in one transaction; `Ok(false)` when a result was stored already.
    async fn record_release_result(
        &self,
        permit: &Permit,
        release_id: &str,
        result: &ReleaseResult,
        ctx: &AuditContext,
    ) -> Result<bool>;

    /// The stored outcomes: winners in lottery order, then the waitlist in order.
    async fn release_allocations(&self, release_id: &str) -> Result<Vec<ReleaseAllocation>>;

    /// Records winners' bookings (or why a booking rule refused one), each once, with their
    /// notices; returns the waitlist offers the refused seats caused.
    async fn settle_release_seats(
        &self,
        permit: &Permit,
        release_id: &str,
        settlements: &[SeatSettlement],
        ctx: &AuditContext,
    ) -> Result<u64>;

    /// Offers the seats of cancelled winner bookings not handed on yet to the waitlist;
    /// returns the offers made.
    async fn offer_freed_release_seats(
        &self,
        permit: &Permit,
        release_id: &str,
        ctx: &AuditContext,
    ) -> Result<u64>;

    /// A citizen's release requests with their outcomes, latest window first (at most 100).
    async fn citizen_releases(&self, national_code: &NationalCode) -> Result<Vec<CitizenRelease>>;
}
