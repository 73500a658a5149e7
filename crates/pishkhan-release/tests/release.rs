//! Surge releases through the public API.

use std::collections::HashMap;

use pishkhan_domain::NationalCode;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_release::{
    Allocation, Bundle, BundleError, MAX_PREFERENCES, Publication, Rejection, ReleaseSpec, Request,
    SpecError, VerifyError, Waitlist, allocate, commitment, lottery_key, lottery_order, parse_seed,
    read_bundle, synthetic, verify, verify_bundle, write_bundle,
};

// ---------------------------------------------------------------- helpers

fn office(n: u32) -> OfficeCode {
    OfficeCode::from_u32(n).unwrap()
}

fn citizen(body: u32) -> NationalCode {
    NationalCode::from_body(body).unwrap()
}

fn req(code: &NationalCode, prefs: &[u32]) -> Request {
    Request {
        national_code: code.clone(),
        preferences: prefs.iter().map(|&o| office(o)).collect(),
    }
}

fn spec(id: &str, offices: &[(u32, u32)], seed: [u8; 32]) -> ReleaseSpec {
    ReleaseSpec {
        id: id.to_string(),
        service: ServiceCode::parse("VAC-001").unwrap(),
        offices: offices.iter().map(|&(o, s)| (office(o), s)).collect(),
        seed,
    }
}

/// A small deterministic generator for shuffles (tests use no OS randomness either).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// A random reordering of the requests that keeps each citizen's own requests in their
/// relative order: what the dedup rule allows to vary.
fn shuffle_keeping_each_citizens_order(requests: &[Request], seed: u64) -> Vec<Request> {
    let mut perm: Vec<usize> = (0..requests.len()).collect();
    let mut rng = Rng(seed);
    for i in (1..perm.len()).rev() {
        perm.swap(i, rng.below(i + 1));
    }
    // The slots each citizen occupies after the shuffle get that citizen's requests back in
    // their original order.
    let mut own: HashMap<&NationalCode, Vec<usize>> = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        own.entry(&r.national_code).or_default().push(i);
    }
    let mut next: HashMap<&NationalCode, usize> = HashMap::new();
    perm.iter()
        .map(|&i| {
            let code = &requests[i].national_code;
            let k = next.entry(code).or_default();
            let original = own[code][*k];
            *k += 1;
            requests[original].clone()
        })
        .collect()
}

fn offices_of(spec: &ReleaseSpec) -> HashMap<OfficeCode, u32> {
    spec.offices.iter().copied().collect()
}

/// The request that counts for each citizen, by the documented rule (last valid wins), read
/// off the allocation's rejection list.
fn effective(requests: &[Request], a: &Allocation) -> HashMap<NationalCode, Request> {
    let rejected: std::collections::HashSet<usize> = a.rejected.iter().map(|&(i, _)| i).collect();
    requests
        .iter()
        .enumerate()
        .filter(|(i, _)| !rejected.contains(i))
        .map(|(_, r)| (r.national_code.clone(), r.clone()))
        .collect()
}

