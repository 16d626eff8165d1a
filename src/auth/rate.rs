//! Per-key rate limits on successful verifications (a pair's own
//! `rate_limit`). On SQLite, which serves one node, the GCRA state lives
//! in memory; on PostgreSQL and MariaDB/MySQL it lives in `key_rates`,
//! one update per admitted request on the database clock, so replicas share
//! each limit exactly. Only admitted requests and the first refusal of
//! each wait reach the database: a replica that learned a key must wait
//! refuses locally until then, which is never too long, because other
//! replicas can only push a key's next free time later.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::Error;
use crate::lifecycle::RateLimit;
use crate::store::{now_micros, Database};

/// Keys remembered in memory before idle ones are forgotten.
const PRUNE_AT: usize = 65_536;

pub struct KeyRates {
    /// `None` on SQLite: this node alone counts.
    shared: Option<Database>,
    /// Local GCRA arrival times (SQLite) or known waits (shared databases),
    /// per key id, with the limit they were computed under.
    memory: Mutex<HashMap<String, (RateLimit, i64)>>,
}

impl KeyRates {
    pub fn new(db: &Database) -> Self {
        KeyRates {
            shared: db.is_clustered().then(|| db.clone()),
            memory: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one successful verification of `key_id`, or answers 429
    /// with the seconds to wait.
    pub async fn admit(&self, key_id: &str, limit: RateLimit) -> Result<(), Error> {
        let now = now_micros();
        match &self.shared {
            None => self.remember(key_id, |known| {
                let tat = known.filter(|(l, _)| *l == limit).map(|(_, t)| t);
                match limit.admit(tat, now) {
                    Ok(next) => (Some((limit, next)), Ok(())),
                    Err(wait) => (None, Err(wait)),
                }
            }),
            Some(db) => {
                let known_wait = self.remember(key_id, |known| match known {
                    Some((l, until)) if l == limit && until > now => (None, Err(until - now)),
                    _ => (None, Ok(())),
                });
                known_wait.map_err(too_many)?;
                let (key, interval, tolerance) =
                    (key_id.to_string(), limit.interval(), limit.tolerance());
                let admitted = db
                    .write_quiet(move |conn| {
                        crate::store::rates::admit(conn, &key, interval, tolerance)
                    })
                    .await?;
                if let Err(wait) = admitted {
                    self.remember(key_id, |_| (Some((limit, now + wait)), Ok(())))
                        .ok();
                }
                admitted
            }
        }
        .map_err(too_many)
    }

    /// Runs `f` on what is remembered of `key_id`; stores what it returns
    /// (`None` leaves the entry as it is).
    fn remember(
        &self,
        key_id: &str,
        f: impl FnOnce(Option<(RateLimit, i64)>) -> (Option<(RateLimit, i64)>, Result<(), i64>),
    ) -> Result<(), i64> {
        let Ok(mut memory) = self.memory.lock() else {
            return Ok(());
        };
        let (store, answer) = f(memory.get(key_id).copied());
        if let Some(entry) = store {
            if memory.len() >= PRUNE_AT && !memory.contains_key(key_id) {
                let now = now_micros();
                memory.retain(|_, (_, t)| *t > now);
            }
            memory.insert(key_id.to_string(), entry);
        }
        answer
    }
}

fn too_many(wait_micros: i64) -> Error {
    Error::TooManyRequests {
        message: "This key's rate limit is exceeded; retry later.".into(),
        retry_after: (wait_micros.max(1) as u64).div_ceil(1_000_000),
    }
}
