//! Identity verifications at the counter: each decision's record and receipt, the second
//! factor, the lockout count and the per-operator failure figures.

use async_trait::async_trait;
use pishkhan_domain::NationalCode;
use pishkhan_domain::access::Permit;

use crate::{AuditContext, Notice, Result};

/// Wrong second-factor codes allowed per verification.
pub const MAX_IDENTITY_OTP_ATTEMPTS: u32 = 5;

/// A verification to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVerification {
    pub id: String,
    pub national_code: NationalCode,
    pub office: pishkhan_domain::model::OfficeCode,
    pub operator: String,
    /// verified, rejected or needs_review.
    pub decision: String,
    pub profile_version: String,
    pub receipt: String,
    /// The full answer as the API gave it.
    pub result: serde_json::Value,
    /// The presented mobile, when the registry side said it is the person's.
    pub owned_mobile: Option<String>,
    pub at_ms: i64,
}

/// One verification to record with everything written beside it: [`crate::Store::record_verifications`]
/// group-commits many in one transaction.
#[derive(Debug, Clone)]
pub struct VerificationWrite {
    pub permit: Permit,
    pub verification: NewVerification,
    pub notices: Vec<Notice>,
    pub ctx: AuditContext,
}

/// Most verifications one [`crate::Store::record_verifications`] call takes.
pub const MAX_VERIFICATION_BATCH: usize = 512;

/// A verification as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRecord {
    pub id: String,
    pub national_code: String,
    pub office: u32,
    pub operator: String,
    pub decision: String,
    pub profile_version: String,
    pub receipt: String,
    pub result: serde_json::Value,
    pub owned_mobile: Option<String>,
    pub second_factor_at_ms: Option<i64>,
    pub at_ms: i64,
}

/// One operator's verifications in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorFailures {
    pub operator: String,
    pub office: u32,
    pub attempts: u64,
    pub rejected: u64,
}

/// One area of [`crate::Store`]: see the module documentation.
#[async_trait]
pub trait Identity: Send + Sync + 'static {
    /// Records verifications, each with the messages it causes and its audit row, all in one
    /// transaction (group commit; at most [`MAX_VERIFICATION_BATCH`]). Every permit is checked
    /// before anything is written: nothing is written unless all may be.
    ///
    /// **No permit argument:** every write in the batch carries its own permit, each checked
    /// before anything is written, and its audit row.
    async fn record_verifications(&self, batch: &[VerificationWrite]) -> Result<()>;

    /// Rejected verifications of `national_code` since `since_ms`: the lockout count.
    async fn identity_rejections_since(
        &self,
        national_code: &NationalCode,
        since_ms: i64,
    ) -> Result<u32>;

    async fn verification(&self, id: &str) -> Result<VerificationRecord>;

    /// Stores a second-factor code's hash and enqueues its SMS, in one transaction.
    async fn set_verification_otp(
        &self,
        permit: &Permit,
        id: &str,
        otp_hash: &str,
        expires_ms: i64,
        sms: &Notice,
        ctx: &AuditContext,
    ) -> Result<()>;

    /// Checks a second-factor code; when right, stores the upgraded receipt and result.
    #[allow(clippy::too_many_arguments)]
    async fn confirm_verification_otp(
        &self,
        permit: &Permit,
        id: &str,
        otp_hash: &str,
        upgraded_receipt: &str,
        upgraded_result: &serde_json::Value,
        ctx: &AuditContext,
    ) -> Result<bool>;

    /// Operators with at least `min_attempts` verifications since `since_ms`, highest share
    /// of rejections first (at most 100).
    async fn operator_identity_failures(
        &self,
        since_ms: i64,
        min_attempts: u32,
    ) -> Result<Vec<OperatorFailures>>;
}
