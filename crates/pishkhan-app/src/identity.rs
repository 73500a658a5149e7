//! Identity verification at the counter: the operator submits what the citizen presents; the
//! civil registry (and, with a mobile, the mobile-ownership service) is asked through the
//! exchange — so every check is purpose-bound, logged and in the citizen's data-access view —
//! each attribute is decided under a versioned normalization profile, and a receipt is signed
//! (compact JWS, EdDSA) that verifies offline with the receipt key ([`receipt_jwk`]).
//!
//! A check is recorded with its full result (see [`Verification`]); repeated rejections of one
//! national code lock further checks for a while, and the person's own mobile (as the
//! registry side confirms it) can upgrade a check with a one-time code.

use std::collections::BTreeMap;

use pishkhan_domain::access::{Action, Denied};
use pishkhan_domain::model::{OfficeCode, Role};
use pishkhan_domain::{JalaliDate, Mobile};
use pishkhan_identity::{
    Attribute, Attributes, Claim, Decision, Evaluation, Outcome, RegistryRecord, Signal, SignalCode,
};
use pishkhan_store::OutboxKind;
use pishkhan_store::{
    AuditContext, NewVerification, Notice, StoreError, VerificationRecord, VerificationWrite,
    token_hash,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::exchange::{InquiryRequest, run_inquiry, runtime};
use crate::secrets::one_time_code;
use crate::{App, AppError, StaffSession};

/// The legal basis recorded with every identity check's inquiries.
pub const IDENTITY_LEGAL_BASIS: &str =
    "احراز هویت متقاضی خدمت در پیشخوان (identity check of the applicant at the counter)";
/// JWS `typ` of receipts.
pub const RECEIPT_TYP: &str = "pishkhan-receipt+jws";
/// How long a second-factor code is valid.
const OTP_TTL_MS: i64 = 120_000;
/// Longest name part accepted, in characters.
const MAX_NAME_CHARS: usize = 64;
/// Longest card serial accepted, in characters.
const MAX_CARD_SERIAL_CHARS: usize = 32;
/// Longest verification id looked up; anything longer is no id of ours.
const MAX_ID_CHARS: usize = 64;

/// What the citizen presents, as typed at the counter (digits in any script). [`Self::parse`]
/// is the one rule that turns it into a [`Claim`].
#[derive(Debug, Clone, Default)]
pub struct ClaimInput {
    pub national_code: String,
    pub first_name: String,
    pub last_name: String,
    pub father_name: Option<String>,
    /// Jalali, `YYYY-MM-DD` (or with `/`).
    pub birth_date: String,
    pub card_serial: Option<String>,
    pub mobile: Option<String>,
}

fn name(field: &'static str, v: &str, required: bool) -> Result<String, AppError> {
    let t = v.trim();
    if required && t.is_empty() {
        return Err(AppError::invalid("missing_field", field, "is required"));
    }
    if t.chars().count() > MAX_NAME_CHARS || t.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "invalid_name",
            field,
            "at most 64 characters, no control characters",
        ));
    }
    Ok(t.to_string())
}

