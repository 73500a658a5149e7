//! The dashboard: the network's counts for all staff, and for the regulator the national
//! charts (ECharts, set up by `assets/charts.js` from a JSON block: no inline script), each
//! with its table and CSV file, filtered by province and period. Handlers parse, call
//! `pishkhan_app::dashboard` and render.

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pishkhan_app::AppError;
use pishkhan_app::dashboard::{self, Chart, Dashboard, DashboardFilter, Step};
use pishkhan_app::stats::{osi_formula, thousandths};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::digits::to_ascii_digits;
use pishkhan_domain::model::{Digitization, OfficeStatus};
use pishkhan_store::{ProvinceSummary, RegistryCounts};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Chrome, PageCtx, UiError, render};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::i18n::Tr;

/// UI strings of the dashboard's charts: (key, Persian, English).
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("db_filters", "پالایش", "Filters"),
    ("db_province_all", "همه استان‌ها", "All provinces"),
    (
        "db_office_code",
        "کد دفتر (اختیاری)",
        "Office code (optional)",
    ),
    (
        "db_catalogue",
        "خدمات شبکه‌ای از ۵۵۰ در گذر زمان",
        "Services networked out of 550, over time",
    ),
    (
        "db_open_findings",
        "یافته‌های باز نظارت (دفترهایی که قاعده‌ها یافته‌اند)",
        "Open compliance findings (offices the rules found)",
    ),
    ("db_step", "گروه‌بندی", "Group by"),
    ("db_step_day", "روز", "Day"),
    ("db_step_week", "هفته", "Week"),
    ("db_step_month", "ماه", "Month"),
    (
        "db_lookups",
        "استعلام و احراز هویت",
        "Inquiries and identity checks",
    ),
    ("db_payments", "پرداخت‌ها", "Payments"),
    ("db_reports_count", "گزارش‌های مردمی", "Citizens' reports"),
    (
        "db_reports",
        "گزارش‌های مردمی به تفکیک موضوع",
        "Citizens' reports by category",
    ),
    ("db_category", "موضوع", "Category"),
    (
        "db_sanctions",
        "اقدام‌های انضباطی در گذر زمان",
        "Sanctions over time",
    ),
    ("db_warnings", "اخطار", "Warnings"),
    ("db_suspensions", "تعلیق", "Suspensions"),
    ("db_reinstatements", "رفع تعلیق", "Reinstatements"),
    (
        "db_satisfaction",
        "رضایت مراجعان (نظرسنجی)",
        "Satisfaction (surveys)",
    ),
    ("db_ratings", "پاسخ نظرسنجی", "Survey answers"),
    (
        "db_mean_rating",
        "میانگین امتیاز (از ۵)",
        "Mean rating (of 5)",
    ),
    (
        "db_activity",
        "استعلام، پرداخت و گزارش در هر روز",
        "Lookups, payments and reports per day",
    ),
    ("db_from", "از تاریخ", "From"),
    ("db_to", "تا تاریخ", "To"),
    ("db_apply", "نمایش", "Show"),
    ("db_period", "دوره", "Period"),
    ("db_table", "جدول داده‌ها", "Data table"),
    ("db_csv", "پرونده CSV", "CSV file"),
    (
        "db_days",
        "نوبت‌ها و مراجعه‌ها در هر روز",
        "Bookings and visits per day",
    ),
    ("db_waits", "انتظار و غیبت نوبت‌داران", "Waits and no-shows"),
    (
        "db_provinces",
        "سهم مراجعه با نوبت در هر استان",
        "Booked share of visits by province",
    ),
    (
        "db_inquiries",
        "استعلام‌ها به تفکیک دستگاه",
        "Inquiries per agency",
    ),
    ("db_offices", "دفترها بر پایه وضعیت", "Offices by status"),
    (
        "db_digitization",
        "خدمات برخط از کل خدمات",
        "Services online out of the catalogue",
    ),
    (
        "db_osi",
        "شاخص خدمات برخط هر دستگاه",
        "Online-service index per agency",
    ),
    (
        "db_once_only",
        "مدارکی که استعلام می‌تواند جایشان را بگیرد",
        "Papers an inquiry could replace",
    ),
    ("db_date", "تاریخ", "Date"),
    ("db_booked", "نوبت‌ها", "Bookings"),
    ("db_completed", "انجام‌شده", "Completed"),
    ("db_visits", "مراجعه‌ها", "Visits"),
    ("db_walk_ins", "بی‌نوبت", "Walk-ins"),
    ("db_no_shows", "غیبت نوبت‌دار", "No-shows"),
    (
        "db_wait_min",
        "میانگین انتظار (دقیقه)",
        "Mean wait (minutes)",
    ),
    ("db_province", "استان", "Province"),
    ("db_booked_visits", "مراجعه با نوبت", "Booked visits"),
    ("db_share", "سهم با نوبت (درصد)", "Booked share (%)"),
    ("db_agency", "دستگاه", "Agency"),
    ("db_inquiry_count", "استعلام", "Inquiries"),
    ("db_status", "وضعیت", "Status"),
    ("db_count", "شمار", "Count"),
    ("db_stage", "مرحله", "Stage"),
    ("db_services", "خدمات", "Services"),
    ("db_index", "شاخص", "Index"),
    (
        "db_national_index",
        "شاخص ملی خدمات برخط",
        "National online-service index",
    ),
    ("db_formula", "روش محاسبه", "How it is computed"),
    ("db_service", "خدمت", "Service"),
    ("db_document", "مدرک", "Document"),
    ("db_inquiry", "استعلام جایگزین", "Replacing inquiry"),
    (
        "db_yearly_visits",
        "مراجعه در سال (برآورد)",
        "Visits a year (estimate)",
    ),
    (
        "db_once_only_total",
        "مراجعه‌های سالانه‌ای که می‌توانند بی‌کاغذ شوند",
        "Visits a year that could go paperless",
    ),
    ("db_of_total", "از", "of"),
    (
        "problem_invalid_period",
        "آغاز دوره پس از پایان آن است.",
        "The period starts after it ends.",
    ),
    (
        "problem_period_too_long",
        "دوره حداکثر ۳۶۶ روز است.",
        "A period is at most 366 days.",
    ),
    (
        "problem_unknown_province",
        "چنین استانی نیست.",
        "There is no such province.",
    ),
    (
        "problem_invalid_step",
        "گروه‌بندی باید روز، هفته یا ماه باشد.",
        "Group by day, week or month.",
    ),
    (
        "problem_unknown_chart",
        "چنین نموداری نیست.",
        "There is no such chart.",
    ),
    (
        "problem_invalid_format",
        "قالب باید json یا csv باشد.",
        "The format is json or csv.",
    ),
];

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    pub province: Option<String>,
    pub office: Option<String>,
    pub step: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub chart: Option<String>,
}

