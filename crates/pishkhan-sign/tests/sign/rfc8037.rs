//! RFC 8037 Appendix A test vectors (Ed25519 in JOSE).
//!
//! Source: RFC 8037, "CFRG Elliptic Curve Diffie-Hellman (ECDH) and
//! Signatures in JSON Object Signing and Encryption (JOSE)", Appendix A.1
//! (private key), A.2 (public key), A.3 (JWK thumbprint), A.4 (Ed25519
//! signing), A.5 (Ed25519 validation):
//! <https://www.rfc-editor.org/rfc/rfc8037#appendix-A>.
//! The values below were taken from published copies of those appendices
//! as quoted in independent JOSE test suites (for example
//! `tests/test_jwk/test_okp.py::test_rfc8037_ed25519` in guillp/jwskate),
//! which agree with each other; none were computed with this crate.

use pishkhan_sign::jws;
use pishkhan_sign::{Jwk, KeyPair, PublicKey};

use crate::common::{ring, unb64};

/// RFC 8037 A.1: the private key (the RFC 8032 section 7.1 TEST 1 key).
const A1_PRIVATE_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519",
   "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// A.1: the same private key in hex.
const A1_D_HEX: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// RFC 8037 A.2: the public key.
const A2_PUBLIC_JWK: &str = r#"{"kty":"OKP","crv":"Ed25519",
   "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// A.2: the same public key in hex.
const A2_X_HEX: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
/// RFC 8037 A.3: the RFC 7638 thumbprint of the A.2 key.
const A3_THUMBPRINT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/// RFC 8037 A.4: protected header, payload and compact serialization.
const A4_HEADER: &str = r#"{"alg":"EdDSA"}"#;
const A4_PAYLOAD: &[u8] = b"Example of Ed25519 signing";
const A4_COMPACT: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn a1_key() -> KeyPair {
    KeyPair::from_private_jwk(A1_PRIVATE_JWK).unwrap()
}

#[test]
fn a1_private_key_parses_and_matches_its_hex_form() {
    let key = a1_key();
    let from_hex = KeyPair::from_secret_bytes(&hex(A1_D_HEX).try_into().unwrap());
    assert_eq!(key.public(), from_hex.public());
    assert_eq!(key.public().to_bytes().to_vec(), hex(A2_X_HEX));
}

#[test]
fn a2_public_key_parses() {
    let jwk: Jwk = serde_json::from_str(A2_PUBLIC_JWK).unwrap();
    let public = PublicKey::from_jwk(&jwk).unwrap();
    assert_eq!(public.to_bytes().to_vec(), hex(A2_X_HEX));
    assert_eq!(public, a1_key().public());
}

#[test]
fn a3_thumbprint_is_the_kid() {
    let jwk: Jwk = serde_json::from_str(A2_PUBLIC_JWK).unwrap();
    assert_eq!(PublicKey::from_jwk(&jwk).unwrap().kid(), A3_THUMBPRINT);
    assert_eq!(a1_key().kid(), A3_THUMBPRINT);
    assert_eq!(
        a1_key().public().to_jwk().kid.as_deref(),
        Some(A3_THUMBPRINT)
    );
}

#[test]
fn a4_signing_reproduces_the_compact_serialization_byte_for_byte() {
    let token = jws::sign_with_raw_header(&a1_key(), A4_HEADER, A4_PAYLOAD).unwrap();
    assert_eq!(token, A4_COMPACT);
}

#[test]
fn a4_raw_signature_is_the_rfc_one() {
    let (input, signature) = A4_COMPACT.rsplit_once('.').unwrap();
    assert_eq!(a1_key().sign(input.as_bytes()).to_vec(), unb64(signature));
}

#[test]
fn a5_signature_validates_with_the_public_key() {
    let (input, signature) = A4_COMPACT.rsplit_once('.').unwrap();
    let signature: [u8; 64] = unb64(signature).try_into().unwrap();
    let public = a1_key().public();
    assert!(public.verify(input.as_bytes(), &signature));
    assert!(!public.verify(b"Example of Ed25519 signinG", &signature));
}

#[test]
fn the_kidless_a4_token_is_refused_by_verify() {
    let keyring = ring(&[&a1_key()]);
    let err = jws::verify(A4_COMPACT, &keyring).unwrap_err();
    assert_eq!(err.code(), "missing_kid");
}

#[test]
fn our_own_header_with_the_a1_key_verifies() {
    let key = a1_key();
    let token = jws::sign(&key, None, A4_PAYLOAD);
    let header = token.split('.').next().unwrap();
    assert_eq!(
        unb64(header),
        format!(r#"{{"alg":"EdDSA","kid":"{A3_THUMBPRINT}"}}"#).into_bytes()
    );
    let verified = jws::verify(&token, &ring(&[&key])).unwrap();
    assert_eq!(verified.payload, A4_PAYLOAD);
    assert_eq!(verified.header.kid, A3_THUMBPRINT);
    assert_eq!(verified.header.typ, None);
}
