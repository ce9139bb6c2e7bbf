//! The migration lock: one online run at a time per version table.
//!
//! Taken before the version table is read and held until the run ends, so
//! two runners started together never plan from the same rows.
//!
//! - PostgreSQL: a session-level advisory lock whose key is a hash of the
//!   version table's schema and name. It needs no table, blocks no reader
//!   (Alembic beside aurora still reads `alembic_version`), and dies with the
//!   connection. Where the server has them (PostgreSQL 14+), the session sets
//!   `client_connection_check_interval` and `idle_session_timeout`, so that a
//!   backend whose aurora was killed notices and frees the lock.
//! - SQLite: an exclusive `flock` on the database file. SQLite's own locks
//!   are POSIX record locks, which `flock` does not touch on Linux, so
//!   readers and SQLite's transactions are unaffected; the kernel drops it
//!   when the process ends, however it ends. Each revision also runs in
//!   `BEGIN IMMEDIATE` with the version rows read again inside (see
//!   [`run_online`](super::run_online)), which guards against writers that
//!   take no lock.
//!
//! A runner that finds the lock held prints one line through `notice`
//! (`waiting for the migration lock held by pid N`), polls until the lock is
//! free or `timeout` has passed, and then plans from the rows as they are.

use std::io::Read;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{interrupt, Connection, DatabaseUrl, DbError, Value};
use crate::sql::version::VersionTable;
use crate::sql::Dialect;

/// How a run takes the lock (`--no-lock`, `--lock-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockSettings {
    pub enabled: bool,
    pub timeout: Duration,
}

impl Default for LockSettings {
    fn default() -> LockSettings {
        LockSettings {
            enabled: true,
            timeout: Duration::from_secs(300),
        }
    }
}

/// A held migration lock; [`MigrationLock::release`] frees it (ending the
/// process or closing the connection frees it too).
#[derive(Debug)]
pub enum MigrationLock {
    /// `--no-lock`, or an in-memory SQLite database no one else can see.
    None,
    Postgres {
        key: i64,
    },
    Sqlite {
        file: std::fs::File,
    },
}

const POLL: Duration = Duration::from_millis(100);

/// Takes the migration lock for `table`, waiting up to `settings.timeout`.
pub fn acquire(
    conn: &mut dyn Connection,
    url: &DatabaseUrl,
    table: &VersionTable,
    settings: &LockSettings,
    notice: &mut dyn FnMut(&str),
) -> Result<MigrationLock, DbError> {
    if !settings.enabled {
        return Ok(MigrationLock::None);
    }
    let _ = url;
    match conn.dialect() {
        Dialect::Postgresql => acquire_postgres(conn, table, settings, notice),
        Dialect::Sqlite => acquire_sqlite(conn, settings, notice),
    }
}

impl MigrationLock {
    /// Frees the lock. Errors are dropped: the connection closing frees it anyway.
    pub fn release(self, conn: &mut dyn Connection) {
        match self {
            MigrationLock::None => {}
            MigrationLock::Postgres { key } => {
                let _ = conn.query(&format!("SELECT pg_advisory_unlock({key})"));
            }
            MigrationLock::Sqlite { file } => {
                let _ = file.unlock();
            }
        }
    }
}

