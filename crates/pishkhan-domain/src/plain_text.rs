//! Which characters text input may hold.
//!
//! Control characters never belong in a name, an address or a comment: PostgreSQL refuses a
//! null byte outright (so the request would fail late, as a fault), SQLite stores it, and the
//! others hide or reorder text on screens and in logs. Every text from outside is held to
//! [`forbidden_in_text`]; text shown on one line (names, titles, codes) also to
//! [`forbidden_in_line`].

use crate::model::FieldError;

/// The stable code of a refusal for a forbidden character.
pub const CONTROL_CHARACTER: &str = "control_character";

/// C0 controls other than tab, line feed and carriage return (which multi-line text may
/// hold), DEL, and the C1 controls.
pub fn forbidden_in_text(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// What [`forbidden_in_text`] refuses, and line breaks, tabs and the bidirectional
/// embeddings, overrides and isolates, which can make a name read as another. The marks
/// Persian text needs (ZWNJ, LRM, RLM) stay allowed.
pub fn forbidden_in_line(c: char) -> bool {
    forbidden_in_text(c)
        || matches!(c, '\t' | '\n' | '\r' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The first character of `s` that [`forbidden_in_text`] refuses.
pub fn first_forbidden_in_text(s: &str) -> Option<char> {
    s.chars().find(|c| forbidden_in_text(*c))
}

/// Refuses one-line text (a name, a title) holding a character [`forbidden_in_line`] names.
pub fn check_line(field: &'static str, s: &str) -> Result<(), FieldError> {
    match s.chars().find(|c| forbidden_in_line(*c)) {
        None => Ok(()),
        Some(c) => Err(refusal(field, c)),
    }
}

/// The refusal of `c` in `field`, naming the code point (the character itself may not print).
pub fn refusal(field: &'static str, c: char) -> FieldError {
    FieldError::new(field, CONTROL_CHARACTER, message(c))
}

/// Why `c` was refused, for refusals that name no field.
pub fn message(c: char) -> String {
    format!(
        "text may not contain control characters (found U+{:04X})",
        u32::from(c)
    )
}
