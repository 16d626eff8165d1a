//! The cluster-wide record of used signatures (`signature_replays`), so
//! that a signed request verifies at most once whichever node it reaches.
//!
//! Every verification asks one question, "was this digest seen?", which
//! would be one database round trip each. Instead, requests queue their
//! digest and a few worker threads, each on a connection of its own, send
//! whatever has queued at once. On PostgreSQL that is one call of
//! `ironstone_first_uses` (an `INSERT … ON CONFLICT DO NOTHING RETURNING`
//! in PL/pgSQL, see the migration): a statement prepared once per
//! connection, so a batch is one round trip with no parsing or planning.
//! MariaDB/MySQL return no inserted rows, so there a batch is one
//! transaction of `INSERT IGNORE`s, each saying by its row count whether
//! the digest was new. Under load a round trip answers many requests;
//! alone, one.
//!
//! In Redis (`signature.replay_store = redis://…`) the question is one
//! `SET key 1 NX PX ttl`, OK when the digest is new, and Redis expires the
//! keys itself. Each HTTP worker thread asks on a multiplexed connection
//! of its own, from its own event loop: no thread hand-off, no wake-up
//! across cores, and the commands of requests in flight together share
//! the socket's writes.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::mysql::MysqlConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, BigInt, Binary, Bytea};
use diesel::{Connection, RunQueryDsl};
use redis::aio::MultiplexedConnection;

use crate::error::Error;

/// A digest of what identifies one signed request.
pub type Digest = [u8; 16];

/// Requests waiting for a worker; past this, verifications answer 503.
const QUEUE: usize = 8192;
/// Digests sent in one statement at most.
const BATCH: usize = 512;
/// Worker threads: while one waits on a round trip, the next gathers.
const WORKERS: usize = 2;
/// How often a worker deletes rows that can no longer matter.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Seconds a record outlives its signature's last valid second: nodes'
/// clocks differ a little, and a node whose clock is behind still accepts
/// the signature after the recording node's clock says it expired.
pub const CLOCK_MARGIN: i64 = 300;
/// Prefix of the Redis keys, so the record can share a Redis database.
const REDIS_PREFIX: &[u8] = b"ironstone:replay:";
/// How long a Redis connect or answer may take before the request answers
/// 503 and the connection is made again.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

struct Pending {
    digest: Digest,
    valid_until: i64,
    reply: tokio::sync::oneshot::Sender<Result<bool, Error>>,
}

/// A handle on the shared record; cheap to clone.
#[derive(Clone)]
pub struct SharedReplays {
    record: Record,
}

#[derive(Clone)]
enum Record {
    /// Digests queued for the database workers.
    Database(SyncSender<Pending>),
    Redis(Arc<RedisRecord>),
}

diesel::define_sql_function! {
    /// Inserts the digests with their expiry; returns those that were new.
    fn ironstone_first_uses(digests: Array<Bytea>, untils: Array<BigInt>) -> Array<Bytea>;
}

/// A database that can hold the shared record.
pub trait ReplayStore: Sized + Send + 'static {
    fn connect(target: &str) -> Option<Self>;
    /// Inserts the (distinct) digests; true for each one that was new.
    fn first_uses(&mut self, digests: Vec<Vec<u8>>, untils: Vec<i64>) -> Result<Vec<bool>, Error>;
    /// Deletes the rows whose signatures can no longer verify.
    fn prune(&mut self, now_secs: i64) -> Result<(), Error>;
}

impl ReplayStore for PgConnection {
    fn connect(target: &str) -> Option<Self> {
        let mut conn = PgConnection::establish(target).ok()?;
        // A crash may lose the last fraction of a second of records, never
        // the table; waiting for the WAL flush would double the cost.
        diesel::sql_query("SET synchronous_commit = off")
            .execute(&mut conn)
            .ok()?;
        Some(conn)
    }

    fn first_uses(&mut self, digests: Vec<Vec<u8>>, untils: Vec<i64>) -> Result<Vec<bool>, Error> {
        let inserted: Vec<Vec<u8>> =
            diesel::select(ironstone_first_uses(digests.clone(), untils)).get_result(self)?;
        let fresh: std::collections::HashSet<Vec<u8>> = inserted.into_iter().collect();
        Ok(digests.iter().map(|d| fresh.contains(d)).collect())
    }

