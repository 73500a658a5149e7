//! End-to-end tests of the `pishkhan` binary: every command is run as a real process against
//! every configured backend (SQLite always; PostgreSQL when `PISHKHAN_TEST_POSTGRES_URL` is
//! set), and its effects are checked through the HTTP API of a `serve` or `demo` child.

mod support;

mod agency;
mod audit;
mod audit_columns;
mod backup;
mod bench;
mod config;
mod crash;
mod demo;
mod import;
mod invite;
mod ledger;
mod lock;
mod metrics;
mod migrate;
mod multinode;
mod notify;
mod pg_cluster;
mod release;
mod shutdown;
mod two_processes;
mod usage;
