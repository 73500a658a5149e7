//! The 17,000 counter offices.
//!
//! Counts are fixed by the census, not by the seed: each province gets offices in proportion
//! to its population (largest-remainder rounding, at least [`MIN_PER_PROVINCE`]), and each
//! city of the province in proportion to its size, with at least one office per listed city.
//! Offices are emitted province by province (Tehran first) and, inside a province, city by
//! city with the capital first, so `offices[0]` is an office in the city of Tehran. The seed
//! decides everything else: addresses, postal codes, phones, licences, status and hours.
//!
//! Office codes are `PP` + six digits, where `PP = 10 + province id` (Tehran offices are
//! `11000001`...); the number in an office's name is its number within the province.

use std::collections::HashSet;

use pishkhan_domain::digits::to_persian_digits;
use pishkhan_domain::model::{
    DayHours, LocalizedText, Office, OfficeCode, OfficeStatus, WeeklyHours,
};
use pishkhan_domain::{JalaliDate, PostalCode};

use crate::people::{ALLEYS, STREETS};
use crate::provinces::{CityRow, PROVINCES, ProvinceRow};
use crate::rng::Rng;

/// Total number of offices.
pub(crate) const OFFICE_COUNT: usize = 17_000;
/// Offices between two progress reports: often enough for a bar, rare enough to cost nothing.
pub(crate) const PROGRESS_EVERY: usize = 500;

/// No province, however small, has fewer offices than this.
pub(crate) const MIN_PER_PROVINCE: usize = 60;

/// Splits `total` in proportion to `weights` with the largest-remainder method, then lifts
/// every part below `min` to `min`, taking the difference from the largest parts. Ties go to
/// the earlier part, so the split is deterministic.
pub(crate) fn apportion(total: usize, weights: &[u64], min: usize) -> Vec<usize> {
    assert!(min * weights.len() <= total, "minimum exceeds the total");
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let mut parts: Vec<usize> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let exact = total as u128 * u128::from(*w);
        parts.push((exact / sum) as usize);
        remainders.push((exact % sum, i));
    }
    let mut left = total - parts.iter().sum::<usize>();
    // Largest remainder first; on equal remainders the lower index wins.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    for i in 0..parts.len() {
        while parts[i] < min {
            let (largest, _) = parts
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
                .expect("parts are not empty");
            parts[largest] -= 1;
            parts[i] += 1;
        }
    }
    parts
}

/// Offices per province, in province order.
pub(crate) fn per_province() -> Vec<usize> {
    let weights: Vec<u64> = PROVINCES.iter().map(|p| u64::from(p.population)).collect();
    apportion(OFFICE_COUNT, &weights, MIN_PER_PROVINCE)
}

/// Opening and closing time in minutes after midnight.
type Span = (u16, u16);

/// Opening-hour patterns and how often they occur. Friday is the weekend everywhere; on
/// Thursday most offices work a short morning and some close.
const HOURS: &[(u32, Span, Option<Span>)] = &[
    (35, (7 * 60 + 30, 14 * 60 + 30), Some((8 * 60, 12 * 60))),
    (25, (8 * 60, 16 * 60), Some((8 * 60, 12 * 60))),
    (20, (7 * 60 + 30, 14 * 60 + 30), None),
    (10, (8 * 60, 14 * 60), Some((8 * 60, 12 * 60))),
    (10, (8 * 60, 18 * 60), Some((8 * 60, 13 * 60))),
];

fn hours(rng: &mut Rng) -> WeeklyHours {
    let weights: Vec<u32> = HOURS.iter().map(|h| h.0).collect();
    let (_, (open, close), thursday) = HOURS[rng.weighted(&weights)];
    let day = DayHours::new(open, close).expect("pattern hours are valid");
    let thursday = thursday.map(|(o, c)| DayHours::new(o, c).expect("pattern hours are valid"));
    WeeklyHours([
        Some(day),
        Some(day),
        Some(day),
        Some(day),
        Some(day),
        thursday,
        None,
    ])
}

fn status(rng: &mut Rng) -> OfficeStatus {
    let x = rng.unit();
    if x < 0.94 {
        OfficeStatus::Active
    } else if x < 0.98 {
        OfficeStatus::Warned
    } else if x < 0.995 {
        OfficeStatus::Suspended
    } else {
        OfficeStatus::Revoked
    }
}

/// Digits a postal code may use at a position (see `PostalCode::parse`).
fn postal_digits(pos: usize) -> &'static [u8] {
    match pos {
        0..=3 => b"13456789",
        4 => b"1346789",
        _ => b"013456789",
    }
}

fn postal_code(rng: &mut Rng, prefix: &str, used: &mut HashSet<u64>) -> PostalCode {
    let mut s = String::with_capacity(10);
    loop {
        s.clear();
        s.push_str(prefix);
        while s.len() < 10 {
            s.push(char::from(*rng.pick(postal_digits(s.len()))));
        }
        let key: u64 = s.parse().expect("ten ASCII digits");
        if used.contains(&key) {
            continue;
        }
        if let Ok(code) = PostalCode::parse(&s) {
            used.insert(key);
            return code;
        }
    }
}

