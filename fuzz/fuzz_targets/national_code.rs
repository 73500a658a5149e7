//! National code: what parses is ten ASCII digits, not one repeated digit, with the mod-11
//! check digit (computed here independently); it parses back from its display and from Persian
//! digits, and `from_body` of its first nine digits gives it again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::NationalCode;
use pishkhan_domain::digits::to_persian_digits;

fn check_digit_ok(d: &[u8]) -> bool {
    let sum: u32 = (0..9)
        .map(|i| u32::from(d[i] - b'0') * (10 - i as u32))
        .sum();
    let r = sum % 11;
    let check = u32::from(d[9] - b'0');
    if r < 2 { check == r } else { check == 11 - r }
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = pishkhan_fuzz::text(data) else {
        return;
    };
    let Ok(code) = NationalCode::parse(s) else {
        return;
    };
    let d = code.as_str().as_bytes();
    assert_eq!(d.len(), 10);
    assert!(d.iter().all(u8::is_ascii_digit));
    assert!(d.iter().any(|b| *b != d[0]), "one repeated digit");
    assert!(check_digit_ok(d), "check digit of {code}");
    assert_eq!(NationalCode::parse(&code.to_string()).as_ref(), Ok(&code));
    assert_eq!(
        NationalCode::parse(&to_persian_digits(code.as_str())).as_ref(),
        Ok(&code)
    );
    let body: u32 = code.as_str()[..9].parse().expect("nine digits");
    assert_eq!(NationalCode::from_body(body).as_ref(), Ok(&code));
});
