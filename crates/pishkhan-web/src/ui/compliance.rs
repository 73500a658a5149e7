//! Compliance pages: the regulator's list of open findings with their evidence in words and
//! numbers and the requests waiting for an answer; an office's record (its findings,
//! sanctions and requests) with the regulator's sanction buttons and decisions, and the
//! manager's request or appeal form. Handlers parse, call `pishkhan_app::compliance` and
//! render.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use pishkhan_app::AppError;
use pishkhan_app::compliance::{self, RequestKind, SanctionCommand};
use pishkhan_domain::access::Action;
use pishkhan_domain::compliance::{RuleKind, SanctionKind, Severity};
use pishkhan_domain::model::{OfficeCode, OfficeStatus};
use pishkhan_store::{ComplianceFinding, FindingFilter, PageRequest};
use serde::Deserialize;
use serde_json::Value;

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::auth::Staff;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, Ctx};
use crate::i18n::Tr;
use crate::input::parse_office_code;

/// Findings shown on one page.
const FINDINGS_SHOWN: u32 = 100;

/// UI strings of the compliance pages: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("nav_compliance", "نظارت", "Compliance"),
    ("cp_title", "نظارت بر دفترها", "Office compliance"),
    (
        "cp_subtitle",
        "یافته‌های باز قاعده‌ها با شواهدشان، و درخواست‌های رفع تعلیق و اعتراض که منتظر پاسخ‌اند",
        "Open findings of the rules with their evidence, and the reinstatement requests and appeals waiting for an answer",
    ),
    (
        "cp_run",
        "اجرای قاعده‌ها روی همه دفترها",
        "Run the rules over every office",
    ),
    (
        "cp_run_done",
        "قاعده‌ها اجرا شد. یافته‌های تازه:",
        "The rules ran. New findings:",
    ),
    ("cp_rules_version", "نسخه قاعده‌ها", "Rules version"),
    ("cp_findings", "یافته‌های باز", "Open findings"),
    ("cp_findings_none", "یافته بازی نیست.", "No open findings."),
    ("cp_office", "دفتر", "Office"),
    ("cp_rule", "قاعده", "Rule"),
    ("cp_severity", "شدت", "Severity"),
    ("cp_evidence", "شواهد", "Evidence"),
    ("cp_when", "زمان", "When"),
    ("cp_status", "وضعیت", "Status"),
    ("cp_record", "پرونده", "Record"),
    (
        "cp_rule_low_booked_share",
        "خدمت بدون نوبت",
        "Not serving by appointment",
    ),
    (
        "cp_rule_reports_threshold",
        "گزارش‌های پذیرفته‌شده مردم",
        "Accepted citizens' reports",
    ),
    ("cp_report_ids", "گزارش‌های", "reports"),
    (
        "cp_ev_reports_threshold",
        "در {days} روز گذشته، دست‌کم {min_reports} گزارش پذیرفته‌شده از یک موضوع؛ موضوع‌ها: {categories}",
        "In the last {days} days, at least {min_reports} accepted reports of one category; categories: {categories}",
    ),
    (
        "cp_rule_no_bookable_slots",
        "استعلام بدون نوبت‌دهی",
        "Inquiries without bookable slots",
    ),
    (
        "cp_rule_fee_above_tariff",
        "دریافت بیش از تعرفه",
        "Charged above the tariff",
    ),
    ("cp_sev_low", "کم", "Low"),
    ("cp_sev_medium", "متوسط", "Medium"),
    ("cp_sev_high", "زیاد", "High"),
    ("cp_fstatus_open", "باز", "Open"),
    ("cp_fstatus_actioned", "اقدام‌شده", "Acted on"),
    ("cp_fstatus_dismissed", "کنارگذاشته", "Dismissed"),
    ("cp_version", "نسخه", "version"),
    (
        "cp_requests",
        "درخواست‌های منتظر پاسخ",
        "Requests waiting for an answer",
    ),
    (
        "cp_requests_none",
        "درخواستی منتظر پاسخ نیست.",
        "No request is waiting.",
    ),
    (
        "cp_office_title",
        "پرونده نظارتی دفتر",
        "Compliance record of",
    ),
    ("cp_office_status", "وضعیت دفتر", "Office status"),
    ("cp_office_findings", "یافته‌ها", "Findings"),
    ("cp_sanctions", "اقدام‌ها", "Sanctions"),
    ("cp_sanctions_none", "اقدامی ثبت نشده است.", "No sanctions."),
    ("cp_kind", "نوع", "Kind"),
    ("cp_reason", "دلیل", "Reason"),
    ("cp_change", "تغییر وضعیت", "Status change"),
    ("cp_actor", "اقدام‌کننده", "By"),
    ("cp_kind_warning", "اخطار", "Warning"),
    ("cp_kind_suspension", "تعلیق", "Suspension"),
    ("cp_kind_reinstatement", "رفع تعلیق", "Reinstatement"),
    ("cp_kind_appeal", "اعتراض", "Appeal"),
    ("cp_sanction_form", "اقدام ناظر", "The regulator's step"),
    (
        "cp_sanction_cites",
        "یافته‌های باز این دفتر به این اقدام پیوست می‌شوند.",
        "The office's open findings are cited by this step.",
    ),
    ("cp_warn", "اخطار", "Warn"),
    ("cp_suspend", "تعلیق دسترسی", "Suspend access"),
    ("cp_reinstate", "رفع تعلیق", "Reinstate"),
    (
        "cp_sanction_done",
        "اقدام ثبت شد.",
        "The step was recorded.",
    ),
    (
        "cp_office_requests",
        "درخواست‌ها و اعتراض‌ها",
        "Requests and appeals",
    ),
    (
        "cp_office_requests_none",
        "درخواستی ثبت نشده است.",
        "No requests.",
    ),
    ("cp_text", "متن", "Text"),
    ("cp_reply", "پاسخ", "Reply"),
    ("cp_rstatus_open", "منتظر پاسخ", "Waiting"),
    ("cp_rstatus_approved", "پذیرفته", "Approved"),
    ("cp_rstatus_refused", "نپذیرفته", "Refused"),
    ("cp_approve", "پذیرش", "Approve"),
    ("cp_refuse", "رد", "Refuse"),
    ("cp_decided", "پاسخ ثبت شد.", "The answer was recorded."),
    (
        "cp_request_form",
        "درخواست رفع تعلیق یا اعتراض",
        "Ask for reinstatement, or appeal",
    ),
    (
        "cp_request_help",
        "پیش از درخواست، ساعات کار و باجه‌ها را تنظیم و نوبت‌های روزهای آینده را منتشر کنید.",
        "Before asking, set hours and counters and publish slots for the coming days.",
    ),
    ("cp_appeal_of", "اعتراض به اقدام", "Appeal of"),
    (
        "cp_no_appeal",
        "درخواست رفع تعلیق (بدون اعتراض)",
        "A reinstatement request (no appeal)",
    ),
    ("cp_request_submit", "ارسال", "Send"),
    ("cp_requested", "درخواست ثبت شد.", "The request was sent."),
    (
        "cp_ev_low_booked_share",
        "میانگین {visits_per_day} مراجعه در روز در {days} روز، {booked_share_pct}٪ با نوبت ({booked_visits} از {visits}). قاعده: دست‌کم {min_daily_visits} مراجعه در روز و کمتر از {max_booked_share_pct}٪ با نوبت.",
        "{visits_per_day} visits a day on average over {days} days, {booked_share_pct}% booked ({booked_visits} of {visits}). Rule: at least {min_daily_visits} visits a day and under {max_booked_share_pct}% booked.",
    ),
    (
        "cp_ev_no_bookable_slots",
        "{lookups} استعلام و احراز هویت در {recent_days} روز، و هیچ روز نوبت‌پذیری در {ahead_days} روز آینده. قاعده: دست‌کم {min_lookups} استعلام.",
        "{lookups} inquiries and identity checks in {recent_days} days, and no bookable day in the coming {ahead_days}. Rule: at least {min_lookups} lookups.",
    ),
    (
        "cp_ev_fee_above_tariff",
        "دریافت {charged_rials} ریال در برابر تعرفه {tariff_rials} ریال.",
        "Charged {charged_rials} rials against a tariff of {tariff_rials} rials.",
    ),
    (
        "problem_invalid_rule",
        "قاعده درست نیست.",
        "The rule is not valid.",
    ),
    (
        "problem_invalid_text",
        "متن را بنویسید (حداکثر ۱۰۰۰ نویسه).",
        "Write the text (at most 1,000 characters).",
    ),
    (
        "problem_sanction_out_of_order",
        "این اقدام به این ترتیب ممکن نیست: پیش از تعلیق باید اخطار داد، و دفتر تعلیق‌شده دوباره تعلیق نمی‌شود.",
        "Not in this order: an office is warned before it is suspended, and a suspended one is not suspended again.",
    ),
    (
        "problem_nothing_to_lift",
        "این دفتر اخطار یا تعلیقی ندارد که برداشته شود.",
        "This office has no warning or suspension to lift.",
    ),
    (
        "problem_office_revoked",
        "مجوز این دفتر لغو شده است.",
        "This office's licence is revoked.",
    ),
    (
        "problem_reinstatement_conditions_unmet",
        "شرایط رفع تعلیق فراهم نیست: ساعات کار، باجه‌های نوبت‌دهی و نوبت‌های روزهای آینده باید تنظیم و منتشر شده باشند.",
        "The conditions for reinstatement do not hold: hours, booking counters and slots for the coming days must be set and published.",
    ),
    (
        "problem_unknown_finding",
        "یافته‌ای که نام برده شد از این دفتر نیست.",
        "A finding cited is not this office's.",
    ),
    (
        "problem_unknown_sanction",
        "اقدامی که به آن اعتراض شد از این دفتر نیست.",
        "The sanction appealed is not this office's.",
    ),
    (
        "problem_request_open",
        "درخواست دیگری از این دفتر منتظر پاسخ است.",
        "Another request of this office is waiting for an answer.",
    ),
    (
        "problem_request_answered",
        "به این درخواست پیش‌تر پاسخ داده شده است.",
        "This request was already answered.",
    ),
    (
        "problem_too_many_findings",
        "شمار یافته‌های پیوست‌شده بیش از حد است.",
        "Too many findings cited.",
    ),
    (
        "problem_invalid_kind",
        "نوع اقدام درست نیست.",
        "The kind of step is not valid.",
    ),
    ("cp_rules", "قاعده‌های جاری", "Rules in force"),
    (
        "cp_rules_help",
        "هر ذخیره نسخه تازه‌ای می‌سازد؛ یافته‌های پیشین نسخه خود را نگه می‌دارند.",
        "Each save makes a new version; earlier findings keep naming theirs.",
    ),
    ("cp_rules_by", "ثبت‌کننده", "By"),
    (
        "cp_rules_by_system",
        "نسخه نخست، همراه سامانه",
        "The first version, installed with the system",
    ),
    ("cp_rules_when", "زمان ثبت", "Saved"),
    ("cp_rule_enabled", "فعال", "Enabled"),
    ("cp_rules_save", "ذخیره نسخه تازه", "Save as a new version"),
    (
        "cp_rules_saved",
        "قاعده‌ها ذخیره شد. نسخه:",
        "The rules were saved. Version:",
    ),
    ("cp_param_days", "بازه بررسی (روز)", "Days looked back"),
    (
        "cp_param_min_daily_visits",
        "کمینه مراجعه در روز",
        "Minimum visits a day",
    ),
    (
        "cp_param_max_booked_share_pct",
        "بیشینه سهم نوبت (درصد)",
        "Highest booked share (percent)",
    ),
    (
        "cp_param_recent_days",
        "بازه بررسی استعلام‌ها (روز)",
        "Days of lookups looked back",
    ),
    (
        "cp_param_min_lookups",
        "کمینه استعلام و احراز هویت",
        "Minimum inquiries and identity checks",
    ),
    ("cp_param_ahead_days", "روزهای پیش رو (روز)", "Days ahead"),
    (
        "cp_param_min_reports",
        "کمینه گزارش پذیرفته‌شده از یک موضوع",
        "Fewest accepted reports of one category",
    ),
    ("cp_actions", "اقدام", "Action"),
    ("cp_dismiss", "کنار گذاشتن", "Dismiss"),
    (
        "cp_dismiss_reason",
        "دلیل کنار گذاشتن",
        "Reason for dismissing",
    ),
    (
        "cp_dismissed",
        "یافته کنار گذاشته شد.",
        "The finding was dismissed.",
    ),
    (
        "problem_finding_not_open",
        "این یافته دیگر باز نیست: پیش‌تر کنار گذاشته یا به آن رسیدگی شده است.",
        "This finding is no longer open: it was already dismissed or acted on.",
    ),
    (
        "audit_compliance.dismissal",
        "کنار گذاشتن یافته",
        "Finding dismissed",
    ),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/compliance", get(page))
        .route("/compliance/runs", post(run))
        .route("/compliance/rules", post(save_rules))
        .route("/compliance/findings/{id}/dismissal", post(dismiss))
        .route("/compliance/offices/{code}", get(office_page))
        .route("/compliance/offices/{code}/sanctions", post(sanction))
        .route("/compliance/offices/{code}/requests", post(request))
        .route("/compliance/requests/{id}/decision", post(decide))
}

