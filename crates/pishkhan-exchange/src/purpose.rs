//! The purpose of an inquiry: why an office asks an agency about a citizen.
//!
//! Every inquiry carries a [`Purpose`]: the legal basis, the catalogue service being performed
//! (such as `SR001`), the office's case id and the operator. It is mandatory, checked by the
//! exchange before sending, bound into the request signature, checked again by the agency, and
//! written to the message log, so that each disclosure of personal data has a recorded reason.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pishkhan_domain::model::ServiceCode;
use serde::{Deserialize, Serialize};

/// Longest legal basis, in characters (for example `قانون ثبت احوال، ماده ۱۰`).
pub const MAX_LEGAL_BASIS_CHARS: usize = 200;
/// Shortest legal basis, in characters.
pub const MIN_LEGAL_BASIS_CHARS: usize = 3;
/// Longest case id, in characters.
pub const MAX_CASE_ID_CHARS: usize = 64;
/// Longest operator (staff username), in characters.
pub const MAX_OPERATOR_CHARS: usize = 64;
/// Largest `Pishkhan-Purpose` header value accepted, in bytes.
pub const MAX_PURPOSE_HEADER_BYTES: usize = 2048;

/// Why a purpose was refused. [`PurposeError::code`] is stable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurposeError {
    /// No purpose at all (every field empty, or no header).
    #[error(
        "the inquiry has no purpose; a legal basis, service code, case id and operator are required"
    )]
    Missing,
    /// A field is missing or malformed.
    #[error("purpose field {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
}

impl PurposeError {
    /// `missing_purpose` or `invalid_purpose`.
    pub fn code(&self) -> &'static str {
        match self {
            PurposeError::Missing => "missing_purpose",
            PurposeError::Invalid { .. } => "invalid_purpose",
        }
    }
}

/// Unvalidated purpose fields, as they come from a form, the API or a header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeInput {
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub service_code: String,
    #[serde(default)]
    pub case_id: String,
    #[serde(default)]
    pub operator: String,
}

/// A validated purpose: all four fields present, trimmed, bounded, and free of control and
/// bidirectional-override characters (which could disguise a log line). The service code is
/// in its canonical form ([`ServiceCode::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PurposeInput")]
pub struct Purpose {
    legal_basis: String,
    service_code: String,
    case_id: String,
    operator: String,
}

impl TryFrom<PurposeInput> for Purpose {
    type Error = PurposeError;

    fn try_from(input: PurposeInput) -> Result<Self, PurposeError> {
        Purpose::parse(&input)
    }
}

impl Purpose {
    /// Validates purpose fields. All empty → `missing_purpose`; otherwise each field must be
    /// valid or the result is `invalid_purpose` naming the field.
    pub fn parse(input: &PurposeInput) -> Result<Purpose, PurposeError> {
        let legal_basis = input.legal_basis.trim();
        let service_code = input.service_code.trim();
        let case_id = input.case_id.trim();
        let operator = input.operator.trim();
        if [legal_basis, service_code, case_id, operator]
            .iter()
            .all(|f| f.is_empty())
        {
            return Err(PurposeError::Missing);
        }
        text_field(
            "legal_basis",
            legal_basis,
            MIN_LEGAL_BASIS_CHARS,
            MAX_LEGAL_BASIS_CHARS,
        )?;
        if service_code.is_empty() {
            return Err(invalid("service_code", "is required"));
        }
        let service_code = ServiceCode::parse(service_code)
            .map_err(|_| invalid("service_code", "is not a catalogue service code"))?;
        text_field("case_id", case_id, 1, MAX_CASE_ID_CHARS)?;
        text_field("operator", operator, 1, MAX_OPERATOR_CHARS)?;
        Ok(Purpose {
            legal_basis: legal_basis.to_owned(),
            service_code: service_code.as_str().to_owned(),
            case_id: case_id.to_owned(),
            operator: operator.to_owned(),
        })
    }

    /// Convenience for [`Purpose::parse`] from string slices.
    pub fn new(
        legal_basis: &str,
        service_code: &str,
        case_id: &str,
        operator: &str,
    ) -> Result<Purpose, PurposeError> {
        Purpose::parse(&PurposeInput {
            legal_basis: legal_basis.to_owned(),
            service_code: service_code.to_owned(),
            case_id: case_id.to_owned(),
            operator: operator.to_owned(),
        })
    }

    pub fn legal_basis(&self) -> &str {
        &self.legal_basis
    }

    /// The catalogue service code, canonical (upper case, ASCII digits).
    pub fn service_code(&self) -> &str {
        &self.service_code
    }

    pub fn case_id(&self) -> &str {
        &self.case_id
    }

    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// The `Pishkhan-Purpose` header value: base64url (no padding) of the compact JSON
    /// `{"legal_basis","service_code","case_id","operator"}` in that member order.
    pub fn to_header_value(&self) -> String {
        let json = serde_json::to_vec(self).expect("a purpose always serializes");
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Parses a `Pishkhan-Purpose` header value. Unknown members are refused.
    pub fn from_header_value(value: &str) -> Result<Purpose, PurposeError> {
        if value.is_empty() {
            return Err(PurposeError::Missing);
        }
        if value.len() > MAX_PURPOSE_HEADER_BYTES {
            return Err(invalid("header", "is too long"));
        }
        let json = URL_SAFE_NO_PAD
            .decode(value)
            .map_err(|_| invalid("header", "is not base64url without padding"))?;
        let input: PurposeInput = serde_json::from_slice(&json)
            .map_err(|_| invalid("header", "is not a JSON purpose object"))?;
        Purpose::parse(&input)
    }
}

fn invalid(field: &'static str, reason: &'static str) -> PurposeError {
    PurposeError::Invalid { field, reason }
}

/// Bidirectional embedding, override and isolate controls (Unicode category Cf): they can make
/// a log line read differently from what it stores. ZWNJ (U+200C), which Persian needs, is
/// allowed.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

fn text_field(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), PurposeError> {
    if value.is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Err(invalid(field, "contains a control character"));
    }
    let chars = value.chars().count();
    if chars < min {
        return Err(invalid(field, "is too short"));
    }
    if chars > max {
        return Err(invalid(field, "is too long"));
    }
    Ok(())
}
