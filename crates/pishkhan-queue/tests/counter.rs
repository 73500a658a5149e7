//! The counter's own moves through the public API: recall, transfer to another counter, and
//! breaks (pause and resume), with their refusals and a replay of the log.

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::{OfficeCode, ServiceCode};
use pishkhan_domain::schedule::tehran_instant;
use pishkhan_queue::{
    CallReason, CounterConfig, CounterId, Event, Queue, QueueConfig, QueueError, Ticket,
    TicketState,
};
use time::OffsetDateTime;

fn day() -> JalaliDate {
    JalaliDate::new(1404, 8, 10).unwrap()
}

fn t(h: u16, m: u16) -> OffsetDateTime {
    tehran_instant(day(), h * 60 + m)
}

fn svc(code: &str) -> ServiceCode {
    ServiceCode::parse(code).unwrap()
}

const PSP: &str = "PSP-001";
const VEH: &str = "VEH-002";

/// Counter 1 and 2 handle everything; counter 3 only vehicles.
fn config() -> QueueConfig {
    QueueConfig {
        counters: vec![
            CounterConfig::all(1),
            CounterConfig::all(2),
            CounterConfig::only(3, [svc(VEH)]),
        ],
        ..QueueConfig::default()
    }
}

struct Day {
    q: Queue,
    log: Vec<Event>,
}

impl Day {
    fn new() -> Self {
        let office = OfficeCode::from_u32(12_345_678).unwrap();
        Self {
            q: Queue::new(office, day(), config()).unwrap(),
            log: Vec::new(),
        }
    }

    fn run(&mut self, r: Result<Vec<Event>, QueueError>) -> Vec<Event> {
        let events = r.unwrap_or_else(|e| panic!("refused: {e}"));
        self.q.apply_all(&events).unwrap();
        self.log.extend(events.iter().cloned());
        events
    }

    fn walk(&mut self, service: &str, (h, m): (u16, u16)) -> Ticket {
        let ev = self.q.walk_in(&svc(service), None, t(h, m));
        self.run(ev)[0].ticket().unwrap()
    }

    fn call(&mut self, counter: u16, (h, m): (u16, u16)) -> (Ticket, CallReason) {
        let ev = self.q.call_next(CounterId(counter), t(h, m));
        match self.run(ev).as_slice() {
            [Event::Called { ticket, reason, .. }] => (*ticket, *reason),
            other => panic!("expected one call, got {other:?}"),
        }
    }

    fn rebuilt(&self) -> Queue {
        Queue::rebuild(self.q.office(), day(), config(), &self.log).unwrap()
    }
}

#[test]
fn recall_announces_the_same_person_again() {
    let mut d = Day::new();
    let w = d.walk(PSP, (9, 0));
    d.call(1, (9, 1));
    let ev = d.run(d.q.recall(CounterId(1), t(9, 3)));
    assert_eq!(
        ev,
        vec![Event::Recalled {
            ticket: w,
            counter: CounterId(1),
            at: t(9, 3)
        }]
    );
    let info = d.q.ticket(w).unwrap();
    assert_eq!(info.state, TicketState::Called);
    assert_eq!(info.called_at, Some(t(9, 1)));
    assert_eq!(info.last_called_at, Some(t(9, 3)));
    assert_eq!(
        d.q.recall(CounterId(2), t(9, 4)),
        Err(QueueError::NobodyServed(CounterId(2)))
    );
    // A counter the office does not have serves nobody either.
    assert_eq!(
        d.q.recall(CounterId(9), t(9, 4)),
        Err(QueueError::NobodyServed(CounterId(9)))
    );
}

#[test]
fn a_transferred_person_is_called_first_by_the_target_and_skipped_by_others() {
    let mut d = Day::new();
    let first = d.walk(PSP, (9, 0));
    let second = d.walk(PSP, (9, 1));
    let third = d.walk(PSP, (9, 2));
    assert_eq!(d.call(1, (9, 3)).0, first);
    d.run(d.q.transfer(CounterId(1), CounterId(2), t(9, 5)));
    let info = d.q.ticket(first).unwrap();
    assert_eq!(info.state, TicketState::Waiting);
    assert_eq!(info.reserved_for, Some(CounterId(2)));
    assert_eq!(d.q.serving(CounterId(1)), None);

    // Counter 1 is free again and passes the transferred person by.
    assert_eq!(d.call(1, (9, 6)), (second, CallReason::WalkIn));
    // Counter 2 calls them before the older walk-in line.
    assert_eq!(d.call(2, (9, 7)), (first, CallReason::Transferred));
    let info = d.q.ticket(first).unwrap();
    assert_eq!(info.counter, Some(CounterId(2)));
    assert_eq!(info.reserved_for, None);
    // The wait ended at the first call.
    assert_eq!(info.called_at, Some(t(9, 3)));
    d.run(d.q.complete(first, t(9, 10)));
    assert_eq!(d.call(2, (9, 11)).0, third);
    assert_eq!(d.rebuilt(), d.q);
}

