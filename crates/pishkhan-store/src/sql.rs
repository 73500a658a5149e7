//! The store both backends share: `SqlStore` over sqlx's `Any` driver, the statement builder
//! and the helpers every area uses (audit rows, permit checks, batched inserts).
//!
//! Each area's SQL sits in its own file (`registry.rs`, `sessions.rs`, `bookings.rs`,
//! `queue.rs`, `releases.rs`, `outbox.rs`, `exchange_log.rs`, `identity.rs`), written once for
//! both engines. What differs per engine sits behind `dialect::Dialect` and
//! `bookings::BookingWriter`, chosen once at open; opening, locking and migrations live in
//! `sqlite.rs` and `postgres.rs`.

use std::fs::File;

use pishkhan_domain::access::{Action, Permit};
use pishkhan_domain::model::FieldError;
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyPool, Row};

use crate::bookings::BookingWriter;
use crate::dialect::{Dialect, WriteTurn};
use crate::{AuditContext, Result, StoreError};

/// Rows per multi-row INSERT: keeps each statement under both engines' parameter limits.
pub(crate) const INSERT_BATCH_ROWS: usize = 400;

pub(crate) struct SqlStore {
    pub(crate) pool: AnyPool,
    /// What differs per engine on this shared path; chosen once at open.
    pub(crate) dialect: Box<dyn Dialect>,
    /// Held for the life of the store: the embedded database's single-owner lock.
    _lock: Option<File>,
    /// Key of the permutation from booking numbers to tracking codes; kept in `meta`.
    pub(crate) tracking_key: [u8; 32],
    /// Takes and frees seats: the in-memory engine on SQLite, conditional updates on
    /// PostgreSQL.
    pub(crate) bookings: Box<dyn BookingWriter>,
    /// Background work of the engine (the WAL checkpointer on SQLite).
    _background: Option<crate::sqlite::Checkpointer>,
    /// The embedded ledger's native connection, started by its first batch (`ledger.rs`).
    pub(crate) ledger: tokio::sync::OnceCell<Option<crate::ledger_native::NativeLedger>>,
    /// Where the abuse limits' cells live (`limits.rs`).
    pub(crate) limits: crate::limits::LimitKeeper,
}

impl SqlStore {
    /// Finishes opening a migrated database: loads (or creates) the tracking-code key and
    /// starts the dialect's booking writer and background work.
    pub(crate) async fn new(
        pool: AnyPool,
        dialect: Box<dyn Dialect>,
        lock: Option<File>,
    ) -> Result<Self> {
        let tracking_key = tracking_key(&pool).await?;
        let bookings = dialect
            .start_booking_writer(&pool, tracking_key, now_ms())
            .await?;
        let background = dialect.start_background(&pool);
        let limits = crate::limits::LimitKeeper::new(dialect.limits_in_process());
        Ok(Self {
            limits,
            _background: background,
            pool,
            dialect,
            _lock: lock,
            tracking_key,
            bookings,
            ledger: tokio::sync::OnceCell::new(),
        })
    }

    /// Starts a write transaction. On SQLite it waits for the writer's turn and begins
    /// `IMMEDIATE`. Bind the result as `let (_turn, mut tx) = …` so the transaction ends
    /// before the turn is released.
    pub(crate) async fn begin_write(&self) -> Result<(WriteTurn<'_>, AnyTx<'static>)> {
        self.dialect.begin_write(&self.pool).await
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

    /// A statement with many parameters, in the placeholder style cheapest for `dialect`.
    pub(crate) fn bulk(dialect: &dyn Dialect, text: &str) -> Self {
        Self {
            positional: dialect.positional_params(),
            ..Self::new(text)
        }
    }

    /// A statement in `?` placeholders when `positional` (see [`Sql::bulk`]).
    pub(crate) fn styled(positional: bool, text: &str) -> Self {
        Self {
            positional,
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
    dialect: &dyn Dialect,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<u64> {
    let mut inserted = 0u64;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut sql = Sql::bulk(dialect, head);
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
