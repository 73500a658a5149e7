//! The evaluation of a claim: per-attribute results, the signals and the decision.

use pishkhan_domain::NationalCode;
use serde::{Deserialize, Serialize};

use crate::profile::{Profile, is_blank};
use crate::record::{CardStatus, Claim, RegistryPerson, RegistryRecord};
use crate::signal::{Signal, SignalCode};

/// How one attribute of the claim compared with the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Equal, exactly or under the profile.
    Match,
    /// Compared and different.
    Mismatch,
    /// The claim did not give this attribute (`None` or blank).
    NotGiven,
    /// Given, but there was nothing to compare it with: the national code was invalid, the
    /// person was not found, or (for the mobile) no ownership answer was passed.
    NotChecked,
}

/// The result for one attribute. Both comparisons are reported, so a reviewer can see whether
/// a match needed the profile: `exact` is code-point equality of the text as typed with the
/// registry's text, `normalized` is equality under the profile (or, for the national code and
/// the birth date, equality of the parsed values). `exact` implies `normalized`, and the
/// outcome is [`Outcome::Match`] exactly when `normalized` is true. Both are false for
/// attributes that were not compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AttributeResult {
    pub outcome: Outcome,
    pub exact: bool,
    pub normalized: bool,
}

impl AttributeResult {
    /// The result of a comparison; `exact` must imply `normalized`.
    pub(crate) fn compared(exact: bool, normalized: bool) -> Self {
        debug_assert!(!exact || normalized, "an exact match is a normalized match");
        Self {
            outcome: if normalized {
                Outcome::Match
            } else {
                Outcome::Mismatch
            },
            exact,
            normalized,
        }
    }

    pub(crate) fn not_given() -> Self {
        Self {
            outcome: Outcome::NotGiven,
            exact: false,
            normalized: false,
        }
    }

    pub(crate) fn not_checked() -> Self {
        Self {
            outcome: Outcome::NotChecked,
            exact: false,
            normalized: false,
        }
    }

    /// [`not_given`](Self::not_given) for a blank value, else [`not_checked`](Self::not_checked).
    fn unchecked(value: Option<&str>) -> Self {
        match value {
            Some(v) if !is_blank(v) => Self::not_checked(),
            _ => Self::not_given(),
        }
    }
}

/// The attributes of a claim, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    NationalCode,
    FirstName,
    LastName,
    FatherName,
    BirthDate,
    CardSerial,
    Mobile,
}

impl Attribute {
    pub const ALL: [Attribute; 7] = [
        Attribute::NationalCode,
        Attribute::FirstName,
        Attribute::LastName,
        Attribute::FatherName,
        Attribute::BirthDate,
        Attribute::CardSerial,
        Attribute::Mobile,
    ];

    /// The name used as the key in [`Attributes`]' JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::NationalCode => "national_code",
            Attribute::FirstName => "first_name",
            Attribute::LastName => "last_name",
            Attribute::FatherName => "father_name",
            Attribute::BirthDate => "birth_date",
            Attribute::CardSerial => "card_serial",
            Attribute::Mobile => "mobile",
        }
    }

    /// The attributes without which a claim can never be verified, and whose mismatch rejects
    /// it: national code, first and last name, birth date.
    pub fn is_required(self) -> bool {
        matches!(
            self,
            Attribute::NationalCode
                | Attribute::FirstName
                | Attribute::LastName
                | Attribute::BirthDate
        )
    }
}

/// The result per attribute. Serializes as a JSON object whose keys are in [`Attribute::ALL`]
/// order: `{"national_code": {…}, "first_name": {…}, …, "mobile": {…}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    pub national_code: AttributeResult,
    pub first_name: AttributeResult,
    pub last_name: AttributeResult,
    pub father_name: AttributeResult,
    pub birth_date: AttributeResult,
    pub card_serial: AttributeResult,
    pub mobile: AttributeResult,
}

impl Attributes {
    pub fn get(&self, attribute: Attribute) -> &AttributeResult {
        match attribute {
            Attribute::NationalCode => &self.national_code,
            Attribute::FirstName => &self.first_name,
            Attribute::LastName => &self.last_name,
            Attribute::FatherName => &self.father_name,
            Attribute::BirthDate => &self.birth_date,
            Attribute::CardSerial => &self.card_serial,
            Attribute::Mobile => &self.mobile,
        }
    }

    /// Every attribute with its result, in [`Attribute::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Attribute, &AttributeResult)> {
        Attribute::ALL.into_iter().map(|a| (a, self.get(a)))
    }
}

/// The overall decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Verified,
    Rejected,
    NeedsReview,
}

/// The outcome of checking a claim; see the crate documentation for the decision rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub attributes: Attributes,
    pub decision: Decision,
    /// In [`SignalCode::ALL`] order, each code at most once.
    pub signals: Vec<Signal>,
    /// The [`Profile::version`] the names and card serial were compared under.
    pub profile_version: String,
}

impl Evaluation {
    /// The codes of the signals, in order.
    pub fn signal_codes(&self) -> Vec<SignalCode> {
        self.signals.iter().map(|s| s.code).collect()
    }

    pub fn has_signal(&self, code: SignalCode) -> bool {
        self.signals.iter().any(|s| s.code == code)
    }
}

/// Checks the national code before the registry is asked.
///
/// `Ok` holds the canonical code to look up. `Err` is the final evaluation of a claim whose
/// national code is blank or invalid (not ten digits, one digit repeated, or a wrong check
/// digit): decision [`Decision::Rejected`] with the signal
/// [`SignalCode::InvalidNationalCode`] and every other attribute not checked. No registry or
/// ownership lookup is needed for it. [`evaluate`] returns the same evaluation for such a
/// claim, whatever registry answer it is given.
pub fn precheck(claim: &Claim, profile: &Profile) -> Result<NationalCode, Evaluation> {
    NationalCode::parse(&claim.national_code).map_err(|_| {
        let national_code = if is_blank(&claim.national_code) {
            AttributeResult::not_given()
        } else {
            AttributeResult::compared(false, false)
        };
        without_person(
            claim,
            national_code,
            SignalCode::InvalidNationalCode,
            profile,
        )
    })
}

