//! The audit journal (`[aurora] journal = true`): a side table,
//! `aurora_journal`, with one row per revision applied, reverted or stamped
//! by an online run. Alembic never reads or writes it.
//!
//! A step's row is inserted inside the step's own transaction, after its
//! version-table change ([`Recorder::step_done`], called from the runner's
//! after-step hook): when the revision rolls back, so does its row, and a row
//! with outcome `applied` means the revision is applied. A failed step gets a
//! row with outcome `failed` and the error, written after the rollback in a
//! transaction of its own ([`Recorder::run_failed`]), so a dirty attempt
//! stays visible. On PostgreSQL the table lives in `version_table_schema`
//! when one is set. Offline (`--sql`) runs write nothing to it: the script
//! is not a run, and whoever applies it is not aurora.

use std::cell::Cell;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::db::{Connection, DbError, Value};
use crate::plan::{Direction, Step};
use crate::sql::Dialect;

/// The journal table's name.
pub const TABLE: &str = "aurora_journal";

/// The columns `aurora journal` shows, in order.
pub const COLUMNS: [&str; 13] = [
    "id",
    "direction",
    "revision",
    "from_revisions",
    "to_revisions",
    "started_at",
    "ended_at",
    "outcome",
    "error",
    "aurora_version",
    "checksum",
    "os_user",
    "host",
];

/// The 14th column, kept last so the table's shape reads top to bottom.
pub const HOLDER_COLUMN: &str = "lock_holder";

/// Where the journal is and who writes to it.
#[derive(Debug, Clone)]
pub struct Journal {
    pub schema: Option<String>,
    pub os_user: String,
    pub host: String,
    /// Who holds the migration lock for this run (`pid N on HOST`, or
    /// `none (--no-lock)`).
    pub lock_holder: String,
}

impl Journal {
    /// The journal of this process: user and host from the environment,
    /// the lock holder from whether the run takes the migration lock.
    pub fn for_this_process(schema: Option<String>, locked: bool) -> Journal {
        let host = host_name();
        let lock_holder = if locked {
            format!("pid {} on {host}", std::process::id())
        } else {
            "none (--no-lock)".to_string()
        };
        Journal {
            schema,
            os_user: crate::db::os_user_name().unwrap_or_else(|| "unknown".into()),
            host,
            lock_holder,
        }
    }

    fn qualified(&self) -> String {
        qualified(self.schema.as_deref())
    }

    /// `CREATE TABLE IF NOT EXISTS aurora_journal`, committed on its own.
    pub fn ensure(&self, conn: &mut dyn Connection) -> Result<(), DbError> {
        let id = match conn.dialect() {
            Dialect::Sqlite => "id INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgresql => "id BIGSERIAL PRIMARY KEY",
        };
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (\n    {id}, \n    direction VARCHAR(16) NOT NULL, \n    \
             revision VARCHAR(255), \n    from_revisions TEXT NOT NULL, \n    to_revisions TEXT NOT NULL, \n    \
             started_at VARCHAR(40) NOT NULL, \n    ended_at VARCHAR(40) NOT NULL, \n    \
             outcome VARCHAR(16) NOT NULL, \n    error TEXT, \n    aurora_version VARCHAR(40) NOT NULL, \n    \
             checksum VARCHAR(80), \n    os_user VARCHAR(255) NOT NULL, \n    host VARCHAR(255) NOT NULL, \n    \
             lock_holder VARCHAR(255) NOT NULL\n)",
            self.qualified()
        );
        conn.begin()?;
        if let Err(e) = conn.execute(&sql) {
            let _ = conn.rollback();
            return Err(e);
        }
        conn.commit()
    }

    /// Inserts one row (in whatever transaction is open).
    pub fn insert(
        &self,
        conn: &mut dyn Connection,
        step: &Step,
        started: DateTime<Utc>,
        outcome: &str,
        error: Option<&str>,
    ) -> Result<(), DbError> {
        let direction = match step.direction {
            Direction::Upgrade => "upgrade",
            Direction::Downgrade => "downgrade",
            Direction::Stamp => "stamp",
        };
        let checksum = step
            .path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .map(|bytes| crate::checksum::file_hash(&bytes));
        let started = stamp(started);
        let ended = stamp(Utc::now());
        let from = step.from.join(",");
        let to = step.to.join(",");
        let version = env!("CARGO_PKG_VERSION");
        // NULLs are written as literals: bound parameters are text.
        let opt = |v: Option<&str>, n: usize| match v {
            Some(_) => format!("${n}"),
            None => "NULL".to_string(),
        };
        let mut params: Vec<&str> = vec![direction];
        let mut slots = vec!["$1".to_string()];
        let revision = step.revision.as_deref();
        slots.push(opt(revision, params.len() + 1));
        params.extend(revision);
        for value in [from.as_str(), to.as_str(), &started, &ended, outcome] {
            params.push(value);
            slots.push(format!("${}", params.len()));
        }
        slots.push(opt(error, params.len() + 1));
        params.extend(error);
        params.push(version);
        slots.push(format!("${}", params.len()));
        slots.push(opt(checksum.as_deref(), params.len() + 1));
        params.extend(checksum.as_deref());
        for value in [self.os_user.as_str(), &self.host, &self.lock_holder] {
            params.push(value);
            slots.push(format!("${}", params.len()));
        }
        let sql = format!(
            "INSERT INTO {} ({}, {HOLDER_COLUMN}) VALUES ({})",
            self.qualified(),
            COLUMNS[1..].join(", "),
            slots.join(", ")
        );
        conn.execute_bound(&sql, &params).map(|_| ())
    }
}

