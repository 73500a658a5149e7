// The booking decision both stores call: each rule's accepting and refusing edge, data-driven,
// through the public API.

use pishkhan_domain::NationalCode;
use pishkhan_domain::booking_decision::{
    BookingAsk, BookingDecision, BookingRefusal, Change, DAY_MS, Holding, SlotLoad, decide_booking,
    decide_cancel, decide_reschedule,
};
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::{BookingRules, BookingStatus, SlotPolicy};

use BookingStatus::{Booked, Cancelled, CheckedIn, Completed, NoShow};

const SLOT: i64 = 1_800_000_000_000;
const ROOM: SlotLoad = SlotLoad {
    booked: 0,
    capacity: 5,
};

fn svc(code: &str) -> ServiceCode {
    ServiceCode::parse(code).unwrap()
}

fn office(n: u32) -> OfficeCode {
    OfficeCode::from_u32(n).unwrap()
}

fn citizen(n: u32) -> NationalCode {
    NationalCode::from_body(100_000_000 + n).unwrap()
}

#[test]
fn a_day_is_86_400_000_ms_and_the_window_is_counted_in_days() {
    assert_eq!(DAY_MS, 86_400_000);
    let rules = BookingRules::default();
    assert_eq!(rules.visit_window_ms(), 14 * 86_400_000);
    assert_eq!(rules.visits_matter_after_ms(SLOT), SLOT - 14 * 86_400_000);
}