fn parse_day(field: &'static str, s: &str) -> Result<JalaliDate, ApiError> {
    JalaliDate::parse(&to_ascii_digits(s.trim()))
        .map_err(|e| ApiError::invalid(e.code, field, e.message))
}

/// The filter the query string names; empty fields mean "not filtered".
fn filter_of(state: &AppState, q: &DashboardQuery) -> Result<DashboardFilter, ApiError> {
    let nonempty = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let province = match nonempty(&q.province) {
        Some(p) => Some(to_ascii_digits(&p).parse::<u8>().map_err(|_| {
            ApiError::App(AppError::invalid(
                "unknown_province",
                "province",
                "provinces are numbered 1 to 31",
            ))
        })?),
        None => None,
    };
    let from = nonempty(&q.from)
        .map(|s| parse_day("from", &s))
        .transpose()?;
    let to = nonempty(&q.to).map(|s| parse_day("to", &s)).transpose()?;
    let office = nonempty(&q.office)
        .map(|s| crate::input::parse_office_code(&s))
        .transpose()?;
    let step = match nonempty(&q.step) {
        Some(s) => Step::parse(&s).ok_or_else(|| {
            ApiError::App(AppError::invalid(
                "invalid_step",
                "step",
                "step is day, week or month",
            ))
        })?,
        None => Step::Day,
    };
    Ok(DashboardFilter::new(state.app(), province, from, to)?
        .for_office(office)
        .grouped(step))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    counts: RegistryCounts,
    networked: u64,
    active: u64,
    provinces: Vec<ProvinceSummary>,
    charts: Option<ChartsView>,
}

