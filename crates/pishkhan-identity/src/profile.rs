//! The versioned normalization profile: which spellings of a name, and which ways of writing a
//! card serial, count as equal.
//!
//! A profile is configuration. The built-in profiles are the JSON files under `profiles/` in
//! this crate, compiled in; another profile is loaded with [`Profile::from_json`]. Every
//! [`Evaluation`](crate::Evaluation) records the version of the profile it was made under, so a
//! reviewer can tell, years later, under which rules a name was accepted. That only works if a
//! version string always means the same rules, hence:
//!
//! - every option must be present in the JSON: a missing option is an error rather than a
//!   silent default, because a default that changes between releases would change what an old
//!   version string means;
//! - an unknown option is an error (`deny_unknown_fields`), so a misspelt option cannot be
//!   silently ignored;
//! - a profile that reuses the version of a built-in profile must have exactly its options.
//!
//! # Options
//!
//! Name options apply to first, last and father names. The card-serial options, together with
//! `strip_format_marks`, `fold_digits` and `trim_and_collapse_whitespace`, apply to the card
//! serial. Birth dates and the national code are not text: they are compared by value in every
//! profile (see [`Profile::compare_birth_date`] and the crate documentation).
//!
//! | option | `fa-name-1` | `exact-1` | what it does, and why |
//! |---|---|---|---|
//! | `trim_and_collapse_whitespace` | on | on | Removes surrounding whitespace and turns every run of whitespace (including no-break space) into one space. Stray spaces are invisible on a form and never distinguish two names. |
//! | `strip_format_marks` | on | off | Removes invisible format characters: zero-width space U+200B, zero-width joiner U+200D, the bidi marks U+200E, U+200F, U+061C, the bidi embeddings and isolates U+202A–U+202E and U+2066–U+2069, soft hyphen U+00AD and the byte-order mark U+FEFF. They arrive by copy and paste, cannot be seen by the operator and are never part of a name. The zero-width non-joiner is *not* among them: it is part of Persian spelling and is governed by `join_name_parts`. |
//! | `compose_arabic_marks` | on | off | Canonical composition of hamza and madda: `ا`+U+0653 → `آ`, `ا`+U+0654 → `أ`, `ا`+U+0655 → `إ`, `و`+U+0654 → `ؤ`, `ي`+U+0654 → `ئ`, `ە`+U+0654 → `ۀ`, `ہ`+U+0654 → `ۂ`, `ے`+U+0654 → `ۓ`. Unicode says the two encodings are the same text; some keyboards and systems produce the decomposed one. It runs first, so that `strip_diacritics` does not strip the madda off a decomposed `آ` while leaving a precomposed one alone. |
//! | `strip_diacritics` | on | off | Removes Arabic harakat and similar marks: U+064B–U+065F (fathatan to wavy hamza below, including shadda and sukun), superscript alef U+0670, the honorific signs U+0610–U+061A and the Quranic annotation marks U+06D6–U+06DC, U+06DF–U+06E8, U+06EA–U+06ED. Persian writes them only occasionally and the registry does not; `مُحَمَّد` is `محمد`. |
//! | `strip_tatweel` | on | off | Removes the kashida U+0640 (`محـــمد`), which only stretches a word for justification. |
//! | `fold_arabic_yeh_kaf` | on | off | Arabic yeh U+064A and alef maksura U+0649 become Persian yeh U+06CC; Arabic kaf U+0643 becomes keheh U+06A9. Arabic keyboard layouts and older systems produce them; in Persian they are never a different letter. |
//! | `fold_alef_variants` | off | off | `أ` `إ` `آ` `ٱ` → `ا`. Off because in Persian names `آ` is a different letter from `ا` (`آرش`, `آزاده`), and a hamza seat the registry writes is part of its spelling; an operator who drops one has typed a different spelling, which should go back to the operator rather than be accepted silently. Available for a later profile version if registry data shows otherwise. |
//! | `fold_heh` | off | off | `ة` (teh marbuta), `ۀ` (heh with yeh above) and `ە` → `ه`. Off because the registry spells Persian names with `ه` and neither letter is produced by a Persian keyboard by accident; `فاطمة` against `فاطمه` is a different spelling, not a keyboard artefact. |
//! | `fold_digits` | on | off | Persian `۰-۹` and Arabic-Indic `٠-٩` digits become ASCII. Which digits a keyboard produces says nothing about the value. |
//! | `join_name_parts` | on | off | Removes spaces and the zero-width non-joiner U+200C inside a name, so `محمدعلی`, `محمد علی` and `محمد‌علی` are equal. Persian writes compound names all three ways, and the registry is not consistent either. |
//! | `card_serial_uppercase` | on | off | Uppercases the card serial: its letters are Latin and case carries no information. |
//! | `card_serial_ignore` | `" "`, `"-"` | none | Characters removed from a card serial. People group the serial with spaces or dashes as printed or as they read it aloud. |

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::evaluation::AttributeResult;

