//! The rules: each an id (squawk's where squawk has one), a default
//! severity, a one-line reason and a fix, checked over lowered operations.

use crate::ops::{ConstraintKind, DefaultValue, Executable, Op, SqlExpr, SqlType};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim() {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// One rule.
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    /// Whether it runs without being enabled in `[aurora.lint]`.
    pub default_on: bool,
    pub reason: &'static str,
    pub fix: &'static str,
}

const fn rule(
    id: &'static str,
    severity: Severity,
    default_on: bool,
    reason: &'static str,
    fix: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        default_on,
        reason,
        fix,
    }
}

use Severity::{Error, Info, Warning};

/// Every rule aurora knows.
pub const RULES: &[Rule] = &[
    rule("adding-not-nullable-field", Error, true,
        "a NOT NULL column without a server default fails on an existing table with rows (and SET NOT NULL scans it under an ACCESS EXCLUSIVE lock)",
        "add it nullable, backfill, then add a CHECK (col IS NOT NULL) NOT VALID, validate it and set NOT NULL; or give it a server_default"),
    rule("require-concurrent-index-creation", Warning, true,
        "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds",
        "pass postgresql_concurrently=True inside `with op.get_context().autocommit_block():`"),
    rule("require-concurrent-index-deletion", Warning, true,
        "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table",
        "pass postgresql_concurrently=True inside `with op.get_context().autocommit_block():`"),
    rule("ban-concurrent-index-creation-in-transaction", Error, true,
        "CONCURRENTLY cannot run inside a transaction block, and each revision runs in one",
        "wrap the operation in `with op.get_context().autocommit_block():`"),
    rule("constraint-missing-not-valid", Warning, true,
        "adding a foreign key or check constraint to an existing table scans it while holding a lock",
        "add it NOT VALID (op.execute(\"ALTER TABLE ... ADD CONSTRAINT ... NOT VALID\")), then VALIDATE CONSTRAINT in a later revision"),
    rule("disallowed-unique-constraint", Warning, true,
        "adding a UNIQUE constraint builds its index under an ACCESS EXCLUSIVE lock",
        "create a unique index CONCURRENTLY first, then ADD CONSTRAINT ... UNIQUE USING INDEX"),
    rule("changing-column-type", Warning, true,
        "changing a column's type may rewrite the whole table under an ACCESS EXCLUSIVE lock",
        "add a new column, backfill it, and switch readers over"),
    rule("adding-field-with-default", Warning, true,
        "a volatile server default (now(), random(), uuid) rewrites the table when the column is added",
        "add the column without the default, set the default, then backfill in batches"),
    rule("renaming-column", Warning, true,
        "renaming a column breaks clients still using the old name",
        "add the new column, dual-write, migrate readers, then drop the old one"),
    rule("renaming-table", Warning, true,
        "renaming a table breaks clients still using the old name",
        "create a view with the old name, or migrate clients first"),
    rule("ban-drop-column", Warning, true,
        "dropping a column loses its data and breaks clients still reading it",
        "stop using the column in the application first; suppress with `# aurora: allow[ban-drop-column]` once it is unused"),
    rule("ban-drop-table", Warning, true,
        "dropping a table loses its data and breaks clients still reading it",
        "stop using the table first; suppress with `# aurora: allow[ban-drop-table]` once it is unused"),
    rule("ban-drop-not-null", Warning, true,
        "dropping NOT NULL breaks clients that rely on the column always having a value",
        "make sure every reader handles NULL first"),
    rule("prefer-text-field", Warning, false,
        "changing a VARCHAR(n) limit later needs an ACCESS EXCLUSIVE lock",
        "use sa.Text() with a CHECK constraint on its length"),
    rule("prefer-bigint-over-int", Warning, false,
        "a 32-bit integer key can run out of values",
        "use sa.BigInteger()"),
    rule("prefer-timestamptz", Warning, false,
        "TIMESTAMP WITHOUT TIME ZONE loses the offset of the value stored",
        "use sa.DateTime(timezone=True)"),
    rule("require-timeout-settings", Warning, true,
        "a locking DDL statement without lock_timeout can queue behind a long query and block every other query on the table",
        "op.execute(\"SET lock_timeout = '2s'\") (and statement_timeout) before the first locking operation"),
    rule("unanalysed-raw-sql", Info, true,
        "op.execute with raw SQL: aurora cannot check what it locks or rewrites",
        "review the statement by hand, or use op.* operations"),
    rule("sqlite-alter-requires-batch", Error, true,
        "SQLite's ALTER TABLE cannot do this: Alembic raises NotImplementedError for constraints, and SQLite rejects ALTER COLUMN",
        "do it inside `with op.batch_alter_table(\"table\") as batch_op:`"),
];

