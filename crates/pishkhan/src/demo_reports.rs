//! The demo's citizens' reports of the last 30 days, filed and triaged through the
//! application layer as citizens and the regulator would.
//!
//! Who complains follows the history, not a list: the offices that served most visits
//! unbooked over those days draw most of the reports (crowding, no appointments offered),
//! and a sample of other offices a few of any kind. The regulator accepts most, rejects some
//! and asks for more on a few; the `reports_threshold` rule then finds the offices where the
//! accepted reports of one category pile up.

use std::sync::Arc;

use pishkhan_app::reports::{self, ReportRequest};
use pishkhan_app::{App, AppConfig, Citizen, FixedClock};
use pishkhan_domain::JalaliDate;
use pishkhan_domain::Mobile;
use pishkhan_domain::model::{OfficeCode, Username};
use pishkhan_domain::report::{ReportCategory, TriageDecision};
use pishkhan_domain::schedule::{solar_holiday, tehran_instant, unix_ms};
use pishkhan_store::{ActivityWindow, AuditContext, Store};

use crate::demo_payments::{manager_session, national_code_from};

/// Days the reports spread over.
const DAYS: i64 = 30;
/// Offices with the lowest booked share that draw the most reports.
const WORST: usize = 30;
/// Other offices with a report or two.
const OTHERS: usize = 60;

const TEXTS: [(&str, ReportCategory); 6] = [
    (
        "صف بسیار طولانی بود و هیچ نوبتی به ما داده نشد.",
        ReportCategory::NoAppointments,
    ),
    (
        "دفتر گفت نوبت اینترنتی قبول نمی‌کند و باید حضوری صف بایستیم.",
        ReportCategory::NoAppointments,
    ),
    (
        "شلوغی زیاد، بیش از دو ساعت در صف ایستادیم.",
        ReportCategory::Crowding,
    ),
    (
        "مبلغی بیش از تعرفه اعلام‌شده از ما گرفتند.",
        ReportCategory::Overcharging,
    ),
    (
        "کارمند باجه با مراجعان رفتار مناسبی نداشت.",
        ReportCategory::Misconduct,
    ),
    (
        "خدمت را انجام ندادند و گفتند فردا بیایید.",
        ReportCategory::ServiceRefused,
    ),
];

/// What the demo filed.
#[derive(Debug, Default)]
pub struct Filed {
    pub reports: usize,
    pub accepted: usize,
}

/// Files and triages the demo's reports, ending the last of them today.
pub async fn generate(store: Arc<dyn Store>, seed: u64) -> anyhow::Result<Filed> {
    let now = time::OffsetDateTime::now_utc();
    let today = pishkhan_domain::tehran::jalali_today(now);
    let first = today.add_days(-DAYS);
    // The offices, worst booked share first, from the same read the rules make.
    let window = ActivityWindow {
        from: first,
        to: today.add_days(-1),
        from_ms: unix_ms(tehran_instant(first, 0)),
        to_ms: unix_ms(tehran_instant(today, 0)),
        ahead_from: today.add_days(1),
        ahead_to: today.add_days(1),
        ahead_days: 1,
    };
    let mut activity = store.compliance_activity(&window).await?;
    activity.retain(|a| a.visits > 0);
    activity.sort_by_key(|a| (a.booked_visits * 1000 / a.visits.max(1), a.office));
    let mut picks: Vec<(OfficeCode, usize, bool)> = activity
        .iter()
        .take(WORST)
        .enumerate()
        .map(|(i, a)| (a.office, 7 + i % 5, true))
        .collect();
    let stride = (activity.len() / OTHERS.max(1)).max(1);
    picks.extend(
        activity
            .iter()
            .skip(WORST)
            .step_by(stride)
            .take(OTHERS)
            .enumerate()
            .map(|(i, a)| (a.office, 1 + i % 2, false)),
    );

    let regulator = store
        .staff_by_username(&Username::parse("regulator")?)
        .await?;
    let regulator = manager_session(&regulator);
    let clock = Arc::new(FixedClock::new(tehran_instant(first, 9 * 60)));
    let app = App::new(store.clone(), AppConfig::default(), clock.clone());
    let mut filed = Filed::default();
    let mut citizen_no = seed.wrapping_mul(7919) % 1_000_000;
    for (n, (office, count, worst)) in picks.into_iter().enumerate() {
        for k in 0..count {
            // Spread over the 30 days, working days only, at office hours.
            let mut day: JalaliDate = first.add_days(((n * 7 + k * 5) % DAYS as usize) as i64);
            while solar_holiday(day).is_some() {
                day = day.add_days(1);
            }
            let at = tehran_instant(day, 10 * 60 + (k as u16 * 17) % 360);
            {
                use pishkhan_app::Clock;
                clock.advance(at - clock.now());
            }
            citizen_no += 1;
            let citizen = Citizen {
                national_code: national_code_from(citizen_no)?,
                mobile: Mobile::parse(&format!("0912{:07}", citizen_no % 10_000_000))?,
            };
            let (text, category) = if worst {
                TEXTS[k % 3]
            } else {
                TEXTS[(n + k) % TEXTS.len()]
            };
            let ctx = AuditContext {
                now_ms: unix_ms(at),
                ip: None,
                request_id: None,
            };
            let report = reports::submit(
                &app,
                &citizen,
                ReportRequest {
                    office,
                    category,
                    text: text.to_string(),
                    booking: None,
                },
                &ctx,
            )
            .await?;
            filed.reports += 1;
            let decision = match (n + k) % 10 {
                0 => TriageDecision::Reject,
                1 => TriageDecision::AskMore,
                _ => TriageDecision::Accept,
            };
            let note = match decision {
                TriageDecision::Accept => "بررسی شد و پذیرفته شد.",
                TriageDecision::Reject => "شواهد کافی نبود.",
                TriageDecision::AskMore => "لطفاً زمان دقیق مراجعه را بنویسید.",
            };
            reports::triage(&app, &regulator, report.id, decision, note, &ctx).await?;
            if decision == TriageDecision::Accept {
                filed.accepted += 1;
            }
        }
    }
    Ok(filed)
}
