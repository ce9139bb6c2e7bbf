//! What differs between the SQL dialects aurora renders, behind one trait.
//!
//! [`SqlDialect`]'s default methods render as SQLAlchemy's generic compiler
//! and Alembic's `DefaultImpl` do; each backend file overrides only what its
//! dialect does differently (as sqlparser-rs's `Dialect` trait does), so a
//! further dialect is one more file here and one arm in [`for_dialect`].
//! The renderer (`super::render`) and the version-table SQL
//! (`super::version`) ask the trait and never branch on the dialect's name.

mod postgres;
mod sqlite;

use super::Dialect;

pub use postgres::Postgresql;
pub use sqlite::Sqlite;

/// The rendering behaviour of one dialect. Defaults are SQLAlchemy's
/// generic compiler / Alembic's `DefaultImpl`.
pub trait SqlDialect: Sync {
    /// The [`Dialect`] this is the behaviour of.
    fn kind(&self) -> Dialect;

    /// SQLAlchemy's dialect name (`sqlite`, `postgresql`).
    fn name(&self) -> &'static str;

    /// The name of Alembic's implementation class, as logged on stderr.
    fn impl_name(&self) -> &'static str;

    // ----- identifiers -----

    /// Words the identifier preparer always quotes (lower case).
    fn reserved_words(&self) -> &'static [&'static str];

    /// `max_identifier_length`: longer generated names are truncated.
    fn max_identifier_length(&self) -> usize {
        9999
    }

    // ----- transactions and batch mode -----

    /// Alembic's `transactional_ddl`: whether DDL runs inside transactions.
    fn transactional_ddl(&self) -> bool {
        false
    }

    /// Whether `ALTER TABLE ... ADD/DROP CONSTRAINT` exists. Without it
    /// Alembic raises `NotImplementedError` and points to batch mode.
    fn alter_constraints(&self) -> bool {
        true
    }

    /// Whether batch mode's `recreate="auto"` recreates the table for
    /// operations `ALTER TABLE` cannot do (SQLite).
    fn batch_recreates_by_default(&self) -> bool {
        false
    }

    /// Whether batch mode reads the live table with plain queries (SQLite's
    /// `PRAGMA`s) rather than through the reflector's inspector.
    fn batch_reflects_by_query(&self) -> bool {
        false
    }

    /// Whether batch mode frees the names the recreated table reuses
    /// (constraints and indexes are schema-wide names) before creating it.
    fn batch_frees_reused_names(&self) -> bool {
        false
    }

    /// The divisor of `a / b` (true division): the generic compiler, whose
    /// dialects divide integers by flooring, casts it (`cast_to` is its
    /// type when it has Numeric or Float affinity, else `NUMERIC`).
    fn true_divisor(&self, divisor: &str, cast_to: &str) -> String {
        format!("CAST({divisor} AS {cast_to})")
    }

    /// SQLAlchemy's `post_create_table`: what follows `CREATE TABLE t (...)`
    /// for the table's dialect options (`quote` quotes an identifier).
    fn post_create_table(
        &self,
        _options: &crate::ops::TableOptions,
        _quote: &dyn Fn(&str) -> String,
    ) -> String {
        String::new()
    }

    // ----- types -----

    /// `DateTime(timezone=...)`.
    fn datetime_type(&self, _timezone: bool) -> String {
        "DATETIME".into()
    }

    /// `TIMESTAMP(timezone=..., precision=...)`.
    fn timestamp_type(&self, _timezone: bool, _precision: Option<u32>) -> String {
        "TIMESTAMP".into()
    }

    /// `TIME(timezone=..., precision=...)`.
    fn time_type(&self, _timezone: bool, _precision: Option<u32>) -> String {
        "TIME".into()
    }

    /// `Float(precision=...)`.
    fn float_type(&self, _precision: Option<u32>) -> String {
        "FLOAT".into()
    }

    /// `LargeBinary`.
    fn large_binary_type(&self) -> String {
        "BLOB".into()
    }

    /// `Double`.
    fn double_type(&self) -> String {
        "DOUBLE".into()
    }

    /// `Interval(native=..., ...)`; the generic type is stored as a datetime.
    fn interval_type(
        &self,
        _native: bool,
        _precision: Option<u32>,
        _fields: Option<&str>,
    ) -> String {
        "DATETIME".into()
    }

    /// Whether `Uuid(native_uuid=True)` is a native `UUID` (and binds
    /// hyphenated); otherwise it is `CHAR(32)` holding 32 hex digits.
    fn native_uuid(&self) -> bool {
        false
    }

    /// Whether a named native `Enum` is a type of its own (`CREATE TYPE`),
    /// and the table DDL issues the named types it uses; otherwise an enum
    /// is a `VARCHAR`.
    fn native_enum(&self) -> bool {
        false
    }

    /// Whether the type compiler renders PostgreSQL's own types (arrays,
    /// domains, INTERVAL fields, ...); SQLite's raises
    /// `UnsupportedCompilationError`.
    fn compiles_postgresql_types(&self) -> bool {
        true
    }

    /// Whether an autoincrement integer primary key is `SERIAL`.
    fn serial_columns(&self) -> bool {
        false
    }

    /// Whether `CREATE SEQUENCE` renders the sequence's `AS <type>`.
    fn sequence_data_type(&self) -> bool {
        false
    }

    // ----- literals and expressions -----

    /// A boolean literal.
    fn bool_literal(&self, b: bool) -> &'static str {
        if b {
            "true"
        } else {
            "false"
        }
    }

    /// A bytes literal, from its hex digits.
    fn bytes_literal(&self, hex: &str) -> String {
        format!("X'{hex}'")
    }

    /// Whether datetime and time literals leave out zero microseconds.
    fn omits_zero_microseconds(&self) -> bool {
        false
    }

    /// Whether `func.now()` renders as `CURRENT_TIMESTAMP`.
    fn now_is_current_timestamp(&self) -> bool {
        false
    }

    /// Whether a server default that is an expression (not a quoted or
    /// parenthesized text, not a plain word) is wrapped in parentheses.
    fn parenthesizes_expression_defaults(&self) -> bool {
        false
    }

    // ----- data statements -----

    /// Whether the dialect has a native boolean (`visit_is_true_unary_operator`
    /// writes `x` rather than `x = 1`); it is what its boolean literals say.
    fn native_boolean(&self) -> bool {
        self.bool_literal(true) == "true"
    }

    /// Whether `ilike()` is the `ILIKE` operator (else `lower(x) LIKE lower(y)`).
    fn native_ilike(&self) -> bool {
        false
    }

    /// Whether `DELETE` takes other tables in its WHERE clause (`USING`);
    /// SQLAlchemy's generic compiler raises `NotImplementedError`.
    fn delete_using(&self) -> bool {
        false
    }

    /// Whether `offset()` without `limit()` renders under `literal_binds`
    /// (SQLite's compiler writes an unrendered `LIMIT :param_1`).
    fn offset_without_limit(&self) -> bool {
        true
    }

    /// A select's `limit_clause` from its rendered LIMIT and OFFSET.
    fn limit_clause(&self, limit: Option<&str>, offset: Option<&str>) -> String {
        let mut text = String::new();
        if let Some(l) = limit {
            text.push_str(&format!("\n LIMIT {l}"));
        }
        if let Some(o) = offset {
            if limit.is_none() {
                text.push_str("\n LIMIT -1");
            }
            text.push_str(&format!(" OFFSET {o}"));
        }
        text
    }

    /// What SQLAlchemy's `visit_empty_set_op_expr` puts inside the brackets
    /// of `IN (...)` for an empty list (`negate` for NOT IN).
    fn empty_in_set(&self, negate: bool) -> &'static str {
        if negate {
            "NULL) OR (1 = 1"
        } else {
            "NULL) AND (1 != 1"
        }
    }

    /// Whether an index element that is a binary expression is
    /// parenthesized.
    fn parenthesizes_index_expressions(&self) -> bool {
        false
    }

    /// The placeholder `bulk_insert` renders for the bound parameter `key`
    /// (the DBAPI's paramstyle).
    fn bulk_insert_placeholder(&self, key: &str) -> String;

    /// The `n`th (1-based) bound parameter of a statement aurora executes.
    fn bind_param(&self, n: usize) -> String;

    /// Whether `RETURNING` names the version column qualified by its table.
    fn qualified_returning(&self) -> bool {
        false
    }

    // ----- DDL -----

    /// Whether comments are set (`COMMENT ON ...`) with a table's DDL and
    /// an added column.
    fn comment_statements(&self) -> bool {
        false
    }

    /// Whether Alembic's `ColumnComment` (an `alter_column` comment) has a
    /// compilation rule; without one it is `UnsupportedCompilationError`.
    fn column_comment_ddl(&self) -> bool {
        false
    }

    /// SQLAlchemy's DDL compiler class, as its errors name it.
    fn ddl_compiler_name(&self) -> &'static str;

    /// Whether `sa.Identity` renders `GENERATED ... AS IDENTITY`
    /// (`supports_identity_columns`); elsewhere it renders nothing.
    fn identity_columns(&self) -> bool {
        false
    }

    /// Whether constraints take PostgreSQL's `INCLUDE (...)` and `NOT VALID`.
    fn constraint_include_and_not_valid(&self) -> bool {
        false
    }

    /// Whether `UNIQUE` renders `NULLS [NOT] DISTINCT`.
    fn unique_nulls_distinct(&self) -> bool {
        false
    }

    /// Whether an inline foreign key names the referenced table without its
    /// schema, and a table-level one to another schema is left out.
    fn unqualified_inline_foreign_keys(&self) -> bool {
        false
    }

    /// Whether `sqlite_autoincrement=True` renders the single integer
    /// primary key inline as `PRIMARY KEY AUTOINCREMENT`.
    fn inline_autoincrement_primary_key(&self) -> bool {
        false
    }

    /// Whether `autoincrement=True` on a column of a composite primary key
    /// is a `CompileError`.
    fn rejects_composite_autoincrement(&self) -> bool {
        false
    }

    /// Whether every primary key asks for its autoincrement column (not
    /// only the one SQLAlchemy builds from `primary_key=True` columns),
    /// `add_column` included.
    fn autoincrement_for_every_primary_key(&self) -> bool {
        false
    }

    /// Whether an index name is qualified by the schema and its table is
    /// not (SQLite's `CREATE INDEX schema.name ON table`).
    fn index_name_carries_schema(&self) -> bool {
        false
    }

    /// Whether `CREATE/DROP INDEX CONCURRENTLY` and the `postgresql_*`
    /// index options (`USING`, operator classes, `INCLUDE`, `NULLS`,
    /// `WITH`, `TABLESPACE`, `WHERE`) are rendered.
    fn postgresql_index_options(&self) -> bool {
        false
    }

    /// Whether `alter_column` changes a type with `USING` (and together
    /// with the other changes, before nullability); otherwise the type is
    /// changed after the default.
    fn alter_type_using(&self) -> bool {
        false
    }

    /// The keyword between `RENAME` and the old name in a column rename.
    fn rename_column_keyword(&self) -> &'static str {
        "COLUMN "
    }
}

