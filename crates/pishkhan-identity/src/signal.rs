//! Signals: facts about the claim or the registry answer that the operator must see, with
//! stable codes for programs and plain sentences for people.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable code of a signal. The serialized (snake_case) form is an API: never rename a
/// variant's serialized form, only add new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalCode {
    /// The national code fails the check-digit rule (or is not ten digits); the registry need
    /// not be asked.
    InvalidNationalCode,
    /// The registry has no person with the national code.
    PersonNotFound,
    /// The registry records the person as deceased.
    PersonDeceased,
    /// The person's current card has been reported lost: a forgery signal.
    CardReportedLost,
    /// The person's current card has been revoked: a forgery signal.
    CardRevoked,
    /// A card serial was presented and it is not the serial of the person's current card.
    CardSerialMismatch,
    /// The mobile number presented is not registered to the person.
    MobileNotOwned,
}

impl SignalCode {
    /// Every code, in the order signals are listed in an evaluation.
    pub const ALL: [SignalCode; 7] = [
        SignalCode::InvalidNationalCode,
        SignalCode::PersonNotFound,
        SignalCode::PersonDeceased,
        SignalCode::CardReportedLost,
        SignalCode::CardRevoked,
        SignalCode::CardSerialMismatch,
        SignalCode::MobileNotOwned,
    ];

    /// Whether this signal alone rejects the claim. Every signal does except
    /// [`SignalCode::MobileNotOwned`], which sends it to review: a mobile number says who pays
    /// for a SIM card, not who stands at the counter (see the crate documentation).
    pub fn rejects(self) -> bool {
        !matches!(self, SignalCode::MobileNotOwned)
    }

    /// The stable code, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalCode::InvalidNationalCode => "invalid_national_code",
            SignalCode::PersonNotFound => "person_not_found",
            SignalCode::PersonDeceased => "person_deceased",
            SignalCode::CardReportedLost => "card_reported_lost",
            SignalCode::CardRevoked => "card_revoked",
            SignalCode::CardSerialMismatch => "card_serial_mismatch",
            SignalCode::MobileNotOwned => "mobile_not_owned",
        }
    }

    /// The message for the operator, in Persian.
    pub fn message_fa(self) -> &'static str {
        match self {
            SignalCode::InvalidNationalCode => {
                "کد ملی واردشده معتبر نیست؛ کد ملی ده رقم دارد و رقم آخر آن باید با رقم‌های دیگر جور دربیاید."
            }
            SignalCode::PersonNotFound => "کسی با این کد ملی در ثبت احوال پیدا نشد.",
            SignalCode::PersonDeceased => "ثبت احوال این شخص را فوت‌شده ثبت کرده است.",
            SignalCode::CardReportedLost => {
                "کارت ملی فعلی این شخص در ثبت احوال مفقودشده اعلام شده است."
            }
            SignalCode::CardRevoked => "کارت ملی فعلی این شخص در ثبت احوال باطل شده است.",
            SignalCode::CardSerialMismatch => {
                "سریال کارت ارائه‌شده با سریال کارت ملی فعلی این شخص در ثبت احوال یکی نیست."
            }
            SignalCode::MobileNotOwned => "شماره همراه واردشده به نام این شخص ثبت نشده است.",
        }
    }

    /// The message for the operator, in English.
    pub fn message_en(self) -> &'static str {
        match self {
            SignalCode::InvalidNationalCode => {
                "The national code is not valid: a national code has ten digits and the last must agree with the others."
            }
            SignalCode::PersonNotFound => {
                "No person with this national code was found in the civil registry."
            }
            SignalCode::PersonDeceased => "The civil registry records this person as deceased.",
            SignalCode::CardReportedLost => {
                "The person's current national card has been reported lost to the civil registry."
            }
            SignalCode::CardRevoked => {
                "The person's current national card has been revoked by the civil registry."
            }
            SignalCode::CardSerialMismatch => {
                "The serial of the presented card is not the serial of the person's current national card."
            }
            SignalCode::MobileNotOwned => "The mobile number is not registered to this person.",
        }
    }
}

impl fmt::Display for SignalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One signal of an evaluation: its code and the message in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    pub code: SignalCode,
    pub message_fa: String,
    pub message_en: String,
}

impl Signal {
    /// The signal for `code`, with its standard messages.
    pub fn new(code: SignalCode) -> Self {
        Self {
            code,
            message_fa: code.message_fa().to_string(),
            message_en: code.message_en().to_string(),
        }
    }
}

impl From<SignalCode> for Signal {
    fn from(code: SignalCode) -> Self {
        Self::new(code)
    }
}
