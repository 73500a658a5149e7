//! Pishkhan's HTTP surface: the JSON API under `/api/v1`, the server-rendered web UI, health,
//! metrics and static assets.
//!
//! Building the app ([`router`]) is separate from listening ([`serve`]), so tests bind port 0
//! and talk real HTTP to a fresh store.

mod api;
mod auth;
mod client_ip;
mod error;
mod extract;
mod i18n;
mod input;
mod metrics;
mod middleware;
mod openapi;
mod static_files;
mod text_guard;
mod ui;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use pishkhan_app::{App, AppConfig, Clock};
use pishkhan_store::Store;

pub use client_ip::{MAX_TRUSTED_PROXIES, TrustedProxy};
pub use error::ApiError;
pub use metrics::{MetricsToken, NodeName};
pub use openapi::openapi_json;

/// Settings of the web layer: the use cases' own ([`AppConfig`]) and the HTTP limits. All
/// limits carry their unit in the name.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub app: AppConfig,
    /// Mark cookies `Secure`. On for HTTPS deployments; off for the loopback demo.
    pub cookie_secure: bool,
    pub max_body_bytes: usize,
    /// Requests handled at once; more wait in the accept queue instead of exhausting memory.
    pub max_concurrent_requests: usize,
    pub request_timeout_ms: u64,
    /// The bearer token `/metrics` asks for; without one, `/metrics` refuses everyone.
    pub metrics_token: Option<MetricsToken>,
    /// How long a shutdown waits for requests under way before the server stops anyway.
    pub shutdown_grace_ms: u64,
    /// Load balancers believed about the client they forward for (`X-Forwarded-For`).
    pub trusted_proxies: Vec<TrustedProxy>,
    /// This process's `node` label on every metric (`--node-name`, default the host name).
    pub node_name: NodeName,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            app: AppConfig::default(),
            cookie_secure: false,
            max_body_bytes: 256 * 1024,
            max_concurrent_requests: 1024,
            request_timeout_ms: 30_000,
            metrics_token: None,
            shutdown_grace_ms: 10_000,
            trusted_proxies: Vec::new(),
            node_name: NodeName::of_host(),
        }
    }
}

/// Shared state of every handler: the application and what only HTTP needs.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    config: WebConfig,
    metrics: metrics::Metrics,
    /// Live-board connections held open at once.
    board_streams: Arc<tokio::sync::Semaphore>,
    /// Turns true when the server begins to shut down: streams that would never end by
    /// themselves (the live boards) end then, so the shutdown need not wait on them.
    closing: tokio::sync::watch::Sender<bool>,
}

/// Live-board (SSE) connections one process keeps open: every office's TV fits.
const MAX_BOARD_STREAMS: usize = 20_000;

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: WebConfig, clock: Arc<dyn Clock>) -> Self {
        let app = App::new(store, config.app.clone(), clock);
        Self::with_app(app, config)
    }

    /// Serves an application that background tasks (the sweeper) share.
    pub fn with_app(app: App, config: WebConfig) -> Self {
        let metrics = metrics::Metrics::new(&app, &config.node_name);
        Self {
            inner: Arc::new(Inner {
                app,
                config,
                metrics,
                board_streams: Arc::new(tokio::sync::Semaphore::new(MAX_BOARD_STREAMS)),
                closing: tokio::sync::watch::Sender::new(false),
            }),
        }
    }

    /// The application every handler calls.
    pub fn app(&self) -> &App {
        &self.inner.app
    }

    /// Turns the inquiry exchange on; false if it was already on.
    pub fn set_exchange(&self, runtime: Arc<pishkhan_app::exchange::ExchangeRuntime>) -> bool {
        self.inner.app.set_exchange(runtime)
    }

    /// The store, for plain reads the pages and the API render.
    pub fn store(&self) -> &dyn Store {
        self.inner.app.store()
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.inner.app.now()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.app.now_ms()
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub(crate) fn board_streams(&self) -> Arc<tokio::sync::Semaphore> {
        self.inner.board_streams.clone()
    }

    /// Resolves once the server has begun to shut down.
    pub(crate) fn closing(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        let mut closing = self.inner.closing.subscribe();
        async move {
            // An error means the state is gone, which is a shutdown too.
            let _ = closing.wait_for(|c| *c).await;
        }
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
        .layer(axum::middleware::from_fn(text_guard::refuse_in_uri))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ));
    middleware::wrap(router, &config).with_state(state)
}

/// Serves `state`'s [`router`] on an already bound listener until `shutdown` resolves. Then
/// the live streams end, new connections are refused, and requests under way get
/// [`WebConfig::shutdown_grace_ms`] to finish before the server stops regardless.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = std::time::Duration::from_millis(state.config().shutdown_grace_ms);
    let app = router(state.clone());
    let (began_tx, began_rx) = tokio::sync::oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        state.inner.closing.send_replace(true);
        let _ = began_tx.send(());
    };
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal);
    let deadline = async move {
        match began_rx.await {
            Ok(()) => tokio::time::sleep(grace).await,
            // The server ended before any shutdown began; it answers first.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = std::future::IntoFuture::into_future(server) => served,
        () = deadline => {
            tracing::warn!(grace_ms = grace.as_millis() as u64, "requests still under way after the grace period; stopping anyway");
            Ok(())
        }
    }
}
