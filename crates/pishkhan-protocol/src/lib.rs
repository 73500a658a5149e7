//! The wire between Pishkhan's inquiry exchange and the agencies that answer it, and between
//! Pishkhan and its card processor ([`psp`]): what both sides must agree on, and nothing else.
//!
//! * [`Service`]: the inquiry services, their stable names (the directory's service ids) and
//!   their routes.
//! * [`Envelope`] and [`Rejection`]: the seam where an agency's request verification and
//!   response signing plug in. `pishkhan-agency` serves through it; `pishkhan-exchange`'s
//!   `SignedEnvelope` implements it. [`Unsigned`] is the envelope that checks and signs nothing.
//! * [`MAX_BODY_BYTES`]: the largest request body an agency accepts, so the exchange never
//!   sends one it would refuse.
//! * [`psp`]: the card processor's routes, requests, answers, callback, problems and faults.
//!
//! **API boundary:** this crate depends on `http` and `serde` only, so that neither side links
//! the other: the exchange (in the server) does not link the demo population, an agency does
//! not link the exchange client, and the PSP's client does not link the PSP.

#![forbid(unsafe_code)]

pub mod psp;

use http::{HeaderMap, StatusCode};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The services an agency answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    CivilRegistryPerson,
    MobileOwnership,
    PostalAddress,
    PostalAddressMatch,
    TrafficFines,
}

impl Service {
    pub const ALL: [Service; 5] = [
        Service::CivilRegistryPerson,
        Service::MobileOwnership,
        Service::PostalAddress,
        Service::PostalAddressMatch,
        Service::TrafficFines,
    ];

    /// The route of the service.
    pub fn path(self) -> &'static str {
        match self {
            Service::CivilRegistryPerson => "/v1/civil-registry/person",
            Service::MobileOwnership => "/v1/mobile/ownership",
            Service::PostalAddress => "/v1/postal/address",
            Service::PostalAddressMatch => "/v1/postal/address-match",
            Service::TrafficFines => "/v1/traffic/fines",
        }
    }

    /// A stable name for logs, metrics and signatures; also the service's id in the
    /// exchange's directory.
    pub fn name(self) -> &'static str {
        match self {
            Service::CivilRegistryPerson => "civil-registry.person",
            Service::MobileOwnership => "mobile.ownership",
            Service::PostalAddress => "postal.address",
            Service::PostalAddressMatch => "postal.address-match",
            Service::TrafficFines => "traffic.fines",
        }
    }
}

/// Why an [`Envelope`] refused a request; rendered as problem+json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    /// Stable machine-readable code, such as `bad_signature`.
    pub code: &'static str,
    pub detail: String,
}

/// The seam where request verification and response signing plug in. Both methods are
/// synchronous and run on the request's task: keep them CPU-bound and short (an ed25519
/// verification is ~50 µs).
///
/// An agency calls [`Envelope::verify_request`] before parsing a request's body, answers, and
/// calls [`Envelope::sign_response`] with the final status and body bytes of every answer,
/// problems included.
pub trait Envelope: Send + Sync + 'static {
    /// Checks an incoming request before its body is parsed.
    fn verify_request(
        &self,
        service: Service,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Rejection>;

    /// Sees every answer to a service request (problems included) and may add headers.
    fn sign_response(
        &self,
        service: Service,
        request_body: &[u8],
        status: StatusCode,
        response_body: &[u8],
        headers: &mut HeaderMap,
    );
}

/// No envelopes: every request is accepted, no answer is signed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unsigned;

impl Envelope for Unsigned {
    fn verify_request(&self, _: Service, _: &HeaderMap, _: &[u8]) -> Result<(), Rejection> {
        Ok(())
    }

    fn sign_response(&self, _: Service, _: &[u8], _: StatusCode, _: &[u8], _: &mut HeaderMap) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths_are_distinct() {
        let names: std::collections::HashSet<_> = Service::ALL.iter().map(|s| s.name()).collect();
        let paths: std::collections::HashSet<_> = Service::ALL.iter().map(|s| s.path()).collect();
        assert_eq!(names.len(), Service::ALL.len());
        assert_eq!(paths.len(), Service::ALL.len());
    }
}
