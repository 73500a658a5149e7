//! The signed directory (pishkhan-exchange): the input is the JSON payload, which is signed
//! here as a configuration by the regulator's key so that the fuzzer reaches the parsing and
//! validation behind the signature. A directory that verifies keeps its limits, signs again
//! (`Directory::sign` validates the same rules) and verifies again to the same content, and
//! each listed key is in its keyring bound to its member.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pishkhan_exchange::Directory;
use pishkhan_exchange::directory::{MAX_DIRECTORY_ITEMS, MAX_KEYS_PER_MEMBER};
use pishkhan_sign::{CONFIG_TYP, ConfigEnvelope, KeyStatus, Keyring, jws};

/// Inside the seeds' validity (issued 1_780_000_000, expiring 1_790_000_000).
const NOW: i64 = 1_785_000_000;

fuzz_target!(|data: &[u8]| {
    let regulator = pishkhan_fuzz::key();
    let mut anchor = Keyring::new();
    anchor
        .add(regulator.public(), KeyStatus::Active, None)
        .expect("one key");
    let token = jws::sign(regulator, Some(CONFIG_TYP), data);
    let Ok(dir) = Directory::verify(&token, &anchor, None, NOW) else {
        return;
    };

    let config = dir.config();
    assert!(dir.issued_at() < dir.expires_at() && NOW < dir.expires_at());
    assert!(config.members.len() <= MAX_DIRECTORY_ITEMS);
    assert!(config.services.len() <= MAX_DIRECTORY_ITEMS);
    assert!(config.rights.len() <= MAX_DIRECTORY_ITEMS);
    for m in &config.members {
        assert_eq!(m.id.kind(), m.kind);
        assert!(m.keys.len() <= MAX_KEYS_PER_MEMBER);
        assert!(dir.member(&m.id).is_some());
    }
    for e in dir.keyring().entries() {
        let owner = e
            .owner
            .as_deref()
            .expect("every directory key has an owner");
        assert!(config.members.iter().any(|m| m.id.as_str() == owner));
    }
    for s in &config.services {
        assert_eq!(
            dir.service_at(&s.agency, &s.path).map(|x| &x.id),
            Some(&s.id)
        );
        assert!(dir.request_schema(&s.id).is_some_and(|x| x.is_object()));
    }

    let envelope = ConfigEnvelope {
        version: dir.version(),
        issued_at: dir.issued_at(),
        expires_at: dir.expires_at(),
        config: config.clone(),
    };
    let again = match Directory::sign(&envelope, regulator) {
        Ok(t) => t,
        // Written back compactly it can only be as large as the input was, unless the input
        // was already near the token limit.
        Err(e) => {
            assert!(
                data.len() * 4 / 3 > jws::MAX_TOKEN_LEN / 2,
                "re-signing refused: {e}"
            );
            return;
        }
    };
    let back = Directory::verify(&again, &anchor, Some(dir.version()), NOW)
        .expect("a re-signed directory verifies");
    assert_eq!(back.config(), config);
    assert_eq!(back.version(), dir.version());
});
