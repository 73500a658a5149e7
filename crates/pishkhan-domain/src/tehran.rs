//! Local time in Iran.
//!
//! Iran abolished daylight saving time in 2022, so Asia/Tehran is a fixed UTC+03:30 and a
//! constant offset is enough; no time-zone database is needed. Times before September 2022
//! that fell in the old summer time come out an hour early, which is acceptable for display.

use time::{OffsetDateTime, UtcOffset};

use crate::digits::localize_digits;
use crate::jalali::JalaliDate;
use crate::model::Lang;

/// UTC+03:30, the offset of Asia/Tehran since 2022.
pub const TEHRAN_OFFSET: UtcOffset = time::macros::offset!(+03:30);

/// The same instant seen on a clock in Tehran.
///
/// At the very end of `time`'s range, where the local date would not be representable, the
/// instant is returned unchanged rather than panicking.
pub fn to_tehran(t: OffsetDateTime) -> OffsetDateTime {
    t.checked_to_offset(TEHRAN_OFFSET).unwrap_or(t)
}

/// The Jalali date in Tehran at `now`. The clock is passed in, so callers and tests decide
/// what "now" is.
pub fn jalali_today(now: OffsetDateTime) -> JalaliDate {
    JalaliDate::from_gregorian(to_tehran(now).date())
}

/// The Tehran local date and time of `t` for people: `۷ آذر ۱۴۰۵، ۱۴:۳۰` in Persian,
/// `7 Azar 1405, 14:30` in English.
pub fn format_datetime(t: OffsetDateTime, lang: Lang) -> String {
    let local = to_tehran(t);
    let date = JalaliDate::from_gregorian(local.date()).format_long(lang);
    let clock = localize_digits(&format!("{:02}:{:02}", local.hour(), local.minute()), lang);
    let comma = match lang {
        Lang::Fa => '،',
        Lang::En => ',',
    };
    format!("{date}{comma} {clock}")
}

/// The first and one-past-last Unix millisecond of `day` in Tehran.
pub fn day_bounds_ms(day: JalaliDate) -> (i64, i64) {
    let start = day
        .to_gregorian()
        .midnight()
        .assume_offset(TEHRAN_OFFSET)
        .unix_timestamp()
        * 1000;
    (start, start + 86_400_000)
}

/// The Jalali day in Tehran of a Unix millisecond.
pub fn jalali_day_of_ms(ms: i64) -> JalaliDate {
    let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    jalali_today(t)
}