impl DashboardPage {
    fn status_label(&self, s: &OfficeStatus) -> String {
        self.chrome.t.text(s.label())
    }
    fn digitization_label(&self, d: &Digitization) -> String {
        self.chrome.t.text(d.label())
    }
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// A chart's table: headers and rows of display strings.
struct TableView {
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

struct ChartView {
    id: &'static str,
    title: String,
    csv: String,
    table: TableView,
}

struct ChartsView {
    /// Open compliance findings, linked to the compliance page.
    open_findings: String,
    provinces: Vec<Choice>,
    steps: Vec<Choice>,
    office: String,
    from: String,
    to: String,
    period: String,
    national_index: String,
    formula: String,
    once_only_total: String,
    charts: Vec<ChartView>,
    /// The charts' data for `assets/charts.js`, safe inside a `<script>` element.
    json: String,
}

fn minutes(s: Option<u64>) -> Option<u64> {
    s.map(|s| (s + 30) / 60)
}

/// A permille share as a percent with one decimal, such as `73.4`.
fn percent(permille: u32) -> String {
    format!("{}.{}", permille / 10, permille % 10)
}

/// The agencies' names as the exchange's directory gives them, by the code the figures use
/// (`sabt` for member `agency:sabt`); without an exchange, the figures keep the codes.
fn agency_names(state: &AppState, t: Tr) -> std::collections::HashMap<String, String> {
    let Some(exchange) = state.app().exchange() else {
        return std::collections::HashMap::new();
    };
    exchange
        .directory()
        .current()
        .config()
        .members
        .iter()
        .filter_map(|m| {
            let code = m.id.as_str().strip_prefix("agency:")?;
            let name = match t.lang {
                pishkhan_domain::model::Lang::Fa => &m.name_fa,
                pishkhan_domain::model::Lang::En => &m.name_en,
            };
            Some((code.to_string(), name.clone()))
        })
        .collect()
}

fn charts_view(
    t: Tr,
    d: &Dashboard,
    provinces: &[ProvinceSummary],
    open_findings: u64,
    agencies: &std::collections::HashMap<String, String>,
) -> ChartsView {
    let agency = |code: &String| agencies.get(code).unwrap_or(code).clone();
    let q = format!(
        "{}{}from={}&to={}&step={}",
        d.filter
            .province
            .map(|p| format!("province={p}&"))
            .unwrap_or_default(),
        d.filter
            .office
            .map(|o| format!("office={o}&"))
            .unwrap_or_default(),
        d.filter.from,
        d.filter.to,
        d.filter.step.code()
    );
    let csv = |c: Chart| format!("/dashboard.csv?chart={}&{q}", c.code());
    let h = |k: &str| t.t(k);
    let day_label = |x: &JalaliDate| t.date(*x);
    let opt = |v: Option<u64>| v.map(|n| t.count(n)).unwrap_or_else(|| "—".to_string());

    let days = ChartView {
        id: "days",
        title: h("db_days"),
        csv: csv(Chart::Days),
        table: TableView {
            head: vec![
                h("db_date"),
                h("db_booked"),
                h("db_completed"),
                h("db_visits"),
                h("db_walk_ins"),
            ],
            rows: d
                .days
                .iter()
                .map(|r| {
                    vec![
                        day_label(&r.day),
                        t.count(r.booked),
                        t.count(r.completed),
                        t.count(r.visits),
                        t.count(r.walk_ins),
                    ]
                })
                .collect(),
        },
    };
    let waits = ChartView {
        id: "waits",
        title: h("db_waits"),
        csv: csv(Chart::Days),
        table: TableView {
            head: vec![h("db_date"), h("db_no_shows"), h("db_wait_min")],
            rows: d
                .days
                .iter()
                .map(|r| {
                    vec![
                        day_label(&r.day),
                        t.count(r.no_shows),
                        opt(minutes(r.avg_wait_s)),
                    ]
                })
                .collect(),
        },
    };
    let activity = ChartView {
        id: "activity",
        title: h("db_activity"),
        csv: csv(Chart::Days),
        table: TableView {
            head: vec![
                h("db_date"),
                h("db_lookups"),
                h("db_payments"),
                h("db_reports_count"),
            ],
            rows: d
                .days
                .iter()
                .map(|r| {
                    vec![
                        day_label(&r.day),
                        t.count(r.lookups),
                        t.count(r.payments),
                        t.count(r.reports),
                    ]
                })
                .collect(),
        },
    };
    let rating = |r: Option<u64>| {
        r.map(|v| t.num(format!("{}.{}", v / 10, v % 10)))
            .unwrap_or_else(|| "—".to_string())
    };
    let satisfaction = ChartView {
        id: "satisfaction",
        title: h("db_satisfaction"),
        csv: csv(Chart::Days),
        table: TableView {
            head: vec![h("db_date"), h("db_ratings"), h("db_mean_rating")],
            rows: d
                .days
                .iter()
                .map(|r| {
                    vec![
                        day_label(&r.day),
                        t.count(r.ratings),
                        rating(r.rating_tenths),
                    ]
                })
                .collect(),
        },
    };
    let category = |c: &str| t.t(format!("rep_cat_{c}"));
    let reports = ChartView {
        id: "reports",
        title: h("db_reports"),
        csv: csv(Chart::Reports),
        table: TableView {
            head: vec![h("db_category"), h("db_count")],
            rows: d
                .reports
                .iter()
                .map(|(c, n)| vec![category(c), t.count(*n)])
                .collect(),
        },
    };
    let sanctions = ChartView {
        id: "sanctions",
        title: h("db_sanctions"),
        csv: csv(Chart::Sanctions),
        table: TableView {
            head: vec![
                h("db_date"),
                h("db_warnings"),
                h("db_suspensions"),
                h("db_reinstatements"),
            ],
            rows: d
                .sanctions
                .iter()
                .map(|r| {
                    vec![
                        day_label(&r.day),
                        t.count(r.warnings),
                        t.count(r.suspensions),
                        t.count(r.reinstatements),
                    ]
                })
                .collect(),
        },
    };
    let stage = |d: Digitization| t.text(d.label());
    let catalogue = ChartView {
        id: "catalogue",
        title: h("db_catalogue"),
        csv: csv(Chart::Catalogue),
        table: TableView {
            head: vec![
                h("db_date"),
                stage(Digitization::Networked),
                stage(Digitization::InProgress),
                stage(Digitization::NotStarted),
            ],
            rows: d
                .catalogue
                .iter()
                .map(|r| {
                    vec![
                        day_label(&r.day),
                        t.count(r.networked),
                        t.count(r.in_progress),
                        t.count(r.not_started),
                    ]
                })
                .collect(),
        },
    };
    let provinces_chart = ChartView {
        id: "provinces",
        title: h("db_provinces"),
        csv: csv(Chart::Provinces),
        table: TableView {
            head: vec![
                h("db_province"),
                h("db_booked_visits"),
                h("db_visits"),
                h("db_share"),
            ],
            rows: d
                .provinces
                .iter()
                .map(|p| {
                    vec![
                        t.text(&p.name),
                        t.count(p.booked_visits),
                        t.count(p.visits),
                        p.share_permille
                            .map(|s| t.num(percent(s)))
                            .unwrap_or_else(|| "—".to_string()),
                    ]
                })
                .collect(),
        },
    };
    let inquiries = ChartView {
        id: "inquiries",
        title: h("db_inquiries"),
        csv: csv(Chart::Inquiries),
        table: TableView {
            head: vec![h("db_agency"), h("db_inquiry_count")],
            rows: d
                .inquiries
                .iter()
                .map(|a| vec![agency(&a.agency), t.count(a.inquiries)])
                .collect(),
        },
    };
    let offices = ChartView {
        id: "offices",
        title: h("db_offices"),
        csv: csv(Chart::Offices),
        table: TableView {
            head: vec![h("db_status"), h("db_count")],
            rows: d
                .offices_by_status
                .iter()
                .map(|(s, n)| vec![t.text(s.label()), t.count(*n)])
                .collect(),
        },
    };
    let digitization = ChartView {
        id: "digitization",
        title: h("db_digitization"),
        csv: csv(Chart::Digitization),
        table: TableView {
            head: vec![h("db_stage"), h("db_services")],
            rows: d
                .services_by_digitization
                .iter()
                .map(|(s, n)| {
                    vec![
                        t.text(s.label()),
                        format!(
                            "{} {} {}",
                            t.count(*n),
                            h("db_of_total"),
                            t.count(d.services_total)
                        ),
                    ]
                })
                .collect(),
        },
    };
    let osi = ChartView {
        id: "osi",
        title: h("db_osi"),
        csv: "/api/v1/stats/online-service-index?format=csv".to_string(),
        table: TableView {
            head: vec![h("db_agency"), h("db_services"), h("db_index")],
            rows: d
                .osi
                .agencies
                .iter()
                .map(|a| {
                    vec![
                        t.text(&a.name),
                        t.count(u64::from(a.services)),
                        t.num(thousandths(a.index)),
                    ]
                })
                .collect(),
        },
    };
    let once = ChartView {
        id: "once-only",
        title: h("db_once_only"),
        csv: "/api/v1/stats/once-only?format=csv".to_string(),
        table: TableView {
            head: vec![
                h("db_service"),
                h("db_document"),
                h("db_inquiry"),
                h("db_yearly_visits"),
            ],
            rows: d
                .once_only
                .iter()
                .map(|i| {
                    vec![
                        format!("{} · {}", t.num(i.service.as_str()), t.text(&i.title)),
                        t.text(&i.document),
                        i.inquiry.to_string(),
                        t.count(i.yearly_visits),
                    ]
                })
                .collect(),
        },
    };

    let labels: Vec<String> = d.days.iter().map(|r| day_label(&r.day)).collect();
    let data = json!({
        "lang": t.code(),
        "charts": {
            "days": {"kind": "line", "labels": labels, "series": [
                {"name": h("db_booked"), "data": d.days.iter().map(|r| r.booked).collect::<Vec<_>>()},
                {"name": h("db_visits"), "data": d.days.iter().map(|r| r.visits).collect::<Vec<_>>()},
            ]},
            "waits": {"kind": "bar", "labels": labels, "series": [
                {"name": h("db_no_shows"), "data": d.days.iter().map(|r| r.no_shows).collect::<Vec<_>>()},
                {"name": h("db_wait_min"), "kind": "line", "axis": 1, "data": d.days.iter().map(|r| minutes(r.avg_wait_s).map_or(Value::Null, Value::from)).collect::<Vec<_>>()},
            ]},
            "activity": {"kind": "line", "labels": labels, "series": [
                {"name": h("db_lookups"), "data": d.days.iter().map(|r| r.lookups).collect::<Vec<_>>()},
                {"name": h("db_payments"), "data": d.days.iter().map(|r| r.payments).collect::<Vec<_>>()},
                {"name": h("db_reports_count"), "kind": "bar", "axis": 1, "data": d.days.iter().map(|r| r.reports).collect::<Vec<_>>()},
            ]},
            "satisfaction": {"kind": "line", "labels": labels, "series": [
                {"name": h("db_mean_rating"), "data": d.days.iter().map(|r| r.rating_tenths.map_or(Value::Null, |v| json!(v as f64 / 10.0))).collect::<Vec<_>>()},
                {"name": h("db_ratings"), "kind": "bar", "axis": 1, "data": d.days.iter().map(|r| r.ratings).collect::<Vec<_>>()},
            ]},
            "reports": {"kind": "pie", "labels": d.reports.iter().map(|(c, _)| category(c)).collect::<Vec<_>>(), "series": [
                {"name": h("db_reports_count"), "data": d.reports.iter().map(|(_, n)| *n).collect::<Vec<_>>()},
            ]},
            "sanctions": {"kind": "bar", "stack": true, "labels": d.sanctions.iter().map(|r| day_label(&r.day)).collect::<Vec<_>>(), "series": [
                {"name": h("db_warnings"), "data": d.sanctions.iter().map(|r| r.warnings).collect::<Vec<_>>()},
                {"name": h("db_suspensions"), "data": d.sanctions.iter().map(|r| r.suspensions).collect::<Vec<_>>()},
                {"name": h("db_reinstatements"), "data": d.sanctions.iter().map(|r| r.reinstatements).collect::<Vec<_>>()},
            ]},
            "catalogue": {"kind": "bar", "stack": true, "labels": d.catalogue.iter().map(|r| day_label(&r.day)).collect::<Vec<_>>(), "series": [
                {"name": stage(Digitization::Networked), "data": d.catalogue.iter().map(|r| r.networked).collect::<Vec<_>>()},
                {"name": stage(Digitization::InProgress), "data": d.catalogue.iter().map(|r| r.in_progress).collect::<Vec<_>>()},
                {"name": stage(Digitization::NotStarted), "data": d.catalogue.iter().map(|r| r.not_started).collect::<Vec<_>>()},
            ]},
            "provinces": {"kind": "hbar", "max": 100, "labels": d.provinces.iter().map(|p| t.text(&p.name)).collect::<Vec<_>>(), "series": [
                {"name": h("db_share"), "data": d.provinces.iter().map(|p| p.share_permille.map_or(Value::Null, |s| json!(f64::from(s) / 10.0))).collect::<Vec<_>>()},
            ]},
            "inquiries": {"kind": "bar", "labels": d.inquiries.iter().map(|a| agency(&a.agency)).collect::<Vec<_>>(), "series": [
                {"name": h("db_inquiry_count"), "data": d.inquiries.iter().map(|a| a.inquiries).collect::<Vec<_>>()},
            ]},
            "offices": {"kind": "pie", "labels": d.offices_by_status.iter().map(|(s, _)| t.text(s.label())).collect::<Vec<_>>(), "series": [
                {"name": h("db_offices"), "data": d.offices_by_status.iter().map(|(_, n)| *n).collect::<Vec<_>>()},
            ]},
            "digitization": {"kind": "pie", "labels": d.services_by_digitization.iter().map(|(s, _)| t.text(s.label())).collect::<Vec<_>>(), "series": [
                {"name": h("db_services"), "data": d.services_by_digitization.iter().map(|(_, n)| *n).collect::<Vec<_>>()},
            ]},
            "osi": {"kind": "hbar", "max": 1, "labels": d.osi.agencies.iter().map(|a| t.text(&a.name)).collect::<Vec<_>>(), "series": [
                {"name": h("db_index"), "data": d.osi.agencies.iter().map(|a| json!(f64::from(a.index) / 1000.0)).collect::<Vec<_>>()},
            ]},
            "once-only": {"kind": "hbar", "labels": d.once_only.iter().map(|i| format!("{} · {}", t.num(i.service.as_str()), t.text(&i.document))).collect::<Vec<_>>(), "series": [
                {"name": h("db_yearly_visits"), "data": d.once_only.iter().map(|i| i.yearly_visits).collect::<Vec<_>>()},
            ]},
        }
    });
    // `<` never appears raw, so no text in the data can close the script element.
    let json = data.to_string().replace('<', "\\u003c");

    ChartsView {
        open_findings: t.count(open_findings),
        provinces: provinces
            .iter()
            .map(|p| Choice {
                value: p.province.id.to_string(),
                label: t.text(&p.province.name),
                selected: d.filter.province == Some(p.province.id),
            })
            .collect(),
        steps: Step::ALL
            .iter()
            .map(|s| Choice {
                value: s.code().to_string(),
                label: t.t(format!("db_step_{}", s.code())),
                selected: d.filter.step == *s,
            })
            .collect(),
        office: d
            .filter
            .office
            .map(|o| t.num(o.to_string()))
            .unwrap_or_default(),
        from: t.num(d.filter.from),
        to: t.num(d.filter.to),
        period: format!("{} – {}", t.date(d.filter.from), t.date(d.filter.to)),
        national_index: t.num(thousandths(d.osi.national)),
        formula: t.text(osi_formula()),
        once_only_total: t.count(d.once_only_yearly_visits),
        charts: vec![
            days,
            waits,
            activity,
            provinces_chart,
            inquiries,
            reports,
            sanctions,
            satisfaction,
            offices,
            digitization,
            catalogue,
            osi,
            once,
        ],
        json,
    }
}

pub async fn dashboard(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let counts = state.store().counts().await.map_err(|e| page.fail(e))?;
    let provinces = state.store().provinces().await.map_err(|e| page.fail(e))?;
    let networked = counts
        .services_by_digitization
        .iter()
        .find(|(d, _)| *d == Digitization::Networked)
        .map_or(0, |(_, n)| *n);
    let active = counts
        .offices_by_status
        .iter()
        .find(|(s, _)| *s == OfficeStatus::Active)
        .map_or(0, |(_, n)| *n);
    // The national charts are the regulator's; other staff keep the network's counts.
    let charts = if staff.permit(Action::ViewNationalFigures).is_ok() {
        let filter = filter_of(&state, &q).map_err(|e| page.fail(e))?;
        let d = dashboard::dashboard(state.app(), staff, filter)
            .await
            .map_err(|e| page.fail(e))?;
        let open = pishkhan_app::compliance::findings(
            state.app(),
            staff,
            &pishkhan_store::FindingFilter {
                status: Some("open".into()),
                office: None,
            },
            pishkhan_store::PageRequest::new(1, 1).map_err(|e| page.fail(AppError::from(e)))?,
        )
        .await
        .map_err(|e| page.fail(e))?;
        let agencies = agency_names(&state, page.t);
        Some(charts_view(page.t, &d, &provinces, open.total, &agencies))
    } else {
        None
    };
    Ok(render(&DashboardPage {
        chrome: page.chrome("dashboard"),
        counts,
        networked,
        active,
        provinces,
        charts,
    }))
}

/// One chart's rows as a CSV file, for the regulator's browser session.
pub async fn csv(
    State(state): State<AppState>,
    page: PageCtx,
    ApiQuery(q): ApiQuery<DashboardQuery>,
) -> Result<Response, UiError> {
    let staff = page.require_staff()?;
    let chart = Chart::parse(q.chart.as_deref().unwrap_or_default()).ok_or_else(|| {
        page.fail(AppError::invalid(
            "unknown_chart",
            "chart",
            "no chart has this name",
        ))
    })?;
    let filter = filter_of(&state, &q).map_err(|e| page.fail(e))?;
    let file = dashboard::chart_file(state.app(), staff, filter, chart)
        .await
        .map_err(|e| page.fail(e))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"dashboard-{}.csv\"", chart.code()),
            ),
        ],
        file,
    )
        .into_response())
}
