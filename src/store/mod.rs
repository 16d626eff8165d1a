//! Storage: one Diesel connection type over SQLite, PostgreSQL and
//! MariaDB/MySQL, an r2d2
//! pool, embedded migrations, and the one way request code reaches the
//! database ([`Database::read`] / [`Database::write`]).

pub mod backup;
mod breaker;
pub mod context;
pub mod extra;
pub mod outbox;
pub mod rates;
pub mod replays;
pub mod rows;
pub mod schema;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::mysql::MysqlConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::sync::{Mutex, Semaphore};

use crate::error::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const MYSQL_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/mysql");

/// A connection to any of the backends. Store functions take `&mut Conn` and
/// compose inside one transaction.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
    Mysql(MysqlConnection),
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    /// MariaDB or MySQL.
    Mysql,
}

impl Backend {
    /// Chooses by scheme, so a mistyped PostgreSQL URL is an error instead of
    /// a new SQLite file with a strange name.
    pub fn of_url(url: &str) -> Result<(Backend, String), Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_string()));
        }
        // keystone.conf's SQLAlchemy spelling is accepted as it is.
        for scheme in ["mysql://", "mariadb://", "mysql+pymysql://"] {
            if let Some(rest) = url.strip_prefix(scheme) {
                return Ok((Backend::Mysql, format!("mysql://{rest}")));
            }
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok((Backend::Sqlite, path.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok((Backend::Sqlite, path.to_string()));
        }
        if url.contains("://") {
            return Err(Error::Config(format!(
                "unsupported database URL scheme in {:?}: use a SQLite path, sqlite://PATH, postgres:// or mysql://",
                redact_url(url)
            )));
        }
        Ok((Backend::Sqlite, url.to_string()))
    }
}

/// Creates a directory (and its parents) readable by the owner only.
/// An existing directory is left as the operator made it.
pub fn create_private_dir(dir: &std::path::Path) -> Result<(), Error> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))
}

/// Makes the SQLite file owner-only (0600), creating it empty if needed,
/// before SQLite opens it: SQLite gives its `-wal` and `-shm` files the
/// database file's permissions, so they follow. A file that was readable
/// by others (an older release made it 0644) is tightened.
fn make_private_file(path: &std::path::Path) -> Result<(), Error> {
    let text = path.to_string_lossy();
    if text.is_empty() || text == ":memory:" || text.starts_with("file:") {
        return Ok(());
    }
    let io = |e: std::io::Error| Error::Config(format!("cannot prepare {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
            let Ok(meta) = std::fs::metadata(&file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
    }
    Ok(())
}

/// Removes a password from a URL before it is shown anywhere.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// r2d2 manager that picks the backend from the URL scheme.
pub struct ConnManager {
    backend: Backend,
    target: String,
}

impl ConnManager {
    fn establish(&self) -> Result<Conn, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.target).map(Conn::Postgresql),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                // Per-connection settings: foreign keys are per connection in
                // SQLite, and FULL keeps acknowledged commits on power loss.
                // The busy timeout first: switching to WAL takes a lock that
                // another process (a node stopping, a CLI command) may hold.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(Conn::Sqlite(conn))
            }
            Backend::Mysql => {
                let mut conn = MysqlConnection::establish(&self.target)?;
                conn.batch_execute(MYSQL_SESSION)
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(Conn::Mysql(conn))
            }
        }
    }
}

/// Per-session settings on MariaDB/MySQL, so that the service behaves as
/// on PostgreSQL whatever the server's defaults: READ COMMITTED (no gap
/// locks turning concurrent creates into deadlocks), strict mode (a value
/// too long is an error, never silently cut), UTC, and full Unicode.
const MYSQL_SESSION: &str = "SET NAMES utf8mb4 COLLATE utf8mb4_bin; \
     SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; \
     SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'; \
     SET SESSION time_zone = '+00:00';";

#[derive(Debug)]
pub struct ConnManagerError(String);

impl std::fmt::Display for ConnManagerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConnManagerError {}

impl r2d2::ManageConnection for ConnManager {
    type Connection = Conn;
    type Error = ConnManagerError;

