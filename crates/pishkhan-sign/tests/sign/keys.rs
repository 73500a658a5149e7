//! Key pairs, key files and JWKs.

use pishkhan_sign::{Jwk, Jwks, KeyPair, PublicKey};
use serde_json::{Value, json};

use crate::common::{TempDir, b64, pair};

/// The RFC 8037 A.1 key, used where a known secret is needed.
const D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

fn known() -> KeyPair {
    KeyPair::from_private_jwk(&json!({"kty":"OKP","crv":"Ed25519","d":D,"x":X}).to_string())
        .unwrap()
}

#[test]
fn debug_never_shows_secret_material() {
    let key = known();
    let secret = crate::common::unb64(D);
    let shown = format!("{key:?} {key:#?}");
    assert!(shown.contains(key.kid()), "{shown}");
    assert!(!shown.contains(D), "{shown}");
    let as_array = format!("{}, {}, {}", secret[0], secret[1], secret[2]);
    assert!(!shown.contains(&as_array), "{shown}");
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(&hex[..8]), "{shown}");
    assert!(!shown.to_lowercase().contains("secret"), "{shown}");
}

#[test]
fn generate_gives_distinct_working_keys() {
    let a = KeyPair::generate().unwrap();
    let b = KeyPair::generate().unwrap();
    assert_ne!(a.kid(), b.kid());
    assert_eq!(a.kid().len(), 43);
    assert!(a.created().is_some());
    let signature = a.sign(b"hello");
    assert!(a.public().verify(b"hello", &signature));
    assert!(!b.public().verify(b"hello", &signature));
    assert!(!a.public().verify(b"hellO", &signature));
}

#[test]
fn key_file_round_trips_with_mode_0600() {
    let dir = TempDir::new();
    let path = dir.path().join("agency.key.json");
    let key = KeyPair::generate().unwrap();
    key.write_file(&path).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["kty"], "OKP");
    assert_eq!(value["crv"], "Ed25519");
    assert_eq!(value["kid"], key.kid());
    assert_eq!(value["x"], b64(&key.public().to_bytes()));
    assert_eq!(crate::common::unb64(value["d"].as_str().unwrap()).len(), 32);
    assert_eq!(value["created"], json!(key.created().unwrap()));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }

    let back = KeyPair::read_file(&path).unwrap();
    assert_eq!(back.public(), key.public());
    assert_eq!(back.created(), key.created());
    assert_eq!(back.sign(b"m"), key.sign(b"m"));
}

