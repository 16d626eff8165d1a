//! A copy of the audit trail as JSON lines, one CADF event per line, to a
//! file (`audit.file`) and/or syslog (`audit.syslog`, facility authpriv),
//! for a SIEM that tails files or listens to syslog. Events go out only
//! once their transaction has committed (see [`crate::store::outbox`]), on
//! a thread of their own: a slow disk or syslog daemon never holds a
//! request. If the export falls behind by more than a bounded queue,
//! events are dropped from the copy (never from the table) and counted in
//! a warning.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::store::outbox::{Channel, Delivery, Staged};

pub use crate::store::outbox::stage;

/// Batches (one per committed transaction) waiting for the export thread.
const QUEUE: usize = 4096;
/// How often the file's path is checked for rotation (logrotate's
/// move-and-create).
const REOPEN_CHECK: Duration = Duration::from_secs(1);

/// Starts the export thread if a file or syslog socket is configured; the
/// delivery to give the database.
pub fn start(file: Option<PathBuf>, syslog: Option<PathBuf>) -> Result<Option<Delivery>, Error> {
    if file.is_none() && syslog.is_none() {
        return Ok(None);
    }
    let mut file = file.map(AuditFile::open).transpose()?;
    let mut syslog = syslog.map(Syslog::connect).transpose()?;
    let (tx, rx) = sync_channel::<Vec<String>>(QUEUE);
    std::thread::Builder::new()
        .name("audit-export".into())
        .spawn(move || export(&rx, file.as_mut(), syslog.as_mut()))
        .map_err(|e| Error::Internal(format!("cannot start the audit export: {e}")))?;
    let dropped = Arc::new(AtomicU64::new(0));
    Ok(Some(Arc::new(move |staged: Vec<Staged>| {
        let lines: Vec<String> = staged
            .into_iter()
            .filter(|s| s.channel == Channel::Audit)
            .map(|s| s.line)
            .collect();
        if lines.is_empty() {
            return;
        }
        if let Err(TrySendError::Full(lines)) = tx.try_send(lines) {
            let before = dropped.fetch_add(lines.len() as u64, Ordering::Relaxed);
            if before.is_power_of_two() || before == 0 {
                tracing::warn!(
                    dropped = before + lines.len() as u64,
                    "the audit export is behind; events are kept in the database but missing from the file or syslog copy"
                );
            }
        }
    })))
}

fn export(
    rx: &Receiver<Vec<String>>,
    mut file: Option<&mut AuditFile>,
    mut syslog: Option<&mut Syslog>,
) {
    while let Ok(first) = rx.recv() {
        // Drain what else is waiting, so that a burst is one write.
        let mut lines = first;
        while let Ok(more) = rx.try_recv() {
            lines.extend(more);
        }
        if let Some(file) = file.as_deref_mut() {
            file.write(&lines);
        }
        if let Some(syslog) = syslog.as_deref_mut() {
            syslog.send(&lines);
        }
    }
}

/// The JSON-lines file: opened for appending, owner-only; reopened when
/// its path no longer names the open file.
struct AuditFile {
    path: PathBuf,
    file: File,
    identity: (u64, u64),
    checked: Instant,
}

impl AuditFile {
    fn open(path: PathBuf) -> Result<Self, Error> {
        let (file, identity) = Self::create(&path).map_err(|e| {
            Error::Config(format!("cannot open audit.file {}: {e}", path.display()))
        })?;
        Ok(AuditFile {
            path,
            file,
            identity,
            checked: Instant::now(),
        })
    }

    fn create(path: &std::path::Path) -> std::io::Result<(File, (u64, u64))> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        let meta = file.metadata()?;
        Ok((file, (meta.dev(), meta.ino())))
    }

    fn reopen_if_rotated(&mut self) {
        if self.checked.elapsed() < REOPEN_CHECK {
            return;
        }
        self.checked = Instant::now();
        let current = std::fs::metadata(&self.path)
            .map(|m| (m.dev(), m.ino()))
            .ok();
        if current == Some(self.identity) {
            return;
        }
        match Self::create(&self.path) {
            Ok((file, identity)) => {
                self.file = file;
                self.identity = identity;
            }
            Err(e) => {
                tracing::warn!(error = %e, path = %self.path.display(), "cannot reopen audit.file; writing to the old one")
            }
        }
    }

    fn write(&mut self, lines: &[String]) {
        self.reopen_if_rotated();
        let mut buffer = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            buffer.push_str(line);
            buffer.push('\n');
        }
        if let Err(e) = self.file.write_all(buffer.as_bytes()) {
            tracing::warn!(error = %e, events = lines.len(), "cannot write to audit.file; those events are only in the database");
        }
    }
}

/// Syslog over a local datagram socket, RFC 3164, facility authpriv.
struct Syslog {
    path: PathBuf,
    logger: Option<syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>>,
}

impl Syslog {
    fn connect(path: PathBuf) -> Result<Self, Error> {
        let logger = Self::logger(&path).map_err(|e| {
            Error::Config(format!("cannot reach syslog at {}: {e}", path.display()))
        })?;
        Ok(Syslog {
            path,
            logger: Some(logger),
        })
    }

    fn logger(
        path: &std::path::Path,
    ) -> Result<syslog::Logger<syslog::LoggerBackend, syslog::Formatter3164>, syslog::Error> {
        let formatter = syslog::Formatter3164 {
            facility: syslog::Facility::LOG_AUTHPRIV,
            hostname: None,
            process: "ironstone".into(),
            pid: std::process::id(),
        };
        syslog::unix_custom(formatter, path)
    }

    /// Sends each line; a daemon that restarted is reconnected once per
    /// batch.
    fn send(&mut self, lines: &[String]) {
        for line in lines {
            let sent = self.logger.as_mut().map(|l| l.info(line));
            if matches!(sent, Some(Ok(()))) {
                continue;
            }
            self.logger = Self::logger(&self.path).ok();
            let retried = self.logger.as_mut().map(|l| l.info(line));
            if !matches!(retried, Some(Ok(()))) {
                tracing::warn!(path = %self.path.display(), "cannot send audit events to syslog; they are only in the database");
                return;
            }
        }
    }
}
