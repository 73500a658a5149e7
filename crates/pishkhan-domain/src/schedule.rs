//! Appointment rules: which days an office opens, its slots, their capacity, the booking
//! window, and tracking codes. Pure functions; the clock is passed in.

use std::fmt;

use time::{Duration, OffsetDateTime, PrimitiveDateTime, Time};

use crate::JalaliDate;
use crate::model::{FieldError, LocalizedText, Office, ServiceCode};
use crate::tehran::TEHRAN_OFFSET;

/// Per-office appointment settings the manager can adjust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotPolicy {
    /// Length of one appointment slot.
    pub slot_minutes: u16,
    /// Most people inside at once (the COVID-era health rule); caps every slot.
    pub occupancy_cap: u16,
    /// Counters that serve booked citizens; the rest serve walk-ins. At most the office's
    /// counters.
    pub booking_counters: u16,
}

impl SlotPolicy {
    pub const MIN_SLOT_MINUTES: u16 = 5;
    pub const MAX_SLOT_MINUTES: u16 = 240;

    /// Defaults for an office: 30-minute slots, all counters bookable, and at most four
    /// people per counter inside.
    pub fn default_for(office: &Office) -> Self {
        Self {
            slot_minutes: 30,
            occupancy_cap: office.counters.saturating_mul(4).max(1),
            booking_counters: office.counters,
        }
    }

    pub fn validate(&self, office: &Office) -> Result<(), FieldError> {
        if !(Self::MIN_SLOT_MINUTES..=Self::MAX_SLOT_MINUTES).contains(&self.slot_minutes) {
            return Err(FieldError::new(
                "slot_minutes",
                "invalid_slot_minutes",
                format!(
                    "slot_minutes must be {}..={}",
                    Self::MIN_SLOT_MINUTES,
                    Self::MAX_SLOT_MINUTES
                ),
            ));
        }
        if !(1..=1000).contains(&self.occupancy_cap) {
            return Err(FieldError::new(
                "occupancy_cap",
                "invalid_occupancy_cap",
                "occupancy_cap must be 1..=1000",
            ));
        }
        if self.booking_counters > office.counters {
            return Err(FieldError::new(
                "booking_counters",
                "invalid_booking_counters",
                format!(
                    "booking_counters must be at most the office's {} counters",
                    office.counters
                ),
            ));
        }
        Ok(())
    }

    /// People one slot holds for a service taking `handling_minutes` each: what the bookable
    /// counters can serve in the slot, never more than the occupancy cap.
    pub fn capacity(&self, handling_minutes: u16) -> u32 {
        let per_counter = u32::from(self.slot_minutes) / u32::from(handling_minutes.max(1));
        let served = u32::from(self.booking_counters) * per_counter.max(1);
        served.min(u32::from(self.occupancy_cap))
    }

    /// [`capacity`](Self::capacity) where the office has said which services each counter
    /// handles (`counters`: counter, `None` = every service; empty = every counter handles
    /// every service): only that many of the bookable counters count for `service`.
    pub fn capacity_at_counters(
        &self,
        service: &ServiceCode,
        handling_minutes: u16,
        counters: &[(u16, Option<Vec<ServiceCode>>)],
    ) -> u32 {
        if counters.is_empty() {
            return self.capacity(handling_minutes);
        }
        let handling = counters
            .iter()
            .filter(|(_, only)| only.as_ref().is_none_or(|s| s.contains(service)))
            .count();
        let effective = SlotPolicy {
            booking_counters: self
                .booking_counters
                .min(u16::try_from(handling).unwrap_or(u16::MAX)),
            ..*self
        };
        effective.capacity(handling_minutes)
    }
}

