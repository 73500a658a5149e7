//! Signed exchange messages (pishkhan-sign's `sign_message` / `verify_message` and the replay
//! guard). The first byte picks:
//! 0. claims built from the input, signed by the key of `agency:fuzz`: they verify against
//!    the matching expectation exactly when the sender owns the key and the nonce is 128 bits
//!    of base64url, and give back the same claims; another body is refused; the replay guard
//!    takes the nonce once and refuses it the second time;
//! 1. any payload signed as a message: if it verifies against a fixed expectation, the claims
//!    meet that expectation.
#![no_main]

use libfuzzer_sys::arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use pishkhan_sign::jws;
use pishkhan_sign::{
    Expectation, KeyStatus, Keyring, MESSAGE_TYP, MessageClaims, MessageError, ReplayError,
    ReplayGuard, body_sha256, sign_message, verify_message,
};

const OWNER: &str = "agency:fuzz";
const NOW: i64 = 1_780_000_000;

fn keyring() -> Keyring {
    let mut ring = Keyring::new();
    ring.add(
        pishkhan_fuzz::key().public(),
        KeyStatus::Active,
        Some(OWNER),
    )
    .expect("one key");
    ring
}

fn built_claims(data: &[u8]) -> libfuzzer_sys::arbitrary::Result<()> {
    let mut u = Unstructured::new(data);
    let sender = if bool::arbitrary(&mut u)? {
        OWNER.to_owned()
    } else {
        String::arbitrary(&mut u)?
    };
    let body = Vec::<u8>::arbitrary(&mut u)?;
    let nonce = if bool::arbitrary(&mut u)? {
        // 16 bytes of base64url: the valid shape, with the input choosing the letters.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut n: String = (0..21)
            .map(|_| char::from(alphabet[usize::from(u8::arbitrary(&mut u).unwrap_or(0) % 64)]))
            .collect();
        n.push(char::from(b"AQgw"[usize::from(u8::arbitrary(&mut u)? % 4)]));
        n
    } else {
        String::arbitrary(&mut u)?
    };
    let claims = MessageClaims {
        sender,
        recipient: String::arbitrary(&mut u)?,
        method: String::arbitrary(&mut u)?,
        path: String::arbitrary(&mut u)?,
        body_sha256: body_sha256(&body),
        iat: NOW + i64::from(i8::arbitrary(&mut u)?),
        nonce,
        request_nonce: Option::<String>::arbitrary(&mut u)?,
        status: Option::<u16>::arbitrary(&mut u)?,
    };
    let ring = keyring();
    let token = sign_message(pishkhan_fuzz::key(), &claims);
    if token.len() > jws::MAX_TOKEN_LEN {
        return Ok(());
    }
    let expected = Expectation {
        recipient: &claims.recipient,
        method: &claims.method,
        path: &claims.path,
        body: &body,
        request_nonce: claims.request_nonce.as_deref(),
        status: claims.status,
    };
    let nonce_ok = claims.nonce.len() == 22
        && claims
            .nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && matches!(claims.nonce.as_bytes()[21], b'A' | b'Q' | b'g' | b'w');
    // verify_message checks the sender, then the time, then the rest, then the nonce.
    let sender_ok = claims.sender == OWNER;
    let iat_ok = (NOW - 60..=NOW + 60).contains(&claims.iat);
    match verify_message(&token, &ring, &expected, NOW, 60) {
        Ok(got) => {
            assert!(sender_ok && iat_ok && nonce_ok, "{claims:?} verified");
            assert_eq!(got, claims);
        }
        Err(MessageError::SenderMismatch { .. }) => assert!(!sender_ok),
        Err(MessageError::StaleIat { .. }) => assert!(sender_ok && claims.iat < NOW - 60),
        Err(MessageError::FutureIat { .. }) => assert!(sender_ok && claims.iat > NOW + 60),
        Err(MessageError::BadNonce) => assert!(sender_ok && iat_ok && !nonce_ok),
        Err(e) => panic!("{claims:?} refused: {e}"),
    }
    let mut other = body.clone();
    other.push(0);
    let tampered = Expectation {
        body: &other,
        ..expected
    };
    let refusal = verify_message(&token, &ring, &tampered, NOW, 60);
    assert!(refusal.is_err(), "another body verified");
    if sender_ok && iat_ok {
        assert_eq!(refusal, Err(MessageError::BodyMismatch));
    }
    let guard = ReplayGuard::new(4, 60);
    if guard.check_claims(&claims, NOW).is_ok() {
        assert_eq!(guard.check_claims(&claims, NOW), Err(ReplayError::Replayed));
    }
    Ok(())
}

fn any_payload(payload: &[u8]) {
    let ring = keyring();
    let token = jws::sign(pishkhan_fuzz::key(), Some(MESSAGE_TYP), payload);
    let expected = Expectation::request("agency:sabt", "POST", "/v1/person", b"{}");
    if let Ok(c) = verify_message(&token, &ring, &expected, NOW, 60) {
        assert_eq!(c.sender, OWNER);
        assert_eq!(c.recipient, "agency:sabt");
        assert_eq!((c.method.as_str(), c.path.as_str()), ("POST", "/v1/person"));
        assert_eq!(c.body_sha256, body_sha256(b"{}"));
        assert!((NOW - 60..=NOW + 60).contains(&c.iat));
        assert!(c.request_nonce.is_none() && c.status.is_none());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        let _ = built_claims(rest);
    } else {
        any_payload(rest);
    }
});
