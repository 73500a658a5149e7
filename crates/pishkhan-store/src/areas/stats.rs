//! Statistics: read-only tallies of what the other areas recorded (bookings, the queue's day
//! figures, the exchange log), over a bounded window, most of them from the rollups that
//! those areas' writes keep (`office_day_stats`, `province_day_stats`, `agency_day_stats`).
//! Nothing here writes, except rebuilding the rollups from the raw rows.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{OfficeCode, ServiceCode};

use crate::Result;
use pishkhan_domain::access::Permit;

/// The longest window a tally reads: a year and a day, so a Jalali leap year fits.
pub const MAX_STATS_DAYS: i64 = 366;
/// A window of Tehran days as Unix milliseconds, `[from_ms, to_ms)`, and an optional province.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsWindow {
    pub from_ms: i64,
    pub to_ms: i64,
    pub province: Option<u8>,
}

/// One day's counts of an office or a province, from the rollups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStats {
    /// The office code or the province id.
    pub id: u32,
    pub day: JalaliDate,
    /// Bookings for the day, not cancelled (the queue's count).
    pub bookings: u64,
    /// Visits the queue saw: booked arrivals (on time or late) and walk-ins.
    pub visits: u64,
    pub booked_visits: u64,
    pub walk_ins: u64,
    pub no_shows: u64,
    /// Tickets served to completion.
    pub completed: u64,
    /// Mean waits weighted by visits, summed; divide by `waited`.
    pub wait_sum_s: u64,
    pub waited: u64,
    /// Inquiries and identity checks run through the exchange.
    pub lookups: u64,
    /// Payments verified that day, and their total.
    pub payments: u64,
    pub paid_rials: u64,
    /// Citizens' reports filed about the office that day.
    pub reports: u64,
    /// Survey answers, and the sum of their ratings (1 to 5).
    pub ratings: u64,
    pub rating_sum: u64,
}

/// Which rows of the rollups a read sums: days `from..=to`, in one province or office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupFilter {
    pub from: JalaliDate,
    pub to: JalaliDate,
    pub province: Option<u8>,
    pub office: Option<OfficeCode>,
}

#[async_trait]
pub trait Stats {
    /// The rollups' days in the filter, summed over the network (or its province or
    /// office), oldest first; days without a row are left out.
    async fn rollup_days(&self, filter: &RollupFilter) -> Result<Vec<DayStats>>;

    /// The rollups summed per province over the filter's days (`id` is the province and
    /// `day` the filter's first day), in province order.
    async fn rollup_provinces(&self, filter: &RollupFilter) -> Result<Vec<DayStats>>;

    /// Exchange lookups per answering agency over the filter's days (the office ignored),
    /// most first.
    async fn rollup_agencies(&self, filter: &RollupFilter) -> Result<Vec<(String, u64)>>;

    /// Citizens' reports filed per category over the filter's days.
    async fn reports_by_category(&self, filter: &RollupFilter) -> Result<Vec<(String, u64)>>;

    /// Sanctions per day and kind over the filter's days (the office ignored).
    async fn sanctions_by_day(
        &self,
        filter: &RollupFilter,
    ) -> Result<Vec<(JalaliDate, String, u64)>>;

    /// The catalogue's services per digitization stage as each change left them, for the
    /// days `..=to`: the last change before `from` (the stage counts the period starts
    /// with) and every change after, oldest first.
    async fn catalogue_days(
        &self,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, String, u64)>>;

    /// Empties the rollups and counts every raw row again (the CLI's repair, and the
    /// check that what the writes kept equals what the raw rows say).
    async fn rebuild_rollups(&self) -> Result<()>;

    /// Loads days of generated or legacy history (office rows with `id` the office code,
    /// and lookups per day, province and agency) in one transaction and adds them to the
    /// rollups. `UnknownReference` for an office not in the registry; an office's day loaded
    /// twice fails and loads nothing.
    async fn load_history(
        &self,
        permit: &Permit,
        days: &[DayStats],
        agencies: &[(JalaliDate, u8, String, u64)],
    ) -> Result<()>;

    /// Bookings not cancelled per service, made (not held) in the window: how often people
    /// ask for each service lately, whenever their slot is.
    async fn bookings_by_service(&self, window: &StatsWindow) -> Result<Vec<(ServiceCode, u64)>>;
}
