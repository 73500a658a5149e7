//! The exchange side: [`Exchange`] runs an inquiry for an office.
//!
//! # What `inquire` does, in order
//!
//! 1. The directory in force has not expired (`directory_expired`).
//! 2. The service is in the directory (`unknown_service`).
//! 3. The office is active, per the caller and per the directory (`office_suspended`).
//! 4. The office is an office with an access right for the service, and the catalogue service
//!    being performed is in the right's `required_by` (`inquiry_not_allowed`).
//! 5. The purpose's catalogue service is the one being performed (`invalid_purpose`; the
//!    [`Purpose`] type itself is always valid).
//! 6. The body is at most [`MAX_REQUEST_BODY_BYTES`] (`request_too_large`) and satisfies the
//!    request schema (`invalid_request`).
//! 7. The agency's circuit is not open (`agency_unavailable`) and one of its
//!    [`MAX_IN_FLIGHT_PER_AGENCY`] slots frees up within the timeout (`agency_busy`).
//! 8. A signed POST ([`crate::wire`]) with a per-attempt timeout of the directory's
//!    `agency_timeout_ms` (`agency_timeout`, `agency_unreachable`). Timeouts, transport errors
//!    and signed 5xx answers are retried only for idempotent services, at most `max_retries`
//!    times, only within the agency's [`RetryBudget`], with jittered exponential backoff, and
//!    each retry is signed afresh (new nonce).
//! 9. The answer's signature must verify, be the agency's, and answer this very request
//!    (`bad_agency_signature`); its body is at most [`MAX_RESPONSE_BODY_BYTES`]
//!    (`response_too_large`).
//! 10. A 2xx answer must satisfy the response schema (`invalid_response`) and is then
//!     minimised to the right's `allowed_attributes`. A signed 4xx is `agency_refused`, a
//!     signed 5xx after the last attempt `agency_failed`; both carry the outcome for the log.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::ServiceCode;
use pishkhan_sign::{Expectation, KeyPair, MessageClaims, unix_now, verify_message};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;

use crate::SetupError;
use crate::cache::{AnswerCache, CacheKey, CachedAnswer, MAX_CACHED_ANSWERS};
use crate::directory::{
    Denial, Directory, DirectoryHandle, InquiryService, MemberId, MemberKind, MemberStatus,
    ServiceId,
};
use crate::log::{LogEntry, LogOutcome, LoggedPurpose, unix_now_ms};
use crate::purpose::Purpose;
use crate::resilience::{Admission, CircuitBreaker, CircuitState, RetryBudget};
use crate::schema::SchemaViolation;
use crate::wire::{
    CLIENT_HEADER, MAX_CLOCK_SKEW_SECS, PURPOSE_HEADER, RequestParts, SIGNATURE_HEADER,
    SignedRequest, sign_request,
};

/// Most requests in flight to one agency at once; more wait (up to the timeout) for a slot.
pub const MAX_IN_FLIGHT_PER_AGENCY: usize = 64;
/// Largest request body sent, in bytes: what the reference agencies accept.
pub const MAX_REQUEST_BODY_BYTES: usize = pishkhan_protocol::MAX_BODY_BYTES;
/// Largest answer read, in bytes.
pub const MAX_RESPONSE_BODY_BYTES: usize = 256 * 1024;
/// First retry backoff, in milliseconds; doubles per retry, with jitter.
pub const RETRY_BACKOFF_BASE_MS: u64 = 25;
/// Longest retry backoff, in milliseconds.
pub const RETRY_BACKOFF_MAX_MS: u64 = 1_000;
/// Longest agency problem `code` kept, in bytes.
const MAX_PROBLEM_CODE_LEN: usize = 64;

/// An inquiry an office asks the exchange to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Inquiry {
    pub office: MemberId,
    /// Whether the office is active in Pishkhan's registry right now (the directory may lag).
    pub office_active: bool,
    pub service: ServiceId,
    /// The catalogue service the office is performing, such as `SR001`.
    pub catalogue_service: String,
    pub purpose: Purpose,
    pub body: Value,
    /// Ask the agency even if the service's policy allows a cached answer (identity checks:
    /// a card reported lost a minute ago must show at once). The answer still refreshes the
    /// cache.
    pub fresh: bool,
}

