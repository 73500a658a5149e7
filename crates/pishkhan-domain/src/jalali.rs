//! Jalali (Solar Hijri) dates, the civil calendar of Iran.
//!
//! Conversion and leap years come from `icu_calendar`'s `Persian` calendar, which follows the
//! astronomical rule (the vernal equinox at Tehran's meridian) through its 33-year cycle with a
//! table of corrections. Purely arithmetic rules drift away from it in some years, and a
//! calendar that disagrees with the official one by a day is worse than none.
//!
//! Every `JalaliDate` lies in the years `1..=1700` (Gregorian 622 to 2321). Constructors from
//! user input reject other years; conversions and arithmetic saturate at the ends of the range,
//! so every value can be displayed, parsed back and converted to a [`time::Date`].

use std::fmt;
use std::str::FromStr;

use icu_calendar::cal::Persian;
use icu_calendar::{Date, Iso};

use crate::digits::to_persian_digits;
use crate::model::{FieldError, Lang, LocalizedText, Weekday};

/// A day of the Jalali calendar. Ordering is chronological.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JalaliDate {
    year: i32,
    month: u8,
    day: u8,
}

fn invalid(message: impl Into<String>) -> FieldError {
    FieldError::new("date", "invalid_date", message)
}

const MIN_YEAR: i32 = 1;
const MAX_YEAR: i32 = 1700;

const MONTHS: [(&str, &str); 12] = [
    ("فروردین", "Farvardin"),
    ("اردیبهشت", "Ordibehesht"),
    ("خرداد", "Khordad"),
    ("تیر", "Tir"),
    ("مرداد", "Mordad"),
    ("شهریور", "Shahrivar"),
    ("مهر", "Mehr"),
    ("آبان", "Aban"),
    ("آذر", "Azar"),
    ("دی", "Dey"),
    ("بهمن", "Bahman"),
    ("اسفند", "Esfand"),
];

impl JalaliDate {
    /// The first representable day, 1 Farvardin of year 1.
    const MIN: JalaliDate = JalaliDate {
        year: MIN_YEAR,
        month: 1,
        day: 1,
    };

