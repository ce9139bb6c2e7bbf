//! Reflection: reading a live schema back into the operation model
//! ([`crate::ops::Table`]), as SQLAlchemy's `Inspector` does, so that batch
//! mode can recreate a table it was not given and autogenerate can compare
//! the models with the database.
//!
//! One inspector per backend behind the same two calls:
//!
//! - [`table_names`]: the tables of a schema (or of the default one), by
//!   name, as `Inspector.get_table_names()`;
//! - [`reflect_table`]: one table with its columns, types, server defaults,
//!   primary key, unique, foreign key and check constraints, indexes and
//!   comments, as `Table(name, metadata, autoload_with=conn)` sees it, with
//!   Alembic's `column_reflect` adjustments (a PostgreSQL `SERIAL`'s
//!   `nextval(...)` default is dropped).
//!
//! What the model cannot hold (in batch mode identity and generated columns;
//! sorted index expressions, non-default operator classes, index storage
//! parameters) is refused with
//! [`ReflectError::Unsupported`] rather than left out, since a table recreated
//! without it would differ. Autogenerate's view reads identity and generated
//! columns as Alembic renders them (`sa.Identity(...)` with every option of
//! the identity's sequence, `sa.Computed('expr', persisted=True)`), and a
//! PostgreSQL index's expressions as `pg_get_indexdef` writes them, sorted
//! columns and `INCLUDE` columns; SQLite's reflection refuses an index on an
//! expression (PRAGMA index_info has no column for it).
//!
//! Autogenerate, `check` and `drift` read a whole schema as autogenerate's
//! model through [`schema`] (or several, [`schemas`], for
//! `include_schemas=True`, named by [`schema_names`]), which picks the
//! backend's inspector:
//! [`postgres`] (built on [`reflect_table`]) or [`sqlite`] (SQLAlchemy's
//! `PRAGMA` reads). SQLite's batch reflection still lives in the renderer
//! (`sql::render`), which reads it through `sql::Reflector`.

pub mod postgres;
pub mod sqlite;

use super::{Connection, DbError};
use crate::ops::Table;
use crate::sql::Dialect;

/// Why a table could not be reflected.
#[derive(Debug, thiserror::Error)]
pub enum ReflectError {
    /// SQLAlchemy's `NoSuchTableError`.
    #[error("{0}")]
    NoSuchTable(String),
    /// The table has something the model cannot carry.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A reflected table and the log lines Alembic writes while reflecting it
/// (`INFO  [alembic.ddl.postgresql] Detected sequence named ...`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reflected {
    pub table: Table,
    /// Each line without the `INFO  [alembic.ddl.postgresql] ` prefix.
    pub log: Vec<String>,
}

/// The names of the tables (not views) in `schema`, or in the default schema
/// (SQLite: `main`; PostgreSQL: `current_schema()`), sorted by name.
pub fn table_names(
    conn: &mut dyn Connection,
    schema: Option<&str>,
) -> Result<Vec<String>, ReflectError> {
    match conn.dialect() {
        Dialect::Postgresql => postgres::table_names(conn, schema),
        Dialect::Sqlite => {
            let rows = conn.query(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite~_%' \
                 ESCAPE '~' ORDER BY name",
            )?;
            Ok(rows
                .into_iter()
                .filter_map(|r| {
                    r.into_iter()
                        .next()
                        .and_then(|v| v.as_text().map(str::to_string))
                })
                .collect())
        }
    }
}

/// Reflects one table of a PostgreSQL database (see the module text).
pub fn reflect_table(
    conn: &mut dyn Connection,
    schema: Option<&str>,
    name: &str,
) -> Result<Reflected, ReflectError> {
    match conn.dialect() {
        Dialect::Postgresql => postgres::reflect_table(conn, schema, name),
        Dialect::Sqlite => Err(ReflectError::Unsupported(
            "SQLite tables are reflected by the renderer's batch mode and by autogenerate"
                .to_string(),
        )),
    }
}

/// Every table of the default schema as autogenerate compares it, and the
/// log lines Alembic writes while reflecting (PostgreSQL's
/// `alembic.ddl.postgresql` lines, without their prefix).
pub fn schema(
    conn: &mut dyn Connection,
) -> Result<(crate::autogen::Schema, Vec<String>), ReflectError> {
    schemas(conn, &[None])
}

/// [`schema`] over several schemas (`None`: the default one), as
/// `include_schemas=True` compares them (PostgreSQL only: SQLite's attached
/// databases are not read).
pub fn schemas(
    conn: &mut dyn Connection,
    names: &[Option<String>],
) -> Result<(crate::autogen::Schema, Vec<String>), ReflectError> {
    let mut log = Vec::new();
    let schema = match conn.dialect() {
        Dialect::Sqlite if names.iter().all(Option::is_none) => sqlite::schema(conn)?,
        Dialect::Sqlite => {
            return Err(ReflectError::Unsupported(
                "aurora reflects SQLite's main schema only".to_string(),
            ))
        }
        Dialect::Postgresql => postgres::schema(conn, names, &mut log)?,
    };
    Ok((schema, log))
}

/// The schemas `include_schemas=True` compares, the default one as `None`
/// first (see [`postgres::schema_names`]); on SQLite, `main` alone, as
/// `None`.
pub fn schema_names(conn: &mut dyn Connection) -> Result<Vec<Option<String>>, ReflectError> {
    match conn.dialect() {
        Dialect::Postgresql => postgres::schema_names(conn),
        Dialect::Sqlite => Ok(vec![None]),
    }
}
