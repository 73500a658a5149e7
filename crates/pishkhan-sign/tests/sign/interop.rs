//! Interop: a standard Python JOSE library verifies our tokens with our JWKS.
//!
//! Needs `python3` with `jwcrypto` (or `joserfc`). CI installs it with
//! `python3 -m pip install jwcrypto`; without either library this test
//! fails and says so. `PYTHON` overrides the interpreter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pishkhan_sign::{KeyStatus, Keyring, jws};

use crate::common::{TempDir, pair};

const LIBRARIES: [&str; 2] = ["jwcrypto", "joserfc"];

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sign/verify_jws.py")
}

fn importable(library: &str) -> bool {
    Command::new(python())
        .args(["-c", &format!("import {library}")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; install Python 3", python()))
        .status
        .success()
}

fn run(library: &str, jwks: &Path, token: &str, dir: &Path) -> Output {
    let token_path = dir.join("token.jws");
    std::fs::write(&token_path, token).unwrap();
    Command::new(python())
        .arg(script())
        .arg(jwks)
        .arg(&token_path)
        .env("PISHKHAN_JOSE_LIB", library)
        .output()
        .unwrap()
}

#[test]
fn python_jose_library_verifies_our_tokens_with_our_jwks() {
    let available: Vec<&str> = LIBRARIES.into_iter().filter(|l| importable(l)).collect();
    assert!(
        !available.is_empty(),
        "no Python JOSE library: run `pip install jwcrypto` (CI runs `python3 -m pip install jwcrypto`)"
    );

    let current = pair(60);
    let retired = pair(61);
    let stranger = pair(62);
    let mut keyring = Keyring::new();
    keyring
        .add(current.public(), KeyStatus::Active, None)
        .unwrap();
    keyring
        .add(retired.public(), KeyStatus::Retired, None)
        .unwrap();
    let dir = TempDir::new();
    let jwks_path = dir.path().join("jwks.json");
    std::fs::write(&jwks_path, keyring.to_jwks().to_json_pretty()).unwrap();

    let payload =
        r#"{"receipt":"idv-42","subject":"0012345678","result":"match","iat":1767225600}"#;
    let receipt = jws::sign(&current, Some("pishkhan-receipt+jws"), payload.as_bytes());
    let old_receipt = jws::sign(&retired, None, b"older receipt");
    assert!(jws::verify(&receipt, &keyring).is_ok());

    let mut tampered_payload = receipt.clone().into_bytes();
    let dot = receipt.find('.').unwrap();
    tampered_payload[dot + 5] ^= 0x01;
    let tampered_payload = String::from_utf8(tampered_payload).unwrap();
    let mut tampered_signature = receipt.clone().into_bytes();
    tampered_signature[receipt.len() - 10] ^= 0x01;
    let tampered_signature = String::from_utf8(tampered_signature).unwrap();
    let unknown = jws::sign(&stranger, None, payload.as_bytes());

    for library in available {
        let out = run(library, &jwks_path, &receipt, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{library} refused our token: {stderr}"
        );
        assert_eq!(out.stdout, payload.as_bytes(), "{library}");

        let out = run(library, &jwks_path, &old_receipt, dir.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{library}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout, b"older receipt");

        for (name, token) in [
            ("tampered payload", &tampered_payload),
            ("tampered signature", &tampered_signature),
            ("unknown key", &unknown),
        ] {
            let out = run(library, &jwks_path, token, dir.path());
            assert_eq!(
                out.status.code(),
                Some(1),
                "{library} did not refuse the {name} token: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn script_says_how_to_install_a_library_when_none_is_found() {
    let dir = TempDir::new();
    let out = run("no-such-library", &dir.path().join("x"), "x", dir.path());
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pip install jwcrypto"));
}
