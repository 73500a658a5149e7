//! Shared test helpers.

use pishkhan_merkle::{Hash, leaf_hash};

/// Parses a 32-byte hex hash; panics on malformed test data.
pub fn h(s: &str) -> Hash {
    hex::decode(s)
        .expect("valid hex")
        .try_into()
        .expect("32 bytes")
}

/// Leaf data of the classic RFC 6962 test tree, from transparency-dev/merkle
/// `testonly/constants.go` (`LeafInputs`).
pub const RFC_LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

pub fn rfc_leaf_hashes() -> Vec<Hash> {
    RFC_LEAVES
        .iter()
        .map(|l| leaf_hash(&hex::decode(l).expect("hex")))
        .collect()
}

/// Leaf data for generated trees: distinct, message-like byte strings.
pub fn message(i: u64) -> Vec<u8> {
    format!("pishkhan inquiry message #{i}").into_bytes()
}

pub fn message_leaf_hashes(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&message(i))).collect()
}

/// Copy of `hash` with byte `pos % 32` flipped.
pub fn flip(hash: &Hash, pos: usize) -> Hash {
    let mut out = *hash;
    out[pos % 32] ^= 0x01;
    out
}
