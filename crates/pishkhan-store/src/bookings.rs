//! Appointments in storage: settings, holidays, closures, slot loads and bookings.
//!
//! **Invariant:** a slot never holds more bookings than its capacity, and that capacity is
//! computed by the store from its own data (`capacity.rs`), never taken from the caller. On
//! PostgreSQL the capacity is read in the booking's transaction and the seats counted under
//! the slot's `slot_loads` row lock, taken in (office, slot) order ([`lock_slots`]); the
//! update that takes them re-checks the capacity in the database, in the same transaction as
//! the booking rows: the database arbitrates between any number of app processes. On SQLite
//! the single owning process serialises writers.
//!
//! Seats are taken and freed by a [`BookingWriter`], chosen once at open by the dialect: on
//! PostgreSQL the group-commit writer (`pg_group_commit.rs`: one transaction per batch of
//! bookings; cancel and reschedule in the request's own transaction, below), on SQLite the
//! in-memory single-writer engine (`engine.rs`). Both call the domain's booking decision.

use std::collections::HashMap;

use async_trait::async_trait;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::booking_decision::{
    BookingAsk, BookingRefusal, Change, Holding, SlotLoad, decide_cancel, decide_reschedule,
};
use pishkhan_domain::model::{LocalizedText, OfficeCode, ServiceCode, WeeklyHours};
use pishkhan_domain::schedule::{BookingRules, BookingStatus, SlotPolicy, TrackingCode};
use pishkhan_domain::{JalaliDate, Mobile, NationalCode};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::pg_group_commit::{BEGIN_KEYED, int_array, text_array};
use crate::sql::{AnyTx, SqlStore, audit_permit, corrupt, field, require};
use crate::{AuditContext, Booked, Booking, NewBooking, NewSlot, Result, StoreError};

pub(crate) const BOOKING_COLS: &str = "tracking_code, office_code, service_code, slot_start_ms, slot_end_ms, \
    national_code, mobile, status, created_at_ms, updated_at_ms, created_by";

pub(crate) fn booking_from_row(r: &AnyRow) -> Result<Booking> {
    let status: String = r.try_get("status")?;
    let office: i64 = r.try_get("office_code")?;
    Ok(Booking {
        tracking_code: field(
            "tracking code",
            TrackingCode::parse(&r.try_get::<String, _>("tracking_code")?),
        )?,
        office: field("office", OfficeCode::from_u32(office as u32))?,
        service: field(
            "service",
            ServiceCode::parse(&r.try_get::<String, _>("service_code")?),
        )?,
        slot_start_ms: r.try_get("slot_start_ms")?,
        slot_end_ms: r.try_get("slot_end_ms")?,
        national_code: field(
            "national code",
            NationalCode::parse(&r.try_get::<String, _>("national_code")?),
        )?,
        mobile: field("mobile", Mobile::parse(&r.try_get::<String, _>("mobile")?))?,
        status: BookingStatus::parse(&status).ok_or_else(|| corrupt("booking status", &status))?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
        created_by: r.try_get("created_by")?,
    })
}

pub(crate) async fn slot_policy(
    store: &SqlStore,
    office: OfficeCode,
) -> Result<Option<SlotPolicy>> {
    let row = sqlx::query(
        "SELECT slot_minutes, occupancy_cap, booking_counters FROM office_schedules WHERE office_code = $1",
    )
    .bind(i64::from(office.get()))
    .fetch_optional(&store.pool)
    .await?;
    row.map(|r| {
        Ok(SlotPolicy {
            slot_minutes: r.try_get::<i64, _>("slot_minutes")? as u16,
            occupancy_cap: r.try_get::<i64, _>("occupancy_cap")? as u16,
            booking_counters: r.try_get::<i64, _>("booking_counters")? as u16,
        })
    })
    .transpose()
}

