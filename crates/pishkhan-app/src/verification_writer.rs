//! Group commit for identity verification records.
//!
//! Each verification must be durable before its answer leaves (the receipt names it, the
//! lockout counts it), and on SQLite each transaction is one fsync on the single writer. The
//! writer task takes every record waiting when it is free and commits them in one transaction
//! ([`Store::record_verifications`]); callers wait for their batch's commit. A batch that fails
//! is retried record by record, so one bad record fails only its own request.

use std::sync::Arc;

use pishkhan_store::{MAX_VERIFICATION_BATCH, Store, StoreError, VerificationWrite};
use tokio::sync::{mpsc, oneshot};

/// Records waiting for the writer; more wait for room (back-pressure, not loss).
const QUEUE_CAPACITY: usize = 4096;

struct Pending {
    write: VerificationWrite,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle callers record through; the task ends when the last handle is dropped.
pub struct VerificationWriter {
    queue: mpsc::Sender<Pending>,
}

impl VerificationWriter {
    pub fn start(store: Arc<dyn Store>) -> VerificationWriter {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(store, rx));
        VerificationWriter { queue }
    }

    /// Records one verification; returns once it is committed.
    pub async fn record(&self, write: VerificationWrite) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        let stopped =
            || StoreError::Io(std::io::Error::other("the verification writer has stopped"));
        self.queue
            .send(Pending { write, done })
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_VERIFICATION_BATCH);
    while rx.recv_many(&mut batch, MAX_VERIFICATION_BATCH).await > 0 {
        let (writes, waiting): (Vec<VerificationWrite>, Vec<_>) =
            batch.drain(..).map(|p| (p.write, p.done)).unzip();
        match store.record_verifications(&writes).await {
            Ok(()) => {
                for done in waiting {
                    let _ = done.send(Ok(()));
                }
            }
            Err(e) if writes.len() == 1 => {
                if let Some(done) = waiting.into_iter().next() {
                    let _ = done.send(Err(e));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, records = writes.len(), "verification batch failed; writing one by one");
                for (write, done) in writes.iter().zip(waiting) {
                    let _ = done.send(
                        store
                            .record_verifications(std::slice::from_ref(write))
                            .await,
                    );
                }
            }
        }
    }
}
