//! The group-committing appender.

use std::sync::Arc;

use pishkhan_merkle::{Checkpoint, Frontier, Hash};
use pishkhan_sign::{KeyPair, Keyring, jws};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{
    Batch, BatchEntry, LogColumn, LogEntry, LogError, LogStore, MAX_ENTRY_BYTES, SignedCheckpoint,
};

/// Most entries committed in one batch (one transaction, one checkpoint).
pub const MAX_BATCH: usize = 1024;
/// Most appends waiting for the writer; further callers wait for room (back-pressure).
pub const APPEND_QUEUE_CAPACITY: usize = 8192;
/// `typ` of a checkpoint signature.
pub const CHECKPOINT_TYP: &str = "pishkhan-checkpoint+jws";

struct Job {
    entry: BatchEntry,
    reply: oneshot::Sender<Result<u64, LogError>>,
}

/// Appends entries through one background writer task that group-commits: it takes whatever
/// is waiting (up to [`MAX_BATCH`]), extends the tree, signs one checkpoint, writes the batch
/// in one [`LogStore::append_batch`], and only then answers each caller with its leaf index.
/// While a batch commits, the next one gathers, so throughput grows with the commit latency
/// instead of being bounded by it.
///
/// Several appenders may share one store (one per node of a deployment): the store moves the
/// head only from exactly a batch's first index, so one batch commits at a time and the tree
/// stays one. A batch that loses that race reloads the head and is rebuilt on top of it (at
/// most [`MAX_CONFLICT_RETRIES`] times) before anyone is answered, so callers never see
/// another node's work. Any other failure answers every caller in the batch with the error,
/// and the next batch starts from a reloaded head.
pub struct LogAppender {
    tx: mpsc::Sender<Job>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for LogAppender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogAppender").finish_non_exhaustive()
    }
}

/// Signs the checkpoint of a tree.
pub(crate) fn sign_checkpoint(
    key: &KeyPair,
    origin: &str,
    size: u64,
    root: Hash,
) -> Result<SignedCheckpoint, LogError> {
    let note_body = Checkpoint {
        origin: origin.to_owned(),
        size,
        root,
    }
    .to_note_body()
    .map_err(|e| LogError::Checkpoint(e.to_string()))?;
    let signature = jws::sign(key, Some(CHECKPOINT_TYP), note_body.as_bytes());
    Ok(SignedCheckpoint {
        size,
        root,
        note_body,
        signature,
    })
}

/// Checks a checkpoint: the JWS verifies with a non-revoked key of `keyring`, has typ
/// [`CHECKPOINT_TYP`], signs exactly `note_body`, and the note body is a strict C2SP body
/// agreeing with `size` and `root`. Returns the parsed body. Errors are stable codes with a
/// reason: `(code, reason)`.
pub fn verify_checkpoint(
    checkpoint: &SignedCheckpoint,
    keyring: &Keyring,
) -> Result<Checkpoint, (&'static str, String)> {
    check_checkpoint(checkpoint, keyring).map_err(|f| (f.code, f.reason))
}

/// Why a stored checkpoint does not verify, and which of its stored fields is at fault.
pub(crate) struct CheckpointFault {
    pub code: &'static str,
    pub column: LogColumn,
    pub reason: String,
}

/// [`verify_checkpoint`], naming the field at fault. The signature is checked first: once it
/// verifies, whatever disagrees with its payload is the field that changed.
pub(crate) fn check_checkpoint(
    checkpoint: &SignedCheckpoint,
    keyring: &Keyring,
) -> Result<Checkpoint, CheckpointFault> {
    let fault = |code, column, reason: String| CheckpointFault {
        code,
        column,
        reason,
    };
    let verified = jws::verify(&checkpoint.signature, keyring).map_err(|e| {
        fault(
            "checkpoint_signature",
            LogColumn::CheckpointSignature,
            format!("signature refused: {} ({e})", e.code()),
        )
    })?;
    let typ_ok = verified
        .header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(CHECKPOINT_TYP));
    if !typ_ok {
        return Err(fault(
            "checkpoint_signature",
            LogColumn::CheckpointSignature,
            "the signature is not a checkpoint signature".into(),
        ));
    }
    if verified.payload != checkpoint.note_body.as_bytes() {
        return Err(fault(
            "checkpoint_signature",
            LogColumn::CheckpointNoteBody,
            "the signature does not cover the stored note body".into(),
        ));
    }
    let body = Checkpoint::from_note_body(&checkpoint.note_body).map_err(|e| {
        fault(
            "checkpoint_malformed",
            LogColumn::CheckpointNoteBody,
            format!("note body: {e}"),
        )
    })?;
    if body.size != checkpoint.size {
        return Err(fault(
            "checkpoint_malformed",
            LogColumn::CheckpointSize,
            format!(
                "the stored size {} differs from the signed size {}",
                checkpoint.size, body.size
            ),
        ));
    }
    if body.root != checkpoint.root {
        return Err(fault(
            "checkpoint_malformed",
            LogColumn::CheckpointRoot,
            "the stored root differs from the signed root".into(),
        ));
    }
    Ok(body)
}

