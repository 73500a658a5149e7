//! Proofs from a stored log, and the full audit of a stored log.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use pishkhan_merkle::{
    FetchError, Frontier, Hash, MissingNode, NodeId, NodeSource, consistency_proof_from,
    inclusion_proof_from, root_from,
};
use pishkhan_sign::Keyring;

use super::appender::check_checkpoint;
use super::{
    LogColumn, LogEntry, LogError, LogStore, MAX_READ_ROWS, SignedCheckpoint, StoredEntry,
};

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
/// `checkpoint_size` the checkpoint concerned, and `column` the stored field that disagrees
/// when one can be told (name it with [`LogStore::column_name`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {reason}")]
pub struct VerifyFailure {
    pub first_bad_index: Option<u64>,
    pub checkpoint_size: Option<u64>,
    pub column: Option<LogColumn>,
    pub code: &'static str,
    pub reason: String,
}

/// Stray rows [`verify_log`] reads at most, of each kind.
pub const MAX_STRAYS: usize = 16;

fn failure(
    index: Option<u64>,
    column: Option<LogColumn>,
    code: &'static str,
    reason: impl Into<String>,
) -> VerifyFailure {
    VerifyFailure {
        first_bad_index: index,
        checkpoint_size: None,
        column,
        code,
        reason: reason.into(),
    }
}

