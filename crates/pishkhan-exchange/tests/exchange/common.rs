//! Keys and ids for the log tests.

use pishkhan_exchange::{MemberId, ServiceId};
use pishkhan_protocol::Service;
use pishkhan_sign::{KeyPair, KeyStatus, Keyring};

pub const OFFICE: &str = "office:11000001";

/// A key from a fixed seed, so a test can hold several copies of "the same" key.
pub fn key(seed: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[seed; 32])
}

pub const REGULATOR_SEED: u8 = 1;

pub fn member(id: &str) -> MemberId {
    MemberId::parse(id).unwrap()
}

/// The directory id of a reference service (its wire name).
pub fn service(s: Service) -> ServiceId {
    ServiceId::parse(s.name()).unwrap()
}

pub fn regulator_ring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(key(REGULATOR_SEED).public(), KeyStatus::Active, None)
        .unwrap();
    ring
}
