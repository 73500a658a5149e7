//! The verification panel of the operator console and the printable receipt with its QR
//! code. The panel runs the same use cases as the API (`pishkhan_app::identity`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pishkhan_app::AppError;
use pishkhan_app::identity::{
    self, ClaimInput, Verification, VerifyCommand, VerifyPurpose, decision_code,
};
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_identity::Outcome;
use serde::Deserialize;

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};

pub const MESSAGES: &[(&str, &str, &str)] = &[
    (
        "id_title",
        "احراز هویت متقاضی",
        "Verify the applicant's identity",
    ),
    (
        "id_intro",
        "آنچه متقاضی ارائه می‌کند را وارد کنید؛ استعلام از ثبت احوال از راه تبادل ثبت می‌شود.",
        "Enter what the applicant presents; the civil registry is asked through the exchange, and the check is logged.",
    ),
    ("id_national_code", "کد ملی", "National code"),
    ("id_first_name", "نام", "First name"),
    ("id_last_name", "نام خانوادگی", "Last name"),
    (
        "id_father_name",
        "نام پدر (اختیاری)",
        "Father's name (optional)",
    ),
    ("id_birth_date", "تاریخ تولد", "Birth date"),
    ("id_card_serial", "سریال کارت ملی", "National card serial"),
    ("id_mobile", "تلفن همراه (اختیاری)", "Mobile (optional)"),
    ("id_service", "خدمت در حال انجام", "Service being performed"),
    ("id_case", "شماره پرونده", "Case number"),
    ("id_submit", "استعلام و احراز هویت", "Check identity"),
    ("id_decision_verified", "هویت تأیید شد", "Identity verified"),
    (
        "id_decision_rejected",
        "هویت تأیید نشد",
        "Identity rejected",
    ),
    ("id_decision_needs_review", "نیازمند بررسی", "Needs review"),
    ("id_attr_national_code", "کد ملی", "National code"),
    ("id_attr_first_name", "نام", "First name"),
    ("id_attr_last_name", "نام خانوادگی", "Last name"),
    ("id_attr_father_name", "نام پدر", "Father's name"),
    ("id_attr_birth_date", "تاریخ تولد", "Birth date"),
    ("id_attr_card_serial", "سریال کارت", "Card serial"),
    ("id_attr_mobile", "تلفن همراه", "Mobile"),
    ("id_match", "مطابق", "Match"),
    (
        "id_match_normalized",
        "مطابق پس از یکسان‌سازی",
        "Match after normalization",
    ),
    ("id_mismatch", "نامطابق", "Mismatch"),
    ("id_not_given", "ارائه نشده", "Not given"),
    ("id_not_checked", "بررسی نشد", "Not checked"),
    ("id_signals", "هشدارها", "Signals"),
    ("id_print", "چاپ رسید", "Print the receipt"),
    (
        "id_send_code",
        "ارسال کد به همراه متقاضی",
        "Send a code to the applicant's mobile",
    ),
    (
        "id_code_sent",
        "کد پیامک شد؛ آن را از متقاضی بپرسید و وارد کنید.",
        "The code was texted; ask the applicant for it.",
    ),
    ("id_confirm", "تأیید کد", "Confirm the code"),
    (
        "id_second_factor_done",
        "عامل دوم تأیید شد.",
        "Second factor confirmed.",
    ),
    (
        "id_receipt_title",
        "رسید احراز هویت",
        "Identity check receipt",
    ),
    (
        "id_receipt_note",
        "این رسید امضای دیجیتال دارد و بدون اتصال به شبکه با کلید عمومی پیشخوان قابل بررسی است.",
        "This receipt is digitally signed and can be checked offline with Pishkhan's public key.",
    ),
    ("id_verification", "شناسه احراز", "Verification id"),
    ("id_profile", "نسخه قواعد تطبیق", "Matching profile"),
    ("id_operator", "کاربر", "Operator"),
    ("id_when", "زمان", "When"),
    ("id_from_booking", "احراز هویت", "Verify identity"),
    (
        "id_checking",
        "در حال استعلام از ثبت احوال و اپراتور همراه… چند ثانیه صبر کنید.",
        "Checking with the civil registry and the mobile operator… this takes a few seconds.",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/identity", get(form).post(submit))
        .route(
            "/console/identity/{id}/code",
            axum::routing::post(send_code),
        )
        .route(
            "/console/identity/{id}/confirm",
            axum::routing::post(confirm),
        )
        .route("/identity/receipts/{id}", get(receipt))
}

#[derive(Deserialize, Default, Clone)]
pub struct IdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    national_code: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    father_name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    card_serial: String,
    #[serde(default)]
    mobile: String,
    #[serde(default)]
    service_code: String,
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    code: String,
}