fn store_failed(e: impl std::fmt::Display) -> VerifyFailure {
    failure(
        None,
        None,
        "store_failed",
        format!("the log store failed: {e}"),
    )
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

/// Audits a stored log from its first entry, so that every field a store keeps is either
/// re-derived from the entries' bytes or covered by a checkpoint's signature:
///
/// * indexes run from 0 without gaps (a removed or moved row names the first bad index);
/// * every entry's stored leaf hash is the hash of its bytes, and the bytes are a canonical
///   [`LogEntry`];
/// * the tree is rebuilt incrementally and every node it completes (leaves included) must equal
///   the stored node (swapped rows name the first one);
/// * every entry's stored [`IndexFields`](super::IndexFields) equal those of its bytes (a
///   changed subject would hide an inquiry from the citizen it was about);
/// * every checkpoint is signed by a key in `keyring` over its note body, its stored size and
///   root are the signed ones, and the root is the one rebuilt at its size; none lies beyond
///   the entries (entries removed from the end);
/// * no entry or node is stored outside the log (rows moved away or added);
/// * the stored head (size and frontier) is the one rebuilt.
///
/// The failure names the stored field that disagrees ([`VerifyFailure::column`]) whenever one
/// can be told. Reads [`VERIFY_PAGE_ENTRIES`] entries at a time; memory stays O(page + log n).
pub async fn verify_log(
    store: &dyn LogStore,
    keyring: &Keyring,
) -> Result<VerifyReport, VerifyFailure> {
    verify_log_with_progress(store, keyring, &|_, _| {}).await
}

/// [`verify_log`], calling `progress(checked, total)` with the entries checked so far and the
/// stored head's size after every page, so an operator sees a long audit move.
pub async fn verify_log_with_progress(
    store: &dyn LogStore,
    keyring: &Keyring,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<VerifyReport, VerifyFailure> {
    let head = store.load_head().await.map_err(store_failed)?;
    let head_size = head.as_ref().map_or(0, |h| h.size);
    progress(0, head_size);
    let mut frontier = Frontier::new();
    let mut checkpoints = Checkpoints {
        store,
        buffered: VecDeque::new(),
        next_from: 0,
        exhausted: false,
    };
    let mut checked = 0u64;
    let mut origin: Option<String> = None;
    let mut suspect: Option<Suspect> = None;
    check_checkpoints_at(
        &mut checkpoints,
        &frontier,
        keyring,
        &mut origin,
        &mut checked,
        &mut suspect,
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
            if let Some(s) = &suspect
                && !row_is_sound(index, row)
            {
                // The earlier disagreement is the one to report.
                return Err(s.undecided());
            }
            if row.index != index {
                return Err(failure(
                    Some(index),
                    Some(LogColumn::EntryIndex),
                    "missing_entry",
                    format!(
                        "no entry is stored at index {index} (the next stored row is {}): it \
                         was removed or its index changed",
                        row.index
                    ),
                ));
            }
            let leaf = pishkhan_merkle::leaf_hash(&row.bytes);
            if leaf != row.leaf_hash {
                // The stored leaf node tells which of the two changed.
                let node = stored.get(&NodeId::new(0, index)).copied().flatten();
                let (column, reason) = if node == Some(leaf) {
                    (
                        LogColumn::EntryLeafHash,
                        "the stored leaf hash is not the hash of the entry's bytes (the leaf \
                         node is)",
                    )
                } else {
                    (
                        LogColumn::EntryBytes,
                        "the entry's bytes do not hash to the stored leaf hash",
                    )
                };
                return Err(failure(
                    Some(index),
                    Some(column),
                    "leaf_hash_mismatch",
                    format!("entry {index}: {reason}"),
                ));
            }
            let entry = LogEntry::from_canonical_bytes(&row.bytes).map_err(|e| {
                failure(
                    Some(index),
                    Some(LogColumn::EntryBytes),
                    "bad_entry",
                    format!("entry {index}: {e}"),
                )
            })?;
            for (id, hash) in frontier.push(row.leaf_hash) {
                if suspect.is_some() {
                    continue;
                }
                match stored.get(&id).copied().flatten() {
                    Some(h) if h == hash => {}
                    Some(_) => suspect = Some(Suspect { id }),
                    None => {
                        let (column, how) = moved_node(store, head_size, id).await?;
                        return Err(failure(
                            Some(id.index << id.level),
                            column,
                            "missing_node",
                            format!("{id} is not stored: {how}"),
                        ));
                    }
                }
            }
            if suspect.is_none() {
                check_index_fields(index, &entry, row)?;
            }
            check_checkpoints_at(
                &mut checkpoints,
                &frontier,
                keyring,
                &mut origin,
                &mut checked,
                &mut suspect,
            )
            .await?;
        }
        progress(frontier.size(), head_size.max(frontier.size()));
    }
    if let Some(s) = suspect {
        return Err(s.undecided());
    }

    let size = frontier.size();
    if let Some(cp) = checkpoints.peek().await? {
        // A checkpoint's own fields first: a changed size also puts it beyond the log.
        let fault = check_checkpoint(cp, keyring).err();
        return Err(VerifyFailure {
            first_bad_index: Some(size),
            checkpoint_size: Some(cp.size),
            column: Some(fault.as_ref().map_or(LogColumn::EntryIndex, |f| f.column)),
            code: fault.as_ref().map_or("checkpoint_beyond_log", |f| f.code),
            reason: match fault {
                Some(f) => format!("checkpoint at size {}: {}", cp.size, f.reason),
                None => format!(
                    "a checkpoint covers {} entries but only {size} are stored: entries were \
                     removed or their index changed",
                    cp.size
                ),
            },
        });
    }
    check_strays(store, size).await?;
    match head {
        None if size == 0 => {}
        None => {
            return Err(failure(
                None,
                Some(LogColumn::Head),
                "head_mismatch",
                format!("{size} entries are stored but no head"),
            ));
        }
        Some(h) if h.size != size => {
            return Err(failure(
                Some(h.size.min(size)),
                Some(LogColumn::HeadSize),
                "head_mismatch",
                format!("the head says {} entries but {size} are stored", h.size),
            ));
        }
        Some(h) if h.frontier != frontier.to_bytes() => {
            return Err(failure(
                None,
                Some(LogColumn::HeadFrontier),
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

/// A stored node that differs from the tree rebuilt from the entries. Either the node changed
/// or the entries under it did (bytes and leaf hash together, or rows swapped); the next
/// signed checkpoint tells which, so the audit reads on to it before reporting.
struct Suspect {
    id: NodeId,
}

impl Suspect {
    fn leaves(&self) -> (u64, u64) {
        let first = self.id.index << self.id.level;
        (first, first + (1u64 << self.id.level) - 1)
    }

    /// `entries_changed`: the checkpoint's signed root differs from the one rebuilt from the
    /// entries, so the entries are not the ones signed.
    fn decided(&self, checkpoint: &SignedCheckpoint, entries_changed: bool) -> VerifyFailure {
        let (first, last) = self.leaves();
        let id = self.id;
        let (column, reason) = if entries_changed {
            let which = if first == last {
                format!("entry {first}")
            } else {
                format!("an entry among {first}..={last}")
            };
            (
                LogColumn::EntryBytes,
                format!(
                    "{which} (bytes and leaf hash) is not what the checkpoint at size {} \
                     signed; the stored {id} still is",
                    checkpoint.size
                ),
            )
        } else {
            (
                LogColumn::NodeHash,
                format!(
                    "stored {id} differs from the tree rebuilt from the entries, which the \
                     checkpoint at size {} signed",
                    checkpoint.size
                ),
            )
        };
        failure(Some(first), Some(column), "node_mismatch", reason)
    }

    /// No verified checkpoint follows: the node and the entries under it disagree, and
    /// nothing signed says which changed.
    fn undecided(&self) -> VerifyFailure {
        failure(
            Some(self.leaves().0),
            None,
            "node_mismatch",
            format!(
                "stored {} differs from the tree rebuilt from the entries (the node or the \
                 entries under it changed; no verified checkpoint follows to tell which)",
                self.id
            ),
        )
    }
}

/// The checks of a row that come before the tree: in place, hashing to its leaf, canonical.
fn row_is_sound(index: u64, row: &StoredEntry) -> bool {
    row.index == index
        && pishkhan_merkle::leaf_hash(&row.bytes) == row.leaf_hash
        && LogEntry::from_canonical_bytes(&row.bytes).is_ok()
}

/// The stored index fields of entry `index` against those of its bytes.
fn check_index_fields(
    index: u64,
    entry: &LogEntry,
    row: &StoredEntry,
) -> Result<(), VerifyFailure> {
    let want = entry.index_fields();
    let got = &row.fields;
    for (column, same) in [
        (LogColumn::EntryAt, got.at_ms == want.at_ms),
        (LogColumn::EntrySubject, got.subject == want.subject),
        (LogColumn::EntryOffice, got.office == want.office),
    ] {
        if !same {
            // The values stay out of the message: a subject is a national code.
            return Err(failure(
                Some(index),
                Some(column),
                "index_mismatch",
                format!(
                    "entry {index}: the stored {} differs from the entry's bytes",
                    column.as_str()
                ),
            ));
        }
    }
    Ok(())
}

/// Why node `id` of a log of `head_size` entries is not where it belongs: a row at its level
/// outside the tree had its index changed, a row at its index on another level its level.
async fn moved_node(
    store: &dyn LogStore,
    head_size: u64,
    id: NodeId,
) -> Result<(Option<LogColumn>, String), VerifyFailure> {
    let strays = store
        .strays(head_size, MAX_STRAYS)
        .await
        .map_err(store_failed)?;
    let (level, index) = (i64::from(id.level), id.index as i64);
    if let Some((_, i)) = strays.nodes.iter().find(|(l, _)| *l == level) {
        return Ok((
            Some(LogColumn::NodeIndex),
            format!("a node of its level is stored at index {i}, outside the tree"),
        ));
    }
    if let Some((l, _)) = strays.nodes.iter().find(|(_, i)| *i == index) {
        return Ok((
            Some(LogColumn::NodeLevel),
            format!("a node of its index is stored at level {l}, outside the tree"),
        ));
    }
    Ok((None, "it was removed".to_string()))
}

/// Rows kept outside the log of `size` entries: moved there, or added.
async fn check_strays(store: &dyn LogStore, size: u64) -> Result<(), VerifyFailure> {
    let strays = store.strays(size, MAX_STRAYS).await.map_err(store_failed)?;
    if let Some(i) = strays.entries.first() {
        return Err(failure(
            Some(size),
            Some(LogColumn::EntryIndex),
            "stray_entry",
            format!("an entry is stored at index {i}, outside the log's {size} entries"),
        ));
    }
    if let Some((level, i)) = strays.nodes.first() {
        let column = if (0..64).contains(level) {
            LogColumn::NodeIndex
        } else {
            LogColumn::NodeLevel
        };
        return Err(failure(
            Some(size),
            Some(column),
            "stray_node",
            format!(
                "a node is stored at level {level}, index {i}, outside the tree of the log's \
                 {size} entries"
            ),
        ));
    }
    Ok(())
}

async fn check_checkpoints_at(
    checkpoints: &mut Checkpoints<'_>,
    frontier: &Frontier,
    keyring: &Keyring,
    origin: &mut Option<String>,
    checked: &mut u64,
    suspect: &mut Option<Suspect>,
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
        let bad = |code: &'static str, column: Option<LogColumn>, reason: String| VerifyFailure {
            first_bad_index: None,
            checkpoint_size: Some(cp.size),
            column,
            code,
            reason: format!("checkpoint at size {}: {reason}", cp.size),
        };
        if cp.size < size {
            return Err(bad(
                "checkpoint_order",
                Some(LogColumn::CheckpointSize),
                "checkpoints are not in strictly increasing size order".into(),
            ));
        }
        let checked_body = check_checkpoint(&cp, keyring);
        if let Some(s) = suspect.take() {
            // The first checkpoint after a stored node disagreed covers that node's leaves:
            // its signed root tells whether the node or the entries changed.
            return Err(match checked_body {
                Ok(body) => s.decided(&cp, body.root != frontier.root()),
                Err(_) => s.undecided(),
            });
        }
        let body = checked_body.map_err(|f| bad(f.code, Some(f.column), f.reason))?;
        match origin {
            Some(o) if *o != body.origin => {
                return Err(bad(
                    "checkpoint_origin",
                    Some(LogColumn::CheckpointNoteBody),
                    format!("origin {:?} differs from {o:?}", body.origin),
                ));
            }
            Some(_) => {}
            None => *origin = Some(body.origin.clone()),
        }
        if body.root != frontier.root() {
            return Err(bad(
                "checkpoint_root_mismatch",
                None,
                "the signed root differs from the root of the stored entries".into(),
            ));
        }
        *checked += 1;
    }
}
