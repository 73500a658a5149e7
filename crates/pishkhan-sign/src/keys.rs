//! Ed25519 key pairs, public keys, JWKs (RFC 7517 / RFC 8037) and key files.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize as _, Zeroizing};

use crate::b64;

/// Key type of every key this crate handles (RFC 8037 section 2).
pub(crate) const KTY: &str = "OKP";
/// Curve of every key this crate handles (RFC 8037 section 2).
pub(crate) const CRV: &str = "Ed25519";
/// JWS algorithm (RFC 8037 section 3.1).
pub(crate) const ALG: &str = "EdDSA";

/// Largest key file `KeyPair::read_file` accepts, in bytes.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Errors about keys, JWKs, key sets and key files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("cannot access key file {path}: {source}", path = path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `KeyPair::write_file` never overwrites an existing file.
    #[error("key file {path} already exists; refusing to overwrite it", path = path.display())]
    AlreadyExists { path: PathBuf },
    /// A key file could not be parsed; `source` says why.
    #[error("key file {path}: {source}", path = path.display())]
    InFile {
        path: PathBuf,
        #[source]
        source: Box<KeyError>,
    },
    /// The file is larger than any key file.
    #[error("key file is too large ({0} bytes)")]
    FileTooLarge(u64),
    /// Not valid JSON, or not the expected JSON shape.
    #[error("not a valid JWK / JWKS JSON document: {0}")]
    BadJson(String),
    /// A required JWK member is absent.
    #[error("JWK member \"{0}\" is missing")]
    MissingMember(&'static str),
    /// `kty` is not `OKP`.
    #[error("unsupported JWK key type {0:?}: expected \"OKP\"")]
    WrongKty(String),
    /// `crv` is not `Ed25519`.
    #[error("unsupported JWK curve {0:?}: expected \"Ed25519\"")]
    WrongCrv(String),
    /// A key member is not base64url without padding.
    #[error("JWK member \"{0}\" is not base64url without padding")]
    BadEncoding(&'static str),
    /// A key member does not decode to 32 bytes.
    #[error("JWK member \"{member}\" decodes to {actual} bytes, expected 32")]
    WrongLength { member: &'static str, actual: usize },
    /// The public key `x` is not the one derived from the private key `d`.
    #[error("JWK public key \"x\" does not match private key \"d\"")]
    KeyMismatch,
    /// The `kid` is not the RFC 7638 thumbprint of the key.
    #[error("JWK \"kid\" {found:?} is not the key's RFC 7638 thumbprint {expected:?}")]
    KidMismatch { found: String, expected: String },
    /// `x` is not a point on the curve.
    #[error("JWK \"x\" is not a valid Ed25519 public key")]
    InvalidPoint,
    /// `x` is a small-order point: signatures by it prove nothing.
    #[error("JWK \"x\" is a weak (small-order) Ed25519 public key")]
    WeakKey,
    /// `alg` is present and not `EdDSA`.
    #[error("JWK \"alg\" {0:?}: expected \"EdDSA\"")]
    WrongAlg(String),
    /// `use` is present and not `sig`.
    #[error("JWK \"use\" {0:?}: expected \"sig\"")]
    WrongUse(String),
    /// A public JWK (for example in a JWKS) carries the private key `d`.
    #[error("public JWK contains private key material \"d\"; it must not be published")]
    PrivateMaterial,
    /// The key is already registered to another member (or to none).
    #[error("key {kid} is already registered to {existing}")]
    OwnerConflict { kid: String, existing: String },
    /// The key is revoked and cannot be made verifiable again.
    #[error("key {0} is revoked")]
    Revoked(String),
    /// The key is not in the keyring.
    #[error("key {0} is not in the keyring")]
    NotFound(String),
    /// The operating system's random number generator failed.
    #[error("operating system random number generator failed: {0}")]
    Random(getrandom::Error),
}

impl KeyError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::Io { .. } => "io",
            KeyError::AlreadyExists { .. } => "already_exists",
            KeyError::InFile { source, .. } => source.code(),
            KeyError::FileTooLarge(_) => "file_too_large",
            KeyError::BadJson(_) => "bad_json",
            KeyError::MissingMember(_) => "missing_member",
            KeyError::WrongKty(_) => "wrong_kty",
            KeyError::WrongCrv(_) => "wrong_crv",
            KeyError::BadEncoding(_) => "bad_encoding",
            KeyError::WrongLength { .. } => "wrong_length",
            KeyError::KeyMismatch => "key_mismatch",
            KeyError::KidMismatch { .. } => "kid_mismatch",
            KeyError::InvalidPoint => "invalid_point",
            KeyError::WeakKey => "weak_key",
            KeyError::WrongAlg(_) => "wrong_alg",
            KeyError::WrongUse(_) => "wrong_use",
            KeyError::PrivateMaterial => "private_material",
            KeyError::OwnerConflict { .. } => "owner_conflict",
            KeyError::Revoked(_) => "revoked_key",
            KeyError::NotFound(_) => "unknown_key",
            KeyError::Random(_) => "random_failure",
        }
    }

    fn in_file(self, path: &Path) -> KeyError {
        KeyError::InFile {
            path: path.to_owned(),
            source: Box::new(self),
        }
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over
/// `{"crv":"Ed25519","kty":"OKP","x":"<x>"}`, base64url without padding.
fn thumbprint(x: &[u8; 32]) -> String {
    let canonical = format!(
        r#"{{"crv":"{CRV}","kty":"{KTY}","x":"{}"}}"#,
        b64::encode(x)
    );
    b64::encode(&Sha256::digest(canonical.as_bytes()))
}

fn decode_32(member: &'static str, text: &str) -> Result<[u8; 32], KeyError> {
    let bytes = Zeroizing::new(b64::decode(text).ok_or(KeyError::BadEncoding(member))?);
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::WrongLength {
        member,
        actual: bytes.len(),
    })
}