/// A landline in the province's area code. Tehran numbers start with the exchange prefixes
/// seen across the city; elsewhere city numbers start with 3.
fn phone(rng: &mut Rng, area_code: &str, used: &mut HashSet<u64>) -> String {
    const TEHRAN_EXCHANGES: &[u32] = &[22, 26, 33, 44, 55, 66, 77, 88];
    let area: u64 = area_code.parse().expect("area codes are digits");
    loop {
        let local = if area_code == "021" {
            rng.pick(TEHRAN_EXCHANGES) * 1_000_000 + rng.range(0, 999_999)
        } else {
            30_000_000 + rng.range(0, 9_999_999)
        };
        if used.insert(area * 100_000_000 + u64::from(local)) {
            return format!("{area_code}-{local:08}");
        }
    }
}

fn address(rng: &mut Rng, city: &CityRow) -> LocalizedText {
    let (street_fa, street_en) = *rng.pick(STREETS);
    let (alley_fa, alley_en) = if rng.chance(0.5) {
        let (fa, en) = *rng.pick(ALLEYS);
        (fa.to_string(), en.to_string())
    } else {
        let n = rng.range(1, 40);
        (
            format!("کوچه {}", to_persian_digits(&n.to_string())),
            format!("Alley {n}"),
        )
    };
    let no = rng.range(1, 240);
    LocalizedText::new(
        format!(
            "{}، {street_fa}، {alley_fa}، پلاک {}",
            city.fa,
            to_persian_digits(&no.to_string())
        ),
        format!("No. {no}, {alley_en}, {street_en}, {}", city.en),
    )
}

/// Counters: big-city offices are busier. Draws are skewed towards the low end.
fn counters(rng: &mut Rng, province: &ProvinceRow, city_index: usize, city: &CityRow) -> u16 {
    let (lo, hi) = if city_index == 0 && province.population > 3_000_000 {
        (2, 8)
    } else if city_index == 0 || city.weight >= 150 {
        (1, 6)
    } else {
        (1, 4)
    };
    let a = rng.range(lo, hi);
    let b = rng.range(lo, hi);
    a.min(b) as u16
}

fn licence_date(rng: &mut Rng) -> JalaliDate {
    let year = rng.range(1388, 1404) as i32;
    let last_month = if year == 1404 { 6 } else { 12 };
    let month = rng.range(1, last_month) as u8;
    let day = rng.range(1, u32::from(JalaliDate::days_in_month(year, month))) as u8;
    JalaliDate::new(year, month, day).expect("generated dates exist")
}

/// Generates all offices for `seed`.
/// `progress(done)` hears the number of offices made so far, every [`PROGRESS_EVERY`].
pub(crate) fn generate(seed: u64, progress: &mut dyn FnMut(u64)) -> Vec<Office> {
    let mut rng = Rng::fork(seed, 1);
    let mut postal_used = HashSet::with_capacity(OFFICE_COUNT);
    let mut phones_used = HashSet::with_capacity(OFFICE_COUNT);
    let mut licences_per_year = [0u32; 1405 - 1388];
    let mut offices = Vec::with_capacity(OFFICE_COUNT);

    for ((pi, province), count) in PROVINCES.iter().enumerate().zip(per_province()) {
        let province_id = (pi + 1) as u8;
        let city_weights: Vec<u64> = province
            .cities
            .iter()
            .map(|c| u64::from(c.weight))
            .collect();
        let per_city = apportion(count, &city_weights, 1);
        let mut number = 0u32;
        for ((ci, city), n) in province.cities.iter().enumerate().zip(per_city) {
            // Spread offices over the city; bigger cities spread wider.
            let radius = 0.012 + 0.038 * (f64::from(city.weight) / 1500.0).min(1.0);
            for _ in 0..n {
                number += 1;
                let code = OfficeCode::from_u32((10 + u32::from(province_id)) * 1_000_000 + number)
                    .expect("office codes are 8 digits");
                let licence_issued = licence_date(&mut rng);
                let y = licence_issued.year();
                let slot = &mut licences_per_year[(y - 1388) as usize];
                *slot += 1;
                let licence_no = format!("PK-{y}-{:05}", *slot);
                let status = if offices.is_empty() {
                    // The demo's first office must be usable.
                    rng.unit();
                    OfficeStatus::Active
                } else {
                    status(&mut rng)
                };
                offices.push(Office {
                    code,
                    name: LocalizedText::new(
                        format!(
                            "دفتر پیشخوان دولت {} {}",
                            to_persian_digits(&number.to_string()),
                            city.fa
                        ),
                        format!("Pishkhan Office {number} {}", city.en),
                    ),
                    province_id,
                    city: LocalizedText::new(city.fa, city.en),
                    address: address(&mut rng, city),
                    postal_code: postal_code(&mut rng, province.postal_prefix, &mut postal_used),
                    phone: phone(&mut rng, province.area_code, &mut phones_used),
                    lat: city.lat + rng.jitter(radius),
                    lon: city.lon + rng.jitter(radius),
                    licence_no,
                    licence_issued,
                    status,
                    counters: counters(&mut rng, province, ci, city),
                    hours: hours(&mut rng),
                });
                if offices.len() % PROGRESS_EVERY == 0 {
                    progress(offices.len() as u64);
                }
            }
        }
    }
    debug_assert_eq!(offices.len(), OFFICE_COUNT);
    progress(offices.len() as u64);
    offices
}
