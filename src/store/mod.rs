//! Storage: one Diesel connection type over SQLite and PostgreSQL, an r2d2
//! pool, embedded migrations, and the one way request code reaches the
//! database ([`Database::read`] / [`Database::write`]).

pub mod rows;
pub mod schema;

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use tokio::sync::{Mutex, Semaphore};

use crate::error::Error;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Store functions take `&mut Conn` and
/// compose inside one transaction.
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Chooses by scheme, so a mistyped PostgreSQL URL is an error instead of
    /// a new SQLite file with a strange name.
    pub fn of_url(url: &str) -> Result<(Backend, String), Error> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok((Backend::Postgres, url.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok((Backend::Sqlite, path.to_string()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            return Ok((Backend::Sqlite, path.to_string()));
        }
        if url.contains("://") {
            return Err(Error::Config(format!(
                "unsupported database URL scheme in {:?}: use a SQLite path, sqlite://PATH or postgres://",
                redact_url(url)
            )));
        }
        Ok((Backend::Sqlite, url.to_string()))
    }
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
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(Conn::Sqlite(conn))
            }
        }
    }
}

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

/// The pool plus the limits that keep it from being overrun.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<ConnManager>,
    backend: Backend,
    /// At most pool-size closures wait on the blocking pool at once; the rest
    /// get a 503 after `acquire_timeout` instead of piling up threads.
    permits: Arc<Semaphore>,
    /// SQLite has one writer: serialising our own writers avoids
    /// SQLITE_BUSY on lock upgrades. PostgreSQL does not take it.
    sqlite_writer: Arc<Mutex<()>>,
    acquire_timeout: Duration,
}

impl Database {
    /// Opens the pool and applies the embedded migrations.
    pub fn open(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Self, Error> {
        let (backend, target) = Backend::of_url(url)?;
        if backend == Backend::Sqlite {
            if let Some(parent) = std::path::Path::new(&target).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        Error::Config(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
            }
        }
        let manager = ConnManager { backend, target };
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
            permits: Arc::new(Semaphore::new(size as usize)),
            sqlite_writer: Arc::new(Mutex::new(())),
            acquire_timeout,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs a read-only use case in one transaction on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce(&mut Conn) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.run(f).await
    }

    /// Runs a use case that writes, in one transaction on the blocking pool.
    pub async fn write<T, F>(&self, f: F) -> Result<T, Error>
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
            Backend::Postgres => None,
        };
        self.run(f).await
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
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let result = tokio::task::spawn_blocking(move || {
            let _enter = span.enter();
            let _permit = permit;
            let mut conn = pool
                .get()
                .map_err(|e| Error::Unavailable(format!("no database connection: {e}")))?;
            conn.transaction(|c| f(c))
        })
        .await
        .map_err(|e| Error::Internal(format!("database task failed: {e}")))?;
        result
    }

    /// Runs `f` on a pooled connection outside any request (CLI commands).
    pub fn blocking<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T, Error>) -> Result<T, Error> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| Error::Unavailable(format!("no database connection: {e}")))?;
        conn.transaction(|c| f(c))
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

/// Applies pending migrations for the connection's backend.
pub fn run_migrations(conn: &mut Conn) -> Result<(), Error> {
    let result = match conn {
        Conn::Postgresql(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
        Conn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
    };
    result.map_err(|e| Error::Config(format!("database migration failed: {e}")))
}

/// Maps Diesel errors: unique violations are the caller's conflict, a
/// missing row is not found, everything else is ours.
impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as D};
        match e {
            D::NotFound => Error::NotFound("The resource could not be found.".into()),
            D::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Error::Conflict(
                "Conflict occurred attempting to store the resource: duplicate entry.".into(),
            ),
            D::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::Conflict(
                "Conflict occurred: the resource is referenced by, or refers to, another resource."
                    .into(),
            ),
            other => Error::Internal(format!("database error: {other}")),
        }
    }
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
        assert!(Backend::of_url("mysql://u@h/db").is_err());
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
