//! The transactional outbox: notifications written in the same transaction as the change that
//! causes them, then claimed, delivered and settled by a dispatcher.
//!
//! **Invariant:** a message exists if and only if its change committed, and there is one
//! message per event (`dedupe_key` is unique). Delivery is at least once. A claim holds a
//! lease, so a crashed dispatcher's messages come back after the lease, and the dedupe key goes
//! with every delivery so a receiver can drop a repeat.

use async_trait::async_trait;
use pishkhan_domain::outbox::OutboxKind;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::sql::{AnyTx, Arg, SqlStore, corrupt};
use crate::{OutboxMessage, OutboxOutcome, Result, StoreError};

/// A message to enqueue inside a change's transaction.
pub(crate) struct NewMessage {
    pub kind: OutboxKind,
    pub recipient: String,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
}

impl NewMessage {
    pub(crate) fn args(&self, now_ms: i64) -> Vec<Arg> {
        vec![
            Arg::Text(self.kind.as_str().to_string()),
            Arg::Text(self.recipient.clone()),
            Arg::Text(self.dedupe_key.clone()),
            Arg::Text(self.payload.to_string()),
            Arg::Text("pending".into()),
            Arg::Int(now_ms),
            Arg::Int(now_ms),
        ]
    }
}

pub(crate) const OUTBOX_INSERT: &str = "INSERT INTO outbox (kind, recipient, dedupe_key, payload_json, \
    status, next_attempt_at_ms, created_at_ms) VALUES ";
/// A repeated event (same dedupe key) is not a second message.
pub(crate) const OUTBOX_INSERT_TAIL: &str = " ON CONFLICT (dedupe_key) DO NOTHING";

pub(crate) async fn enqueue(tx: &mut AnyTx<'_>, msg: &NewMessage, now_ms: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (kind, recipient, dedupe_key, payload_json, status, next_attempt_at_ms, created_at_ms) \
         VALUES ($1, $2, $3, $4, 'pending', $5, $5) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(msg.kind.as_str())
    .bind(msg.recipient.clone())
    .bind(msg.dedupe_key.clone())
    .bind(msg.payload.to_string())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

const COLS: &str = "id, kind, recipient, dedupe_key, payload_json, status, attempts, created_at_ms, sent_at_ms, last_error";

fn from_row(r: &AnyRow) -> Result<OutboxMessage> {
    let payload: String = r.try_get("payload_json")?;
    Ok(OutboxMessage {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        recipient: r.try_get("recipient")?,
        dedupe_key: r.try_get("dedupe_key")?,
        payload: serde_json::from_str(&payload).map_err(|e| corrupt("outbox payload", e))?,
        status: r.try_get("status")?,
        attempts: r.try_get::<i64, _>("attempts")? as u32,
        created_at_ms: r.try_get("created_at_ms")?,
        sent_at_ms: r.try_get("sent_at_ms")?,
        last_error: r.try_get("last_error")?,
    })
}

pub(crate) async fn claim(
    store: &SqlStore,
    limit: u32,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Vec<OutboxMessage>> {
    // Concurrent dispatchers on PostgreSQL skip each other's rows instead of waiting.
    let lock = store.dialect.skip_locked();
    // Earliest due first, in the order of the `outbox_due (status, next_attempt_at_ms)` index
    // (whose entries end in the id), so the scan stops after `limit` rows. `ORDER BY id`
    // sorted every due row first: 18 ms for a backlog of 60,000 (which a burst of bookings
    // leaves), all of it inside the write transaction, where it stalled the booking engine's
    // commits (issue 11).
    let (_turn, mut tx) = store.begin_write().await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE outbox SET lease_until_ms = $1 WHERE id IN (SELECT id FROM outbox \
         WHERE status = 'pending' AND next_attempt_at_ms <= $2 AND lease_until_ms <= $2 \
         ORDER BY next_attempt_at_ms, id LIMIT $3{lock}) RETURNING {COLS}"
    )))
    .bind(now_ms + lease_ms)
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|m| m.id);
    Ok(out)
}

pub(crate) async fn settle(
    store: &SqlStore,
    id: i64,
    outcome: &OutboxOutcome,
    now_ms: i64,
) -> Result<()> {
    let (_turn, mut tx) = store.begin_write().await?;
    let done = settle_in(&mut tx, id, outcome, now_ms).await?;
    tx.commit().await?;
    if !done {
        return Err(StoreError::wrong_state(
            crate::StateRule::OutboxNotPending,
            format!("outbox message {id} is not pending"),
        ));
    }
    Ok(())
}

