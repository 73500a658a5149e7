//! Money: whole rials in an `i64`, never floating point. People read amounts in tomans (ten
//! rials) as often as in rials, so both renderings exist; neither is ever parsed back.

use crate::digits::localize_digits;
use crate::model::{FieldError, Lang};

/// The largest amount any fee or payment may carry: ten thousand billion rials. Far above any
/// counter fee, and far enough below `i64::MAX` that a day's sums cannot overflow.
pub const MAX_RIALS: i64 = 10_000_000_000_000;

/// A non-negative amount of money in whole rials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Rials(i64);

impl Rials {
    pub const ZERO: Rials = Rials(0);

    /// An amount, refused when negative or above [`MAX_RIALS`].
    pub fn new(amount: i64) -> Result<Self, FieldError> {
        if amount < 0 {
            return Err(FieldError::new(
                "amount_rials",
                "negative_amount",
                "an amount cannot be negative",
            ));
        }
        if amount > MAX_RIALS {
            return Err(FieldError::new(
                "amount_rials",
                "amount_too_large",
                format!("an amount may not exceed {MAX_RIALS} rials"),
            ));
        }
        Ok(Self(amount))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// The sum, refused past [`MAX_RIALS`].
    pub fn checked_add(self, other: Rials) -> Result<Rials, FieldError> {
        Rials::new(self.0.saturating_add(other.0))
    }

    /// "۱۲۵٬۰۰۰ ریال" / "125,000 rials".
    pub fn format_rials(self, lang: Lang) -> String {
        match lang {
            Lang::Fa => format!("{} ریال", group(self.0, lang)),
            Lang::En => format!("{} rials", group(self.0, lang)),
        }
    }

    /// "۱۲٬۵۰۰ تومان" / "12,500 tomans"; a remainder below one toman is shown as a decimal.
    pub fn format_tomans(self, lang: Lang) -> String {
        let whole = group(self.0 / 10, lang);
        let amount = match self.0 % 10 {
            0 => whole,
            tenth => {
                let sep = if lang == Lang::Fa { "٫" } else { "." };
                format!("{whole}{sep}{}", localize_digits(&tenth.to_string(), lang))
            }
        };
        match lang {
            Lang::Fa => format!("{amount} تومان"),
            Lang::En => format!("{amount} tomans"),
        }
    }
}

/// Digits in threes with the language's separator (Arabic thousands separator in Persian).
fn group(n: i64, lang: Lang) -> String {
    let digits = n.to_string();
    let sep = if lang == Lang::Fa { '٬' } else { ',' };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    localize_digits(&out, lang)
}

impl std::fmt::Display for Rials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl serde::Serialize for Rials {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Rials {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        Rials::new(n).map_err(|e| serde::de::Error::custom(e.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_in_rials_and_tomans_in_both_languages() {
        let a = Rials::new(1_250_005).unwrap();
        assert_eq!(a.format_rials(Lang::En), "1,250,005 rials");
        assert_eq!(a.format_rials(Lang::Fa), "۱٬۲۵۰٬۰۰۵ ریال");
        assert_eq!(a.format_tomans(Lang::En), "125,000.5 tomans");
        assert_eq!(a.format_tomans(Lang::Fa), "۱۲۵٬۰۰۰٫۵ تومان");
        assert_eq!(Rials::ZERO.format_rials(Lang::En), "0 rials");
        assert_eq!(
            Rials::new(999).unwrap().format_tomans(Lang::En),
            "99.9 tomans"
        );
    }

    #[test]
    fn amounts_are_bounded() {
        assert_eq!(Rials::new(-1).unwrap_err().code, "negative_amount");
        assert_eq!(
            Rials::new(MAX_RIALS + 1).unwrap_err().code,
            "amount_too_large"
        );
        let max = Rials::new(MAX_RIALS).unwrap();
        assert_eq!(
            max.checked_add(Rials::new(1).unwrap()).unwrap_err().code,
            "amount_too_large"
        );
    }
}
