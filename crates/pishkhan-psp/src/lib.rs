//! The reference card processor (PSP), modelled on Iran's Shaparak flow, served as its own
//! process by `pishkhan psp serve`. The wire is `pishkhan_protocol::psp`; the merchant's
//! client is `pishkhan_app::psp_client`.
//!
//! # The flow
//!
//! 1. The merchant asks for a **token** (`POST /api/token`) for an amount and its own order
//!    number. The same order with the same amount gets the same token again.
//! 2. The payer pays on the **payment page** `GET /pay/{token}` (Persian first, with English;
//!    a 16-digit, Luhn-checked card number). A counter's **card terminal** shows the very same
//!    page: the operator's terminal opens `/pay/{token}` and the citizen's card goes in there.
//! 3. The PSP records the payment (a 12-digit `ref_num`, the masked card), **calls back** the
//!    merchant's `callback_url` (retried a few times with backoff, bounded; the payer's 303 to
//!    `return_url` waits for the first attempt at most a moment), and sends the payer back.
//! 4. The merchant **verifies** (`POST /api/verify`) within the window (`--verify-window-secs`,
//!    default 1800). A paid transaction not verified in time is **reversed by the PSP** by a
//!    background sweep (or by a verify that comes late). The merchant may reverse it itself.
//! 5. A verified transaction may be **refunded**, fully or in parts, each refund idempotent by
//!    the merchant's `refund_id`.
//! 6. The **settlement report** (`GET /api/settlement`, CSV) lists one Tehran day's verified
//!    payments and refunds, sorted by order: what the PSP will settle to the merchant.
//!
//! # As a test double
//!
//! With `--control-token`, `POST /control/faults` injects faults (`timeout`,
//! `duplicate_callback`, `late_callback`, `late_verify`, `wrong_amount`) per order or for
//! every order, and `POST /control/clock` moves the PSP's clock, so the demo can put 30 past
//! days of payments through the real code path. Every event carries its instant on that clock;
//! the clock's offset itself is not kept, so a restarted PSP runs on the real clock again.
//!
//! # Durability and limits
//!
//! State is in memory and every event is appended to `DATA_DIR/psp.jsonl` (`journal.rs`),
//! committed in groups with one `fsync` each, before any answer that saw it; the file is
//! replayed at start, so a restart keeps the day's transactions and reports. Callbacks are
//! not journaled: one cut off by a restart is not sent again (the merchant verifies anyway).
//! Bodies are limited to 16 KiB, URLs to 2 KiB, transactions to `max_transactions`, refunds
//! to 100 per transaction, faults to 100,000 orders, pending callbacks to 10,000.

mod book;
mod callback;
mod card;
mod clock;
mod config;
mod error;
mod event;
mod faults;
mod http;
mod journal;
mod page;
mod problem;
mod service;
mod settlement;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;

pub use config::{CallbackPolicy, PspConfig};
pub use error::PspError;
pub use journal::JOURNAL_FILE_NAME;
pub use pishkhan_protocol::psp::Fault;

use crate::book::Book;
use crate::service::Shared;

/// A PSP ready to serve: its configuration checked and its journal replayed.
pub struct Psp {
    shared: Arc<Shared>,
}

impl Psp {
    /// Checks `config`, replays `DATA_DIR/psp.jsonl` when a data dir is given (taking its
    /// lock: one process per journal), and starts the journal's writer.
    pub fn open(config: PspConfig) -> Result<Psp, PspError> {
        config.check()?;
        let mut book = Book::new(config.verify_window_ms);
        let journal = match &config.data_dir {
            Some(dir) => journal::open(dir, &mut book)?,
            None => journal::in_memory(),
        };
        if book.len() > 0 {
            tracing::info!(transactions = book.len(), "journal replayed");
        }
        let shared = Shared::new(config, book, journal)?;
        Ok(Psp {
            shared: Arc::new(shared),
        })
    }

    /// Transactions held (replayed ones included).
    pub fn transactions(&self) -> usize {
        self.shared.transactions()
    }
}

/// How often the sweep looks for passed windows: a tenth of the window, between 20 ms and 1 s,
/// so a reversal happens within a tenth of the window (at most a second) of its deadline.
fn sweep_interval(window_ms: u64) -> Duration {
    Duration::from_millis((window_ms / 10).clamp(20, 1000))
}

/// Serves the PSP on `listener` until `shutdown` resolves, with the sweep that reverses
/// unverified payments running beside it. Returns once in-flight requests have finished and
/// the sweep has stopped; dropping the returned future's [`Psp`] then flushes the journal.
pub async fn serve(
    listener: tokio::net::TcpListener,
    psp: Psp,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let shared = psp.shared;
    let sweeper = {
        let shared = shared.clone();
        let every = sweep_interval(shared.config.verify_window_ms);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(p) = shared.sweep().await {
                    tracing::error!(code = p.code, message = %p.message, "sweep failed");
                }
            }
        })
    };
    let app = http::router(shared);
    let listener = listener.tap_io(|tcp| {
        // Small request/answer pairs: do not let Nagle hold the answer back.
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    let _ = sweeper.await;
    served
}
