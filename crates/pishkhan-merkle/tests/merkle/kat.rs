//! Known-answer tests on the classic 8-leaf RFC 6962 tree.
//!
//! Every expected hash below is copied from github.com/transparency-dev/merkle:
//! * `testonly/constants.go`: `RootHashes`, `NodeHashes`, `CompactTrees`,
//!   `EmptyRootHash`;
//! * `testonly/reference_test.go`: `TestRefInclusionProof`,
//!   `TestRefConsistencyProof` (0-based leaf indices);
//! * `proof/verify_test.go`: the 6 -> 7 consistency proof, `sha256SomeHash`,
//!   and the corruption probes of `corruptInclusionProof` /
//!   `corruptConsistencyProof`, and the edge cases of `TestVerifyInclusion*`
//!   and `TestVerifyConsistency`.

use std::collections::BTreeMap;

use pishkhan_merkle::{
    Frontier, Hash, MemoryNodes, NodeId, NodeSource, ProofError, consistency_proof,
    consistency_proof_from, empty_root, inclusion_proof, inclusion_proof_from, leaf_hash, root,
    root_from, verify_consistency, verify_inclusion,
};

use crate::common::{RFC_LEAVES, h, rfc_leaf_hashes};

/// `RootHashes()`: root of the first `i` leaves at position `i`.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `NodeHashes()`: every complete subtree, indexed `[level][index]`.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// `CompactTrees()`: the right-edge nodes for each size, as (level, index)
/// into `NODES`.
const COMPACT: [&[(usize, usize)]; 9] = [
    &[],
    &[(0, 0)],
    &[(1, 0)],
    &[(1, 0), (0, 2)],
    &[(2, 0)],
    &[(2, 0), (0, 4)],
    &[(2, 0), (1, 2)],
    &[(2, 0), (1, 2), (0, 6)],
    &[(3, 0)],
];

/// `TestRefInclusionProof` (index, size, proof). The vectors of
/// `proof/verify_test.go` (1-based leaves 1:8, 6:8, 3:3, 2:5) are the same
/// proofs and are covered by this list.
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `TestRefConsistencyProof` plus `{6, 7}` from `proof/verify_test.go`
/// (old size, new size, proof).
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// `sha256SomeHash` from `proof/verify_test.go`: an arbitrary wrong hash.
const SOME_HASH: &str = "abacaba000000000000000000000000000000000000000000060061e00123456";

