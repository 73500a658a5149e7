//! Where the money went: each day's settlement to the payees' Sheba accounts (and its CSV
//! file), reconciliation with the card processor's report and its mismatches, the ledger's
//! balances and the compliance findings. The regulator sees and runs all of it; an office's
//! manager sees the office's share, commission and findings, and names its Sheba account.
//! Handlers parse, call `pishkhan_app::payments` and render.

use std::collections::BTreeMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_app::AppError;
use pishkhan_app::payments;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::ledger::{Account, Balance};
use pishkhan_domain::model::Lang;
use pishkhan_domain::money::Rials;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{Finding, Reconciliation, Settlement};
use serde::Deserialize;

use super::payments::PayeeNames;
use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;

/// Reconciliations shown with their mismatches: one read each.
const RECONCILIATIONS_SHOWN: usize = 10;
/// Findings shown.
const FINDINGS_SHOWN: usize = 50;

/// UI strings of the settlement page: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("nav_settlements", "تسویه‌ها", "Settlements"),
    ("st_title", "تسویه و تطبیق", "Settlement and reconciliation"),
    (
        "st_subtitle",
        "سهم هر ذی‌نفع از پرداخت‌های هر روز، تطبیق با گزارش پرداخت‌یار، مانده‌های دفتر کل و یافته‌های نظارتی",
        "Each payee's share of each day's payments, reconciliation with the card processor's report, the ledger's balances and compliance findings",
    ),
    (
        "st_subtitle_office",
        "سهم دفتر از پرداخت‌های هر روز، مانده کارمزد دفتر و حساب شبای تسویه آن",
        "The office's share of each day's payments, its commission balance and its Sheba account",
    ),
    ("st_settle", "تسویه یک روز", "Settle a day"),
    ("st_settle_submit", "تسویه", "Settle"),
    ("st_reconcile", "تطبیق یک روز", "Reconcile a day"),
    (
        "st_reconcile_submit",
        "تطبیق با گزارش پرداخت‌یار",
        "Reconcile with the processor's report",
    ),
    ("st_date", "روز (تاریخ خورشیدی)", "Day (Jalali date)"),
    ("st_settled_done", "تسویه انجام شد:", "Settled:"),
    ("st_reconciled_done", "تطبیق انجام شد:", "Reconciled:"),
    (
        "st_payee_done",
        "حساب شبا ثبت شد.",
        "The Sheba account was saved.",
    ),
    ("st_days", "تسویه‌های روزانه", "Daily settlements"),
    (
        "st_none",
        "هنوز روزی تسویه نشده است.",
        "No day has been settled yet.",
    ),
    ("st_day", "تسویه روز", "Settlement of"),
    ("st_payee", "ذی‌نفع", "Payee"),
    ("st_holder", "صاحب حساب", "Account holder"),
    ("st_sheba", "شماره شبا", "Sheba number"),
    ("st_amount", "مبلغ", "Amount"),
    ("st_payments", "شمار پرداخت‌ها", "Payments"),
    ("st_total", "جمع", "Total"),
    ("st_file", "فایل تسویه (CSV)", "Settlement file (CSV)"),
    ("st_recs", "تطبیق با پرداخت‌یار", "Reconciliations"),
    (
        "st_recs_none",
        "هنوز تطبیقی انجام نشده است.",
        "No reconciliation yet.",
    ),
    ("st_rec_of", "تطبیق روز", "Reconciliation of"),
    ("st_rows_processor", "ردیف‌های پرداخت‌یار", "Processor's rows"),
    ("st_rows_ours", "ردیف‌های ما", "Our rows"),
    ("st_matched", "هم‌خوان", "Matched"),
    (
        "st_no_mismatch",
        "همه ردیف‌ها هم‌خوان بودند.",
        "Every row matched.",
    ),
    ("st_kind", "ناهمخوانی", "Mismatch"),
    ("st_order", "شماره سفارش", "Order"),
    ("st_ours", "نزد ما", "Ours"),
    ("st_theirs", "نزد پرداخت‌یار", "Processor's"),
    ("st_suspense", "به حساب معلق", "To suspense"),
    ("st_balances", "مانده‌های دفتر کل", "Ledger balances"),
    (
        "st_commission",
        "مانده کارمزد دفتر",
        "The office's commission",
    ),
    ("st_account", "حساب", "Account"),
    ("st_debits", "بدهکار قطعی", "Posted debits"),
    ("st_credits", "بستانکار قطعی", "Posted credits"),
    ("st_pending", "در انتظار تأیید", "Pending"),
    ("st_balance", "مانده", "Balance"),
    (
        "st_all_offices",
        "کارمزد همه دفاتر",
        "All offices' commissions",
    ),
    ("st_findings", "یافته‌های نظارتی", "Compliance findings"),
    ("st_findings_none", "یافته‌ای ثبت نشده است.", "No findings."),
    (
        "st_finding_fee_above_tariff",
        "دریافت بیش از تعرفه",
        "Charged above the tariff",
    ),
    ("st_finding", "یافته", "Finding"),
    ("st_tariff", "تعرفه", "Tariff"),
    ("st_charged", "دریافت‌شده", "Charged"),
    ("st_payment", "پرداخت", "Payment"),
    ("st_office", "دفتر", "Office"),
    ("st_when", "زمان", "When"),
    (
        "st_payee_form",
        "حساب شبای تسویه دفتر",
        "The office's Sheba account for settlement",
    ),
    (
        "st_payee_form_any",
        "حساب شبای یک ذی‌نفع",
        "A payee's Sheba account",
    ),
    ("st_payee_submit", "ثبت حساب", "Save the account"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settlements", get(page))
        .route("/settlements/settle", post(settle))
        .route("/settlements/reconcile", post(reconcile))
        .route("/settlements/payee", post(payee))
        .route("/settlements/{date}/file", get(file))
}

