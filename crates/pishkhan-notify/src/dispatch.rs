//! The dispatcher: claims due outbox messages, sends them, settles each one.

use std::future::Future;
use std::ops::AddAssign;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pishkhan_store::{OutboxMessage, OutboxOutcome, Store, StoreError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Error;
use crate::render::Renderer;
use crate::sender::{SendError, Sender};

/// The current time in Unix milliseconds. Passed in so that tests can move time by hand.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    })
}

/// Settings of a [`Dispatcher`]. Each has a range, checked by [`DispatchConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchConfig {
    /// Messages claimed per round (1..=1000).
    pub batch: u32,
    /// How long a claim holds its messages (1_000..=3_600_000 ms). A message not settled by
    /// then is due again, for this or another dispatcher.
    pub lease_ms: u64,
    /// Pause between rounds that found less than a full batch (10..=60_000 ms).
    pub poll_interval_ms: u64,
    /// Delivery attempts before a message is marked failed (1..=100).
    pub max_attempts: u32,
    /// Delay before the first retry (1..=max_backoff_ms); doubles with each further attempt.
    pub base_backoff_ms: u64,
    /// Longest delay between attempts (..=86_400_000 ms).
    pub max_backoff_ms: u64,
    /// Sends in flight at once (1..=256).
    pub concurrency: u32,
    /// Longest one message may take to render and send (100..lease_ms/2 ms); a longer send is
    /// abandoned and retried. A send is started only if it can finish within its lease, so a
    /// message is never in two dispatchers' hands at once.
    pub send_timeout_ms: u64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            lease_ms: 30_000,
            poll_interval_ms: 500,
            max_attempts: 8,
            base_backoff_ms: 1_000,
            max_backoff_ms: 300_000,
            concurrency: 16,
            send_timeout_ms: 10_000,
        }
    }
}

impl DispatchConfig {
    pub fn validate(&self) -> Result<(), Error> {
        fn check(name: &str, v: u64, lo: u64, hi: u64) -> Result<(), Error> {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(Error::BadConfig(format!(
                    "{name} must be {lo}..={hi}, not {v}"
                )))
            }
        }
        check("batch", self.batch.into(), 1, 1_000)?;
        check("lease_ms", self.lease_ms, 1_000, 3_600_000)?;
        check("poll_interval_ms", self.poll_interval_ms, 10, 60_000)?;
        check("max_attempts", self.max_attempts.into(), 1, 100)?;
        check("max_backoff_ms", self.max_backoff_ms, 1, 86_400_000)?;
        check(
            "base_backoff_ms",
            self.base_backoff_ms,
            1,
            self.max_backoff_ms,
        )?;
        check("concurrency", self.concurrency.into(), 1, 256)?;
        check(
            "send_timeout_ms",
            self.send_timeout_ms,
            100,
            self.lease_ms / 2,
        )?;
        Ok(())
    }

    /// The delay before the next attempt of message `message_id` after its
    /// `failed_attempts`-th failure (counting from 1): `base_backoff_ms · 2^(failed − 1)`,
    /// spread by a jitter of ±25 % that is a fixed function of the message id and attempt (so
    /// messages that failed together do not retry together, and tests can predict it), never
    /// more than `max_backoff_ms` and never less than 1.
    pub fn backoff_ms(&self, message_id: i64, failed_attempts: u32) -> u64 {
        let doublings = failed_attempts.saturating_sub(1).min(62);
        let exp = self
            .base_backoff_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_ms);
        let spread = exp / 2;
        let h = mix64((message_id as u64) ^ (u64::from(failed_attempts) << 48));
        let delay = exp - exp / 4 + h % (spread + 1);
        delay.clamp(1, self.max_backoff_ms.max(1))
    }
}

