//! Text normalization for search.
//!
//! Persian text reaches us in several encodings of "the same" word: Arabic yeh and kaf from
//! Arabic keyboard layouts, optional diacritics, tatweel used for justification, and compound
//! words written joined, with a zero-width non-joiner (ZWNJ) or with a space. Search compares
//! the normalized forms so that a user finds what they mean however it was typed.
//!
//! Choices, and why:
//! - Arabic yeh `ي` (U+064A) and alef maksura `ى` (U+0649) become Persian yeh `ی` (U+06CC), and
//!   Arabic kaf `ك` (U+0643) becomes Persian kaf `ک` (U+06A9): the Arabic forms are keyboard
//!   artefacts, never a different word in Persian.
//! - Teh marbuta `ة` becomes `ه`, as Persian writes Arabic loanwords either way.
//! - Letters carrying hamza or madda fold to their base letter: `أ إ ٱ آ` → `ا`, `ؤ` → `و`,
//!   `ئ` → `ی`, `ۀ` → `ه`. Diacritics are removed (below), and the combining hamza and madda
//!   are among them, so a decomposed `ا` + U+0653 already becomes `ا`; the precomposed letters
//!   must fold the same way or the two encodings of one word would not match. Folding `آ` costs
//!   a little precision (`آب` matches `اب`) for recall, which is the right trade for search.
//! - Diacritics (U+064B..=U+065F, U+0670) and tatweel (U+0640) are removed.
//! - ZWNJ, ZWJ, zero-width space, no-break space and every whitespace run become one ASCII
//!   space, then the result is trimmed. Bidi marks (LRM, RLM, ALM) and the byte-order mark are
//!   removed: they are invisible and come from copy and paste.
//! - ASCII letters are lowercased; other scripts have no case that matters here.
//! - Persian and Arabic-Indic digits become ASCII.

/// What one input character contributes to the normalized text.
enum Fold {
    Keep(char),
    Drop,
    Space,
}

fn fold(c: char) -> Fold {
    match c {
        '\u{064A}' | '\u{0649}' | '\u{0626}' => Fold::Keep('\u{06CC}'),
        '\u{0643}' => Fold::Keep('\u{06A9}'),
        '\u{0629}' | '\u{06C0}' => Fold::Keep('\u{0647}'),
        '\u{0623}' | '\u{0625}' | '\u{0671}' | '\u{0622}' => Fold::Keep('\u{0627}'),
        '\u{0624}' => Fold::Keep('\u{0648}'),
        '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}' => Fold::Drop,
        '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{FEFF}' => Fold::Drop,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{00A0}' => Fold::Space,
        c if c.is_whitespace() => Fold::Space,
        c => Fold::Keep(crate::digits::ascii_digit_char(c).to_ascii_lowercase()),
    }
}

/// The form of `s` that search compares; see the module documentation for what is folded.
///
/// `normalize_for_search("علي") == normalize_for_search("علی")`, and `"می‌خواهم"` (with ZWNJ)
/// normalizes to the same text as `"می خواهم"`.
pub fn normalize_for_search(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        match fold(c) {
            Fold::Keep(k) => {
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(k);
            }
            Fold::Drop => {}
            Fold::Space => pending_space = true,
        }
    }
    out
}

/// [`normalize_for_search`] with every space removed, so that a compound written joined, with
/// ZWNJ or with a space compares equal: `"محمدعلی"`, `"محمد‌علی"` and `"محمد علی"`.
pub fn normalize_compact(s: &str) -> String {
    normalize_for_search(s).replace(' ', "")
}

/// Whether `needle` occurs in `haystack` after both are normalized.
///
/// Compares the compact forms: Persian spacing of compounds is too inconsistent for word
/// boundaries to be trusted, and a match of the spaced forms is always also a match of the
/// compact forms. An empty needle matches everything, as with [`str::contains`].
pub fn contains_normalized(haystack: &str, needle: &str) -> bool {
    normalize_compact(haystack).contains(&normalize_compact(needle))
}
