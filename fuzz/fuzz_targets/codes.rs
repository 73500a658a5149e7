//! Office, service and agency codes, the closed vocabularies (status, category, channel,
//! digitization) and opening hours. The first byte picks the parser, the rest is the text.
//! Whatever parses keeps its documented shape and parses back from its written form to the
//! same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::model::{
    AgencyCode, Category, Channel, DayHours, Digitization, OfficeCode, OfficeStatus, ServiceCode,
    WeeklyHours,
};

fn office_code(s: &str) {
    let Ok(c) = OfficeCode::parse(s) else { return };
    assert!((OfficeCode::MIN..=OfficeCode::MAX).contains(&c.get()));
    let text = c.to_string();
    assert_eq!(text.len(), 8);
    assert_eq!(OfficeCode::parse(&text), Ok(c));
}

fn service_code(s: &str) {
    let Ok(c) = ServiceCode::parse(s) else { return };
    let t = c.as_str();
    assert!((3..=24).contains(&t.len()), "{t:?}");
    assert!(t.as_bytes()[0].is_ascii_uppercase(), "{t:?}");
    assert!(
        t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
    );
    assert_eq!(
        ServiceCode::parse(t).as_ref(),
        Ok(&c),
        "canonical form is a fixed point"
    );
    assert_eq!(ServiceCode::parse(&t.to_ascii_lowercase()).as_ref(), Ok(&c));
}

fn agency_code(s: &str) {
    let Ok(c) = AgencyCode::parse(s) else { return };
    let t = c.as_str();
    assert!((2..=24).contains(&t.len()), "{t:?}");
    assert!(t.as_bytes()[0].is_ascii_lowercase(), "{t:?}");
    assert_eq!(AgencyCode::parse(t).as_ref(), Ok(&c));
}

fn vocabularies(s: &str) {
    if let Some(v) = OfficeStatus::parse(s) {
        assert_eq!(v.code(), s);
    }
    if let Some(v) = Category::parse(s) {
        assert_eq!(Category::parse(v.code()), Some(v));
    }
    if let Some(v) = Channel::parse(s) {
        assert_eq!(Channel::parse(v.code()), Some(v));
    }
    if let Some(v) = Digitization::parse(s) {
        assert_eq!(Digitization::parse(v.code()), Some(v));
    }
}

fn hours(s: &str) {
    if let Ok(d) = DayHours::parse_hhmm(s) {
        assert!(d.open_min < d.close_min && d.close_min <= 24 * 60, "{d:?}");
        assert_eq!(DayHours::parse_hhmm(&d.to_hhmm()), Ok(d));
    }
    if let Ok(w) = WeeklyHours::parse_compact(s) {
        let compact = w.to_compact();
        assert_eq!(compact.split(';').count(), 7);
        assert_eq!(WeeklyHours::parse_compact(&compact), Ok(w), "{compact:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Some(s) = pishkhan_fuzz::text(rest) else {
        return;
    };
    match which % 5 {
        0 => office_code(s),
        1 => service_code(s),
        2 => agency_code(s),
        3 => vocabularies(s),
        _ => hours(s),
    }
});
