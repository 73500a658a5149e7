//! Signed exchange messages (requests and responses).

use pishkhan_sign::{
    Expectation, KeyPair, KeyStatus, Keyring, MESSAGE_TYP, MessageClaims, ReplayGuard, body_sha256,
    new_nonce, sign_document, sign_message, verify_message,
};

use crate::common::{NOW, pair};

const SKEW: u32 = 300;
const PATH: &str = "/v1/inquiries/identity?lang=fa";
const BODY: &[u8] = br#"{"national_id":"0012345678"}"#;

struct Parties {
    exchange: KeyPair,
    agency: KeyPair,
    keyring: Keyring,
}

fn parties() -> Parties {
    let exchange = pair(50);
    let agency = pair(51);
    let mut keyring = Keyring::new();
    keyring
        .add(exchange.public(), KeyStatus::Active, Some("exchange"))
        .unwrap();
    keyring
        .add(agency.public(), KeyStatus::Active, Some("agency-1"))
        .unwrap();
    Parties {
        exchange,
        agency,
        keyring,
    }
}

fn request_claims() -> MessageClaims {
    MessageClaims::request("exchange", "agency-1", "POST", PATH, BODY, NOW).unwrap()
}

fn expect_request() -> Expectation<'static> {
    Expectation::request("agency-1", "POST", PATH, BODY)
}

#[test]
fn request_and_response_verify() {
    let p = parties();
    let request = request_claims();
    let token = sign_message(&p.exchange, &request);
    let got = verify_message(&token, &p.keyring, &expect_request(), NOW, SKEW).unwrap();
    assert_eq!(got, request);

    let answer = br#"{"match":true}"#;
    let response = MessageClaims::response(&got, answer, 200, NOW + 1).unwrap();
    assert_eq!(response.sender, "agency-1");
    assert_eq!(response.recipient, "exchange");
    assert_eq!(
        response.request_nonce.as_deref(),
        Some(request.nonce.as_str())
    );
    let token = sign_message(&p.agency, &response);
    let expected = Expectation::response(&request, answer, 200);
    let got = verify_message(&token, &p.keyring, &expected, NOW + 1, SKEW).unwrap();
    assert_eq!(got, response);
}

#[test]
fn claims_serialize_as_documented() {
    let claims = request_claims();
    let value = serde_json::to_value(&claims).unwrap();
    assert_eq!(value["body_sha256"], body_sha256(BODY));
    assert_eq!(value["iat"], NOW);
    assert!(value.get("request_nonce").is_none());
    assert!(value.get("status").is_none());
    let nonce = claims.nonce;
    assert_eq!(nonce.len(), 22);
    assert_ne!(nonce, new_nonce().unwrap());
}

