//! The message log: canonical entries, group commit, proofs and the audit.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pishkhan_exchange::log::{CHECKPOINT_TYP, LoggedPurpose, root_at, verify_checkpoint};
use pishkhan_exchange::{
    Batch, LogAppender, LogColumn, LogEntry, LogHead, LogOutcome, LogStore, LogStoreError,
    MemoryLogStore, SignedCheckpoint, StoredEntry, Strays, consistency_proof, inclusion_proof,
    verify_log, verify_log_with_progress,
};
use pishkhan_merkle::{Checkpoint, Hash, NodeId, verify_consistency, verify_inclusion};
use pishkhan_sign::{KeyStatus, Keyring, jws};
use serde_json::json;
use tokio::sync::Semaphore;

use crate::common::*;

const LOG_SEED: u8 = 60;
const ORIGIN: &str = "pishkhan.example/inquiry-log";

fn log_ring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(key(LOG_SEED).public(), KeyStatus::Active, None)
        .unwrap();
    ring
}

fn entry(i: u64) -> LogEntry {
    LogEntry {
        at_ms: 1_760_000_000_000 + i as i64,
        office: member(OFFICE),
        operator: "operator.ali".into(),
        service: service(pishkhan_protocol::Service::MobileOwnership),
        agency: Some(member("agency:cra")),
        purpose: LoggedPurpose {
            legal_basis: "قانون ارتباطات".into(),
            service_code: "SR002".into(),
            case_id: format!("CASE-{i}"),
        },
        subject: Some(format!("{:010}", i)),
        request_sha256: format!("{:064x}", i),
        response_sha256: Some(format!("{:064x}", i + 1)),
        status: Some(200),
        outcome: LogOutcome::Ok,
        error_code: None,
        request_nonce: Some("AAAAAAAAAAAAAAAAAAAAAA".into()),
        response_signature: None,
        request_body: Some(json!({"national_code": format!("{:010}", i), "mobile": "09120000000"})),
        response_body: Some(json!({"match": i.is_multiple_of(2)})),
        cached_at_ms: i.is_multiple_of(5).then_some(1_759_999_000_000),
    }
}

/// A store around a `MemoryLogStore` that can lie about what it holds, fail, or hold commits.
#[derive(Default)]
struct Tamper {
    flip_byte: Option<u64>,
    flip_and_rehash: Option<u64>,
    remove: Option<u64>,
    swap: Option<(u64, u64)>,
    forge_root_at: Option<u64>,
    foreign_signer_at: Option<u64>,
    other_subject: Option<u64>,
    other_leaf_hash: Option<u64>,
    other_node: Option<NodeId>,
}

#[derive(Default)]
struct TestStore {
    inner: MemoryLogStore,
    tamper: Mutex<Tamper>,
    fail_next: AtomicBool,
    commit_delay_ms: u64,
    gate: Option<Semaphore>,
    append_calls: AtomicUsize,
}

impl TestStore {
    fn set(&self, tamper: Tamper) {
        *self.tamper.lock().unwrap() = tamper;
    }
}

#[async_trait]
impl LogStore for TestStore {
    async fn load_head(&self) -> Result<Option<LogHead>, LogStoreError> {
        self.inner.load_head().await
    }

