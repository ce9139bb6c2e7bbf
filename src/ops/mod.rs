//! Operations: the typed model of what a revision's `upgrade()` and
//! `downgrade()` do, lowered from the body AST by a small evaluator
//! ([`eval`]). This module never renders SQL; `sql` does that.

mod eval;

use crate::syntax::body::{line_col, parse_module, parse_module_skipping, Span};
use std::fmt;
use std::path::Path;

/// The operations of one revision file.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub upgrade: Vec<Op>,
    pub downgrade: Vec<Op>,
}

/// Parses a revision file and lowers both of its functions to operations.
/// Every problem found is reported, each with its file, line and column.
pub fn parse_migration(path: &Path, source: &str) -> Result<Migration, MigrationError> {
    lower(path, source, parse_module(source))
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
    path: &Path,
    source: &str,
    function: Function,
) -> Result<Migration, MigrationError> {
    let other = match function {
        Function::Upgrade => "downgrade",
        Function::Downgrade => "upgrade",
    };
    lower(path, source, parse_module_skipping(source, &[other]))
}

fn lower(
    path: &Path,
    source: &str,
    module: Result<crate::syntax::body::Module, crate::syntax::body::SyntaxError>,
) -> Result<Migration, MigrationError> {
    let module = match module {
        Ok(module) => module,
        Err(e) => return Err(MigrationError::syntax(path, source, &e)),
    };
    let lowered = eval::lower_module(&module);
    if lowered.problems.is_empty() {
        return Ok(Migration {
            upgrade: lowered.upgrade,
            downgrade: lowered.downgrade,
        });
    }
    let display_path = path.display().to_string();
    let problems = lowered
        .problems
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
    Err(MigrationError {
        path: display_path,
        problems,
    })
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
        let end = source[e.offset.min(source.len())..]
            .chars()
            .next()
            .map_or(e.offset, |c| e.offset + c.len_utf8());
        let snippet = pest::Span::new(source, e.offset.min(source.len()), end.min(source.len()))
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
    },
    DropColumn {
        table: String,
        schema: Option<String>,
        column: String,
    },
    AlterColumn(AlterColumn),
    CreateIndex(Index),
    DropIndex {
        name: String,
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
    pub comment: Option<String>,
    pub unique: bool,
    pub index: bool,
    pub foreign_keys: Vec<ForeignKey>,
    /// Column-level `CheckConstraint`s, rendered inline.
    pub checks: Vec<Constraint>,
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
    Boolean,
    DateTime {
        timezone: bool,
    },
    Date,
    Time {
        timezone: bool,
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
    },
    Uuid {
        native: bool,
    },
    Interval,
    Array(Box<SqlType>),
    Inet,
    Cidr,
    Citext,
    Bytea,
    /// PostgreSQL `TIMESTAMP(timezone=..., precision=...)`.
    Timestamp {
        timezone: bool,
        precision: Option<u32>,
    },
    /// A type whose class was not given (`sa.column('x')`): NullType.
    Null,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub name: Option<String>,
    pub kind: ConstraintKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConstraintKind {
    PrimaryKey {
        columns: Vec<String>,
    },
    Unique {
        columns: Vec<String>,
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

#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub name: Option<String>,
    pub table: String,
    pub schema: Option<String>,
    pub expressions: Vec<IndexExpr>,
    pub unique: bool,
    pub if_not_exists: bool,
    pub postgresql_where: Option<String>,
    pub postgresql_using: Option<String>,
    pub postgresql_concurrently: bool,
    pub sqlite_where: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IndexExpr {
    Column(String),
    Text(String),
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
    Insert {
        table: TableClause,
        values: Vec<(String, SqlExpr)>,
    },
    Update {
        table: TableClause,
        values: Vec<(String, SqlExpr)>,
        where_: Option<SqlExpr>,
    },
    Delete {
        table: TableClause,
        where_: Option<SqlExpr>,
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
        name: String,
        type_: SqlType,
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
    Time(u32, u32, u32, u32),
}
