//! The regulator's national dashboard: bookings, visits, lookups, payments, reports and
//! satisfaction per day, week or month; waits and no-shows; the booked share by province;
//! inquiries per agency; reports by category; sanctions over time; offices by status;
//! digitization; and the online-service index and once-only list of [`crate::stats`]. All of
//! it reads the rollups (a few hundred rows for any national period), never the raw rows.
//! Each chart's rows are here once, for the page, its tables and its CSV files.

use std::collections::BTreeMap;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::Action;
use pishkhan_domain::model::{Digitization, LocalizedText, OfficeCode, OfficeStatus};
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::{MAX_STATS_DAYS, RollupFilter};

use crate::stats::{self, OnceOnlyItem, OnlineServiceIndex, csv_field};
use crate::{App, AppError, StaffSession};

/// The period shown when none is asked for.
pub const DEFAULT_DAYS: i64 = 30;
/// How many once-only rows the dashboard lists (the API lists them all).
pub const ONCE_ONLY_TOP: usize = 10;

/// How the days are grouped: per day, per week (from Saturday) or per Jalali month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Step {
    #[default]
    Day,
    Week,
    Month,
}

impl Step {
    pub const ALL: [Step; 3] = [Step::Day, Step::Week, Step::Month];

    pub fn code(self) -> &'static str {
        match self {
            Step::Day => "day",
            Step::Week => "week",
            Step::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == s.trim())
    }

    /// The first day of the group `day` falls in.
    pub fn start_of(self, day: JalaliDate) -> JalaliDate {
        match self {
            Step::Day => day,
            Step::Week => day.add_days(-(day.weekday() as i64)),
            Step::Month => day.add_days(-(i64::from(day.day()) - 1)),
        }
    }
}

/// Which province or office, days and grouping the dashboard shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardFilter {
    pub province: Option<u8>,
    pub office: Option<OfficeCode>,
    pub from: JalaliDate,
    pub to: JalaliDate,
    pub step: Step,
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
        Ok(Self {
            province,
            office: None,
            from,
            to,
            step: Step::Day,
        })
    }

    /// Narrows the view to one office (its province is then implied).
    pub fn for_office(mut self, office: Option<OfficeCode>) -> Self {
        self.office = office;
        self
    }

    pub fn grouped(mut self, step: Step) -> Self {
        self.step = step;
        self
    }

    fn rollup(&self) -> RollupFilter {
        RollupFilter {
            from: self.from,
            to: self.to,
            province: self.province,
            office: self.office,
        }
    }
}

fn days_between(from: JalaliDate, to: JalaliDate) -> i64 {
    (to.to_gregorian() - from.to_gregorian()).whole_days()
}

/// One day, week or month of the network (or of one province or office).
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    /// The group's first day.
    pub day: JalaliDate,
    /// Bookings for the group's days, not cancelled.
    pub booked: u64,
    pub completed: u64,
    pub no_shows: u64,
    /// Visits the queues saw: booked arrivals and walk-ins.
    pub visits: u64,
    pub walk_ins: u64,
    /// Mean wait of the visits, in seconds (the offices' means weighted by visits).
    pub avg_wait_s: Option<u64>,
    /// Inquiries and identity checks through the exchange.
    pub lookups: u64,
    pub payments: u64,
    pub reports: u64,
    /// Survey answers, and their mean rating in tenths (1.0 to 5.0 as 10 to 50).
    pub ratings: u64,
    pub rating_tenths: Option<u64>,
}

impl DayRow {
    fn empty(day: JalaliDate) -> Self {
        Self {
            day,
            booked: 0,
            completed: 0,
            no_shows: 0,
            visits: 0,
            walk_ins: 0,
            avg_wait_s: None,
            lookups: 0,
            payments: 0,
            reports: 0,
            ratings: 0,
            rating_tenths: None,
        }
    }
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

/// The catalogue's services per digitization stage at the end of a day, week or month.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueRow {
    pub day: JalaliDate,
    pub networked: u64,
    pub in_progress: u64,
    pub not_started: u64,
}

/// Sanctions of one day, week or month.
#[derive(Debug, Clone, PartialEq)]
pub struct SanctionRow {
    pub day: JalaliDate,
    pub warnings: u64,
    pub suspensions: u64,
    pub reinstatements: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub filter: DashboardFilter,
    pub days: Vec<DayRow>,
    /// Highest booked share first; provinces without visits last.
    pub provinces: Vec<ProvinceRow>,
    pub inquiries: Vec<AgencyInquiries>,
    /// Citizens' reports per category, most first.
    pub reports: Vec<(String, u64)>,
    pub sanctions: Vec<SanctionRow>,
    /// Digitization over the period (groups before the first recorded change left out).
    pub catalogue: Vec<CatalogueRow>,
    pub offices_by_status: Vec<(OfficeStatus, u64)>,
    pub services_total: u64,
    pub services_by_digitization: Vec<(Digitization, u64)>,
    pub osi: OnlineServiceIndex,
    pub once_only: Vec<OnceOnlyItem>,
    pub once_only_yearly_visits: u64,
}

