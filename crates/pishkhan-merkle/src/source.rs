//! Proofs over a persisted log that reads O(log n) stored nodes, never all
//! leaves.
//!
//! Every subtree that the RFC 6962 PATH / SUBPROOF recursion hashes covers a
//! range `[lo, hi)` whose start is a multiple of the next power of two >=
//! `hi - lo`. Such a range splits into at most 64 *aligned perfect subtrees*
//! (one per set bit of `hi - lo`, largest first), each a single stored node,
//! and its MTH is those nodes folded from the right. Ranges away from the
//! tree's right edge are perfect and cost one fetch; only the one sibling that
//! touches the right edge is "ragged" and costs up to log n fetches.

use std::fmt;

use crate::{Frontier, Hash, ProofError, empty_root, node_hash, split_point};

/// A perfect subtree: the `2^level` leaves starting at `index * 2^level`.
/// Level 0 is a single leaf hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height of the subtree (0 = leaf).
    pub level: u8,
    /// Position among the subtrees of that height, from the left.
    pub index: u64,
}

impl NodeId {
    /// Shorthand constructor.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node (level {}, index {})", self.level, self.index)
    }
}

/// Storage of completed perfect-subtree hashes, typically a database table
/// keyed by `(level, index)` and filled from [`Frontier::push`].
///
/// The proof functions only ask for nodes that are complete within the tree
/// size they are given, so a store may serve proofs for any size up to its
/// current one.
pub trait NodeSource {
    /// The store's own failure (I/O, missing row, ...).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Hash of the completed perfect subtree `id`.
    fn node(&self, id: NodeId) -> Result<Hash, Self::Error>;
}

/// Failure of a `*_from` function: bad arguments, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError<E: std::error::Error + 'static> {
    /// The requested proof does not exist (e.g. index out of range).
    #[error(transparent)]
    Invalid(#[from] ProofError),
    /// The node source could not provide a node.
    #[error("node source failed to provide {id}")]
    Source {
        /// The node that was requested.
        id: NodeId,
        /// The store's error.
        source: E,
    },
}

fn fetch<S: NodeSource + ?Sized>(src: &S, id: NodeId) -> Result<Hash, FetchError<S::Error>> {
    src.node(id)
        .map_err(|source| FetchError::Source { id, source })
}

/// MTH of the leaf range `[lo, hi)`, `lo < hi`, where `lo` is a multiple of
/// the next power of two >= `hi - lo` (true for every range the RFC recursion
/// visits). Fetches one node per set bit of `hi - lo`.
pub(crate) fn range_hash<S: NodeSource + ?Sized>(
    src: &S,
    lo: u64,
    hi: u64,
) -> Result<Hash, FetchError<S::Error>> {
    debug_assert!(lo < hi);
    let len = hi - lo;
    let mut pieces = Vec::with_capacity(len.count_ones() as usize);
    let mut start = lo;
    for level in (0..64u8).rev() {
        if (len >> level) & 1 == 1 {
            pieces.push(fetch(src, NodeId::new(level, start >> level))?);
            start += 1 << level;
        }
    }
    // Larger pieces are to the left, and RFC 6962 splits off the largest
    // power of two first, so the MTH is a right fold.
    let mut it = pieces.into_iter().rev();
    let last = it.next().expect("len >= 1 has a set bit");
    Ok(it.fold(last, |acc, left| node_hash(&left, &acc)))
}

/// Root of the tree of the first `tree_size` leaves, from stored nodes.
/// Lets a store answer for historic checkpoints as well as the current one.
pub fn root_from<S: NodeSource + ?Sized>(
    src: &S,
    tree_size: u64,
) -> Result<Hash, FetchError<S::Error>> {
    if tree_size == 0 {
        return Ok(empty_root());
    }
    range_hash(src, 0, tree_size)
}

/// Same result as [`crate::inclusion_proof`] over the first `tree_size`
/// leaves, from at most ~2·log2(tree_size) stored nodes.
pub fn inclusion_proof_from<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, FetchError<S::Error>> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size }.into());
    }
    // PATH unrolled top-down over leaf ranges; reversed at the end because
    // the RFC lists the deepest sibling first.
    let (mut lo, mut hi) = (0, tree_size);
    let mut proof = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            proof.push(range_hash(src, mid, hi)?);
            hi = mid;
        } else {
            proof.push(range_hash(src, lo, mid)?);
            lo = mid;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Same result as [`crate::consistency_proof`] between the first `old_size`
/// and the first `new_size` leaves, from O(log n) stored nodes.
pub fn consistency_proof_from<S: NodeSource + ?Sized>(
    src: &S,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, FetchError<S::Error>> {
    if old_size > new_size {
        return Err(ProofError::OldSizeTooLarge { old_size, new_size }.into());
    }
    if old_size == 0 || old_size == new_size {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b) unrolled; `m` is relative to `lo`.
    let (mut lo, mut hi, mut m, mut b) = (0, new_size, old_size, true);
    let mut proof = Vec::new();
    loop {
        if m == hi - lo {
            if !b {
                proof.push(range_hash(src, lo, hi)?);
            }
            break;
        }
        let mid = lo + split_point(hi - lo);
        if m <= mid - lo {
            proof.push(range_hash(src, mid, hi)?);
            hi = mid;
        } else {
            proof.push(range_hash(src, lo, mid)?);
            m -= mid - lo;
            lo = mid;
            b = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The node store was asked for a node it does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not stored")]
pub struct MissingNode(pub NodeId);

/// In-memory log: a [`Frontier`] plus every completed node, one `Vec` per
/// level. For tests and small logs; it is also the reference for how a
/// database-backed store uses [`Frontier::push`].
#[derive(Debug, Clone, Default)]
pub struct MemoryNodes {
    frontier: Frontier,
    levels: Vec<Vec<Hash>>,
}

impl MemoryNodes {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log holding the given leaf hashes, in order.
    pub fn from_leaves(leaf_hashes: &[Hash]) -> Self {
        let mut log = Self::new();
        for h in leaf_hashes {
            log.push(*h);
        }
        log
    }

    /// Appends a leaf hash and stores every node this completes.
    pub fn push(&mut self, leaf_hash: Hash) {
        for (id, hash) in self.frontier.push(leaf_hash) {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            // Nodes of one level complete strictly left to right.
            debug_assert_eq!(self.levels[level].len() as u64, id.index);
            self.levels[level].push(hash);
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The appender state.
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl NodeSource for MemoryNodes {
    type Error = MissingNode;

    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        usize::try_from(id.index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(id.level))?.get(i))
            .copied()
            .ok_or(MissingNode(id))
    }
}
