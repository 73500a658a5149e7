//! Reference agency services for Pishkhan's inquiry exchange: a deterministic population of
//! up to 300 million people and the civil-registry, mobile-ownership (Shahkar), postal-address
//! and traffic-fines services that answer inquiries about them over HTTP.
//!
//! # Data
//!
//! [`Population::new`]`(seed, size)` describes `size` people without storing any: person `i`
//! is a pure function of `(seed, i)` ([`Population::person`]), and national codes, mobiles and
//! postal codes are bijections of the index ([`CodeSpaces`]), so every lookup by identifier
//! is O(1). For the national scale (84 million people) the same records are streamed into a
//! fixed-size file ([`Population::write_snapshot`], 64 bytes a person) and served from disk
//! with one positioned read per lookup ([`Snapshot`]). Both implement [`Registry`], the lookups
//! the services answer.
//!
//! # Services
//!
//! [`router`] and [`serve`] put a [`Registry`] behind the JSON endpoints documented in
//! [`server`]. Request verification and response signing plug into the
//! [`Envelope`] seam. [`bench_direct`] measures a running agency.

mod bench;
mod codes;
mod error;
mod population;
mod registry;
mod rng;
mod sample;
pub mod server;
pub mod snapshot;
mod tables;

pub use bench::{BenchReport, bench_direct, bench_service};
pub use codes::{CodeSpaces, MOBILE_SPACE, NATIONAL_CODE_SPACE, POSTAL_CODE_SPACE};
pub use error::AgencyError;
pub use population::{
    Address, CardSerial, CardStatus, Gender, HouseholdRole, MAX_POPULATION, Person, PersonRecord,
    Population, REFERENCE_YEAR,
};
pub use registry::Registry;
pub use sample::sample_json_lines;
pub use server::{
    AgencyState, Envelope, MAX_BODY_BYTES, Rejection, Service, Unsigned, router, serve,
};
pub use snapshot::{SNAPSHOT_FILE_NAME, SNAPSHOT_VERSION, Snapshot, WriteStats, snapshot_path};

/// The seed of the demo population: the Jalali year 1405, like the demo nation's.
pub const DEFAULT_SEED: u64 = 1405;

/// Size of the demo population served when no snapshot is given.
pub const DEMO_SIZE: u64 = 1_000_000;

/// Iran's population, the size a national snapshot is generated at.
pub const NATIONAL_SIZE: u64 = 84_000_000;
