//! The incremental appender: the right edge ("compact range") of the tree.

use crate::{FetchError, Hash, NodeId, NodeSource, empty_root, node_hash, source::range_hash};

/// Version byte of [`Frontier::to_bytes`], so a stored row can be migrated if
/// the format ever changes.
const FORMAT_VERSION: u8 = 1;

/// Why a persisted frontier could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontierError {
    /// The serialized form is shorter than its fixed header.
    #[error("serialized frontier is truncated ({len} bytes)")]
    Truncated {
        /// Length of the input.
        len: usize,
    },
    /// The serialized form has an unknown version byte.
    #[error("unknown serialized frontier version {0}")]
    UnknownVersion(u8),
    /// The number of hashes does not match the tree size.
    #[error("a frontier of size {size} holds {expected} hashes, got {got}")]
    WrongHashCount {
        /// Tree size.
        size: u64,
        /// `size.count_ones()`.
        expected: usize,
        /// Hashes supplied (for bytes: whole 32-byte hashes, rounded up).
        got: usize,
    },
}

/// Incremental appender holding the roots of the perfect subtrees that make
/// up the tree's right edge: one hash per set bit of `size`, largest (left-
/// most) subtree first. That is O(log n) state, enough to append and to
/// compute the current root without reading any leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restores a frontier from its size and its subtree roots (largest
    /// first), as returned by [`Frontier::size`] and [`Frontier::nodes`].
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Self, FrontierError> {
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(FrontierError::WrongHashCount {
                size,
                expected,
                got: nodes.len(),
            });
        }
        Ok(Self { size, nodes })
    }

    /// Rebuilds the frontier of a tree of `size` leaves from a node store.
    ///
    /// Useful after a restart when the frontier row is missing, or to check
    /// that the persisted frontier agrees with the node table. O(log n)
    /// fetches.
    pub fn from_source<S: NodeSource + ?Sized>(
        src: &S,
        size: u64,
    ) -> Result<Self, FetchError<S::Error>> {
        let mut nodes = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if (size >> level) & 1 == 1 {
                // A power-of-two range aligned at `start` is a single node.
                nodes.push(range_hash(src, start, start + (1 << level))?);
                start += 1 << level;
            }
        }
        Ok(Self { size, nodes })
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the right-edge perfect subtrees, largest first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf hash and returns every perfect-subtree node completed
    /// by this append, from the leaf itself (level 0) upwards. A store must
    /// persist all of them (in the same transaction as the frontier) for the
    /// `*_from` proof functions to work.
    ///
    /// # Panics
    ///
    /// If the tree already holds `u64::MAX` leaves.
    pub fn push(&mut self, leaf_hash: Hash) -> Vec<(NodeId, Hash)> {
        assert!(self.size < u64::MAX, "Merkle tree is full");
        let mut completed = Vec::with_capacity(1 + self.size.trailing_ones() as usize);
        let mut hash = leaf_hash;
        let mut level = 0u8;
        completed.push((NodeId::new(0, self.size), hash));
        // Every trailing one bit of the old size is a perfect subtree of the
        // same height immediately to our left: merge with it, carry upwards.
        while (self.size >> level) & 1 == 1 {
            let left = self
                .nodes
                .pop()
                .expect("one frontier node per set bit of size");
            hash = node_hash(&left, &hash);
            level += 1;
            completed.push((NodeId::new(level, self.size >> level), hash));
        }
        self.nodes.push(hash);
        self.size += 1;
        completed
    }

    /// MTH of all leaves pushed so far (equal to [`crate::root`] over them):
    /// the right-edge subtrees folded from right to left.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Compact serialization for one database row:
    /// `version (1 byte) || size (u64 big-endian) || hashes (32 bytes each)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + 32 * self.nodes.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.size.to_be_bytes());
        for h in &self.nodes {
            out.extend_from_slice(h);
        }
        out
    }

    /// Strict inverse of [`Frontier::to_bytes`]: rejects unknown versions and
    /// any length that is not exactly right for the encoded size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrontierError> {
        let Some((&version, rest)) = bytes.split_first() else {
            return Err(FrontierError::Truncated { len: 0 });
        };
        if version != FORMAT_VERSION {
            return Err(FrontierError::UnknownVersion(version));
        }
        let Some((size, hashes)) = rest.split_first_chunk::<8>() else {
            return Err(FrontierError::Truncated { len: bytes.len() });
        };
        let size = u64::from_be_bytes(*size);
        let expected = size.count_ones() as usize;
        if hashes.len() != expected * 32 {
            return Err(FrontierError::WrongHashCount {
                size,
                expected,
                got: hashes.len().div_ceil(32),
            });
        }
        let nodes = hashes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks_exact(32)"))
            .collect();
        Ok(Self { size, nodes })
    }
}
