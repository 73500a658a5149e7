//! The money screens at the counter and for the citizen: the operator takes a payment for a
//! case (the citizen pays by card on the terminal or the processor's page), one payment's
//! page (its status, shares and payees, where to pay while it waits, its receipt, history
//! and refunds), the citizen's "pay online" for a booked appointment and their payments.
//! Handlers parse, call `pishkhan_app::payments` and render.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_app::AppError;
use pishkhan_app::payments::{self, PaymentRequest, PaymentView};
use pishkhan_domain::NationalCode;
use pishkhan_domain::access::Action;
use pishkhan_domain::ledger::Account;
use pishkhan_domain::model::{LocalizedText, OfficeCode, ServiceCode};
use pishkhan_domain::payment::PaymentStatus;
use pishkhan_domain::schedule::TrackingCode;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{Payment, RefundStatus};
use serde::Deserialize;

use super::citizen::CitizenCtx;
use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::auth::{Caller, Staff};
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;

/// Today's payments the counter page lists.
const TODAY_LISTED: usize = 200;
/// A citizen's payments their page lists.
const CITIZEN_LISTED: usize = 100;
/// How often a payment's page reloads while the card processor has not decided.
const REFRESH_S: u32 = 2;

/// UI strings of the payment pages: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("nav_payments", "پرداخت‌ها", "Payments"),
    ("pay_title", "دریافت هزینه خدمت", "Take a payment"),
    (
        "pay_subtitle",
        "هزینه خدمت را بگیرید: شهروند با کارت، روی کارت‌خوان دفتر یا درگاه پرداخت، می‌پردازد.",
        "Take a service's fee: the citizen pays by card, on the office's terminal or the payment page.",
    ),
    ("pay_service", "خدمت", "Service"),
    ("pay_choose_service", "خدمت را برگزینید", "Choose a service"),
    (
        "pay_national_code",
        "کد ملی پرداخت‌کننده",
        "The payer's national code",
    ),
    (
        "pay_case",
        "شماره پرونده، کد رهگیری یا شماره نوبت",
        "Case reference, tracking code or ticket",
    ),
    ("pay_submit", "ساخت پرداخت", "Create the payment"),
    (
        "pay_no_services",
        "امروز هیچ خدمتی تعرفه ندارد.",
        "No service has a fee today.",
    ),
    ("pay_today", "پرداخت‌های امروز", "Today's payments"),
    (
        "pay_none_today",
        "امروز پرداختی ثبت نشده است.",
        "No payments today.",
    ),
    ("pay_time", "ساعت", "Time"),
    ("pay_case_col", "پرونده", "Case"),
    ("pay_amount", "مبلغ", "Amount"),
    ("pay_status", "وضعیت", "Status"),
    ("pay_office", "دفتر", "Office"),
    ("pay_heading", "پرداخت شماره", "Payment"),
    ("pay_back", "بازگشت به پرداخت‌ها", "Back to payments"),
    ("pay_components", "اجزای هزینه", "What the fee is made of"),
    ("pay_component", "جزء", "Component"),
    ("pay_payee", "واریز به", "Paid to"),
    ("pay_go", "پرداخت با کارت", "Pay by card"),
    (
        "pay_go_hint",
        "این پیوند را روی کارت‌خوان دفتر باز کنید، یا شهروند رمزینه را با گوشی خود بخواند.",
        "Open this link on the office's card terminal, or let the citizen scan the code with a phone.",
    ),
    (
        "pay_qr_label",
        "رمزینه درگاه پرداخت",
        "QR code of the payment page",
    ),
    ("pay_check", "بررسی وضعیت", "Check the status"),
    (
        "pay_waiting_note",
        "این صفحه تا روشن شدن نتیجه پرداخت خودبه‌خود تازه می‌شود.",
        "This page refreshes itself until the payment's outcome is known.",
    ),
    ("pay_receipt", "رسید پرداخت", "Payment receipt"),
    ("pay_ref_num", "شماره مرجع", "Reference number"),
    ("pay_card", "کارت", "Card"),
    ("pay_when", "زمان پرداخت", "Paid at"),
    (
        "pay_receipt_note",
        "این رسید امضای دیجیتال پیشخوان را دارد و بی‌نیاز از اینترنت با کلید عمومی آن وارسی‌پذیر است.",
        "This receipt carries Pishkhan's digital signature and can be checked offline with its public key.",
    ),
    ("pay_print", "چاپ رسید", "Print the receipt"),
    ("pay_history", "رویدادها", "History"),
    ("pay_refunds", "بازپرداخت‌ها", "Refunds"),
    (
        "pay_refund_title",
        "بازپرداخت به شهروند",
        "Refund the citizen",
    ),
    (
        "pay_refund_amount",
        "مبلغ بازپرداخت (ریال)",
        "Amount to refund (rials)",
    ),
    (
        "pay_refund_reason",
        "دلیل بازپرداخت",
        "Reason for the refund",
    ),
    ("pay_refund_submit", "ثبت بازپرداخت", "Refund"),
    (
        "pay_refund_done",
        "بازپرداخت ثبت شد.",
        "The refund was recorded.",
    ),
    ("pay_refunded", "بازپرداخت‌شده", "Refunded"),
    ("pay_left", "قابل بازپرداخت", "Left to refund"),
    (
        "pay_refund_owed",
        "در انتظار بازگشت به کارت",
        "Owed, not yet back on the card",
    ),
    ("pay_refund_paid", "به کارت بازگشت", "Returned to the card"),
    ("pay_channel", "شیوه پرداخت", "Channel"),
    ("pay_channel_counter", "در دفتر", "At the counter"),
    ("pay_channel_online", "برخط", "Online"),
    ("pay_created", "زمان ثبت", "Created"),
    (
        "pay_payee_treasury",
        "خزانه (مالیات بر ارزش افزوده)",
        "Treasury (VAT)",
    ),
    (
        "pay_payee_psp",
        "حساب واسط پرداخت‌یار",
        "Card processor clearing",
    ),
    (
        "pay_payee_refunds",
        "بازپرداخت‌های شهروندان",
        "Refunds owed to citizens",
    ),
    ("pay_payee_suspense", "حساب معلق", "Suspense"),
    ("pay_event_created", "پرداخت ثبت شد", "Payment created"),
    (
        "pay_event_token",
        "درگاه پرداخت آماده شد",
        "The payment page is ready",
    ),
    (
        "pay_event_callback",
        "پرداخت‌یار پرداخت را اعلام کرد",
        "The processor reported the payment",
    ),
    (
        "pay_event_cancelled",
        "پرداخت‌کننده انصراف داد",
        "The payer cancelled",
    ),
    ("pay_event_verified", "پرداخت تأیید شد", "Payment verified"),
    (
        "pay_event_wrong_amount",
        "پرداخت‌یار مبلغی جز تعرفه گزارش کرد",
        "The processor reported another amount than the tariff",
    ),
    (
        "pay_event_reversed",
        "پرداخت برگشت داده شد",
        "Payment reversed",
    ),
    (
        "pay_event_expired",
        "درگاه پرداخت هرگز آماده نشد",
        "The payment page never opened",
    ),
    (
        "pay_event_psp_unreachable",
        "پرداخت‌یار پاسخ نداد",
        "The processor did not answer",
    ),
    (
        "pay_event_callback_mismatch",
        "اعلام ناسازگار پرداخت‌یار",
        "A mismatched callback",
    ),
    (
        "pay_event_duplicate_callback",
        "اعلام تکراری پرداخت‌یار",
        "A repeated callback",
    ),
    (
        "pay_event_late_callback",
        "اعلام دیرهنگام پرداخت‌یار",
        "A late callback",
    ),
    (
        "pay_event_verify_failed",
        "تأیید انجام نشد؛ دوباره تلاش می‌شود",
        "Verification failed; it will be tried again",
    ),
    ("pay_event_refund", "بازپرداخت ثبت شد", "Refund recorded"),
    (
        "pay_event_refund_paid",
        "بازپرداخت به کارت بازگشت",
        "Refund returned to the card",
    ),
    ("c_fee", "هزینه", "Fee"),
    ("c_pay_online", "پرداخت برخط", "Pay online"),
    ("c_paid", "پرداخت شد", "Paid"),
    ("c_see_payment", "دیدن پرداخت", "See the payment"),
    ("c_payments_title", "پرداخت‌های من", "My payments"),
    (
        "c_payments_empty",
        "هنوز پرداختی نکرده‌اید.",
        "You have made no payments yet.",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/payments", get(counter).post(take))
        .route("/payments/{id}", get(show))
        .route("/payments/{id}/check", post(check))
        .route("/payments/{id}/refunds", post(refund))
        .route("/payments/{id}/return", get(back_from_processor))
        .route("/citizen/payments", get(citizen_list))
        .route("/citizen/payments/{id}", get(citizen_show))
        .route("/citizen/payments/{id}/check", post(citizen_check))
        .route("/citizen/bookings/{code}/pay", post(pay_online))
}