/// A Jalali day as typed: Persian digits too.
fn parse_day(s: &str) -> Result<JalaliDate, ApiError> {
    JalaliDate::parse(&pishkhan_domain::digits::to_ascii_digits(s.trim()))
        .map_err(|e| ApiError::invalid(e.code, "date", e.message))
}

/// An amount that may be below zero (a balance), in the page's language.
fn signed(n: i64, lang: Lang) -> String {
    match Rials::new(n.unsigned_abs().min(i64::MAX as u64) as i64) {
        Ok(r) if n < 0 => format!("−{}", r.format_rials(lang)),
        Ok(r) => r.format_rials(lang),
        Err(_) => pishkhan_domain::digits::localize_digits(&n.to_string(), lang),
    }
}

fn rials(r: Rials, lang: Lang) -> String {
    r.format_rials(lang)
}

struct SettlementRow {
    payee: String,
    holder: String,
    sheba: String,
    amount: String,
    payments: String,
}

struct DayView {
    date: String,
    label: String,
    file: String,
    rows: Vec<SettlementRow>,
    total: String,
}

struct MismatchRow {
    kind: String,
    order: String,
    ours: String,
    theirs: String,
    suspense: String,
}

struct ReconciliationView {
    label: String,
    processor_rows: String,
    our_rows: String,
    matched: String,
    mismatches: Vec<MismatchRow>,
}

struct BalanceRow {
    account: String,
    debits: String,
    credits: String,
    pending: String,
    balance: String,
}

struct FindingRow {
    when: String,
    office: String,
    kind: String,
    tariff: String,
    charged: String,
    payment: Option<(String, String)>,
}

#[derive(Deserialize, Default, Clone)]
pub struct DayForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    date: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct PayeeForm {
    #[serde(default)]
    csrf: String,
    /// The regulator's choice; a manager always names their own office.
    #[serde(default)]
    account: String,
    #[serde(default)]
    sheba: String,
    #[serde(default)]
    holder: String,
}

