//! The notification outbox: messages written in the transaction of the change that causes
//! them, then claimed, delivered and settled by the dispatcher.

use async_trait::async_trait;
pub use pishkhan_domain::outbox::OutboxKind;

use crate::Result;

/// A notification waiting in, or delivered from, the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: i64,
    /// What happened, as stored: the text of an [`OutboxKind`] (`booking.confirmed`, …), kept
    /// as text so a row written by a newer version still reads; see [`OutboxKind::parse`].
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
    /// What happened; stored as its text (`queue.turn_near`, `visit.survey`, …).
    pub kind: OutboxKind,
    pub recipient: String,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
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

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Leases up to `limit` due messages for `lease_ms`; a message whose lease runs out
    /// unsettled is due again.
    ///
    /// **No permit:** system work (the outbox dispatcher); only delivery bookkeeping changes.
    async fn claim_outbox(
        &self,
        limit: u32,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboxMessage>>;

    /// **No permit:** system work (the outbox dispatcher); only delivery bookkeeping changes.
    async fn settle_outbox(&self, id: i64, outcome: &OutboxOutcome, now_ms: i64) -> Result<()>;

    /// Newest first, optionally for one recipient.
    async fn outbox_messages(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>>;
}
