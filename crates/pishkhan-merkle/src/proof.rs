//! In-memory RFC 6962 tree functions and the RFC 9162 verifiers.

use crate::{Hash, empty_root, node_hash, split_point};

/// Why a proof could not be produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree (`index >= tree_size`).
    #[error("leaf index {index} is out of range for a tree of size {tree_size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size the index was checked against.
        tree_size: u64,
    },
    /// The older tree is larger than the newer one (or than the data given).
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeTooLarge {
        /// Size of the older tree.
        old_size: u64,
        /// Size of the newer tree.
        new_size: u64,
    },
    /// The proof does not have the number of hashes these sizes require.
    #[error("proof has {got} hashes but these tree sizes require {expected}")]
    WrongProofLength {
        /// Length required by the tree shape.
        expected: usize,
        /// Length supplied.
        got: usize,
    },
    /// The inclusion proof leads to a different root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
    /// The consistency proof does not reproduce the old root.
    #[error("consistency proof does not reproduce the old root")]
    OldRootMismatch,
    /// The consistency proof does not reproduce the new root.
    #[error("consistency proof does not reproduce the new root")]
    NewRootMismatch,
}

/// MTH (RFC 6962 §2.1) over already-hashed leaves.
///
/// O(n) hashing; for large persisted logs use [`crate::Frontier::root`] or
/// [`crate::root_from`].
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => empty_root(),
        [only] => *only,
        _ => {
            let k = split_point(leaf_hashes.len() as u64) as usize;
            node_hash(&root(&leaf_hashes[..k]), &root(&leaf_hashes[k..]))
        }
    }
}

/// Inclusion proof for leaf `index`: RFC 6962 §2.1.1 `PATH(index, D[n])`,
/// where `n = leaf_hashes.len()`. Hashes are ordered from the leaf upwards.
pub fn inclusion_proof(leaf_hashes: &[Hash], index: u64) -> Result<Vec<Hash>, ProofError> {
    let tree_size = leaf_hashes.len() as u64;
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    // Transcription of the recursive definition; each level appends its
    // sibling after the deeper part of the path, which yields leaf-first order.
    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        if d.len() <= 1 {
            return Vec::new();
        }
        let k = split_point(d.len() as u64) as usize;
        let (mut proof, sibling) = if m < k {
            (path(m, &d[..k]), root(&d[k..]))
        } else {
            (path(m - k, &d[k..]), root(&d[..k]))
        };
        proof.push(sibling);
        proof
    }
    Ok(path(index as usize, leaf_hashes))
}

/// Consistency proof from the first `old_size` leaves to all of
/// `leaf_hashes`: RFC 6962 §2.1.2 `PROOF(m, D[n])`.
///
/// For `old_size == 0` or `old_size == n` the proof is empty (the RFC only
/// defines `0 < m < n`; these trivial cases need no hashes).
pub fn consistency_proof(leaf_hashes: &[Hash], old_size: u64) -> Result<Vec<Hash>, ProofError> {
    let new_size = leaf_hashes.len() as u64;
    if old_size > new_size {
        return Err(ProofError::OldSizeTooLarge { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[n], b); `b` records whether the current subtree's root is
    // the old root itself (which the verifier already knows).
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        if m == d.len() {
            return if b { Vec::new() } else { vec![root(d)] };
        }
        let k = split_point(d.len() as u64) as usize;
        let (mut proof, sibling) = if m <= k {
            (subproof(m, &d[..k], b), root(&d[k..]))
        } else {
            (subproof(m - k, &d[k..], false), root(&d[..k]))
        };
        proof.push(sibling);
        proof
    }
    Ok(subproof(old_size as usize, leaf_hashes, true))
}

/// Number of hashes in an inclusion proof for `index < tree_size`.
///
/// `inner` counts the levels below the point where the paths to `index` and
/// to the last leaf diverge; above it, every set bit of `index` is a left
/// sibling on the right border. Used to report a precise length error before
/// running the RFC algorithm (which would also reject, less descriptively).
fn inclusion_proof_len(index: u64, tree_size: u64) -> usize {
    let inner = 64 - (index ^ (tree_size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Number of hashes in a consistency proof for `0 < old_size < new_size`.
///
/// It is the inclusion path of the old tree's last leaf, minus the levels
/// inside the old tree's rightmost perfect subtree, plus that subtree's hash
/// itself unless it is the whole old tree (`old_size` a power of two), in
/// which case the verifier already has it as the old root.
fn consistency_proof_len(old_size: u64, new_size: u64) -> usize {
    let last = old_size - 1;
    let inner = 64 - (last ^ (new_size - 1)).leading_zeros();
    let border = last.checked_shr(inner).unwrap_or(0).count_ones();
    let shift = old_size.trailing_zeros();
    let seed = u32::from(!old_size.is_power_of_two());
    (inner - shift + border + seed) as usize
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    let expected = inclusion_proof_len(index, tree_size);
    let wrong_len = ProofError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_len);
    }
    // Steps 2-3.
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(wrong_len);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(wrong_len);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 describes.
///
/// The RFC algorithm covers `0 < old_size < new_size`. The trivial cases are
/// decided here without hashing, strictly:
/// * `old_size == new_size`: the proof must be empty and the roots equal;
/// * `old_size == 0`: the proof must be empty and `old_root` must be the
///   empty-tree root (every tree extends the empty tree, but a size-0
///   checkpoint with any other root is bogus and is rejected).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeTooLarge { old_size, new_size });
    }
    let expected = if old_size == 0 || old_size == new_size {
        0
    } else {
        consistency_proof_len(old_size, new_size)
    };
    let wrong_len = ProofError::WrongProofLength {
        expected,
        got: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_len);
    }
    if old_size == 0 {
        if *old_root != empty_root() {
            return Err(ProofError::OldRootMismatch);
        }
        // (0, 0) compares two empty trees: the new root must be empty too.
        if new_size == 0 && *new_root != empty_root() {
            return Err(ProofError::NewRootMismatch);
        }
        return Ok(());
    }
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::NewRootMismatch)
        };
    }

    // Step 1 (empty path) cannot happen here: expected >= 1 for 0 < m < n.
    // Step 2: a power-of-two old tree is itself a node of the new tree, so
    // its root starts the path.
    let mut path = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    // Step 3.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // Step 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (path[0], path[0]);
    // Step 6.
    for c in &path[1..] {
        if sn == 0 {
            return Err(wrong_len);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(wrong_len);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