/// The invariants every allocation keeps.
fn check_invariants(spec: &ReleaseSpec, requests: &[Request], a: &Allocation) {
    let slots = offices_of(spec);
    let eff = effective(requests, a);
    // Conservation: every input is a winner, waitlisted or rejected, exactly once.
    assert_eq!(
        a.winners.len() + a.waitlist.len() + a.rejected.len(),
        requests.len()
    );
    assert_eq!(eff.len(), a.winners.len() + a.waitlist.len());
    assert_eq!(a.publication.winners, a.winners.len() as u64);
    assert_eq!(a.publication.waitlisted, a.waitlist.len() as u64);

    // Capacity is never exceeded.
    let mut used: HashMap<OfficeCode, u32> = HashMap::new();
    for (_, o) in &a.winners {
        *used.entry(*o).or_default() += 1;
    }
    for (o, n) in &used {
        assert!(*n <= slots[o], "office {o} holds {n} > {} slots", slots[o]);
    }
    let full = |o: &OfficeCode| used.get(o).copied().unwrap_or(0) == slots[o];

    // Winners got an office they listed, and every office they ranked higher is full.
    for (code, got) in &a.winners {
        let prefs = &eff[code].preferences;
        let rank = prefs
            .iter()
            .position(|p| p == got)
            .expect("won a listed office");
        assert!(
            prefs[..rank].iter().all(full),
            "{code} skipped a free office"
        );
    }
    // The waitlisted had every listed office full.
    for code in &a.waitlist {
        assert!(eff[code].preferences.iter().all(full), "{code} waitlisted");
    }

    // Winners, then the waitlist, are in lottery order, and together they are exactly the
    // lottery order of the effective requests.
    let codes: Vec<NationalCode> = eff.keys().cloned().collect();
    let order = lottery_order(&spec.seed, &codes);
    let drawn: Vec<&NationalCode> = order.iter().collect();
    let mut won = a.winners.iter().map(|(c, _)| c).peekable();
    let mut wait = a.waitlist.iter().peekable();
    for c in drawn {
        if won.peek() == Some(&c) {
            won.next();
        } else {
            assert_eq!(wait.next(), Some(c), "waitlist is not in lottery order");
        }
    }
    assert!(won.next().is_none() && wait.next().is_none());
}

// ---------------------------------------------------------------- a hand-checked release

const A: u32 = 10_000_001;
const B: u32 = 10_000_002;
const C: u32 = 10_000_003;
const SEED7: [u8; 32] = [7; 32];

struct Demo {
    spec: ReleaseSpec,
    requests: Vec<Request>,
    c: [NationalCode; 6],
}

/// Six citizens (c[0] is "c1" ...), offices A and B with one slot and C with two.
fn demo() -> Demo {
    let c = [1001, 2002, 3003, 4004, 5005, 6006].map(citizen);
    let requests = vec![
        req(&c[0], &[C]),    // 0: c1, replaced by 6
        req(&c[1], &[A, C]), // 1: c2
        req(&c[2], &[B]),    // 2: c3
        req(&c[3], &[C, A]), // 3: c4
        req(&c[4], &[C]),    // 4: c5
        req(&c[5], &[A]),    // 5: c6
        req(&c[0], &[A, B]), // 6: c1 changes their mind
        req(&c[4], &[A, A]), // 7: c5's invalid amendment: rejected, request 4 stands
        req(&c[3], &[]),     // 8: c4's empty amendment: rejected, request 3 stands
    ];
    Demo {
        spec: spec("demo-1", &[(A, 1), (B, 1), (C, 2)], SEED7),
        requests,
        c,
    }
}

#[test]
fn the_national_codes_and_lottery_keys_match_an_independent_computation() {
    // Computed with Python's hashlib: sha256(bytes([7]) * 32 + b"0000030031") and so on.
    let d = demo();
    let codes: Vec<&str> = d.c.iter().map(NationalCode::as_str).collect();
    assert_eq!(
        codes,
        [
            "0000010014",
            "0000020028",
            "0000030031",
            "0000040045",
            "0000050059",
            "0000060062"
        ]
    );
    assert_eq!(
        hex_prefix(&lottery_key(&SEED7, &d.c[2])),
        "0e06bd304ffd3d29"
    );
    assert_eq!(
        hex_prefix(&lottery_key(&SEED7, &d.c[0])),
        "d2eb6544753e7161"
    );
    // Keys ascending: c3 0e06.., c2 72af.., c6 9db7.., c1 d2eb.., c4 d4a8.., c5 e141..
    let order = lottery_order(&SEED7, &d.c);
    let expected = [2, 1, 5, 0, 3, 4].map(|i| d.c[i].clone());
    assert_eq!(order, expected);
    // The order does not depend on the order of the input.
    let mut reversed = d.c.to_vec();
    reversed.reverse();
    assert_eq!(lottery_order(&SEED7, &reversed), expected);
}

