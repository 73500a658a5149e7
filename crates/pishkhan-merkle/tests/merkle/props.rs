//! Exhaustive deterministic cross-checks for every tree size 1..=130.
//!
//! The `*_from` functions read one node store holding all 130 leaves while
//! serving smaller tree sizes, so a node that is complete only in a larger
//! tree would be fetched by mistake and change the proof.
//!
//! Tamper checks change one byte per proof element; the byte position rotates
//! with the index so that all 32 positions are exercised across the loop
//! while the debug-build run time stays in seconds.

use pishkhan_merkle::{
    Frontier, MemoryNodes, ProofError, consistency_proof, consistency_proof_from, empty_root,
    inclusion_proof, inclusion_proof_from, root, root_from, verify_consistency, verify_inclusion,
};

use crate::common::{flip, message_leaf_hashes};

const MAX: u64 = 130;

#[test]
fn frontier_root_and_serialization_for_every_size() {
    let leaves = message_leaf_hashes(MAX);
    let store = MemoryNodes::from_leaves(&leaves);
    let mut frontier = Frontier::new();
    for n in 0..=MAX {
        let want = root(&leaves[..n as usize]);
        assert_eq!(frontier.size(), n);
        assert_eq!(frontier.root(), want, "Frontier::root at {n}");
        assert_eq!(root_from(&store, n).unwrap(), want, "root_from at {n}");
        assert_eq!(frontier.nodes().len(), n.count_ones() as usize);

        let bytes = frontier.to_bytes();
        assert_eq!(bytes.len(), 9 + 32 * n.count_ones() as usize);
        assert_eq!(
            Frontier::from_bytes(&bytes).unwrap(),
            frontier,
            "bytes at {n}"
        );
        let parts = Frontier::from_parts(n, frontier.nodes().to_vec()).unwrap();
        assert_eq!(parts, frontier, "from_parts at {n}");
        assert_eq!(Frontier::from_source(&store, n).unwrap(), frontier);

        // A restored frontier must keep appending identically.
        if n < MAX {
            let mut restored = Frontier::from_bytes(&bytes).unwrap();
            let completed = restored.push(leaves[n as usize]);
            assert_eq!(completed, frontier.push(leaves[n as usize]));
            assert_eq!(restored, frontier);
            // Leaf n completes one node per trailing one bit of n, plus itself.
            assert_eq!(completed.len(), 1 + n.trailing_ones() as usize);
        }
    }
}

#[test]
fn inclusion_proofs_for_every_index() {
    let leaves = message_leaf_hashes(MAX);
    let store = MemoryNodes::from_leaves(&leaves);
    let mut checked = 0u32;
    for n in 1..=MAX {
        let tree = &leaves[..n as usize];
        let root_n = root(tree);
        for index in 0..n {
            let leaf = leaves[index as usize];
            let proof = inclusion_proof(tree, index).unwrap();
            assert_eq!(
                inclusion_proof_from(&store, index, n).unwrap(),
                proof,
                "slice vs store proof for {index} in {n}"
            );
            verify_inclusion(&leaf, index, n, &proof, &root_n)
                .unwrap_or_else(|e| panic!("{index} in {n}: {e}"));

            let pos = (index as usize) * 7;
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], pos + i * 13);
                assert_eq!(
                    verify_inclusion(&leaf, index, n, &bad, &root_n),
                    Err(ProofError::RootMismatch),
                    "tampered proof[{i}] for {index} in {n}"
                );
            }
            assert!(verify_inclusion(&flip(&leaf, pos), index, n, &proof, &root_n).is_err());
            assert!(verify_inclusion(&leaf, index, n, &proof, &flip(&root_n, pos + 3)).is_err());
            for other in [index.wrapping_sub(1), index + 1, index ^ 1, index ^ 2, n] {
                if other != index {
                    assert!(
                        verify_inclusion(&leaf, other, n, &proof, &root_n).is_err(),
                        "proof for {index} accepted at index {other} in {n}"
                    );
                }
            }
            // Proofs for other leaves never vouch for this one.
            if index > 0 {
                let neighbour = inclusion_proof(tree, index - 1).unwrap();
                assert!(verify_inclusion(&leaf, index, n, &neighbour, &root_n).is_err());
            }
            checked += 1;
        }
        assert_eq!(
            inclusion_proof(tree, n),
            Err(ProofError::IndexOutOfRange {
                index: n,
                tree_size: n
            })
        );
    }
    assert_eq!(checked, (MAX * (MAX + 1) / 2) as u32);
}

#[test]
fn consistency_proofs_for_every_old_size() {
    let leaves = message_leaf_hashes(MAX);
    let store = MemoryNodes::from_leaves(&leaves);
    let roots: Vec<_> = (0..=MAX as usize).map(|n| root(&leaves[..n])).collect();
    for n in 1..=MAX {
        let tree = &leaves[..n as usize];
        let new_root = roots[n as usize];
        for old in 0..=n {
            let old_root = roots[old as usize];
            let proof = consistency_proof(tree, old).unwrap();
            assert_eq!(
                consistency_proof_from(&store, old, n).unwrap(),
                proof,
                "slice vs store proof {old} -> {n}"
            );
            verify_consistency(old, n, &old_root, &new_root, &proof)
                .unwrap_or_else(|e| panic!("{old} -> {n}: {e}"));

            let pos = (old as usize) * 5 + n as usize;
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i] = flip(&bad[i], pos + i * 11);
                assert!(
                    verify_consistency(old, n, &old_root, &new_root, &bad).is_err(),
                    "tampered proof[{i}] accepted for {old} -> {n}"
                );
            }
            assert!(
                verify_consistency(old, n, &flip(&old_root, pos), &new_root, &proof).is_err(),
                "tampered old root accepted for {old} -> {n}"
            );
            // A size-0 old tree constrains nothing about the new root.
            if old > 0 {
                assert!(
                    verify_consistency(old, n, &old_root, &flip(&new_root, pos), &proof).is_err(),
                    "tampered new root accepted for {old} -> {n}"
                );
            }
            // Roots of the right sizes but the wrong trees (any other prefix).
            if old > 0 && old < n {
                let other = roots[old as usize - 1];
                assert!(verify_consistency(old, n, &other, &new_root, &proof).is_err());
            }
        }
        assert_eq!(
            consistency_proof(tree, n + 1),
            Err(ProofError::OldSizeTooLarge {
                old_size: n + 1,
                new_size: n
            })
        );
    }
    assert_eq!(roots[0], empty_root());
}