pub fn find(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// What the rules need to know around one operation.
pub struct Scope<'a> {
    pub postgresql: bool,
    /// Tables created by the linted range before this operation.
    pub created: &'a std::collections::BTreeSet<String>,
    pub in_autocommit: bool,
    pub in_batch: bool,
}

impl Scope<'_> {
    fn existing(&self, table: &str) -> bool {
        !self.created.contains(table)
    }
}

fn is_volatile_sql(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "now()",
        "random()",
        "gen_random_uuid",
        "uuid_generate",
        "clock_timestamp",
        "current_timestamp",
        "uuid()",
    ]
    .iter()
    .any(|f| t.contains(f))
}

fn is_volatile(default: &DefaultValue) -> bool {
    match default {
        DefaultValue::Str(_) => false,
        DefaultValue::Text(text) => is_volatile_sql(text),
        DefaultValue::Expr(expr) => expr_volatile(expr),
    }
}

fn expr_volatile(expr: &SqlExpr) -> bool {
    match expr {
        SqlExpr::Func { name, args } => {
            let n = name.to_ascii_lowercase();
            [
                "now",
                "random",
                "gen_random_uuid",
                "uuid_generate_v4",
                "clock_timestamp",
                "current_timestamp",
                "uuid",
            ]
            .contains(&n.as_str())
                || args.iter().any(expr_volatile)
        }
        SqlExpr::Text(text) => is_volatile_sql(text),
        SqlExpr::Binary { left, right, .. } => expr_volatile(left) || expr_volatile(right),
        _ => false,
    }
}

fn type_rules(type_: &SqlType, out: &mut Vec<&'static str>) {
    match type_ {
        SqlType::String(Some(_)) | SqlType::Char(Some(_)) => out.push("prefer-text-field"),
        SqlType::Integer | SqlType::SmallInteger => out.push("prefer-bigint-over-int"),
        SqlType::DateTime { timezone: false }
        | SqlType::Timestamp {
            timezone: false, ..
        } => out.push("prefer-timestamptz"),
        _ => {}
    }
}

/// Whether an operation takes a lock on a table that existed before the range.
pub fn locks_existing(op: &Op, scope: &Scope<'_>) -> bool {
    match op {
        Op::AddColumn { table, .. }
        | Op::DropColumn { table, .. }
        | Op::AddConstraint { table, .. }
        | Op::DropConstraint { table, .. }
        | Op::CreateTableComment { table, .. } => scope.existing(table),
        Op::AlterColumn(a) => scope.existing(&a.table),
        Op::CreateIndex(i) => scope.existing(&i.table) && !i.postgresql_concurrently,
        Op::DropIndex {
            table,
            concurrently,
            ..
        } => !concurrently && table.as_deref().is_none_or(|t| scope.existing(t)),
        Op::RenameTable { old, .. } => scope.existing(old),
        Op::DropTable { name, .. } => scope.existing(name),
        _ => false,
    }
}

