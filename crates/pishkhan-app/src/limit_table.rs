//! The bounded map every in-memory limiter keeps its keys in (a mobile, a client address, a
//! username at an address).
//!
//! It never holds more than its maximum. A key is added only to make room for a new entry;
//! when the map is full it first drops the entries that no longer restrain anything (at most
//! once a second, so a flood of new keys into a full map does not scan it on every request),
//! then, if it is still full, the least restraining of a few entries. Dropping a spent entry
//! changes no answer; dropping a live one can only let its key through early, so a flood of
//! keys costs its sender some of their own limits, never memory.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Full maps drop spent entries at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Entries compared when a live one must make room; the least restraining goes.
const EVICTION_SAMPLE: usize = 16;

/// What a limiter remembers about one key.
pub(crate) trait Restraint {
    /// When this entry stops restraining its key: from then on dropping it changes nothing.
    fn spent_at(&self) -> Instant;
}

pub(crate) struct LimitTable<V> {
    max: usize,
    entries: HashMap<String, V>,
    last_sweep: Option<Instant>,
}

impl<V: Restraint> LimitTable<V> {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            entries: HashMap::new(),
            last_sweep: None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key)
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.entries.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// The entry of `key`, made by `new` if there is none (making room first when full).
    pub(crate) fn entry(&mut self, key: &str, now: Instant, new: impl FnOnce() -> V) -> &mut V {
        if !self.entries.contains_key(key) && self.entries.len() >= self.max {
            self.make_room(now);
        }
        self.entries.entry(key.to_owned()).or_insert_with(new)
    }

    fn make_room(&mut self, now: Instant) {
        if self
            .last_sweep
            .is_none_or(|t| now.duration_since(t) >= SWEEP_EVERY)
        {
            self.last_sweep = Some(now);
            self.entries.retain(|_, v| v.spent_at() > now);
        }
        while self.entries.len() >= self.max {
            let Some(victim) = self
                .entries
                .iter()
                .take(EVICTION_SAMPLE)
                .min_by_key(|(_, v)| v.spent_at())
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.entries.remove(&victim);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Until(Instant);

    impl Restraint for Until {
        fn spent_at(&self) -> Instant {
            self.0
        }
    }

    #[test]
    fn a_full_table_never_grows_and_keeps_the_most_restraining_entries() {
        let now = Instant::now();
        let mut table = LimitTable::new(100);
        // A live entry that restrains for long, then a flood of short-lived new keys.
        table.entry("long", now, || Until(now + Duration::from_secs(3600)));
        for i in 0..10_000 {
            let until = now + Duration::from_secs(60);
            table.entry(&format!("k{i}"), now, || Until(until));
            assert!(table.len() <= 100);
        }
        assert!(
            table.get("long").is_some(),
            "the most restraining entry stays"
        );
    }

    #[test]
    fn spent_entries_make_room_first() {
        let now = Instant::now();
        let mut table = LimitTable::new(3);
        table.entry("spent", now, || Until(now));
        table.entry("a", now, || Until(now + Duration::from_secs(60)));
        table.entry("b", now, || Until(now + Duration::from_secs(60)));
        table.entry("c", now, || Until(now + Duration::from_secs(60)));
        assert_eq!(table.len(), 3);
        assert!(table.get("spent").is_none());
        assert!(["a", "b", "c"].iter().all(|k| table.get(k).is_some()));
    }
}
