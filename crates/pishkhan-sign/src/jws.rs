//! Strict compact JWS (RFC 7515) with `alg` `EdDSA` over Ed25519 (RFC 8037).
//!
//! [`sign`] writes the protected header `{"alg":"EdDSA","kid":…,"typ"?:…}`.
//! [`verify`] accepts only tokens that any standard JOSE library would
//! accept *and* that meet this profile:
//!
//! * at most [`MAX_TOKEN_LEN`] bytes, exactly three `.`-separated parts,
//!   each base64url without padding (canonical, no whitespace);
//! * the header is a JSON object without duplicate members;
//! * `alg` is `"EdDSA"`; `kid` is a string naming a key of the keyring that
//!   is not revoked (the key is never taken from the token: `jku`, `jwk`,
//!   `x5u` and `x5c` are refused);
//! * no `crit` and no `b64` (RFC 7797 unencoded payloads are refused);
//! * `typ` and `cty`, when present, are strings;
//! * the signature is 64 bytes and verifies strictly.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::b64;
use crate::keyring::{KeyStatus, Keyring};
use crate::keys::{ALG, KeyPair};

/// Largest token [`verify`] looks at, in bytes (64 KiB).
pub const MAX_TOKEN_LEN: usize = 64 * 1024;

/// Header members that would let a token choose its own verification key.
const KEY_BEARING_HEADERS: [&str; 4] = ["jku", "jwk", "x5u", "x5c"];

/// Why a token was refused. [`JwsError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    #[error("token is {len} bytes, more than the {max} allowed")]
    TooLarge { len: usize, max: usize },
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("unsupported JWS algorithm {0:?}: only \"EdDSA\" is accepted")]
    UnsupportedAlg(String),
    #[error("JWS header has no \"kid\"")]
    MissingKid,
    #[error("unknown key {0:?}")]
    UnknownKey(String),
    #[error("key {0:?} is revoked")]
    RevokedKey(String),
    #[error("unsupported JWS header member {0:?}")]
    UnsupportedHeader(String),
    #[error("JWS header member {0:?} would take the key from the token; refused")]
    UntrustedKeyHeader(String),
    #[error("signature does not verify")]
    BadSignature,
}

impl JwsError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            JwsError::TooLarge { .. } => "too_large",
            JwsError::Malformed(_) => "malformed_token",
            JwsError::UnsupportedAlg(_) => "unsupported_alg",
            JwsError::MissingKid => "missing_kid",
            JwsError::UnknownKey(_) => "unknown_key",
            JwsError::RevokedKey(_) => "revoked_key",
            JwsError::UnsupportedHeader(_) => "unsupported_header",
            JwsError::UntrustedKeyHeader(_) => "untrusted_key_header",
            JwsError::BadSignature => "bad_signature",
        }
    }
}

/// The protected header of a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Always `"EdDSA"`.
    pub alg: String,
    pub kid: String,
    pub typ: Option<String>,
    pub cty: Option<String>,
}

/// A verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub header: Header,
    pub payload: Vec<u8>,
    /// `Active` or `Retired` (revoked keys never verify).
    pub key_status: KeyStatus,
    /// The keyring owner of the signing key, if bound.
    pub key_owner: Option<String>,
}

#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// Signs `payload` as a compact JWS with header
/// `{"alg":"EdDSA","kid":"<key.kid()>"}` plus `"typ"` when given.
pub fn sign(key: &KeyPair, typ: Option<&str>, payload: &[u8]) -> String {
    let header = OutHeader {
        alg: ALG,
        kid: key.kid(),
        typ,
    };
    let header = serde_json::to_vec(&header).expect("a JWS header always serializes");
    assemble(key, &header, payload)
}

/// Signs with an exact protected header, byte for byte (for test vectors
/// and interop). The header must be a JSON object with `alg` `"EdDSA"` and
/// none of `crit`, `b64`, `jku`, `jwk`, `x5u`, `x5c`. It need not have a
/// `kid`, but [`verify`] refuses tokens without one.
pub fn sign_with_raw_header(
    key: &KeyPair,
    header_json: &str,
    payload: &[u8],
) -> Result<String, JwsError> {
    let header = parse_header_object(header_json.as_bytes())?;
    check_alg_and_members(&header)?;
    Ok(assemble(key, header_json.as_bytes(), payload))
}

