//! Storage for Pishkhan.
//!
//! Everything above this crate talks to [`Store`], a narrow async interface. Two backends sit
//! behind it: the embedded SQLite store (the default, one owning process) and PostgreSQL (a
//! national deployment shared by many app processes). [`open`] picks one by URL scheme.
//!
//! **Invariant:** every mutating method takes a [`Permit`] from `pishkhan_domain::access` and
//! writes its audit entry in the same transaction as the change, so a change without an audit
//! row cannot be committed.

mod bookings;
mod citizens;
mod database_url;
mod engine;
mod error;
mod exchange_log;
mod identity;
mod migrate;
mod outbox;
mod postgres;
mod queue;
mod releases;
mod sql;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Permit, StaffActor};
use pishkhan_domain::model::{
    Agency, AgencyCode, Category, Channel, Digitization, LocalizedText, Office, OfficeCode,
    OfficeStatus, Province, Role, Service, ServiceCode, Staff, Username,
};
use pishkhan_domain::schedule::{BookingRules, BookingStatus, SlotPolicy, TrackingCode};
use pishkhan_domain::{Mobile, NationalCode};

pub use citizens::{MAX_OTP_ATTEMPTS, OtpRequest};
pub use database_url::DatabaseUrl;
pub use error::StoreError;
pub use exchange_log::MAX_LOG_READ_ROWS;
pub use identity::{
    MAX_IDENTITY_OTP_ATTEMPTS, MAX_VERIFICATION_BATCH, NewVerification, OperatorFailures,
    VerificationRecord, VerificationWrite,
};
pub use releases::{
    CitizenRelease, NewRelease, NewReleaseRequest, NewWinner, PlannedSlot, Release,
    ReleaseAllocation, ReleaseOffer, ReleaseOffice, ReleaseOutcome, ReleaseRequest, ReleaseResult,
    ReleaseStatus, Seat, SeatSettlement,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Largest page any listing returns; larger requests are refused, not truncated.
pub const MAX_PER_PAGE: u32 = 100;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Who did something, when and from where: written beside every change.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub now_ms: i64,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// An event that is not itself a guarded change (sign-in, sign-out, failed sign-in).
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: String,
    pub actor_staff_id: Option<i64>,
    pub action: &'static str,
    pub target: String,
    pub detail: serde_json::Value,
}

/// One row of the audit log as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub id: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub detail: serde_json::Value,
}

/// A validated page request: `page >= 1`, `1 <= per_page <= MAX_PER_PAGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl PageRequest {
    pub fn new(page: u32, per_page: u32) -> Result<Self, pishkhan_domain::model::FieldError> {
        use pishkhan_domain::model::FieldError;
        if page == 0 || page > 1_000_000 {
            return Err(FieldError::new(
                "page",
                "invalid_page",
                "page must be 1..=1000000",
            ));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(FieldError::new(
                "per_page",
                "invalid_page_size",
                format!("per_page must be 1..={MAX_PER_PAGE}"),
            ));
        }
        Ok(Self { page, per_page })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn per_page(self) -> u32 {
        self.per_page
    }

    pub(crate) fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 20,
        }
    }
}

/// One page of a listing and the total number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[derive(Debug, Clone, Default)]
pub struct OfficeFilter {
    /// Free text over name, city, address and code, matched after Persian normalization.
    pub q: Option<String>,
    pub province: Option<u8>,
    pub status: Option<OfficeStatus>,
}

#[derive(Debug, Clone, Default)]
pub struct ServiceFilter {
    /// Free text over code and titles, matched after Persian normalization.
    pub q: Option<String>,
    pub agency: Option<AgencyCode>,
    pub digitization: Option<Digitization>,
    pub category: Option<Category>,
    pub channel: Option<Channel>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
}

/// State of a staff account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffStatus {
    /// Created, waiting for the person to set a password through an invitation.
    Invited,
    Active,
    Disabled,
}

