//! The normalization table: each row is a profile, a presented value, the registry's value, and
//! the expected `exact` flag and outcome. Every row is checked twice: with the profile's
//! comparison function, and through `evaluate` with the value placed in its attribute of an
//! otherwise matching claim.

use pishkhan_identity::{
    Attribute, AttributeResult, Claim, Outcome, Profile, RegistryRecord, evaluate,
};

use crate::common::{claim, date, found, person};

#[derive(Debug, Clone, Copy, PartialEq)]
enum P {
    Standard,
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Checked as first, last and father name.
    Name,
    Date,
    Serial,
}

use Kind::{Date, Name, Serial};
use Outcome::{Match as M, Mismatch as X, NotGiven as N};
use P::{Standard as S, Strict as T};

struct Row {
    profile: P,
    kind: Kind,
    presented: &'static str,
    registered: &'static str,
    exact: bool,
    outcome: Outcome,
}

const fn row(
    profile: P,
    kind: Kind,
    presented: &'static str,
    registered: &'static str,
    exact: bool,
    outcome: Outcome,
) -> Row {
    Row {
        profile,
        kind,
        presented,
        registered,
        exact,
        outcome,
    }
}

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // Identical text.
    row(S, Name, "علی", "علی", true, M),
    row(T, Name, "علی", "علی", true, M),
    // Arabic yeh U+064A against Persian yeh U+06CC, both ways round.
    row(S, Name, "علي", "علی", false, M),
    row(T, Name, "علي", "علی", false, X),
    row(S, Name, "علی", "علي", false, M),
    row(T, Name, "علی", "علي", false, X),
    // Alef maksura U+0649 against Persian yeh.
    row(S, Name, "على", "علی", false, M),
    row(T, Name, "على", "علی", false, X),
    // Arabic kaf U+0643 against keheh U+06A9.
    row(S, Name, "كاظم", "کاظم", false, M),
    row(T, Name, "كاظم", "کاظم", false, X),
    // Both at once.
    row(S, Name, "كريمي", "کریمی", false, M),
    row(T, Name, "كريمي", "کریمی", false, X),
    // Compound names: joined, with a space, with ZWNJ (U+200C).
    row(S, Name, "محمدعلی", "محمد علی", false, M),
    row(T, Name, "محمدعلی", "محمد علی", false, X),
    row(S, Name, "محمد\u{200C}علی", "محمدعلی", false, M),
    row(T, Name, "محمد\u{200C}علی", "محمدعلی", false, X),
    row(S, Name, "محمد\u{200C}علی", "محمد علی", false, M),
    row(T, Name, "محمد\u{200C}علی", "محمد علی", false, X),
    row(S, Name, "علی رضا", "علیرضا", false, M),
    row(T, Name, "علی رضا", "علیرضا", false, X),
    // Whitespace: surrounding, doubled, no-break space. Both profiles trim and collapse.
    row(S, Name, " علی ", "علی", false, M),
    row(T, Name, " علی ", "علی", false, M),
    row(S, Name, "محمد  علی", "محمد علی", false, M),
    row(T, Name, "محمد  علی", "محمد علی", false, M),
    row(T, Name, "محمد\u{00A0}علی", "محمد علی", false, M),
    // Diacritics.
    row(S, Name, "مُحَمَّد", "محمد", false, M),
    row(T, Name, "مُحَمَّد", "محمد", false, X),
    row(S, Name, "عَلِیّ", "علی", false, M),
    row(T, Name, "عَلِیّ", "علی", false, X),
    // Tatweel.
    row(S, Name, "محـــمد", "محمد", false, M),
    row(T, Name, "محـــمد", "محمد", false, X),
    // Everything at once: diacritic, tatweel, Arabic yeh.
    row(S, Name, "عَلـــي", "علی", false, M),
    row(T, Name, "عَلـــي", "علی", false, X),
    // Invisible bidi mark from copy and paste.
    row(S, Name, "\u{200F}رضا", "رضا", false, M),
    row(T, Name, "\u{200F}رضا", "رضا", false, X),
    // Decomposed alef with madda (U+0627 U+0653) against precomposed U+0622.
    row(S, Name, "\u{0627}\u{0653}رش", "آرش", false, M),
    row(T, Name, "\u{0627}\u{0653}رش", "آرش", false, X),
    // Real differences stay differences, in every profile.
    row(S, Name, "علی", "علیرضا", false, X),
    row(T, Name, "علی", "علیرضا", false, X),
    row(S, Name, "زهرا", "زهره", false, X),
    row(T, Name, "زهرا", "زهره", false, X),
    row(S, Name, "حسن", "حسین", false, X),
    row(T, Name, "حسن", "حسین", false, X),
    row(S, Name, "محمدعلی", "محمد", false, X),
    // Alef with madda and teh marbuta are not folded by the standard profile.
    row(S, Name, "ارش", "آرش", false, X),
    row(S, Name, "فاطمة", "فاطمه", false, X),
    // A presented value that normalizes to nothing matches nothing.
    row(S, Name, "ـــ", "علی", false, X),
    row(S, Name, "ـــ", "", false, X),
    // Blank is not given.
    row(S, Name, "  ", "علی", false, N),
    row(T, Name, "\u{200C}", "علی", false, N),

    // Birth dates compare as dates in every profile.
    row(S, Date, "1370-01-05", "1370-01-05", true, M),
    row(T, Date, "1370-01-05", "1370-01-05", true, M),
    row(S, Date, "۱۳۷۰-۰۱-۰۵", "1370-01-05", false, M),
    row(T, Date, "۱۳۷۰-۰۱-۰۵", "1370-01-05", false, M),
    row(S, Date, "١٣٧٠-٠١-٠٥", "1370-01-05", false, M),
    row(T, Date, "١٣٧٠-٠١-٠٥", "1370-01-05", false, M),
    row(S, Date, "۱۳70-٠1-05", "1370-01-05", false, M),
    row(S, Date, "1370/01/05", "1370-01-05", false, M),
    row(S, Date, "1370/1/5", "1370-01-05", false, M),
    row(T, Date, "1370/1/5", "1370-01-05", false, M),
    row(S, Date, "۱۳۷۰/۱/۵", "1370-01-05", false, M),
    row(S, Date, " 1370-01-05 ", "1370-01-05", false, M),
    row(S, Date, "1370-01-06", "1370-01-05", false, X),
    row(T, Date, "1370-01-06", "1370-01-05", false, X),
    row(S, Date, "۱۳۷۰-۰۱-۰۶", "1370-01-05", false, X),
    row(S, Date, "1371-01-05", "1370-01-05", false, X),
    row(S, Date, "1370-05-01", "1370-01-05", false, X),
    // Not a date at all: invalid month, two-digit year, mixed separators, garbage.
    row(S, Date, "1370-13-05", "1370-01-05", false, X),
    row(S, Date, "70/1/5", "1370-01-05", false, X),
    row(S, Date, "1370-01/05", "1370-01-05", false, X),
    row(S, Date, "پنجم فروردین", "1370-01-05", false, X),
    row(S, Date, "", "1370-01-05", false, N),

    // Card serials: digits in three scripts, case, spaces and dashes.
    row(S, Serial, "0A12345678", "0A12345678", true, M),
    row(T, Serial, "0A12345678", "0A12345678", true, M),
    row(S, Serial, "۰A۱۲۳۴۵۶۷۸", "0A12345678", false, M),
    row(T, Serial, "۰A۱۲۳۴۵۶۷۸", "0A12345678", false, X),
    row(S, Serial, "٠A١٢٣٤٥٦٧٨", "0A12345678", false, M),
    row(T, Serial, "٠A١٢٣٤٥٦٧٨", "0A12345678", false, X),
    row(S, Serial, "0a12345678", "0A12345678", false, M),
    row(T, Serial, "0a12345678", "0A12345678", false, X),
    row(S, Serial, "0A-1234-5678", "0A12345678", false, M),
    row(T, Serial, "0A-1234-5678", "0A12345678", false, X),
    row(S, Serial, "0A 1234 5678", "0A12345678", false, M),
    row(T, Serial, "0A 1234 5678", "0A12345678", false, X),
    row(S, Serial, "۰a-۱۲۳۴ ۵۶۷۸", "0A12345678", false, M),
    row(S, Serial, " 0A12345678 ", "0A12345678", false, M),
    row(T, Serial, " 0A12345678 ", "0A12345678", false, M),
    row(S, Serial, "0A12345679", "0A12345678", false, X),
    row(T, Serial, "0A12345679", "0A12345678", false, X),
    row(S, Serial, "0B12345678", "0A12345678", false, X),
    row(S, Serial, "-", "0A12345678", false, X),
    row(S, Serial, "-", "", false, X),
    row(S, Serial, " ", "0A12345678", false, N),
];

