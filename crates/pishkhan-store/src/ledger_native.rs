//! `post_transfers` on the embedded store, through a native SQLite connection on a thread of
//! its own, as the bookings' commits do (`sqlite_commit.rs`): key lookups and multi-row
//! inserts from prepared, cached statements instead of sqlx's `Any` driver, whose per-value
//! conversions and worker round trips held a batch to about a third of the target rate.
//!
//! It is the same path as `ledger::post_in_tx`: the head, the batch's accounts, ids and
//! pendings read into a `Book` (`ledger_rows::book`), `Book::apply` deciding
//! (`ledger_rows::plan`), and the plan written, in one `BEGIN IMMEDIATE` transaction. The
//! caller holds the store's writer turn while the thread works, so this connection's writes
//! and the pool's (`post_in_tx` inside a payment) are ordered by one turn.

use std::path::Path;
use std::sync::mpsc;

use pishkhan_domain::ledger::Balance;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use crate::ledger_rows::{self, Head, INSERT_WIDTH, Plan, RawRow, Value};
use crate::{Outcome, Result, StoreError, Transfer};

/// Rows per prepared multi-row insert; the rest go through the one-row statement.
const ROWS_PER_STATEMENT: usize = 64;

type Job = (Vec<Transfer>, i64, oneshot::Sender<Result<Vec<Outcome>>>);

/// Handle to the ledger's commit thread; the thread ends when the handle is dropped.
pub(crate) struct NativeLedger {
    jobs: mpsc::Sender<Job>,
}

impl NativeLedger {
    pub(crate) fn start(path: &Path) -> Result<Self> {
        let conn = crate::sqlite_commit::open(path)?;
        // The store's background checkpointer copies the WAL; a commit that crossed SQLite's
        // default 1,000 pages would otherwise checkpoint inside itself (as the pool's
        // connections are set up in `sqlite.rs`).
        conn.pragma_update(
            None,
            "wal_autocheckpoint",
            crate::sqlite::WAL_AUTOCHECKPOINT_PAGES,
        )?;
        // Statements that may abort halfway (the pendings' and head's guarded updates, whose
        // triggers can raise) keep a statement journal; in memory it costs no write calls.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("pishkhan-ledger".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok((batch, at_ms, reply)) = rx.recv() {
                    let _ = reply.send(post(&mut conn, &batch, at_ms));
                }
            })?;
        Ok(Self { jobs })
    }

    /// Decides and commits `batch`; the outcomes arrive once it is durable
    /// (synchronous=FULL) or failed whole. The caller holds the writer's turn.
    pub(crate) async fn post(&self, batch: Vec<Transfer>, at_ms: i64) -> Result<Vec<Outcome>> {
        let (reply, done) = oneshot::channel();
        self.jobs
            .send((batch, at_ms, reply))
            .map_err(|_| StoreError::Corrupt("the ledger thread has stopped".into()))?;
        done.await
            .map_err(|_| StoreError::Corrupt("the ledger thread has stopped".into()))?
    }
}

fn post(conn: &mut Connection, batch: &[Transfer], at_ms: i64) -> Result<Vec<Outcome>> {
    let t0 = std::time::Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let head = {
        let mut stmt = tx.prepare_cached("SELECT seq, digest FROM ledger_head WHERE id = 1")?;
        let (seq, digest): (i64, Vec<u8>) = stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Head {
            seq,
            digest: digest
                .try_into()
                .map_err(|_| StoreError::Corrupt("ledger_head.digest is not 32 bytes".into()))?,
        }
    };
    let needs = ledger_rows::needs(batch);
    let mut balances = Vec::with_capacity(needs.accounts.len());
    {
        let mut stmt = tx.prepare_cached(
            "SELECT debits_pending, debits_posted, credits_pending, credits_posted \
             FROM ledger_accounts WHERE code = ?",
        )?;
        for a in &needs.accounts {
            let code = a.code();
            let b = stmt
                .query_row([&code], |r| {
                    Ok(Balance {
                        debits_pending: r.get(0)?,
                        debits_posted: r.get(1)?,
                        credits_pending: r.get(2)?,
                        credits_posted: r.get(3)?,
                    })
                })
                .optional()?;
            if let Some(b) = b {
                balances.push((code, b));
            }
        }
    }
    let mut existing = Vec::new();
    {
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {} FROM ledger_transfers WHERE id = ?",
            ledger_rows::TRANSFER_COLS
        ))?;
        for id in &needs.ids {
            if let Some(row) = stmt.query_row([&id.to_bytes()[..]], raw_row).optional()? {
                existing.push(row);
            }
        }
    }
    let mut states = Vec::new();
    {
        let mut stmt = tx.prepare_cached("SELECT state FROM ledger_pendings WHERE id = ?")?;
        for id in &needs.pendings {
            let bytes = id.to_bytes().to_vec();
            if let Some(state) = stmt
                .query_row([&bytes[..]], |r| r.get::<_, String>(0))
                .optional()?
            {
                states.push((bytes, state));
            }
        }
    }
    let t1 = t0.elapsed();
    let book = ledger_rows::book(balances, existing, states)?;
    let plan = ledger_rows::plan(book, head, batch, at_ms);
    let t2 = t0.elapsed();
    if plan.writes_nothing() {
        // Retries and refusals only; dropping the transaction rolls it back.
        return Ok(plan.outcomes);
    }
    write(&tx, &plan)?;
    let t3 = t0.elapsed();
    tx.commit()?;
    eprintln!(
        "LEDGER n={} load={:?} plan={:?} write={:?} commit={:?}",
        batch.len(),
        t1,
        t2 - t1,
        t3 - t2,
        t0.elapsed() - t3
    );
    Ok(plan.outcomes)
}

fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        seq: r.get(0)?,
        id: r.get(1)?,
        debit: r.get(2)?,
        credit: r.get(3)?,
        amount: r.get(4)?,
        phase: r.get(5)?,
        pending_id: r.get(6)?,
        linked: r.get(7)?,
        chain: r.get(8)?,
        chain_len: r.get(9)?,
        code: r.get(10)?,
        reference: r.get(11)?,
        at_ms: r.get(12)?,
        digest: r.get(13)?,
    })
}

fn write(tx: &rusqlite::Transaction<'_>, plan: &Plan) -> Result<()> {
    let mut chunks = plan.rows.chunks_exact(ROWS_PER_STATEMENT);
    if chunks.len() > 0 {
        let mut stmt = tx.prepare_cached(&insert_statement(ROWS_PER_STATEMENT))?;
        for chunk in &mut chunks {
            for (i, row) in chunk.iter().enumerate() {
                bind_row(&mut stmt, i * INSERT_WIDTH, row)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = tx.prepare_cached(&insert_statement(1))?;
        for row in rest {
            bind_row(&mut stmt, 0, row)?;
            stmt.raw_execute()?;
        }
    }
    if !plan.opened.is_empty() {
        let mut stmt =
            tx.prepare_cached("INSERT INTO ledger_pendings (id, state) VALUES (?, 'open')")?;
        for id in &plan.opened {
            stmt.execute([&id.to_bytes()[..]])?;
        }
    }
    for (ids, state) in [(&plan.posted, "posted"), (&plan.voided, "voided")] {
        if ids.is_empty() {
            continue;
        }
        let mut stmt = tx.prepare_cached(
            "UPDATE ledger_pendings SET state = ? WHERE id = ? AND state = 'open'",
        )?;
        for id in ids {
            if stmt.execute(rusqlite::params![state, &id.to_bytes()[..]])? != 1 {
                // Read open under the writer's turn: only a writer outside it could change it.
                return Err(StoreError::Conflict {
                    what: format!("ledger pending {id} changed while a batch {state} it"),
                });
            }
        }
    }
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO ledger_accounts (code, debits_pending, debits_posted, credits_pending, \
             credits_posted) VALUES (?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET \
             debits_pending = excluded.debits_pending, debits_posted = excluded.debits_posted, \
             credits_pending = excluded.credits_pending, credits_posted = excluded.credits_posted",
        )?;
        for (account, b) in &plan.balances {
            stmt.execute(rusqlite::params![
                account.code(),
                b.debits_pending,
                b.debits_posted,
                b.credits_pending,
                b.credits_posted
            ])?;
        }
    }
    tx.prepare_cached("UPDATE ledger_head SET seq = ?, digest = ? WHERE id = 1")?
        .execute(rusqlite::params![plan.head.seq, &plan.head.digest[..]])?;
    Ok(())
}

/// `INSERT OR ROLLBACK`: a failed constraint ends the whole transaction (which fails the
/// batch anyway), so SQLite keeps no statement journal of the pages a multi-row insert
/// touches, which cost a twelfth of the writer's time.
fn insert_statement(rows: usize) -> String {
    format!(
        "{}{}",
        ledger_rows::INSERT_HEAD.replacen("INSERT INTO", "INSERT OR ROLLBACK INTO", 1),
        ledger_rows::placeholders(rows, INSERT_WIDTH, true)
    )
}

fn bind_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    offset: usize,
    row: &ledger_rows::NewRow,
) -> Result<()> {
    for (j, v) in ledger_rows::row_values(row).iter().enumerate() {
        let at = offset + j + 1;
        match v {
            Value::Int(i) => stmt.raw_bind_parameter(at, i)?,
            Value::Text(s) => stmt.raw_bind_parameter(at, s)?,
            Value::OwnedText(s) => stmt.raw_bind_parameter(at, s)?,
            Value::Blob(b) => stmt.raw_bind_parameter(at, &b[..])?,
            Value::Digest(d) => stmt.raw_bind_parameter(at, &d[..])?,
            Value::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null)?,
        }
    }
    Ok(())
}
