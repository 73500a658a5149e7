//! Compact JWS, JWKS and private JWKs (pishkhan-sign). The first byte picks:
//! 0. a header and payload (split at the first NUL), signed with `sign_with_raw_header` under
//!    the fixed key: verification then succeeds exactly when the header names that key's kid
//!    and its `typ`/`cty` are strings, and gives back the header and payload;
//! 1. a token: if it verifies, it is the one token the key makes for its header and payload
//!    (strict base64url and deterministic Ed25519 leave no other encoding);
//! 2. a JWKS: a keyring built from it writes back a JWKS that parses to the same keyring;
//!    also tried as a private JWK, whose key must sign what its public half verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_sign::jws::{self, JwsError};
use pishkhan_sign::{Jwks, KeyPair, KeyStatus, Keyring};
use serde_json::Value;

fn keyring() -> (&'static KeyPair, Keyring) {
    let key = pishkhan_fuzz::key();
    let mut ring = Keyring::new();
    ring.add(key.public(), KeyStatus::Active, Some("agency:fuzz"))
        .expect("one key");
    (key, ring)
}

fn sign_then_verify(data: &[u8]) {
    let split = data.iter().position(|b| *b == 0).unwrap_or(data.len());
    let Ok(header) = std::str::from_utf8(&data[..split]) else {
        return;
    };
    let payload = data.get(split + 1..).unwrap_or_default();
    let (key, ring) = keyring();
    let Ok(token) = jws::sign_with_raw_header(key, header, payload) else {
        return;
    };
    let parsed: serde_json::Map<String, Value> =
        serde_json::from_str(header).expect("a header sign accepted is a JSON object");
    let names_key = parsed.get("kid") == Some(&Value::String(pishkhan_fuzz::KID.into()));
    let strings = ["typ", "cty"]
        .iter()
        .all(|m| matches!(parsed.get(*m), None | Some(Value::String(_))));
    match jws::verify(&token, &ring) {
        Ok(v) => {
            assert!(names_key && strings, "verified {header:?}");
            assert_eq!(v.payload, payload);
            assert_eq!(v.header.kid, pishkhan_fuzz::KID);
            assert_eq!(
                v.header.typ.as_ref().map(|s| Value::String(s.clone())),
                parsed.get("typ").cloned()
            );
            assert_eq!(v.key_owner.as_deref(), Some("agency:fuzz"));
        }
        Err(JwsError::TooLarge { .. }) => assert!(token.len() > jws::MAX_TOKEN_LEN),
        Err(e) => assert!(!(names_key && strings), "{header:?} refused: {e}"),
    }
}

fn verify_token(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (key, ring) = keyring();
    let Ok(v) = jws::verify(token, &ring) else {
        return;
    };
    let (header_b64, _) = token.split_once('.').expect("three parts");
    let header = base64_decode(header_b64);
    let header = std::str::from_utf8(&header).expect("a verified header is JSON text");
    let again = jws::sign_with_raw_header(key, header, &v.payload).expect("it verified");
    assert_eq!(again, token, "one encoding per header and payload");
}

/// Decodes base64url without padding, independently of pishkhan-sign.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => panic!("not base64url: {c:?}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let n = chunk.iter().fold(0u32, |acc, c| (acc << 6) | value(*c)) << (6 * (4 - chunk.len()));
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn keys(data: &[u8]) {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(jwks) = Jwks::from_json(json)
        && let Ok(ring) = Keyring::from_jwks(&jwks)
    {
        let written = ring.to_jwks();
        let again = Jwks::from_json(&written.to_json_pretty()).expect("a written JWKS parses");
        assert_eq!(again, written);
        let ring2 = Keyring::from_jwks(&again).expect("a written JWKS loads");
        assert_eq!(ring2.len(), ring.len());
        for e in ring.entries() {
            let kid = e.key.kid();
            assert_eq!(ring2.get(kid).map(|e| e.key.clone()), Some(e.key.clone()));
        }
    }
    if let Ok(pair) = KeyPair::from_private_jwk(json) {
        let sig = pair.sign(json.as_bytes());
        assert!(pair.public().verify(json.as_bytes(), &sig));
        assert_eq!(pair.kid(), pair.public().kid());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => sign_then_verify(rest),
        1 => verify_token(rest),
        _ => keys(rest),
    }
});
