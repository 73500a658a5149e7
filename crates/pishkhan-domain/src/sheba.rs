//! Sheba: the Iranian IBAN, `IR` followed by 24 digits, checked with ISO 13616 mod 97.

use std::fmt;
use std::str::FromStr;

use crate::digits::ascii_without;
use crate::model::FieldError;

/// A Sheba number in canonical form: `IR` and 24 ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sheba(String);

fn invalid(message: impl Into<String>) -> FieldError {
    FieldError::new("sheba", "invalid_sheba", message)
}

/// ISO 13616 remainder of an Iranian IBAN: the 22-digit BBAN, then `IR` as `18 27`, then the
/// two check digits, read as one decimal number mod 97. Folding one digit at a time keeps every
/// intermediate value below 970, so no big integers are needed.
fn iban_remainder(digits24: &[u8]) -> u32 {
    let (check, bban) = digits24.split_at(2);
    bban.iter()
        .chain(b"1827")
        .chain(check)
        .fold(0u32, |acc, d| (acc * 10 + u32::from(d - b'0')) % 97)
}

impl Sheba {
    /// Parses a Sheba number. The `IR` prefix is required (any case); spaces, dashes and Persian
    /// or Arabic-Indic digits are accepted.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let cleaned = ascii_without(s, |c| c == '-' || c.is_whitespace());
        if cleaned.is_empty() {
            return Err(invalid("a Sheba number is required"));
        }
        let digits = match cleaned.get(..2) {
            Some(p) if p.eq_ignore_ascii_case("IR") => &cleaned[2..],
            _ => return Err(invalid("a Sheba number starts with IR")),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("a Sheba number is IR followed by digits only"));
        }
        let b = digits.as_bytes();
        if b.len() != 24 {
            return Err(invalid(format!(
                "a Sheba number has IR and exactly 24 digits, not {}",
                b.len()
            )));
        }
        // ISO 13616 check digits are 02..=98; 00, 01 and 99 can pass mod 97 but are never issued.
        if matches!(&b[..2], b"00" | b"01" | b"99") {
            return Err(invalid("the check digits of a Sheba number are 02 to 98"));
        }
        if iban_remainder(b) != 1 {
            return Err(invalid("check digits do not match (mod 97)"));
        }
        Ok(Self(format!("IR{digits}")))
    }

    /// The Sheba number of a 22-digit account number (bank code, then account), with its
    /// check digits computed: for generated demo and test accounts.
    pub fn with_check_digits(bban: &str) -> Result<Self, FieldError> {
        if bban.len() != 22 || !bban.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("an account number here is exactly 22 digits"));
        }
        let mut digits = b"00".to_vec();
        digits.extend_from_slice(bban.as_bytes());
        let check = 98 - iban_remainder(&digits);
        Self::parse(&format!("IR{check:02}{bban}"))
    }

    /// The canonical `IR` + 24 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The three-digit bank identifier after the check digits, such as `054` (Parsian) in
    /// `IR820540102680020817909002`.
    pub fn bank_code(&self) -> &str {
        &self.0[4..7]
    }

    /// Groups of four for reading aloud and printing: `IR82 0540 1026 8002 0817 9090 02`.
    pub fn formatted(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 6);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for Sheba {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Sheba {
    type Err = FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl serde::Serialize for Sheba {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Sheba {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