pub(crate) async fn set_slot_policy(
    store: &SqlStore,
    permit: &Permit,
    office: OfficeCode,
    policy: &SlotPolicy,
    ctx: &AuditContext,
) -> Result<()> {
    require(
        permit,
        |a| matches!(a, Action::ConfigureSchedule { office: o } if *o == office),
    )?;
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO office_schedules (office_code, slot_minutes, occupancy_cap, booking_counters, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (office_code) DO UPDATE SET \
         slot_minutes = excluded.slot_minutes, occupancy_cap = excluded.occupancy_cap, \
         booking_counters = excluded.booking_counters, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(i64::from(office.get()))
    .bind(i64::from(policy.slot_minutes))
    .bind(i64::from(policy.occupancy_cap))
    .bind(i64::from(policy.booking_counters))
    .bind(ctx.now_ms)
    .execute(&mut *tx)
    .await?;
    audit_permit(
        &mut tx,
        permit,
        &format!("office:{office}"),
        serde_json::json!({
            "slot_minutes": policy.slot_minutes,
            "occupancy_cap": policy.occupancy_cap,
            "booking_counters": policy.booking_counters,
        }),
        ctx,
    )
    .await?;
    tx.commit().await?;
    store.bookings.references_changed(Some(office));
    Ok(())
}

fn dated_texts(rows: Vec<AnyRow>, fa: &str, en: &str) -> Result<Vec<(JalaliDate, LocalizedText)>> {
    rows.iter()
        .map(|r| {
            Ok((
                field("day", JalaliDate::parse(&r.try_get::<String, _>("day")?))?,
                LocalizedText::new(r.try_get::<String, _>(fa)?, r.try_get::<String, _>(en)?),
            ))
        })
        .collect()
}

pub(crate) async fn holidays(
    store: &SqlStore,
    from: JalaliDate,
    to: JalaliDate,
) -> Result<Vec<(JalaliDate, LocalizedText)>> {
    // Days are stored as zero-padded YYYY-MM-DD, so text order is date order.
    let rows = sqlx::query(
        "SELECT day, name_fa, name_en FROM holidays WHERE day >= $1 AND day <= $2 ORDER BY day",
    )
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&store.pool)
    .await?;
    dated_texts(rows, "name_fa", "name_en")
}

pub(crate) async fn set_holiday(
    store: &SqlStore,
    permit: &Permit,
    day: JalaliDate,
    name: &LocalizedText,
    ctx: &AuditContext,
) -> Result<()> {
    require(permit, |a| matches!(a, Action::ManageHolidays))?;
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO holidays (day, name_fa, name_en) VALUES ($1, $2, $3) \
         ON CONFLICT (day) DO UPDATE SET name_fa = excluded.name_fa, name_en = excluded.name_en",
    )
    .bind(day.to_string())
    .bind(name.fa.clone())
    .bind(name.en.clone())
    .execute(&mut *tx)
    .await?;
    audit_permit(
        &mut tx,
        permit,
        &format!("holiday:{day}"),
        serde_json::json!({ "name": name.fa }),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn closures(
    store: &SqlStore,
    office: OfficeCode,
    from: JalaliDate,
    to: JalaliDate,
) -> Result<Vec<(JalaliDate, LocalizedText)>> {
    let rows = sqlx::query(
        "SELECT day, reason_fa, reason_en FROM office_closures WHERE office_code = $1 AND day >= $2 AND day <= $3 ORDER BY day",
    )
    .bind(i64::from(office.get()))
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&store.pool)
    .await?;
    dated_texts(rows, "reason_fa", "reason_en")
}

