//! Payments, refunds, receipts, the card processor's callback, payee accounts, settlements,
//! reconciliations and the ledger's balances. Handlers parse, call `pishkhan_app::payments`
//! and render.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pishkhan_app::AppError;
use pishkhan_app::payments::{self, CallbackInput, PaymentRequest, PaymentView};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::NationalCode;
use pishkhan_domain::ledger::Account;
use pishkhan_domain::model::ServiceCode;
use pishkhan_store::{Payment, PaymentEvent, Reconciliation, Refund, Settlement};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::types::{ProblemOut, rfc3339_ms};
use crate::AppState;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Ctx};
use crate::input::parse_office_code;

fn payment_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("payment")))
}

fn jalali(field: &'static str, s: &str) -> Result<JalaliDate, ApiError> {
    JalaliDate::parse(s.trim()).map_err(|e| ApiError::invalid(e.code, field, e.message))
}

/// A query filter's value; empty counts as left out, as in every filter.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    /// The catalogue service paid for, such as NID-001.
    #[schema(pattern = r"^[A-Za-z][A-Za-z0-9-]{2,23}$")]
    pub service: String,
    /// The payer's national code.
    #[schema(pattern = r"^[0-9]{10}$")]
    pub national_code: String,
    /// The case's reference (1 to 64 characters, one line); online, the booking's tracking
    /// code.
    #[schema(
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*[^\s\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069][^\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]*$"
    )]
    pub case_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentComponentOut {
    pub kind: &'static str,
    /// The ledger account owed it: agency:CODE, office:CODE or vat_payable.
    pub payee: String,
    pub amount_rials: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    /// created, pending, paid, verified, settled, failed, reversed or refunded.
    pub status: &'static str,
    pub amount_rials: i64,
    /// Where the payer pays (the processor's page or card terminal), while pending.
    pub pay_url: Option<String>,
    /// counter or online.
    pub channel: &'static str,
    pub office: String,
    pub service: String,
    pub case_id: String,
    /// The effective date of the tariff the fee came from.
    pub tariff_from: String,
    pub components: Vec<PaymentComponentOut>,
    pub ref_num: Option<String>,
    pub card_mask: Option<String>,
    pub refunded_rials: i64,
    pub created_at: String,
    pub verified_at: Option<String>,
    /// The Jalali day the payment was settled to its payees.
    pub settled_day: Option<String>,
}

impl From<&Payment> for PaymentOut {
    fn from(p: &Payment) -> Self {
        Self {
            id: p.id,
            status: p.status.code(),
            amount_rials: p.amount.get(),
            pay_url: None,
            channel: p.channel.code(),
            office: p.office.to_string(),
            service: p.service.as_str().to_string(),
            case_id: p.case_id.clone(),
            tariff_from: p.tariff_from.to_string(),
            components: p
                .legs
                .iter()
                .map(|l| PaymentComponentOut {
                    kind: l.kind.code(),
                    payee: l.account.code(),
                    amount_rials: l.amount.get(),
                })
                .collect(),
            ref_num: p.ref_num.clone(),
            card_mask: p.card_mask.clone(),
            refunded_rials: p.refunded.get(),
            created_at: rfc3339_ms(p.created_at_ms),
            verified_at: p.verified_at_ms.map(rfc3339_ms),
            settled_day: p.settled_day.map(|d| d.to_string()),
        }
    }
}

impl From<&PaymentView> for PaymentOut {
    fn from(v: &PaymentView) -> Self {
        Self {
            pay_url: v.pay_url.clone(),
            ..PaymentOut::from(&v.payment)
        }
    }
}