impl StaffStatus {
    pub fn code(self) -> &'static str {
        match self {
            StaffStatus::Invited => "invited",
            StaffStatus::Active => "active",
            StaffStatus::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            StaffStatus::Invited,
            StaffStatus::Active,
            StaffStatus::Disabled,
        ]
        .into_iter()
        .find(|v| v.code() == s)
    }
}

/// A member of staff as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StaffRecord {
    pub id: i64,
    pub staff: Staff,
    pub status: StaffStatus,
    pub created_at_ms: i64,
}

/// What sign-in needs to know about a username.
#[derive(Clone)]
pub struct Credentials {
    pub staff_id: i64,
    pub status: StaffStatus,
    /// PHC-format argon2id hash; `None` until the invitation is accepted.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("staff_id", &self.staff_id)
            .field("status", &self.status)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A new session. Only the SHA-256 of the bearer token is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub staff_id: i64,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub ip: Option<String>,
}

/// A live session with the actor it belongs to.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub actor: StaffActor,
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

/// A one-time invitation. Only the SHA-256 of the token in the link is stored.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub token_hash: String,
    pub expires_at_ms: i64,
}

/// What the invitation page shows before the password is set.
#[derive(Debug, Clone, PartialEq)]
pub struct InvitationInfo {
    pub staff_id: i64,
    pub username: Username,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    pub office: Option<OfficeCode>,
    pub expires_at_ms: i64,
}

/// Figures for the dashboard.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegistryCounts {
    pub offices: u64,
    pub offices_by_status: Vec<(OfficeStatus, u64)>,
    pub services: u64,
    pub services_by_digitization: Vec<(Digitization, u64)>,
    pub agencies: u64,
    pub staff: u64,
    pub staff_active: u64,
}

/// Everything the demo loader writes in one transaction.
#[derive(Debug, Clone)]
pub struct NationLoad<'a> {
    pub seed: u64,
    pub provinces: &'a [Province],
    pub agencies: &'a [Agency],
    pub services: &'a [Service],
    pub offices: &'a [Office],
    pub staff: &'a [Staff],
    /// Usernames that get a password at load time (argon2id PHC strings), activated at once.
    pub passwords: &'a [(Username, String)],
}

/// A province with its office count, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct ProvinceSummary {
    pub province: Province,
    pub offices: u64,
}

/// Label pair of an agency with its service count.
#[derive(Debug, Clone, PartialEq)]
pub struct AgencySummary {
    pub code: AgencyCode,
    pub name: LocalizedText,
    pub services: u64,
}

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

/// A booking to make. `capacity` is what the slot holds for this service, computed by the
/// caller from the office's policy; the store refuses to go past it. The store assigns the
/// booking's number and tracking code.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub office: OfficeCode,
    pub service: ServiceCode,
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
    pub national_code: NationalCode,
    pub mobile: Mobile,
    pub capacity: u32,
    pub rules: BookingRules,
    /// Scoped by the caller (for example `staff:operator:KEY`).
    pub idempotency_key: Option<String>,
}

/// Where a rescheduled booking goes, with the capacity the new slot has for its service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSlot {
    pub slot_start_ms: i64,
    pub slot_end_ms: i64,
    pub capacity: u32,
    pub rules: BookingRules,
}

/// The outcome of a booking request: a new booking, or the one an idempotent retry made.
#[derive(Debug, Clone, PartialEq)]
pub enum Booked {
    New(Booking),
    Replayed(Booking),
}

/// A notification waiting in, or delivered from, the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    /// What happened, such as `booking.confirmed` or `booking.cancelled`.
    pub kind: String,
    /// The citizen's mobile.
    pub recipient: String,
    /// One per event; sent with every delivery so receivers can drop repeats.
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    /// pending, sent or failed.
    pub status: String,
    pub attempts: u32,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub last_error: Option<String>,
}

/// A notification a change asks for, written to the outbox in the change's transaction.
/// A repeated `dedupe_key` is not a second message.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Such as `queue.turn_near` or `visit.survey`.
    pub kind: &'static str,
    pub recipient: String,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
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

