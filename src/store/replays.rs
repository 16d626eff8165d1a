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

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::mysql::MysqlConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, BigInt, Binary, Bytea};
use diesel::{Connection, RunQueryDsl};

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

struct Pending {
    digest: Digest,
    valid_until: i64,
    reply: tokio::sync::oneshot::Sender<Result<bool, Error>>,
}

/// A handle on the shared record; cheap to clone.
#[derive(Clone)]
pub struct SharedReplays {
    queue: SyncSender<Pending>,
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
        Ok(SharedReplays { queue })
    }

    /// Records the digest and says whether this is its first use. An error
    /// when the record cannot be reached: the caller must not accept the
    /// request then, since it cannot tell a replay.
    pub async fn first_use(&self, digest: Digest, valid_until: i64) -> Result<bool, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let pending = Pending {
            digest,
            valid_until,
            reply,
        };
        match self.queue.try_send(pending) {
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
            if let Err(e) = c.prune(chrono::Utc::now().timestamp()) {
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