fn qualified(schema: Option<&str>) -> String {
    match schema {
        Some(schema) => format!("{schema}.{TABLE}"),
        None => TABLE.to_string(),
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Follows one run: the runner's log line `Running ...` starts a step
/// ([`Recorder::step_started`]), its after-step hook ends it
/// ([`Recorder::step_done`]).
#[derive(Debug)]
pub struct Recorder {
    pub journal: Journal,
    started: Cell<DateTime<Utc>>,
    /// How many steps have started.
    count: Cell<usize>,
    /// Whether the last started step has not reached its after-step hook.
    open: Cell<bool>,
}

impl Recorder {
    pub fn new(journal: Journal) -> Recorder {
        Recorder {
            journal,
            started: Cell::new(Utc::now()),
            count: Cell::new(0),
            open: Cell::new(false),
        }
    }

    pub fn step_started(&self) {
        self.started.set(Utc::now());
        self.count.set(self.count.get() + 1);
        self.open.set(true);
    }

    /// The step's row, inside its transaction.
    pub fn step_done(&self, step: &Step, conn: &mut dyn Connection) -> Result<(), DbError> {
        let outcome = match step.direction {
            Direction::Upgrade => "applied",
            Direction::Downgrade => "reverted",
            Direction::Stamp => "stamped",
        };
        self.open.set(false);
        self.journal
            .insert(conn, step, self.started.get(), outcome, None)
    }

    /// After a failed run (its transaction rolled back): a `failed` row for
    /// the step that was running, committed on its own. Nothing when no step
    /// was running (unless `in_step`: the failure names the last started
    /// step, as a failed commit does). Returns the error of writing the row.
    pub fn run_failed(
        &self,
        steps: &[Step],
        conn: &mut dyn Connection,
        error: &str,
        in_step: bool,
    ) -> Result<(), DbError> {
        if !(in_step || self.open.get()) {
            return Ok(());
        }
        let Some(step) = self.count.get().checked_sub(1).and_then(|i| steps.get(i)) else {
            return Ok(());
        };
        conn.begin()?;
        let result = self
            .journal
            .insert(conn, step, self.started.get(), "failed", Some(error));
        match result {
            Ok(()) => conn.commit(),
            Err(e) => {
                let _ = conn.rollback();
                Err(e)
            }
        }
    }
}

/// One journal row as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Values of [`COLUMNS`] then [`HOLDER_COLUMN`]; `None` for NULL.
    pub values: Vec<Option<String>>,
}

/// The journal's rows in the order written; `None` when there is no table.
pub fn read(conn: &mut dyn Connection, schema: Option<&str>) -> Result<Option<Vec<Row>>, DbError> {
    if !conn.table_exists(schema, TABLE)? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT CAST(id AS VARCHAR(20)), {}, {HOLDER_COLUMN} FROM {} ORDER BY id",
        COLUMNS[1..].join(", "),
        qualified(schema)
    );
    let rows = conn.query(&sql)?;
    Ok(Some(
        rows.into_iter()
            .map(|r| Row {
                values: r
                    .into_iter()
                    .map(|v| match v {
                        Value::Null => None,
                        Value::Integer(i) => Some(i.to_string()),
                        Value::Real(f) => Some(f.to_string()),
                        Value::Text(s) => Some(s),
                        Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                    })
                    .collect(),
            })
            .collect(),
    ))
}