const STANDARD_JSON: &str = include_str!("../profiles/fa-name-1.json");
const STRICT_JSON: &str = include_str!("../profiles/exact-1.json");

/// The options of a normalization profile; see the [module documentation](self) for each
/// option and why it exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Recorded with every evaluation. Must be non-empty, and a version belongs to one set of
    /// options forever.
    pub version: String,
    pub trim_and_collapse_whitespace: bool,
    pub strip_format_marks: bool,
    pub compose_arabic_marks: bool,
    pub strip_diacritics: bool,
    pub strip_tatweel: bool,
    pub fold_arabic_yeh_kaf: bool,
    pub fold_alef_variants: bool,
    pub fold_heh: bool,
    pub fold_digits: bool,
    pub join_name_parts: bool,
    pub card_serial_uppercase: bool,
    pub card_serial_ignore: Vec<char>,
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// Not JSON, a missing or unknown option, or a value of the wrong type.
    #[error("invalid normalization profile: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a normalization profile needs a non-empty version")]
    EmptyVersion,
    /// The profile reuses the version string of a built-in profile but has other options.
    #[error("profile version {version:?} is a built-in profile but the options differ from it")]
    VersionConflict { version: String },
}

fn builtin(cell: &'static OnceLock<Profile>, json: &str) -> Profile {
    cell.get_or_init(|| {
        serde_json::from_str(json).expect("the built-in profiles are valid JSON (tested)")
    })
    .clone()
}

impl Profile {
    /// `fa-name-1`, the profile for counter use: Persian keyboard artefacts, diacritics,
    /// tatweel, digit scripts, whitespace and the spacing of compound names do not matter.
    pub fn standard() -> Self {
        static CELL: OnceLock<Profile> = OnceLock::new();
        builtin(&CELL, STANDARD_JSON)
    }

    /// `exact-1`: only surrounding whitespace is trimmed and runs of whitespace collapsed.
    /// For audits and comparisons; at a counter it would reject people for how a keyboard
    /// encodes `ی`.
    pub fn strict() -> Self {
        static CELL: OnceLock<Profile> = OnceLock::new();
        builtin(&CELL, STRICT_JSON)
    }

    /// The built-in profiles, standard first.
    pub fn builtins() -> [Self; 2] {
        [Self::standard(), Self::strict()]
    }

    /// Loads and [validates](Self::validate) a profile. Every option must be present and no
    /// other key may be.
    pub fn from_json(json: &str) -> Result<Self, ProfileError> {
        let profile: Self = serde_json::from_str(json)?;
        profile.validate()?;
        Ok(profile)
    }

