//! Finding a slot: "the earliest free slot for this service near me", ordered by distance,
//! then time; or in a province and city, by time.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{Office, Service};
use pishkhan_domain::normalize::normalize_for_search;
use pishkhan_domain::schedule::Slot;
use pishkhan_domain::tehran::jalali_today;
use pishkhan_store::OfficeLocation;

use crate::{App, AppError};

/// Offices whose calendars are read for one search, at most: nearest first, or by code.
const MAX_CANDIDATES: usize = 40;
/// Results returned, at most.
pub const MAX_RESULTS: usize = 20;
/// Days looked ahead, at most (the booking window is 14 days by default).
pub const MAX_DAYS: u16 = 31;

/// Where and when to look: a position (both or neither of latitude and longitude, in
/// degrees), or a province and city, or both; from a day (tomorrow if not given) for a number
/// of days (14) and results (10).
#[derive(Debug, Clone, Default)]
pub struct SlotSearch {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub province: Option<u8>,
    /// A city name in Persian or English, as typed.
    pub city: Option<String>,
    pub from: Option<JalaliDate>,
    pub days: Option<u16>,
    pub limit: Option<usize>,
}

/// Longest city name looked at, in characters.
const MAX_CITY_CHARS: usize = 64;
const DEFAULT_DAYS: u16 = 14;
const DEFAULT_RESULTS: usize = 10;

/// One office's earliest free slot.
pub struct SlotMatch {
    pub office: Office,
    /// Kilometres from the position (great-circle), to 0.1 km.
    pub distance_km: Option<f64>,
    pub slot: Slot,
    pub date: JalaliDate,
    pub available: u32,
}

/// Great-circle distance in kilometres.
pub(crate) fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().asin()
}

/// A position from both or neither of latitude and longitude, in degrees.
pub(crate) fn position(lat: Option<f64>, lon: Option<f64>) -> Result<Option<(f64, f64)>, AppError> {
    match (lat, lon) {
        (Some(a), Some(o)) if (-90.0..=90.0).contains(&a) && (-180.0..=180.0).contains(&o) => {
            Ok(Some((a, o)))
        }
        (None, None) => Ok(None),
        _ => Err(AppError::invalid(
            "invalid_position",
            "lat",
            "give both lat and lon, in degrees",
        )),
    }
}

/// Offices with a free slot for `service`, nearest first then earliest (earliest alone
/// without a position), at most `search.limit`.
pub async fn slots(
    state: &App,
    service: &Service,
    search: &SlotSearch,
) -> Result<Vec<SlotMatch>, AppError> {
    let here = position(search.lat, search.lon)?;
    let province = search.province;
    if province.is_some_and(|p| !(1..=31).contains(&p)) {
        return Err(AppError::invalid("invalid_province", "province", "1 to 31"));
    }
    let city = search
        .city
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|c| normalize_for_search(&c.chars().take(MAX_CITY_CHARS).collect::<String>()));
    let city = &city;
    if here.is_none() && province.is_none() && city.is_none() {
        return Err(AppError::invalid(
            "missing_field",
            "lat",
            "give a position (lat, lon) or a province or city",
        ));
    }
    let days = search.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::invalid("invalid_days", "days", "1 to 31"));
    }
    let limit = search.limit.unwrap_or(DEFAULT_RESULTS);
    if !(1..=MAX_RESULTS).contains(&limit) {
        return Err(AppError::invalid("invalid_limit", "limit", "1 to 20"));
    }
    let from = search
        .from
        .unwrap_or_else(|| jalali_today(state.now()).add_days(1));
    let mut candidates: Vec<(OfficeLocation, Option<f64>)> = state
        .store()
        .office_locations()
        .await?
        .into_iter()
        .filter(|o| o.status.may_use_network())
        .filter(|o| province.is_none_or(|p| o.province == p))
        .filter(|o| {
            city.as_ref().is_none_or(|c| {
                normalize_for_search(&o.city.fa).contains(c.as_str())
                    || normalize_for_search(&o.city.en).contains(c.as_str())
            })
        })
        .map(|o| {
            let d = here.map(|(a, b)| haversine_km(a, b, o.lat, o.lon));
            (o, d)
        })
        .collect();
    if here.is_some() {
        candidates.sort_by(|a, b| a.1.unwrap_or(0.0).total_cmp(&b.1.unwrap_or(0.0)));
    }
    candidates.truncate(MAX_CANDIDATES);

    let mut found = Vec::new();
    for (loc, distance) in candidates {
        let office = state.store().office(loc.code).await?;
        let calendar =
            crate::appointments::availability(state, &office, service, from, Some(days)).await?;
        let earliest = calendar.iter().find_map(|d| {
            d.slots
                .iter()
                .find(|s| s.available > 0 && d.bookable)
                .map(|s| (d.date, s.slot, s.available))
        });
        if let Some((date, slot, available)) = earliest {
            found.push(SlotMatch {
                office,
                distance_km: distance.map(|d| (d * 10.0).round() / 10.0),
                slot,
                date,
                available,
            });
        }
    }
    // Distance (to 0.1 km) first, then time; without a position, time alone.
    found.sort_by(|a, b| {
        a.distance_km
            .unwrap_or(0.0)
            .total_cmp(&b.distance_km.unwrap_or(0.0))
            .then(a.slot.start.cmp(&b.slot.start))
    });
    found.truncate(limit);
    Ok(found)
}
