//! The two inputs of an evaluation: what the citizen presents and what the registry answers.

use pishkhan_domain::{JalaliDate, NationalCode};
use serde::{Deserialize, Serialize};

/// What the operator submits, as typed: Persian, Arabic-Indic or ASCII digits, any spacing.
///
/// An optional field that is `None` or blank (only whitespace and invisible characters) is not
/// given. Pass `mobile` only together with the registry's answer on who owns it (the
/// `mobile_owned` argument of [`evaluate`](crate::evaluate)); a mobile without that answer
/// cannot be verified and sends the claim to review.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub national_code: String,
    pub first_name: String,
    pub last_name: String,
    #[serde(default)]
    pub father_name: Option<String>,
    /// Jalali, `YYYY-MM-DD` or `YYYY/MM/DD`, zero padding optional.
    pub birth_date: String,
    #[serde(default)]
    pub card_serial: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
}

/// The status of the person's current national card in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Valid,
    Lost,
    Revoked,
}

/// The registry's answer for one national code.
///
/// In JSON it is one flat object with a `found` flag, as the registry sends it:
/// `{"found": false}`, or `{"found": true, "first_name": …, "last_name": …,
/// "birth_date": "1370-01-05", "card_status": "valid", "alive": true, …}` with the fields of
/// [`RegistryPerson`]. When `found` is true every field of [`RegistryPerson`] that is not an
/// `Option` is required: a registry answer missing `alive` or `card_status` is an error, never
/// a default. Unknown fields are ignored, so the registry can add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RegistryWire", into = "RegistryWire")]
pub enum RegistryRecord {
    NotFound,
    Found(RegistryPerson),
}

/// A person as the civil registry records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPerson {
    /// The national code the registry answered for, if it echoes it. When present it must be
    /// the claimed code, or the national code attribute is a mismatch: an answer about
    /// somebody else must never verify a claim.
    pub national_code: Option<NationalCode>,
    pub first_name: String,
    pub last_name: String,
    pub father_name: Option<String>,
    pub birth_date: JalaliDate,
    /// The serial of the person's current card; `None` if the registry knows of no card.
    pub card_serial: Option<String>,
    pub card_status: CardStatus,
    pub alive: bool,
}

impl RegistryRecord {
    /// The person, if found.
    pub fn person(&self) -> Option<&RegistryPerson> {
        match self {
            RegistryRecord::NotFound => None,
            RegistryRecord::Found(p) => Some(p),
        }
    }

    /// Reads the registry's JSON answer.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[derive(Clone, Serialize, Deserialize)]
struct RegistryWire {
    found: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    national_code: Option<NationalCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    father_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    birth_date: Option<JalaliDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card_serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card_status: Option<CardStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alive: Option<bool>,
}

impl TryFrom<RegistryWire> for RegistryRecord {
    type Error = String;

    fn try_from(w: RegistryWire) -> Result<Self, Self::Error> {
        if !w.found {
            return Ok(RegistryRecord::NotFound);
        }
        let missing = |field: &str| format!("registry answer with found=true lacks `{field}`");
        Ok(RegistryRecord::Found(RegistryPerson {
            national_code: w.national_code,
            first_name: w.first_name.ok_or_else(|| missing("first_name"))?,
            last_name: w.last_name.ok_or_else(|| missing("last_name"))?,
            father_name: w.father_name,
            birth_date: w.birth_date.ok_or_else(|| missing("birth_date"))?,
            card_serial: w.card_serial,
            card_status: w.card_status.ok_or_else(|| missing("card_status"))?,
            alive: w.alive.ok_or_else(|| missing("alive"))?,
        }))
    }
}

impl From<RegistryRecord> for RegistryWire {
    fn from(r: RegistryRecord) -> Self {
        match r {
            RegistryRecord::NotFound => RegistryWire {
                found: false,
                national_code: None,
                first_name: None,
                last_name: None,
                father_name: None,
                birth_date: None,
                card_serial: None,
                card_status: None,
                alive: None,
            },
            RegistryRecord::Found(p) => RegistryWire {
                found: true,
                national_code: p.national_code,
                first_name: Some(p.first_name),
                last_name: Some(p.last_name),
                father_name: p.father_name,
                birth_date: Some(p.birth_date),
                card_serial: p.card_serial,
                card_status: Some(p.card_status),
                alive: Some(p.alive),
            },
        }
    }
}
