//! Databases: connections behind one small trait, the `alembic_version`
//! table, and online runs. The only module that touches a database; it never
//! prints (log lines go to a callback the caller owns).
//!
//! # The API
//!
//! - [`DatabaseUrl`]: SQLAlchemy URLs (`sqlite:///app.db`,
//!   `postgresql+psycopg2://user:pw@host:5432/db?sslmode=require`).
//!   [`DatabaseUrl::from_config`] applies `DATABASE_URL` before
//!   `sqlalchemy.url`; [`DatabaseUrl::masked`] prints it as SQLAlchemy does,
//!   password as `***`.
//! - [`connect`] opens a [`Connection`]: SQLite through rusqlite, PostgreSQL
//!   through the `postgres` crate (TLS through rustls (src/db/tls.rs) when `sslmode`
//!   asks for it). The trait is small: `execute`, `query`, `begin`,
//!   `commit`, `rollback`, `table_exists`. Values come back as [`Value`].
//! - The version table, written once on top of the trait:
//!   [`current_heads`] (never creates the table), [`ensure_version_table`],
//!   [`apply_version_change`] (with Alembic's "expected to match one row"
//!   check), [`purge_version_table`].
//! - [`run_online`] applies planned [`plan::Step`](crate::plan::Step)s: one
//!   transaction per step (or, on PostgreSQL without
//!   `transaction_per_migration`, one for the whole run, as Alembic does),
//!   the step's SQL from a callback, then its version changes.
//!   See [`RunStatement`] for autocommit blocks.
//!
//! # For the integrator
//!
//! - `upgrade`/`downgrade`/`stamp`: connect, read [`current_heads`] to plan,
//!   then [`run_online`] with a render callback returning the step's
//!   statements (the same text as `--sql`, minus the version-table lines,
//!   which the runner applies itself from `Step::version_changes`).
//! - `current`: log [`context_log_lines`], then [`current_heads`].
//! - Log lines go to the `log` callback without the
//!   `INFO  [alembic.runtime.migration] ` prefix; the CLI adds it.
//! - Offline output shows SQLAlchemy's DDL indentation (a tab) as four
//!   spaces; online SQLAlchemy sends the tab, and SQLite stores `CREATE
//!   TABLE` text verbatim in `sqlite_master`. [`ensure_version_table`] sends
//!   the tab; a renderer that wants `sqlite_master` byte-identical to
//!   Python Alembic's must do the same for its `CREATE TABLE`s online.
//! - [`Value`] maps one-to-one onto `sql::Value`'s variants.
//!
//! # Testing against PostgreSQL
//!
//! `scripts/start-postgres.sh` starts a throwaway PostgreSQL 15 (installing
//! it from Debian's packages where missing) and writes
//! `/tmp/aurora-postgres.env` with `AURORA_TEST_POSTGRES_URL`; `--stop`
//! stops it by its pid. The `tests/db_postgres.rs` tests read that variable,
//! fail when it is missing under `CI=true`, and otherwise say they did not run.
//!
//! # Errors
//!
//! [`DbError`] for connections, statements and the version table;
//! [`RunError`] for a run, naming the step that failed. No error ever
//! contains a password: URL errors never quote the URL, and driver messages
//! pass through [`DatabaseUrl::scrub`].

pub mod backup;
pub mod interrupt;
mod lock;
mod postgres;
pub mod reflect;
mod runner;
mod sqlite;
mod tls;
mod url;
mod version;

pub use lock::{acquire as acquire_lock, advisory_key, LockSettings, MigrationLock};
pub use runner::{
    context_log_lines, run_online, run_online_with_hook, AfterStep, RenderStep, RunError,
    RunOptions, RunOutput, RunStatement,
};
pub use url::{DatabaseUrl, SqliteTarget};
pub use version::{apply_version_change, current_heads, ensure_version_table, purge_version_table};

use crate::sql::Dialect;

/// One value of a result row: the SQL layer's value type, shared so that
/// batch-mode reflection reads rows without converting them. PostgreSQL
/// values map onto SQLite's storage classes (booleans and integers as
/// `Integer`, floats as `Real`, `bytea` as `Blob`, everything else as text).
pub use crate::sql::Value;

