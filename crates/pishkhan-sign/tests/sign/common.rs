//! Helpers shared by the test modules.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pishkhan_sign::{KeyPair, KeyStatus, Keyring};

/// A fixed time (Unix seconds) used as "now" in tests.
pub const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

/// A deterministic key pair; different `n` give different keys.
pub fn pair(n: u8) -> KeyPair {
    KeyPair::from_secret_bytes(&[n; 32])
}

/// A keyring holding `keys` as active and unowned.
pub fn ring(keys: &[&KeyPair]) -> Keyring {
    let mut ring = Keyring::new();
    for key in keys {
        ring.add(key.public(), KeyStatus::Active, None).unwrap();
    }
    ring
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// A compact JWS with an arbitrary header, signed outside the library's
/// rules (to build tokens the verifier must refuse).
pub fn forge(key: &KeyPair, header_json: &str, payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header_json.as_bytes()), b64(payload));
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature))
}

/// A fresh directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "pishkhan-sign-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
