//! The embedded engine's commits, through a native SQLite connection on a thread of its own.
//!
//! The engine decides bookings in memory and hands each group of decisions here as one batch:
//! one `BEGIN IMMEDIATE` transaction of multi-row inserts from prepared, cached statements
//! and the guarded updates of cancellations and moves. Binding values straight into SQLite
//! (rather than through sqlx's `Any` driver and its worker thread) is what lets a single
//! writer keep up with a national surge; the transaction is the same one the pool's
//! connections see, in the same WAL file, so every reader sees a batch whole or not at all.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use crate::sql::Arg;
use crate::{Result, StoreError};

/// Rows per prepared multi-row INSERT; the rest of a batch goes through the one-row statement.
const ROWS_PER_STATEMENT: usize = 64;
/// Prepared statements kept per connection (each table's chunk and one-row forms, updates).
const STATEMENT_CACHE: usize = 32;
/// Pause between attempts while another connection holds the write lock, and how many
/// attempts make the store's usual busy timeout.
const BUSY_RETRY: std::time::Duration = std::time::Duration::from_micros(500);
const BUSY_ATTEMPTS: i32 = crate::sqlite::BUSY_TIMEOUT_MS as i32 * 2;

fn retry_soon(attempt: i32) -> bool {
    std::thread::sleep(BUSY_RETRY);
    attempt < BUSY_ATTEMPTS
}
/// The writer's page cache (KiB): the hot index pages of an append-mostly schema stay in it.
const CACHE_KIB: i64 = 32 * 1024;

/// Rows for one table: `head` is `INSERT INTO t (cols) VALUES `, `tail` follows the values.
pub(crate) struct Insert {
    pub head: &'static str,
    pub tail: &'static str,
    pub rows: Vec<Vec<Arg>>,
}

/// An update that must change exactly one row; otherwise the batch fails with `Conflict`.
pub(crate) struct Guarded {
    pub sql: &'static str,
    pub args: Vec<Arg>,
    /// Says what changed meanwhile, for the conflict's message.
    pub what: String,
}

/// One transaction's worth of writes, applied in this order: inserts before the guarded
/// updates (a batch may book and then cancel the same booking), then the trailing inserts.
#[derive(Default)]
pub(crate) struct Batch {
    pub inserts: Vec<Insert>,
    pub updates: Vec<Guarded>,
    pub trailing: Vec<Insert>,
}

type Job = (Batch, oneshot::Sender<Result<()>>);

/// Handle to the commit thread; the thread ends when the handle is dropped.
pub(crate) struct Committer {
    jobs: mpsc::Sender<Job>,
}

impl Committer {
    /// Opens the native connection (failing here, not at the first booking) and starts the
    /// thread.
    pub(crate) fn start(path: &Path) -> Result<Self> {
        let conn = open(path)?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pishkhan-commit".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok((batch, reply)) = rx.recv() {
                    let _ = reply.send(apply(&mut conn, &batch));
                }
            })?;
        Ok(Self { jobs })
    }

    /// Starts committing `batch` after the batches submitted before it; the outcome arrives
    /// once it is durable (synchronous=FULL) or failed whole.
    pub(crate) fn submit(&self, batch: Batch) -> Commit {
        let (reply, done) = oneshot::channel();
        // A stopped thread drops the reply, which `Commit` reports as an error.
        let _ = self.jobs.send((batch, reply));
        Commit(done)
    }

    /// Commits `batch` and waits for it.
    pub(crate) async fn commit(&self, batch: Batch) -> Result<()> {
        self.submit(batch).outcome().await
    }
}

/// A submitted batch's outcome, to be awaited.
pub(crate) struct Commit(oneshot::Receiver<Result<()>>);

impl Commit {
    /// The channel the outcome arrives on, for a caller that waits on it among other things.
    pub(crate) fn into_receiver(self) -> oneshot::Receiver<Result<()>> {
        self.0
    }

    pub(crate) async fn outcome(self) -> Result<()> {
        self.0
            .await
            .map_err(|_| StoreError::Corrupt("the commit thread has stopped".into()))?
    }
}

/// A native connection to the embedded database, set up for a writer (also the ledger's,
/// `ledger_native.rs`).
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(PathBuf::from(path))?;
    // SQLite's own busy handler backs off to 100 ms sleeps, so while the pool's connections
    // commit short transactions back to back (the outbox dispatcher) this writer lost the race
    // for seconds at a time: the stalls measured under load. Retrying every half millisecond
    // takes the lock within a millisecond of its release, for the same total wait.
    conn.busy_handler(Some(retry_soon))?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Off on this connection alone: the engine accepts a booking only with a capacity read
    // from its office's and service's rows, which are never deleted, so the two lookups per
    // row that the keys would add prove nothing more. Every other connection checks them.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

fn apply(conn: &mut Connection, batch: &Batch) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for insert in &batch.inserts {
        insert_rows(&tx, insert)?;
    }
    for update in &batch.updates {
        let mut stmt = tx.prepare_cached(update.sql)?;
        bind(&mut stmt, 0, &update.args)?;
        if stmt.raw_execute()? != 1 {
            return Err(StoreError::Conflict {
                what: update.what.clone(),
            });
        }
    }
    for insert in &batch.trailing {
        insert_rows(&tx, insert)?;
    }
    tx.commit()?;
    Ok(())
}

fn insert_rows(tx: &rusqlite::Transaction<'_>, insert: &Insert) -> Result<()> {
    let Some(width) = insert.rows.first().map(Vec::len) else {
        return Ok(());
    };
    let mut chunks = insert.rows.chunks_exact(ROWS_PER_STATEMENT);
    if chunks.len() > 0 {
        let mut stmt = tx.prepare_cached(&statement(insert, width, ROWS_PER_STATEMENT))?;
        for chunk in &mut chunks {
            for (i, row) in chunk.iter().enumerate() {
                bind(&mut stmt, i * width, row)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = tx.prepare_cached(&statement(insert, width, 1))?;
        for row in rest {
            bind(&mut stmt, 0, row)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// `head (?, …), (?, …) tail` for `rows` rows of `width` values.
fn statement(insert: &Insert, width: usize, rows: usize) -> String {
    let one = format!("({})", vec!["?"; width].join(", "));
    format!(
        "{}{}{}",
        insert.head,
        vec![one; rows].join(", "),
        insert.tail
    )
}

fn bind(stmt: &mut rusqlite::CachedStatement<'_>, offset: usize, args: &[Arg]) -> Result<()> {
    for (j, a) in args.iter().enumerate() {
        let at = offset + j + 1;
        match a {
            Arg::Text(s) => stmt.raw_bind_parameter(at, s.as_str())?,
            Arg::Int(n) => stmt.raw_bind_parameter(at, n)?,
            Arg::OptInt(n) => stmt.raw_bind_parameter(at, n)?,
            Arg::OptText(s) => stmt.raw_bind_parameter(at, s.as_deref())?,
            Arg::Real(x) => stmt.raw_bind_parameter(at, x)?,
        }
    }
    Ok(())
}