    /// Validates a date: year `1..=1700`, month `1..=12`, and a day that exists in that month
    /// (Esfand has 30 days only in leap years).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, FieldError> {
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return Err(invalid(format!(
                "year must be between {MIN_YEAR} and {MAX_YEAR}, not {year}"
            )));
        }
        if !(1..=12).contains(&month) {
            return Err(invalid(format!(
                "month must be between 1 and 12, not {month}"
            )));
        }
        let last = Self::days_in_month(year, month);
        if day == 0 || day > last {
            let (_, name) = MONTHS[usize::from(month - 1)];
            let why = if month == 12 && day == 30 {
                format!(" ({year} is not a leap year)")
            } else {
                String::new()
            };
            return Err(invalid(format!(
                "day must be between 1 and {last} in {name} {year}, not {day}{why}"
            )));
        }
        Ok(Self { year, month, day })
    }

    /// Parses `1405-09-07`, `1405/09/07` or `1405/9/7`, in ASCII, Persian or Arabic-Indic
    /// digits. The year must have four digits, so that a two-digit `05/9/7` is not silently
    /// read as year 5; both separators must be the same.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let ascii = crate::digits::to_ascii_digits(s.trim());
        let shape = || invalid("expected a Jalali date such as 1405-09-07");
        let sep = if ascii.contains('-') { '-' } else { '/' };
        let mut parts = ascii.split(sep);
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let number = |part: &str, max_len: usize| -> Result<u32, FieldError> {
            let ok =
                (1..=max_len).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit());
            if !ok {
                return Err(shape());
            }
            part.parse().map_err(|_| shape())
        };
        if y.len() != 4 {
            return Err(shape());
        }
        let year = number(y, 4)?;
        let month = number(m, 2)?;
        let day = number(d, 2)?;
        // All three fit: at most four and two digits.
        Self::new(year as i32, month as u8, day as u8)
    }

    /// The Jalali date of a Gregorian day. Days before 1 Farvardin 1 or after the end of 1700
    /// saturate to those ends.
    pub fn from_gregorian(d: time::Date) -> Self {
        let iso = Date::try_new_iso(d.year(), u8::from(d.month()), d.day());
        let Ok(iso) = iso else {
            // time::Date's range (±9999) is within icu's, so this is only a safety net.
            return if d.year() < 0 { Self::MIN } else { Self::max() };
        };
        let p = iso.to_calendar(Persian);
        let year = p.year().extended_year();
        if year < MIN_YEAR {
            Self::MIN
        } else if year > MAX_YEAR {
            Self::max()
        } else {
            Self {
                year,
                month: p.month().ordinal,
                day: p.day_of_month().0,
            }
        }
    }

    /// The Gregorian day of this date.
    pub fn to_gregorian(self) -> time::Date {
        let p = Date::try_new_persian(self.year, self.month, self.day)
            .expect("a JalaliDate is always a valid Persian date");
        let iso = p.to_calendar(Iso);
        let month = time::Month::try_from(iso.month().ordinal).expect("ISO months are 1..=12");
        time::Date::from_calendar_date(iso.year().extended_year(), month, iso.day_of_month().0)
            .expect("years 1..=1700 AP are within time::Date's range")
    }

    /// Whether Esfand of `year` has 30 days, by the same astronomical rule icu uses for
    /// conversion. Years outside icu's range (±9999) are reported as common years.
    pub fn is_leap_year(year: i32) -> bool {
        Date::try_new_persian(year, 1, 1).is_ok_and(|d| d.is_in_leap_year())
    }

    /// Days in `month` of `year`: 31 for the first six months, 30 for the next five, 29 or 30
    /// for Esfand. A month outside `1..=12` has 0 days.
    pub fn days_in_month(year: i32, month: u8) -> u8 {
        match month {
            1..=6 => 31,
            7..=11 => 30,
            12 if Self::is_leap_year(year) => 30,
            12 => 29,
            _ => 0,
        }
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// The day of the week, in the Iranian Saturday-first order.
    pub fn weekday(self) -> Weekday {
        match self.to_gregorian().weekday() {
            time::Weekday::Saturday => Weekday::Saturday,
            time::Weekday::Sunday => Weekday::Sunday,
            time::Weekday::Monday => Weekday::Monday,
            time::Weekday::Tuesday => Weekday::Tuesday,
            time::Weekday::Wednesday => Weekday::Wednesday,
            time::Weekday::Thursday => Weekday::Thursday,
            time::Weekday::Friday => Weekday::Friday,
        }
    }

    /// The name of a month in Persian and in the usual English transliteration. A number
    /// outside `1..=12` is returned as the number itself rather than panicking in a template.
    pub fn month_name(month: u8) -> LocalizedText {
        match month
            .checked_sub(1)
            .and_then(|i| MONTHS.get(usize::from(i)))
        {
            Some((fa, en)) => LocalizedText::new(*fa, *en),
            None => LocalizedText::new(to_persian_digits(&month.to_string()), month.to_string()),
        }
    }

    /// The date `n` days later (earlier for negative `n`), saturating at the ends of the
    /// representable range.
    pub fn add_days(self, n: i64) -> Self {
        let lo = i64::from(Self::MIN.to_gregorian().to_julian_day());
        let hi = i64::from(Self::max().to_gregorian().to_julian_day());
        let jd = i64::from(self.to_gregorian().to_julian_day())
            .saturating_add(n)
            .clamp(lo, hi);
        match i32::try_from(jd)
            .ok()
            .and_then(|jd| time::Date::from_julian_day(jd).ok())
        {
            Some(d) => Self::from_gregorian(d),
            None => self,
        }
    }

    /// The date as people write it: `۷ آذر ۱۴۰۵` in Persian, `7 Azar 1405` in English.
    pub fn format_long(self, lang: Lang) -> String {
        let name = Self::month_name(self.month);
        match lang {
            Lang::Fa => to_persian_digits(&format!("{} {} {}", self.day, name.fa, self.year)),
            Lang::En => format!("{} {} {}", self.day, name.en, self.year),
        }
    }

    /// The last representable day, the end of Esfand 1700.
    fn max() -> Self {
        Self {
            year: MAX_YEAR,
            month: 12,
            day: Self::days_in_month(MAX_YEAR, 12),
        }
    }
}

/// `YYYY-MM-DD` with ASCII digits: the storage and API form, which sorts as text.
impl fmt::Display for JalaliDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl FromStr for JalaliDate {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for JalaliDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for JalaliDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
