//! What Pishkhan's demo, its benchmarks and its end-to-end tests share, and the production
//! server does not need:
//!
//! * [`reference`]: the reference directory of the four reference agencies
//!   ([`ReferenceAgency`], [`reference_directory`]).
//! * [`keys`]: a one-machine deployment's keys ([`DeploymentKeys`]) and the reference directory
//!   signed with them ([`sign_reference_directory`]).
//! * [`agencies`]: the reference agencies as `pishkhan agency serve` processes
//!   ([`start_network`], [`spawn_agency`]).
//! * [`nation`]: loading the demo nation into a store ([`load_demo`]).
//! * [`history`]: the nation's generated months of traffic for the supervision rollups
//!   ([`load_history`]), which the demo and `pishkhan bench compliance` load.
//! * [`psp`]: the reference card processor as a `pishkhan psp serve` process ([`spawn_psp`]).
//! * [`tariffs`]: the demo's fee tariffs, last fiscal year's and this year's.
//!
//! **API boundary:** the server crates (`pishkhan-web`, `pishkhan-exchange`) never depend on
//! this crate; `pishkhan-web` uses it only in its tests.

#![forbid(unsafe_code)]

pub mod agencies;
pub mod history;
pub mod keys;
pub mod nation;
pub mod psp;
pub mod reference;
pub mod tariffs;

pub use agencies::{
    Agencies, AgencyFiles, DemoNetwork, spawn_agency, start_network, write_agency_files,
};
pub use history::{DEMO_HISTORY_DAYS, history_days, load_history};
pub use keys::{DeploymentKeys, agency_key_file, sign_reference_directory};
pub use nation::load_demo;
pub use psp::{PspOptions, PspProcess, spawn_psp};
pub use reference::{
    ReferenceAgency, ReferenceAgencySpec, ReferenceParams, reference_directory,
    reference_service_id,
};
