//! Digit scripts. Iranian users type Persian digits (۰-۹), some keyboards and copied text
//! produce Arabic-Indic digits (٠-٩), and storage and checksums want ASCII. Every parser in this
//! crate folds digits to ASCII first, and the UI turns them back into Persian for display.

use crate::model::Lang;

/// The ASCII value of a Persian or Arabic-Indic digit, or `None` for any other character.
fn eastern_digit_value(c: char) -> Option<u32> {
    match c {
        '\u{06F0}'..='\u{06F9}' => Some(c as u32 - 0x06F0),
        '\u{0660}'..='\u{0669}' => Some(c as u32 - 0x0660),
        _ => None,
    }
}

/// One character with a Persian or Arabic-Indic digit turned into ASCII.
pub(crate) fn ascii_digit_char(c: char) -> char {
    eastern_digit_value(c)
        .and_then(|v| char::from_digit(v, 10))
        .unwrap_or(c)
}

/// Turns Persian (۰-۹) and Arabic-Indic (٠-٩) digits into ASCII `0-9`; everything else,
/// including ASCII digits, is kept as it is.
pub fn to_ascii_digits(s: &str) -> String {
    s.chars().map(ascii_digit_char).collect()
}

/// Turns ASCII `0-9` into Persian digits (۰-۹); everything else is kept as it is.
pub fn to_persian_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c.to_digit(10) {
            Some(v) if c.is_ascii_digit() => char::from_u32(0x06F0 + v).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// Digits as a reader of `lang` expects them: Persian for [`Lang::Fa`], unchanged for
/// [`Lang::En`].
pub fn localize_digits(s: &str, lang: Lang) -> String {
    match lang {
        Lang::Fa => to_persian_digits(s),
        Lang::En => s.to_string(),
    }
}

/// The common first step of identifier parsers: ASCII digits, with every character for which
/// `is_separator` holds removed. Surrounding whitespace goes too, as long as the separator set
/// includes whitespace.
pub(crate) fn ascii_without(s: &str, is_separator: impl Fn(char) -> bool) -> String {
    to_ascii_digits(s)
        .chars()
        .filter(|c| !is_separator(*c))
        .collect()
}
