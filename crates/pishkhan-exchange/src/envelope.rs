//! The agency side: [`SignedEnvelope`] plugs into `pishkhan_protocol`'s [`Envelope`] seam.
//!
//! # Checks, in order, and their stable codes
//!
//! | # | check | code | status |
//! |---|---|---|---|
//! | 1 | the directory in force has not expired | `directory_expired` | 503 |
//! | 2 | the directory lists this route as one of this agency's services | `not_allowed` | 403 |
//! | 3 | `Pishkhan-Signature` is present (once) | `unsigned_request` | 401 |
//! | 4 | `Pishkhan-Client` is present and a member id | `missing_client`, `invalid_client` | 400 |
//! | 5 | `Pishkhan-Purpose` is present | `missing_purpose` | 400 |
//! | 6 | the JWS verifies with a directory key owned by the claimed sender, addressed to this agency, for this path, over the request binding (body, client and purpose) | `unknown_key`, `revoked_key`, `wrong_recipient`, `bad_signature` | 401 |
//! | 7 | `iat` within [`MAX_CLOCK_SKEW_SECS`] of now | `stale_request` | 401 |
//! | 8 | the nonce was not seen from this sender | `replayed` (`busy`: 503 if the guard is full) | 401 |
//! | 9 | the sender is active and may sign for the client (an exchange for an office, or the client itself) | `not_allowed` | 403 |
//! | 10 | the purpose parses and is valid | `invalid_purpose` | 400 |
//! | 11 | the client is not listed as suspended, has an access right for the service, and the purpose's catalogue service is in the right's `required_by` | `not_allowed` | 403 |
//!
//! Every answer is signed, refusals included. A refusal at steps 6–8 echoes the request's
//! claimed sender, path and nonce when they are well-formed, so that the genuine exchange can
//! tell a signed `revoked_key` or `stale_request` refusal of *its* request from a forgery.
//!
//! Revoked keys are refused from the moment a directory that revokes them is installed
//! ([`DirectoryHandle::replace`]); revocation also survives later directories that list the
//! key again.
//!
//! # Handing the verified request to the response signer
//!
//! [`Envelope::sign_response`] does not see the request headers, but the response claims must
//! name the request's nonce and sender. pishkhan-agency calls `verify_request`, answers, and
//! calls `sign_response` synchronously on one thread with no `.await` in between, so the
//! verified claims pass through a thread-local slot, tagged with this envelope's address and the
//! request body's address and length. If that ever stops holding, the slot does not match,
//! the answer is signed without a `request_nonce`, and the exchange refuses it: the failure is
//! loud and closed, never a wrong attribution.

use std::cell::RefCell;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderValue, StatusCode};
use pishkhan_protocol::{Envelope, Rejection, Service};
use pishkhan_sign::jws::JwsError;
use pishkhan_sign::{
    DocumentError, Expectation, KeyPair, MessageClaims, MessageError, ReplayGuard, new_nonce,
    sign_message, unix_now, verify_message,
};

use crate::SetupError;
use crate::directory::{DirectoryHandle, MemberId, MemberKind, MemberStatus};
use crate::purpose::Purpose;
use crate::wire::{
    CLIENT_HEADER, MAX_CLOCK_SKEW_SECS, METHOD, PURPOSE_HEADER, SIGNATURE_HEADER, request_binding,
};

/// Most nonces an agency remembers. At 2,000 requests a second and a window of twice
/// [`MAX_CLOCK_SKEW_SECS`] this is twice what is needed; when full, requests are refused
/// (`busy`) rather than replays let through.
pub const REPLAY_GUARD_ENTRIES: usize = 500_000;

struct Pending {
    envelope: usize,
    body_ptr: usize,
    body_len: usize,
    claims: MessageClaims,
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Verifies exchange requests and signs answers for one agency.
pub struct SignedEnvelope {
    member: MemberId,
    key: RwLock<Arc<KeyPair>>,
    directory: DirectoryHandle,
    replay: ReplayGuard,
}

impl std::fmt::Debug for SignedEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedEnvelope")
            .field("member", &self.member)
            .field("kid", &self.current_key().kid())
            .finish_non_exhaustive()
    }
}

