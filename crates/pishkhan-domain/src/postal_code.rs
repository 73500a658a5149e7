//! Iranian ten-digit postal codes.
//!
//! The rule is the one Iranian validators use (the persian-tools regex
//! `^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$`), written out by position so that each failure
//! gets its own message and no regex engine is needed.

use std::fmt;
use std::str::FromStr;

use crate::digits::ascii_without;
use crate::model::FieldError;

/// A postal code, stored as its ten ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostalCode(String);

fn invalid(message: impl Into<String>) -> FieldError {
    FieldError::new("postal_code", "invalid_postal_code", message)
}

impl PostalCode {
    /// Parses a postal code. Persian or Arabic-Indic digits, surrounding whitespace and `-` or
    /// space separators (`13457-65345`) are accepted.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let code = ascii_without(s, |c| c == '-' || c.is_whitespace());
        if code.is_empty() {
            return Err(invalid("a postal code is required"));
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("a postal code contains only digits"));
        }
        let b = code.as_bytes();
        if b.len() != 10 {
            return Err(invalid(format!(
                "a postal code has exactly 10 digits, not {}",
                b.len()
            )));
        }
        if b.contains(&b'2') {
            return Err(invalid("postal codes never contain the digit 2"));
        }
        if b[..5].contains(&b'0') {
            return Err(invalid(
                "the first five digits of a postal code cannot be 0",
            ));
        }
        if b[4] == b'5' {
            return Err(invalid("the fifth digit of a postal code cannot be 5"));
        }
        if b[..4].iter().all(|d| *d == b[0]) {
            return Err(invalid(
                "the first four digits of a postal code cannot all be the same",
            ));
        }
        Ok(Self(code))
    }

    /// The ten ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form printed on envelopes: `XXXXX-XXXXX`.
    pub fn formatted(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }
}

impl fmt::Display for PostalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PostalCode {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for PostalCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for PostalCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
