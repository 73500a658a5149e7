//! The exchange's Merkle message log: entries, subtree nodes, the head and signed
//! checkpoints (see `pishkhan-exchange` for the tree).

use async_trait::async_trait;
use pishkhan_domain::NationalCode;

use crate::{Page, PageRequest, Result};

/// Rows one read returns at most.
pub const MAX_LOG_READ_ROWS: u64 = 4_096;

/// One entry of the exchange's message log as stored. Only `bytes` is the record; the other
/// fields are copies derived from it (the leaf hash, and indexes to find entries by), which
/// `pishkhan audit verify` re-derives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeLogEntry {
    pub index: u64,
    /// The canonical entry bytes (the Merkle leaf).
    pub bytes: Vec<u8>,
    pub leaf_hash: [u8; 32],
    /// When the inquiry ended.
    pub at_ms: i64,
    /// The national code the inquiry was about.
    pub subject: Option<String>,
    /// The office member id that made the inquiry.
    pub office: String,
}

/// A signed checkpoint of the exchange log: the tree's size and root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeCheckpoint {
    pub size: u64,
    pub root: [u8; 32],
    pub note_body: String,
    /// Compact JWS over `note_body` by the log key.
    pub signature: String,
}

/// Rows whose key lies outside a log of some size (see [`ExchangeLog::exchange_log_strays`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeLogStrays {
    /// Entry indexes.
    pub entries: Vec<i64>,
    /// Node (level, index) pairs.
    pub nodes: Vec<(i64, i64)>,
}

/// One group commit to the exchange log (see `pishkhan_exchange::Batch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeLogBatch {
    pub first_index: u64,
    /// Entries from `first_index` on (their `index` is ignored).
    pub entries: Vec<ExchangeLogEntry>,
    /// Completed subtree nodes: (level, index, hash).
    pub nodes: Vec<(u8, u64, [u8; 32])>,
    pub frontier: Vec<u8>,
    pub checkpoint: ExchangeCheckpoint,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait ExchangeLog: Send + Sync + 'static {
    /// The log's size and frontier, `None` while it is empty.
    async fn exchange_log_head(&self) -> Result<Option<(Vec<u8>, u64)>>;

    /// Appends one batch in one transaction; `Conflict` unless it starts at the stored size.
    ///
    /// **No permit:** system work (the exchange's group commit of inquiries already authorized one
    /// by one); the log is itself an append-only, signed record.
    async fn append_exchange_log(&self, batch: &ExchangeLogBatch) -> Result<()>;

    async fn exchange_log_nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Option<[u8; 32]>>>;

    /// Entries with index in `[from, to)`, ascending (at most 4,096).
    async fn exchange_log_entries(&self, from: u64, to: u64) -> Result<Vec<ExchangeLogEntry>>;

    /// Entries about one person, newest first: the citizen's data-access view.
    async fn exchange_log_subject(
        &self,
        national_code: &NationalCode,
        page: PageRequest,
    ) -> Result<Page<ExchangeLogEntry>>;

    /// Checkpoints with `size >= from_size`, ascending (at most 4,096).
    async fn exchange_checkpoints(
        &self,
        from_size: u64,
        limit: u64,
    ) -> Result<Vec<ExchangeCheckpoint>>;

    async fn latest_exchange_checkpoint(&self) -> Result<Option<ExchangeCheckpoint>>;

    /// Entries whose index is not in `0..size` and nodes not in the tree of `size` leaves, at
    /// most `limit` of each: none in a sound log (the audit looks for rows moved or added).
    async fn exchange_log_strays(&self, size: u64, limit: u64) -> Result<ExchangeLogStrays>;
}
