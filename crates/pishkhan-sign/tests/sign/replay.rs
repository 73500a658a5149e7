//! ReplayGuard: window, eviction, capacity, threads.

use std::sync::Arc;

use pishkhan_sign::{MAX_REPLAY_NONCE_LEN, ReplayGuard};

use crate::common::NOW;

const WINDOW: u32 = 300;
const W: i64 = WINDOW as i64;

#[test]
fn same_nonce_from_another_sender_is_fine() {
    let guard = ReplayGuard::new(10, WINDOW);
    guard.check_and_record("agency-1", "n1", NOW, NOW).unwrap();
    guard.check_and_record("agency-2", "n1", NOW, NOW).unwrap();
    assert_eq!(
        guard
            .check_and_record("agency-1", "n1", NOW, NOW + 5)
            .unwrap_err()
            .code(),
        "replayed"
    );
    assert_eq!(guard.len(), 2);
}

#[test]
fn pair_encoding_is_unambiguous() {
    let guard = ReplayGuard::new(10, WINDOW);
    guard.check_and_record("a", "bc", NOW, NOW).unwrap();
    guard.check_and_record("ab", "c", NOW, NOW).unwrap();
}

#[test]
fn outside_window_is_refused() {
    let guard = ReplayGuard::new(10, WINDOW);
    for iat in [NOW - W - 1, NOW + W + 1, i64::MIN, i64::MAX] {
        let err = guard.check_and_record("s", "n", iat, NOW).unwrap_err();
        assert_eq!(err.code(), "outside_window", "iat {iat}");
    }
    guard.check_and_record("s", "old", NOW - W, NOW).unwrap();
    guard.check_and_record("s", "new", NOW + W, NOW).unwrap();
    assert_eq!(guard.len(), 2);
}

#[test]
fn old_entries_are_evicted_but_their_replays_stay_refused() {
    let guard = ReplayGuard::new(2, WINDOW);
    guard.check_and_record("s", "n1", NOW, NOW).unwrap();
    guard.check_and_record("s", "n2", NOW + 10, NOW).unwrap();
    assert_eq!(
        guard
            .check_and_record("s", "n3", NOW, NOW)
            .unwrap_err()
            .code(),
        "guard_full"
    );

    // n1 (iat NOW) leaves the window at NOW + W + 1; n2 is still in it.
    let later = NOW + W + 1;
    guard.check_and_record("s", "n3", later, later).unwrap();
    assert_eq!(guard.len(), 2);
    assert_eq!(
        guard
            .check_and_record("s", "n1", NOW, later)
            .unwrap_err()
            .code(),
        "outside_window"
    );
    assert_eq!(
        guard
            .check_and_record("s", "n2", NOW + 10, later)
            .unwrap_err()
            .code(),
        "replayed"
    );
    assert_eq!(
        guard
            .check_and_record("s", "n4", later, later)
            .unwrap_err()
            .code(),
        "guard_full"
    );
}

#[test]
fn full_guard_fails_closed_until_entries_expire() {
    let guard = ReplayGuard::new(3, WINDOW);
    for i in 0..3 {
        guard
            .check_and_record("s", &format!("n{i}"), NOW, NOW)
            .unwrap();
    }
    for now in [NOW, NOW + W] {
        let err = guard.check_and_record("s", "fresh", now, now).unwrap_err();
        assert_eq!(err.code(), "guard_full", "at {now}");
    }
    guard
        .check_and_record("s", "fresh", NOW + W + 1, NOW + W + 1)
        .unwrap();
    assert_eq!(guard.len(), 1);
    assert_eq!(guard.max_entries(), 3);
}

#[test]
fn zero_capacity_refuses_everything() {
    let guard = ReplayGuard::new(0, WINDOW);
    assert_eq!(
        guard
            .check_and_record("s", "n", NOW, NOW)
            .unwrap_err()
            .code(),
        "guard_full"
    );
}

#[test]
fn invalid_input_is_refused() {
    let guard = ReplayGuard::new(10, WINDOW);
    for (sender, nonce) in [
        ("", "n"),
        ("s", ""),
        ("s", &"n".repeat(MAX_REPLAY_NONCE_LEN + 1)[..]),
    ] {
        let err = guard.check_and_record(sender, nonce, NOW, NOW).unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
    assert!(guard.is_empty());
}

#[test]
fn concurrent_replays_are_accepted_once() {
    let guard = Arc::new(ReplayGuard::new(10_000, WINDOW));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let guard = Arc::clone(&guard);
            std::thread::spawn(move || {
                let mut accepted = 0;
                for i in 0..200 {
                    // Every thread tries the same 200 nonces, plus 50 of its own.
                    if guard
                        .check_and_record("s", &format!("shared-{i}"), NOW, NOW)
                        .is_ok()
                    {
                        accepted += 1;
                    }
                    if i < 50 {
                        guard
                            .check_and_record("s", &format!("own-{t}-{i}"), NOW, NOW)
                            .unwrap();
                    }
                }
                accepted
            })
        })
        .collect();
    let accepted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(accepted, 200);
    assert_eq!(guard.len(), 200 + 8 * 50);
}
