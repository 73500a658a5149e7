//! Signed exchange configuration: expiry and rollback protection.

use pishkhan_sign::{
    CONFIG_CLOCK_SKEW_SECS, CONFIG_TYP, ConfigEnvelope, KeyPair, Keyring, sign_config,
    sign_document, verify_config, verify_document,
};
use serde::{Deserialize, Serialize};

use crate::common::{NOW, pair, ring};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Member {
    id: String,
    name: String,
    jwks: pishkhan_sign::Jwks,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ExchangeConfig {
    members: Vec<Member>,
    services: Vec<String>,
    access: Vec<(String, String)>,
}

const DAY: i64 = 86_400;

fn config() -> ExchangeConfig {
    ExchangeConfig {
        members: vec![Member {
            id: "agency-1".to_owned(),
            name: "سازمان ثبت احوال".to_owned(),
            jwks: pishkhan_sign::Jwks {
                keys: vec![pair(40).public().to_jwk()],
            },
        }],
        services: vec!["identity-inquiry".to_owned()],
        access: vec![("office-7".to_owned(), "identity-inquiry".to_owned())],
    }
}

fn envelope(version: u64, issued_at: i64, expires_at: i64) -> ConfigEnvelope<ExchangeConfig> {
    ConfigEnvelope {
        version,
        issued_at,
        expires_at,
        config: config(),
    }
}

fn regulator() -> (KeyPair, Keyring) {
    let key = pair(41);
    let keyring = ring(&[&key]);
    (key, keyring)
}

#[test]
fn a_current_config_verifies() {
    let (key, keyring) = regulator();
    let sent = envelope(7, NOW - DAY, NOW + DAY);
    let token = sign_config(&key, &sent).unwrap();
    let got = verify_config::<ExchangeConfig>(&token, &keyring, None, NOW).unwrap();
    assert_eq!(got, sent);
}

#[test]
fn expired_is_refused() {
    let (key, keyring) = regulator();
    let token = sign_config(&key, &envelope(7, NOW - 2 * DAY, NOW)).unwrap();
    for now in [NOW, NOW + 1, NOW + 365 * DAY] {
        let err = verify_config::<ExchangeConfig>(&token, &keyring, None, now).unwrap_err();
        assert_eq!(err.code(), "expired", "{err}");
    }
    assert!(verify_config::<ExchangeConfig>(&token, &keyring, None, NOW - 1).is_ok());
}

#[test]
fn rollback_is_refused_same_and_newer_accepted() {
    let (key, keyring) = regulator();
    let v4 = sign_config(&key, &envelope(4, NOW - DAY, NOW + DAY)).unwrap();
    let v5 = sign_config(&key, &envelope(5, NOW - DAY, NOW + DAY)).unwrap();
    let v6 = sign_config(&key, &envelope(6, NOW - DAY, NOW + DAY)).unwrap();
    let err = verify_config::<ExchangeConfig>(&v4, &keyring, Some(5), NOW).unwrap_err();
    assert_eq!(err.code(), "rollback", "{err}");
    assert_eq!(
        verify_config::<ExchangeConfig>(&v5, &keyring, Some(5), NOW)
            .unwrap()
            .version,
        5
    );
    assert_eq!(
        verify_config::<ExchangeConfig>(&v6, &keyring, Some(5), NOW)
            .unwrap()
            .version,
        6
    );
}

#[test]
fn issued_in_the_future_is_refused_beyond_skew() {
    let (key, keyring) = regulator();
    let ok = sign_config(&key, &envelope(1, NOW + CONFIG_CLOCK_SKEW_SECS, NOW + DAY)).unwrap();
    assert!(verify_config::<ExchangeConfig>(&ok, &keyring, None, NOW).is_ok());
    let early = sign_config(
        &key,
        &envelope(1, NOW + CONFIG_CLOCK_SKEW_SECS + 1, NOW + DAY),
    )
    .unwrap();
    let err = verify_config::<ExchangeConfig>(&early, &keyring, None, NOW).unwrap_err();
    assert_eq!(err.code(), "not_yet_valid");
}

#[test]
fn empty_validity_is_refused_when_signing_and_verifying() {
    let (key, keyring) = regulator();
    let err = sign_config(&key, &envelope(1, NOW, NOW)).unwrap_err();
    assert_eq!(err.code(), "invalid_validity");
    // Signed by hand, bypassing sign_config's check.
    let token = sign_document(&key, CONFIG_TYP, &envelope(1, NOW + DAY, NOW - DAY)).unwrap();
    let err = verify_config::<ExchangeConfig>(&token, &keyring, None, NOW).unwrap_err();
    assert_eq!(err.code(), "invalid_validity");
}

#[test]
fn only_the_regulator_key_and_the_config_typ_are_accepted() {
    let (key, keyring) = regulator();
    let member = pair(40);
    let by_member = sign_config(&member, &envelope(9, NOW - DAY, NOW + DAY)).unwrap();
    let err = verify_config::<ExchangeConfig>(&by_member, &keyring, None, NOW).unwrap_err();
    assert_eq!(err.code(), "unknown_key");

    let other_typ =
        sign_document(&key, "pishkhan-msg+jws", &envelope(9, NOW - DAY, NOW + DAY)).unwrap();
    let err = verify_config::<ExchangeConfig>(&other_typ, &keyring, None, NOW).unwrap_err();
    assert_eq!(err.code(), "wrong_typ");

    let untyped = pishkhan_sign::jws::sign(&key, None, b"{}");
    let err = verify_config::<ExchangeConfig>(&untyped, &keyring, None, NOW).unwrap_err();
    assert_eq!(err.code(), "wrong_typ");
}

#[test]
fn unknown_envelope_members_are_refused() {
    let (key, keyring) = regulator();
    let value = serde_json::json!({
        "version": 1, "issued_at": NOW - DAY, "expires_at": NOW + DAY,
        "config": config(), "valid_forever": true,
    });
    let token = sign_document(&key, CONFIG_TYP, &value).unwrap();
    let err = verify_config::<ExchangeConfig>(&token, &keyring, None, NOW).unwrap_err();
    assert_eq!(err.code(), "bad_payload");
}

#[test]
fn documents_compare_typ_like_rfc_7515() {
    let (key, keyring) = regulator();
    let token = sign_document(&key, "application/Pishkhan-Receipt+JWS", &[1, 2, 3]).unwrap();
    let got: Vec<u8> = verify_document(&token, &keyring, "pishkhan-receipt+jws").unwrap();
    assert_eq!(got, vec![1, 2, 3]);
    let err = verify_document::<Vec<u8>>(&token, &keyring, "pishkhan-config+jws").unwrap_err();
    assert_eq!(err.code(), "wrong_typ");
    let err = verify_document::<String>(&token, &keyring, "pishkhan-receipt+jws").unwrap_err();
    assert_eq!(err.code(), "bad_payload");
}
