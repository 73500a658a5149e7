//! Storage of the exchange's Merkle message log: entries, completed subtree nodes, the head
//! (size and frontier) and signed checkpoints. The tree logic lives in `pishkhan-merkle` and
//! `pishkhan-exchange`; this module only keeps what they produce, under the contract of
//! `pishkhan_exchange::LogStore`.
//!
//! **Invariant:** a batch is written in one transaction that first moves the head from exactly
//! `first_index` to `first_index + n`; a batch that does not start at the stored size
//! changes nothing and is a `Conflict`.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{SqlStore, corrupt};
use pishkhan_domain::NationalCode;

use crate::{
    ExchangeCheckpoint, ExchangeLogBatch, ExchangeLogEntry, ExchangeLogStrays, MAX_LOG_READ_ROWS,
    Page, PageRequest, Result, StoreError,
};

/// `what` names the column (and row), so a report of a corrupt row says where to look.
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

/// Rows per multi-row insert: at most 999 parameters per statement, the oldest SQLite limit.
const ENTRY_ROWS_PER_INSERT: usize = 166;
const NODE_ROWS_PER_INSERT: usize = 333;

/// `prefix` followed by `rows` groups of `columns` numbered parameters: `($1, $2), ($3, $4)`.
fn multi_row_insert(prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 6);
    sql.push_str(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * columns + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
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
    // Multi-row inserts: a batch is a handful of statements, not one per row (each statement
    // is a round trip to the driver's worker).
    let first = batch.first_index;
    for (chunk_no, chunk) in batch.entries.chunks(ENTRY_ROWS_PER_INSERT).enumerate() {
        let sql = multi_row_insert(
            "INSERT INTO exchange_log_entries (idx, leaf_hash, entry, at_ms, subject, office_code) VALUES ",
            6,
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, e) in chunk.iter().enumerate() {
            let index = first + (chunk_no * ENTRY_ROWS_PER_INSERT + i) as u64;
            q = q
                .bind(index as i64)
                .bind(e.leaf_hash.to_vec())
                .bind(e.bytes.clone())
                .bind(e.at_ms)
                .bind(e.subject.clone())
                .bind(e.office.clone());
        }
        q.execute(&mut *tx).await?;
    }
    // The supervision rollups count each lookup by office, day and agency, in this batch's
    // transaction.
    let parsed: Vec<(String, Option<String>, i64)> = batch
        .entries
        .iter()
        .filter_map(|e| {
            crate::rollups::lookup_of(&e.bytes)
                .map(|(office, agency)| (format!("office:{office}"), agency, e.at_ms))
        })
        .collect();
    let deltas = crate::rollups::lookup_deltas(
        parsed
            .iter()
            .map(|(o, a, at)| (o.as_str(), a.as_deref(), *at)),
    );
    crate::rollups::bump(&mut tx, &deltas).await?;
    for chunk in batch.nodes.chunks(NODE_ROWS_PER_INSERT) {
        let sql = multi_row_insert(
            "INSERT INTO exchange_log_nodes (level, idx, hash) VALUES ",
            3,
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (level, idx, hash) in chunk {
            q = q
                .bind(i64::from(*level))
                .bind(*idx as i64)
                .bind(hash.to_vec());
        }
        q.execute(&mut *tx).await?;
    }
    let c = &batch.checkpoint;
    sqlx::query(
        "INSERT INTO exchange_log_checkpoints (size, root, note_body, signature) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(c.size as i64)
    .bind(c.root.to_vec())
    .bind(c.note_body.clone())
    .bind(c.signature.clone())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn nodes(store: &SqlStore, ids: &[(u8, u64)]) -> Result<Vec<Option<[u8; 32]>>> {
    // Per level, the wanted indices: a dense run (an audit page) is one range read; scattered
    // ones (a proof's O(log n) siblings) are point reads.
    let mut by_level: std::collections::BTreeMap<u8, Vec<u64>> = std::collections::BTreeMap::new();
    for &(level, idx) in ids {
        by_level.entry(level).or_default().push(idx);
    }
    let mut found: std::collections::HashMap<(u8, u64), [u8; 32]> =
        std::collections::HashMap::with_capacity(ids.len());
    for (level, mut wanted) in by_level {
        wanted.sort_unstable();
        wanted.dedup();
        let (lo, hi) = (wanted[0], wanted[wanted.len() - 1]);
        let dense = hi - lo < (wanted.len() as u64).saturating_mul(4).saturating_add(16);
        if dense && wanted.len() > 1 {
            let rows = sqlx::query(
                "SELECT idx, hash FROM exchange_log_nodes WHERE level = $1 AND idx >= $2 AND idx <= $3",
            )
            .bind(i64::from(level))
            .bind(lo as i64)
            .bind(hi as i64)
            .fetch_all(&store.pool)
            .await?;
            for r in rows {
                let idx: i64 = r.try_get("idx")?;
                found.insert(
                    (level, idx as u64),
                    hash_of(r.try_get("hash")?, "exchange_log_nodes.hash")?,
                );
            }
        } else {
            for idx in wanted {
                let row = sqlx::query(
                    "SELECT hash FROM exchange_log_nodes WHERE level = $1 AND idx = $2",
                )
                .bind(i64::from(level))
                .bind(idx as i64)
                .fetch_optional(&store.pool)
                .await?;
                if let Some(r) = row {
                    found.insert(
                        (level, idx),
                        hash_of(r.try_get("hash")?, "exchange_log_nodes.hash")?,
                    );
                }
            }
        }
    }
    Ok(ids.iter().map(|id| found.get(id).copied()).collect())
}

fn entry_from_row(r: &AnyRow) -> Result<ExchangeLogEntry> {
    let idx: i64 = r.try_get("idx")?;
    Ok(ExchangeLogEntry {
        index: idx as u64,
        bytes: r.try_get("entry")?,
        leaf_hash: hash_of(
            r.try_get("leaf_hash")?,
            &format!("exchange_log_entries.leaf_hash of idx {idx}"),
        )?,
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
        root: hash_of(
            r.try_get("root")?,
            &format!("exchange_log_checkpoints.root of size {size}"),
        )?,
        note_body: r.try_get("note_body")?,
        signature: r.try_get("signature")?,
    })
}

pub(crate) async fn checkpoints(
    store: &SqlStore,
    from_size: u64,
    limit: u64,
) -> Result<Vec<ExchangeCheckpoint>> {
    let rows = sqlx::query(
        "SELECT size, root, note_body, signature FROM exchange_log_checkpoints \
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
        "SELECT size, root, note_body, signature FROM exchange_log_checkpoints \
         ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(&store.pool)
    .await?;
    row.as_ref().map(checkpoint_from_row).transpose()
}

pub(crate) async fn strays(store: &SqlStore, size: u64, limit: u64) -> Result<ExchangeLogStrays> {
    let limit = limit.min(MAX_LOG_READ_ROWS) as i64;
    let entries = sqlx::query(
        "SELECT idx FROM exchange_log_entries WHERE idx < 0 OR idx >= $1 ORDER BY idx LIMIT $2",
    )
    .bind(size as i64)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| r.try_get("idx"))
    .collect::<std::result::Result<_, _>>()?;
    // Node (level, idx) belongs to the tree of `size` leaves iff idx < size >> level. The
    // CASE keeps the shift within 0..64 whatever a tampered level holds; the scan reads every
    // node once, as the audit already does.
    let nodes = sqlx::query(
        "SELECT level, idx FROM exchange_log_nodes \
         WHERE level < 0 OR level > 63 OR idx < 0 \
            OR idx >= (CASE WHEN level BETWEEN 0 AND 63 THEN $1 >> CAST(level AS INTEGER) ELSE 0 END) \
         ORDER BY level, idx LIMIT $2",
    )
    .bind(size as i64)
    .bind(limit)
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("level")?, r.try_get("idx")?)))
    .collect::<Result<_>>()?;
    Ok(ExchangeLogStrays { entries, nodes })
}