#[test]
fn bookings_are_decided_rule_by_rule() {
    let a = svc("PSP-001");
    let b = svc("PSP-002");
    let c = svc("PSP-003");
    let rules = BookingRules::default(); // 1 per service, 2 visits in 14 days
    let per_service = Err(BookingRefusal::PerServiceLimit { per_service: 1 });
    let visits = Err(BookingRefusal::VisitLimit { max: 2, days: 14 });
    let full = Err(BookingRefusal::SlotFull);
    let book = Ok(BookingDecision::Book);
    let w = 14 * DAY_MS;
    // (case, holdings as (service, slot start, status), load (booked, capacity), expected)
    type Case<'a> = (
        &'a str,
        Vec<(&'a ServiceCode, i64, BookingStatus)>,
        (u32, u32),
        Result<BookingDecision, BookingRefusal>,
    );
    let cases: Vec<Case> = vec![
        ("nothing held, room", vec![], (0, 5), book),
        // per service: only *booked* bookings of the *same* service count
        (
            "same service booked",
            vec![(&a, SLOT + 20 * w, Booked)],
            (0, 5),
            per_service,
        ),
        (
            "same service checked in",
            vec![(&a, SLOT + 20 * w, CheckedIn)],
            (0, 5),
            book,
        ),
        (
            "same service cancelled",
            vec![(&a, SLOT, Cancelled)],
            (0, 5),
            book,
        ),
        (
            "same service no-show",
            vec![(&a, SLOT, NoShow)],
            (0, 5),
            book,
        ),
        (
            "other service booked",
            vec![(&b, SLOT + 20 * w, Booked)],
            (0, 5),
            book,
        ),
        // visits: within the window either way (exclusive), counting statuses only
        (
            "one visit near",
            vec![(&b, SLOT + DAY_MS, Booked)],
            (0, 5),
            book,
        ),
        (
            "two visits near",
            vec![(&b, SLOT + DAY_MS, Booked), (&c, SLOT - DAY_MS, Completed)],
            (0, 5),
            visits,
        ),
        (
            "two visits, one just inside the window",
            vec![(&b, SLOT + w - 1, Booked), (&c, SLOT - w + 1, CheckedIn)],
            (0, 5),
            visits,
        ),
        (
            "two visits, one exactly a window away",
            vec![(&b, SLOT + DAY_MS, Booked), (&c, SLOT - w, Completed)],
            (0, 5),
            book,
        ),
        (
            "two visits, one exactly a window ahead",
            vec![(&b, SLOT + w, Booked), (&c, SLOT - DAY_MS, Completed)],
            (0, 5),
            book,
        ),
        (
            "two near, one cancelled",
            vec![(&b, SLOT + DAY_MS, Booked), (&c, SLOT - DAY_MS, Cancelled)],
            (0, 5),
            book,
        ),
        (
            "two near, one no-show",
            vec![(&b, SLOT + DAY_MS, Booked), (&c, SLOT - DAY_MS, NoShow)],
            (0, 5),
            book,
        ),
        // capacity
        ("one seat left", vec![], (4, 5), book),
        ("no seat left", vec![], (5, 5), full),
        ("over capacity already", vec![], (7, 5), full),
        ("capacity zero", vec![], (0, 0), full),
        // order: the citizen's limits are named before capacity
        (
            "limit and full",
            vec![(&a, SLOT, Booked)],
            (5, 5),
            per_service,
        ),
        (
            "visits and full",
            vec![(&b, SLOT, Booked), (&c, SLOT, Booked)],
            (5, 5),
            visits,
        ),
    ];
    let nc = citizen(1);
    let ask = BookingAsk {
        office: office(10_000_001),
        service: &a,
        slot_start_ms: SLOT,
        national_code: &nc,
    };
    for (name, held, (booked, capacity), expected) in cases {
        let holdings: Vec<Holding> = held
            .into_iter()
            .map(|(service, slot_start_ms, status)| Holding {
                service,
                slot_start_ms,
                status,
            })
            .collect();
        let got = decide_booking(&rules, &ask, None, &holdings, SlotLoad { booked, capacity });
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn the_limits_follow_the_configured_rules() {
    let a = svc("PSP-001");
    let b = svc("PSP-002");
    let nc = citizen(1);
    let ask = BookingAsk {
        office: office(10_000_001),
        service: &a,
        slot_start_ms: SLOT,
        national_code: &nc,
    };
    let two_per_service = BookingRules {
        per_service: 2,
        max_visits_in_window: 9,
        ..BookingRules::default()
    };
    let one = [Holding {
        service: &a,
        slot_start_ms: SLOT + 30 * DAY_MS,
        status: Booked,
    }];
    assert_eq!(
        decide_booking(&two_per_service, &ask, None, &one, ROOM),
        Ok(BookingDecision::Book)
    );
    let two = [one[0], one[0]];
    assert_eq!(
        decide_booking(&two_per_service, &ask, None, &two, ROOM),
        Err(BookingRefusal::PerServiceLimit { per_service: 2 })
    );
    // A 3-day window: a visit 3 days away is outside, 2 days 23 h is inside.
    let short = BookingRules {
        max_visits_in_window: 1,
        visit_window_days: 3,
        ..BookingRules::default()
    };
    let at = |ms| {
        [Holding {
            service: &b,
            slot_start_ms: ms,
            status: Completed,
        }]
    };
    assert_eq!(
        decide_booking(&short, &ask, None, &at(SLOT - 3 * DAY_MS), ROOM),
        Ok(BookingDecision::Book)
    );
    assert_eq!(
        decide_booking(&short, &ask, None, &at(SLOT - 3 * DAY_MS + 3_600_000), ROOM),
        Err(BookingRefusal::VisitLimit { max: 1, days: 3 })
    );
    // No visits allowed at all, and no booking per service: everything is refused.
    let none = BookingRules {
        per_service: 0,
        max_visits_in_window: 0,
        ..BookingRules::default()
    };
    assert_eq!(
        decide_booking(&none, &ask, None, &[], ROOM),
        Err(BookingRefusal::PerServiceLimit { per_service: 0 })
    );
}

#[test]
fn an_idempotent_retry_is_replayed_before_any_rule() {
    let a = svc("PSP-001");
    let b = svc("PSP-002");
    let nc = citizen(1);
    let other = citizen(2);
    let ask = BookingAsk {
        office: office(10_000_001),
        service: &a,
        slot_start_ms: SLOT,
        national_code: &nc,
    };
    // The first booking is among the holdings and the slot is now full: still a replay.
    let held = [Holding {
        service: &a,
        slot_start_ms: SLOT,
        status: Booked,
    }];
    let full = SlotLoad {
        booked: 5,
        capacity: 5,
    };
    let cases = [
        ("same request", ask, true),
        (
            "other office",
            BookingAsk {
                office: office(10_000_002),
                ..ask
            },
            false,
        ),
        ("other service", BookingAsk { service: &b, ..ask }, false),
        (
            "other slot",
            BookingAsk {
                slot_start_ms: SLOT + 1,
                ..ask
            },
            false,
        ),
        (
            "other citizen",
            BookingAsk {
                national_code: &other,
                ..ask
            },
            false,
        ),
    ];
    for (name, prior, same_request) in cases {
        assert_eq!(
            decide_booking(&BookingRules::default(), &ask, Some(&prior), &held, full),
            Ok(BookingDecision::Replay { same_request }),
            "{name}"
        );
    }
}

#[test]
fn reschedules_are_decided_rule_by_rule() {
    let b = svc("PSP-002");
    let c = svc("PSP-003");
    let rules = BookingRules::default();
    let to = SLOT + 2 * DAY_MS;
    let near = |ms, status| Holding {
        service: &b,
        slot_start_ms: ms,
        status,
    };
    let far = Holding {
        service: &c,
        slot_start_ms: to + 14 * DAY_MS,
        status: Booked,
    };
    let not_booked = |status| {
        Err(BookingRefusal::NotBooked {
            change: Change::Reschedule,
            status,
        })
    };
    type Case<'a> = (
        &'a str,
        Option<(BookingStatus, i64)>,
        Vec<Holding<'a>>,
        (u32, u32),
        Result<(), BookingRefusal>,
    );
    let cases: Vec<Case> = vec![
        ("booked, room", Some((Booked, SLOT)), vec![], (0, 5), Ok(())),
        (
            "checked in",
            Some((CheckedIn, SLOT)),
            vec![],
            (0, 5),
            not_booked(Some(CheckedIn)),
        ),
        (
            "cancelled",
            Some((Cancelled, SLOT)),
            vec![],
            (0, 5),
            not_booked(Some(Cancelled)),
        ),
        ("not held", None, vec![], (0, 5), not_booked(None)),
        (
            "same slot",
            Some((Booked, to)),
            vec![],
            (0, 5),
            Err(BookingRefusal::SameSlot),
        ),
        // The moving booking is not among `others`, so one other visit near is fine.
        (
            "one other near",
            Some((Booked, SLOT)),
            vec![near(to, Booked)],
            (0, 5),
            Ok(()),
        ),
        (
            "two others near",
            Some((Booked, SLOT)),
            vec![near(to + DAY_MS, Booked), near(to - DAY_MS, Completed)],
            (0, 5),
            Err(BookingRefusal::VisitLimit { max: 2, days: 14 }),
        ),
        (
            "two others, one a window away",
            Some((Booked, SLOT)),
            vec![near(to + DAY_MS, Booked), far],
            (0, 5),
            Ok(()),
        ),
        (
            "two others, one cancelled",
            Some((Booked, SLOT)),
            vec![near(to + DAY_MS, Booked), near(to, Cancelled)],
            (0, 5),
            Ok(()),
        ),
        ("last seat", Some((Booked, SLOT)), vec![], (4, 5), Ok(())),
        (
            "full",
            Some((Booked, SLOT)),
            vec![],
            (5, 5),
            Err(BookingRefusal::SlotFull),
        ),
        (
            "capacity zero",
            Some((Booked, SLOT)),
            vec![],
            (0, 0),
            Err(BookingRefusal::SlotFull),
        ),
        // The state is named before the limits and capacity.
        (
            "not booked and full",
            Some((NoShow, SLOT)),
            vec![],
            (5, 5),
            not_booked(Some(NoShow)),
        ),
    ];
    for (name, current, others, (booked, capacity), expected) in cases {
        let got = decide_reschedule(&rules, current, to, &others, SlotLoad { booked, capacity });
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn only_a_booked_appointment_can_be_cancelled() {
    for status in BookingStatus::ALL {
        let got = decide_cancel(Some(status));
        if status == Booked {
            assert_eq!(got, Ok(()));
        } else {
            assert_eq!(
                got,
                Err(BookingRefusal::NotBooked {
                    change: Change::Cancel,
                    status: Some(status)
                })
            );
        }
    }
    assert!(decide_cancel(None).is_err());
}

#[test]
fn refusals_read_as_the_stores_always_said() {
    // Clients and the web tests read these messages; they must not drift.
    let cases = [
        (
            BookingRefusal::PerServiceLimit { per_service: 1 },
            "at most 1 active booking(s) per service",
        ),
        (
            BookingRefusal::VisitLimit { max: 2, days: 14 },
            "at most 2 visits in any 14 days",
        ),
        (BookingRefusal::SlotFull, "the slot is full"),
        (
            BookingRefusal::NotBooked {
                change: Change::Cancel,
                status: Some(Cancelled),
            },
            "only a booked appointment can be cancelled; this one is cancelled",
        ),
        (
            BookingRefusal::NotBooked {
                change: Change::Reschedule,
                status: Some(CheckedIn),
            },
            "only a booked appointment can be rescheduled; this one is checked_in",
        ),
        (
            BookingRefusal::NotBooked {
                change: Change::Reschedule,
                status: None,
            },
            "only a booked appointment can be rescheduled",
        ),
        (
            BookingRefusal::SameSlot,
            "the booking is already in that slot",
        ),
    ];
    for (refusal, text) in cases {
        assert_eq!(refusal.to_string(), text);
    }
    assert!(BookingRefusal::VisitLimit { max: 2, days: 14 }.is_limit());
    assert!(BookingRefusal::PerServiceLimit { per_service: 1 }.is_limit());
    assert!(!BookingRefusal::SlotFull.is_limit());
    assert!(!BookingRefusal::SameSlot.is_limit());
}

#[test]
fn capacity_counts_only_the_counters_that_handle_the_service() {
    let a = svc("PSP-001");
    let b = svc("PSP-002");
    // 30-minute slots, 15-minute service: 2 per counter; 4 bookable counters; cap 20.
    let policy = SlotPolicy {
        slot_minutes: 30,
        occupancy_cap: 20,
        booking_counters: 4,
    };
    let every = |n: u16| (1..=n).map(|c| (c, None)).collect::<Vec<_>>();
    type Counters = Vec<(u16, Option<Vec<ServiceCode>>)>;
    let cases: Vec<(&str, Counters, u32)> = vec![
        ("not said: every counter handles it", vec![], 8),
        ("six general counters, four bookable", every(6), 8),
        ("two general counters", every(2), 4),
        (
            "one general, one for this service, one for another",
            vec![
                (1, None),
                (2, Some(vec![a.clone()])),
                (3, Some(vec![b.clone()])),
            ],
            4,
        ),
        ("only other services", vec![(1, Some(vec![b.clone()]))], 0),
    ];
    for (name, counters, expected) in cases {
        assert_eq!(
            policy.capacity_at_counters(&a, 15, &counters),
            expected,
            "{name}"
        );
    }
    // The occupancy cap still caps it, and the plain formula is the empty-counters case.
    let capped = SlotPolicy {
        occupancy_cap: 3,
        ..policy
    };
    assert_eq!(capped.capacity_at_counters(&a, 15, &every(6)), 3);
    assert_eq!(policy.capacity_at_counters(&a, 7, &[]), policy.capacity(7));
}
