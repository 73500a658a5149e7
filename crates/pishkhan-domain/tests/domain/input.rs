// Loose office and service records: one parser for API, CSV and JSON input, with errors that
// name the field.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::input::{OfficeDefaults, OfficeInput, ServiceInput, standard_hours};
use pishkhan_domain::model::{Category, Channel, Digitization, OfficeStatus, Weekday};

fn good_office() -> serde_json::Value {
    serde_json::json!({
        "code": "۱۲۳۴۵۶۷۸",
        "name_fa": "دفتر پیشخوان نمونه",
        "name_en": "Sample office",
        "province": 1,
        "city_fa": "تهران",
        "city_en": "Tehran",
        "address_fa": "خیابان آزادی، پلاک ۱",
        "address_en": "No. 1, Azadi St.",
        "postal_code": "13457-65345",
        "phone": "021-66905923",
        "lat": 35.7,
        "lon": "51.4",
        "licence_no": "PK-1400-00001",
        "counters": "3"
    })
}

fn defaults() -> OfficeDefaults {
    OfficeDefaults {
        code: None,
        licence_issued: JalaliDate::new(1405, 9, 7).unwrap(),
    }
}

fn parse_office(
    v: serde_json::Value,
) -> Result<pishkhan_domain::model::Office, pishkhan_domain::model::FieldError> {
    serde_json::from_value::<OfficeInput>(v)
        .expect("deserializes")
        .parse(&defaults())
}

#[test]
fn a_good_office_parses_with_defaults() {
    let o = parse_office(good_office()).unwrap();
    assert_eq!(o.code.to_string(), "12345678");
    assert_eq!(o.postal_code.as_str(), "1345765345");
    assert_eq!(o.counters, 3);
    assert_eq!(o.status, OfficeStatus::Active);
    assert_eq!(o.hours, standard_hours());
    assert_eq!(o.hours.day(Weekday::Friday), None);
    assert_eq!(o.licence_issued, JalaliDate::new(1405, 9, 7).unwrap());
}

#[test]
fn bad_offices_name_the_field() {
    // (field to change, new value or null to remove, expected field, expected code)
    let table = [
        (
            "postal_code",
            serde_json::json!("1234567890"),
            "postal_code",
            "invalid_postal_code",
        ),
        (
            "phone",
            serde_json::json!("12345"),
            "phone",
            "invalid_phone",
        ),
        (
            "name_fa",
            serde_json::Value::Null,
            "name_fa",
            "missing_field",
        ),
        (
            "lat",
            serde_json::json!(10.0),
            "coordinates",
            "invalid_coordinates",
        ),
        (
            "lat",
            serde_json::json!("north"),
            "lat",
            "invalid_coordinates",
        ),
        (
            "province",
            serde_json::json!(32),
            "province",
            "invalid_province",
        ),
        (
            "counters",
            serde_json::json!(0),
            "counters",
            "invalid_counters",
        ),
        (
            "status",
            serde_json::json!("closed"),
            "status",
            "invalid_status",
        ),
        (
            "code",
            serde_json::json!("0123"),
            "code",
            "invalid_office_code",
        ),
        (
            "hours",
            serde_json::json!("08:00-14:00"),
            "hours",
            "invalid_hours",
        ),
        (
            "licence_issued",
            serde_json::json!("1404-12-30"),
            "licence_issued",
            "invalid_date",
        ),
        (
            "name_en",
            serde_json::json!("x".repeat(301)),
            "name_en",
            "too_long",
        ),
        (
            "name_en",
            serde_json::json!("ab\u{0}cd"),
            "name_en",
            "control_character",
        ),
        (
            "city_fa",
            serde_json::json!("تهران\nکرج"),
            "city_fa",
            "control_character",
        ),
        (
            "address_en",
            serde_json::json!("No. 1\u{7f}"),
            "address_en",
            "control_character",
        ),
        (
            "licence_no",
            serde_json::json!("PK-\u{85}1"),
            "licence_no",
            "control_character",
        ),
        (
            // A right-to-left override makes "fdp.exe" read as "exe.pdf".
            "name_fa",
            serde_json::json!("دفتر \u{202e}fdp.exe"),
            "name_fa",
            "control_character",
        ),
    ];
    for (key, value, field, code) in table {
        let mut v = good_office();
        if value.is_null() {
            v.as_object_mut().unwrap().remove(key);
        } else {
            v[key] = value;
        }
        let e = parse_office(v).expect_err(key);
        assert_eq!((e.field, e.code), (field, code), "{key}: {e}");
    }
}

