//! The SQL both backends share.
//!
//! The registry's SQL is the same on SQLite and PostgreSQL (`$N` parameters, `ON CONFLICT`,
//! `RETURNING`), so it is written once here over sqlx's `Any` driver. What differs per backend
//! (opening, locking, migrations, and later the hot-path engines) lives in `sqlite.rs` and
//! `postgres.rs`.

use std::fs::File;

use async_trait::async_trait;
use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::{FieldError, LocalizedText, OfficeCode};
use pishkhan_domain::schedule::{SlotPolicy, TrackingCode};
use pishkhan_domain::{JalaliDate, NationalCode};
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyPool, Row};

use crate::bookings;
use crate::{AuditContext, Backend, Booked, Booking, NewBooking, Result, StoreError};

/// Rows per multi-row INSERT: keeps each statement under both engines' parameter limits.
pub(crate) const INSERT_BATCH_ROWS: usize = 400;

pub(crate) struct SqlStore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// Held for the life of the store: the embedded database's single-owner lock.
    _lock: Option<File>,
    /// The embedded store's single writer. This process owns the database (see `_lock`), so
    /// serialising read-then-write transactions here is sound, and it spares SQLite the
    /// failed lock upgrades of concurrent deferred transactions.
    writer: Option<tokio::sync::Mutex<()>>,
    /// Key of the permutation from booking numbers to tracking codes; kept in `meta`.
    pub(crate) tracking_key: [u8; 32],
    /// The embedded store's in-memory booking engine (group commit); `None` on PostgreSQL.
    pub(crate) engine: Option<crate::engine::Engine>,
    /// The embedded store's background WAL checkpointer.
    _checkpointer: Option<crate::sqlite::Checkpointer>,
}

impl SqlStore {
    /// Finishes opening a migrated database: loads (or creates) the tracking-code key and,
    /// on SQLite, starts the booking engine from the durable record.
    pub(crate) async fn new(pool: AnyPool, backend: Backend, lock: Option<File>) -> Result<Self> {
        let tracking_key = tracking_key(&pool).await?;
        let engine = match backend {
            Backend::Sqlite => {
                Some(crate::engine::Engine::start(pool.clone(), tracking_key, now_ms()).await?)
            }
            Backend::Postgres => None,
        };
        let writer = (backend == Backend::Sqlite).then(|| tokio::sync::Mutex::new(()));
        let checkpointer =
            (backend == Backend::Sqlite).then(|| crate::sqlite::spawn_checkpointer(pool.clone()));
        Ok(Self {
            _checkpointer: checkpointer,
            pool,
            backend,
            _lock: lock,
            writer,
            tracking_key,
            engine,
        })
    }

    /// Starts a write transaction. On SQLite it waits for the writer's turn and begins
    /// `IMMEDIATE`, taking the write lock up front: a deferred transaction that reads first
    /// can fail to upgrade (`SQLITE_BUSY_SNAPSHOT`) without ever waiting. Bind the result as
    /// `let (_turn, mut tx) = …` so the transaction ends before the turn is released.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<(Option<tokio::sync::MutexGuard<'_, ()>>, AnyTx<'static>)> {
        match &self.writer {
            Some(m) => {
                let turn = m.lock().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok((Some(turn), tx))
            }
            None => Ok((None, self.pool.begin().await?)),
        }
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The tracking-code key: created once per database, then read back, so every process that
/// shares a PostgreSQL database uses the same one.
async fn tracking_key(pool: &AnyPool) -> Result<[u8; 32]> {
    let read = |v: String| -> Result<[u8; 32]> {
        let bytes = hex::decode(v.trim()).map_err(|e| corrupt("tracking key", e))?;
        bytes
            .try_into()
            .map_err(|_| corrupt("tracking key", "not 32 bytes"))
    };
    if let Some(row) = sqlx::query("SELECT value FROM meta WHERE key = 'tracking_key'")
        .fetch_optional(pool)
        .await?
    {
        return read(row.try_get("value")?);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| corrupt("randomness", e))?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('tracking_key', $1) ON CONFLICT (key) DO NOTHING",
    )
    .bind(hex::encode(key))
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT value FROM meta WHERE key = 'tracking_key'")
        .fetch_one(pool)
        .await?;
    read(row.try_get("value")?)
}

pub(crate) type AnyTx<'c> = sqlx::Transaction<'c, Any>;

/// A bound value for dynamically built statements.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
    OptInt(Option<i64>),
    OptText(Option<String>),
    Real(f64),
}

