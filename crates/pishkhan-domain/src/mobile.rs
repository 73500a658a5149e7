//! Iranian mobile numbers, kept in the national form `09XXXXXXXXX` that Iranians read and type.

use std::fmt;
use std::str::FromStr;

use crate::digits::ascii_without;
use crate::model::FieldError;

/// A mobile number in canonical form: `09` and nine more digits, with an operator prefix
/// `090`-`093` or `099`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mobile(String);

fn invalid(message: impl Into<String>) -> FieldError {
    FieldError::new("mobile", "invalid_mobile", message)
}

/// The third digit of `09X` for the ranges allocated to mobile operators: `090` and `093`
/// (Irancell), `091` (MCI), `092` (RighTel) and `099` (MCI and the virtual operators).
/// `094`-`098` are not mobile ranges, so a number there is a typo or a landline.
fn is_operator_digit(d: u8) -> bool {
    matches!(d, b'0'..=b'3' | b'9')
}

impl Mobile {
    /// Parses a mobile number written nationally (`09121234567`, `9121234567`) or
    /// internationally (`+989121234567`, `989121234567`, `00989121234567`, also with a `(0)`
    /// after the country code). Spaces, dashes, parentheses and Persian or Arabic-Indic digits
    /// are accepted.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let cleaned = ascii_without(s, |c| c.is_whitespace() || matches!(c, '-' | '(' | ')'));
        if cleaned.is_empty() {
            return Err(invalid("a mobile number is required"));
        }
        // The national significant number: what follows the country code or the trunk 0.
        let nsn = if let Some(rest) = cleaned.strip_prefix("+98") {
            rest.strip_prefix('0').unwrap_or(rest)
        } else if let Some(rest) = cleaned.strip_prefix("0098") {
            rest.strip_prefix('0').unwrap_or(rest)
        } else if cleaned.len() == 12 && cleaned.starts_with("98") {
            &cleaned[2..]
        } else if let Some(rest) = cleaned.strip_prefix('0') {
            rest
        } else {
            cleaned.as_str()
        };
        if !nsn.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "a mobile number contains only digits and + 98 at the start",
            ));
        }
        let b = nsn.as_bytes();
        if b.len() != 10 || b[0] != b'9' {
            return Err(invalid(
                "a mobile number has 11 digits starting with 09, such as 09121234567",
            ));
        }
        if !is_operator_digit(b[1]) {
            return Err(invalid(format!(
                "09{} is not an Iranian mobile operator prefix",
                char::from(b[1])
            )));
        }
        Ok(Self(format!("0{nsn}")))
    }

    /// Builds a number from a three-digit operator prefix such as `912` and a seven-digit
    /// subscriber number (`0..=9_999_999`, zero-padded). Data generators use this.
    ///
    /// The prefix is a `u16` because `912` does not fit in a `u8`.
    pub fn from_parts(prefix: u16, subscriber: u32) -> Result<Self, FieldError> {
        if !(900..=999).contains(&prefix) {
            return Err(invalid(
                "an operator prefix is three digits starting with 9",
            ));
        }
        if subscriber > 9_999_999 {
            return Err(invalid("a subscriber number has at most 7 digits"));
        }
        Self::parse(&format!("0{prefix}{subscriber:07}"))
    }

    /// The canonical `09XXXXXXXXX` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The international E.164 form, `+989121234567`, for SMS gateways.
    pub fn e164(&self) -> String {
        format!("+98{}", &self.0[1..])
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Mobile {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Mobile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Mobile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
