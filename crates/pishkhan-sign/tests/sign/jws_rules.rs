//! Compact JWS strictness: tampering and the refusal table.

use pishkhan_sign::jws::{self, MAX_TOKEN_LEN};
use pishkhan_sign::{KeyStatus, Keyring};

use crate::common::{b64, forge, pair, ring};

#[test]
fn sign_and_verify_round_trip_with_typ() {
    let key = pair(20);
    let token = jws::sign(&key, Some("pishkhan-receipt+jws"), b"{\"ok\":true}");
    let verified = jws::verify(&token, &ring(&[&key])).unwrap();
    assert_eq!(verified.payload, b"{\"ok\":true}");
    assert_eq!(verified.header.alg, "EdDSA");
    assert_eq!(verified.header.kid, key.kid());
    assert_eq!(verified.header.typ.as_deref(), Some("pishkhan-receipt+jws"));
    assert_eq!(verified.key_status, KeyStatus::Active);
}

#[test]
fn flipping_any_single_byte_fails_verification() {
    let key = pair(21);
    let keyring = ring(&[&key]);
    for token in [
        jws::sign(
            &key,
            Some("pishkhan-receipt+jws"),
            b"{\"national_id\":\"0012345678\",\"ok\":true}",
        ),
        jws::sign(&key, None, b""),
    ] {
        assert!(jws::verify(&token, &keyring).is_ok());
        let mut checked = 0;
        for position in 0..token.len() {
            for mask in [0x01u8, 0x20] {
                let mut bytes = token.clone().into_bytes();
                bytes[position] ^= mask;
                let tampered = String::from_utf8(bytes).expect("ASCII stays ASCII");
                let result = jws::verify(&tampered, &keyring);
                assert!(
                    result.is_err(),
                    "byte {position} ^ {mask:#04x} accepted: {tampered}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, token.len() * 2);
    }
}

#[test]
fn refusal_table() {
    let key = pair(22);
    let stranger = pair(23);
    let revoked = pair(24);
    let mut keyring = ring(&[&key]);
    keyring
        .add(revoked.public(), KeyStatus::Active, None)
        .unwrap();
    keyring.revoke(revoked.kid());

    let kid = key.kid();
    let good = jws::sign(&key, None, b"payload");
    let (good_input, good_sig) = good.rsplit_once('.').unwrap();
    let (good_header, good_payload) = good_input.split_once('.').unwrap();
    let hdr = |json: String| forge(&key, &json, b"payload");
    let attacker_jwk = serde_json::to_string(&stranger.public().to_jwk()).unwrap();
    let oversize = jws::sign(&key, None, &vec![b'a'; MAX_TOKEN_LEN]);

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown kid",
            jws::sign(&stranger, None, b"payload"),
            "unknown_key",
        ),
        (
            "revoked kid",
            jws::sign(&revoked, None, b"payload"),
            "revoked_key",
        ),
        (
            "alg none",
            format!(
                "{}.{good_payload}.",
                b64(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes())
            ),
            "unsupported_alg",
        ),
        (
            "alg none, signed",
            hdr(format!(r#"{{"alg":"none","kid":"{kid}"}}"#)),
            "unsupported_alg",
        ),
        (
            "alg HS256",
            hdr(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#)),
            "unsupported_alg",
        ),
        (
            "alg Ed25519",
            hdr(format!(r#"{{"alg":"Ed25519","kid":"{kid}"}}"#)),
            "unsupported_alg",
        ),
        (
            "alg lower case",
            hdr(format!(r#"{{"alg":"eddsa","kid":"{kid}"}}"#)),
            "unsupported_alg",
        ),
        (
            "alg missing",
            hdr(format!(r#"{{"kid":"{kid}"}}"#)),
            "unsupported_alg",
        ),
        (
            "alg not a string",
            hdr(format!(r#"{{"alg":["EdDSA"],"kid":"{kid}"}}"#)),
            "unsupported_alg",
        ),
        (
            "kid missing",
            hdr(r#"{"alg":"EdDSA"}"#.to_owned()),
            "missing_kid",
        ),
        (
            "kid not a string",
            hdr(r#"{"alg":"EdDSA","kid":7}"#.to_owned()),
            "malformed_token",
        ),
        (
            "typ not a string",
            hdr(format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":1}}"#)),
            "malformed_token",
        ),
        (
            "crit",
            hdr(format!(
                r#"{{"alg":"EdDSA","kid":"{kid}","crit":["exp"],"exp":1}}"#
            )),
            "unsupported_header",
        ),
        (
            "empty crit",
            hdr(format!(r#"{{"alg":"EdDSA","kid":"{kid}","crit":[]}}"#)),
            "unsupported_header",
        ),
        (
            "b64 false",
            hdr(format!(
                r#"{{"alg":"EdDSA","kid":"{kid}","b64":false,"crit":["b64"]}}"#
            )),
            "unsupported_header",
        ),
        (
            "b64 false without crit",
            hdr(format!(r#"{{"alg":"EdDSA","kid":"{kid}","b64":false}}"#)),
            "unsupported_header",
        ),
        (
            "jku",
            hdr(format!(
                r#"{{"alg":"EdDSA","kid":"{kid}","jku":"https://evil.example/jwks"}}"#
            )),
            "untrusted_key_header",
        ),
        (
            "x5u",
            hdr(format!(
                r#"{{"alg":"EdDSA","kid":"{kid}","x5u":"https://evil.example/cert"}}"#
            )),
            "untrusted_key_header",
        ),
        (
            "x5c",
            hdr(format!(r#"{{"alg":"EdDSA","kid":"{kid}","x5c":["MIIB"]}}"#)),
            "untrusted_key_header",
        ),
        (
            "embedded jwk",
            forge(
                &stranger,
                &format!(
                    r#"{{"alg":"EdDSA","kid":"{}","jwk":{attacker_jwk}}}"#,
                    stranger.kid()
                ),
                b"payload",
            ),
            "untrusted_key_header",
        ),
        (
            "duplicate kid",
            hdr(format!(
                r#"{{"alg":"EdDSA","kid":"{kid}","kid":"{}"}}"#,
                stranger.kid()
            )),
            "malformed_token",
        ),
        (
            "duplicate alg",
            hdr(format!(r#"{{"alg":"none","alg":"EdDSA","kid":"{kid}"}}"#)),
            "malformed_token",
        ),
        (
            "header is an array",
            hdr("[]".to_owned()),
            "malformed_token",
        ),
        (
            "header is not JSON",
            hdr("alg=EdDSA".to_owned()),
            "malformed_token",
        ),
        (
            "header is not UTF-8",
            format!(
                "{}.{good_payload}.{good_sig}",
                b64(b"{\"alg\":\"EdDSA\",\"kid\":\"\xff\"}")
            ),
            "malformed_token",
        ),
        (
            "padded header",
            format!("{good_header}=.{good_payload}.{good_sig}"),
            "malformed_token",
        ),
        (
            "padded payload",
            format!("{good_header}.{good_payload}=.{good_sig}"),
            "malformed_token",
        ),
        ("padded signature", format!("{good}=="), "malformed_token"),
        (
            "standard alphabet",
            format!(
                "{good_header}.{good_payload}.{}",
                good_sig.replace('-', "+").replace('_', "/")
            ),
            "malformed_token",
        ),
        ("space", format!(" {good}"), "malformed_token"),
        ("newline", format!("{good}\n"), "malformed_token"),
        ("extra part", format!("{good}.e30"), "malformed_token"),
        ("trailing dot", format!("{good}."), "malformed_token"),
        ("two parts", good_input.to_owned(), "malformed_token"),
        (
            "JWE shape",
            format!("{good_header}.a.b.c.d"),
            "malformed_token",
        ),
        ("empty", String::new(), "malformed_token"),
        (
            "short signature",
            format!("{good_input}.{}", b64(&[0u8; 63])),
            "malformed_token",
        ),
        (
            "zero signature",
            format!("{good_input}.{}", b64(&[0u8; 64])),
            "bad_signature",
        ),
        (
            "other key's signature",
            format!(
                "{good_input}.{}",
                b64(&stranger.sign(good_input.as_bytes()))
            ),
            "bad_signature",
        ),
        ("oversize", oversize, "too_large"),
        (
            "oversize garbage",
            "x".repeat(MAX_TOKEN_LEN + 1),
            "too_large",
        ),
    ];
    assert!(
        good_sig.contains('-') || good_sig.contains('_'),
        "the standard-alphabet case needs a '-' or '_' to replace"
    );
    for (name, token, code) in &cases {
        match jws::verify(token, &keyring) {
            Ok(v) => panic!("{name}: accepted {:?}", v.header),
            Err(err) => assert_eq!(err.code(), *code, "{name}: {err}"),
        }
    }
    assert!(jws::verify(&good, &keyring).is_ok());
}

#[test]
fn size_limit_is_exact() {
    let key = pair(25);
    let keyring = ring(&[&key]);
    // Find a payload length giving a token of exactly MAX_TOKEN_LEN bytes.
    let base = jws::sign(&key, None, b"").len();
    let mut at_limit = None;
    for extra_typ in 0..4 {
        let typ = "t".repeat(extra_typ + 1);
        let header_len = jws::sign(&key, Some(&typ), b"").len();
        let budget = MAX_TOKEN_LEN - header_len;
        let n = budget * 3 / 4;
        let token = jws::sign(&key, Some(&typ), &vec![b'p'; n]);
        if token.len() == MAX_TOKEN_LEN {
            at_limit = Some((typ, n));
            break;
        }
    }
    let (typ, n) = at_limit.expect("some typ length hits the limit exactly");
    assert!(base < MAX_TOKEN_LEN);
    let token = jws::sign(&key, Some(&typ), &vec![b'p'; n]);
    assert_eq!(token.len(), MAX_TOKEN_LEN);
    assert!(jws::verify(&token, &keyring).is_ok());
    let token = jws::sign(&key, Some(&typ), &vec![b'p'; n + 1]);
    assert!(token.len() > MAX_TOKEN_LEN);
    assert_eq!(
        jws::verify(&token, &keyring).unwrap_err().code(),
        "too_large"
    );
}

#[test]
fn sign_with_raw_header_refuses_what_verify_would() {
    let key = pair(26);
    for (header, code) in [
        (r#"{"alg":"HS256"}"#, "unsupported_alg"),
        (r#"{"alg":"EdDSA","crit":["x"]}"#, "unsupported_header"),
        (
            r#"{"alg":"EdDSA","jku":"https://x"}"#,
            "untrusted_key_header",
        ),
        ("not json", "malformed_token"),
    ] {
        let err = jws::sign_with_raw_header(&key, header, b"p").unwrap_err();
        assert_eq!(err.code(), code, "{header}");
    }
}

#[test]
fn empty_keyring_knows_no_key() {
    let key = pair(27);
    let token = jws::sign(&key, None, b"p");
    assert_eq!(
        jws::verify(&token, &Keyring::new()).unwrap_err().code(),
        "unknown_key"
    );
}
