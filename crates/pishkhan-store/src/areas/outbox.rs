//! The notification outbox: messages written in the transaction of the change that causes
//! them, then claimed, delivered and settled by the dispatcher.

use async_trait::async_trait;
pub use pishkhan_domain::outbox::OutboxKind;

use crate::Result;

pub use pishkhan_domain::outbox::{Notice, OutboxMessage, OutboxOutcome};

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

    /// Settles several messages in one transaction, each `(id, outcome, now_ms)` as
    /// [`Outbox::settle_outbox`] would. Returns, in order, whether each message was settled
    /// (`false`: it was no longer pending, and nothing changed for it). An `Err` means none
    /// was settled.
    ///
    /// Why one transaction: on SQLite, a transaction per message (one fsync each, one per
    /// booking) kept the write lock busy almost all the time under load, and the booking
    /// engine's own committer, waiting in SQLite's sleep-and-retry busy handler, lost the
    /// race for up to seconds (issue 11).
    ///
    /// **No permit:** system work (the outbox dispatcher); only delivery bookkeeping changes.
    async fn settle_outbox_batch(
        &self,
        settlements: &[(i64, OutboxOutcome, i64)],
    ) -> Result<Vec<bool>>;

    /// Newest first, optionally for one recipient.
    async fn outbox_messages(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>>;
}
