//! Sheba (Iranian IBAN): what parses is `IR` and 24 digits whose ISO 13616 remainder is 1,
//! computed here independently with one 28-digit integer; it parses back from its display,
//! its printed groups and lower case, and `with_check_digits` of its account number gives it
//! again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::Sheba;

/// BBAN, then `IR` as 1827, then the check digits, as one number mod 97.
fn iso_remainder(digits24: &str) -> u128 {
    let rearranged = format!("{}1827{}", &digits24[2..], &digits24[..2]);
    rearranged.parse::<u128>().expect("28 digits fit in u128") % 97
}

fuzz_target!(|data: &[u8]| {
    let Some(s) = pishkhan_fuzz::text(data) else {
        return;
    };
    let Ok(sheba) = Sheba::parse(s) else { return };
    let text = sheba.as_str();
    assert!(text.starts_with("IR") && text.len() == 26, "{sheba}");
    let digits = &text[2..];
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{sheba}");
    assert_eq!(iso_remainder(digits), 1, "{sheba}");
    let check: u8 = digits[..2].parse().expect("two digits");
    assert!((2..=98).contains(&check), "{sheba}: check digits");
    assert_eq!(sheba.bank_code(), &digits[2..5]);
    for form in [
        sheba.to_string(),
        sheba.formatted(),
        text.to_ascii_lowercase(),
    ] {
        assert_eq!(Sheba::parse(&form).as_ref(), Ok(&sheba), "{form:?}");
    }
    assert_eq!(Sheba::with_check_digits(&digits[2..]).as_ref(), Ok(&sheba));
});