    async fn append_batch(&self, batch: &Batch) -> Result<(), LogStoreError> {
        self.append_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.acquire().await.unwrap().forget();
        }
        if self.commit_delay_ms > 0 {
            // Stands for a database commit's latency.
            tokio::time::sleep(Duration::from_millis(self.commit_delay_ms)).await;
        }
        if self.fail_next.swap(false, Ordering::SeqCst) {
            return Err(LogStoreError::backend("disk full"));
        }
        self.inner.append_batch(batch).await
    }

    async fn node(&self, id: NodeId) -> Result<Option<Hash>, LogStoreError> {
        if self.tamper.lock().unwrap().other_node == Some(id) {
            return Ok(Some([9; 32]));
        }
        self.inner.node(id).await
    }

    async fn entries(&self, from: u64, to: u64) -> Result<Vec<StoredEntry>, LogStoreError> {
        let mut rows = self.inner.entries(0, u64::MAX).await?;
        let t = self.tamper.lock().unwrap();
        if let Some(i) = t.flip_byte {
            rows[i as usize].bytes[20] ^= 0x01;
        }
        if let Some(i) = t.flip_and_rehash {
            let row = &mut rows[i as usize];
            row.bytes = entry(1000).to_canonical_bytes();
            row.leaf_hash = pishkhan_merkle::leaf_hash(&row.bytes);
        }
        if let Some((i, j)) = t.swap {
            let (a, b) = (rows[i as usize].clone(), rows[j as usize].clone());
            rows[i as usize] = StoredEntry {
                index: a.index,
                ..b
            };
            rows[j as usize] = StoredEntry {
                index: b.index,
                ..a
            };
        }
        if let Some(i) = t.remove {
            rows.retain(|r| r.index != i);
        }
        if let Some(i) = t.other_subject {
            rows[i as usize].fields.subject = Some("0000000000".into());
        }
        if let Some(i) = t.other_leaf_hash {
            rows[i as usize].leaf_hash = [9; 32];
        }
        rows.retain(|r| r.index >= from && r.index < to);
        Ok(rows)
    }

    async fn checkpoints(
        &self,
        from_size: u64,
        limit: usize,
    ) -> Result<Vec<SignedCheckpoint>, LogStoreError> {
        let mut cps = self.inner.checkpoints(from_size, limit).await?;
        let t = self.tamper.lock().unwrap();
        for cp in &mut cps {
            if t.forge_root_at == Some(cp.size) {
                // An insider with the log key re-signs a checkpoint over a forged root.
                cp.root = [7; 32];
                cp.note_body = Checkpoint {
                    origin: ORIGIN.into(),
                    size: cp.size,
                    root: cp.root,
                }
                .to_note_body()
                .unwrap();
                cp.signature = jws::sign(
                    &key(LOG_SEED),
                    Some(CHECKPOINT_TYP),
                    cp.note_body.as_bytes(),
                );
            }
            if t.foreign_signer_at == Some(cp.size) {
                cp.signature = jws::sign(&key(97), Some(CHECKPOINT_TYP), cp.note_body.as_bytes());
            }
        }
        Ok(cps)
    }

    async fn checkpoint_at_or_after(
        &self,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, LogStoreError> {
        self.inner.checkpoint_at_or_after(size).await
    }

    async fn strays(&self, size: u64, limit: usize) -> Result<Strays, LogStoreError> {
        self.inner.strays(size, limit).await
    }
}

async fn all_checkpoints(store: &dyn LogStore) -> Vec<SignedCheckpoint> {
    store.checkpoints(0, 4096).await.unwrap()
}

