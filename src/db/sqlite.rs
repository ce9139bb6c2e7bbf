//! SQLite through rusqlite (bundled SQLite), set up to behave as Python's
//! `sqlite3` module does under SQLAlchemy.

use rusqlite::types::ValueRef;

use super::{literal, Connection, DatabaseUrl, DbError, SqliteTarget, Value};
use crate::sql::Dialect;

pub(super) struct SqliteConnection {
    conn: rusqlite::Connection,
}

impl SqliteConnection {
    pub(super) fn open(url: &DatabaseUrl) -> Result<SqliteConnection, DbError> {
        let target = url
            .sqlite_target()
            .expect("an sqlite URL has an sqlite target");
        use rusqlite::OpenFlags;
        let plain = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let opened = match &target {
            SqliteTarget::Memory => rusqlite::Connection::open_in_memory(),
            // pysqlite's `uri=true`: the database is an SQLite URI
            // (`file:./app.db`), and the URL's other query parameters
            // (`mode=ro`, `cache=shared`, ...) are its parameters.
            SqliteTarget::File(path) if uri_mode(url) => {
                let mut filename = path.to_string_lossy().into_owned();
                let params: Vec<String> = url
                    .query
                    .iter()
                    .filter(|(k, _)| !PYSQLITE_ARGS.contains(&k.as_str()))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                if !params.is_empty() {
                    filename.push('?');
                    filename.push_str(&params.join("&"));
                }
                rusqlite::Connection::open_with_flags(filename, plain | OpenFlags::SQLITE_OPEN_URI)
            }
            // A relative path is relative to the current directory, as
            // Python's `sqlite3.connect` takes it; without `uri=true` a name
            // like `file:x.db` is a file name, not a URI.
            SqliteTarget::File(path) => rusqlite::Connection::open_with_flags(path, plain),
        };
        let conn = opened.map_err(|e| DbError::Connect {
            url: url.masked(),
            message: e.to_string(),
        })?;
        // The bundled SQLite is built with foreign keys on by default; the
        // SQLite Python uses has them off, and Alembic's batch mode (which
        // drops and renames tables) relies on that. Everything else — journal
        // mode, synchronous — stays at SQLite's safe defaults.
        conn.execute_batch("PRAGMA foreign_keys = OFF")
            .map_err(|e| DbError::Connect {
                url: url.masked(),
                message: e.to_string(),
            })?;
        Ok(SqliteConnection { conn })
    }

    fn statement_error(sql: &str, e: rusqlite::Error) -> DbError {
        DbError::Statement {
            sql: sql.to_string(),
            message: e.to_string(),
        }
    }
}

/// The query parameters pysqlite takes for itself; the rest go to the URI.
const PYSQLITE_ARGS: &[&str] = &[
    "uri",
    "timeout",
    "isolation_level",
    "detect_types",
    "check_same_thread",
    "cached_statements",
];

/// `uri=true` (SQLAlchemy's `asbool`).
fn uri_mode(url: &DatabaseUrl) -> bool {
    url.query_value("uri").is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "y" | "t" | "1"
        )
    })
}

fn to_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// Prepares the one statement in `sql` (`None` when there is only
/// whitespace and comments). More than one is refused, as Python's sqlite3
/// refuses it, rather than silently running only the first.
fn single_statement<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
) -> Result<Option<rusqlite::Statement<'c>>, DbError> {
    let error = |message: String| DbError::Statement {
        sql: sql.to_string(),
        message,
    };
    let mut batch = rusqlite::Batch::new(conn, sql);
    let first = batch.next().map_err(|e| error(e.to_string()))?;
    if first.is_some() && !matches!(batch.next(), Ok(None)) {
        return Err(error(
            "You can only execute one statement at a time.".to_string(),
        ));
    }
    Ok(first)
}

/// Whether a statement is one whose changed rows `changes()` counts.
fn changes_rows(sql: &str) -> bool {
    let first = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or_default();
    ["INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}

impl Connection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn execute(&mut self, sql: &str) -> Result<u64, DbError> {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Execute);
        let Some(mut stmt) = single_statement(&self.conn, sql)? else {
            return Ok(0);
        };
        // Stepping through the rows runs the statement whether or not it
        // returns any (`INSERT ... RETURNING`, or a `SELECT` in a data migration).
        let mut rows = stmt.raw_query();
        while rows
            .next()
            .map_err(|e| Self::statement_error(sql, e))?
            .is_some()
        {}
        drop(rows);
        drop(stmt);
        // `changes()` keeps the count of the last INSERT/UPDATE/DELETE even
        // after DDL, so it only answers for those statements.
        if changes_rows(sql) {
            Ok(self.conn.changes())
        } else {
            Ok(0)
        }
    }

    fn execute_bound(&mut self, sql: &str, params: &[&str]) -> Result<u64, DbError> {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Execute);
        let Some(mut stmt) = single_statement(&self.conn, sql)? else {
            return Ok(0);
        };
        for (i, param) in params.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, *param)
                .map_err(|e| Self::statement_error(sql, e))?;
        }
        let mut rows = stmt.raw_query();
        while rows
            .next()
            .map_err(|e| Self::statement_error(sql, e))?
            .is_some()
        {}
        drop(rows);
        drop(stmt);
        Ok(self.conn.changes())
    }

    fn query(&mut self, sql: &str) -> Result<Vec<Vec<Value>>, DbError> {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Execute);
        let Some(mut stmt) = single_statement(&self.conn, sql)? else {
            return Ok(Vec::new());
        };
        let width = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| Self::statement_error(sql, e))? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(to_value(
                    row.get_ref(i).map_err(|e| Self::statement_error(sql, e))?,
                ));
            }
            out.push(values);
        }
        Ok(out)
    }

    /// `BEGIN IMMEDIATE`: the write lock is taken at the start, so the
    /// version rows read first in the transaction cannot change under it.
    fn begin(&mut self) -> Result<(), DbError> {
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| Self::statement_error("BEGIN IMMEDIATE", e))
    }

    fn commit(&mut self) -> Result<(), DbError> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(|e| Self::statement_error("COMMIT", e))
    }

    fn rollback(&mut self) -> Result<(), DbError> {
        self.conn
            .execute_batch("ROLLBACK")
            .map_err(|e| Self::statement_error("ROLLBACK", e))
    }

    fn canceller(&self) -> Option<super::interrupt::Canceller> {
        let handle = self.conn.get_interrupt_handle();
        Some(Box::new(move || handle.interrupt()))
    }

    fn table_exists(&mut self, schema: Option<&str>, name: &str) -> Result<bool, DbError> {
        // An attached database is SQLite's "schema"; its catalogue is
        // `<schema>.sqlite_master`.
        let catalogue = match schema {
            Some(schema) => format!("\"{}\".sqlite_master", schema.replace('"', "\"\"")),
            None => "sqlite_master".to_string(),
        };
        let sql = format!(
            "SELECT 1 FROM {catalogue} WHERE type = 'table' AND name = {}",
            literal(name)
        );
        Ok(!self.query(&sql)?.is_empty())
    }
}
