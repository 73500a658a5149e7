//! Identity verification at the counter: the operator submits what the citizen presents; the
//! server asks the civil registry (and, with a mobile, the mobile-ownership service) through
//! the exchange — so every check is purpose-bound, logged and in the citizen's data-access
//! view — decides per attribute under a versioned normalization profile, and signs a receipt
//! (compact JWS, EdDSA) that verifies offline with the JWKS at `/api/v1/identity/keys`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pishkhan_domain::access::Action;
use pishkhan_domain::{JalaliDate, Mobile};
use pishkhan_identity::{Claim, Decision, Evaluation, Outcome, RegistryRecord};
use pishkhan_store::{NewVerification, Notice, StoreError, VerificationWrite};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::exchange::{InquiryRequest, run_inquiry, runtime};
use crate::extract::{ApiJson, ApiQuery, Ctx};

/// The legal basis recorded with every identity check's inquiries.
pub const IDENTITY_LEGAL_BASIS: &str =
    "احراز هویت متقاضی خدمت در پیشخوان (identity check of the applicant at the counter)";
/// JWS `typ` of receipts.
pub const RECEIPT_TYP: &str = "pishkhan-receipt+jws";
/// How long a second-factor code is valid.
const OTP_TTL_MS: i64 = 120_000;
/// Longest name part accepted, in characters.
const MAX_NAME_CHARS: usize = 64;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPurposeIn {
    /// The catalogue service being performed, such as `NID-001`.
    pub service_code: String,
    pub case_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    pub national_code: String,
    pub first_name: String,
    pub last_name: String,
    pub father_name: Option<String>,
    /// Jalali, YYYY-MM-DD (digits in any script).
    pub birth_date: String,
    pub card_serial: Option<String>,
    pub mobile: Option<String>,
    pub purpose: Option<VerifyPurposeIn>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct SignalOut {
    pub code: String,
    /// Persian, the UI's first language.
    pub message: String,
    pub message_en: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct AttributeDetailOut {
    /// match, mismatch, not_given or not_checked (given, but nothing to compare it with).
    pub outcome: String,
    /// Equal exactly as typed.
    pub exact: bool,
    /// Equal under the normalization profile.
    pub normalized: bool,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct VerifyOut {
    pub verification_id: String,
    /// verified, rejected or needs_review.
    pub decision: String,
    /// Attribute → match, mismatch or not_given.
    #[schema(value_type = Object)]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// Both comparisons per attribute, so a reviewer sees why a match was accepted.
    #[schema(value_type = Object)]
    pub attribute_details: std::collections::BTreeMap<String, AttributeDetailOut>,
    pub signals: Vec<SignalOut>,
    /// Compact JWS (EdDSA, Ed25519) with a `kid` header; verify with `/api/v1/identity/keys`.
    pub receipt: String,
    pub profile_version: String,
    /// A one-time code can be sent to the mobile the registry side says is the person's.
    pub second_factor_available: bool,
    pub second_factor: bool,
    /// Log indexes of the inquiries this check made.
    pub inquiries: Vec<u64>,
}

fn bad(code: &'static str, field: &'static str, message: &str) -> ApiError {
    ApiError::invalid(code, field, message.to_string())
}

fn name(field: &'static str, v: &str, required: bool) -> Result<String, ApiError> {
    let t = v.trim();
    if required && t.is_empty() {
        return Err(bad("missing_field", field, "is required"));
    }
    if t.chars().count() > MAX_NAME_CHARS || t.chars().any(char::is_control) {
        return Err(bad(
            "invalid_name",
            field,
            "at most 64 characters, no control characters",
        ));
    }
    Ok(t.to_string())
}

fn random_id() -> Result<String, ApiError> {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).map_err(|e| ApiError::Internal(anyhow::anyhow!("random: {e}")))?;
    Ok(format!("V{}", hex::encode_upper(b)))
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Match => "match",
        Outcome::Mismatch => "mismatch",
        Outcome::NotGiven => "not_given",
        Outcome::NotChecked => "not_checked",
    }
}

fn decision_str(d: Decision) -> &'static str {
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

fn sign_receipt(state: &AppState, claims: &ReceiptClaims) -> Result<String, ApiError> {
    let rt = runtime(state)?;
    let payload =
        serde_json::to_vec(claims).map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(pishkhan_sign::jws::sign(
        rt.receipt_key(),
        Some(RECEIPT_TYP),
        &payload,
    ))
}

fn out_of(
    id: &str,
    eval: &Evaluation,
    receipt: String,
    second_factor_available: bool,
    inquiries: Vec<u64>,
) -> VerifyOut {
    let mut attributes = std::collections::BTreeMap::new();
    let mut details = std::collections::BTreeMap::new();
    for (attr, r) in eval.attributes.iter() {
        let public = match r.outcome {
            Outcome::NotChecked => "not_given",
            o => outcome_str(o),
        };
        attributes.insert(attr.as_str().to_string(), public.to_string());
        details.insert(
            attr.as_str().to_string(),
            AttributeDetailOut {
                outcome: outcome_str(r.outcome).into(),
                exact: r.exact,
                normalized: r.normalized,
            },
        );
    }
    VerifyOut {
        verification_id: id.to_string(),
        decision: decision_str(eval.decision).into(),
        attributes,
        attribute_details: details,
        signals: eval
            .signals
            .iter()
            .map(|s| SignalOut {
                code: s.code.as_str().into(),
                message: s.message_fa.clone(),
                message_en: s.message_en.clone(),
            })
            .collect(),
        receipt,
        profile_version: eval.profile_version.clone(),
        second_factor_available,
        second_factor: false,
        inquiries,
    }
}

/// Runs one verification for `staff` (shared by the API and the console).
pub(crate) async fn verify_claim(
    state: &AppState,
    staff: &Staff,
    ctx: &pishkhan_store::AuditContext,
    input: VerifyIn,
) -> Result<VerifyOut, ApiError> {
    runtime(state)?;
    let office = staff
        .actor
        .office
        .ok_or(ApiError::Forbidden(pishkhan_domain::access::Denied::Role))?;
    let permit = staff.permit(Action::RunInquiry { office })?;
    let purpose = input.purpose.ok_or_else(|| {
        bad(
            "missing_purpose",
            "purpose",
            "give the catalogue service and the case id",
        )
    })?;
    let claim = Claim {
        national_code: input.national_code.trim().chars().take(32).collect(),
        first_name: name("first_name", &input.first_name, true)?,
        last_name: name("last_name", &input.last_name, true)?,
        father_name: input
            .father_name
            .as_deref()
            .map(|f| name("father_name", f, false))
            .transpose()?
            .filter(|f| !f.is_empty()),
        birth_date: {
            let d = pishkhan_domain::digits::to_ascii_digits(input.birth_date.trim());
            JalaliDate::parse(&d.replace('/', "-"))
                .map_err(|e| ApiError::invalid(e.code, "birth_date", e.message))?;
            d
        },
        card_serial: input
            .card_serial
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.chars().count() > 32 {
                    Err(bad(
                        "invalid_card_serial",
                        "card_serial",
                        "at most 32 characters",
                    ))
                } else {
                    Ok(s.to_string())
                }
            })
            .transpose()?,
        mobile: input
            .mobile
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|m| {
                Mobile::parse(m)
                    .map(|m| m.as_str().to_string())
                    .map_err(|e| ApiError::invalid(e.code, "mobile", e.message))
            })
            .transpose()?,
    };
    let profile = &state.config().identity_profile;
    let id = random_id()?;
    let now_ms = state.now_ms();
    let mut inquiries = Vec::new();
    let mut owned_mobile = None;
    let (eval, code, failures) = match pishkhan_identity::precheck(&claim, profile) {
        Err(eval) => (eval, None, 0),
        Ok(code) => {
            let since = now_ms - state.config().identity_lockout_s as i64 * 1000;
            let failures = state
                .store()
                .identity_rejections_since(&code, since)
                .await?;
            if failures >= state.config().identity_max_failures {
                return Err(ApiError::Conflict {
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
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("registry answer: {e}")))?;
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
                    Err(ApiError::Invalid {
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
    let claims = ReceiptClaims {
        vid: id.clone(),
        office: office.to_string(),
        operator: staff.actor.username.to_string(),
        iat: now_ms / 1000,
        decision: decision_str(eval.decision).into(),
        profile: eval.profile_version.clone(),
        sub_hash: hex::encode(sha2::Sha256::digest(
            format!("{id}:{}", claim.national_code).as_bytes(),
        )),
        second_factor: false,
    };
    let receipt = sign_receipt(state, &claims)?;
    let out = out_of(
        &id,
        &eval,
        receipt.clone(),
        owned_mobile.is_some(),
        inquiries,
    );
    if let Some(code) = code {
        let mut notices = Vec::new();
        if eval.decision == Decision::Rejected
            && let Some(mobile) = &owned_mobile
        {
            // This rejection is the next failure after those counted for the lockout check.
            let failures = failures + 1;
            if failures >= state.config().identity_max_failures {
                notices.push(Notice {
                    kind: "identity.locked",
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
                    id: id.clone(),
                    national_code: code,
                    office,
                    operator: staff.actor.username.to_string(),
                    decision: out.decision.clone(),
                    profile_version: out.profile_version.clone(),
                    receipt,
                    result: serde_json::to_value(&out).map_err(|e| ApiError::Internal(e.into()))?,
                    owned_mobile,
                    at_ms: now_ms,
                },
                notices,
                ctx: ctx.clone(),
            })
            .await?;
    }
    Ok(out)
}

/// Verify a citizen's identity against the civil registry.
#[utoipa::path(post, path = "/api/v1/identity/verifications", tag = "identity", request_body = VerifyIn,
    responses((status = 200, body = VerifyOut),
        (status = 422, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<VerifyIn>,
) -> Result<Json<VerifyOut>, ApiError> {
    Ok(Json(verify_claim(&state, &staff, &ctx, input).await?))
}

/// The verification as recorded (its office's staff, or the regulator).
#[utoipa::path(get, path = "/api/v1/identity/verifications/{id}", tag = "identity",
    params(("id" = String, Path)),
    responses((status = 200, body = VerifyOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Json<VerifyOut>, ApiError> {
    Ok(Json(load(&state, &staff, &id).await?.1))
}

pub(crate) async fn load(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<(pishkhan_store::VerificationRecord, VerifyOut), ApiError> {
    if id.len() > 64 {
        return Err(ApiError::NotFound("verification"));
    }
    let record = state.store().verification(id).await?;
    let mine = match staff.actor.office {
        Some(o) => o.get() == record.office,
        None => staff.actor.role == pishkhan_domain::model::Role::Regulator,
    };
    if !mine {
        return Err(ApiError::NotFound("verification"));
    }
    let out: VerifyOut = serde_json::from_value(record.result.clone())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored verification: {e}")))?;
    Ok((record, out))
}

/// Send a one-time code to the mobile the registry side says is the person's.
#[utoipa::path(post, path = "/api/v1/identity/verifications/{id}/second-factor", tag = "identity",
    params(("id" = String, Path)),
    responses((status = 202), (status = 409, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn send_code(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let (record, _) = load(&state, &staff, &id).await?;
    let office = pishkhan_domain::model::OfficeCode::from_u32(record.office)?;
    let permit = staff.permit(Action::RunInquiry { office })?;
    let mobile = record.owned_mobile.ok_or_else(|| ApiError::Conflict {
        code: "no_owned_mobile",
        message: "the registry side confirmed no mobile of this person".into(),
    })?;
    let code = crate::auth::one_time_code()?;
    let now = state.now_ms();
    state
        .store()
        .set_verification_otp(
            &permit,
            &id,
            &pishkhan_store::token_hash(&code),
            now + OTP_TTL_MS,
            &Notice {
                kind: "identity.otp",
                recipient: mobile,
                dedupe_key: format!("identity.otp:{id}:{now:013}"),
                payload: serde_json::json!({ "code": code, "office": office.to_string() }),
            },
            &ctx,
        )
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeIn {
    pub code: String,
}

/// The citizen reads the code back: the verification is upgraded and re-signed.
#[utoipa::path(post, path = "/api/v1/identity/verifications/{id}/second-factor/confirm", tag = "identity",
    params(("id" = String, Path)), request_body = CodeIn,
    responses((status = 200, body = VerifyOut), (status = 422, body = ProblemOut, content_type = "application/problem+json"),
        (status = 410, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn confirm_code(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CodeIn>,
) -> Result<Json<VerifyOut>, ApiError> {
    let (record, mut out) = load(&state, &staff, &id).await?;
    let office = pishkhan_domain::model::OfficeCode::from_u32(record.office)?;
    let permit = staff.permit(Action::RunInquiry { office })?;
    let code = pishkhan_domain::digits::to_ascii_digits(input.code.trim());
    let claims = ReceiptClaims {
        vid: id.clone(),
        office: office.to_string(),
        operator: staff.actor.username.to_string(),
        iat: state.now_ms() / 1000,
        decision: out.decision.clone(),
        profile: out.profile_version.clone(),
        sub_hash: hex::encode(sha2::Sha256::digest(
            format!("{id}:{}", record.national_code).as_bytes(),
        )),
        second_factor: true,
    };
    out.receipt = sign_receipt(&state, &claims)?;
    out.second_factor = true;
    let result = serde_json::to_value(&out).map_err(|e| ApiError::Internal(e.into()))?;
    match state
        .store()
        .confirm_verification_otp(
            &permit,
            &id,
            &pishkhan_store::token_hash(&code),
            &out.receipt,
            &result,
            &ctx,
        )
        .await
    {
        Ok(true) => Ok(Json(out)),
        Ok(false) => Err(ApiError::invalid("wrong_code", "code", "the code is wrong")),
        Err(StoreError::Expired(_)) => Err(ApiError::Gone("code_expired")),
        Err(e) => Err(e.into()),
    }
}

/// The public keys of identity receipts (JWKS).
#[utoipa::path(get, path = "/api/v1/identity/keys", tag = "identity",
    responses((status = 200, description = "JWKS of the receipt keys")))]
pub async fn keys(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let rt = runtime(&state)?;
    let mut jwk = serde_json::to_value(rt.receipt_key().public().to_jwk())
        .map_err(|e| ApiError::Internal(e.into()))?;
    jwk["alg"] = serde_json::json!("EdDSA");
    jwk["use"] = serde_json::json!("sig");
    Ok(Json(serde_json::json!({ "keys": [jwk] })))
}

#[derive(Deserialize, IntoParams)]
pub struct FailuresQuery {
    /// Look back this many days (1–90, default 7).
    pub days: Option<u32>,
    /// Only operators with at least this many checks (default 10).
    pub min_attempts: Option<u32>,
    /// Only operators whose rejected share is at least this (0–1, default 0.3).
    pub min_rejected_share: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct OperatorFailuresOut {
    pub operator: String,
    pub office: String,
    pub attempts: u64,
    pub rejected: u64,
    pub rejected_share: f64,
}

/// Operators with a high share of rejected verifications, for the regulator.
#[utoipa::path(get, path = "/api/v1/identity/operators", tag = "identity", params(FailuresQuery),
    responses((status = 200, body = [OperatorFailuresOut]), (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn operators(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<FailuresQuery>,
) -> Result<Json<Vec<OperatorFailuresOut>>, ApiError> {
    staff.permit(Action::ViewNationalFigures)?;
    let days = q.days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(bad("invalid_days", "days", "1 to 90"));
    }
    let share = q.min_rejected_share.unwrap_or(0.3);
    if !(0.0..=1.0).contains(&share) {
        return Err(bad("invalid_share", "min_rejected_share", "0 to 1"));
    }
    let since = state.now_ms() - i64::from(days) * 86_400_000;
    let rows = state
        .store()
        .operator_identity_failures(since, q.min_attempts.unwrap_or(10).clamp(1, 100_000))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| OperatorFailuresOut {
                rejected_share: r.rejected as f64 / r.attempts.max(1) as f64,
                operator: r.operator,
                office: r.office.to_string(),
                attempts: r.attempts,
                rejected: r.rejected,
            })
            .filter(|r| r.rejected_share >= share)
            .collect(),
    ))
}
