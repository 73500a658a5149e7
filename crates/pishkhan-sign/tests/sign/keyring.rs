//! Keyring: statuses, rotation, revocation, owners.

use pishkhan_sign::jws;
use pishkhan_sign::{Jwks, KeyStatus, Keyring};

use crate::common::pair;

#[test]
fn rotation_with_two_active_keys_then_retire_then_revoke() {
    let old = pair(10);
    let new = pair(11);
    let mut ring = Keyring::new();
    ring.add(old.public(), KeyStatus::Active, None).unwrap();
    ring.add(new.public(), KeyStatus::Active, None).unwrap();
    assert_eq!(ring.active().count(), 2);

    let old_token = jws::sign(&old, None, b"signed before rotation");
    let new_token = jws::sign(&new, None, b"signed after rotation");
    assert_eq!(
        jws::verify(&old_token, &ring).unwrap().key_status,
        KeyStatus::Active
    );
    assert!(jws::verify(&new_token, &ring).is_ok());

    ring.retire(old.kid()).unwrap();
    let verified = jws::verify(&old_token, &ring).unwrap();
    assert_eq!(verified.key_status, KeyStatus::Retired);
    assert_eq!(ring.active().count(), 1);
    assert_eq!(ring.to_jwks().keys.len(), 2, "retired keys stay published");

    ring.revoke(old.kid());
    assert_eq!(
        jws::verify(&old_token, &ring).unwrap_err().code(),
        "revoked_key"
    );
    assert!(jws::verify(&new_token, &ring).is_ok());
    assert_eq!(ring.status(old.kid()), Some(KeyStatus::Revoked));
    let published = ring.to_jwks();
    assert_eq!(published.keys.len(), 1);
    assert_eq!(published.keys[0].kid.as_deref(), Some(new.kid()));
}

#[test]
fn revocation_is_sticky() {
    let key = pair(12);
    let token = jws::sign(&key, None, b"x");
    let mut ring = Keyring::new();
    ring.revoke(key.kid()); // revoked before the key was ever seen
    assert_eq!(
        jws::verify(&token, &ring).unwrap_err().code(),
        "revoked_key"
    );
    assert_eq!(ring.status(key.kid()), Some(KeyStatus::Revoked));
    assert_eq!(
        ring.add(key.public(), KeyStatus::Active, None).unwrap(),
        KeyStatus::Revoked
    );
    assert_eq!(
        jws::verify(&token, &ring).unwrap_err().code(),
        "revoked_key"
    );
    assert_eq!(ring.activate(key.kid()).unwrap_err().code(), "revoked_key");
    let jwks = Jwks {
        keys: vec![key.public().to_jwk()],
    };
    ring.add_jwks(&jwks, KeyStatus::Active, None).unwrap();
    assert_eq!(
        jws::verify(&token, &ring).unwrap_err().code(),
        "revoked_key"
    );
}

#[test]
fn adding_as_revoked_refuses_at_once() {
    let key = pair(13);
    let mut ring = Keyring::new();
    ring.add(key.public(), KeyStatus::Revoked, None).unwrap();
    let token = jws::sign(&key, None, b"x");
    assert_eq!(
        jws::verify(&token, &ring).unwrap_err().code(),
        "revoked_key"
    );
}

#[test]
fn owners_are_recorded_and_conflicts_refused() {
    let key = pair(14);
    let mut ring = Keyring::new();
    ring.add(key.public(), KeyStatus::Active, Some("agency-1"))
        .unwrap();
    let token = jws::sign(&key, None, b"x");
    assert_eq!(
        jws::verify(&token, &ring).unwrap().key_owner.as_deref(),
        Some("agency-1")
    );
    let err = ring
        .add(key.public(), KeyStatus::Active, Some("agency-2"))
        .unwrap_err();
    assert_eq!(err.code(), "owner_conflict");
    let err = ring.add(key.public(), KeyStatus::Active, None).unwrap_err();
    assert_eq!(err.code(), "owner_conflict");
    assert_eq!(
        ring.get(key.kid()).unwrap().owner.as_deref(),
        Some("agency-1")
    );
}

#[test]
fn add_jwks_is_all_or_nothing() {
    let good = pair(15).public().to_jwk();
    let mut bad = pair(16).public().to_jwk();
    bad.alg = Some("RS256".to_owned());
    let mut ring = Keyring::new();
    let err = ring
        .add_jwks(
            &Jwks {
                keys: vec![good.clone(), bad],
            },
            KeyStatus::Active,
            None,
        )
        .unwrap_err();
    assert_eq!(err.code(), "wrong_alg");
    assert!(ring.is_empty());
    let ring = Keyring::from_jwks(&Jwks { keys: vec![good] }).unwrap();
    assert_eq!(ring.len(), 1);
}

#[test]
fn unknown_kids_have_no_status() {
    let ring = Keyring::new();
    assert_eq!(ring.status("nope"), None);
    assert!(ring.get("nope").is_none());
    let mut ring = ring;
    assert_eq!(ring.retire("nope").unwrap_err().code(), "unknown_key");
}
