//! The reference PSP over real HTTP on loopback, driven by the merchant's real client
//! (`pishkhan_app::psp_client`), with a tiny merchant on 127.0.0.1 receiving the callbacks.
//! Windows are short (about a second) so the suite stays fast.

mod faults;
mod flow;
mod input;
mod journal;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use pishkhan_app::psp_client::{Callback, PspClient, PspControl};
use pishkhan_domain::JalaliDate;
use pishkhan_psp::{CallbackPolicy, Psp, PspConfig};
use tokio::sync::{mpsc, oneshot};

pub const MERCHANT: &str = "pishkhan";
pub const CONTROL: &str = "control-secret-0123456789";
pub const CARD: &str = "6037990000000006";
pub const WINDOW_MS: u64 = 2000;

/// A configuration for tests: a short window, quick callback retries, controls on.
pub fn config() -> PspConfig {
    PspConfig {
        verify_window_ms: WINDOW_MS,
        control_token: Some(CONTROL.to_string()),
        callback: CallbackPolicy {
            attempts: 3,
            attempt_timeout_ms: 1000,
            first_backoff_ms: 50,
            wait_ms: 1000,
        },
        ..PspConfig::default()
    }
}

/// A PSP served on a free loopback port.
pub struct Server {
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start(config: PspConfig) -> Server {
        let psp = Psp::open(config).expect("the PSP opens");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(pishkhan_psp::serve(listener, psp, async move {
            let _ = stopped.await;
        }));
        Server {
            url,
            stop: Some(stop),
            task,
        }
    }

    /// Stops the server and waits until it has let go of its journal.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.unwrap().unwrap();
    }

    pub fn client(&self) -> PspClient {
        PspClient::new(&self.url, MERCHANT, Duration::from_secs(10)).unwrap()
    }

    pub fn control(&self) -> PspControl {
        PspControl::new(&self.url, CONTROL, Duration::from_secs(10)).unwrap()
    }
}

/// The merchant's side: receives callbacks, refusing the first `fail_first` with a 500.
pub struct Merchant {
    pub callback_url: String,
    pub return_url: String,
    callbacks: mpsc::UnboundedReceiver<Callback>,
}

#[derive(Clone)]
struct MerchantState {
    seen: mpsc::UnboundedSender<Callback>,
    fail_first: Arc<AtomicUsize>,
}

async fn receive(State(s): State<MerchantState>, Json(cb): Json<Callback>) -> StatusCode {
    let failing = s
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let _ = s.seen.send(cb);
    StatusCode::NO_CONTENT
}

impl Merchant {
    pub async fn start(fail_first: usize) -> Merchant {
        let (seen, callbacks) = mpsc::unbounded_channel();
        let state = MerchantState {
            seen,
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
        };
        let app = axum::Router::new()
            .route("/psp/callback", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Merchant {
            callback_url: format!("http://{addr}/psp/callback"),
            return_url: format!("http://{addr}/payments/return"),
            callbacks,
        }
    }

    /// The next callback, within `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Callback> {
        tokio::time::timeout(within, self.callbacks.recv())
            .await
            .ok()
            .flatten()
    }

    /// A token for `order_id` with this merchant's URLs.
    pub async fn token(&self, client: &PspClient, order_id: i64, amount_rials: i64) -> String {
        client
            .token(order_id, amount_rials, &self.callback_url, &self.return_url)
            .await
            .expect("a token")
    }
}

/// Noon in Tehran on a fixed Jalali day, in Unix ms: the PSP's clock is set there so the
/// report's day does not depend on when the suite runs.
pub fn noon_ms(day: JalaliDate) -> i64 {
    let noon = day
        .to_gregorian()
        .with_hms(12, 0, 0)
        .unwrap()
        .assume_offset(pishkhan_domain::tehran::TEHRAN_OFFSET);
    noon.unix_timestamp() * 1000
}

pub fn day(s: &str) -> JalaliDate {
    JalaliDate::parse(s).unwrap()
}

/// A raw HTTP client for what the merchant's client never sends.
pub fn raw() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
