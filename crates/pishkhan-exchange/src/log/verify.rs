//! Proofs from a stored log, and the full audit of a stored log.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use pishkhan_merkle::{
    FetchError, Frontier, Hash, MissingNode, NodeId, NodeSource, consistency_proof_from,
    inclusion_proof_from, root_from,
};
use pishkhan_sign::Keyring;

use super::appender::verify_checkpoint;
use super::{LogEntry, LogError, LogStore, MAX_READ_ROWS, SignedCheckpoint};

/// Entries read per page by [`verify_log`].
pub const VERIFY_PAGE_ENTRIES: u64 = 1024;

/// Records which nodes a proof function asks for, answering with placeholders. The nodes a
/// proof needs depend only on the sizes and index, never on hash values, so a dry run tells
/// which to fetch from the (async) store.
#[derive(Default)]
struct Recorder(RefCell<Vec<NodeId>>);

impl NodeSource for Recorder {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.0.borrow_mut().push(id);
        Ok([0; 32])
    }
}

struct Fetched(HashMap<NodeId, Hash>);

impl NodeSource for Fetched {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.0.get(&id).copied().ok_or(MissingNode(id))
    }
}

fn fetch_error(e: FetchError<MissingNode>) -> LogError {
    match e {
        FetchError::Invalid(p) => LogError::InvalidProof(p.to_string()),
        FetchError::Source { id, .. } => LogError::MissingNode(id),
    }
}

async fn with_nodes<T>(
    store: &dyn LogStore,
    tree_size: u64,
    run: impl Fn(&dyn NodeSourceDyn) -> Result<T, FetchError<MissingNode>>,
) -> Result<T, LogError> {
    let size = store.load_head().await?.map_or(0, |h| h.size);
    if tree_size > size {
        return Err(LogError::InvalidProof(format!(
            "tree size {tree_size} is beyond the log's {size} entries"
        )));
    }
    let recorder = Recorder::default();
    run(&recorder).map_err(fetch_error)?;
    let ids = recorder.0.into_inner();
    let hashes = store.nodes(&ids).await?;
    let mut fetched = HashMap::with_capacity(ids.len());
    for (id, hash) in ids.into_iter().zip(hashes) {
        fetched.insert(id, hash.ok_or(LogError::MissingNode(id))?);
    }
    run(&Fetched(fetched)).map_err(fetch_error)
}

/// Object-safe view of the two node sources, so one closure serves both passes.
trait NodeSourceDyn {
    fn get(&self, id: NodeId) -> Result<Hash, MissingNode>;
}

impl<S: NodeSource<Error = MissingNode>> NodeSourceDyn for S {
    fn get(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.node(id)
    }
}

struct Dyn<'a>(&'a dyn NodeSourceDyn);

impl NodeSource for Dyn<'_> {
    type Error = MissingNode;
    fn node(&self, id: NodeId) -> Result<Hash, MissingNode> {
        self.0.get(id)
    }
}

/// Inclusion proof of leaf `index` in the tree of the first `tree_size` entries (RFC 6962
/// PATH; verify with `pishkhan_merkle::verify_inclusion`). O(log n) node reads.
pub async fn inclusion_proof(
    store: &dyn LogStore,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, LogError> {
    with_nodes(store, tree_size, |src| {
        inclusion_proof_from(&Dyn(src), index, tree_size)
    })
    .await
}

/// Consistency proof between the trees of the first `old_size` and `new_size` entries (RFC
/// 6962 PROOF; verify with `pishkhan_merkle::verify_consistency`).
pub async fn consistency_proof(
    store: &dyn LogStore,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, LogError> {
    with_nodes(store, new_size, |src| {
        consistency_proof_from(&Dyn(src), old_size, new_size)
    })
    .await
}

/// The root of the tree of the first `tree_size` entries, from stored nodes.
pub async fn root_at(store: &dyn LogStore, tree_size: u64) -> Result<Hash, LogError> {
    with_nodes(store, tree_size, |src| root_from(&Dyn(src), tree_size)).await
}

/// A log that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: u64,
    /// The root over all entries.
    pub root: Hash,
}

/// Why a log did not verify. `code` is stable; `first_bad_index` names the first entry that
/// is wrong or missing (for a stored interior node that disagrees: the first leaf it covers),
/// `checkpoint_size` the checkpoint concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct VerifyFailure {
    pub first_bad_index: Option<u64>,
    pub checkpoint_size: Option<u64>,
    pub code: &'static str,
    pub reason: String,
}

