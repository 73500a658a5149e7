//! Strict base64url without padding (RFC 7515 section 2 "Base64url Encoding").
//!
//! Decoding refuses padding, the standard alphabet, whitespace and
//! non-canonical trailing bits, so each byte string has exactly one encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}
