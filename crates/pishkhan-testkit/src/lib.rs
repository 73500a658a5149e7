//! Test support: a fresh database per test on every configured backend, dropped afterwards,
//! and a small slice of the demo nation that loads in milliseconds.
//!
//! SQLite always runs. PostgreSQL runs when `PISHKHAN_TEST_POSTGRES_URL` names a server
//! (for example `postgres://postgres@127.0.0.1:5432`); each test then gets its own database,
//! created here and dropped when the guard goes out of scope.

use std::sync::atomic::{AtomicU32, Ordering};

use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::{Role, Username};
use pishkhan_store::{AuditContext, Backend, DatabaseUrl, NationLoad, Store};

pub const POSTGRES_ENV: &str = "PISHKHAN_TEST_POSTGRES_URL";

/// A throwaway database. Dropping it removes the database (PostgreSQL) or directory (SQLite).
pub struct TestDb {
    url: DatabaseUrl,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A fresh SQLite database in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            url: DatabaseUrl::sqlite_in(dir.path()),
            backend: Backend::Sqlite,
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    /// The data directory of a SQLite test database.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self._dir.as_ref().map(|d| d.path())
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured.
    pub async fn postgres() -> Option<Self> {
        let base = std::env::var(POSTGRES_ENV)
            .ok()
            .filter(|s| !s.trim().is_empty())?;
        let base = base.trim_end_matches('/').to_string();
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "pishkhan_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let admin = format!("{base}/postgres");
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .expect("connect to the PostgreSQL test server");
        sqlx::Executor::execute(
            &mut conn,
            sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
        )
        .await
        .expect("create test database");
        let url = DatabaseUrl::parse(&format!("{base}/{name}")).expect("postgres url");
        Some(Self {
            url,
            backend: Backend::Postgres,
            _dir: None,
            pg_admin: Some((admin, name)),
        })
    }

    /// Every configured backend: SQLite, plus PostgreSQL when the env var is set.
    pub async fn all() -> Vec<Self> {
        let mut dbs = vec![Self::sqlite()];
        if let Some(pg) = Self::postgres().await {
            dbs.push(pg);
        }
        dbs
    }

    /// Runs `sql` straight on the database, around the store, as a tamperer (or a test
    /// showing what the application does not read) would; returns the rows affected.
    pub async fn execute_raw(&self, sql: &str) -> u64 {
        let raw_url = match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.url.sqlite_path().expect("sqlite path")),
            Backend::Postgres => self.url.expose().to_string(),
        };
        sqlx::any::install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&raw_url)
            .await
            .expect("connect around the store");
        let done = sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql.to_string()))
            .await
            .expect("raw statement");
        let _ = sqlx::Connection::close(conn).await;
        done.rows_affected()
    }

    pub async fn open(&self) -> std::sync::Arc<dyn Store> {
        pishkhan_store::open(&self.url)
            .await
            .expect("open test store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg_admin.take() else {
            return;
        };
        // Drop runs outside any runtime we may use, so a short-lived one does the cleanup.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok(mut conn) =
                        <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                    {
                        let _ = sqlx::Executor::execute(
                            &mut conn,
                            sqlx::AssertSqlSafe(format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            )),
                        )
                        .await;
                    }
                });
            }
        })
        .join();
    }
}

/// Offices kept in the small nation: enough for paging, quick to load.
pub const SMALL_OFFICES: usize = 120;

/// The demo nation cut down to its first [`SMALL_OFFICES`] offices and their staff (the demo
/// logins included), with all provinces, agencies and services.
pub fn small_nation() -> pishkhan_nation::Nation {
    let mut n = pishkhan_nation::generate(pishkhan_nation::DEFAULT_SEED);
    n.offices.truncate(SMALL_OFFICES);
    let kept: std::collections::HashSet<_> = n.offices.iter().map(|o| o.code).collect();
    n.staff
        .retain(|s| s.office.is_none_or(|o| kept.contains(&o)));
    n
}

/// An argon2id hash of `demo1234`, computed once per test process.
pub fn demo_password_hash() -> &'static str {
    use argon2::PasswordHasher;
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        argon2::Argon2::default()
            .hash_password(pishkhan_nation::DEMO_PASSWORD.as_bytes())
            .expect("hash demo password")
            .to_string()
    })
}

/// Loads [`small_nation`] with the demo password for the three demo logins.
pub async fn load_small_nation(store: &dyn Store) -> pishkhan_nation::Nation {
    let password_hash = demo_password_hash();
    let nation = small_nation();
    let passwords: Vec<(Username, String)> = pishkhan_nation::demo_logins()
        .iter()
        .map(|l| {
            (
                Username::parse(l.username).expect("demo username"),
                password_hash.to_string(),
            )
        })
        .collect();
    let permit =
        authorize(&Principal::System { reason: "test" }, Action::LoadDemo).expect("permit");
    store
        .load_nation(
            &permit,
            NationLoad {
                seed: pishkhan_nation::DEFAULT_SEED,
                provinces: &nation.provinces,
                agencies: &nation.agencies,
                services: &nation.services,
                offices: &nation.offices,
                staff: &nation.staff,
                passwords: &passwords,
            },
            &AuditContext {
                now_ms: 1_764_000_000_000,
                ip: None,
                request_id: None,
            },
        )
        .await
        .expect("load small nation");
    nation
}

/// The demo login usernames with their roles.
pub fn demo_roles() -> Vec<(&'static str, Role)> {
    pishkhan_nation::demo_logins()
        .iter()
        .map(|l| (l.username, l.role))
        .collect()
}
