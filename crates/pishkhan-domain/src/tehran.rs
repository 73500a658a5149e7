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