/// A present, non-blank optional value, trimmed.
fn given(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

impl ClaimInput {
    /// The claim to check. `Invalid` names the field: `missing_field` or `invalid_name` for
    /// the names, the date's own code for `birth_date`, `invalid_card_serial`, and the
    /// mobile's own code for `mobile`. The national code is only trimmed here: an invalid one
    /// is a rejected check (signal `invalid_national_code`), not an input error.
    pub fn parse(&self) -> Result<Claim, AppError> {
        Ok(Claim {
            national_code: self.national_code.trim().chars().take(32).collect(),
            first_name: name("first_name", &self.first_name, true)?,
            last_name: name("last_name", &self.last_name, true)?,
            father_name: self
                .father_name
                .as_deref()
                .map(|f| name("father_name", f, false))
                .transpose()?
                .filter(|f| !f.is_empty()),
            birth_date: {
                let d = pishkhan_domain::digits::to_ascii_digits(self.birth_date.trim());
                JalaliDate::parse(&d.replace('/', "-"))
                    .map_err(|e| AppError::invalid(e.code, "birth_date", e.message))?;
                d
            },
            card_serial: given(self.card_serial.as_deref())
                .map(|s| {
                    if s.chars().count() > MAX_CARD_SERIAL_CHARS {
                        Err(AppError::invalid(
                            "invalid_card_serial",
                            "card_serial",
                            "at most 32 characters",
                        ))
                    } else {
                        Ok(s.to_string())
                    }
                })
                .transpose()?,
            mobile: given(self.mobile.as_deref())
                .map(|m| {
                    Mobile::parse(m)
                        .map(|m| m.as_str().to_string())
                        .map_err(|e| AppError::invalid(e.code, "mobile", e.message))
                })
                .transpose()?,
        })
    }
}

/// Why the check is made: the catalogue service being performed and the office's case.
#[derive(Debug, Clone)]
pub struct VerifyPurpose {
    /// Such as `NID-001`.
    pub service_code: String,
    pub case_id: String,
}

/// One identity check. The claim is parsed ([`ClaimInput::parse`]) after the operator is
/// authorized, so a refused operator learns nothing about their input.
#[derive(Debug, Clone)]
pub struct VerifyCommand {
    pub claim: ClaimInput,
    /// Required: a check without a purpose is refused (`missing_purpose`).
    pub purpose: Option<VerifyPurpose>,
}

/// An identity check as decided and recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    /// Such as `V0123…` (24 hex digits).
    pub id: String,
    pub office: OfficeCode,
    /// Username of the operator who made the check.
    pub operator: String,
    /// When it was made, Unix milliseconds.
    pub at_ms: i64,
    /// Per attribute, the signals, the decision and the profile version.
    pub evaluation: Evaluation,
    /// Compact JWS (EdDSA, Ed25519) with a `kid` header over [`ReceiptClaims`].
    pub receipt: String,
    /// A one-time code can be sent to the mobile the registry side says is the person's.
    pub second_factor_available: bool,
    /// Upgraded by such a code.
    pub second_factor: bool,
    /// Log indexes of the inquiries this check made.
    pub inquiries: Vec<u64>,
}

impl Verification {
    /// Per attribute, the outcome reported in the short summary: a given attribute that could
    /// not be compared reads as not given there (the details keep [`Outcome::NotChecked`]).
    pub fn summary(&self) -> impl Iterator<Item = (Attribute, Outcome)> + '_ {
        self.evaluation.attributes.iter().map(|(a, r)| {
            let o = match r.outcome {
                Outcome::NotChecked => Outcome::NotGiven,
                o => o,
            };
            (a, o)
        })
    }
}

/// The stable code of an outcome: match, mismatch, not_given or not_checked.
pub fn outcome_code(o: Outcome) -> &'static str {
    match o {
        Outcome::Match => "match",
        Outcome::Mismatch => "mismatch",
        Outcome::NotGiven => "not_given",
        Outcome::NotChecked => "not_checked",
    }
}

/// The stable code of a decision: verified, rejected or needs_review.
pub fn decision_code(d: Decision) -> &'static str {
    match d {
        Decision::Verified => "verified",
        Decision::Rejected => "rejected",
        Decision::NeedsReview => "needs_review",
    }
}

/// The receipt's claims: who checked, where, when, the decision and the profile; the person
/// only as a salted hash.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ReceiptClaims {
    pub vid: String,
    pub office: String,
    pub operator: String,
    pub iat: i64,
    pub decision: String,
    pub profile: String,
    /// SHA-256 hex of `vid ":" national_code`.
    pub sub_hash: String,
    /// Upgraded by a one-time code to the person's own mobile.
    pub second_factor: bool,
}

impl ReceiptClaims {
    fn new(
        id: &str,
        office: OfficeCode,
        operator: &str,
        now_ms: i64,
        evaluation: &Evaluation,
        national_code: &str,
        second_factor: bool,
    ) -> Self {
        ReceiptClaims {
            vid: id.to_string(),
            office: office.to_string(),
            operator: operator.to_string(),
            iat: now_ms / 1000,
            decision: decision_code(evaluation.decision).into(),
            profile: evaluation.profile_version.clone(),
            sub_hash: hex::encode(sha2::Sha256::digest(
                format!("{id}:{national_code}").as_bytes(),
            )),
            second_factor,
        }
    }
}

fn sign_receipt(state: &App, claims: &ReceiptClaims) -> Result<String, AppError> {
    let rt = runtime(state)?;
    let payload = serde_json::to_vec(claims).map_err(AppError::internal)?;
    Ok(pishkhan_sign::jws::sign(
        rt.receipt_key(),
        Some(RECEIPT_TYP),
        &payload,
    ))
}