fn profile(p: P) -> Profile {
    match p {
        P::Standard => Profile::standard(),
        P::Strict => Profile::strict(),
    }
}

fn compare(row: &Row, profile: &Profile) -> AttributeResult {
    match row.kind {
        Kind::Name => profile.compare_name(row.presented, row.registered),
        Kind::Date => profile.compare_birth_date(row.presented, date(row.registered)),
        Kind::Serial => profile.compare_card_serial(row.presented, row.registered),
    }
}

/// The attributes a row is placed in, each with the claim and registry that put it there.
fn placements(row: &Row) -> Vec<(Attribute, Claim, RegistryRecord)> {
    let mut out = Vec::new();
    match row.kind {
        Kind::Name => {
            let (mut c, mut p) = (claim(), person());
            c.first_name = row.presented.into();
            p.first_name = row.registered.into();
            out.push((Attribute::FirstName, c, found(p)));
            let (mut c, mut p) = (claim(), person());
            c.last_name = row.presented.into();
            p.last_name = row.registered.into();
            out.push((Attribute::LastName, c, found(p)));
            let (mut c, mut p) = (claim(), person());
            c.father_name = Some(row.presented.into());
            p.father_name = Some(row.registered.into());
            out.push((Attribute::FatherName, c, found(p)));
        }
        Kind::Date => {
            let (mut c, mut p) = (claim(), person());
            c.birth_date = row.presented.into();
            p.birth_date = date(row.registered);
            out.push((Attribute::BirthDate, c, found(p)));
        }
        Kind::Serial => {
            let (mut c, mut p) = (claim(), person());
            c.card_serial = Some(row.presented.into());
            p.card_serial = Some(row.registered.into());
            out.push((Attribute::CardSerial, c, found(p)));
        }
    }
    out
}

