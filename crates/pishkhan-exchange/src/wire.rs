//! The wire format of an inquiry: headers, and exactly what each signature covers.
//!
//! # Request (exchange → agency)
//!
//! `POST {agency base_url}{service path}` with the JSON body and three headers:
//!
//! | header | value |
//! |---|---|
//! | `Pishkhan-Signature` | compact JWS, `typ` `pishkhan-msg+jws`, payload [`MessageClaims`] |
//! | `Pishkhan-Client` | the member id of the office the inquiry is run for (`office:11000001`) |
//! | `Pishkhan-Purpose` | [`Purpose::to_header_value`]: base64url of the purpose JSON |
//!
//! The claims are pishkhan-sign's: `sender` is the signing member (the exchange, which owns the
//! key), `recipient` the agency, `method` `POST`, `path` the service path, `iat`, a fresh 128-bit
//! `nonce`. pishkhan-sign's `MessageClaims` refuses unknown members, so the client and purpose
//! cannot be claims of their own. They are bound through `body_sha256` instead: in an exchange
//! request it is the SHA-256 (base64url) of the **request binding**, not of the bare body:
//!
//! ```text
//! "pishkhan-exchange-request/1\n" || Pishkhan-Client || "\n" || Pishkhan-Purpose || "\n" || body
//! ```
//!
//! with the two header values byte for byte as sent. Neither header value can contain a
//! newline (member ids and base64url have none), and the body comes last, so the binding is
//! unambiguous. Changing the body, the client or the purpose breaks the signature; one JWS
//! verification covers all three. This was chosen over a second detached JWS for the purpose:
//! half the signing work, one header fewer, and still a standard JWS any JOSE library checks.
//!
//! # Response (agency → exchange)
//!
//! Every answer (problems included) carries `Pishkhan-Signature`: a JWS over the pishkhan-sign
//! response claims: `sender` the agency, `recipient` the request's sender, the request's
//! `method` and `path`, `status` the HTTP status, `request_nonce` the request's nonce, and
//! `body_sha256` the SHA-256 of the exact response body bytes. The sender is always the
//! agency. A refusal of a request whose signature did not verify echoes that request's claimed
//! sender, method, path and nonce if they are well-formed (the agency signs only that it
//! refused a request carrying them); otherwise it has no `request_nonce` and recipient `""`,
//! and the exchange refuses it as `bad_agency_signature`.

use pishkhan_sign::{KeyPair, MessageClaims, sign_message};

use crate::directory::MemberId;
use crate::purpose::Purpose;

/// Header carrying the message JWS, on requests and responses.
pub const SIGNATURE_HEADER: &str = "pishkhan-signature";
/// Header naming the client (office) a request is for.
pub const CLIENT_HEADER: &str = "pishkhan-client";
/// Header carrying the purpose.
pub const PURPOSE_HEADER: &str = "pishkhan-purpose";
/// The only method of inquiries.
pub const METHOD: &str = "POST";
/// How far a message's `iat` may be from the verifier's clock, either way, in seconds. The
/// agency's replay guard remembers nonces for this long on each side.
pub const MAX_CLOCK_SKEW_SECS: u32 = 60;

const BINDING_PREFIX: &[u8] = b"pishkhan-exchange-request/1\n";

/// The bytes whose SHA-256 an exchange request's `body_sha256` claim carries (see the module
/// documentation).
pub fn request_binding(client: &str, purpose_header: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        BINDING_PREFIX.len() + client.len() + purpose_header.len() + body.len() + 2,
    );
    out.extend_from_slice(BINDING_PREFIX);
    out.extend_from_slice(client.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(purpose_header.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// A signed request: the three header values and the claims that were signed (kept to verify
/// the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// `Pishkhan-Signature`.
    pub signature: String,
    /// `Pishkhan-Client`.
    pub client: String,
    /// `Pishkhan-Purpose`.
    pub purpose: String,
    pub claims: MessageClaims,
}

/// What a request is about, for [`sign_request`].
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The signing member (owner of `key`).
    pub sender: &'a MemberId,
    /// The agency.
    pub recipient: &'a MemberId,
    /// The service path.
    pub path: &'a str,
    /// The office the inquiry is for.
    pub client: &'a MemberId,
    pub purpose: &'a Purpose,
    /// The exact body bytes sent.
    pub body: &'a [u8],
}

/// Signs a request at `now` (Unix seconds) with a fresh nonce.
pub fn sign_request(
    key: &KeyPair,
    parts: &RequestParts<'_>,
    now: i64,
) -> Result<SignedRequest, getrandom::Error> {
    let purpose = parts.purpose.to_header_value();
    let binding = request_binding(parts.client.as_str(), &purpose, parts.body);
    let claims = MessageClaims::request(
        parts.sender.as_str(),
        parts.recipient.as_str(),
        METHOD,
        parts.path,
        &binding,
        now,
    )?;
    Ok(SignedRequest {
        signature: sign_message(key, &claims),
        client: parts.client.as_str().to_owned(),
        purpose,
        claims,
    })
}
