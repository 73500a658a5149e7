// Tests of the primitive value types: digits, search normalization, the Iranian identifiers,
// Jalali dates and Tehran time. Everything goes through the public API.
//
// Reference values were checked outside this code: national codes and Sheba numbers with an
// independent Python implementation of the checksums, Jalali dates with the `jdatetime` Python
// package, postal codes with the persian-tools regex in Python's `re`.

use pishkhan_domain::digits::{localize_digits, to_ascii_digits, to_persian_digits};
use pishkhan_domain::model::{FieldError, Lang, Weekday};
use pishkhan_domain::normalize::{contains_normalized, normalize_compact, normalize_for_search};
use pishkhan_domain::tehran::{TEHRAN_OFFSET, format_datetime, jalali_today, to_tehran};
use pishkhan_domain::{JalaliDate, Mobile, NationalCode, PostalCode, Sheba};
use time::macros::{date, datetime};

// ---------------------------------------------------------------------------------------------
// digits

#[test]
fn digits_convert_between_scripts() {
    let cases = [
        // (input, to_ascii, to_persian)
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789", "۰۱۲۳۴۵۶۷۸۹"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789", "٠١٢٣٤٥٦٧٨٩"),
        ("0123456789", "0123456789", "۰۱۲۳۴۵۶۷۸۹"),
        ("abc ۱۲3", "abc 123", "abc ۱۲۳"),
        ("پلاک ۱۲-٣٤", "پلاک 12-34", "پلاک ۱۲-٣٤"),
        ("", "", ""),
        ("😀x", "😀x", "😀x"),
        // Superscripts and other Unicode digits are not ours to touch.
        ("²", "²", "²"),
    ];
    for (input, ascii, persian) in cases {
        assert_eq!(to_ascii_digits(input), ascii, "to_ascii_digits({input:?})");
        assert_eq!(
            to_persian_digits(input),
            persian,
            "to_persian_digits({input:?})"
        );
    }
}

#[test]
fn digits_localize_by_language() {
    assert_eq!(localize_digits("14:30", Lang::Fa), "۱۴:۳۰");
    assert_eq!(localize_digits("14:30", Lang::En), "14:30");
    assert_eq!(localize_digits("۱۴", Lang::En), "۱۴");
    for s in ["0", "1405-09-07", "09121234567", "a1b2"] {
        assert_eq!(to_ascii_digits(&to_persian_digits(s)), s);
    }
}

// ---------------------------------------------------------------------------------------------
// normalize

