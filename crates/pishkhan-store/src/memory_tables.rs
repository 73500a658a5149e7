//! The embedded engine's compact tables: what memory keeps per held booking, per slot and per
//! listed booking, sized so a national surge (every slot of 17,000 offices for 14 days) fits in
//! well under 512 MiB. Each layout is chosen for that figure (docs/benchmarks.md, "Memory").

use std::collections::{BTreeSet, HashMap, VecDeque};

/// Booking numbers per chunk of [`HeldTable`]: 24 KiB of records each.
const CHUNK: usize = 1024;

/// Records keyed by booking number. Numbers are handed out consecutively, so a run of
/// fixed-size chunks indexed by number replaces a hash map: a record costs its own 24 bytes, not
/// the map's key, control byte and spare buckets. Chunks whose records are all gone are freed;
/// the run trims itself at both ends.
pub(crate) struct HeldTable<T> {
    /// Number of the first record of `chunks[0]`; a multiple of [`CHUNK`].
    base: i64,
    chunks: VecDeque<Option<Chunk<T>>>,
}

struct Chunk<T> {
    records: Box<[Option<T>]>,
    live: usize,
}

impl<T> Default for HeldTable<T> {
    fn default() -> Self {
        Self {
            base: 0,
            chunks: VecDeque::new(),
        }
    }
}

impl<T> HeldTable<T> {
    fn chunk_of(seq: i64) -> i64 {
        seq.div_euclid(CHUNK as i64)
    }

    fn place(&self, seq: i64) -> Option<(usize, usize)> {
        let chunk = Self::chunk_of(seq) - Self::chunk_of(self.base);
        let chunk = usize::try_from(chunk).ok()?;
        (chunk < self.chunks.len()).then_some((chunk, seq.rem_euclid(CHUNK as i64) as usize))
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.chunks.iter().flatten().map(|c| c.live).sum()
    }

    pub(crate) fn get(&self, seq: i64) -> Option<&T> {
        let (c, i) = self.place(seq)?;
        self.chunks[c].as_ref()?.records[i].as_ref()
    }

    pub(crate) fn get_mut(&mut self, seq: i64) -> Option<&mut T> {
        let (c, i) = self.place(seq)?;
        self.chunks[c].as_mut()?.records[i].as_mut()
    }

    /// Stores `record` under `seq`, replacing what was there.
    pub(crate) fn insert(&mut self, seq: i64, record: T) {
        let want = Self::chunk_of(seq);
        if self.chunks.is_empty() {
            self.base = want * CHUNK as i64;
        }
        let first = Self::chunk_of(self.base);
        for _ in want..first {
            self.chunks.push_front(None);
            self.base -= CHUNK as i64;
        }
        let c = (want - Self::chunk_of(self.base)) as usize;
        while self.chunks.len() <= c {
            self.chunks.push_back(None);
        }
        let chunk = self.chunks[c].get_or_insert_with(|| Chunk {
            records: std::iter::repeat_with(|| None).take(CHUNK).collect(),
            live: 0,
        });
        let slot = &mut chunk.records[seq.rem_euclid(CHUNK as i64) as usize];
        if slot.is_none() {
            chunk.live += 1;
        }
        *slot = Some(record);
    }

    pub(crate) fn remove(&mut self, seq: i64) -> Option<T> {
        let (c, i) = self.place(seq)?;
        let chunk = self.chunks[c].as_mut()?;
        let record = chunk.records[i].take()?;
        chunk.live -= 1;
        if chunk.live == 0 {
            self.chunks[c] = None;
            self.trim();
        }
        Some(record)
    }

    fn trim(&mut self) {
        while matches!(self.chunks.front(), Some(None)) {
            self.chunks.pop_front();
            self.base += CHUNK as i64;
        }
        while matches!(self.chunks.back(), Some(None)) {
            self.chunks.pop_back();
        }
    }
}

/// Seats taken per slot, per office: one sorted run of slot starts and one of counts, so a
/// slot costs 12 bytes and an office's range is one binary search.
#[derive(Default)]
pub(crate) struct SlotLoads {
    offices: HashMap<u32, OfficeLoads>,
}