/// SplitMix64's finaliser: a fixed, well-spread hash of one number.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What one round (or, summed, a whole run) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchStats {
    /// Messages claimed from the store.
    pub claimed: u64,
    /// Delivered and settled as sent.
    pub sent: u64,
    /// Failed for now and scheduled for another attempt.
    pub retried: u64,
    /// Settled as failed: a permanent error, or the last allowed attempt failed.
    pub failed: u64,
    /// Claimed but not attempted, because too little of the lease was left or the dispatcher
    /// was shutting down. They are due again when their lease runs out.
    pub skipped: u64,
    /// Store calls that failed (claim or settle). A message whose settle failed is sent again
    /// after its lease, and its dedupe key lets the receiver drop the repeat.
    pub store_errors: u64,
    /// Send tasks that panicked; their messages come back after the lease.
    pub panics: u64,
}

impl AddAssign for DispatchStats {
    fn add_assign(&mut self, o: Self) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
        self.skipped += o.skipped;
        self.store_errors += o.store_errors;
        self.panics += o.panics;
    }
}

/// How one claimed message ended in this round.
#[derive(Clone, Copy)]
enum Delivery {
    Sent,
    Retried,
    Failed,
    Skipped,
}

/// What a send task hands back: nothing to settle (skipped), or the outcome to settle.
enum Attempted {
    Skipped,
    Settle {
        id: i64,
        outcome: OutboxOutcome,
        now: i64,
        delivery: Delivery,
    },
}

/// Moves messages from the outbox to a [`Sender`].
///
/// A message whose payload has an `expires_at_ms` in the past (a sign-in code that came too
/// late) is settled as failed without being sent.
///
/// Each round claims up to `batch` due messages with a lease, renders and sends them with at
/// most `concurrency` in flight, and settles each: `Sent`; `Retry` at
/// `now + backoff_ms(id, attempts)` for a retryable error; `Failed` for a permanent error or
/// when the `max_attempts`-th attempt fails. Several dispatchers (processes) may share one
/// store: claims never overlap while a lease lasts.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    sender: Arc<dyn Sender>,
    renderer: Renderer,
    config: DispatchConfig,
    clock: Clock,
    /// Told each round's figures (the server's metrics); this crate knows no metrics library.
    observer: std::sync::OnceLock<RoundObserver>,
}

/// Called with the figures of every round, empty ones included.
pub type RoundObserver = Box<dyn Fn(&DispatchStats) + Send + Sync>;

impl Dispatcher {
    /// Fails with [`Error::BadConfig`] when a setting is out of range.
    pub fn new(
        store: Arc<dyn Store>,
        sender: Arc<dyn Sender>,
        config: DispatchConfig,
        clock: Clock,
    ) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                renderer: Renderer::new(store.clone()),
                store,
                sender,
                config,
                clock,
                observer: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Has `observer` told the figures of every round from now on; false if one already is.
    pub fn observe_rounds(&self, observer: RoundObserver) -> bool {
        self.inner.observer.set(observer).is_ok()
    }

    pub fn config(&self) -> &DispatchConfig {
        &self.inner.config
    }

    /// One round: claim, send, settle. Returns when every claimed message is settled or
    /// skipped.
    pub async fn run_once(&self) -> DispatchStats {
        self.round(&AtomicBool::new(false)).await
    }