#[async_trait]
impl crate::ExchangeLog for SqlStore {
    async fn exchange_log_head(&self) -> Result<Option<(Vec<u8>, u64)>> {
        crate::exchange_log::head(self).await
    }

    async fn append_exchange_log(&self, batch: &crate::ExchangeLogBatch) -> Result<()> {
        crate::exchange_log::append(self, batch).await
    }

    async fn exchange_log_nodes(&self, ids: &[(u8, u64)]) -> Result<Vec<Option<[u8; 32]>>> {
        crate::exchange_log::nodes(self, ids).await
    }

    async fn exchange_log_entries(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::ExchangeLogEntry>> {
        crate::exchange_log::entries(self, from, to).await
    }

    async fn exchange_log_subject(
        &self,
        national_code: &NationalCode,
        page: PageRequest,
    ) -> Result<Page<crate::ExchangeLogEntry>> {
        crate::exchange_log::subject_entries(self, national_code.as_str(), page).await
    }

    async fn exchange_checkpoints(
        &self,
        from_size: u64,
        limit: u64,
    ) -> Result<Vec<crate::ExchangeCheckpoint>> {
        crate::exchange_log::checkpoints(self, from_size, limit).await
    }

    async fn latest_exchange_checkpoint(&self) -> Result<Option<crate::ExchangeCheckpoint>> {
        crate::exchange_log::latest_checkpoint(self).await
    }

    async fn exchange_log_strays(&self, size: u64, limit: u64) -> Result<ExchangeLogStrays> {
        crate::exchange_log::strays(self, size, limit).await
    }
}
