//! Signed JSON documents, and the regulator's versioned configuration.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::jws::{self, Header, JwsError};
use crate::keyring::{KeyStatus, Keyring};
use crate::keys::KeyPair;

/// `typ` of a signed exchange configuration.
pub const CONFIG_TYP: &str = "pishkhan-config+jws";

/// How far in the future a configuration's `issued_at` may be (clock skew
/// between the regulator and a member), in seconds.
pub const CONFIG_CLOCK_SKEW_SECS: i64 = 300;

/// Why a signed document was refused. [`DocumentError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("document type {found:?}, expected {expected:?}")]
    WrongTyp {
        expected: String,
        found: Option<String>,
    },
    #[error("document payload is not the expected JSON: {0}")]
    BadPayload(String),
    #[error("document cannot be serialized: {0}")]
    Serialize(String),
}

impl DocumentError {
    /// A stable machine-readable code (the JWS code for JWS failures).
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::Jws(e) => e.code(),
            DocumentError::WrongTyp { .. } => "wrong_typ",
            DocumentError::BadPayload(_) => "bad_payload",
            DocumentError::Serialize(_) => "serialize_failed",
        }
    }
}

/// A verified document with what is known about its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDocument<T> {
    pub value: T,
    pub header: Header,
    pub key_status: KeyStatus,
    pub key_owner: Option<String>,
}

/// Signs `value` as JSON in a compact JWS with the given `typ`.
pub fn sign_document<T: Serialize + ?Sized>(
    key: &KeyPair,
    typ: &str,
    value: &T,
) -> Result<String, DocumentError> {
    let payload = serde_json::to_vec(value).map_err(|e| DocumentError::Serialize(e.to_string()))?;
    Ok(jws::sign(key, Some(typ), &payload))
}

/// Verifies a token from [`sign_document`] and parses its JSON payload.
///
/// `typ` is compared as RFC 7515 section 4.1.9 suggests: ASCII
/// case-insensitively, with an `application/` prefix ignored.
pub fn verify_document<T: DeserializeOwned>(
    token: &str,
    keyring: &Keyring,
    expected_typ: &str,
) -> Result<T, DocumentError> {
    verify_document_full(token, keyring, expected_typ).map(|d| d.value)
}

/// [`verify_document`], also returning the header, key status and owner.
pub fn verify_document_full<T: DeserializeOwned>(
    token: &str,
    keyring: &Keyring,
    expected_typ: &str,
) -> Result<VerifiedDocument<T>, DocumentError> {
    let verified = jws::verify(token, keyring)?;
    match verified.header.typ.as_deref() {
        Some(typ) if same_typ(typ, expected_typ) => {}
        found => {
            return Err(DocumentError::WrongTyp {
                expected: expected_typ.to_owned(),
                found: found.map(crate::short),
            });
        }
    }
    let value = serde_json::from_slice(&verified.payload)
        .map_err(|e| DocumentError::BadPayload(e.to_string()))?;
    Ok(VerifiedDocument {
        value,
        header: verified.header,
        key_status: verified.key_status,
        key_owner: verified.key_owner,
    })
}

fn same_typ(a: &str, b: &str) -> bool {
    fn strip(t: &str) -> &str {
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
            _ => t,
        }
    }
    strip(a).eq_ignore_ascii_case(strip(b))
}

/// The payload of a signed exchange configuration (member directory,
/// services, access rights, ...): `{"version","issued_at","expires_at","config"}`.
///
/// `issued_at` and `expires_at` are Unix seconds (JWT `NumericDate`
/// style); the document is valid for `issued_at <= now < expires_at`.
/// Unknown envelope members are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigEnvelope<T> {
    /// Monotonic version; a holder never goes back to a lower one.
    pub version: u64,
    pub issued_at: i64,
    pub expires_at: i64,
    pub config: T,
}

/// Why a configuration was refused. [`ConfigError::code`] is stable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error(
        "configuration validity is empty: issued_at {issued_at} is not before expires_at {expires_at}"
    )]
    InvalidValidity { issued_at: i64, expires_at: i64 },
    #[error("configuration expired at {expires_at} (now {now})")]
    Expired { expires_at: i64, now: i64 },
    #[error("configuration is issued at {issued_at}, in the future (now {now})")]
    NotYetValid { issued_at: i64, now: i64 },
    #[error("configuration version {offered} is older than the held version {held}")]
    Rollback { held: u64, offered: u64 },
}

impl ConfigError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ConfigError::Document(e) => e.code(),
            ConfigError::InvalidValidity { .. } => "invalid_validity",
            ConfigError::Expired { .. } => "expired",
            ConfigError::NotYetValid { .. } => "not_yet_valid",
            ConfigError::Rollback { .. } => "rollback",
        }
    }
}

/// Signs a configuration envelope with typ [`CONFIG_TYP`]. Refuses an
/// envelope whose `issued_at` is not before its `expires_at`.
pub fn sign_config<T: Serialize>(
    key: &KeyPair,
    envelope: &ConfigEnvelope<T>,
) -> Result<String, ConfigError> {
    if envelope.issued_at >= envelope.expires_at {
        return Err(ConfigError::InvalidValidity {
            issued_at: envelope.issued_at,
            expires_at: envelope.expires_at,
        });
    }
    Ok(sign_document(key, CONFIG_TYP, envelope)?)
}

/// Verifies a signed configuration against the regulator's keyring.
///
/// Refuses it when the signature or `typ` is wrong, when
/// `now >= expires_at` (`expired`), when `issued_at` is more than
/// [`CONFIG_CLOCK_SKEW_SECS`] ahead of `now` (`not_yet_valid`), and when
/// its version is lower than `held_version`, the version the caller
/// already holds (`rollback`). The same version is accepted again.
pub fn verify_config<T: DeserializeOwned>(
    token: &str,
    keyring: &Keyring,
    held_version: Option<u64>,
    now: i64,
) -> Result<ConfigEnvelope<T>, ConfigError> {
    let envelope: ConfigEnvelope<T> = verify_document(token, keyring, CONFIG_TYP)?;
    if envelope.issued_at >= envelope.expires_at {
        return Err(ConfigError::InvalidValidity {
            issued_at: envelope.issued_at,
            expires_at: envelope.expires_at,
        });
    }
    if now >= envelope.expires_at {
        return Err(ConfigError::Expired {
            expires_at: envelope.expires_at,
            now,
        });
    }
    if envelope.issued_at > now.saturating_add(CONFIG_CLOCK_SKEW_SECS) {
        return Err(ConfigError::NotYetValid {
            issued_at: envelope.issued_at,
            now,
        });
    }
    if let Some(held) = held_version
        && envelope.version < held
    {
        return Err(ConfigError::Rollback {
            held,
            offered: envelope.version,
        });
    }
    Ok(envelope)
}
