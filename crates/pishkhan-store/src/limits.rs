//! Where the abuse limits' cells live (`areas/limits.rs`): in this process's memory on the
//! embedded database, in the `limit_cells` table on PostgreSQL.
//!
//! The embedded database has exactly one owning process (its lock file), so that process's
//! memory is already the one place every request to the deployment is counted; a table
//! would add a write transaction to each limited request for nothing. PostgreSQL serves
//! several nodes, so there each step locks its keys' rows: it upserts them in key order
//! (which locks each row, creating it if absent, and returns what it held: one statement),
//! lets the limiter decide, writes back what changed, and commits. Key order makes two steps
//! over overlapping keys queue instead of deadlocking.
//!
//! Both forget spent cells: memory when it is full (first the spent ones, then the least
//! restraining of a few), the table once a minute per process, in bounded deletes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use sqlx::Row;

use crate::sql::{SqlStore, corrupt};
use crate::{
    LimitCell, LimitStep, Limits, MAX_LIMIT_KEY_BYTES, MAX_LIMIT_KEYS_PER_STEP,
    MAX_LIMIT_STATE_BYTES, Result,
};

/// Most keys the embedded database's process keeps (a few tens of MB at most).
const MAX_MEMORY_KEYS: usize = 400_000;
/// A full memory map drops spent cells at most this often.
const SWEEP_EVERY_MS: i64 = 1_000;
/// Cells compared when a live one must make room: the one spent soonest goes.
const EVICTION_SAMPLE: usize = 16;
/// How often each process deletes spent rows, and how many at most each time.
const PURGE_EVERY_MS: i64 = 60_000;
const PURGE_ROWS: i64 = 10_000;

pub(crate) enum LimitKeeper {
    Memory(Mutex<MemoryCells>),
    Table { last_purge_ms: AtomicI64 },
}

impl LimitKeeper {
    pub(crate) fn new(in_process: bool) -> Self {
        if in_process {
            Self::Memory(Mutex::new(MemoryCells::default()))
        } else {
            Self::Table {
                last_purge_ms: AtomicI64::new(0),
            }
        }
    }
}

#[derive(Default)]
pub(crate) struct MemoryCells {
    cells: HashMap<String, LimitCell>,
    last_sweep_ms: i64,
}

impl MemoryCells {
    fn live(&self, key: &str, now_ms: i64) -> Option<LimitCell> {
        self.cells
            .get(key)
            .filter(|c| c.spent_at_ms > now_ms)
            .cloned()
    }

    fn keep(&mut self, key: &str, cell: Option<LimitCell>, now_ms: i64) {
        let Some(cell) = cell.filter(|c| c.spent_at_ms > now_ms) else {
            self.cells.remove(key);
            return;
        };
        if let Some(slot) = self.cells.get_mut(key) {
            *slot = cell;
            return;
        }
        if self.cells.len() >= MAX_MEMORY_KEYS {
            self.make_room(now_ms);
        }
        self.cells.insert(key.to_owned(), cell);
    }

    /// Dropping a spent cell changes no answer; dropping a live one can only let its key
    /// through early, so a flood of keys costs its sender some of its own limits, never
    /// memory.
    fn make_room(&mut self, now_ms: i64) {
        if now_ms - self.last_sweep_ms >= SWEEP_EVERY_MS {
            self.last_sweep_ms = now_ms;
            self.cells.retain(|_, c| c.spent_at_ms > now_ms);
        }
        if self.cells.len() < MAX_MEMORY_KEYS {
            return;
        }
        let victim = self
            .cells
            .iter()
            .take(EVICTION_SAMPLE)
            .min_by_key(|(_, c)| c.spent_at_ms)
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            self.cells.remove(&k);
        }
    }
}

fn check_keys(keys: &[&str]) -> Result<()> {
    let bad = |why: String| Err(corrupt("limit step", why));
    if keys.is_empty() || keys.len() > MAX_LIMIT_KEYS_PER_STEP {
        return bad(format!(
            "{} keys, not 1 to {MAX_LIMIT_KEYS_PER_STEP}",
            keys.len()
        ));
    }
    for (i, k) in keys.iter().enumerate() {
        if k.is_empty() || k.len() > MAX_LIMIT_KEY_BYTES {
            return bad(format!("a key of {} bytes", k.len()));
        }
        if keys[..i].contains(k) {
            return bad(format!("the key {k:?} twice"));
        }
    }
    Ok(())
}

fn check_states(cells: &[Option<LimitCell>]) -> Result<()> {
    match cells
        .iter()
        .flatten()
        .find(|c| c.state.len() > MAX_LIMIT_STATE_BYTES)
    {
        Some(c) => Err(corrupt(
            "limit step",
            format!("a state of {} bytes", c.state.len()),
        )),
        None => Ok(()),
    }
}

