//! SQL rendering: turns operations and version-table changes into the SQL text
//! that Alembic + SQLAlchemy emit, per dialect. Never touches a database.

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
        matches!(self, Dialect::Postgresql)
    }

    /// The name of Alembic's implementation class, as logged on stderr.
    pub fn impl_name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLiteImpl",
            Dialect::Postgresql => "PostgresqlImpl",
        }
    }
}
