//! The directory: the exchange configuration the regulator signs and publishes.
//!
//! It lists the members (agencies, offices that are listed individually, exchanges) with
//! their public keys, the inquiry services each agency answers with their request and
//! response schemas, the access rights (who may ask what, for which catalogue services, and
//! which answer fields they may receive), and the exchange-wide limits.
//!
//! The wire form is a [`ConfigEnvelope`]`<`[`DirectoryConfig`]`>` signed with
//! [`pishkhan_sign::sign_config`] by the regulator's key; members verify it with the
//! regulator's keyring as the trust anchor ([`Directory::verify`]), refusing expired,
//! not-yet-valid and rolled-back versions. Every level of the configuration refuses unknown
//! members: a member that cannot understand a restriction must not silently ignore it.
//!
//! # Offices
//!
//! A signed token is at most [`pishkhan_sign::jws::MAX_TOKEN_LEN`] (64 KiB), so the directory
//! cannot list all 17,000 offices. An office that is *not* listed is vouched for by the exchange
//! that signs on its behalf (the central server knows which offices are active). An office
//! that *is* listed is bound by its listing: a `suspended` listing is refused at the agency even
//! if an exchange vouches for it, and a listed office may be given rights of its own
//! ([`ClientSelector::Member`]), which take precedence over rights for all offices.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, RwLock};

use pishkhan_domain::model::ServiceCode;
use pishkhan_sign::{
    ConfigEnvelope, ConfigError, Jwk, KeyPair, KeyStatus, Keyring, PublicKey, sign_config,
    verify_config,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::Schema;

/// Longest code part of a member id (after the `kind:` prefix).
pub const MAX_MEMBER_CODE_LEN: usize = 64;
/// Longest inquiry service id.
pub const MAX_SERVICE_ID_LEN: usize = 64;
/// Most members, services or rights a directory may hold.
pub const MAX_DIRECTORY_ITEMS: usize = 1024;
/// Most keys one member may publish (current, next and a few retired ones).
pub const MAX_KEYS_PER_MEMBER: usize = 8;
/// Most attributes one right may allow.
pub const MAX_RIGHT_LIST: usize = 256;
/// Most catalogue services one right may list: the whole catalogue (550 today) with room.
pub const MAX_REQUIRED_BY: usize = 2_048;
/// Longest name, description, path or URL, in characters.
pub const MAX_TEXT_CHARS: usize = 512;
/// Longest agency timeout a directory may set, in milliseconds.
pub const MAX_AGENCY_TIMEOUT_MS: u64 = 60_000;
/// Most retries a directory may allow per inquiry.
pub const MAX_RETRIES_LIMIT: u32 = 5;
/// Longest circuit cool-down a directory may set, in milliseconds.
pub const MAX_CIRCUIT_COOLDOWN_MS: u64 = 600_000;
/// Most consecutive failures a directory may tolerate before a circuit opens.
pub const MAX_CIRCUIT_FAILURES: u32 = 1000;

// ---------------------------------------------------------------------------------------------
// Identifiers

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberKind {
    /// Answers inquiries (civil registry, post, ...).
    Agency,
    /// A government service counter; asks inquiries through an exchange.
    Office,
    /// Runs inquiries on behalf of offices (the central Pishkhan server).
    Exchange,
}

impl MemberKind {
    /// The id prefix: `agency`, `office` or `exchange`.
    pub fn prefix(self) -> &'static str {
        match self {
            MemberKind::Agency => "agency",
            MemberKind::Office => "office",
            MemberKind::Exchange => "exchange",
        }
    }

    fn from_prefix(s: &str) -> Option<MemberKind> {
        match s {
            "agency" => Some(MemberKind::Agency),
            "office" => Some(MemberKind::Office),
            "exchange" => Some(MemberKind::Exchange),
            _ => None,
        }
    }
}

/// A member id: `kind:code`, such as `agency:sabt`, `office:11000001`, `exchange:central`.
/// The code is 1..=64 of `a-z 0-9 . _ -`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberId(String);