/// A verified answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InquiryOutcome {
    /// The HTTP status the agency signed.
    pub status: u16,
    /// The answer, minimised to the allowed attributes (2xx), or the agency's problem (4xx,
    /// 5xx). `null` if the answer was not usable JSON.
    pub body: Value,
    /// SHA-256 (lower-case hex) of the exact request body bytes sent.
    pub request_sha256: String,
    /// SHA-256 (lower-case hex) of the exact answer bytes the agency signed (before
    /// minimisation).
    pub response_sha256: String,
    /// The nonce of the request the answer answers (the last attempt's).
    pub request_nonce: String,
    /// The agency's `Pishkhan-Signature` JWS: evidence of what it answered.
    pub response_signature: String,
    pub agency: MemberId,
    /// From the first attempt to the answer, retries and backoff included.
    pub latency_ms: u64,
    pub attempts: u32,
    /// For a yes/no service, the answer.
    pub yes_no: Option<bool>,
    /// When the answer came from the cache (see [`crate::cache`]): Unix milliseconds at which
    /// the agency gave it. The signature, nonce and hashes are those of that original answer.
    pub cached_at_ms: Option<i64>,
}

/// How far an inquiry got before failing: attempts made and the last request nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempts {
    pub count: u32,
    pub last_request_nonce: Option<String>,
}

/// Why an inquiry did not produce an answer. [`InquiryError::code`] is stable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InquiryError {
    #[error("the exchange directory has expired")]
    DirectoryExpired,
    #[error("no inquiry service {0} in the directory")]
    UnknownService(ServiceId),
    #[error("the office is suspended")]
    OfficeSuspended,
    #[error("inquiry not allowed: {0}")]
    NotAllowed(&'static str),
    #[error("invalid purpose: {0}")]
    InvalidPurpose(String),
    #[error("invalid request: {0}")]
    InvalidRequest(SchemaViolation),
    #[error("the request body is {len} bytes, more than {max}")]
    RequestTooLarge { len: usize, max: usize },
    #[error("the agency is unavailable (circuit open)")]
    AgencyUnavailable,
    #[error("too many inquiries in flight to the agency")]
    AgencyBusy,
    #[error("the agency did not answer in time ({} attempts)", .0.count)]
    Timeout(Attempts),
    #[error("the agency could not be reached ({} attempts): {detail}", attempts.count)]
    Unreachable { attempts: Attempts, detail: String },
    #[error("the agency's answer is larger than {max} bytes", max = MAX_RESPONSE_BODY_BYTES)]
    ResponseTooLarge(Attempts),
    #[error("the agency's answer is not validly signed: {detail}")]
    BadAgencySignature { attempts: Attempts, detail: String },
    #[error("the agency's answer does not match the response schema: {detail}")]
    InvalidResponse {
        detail: String,
        outcome: Box<InquiryOutcome>,
    },
    #[error("the agency refused the inquiry: {code}")]
    AgencyRefused {
        code: String,
        outcome: Box<InquiryOutcome>,
    },
    #[error("the agency failed (status {})", outcome.status)]
    AgencyFailed { outcome: Box<InquiryOutcome> },
    #[error("internal error: {0}")]
    Internal(String),
}

