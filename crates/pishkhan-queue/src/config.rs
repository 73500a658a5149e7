//! How one office runs its queue: grace periods, priority groups, the fairness rule, counters
//! and the handling time of each service.
//!
//! The configuration is read by the operations and the queries, never by
//! [`Queue::apply`](crate::Queue::apply): a manager may change it during the day, and a
//! durable event log replays the same way under any configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use pishkhan_domain::model::{LocalizedText, ServiceCode};

use crate::QueueError;

/// A counter (baje) of the office, numbered from 1 as on the signs above the desks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct CounterId(pub u16);

impl CounterId {
    /// Offices have at most 200 counters, as in `Office::validate`.
    pub const MAX: u16 = 200;
}

impl fmt::Display for CounterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The code of a priority group, such as `elderly`: 2..=24 of `a-z 0-9 -`, starting with a
/// letter. It is what events record, so renaming a group's label never rewrites history.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct PriorityCode(String);

impl PriorityCode {
    pub fn parse(s: &str) -> Result<Self, QueueError> {
        let s = s.trim().to_ascii_lowercase();
        let ok = (2..=24).contains(&s.len())
            && s.as_bytes()[0].is_ascii_lowercase()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s))
        } else {
            Err(QueueError::InvalidPriorityCode(s))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PriorityCode {
    type Error = QueueError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PriorityCode> for String {
    fn from(p: PriorityCode) -> String {
        p.0
    }
}

impl fmt::Display for PriorityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A group of people who go ahead in the walk-in line, such as the elderly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorityGroup {
    pub code: PriorityCode,
    pub label: LocalizedText,
    /// 1 goes first. Groups of equal rank are served in arrival order among themselves; people
    /// in no group come after every group.
    pub rank: u8,
}

impl PriorityGroup {
    pub fn new(code: &str, fa: &str, en: &str, rank: u8) -> Result<Self, QueueError> {
        Ok(Self {
            code: PriorityCode::parse(code)?,
            label: LocalizedText::new(fa, en),
            rank,
        })
    }
}

/// The rule that keeps booked citizens from starving the walk-in line.
///
/// **Rule.** When a counter calls the next person and both lanes have someone it can serve, the
/// booked lane goes first, *unless* this counter's last `max_booked_in_row` calls were all from
/// the booked lane *and* someone in the walk-in line it can serve has waited at least
/// `walk_in_wait_min` minutes; then the head of the walk-in line is called instead.
///
/// **Guarantee.** Once walk-ins have waited `walk_in_wait_min` minutes, every counter that can
/// serve them gives at least one of every `max_booked_in_row + 1` calls to the walk-in line.
/// With `max_booked_in_row = 0` a walk-in who has waited that long always goes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FairnessRule {
    /// K: booked calls a counter may make in a row while walk-ins have waited too long.
    pub max_booked_in_row: u16,
    /// W: how long a walk-in may wait, in minutes, before the rule protects them.
    pub walk_in_wait_min: u16,
}

impl Default for FairnessRule {
    fn default() -> Self {
        Self {
            max_booked_in_row: 3,
            walk_in_wait_min: 20,
        }
    }
}

/// Which services a counter handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterServices {
    All,
    Only(BTreeSet<ServiceCode>),
}

/// One counter and what it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterConfig {
    pub id: CounterId,
    pub services: CounterServices,
}

impl CounterConfig {
    /// A counter that handles every service.
    pub fn all(id: u16) -> Self {
        Self {
            id: CounterId(id),
            services: CounterServices::All,
        }
    }

    /// A counter that handles only `services`.
    pub fn only(id: u16, services: impl IntoIterator<Item = ServiceCode>) -> Self {
        Self {
            id: CounterId(id),
            services: CounterServices::Only(services.into_iter().collect()),
        }
    }

    pub fn handles(&self, service: &ServiceCode) -> bool {
        match &self.services {
            CounterServices::All => true,
            CounterServices::Only(set) => set.contains(service),
        }
    }
}

/// The queue settings of one office.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long before the slot starts a checked-in booked citizen may be called as booked.
    pub grace_before_min: u16,
    /// How long after the slot ends a booked citizen may check in and still count as on time.
    /// Bookings not checked in by then are no-shows.
    pub grace_after_min: u16,
    pub priority_groups: Vec<PriorityGroup>,
    pub fairness: FairnessRule,
    pub counters: Vec<CounterConfig>,
    /// Average handling time per service, from the catalogue, in minutes.
    pub handling_min: BTreeMap<ServiceCode, u16>,
    /// Handling time of services missing from `handling_min`.
    pub default_handling_min: u16,
    /// How many upcoming tickets the TV display lists.
    pub display_next_up: u16,
    /// Tickets one office may issue in a day, of each kind (booked and walk-in).
    pub max_tickets_per_kind: u16,
}

