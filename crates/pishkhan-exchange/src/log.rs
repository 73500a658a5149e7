//! The message log: a non-repudiation record of every inquiry, as an RFC 6962 Merkle tree.
//!
//! Each inquiry becomes one [`LogEntry`]; its leaf is the entry's canonical bytes
//! ([`LogEntry::to_canonical_bytes`]) and its leaf hash `pishkhan_merkle::leaf_hash(bytes)`.
//! A [`LogAppender`] group-commits entries into a [`LogStore`] and signs one checkpoint (C2SP
//! note body, signed as a JWS by the log key) per batch. [`inclusion_proof`] and
//! [`consistency_proof`] serve proofs from the stored nodes, and [`verify_log`] re-derives the
//! whole log from the stored bytes and checks everything else a store keeps against it: leaf
//! hashes, the [`IndexFields`] beside each entry, every node, the head and every checkpoint.
//!
//! # Canonical entry encoding
//!
//! The leaf bytes are UTF-8 JSON with no insignificant whitespace, in which:
//! * every object's members are sorted by name, comparing the UTF-8 bytes (this applies to the
//!   kept request and answer bodies too);
//! * strings are written as serde_json writes them: `"` `\\` and control characters escaped
//!   (`\n`, `\u001f`, ...), everything else, non-ASCII included, as raw UTF-8;
//! * numbers as serde_json writes them (integers in plain decimal);
//! * absent optional fields are left out, never written as `null`;
//! * a version member `"v":1` is always present.
//!
//! [`LogEntry::from_canonical_bytes`] accepts only bytes that re-encode to themselves, so one
//! entry has exactly one leaf.

mod appender;
mod memory;
mod verify;

use async_trait::async_trait;
use pishkhan_merkle::{Hash, NodeId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::directory::{MemberId, ServiceId};

pub use appender::{
    APPEND_QUEUE_CAPACITY, CHECKPOINT_TYP, LogAppender, MAX_BATCH, verify_checkpoint,
};
pub use memory::MemoryLogStore;
pub use verify::{
    MAX_STRAYS, VERIFY_PAGE_ENTRIES, VerifyFailure, VerifyReport, consistency_proof,
    inclusion_proof, root_at, verify_log, verify_log_with_progress,
};

/// Version of the canonical entry encoding (the `"v"` member).
pub const ENTRY_VERSION: u64 = 1;
/// Largest canonical entry accepted, in bytes.
pub const MAX_ENTRY_BYTES: usize = 1024 * 1024;
/// Most entries a caller asks [`LogStore::entries`] for at once, and most checkpoints it asks
/// [`LogStore::checkpoints`] for.
pub const MAX_READ_ROWS: u64 = 4096;

/// How an inquiry ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogOutcome {
    /// The agency answered with data.
    Ok,
    /// The exchange or the agency refused it (not allowed, bad purpose, bad input, ...).
    Refused,
    /// Something broke (timeout, unreachable, bad signature, circuit open, ...).
    Failed,
}

/// The purpose, as logged (the operator is a field of the entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedPurpose {
    pub legal_basis: String,
    pub service_code: String,
    pub case_id: String,
}

/// One inquiry in the message log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// When the inquiry ended, Unix milliseconds.
    pub at_ms: i64,
    pub office: MemberId,
    pub operator: String,
    pub service: ServiceId,
    /// The answering agency (absent if the service was unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<MemberId>,
    pub purpose: LoggedPurpose,
    /// The person the inquiry is about (canonical national code), for the citizen's view of
    /// who looked at their data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// SHA-256 (hex) of the request body bytes.
    pub request_sha256: String,
    /// SHA-256 (hex) of the answer bytes the agency signed, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_sha256: Option<String>,
    /// The HTTP status the agency signed, if it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub outcome: LogOutcome,
    /// The stable error code when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_nonce: Option<String>,
    /// The agency's signature over its answer (JWS): the evidence of what it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_signature: Option<String>,
    /// The request body, only for services with `keep_bodies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<Value>,
    /// The answer as delivered to the office (minimised), only with `keep_bodies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<Value>,
    /// Set when the answer was served from the exchange's cache: when the agency gave it (Unix
    /// milliseconds). The nonce, signature and hashes are then those of that original answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_at_ms: Option<i64>,
}

/// Why an entry's bytes are not a canonical log entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical log entry: {0}")]
pub struct EntryError(pub String);

