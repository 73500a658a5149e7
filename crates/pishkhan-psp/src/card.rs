//! Card numbers as typed on the payment page.

use pishkhan_domain::digits::to_ascii_digits;

/// Longest input read as a card number; anything longer is refused before it is looked at.
const MAX_CARD_INPUT: usize = 64;

/// A 16-digit card number that passes the Luhn check. Only its mask is ever kept.
pub(crate) struct Card(String);

impl Card {
    /// Accepts Persian or ASCII digits, with spaces or dashes between groups.
    pub(crate) fn parse(input: &str) -> Result<Card, &'static str> {
        if input.len() > MAX_CARD_INPUT {
            return Err("A card number has 16 digits.");
        }
        let digits: String = to_ascii_digits(input)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("A card number has 16 digits.");
        }
        if !luhn(&digits) {
            return Err("This card number fails its check digit.");
        }
        Ok(Card(digits))
    }

    /// `603799******0006`: the issuer's six digits and the last four, as on a receipt.
    pub(crate) fn mask(&self) -> String {
        format!("{}******{}", &self.0[..6], &self.0[12..])
    }
}

/// The Luhn (mod 10) check over ASCII digits.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_cards_pass_and_typos_fail() {
        let card = Card::parse("6037 9900 0000 0006").ok().unwrap();
        assert_eq!(card.mask(), "603799******0006");
        assert!(Card::parse("۶۰۳۷-۹۹۰۰-۰۰۰۰-۰۰۰۶").is_ok());
        assert!(Card::parse("6037990000000007").is_err());
        assert!(Card::parse("603799000000006").is_err());
        assert!(Card::parse("60379900000000060").is_err());
        assert!(Card::parse("6037a90000000006").is_err());
    }
}
