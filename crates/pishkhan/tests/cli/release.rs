//! `pishkhan release verify`: anyone can re-run a published allocation offline, and a changed
//! input, a wrong seed or a wrong commitment is caught.

use std::time::Duration;

use serde_json::Value;

use crate::support::{pishkhan, run_cmd};

/// A file name, a change to the published bundle, and the mismatch `verify` must report.
type Tamper = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);

#[test]
fn a_published_release_verifies_and_any_tampering_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("release.json");
    let mut cmd = pishkhan(dir.path());
    cmd.args([
        "release",
        "synthetic",
        "--requests",
        "3000",
        "--offices",
        "20",
        "--slots-per-office",
        "100",
    ])
    .arg(&file);
    let made = run_cmd(cmd, Duration::from_secs(60)).ok();
    let commitment = made
        .stdout
        .split_whitespace()
        .last()
        .expect("the commitment is printed")
        .to_string();

    let verify = |path: &std::path::Path, extra: &[&str]| {
        let mut cmd = pishkhan(dir.path());
        cmd.args(["release", "verify"]).arg(path).args(extra);
        run_cmd(cmd, Duration::from_secs(60))
    };
    verify(&file, &[])
        .ok()
        .stdout_has(&["verified release", "winners", "waitlisted"]);
    verify(&file, &["--commitment", &commitment]).ok();
    verify(&file, &["--commitment", &"0".repeat(64)])
        .failed()
        .stderr_has(&["commitment"]);

    let original: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let tampered = |name: &str, change: &dyn Fn(&mut Value)| {
        let mut b = original.clone();
        change(&mut b);
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_string(&b).unwrap()).unwrap();
        path
    };
    let cases: Vec<Tamper> = vec![
        (
            "one-request.json",
            Box::new(|b: &mut Value| {
                b["requests"][7]["preferences"] =
                    serde_json::json!([b["spec"]["offices"][3]["office"].clone()])
            }),
            "inputs digest",
        ),
        (
            "slots.json",
            Box::new(|b: &mut Value| b["spec"]["offices"][0]["slots"] = serde_json::json!(99)),
            "inputs digest",
        ),
        (
            "allocation.json",
            Box::new(|b: &mut Value| {
                b["publication"]["allocation_digest_hex"] = serde_json::json!("0".repeat(64))
            }),
            "allocation digest",
        ),
    ];
    for (name, change, what) in cases {
        let path = tampered(name, change.as_ref());
        verify(&path, &[])
            .failed()
            .stderr_has(&["verification failed", what]);
    }
}