/// Where an office is, for search.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeLocation {
    pub code: OfficeCode,
    pub province: u8,
    pub city: LocalizedText,
    pub lat: f64,
    pub lon: f64,
    pub status: OfficeStatus,
}

/// One entry of the exchange's message log as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeLogEntry {
    pub index: u64,
    /// The canonical entry bytes (the Merkle leaf).
    pub bytes: Vec<u8>,
    pub leaf_hash: [u8; 32],
    pub at_ms: i64,
    /// The national code the inquiry was about.
    pub subject: Option<String>,
    /// The office member id that made the inquiry.
    pub office: String,
}

/// A signed checkpoint of the exchange log: the tree's size and root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeCheckpoint {
    pub size: u64,
    pub root: [u8; 32],
    pub note_body: String,
    /// Compact JWS over `note_body` by the log key.
    pub signature: String,
    pub at_ms: i64,
}

/// One group commit to the exchange log (see `pishkhan_exchange::Batch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeLogBatch {
    pub first_index: u64,
    /// Entries from `first_index` on (their `index` is ignored).
    pub entries: Vec<ExchangeLogEntry>,
    /// Completed subtree nodes: (level, index, hash).
    pub nodes: Vec<(u8, u64, [u8; 32])>,
    pub frontier: Vec<u8>,
    pub checkpoint: ExchangeCheckpoint,
}

/// One office's figures for one day, as last written by its queue.
#[derive(Debug, Clone, PartialEq)]
pub struct OfficeDayFigures {
    pub office: OfficeCode,
    pub day: JalaliDate,
    pub figures: serde_json::Value,
    pub updated_at_ms: i64,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxOutcome {
    Sent,
    Retry {
        error: String,
        next_attempt_at_ms: i64,
    },
    Failed {
        error: String,
    },
}

/// The storage interface. Implementations: the embedded SQLite store and PostgreSQL.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a trivial query.
    async fn ping(&self) -> Result<()>;

    /// True when no offices and no staff exist yet.
    async fn is_empty(&self) -> Result<bool>;

    /// Inserts the provinces and agencies that are missing; returns how many were added.
    async fn seed_reference_data(
        &self,
        permit: &Permit,
        provinces: &[Province],
        agencies: &[Agency],
        ctx: &AuditContext,
    ) -> Result<u64>;

    /// Loads a whole nation in one transaction. Fails with `Conflict` unless the store is
    /// empty; reference rows already present are kept.
    async fn load_nation(
        &self,
        permit: &Permit,
        load: NationLoad<'_>,
        ctx: &AuditContext,
    ) -> Result<()>;

    async fn meta(&self, key: &str) -> Result<Option<String>>;

    // Registry reads.
    async fn provinces(&self) -> Result<Vec<ProvinceSummary>>;
    async fn agencies(&self) -> Result<Vec<AgencySummary>>;
    async fn offices(&self, filter: &OfficeFilter, page: PageRequest) -> Result<Page<Office>>;
    async fn office(&self, code: OfficeCode) -> Result<Office>;
    async fn services(&self, filter: &ServiceFilter, page: PageRequest) -> Result<Page<Service>>;
    async fn service(&self, code: &ServiceCode) -> Result<Service>;
    async fn counts(&self) -> Result<RegistryCounts>;
    /// One past the highest office code in use.
    async fn next_office_code(&self) -> Result<OfficeCode>;

    // Registry writes. Each is all-or-nothing.
    /// Creates one office. With `allocate_code`, the office's code is replaced by the next
    /// free one, chosen inside the inserting transaction so concurrent creations never clash.
    /// Returns the office as stored.
    async fn create_office(
        &self,
        permit: &Permit,
        office: &Office,
        allocate_code: bool,
        ctx: &AuditContext,
    ) -> Result<Office>;
    /// Inserts every office or none. Fails with `Conflict` naming the first clash.
    async fn import_offices(
        &self,
        permit: &Permit,
        offices: &[Office],
        ctx: &AuditContext,
    ) -> Result<u64>;
    /// Inserts new services and replaces existing ones with the same code, all or none.
    async fn import_services(
        &self,
        permit: &Permit,
        services: &[Service],
        ctx: &AuditContext,
    ) -> Result<u64>;