/// Errors of the database layer.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL could not be understood. Never contains the URL.
    #[error("{reason}")]
    InvalidUrl { reason: String },
    /// Neither `DATABASE_URL` nor `sqlalchemy.url` is set.
    #[error("no database URL: set sqlalchemy.url in the configuration or DATABASE_URL in the environment")]
    NoUrl,
    /// Connecting failed. `url` is masked, `message` scrubbed.
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },
    /// A statement failed; `message` is the database's own text.
    #[error("{message}\n[SQL: {sql}]")]
    Statement { sql: String, message: String },
    /// An `UPDATE` of the version table matched other than one row.
    #[error("Online migration expected to match one row when updating '{from}' to '{to}' in '{table}'; {found} found")]
    UpdateRowCount {
        from: String,
        to: String,
        table: String,
        found: u64,
    },
    /// The migration lock could not be taken.
    #[error("{message}")]
    Lock { message: String },
    /// SIGINT or SIGTERM arrived while waiting or running.
    #[error("interrupted by {}", interrupt::signal_name(*signal))]
    Interrupted { signal: i32 },
    /// A `DELETE` from the version table matched other than one row.
    #[error("Online migration expected to match one row when deleting '{version}' in '{table}'; {found} found")]
    DeleteRowCount {
        version: String,
        table: String,
        found: u64,
    },
}

/// A connection to one database. Implemented for SQLite and PostgreSQL;
/// everything above it (version table, runs) is written once against it.
pub trait Connection {
    /// Which SQL dialect the database speaks.
    fn dialect(&self) -> Dialect;

    /// Runs one statement (PostgreSQL: one or more, separated by `;`) and
    /// returns the rows it changed (0 for DDL). Rows it returns are read and
    /// dropped, so `INSERT ... RETURNING` may go through here.
    fn execute(&mut self, sql: &str) -> Result<u64, DbError>;

    /// Runs one statement with text parameters bound to its placeholders
    /// (`?1`, `?2` on SQLite; `$1`, `$2` on PostgreSQL) and returns the
    /// rows it changed. The version-table row changes go through here, so
    /// a revision id never becomes part of the SQL text.
    fn execute_bound(&mut self, sql: &str, params: &[&str]) -> Result<u64, DbError>;

    /// Runs one statement and returns its rows.
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError>;

    /// Starts a transaction.
    fn begin(&mut self) -> Result<(), DbError>;

    /// Commits the open transaction.
    fn commit(&mut self) -> Result<(), DbError>;

    /// Rolls back the open transaction.
    fn rollback(&mut self) -> Result<(), DbError>;

    /// Whether a table exists, as SQLAlchemy's `has_table` decides: in the
    /// given schema, or else where an unqualified name would find it
    /// (SQLite: the main database; PostgreSQL: the search path).
    fn table_exists(&mut self, schema: Option<&str>, name: &str) -> Result<bool, DbError>;

    /// A way to cancel the statement this connection is running from
    /// another thread (for SIGINT/SIGTERM; see [`interrupt`]).
    fn canceller(&self) -> Option<interrupt::Canceller> {
        None
    }
}

/// Opens a connection to the database the URL names.
pub fn connect(url: &DatabaseUrl) -> Result<Box<dyn Connection>, DbError> {
    match url.dialect() {
        Dialect::Sqlite => Ok(Box::new(sqlite::SqliteConnection::open(url)?)),
        Dialect::Postgresql => Ok(Box::new(postgres::PgConnection::open(url)?)),
    }
}

/// Quotes a string as an SQL literal (`'it''s'`), for the few statements
/// this layer writes itself.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The name of the user running this process (`$USER`, `$LOGNAME`, else the real uid's
/// entry in `/etc/passwd`): libpq's default user, and the journal's OS user.
pub(crate) fn os_user_name() -> Option<String> {
    if let Some(name) = std::env::var("USER")
        .ok()
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|v| !v.is_empty())
    {
        return Some(name);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_string())
    })
}
