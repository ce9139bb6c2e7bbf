//! Operations: the typed model of what a revision's `upgrade()` and
//! `downgrade()` do, lowered from the body AST by a small evaluator
//! ([`eval`]). This module never renders SQL; `sql` does that.

mod dml;
mod eval;
mod naming;
mod places;
pub use dml::{as_condition, negate, tables_of, type_of, FromItem, Insert, Select};
pub(crate) use eval::py_float_repr;
pub use naming::{Convention, Kind as ConventionKind};
pub use places::CallPlaces;

use crate::syntax::body::{line_col, parse_module, parse_module_skipping, Span};
use std::fmt;
use std::path::Path;

/// The operations of one revision file.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub upgrade: Vec<Op>,
    pub downgrade: Vec<Op>,
    /// Whether lowering read anything besides the file itself (project
    /// modules, configuration): such a result must not be cached by the
    /// file's identity alone.
    pub outside_inputs: bool,
}

/// Parses a revision file and lowers both of its functions to operations.
/// Every problem found is reported, each with its file, line and column.
pub fn parse_migration(path: &Path, source: &str) -> Result<Migration, MigrationError> {
    let context = LowerContext::for_file(path);
    // Both functions are optional here; a run asks for the one it needs.
    lower(
        &context,
        source,
        parse_module(source),
        &["upgrade", "downgrade"],
    )
}

/// What a module-level header name (`revision`, `down_revision`,
/// `branch_labels`, `depends_on`) evaluates to.
#[derive(Debug, Clone, PartialEq)]
pub enum HeaderName {
    /// The module never binds it.
    Unbound,
    /// `None`, a string, or a tuple or list of strings (Alembic's `to_tuple`).
    Strings(Vec<String>),
    /// Something else (described).
    NotStrings(String),
}

/// Evaluates header names of a revision file through the interpreter, as
/// Python's import of the file would: wherever the module binds them, over
/// imports of project modules, constants and helper functions. Only what the
/// names need is evaluated. The error says where (file:line:col) and why.
pub fn header_names(
    context: &LowerContext,
    source: &str,
    names: &[&str],
) -> Result<Vec<HeaderName>, String> {
    eval::module_names(source, context, names)
}

/// A revision file's docstring as Python sees it (`__doc__`).
pub fn module_docstring(source: &str) -> Option<String> {
    eval::module_docstring(source)
}

/// A module-level `@compiles(Construct, ...)` function of a revision file
/// for a SQLAlchemy construct (not a class of the file): Alembic imports
/// every revision file for the revision map, so it changes how that
/// construct renders in every revision of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstructHook {
    /// The construct as written (`sa.ForeignKeyConstraint`).
    pub target: String,
    /// The dialect names given (empty: every dialect); `None` when they are
    /// not all literal strings.
    pub dialects: Option<Vec<String>>,
    /// Where the decorator is (1-based).
    pub line: usize,
    pub col: usize,
}

impl ConstructHook {
    /// Whether the hook applies on `dialect` (when unsure: it does).
    pub fn applies_to(&self, dialect: &str) -> bool {
        match &self.dialects {
            Some(names) => names.is_empty() || names.iter().any(|d| d == dialect),
            None => true,
        }
    }
}

/// The construct hooks a parsed revision file defines (see [`ConstructHook`]).
pub fn construct_compile_hooks(
    source: &str,
    module: &crate::syntax::ast::Module,
) -> Vec<ConstructHook> {
    eval::construct_hooks(source, &module.body)
}

/// The construct hooks of a script directory (see [`LowerContext::compile_hooks`]).
pub type CompileHooks =
    std::sync::Arc<std::sync::OnceLock<Vec<(std::path::PathBuf, ConstructHook)>>>;

