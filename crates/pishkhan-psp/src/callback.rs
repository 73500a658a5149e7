//! Delivering callbacks to the merchant: POSTed JSON, retried with doubling backoff a bounded
//! number of times, each attempt bounded in time. A delivery that never succeeds is logged and
//! dropped: the merchant still learns the outcome by verifying.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pishkhan_protocol::psp::Callback;
use tokio::sync::oneshot;

use crate::config::CallbackPolicy;

/// Most deliveries under way at once; past it new ones are dropped (and logged), so a merchant
/// that never answers cannot make the PSP hold unbounded work.
const MAX_PENDING_DELIVERIES: usize = 10_000;

pub(crate) struct Callbacks {
    client: reqwest::Client,
    policy: CallbackPolicy,
    pending: Arc<AtomicUsize>,
}

impl Callbacks {
    pub(crate) fn new(policy: CallbackPolicy) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(policy.attempt_timeout_ms))
            .connect_timeout(Duration::from_millis(policy.attempt_timeout_ms))
            // A merchant's redirect is not followed: the callback goes where it was registered.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            client,
            policy,
            pending: Arc::new(AtomicUsize::new(0)),
        })
    }

    pub(crate) fn wait(&self) -> Duration {
        Duration::from_millis(self.policy.wait_ms)
    }

    /// Starts delivering `copies` copies of `cb` one after the other. The receiver fires once
    /// the first attempt has ended, however it ended (or at once when the delivery is dropped).
    pub(crate) fn send(&self, url: String, cb: &Callback, copies: u32) -> oneshot::Receiver<()> {
        let (first_done, first) = oneshot::channel();
        let body = match serde_json::to_vec(cb) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a callback");
                return first;
            }
        };
        if self.pending.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING_DELIVERIES {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(
                order_id = cb.order_id,
                "too many callbacks pending; dropped"
            );
            return first;
        }
        let client = self.client.clone();
        let policy = self.policy.clone();
        let pending = self.pending.clone();
        let order_id = cb.order_id;
        tokio::spawn(async move {
            let mut first_done = Some(first_done);
            for _ in 0..copies {
                let ok = deliver(&client, &url, &body, &policy, &mut first_done).await;
                if !ok {
                    tracing::warn!(order_id, "callback not delivered; the merchant must verify");
                }
            }
            pending.fetch_sub(1, Ordering::AcqRel);
        });
        first
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    body: &[u8],
    policy: &CallbackPolicy,
    first_done: &mut Option<oneshot::Sender<()>>,
) -> bool {
    let mut backoff = Duration::from_millis(policy.first_backoff_ms);
    for attempt in 1..=policy.attempts {
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
            .send()
            .await;
        let ok = matches!(&sent, Ok(r) if r.status().is_success());
        if let Some(done) = first_done.take() {
            let _ = done.send(());
        }
        if ok {
            return true;
        }
        match sent {
            Ok(r) => tracing::debug!(attempt, status = %r.status(), "callback refused"),
            Err(e) => tracing::debug!(attempt, error = %e, "callback failed"),
        }
        if attempt < policy.attempts {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    false
}