    /// The profile as pretty-printed JSON, which [`Profile::from_json`] reads back.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a profile always serializes")
    }

    /// Checks that the version is non-empty and, if it is a built-in version, that the options
    /// are that built-in's.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if self.version.trim().is_empty() {
            return Err(ProfileError::EmptyVersion);
        }
        for builtin in Self::builtins() {
            if builtin.version == self.version && builtin != *self {
                return Err(ProfileError::VersionConflict {
                    version: self.version.clone(),
                });
            }
        }
        Ok(())
    }

    /// A name (first, last or father name) as this profile compares it.
    pub fn normalize_name(&self, s: &str) -> String {
        let composed;
        let s = if self.compose_arabic_marks {
            composed = compose_arabic_marks(s);
            composed.as_str()
        } else {
            s
        };
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if self.strip_format_marks && is_format_mark(c) {
                continue;
            }
            if self.strip_tatweel && c == TATWEEL {
                continue;
            }
            if self.strip_diacritics && is_diacritic(c) {
                continue;
            }
            if self.join_name_parts && (c == ZWNJ || c.is_whitespace()) {
                continue;
            }
            out.push(self.fold_letter(c));
        }
        self.whitespace(out)
    }

    /// A card serial as this profile compares it.
    pub fn normalize_card_serial(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            if self.strip_format_marks && is_format_mark(c) {
                continue;
            }
            let c = if self.fold_digits { ascii_digit(c) } else { c };
            if self.card_serial_ignore.contains(&c) {
                continue;
            }
            if self.card_serial_uppercase {
                out.extend(c.to_uppercase());
            } else {
                out.push(c);
            }
        }
        self.whitespace(out)
    }

    /// Compares a presented name with the registry's. A presented name that is blank (only
    /// whitespace and invisible characters) is [`Outcome::NotGiven`](crate::Outcome::NotGiven); an empty registry name
    /// matches no presented name.
    pub fn compare_name(&self, presented: &str, registered: &str) -> AttributeResult {
        compare_text(presented, registered, |s| self.normalize_name(s))
    }

    /// Compares a presented card serial with the registry's, as [`Profile::compare_name`]
    /// does for names.
    pub fn compare_card_serial(&self, presented: &str, registered: &str) -> AttributeResult {
        compare_text(presented, registered, |s| self.normalize_card_serial(s))
    }

    /// Compares a presented Jalali birth date with the registry's.
    ///
    /// A date is a value, not a spelling, so this is the same in every profile: `exact` is
    /// whether the text is the registry's `YYYY-MM-DD` text, and the date matches when the
    /// presented text parses (digits in any script, `-` or `/` separators, with or without
    /// zero padding, a four-digit year) to the same day. `۱۳۷۰/۱/۵`, `1370/01/05` and
    /// `١٣٧٠-٠١-٠٥` all match `1370-01-05`. Text that is not a valid date matches nothing.
    pub fn compare_birth_date(
        &self,
        presented: &str,
        registered: pishkhan_domain::JalaliDate,
    ) -> AttributeResult {
        let _ = self;
        if is_blank(presented) {
            return AttributeResult::not_given();
        }
        let exact = presented == registered.to_string();
        let cleaned: String = presented.chars().filter(|c| !is_format_mark(*c)).collect();
        let normalized =
            pishkhan_domain::JalaliDate::parse(&cleaned).is_ok_and(|d| d == registered);
        AttributeResult::compared(exact, normalized)
    }

    fn fold_letter(&self, c: char) -> char {
        match c {
            '\u{064A}' | '\u{0649}' if self.fold_arabic_yeh_kaf => '\u{06CC}',
            '\u{0643}' if self.fold_arabic_yeh_kaf => '\u{06A9}',
            '\u{0623}' | '\u{0625}' | '\u{0622}' | '\u{0671}' if self.fold_alef_variants => {
                '\u{0627}'
            }
            '\u{0629}' | '\u{06C0}' | '\u{06D5}' if self.fold_heh => '\u{0647}',
            c if self.fold_digits => ascii_digit(c),
            c => c,
        }
    }

    fn whitespace(&self, s: String) -> String {
        if self.trim_and_collapse_whitespace {
            s.split_whitespace().collect::<Vec<_>>().join(" ")
        } else {
            s
        }
    }
}