#[derive(Template)]
#[template(path = "settlements.html")]
struct SettlementsPage {
    chrome: Chrome,
    regulator: bool,
    can_set_payee: bool,
    /// (account code, name) the regulator may name a Sheba account for.
    payees: Vec<(String, String)>,
    settle: DayForm,
    reconcile: DayForm,
    payee: PayeeForm,
    days: Vec<DayView>,
    reconciliations: Vec<ReconciliationView>,
    balances: Vec<BalanceRow>,
    findings: Vec<FindingRow>,
    notice: Option<String>,
    error: Option<String>,
}

fn balance_row(account: String, b: &Balance, lang: Lang) -> BalanceRow {
    BalanceRow {
        account,
        debits: signed(b.debits_posted, lang),
        credits: signed(b.credits_posted, lang),
        pending: signed(b.credits_pending - b.debits_pending, lang),
        balance: signed(b.credits_posted - b.debits_posted, lang),
    }
}

/// The regulator sees the main accounts one by one and every office's commission as one
/// line (there is one per office); an office's staff see its own.
async fn balances(
    state: &AppState,
    names: &mut PayeeNames,
    staff: &Staff,
    t: Tr,
) -> Result<Vec<BalanceRow>, ApiError> {
    let lang = t.lang;
    let all = payments::balances(state.app(), staff).await?;
    let mut rows = Vec::new();
    let mut offices = Balance::default();
    let mut office_count = 0u64;
    for (account, b) in &all {
        match account {
            Account::OfficeCommission(_) if staff.actor.office.is_none() => {
                offices.debits_pending += b.debits_pending;
                offices.debits_posted += b.debits_posted;
                offices.credits_pending += b.credits_pending;
                offices.credits_posted += b.credits_posted;
                office_count += 1;
            }
            _ => rows.push(balance_row(names.name(state, account).await, b, lang)),
        }
    }
    if office_count > 0 {
        let label = format!("{} ({})", t.t("st_all_offices"), t.count(office_count));
        rows.push(balance_row(label, &offices, lang));
    }
    Ok(rows)
}

async fn days(
    state: &AppState,
    names: &mut PayeeNames,
    staff: &Staff,
    t: Tr,
) -> Result<Vec<DayView>, ApiError> {
    let rows = payments::settlements(state.app(), staff, None, None).await?;
    let mut by_day: BTreeMap<JalaliDate, Vec<Settlement>> = BTreeMap::new();
    for s in rows {
        by_day.entry(s.day).or_default().push(s);
    }
    let mut out = Vec::new();
    // Newest day first.
    for (day, list) in by_day.into_iter().rev() {
        let mut rows = Vec::with_capacity(list.len());
        let mut total = 0i64;
        for s in &list {
            total = total.saturating_add(s.amount.get());
            rows.push(SettlementRow {
                payee: names.name(state, &s.account).await,
                holder: s.holder.clone(),
                sheba: pishkhan_domain::Sheba::parse(&s.sheba)
                    .map(|sh| sh.formatted())
                    .unwrap_or_else(|_| s.sheba.clone()),
                amount: rials(s.amount, t.lang),
                payments: t.count(s.payments.max(0) as u64),
            });
        }
        out.push(DayView {
            date: t.num(day),
            label: t.date(day),
            file: format!("/settlements/{day}/file"),
            rows,
            total: signed(total, t.lang),
        });
    }
    Ok(out)
}

fn optional(n: Option<i64>, lang: Lang) -> String {
    n.map(|n| signed(n, lang)).unwrap_or_else(|| "—".into())
}

async fn reconciliations(
    state: &AppState,
    staff: &Staff,
    t: Tr,
) -> Result<Vec<ReconciliationView>, ApiError> {
    let list = payments::reconciliations(state.app(), staff).await?;
    let mut out = Vec::new();
    for r in list.iter().take(RECONCILIATIONS_SHOWN) {
        let full: Reconciliation = payments::reconciliation(state.app(), staff, r.id).await?;
        out.push(ReconciliationView {
            label: t.date(full.day),
            processor_rows: t.count(full.processor_rows.max(0) as u64),
            our_rows: t.count(full.our_rows.max(0) as u64),
            matched: t.count(full.matched.max(0) as u64),
            mismatches: full
                .mismatches
                .iter()
                .map(|m| MismatchRow {
                    kind: t.text(m.mismatch.kind.title()),
                    order: t.num(m.mismatch.order_id),
                    ours: optional(m.mismatch.ours, t.lang),
                    theirs: optional(m.mismatch.theirs, t.lang),
                    suspense: signed(m.mismatch.suspense, t.lang),
                })
                .collect(),
        });
    }
    Ok(out)
}

