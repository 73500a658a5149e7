//! Signal codes and messages.

use pishkhan_identity::{Signal, SignalCode};

#[test]
fn codes_are_stable() {
    let codes: Vec<&str> = SignalCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        codes,
        [
            "invalid_national_code",
            "person_not_found",
            "person_deceased",
            "card_reported_lost",
            "card_revoked",
            "card_serial_mismatch",
            "mobile_not_owned"
        ]
    );
    for code in SignalCode::ALL {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        assert_eq!(code.to_string(), code.as_str());
        let back: SignalCode = serde_json::from_value(code.as_str().into()).unwrap();
        assert_eq!(back, code);
    }
}

#[test]
fn persian_messages_are_persian_script_sentences() {
    for code in SignalCode::ALL {
        let fa = code.message_fa();
        assert!(
            !fa.chars().any(|c| c.is_ascii_alphabetic()),
            "Latin in {code}: {fa}"
        );
        assert!(
            !fa.chars().any(|c| c.is_numeric()),
            "digits in {code}: {fa}"
        );
        assert!(
            fa.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)),
            "{code}: {fa}"
        );
        // No Arabic yeh or kaf: the messages themselves follow Persian orthography.
        assert!(!fa.contains(['\u{064A}', '\u{0643}']), "{code}: {fa}");
        assert!(fa.ends_with('.'), "{code}: {fa}");
    }
}

#[test]
fn english_messages_are_sentences() {
    for code in SignalCode::ALL {
        let en = code.message_en();
        assert!(en.is_ascii(), "{code}: {en}");
        assert!(
            en.chars().next().unwrap().is_ascii_uppercase(),
            "{code}: {en}"
        );
        assert!(en.ends_with('.'), "{code}: {en}");
    }
}

#[test]
fn messages_are_distinct() {
    for a in SignalCode::ALL {
        for b in SignalCode::ALL {
            if a != b {
                assert_ne!(a.message_fa(), b.message_fa());
                assert_ne!(a.message_en(), b.message_en());
            }
        }
    }
}

#[test]
fn a_signal_carries_its_code_and_messages() {
    let s = Signal::new(SignalCode::CardRevoked);
    assert_eq!(s.code, SignalCode::CardRevoked);
    assert_eq!(s.message_fa, SignalCode::CardRevoked.message_fa());
    assert_eq!(s.message_en, SignalCode::CardRevoked.message_en());
    assert_eq!(Signal::from(SignalCode::CardRevoked), s);
}

#[test]
fn only_the_mobile_signal_does_not_reject() {
    for code in SignalCode::ALL {
        assert_eq!(code.rejects(), code != SignalCode::MobileNotOwned, "{code}");
    }
}
