//! The identity check at a Pishkhan counter, as a pure decision.
//!
//! An operator checks the identity a citizen presents (a [`Claim`]) against the civil
//! registry's answer (a [`RegistryRecord`], fetched elsewhere over the inquiry exchange) and,
//! optionally, the answer on who owns the mobile number. [`evaluate`] compares them and returns
//! an [`Evaluation`]: a result per attribute, the [`Signal`]s, a [`Decision`] and the version
//! of the normalization [`Profile`] the names were compared under. Nothing here does I/O.
//!
//! ```
//! use pishkhan_identity::{evaluate, precheck, Claim, Decision, Profile, RegistryRecord};
//!
//! let profile = Profile::standard();
//! let claim = Claim {
//!     national_code: "۰۰۱۳۵۴۲۴۱۹".into(),
//!     first_name: "محمد علی".into(),
//!     last_name: "كريمي".into(), // Arabic kaf and yeh
//!     birth_date: "۱۳۷۰/۱/۵".into(),
//!     ..Claim::default()
//! };
//! // Ask the registry only for a code that passes the checksum.
//! let code = precheck(&claim, &profile).expect("a valid national code");
//! assert_eq!(code.as_str(), "0013542419");
//! let registry = RegistryRecord::from_json(r#"{"found": true,
//!     "first_name": "محمدعلی", "last_name": "کریمی", "birth_date": "1370-01-05",
//!     "card_status": "valid", "alive": true}"#).unwrap();
//! let evaluation = evaluate(&claim, &registry, None, &profile);
//! assert_eq!(evaluation.decision, Decision::Verified);
//! assert!(!evaluation.attributes.last_name.exact);
//! assert!(evaluation.attributes.last_name.normalized);
//! assert_eq!(evaluation.profile_version, "fa-name-1");
//! ```
//!
//! # Attributes
//!
//! Each attribute gets an [`Outcome`] (`match`, `mismatch`, `not_given`, `not_checked`) and two
//! flags: `exact` (the text as typed is the registry's text) and `normalized` (equal under the
//! profile). A match under the profile counts as a match; the flags show the reviewer why.
//!
//! - **national_code** is parsed with [`pishkhan_domain::NationalCode::parse`] (digits in any
//!   script, `-` and spaces ignored, check digit verified) and compared by value with the code
//!   the registry echoes, if it echoes one.
//! - **first_name, last_name, father_name** compare under the profile's name options.
//! - **birth_date** compares as a day of the Jalali calendar in every profile: digits in any
//!   script, `-` or `/`, with or without zero padding, so `۱۳۷۰/۱/۵` is `1370-01-05`. A date is
//!   a value, not a spelling, and two ways of writing one day are never two birth dates. Text
//!   that is not a valid Jalali date matches nothing.
//! - **card_serial** compares under the profile's serial options (standard: digits folded,
//!   uppercased, spaces and dashes removed) with the serial of the person's *current* card.
//! - **mobile** is not compared here: ownership is the registry's answer, passed as
//!   `mobile_owned`. Owned is a match, not owned a mismatch, no answer `not_checked`.
//!
//! When there is no person to compare with (invalid national code, person not found), every
//! attribute other than the national code is `not_checked` (or `not_given`), the registry and
//! ownership answers are ignored, and the one signal that explains it is the only one.
//!
//! # Decision rules
//!
//! Every applicable signal is reported; the decision is the first row group that applies,
//! `rejected` before `needs_review` before `verified`.
//!
//! | condition | signal | decision |
//! |---|---|---|
//! | national code blank, not ten digits, one digit repeated, or check digit wrong | `invalid_national_code` | rejected |
//! | the registry has no such person | `person_not_found` | rejected |
//! | the registry records the person as deceased | `person_deceased` | rejected |
//! | the person's current card was reported lost | `card_reported_lost` | rejected |
//! | the person's current card was revoked | `card_revoked` | rejected |
//! | a card serial is given and it is not the current card's (or the registry knows no card) | `card_serial_mismatch` | rejected |
//! | first name, last name or birth date mismatch (also: the national code the registry echoes is not the claimed one) | — | rejected |
//! | father name given and mismatch (also when the registry has no father name) | — | needs_review |
//! | mobile given and not owned by the person | `mobile_not_owned` | needs_review |
//! | mobile given but no ownership answer passed | — | needs_review |
//! | first name, last name or birth date blank | — | needs_review |
//! | every given attribute matches (exactly or under the profile) and there is no signal | — | verified |
//!
//! Refinements of the original brief, and why:
//!
//! - **`not_checked` outcome.** Attributes that could not be compared (no person, no
//!   ownership answer) are neither matches nor mismatches, and `not_given` would misstate
//!   what the citizen presented.
//! - **A blank required attribute goes to review**, not to verified: "all given attributes
//!   match" would otherwise verify a claim made of a national code alone. It is not evidence
//!   against the citizen either (the form should have prevented it), so it is not rejected.
//! - **A mobile without an ownership answer goes to review**: "all given attributes match"
//!   cannot hold for an attribute nobody checked. A caller that does not check ownership
//!   should not pass the mobile.
//! - **`mobile_not_owned` goes to review, not rejection**: many Iranians use a line registered
//!   to a parent or spouse; the mobile says who holds a SIM contract, not who stands at the
//!   counter. It is still a signal, because codes sent to that mobile will not reach this
//!   person.
//! - **Lost and revoked cards reject even when no serial was given**: the status is of the
//!   person's current card, which is the card a forger would present; an operator who did not
//!   read the serial has not shown that a different card is in front of them.
//! - **A father name the registry does not have is a mismatch** (review), so an unverifiable
//!   father name is never shown as verified.
//! - **An echoed national code that differs rejects**: an answer about somebody else must never
//!   verify a claim.
//! - **An unparseable claimed birth date is a mismatch**, so it rejects. The form should check
//!   the date with [`pishkhan_domain::JalaliDate::parse`] before the claim is submitted.
//!
//! # Normalization profile
//!
//! See [`profile`] for the options and the two built-in profiles, `fa-name-1`
//! ([`Profile::standard`]) and `exact-1` ([`Profile::strict`]).

#![forbid(unsafe_code)]

mod evaluation;
pub mod profile;
mod record;
mod signal;

pub use evaluation::{
    Attribute, AttributeResult, Attributes, Decision, Evaluation, Outcome, evaluate, precheck,
};
pub use profile::{Profile, ProfileError};
pub use record::{CardStatus, Claim, RegistryPerson, RegistryRecord};
pub use signal::{Signal, SignalCode};

/// Re-exported so callers need not depend on `pishkhan-domain` for the types in this API.
pub use pishkhan_domain::{JalaliDate, NationalCode};
