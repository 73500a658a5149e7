//! Postal codes: what parses matches the documented validator regex
//! `^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$` (written out here by position, separately
//! from the parser), and parses back from its display and its envelope form `XXXXX-XXXXX`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::PostalCode;
use pishkhan_domain::digits::to_persian_digits;

fn matches_regex(d: &[u8]) -> bool {
    d.len() == 10
        && !(d[0].is_ascii_digit() && d[1..4].iter().all(|c| *c == d[0]))
        && d[..4].iter().all(|c| matches!(c, b'1' | b'3'..=b'9'))
        && matches!(d[4], b'1' | b'3' | b'4' | b'6'..=b'9')
        && d[5..]
            .iter()
            .all(|c| matches!(c, b'0' | b'1' | b'3'..=b'9'))
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = pishkhan_fuzz::text(data) else {
        return;
    };
    // A plain ASCII candidate must be accepted exactly when the regex matches.
    if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(
            PostalCode::parse(s).is_ok(),
            matches_regex(s.as_bytes()),
            "{s:?}"
        );
    }
    let Ok(p) = PostalCode::parse(s) else { return };
    assert!(matches_regex(p.as_str().as_bytes()), "{p}");
    for form in [
        p.to_string(),
        p.formatted(),
        to_persian_digits(&p.formatted()),
    ] {
        assert_eq!(PostalCode::parse(&form).as_ref(), Ok(&p), "{form:?}");
    }
});
