//! The persisted-log flow: batched appends into a node table plus one
//! frontier row, restarts, historic checkpoints, and the O(log n) bound on
//! node fetches for huge trees.

use std::cell::Cell;
use std::collections::HashMap;

use pishkhan_merkle::{
    Checkpoint, FetchError, Frontier, Hash, MemoryNodes, MissingNode, NodeId, NodeSource,
    ProofError, consistency_proof, consistency_proof_from, inclusion_proof, inclusion_proof_from,
    leaf_hash, root, root_from, verify_consistency, verify_inclusion,
};

use crate::common::message;

/// Stand-in for the database: a node table and a single frontier row.
#[derive(Default)]
struct Db {
    nodes: HashMap<NodeId, Hash>,
    frontier_row: Option<Vec<u8>>,
}

impl NodeSource for Db {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.nodes.get(&id).copied().ok_or(MissingNode(id))
    }
}

const ORIGIN: &str = "pishkhan.example/inquiry-log";

/// One batch = one transaction: stage everything, then "commit" by writing
/// the nodes and the frontier row together; then sign a checkpoint.
fn append_batch(db: &mut Db, messages: &[Vec<u8>]) -> Checkpoint {
    // Simulate a process restart before every batch: state comes from the row.
    let mut frontier = match &db.frontier_row {
        Some(row) => Frontier::from_bytes(row).expect("stored frontier"),
        None => Frontier::new(),
    };
    let mut staged = Vec::new();
    for m in messages {
        staged.extend(frontier.push(leaf_hash(m)));
    }
    for (id, hash) in staged {
        assert!(db.nodes.insert(id, hash).is_none(), "{id} written twice");
    }
    db.frontier_row = Some(frontier.to_bytes());
    Checkpoint {
        origin: ORIGIN.into(),
        size: frontier.size(),
        root: frontier.root(),
    }
}

#[test]
fn batched_log_with_restarts_serves_all_checkpoints() {
    let mut db = Db::default();
    let mut all: Vec<Hash> = Vec::new();
    let mut checkpoints = Vec::new();
    let mut next = 0u64;
    for batch in [1u64, 3, 0, 7, 16, 1, 100, 33, 257, 2, 600] {
        let msgs: Vec<Vec<u8>> = (next..next + batch).map(message).collect();
        next += batch;
        all.extend(msgs.iter().map(|m| leaf_hash(m)));
        let cp = append_batch(&mut db, &msgs);
        assert_eq!(cp.size, all.len() as u64);
        assert_eq!(cp.root, root(&all));
        // Every completed node was stored exactly once: sum of n >> level.
        let n = cp.size;
        assert_eq!(db.nodes.len() as u64, 2 * n - u64::from(n.count_ones()));
        // The frontier row agrees with the node table.
        let row = Frontier::from_bytes(db.frontier_row.as_ref().unwrap()).unwrap();
        assert_eq!(Frontier::from_source(&db, n).unwrap(), row);
        // The signed body round-trips.
        let body = cp.to_note_body().unwrap();
        assert_eq!(Checkpoint::from_note_body(&body).unwrap(), cp);
        checkpoints.push(cp);
    }

    for (i, old) in checkpoints.iter().enumerate() {
        // Historic roots are still derivable from the node table.
        assert_eq!(root_from(&db, old.size).unwrap(), old.root);
        for new in &checkpoints[i..] {
            let proof = consistency_proof_from(&db, old.size, new.size).unwrap();
            assert_eq!(
                proof,
                consistency_proof(&all[..new.size as usize], old.size).unwrap()
            );
            verify_consistency(old.size, new.size, &old.root, &new.root, &proof)
                .unwrap_or_else(|e| panic!("{} -> {}: {e}", old.size, new.size));
        }
        // A sample of leaves, proven against this (possibly old) checkpoint.
        for index in [0, old.size / 3, old.size / 2, old.size.saturating_sub(1)] {
            if index >= old.size {
                continue;
            }
            let proof = inclusion_proof_from(&db, index, old.size).unwrap();
            assert_eq!(
                proof,
                inclusion_proof(&all[..old.size as usize], index).unwrap()
            );
            let leaf = leaf_hash(&message(index));
            verify_inclusion(&leaf, index, old.size, &proof, &old.root).unwrap();
        }
    }
}

/// Serves a synthetic hash for any node that is complete in a tree of
/// `tree_size` leaves, refuses any other, and counts requests.
struct Counting {
    tree_size: u64,
    fetches: Cell<u32>,
}

impl NodeSource for Counting {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.fetches.set(self.fetches.get() + 1);
        let end = (u128::from(id.index) + 1) << id.level;
        if id.level > 63 || end > u128::from(self.tree_size) {
            return Err(MissingNode(id));
        }
        let mut data = vec![id.level];
        data.extend_from_slice(&id.index.to_be_bytes());
        Ok(leaf_hash(&data))
    }
}

fn log2_ceil(n: u64) -> u32 {
    64 - n.saturating_sub(1).leading_zeros()
}

