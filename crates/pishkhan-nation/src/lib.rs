//! A deterministic demo nation for Pishkhan.
//!
//! The demo has to look like the real network of Iran's government service-counter offices
//! (dafater-e pishkhan-e dowlat): all 31 provinces, the agencies behind the services, a
//! catalogue of [`SERVICE_COUNT`] services, [`OFFICE_COUNT`] offices and
//! [`STAFF_COUNT`] staff. It also has to be reproducible, so that tests, screenshots and the
//! demo logins never move: [`generate`] is a pure function of its seed, built on the crate's
//! own pseudo-random generators ([`rng`], shared with `pishkhan-agency`'s population) rather
//! than on a library whose streams may change.
//!
//! Provinces, agencies and the catalogue are fixed tables; the seed only shapes offices and
//! staff. Office and staff counts per province are fixed by the census as well.

mod agencies;
mod catalogue;
pub mod names;
mod offices;
mod people;
mod provinces;
pub mod rng;
mod staff;

use pishkhan_domain::model::{
    Agency, AgencyCode, LocalizedText, Office, OfficeCode, Province, Role, Service, Staff,
};

/// The seed of the demo nation: the Jalali year 1405.
pub const DEFAULT_SEED: u64 = 1405;

/// The password of every generated account, demo logins included. Only for demos.
pub const DEMO_PASSWORD: &str = "demo1234";

/// Number of offices in a generated nation.
pub const OFFICE_COUNT: usize = offices::OFFICE_COUNT;

/// Number of staff in a generated nation, demo logins included.
pub const STAFF_COUNT: usize = staff::STAFF_COUNT;

/// Number of services in the catalogue.
pub const SERVICE_COUNT: usize = catalogue::SERVICE_COUNT;

/// Everything a demo deployment loads.
#[derive(Debug, Clone, PartialEq)]
pub struct Nation {
    pub provinces: Vec<Province>,
    pub agencies: Vec<Agency>,
    pub services: Vec<Service>,
    pub offices: Vec<Office>,
    pub staff: Vec<Staff>,
}

/// An account to sign in with during a demo, with password [`DEMO_PASSWORD`].
///
/// The manager and the operator belong to the first office of the nation
/// (`nation.offices[0]`, an active office in Tehran); the regulator to no office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoLogin {
    pub username: &'static str,
    pub role: Role,
}

impl DemoLogin {
    /// The office this login belongs to in `nation`: the first office, or none for the
    /// regulator.
    pub fn office(&self, nation: &Nation) -> Option<OfficeCode> {
        match self.role {
            Role::Regulator => None,
            Role::Manager | Role::Operator => nation.offices.first().map(|o| o.code),
        }
    }
}

/// The demo logins: regulator, manager and operator.
pub fn demo_logins() -> [DemoLogin; 3] {
    [
        DemoLogin {
            username: "regulator",
            role: Role::Regulator,
        },
        DemoLogin {
            username: "manager",
            role: Role::Manager,
        },
        DemoLogin {
            username: "operator",
            role: Role::Operator,
        },
    ]
}

/// Iran's 31 provinces, ids 1..=31 ordered by 2016 census population (Tehran is 1).
pub fn provinces() -> Vec<Province> {
    provinces::PROVINCES
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let capital = &p.cities[0];
            Province {
                id: (i + 1) as u8,
                name: LocalizedText::new(p.fa, p.en),
                capital: LocalizedText::new(capital.fa, capital.en),
                population: p.population,
                lat: capital.lat,
                lon: capital.lon,
            }
        })
        .collect()
}

/// The agencies that own services, in a fixed order.
pub fn agencies() -> Vec<Agency> {
    agencies::AGENCIES
        .iter()
        .map(|(code, fa, en)| Agency {
            code: AgencyCode::parse(code).expect("agency codes in the table are valid"),
            name: LocalizedText::new(*fa, *en),
        })
        .collect()
}

/// The service catalogue: exactly [`SERVICE_COUNT`] services, the same for every seed.
pub fn services() -> Vec<Service> {
    catalogue::services()
}

/// Generates the demo nation. The same seed always gives an identical nation.
pub fn generate(seed: u64) -> Nation {
    generate_with_progress(seed, &mut |_, _| {})
}

/// [`generate`], telling `progress(done, total)` how far it is: the offices count first,
/// then their staff, [`OFFICE_COUNT`] steps each. A callback rather than a bar, so this
/// crate stays free of terminals and runtimes; the caller draws it.
pub fn generate_with_progress(seed: u64, progress: &mut dyn FnMut(u64, u64)) -> Nation {
    let total = 2 * OFFICE_COUNT as u64;
    let offices = offices::generate(seed, &mut |done| progress(done, total));
    let staff = staff::generate(seed, &offices, &mut |done| {
        progress(OFFICE_COUNT as u64 + done, total)
    });
    Nation {
        provinces: provinces(),
        agencies: agencies(),
        services: services(),
        offices,
        staff,
    }
}