#[derive(Default)]
struct OfficeLoads {
    starts: Vec<i64>,
    seats: Vec<u32>,
}

impl SlotLoads {
    pub(crate) fn get(&self, office: u32, slot_start_ms: i64) -> u32 {
        self.offices
            .get(&office)
            .and_then(|o| {
                let i = o.starts.binary_search(&slot_start_ms).ok()?;
                Some(o.seats[i])
            })
            .unwrap_or(0)
    }

    pub(crate) fn add(&mut self, office: u32, slot_start_ms: i64) {
        let o = self.offices.entry(office).or_default();
        match o.starts.binary_search(&slot_start_ms) {
            Ok(i) => o.seats[i] += 1,
            Err(i) => {
                o.starts.insert(i, slot_start_ms);
                o.seats.insert(i, 1);
            }
        }
    }

    pub(crate) fn take(&mut self, office: u32, slot_start_ms: i64) {
        if let Some(o) = self.offices.get_mut(&office)
            && let Ok(i) = o.starts.binary_search(&slot_start_ms)
        {
            o.seats[i] = o.seats[i].saturating_sub(1);
        }
    }

    /// (slot start, seats taken) of `office`'s slots starting in `from_ms..to_ms`.
    pub(crate) fn range(&self, office: u32, from_ms: i64, to_ms: i64) -> Vec<(i64, u32)> {
        let Some(o) = self.offices.get(&office) else {
            return Vec::new();
        };
        let lo = o.starts.partition_point(|s| *s < from_ms);
        let hi = o.starts.partition_point(|s| *s < to_ms).max(lo);
        o.starts[lo..hi]
            .iter()
            .copied()
            .zip(o.seats[lo..hi].iter().copied())
            .collect()
    }

    /// Forgets the empty slots that start before `before_ms`: nobody asks about them again.
    pub(crate) fn forget_empty_before(&mut self, before_ms: i64) {
        self.offices.retain(|_, o| {
            let mut kept = 0;
            for i in 0..o.starts.len() {
                if o.starts[i] >= before_ms || o.seats[i] > 0 {
                    o.starts[kept] = o.starts[i];
                    o.seats[kept] = o.seats[i];
                    kept += 1;
                }
            }
            o.starts.truncate(kept);
            o.seats.truncate(kept);
            if o.starts.capacity() > 2 * kept {
                o.starts.shrink_to_fit();
                o.seats.shrink_to_fit();
            }
            kept > 0
        });
    }
}

/// Every live booking as (office, slot start, number), packed into one 16-byte key so the
/// ordered set costs two thirds of a tuple's: 32 bits of office, 44 of slot start (Unix
/// milliseconds, to the year 2527) and 52 of booking number. Slot starts outside that range
/// are clamped, which only widens a listing; [`crate::listing`] filters by the exact range.
#[derive(Default)]
pub(crate) struct OfficeListing {
    keys: BTreeSet<u128>,
}

const SLOT_BITS: u32 = 44;
const SEQ_BITS: u32 = 52;

fn listing_key(office: u32, slot_start_ms: i64, seq: i64) -> u128 {
    let slot = slot_start_ms.clamp(0, (1i64 << SLOT_BITS) - 1) as u128;
    let seq = seq.clamp(0, (1i64 << SEQ_BITS) - 1) as u128;
    (u128::from(office) << (SLOT_BITS + SEQ_BITS)) | (slot << SEQ_BITS) | seq
}

fn seq_of(key: u128) -> i64 {
    (key & ((1u128 << SEQ_BITS) - 1)) as i64
}

fn slot_of(key: u128) -> i64 {
    ((key >> SEQ_BITS) & ((1u128 << SLOT_BITS) - 1)) as i64
}

fn office_of(key: u128) -> u32 {
    (key >> (SLOT_BITS + SEQ_BITS)) as u32
}

impl OfficeListing {
    pub(crate) fn insert(&mut self, office: u32, slot_start_ms: i64, seq: i64) {
        self.keys.insert(listing_key(office, slot_start_ms, seq));
    }

