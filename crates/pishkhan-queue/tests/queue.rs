//! The queue engine through its public API: calling rules, check-in, expiry, replay,
//! estimates, the display and the day's figures.

use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::{BookingStatus, Slot, TrackingCode, tehran_instant};
use pishkhan_domain::{JalaliDate, NationalCode};
use pishkhan_queue::{
    BookingState, CallReason, CounterConfig, CounterId, Event, ExpectedBooking, FairnessRule, Lane,
    NowServing, PriorityCode, PriorityGroup, Queue, QueueConfig, QueueError, Ticket, TicketState,
};
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// Harness

fn day() -> JalaliDate {
    JalaliDate::new(1404, 8, 10).unwrap()
}

fn office() -> OfficeCode {
    OfficeCode::from_u32(12_345_678).unwrap()
}

/// Tehran wall-clock time on the queue's day.
fn t(h: u16, m: u16) -> OffsetDateTime {
    tehran_instant(day(), h * 60 + m)
}

fn svc(code: &str) -> ServiceCode {
    ServiceCode::parse(code).unwrap()
}

fn prio(code: &str) -> PriorityCode {
    PriorityCode::parse(code).unwrap()
}

fn ticket(s: &str) -> Ticket {
    Ticket::parse(s).unwrap()
}

/// A distinct tracking code per booking id.
fn tc(id: u32) -> TrackingCode {
    let mut code = [b'2'; 8];
    let mut n = id as usize + 1000;
    for b in code.iter_mut().rev() {
        *b = TrackingCode::ALPHABET[n % TrackingCode::ALPHABET.len()];
        n /= TrackingCode::ALPHABET.len();
    }
    TrackingCode::parse(std::str::from_utf8(&code).unwrap()).unwrap()
}

/// A distinct national code per citizen id.
fn nc(id: u32) -> NationalCode {
    NationalCode::from_body(123_400_000 + id * 7).unwrap()
}

const PSP: &str = "PSP-001";
const VEH: &str = "VEH-002";
const TAX: &str = "TAX-003";

/// A live queue and the log of every event applied to it.
struct Day {
    q: Queue,
    log: Vec<Event>,
}

impl Day {
    fn new(config: QueueConfig) -> Self {
        Self {
            q: Queue::new(office(), day(), config).unwrap(),
            log: Vec::new(),
        }
    }

    fn commit(&mut self, events: Vec<Event>) -> Vec<Event> {
        self.q.apply_all(&events).unwrap();
        self.log.extend(events.iter().cloned());
        events
    }

    fn run(&mut self, r: Result<Vec<Event>, QueueError>) -> Vec<Event> {
        let events = r.unwrap_or_else(|e| panic!("operation refused: {e}"));
        self.commit(events)
    }

    /// Books citizen `id` for a 30-minute slot starting at `h:m`.
    fn book(&mut self, id: u32, service: &str, (h, m): (u16, u16)) {
        let ev = self.q.expect_booking(booking(id, id, service, (h, m)));
        self.run(ev);
    }

    fn check_in(&mut self, id: u32, p: Option<&str>, (h, m): (u16, u16)) -> Ticket {
        let p = p.map(prio);
        let ev = self.q.check_in_by_tracking(&tc(id), p.as_ref(), t(h, m));
        self.run(ev)[0].ticket().unwrap()
    }

    fn walk(&mut self, service: &str, p: Option<&str>, (h, m): (u16, u16)) -> Ticket {
        let p = p.map(prio);
        let ev = self.q.walk_in(&svc(service), p.as_ref(), t(h, m));
        self.run(ev)[0].ticket().unwrap()
    }

    fn call_at(&mut self, counter: u16, at: OffsetDateTime) -> (Ticket, CallReason) {
        let ev = self.q.call_next(CounterId(counter), at);
        match self.run(ev).as_slice() {
            [Event::Called { ticket, reason, .. }] => (*ticket, *reason),
            other => panic!("expected one Called event, got {other:?}"),
        }
    }

    fn call(&mut self, counter: u16, (h, m): (u16, u16)) -> (Ticket, CallReason) {
        self.call_at(counter, t(h, m))
    }

    fn complete(&mut self, tk: Ticket, (h, m): (u16, u16)) {
        let ev = self.q.complete(tk, t(h, m));
        self.run(ev);
    }

    fn rebuilt(&self) -> Queue {
        Queue::rebuild(office(), day(), self.q.config().clone(), &self.log).unwrap()
    }
}