#[test]
fn huge_trees_need_logarithmically_many_fetches() {
    let sizes = [
        1,
        2,
        3,
        5,
        1000,
        (1 << 32) + 1,
        (1 << 40) + 12345,
        (1 << 63) - 1,
        1 << 63,
        u64::MAX - 1,
        u64::MAX,
    ];
    let dummy = leaf_hash(b"not the root");
    for size in sizes {
        let src = Counting {
            tree_size: size,
            fetches: Cell::new(0),
        };
        let bound = 2 * log2_ceil(size) + 1;

        root_from(&src, size).unwrap();
        assert_eq!(
            src.fetches.replace(0),
            size.count_ones(),
            "root_from {size}"
        );

        for index in [0, 1, size / 3, size / 2, size.wrapping_sub(2), size - 1] {
            if index >= size {
                continue;
            }
            let leaf = src.node(NodeId::new(0, index)).unwrap();
            src.fetches.set(0);
            let proof = inclusion_proof_from(&src, index, size).unwrap();
            let fetches = src.fetches.replace(0);
            assert!(fetches <= bound, "{fetches} fetches for {index} in {size}");
            // Synthetic hashes cannot verify, but the proof must have exactly
            // the shape an RFC 9162 verifier expects.
            assert_eq!(
                verify_inclusion(&leaf, index, size, &proof, &dummy),
                Err(ProofError::RootMismatch),
                "shape of proof for {index} in {size}"
            );
        }

        for old in [1, 2, size / 3, size / 2, size - 1] {
            if old == 0 || old >= size {
                continue;
            }
            let proof = consistency_proof_from(&src, old, size).unwrap();
            let fetches = src.fetches.replace(0);
            assert!(fetches <= bound, "{fetches} fetches for {old} -> {size}");
            let err = verify_consistency(old, size, &dummy, &dummy, &proof).unwrap_err();
            assert!(
                matches!(
                    err,
                    ProofError::OldRootMismatch | ProofError::NewRootMismatch
                ),
                "shape of proof {old} -> {size}: {err}"
            );
        }
    }
}

#[test]
fn store_errors_and_bad_arguments_are_reported() {
    let store = MemoryNodes::from_leaves(&[leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]);
    // Asking for a tree larger than the store reaches a node it lacks.
    match inclusion_proof_from(&store, 0, 4) {
        Err(FetchError::Source { id, source }) => {
            assert_eq!(source, MissingNode(id));
            assert!(id.index * (1 << id.level) + (1 << id.level) > 3, "{id}");
        }
        other => panic!("expected a store error, got {other:?}"),
    }
    assert!(matches!(
        root_from(&store, 4),
        Err(FetchError::Source { .. })
    ));
    assert!(matches!(
        Frontier::from_source(&store, 4),
        Err(FetchError::Source { .. })
    ));
    assert!(matches!(
        inclusion_proof_from(&store, 3, 3),
        Err(FetchError::Invalid(ProofError::IndexOutOfRange {
            index: 3,
            tree_size: 3
        }))
    ));
    assert!(matches!(
        consistency_proof_from(&store, 3, 2),
        Err(FetchError::Invalid(ProofError::OldSizeTooLarge {
            old_size: 3,
            new_size: 2
        }))
    ));
    // Trivial consistency proofs need no fetches at all.
    assert_eq!(
        consistency_proof_from(&store, 0, 1000).unwrap(),
        Vec::<Hash>::new()
    );
    assert_eq!(
        consistency_proof_from(&store, 1000, 1000).unwrap(),
        Vec::<Hash>::new()
    );
}

#[test]
fn frontier_rejects_malformed_rows() {
    use pishkhan_merkle::FrontierError;
    let mut f = Frontier::new();
    for i in 0..5 {
        f.push(leaf_hash(&message(i)));
    }
    let bytes = f.to_bytes(); // size 5 -> two hashes
    assert_eq!(
        Frontier::from_bytes(&[]),
        Err(FrontierError::Truncated { len: 0 })
    );
    assert_eq!(
        Frontier::from_bytes(&bytes[..5]),
        Err(FrontierError::Truncated { len: 5 })
    );
    let mut wrong_version = bytes.clone();
    wrong_version[0] = 2;
    assert_eq!(
        Frontier::from_bytes(&wrong_version),
        Err(FrontierError::UnknownVersion(2))
    );
    for cut in [bytes.len() - 1, bytes.len() - 32] {
        assert!(matches!(
            Frontier::from_bytes(&bytes[..cut]),
            Err(FrontierError::WrongHashCount {
                size: 5,
                expected: 2,
                ..
            })
        ));
    }
    let mut extra = bytes.clone();
    extra.extend_from_slice(&[0; 32]);
    assert!(Frontier::from_bytes(&extra).is_err());
    assert!(Frontier::from_parts(5, vec![[0; 32]]).is_err());
    assert!(Frontier::from_parts(0, vec![]).is_ok());
}