/// The behaviour of `d`.
pub fn for_dialect(d: Dialect) -> &'static dyn SqlDialect {
    match d {
        Dialect::Sqlite => &Sqlite,
        Dialect::Postgresql => &Postgresql,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_has_its_own_behaviour() {
        for d in [Dialect::Sqlite, Dialect::Postgresql] {
            assert_eq!(for_dialect(d).kind(), d);
        }
        let (sqlite, pg) = (
            for_dialect(Dialect::Sqlite),
            for_dialect(Dialect::Postgresql),
        );
        assert_eq!((sqlite.name(), pg.name()), ("sqlite", "postgresql"));
        assert_eq!(
            (sqlite.bool_literal(true), pg.bool_literal(false)),
            ("1", "false")
        );
        assert_eq!(
            (sqlite.bind_param(2), pg.bind_param(2)),
            ("?2".to_string(), "$2".to_string())
        );
        assert_eq!(pg.datetime_type(true), "TIMESTAMP WITH TIME ZONE");
        assert_eq!(sqlite.datetime_type(true), "DATETIME");
        assert!(pg.transactional_ddl() && !sqlite.transactional_ddl());
        assert!(sqlite.reserved_words().contains(&"vacuum"));
        assert!(!pg.reserved_words().contains(&"vacuum"));
    }
}