/// An identifier failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is malformed: {reason}")]
pub struct IdError {
    pub what: &'static str,
    pub value: String,
    pub reason: &'static str,
}

/// The conversions every parsed string id has: from a `String` through `parse` (serde's
/// `try_from`), back into one (serde's `into`), and `Display` as itself.
macro_rules! string_id_conversions {
    ($($ty:ident),+) => {$(
        impl TryFrom<String> for $ty {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                $ty::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

string_id_conversions!(MemberId, ServiceId);

fn id_error(what: &'static str, value: &str, reason: &'static str) -> IdError {
    IdError {
        what,
        value: value.chars().take(80).collect(),
        reason,
    }
}

impl MemberId {
    pub fn parse(s: &str) -> Result<MemberId, IdError> {
        let bad = |reason| id_error("member id", s, reason);
        let (prefix, code) = s.split_once(':').ok_or(bad("expected kind:code"))?;
        MemberKind::from_prefix(prefix).ok_or(bad("kind must be agency, office or exchange"))?;
        if code.is_empty() || code.len() > MAX_MEMBER_CODE_LEN {
            return Err(bad("code must be 1..=64 characters"));
        }
        if !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        {
            return Err(bad("code may hold only a-z, 0-9, '.', '_' and '-'"));
        }
        if !code.as_bytes()[0].is_ascii_alphanumeric() {
            return Err(bad("code must start with a letter or digit"));
        }
        Ok(MemberId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> MemberKind {
        let prefix = self.0.split(':').next().unwrap_or_default();
        MemberKind::from_prefix(prefix).expect("a parsed member id has a known kind")
    }

    /// The part after `kind:`.
    pub fn code(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, c)| c)
    }
}

/// An inquiry service id, such as `civil-registry.person`: 3..=64 of `a-z 0-9 . -`,
/// starting with a letter and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceId(String);

impl ServiceId {
    pub fn parse(s: &str) -> Result<ServiceId, IdError> {
        let bad = |reason| id_error("service id", s, reason);
        if s.len() < 3 || s.len() > MAX_SERVICE_ID_LEN {
            return Err(bad("must be 3..=64 characters"));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        {
            return Err(bad("may hold only a-z, 0-9, '.' and '-'"));
        }
        let bytes = s.as_bytes();
        if !bytes[0].is_ascii_lowercase() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
            return Err(bad(
                "must start with a letter and end with a letter or digit",
            ));
        }
        Ok(ServiceId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// ---------------------------------------------------------------------------------------------
// The configuration

/// Whether a member may take part in the exchange.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    #[default]
    Active,
    /// Refused as a client and as a sender until the regulator lists it active again.
    Suspended,
}

/// A published key of a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberKey {
    pub jwk: Jwk,
    pub status: KeyStatus,
}

impl MemberKey {
    /// The public JWK of `key` with `status`.
    pub fn new(key: &PublicKey, status: KeyStatus) -> MemberKey {
        MemberKey {
            jwk: key.to_jwk(),
            status,
        }
    }
}

/// A member of the exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: MemberId,
    /// Must agree with the id's prefix.
    pub kind: MemberKind,
    pub name_fa: String,
    pub name_en: String,
    #[serde(default)]
    pub status: MemberStatus,
    /// Agencies only: `http(s)://host[:port]` the services are reached at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default)]
    pub keys: Vec<MemberKey>,
}

/// An inquiry an agency answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InquiryService {
    pub id: ServiceId,
    /// The agency that answers it (kind `agency`).
    pub agency: MemberId,
    /// The agency's HTTP path, such as `/v1/civil-registry/person`; signed as the request path.
    pub path: String,
    /// Whether a request may be sent again after a timeout or 5xx (a read, not a change).
    pub idempotent: bool,
    /// Request body schema ([`crate::schema`] subset; must be an object schema).
    pub request_schema: Value,
    /// Schema of a successful (2xx) answer (an object schema).
    pub response_schema: Value,
    /// Whether the message log keeps the request and (minimised) answer bodies, not just
    /// their hashes.
    pub keep_bodies: bool,
    /// A yes/no inquiry (Shahkar style): the answer is one required boolean property.
    pub yes_no: bool,
    /// The request field naming the person the inquiry is about (logged as `subject` for the
    /// citizen's data-access view), if any. Must be a string property of the request schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_field: Option<String>,
    /// How long a verified answer may be reused for the same office and the same request, in
    /// milliseconds (see [`crate::cache`]); 0, the default, never. Only for idempotent
    /// services; at most [`crate::cache::MAX_CACHE_TTL_MS`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_ttl_ms: u64,
    pub description_fa: String,
    pub description_en: String,
}

/// Who an access right is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientSelector {
    /// One member (which must be listed). Takes precedence over [`ClientSelector::AllActiveOffices`].
    Member(MemberId),
    /// Every office that is not listed as suspended.
    AllActiveOffices,
}

/// Who may run an inquiry, for what, and what they may see of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRight {
    pub service: ServiceId,
    pub client: ClientSelector,
    /// Data minimisation: the top-level answer fields the client receives; others are dropped.
    pub allowed_attributes: Vec<String>,
    /// Catalogue service codes (canonical, such as `SR001`) that need this inquiry; the client
    /// may run it only while performing one of them.
    pub required_by: Vec<String>,
}

/// Exchange-wide limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Timeout of one attempt (connect, send, answer), in milliseconds.
    pub agency_timeout_ms: u64,
    /// Retries allowed per agency, as a share of recent requests (see
    /// [`crate::resilience::RetryBudget`]); `0.0..=1.0`.
    pub retry_budget_ratio: f64,
    /// Most retries of one idempotent inquiry.
    pub max_retries: u32,
    /// Consecutive failures that open an agency's circuit.
    pub circuit_failures: u32,
    /// How long an open circuit refuses before one trial call, in milliseconds.
    pub circuit_cooldown_ms: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            agency_timeout_ms: 3_000,
            retry_budget_ratio: 0.1,
            max_retries: 2,
            circuit_failures: 5,
            circuit_cooldown_ms: 10_000,
        }
    }
}

