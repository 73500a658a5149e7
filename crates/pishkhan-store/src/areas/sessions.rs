//! Sign-in: staff credentials and sessions, citizens' one-time codes and sessions, and the
//! audit events that are not guarded changes (sign-in, sign-out, failed sign-in).

use async_trait::async_trait;
use pishkhan_domain::access::{Permit, StaffActor};
use pishkhan_domain::model::{OfficeCode, Username};
use pishkhan_domain::{Mobile, NationalCode};

use crate::{AuditContext, AuditEvent, Result, StaffStatus};

/// What sign-in needs to know about a username.
#[derive(Clone)]
pub struct Credentials {
    pub staff_id: i64,
    pub status: StaffStatus,
    /// PHC-format argon2id hash; `None` until the invitation is accepted.
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("staff_id", &self.staff_id)
            .field("status", &self.status)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A new session. Only the SHA-256 of the bearer token is stored.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub staff_id: i64,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub ip: Option<String>,
}

/// A live session with the actor it belongs to.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub actor: StaffActor,
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

/// A live citizen session.
#[derive(Debug, Clone, PartialEq)]
pub struct CitizenSession {
    pub national_code: NationalCode,
    /// The mobile the one-time code went to.
    pub mobile: Mobile,
    pub expires_at_ms: i64,
}

/// Sessions a committed change invalidated, for the caches of every process: each change
/// that ends a session or alters what it resolves to records one, in its own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInvalidation {
    /// One session, staff or citizen, by the SHA-256 of its token (a sign-out).
    Token(String),
    /// Every session of one member of staff (a password change, a deactivation).
    Staff(i64),
    /// Every session of one office's staff (its status is part of what they resolve to).
    Office(OfficeCode),
}

/// What a request for a one-time code carries.
#[derive(Clone)]
pub struct OtpRequest {
    pub national_code: NationalCode,
    pub mobile: Mobile,
    /// The code itself, for the SMS.
    pub code: String,
    /// SHA-256 of `national_code:code`.
    pub code_hash: String,
    pub ttl_ms: i64,
    /// Shortest gap between two codes for one national code.
    pub min_interval_ms: i64,
    /// Codes one national code may ask for within `window_ms`.
    pub max_per_window: u32,
    pub window_ms: i64,
}

impl std::fmt::Debug for OtpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpRequest")
            .field("national_code", &self.national_code)
            .field("mobile", &self.mobile)
            .field("code", &"<redacted>")
            .finish()
    }
}

/// Wrong guesses a code survives.
pub const MAX_OTP_ATTEMPTS: i64 = 5;

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Sessions: Send + Sync + 'static {
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>>;

    /// **No permit:** this is sign-in itself (the caller checked the password); the event is
    /// audited in the same transaction.
    async fn create_session(
        &self,
        session: &NewSession,
        event: &AuditEvent,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// The live session for a token hash, or `None` if unknown or expired.
    async fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>>;

    /// **No permit:** the session token is the capability; the sign-out is audited in the same
    /// transaction.
    async fn delete_session(
        &self,
        token_hash: &str,
        event: &AuditEvent,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Stores a new one-time code (replacing any earlier one) and queues its SMS; refuses with
    /// `LimitReached` when the national code asks too often.
    ///
    /// **No permit:** the citizen is not signed in yet; requests are rate-limited per national
    /// code in the database and audited in the same transaction.
    async fn request_otp(&self, request: &OtpRequest, ctx: &AuditContext) -> Result<()>;

    /// `Ok(true)` and a new citizen session when the code is right; `Ok(false)` for a wrong
    /// guess; `Expired` when no code is live.
    ///
    /// **No permit:** the one-time code is the capability; the attempt is audited in the same
    /// transaction.
    async fn verify_otp(
        &self,
        national_code: &NationalCode,
        mobile: &Mobile,
        code_hash: &str,
        session_token_hash: &str,
        session_ttl_ms: i64,
        ctx: &AuditContext,
    ) -> Result<bool>;

    async fn citizen_session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<CitizenSession>>;

    /// Ends a citizen session (sign-out) and writes `citizen.logout` to the audit log in the
    /// same transaction. An unknown or already ended session changes and audits nothing.
    ///
    /// **No permit:** the session token is the capability.
    async fn end_citizen_session(&self, token_hash: &str, ctx: &AuditContext) -> Result<()>;

    /// Replaces the password of active member `staff_id` whose stored hash is still
    /// `current_hash`, and ends every session of theirs, audited in the same transaction.
    /// `WrongState(PasswordChanged)` when the hash changed meanwhile or the member is no longer
    /// active.
    async fn change_password(
        &self,
        permit: &Permit,
        staff_id: i64,
        current_hash: &str,
        new_hash: &str,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// The newest session epoch: how many invalidations have been committed so far.
    async fn session_epoch(&self) -> Result<i64>;

    /// The invalidations committed after epoch `after` up to and including `upto`, oldest
    /// first. Fewer than `upto - after` means older ones were pruned: the caller has fallen
    /// behind and must drop everything it cached.
    async fn session_invalidations(
        &self,
        after: i64,
        upto: i64,
    ) -> Result<Vec<SessionInvalidation>>;

    /// **No permit:** it only appends to the audit log (failed sign-ins, refused inquiries), which
    /// is append-only.
    async fn record_event(&self, event: &AuditEvent, ctx: &AuditContext) -> Result<()>;
}