// ---- shared -----------------------------------------------------------------------------

/// The badge a status wears in lists.
pub(super) fn badge(status: PaymentStatus) -> &'static str {
    match status {
        PaymentStatus::Verified | PaymentStatus::Settled => "badge-active",
        PaymentStatus::Created | PaymentStatus::Pending | PaymentStatus::Paid => {
            "badge-in_progress"
        }
        PaymentStatus::Refunded => "badge-warned",
        PaymentStatus::Failed | PaymentStatus::Reversed => "badge-revoked",
    }
}

/// Names people use for the ledger's payees (an office's name, an agency's, "Treasury"),
/// each looked up once per page.
pub(super) struct PayeeNames {
    t: Tr,
    agencies: Vec<(String, LocalizedText)>,
    offices: HashMap<OfficeCode, String>,
}

impl PayeeNames {
    pub(super) async fn new(state: &AppState, t: Tr) -> Result<Self, ApiError> {
        let agencies = state
            .store()
            .agencies()
            .await?
            .into_iter()
            .map(|a| (a.code.to_string(), a.name))
            .collect();
        Ok(Self {
            t,
            agencies,
            offices: HashMap::new(),
        })
    }

    pub(super) async fn office(&mut self, state: &AppState, code: OfficeCode) -> String {
        if let Some(name) = self.offices.get(&code) {
            return name.clone();
        }
        let name = match state.store().office(code).await {
            Ok(o) => self.t.text(&o.name),
            Err(_) => self.t.num(code),
        };
        self.offices.insert(code, name.clone());
        name
    }