impl InquiryError {
    pub fn code(&self) -> &'static str {
        match self {
            InquiryError::DirectoryExpired => "directory_expired",
            InquiryError::UnknownService(_) => "unknown_service",
            InquiryError::OfficeSuspended => "office_suspended",
            InquiryError::NotAllowed(_) => "inquiry_not_allowed",
            InquiryError::InvalidPurpose(_) => "invalid_purpose",
            InquiryError::InvalidRequest(_) => "invalid_request",
            InquiryError::RequestTooLarge { .. } => "request_too_large",
            InquiryError::AgencyUnavailable => "agency_unavailable",
            InquiryError::AgencyBusy => "agency_busy",
            InquiryError::Timeout(_) => "agency_timeout",
            InquiryError::Unreachable { .. } => "agency_unreachable",
            InquiryError::ResponseTooLarge(_) => "response_too_large",
            InquiryError::BadAgencySignature { .. } => "bad_agency_signature",
            InquiryError::InvalidResponse { .. } => "invalid_response",
            InquiryError::AgencyRefused { .. } => "agency_refused",
            InquiryError::AgencyFailed { .. } => "agency_failed",
            InquiryError::Internal(_) => "internal",
        }
    }

    /// The signed answer behind the error, if the agency answered.
    pub fn outcome(&self) -> Option<&InquiryOutcome> {
        match self {
            InquiryError::InvalidResponse { outcome, .. }
            | InquiryError::AgencyRefused { outcome, .. }
            | InquiryError::AgencyFailed { outcome } => Some(outcome),
            _ => None,
        }
    }

    /// Requests sent to the agency (0 if refused before sending).
    pub fn attempts(&self) -> u32 {
        match self {
            InquiryError::Timeout(a)
            | InquiryError::ResponseTooLarge(a)
            | InquiryError::Unreachable { attempts: a, .. }
            | InquiryError::BadAgencySignature { attempts: a, .. } => a.count,
            other => other.outcome().map_or(0, |o| o.attempts),
        }
    }

    fn last_request_nonce(&self) -> Option<&str> {
        match self {
            InquiryError::Timeout(a)
            | InquiryError::ResponseTooLarge(a)
            | InquiryError::Unreachable { attempts: a, .. }
            | InquiryError::BadAgencySignature { attempts: a, .. } => {
                a.last_request_nonce.as_deref()
            }
            other => other.outcome().map(|o| o.request_nonce.as_str()),
        }
    }

    /// `refused` when the exchange or the agency said no, `failed` when something broke.
    pub fn log_outcome(&self) -> LogOutcome {
        match self {
            InquiryError::UnknownService(_)
            | InquiryError::OfficeSuspended
            | InquiryError::NotAllowed(_)
            | InquiryError::InvalidPurpose(_)
            | InquiryError::InvalidRequest(_)
            | InquiryError::RequestTooLarge { .. }
            | InquiryError::AgencyRefused { .. } => LogOutcome::Refused,
            _ => LogOutcome::Failed,
        }
    }
}

struct AgencyGate {
    in_flight: Semaphore,
    circuit: Mutex<CircuitBreaker>,
    budget: Mutex<RetryBudget>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A circuit admission that reports abandonment if dropped without a result.
struct Ticket<'a> {
    gate: &'a AgencyGate,
    admission: Admission,
    done: bool,
}

impl Ticket<'_> {
    fn success(mut self) {
        self.done = true;
        lock(&self.gate.circuit).on_success();
    }

    fn failure(mut self, limits: &crate::directory::Limits, now_ms: u64) {
        self.done = true;
        lock(&self.gate.circuit).on_failure(
            limits.circuit_failures,
            limits.circuit_cooldown_ms,
            now_ms,
        );
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.gate.circuit).on_abandoned(self.admission);
        }
    }
}

struct RawResponse {
    status: u16,
    signature: Option<String>,
    body: Vec<u8>,
}

enum AttemptError {
    Timeout,
    Unreachable(String),
    TooLarge,
    BadSignature(String),
    Failed(Box<InquiryOutcome>),
}

/// Runs inquiries for offices, signing as the exchange member.
pub struct Exchange {
    directory: DirectoryHandle,
    member: MemberId,
    key: RwLock<Arc<KeyPair>>,
    http: reqwest::Client,
    gates: Mutex<HashMap<MemberId, Arc<AgencyGate>>>,
    cache: AnswerCache,
    epoch: Instant,
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange")
            .field("member", &self.member)
            .field("kid", &self.current_key().kid())
            .finish_non_exhaustive()
    }
}

impl Exchange {
    /// An exchange signing as `member` (kind `exchange`, listed and active) with `key`, which
    /// must be one of its keys in the directory and not revoked. `http` should have no proxy
    /// and may be shared; per-attempt timeouts come from the directory.
    pub fn new(
        directory: DirectoryHandle,
        member: MemberId,
        key: KeyPair,
        http: reqwest::Client,
    ) -> Result<Exchange, SetupError> {
        if member.kind() != MemberKind::Exchange {
            return Err(SetupError(format!("{member} is not an exchange")));
        }
        let dir = directory.current();
        match dir.member(&member) {
            Some(m) if m.status == MemberStatus::Active => {}
            Some(_) => return Err(SetupError(format!("{member} is suspended"))),
            None => {
                return Err(SetupError(format!(
                    "{member} is not listed in the directory"
                )));
            }
        }
        let owned = dir
            .keyring()
            .verifying_entry(key.kid())
            .is_some_and(|e| e.owner.as_deref() == Some(member.as_str()));
        if !owned {
            return Err(SetupError(format!(
                "key {} is not a published, unrevoked key of {member}",
                key.kid()
            )));
        }
        Ok(Exchange {
            directory,
            member,
            key: RwLock::new(Arc::new(key)),
            http,
            gates: Mutex::new(HashMap::new()),
            cache: AnswerCache::new(MAX_CACHED_ANSWERS),
            epoch: Instant::now(),
        })
    }

