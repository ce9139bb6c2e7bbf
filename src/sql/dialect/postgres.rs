//! PostgreSQL: SQLAlchemy's PostgreSQL dialect (psycopg2) with Alembic's
//! `PostgresqlImpl`.

use super::SqlDialect;
use crate::sql::Dialect;

/// PostgreSQL's rendering behaviour.
pub struct Postgresql;

fn with_time_zone(timezone: bool) -> &'static str {
    if timezone {
        "WITH"
    } else {
        "WITHOUT"
    }
}

impl SqlDialect for Postgresql {
    fn kind(&self) -> Dialect {
        Dialect::Postgresql
    }

    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn impl_name(&self) -> &'static str {
        "PostgresqlImpl"
    }

    fn reserved_words(&self) -> &'static [&'static str] {
        RESERVED
    }

    /// NAMEDATALEN - 1.
    fn max_identifier_length(&self) -> usize {
        63
    }

    fn native_ilike(&self) -> bool {
        true
    }

    fn delete_using(&self) -> bool {
        true
    }

    fn limit_clause(&self, limit: Option<&str>, offset: Option<&str>) -> String {
        let mut text = String::new();
        if let Some(l) = limit {
            text.push_str(&format!(" \n LIMIT {l}"));
        }
        if let Some(o) = offset {
            if limit.is_none() {
                text.push_str("\n LIMIT ALL");
            }
            text.push_str(&format!(" OFFSET {o}"));
        }
        text
    }

    fn transactional_ddl(&self) -> bool {
        true
    }

    fn batch_frees_reused_names(&self) -> bool {
        true
    }

    fn post_create_table(
        &self,
        o: &crate::ops::TableOptions,
        quote: &dyn Fn(&str) -> String,
    ) -> String {
        let mut out = String::new();
        if !o.postgresql_inherits.is_empty() {
            let parents: Vec<String> = o.postgresql_inherits.iter().map(|p| quote(p)).collect();
            out.push_str(&format!("\n INHERITS ({})", parents.join(", ")));
        }
        if let Some(p) = o
            .postgresql_partition_by
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            out.push_str(&format!("\n PARTITION BY {p}"));
        }
        if let Some(u) = o.postgresql_using.as_deref().filter(|u| !u.is_empty()) {
            out.push_str(&format!("\n USING {u}"));
        }
        if let Some(w) = o.postgresql_with.as_ref().filter(|w| !w.is_empty()) {
            out.push_str(&format!("\n WITH ({})", w.join(", ")));
        }
        match o.postgresql_with_oids {
            Some(true) => out.push_str("\n WITH OIDS"),
            Some(false) => out.push_str("\n WITHOUT OIDS"),
            None => {}
        }
        if let Some(c) = o.postgresql_on_commit.as_deref().filter(|c| !c.is_empty()) {
            out.push_str(&format!(
                "\n ON COMMIT {}",
                c.replace('_', " ").to_uppercase()
            ));
        }
        if let Some(t) = o.postgresql_tablespace.as_deref().filter(|t| !t.is_empty()) {
            out.push_str(&format!("\n TABLESPACE {}", quote(t)));
        }
        out
    }

    fn datetime_type(&self, timezone: bool) -> String {
        format!("TIMESTAMP {} TIME ZONE", with_time_zone(timezone))
    }

    fn timestamp_type(&self, timezone: bool, precision: Option<u32>) -> String {
        let p = precision.map(|p| format!("({p})")).unwrap_or_default();
        format!("TIMESTAMP{p} {} TIME ZONE", with_time_zone(timezone))
    }

    fn time_type(&self, timezone: bool, precision: Option<u32>) -> String {
        let p = precision.map(|p| format!("({p})")).unwrap_or_default();
        format!("TIME{p} {} TIME ZONE", with_time_zone(timezone))
    }

    /// Only PostgreSQL's compiler renders a float's precision.
    fn float_type(&self, precision: Option<u32>) -> String {
        match precision {
            Some(p) => format!("FLOAT({p})"),
            None => "FLOAT".into(),
        }
    }

    fn large_binary_type(&self) -> String {
        "BYTEA".into()
    }

    fn double_type(&self) -> String {
        "DOUBLE PRECISION".into()
    }

    fn interval_type(&self, native: bool, precision: Option<u32>, fields: Option<&str>) -> String {
        if !native {
            // A non-native interval is stored as a datetime.
            return "TIMESTAMP WITHOUT TIME ZONE".into();
        }
        let mut s = String::from("INTERVAL");
        if let Some(f) = fields {
            s.push(' ');
            s.push_str(f);
        }
        if let Some(p) = precision {
            s.push_str(&format!(" ({p})"));
        }
        s
    }

    fn native_uuid(&self) -> bool {
        true
    }

    fn native_enum(&self) -> bool {
        true
    }

    fn serial_columns(&self) -> bool {
        true
    }

    fn sequence_data_type(&self) -> bool {
        true
    }

    fn bytes_literal(&self, hex: &str) -> String {
        format!("'\\x{hex}'")
    }

    fn omits_zero_microseconds(&self) -> bool {
        true
    }

    fn parenthesizes_index_expressions(&self) -> bool {
        true
    }

    fn bulk_insert_placeholder(&self, key: &str) -> String {
        format!("%({key})s")
    }

    fn bind_param(&self, n: usize) -> String {
        format!("${n}")
    }

    fn qualified_returning(&self) -> bool {
        true
    }

    fn comment_statements(&self) -> bool {
        true
    }

    fn column_comment_ddl(&self) -> bool {
        true
    }

    fn ddl_compiler_name(&self) -> &'static str {
        "sqlalchemy.dialects.postgresql.base.PGDDLCompiler"
    }

    fn unique_nulls_distinct(&self) -> bool {
        true
    }

    fn constraint_include_and_not_valid(&self) -> bool {
        true
    }

    fn identity_columns(&self) -> bool {
        true
    }

    fn autoincrement_for_every_primary_key(&self) -> bool {
        true
    }

    fn postgresql_index_options(&self) -> bool {
        true
    }

    fn alter_type_using(&self) -> bool {
        true
    }

    fn rename_column_keyword(&self) -> &'static str {
        ""
    }
}

pub(super) const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "column",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "new",
    "not",
    "notnull",
    "null",
    "of",
    "off",
    "offset",
    "old",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "over",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "table",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];
