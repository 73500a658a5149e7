use pishkhan_exchange::schema::Schema;
use pishkhan_exchange::{Purpose, PurposeInput};
use serde_json::{Value, json};

fn input(legal_basis: &str, service_code: &str, case_id: &str, operator: &str) -> PurposeInput {
    PurposeInput {
        legal_basis: legal_basis.into(),
        service_code: service_code.into(),
        case_id: case_id.into(),
        operator: operator.into(),
    }
}

#[test]
fn purposes_are_mandatory_trimmed_and_bounded() {
    let ok = Purpose::parse(&input(
        "  قانون ثبت احوال ",
        " sr-۰۰۱ ",
        " C-1 ",
        " ali\u{200c}reza ",
    ))
    .unwrap();
    assert_eq!(ok.legal_basis(), "قانون ثبت احوال");
    assert_eq!(ok.service_code(), "SR-001");
    assert_eq!(ok.case_id(), "C-1");
    assert_eq!(ok.operator(), "ali\u{200c}reza");

    let long = "x".repeat(201);
    let cases: [(PurposeInput, &str, &str); 10] = [
        (input("", "", "", ""), "missing_purpose", ""),
        (input("  ", "\t", " ", ""), "missing_purpose", ""),
        (
            input("", "SR001", "C1", "op"),
            "invalid_purpose",
            "legal_basis",
        ),
        (
            input("ab", "SR001", "C1", "op"),
            "invalid_purpose",
            "legal_basis",
        ),
        (
            input(&long, "SR001", "C1", "op"),
            "invalid_purpose",
            "legal_basis",
        ),
        (
            input("law 1", "", "C1", "op"),
            "invalid_purpose",
            "service_code",
        ),
        (
            input("law 1", "S!", "C1", "op"),
            "invalid_purpose",
            "service_code",
        ),
        (
            input("law 1", "SR001", "", "op"),
            "invalid_purpose",
            "case_id",
        ),
        (
            input("law 1", "SR001", "C\n1", "op"),
            "invalid_purpose",
            "case_id",
        ),
        (
            input("law 1", "SR001", "C1", "op\u{202e}x"),
            "invalid_purpose",
            "operator",
        ),
    ];
    for (i, (value, code, field)) in cases.into_iter().enumerate() {
        let err = Purpose::parse(&value).unwrap_err();
        assert_eq!(err.code(), code, "case {i}");
        assert!(err.to_string().contains(field), "case {i}: {err}");
    }
}

#[test]
fn the_purpose_header_round_trips_and_refuses_garbage() {
    let p = Purpose::new("law of civil registration", "SR001", "C-7", "op").unwrap();
    let header = p.to_header_value();
    assert!(
        header
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(Purpose::from_header_value(&header).unwrap(), p);

    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let extra = json!({"legal_basis": "law 1", "service_code": "SR001", "case_id": "1",
                       "operator": "op", "extra": 1});
    let invalid = json!({"legal_basis": "law 1", "service_code": "SR001", "case_id": "1",
                         "operator": ""});
    for (value, code) in [
        ("", "missing_purpose"),
        ("not base64!", "invalid_purpose"),
        (&b64(&json!([1, 2])), "invalid_purpose"),
        (&b64(&extra), "invalid_purpose"),
        (&b64(&invalid), "invalid_purpose"),
        (&"A".repeat(3000), "invalid_purpose"),
    ] {
        assert_eq!(
            Purpose::from_header_value(value).unwrap_err().code(),
            code,
            "{value:.40}"
        );
    }
    // Deserializing goes through the same validation.
    assert!(serde_json::from_value::<Purpose>(invalid).is_err());
}

#[test]
fn the_schema_subset_validates_values() {
    let schema = Schema::compile(&json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["code", "flag"],
        "additionalProperties": false,
        "properties": {
            "code": {"type": "string", "minLength": 2, "maxLength": 4},
            "flag": {"type": "boolean"},
            "count": {"type": "integer", "minimum": 0, "maximum": 10},
            "colour": {"type": "string", "enum": ["red", "blue"]},
            "inner": {"type": "object", "properties": {"x": {"type": "integer"}}}
        }
    }))
    .unwrap();
    let cases: [(Value, Option<&str>); 13] = [
        (json!({"code": "ab", "flag": true}), None),
        (
            json!({"code": "ابپت", "flag": false, "count": 10, "colour": "red"}),
            None,
        ),
        (
            json!({"code": "ab", "flag": true, "inner": {"x": 1, "y": "free"}}),
            None,
        ),
        (json!({"flag": true}), Some("$.code is required")),
        (
            json!({"code": "a", "flag": true}),
            Some("$.code is shorter than 2"),
        ),
        (
            json!({"code": "abcde", "flag": true}),
            Some("$.code is longer than 4"),
        ),
        (
            json!({"code": 12, "flag": true}),
            Some("$.code must be a string"),
        ),
        (
            json!({"code": "ab", "flag": "yes"}),
            Some("$.flag must be a boolean"),
        ),
        (
            json!({"code": "ab", "flag": true, "count": 1.5}),
            Some("$.count must be an integer"),
        ),
        (
            json!({"code": "ab", "flag": true, "count": 11}),
            Some("$.count is greater than 10"),
        ),
        (
            json!({"code": "ab", "flag": true, "colour": "green"}),
            Some("$.colour is not one of"),
        ),
        (
            json!({"code": "ab", "flag": true, "other": 1}),
            Some("$.other is not allowed"),
        ),
        (
            json!({"code": "ab", "flag": true, "inner": {"x": "1"}}),
            Some("$.inner.x must be an integer"),
        ),
    ];
    for (value, expected) in cases {
        let result = schema.validate(&value);
        match expected {
            None => assert!(result.is_ok(), "{value}: {result:?}"),
            Some(msg) => {
                let err = result.unwrap_err().to_string();
                assert!(err.starts_with(msg), "{value}: {err}");
                // Violations never echo the value.
                assert!(!err.contains("abcde") && !err.contains("green"), "{err}");
            }
        }
    }
    assert!(schema.validate(&json!([1])).is_err());
}

#[test]
fn the_schema_subset_refuses_what_it_does_not_enforce() {
    for (schema, needle) in [
        (json!({"properties": {}}), "\"type\" is required"),
        (json!({"type": "array"}), "not supported"),
        (
            json!({"type": "string", "pattern": "^[0-9]+$"}),
            "\"pattern\" is not supported",
        ),
        (
            json!({"type": "boolean", "maxLength": 3}),
            "\"maxLength\" is not supported",
        ),
        (json!({"type": "object", "required": ["x"]}), "not declared"),
        (
            json!({"type": "object", "additionalProperties": {"type": "string"}}),
            "boolean",
        ),
        (
            json!({"type": "string", "minLength": 5, "maxLength": 2}),
            "greater",
        ),
        (json!({"type": "integer", "minimum": "0"}), "integer"),
        (json!({"type": "string", "enum": []}), "enum"),
        (json!("string"), "JSON object"),
    ] {
        let err = Schema::compile(&schema).unwrap_err().to_string();
        assert!(err.contains(needle), "{schema}: {err}");
    }
    let mut deep = json!({"type": "boolean"});
    for _ in 0..10 {
        deep = json!({"type": "object", "properties": {"x": deep}});
    }
    assert!(
        Schema::compile(&deep)
            .unwrap_err()
            .to_string()
            .contains("deeper")
    );
}