/// The directory content the regulator signs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    pub members: Vec<Member>,
    pub services: Vec<InquiryService>,
    pub rights: Vec<AccessRight>,
    pub limits: Limits,
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a directory was refused. [`DirectoryError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// Signature, type, validity window or rollback (the code is pishkhan-sign's).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The content breaks a rule of the directory.
    #[error("invalid directory: {0}")]
    Invalid(String),
    /// The signed token would exceed what members accept.
    #[error("signed directory is {len} bytes, more than the {max} members accept")]
    TooLarge { len: usize, max: usize },
}

impl DirectoryError {
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::Config(e) => e.code(),
            DirectoryError::Invalid(_) => "invalid_directory",
            DirectoryError::TooLarge { .. } => "directory_too_large",
        }
    }
}

fn invalid(msg: impl Into<String>) -> DirectoryError {
    DirectoryError::Invalid(msg.into())
}

/// Why a client may not run an inquiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The service is not in the directory.
    UnknownService,
    /// The client is listed as suspended.
    ClientSuspended,
    /// No access right of the service matches the client.
    NoRight,
    /// A right matches, but the catalogue service is not among its `required_by`.
    NotRequiredBy,
}

impl Denial {
    pub fn reason(self) -> &'static str {
        match self {
            Denial::UnknownService => "the inquiry service is not in the directory",
            Denial::ClientSuspended => "the client is suspended",
            Denial::NoRight => "the client has no access right for this inquiry",
            Denial::NotRequiredBy => {
                "the catalogue service being performed does not require this inquiry"
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The verified directory

#[derive(Debug, Clone)]
struct CompiledService {
    index: usize,
    request: Schema,
    response: Schema,
}

/// A verified (or locally built and validated) directory with fast lookups and the keyring of
/// member keys (each bound to its member id as owner).
#[derive(Debug, Clone)]
pub struct Directory {
    envelope: ConfigEnvelope<DirectoryConfig>,
    keyring: Keyring,
    members: HashMap<MemberId, usize>,
    services: HashMap<ServiceId, CompiledService>,
    by_agency_path: HashMap<(MemberId, String), ServiceId>,
    rights: HashMap<ServiceId, Vec<usize>>,
}

impl Directory {
    /// Validates `envelope` and signs it with the regulator's key. Refuses an invalid
    /// directory and one whose token would exceed [`pishkhan_sign::jws::MAX_TOKEN_LEN`].
    pub fn sign(
        envelope: &ConfigEnvelope<DirectoryConfig>,
        regulator: &KeyPair,
    ) -> Result<String, DirectoryError> {
        Directory::build(envelope.clone())?;
        let token = sign_config(regulator, envelope)?;
        let max = pishkhan_sign::jws::MAX_TOKEN_LEN;
        if token.len() > max {
            return Err(DirectoryError::TooLarge {
                len: token.len(),
                max,
            });
        }
        Ok(token)
    }

    /// Verifies a signed directory against the regulator's keyring (the trust anchor) and
    /// validates it. `held_version` is the version already held (rollback protection); `now`
    /// is Unix seconds.
    pub fn verify(
        token: &str,
        regulator: &Keyring,
        held_version: Option<u64>,
        now: i64,
    ) -> Result<Directory, DirectoryError> {
        let envelope: ConfigEnvelope<DirectoryConfig> =
            verify_config(token, regulator, held_version, now)?;
        Directory::build(envelope)
    }

    fn build(envelope: ConfigEnvelope<DirectoryConfig>) -> Result<Directory, DirectoryError> {
        if envelope.issued_at >= envelope.expires_at {
            return Err(invalid("issued_at must be before expires_at"));
        }
        let config = &envelope.config;
        if config.members.len() > MAX_DIRECTORY_ITEMS
            || config.services.len() > MAX_DIRECTORY_ITEMS
            || config.rights.len() > MAX_DIRECTORY_ITEMS
        {
            return Err(invalid(format!(
                "at most {MAX_DIRECTORY_ITEMS} members, services and rights each"
            )));
        }
        check_limits(&config.limits)?;

        let mut keyring = Keyring::new();
        let mut members = HashMap::new();
        for (i, m) in config.members.iter().enumerate() {
            check_member(m)?;
            if members.insert(m.id.clone(), i).is_some() {
                return Err(invalid(format!("member {} is listed twice", m.id)));
            }
            for k in &m.keys {
                let key = PublicKey::from_jwk(&k.jwk)
                    .map_err(|e| invalid(format!("member {}: bad key: {e}", m.id)))?;
                keyring
                    .add(key, k.status, Some(m.id.as_str()))
                    .map_err(|e| invalid(format!("member {}: {e}", m.id)))?;
            }
        }

        let mut services = HashMap::new();
        let mut by_agency_path = HashMap::new();
        for (i, s) in config.services.iter().enumerate() {
            let compiled = check_service(s, config, &members)?;
            let compiled = CompiledService {
                index: i,
                request: compiled.0,
                response: compiled.1,
            };
            if services.insert(s.id.clone(), compiled).is_some() {
                return Err(invalid(format!("service {} is listed twice", s.id)));
            }
            if by_agency_path
                .insert((s.agency.clone(), s.path.clone()), s.id.clone())
                .is_some()
            {
                return Err(invalid(format!(
                    "agency {} has two services at {}",
                    s.agency, s.path
                )));
            }
        }

        let mut rights: HashMap<ServiceId, Vec<usize>> = HashMap::new();
        let mut seen = HashSet::new();
        for (i, r) in config.rights.iter().enumerate() {
            let Some(service) = services.get(&r.service) else {
                return Err(invalid(format!("right for unknown service {}", r.service)));
            };
            if let ClientSelector::Member(id) = &r.client
                && !members.contains_key(id)
            {
                return Err(invalid(format!("right for unlisted member {id}")));
            }
            if !seen.insert((r.service.clone(), r.client.clone())) {
                return Err(invalid(format!(
                    "two rights for the same client of {}",
                    r.service
                )));
            }
            check_right(r, &service.response)?;
            rights.entry(r.service.clone()).or_default().push(i);
        }

        Ok(Directory {
            envelope,
            keyring,
            members,
            services,
            by_agency_path,
            rights,
        })
    }

    /// The monotonic version.
    pub fn version(&self) -> u64 {
        self.envelope.version
    }

    /// Unix seconds.
    pub fn issued_at(&self) -> i64 {
        self.envelope.issued_at
    }

    /// Unix seconds; the directory is not used from then on.
    pub fn expires_at(&self) -> i64 {
        self.envelope.expires_at
    }

    /// Whether the directory has expired at `now` (Unix seconds).
    pub fn is_expired(&self, now: i64) -> bool {
        now >= self.envelope.expires_at
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.envelope.config
    }

    pub fn limits(&self) -> &Limits {
        &self.envelope.config.limits
    }

    /// Member keys, each owned by its member id. Revoked keys never verify.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members
            .get(id)
            .map(|&i| &self.envelope.config.members[i])
    }

    pub fn service(&self, id: &ServiceId) -> Option<&InquiryService> {
        self.services
            .get(id)
            .map(|s| &self.envelope.config.services[s.index])
    }

    /// The compiled request schema of a service.
    pub fn request_schema(&self, id: &ServiceId) -> Option<&Schema> {
        self.services.get(id).map(|s| &s.request)
    }

    /// The compiled response schema of a service.
    pub fn response_schema(&self, id: &ServiceId) -> Option<&Schema> {
        self.services.get(id).map(|s| &s.response)
    }

    /// The service `agency` answers at `path`.
    pub fn service_at(&self, agency: &MemberId, path: &str) -> Option<&InquiryService> {
        self.by_agency_path
            .get(&(agency.clone(), path.to_owned()))
            .and_then(|id| self.service(id))
    }

    /// The access right that applies to `client` for `service`: its own
    /// ([`ClientSelector::Member`]) if any, else the all-offices right for an office.
    /// Suspension is not checked here; see [`Directory::authorize`].
    pub fn right_for(&self, service: &ServiceId, client: &MemberId) -> Option<&AccessRight> {
        let rights = self.rights.get(service)?;
        let all = &self.envelope.config.rights;
        let own = rights
            .iter()
            .map(|&i| &all[i])
            .find(|r| matches!(&r.client, ClientSelector::Member(id) if id == client));
        own.or_else(|| {
            (client.kind() == MemberKind::Office)
                .then(|| {
                    rights
                        .iter()
                        .map(|&i| &all[i])
                        .find(|r| r.client == ClientSelector::AllActiveOffices)
                })
                .flatten()
        })
    }

    /// Whether `client` may run `service` while performing `catalogue_service` (canonical
    /// code): the service exists, the client is not listed as suspended, a right applies and
    /// lists the catalogue service. Returns the right that applies.
    pub fn authorize(
        &self,
        service: &ServiceId,
        client: &MemberId,
        catalogue_service: &str,
    ) -> Result<&AccessRight, Denial> {
        if !self.services.contains_key(service) {
            return Err(Denial::UnknownService);
        }
        if self
            .member(client)
            .is_some_and(|m| m.status == MemberStatus::Suspended)
        {
            return Err(Denial::ClientSuspended);
        }
        let right = self.right_for(service, client).ok_or(Denial::NoRight)?;
        if !right.required_by.iter().any(|c| c == catalogue_service) {
            return Err(Denial::NotRequiredBy);
        }
        Ok(right)
    }

    /// The revoked key ids of this directory's keyring (known keys only).
    fn revoked_kids(&self) -> Vec<String> {
        self.keyring
            .entries()
            .filter(|e| e.status == KeyStatus::Revoked)
            .map(|e| e.key.kid().to_owned())
            .collect()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn check_text(what: &str, s: &str, required: bool) -> Result<(), DirectoryError> {
    if required && s.trim().is_empty() {
        return Err(invalid(format!("{what} is empty")));
    }
    if s.chars().count() > MAX_TEXT_CHARS || s.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{what} is longer than {MAX_TEXT_CHARS} characters or has control characters"
        )));
    }
    Ok(())
}

fn check_limits(l: &Limits) -> Result<(), DirectoryError> {
    if l.agency_timeout_ms == 0 || l.agency_timeout_ms > MAX_AGENCY_TIMEOUT_MS {
        return Err(invalid(format!(
            "agency_timeout_ms must be 1..={MAX_AGENCY_TIMEOUT_MS}"
        )));
    }
    if !(l.retry_budget_ratio.is_finite() && (0.0..=1.0).contains(&l.retry_budget_ratio)) {
        return Err(invalid("retry_budget_ratio must be within 0.0..=1.0"));
    }
    if l.max_retries > MAX_RETRIES_LIMIT {
        return Err(invalid(format!(
            "max_retries must be at most {MAX_RETRIES_LIMIT}"
        )));
    }
    if l.circuit_failures == 0 || l.circuit_failures > MAX_CIRCUIT_FAILURES {
        return Err(invalid(format!(
            "circuit_failures must be 1..={MAX_CIRCUIT_FAILURES}"
        )));
    }
    if l.circuit_cooldown_ms == 0 || l.circuit_cooldown_ms > MAX_CIRCUIT_COOLDOWN_MS {
        return Err(invalid(format!(
            "circuit_cooldown_ms must be 1..={MAX_CIRCUIT_COOLDOWN_MS}"
        )));
    }
    Ok(())
}

fn check_member(m: &Member) -> Result<(), DirectoryError> {
    if m.id.kind() != m.kind {
        return Err(invalid(format!(
            "member {} has kind {:?}, but its id says {:?}",
            m.id,
            m.kind,
            m.id.kind()
        )));
    }
    check_text(&format!("member {} name_fa", m.id), &m.name_fa, true)?;
    check_text(&format!("member {} name_en", m.id), &m.name_en, true)?;
    match (&m.base_url, m.kind) {
        (Some(url), MemberKind::Agency) => check_base_url(&m.id, url)?,
        (None, MemberKind::Agency) => {
            return Err(invalid(format!("agency {} has no base_url", m.id)));
        }
        (Some(_), _) => {
            return Err(invalid(format!(
                "member {} is not an agency and must have no base_url",
                m.id
            )));
        }
        (None, _) => {}
    }
    if m.keys.len() > MAX_KEYS_PER_MEMBER {
        return Err(invalid(format!(
            "member {} publishes more than {MAX_KEYS_PER_MEMBER} keys",
            m.id
        )));
    }
    Ok(())
}

/// `http://` or `https://`, then a host and optional port; no path, query, fragment, user
/// info or whitespace. The signed request path is the service path, so a base URL with a path
/// prefix would sign something other than what the agency routes.
fn check_base_url(id: &MemberId, url: &str) -> Result<(), DirectoryError> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| {
            invalid(format!(
                "agency {id}: base_url must be http(s)://host[:port]"
            ))
        })?;
    let ok = !rest.is_empty()
        && rest.len() <= 253
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !ok {
        return Err(invalid(format!(
            "agency {id}: base_url must be http(s)://host[:port] with no path"
        )));
    }
    Ok(())
}