/// The public key of identity receipts, as a JWK.
pub fn receipt_jwk(state: &App) -> Result<pishkhan_sign::Jwk, AppError> {
    Ok(runtime(state)?.receipt_key().public().to_jwk())
}

fn random_id() -> Result<String, AppError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| AppError::Internal(anyhow::anyhow!("random: {e}")))?;
    Ok(format!("V{}", hex::encode_upper(b)))
}

// ---- the stored result ------------------------------------------------------------------

/// The result as recorded with a verification (`result_json`). Its shape is that of the
/// API's answer and must stay readable for every record ever written: add fields, never
/// rename them.
#[derive(Serialize, Deserialize)]
struct StoredResult {
    verification_id: String,
    decision: Decision,
    attributes: BTreeMap<String, Outcome>,
    attribute_details: Attributes,
    signals: Vec<StoredSignal>,
    receipt: String,
    profile_version: String,
    second_factor_available: bool,
    second_factor: bool,
    inquiries: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct StoredSignal {
    code: SignalCode,
    /// Persian.
    message: String,
    message_en: String,
}

impl StoredResult {
    fn json(v: &Verification) -> Result<serde_json::Value, AppError> {
        let stored = StoredResult {
            verification_id: v.id.clone(),
            decision: v.evaluation.decision,
            attributes: v
                .summary()
                .map(|(a, o)| (a.as_str().to_string(), o))
                .collect(),
            attribute_details: v.evaluation.attributes,
            signals: v
                .evaluation
                .signals
                .iter()
                .map(|s| StoredSignal {
                    code: s.code,
                    message: s.message_fa.clone(),
                    message_en: s.message_en.clone(),
                })
                .collect(),
            receipt: v.receipt.clone(),
            profile_version: v.evaluation.profile_version.clone(),
            second_factor_available: v.second_factor_available,
            second_factor: v.second_factor,
            inquiries: v.inquiries.clone(),
        };
        serde_json::to_value(&stored).map_err(AppError::internal)
    }