/// A finding's evidence in words, with its figures in the page's digits.
fn evidence_words(t: Tr, f: &ComplianceFinding) -> String {
    let mut text = t.t(format!("cp_ev_{}", f.rule));
    if text.starts_with('⟦') {
        return f.evidence.to_string();
    }
    if let Value::Object(map) = &f.evidence {
        for (k, v) in map {
            let shown = match v {
                Value::Number(n) => t.num(n),
                Value::String(s) => s.clone(),
                // The reports rule's categories: "No appointments offered: 6 (reports 4, 9, …)".
                Value::Array(items) if k == "categories" => items
                    .iter()
                    .map(|c| {
                        let category = c["category"].as_str().unwrap_or_default();
                        let ids: Vec<String> = c["report_ids"]
                            .as_array()
                            .map(|a| a.iter().map(|id| t.num(id)).collect())
                            .unwrap_or_default();
                        format!(
                            "{}: {} ({} {})",
                            t.t(format!("rep_cat_{category}")),
                            t.num(&c["accepted_reports"]),
                            t.t("cp_report_ids"),
                            ids.join(if t.code() == "fa" { "، " } else { ", " })
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" · "),
                other => other.to_string(),
            };
            text = text.replace(&format!("{{{k}}}"), &shown);
        }
    }
    text
}

fn label(t: Tr, prefix: &str, code: &str) -> String {
    let s = t.t(format!("{prefix}{code}"));
    if s.starts_with('⟦') {
        code.to_string()
    } else {
        s
    }
}

struct FindingRow {
    id: i64,
    office: String,
    office_link: String,
    rule: String,
    version: String,
    severity: String,
    status: String,
    evidence: String,
    when: String,
}

fn finding_row(t: Tr, f: &ComplianceFinding) -> FindingRow {
    FindingRow {
        id: f.id,
        office: t.num(f.office),
        office_link: format!("/compliance/offices/{}", f.office),
        rule: label(t, "cp_rule_", &f.rule),
        version: t.num(f.rule_version),
        severity: label(t, "cp_sev_", &f.severity),
        status: label(t, "cp_fstatus_", &f.status),
        evidence: evidence_words(t, f),
        when: t.datetime_ms(f.created_at_ms),
    }
}

struct RequestRow {
    id: i64,
    office: String,
    office_link: String,
    kind: String,
    text: String,
    status: String,
    open: bool,
    reply: String,
    when: String,
}

fn request_row(t: Tr, r: &pishkhan_store::ComplianceRequest) -> RequestRow {
    RequestRow {
        id: r.id,
        office: t.num(r.office),
        office_link: format!("/compliance/offices/{}", r.office),
        kind: label(t, "cp_kind_", &r.kind),
        text: r.text.clone(),
        status: label(t, "cp_rstatus_", &r.status),
        open: r.status == "open",
        reply: r.reply.clone().unwrap_or_default(),
        when: t.datetime_ms(r.created_at_ms),
    }
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    chrome: Chrome,
    version: String,
    rules_by: String,
    rules_when: String,
    rule_forms: Vec<RuleForm>,
    severities: Vec<(&'static str, String)>,
    rules_error: Option<String>,
    findings: Vec<FindingRow>,
    requests: Vec<RequestRow>,
    notice: Option<String>,
    error: Option<String>,
}

/// One rule kind in the rules form: drawn from `RuleKind::ALL` and the kind's param names,
/// so a kind added to the domain shows up here without work in the page.
struct RuleForm {
    kind: &'static str,
    title: String,
    enabled: bool,
    severity: String,
    params: Vec<ParamField>,
}

struct ParamField {
    /// The form field's name: `KIND.PARAM`.
    key: String,
    label: String,
    value: String,
}

/// A rules form field's name.
fn field_key(kind: RuleKind, name: &str) -> String {
    format!("{}.{name}", kind.code())
}

/// The form as the rules in force fill it.
fn rule_forms_of(t: Tr, rules: &Value) -> Vec<RuleForm> {
    RuleKind::ALL
        .into_iter()
        .map(|kind| {
            let rule = rules
                .as_array()
                .and_then(|a| a.iter().find(|r| r["kind"] == kind.code()));
            RuleForm {
                kind: kind.code(),
                title: label(t, "cp_rule_", kind.code()),
                enabled: rule.is_some(),
                severity: rule
                    .and_then(|r| r["severity"].as_str())
                    .unwrap_or("medium")
                    .to_string(),
                params: kind
                    .param_names()
                    .iter()
                    .map(|name| ParamField {
                        key: field_key(kind, name),
                        label: label(t, "cp_param_", name),
                        value: match rule.map(|r| &r["params"][*name]) {
                            Some(Value::Number(n)) => t.num(n),
                            Some(Value::String(s)) => s.clone(),
                            _ => String::new(),
                        },
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The form as the regulator typed it, to show again beside its error.
fn rule_forms_typed(t: Tr, typed: &[(String, String)]) -> Vec<RuleForm> {
    let get = |key: &str| typed.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    RuleKind::ALL
        .into_iter()
        .map(|kind| RuleForm {
            kind: kind.code(),
            title: label(t, "cp_rule_", kind.code()),
            enabled: get(&field_key(kind, "enabled")).is_some(),
            severity: get(&field_key(kind, "severity")).unwrap_or_default(),
            params: kind
                .param_names()
                .iter()
                .map(|name| ParamField {
                    key: field_key(kind, name),
                    label: label(t, "cp_param_", name),
                    value: get(&field_key(kind, name)).unwrap_or_default(),
                })
                .collect(),
        })
        .collect()
}

/// The rules as the form sends them, in the API's shape: each enabled kind with its
/// severity and params. A param that reads as a whole number (in either script's digits) is
/// sent as one; anything else as text, for the domain's parser to judge.
fn rules_of_form(typed: &[(String, String)]) -> Value {
    let get = |key: String| {
        typed
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let rules = RuleKind::ALL
        .into_iter()
        .filter(|kind| get(field_key(*kind, "enabled")).is_some())
        .map(|kind| {
            let params: serde_json::Map<String, Value> = kind
                .param_names()
                .iter()
                .filter_map(|name| {
                    let raw = get(field_key(kind, name))?;
                    let ascii = pishkhan_domain::digits::to_ascii_digits(&raw);
                    let v = match ascii.parse::<u64>() {
                        Ok(n) => Value::from(n),
                        Err(_) => Value::from(raw),
                    };
                    Some((name.to_string(), v))
                })
                .collect();
            serde_json::json!({
                "kind": kind.code(),
                "severity": get(field_key(kind, "severity")).unwrap_or_default(),
                "params": params,
            })
        })
        .collect();
    Value::Array(rules)
}

/// What the page says about a refused rules form: the problem in the page's language, and
/// the param it is about when the refusal names one (`params.NAME …`).
fn rules_problem(t: Tr, err: &ApiError) -> String {
    let text = t.problem_message(err);
    let ApiError::App(AppError::Invalid { message, .. }) = err else {
        return text;
    };
    let named = message
        .split_once("params.")
        .map(|(_, rest)| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .next()
                .unwrap_or_default()
        })
        .filter(|n| !n.is_empty());
    match named.map(|n| t.t(format!("cp_param_{n}"))) {
        Some(l) if !l.starts_with('⟦') => format!("{l}: {text}"),
        _ => text,
    }
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    done: Option<String>,
    n: Option<String>,
}

fn regulator(page: &PageCtx) -> Result<&Staff, UiError> {
    let staff = page.require_staff()?;
    staff
        .permit(Action::ViewCompliance { office: None })
        .map_err(|d| page.fail(ApiError::App(AppError::Forbidden(d))))?;
    Ok(staff)
}

/// What a re-rendered page keeps of a refused form.
#[derive(Default)]
struct Refused {
    /// The rules form as typed, and why it was refused.
    rules: Option<(Vec<(String, String)>, String)>,
    /// Why a dismissal was refused.
    error: Option<String>,
}

async fn build_page(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    notice: Option<String>,
    refused: Refused,
) -> Result<CompliancePage, ApiError> {
    let t = page.t;
    let rules = compliance::rules(state.app(), staff).await?;
    let filter = FindingFilter {
        status: Some("open".into()),
        office: None,
    };
    let found = compliance::findings(
        state.app(),
        staff,
        &filter,
        PageRequest::new(1, FINDINGS_SHOWN.min(pishkhan_store::MAX_PER_PAGE))?,
    )
    .await?;
    let requests = compliance::requests(state.app(), staff, None, true).await?;
    // The first version comes with the database (`system:migration`), not from a person.
    let rules_by = if rules.created_by.starts_with("system:") {
        t.t("cp_rules_by_system")
    } else {
        super::staff_names(state, vec![rules.created_by.clone()])
            .await
            .remove(&rules.created_by)
            .unwrap_or_else(|| rules.created_by.clone())
    };
    let (rule_forms, rules_error) = match &refused.rules {
        Some((typed, why)) => (rule_forms_typed(t, typed), Some(why.clone())),
        None => (rule_forms_of(t, &rules.rules.to_json()), None),
    };
    Ok(CompliancePage {
        chrome: page.chrome("compliance"),
        version: t.num(rules.version),
        rules_by,
        // Version 1 comes with the database, not from a person on a day.
        rules_when: if rules.created_at_ms > 0 {
            t.datetime_ms(rules.created_at_ms)
        } else {
            String::new()
        },
        rule_forms,
        severities: Severity::ALL
            .iter()
            .map(|s| (s.code(), t.t(format!("cp_sev_{}", s.code()))))
            .collect(),
        rules_error,
        findings: found.items.iter().map(|f| finding_row(t, f)).collect(),
        requests: requests.iter().map(|r| request_row(t, r)).collect(),
        notice,
        error: refused.error,
    })
}

/// The regulator's list; a manager is taken to their own office's record.
pub async fn page(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    if let Some(office) = staff.actor.office {
        return Ok(Redirect::to(&format!("/compliance/offices/{office}")).into_response());
    }
    let staff = regulator(&page)?;
    let t = page.t;
    let n = q.n.as_deref().and_then(|n| n.parse::<u64>().ok());
    let notice = match (q.done.as_deref(), n) {
        (Some("run"), Some(n)) => Some(format!("{} {}", t.t("cp_run_done"), t.num(n))),
        (Some("rules"), Some(n)) => Some(format!("{} {}", t.t("cp_rules_saved"), t.num(n))),
        (Some("dismissed"), _) => Some(t.t("cp_dismissed")),
        _ => None,
    };
    let body = build_page(&state, &page, staff, notice, Refused::default())
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&body))
}

/// Shows the page again with what was refused, or fails the page for what no form can fix.
async fn refused_page(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    err: ApiError,
    refused: Refused,
) -> Result<Response, UiError> {
    if matches!(
        err,
        ApiError::App(AppError::Forbidden(_) | AppError::Internal(_))
    ) {
        return Err(page.fail(err));
    }
    let body = build_page(state, page, staff, None, refused)
        .await
        .map_err(|e| page.fail(e))?;
    Ok((err.status(), render(&body)).into_response())
}

/// Saves the rules form as the next version (the regulator).
pub async fn save_rules(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    let csrf = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    staff.check_csrf(csrf).map_err(|e| page.fail(e))?;
    // Only the form's own fields are kept: a rules form has a handful, never more.
    let typed: Vec<(String, String)> = form
        .into_iter()
        .filter(|(k, _)| k != "csrf")
        .take(MAX_RULE_FIELDS)
        .collect();
    match compliance::save_rules(state.app(), staff, &rules_of_form(&typed), &ctx).await {
        Ok(v) => {
            Ok(Redirect::to(&format!("/compliance?done=rules&n={}", v.version)).into_response())
        }
        Err(e) => {
            let e = ApiError::App(e);
            let why = rules_problem(page.t, &e);
            let refused = Refused {
                rules: Some((typed, why)),
                error: None,
            };
            refused_page(&state, &page, staff, e, refused).await
        }
    }
}

/// Fields a rules form may send: each kind's switch and severity and a dozen params, at most.
const MAX_RULE_FIELDS: usize = pishkhan_domain::compliance::MAX_RULES * 16;

#[derive(Deserialize, Default)]
pub struct DismissForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// The regulator dismisses an open finding from the list.
pub async fn dismiss(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<DismissForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = id
        .parse::<i64>()
        .map_err(|_| page.fail(ApiError::App(AppError::NotFound("finding"))))?;
    match compliance::dismiss(state.app(), staff, id, &form.reason, &ctx).await {
        Ok(_) => Ok(Redirect::to("/compliance?done=dismissed").into_response()),
        Err(e) => {
            let e = ApiError::App(e);
            let refused = Refused {
                rules: None,
                error: Some(page.t.problem_message(&e)),
            };
            refused_page(&state, &page, staff, e, refused).await
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Runs the rules now (the regulator).
pub async fn run(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    ApiForm(form): ApiForm<CsrfForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let r = compliance::run(state.app(), staff, &ctx)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(Redirect::to(&format!("/compliance?done=run&n={}", r.new_findings)).into_response())
}

struct SanctionRow {
    kind: String,
    reason: String,
    change: String,
    actor: String,
    when: String,
}

#[derive(Template)]
#[template(path = "compliance_office.html")]
struct OfficePage {
    chrome: Chrome,
    code: String,
    /// The record's address, for its forms.
    path: String,
    name: String,
    status: String,
    regulator: bool,
    may_request: bool,
    /// The open findings' ids, cited by the regulator's step.
    open_ids: String,
    findings: Vec<FindingRow>,
    sanctions: Vec<SanctionRow>,
    /// (id, label) of sanctions that may be appealed.
    appealable: Vec<(i64, String)>,
    requests: Vec<RequestRow>,
    reason: String,
    text: String,
    notice: Option<String>,
    error: Option<String>,
}

struct Typed {
    reason: String,
    text: String,
}

async fn build_office(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    code: OfficeCode,
    typed: Typed,
    notice: Option<String>,
    error: Option<String>,
) -> Result<OfficePage, ApiError> {
    let t = page.t;
    let office = state.store().office(code).await?;
    let found = compliance::findings(
        state.app(),
        staff,
        &FindingFilter {
            status: None,
            office: Some(code),
        },
        PageRequest::new(1, pishkhan_store::MAX_PER_PAGE)?,
    )
    .await?;
    let sanctions = compliance::sanctions(state.app(), staff, Some(code)).await?;
    let requests = compliance::requests(state.app(), staff, Some(code), false).await?;
    let open_ids = found
        .items
        .iter()
        .filter(|f| f.status == "open")
        .map(|f| f.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let status_label = |s: &str| {
        OfficeStatus::parse(s)
            .map(|st| t.text(st.label()))
            .unwrap_or_else(|| s.to_string())
    };
    Ok(OfficePage {
        chrome: page.chrome("compliance"),
        code: t.num(code),
        path: format!("/compliance/offices/{code}"),
        name: t.text(&office.name),
        status: t.text(office.status.label()),
        regulator: staff.permit(Action::ManageCompliance).is_ok(),
        may_request: staff
            .permit(Action::RequestReinstatement { office: code })
            .is_ok(),
        open_ids,
        findings: found.items.iter().map(|f| finding_row(t, f)).collect(),
        appealable: sanctions
            .iter()
            .filter(|s| s.kind != "reinstatement")
            .map(|s| {
                (
                    s.id,
                    format!(
                        "{} — {}",
                        label(t, "cp_kind_", &s.kind),
                        t.datetime_ms(s.created_at_ms)
                    ),
                )
            })
            .collect(),
        sanctions: sanctions
            .iter()
            .map(|s| SanctionRow {
                kind: label(t, "cp_kind_", &s.kind),
                reason: s.reason.clone(),
                change: format!(
                    "{} ← {}",
                    status_label(&s.status_after),
                    status_label(&s.status_before)
                ),
                actor: s.actor.clone(),
                when: t.datetime_ms(s.created_at_ms),
            })
            .collect(),
        requests: requests.iter().map(|r| request_row(t, r)).collect(),
        reason: typed.reason,
        text: typed.text,
        notice,
        error,
    })
}

fn fresh() -> Typed {
    Typed {
        reason: String::new(),
        text: String::new(),
    }
}

#[derive(Deserialize, Default)]
pub struct OfficeQuery {
    done: Option<String>,
}

/// An office's record: the regulator's, or its own manager's.
pub async fn office_page(
    State(state): State<AppState>,
    page: PageCtx,
    Path(code): Path<String>,
    ApiQuery(q): ApiQuery<OfficeQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    staff
        .permit(Action::ViewCompliance { office: Some(code) })
        .map_err(|d| page.fail(ApiError::App(AppError::Forbidden(d))))?;
    let notice = match q.done.as_deref() {
        Some("sanction") => Some(page.t.t("cp_sanction_done")),
        Some("request") => Some(page.t.t("cp_requested")),
        Some("decided") => Some(page.t.t("cp_decided")),
        _ => None,
    };
    let body = build_office(&state, &page, staff, code, fresh(), notice, None)
        .await
        .map_err(|e| page.fail(e))?;
    Ok(render(&body))
}

async fn finish(
    state: &AppState,
    page: &PageCtx,
    staff: &Staff,
    code: OfficeCode,
    outcome: Result<String, ApiError>,
    typed: Typed,
) -> Result<Response, UiError> {
    match outcome {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e @ ApiError::App(AppError::Forbidden(_) | AppError::Internal(_))) => Err(page.fail(e)),
        Err(e) => {
            let message = page.t.problem_message(&e);
            let body = build_office(state, page, staff, code, typed, None, Some(message))
                .await
                .map_err(|e| page.fail(e))?;
            Ok((e.status(), render(&body)).into_response())
        }
    }
}

#[derive(Deserialize, Default)]
pub struct SanctionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
    /// Comma-separated ids of the findings cited.
    #[serde(default)]
    findings: String,
}

/// A step of the ladder from the office's record (the regulator).
pub async fn sanction(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<SanctionForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let kind = SanctionKind::parse(form.kind.trim())
            .ok_or_else(|| ApiError::invalid("invalid_kind", "kind", "unknown step"))?;
        let findings = form
            .findings
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .take(pishkhan_domain::compliance::MAX_CITED_FINDINGS + 1)
            .map(|s| {
                s.parse::<i64>().map_err(|_| {
                    ApiError::invalid("unknown_finding", "findings", "finding ids are numbers")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cmd = SanctionCommand {
            kind,
            reason: form.reason.clone(),
            findings,
        };
        compliance::sanction(state.app(), staff, code, cmd, &ctx).await?;
        Ok(format!("/compliance/offices/{code}?done=sanction"))
    }
    .await;
    let typed = Typed {
        reason: form.reason.clone(),
        text: String::new(),
    };
    finish(&state, &page, staff, code, outcome, typed).await
}

#[derive(Deserialize, Default)]
pub struct RequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    /// A sanction's id, or empty for a reinstatement request.
    #[serde(default)]
    appeal_of: String,
}

/// The manager's request or appeal.
pub async fn request(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(code): Path<String>,
    ApiForm(form): ApiForm<RequestForm>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let code = parse_office_code(&code).map_err(|e| page.fail(e))?;
    let outcome = async {
        let kind = match form.appeal_of.trim() {
            "" => RequestKind::Reinstatement,
            id => RequestKind::Appeal(id.parse::<i64>().map_err(|_| {
                ApiError::invalid("unknown_sanction", "appeal_of", "choose a sanction")
            })?),
        };
        compliance::request(state.app(), staff, code, kind, &form.text, &ctx).await?;
        Ok(format!("/compliance/offices/{code}?done=request"))
    }
    .await;
    let typed = Typed {
        reason: String::new(),
        text: form.text.clone(),
    };
    finish(&state, &page, staff, code, outcome, typed).await
}

#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    /// `approve` or `refuse`.
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reply: String,
}

/// The regulator answers a request from the office's record.
pub async fn decide(
    State(state): State<AppState>,
    page: PageCtx,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<DecisionForm>,
) -> Result<Response, UiError> {
    let staff = regulator(&page)?;
    staff.check_csrf(&form.csrf).map_err(|e| page.fail(e))?;
    let id = id
        .parse::<i64>()
        .map_err(|_| page.fail(ApiError::App(AppError::NotFound("request"))))?;
    let req = state
        .store()
        .compliance_request(id)
        .await
        .map_err(|e| page.fail(ApiError::App(e.into())))?;
    let outcome = async {
        let approve = form.decision == "approve";
        compliance::decide(state.app(), staff, id, approve, &form.reply, &ctx).await?;
        Ok(format!("/compliance/offices/{}?done=decided", req.office))
    }
    .await;
    finish(&state, &page, staff, req.office, outcome, fresh()).await
}
