//! Identity verification at the counter: the operator submits what the citizen presents; the
//! server asks the civil registry (and, with a mobile, the mobile-ownership service) through
//! the exchange — so every check is purpose-bound, logged and in the citizen's data-access
//! view — decides per attribute under a versioned normalization profile, and signs a receipt
//! (compact JWS, EdDSA) that verifies offline with the JWKS at `/api/v1/identity/keys`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pishkhan_app::identity::{self, ClaimInput, Verification, VerifyCommand, VerifyPurpose};
use pishkhan_identity::Signal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};
use pishkhan_app::AppError;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyPurposeIn {
    /// The catalogue service being performed, such as `NID-001`.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service_code: String,
    #[schema(min_length = 1)]
    pub case_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    /// As presented: a malformed one is no input error but a rejected check (signal
    /// `invalid_national_code`).
    pub national_code: String,
    #[schema(min_length = 1, max_length = 64)]
    pub first_name: String,
    #[schema(min_length = 1, max_length = 64)]
    pub last_name: String,
    #[schema(max_length = 64)]
    pub father_name: Option<String>,
    /// Jalali, YYYY-MM-DD or YYYY/MM/DD (digits in any script).
    #[schema(
        pattern = r"^1[0-6][0-9]{2}[-/](0[1-6][-/](0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])[-/](0[1-9]|[12][0-9]|30)|12[-/](0[1-9]|[12][0-9]))$"
    )]
    pub birth_date: String,
    #[schema(max_length = 32)]
    pub card_serial: Option<String>,
    #[schema(pattern = r"^(\+98|0098|98|0)?9[0-9]{9}$")]
    pub mobile: Option<String>,
    /// Required: a check without a purpose is refused (422 `missing_purpose`).
    #[schema(required = true, nullable = false)]
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

fn signal_out(s: &Signal) -> SignalOut {
    SignalOut {
        code: s.code.as_str().into(),
        message: s.message_fa.clone(),
        message_en: s.message_en.clone(),
    }
}

impl From<&Verification> for VerifyOut {
    fn from(v: &Verification) -> Self {
        VerifyOut {
            verification_id: v.id.clone(),
            decision: identity::decision_code(v.evaluation.decision).into(),
            attributes: v
                .summary()
                .map(|(a, o)| {
                    (
                        a.as_str().to_string(),
                        identity::outcome_code(o).to_string(),
                    )
                })
                .collect(),
            attribute_details: v
                .evaluation
                .attributes
                .iter()
                .map(|(a, r)| {
                    (
                        a.as_str().to_string(),
                        AttributeDetailOut {
                            outcome: identity::outcome_code(r.outcome).into(),
                            exact: r.exact,
                            normalized: r.normalized,
                        },
                    )
                })
                .collect(),
            signals: v.evaluation.signals.iter().map(signal_out).collect(),
            receipt: v.receipt.clone(),
            profile_version: v.evaluation.profile_version.clone(),
            second_factor_available: v.second_factor_available,
            second_factor: v.second_factor,
            inquiries: v.inquiries.clone(),
        }
    }
}

impl From<VerifyIn> for VerifyCommand {
    fn from(input: VerifyIn) -> Self {
        VerifyCommand {
            claim: ClaimInput {
                national_code: input.national_code,
                first_name: input.first_name,
                last_name: input.last_name,
                father_name: input.father_name,
                birth_date: input.birth_date,
                card_serial: input.card_serial,
                mobile: input.mobile,
            },
            purpose: input.purpose.map(|p| VerifyPurpose {
                service_code: p.service_code,
                case_id: p.case_id,
            }),
        }
    }
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
    let done = identity::verify(state.app(), &staff, &ctx, input.into()).await?;
    Ok(Json(VerifyOut::from(&done)))
}

/// The verification as recorded (its office's staff, or the regulator).
#[utoipa::path(get, path = "/api/v1/identity/verifications/{id}", tag = "identity",
    params(("id" = String, Path)),
    responses((status = 200, body = VerifyOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VerifyOut>, ApiError> {
    let found = identity::verification(state.app(), &staff, &id).await?;
    Ok(Json(VerifyOut::from(&found)))
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
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    identity::send_second_factor(state.app(), &staff, &ctx, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorCodeIn {
    pub code: String,
}

/// The citizen reads the code back: the verification is upgraded and re-signed.
#[utoipa::path(post, path = "/api/v1/identity/verifications/{id}/second-factor/confirm", tag = "identity",
    params(("id" = String, Path)), request_body = SecondFactorCodeIn,
    responses((status = 200, body = VerifyOut), (status = 422, body = ProblemOut, content_type = "application/problem+json"),
        (status = 410, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn confirm_code(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<SecondFactorCodeIn>,
) -> Result<Json<VerifyOut>, ApiError> {
    let done = identity::confirm_second_factor(state.app(), &staff, &ctx, &id, &input.code).await?;
    Ok(Json(VerifyOut::from(&done)))
}

/// The public keys of identity receipts (JWKS).
#[utoipa::path(get, path = "/api/v1/identity/keys", tag = "identity",
    responses((status = 200, description = "JWKS of the receipt keys")))]
pub async fn keys(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut jwk = serde_json::to_value(identity::receipt_jwk(state.app())?)
        .map_err(|e| ApiError::App(AppError::Internal(e.into())))?;
    jwk["alg"] = serde_json::json!("EdDSA");
    jwk["use"] = serde_json::json!("sig");
    Ok(Json(serde_json::json!({ "keys": [jwk] })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailuresQuery {
    /// Look back this many days (1–90, default 7).
    #[param(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
    /// Only operators with at least this many checks (default 10; read as 1 to 100,000).
    #[param(value_type = Option<u64>, maximum = 4_294_967_295.0)]
    pub min_attempts: Option<u32>,
    /// Only operators whose rejected share is at least this (0–1, default 0.3).
    #[param(minimum = 0.0, maximum = 1.0)]
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
    let query = identity::FailureQuery {
        days: q.days,
        min_attempts: q.min_attempts,
        min_rejected_share: q.min_rejected_share,
    };
    let rows = identity::operator_failures(state.app(), &staff, query).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| OperatorFailuresOut {
                operator: r.operator,
                office: r.office.to_string(),
                attempts: r.attempts,
                rejected: r.rejected,
                rejected_share: r.rejected_share,
            })
            .collect(),
    ))
}