fn reject(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Rejection {
    Rejection {
        status,
        code,
        detail: detail.into(),
    }
}

/// A rejection, and the verified claims if the signature was good (so that the refusal can
/// be signed as an answer to that request).
type Refusal = (Rejection, Option<Box<MessageClaims>>);

impl SignedEnvelope {
    /// An envelope for agency `member` signing with `key`. The member must be an agency
    /// listed in the directory.
    pub fn new(
        member: MemberId,
        key: KeyPair,
        directory: DirectoryHandle,
    ) -> Result<SignedEnvelope, SetupError> {
        if member.kind() != MemberKind::Agency {
            return Err(SetupError(format!("{member} is not an agency")));
        }
        if directory.current().member(&member).is_none() {
            return Err(SetupError(format!(
                "{member} is not listed in the directory"
            )));
        }
        Ok(SignedEnvelope {
            member,
            key: RwLock::new(Arc::new(key)),
            directory,
            replay: ReplayGuard::new(REPLAY_GUARD_ENTRIES, MAX_CLOCK_SKEW_SECS),
        })
    }

    /// Replaces the response signing key (publish the new key in the directory first).
    pub fn set_key(&self, key: KeyPair) {
        *self.key.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }

    /// The directory slot this envelope reads; replace its content to rotate or revoke keys.
    pub fn directory(&self) -> &DirectoryHandle {
        &self.directory
    }

    pub fn member(&self) -> &MemberId {
        &self.member
    }

    fn current_key(&self) -> Arc<KeyPair> {
        self.key.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn check(
        &self,
        service: Service,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<MessageClaims, Refusal> {
        let now = unix_now();
        let dir = self.directory.current();
        let plain = |r: Rejection| (r, None);
        if dir.is_expired(now) {
            return Err(plain(reject(
                StatusCode::SERVICE_UNAVAILABLE,
                "directory_expired",
                "the agency's exchange directory has expired",
            )));
        }
        let Some(published) = dir.service_at(&self.member, service.path()) else {
            return Err(plain(reject(
                StatusCode::FORBIDDEN,
                "not_allowed",
                "this agency does not publish this service in the directory",
            )));
        };
        let signature = single_header(headers, SIGNATURE_HEADER).map_err(|()| {
            plain(reject(
                StatusCode::UNAUTHORIZED,
                "unsigned_request",
                "the request carries no single Pishkhan-Signature header",
            ))
        })?;
        let client_raw = single_header(headers, CLIENT_HEADER).map_err(|()| {
            plain(reject(
                StatusCode::BAD_REQUEST,
                "missing_client",
                "the request carries no single Pishkhan-Client header",
            ))
        })?;
        let client = MemberId::parse(client_raw).map_err(|_| {
            plain(reject(
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "Pishkhan-Client is not a member id",
            ))
        })?;
        let purpose_raw = single_header(headers, PURPOSE_HEADER)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                plain(reject(
                    StatusCode::BAD_REQUEST,
                    "missing_purpose",
                    "the request carries no Pishkhan-Purpose header",
                ))
            })?;

        let binding = request_binding(client_raw, purpose_raw, body);
        let expected = Expectation::request(self.member.as_str(), METHOD, service.path(), &binding);
        let claims = verify_message(
            signature,
            dir.keyring(),
            &expected,
            now,
            MAX_CLOCK_SKEW_SECS,
        )
        .map_err(|e| (signature_rejection(&e), unverified_claims(signature)))?;

        let refuse = |r: Rejection| (r, Some(Box::new(claims.clone())));
        if let Err(e) = self.replay.check_claims(&claims, now) {
            return Err(refuse(match e.code() {
                "replayed" => reject(
                    StatusCode::UNAUTHORIZED,
                    "replayed",
                    "this request was already received",
                ),
                "outside_window" => reject(
                    StatusCode::UNAUTHORIZED,
                    "stale_request",
                    "the request's signing time is outside the accepted window",
                ),
                "guard_full" => reject(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the agency cannot accept more requests now",
                ),
                _ => reject(
                    StatusCode::UNAUTHORIZED,
                    "bad_signature",
                    "the request's sender or nonce is malformed",
                ),
            }));
        }

        // The key's owner equals the sender (verify_message), so the sender is listed.
        let sender = MemberId::parse(&claims.sender)
            .ok()
            .and_then(|id| dir.member(&id).cloned());
        let may_sign = match &sender {
            Some(s) if s.status != MemberStatus::Active => false,
            Some(s) if s.id == client => true,
            Some(s) => s.kind == MemberKind::Exchange && client.kind() == MemberKind::Office,
            None => false,
        };
        if !may_sign {
            return Err(refuse(reject(
                StatusCode::FORBIDDEN,
                "not_allowed",
                "the sender may not run inquiries for this client",
            )));
        }

        let purpose = Purpose::from_header_value(purpose_raw)
            .map_err(|e| refuse(reject(StatusCode::BAD_REQUEST, e.code(), e.to_string())))?;
        if let Err(denial) = dir.authorize(&published.id, &client, purpose.service_code()) {
            return Err(refuse(reject(
                StatusCode::FORBIDDEN,
                "not_allowed",
                denial.reason(),
            )));
        }
        Ok(claims)
    }

    fn sign(
        &self,
        service: Service,
        request: Option<&MessageClaims>,
        status: StatusCode,
        body: &[u8],
    ) -> Option<String> {
        let now = unix_now();
        let claims = match request {
            Some(req) => MessageClaims {
                // Ours, even when echoing an unverified request that named another recipient.
                sender: self.member.as_str().to_owned(),
                ..MessageClaims::response(req, body, status.as_u16(), now).ok()?
            },
            None => MessageClaims {
                sender: self.member.as_str().to_owned(),
                recipient: String::new(),
                method: METHOD.to_owned(),
                path: service.path().to_owned(),
                body_sha256: pishkhan_sign::body_sha256(body),
                iat: now,
                nonce: new_nonce().ok()?,
                request_nonce: None,
                status: Some(status.as_u16()),
            },
        };
        Some(sign_message(&self.current_key(), &claims))
    }

    fn tag(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }
}

/// Longest claimed sender or path echoed in the answer to an unauthenticated request.
const MAX_ECHO_LEN: usize = 256;

/// The claims of a request whose signature did not verify, if they are well-formed and
/// small. The refusal echoes the claimed sender, method, path and nonce, so the genuine sender
/// can match a signed refusal (say `revoked_key`) to its request. The agency signs only that it
/// refused a request carrying them, which proves nothing about who sent it.
fn unverified_claims(token: &str) -> Option<Box<MessageClaims>> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: MessageClaims = serde_json::from_slice(&bytes).ok()?;
    let sane = claims.sender.len() <= MAX_ECHO_LEN
        && claims.path.len() <= MAX_ECHO_LEN
        && claims.method == METHOD
        && claims.nonce.len() == 22
        && claims.request_nonce.is_none()
        && claims.status.is_none();
    sane.then(|| Box::new(claims))
}