/// How citizens may book. All of it is configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookingRules {
    /// First bookable day, counted from today (1 = tomorrow).
    pub first_day_offset: u16,
    /// Last bookable day, counted from today.
    pub last_day_offset: u16,
    /// Active bookings one citizen may hold for one service.
    pub per_service: u16,
    /// Visits one citizen may have within any `visit_window_days`.
    pub max_visits_in_window: u16,
    pub visit_window_days: u16,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            first_day_offset: 1,
            last_day_offset: 14,
            per_service: 1,
            max_visits_in_window: 2,
            visit_window_days: 14,
        }
    }
}

impl BookingRules {
    /// Whether `day` lies in the bookable window as seen on `today`.
    pub fn check_window(&self, today: JalaliDate, day: JalaliDate) -> Result<(), FieldError> {
        let first = today.add_days(i64::from(self.first_day_offset));
        let last = today.add_days(i64::from(self.last_day_offset));
        if day < first || day > last {
            return Err(FieldError::new(
                "start",
                "outside_booking_window",
                format!("bookings are open from {first} to {last}"),
            ));
        }
        Ok(())
    }
}

/// Official holidays fixed in the solar calendar: (month, day, Persian name, English name).
const SOLAR_HOLIDAYS: &[(u8, u8, &str, &str)] = &[
    (1, 1, "نوروز", "Nowruz"),
    (1, 2, "نوروز", "Nowruz"),
    (1, 3, "نوروز", "Nowruz"),
    (1, 4, "نوروز", "Nowruz"),
    (1, 12, "روز جمهوری اسلامی", "Islamic Republic Day"),
    (1, 13, "روز طبیعت", "Nature Day (Sizdah Bedar)"),
    (3, 14, "رحلت امام خمینی", "Death of Imam Khomeini"),
    (3, 15, "قیام ۱۵ خرداد", "15 Khordad uprising"),
    (11, 22, "پیروزی انقلاب اسلامی", "Revolution Day"),
    (12, 29, "ملی شدن صنعت نفت", "Oil Nationalization Day"),
];

/// The fixed solar holiday on `day`, if any. Lunar holidays move every year and are entered
/// by the regulator.
pub fn solar_holiday(day: JalaliDate) -> Option<LocalizedText> {
    SOLAR_HOLIDAYS
        .iter()
        .find(|(m, d, _, _)| *m == day.month() && *d == day.day())
        .map(|(_, _, fa, en)| LocalizedText::new(*fa, *en))
}

/// One appointment slot, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
}

impl Slot {
    pub fn start_ms(&self) -> i64 {
        unix_ms(self.start)
    }
}

pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// The instant of `minutes` after Tehran midnight on `day`.
pub fn tehran_instant(day: JalaliDate, minutes: u16) -> OffsetDateTime {
    let midnight =
        PrimitiveDateTime::new(day.to_gregorian(), Time::MIDNIGHT).assume_offset(TEHRAN_OFFSET);
    (midnight + Duration::minutes(i64::from(minutes))).to_offset(time::UtcOffset::UTC)
}

/// The slots of `office` on `day`: every `slot_minutes` from opening, each ending by closing
/// time. Empty when the office is closed that weekday.
pub fn slots_for_day(office: &Office, policy: &SlotPolicy, day: JalaliDate) -> Vec<Slot> {
    let Some(hours) = office.hours.day(day.weekday()) else {
        return Vec::new();
    };
    let step = policy.slot_minutes.max(SlotPolicy::MIN_SLOT_MINUTES);
    let mut slots = Vec::new();
    let mut at = hours.open_min;
    while at + step <= hours.close_min {
        slots.push(Slot {
            start: tehran_instant(day, at),
            end: tehran_instant(day, at + step),
        });
        at += step;
    }
    slots
}

/// Why a day has no slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosedReason {
    Weekday,
    Holiday(LocalizedText),
    Closure(LocalizedText),
}

impl ClosedReason {
    pub fn code(&self) -> &'static str {
        match self {
            ClosedReason::Weekday => "weekly_closing",
            ClosedReason::Holiday(_) => "holiday",
            ClosedReason::Closure(_) => "closure",
        }
    }
}

