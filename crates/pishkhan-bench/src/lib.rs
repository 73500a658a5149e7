//! The benchmarks behind `pishkhan bench …`. Each module has the command's flags (clap
//! [`Args`](clap::Args)) and one entry point that runs it and prints its figures; the binary
//! only parses and calls.
//!
//! * [`booking`]: durable bookings per second on the embedded engine and on PostgreSQL.
//! * [`release`]: allocating and verifying a synthetic surge release.
//! * [`exchange`]: signed, logged inquiries per second to an agency process.
//! * [`identity`]: identity verifications per second through the API and the exchange.
//! * [`ledger`]: ledger transfers per second on both stores, beside a naive baseline.
//! * [`nation`]: one national day of visits through the application layer, per operation.
//!
//! [`progress`] is the one progress reporter, which the binary's own commands use too.

#![forbid(unsafe_code)]

pub mod booking;
pub mod compliance;
pub mod exchange;
pub mod identity;
pub mod ledger;
pub mod nation;
pub mod payments;
pub mod progress;
pub mod release;

pub use booking::{BookingBenchArgs, booking};
pub use compliance::{ComplianceBenchArgs, compliance};
pub use exchange::{ExchangeBenchArgs, exchange};
pub use identity::{IdentityBenchArgs, identity};
pub use ledger::{LedgerBenchArgs, ledger};
pub use nation::{NationBenchArgs, nation};
pub use release::{ReleaseBenchArgs, release};

/// The wall clock in Unix milliseconds.
fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The audit context of the benchmarks' own writes.
fn system_ctx() -> pishkhan_store::AuditContext {
    pishkhan_store::AuditContext {
        now_ms: now_ms(),
        ip: None,
        request_id: None,
    }
}