/// A statement under construction whose values are always bound, never interpolated.
#[derive(Default)]
pub(crate) struct Sql {
    text: String,
    args: Vec<Arg>,
    /// Write `?` instead of `$N`. SQLite resolves each `$N` by name, which is quadratic in
    /// the number of parameters: a 400-row insert spent most of its time there.
    positional: bool,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_string(),
            args: Vec::new(),
            positional: false,
        }
    }

    /// A statement with many parameters, in the placeholder style cheapest for `backend`.
    pub(crate) fn bulk(backend: Backend, text: &str) -> Self {
        Self {
            positional: backend == Backend::Sqlite,
            ..Self::new(text)
        }
    }

    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Adds a value and writes its `$N` placeholder.
    pub(crate) fn arg(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        if self.positional {
            self.text.push('?');
        } else {
            self.text.push('$');
            self.text.push_str(&self.args.len().to_string());
        }
        self
    }

    pub(crate) fn query(self) -> sqlx::query::Query<'static, Any, AnyArguments> {
        // Safe: `text` is built only from static fragments and `$N` placeholders.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.text));
        for a in self.args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Int(i) => q.bind(i),
                Arg::OptInt(i) => q.bind(i),
                Arg::OptText(t) => q.bind(t),
                Arg::Real(f) => q.bind(f),
            };
        }
        q
    }
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn field<T>(what: &str, r: std::result::Result<T, FieldError>) -> Result<T> {
    r.map_err(|e| corrupt(what, e))
}

// ---- shared writes -----------------------------------------------------------------------

/// Inserts rows in batches of multi-row `INSERT`s. `head` is `INSERT INTO t (cols) VALUES `.
pub(crate) async fn insert_rows(
    tx: &mut AnyTx<'_>,
    backend: Backend,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<u64> {
    let mut inserted = 0u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::bulk(backend, head);
        for (i, row) in rows.by_ref().take(INSERT_BATCH_ROWS).enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(");
            for (j, a) in row.into_iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.arg(a);
            }
            sql.push(")");
        }
        sql.push(tail);
        inserted += sql.query().execute(&mut **tx).await?.rows_affected();
    }
    Ok(inserted)
}

pub(crate) async fn write_audit(
    tx: &mut AnyTx<'_>,
    actor: &str,
    actor_staff_id: Option<i64>,
    action: &str,
    target: &str,
    detail: &serde_json::Value,
    ctx: &AuditContext,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, actor, actor_staff_id, action, target, ip, request_id, detail_json) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ctx.now_ms)
    .bind(actor.to_string())
    .bind(actor_staff_id)
    .bind(action.to_string())
    .bind(target.to_string())
    .bind(ctx.ip.clone())
    .bind(ctx.request_id.clone())
    .bind(detail.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn audit_permit(
    tx: &mut AnyTx<'_>,
    permit: &Permit,
    target: &str,
    detail: serde_json::Value,
    ctx: &AuditContext,
) -> Result<()> {
    let p = permit.principal();
    write_audit(
        tx,
        &p.audit_name(),
        p.staff_id(),
        permit.action().audit_name(),
        target,
        &detail,
        ctx,
    )
    .await
}

pub(crate) fn require(permit: &Permit, ok: impl FnOnce(&Action) -> bool) -> Result<()> {
    if ok(permit.action()) {
        Ok(())
    } else {
        Err(StoreError::PermitMismatch)
    }
}

#[async_trait]
impl crate::Appointments for SqlStore {
    async fn slot_policy(&self, office: OfficeCode) -> Result<Option<SlotPolicy>> {
        bookings::slot_policy(self, office).await
    }

    async fn set_slot_policy(
        &self,
        permit: &Permit,
        office: OfficeCode,
        policy: &SlotPolicy,
        ctx: &AuditContext,
    ) -> Result<()> {
        bookings::set_slot_policy(self, permit, office, policy, ctx).await
    }

    async fn holidays(
        &self,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, LocalizedText)>> {
        bookings::holidays(self, from, to).await
    }

    async fn set_holiday(
        &self,
        permit: &Permit,
        day: JalaliDate,
        name: &LocalizedText,
        ctx: &AuditContext,
    ) -> Result<()> {
        bookings::set_holiday(self, permit, day, name, ctx).await
    }

    async fn closures(
        &self,
        office: OfficeCode,
        from: JalaliDate,
        to: JalaliDate,
    ) -> Result<Vec<(JalaliDate, LocalizedText)>> {
        bookings::closures(self, office, from, to).await
    }

    async fn set_closure(
        &self,
        permit: &Permit,
        office: OfficeCode,
        day: JalaliDate,
        reason: &LocalizedText,
        ctx: &AuditContext,
    ) -> Result<()> {
        bookings::set_closure(self, permit, office, day, reason, ctx).await
    }

    async fn slot_loads(
        &self,
        office: OfficeCode,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, u32)>> {
        bookings::slot_loads(self, office, from_ms, to_ms).await
    }

    async fn create_booking(
        &self,
        permit: &Permit,
        booking: &NewBooking,
        ctx: &AuditContext,
    ) -> Result<Booked> {
        bookings::create_booking(self, permit, booking, ctx).await
    }

    async fn booking(&self, code: &TrackingCode) -> Result<Booking> {
        bookings::booking(self, code).await
    }

    async fn cancel_booking(
        &self,
        permit: &Permit,
        code: &TrackingCode,
        ctx: &AuditContext,
    ) -> Result<Booking> {
        let cancelled = bookings::cancel_booking(self, permit, code, ctx).await?;
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
        bookings::reschedule_booking(self, permit, code, to, ctx).await
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
        bookings::citizen_bookings(self, national_code).await
    }
}
