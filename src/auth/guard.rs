//! In-memory guards for signed-request verification: a bounded replay
//! cache and a failure throttle. Each node keeps its own.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Remembers (access key, signature) pairs until they leave the skew
/// window, so a captured request verifies once. Bounded: when full, the
/// oldest entries go first, and from then on a request signed at or before
/// the newest forgotten one is refused too (it could be a replay of it).
/// So the cache never lets a replay through; under a load it cannot hold,
/// the past half of the skew window shrinks to what it holds instead.
/// Entries are small: a salted 64-bit hash and two times.
pub struct ReplayCache {
    capacity: usize,
    ttl: Duration,
    salt: [u8; 16],
    base: Instant,
    inner: Mutex<ReplayInner>,
}

struct ReplayInner {
    /// Hash → arrival (milliseconds since `base`).
    seen: HashMap<u64, u64>,
    /// (hash, arrival, signed at as Unix seconds), oldest first.
    order: VecDeque<(u64, u64, u32)>,
    /// The newest signing time among entries forgotten for room.
    forgotten_up_to: u32,
}

/// What the replay cache says of a verified request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    First,
    Replayed,
    /// Signed no later than a request the full cache had to forget.
    TooOldToTell,
}

impl ReplayCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        // Allocated up front: growing a large map rehashes it under the
        // lock, which stalls every verification for milliseconds.
        let reserve = capacity.clamp(1, 1 << 20);
        ReplayCache {
            capacity: capacity.max(1),
            ttl,
            salt,
            base: Instant::now(),
            inner: Mutex::new(ReplayInner {
                seen: HashMap::with_capacity(reserve),
                order: VecDeque::with_capacity(reserve),
                forgotten_up_to: 0,
            }),
        }
    }

    fn key(&self, access: &str, signature: &str) -> u64 {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(access.as_bytes());
        h.update([0u8]);
        h.update(signature.as_bytes());
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }

    /// Records a verified request signed at `signed_at` (Unix seconds; now
    /// when it carries no time) and says whether it was seen before.
    pub fn check(&self, access: &str, signature: &str, signed_at: Option<i64>) -> Freshness {
        let key = self.key(access, signature);
        let arrival = self.base.elapsed().as_millis() as u64;
        let ttl = self.ttl.as_millis() as u64;
        let now_unix = chrono::Utc::now().timestamp();
        let signed = signed_at.unwrap_or(now_unix).clamp(0, i64::from(u32::MAX)) as u32;
        let Ok(mut inner) = self.inner.lock() else {
            return Freshness::Replayed;
        };
        while let Some((k, at, signed_then)) = inner.order.front().copied() {
            let expired = arrival.saturating_sub(at) > ttl;
            let full = inner.order.len() >= self.capacity;
            if !expired && !full {
                break;
            }
            inner.order.pop_front();
            if inner.seen.get(&k) == Some(&at) {
                inner.seen.remove(&k);
            }
            if !expired {
                inner.forgotten_up_to = inner.forgotten_up_to.max(signed_then);
            }
        }
        if inner.seen.contains_key(&key) {
            return Freshness::Replayed;
        }
        if signed <= inner.forgotten_up_to {
            return Freshness::TooOldToTell;
        }
        inner.seen.insert(key, arrival);
        inner.order.push_back((key, arrival, signed));
        Freshness::First
    }

    /// True the first time a pair is seen inside the window (a request
    /// signed now).
    pub fn first_use(&self, access: &str, signature: &str) -> bool {
        self.check(access, signature, None) == Freshness::First
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.seen.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts failed verifications per key (an access key, a caller address)
/// in fixed windows; past the limit, callers wait for the window to end.
pub struct Throttle {
    limit: u32,
    window: Duration,
    inner: Mutex<HashMap<String, (Instant, u32)>>,
    /// Requests refused with 429 since start, for metrics.
    pub refused: AtomicU64,
    /// Failed verifications since start, for metrics.
    pub failures: AtomicU64,
}

impl Throttle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Throttle {
            limit,
            window,
            inner: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// Seconds to wait when any of the keys is over its limit.
    pub fn retry_after(&self, keys: &[String]) -> Option<u64> {
        if self.limit == 0 {
            return None;
        }
        let now = Instant::now();
        let inner = self.inner.lock().ok()?;
        let wait = keys
            .iter()
            .filter_map(|k| inner.get(k))
            .filter(|(start, count)| {
                *count >= self.limit && now.duration_since(*start) < self.window
            })
            .map(|(start, _)| (self.window - now.duration_since(*start)).as_secs().max(1))
            .max();
        if wait.is_some() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        wait
    }

    pub fn record_failure(&self, keys: &[String]) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.len() > 100_000 {
            let window = self.window;
            inner.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        for key in keys {
            let entry = inner.entry(key.clone()).or_insert((now, 0));
            if now.duration_since(entry.0) >= self.window {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_and_the_cache_is_bounded() {
        let cache = ReplayCache::new(3, Duration::from_secs(60));
        let now = chrono::Utc::now().timestamp();
        assert_eq!(cache.check("ak", "sig1", Some(now - 10)), Freshness::First);
        assert_eq!(
            cache.check("ak", "sig1", Some(now - 10)),
            Freshness::Replayed
        );
        assert_eq!(
            cache.check("ak2", "sig1", Some(now - 9)),
            Freshness::First,
            "the access key is part of the key"
        );
        assert_eq!(cache.check("ak", "sig2", Some(now - 8)), Freshness::First);
        assert_eq!(cache.check("ak", "sig3", Some(now - 5)), Freshness::First);
        assert!(cache.len() <= 3);
        // sig1 was forgotten to make room: its replay is still refused,
        // as is anything signed as early, but newer requests pass.
        assert_eq!(
            cache.check("ak", "sig1", Some(now - 10)),
            Freshness::TooOldToTell
        );
        assert_eq!(
            cache.check("ak", "other", Some(now - 10)),
            Freshness::TooOldToTell
        );
        assert_eq!(cache.check("ak", "sig4", Some(now)), Freshness::First);
    }

    #[test]
    fn replays_expire_with_the_window() {
        let cache = ReplayCache::new(10, Duration::from_millis(10));
        assert!(cache.first_use("ak", "s"));
        std::thread::sleep(Duration::from_millis(20));
        assert!(cache.first_use("ak", "s"));
    }

    #[test]
    fn throttle_counts_per_key() {
        let t = Throttle::new(2, Duration::from_secs(60));
        let keys = vec!["ak:x".to_string(), "ip:1".to_string()];
        assert_eq!(t.retry_after(&keys), None);
        t.record_failure(&keys);
        t.record_failure(&keys);
        let wait = t.retry_after(&keys);
        assert!(wait.is_some_and(|w| (1..=60).contains(&w)));
        assert_eq!(t.retry_after(&["ak:y".to_string()]), None);
        assert!(t.retry_after(&["ip:1".to_string()]).is_some());
        assert_eq!(t.refused.load(Ordering::Relaxed), 2);
    }
}
