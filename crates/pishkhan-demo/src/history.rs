//! The demo nation's history: days of visits, bookings, lookups through the exchange,
//! payments and survey answers for every office, loaded into the supervision
//! rollups so the dashboard and the compliance rules have a country to look at.
//!
//! Nobody is marked as an offender. Each office draws its traffic and its take-up of booking
//! from skewed distributions: most book most of their visits, and a thin tail (a few dozen of
//! 17,000) still serves nearly everyone at the counter unbooked. The rules find that tail.
//! The same generator feeds `pishkhan bench compliance`.

use std::collections::BTreeMap;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::access::{Action, Principal, authorize};
use pishkhan_domain::model::{Office, OfficeStatus};
use pishkhan_nation::rng::Rng;
use pishkhan_store::{DayStats, Store};

use crate::ReferenceAgency;

/// Days of history the demo loads.
pub const DEMO_HISTORY_DAYS: u16 = 90;
/// Days loaded per transaction, so memory stays bounded.
const DAYS_PER_LOAD: u16 = 10;

/// How an office behaves over the whole history.
#[derive(Debug, Clone, Copy)]
struct Habit {
    /// Mean visits on an open day.
    visits: f64,
    /// Share of visits booked at the start of the history, and at its end.
    share_from: f64,
    share_to: f64,
}