/// A short, unambiguous code a citizen reads out at the desk: 8 characters from an alphabet
/// without 0/O, 1/I/L, shown as `XXXX-XXXX`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode(String);

impl TrackingCode {
    pub const ALPHABET: &'static [u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
    pub const LEN: usize = 8;

    /// Number of distinct codes: 31^8.
    pub const SPACE: u64 = 31u64.pow(8);
    const HALF: u64 = 31u64.pow(4);
    const ROUNDS: u8 = 6;

    /// The code of booking number `seq` under `key`: a keyed permutation of `0..SPACE`, so
    /// distinct numbers always give distinct codes (no uniqueness check, no index needed) and
    /// nobody without the key can guess a neighbour's code from their own.
    pub fn from_sequence(seq: u64, key: &[u8; 32]) -> Self {
        let v = seq % Self::SPACE;
        let (mut l, mut r) = (v / Self::HALF, v % Self::HALF);
        for round in 0..Self::ROUNDS {
            let f = Self::round_fn(key, round, r);
            (l, r) = (r, (l + f) % Self::HALF);
        }
        Self::from_number(l * Self::HALF + r)
    }

    /// The booking number this code was made from under `key`.
    pub fn to_sequence(&self, key: &[u8; 32]) -> u64 {
        let v = self.number();
        let (mut l, mut r) = (v / Self::HALF, v % Self::HALF);
        for round in (0..Self::ROUNDS).rev() {
            let f = Self::round_fn(key, round, l);
            (l, r) = ((r + Self::HALF - f) % Self::HALF, l);
        }
        l * Self::HALF + r
    }

    fn round_fn(key: &[u8; 32], round: u8, half: u64) -> u64 {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(key);
        h.update([round]);
        h.update(half.to_le_bytes());
        let d = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&d[..8]);
        u64::from_le_bytes(first) % Self::HALF
    }

    fn from_number(mut n: u64) -> Self {
        let mut chars = [b'2'; Self::LEN];
        for c in chars.iter_mut().rev() {
            *c = Self::ALPHABET[(n % 31) as usize];
            n /= 31;
        }
        Self(String::from_utf8_lossy(&chars).into_owned())
    }

    fn number(&self) -> u64 {
        self.0.bytes().fold(0u64, |acc, b| {
            let digit = Self::ALPHABET.iter().position(|a| *a == b).unwrap_or(0) as u64;
            acc * 31 + digit
        })
    }

    /// Accepts lower case, spaces and dashes, and Persian digits.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let cleaned: String = crate::digits::to_ascii_digits(s)
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let ok = cleaned.len() == Self::LEN && cleaned.bytes().all(|b| Self::ALPHABET.contains(&b));
        if ok {
            Ok(Self(cleaned))
        } else {
            Err(FieldError::new(
                "tracking_code",
                "invalid_tracking_code",
                "a tracking code is 8 letters and digits, such as K7M2-Q9XA",
            ))
        }
    }

    /// The stored form, without the dash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..4], &self.0[4..])
    }
}

/// Life of a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookingStatus {
    Booked,
    CheckedIn,
    Completed,
    Cancelled,
    NoShow,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 5] = [
        BookingStatus::Booked,
        BookingStatus::CheckedIn,
        BookingStatus::Completed,
        BookingStatus::Cancelled,
        BookingStatus::NoShow,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::CheckedIn => "checked_in",
            BookingStatus::Completed => "completed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.code() == s)
    }

    pub fn label(self) -> LocalizedText {
        match self {
            BookingStatus::Booked => LocalizedText::new("رزرو شده", "Booked"),
            BookingStatus::CheckedIn => LocalizedText::new("پذیرش شده", "Checked in"),
            BookingStatus::Completed => LocalizedText::new("انجام شده", "Completed"),
            BookingStatus::Cancelled => LocalizedText::new("لغو شده", "Cancelled"),
            BookingStatus::NoShow => LocalizedText::new("حاضر نشده", "No-show"),
        }
    }
}
