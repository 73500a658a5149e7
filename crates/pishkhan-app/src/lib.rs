//! Pishkhan's application layer: every use case, once.
//!
//! The JSON API, the web pages, the background tasks and the CLI all call the functions of
//! this crate; none of them calls another front end. A use case takes the [`App`] (its
//! context: the store, the clock, keys, the exchange runtime, caches and writers), a
//! [`Caller`] or [`StaffSession`] where a person acts, and typed commands; it asks the
//! domain's pure functions to decide, has the store persist the decision in one transaction,
//! and returns domain results or an [`AppError`]. It knows nothing of HTTP, HTML, cookies or
//! JSON bodies.
//!
//! Areas, one module each: [`accounts`] (staff sign-in, sessions, invitations), [`citizens`]
//! (one-time codes and citizen sessions), [`offices`], [`appointments`] (availability, book,
//! cancel, reschedule), [`queue`] (the office queue runner), [`releases`] (surge releases),
//! [`exchange`] (inquiries and the message log), [`identity`] (verification at the counter),
//! and [`sweep`] (the clock's work). Sessions resolve through a bounded in-process cache
//! (`session_cache.rs`) that every session-ending change invalidates, here at once and in
//! every other process within a second.

pub mod accounts;
pub mod appointments;
mod caller;
pub mod catalogue;
pub mod citizens;
mod client_address;
mod clock;
pub mod compliance;
pub mod dashboard;
mod error;
pub mod exchange;
pub mod fees;
mod group_commit;
pub mod identity;
pub mod indexation;
pub mod inquiry_limits;
mod limit_cells;
pub mod login_limiter;
pub mod metrics;
pub mod office_finder;
pub mod offices;
pub mod once_only;
pub mod otp_limiter;
pub mod payments;
pub mod psp_client;
pub mod queue;
mod queue_states;
mod queue_writer;
mod refcache;
pub mod releases;
pub mod reports;
pub mod search;
pub mod secrets;
mod session_cache;
pub mod stats;
pub mod surveys;
pub mod sweep;
mod verification_writer;

use std::sync::Arc;

use pishkhan_domain::schedule::BookingRules;
use pishkhan_store::Store;

pub use caller::{Caller, Citizen, Session, StaffSession};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::AppError;
pub use session_cache::SessionCacheStats;

/// Settings of the use cases. All limits carry their unit in the name.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Base URL people reach the server at; invitation and survey links are built from it.
    pub public_url: String,
    pub session_ttl_s: u64,
    pub invitation_ttl_s: u64,
    /// How failed sign-ins slow down a username at an address, and an address.
    pub sign_in_limits: login_limiter::SignInLimits,
    /// Sign-in codes texted per mobile, per client address and in all.
    pub otp_limits: otp_limiter::OtpLimits,
    /// The booking window and the citizen limits, on both stores.
    pub booking_rules: BookingRules,
    /// The name-matching profile of identity checks (configuration, not code).
    pub identity_profile: pishkhan_identity::Profile,
    /// Rejected identity checks of one national code that lock further checks.
    pub identity_max_failures: u32,
    /// How long those failures count, in seconds.
    pub identity_lockout_s: u64,
    /// Abuse limits on inquiries (rates, distinct citizens per operator and hour).
    pub inquiry_limits: inquiry_limits::InquiryLimitsConfig,
    /// Resolved sessions cached per kind (staff, citizens); a full cache takes no new ones.
    pub session_cache_max_entries: usize,
    /// Longest a resolved session is served from the cache before it is read again.
    pub session_cache_ttl_ms: u64,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_string(),
            session_ttl_s: 12 * 3600,
            invitation_ttl_s: 7 * 24 * 3600,
            sign_in_limits: login_limiter::SignInLimits::default(),
            otp_limits: otp_limiter::OtpLimits::default(),
            booking_rules: BookingRules::default(),
            identity_profile: pishkhan_identity::Profile::standard(),
            identity_max_failures: 5,
            identity_lockout_s: 24 * 3600,
            inquiry_limits: inquiry_limits::InquiryLimitsConfig::default(),
            // About 30 MB at most for both maps.
            session_cache_max_entries: 100_000,
            session_cache_ttl_ms: 30_000,
        }
    }
}