impl LogEntry {
    /// The canonical leaf bytes (see the module documentation).
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).expect("a log entry serializes");
        if let Value::Object(map) = &mut value {
            map.insert("v".to_owned(), Value::from(ENTRY_VERSION));
        }
        let mut out = Vec::with_capacity(512);
        write_canonical(&mut out, &value);
        out
    }

    /// Parses canonical leaf bytes; refuses other versions and non-canonical encodings.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<LogEntry, EntryError> {
        let mut value: Value =
            serde_json::from_slice(bytes).map_err(|e| EntryError(format!("not JSON: {e}")))?;
        let version = value
            .as_object_mut()
            .and_then(|m| m.remove("v"))
            .and_then(|v| v.as_u64());
        if version != Some(ENTRY_VERSION) {
            return Err(EntryError(format!("version is not {ENTRY_VERSION}")));
        }
        let entry: LogEntry =
            serde_json::from_value(value).map_err(|e| EntryError(e.to_string()))?;
        if entry.to_canonical_bytes() != bytes {
            return Err(EntryError(
                "the bytes are not the canonical encoding".into(),
            ));
        }
        Ok(entry)
    }

    /// `pishkhan_merkle::leaf_hash` of the canonical bytes.
    pub fn leaf_hash(&self) -> Hash {
        pishkhan_merkle::leaf_hash(&self.to_canonical_bytes())
    }

    /// The fields a store keeps beside this entry's bytes.
    pub fn index_fields(&self) -> IndexFields {
        IndexFields {
            at_ms: self.at_ms,
            subject: self.subject.clone(),
            office: self.office.to_string(),
        }
    }
}

/// Copies of an entry's fields that a store keeps beside its bytes, so it can find entries
/// without parsing them (the citizen's data-access view by subject, an office's inquiries,
/// time). They are outside the leaf hash, so [`verify_log`] re-derives each from the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFields {
    pub at_ms: i64,
    /// The canonical national code the inquiry was about.
    pub subject: Option<String>,
    /// The office's member id.
    pub office: String,
}

fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (name, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, name).expect("writing to a Vec cannot fail");
                out.push(b':');
                write_canonical(out, member);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        scalar => {
            serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Storage

/// A checkpoint: the tree head at `size` with its signed C2SP note body. Every field is
/// bound by the signature (size and root through the note body), so a store keeps nothing
/// about a checkpoint that [`verify_log`] cannot check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// `origin\nsize\nbase64(root)\n` (C2SP tlog-checkpoint body).
    pub note_body: String,
    /// Compact JWS (`typ` [`CHECKPOINT_TYP`]) whose payload is exactly `note_body`.
    pub signature: String,
}

/// What [`LogStore::load_head`] returns: the persisted frontier and the log size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// [`pishkhan_merkle::Frontier::to_bytes`].
    pub frontier: Vec<u8>,
    pub size: u64,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    pub index: u64,
    pub bytes: Vec<u8>,
    /// The leaf hash stored beside the bytes.
    pub leaf_hash: Hash,
    /// The index fields stored beside the bytes.
    pub fields: IndexFields,
}

/// An entry to append: its canonical bytes, leaf hash and index fields, all derived from one
/// [`LogEntry`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchEntry {
    pub bytes: Vec<u8>,
    pub leaf_hash: Hash,
    pub fields: IndexFields,
}

/// One group commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Index of the first entry; must equal the stored log size.
    pub first_index: u64,
    /// The entries, in index order from `first_index`.
    pub entries: Vec<BatchEntry>,
    /// Every node completed by these appends (level 0, the leaves, included).
    pub nodes: Vec<(NodeId, Hash)>,
    /// The frontier after the batch ([`pishkhan_merkle::Frontier::to_bytes`]).
    pub frontier: Vec<u8>,
    /// The checkpoint at `first_index + entries.len()`.
    pub checkpoint: SignedCheckpoint,
}

/// Rows a store holds whose key lies outside the log: entry indexes not in `0..size`, nodes
/// not in the tree of `size` leaves. Keys are as stored (signed), so a row moved below zero
/// shows too. A sound log has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Strays {
    pub entries: Vec<i64>,
    /// `(level, index)`.
    pub nodes: Vec<(i64, i64)>,
}

/// A stored field of the log, as [`verify_log`] names what disagrees; a store names each by
/// its own column ([`LogStore::column_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogColumn {
    /// An entry's leaf index.
    EntryIndex,
    /// An entry's canonical bytes (the leaf).
    EntryBytes,
    EntryLeafHash,
    /// [`IndexFields::at_ms`].
    EntryAt,
    /// [`IndexFields::subject`].
    EntrySubject,
    /// [`IndexFields::office`].
    EntryOffice,
    NodeLevel,
    NodeIndex,
    NodeHash,
    /// The head itself (a store keeps one head row under a fixed key).
    Head,
    HeadSize,
    HeadFrontier,
    CheckpointSize,
    CheckpointRoot,
    CheckpointNoteBody,
    CheckpointSignature,
}

impl LogColumn {
    /// A store-neutral name, such as `entry.subject`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogColumn::EntryIndex => "entry.index",
            LogColumn::EntryBytes => "entry.bytes",
            LogColumn::EntryLeafHash => "entry.leaf_hash",
            LogColumn::EntryAt => "entry.at_ms",
            LogColumn::EntrySubject => "entry.subject",
            LogColumn::EntryOffice => "entry.office",
            LogColumn::NodeLevel => "node.level",
            LogColumn::NodeIndex => "node.index",
            LogColumn::NodeHash => "node.hash",
            LogColumn::Head => "head",
            LogColumn::HeadSize => "head.size",
            LogColumn::HeadFrontier => "head.frontier",
            LogColumn::CheckpointSize => "checkpoint.size",
            LogColumn::CheckpointRoot => "checkpoint.root",
            LogColumn::CheckpointNoteBody => "checkpoint.note_body",
            LogColumn::CheckpointSignature => "checkpoint.signature",
        }
    }
}