/// What lowering a revision file may consult besides the file itself.
#[derive(Debug, Clone, Default)]
pub struct LowerContext {
    /// The revision file (for `__name__`, `__file__` and messages).
    pub path: std::path::PathBuf,
    /// The configured dialect name (`postgresql`, `sqlite`): what
    /// `op.get_bind().dialect.name` says offline.
    pub dialect: String,
    /// Where the project's own modules are found (`sys.path`).
    pub search_path: crate::modules::SearchPath,
    /// Whether the run is offline (`--sql`): `context.is_offline_mode()`.
    pub offline: bool,
    /// The ini main section, for `context.config.get_main_option()`.
    pub main_options: std::collections::BTreeMap<String, String>,
    /// env.py's `target_metadata.naming_convention` (`None`: SQLAlchemy's
    /// default, which names only indexes).
    pub naming_convention: Option<Convention>,
    /// The construct hooks of every revision file of the script directory,
    /// with their files, set once the revision map is loaded (bodies lowered
    /// while it loads see none; a run discards those when there are hooks):
    /// an operation of the run compiling one of those constructs is refused.
    pub compile_hooks: CompileHooks,
}

impl LowerContext {
    /// A context with no project modules and no configuration.
    pub fn for_file(path: &Path) -> LowerContext {
        LowerContext {
            path: path.to_path_buf(),
            dialect: "postgresql".to_string(),
            offline: true,
            ..LowerContext::default()
        }
    }
}

/// Which of a revision's two functions is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Upgrade,
    Downgrade,
}

/// Parses and lowers only one of the two functions (the other comes back
/// empty): what a run needs, at about half the cost, and a problem in the
/// other function does not stop it.
pub fn parse_migration_function(
    context: &LowerContext,
    source: &str,
    function: Function,
) -> Result<Migration, MigrationError> {
    let other = match function {
        Function::Upgrade => "downgrade",
        Function::Downgrade => "upgrade",
    };
    lower(
        context,
        source,
        parse_module_skipping(source, &[other]),
        &[other],
    )
}

/// [`parse_migration_function`] over the whole module of `source`, parsed
/// before (for the revision map), so the file is not parsed again.
pub fn lower_migration_function(
    context: &LowerContext,
    source: &str,
    mut module: crate::syntax::body::Module,
    function: Function,
) -> Result<Migration, MigrationError> {
    let other = match function {
        Function::Upgrade => "downgrade",
        Function::Downgrade => "upgrade",
    };
    crate::syntax::body::skip_functions(&mut module, &[other]);
    lower(context, source, Ok(module), &[other])
}

fn lower(
    context: &LowerContext,
    source: &str,
    module: Result<crate::syntax::body::Module, crate::syntax::body::SyntaxError>,
    skipped: &[&str],
) -> Result<Migration, MigrationError> {
    let module = match module {
        Ok(module) => module,
        Err(e) => return Err(MigrationError::syntax(&context.path, source, &e)),
    };
    let lowered = {
        let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Evaluate);
        eval::lower_module(&module, context, skipped, source)
    };
    if lowered.problems.is_empty() {
        return Ok(Migration {
            upgrade: lowered.upgrade,
            downgrade: lowered.downgrade,
            outside_inputs: lowered.outside_inputs,
        });
    }
    Err(migration_error(context, source, lowered.problems))
}

/// What a revision file's top-level statements do through `op` when
/// Alembic imports it inside the migration context (a run's revision map
/// loads every file): the operations, in order, or every problem of those
/// statements, with the line and column of the first statement that made
/// any. Only files with [`crate::script::Script::import_effects`] have any.
pub fn import_ops(context: &LowerContext, source: &str) -> Result<ImportOps, MigrationError> {
    let module = parse_module_skipping(source, &["upgrade", "downgrade"])
        .map_err(|e| MigrationError::syntax(&context.path, source, &e))?;
    let lowered = eval::lower_module(&module, context, &["upgrade", "downgrade"], source);
    if lowered.import_problems.is_empty() {
        let at = lowered
            .import_ops_start
            .map(|start| line_col(source, start));
        return Ok((lowered.import_ops, at));
    }
    Err(migration_error(context, source, lowered.import_problems))
}

/// A file's import-time operations and the line and column of the first
/// statement that made any (see [`import_ops`]).
pub type ImportOps = (Vec<Op>, Option<(usize, usize)>);

/// The places of a parsed file's top-level statements that call through
/// `op` (see [`import_ops`]).
pub fn import_effect_places(
    source: &str,
    module: &crate::syntax::ast::Module,
) -> Vec<(usize, usize)> {
    eval::import_effect_places(source, &module.body)
}