/// The advisory-lock key of a version table: the first eight bytes of a
/// SHA-256 of its schema and name.
pub fn advisory_key(schema: &str, name: &str) -> i64 {
    let digest = Sha256::digest(format!("aurora migration lock\0{schema}\0{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

fn first_integer(rows: &[Vec<Value>]) -> Option<i64> {
    match rows.first()?.first()? {
        Value::Integer(n) => Some(*n),
        Value::Text(t) => t.parse().ok(),
        _ => None,
    }
}

fn first_text(rows: &[Vec<Value>]) -> Option<String> {
    match rows.first()?.first()? {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    }
}

fn acquire_postgres(
    conn: &mut dyn Connection,
    table: &VersionTable,
    settings: &LockSettings,
    notice: &mut dyn FnMut(&str),
) -> Result<MigrationLock, DbError> {
    let version = first_integer(&conn.query("SELECT current_setting('server_version_num')::int")?)
        .unwrap_or(0);
    if version >= 140000 {
        // A backend whose client vanished mid-statement notices within a
        // second; one left idle by a client that vanished without closing
        // the connection ends after ten minutes. Either way the lock goes.
        conn.execute("SET client_connection_check_interval = 1000")?;
        conn.execute("SET idle_session_timeout = 600000")?;
    }
    let schema = match &table.schema {
        Some(schema) => schema.clone(),
        None => first_text(&conn.query("SELECT current_schema()")?).unwrap_or_default(),
    };
    let key = advisory_key(&schema, &table.name);
    let started = Instant::now();
    let mut announced = false;
    loop {
        let got = first_integer(&conn.query(&format!("SELECT pg_try_advisory_lock({key})"))?);
        if got == Some(1) {
            return Ok(MigrationLock::Postgres { key });
        }
        let holder = || -> String {
            let hi = (key >> 32) & 0xffff_ffff;
            let lo = key & 0xffff_ffff;
            let sql = format!(
                "SELECT pid FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND granted \
                 AND classid::bigint = {hi} AND objid::bigint = {lo} AND objsubid = 1"
            );
            match conn.query(&sql).ok().and_then(|rows| first_integer(&rows)) {
                Some(pid) => format!("pid {pid} (PostgreSQL backend)"),
                None => "another session".to_string(),
            }
        };
        wait_step(&mut announced, started, settings, notice, holder)?;
    }
}

fn acquire_sqlite(
    conn: &mut dyn Connection,
    settings: &LockSettings,
    notice: &mut dyn FnMut(&str),
) -> Result<MigrationLock, DbError> {
    // SQLite's own answer to which file the connection uses (a URI, a
    // relative path, ...); empty for an in-memory database.
    let rows = conn.query("PRAGMA database_list")?;
    let file = rows.iter().find_map(|row| match row.as_slice() {
        [_, Value::Text(name), Value::Text(file)] if name == "main" => Some(file.clone()),
        _ => None,
    });
    let Some(path) = file.filter(|f| !f.is_empty()).map(std::path::PathBuf::from) else {
        return Ok(MigrationLock::None);
    };
    // The connection is open already, so the file exists.
    let file = std::fs::File::open(&path).map_err(|e| DbError::Lock {
        message: format!(
            "could not open {} to take the migration lock: {e}",
            path.display()
        ),
    })?;
    let started = Instant::now();
    let mut announced = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(MigrationLock::Sqlite { file }),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(DbError::Lock {
                    message: format!(
                        "could not take the migration lock on {}: {e}",
                        path.display()
                    ),
                })
            }
        }
        let holder = || match flock_holder(&file) {
            Some(pid) => format!("pid {pid}"),
            None => "another process".to_string(),
        };
        wait_step(&mut announced, started, settings, notice, holder)?;
    }
}

/// One round of waiting: the notice the first time, the timeout, a signal, a pause.
fn wait_step(
    announced: &mut bool,
    started: Instant,
    settings: &LockSettings,
    notice: &mut dyn FnMut(&str),
    holder: impl FnOnce() -> String,
) -> Result<(), DbError> {
    if let Some(signal) = interrupt::received() {
        return Err(DbError::Interrupted { signal });
    }
    if started.elapsed() >= settings.timeout {
        return Err(DbError::Lock {
            message: format!(
                "the migration lock is still held by {} after {} s; try again later, \
                 raise --lock-timeout, or run with --no-lock if no other run is going on",
                holder(),
                settings.timeout.as_secs()
            ),
        });
    }
    if !*announced {
        *announced = true;
        notice(&format!(
            "waiting for the migration lock held by {}",
            holder()
        ));
    }
    std::thread::sleep(POLL);
    Ok(())
}

/// The process holding a `flock` on the file, from `/proc/locks` (Linux).
fn flock_holder(file: &std::fs::File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let inode = file.metadata().ok()?.ino();
    let mut text = String::new();
    std::fs::File::open("/proc/locks")
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`
        if fields.len() < 6 || fields[1] != "FLOCK" {
            return None;
        }
        let ino: u64 = fields[5].rsplit(':').next()?.parse().ok()?;
        (ino == inode).then(|| fields[4].parse().ok()).flatten()
    })
}