    fn prune(&mut self, now_secs: i64) -> Result<(), Error> {
        diesel::sql_query("DELETE FROM signature_replays WHERE valid_until < $1")
            .bind::<BigInt, _>(now_secs)
            .execute(self)?;
        Ok(())
    }
}

impl ReplayStore for MysqlConnection {
    fn connect(target: &str) -> Option<Self> {
        MysqlConnection::establish(target).ok()
    }

    fn first_uses(&mut self, digests: Vec<Vec<u8>>, untils: Vec<i64>) -> Result<Vec<bool>, Error> {
        self.transaction(|conn| {
            digests
                .into_iter()
                .zip(untils)
                .map(|(digest, until)| {
                    let inserted = diesel::sql_query(
                        "INSERT IGNORE INTO signature_replays (digest, valid_until) VALUES (?, ?)",
                    )
                    .bind::<Binary, _>(digest)
                    .bind::<BigInt, _>(until)
                    .execute(conn)?;
                    Ok(inserted == 1)
                })
                .collect()
        })
    }

    fn prune(&mut self, now_secs: i64) -> Result<(), Error> {
        diesel::sql_query("DELETE FROM signature_replays WHERE valid_until < ?")
            .bind::<BigInt, _>(now_secs)
            .execute(self)?;
        Ok(())
    }
}

impl SharedReplays {
    /// Starts the workers on the database at `target`.
    pub fn start<S: ReplayStore>(target: &str) -> Result<Self, Error> {
        let (queue, rx) = sync_channel::<Pending>(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..WORKERS {
            let rx = Arc::clone(&rx);
            let target = target.to_string();
            std::thread::Builder::new()
                .name(format!("ironstone-replays-{i}"))
                .spawn(move || work::<S>(&rx, &target))
                .map_err(|e| Error::Internal(format!("cannot start the replay workers: {e}")))?;
        }
        Ok(SharedReplays {
            record: Record::Database(queue),
        })
    }

    /// The record in the Redis at `url` (checked by the configuration);
    /// nothing connects until the first signed request.
    pub fn redis(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url)
            .map_err(|_| Error::Config("signature.replay_store is not a Redis URL".into()))?;
        Ok(SharedReplays {
            record: Record::Redis(Arc::new(RedisRecord { client })),
        })
    }

    /// Records the digest and says whether this is its first use. An error
    /// when the record cannot be reached: the caller must not accept the
    /// request then, since it cannot tell a replay.
    pub async fn first_use(&self, digest: Digest, valid_until: i64) -> Result<bool, Error> {
        let queue = match &self.record {
            Record::Database(queue) => queue,
            Record::Redis(redis) => return redis.first_use(&digest, valid_until).await,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = Pending {
            digest,
            valid_until,
            reply,
        };
        match queue.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(Error::Unavailable(
                    "Too many signed requests are waiting for the replay check; try again.".into(),
                ))
            }
            Err(TrySendError::Disconnected(_)) => return Err(unavailable()),
        }
        answer.await.map_err(|_| unavailable())?
    }
}

/// The record in Redis.
pub struct RedisRecord {
    client: redis::Client,
}

/// A worker thread's link to Redis.
enum RedisLink {
    Up(MultiplexedConnection),
    /// The last attempt failed: until then, requests answer 503 without
    /// trying again, so an outage costs neither a connect nor a log line
    /// per request.
    Down(Instant),
}

/// How long a thread waits after a failure before it connects again.
const REDIS_RETRY: Duration = Duration::from_millis(200);

thread_local! {
    /// This thread's link, with the record it belongs to (several servers
    /// may share a process, in tests).
    static REDIS: std::cell::RefCell<Option<(usize, RedisLink)>> =
        const { std::cell::RefCell::new(None) };
}

impl RedisRecord {
    fn id(&self) -> usize {
        self as *const RedisRecord as usize
    }

