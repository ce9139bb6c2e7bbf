//! The SQL Alembic emits for the version table: its DDL and the row changes.

use super::Dialect;
use crate::plan::VersionChange;

/// Where the version table lives (`version_table`, `version_table_schema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTable {
    pub name: String,
    pub schema: Option<String>,
}

impl Default for VersionTable {
    fn default() -> Self {
        VersionTable {
            name: "alembic_version".to_string(),
            schema: None,
        }
    }
}

impl VersionTable {
    fn qualified(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// `CREATE TABLE alembic_version (...)` exactly as SQLAlchemy renders it.
    pub fn create_sql(&self) -> String {
        format!(
            "CREATE TABLE {} (\n    version_num VARCHAR(32) NOT NULL, \n    CONSTRAINT {}_pkc PRIMARY KEY (version_num)\n)",
            self.qualified(),
            self.name
        )
    }

    /// The statement for one row change, as rendered offline (literal values inlined).
    pub fn change_sql(&self, change: &VersionChange, dialect: Dialect) -> String {
        // Literals as SQLAlchemy's `literal_binds` renders them: `'` doubled.
        // (Alembic itself writes `'%s' % version` unescaped, which breaks on a
        // quote; aurora's output is valid SQL.)
        self.change_statement(change, dialect, &mut |rev| {
            format!("'{}'", rev.replace('\'', "''"))
        })
    }

    /// The statement for one row change with its revision ids as bound
    /// parameters (`?1`, `?2` on SQLite; `$1`, `$2` on PostgreSQL), and the
    /// values in parameter order. Online runs execute this form, so no
    /// revision id is ever spliced into SQL text sent to a database.
    pub fn change_sql_bound(
        &self,
        change: &VersionChange,
        dialect: Dialect,
    ) -> (String, Vec<String>) {
        let mut params = Vec::new();
        let sql = self.change_statement(change, dialect, &mut |rev| {
            params.push(rev.to_string());
            dialect.sql().bind_param(params.len())
        });
        (sql, params)
    }

    fn change_statement(
        &self,
        change: &VersionChange,
        dialect: Dialect,
        value: &mut dyn FnMut(&str) -> String,
    ) -> String {
        let table = self.qualified();
        let column = format!("{}.version_num", self.name);
        match change {
            VersionChange::Insert(rev) => {
                let returning = if dialect.sql().qualified_returning() {
                    column
                } else {
                    "version_num".to_string()
                };
                format!(
                    "INSERT INTO {table} (version_num) VALUES ({}) RETURNING {returning}",
                    value(rev)
                )
            }
            VersionChange::Update { from, to } => {
                let to = value(to);
                let from = value(from);
                format!("UPDATE {table} SET version_num={to} WHERE {column} = {from}")
            }
            VersionChange::Delete(rev) => {
                format!("DELETE FROM {table} WHERE {column} = {}", value(rev))
            }
        }
    }
}