fn migration_error(context: &LowerContext, source: &str, raw: Vec<RawProblem>) -> MigrationError {
    let display_path = context.path.display().to_string();
    let problems = raw
        .into_iter()
        .map(|p| {
            let (line, col) = line_col(source, p.span.start);
            let end = p.span.end.clamp(p.span.start, source.len());
            let snippet = pest::Span::new(source, p.span.start, end)
                .map(|span| {
                    pest::error::Error::<()>::new_from_span(
                        pest::error::ErrorVariant::CustomError {
                            message: p.message.clone(),
                        },
                        span,
                    )
                    .with_path(&display_path)
                    .to_string()
                })
                .unwrap_or_default();
            Problem {
                line,
                col,
                message: p.message,
                snippet,
            }
        })
        .collect();
    MigrationError {
        path: display_path,
        problems,
    }
}

/// Everything wrong with one revision file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct MigrationError {
    pub path: String,
    pub problems: Vec<Problem>,
}

/// One problem: where it is and what it is. `snippet` is pest's rendering
/// with the source line and a caret.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub snippet: String,
}

impl fmt::Display for MigrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.path, p.line, p.col, p.message)?;
        }
        Ok(())
    }
}

impl MigrationError {
    /// A file that is not valid Python.
    pub fn syntax(path: &Path, source: &str, e: &crate::syntax::body::SyntaxError) -> Self {
        let display_path = path.display().to_string();
        let message = format!("{}: {}", e.kind, e.message);
        let start = e.offset.min(source.len());
        let end = source[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
        let snippet = pest::Span::new(source, start, end)
            .map(|span| {
                pest::error::Error::<()>::new_from_span(
                    pest::error::ErrorVariant::CustomError {
                        message: message.clone(),
                    },
                    span,
                )
                .with_path(&display_path)
                .to_string()
            })
            .unwrap_or_default();
        MigrationError {
            path: display_path,
            problems: vec![Problem {
                line: e.line,
                col: e.column,
                message,
                snippet,
            }],
        }
    }

    /// Every problem with its caret snippet, for a detailed report.
    pub fn snippets(&self) -> String {
        self.problems
            .iter()
            .map(|p| p.snippet.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A problem found while lowering, before it is given a line and column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawProblem {
    pub span: Span,
    pub message: String,
    /// The project module whose `file:line:col` begins `message`, when one
    /// does (a call into that module does not place the problem again).
    pub located_in: Option<std::path::PathBuf>,
}

/// One migration operation.
#[allow(
    clippy::large_enum_variant,
    reason = "a revision holds a handful of operations, built once; boxing would only add noise"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    CreateTable(Table),
    DropTable {
        name: String,
        schema: Option<String>,
        if_exists: bool,
    },
    AddColumn {
        table: String,
        schema: Option<String>,
        column: Column,
        /// `if_not_exists=True`: `ADD COLUMN IF NOT EXISTS`.
        if_not_exists: bool,
    },
    DropColumn {
        table: String,
        schema: Option<String>,
        column: String,
        /// `if_exists=True`: `DROP COLUMN IF EXISTS`.
        if_exists: bool,
    },
    AlterColumn(AlterColumn),
    CreateIndex(Index),
    DropIndex {
        name: String,
        /// `op.f(...)`: truncated as a convention name when too long.
        conv_name: bool,
        table: Option<String>,
        schema: Option<String>,
        if_exists: bool,
        concurrently: bool,
    },
    AddConstraint {
        table: String,
        schema: Option<String>,
        constraint: Constraint,
    },
    DropConstraint {
        /// `None` when written as `op.drop_constraint(None, ...)`, as
        /// autogenerate writes it for unnamed constraints.
        name: Option<String>,
        table: String,
        schema: Option<String>,
        type_: Option<String>,
        /// `if_exists=True`: `DROP CONSTRAINT IF EXISTS` (outside batch
        /// recreation, where Alembic ignores it).
        if_exists: bool,
    },
    RenameTable {
        old: String,
        new: String,
        schema: Option<String>,
    },
    CreateTableComment {
        table: String,
        schema: Option<String>,
        comment: String,
    },
    DropTableComment {
        table: String,
        schema: Option<String>,
    },
    /// `CREATE TYPE ... AS ENUM` through `ENUM(...).create(bind)`.
    CreateEnum {
        name: String,
        schema: Option<String>,
        values: Vec<String>,
    },
    /// `DROP TYPE` through `ENUM(...).drop(bind)`.
    DropEnum {
        name: String,
        schema: Option<String>,
    },
    Execute(Executable),
    BulkInsert {
        table: TableClause,
        rows: Vec<Vec<(String, Literal)>>,
        multiinsert: bool,
    },
    Batch(Batch),
    /// `with op.get_context().autocommit_block():`
    Autocommit(Vec<Op>),
    /// `print(...)` in a revision: the text (with its `end`) goes to standard
    /// output where it falls among the statements, as Python's print writes to
    /// the `sys.stdout` Alembic's `--sql` output goes to. Offline only.
    Print(String),
    /// A record a revision logged (`logging.getLogger(name).info(...)`): the
    /// logger's name, the level and the formatted message, handled by the
    /// logging configuration env.py installed where it falls. Offline only.
    Log {
        logger: String,
        level: u32,
        message: String,
    },
}

/// A table's `postgresql_*` and `sqlite_*` keywords that add clauses after
/// its `CREATE TABLE (...)`, as each dialect's `post_create_table` renders
/// them. Keywords of other dialects do not change the SQL aurora renders.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableOptions {
    /// `postgresql_inherits`: the parent tables.
    pub postgresql_inherits: Vec<String>,
    /// `postgresql_partition_by`: the text after `PARTITION BY`.
    pub postgresql_partition_by: Option<String>,
    /// `postgresql_using`: the table access method.
    pub postgresql_using: Option<String>,
    /// `postgresql_with`: storage parameters, each rendered (`p`, `p = v`).
    pub postgresql_with: Option<Vec<String>>,
    /// `postgresql_with_oids`: `WITH OIDS` / `WITHOUT OIDS`.
    pub postgresql_with_oids: Option<bool>,
    /// `postgresql_on_commit`, as written (`drop`, `delete_rows`, ...).
    pub postgresql_on_commit: Option<String>,
    /// `postgresql_tablespace`.
    pub postgresql_tablespace: Option<String>,
    /// `sqlite_with_rowid=False`.
    pub sqlite_without_rowid: bool,
    /// `sqlite_strict=True`.
    pub sqlite_strict: bool,
}

/// A table as `op.create_table` or `sa.Table` describes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub name: String,
    pub schema: Option<String>,
    pub columns: Vec<Column>,
    /// Table-level constraints in the order they were written.
    pub constraints: Vec<Constraint>,
    /// `sa.Index` objects given to the table.
    pub indexes: Vec<Index>,
    pub comment: Option<String>,
    /// `sqlite_autoincrement=True`.
    pub sqlite_autoincrement: bool,
    /// The other dialect keywords that change `CREATE TABLE`.
    pub options: TableOptions,
    /// A `sa.Table` of a `MetaData(naming_convention=...)`: its own convention
    /// would name what `Table.create()` emits, which aurora does not apply.
    pub own_naming_convention: bool,
    /// Made by `Table.create(bind)`: SQLAlchemy's SchemaGenerator has a DDL
    /// memo of its own, so the table's enum types are created again even when
    /// the run created them before, and the run's memo does not learn of them.
    pub own_ddl_memo: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub type_: SqlType,
    /// `None` when not given: then a column is nullable unless it is part of
    /// the primary key.
    pub nullable: Option<bool>,
    pub primary_key: bool,
    pub server_default: Option<DefaultValue>,
    /// `None` is SQLAlchemy's "auto".
    pub autoincrement: Option<bool>,
    /// `autoincrement="ignore_fk"`: "auto", even for a column with a foreign key.
    pub autoincrement_ignore_fk: bool,
    pub comment: Option<String>,
    pub unique: bool,
    pub index: bool,
    pub foreign_keys: Vec<ForeignKey>,
    /// Column-level `CheckConstraint`s, rendered inline.
    pub checks: Vec<Constraint>,
    /// The client-side default (`default=`, or a positional `Sequence`):
    /// never rendered itself, but it decides whether the column is
    /// SQLAlchemy's autoincrement column and whether PostgreSQL says SERIAL.
    pub default: Option<PythonDefault>,
    /// The column's `GENERATED` clause: `sa.Identity(...)` (`GENERATED ...
    /// AS IDENTITY` where the dialect has identity columns (PostgreSQL),
    /// nothing elsewhere (SQLite)) or `sa.Computed(...)`.
    pub identity: Option<Box<Generated>>,
}

/// What a column is generated by.
#[derive(Debug, Clone, PartialEq)]
pub enum Generated {
    Identity(Identity),
    Computed(Computed),
}

/// `sa.Computed(sqltext, persisted=...)`: `GENERATED ALWAYS AS (sqltext)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    pub sqltext: String,
    /// `None` when not given (PostgreSQL before 18 stores the column anyway).
    pub persisted: Option<bool>,
}