async fn load_frontier(store: &dyn LogStore) -> Result<Frontier, LogError> {
    match store.load_head().await? {
        None => Ok(Frontier::new()),
        Some(head) => {
            let frontier = Frontier::from_bytes(&head.frontier)
                .map_err(|e| LogError::CorruptHead(e.to_string()))?;
            if frontier.size() != head.size {
                return Err(LogError::CorruptHead(format!(
                    "frontier size {} but log size {}",
                    frontier.size(),
                    head.size
                )));
            }
            Ok(frontier)
        }
    }
}

impl LogAppender {
    /// Loads the head from `store` and starts the writer task (call within a tokio runtime).
    /// `key` signs checkpoints; `origin` names the log in them, such as
    /// `pishkhan.example/inquiry-log`.
    pub async fn start(
        store: Arc<dyn LogStore>,
        key: KeyPair,
        origin: String,
    ) -> Result<LogAppender, LogError> {
        // Refuse a bad origin now, not at the first batch.
        Checkpoint {
            origin: origin.clone(),
            size: 0,
            root: pishkhan_merkle::empty_root(),
        }
        .to_note_body()
        .map_err(|e| LogError::Checkpoint(e.to_string()))?;
        let frontier = load_frontier(store.as_ref()).await?;
        let (tx, rx) = mpsc::channel(APPEND_QUEUE_CAPACITY);
        let task = tokio::spawn(writer(store, key, origin, frontier, rx));
        Ok(LogAppender { tx, task })
    }

    /// Appends an entry and returns its leaf index once its batch is committed.
    pub async fn append(&self, entry: &LogEntry) -> Result<u64, LogError> {
        let bytes = entry.to_canonical_bytes();
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(LogError::EntryTooLarge {
                len: bytes.len(),
                max: MAX_ENTRY_BYTES,
            });
        }
        let entry = BatchEntry {
            leaf_hash: pishkhan_merkle::leaf_hash(&bytes),
            bytes,
            fields: entry.index_fields(),
        };
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { entry, reply })
            .await
            .map_err(|_| LogError::Closed)?;
        answer.await.map_err(|_| LogError::Closed)?
    }

    /// Stops taking entries, lets the writer commit what is queued, and waits for it.
    pub async fn shutdown(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}

/// Times a batch is rebuilt on top of a head another appender moved, before its callers are
/// told of the conflict. Each lost race means another node committed a batch, so the log
/// moves on meanwhile; only a livelock among many nodes would exhaust this.
pub const MAX_CONFLICT_RETRIES: u32 = 32;

fn is_conflict(e: &LogError) -> bool {
    matches!(e, LogError::Store(s) if matches!(**s, super::LogStoreError::Conflict { .. }))
}

async fn writer(
    store: Arc<dyn LogStore>,
    key: KeyPair,
    origin: String,
    mut frontier: Frontier,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut stale = false;
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let entries: Vec<BatchEntry> = jobs.iter().map(|j| j.entry.clone()).collect();
        let mut result = Err(LogError::Closed);
        for attempt in 0..=MAX_CONFLICT_RETRIES {
            if stale || attempt > 0 {
                match load_frontier(store.as_ref()).await {
                    Ok(f) => {
                        frontier = f;
                        stale = false;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "message log head cannot be reloaded");
                        stale = true;
                        result = Err(e);
                        break;
                    }
                }
            }
            result = commit(store.as_ref(), &key, &origin, &frontier, &entries).await;
            match &result {
                Err(e) if is_conflict(e) => {
                    // Another node's appender committed first: rebuild on top of its batch.
                    tracing::debug!(attempt, "message log batch lost the head; rebuilding");
                }
                _ => break,
            }
        }
        match result {
            Ok((next, first_index)) => {
                frontier = next;
                for (i, job) in jobs.drain(..).enumerate() {
                    let _ = job.reply.send(Ok(first_index + i as u64));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "message log batch failed");
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(e.clone()));
                }
                stale = true;
            }
        }
    }
}

/// Extends `frontier` by `entries`, signs the checkpoint and writes the batch; the new
/// frontier and the batch's first index once it committed.
async fn commit(
    store: &dyn LogStore,
    key: &KeyPair,
    origin: &str,
    frontier: &Frontier,
    entries: &[BatchEntry],
) -> Result<(Frontier, u64), LogError> {
    let mut next = frontier.clone();
    let first_index = next.size();
    let mut nodes = Vec::with_capacity(entries.len() * 2);
    for e in entries {
        nodes.extend(next.push(e.leaf_hash));
    }
    let checkpoint = sign_checkpoint(key, origin, next.size(), next.root())?;
    let batch = Batch {
        first_index,
        entries: entries.to_vec(),
        nodes,
        frontier: next.to_bytes(),
        checkpoint,
    };
    store.append_batch(&batch).await.map_err(LogError::from)?;
    Ok((next, first_index))
}
