//! Storage for Pishkhan.
//!
//! Everything above this crate talks to [`Store`], a narrow async interface made of one trait
//! per area (see `areas/`): [`Registry`], [`Sessions`], [`Appointments`], [`Queue`],
//! [`Releases`], [`Outbox`], [`ExchangeLog`], [`Identity`], [`Fees`] and [`Ledger`]. Two backends sit behind it: the
//! embedded SQLite store (the default, one owning process) and PostgreSQL (a national
//! deployment shared by many app processes). [`open`] picks one by URL scheme.
//!
//! **Invariant:** every mutating method takes a [`Permit`](pishkhan_domain::access::Permit)
//! from `pishkhan_domain::access`, or says in its documentation why it need not (system work,
//! or a token that is itself the capability), and writes its audit entry in the same
//! transaction as the change, so a change without an audit row cannot be committed.

mod areas;
mod bookings;
mod capacity;
mod compliance;
mod database_url;
mod dialect;
mod engine;
mod error;
mod exchange_log;
mod fees;
mod identity;
mod ledger;
mod ledger_native;
mod ledger_rows;
mod ledger_verify;
mod limits;
mod listing;
mod memory_tables;
mod migrate;
mod outbox;
mod payments;
mod pg_group_commit;
mod postgres;
mod queue;
mod registry;
mod releases;
mod reports;
mod rollups;
mod sessions;
mod sql;
mod sqlite;
pub mod sqlite_backup;
mod sqlite_commit;
mod stats;

use std::sync::Arc;

pub use areas::*;
pub use database_url::DatabaseUrl;
pub use error::{StateRule, StoreError, WrongState};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Largest page any listing returns; larger requests are refused, not truncated.
pub const MAX_PER_PAGE: u32 = 100;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Who did something, when and from where: written beside every change.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    pub now_ms: i64,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// An event that is not itself a guarded change (sign-in, sign-out, failed sign-in).
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub actor: String,
    pub actor_staff_id: Option<i64>,
    pub action: &'static str,
    pub target: String,
    pub detail: serde_json::Value,
}

/// A validated page request: `page >= 1`, `1 <= per_page <= MAX_PER_PAGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    per_page: u32,
}

impl PageRequest {
    pub fn new(page: u32, per_page: u32) -> Result<Self, pishkhan_domain::model::FieldError> {
        use pishkhan_domain::model::FieldError;
        if page == 0 || page > 1_000_000 {
            return Err(FieldError::new(
                "page",
                "invalid_page",
                "page must be 1..=1000000",
            ));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(FieldError::new(
                "per_page",
                "invalid_page_size",
                format!("per_page must be 1..={MAX_PER_PAGE}"),
            ));
        }
        Ok(Self { page, per_page })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn per_page(self) -> u32 {
        self.per_page
    }

    pub(crate) fn offset(self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            per_page: 20,
        }
    }
}

/// One page of a listing and the total number of matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

/// The storage interface: every area's trait. Implementations: the embedded SQLite store and
/// PostgreSQL, both `SqlStore` over sqlx's `Any` driver.
///
/// Callers hold an `Arc<dyn Store>` (or `&dyn Store`) and call any area's methods on it
/// directly: a trait object's supertrait methods need no import.
pub trait Store:
    Registry
    + Sessions
    + Appointments
    + Queue
    + Releases
    + Outbox
    + ExchangeLog
    + Identity
    + Fees
    + Ledger
    + Limits
    + Payments
    + Compliance
    + Reports
    + Stats
    + Send
    + Sync
{
}

impl<T> Store for T where
    T: Registry
        + Sessions
        + Appointments
        + Queue
        + Releases
        + Outbox
        + ExchangeLog
        + Identity
        + Fees
        + Ledger
        + Limits
        + Payments
        + Compliance
        + Reports
        + Stats
        + Send
        + Sync
{
}

/// Opens (creating if needed) and migrates the store named by `url`.
///
/// `sqlite://PATH` opens the embedded store and takes an exclusive lock beside the file, so a
/// second process gets [`StoreError::Locked`] instead of a silent second writer.
/// `postgres://…` connects to a shared PostgreSQL server.
pub async fn open(url: &DatabaseUrl) -> Result<Arc<dyn Store>> {
    match url.backend() {
        Backend::Sqlite => Ok(Arc::new(sqlite::open(url).await?)),
        Backend::Postgres => Ok(Arc::new(postgres::open(url).await?)),
    }
}

/// SHA-256 of a secret token, lowercase hex. Tokens are stored only in this form.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}