#[test]
fn normalize_for_search_table() {
    let cases = [
        ("علي", "علی"),
        ("على", "علی"),
        ("كتاب", "کتاب"),
        ("مدرسة", "مدرسه"),
        ("خانۀ", "خانه"),
        ("أحمد", "احمد"),
        ("إیران", "ایران"),
        ("ٱلله", "الله"),
        ("آب", "اب"),
        ("مسئول", "مسیول"),
        ("مؤسسه", "موسسه"),
        ("مُحَمَّد", "محمد"),
        ("قرآن\u{0670}", "قران"),
        ("کـــتاب", "کتاب"),
        ("می\u{200C}خواهم", "می خواهم"),
        ("می\u{200D}خواهم", "می خواهم"),
        ("می\u{00A0}خواهم", "می خواهم"),
        ("می \u{200C} خواهم", "می خواهم"),
        ("\u{200F}تهران\u{200E}", "تهران"),
        ("\u{FEFF}تهران", "تهران"),
        ("  Hello \t\n WORLD  ", "hello world"),
        ("ÀB", "Àb"),
        ("۱۲۳ ٤٥٦", "123 456"),
        ("", ""),
        ("   ", ""),
        ("\u{200C}", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(
            normalize_for_search(input),
            expected,
            "normalize_for_search({input:?})"
        );
    }
}

#[test]
fn normalize_makes_spellings_match() {
    let same = [
        ("علي", "علی"),
        ("می‌خواهم", "می خواهم"),
        ("كيك", "کیک"),
        ("اسماعيل", "اسماعیل"),
        ("Pishkhan", "PISHKHAN"),
        ("پلاک ۱۲", "پلاک 12"),
        // Precomposed alef with madda and its decomposed spelling.
        ("آب", "ا\u{0653}ب"),
        ("أ", "ا\u{0654}"),
    ];
    for (a, b) in same {
        assert_eq!(
            normalize_for_search(a),
            normalize_for_search(b),
            "{a:?} vs {b:?}"
        );
    }
    let compact_same = [
        ("محمدعلی", "محمد علی"),
        ("محمدعلی", "محمد‌علی"),
        ("محمد علي", "محمد‌علی"),
        ("کسب‌وکار", "کسب و کار"),
    ];
    for (a, b) in compact_same {
        assert_eq!(normalize_compact(a), normalize_compact(b), "{a:?} vs {b:?}");
    }
    assert_ne!(normalize_for_search("تهران"), normalize_for_search("شیراز"));
}

#[test]
fn contains_normalized_table() {
    let cases = [
        ("دفتر پیشخوان دولت علي آباد", "علی آباد", true),
        ("دفتر پیشخوان دولت علي آباد", "علی‌آباد", true),
        ("دفتر پیشخوان دولت علی‌آباد", "علیاباد", true),
        ("Pishkhan Office 12", "office ۱۲", true),
        ("تهران", "شیراز", false),
        ("تهران", "", true),
        ("", "تهران", false),
        ("", "", true),
    ];
    for (haystack, needle, expected) in cases {
        assert_eq!(
            contains_normalized(haystack, needle),
            expected,
            "contains_normalized({haystack:?}, {needle:?})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// national code

const VALID_NATIONAL_CODES: [&str; 6] = [
    "0499370899",
    "0790419904",
    "0084575948",
    "0063360993",
    "0013542419",
    "1234567891",
];

#[test]
fn national_code_accepts_valid_codes() {
    for code in VALID_NATIONAL_CODES {
        let parsed = NationalCode::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
        assert_eq!(parsed.as_str(), code);
        assert_eq!(parsed.to_string(), code);
    }
}

#[test]
fn national_code_accepts_other_spellings() {
    let cases = [
        "۰۴۹۹۳۷۰۸۹۹",
        "٠٤٩٩٣٧٠٨٩٩",
        "  0499370899\n",
        "049-937089-9",
        "049 937 089 9",
        "۰۴۹-۹۳۷۰۸۹-۹",
    ];
    for input in cases {
        let parsed = NationalCode::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(parsed.as_str(), "0499370899", "{input:?}");
    }
}

#[test]
fn national_code_rejects_invalid_codes() {
    let cases = [
        ("", "required"),
        ("0499370898", "checksum digit does not match"),
        ("0790419903", "checksum digit does not match"),
        ("0012345678", "checksum digit does not match"),
        ("1111111111", "repeated"),
        ("0000000000", "repeated"),
        ("049937089", "exactly 10 digits"),
        ("04993708999", "exactly 10 digits"),
        ("049937089a", "only digits"),
        ("0499.370899", "only digits"),
    ];
    for (input, message) in cases {
        let err = NationalCode::parse(input).expect_err(input);
        assert_eq!(err.field, "national_code");
        assert_eq!(err.code, "invalid_national_code");
        assert!(err.message.contains(message), "{input:?}: {}", err.message);
    }
    for d in 0..=9u8 {
        let repeated = char::from(b'0' + d).to_string().repeat(10);
        assert!(NationalCode::parse(&repeated).is_err(), "{repeated}");
    }
}

#[test]
fn national_code_detects_every_wrong_check_digit() {
    for code in VALID_NATIONAL_CODES {
        let (body, check) = code.split_at(9);
        for d in '0'..='9' {
            let candidate = format!("{body}{d}");
            assert_eq!(
                NationalCode::parse(&candidate).is_ok(),
                check.starts_with(d),
                "{candidate}"
            );
        }
    }
}

#[test]
fn national_code_from_body() {
    assert_eq!(
        NationalCode::from_body(49_937_089).map(|c| c.to_string()),
        Ok("0499370899".to_string())
    );
    assert_eq!(
        NationalCode::from_body(1_354_241).map(|c| c.to_string()),
        Ok("0013542419".to_string())
    );
    assert!(NationalCode::from_body(1_000_000_000).is_err());
    assert!(NationalCode::from_body(u32::MAX).is_err());
    // Every repeated-digit body completes to a repeated-digit code.
    for d in 0..=9u32 {
        assert!(NationalCode::from_body(d * 111_111_111).is_err(), "{d}");
    }
    // Generated codes always parse back to themselves.
    for body in (0..=999_999_999u32)
        .step_by(7_777_777)
        .chain([999_999_999, 1, 10])
    {
        if let Ok(code) = NationalCode::from_body(body) {
            assert_eq!(code.as_str()[..9], format!("{body:09}"));
            assert_eq!(NationalCode::parse(code.as_str()), Ok(code));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// mobile

#[test]
fn mobile_accepts_common_spellings() {
    let cases = [
        ("09121234567", "09121234567"),
        ("9121234567", "09121234567"),
        ("+989121234567", "09121234567"),
        ("989121234567", "09121234567"),
        ("00989121234567", "09121234567"),
        ("0098 912 123 4567", "09121234567"),
        ("+98 (912) 123-4567", "09121234567"),
        ("+98 (0) 912 123 4567", "09121234567"),
        ("0912-123-4567", "09121234567"),
        ("(0912) 123 45 67", "09121234567"),
        ("۰۹۱۲۱۲۳۴۵۶۷", "09121234567"),
        ("٠٩١٢١٢٣٤٥٦٧", "09121234567"),
        ("+۹۸۹۱۲۱۲۳۴۵۶۷", "09121234567"),
        ("  09121234567  ", "09121234567"),
        ("09351234567", "09351234567"),
        ("09011234567", "09011234567"),
        ("09221234567", "09221234567"),
        ("09901234567", "09901234567"),
        ("09981234567", "09981234567"),
    ];
    for (input, canonical) in cases {
        let m = Mobile::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(m.as_str(), canonical, "{input:?}");
        assert_eq!(m.to_string(), canonical);
        assert_eq!(m.e164(), format!("+98{}", &canonical[1..]));
    }
}

#[test]
fn mobile_rejects_invalid_numbers() {
    let cases = [
        ("", "required"),
        ("09412345678", "not an Iranian mobile operator prefix"),
        ("09512345678", "not an Iranian mobile operator prefix"),
        ("09812345678", "not an Iranian mobile operator prefix"),
        ("0912123456", "11 digits"),
        ("091212345678", "11 digits"),
        ("08121234567", "11 digits"),
        ("02188776655", "11 digits"),
        ("+19121234567", "only digits"),
        ("+4491212345678", "only digits"),
        ("0912-abc-4567", "only digits"),
        ("0912.123.4567", "only digits"),
        ("09121234567+", "only digits"),
        ("+98", "11 digits"),
    ];
    for (input, message) in cases {
        let err = Mobile::parse(input).expect_err(input);
        assert_eq!(err.field, "mobile");
        assert_eq!(err.code, "invalid_mobile");
        assert!(err.message.contains(message), "{input:?}: {}", err.message);
    }
}

#[test]
fn mobile_from_parts() {
    let ok = [
        (912, 1_234_567, "09121234567"),
        (912, 0, "09120000000"),
        (935, 9_999_999, "09359999999"),
        (990, 42, "09900000042"),
    ];
    for (prefix, subscriber, expected) in ok {
        assert_eq!(
            Mobile::from_parts(prefix, subscriber).map(|m| m.to_string()),
            Ok(expected.to_string())
        );
    }
    for (prefix, subscriber) in [(941, 1), (912, 10_000_000), (89, 1), (1912, 1), (0, 0)] {
        assert!(
            Mobile::from_parts(prefix, subscriber).is_err(),
            "{prefix} {subscriber}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// postal code

/// The persian-tools rule `^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$`, restated as character
/// sets per position, to compare the parser against.
fn postal_rule(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[..4].iter().all(|d| b"13456789".contains(d))
        && b"1346789".contains(&b[4])
        && b[5..].iter().all(|d| b"013456789".contains(d))
        && !b[..4].iter().all(|d| *d == b[0])
}

#[test]
fn postal_code_table() {
    let cases = [
        ("1345765345", true),
        ("13457-65345", true),
        ("13457 65345", true),
        ("۱۳۴۵۷-۶۵۳۴۵", true),
        (" 1619735744 ", true),
        ("1345705345", true),
        ("1113165345", true),
        ("3134698130", true),
        ("7155618133", true),
        ("1234567890", false),
        ("9876543210", false),
        ("0345765345", false),
        ("1345565345", false),
        ("1111765345", false),
        ("3333165345", false),
        ("9999999999", false),
        ("1345765342", false),
        ("1340765345", false),
        ("134576534", false),
        ("13457653450", false),
        ("13457_65345", false),
        ("", false),
    ];
    for (input, valid) in cases {
        let parsed = PostalCode::parse(input);
        assert_eq!(parsed.is_ok(), valid, "{input:?}: {parsed:?}");
        if let Err(e) = parsed {
            assert_eq!((e.field, e.code), ("postal_code", "invalid_postal_code"));
        }
    }
    let code = PostalCode::parse("۱۳۴۵۷-۶۵۳۴۵").expect("valid");
    assert_eq!(code.as_str(), "1345765345");
    assert_eq!(code.to_string(), "1345765345");
    assert_eq!(code.formatted(), "13457-65345");
}

#[test]
fn postal_code_agrees_with_the_published_rule() {
    // A deterministic walk over ten-digit numbers, dense enough to hit every position rule.
    let mut n: u64 = 1_000_000_007;
    for _ in 0..200_000 {
        n = n
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let s = format!("{:010}", (n >> 20) % 10_000_000_000);
        // Bias half the samples towards digits the rule allows, so valid codes are common.
        let s = if n & 1 == 0 {
            s.replace('2', "3").replace('0', "1")
        } else {
            s
        };
        assert_eq!(PostalCode::parse(&s).is_ok(), postal_rule(&s), "{s}");
    }
}

// ---------------------------------------------------------------------------------------------
// sheba

const VALID_SHEBAS: [(&str, &str); 3] = [
    ("IR820540102680020817909002", "054"),
    ("IR062960000000100324200001", "296"),
    // The example of the SWIFT IBAN registry.
    ("IR710570029971601460641001", "057"),
];

#[test]
fn sheba_accepts_valid_numbers() {
    for (sheba, bank) in VALID_SHEBAS {
        let parsed = Sheba::parse(sheba).unwrap_or_else(|e| panic!("{sheba}: {e}"));
        assert_eq!(parsed.as_str(), sheba);
        assert_eq!(parsed.to_string(), sheba);
        assert_eq!(parsed.bank_code(), bank);
    }
    let spellings = [
        "ir820540102680020817909002",
        "iR820540102680020817909002",
        "IR82 0540 1026 8002 0817 9090 02",
        " IR82-0540-1026-8002-0817-9090-02 ",
        "IR۸۲۰۵۴۰۱۰۲۶۸۰۰۲۰۸۱۷۹۰۹۰۰۲",
        "IR٨٢٠٥٤٠١٠٢٦٨٠٠٢٠٨١٧٩٠٩٠٠٢",
    ];
    for input in spellings {
        let parsed = Sheba::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(parsed.as_str(), "IR820540102680020817909002");
        assert_eq!(parsed.formatted(), "IR82 0540 1026 8002 0817 9090 02");
    }
}

#[test]
fn sheba_rejects_every_single_digit_change_and_swap() {
    for (sheba, _) in VALID_SHEBAS {
        let chars: Vec<char> = sheba.chars().collect();
        for i in 2..chars.len() {
            for d in '0'..='9' {
                if d == chars[i] {
                    continue;
                }
                let mut changed = chars.clone();
                changed[i] = d;
                let changed: String = changed.into_iter().collect();
                let err = Sheba::parse(&changed).expect_err(&changed);
                assert_eq!((err.field, err.code), ("sheba", "invalid_sheba"));
            }
            if i + 1 < chars.len() && chars[i] != chars[i + 1] {
                let mut swapped = chars.clone();
                swapped.swap(i, i + 1);
                let swapped: String = swapped.into_iter().collect();
                assert!(Sheba::parse(&swapped).is_err(), "{swapped}");
            }
        }
    }
}

#[test]
fn sheba_rejects_malformed_input() {
    let cases = [
        ("", "required"),
        ("820540102680020817909002", "starts with IR"),
        ("DE820540102680020817909002", "starts with IR"),
        ("IR8205401026800208179090", "exactly 24 digits"),
        ("IR8205401026800208179090020", "exactly 24 digits"),
        ("IR82054010268002081790900A", "digits only"),
        ("IR82.0540.1026.8002.0817.9090.02", "digits only"),
        ("IR", "exactly 24 digits"),
        ("IR820540102680020817909003", "check digits do not match"),
    ];
    for (input, message) in cases {
        let err = Sheba::parse(input).expect_err(input);
        assert!(err.message.contains(message), "{input:?}: {}", err.message);
    }
}

// ---------------------------------------------------------------------------------------------
// Jalali dates

fn jalali(s: &str) -> JalaliDate {
    JalaliDate::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Checked with the `jdatetime` Python package.
const JALALI_GREGORIAN: [(&str, time::Date, Weekday); 12] = [
    ("1399-12-30", date!(2021 - 03 - 20), Weekday::Saturday),
    ("1400-01-01", date!(2021 - 03 - 21), Weekday::Sunday),
    ("1403-12-30", date!(2025 - 03 - 20), Weekday::Thursday),
    ("1404-01-01", date!(2025 - 03 - 21), Weekday::Friday),
    ("1395-12-30", date!(2017 - 03 - 20), Weekday::Monday),
    ("1396-01-01", date!(2017 - 03 - 21), Weekday::Tuesday),
    ("1405-09-07", date!(2026 - 11 - 28), Weekday::Saturday),
    ("1357-11-22", date!(1979 - 02 - 11), Weekday::Sunday),
    ("1348-10-11", date!(1970 - 01 - 01), Weekday::Thursday),
    ("1378-10-11", date!(2000 - 01 - 01), Weekday::Saturday),
    ("1404-12-29", date!(2026 - 03 - 20), Weekday::Friday),
    ("1408-12-30", date!(2030 - 03 - 20), Weekday::Wednesday),
];

#[test]
fn jalali_known_conversions() {
    for (j, g, weekday) in JALALI_GREGORIAN {
        let d = jalali(j);
        assert_eq!(d.to_gregorian(), g, "{j}");
        assert_eq!(JalaliDate::from_gregorian(g), d, "{g}");
        assert_eq!(d.weekday(), weekday, "{j}");
        assert_eq!(d.to_string(), j);
    }
}

#[test]
fn jalali_leap_years() {
    // 1390..=1410 from jdatetime; icu agrees with it on every year up to 1501.
    let leap = [1391, 1395, 1399, 1403, 1408];
    for year in 1390..=1410 {
        let expected = leap.contains(&year);
        assert_eq!(JalaliDate::is_leap_year(year), expected, "{year}");
        assert_eq!(
            JalaliDate::days_in_month(year, 12),
            if expected { 30 } else { 29 }
        );
        assert_eq!(
            JalaliDate::new(year, 12, 30).is_ok(),
            expected,
            "{year}-12-30"
        );
    }
    let err = JalaliDate::new(1404, 12, 30).expect_err("1404 is not a leap year");
    assert_eq!((err.field, err.code), ("date", "invalid_date"));
    assert!(err.message.contains("not a leap year"), "{}", err.message);
    assert!(JalaliDate::parse("1404-12-30").is_err());
}

#[test]
fn jalali_days_in_month() {
    let cases = [(1, 31), (6, 31), (7, 30), (11, 30), (0, 0), (13, 0)];
    for (month, days) in cases {
        assert_eq!(
            JalaliDate::days_in_month(1405, month),
            days,
            "month {month}"
        );
    }
}

#[test]
fn jalali_round_trips_every_day_of_1390_to_1410() {
    let mut previous: Option<(JalaliDate, time::Date)> = None;
    for year in 1390..=1410 {
        let mut days_in_year = 0;
        for month in 1..=12 {
            for day in 1..=JalaliDate::days_in_month(year, month) {
                let d = JalaliDate::new(year, month, day).expect("valid day");
                let g = d.to_gregorian();
                assert_eq!(JalaliDate::from_gregorian(g), d);
                assert_eq!(JalaliDate::parse(&d.to_string()), Ok(d));
                assert_eq!(
                    d.weekday().index(),
                    (g.weekday().number_days_from_sunday() as usize + 1) % 7
                );
                if let Some((prev_j, prev_g)) = previous {
                    assert_eq!(g, prev_g.next_day().expect("in range"), "{d}");
                    assert_eq!(prev_j.add_days(1), d);
                    assert_eq!(d.add_days(-1), prev_j);
                    assert!(prev_j < d);
                }
                previous = Some((d, g));
                days_in_year += 1;
            }
        }
        let expected = if JalaliDate::is_leap_year(year) {
            366
        } else {
            365
        };
        assert_eq!(days_in_year, expected, "{year}");
    }
}

#[test]
fn jalali_parse_accepts_common_spellings() {
    let cases = [
        "1405-09-07",
        "1405/09/07",
        "1405/9/7",
        "1405-9-7",
        "۱۴۰۵/۰۹/۰۷",
        "١٤٠٥-٠٩-٠٧",
        "  1405-09-07 ",
    ];
    for input in cases {
        let d = JalaliDate::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!((d.year(), d.month(), d.day()), (1405, 9, 7), "{input:?}");
        assert_eq!(input.parse::<JalaliDate>(), Ok(d));
    }
}

#[test]
fn jalali_parse_rejects_bad_dates() {
    let cases = [
        "",
        "1405",
        "1405-09",
        "14050907",
        "1405-13-01",
        "1405-00-10",
        "1405-01-00",
        "1405-01-32",
        "1405-07-31",
        "1404-12-30",
        "05/9/7",
        "999-01-01",
        "0000-01-01",
        "1701-01-01",
        "9999-01-01",
        "1405.09.07",
        "1405-09/07",
        "1405-09-07-01",
        "1405--09",
        "1405-09-007",
        "+1405-09-07",
        "1405-+9-07",
        "1405 09 07",
        "۱۴۰۵ آذر ۷",
    ];
    for input in cases {
        let err = JalaliDate::parse(input).expect_err(input);
        assert_eq!((err.field, err.code), ("date", "invalid_date"), "{input:?}");
    }
    assert!(JalaliDate::new(0, 1, 1).is_err());
    assert!(JalaliDate::new(1701, 1, 1).is_err());
    assert!(JalaliDate::new(-1, 1, 1).is_err());
    assert!(JalaliDate::new(1405, 12, 0).is_err());
}

#[test]
fn jalali_month_names() {
    let names = [
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
    for (i, (fa, en)) in names.into_iter().enumerate() {
        let name = JalaliDate::month_name(i as u8 + 1);
        assert_eq!((name.fa.as_str(), name.en.as_str()), (fa, en));
    }
    // Out of range: no panic, and nothing that looks like a real month.
    assert_eq!(JalaliDate::month_name(0).en, "0");
    assert_eq!(JalaliDate::month_name(13).fa, "۱۳");
}

#[test]
fn jalali_format_long() {
    let d = jalali("1405-09-07");
    assert_eq!(d.format_long(Lang::Fa), "۷ آذر ۱۴۰۵");
    assert_eq!(d.format_long(Lang::En), "7 Azar 1405");
    let d = jalali("1400-01-01");
    assert_eq!(d.format_long(Lang::Fa), "۱ فروردین ۱۴۰۰");
    assert_eq!(d.format_long(Lang::En), "1 Farvardin 1400");
}

#[test]
fn jalali_add_days_and_saturation() {
    assert_eq!(jalali("1400-01-01").add_days(-1), jalali("1399-12-30"));
    assert_eq!(jalali("1403-12-30").add_days(1), jalali("1404-01-01"));
    assert_eq!(jalali("1405-09-07").add_days(0), jalali("1405-09-07"));
    assert_eq!(jalali("1404-01-01").add_days(365), jalali("1405-01-01"));
    assert_eq!(jalali("1403-01-01").add_days(366), jalali("1404-01-01"));
    assert_eq!(
        jalali("1405-09-07").add_days(-10_000).add_days(10_000),
        jalali("1405-09-07")
    );

    let first = jalali("0001-01-01");
    let last = jalali("1700-12-29");
    assert_eq!(first.to_string(), "0001-01-01");
    assert_eq!(jalali("1405-01-01").add_days(i64::MAX), last);
    assert_eq!(jalali("1405-01-01").add_days(i64::MIN), first);
    assert_eq!(last.add_days(1), last);
    assert_eq!(first.add_days(-1), first);
    assert_eq!(JalaliDate::from_gregorian(time::Date::MIN), first);
    assert_eq!(JalaliDate::from_gregorian(time::Date::MAX), last);
    assert_eq!(JalaliDate::from_gregorian(date!(0001 - 01 - 01)), first);
    assert_eq!(JalaliDate::from_gregorian(date!(2500 - 01 - 01)), last);
}

#[test]
fn jalali_serde_is_the_iso_like_string() {
    let d = jalali("1405-09-07");
    assert_eq!(
        serde_json::to_string(&d).expect("serialize"),
        "\"1405-09-07\""
    );
    let back: JalaliDate = serde_json::from_str("\"1405/9/7\"").expect("deserialize");
    assert_eq!(back, d);
    for bad in ["\"1404-12-30\"", "\"\"", "14050907", "null", "{}"] {
        assert!(serde_json::from_str::<JalaliDate>(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tehran time

#[test]
fn tehran_offset_and_conversion() {
    assert_eq!(TEHRAN_OFFSET.whole_minutes(), 210);
    let t = to_tehran(datetime!(2026-11-28 11:00 UTC));
    assert_eq!(t.offset(), TEHRAN_OFFSET);
    assert_eq!(
        (t.date(), t.hour(), t.minute()),
        (date!(2026 - 11 - 28), 14, 30)
    );
    // Same instant.
    assert_eq!(t, datetime!(2026-11-28 11:00 UTC));
    // No panic at the end of time's range.
    let _ = to_tehran(time::PrimitiveDateTime::MAX.assume_utc());
    let _ = format_datetime(time::PrimitiveDateTime::MAX.assume_utc(), Lang::Fa);
    let _ = format_datetime(time::PrimitiveDateTime::MIN.assume_utc(), Lang::En);
}

#[test]
fn tehran_today_turns_at_local_midnight() {
    let cases = [
        (datetime!(2025-03-20 20:29 UTC), "1403-12-30"),
        (datetime!(2025-03-20 20:30 UTC), "1404-01-01"),
        (datetime!(2025-03-21 00:30 +04:00), "1404-01-01"),
        (datetime!(2026-11-28 11:00 UTC), "1405-09-07"),
    ];
    for (now, expected) in cases {
        assert_eq!(jalali_today(now).to_string(), expected, "{now}");
    }
}

#[test]
fn tehran_format_datetime() {
    let t = datetime!(2026-11-28 11:00 UTC);
    assert_eq!(format_datetime(t, Lang::Fa), "۷ آذر ۱۴۰۵، ۱۴:۳۰");
    assert_eq!(format_datetime(t, Lang::En), "7 Azar 1405, 14:30");
    let t = datetime!(2025-03-20 20:35 UTC);
    assert_eq!(format_datetime(t, Lang::En), "1 Farvardin 1404, 00:05");
}

// ---------------------------------------------------------------------------------------------
// All parsers: serde, FromStr, odd input

#[test]
fn identifiers_serde_round_trip() {
    fn check<T>(input: &str, canonical: &str)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let value: T = serde_json::from_str(&serde_json::to_string(input).expect("json"))
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        let json = serde_json::to_string(&value).expect("serialize");
        assert_eq!(json, format!("\"{canonical}\""));
        assert_eq!(
            serde_json::from_str::<T>(&json).expect("deserialize"),
            value
        );
        for bad in ["\"x\"", "42", "null", "[]"] {
            assert!(serde_json::from_str::<T>(bad).is_err(), "{bad}");
        }
    }
    check::<NationalCode>("۰۴۹۹۳۷۰۸۹۹", "0499370899");
    check::<Mobile>("+98 912 123 4567", "09121234567");
    check::<PostalCode>("13457-65345", "1345765345");
    check::<Sheba>(
        "ir82 0540 1026 8002 0817 9090 02",
        "IR820540102680020817909002",
    );
    check::<JalaliDate>("1405/9/7", "1405-09-07");

    let err = serde_json::from_str::<NationalCode>("\"0499370898\"").expect_err("bad checksum");
    assert!(
        err.to_string().contains("checksum digit does not match"),
        "{err}"
    );
}

#[test]
fn identifiers_from_str() {
    assert_eq!(
        "0499370899".parse::<NationalCode>().map(|c| c.to_string()),
        Ok("0499370899".into())
    );
    assert_eq!(
        "9121234567".parse::<Mobile>().map(|m| m.to_string()),
        Ok("09121234567".into())
    );
    assert_eq!(
        "1345765345".parse::<PostalCode>().map(|p| p.to_string()),
        Ok("1345765345".into())
    );
    assert_eq!(
        "IR062960000000100324200001"
            .parse::<Sheba>()
            .map(|s| s.to_string()),
        Ok("IR062960000000100324200001".into())
    );
    assert!("1111111111".parse::<NationalCode>().is_err());
}

fn all_parsers(s: &str) -> [(&'static str, Result<String, FieldError>); 5] {
    [
        (
            "national_code",
            NationalCode::parse(s).map(|v| v.to_string()),
        ),
        ("mobile", Mobile::parse(s).map(|v| v.to_string())),
        ("postal_code", PostalCode::parse(s).map(|v| v.to_string())),
        ("sheba", Sheba::parse(s).map(|v| v.to_string())),
        ("date", JalaliDate::parse(s).map(|v| v.to_string())),
    ]
}

#[test]
fn odd_input_is_rejected_without_panicking() {
    let long_ascii = "a".repeat(100_000);
    let long_digits = "1".repeat(100_000);
    let long_persian = "۰".repeat(100_000);
    let long_spaces = " ".repeat(100_000);
    let odd: Vec<&str> = vec![
        "",
        " ",
        "\t\n\r",
        "\u{200C}",
        "\u{FEFF}",
        "\0",
        "😀",
        "😀😀😀😀😀😀😀😀😀😀",
        "👨‍👩‍👧‍👦",
        "IR",
        "ir",
        "Iр",
        "é",
        "IRé",
        "+",
        "++98",
        "0098",
        "98",
        "-",
        "--",
        "/",
        "//",
        "()",
        "null",
        "NaN",
        "-1",
        "1e10",
        "0x10",
        "٠۹1۲abc",
        "ﻋﻠﻲ",
        "علی",
        "\u{202E}0499370899",
        "0\u{0301}499370899",
        "0499370899\u{0000}",
        "١٤٠٥-٠٩-٠٧-٠٧-٠٠",
        "IR82 0540 1026 8002 0817 9090 0😀",
        &long_ascii,
        &long_digits,
        &long_persian,
        &long_spaces,
    ];
    for s in odd {
        for (field, result) in all_parsers(s) {
            let err =
                result.expect_err(&format!("{field} accepted {:?}", s.get(..40).unwrap_or(s)));
            assert_eq!(err.field, field);
            assert!(!err.message.is_empty());
            assert!(
                err.message.len() < 200,
                "message grew with the input: {}",
                err.message
            );
        }
    }
}

#[test]
fn random_input_never_panics_and_accepted_values_round_trip() {
    let alphabet: Vec<&str> = vec![
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "۰", "۹", "٤", "+", "-", "/", " ", "(",
        ")", "I", "R", "i", "r", "😀", "\u{200C}", "ی", "98", "09", "IR", "14", "12",
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..30_000 {
        let len = (next() % 30) as usize;
        let s: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        for (_, result) in all_parsers(&s) {
            if let Ok(canonical) = result {
                // Whatever a parser accepts, it accepts again in canonical form, unchanged.
                let again = all_parsers(&canonical);
                assert!(
                    again
                        .iter()
                        .any(|(_, r)| r.as_deref() == Ok(canonical.as_str()))
                );
            }
        }
    }
}