    pub(super) async fn name(&mut self, state: &AppState, account: &Account) -> String {
        let t = self.t;
        match account {
            Account::AgencyPayable(a) => {
                let code = a.to_string();
                self.agencies
                    .iter()
                    .find(|(c, _)| *c == code)
                    .map(|(_, n)| t.text(n))
                    .unwrap_or(code)
            }
            Account::OfficeCommission(o) => self.office(state, *o).await,
            Account::VatPayable => t.t("pay_payee_treasury"),
            Account::PspClearing => t.t("pay_payee_psp"),
            Account::Refunds => t.t("pay_payee_refunds"),
            Account::Suspense => t.t("pay_payee_suspense"),
        }
    }
}

/// The catalogue's titles by code, for lists of payments.
async fn service_titles(state: &AppState, t: Tr) -> Result<HashMap<String, String>, ApiError> {
    Ok(pishkhan_app::appointments::catalogue(state.app())
        .await?
        .into_iter()
        .map(|(code, title)| (code.as_str().to_string(), t.text(&title)))
        .collect())
}

/// An SVG QR code of `text`, for a page.
fn qr_svg(text: &str) -> Result<String, ApiError> {
    let qr = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::L)
        .map_err(|e| ApiError::App(AppError::Internal(anyhow::anyhow!("qr: {e}"))))?;
    Ok(qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// A payment number from the path: anything else is a payment that does not exist.
fn payment_id(s: &str) -> Result<i64, ApiError> {
    s.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(ApiError::App(AppError::NotFound("payment")))
}

/// A whole number of rials as people type it: Persian digits and thousands separators too.
fn parse_rials(s: &str) -> Result<i64, ApiError> {
    pishkhan_domain::digits::to_ascii_digits(s.trim())
        .replace([',', '٬', ' '], "")
        .parse::<i64>()
        .map_err(|_| ApiError::invalid("bad_amount", "amount_rials", "the amount is whole rials"))
}

/// A fresh idempotency key for a payment form: rendered into the form, so submitting the
/// same form twice is one payment.
fn new_key() -> Result<String, ApiError> {
    crate::auth::new_token().map_err(ApiError::App)
}

// ---- the counter ------------------------------------------------------------------------

#[derive(Deserialize, Default)]
pub struct CounterQuery {
    /// The case to take a payment for, such as a booking's tracking code.
    case: Option<String>,
    service: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
pub struct TakeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    national_code: String,
    #[serde(default)]
    case_id: String,
}

/// One line of a list of payments.
struct PaymentRow {
    link: String,
    number: String,
    time: String,
    service: String,
    case_id: String,
    amount: String,
    status: String,
    badge: &'static str,
}

fn rows(t: Tr, titles: &HashMap<String, String>, list: &[Payment], link: &str) -> Vec<PaymentRow> {
    list.iter()
        .map(|p| PaymentRow {
            link: format!("{link}/{}", p.id),
            number: t.num(p.id),
            time: t.datetime_ms(p.created_at_ms),
            service: titles
                .get(p.service.as_str())
                .cloned()
                .unwrap_or_else(|| p.service.as_str().to_string()),
            case_id: t.num(&p.case_id),
            amount: p.amount.format_rials(t.lang),
            status: t.text(p.status.title()),
            badge: badge(p.status),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "payments.html")]
struct CounterPage {
    chrome: Chrome,
    /// Only an office's own staff take money; the regulator sees the list.
    can_take: bool,
    form: TakeForm,
    /// (code, "title — fee") of the services with a fee today.
    services: Vec<(String, String)>,
    rows: Vec<PaymentRow>,
    error: Option<String>,
}

async fn counter_page(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    form: TakeForm,
    error: Option<String>,
) -> Result<CounterPage, UiError> {
    let t = page.t;
    let fail = |e: ApiError| page.fail(e);
    let can_take = staff
        .actor
        .office
        .is_some_and(|office| staff.permit(Action::TakePayment { office }).is_ok());
    let titles = service_titles(state, t).await.map_err(fail)?;
    let services = if can_take {
        let fees = pishkhan_app::fees::todays_fees(state.app())
            .await
            .map_err(|e| fail(e.into()))?;
        let mut services: Vec<(String, String)> =
            pishkhan_app::appointments::catalogue(state.app())
                .await
                .map_err(|e| fail(e.into()))?
                .into_iter()
                .filter_map(|(code, title)| {
                    let fee = fees.get(&code).filter(|f| f.get() > 0)?;
                    Some((
                        code.as_str().to_string(),
                        format!("{} — {}", t.text(&title), fee.format_rials(t.lang)),
                    ))
                })
                .collect();
        services.sort_by(|a, b| a.1.cmp(&b.1));
        services
    } else {
        Vec::new()
    };
    let today = jalali_today(state.now());
    let list = payments::list(
        state.app(),
        &Caller::Staff(staff.session.clone()),
        None,
        Some(today),
        None,
        TODAY_LISTED,
    )
    .await
    .map_err(|e| fail(e.into()))?;
    Ok(CounterPage {
        chrome: page.chrome("payments"),
        can_take,
        form,
        services,
        rows: rows(t, &titles, &list, "/payments"),
        error,
    })
}

/// The operator's payment step: the form, and today's payments of the office.
pub async fn counter(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<CounterQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let form = TakeForm {
        csrf: String::new(),
        key: new_key().map_err(|e| page.fail(e))?,
        service: q.service.unwrap_or_default(),
        national_code: String::new(),
        // Only what a case reference may hold is echoed back into the form.
        case_id: q
            .case
            .as_deref()
            .and_then(|c| pishkhan_domain::payment::parse_case_id(c).ok())
            .unwrap_or_default(),
    };
    Ok(render(
        &counter_page(&state, &page, staff, form, None).await?,
    ))
}

/// Creates the payment and shows where to pay it; a refusal re-renders the form with what
/// was typed and the reason in the page's language.
pub async fn take(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<TakeForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let outcome = async {
        let req = PaymentRequest {
            service: ServiceCode::parse(form.service.trim())
                .map_err(|e| ApiError::invalid(e.code, "service", e.message))?,
            national_code: NationalCode::parse(&pishkhan_domain::digits::to_ascii_digits(
                form.national_code.trim(),
            ))?,
            case_id: form.case_id.clone(),
        };
        let caller = Caller::Staff(staff.session.clone());
        Ok::<_, ApiError>(payments::start(state.app(), &caller, &form.key, &req, &ctx).await?)
    }
    .await;
    match outcome {
        Ok(view) => Ok(Redirect::to(&format!("/payments/{}", view.payment.id)).into_response()),
        Err(e @ ApiError::App(AppError::Forbidden(_) | AppError::Internal(_))) => Err(page.fail(e)),
        Err(e) => {
            let mut kept = form.clone();
            // The key named another payment: this form is a new one.
            if e.code() == "idempotency_key_reused" || e.code() == "bad_idempotency_key" {
                kept.key = new_key().map_err(|e| page.fail(e))?;
            }
            let view =
                counter_page(&state, &page, staff, kept, Some(page.t.problem_message(&e))).await?;
            Ok((e.status(), render(&view)).into_response())
        }
    }
}

// ---- one payment ------------------------------------------------------------------------

struct ReceiptView {
    jws: String,
    qr_svg: String,
    ref_num: String,
    card_mask: String,
    when: String,
}

struct RefundRow {
    when: String,
    amount: String,
    reason: String,
    status: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct RefundForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount_rials: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    chrome: Chrome,
    /// Where the check button posts, and its CSRF token (the staff's or the citizen's).
    check_action: String,
    csrf: String,
    back: String,
    id: i64,
    number: String,
    status_code: &'static str,
    status: String,
    badge: &'static str,
    /// The processor has not decided yet: the page reloads itself.
    waiting: bool,
    refresh_s: u32,
    amount_rials: String,
    amount_tomans: String,
    service: String,
    service_code: String,
    office: String,
    office_code: String,
    case_id: String,
    channel: String,
    created: String,
    tariff_from: String,
    refunded: Option<String>,
    /// (component, payee, amount)
    components: Vec<(String, String, String)>,
    pay_url: Option<String>,
    pay_qr: String,
    /// Go on to the processor's page at once (the citizen's "pay online").
    go: bool,
    receipt: Option<ReceiptView>,
    /// (when, what happened, status)
    events: Vec<(String, String, String)>,
    refunds: Vec<RefundRow>,
    can_refund: bool,
    refund_left: String,
    refund: RefundForm,
    notice: Option<String>,
    error: Option<String>,
}

/// What the page needs to know about who is looking.
struct Viewer<'a> {
    caller: Caller,
    staff: Option<&'a Staff>,
    chrome: Chrome,
    csrf: String,
    check_action: String,
    back: String,
}

async fn payment_page(
    state: &AppState,
    t: Tr,
    viewer: Viewer<'_>,
    view: PaymentView,
    refund: RefundForm,
    notice: Option<String>,
    error: Option<String>,
) -> Result<PaymentPage, ApiError> {
    let p = &view.payment;
    let lang = t.lang;
    let mut names = PayeeNames::new(state, t).await?;
    let mut components = Vec::with_capacity(p.legs.len());
    for leg in &p.legs {
        components.push((
            t.text(leg.kind.title()),
            names.name(state, &leg.account).await,
            leg.amount.format_rials(lang),
        ));
    }
    let office = names.office(state, p.office).await;
    let service = service_titles(state, t)
        .await?
        .remove(p.service.as_str())
        .unwrap_or_else(|| p.service.as_str().to_string());
    let confirmed = p.status.counts_as_paid() || p.status == PaymentStatus::Refunded;
    let receipt = if confirmed {
        match payments::receipt(state.app(), &viewer.caller, p.id).await {
            Ok(jws) => Some(ReceiptView {
                qr_svg: qr_svg(&jws)?,
                jws,
                ref_num: t.num(p.ref_num.as_deref().unwrap_or_default()),
                card_mask: t.num(p.card_mask.as_deref().unwrap_or_default()),
                when: p
                    .verified_at_ms
                    .map(|ms| t.datetime_ms(ms))
                    .unwrap_or_default(),
            }),
            // The receipt key lives with the exchange runtime; without it the page still
            // shows the payment.
            Err(AppError::Conflict { .. } | AppError::ExchangeNotConfigured) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let (events, refunds) = payments::history(state.app(), &viewer.caller, p.id).await?;
    let events = events
        .iter()
        .map(|e| {
            let key = format!("pay_event_{}", e.event);
            let what = t.t(&key);
            let what = if what.starts_with('⟦') {
                t.text(e.status.title())
            } else {
                what
            };
            (t.datetime_ms(e.at_ms), what, t.text(e.status.title()))
        })
        .collect();
    let refunds = refunds
        .iter()
        .map(|r| RefundRow {
            when: t.datetime_ms(r.created_at_ms),
            amount: r.amount.format_rials(lang),
            reason: r.reason.clone(),
            status: t.t(match r.status {
                RefundStatus::Owed => "pay_refund_owed",
                RefundStatus::Paid => "pay_refund_paid",
            }),
        })
        .collect();
    let left = p.amount.get() - p.refunded.get();
    let can_refund = p.status.counts_as_paid()
        && left > 0
        && viewer
            .staff
            .is_some_and(|s| s.permit(Action::RefundPayment { office: p.office }).is_ok());
    let waiting = matches!(
        p.status,
        PaymentStatus::Created | PaymentStatus::Pending | PaymentStatus::Paid
    );
    let pay_qr = match &view.pay_url {
        Some(url) => qr_svg(url)?,
        None => String::new(),
    };
    let refund_left = pishkhan_domain::money::Rials::new(left.max(0))
        .map(|r| r.format_rials(lang))
        .unwrap_or_default();
    Ok(PaymentPage {
        chrome: viewer.chrome,
        check_action: viewer.check_action,
        csrf: viewer.csrf,
        back: viewer.back,
        id: p.id,
        number: t.num(p.id),
        status_code: p.status.code(),
        status: t.text(p.status.title()),
        badge: badge(p.status),
        waiting,
        refresh_s: REFRESH_S,
        amount_rials: p.amount.format_rials(lang),
        amount_tomans: p.amount.format_tomans(lang),
        service,
        service_code: p.service.as_str().to_string(),
        office,
        office_code: t.num(p.office),
        case_id: t.num(&p.case_id),
        channel: t.t(format!("pay_channel_{}", p.channel.code())),
        created: t.datetime_ms(p.created_at_ms),
        tariff_from: p.tariff_from.format_long(lang),
        refunded: (p.refunded.get() > 0).then(|| p.refunded.format_rials(lang)),
        components,
        pay_url: view.pay_url.clone(),
        pay_qr,
        go: false,
        receipt,
        events,
        refunds,
        can_refund,
        refund_left,
        refund,
        notice,
        error,
    })
}

fn staff_viewer<'a>(page: &PageCtx, staff: &'a Staff, id: i64) -> Viewer<'a> {
    Viewer {
        caller: Caller::Staff(staff.session.clone()),
        staff: Some(staff),
        chrome: page.chrome("payments"),
        csrf: staff.csrf_token.clone(),
        check_action: format!("/payments/{id}/check"),
        back: "/payments".into(),
    }
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    done: Option<String>,
}

/// One payment: its office's staff and the regulator. A signed-in citizen is sent to their
/// own page of it.
pub async fn show(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ShowQuery>,
) -> Result<Response, UiError> {
    let id = payment_id(&id).map_err(|e| page.fail(e))?;
    let Some(staff) = page.staff.as_ref() else {
        return Ok(Redirect::to(&format!("/citizen/payments/{id}")).into_response());
    };
    let viewer = staff_viewer(&page, staff, id);
    let view = payments::get(state.app(), &viewer.caller, id)
        .await
        .map_err(|e| page.fail(e))?;
    let notice = (q.done.as_deref() == Some("refund")).then(|| page.t.t("pay_refund_done"));
    let body = payment_page(
        &state,
        page.t,
        viewer,
        view,
        RefundForm::default(),
        notice,
        None,
    )
    .await
    .map_err(|e| page.fail(e))?;
    Ok(render(&body))
}

#[derive(Deserialize, Default)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Asks the processor about the payment now, then shows it again.
pub async fn check(
    State(state): State<AppState>,
    page: PageCtx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = payment_id(&id).map_err(|e| page.fail(e))?;
    let caller = Caller::Staff(staff.session.clone());
    match payments::check(state.app(), &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/payments/{id}")).into_response()),
        Err(e @ (AppError::Upstream { .. } | AppError::Unavailable)) => {
            let e = ApiError::App(e);
            let view = payments::get(state.app(), &caller, id)
                .await
                .map_err(|e| page.fail(e))?;
            let viewer = staff_viewer(&page, staff, id);
            let message = page.t.problem_message(&e);
            let body = payment_page(
                &state,
                page.t,
                viewer,
                view,
                RefundForm::default(),
                None,
                Some(message),
            )
            .await
            .map_err(|e| page.fail(e))?;
            Ok((e.status(), render(&body)).into_response())
        }
        Err(e) => Err(page.fail(e)),
    }
}

/// A refund (the office's manager, or the regulator): back to the payment, or the payment
/// with the refusal and the typed amount and reason.
pub async fn refund(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<RefundForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = payment_id(&id).map_err(|e| page.fail(e))?;
    let outcome = async {
        let amount = parse_rials(&form.amount_rials)?;
        payments::refund(state.app(), staff, id, amount, &form.reason, &ctx)
            .await
            .map_err(ApiError::App)
    }
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/payments/{id}?done=refund")).into_response()),
        Err(e @ ApiError::App(AppError::Forbidden(_) | AppError::NotFound(_))) => Err(page.fail(e)),
        Err(e) => {
            let viewer = staff_viewer(&page, staff, id);
            let view = payments::get(state.app(), &viewer.caller, id)
                .await
                .map_err(|e| page.fail(e))?;
            let message = page.t.problem_message(&e);
            let body = payment_page(&state, page.t, viewer, view, form, None, Some(message))
                .await
                .map_err(|e| page.fail(e))?;
            Ok((e.status(), render(&body)).into_response())
        }
    }
}