    fn read(record: &VerificationRecord) -> Result<Verification, AppError> {
        let stored: StoredResult = serde_json::from_value(record.result.clone())
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored verification: {e}")))?;
        Ok(Verification {
            id: record.id.clone(),
            office: OfficeCode::from_u32(record.office)?,
            operator: record.operator.clone(),
            at_ms: record.at_ms,
            evaluation: Evaluation {
                attributes: stored.attribute_details,
                decision: stored.decision,
                signals: stored
                    .signals
                    .into_iter()
                    .map(|s| Signal {
                        code: s.code,
                        message_fa: s.message,
                        message_en: s.message_en,
                    })
                    .collect(),
                profile_version: stored.profile_version,
            },
            receipt: stored.receipt,
            second_factor_available: stored.second_factor_available,
            second_factor: stored.second_factor,
            inquiries: stored.inquiries,
        })
    }
}

// ---- use cases --------------------------------------------------------------------------

/// Runs one identity check for `staff` at their office and records it. Errors: the exchange
/// off, a member of staff without an office or the right (`Forbidden`), `missing_purpose`, the
/// claim's input errors ([`ClaimInput::parse`]), `identity_locked` (a `Conflict`) after too
/// many rejections of the national code, and the inquiries' own refusals.
pub async fn verify(
    state: &App,
    staff: &StaffSession,
    ctx: &AuditContext,
    command: VerifyCommand,
) -> Result<Verification, AppError> {
    let result = verify_unmetered(state, staff, ctx, command).await;
    state.metrics().identity_checked(&result);
    result
}

async fn verify_unmetered(
    state: &App,
    staff: &StaffSession,
    ctx: &AuditContext,
    command: VerifyCommand,
) -> Result<Verification, AppError> {
    runtime(state)?;
    let office = staff
        .actor
        .office
        .ok_or(AppError::Forbidden(Denied::Role))?;
    let permit = staff.permit(Action::RunInquiry { office })?;
    let purpose = command.purpose.ok_or_else(|| {
        AppError::invalid(
            "missing_purpose",
            "purpose",
            "give the catalogue service and the case id",
        )
    })?;
    let claim = command.claim.parse()?;
    let config = state.config();
    let profile = &config.identity_profile;
    let id = random_id()?;
    let now_ms = state.now_ms();
    let mut inquiries = Vec::new();
    let mut owned_mobile = None;
    let (evaluation, code, failures) = match pishkhan_identity::precheck(&claim, profile) {
        Err(evaluation) => (evaluation, None, 0),
        Ok(code) => {
            let since = now_ms - config.identity_lockout_s as i64 * 1000;
            let failures = state
                .store()
                .identity_rejections_since(&code, since)
                .await?;
            if failures >= config.identity_max_failures {
                return Err(AppError::Conflict {
                    code: "identity_locked",
                    message: format!(
                        "{failures} failed verifications of this national code; checks are locked for now"
                    ),
                });
            }
            let person = run_inquiry(
                state,
                staff,
                InquiryRequest {
                    office,
                    service: "civil-registry.person".into(),
                    catalogue_service: purpose.service_code.clone(),
                    legal_basis: IDENTITY_LEGAL_BASIS.into(),
                    case_id: purpose.case_id.clone(),
                    body: serde_json::json!({ "national_code": code.as_str() }),
                    // A card reported lost a minute ago must show: never a cached answer.
                    fresh: true,
                },
            )
            .await?;
            inquiries.push(person.log_index);
            let record = RegistryRecord::from_json(&person.outcome.body.to_string())
                .map_err(|e| AppError::Internal(anyhow::anyhow!("registry answer: {e}")))?;
            let mut owned = None;
            if let (Some(mobile), Some(_)) = (&claim.mobile, record.person()) {
                let asked = run_inquiry(
                    state,
                    staff,
                    InquiryRequest {
                        office,
                        service: "mobile.ownership".into(),
                        catalogue_service: purpose.service_code.clone(),
                        legal_basis: IDENTITY_LEGAL_BASIS.into(),
                        case_id: purpose.case_id.clone(),
                        body: serde_json::json!({ "national_code": code.as_str(), "mobile": mobile }),
                        fresh: true,
                    },
                )
                .await;
                match asked {
                    Ok(done) => {
                        inquiries.push(done.log_index);
                        owned = done.outcome.yes_no;
                        if owned == Some(true) {
                            owned_mobile = Some(mobile.clone());
                        }
                    }
                    // The service being performed may not need the ownership inquiry: the
                    // mobile then stays unchecked and the decision says so.
                    Err(AppError::Invalid {
                        code: "inquiry_not_required",
                        ..
                    }) => {}
                    Err(e) => return Err(e),
                }
            }
            (
                pishkhan_identity::evaluate(&claim, &record, owned, profile),
                Some(code),
                failures,
            )
        }
    };
    let operator = staff.actor.username.to_string();
    let claims = ReceiptClaims::new(
        &id,
        office,
        &operator,
        now_ms,
        &evaluation,
        &claim.national_code,
        false,
    );
    let verification = Verification {
        receipt: sign_receipt(state, &claims)?,
        id,
        office,
        operator,
        at_ms: now_ms,
        evaluation,
        second_factor_available: owned_mobile.is_some(),
        second_factor: false,
        inquiries,
    };
    // An invalid national code names nobody: there is nothing to record or count.
    let Some(code) = code else {
        return Ok(verification);
    };
    let mut notices = Vec::new();
    if verification.evaluation.decision == Decision::Rejected
        && let Some(mobile) = &owned_mobile
    {
        // This rejection is the next failure after those counted for the lockout check.
        let failures = failures + 1;
        if failures >= config.identity_max_failures {
            notices.push(Notice {
                kind: OutboxKind::IdentityLocked,
                recipient: mobile.clone(),
                dedupe_key: format!("identity.locked:{}:{}", code.as_str(), now_ms / 3_600_000),
                payload: serde_json::json!({ "office": office.to_string(), "failures": failures }),
            });
        }
    }
    runtime(state)?
        .verifications()
        .record(VerificationWrite {
            permit: permit.clone(),
            verification: NewVerification {
                id: verification.id.clone(),
                national_code: code,
                office,
                operator: verification.operator.clone(),
                decision: decision_code(verification.evaluation.decision).to_string(),
                profile_version: verification.evaluation.profile_version.clone(),
                receipt: verification.receipt.clone(),
                result: StoredResult::json(&verification)?,
                owned_mobile,
                at_ms: now_ms,
            },
            notices,
            ctx: ctx.clone(),
        })
        .await?;
    Ok(verification)
}

/// The record and its result, for its office's staff or the regulator; `NotFound` for anyone
/// else (whether a check exists is itself private).
async fn load(
    state: &App,
    staff: &StaffSession,
    id: &str,
) -> Result<(VerificationRecord, Verification), AppError> {
    if id.len() > MAX_ID_CHARS {
        return Err(AppError::NotFound("verification"));
    }
    let record = state.store().verification(id).await?;
    let mine = match staff.actor.office {
        Some(o) => o.get() == record.office,
        None => staff.actor.role == Role::Regulator,
    };
    if !mine {
        return Err(AppError::NotFound("verification"));
    }
    let verification = StoredResult::read(&record)?;
    Ok((record, verification))
}

/// One verification as recorded (its office's staff, or the regulator).
pub async fn verification(
    state: &App,
    staff: &StaffSession,
    id: &str,
) -> Result<Verification, AppError> {
    Ok(load(state, staff, id).await?.1)
}

/// Sends a one-time code to the mobile the registry side says is the person's (through the
/// outbox). `Conflict` `no_owned_mobile` when it confirmed none.
pub async fn send_second_factor(
    state: &App,
    staff: &StaffSession,
    ctx: &AuditContext,
    id: &str,
) -> Result<(), AppError> {
    let (record, _) = load(state, staff, id).await?;
    let office = OfficeCode::from_u32(record.office)?;
    let permit = staff.permit(Action::RunInquiry { office })?;
    let mobile = record.owned_mobile.ok_or_else(|| AppError::Conflict {
        code: "no_owned_mobile",
        message: "the registry side confirmed no mobile of this person".into(),
    })?;
    let code = one_time_code()?;
    let now = state.now_ms();
    state
        .store()
        .set_verification_otp(
            &permit,
            id,
            &token_hash(&code),
            now + OTP_TTL_MS,
            &Notice {
                kind: OutboxKind::IdentityOtp,
                recipient: mobile,
                dedupe_key: format!("identity.otp:{id}:{now:013}"),
                payload: serde_json::json!({ "code": code, "office": office.to_string() }),
            },
            ctx,
        )
        .await?;
    Ok(())
}

/// The citizen reads the code back: the verification is upgraded and its receipt re-signed.
/// Errors: `Invalid` `wrong_code` (field `code`), `Gone("code_expired")`.
pub async fn confirm_second_factor(
    state: &App,
    staff: &StaffSession,
    ctx: &AuditContext,
    id: &str,
    code: &str,
) -> Result<Verification, AppError> {
    let (record, mut verification) = load(state, staff, id).await?;
    let office = OfficeCode::from_u32(record.office)?;
    let permit = staff.permit(Action::RunInquiry { office })?;
    let code = pishkhan_domain::digits::to_ascii_digits(code.trim());
    let claims = ReceiptClaims::new(
        id,
        office,
        staff.actor.username.as_str(),
        state.now_ms(),
        &verification.evaluation,
        &record.national_code,
        true,
    );
    verification.receipt = sign_receipt(state, &claims)?;
    verification.second_factor = true;
    let result = StoredResult::json(&verification)?;
    match state
        .store()
        .confirm_verification_otp(
            &permit,
            id,
            &token_hash(&code),
            &verification.receipt,
            &result,
            ctx,
        )
        .await
    {
        Ok(true) => Ok(verification),
        Ok(false) => Err(AppError::invalid("wrong_code", "code", "the code is wrong")),
        Err(StoreError::Expired(_)) => Err(AppError::Gone("code_expired")),
        Err(e) => Err(e.into()),
    }
}

/// Which operators the failure report lists; `None` takes the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct FailureQuery {
    /// Look back this many days (1–90, default 7).
    pub days: Option<u32>,
    /// Only operators with at least this many checks (default 10).
    pub min_attempts: Option<u32>,
    /// Only operators whose rejected share is at least this (0–1, default 0.3).
    pub min_rejected_share: Option<f64>,
}