/// The rule ids one operation (not its nested ones) triggers.
#[allow(
    clippy::collapsible_match,
    reason = "one arm per operation reads as the rule table; guards would scatter it"
)]
pub fn check(op: &Op, scope: &Scope<'_>) -> Vec<&'static str> {
    let mut hits = Vec::new();
    let pg = scope.postgresql;
    match op {
        Op::CreateTable(table) => {
            for column in &table.columns {
                type_rules(&column.type_, &mut hits);
            }
        }
        Op::AddColumn { table, column, .. } => {
            if column.nullable == Some(false)
                && column.server_default.is_none()
                && !column.primary_key
                && scope.existing(table)
            {
                hits.push("adding-not-nullable-field");
            }
            if pg
                && scope.existing(table)
                && column.server_default.as_ref().is_some_and(is_volatile)
            {
                hits.push("adding-field-with-default");
            }
            if pg && scope.existing(table) && !column.foreign_keys.is_empty() {
                hits.push("constraint-missing-not-valid");
            }
            type_rules(&column.type_, &mut hits);
        }
        Op::DropColumn { .. } => hits.push("ban-drop-column"),
        Op::DropTable { name, .. } => {
            if scope.existing(name) {
                hits.push("ban-drop-table");
            }
        }
        Op::AlterColumn(a) => {
            if !pg
                && !scope.in_batch
                && (a.type_.is_some() || a.nullable.is_some() || a.server_default.is_some())
            {
                hits.push("sqlite-alter-requires-batch");
            }
            if a.type_.is_some() && scope.existing(&a.table) {
                hits.push("changing-column-type");
            }
            if let Some(t) = &a.type_ {
                type_rules(t, &mut hits);
            }
            if a.new_column_name.is_some() && scope.existing(&a.table) {
                hits.push("renaming-column");
            }
            if a.nullable == Some(true)
                && a.existing_nullable != Some(true)
                && scope.existing(&a.table)
            {
                hits.push("ban-drop-not-null");
            }
            if a.nullable == Some(false)
                && a.existing_nullable != Some(false)
                && scope.existing(&a.table)
            {
                hits.push("adding-not-nullable-field");
            }
        }
        Op::CreateIndex(index) => {
            if pg {
                if index.postgresql_concurrently {
                    if !scope.in_autocommit {
                        hits.push("ban-concurrent-index-creation-in-transaction");
                    }
                } else if scope.existing(&index.table) {
                    hits.push("require-concurrent-index-creation");
                }
            }
        }
        Op::DropIndex {
            table,
            concurrently,
            ..
        } => {
            if pg {
                if *concurrently {
                    if !scope.in_autocommit {
                        hits.push("ban-concurrent-index-creation-in-transaction");
                    }
                } else if table.as_deref().is_none_or(|t| scope.existing(t)) {
                    hits.push("require-concurrent-index-deletion");
                }
            }
        }
        Op::AddConstraint {
            table, constraint, ..
        } => {
            if !pg && !scope.in_batch {
                hits.push("sqlite-alter-requires-batch");
            }
            if pg && scope.existing(table) {
                match constraint.kind {
                    ConstraintKind::ForeignKey { .. } | ConstraintKind::Check { .. } => {
                        hits.push("constraint-missing-not-valid")
                    }
                    ConstraintKind::Unique { .. } | ConstraintKind::PrimaryKey { .. } => {
                        hits.push("disallowed-unique-constraint")
                    }
                }
            }
        }
        Op::DropConstraint { .. } => {
            if !pg && !scope.in_batch {
                hits.push("sqlite-alter-requires-batch");
            }
        }
        Op::RenameTable { old, .. } => {
            if scope.existing(old) {
                hits.push("renaming-table");
            }
        }
        Op::Execute(Executable::Sql(sql) | Executable::Text { sql, .. }) => {
            if !sets_timeout(sql) {
                hits.push("unanalysed-raw-sql");
            }
        }
        _ => {}
    }
    hits
}

/// Whether raw SQL sets `lock_timeout` or `statement_timeout`.
pub fn sets_timeout(sql: &str) -> bool {
    let t = sql.to_ascii_lowercase();
    t.trim_start().starts_with("set")
        && (t.contains("lock_timeout") || t.contains("statement_timeout"))
}
