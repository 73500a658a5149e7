//! Samples of the population that exercise the cases consumers get wrong: the dead, lost
//! and revoked cards, Persian spelling (`ی`, `ک`, zero-width non-joiner), minors without a
//! mobile, people with fines.

use serde::Serialize;

use crate::population::{CardStatus, Person, PersonRecord, Population};
use crate::rng::{Stream, tag};

/// The special cases a sample includes, in priority order.
const CATEGORIES: [fn(&PersonRecord) -> bool; 8] = [
    |r| !r.alive(),
    |r| r.card_status() == CardStatus::Lost,
    |r| r.card_status() == CardStatus::Revoked,
    |r| {
        [r.first_name(), r.last_name(), r.father_name()]
            .iter()
            .any(|s| s.contains('\u{200c}'))
    },
    |r| r.first_name().contains('ک') || r.last_name().contains('ک'),
    |r| r.first_name().contains('ی') && r.last_name().contains('ی'),
    |r| !r.has_mobile(),
    |r| r.traffic_fines_rials() > 0,
];

/// How far to look for the special cases: the rarest (revoked cards, 0.5%) turns up within
/// a few hundred people.
const SPECIAL_PROBES: u64 = 100_000;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

pub(crate) fn sample(pop: &Population, n: usize) -> Vec<Person> {
    let size = pop.size();
    let n = n.min(usize::try_from(size).unwrap_or(usize::MAX));
    if n == 0 {
        return Vec::new();
    }
    // Visit the population in a seed-dependent order that touches every index once: a start
    // and a stride coprime to the size, near the golden section so that picks spread out.
    let mut s = Stream::new(pop.seed(), size, tag::SAMPLE);
    let start = s.below(size);
    let mut stride = ((size as f64 * 0.618_033_988_75) as u64).max(1);
    while gcd(stride, size) != 1 {
        stride += 1;
    }
    let probes = size.min(SPECIAL_PROBES.max(n as u64 * 2));

    let mut special: [Option<PersonRecord>; CATEGORIES.len()] = [None; CATEGORIES.len()];
    let mut ordinary: Vec<PersonRecord> = Vec::with_capacity(n);
    for p in 0..probes {
        let index =
            ((u128::from(start) + u128::from(p) * u128::from(stride)) % u128::from(size)) as u64;
        let r = pop.record(index);
        let slot = CATEGORIES
            .iter()
            .zip(special.iter())
            .position(|(is, found)| found.is_none() && is(&r));
        match slot {
            Some(k) => special[k] = Some(r),
            None if ordinary.len() < n => ordinary.push(r),
            None => {}
        }
        if ordinary.len() >= n && special.iter().all(Option::is_some) {
            break;
        }
    }

    let found: Vec<PersonRecord> = special.into_iter().flatten().take(n).collect();
    let m = found.len();
    let mut out: Vec<Option<PersonRecord>> = vec![None; n];
    for (j, r) in found.into_iter().enumerate() {
        out[j * n / m] = Some(r);
    }
    let mut rest = ordinary.into_iter();
    out.into_iter()
        .filter_map(|slot| slot.or_else(|| rest.next()))
        .map(|r| r.to_person())
        .collect()
}

#[derive(Serialize)]
struct SampleLine<'a> {
    national_code: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    father_name: &'a str,
    birth_date: String,
    card_serial: &'a str,
    card_status: &'a str,
    alive: bool,
    mobile: Option<&'a str>,
}

/// [`Population::sample`] as JSON lines, one person per line with exactly the fields
/// `national_code, first_name, last_name, father_name, birth_date` (Jalali `YYYY-MM-DD`),
/// `card_serial, card_status` (`valid|lost|revoked`), `alive` and `mobile` (string or null).
pub fn sample_json_lines(pop: &Population, n: usize) -> String {
    let mut out = String::new();
    for p in pop.sample(n) {
        let line = SampleLine {
            national_code: p.national_code.as_str(),
            first_name: p.first_name,
            last_name: p.last_name,
            father_name: p.father_name,
            birth_date: p.birth_date.to_string(),
            card_serial: p.card_serial.as_str(),
            card_status: p.card_status.as_str(),
            alive: p.alive,
            mobile: p.mobile.as_ref().map(|m| m.as_str()),
        };
        out.push_str(&serde_json::to_string(&line).expect("a sample line serializes"));
        out.push('\n');
    }
    out
}