    fn connect(&self) -> Result<Conn, ConnManagerError> {
        self.establish()
            .map_err(|e| ConnManagerError(e.to_string()))
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), ConnManagerError> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(|e| ConnManagerError(e.to_string()))
    }

    fn has_broken(&self, _conn: &mut Conn) -> bool {
        false
    }
}

/// The PostgreSQL channel every write notifies, so that other nodes drop
/// their caches.
const CHANGES_CHANNEL: &str = "ironstone_changes";

/// The database's change epoch: it moves whenever a committed write may
/// have changed what a cache holds. Caches ([`crate::cache::EpochCache`])
/// tag entries with it.
#[derive(Debug)]
pub struct Changes {
    epoch: AtomicU64,
    /// False while this node cannot hear other nodes' writes (PostgreSQL
    /// before the listener is up, or while it reconnects).
    live: AtomicBool,
}

impl Changes {
    fn new(live: bool) -> Self {
        Changes {
            epoch: AtomicU64::new(1),
            live: AtomicBool::new(live),
        }
    }

    /// The current epoch, or `None` when caches must not be used.
    pub fn epoch(&self) -> Option<u64> {
        self.live
            .load(Ordering::Acquire)
            .then(|| self.epoch.load(Ordering::Acquire))
    }

    /// Marks that the database changed.
    pub fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Going live or dead moves the epoch too: whatever was missed while
    /// the channel was down is forgotten with it.
    fn set_live(&self, live: bool) {
        if self.live.swap(live, Ordering::AcqRel) != live {
            self.bump();
        }
    }
}

/// The pool plus the limits that keep it from being overrun.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnManager>,
    backend: Backend,
    /// The connection target, for the change listener's own connection.
    target: String,
    changes: Arc<Changes>,
    /// At most pool-size closures wait on the blocking pool at once; the rest
    /// get a 503 after `acquire_timeout` instead of piling up threads.
    permits: Arc<Semaphore>,
    /// SQLite has one writer: serialising our own writers avoids
    /// SQLITE_BUSY on lock upgrades. PostgreSQL does not take it.
    sqlite_writer: Arc<Mutex<()>>,
    acquire_timeout: Duration,
    /// Fails requests fast while no connection can be had.
    breaker: Arc<breaker::Breaker>,
    /// Where lines staged by committed transactions go (the audit export).
    outbox: Option<outbox::Delivery>,
    /// How long each use case's database hop takes, queueing included
    /// (for `/metrics`).
    round_trips: prometheus::Histogram,
}

/// The pool as `/metrics` shows it.
#[derive(Debug, Clone, Copy)]
pub struct PoolUsage {
    pub size: u32,
    pub open: u32,
    pub idle: u32,
}

