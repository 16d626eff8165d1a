//! In-process caches for the validation hot path.
//!
//! Every cache is tagged with the database's change epoch
//! ([`crate::store::Changes`]): any committed write that could change an
//! answer moves the epoch, and an entry from another epoch is never served.
//! The epoch moves at once for this node's own writes, within the listener's
//! poll interval for other nodes' writes (PostgreSQL NOTIFY; on MariaDB/MySQL
//! a counter row their writes move) and for other processes on the same
//! SQLite file (the same counter row). While the
//! cross-node channel is down there is no epoch, and callers go to the
//! database. A TTL caps every entry as a second line of defence.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bounded map whose entries are valid for one change epoch. Two
/// generations approximate LRU cheaply: when the current one is full it
/// becomes the previous one, and hits there are promoted.
///
/// Hand-written on purpose: a frequency-admission cache (moka's TinyLFU)
/// refuses to admit a new key while it is full of often-read ones, which
/// measured as exactly that (a new key inserted into a full cache of hot
/// keys is not kept), and the newest token is the one about to be
/// validated again. An epoch change also empties this map at once, where
/// moka's `invalidate_all` is lazy.
pub struct EpochCache<V> {
    inner: Mutex<Generations<V>>,
    capacity: usize,
    ttl: Duration,
    /// Lookups answered from the cache, and not (for `/metrics`).
    hits: AtomicU64,
    misses: AtomicU64,
}

struct Generations<V> {
    epoch: u64,
    current: HashMap<String, (Instant, V)>,
    previous: HashMap<String, (Instant, V)>,
}

impl<V: Clone> EpochCache<V> {
    /// `capacity` entries per generation; 0 disables the cache.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        EpochCache {
            inner: Mutex::new(Generations {
                epoch: 0,
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
            capacity,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// Lookups answered from the cache and lookups that were not, since
    /// start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The entry for `key` if it was stored in `epoch` and is fresh.
    pub fn get(&self, key: &str, epoch: u64) -> Option<V> {
        let found = self.lookup(key, epoch);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn lookup(&self, key: &str, epoch: u64) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.inner.lock().ok()?;
        if g.epoch != epoch {
            g.epoch = epoch;
            g.current.clear();
            g.previous.clear();
            return None;
        }
        let now = Instant::now();
        if let Some((at, v)) = g.current.get(key) {
            return (now.duration_since(*at) < self.ttl).then(|| v.clone());
        }
        let (at, v) = g.previous.remove(key)?;
        if now.duration_since(at) >= self.ttl {
            return None;
        }
        let value = v.clone();
        Self::put(&mut g, self.capacity, key.to_string(), (at, v));
        Some(value)
    }

    /// Stores a value computed from the database as it was in `epoch`
    /// (read the epoch *before* reading the database). A value from an
    /// epoch that has already passed is dropped.
    pub fn insert(&self, key: String, epoch: u64, value: V) {
        if self.capacity == 0 {
            return;
        }
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        if g.epoch != epoch {
            if epoch < g.epoch {
                return;
            }
            g.epoch = epoch;
            g.current.clear();
            g.previous.clear();
        }
        Self::put(&mut g, self.capacity, key, (Instant::now(), value));
    }

    fn put(g: &mut Generations<V>, capacity: usize, key: String, entry: (Instant, V)) {
        if g.current.len() >= capacity {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(key, entry);
    }

    /// The value for `key` at `epoch`: remembered, or made by `load` and
    /// remembered. Without an epoch (no change tracking) it always loads.
    /// This is the one "read the epoch, get, load, insert" of the service.
    pub async fn get_or_load<E, Fut>(
        &self,
        key: &str,
        epoch: Option<u64>,
        load: impl FnOnce() -> Fut,
    ) -> Result<V, E>
    where
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        if let Some(value) = epoch.and_then(|e| self.get(key, e)) {
            return Ok(value);
        }
        let value = load().await?;
        if let Some(e) = epoch {
            self.insert(key.to_string(), e, value.clone());
        }
        Ok(value)
    }

    /// Entries held, both generations.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .map(|g| g.current.len() + g.previous.len())
            .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entries_live_for_one_epoch() {
        let c = EpochCache::new(10, Duration::from_secs(60));
        c.insert("a".into(), 1, 10);
        assert_eq!(c.get("a", 1), Some(10));
        assert_eq!(c.get("a", 2), None, "a new epoch empties the cache");
        assert_eq!(c.get("a", 2), None);
        // A value read before a change is not stored after it.
        c.insert("b".into(), 1, 20);
        assert_eq!(c.get("b", 2), None);
    }

    #[test]
    fn it_is_bounded_and_keeps_recent_entries() {
        let c = EpochCache::new(2, Duration::from_secs(60));
        for (i, k) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.insert(k.to_string(), 1, i);
        }
        assert!(c.len() <= 4);
        assert_eq!(c.get("e", 1), Some(4));
        assert_eq!(c.get("a", 1), None);
    }

    #[test]
    fn entries_expire_and_zero_capacity_disables() {
        let c = EpochCache::new(10, Duration::from_millis(0));
        c.insert("a".into(), 1, 1);
        assert_eq!(c.get("a", 1), None);
        let off = EpochCache::new(0, Duration::from_secs(60));
        off.insert("a".into(), 1, 1);
        assert_eq!(off.get("a", 1), None);
        assert!(off.is_empty());
    }
}
