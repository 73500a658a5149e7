//! Statistics: read-only tallies of what the other areas recorded (bookings, the queue's day
//! figures, the exchange log), over a bounded window. Nothing here writes.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::ServiceCode;

use crate::Result;

/// The longest window a tally reads: a year and a day, so a Jalali leap year fits.
pub const MAX_STATS_DAYS: i64 = 366;
/// The most office-day figure rows one read returns; past it the read says it was cut.
pub const MAX_FIGURE_ROWS: u64 = 200_000;
/// The most exchange log entries one read returns, newest first.
pub const MAX_LOG_ENTRIES: u64 = 200_000;

/// A window of Tehran days as Unix milliseconds, `[from_ms, to_ms)`, and an optional province.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsWindow {
    pub from_ms: i64,
    pub to_ms: i64,
    pub province: Option<u8>,
}

/// One Tehran day's bookings by slot time (the day as days since 1970-01-01 in Tehran).
#[derive(Debug, Clone, PartialEq)]
pub struct DayBookings {
    pub tehran_day: i64,
    /// Bookings not cancelled.
    pub booked: u64,
    pub completed: u64,
    pub no_shows: u64,
}

/// One office's stored queue figures for one day, undecoded (the queue's JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct FigureRow {
    pub office: u32,
    pub province: u8,
    pub day: JalaliDate,
    pub figures_json: String,
}

/// Rows of a capped read, and whether the cap cut it.
#[derive(Debug, Clone, PartialEq)]
pub struct Capped<T> {
    pub rows: Vec<T>,
    pub truncated: bool,
}

#[async_trait]
pub trait Stats {
    /// Bookings not cancelled per service, made (not held) in the window: how often people
    /// ask for each service lately, whenever their slot is.
    async fn bookings_by_service(&self, window: &StatsWindow) -> Result<Vec<(ServiceCode, u64)>>;

    /// Bookings per Tehran day whose slot starts in the window, oldest first.
    async fn bookings_by_day(&self, window: &StatsWindow) -> Result<Vec<DayBookings>>;

    /// The queue's stored figures of the days `from..=to`, at most [`MAX_FIGURE_ROWS`].
    async fn figures_between(
        &self,
        from: JalaliDate,
        to: JalaliDate,
        province: Option<u8>,
    ) -> Result<Capped<FigureRow>>;

    /// The canonical bytes of the exchange log entries in the window (province ignored),
    /// newest first, at most [`MAX_LOG_ENTRIES`].
    async fn exchange_entries_between(&self, window: &StatsWindow) -> Result<Capped<Vec<u8>>>;
}