fn failure(index: Option<u64>, code: &'static str, reason: impl Into<String>) -> VerifyFailure {
    VerifyFailure {
        first_bad_index: index,
        checkpoint_size: None,
        code,
        reason: reason.into(),
    }
}

fn store_failed(e: impl std::fmt::Display) -> VerifyFailure {
    failure(None, "store_failed", format!("the log store failed: {e}"))
}

/// The ids of the nodes that appending a leaf to a tree of `size` completes, in the order
/// [`Frontier::push`] returns them (depends on `size` alone).
fn completed_ids(size: u64) -> impl Iterator<Item = NodeId> {
    let levels = size.trailing_ones() as u8;
    (0..=levels).map(move |level| NodeId::new(level, size >> level))
}

/// Checkpoints in size order, read page by page.
struct Checkpoints<'a> {
    store: &'a dyn LogStore,
    buffered: VecDeque<SignedCheckpoint>,
    next_from: u64,
    exhausted: bool,
}

impl Checkpoints<'_> {
    async fn peek(&mut self) -> Result<Option<&SignedCheckpoint>, VerifyFailure> {
        if self.buffered.is_empty() && !self.exhausted {
            let page = self
                .store
                .checkpoints(self.next_from, MAX_READ_ROWS as usize)
                .await
                .map_err(store_failed)?;
            match page.last() {
                None => self.exhausted = true,
                Some(last) => self.next_from = last.size.saturating_add(1),
            }
            self.buffered.extend(page);
        }
        Ok(self.buffered.front())
    }
}