impl Database {
    /// Opens the pool and applies the embedded migrations.
    pub fn open(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Self, Error> {
        let (backend, target) = Backend::of_url(url)?;
        if backend == Backend::Sqlite {
            let path = std::path::Path::new(&target);
            if let Some(parent) = path.parent() {
                if !parent.as_os_str().is_empty() {
                    create_private_dir(parent)?;
                }
            }
            make_private_file(path)?;
        }
        let manager = ConnManager {
            backend,
            target: target.clone(),
        };
        // Migrate on a single connection first: creating WAL and the schema
        // from several connections at once would race.
        let mut first = manager
            .establish()
            .map_err(|e| Error::Config(format!("cannot open database {}: {e}", redact_url(url))))?;
        run_migrations(&mut first)?;
        drop(first);
        let size = max_connections.max(1);
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            .connection_timeout(acquire_timeout)
            .build(manager)
            .map_err(|e| Error::Config(format!("cannot open database {}: {e}", redact_url(url))))?;
        Ok(Database {
            pool,
            backend,
            target,
            changes: Arc::new(Changes::new(backend == Backend::Sqlite)),
            permits: Arc::new(Semaphore::new(size as usize)),
            sqlite_writer: Arc::new(Mutex::new(())),
            acquire_timeout,
            breaker: Arc::default(),
            outbox: None,
            round_trips: prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "ironstone_db_round_trip_seconds",
                    "Time of one database hop of a request (waiting for a connection, the transaction), in seconds.",
                )
                .buckets(vec![
                    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                    0.5, 1.0, 2.5,
                ]),
            )
            .map_err(|e| Error::Config(format!("metrics: {e}")))?,
        })
    }

    /// The round-trip histogram, to register with a metrics registry.
    pub fn round_trips(&self) -> prometheus::Histogram {
        self.round_trips.clone()
    }

    /// Connections: the pool's size, those open, those idle.
    pub fn pool_usage(&self) -> PoolUsage {
        let state = self.pool.state();
        PoolUsage {
            size: self.pool.max_size(),
            open: state.connections,
            idle: state.idle_connections,
        }
    }

    /// Sends the lines committed transactions stage (see [`outbox`]) to
    /// `delivery`.
    pub fn with_outbox(mut self, delivery: outbox::Delivery) -> Self {
        self.outbox = Some(delivery);
        self
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs a read-only use case in one transaction on the blocking pool.
    ///
    /// Boxed: the hot paths hold a read on the branches they rarely take
    /// (a cache miss), and an async function is as large as its largest
    /// branch. Unboxed, this future (the pool's timeout timer, the use
    /// case and the blocking task) made every caller's future kilobytes
    /// long, copied at each level of every request; boxed, it costs one
    /// allocation beside a trip to the blocking pool.
    pub fn read<'a, T, F>(&'a self, f: F) -> futures_util::future::BoxFuture<'a, Result<T, Error>>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        Box::pin(self.run(f))
    }

    /// One row by id, or the subsystem's 404. `id` may carry the caller's
    /// parse error, which is returned first.
    pub async fn load<T: Send + 'static>(
        &self,
        id: Result<String, Error>,
        get: fn(&mut Conn, &str) -> Result<Option<T>, Error>,
        missing: fn(&str) -> Error,
    ) -> Result<T, Error> {
        let id = id?;
        self.read(move |conn| get(conn, &id)?.ok_or_else(|| missing(&id)))
            .await
    }

    /// Runs a use case that writes, in one transaction on the blocking pool.
    /// Once it commits, caches on this node and (through NOTIFY, sent on
    /// commit) on every other node are invalidated.
    /// Boxed, as [`Database::read`] is.
    pub fn write<'a, T, F>(&'a self, f: F) -> futures_util::future::BoxFuture<'a, Result<T, Error>>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        Box::pin(async move {
            let result = self.write_in_turn(with_notify(f)).await;
            if result.is_ok() {
                self.changes.bump();
            }
            result
        })
    }

    /// A write that changes nothing a cache holds (use counters, last-use
    /// times): no invalidation. Boxed, as [`Database::read`] is.
    pub fn write_quiet<'a, T, F>(
        &'a self,
        f: F,
    ) -> futures_util::future::BoxFuture<'a, Result<T, Error>>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        Box::pin(self.write_in_turn(f))
    }

    /// A write, after the other writers on SQLite (one at a time there).
    /// Unboxed: [`Database::write`] and [`Database::write_quiet`] box it
    /// once each.
    async fn write_in_turn<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let _writer = match self.backend {
            Backend::Sqlite => Some(
                tokio::time::timeout(
                    self.acquire_timeout,
                    self.sqlite_writer.clone().lock_owned(),
                )
                .await
                .map_err(|_| Error::Unavailable("the database is busy; try again".into()))?,
            ),
            Backend::Postgres | Backend::Mysql => None,
        };
        self.run(f).await
    }

    /// The cluster-wide record of used signatures: on PostgreSQL and
    /// MariaDB/MySQL, whose nodes may be many; `None` on SQLite, which
    /// serves one node.
    pub fn start_shared_replays(&self) -> Result<Option<replays::SharedReplays>, Error> {
        match self.backend {
            Backend::Postgres => {
                replays::SharedReplays::start::<PgConnection>(&self.target).map(Some)
            }
            Backend::Mysql => {
                replays::SharedReplays::start::<MysqlConnection>(&self.target).map(Some)
            }
            Backend::Sqlite => Ok(None),
        }
    }

    /// Whether several nodes may share this database (and so the replay
    /// record, rate limits and caches must be shared through it).
    pub fn is_clustered(&self) -> bool {
        self.backend != Backend::Sqlite
    }

    /// The change epoch the caches follow.
    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Starts the thread that hears writes made elsewhere: other nodes'
    /// NOTIFY on PostgreSQL; on SQLite (other processes) and MariaDB/MySQL
    /// (other nodes), the `change_counter` row. It checks every `poll` and
    /// ends with the database.
    pub fn spawn_change_listener(&self, poll: Duration) -> Result<(), Error> {
        let changes = Arc::downgrade(&self.changes);
        let (backend, target) = (self.backend, self.target.clone());
        std::thread::Builder::new()
            .name("ironstone-changes".into())
            .spawn(move || match backend {
                Backend::Postgres => listen_postgres(&changes, &target, poll),
                Backend::Sqlite => watch_counter(&changes, poll, || {
                    let mut conn = SqliteConnection::establish(&target).ok()?;
                    let _ = conn.batch_execute("PRAGMA busy_timeout = 1000;");
                    Some(conn)
                }),
                Backend::Mysql => watch_counter(&changes, poll, || {
                    let mut conn = MysqlConnection::establish(&target).ok()?;
                    conn.batch_execute(MYSQL_SESSION).ok()?;
                    Some(conn)
                }),
            })
            .map(|_| ())
            .map_err(|e| Error::Internal(format!("cannot start the change listener: {e}")))
    }

    async fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let permit =
            tokio::time::timeout(self.acquire_timeout, self.permits.clone().acquire_owned())
                .await
                .map_err(|_| Error::Unavailable("the service is saturated; try again".into()))?
                .map_err(|_| Error::Unavailable("the service is shutting down".into()))?;
        let admitted = self.breaker.admit();
        if admitted == breaker::Admission::Refuse {
            return Err(unavailable());
        }
        let breaker = Arc::clone(&self.breaker);
        let pool = self.pool.clone();
        let outbox = self.outbox.clone();
        let span = tracing::Span::current();
        let request = context::current();
        let timer = self.round_trips.start_timer();
        let result = tokio::task::spawn_blocking(move || {
            let _enter = span.enter();
            let _permit = permit;
            let conn = pool.get();
            breaker.record(&admitted, conn.is_ok());
            let mut conn = conn.map_err(database_unavailable)?;
            let result = context::on_this_thread(request, || {
                outbox::around(outbox.as_ref(), || conn.transaction(|c| f(c)))
            });
            lost_connection_is_unavailable(&mut conn, result)
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?;
        timer.observe_duration();
        result
    }

    /// Runs `f` on a pooled connection outside any request (CLI commands).
    /// On PostgreSQL it notifies running nodes, which may be caching what
    /// `f` changes (an import, a bootstrap, a key migration).
    pub fn blocking<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self.pool.get().map_err(database_unavailable)?;
        let f = with_notify(f);
        let result = outbox::around(self.outbox.as_ref(), || conn.transaction(|c| f(c)));
        let result = lost_connection_is_unavailable(&mut conn, result);
        if result.is_ok() {
            self.changes.bump();
        }
        result
    }

    /// True when a connection can be had and answers.
    pub async fn ping(&self) -> bool {
        self.read(|c| {
            diesel::sql_query("SELECT 1").execute(c)?;
            Ok(())
        })
        .await
        .is_ok()
    }
}

