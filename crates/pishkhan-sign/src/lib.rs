//! Signing primitives for Pishkhan's inquiry exchange.
//!
//! * [`KeyPair`] / [`PublicKey`]: Ed25519 keys identified by their RFC 7638
//!   JWK thumbprint (`kid`), stored on disk as a private JWK (RFC 8037).
//! * [`Jwks`] / [`Keyring`]: published key sets and the verifier's view of
//!   them (active, retired-but-verifiable and revoked keys, key owners).
//! * [`jws`]: strict compact JWS (RFC 7515) with `alg` `EdDSA` (RFC 8037),
//!   verifiable by any standard JOSE library using our JWKS.
//! * [`sign_document`] / [`verify_document`] and [`ConfigEnvelope`] /
//!   [`verify_config`]: signed JSON documents, such as the regulator's
//!   versioned exchange configuration, with expiry and rollback protection.
//! * [`MessageClaims`] / [`sign_message`] / [`verify_message`] and
//!   [`ReplayGuard`]: detached signatures over exchange HTTP requests and
//!   responses with timestamp, nonce and replay rejection.
//!
//! Every error type has a stable machine-readable `code()`.
//!
//! All times in this crate are Unix seconds (`i64`, like the JWT
//! `NumericDate`); [`unix_now`] gives the current one.

#![forbid(unsafe_code)]

mod b64;
mod document;
pub mod jws;
mod keyring;
mod keys;
mod message;
mod replay;

pub use document::{
    CONFIG_CLOCK_SKEW_SECS, CONFIG_TYP, ConfigEnvelope, ConfigError, DocumentError,
    VerifiedDocument, sign_config, sign_document, verify_config, verify_document,
    verify_document_full,
};
pub use keyring::{KeyEntry, KeyStatus, Keyring};
pub use keys::{Jwk, Jwks, KeyError, KeyPair, PublicKey};
pub use message::{
    Expectation, MESSAGE_TYP, MessageClaims, MessageError, body_sha256, new_nonce, sign_message,
    verify_message,
};
pub use replay::{MAX_REPLAY_NONCE_LEN, MAX_REPLAY_SENDER_LEN, ReplayError, ReplayGuard};

/// The current time in Unix seconds (0 if the system clock is before 1970).
pub fn unix_now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Shortens an untrusted string for inclusion in an error message.
pub(crate) fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