async fn findings(
    state: &AppState,
    names: &mut PayeeNames,
    staff: &Staff,
    t: Tr,
    link: &str,
) -> Result<Vec<FindingRow>, ApiError> {
    let list: Vec<Finding> = payments::findings(state.app(), staff, None).await?;
    let mut out = Vec::new();
    for f in list.iter().take(FINDINGS_SHOWN) {
        // The evidence is our own JSON; a figure missing from it is shown as a dash.
        let evidence: serde_json::Value =
            serde_json::from_str(&f.evidence).unwrap_or(serde_json::Value::Null);
        let figure = |k: &str| optional(evidence[k].as_i64(), t.lang);
        // The money's own findings, or the compliance rules' that the list also holds.
        let kind = [
            format!("st_finding_{}", f.kind),
            format!("cp_rule_{}", f.kind),
        ]
        .into_iter()
        .map(|key| t.t(key))
        .find(|text| !text.starts_with('⟦'))
        .unwrap_or_else(|| f.kind.clone());
        out.push(FindingRow {
            when: t.datetime_ms(f.created_at_ms),
            office: names.office(state, f.office).await,
            kind,
            tariff: figure("tariff_rials"),
            charged: figure("charged_rials"),
            payment: f.payment.map(|id| (format!("{link}/{id}"), t.num(id))),
        });
    }
    Ok(out)
}

/// Who may see the page at all: the regulator, or an office's staff.
fn viewer(page: &PageCtx) -> Result<&Staff, UiError> {
    let staff = page.require_staff()?;
    staff
        .permit(Action::ViewPayments {
            office: staff.actor.office,
        })
        .map_err(|d| page.fail(ApiError::App(AppError::Forbidden(d))))?;
    Ok(staff)
}

struct Forms {
    settle: DayForm,
    reconcile: DayForm,
    payee: PayeeForm,
}

impl Forms {
    fn fresh(state: &AppState) -> Self {
        let yesterday = jalali_today(state.now()).add_days(-1).to_string();
        Self {
            settle: DayForm {
                csrf: String::new(),
                date: yesterday.clone(),
            },
            reconcile: DayForm {
                csrf: String::new(),
                date: yesterday,
            },
            payee: PayeeForm::default(),
        }
    }
}

async fn build(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    forms: Forms,
    notice: Option<String>,
    error: Option<String>,
) -> Result<SettlementsPage, ApiError> {
    let t = page.t;
    let regulator = staff.actor.office.is_none();
    let mut names = PayeeNames::new(state, t).await?;
    let can_set_payee = staff
        .permit(Action::SetPayeeAccount {
            office: staff.actor.office,
        })
        .is_ok();
    let payees = if regulator && can_set_payee {
        let mut list = vec![(Account::VatPayable.code(), t.t("pay_payee_treasury"))];
        for a in state.store().agencies().await? {
            list.push((
                Account::AgencyPayable(a.code.clone()).code(),
                t.text(&a.name),
            ));
        }
        list
    } else {
        Vec::new()
    };
    let mut forms = forms;
    // A manager's form shows the account on file, until they type another.
    if let (Some(office), true) = (staff.actor.office, forms.payee.sheba.is_empty())
        && let Some(on_file) = state
            .store()
            .payee_account(&Account::OfficeCommission(office))
            .await?
    {
        forms.payee.sheba = on_file.sheba.as_str().to_string();
        forms.payee.holder = on_file.holder;
    }
    Ok(SettlementsPage {
        chrome: page.chrome("settlements"),
        regulator,
        can_set_payee,
        payees,
        settle: forms.settle,
        reconcile: forms.reconcile,
        payee: forms.payee,
        days: days(state, &mut names, staff, t).await?,
        reconciliations: if regulator {
            reconciliations(state, staff, t).await?
        } else {
            Vec::new()
        },
        balances: balances(state, &mut names, staff, t).await?,
        findings: findings(state, &mut names, staff, t, "/payments").await?,
        notice,
        error,
    })
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    done: Option<String>,
    date: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, UiError> {
    let staff = viewer(&page)?;
    let t = page.t;
    // Only a date that parses is echoed back, in the page's own words.
    let day = q.date.as_deref().and_then(|d| parse_day(d).ok());
    let notice = match (q.done.as_deref(), day) {
        (Some("settled"), Some(d)) => Some(format!("{} {}", t.t("st_settled_done"), t.date(d))),
        (Some("reconciled"), Some(d)) => {
            Some(format!("{} {}", t.t("st_reconciled_done"), t.date(d)))
        }
        (Some("payee"), _) => Some(t.t("st_payee_done")),
        _ => None,
    };
    let body = build(&state, &page, staff, Forms::fresh(&state), notice, None)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&body))
}

