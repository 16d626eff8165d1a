//! Failing fast while the database is unreachable.
//!
//! Without it, every request during an outage waits
//! `database.acquire_timeout_ms` (5 s by default) for a connection before
//! its 503, holding a worker and a client the whole time. Once getting a
//! connection has failed, requests answer 503 at once, except one probe
//! at a time, at most every [`PROBE_EVERY`], which waits as before: its
//! success closes the breaker, so service resumes as soon as the database
//! does (within a probe interval plus a connection).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a request may try the database while it is unreachable.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug)]
pub struct Breaker {
    started: Instant,
    failing: AtomicBool,
    probing: AtomicBool,
    /// Nanoseconds since `started` before which no probe is sent.
    next_probe: AtomicU64,
}

/// What a request may do.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// The database answers: go.
    Go,
    /// It did not: go, as the one request trying it.
    Probe,
    /// It did not, and another request is trying it: answer 503 now.
    Refuse,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            started: Instant::now(),
            failing: AtomicBool::new(false),
            probing: AtomicBool::new(false),
            next_probe: AtomicU64::new(0),
        }
    }
}

impl Breaker {
    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    pub fn admit(&self) -> Admission {
        if !self.failing.load(Ordering::Acquire) {
            return Admission::Go;
        }
        if self.now() < self.next_probe.load(Ordering::Acquire) {
            return Admission::Refuse;
        }
        match self
            .probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => Admission::Probe,
            Err(_) => Admission::Refuse,
        }
    }

    /// Records whether getting a connection worked, for a request admitted
    /// as `admitted`.
    pub fn record(&self, admitted: &Admission, connected: bool) {
        if connected {
            self.failing.store(false, Ordering::Release);
        } else {
            let next = self.now() + PROBE_EVERY.as_nanos() as u64;
            self.next_probe.store(next, Ordering::Release);
            self.failing.store(true, Ordering::Release);
        }
        if *admitted == Admission::Probe {
            self.probing.store(false, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_a_failure_one_probe_at_a_time_and_not_too_often() {
        let breaker = Breaker::default();
        assert_eq!(breaker.admit(), Admission::Go);
        breaker.record(&Admission::Go, false);
        // Within the probe interval everyone is refused at once.
        assert_eq!(breaker.admit(), Admission::Refuse);
        std::thread::sleep(PROBE_EVERY);
        let probe = breaker.admit();
        assert_eq!(probe, Admission::Probe);
        assert_eq!(breaker.admit(), Admission::Refuse, "one probe at a time");
        breaker.record(&probe, false);
        assert_eq!(breaker.admit(), Admission::Refuse);
        std::thread::sleep(PROBE_EVERY);
        let probe = breaker.admit();
        assert_eq!(probe, Admission::Probe);
        breaker.record(&probe, true);
        assert_eq!(breaker.admit(), Admission::Go);
        assert_eq!(breaker.admit(), Admission::Go);
    }
}