fn check_kty_crv(kty: &str, crv: &str) -> Result<(), KeyError> {
    if kty != KTY {
        return Err(KeyError::WrongKty(crate::short(kty)));
    }
    if crv != CRV {
        return Err(KeyError::WrongCrv(crate::short(crv)));
    }
    Ok(())
}

fn check_kid(kid: Option<&str>, expected: &str) -> Result<(), KeyError> {
    match kid {
        Some(found) if found != expected => Err(KeyError::KidMismatch {
            found: crate::short(found),
            expected: expected.to_owned(),
        }),
        _ => Ok(()),
    }
}

/// An Ed25519 public key with its `kid` (RFC 7638 thumbprint).
#[derive(Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    kid: String,
}

impl PublicKey {
    /// Parses a raw 32-byte Ed25519 public key; refuses invalid and weak
    /// (small-order) points.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::WeakKey);
        }
        Ok(PublicKey {
            key,
            kid: thumbprint(bytes),
        })
    }

    /// The raw 32-byte public key (the JWK `x`).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The RFC 7638 JWK thumbprint, used as `kid` everywhere.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK: `{"kty":"OKP","crv":"Ed25519","x","kid","alg":"EdDSA","use":"sig"}`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: KTY.to_owned(),
            crv: CRV.to_owned(),
            x: b64::encode(self.key.as_bytes()),
            kid: Some(self.kid.clone()),
            alg: Some(ALG.to_owned()),
            use_: Some("sig".to_owned()),
            has_private_part: false,
        }
    }

    /// Parses a public JWK. `kty` must be `OKP`, `crv` `Ed25519`; `kid`,
    /// `alg` and `use` are optional but, when present, must be the key's
    /// thumbprint, `EdDSA` and `sig`. A JWK carrying `d` is refused.
    pub fn from_jwk(jwk: &Jwk) -> Result<PublicKey, KeyError> {
        check_kty_crv(&jwk.kty, &jwk.crv)?;
        if jwk.has_private_part {
            return Err(KeyError::PrivateMaterial);
        }
        if let Some(alg) = jwk.alg.as_deref().filter(|a| *a != ALG) {
            return Err(KeyError::WrongAlg(crate::short(alg)));
        }
        if let Some(use_) = jwk.use_.as_deref().filter(|u| *u != "sig") {
            return Err(KeyError::WrongUse(crate::short(use_)));
        }
        let key = PublicKey::from_bytes(&decode_32("x", &jwk.x)?)?;
        check_kid(jwk.kid.as_deref(), &key.kid)?;
        Ok(key)
    }

    /// Strict Ed25519 verification (RFC 8032 with the small-order and
    /// non-canonical checks of `verify_strict`).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.key
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.key.as_bytes() == other.key.as_bytes()
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("x", &b64::encode(self.key.as_bytes()))
            .finish()
    }
}

/// An Ed25519 signing key pair. Its `Debug` shows only the `kid`; the
/// secret is wiped from memory when the pair is dropped.
pub struct KeyPair {
    signing: SigningKey,
    public: PublicKey,
    created: Option<i64>,
}

