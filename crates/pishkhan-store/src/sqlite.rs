//! The embedded store: one SQLite file in WAL mode, owned by exactly one process.
//!
//! Durability: `journal_mode=WAL` with `synchronous=FULL`, so every acknowledged commit has
//! been fsynced to the WAL. A lock file beside the database holds an exclusive OS lock for the
//! life of the process; the OS drops it when the process dies, even under `kill -9`.

use std::fs::{File, TryLockError};
use std::path::Path;

use sqlx::Executor;
use sqlx::any::AnyPoolOptions;

use crate::migrate::{self, Migration};
use crate::sql::SqlStore;
use crate::{DatabaseUrl, StoreError};

const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_registry",
        sql: include_str!("../migrations/sqlite/0001_registry.sql"),
    },
    Migration {
        name: "0002_bookings",
        sql: include_str!("../migrations/sqlite/0002_bookings.sql"),
    },
    Migration {
        name: "0003_citizens",
        sql: include_str!("../migrations/sqlite/0003_citizens.sql"),
    },
    Migration {
        name: "0004_queue",
        sql: include_str!("../migrations/sqlite/0004_queue.sql"),
    },
    Migration {
        name: "0005_figures",
        sql: include_str!("../migrations/sqlite/0005_figures.sql"),
    },
    Migration {
        name: "0006_releases",
        sql: include_str!("../migrations/sqlite/0006_releases.sql"),
    },
    Migration {
        name: "0007_exchange",
        sql: include_str!("../migrations/sqlite/0007_exchange.sql"),
    },
    Migration {
        name: "0008_counters",
        sql: include_str!("../migrations/sqlite/0008_counters.sql"),
    },
    Migration {
        name: "0009_booking_audit",
        sql: include_str!("../migrations/sqlite/0009_booking_audit.sql"),
    },
    Migration {
        name: "0010_session_epoch",
        sql: include_str!("../migrations/sqlite/0010_session_epoch.sql"),
    },
    Migration {
        name: "0011_live_bookings",
        sql: include_str!("../migrations/sqlite/0011_live_bookings.sql"),
    },
    Migration {
        name: "0012_tariffs",
        sql: include_str!("../migrations/sqlite/0012_tariffs.sql"),
    },
    Migration {
        name: "0013_indexation",
        sql: include_str!("../migrations/sqlite/0013_indexation.sql"),
    },
    Migration {
        name: "0014_checkpoint_time",
        sql: include_str!("../migrations/sqlite/0014_checkpoint_time.sql"),
    },
    Migration {
        name: "0015_ledger",
        sql: include_str!("../migrations/sqlite/0015_ledger.sql"),
    },
    Migration {
        name: "0016_payments",
        sql: include_str!("../migrations/sqlite/0016_payments.sql"),
    },
    Migration {
        name: "0017_compliance",
        sql: include_str!("../migrations/sqlite/0017_compliance.sql"),
    },
    Migration {
        name: "0018_reports",
        sql: include_str!("../migrations/sqlite/0018_reports.sql"),
    },
    Migration {
        name: "0019_rollups",
        sql: include_str!("../migrations/sqlite/0019_rollups.sql"),
    },
    Migration {
        name: "0020_limit_cells",
        sql: include_str!("../migrations/sqlite/0020_limit_cells.sql"),
    },
];

/// Readers run in parallel under WAL; writes serialize on SQLite's own lock.
const MAX_CONNECTIONS: u32 = 8;
pub(crate) const BUSY_TIMEOUT_MS: u32 = 5_000;
/// How often the background checkpointer copies the WAL into the database file. Often, so
/// each copy (and its fsync, which a concurrent commit's fsync may wait behind) stays small:
/// at steady load, every 2 s gave commit stalls near 90 ms at p99, every 100 ms near 45 ms.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// WAL pages after which a committing connection checkpoints itself: only a safety net for a
/// checkpointer that falls behind (64 MiB at 4 KiB pages).
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// Copies the WAL into the database file from a pooled connection of its own, every
/// [`CHECKPOINT_EVERY`]. SQLite otherwise checkpoints inside whichever commit crosses 1,000
/// pages, and that commit (and every one queued behind the writer) waits for the copy and its
/// fsync: a few hundred milliseconds at the tail. A passive checkpoint takes no writer lock.
/// Stops when dropped.
pub(crate) struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) fn spawn_checkpointer(pool: sqlx::AnyPool) -> Checkpointer {
    Checkpointer(tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(e) = pool.execute("PRAGMA wal_checkpoint(PASSIVE)").await {
                tracing::debug!(error = %e, "background WAL checkpoint did not run");
            }
        }
    }))
}

pub(crate) async fn open(url: &DatabaseUrl) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let path = url
        .sqlite_path()
        .ok_or_else(|| StoreError::BadUrl("not a sqlite url".into()))?;
    let path = Path::new(path);
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    let lock = take_lock(path)?;

    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // busy_timeout first: every later statement may wait for a lock.
                conn.execute(sqlx::AssertSqlSafe(format!(
                    "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; \
                     PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
                )))
                .await?;
                Ok(())
            })
        })
        .connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await?;

    let mut conn = pool.acquire().await?;
    // WAL is a property of the file: set once here, not on every new connection, because
    // changing the journal mode needs a lock that a running writer would hold.
    conn.execute("PRAGMA journal_mode = WAL").await?;
    migrate::run(&mut conn, MIGRATIONS).await?;
    crate::rollups::build_if_missing(&mut conn, crate::sql::now_ms()).await?;
    drop(conn);
    SqlStore::new(
        pool,
        Box::new(crate::dialect::Sqlite::new(path.to_path_buf())),
        Some(lock),
    )
    .await
}

pub(crate) fn take_lock(db_path: &Path) -> Result<File, StoreError> {
    let lock_path = crate::sqlite_backup::lock_path(db_path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: db_path.display().to_string(),
        }),
        Err(TryLockError::Error(e)) => Err(StoreError::Io(e)),
    }
}