fn hex_prefix(key: &[u8; 32]) -> String {
    key[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_hand_checked_release_allocates_by_the_documented_rule() {
    let d = demo();
    let a = allocate(&d.spec, &d.requests).unwrap();
    let c = &d.c;
    // Lottery order c3, c2, c6, c1, c4, c5 (previous test). Walking it:
    //   c3 [B]    -> B (B now full)
    //   c2 [A, C] -> A (A now full)
    //   c6 [A]    -> A full: waitlist
    //   c1 [A, B] -> both full: waitlist (their replaced request [C] would have won C)
    //   c4 [C, A] -> C (one left)
    //   c5 [C]    -> C (full)
    assert_eq!(
        a.winners,
        vec![
            (c[2].clone(), office(B)),
            (c[1].clone(), office(A)),
            (c[3].clone(), office(C)),
            (c[4].clone(), office(C)),
        ]
    );
    assert_eq!(a.waitlist, vec![c[5].clone(), c[0].clone()]);
    assert_eq!(
        a.rejected,
        vec![
            (0, Rejection::Superseded { by: 6 }),
            (7, Rejection::DuplicatePreference { office: office(A) }),
            (8, Rejection::NoPreferences),
        ]
    );
    assert_eq!(a.office_of(&c[3]), Some(office(C)));
    assert_eq!(a.office_of(&c[0]), None);
    // The digests, computed independently (Python) from the canonical encoding in the crate
    // docs: a third party can re-implement verification from the documentation alone.
    assert_eq!(
        a.publication,
        Publication {
            release_id: "demo-1".into(),
            seed_hex: "07".repeat(32),
            inputs_digest_hex: "50ff5bf820423dd7a25d5aee37f63fe188159ed3f8577e7aa61c7fc1636b4222"
                .into(),
            allocation_digest_hex:
                "8bb2a6b3bf39fae36e267d342970127a35de312cd17f1f4c8ea17b6055db3bb3".into(),
            winners: 4,
            waitlisted: 2,
        }
    );
    check_invariants(&d.spec, &d.requests, &a);
}

#[test]
fn the_waitlist_offers_freed_slots_in_waitlist_order_once_each() {
    let d = demo();
    let a = allocate(&d.spec, &d.requests).unwrap();
    let (c1, c6) = (&d.c[0], &d.c[5]);
    let mut w = a.waitlist_offers();
    assert_eq!((w.len(), w.offered()), (2, 0));
    assert_eq!(w.position(c6), Some(0));
    assert_eq!(w.position(c1), Some(1));
    // c6 [A] is first on the waitlist but did not list B, so B goes to c1 [A, B].
    assert_eq!(w.next_offer(office(B)), Some(c1.clone()));
    // A goes to c6; c1 listed A as well but has had an offer.
    assert_eq!(w.next_offer(office(A)), Some(c6.clone()));
    assert_eq!(w.next_offer(office(A)), None);
    assert_eq!(w.next_offer(office(C)), None, "nobody waitlisted listed C");
    assert_eq!(w.next_offer(office(99_999_999)), None);
    assert!(w.was_offered(c1) && w.was_offered(c6));
    assert_eq!(w.offered(), 2);
}

#[test]
fn waitlist_offers_follow_waitlist_order_not_preference_rank() {
    let [p, q, r] = [11, 22, 33].map(citizen);
    // p listed A last, q first: p is earlier on the waitlist, so p gets A.
    let mut w = Waitlist::new([
        (p.clone(), vec![office(B), office(C), office(A)]),
        (q.clone(), vec![office(A)]),
        (r.clone(), vec![office(A), office(A)]),
        (p.clone(), vec![office(C)]), // a repeat keeps the first place and list
    ]);
    assert_eq!(w.len(), 3);
    assert!(
        w.mark_offered(&q),
        "restoring an offer made before a restart"
    );
    assert!(!w.mark_offered(&q), "offered already");
    assert!(!w.mark_offered(&citizen(44)), "not on the waitlist");
    assert_eq!(w.next_offer(office(A)), Some(p.clone()));
    // q had an offer already (restored above), so the next A goes to r, once.
    assert_eq!(w.next_offer(office(A)), Some(r.clone()));
    assert_eq!(w.next_offer(office(A)), None);
    assert_eq!(w.next_offer(office(B)), None, "p has had an offer");
    assert!(Waitlist::new([]).is_empty());
}

// ---------------------------------------------------------------- rules

#[test]
fn requests_are_rejected_with_a_reason() {
    let spec = spec("rej", &[(A, 5), (B, 5), (C, 5)], SEED7);
    const X: u32 = 10_000_004; // not in the release
    let x = X;
    let cases: Vec<(&[u32], Option<Rejection>, &str)> = vec![
        (&[A], None, ""),
        (&[A, B, C], None, ""),
        (&[], Some(Rejection::NoPreferences), "no_preferences"),
        (
            &[A, B, C, X, 10_000_005, 10_000_006],
            Some(Rejection::TooManyPreferences { count: 6 }),
            "too_many_preferences",
        ),
        (
            &[A, B, A],
            Some(Rejection::DuplicatePreference { office: office(A) }),
            "duplicate_preference",
        ),
        (
            &[A, X],
            Some(Rejection::UnknownOffice { office: office(x) }),
            "unknown_office",
        ),
        // The checks run in the documented order: duplicates before unknown offices.
        (
            &[X, X],
            Some(Rejection::DuplicatePreference { office: office(x) }),
            "duplicate_preference",
        ),
    ];
    for (i, (prefs, expected, code)) in cases.into_iter().enumerate() {
        let requests = vec![req(&citizen(100 + i as u32), prefs)];
        let a = allocate(&spec, &requests).unwrap();
        match expected {
            None => assert!(a.rejected.is_empty(), "case {i}: {:?}", a.rejected),
            Some(why) => {
                assert_eq!(a.rejected, vec![(0, why.clone())], "case {i}");
                assert_eq!(why.code(), code);
                assert!(!why.to_string().is_empty());
                assert!(a.winners.is_empty() && a.waitlist.is_empty());
            }
        }
    }
    assert_eq!(MAX_PREFERENCES, 5);
    assert_eq!(Rejection::Superseded { by: 3 }.code(), "superseded");
}

#[test]
fn the_last_valid_request_of_a_citizen_counts() {
    // Plenty of slots, so every effective request wins its first office, which shows which
    // request counted.
    let spec = spec("dedup", &[(A, 10), (B, 10), (C, 10)], SEED7);
    let [p, q] = [5, 6].map(citizen);
    type Case = (
        &'static str,
        Vec<Request>,
        Vec<(usize, Rejection)>,
        Vec<u32>,
    );
    let cases: Vec<Case> = vec![
        (
            "later replaces earlier",
            vec![req(&p, &[A]), req(&p, &[B])],
            vec![(0, Rejection::Superseded { by: 1 })],
            vec![B],
        ),
        (
            "an invalid amendment leaves the valid request standing",
            vec![req(&p, &[A]), req(&p, &[B, B])],
            vec![(1, Rejection::DuplicatePreference { office: office(B) })],
            vec![A],
        ),
        (
            "a valid request after an invalid one counts",
            vec![req(&p, &[]), req(&p, &[C])],
            vec![(0, Rejection::NoPreferences)],
            vec![C],
        ),
        (
            "three requests: the last replaces both",
            vec![req(&p, &[A]), req(&p, &[B]), req(&p, &[C])],
            vec![
                (0, Rejection::Superseded { by: 2 }),
                (1, Rejection::Superseded { by: 2 }),
            ],
            vec![C],
        ),
        (
            "identical repeats count once",
            vec![req(&p, &[A]), req(&p, &[A]), req(&q, &[B])],
            vec![(0, Rejection::Superseded { by: 1 })],
            vec![A, B],
        ),
        (
            "interleaved citizens",
            vec![req(&p, &[A]), req(&q, &[A]), req(&p, &[B]), req(&q, &[C])],
            vec![
                (0, Rejection::Superseded { by: 2 }),
                (1, Rejection::Superseded { by: 3 }),
            ],
            vec![B, C],
        ),
    ];
    for (name, requests, rejected, offices_won) in cases {
        let a = allocate(&spec, &requests).unwrap();
        assert_eq!(a.rejected, rejected, "{name}");
        let mut won: Vec<u32> = a.winners.iter().map(|(_, o)| o.get()).collect();
        won.sort_unstable();
        assert_eq!(won, offices_won, "{name}");
        assert!(a.waitlist.is_empty(), "{name}");
        check_invariants(&spec, &requests, &a);
    }
}

#[test]
fn invalid_releases_are_refused() {
    let ok = spec("ok", &[(A, 1)], SEED7);
    assert_eq!(ok.validate(), Ok(()));
    assert_eq!(ok.total_slots(), 1);
    let cases: Vec<(ReleaseSpec, SpecError)> = vec![
        (spec("", &[(A, 1)], SEED7), SpecError::InvalidId),
        (spec("has space", &[(A, 1)], SEED7), SpecError::InvalidId),
        (
            spec(&"x".repeat(65), &[(A, 1)], SEED7),
            SpecError::InvalidId,
        ),
        (spec("none", &[], SEED7), SpecError::NoOffices),
        (
            spec("dup", &[(A, 1), (B, 2), (A, 3)], SEED7),
            SpecError::DuplicateOffice { office: office(A) },
        ),
        (
            spec("zero", &[(A, 1), (B, 0)], SEED7),
            SpecError::ZeroSlots { office: office(B) },
        ),
    ];
    for (s, expected) in cases {
        assert_eq!(allocate(&s, &[]).unwrap_err(), expected, "{}", s.id);
        let publication = allocate(&ok, &[]).unwrap().publication;
        assert_eq!(
            verify(&s, &[], &publication, None),
            Err(VerifyError::Spec(expected))
        );
    }
}

#[test]
fn an_empty_release_publishes_zero_counts() {
    let s = spec("empty", &[(A, 3)], SEED7);
    let a = allocate(&s, &[]).unwrap();
    assert!(a.winners.is_empty() && a.waitlist.is_empty() && a.rejected.is_empty());
    assert_eq!((a.publication.winners, a.publication.waitlisted), (0, 0));
    assert_eq!(verify(&s, &[], &a.publication, None), Ok(()));
}

// ---------------------------------------------------------------- fairness properties

#[test]
fn the_same_inputs_give_the_same_allocation() {
    let (spec, requests) = synthetic(5_000, 30, 40);
    let first = allocate(&spec, &requests).unwrap();
    let second = allocate(&spec, &requests).unwrap();
    assert_eq!(first, second);
    assert_eq!(synthetic(5_000, 30, 40), (spec.clone(), requests.clone()));
    check_invariants(&spec, &requests, &first);
}

#[test]
fn another_seed_draws_another_allocation_of_the_same_inputs() {
    let (spec, requests) = synthetic(3_000, 10, 20);
    let a = allocate(&spec, &requests).unwrap();
    for byte in [0u8, 1, 255] {
        let mut other = spec.clone();
        other.seed = [byte; 32];
        let b = allocate(&other, &requests).unwrap();
        assert_ne!(a.winners, b.winners, "seed {byte}");
        assert_ne!(a.waitlist, b.waitlist, "seed {byte}");
        assert_eq!(
            a.publication.inputs_digest_hex,
            b.publication.inputs_digest_hex
        );
        assert_ne!(
            a.publication.allocation_digest_hex,
            b.publication.allocation_digest_hex
        );
        assert_eq!(a.rejected, b.rejected);
        check_invariants(&other, &requests, &b);
    }
}

#[test]
fn arrival_order_does_not_matter() {
    let (spec, requests) = synthetic(4_000, 12, 25);
    let a = allocate(&spec, &requests).unwrap();
    let reasons = |rs: &[Request], al: &Allocation| {
        let mut v: Vec<(String, &'static str)> = al
            .rejected
            .iter()
            .map(|(i, why)| (rs[*i].national_code.to_string(), why.code()))
            .collect();
        v.sort();
        v
    };
    for seed in [1, 2, 3] {
        let shuffled = shuffle_keeping_each_citizens_order(&requests, seed);
        assert_ne!(shuffled, requests);
        let b = allocate(&spec, &shuffled).unwrap();
        assert_eq!(a.winners, b.winners);
        assert_eq!(a.waitlist, b.waitlist);
        assert_eq!(a.publication, b.publication);
        assert_eq!(reasons(&requests, &a), reasons(&shuffled, &b));
        assert_eq!(verify(&spec, &shuffled, &a.publication, None), Ok(()));
    }
    // Without duplicates any order at all gives the same result.
    let d = demo();
    let unique: Vec<Request> = d.requests[1..6].to_vec();
    let mut reversed = unique.clone();
    reversed.reverse();
    let x = allocate(&d.spec, &unique).unwrap();
    let y = allocate(&d.spec, &reversed).unwrap();
    assert_eq!((x.winners, x.waitlist), (y.winners, y.waitlist));
    assert_eq!(x.publication, y.publication);
}

#[test]
fn capacity_holds_and_preferences_are_honoured_in_scarce_and_ample_releases() {
    // (requests, offices, slots per office): scarce, balanced and ample supply.
    for (n, offices, slots) in [(2_000, 8, 10), (1_000, 20, 50), (500, 50, 100), (300, 1, 1)] {
        let (spec, requests) = synthetic(n, offices, slots);
        let a = allocate(&spec, &requests).unwrap();
        check_invariants(&spec, &requests, &a);
        let effective = a.winners.len() + a.waitlist.len();
        assert!(a.winners.len() as u64 <= spec.total_slots());
        if (effective as u64) < spec.total_slots() / 4 {
            // Ample supply: each office holds more than all requests, nobody waits.
            assert!(a.waitlist.is_empty(), "{n} {offices} {slots}");
        }
    }
}

// ---------------------------------------------------------------- verification

#[test]
fn verify_accepts_the_honest_publication_and_names_what_was_tampered_with() {
    let (honest_spec, honest_requests) = synthetic(2_000, 10, 30);
    let honest = allocate(&honest_spec, &honest_requests)
        .unwrap()
        .publication;
    assert_eq!(
        verify(&honest_spec, &honest_requests, &honest, None),
        Ok(())
    );

    type Tamper = fn(&mut ReleaseSpec, &mut Vec<Request>, &mut Publication);
    let cases: Vec<(&str, Tamper, Option<&str>)> = vec![
        ("nothing", |_, _, _| {}, None),
        (
            "upper-case hex is the same digest",
            |_, _, p| {
                p.inputs_digest_hex = p.inputs_digest_hex.to_uppercase();
                p.seed_hex = p.seed_hex.to_uppercase();
            },
            None,
        ),
        (
            "one request's preferences changed",
            |_, r, _| {
                let i = r.iter().position(|q| q.preferences.len() > 1).unwrap();
                r[i].preferences.reverse();
            },
            Some("inputs"),
        ),
        (
            "one request's preferences replaced",
            |s, r, _| r[1].preferences = vec![s.offices[9].0],
            Some("inputs"),
        ),
        (
            "one request removed",
            |_, r, _| drop(r.remove(2)),
            Some("inputs"),
        ),
        (
            "one slot count changed",
            |s, _, _| s.offices[3].1 += 1,
            Some("inputs"),
        ),
        (
            "the service changed",
            |s, _, _| s.service = ServiceCode::parse("VAC-002").unwrap(),
            Some("inputs"),
        ),
        (
            "a wrong seed in the spec",
            |s, _, _| s.seed[0] ^= 1,
            Some("seed"),
        ),
        (
            "a wrong seed, published consistently",
            |s, _, p| {
                s.seed[0] ^= 1;
                p.seed_hex = hex_of(&s.seed);
            },
            Some("allocation"),
        ),
        (
            "a tampered allocation digest",
            |_, _, p| p.allocation_digest_hex = "00".repeat(32),
            Some("allocation"),
        ),
        (
            "a tampered winner count",
            |_, _, p| p.winners -= 1,
            Some("counts"),
        ),
        (
            "another release's publication",
            |_, _, p| p.release_id = "other".into(),
            Some("release_id"),
        ),
    ];
    for (name, tamper, expected) in cases {
        let (mut s, mut r, mut p) = (honest_spec.clone(), honest_requests.clone(), honest.clone());
        tamper(&mut s, &mut r, &mut p);
        let changed = s != honest_spec || r != honest_requests || p != honest;
        assert!(
            changed || name == "nothing",
            "{name}: the tampering changed nothing"
        );
        let got = verify(&s, &r, &p, None);
        let kind = got.as_ref().err().map(|e| match e {
            VerifyError::Spec(_) => "spec",
            VerifyError::ReleaseId { .. } => "release_id",
            VerifyError::Seed { .. } => "seed",
            VerifyError::Commitment { .. } => "commitment",
            VerifyError::InputsDigest { .. } => "inputs",
            VerifyError::AllocationDigest { .. } => "allocation",
            VerifyError::Counts { .. } => "counts",
        });
        assert_eq!(kind, expected, "{name}: {got:?}");
        if let Err(e) = got {
            assert!(!e.to_string().is_empty());
        }
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_seed_must_match_its_commitment() {
    // sha256(bytes([7]) * 32), computed independently.
    let published_at_opening = "4bb06f8e4e3a7715d201d573d0aa423762e55dabd61a2c02278fa56cc6d294e0";
    assert_eq!(commitment(&SEED7), published_at_opening);
    assert_eq!(parse_seed(&"07".repeat(32)), Some(SEED7));
    assert_eq!(parse_seed("07"), None);
    assert_eq!(parse_seed(&"zz".repeat(32)), None);

    let d = demo();
    let p = allocate(&d.spec, &d.requests).unwrap().publication;
    assert_eq!(
        verify(&d.spec, &d.requests, &p, Some(published_at_opening)),
        Ok(())
    );
    assert_eq!(
        verify(
            &d.spec,
            &d.requests,
            &p,
            Some(&published_at_opening.to_uppercase())
        ),
        Ok(())
    );
    // A regulator who swapped the seed after the opening, and re-published everything
    // consistently, is caught by the commitment alone.
    let mut swapped = d.spec.clone();
    swapped.seed = [8; 32];
    let p2 = allocate(&swapped, &d.requests).unwrap().publication;
    assert_eq!(verify(&swapped, &d.requests, &p2, None), Ok(()));
    assert_eq!(
        verify(&swapped, &d.requests, &p2, Some(published_at_opening)),
        Err(VerifyError::Commitment {
            expected: published_at_opening.into(),
            actual: commitment(&[8; 32]),
        })
    );
}

// ---------------------------------------------------------------- files

#[test]
fn bundles_round_trip_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (spec, requests) = synthetic(3_000, 15, 20);
    let publication = allocate(&spec, &requests).unwrap().publication;
    let bundle = Bundle {
        spec,
        requests,
        publication,
    };
    // (file name, written as JSON lines?)
    for (name, jsonl) in [
        ("release.json", false),
        ("release.jsonl", true),
        ("release.NDJSON", true),
        ("release.txt", false),
    ] {
        let path = dir.path().join(name);
        write_bundle(&path, &bundle).unwrap();
        let back = read_bundle(&path).unwrap();
        assert_eq!(back, bundle, "{name}");
        assert_eq!(
            verify_bundle(&back, Some(&commitment(&back.spec.seed))),
            Ok(())
        );
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.lines().count();
        if jsonl {
            assert_eq!(
                lines,
                1 + bundle.requests.len(),
                "{name}: one request a line"
            );
        } else {
            assert_eq!(lines, 1, "{name}: one document");
        }
    }
}

#[test]
fn a_hand_written_bundle_reads_and_verifies() {
    let d = demo();
    let p = allocate(&d.spec, &d.requests).unwrap().publication;
    let requests: Vec<serde_json::Value> = d
        .requests
        .iter()
        .map(|r| {
            serde_json::json!({
                "national_code": r.national_code.as_str(),
                // Office codes may be numbers as well as strings.
                "preferences": r.preferences.iter().map(|o| o.get()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "spec": {
            "id": "demo-1",
            "service": "VAC-001",
            "offices": [
                {"office": "10000001", "slots": 1},
                {"office": 10000002, "slots": 1},
                {"office": "10000003", "slots": 2},
            ],
            "seed": "07".repeat(32),
        },
        "requests": requests,
        "publication": serde_json::to_value(&p).unwrap(),
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let bundle = read_bundle(&path).unwrap();
    assert_eq!(bundle.spec, d.spec);
    assert_eq!(bundle.requests, d.requests);
    assert_eq!(verify_bundle(&bundle, None), Ok(()));

    // The serialized forms are the documented ones.
    let spec_json = serde_json::to_value(&d.spec).unwrap();
    assert_eq!(
        spec_json["offices"][0],
        serde_json::json!({"office": "10000001", "slots": 1})
    );
    assert_eq!(spec_json["seed"], serde_json::json!("07".repeat(32)));
    assert_eq!(
        serde_json::to_value(&d.requests[1]).unwrap(),
        serde_json::json!({"national_code": "0000020028", "preferences": ["10000001", "10000003"]})
    );
}

#[test]
fn broken_bundles_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = demo();
    let p = allocate(&d.spec, &d.requests).unwrap().publication;
    let bundle = Bundle {
        spec: d.spec.clone(),
        requests: d.requests.clone(),
        publication: p,
    };
    let path = dir.path().join("r.jsonl");
    write_bundle(&path, &bundle).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();

    // A bad national code on the fourth line of the file (the third request).
    let bad = text.replacen("0000030031", "0000030032", 1);
    std::fs::write(&path, &bad).unwrap();
    match read_bundle(&path) {
        Err(BundleError::JsonLine { line: 4, .. }) => {}
        other => panic!("{other:?}"),
    }
    // Blank lines and CRLF are tolerated.
    std::fs::write(&path, text.replace('\n', "\r\n\n")).unwrap();
    assert_eq!(read_bundle(&path).unwrap(), bundle);

    std::fs::write(&path, "\n \n").unwrap();
    assert!(matches!(read_bundle(&path), Err(BundleError::Empty { .. })));

    let json = dir.path().join("r.json");
    std::fs::write(
        &json,
        r#"{"spec": {}, "requests": [], "publication": {}, "extra": 1}"#,
    )
    .unwrap();
    let err = read_bundle(&json).unwrap_err();
    assert!(matches!(err, BundleError::Json { .. }));
    assert!(err.to_string().contains("r.json"), "{err}");

    let missing = dir.path().join("missing.json");
    assert!(matches!(read_bundle(&missing), Err(BundleError::Io { .. })));
}

// ---------------------------------------------------------------- scale

#[test]
fn a_hundred_thousand_requests_conserve_counts() {
    let n = 100_000;
    let (spec, requests) = synthetic(n, 500, 20);
    let a = allocate(&spec, &requests).unwrap();
    assert_eq!(
        a.winners.len() + a.waitlist.len() + a.rejected.len(),
        n,
        "every request is a winner, waitlisted or rejected"
    );
    // The synthetic data supersedes 1 in 100 and rejects 1 in 1000 (whose amendment is
    // invalid, so it supersedes nothing).
    let superseded = a
        .rejected
        .iter()
        .filter(|(_, w)| matches!(w, Rejection::Superseded { .. }))
        .count();
    assert_eq!(a.rejected.len() - superseded, n / 1000);
    assert_eq!(superseded, n / 100 - n / 1000);
    // Demand far exceeds the 10,000 slots: all are taken.
    assert_eq!(a.winners.len() as u64, spec.total_slots());
    check_invariants(&spec, &requests, &a);
    assert_eq!(verify(&spec, &requests, &a.publication, None), Ok(()));

    let mut w = a.waitlist_offers();
    assert_eq!(w.len(), a.waitlist.len());
    let first = w.next_offer(spec.offices[0].0).unwrap();
    assert!(
        w.position(&first).unwrap() < 100,
        "an early waitlister wants office 0"
    );
}
