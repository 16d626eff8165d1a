//! In-memory guards for signed-request verification: a bounded replay
//! cache and a failure throttle. Each node keeps its own.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Remembers (access key, signature) pairs until they leave the skew
/// window, so a captured request verifies once. Bounded: when full, the
/// oldest entries go first.
pub struct ReplayCache {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<ReplayInner>,
}

#[derive(Default)]
struct ReplayInner {
    seen: HashMap<[u8; 32], Instant>,
    order: VecDeque<([u8; 32], Instant)>,
}

impl ReplayCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        ReplayCache {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(ReplayInner::default()),
        }
    }

    fn key(access: &str, signature: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(access.as_bytes());
        h.update([0u8]);
        h.update(signature.as_bytes());
        h.finalize().into()
    }

    /// True the first time a pair is seen inside the window.
    pub fn first_use(&self, access: &str, signature: &str) -> bool {
        let key = Self::key(access, signature);
        let now = Instant::now();
        let Ok(mut inner) = self.inner.lock() else {
            return false;
        };
        while let Some((k, at)) = inner.order.front().copied() {
            let expired = now.duration_since(at) > self.ttl;
            if !expired && inner.order.len() < self.capacity {
                break;
            }
            inner.order.pop_front();
            if inner.seen.get(&k) == Some(&at) {
                inner.seen.remove(&k);
            }
        }
        if inner.seen.contains_key(&key) {
            return false;
        }
        inner.seen.insert(key, now);
        inner.order.push_back((key, now));
        true
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
        assert!(cache.first_use("ak", "sig1"));
        assert!(!cache.first_use("ak", "sig1"));
        assert!(
            cache.first_use("ak2", "sig1"),
            "the access key is part of the key"
        );
        assert!(cache.first_use("ak", "sig2"));
        assert!(cache.first_use("ak", "sig3"));
        assert!(cache.len() <= 3);
        assert!(
            cache.first_use("ak", "sig1"),
            "the oldest entry was evicted"
        );
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
