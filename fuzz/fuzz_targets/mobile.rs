//! Mobile numbers: what parses is `09`, an operator digit (0-3 or 9) and eight more digits;
//! it parses back from its display, its E.164 form and Persian digits, and `from_parts` of its
//! prefix and subscriber number gives it again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::Mobile;
use pishkhan_domain::digits::to_persian_digits;

fuzz_target!(|data: &[u8]| {
    let Some(s) = pishkhan_fuzz::text(data) else {
        return;
    };
    let Ok(m) = Mobile::parse(s) else { return };
    let d = m.as_str().as_bytes();
    assert_eq!(d.len(), 11, "{m}");
    assert!(d.iter().all(u8::is_ascii_digit), "{m}");
    assert!(m.as_str().starts_with("09"), "{m}");
    assert!(matches!(d[2], b'0'..=b'3' | b'9'), "{m}: operator digit");
    assert_eq!(m.e164(), format!("+98{}", &m.as_str()[1..]));
    for form in [m.to_string(), m.e164(), to_persian_digits(m.as_str())] {
        assert_eq!(Mobile::parse(&form).as_ref(), Ok(&m), "{form:?}");
    }
    let prefix: u16 = m.as_str()[1..4].parse().expect("three digits");
    let subscriber: u32 = m.as_str()[4..].parse().expect("seven digits");
    assert_eq!(Mobile::from_parts(prefix, subscriber).as_ref(), Ok(&m));
});