impl KeyPair {
    /// A fresh key from the operating system's random number generator,
    /// with `created` set to now.
    pub fn generate() -> Result<KeyPair, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(KeyError::Random)?;
        let mut pair = KeyPair::from_secret_bytes(&seed);
        pair.created = Some(crate::unix_now());
        Ok(pair)
    }

    /// The key pair of a 32-byte Ed25519 private key (the JWK `d`, the
    /// RFC 8032 seed). For test vectors and importing existing keys.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> KeyPair {
        let signing = SigningKey::from_bytes(secret);
        let bytes = signing.verifying_key().to_bytes();
        let public = PublicKey {
            key: signing.verifying_key(),
            kid: thumbprint(&bytes),
        };
        KeyPair {
            signing,
            public,
            created: None,
        }
    }

    /// The RFC 7638 JWK thumbprint of the public key.
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public.clone()
    }

    /// When the key was generated (Unix seconds), if known.
    pub fn created(&self) -> Option<i64> {
        self.created
    }

    /// A deterministic Ed25519 signature (RFC 8032) over `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// Parses a private JWK: `{"kty":"OKP","crv":"Ed25519","x","d","kid"?,"created"?}`.
    ///
    /// `x` must be the public key of `d`, and `kid`, when present, its
    /// thumbprint. Error messages never include key material.
    pub fn from_private_jwk(json: &str) -> Result<KeyPair, KeyError> {
        let parsed: PrivateJwkIn = serde_json::from_str(json).map_err(|e| {
            // serde's own messages may quote input, which may be secret.
            KeyError::BadJson(format!(
                "{:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        let kty = parsed
            .kty
            .as_deref()
            .ok_or(KeyError::MissingMember("kty"))?;
        let crv = parsed
            .crv
            .as_deref()
            .ok_or(KeyError::MissingMember("crv"))?;
        check_kty_crv(kty, crv)?;
        let d = parsed.d.as_deref().ok_or(KeyError::MissingMember("d"))?;
        let x = parsed.x.as_deref().ok_or(KeyError::MissingMember("x"))?;
        let secret = Zeroizing::new(decode_32("d", d)?);
        let x = decode_32("x", x)?;
        let mut pair = KeyPair::from_secret_bytes(&secret);
        if pair.public.to_bytes() != x {
            return Err(KeyError::KeyMismatch);
        }
        check_kid(parsed.kid.as_deref(), pair.kid())?;
        pair.created = parsed.created;
        Ok(pair)
    }

    /// Reads a private key file written by [`KeyPair::write_file`].
    pub fn read_file(path: impl AsRef<Path>) -> Result<KeyPair, KeyError> {
        let path = path.as_ref();
        let io = |source| KeyError::Io {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut text = Zeroizing::new(String::with_capacity(1024));
        file.take(MAX_KEY_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(KeyError::FileTooLarge(text.len() as u64).in_file(path));
        }
        KeyPair::from_private_jwk(&text).map_err(|e| e.in_file(path))
    }

    /// Writes the private JWK to a new file, created with mode 0600 on
    /// Unix. Refuses to overwrite an existing file.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<(), KeyError> {
        let path = path.as_ref();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::AlreadyExists {
                    path: path.to_owned(),
                }
            } else {
                KeyError::Io {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let d = Zeroizing::new(b64::encode(self.signing.as_bytes()));
        let x = b64::encode(self.public.key.as_bytes());
        let out = PrivateJwkOut {
            kty: KTY,
            crv: CRV,
            x: &x,
            d: &d,
            kid: self.kid(),
            created: self.created,
        };
        let mut text = Zeroizing::new(Vec::with_capacity(1024));
        serde_json::to_writer_pretty(&mut *text, &out).expect("a private JWK always serializes");
        text.push(b'\n');
        let written = file.write_all(&text).and_then(|()| file.sync_all());
        if let Err(source) = written {
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(KeyError::Io {
                path: path.to_owned(),
                source,
            });
        }
        Ok(())
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.public.kid)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct PrivateJwkIn {
    kty: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    d: Option<SecretString>,
    kid: Option<String>,
    created: Option<i64>,
}

/// A string wiped from memory on drop.
struct SecretString(String);

impl std::ops::Deref for SecretString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString)
    }
}

#[derive(Serialize)]
struct PrivateJwkOut<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
    d: &'a str,
    kid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<i64>,
}

/// A public JSON Web Key (RFC 7517) for an Ed25519 key (RFC 8037).
///
/// Parsing accepts unknown members (ignored) but remembers a private `d`
/// so that [`PublicKey::from_jwk`] can refuse a leaked private key.
/// Build one with [`PublicKey::to_jwk`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(
        rename = "d",
        default,
        skip_serializing,
        deserialize_with = "member_present"
    )]
    has_private_part: bool,
}

fn member_present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// A JSON Web Key Set (RFC 7517 section 5): `{"keys":[...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses JWKS JSON. Keys are checked when added to a [`crate::Keyring`].
    pub fn from_json(json: &str) -> Result<Jwks, KeyError> {
        serde_json::from_str(json).map_err(|e| KeyError::BadJson(e.to_string()))
    }

    /// Pretty-printed JWKS JSON.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a JWKS always serializes")
    }
}