/// Take a payment for a case: an operator at the counter (the citizen pays on the card
/// terminal at `pay_url`), or a signed-in citizen online for their own booking. The fee is
/// today's tariff. The `Idempotency-Key` header is required: the same key again returns the
/// same payment and never charges twice.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments", request_body = PaymentIn,
    params(("Idempotency-Key" = String, Header, description = "retry-safe key, 1 to 128 visible ASCII characters", pattern = r"^[!-~]{1,128}$")),
    responses((status = 201, body = PaymentOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "idempotency_key_reused"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "no_fee, no_such_booking or a validation code"),
        (status = 502, body = ProblemOut, content_type = "application/problem+json", description = "psp_unavailable: retry with the same key"),
        (status = 503, body = ProblemOut, content_type = "application/problem+json"),
        (status = 504, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    ApiJson(input): ApiJson<PaymentIn>,
) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("");
    if key.is_empty() {
        return Err(ApiError::invalid(
            "missing_idempotency_key",
            "Idempotency-Key",
            "a payment needs an Idempotency-Key header, so a retry never pays twice",
        ));
    }
    let req = PaymentRequest {
        service: ServiceCode::parse(&input.service)
            .map_err(|e| ApiError::invalid(e.code, "service", e.message))?,
        national_code: NationalCode::parse(&input.national_code)?,
        case_id: input.case_id,
    };
    let view = payments::start(state.app(), &caller, key, &req, &ctx).await?;
    let mut res = (StatusCode::CREATED, Json(PaymentOut::from(&view))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/payments/{}", view.payment.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// One payment: its office's staff, the regulator, or the citizen who pays.
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments",
    params(("id" = String, Path, description = "payment number", pattern = r"^[0-9]{1,18}$")),
    responses((status = 200, body = PaymentOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PaymentOut>, ApiError> {
    let view = payments::get(state.app(), &caller, payment_id(&id)?).await?;
    Ok(Json(PaymentOut::from(&view)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PaymentListQuery {
    /// An office's code (staff see only their own).
    #[param(pattern = r"^[1-9][0-9]{7}$")]
    pub office: Option<String>,
    /// Created on this Jalali day.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub date: Option<String>,
    /// A case's reference.
    pub case_id: Option<String>,
    /// At most 500; 100 when left out.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Payments, newest first: a citizen's own; an office's for its staff; any office's (or all)
/// for the regulator.
#[utoipa::path(get, path = "/api/v1/payments", tag = "payments", params(PaymentListQuery),
    responses((status = 200, body = [PaymentOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PaymentListQuery>,
) -> Result<Json<Vec<PaymentOut>>, ApiError> {
    let office = given(&q.office).map(parse_office_code).transpose()?;
    let day = given(&q.date).map(|d| jalali("date", d)).transpose()?;
    let limit = q.limit.map_or(payments::DEFAULT_LISTED, |l| l as usize);
    let list = payments::list(state.app(), &caller, office, day, q.case_id, limit).await?;
    Ok(Json(list.iter().map(PaymentOut::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct PaymentEventOut {
    pub at: String,
    pub event: String,
    pub status: &'static str,
    pub detail: String,
}

impl From<&PaymentEvent> for PaymentEventOut {
    fn from(e: &PaymentEvent) -> Self {
        Self {
            at: rfc3339_ms(e.at_ms),
            event: e.event.clone(),
            status: e.status.code(),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct RefundOut {
    pub id: i64,
    pub payment: i64,
    pub amount_rials: i64,
    pub reason: String,
    /// owed (not yet returned to the card) or paid.
    pub status: &'static str,
    pub refund_ref: Option<String>,
    pub created_at: String,
}

impl From<&Refund> for RefundOut {
    fn from(r: &Refund) -> Self {
        Self {
            id: r.id,
            payment: r.payment,
            amount_rials: r.amount.get(),
            reason: r.reason.clone(),
            status: r.status.code(),
            refund_ref: r.refund_ref.clone(),
            created_at: rfc3339_ms(r.created_at_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PaymentHistoryOut {
    pub events: Vec<PaymentEventOut>,
    pub refunds: Vec<RefundOut>,
}

/// A payment's history (every callback, verification, reversal and refund) and refunds.
#[utoipa::path(get, path = "/api/v1/payments/{id}/events", tag = "payments",
    params(("id" = String, Path, description = "payment number", pattern = r"^[0-9]{1,18}$")),
    responses((status = 200, body = PaymentHistoryOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PaymentHistoryOut>, ApiError> {
    let (events, refunds) = payments::history(state.app(), &caller, payment_id(&id)?).await?;
    Ok(Json(PaymentHistoryOut {
        events: events.iter().map(PaymentEventOut::from).collect(),
        refunds: refunds.iter().map(RefundOut::from).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptOut {
    /// Compact JWS (EdDSA) over the receipt's claims; verify it with the receipt key at
    /// /.well-known/jwks.json.
    pub receipt: String,
}

/// The signed receipt of a confirmed payment, which verifies offline.
#[utoipa::path(get, path = "/api/v1/payments/{id}/receipt", tag = "payments",
    params(("id" = String, Path, description = "payment number", pattern = r"^[0-9]{1,18}$")),
    responses((status = 200, body = ReceiptOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "not_paid")),
    security(("bearer" = [])))]
pub async fn receipt(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReceiptOut>, ApiError> {
    let receipt = payments::receipt(state.app(), &caller, payment_id(&id)?).await?;
    Ok(Json(ReceiptOut { receipt }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// Whole rials, at most what is left of the payment.
    #[schema(minimum = 1)]
    pub amount_rials: i64,
    /// Why (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Refund part or all of a confirmed payment (the office's manager, or the regulator).
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "payments",
    params(("id" = String, Path, description = "payment number", pattern = r"^[0-9]{1,18}$")),
    request_body = RefundIn,
    responses((status = 201, body = RefundOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "refund_exceeds or a validation code")),
    security(("bearer" = [])))]
pub async fn refund(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RefundIn>,
) -> Result<impl IntoResponse, ApiError> {
    let r = payments::refund(
        state.app(),
        &staff,
        payment_id(&id)?,
        input.amount_rials,
        &input.reason,
        &ctx,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(RefundOut::from(&r))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackIn {
    pub token: String,
    pub order_id: i64,
    /// paid or cancelled.
    #[schema(pattern = r"^(paid|cancelled)$")]
    pub status: String,
    pub ref_num: Option<String>,
    pub amount_rials: i64,
    pub card_mask: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CallbackOut {
    pub status: &'static str,
}

/// The card processor's callback (server to server). Untrusted: it only makes us ask the
/// processor to verify. Duplicates and late callbacks change nothing.
#[utoipa::path(post, path = "/api/v1/payments/callback", tag = "payments", request_body = CallbackIn,
    responses((status = 200, body = CallbackOut),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")))]
pub async fn callback(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<CallbackIn>,
) -> Result<Json<CallbackOut>, ApiError> {
    let paid = match input.status.as_str() {
        "paid" => true,
        "cancelled" => false,
        _ => {
            return Err(ApiError::invalid(
                "bad_callback_status",
                "status",
                "a callback's status is paid or cancelled",
            ));
        }
    };
    if input.token.is_empty() || input.token.len() > 128 {
        return Err(ApiError::App(AppError::NotFound("payment")));
    }
    let bounded =
        |s: Option<String>| s.filter(|s| s.len() <= 64 && s.chars().all(|c| c.is_ascii_graphic()));
    let cb = CallbackInput {
        token: input.token,
        order_id: input.order_id,
        paid,
        ref_num: bounded(input.ref_num),
        amount_rials: input.amount_rials,
        card_mask: bounded(input.card_mask),
    };
    let p = payments::callback(state.app(), &cb).await?;
    Ok(Json(CallbackOut {
        status: p.status.code(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayeeAccountIn {
    /// IR followed by 24 digits.
    #[schema(pattern = r"^IR[0-9]{24}$")]
    pub sheba: String,
    /// The account holder's name (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub holder: String,
}

/// Record where a payee is settled: a manager for their own office
/// (`office:CODE`), the regulator for any office, agency (`agency:CODE`) or `vat_payable`.
#[utoipa::path(put, path = "/api/v1/payees/{account}", tag = "payments",
    params(("account" = String, Path, description = "ledger account, such as office:11000001", pattern = r"^(vat_payable|agency:[a-z][a-z0-9-]{1,23}|office:[1-9][0-9]{7})$")),
    request_body = PayeeAccountIn,
    responses((status = 204, description = "recorded"),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_payee(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiPath(account): ApiPath<String>,
    ApiJson(input): ApiJson<PayeeAccountIn>,
) -> Result<StatusCode, ApiError> {
    let account = Account::parse(&account)?;
    payments::set_payee_account(
        state.app(),
        &staff,
        &account,
        &input.sheba,
        &input.holder,
        &ctx,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SettlementOut {
    pub id: i64,
    pub date: String,
    pub payee: String,
    pub holder: String,
    pub sheba: String,
    pub amount_rials: i64,
    pub payments: i64,
}

impl From<&Settlement> for SettlementOut {
    fn from(s: &Settlement) -> Self {
        Self {
            id: s.id,
            date: s.day.to_string(),
            payee: s.account.code(),
            holder: s.holder.clone(),
            sheba: s.sheba.clone(),
            amount_rials: s.amount.get(),
            payments: s.payments,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayIn {
    /// A past Jalali day, such as 1405-09-15.
    #[schema(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub date: String,
}

/// Settle a past day to the payees' Sheba accounts (regulator; the sweeper does it daily).
#[utoipa::path(post, path = "/api/v1/settlements", tag = "payments", request_body = DayIn,
    responses((status = 201, body = [SettlementOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "already_settled"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "day_not_over")),
    security(("bearer" = [])))]
pub async fn settle(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<DayIn>,
) -> Result<impl IntoResponse, ApiError> {
    let day = jalali("date", &input.date)?;
    let rows = payments::settle_day(state.app(), Some(&staff), day, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(rows.iter().map(SettlementOut::from).collect::<Vec<_>>()),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SettlementQuery {
    /// A Jalali day; the latest days when left out.
    #[param(
        pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$"
    )]
    pub date: Option<String>,
    /// A payee's account (regulator), such as agency:civil-registry.
    #[param(
        pattern = r"^(psp_clearing|vat_payable|refunds|suspense|agency:[a-z][a-z0-9-]{1,23}|office:[1-9][0-9]{7})$"
    )]
    pub payee: Option<String>,
}

/// Settlement rows: all for the regulator, the office's own for its staff.
#[utoipa::path(get, path = "/api/v1/settlements", tag = "payments", params(SettlementQuery),
    responses((status = 200, body = [SettlementOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn settlements(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<SettlementQuery>,
) -> Result<Json<Vec<SettlementOut>>, ApiError> {
    let day = given(&q.date).map(|d| jalali("date", d)).transpose()?;
    let payee = given(&q.payee).map(Account::parse).transpose()?;
    let rows = payments::settlements(state.app(), &staff, day, payee.as_ref()).await?;
    Ok(Json(rows.iter().map(SettlementOut::from).collect()))
}

/// A day's settlement file: CSV, one row per payee (`date,payee,holder,sheba,amount_rials,payments`).
#[utoipa::path(get, path = "/api/v1/settlements/{date}/file", tag = "payments",
    params(("date" = String, Path, description = "Jalali day", pattern = r"^1[0-6][0-9]{2}-(0[1-6]-(0[1-9]|[12][0-9]|3[01])|(0[7-9]|1[01])-(0[1-9]|[12][0-9]|30)|12-(0[1-9]|[12][0-9]))$")),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn settlement_file(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(date): ApiPath<String>,
) -> Result<Response, ApiError> {
    let day = jalali("date", &date)?;
    let csv = payments::settlement_csv(state.app(), &staff, day).await?;
    let disposition = format!("attachment; filename=\"settlement-{day}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub struct MismatchOut {
    pub id: i64,
    /// missing_here, missing_at_processor, wrong_amount or duplicate.
    pub kind: &'static str,
    pub order_id: i64,
    pub ours_rials: Option<i64>,
    pub theirs_rials: Option<i64>,
    /// Parked in suspense: positive when the processor holds more than we know of.
    pub suspense_rials: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReconciliationOut {
    pub id: i64,
    pub date: String,
    pub processor_rows: i64,
    pub our_rows: i64,
    pub matched: i64,
    pub created_by: String,
    pub created_at: String,
    pub mismatches: Vec<MismatchOut>,
}

impl From<&Reconciliation> for ReconciliationOut {
    fn from(r: &Reconciliation) -> Self {
        Self {
            id: r.id,
            date: r.day.to_string(),
            processor_rows: r.processor_rows,
            our_rows: r.our_rows,
            matched: r.matched,
            created_by: r.created_by.clone(),
            created_at: rfc3339_ms(r.created_at_ms),
            mismatches: r
                .mismatches
                .iter()
                .map(|m| MismatchOut {
                    id: m.id,
                    kind: m.mismatch.kind.code(),
                    order_id: m.mismatch.order_id,
                    ours_rials: m.mismatch.ours,
                    theirs_rials: m.mismatch.theirs,
                    suspense_rials: m.mismatch.suspense,
                })
                .collect(),
        }
    }
}

/// Reconcile a past day with the card processor's report (regulator; the sweeper does it
/// daily): every mismatch is listed and parked in suspense.
#[utoipa::path(post, path = "/api/v1/reconciliations", tag = "payments", request_body = DayIn,
    responses((status = 201, body = ReconciliationOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 409, body = ProblemOut, content_type = "application/problem+json", description = "already_reconciled"),
        (status = 422, body = ProblemOut, content_type = "application/problem+json", description = "day_not_over"),
        (status = 502, body = ProblemOut, content_type = "application/problem+json"),
        (status = 503, body = ProblemOut, content_type = "application/problem+json"),
        (status = 504, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reconcile(
    State(state): State<AppState>,
    staff: Staff,
    Ctx(ctx): Ctx,
    ApiJson(input): ApiJson<DayIn>,
) -> Result<impl IntoResponse, ApiError> {
    let day = jalali("date", &input.date)?;
    let r = payments::reconcile_day(state.app(), Some(&staff), day, &ctx).await?;
    Ok((StatusCode::CREATED, Json(ReconciliationOut::from(&r))))
}

/// The latest reconciliations, newest day first (regulator).
#[utoipa::path(get, path = "/api/v1/reconciliations", tag = "payments",
    responses((status = 200, body = [ReconciliationOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reconciliations(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<ReconciliationOut>>, ApiError> {
    let list = payments::reconciliations(state.app(), &staff).await?;
    Ok(Json(list.iter().map(ReconciliationOut::from).collect()))
}

/// One reconciliation with its mismatches (regulator).
#[utoipa::path(get, path = "/api/v1/reconciliations/{id}", tag = "payments",
    params(("id" = String, Path, description = "reconciliation number", pattern = r"^[0-9]{1,18}$")),
    responses((status = 200, body = ReconciliationOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reconciliation(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ReconciliationOut>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::App(AppError::NotFound("reconciliation")))?;
    let r = payments::reconciliation(state.app(), &staff, id).await?;
    Ok(Json(ReconciliationOut::from(&r)))
}

#[derive(Serialize, ToSchema)]
pub struct BalanceOut {
    pub account: String,
    pub debits_pending: i64,
    pub debits_posted: i64,
    pub credits_pending: i64,
    pub credits_posted: i64,
}

/// The ledger's balances: every account for the regulator, the office's commission for its
/// staff.
#[utoipa::path(get, path = "/api/v1/ledger/balances", tag = "payments",
    responses((status = 200, body = [BalanceOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn balances(
    State(state): State<AppState>,
    staff: Staff,
) -> Result<Json<Vec<BalanceOut>>, ApiError> {
    let list = payments::balances(state.app(), &staff).await?;
    Ok(Json(
        list.into_iter()
            .map(|(a, b)| BalanceOut {
                account: a.code(),
                debits_pending: b.debits_pending,
                debits_posted: b.debits_posted,
                credits_pending: b.credits_pending,
                credits_posted: b.credits_posted,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct FindingOut {
    pub id: i64,
    pub office: String,
    /// Such as fee_above_tariff.
    pub kind: String,
    /// The figures the finding rests on (JSON).
    pub evidence: serde_json::Value,
    pub payment: Option<i64>,
    pub created_at: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    #[param(pattern = r"^[1-9][0-9]{7}$")]
    pub office: Option<String>,
}

/// Compliance findings raised by payments (a fee charged above the tariff): the regulator
/// sees all, a manager their office's.
#[utoipa::path(get, path = "/api/v1/findings", tag = "payments", params(FindingQuery),
    responses((status = 200, body = [FindingOut]),
        (status = 403, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn findings(
    State(state): State<AppState>,
    staff: Staff,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> Result<Json<Vec<FindingOut>>, ApiError> {
    let office = given(&q.office).map(parse_office_code).transpose()?;
    let list = payments::findings(state.app(), &staff, office).await?;
    Ok(Json(
        list.iter()
            .map(|f| FindingOut {
                id: f.id,
                office: f.office.to_string(),
                kind: f.kind.clone(),
                evidence: serde_json::from_str(&f.evidence).unwrap_or(serde_json::Value::Null),
                payment: f.payment,
                created_at: rfc3339_ms(f.created_at_ms),
            })
            .collect(),
    ))
}

/// Ask the card processor about a payment that waits on it now (the sweeper does the same
/// for every waiting payment): a lost callback is found, a passed deadline reverses it.
#[utoipa::path(post, path = "/api/v1/payments/{id}/check", tag = "payments",
    params(("id" = String, Path, description = "payment number", pattern = r"^[0-9]{1,18}$")),
    responses((status = 200, body = PaymentOut),
        (status = 403, body = ProblemOut, content_type = "application/problem+json"),
        (status = 404, body = ProblemOut, content_type = "application/problem+json"),
        (status = 503, body = ProblemOut, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn check(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PaymentOut>, ApiError> {
    let view = payments::check(state.app(), &caller, payment_id(&id)?).await?;
    Ok(Json(PaymentOut::from(&view)))
}
