//! The 40,000 members of staff.
//!
//! Order: the three demo logins, the other national regulators, then office by office the
//! manager followed by the operators. Every office has exactly one manager and one to three
//! operators; the first office's manager and first operator are the demo logins. The number
//! of operators follows the office's counters and is then evened out so that the total is
//! exactly [`STAFF_COUNT`].

use std::collections::HashSet;

use pishkhan_domain::model::{Office, Role, Staff, Username};
use pishkhan_domain::{Mobile, NationalCode};

use crate::people::{FEMALE_FIRST, LAST, MALE_FIRST};
use crate::rng::Rng;

/// Total number of staff, demo logins included.
pub(crate) const STAFF_COUNT: usize = 40_000;

/// National regulators besides the demo `regulator`.
pub(crate) const EXTRA_REGULATORS: usize = 10;

/// Operator prefixes and their rough market weight: MCI (91x, 99x), Irancell (93x, 90x) and
/// RighTel (92x).
const MOBILE_PREFIXES: &[(u16, u32)] = &[
    (912, 14),
    (913, 6),
    (914, 5),
    (915, 5),
    (916, 3),
    (917, 4),
    (918, 3),
    (919, 8),
    (910, 5),
    (911, 4),
    (990, 5),
    (991, 3),
    (935, 8),
    (936, 5),
    (937, 4),
    (938, 3),
    (939, 4),
    (930, 3),
    (933, 2),
    (901, 5),
    (902, 3),
    (903, 2),
    (905, 2),
    (920, 1),
    (921, 2),
    (922, 1),
];

struct People {
    rng: Rng,
    /// National code bodies and `prefix * 10^7 + subscriber` numbers already handed out.
    national_codes: HashSet<u32>,
    mobiles: HashSet<u32>,
    prefix_weights: Vec<u32>,
}

impl People {
    fn new(seed: u64) -> Self {
        Self {
            rng: Rng::fork(seed, 2),
            national_codes: HashSet::with_capacity(STAFF_COUNT),
            mobiles: HashSet::with_capacity(STAFF_COUNT),
            prefix_weights: MOBILE_PREFIXES.iter().map(|p| p.1).collect(),
        }
    }

    fn national_code(&mut self) -> NationalCode {
        loop {
            let body = self.rng.below(1_000_000_000) as u32;
            if self.national_codes.contains(&body) {
                continue;
            }
            if let Ok(code) = NationalCode::from_body(body) {
                self.national_codes.insert(body);
                return code;
            }
        }
    }

    fn mobile(&mut self) -> Mobile {
        loop {
            let prefix = MOBILE_PREFIXES[self.rng.weighted(&self.prefix_weights)].0;
            let subscriber = self.rng.range(1_000_000, 9_999_999);
            let key = u32::from(prefix - 900) * 10_000_000 + subscriber;
            if self.mobiles.contains(&key) {
                continue;
            }
            if let Ok(m) = Mobile::from_parts(prefix, subscriber) {
                self.mobiles.insert(key);
                return m;
            }
        }
    }

    fn person(&mut self, username: &str, office: Option<&Office>, role: Role) -> Staff {
        let first = if self.rng.chance(0.5) {
            *self.rng.pick(MALE_FIRST)
        } else {
            *self.rng.pick(FEMALE_FIRST)
        };
        let last = *self.rng.pick(LAST);
        Staff {
            username: Username::parse(username).expect("generated usernames are valid"),
            national_code: self.national_code(),
            first_name: first.to_string(),
            last_name: last.to_string(),
            mobile: self.mobile(),
            office: office.map(|o| o.code),
            role,
        }
    }
}

/// Operators per office: 1 to 3, more where there are more counters, summing to `total`.
fn operators_per_office(rng: &mut Rng, offices: &[Office], total: usize) -> Vec<u8> {
    let mut ops: Vec<u8> = offices
        .iter()
        .map(|o| match o.counters {
            0..=2 => 1,
            3..=5 => 2,
            _ => 3,
        })
        .collect();
    let mut sum: usize = ops.iter().map(|n| usize::from(*n)).sum();
    assert!(
        (offices.len()..=3 * offices.len()).contains(&total),
        "every office needs 1..=3 operators"
    );
    while sum > total {
        let i = rng.index(ops.len());
        if ops[i] > 1 {
            ops[i] -= 1;
            sum -= 1;
        }
    }
    while sum < total {
        let i = rng.index(ops.len());
        if ops[i] < 3 {
            ops[i] += 1;
            sum += 1;
        }
    }
    ops
}

/// Generates all staff for `seed` and the offices generated from the same seed.
/// `progress(done)` hears how many offices' staff are made, every [`crate::offices::PROGRESS_EVERY`].
pub(crate) fn generate(seed: u64, offices: &[Office], progress: &mut dyn FnMut(u64)) -> Vec<Staff> {
    let first = offices.first().expect("there is at least one office");
    let mut people = People::new(seed);
    let mut staff = Vec::with_capacity(STAFF_COUNT);

    staff.push(people.person("regulator", None, Role::Regulator));
    staff.push(people.person("manager", Some(first), Role::Manager));
    staff.push(people.person("operator", Some(first), Role::Operator));
    for i in 1..=EXTRA_REGULATORS {
        staff.push(people.person(&format!("regulator{i:02}"), None, Role::Regulator));
    }

    let regulators = 1 + EXTRA_REGULATORS;
    let operators = STAFF_COUNT - regulators - offices.len();
    let mut split = Rng::fork(seed, 3);
    let ops = operators_per_office(&mut split, offices, operators);

    for (i, (office, n)) in offices.iter().zip(ops).enumerate() {
        let code = office.code;
        if i > 0 {
            staff.push(people.person(&format!("m{code}"), Some(office), Role::Manager));
        }
        // The demo operator is operator 1 of the first office.
        let from = if i == 0 { 2 } else { 1 };
        for k in from..=n {
            staff.push(people.person(&format!("o{code}-{k}"), Some(office), Role::Operator));
        }
        if (i + 1) % crate::offices::PROGRESS_EVERY == 0 {
            progress((i + 1) as u64);
        }
    }
    progress(offices.len() as u64);
    debug_assert_eq!(staff.len(), STAFF_COUNT);
    staff
}