#[test]
fn write_file_refuses_to_overwrite() {
    let dir = TempDir::new();
    let path = dir.path().join("k.json");
    let first = pair(1);
    first.write_file(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = pair(2).write_file(&path).unwrap_err();
    assert_eq!(err.code(), "already_exists");
    assert!(err.to_string().contains("k.json"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(KeyPair::read_file(&path).unwrap().kid(), first.kid());
}

#[test]
fn read_file_errors_are_clear() {
    let other_x = b64(&pair(9).public().to_bytes());
    let short_d = b64(&[7u8; 31]);
    let cases: Vec<(&str, String, &str)> = vec![
        ("not json", "{\"kty\":".to_owned(), "bad_json"),
        ("array", "[]".to_owned(), "bad_json"),
        (
            "wrong kty",
            json!({"kty":"EC","crv":"Ed25519","d":D,"x":X}).to_string(),
            "wrong_kty",
        ),
        (
            "wrong crv",
            json!({"kty":"OKP","crv":"X25519","d":D,"x":X}).to_string(),
            "wrong_crv",
        ),
        (
            "missing d",
            json!({"kty":"OKP","crv":"Ed25519","x":X}).to_string(),
            "missing_member",
        ),
        (
            "missing x",
            json!({"kty":"OKP","crv":"Ed25519","d":D}).to_string(),
            "missing_member",
        ),
        (
            "x not d's",
            json!({"kty":"OKP","crv":"Ed25519","d":D,"x":other_x}).to_string(),
            "key_mismatch",
        ),
        (
            "short d",
            json!({"kty":"OKP","crv":"Ed25519","d":short_d,"x":X}).to_string(),
            "wrong_length",
        ),
        (
            "padded d",
            json!({"kty":"OKP","crv":"Ed25519","d":format!("{D}="),"x":X}).to_string(),
            "bad_encoding",
        ),
        (
            "std alphabet",
            json!({"kty":"OKP","crv":"Ed25519","d":D.replace('_', "/"),"x":X}).to_string(),
            "bad_encoding",
        ),
        (
            "wrong kid",
            json!({"kty":"OKP","crv":"Ed25519","d":D,"x":X,"kid":"abc"}).to_string(),
            "kid_mismatch",
        ),
    ];
    let dir = TempDir::new();
    for (i, (name, text, code)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("case{i}.json"));
        std::fs::write(&path, text).unwrap();
        let err = KeyPair::read_file(&path).unwrap_err();
        assert_eq!(err.code(), *code, "{name}: {err}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("case{i}.json")),
            "{name}: {message}"
        );
        assert!(!message.contains(D), "{name} leaks d: {message}");
    }
    let err = KeyPair::read_file(dir.path().join("absent.json")).unwrap_err();
    assert_eq!(err.code(), "io");
    assert!(err.to_string().contains("absent.json"), "{err}");
}

#[test]
fn public_jwk_has_the_standard_members() {
    let key = pair(3);
    let value = serde_json::to_value(key.public().to_jwk()).unwrap();
    assert_eq!(
        value,
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64(&key.public().to_bytes()),
            "kid": key.kid(),
            "alg": "EdDSA",
            "use": "sig",
        })
    );
    let back: Jwk = serde_json::from_value(value).unwrap();
    assert_eq!(PublicKey::from_jwk(&back).unwrap(), key.public());
}

#[test]
fn public_jwk_refusals() {
    let key = pair(4);
    let x = b64(&key.public().to_bytes());
    let mut identity = [0u8; 32];
    identity[0] = 1; // the identity point: small order
    let cases = [
        (
            "private d present",
            json!({"kty":"OKP","crv":"Ed25519","x":x,"d":D}),
            "private_material",
        ),
        (
            "alg HS256",
            json!({"kty":"OKP","crv":"Ed25519","x":x,"alg":"HS256"}),
            "wrong_alg",
        ),
        (
            "use enc",
            json!({"kty":"OKP","crv":"Ed25519","x":x,"use":"enc"}),
            "wrong_use",
        ),
        (
            "kid not thumbprint",
            json!({"kty":"OKP","crv":"Ed25519","x":x,"kid":"agency-1"}),
            "kid_mismatch",
        ),
        (
            "kty RSA",
            json!({"kty":"RSA","crv":"Ed25519","x":x}),
            "wrong_kty",
        ),
        (
            "crv Ed448",
            json!({"kty":"OKP","crv":"Ed448","x":x}),
            "wrong_crv",
        ),
        (
            "x 33 bytes",
            json!({"kty":"OKP","crv":"Ed25519","x":b64(&[1u8; 33])}),
            "wrong_length",
        ),
        (
            "x padded",
            json!({"kty":"OKP","crv":"Ed25519","x":format!("{x}=")}),
            "bad_encoding",
        ),
        (
            "weak key",
            json!({"kty":"OKP","crv":"Ed25519","x":b64(&identity)}),
            "weak_key",
        ),
    ];
    for (name, value, code) in cases {
        let jwk: Jwk = serde_json::from_value(value).unwrap();
        let err = PublicKey::from_jwk(&jwk).unwrap_err();
        assert_eq!(err.code(), code, "{name}: {err}");
    }
}

#[test]
fn jwks_json_round_trips() {
    let jwks = Jwks {
        keys: vec![pair(5).public().to_jwk(), pair(6).public().to_jwk()],
    };
    let text = jwks.to_json_pretty();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["keys"].as_array().unwrap().len(), 2);
    assert_eq!(Jwks::from_json(&text).unwrap(), jwks);
    assert_eq!(
        Jwks::from_json("{\"keys\":7}").unwrap_err().code(),
        "bad_json"
    );
}