/// Where the processor sends the payer back: the staff's page of the payment, or the
/// citizen's.
pub async fn back_from_processor(page: PageCtx, Path(id): Path<String>) -> Response {
    let Ok(id) = payment_id(&id) else {
        return page
            .fail(ApiError::App(AppError::NotFound("payment")))
            .into_response();
    };
    if page.staff.is_some() {
        Redirect::to(&format!("/payments/{id}")).into_response()
    } else {
        Redirect::to(&format!("/citizen/payments/{id}")).into_response()
    }
}

// ---- the citizen ------------------------------------------------------------------------

fn citizen_viewer(c: &CitizenCtx, caller: Caller, id: i64) -> Viewer<'static> {
    Viewer {
        caller,
        staff: None,
        chrome: c.chrome(),
        csrf: c.csrf().to_string(),
        check_action: format!("/citizen/payments/{id}/check"),
        back: "/citizen/payments".into(),
    }
}

#[derive(Template)]
#[template(path = "citizen_payments.html")]
struct CitizenPaymentsPage {
    chrome: Chrome,
    rows: Vec<PaymentRow>,
    error: Option<String>,
}

async fn citizen_payments(
    state: &AppState,
    c: &CitizenCtx,
    caller: &Caller,
    error: Option<String>,
) -> Result<CitizenPaymentsPage, UiError> {
    let t = c.t();
    let titles = service_titles(state, t).await.map_err(|e| c.fail(e))?;
    let list = payments::list(state.app(), caller, None, None, None, CITIZEN_LISTED)
        .await
        .map_err(|e| c.fail(e))?;
    Ok(CitizenPaymentsPage {
        chrome: c.chrome(),
        rows: rows(t, &titles, &list, "/citizen/payments"),
        error,
    })
}

