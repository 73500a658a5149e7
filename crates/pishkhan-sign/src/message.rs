//! Signatures over exchange HTTP requests and responses.
//!
//! The signature travels beside the HTTP body (for example in a header) as
//! a compact JWS with typ [`MESSAGE_TYP`] whose payload is the JSON
//! [`MessageClaims`]; the body itself is bound by its SHA-256.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::b64;
use crate::document::{DocumentError, sign_document, verify_document_full};
use crate::keyring::Keyring;
use crate::keys::KeyPair;

/// `typ` of a signed exchange message.
pub const MESSAGE_TYP: &str = "pishkhan-msg+jws";

/// Bytes of randomness in a nonce (128 bits).
const NONCE_BYTES: usize = 16;

/// What a message signature asserts.
///
/// In a response, `sender`/`recipient` are swapped relative to the
/// request, `method`/`path` repeat the request's, `request_nonce` is the
/// request's `nonce` and `status` the HTTP status. Unknown members are
/// refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageClaims {
    /// Member id of the signer; must own the signing key in the keyring.
    pub sender: String,
    /// Member id of the intended receiver.
    pub recipient: String,
    /// HTTP method, compared exactly (`"POST"`).
    pub method: String,
    /// Request target (path and query) exactly as sent.
    pub path: String,
    /// SHA-256 of the exact body bytes, base64url without padding.
    pub body_sha256: String,
    /// Signing time, Unix seconds.
    pub iat: i64,
    /// 128 random bits, base64url without padding (22 characters).
    pub nonce: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl MessageClaims {
    /// Claims for a request, with a fresh nonce and the body's hash.
    pub fn request(
        sender: &str,
        recipient: &str,
        method: &str,
        path: &str,
        body: &[u8],
        now: i64,
    ) -> Result<MessageClaims, getrandom::Error> {
        Ok(MessageClaims {
            sender: sender.to_owned(),
            recipient: recipient.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            body_sha256: body_sha256(body),
            iat: now,
            nonce: new_nonce()?,
            request_nonce: None,
            status: None,
        })
    }

    /// Claims for the response to `request` (claims that were verified).
    pub fn response(
        request: &MessageClaims,
        body: &[u8],
        status: u16,
        now: i64,
    ) -> Result<MessageClaims, getrandom::Error> {
        Ok(MessageClaims {
            sender: request.recipient.clone(),
            recipient: request.sender.clone(),
            method: request.method.clone(),
            path: request.path.clone(),
            body_sha256: body_sha256(body),
            iat: now,
            nonce: new_nonce()?,
            request_nonce: Some(request.nonce.clone()),
            status: Some(status),
        })
    }
}

/// SHA-256 of `body`, base64url without padding.
pub fn body_sha256(body: &[u8]) -> String {
    b64::encode(&Sha256::digest(body))
}

/// A fresh 128-bit nonce from the operating system, base64url.
pub fn new_nonce() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(b64::encode(&bytes))
}

fn is_valid_nonce(nonce: &str) -> bool {
    b64::decode(nonce).is_some_and(|b| b.len() == NONCE_BYTES)
}

/// Signs message claims (typ [`MESSAGE_TYP`]).
pub fn sign_message(key: &KeyPair, claims: &MessageClaims) -> String {
    sign_document(key, MESSAGE_TYP, claims).expect("message claims always serialize")
}

/// What the receiver knows about the message it got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expectation<'a> {
    /// The receiver's own member id.
    pub recipient: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    /// The exact body bytes received.
    pub body: &'a [u8],
    /// For a response: the nonce of the request it answers. For a request:
    /// `None`, and a message carrying `request_nonce` is refused.
    pub request_nonce: Option<&'a str>,
    /// For a response: the HTTP status received. For a request: `None`.
    pub status: Option<u16>,
}

impl<'a> Expectation<'a> {
    /// Expectation of the receiver `recipient` for an incoming request.
    pub fn request(recipient: &'a str, method: &'a str, path: &'a str, body: &'a [u8]) -> Self {
        Expectation {
            recipient,
            method,
            path,
            body,
            request_nonce: None,
            status: None,
        }
    }

    /// Expectation for the response to `request`, the claims we signed.
    pub fn response(request: &'a MessageClaims, body: &'a [u8], status: u16) -> Self {
        Expectation {
            recipient: &request.sender,
            method: &request.method,
            path: &request.path,
            body,
            request_nonce: Some(&request.nonce),
            status: Some(status),
        }
    }
}

