//! The decision table: each signal produced by a crafted registry record, and each decision
//! rule, with the exact list of signals expected.

use pishkhan_identity::{
    Attribute, CardStatus, Claim, Decision, NationalCode, Outcome, Profile, RegistryPerson,
    RegistryRecord, SignalCode, evaluate, precheck,
};

use crate::common::{CODE, OTHER_CODE, claim, date, found, person};

use Decision::{NeedsReview as Review, Rejected, Verified};
use SignalCode::*;

enum Registry {
    NotFound,
    Found(fn(&mut RegistryPerson)),
}

struct Case {
    name: &'static str,
    claim: fn(&mut Claim),
    registry: Registry,
    mobile_owned: Option<bool>,
    decision: Decision,
    signals: &'static [SignalCode],
}

fn same(_: &mut Claim) {}
fn unchanged(_: &mut RegistryPerson) {}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // verified
    Case { name: "everything given and exactly equal", claim: same, registry: Registry::Found(unchanged),
        mobile_owned: Some(true), decision: Verified, signals: &[] },
    Case { name: "everything equal under the profile only",
        claim: |c| {
            c.national_code = "۰۰۱-۳۵۴۲۴۱-۹".into();
            c.first_name = "محمد\u{200C}علي".into();
            c.last_name = "كريمي".into();
            c.father_name = Some("حُسِین".into());
            c.birth_date = "۱۳۷۰/۱/۵".into();
            c.card_serial = Some("۰a-۱۲۳۴-۵۶۷۸".into());
        },
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Verified, signals: &[] },
    Case { name: "only the required attributes",
        claim: |c| { c.father_name = None; c.card_serial = None; c.mobile = None; },
        registry: Registry::Found(unchanged), mobile_owned: None, decision: Verified, signals: &[] },
    Case { name: "blank optional attributes are not given",
        claim: |c| { c.father_name = Some(" ".into()); c.card_serial = Some("".into()); c.mobile = Some("\u{200F}".into()); },
        registry: Registry::Found(unchanged), mobile_owned: None, decision: Verified, signals: &[] },
    Case { name: "father name not given although the registry has one",
        claim: |c| c.father_name = None,
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Verified, signals: &[] },
    Case { name: "an ownership answer without a mobile is ignored",
        claim: |c| c.mobile = None,
        registry: Registry::Found(unchanged), mobile_owned: Some(false), decision: Verified, signals: &[] },
    Case { name: "registry echoes the same national code",
        claim: same, registry: Registry::Found(|p| p.national_code = Some(NationalCode::parse(CODE).unwrap())),
        mobile_owned: Some(true), decision: Verified, signals: &[] },

    // signals that reject
    Case { name: "checksum fails", claim: |c| c.national_code = "0013542418".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[InvalidNationalCode] },
    Case { name: "nine digits", claim: |c| c.national_code = "۰۰۱۳۵۴۲۴۱".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[InvalidNationalCode] },
    Case { name: "one digit repeated", claim: |c| c.national_code = "1111111111".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[InvalidNationalCode] },
    Case { name: "letters in the code", claim: |c| c.national_code = "00135424a9".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[InvalidNationalCode] },
    Case { name: "blank national code", claim: |c| c.national_code = "  ".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[InvalidNationalCode] },
    Case { name: "invalid code wins over everything the registry says",
        claim: |c| { c.national_code = "0013542418".into(); c.first_name = "زهرا".into(); },
        registry: Registry::Found(|p| { p.alive = false; p.card_status = CardStatus::Revoked; }),
        mobile_owned: Some(false), decision: Rejected, signals: &[InvalidNationalCode] },
    Case { name: "person not found", claim: same, registry: Registry::NotFound,
        mobile_owned: Some(true), decision: Rejected, signals: &[PersonNotFound] },
    Case { name: "not found ignores the ownership answer", claim: same, registry: Registry::NotFound,
        mobile_owned: Some(false), decision: Rejected, signals: &[PersonNotFound] },
    Case { name: "deceased", claim: same, registry: Registry::Found(|p| p.alive = false),
        mobile_owned: Some(true), decision: Rejected, signals: &[PersonDeceased] },
    Case { name: "card reported lost", claim: same, registry: Registry::Found(|p| p.card_status = CardStatus::Lost),
        mobile_owned: Some(true), decision: Rejected, signals: &[CardReportedLost] },
    Case { name: "card revoked", claim: same, registry: Registry::Found(|p| p.card_status = CardStatus::Revoked),
        mobile_owned: Some(true), decision: Rejected, signals: &[CardRevoked] },
    Case { name: "card lost, no serial presented", claim: |c| c.card_serial = None,
        registry: Registry::Found(|p| p.card_status = CardStatus::Lost),
        mobile_owned: Some(true), decision: Rejected, signals: &[CardReportedLost] },
    Case { name: "serial of an older card", claim: |c| c.card_serial = Some("0A12345677".into()),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[CardSerialMismatch] },
    Case { name: "serial given, registry knows no card", claim: same,
        registry: Registry::Found(|p| p.card_serial = None), mobile_owned: Some(true), decision: Rejected, signals: &[CardSerialMismatch] },
    Case { name: "serial with surrounding spaces",
        claim: |c| c.card_serial = Some(" 0A12345678 ".into()),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Verified, signals: &[] },

    // mismatches that reject without a signal
    Case { name: "first name differs", claim: |c| c.first_name = "علی".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[] },
    Case { name: "last name differs", claim: |c| c.last_name = "کریم".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[] },
    Case { name: "birth date differs by a day", claim: |c| c.birth_date = "۱۳۷۰/۰۱/۰۶".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[] },
    Case { name: "birth date is not a date", claim: |c| c.birth_date = "1370-02-32".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[] },
    Case { name: "registry answered for another national code", claim: same,
        registry: Registry::Found(|p| p.national_code = Some(NationalCode::parse(OTHER_CODE).unwrap())),
        mobile_owned: Some(true), decision: Rejected, signals: &[] },

    // needs review
    Case { name: "father name differs", claim: |c| c.father_name = Some("حسن".into()),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Review, signals: &[] },
    Case { name: "father name given, registry has none", claim: same,
        registry: Registry::Found(|p| p.father_name = None), mobile_owned: Some(true), decision: Review, signals: &[] },
    Case { name: "mobile not owned", claim: same, registry: Registry::Found(unchanged),
        mobile_owned: Some(false), decision: Review, signals: &[MobileNotOwned] },
    Case { name: "mobile given, ownership not asked", claim: same, registry: Registry::Found(unchanged),
        mobile_owned: None, decision: Review, signals: &[] },
    Case { name: "first name blank", claim: |c| c.first_name = " ".into(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Review, signals: &[] },
    Case { name: "last name blank", claim: |c| c.last_name = String::new(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Review, signals: &[] },
    Case { name: "birth date blank", claim: |c| c.birth_date = String::new(),
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Review, signals: &[] },
    Case { name: "father differs and mobile not owned", claim: |c| c.father_name = Some("حسن".into()),
        registry: Registry::Found(unchanged), mobile_owned: Some(false), decision: Review, signals: &[MobileNotOwned] },

    // precedence: rejection wins, every signal is listed in the stable order
    Case { name: "father differs and first name differs", claim: |c| { c.father_name = Some("حسن".into()); c.first_name = "علی".into(); },
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[] },
    Case { name: "blank first name and different last name", claim: |c| { c.first_name = String::new(); c.last_name = "احمدی".into(); },
        registry: Registry::Found(unchanged), mobile_owned: Some(true), decision: Rejected, signals: &[] },
    Case { name: "lost card and mobile not owned", claim: same,
        registry: Registry::Found(|p| p.card_status = CardStatus::Lost),
        mobile_owned: Some(false), decision: Rejected, signals: &[CardReportedLost, MobileNotOwned] },
    Case { name: "deceased, revoked, other serial, mobile not owned", claim: |c| c.card_serial = Some("9Z99999999".into()),
        registry: Registry::Found(|p| { p.alive = false; p.card_status = CardStatus::Revoked; }),
        mobile_owned: Some(false), decision: Rejected, signals: &[PersonDeceased, CardRevoked, CardSerialMismatch, MobileNotOwned] },
];

fn run(case: &Case, profile: &Profile) -> pishkhan_identity::Evaluation {
    let mut c = claim();
    (case.claim)(&mut c);
    let registry = match case.registry {
        Registry::NotFound => RegistryRecord::NotFound,
        Registry::Found(edit) => {
            let mut p = person();
            edit(&mut p);
            found(p)
        }
    };
    evaluate(&c, &registry, case.mobile_owned, profile)
}

#[test]
fn decision_table() {
    let profile = Profile::standard();
    let mut failures = Vec::new();
    for case in CASES {
        let e = run(case, &profile);
        if e.decision != case.decision || e.signal_codes() != case.signals {
            failures.push(format!(
                "{}: expected {:?} {:?}, got {:?} {:?}\n  {:?}",
                case.name,
                case.decision,
                case.signals,
                e.decision,
                e.signal_codes(),
                e.attributes
            ));
        }
        assert_eq!(e.profile_version, "fa-name-1");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_signal_and_every_decision_appears_in_the_table() {
    for code in SignalCode::ALL {
        assert!(
            CASES.iter().any(|c| c.signals == [code]),
            "no case produces {code} alone"
        );
    }
    for d in [Verified, Rejected, Review] {
        assert!(CASES.iter().any(|c| c.decision == d));
    }
}

#[test]
fn signals_come_in_stable_order_without_duplicates() {
    let profile = Profile::standard();
    for case in CASES {
        let codes = run(case, &profile).signal_codes();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted, "{}", case.name);
    }
}

#[test]
fn the_strict_profile_rejects_keyboard_variants_that_the_standard_accepts() {
    let mut c = claim();
    c.last_name = "كريمي".into();
    let registry = found(person());
    let standard = evaluate(&c, &registry, Some(true), &Profile::standard());
    let strict = evaluate(&c, &registry, Some(true), &Profile::strict());
    assert_eq!(standard.decision, Verified);
    assert_eq!(strict.decision, Rejected);
    assert_eq!(strict.profile_version, "exact-1");
    assert_eq!(strict.attributes.last_name.outcome, Outcome::Mismatch);
}

#[test]
fn precheck_gives_the_canonical_code() {
    let mut c = claim();
    c.national_code = " ۰۰۱-۳۵۴۲۴۱-۹ ".into();
    let code = precheck(&c, &Profile::standard()).unwrap();
    assert_eq!(code.as_str(), CODE);
}

#[test]
fn precheck_failure_is_the_final_evaluation() {
    let profile = Profile::standard();
    let mut c = claim();
    c.national_code = "0013542418".into();
    let early = precheck(&c, &profile).unwrap_err();
    assert_eq!(early.decision, Rejected);
    assert_eq!(early.signal_codes(), [InvalidNationalCode]);
    assert_eq!(early.profile_version, "fa-name-1");
    let a = &early.attributes;
    assert_eq!(a.national_code.outcome, Outcome::Mismatch);
    for attribute in Attribute::ALL.into_iter().skip(1) {
        assert_eq!(
            a.get(attribute).outcome,
            Outcome::NotChecked,
            "{attribute:?}"
        );
    }
    for registry in [RegistryRecord::NotFound, found(person())] {
        for owned in [None, Some(true), Some(false)] {
            assert_eq!(evaluate(&c, &registry, owned, &profile), early);
        }
    }
}

#[test]
fn a_blank_national_code_is_not_given_and_blank_attributes_stay_not_given() {
    let mut c = claim();
    c.national_code = String::new();
    c.father_name = None;
    c.card_serial = Some("   ".into());
    let e = precheck(&c, &Profile::standard()).unwrap_err();
    assert_eq!(e.attributes.national_code.outcome, Outcome::NotGiven);
    assert_eq!(e.attributes.father_name.outcome, Outcome::NotGiven);
    assert_eq!(e.attributes.card_serial.outcome, Outcome::NotGiven);
    assert_eq!(e.attributes.first_name.outcome, Outcome::NotChecked);
}

#[test]
fn not_found_leaves_the_other_attributes_unchecked() {
    let e = evaluate(
        &claim(),
        &RegistryRecord::NotFound,
        Some(true),
        &Profile::standard(),
    );
    assert_eq!(e.attributes.national_code.outcome, Outcome::Mismatch);
    for attribute in Attribute::ALL.into_iter().skip(1) {
        assert_eq!(
            e.attributes.get(attribute).outcome,
            Outcome::NotChecked,
            "{attribute:?}"
        );
    }
}

#[test]
fn a_deceased_person_is_still_compared_for_the_reviewer() {
    let mut p = person();
    p.alive = false;
    let e = evaluate(&claim(), &found(p), Some(true), &Profile::standard());
    assert_eq!(e.decision, Rejected);
    assert!(e.has_signal(PersonDeceased));
    assert!(!e.has_signal(CardRevoked));
    assert!(
        e.attributes
            .iter()
            .all(|(_, r)| r.outcome == Outcome::Match)
    );
}

#[test]
fn national_code_flags() {
    let profile = Profile::standard();
    let registry = found(person());
    let e = evaluate(&claim(), &registry, Some(true), &profile);
    assert!(e.attributes.national_code.exact && e.attributes.national_code.normalized);
    let mut c = claim();
    c.national_code = "۰۰۱۳۵۴۲۴۱۹".into();
    let e = evaluate(&c, &registry, Some(true), &profile);
    assert!(!e.attributes.national_code.exact && e.attributes.national_code.normalized);
    assert_eq!(e.decision, Verified);
}

#[test]
fn mobile_outcomes() {
    let profile = Profile::standard();
    let registry = found(person());
    let outcome = |owned| {
        evaluate(&claim(), &registry, owned, &profile)
            .attributes
            .mobile
    };
    let owned = outcome(Some(true));
    assert_eq!(
        (owned.outcome, owned.exact, owned.normalized),
        (Outcome::Match, true, true)
    );
    assert_eq!(outcome(Some(false)).outcome, Outcome::Mismatch);
    assert_eq!(outcome(None).outcome, Outcome::NotChecked);
}

#[test]
fn a_date_of_birth_uses_the_registry_date_not_its_text() {
    let mut p = person();
    p.birth_date = date("1399-12-30");
    let mut c = claim();
    c.birth_date = "۱۳۹۹/۱۲/۳۰".into();
    let e = evaluate(&c, &found(p), Some(true), &Profile::strict());
    assert_eq!(e.attributes.birth_date.outcome, Outcome::Match);
}
