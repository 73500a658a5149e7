//! Group commit for identity verification records.
//!
//! Each verification must be durable before its answer leaves (the receipt names it, the
//! lockout counts it). The records waiting together are committed in one transaction
//! ([`Store::record_verifications`]); a batch that fails is retried record by record, so one
//! bad record fails only its own request.

use std::sync::Arc;

use pishkhan_store::{MAX_VERIFICATION_BATCH, Store, StoreError, VerificationWrite};

use crate::group_commit::GroupCommit;

/// The handle callers record through; the task ends when the last handle is dropped.
pub struct VerificationWriter {
    writer: GroupCommit<VerificationWrite>,
}

impl VerificationWriter {
    pub fn start(store: Arc<dyn Store>) -> VerificationWriter {
        let writer = GroupCommit::start(
            "verification writer",
            MAX_VERIFICATION_BATCH,
            move |writes: Vec<VerificationWrite>| {
                let store = store.clone();
                async move { commit(store.as_ref(), &writes).await }
            },
        );
        VerificationWriter { writer }
    }

    /// Records one verification; returns once it is committed.
    pub async fn record(&self, write: VerificationWrite) -> Result<(), StoreError> {
        self.writer.write(write).await
    }
}

async fn commit(store: &dyn Store, writes: &[VerificationWrite]) -> Vec<Result<(), StoreError>> {
    match store.record_verifications(writes).await {
        Ok(()) => writes.iter().map(|_| Ok(())).collect(),
        Err(e) if writes.len() == 1 => vec![Err(e)],
        Err(e) => {
            tracing::warn!(error = %e, records = writes.len(), "verification batch failed; writing one by one");
            let mut out = Vec::with_capacity(writes.len());
            for write in writes {
                out.push(
                    store
                        .record_verifications(std::slice::from_ref(write))
                        .await,
                );
            }
            out
        }
    }
}