impl QueueConfig {
    pub const MAX_GRACE_MIN: u16 = 240;
    pub const MAX_HANDLING_MIN: u16 = 480;
    pub const MAX_TICKETS: u16 = 9999;

    /// The defaults with counters `1..=counters`, each handling every service.
    pub fn with_counters(counters: u16) -> Self {
        Self {
            counters: (1..=counters).map(CounterConfig::all).collect(),
            ..Self::default()
        }
    }

    /// The common priority groups: people with disabilities first, then the elderly and
    /// pregnant women.
    pub fn default_priority_groups() -> Vec<PriorityGroup> {
        [
            (
                "disabled",
                "افراد دارای معلولیت",
                "People with disabilities",
                1,
            ),
            ("elderly", "سالمندان", "Elderly", 2),
            ("pregnant", "بانوان باردار", "Pregnant women", 2),
        ]
        .into_iter()
        .map(|(code, fa, en, rank)| PriorityGroup {
            code: PriorityCode(code.to_string()),
            label: LocalizedText::new(fa, en),
            rank,
        })
        .collect()
    }

    pub fn validate(&self) -> Result<(), QueueError> {
        let bad = |m: String| Err(QueueError::InvalidConfig(m));
        if self.grace_before_min > Self::MAX_GRACE_MIN || self.grace_after_min > Self::MAX_GRACE_MIN
        {
            return bad(format!(
                "grace periods are at most {} minutes",
                Self::MAX_GRACE_MIN
            ));
        }
        if self.counters.is_empty() {
            return bad("an office needs at least one counter".into());
        }
        let mut ids = BTreeSet::new();
        for c in &self.counters {
            if !(1..=CounterId::MAX).contains(&c.id.0) {
                return bad(format!(
                    "counter {} is outside 1..={}",
                    c.id,
                    CounterId::MAX
                ));
            }
            if !ids.insert(c.id) {
                return bad(format!("counter {} is listed twice", c.id));
            }
            if matches!(&c.services, CounterServices::Only(s) if s.is_empty()) {
                return bad(format!("counter {} handles no service", c.id));
            }
        }
        let mut codes = BTreeSet::new();
        for g in &self.priority_groups {
            if !codes.insert(&g.code) {
                return bad(format!("priority group {} is listed twice", g.code));
            }
            if g.rank == 0 {
                return bad(format!(
                    "priority group {} needs a rank of 1 or more",
                    g.code
                ));
            }
        }
        let minutes_ok = |m: u16| (1..=Self::MAX_HANDLING_MIN).contains(&m);
        if !minutes_ok(self.default_handling_min)
            || !self.handling_min.values().all(|m| minutes_ok(*m))
        {
            return bad(format!(
                "handling times are 1..={} minutes",
                Self::MAX_HANDLING_MIN
            ));
        }
        if !(1..=Self::MAX_TICKETS).contains(&self.max_tickets_per_kind) {
            return bad(format!("max_tickets_per_kind is 1..={}", Self::MAX_TICKETS));
        }
        if self.display_next_up > 50 {
            return bad("display_next_up is at most 50".into());
        }
        Ok(())
    }

    /// The group with this code, if configured.
    pub fn priority_group(&self, code: &PriorityCode) -> Option<&PriorityGroup> {
        self.priority_groups.iter().find(|g| &g.code == code)
    }

    /// Sort key of a priority: the group's rank, and everyone else (including groups no longer
    /// configured) after all groups.
    pub(crate) fn priority_rank(&self, code: Option<&PriorityCode>) -> u16 {
        code.and_then(|c| self.priority_group(c))
            .map_or(u16::from(u8::MAX) + 1, |g| u16::from(g.rank))
    }

    pub fn counter(&self, id: CounterId) -> Option<&CounterConfig> {
        self.counters.iter().find(|c| c.id == id)
    }

    /// Whether some counter handles `service`.
    pub fn is_served(&self, service: &ServiceCode) -> bool {
        self.counters.iter().any(|c| c.handles(service))
    }

    /// Average handling time of `service`, in seconds.
    pub fn handling_s(&self, service: &ServiceCode) -> i64 {
        let min = self
            .handling_min
            .get(service)
            .copied()
            .unwrap_or(self.default_handling_min);
        i64::from(min) * 60
    }
}

impl Default for QueueConfig {
    /// Booked citizens may be called 15 minutes before their slot and check in up to 10
    /// minutes after it ends; K = 3 booked calls in a row once walk-ins have waited W = 20
    /// minutes; one counter for every service; 15 minutes per service; 6 tickets on the TV.
    fn default() -> Self {
        Self {
            grace_before_min: 15,
            grace_after_min: 10,
            priority_groups: Self::default_priority_groups(),
            fairness: FairnessRule::default(),
            counters: vec![CounterConfig::all(1)],
            handling_min: BTreeMap::new(),
            default_handling_min: 15,
            display_next_up: 6,
            max_tickets_per_kind: 999,
        }
    }
}