/// Evaluates a claim against the registry's answer and the answer on who owns the mobile
/// number (`None` if it was not asked).
///
/// Pure and total: every input gives an evaluation. The registry answer must be the one for
/// the code [`precheck`] returned; if the registry echoes a national code, a different one is
/// a national-code mismatch.
pub fn evaluate(
    claim: &Claim,
    registry: &RegistryRecord,
    mobile_owned: Option<bool>,
    profile: &Profile,
) -> Evaluation {
    let code = match precheck(claim, profile) {
        Ok(code) => code,
        Err(evaluation) => return evaluation,
    };
    match registry {
        RegistryRecord::NotFound => without_person(
            claim,
            AttributeResult::compared(false, false),
            SignalCode::PersonNotFound,
            profile,
        ),
        RegistryRecord::Found(person) => with_person(claim, &code, person, mobile_owned, profile),
    }
}

/// The evaluation when there is no person to compare with: the national code result given,
/// one rejecting signal, everything else not checked.
fn without_person(
    claim: &Claim,
    national_code: AttributeResult,
    signal: SignalCode,
    profile: &Profile,
) -> Evaluation {
    debug_assert!(signal.rejects());
    let attributes = Attributes {
        national_code,
        first_name: AttributeResult::unchecked(Some(&claim.first_name)),
        last_name: AttributeResult::unchecked(Some(&claim.last_name)),
        father_name: AttributeResult::unchecked(claim.father_name.as_deref()),
        birth_date: AttributeResult::unchecked(Some(&claim.birth_date)),
        card_serial: AttributeResult::unchecked(claim.card_serial.as_deref()),
        mobile: AttributeResult::unchecked(claim.mobile.as_deref()),
    };
    finish(attributes, vec![signal], profile)
}

fn with_person(
    claim: &Claim,
    code: &NationalCode,
    person: &RegistryPerson,
    mobile_owned: Option<bool>,
    profile: &Profile,
) -> Evaluation {
    let registered_code = person.national_code.as_ref().unwrap_or(code);
    let national_code = AttributeResult::compared(
        claim.national_code == registered_code.as_str(),
        code == registered_code,
    );

    // An optional attribute: not given, or compared with the registry's value, where a
    // registry without a value matches nothing.
    let optional = |presented: Option<&str>,
                    registered: Option<&str>,
                    compare: &dyn Fn(&str, &str) -> AttributeResult| {
        match presented {
            Some(p) if !is_blank(p) => match registered {
                Some(r) => compare(p, r),
                None => AttributeResult::compared(false, false),
            },
            _ => AttributeResult::not_given(),
        }
    };

    let mobile = match claim.mobile.as_deref() {
        Some(m) if !is_blank(m) => match mobile_owned {
            Some(owned) => AttributeResult::compared(owned, owned),
            None => AttributeResult::not_checked(),
        },
        _ => AttributeResult::not_given(),
    };

    let attributes = Attributes {
        national_code,
        first_name: profile.compare_name(&claim.first_name, &person.first_name),
        last_name: profile.compare_name(&claim.last_name, &person.last_name),
        father_name: optional(
            claim.father_name.as_deref(),
            person.father_name.as_deref(),
            &|p, r| profile.compare_name(p, r),
        ),
        birth_date: profile.compare_birth_date(&claim.birth_date, person.birth_date),
        card_serial: optional(
            claim.card_serial.as_deref(),
            person.card_serial.as_deref(),
            &|p, r| profile.compare_card_serial(p, r),
        ),
        mobile,
    };

    let mut signals = Vec::new();
    if !person.alive {
        signals.push(SignalCode::PersonDeceased);
    }
    match person.card_status {
        CardStatus::Valid => {}
        CardStatus::Lost => signals.push(SignalCode::CardReportedLost),
        CardStatus::Revoked => signals.push(SignalCode::CardRevoked),
    }
    if attributes.card_serial.outcome == Outcome::Mismatch {
        signals.push(SignalCode::CardSerialMismatch);
    }
    if attributes.mobile.outcome == Outcome::Mismatch {
        signals.push(SignalCode::MobileNotOwned);
    }
    finish(attributes, signals, profile)
}

fn finish(attributes: Attributes, mut codes: Vec<SignalCode>, profile: &Profile) -> Evaluation {
    codes.sort();
    codes.dedup();
    Evaluation {
        decision: decide(&attributes, &codes),
        attributes,
        signals: codes.into_iter().map(Signal::new).collect(),
        profile_version: profile.version.clone(),
    }
}

/// The decision rules of the crate documentation, in order of precedence.
fn decide(attributes: &Attributes, signals: &[SignalCode]) -> Decision {
    let rejected = signals.iter().any(|s| s.rejects())
        || attributes.iter().any(|(a, r)| {
            r.outcome == Outcome::Mismatch && (a.is_required() || a == Attribute::CardSerial)
        });
    if rejected {
        return Decision::Rejected;
    }
    let review = !signals.is_empty()
        || attributes.iter().any(|(a, r)| match r.outcome {
            Outcome::Match => false,
            Outcome::Mismatch | Outcome::NotChecked => true,
            Outcome::NotGiven => a.is_required(),
        });
    if review {
        Decision::NeedsReview
    } else {
        Decision::Verified
    }
}