    // Staff and sign-in.
    async fn create_staff(
        &self,
        permit: &Permit,
        staff: &Staff,
        invitation: &NewInvitation,
        ctx: &AuditContext,
    ) -> Result<StaffRecord>;
    async fn staff_by_username(&self, username: &Username) -> Result<StaffRecord>;
    async fn office_staff(&self, permit: &Permit, office: OfficeCode) -> Result<Vec<StaffRecord>>;
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>>;
    async fn invitation(&self, token_hash: &str, now_ms: i64) -> Result<InvitationInfo>;
    /// Sets the password and activates the account; the invitation can't be used again.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        password_hash: &str,
        ctx: &AuditContext,
    ) -> Result<Username>;
    async fn create_session(
        &self,
        session: &NewSession,
        event: &AuditEvent,
        ctx: &AuditContext,
    ) -> Result<()>;
    /// The live session for a token hash, or `None` if unknown or expired.
    async fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>>;
    async fn delete_session(
        &self,
        token_hash: &str,
        event: &AuditEvent,
        ctx: &AuditContext,
    ) -> Result<()>;

    // Appointments.
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
    /// The queue log of `office` on `day`, in order.
    async fn queue_events(&self, office: OfficeCode, day: JalaliDate) -> Result<Vec<String>>;
    /// Appends events numbered from `first_seq`; `Conflict` when someone appended first (the
    /// caller rebuilds and tries again).
    async fn append_queue_events(
        &self,
        permit: &Permit,
        append: &QueueAppend,
        ctx: &AuditContext,
    ) -> Result<()>;
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
    /// Enqueues the day-before reminder of every booked appointment with a slot in
    /// `[from_ms, to_ms)`, once per booking and slot; returns how many were new.
    async fn enqueue_reminders(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<u64>;
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
    /// Every office's code, province, city and position, for searching by place and distance.
    async fn office_locations(&self) -> Result<Vec<OfficeLocation>>;
    /// Changes an office's status (the regulator's compliance decision), with the reason in
    /// the audit log.
    async fn set_office_status(
        &self,
        permit: &Permit,
        office: OfficeCode,
        status: OfficeStatus,
        reason: &str,
        ctx: &AuditContext,
    ) -> Result<()>;

    // Identity verifications (see `identity.rs`).
    /// Records verifications, each with the messages it causes and its audit row, all in one
    /// transaction (group commit; at most [`MAX_VERIFICATION_BATCH`]). Every permit is checked
    /// before anything is written: nothing is written unless all may be.
    async fn record_verifications(&self, batch: &[VerificationWrite]) -> Result<()>;
    /// Rejected verifications of `national_code` since `since_ms`: the lockout count.
    async fn identity_rejections_since(
        &self,
        national_code: &NationalCode,
        since_ms: i64,
    ) -> Result<u32>;
    async fn verification(&self, id: &str) -> Result<VerificationRecord>;
    /// Stores a second-factor code's hash and enqueues its SMS, in one transaction.
    async fn set_verification_otp(
        &self,
        permit: &Permit,
        id: &str,
        otp_hash: &str,
        expires_ms: i64,
        sms: &Notice,
        ctx: &AuditContext,
    ) -> Result<()>;
    /// Checks a second-factor code; when right, stores the upgraded receipt and result.
    #[allow(clippy::too_many_arguments)]
    async fn confirm_verification_otp(
        &self,
        permit: &Permit,
        id: &str,
        otp_hash: &str,
        upgraded_receipt: &str,
        upgraded_result: &serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<bool>;
    /// Operators with at least `min_attempts` verifications since `since_ms`, highest share
    /// of rejections first (at most 100).
    async fn operator_identity_failures(
        &self,
        since_ms: i64,
        min_attempts: u32,
    ) -> Result<Vec<OperatorFailures>>;

    // The exchange's message log (see `exchange_log.rs`).
    /// The log's size and frontier, `None` while it is empty.
    async fn exchange_log_head(&self) -> Result<Option<(Vec<u8>, u64)>>;
    /// Appends one batch in one transaction; `Conflict` unless it starts at the stored size.
    async fn append_exchange_log(&self, batch: &ExchangeLogBatch) -> Result<()>;
    async fn exchange_log_nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Option<[u8; 32]>>>;
    /// Entries with index in `[from, to)`, ascending (at most 4,096).
    async fn exchange_log_entries(&self, from: u64, to: u64) -> Result<Vec<ExchangeLogEntry>>;
    /// Entries about one person, newest first: the citizen's data-access view.
    async fn exchange_log_subject(
        &self,
        national_code: &NationalCode,
        page: PageRequest,
    ) -> Result<Page<ExchangeLogEntry>>;
    /// Checkpoints with `size >= from_size`, ascending (at most 4,096).
    async fn exchange_checkpoints(
        &self,
        from_size: u64,
        limit: u64,
    ) -> Result<Vec<ExchangeCheckpoint>>;
    async fn latest_exchange_checkpoint(&self) -> Result<Option<ExchangeCheckpoint>>;

    /// The survey a link's token opens; `NotFound` for an unknown token.
    async fn survey(&self, token_hash: &str) -> Result<Survey>;
    /// Records the answer once; `WrongState` when it was already answered.
    async fn answer_survey(
        &self,
        token_hash: &str,
        rating: u8,
        comment: Option<&str>,
        now_ms: i64,
    ) -> Result<Survey>;
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

    // Citizen sign-in.
    /// Stores a new one-time code (replacing any earlier one) and queues its SMS; refuses with
    /// `LimitReached` when the national code asks too often.
    async fn request_otp(&self, request: &OtpRequest, ctx: &AuditContext) -> Result<()>;
    /// `Ok(true)` and a new citizen session when the code is right; `Ok(false)` for a wrong
    /// guess; `Expired` when no code is live.
    async fn verify_otp(
        &self,
        national_code: &NationalCode,
        mobile: &Mobile,
        code_hash: &str,
        session_token_hash: &str,
        session_ttl_ms: i64,
        ctx: &AuditContext,
    ) -> Result<bool>;
    async fn citizen_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<(NationalCode, Mobile)>>;
    /// Ends a citizen session (sign-out).
    async fn delete_citizen_session(&self, token_hash: &str) -> Result<()>;

    // Surge releases (see `releases.rs` and the `pishkhan-release` crate).
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

    // Notification outbox.
    /// Leases up to `limit` due messages for `lease_ms`; a message whose lease runs out
    /// unsettled is due again.
    async fn claim_outbox(
        &self,
        limit: u32,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboxMessage>>;
    async fn settle_outbox(&self, id: i64, outcome: &OutboxOutcome, now_ms: i64) -> Result<()>;
    /// Newest first, optionally for one recipient.
    async fn outbox_messages(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>>;

    // Audit.
    async fn record_event(&self, event: &AuditEvent, ctx: &AuditContext) -> Result<()>;
    async fn audit_log(
        &self,
        permit: &Permit,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> Result<Page<AuditRecord>>;
}

/// Opens (creating if needed) and migrates the store named by `url`.
///
/// `sqlite://PATH` opens the embedded store and takes an exclusive lock beside the file, so a
/// second process gets [`StoreError::Locked`] instead of a silent second writer.
/// `postgres://…` connects to a shared PostgreSQL server.
pub async fn open(url: &DatabaseUrl) -> Result<Arc<dyn Store>> {
    match url.backend() {
        Backend::Sqlite => Ok(Arc::new(sqlite::open(url).await?)),
        Backend::Postgres => Ok(Arc::new(postgres::open(url).await?)),
    }
}

/// SHA-256 of a secret token, lowercase hex. Tokens are stored only in this form.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}