fn assemble(key: &KeyPair, header: &[u8], payload: &[u8]) -> String {
    let mut token = b64::encode(header);
    token.push('.');
    token.push_str(&b64::encode(payload));
    let signature = key.sign(token.as_bytes());
    token.push('.');
    token.push_str(&b64::encode(&signature));
    token
}

/// Verifies a compact JWS against the keyring (see the module docs for
/// every rule). Never takes a key from the token.
pub fn verify(token: &str, keyring: &Keyring) -> Result<Verified, JwsError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwsError::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed(
            "expected exactly three dot-separated parts",
        ));
    };

    let header_bytes = b64::decode(header_b64).ok_or(JwsError::Malformed(
        "header is not base64url without padding",
    ))?;
    let header = parse_header_object(&header_bytes)?;
    check_alg_and_members(&header)?;
    let kid = match header.get("kid") {
        None => return Err(JwsError::MissingKid),
        Some(Value::String(kid)) => kid.clone(),
        Some(_) => return Err(JwsError::Malformed("header \"kid\" is not a string")),
    };
    let typ = optional_string(&header, "typ")?;
    let cty = optional_string(&header, "cty")?;

    if keyring.is_revoked(&kid) {
        return Err(JwsError::RevokedKey(crate::short(&kid)));
    }
    let entry = keyring.verifying_entry(&kid).ok_or_else(|| {
        if keyring.get(&kid).is_some() {
            JwsError::RevokedKey(crate::short(&kid))
        } else {
            JwsError::UnknownKey(crate::short(&kid))
        }
    })?;

    let payload = b64::decode(payload_b64).ok_or(JwsError::Malformed(
        "payload is not base64url without padding",
    ))?;
    let signature = b64::decode(signature_b64).ok_or(JwsError::Malformed(
        "signature is not base64url without padding",
    ))?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| JwsError::Malformed("signature is not 64 bytes"))?;
    let signing_input_len = header_b64.len() + 1 + payload_b64.len();
    if !entry
        .key
        .verify(&token.as_bytes()[..signing_input_len], &signature)
    {
        return Err(JwsError::BadSignature);
    }

    Ok(Verified {
        header: Header {
            alg: ALG.to_owned(),
            kid,
            typ,
            cty,
        },
        payload,
        key_status: entry.status,
        key_owner: entry.owner.clone(),
    })
}

fn optional_string(
    header: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<String>, JwsError> {
    match header.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) if name == "typ" => Err(JwsError::Malformed("header \"typ\" is not a string")),
        Some(_) => Err(JwsError::Malformed("header \"cty\" is not a string")),
    }
}

fn check_alg_and_members(header: &Map<String, Value>) -> Result<(), JwsError> {
    match header.get("alg") {
        Some(Value::String(alg)) if alg == ALG => {}
        Some(Value::String(alg)) => return Err(JwsError::UnsupportedAlg(crate::short(alg))),
        Some(other) => return Err(JwsError::UnsupportedAlg(crate::short(&other.to_string()))),
        None => return Err(JwsError::UnsupportedAlg("(none given)".to_owned())),
    }
    for name in ["crit", "b64"] {
        if header.contains_key(name) {
            return Err(JwsError::UnsupportedHeader(name.to_owned()));
        }
    }
    for name in KEY_BEARING_HEADERS {
        if header.contains_key(name) {
            return Err(JwsError::UntrustedKeyHeader(name.to_owned()));
        }
    }
    Ok(())
}

fn parse_header_object(bytes: &[u8]) -> Result<Map<String, Value>, JwsError> {
    serde_json::from_slice::<StrictObject>(bytes)
        .map(|o| o.0)
        .map_err(|_| JwsError::Malformed("header is not a JSON object with unique member names"))
}

/// A JSON object whose top-level member names are unique (RFC 7515
/// section 4: a duplicate header member name makes the JWS invalid here).
struct StrictObject(Map<String, Value>);

impl<'de> Deserialize<'de> for StrictObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(StrictObjectVisitor)
    }
}

struct StrictObjectVisitor;

impl<'de> Visitor<'de> for StrictObjectVisitor {
    type Value = StrictObject;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object with unique member names")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<StrictObject, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            if map.contains_key(&name) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            let value: Value = access.next_value()?;
            map.insert(name, value);
        }
        Ok(StrictObject(map))
    }
}
