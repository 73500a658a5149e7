//! The registry answer and the claim as JSON.

use pishkhan_identity::{
    CardStatus, Claim, Decision, Evaluation, Profile, RegistryRecord, evaluate,
};
use serde_json::json;

use crate::common::{CODE, claim, date, found, person};

#[test]
fn a_not_found_answer_needs_only_the_flag() {
    assert_eq!(
        RegistryRecord::from_json(r#"{"found": false}"#).unwrap(),
        RegistryRecord::NotFound
    );
    assert_eq!(
        serde_json::to_value(RegistryRecord::NotFound).unwrap(),
        json!({"found": false})
    );
}

#[test]
fn a_found_answer_parses_and_round_trips() {
    let value = json!({
        "found": true,
        "national_code": CODE,
        "first_name": "محمدعلی",
        "last_name": "کریمی",
        "father_name": "حسین",
        "birth_date": "1370-01-05",
        "card_serial": "0A12345678",
        "card_status": "lost",
        "alive": true,
        "issued_by": "an extra field the registry may add"
    });
    let record: RegistryRecord = serde_json::from_value(value).unwrap();
    let p = record.person().unwrap();
    assert_eq!(p.national_code.as_ref().unwrap().as_str(), CODE);
    assert_eq!(p.birth_date, date("1370-01-05"));
    assert_eq!(p.card_status, CardStatus::Lost);
    let back: RegistryRecord =
        serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
    assert_eq!(back, record);
}

#[test]
fn a_found_answer_missing_a_required_field_fails() {
    let full = json!({
        "found": true, "first_name": "علی", "last_name": "کریمی",
        "birth_date": "1370-01-05", "card_status": "valid", "alive": true
    });
    assert!(serde_json::from_value::<RegistryRecord>(full.clone()).is_ok());
    for field in [
        "first_name",
        "last_name",
        "birth_date",
        "card_status",
        "alive",
    ] {
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove(field);
        let err = serde_json::from_value::<RegistryRecord>(partial).unwrap_err();
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
}

#[test]
fn a_malformed_registry_value_fails() {
    let base = json!({
        "found": true, "first_name": "علی", "last_name": "کریمی",
        "birth_date": "1370-01-05", "card_status": "valid", "alive": true
    });
    for (field, bad) in [
        ("birth_date", json!("1370-13-01")),
        ("card_status", json!("stolen")),
        ("alive", json!("yes")),
        ("national_code", json!("0013542418")),
    ] {
        let mut v = base.clone();
        v[field] = bad;
        assert!(
            serde_json::from_value::<RegistryRecord>(v).is_err(),
            "{field} should be rejected"
        );
    }
    assert!(
        RegistryRecord::from_json(r#"{"first_name": "علی"}"#).is_err(),
        "found is required"
    );
}

#[test]
fn a_claim_rejects_unknown_fields_and_defaults_optional_ones() {
    let c: Claim = serde_json::from_value(json!({
        "national_code": "۰۰۱۳۵۴۲۴۱۹", "first_name": "علی", "last_name": "کریمی",
        "birth_date": "۱۳۷۰/۱/۵"
    }))
    .unwrap();
    assert_eq!(c.father_name, None);
    assert_eq!(c.mobile, None);
    let typo = serde_json::from_value::<Claim>(json!({
        "national_code": CODE, "first_name": "علی", "last_name": "کریمی",
        "birth_date": "1370-01-05", "fathername": "حسین"
    }));
    assert!(
        typo.is_err(),
        "a misspelt father name must not be silently dropped"
    );
}

#[test]
fn an_evaluation_serializes_in_the_documented_shape() {
    let mut p = person();
    p.father_name = Some("حسن".into());
    let e = evaluate(&claim(), &found(p), Some(false), &Profile::standard());
    assert_eq!(e.decision, Decision::NeedsReview);
    let value = serde_json::to_value(&e).unwrap();
    assert_eq!(value["decision"], "needs_review");
    assert_eq!(value["profile_version"], "fa-name-1");
    // serde_json's Value sorts keys, so look at the text for the order.
    let text = serde_json::to_string(&e.attributes).unwrap();
    let positions: Vec<usize> = [
        "national_code",
        "first_name",
        "last_name",
        "father_name",
        "birth_date",
        "card_serial",
        "mobile",
    ]
    .iter()
    .map(|k| text.find(&format!("\"{k}\":")).unwrap())
    .collect();
    assert!(positions.is_sorted(), "{text}");
    assert_eq!(value["attributes"].as_object().unwrap().len(), 7);
    assert_eq!(
        value["attributes"]["father_name"],
        json!({"outcome": "mismatch", "exact": false, "normalized": false})
    );
    assert_eq!(
        value["attributes"]["first_name"],
        json!({"outcome": "match", "exact": true, "normalized": true})
    );
    assert_eq!(value["signals"][0]["code"], "mobile_not_owned");
    assert!(value["signals"][0]["message_fa"].is_string());
    assert!(value["signals"][0]["message_en"].is_string());
    let back: Evaluation = serde_json::from_value(value).unwrap();
    assert_eq!(back, e);
}

#[test]
fn outcome_and_decision_names_are_snake_case() {
    let e = evaluate(
        &claim(),
        &RegistryRecord::NotFound,
        None,
        &Profile::standard(),
    );
    let value = serde_json::to_value(&e).unwrap();
    assert_eq!(value["decision"], "rejected");
    assert_eq!(value["attributes"]["first_name"]["outcome"], "not_checked");
    let mut c = claim();
    c.father_name = None;
    let e = evaluate(&c, &found(person()), Some(true), &Profile::standard());
    let value = serde_json::to_value(&e).unwrap();
    assert_eq!(value["decision"], "verified");
    assert_eq!(value["attributes"]["father_name"]["outcome"], "not_given");
}