fn compare_text(
    presented: &str,
    registered: &str,
    normalize: impl Fn(&str) -> String,
) -> AttributeResult {
    if is_blank(presented) {
        return AttributeResult::not_given();
    }
    let exact = presented == registered;
    // Text that normalizes to nothing (a lone dash, a lone tatweel) matches nothing, not even
    // a registry value that also normalizes to nothing.
    let ours = normalize(presented);
    let normalized = exact || (!ours.is_empty() && ours == normalize(registered));
    AttributeResult::compared(exact, normalized)
}

const TATWEEL: char = '\u{0640}';
const ZWNJ: char = '\u{200C}';

/// Whether `s` holds nothing a person would call a value: only whitespace, the zero-width
/// non-joiner and invisible format marks. The same in every profile, so that what counts as
/// "not given" does not depend on the profile.
pub(crate) fn is_blank(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_whitespace() || c == ZWNJ || is_format_mark(c))
}

fn is_format_mark(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{200D}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn is_diacritic(c: char) -> bool {
    matches!(
        c,
        '\u{0610}'..='\u{061A}'
            | '\u{064B}'..='\u{065F}'
            | '\u{0670}'
            | '\u{06D6}'..='\u{06DC}'
            | '\u{06DF}'..='\u{06E8}'
            | '\u{06EA}'..='\u{06ED}'
    )
}

fn ascii_digit(c: char) -> char {
    // The domain crate folds whole strings; one character is all this needs.
    let mut buf = [0u8; 4];
    pishkhan_domain::digits::to_ascii_digits(c.encode_utf8(&mut buf))
        .chars()
        .next()
        .unwrap_or(c)
}

/// The canonical (NFC) composition of a base letter and a following hamza or madda, for the
/// letters Persian and Arabic use. Other combining marks are not reordered; that only matters
/// when diacritics are kept, and then a stricter comparison is what was asked for.
fn compose_arabic_marks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let composed = chars.peek().and_then(|&mark| match (c, mark) {
            ('\u{0627}', '\u{0653}') => Some('\u{0622}'),
            ('\u{0627}', '\u{0654}') => Some('\u{0623}'),
            ('\u{0627}', '\u{0655}') => Some('\u{0625}'),
            ('\u{0648}', '\u{0654}') => Some('\u{0624}'),
            ('\u{064A}', '\u{0654}') => Some('\u{0626}'),
            ('\u{06D5}', '\u{0654}') => Some('\u{06C0}'),
            ('\u{06C1}', '\u{0654}') => Some('\u{06C2}'),
            ('\u{06D2}', '\u{0654}') => Some('\u{06D3}'),
            _ => None,
        });
        match composed {
            Some(k) => {
                chars.next();
                out.push(k);
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_load_and_validate() {
        for p in Profile::builtins() {
            p.validate().unwrap();
        }
        assert_eq!(Profile::standard().version, "fa-name-1");
        assert_eq!(Profile::strict().version, "exact-1");
    }

    #[test]
    fn composition_of_decomposed_letters() {
        assert_eq!(compose_arabic_marks("\u{0627}\u{0653}رش"), "آرش");
        assert_eq!(compose_arabic_marks("\u{0627}\u{0654}"), "\u{0623}");
        assert_eq!(compose_arabic_marks("\u{0627}\u{0655}"), "\u{0625}");
        assert_eq!(compose_arabic_marks("\u{0648}\u{0654}"), "\u{0624}");
        assert_eq!(compose_arabic_marks("\u{064A}\u{0654}"), "\u{0626}");
        assert_eq!(compose_arabic_marks("\u{06D5}\u{0654}"), "\u{06C0}");
        assert_eq!(compose_arabic_marks("\u{06C1}\u{0654}"), "\u{06C2}");
        assert_eq!(compose_arabic_marks("\u{06D2}\u{0654}"), "\u{06D3}");
        // Persian yeh with hamza above has no precomposed form and stays as it is.
        assert_eq!(compose_arabic_marks("\u{06CC}\u{0654}"), "\u{06CC}\u{0654}");
        assert_eq!(compose_arabic_marks("\u{0627}"), "\u{0627}");
        assert_eq!(compose_arabic_marks("\u{0653}"), "\u{0653}");
    }
}