/// Why a message was refused. [`MessageError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("message sender {sender:?} does not own the signing key (owner {owner:?})")]
    SenderMismatch {
        sender: String,
        owner: Option<String>,
    },
    #[error("message iat {iat} is too old (now {now})")]
    StaleIat { iat: i64, now: i64 },
    #[error("message iat {iat} is in the future (now {now})")]
    FutureIat { iat: i64, now: i64 },
    #[error("message is for {found:?}, not {expected:?}")]
    WrongRecipient { expected: String, found: String },
    #[error("message signs method {found:?}, not {expected:?}")]
    WrongMethod { expected: String, found: String },
    #[error("message signs path {found:?}, not {expected:?}")]
    WrongPath { expected: String, found: String },
    #[error("message answers request nonce {found:?}, expected {expected:?}")]
    WrongRequestNonce {
        expected: Option<String>,
        found: Option<String>,
    },
    #[error("message signs status {found:?}, expected {expected:?}")]
    WrongStatus {
        expected: Option<u16>,
        found: Option<u16>,
    },
    #[error("body does not match the signed body_sha256")]
    BodyMismatch,
    #[error("message nonce is not 128 bits in base64url")]
    BadNonce,
}

impl MessageError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            MessageError::Document(e) => e.code(),
            MessageError::SenderMismatch { .. } => "sender_mismatch",
            MessageError::StaleIat { .. } => "stale_iat",
            MessageError::FutureIat { .. } => "future_iat",
            MessageError::WrongRecipient { .. } => "wrong_recipient",
            MessageError::WrongMethod { .. } => "wrong_method",
            MessageError::WrongPath { .. } => "wrong_path",
            MessageError::WrongRequestNonce { .. } => "wrong_request_nonce",
            MessageError::WrongStatus { .. } => "wrong_status",
            MessageError::BodyMismatch => "body_mismatch",
            MessageError::BadNonce => "bad_nonce",
        }
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(crate::short)
}

/// Verifies a message signature: the JWS and its typ, that the signing
/// key is owned in `keyring` by the claimed `sender`, that `iat` is within
/// `max_skew_secs` of `now` either way, and that recipient, method, path,
/// request nonce, status and body hash match `expected`.
///
/// Replays are *not* checked here: pass the claims to
/// [`crate::ReplayGuard::check_claims`] afterwards, with a window at least
/// `max_skew_secs`.
pub fn verify_message(
    token: &str,
    keyring: &Keyring,
    expected: &Expectation<'_>,
    now: i64,
    max_skew_secs: u32,
) -> Result<MessageClaims, MessageError> {
    let verified = verify_document_full::<MessageClaims>(token, keyring, MESSAGE_TYP)?;
    let claims = verified.value;
    if verified.key_owner.as_deref() != Some(claims.sender.as_str()) {
        return Err(MessageError::SenderMismatch {
            sender: crate::short(&claims.sender),
            owner: verified.key_owner,
        });
    }
    let skew = i64::from(max_skew_secs);
    if claims.iat < now.saturating_sub(skew) {
        return Err(MessageError::StaleIat {
            iat: claims.iat,
            now,
        });
    }
    if claims.iat > now.saturating_add(skew) {
        return Err(MessageError::FutureIat {
            iat: claims.iat,
            now,
        });
    }
    if claims.recipient != expected.recipient {
        return Err(MessageError::WrongRecipient {
            expected: expected.recipient.to_owned(),
            found: crate::short(&claims.recipient),
        });
    }
    if claims.method != expected.method {
        return Err(MessageError::WrongMethod {
            expected: expected.method.to_owned(),
            found: crate::short(&claims.method),
        });
    }
    if claims.path != expected.path {
        return Err(MessageError::WrongPath {
            expected: expected.path.to_owned(),
            found: crate::short(&claims.path),
        });
    }
    if claims.request_nonce.as_deref() != expected.request_nonce {
        return Err(MessageError::WrongRequestNonce {
            expected: owned(expected.request_nonce),
            found: owned(claims.request_nonce.as_deref()),
        });
    }
    if claims.status != expected.status {
        return Err(MessageError::WrongStatus {
            expected: expected.status,
            found: claims.status,
        });
    }
    if claims.body_sha256 != body_sha256(expected.body) {
        return Err(MessageError::BodyMismatch);
    }
    if !is_valid_nonce(&claims.nonce) {
        return Err(MessageError::BadNonce);
    }
    Ok(claims)
}