fn half_up(sum: u64, n: u64) -> Option<u64> {
    (n > 0).then(|| (2 * sum + n) / (2 * n))
}

/// The dashboard for `filter`, from the rollups. The regulator only.
pub async fn dashboard(
    state: &App,
    staff: &StaffSession,
    filter: DashboardFilter,
) -> Result<Dashboard, AppError> {
    build(state, staff, filter, None).await
}

/// One chart's rows as a CSV file: only that chart is read. The regulator only.
pub async fn chart_file(
    state: &App,
    staff: &StaffSession,
    filter: DashboardFilter,
    chart: Chart,
) -> Result<String, AppError> {
    let d = build(state, staff, filter, Some(chart)).await?;
    Ok(chart_csv(&d, chart))
}

/// The dashboard, or only what `only` needs (the other parts left empty).
async fn build(
    state: &App,
    staff: &StaffSession,
    filter: DashboardFilter,
    only: Option<Chart>,
) -> Result<Dashboard, AppError> {
    staff.permit(Action::ViewNationalFigures)?;
    let want = |c: Chart| only.is_none_or(|o| o == c);
    let store = state.store();
    if let Some(code) = filter.office {
        store.office(code).await.map_err(|e| match e {
            pishkhan_store::StoreError::NotFound { .. } => AppError::NotFound("office"),
            other => other.into(),
        })?;
    }
    let rollup = filter.rollup();

    // Every group of the period has its row, with or without figures.
    // Per group: the row, and the sums its means divide (wait sum and weight, rating sum).
    let mut groups: BTreeMap<JalaliDate, (DayRow, [u64; 3])> = BTreeMap::new();
    let span = if want(Chart::Days) {
        days_between(filter.from, filter.to)
    } else {
        -1
    };
    for i in 0..=span {
        let start = filter.step.start_of(filter.from.add_days(i));
        groups
            .entry(start)
            .or_insert_with(|| (DayRow::empty(start), [0; 3]));
    }
    let day_rows = if want(Chart::Days) {
        store.rollup_days(&rollup).await?
    } else {
        Vec::new()
    };
    for d in day_rows {
        let start = filter.step.start_of(d.day);
        let (row, sums) = groups
            .entry(start)
            .or_insert_with(|| (DayRow::empty(start), [0; 3]));
        row.booked += d.bookings;
        row.completed += d.completed;
        row.no_shows += d.no_shows;
        row.visits += d.visits;
        row.walk_ins += d.walk_ins;
        row.lookups += d.lookups;
        row.payments += d.payments;
        row.reports += d.reports;
        row.ratings += d.ratings;
        sums[0] += d.wait_sum_s;
        sums[1] += d.waited;
        sums[2] += d.rating_sum;
    }
    let days: Vec<DayRow> = groups
        .into_values()
        .map(|(mut row, [wait_sum, waited, rating_sum])| {
            row.avg_wait_s = half_up(wait_sum, waited);
            row.rating_tenths = half_up(rating_sum * 10, row.ratings);
            row
        })
        .collect();

    let (per_province, registry): (BTreeMap<u32, (u64, u64)>, _) = if want(Chart::Provinces) {
        (
            store
                .rollup_provinces(&rollup)
                .await?
                .into_iter()
                .map(|p| (p.id, (p.booked_visits, p.visits)))
                .collect(),
            store.provinces().await?,
        )
    } else {
        (BTreeMap::new(), Vec::new())
    };
    let mut provinces: Vec<ProvinceRow> = registry
        .into_iter()
        .filter(|p| filter.province.is_none_or(|id| id == p.province.id))
        .filter(|p| filter.office.is_none() || per_province.contains_key(&u32::from(p.province.id)))
        .map(|p| {
            let (booked_visits, visits) = per_province
                .get(&u32::from(p.province.id))
                .copied()
                .unwrap_or((0, 0));
            ProvinceRow {
                province: p.province.id,
                name: p.province.name,
                booked_visits,
                visits,
                share_permille: half_up(1000 * booked_visits, visits)
                    .map(|v| u32::try_from(v).unwrap_or(1000)),
            }
        })
        .collect();
    provinces.sort_by(|a, b| {
        b.share_permille
            .cmp(&a.share_permille)
            .then_with(|| a.province.cmp(&b.province))
    });

    let agencies = if want(Chart::Inquiries) {
        store.rollup_agencies(&rollup).await?
    } else {
        Vec::new()
    };
    let inquiries = agencies
        .into_iter()
        .map(|(agency, inquiries)| AgencyInquiries { agency, inquiries })
        .collect();

    let mut sanctions: BTreeMap<JalaliDate, SanctionRow> = BTreeMap::new();
    if filter.office.is_none() && want(Chart::Sanctions) {
        for (day, kind, n) in store.sanctions_by_day(&rollup).await? {
            let start = filter.step.start_of(day);
            let row = sanctions.entry(start).or_insert(SanctionRow {
                day: start,
                warnings: 0,
                suspensions: 0,
                reinstatements: 0,
            });
            match kind.as_str() {
                "warning" => row.warnings += n,
                "suspension" => row.suspensions += n,
                _ => row.reinstatements += n,
            }
        }
    }

    let mut catalogue = Vec::new();
    if want(Chart::Catalogue) {
        let changes = store.catalogue_days(filter.from, filter.to).await?;
        // Each group shows the catalogue as its last day found it.
        let mut starts: Vec<JalaliDate> = Vec::new();
        let span = days_between(filter.from, filter.to);
        for i in 0..=span {
            let start = filter.step.start_of(filter.from.add_days(i));
            if starts.last() != Some(&start) {
                starts.push(start);
            }
        }
        for (i, start) in starts.iter().enumerate() {
            let end = starts
                .get(i + 1)
                .map_or(filter.to, |next| next.add_days(-1))
                .min(filter.to);
            let Some(last) = changes.iter().rev().map(|c| c.0).find(|d| *d <= end) else {
                continue;
            };
            let mut row = CatalogueRow {
                day: *start,
                networked: 0,
                in_progress: 0,
                not_started: 0,
            };
            for (_, stage, n) in changes.iter().filter(|c| c.0 == last) {
                match Digitization::parse(stage) {
                    Some(Digitization::Networked) => row.networked = *n,
                    Some(Digitization::InProgress) => row.in_progress = *n,
                    Some(Digitization::NotStarted) => row.not_started = *n,
                    None => {}
                }
            }
            catalogue.push(row);
        }
    }
    let counts = if want(Chart::Offices) || want(Chart::Digitization) {
        Some(store.counts().await?)
    } else {
        None
    };
    // The index and the once-only view have their own CSV files (the statistics API).
    let (osi, once) = if only.is_none() {
        (
            stats::online_service_index(state).await?,
            stats::once_only(state).await?,
        )
    } else {
        (OnlineServiceIndex::default(), stats::OnceOnly::default())
    };
    let reports = if want(Chart::Reports) {
        store.reports_by_category(&rollup).await?
    } else {
        Vec::new()
    };
    let (offices_by_status, services_total, services_by_digitization) = match counts {
        Some(c) => (c.offices_by_status, c.services, c.services_by_digitization),
        None => (Vec::new(), 0, Vec::new()),
    };
    Ok(Dashboard {
        reports,
        filter,
        days,
        provinces,
        inquiries,
        sanctions: sanctions.into_values().collect(),
        catalogue,
        offices_by_status,
        services_total,
        services_by_digitization,
        osi,
        once_only: once.items.into_iter().take(ONCE_ONLY_TOP).collect(),
        once_only_yearly_visits: once.yearly_visits,
    })
}

