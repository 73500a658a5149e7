//! The regulator's national dashboard: bookings and visits per day, waits and no-shows, the
//! booked share by province, inquiries per agency, offices by status, digitization, and the
//! online-service index and once-only list of [`crate::stats`]. Each chart's rows are here
//! once, for the page, its tables and its CSV files.

use std::collections::BTreeMap;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::model::{Digitization, LocalizedText, OfficeStatus};
use pishkhan_domain::tehran::{day_bounds_ms, jalali_day_of_ms, jalali_today};
use pishkhan_store::{MAX_STATS_DAYS, StatsWindow};

use crate::stats::{self, OnceOnlyItem, OnlineServiceIndex, csv_field, decode_figures};
use crate::{App, AppError, StaffSession};

/// The period shown when none is asked for.
pub const DEFAULT_DAYS: i64 = 30;
/// How many once-only rows the dashboard lists (the API lists them all).
pub const ONCE_ONLY_TOP: usize = 10;

const DAY_MS: i64 = 86_400_000;
const TEHRAN_OFFSET_MS: i64 = 12_600_000;

/// Which province and days the dashboard shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardFilter {
    pub province: Option<u8>,
    pub from: JalaliDate,
    pub to: JalaliDate,
}

impl DashboardFilter {
    /// The days `from..=to` (the last [`DEFAULT_DAYS`] up to today when left out), at most
    /// [`MAX_STATS_DAYS`] of them.
    pub fn new(
        state: &App,
        province: Option<u8>,
        from: Option<JalaliDate>,
        to: Option<JalaliDate>,
    ) -> Result<Self, AppError> {
        if let Some(p) = province
            && !(1..=31).contains(&p)
        {
            return Err(AppError::invalid(
                "unknown_province",
                "province",
                "provinces are numbered 1 to 31",
            ));
        }
        let to = to.unwrap_or_else(|| jalali_today(state.now()));
        let from = from.unwrap_or_else(|| to.add_days(-(DEFAULT_DAYS - 1)));
        let span = days_between(from, to);
        if span < 0 {
            return Err(AppError::invalid(
                "invalid_period",
                "from",
                "the period starts after it ends",
            ));
        }
        if span >= MAX_STATS_DAYS {
            return Err(AppError::invalid(
                "period_too_long",
                "from",
                format!("a period is at most {MAX_STATS_DAYS} days"),
            ));
        }
        Ok(Self { province, from, to })
    }

    fn window(&self) -> StatsWindow {
        StatsWindow {
            from_ms: day_bounds_ms(self.from).0,
            to_ms: day_bounds_ms(self.to).1,
            province: self.province,
        }
    }
}

fn days_between(from: JalaliDate, to: JalaliDate) -> i64 {
    (to.to_gregorian() - from.to_gregorian()).whole_days()
}