/// One operator's checks in the report's period.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorFailures {
    pub operator: String,
    pub office: u32,
    pub attempts: u64,
    pub rejected: u64,
    /// `rejected / attempts`.
    pub rejected_share: f64,
}

/// Operators with a high share of rejected verifications, for the regulator.
pub async fn operator_failures(
    state: &App,
    staff: &StaffSession,
    query: FailureQuery,
) -> Result<Vec<OperatorFailures>, AppError> {
    staff.permit(Action::ViewNationalFigures)?;
    let days = query.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(AppError::invalid("invalid_days", "days", "1 to 90"));
    }
    let share = query.min_rejected_share.unwrap_or(0.3);
    if !(0.0..=1.0).contains(&share) {
        return Err(AppError::invalid(
            "invalid_share",
            "min_rejected_share",
            "0 to 1",
        ));
    }
    let since = state.now_ms() - i64::from(days) * 86_400_000;
    let rows = state
        .store()
        .operator_identity_failures(since, query.min_attempts.unwrap_or(10).clamp(1, 100_000))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| OperatorFailures {
            rejected_share: r.rejected as f64 / r.attempts.max(1) as f64,
            operator: r.operator,
            office: r.office,
            attempts: r.attempts,
            rejected: r.rejected,
        })
        .filter(|r| r.rejected_share >= share)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ClaimInput {
        ClaimInput {
            national_code: " 0012345678 ".into(),
            first_name: " علی ".into(),
            last_name: "رضایی".into(),
            father_name: Some("  ".into()),
            birth_date: "۱۳۷۰/۰۱/۰۵".into(),
            card_serial: Some(" ".into()),
            mobile: None,
        }
    }

    #[test]
    fn the_stored_result_keeps_the_answer_shape_and_reads_back() {
        let mut claim = input().parse().unwrap();
        claim.national_code = "1234567890".into();
        claim.mobile = Some("09121234567".into());
        let evaluation =
            pishkhan_identity::precheck(&claim, &pishkhan_identity::Profile::standard())
                .unwrap_err();
        let v = Verification {
            id: "V00".into(),
            office: OfficeCode::from_u32(11_000_001).unwrap(),
            operator: "operator".into(),
            at_ms: 1_700_000_000_000,
            evaluation,
            receipt: "a.b.c".into(),
            second_factor_available: false,
            second_factor: false,
            inquiries: vec![3, 4],
        };
        let json = StoredResult::json(&v).unwrap();
        assert_eq!(json["verification_id"], "V00");
        assert_eq!(json["decision"], "rejected");
        assert_eq!(json["attributes"]["national_code"], "mismatch", "{json}");
        // Not comparable is reported as not given in the summary, not in the details.
        assert_eq!(json["attributes"]["mobile"], "not_given");
        assert_eq!(
            json["attribute_details"]["mobile"]["outcome"],
            "not_checked"
        );
        assert_eq!(json["attribute_details"]["mobile"]["exact"], false);
        assert_eq!(json["signals"][0]["code"], "invalid_national_code");
        assert!(json["signals"][0]["message"].is_string());
        assert!(json["signals"][0]["message_en"].is_string());
        assert_eq!(json["inquiries"], serde_json::json!([3, 4]));
        let record = VerificationRecord {
            id: v.id.clone(),
            national_code: "1234567890".into(),
            office: 11_000_001,
            operator: v.operator.clone(),
            decision: "rejected".into(),
            profile_version: v.evaluation.profile_version.clone(),
            receipt: v.receipt.clone(),
            result: json,
            owned_mobile: None,
            second_factor_at_ms: None,
            at_ms: v.at_ms,
        };
        assert_eq!(StoredResult::read(&record).unwrap(), v);
    }

    #[test]
    fn a_claim_is_trimmed_and_blank_optionals_are_absent() {
        let c = input().parse().unwrap();
        assert_eq!(c.national_code, "0012345678");
        assert_eq!(c.first_name, "علی");
        assert_eq!(c.father_name, None);
        assert_eq!(c.birth_date, "1370/01/05");
        assert_eq!(c.card_serial, None);
    }

    #[test]
    fn bad_input_names_its_field() {
        let field = |i: ClaimInput| match i.parse() {
            Err(AppError::Invalid { code, field, .. }) => (code, field.unwrap()),
            other => panic!("{other:?}"),
        };
        let mut i = input();
        i.last_name = " ".into();
        assert_eq!(field(i), ("missing_field", "last_name"));
        let mut i = input();
        i.father_name = Some("x".repeat(65));
        assert_eq!(field(i), ("invalid_name", "father_name"));
        let mut i = input();
        i.birth_date = "1370-13-40".into();
        assert_eq!(field(i).1, "birth_date");
        let mut i = input();
        i.card_serial = Some("9".repeat(33));
        assert_eq!(field(i), ("invalid_card_serial", "card_serial"));
        let mut i = input();
        i.mobile = Some("12".into());
        assert_eq!(field(i).1, "mobile");
    }
}