/// `($1, $2, 0), ($3, $4, 0), …` for `n` keys.
fn key_rows(n: usize) -> String {
    (0..n)
        .map(|i| format!("(${}, ${}, 0)", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell_of(row: &sqlx::any::AnyRow, now_ms: i64) -> Result<(String, Option<LimitCell>)> {
    let key: String = row.try_get("key")?;
    let spent_at_ms: i64 = row.try_get("spent_at_ms")?;
    let state: Vec<u8> = row.try_get("state")?;
    let cell = (spent_at_ms > now_ms).then_some(LimitCell { state, spent_at_ms });
    Ok((key, cell))
}

impl SqlStore {
    async fn table_step(&self, keys: &[&str], now_ms: i64, step: LimitStep<'_>) -> Result<()> {
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort_unstable();
        let (_turn, mut tx) = self.begin_write().await?;
        // The no-op update locks a row that exists, and RETURNING gives what it holds.
        let sql = format!(
            "INSERT INTO limit_cells (key, state, spent_at_ms) VALUES {} \
             ON CONFLICT (key) DO UPDATE SET spent_at_ms = limit_cells.spent_at_ms \
             RETURNING key, state, spent_at_ms",
            key_rows(sorted.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in &sorted {
            q = q.bind(*k).bind(Vec::<u8>::new());
        }
        let rows = q.fetch_all(&mut *tx).await?;
        let mut held: HashMap<String, Option<LimitCell>> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let (key, cell) = cell_of(row, now_ms)?;
            held.insert(key, cell);
        }
        let before: Vec<Option<LimitCell>> = keys
            .iter()
            .map(|k| held.get(*k).cloned().flatten())
            .collect();
        let mut cells = before.clone();
        step(&mut cells);
        check_states(&cells)?;
        for ((key, was), now) in keys.iter().zip(&before).zip(&cells) {
            if was == now {
                continue;
            }
            // A forgotten cell is marked spent; the purge deletes it.
            let (state, spent_at_ms) = match now {
                Some(c) => (c.state.clone(), c.spent_at_ms),
                None => (Vec::new(), 0),
            };
            sqlx::query("UPDATE limit_cells SET state = $1, spent_at_ms = $2 WHERE key = $3")
                .bind(state)
                .bind(spent_at_ms)
                .bind(*key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if let LimitKeeper::Table { last_purge_ms } = &self.limits {
            let last = last_purge_ms.load(Ordering::Relaxed);
            if now_ms - last >= PURGE_EVERY_MS
                && last_purge_ms
                    .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                self.purge_spent_limits(now_ms).await?;
            }
        }
        Ok(())
    }

    /// Deletes spent rows, a bounded number at a time. The outer condition is checked again
    /// on a row another step changed meanwhile, so a cell made live again is kept.
    async fn purge_spent_limits(&self, now_ms: i64) -> Result<()> {
        sqlx::query(
            "DELETE FROM limit_cells WHERE spent_at_ms <= $1 AND key IN \
             (SELECT key FROM limit_cells WHERE spent_at_ms <= $1 LIMIT $2)",
        )
        .bind(now_ms)
        .bind(PURGE_ROWS)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl Limits for SqlStore {
    async fn limit_step(&self, keys: &[&str], now_ms: i64, step: LimitStep<'_>) -> Result<()> {
        check_keys(keys)?;
        match &self.limits {
            LimitKeeper::Memory(cells) => {
                let mut m = cells.lock().unwrap_or_else(|p| p.into_inner());
                let mut held: Vec<Option<LimitCell>> =
                    keys.iter().map(|k| m.live(k, now_ms)).collect();
                step(&mut held);
                check_states(&held)?;
                for (k, cell) in keys.iter().zip(held) {
                    m.keep(k, cell, now_ms);
                }
                Ok(())
            }
            LimitKeeper::Table { .. } => self.table_step(keys, now_ms, step).await,
        }
    }

    async fn limit_cells(&self, keys: &[&str], now_ms: i64) -> Result<Vec<Option<LimitCell>>> {
        check_keys(keys)?;
        match &self.limits {
            LimitKeeper::Memory(cells) => {
                let m = cells.lock().unwrap_or_else(|p| p.into_inner());
                Ok(keys.iter().map(|k| m.live(k, now_ms)).collect())
            }
            LimitKeeper::Table { .. } => {
                let placeholders = (1..=keys.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql = format!(
                    "SELECT key, state, spent_at_ms FROM limit_cells WHERE key IN ({placeholders})"
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for k in keys {
                    q = q.bind(*k);
                }
                let mut held = HashMap::new();
                for row in q.fetch_all(&self.pool).await? {
                    let (key, cell) = cell_of(&row, now_ms)?;
                    held.insert(key, cell);
                }
                Ok(keys
                    .iter()
                    .map(|k| held.get(*k).cloned().flatten())
                    .collect())
            }
        }
    }
}