#[test]
fn transfers_are_refused_to_counters_that_cannot_take_the_person() {
    let mut d = Day::new();
    let w = d.walk(PSP, (9, 0));
    assert_eq!(
        d.q.transfer(CounterId(1), CounterId(2), t(9, 1)),
        Err(QueueError::NobodyServed(CounterId(1)))
    );
    d.call(1, (9, 1));
    let refused =
        d.q.transfer(CounterId(1), CounterId(3), t(9, 2))
            .unwrap_err();
    assert_eq!(
        refused,
        QueueError::CounterCannotServe {
            counter: CounterId(3),
            service: svc(PSP)
        }
    );
    assert_eq!(refused.code(), "counter_cannot_serve");
    let same =
        d.q.transfer(CounterId(1), CounterId(1), t(9, 2))
            .unwrap_err();
    assert_eq!(same.code(), "transfer_same_counter");
    assert_eq!(
        d.q.transfer(CounterId(1), CounterId(7), t(9, 2)),
        Err(QueueError::UnknownCounter(CounterId(7)))
    );
    d.run(d.q.pause(CounterId(2), t(9, 2)));
    assert_eq!(
        d.q.transfer(CounterId(1), CounterId(2), t(9, 3)),
        Err(QueueError::CounterPaused(CounterId(2)))
    );
    // Nothing moved.
    assert_eq!(d.q.serving(CounterId(1)), Some(w));
}

#[test]
fn a_paused_counter_calls_nobody_until_it_resumes() {
    let mut d = Day::new();
    let w = d.walk(PSP, (9, 0));
    d.call(1, (9, 1));
    let busy = d.q.pause(CounterId(1), t(9, 2)).unwrap_err();
    assert_eq!(busy.code(), "counter_busy");
    d.run(d.q.complete(w, t(9, 3)));
    let next = d.walk(PSP, (9, 4));
    assert_eq!(
        d.q.resume(CounterId(1), t(9, 4)).unwrap_err().code(),
        "counter_not_paused"
    );
    d.run(d.q.pause(CounterId(1), t(9, 5)));
    assert!(d.q.is_paused(CounterId(1)));
    assert_eq!(d.q.paused_counters(), vec![CounterId(1)]);
    assert_eq!(
        d.q.call_next(CounterId(1), t(9, 6)),
        Err(QueueError::CounterPaused(CounterId(1)))
    );
    assert_eq!(
        d.q.pause(CounterId(1), t(9, 6)),
        Err(QueueError::CounterPaused(CounterId(1)))
    );
    // Other counters go on calling.
    assert_eq!(d.call(2, (9, 7)).0, next);
    d.run(d.q.resume(CounterId(1), t(9, 8)));
    assert!(!d.q.is_paused(CounterId(1)));
    let later = d.walk(PSP, (9, 9));
    assert_eq!(d.call(1, (9, 10)).0, later);
    assert_eq!(d.rebuilt(), d.q);
}

#[test]
fn the_new_events_replay_from_json_and_refuse_what_does_not_fit() {
    let mut d = Day::new();
    let w = d.walk(PSP, (9, 0));
    d.call(1, (9, 1));
    d.run(d.q.recall(CounterId(1), t(9, 2)));
    d.run(d.q.transfer(CounterId(1), CounterId(2), t(9, 3)));
    d.run(d.q.pause(CounterId(1), t(9, 4)));
    let json: Vec<String> = d
        .log
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    assert!(json.iter().any(|j| j.contains(r#""type":"transferred""#)));
    assert!(
        json.iter()
            .any(|j| j.contains(r#""type":"counter_paused""#))
    );
    let back: Vec<Event> = json
        .iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect();
    assert_eq!(back, d.log);
    let replayed = Queue::rebuild(d.q.office(), day(), config(), &back).unwrap();
    assert_eq!(replayed, d.q);
    for e in &d.log {
        assert!(Event::KINDS.contains(&e.kind()), "{}", e.kind());
    }

    let before = d.q.clone();
    let bad = [
        // Reserved for counter 2.
        Event::Called {
            ticket: w,
            counter: CounterId(3),
            at: t(9, 5),
            reason: CallReason::WalkIn,
        },
        // Counter 1 is paused.
        Event::Called {
            ticket: w,
            counter: CounterId(1),
            at: t(9, 5),
            reason: CallReason::Transferred,
        },
        Event::CounterPaused {
            counter: CounterId(1),
            at: t(9, 5),
        },
        Event::CounterResumed {
            counter: CounterId(2),
            at: t(9, 5),
        },
        Event::Transferred {
            ticket: w,
            from: CounterId(1),
            to: CounterId(2),
            at: t(9, 5),
        },
    ];
    for e in &bad {
        assert_eq!(d.q.apply(e).unwrap_err().code(), "invalid_event", "{e:?}");
        assert_eq!(d.q, before, "{e:?}");
    }
}

#[test]
fn a_counter_on_a_break_does_not_shorten_the_wait() {
    let mut d = Day::new();
    for m in 0..4 {
        d.walk(PSP, (9, m));
    }
    let last = d.walk(PSP, (9, 4));
    let both = d.q.estimated_wait(last, t(9, 5)).unwrap();
    d.run(d.q.pause(CounterId(2), t(9, 5)));
    let one = d.q.estimated_wait(last, t(9, 5)).unwrap();
    assert_eq!(one, both * 2, "half the counters, twice the wait");
    // Every counter on a break: the estimate assumes they come back rather than vanish.
    d.run(d.q.pause(CounterId(1), t(9, 5)));
    assert_eq!(d.q.estimated_wait(last, t(9, 5)).unwrap(), both);
}