/// One day of the network (or of one province).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DayRow {
    pub day: Option<JalaliDate>,
    /// Bookings whose slot was that day, not cancelled.
    pub booked: u64,
    pub completed: u64,
    pub no_shows: u64,
    /// Visits the queues saw: booked arrivals and walk-ins.
    pub visits: u64,
    pub walk_ins: u64,
    /// Mean wait of the day's visits, in seconds (the offices' means weighted by visits).
    pub avg_wait_s: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProvinceRow {
    pub province: u8,
    pub name: LocalizedText,
    pub booked_visits: u64,
    pub visits: u64,
    /// Booked visits per thousand visits, when there were visits.
    pub share_permille: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AgencyInquiries {
    pub agency: String,
    pub inquiries: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub filter: DashboardFilter,
    pub days: Vec<DayRow>,
    /// Highest booked share first; provinces without visits last.
    pub provinces: Vec<ProvinceRow>,
    pub inquiries: Vec<AgencyInquiries>,
    pub offices_by_status: Vec<(OfficeStatus, u64)>,
    pub services_total: u64,
    pub services_by_digitization: Vec<(Digitization, u64)>,
    pub osi: OnlineServiceIndex,
    pub once_only: Vec<OnceOnlyItem>,
    pub once_only_yearly_visits: u64,
    /// A read hit its cap, so the figures are partial.
    pub truncated: bool,
}

/// The dashboard for `filter`. The regulator only.
pub async fn dashboard(
    state: &App,
    staff: &StaffSession,
    filter: DashboardFilter,
) -> Result<Dashboard, AppError> {
    staff.permit(Action::ViewNationalFigures)?;
    let store = state.store();
    let window = filter.window();

    let span = days_between(filter.from, filter.to);
    let mut days: Vec<DayRow> = (0..=span)
        .map(|i| DayRow {
            day: Some(filter.from.add_days(i)),
            ..DayRow::default()
        })
        .collect();
    let index_of =
        |day: JalaliDate| -> Option<usize> { usize::try_from(days_between(filter.from, day)).ok() };
    for b in store.bookings_by_day(&window).await? {
        let day = jalali_day_of_ms(b.tehran_day * DAY_MS - TEHRAN_OFFSET_MS + DAY_MS / 2);
        if let Some(row) = index_of(day).and_then(|i| days.get_mut(i)) {
            row.booked += b.booked;
            row.completed += b.completed;
            row.no_shows += b.no_shows;
        }
    }

    let figures = store
        .figures_between(filter.from, filter.to, filter.province)
        .await?;
    let mut waits: Vec<(u64, u64)> = vec![(0, 0); days.len()];
    let mut per_province: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
    for row in &figures.rows {
        let f = decode_figures(&row.figures_json)?;
        let booked = u64::from(f.check_ins) + u64::from(f.late_arrivals);
        let visits = booked + u64::from(f.walk_ins);
        if let Some(i) = index_of(row.day).filter(|i| *i < days.len()) {
            days[i].visits += visits;
            days[i].walk_ins += u64::from(f.walk_ins);
            if let Some(w) = f.avg_wait_s {
                waits[i].0 += w * visits;
                waits[i].1 += visits;
            }
        }
        let p = per_province.entry(row.province).or_default();
        p.0 += booked;
        p.1 += visits;
    }
    for (row, (sum, n)) in days.iter_mut().zip(waits) {
        row.avg_wait_s = (n > 0).then(|| (2 * sum + n) / (2 * n));
    }

    let mut provinces: Vec<ProvinceRow> = store
        .provinces()
        .await?
        .into_iter()
        .filter(|p| filter.province.is_none_or(|id| id == p.province.id))
        .map(|p| {
            let (booked_visits, visits) =
                per_province.get(&p.province.id).copied().unwrap_or((0, 0));
            ProvinceRow {
                province: p.province.id,
                name: p.province.name,
                booked_visits,
                visits,
                share_permille: (visits > 0).then(|| {
                    u32::try_from((2 * 1000 * booked_visits + visits) / (2 * visits))
                        .unwrap_or(1000)
                }),
            }
        })
        .collect();
    provinces.sort_by(|a, b| {
        b.share_permille
            .cmp(&a.share_permille)
            .then_with(|| a.province.cmp(&b.province))
    });

    let entries = store.exchange_entries_between(&window).await?;
    let mut per_agency: BTreeMap<String, u64> = BTreeMap::new();
    for bytes in &entries.rows {
        let entry = pishkhan_exchange::LogEntry::from_canonical_bytes(bytes)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("exchange log entry: {e}")))?;
        let agency = entry
            .agency
            .map_or_else(|| "unknown".to_string(), |a| a.as_str().to_string());
        *per_agency.entry(agency).or_default() += 1;
    }
    let mut inquiries: Vec<AgencyInquiries> = per_agency
        .into_iter()
        .map(|(agency, inquiries)| AgencyInquiries { agency, inquiries })
        .collect();
    inquiries.sort_by(|a, b| {
        b.inquiries
            .cmp(&a.inquiries)
            .then_with(|| a.agency.cmp(&b.agency))
    });

    let counts = store.counts().await?;
    let osi = stats::online_service_index(state).await?;
    let once = stats::once_only(state).await?;
    Ok(Dashboard {
        filter,
        days,
        provinces,
        inquiries,
        offices_by_status: counts.offices_by_status,
        services_total: counts.services,
        services_by_digitization: counts.services_by_digitization,
        osi,
        once_only: once.items.into_iter().take(ONCE_ONLY_TOP).collect(),
        once_only_yearly_visits: once.yearly_visits,
        truncated: figures.truncated || entries.truncated,
    })
}

/// A chart of the dashboard, for its CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    Days,
    Provinces,
    Inquiries,
    Offices,
    Digitization,
}

impl Chart {
    pub const ALL: [Chart; 5] = [
        Chart::Days,
        Chart::Provinces,
        Chart::Inquiries,
        Chart::Offices,
        Chart::Digitization,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Chart::Days => "days",
            Chart::Provinces => "provinces",
            Chart::Inquiries => "inquiries",
            Chart::Offices => "offices",
            Chart::Digitization => "digitization",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s.trim())
    }
}

fn opt(v: Option<u64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// One chart's rows as CSV, with a header row.
pub fn chart_csv(d: &Dashboard, chart: Chart) -> String {
    let mut out = String::new();
    match chart {
        Chart::Days => {
            out.push_str("date,booked,completed,no_shows,visits,walk_ins,avg_wait_s\n");
            for r in &d.days {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    r.day.map(|x| x.to_string()).unwrap_or_default(),
                    r.booked,
                    r.completed,
                    r.no_shows,
                    r.visits,
                    r.walk_ins,
                    opt(r.avg_wait_s)
                ));
            }
        }
        Chart::Provinces => {
            out.push_str("province,name,booked_visits,visits,booked_share_permille\n");
            for p in &d.provinces {
                out.push_str(&format!(
                    "{},{},{},{},{}\n",
                    p.province,
                    csv_field(&p.name.en),
                    p.booked_visits,
                    p.visits,
                    opt(p.share_permille.map(u64::from))
                ));
            }
        }
        Chart::Inquiries => {
            out.push_str("agency,inquiries\n");
            for a in &d.inquiries {
                out.push_str(&format!("{},{}\n", csv_field(&a.agency), a.inquiries));
            }
        }
        Chart::Offices => {
            out.push_str("status,offices\n");
            for (s, n) in &d.offices_by_status {
                out.push_str(&format!("{},{}\n", s.code(), n));
            }
        }
        Chart::Digitization => {
            out.push_str("digitization,services,of\n");
            for (s, n) in &d.services_by_digitization {
                out.push_str(&format!("{},{},{}\n", s.code(), n, d.services_total));
            }
        }
    }
    out
}
