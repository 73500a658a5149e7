//! Persian text: search normalization is idempotent, leaves no case, Arabic letter forms,
//! Eastern digits or stray spaces, and its compact form is a homomorphism (so any substring of
//! a text is found in it); digit conversion round trips; a line that `check_line` accepts
//! holds no forbidden character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_domain::digits::{to_ascii_digits, to_persian_digits};
use pishkhan_domain::normalize::{contains_normalized, normalize_compact, normalize_for_search};
use pishkhan_domain::plain_text::{check_line, first_forbidden_in_text, forbidden_in_line};

fuzz_target!(|data: &[u8]| {
    let Some(s) = pishkhan_fuzz::text(data) else {
        return;
    };
    let n = normalize_for_search(s);
    assert_eq!(normalize_for_search(&n), n, "idempotent");
    assert_eq!(n.trim(), n, "trimmed");
    assert!(!n.contains("  "), "one space between words");
    assert!(
        !n.chars().any(|c| c.is_whitespace() && c != ' '),
        "only ASCII spaces"
    );
    assert!(!n.chars().any(|c| c.is_ascii_uppercase()), "lower case");
    assert!(!n.chars().any(|c| matches!(c, '\u{064A}' | '\u{0643}' | '\u{06F0}'..='\u{06F9}' | '\u{0660}'..='\u{0669}' | '\u{0640}' | '\u{200C}')));
    assert_eq!(normalize_compact(s), n.replace(' ', ""));

    // Split at a char boundary chosen by the input: compact(a + b) == compact(a) + compact(b),
    // so both halves are found in the whole.
    let cut = s
        .char_indices()
        .map(|(i, _)| i)
        .nth(s.len() % 7)
        .unwrap_or(s.len());
    let (a, b) = s.split_at(cut);
    assert_eq!(
        normalize_compact(s),
        normalize_compact(a) + &normalize_compact(b)
    );
    assert!(contains_normalized(s, a) && contains_normalized(s, b));

    assert_eq!(to_ascii_digits(&to_persian_digits(s)), to_ascii_digits(s));

    match check_line("name", s) {
        Ok(()) => assert!(!s.chars().any(forbidden_in_line)),
        Err(e) => assert!(s.chars().any(forbidden_in_line), "{e}"),
    }
    if let Some(c) = first_forbidden_in_text(s) {
        assert!(
            check_line("name", s).is_err(),
            "{c:?} is refused on a line too"
        );
    }
});