/// The citizen's payments, newest first, each with its status and a link to its receipt.
pub async fn citizen_list(
    State(state): State<AppState>,
    c: CitizenCtx,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    let body = citizen_payments(&state, &c, &caller, None).await?;
    Ok(c.page(StatusCode::OK, &body))
}

/// One of the citizen's own payments; another's is not found. With `go`, a payment that
/// waits for the card goes on to the processor's page.
pub async fn citizen_show(
    State(state): State<AppState>,
    c: CitizenCtx,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<GoQuery>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    let id = payment_id(&id).map_err(|e| c.fail(e))?;
    let view = payments::get(state.app(), &caller, id)
        .await
        .map_err(|e| c.fail(e))?;
    let viewer = citizen_viewer(&c, caller, id);
    let mut body = payment_page(
        &state,
        c.t(),
        viewer,
        view,
        RefundForm::default(),
        None,
        None,
    )
    .await
    .map_err(|e| c.fail(e))?;
    body.go = q.go.is_some() && body.pay_url.is_some();
    Ok(c.page(StatusCode::OK, &body))
}

#[derive(Deserialize, Default)]
pub struct GoQuery {
    go: Option<String>,
}

pub async fn citizen_check(
    State(state): State<AppState>,
    c: CitizenCtx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    c.check_csrf(&form.csrf)?;
    let id = payment_id(&id).map_err(|e| c.fail(e))?;
    match payments::check(state.app(), &caller, id).await {
        Ok(_) => Ok(Redirect::to(&format!("/citizen/payments/{id}")).into_response()),
        Err(e @ (AppError::Upstream { .. } | AppError::Unavailable)) => {
            let e = ApiError::App(e);
            let view = payments::get(state.app(), &caller, id)
                .await
                .map_err(|e| c.fail(e))?;
            let message = c.t().problem_message(&e);
            let viewer = citizen_viewer(&c, caller, id);
            let body = payment_page(
                &state,
                c.t(),
                viewer,
                view,
                RefundForm::default(),
                None,
                Some(message),
            )
            .await
            .map_err(|e| c.fail(e))?;
            Ok(c.page(e.status(), &body))
        }
        Err(e) => Err(c.fail(e)),
    }
}

