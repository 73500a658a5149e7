//! Pishkhan's HTTP surface: the JSON API under `/api/v1`, the server-rendered web UI, health,
//! metrics and static assets.
//!
//! Building the app ([`router`]) is separate from listening ([`serve`]), so tests bind port 0
//! and talk real HTTP to a fresh store.

mod actions;
mod api;
mod appointments;
mod auth;
mod clock;
mod error;
pub mod exchange;
mod extract;
mod i18n;
pub mod inquiry_limits;
mod limits;
mod metrics;
mod middleware;
mod openapi;
mod refcache;
mod static_files;
mod sweep;
mod ui;
mod verification_writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use pishkhan_store::Store;

pub use auth::{hash_password, verify_password};
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::ApiError;
pub use openapi::openapi_json;
pub use sweep::{SWEEP_INTERVAL, SweepReport, run_sweeper, sweep};

/// Settings of the web layer. All limits carry their unit in the name.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Base URL people reach the server at; invitation links are built from it.
    pub public_url: String,
    /// Mark cookies `Secure`. On for HTTPS deployments; off for the loopback demo.
    pub cookie_secure: bool,
    pub session_ttl_s: u64,
    pub invitation_ttl_s: u64,
    pub max_body_bytes: usize,
    /// Requests handled at once; more wait in the accept queue instead of exhausting memory.
    pub max_concurrent_requests: usize,
    pub request_timeout_ms: u64,
    /// Failed sign-ins allowed per client address and username in one window.
    pub login_failures_per_window: u32,
    pub login_window_s: u64,
    /// The name-matching profile of identity checks (configuration, not code).
    pub identity_profile: pishkhan_identity::Profile,
    /// Rejected identity checks of one national code that lock further checks.
    pub identity_max_failures: u32,
    /// How long those failures count, in seconds.
    pub identity_lockout_s: u64,
    /// Abuse limits on inquiries (rates, distinct citizens per operator and hour).
    pub inquiry_limits: inquiry_limits::InquiryLimitsConfig,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            public_url: "http://127.0.0.1:8080".to_string(),
            cookie_secure: false,
            session_ttl_s: 12 * 3600,
            invitation_ttl_s: 7 * 24 * 3600,
            max_body_bytes: 256 * 1024,
            max_concurrent_requests: 1024,
            request_timeout_ms: 30_000,
            login_failures_per_window: 10,
            login_window_s: 300,
            identity_profile: pishkhan_identity::Profile::standard(),
            identity_max_failures: 5,
            identity_lockout_s: 24 * 3600,
            inquiry_limits: inquiry_limits::InquiryLimitsConfig::default(),
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    config: WebConfig,
    clock: Arc<dyn Clock>,
    metrics: metrics::Metrics,
    login_limiter: limits::LoginLimiter,
    started: Instant,
    /// Office codes whose queue changed, for the live boards.
    queue_changes: tokio::sync::broadcast::Sender<u32>,
    /// Live-board connections held open at once.
    board_streams: Arc<tokio::sync::Semaphore>,
    /// Offices, services, policies, holidays and closures, briefly cached for the booking path.
    refs: refcache::RefCache,
    exchange: std::sync::OnceLock<Arc<exchange::ExchangeRuntime>>,
    inquiry_limits: inquiry_limits::InquiryLimits,
    /// One close sequence at a time per release in this process (see `api::releases::close`).
    release_closes:
        std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Live-board (SSE) connections one process keeps open: every office's TV fits.
const MAX_BOARD_STREAMS: usize = 20_000;

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: WebConfig, clock: Arc<dyn Clock>) -> Self {
        let login_limiter =
            limits::LoginLimiter::new(config.login_failures_per_window, config.login_window_s);
        let limits_for_inquiries = inquiry_limits::InquiryLimits::new(config.inquiry_limits);
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                clock,
                metrics: metrics::Metrics::default(),
                login_limiter,
                started: Instant::now(),
                queue_changes: tokio::sync::broadcast::channel(4096).0,
                board_streams: Arc::new(tokio::sync::Semaphore::new(MAX_BOARD_STREAMS)),
                refs: refcache::RefCache::default(),
                exchange: std::sync::OnceLock::new(),
                inquiry_limits: limits_for_inquiries,
                release_closes: std::sync::Mutex::default(),
            }),
        }
    }

    /// Turns the inquiry exchange on; false if it was already on.
    pub fn set_exchange(&self, runtime: Arc<exchange::ExchangeRuntime>) -> bool {
        self.inner.exchange.set(runtime).is_ok()
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

    pub(crate) fn inquiry_limits(&self) -> &inquiry_limits::InquiryLimits {
        &self.inner.inquiry_limits
    }

    pub fn exchange(&self) -> Option<&Arc<exchange::ExchangeRuntime>> {
        self.inner.exchange.get()
    }

    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        (self.now().unix_timestamp_nanos() / 1_000_000) as i64
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn refs(&self) -> &refcache::RefCache {
        &self.inner.refs
    }

    pub(crate) fn queue_changed(&self, office: u32) {
        // No subscriber is fine: nobody is watching that board.
        let _ = self.inner.queue_changes.send(office);
    }

    pub(crate) fn queue_changes(&self) -> tokio::sync::broadcast::Receiver<u32> {
        self.inner.queue_changes.subscribe()
    }

    pub(crate) fn board_streams(&self) -> Arc<tokio::sync::Semaphore> {
        self.inner.board_streams.clone()
    }

    pub(crate) fn login_limiter(&self) -> &limits::LoginLimiter {
        &self.inner.login_limiter
    }
}

/// The whole application: API, UI, health, metrics and static files, with its middleware.
pub fn router(state: AppState) -> Router {
    let config = state.config().clone();
    let router = Router::new()
        .merge(api::router())
        .merge(ui::router())
        .merge(static_files::router())
        .merge(middleware::ops_router())
        .fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ));
    middleware::wrap(router, &config).with_state(state)
}

/// Serves `router` on an already bound listener until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