pub(crate) async fn set_closure(
    store: &SqlStore,
    permit: &Permit,
    office: OfficeCode,
    day: JalaliDate,
    reason: &LocalizedText,
    ctx: &AuditContext,
) -> Result<()> {
    require(
        permit,
        |a| matches!(a, Action::ConfigureSchedule { office: o } if *o == office),
    )?;
    let (_turn, mut tx) = store.begin_write().await?;
    sqlx::query(
        "INSERT INTO office_closures (office_code, day, reason_fa, reason_en) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (office_code, day) DO UPDATE SET reason_fa = excluded.reason_fa, reason_en = excluded.reason_en",
    )
    .bind(i64::from(office.get()))
    .bind(day.to_string())
    .bind(reason.fa.clone())
    .bind(reason.en.clone())
    .execute(&mut *tx)
    .await?;
    audit_permit(
        &mut tx,
        permit,
        &format!("office:{office}"),
        serde_json::json!({ "closed": day.to_string(), "reason": reason.fa }),
        ctx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(crate) async fn slot_loads(
    store: &SqlStore,
    office: OfficeCode,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, u32)>> {
    store.bookings.loads(store, office, from_ms, to_ms).await
}

/// Booked seats per slot as `slot_loads` holds them (the PostgreSQL writer's view).
pub(crate) async fn stored_loads(
    store: &SqlStore,
    office: OfficeCode,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, u32)>> {
    let rows = sqlx::query(
        "SELECT slot_start_ms, booked FROM slot_loads WHERE office_code = $1 AND slot_start_ms >= $2 AND slot_start_ms < $3",
    )
    .bind(i64::from(office.get()))
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>("slot_start_ms")?,
                r.try_get::<i64, _>("booked")? as u32,
            ))
        })
        .collect()
}

/// One of the citizen's bookings as read for the decision: (seq, service, slot start, status).
pub(crate) type HeldRow = (i64, ServiceCode, i64, BookingStatus);

/// The citizen's bookings that can matter to a booking of the slot at `slot_start_ms`: every
/// booked one (the per-service rule) and the other visits since the window opens before the
/// slot (the visit rule). Read inside the transaction, under the citizen's advisory lock.
async fn holdings_in(
    tx: &mut AnyTx<'_>,
    national_code: &NationalCode,
    rules: &BookingRules,
    slot_start_ms: i64,
) -> Result<Vec<HeldRow>> {
    let mut of = holdings_of(
        tx,
        &[national_code.as_str()],
        rules.visits_matter_after_ms(slot_start_ms),
    )
    .await?;
    Ok(of.remove(national_code.as_str()).unwrap_or_default())
}

/// By national code, the bookings of `citizens` that can matter to a decision: every booked
/// one (the per-service rule) and the visits with slots after `after_ms` (the visit rule;
/// earlier ones are outside every window that opens then or later). Read inside the
/// transaction, under the citizens' advisory locks, one probe of the citizen index per
/// citizen: the filter is a `CASE` so that no other index can be combined with it, which the
/// planner did with the status index while its statistics lagged behind a fast-growing table.
pub(crate) async fn holdings_of(
    tx: &mut AnyTx<'_>,
    citizens: &[&str],
    after_ms: i64,
) -> Result<HashMap<String, Vec<HeldRow>>> {
    let rows = sqlx::query(
        "SELECT c.nc AS national_code, b.seq, b.service_code, b.slot_start_ms, b.status \
         FROM (SELECT DISTINCT unnest($1::text::text[]) AS nc) c \
         CROSS JOIN LATERAL (SELECT seq, service_code, slot_start_ms, status FROM bookings \
           WHERE national_code = c.nc AND CASE status WHEN 'booked' THEN true \
             WHEN 'checked_in' THEN slot_start_ms > $2 WHEN 'completed' THEN slot_start_ms > $2 \
             ELSE false END) b",
    )
    .bind(text_array(citizens.iter().map(|c| Some(*c))))
    .bind(after_ms)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: HashMap<String, Vec<HeldRow>> = HashMap::new();
    for r in &rows {
        let status: String = r.try_get("status")?;
        let held = (
            r.try_get("seq")?,
            field(
                "service",
                ServiceCode::parse(&r.try_get::<String, _>("service_code")?),
            )?,
            r.try_get("slot_start_ms")?,
            BookingStatus::parse(&status).ok_or_else(|| corrupt("booking status", &status))?,
        );
        out.entry(r.try_get("national_code")?)
            .or_default()
            .push(held);
    }
    Ok(out)
}

