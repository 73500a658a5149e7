//! C2SP tlog-checkpoint body: exact encoding and strict parsing.

use pishkhan_merkle::{Checkpoint, CheckpointError, empty_root};

/// The example checkpoint of the C2SP spec (github.com/C2SP/C2SP
/// `tlog-checkpoint.md`), without its signature line.
const SPEC_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

/// Base64 of SHA-256("") (our empty root): the widely published Subresource
/// Integrity / CSP hash of an empty resource, `sha256-47DEQ...`.
const EMPTY_ROOT_B64: &str = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

#[test]
fn spec_example_round_trips_byte_for_byte() {
    let cp = Checkpoint::from_note_body(SPEC_BODY).unwrap();
    assert_eq!(cp.origin, "example.com/behind-the-sofa");
    assert_eq!(cp.size, 20852163);
    assert_eq!(cp.to_note_body().unwrap(), SPEC_BODY);
}

#[test]
fn empty_tree_checkpoint_body() {
    let cp = Checkpoint {
        origin: "pishkhan.example/log".into(),
        size: 0,
        root: empty_root(),
    };
    let body = cp.to_note_body().unwrap();
    assert_eq!(body, format!("pishkhan.example/log\n0\n{EMPTY_ROOT_B64}\n"));
    assert_eq!(Checkpoint::from_note_body(&body).unwrap(), cp);
}

#[test]
fn every_root_byte_pattern_round_trips() {
    // Exercises all 64 alphabet characters and both padding boundaries.
    for seed in 0..=255u8 {
        let mut root = [0u8; 32];
        for (i, b) in root.iter_mut().enumerate() {
            *b = seed
                .wrapping_mul(31)
                .wrapping_add((i as u8).wrapping_mul(seed | 1));
        }
        let cp = Checkpoint {
            origin: "o".into(),
            size: u64::from(seed) * 1_000_003,
            root,
        };
        let body = cp.to_note_body().unwrap();
        assert_eq!(Checkpoint::from_note_body(&body).unwrap(), cp);
    }
    let max = Checkpoint {
        origin: "o".into(),
        size: u64::MAX,
        root: [0xff; 32],
    };
    let body = max.to_note_body().unwrap();
    assert!(body.contains("\n18446744073709551615\n"));
    assert_eq!(Checkpoint::from_note_body(&body).unwrap(), max);
}

#[test]
fn parser_rejects_non_canonical_bodies() {
    use CheckpointError::*;
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let cases: Vec<(String, CheckpointError)> = vec![
        (String::new(), MissingFinalNewline),
        (format!("o\n1\n{root}"), MissingFinalNewline),
        ("o\n1\n".into(), MissingLines),
        (format!("o\n1\n{root}\next\n"), ExtensionLines),
        (format!("o\n1\n{root}\n\n"), ExtensionLines),
        (format!("\n1\n{root}\n"), EmptyOrigin),
        (format!("o\r\n1\n{root}\n"), InvalidOrigin),
        (format!("o\u{0}\n1\n{root}\n"), InvalidOrigin),
        (format!("o\n01\n{root}\n"), InvalidSize),
        (format!("o\n00\n{root}\n"), InvalidSize),
        (format!("o\n+1\n{root}\n"), InvalidSize),
        (format!("o\n-1\n{root}\n"), InvalidSize),
        (format!("o\n 1\n{root}\n"), InvalidSize),
        (format!("o\n1 \n{root}\n"), InvalidSize),
        (format!("o\n1\r\n{root}\n"), InvalidSize),
        (format!("o\n\n{root}\n"), InvalidSize),
        (format!("o\n1_000\n{root}\n"), InvalidSize),
        // Persian digit one: not ASCII decimal.
        (format!("o\n۱\n{root}\n"), InvalidSize),
        (format!("o\n18446744073709551616\n{root}\n"), InvalidSize),
        // Unpadded, URL-safe alphabet, non-zero trailing bits, wrong lengths,
        // whitespace, CR.
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom_Xajj7h2fB2MPA3j2jxq2I=\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IA\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2IAAAA=\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\n CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\r\n".into(),
            InvalidRoot,
        ),
        (
            "o\n1\nCsUYapGGPo4dkMgI=Uqom/Xajj7h2fB2MPA3j2jxq2I=\n".into(),
            InvalidRoot,
        ),
        ("o\n1\n\n".into(), InvalidRoot),
    ];
    for (body, want) in cases {
        assert_eq!(Checkpoint::from_note_body(&body), Err(want), "{body:?}");
    }
}

#[test]
fn encoder_refuses_origins_that_would_forge_lines() {
    let mut cp = Checkpoint {
        origin: String::new(),
        size: 1,
        root: [0; 32],
    };
    assert_eq!(cp.to_note_body(), Err(CheckpointError::EmptyOrigin));
    cp.origin = "a\n2".into();
    assert_eq!(cp.to_note_body(), Err(CheckpointError::InvalidOrigin));
    cp.origin = "پیشخوان/سامانه".into();
    let body = cp.to_note_body().unwrap();
    assert_eq!(Checkpoint::from_note_body(&body).unwrap(), cp);
}