/// `sa.Identity(always=..., start=..., ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub always: bool,
    /// The sequence options (`start`, `increment`, ...); the name is empty.
    pub options: Sequence,
}

/// A column's client-side default.
#[derive(Debug, Clone, PartialEq)]
pub enum PythonDefault {
    Sequence(Box<Sequence>),
    /// A scalar, callable or SQL expression: the column is not
    /// "autoincrement" unless it says `autoincrement=True`.
    Other,
}

/// `sa.Sequence(name, ...)`, as `CREATE SEQUENCE` renders it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sequence {
    pub name: String,
    pub schema: Option<String>,
    pub start: Option<i64>,
    pub increment: Option<i64>,
    pub minvalue: Option<i64>,
    pub maxvalue: Option<i64>,
    /// `nominvalue=`/`nomaxvalue=`: SQLAlchemy renders `NO MINVALUE` for
    /// any value given, even `False`.
    pub nominvalue: bool,
    pub nomaxvalue: bool,
    pub cycle: Option<bool>,
    pub cache: Option<i64>,
    /// `data_type=`: PostgreSQL's `AS <type>`.
    pub data_type: Option<SqlType>,
    /// `optional=True`: a PostgreSQL SERIAL column may stand in for it.
    pub optional: bool,
}

impl SqlType {
    /// The CHECK constraint SQLAlchemy adds to a table for a
    /// `create_constraint=True` type where the dialect has no native type
    /// for it (`Boolean` outside PostgreSQL, `Enum` unless it is a native
    /// enum on PostgreSQL): its name (the type's `name=`) and the allowed
    /// values as SQL literals, for `CHECK (col IN (...))`.
    pub fn check_constraint(&self, postgresql: bool) -> Option<(Option<String>, Vec<String>)> {
        match self {
            SqlType::Boolean {
                create_constraint: true,
                name,
            } if !postgresql => Some((name.clone(), vec!["0".into(), "1".into()])),
            SqlType::Enum {
                create_constraint: true,
                native,
                name,
                values,
                ..
            } if !(postgresql && *native) => Some((
                name.clone(),
                values
                    .iter()
                    .map(|v| format!("'{}'", v.replace('\'', "''")))
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// A server default.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// A plain string, rendered as a quoted literal.
    Str(String),
    /// `sa.text(...)`: rendered as written.
    Text(String),
    /// An expression such as `sa.func.now()` or `sa.false()`.
    Expr(SqlExpr),
}

/// `sa.ForeignKey('table.column', ...)` on a column.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub target: String,
    pub name: Option<String>,
    pub ondelete: Option<String>,
    pub onupdate: Option<String>,
}

/// A SQLAlchemy type with its arguments.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlType {
    Integer,
    BigInteger,
    SmallInteger,
    /// `String`, `Unicode` and `VARCHAR`.
    String(Option<u32>),
    /// `CHAR(n)`.
    Char(Option<u32>),
    /// `Text` and `UnicodeText`.
    Text,
    /// `create_constraint=True` adds SQLAlchemy's `CHECK (col IN (0, 1))`
    /// (named `name`) where the dialect has no native boolean (SQLite).
    Boolean {
        create_constraint: bool,
        name: Option<String>,
    },
    DateTime {
        timezone: bool,
    },
    Date,
    Time {
        timezone: bool,
        /// `postgresql.TIME(precision=...)`.
        precision: Option<u32>,
    },
    Float {
        precision: Option<u32>,
    },
    /// `REAL` and `DOUBLE`: their own names.
    Named(String),
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    Json,
    Jsonb,
    LargeBinary,
    Enum {
        values: Vec<String>,
        name: Option<String>,
        schema: Option<String>,
        native: bool,
        create_type: bool,
        length: Option<u32>,
        /// `create_constraint=True`: SQLAlchemy's `CHECK (col IN (...))`,
        /// named `name`, where the enum is not native.
        create_constraint: bool,
    },
    /// `sa.Uuid` (`UUID` where the dialect has it, else `CHAR(32)`), or the
    /// `UUID` class (`class_uuid`), which renders `UUID` everywhere.
    Uuid {
        native: bool,
        class_uuid: bool,
        /// `as_uuid=False`: values are strings, bound without hyphens.
        as_uuid: bool,
    },
    /// `sa.Interval(native=..., second_precision=...)` or
    /// `postgresql.INTERVAL(fields=..., precision=...)` (`postgresql`).
    Interval {
        native: bool,
        precision: Option<u32>,
        fields: Option<String>,
        postgresql: bool,
    },
    /// `sa.Double`: `DOUBLE PRECISION` on PostgreSQL, `DOUBLE` elsewhere.
    Double,
    /// An array; `ARRAY(t, dimensions=2)` is an array of arrays.
    Array(Box<SqlType>),
    /// A type only PostgreSQL's compiler renders (`MACADDR`, `TSVECTOR`,
    /// `INT4RANGE`, `BIT VARYING(4)`, ...): `sql` is its text there; other
    /// dialects cannot compile it (`class` names it in the error).
    PgOnly {
        class: String,
        sql: String,
    },
    /// `postgresql.DOMAIN(name, data_type, ...)`: rendered as its name; a
    /// table that uses it creates it first (`CREATE DOMAIN`).
    Domain(Box<Domain>),
    /// PostgreSQL `TIMESTAMP(timezone=..., precision=...)`.
    Timestamp {
        timezone: bool,
        precision: Option<u32>,
    },
    /// A type whose class was not given (`sa.column('x')`): NullType.
    Null,
}

/// A PostgreSQL domain, as `postgresql.DOMAIN(...)` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    pub name: String,
    pub schema: Option<String>,
    pub data_type: SqlType,
    pub collation: Option<String>,
    /// Rendered as `DEFAULT <default>`.
    pub default: Option<DefaultValue>,
    pub constraint_name: Option<String>,
    pub not_null: bool,
    /// The check's SQL text (`VALUE > 0`).
    pub check: Option<String>,
    pub create_type: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub name: Option<String>,
    pub kind: ConstraintKind,
    /// Boxed: most constraints have none, and a `Constraint` travels in the
    /// evaluator's values.
    pub options: Box<ConstraintOptions>,
}

/// What SQLAlchemy appends to a constraint besides its body. A foreign key
/// keeps its `DEFERRABLE`/`INITIALLY` in [`ConstraintKind::ForeignKey`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConstraintOptions {
    /// `deferrable=` of a primary key, unique or check constraint.
    pub deferrable: Option<bool>,
    /// `initially=` of a primary key, unique or check constraint.
    pub initially: Option<String>,
    /// `match=` of a foreign key (`MATCH FULL`).
    pub match_: Option<String>,
    /// `postgresql_not_valid=True` of a check or foreign key constraint.
    pub not_valid: bool,
    /// `postgresql_include=[...]` of a primary key or unique constraint.
    pub include: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintKind {
    PrimaryKey {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
        /// `postgresql_nulls_not_distinct`: `True` renders `NULLS NOT
        /// DISTINCT`, `False` `NULLS DISTINCT`, unset nothing.
        nulls_not_distinct: Option<bool>,
    },
    ForeignKey {
        columns: Vec<String>,
        ref_table: String,
        ref_schema: Option<String>,
        ref_columns: Vec<String>,
        ondelete: Option<String>,
        onupdate: Option<String>,
        deferrable: Option<bool>,
        initially: Option<String>,
    },
    Check {
        sqltext: String,
    },
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Index {
    pub name: Option<String>,
    /// The name is a naming-convention name (`op.f(...)`, or the default
    /// `ix_%(column_0_label)s` of an unnamed index): one longer than the
    /// dialect allows is truncated with a hash, not refused.
    pub conv_name: bool,
    pub table: String,
    pub schema: Option<String>,
    pub expressions: Vec<IndexExpr>,
    pub unique: bool,
    pub if_not_exists: bool,
    pub postgresql_where: Option<String>,
    pub postgresql_using: Option<String>,
    pub postgresql_concurrently: bool,
    pub sqlite_where: Option<String>,
    /// `postgresql_ops={key: opclass}`: keyed by column name or `text()`.
    pub postgresql_ops: Vec<(String, String)>,
    /// `postgresql_include=[...]`: `INCLUDE (...)`.
    pub postgresql_include: Vec<String>,
    /// `postgresql_with={param: value}`: `WITH (param = value, ...)`, each
    /// value already as SQLAlchemy writes it.
    pub postgresql_with: Vec<(String, String)>,
    pub postgresql_tablespace: Option<String>,
    /// `postgresql_nulls_not_distinct`.
    pub postgresql_nulls_not_distinct: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IndexExpr {
    Column(String),
    Text(String),
    /// An expression (`sa.func.lower(sa.Column('email'))`): SQLAlchemy
    /// renders its columns without their table.
    Expr(SqlExpr),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlterColumn {
    pub table: String,
    pub schema: Option<String>,
    pub column: String,
    pub nullable: Option<bool>,
    /// `Some(None)` drops the default; `None` leaves it alone.
    pub server_default: Option<Option<DefaultValue>>,
    pub new_column_name: Option<String>,
    pub type_: Option<SqlType>,
    /// `Some(None)` removes the comment.
    pub comment: Option<Option<String>>,
    pub autoincrement: Option<bool>,
    pub existing_type: Option<SqlType>,
    pub existing_server_default: Option<DefaultValue>,
    pub existing_nullable: Option<bool>,
    pub existing_comment: Option<String>,
    pub postgresql_using: Option<String>,
}

/// A `with op.batch_alter_table(...)` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub table: String,
    pub schema: Option<String>,
    /// `auto`, `always` or `never`.
    pub recreate: String,
    pub copy_from: Option<Table>,
    pub ops: Vec<Op>,
}

/// What `op.execute` runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Executable {
    /// A plain string.
    Sql(String),
    /// `sa.text(...)` with `.bindparams(...)` values.
    Text {
        sql: String,
        binds: Vec<(String, Literal)>,
    },
    Insert(Box<Insert>),
    Update {
        table: TableClause,
        values: Vec<(String, SqlExpr)>,
        where_: Option<SqlExpr>,
    },
    Delete {
        table: TableClause,
        where_: Option<SqlExpr>,
    },
    /// `sa.schema.CreateSequence(sa.Sequence(...), if_not_exists=...)`.
    CreateSequence {
        sequence: Sequence,
        if_not_exists: bool,
    },
    /// `sa.schema.CreateSchema(name, if_not_exists=...)`.
    CreateSchema {
        name: String,
        if_not_exists: bool,
    },
    /// `sa.schema.DropSchema(name, cascade=..., if_exists=...)`.
    DropSchema {
        name: String,
        cascade: bool,
        if_exists: bool,
    },
    /// `sa.schema.DropSequence(sa.Sequence(...), if_exists=...)`.
    DropSequence {
        sequence: Sequence,
        if_exists: bool,
    },
}

/// `sa.table('name', sa.column('a', sa.Integer), ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableClause {
    pub name: String,
    pub schema: Option<String>,
    pub columns: Vec<(String, SqlType)>,
}

/// A SQL expression from the expression language.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlExpr {
    Column {
        table: Option<String>,
        /// The schema of its table (`sa.table(..., schema='s')`): SQLAlchemy
        /// qualifies the column with it (`s.t.x`).
        schema: Option<String>,
        name: String,
        type_: SqlType,
        /// Whether it is a `Column` of a `Table` rather than a `column()`
        /// of a `table()` (see [`ColumnClass`]).
        class: ColumnClass,
    },
    Literal(Literal),
    /// `op.inline_literal(...)`.
    InlineLiteral(Literal),
    Binary {
        op: &'static str,
        left: Box<SqlExpr>,
        right: Box<SqlExpr>,
    },
    /// `sa.func.name(args)`.
    Func {
        name: String,
        args: Vec<SqlExpr>,
    },
    /// `sa.true()` / `sa.false()`.
    Bool(bool),
    Text(String),
    Null,
    /// `expr.desc()` / `expr.asc()`: the expression and its `DESC`/`ASC`.
    Ordered {
        expr: Box<SqlExpr>,
        modifier: &'static str,
    },
    /// `expr.in_([...])` / `expr.not_in([...])`: the values are literals of
    /// one Python type (SQLAlchemy renders them all with the first one's).
    In {
        expr: Box<SqlExpr>,
        negate: bool,
        values: Vec<SqlExpr>,
    },
    /// A unary operator: `-x` (`"-"`) or `NOT (x)` (`"NOT"`).
    Unary {
        op: &'static str,
        operand: Box<SqlExpr>,
    },
    /// SQLAlchemy's `AsBoolean`: a Boolean value tested as a condition
    /// (`x` / `NOT x`, or `x = 1` / `x = 0` without a native boolean).
    AsBool {
        expr: Box<SqlExpr>,
        negate: bool,
    },
    /// `like()`/`ilike()` and their negations, with `escape=`.
    Like {
        expr: Box<SqlExpr>,
        pattern: Box<SqlExpr>,
        negate: bool,
        ilike: bool,
        escape: Option<String>,
    },
    Between {
        expr: Box<SqlExpr>,
        low: Box<SqlExpr>,
        high: Box<SqlExpr>,
        negate: bool,
    },
    /// `sa.case(...)`: `value=` makes it `CASE value WHEN ...`.
    Case {
        value: Option<Box<SqlExpr>>,
        whens: Vec<(SqlExpr, SqlExpr)>,
        else_: Option<Box<SqlExpr>>,
    },
    Cast {
        expr: Box<SqlExpr>,
        type_: SqlType,
    },
    /// `expr.label(name)`, and the anonymous labels of a subquery's columns.
    Label {
        expr: Box<SqlExpr>,
        name: String,
    },
    /// `select(...).scalar_subquery()`.
    Subquery(Box<Select>),
    /// `exists(...)` / `select(...).exists()`.
    Exists(Box<Select>),
    /// `expr.in_(select(...))` / `not_in`.
    InSelect {
        expr: Box<SqlExpr>,
        negate: bool,
        select: Box<Select>,
    },
}