/// Wraps a use case so that its transaction also tells other processes
/// that caches must go, if and when it commits: NOTIFY on PostgreSQL, the
/// `change_counter` row elsewhere.
fn with_notify<T>(
    f: impl FnOnce(&mut Conn) -> Result<T, Error>,
) -> impl FnOnce(&mut Conn) -> Result<T, Error> {
    move |conn| {
        let out = f(conn)?;
        let signal = match conn {
            Conn::Postgresql(_) => format!("NOTIFY {CHANGES_CHANNEL}"),
            Conn::Sqlite(_) | Conn::Mysql(_) => {
                "UPDATE change_counter SET n = n + 1 WHERE id = 1".to_string()
            }
        };
        diesel::sql_query(signal).execute(conn)?;
        Ok(out)
    }
}

/// The name the listener's connection gives itself (`application_name`),
/// so that it can be told from the pool's in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "ironstone-changes";

fn named_listener(target: &str) -> String {
    let name = format!("application_name={LISTENER_NAME}");
    if target.contains("://") {
        let separator = if target.contains('?') { '&' } else { '?' };
        format!("{target}{separator}{name}")
    } else {
        format!("{target} {name}")
    }
}

/// PostgreSQL: LISTEN on a connection of its own; any notification moves
/// the epoch. While the connection is down the caches are off, and they
/// come back with a new epoch once it listens again.
fn listen_postgres(changes: &Weak<Changes>, target: &str, poll: Duration) {
    const RETRY: Duration = Duration::from_secs(1);
    const PING: Duration = Duration::from_secs(2);
    loop {
        let Some(live) = changes.upgrade() else {
            return;
        };
        let conn = PgConnection::establish(&named_listener(target))
            .ok()
            .and_then(|mut c| {
                diesel::sql_query(format!("LISTEN {CHANGES_CHANNEL}"))
                    .execute(&mut c)
                    .ok()
                    .map(|_| c)
            });
        let Some(mut conn) = conn else {
            live.set_live(false);
            drop(live);
            std::thread::sleep(RETRY);
            continue;
        };
        live.set_live(true);
        drop(live);
        let mut last_ping = Instant::now();
        loop {
            std::thread::sleep(poll);
            let Some(live) = changes.upgrade() else {
                return;
            };
            let mut heard = false;
            let mut broken = false;
            for n in conn.notifications_iter() {
                match n {
                    Ok(_) => heard = true,
                    Err(_) => {
                        broken = true;
                        break;
                    }
                }
            }
            if heard {
                live.bump();
            }
            if last_ping.elapsed() >= PING {
                broken |= diesel::sql_query("SELECT 1").execute(&mut conn).is_err();
                last_ping = Instant::now();
            }
            if broken {
                tracing::warn!(
                    "lost the database change listener; caches are off until it is back"
                );
                live.set_live(false);
                break;
            }
        }
        std::thread::sleep(RETRY);
    }
}

