//! An in-memory [`LogStore`] for tests and as the reference for the SQL stores.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use pishkhan_merkle::{Frontier, Hash, NodeId};

use super::{Batch, LogHead, LogStore, LogStoreError, SignedCheckpoint, StoredEntry, Strays};

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<StoredEntry>,
    nodes: HashMap<NodeId, Hash>,
    frontier: Option<Vec<u8>>,
    checkpoints: Vec<SignedCheckpoint>,
}

/// A [`LogStore`] in a mutex: each batch is applied whole under the lock, after the same
/// checks a SQL store makes in its transaction.
#[derive(Debug, Default)]
pub struct MemoryLogStore {
    inner: Mutex<Inner>,
}

impl MemoryLogStore {
    pub fn new() -> MemoryLogStore {
        MemoryLogStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.lock().entries.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl LogStore for MemoryLogStore {
    async fn load_head(&self) -> Result<Option<LogHead>, LogStoreError> {
        let inner = self.lock();
        Ok(inner.frontier.as_ref().map(|f| LogHead {
            frontier: f.clone(),
            size: inner.entries.len() as u64,
        }))
    }

    async fn append_batch(&self, batch: &Batch) -> Result<(), LogStoreError> {
        let mut inner = self.lock();
        let size = inner.entries.len() as u64;
        if batch.first_index != size {
            return Err(LogStoreError::Conflict {
                first_index: batch.first_index,
                size,
            });
        }
        let new_size = size + batch.entries.len() as u64;
        let frontier = Frontier::from_bytes(&batch.frontier).map_err(LogStoreError::backend)?;
        if frontier.size() != new_size || batch.checkpoint.size != new_size {
            return Err(LogStoreError::backend(
                "batch frontier or checkpoint size does not match its entries",
            ));
        }
        for (i, e) in batch.entries.iter().enumerate() {
            inner.entries.push(StoredEntry {
                index: size + i as u64,
                bytes: e.bytes.clone(),
                leaf_hash: e.leaf_hash,
                fields: e.fields.clone(),
            });
        }
        for (id, hash) in &batch.nodes {
            inner.nodes.insert(*id, *hash);
        }
        inner.frontier = Some(batch.frontier.clone());
        inner.checkpoints.push(batch.checkpoint.clone());
        Ok(())
    }

    async fn node(&self, id: NodeId) -> Result<Option<Hash>, LogStoreError> {
        Ok(self.lock().nodes.get(&id).copied())
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, LogStoreError> {
        let inner = self.lock();
        Ok(ids.iter().map(|id| inner.nodes.get(id).copied()).collect())
    }

    async fn entries(&self, from: u64, to: u64) -> Result<Vec<StoredEntry>, LogStoreError> {
        let inner = self.lock();
        let len = inner.entries.len() as u64;
        let (from, to) = (from.min(len) as usize, to.min(len) as usize);
        Ok(inner.entries[from..to.max(from)].to_vec())
    }

    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, LogStoreError> {
        let inner = self.lock();
        let start = inner.checkpoints.partition_point(|c| c.size < from_size);
        Ok(inner.checkpoints[start..]
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn checkpoint_at_or_after(
        &self,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, LogStoreError> {
        let inner = self.lock();
        let i = inner.checkpoints.partition_point(|c| c.size < size);
        Ok(inner.checkpoints.get(i).cloned())
    }

    async fn strays(&self, size: u64, limit: usize) -> Result<Strays, LogStoreError> {
        let inner = self.lock();
        let entries = inner
            .entries
            .iter()
            .filter(|e| e.index >= size)
            .take(limit)
            .map(|e| e.index as i64)
            .collect();
        let mut nodes: Vec<(i64, i64)> = inner
            .nodes
            .keys()
            .filter(|id| id.index >= size.checked_shr(u32::from(id.level)).unwrap_or(0))
            .map(|id| (i64::from(id.level), id.index as i64))
            .collect();
        nodes.sort_unstable();
        nodes.truncate(limit);
        Ok(Strays { entries, nodes })
    }
}
