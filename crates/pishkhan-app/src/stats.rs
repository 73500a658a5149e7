//! Statistics: the online-service index and the once-only view (public, computed live from
//! the catalogue), and the regulator's national dashboard (bookings, visits, waits, the booked
//! share by province, inquiries per agency, offices by status, digitization).
//!
//! Every figure is an integer: indexes are thousandths (1000 = 1.0) and shares permille, each
//! mean rounded half up, so the same data gives the same text on every machine.

use std::collections::BTreeMap;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{
    AgencyCode, Channel, Digitization, LocalizedText, Service, ServiceCode,
};
use pishkhan_domain::tehran::{day_bounds_ms, jalali_today};
use pishkhan_store::StatsWindow;

use crate::once_only::replacing_inquiry;
use crate::{App, AppError};

// ---- the online-service index -----------------------------------------------------------

/// What a service earns for its digitization stage, in thousandths.
const STAGE_POINTS: [(Digitization, u32); 3] = [
    (Digitization::Networked, 600),
    (Digitization::InProgress, 300),
    (Digitization::NotStarted, 0),
];
/// What a service earns for where it can be had, in thousandths.
const CHANNEL_POINTS: [(Channel, u32); 3] = [
    (Channel::Online, 400),
    (Channel::Both, 200),
    (Channel::Counter, 0),
];
/// What each document the citizen must bring costs, in thousandths.
const DOCUMENT_PENALTY: u32 = 50;

/// The formula, as the API returns it and the dashboard shows it.
pub fn osi_formula() -> LocalizedText {
    LocalizedText::new(
        "امتیاز هر خدمت = بیشینه(۰، مرحله + مجرا − ۵۰ × شمار مدارکی که شهروند باید بیاورد) ÷ ۱۰۰۰؛ \
         مرحله: شبکه‌ای شده ۶۰۰، زیرساخت در دست اجرا ۳۰۰، آغاز نشده ۰؛ \
         مجرا: برخط ۴۰۰، حضوری و برخط ۲۰۰، فقط حضوری ۰. \
         شاخص هر دستگاه میانگین امتیاز خدمات آن است و شاخص ملی میانگین همه خدمات (به هزارم، گرد به بالا از نیم).",
        "service score = max(0, stage + channel − 50 × documents the citizen must bring) ÷ 1000; \
         stage: networked 600, infrastructure in progress 300, not started 0; \
         channel: online 400, counter and online 200, counter only 0. \
         An agency's index is the mean score of its services and the national index the mean of \
         all services (in thousandths, rounded half up).",
    )
}

/// One service's score in thousandths, `0..=1000`.
pub fn service_score(s: &Service) -> u32 {
    let stage = STAGE_POINTS
        .iter()
        .find(|(d, _)| *d == s.digitization)
        .map_or(0, |(_, p)| *p);
    let channel = CHANNEL_POINTS
        .iter()
        .find(|(c, _)| *c == s.channel)
        .map_or(0, |(_, p)| *p);
    // At most 20 documents (`Service::validate`), so the product cannot overflow.
    let docs = u32::try_from(s.required_documents.len()).unwrap_or(u32::MAX);
    (stage + channel).saturating_sub(DOCUMENT_PENALTY.saturating_mul(docs))
}

/// `sum / n` rounded half up; 0 for no items.
fn mean_half_up(sum: u64, n: u64) -> u64 {
    if n == 0 { 0 } else { (2 * sum + n) / (2 * n) }
}