/// After a change: the page with a notice, or with the refusal and the form as typed.
async fn finish(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    outcome: Result<String, ApiError>,
    forms: Forms,
) -> Result<Response, UiError> {
    match outcome {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e @ ApiError::App(AppError::Forbidden(_) | AppError::Internal(_))) => Err(page.fail(e)),
        Err(e) => {
            let message = page.t.problem_message(&e);
            let body = build(state, page, staff, forms, None, Some(message))
                .await
                .map_err(|e| page.fail(e))?;
            Ok((e.status(), render(&body)).into_response())
        }
    }
}

/// Settles a past day (regulator).
pub async fn settle(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DayForm>,
) -> Result<Response, UiError> {
    let staff = viewer(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let outcome = async {
        let day = parse_day(&form.date)?;
        payments::settle_day(state.app(), Some(staff), day, &ctx).await?;
        Ok(format!("/settlements?done=settled&date={day}"))
    }
    .await;
    let mut forms = Forms::fresh(&state);
    forms.settle = form;
    finish(&state, &page, staff, outcome, forms).await
}

/// Reconciles a past day with the processor's report (regulator).
pub async fn reconcile(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<DayForm>,
) -> Result<Response, UiError> {
    let staff = viewer(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let outcome = async {
        let day = parse_day(&form.date)?;
        payments::reconcile_day(state.app(), Some(staff), day, &ctx).await?;
        Ok(format!("/settlements?done=reconciled&date={day}"))
    }
    .await;
    let mut forms = Forms::fresh(&state);
    forms.reconcile = form;
    finish(&state, &page, staff, outcome, forms).await
}

/// Names a payee's Sheba account: a manager their office's, the regulator an agency's or
/// the treasury's.
pub async fn payee(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<PayeeForm>,
) -> Result<Response, UiError> {
    let staff = viewer(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let outcome = async {
        let account = match staff.actor.office {
            Some(office) => Account::OfficeCommission(office),
            None => Account::parse(form.account.trim())?,
        };
        payments::set_payee_account(
            state.app(),
            staff,
            &account,
            &form.sheba,
            &form.holder,
            &ctx,
        )
        .await?;
        Ok("/settlements?done=payee".to_string())
    }
    .await;
    let mut forms = Forms::fresh(&state);
    forms.payee = form;
    finish(&state, &page, staff, outcome, forms).await
}

/// A day's settlement file, for a browser's session (the API serves the same to bearers).
pub async fn file(
    State(state): State<AppState>,
    page: PageCtx,
    Path(date): Path<String>,
) -> Result<Response, UiError> {
    let staff = viewer(&page)?;
    let day = parse_day(&date).map_err(|e| page.fail(e))?;
    let csv = payments::settlement_csv(state.app(), staff, day)
        .await
        .map_err(|e| page.fail(e))?;
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
