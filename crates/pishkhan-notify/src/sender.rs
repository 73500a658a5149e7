//! Senders: where a rendered notification goes.

use std::collections::{HashSet, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use pishkhan_store::OutboxMessage;

use crate::Error;
use crate::render::Rendered;

/// Why a delivery did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: a timeout, a refused connection, a 5xx, a full disk.
    #[error("{0}")]
    Retryable(String),
    /// Trying again would fail the same way: the receiver rejected the message.
    #[error("{0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, SendError::Retryable(_))
    }
}

/// Delivers one rendered notification.
///
/// A sender may see the same message more than once (at-least-once delivery): it gets the
/// message's `dedupe_key` every time and should make a repeat harmless. `Ok` means the
/// message is delivered (or was already); the dispatcher then marks it sent.
#[async_trait]
pub trait Sender: Send + Sync + 'static {
    async fn send(&self, msg: &OutboxMessage, text: &Rendered) -> Result<(), SendError>;
}

// ---------------------------------------------------------------------------------------------
// Log sender

/// Bounds of the [`LogSender`]'s memory of written keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// Most dedupe keys remembered; the oldest are forgotten first.
    pub max_keys: usize,
    /// At start, only this many bytes at the end of the file are read for keys.
    pub max_scan_bytes: u64,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_keys: LogSender::DEFAULT_MAX_KEYS,
            max_scan_bytes: LogSender::DEFAULT_MAX_SCAN_BYTES,
        }
    }
}

/// The default sender: appends one JSON line per notification to a file and syncs it to disk
/// before reporting success.
///
/// Line format (fields in this order, one object per line, UTF-8, `\n`-terminated):
///
/// ```json
/// {"id":17,"dedupe_key":"booking.confirmed:1764396000000:K7M2Q9XA","kind":"booking.confirmed",
///  "recipient":"09121234567","text_fa":"…","text_en":"…","at":"2026-11-28T09:15:02.123Z"}
/// ```
///
/// `at` is the UTC time of writing, RFC 3339.
///
/// # Never the same event twice
///
/// The sender remembers the dedupe keys it wrote and skips a message whose key it has seen
/// (reporting success, so the dispatcher settles it). At start it reads the keys already in
/// the file, so a message delivered just before a crash, but not yet settled in the store, is
/// not written again when its lease runs out and it comes back.
///
/// Memory is bounded by [`LogLimits`]: at most `max_keys` keys (default
/// [`LogSender::DEFAULT_MAX_KEYS`], a few tens of MB at most) and, at start, only the last
/// `max_scan_bytes` of the file (default 64 MiB, roughly 100,000 lines) are read.
/// **Residual risk:** a key older than that window is forgotten, and a repeat of it would be
/// written again. A repeat only arises when a message was written but not settled (a crash or
/// a store outage between the two) and comes back one lease later; such a message is among
/// the last lines written, far inside the window, unless more than `max_keys` other messages
/// are written in between.
///
/// One process writes the file: the handle is opened in append mode and kept, and writes are
/// serialised inside the process; two processes sharing one file would not see each other's
/// keys. A line torn by a crash is left as it is (it does not parse, so its message is written
/// again on a fresh line).
pub struct LogSender {
    path: PathBuf,
    state: Arc<Mutex<LogState>>,
}

struct LogState {
    file: File,
    seen: HashSet<String>,
    order: VecDeque<String>,
    max_keys: usize,
    /// The file may end in a torn line: start the next write on a new line.
    needs_newline: bool,
}

impl LogState {
    fn remember(&mut self, key: String) {
        if self.seen.insert(key.clone()) {
            self.order.push_back(key);
        }
        while self.order.len() > self.max_keys {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
    }
}

#[derive(serde::Serialize)]
struct LogLine<'a> {
    id: i64,
    dedupe_key: &'a str,
    kind: &'a str,
    recipient: &'a str,
    text_fa: &'a str,
    text_en: &'a str,
    at: String,
}

#[derive(serde::Deserialize)]
struct LoggedKey {
    dedupe_key: String,
}

impl LogSender {
    pub const DEFAULT_MAX_KEYS: usize = 200_000;
    pub const DEFAULT_MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;
    /// Upper bounds on [`LogLimits`].
    pub const MAX_KEYS_LIMIT: usize = 10_000_000;
    pub const MAX_SCAN_BYTES_LIMIT: u64 = 4 * 1024 * 1024 * 1024;

