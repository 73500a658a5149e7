//! Office queues: each office's day is an append-only event log. Appends are optimistic: the
//! primary key (office, day, seq) lets exactly one writer take each number.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::OfficeCode;
use sqlx::Row;

use crate::bookings::{BOOKING_COLS, booking_from_row};
use crate::sql::{SqlStore, audit_permit, require};
use crate::{AuditContext, Booking, Result, StoreError};

/// Events one append may carry.
const MAX_EVENTS_PER_APPEND: usize = 1_000;

pub(crate) async fn office_bookings(
    store: &SqlStore,
    office: OfficeCode,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Booking>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLS} FROM bookings WHERE office_code = $1 AND slot_start_ms >= $2 AND slot_start_ms < $3 \
         ORDER BY slot_start_ms, seq"
    )))
    .bind(i64::from(office.get()))
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(booking_from_row).collect()
}

pub(crate) async fn events(
    store: &SqlStore,
    office: OfficeCode,
    day: JalaliDate,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT event_json FROM queue_events WHERE office_code = $1 AND day = $2 ORDER BY seq",
    )
    .bind(i64::from(office.get()))
    .bind(day.to_string())
    .fetch_all(&store.pool)
    .await?;
    rows.iter().map(|r| Ok(r.try_get("event_json")?)).collect()
}

pub(crate) async fn append(
    store: &SqlStore,
    permit: &Permit,
    office: OfficeCode,
    day: JalaliDate,
    first_seq: u64,
    events: &[String],
    ctx: &AuditContext,
) -> Result<()> {
    require(
        permit,
        |a| matches!(a, Action::OperateQueue { office: o } if *o == office),
    )?;
    if events.is_empty() {
        return Ok(());
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(StoreError::WrongState(format!(
            "at most {MAX_EVENTS_PER_APPEND} events per append"
        )));
    }
    let (_turn, mut tx) = store.begin_write().await?;
    for (i, e) in events.iter().enumerate() {
        let r = sqlx::query(
            "INSERT INTO queue_events (office_code, day, seq, at_ms, event_json) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i64::from(office.get()))
        .bind(day.to_string())
        .bind((first_seq + i as u64) as i64)
        .bind(ctx.now_ms)
        .bind(e.clone())
        .execute(&mut *tx)
        .await;
        if let Err(e) = r {
            let _ = tx.rollback().await;
            return Err(match StoreError::from(e) {
                StoreError::Conflict { .. } => StoreError::Conflict {
                    what: "the queue changed meanwhile".into(),
                },
                other => other,
            });
        }
    }
    audit_permit(
        &mut tx,
        permit,
        &format!("queue:{office}:{day}"),
        serde_json::json!({ "from_seq": first_seq, "events": events.len() }),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