#[test]
fn normalization_table() {
    let mut failures = Vec::new();
    for (i, row) in ROWS.iter().enumerate() {
        let profile = profile(row.profile);
        let expected = AttributeResult {
            outcome: row.outcome,
            exact: row.exact,
            normalized: row.outcome == Outcome::Match,
        };
        let direct = compare(row, &profile);
        if direct != expected {
            failures.push(format!(
                "row {i} {:?} {:?} {:?} vs {:?}: expected {expected:?}, got {direct:?}",
                row.profile, row.kind, row.presented, row.registered
            ));
        }
        for (attribute, claim, registry) in placements(row) {
            let evaluation = evaluate(&claim, &registry, Some(true), &profile);
            let got = *evaluation.attributes.get(attribute);
            if got != expected {
                failures.push(format!(
                    "row {i} via evaluate as {}: expected {expected:?}, got {got:?}",
                    attribute.as_str()
                ));
            }
            assert_eq!(evaluation.profile_version, profile.version);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_row_keeps_the_invariants() {
    for row in ROWS {
        let r = compare(row, &profile(row.profile));
        assert!(!r.exact || r.normalized, "exact implies normalized");
        assert_eq!(r.outcome == Outcome::Match, r.normalized);
        if r.outcome == Outcome::NotGiven {
            assert!(!r.exact && !r.normalized);
        }
    }
}

#[test]
fn the_table_covers_both_profiles_and_every_kind() {
    for p in [P::Standard, P::Strict] {
        for k in [Kind::Name, Kind::Date, Kind::Serial] {
            assert!(
                ROWS.iter().any(|r| r.profile == p && r.kind == k),
                "no row for {p:?} {k:?}"
            );
        }
    }
}

#[test]
fn normalized_forms_of_the_standard_profile() {
    let p = Profile::standard();
    assert_eq!(p.normalize_name(" مُحَمَّد\u{200C}علي "), "محمدعلی");
    assert_eq!(p.normalize_name("كـــاظم"), "کاظم");
    assert_eq!(p.normalize_card_serial("۰a-۱۲۳۴ ۵۶۷۸"), "0A12345678");
    let strict = Profile::strict();
    assert_eq!(strict.normalize_name("  محمد   علی "), "محمد علی");
    assert_eq!(strict.normalize_name("علي"), "علي");
}

#[test]
fn a_profile_with_alef_and_heh_folding_accepts_those_variants() {
    let mut p = Profile::standard();
    p.version = "test-alef-heh".into();
    p.fold_alef_variants = true;
    p.fold_heh = true;
    p.validate().unwrap();
    for (a, b) in [
        ("ارش", "آرش"),
        ("اسماعیل", "إسماعیل"),
        ("مامون", "مأمون"),
        ("فاطمة", "فاطمه"),
    ] {
        let r = p.compare_name(a, b);
        assert_eq!((r.outcome, r.exact), (Outcome::Match, false), "{a} vs {b}");
    }
    assert_eq!(p.compare_name("زهرا", "زهره").outcome, Outcome::Mismatch);
}