fn booking(id: u32, citizen: u32, service: &str, (h, m): (u16, u16)) -> ExpectedBooking {
    ExpectedBooking {
        tracking_code: tc(id),
        national_code: nc(citizen),
        service: svc(service),
        slot: Slot {
            start: t(h, m),
            end: t(h, m) + Duration::minutes(30),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Calling rules, as data

#[derive(Debug, Clone, Copy)]
enum Step {
    /// Booking id, service, slot start.
    Book(u32, &'static str, (u16, u16)),
    /// Booking id, priority group, time.
    CheckIn(u32, Option<&'static str>, (u16, u16)),
    /// Service, priority group, time.
    Walk(&'static str, Option<&'static str>, (u16, u16)),
    /// Counter calls at a time and must get this ticket for this reason; it is then served at
    /// once, leaving the counter free.
    Serve(u16, (u16, u16), &'static str, CallReason),
    /// Counter calls and must find nobody it can serve.
    Nobody(u16, (u16, u16)),
}

use CallReason::{Booked, EarlyBooked, Fairness, WalkIn};
use Step::{Book, CheckIn, Nobody, Serve, Walk};

fn ordering_cases() -> Vec<(&'static str, QueueConfig, Vec<Step>)> {
    let two_counters = QueueConfig {
        counters: vec![
            CounterConfig::only(1, [svc(PSP)]),
            CounterConfig::only(2, [svc(VEH), svc(TAX)]),
        ],
        ..QueueConfig::default()
    };
    let strict = |k: u16, w: u16| QueueConfig {
        fairness: FairnessRule {
            max_booked_in_row: k,
            walk_in_wait_min: w,
        },
        ..QueueConfig::default()
    };
    let six_booked_at_nine = || {
        let mut s: Vec<Step> = (1..=6).map(|id| Book(id, PSP, (9, 0))).collect();
        s.extend((1..=6).map(|id| CheckIn(id, None, (8, 50))));
        s
    };
    vec![
        (
            "a booked citizen on time goes before an earlier walk-in",
            QueueConfig::default(),
            vec![
                Book(1, PSP, (9, 0)),
                Walk(PSP, None, (8, 55)),
                CheckIn(1, None, (9, 5)),
                Serve(1, (9, 6), "B-001", Booked),
                Serve(1, (9, 7), "W-001", WalkIn),
                Nobody(1, (9, 8)),
            ],
        ),
        (
            "booked citizens go by slot start, not by check-in",
            QueueConfig::default(),
            vec![
                Book(1, PSP, (9, 30)),
                Book(2, PSP, (9, 0)),
                CheckIn(1, None, (8, 40)),
                CheckIn(2, None, (9, 10)),
                Serve(1, (9, 20), "B-002", Booked),
                Serve(1, (9, 21), "B-001", Booked),
            ],
        ),
        (
            "a late booked citizen joins the walk-in line by check-in time",
            QueueConfig::default(),
            vec![
                Book(1, PSP, (9, 0)),  // deadline 9:40
                Book(2, PSP, (10, 0)), // on time
                Walk(PSP, None, (9, 35)),
                CheckIn(1, None, (9, 41)),
                Walk(PSP, None, (9, 50)),
                CheckIn(2, None, (9, 55)),
                Serve(1, (10, 0), "B-002", Booked),
                Serve(1, (10, 1), "W-001", WalkIn),
                Serve(1, (10, 2), "B-001", WalkIn),
                Serve(1, (10, 3), "W-002", WalkIn),
            ],
        ),
        (
            "checking in exactly at the deadline is still on time",
            QueueConfig::default(),
            vec![
                Book(1, PSP, (9, 0)),
                Walk(PSP, None, (9, 0)),
                CheckIn(1, None, (9, 40)),
                Serve(1, (9, 40), "B-001", Booked),
            ],
        ),
        (
            "priority groups go ahead in the walk-in line by rank, then arrival",
            QueueConfig::default(),
            vec![
                Walk(PSP, None, (9, 0)),
                Walk(PSP, Some("elderly"), (9, 1)),
                Walk(PSP, Some("disabled"), (9, 2)),
                Walk(PSP, Some("pregnant"), (9, 3)),
                Serve(1, (9, 10), "W-003", WalkIn),
                Serve(1, (9, 11), "W-002", WalkIn),
                Serve(1, (9, 12), "W-004", WalkIn),
                Serve(1, (9, 13), "W-001", WalkIn),
            ],
        ),
        (
            "priority does not jump the booked lane, and applies to late booked citizens",
            QueueConfig::default(),
            vec![
                Book(1, PSP, (9, 0)),
                Book(2, PSP, (8, 0)), // deadline 8:40
                Walk(PSP, Some("disabled"), (8, 50)),
                Walk(PSP, None, (8, 51)),
                CheckIn(2, Some("elderly"), (8, 55)), // late, rank 2
                CheckIn(1, None, (8, 56)),
                Serve(1, (9, 0), "B-002", Booked),
                Serve(1, (9, 1), "W-001", WalkIn),
                Serve(1, (9, 2), "B-001", WalkIn),
                Serve(1, (9, 3), "W-002", WalkIn),
            ],
        ),
        (
            "a booked citizen is due from grace_before_min before the slot; earlier only if the \
             counter would idle",
            QueueConfig::default(),
            vec![
                Book(1, PSP, (10, 0)), // window opens 9:45
                Book(2, PSP, (10, 30)),
                CheckIn(1, None, (9, 0)),
                CheckIn(2, None, (9, 1)),
                Walk(PSP, None, (9, 10)),
                Serve(1, (9, 20), "W-001", WalkIn),
                Serve(1, (9, 30), "B-001", EarlyBooked),
                Walk(PSP, None, (9, 40)),
                Serve(1, (9, 44), "W-002", WalkIn),
                Serve(1, (10, 15), "B-002", Booked),
            ],
        ),
        (
            "fairness: after K booked calls in a row a walk-in who waited W minutes goes next",
            strict(2, 10),
            {
                let mut s = six_booked_at_nine();
                s.extend([
                    Walk(PSP, None, (9, 0)),
                    Walk(PSP, None, (9, 2)),
                    Serve(1, (9, 1), "B-001", Booked),
                    Serve(1, (9, 5), "B-002", Booked),
                    // Streak 2 but W-001 has waited only 9 minutes.
                    Serve(1, (9, 9), "B-003", Booked),
                    Serve(1, (9, 10), "W-001", Fairness),
                    Serve(1, (9, 11), "B-004", Booked),
                    Serve(1, (9, 12), "B-005", Booked),
                    Serve(1, (9, 13), "W-002", Fairness),
                    Serve(1, (9, 14), "B-006", Booked),
                ]);
                s
            },
        ),
        (
            "without a reachable fairness threshold, walk-ins wait for every booked citizen",
            strict(2, 240),
            {
                let mut s = six_booked_at_nine();
                s.push(Walk(PSP, None, (9, 0)));
                s.extend((1..=6).map(|i| Serve(1, (9, 10 + i), "", Booked)));
                s.push(Serve(1, (9, 30), "W-001", WalkIn));
                s
            },
        ),
        (
            "fairness with K = 0 lets a walk-in who waited W minutes go first",
            strict(0, 5),
            vec![
                Book(1, PSP, (9, 0)),
                CheckIn(1, None, (9, 0)),
                Walk(PSP, None, (9, 0)),
                Serve(1, (9, 4), "B-001", Booked),
                Book(2, PSP, (9, 0)),
                CheckIn(2, None, (9, 4)),
                Serve(1, (9, 5), "W-001", Fairness),
            ],
        ),
        (
            "counters only take the services they handle",
            two_counters,
            vec![
                Walk(VEH, None, (9, 0)),
                Walk(PSP, None, (9, 1)),
                Book(1, TAX, (9, 0)),
                CheckIn(1, None, (9, 2)),
                Serve(1, (9, 5), "W-002", WalkIn),
                Nobody(1, (9, 6)),
                Serve(2, (9, 6), "B-001", Booked),
                Serve(2, (9, 7), "W-001", WalkIn),
                Nobody(2, (9, 8)),
            ],
        ),
    ]
}

#[test]
fn calling_rules() {
    for (name, config, steps) in ordering_cases() {
        let mut d = Day::new(config);
        for (i, step) in steps.iter().enumerate() {
            let ctx = format!("{name}: step {i} {step:?}");
            match *step {
                Book(id, s, at) => d.book(id, s, at),
                CheckIn(id, p, at) => {
                    d.check_in(id, p, at);
                }
                Walk(s, p, at) => {
                    d.walk(s, p, at);
                }
                Serve(counter, at, want, want_reason) => {
                    let (got, reason) = d.call(counter, at);
                    if !want.is_empty() {
                        assert_eq!(got.to_string(), want, "{ctx}");
                    }
                    assert_eq!(reason, want_reason, "{ctx}");
                    d.complete(got, at);
                }
                Nobody(counter, at) => {
                    let r = d.q.call_next(CounterId(counter), t(at.0, at.1));
                    assert_eq!(
                        r,
                        Err(QueueError::NobodyWaiting(CounterId(counter))),
                        "{ctx}"
                    );
                }
            }
        }
        assert_eq!(d.rebuilt(), d.q, "{name}: replay");
    }
}

#[test]
fn fairness_gives_walk_ins_one_call_in_every_k_plus_one_under_load() {
    let k = 3;
    let mut d = Day::new(QueueConfig {
        fairness: FairnessRule {
            max_booked_in_row: k,
            walk_in_wait_min: 15,
        },
        ..QueueConfig::with_counters(2)
    });
    for id in 1..=40 {
        d.book(id, PSP, (8, 0));
        d.check_in(id, None, (8, 0));
    }
    for _ in 0..10 {
        d.walk(PSP, None, (7, 30));
    }
    // Walk-ins have waited 30 minutes already; both counters alternate calls.
    let mut lanes: [Vec<Lane>; 2] = [Vec::new(), Vec::new()];
    for i in 0..24 {
        let counter = 1 + (i % 2) as u16;
        let at = t(8, 0) + Duration::minutes(i64::from(i));
        let (tk, _) = d.call_at(counter, at);
        d.run(d.q.complete(tk, at));
        lanes[usize::from(counter - 1)].push(d.q.ticket(tk).unwrap().lane);
    }
    for lanes in lanes {
        let walk_ins = lanes.iter().filter(|l| **l == Lane::WalkIn).count();
        assert_eq!(walk_ins, 12 / (usize::from(k) + 1), "{lanes:?}");
        for window in lanes.windows(usize::from(k) + 1) {
            assert!(window.contains(&Lane::WalkIn), "{lanes:?}");
        }
    }
}

#[test]
fn counters_refuse_when_busy_unknown_or_unserved() {
    let config = QueueConfig {
        counters: vec![CounterConfig::only(1, [svc(PSP)])],
        ..QueueConfig::default()
    };
    let mut d = Day::new(config);
    assert_eq!(
        d.q.walk_in(&svc(VEH), None, t(9, 0)),
        Err(QueueError::ServiceNotServed(svc(VEH)))
    );
    let w = d.walk(PSP, None, (9, 0));
    d.walk(PSP, None, (9, 0));
    d.call(1, (9, 1));
    assert_eq!(
        d.q.call_next(CounterId(1), t(9, 2)),
        Err(QueueError::CounterBusy {
            counter: CounterId(1),
            ticket: w
        })
    );
    assert_eq!(
        d.q.call_next(CounterId(7), t(9, 2)),
        Err(QueueError::UnknownCounter(CounterId(7)))
    );
    assert_eq!(
        d.q.complete(ticket("W-002"), t(9, 2)),
        Err(QueueError::NotCalled(ticket("W-002")))
    );
    assert_eq!(
        d.q.no_show(ticket("W-009"), t(9, 2)),
        Err(QueueError::UnknownTicket(ticket("W-009")))
    );
    assert_eq!(
        d.q.recall(CounterId(2), t(9, 2)),
        Err(QueueError::NobodyServed(CounterId(2)))
    );
    // A no-show frees the counter for the next person.
    d.run(d.q.no_show(w, t(9, 3)));
    assert_eq!(d.q.ticket(w).unwrap().state, TicketState::NoShow);
    assert_eq!(d.call(1, (9, 4)).0, ticket("W-002"));
}

// ---------------------------------------------------------------------------------------------
// Check-in

#[test]
fn check_in_by_tracking_code() {
    let mut d = Day::new(QueueConfig::default());
    d.book(1, PSP, (9, 0));
    d.book(2, PSP, (9, 0));
    d.run(d.q.cancel_booking(&tc(2), t(8, 0)));

    let tk = d.check_in(1, Some("elderly"), (8, 58));
    assert_eq!(tk, ticket("B-001"));
    let b = d.q.booking(&tc(1)).unwrap();
    assert_eq!(b.state, BookingState::CheckedIn(tk));
    assert_eq!(d.q.booking_status(&tc(1)), Some(BookingStatus::CheckedIn));
    let info = d.q.ticket(tk).unwrap();
    assert_eq!(info.lane, Lane::Booked);
    assert_eq!(info.tracking_code.as_ref(), Some(&tc(1)));
    assert_eq!(info.priority, Some(prio("elderly")));

    type Outcome = Result<Vec<Event>, QueueError>;
    let cases: Vec<(&str, Outcome, QueueError)> = vec![
        (
            "duplicate check-in",
            d.q.check_in_by_tracking(&tc(1), None, t(9, 0)),
            QueueError::AlreadyCheckedIn {
                tracking_code: tc(1),
                ticket: tk,
            },
        ),
        (
            "unknown code (or another day's booking)",
            d.q.check_in_by_tracking(&tc(99), None, t(9, 0)),
            QueueError::UnknownBooking(tc(99)),
        ),
        (
            "cancelled booking",
            d.q.check_in_by_tracking(&tc(2), None, t(9, 0)),
            QueueError::BookingCancelled(tc(2)),
        ),
        (
            "the next day",
            d.q.check_in_by_tracking(&tc(1), None, t(9, 0) + Duration::days(1)),
            QueueError::WrongDay {
                queue_day: day(),
                day: day().add_days(1),
            },
        ),
        (
            "unknown priority group",
            d.q.walk_in(&svc(PSP), Some(&prio("vip")), t(9, 0)),
            QueueError::UnknownPriorityGroup(prio("vip")),
        ),
        (
            "a booking for another day",
            d.q.expect_booking(ExpectedBooking {
                slot: Slot {
                    start: t(9, 0) - Duration::days(1),
                    end: t(9, 30) - Duration::days(1),
                },
                ..booking(3, 3, PSP, (9, 0))
            }),
            QueueError::WrongDay {
                queue_day: day(),
                day: day().add_days(-1),
            },
        ),
        (
            "the same booking twice",
            d.q.expect_booking(booking(1, 1, PSP, (9, 0))),
            QueueError::DuplicateBooking(tc(1)),
        ),
        (
            "an empty slot",
            d.q.expect_booking(ExpectedBooking {
                slot: Slot {
                    start: t(9, 0),
                    end: t(9, 0),
                },
                ..booking(3, 3, PSP, (9, 0))
            }),
            QueueError::InvalidSlot,
        ),
        (
            "cancelling a checked-in booking",
            d.q.cancel_booking(&tc(1), t(9, 0)),
            QueueError::AlreadyCheckedIn {
                tracking_code: tc(1),
                ticket: tk,
            },
        ),
    ];
    for (name, got, want) in cases {
        assert_eq!(got, Err(want), "{name}");
    }
    // Codes for clients are stable.
    assert_eq!(
        d.q.check_in_by_tracking(&tc(99), None, t(9, 0))
            .unwrap_err()
            .code(),
        "unknown_booking"
    );
}

#[test]
fn check_in_by_national_code_finds_todays_booking() {
    let mut d = Day::new(QueueConfig::default());
    // Citizen 7 booked two services today; citizen 8 booked once and cancelled.
    d.run(d.q.expect_booking(booking(1, 7, PSP, (9, 0)))); // deadline 9:40
    d.run(d.q.expect_booking(booking(2, 7, VEH, (11, 0))));
    d.run(d.q.expect_booking(booking(3, 8, PSP, (9, 0))));
    d.run(d.q.cancel_booking(&tc(3), t(8, 0)));

    // At 10:00 the 9:00 booking is past its deadline: the 11:00 one is checked in on time.
    let ev = d.run(d.q.check_in_by_national_code(&nc(7), None, t(10, 0)));
    assert!(
        matches!(&ev[..], [Event::CheckedIn { tracking_code, late: false, .. }] if *tracking_code == tc(2)),
        "{ev:?}"
    );
    // Coming back to the desk: the missed 9:00 booking is checked in late.
    let ev = d.run(d.q.check_in_by_national_code(&nc(7), None, t(10, 5)));
    assert!(
        matches!(&ev[..], [Event::CheckedIn { tracking_code, late: true, .. }] if *tracking_code == tc(1)),
        "{ev:?}"
    );
    assert_eq!(
        d.q.booking(&tc(1)).unwrap().state,
        BookingState::Late(ticket("B-002"))
    );
    assert_eq!(d.q.ticket(ticket("B-002")).unwrap().lane, Lane::WalkIn);
    // Nothing left to check in.
    assert!(matches!(
        d.q.check_in_by_national_code(&nc(7), None, t(10, 6)),
        Err(QueueError::AlreadyCheckedIn { .. })
    ));
    assert_eq!(
        d.q.check_in_by_national_code(&nc(8), None, t(10, 6)),
        Err(QueueError::NoBookingToday)
    );
    assert_eq!(
        d.q.check_in_by_national_code(&nc(9), None, t(10, 6)),
        Err(QueueError::NoBookingToday)
    );
    assert!(matches!(
        d.q.check_in_by_national_code(&nc(7), None, t(10, 6) + Duration::days(1)),
        Err(QueueError::WrongDay { .. })
    ));
    // With two bookings still ahead, the earlier one is checked in first.
    d.run(d.q.expect_booking(booking(4, 9, PSP, (12, 0))));
    d.run(d.q.expect_booking(booking(5, 9, VEH, (11, 30))));
    let ev = d.run(d.q.check_in_by_national_code(&nc(9), None, t(10, 10)));
    assert_eq!(
        d.q.booking(&tc(5)).unwrap().ticket(),
        ev[0].ticket(),
        "{ev:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// No-shows

#[test]
fn bookings_expire_strictly_after_window_plus_grace() {
    let mut d = Day::new(QueueConfig::default()); // grace_after_min = 10
    d.book(1, PSP, (9, 0)); // deadline 9:40
    d.book(2, PSP, (9, 0));
    d.book(3, PSP, (9, 30)); // deadline 10:10
    d.book(4, PSP, (9, 0));
    d.check_in(2, None, (9, 10));
    d.run(d.q.cancel_booking(&tc(4), t(8, 0)));

    assert_eq!(
        d.q.check_in_deadline(&d.q.booking(&tc(1)).unwrap().slot),
        t(9, 40)
    );
    assert!(d.q.expire_no_shows(t(9, 39)).is_empty());
    assert!(d.q.expire_no_shows(t(9, 40)).is_empty());
    let at = t(9, 40) + Duration::seconds(1);
    assert_eq!(
        d.q.expire_no_shows(at),
        vec![Event::BookingNoShow {
            tracking_code: tc(1),
            at
        }]
    );
    let late = t(10, 11);
    let ev = d.q.expire_no_shows(late);
    assert_eq!(
        ev,
        vec![
            Event::BookingNoShow {
                tracking_code: tc(1),
                at: late
            },
            Event::BookingNoShow {
                tracking_code: tc(3),
                at: late
            },
        ]
    );
    d.commit(ev);
    assert!(
        d.q.expire_no_shows(t(13, 0)).is_empty(),
        "expiry is idempotent"
    );
    assert_eq!(d.q.booking_status(&tc(1)), Some(BookingStatus::NoShow));
    assert_eq!(d.q.booking_status(&tc(2)), Some(BookingStatus::CheckedIn));
    assert_eq!(d.q.booking_status(&tc(4)), Some(BookingStatus::Cancelled));
    assert_eq!(d.q.figures().no_shows, 2);
    assert_eq!(
        d.q.cancel_booking(&tc(1), t(10, 12)),
        Err(QueueError::BookingNoShow(tc(1)))
    );

    // The citizen turns up after all: checked in late, into the walk-in line; the booking is
    // now a late arrival rather than a no-show.
    let tk = d.check_in(1, None, (10, 30));
    assert_eq!(d.q.ticket(tk).unwrap().lane, Lane::WalkIn);
    assert_eq!(d.q.booking_status(&tc(1)), Some(BookingStatus::CheckedIn));
    let f = d.q.figures();
    assert_eq!((f.no_shows, f.late_arrivals, f.check_ins), (1, 1, 1));

    // A checked-in citizen who does not answer the call ends as a booking no-show too.
    let (called, _) = d.call(1, (10, 31));
    assert_eq!(called, ticket("B-001"));
    d.run(d.q.no_show(called, t(10, 35)));
    assert_eq!(d.q.booking_status(&tc(2)), Some(BookingStatus::NoShow));
    assert_eq!(d.q.figures().missed_calls, 1);
    assert_eq!(d.rebuilt(), d.q);
}

// ---------------------------------------------------------------------------------------------
// Replay

/// A small deterministic generator, so the long scenario is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn rebuild_from_the_log_equals_the_live_queue() {
    let config = QueueConfig {
        counters: vec![
            CounterConfig::all(1),
            CounterConfig::only(2, [svc(PSP), svc(VEH)]),
            CounterConfig::only(3, [svc(TAX)]),
        ],
        handling_min: [(svc(PSP), 12), (svc(VEH), 7), (svc(TAX), 20)]
            .into_iter()
            .collect(),
        fairness: FairnessRule {
            max_booked_in_row: 2,
            walk_in_wait_min: 10,
        },
        ..QueueConfig::default()
    };
    let services = [PSP, VEH, TAX];
    let groups = [
        None,
        None,
        None,
        Some("elderly"),
        Some("disabled"),
        Some("pregnant"),
    ];
    let mut rng = Lcg(1404);
    let mut d = Day::new(config.clone());
    for id in 0..40u32 {
        let slot = (8 + (id as u16 % 10) / 2, (id as u16 % 2) * 30);
        let service = services[rng.below(3) as usize];
        // Some citizens book twice.
        let citizen = if id % 7 == 0 { id + 1 } else { id };
        d.run(d.q.expect_booking(booking(id, citizen, service, slot)));
    }
    let mut snapshots = Vec::new();
    let mut refused = 0;
    let mut now = t(7, 30);
    while now < t(14, 30) {
        now += Duration::seconds(20 + rng.below(60) as i64);
        let counter = CounterId(1 + rng.below(3) as u16);
        let group = groups[rng.below(6) as usize].map(prio);
        let result = match rng.below(20) {
            0..=3 => {
                d.q.check_in_by_tracking(&tc(rng.below(42) as u32), group.as_ref(), now)
            }
            4..=5 => {
                d.q.check_in_by_national_code(&nc(rng.below(42) as u32), group.as_ref(), now)
            }
            6..=8 => {
                d.q.walk_in(&svc(services[rng.below(3) as usize]), group.as_ref(), now)
            }
            9..=12 => d.q.call_next(counter, now),
            13..=15 => match d.q.serving(counter) {
                Some(tk) => d.q.complete(tk, now),
                None => d.q.call_next(counter, now),
            },
            16 => match d.q.serving(counter) {
                Some(tk) => d.q.no_show(tk, now),
                None => d.q.recall(counter, now),
            },
            17 => d.q.recall(counter, now),
            18 => Ok(d.q.expire_no_shows(now)),
            _ => d.q.cancel_booking(&tc(rng.below(42) as u32), now),
        };
        match result {
            Ok(events) => {
                d.commit(events);
            }
            Err(_) => refused += 1,
        }
        // The state stays coherent at every step.
        let waiting: Vec<Ticket> =
            d.q.tickets()
                .filter(|t| t.state == TicketState::Waiting)
                .map(|t| t.ticket)
                .collect();
        for w in &waiting {
            assert!(d.q.estimated_wait(*w, now).is_ok());
        }
        assert_eq!(d.q.display(now).waiting_count as usize, waiting.len());
        if rng.below(10) == 0 {
            snapshots.push((d.log.len(), d.q.clone()));
        }
    }
    d.commit(d.q.expire_no_shows(t(23, 0)));

    // The scenario exercised every kind of event and some refusals.
    for kind in [
        "booking_expected",
        "booking_cancelled",
        "booking_no_show",
        "checked_in",
        "walk_in",
        "called",
        "recalled",
        "completed",
        "no_show",
    ] {
        assert!(d.log.iter().any(|e| e.kind() == kind), "no {kind} event");
    }
    assert!(d.log.len() > 300, "{} events", d.log.len());
    assert!(refused > 20);
    for reason in [Booked, WalkIn, Fairness] {
        assert!(
            d.log
                .iter()
                .any(|e| matches!(e, Event::Called { reason: r, .. } if *r == reason)),
            "no call for {reason:?}"
        );
    }

    // Replaying the whole log, and every prefix, gives the same state.
    let rebuilt = d.rebuilt();
    assert_eq!(rebuilt, d.q);
    assert_eq!(rebuilt.version(), d.log.len() as u64);
    assert!(snapshots.len() > 10);
    for (len, snapshot) in &snapshots {
        let prefix = Queue::rebuild(office(), day(), config.clone(), &d.log[..*len]).unwrap();
        assert_eq!(&prefix, snapshot, "prefix of {len} events");
    }

    // Through JSON, as the durable log stores it.
    let json: Vec<String> = d
        .log
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let decoded: Vec<Event> = json
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    assert_eq!(decoded, d.log);
    let from_json = Queue::rebuild(office(), day(), config.clone(), &decoded).unwrap();
    assert_eq!(from_json, d.q);
    assert_eq!(from_json.display(t(14, 30)), d.q.display(t(14, 30)));

    // Applying never reads the configuration: another configuration replays the same facts.
    let other = Queue::rebuild(office(), day(), QueueConfig::with_counters(1), &d.log).unwrap();
    assert_eq!(other.figures(), d.q.figures());
    assert_eq!(other.tickets().count(), d.q.tickets().count());
}

#[test]
fn events_have_a_stable_json_form() {
    let called = Event::Called {
        ticket: ticket("W-012"),
        counter: CounterId(3),
        at: t(9, 5),
        reason: Fairness,
    };
    assert_eq!(
        serde_json::to_string(&called).unwrap(),
        r#"{"type":"called","ticket":"W-012","counter":3,"at":"2025-11-01T05:35:00Z","reason":"fairness"}"#
    );
    let checked_in = Event::CheckedIn {
        tracking_code: tc(1),
        ticket: ticket("B-001"),
        at: t(9, 0),
        priority: Some(prio("elderly")),
        late: false,
    };
    let json = serde_json::to_value(&checked_in).unwrap();
    assert_eq!(json["type"], "checked_in");
    assert_eq!(json["tracking_code"], tc(1).as_str());
    assert_eq!(json["priority"], "elderly");
    let expected = Event::BookingExpected {
        tracking_code: tc(1),
        national_code: nc(1),
        service: svc(PSP),
        slot_start: t(9, 0),
        slot_end: t(9, 30),
    };
    let back: Event = serde_json::from_str(&serde_json::to_string(&expected).unwrap()).unwrap();
    assert_eq!(back, expected);
    // Bad identifiers are refused on the way in.
    assert!(
        serde_json::from_str::<Event>(
            r#"{"type":"completed","ticket":"X-1","at":"2025-11-01T05:35:00Z"}"#
        )
        .is_err()
    );
}

#[test]
fn a_log_that_does_not_fit_is_refused_and_leaves_the_state_unchanged() {
    let mut d = Day::new(QueueConfig::default());
    let w = d.walk(PSP, None, (9, 0));
    d.call(1, (9, 1));
    d.complete(w, (9, 5));
    let before = d.q.clone();
    let bad = [
        Event::Completed {
            ticket: w,
            at: t(9, 6),
        },
        Event::Called {
            ticket: ticket("W-005"),
            counter: CounterId(1),
            at: t(9, 6),
            reason: WalkIn,
        },
        Event::WalkIn {
            ticket: w,
            service: svc(PSP),
            at: t(9, 6),
            priority: None,
        },
        Event::BookingNoShow {
            tracking_code: tc(1),
            at: t(9, 6),
        },
    ];
    for e in &bad {
        let err = d.q.apply(e).unwrap_err();
        assert_eq!(err.code(), "invalid_event", "{e:?}");
        assert_eq!(d.q, before, "{e:?}");
    }
    let mut log = d.log.clone();
    log.insert(
        1,
        Event::Completed {
            ticket: w,
            at: t(9, 1),
        },
    );
    assert!(matches!(
        Queue::rebuild(office(), day(), QueueConfig::default(), &log),
        Err(QueueError::InvalidEvent {
            kind: "completed",
            ..
        })
    ));
}

// ---------------------------------------------------------------------------------------------
// Estimated waits

#[test]
fn estimated_wait_follows_the_formula() {
    let config = QueueConfig {
        handling_min: [(svc(PSP), 10), (svc(VEH), 6)].into_iter().collect(),
        ..QueueConfig::with_counters(2)
    };
    let mut d = Day::new(config);
    d.book(1, PSP, (9, 0));
    d.book(2, VEH, (10, 0)); // window opens 9:45
    d.check_in(1, None, (8, 55));
    d.check_in(2, None, (9, 0));
    let w1 = d.walk(PSP, None, (9, 0));
    let w2 = d.walk(VEH, Some("elderly"), (9, 1));
    let w3 = d.walk(PSP, None, (9, 2));
    d.call(1, (9, 0)); // B-001, PSP, 10 min
    let now = t(9, 4);
    let wait = |tk: Ticket| d.q.estimated_wait(tk, now).unwrap();
    // Counter 1 has 6 minutes left of B-001; counter 2 is free.
    // W-002 (elderly) is first in the walk-in line: (0 + 360 s) / 2.
    assert_eq!(wait(w2), Duration::minutes(3));
    // W-001 has W-002 ahead: (360 + 360) / 2.
    assert_eq!(wait(w1), Duration::minutes(6));
    // W-003 has W-002 and W-001 ahead: (360 + 600 + 360) / 2.
    assert_eq!(wait(w3), Duration::minutes(11));
    // B-002's window opens at 9:45, later than the load-based 3 minutes.
    assert_eq!(wait(ticket("B-002")), Duration::minutes(41));
    assert_eq!(
        d.q.estimated_wait(ticket("B-001"), now),
        Err(QueueError::NotWaiting(ticket("B-001")))
    );
    assert_eq!(
        d.q.estimated_wait(ticket("W-099"), now),
        Err(QueueError::UnknownTicket(ticket("W-099")))
    );
}

#[test]
fn estimated_waits_decrease_as_people_are_served() {
    let config = QueueConfig {
        default_handling_min: 10,
        ..QueueConfig::with_counters(2)
    };
    let mut d = Day::new(config);
    let tickets: Vec<Ticket> = (0..7).map(|_| d.walk(PSP, None, (9, 0))).collect();
    let last = *tickets.last().unwrap();
    let mut seen = vec![d.q.estimated_wait(last, t(9, 0)).unwrap()];
    assert_eq!(seen[0], Duration::minutes(30)); // six ahead, ten minutes each, two counters
    // The counters serve in turn, each person taking 8 to 12 minutes.
    let mut now = t(9, 0);
    let mut busy: Vec<(u16, Ticket, OffsetDateTime)> = Vec::new();
    for (i, tk) in tickets.iter().take(6).enumerate() {
        let counter = 1 + (i % 2) as u16;
        if let Some(pos) = busy.iter().position(|(c, _, _)| *c == counter) {
            let (_, prev, done) = busy.remove(pos);
            now = now.max(done);
            d.run(d.q.complete(prev, now));
            seen.push(d.q.estimated_wait(last, now).unwrap());
        }
        let (called, _) = d.call_at(counter, now);
        assert_eq!(called, *tk);
        seen.push(d.q.estimated_wait(last, now).unwrap());
        busy.push((
            counter,
            called,
            now + Duration::minutes(8 + (i as i64 % 3) * 2),
        ));
    }
    for pair in seen.windows(2) {
        assert!(pair[1] <= pair[0], "{seen:?}");
    }
    assert!(*seen.last().unwrap() < seen[0], "{seen:?}");
    assert!(*seen.last().unwrap() <= Duration::minutes(10), "{seen:?}");
}

// ---------------------------------------------------------------------------------------------
// The TV display

#[test]
fn display_shows_counters_and_the_next_tickets() {
    let config = QueueConfig {
        display_next_up: 3,
        ..QueueConfig::with_counters(3)
    };
    let mut d = Day::new(config);
    let empty = d.q.display(t(9, 0));
    assert!(empty.now_serving.is_empty() && empty.next_up.is_empty());
    assert_eq!(empty.waiting_count, 0);

    d.book(1, PSP, (9, 0));
    d.book(2, PSP, (11, 0));
    d.check_in(2, None, (9, 0)); // B-001, window opens 10:45
    for _ in 0..4 {
        d.walk(PSP, None, (9, 1)); // W-001..W-004
    }
    d.check_in(1, None, (9, 2)); // B-002, due
    d.walk(PSP, Some("disabled"), (9, 3)); // W-005
    d.call(3, (9, 5)); // B-002 (booked first)
    d.call(1, (9, 6)); // W-005 (priority)
    d.run(d.q.recall(CounterId(3), t(9, 7)));

    let shown = d.q.display(t(9, 8));
    assert_eq!(
        shown.now_serving,
        vec![
            NowServing {
                counter: CounterId(1),
                ticket: ticket("W-005"),
                called_at: t(9, 6)
            },
            NowServing {
                counter: CounterId(3),
                ticket: ticket("B-002"),
                called_at: t(9, 7)
            },
        ]
    );
    assert_eq!(
        shown.next_up,
        vec![ticket("W-001"), ticket("W-002"), ticket("W-003")]
    );
    assert_eq!(shown.waiting_count, 5);
    // The early booked citizen is last: their window opens at 10:45.
    let line = d.q.line(t(9, 8));
    assert_eq!(line.last().unwrap().ticket, ticket("B-001"));
    assert_eq!(line.len(), 5);
    assert_eq!(ticket("W-012").to_string(), "W-012");
}

#[test]
fn tickets_parse_loosely_and_print_plainly() {
    for (input, want) in [
        ("W-012", "W-012"),
        ("w12", "W-012"),
        ("B 7", "B-007"),
        ("W-۰۱۲", "W-012"),
        ("b-1234", "B-1234"),
    ] {
        assert_eq!(Ticket::parse(input).unwrap().to_string(), want, "{input}");
    }
    for bad in ["", "X-1", "W-", "W-0", "W-1a", "W-999999"] {
        assert!(Ticket::parse(bad).is_err(), "{bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

#[test]
fn figures_of_a_hand_computed_day() {
    let mut d = Day::new(QueueConfig::with_counters(2));
    // A, B at 9:00; C, D at 9:30; E at 10:00 and cancelled.
    d.book(1, PSP, (9, 0));
    d.book(2, PSP, (9, 0));
    d.book(3, VEH, (9, 30));
    d.book(4, VEH, (9, 30));
    d.book(5, TAX, (10, 0));
    d.run(d.q.cancel_booking(&tc(5), t(8, 0)));

    let a = d.check_in(1, None, (8, 50)); // early: waits from 9:00
    assert_eq!(d.call(1, (9, 0)), (a, Booked)); // wait 0
    let b = d.check_in(2, None, (9, 5));
    assert_eq!(d.call(2, (9, 6)), (b, Booked)); // wait 60 s
    let w1 = d.walk(PSP, None, (9, 10));
    d.complete(a, (9, 12)); // service 720 s
    assert_eq!(d.call(1, (9, 12)), (w1, WalkIn)); // wait 120 s
    d.complete(b, (9, 20)); // service 840 s
    let w2 = d.walk(TAX, Some("elderly"), (9, 20));
    assert_eq!(d.call(2, (9, 20)), (w2, WalkIn)); // wait 0
    d.run(d.q.no_show(w2, t(9, 25)));
    d.complete(w1, (9, 30)); // service 1080 s

    // Mid-morning: the partition holds with C and D pending.
    let f = d.q.figures();
    assert_eq!(
        (f.bookings, f.check_ins, f.no_shows, f.late_arrivals),
        (4, 2, 0, 0)
    );

    d.commit(d.q.expire_no_shows(t(10, 11))); // C and D missed 10:10
    let late = d.check_in(4, None, (10, 20)); // D turns up late
    let w3 = d.walk(VEH, None, (10, 25));
    assert_eq!(d.call(1, (10, 30)), (late, WalkIn)); // wait 600 s
    d.complete(late, (10, 40)); // service 600 s
    assert_eq!(d.call(2, (10, 40)), (w3, WalkIn)); // wait 900 s, still at the counter

    let f = d.q.figures();
    assert_eq!(f.bookings, 4);
    assert_eq!(f.cancelled, 1);
    assert_eq!(f.check_ins, 2);
    assert_eq!(f.late_arrivals, 1);
    assert_eq!(f.no_shows, 1);
    assert_eq!(f.walk_ins, 3);
    assert_eq!(f.completed, 4);
    assert_eq!(f.missed_calls, 1);
    // Waits 0, 60, 120, 0, 600, 900 s; services 720, 840, 1080, 600 s.
    assert_eq!(f.avg_wait_s, Some(280));
    assert_eq!(f.max_wait_s, Some(900));
    assert_eq!(f.avg_service_s, Some(810));
    // Visits with a booking: A, B and D out of six.
    assert_eq!(f.booked_share, Some(0.5));
    assert_eq!(d.rebuilt().figures(), f);

    let none = Queue::new(office(), day(), QueueConfig::default())
        .unwrap()
        .figures();
    assert_eq!(
        (none.avg_wait_s, none.avg_service_s, none.booked_share),
        (None, None, None)
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration

#[test]
fn configuration_is_validated() {
    let dup_group = PriorityGroup::new("elderly", "سالمندان", "Elderly", 3).unwrap();
    let cases: Vec<(&str, QueueConfig)> = vec![
        (
            "no counters",
            QueueConfig {
                counters: vec![],
                ..QueueConfig::default()
            },
        ),
        (
            "a counter twice",
            QueueConfig {
                counters: vec![CounterConfig::all(1), CounterConfig::all(1)],
                ..QueueConfig::default()
            },
        ),
        (
            "counter 0",
            QueueConfig {
                counters: vec![CounterConfig::all(0)],
                ..QueueConfig::default()
            },
        ),
        (
            "a counter for nothing",
            QueueConfig {
                counters: vec![CounterConfig::only(1, [])],
                ..QueueConfig::default()
            },
        ),
        (
            "a priority group twice",
            QueueConfig {
                priority_groups: [QueueConfig::default_priority_groups(), vec![dup_group]].concat(),
                ..QueueConfig::default()
            },
        ),
        (
            "rank 0",
            QueueConfig {
                priority_groups: vec![
                    PriorityGroup::new("veteran", "ایثارگران", "Veterans", 0).unwrap(),
                ],
                ..QueueConfig::default()
            },
        ),
        (
            "zero handling time",
            QueueConfig {
                default_handling_min: 0,
                ..QueueConfig::default()
            },
        ),
    ];
    for (name, config) in cases {
        let err = Queue::new(office(), day(), config).unwrap_err();
        assert_eq!(err.code(), "invalid_queue_config", "{name}");
    }
    assert!(QueueConfig::default().validate().is_ok());
    assert!(PriorityCode::parse("Elderly").is_ok());
    assert!(PriorityCode::parse("x").is_err());

    // A manager may change the configuration during the day.
    let mut d = Day::new(QueueConfig::with_counters(1));
    let w = d.walk(PSP, None, (9, 0));
    d.q.set_config(QueueConfig {
        counters: vec![CounterConfig::only(2, [svc(VEH)])],
        ..QueueConfig::default()
    })
    .unwrap();
    assert_eq!(
        d.q.estimated_wait(w, t(9, 1)),
        Err(QueueError::ServiceNotServed(svc(PSP)))
    );
    assert_eq!(d.q.line(t(9, 1))[0].estimated_wait, None);
}