fn as_holdings(rows: &[HeldRow], except_seq: Option<i64>) -> Vec<Holding<'_>> {
    rows.iter()
        .filter(|(seq, ..)| Some(*seq) != except_seq)
        .map(|(_, service, slot_start_ms, status)| Holding {
            service,
            slot_start_ms: *slot_start_ms,
            status: *status,
        })
        .collect()
}

/// Takes the advisory locks of `names` (national codes, idempotency keys) until the
/// transaction ends, in one statement. They are taken in the order of their hashes (the plan
/// sorts before the aggregate calls the lock function), so writers in any number of processes
/// take them in one order and never deadlock on them. A citizen's lock (the same key as
/// `pg_advisory_xact_lock(hashtext(national_code))`) serialises their bookings and
/// reschedules, so the limit checks of two can't both pass; a key's lock makes a retry wait
/// for its first request's commit and then find its booking.
pub(crate) async fn lock_names(tx: &mut AnyTx<'_>, names: &[&str]) -> Result<()> {
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(h)) AS n FROM (SELECT DISTINCT hashtext(k) AS h \
         FROM unnest($1::text::text[]) AS k ORDER BY h) s",
    )
    .bind(text_array(names.iter().map(|n| Some(*n))))
    .fetch_one(&mut **tx)
    .await?;
    Ok(())
}

/// Locks the `slot_loads` rows of `slots` until the transaction ends, in (office, slot) order
/// (creating missing ones at zero), and returns their seats taken as locked: the latest
/// committed count, which no other writer can change before this transaction ends. Every
/// writer that holds more than one slot row takes them through here, in this order.
pub(crate) async fn lock_slots(
    tx: &mut AnyTx<'_>,
    slots: &[(OfficeCode, i64)],
) -> Result<HashMap<(u32, i64), u32>> {
    let mut keys: Vec<(u32, i64)> = slots.iter().map(|(o, s)| (o.get(), *s)).collect();
    keys.sort_unstable();
    // One row may be updated only once per statement.
    keys.dedup();
    // The no-op update locks a present row and returns its latest committed count.
    let rows = sqlx::query(
        "INSERT INTO slot_loads (office_code, slot_start_ms, booked) \
         SELECT office, slot, 0 FROM unnest($1::text::bigint[], $2::text::bigint[]) AS r(office, slot) \
         ORDER BY office, slot \
         ON CONFLICT (office_code, slot_start_ms) DO UPDATE SET booked = slot_loads.booked \
         RETURNING office_code, slot_start_ms, booked",
    )
    .bind(int_array(keys.iter().map(|(office, _)| i64::from(*office))))
    .bind(int_array(keys.iter().map(|(_, slot)| *slot)))
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let office: i64 = r.try_get("office_code")?;
            let booked: i64 = r.try_get("booked")?;
            Ok((
                (office as u32, r.try_get::<i64, _>("slot_start_ms")?),
                booked as u32,
            ))
        })
        .collect()
}

/// Takes a seat in the slot unless it holds `capacity` already: the database-level guard of
/// the capacity invariant, checked again although the caller holds the row's lock.
async fn take_seat(
    tx: &mut AnyTx<'_>,
    office: OfficeCode,
    slot_start_ms: i64,
    capacity: u32,
) -> Result<()> {
    let taken = sqlx::query(
        "INSERT INTO slot_loads (office_code, slot_start_ms, booked) VALUES ($1, $2, 1) \
         ON CONFLICT (office_code, slot_start_ms) DO UPDATE SET booked = slot_loads.booked + 1 \
         WHERE slot_loads.booked < $3 RETURNING booked",
    )
    .bind(i64::from(office.get()))
    .bind(slot_start_ms)
    .bind(i64::from(capacity))
    .fetch_optional(&mut **tx)
    .await?;
    if taken.is_none() || capacity == 0 {
        return Err(StoreError::SlotFull);
    }
    Ok(())
}

/// What a new booking asks for, in the decision's terms.
pub(crate) fn ask_of(b: &NewBooking) -> BookingAsk<'_> {
    BookingAsk {
        office: b.office,
        service: &b.service,
        slot_start_ms: b.slot_start_ms,
        national_code: &b.national_code,
    }
}

