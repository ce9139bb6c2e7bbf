//! The `alembic_version` table, on top of [`Connection`], for every
//! database at once: reading the heads, creating the table, applying the
//! row changes a plan step makes, purging.
//!
//! The statements are the ones [`VersionTable`] renders for `--sql` output,
//! so an online run executes what the offline script would contain, except
//! that revision ids are bound parameters there, never part of the SQL text.

use super::{Connection, DbError, Value};
use crate::plan::VersionChange;
use crate::sql::version::VersionTable;

/// The revisions recorded in the version table, in the order the database
/// returns them (Alembic reads them without `ORDER BY` too). Empty when the
/// table does not exist: this never creates it.
pub fn current_heads(
    conn: &mut dyn Connection,
    table: &VersionTable,
) -> Result<Vec<String>, DbError> {
    if !conn.table_exists(table.schema.as_deref(), &table.name)? {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {}.version_num FROM {}",
        table.name,
        qualified(table)
    );
    let rows = conn.query(&sql)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.into_iter().next() {
            Some(Value::Text(rev)) => Some(rev),
            // A version stored by hand as a number is still a revision id.
            Some(Value::Integer(n)) => Some(n.to_string()),
            _ => None,
        })
        .collect())
}

/// Creates the version table with Alembic's DDL unless it exists already.
/// Returns whether it was created.
///
/// The statement is [`VersionTable::create_sql`] with its indentation as
/// SQLAlchemy sends it online: a tab, where `--sql` output shows four
/// spaces. SQLite keeps the text of a `CREATE TABLE` as sent, so this makes
/// `sqlite_master` read exactly as in a database Python Alembic created.
pub fn ensure_version_table(
    conn: &mut dyn Connection,
    table: &VersionTable,
) -> Result<bool, DbError> {
    if conn.table_exists(table.schema.as_deref(), &table.name)? {
        return Ok(false);
    }
    match conn.execute(&table.create_sql().replace("\n    ", "\n\t")) {
        Ok(_) => Ok(true),
        // SQLite: another runner (under `--no-lock`) created it in between;
        // it is there, which is what was asked. (PostgreSQL creates it
        // inside the run's transaction, which the error has aborted.)
        Err(_)
            if conn.dialect() == crate::sql::Dialect::Sqlite
                && conn.table_exists(table.schema.as_deref(), &table.name)? =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Applies one row change with the statement `--sql` output shows for it,
/// the revision ids bound as parameters instead of inlined.
/// An `UPDATE` or `DELETE` that matches other than exactly one row fails
/// with Alembic's message, as Alembic checks online.
pub fn apply_version_change(
    conn: &mut dyn Connection,
    table: &VersionTable,
    change: &VersionChange,
) -> Result<(), DbError> {
    let (sql, params) = table.change_sql_bound(change, conn.dialect());
    let params: Vec<&str> = params.iter().map(String::as_str).collect();
    let found = conn.execute_bound(&sql, &params)?;
    match change {
        VersionChange::Insert(_) => Ok(()),
        VersionChange::Update { from, to } if found != 1 => Err(DbError::UpdateRowCount {
            from: from.clone(),
            to: to.clone(),
            table: table.name.clone(),
            found,
        }),
        VersionChange::Delete(version) if found != 1 => Err(DbError::DeleteRowCount {
            version: version.clone(),
            table: table.name.clone(),
            found,
        }),
        _ => Ok(()),
    }
}

/// `stamp --purge`: makes sure the table exists, then deletes every row.
pub fn purge_version_table(conn: &mut dyn Connection, table: &VersionTable) -> Result<(), DbError> {
    ensure_version_table(conn, table)?;
    conn.execute(&format!("DELETE FROM {}", qualified(table)))?;
    Ok(())
}

fn qualified(table: &VersionTable) -> String {
    match &table.schema {
        Some(schema) => format!("{schema}.{}", table.name),
        None => table.name.clone(),
    }
}