#[test]
fn unknown_office_fields_are_refused() {
    let mut v = good_office();
    v["colour"] = serde_json::json!("blue");
    assert!(serde_json::from_value::<OfficeInput>(v).is_err());
}

#[test]
fn services_accept_lists_as_arrays_or_text() {
    let from_text: ServiceInput = serde_json::from_value(serde_json::json!({
        "code": "tst-001",
        "title_fa": "خدمت آزمایشی",
        "title_en": "Test service",
        "agency": "nocr",
        "category": "identity",
        "required_documents": "اصل کارت ملی|Original national ID card; عکس|Photo",
        "required_inquiries": "civil-registry.person; postal.address",
        "avg_handling_minutes": "۱۵",
        "channel": "both",
        "digitization": "networked"
    }))
    .unwrap();
    let s = from_text.parse().unwrap();
    assert_eq!(s.code.as_str(), "TST-001");
    assert_eq!(s.required_documents.len(), 2);
    assert_eq!(s.required_documents[0].en, "Original national ID card");
    assert_eq!(
        s.required_inquiries,
        vec!["civil-registry.person", "postal.address"]
    );
    assert_eq!(s.avg_handling_minutes, 15);
    assert_eq!(
        (s.category, s.channel, s.digitization),
        (Category::Identity, Channel::Both, Digitization::Networked)
    );

    let from_arrays: ServiceInput = serde_json::from_value(serde_json::json!({
        "code": "TST-001",
        "title_fa": "خدمت آزمایشی",
        "title_en": "Test service",
        "agency": "nocr",
        "category": "identity",
        "required_documents": [{"fa": "اصل کارت ملی", "en": "Original national ID card"}, {"fa": "عکس", "en": "Photo"}],
        "required_inquiries": ["civil-registry.person", "postal.address"],
        "avg_handling_minutes": 15,
        "channel": "both",
        "digitization": "networked"
    }))
    .unwrap();
    assert_eq!(from_arrays.parse().unwrap(), s);
}

#[test]
fn bad_services_name_the_field() {
    let base = serde_json::json!({
        "code": "TST-001", "title_fa": "خدمت", "title_en": "Service", "agency": "nocr",
        "category": "identity", "avg_handling_minutes": 10, "channel": "counter", "digitization": "not_started"
    });
    let table = [
        (
            "code",
            serde_json::json!("1"),
            "code",
            "invalid_service_code",
        ),
        (
            "agency",
            serde_json::json!("NOCR!"),
            "agency",
            "invalid_agency_code",
        ),
        (
            "category",
            serde_json::json!("sports"),
            "category",
            "invalid_category",
        ),
        (
            "avg_handling_minutes",
            serde_json::json!(0),
            "avg_handling_minutes",
            "invalid_handling_minutes",
        ),
        (
            "channel",
            serde_json::json!("fax"),
            "channel",
            "invalid_channel",
        ),
        (
            "digitization",
            serde_json::json!("done"),
            "digitization",
            "invalid_digitization",
        ),
        (
            "required_inquiries",
            serde_json::json!("Bad Name!"),
            "required_inquiries",
            "invalid_inquiry_name",
        ),
    ];
    for (key, value, field, code) in table {
        let mut v = base.clone();
        v[key] = value;
        let e = serde_json::from_value::<ServiceInput>(v)
            .unwrap()
            .parse()
            .expect_err(key);
        assert_eq!((e.field, e.code), (field, code), "{key}: {e}");
    }
}