/// What a stored booking asked for: an idempotency key's first request.
pub(crate) fn ask_of_booking(b: &Booking) -> BookingAsk<'_> {
    BookingAsk {
        office: b.office,
        service: &b.service,
        slot_start_ms: b.slot_start_ms,
        national_code: &b.national_code,
    }
}

pub(crate) async fn create_booking(
    store: &SqlStore,
    permit: &Permit,
    b: &NewBooking,
    ctx: &AuditContext,
) -> Result<Booked> {
    require(permit, |a| may_book(a, b.office, &b.national_code))?;
    store.bookings.book(store, permit, b, ctx).await
}

/// Commits on success. On failure it rolls back before the writer's turn ends: a transaction
/// merely dropped is rolled back lazily, and on SQLite would keep the write lock meanwhile.
pub(crate) async fn finish<T>(tx: AnyTx<'_>, outcome: Result<T>) -> Result<T> {
    match outcome {
        Ok(v) => {
            tx.commit().await?;
            Ok(v)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

pub(crate) async fn booking(store: &SqlStore, code: &TrackingCode) -> Result<Booking> {
    // The code decodes to the booking's number, the primary key; the stored code must match.
    let seq = code.to_sequence(&store.tracking_key);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLS} FROM bookings WHERE seq = $1 AND tracking_code = $2"
    )))
    .bind(seq as i64)
    .bind(code.as_str().to_string())
    .fetch_optional(&store.pool)
    .await?;
    match row {
        Some(r) => booking_from_row(&r),
        None => Err(StoreError::NotFound { entity: "booking" }),
    }
}

pub(crate) async fn cancel_booking(
    store: &SqlStore,
    permit: &Permit,
    code: &TrackingCode,
    ctx: &AuditContext,
) -> Result<Booking> {
    let current = booking(store, code).await?;
    require(permit, |a| {
        may_book(a, current.office, &current.national_code)
    })?;
    store.bookings.cancel(store, permit, &current, ctx).await
}

async fn cancel_in(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    current: &Booking,
    ctx: &AuditContext,
) -> Result<Booking> {
    let code = &current.tracking_code;
    // Only a booked appointment can be cancelled; the conditional update decides races.
    decide_cancel(Some(current.status))?;
    let done = sqlx::query(
        "UPDATE bookings SET status = 'cancelled', updated_at_ms = $1 WHERE seq = $2 AND status = 'booked'",
    )
    .bind(ctx.now_ms)
    .bind(code.to_sequence(&store.tracking_key) as i64)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(BookingRefusal::NotBooked {
            change: Change::Cancel,
            status: Some(current.status),
        }
        .into());
    }
    sqlx::query("UPDATE slot_loads SET booked = booked - 1 WHERE office_code = $1 AND slot_start_ms = $2 AND booked > 0")
        .bind(i64::from(current.office.get()))
        .bind(current.slot_start_ms)
        .execute(&mut **tx)
        .await?;
    audit_permit(
        tx,
        permit,
        &format!("booking:{}", code.as_str()),
        serde_json::json!({ "cancelled": true }),
        ctx,
    )
    .await?;
    let cancelled = Booking {
        status: BookingStatus::Cancelled,
        updated_at_ms: ctx.now_ms,
        ..current.clone()
    };
    crate::outbox::enqueue(
        tx,
        &crate::outbox::booking_message(crate::OutboxKind::BookingCancelled, &cancelled),
        ctx.now_ms,
    )
    .await?;
    Ok(cancelled)
}

pub(crate) async fn reschedule_booking(
    store: &SqlStore,
    permit: &Permit,
    code: &TrackingCode,
    to: &crate::NewSlot,
    ctx: &AuditContext,
) -> Result<Booking> {
    let current = booking(store, code).await?;
    require(permit, |a| {
        may_book(a, current.office, &current.national_code)
    })?;
    store
        .bookings
        .reschedule(store, permit, &current, to, ctx)
        .await
}