fn check_service(
    s: &InquiryService,
    config: &DirectoryConfig,
    members: &HashMap<MemberId, usize>,
) -> Result<(Schema, Schema), DirectoryError> {
    let id = &s.id;
    match members.get(&s.agency).map(|&i| &config.members[i]) {
        Some(m) if m.kind == MemberKind::Agency => {}
        _ => {
            return Err(invalid(format!(
                "service {id}: agency {} is not a listed agency",
                s.agency
            )));
        }
    }
    if !s.path.starts_with('/')
        || s.path.len() > MAX_TEXT_CHARS
        || !s
            .path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b))
    {
        return Err(invalid(format!(
            "service {id}: path must start with '/' and hold only unreserved characters"
        )));
    }
    check_text(
        &format!("service {id} description_fa"),
        &s.description_fa,
        true,
    )?;
    check_text(
        &format!("service {id} description_en"),
        &s.description_en,
        true,
    )?;
    let request = Schema::compile(&s.request_schema)
        .map_err(|e| invalid(format!("service {id} request_schema: {e}")))?;
    let response = Schema::compile(&s.response_schema)
        .map_err(|e| invalid(format!("service {id} response_schema: {e}")))?;
    if !request.is_object() || !response.is_object() {
        return Err(invalid(format!(
            "service {id}: request and response schemas must be object schemas"
        )));
    }
    if s.yes_no {
        let names: Vec<&str> = response.property_names().collect();
        let single_boolean = names.len() == 1
            && response.required_names().len() == 1
            && response.property(names[0]).is_some_and(Schema::is_boolean);
        if !single_boolean {
            return Err(invalid(format!(
                "service {id}: a yes/no service answers exactly one required boolean property"
            )));
        }
    }
    if s.cache_ttl_ms > crate::cache::MAX_CACHE_TTL_MS || (s.cache_ttl_ms > 0 && !s.idempotent) {
        return Err(invalid(format!(
            "service {id}: cache_ttl_ms must be at most {} and only for an idempotent service",
            crate::cache::MAX_CACHE_TTL_MS
        )));
    }
    if let Some(field) = &s.subject_field
        && !request.property(field).is_some_and(Schema::is_string)
    {
        return Err(invalid(format!(
            "service {id}: subject_field {field:?} is not a string property of the request"
        )));
    }
    Ok((request, response))
}