/// A value in thousandths as an exact decimal, such as `0.512`.
pub fn thousandths(v: u32) -> String {
    format!("{}.{:03}", v / 1000, v % 1000)
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgencyIndex {
    pub agency: AgencyCode,
    pub name: LocalizedText,
    pub services: u32,
    /// Thousandths, `0..=1000`.
    pub index: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnlineServiceIndex {
    /// Thousandths, `0..=1000`.
    pub national: u32,
    pub services: u32,
    /// Highest index first, then by agency code.
    pub agencies: Vec<AgencyIndex>,
}

fn index_of(
    catalogue: &[Service],
    names: &BTreeMap<AgencyCode, LocalizedText>,
) -> OnlineServiceIndex {
    let mut per_agency: BTreeMap<&AgencyCode, (u64, u64)> = BTreeMap::new();
    let mut total = 0u64;
    for s in catalogue {
        let score = u64::from(service_score(s));
        total += score;
        let e = per_agency.entry(&s.agency).or_default();
        e.0 += score;
        e.1 += 1;
    }
    let mut agencies: Vec<AgencyIndex> = per_agency
        .into_iter()
        .map(|(code, (sum, n))| AgencyIndex {
            agency: code.clone(),
            name: names
                .get(code)
                .cloned()
                .unwrap_or_else(|| LocalizedText::new(code.as_str(), code.as_str())),
            services: u32::try_from(n).unwrap_or(u32::MAX),
            index: u32::try_from(mean_half_up(sum, n)).unwrap_or(1000),
        })
        .collect();
    agencies.sort_by(|a, b| b.index.cmp(&a.index).then_with(|| a.agency.cmp(&b.agency)));
    let n = catalogue.len() as u64;
    OnlineServiceIndex {
        national: u32::try_from(mean_half_up(total, n)).unwrap_or(1000),
        services: u32::try_from(n).unwrap_or(u32::MAX),
        agencies,
    }
}

async fn agency_names(state: &App) -> Result<BTreeMap<AgencyCode, LocalizedText>, AppError> {
    Ok(state
        .store()
        .agencies()
        .await?
        .into_iter()
        .map(|a| (a.code, a.name))
        .collect())
}

/// The online-service index of the catalogue as it stands now. Public.
pub async fn online_service_index(state: &App) -> Result<OnlineServiceIndex, AppError> {
    let catalogue = crate::exchange::whole_catalogue(state.store()).await?;
    Ok(index_of(&catalogue, &agency_names(state).await?))
}

/// The index as CSV: the nation first, then each agency.
pub fn osi_csv(osi: &OnlineServiceIndex) -> String {
    let mut out = String::from("agency,name,services,index\n");
    out.push_str(&format!(
        "national,National,{},{}\n",
        osi.services,
        thousandths(osi.national)
    ));
    for a in &osi.agencies {
        out.push_str(&format!(
            "{},{},{},{}\n",
            a.agency,
            csv_field(&a.name.en),
            a.services,
            thousandths(a.index)
        ));
    }
    out
}

// ---- the once-only view -----------------------------------------------------------------

/// How far back bookings are counted to estimate a service's yearly visits.
pub const USAGE_WINDOW_DAYS: i64 = 90;
/// The most walk-ins one booked visit may stand for when scaling bookings up to visits: a
/// handful of booked visits beside thousands of walk-ins would otherwise multiply wildly.
const MAX_VISITS_PER_BOOKING: u64 = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct OnceOnlyItem {
    pub service: ServiceCode,
    pub title: LocalizedText,
    pub agency: AgencyCode,
    pub document: LocalizedText,
    /// The exchange's inquiry service that answers what the paper proves.
    pub inquiry: &'static str,
    /// Estimated visits a year that bring this paper.
    pub yearly_visits: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct OnceOnly {
    /// Most yearly visits first: the paper to abolish first.
    pub items: Vec<OnceOnlyItem>,
    /// Sum of the items' yearly visits: papers a year the exchange could spare citizens.
    pub yearly_visits: u64,
}

/// Visits per booked visit over a window, as (visits, booked visits) from the rollups.
async fn visit_ratio(
    state: &App,
    from: JalaliDate,
    to: JalaliDate,
) -> Result<(u64, u64), AppError> {
    let days = state
        .store()
        .rollup_days(&pishkhan_store::RollupFilter {
            from,
            to,
            province: None,
            office: None,
        })
        .await?;
    Ok(days
        .iter()
        .fold((0, 0), |(v, b), d| (v + d.visits, b + d.booked_visits)))
}

/// Yearly visits of each service: its bookings of the last [`USAGE_WINDOW_DAYS`] days scaled
/// to a year, and up by the visits each booked visit stood for (walk-ins aren't recorded per
/// service, so they are spread in proportion to bookings).
async fn yearly_visits(state: &App) -> Result<BTreeMap<ServiceCode, u64>, AppError> {
    let today = jalali_today(state.now());
    let from = today.add_days(-(USAGE_WINDOW_DAYS - 1));
    let window = StatsWindow {
        from_ms: day_bounds_ms(from).0,
        to_ms: day_bounds_ms(today).1,
        province: None,
    };
    let bookings = state.store().bookings_by_service(&window).await?;
    let (visits, booked) = visit_ratio(state, from, today).await?;
    let (num, den) = if booked == 0 || visits <= booked {
        (1, 1)
    } else {
        (visits.min(booked * MAX_VISITS_PER_BOOKING), booked)
    };
    Ok(bookings
        .into_iter()
        .map(|(code, n)| {
            let v = u128::from(n) * 365 * u128::from(num)
                / (USAGE_WINDOW_DAYS as u128 * u128::from(den));
            (code, u64::try_from(v).unwrap_or(u64::MAX))
        })
        .collect())
}

fn once_only_of(catalogue: &[Service], usage: &BTreeMap<ServiceCode, u64>) -> OnceOnly {
    let mut items: Vec<OnceOnlyItem> = catalogue
        .iter()
        .flat_map(|s| {
            s.required_documents.iter().filter_map(move |d| {
                replacing_inquiry(d).map(|inq| OnceOnlyItem {
                    service: s.code.clone(),
                    title: s.title.clone(),
                    agency: s.agency.clone(),
                    document: d.clone(),
                    inquiry: inq.name(),
                    yearly_visits: usage.get(&s.code).copied().unwrap_or(0),
                })
            })
        })
        .collect();
    items.sort_by(|a, b| {
        b.yearly_visits
            .cmp(&a.yearly_visits)
            .then_with(|| a.service.cmp(&b.service))
            .then_with(|| a.document.en.cmp(&b.document.en))
    });
    let yearly_visits = items
        .iter()
        .map(|i| i.yearly_visits)
        .fold(0u64, u64::saturating_add);
    OnceOnly {
        items,
        yearly_visits,
    }
}

/// The once-only view of the catalogue as it stands now. Public.
pub async fn once_only(state: &App) -> Result<OnceOnly, AppError> {
    let catalogue = crate::exchange::whole_catalogue(state.store()).await?;
    Ok(once_only_of(&catalogue, &yearly_visits(state).await?))
}

/// The once-only view as CSV, with the national sum as its last row.
pub fn once_only_csv(view: &OnceOnly) -> String {
    let mut out = String::from("service,document,replaced_by_inquiry,yearly_visits\n");
    for i in &view.items {
        out.push_str(&format!(
            "{},{},{},{}\n",
            i.service,
            csv_field(&i.document.en),
            i.inquiry,
            i.yearly_visits
        ));
    }
    out.push_str(&format!("national,,,{}\n", view.yearly_visits));
    out
}

pub(crate) fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
