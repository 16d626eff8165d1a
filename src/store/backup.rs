//! `ironstone db backup FILE`: an online, consistent copy of the database,
//! taken while the service serves.
//!
//! On SQLite it is `VACUUM INTO`, which copies one read snapshot (in WAL
//! mode writers go on meanwhile) into a compact file. The copy is written
//! under a temporary name beside `FILE`, checked (`PRAGMA
//! integrity_check`), synced and only then renamed, so a file named `FILE`
//! is always a whole, verified backup, even if the command is killed.
//! PostgreSQL and MariaDB/MySQL have their own online tools, which the
//! command names rather than wraps (they take the same URL, and know their
//! server's versions and options better).

use std::path::{Path, PathBuf};

use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};

use super::{Backend, Database};
use crate::error::Error;

/// What `db backup` wrote.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
}

#[derive(diesel::QueryableByName)]
struct IntegrityRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

impl Database {
    /// Writes an online, consistent copy of the database to `dest`, which
    /// must not exist. The copy holds password hashes and encrypted
    /// secrets, so it is made owner-only (0600); the keys that decrypt
    /// them are not in it (see the README's "Backup and restore").
    pub fn backup(&self, dest: &Path) -> Result<Backup, Error> {
        match self.backend {
            Backend::Sqlite => backup_sqlite(&self.target, dest),
            Backend::Postgres => Err(Error::Config(
                "`db backup` copies SQLite databases; for PostgreSQL use its online dump, \
                 which is consistent while the service writes: \
                 pg_dump --format=custom --file=FILE \"$IRONSTONE_DATABASE_URL\" \
                 (restore: pg_restore --clean --if-exists --dbname=URL FILE)"
                    .into(),
            )),
            Backend::Mysql => Err(Error::Config(
                "`db backup` copies SQLite databases; for MariaDB/MySQL use its online dump, \
                 which is consistent while the service writes: \
                 mariadb-dump --single-transaction --routines DATABASE > FILE \
                 (restore: mariadb DATABASE < FILE)"
                    .into(),
            )),
        }
    }
}

fn backup_sqlite(source: &str, dest: &Path) -> Result<Backup, Error> {
    let io = |what: &str, path: &Path, e: std::io::Error| {
        Error::Config(format!("cannot {what} {}: {e}", path.display()))
    };
    if dest.exists() {
        return Err(Error::Config(format!(
            "{} exists; a backup never overwrites a file: name a new one",
            dest.display()
        )));
    }
    let name = dest
        .file_name()
        .ok_or_else(|| Error::Config(format!("{} names no file", dest.display())))?
        .to_string_lossy()
        .into_owned();
    let partial = dest.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    // VACUUM INTO writes into an empty file that exists: create it
    // owner-only first, so the copy is never readable by others.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&partial)
        .map_err(|e| io("create", &partial, e))?;
    let copied = copy_and_check(source, &partial);
    let finished = copied.and_then(|()| {
        std::fs::File::open(&partial)
            .and_then(|f| f.sync_all())
            .map_err(|e| io("sync", &partial, e))?;
        std::fs::rename(&partial, dest).map_err(|e| io("name", dest, e))?;
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The rename itself survives a crash once the directory is synced.
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io("sync", dir, e))?;
        }
        std::fs::metadata(dest).map_err(|e| io("read", dest, e))
    });
    match finished {
        Ok(meta) => Ok(Backup {
            path: dest.to_path_buf(),
            bytes: meta.len(),
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// Copies one snapshot of `source` into the empty file `into`, then checks
/// the copy's integrity.
fn copy_and_check(source: &str, into: &Path) -> Result<(), Error> {
    let db = |e: &dyn std::fmt::Display| Error::Config(format!("cannot back up the database: {e}"));
    let into_text = into
        .to_str()
        .ok_or_else(|| Error::Config(format!("{} is not valid UTF-8", into.display())))?;
    let mut conn = SqliteConnection::establish(source).map_err(|e| db(&e))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000;")
        .map_err(|e| db(&e))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(into_text)
        .execute(&mut conn)
        .map_err(|e| db(&e))?;
    let mut copy = SqliteConnection::establish(into_text).map_err(|e| db(&e))?;
    let rows: Vec<IntegrityRow> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut copy)
        .map_err(|e| db(&e))?;
    match rows.as_slice() {
        [row] if row.integrity_check == "ok" => Ok(()),
        rows => Err(Error::Config(format!(
            "the copy failed its integrity check: {}",
            rows.iter()
                .map(|r| r.integrity_check.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}