/// The one value of a header, or `Err` if it is absent, repeated or not visible ASCII.
fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(v), None) => v.to_str().map_err(|_| ()),
        _ => Err(()),
    }
}

fn signature_rejection(e: &MessageError) -> Rejection {
    let unauthorized = |code, detail: &str| reject(StatusCode::UNAUTHORIZED, code, detail);
    match e {
        MessageError::Document(DocumentError::Jws(JwsError::UnknownKey(_))) => {
            unauthorized("unknown_key", "the signing key is not in the directory")
        }
        MessageError::Document(DocumentError::Jws(JwsError::RevokedKey(_))) => {
            unauthorized("revoked_key", "the signing key is revoked")
        }
        MessageError::StaleIat { .. } | MessageError::FutureIat { .. } => unauthorized(
            "stale_request",
            "the request's signing time is too far from the agency's clock",
        ),
        MessageError::WrongRecipient { .. } => unauthorized(
            "wrong_recipient",
            "the request is signed for another agency",
        ),
        MessageError::BodyMismatch => unauthorized(
            "bad_signature",
            "the signature does not cover this body, client and purpose",
        ),
        other => reject(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!("the request signature was refused ({})", other.code()),
        ),
    }
}

impl Envelope for SignedEnvelope {
    fn verify_request(
        &self,
        service: Service,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Rejection> {
        let (result, claims) = match self.check(service, headers, body) {
            Ok(claims) => (Ok(()), Some(claims)),
            Err((rejection, claims)) => {
                tracing::debug!(
                    code = rejection.code,
                    service = service.name(),
                    "exchange request refused"
                );
                (Err(rejection), claims.map(|c| *c))
            }
        };
        let pending = claims.map(|claims| Pending {
            envelope: self.tag(),
            body_ptr: body.as_ptr() as usize,
            body_len: body.len(),
            claims,
        });
        PENDING.with(|slot| *slot.borrow_mut() = pending);
        result
    }

    fn sign_response(
        &self,
        service: Service,
        request_body: &[u8],
        status: StatusCode,
        response_body: &[u8],
        headers: &mut HeaderMap,
    ) {
        let pending = PENDING.with(|slot| slot.borrow_mut().take());
        let request = pending
            .filter(|p| {
                p.envelope == self.tag()
                    && p.body_ptr == request_body.as_ptr() as usize
                    && p.body_len == request_body.len()
            })
            .map(|p| p.claims);
        match self.sign(service, request.as_ref(), status, response_body) {
            Some(token) => match HeaderValue::from_str(&token) {
                Ok(v) => {
                    headers.insert(SIGNATURE_HEADER, v);
                }
                Err(_) => tracing::error!("a response signature is not a valid header value"),
            },
            None => tracing::error!(
                "the operating system's random number generator failed; answer left unsigned"
            ),
        }
    }
}
