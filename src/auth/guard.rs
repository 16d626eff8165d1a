//! In-memory guards for signed-request verification: a bounded replay
//! cache and a bounded failure throttle, both keyed by salted 64-bit
//! hashes so that what a caller sends never sits in memory verbatim.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

fn random_salt() -> [u8; 16] {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    salt
}

/// A salted 64-bit hash of `parts`, each part delimited so that no two
/// different lists hash alike.
fn salted_hash(salt: &[u8; 16], parts: &[&[u8]]) -> u64 {
    let mut h = Sha256::new();
    h.update(salt);
    for part in parts {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Remembers verified (access key, signature) pairs for as long as each
/// could still verify: until the `valid_until` its signed time allows
/// ([`crate::signature::time::valid_until`]), which a replay of the same
/// request always repeats. Bounded: when full, the entry that expires
/// first is forgotten and the watermark rises to its `valid_until`; from
/// then on any request valid no later than the watermark is refused too (it
/// could be a replay of a forgotten one). So the cache never lets a replay
/// through. A flood of long-lived entries cannot lock newer requests out:
/// a request that would expire before everything held is accepted without
/// being stored, and the watermark moves to it instead.
pub struct ReplayCache {
    capacity: usize,
    salt: [u8; 16],
    inner: Mutex<ReplayInner>,
}

/// Hashes a key that is already a salted SHA-256 prefix: hashing it again
/// (SipHash) would only cost time, and no caller can choose it.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

struct ReplayInner {
    /// The hashes held. Their expiry is kept only in `by_expiry`: a set
    /// of bare 64-bit keys costs half the bytes of a map to expiries.
    seen: HashSet<u64, BuildHasherDefault<Prehashed>>,
    /// The hashes valid until each second, soonest first: a second's
    /// requests share one entry of the tree.
    by_expiry: BTreeMap<i64, Vec<u64>>,
    /// The latest `valid_until` among requests accepted but not held.
    forgotten_up_to: i64,
}

/// What the replay cache says of a verified request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    First,
    Replayed,
    /// Valid no later than a request the full cache had to forget.
    TooOldToTell,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> Self {
        // Allocated up front: growing a large map rehashes it under the
        // lock, which stalls every verification for milliseconds.
        let reserve = capacity.clamp(1, 1 << 20);
        ReplayCache {
            capacity: capacity.max(1),
            salt: random_salt(),
            inner: Mutex::new(ReplayInner {
                seen: HashSet::with_capacity_and_hasher(reserve, Default::default()),
                by_expiry: BTreeMap::new(),
                forgotten_up_to: i64::MIN,
            }),
        }
    }

    /// Records a verified request that stays valid until `valid_until`
    /// (Unix seconds) and says whether it was seen before.
    pub fn check(&self, access: &str, signature: &str, valid_until: i64, now: i64) -> Freshness {
        let key = salted_hash(&self.salt, &[access.as_bytes(), signature.as_bytes()]);
        let Ok(mut inner) = self.inner.lock() else {
            return Freshness::Replayed;
        };
        // Entries past their validity can no longer verify: drop them.
        while inner
            .by_expiry
            .first_key_value()
            .is_some_and(|(&until, _)| until < now)
        {
            if let Some((_, expired)) = inner.by_expiry.pop_first() {
                for k in expired {
                    inner.seen.remove(&k);
                }
            }
        }
        if inner.seen.contains(&key) {
            return Freshness::Replayed;
        }
        if valid_until <= inner.forgotten_up_to {
            return Freshness::TooOldToTell;
        }
        if inner.seen.len() >= self.capacity {
            match inner.by_expiry.first_entry() {
                Some(soonest) if valid_until <= *soonest.key() => {
                    inner.forgotten_up_to = valid_until;
                    return Freshness::First;
                }
                Some(mut soonest) => {
                    let until = *soonest.key();
                    let forgotten = soonest.get_mut().pop();
                    if soonest.get().is_empty() {
                        soonest.remove();
                    }
                    if let Some(k) = forgotten {
                        inner.seen.remove(&k);
                    }
                    inner.forgotten_up_to = inner.forgotten_up_to.max(until);
                }
                None => {}
            }
        }
        inner.seen.insert(key);
        inner.by_expiry.entry(valid_until).or_default().push(key);
        Freshness::First
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.seen.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One failure budget a request is charged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleKey {
    hash: u64,
    limit: u32,
}

/// Counts failed verifications per key in fixed windows. It never stands
/// between a correctly signed request and its answer: callers consult it
/// only after a verification failed, to turn the 401 into a 429 once a
/// budget is spent. Keys are salted hashes of fixed size, the map is
/// bounded by `capacity` entries, and entries leave with their window.
pub struct Throttle {
    window: Duration,
    capacity: usize,
    salt: [u8; 16],
    base: Instant,
    inner: Mutex<ThrottleInner>,
    /// Failures answered with 429 since start, for metrics.
    pub refused: AtomicU64,
    /// Failed verifications since start, for metrics.
    pub failures: AtomicU64,
}

struct ThrottleInner {
    /// Hash → (window start, failures in it); starts in seconds since `base`.
    counts: HashMap<u64, (u32, u32)>,
    /// (hash, window start), oldest first.
    order: VecDeque<(u64, u32)>,
}

impl Throttle {
    pub fn new(window: Duration, capacity: usize) -> Self {
        Throttle {
            window: window.max(Duration::from_secs(1)),
            capacity: capacity.max(1),
            salt: random_salt(),
            base: Instant::now(),
            inner: Mutex::new(ThrottleInner {
                counts: HashMap::new(),
                order: VecDeque::new(),
            }),
            refused: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// A budget of `limit` failures per window for the key made of
    /// `parts`; a limit of 0 never throttles.
    pub fn key(&self, parts: &[&str], limit: u32) -> ThrottleKey {
        let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
        ThrottleKey {
            hash: salted_hash(&self.salt, &bytes),
            limit,
        }
    }

    fn now(&self) -> u32 {
        self.base.elapsed().as_secs().min(u64::from(u32::MAX)) as u32
    }

    /// Counts one failure against each key, and says how long to wait
    /// when any of them is now over its limit.
    pub fn record_failure(&self, keys: &[ThrottleKey]) -> Option<u64> {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let now = self.now();
        let window = self.window.as_secs().min(u64::from(u32::MAX)) as u32;
        let Ok(mut inner) = self.inner.lock() else {
            return None;
        };
        // Windows that have ended, and the oldest entries past capacity.
        while let Some(&(hash, start)) = inner.order.front() {
            let ended = now.saturating_sub(start) >= window;
            if !ended && inner.counts.len() < self.capacity {
                break;
            }
            inner.order.pop_front();
            if inner.counts.get(&hash).is_some_and(|(s, _)| *s == start) {
                inner.counts.remove(&hash);
            }
        }
        let mut wait = None;
        for key in keys.iter().filter(|k| k.limit > 0) {
            let entry = inner.counts.entry(key.hash).or_insert((now, 0));
            let fresh = entry.1 == 0 || now.saturating_sub(entry.0) >= window;
            if fresh {
                *entry = (now, 0);
            }
            entry.1 = entry.1.saturating_add(1);
            let (start, count) = *entry;
            if fresh {
                inner.order.push_back((key.hash, start));
            }
            if count > key.limit {
                let left = u64::from(window.saturating_sub(now.saturating_sub(start))).max(1);
                wait = Some(wait.map_or(left, |w: u64| w.max(left)));
            }
        }
        if wait.is_some() {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        wait
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.counts.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn replays_are_refused_and_the_cache_is_bounded() {
        let cache = ReplayCache::new(3);
        assert_eq!(cache.check("ak", "sig1", NOW + 10, NOW), Freshness::First);
        assert_eq!(
            cache.check("ak", "sig1", NOW + 10, NOW),
            Freshness::Replayed
        );
        assert_eq!(
            cache.check("ak2", "sig1", NOW + 11, NOW),
            Freshness::First,
            "the access key is part of the key"
        );
        assert_eq!(cache.check("ak", "sig2", NOW + 12, NOW), Freshness::First);
        assert_eq!(cache.check("ak", "sig3", NOW + 15, NOW), Freshness::First);
        assert!(cache.len() <= 3);
        // sig1 (the soonest to expire) was forgotten to make room: its
        // replay is still refused, as is anything valid no longer, but
        // longer-lived requests pass.
        assert_eq!(
            cache.check("ak", "sig1", NOW + 10, NOW),
            Freshness::TooOldToTell
        );
        assert_eq!(
            cache.check("ak", "other", NOW + 10, NOW),
            Freshness::TooOldToTell
        );
        assert_eq!(cache.check("ak", "sig4", NOW + 20, NOW), Freshness::First);
    }

    #[test]
    fn long_lived_entries_cannot_lock_newer_requests_out() {
        let cache = ReplayCache::new(3);
        for i in 0..3 {
            let sig = format!("week-{i}");
            assert_eq!(
                cache.check("attacker", &sig, NOW + 7 * 86_400, NOW),
                Freshness::First
            );
        }
        // Requests that expire sooner still pass, in order, and each one's
        // replay is refused through the watermark.
        for t in 1..5 {
            let sig = format!("s{t}");
            assert_eq!(cache.check("user", &sig, NOW + t, NOW), Freshness::First);
            assert_ne!(cache.check("user", &sig, NOW + t, NOW), Freshness::First);
        }
    }

    #[test]
    fn entries_leave_when_they_can_no_longer_verify() {
        let cache = ReplayCache::new(10);
        assert_eq!(cache.check("ak", "s", NOW + 5, NOW), Freshness::First);
        assert_eq!(
            cache.check("ak", "s", NOW + 5, NOW + 5),
            Freshness::Replayed
        );
        assert_eq!(cache.check("ak", "x", NOW + 10, NOW + 6), Freshness::First);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn throttle_counts_per_key_and_stays_bounded() {
        let t = Throttle::new(Duration::from_secs(60), 4);
        let both = [t.key(&["ak", "x"], 2), t.key(&["addr", "1"], 3)];
        assert_eq!(t.record_failure(&both), None);
        assert_eq!(t.record_failure(&both), None);
        let wait = t.record_failure(&both);
        assert!(wait.is_some_and(|w| (1..=60).contains(&w)), "{wait:?}");
        assert_eq!(t.record_failure(&[t.key(&["ak", "y"], 2)]), None);
        assert!(t.record_failure(&[t.key(&["addr", "1"], 3)]).is_some());
        assert_eq!(t.refused.load(Ordering::Relaxed), 2);
        assert_eq!(
            t.record_failure(&[t.key(&["ak", "x"], 0)]),
            None,
            "0 is no limit"
        );
        for i in 0..100 {
            t.record_failure(&[t.key(&["ak", &i.to_string()], 5)]);
        }
        assert!(t.len() <= 4, "{}", t.len());
    }
}