async fn reschedule_in(
    store: &SqlStore,
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    current: &Booking,
    to: &crate::NewSlot,
    ctx: &AuditContext,
) -> Result<Booking> {
    let seq = current.tracking_code.to_sequence(&store.tracking_key) as i64;
    // The citizen's lock first, as a booking batch takes it: a move and a new booking of the
    // same person can't both pass the visit rule, and the lock order stays citizen, booking
    // row, slot rows for every writer.
    lock_names(tx, &[current.national_code.as_str()]).await?;
    // Lock the booking row: concurrent reschedules and cancels of it queue here.
    let row = sqlx::query("SELECT status, slot_start_ms FROM bookings WHERE seq = $1 FOR UPDATE")
        .bind(seq)
        .fetch_one(&mut **tx)
        .await?;
    let status: String = row.try_get("status")?;
    let status = BookingStatus::parse(&status).ok_or_else(|| corrupt("booking status", &status))?;
    let from_ms: i64 = row.try_get("slot_start_ms")?;
    let held = holdings_in(tx, &current.national_code, &to.rules, to.slot_start_ms).await?;
    let capacity = crate::capacity::in_transaction(tx, current.office, &current.service).await?;
    // Both slots' rows in the order every writer takes them, so two moves in opposite
    // directions can't deadlock.
    let loads = lock_slots(
        tx,
        &[
            (current.office, from_ms),
            (current.office, to.slot_start_ms),
        ],
    )
    .await?;
    let load = SlotLoad {
        booked: loads
            .get(&(current.office.get(), to.slot_start_ms))
            .copied()
            .unwrap_or(0),
        capacity,
    };
    decide_reschedule(
        &to.rules,
        Some((status, from_ms)),
        to.slot_start_ms,
        &as_holdings(&held, Some(seq)),
        load,
    )?;
    // The new seat first; if it is full, the transaction is rolled back and nothing changed.
    take_seat(tx, current.office, to.slot_start_ms, capacity).await?;
    sqlx::query("UPDATE slot_loads SET booked = booked - 1 WHERE office_code = $1 AND slot_start_ms = $2 AND booked > 0")
        .bind(i64::from(current.office.get()))
        .bind(from_ms)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE bookings SET slot_start_ms = $1, slot_end_ms = $2, updated_at_ms = $3 WHERE seq = $4")
        .bind(to.slot_start_ms)
        .bind(to.slot_end_ms)
        .bind(ctx.now_ms)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    let moved = Booking {
        slot_start_ms: to.slot_start_ms,
        slot_end_ms: to.slot_end_ms,
        updated_at_ms: ctx.now_ms,
        ..current.clone()
    };
    audit_permit(
        tx,
        permit,
        &format!("booking:{}", current.tracking_code.as_str()),
        serde_json::json!({ "rescheduled_from_ms": from_ms, "to_ms": to.slot_start_ms }),
        ctx,
    )
    .await?;
    crate::outbox::enqueue(tx, &crate::outbox::rescheduled_message(&moved), ctx.now_ms).await?;
    Ok(moved)
}

/// A booking change is covered by staff booking at that office, or by the citizen whose
/// booking it is.
fn may_book(a: &Action, office: OfficeCode, national_code: &NationalCode) -> bool {
    match a {
        Action::BookOnBehalf { office: o } => *o == office,
        Action::BookAsCitizen { national_code: n } => n == national_code,
        _ => false,
    }
}

pub(crate) async fn citizen_bookings(
    store: &SqlStore,
    national_code: &NationalCode,
) -> Result<Vec<Booking>> {
    crate::listing::citizen_bookings(store, national_code).await
}

