//! What differs between the engines on the shared-SQL path, behind one small interface chosen
//! once at open (`sqlite.rs` builds [`Sqlite`], `postgres.rs` builds [`Postgres`]): the
//! placeholder style of big statements, row locks, the release-request sequence, how a write
//! transaction begins, and which [`BookingWriter`] and background tasks the store runs. The
//! area files call these methods and never ask which engine they are on.

use async_trait::async_trait;
use sqlx::{AnyPool, Row};

use crate::bookings::BookingWriter;
use crate::sql::AnyTx;
use crate::{Backend, Result};

/// The writer's turn on SQLite (`None` on PostgreSQL); hold it until the transaction ends.
pub(crate) type WriteTurn<'a> = Option<tokio::sync::MutexGuard<'a, ()>>;

/// A session-level advisory lock on a pooled connection of its own. Dropping it unlocks and
/// gives the connection back; a connection that cannot be unlocked is closed instead, which
/// ends its session and so its locks (never back in the pool still holding one).
pub(crate) struct SessionLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
    class: i32,
    name: String,
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let (class, name) = (self.class, std::mem::take(&mut self.name));
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, hashtext($2)) AS ok")
                        .bind(class)
                        .bind(name)
                        .fetch_one(&mut *conn)
                        .await
                        .and_then(|r| r.try_get::<bool, _>("ok"))
                        .unwrap_or(false);
                    if !unlocked {
                        let _ = conn.close().await;
                    }
                });
            }
            // No runtime to unlock on: dropping the detached connection ends the session.
            Err(_) => drop(conn.detach()),
        }
    }
}

/// Advisory-lock key that serialises office-code allocation on PostgreSQL.
const OFFICE_CODE_LOCK_KEY: i64 = 0x4f46_4649_4345;

#[async_trait]
pub(crate) trait Dialect: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Write `?` instead of `$N` in statements with many parameters.
    fn positional_params(&self) -> bool;

    /// Appended to the outbox claim's inner `SELECT`, so concurrent dispatchers skip each
    /// other's rows instead of waiting.
    fn skip_locked(&self) -> &'static str;

    /// Appended to a `SELECT` whose row a later update must wait for.
    fn for_share(&self) -> &'static str;

    /// Starts a write transaction (see [`crate::sql::SqlStore::begin_write`]).
    async fn begin_write(&self, pool: &AnyPool) -> Result<(WriteTurn<'_>, AnyTx<'static>)>;

    /// The writer's turn alone, for a write through a native connection (the ledger's), so it
    /// is ordered with the pool's write transactions.
    async fn write_turn(&self) -> WriteTurn<'_>;

    /// The embedded database's file, for a native connection; `None` on PostgreSQL.
    fn embedded_file(&self) -> Option<&std::path::Path>;

    /// How a read transaction that must see one snapshot throughout begins.
    fn read_snapshot(&self) -> &'static str;

    /// Makes concurrent office-code allocations queue until the previous one commits.
    async fn lock_office_codes(&self, tx: &mut AnyTx<'_>) -> Result<()>;

    /// The next arrival number of a request to `release_id`.
    async fn next_release_request_seq(&self, tx: &mut AnyTx<'_>, release_id: &str) -> Result<i64>;

    /// Whether the abuse limits' cells live in this process's memory (the embedded database
    /// has one owning process) rather than in a table every node shares.
    fn limits_in_process(&self) -> bool;

    /// Takes a session-level advisory lock on `(class, hashtext(name))` on a connection of
    /// its own, held until the returned lock drops; `None` on the embedded database, which
    /// has one process.
    async fn hold_session_lock(
        &self,
        pool: &AnyPool,
        class: i32,
        name: &str,
    ) -> Result<Option<SessionLock>>;

    /// The booking writer this engine runs.
    async fn start_booking_writer(
        &self,
        pool: &AnyPool,
        tracking_key: [u8; 32],
        now_ms: i64,
    ) -> Result<Box<dyn BookingWriter>>;

    /// Background work the store keeps alive while it is open.
    fn start_background(&self, pool: &AnyPool) -> Option<crate::sqlite::Checkpointer>;
}

/// The embedded store: one owning process, one writer.
pub(crate) struct Sqlite {
    /// The database file, for the engine's native commit connection.
    path: std::path::PathBuf,
    /// The single writer. This process owns the database (see the lock in `sqlite.rs`), so
    /// serialising read-then-write transactions here is sound, and it spares SQLite the
    /// failed lock upgrades of concurrent deferred transactions.
    writer: tokio::sync::Mutex<()>,
}

impl Sqlite {
    pub(crate) fn new(path: std::path::PathBuf) -> Self {
        Self {
            path,
            writer: tokio::sync::Mutex::new(()),
        }
    }
}

#[async_trait]
impl Dialect for Sqlite {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn limits_in_process(&self) -> bool {
        true
    }

    async fn hold_session_lock(
        &self,
        _pool: &AnyPool,
        _class: i32,
        _name: &str,
    ) -> Result<Option<SessionLock>> {
        Ok(None)
    }

    /// SQLite resolves each `$N` by name, which is quadratic in the number of parameters: a
    /// 400-row insert spent most of its time there.
    fn positional_params(&self) -> bool {
        true
    }

    /// The single writer already excludes concurrent claims.
    fn skip_locked(&self) -> &'static str {
        ""
    }

    /// The single writer already orders the transactions.
    fn for_share(&self) -> &'static str {
        ""
    }

    /// Waits for the writer's turn and begins `IMMEDIATE`, taking the write lock up front: a
    /// deferred transaction that reads first can fail to upgrade (`SQLITE_BUSY_SNAPSHOT`)
    /// without ever waiting.
    async fn begin_write(&self, pool: &AnyPool) -> Result<(WriteTurn<'_>, AnyTx<'static>)> {
        let turn = self.writer.lock().await;
        let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((Some(turn), tx))
    }

    async fn write_turn(&self) -> WriteTurn<'_> {
        Some(self.writer.lock().await)
    }

    fn embedded_file(&self) -> Option<&std::path::Path> {
        Some(&self.path)
    }

    /// Under WAL, a deferred transaction's first read fixes its snapshot until it ends.
    fn read_snapshot(&self) -> &'static str {
        "BEGIN"
    }

    /// The single writer already serialises allocations.
    async fn lock_office_codes(&self, _tx: &mut AnyTx<'_>) -> Result<()> {
        Ok(())
    }

    /// The one writer holds the database: nobody takes the same number meanwhile.
    async fn next_release_request_seq(&self, tx: &mut AnyTx<'_>, release_id: &str) -> Result<i64> {
        Ok(sqlx::query(
            "SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM release_requests WHERE release_id = $1",
        )
        .bind(release_id.to_string())
        .fetch_one(&mut **tx)
        .await?
        .try_get("n")?)
    }

    /// The in-memory single-writer engine, rebuilt from the durable record (`engine.rs`).
    async fn start_booking_writer(
        &self,
        pool: &AnyPool,
        tracking_key: [u8; 32],
        now_ms: i64,
    ) -> Result<Box<dyn BookingWriter>> {
        Ok(Box::new(
            crate::engine::Engine::start(pool.clone(), &self.path, tracking_key, now_ms).await?,
        ))
    }

    /// The WAL checkpointer.
    fn start_background(&self, pool: &AnyPool) -> Option<crate::sqlite::Checkpointer> {
        Some(crate::sqlite::spawn_checkpointer(pool.clone()))
    }
}