/// Which Python class a column expression is: a `Column` (of a `Table`)
/// subclasses `ColumnClause` (of a `table()`), so Python tries its reflected
/// operator first: `clause_col == table_col` is `table_col.__eq__(...)` and
/// renders `table.b = clause.a`. Only operator dispatch reads it; it is not
/// part of the expression (every `ColumnClass` equals every other).
#[derive(Debug, Clone, Copy, Default)]
pub struct ColumnClass {
    pub table_column: bool,
}

impl PartialEq for ColumnClass {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// A Python value bound into SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    Bool(bool),
    Int(i64),
    /// A float with Python's `repr` of it.
    Float(String),
    Str(String),
    Bytes(Vec<u8>),
    Decimal(String),
    Date(i64, u32, u32),
    DateTime(i64, u32, u32, u32, u32, u32, u32),
    /// A timezone-aware `datetime.datetime(..., tzinfo=...)`: the fields
    /// as written and the UTC offset in seconds.
    DateTimeTz(i32, u32, u32, u32, u32, u32, u32, i32),
    Time(u32, u32, u32, u32),
    /// `datetime.timedelta(...)`, normalised as Python normalises it
    /// (`0 <= seconds < 86400`, `0 <= micros < 1_000_000`).
    Interval {
        days: i32,
        seconds: i32,
        micros: i32,
    },
    /// `uuid.UUID(...)`: lower-case hex with hyphens.
    Uuid(String),
    /// A Python list bound to an `ARRAY` column.
    Array(Vec<Literal>),
    /// A value bound to a `JSON`/`JSONB` column: its `json.dumps` text.
    Json(String),
}