/// Takes and frees seats. Permits are checked by the callers above before a writer is asked.
#[async_trait]
pub(crate) trait BookingWriter: Send + Sync + 'static {
    /// Booked seats per slot start of `office` in `[from_ms, to_ms)`.
    async fn loads(
        &self,
        store: &SqlStore,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>>;

    async fn book(
        &self,
        store: &SqlStore,
        permit: &Permit,
        b: &NewBooking,
        ctx: &AuditContext,
    ) -> Result<Booked>;

    async fn cancel(
        &self,
        store: &SqlStore,
        permit: &Permit,
        current: &Booking,
        ctx: &AuditContext,
    ) -> Result<Booking>;

    async fn reschedule(
        &self,
        store: &SqlStore,
        permit: &Permit,
        current: &Booking,
        to: &NewSlot,
        ctx: &AuditContext,
    ) -> Result<Booking>;

    /// Told after a queue append committed the statuses it set (checked in, completed, no
    /// show).
    async fn observe_statuses(&self, statuses: &[(TrackingCode, BookingStatus)]) -> Result<()>;

    /// Numbers of the live bookings a listing shows, where this writer indexes them in memory
    /// (the embedded engine); `None` where the database's own indexes serve every row.
    async fn listing(&self, _of: crate::engine::Listing) -> Result<Option<Vec<i64>>> {
        Ok(None)
    }

    /// Archives up to `limit` bookings whose slots lie past what the writer keeps in memory at
    /// `now_ms`, returning how many; a no-op where nothing is archived.
    async fn archive(&self, _now_ms: i64, _limit: usize) -> Result<u64> {
        Ok(0)
    }

    /// Told after the store committed a change to what capacity is computed from: an office's
    /// slot policy, counters or counter assignments (`Some(office)`), or offices or services
    /// created, imported or loaded (`None`: any of them). Every such write path calls it after
    /// its commit and before it returns, so the next booking decides with the change.
    fn references_changed(&self, office: Option<OfficeCode>);
}

/// Cancels `current` in its own transaction (PostgreSQL): the booking row's conditional
/// update decides a race, and the slot's count goes down in the same transaction. Begun as a
/// batch's transaction is, since they share statements and so their connections' cached plans.
pub(crate) async fn cancel_alone(
    store: &SqlStore,
    permit: &Permit,
    current: &Booking,
    ctx: &AuditContext,
) -> Result<Booking> {
    let mut tx = store.pool.begin_with(BEGIN_KEYED).await?;
    let outcome = cancel_in(store, &mut tx, permit, current, ctx).await;
    finish(tx, outcome).await
}

/// Moves `current` in its own transaction (PostgreSQL, begun as a batch's), under the citizen's
/// lock and both slots' row locks: the new seat is taken before the old one is freed, or
/// nothing changes.
pub(crate) async fn reschedule_alone(
    store: &SqlStore,
    permit: &Permit,
    current: &Booking,
    to: &NewSlot,
    ctx: &AuditContext,
) -> Result<Booking> {
    let mut tx = store.pool.begin_with(BEGIN_KEYED).await?;
    let outcome = reschedule_in(store, &mut tx, permit, current, to, ctx).await;
    finish(tx, outcome).await
}

#[async_trait]
impl crate::Appointments for SqlStore {
    async fn slot_policy(&self, office: OfficeCode) -> Result<Option<SlotPolicy>> {
        slot_policy(self, office).await
    }

    async fn set_slot_policy(
        &self,
        permit: &Permit,
        office: OfficeCode,
        policy: &SlotPolicy,
        ctx: &AuditContext,
    ) -> Result<()> {
        set_slot_policy(self, permit, office, policy, ctx).await
    }

    async fn holidays(
        &self,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, LocalizedText)>> {
        holidays(self, from, to).await
    }

    async fn set_holiday(
        &self,
        permit: &Permit,
        day: JalaliDate,
        name: &LocalizedText,
        ctx: &AuditContext,
    ) -> Result<()> {
        set_holiday(self, permit, day, name, ctx).await
    }

    async fn closures(
        &self,
        office: OfficeCode,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, LocalizedText)>> {
        closures(self, office, from, to).await
    }

    async fn set_closure(
        &self,
        permit: &Permit,
        office: OfficeCode,
        day: JalaliDate,
        reason: &LocalizedText,
        ctx: &AuditContext,
    ) -> Result<()> {
        set_closure(self, permit, office, day, reason, ctx).await
    }