/// The context of every use case. Cheap to clone; one per process.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    config: AppConfig,
    clock: Arc<dyn Clock>,
    /// Office codes whose queue changed, for the live boards.
    queue_changes: tokio::sync::broadcast::Sender<u32>,
    /// Offices, services, policies, holidays and closures, briefly cached for the booking path.
    refs: refcache::RefCache,
    exchange: std::sync::OnceLock<Arc<exchange::ExchangeRuntime>>,
    payments: std::sync::OnceLock<Arc<payments::PaymentsRuntime>>,
    /// One close sequence at a time per release in this process (see `releases::close`).
    release_closes:
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Resolved sessions, so a live one costs no database read per request.
    sessions: session_cache::SessionCache,
    /// The catalogue ranked by last month's bookings, for service searches.
    catalogue: catalogue::CatalogueCache,
    /// What the use cases count, for the operators' dashboards.
    metrics: metrics::Metrics,
    /// Group commit of queue appends, started with the first (inside the runtime).
    queue_writer: std::sync::OnceLock<queue_writer::QueueWriter>,
    /// Each office's queue as last stored here, so an operation replays only newer events.
    queue_states: queue_states::QueueStates,
}

impl App {
    pub fn new(store: Arc<dyn Store>, config: AppConfig, clock: Arc<dyn Clock>) -> Self {
        let sessions = session_cache::SessionCache::new(
            config.session_cache_max_entries,
            std::time::Duration::from_millis(config.session_cache_ttl_ms),
        );
        let app = Self {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                queue_changes: tokio::sync::broadcast::channel(4096).0,
                refs: refcache::RefCache::default(),
                exchange: std::sync::OnceLock::new(),
                payments: std::sync::OnceLock::new(),
                release_closes: std::sync::Mutex::default(),
                queue_writer: std::sync::OnceLock::new(),
                queue_states: queue_states::QueueStates::default(),
                sessions,
                catalogue: catalogue::CatalogueCache::default(),
                metrics: metrics::Metrics::default(),
            }),
        };
        // Outside a runtime no poll ever vouches for the cache, so every session is read
        // from the database: slower, never stale.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(session_cache::run_poller(Arc::downgrade(&app.inner)));
        }
        app
    }

    /// Turns the inquiry exchange on; false if it was already on.
    pub fn set_exchange(&self, runtime: Arc<exchange::ExchangeRuntime>) -> bool {
        self.inner.exchange.set(runtime).is_ok()
    }

    pub fn exchange(&self) -> Option<&Arc<exchange::ExchangeRuntime>> {
        self.inner.exchange.get()
    }

    /// Turns payments on through a card processor; false if they were already on.
    pub fn set_payments(&self, runtime: Arc<payments::PaymentsRuntime>) -> bool {
        self.inner.payments.set(runtime).is_ok()
    }

    pub fn payments_runtime(&self) -> Option<&Arc<payments::PaymentsRuntime>> {
        self.inner.payments.get()
    }

    /// The store, for the plain reads front ends render (lists, one record by key). Anything
    /// that decides or changes state is a use case of this crate.
    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }

    pub fn now_ms(&self) -> i64 {
        (self.now().unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// Subscribes to "this office's queue changed" (office codes), for live boards.
    pub fn queue_changes(&self) -> tokio::sync::broadcast::Receiver<u32> {
        self.inner.queue_changes.subscribe()
    }

    pub(crate) fn queue_changed(&self, office: u32) {
        // No subscriber is fine: nobody is watching that board.
        let _ = self.inner.queue_changes.send(office);
    }

    pub(crate) fn inner_catalogue(&self) -> &catalogue::CatalogueCache {
        &self.inner.catalogue
    }

    pub(crate) fn refs(&self) -> &refcache::RefCache {
        &self.inner.refs
    }

    pub(crate) fn sessions(&self) -> &session_cache::SessionCache {
        &self.inner.sessions
    }

    /// The use cases' counters, which the web layer exposes.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    fn queue_states(&self) -> &queue_states::QueueStates {
        &self.inner.queue_states
    }

    fn queue_writer(&self) -> &queue_writer::QueueWriter {
        self.inner
            .queue_writer
            .get_or_init(|| queue_writer::QueueWriter::start(self.inner.store.clone()))
    }

    /// How the session cache is doing: entries held, hits and misses.
    pub fn session_cache_stats(&self) -> SessionCacheStats {
        self.inner.sessions.stats()
    }

    /// Runs `work` as the only close sequence of release `id` in this process; a second
    /// caller waits and then runs its own (idempotent) sequence over the finished state.
    pub(crate) async fn one_release_close<T>(
        &self,
        id: &str,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let turn = {
            let mut closes = self
                .inner
                .release_closes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            closes.entry(id.to_owned()).or_default().clone()
        };
        let out = {
            let _held = turn.lock().await;
            work.await
        };
        let mut closes = self
            .inner
            .release_closes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // The map's handle and ours: nobody else is waiting, so the entry can go.
        if Arc::strong_count(&turn) <= 2 {
            closes.remove(id);
        }
        out
    }
}
