//! Storage of the exchange's Merkle message log: entries, completed subtree nodes, the head
//! (size and frontier) and signed checkpoints. The tree logic lives in `pishkhan-merkle` and
//! `pishkhan-exchange`; this module only keeps what they produce, under the contract of
//! `pishkhan_exchange::LogStore`.
//!
//! **Invariant:** a batch is written in one transaction that first moves the head from exactly
//! `first_index` to `first_index + n`; a batch that does not start at the stored size
//! changes nothing and is a `Conflict`.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{SqlStore, corrupt};
use crate::{
    ExchangeCheckpoint, ExchangeLogBatch, ExchangeLogEntry, Page, PageRequest, Result, StoreError,
};

/// Rows one read returns at most.
pub const MAX_LOG_READ_ROWS: u64 = 4_096;

fn hash_of(bytes: Vec<u8>, what: &str) -> Result<[u8; 32]> {
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| corrupt(what, format!("{} bytes, not 32", b.len())))
}

pub(crate) async fn head(store: &SqlStore) -> Result<Option<(Vec<u8>, u64)>> {
    let row = sqlx::query("SELECT size, frontier FROM exchange_log_head WHERE id = 1")
        .fetch_optional(&store.pool)
        .await?;
    row.map(|r| {
        let size: i64 = r.try_get("size")?;
        Ok((r.try_get("frontier")?, size as u64))
    })
    .transpose()
}

pub(crate) async fn append(store: &SqlStore, batch: &ExchangeLogBatch) -> Result<()> {
    let n = batch.entries.len() as u64;
    let (_turn, mut tx) = store.begin_write().await?;
    let moved = if batch.first_index == 0 {
        sqlx::query(
            "INSERT INTO exchange_log_head (id, size, frontier) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(n as i64)
        .bind(batch.frontier.clone())
        .execute(&mut *tx)
        .await?
    } else {
        sqlx::query(
            "UPDATE exchange_log_head SET size = $1, frontier = $2 WHERE id = 1 AND size = $3",
        )
        .bind((batch.first_index + n) as i64)
        .bind(batch.frontier.clone())
        .bind(batch.first_index as i64)
        .execute(&mut *tx)
        .await?
    };
    if moved.rows_affected() != 1 {
        let _ = tx.rollback().await;
        return Err(StoreError::Conflict {
            what: format!(
                "the exchange log batch starts at {} but the log moved on",
                batch.first_index
            ),
        });
    }
    for (i, e) in batch.entries.iter().enumerate() {
        sqlx::query(
            "INSERT INTO exchange_log_entries (idx, leaf_hash, entry, at_ms, subject, office_code) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind((batch.first_index + i as u64) as i64)
        .bind(e.leaf_hash.to_vec())
        .bind(e.bytes.clone())
        .bind(e.at_ms)
        .bind(e.subject.clone())
        .bind(e.office.clone())
        .execute(&mut *tx)
        .await?;
    }
    for (level, idx, hash) in &batch.nodes {
        sqlx::query("INSERT INTO exchange_log_nodes (level, idx, hash) VALUES ($1, $2, $3)")
            .bind(i64::from(*level))
            .bind(*idx as i64)
            .bind(hash.to_vec())
            .execute(&mut *tx)
            .await?;
    }
    let c = &batch.checkpoint;
    sqlx::query(
        "INSERT INTO exchange_log_checkpoints (size, root, note_body, signature, at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(c.size as i64)
    .bind(c.root.to_vec())
    .bind(c.note_body.clone())
    .bind(c.signature.clone())
    .bind(c.at_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn nodes(store: &SqlStore, ids: &[(u8, u64)]) -> Result<Vec<Option<[u8; 32]>>> {
    let mut out = Vec::with_capacity(ids.len());
    // Proofs ask for O(log n) nodes; one indexed lookup each keeps the SQL portable.
    for (level, idx) in ids {
        let row = sqlx::query("SELECT hash FROM exchange_log_nodes WHERE level = $1 AND idx = $2")
            .bind(i64::from(*level))
            .bind(*idx as i64)
            .fetch_optional(&store.pool)
            .await?;
        out.push(
            row.map(|r| hash_of(r.try_get("hash")?, "log node"))
                .transpose()?,
        );
    }
    Ok(out)
}

fn entry_from_row(r: &AnyRow) -> Result<ExchangeLogEntry> {
    let idx: i64 = r.try_get("idx")?;
    Ok(ExchangeLogEntry {
        index: idx as u64,
        bytes: r.try_get("entry")?,
        leaf_hash: hash_of(r.try_get("leaf_hash")?, "leaf hash")?,
        at_ms: r.try_get("at_ms")?,
        subject: r.try_get("subject")?,
        office: r.try_get("office_code")?,
    })
}

const ENTRY_COLS: &str = "idx, leaf_hash, entry, at_ms, subject, office_code";

pub(crate) async fn entries(store: &SqlStore, from: u64, to: u64) -> Result<Vec<ExchangeLogEntry>> {
    let to = to.min(from.saturating_add(MAX_LOG_READ_ROWS));
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLS} FROM exchange_log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx"
    )))
    .bind(from as i64)
    .bind(to as i64)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(entry_from_row).collect()
}

pub(crate) async fn subject_entries(
    store: &SqlStore,
    subject: &str,
    page: PageRequest,
) -> Result<Page<ExchangeLogEntry>> {
    let total: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM exchange_log_entries WHERE subject = $1")
            .bind(subject.to_string())
            .fetch_one(&store.pool)
            .await?
            .try_get("n")?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLS} FROM exchange_log_entries WHERE subject = $1 \
         ORDER BY idx DESC LIMIT $2 OFFSET $3"
    )))
    .bind(subject.to_string())
    .bind(i64::from(page.per_page()))
    .bind(page.offset())
    .fetch_all(&store.pool)
    .await?;
    Ok(Page {
        items: rows.iter().map(entry_from_row).collect::<Result<_>>()?,
        total: total as u64,
    })
}

fn checkpoint_from_row(r: &AnyRow) -> Result<ExchangeCheckpoint> {
    let size: i64 = r.try_get("size")?;
    Ok(ExchangeCheckpoint {
        size: size as u64,
        root: hash_of(r.try_get("root")?, "checkpoint root")?,
        note_body: r.try_get("note_body")?,
        signature: r.try_get("signature")?,
        at_ms: r.try_get("at_ms")?,
    })
}

pub(crate) async fn checkpoints(
    store: &SqlStore,
    from_size: u64,
    limit: u64,
) -> Result<Vec<ExchangeCheckpoint>> {
    let rows = sqlx::query(
        "SELECT size, root, note_body, signature, at_ms FROM exchange_log_checkpoints \
         WHERE size >= $1 ORDER BY size LIMIT $2",
    )
    .bind(from_size as i64)
    .bind(limit.min(MAX_LOG_READ_ROWS) as i64)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(checkpoint_from_row).collect()
}

pub(crate) async fn latest_checkpoint(store: &SqlStore) -> Result<Option<ExchangeCheckpoint>> {
    let row = sqlx::query(
        "SELECT size, root, note_body, signature, at_ms FROM exchange_log_checkpoints \
         ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(checkpoint_from_row).transpose()
}
