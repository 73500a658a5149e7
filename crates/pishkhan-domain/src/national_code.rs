//! The Iranian national code (kod-e melli): ten digits, the last a mod-11 check digit.

use std::fmt;
use std::str::FromStr;

use crate::digits::ascii_without;
use crate::model::FieldError;

/// A national code that passed the check-digit rule, stored as its ten ASCII digits.
///
/// Not a secret, so `Debug` shows it; it is personal data all the same, so log it with care.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NationalCode(String);

fn invalid(message: impl Into<String>) -> FieldError {
    FieldError::new("national_code", "invalid_national_code", message)
}

/// The check digit for the first nine digits: weights 10 down to 2, sum mod 11, and a remainder
/// below 2 is the check digit itself while any other `r` gives `11 - r`.
fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .zip((2..=10u32).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let r = (sum % 11) as u8;
    if r < 2 { r } else { 11 - r }
}

/// Codes of one repeated digit pass the checksum but are never issued; forms reject them
/// because they are what people type to get past a required field.
fn is_repeated(digits: &[u8]) -> bool {
    digits.windows(2).all(|w| w[0] == w[1])
}

impl NationalCode {
    /// Parses a national code. Persian or Arabic-Indic digits, surrounding whitespace and `-`
    /// or space separators are accepted; the result must be ten digits with a valid check digit.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let code = ascii_without(s, |c| c == '-' || c.is_whitespace());
        if code.is_empty() {
            return Err(invalid("a national code is required"));
        }
        if !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("a national code contains only digits"));
        }
        let bytes = code.as_bytes();
        if bytes.len() != 10 {
            return Err(invalid(format!(
                "a national code has exactly 10 digits, not {}",
                bytes.len()
            )));
        }
        if is_repeated(bytes) {
            return Err(invalid(
                "a national code cannot be one digit repeated ten times",
            ));
        }
        if check_digit(&bytes[..9]) != bytes[9] - b'0' {
            return Err(invalid("checksum digit does not match"));
        }
        Ok(Self(code))
    }

    /// Completes a nine-digit body (`0..=999_999_999`, zero-padded on the left) with its check
    /// digit. Data generators use this to make valid codes; it fails for bodies above nine
    /// digits and for the bodies whose code would be one repeated digit.
    pub fn from_body(nine: u32) -> Result<Self, FieldError> {
        if nine > 999_999_999 {
            return Err(invalid("a national code body has at most 9 digits"));
        }
        let mut code = format!("{nine:09}");
        let check = check_digit(code.as_bytes());
        code.push(char::from(b'0' + check));
        if is_repeated(code.as_bytes()) {
            return Err(invalid(
                "a national code cannot be one digit repeated ten times",
            ));
        }
        Ok(Self(code))
    }

    /// The ten ASCII digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NationalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NationalCode {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for NationalCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for NationalCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