fn check_right(r: &AccessRight, response: &Schema) -> Result<(), DirectoryError> {
    let service = &r.service;
    if r.allowed_attributes.is_empty() || r.allowed_attributes.len() > MAX_RIGHT_LIST {
        return Err(invalid(format!(
            "right for {service}: allowed_attributes must list 1..={MAX_RIGHT_LIST} fields"
        )));
    }
    for a in &r.allowed_attributes {
        if response.property(a).is_none() {
            return Err(invalid(format!(
                "right for {service}: allowed attribute {a:?} is not in the response schema"
            )));
        }
    }
    if r.required_by.len() > MAX_REQUIRED_BY {
        return Err(invalid(format!(
            "right for {service}: required_by lists more than {MAX_REQUIRED_BY} services"
        )));
    }
    for code in &r.required_by {
        match ServiceCode::parse(code) {
            Ok(c) if c.as_str() == code => {}
            _ => {
                return Err(invalid(format!(
                    "right for {service}: {code:?} is not a canonical catalogue service code"
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Holding the current directory

/// The current directory, swappable at run time (key rotation and revocation without a
/// restart). Cloning shares the same slot. Readers take an `Arc` snapshot, so a swap never
/// blocks or disturbs an inquiry in flight.
#[derive(Debug, Clone)]
pub struct DirectoryHandle {
    slot: Arc<RwLock<Arc<Directory>>>,
}

impl DirectoryHandle {
    pub fn new(directory: Directory) -> DirectoryHandle {
        DirectoryHandle {
            slot: Arc::new(RwLock::new(Arc::new(directory))),
        }
    }

    /// The directory in force.
    pub fn current(&self) -> Arc<Directory> {
        self.slot.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Installs `next`. Refuses a lower version (`rollback`). Keys revoked in the directory
    /// held are revoked in `next` too: revocation is permanent for the life of the handle,
    /// even if a stale directory lists the key again.
    pub fn replace(&self, mut next: Directory) -> Result<(), DirectoryError> {
        let mut slot = self.slot.write().unwrap_or_else(|p| p.into_inner());
        if next.version() < slot.version() {
            return Err(ConfigError::Rollback {
                held: slot.version(),
                offered: next.version(),
            }
            .into());
        }
        for kid in slot.revoked_kids() {
            next.keyring.revoke(&kid);
        }
        *slot = Arc::new(next);
        Ok(())
    }

    /// Verifies a signed directory against the regulator's keyring and installs it. Returns
    /// the version now in force.
    pub fn update(
        &self,
        token: &str,
        regulator: &Keyring,
        now: i64,
    ) -> Result<u64, DirectoryError> {
        let held = self.current().version();
        let next = Directory::verify(token, regulator, Some(held), now)?;
        let version = next.version();
        self.replace(next)?;
        Ok(version)
    }
}