#[test]
fn entries_have_one_canonical_encoding() {
    let minimal = LogEntry {
        at_ms: 1,
        office: member(OFFICE),
        operator: "op".into(),
        service: service(pishkhan_protocol::Service::CivilRegistryPerson),
        agency: None,
        purpose: LoggedPurpose {
            legal_basis: "law".into(),
            service_code: "SR001".into(),
            case_id: "C1".into(),
        },
        subject: None,
        request_sha256: "ab".into(),
        response_sha256: None,
        status: None,
        outcome: LogOutcome::Refused,
        error_code: Some("office_suspended".into()),
        request_nonce: None,
        response_signature: None,
        request_body: None,
        cached_at_ms: None,
        response_body: None,
    };
    let bytes = minimal.to_canonical_bytes();
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        r#"{"at_ms":1,"error_code":"office_suspended","office":"office:11000001","operator":"op","outcome":"refused","purpose":{"case_id":"C1","legal_basis":"law","service_code":"SR001"},"request_sha256":"ab","service":"civil-registry.person","v":1}"#
    );
    assert_eq!(LogEntry::from_canonical_bytes(&bytes).unwrap(), minimal);
    assert_eq!(minimal.leaf_hash(), pishkhan_merkle::leaf_hash(&bytes));

    // Bodies are sorted too, at every depth; non-ASCII stays raw UTF-8.
    let mut e = entry(3);
    e.response_body = Some(json!({"z": 1, "a": {"y": "پ", "b": [{"d": 1, "c": 2}]}}));
    let text = String::from_utf8(e.to_canonical_bytes()).unwrap();
    assert!(
        text.contains(r#""response_body":{"a":{"b":[{"c":2,"d":1}],"y":"پ"},"z":1}"#),
        "{text}"
    );
    assert_eq!(LogEntry::from_canonical_bytes(text.as_bytes()).unwrap(), e);

    // Anything else is refused: other whitespace, order, versions, members.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<serde_json::Value>(&bytes).unwrap())
            .unwrap();
    assert!(LogEntry::from_canonical_bytes(&pretty).is_err());
    let unversioned = String::from_utf8(bytes.clone())
        .unwrap()
        .replace(r#","v":1"#, "");
    assert!(LogEntry::from_canonical_bytes(unversioned.as_bytes()).is_err());
    let v2 = String::from_utf8(bytes.clone())
        .unwrap()
        .replace(r#""v":1"#, r#""v":2"#);
    assert!(LogEntry::from_canonical_bytes(v2.as_bytes()).is_err());
    let extra = String::from_utf8(bytes)
        .unwrap()
        .replace(r#"{"at_ms""#, r#"{"a":0,"at_ms""#);
    assert!(LogEntry::from_canonical_bytes(extra.as_bytes()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_appender_group_commits_concurrent_appends() {
    let store = Arc::new(TestStore {
        commit_delay_ms: 5,
        ..Default::default()
    });
    let appender = Arc::new(
        LogAppender::start(store.clone(), key(LOG_SEED), ORIGIN.into())
            .await
            .unwrap(),
    );
    const N: u64 = 3000;
    let started = Instant::now();
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let appender = appender.clone();
            tokio::spawn(async move { appender.append(&entry(i)).await.unwrap() })
        })
        .collect();
    let mut indexes = Vec::new();
    for t in tasks {
        indexes.push(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..N).collect::<Vec<_>>());
    let checkpoints = all_checkpoints(store.as_ref()).await;
    let batches = store.append_calls.load(Ordering::SeqCst);
    assert_eq!(checkpoints.len(), batches);
    assert!(
        batches as u64 <= N / 10,
        "{batches} batches for {N} entries"
    );
    // With a 5 ms commit, one entry per commit would take 15 s.
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    let report = verify_log(store.as_ref(), &log_ring()).await.unwrap();
    assert_eq!((report.entries, report.checkpoints), (N, batches as u64));
    assert_eq!(report.root, checkpoints.last().unwrap().root);
}

/// A log of `n` entries written as single, concurrent and single appends again, so that it
/// has many checkpoints of assorted sizes.
async fn build_log(store: Arc<dyn LogStore>, n: u64) {
    let appender = Arc::new(
        LogAppender::start(store, key(LOG_SEED), ORIGIN.into())
            .await
            .unwrap(),
    );
    let mut i = 0;
    while i < n {
        let group = (i % 7 + 1).min(n - i);
        let tasks: Vec<_> = (i..i + group)
            .map(|k| {
                let appender = appender.clone();
                tokio::spawn(async move { appender.append(&entry(k)).await.unwrap() })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        i += group;
    }
}

#[tokio::test]
async fn inclusion_and_consistency_proofs_verify() {
    let store = Arc::new(MemoryLogStore::new());
    build_log(store.clone(), 150).await;
    let checkpoints = all_checkpoints(store.as_ref()).await;
    assert!(checkpoints.len() >= 30);
    for cp in &checkpoints {
        let body = verify_checkpoint(cp, &log_ring()).unwrap();
        assert_eq!((body.origin.as_str(), body.size), (ORIGIN, cp.size));
        assert_eq!(root_at(store.as_ref(), cp.size).await.unwrap(), cp.root);
    }
    assert_eq!(
        verify_checkpoint(&checkpoints[0], &regulator_ring())
            .unwrap_err()
            .0,
        "checkpoint_signature"
    );

    let rows = store.entries(0, 150).await.unwrap();
    for i in (0..150).step_by(7) {
        let cp = store.checkpoint_at_or_after(i + 1).await.unwrap().unwrap();
        let proof = inclusion_proof(store.as_ref(), i, cp.size).await.unwrap();
        let leaf = entry(i).leaf_hash();
        assert_eq!(leaf, rows[i as usize].leaf_hash);
        verify_inclusion(&leaf, i, cp.size, &proof, &cp.root).unwrap();
        // The proof is for this leaf only.
        assert!(verify_inclusion(&entry(i + 1).leaf_hash(), i, cp.size, &proof, &cp.root).is_err());
    }
    for a in checkpoints.iter().step_by(5) {
        for b in checkpoints.iter().filter(|b| b.size >= a.size).step_by(4) {
            let proof = consistency_proof(store.as_ref(), a.size, b.size)
                .await
                .unwrap();
            verify_consistency(a.size, b.size, &a.root, &b.root, &proof).unwrap();
        }
    }
    for (result, what) in [
        (
            inclusion_proof(store.as_ref(), 150, 150).await,
            "index out of range",
        ),
        (
            inclusion_proof(store.as_ref(), 0, 151).await,
            "beyond the log",
        ),
        (
            consistency_proof(store.as_ref(), 20, 10).await,
            "old larger than new",
        ),
    ] {
        assert_eq!(result.unwrap_err().code(), "invalid_proof", "{what}");
    }
}

#[tokio::test]
async fn the_audit_reports_its_progress_from_zero_to_the_head() {
    let store = Arc::new(MemoryLogStore::new());
    build_log(store.clone(), 60).await;
    let seen = Mutex::new(Vec::new());
    let report = verify_log_with_progress(store.as_ref(), &log_ring(), &|done, total| {
        seen.lock().unwrap().push((done, total))
    })
    .await
    .unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(report.entries, 60);
    assert_eq!(seen.first(), Some(&(0, 60)));
    assert_eq!(seen.last(), Some(&(60, 60)));
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
}

#[tokio::test]
async fn verify_log_names_what_was_tampered_with() {
    let store = Arc::new(TestStore::default());
    build_log(store.clone(), 40).await;
    let checkpoints = all_checkpoints(store.as_ref()).await;
    let report = verify_log(store.as_ref(), &log_ring()).await.unwrap();
    assert_eq!(
        (report.entries, report.checkpoints),
        (40, checkpoints.len() as u64)
    );
    let middle = checkpoints[checkpoints.len() / 2].size;

    type Case = (
        &'static str,
        Tamper,
        Option<u64>,
        Option<u64>,
        &'static str,
        Option<LogColumn>,
    );
    let cases: Vec<Case> = vec![
        (
            "altered byte",
            Tamper {
                flip_byte: Some(17),
                ..Default::default()
            },
            Some(17),
            None,
            "leaf_hash_mismatch",
            Some(LogColumn::EntryBytes),
        ),
        (
            "altered and rehashed",
            Tamper {
                flip_and_rehash: Some(17),
                ..Default::default()
            },
            Some(17),
            None,
            "node_mismatch",
            Some(LogColumn::EntryBytes),
        ),
        (
            "removed entry",
            Tamper {
                remove: Some(17),
                ..Default::default()
            },
            Some(17),
            None,
            "missing_entry",
            Some(LogColumn::EntryIndex),
        ),
        (
            "removed last entry",
            Tamper {
                remove: Some(39),
                ..Default::default()
            },
            Some(39),
            Some(40),
            "checkpoint_beyond_log",
            Some(LogColumn::EntryIndex),
        ),
        (
            "swapped neighbours",
            Tamper {
                swap: Some((17, 18)),
                ..Default::default()
            },
            Some(17),
            None,
            "node_mismatch",
            Some(LogColumn::EntryBytes),
        ),
        (
            "swapped far apart",
            Tamper {
                swap: Some((5, 30)),
                ..Default::default()
            },
            Some(5),
            None,
            "node_mismatch",
            Some(LogColumn::EntryBytes),
        ),
        (
            "forged root",
            Tamper {
                forge_root_at: Some(middle),
                ..Default::default()
            },
            None,
            Some(middle),
            "checkpoint_root_mismatch",
            None,
        ),
        (
            "unknown signer",
            Tamper {
                foreign_signer_at: Some(middle),
                ..Default::default()
            },
            None,
            Some(middle),
            "checkpoint_signature",
            Some(LogColumn::CheckpointSignature),
        ),
        (
            "changed subject",
            Tamper {
                other_subject: Some(17),
                ..Default::default()
            },
            Some(17),
            None,
            "index_mismatch",
            Some(LogColumn::EntrySubject),
        ),
        (
            "changed leaf node",
            Tamper {
                other_node: Some(NodeId::new(0, 17)),
                ..Default::default()
            },
            Some(17),
            None,
            "node_mismatch",
            Some(LogColumn::NodeHash),
        ),
        (
            "changed interior node",
            Tamper {
                other_node: Some(NodeId::new(2, 4)),
                ..Default::default()
            },
            Some(16),
            None,
            "node_mismatch",
            Some(LogColumn::NodeHash),
        ),
        (
            "changed leaf hash",
            Tamper {
                other_leaf_hash: Some(17),
                ..Default::default()
            },
            Some(17),
            None,
            "leaf_hash_mismatch",
            Some(LogColumn::EntryLeafHash),
        ),
    ];
    for (name, tamper, index, checkpoint, code, column) in cases {
        store.set(tamper);
        let failure = verify_log(store.as_ref(), &log_ring()).await.unwrap_err();
        assert_eq!(failure.code, code, "{name}: {failure}");
        assert_eq!(failure.column, column, "{name}: {failure}");
        assert_eq!(failure.first_bad_index, index, "{name}: {failure}");
        assert_eq!(failure.checkpoint_size, checkpoint, "{name}: {failure}");
    }
    store.set(Tamper::default());
    verify_log(store.as_ref(), &log_ring()).await.unwrap();

    // A log key that was revoked no longer vouches for its checkpoints.
    let mut revoked = log_ring();
    revoked.revoke(key(LOG_SEED).kid());
    let failure = verify_log(store.as_ref(), &revoked).await.unwrap_err();
    assert_eq!(failure.code, "checkpoint_signature");
    assert!(failure.reason.contains("revoked_key"), "{failure}");
}

#[tokio::test]
async fn a_failed_batch_answers_every_caller_and_the_log_recovers() {
    let store = Arc::new(TestStore {
        gate: Some(Semaphore::new(0)),
        ..Default::default()
    });
    let appender = Arc::new(
        LogAppender::start(store.clone(), key(LOG_SEED), ORIGIN.into())
            .await
            .unwrap(),
    );
    // The first batch is held inside the store's commit...
    let first = {
        let appender = appender.clone();
        tokio::spawn(async move { appender.append(&entry(0)).await })
    };
    while store.append_calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    // ...while five more callers queue up behind it (this runtime has one thread: a yield
    // runs each spawned task up to its wait for the answer).
    let waiting: Vec<_> = (1..6)
        .map(|i| {
            let appender = appender.clone();
            tokio::spawn(async move { appender.append(&entry(i)).await })
        })
        .collect();
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    store.fail_next.store(false, Ordering::SeqCst);
    store.gate.as_ref().unwrap().add_permits(1);
    assert_eq!(first.await.unwrap().unwrap(), 0);
    // The next batch, all five, fails as one.
    store.fail_next.store(true, Ordering::SeqCst);
    store.gate.as_ref().unwrap().add_permits(1000);
    for w in waiting {
        let err = w.await.unwrap().unwrap_err();
        assert_eq!(err.code(), "log_storage_failed", "{err}");
    }
    assert_eq!(store.append_calls.load(Ordering::SeqCst), 2);
    // The appender reloaded the head and goes on from the truth.
    assert_eq!(appender.append(&entry(6)).await.unwrap(), 1);
    let report = verify_log(store.as_ref(), &log_ring()).await.unwrap();
    assert_eq!((report.entries, report.checkpoints), (2, 2));
}

#[tokio::test]
async fn two_appenders_on_one_store_take_turns_and_keep_one_tree() {
    // One appender per node on one database: each batch that loses the head to the other is
    // rebuilt on top of it, so no caller sees the race and the tree stays one.
    let store: Arc<dyn LogStore> = Arc::new(MemoryLogStore::new());
    let a = LogAppender::start(store.clone(), key(LOG_SEED), ORIGIN.into())
        .await
        .unwrap();
    let b = LogAppender::start(store.clone(), key(LOG_SEED), ORIGIN.into())
        .await
        .unwrap();
    assert_eq!(a.append(&entry(0)).await.unwrap(), 0);
    // `b` started at size 0: its first batch conflicts, reloads and lands at 1.
    assert_eq!(b.append(&entry(1)).await.unwrap(), 1);
    assert_eq!(a.append(&entry(2)).await.unwrap(), 2);
    let (a, b) = (Arc::new(a), Arc::new(b));
    let racing: Vec<_> = (0..200u64)
        .map(|i| {
            let appender = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { appender.append(&entry(100 + i)).await })
        })
        .collect();
    let mut indexes = Vec::new();
    for r in racing {
        indexes.push(r.await.unwrap().expect("no caller sees a conflict"));
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (3..203).collect::<Vec<u64>>());
    for appender in [a, b] {
        Arc::into_inner(appender).unwrap().shutdown().await;
    }
    let report = verify_log(store.as_ref(), &log_ring()).await.unwrap();
    assert_eq!(report.entries, 203);
    let rows = store.entries(0, 3).await.unwrap();
    let entries: Vec<LogEntry> = rows
        .iter()
        .map(|r| LogEntry::from_canonical_bytes(&r.bytes).unwrap())
        .collect();
    assert_eq!(entries, [entry(0), entry(1), entry(2)]);
}