fn hashes(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

#[test]
fn empty_root_is_sha256_of_nothing() {
    assert_eq!(empty_root(), h(ROOTS[0]));
    assert_eq!(root(&[]), h(ROOTS[0]));
    assert_eq!(Frontier::new().root(), h(ROOTS[0]));
}

#[test]
fn leaf_hashes_match_level_zero_nodes() {
    for (data, want) in RFC_LEAVES.iter().zip(NODES[0]) {
        assert_eq!(
            leaf_hash(&hex::decode(data).unwrap()),
            h(want),
            "leaf {data:?}"
        );
    }
}

#[test]
fn roots_for_every_size_by_every_method() {
    let leaves = rfc_leaf_hashes();
    let store = MemoryNodes::from_leaves(&leaves);
    let mut frontier = Frontier::new();
    for size in 0..=8usize {
        let want = h(ROOTS[size]);
        assert_eq!(root(&leaves[..size]), want, "root() size {size}");
        assert_eq!(frontier.root(), want, "Frontier size {size}");
        assert_eq!(
            root_from(&store, size as u64).unwrap(),
            want,
            "root_from size {size}"
        );
        assert_eq!(
            MemoryNodes::from_leaves(&leaves[..size]).root(),
            want,
            "MemoryNodes size {size}"
        );
        if size < 8 {
            frontier.push(leaves[size]);
        }
    }
}

#[test]
fn pushes_complete_exactly_the_reference_nodes() {
    let mut frontier = Frontier::new();
    let mut completed = BTreeMap::new();
    for leaf in rfc_leaf_hashes() {
        for (id, hash) in frontier.push(leaf) {
            assert!(completed.insert(id, hash).is_none(), "{id} reported twice");
        }
    }
    let mut want = BTreeMap::new();
    for (level, row) in NODES.iter().enumerate() {
        for (index, hex) in row.iter().enumerate() {
            want.insert(NodeId::new(level as u8, index as u64), h(hex));
        }
    }
    assert_eq!(completed, want);

    let store = MemoryNodes::from_leaves(&rfc_leaf_hashes());
    for (id, hash) in &want {
        assert_eq!(store.node(*id).unwrap(), *hash, "MemoryNodes {id}");
    }
}

#[test]
fn frontier_matches_reference_compact_trees() {
    let leaves = rfc_leaf_hashes();
    let mut frontier = Frontier::new();
    for (size, nodes) in COMPACT.iter().enumerate() {
        let want: Vec<Hash> = nodes.iter().map(|&(l, i)| h(NODES[l][i])).collect();
        assert_eq!(frontier.nodes(), want.as_slice(), "size {size}");
        if size < 8 {
            frontier.push(leaves[size]);
        }
    }
}

#[test]
fn inclusion_proofs_match_reference() {
    let leaves = rfc_leaf_hashes();
    let store = MemoryNodes::from_leaves(&leaves);
    for &(index, size, want) in INCLUSION {
        let want = hashes(want);
        let n = size as usize;
        assert_eq!(
            inclusion_proof(&leaves[..n], index).unwrap(),
            want,
            "inclusion_proof {index}:{size}"
        );
        assert_eq!(
            inclusion_proof_from(&store, index, size).unwrap(),
            want,
            "inclusion_proof_from {index}:{size}"
        );
        let leaf = leaves[index as usize];
        let root = h(ROOTS[n]);
        verify_inclusion(&leaf, index, size, &want, &root)
            .unwrap_or_else(|e| panic!("{index}:{size} rejected: {e}"));
        for (desc, i, s, l, r, p) in corrupt_inclusion(index, size, &want, root, leaf) {
            assert!(
                verify_inclusion(&l, i, s, &p, &r).is_err(),
                "{index}:{size} accepted corrupted probe {desc:?}"
            );
        }
    }
}

/// The probes of `corruptInclusionProof` in transparency-dev/merkle
/// `proof/verify_test.go`, except the two "garbage" ones that append or
/// prepend a zero-length hash, which `[u8; 32]` cannot express.
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    root: Hash,
    leaf: Hash,
) -> Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> {
    let p = proof.to_vec();
    let some = h(SOME_HASH);
    let mut probes = vec![
        (
            "index - 1".into(),
            index.wrapping_sub(1),
            size,
            leaf,
            root,
            p.clone(),
        ),
        ("index + 1".into(), index + 1, size, leaf, root, p.clone()),
        ("index ^ 2".into(), index ^ 2, size, leaf, root, p.clone()),
        ("size * 2".into(), index, size * 2, leaf, root, p.clone()),
        ("size / 2".into(), index, size / 2, leaf, root, p.clone()),
        (
            "wrong leaf".into(),
            index,
            size,
            leaf_hash(b"WrongLeaf"),
            root,
            p.clone(),
        ),
        (
            "empty root".into(),
            index,
            size,
            leaf,
            empty_root(),
            p.clone(),
        ),
        ("random root".into(), index, size, leaf, some, p.clone()),
        (
            "trailing root".into(),
            index,
            size,
            leaf,
            root,
            [&p[..], &[root]].concat(),
        ),
        (
            "preceding root".into(),
            index,
            size,
            leaf,
            root,
            [&[root], &p[..]].concat(),
        ),
    ];
    for i in 0..p.len() {
        let mut q = p.clone();
        q[i][0] ^= 8;
        probes.push((
            format!("modified proof[{i}] bit 3"),
            index,
            size,
            leaf,
            root,
            q,
        ));
    }
    if !p.is_empty() {
        let q = p[..p.len() - 1].to_vec();
        probes.push(("removed component".into(), index, size, leaf, root, q));
    }
    if p.len() > 1 {
        let q = [&[p[0], some], &p[1..]].concat();
        probes.push(("inserted component".into(), index, size, leaf, root, q));
    }
    probes
}

#[test]
fn consistency_proofs_match_reference() {
    let leaves = rfc_leaf_hashes();
    let store = MemoryNodes::from_leaves(&leaves);
    for &(old, new, want) in CONSISTENCY {
        let want = hashes(want);
        assert_eq!(
            consistency_proof(&leaves[..new as usize], old).unwrap(),
            want,
            "consistency_proof {old}:{new}"
        );
        assert_eq!(
            consistency_proof_from(&store, old, new).unwrap(),
            want,
            "consistency_proof_from {old}:{new}"
        );
        let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        verify_consistency(old, new, &r1, &r2, &want)
            .unwrap_or_else(|e| panic!("{old}:{new} rejected: {e}"));
        // Like upstream, probe only the non-trivial proofs.
        if want.is_empty() {
            continue;
        }
        for (desc, s1, s2, a, b, p) in corrupt_consistency(old, new, r1, r2, &want) {
            assert!(
                verify_consistency(s1, s2, &a, &b, &p).is_err(),
                "{old}:{new} accepted corrupted probe {desc:?}"
            );
        }
    }
}

