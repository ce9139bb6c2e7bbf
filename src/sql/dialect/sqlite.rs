//! SQLite: SQLAlchemy's SQLite dialect with Alembic's `SQLiteImpl`.

use super::SqlDialect;
use crate::sql::Dialect;

/// SQLite's rendering behaviour.
pub struct Sqlite;

impl SqlDialect for Sqlite {
    /// SQLite's compiler adds `0.0` instead of casting.
    fn true_divisor(&self, divisor: &str, _cast_to: &str) -> String {
        format!("({divisor} + 0.0)")
    }

    fn post_create_table(
        &self,
        o: &crate::ops::TableOptions,
        _quote: &dyn Fn(&str) -> String,
    ) -> String {
        let mut options = Vec::new();
        if o.sqlite_without_rowid {
            options.push("WITHOUT ROWID");
        }
        if o.sqlite_strict {
            options.push("STRICT");
        }
        if options.is_empty() {
            String::new()
        } else {
            format!("\n {}", options.join(",\n "))
        }
    }

    fn kind(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn impl_name(&self) -> &'static str {
        "SQLiteImpl"
    }

    fn reserved_words(&self) -> &'static [&'static str] {
        RESERVED
    }

    fn alter_constraints(&self) -> bool {
        false
    }

    fn batch_recreates_by_default(&self) -> bool {
        true
    }

    fn batch_reflects_by_query(&self) -> bool {
        true
    }

    fn compiles_postgresql_types(&self) -> bool {
        false
    }

    fn bool_literal(&self, b: bool) -> &'static str {
        if b {
            "1"
        } else {
            "0"
        }
    }

    /// SQLite's compiler uses its empty-set subquery for IN and NOT IN.
    fn empty_in_set(&self, _negate: bool) -> &'static str {
        "SELECT 1 FROM (SELECT 1) WHERE 1!=1"
    }

    fn offset_without_limit(&self) -> bool {
        false
    }

    fn limit_clause(&self, limit: Option<&str>, offset: Option<&str>) -> String {
        // `offset` without `limit` is refused before (`offset_without_limit`).
        let mut text = String::new();
        if let Some(l) = limit {
            text.push_str(&format!("\n LIMIT {l}"));
        }
        text.push_str(&format!(" OFFSET {}", offset.unwrap_or("0")));
        text
    }

    fn now_is_current_timestamp(&self) -> bool {
        true
    }

    fn parenthesizes_expression_defaults(&self) -> bool {
        true
    }

    fn bulk_insert_placeholder(&self, _key: &str) -> String {
        "?".to_string()
    }

    fn bind_param(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn unqualified_inline_foreign_keys(&self) -> bool {
        true
    }

    fn inline_autoincrement_primary_key(&self) -> bool {
        true
    }

    fn rejects_composite_autoincrement(&self) -> bool {
        true
    }

    fn ddl_compiler_name(&self) -> &'static str {
        "sqlalchemy.dialects.sqlite.base.SQLiteDDLCompiler"
    }

    fn index_name_carries_schema(&self) -> bool {
        true
    }
}

pub(super) const RESERVED: &[&str] = &[
    "add",
    "after",
    "all",
    "alter",
    "analyze",
    "and",
    "as",
    "asc",
    "attach",
    "autoincrement",
    "before",
    "begin",
    "between",
    "by",
    "cascade",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "commit",
    "conflict",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "database",
    "default",
    "deferrable",
    "deferred",
    "delete",
    "desc",
    "detach",
    "distinct",
    "drop",
    "each",
    "else",
    "end",
    "escape",
    "except",
    "exclusive",
    "exists",
    "explain",
    "fail",
    "false",
    "for",
    "foreign",
    "from",
    "full",
    "glob",
    "group",
    "having",
    "if",
    "ignore",
    "immediate",
    "in",
    "index",
    "indexed",
    "initially",
    "inner",
    "insert",
    "instead",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "match",
    "natural",
    "not",
    "notnull",
    "null",
    "of",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "plan",
    "pragma",
    "primary",
    "query",
    "raise",
    "references",
    "reindex",
    "rename",
    "replace",
    "restrict",
    "right",
    "rollback",
    "row",
    "select",
    "set",
    "table",
    "temp",
    "temporary",
    "then",
    "to",
    "transaction",
    "trigger",
    "true",
    "union",
    "unique",
    "update",
    "using",
    "vacuum",
    "values",
    "view",
    "virtual",
    "when",
    "where",
];