/// A chart of the dashboard, for its CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    Days,
    Provinces,
    Inquiries,
    Reports,
    Sanctions,
    Offices,
    Digitization,
    Catalogue,
}

impl Chart {
    pub const ALL: [Chart; 8] = [
        Chart::Days,
        Chart::Provinces,
        Chart::Inquiries,
        Chart::Reports,
        Chart::Sanctions,
        Chart::Offices,
        Chart::Digitization,
        Chart::Catalogue,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Chart::Days => "days",
            Chart::Provinces => "provinces",
            Chart::Inquiries => "inquiries",
            Chart::Reports => "reports",
            Chart::Sanctions => "sanctions",
            Chart::Offices => "offices",
            Chart::Digitization => "digitization",
            Chart::Catalogue => "catalogue",
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
            out.push_str(
                "date,booked,completed,no_shows,visits,walk_ins,avg_wait_s,lookups,payments,\
                 reports,ratings,mean_rating\n",
            );
            for r in &d.days {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    r.day,
                    r.booked,
                    r.completed,
                    r.no_shows,
                    r.visits,
                    r.walk_ins,
                    opt(r.avg_wait_s),
                    r.lookups,
                    r.payments,
                    r.reports,
                    r.ratings,
                    r.rating_tenths
                        .map(|t| format!("{}.{}", t / 10, t % 10))
                        .unwrap_or_default(),
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
        Chart::Reports => {
            out.push_str("category,reports\n");
            for (c, n) in &d.reports {
                out.push_str(&format!("{},{}\n", csv_field(c), n));
            }
        }
        Chart::Sanctions => {
            out.push_str("date,warnings,suspensions,reinstatements\n");
            for r in &d.sanctions {
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    r.day, r.warnings, r.suspensions, r.reinstatements
                ));
            }
        }
        Chart::Catalogue => {
            out.push_str("date,networked,in_progress,not_started\n");
            for r in &d.catalogue {
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    r.day, r.networked, r.in_progress, r.not_started
                ));
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