/// Settles a round's messages in one transaction: one commit (one fsync) for the lot, and
/// the messages sent (nearly all of them) in one statement, so the write lock is held for
/// one round trip to the database rather than one per message. `sent_at_ms` of those is the
/// latest `now_ms` among them (the end of the round's sends, milliseconds apart).
pub(crate) async fn settle_batch(
    store: &SqlStore,
    settlements: &[(i64, OutboxOutcome, i64)],
) -> Result<Vec<bool>> {
    if settlements.is_empty() {
        return Ok(Vec::new());
    }
    let sent: Vec<i64> = settlements
        .iter()
        .filter(|(_, o, _)| matches!(o, OutboxOutcome::Sent))
        .map(|(id, _, _)| *id)
        .collect();
    let sent_at = settlements
        .iter()
        .filter(|(_, o, _)| matches!(o, OutboxOutcome::Sent))
        .map(|(_, _, now)| *now)
        .max()
        .unwrap_or(0);
    let (_turn, mut tx) = store.begin_write().await?;
    let mut settled = std::collections::HashSet::new();
    if !sent.is_empty() {
        let ids = (0..sent.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE outbox SET status = 'sent', sent_at_ms = $1, attempts = attempts + 1, \
             lease_until_ms = 0, last_error = NULL WHERE id IN ({ids}) AND status = 'pending' \
             RETURNING id"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(sent_at);
        for id in &sent {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            settled.insert(row.try_get::<i64, _>("id")?);
        }
    }
    for (id, outcome, now_ms) in settlements {
        if !matches!(outcome, OutboxOutcome::Sent)
            && settle_in(&mut tx, *id, outcome, *now_ms).await?
        {
            settled.insert(*id);
        }
    }
    tx.commit().await?;
    Ok(settlements
        .iter()
        .map(|(id, _, _)| settled.contains(id))
        .collect())
}

/// One message's settlement inside `tx`; `false` if it was not pending.
async fn settle_in(
    tx: &mut AnyTx<'_>,
    id: i64,
    outcome: &OutboxOutcome,
    now_ms: i64,
) -> Result<bool> {
    let done = match outcome {
        OutboxOutcome::Sent => {
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at_ms = $1, attempts = attempts + 1, lease_until_ms = 0, \
                 last_error = NULL WHERE id = $2 AND status = 'pending'",
            )
            .bind(now_ms)
            .bind(id)
            .execute(&mut **tx)
            .await?
        }
        OutboxOutcome::Retry {
            error,
            next_attempt_at_ms,
        } => {
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at_ms = $1, lease_until_ms = 0, \
                 last_error = $2 WHERE id = $3 AND status = 'pending'",
            )
            .bind(*next_attempt_at_ms)
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(&mut **tx)
            .await?
        }
        OutboxOutcome::Failed { error } => {
            sqlx::query(
                "UPDATE outbox SET status = 'failed', attempts = attempts + 1, lease_until_ms = 0, \
                 last_error = $1 WHERE id = $2 AND status = 'pending'",
            )
            .bind(error.chars().take(500).collect::<String>())
            .bind(id)
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn list(
    store: &SqlStore,
    recipient: Option<&str>,
    limit: u32,
) -> Result<Vec<OutboxMessage>> {
    let rows = match recipient {
        Some(r) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM outbox WHERE recipient = $1 ORDER BY id DESC LIMIT $2"
            )))
            .bind(r.to_string())
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM outbox ORDER BY id DESC LIMIT $1"
            )))
            .bind(i64::from(limit))
            .fetch_all(&store.pool)
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// The notification of a booking event, keyed so the same event is never queued twice. The
/// key leads with the event's time so that, under load, new keys land at the end of the unique
/// index instead of at random pages.
pub(crate) fn booking_message(kind: OutboxKind, b: &crate::Booking) -> NewMessage {
    let at = if kind == OutboxKind::BookingConfirmed {
        b.created_at_ms
    } else {
        b.updated_at_ms
    };
    NewMessage {
        kind,
        recipient: b.mobile.as_str().to_string(),
        dedupe_key: format!("{kind}:{at:013}:{}", b.tracking_code.as_str()),
        payload: serde_json::json!({
            "tracking_code": b.tracking_code.to_string(),
            "office": b.office.to_string(),
            "service": b.service.as_str(),
            "slot_start_ms": b.slot_start_ms,
            "slot_end_ms": b.slot_end_ms,
        }),
    }
}

/// A reschedule is its own event per destination slot.
pub(crate) fn rescheduled_message(b: &crate::Booking) -> NewMessage {
    let mut m = booking_message(OutboxKind::BookingRescheduled, b);
    m.dedupe_key = format!(
        "{}:{}:{}",
        OutboxKind::BookingRescheduled,
        b.tracking_code.as_str(),
        b.slot_start_ms
    );
    m
}

#[async_trait]
impl crate::Outbox for SqlStore {
    async fn claim_outbox(
        &self,
        limit: u32,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Vec<OutboxMessage>> {
        crate::outbox::claim(self, limit, now_ms, lease_ms).await
    }

    async fn settle_outbox(&self, id: i64, outcome: &OutboxOutcome, now_ms: i64) -> Result<()> {
        crate::outbox::settle(self, id, outcome, now_ms).await
    }

    async fn settle_outbox_batch(
        &self,
        settlements: &[(i64, OutboxOutcome, i64)],
    ) -> Result<Vec<bool>> {
        crate::outbox::settle_batch(self, settlements).await
    }

    async fn outbox_messages(
        &self,
        recipient: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>> {
        crate::outbox::list(self, recipient, limit).await
    }
}