    async fn slot_loads(
        &self,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>> {
        slot_loads(self, office, from_ms, to_ms).await
    }

    async fn create_booking(
        &self,
        permit: &Permit,
        booking: &NewBooking,
        ctx: &AuditContext,
    ) -> Result<Booked> {
        create_booking(self, permit, booking, ctx).await
    }

    async fn booking(&self, code: &TrackingCode) -> Result<Booking> {
        booking(self, code).await
    }

    async fn cancel_booking(
        &self,
        permit: &Permit,
        code: &TrackingCode,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        let cancelled = cancel_booking(self, permit, code, ctx).await?;
        // A seat a surge release gave out goes on to its waitlist. The cancellation stands
        // either way; a missed offer is made at the release's next close call.
        if let Err(e) = crate::releases::after_cancel(self, permit, &cancelled, ctx).await {
            tracing::warn!(error = %e, booking = %cancelled.tracking_code, "release waitlist offer failed; the next close call makes it");
        }
        Ok(cancelled)
    }

    async fn reschedule_booking(
        &self,
        permit: &Permit,
        code: &TrackingCode,
        to: &crate::NewSlot,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        reschedule_booking(self, permit, code, to, ctx).await
    }

    async fn office_bookings(
        &self,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Booking>> {
        crate::queue::office_bookings(self, office, from_ms, to_ms).await
    }

    async fn enqueue_reminders(&self, from_ms: i64, to_ms: i64, now_ms: i64) -> Result<u64> {
        crate::queue::enqueue_reminders(self, from_ms, to_ms, now_ms).await
    }

    async fn citizen_bookings(&self, national_code: &NationalCode) -> Result<Vec<Booking>> {
        citizen_bookings(self, national_code).await
    }

    async fn archive_bookings(&self, now_ms: i64, limit: u32) -> Result<u64> {
        self.bookings.archive(now_ms, limit as usize).await
    }

    async fn set_office_hours(
        &self,
        permit: &Permit,
        office: OfficeCode,
        hours: &WeeklyHours,
        ctx: &AuditContext,
    ) -> Result<()> {
        set_office_hours(self, permit, office, hours, ctx).await
    }

    async fn remove_closure(
        &self,
        permit: &Permit,
        office: OfficeCode,
        day: JalaliDate,
        ctx: &AuditContext,
    ) -> Result<()> {
        remove_closure(self, permit, office, day, ctx).await
    }
}

pub(crate) async fn remove_closure(
    store: &SqlStore,
    permit: &Permit,
    office: OfficeCode,
    day: JalaliDate,
    ctx: &AuditContext,
) -> Result<()> {
    require(
        permit,
        |a| matches!(a, Action::ConfigureSchedule { office: o } if *o == office),
    )?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let done = sqlx::query("DELETE FROM office_closures WHERE office_code = $1 AND day = $2")
            .bind(i64::from(office.get()))
            .bind(day.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound { entity: "closure" });
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("office:{office}"),
            serde_json::json!({ "reopened": day.to_string() }),
            ctx,
        )
        .await
    }
    .await;
    finish(tx, outcome).await
}

pub(crate) async fn set_office_hours(
    store: &SqlStore,
    permit: &Permit,
    office: OfficeCode,
    hours: &WeeklyHours,
    ctx: &AuditContext,
) -> Result<()> {
    require(
        permit,
        |a| matches!(a, Action::ConfigureSchedule { office: o } if *o == office),
    )?;
    let (_turn, mut tx) = store.begin_write().await?;
    let outcome = async {
        let compact = hours.to_compact();
        let done = sqlx::query("UPDATE offices SET hours = $1 WHERE code = $2")
            .bind(compact.clone())
            .bind(i64::from(office.get()))
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound { entity: "office" });
        }
        audit_permit(
            &mut tx,
            permit,
            &format!("office:{office}"),
            serde_json::json!({ "hours": compact }),
            ctx,
        )
        .await
    }
    .await;
    finish(tx, outcome).await?;
    // Slots are cut from the hours: the next booking must decide with the new ones.
    store.bookings.references_changed(Some(office));
    Ok(())
}
