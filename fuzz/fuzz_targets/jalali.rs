//! Jalali dates. Text: what parses is a real day of years 1..=1700 that parses back from its
//! display and from Persian digits with `/`, and survives a Gregorian round trip. Numbers: a
//! Gregorian day inside the range converts there and back unchanged, one outside saturates to
//! an end, and `add_days` moves by exactly the days asked unless it saturates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::JalaliDate;
use pishkhan_domain::digits::to_persian_digits;

fn invariants(d: JalaliDate) {
    assert!((1..=1700).contains(&d.year()), "{d}");
    assert!((1..=12).contains(&d.month()), "{d}");
    assert!(
        d.day() >= 1 && d.day() <= JalaliDate::days_in_month(d.year(), d.month()),
        "{d}"
    );
    assert_eq!(
        JalaliDate::from_gregorian(d.to_gregorian()),
        d,
        "Gregorian round trip"
    );
}

fn text(s: &str) {
    let Ok(d) = JalaliDate::parse(s) else { return };
    invariants(d);
    assert_eq!(JalaliDate::parse(&d.to_string()), Ok(d));
    let persian = to_persian_digits(&format!("{:04}/{}/{}", d.year(), d.month(), d.day()));
    assert_eq!(JalaliDate::parse(&persian), Ok(d), "{persian:?}");
}

fn numbers(data: &[u8]) {
    let mut jd = [0u8; 4];
    let mut n = [0u8; 8];
    let take = data.len().min(4);
    jd[..take].copy_from_slice(&data[..take]);
    let rest = &data[take..];
    let take = rest.len().min(8);
    n[..take].copy_from_slice(&rest[..take]);
    // Julian days of roughly 600..2400 CE, where the Jalali range and both ends lie.
    let jd = 1_940_000 + (i32::from_le_bytes(jd).rem_euclid(700_000));
    let Ok(g) = time::Date::from_julian_day(jd) else {
        return;
    };
    let d = JalaliDate::from_gregorian(g);
    invariants(d);
    let lo = JalaliDate::new(1, 1, 1).expect("first day").to_gregorian();
    let hi = JalaliDate::new(1700, 12, JalaliDate::days_in_month(1700, 12))
        .expect("last day")
        .to_gregorian();
    if g < lo {
        assert_eq!(d.to_gregorian(), lo);
    } else if g > hi {
        assert_eq!(d.to_gregorian(), hi);
    } else {
        assert_eq!(d.to_gregorian(), g, "{d}");
    }
    let n = i64::from_le_bytes(n);
    let moved = d.add_days(n);
    invariants(moved);
    let want = i64::from(d.to_gregorian().to_julian_day()).saturating_add(n);
    let (lo, hi) = (i64::from(lo.to_julian_day()), i64::from(hi.to_julian_day()));
    assert_eq!(
        i64::from(moved.to_gregorian().to_julian_day()),
        want.clamp(lo, hi),
        "{d} + {n}"
    );
    if (lo..=hi - 7).contains(&want) {
        assert_eq!(moved.add_days(7).weekday(), moved.weekday());
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Some(s) = pishkhan_fuzz::text(rest) {
            text(s);
        }
    } else {
        numbers(rest);
    }
});