/// A log store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogStoreError {
    /// The batch does not start at the stored size: another appender wrote first.
    #[error(
        "log append conflict: the batch starts at {first_index} but the log holds {size} entries"
    )]
    Conflict { first_index: u64, size: u64 },
    /// The backend failed (I/O, database, corrupt row, ...).
    #[error("log storage failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl LogStoreError {
    pub fn code(&self) -> &'static str {
        match self {
            LogStoreError::Conflict { .. } => "log_conflict",
            LogStoreError::Backend(_) => "log_storage_failed",
        }
    }

    /// A backend error from any error value.
    pub fn backend(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> LogStoreError {
        LogStoreError::Backend(e.into())
    }
}

/// Storage of the message log. The SQL stores implement it.
///
/// # Contract
///
/// * [`append_batch`](LogStore::append_batch) is **one transaction**: the entries (at indexes
///   `first_index..`, each with its index fields), every node of `batch.nodes`, the frontier
///   and log size, and the
///   checkpoint are all written, or nothing is. It **must fail** with
///   [`LogStoreError::Conflict`] if `first_index` is not the stored size, checked inside the
///   transaction (a conditional update of the head row, or a unique index on entry index), so
///   two appenders can never interleave. It returns only once the transaction is durable.
/// * Rows are append-only: nothing updates or deletes entries, nodes or checkpoints.
/// * [`load_head`](LogStore::load_head) returns the frontier and size of the last committed
///   batch (`None` for an empty log).
/// * [`node`](LogStore::node) returns a node stored by some batch, `None` if never stored.
///   Level-0 nodes equal the entries' leaf hashes; a store may serve them from the entry table.
/// * [`entries`](LogStore::entries)`(from, to)` returns the stored rows with `from <= index <
///   to`, ascending, as stored (never recomputed), including their stored leaf hash. It returns
///   what exists: a missing row is simply absent. Callers ask for at most [`MAX_READ_ROWS`].
/// * [`checkpoints`](LogStore::checkpoints)`(from_size, limit)` returns checkpoints with
///   `size >= from_size`, ascending by size, at most `limit` (≤ [`MAX_READ_ROWS`]).
///   [`checkpoint_at_or_after`](LogStore::checkpoint_at_or_after) the one with the smallest
///   `size >= size`. Checkpoint sizes are unique.
/// * [`strays`](LogStore::strays)`(size, limit)` returns the stored entry and node keys outside
///   the log of `size` entries, at most `limit` of each (callers ask for at most
///   [`MAX_STRAYS`]).
/// * A store keeps nothing about the log beyond these fields: whatever else it stored could
///   change unseen by [`verify_log`].
#[async_trait]
pub trait LogStore: Send + Sync {
    async fn load_head(&self) -> Result<Option<LogHead>, LogStoreError>;

    async fn append_batch(&self, batch: &Batch) -> Result<(), LogStoreError>;

    async fn node(&self, id: NodeId) -> Result<Option<Hash>, LogStoreError>;

    /// Several nodes at once (one query in a SQL store); the default asks one by one.
    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, LogStoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.node(*id).await?);
        }
        Ok(out)
    }

    async fn entries(&self, from: u64, to: u64) -> Result<Vec<StoredEntry>, LogStoreError>;

    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, LogStoreError>;

    async fn checkpoint_at_or_after(
        &self,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, LogStoreError>;

    async fn strays(&self, size: u64, limit: usize) -> Result<Strays, LogStoreError>;

    /// How this store names `column` in a report (a SQL store: `table.column`).
    fn column_name(&self, column: LogColumn) -> &'static str {
        column.as_str()
    }
}

/// Why a log operation failed. [`LogError::code`] is stable.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    #[error(transparent)]
    Store(std::sync::Arc<LogStoreError>),
    #[error("the log appender has stopped")]
    Closed,
    #[error("log entry is {len} bytes, more than {max}")]
    EntryTooLarge { len: usize, max: usize },
    #[error("the stored log head is corrupt: {0}")]
    CorruptHead(String),
    #[error("no such proof: {0}")]
    InvalidProof(String),
    #[error("the log store lacks {0}")]
    MissingNode(NodeId),
    #[error("checkpoint cannot be signed: {0}")]
    Checkpoint(String),
}

impl LogError {
    pub fn code(&self) -> &'static str {
        match self {
            LogError::Store(e) => e.code(),
            LogError::Closed => "log_closed",
            LogError::EntryTooLarge { .. } => "entry_too_large",
            LogError::CorruptHead(_) => "corrupt_head",
            LogError::InvalidProof(_) => "invalid_proof",
            LogError::MissingNode(_) => "missing_node",
            LogError::Checkpoint(_) => "checkpoint_failed",
        }
    }
}

impl From<LogStoreError> for LogError {
    fn from(e: LogStoreError) -> LogError {
        LogError::Store(std::sync::Arc::new(e))
    }
}

/// The current time in Unix milliseconds.
pub(crate) fn unix_now_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}