/// The probes of `corruptConsistencyProof` in transparency-dev/merkle
/// `proof/verify_test.go`, minus the zero-length "garbage" hashes.
fn corrupt_consistency(
    s1: u64,
    s2: u64,
    r1: Hash,
    r2: Hash,
    proof: &[Hash],
) -> Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> {
    let p = proof.to_vec();
    let wrong = leaf_hash(b"WrongRoot");
    let mut probes = vec![
        ("size1 - 1".into(), s1 - 1, s2, r1, r2, p.clone()),
        ("size1 + 1".into(), s1 + 1, s2, r1, r2, p.clone()),
        ("size1 ^ 2".into(), s1 ^ 2, s2, r1, r2, p.clone()),
        ("size2 * 2".into(), s1, s2 * 2, r1, r2, p.clone()),
        ("size2 / 2".into(), s1, s2 / 2, r1, r2, p.clone()),
        ("wrong root1".into(), s1, s2, wrong, r2, p.clone()),
        ("wrong root2".into(), s1, s2, r1, wrong, p.clone()),
        ("swapped roots".into(), s1, s2, r2, r1, p.clone()),
        ("empty proof".into(), s1, s2, r1, r2, vec![]),
        (
            "trailing root1".into(),
            s1,
            s2,
            r1,
            r2,
            [&p[..], &[r1]].concat(),
        ),
        (
            "trailing root2".into(),
            s1,
            s2,
            r1,
            r2,
            [&p[..], &[r2]].concat(),
        ),
        (
            "preceding root1".into(),
            s1,
            s2,
            r1,
            r2,
            [&[r1], &p[..]].concat(),
        ),
        (
            "preceding root2".into(),
            s1,
            s2,
            r1,
            r2,
            [&[r2], &p[..]].concat(),
        ),
        (
            "preceding proof[0]".into(),
            s1,
            s2,
            r1,
            r2,
            [&[p[0]], &p[..]].concat(),
        ),
        (
            "truncated proof".into(),
            s1,
            s2,
            r1,
            r2,
            p[..p.len() - 1].to_vec(),
        ),
    ];
    for i in 0..p.len() {
        let mut q = p.clone();
        q[i][0] ^= 16;
        probes.push((format!("modified proof[{i}] bit 4"), s1, s2, r1, r2, q));
    }
    probes
}

/// `TestVerifyInclusionSingleEntry` and `TestVerifyInclusion` edge cases.
#[test]
fn inclusion_edge_cases() {
    let hash = leaf_hash(b"data");
    assert_eq!(verify_inclusion(&hash, 0, 1, &[], &hash), Ok(()));
    let other = h(SOME_HASH);
    assert_eq!(
        verify_inclusion(&other, 0, 1, &[], &hash),
        Err(ProofError::RootMismatch)
    );
    for (index, size) in [(0, 0), (0, 1), (1, 0), (2, 1)] {
        for (leaf, root) in [(other, empty_root()), (empty_root(), other)] {
            assert!(
                verify_inclusion(&leaf, index, size, &[], &root).is_err(),
                "probe {index}:{size}"
            );
        }
    }
    assert_eq!(
        verify_inclusion(&hash, 1, 1, &[], &hash),
        Err(ProofError::IndexOutOfRange {
            index: 1,
            tree_size: 1
        })
    );
}

/// `TestVerifyConsistency` edge cases. Upstream accepts sizes (0, 0) and
/// (0, 1) with arbitrary "don't care" roots; we additionally require the old
/// root of a size-0 tree to be the empty root, so those rows use it.
#[test]
fn consistency_edge_cases() {
    let r1 = leaf_hash(b"don't care 1");
    let r2 = leaf_hash(b"don't care 2");
    let e = empty_root();
    let ok: &[(u64, u64, Hash, Hash, &[Hash])] =
        &[(0, 0, e, e, &[]), (0, 1, e, r2, &[]), (1, 1, r2, r2, &[])];
    for (s1, s2, a, b, p) in ok {
        assert_eq!(verify_consistency(*s1, *s2, a, b, p), Ok(()), "{s1}:{s2}");
    }
    let bad: &[(u64, u64, Hash, Hash, &[Hash])] = &[
        (0, 0, r1, r2, &[]),
        (1, 1, r1, r2, &[]),
        (1, 0, r1, r2, &[]),
        (2, 1, r1, r2, &[]),
        (1, 2, r1, r2, &[]),
        (0, 0, e, r2, &[]),
        (1, 1, e, r2, &[]),
        (0, 0, e, e, &[e]),
        (0, 1, e, e, &[e]),
        (1, 1, e, e, &[e]),
        // Stricter than upstream: a size-0 tree has exactly one root.
        (0, 0, r1, r1, &[]),
        (0, 1, r1, r2, &[]),
    ];
    for (s1, s2, a, b, p) in bad {
        assert!(
            verify_consistency(*s1, *s2, a, b, p).is_err(),
            "{s1}:{s2} accepted"
        );
    }
}
