//! Cross-check against an independent verifier written in Python
//! (`verify_rfc6962.py`, standard library only). It recomputes leaf hashes
//! from raw message bytes, verifies our proofs with its own transcription of
//! RFC 9162, recomputes roots with its own MTH, and parses our checkpoint
//! bodies with Python's base64 module.
//!
//! `python3` is required: if it is missing the test fails (it does not skip),
//! because a silently skipped interoperability check is worse than none.

use std::io::Write;
use std::process::{Command, Stdio};

use pishkhan_merkle::{
    Checkpoint, MemoryNodes, consistency_proof_from, inclusion_proof_from, root,
};
use serde_json::{Value, json};

use crate::common::{flip, message, message_leaf_hashes};

fn hexes(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

fn run_python(cases: &[Value]) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/merkle/verify_rfc6962.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "could not run `python3` ({e}). This interoperability test needs \
                 Python 3 (standard library only) on PATH; install it \
                 (e.g. `apt-get install python3`) rather than skipping the test."
            )
        });
    let input = serde_json::to_vec(&json!({ "cases": cases })).unwrap();
    // Write on a thread so a large output cannot deadlock against our write.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "verify_rfc6962.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), cases.len(), "one result per case");
    results
}

#[test]
fn python_verifier_accepts_our_proofs_and_rejects_tampered_ones() {
    const N: u64 = 70;
    let leaves = message_leaf_hashes(N);
    let store = MemoryNodes::from_leaves(&leaves);
    // (case, expected acceptance)
    let mut cases: Vec<(Value, bool)> = Vec::new();
    for n in 1..=N {
        let root_n = root(&leaves[..n as usize]);
        for index in 0..n {
            let proof = inclusion_proof_from(&store, index, n).unwrap();
            let case = |proof: &[[u8; 32]], root: &[u8; 32]| {
                json!({"kind": "inclusion", "leaf": hex::encode(message(index)),
                       "index": index, "tree_size": n,
                       "proof": hexes(proof), "root": hex::encode(root)})
            };
            cases.push((case(&proof, &root_n), true));
            let bad = match proof.len() {
                0 => case(&proof, &flip(&root_n, index as usize)),
                len => {
                    let mut p = proof.clone();
                    let i = index as usize % len;
                    p[i] = flip(&p[i], index as usize);
                    case(&p, &root_n)
                }
            };
            cases.push((bad, false));
        }
        for old in 1..=n {
            let old_root = root(&leaves[..old as usize]);
            let proof = consistency_proof_from(&store, old, n).unwrap();
            let case = |proof: &[[u8; 32]], old_root: &[u8; 32]| {
                json!({"kind": "consistency", "old_size": old, "new_size": n,
                       "old_root": hex::encode(old_root), "new_root": hex::encode(root_n),
                       "proof": hexes(proof)})
            };
            cases.push((case(&proof, &old_root), true));
            let bad = match proof.len() {
                0 => case(&proof, &flip(&old_root, old as usize)),
                len => {
                    let mut p = proof.clone();
                    let i = old as usize % len;
                    p[i] = flip(&p[i], old as usize);
                    case(&p, &old_root)
                }
            };
            cases.push((bad, false));
        }
    }
    let (values, expected): (Vec<Value>, Vec<bool>) = cases.into_iter().unzip();
    let results = run_python(&values);
    let accepted = expected.iter().filter(|&&e| e).count();
    assert!(accepted > 4000, "only {accepted} valid cases");
    for ((case, want), got) in values.iter().zip(&expected).zip(&results) {
        assert_eq!(got, &Value::Bool(*want), "python verdict for {case}");
    }
}

#[test]
fn python_recomputes_our_roots_and_parses_our_checkpoints() {
    let mut cases = Vec::new();
    let mut want = Vec::new();
    for n in 0..=33u64 {
        let data: Vec<String> = (0..n).map(|i| hex::encode(message(i))).collect();
        cases.push(json!({"kind": "root", "leaves": data}));
        want.push(json!(hex::encode(root(&message_leaf_hashes(n)))));
    }
    for (origin, size, seed) in [
        ("pishkhan.example/inquiry-log", 0u64, 0u8),
        ("پیشخوان/سامانه", 1, 7),
        ("o", u64::MAX, 255),
        ("log", 20852163, 91),
    ] {
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root: std::array::from_fn(|i| seed.wrapping_mul(i as u8 + 3)),
        };
        cases.push(json!({"kind": "checkpoint", "body": cp.to_note_body().unwrap()}));
        want.push(json!({"origin": origin, "size": size, "root": hex::encode(cp.root)}));
    }
    assert_eq!(run_python(&cases), want);
}