    /// Runs rounds until `shutdown` completes: straight on after a full batch, otherwise after
    /// `poll_interval_ms`. On shutdown no new send starts; sends in flight finish and are
    /// settled before this returns. Returns the totals.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> DispatchStats {
        let mut shutdown = std::pin::pin!(shutdown);
        let stop = AtomicBool::new(false);
        let mut total = DispatchStats::default();
        let poll = Duration::from_millis(self.inner.config.poll_interval_ms);
        loop {
            let stats = {
                let round = self.round(&stop);
                let mut round = std::pin::pin!(round);
                loop {
                    tokio::select! {
                        stats = &mut round => break stats,
                        () = &mut shutdown, if !stop.load(Ordering::Relaxed) => {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            };
            total += stats;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let full =
                stats.claimed >= u64::from(self.inner.config.batch) && stats.store_errors == 0;
            if full {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = std::future::ready(()) => {}
                }
            } else {
                tokio::select! {
                    biased;
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(poll) => {}
                }
            }
        }
        tracing::info!(?total, "notification dispatcher stopped");
        total
    }

    async fn round(&self, stop: &AtomicBool) -> DispatchStats {
        let stats = self.round_unobserved(stop).await;
        if let Some(observer) = self.inner.observer.get() {
            observer(&stats);
        }
        stats
    }

    async fn round_unobserved(&self, stop: &AtomicBool) -> DispatchStats {
        let inner = &self.inner;
        let mut stats = DispatchStats::default();
        let now = (inner.clock)();
        let lease_ms = inner.config.lease_ms as i64;
        let claimed = match inner
            .store
            .claim_outbox(inner.config.batch, now, lease_ms)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot claim notifications");
                stats.store_errors += 1;
                return stats;
            }
        };
        stats.claimed = claimed.len() as u64;
        if claimed.is_empty() {
            return stats;
        }
        let lease_until = now.saturating_add(lease_ms);
        // Outcomes are settled together once the round's sends are done: one store
        // transaction per round, not one per message (see `Inner::settle_all`).
        let mut settle = Vec::with_capacity(claimed.len());
        let permits = Arc::new(Semaphore::new(inner.config.concurrency as usize));
        let mut tasks = JoinSet::new();
        for msg in claimed {
            let Ok(permit) = permits.clone().acquire_owned().await else {
                break;
            };
            if stop.load(Ordering::Relaxed) {
                stats.skipped += 1;
                continue;
            }
            let inner = inner.clone();
            tasks.spawn(async move {
                let _permit = permit;
                inner.deliver(msg, lease_until).await
            });
            // Reap what has finished so the set stays small.
            while let Some(r) = tasks.try_join_next() {
                collect(&mut stats, &mut settle, r);
            }
        }
        while let Some(r) = tasks.join_next().await {
            collect(&mut stats, &mut settle, r);
        }
        inner.settle_all(&mut stats, settle).await;
        stats
    }
}