    /// Replaces the signing key (publish the new key in the directory first).
    pub fn set_key(&self, key: KeyPair) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }

    pub fn directory(&self) -> &DirectoryHandle {
        &self.directory
    }

    pub fn member(&self) -> &MemberId {
        &self.member
    }

    /// The circuit state of an agency (closed if it was never called).
    pub fn circuit_state(&self, agency: &MemberId) -> CircuitState {
        let gate = lock(&self.gates).get(agency).cloned();
        gate.map_or(CircuitState::Closed, |g| {
            lock(&g.circuit).state(self.now_ms())
        })
    }

    fn current_key(&self) -> Arc<KeyPair> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn gate(&self, agency: &MemberId) -> Arc<AgencyGate> {
        lock(&self.gates)
            .entry(agency.clone())
            .or_insert_with(|| {
                Arc::new(AgencyGate {
                    in_flight: Semaphore::new(MAX_IN_FLIGHT_PER_AGENCY),
                    circuit: Mutex::new(CircuitBreaker::new()),
                    budget: Mutex::new(RetryBudget::new()),
                })
            })
            .clone()
    }

    /// Runs an inquiry (see the module documentation for every step and code).
    pub async fn inquire(&self, inquiry: &Inquiry) -> Result<InquiryOutcome, InquiryError> {
        let dir = self.directory.current();
        if dir.is_expired(unix_now()) {
            return Err(InquiryError::DirectoryExpired);
        }
        let service = dir
            .service(&inquiry.service)
            .ok_or_else(|| InquiryError::UnknownService(inquiry.service.clone()))?;
        if !inquiry.office_active
            || dir
                .member(&inquiry.office)
                .is_some_and(|m| m.status == MemberStatus::Suspended)
        {
            return Err(InquiryError::OfficeSuspended);
        }
        if inquiry.office.kind() != MemberKind::Office {
            return Err(InquiryError::NotAllowed("the client is not an office"));
        }
        let catalogue = ServiceCode::parse(&inquiry.catalogue_service)
            .map_err(|_| InquiryError::NotAllowed("the catalogue service code is malformed"))?;
        let right = dir
            .authorize(&service.id, &inquiry.office, catalogue.as_str())
            .map_err(|d| match d {
                Denial::ClientSuspended => InquiryError::OfficeSuspended,
                Denial::UnknownService => InquiryError::UnknownService(inquiry.service.clone()),
                other => InquiryError::NotAllowed(other.reason()),
            })?;
        if inquiry.purpose.service_code() != catalogue.as_str() {
            return Err(InquiryError::InvalidPurpose(
                "the purpose names another catalogue service than the one being performed".into(),
            ));
        }
        let body = serde_json::to_vec(&inquiry.body)
            .map_err(|e| InquiryError::Internal(format!("request body does not serialize: {e}")))?;
        if body.len() > MAX_REQUEST_BODY_BYTES {
            return Err(InquiryError::RequestTooLarge {
                len: body.len(),
                max: MAX_REQUEST_BODY_BYTES,
            });
        }
        let schema = dir
            .request_schema(&service.id)
            .expect("a listed service has a compiled schema");
        schema
            .validate(&inquiry.body)
            .map_err(InquiryError::InvalidRequest)?;
        let base_url = dir
            .member(&service.agency)
            .and_then(|m| m.base_url.as_deref())
            .expect("a validated directory gives every agency a base_url");
        let url = format!("{}{}", base_url.trim_end_matches('/'), service.path);
        let request_sha256 = hex::encode(Sha256::digest(&body));
        let cache_key = (service.cache_ttl_ms > 0 && service.idempotent).then(|| CacheKey {
            service: service.id.clone(),
            client: inquiry.office.clone(),
            request_sha256: request_sha256.clone(),
        });
        if let Some(key) = &cache_key
            && !inquiry.fresh
            && let Some(hit) = self.cache.get(key, dir.version())
        {
            let mut outcome = hit.outcome;
            outcome.cached_at_ms = Some(hit.answered_at_ms);
            outcome.latency_ms = 0;
            outcome.attempts = 0;
            return finish(
                &dir,
                service,
                outcome,
                &hit.answer,
                &right.allowed_attributes,
            );
        }
        let sent = self
            .send_with_retries(&dir, service, inquiry, &url, body, request_sha256)
            .await;
        let (outcome, answer) = match sent {
            Ok(answered) => answered,
            Err(e) => return Err(e),
        };
        if let Some(key) = cache_key {
            self.cache.put(
                key,
                CachedAnswer {
                    outcome: outcome.clone(),
                    answer: Arc::from(answer.as_slice()),
                    answered_at_ms: unix_now_ms(),
                },
                dir.version(),
                Duration::from_millis(service.cache_ttl_ms),
            );
        }
        finish(&dir, service, outcome, &answer, &right.allowed_attributes)
    }

    async fn send_with_retries(
        &self,
        dir: &Directory,
        service: &InquiryService,
        inquiry: &Inquiry,
        url: &str,
        body: Vec<u8>,
        request_sha256: String,
    ) -> Result<(InquiryOutcome, Vec<u8>), InquiryError> {
        let limits = *dir.limits();
        let timeout = Duration::from_millis(limits.agency_timeout_ms);
        let gate = self.gate(&service.agency);
        lock(&gate.budget).record_request(self.now_ms());
        let started = Instant::now();
        let mut attempts = Attempts {
            count: 0,
            last_request_nonce: None,
        };
        let mut previous: Option<InquiryError> = None;
        loop {
            let Some(admission) = lock(&gate.circuit).try_acquire(self.now_ms()) else {
                return Err(previous.unwrap_or(InquiryError::AgencyUnavailable));
            };
            let ticket = Ticket {
                gate: &gate,
                admission,
                done: false,
            };
            let Ok(Ok(permit)) = tokio::time::timeout(timeout, gate.in_flight.acquire()).await
            else {
                return Err(previous.unwrap_or(InquiryError::AgencyBusy));
            };
            let signed = sign_request(
                &self.current_key(),
                &RequestParts {
                    sender: &self.member,
                    recipient: &service.agency,
                    path: &service.path,
                    client: &inquiry.office,
                    purpose: &inquiry.purpose,
                    body: &body,
                },
                unix_now(),
            )
            .map_err(|e| InquiryError::Internal(format!("random number generator failed: {e}")))?;
            attempts.count += 1;
            attempts.last_request_nonce = Some(signed.claims.nonce.clone());
            let sent = tokio::time::timeout(timeout, self.send(url, &signed, body.clone())).await;
            drop(permit);
            let raw = match sent {
                Err(_) => Err(AttemptError::Timeout),
                Ok(result) => result,
            };
            let result = raw.and_then(|raw| {
                let claims = self.verify_answer(service, &signed.claims, &raw)?;
                let outcome = InquiryOutcome {
                    status: raw.status,
                    body: serde_json::from_slice(&raw.body).unwrap_or(Value::Null),
                    request_sha256: request_sha256.clone(),
                    response_sha256: hex::encode(Sha256::digest(&raw.body)),
                    request_nonce: claims.request_nonce.unwrap_or_default(),
                    response_signature: raw.signature.unwrap_or_default(),
                    agency: service.agency.clone(),
                    latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    attempts: attempts.count,
                    yes_no: None,
                    cached_at_ms: None,
                };
                Ok((outcome, raw.body))
            });
            let error = match result {
                Ok((outcome, answer)) if outcome.status < 500 => {
                    ticket.success();
                    return Ok((outcome, answer));
                }
                Ok((outcome, _)) => {
                    ticket.failure(&limits, self.now_ms());
                    AttemptError::Failed(Box::new(outcome))
                }
                Err(e) => {
                    ticket.failure(&limits, self.now_ms());
                    e
                }
            };
            let retryable = matches!(
                error,
                AttemptError::Timeout | AttemptError::Unreachable(_) | AttemptError::Failed(_)
            );
            let error = match error {
                AttemptError::Timeout => InquiryError::Timeout(attempts.clone()),
                AttemptError::Unreachable(detail) => InquiryError::Unreachable {
                    attempts: attempts.clone(),
                    detail,
                },
                AttemptError::TooLarge => InquiryError::ResponseTooLarge(attempts.clone()),
                AttemptError::BadSignature(detail) => InquiryError::BadAgencySignature {
                    attempts: attempts.clone(),
                    detail,
                },
                AttemptError::Failed(outcome) => InquiryError::AgencyFailed { outcome },
            };
            let retry = retryable
                && service.idempotent
                && attempts.count <= limits.max_retries
                && lock(&gate.budget).try_retry(limits.retry_budget_ratio, self.now_ms());
            if !retry {
                return Err(error);
            }
            previous = Some(error);
            tracing::debug!(agency = %service.agency, attempt = attempts.count, "retrying inquiry");
            tokio::time::sleep(backoff(attempts.count)).await;
        }
    }

    async fn send(
        &self,
        url: &str,
        signed: &SignedRequest,
        body: Vec<u8>,
    ) -> Result<RawResponse, AttemptError> {
        let unreachable = |e: reqwest::Error| AttemptError::Unreachable(error_chain(&e));
        let mut resp = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signed.signature)
            .header(CLIENT_HEADER, &signed.client)
            .header(PURPOSE_HEADER, &signed.purpose)
            .body(body)
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let mut signatures = resp.headers().get_all(SIGNATURE_HEADER).iter();
        let signature = match (signatures.next(), signatures.next()) {
            (Some(v), None) => v.to_str().ok().map(str::to_owned),
            _ => None,
        };
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_RESPONSE_BODY_BYTES as u64)
        {
            return Err(AttemptError::TooLarge);
        }
        let mut answer = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
            if answer.len() + chunk.len() > MAX_RESPONSE_BODY_BYTES {
                return Err(AttemptError::TooLarge);
            }
            answer.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            signature,
            body: answer,
        })
    }

    /// The answer must be signed by a directory key of the service's agency, for this
    /// exchange, answering this request's nonce, with this status and body.
    fn verify_answer(
        &self,
        service: &InquiryService,
        request: &MessageClaims,
        raw: &RawResponse,
    ) -> Result<MessageClaims, AttemptError> {
        let token = raw
            .signature
            .as_deref()
            .ok_or_else(|| AttemptError::BadSignature("the answer is not signed".into()))?;
        // The directory in force now: a key revoked while the request was in flight is refused.
        let dir = self.directory.current();
        let expected = Expectation::response(request, &raw.body, raw.status);
        let claims = verify_message(
            token,
            dir.keyring(),
            &expected,
            unix_now(),
            MAX_CLOCK_SKEW_SECS,
        )
        .map_err(|e| AttemptError::BadSignature(format!("{} ({e})", e.code())))?;
        if claims.sender != service.agency.as_str() {
            return Err(AttemptError::BadSignature(format!(
                "the answer is signed by {}, not by {}",
                claims.sender, service.agency
            )));
        }
        Ok(claims)
    }

    /// The log entry for an inquiry and its result (see [`LogEntry::for_inquiry`]), with the
    /// service's `keep_bodies` from the directory in force.
    pub fn log_entry(
        &self,
        inquiry: &Inquiry,
        result: &Result<InquiryOutcome, InquiryError>,
        at_ms: i64,
    ) -> LogEntry {
        let dir = self.directory.current();
        LogEntry::for_inquiry(inquiry, dir.service(&inquiry.service), result, at_ms)
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn finish(
    dir: &Directory,
    service: &InquiryService,
    mut outcome: InquiryOutcome,
    answer: &[u8],
    allowed: &[String],
) -> Result<InquiryOutcome, InquiryError> {
    if !(200..300).contains(&outcome.status) {
        let code = outcome
            .body
            .get("code")
            .and_then(Value::as_str)
            .filter(|c| c.len() <= MAX_PROBLEM_CODE_LEN)
            .unwrap_or("unknown")
            .to_owned();
        return Err(InquiryError::AgencyRefused {
            code,
            outcome: Box::new(outcome),
        });
    }
    let invalid = |detail: String, mut outcome: InquiryOutcome| {
        outcome.body = Value::Null;
        Err(InquiryError::InvalidResponse {
            detail,
            outcome: Box::new(outcome),
        })
    };
    let parsed: Value = match serde_json::from_slice(answer) {
        Ok(v) => v,
        Err(_) => return invalid("the answer is not JSON".into(), outcome),
    };
    let schema = dir
        .response_schema(&service.id)
        .expect("a listed service has a compiled schema");
    if let Err(v) = schema.validate(&parsed) {
        return invalid(v.to_string(), outcome);
    }
    let mut body = parsed;
    if let Value::Object(map) = &mut body {
        map.retain(|k, _| allowed.iter().any(|a| a == k));
    }
    if service.yes_no {
        let field = schema
            .property_names()
            .next()
            .expect("a yes/no schema has one property");
        outcome.yes_no = body.get(field).and_then(Value::as_bool);
    }
    outcome.body = body;
    Ok(outcome)
}

/// Exponential backoff with jitter: uniformly within the upper half of
/// `min(MAX, BASE · 2^(retry-1))`.
fn backoff(retry: u32) -> Duration {
    let ceiling = RETRY_BACKOFF_BASE_MS
        .saturating_mul(1u64 << retry.saturating_sub(1).min(20))
        .min(RETRY_BACKOFF_MAX_MS);
    let mut random = [0u8; 8];
    let jitter = match getrandom::fill(&mut random) {
        Ok(()) => u64::from_le_bytes(random) % (ceiling / 2 + 1),
        Err(_) => 0,
    };
    Duration::from_millis(ceiling / 2 + jitter)
}

impl LogEntry {
    /// The log entry of an inquiry: who asked what, why, about whom, what was sent and
    /// answered (hashes; bodies only if the service's `keep_bodies`), and how it ended.
    /// `service` is the directory's entry, if the service exists.
    pub fn for_inquiry(
        inquiry: &Inquiry,
        service: Option<&InquiryService>,
        result: &Result<InquiryOutcome, InquiryError>,
        at_ms: i64,
    ) -> LogEntry {
        let keep = service.is_some_and(|s| s.keep_bodies);
        let subject = service
            .and_then(|s| s.subject_field.as_deref())
            .and_then(|f| inquiry.body.get(f))
            .and_then(Value::as_str)
            .map(|raw| match NationalCode::parse(raw) {
                Ok(code) => code.as_str().to_owned(),
                Err(_) => raw.chars().take(32).collect(),
            });
        let outcome = match result {
            Ok(o) => Some(o),
            Err(e) => e.outcome(),
        };
        // An answered inquiry already hashed the exact bytes it sent.
        let request_sha256 = outcome.map_or_else(
            || {
                let bytes = serde_json::to_vec(&inquiry.body).unwrap_or_default();
                hex::encode(Sha256::digest(&bytes))
            },
            |o| o.request_sha256.clone(),
        );
        LogEntry {
            at_ms,
            office: inquiry.office.clone(),
            operator: inquiry.purpose.operator().to_owned(),
            service: inquiry.service.clone(),
            agency: service.map(|s| s.agency.clone()),
            purpose: LoggedPurpose {
                legal_basis: inquiry.purpose.legal_basis().to_owned(),
                service_code: inquiry.purpose.service_code().to_owned(),
                case_id: inquiry.purpose.case_id().to_owned(),
            },
            subject,
            request_sha256,
            response_sha256: outcome.map(|o| o.response_sha256.clone()),
            status: outcome.map(|o| o.status),
            outcome: match result {
                Ok(_) => LogOutcome::Ok,
                Err(e) => e.log_outcome(),
            },
            error_code: result.as_ref().err().map(|e| e.code().to_owned()),
            request_nonce: match result {
                Ok(o) => Some(o.request_nonce.clone()),
                Err(e) => e.last_request_nonce().map(str::to_owned),
            },
            response_signature: outcome.map(|o| o.response_signature.clone()),
            request_body: keep.then(|| inquiry.body.clone()),
            response_body: if keep {
                outcome.map(|o| o.body.clone())
            } else {
                None
            },
            cached_at_ms: outcome.and_then(|o| o.cached_at_ms),
        }
    }
}