    pub(crate) fn remove(&mut self, office: u32, slot_start_ms: i64, seq: i64) -> bool {
        self.keys.remove(&listing_key(office, slot_start_ms, seq))
    }

    /// Numbers of `office`'s bookings of slots starting in `from_ms..to_ms` (a superset when
    /// slot starts were clamped).
    pub(crate) fn range(&self, office: u32, from_ms: i64, to_ms: i64) -> Vec<i64> {
        if from_ms >= to_ms {
            return Vec::new();
        }
        let lo = listing_key(office, from_ms, 0);
        // Clamping may map `to_ms` onto the last slot value: include it then.
        let hi = if to_ms > (1i64 << SLOT_BITS) - 1 {
            listing_key(office, to_ms, (1i64 << SEQ_BITS) - 1)
        } else {
            listing_key(office, to_ms, 0).saturating_sub(1)
        };
        if hi < lo {
            return Vec::new();
        }
        self.keys.range(lo..=hi).map(|k| seq_of(*k)).collect()
    }

    /// Up to `limit` (office, slot start, number) of bookings of slots before `before_ms`.
    pub(crate) fn older_than(&self, before_ms: i64, limit: usize) -> Vec<(u32, i64, i64)> {
        self.keys
            .iter()
            .filter(|k| slot_of(**k) < before_ms)
            .take(limit)
            .map(|k| (office_of(*k), slot_of(*k), seq_of(*k)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_table_keeps_records_by_number_and_frees_empty_chunks() {
        let mut t = HeldTable::default();
        for seq in [5_000i64, 1, 3_000_000, 1_023, 1_024] {
            t.insert(seq, seq * 2);
        }
        assert_eq!(t.len(), 5);
        assert_eq!(t.get(3_000_000), Some(&6_000_000));
        assert_eq!(t.get(2), None);
        assert_eq!(t.remove(1), Some(2));
        assert_eq!(t.remove(1), None);
        assert_eq!(t.remove(1_023), Some(2_046));
        // The first chunk is gone; the others still answer.
        assert_eq!(t.get(1_024), Some(&2_048));
        for seq in [5_000, 1_024, 3_000_000] {
            t.remove(seq);
        }
        assert_eq!(t.len(), 0);
        assert!(t.chunks.is_empty());
        // A record under a number below the run's start (an undone cancellation) is kept.
        t.insert(10_000, 1);
        t.insert(7, 2);
        assert_eq!((t.get(7), t.get(10_000)), (Some(&2), Some(&1)));
    }

    #[test]
    fn listing_keys_order_by_office_then_slot_then_number() {
        let mut l = OfficeListing::default();
        l.insert(7, 1_800_000_000_000, 9);
        l.insert(7, 1_700_000_000_000, 12);
        l.insert(7, 1_700_000_000_000, 3);
        l.insert(8, 1_700_000_000_000, 1);
        assert_eq!(
            l.range(7, 1_700_000_000_000, 1_800_000_000_001),
            vec![3, 12, 9]
        );
        assert_eq!(
            l.range(7, 1_700_000_000_000, 1_800_000_000_000),
            vec![3, 12]
        );
        assert_eq!(l.range(8, 0, i64::MAX), vec![1]);
        assert!(l.remove(7, 1_700_000_000_000, 12));
        assert_eq!(
            l.older_than(1_750_000_000_000, 10),
            vec![(7, 1_700_000_000_000, 3), (8, 1_700_000_000_000, 1)]
        );
    }

    #[test]
    fn slot_loads_count_per_office_and_slot() {
        let mut s = SlotLoads::default();
        s.add(1, 300);
        s.add(1, 100);
        s.add(1, 300);
        s.add(2, 100);
        assert_eq!(s.range(1, 0, 1_000), vec![(100, 1), (300, 2)]);
        s.take(1, 100);
        s.forget_empty_before(200);
        assert_eq!(s.range(1, 0, 1_000), vec![(300, 2)]);
        assert_eq!(s.get(2, 100), 1);
    }
}
