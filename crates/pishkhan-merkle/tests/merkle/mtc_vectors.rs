//! Accumulated test vectors covering every proof in trees of up to 130 leaves.
//!
//! Source: draft-ietf-plants-merkle-tree-certs, Appendix C ("Subtree Test
//! Vectors"), as reproduced by github.com/transparency-dev/merkle
//! `testonly/vectors_test.go` (`TestSubtreeHashVectors`,
//! `TestSubtreeInclusionProofVectors`, `TestSubtreeConsistencyProofVectors`);
//! the same three digests appear in several other independent
//! implementations. The tree has leaf `i` = the single byte `i`. Each output
//! is written as one text line into a rolling SHA-256 whose final value is
//! published, so one digest pins tens of thousands of hashes.
//!
//! The draft generalises RFC 6962 to "subtrees" `[start, end)`. For
//! `start == 0` the three algorithms are exactly RFC 6962 MTH, PATH and PROOF,
//! and those lines are produced by this crate (once by the slice functions,
//! once by the `*_from` functions over a node store). For `start > 0`:
//! * a subtree's hash and inclusion proofs are MTH / PATH of the leaf slice
//!   `[start, end)`, again produced by this crate;
//! * subtree *consistency* proofs are not part of this crate, so those lines
//!   come from a short test-only transcription of the draft's SUBTREE_PROOF
//!   (built on this crate's `root`).

use sha2::{Digest, Sha256};

use pishkhan_merkle::{
    Hash, MemoryNodes, consistency_proof, consistency_proof_from, inclusion_proof,
    inclusion_proof_from, leaf_hash, root, root_from,
};

const MAX: u64 = 130;
const SUBTREE_HASHES: &str = "94a95384a8c69acea9b50d035a58285b3a777cb7a724005faa5e1f1e1190007f";
const INCLUSION_PROOFS: &str = "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f";
const CONSISTENCY_PROOFS: &str = "c586ebbb73a5621baf2140095d87dde934e3b6503a562a1a5215b8209edd083d";

fn leaves() -> Vec<Hash> {
    (0..MAX).map(|i| leaf_hash(&[i as u8])).collect()
}

/// The draft's validity rule: `start` is a multiple of the smallest power of
/// two >= `end - start` (so `[start, end)` is a node-aligned subtree).
fn valid(start: u64, end: u64) -> bool {
    start == 0 || start.is_multiple_of((end - start).next_power_of_two())
}

fn proof_line(digest: &mut Sha256, prefix: String, proof: &[Hash]) {
    let mut line = prefix;
    for p in proof {
        line.push(' ');
        line.push_str(&hex::encode(p));
    }
    line.push('\n');
    digest.update(line.as_bytes());
}

/// Largest power of two strictly below `n >= 2`.
fn split(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Draft SUBTREE_PROOF(start, end, D[0:n], b), used for `start > 0` only.
fn subtree_proof(d: &[Hash], start: usize, end: usize, b: bool) -> Vec<Hash> {
    if start == 0 && end == d.len() {
        return if b { vec![] } else { vec![root(d)] };
    }
    let k = split(d.len());
    let (mut proof, sibling) = if end <= k {
        (subtree_proof(&d[..k], start, end, b), root(&d[k..]))
    } else if k <= start {
        (subtree_proof(&d[k..], start - k, end - k, b), root(&d[..k]))
    } else {
        (subtree_proof(&d[k..], 0, end - k, false), root(&d[..k]))
    };
    proof.push(sibling);
    proof
}

fn subtree_hash_digest(store: Option<&MemoryNodes>) -> String {
    let leaves = leaves();
    let mut digest = Sha256::new();
    for end in 1..=MAX {
        for start in (0..end).filter(|&s| valid(s, end)) {
            let hash = match store {
                Some(store) if start == 0 => root_from(store, end).unwrap(),
                _ => root(&leaves[start as usize..end as usize]),
            };
            digest.update(format!("[{start}, {end}) {}\n", hex::encode(hash)).as_bytes());
        }
    }
    hex::encode(digest.finalize())
}

fn inclusion_digest(store: Option<&MemoryNodes>) -> String {
    let leaves = leaves();
    let mut digest = Sha256::new();
    for end in 1..=MAX {
        for start in (0..end).filter(|&s| valid(s, end)) {
            for index in start..end {
                let proof = match store {
                    Some(store) if start == 0 => inclusion_proof_from(store, index, end).unwrap(),
                    _ => inclusion_proof(&leaves[start as usize..end as usize], index - start)
                        .unwrap(),
                };
                proof_line(&mut digest, format!("{index} [{start}, {end})"), &proof);
            }
        }
    }
    hex::encode(digest.finalize())
}

/// Returns the digests computed with the slice functions and with the
/// `*_from` functions. One pass serves both because the `start > 0` lines
/// (the slow, test-only SUBTREE_PROOF) are the same in each.
fn consistency_digests() -> (String, String) {
    let leaves = leaves();
    let store = MemoryNodes::from_leaves(&leaves);
    let (mut via_slice, mut via_store) = (Sha256::new(), Sha256::new());
    for n in 0..=MAX {
        for end in 1..=n {
            for start in (0..end).filter(|&s| valid(s, end)) {
                let prefix = format!("[{start}, {end}) {n}");
                if start == 0 {
                    let a = consistency_proof(&leaves[..n as usize], end).unwrap();
                    let b = consistency_proof_from(&store, end, n).unwrap();
                    proof_line(&mut via_slice, prefix.clone(), &a);
                    proof_line(&mut via_store, prefix, &b);
                } else {
                    let p =
                        subtree_proof(&leaves[..n as usize], start as usize, end as usize, true);
                    proof_line(&mut via_slice, prefix.clone(), &p);
                    proof_line(&mut via_store, prefix, &p);
                }
            }
        }
    }
    (
        hex::encode(via_slice.finalize()),
        hex::encode(via_store.finalize()),
    )
}

#[test]
fn subtree_hashes_via_root() {
    assert_eq!(subtree_hash_digest(None), SUBTREE_HASHES);
}

#[test]
fn subtree_hashes_via_root_from() {
    let store = MemoryNodes::from_leaves(&leaves());
    assert_eq!(subtree_hash_digest(Some(&store)), SUBTREE_HASHES);
}

#[test]
fn inclusion_proofs_via_inclusion_proof() {
    assert_eq!(inclusion_digest(None), INCLUSION_PROOFS);
}

#[test]
fn inclusion_proofs_via_inclusion_proof_from() {
    let store = MemoryNodes::from_leaves(&leaves());
    assert_eq!(inclusion_digest(Some(&store)), INCLUSION_PROOFS);
}

#[test]
fn consistency_proofs_via_both_proof_functions() {
    let (via_slice, via_store) = consistency_digests();
    assert_eq!(via_slice, CONSISTENCY_PROOFS, "consistency_proof");
    assert_eq!(via_store, CONSISTENCY_PROOFS, "consistency_proof_from");
}