fn unit(rng: &mut Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn habit(seed: u64, office: &Office) -> Habit {
    let mut rng = Rng::fork(seed, 0x4849_5354 ^ u64::from(office.code.get()));
    let u = unit(&mut rng);
    let v = unit(&mut rng);
    // Visits: 30 to 280 a day, most offices small (mean near 113: about 2 M a day for 17,000).
    let visits = 30.0 + 250.0 * u * u;
    // Take-up: most offices book 75-90 % of visits; the tail of v^20 drops below 20 %.
    let share_to = (0.9 - 0.15 * unit(&mut rng) - 0.8 * v.powi(20)).clamp(0.02, 0.97);
    // Booking spread over the history: the network booked a little less 90 days ago.
    let share_from = (share_to - 0.08 * unit(&mut rng)).max(0.01);
    Habit {
        visits,
        share_from,
        share_to,
    }
}

/// Rounds `x` to a whole number with `rng`'s dither, so small figures are not all zero.
fn whole(rng: &mut Rng, x: f64) -> u64 {
    let x = x.max(0.0);
    let floor = x.floor();
    floor as u64 + u64::from(unit(rng) < x - floor)
}

/// One office's day.
fn day_of(seed: u64, office: &Office, h: Habit, day: JalaliDate, progress: f64) -> DayStats {
    let mut rng = Rng::fork(
        seed,
        (u64::from(office.code.get()) << 20) ^ (day.to_gregorian().to_julian_day() as u64),
    );
    let mut d = DayStats {
        id: office.code.get(),
        day,
        bookings: 0,
        visits: 0,
        booked_visits: 0,
        walk_ins: 0,
        no_shows: 0,
        completed: 0,
        wait_sum_s: 0,
        waited: 0,
        lookups: 0,
        payments: 0,
        paid_rials: 0,
        reports: 0,
        ratings: 0,
        rating_sum: 0,
    };
    if office.hours.day(day.weekday()).is_none() || office.status == OfficeStatus::Revoked {
        return d;
    }
    let share = h.share_from + (h.share_to - h.share_from) * progress;
    let busy = 0.8 + 0.4 * unit(&mut rng);
    let visits = whole(&mut rng, h.visits * busy);
    let booked = whole(&mut rng, visits as f64 * share).min(visits);
    let missed = 0.03 + 0.07 * unit(&mut rng);
    let no_shows = whole(&mut rng, booked as f64 * missed);
    let wait = 240.0 + 1500.0 * (1.0 - share) * (0.7 + 0.6 * unit(&mut rng));
    let ratings = whole(&mut rng, visits as f64 * 0.08);
    let mean_rating = 2.2 + 2.6 * share;
    d.visits = visits;
    d.booked_visits = booked;
    d.walk_ins = visits - booked;
    d.bookings = booked + no_shows;
    d.no_shows = no_shows;
    d.completed = whole(&mut rng, visits as f64 * 0.97);
    d.wait_sum_s = whole(&mut rng, wait) * visits;
    d.waited = visits;
    let asked = 1.1 + 0.4 * unit(&mut rng);
    d.lookups = whole(&mut rng, visits as f64 * asked);
    d.payments = whole(&mut rng, visits as f64 * 0.6);
    d.paid_rials = d.payments * (900_000 + 100_000 * rng.below(10));
    // Reports are rows of their own (filed by the demo's citizens), not invented counts.
    d.ratings = ratings;
    d.rating_sum = whole(&mut rng, ratings as f64 * mean_rating).clamp(ratings, 5 * ratings);
    d
}

/// How lookups split between the reference agencies, in per mille: the civil registry answers
/// most, as every identity check asks it.
const AGENCY_SHARES: [(ReferenceAgency, u64); 4] = [
    (ReferenceAgency::CivilRegistry, 520),
    (ReferenceAgency::Cra, 230),
    (ReferenceAgency::Post, 170),
    (ReferenceAgency::TrafficPolice, 80),
];

/// The days `from..=to` of `offices`, and their lookups per day, province and agency (which
/// sum to the offices' lookups exactly).
pub type HistoryDays = (Vec<DayStats>, Vec<(JalaliDate, u8, String, u64)>);

/// Generates the days `from..=to` of a history that runs `first..=last`.
pub fn history_days(
    seed: u64,
    offices: &[Office],
    (first, last): (JalaliDate, JalaliDate),
    (from, to): (JalaliDate, JalaliDate),
) -> HistoryDays {
    let span = (last.to_gregorian() - first.to_gregorian())
        .whole_days()
        .max(1) as f64;
    let habits: Vec<Habit> = offices.iter().map(|o| habit(seed, o)).collect();
    let mut days = Vec::new();
    let mut lookups: BTreeMap<(JalaliDate, u8), u64> = BTreeMap::new();
    let mut day = from;
    while day <= to {
        let progress = (day.to_gregorian() - first.to_gregorian()).whole_days() as f64 / span;
        for (o, h) in offices.iter().zip(&habits) {
            let d = day_of(seed, o, *h, day, progress);
            if d.visits > 0 || d.lookups > 0 {
                *lookups.entry((day, o.province_id)).or_default() += d.lookups;
                days.push(d);
            }
        }
        day = day.add_days(1);
    }
    let mut agencies = Vec::with_capacity(lookups.len() * AGENCY_SHARES.len());
    for ((day, province), n) in lookups {
        let mut left = n;
        for (i, (agency, per_mille)) in AGENCY_SHARES.iter().enumerate() {
            let part = if i + 1 == AGENCY_SHARES.len() {
                left
            } else {
                (n * per_mille / 1000).min(left)
            };
            left -= part;
            let name = agency.member_id().to_string();
            let name = name.strip_prefix("agency:").unwrap_or(&name).to_string();
            agencies.push((day, province, name, part));
        }
    }
    (days, agencies)
}

/// What a history load wrote.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryLoaded {
    pub office_days: usize,
    pub visits: u64,
}

/// Loads the `days` days before `today` for `offices` into `store`, a few days per
/// transaction.
pub async fn load_history(
    store: &dyn Store,
    seed: u64,
    offices: &[Office],
    today: JalaliDate,
    days: u16,
) -> anyhow::Result<HistoryLoaded> {
    let permit = authorize(
        &Principal::System {
            reason: "demo-history",
        },
        Action::LoadDemo,
    )?;
    let first = today.add_days(-i64::from(days));
    let last = today.add_days(-1);
    let mut loaded = HistoryLoaded::default();
    let mut from = first;
    while from <= last {
        let to = from.add_days(i64::from(DAYS_PER_LOAD) - 1).min(last);
        let (rows, agencies) = history_days(seed, offices, (first, last), (from, to));
        loaded.office_days += rows.len();
        loaded.visits += rows.iter().map(|d| d.visits).sum::<u64>();
        store.load_history(&permit, &rows, &agencies).await?;
        from = to.add_days(1);
    }
    Ok(loaded)
}