/// Audits a stored log from its first entry: every entry's stored leaf hash is recomputed from
/// its bytes (an altered row names its index), indexes must run from 0 without gaps (a removed
/// or reordered row names the first bad index), every entry must be a canonical
/// [`LogEntry`], the tree is rebuilt incrementally and every node it completes must equal the
/// stored node (swapped rows name the first one), every checkpoint must be signed by a key in
/// `keyring` over its note body and carry the recomputed root at its size, no checkpoint may
/// lie beyond the entries (entries removed from the end), and the stored head must match.
///
/// Reads [`VERIFY_PAGE_ENTRIES`] entries at a time; memory stays O(page + log n).
pub async fn verify_log(
    store: &dyn LogStore,
    keyring: &Keyring,
) -> Result<VerifyReport, VerifyFailure> {
    let head = store.load_head().await.map_err(store_failed)?;
    let mut frontier = Frontier::new();
    let mut checkpoints = Checkpoints {
        store,
        buffered: VecDeque::new(),
        next_from: 0,
        exhausted: false,
    };
    let mut checked = 0u64;
    let mut origin: Option<String> = None;
    check_checkpoints_at(
        &mut checkpoints,
        &frontier,
        keyring,
        &mut origin,
        &mut checked,
    )
    .await?;

    loop {
        let from = frontier.size();
        let rows = store
            .entries(from, from.saturating_add(VERIFY_PAGE_ENTRIES))
            .await
            .map_err(store_failed)?;
        if rows.is_empty() {
            break;
        }
        // The nodes this page completes, if its rows are where they should be.
        let ids: Vec<NodeId> = (from..from + rows.len() as u64)
            .flat_map(completed_ids)
            .collect();
        let stored = store.nodes(&ids).await.map_err(store_failed)?;
        let stored: HashMap<NodeId, Option<Hash>> = ids.into_iter().zip(stored).collect();

        for row in &rows {
            let index = frontier.size();
            if row.index != index {
                return Err(failure(
                    Some(index),
                    "missing_entry",
                    format!(
                        "entry {index} is missing (the next stored row is {})",
                        row.index
                    ),
                ));
            }
            if pishkhan_merkle::leaf_hash(&row.bytes) != row.leaf_hash {
                return Err(failure(
                    Some(index),
                    "leaf_hash_mismatch",
                    format!("entry {index}: the stored bytes do not hash to the stored leaf hash"),
                ));
            }
            if let Err(e) = LogEntry::from_canonical_bytes(&row.bytes) {
                return Err(failure(
                    Some(index),
                    "bad_entry",
                    format!("entry {index}: {e}"),
                ));
            }
            for (id, hash) in frontier.push(row.leaf_hash) {
                let first_leaf = id.index << id.level;
                match stored.get(&id).copied().flatten() {
                    Some(h) if h == hash => {}
                    Some(_) => {
                        return Err(failure(
                            Some(first_leaf),
                            "node_mismatch",
                            format!("stored {id} differs from the tree rebuilt from the entries"),
                        ));
                    }
                    None => {
                        return Err(failure(
                            Some(first_leaf),
                            "missing_node",
                            format!("{id} is not stored"),
                        ));
                    }
                }
            }
            check_checkpoints_at(
                &mut checkpoints,
                &frontier,
                keyring,
                &mut origin,
                &mut checked,
            )
            .await?;
        }
    }

    let size = frontier.size();
    if let Some(cp) = checkpoints.peek().await? {
        return Err(VerifyFailure {
            first_bad_index: Some(size),
            checkpoint_size: Some(cp.size),
            code: "checkpoint_beyond_log",
            reason: format!(
                "a checkpoint covers {} entries but only {size} are stored: entries were removed",
                cp.size
            ),
        });
    }
    match head {
        None if size == 0 => {}
        None => {
            return Err(failure(
                None,
                "head_mismatch",
                "entries are stored but no head",
            ));
        }
        Some(h) if h.size != size => {
            return Err(failure(
                Some(h.size.min(size)),
                "head_mismatch",
                format!("the head says {} entries but {size} are stored", h.size),
            ));
        }
        Some(h) if h.frontier != frontier.to_bytes() => {
            return Err(failure(
                None,
                "head_mismatch",
                "the stored frontier differs from the tree rebuilt from the entries",
            ));
        }
        Some(_) => {}
    }
    Ok(VerifyReport {
        entries: size,
        checkpoints: checked,
        root: frontier.root(),
    })
}

async fn check_checkpoints_at(
    checkpoints: &mut Checkpoints<'_>,
    frontier: &Frontier,
    keyring: &Keyring,
    origin: &mut Option<String>,
    checked: &mut u64,
) -> Result<(), VerifyFailure> {
    let size = frontier.size();
    loop {
        let Some(cp) = checkpoints.peek().await? else {
            return Ok(());
        };
        if cp.size > size {
            return Ok(());
        }
        let cp = checkpoints.buffered.pop_front().expect("peeked");
        let bad = |code: &'static str, reason: String| VerifyFailure {
            first_bad_index: None,
            checkpoint_size: Some(cp.size),
            code,
            reason: format!("checkpoint at size {}: {reason}", cp.size),
        };
        if cp.size < size {
            return Err(bad(
                "checkpoint_order",
                "checkpoints are not in strictly increasing size order".into(),
            ));
        }
        let body = verify_checkpoint(&cp, keyring).map_err(|(code, reason)| bad(code, reason))?;
        match origin {
            Some(o) if *o != body.origin => {
                return Err(bad(
                    "checkpoint_origin",
                    format!("origin {:?} differs from {o:?}", body.origin),
                ));
            }
            Some(_) => {}
            None => *origin = Some(body.origin.clone()),
        }
        if body.root != frontier.root() {
            return Err(bad(
                "checkpoint_root_mismatch",
                "the signed root differs from the root of the stored entries".into(),
            ));
        }
        *checked += 1;
    }
}