struct AttrRow {
    label: String,
    state: &'static str,
    text: String,
}

struct SignalRow {
    code: &'static str,
    message: String,
    message_en: String,
}

/// What the panel shows of a verification.
struct ResultView {
    verification_id: String,
    decision: &'static str,
    signals: Vec<SignalRow>,
    profile_version: String,
    second_factor_available: bool,
    second_factor: bool,
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdPage {
    chrome: Chrome,
    form: IdForm,
    error: Option<String>,
    result: Option<ResultView>,
    decision_label: String,
    attrs: Vec<AttrRow>,
    info: Option<String>,
}

fn attr_rows(page: &PageCtx, v: &Verification) -> Vec<AttrRow> {
    let t = page.t;
    v.evaluation
        .attributes
        .iter()
        .map(|(attr, r)| {
            let (state, key) = match (r.outcome, r.exact) {
                (Outcome::Match, true) => ("ok", "id_match"),
                (Outcome::Match, false) => ("ok", "id_match_normalized"),
                (Outcome::Mismatch, _) => ("bad", "id_mismatch"),
                (Outcome::NotChecked, _) => ("none", "id_not_checked"),
                (Outcome::NotGiven, _) => ("none", "id_not_given"),
            };
            (attr.as_str(), (state, key))
        })
        // In the order of their names, as the panel has always listed them.
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_iter()
        .map(|(name, (state, key))| AttrRow {
            label: t.t(format!("id_attr_{name}")),
            state,
            text: t.t(key),
        })
        .collect()
}

fn view(v: &Verification) -> ResultView {
    ResultView {
        verification_id: v.id.clone(),
        decision: decision_code(v.evaluation.decision),
        signals: v
            .evaluation
            .signals
            .iter()
            .map(|s| SignalRow {
                code: s.code.as_str(),
                message: s.message_fa.clone(),
                message_en: s.message_en.clone(),
            })
            .collect(),
        profile_version: v.evaluation.profile_version.clone(),
        second_factor_available: v.second_factor_available,
        second_factor: v.second_factor,
    }
}

fn show(
    page: &PageCtx,
    form: IdForm,
    result: Option<&Verification>,
    error: Option<String>,
    info: Option<String>,
) -> IdPage {
    let decision_label = result
        .map(|r| {
            page.t.t(format!(
                "id_decision_{}",
                decision_code(r.evaluation.decision)
            ))
        })
        .unwrap_or_default();
    let attrs = result.map(|r| attr_rows(page, r)).unwrap_or_default();
    let mut chrome = page.chrome("console");
    if let Some(s) = &page.staff {
        chrome.csrf = s.csrf_token.clone();
    }
    IdPage {
        chrome,
        form,
        error,
        result: result.map(view),
        decision_label,
        attrs,
        info,
    }
}

#[derive(Deserialize, Default)]
pub struct FromBooking {
    booking: Option<String>,
}

/// The panel, empty or filled from a checked-in booking (`?booking=TRACKING-CODE`).
pub async fn form(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<FromBooking>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let mut f = IdForm::default();
    if let Some(code) = q
        .booking
        .as_deref()
        .and_then(|c| TrackingCode::parse(c).ok())
    {
        let caller = pishkhan_app::Caller::Staff(staff.session.clone());
        // Only a booking at the operator's own office fills the form; anything else leaves it
        // empty, without saying whether the code exists.
        match pishkhan_app::appointments::booking_for(state.app(), &caller, &code).await {
            Ok(b) if staff.actor.office == Some(b.office) => {
                f.national_code = b.national_code.as_str().to_string();
                f.mobile = b.mobile.as_str().to_string();
                f.service_code = b.service.as_str().to_string();
                f.case_id = b.tracking_code.to_string();
            }
            Ok(_) | Err(pishkhan_app::AppError::NotFound(_)) => {}
            Err(e) => return Err(page.fail(e)),
        }
    }
    Ok(render(&show(&page, f, None, None, None)))
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

pub async fn submit(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<IdForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let command = VerifyCommand {
        claim: ClaimInput {
            national_code: form.national_code.clone(),
            first_name: form.first_name.clone(),
            last_name: form.last_name.clone(),
            father_name: opt(&form.father_name),
            birth_date: form.birth_date.clone(),
            card_serial: opt(&form.card_serial),
            mobile: opt(&form.mobile),
        },
        purpose: Some(VerifyPurpose {
            service_code: form.service_code.clone(),
            case_id: form.case_id.clone(),
        }),
    };
    match identity::verify(state.app(), &staff, &ctx, command).await {
        Ok(done) => Ok(render(&show(&page, form, Some(&done), None, None))),
        Err(e @ (AppError::Invalid { .. } | AppError::Conflict { .. })) => {
            let msg = page.t.problem_message(&e.into());
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&show(&page, form, None, Some(msg), None)),
            )
                .into_response())
        }
        Err(e) => Err(page.fail(e)),
    }
}