#[derive(Deserialize, Default)]
pub struct PayOnlineForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    key: String,
}

/// "Pay online" on a booked appointment: the payment is made for the booking (its tracking
/// code is the case) and the citizen goes on to the processor's page.
pub async fn pay_online(
    State(state): State<AppState>,
    c: CitizenCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<PayOnlineForm>,
) -> Result<Response, UiError> {
    let Some(caller) = c.citizen() else {
        return Ok(super::citizen::to_login());
    };
    c.check_csrf(&form.csrf)?;
    let code = TrackingCode::parse(&code)
        .map_err(|_| c.fail(ApiError::App(AppError::NotFound("booking"))))?;
    let outcome = async {
        let booking = pishkhan_app::appointments::booking_for(state.app(), &caller, &code).await?;
        let req = PaymentRequest {
            service: booking.service.clone(),
            national_code: booking.national_code.clone(),
            case_id: code.to_string(),
        };
        payments::start(state.app(), &caller, &form.key, &req, &ctx).await
    }
    .await;
    match outcome {
        // Not straight to the processor: the pages' CSP (`form-action 'self'`) refuses a
        // form whose answer redirects to another origin. The payment's page goes on by
        // script, and shows the processor's link without one.
        Ok(view) => Ok(
            Redirect::to(&format!("/citizen/payments/{}?go=1", view.payment.id)).into_response(),
        ),
        Err(e @ (AppError::Internal(_) | AppError::Forbidden(_))) => Err(c.fail(e)),
        Err(e) => {
            let e = ApiError::App(e);
            let message = c.t().problem_message(&e);
            let body = citizen_payments(&state, &c, &caller, Some(message)).await?;
            Ok(c.page(e.status(), &body))
        }
    }
}

