//! Each office's queue as this process last stored it, so that an operation applies only the
//! events appended since instead of reading and replaying the whole day.
//!
//! **Invariant:** an entry is a queue rebuilt from exactly the first `len` events of its
//! office's day log. It is put only after those events committed at exactly those numbers (the
//! log's primary key lets one writer take each number), so the log can only have grown past
//! it; a reader fetches the events numbered `len` and on, wherever they came from (another
//! request, another node), and applies them. An entry whose settings differ from the office's
//! current ones (its counters changed) is not used.
//!
//! Bounded: a full map first drops other days' entries, then everything; the next operation
//! of each office rebuilds from the log, as a new process would.

use std::collections::HashMap;
use std::sync::Mutex;

use pishkhan_domain::JalaliDate;
use pishkhan_domain::model::OfficeCode;
use pishkhan_queue::{Queue, QueueConfig};

/// Office days kept: every office of a busy province's day, a few tens of kilobytes each.
const MAX_ENTRIES: usize = 20_000;

#[derive(Default)]
pub(crate) struct QueueStates {
    map: Mutex<HashMap<(OfficeCode, JalaliDate), (Queue, u64)>>,
}

impl QueueStates {
    /// The queue of `office` on `day` as of its first `.1` events, if held with `config`.
    pub(crate) fn get(
        &self,
        office: OfficeCode,
        day: JalaliDate,
        config: &QueueConfig,
    ) -> Option<(Queue, u64)> {
        let map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&(office, day))
            .filter(|(q, _)| q.config() == config)
            .cloned()
    }

    /// Keeps `queue`, rebuilt from the first `len` events of its log; an older state than the
    /// one held is ignored (two requests of one office finish in either order).
    pub(crate) fn put(&self, queue: &Queue, len: u64) {
        let key = (queue.office(), queue.day());
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&key).is_some_and(|(_, held)| *held >= len) {
            return;
        }
        if map.len() >= MAX_ENTRIES && !map.contains_key(&key) {
            map.retain(|(_, d), _| *d == key.1);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (queue.clone(), len));
    }
}
