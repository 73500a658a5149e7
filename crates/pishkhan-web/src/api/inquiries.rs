//! The inquiry exchange over HTTP: run a purpose-bound inquiry, fetch the inclusion proof of
//! its log entry, the latest signed checkpoint and the log's key, and — for citizens — every
//! inquiry made about them.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use pishkhan_app::exchange::{self, DataAccessRow, InquiryRequest};
use pishkhan_store::ExchangeCheckpoint;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::ProblemOut;
use crate::AppState;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::input::{page_request, parse_office_code};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeIn {
    /// The law or regulation that allows the inquiry.
    #[schema(min_length = 1)]
    pub legal_basis: String,
    /// The catalogue service being performed (it must need this inquiry).
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service_code: String,
    /// The office's case (file) number.
    #[schema(min_length = 1)]
    pub case_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InquiryIn {
    /// An inquiry service of the exchange, such as `civil-registry.person`.
    #[schema(pattern = r"^[a-z][a-z0-9-]*\.[a-z][a-z0-9-.]*$")]
    pub service: String,
    /// The national code the inquiry is about; blank is the same as left out.
    #[schema(pattern = r"^(\s*|[0-9]{10})$")]
    pub subject: Option<String>,
    /// Mandatory: requests without a purpose are refused (422 `missing_purpose`).
    #[schema(required = true, nullable = false)]
    pub purpose: Option<PurposeIn>,
    /// Further request fields the service's schema asks for (such as `mobile` or
    /// `postal_code`); `subject` fills `national_code`.
    #[schema(value_type = Object)]
    pub request: Option<serde_json::Value>,
    /// The office making the inquiry; defaults to the caller's own office (also when empty).
    #[schema(pattern = r"^([1-9][0-9]{7})?$")]
    pub office: Option<String>,
    /// Ask the agency even when the service's policy allows a recent cached answer.
    #[serde(default)]
    pub fresh: bool,
}

#[derive(Serialize, ToSchema)]
pub struct InquiryOut {
    /// The log index of this inquiry's record (see `/api/v1/exchange/proof/{message_id}`).
    pub message_id: u64,
    /// The agency's answer, reduced to the attributes this office may see.
    #[schema(value_type = Object)]
    pub result: serde_json::Value,
    pub service: String,
    pub agency: String,
    /// The agency's signed HTTP status.
    pub status: u16,
    /// For a yes/no service, the answer.
    pub answer: Option<bool>,
    pub latency_ms: u64,
    /// The agency's signature over its answer (compact JWS).
    pub agency_signature: String,
    /// Set when the answer is a cached one (the service's policy allows reuse for a while):
    /// when the agency gave it. Absent for a fresh answer.
    pub cached_at: Option<String>,
}

/// Run an inquiry at an agency through the exchange, for a case at the caller's office.
#[utoipa::path(post, path = "/api/v1/inquiries", tag = "exchange", request_body = InquiryIn,
    responses((status = 200, body = InquiryOut),
        (status = 422, body = ProblemOut, content_type = "application/problem+json"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 502, body = ProblemOut, content_type = "application/problem+json"),
        (status = 504, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(input): ApiJson<InquiryIn>,
) -> Result<Json<InquiryOut>, ApiError> {
    let Some(purpose) = input.purpose else {
        return Err(ApiError::invalid(
            "missing_purpose",
            "purpose",
            "every inquiry needs a purpose: legal basis, catalogue service and case id",
        ));
    };
    let office = match input.office.as_deref().filter(|o| !o.trim().is_empty()) {
        Some(o) => parse_office_code(o)?,
        None => staff.actor.office.ok_or_else(|| {
            ApiError::invalid(
                "missing_field",
                "office",
                "name the office making the inquiry",
            )
        })?,
    };
    let service = input.service.clone();
    let mut body = match input.request {
        None => serde_json::json!({}),
        Some(serde_json::Value::Object(m)) => serde_json::Value::Object(m),
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_request",
                "request",
                "request must be an object of fields",
            ));
        }
    };
    if let Some(subject) = input.subject.as_deref().filter(|s| !s.trim().is_empty()) {
        body["national_code"] = serde_json::json!(subject.trim());
    }
    let done = exchange::run_inquiry(
        state.app(),
        &staff,
        InquiryRequest {
            office,
            service,
            catalogue_service: purpose.service_code,
            legal_basis: purpose.legal_basis,
            case_id: purpose.case_id,
            body,
            fresh: input.fresh,
        },
    )
    .await?;
    let o = done.outcome;
    Ok(Json(InquiryOut {
        message_id: done.log_index,
        result: o.body,
        service: input.service,
        agency: o.agency.to_string(),
        status: o.status,
        answer: o.yes_no,
        latency_ms: o.latency_ms,
        agency_signature: o.response_signature,
        cached_at: o.cached_at_ms.map(super::types::rfc3339_ms),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointOut {
    pub size: u64,
    /// The 32-byte root, lowercase hex.
    pub root: String,
    /// The C2SP tlog-checkpoint body: origin, size, base64 root.
    pub note_body: String,
    /// Compact JWS (EdDSA) over `note_body` by the log key.
    pub signature: String,
}

impl From<ExchangeCheckpoint> for CheckpointOut {
    fn from(c: ExchangeCheckpoint) -> Self {
        CheckpointOut {
            size: c.size,
            root: hex::encode(c.root),
            note_body: c.note_body,
            signature: c.signature,
        }
    }
}

/// The latest signed checkpoint of the message log.
#[utoipa::path(get, path = "/api/v1/exchange/checkpoint", tag = "exchange",
    responses((status = 200, body = CheckpointOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Json<CheckpointOut>, ApiError> {
    let c = exchange::latest_checkpoint(state.app()).await?;
    Ok(Json(c.into()))
}

/// The public key that signs the log's checkpoints (JWKS).
#[utoipa::path(get, path = "/api/v1/exchange/keys", tag = "exchange",
    responses((status = 200, description = "JWKS")))]
pub async fn keys(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let jwk = exchange::log_jwk(state.app())?;
    Ok(Json(serde_json::json!({ "keys": [jwk] })))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProofQuery {
    /// The tree size to prove against; the latest checkpoint's by default.
    pub tree_size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ProofOut {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// SHA-256(0x00 ‖ entry), lowercase hex.
    pub leaf_hash: String,
    /// RFC 6962 audit path, leaf to root, lowercase hex.
    pub audit_path: Vec<String>,
    /// The root at `tree_size`, lowercase hex.
    pub root: String,
    /// Base64 of the canonical entry bytes (the leaf), for whoever may see it.
    pub entry: String,
    /// The signed checkpoint at `tree_size`.
    pub checkpoint: CheckpointOut,
}

/// The inclusion proof of one inquiry's record, against a signed checkpoint. For the office
/// that made it, the regulator, or the citizen it was about.
#[utoipa::path(get, path = "/api/v1/exchange/proof/{message_id}", tag = "exchange",
    params(("message_id" = u64, Path), ProofQuery),
    responses((status = 200, body = ProofOut), (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn proof(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<u64>,
    ApiQuery(q): ApiQuery<ProofQuery>,
) -> Result<Json<ProofOut>, ApiError> {
    let p = exchange::inclusion_proof(state.app(), &caller, id, q.tree_size).await?;
    Ok(Json(ProofOut {
        leaf_index: p.leaf_index,
        tree_size: p.tree_size,
        leaf_hash: hex::encode(p.leaf_hash),
        audit_path: p.audit_path.iter().map(hex::encode).collect(),
        root: hex::encode(p.checkpoint.root),
        entry: b64(&p.entry),
        checkpoint: p.checkpoint.into(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccessQuery {
    #[param(pattern = r"^([1-9][0-9]{0,5}|1000000)$")]
    pub page: Option<String>,
    #[param(pattern = r"^([1-9]|[1-9][0-9]|100)$")]
    pub per_page: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DataAccessOut {
    /// The inquiry's record in the message log.
    pub message_id: u64,
    /// RFC 3339.
    pub at: String,
    /// Jalali date and Tehran time, for people.
    pub at_local: String,
    pub office: String,
    pub office_name: Option<String>,
    pub operator: String,
    pub service: String,
    pub agency: Option<String>,
    pub legal_basis: String,
    /// The catalogue service performed.
    pub case_service: String,
    pub case_id: String,
    /// ok, refused or failed.
    pub outcome: String,
    /// Set when the answer was the signed answer of an earlier lookup, reused under the
    /// service's cache policy: when that lookup was (RFC 3339).
    pub cached_at: Option<String>,
    /// The same, as a Jalali date and Tehran time.
    pub cached_at_local: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DataAccessList {
    pub items: Vec<DataAccessOut>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl From<DataAccessRow> for DataAccessOut {
    fn from(r: DataAccessRow) -> Self {
        DataAccessOut {
            message_id: r.message_id,
            at: super::types::rfc3339_ms(r.at_ms),
            at_local: r.at_local(),
            outcome: r.outcome_code().to_string(),
            cached_at: r.cached_at_ms.map(super::types::rfc3339_ms),
            cached_at_local: r.cached_at_local(),
            office: r.office,
            office_name: r.office_name,
            operator: r.operator,
            service: r.service,
            agency: r.agency,
            legal_basis: r.legal_basis,
            case_service: r.case_service,
            case_id: r.case_id,
        }
    }
}

/// Every inquiry made about the signed-in citizen: which office and operator, which agency
/// service, when, and for what purpose and case. Newest first.
#[utoipa::path(get, path = "/api/v1/me/data-access", tag = "citizen", params(AccessQuery),
    responses((status = 200, body = DataAccessList), (status = 401, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn my_data_access(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AccessQuery>,
) -> Result<Json<DataAccessList>, ApiError> {
    let citizen = caller.into_citizen()?;
    let page = page_request(q.page.as_deref(), q.per_page.as_deref())?;
    let found = exchange::data_access(state.app(), &citizen, page).await?;
    Ok(Json(DataAccessList {
        items: found.rows.into_iter().map(DataAccessOut::from).collect(),
        total: found.total,
        page: page.page(),
        per_page: page.per_page(),
    }))
}