#[derive(diesel::QueryableByName)]
struct ChangeCount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// SQLite and MariaDB/MySQL: polls the `change_counter` row, which every
/// cache-relevant write increments in its own transaction, from any
/// process or node. (Not SQLite's `PRAGMA data_version`: that also moves
/// for bookkeeping writes, and would empty the caches every second under
/// signature load.) While the row cannot be read the caches are off; the
/// connection is made again until it can.
fn watch_counter<C>(changes: &Weak<Changes>, poll: Duration, connect: impl Fn() -> Option<C>)
where
    C: diesel::connection::LoadConnection,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, ChangeCount>,
{
    const RETRY: Duration = Duration::from_secs(1);
    let count = |conn: &mut C| -> Option<i64> {
        diesel::sql_query("SELECT n FROM change_counter WHERE id = 1")
            .load::<ChangeCount>(conn)
            .ok()
            .and_then(|v| v.first().map(|c| c.n))
    };
    let mut conn: Option<C> = None;
    let mut last = None;
    loop {
        let Some(live) = changes.upgrade() else {
            return;
        };
        if conn.is_none() {
            conn = connect();
        }
        let now = conn.as_mut().and_then(count);
        match now {
            None => {
                // Cannot tell: serve from the database until we can.
                live.set_live(false);
                conn = None;
                drop(live);
                std::thread::sleep(RETRY);
                continue;
            }
            Some(n) => {
                live.set_live(true);
                if last.is_some_and(|l| l != n) {
                    live.bump();
                }
                last = Some(n);
            }
        }
        drop(live);
        std::thread::sleep(poll);
    }
}

