//! Office queues: each office's append-only day log with what an append changes beside it
//! (booking statuses, notices, surveys, the day's figures), the counters' services, and the
//! satisfaction surveys completed visits offer.

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Permit;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::{BookingStatus, TrackingCode};

use crate::{AuditContext, Notice, Page, PageRequest, Result};

/// Events for the log of `office` on `day`, numbered from `first_seq`, with what they change
/// beside the log.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueAppend {
    pub office: OfficeCode,
    pub day: JalaliDate,
    pub first_seq: u64,
    /// Each event as JSON.
    pub events: Vec<String>,
    pub effects: QueueEffects,
}

/// Most appends one [`Queue::append_queue_batch`] takes.
pub const MAX_QUEUE_BATCH: usize = 256;

/// One append of a group commit, with the permit and audit context it was made under.
#[derive(Debug, Clone)]
pub struct QueueWrite {
    pub permit: Permit,
    pub append: QueueAppend,
    pub ctx: AuditContext,
}

/// What a queue append changes beside its log, in the same transaction: the statuses of the
/// bookings it touched, the notifications it causes, and the office's figures for the day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueEffects {
    /// Only `checked_in`, `completed` and `no_show`: cancelling goes through the booking path.
    pub statuses: Vec<(TrackingCode, BookingStatus)>,
    pub notices: Vec<Notice>,
    /// Surveys offered by completed visits (their links are in `notices`).
    pub surveys: Vec<NewSurvey>,
    /// The day's figures after the append, as the compliance read model stores them.
    pub figures: Option<serde_json::Value>,
}

/// A satisfaction survey offered after a completed booked visit.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSurvey {
    pub tracking_code: TrackingCode,
    /// Hash of the random token in the survey link ([`token_hash`]).
    pub token_hash: String,
    pub office: OfficeCode,
    pub service: ServiceCode,
}

/// A survey as the citizen's link finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    pub tracking_code: TrackingCode,
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub created_at_ms: i64,
    pub rating: Option<u8>,
    pub comment: Option<String>,
}

/// One office's figures for one day, as last written by its queue.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeDayFigures {
    pub office: OfficeCode,
    pub day: JalaliDate,
    pub figures: serde_json::Value,
    pub updated_at_ms: i64,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// The queue log of `office` on `day`, in order.
    async fn queue_events(&self, office: OfficeCode, day: JalaliDate) -> Result<Vec<String>>;

    /// The events of that log numbered `from_seq` and on, in order: what a process that holds
    /// the queue as of `from_seq` events still has to apply.
    async fn queue_events_from(
        &self,
        office: OfficeCode,
        day: JalaliDate,
        from_seq: u64,
    ) -> Result<Vec<String>>;

    /// Appends events numbered from `first_seq`; `Conflict` when someone appended first (the
    /// caller rebuilds and tries again).
    async fn append_queue_events(
        &self,
        permit: &Permit,
        append: &QueueAppend,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Several appends (of any offices) in one transaction: group commit, so that appends
    /// waiting together share one flush to disk. Each is all or nothing on its own, exactly as
    /// [`Queue::append_queue_events`] would make it, and its own result says how it went
    /// (`Conflict` for one whose queue moved on, which the caller rebuilds and tries again).
    /// The outer error means nothing in the batch was written. At most [`MAX_QUEUE_BATCH`].
    ///
    /// **No permit argument:** every write carries its own permit, checked as the one-append
    /// method checks it, and writes its own audit row.
    async fn append_queue_batch(&self, batch: &[QueueWrite]) -> Result<Vec<Result<()>>>;

    /// The stored figures of `office` on `day`, if its queue ran that day.
    async fn office_day_figures(
        &self,
        office: OfficeCode,
        day: JalaliDate,
    ) -> Result<Option<OfficeDayFigures>>;

    /// Every office's figures on `day`, by office code.
    async fn day_figures(
        &self,
        day: JalaliDate,
        page: PageRequest,
    ) -> Result<Page<OfficeDayFigures>>;

    /// Offices with booked appointments that ended before `before_ms` (and started after
    /// `since_ms`), each with its earliest such slot start; at most `limit`.
    async fn overdue_booking_offices(
        &self,
        since_ms: i64,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<(OfficeCode, i64)>>;

    /// The services each counter of `office` handles: (counter, `None` = every service).
    /// Empty when the office has not said (every counter handles every service).
    async fn office_counters(
        &self,
        office: OfficeCode,
    ) -> Result<Vec<(u16, Option<Vec<ServiceCode>>)>>;

    /// Replaces the counter settings of `office`.
    async fn set_office_counters(
        &self,
        permit: &Permit,
        office: OfficeCode,
        counters: &[(u16, Option<Vec<ServiceCode>>)],
        ctx: &AuditContext,
    ) -> Result<()>;

    /// The survey a link's token opens; `NotFound` for an unknown token.
    async fn survey(&self, token_hash: &str) -> Result<Survey>;

    /// Records the answer once and writes `survey.answer` to the audit log (the rating, and
    /// whether there was a comment) in the same transaction; `WrongState`, with nothing
    /// written, when it was already answered.
    ///
    /// **No permit:** the survey link's token is the capability.
    async fn record_survey_answer(
        &self,
        token_hash: &str,
        rating: u8,
        comment: Option<&str>,
        ctx: &AuditContext,
    ) -> Result<Survey>;
}
