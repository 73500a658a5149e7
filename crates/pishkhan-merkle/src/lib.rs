//! RFC 6962 / RFC 9162 Merkle trees for Pishkhan's message transparency log.
//!
//! Every message exchanged between agencies in an inquiry becomes one leaf of
//! an append-only log. The log periodically signs a [`Checkpoint`] (origin,
//! size, root). With an inclusion proof a party can later show that a message
//! was logged under a signed checkpoint, and with a consistency proof that a
//! newer checkpoint extends an older one (nothing was rewritten or dropped).
//!
//! Hashing follows RFC 6962 §2.1 exactly, so that any independent CT / tlog
//! verifier accepts our proofs:
//!
//! * leaf hash `H(0x00 || leaf)`, interior node `H(0x01 || left || right)`,
//!   SHA-256 throughout;
//! * the tree over `n > 1` leaves is split at the largest power of two
//!   strictly less than `n`;
//! * the empty tree hashes to `SHA-256("")`.
//!
//! Two families of functions produce proofs:
//!
//! * [`root`], [`inclusion_proof`], [`consistency_proof`] take a slice of all
//!   leaf hashes and are literal transcriptions of the RFC 6962 definitions
//!   (MTH, PATH, PROOF/SUBPROOF). They are O(n) and meant for small trees and
//!   as the reference the scalable path is tested against.
//! * [`root_from`], [`inclusion_proof_from`], [`consistency_proof_from`] read
//!   only O(log n) hashes of *completed perfect subtrees* from a
//!   [`NodeSource`] (for example a database table filled from
//!   [`Frontier::push`]). This is what a log with millions of leaves uses.
//!
//! Verification ([`verify_inclusion`], [`verify_consistency`]) follows the
//! RFC 9162 §2.1.3.2 and §2.1.4.2 algorithms step by step.
//!
//! # Appending in batches
//!
//! A store appends a batch inside one database transaction:
//!
//! 1. load the persisted [`Frontier`] ([`Frontier::from_bytes`]);
//! 2. for each message, [`Frontier::push`] its [`leaf_hash`] and insert every
//!    returned `(NodeId, Hash)` into the node table;
//! 3. write back [`Frontier::to_bytes`] and commit;
//! 4. sign a [`Checkpoint`] for `(frontier.size(), frontier.root())`.
//!
//! Because the frontier and the nodes are written in the same transaction, a
//! crash can never leave a frontier that disagrees with the node table;
//! [`Frontier::from_source`] can rebuild (or cross-check) the frontier from
//! the node table alone.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod checkpoint;
mod frontier;
mod proof;
mod source;

use sha2::{Digest, Sha256};

pub use checkpoint::{Checkpoint, CheckpointError};
pub use frontier::{Frontier, FrontierError};
pub use proof::{
    ProofError, consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion,
};
pub use source::{
    FetchError, MemoryNodes, MissingNode, NodeId, NodeSource, consistency_proof_from,
    inclusion_proof_from, root_from,
};

/// A SHA-256 output: leaf hashes, node hashes and tree roots.
pub type Hash = [u8; 32];

/// RFC 6962 leaf hash: `SHA-256(0x00 || leaf)`.
///
/// The 0x00 / 0x01 domain separation stops a leaf from being passed off as an
/// interior node (second-preimage attack on the tree).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Root of the empty tree: `SHA-256("")` (RFC 6962 §2.1, no prefix byte).
pub fn empty_root() -> Hash {
    Sha256::digest(b"").into()
}

/// Largest power of two strictly less than `n` (the RFC 6962 split point `k`).
/// Callers guarantee `n >= 2`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}