/// Found by the `import_csv` fuzz target (fuzz/artifacts, issue 15): a CSV row whose document
/// name held NUL bytes was accepted, and would have failed late, as a fault, on PostgreSQL.
/// Document names are one plain line, bounded like titles, in both list forms.
#[test]
fn service_documents_refuse_control_characters_and_overlong_names() {
    let base = serde_json::json!({
        "code": "PSP-001", "title_fa": "گذرنامه", "title_en": "Passport", "agency": "police",
        "category": "travel", "avg_handling_minutes": 20, "channel": "counter",
        "digitization": "networked"
    });
    // The document cell of the crashing row, byte for byte.
    let crash = format!("\u{629}ارت ملی|National ca{}rd", "\0".repeat(30));
    let long = "x".repeat(pishkhan_domain::input::MAX_TEXT_CHARS + 1);
    let table = [
        (serde_json::json!(crash), "control_character"),
        (
            serde_json::json!([{"fa": "کارت", "en": "line\nbreak"}]),
            "control_character",
        ),
        (
            serde_json::json!([{"fa": "\u{202e}کارت", "en": "Card"}]),
            "control_character",
        ),
        (serde_json::json!(format!("کارت|{long}")), "too_long"),
    ];
    for (documents, code) in table {
        let mut v = base.clone();
        v["required_documents"] = documents.clone();
        let e = serde_json::from_value::<ServiceInput>(v)
            .unwrap()
            .parse()
            .expect_err("a bad document name is refused");
        assert_eq!(
            (e.field, e.code),
            ("required_documents", code),
            "{documents}: {e}"
        );
    }
    let mut v = base;
    v["required_documents"] = serde_json::json!("کارت ملی|National card; عکس|Photo");
    let s = serde_json::from_value::<ServiceInput>(v)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(s.required_documents.len(), 2);
}

#[test]
fn tracking_codes_are_a_keyed_bijection_of_booking_numbers() {
    use pishkhan_domain::schedule::TrackingCode;
    let key = [7u8; 32];
    let other = [8u8; 32];
    let mut seen = std::collections::HashSet::new();
    for seq in (0..20_000u64).chain([TrackingCode::SPACE - 1, 123_456_789_012]) {
        let code = TrackingCode::from_sequence(seq, &key);
        assert_eq!(code.to_sequence(&key), seq, "{code}");
        assert!(seen.insert(code.clone()), "duplicate code {code} for {seq}");
        assert_eq!(TrackingCode::parse(&code.to_string()).unwrap(), code);
        // Another key gives another code, and decoding with the wrong key fails.
        assert_ne!(TrackingCode::from_sequence(seq, &other), code);
    }
    // Neighbouring numbers don't give neighbouring codes.
    let a = TrackingCode::from_sequence(1000, &key).to_string();
    let b = TrackingCode::from_sequence(1001, &key).to_string();
    assert_ne!(a[..6], b[..6]);
    for bad in [
        "",
        "ABCD-EFG",
        "ABCD-EFGHI",
        "ABCD-EFG0",
        "ABCD-EFGI",
        "😀😀😀😀😀😀😀😀",
    ] {
        assert!(TrackingCode::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        TrackingCode::parse("abcd efgh").unwrap().as_str(),
        "ABCDEFGH"
    );
}

#[test]
fn persian_text_keeps_its_joiners_and_direction_marks() {
    let mut v = good_office();
    // ZWNJ inside a word, an RLM after a Latin run: ordinary Persian typing.
    v["name_fa"] = serde_json::json!("دفتر می\u{200c}خواهم PK\u{200f} نمونه");
    let o = parse_office(v).expect("ZWNJ and RLM are text, not controls");
    assert!(o.name.fa.contains('\u{200c}'));
}

#[test]
fn staff_names_refuse_control_characters() {
    use pishkhan_domain::model::{Role, Staff, Username};
    use pishkhan_domain::{Mobile, NationalCode};
    let staff = |first: &str, last: &str| Staff {
        username: Username::parse("operator9").unwrap(),
        national_code: NationalCode::parse("0499370899").unwrap(),
        first_name: first.to_string(),
        last_name: last.to_string(),
        mobile: Mobile::parse("09121234567").unwrap(),
        office: None,
        role: Role::Regulator,
    };
    assert_eq!(staff("علی", "رضایی").validate(), Ok(()));
    for (first, last, field) in [
        ("ab\u{0}cd", "رضایی", "first_name"),
        ("علی", "رضایی\t", "last_name"),
        ("علی\u{2066}", "رضایی", "first_name"),
        ("علی", "x\u{9b}y", "last_name"),
    ] {
        let e = staff(first, last).validate().expect_err(first);
        assert_eq!((e.field, e.code), (field, "control_character"), "{e}");
    }
}
