//! Group commit for queue appends.
//!
//! Every check-in, call and completion is an append to its office's day log, durable before
//! the counter's screen moves on. Appends of every office waiting together share one
//! transaction ([`Store::append_queue_batch`]), each still all or nothing on its own: one
//! whose queue moved on meanwhile gets its own `Conflict`, and its caller rebuilds and tries
//! again while the others stand. A batch the store refuses whole is retried append by append.

use std::sync::Arc;

use pishkhan_store::{MAX_QUEUE_BATCH, QueueWrite, Store, StoreError};

use crate::group_commit::GroupCommit;

/// The handle callers append through; started with the first append.
pub(crate) struct QueueWriter {
    writer: GroupCommit<QueueWrite>,
}

impl QueueWriter {
    pub(crate) fn start(store: Arc<dyn Store>) -> QueueWriter {
        let writer = GroupCommit::start(
            "queue writer",
            MAX_QUEUE_BATCH,
            move |writes: Vec<QueueWrite>| {
                let store = store.clone();
                async move { commit(store.as_ref(), &writes).await }
            },
        );
        QueueWriter { writer }
    }

    /// Appends; returns once committed, `Conflict` when the queue moved on first.
    pub(crate) async fn append(&self, write: QueueWrite) -> Result<(), StoreError> {
        self.writer.write(write).await
    }
}

async fn commit(store: &dyn Store, writes: &[QueueWrite]) -> Vec<Result<(), StoreError>> {
    match store.append_queue_batch(writes).await {
        Ok(results) => results,
        Err(e) if writes.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, appends = writes.len(), "queue batch failed; appending one by one");
            let mut out = Vec::with_capacity(writes.len());
            for write in writes {
                out.push(
                    match store.append_queue_batch(std::slice::from_ref(write)).await {
                        Ok(mut one) => one.pop().unwrap_or(Ok(())),
                        Err(e) => Err(e),
                    },
                );
            }
            out
        }
    }
}
