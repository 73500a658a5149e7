//! Notifications for Pishkhan: the delivery side of the transactional outbox.
//!
//! The store writes one outbox message per event in the same transaction as the change that
//! causes it (a booking confirmed, cancelled, …). This crate takes it from there:
//!
//! * [`render`] turns a message into a short SMS text, Persian first and English second.
//! * A [`Sender`] delivers it: [`LogSender`] (the default) appends a JSON line to
//!   `DATA_DIR/notifications.log`; [`WebhookSender`] POSTs JSON to a URL.
//! * The [`Dispatcher`] claims due messages with a lease, sends them with bounded concurrency
//!   and settles each one in the store: sent, retry later with exponential backoff, or failed.
//!
//! # Delivery guarantees
//!
//! Delivery is **at least once**: a message is settled only after its sender succeeded, and a
//! message whose dispatcher died before settling comes back when its lease runs out. A repeat
//! is never a second notification to the citizen:
//!
//! * every delivery carries the message's `dedupe_key` (one per event); the webhook sends it
//!   as the `Idempotency-Key` header so the receiver drops repeats;
//! * the log sender remembers the keys it has written (across restarts, by reading the tail
//!   of its file) and does not write a key twice;
//! * the dispatcher never starts a send that could outlive its lease (see
//!   [`DispatchConfig::send_timeout_ms`]), so two dispatchers never hold the same message at
//!   once while their clocks agree.

mod dispatch;
pub mod render;
mod sender;

use std::path::Path;
use std::sync::Arc;

pub use dispatch::{Clock, DispatchConfig, DispatchStats, Dispatcher, RoundObserver, system_clock};
pub use render::{Rendered, Renderer};
pub use sender::{LogLimits, LogSender, SendError, Sender, WebhookSender};

/// The file the default sender appends to, inside the data directory.
pub const LOG_FILE_NAME: &str = "notifications.log";

/// What went wrong while setting notifications up.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The sender specification could not be understood.
    #[error("invalid notification sender {spec:?}: {reason}")]
    BadSpec { spec: String, reason: String },

    /// A dispatcher setting is outside its allowed range.
    #[error("invalid notification dispatch setting: {0}")]
    BadConfig(String),

    /// The notification log could not be opened or read.
    #[error("notification log {path}: {source}")]
    Log {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// The HTTP client for the webhook could not be built.
    #[error("webhook client: {0}")]
    Client(String),
}

/// Builds the sender named by `spec`:
///
/// * `log` (or an empty string, the default): [`LogSender`] appending to
///   `data_dir/notifications.log`;
/// * `webhook:http://host:port/path`: [`WebhookSender`] with
///   [`WebhookSender::DEFAULT_TIMEOUT_MS`].
///
/// Surrounding whitespace is ignored; anything else is an [`Error::BadSpec`].
pub fn sender_from_spec(spec: &str, data_dir: &Path) -> Result<Arc<dyn Sender>, Error> {
    let trimmed = spec.trim();
    if trimmed.is_empty() || trimmed == "log" {
        let sender = LogSender::open(data_dir.join(LOG_FILE_NAME))?;
        return Ok(Arc::new(sender));
    }
    if let Some(url) = trimmed.strip_prefix("webhook:") {
        let sender = WebhookSender::new(url, WebhookSender::DEFAULT_TIMEOUT_MS)?;
        return Ok(Arc::new(sender));
    }
    Err(Error::BadSpec {
        // Only the part before any `:`, so that a mistyped URL with a secret stays out of logs.
        spec: trimmed
            .split(':')
            .next()
            .unwrap_or_default()
            .chars()
            .take(40)
            .collect(),
        reason: "expected `log` or `webhook:http://host:port/path`".into(),
    })
}
