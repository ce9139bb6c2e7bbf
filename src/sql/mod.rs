//! SQL rendering: turns operations and version-table changes into the SQL text
//! that Alembic + SQLAlchemy emit, per dialect. Never touches a database.

pub mod dialect;
pub mod version;

/// The database dialects aurora renders for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgresql,
}

impl Dialect {
    /// Whether the dialect runs DDL inside transactions by default
    /// (Alembic's `transactional_ddl`): PostgreSQL yes, SQLite no.
    pub fn transactional_ddl(self) -> bool {
        self.sql().transactional_ddl()
    }

    /// The name of Alembic's implementation class, as logged on stderr.
    pub fn impl_name(self) -> &'static str {
        self.sql().impl_name()
    }

    /// How SQL is rendered for this dialect.
    pub fn sql(self) -> &'static dyn dialect::SqlDialect {
        dialect::for_dialect(self)
    }
}

mod render;

pub use render::{check_expression, render_ops, render_ops_with_memo, TypeKey, TypeMemo};

/// An identifier as `dialect`'s SQLAlchemy preparer writes it: quoted when it is a
/// reserved word, not all lower case, or not a plain name.
pub fn quote_identifier(name: &str, dialect: Dialect) -> String {
    render::quote(name, dialect::for_dialect(dialect))
}

/// One rendered statement, without its trailing `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    Sql(String),
    /// A `CREATE TYPE`/`CREATE DOMAIN` that `CREATE TABLE` issues for one of
    /// the table's named types through SQLAlchemy's DDL runner. Alembic keeps
    /// that runner's memo for the whole run, so a run issues it once: a
    /// caller rendering revisions apart (the `--sql` writer) drops the
    /// statement when an earlier revision of the run issued the same `key`.
    NamedType {
        key: TypeKey,
        sql: String,
    },
    /// `with op.get_context().autocommit_block():` starts: the caller ends
    /// the running transaction (offline on PostgreSQL: prints `COMMIT`).
    AutocommitBegin,
    /// The autocommit block ends: the caller starts a new transaction
    /// (offline on PostgreSQL: prints `BEGIN`).
    AutocommitEnd,
    /// Text a revision printed (`print()`, offline only): written as it is.
    Print(String),
    /// A record a revision logged (offline only): logger, level, message.
    Log {
        logger: String,
        level: u32,
        message: String,
    },
}

impl Statement {
    /// The SQL to execute, for the statements that are SQL.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Statement::Sql(sql) | Statement::NamedType { sql, .. } => Some(sql),
            _ => None,
        }
    }
}

/// A statement as Alembic's `--sql` writer prints it: SQLAlchemy's tabs become four spaces
/// (online, the statement is executed with its tabs).
pub fn offline_text(sql: &str) -> String {
    sql.replace('\t', "    ")
}

/// A value read back from a database by a [`Reflector`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// The text, when the value is text.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Lets batch mode on SQLite read the live table it recreates. Online runs
/// pass one; offline runs pass `None`.
///
/// Before it reflects, [`render_ops`] executes the statements it has
/// rendered so far through [`Reflector::execute`] and leaves them out of its
/// result, so the reflected table includes them; the caller executes only
/// what is returned.
pub trait Reflector {
    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, String>;

    /// Executes a statement, ignoring any rows. By default through `query`,
    /// which runs any statement on the connections aurora uses.
    fn execute(&mut self, sql: &str) -> Result<(), String> {
        self.query(sql).map(|_| ())
    }

    /// Reads a live PostgreSQL table for batch mode (SQLite's is read by
    /// the renderer through [`Reflector::query`]). `Err` holds Alembic's
    /// error text. By default there is no PostgreSQL inspector.
    fn reflect_table(
        &mut self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<crate::ops::Table, String> {
        let _ = schema;
        Err(format!(
            "batch mode on PostgreSQL cannot reflect the table \"{table}\" here"
        ))
    }
}

/// Why operations could not be rendered. `emitted` holds the statements of
/// the same call rendered before the failure, which Alembic has already
/// printed (offline) or executed (online) by then.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SqlError {
    /// Alembic reports this as `FAILED: <message>` (exit status 255).
    #[error("{message}")]
    Failed {
        message: String,
        emitted: Vec<Statement>,
    },
    /// Alembic dies with an uncaught Python exception (exit status 1), such
    /// as `NotImplementedError` for constraint changes on SQLite.
    #[error("{exception}: {message}")]
    Exception {
        exception: String,
        message: String,
        emitted: Vec<Statement>,
    },
}