/// Applies pending migrations for the connection's backend.
pub fn run_migrations(conn: &mut Conn) -> Result<(), Error> {
    let result = match conn {
        Conn::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        Conn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        Conn::Mysql(c) => c.run_pending_migrations(MYSQL_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| Error::Config(format!("database migration failed: {e}")))
}

/// Maps Diesel errors: unique violations are the caller's conflict, a
/// missing row is not found, a deadlock is worth a retry, everything else
/// is ours.
impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::NotFound => Error::NotFound("The resource could not be found.".into()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Error::Conflict(
                "Conflict occurred attempting to store the resource: duplicate entry.".into(),
            ),
            // A deadlock (MariaDB/MySQL) or a serialization failure: the
            // transaction was rolled back whole, so the caller may repeat it.
            D::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Error::Unavailable(
                "A concurrent change got in the way of this request; try again.".into(),
            ),
            // The connection went away under the request (the server
            // stopped, or ended it). As with any lost connection, a commit
            // in flight may or may not have taken.
            D::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                Error::Unavailable("The database connection was lost; try again.".into())
            }
            D::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::Conflict(
                "Conflict occurred: the resource is referenced by, or refers to, another resource."
                    .into(),
            ),
            D::DatabaseError(_, ref info) if is_out_of_space(info.message()) => {
                tracing::error!(error = %info.message(), "the database has no space left: writes are refused until there is");
                Error::Unavailable(
                    "The database has no space left to write; try again later.".into(),
                )
            }
            other => Error::Internal(format!("database error: {other}")),
        }
    }
}

/// The messages with which the drivers report a full disk (SQLite's
/// SQLITE_FULL, PostgreSQL's `disk_full` and its failed file extension,
/// MariaDB/MySQL's 1114 and 1021). A write refused for want of space is
/// not the caller's fault nor a bug: a 503, and an error in the log for
/// the operator.
fn is_out_of_space(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        // SQLite's "database or disk is full", MariaDB's "The table … is full".
        "is full",
        "no space left on device",
        "disk full",
    ]
    .iter()
    .any(|sign| message.contains(sign))
}

/// No connection to the database could be had: a 503 that tells the
/// caller no more than that (the driver's message names the server, the
/// port and the database), with the detail in the log.
fn database_unavailable(e: r2d2::Error) -> Error {
    tracing::warn!(error = %e, "no database connection");
    unavailable()
}

fn unavailable() -> Error {
    Error::Unavailable("The database is unavailable; try again later.".into())
}

/// An error of ours (a 500) on a connection that no longer answers was the
/// connection's: the server ended it (`pg_terminate_backend`, a restart,
/// a failover) or the network did, mid-request. Drivers report that under
/// no one kind (PostgreSQL's "terminating connection due to administrator
/// command" comes as an unknown error), so the connection is asked. It is
/// the caller's 503, to try again; whether a commit in flight took is
/// unknown, as with any lost connection.
fn lost_connection_is_unavailable<T>(
    conn: &mut Conn,
    result: Result<T, Error>,
) -> Result<T, Error> {
    let Err(Error::Internal(detail)) = &result else {
        return result;
    };
    if diesel::sql_query("SELECT 1").execute(conn).is_ok() {
        return result;
    }
    tracing::warn!(error = %detail, "the database connection was lost");
    Err(Error::Unavailable(
        "The database connection was lost; try again.".into(),
    ))
}

/// Keystone 30's answer to a page marker that names nothing.
pub fn marker_not_found(marker: &str) -> Error {
    Error::NotFound(format!("Marker {marker} could not be found."))
}

/// Current UTC time in microseconds, the unit of every stored `*_at`.
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// A new Keystone-style id: 32 lowercase hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_scheme() {
        assert_eq!(
            Backend::of_url("/tmp/x.db").unwrap_or_else(|_| panic!()).0,
            Backend::Sqlite
        );
        assert_eq!(
            Backend::of_url("sqlite:///tmp/x.db")
                .unwrap_or_else(|_| panic!())
                .1,
            "/tmp/x.db"
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db")
                .unwrap_or_else(|_| panic!())
                .0,
            Backend::Postgres
        );
        assert!(Backend::of_url("postgress://u@h/db").is_err());
        assert_eq!(
            Backend::of_url("mysql+pymysql://u:p@h:3306/keystone").unwrap_or_else(|_| panic!()),
            (Backend::Mysql, "mysql://u:p@h:3306/keystone".to_string())
        );
        assert!(Backend::of_url("mysql+mysqldb://u@h/db").is_err());
    }

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("/tmp/x.db"), "/tmp/x.db");
    }
}

/// What writing a row under its own id found (for the import's report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    Created,
    Updated,
    Unchanged,
}