pub async fn send_code(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<IdForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    identity::send_second_factor(state.app(), &staff, &ctx, &id)
        .await
        .map_err(|e| page.fail(e))?;
    let shown = identity::verification(state.app(), &staff, &id)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&show(
        &page,
        form,
        Some(&shown),
        None,
        Some(page.t.t("id_code_sent")),
    )))
}

pub async fn confirm(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<IdForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?.clone();
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let done = identity::confirm_second_factor(state.app(), &staff, &ctx, &id, &form.code).await;
    let shown = identity::verification(state.app(), &staff, &id)
        .await
        .map_err(|e| page.fail(e))?;
    match done {
        Ok(_) => Ok(render(&show(
            &page,
            form,
            Some(&shown),
            None,
            Some(page.t.t("id_second_factor_done")),
        ))),
        Err(e @ (AppError::Invalid { .. } | AppError::Gone(_))) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&show(
                &page,
                form,
                Some(&shown),
                Some(page.t.problem_message(&e.into())),
                None,
            )),
        )
            .into_response()),
        Err(e) => Err(page.fail(e)),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    chrome: Chrome,
    id: String,
    decision_label: String,
    decision: String,
    office: String,
    operator: String,
    operator_username: String,
    when: String,
    profile: String,
    second_factor: bool,
    receipt: String,
    qr_svg: String,
}

/// The printable receipt: the facts, and a QR code holding the signed receipt itself, so it
/// verifies offline (no log-in page behind the code).
pub async fn receipt(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let v = identity::verification(state.app(), staff, &id)
        .await
        .map_err(|e| page.fail(e))?;
    let qr = qrcode::QrCode::with_error_correction_level(v.receipt.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| {
            page.fail(ApiError::App(AppError::Internal(anyhow::anyhow!(
                "qr: {e}"
            ))))
        })?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    let t = page.t;
    let decision = decision_code(v.evaluation.decision);
    let operator = super::staff_names(&state, vec![v.operator.clone()])
        .await
        .remove(&v.operator)
        .unwrap_or_else(|| v.operator.clone());
    Ok(render(&ReceiptPage {
        chrome: page.chrome("console"),
        id: v.id.clone(),
        decision_label: t.t(format!("id_decision_{decision}")),
        decision: decision.to_string(),
        office: t.num(v.office.get()),
        operator,
        operator_username: v.operator,
        when: t.datetime_ms(v.at_ms),
        profile: v.evaluation.profile_version,
        second_factor: v.second_factor,
        receipt: v.receipt,
        qr_svg,
    }))
}
