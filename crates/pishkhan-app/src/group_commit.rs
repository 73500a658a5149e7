//! Group commit for writes that must be durable before their answer leaves.
//!
//! On SQLite each transaction is one fsync through the single writer, and on PostgreSQL one
//! WAL flush; a few milliseconds each, so one transaction per request caps a whole deployment
//! at a few hundred writes a second. Callers hand their write to one task and wait; the task
//! takes every write waiting when it is free, commits them together, and answers each with
//! its own result. While it commits, the next batch gathers.

use std::future::Future;

use pishkhan_store::StoreError;
use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the task; more wait for room (back-pressure, not loss).
const QUEUE_CAPACITY: usize = 4096;

struct Pending<W> {
    write: W,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle callers write through; the task ends when the last handle is dropped.
pub(crate) struct GroupCommit<W> {
    queue: mpsc::Sender<Pending<W>>,
    what: &'static str,
}

impl<W: Send + 'static> GroupCommit<W> {
    /// Starts the task. `commit` takes at most `max` writes and answers one result per write,
    /// in order; a result it leaves out reaches its caller as an error.
    pub(crate) fn start<F, Fut>(what: &'static str, max: usize, mut commit: F) -> Self
    where
        F: FnMut(Vec<W>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<Result<(), StoreError>>> + Send,
    {
        let (queue, mut rx) = mpsc::channel::<Pending<W>>(QUEUE_CAPACITY);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max);
            while rx.recv_many(&mut batch, max).await > 0 {
                let (writes, waiting): (Vec<W>, Vec<_>) =
                    batch.drain(..).map(|p| (p.write, p.done)).unzip();
                for (done, result) in waiting.into_iter().zip(commit(writes).await) {
                    let _ = done.send(result);
                }
            }
        });
        Self { queue, what }
    }

    /// Hands over one write; returns once its batch is committed (or refused it).
    pub(crate) async fn write(&self, write: W) -> Result<(), StoreError> {
        let what = self.what;
        let stopped = || StoreError::Io(std::io::Error::other(format!("the {what} has stopped")));
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Pending { write, done })
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}
