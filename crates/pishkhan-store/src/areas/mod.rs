//! The store's interface, one trait per area, each in its own file with the types it takes and
//! returns. [`crate::Store`] is all of them together.
//!
//! | area | trait | file |
//! |---|---|---|
//! | provinces, agencies, offices, services, staff, invitations, audit log reads | [`Registry`] | `registry.rs` |
//! | staff sessions, sign-in events, citizens' one-time codes and sessions | [`Sessions`] | `sessions.rs` |
//! | appointment settings, holidays, closures, slot loads, bookings, reminders | [`Appointments`] | `appointments.rs` |
//! | queue logs, counters, day figures, surveys | [`Queue`] | `queue.rs` |
//! | surge releases | [`Releases`] | `releases.rs` |
//! | the notification outbox | [`Outbox`] | `outbox.rs` |
//! | the exchange's message log | [`ExchangeLog`] | `exchange_log.rs` |
//! | identity verifications | [`Identity`] | `identity.rs` |
//! | fee tariffs | [`Fees`] | `fees.rs` |
//! | the double-entry ledger: transfers, balances, verify | [`Ledger`] | `ledger.rs` |
//! | payments, refunds, payee accounts, settlements, reconciliations, findings | [`Payments`] | `payments.rs` |
//! | compliance rules, runs, findings, sanctions, reinstatement requests | [`Compliance`] | `compliance.rs` |
//! | citizens' reports about offices: submit, triage, add, answer | [`Reports`] | `reports.rs` |
//! | the abuse limits' cells (sign-in, one-time codes, inquiries), shared by every process | [`Limits`] | `limits.rs` |
//! | statistics: tallies of bookings, the rollups, reports and sanctions (read only but for rebuilding the rollups) | [`Stats`] | `stats.rs` |
//!
//! **The permit rule.** Every method that changes state takes a `&Permit` and checks it was
//! issued for that change, or says in its documentation why it need not: system work (the
//! outbox dispatcher, the sweeper's reminders, the group-committed logs) or a secret token
//! that is itself the capability (invitations, sessions, one-time codes, survey links). Every
//! change a person causes writes its audit row in the change's transaction.
//!
//! **Adding an area.** The ledger and compliance areas to come each get a trait here (with
//! their types), an `impl` for `SqlStore` in their own file beside the others, and a place in
//! `Store`'s supertraits; nothing else changes for callers of `dyn Store`.

mod appointments;
mod compliance;
mod exchange_log;
mod fees;
mod identity;
mod ledger;
mod limits;
mod outbox;
mod payments;
mod queue;
mod registry;
mod releases;
mod reports;
mod sessions;
mod stats;

pub use appointments::*;
pub use compliance::*;
pub use exchange_log::*;
pub use fees::*;
pub use identity::*;
pub use ledger::*;
pub use limits::*;
pub use outbox::*;
pub use payments::*;
pub use queue::*;
pub use registry::*;
pub use releases::*;
pub use reports::*;
pub use sessions::*;
pub use stats::*;