#[test]
fn refusal_table() {
    let p = parties();
    let request = request_claims();
    let good = sign_message(&p.exchange, &request);
    let answer = br#"{"match":true}"#;
    let response = MessageClaims::response(&request, answer, 200, NOW).unwrap();
    let response_token = sign_message(&p.agency, &response);

    let mut impostor = request_claims();
    impostor.sender = "agency-1".to_owned(); // signed with the exchange's key
    let mut unowned_ring = Keyring::new();
    unowned_ring
        .add(p.exchange.public(), KeyStatus::Active, None)
        .unwrap();
    let mut bad_nonce = request_claims();
    bad_nonce.nonce = "abc".to_owned();
    let other_request = request_claims();
    let extra_member = {
        let mut value = serde_json::to_value(&request).unwrap();
        value["priority"] = "high".into();
        sign_document(&p.exchange, MESSAGE_TYP, &value).unwrap()
    };
    let mut tampered = good.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    let tampered = String::from_utf8(tampered).unwrap();

    let exp = expect_request();
    let cases: Vec<(&str, String, Expectation<'_>, &Keyring, i64, &str)> = vec![
        (
            "wrong body",
            good.clone(),
            Expectation { body: b"{}", ..exp },
            &p.keyring,
            NOW,
            "body_mismatch",
        ),
        (
            "wrong path",
            good.clone(),
            Expectation {
                path: "/v1/inquiries/identity",
                ..exp
            },
            &p.keyring,
            NOW,
            "wrong_path",
        ),
        (
            "wrong method",
            good.clone(),
            Expectation {
                method: "GET",
                ..exp
            },
            &p.keyring,
            NOW,
            "wrong_method",
        ),
        (
            "wrong recipient",
            good.clone(),
            Expectation {
                recipient: "agency-2",
                ..exp
            },
            &p.keyring,
            NOW,
            "wrong_recipient",
        ),
        (
            "stale iat",
            good.clone(),
            exp,
            &p.keyring,
            NOW + i64::from(SKEW) + 1,
            "stale_iat",
        ),
        (
            "future iat",
            good.clone(),
            exp,
            &p.keyring,
            NOW - i64::from(SKEW) - 1,
            "future_iat",
        ),
        (
            "sender not key owner",
            sign_message(&p.exchange, &impostor),
            Expectation::request("agency-1", "POST", PATH, BODY),
            &p.keyring,
            NOW,
            "sender_mismatch",
        ),
        (
            "key without owner",
            good.clone(),
            exp,
            &unowned_ring,
            NOW,
            "sender_mismatch",
        ),
        (
            "bad nonce",
            sign_message(&p.exchange, &bad_nonce),
            exp,
            &p.keyring,
            NOW,
            "bad_nonce",
        ),
        (
            "unknown claim",
            extra_member,
            exp,
            &p.keyring,
            NOW,
            "bad_payload",
        ),
        (
            "not a message typ",
            sign_document(&p.exchange, "pishkhan-config+jws", &request).unwrap(),
            exp,
            &p.keyring,
            NOW,
            "wrong_typ",
        ),
        ("tampered", tampered, exp, &p.keyring, NOW, "bad_signature"),
        (
            "response taken as request",
            response_token.clone(),
            Expectation::request("exchange", "POST", PATH, answer),
            &p.keyring,
            NOW,
            "wrong_request_nonce",
        ),
        (
            "response to another request",
            response_token.clone(),
            Expectation::response(&other_request, answer, 200),
            &p.keyring,
            NOW,
            "wrong_request_nonce",
        ),
        (
            "response with other status",
            response_token.clone(),
            Expectation::response(&request, answer, 500),
            &p.keyring,
            NOW,
            "wrong_status",
        ),
        (
            "response with request body",
            response_token,
            Expectation::response(&request, BODY, 200),
            &p.keyring,
            NOW,
            "body_mismatch",
        ),
    ];
    for (name, token, expected, keyring, now, code) in cases {
        match verify_message(&token, keyring, &expected, now, SKEW) {
            Ok(claims) => panic!("{name}: accepted {claims:?}"),
            Err(err) => assert_eq!(err.code(), code, "{name}: {err}"),
        }
    }
    // The skew boundaries themselves are accepted.
    for now in [NOW - i64::from(SKEW), NOW + i64::from(SKEW)] {
        assert!(verify_message(&good, &p.keyring, &exp, now, SKEW).is_ok());
    }
}

#[test]
fn replayed_nonce_and_full_guard_are_refused() {
    let p = parties();
    let guard = ReplayGuard::new(2, SKEW);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let token = sign_message(&p.exchange, &request_claims());
        seen.push(verify_message(&token, &p.keyring, &expect_request(), NOW, SKEW).unwrap());
    }
    guard.check_claims(&seen[0], NOW).unwrap();
    let err = guard.check_claims(&seen[0], NOW).unwrap_err();
    assert_eq!(err.code(), "replayed");
    guard.check_claims(&seen[1], NOW).unwrap();
    let err = guard.check_claims(&seen[2], NOW).unwrap_err();
    assert_eq!(err.code(), "guard_full");
    // Still refusing replays while full.
    assert_eq!(
        guard.check_claims(&seen[1], NOW).unwrap_err().code(),
        "replayed"
    );
}