impl Inner {
    async fn deliver(&self, msg: OutboxMessage, lease_until: i64) -> Attempted {
        let timeout_ms = self.config.send_timeout_ms;
        if (self.clock)().saturating_add(timeout_ms as i64) > lease_until {
            // It could outlive the lease; leave it for the next claim.
            return Attempted::Skipped;
        }
        let now = (self.clock)();
        if let Some(expired) = expired_error(&msg, now) {
            tracing::info!(id = msg.id, kind = %msg.kind, "notification expired before delivery");
            return Attempted::Settle {
                id: msg.id,
                outcome: OutboxOutcome::Failed { error: expired },
                now,
                delivery: Delivery::Failed,
            };
        }
        let attempt = async {
            let text = self.renderer.render(&msg).await;
            self.sender.send(&msg, &text).await
        };
        let result = tokio::time::timeout(Duration::from_millis(timeout_ms), attempt)
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Retryable(format!(
                    "no answer within {timeout_ms} ms"
                )))
            });
        let now = (self.clock)();
        let (outcome, delivery) = self.decide(&msg, result, now);
        match &outcome {
            OutboxOutcome::Sent => {
                tracing::debug!(id = msg.id, kind = %msg.kind, "notification sent")
            }
            OutboxOutcome::Retry {
                error,
                next_attempt_at_ms,
            } => {
                tracing::info!(id = msg.id, kind = %msg.kind, %error, next_attempt_at_ms, "notification will be retried")
            }
            OutboxOutcome::Failed { error } => {
                tracing::warn!(id = msg.id, kind = %msg.kind, %error, "notification failed")
            }
        }
        Attempted::Settle {
            id: msg.id,
            outcome,
            now,
            delivery,
        }
    }

    fn decide(
        &self,
        msg: &OutboxMessage,
        result: Result<(), SendError>,
        now: i64,
    ) -> (OutboxOutcome, Delivery) {
        match result {
            Ok(()) => (OutboxOutcome::Sent, Delivery::Sent),
            Err(SendError::Permanent(error)) => (OutboxOutcome::Failed { error }, Delivery::Failed),
            Err(SendError::Retryable(error)) => {
                let attempts = msg.attempts.saturating_add(1);
                if attempts >= self.config.max_attempts {
                    let error = format!("gave up after {attempts} attempts: {error}");
                    (OutboxOutcome::Failed { error }, Delivery::Failed)
                } else {
                    let delay = self.config.backoff_ms(msg.id, attempts) as i64;
                    let next_attempt_at_ms = now.saturating_add(delay);
                    (
                        OutboxOutcome::Retry {
                            error,
                            next_attempt_at_ms,
                        },
                        Delivery::Retried,
                    )
                }
            }
        }
    }

    /// Settles a round's outcomes in one store transaction, trying a transient store failure
    /// up to three times in all.
    ///
    /// One transaction per round rather than per message: every booking queues a message, and
    /// on SQLite a commit (and fsync) per message kept the database's write lock busy nearly
    /// all the time under load; the booking engine's committer, which waits for that lock in
    /// SQLite's sleep-and-retry busy handler (sleeps of up to 100 ms), then lost the race
    /// again and again, and bookings stalled for up to seconds (issue 11). A message whose
    /// settlement fails is sent again after its lease; its dedupe key lets the receiver drop
    /// the repeat.
    async fn settle_all(
        &self,
        stats: &mut DispatchStats,
        settle: Vec<(i64, OutboxOutcome, i64, Delivery)>,
    ) {
        if settle.is_empty() {
            return;
        }
        let batch: Vec<(i64, OutboxOutcome, i64)> = settle
            .iter()
            .map(|(id, outcome, now, _)| (*id, outcome.clone(), *now))
            .collect();
        let mut pause = Duration::from_millis(50);
        let mut result = self.store.settle_outbox_batch(&batch).await;
        for _ in 0..2 {
            match &result {
                Err(StoreError::Database(e)) => {
                    tracing::debug!(error = %e, "settle failed; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    result = self.store.settle_outbox_batch(&batch).await;
                }
                _ => break,
            }
        }
        match result {
            Ok(done) => {
                for ((id, _, _, delivery), settled) in settle.iter().zip(done) {
                    if settled {
                        count(stats, *delivery);
                    } else {
                        tracing::warn!(id, "cannot settle a notification: it is no longer pending");
                        stats.store_errors += 1;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, messages = settle.len(), "cannot settle notifications; they will be sent again after their lease");
                stats.store_errors += settle.len() as u64;
            }
        }
    }
}

/// Takes a finished send task's result: counts a skip or a panic, or keeps the outcome for
/// the round's settlement.
fn collect(
    stats: &mut DispatchStats,
    settle: &mut Vec<(i64, OutboxOutcome, i64, Delivery)>,
    r: Result<Attempted, tokio::task::JoinError>,
) {
    match r {
        Ok(Attempted::Skipped) => count(stats, Delivery::Skipped),
        Ok(Attempted::Settle {
            id,
            outcome,
            now,
            delivery,
        }) => settle.push((id, outcome, now, delivery)),
        Err(e) => {
            tracing::error!(error = %e, "a notification send task panicked");
            stats.panics += 1;
        }
    }
}

fn count(stats: &mut DispatchStats, d: Delivery) {
    match d {
        Delivery::Sent => stats.sent += 1,
        Delivery::Retried => stats.retried += 1,
        Delivery::Failed => stats.failed += 1,
        Delivery::Skipped => stats.skipped += 1,
    }
}

/// A message whose payload carries `expires_at_ms` (a sign-in code) is worthless after it and
/// is failed instead of sent.
fn expired_error(msg: &OutboxMessage, now: i64) -> Option<String> {
    let expires_at_ms = msg.payload.get("expires_at_ms")?.as_i64()?;
    (now > expires_at_ms).then(|| format!("expired at {expires_at_ms} before delivery"))
}