/// A shared PostgreSQL server, many app processes.
pub(crate) struct Postgres;

#[async_trait]
impl Dialect for Postgres {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn limits_in_process(&self) -> bool {
        false
    }

    async fn hold_session_lock(
        &self,
        pool: &AnyPool,
        class: i32,
        name: &str,
    ) -> Result<Option<SessionLock>> {
        let mut conn = pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1, hashtext($2))")
            .bind(class)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        Ok(Some(SessionLock {
            conn: Some(conn),
            class,
            name: name.to_owned(),
        }))
    }

    fn positional_params(&self) -> bool {
        false
    }

    fn skip_locked(&self) -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }

    /// Readers don't wait for each other; an update of the row waits for them all.
    fn for_share(&self) -> &'static str {
        " FOR SHARE"
    }

    async fn begin_write(&self, pool: &AnyPool) -> Result<(WriteTurn<'_>, AnyTx<'static>)> {
        Ok((None, pool.begin().await?))
    }

    async fn write_turn(&self) -> WriteTurn<'_> {
        None
    }

    fn embedded_file(&self) -> Option<&std::path::Path> {
        None
    }

    fn read_snapshot(&self) -> &'static str {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    }

    async fn lock_office_codes(&self, tx: &mut AnyTx<'_>) -> Result<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(OFFICE_CODE_LOCK_KEY)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    async fn next_release_request_seq(&self, tx: &mut AnyTx<'_>, _release_id: &str) -> Result<i64> {
        Ok(sqlx::query("SELECT nextval('release_request_seq') AS n")
            .fetch_one(&mut **tx)
            .await?
            .try_get("n")?)
    }

    /// Bookings group-committed by a few writer tasks on the store's pool
    /// (`pg_group_commit.rs`); cancels and reschedules in their own transactions.
    async fn start_booking_writer(
        &self,
        pool: &AnyPool,
        tracking_key: [u8; 32],
        _now_ms: i64,
    ) -> Result<Box<dyn BookingWriter>> {
        Ok(Box::new(crate::pg_group_commit::GroupCommit::start(
            pool.clone(),
            tracking_key,
        )))
    }

    fn start_background(&self, _pool: &AnyPool) -> Option<crate::sqlite::Checkpointer> {
        None
    }
}