    /// `SET` with `NX`: true when the digest was new. Any failure drops
    /// this thread's connection (it connects again after [`REDIS_RETRY`])
    /// and answers 503: without the record, a replay cannot be told.
    async fn first_use(&self, digest: &Digest, valid_until: i64) -> Result<bool, Error> {
        let link = REDIS.with_borrow(|link| match link {
            Some((id, RedisLink::Up(conn))) if *id == self.id() => Some(Ok(conn.clone())),
            Some((id, RedisLink::Down(until))) if *id == self.id() && Instant::now() < *until => {
                Some(Err(unavailable()))
            }
            _ => None,
        });
        let mut conn = match link {
            Some(link) => link?,
            // Boxed: connecting is rare, and its future is kilobytes long.
            None => match Box::pin(self.connect()).await {
                Ok(conn) => {
                    REDIS.set(Some((self.id(), RedisLink::Up(conn.clone()))));
                    conn
                }
                Err(e) => {
                    self.down();
                    return Err(e);
                }
            },
        };
        let now = chrono::Utc::now().timestamp();
        // A relative lifetime, so that Redis's own clock does not matter.
        let ttl_ms = (valid_until.saturating_sub(now).max(0) + CLOCK_MARGIN) * 1000;
        let set: redis::RedisResult<Option<String>> = redis::cmd("SET")
            .arg([REDIS_PREFIX, digest.as_slice()].concat())
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut conn)
            .await;
        match set {
            Ok(reply) => Ok(reply.is_some()),
            Err(e) => {
                tracing::warn!(error = %e, "the replay check in Redis failed; reconnecting");
                self.down();
                Err(unavailable())
            }
        }
    }

    fn down(&self) {
        REDIS.set(Some((
            self.id(),
            RedisLink::Down(Instant::now() + REDIS_RETRY),
        )));
    }

    async fn connect(&self) -> Result<MultiplexedConnection, Error> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT));
        let mut conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "cannot reach Redis for the replay check");
                unavailable()
            })?;
        warn_if_evicting(&mut conn).await;
        Ok(conn)
    }
}

/// A Redis that evicts keys under memory pressure could forget a used
/// signature and let its replay through: say so when the policy is not
/// `noeviction` (managed services that refuse `CONFIG` stay silent).
async fn warn_if_evicting(conn: &mut MultiplexedConnection) {
    let policy: redis::RedisResult<Vec<String>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query_async(conn)
        .await;
    if let Ok(reply) = policy {
        if let Some(policy) = reply.get(1).filter(|p| p.as_str() != "noeviction") {
            tracing::warn!(
                policy = %policy,
                "Redis may evict the replay record under memory pressure, which would let a replay through; set maxmemory-policy noeviction"
            );
        }
    }
}

fn unavailable() -> Error {
    Error::Unavailable("The replay record cannot be reached; try again.".into())
}

/// One worker: takes what has queued, asks the database once, answers.
fn work<S: ReplayStore>(rx: &Mutex<Receiver<Pending>>, target: &str) {
    let mut conn: Option<S> = None;
    let mut last_prune = Instant::now();
    loop {
        let batch = {
            let Ok(rx) = rx.lock() else {
                return;
            };
            let Ok(first) = rx.recv() else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            batch
        };
        if conn.is_none() {
            conn = S::connect(target);
        }
        let Some(c) = conn.as_mut() else {
            tracing::warn!("cannot reach the database for the replay check");
            for p in batch {
                let _ = p.reply.send(Err(unavailable()));
            }
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        match first_uses(c, &batch) {
            Ok(firsts) => {
                for (p, first) in batch.into_iter().zip(firsts) {
                    let _ = p.reply.send(Ok(first));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "the replay check failed; reconnecting");
                conn = None;
                for p in batch {
                    let _ = p.reply.send(Err(unavailable()));
                }
                continue;
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = Instant::now();
            if let Err(e) = c.prune(chrono::Utc::now().timestamp() - CLOCK_MARGIN) {
                tracing::warn!(error = %e, "cannot prune the replay record");
            }
        }
    }
}

/// Inserts the batch's digests; true for each one that was new. A digest
/// twice in one batch is new only the first time.
fn first_uses<S: ReplayStore>(conn: &mut S, batch: &[Pending]) -> Result<Vec<bool>, Error> {
    let mut queued = std::collections::HashSet::with_capacity(batch.len());
    let mut digests: Vec<Vec<u8>> = Vec::with_capacity(batch.len());
    let mut untils: Vec<i64> = Vec::with_capacity(batch.len());
    for p in batch {
        if queued.insert(p.digest) {
            digests.push(p.digest.to_vec());
            untils.push(p.valid_until);
        }
    }
    let firsts = conn.first_uses(digests.clone(), untils)?;
    let mut fresh: std::collections::HashSet<Vec<u8>> = digests
        .into_iter()
        .zip(firsts)
        .filter_map(|(d, first)| first.then_some(d))
        .collect();
    Ok(batch
        .iter()
        .map(|p| fresh.remove(p.digest.as_slice()))
        .collect())
}
