//! Profiles as configuration: JSON round trip, and loud failure on anything unexpected.

use pishkhan_identity::{Outcome, Profile, ProfileError};

#[test]
fn builtin_profiles_round_trip_through_json() {
    for p in Profile::builtins() {
        let json = p.to_json();
        assert_eq!(Profile::from_json(&json).unwrap(), p);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["version"], p.version.as_str());
    }
}

#[test]
fn the_standard_profile_has_the_documented_options() {
    let p = Profile::standard();
    assert_eq!(p.version, "fa-name-1");
    assert!(p.trim_and_collapse_whitespace);
    assert!(p.strip_format_marks);
    assert!(p.compose_arabic_marks);
    assert!(p.strip_diacritics);
    assert!(p.strip_tatweel);
    assert!(p.fold_arabic_yeh_kaf);
    assert!(!p.fold_alef_variants);
    assert!(!p.fold_heh);
    assert!(p.fold_digits);
    assert!(p.join_name_parts);
    assert!(p.card_serial_uppercase);
    assert_eq!(p.card_serial_ignore, [' ', '-']);
}

#[test]
fn the_strict_profile_only_trims_whitespace() {
    let p = Profile::strict();
    assert_eq!(p.version, "exact-1");
    let expected = Profile {
        version: "exact-1".into(),
        trim_and_collapse_whitespace: true,
        strip_format_marks: false,
        compose_arabic_marks: false,
        strip_diacritics: false,
        strip_tatweel: false,
        fold_arabic_yeh_kaf: false,
        fold_alef_variants: false,
        fold_heh: false,
        fold_digits: false,
        join_name_parts: false,
        card_serial_uppercase: false,
        card_serial_ignore: vec![],
    };
    assert_eq!(p, expected);
}

fn standard_json_with(
    edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>),
) -> String {
    let mut value = serde_json::to_value(Profile::standard()).unwrap();
    edit(value.as_object_mut().unwrap());
    value.to_string()
}

#[test]
fn a_custom_profile_loads_and_its_version_is_recorded() {
    let json = standard_json_with(|m| {
        m.insert("version".into(), "fa-name-2-draft".into());
        m.insert("fold_alef_variants".into(), true.into());
    });
    let p = Profile::from_json(&json).unwrap();
    assert_eq!(p.version, "fa-name-2-draft");
    assert_eq!(p.compare_name("ارش", "آرش").outcome, Outcome::Match);
    assert_eq!(Profile::from_json(&p.to_json()).unwrap(), p);
}

#[test]
fn an_unknown_option_fails_loudly() {
    let json = standard_json_with(|m| {
        m.insert("version".into(), "x-1".into());
        m.insert("fold_everything".into(), true.into());
    });
    let err = Profile::from_json(&json).unwrap_err();
    assert!(matches!(err, ProfileError::Json(_)), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("unknown field"), "{message}");
    assert!(message.contains("fold_everything"), "{message}");
}

#[test]
fn a_misspelt_option_fails_loudly() {
    let json = standard_json_with(|m| {
        m.insert("version".into(), "x-1".into());
        let v = m.remove("fold_heh").unwrap();
        m.insert("fold_hey".into(), v);
    });
    assert!(matches!(
        Profile::from_json(&json),
        Err(ProfileError::Json(_))
    ));
}

#[test]
fn a_missing_option_fails_rather_than_defaulting() {
    let json = standard_json_with(|m| {
        m.insert("version".into(), "x-1".into());
        m.remove("strip_diacritics");
    });
    let err = Profile::from_json(&json).unwrap_err();
    assert!(err.to_string().contains("strip_diacritics"), "{err}");
}

#[test]
fn a_wrongly_typed_option_fails() {
    let json = standard_json_with(|m| {
        m.insert("version".into(), "x-1".into());
        m.insert("fold_digits".into(), "yes".into());
    });
    assert!(Profile::from_json(&json).is_err());
    let json = standard_json_with(|m| {
        m.insert("version".into(), "x-1".into());
        m.insert("card_serial_ignore".into(), serde_json::json!(["--"]));
    });
    assert!(
        Profile::from_json(&json).is_err(),
        "a list entry is one character"
    );
}

#[test]
fn an_empty_version_fails() {
    let json = standard_json_with(|m| {
        m.insert("version".into(), " ".into());
    });
    assert!(matches!(
        Profile::from_json(&json),
        Err(ProfileError::EmptyVersion)
    ));
}

#[test]
fn a_builtin_version_with_other_options_fails() {
    let json = standard_json_with(|m| {
        m.insert("fold_heh".into(), true.into());
    });
    let err = Profile::from_json(&json).unwrap_err();
    assert!(
        matches!(&err, ProfileError::VersionConflict { version } if version == "fa-name-1"),
        "{err:?}"
    );
}

#[test]
fn not_json_fails() {
    assert!(Profile::from_json("version = 1").is_err());
    assert!(Profile::from_json("").is_err());
}
