//! The core of Pishkhan's inquiry exchange (estelam): signed, purpose-bound, logged inquiries
//! from offices to agencies, in the manner of X-Road.
//!
//! * [`directory`]: the regulator-signed directory of members, keys, inquiry services, access
//!   rights and limits, held in a swappable [`DirectoryHandle`].
//! * [`schema`]: the small JSON-schema subset the directory's request and response schemas use.
//! * [`purpose`]: the mandatory [`Purpose`] of every inquiry.
//! * [`wire`]: headers and exactly what the request and response signatures cover.
//! * [`envelope`]: [`SignedEnvelope`], the agency side, plugged into `pishkhan_protocol`'s
//!   `Envelope` seam (which `pishkhan-agency` serves through).
//! * [`client`]: [`Exchange`], the exchange side: checks, signing, timeouts, retries within a
//!   budget, a circuit breaker per agency, answer verification and data minimisation.
//! * [`cache`]: verified answers reused within a service's `cache_ttl_ms`.
//! * [`resilience`]: the retry budget and circuit breaker, pure.
//! * [`log`]: the RFC 6962 message log: entries, the [`LogStore`] contract, the group-commit
//!   [`LogAppender`], proofs and [`verify_log`].
//!
//! Times: signatures use Unix seconds (pishkhan-sign's convention), log entries and
//! checkpoints Unix milliseconds (`*_ms`).

#![forbid(unsafe_code)]

pub mod cache;
pub mod client;
pub mod directory;
pub mod envelope;
pub mod log;
pub mod purpose;
pub mod resilience;
pub mod schema;
pub mod wire;

pub use client::{Exchange, Inquiry, InquiryError, InquiryOutcome};
pub use directory::{
    AccessRight, ClientSelector, Directory, DirectoryConfig, DirectoryError, DirectoryHandle,
    InquiryService, Limits, Member, MemberId, MemberKey, MemberKind, MemberStatus, ServiceId,
};
pub use envelope::SignedEnvelope;
pub use log::{
    Batch, BatchEntry, IndexFields, LogAppender, LogColumn, LogEntry, LogError, LogHead,
    LogOutcome, LogStore, LogStoreError, MemoryLogStore, SignedCheckpoint, StoredEntry, Strays,
    VerifyFailure, VerifyReport, consistency_proof, inclusion_proof, verify_log,
    verify_log_with_progress,
};
pub use purpose::{Purpose, PurposeError, PurposeInput};

/// An exchange or envelope could not be set up (member or key not as the directory says).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("exchange setup: {0}")]
pub struct SetupError(pub String);

/// Member id of the central exchange: the server that signs inquiries for the offices.
pub const EXCHANGE_MEMBER: &str = "exchange:central";
