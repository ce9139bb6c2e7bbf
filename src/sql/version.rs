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
        let table = self.qualified();
        let column = format!("{}.version_num", self.name);
        // Literals as SQLAlchemy's `literal_binds` renders them: `'` doubled.
        let quote = |rev: &str| format!("'{}'", rev.replace('\'', "''"));
        match change {
            VersionChange::Insert(rev) => {
                let returning = match dialect {
                    Dialect::Sqlite => "version_num".to_string(),
                    Dialect::Postgresql => column,
                };
                format!(
                    "INSERT INTO {table} (version_num) VALUES ({}) RETURNING {returning}",
                    quote(rev)
                )
            }
            VersionChange::Update { from, to } => {
                format!(
                    "UPDATE {table} SET version_num={} WHERE {column} = {}",
                    quote(to),
                    quote(from)
                )
            }
            VersionChange::Delete(rev) => {
                format!("DELETE FROM {table} WHERE {column} = {}", quote(rev))
            }
        }
    }
}