/// What the citizen's list of appointments says about paying for one: its fee today and,
/// when it is paid, its payment. `None` when payments are off or the service is free.
pub(super) struct BookingFee {
    pub(super) fee: String,
    pub(super) paid: Option<String>,
}

/// The fee and payment of each of a citizen's bookings, by tracking code.
pub(super) async fn booking_fees(
    state: &AppState,
    t: Tr,
    caller: &Caller,
    bookings: &[(String, ServiceCode)],
) -> Result<HashMap<String, BookingFee>, ApiError> {
    let mut out = HashMap::new();
    if state.app().payments_runtime().is_none() || bookings.is_empty() {
        return Ok(out);
    }
    let fees = pishkhan_app::fees::todays_fees(state.app()).await?;
    let paid: HashMap<String, i64> =
        payments::list(state.app(), caller, None, None, None, CITIZEN_LISTED)
            .await?
            .into_iter()
            .filter(|p| p.status.counts_as_paid())
            .map(|p| (p.case_id, p.id))
            .collect();
    for (code, service) in bookings {
        if let Some(fee) = fees.get(service).filter(|f| f.get() > 0) {
            out.insert(
                code.clone(),
                BookingFee {
                    fee: fee.format_rials(t.lang),
                    paid: paid.get(code).map(|id| format!("/citizen/payments/{id}")),
                },
            );
        }
    }
    Ok(out)
}

/// A fresh key for a "pay online" form.
pub(super) fn pay_key() -> Result<String, ApiError> {
    new_key()
}
