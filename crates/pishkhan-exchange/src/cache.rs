//! The answer cache: a verified agency answer reused for the service's `cache_ttl_ms`.
//!
//! Only signed answers of idempotent services below 500 are kept, keyed by the service, the
//! client office and the SHA-256 of the exact request body: an office asking the same question
//! again within the TTL (the person inquiry, then the identity check, at one visit) gets the
//! same signed answer without a second agency call. Everything else about the inquiry still
//! happens per call: the directory, suspension, access-right and purpose checks, minimisation
//! to the caller's allowed attributes, the log entry (marked `cached_at_ms`, carrying the
//! agency's original signature and nonce) and the citizen's data-access view.
//!
//! An entry belongs to one directory version: a new directory (a revoked key, a changed TTL or
//! right) empties the cache in effect. The cache is bounded ([`MAX_CACHED_ANSWERS`]); the
//! oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::client::InquiryOutcome;
use crate::directory::{MemberId, ServiceId};

/// Most answers held at once, over all services.
pub const MAX_CACHED_ANSWERS: usize = 100_000;
/// Longest `cache_ttl_ms` a directory may set: one day.
pub const MAX_CACHE_TTL_MS: u64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub service: ServiceId,
    pub client: MemberId,
    pub request_sha256: String,
}

/// A verified answer as the agency signed it, before minimisation.
#[derive(Debug, Clone)]
pub(crate) struct CachedAnswer {
    pub outcome: InquiryOutcome,
    pub answer: Arc<[u8]>,
    /// Unix milliseconds when the agency's answer arrived.
    pub answered_at_ms: i64,
}

struct Slot {
    answer: CachedAnswer,
    directory_version: u64,
    expires: Instant,
    generation: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<CacheKey, Slot>,
    /// Insertion order, for eviction; an item is stale when its generation no longer matches.
    order: VecDeque<(CacheKey, u64)>,
    next_generation: u64,
}

pub(crate) struct AnswerCache {
    inner: Mutex<Inner>,
    capacity: usize,
}

impl AnswerCache {
    pub fn new(capacity: usize) -> AnswerCache {
        AnswerCache {
            inner: Mutex::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer for `key`, if one was stored under `directory_version` and has not expired.
    pub fn get(&self, key: &CacheKey, directory_version: u64) -> Option<CachedAnswer> {
        let now = Instant::now();
        let mut inner = self.lock();
        let slot = inner.map.get(key)?;
        if slot.directory_version == directory_version && slot.expires > now {
            return Some(slot.answer.clone());
        }
        inner.map.remove(key);
        None
    }

    pub fn put(&self, key: CacheKey, answer: CachedAnswer, directory_version: u64, ttl: Duration) {
        let mut inner = self.lock();
        let generation = inner.next_generation;
        inner.next_generation += 1;
        inner.order.push_back((key.clone(), generation));
        inner.map.insert(
            key,
            Slot {
                answer,
                directory_version,
                expires: Instant::now() + ttl,
                generation,
            },
        );
        while inner.map.len() > self.capacity || inner.order.len() > self.capacity.saturating_mul(2)
        {
            let Some((old, generation)) = inner.order.pop_front() else {
                break;
            };
            if inner
                .map
                .get(&old)
                .is_some_and(|s| s.generation == generation)
            {
                inner.map.remove(&old);
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> CacheKey {
        CacheKey {
            service: ServiceId::parse("civil-registry.person").unwrap(),
            client: MemberId::parse("office:10001").unwrap(),
            request_sha256: format!("{n:064x}"),
        }
    }

    fn answer() -> CachedAnswer {
        CachedAnswer {
            outcome: InquiryOutcome {
                status: 200,
                body: serde_json::Value::Null,
                request_sha256: String::new(),
                response_sha256: String::new(),
                request_nonce: String::new(),
                response_signature: String::new(),
                agency: MemberId::parse("agency:sabt").unwrap(),
                latency_ms: 0,
                attempts: 1,
                yes_no: None,
                cached_at_ms: None,
            },
            answer: Arc::from(&b"{}"[..]),
            answered_at_ms: 1,
        }
    }

    #[test]
    fn an_answer_is_kept_for_its_directory_version_until_it_expires() {
        let cache = AnswerCache::new(10);
        cache.put(key(1), answer(), 7, Duration::from_secs(60));
        assert!(cache.get(&key(1), 7).is_some());
        assert!(cache.get(&key(2), 7).is_none());
        assert!(cache.get(&key(1), 8).is_none(), "another directory misses");
        assert!(
            cache.get(&key(1), 7).is_none(),
            "and the stale entry is gone"
        );
        cache.put(key(3), answer(), 7, Duration::ZERO);
        assert!(cache.get(&key(3), 7).is_none(), "expired");
    }

    #[test]
    fn the_oldest_answers_are_evicted_beyond_capacity() {
        let cache = AnswerCache::new(3);
        for n in 0..5 {
            cache.put(key(n), answer(), 1, Duration::from_secs(60));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key(0), 1).is_none());
        assert!(cache.get(&key(1), 1).is_none());
        assert!(cache.get(&key(4), 1).is_some());
        // Replacing a key does not let its older order item evict the newer answer.
        for _ in 0..10 {
            cache.put(key(4), answer(), 1, Duration::from_secs(60));
        }
        assert!(cache.get(&key(4), 1).is_some());
        assert!(cache.len() <= 3);
    }
}