    /// Opens (creating if needed, with its directory) the log at `path` with default limits.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::open_with(path, LogLimits::default())
    }

    /// Opens the log, remembering the keys in the last `limits.max_scan_bytes` of the file.
    /// Limits are clamped to `1..=MAX_KEYS_LIMIT` and `1..=MAX_SCAN_BYTES_LIMIT`.
    pub fn open_with(path: impl Into<PathBuf>, limits: LogLimits) -> Result<Self, Error> {
        let path = path.into();
        let io = |source| Error::Log {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        {
            // Mobiles and texts are personal data: readable by the service account only.
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io)?;
        let max_keys = limits.max_keys.clamp(1, Self::MAX_KEYS_LIMIT);
        let max_scan = limits.max_scan_bytes.clamp(1, Self::MAX_SCAN_BYTES_LIMIT);
        let (keys, ends_clean) = read_keys(&mut file, max_scan).map_err(io)?;
        let mut state = LogState {
            file,
            seen: HashSet::new(),
            order: VecDeque::new(),
            max_keys,
            needs_newline: !ends_clean,
        };
        for key in keys {
            state.remember(key);
        }
        Ok(Self {
            path,
            state: Arc::new(Mutex::new(state)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many dedupe keys the sender remembers now.
    pub fn remembered_keys(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }
}

/// The dedupe keys in the last `max_scan` bytes of the file, oldest first, and whether the
/// file ends with a complete line (or is empty).
fn read_keys(file: &mut File, max_scan: u64) -> std::io::Result<(Vec<String>, bool)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((Vec::new(), true));
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    let ends_clean = last[0] == b'\n';

    let start = len.saturating_sub(max_scan);
    // Starting mid-line, the first (partial) line is skipped.
    let mut mid_line = false;
    if start > 0 {
        let mut before = [0u8; 1];
        file.seek(SeekFrom::Start(start - 1))?;
        file.read_exact(&mut before)?;
        mid_line = before[0] != b'\n';
    }
    file.seek(SeekFrom::Start(start))?;
    let mut reader = BufReader::new(file.take(len - start));
    let mut line = Vec::new();
    if mid_line {
        reader.read_until(b'\n', &mut line)?;
    }
    let mut keys = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        // Torn or foreign lines don't parse and are ignored.
        if let Ok(k) = serde_json::from_slice::<LoggedKey>(&line) {
            keys.push(k.dedupe_key);
        }
    }
    Ok((keys, ends_clean))
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let ms = now.replace_nanosecond(now.millisecond() as u32 * 1_000_000);
    ms.unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[async_trait]
impl Sender for LogSender {
    async fn send(&self, msg: &OutboxMessage, text: &Rendered) -> Result<(), SendError> {
        let state = self.state.clone();
        let key = msg.dedupe_key.clone();
        let mut line = serde_json::to_vec(&LogLine {
            id: msg.id,
            dedupe_key: &msg.dedupe_key,
            kind: &msg.kind,
            recipient: &msg.recipient,
            text_fa: &text.text_fa,
            text_en: &text.text_en,
            at: now_rfc3339(),
        })
        .map_err(|e| SendError::Permanent(format!("cannot encode the log line: {e}")))?;
        line.push(b'\n');
        // File writes and fsync block: off the async workers. The lock makes check-and-write
        // atomic, so concurrent sends of one key write it once.
        tokio::task::spawn_blocking(move || {
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            if s.seen.contains(&key) {
                tracing::debug!(dedupe_key = %key, "already in the notification log");
                return Ok(());
            }
            if s.needs_newline {
                s.file
                    .write_all(b"\n")
                    .map_err(|e| SendError::Retryable(format!("notification log: {e}")))?;
                s.needs_newline = false;
            }
            let written = s.file.write_all(&line).and_then(|()| s.file.sync_data());
            if let Err(e) = written {
                // Part of the line may be on disk; the next line starts afresh.
                s.needs_newline = true;
                return Err(SendError::Retryable(format!("notification log: {e}")));
            }
            s.remember(key);
            Ok(())
        })
        .await
        .map_err(|e| SendError::Retryable(format!("notification log writer stopped: {e}")))?
    }
}

// ---------------------------------------------------------------------------------------------
// Webhook sender

/// POSTs each notification as JSON to a URL.
///
/// Request: `POST <url>`, `Content-Type: application/json`, `Idempotency-Key: <dedupe_key>`
/// (the same on every attempt for one event, so the receiver can drop repeats), body (fields
/// in this order):
///
/// ```json
/// {"id":17,"dedupe_key":"booking.confirmed:1764396000000:K7M2Q9XA","kind":"booking.confirmed",
///  "recipient":"09121234567","text_fa":"…","text_en":"…",
///  "payload":{"tracking_code":"K7M2-Q9XA","office":"10000001","service":"PSP-001",
///             "slot_start_ms":1795924800000,"slot_end_ms":1795926600000}}
/// ```
///
/// Outcome: 2xx is delivered. 408, 425, 429, any 5xx, timeouts and connection errors are
/// retried. Redirects are not followed; a 3xx (and any other unexpected status) is retried,
/// so a moved endpoint can be fixed before the message gives up. Any other 4xx is permanent.
///
/// Only `http://` URLs are accepted: this build has no TLS. Proxies from the environment are
/// not used.
pub struct WebhookSender {
    url: reqwest::Url,
    client: reqwest::Client,
}

#[derive(serde::Serialize)]
struct WebhookBody<'a> {
    id: i64,
    dedupe_key: &'a str,
    kind: &'a str,
    recipient: &'a str,
    text_fa: &'a str,
    text_en: &'a str,
    payload: &'a serde_json::Value,
}

impl WebhookSender {
    /// Below the dispatcher's default `send_timeout_ms` (10 s), so the HTTP error is the one
    /// recorded.
    pub const DEFAULT_TIMEOUT_MS: u64 = 8_000;
    pub const MIN_TIMEOUT_MS: u64 = 100;
    pub const MAX_TIMEOUT_MS: u64 = 120_000;
    /// Longest URL accepted, in bytes.
    pub const MAX_URL_BYTES: usize = 2_000;

    /// A sender posting to `url` (`http://host[:port][/path]`), giving up on one request
    /// after `timeout_ms` (`MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS`), connecting included.
    pub fn new(url: &str, timeout_ms: u64) -> Result<Self, Error> {
        let bad = |reason: &str| Error::BadSpec {
            spec: format!("webhook:{}", redact(url)),
            reason: reason.to_string(),
        };
        let url = url.trim();
        if url.len() > Self::MAX_URL_BYTES {
            return Err(bad("the URL is too long"));
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| bad(&format!("not a URL ({e}); expected http://host:port/path")))?;
        match parsed.scheme() {
            "http" => {}
            "https" => return Err(bad("https is not supported by this build (no TLS)")),
            _ => return Err(bad("expected an http:// URL")),
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(bad("the URL has no host"));
        }
        if !(Self::MIN_TIMEOUT_MS..=Self::MAX_TIMEOUT_MS).contains(&timeout_ms) {
            return Err(Error::BadConfig(format!(
                "webhook timeout_ms must be {}..={}, not {timeout_ms}",
                Self::MIN_TIMEOUT_MS,
                Self::MAX_TIMEOUT_MS
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .connect_timeout(Duration::from_millis(timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(32)
            .build()
            .map_err(|e| Error::Client(e.to_string()))?;
        Ok(Self {
            url: parsed,
            client,
        })
    }

    /// The URL posted to, without any user name, password or query.
    pub fn url(&self) -> String {
        redact(self.url.as_str())
    }
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("url", &self.url())
            .finish()
    }
}

/// A URL fit for logs: credentials and query removed.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => "<invalid url>".to_string(),
    }
}

/// Whether a non-2xx status is worth retrying.
fn retryable_status(status: u16) -> bool {
    match status {
        408 | 425 | 429 => true,
        400..=499 => false,
        _ => true,
    }
}

#[async_trait]
impl Sender for WebhookSender {
    async fn send(&self, msg: &OutboxMessage, text: &Rendered) -> Result<(), SendError> {
        let body = WebhookBody {
            id: msg.id,
            dedupe_key: &msg.dedupe_key,
            kind: &msg.kind,
            recipient: &msg.recipient,
            text_fa: &text.text_fa,
            text_en: &text.text_en,
            payload: &msg.payload,
        };
        let response = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", msg.dedupe_key.as_str())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() {
                    "timed out"
                } else if e.is_connect() {
                    "cannot connect"
                } else {
                    "request failed"
                };
                // reqwest's text names the URL, which may carry a secret: keep it out.
                SendError::Retryable(format!("webhook {what}: {}", e.without_url()))
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let error = format!("webhook answered HTTP {status}");
        if retryable_status(status) {
            Err(SendError::Retryable(error))
        } else {
            Err(SendError::Permanent(error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for s in [408, 425, 429, 500, 502, 503, 504, 599, 301, 302, 100] {
            assert!(retryable_status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 413, 422, 499] {
            assert!(!retryable_status(s), "{s}");
        }
    }

    #[test]
    fn urls_are_checked_and_secrets_kept_out_of_errors() {
        assert!(WebhookSender::new("http://127.0.0.1:9/hook", 1_000).is_ok());
        let e = WebhookSender::new("https://user:pw@example.com/x?token=s3cret", 1_000)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no TLS") && !e.contains("pw") && !e.contains("s3cret"),
            "{e}"
        );
        assert!(WebhookSender::new("ftp://example.com/", 1_000).is_err());
        assert!(WebhookSender::new("not a url", 1_000).is_err());
        assert!(WebhookSender::new("http://127.0.0.1:9/", 0).is_err());
        let w = WebhookSender::new("http://a:b@127.0.0.1:9/h?k=v", 1_000).unwrap();
        assert_eq!(w.url(), "http://127.0.0.1:9/h");
    }
}
