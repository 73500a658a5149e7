//! PostgreSQL: the national deployment, shared by many stateless app processes. Invariants are
//! enforced by the database (constraints, triggers), never by a lock held in one process.

use sqlx::any::AnyPoolOptions;

use crate::migrate::{self, Migration};
use crate::sql::SqlStore;
use crate::{DatabaseUrl, StoreError};

const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_registry",
        sql: include_str!("../migrations/postgres/0001_registry.sql"),
    },
    Migration {
        name: "0002_bookings",
        sql: include_str!("../migrations/postgres/0002_bookings.sql"),
    },
    Migration {
        name: "0003_citizens",
        sql: include_str!("../migrations/postgres/0003_citizens.sql"),
    },
    Migration {
        name: "0004_queue",
        sql: include_str!("../migrations/postgres/0004_queue.sql"),
    },
    Migration {
        name: "0005_figures",
        sql: include_str!("../migrations/postgres/0005_figures.sql"),
    },
    Migration {
        name: "0006_releases",
        sql: include_str!("../migrations/postgres/0006_releases.sql"),
    },
    Migration {
        name: "0007_exchange",
        sql: include_str!("../migrations/postgres/0007_exchange.sql"),
    },
    Migration {
        name: "0008_counters",
        sql: include_str!("../migrations/postgres/0008_counters.sql"),
    },
    Migration {
        name: "0009_booking_audit",
        sql: include_str!("../migrations/postgres/0009_booking_audit.sql"),
    },
    Migration {
        name: "0010_session_epoch",
        sql: include_str!("../migrations/postgres/0010_session_epoch.sql"),
    },
    Migration {
        name: "0011_live_bookings",
        sql: include_str!("../migrations/postgres/0011_live_bookings.sql"),
    },
    Migration {
        name: "0012_tariffs",
        sql: include_str!("../migrations/postgres/0012_tariffs.sql"),
    },
    Migration {
        name: "0013_indexation",
        sql: include_str!("../migrations/postgres/0013_indexation.sql"),
    },
    Migration {
        name: "0014_checkpoint_time",
        sql: include_str!("../migrations/postgres/0014_checkpoint_time.sql"),
    },
    Migration {
        name: "0015_ledger",
        sql: include_str!("../migrations/postgres/0015_ledger.sql"),
    },
    Migration {
        name: "0016_payments",
        sql: include_str!("../migrations/postgres/0016_payments.sql"),
    },
    Migration {
        name: "0017_compliance",
        sql: include_str!("../migrations/postgres/0017_compliance.sql"),
    },
    Migration {
        name: "0018_reports",
        sql: include_str!("../migrations/postgres/0018_reports.sql"),
    },
    Migration {
        name: "0019_rollups",
        sql: include_str!("../migrations/postgres/0019_rollups.sql"),
    },
    Migration {
        name: "0020_limit_cells",
        sql: include_str!("../migrations/postgres/0020_limit_cells.sql"),
    },
];

const MAX_CONNECTIONS: u32 = 16;
/// Several processes may start at once; one migrates while the others wait on this lock.
const MIGRATION_LOCK_KEY: i64 = 0x5049_5348_4b48;

pub(crate) async fn open(url: &DatabaseUrl) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(MAX_CONNECTIONS)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect(url.expose())
        .await?;

    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let mut result = migrate::run(&mut conn, MIGRATIONS).await;
    if result.is_ok() {
        result = crate::rollups::build_if_missing(&mut conn, crate::sql::now_ms())
            .await
            .map(|_| ());
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    result?;
    drop(conn);
    SqlStore::new(pool, Box::new(crate::dialect::Postgres), None).await
}
