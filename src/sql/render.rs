//! Renders operations as the DDL and DML text SQLAlchemy compiles for each
//! dialect, statement by statement, as Alembic emits them.

use super::dialect::SqlDialect;
use super::{Dialect, Reflector, SqlError, Statement, Value};
use crate::ops::*;

mod dml;

/// Renders operations for a dialect. `reflector` reads a live table for
/// batch mode; offline it is `None`. Online, the statements rendered before a
/// reflection are executed through the reflector and not returned (see
/// [`Reflector`]).
pub fn render_ops(
    ops: &[Op],
    dialect: Dialect,
    reflector: Option<&mut dyn Reflector>,
) -> Result<Vec<Statement>, SqlError> {
    render_ops_with_memo(ops, dialect, reflector, &mut TypeMemo::new())
}

/// [`render_ops`] with the named types the run's tables created so far
/// (`memo`, updated): SQLAlchemy's `CREATE TABLE` creates a table's enum and
/// domain types through a DDL runner whose memo Alembic keeps for the whole
/// run, so a type a table of the run already created is not created again.
pub fn render_ops_with_memo(
    ops: &[Op],
    dialect: Dialect,
    mut reflector: Option<&mut dyn Reflector>,
    memo: &mut TypeMemo,
) -> Result<Vec<Statement>, SqlError> {
    let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Render);
    let mut r = Renderer {
        d: dialect.sql(),
        online: reflector.is_some(),
        out: Vec::new(),
        memo: std::mem::take(memo),
        generic_computed: true,
        no_tables: false,
    };
    let result = render_all(&mut r, ops, &mut reflector);
    *memo = std::mem::take(&mut r.memo);
    result
}

fn render_all(
    r: &mut Renderer,
    ops: &[Op],
    reflector: &mut Option<&mut dyn Reflector>,
) -> Result<Vec<Statement>, SqlError> {
    for op in ops {
        let res = r.op(op, reflector);
        if let Err(e) = res {
            return Err(with_emitted(e, std::mem::take(&mut r.out)));
        }
    }
    Ok(std::mem::take(&mut r.out))
}

fn with_emitted(e: Fail, emitted: Vec<Statement>) -> SqlError {
    match e {
        Fail::Failed(message) => SqlError::Failed { message, emitted },
        Fail::Exception(exception, message) => SqlError::Exception {
            exception,
            message,
            emitted,
        },
    }
}

enum Fail {
    Failed(String),
    Exception(String, String),
}

const NO_ALTER_CONSTRAINT: &str = "No support for ALTER of constraints in SQLite dialect. Please refer to the batch mode feature which allows for SQLite migrations using a copy-and-move strategy.";

struct Renderer {
    d: &'static dyn SqlDialect,
    /// Whether a live database is behind the run (a reflector was given):
    /// Alembic then binds parameters instead of rendering literals, which
    /// changes how `bulk_insert` treats rows with differing keys.
    online: bool,
    out: Vec<Statement>,
    /// The enum and domain types tables of the run created (see
    /// [`render_ops_with_memo`]).
    memo: TypeMemo,
    /// Whether `sa.Computed` renders as SQLAlchemy's generic compiler does
    /// (`STORED`/`VIRTUAL` only when `persisted` says so): everywhere but
    /// online on PostgreSQL before 18, where it is always `STORED`.
    generic_computed: bool,
    /// Columns render without their table (`include_table=False`), as in
    /// a CHECK constraint's expression.
    no_tables: bool,
}

/// A CHECK constraint's SQL expression (`op.create_check_constraint(name,
/// table, sa.column("x") > 0)`) as SQLAlchemy's DDL compiler renders it:
/// literal values inline, columns without their table.
pub fn check_expression(e: &SqlExpr, dialect: Dialect) -> String {
    let r = Renderer {
        d: dialect.sql(),
        online: false,
        out: Vec::new(),
        memo: TypeMemo::new(),
        generic_computed: true,
        no_tables: true,
    };
    r.expr(e)
}

/// The named types (`(is a domain, schema, name)`) that `CREATE TABLE`
/// statements of a run created through SQLAlchemy's DDL runner.
pub type TypeMemo = std::collections::BTreeSet<TypeKey>;

/// A named type in a [`TypeMemo`]: is it a domain, its schema, its name.
pub type TypeKey = (bool, Option<String>, String);

/// Whether a type has SQLAlchemy's `Numeric` or `Float` affinity (its own
/// type is the divisor's cast then).
fn is_float_or_numeric(t: &SqlType) -> bool {
    match t {
        SqlType::Float { .. } | SqlType::Numeric { .. } | SqlType::Double => true,
        SqlType::Named(n) => matches!(n.as_str(), "REAL" | "DOUBLE" | "DOUBLE PRECISION" | "FLOAT"),
        _ => false,
    }
}

/// SQLAlchemy's `_PRECEDENCE` for the operators aurora's expressions use
/// (an unknown one binds loosest, so it is always grouped).
fn precedence(op: &str) -> i32 {
    match op {
        "*" | "/" | "//" | "%" => 8,
        "+" | "-" => 7,
        "||" | "=" | "!=" | "<" | "<=" | ">" | ">=" | "IS" | "IS NOT" | "LIKE" | "NOT LIKE"
        | "ILIKE" | "NOT ILIKE" | "IN" | "NOT IN" | "BETWEEN" | "NOT" => 5,
        "neg" => 8,
        "AND" => 3,
        "OR" => 2,
        _ => i32::MIN,
    }
}

/// SQLAlchemy's `operators.is_precedent`: whether an expression of `op`
/// placed under `against` is parenthesized. The associative operators
/// (`+`, `*`, `||`, `AND`, `OR`) are not under themselves: SQLAlchemy
/// flattens `a + (b + c)` into one list.
fn is_precedent(op: &str, against: Option<&str>) -> bool {
    match against {
        Some(a) if a == op && matches!(op, "+" | "*" | "||" | "AND" | "OR") => false,
        None => true,
        Some(a) => precedence(op) <= precedence(a),
    }
}

/// Quotes an identifier the way SQLAlchemy's preparer does: when it is a
/// reserved word, not all lower case, or has characters outside
/// `[a-z0-9_$]` or a leading digit or `$`.
pub(crate) fn quote(name: &str, d: &dyn SqlDialect) -> String {
    let lower = name.to_lowercase();
    let reserved = d.reserved_words();
    let first_bad = name
        .chars()
        .next()
        .map(|c| c.is_ascii_digit() || c == '$')
        .unwrap_or(true);
    let legal = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if reserved.contains(&lower.as_str()) || first_bad || !legal || lower != name {
        format!("\"{}\"", name.replace('"', "\"\""))
    } else {
        name.to_string()
    }
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Renderer {
    fn q(&self, name: &str) -> String {
        quote(name, self.d)
    }

    fn table_name(&self, name: &str, schema: &Option<String>) -> String {
        match schema {
            Some(s) => format!("{}.{}", self.q(s), self.q(name)),
            None => self.q(name),
        }
    }

    /// One statement as SQLAlchemy compiles it, tabs included: online it is executed as it is
    /// (SQLite keeps that text in `sqlite_master`, and a tab inside an `op.execute` string is
    /// data); offline output turns tabs into four spaces as Alembic's `--sql` writer does.
    fn emit(&mut self, sql: String) {
        self.out.push(Statement::Sql(sql.trim().to_string()));
    }

    /// A named type's DDL under the run's memo (see [`Statement::NamedType`]).
    fn emit_named_type(&mut self, key: TypeKey, sql: String) {
        self.out.push(Statement::NamedType {
            key,
            sql: sql.trim().to_string(),
        });
    }

    fn op(&mut self, op: &Op, reflector: &mut Option<&mut dyn Reflector>) -> Result<(), Fail> {
        self.computed_columns(op, reflector)?;
        match op {
            Op::CreateTable(t) => self.create_table(t)?,
            Op::DropTable {
                name,
                schema,
                if_exists,
            } => {
                let ie = if *if_exists { "IF EXISTS " } else { "" };
                let sql = format!("DROP TABLE {ie}{}", self.table_name(name, schema));
                self.emit(sql);
            }
            Op::AddColumn {
                table,
                schema,
                column,
                if_not_exists,
            } => self.add_column(table, schema, column, *if_not_exists)?,
            Op::DropColumn {
                table,
                schema,
                column,
                if_exists,
            } => {
                let sql = format!(
                    "ALTER TABLE {} DROP COLUMN {}{}",
                    self.table_name(table, schema),
                    if *if_exists { "IF EXISTS " } else { "" },
                    self.q(column)
                );
                self.emit(sql);
            }
            Op::AlterColumn(a) => self.alter_column(a)?,
            Op::CreateIndex(i) => self.create_index(i)?,
            Op::DropIndex {
                name,
                conv_name,
                schema,
                if_exists,
                concurrently,
                ..
            } => {
                let name = &self.limited_name(name, *conv_name)?;
                let mut sql = "DROP INDEX ".to_string();
                if *concurrently && self.d.postgresql_index_options() {
                    sql.push_str("CONCURRENTLY ");
                }
                if *if_exists {
                    sql.push_str("IF EXISTS ");
                }
                sql.push_str(&self.table_name(name, schema));
                self.emit(sql);
            }
            Op::AddConstraint {
                table,
                schema,
                constraint,
            } => {
                if !self.d.alter_constraints() {
                    return Err(Fail::Exception(
                        "NotImplementedError".into(),
                        NO_ALTER_CONSTRAINT.into(),
                    ));
                }
                if let Some(n) = &constraint.name {
                    self.limited_name(n, false)?;
                }
                // Alembic builds the constraint on a stub table of its own
                // columns, where PostgreSQL's compiler cannot find another
                // INCLUDE column.
                if let ConstraintKind::PrimaryKey { columns }
                | ConstraintKind::Unique { columns, .. } = &constraint.kind
                {
                    let missing = constraint
                        .options
                        .include
                        .iter()
                        .find(|c| !columns.contains(c));
                    if let (Some(missing), true) =
                        (missing, self.d.constraint_include_and_not_valid())
                    {
                        return Err(Fail::Exception("KeyError".into(), format!("'{missing}'")));
                    }
                }
                let body = self.constraint(constraint, false);
                let sql = format!("ALTER TABLE {} ADD {body}", self.table_name(table, schema));
                self.emit(sql);
            }
            Op::DropConstraint {
                name,
                table,
                schema,
                if_exists,
                ..
            } => {
                if !self.d.alter_constraints() {
                    return Err(Fail::Exception(
                        "NotImplementedError".into(),
                        NO_ALTER_CONSTRAINT.into(),
                    ));
                }
                let Some(name) = name else {
                    return Err(Fail::Exception(
                        "sqlalchemy.exc.CompileError".into(),
                        format!("Can't emit DROP CONSTRAINT for a constraint of table '{table}'; it has no name"),
                    ));
                };
                self.limited_name(name, false)?;
                let sql = format!(
                    "ALTER TABLE {} DROP CONSTRAINT {}{}",
                    self.table_name(table, schema),
                    if *if_exists { "IF EXISTS " } else { "" },
                    self.q(name)
                );
                self.emit(sql);
            }
            Op::RenameTable { old, new, schema } => {
                let sql = format!(
                    "ALTER TABLE {} RENAME TO {}",
                    self.table_name(old, schema),
                    self.q(new)
                );
                self.emit(sql);
            }
            Op::CreateTableComment {
                table,
                schema,
                comment,
            } => {
                let sql = format!(
                    "COMMENT ON TABLE {} IS {}",
                    self.table_name(table, schema),
                    quote_str(comment)
                );
                self.emit(sql);
            }
            Op::DropTableComment { table, schema } => {
                let sql = format!(
                    "COMMENT ON TABLE {} IS NULL",
                    self.table_name(table, schema)
                );
                self.emit(sql);
            }
            Op::CreateEnum {
                name,
                schema,
                values,
            } => {
                if self.d.native_enum() {
                    let vals: Vec<String> = values.iter().map(|v| quote_str(v)).collect();
                    let sql = format!(
                        "CREATE TYPE {} AS ENUM ({})",
                        self.table_name(name, schema),
                        vals.join(", ")
                    );
                    self.emit(sql);
                }
            }
            Op::DropEnum { name, schema } => {
                if self.d.native_enum() {
                    let sql = format!("DROP TYPE {}", self.table_name(name, schema));
                    self.emit(sql);
                }
            }
            Op::Execute(e) => {
                let sql = self.executable(e)?;
                self.emit(sql);
            }
            Op::BulkInsert {
                table,
                rows,
                multiinsert,
            } => self.bulk_insert(table, rows, *multiinsert)?,
            Op::Batch(b) => self.batch(b, reflector)?,
            Op::Print(text) => self.out.push(Statement::Print(text.clone())),
            Op::Log {
                logger,
                level,
                message,
            } => {
                self.out.push(Statement::Log {
                    logger: logger.clone(),
                    level: *level,
                    message: message.clone(),
                });
            }
            Op::Autocommit(inner) => {
                self.out.push(Statement::AutocommitBegin);
                for o in inner {
                    self.op(o, reflector)?;
                }
                self.out.push(Statement::AutocommitEnd);
            }
        }
        Ok(())
    }

    // ----- types -----

    fn type_sql(&self, t: &SqlType) -> String {
        match t {
            SqlType::Integer => "INTEGER".into(),
            SqlType::BigInteger => "BIGINT".into(),
            SqlType::SmallInteger => "SMALLINT".into(),
            SqlType::String(Some(n)) => format!("VARCHAR({n})"),
            SqlType::String(None) => "VARCHAR".into(),
            SqlType::Char(Some(n)) => format!("CHAR({n})"),
            SqlType::Char(None) => "CHAR".into(),
            SqlType::Text => "TEXT".into(),
            SqlType::Boolean { .. } => "BOOLEAN".into(),
            SqlType::DateTime { timezone } => self.d.datetime_type(*timezone),
            SqlType::Timestamp {
                timezone,
                precision,
            } => self.d.timestamp_type(*timezone, *precision),
            SqlType::Date => "DATE".into(),
            SqlType::Time {
                timezone,
                precision,
            } => self.d.time_type(*timezone, *precision),
            SqlType::Float { precision } => self.d.float_type(*precision),
            SqlType::Named(n) => n.clone(),
            SqlType::Numeric { precision, scale } => match (precision, scale) {
                (Some(p), Some(s)) => format!("NUMERIC({p}, {s})"),
                (Some(p), None) => format!("NUMERIC({p})"),
                _ => "NUMERIC".into(),
            },
            SqlType::Json => "JSON".into(),
            SqlType::Jsonb => "JSONB".into(),
            SqlType::LargeBinary => self.d.large_binary_type(),
            SqlType::Enum {
                values,
                name,
                schema,
                native,
                length,
                ..
            } => {
                if self.d.native_enum() && *native && name.is_some() {
                    self.table_name(name.as_deref().unwrap_or_default(), schema)
                } else {
                    let longest =
                        values.iter().map(|v| v.chars().count()).max().unwrap_or(0) as u32;
                    format!("VARCHAR({})", length.unwrap_or(longest))
                }
            }
            SqlType::Uuid {
                native, class_uuid, ..
            } => {
                if *class_uuid || (self.d.native_uuid() && *native) {
                    "UUID".into()
                } else {
                    "CHAR(32)".into()
                }
            }
            SqlType::Interval {
                native,
                precision,
                fields,
                ..
            } => self.d.interval_type(*native, *precision, fields.as_deref()),
            SqlType::Double => self.d.double_type(),
            SqlType::Array(item) => format!("{}[]", self.type_sql(item)),
            SqlType::PgOnly { sql, .. } => sql.clone(),
            SqlType::Domain(d) => self.table_name(&d.name, &d.schema),
            SqlType::Null => "NULL".into(),
        }
    }

    /// SQLAlchemy's SQLite type compiler has no rule for PostgreSQL's own
    /// types (and arrays, domains): compiling a column of such a type raises
    /// `UnsupportedCompilationError`, an uncaught exception in Alembic.
    fn check_type(&self, column: &str, t: &SqlType) -> Result<(), Fail> {
        if self.d.compiles_postgresql_types() {
            return Ok(());
        }
        let class = match t {
            SqlType::PgOnly { class, .. } => class.as_str(),
            SqlType::Interval {
                postgresql: true, ..
            } => "INTERVAL",
            SqlType::Array(_) => "ARRAY",
            SqlType::Domain(_) => "DOMAIN",
            _ => return Ok(()),
        };
        Err(Fail::Exception(
            "UnsupportedCompilationError".into(),
            format!(
                "the SQLite dialect cannot render the PostgreSQL type {class} (column '{column}'); \
                 SQLAlchemy's SQLite type compiler has no rule for it"
            ),
        ))
    }

    fn check_table_types(&self, t: &Table) -> Result<(), Fail> {
        t.columns
            .iter()
            .try_for_each(|c| self.check_type(&c.name, &c.type_))
    }

    // ----- defaults and expressions -----

    fn default_sql(&self, d: &DefaultValue) -> String {
        match d {
            DefaultValue::Str(s) => quote_str(s),
            DefaultValue::Text(t) => t.clone(),
            DefaultValue::Expr(e) => self.expr(e),
        }
    }

    fn expr(&self, e: &SqlExpr) -> String {
        match e {
            SqlExpr::Column {
                table,
                schema,
                name,
                ..
            } => match (schema, table.as_ref().filter(|_| !self.no_tables)) {
                (Some(s), Some(t)) => format!("{}.{}.{}", self.q(s), self.q(t), self.q(name)),
                (None, Some(t)) => format!("{}.{}", self.q(t), self.q(name)),
                (_, None) => self.q(name),
            },
            SqlExpr::Literal(l) | SqlExpr::InlineLiteral(l) => self.literal(l),
            // SQLAlchemy 2's true division: the divisor cast to a
            // non-integer type (`visit_truediv_binary`).
            SqlExpr::Binary {
                op: "/",
                left,
                right,
            } => {
                let divisor = self.grouped(right, Some("/"));
                // A Python float is bound as `Double` (`type_of`).
                let right_type = type_of(right);
                let cast_to = if is_float_or_numeric(&right_type) {
                    self.type_sql(&right_type)
                } else {
                    "NUMERIC".to_string()
                };
                format!(
                    "{} / {}",
                    self.grouped(left, Some("/")),
                    self.d.true_divisor(&divisor, &cast_to)
                )
            }
            // `//`: integer division where both sides are integers, else
            // `FLOOR(a / b)` (`visit_floordiv_binary`).
            SqlExpr::Binary {
                op: "//",
                left,
                right,
            } => {
                let inner = format!(
                    "{} / {}",
                    self.grouped(left, Some("/")),
                    self.grouped(right, Some("/"))
                );
                let int = |t: SqlType| {
                    matches!(
                        t,
                        SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger
                    )
                };
                if int(type_of(left)) && int(type_of(right)) {
                    inner
                } else {
                    format!("FLOOR({inner})")
                }
            }
            SqlExpr::Binary { op, left, right } => format!(
                "{} {op} {}",
                self.grouped(left, Some(op)),
                self.grouped(right, Some(op))
            ),
            SqlExpr::Func { name, args } => {
                let lname = name.to_lowercase();
                if self.d.now_is_current_timestamp() && lname == "now" && args.is_empty() {
                    return "CURRENT_TIMESTAMP".into();
                }
                if args.is_empty()
                    && matches!(
                        lname.as_str(),
                        "current_timestamp"
                            | "current_date"
                            | "current_time"
                            | "localtime"
                            | "localtimestamp"
                            | "current_user"
                    )
                {
                    return name.to_uppercase();
                }
                let a: Vec<String> = args.iter().map(|x| self.expr(x)).collect();
                format!("{name}({})", a.join(", "))
            }
            SqlExpr::Bool(b) => self.d.bool_literal(*b).into(),
            SqlExpr::Text(t) => t.clone(),
            SqlExpr::Null => "NULL".into(),
            // SQLAlchemy's UnaryExpression does not group its operand here
            // (`end_time - start_time DESC`).
            SqlExpr::Ordered { expr, modifier } => format!("{} {modifier}", self.expr(expr)),
            // SQLAlchemy's expanding IN parameter under literal_binds; an
            // empty list takes the dialect's empty-set form, and NOT IN is
            // always bracketed (`visit_not_in_op_binary`).
            SqlExpr::In {
                expr,
                negate,
                values,
            } => {
                let set = if values.is_empty() {
                    self.d.empty_in_set(*negate).to_string()
                } else {
                    let v: Vec<String> = values.iter().map(|x| self.expr(x)).collect();
                    v.join(", ")
                };
                if *negate {
                    format!("({} NOT IN ({set}))", self.expr(expr))
                } else {
                    format!("{} IN ({set})", self.expr(expr))
                }
            }
            other => self.dml_expr(other),
        }
    }

    /// `e` as SQLAlchemy places it under an operator (`against`; `None`:
    /// standing alone, as a value of `SET` or `VALUES`): a binary
    /// expression is parenthesized when its operator does not bind tighter
    /// (`self_group`), so `(a + 1) * 2` and `(x OR y) AND z` keep their meaning.
    fn grouped(&self, e: &SqlExpr, against: Option<&str>) -> String {
        match e {
            SqlExpr::Binary { op, .. } if is_precedent(op, against) => {
                format!("({})", self.expr(e))
            }
            _ if Self::dml_is_grouped(e, against) => format!("({})", self.expr(e)),
            _ => self.expr(e),
        }
    }

    /// An index expression: compiled with `include_table=False`; PostgreSQL
    /// groups what is not a column or function (`(a + 1)`), SQLite does not.
    fn index_expr(&self, e: &SqlExpr) -> String {
        fn untabled(e: &SqlExpr) -> SqlExpr {
            match e {
                SqlExpr::Column {
                    name, type_, class, ..
                } => SqlExpr::Column {
                    class: *class,
                    table: None,
                    schema: None,
                    name: name.clone(),
                    type_: type_.clone(),
                },
                SqlExpr::Binary { op, left, right } => SqlExpr::Binary {
                    op,
                    left: Box::new(untabled(left)),
                    right: Box::new(untabled(right)),
                },
                SqlExpr::Func { name, args } => SqlExpr::Func {
                    name: name.clone(),
                    args: args.iter().map(untabled).collect(),
                },
                SqlExpr::Ordered { expr, modifier } => SqlExpr::Ordered {
                    expr: Box::new(untabled(expr)),
                    modifier,
                },
                SqlExpr::In {
                    expr,
                    negate,
                    values,
                } => SqlExpr::In {
                    expr: Box::new(untabled(expr)),
                    negate: *negate,
                    values: values.clone(),
                },
                other => other.clone(),
            }
        }
        let e = untabled(e);
        if self.d.parenthesizes_index_expressions() {
            // An index element stands alone: grouped as SET values are.
            self.grouped(&e, None)
        } else {
            self.expr(&e)
        }
    }

    /// `CREATE SEQUENCE`'s name and options, as SQLAlchemy's DDL compiler
    /// writes them.
    fn create_sequence(&self, seq: &Sequence, if_not_exists: bool) -> String {
        let mut s = String::from("CREATE SEQUENCE ");
        if if_not_exists {
            s.push_str("IF NOT EXISTS ");
        }
        s.push_str(&self.table_name(&seq.name, &seq.schema));
        if self.d.sequence_data_type() {
            if let Some(t) = &seq.data_type {
                s.push_str(&format!(" AS {}", self.type_sql(t)));
            }
        }
        let options = sequence_options(seq);
        if !options.is_empty() {
            s.push(' ');
            s.push_str(&options.join(" "));
        }
        s
    }

    /// A Python value rendered as a SQL literal, as `literal_binds` does.
    fn literal(&self, l: &Literal) -> String {
        let short_us = self.d.omits_zero_microseconds();
        match l {
            Literal::Null => "NULL".into(),
            Literal::Bool(b) => self.d.bool_literal(*b).into(),
            Literal::Int(i) => i.to_string(),
            Literal::Float(s) => s.clone(),
            Literal::Str(s) => quote_str(s),
            Literal::Bytes(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                self.d.bytes_literal(&hex)
            }
            Literal::Decimal(s) => s.clone(),
            Literal::Date(y, m, d) => format!("'{y:04}-{m:02}-{d:02}'"),
            Literal::DateTime(y, mo, d, h, mi, s, us) => {
                if short_us {
                    if *us > 0 {
                        format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'")
                    } else {
                        format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}'")
                    }
                } else {
                    format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}'")
                }
            }
            Literal::DateTimeTz(y, mo, d, h, mi, s, us, offset) => {
                // Online psycopg2 adapts an aware datetime as its isoformat
                // cast to timestamptz; offline SQLAlchemy renders `str()` of it.
                let fraction = if *us > 0 {
                    format!(".{us:06}")
                } else {
                    String::new()
                };
                let sign = if *offset < 0 { '-' } else { '+' };
                let o = offset.unsigned_abs();
                let mut zone = format!("{sign}{:02}:{:02}", o / 3600, o / 60 % 60);
                if o % 60 != 0 {
                    zone.push_str(&format!(":{:02}", o % 60));
                }
                if self.online {
                    format!("'{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}{zone}'::timestamptz")
                } else {
                    format!("'{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{fraction}{zone}'")
                }
            }
            // psycopg2's adapter online, PostgreSQL's INTERVAL literal
            // processor offline (the evaluator refuses other dialects).
            Literal::Interval {
                days,
                seconds,
                micros,
            } => {
                if self.online {
                    format!("'{days} days {seconds}.{micros:06} seconds'::interval")
                } else {
                    // Python's `timedelta.total_seconds()`: one correctly
                    // rounded division of the microseconds.
                    let total =
                        (*days as i64 * 86_400 + *seconds as i64) * 1_000_000 + *micros as i64;
                    format!(
                        "make_interval(secs=>{})",
                        crate::ops::py_float_repr(total as f64 / 1e6)
                    )
                }
            }
            Literal::Time(h, mi, s, us) => {
                if short_us {
                    if *us > 0 {
                        format!("'{h:02}:{mi:02}:{s:02}.{us:06}'")
                    } else {
                        format!("'{h:02}:{mi:02}:{s:02}'")
                    }
                } else {
                    format!("'{h:02}:{mi:02}:{s:02}.{us:06}'")
                }
            }
            // Native UUIDs bind hyphenated; elsewhere `Uuid` binds the
            // 32 hex digits (see `bound_literal`).
            Literal::Uuid(u) if self.d.native_uuid() => quote_str(u),
            Literal::Uuid(u) => quote_str(&u.replace('-', "")),
            // psycopg2 adapts a list as ARRAY[...], the empty list as '{}'.
            // SQLAlchemy's ARRAY literal processor renders `ARRAY[]` offline.
            Literal::Array(xs) if xs.is_empty() && self.online => "'{}'".into(),
            Literal::Array(xs) => format!(
                "ARRAY[{}]",
                xs.iter()
                    .map(|x| self.literal(x))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Literal::Json(text) => quote_str(text),
        }
    }

    // ----- tables -----

    /// SQLAlchemy's `PrimaryKeyConstraint._autoincrement_column`: the one
    /// primary key column marked `autoincrement=True`, or, for a
    /// single-column key left at "auto", that column when it is an integer
    /// without a server default or foreign key. Raises SQLAlchemy's
    /// `ArgumentError`s for columns that cannot autoincrement.
    fn autoinc_column(
        &self,
        table: &str,
        columns: &[Column],
        pk_cols: &[String],
    ) -> Result<Option<String>, Fail> {
        let pk: Vec<&Column> = pk_cols
            .iter()
            .filter_map(|n| columns.iter().find(|c| &c.name == n))
            .collect();
        if let [c] = pk.as_slice() {
            return match c.autoincrement {
                Some(true) => {
                    self.validate_autoinc(table, c)?;
                    Ok(Some(c.name.clone()))
                }
                Some(false) => Ok(None),
                None => Ok((is_integer(&c.type_)
                    && c.server_default.is_none()
                    && !matches!(c.default, Some(PythonDefault::Other))
                    && (c.foreign_keys.is_empty() || c.autoincrement_ignore_fk))
                    .then(|| c.name.clone())),
            };
        }
        let mut found: Option<&Column> = None;
        for c in pk {
            if c.autoincrement == Some(true) {
                self.validate_autoinc(table, c)?;
                if let Some(first) = found {
                    return Err(Fail::Exception(
                        "sqlalchemy.exc.ArgumentError".into(),
                        format!(
                            "Only one Column may be marked autoincrement=True, found both {} and {}.",
                            c.name, first.name
                        ),
                    ));
                }
                found = Some(c);
            }
        }
        Ok(found.map(|c| c.name.clone()))
    }

    fn validate_autoinc(&self, table: &str, c: &Column) -> Result<(), Fail> {
        let scale = match &c.type_ {
            t if is_integer(t) => return Ok(()),
            SqlType::Numeric { scale: Some(0), .. } => return Ok(()),
            SqlType::Numeric { scale, .. } => {
                Some(scale.map_or("None".to_string(), |s| s.to_string()))
            }
            SqlType::Float { .. } | SqlType::Double => Some("None".to_string()),
            SqlType::Named(n) if affinity(&c.type_) == "numeric" && !n.starts_with("DECIMAL(") => {
                Some("None".to_string())
            }
            _ => None,
        };
        let ty = self.type_sql(&c.type_);
        let message = match scale {
            Some(scale) => format!(
                "Column type {ty} with non-zero scale {scale} on column '{table}.{}' is not compatible with autoincrement=True",
                c.name
            ),
            None => format!(
                "Column type {ty} on column '{table}.{}' is not compatible with autoincrement=True",
                c.name
            ),
        };
        Err(Fail::Exception(
            "sqlalchemy.exc.ArgumentError".into(),
            message,
        ))
    }

    fn column_spec(
        &self,
        c: &Column,
        pk_cols: &[String],
        autoinc: Option<&str>,
        sqlite_autoincrement: bool,
    ) -> String {
        let in_pk = pk_cols.contains(&c.name);
        let nullable = c.nullable.unwrap_or(!in_pk);
        let (identity, computed) = match c.identity.as_deref() {
            Some(Generated::Identity(i)) => (Some(i).filter(|_| self.d.identity_columns()), None),
            Some(Generated::Computed(g)) => (None, Some(g)),
            None => (None, None),
        };
        let mut s = self.q(&c.name);
        s.push(' ');
        // SERIAL stands in for no client default or an optional Sequence.
        let serial_default = match &c.default {
            None => true,
            Some(PythonDefault::Sequence(seq)) => seq.optional,
            Some(PythonDefault::Other) => false,
        };
        if self.d.serial_columns()
            && in_pk
            && autoinc == Some(c.name.as_str())
            && serial_default
            && identity.is_none()
        {
            s.push_str(match c.type_ {
                SqlType::BigInteger => "BIGSERIAL",
                SqlType::SmallInteger => "SMALLSERIAL",
                _ => "SERIAL",
            });
        } else {
            s.push_str(&self.type_sql(&c.type_));
            if let Some(d) = &c.server_default {
                let text = self.default_sql(d);
                if self.d.parenthesizes_expression_defaults()
                    && !matches!(d, DefaultValue::Str(_))
                    && !text.trim_start().starts_with(['\'', '"', '('])
                    && text.chars().any(|ch| !(ch.is_alphanumeric() || ch == '_'))
                {
                    s.push_str(&format!(" DEFAULT ({text})"));
                } else {
                    s.push_str(&format!(" DEFAULT {text}"));
                }
            }
        }
        if let Some(g) = computed {
            s.push_str(&format!(" GENERATED ALWAYS AS ({})", g.sqltext));
            s.push_str(match g.persisted {
                Some(true) => " STORED",
                Some(false) => " VIRTUAL",
                None if !self.generic_computed => " STORED",
                None => "",
            });
        }
        // SQLAlchemy's PostgreSQL column specification: an identity column
        // is NOT NULL by itself, and says NULL when nullable.
        if let Some(i) = identity {
            s.push_str(if i.always {
                " GENERATED ALWAYS AS IDENTITY"
            } else {
                " GENERATED BY DEFAULT AS IDENTITY"
            });
            let options = sequence_options(&i.options);
            if !options.is_empty() {
                s.push_str(&format!(" ({})", options.join(" ")));
            }
            if nullable {
                s.push_str(" NULL");
            }
        } else if !nullable {
            s.push_str(" NOT NULL");
        }
        for check in &c.checks {
            s.push(' ');
            s.push_str(&self.constraint(check, true));
        }
        if self.d.inline_autoincrement_primary_key()
            && sqlite_autoincrement
            && in_pk
            && pk_cols.len() == 1
            && matches!(
                c.type_,
                SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger
            )
            && c.foreign_keys.is_empty()
        {
            s.push_str(" PRIMARY KEY AUTOINCREMENT");
        }
        s
    }

    /// Before an operation with `sa.Computed` columns, online on
    /// PostgreSQL: SQLAlchemy's dialect renders them generically from
    /// PostgreSQL 18 on; before, it says `STORED` (with a warning when
    /// `persisted` is not given) and refuses `persisted=False`.
    fn computed_columns(
        &mut self,
        op: &Op,
        reflector: &mut Option<&mut dyn Reflector>,
    ) -> Result<(), Fail> {
        fn of(c: &Column) -> Option<&Computed> {
            match c.identity.as_deref() {
                Some(Generated::Computed(g)) => Some(g),
                _ => None,
            }
        }
        fn computed(op: &Op) -> Vec<&Computed> {
            match op {
                Op::CreateTable(t) => t.columns.iter().filter_map(of).collect(),
                Op::AddColumn { column, .. } => of(column).into_iter().collect(),
                Op::Batch(b) => b.ops.iter().flat_map(computed).collect(),
                _ => Vec::new(),
            }
        }
        let found = computed(op);
        if found.is_empty() || !self.online || !self.d.identity_columns() {
            return Ok(());
        }
        let Some(r) = reflector.as_deref_mut() else {
            return Ok(());
        };
        let rows = r
            .query("SELECT current_setting('server_version_num')::int")
            .map_err(Fail::Failed)?;
        let version = match rows.first().and_then(|row| row.first()) {
            Some(Value::Integer(v)) => *v,
            _ => return Err(Fail::Failed("could not read the server's version".into())),
        };
        self.generic_computed = version >= 180000;
        if !self.generic_computed && found.iter().any(|g| g.persisted == Some(false)) {
            return Err(Fail::Exception(
                "sqlalchemy.exc.CompileError".into(),
                "PostrgreSQL computed columns do not support 'virtual' persistence; set the \
                 'persisted' flag to None or True for PostgreSQL support."
                    .into(),
            ));
        }
        Ok(())
    }

    /// The CHECK constraint SQLAlchemy adds for `col`'s
    /// `create_constraint=True` type on this dialect, if any.
    fn type_check(&self, col: &Column) -> Option<Constraint> {
        self.type_check_of(&col.name, &col.type_)
    }

    /// [`Self::type_check`] for a column named `name` of type `type_`.
    fn type_check_of(&self, name: &str, type_: &SqlType) -> Option<Constraint> {
        let (check_name, values) = type_.check_constraint(self.d.native_enum())?;
        Some(Constraint {
            options: Default::default(),
            name: check_name,
            kind: ConstraintKind::Check {
                sqltext: format!("{} IN ({})", self.q(name), values.join(", ")),
            },
        })
    }

    fn constraint(&self, c: &Constraint, in_table: bool) -> String {
        let mut s = String::new();
        if let Some(n) = &c.name {
            s.push_str(&format!("CONSTRAINT {} ", self.q(n)));
        }
        let cols = |xs: &[String]| xs.iter().map(|x| self.q(x)).collect::<Vec<_>>().join(", ");
        match &c.kind {
            ConstraintKind::PrimaryKey { columns } => {
                s.push_str(&format!("PRIMARY KEY ({})", cols(columns)));
                s.push_str(&self.include_clause(&c.options));
                s.push_str(&deferrability(c.options.deferrable, &c.options.initially));
            }
            ConstraintKind::Unique {
                columns,
                nulls_not_distinct,
            } => {
                let nulls = match (self.d.unique_nulls_distinct(), nulls_not_distinct) {
                    (true, Some(true)) => "NULLS NOT DISTINCT ",
                    (true, Some(false)) => "NULLS DISTINCT ",
                    _ => "",
                };
                s.push_str(&format!("UNIQUE {nulls}({})", cols(columns)));
                s.push_str(&self.include_clause(&c.options));
                s.push_str(&deferrability(c.options.deferrable, &c.options.initially));
            }
            ConstraintKind::Check { sqltext } => {
                s.push_str(&format!("CHECK ({sqltext})"));
                s.push_str(&deferrability(c.options.deferrable, &c.options.initially));
                s.push_str(self.not_valid_clause(&c.options));
            }
            ConstraintKind::ForeignKey {
                columns,
                ref_table,
                ref_schema,
                ref_columns,
                ondelete,
                onupdate,
                deferrable,
                initially,
            } => {
                // SQLite names the referenced table without its schema.
                let target = if self.d.unqualified_inline_foreign_keys() && in_table {
                    self.q(ref_table)
                } else {
                    self.table_name(ref_table, ref_schema)
                };
                s.push_str(&format!(
                    "FOREIGN KEY({}) REFERENCES {target} ({})",
                    cols(columns),
                    cols(ref_columns)
                ));
                if let Some(m) = &c.options.match_ {
                    s.push_str(&format!(" MATCH {m}"));
                }
                if let Some(d) = ondelete {
                    s.push_str(&format!(" ON DELETE {d}"));
                }
                if let Some(u) = onupdate {
                    s.push_str(&format!(" ON UPDATE {u}"));
                }
                s.push_str(&deferrability(*deferrable, initially));
                s.push_str(self.not_valid_clause(&c.options));
            }
        }
        let _ = in_table;
        s
    }

    /// ` INCLUDE (...)` of a PostgreSQL primary key or unique constraint.
    fn include_clause(&self, o: &crate::ops::ConstraintOptions) -> String {
        if o.include.is_empty() || !self.d.constraint_include_and_not_valid() {
            return String::new();
        }
        let cols: Vec<String> = o.include.iter().map(|x| self.q(x)).collect();
        format!(" INCLUDE ({})", cols.join(", "))
    }

    /// ` NOT VALID` of a PostgreSQL check or foreign key constraint.
    fn not_valid_clause(&self, o: &crate::ops::ConstraintOptions) -> &'static str {
        if o.not_valid && self.d.constraint_include_and_not_valid() {
            " NOT VALID"
        } else {
            ""
        }
    }

    /// The primary key columns of a table: from its PrimaryKeyConstraint, or
    /// else from `primary_key=True` columns.
    fn pk_columns(t: &Table) -> Vec<String> {
        for c in &t.constraints {
            if let ConstraintKind::PrimaryKey { columns } = &c.kind {
                return columns.clone();
            }
        }
        t.columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect()
    }

    fn create_table_sql(&self, t: &Table, display_name: &str) -> Result<String, Fail> {
        // Constraint names reach the renderer final (a convention's are
        // cut in `ops`): one too long is SQLAlchemy's IdentifierError.
        let names = t
            .constraints
            .iter()
            .chain(t.columns.iter().flat_map(|c| &c.checks))
            .filter_map(|c| c.name.as_ref())
            .chain(
                t.columns
                    .iter()
                    .flat_map(|c| c.foreign_keys.iter().filter_map(|f| f.name.as_ref())),
            );
        for n in names {
            self.limited_name(n, false)?;
        }
        let mut pk_cols = Self::pk_columns(t);
        if self.d.rejects_composite_autoincrement() && pk_cols.len() != 1 {
            if let Some(c) = t
                .columns
                .iter()
                .find(|c| pk_cols.contains(&c.name) && c.autoincrement == Some(true))
            {
                return Err(Fail::Exception(
                    "sqlalchemy.exc.CompileError".into(),
                    format!(
                        "(in table '{}', column '{}'): SQLite does not support autoincrement for composite primary keys",
                        t.name, c.name
                    ),
                ));
            }
        }
        let explicit_pk = t
            .constraints
            .iter()
            .find(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. }));
        // SQLAlchemy asks for the autoincrement column when PostgreSQL
        // renders a primary key column, and when any dialect renders the
        // primary key it made itself from `primary_key=True` columns, which
        // then lists that column first.
        let autoinc = if self.d.autoincrement_for_every_primary_key() || explicit_pk.is_none() {
            // A table-level ForeignKeyConstraint gives its columns foreign
            // keys as a column-level ForeignKey does.
            let fk_cols: Vec<&String> = t
                .constraints
                .iter()
                .flat_map(|c| match &c.kind {
                    ConstraintKind::ForeignKey { columns, .. } => columns.iter().collect(),
                    _ => Vec::new(),
                })
                .collect();
            let columns: Vec<Column> = t
                .columns
                .iter()
                .map(|c| {
                    let mut c = c.clone();
                    if c.foreign_keys.is_empty() && fk_cols.contains(&&c.name) {
                        c.foreign_keys.push(ForeignKey {
                            target: String::new(),
                            name: None,
                            ondelete: None,
                            onupdate: None,
                        });
                    }
                    c
                })
                .collect();
            self.autoinc_column(&t.name, &columns, &pk_cols)?
        } else {
            None
        };
        if explicit_pk.is_none() {
            if let Some(a) = &autoinc {
                pk_cols.retain(|c| c != a);
                pk_cols.insert(0, a.clone());
            }
        }
        let mut lines: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                format!(
                    "\t{}",
                    self.column_spec(c, &pk_cols, autoinc.as_deref(), t.sqlite_autoincrement)
                )
            })
            .collect();
        let mut constraints = Vec::new();
        // The primary key first, unless it is inline (SQLite AUTOINCREMENT).
        let pk_inline = self.d.inline_autoincrement_primary_key()
            && t.sqlite_autoincrement
            && pk_cols.len() == 1
            && t.columns.iter().any(|c| {
                c.name == pk_cols[0]
                    && matches!(
                        c.type_,
                        SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger
                    )
                    && c.foreign_keys.is_empty()
            });
        if !pk_cols.is_empty() && !pk_inline {
            let name = explicit_pk.and_then(|c| c.name.clone());
            constraints.push(self.constraint(
                &Constraint {
                    options: explicit_pk.map(|c| c.options.clone()).unwrap_or_default(),
                    name,
                    kind: ConstraintKind::PrimaryKey {
                        columns: pk_cols.clone(),
                    },
                },
                true,
            ));
        }
        // SQLite's DDL compiler leaves out a foreign key to a table of
        // another schema.
        let other_schema = |ref_schema: &Option<String>| {
            self.d.unqualified_inline_foreign_keys() && *ref_schema != t.schema
        };
        for c in &t.constraints {
            if let ConstraintKind::ForeignKey { ref_schema, .. } = &c.kind {
                if other_schema(ref_schema) {
                    continue;
                }
            }
            if !matches!(c.kind, ConstraintKind::PrimaryKey { .. }) {
                constraints.push(self.constraint(c, true));
            }
        }
        // Column-level flags become table constraints after the explicit
        // ones (SQLAlchemy orders constraints by creation, and these are
        // made when the columns are attached to the table): per column,
        // `unique=True` first (made while the column attaches; with
        // `index=True` it is a unique index instead), then its foreign keys
        // (made once it is attached).
        for col in &t.columns {
            if col.unique && !col.index {
                constraints.push(self.constraint(
                    &Constraint {
                        options: Default::default(),
                        name: None,
                        kind: ConstraintKind::Unique {
                            columns: vec![col.name.clone()],
                            nulls_not_distinct: None,
                        },
                    },
                    true,
                ));
            }
            // Then the CHECK of a `create_constraint=True` type (made when
            // the type sees its table).
            if let Some(check) = self.type_check(col) {
                constraints.push(self.constraint(&check, true));
            }
            for fk in &col.foreign_keys {
                let (schema, table, refcol) = split_target(&fk.target);
                if other_schema(&schema) {
                    continue;
                }
                constraints.push(self.constraint(
                    &Constraint {
                        options: Default::default(),
                        name: fk.name.clone(),
                        kind: ConstraintKind::ForeignKey {
                            columns: vec![col.name.clone()],
                            ref_table: table,
                            ref_schema: schema,
                            ref_columns: vec![refcol],
                            ondelete: fk.ondelete.clone(),
                            onupdate: fk.onupdate.clone(),
                            deferrable: None,
                            initially: None,
                        },
                    },
                    true,
                ));
            }
        }
        for c in constraints {
            lines.push(format!("\t{c}"));
        }
        Ok(format!(
            "CREATE TABLE {} (\n{}\n){}",
            display_name,
            lines.join(", \n"),
            self.d.post_create_table(&t.options, &|name| self.q(name))
        ))
    }

    /// The `CREATE TYPE ... AS ENUM` and `CREATE DOMAIN` statements a
    /// table's named types issue before it is created (PostgreSQL), in
    /// column order, once per type name and run (the memo of SQLAlchemy's
    /// DDL runner, which Alembic keeps for the run).
    fn named_types_to_create(&mut self, t: &Table) -> Vec<(TypeKey, String)> {
        let mut out = Vec::new();
        if !self.d.native_enum() {
            return out;
        }
        for c in &t.columns {
            match &c.type_ {
                SqlType::Enum {
                    values,
                    name: Some(name),
                    schema,
                    native: true,
                    create_type: true,
                    ..
                    // A type is created at most once per run: the guard
                    // records it in the memo.
                } if self.memo.insert((false, schema.clone(), name.clone())) => {
                    let vals: Vec<String> = values.iter().map(|v| quote_str(v)).collect();
                    let sql = format!(
                        "CREATE TYPE {} AS ENUM ({})",
                        self.table_name(name, schema),
                        vals.join(", ")
                    );
                    out.push(((false, schema.clone(), name.clone()), sql));
                }
                SqlType::Domain(d)
                    if d.create_type
                        && self.memo.insert((true, d.schema.clone(), d.name.clone())) =>
                {
                    let key = (true, d.schema.clone(), d.name.clone());
                    out.push((key, self.create_domain_sql(d)));
                }
                _ => {}
            }
        }
        out
    }

    /// SQLAlchemy's `visit_create_domain_type`, trailing space included
    /// when the domain has no options.
    fn create_domain_sql(&self, d: &Domain) -> String {
        let mut options = Vec::new();
        if let Some(c) = &d.collation {
            options.push(format!("COLLATE {}", self.q(c)));
        }
        if let Some(v) = &d.default {
            options.push(format!("DEFAULT {}", self.default_sql(v)));
        }
        if let Some(n) = &d.constraint_name {
            options.push(format!("CONSTRAINT {}", self.q(n)));
        }
        if d.not_null {
            options.push("NOT NULL".into());
        }
        if let Some(c) = &d.check {
            options.push(format!("CHECK ({c})"));
        }
        format!(
            "CREATE DOMAIN {} AS {} {}",
            self.table_name(&d.name, &d.schema),
            self.type_sql(&d.data_type),
            options.join(" ")
        )
    }

    fn create_table(&mut self, t: &Table) -> Result<(), Fail> {
        // SQLAlchemy's Table refuses a second column of the same name while
        // it is built, before anything of the operation is emitted.
        for (i, c) in t.columns.iter().enumerate() {
            if t.columns[..i].iter().any(|e| e.name == c.name) {
                return Err(Fail::Exception(
                    "sqlalchemy.exc.DuplicateColumnError".into(),
                    format!(
                        "A column with name '{}' is already present in table '{}'.",
                        c.name, t.name
                    ),
                ));
            }
        }
        self.check_table_types(t)?;
        if t.own_ddl_memo {
            // `Table.create(bind)`: a DDL runner of its own, whose memo the
            // run never sees.
            let run_memo = std::mem::take(&mut self.memo);
            for (_, sql) in self.named_types_to_create(t) {
                self.emit(sql);
            }
            self.memo = run_memo;
        } else {
            for (key, sql) in self.named_types_to_create(t) {
                self.emit_named_type(key, sql);
            }
        }
        let name = self.table_name(&t.name, &t.schema);
        let sql = self.create_table_sql(t, &name)?;
        self.emit(sql);
        for idx in self.table_indexes(t) {
            self.create_index(&idx)?;
        }
        if self.d.comment_statements() {
            if let Some(c) = &t.comment {
                let sql = format!("COMMENT ON TABLE {name} IS {}", quote_str(c));
                self.emit(sql);
            }
            for col in &t.columns {
                if let Some(c) = &col.comment {
                    let sql = format!(
                        "COMMENT ON COLUMN {name}.{} IS {}",
                        self.q(&col.name),
                        quote_str(c)
                    );
                    self.emit(sql);
                }
            }
        }
        Ok(())
    }

    /// A table's indexes in SQLAlchemy's order: sorted by name, with
    /// `index=True` columns named `ix_<table>_<column>`.
    fn table_indexes(&self, t: &Table) -> Vec<Index> {
        let mut idx: Vec<Index> = t.indexes.clone();
        for c in &t.columns {
            if c.index {
                idx.push(Index {
                    name: Some(index_flag_name(&t.name, &t.schema, &c.name)),
                    conv_name: true,
                    table: t.name.clone(),
                    schema: t.schema.clone(),
                    expressions: vec![IndexExpr::Column(c.name.clone())],
                    unique: c.unique,
                    if_not_exists: false,
                    postgresql_where: None,
                    postgresql_using: None,
                    postgresql_concurrently: false,
                    sqlite_where: None,
                    ..Index::default()
                });
            }
        }
        idx.sort_by(|a, b| a.name.cmp(&b.name));
        idx
    }

    /// An index name as SQLAlchemy's preparer writes it: a naming-convention
    /// name longer than the dialect's identifier limit is cut to `limit - 8`
    /// characters plus `_` and the last four hex digits of its MD5; any
    /// other name that long is an `IdentifierError`.
    fn limited_name(&self, name: &str, conv: bool) -> Result<String, Fail> {
        // PostgreSQL's NAMEDATALEN - 1; SQLAlchemy's default for SQLite.
        let limit = self.d.max_identifier_length();
        if name.chars().count() <= limit {
            return Ok(name.to_string());
        }
        if !conv {
            return Err(Fail::Exception(
                "sqlalchemy.exc.IdentifierError".into(),
                format!("Identifier '{name}' exceeds maximum length of {limit} characters"),
            ));
        }
        use md5::Digest;
        let digest = md5::Md5::digest(name.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let head: String = name.chars().take(limit - 8).collect();
        Ok(format!("{head}_{}", &hex[hex.len() - 4..]))
    }

    fn create_index(&mut self, i: &Index) -> Result<(), Fail> {
        let pg_options = self.d.postgresql_index_options();
        let mut s = String::from("CREATE ");
        if i.unique {
            s.push_str("UNIQUE ");
        }
        s.push_str("INDEX ");
        if pg_options && i.postgresql_concurrently {
            s.push_str("CONCURRENTLY ");
        }
        if i.if_not_exists {
            s.push_str("IF NOT EXISTS ");
        }
        if let Some(n) = &i.name {
            let n = self.limited_name(n, i.conv_name)?;
            // An index name is qualified by the schema on SQLite only.
            if self.d.index_name_carries_schema() {
                s.push_str(&self.table_name(&n, &i.schema));
            } else {
                s.push_str(&self.q(&n));
            }
            s.push(' ');
        }
        s.push_str("ON ");
        if self.d.index_name_carries_schema() {
            s.push_str(&self.q(&i.table));
        } else {
            s.push_str(&self.table_name(&i.table, &i.schema));
        }
        s.push(' ');
        if pg_options {
            if let Some(u) = &i.postgresql_using {
                s.push_str(&format!("USING {} ", u.to_lowercase()));
            }
        }
        let exprs: Vec<String> = i
            .expressions
            .iter()
            .map(|e| {
                let (text, key) = match e {
                    IndexExpr::Column(c) => (self.q(c), Some(c)),
                    IndexExpr::Text(t) => (t.clone(), Some(t)),
                    IndexExpr::Expr(e) => (self.index_expr(e), None),
                };
                // `postgresql_ops` is keyed by the element's key: a column's
                // name or a `text()`'s text.
                match key.and_then(|k| i.postgresql_ops.iter().find(|(o, _)| o == k)) {
                    Some((_, class)) if pg_options => format!("{text} {class}"),
                    _ => text,
                }
            })
            .collect();
        s.push_str(&format!("({})", exprs.join(", ")));
        if pg_options {
            if !i.postgresql_include.is_empty() {
                let cols: Vec<String> = i.postgresql_include.iter().map(|c| self.q(c)).collect();
                s.push_str(&format!(" INCLUDE ({})", cols.join(", ")));
            }
            match i.postgresql_nulls_not_distinct {
                Some(true) => s.push_str(" NULLS NOT DISTINCT"),
                Some(false) => s.push_str(" NULLS DISTINCT"),
                None => {}
            }
            if !i.postgresql_with.is_empty() {
                let opts: Vec<String> = i
                    .postgresql_with
                    .iter()
                    .map(|(k, v)| {
                        if v.is_empty() {
                            k.clone()
                        } else {
                            format!("{k} = {v}")
                        }
                    })
                    .collect();
                s.push_str(&format!(" WITH ({})", opts.join(", ")));
            }
            if let Some(t) = &i.postgresql_tablespace {
                s.push_str(&format!(" TABLESPACE {}", self.q(t)));
            }
            if let Some(w) = &i.postgresql_where {
                s.push_str(&format!(" WHERE {w}"));
            }
        } else if let Some(w) = &i.sqlite_where {
            s.push_str(&format!(" WHERE {w}"));
        }
        self.emit(s);
        Ok(())
    }

    fn add_column(
        &mut self,
        table: &str,
        schema: &Option<String>,
        c: &Column,
        if_not_exists: bool,
    ) -> Result<(), Fail> {
        self.check_type(&c.name, &c.type_)?;
        let pk: Vec<String> = if c.primary_key {
            vec![c.name.clone()]
        } else {
            Vec::new()
        };
        if self.d.native_enum() {
            if let SqlType::Enum {
                name: Some(_),
                native: true,
                create_type: true,
                ..
            } = &c.type_
            {
                // Alembic's add_column does not create the enum type.
            }
        }
        let autoinc = if self.d.autoincrement_for_every_primary_key() {
            self.autoinc_column(table, std::slice::from_ref(c), &pk)?
        } else {
            None
        };
        let spec = self.column_spec(c, &pk, autoinc.as_deref(), false);
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN {}{spec}",
            self.table_name(table, schema),
            if if_not_exists { "IF NOT EXISTS " } else { "" }
        );
        self.emit(sql);
        // Alembic adds the constraints of the table it builds around the
        // column: `unique=True` (without `index=True`) is `ADD UNIQUE`.
        if c.unique && !c.index {
            if !self.d.alter_constraints() {
                return Err(Fail::Exception(
                    "NotImplementedError".into(),
                    NO_ALTER_CONSTRAINT.into(),
                ));
            }
            let body = self.constraint(
                &Constraint {
                    options: Default::default(),
                    name: None,
                    kind: ConstraintKind::Unique {
                        columns: vec![c.name.clone()],
                        nulls_not_distinct: None,
                    },
                },
                false,
            );
            let sql = format!("ALTER TABLE {} ADD {body}", self.table_name(table, schema));
            self.emit(sql);
        }
        // The CHECK of a `create_constraint=True` type: ADD CONSTRAINT where
        // the dialect alters constraints. Alembic's SQLite impl skips it
        // with a UserWarning ("Skipping unsupported ALTER for creation of
        // implicit constraint"), which aurora does not print: it stops.
        if let Some(check) = self.type_check(c) {
            if !self.d.alter_constraints() {
                return Err(Fail::Exception(
                    "NotImplementedError".into(),
                    format!(
                        "add_column of '{}': its create_constraint=True type has a CHECK \
                         constraint SQLite cannot add to an existing table (Alembic skips it \
                         with a warning); drop create_constraint, or add the column in \
                         batch_alter_table(recreate='always')",
                        c.name
                    ),
                ));
            }
            let body = self.constraint(&check, false);
            let sql = format!("ALTER TABLE {} ADD {body}", self.table_name(table, schema));
            self.emit(sql);
        }
        for fk in &c.foreign_keys {
            if !self.d.alter_constraints() {
                return Err(Fail::Exception(
                    "NotImplementedError".into(),
                    NO_ALTER_CONSTRAINT.into(),
                ));
            }
            if let Some(n) = &fk.name {
                self.limited_name(n, false)?;
            }
            let (rs, rt, rc) = split_target(&fk.target);
            let body = self.constraint(
                &Constraint {
                    options: Default::default(),
                    name: fk.name.clone(),
                    kind: ConstraintKind::ForeignKey {
                        columns: vec![c.name.clone()],
                        ref_table: rt,
                        ref_schema: rs,
                        ref_columns: vec![rc],
                        ondelete: fk.ondelete.clone(),
                        onupdate: fk.onupdate.clone(),
                        deferrable: None,
                        initially: None,
                    },
                },
                false,
            );
            let sql = format!("ALTER TABLE {} ADD {body}", self.table_name(table, schema));
            self.emit(sql);
        }
        if c.index {
            self.create_index(&Index {
                name: Some(index_flag_name(table, schema, &c.name)),
                table: table.to_string(),
                schema: schema.clone(),
                expressions: vec![IndexExpr::Column(c.name.clone())],
                unique: c.unique,
                if_not_exists: false,
                postgresql_where: None,
                postgresql_using: None,
                postgresql_concurrently: false,
                sqlite_where: None,
                conv_name: true,
                ..Index::default()
            })?;
        }
        if self.d.comment_statements() {
            if let Some(comment) = &c.comment {
                let sql = format!(
                    "COMMENT ON COLUMN {}.{} IS {}",
                    self.table_name(table, schema),
                    self.q(&c.name),
                    quote_str(comment)
                );
                self.emit(sql);
            }
        }
        Ok(())
    }

    fn alter_column(&mut self, a: &AlterColumn) -> Result<(), Fail> {
        if let Some(t) = &a.type_ {
            self.check_type(&a.column, t)?;
        }
        let t = self.table_name(&a.table, &a.schema);
        let col = self.q(&a.column);
        // Alembic's toimpl.alter_column: with both existing_type and type_,
        // the CHECK of a create_constraint=True existing_type is dropped
        // before the ALTER; the one of type_ is added after it.
        let native = self.d.native_enum();
        let old_check = match (&a.existing_type, &a.type_) {
            (Some(e), Some(_)) => e.check_constraint(native),
            _ => None,
        };
        let new_check = a
            .type_
            .as_ref()
            .and_then(|ty| self.type_check_of(&a.column, ty));
        if let Some((name, _)) = old_check {
            // SQLite's impl drops such an implicit constraint as a no-op.
            if self.d.alter_constraints() {
                let Some(name) = name else {
                    return Err(Fail::Exception(
                        "sqlalchemy.exc.CompileError".into(),
                        format!(
                            "Can't emit DROP CONSTRAINT for the CHECK of the \
                             create_constraint=True existing_type of '{}.{}'; it has no name",
                            a.table, a.column
                        ),
                    ));
                };
                self.limited_name(&name, false)?;
                self.emit(format!("ALTER TABLE {t} DROP CONSTRAINT {}", self.q(&name)));
            }
        }
        if new_check.is_some() && !self.d.alter_constraints() {
            return Err(Fail::Exception(
                "NotImplementedError".into(),
                format!(
                    "alter_column of '{}': its create_constraint=True type_ has a CHECK \
                     constraint SQLite cannot add to an existing table (Alembic skips it \
                     with a warning); drop create_constraint, or alter the column in \
                     batch_alter_table(recreate='always')",
                    a.column
                ),
            ));
        }
        let type_using = self.d.alter_type_using();
        if type_using && a.postgresql_using.is_some() && a.type_.is_none() {
            return Err(Fail::Failed(
                "postgresql_using must be used with the type_ parameter".into(),
            ));
        }
        if type_using {
            if let Some(ty) = &a.type_ {
                let mut sql = format!(
                    "ALTER TABLE {t} ALTER COLUMN {col} TYPE {}",
                    self.type_sql(ty)
                );
                if let Some(u) = &a.postgresql_using {
                    sql.push_str(&format!(" USING {u}"));
                }
                self.emit(sql);
            }
        }
        if let Some(n) = a.nullable {
            let sql = format!(
                "ALTER TABLE {t} ALTER COLUMN {col} {} NOT NULL",
                if n { "DROP" } else { "SET" }
            );
            self.emit(sql);
        }
        if let Some(d) = &a.server_default {
            let sql = match d {
                Some(d) => format!(
                    "ALTER TABLE {t} ALTER COLUMN {col} SET DEFAULT {}",
                    self.default_sql(d)
                ),
                None => format!("ALTER TABLE {t} ALTER COLUMN {col} DROP DEFAULT"),
            };
            self.emit(sql);
        }
        if !type_using {
            if let Some(ty) = &a.type_ {
                let sql = format!(
                    "ALTER TABLE {t} ALTER COLUMN {col} TYPE {}",
                    self.type_sql(ty)
                );
                self.emit(sql);
            }
        }
        if let Some(c) = &a.comment {
            if !self.d.column_comment_ddl() {
                return Err(Fail::Exception(
                    "sqlalchemy.exc.UnsupportedCompilationError".into(),
                    format!(
                        "Compiler <{}> can't render element of type <class 'alembic.ddl.base.ColumnComment'>: \
                         <class 'alembic.ddl.base.ColumnComment'> construct has no default compilation handler.",
                        self.d.ddl_compiler_name()
                    ),
                ));
            }
            let val = c.as_deref().map(quote_str).unwrap_or_else(|| "NULL".into());
            let sql = format!("COMMENT ON COLUMN {t}.{col} IS {val}");
            self.emit(sql);
        }
        if let Some(n) = &a.new_column_name {
            let kw = self.d.rename_column_keyword();
            let sql = format!("ALTER TABLE {t} RENAME {kw}{col} TO {}", self.q(n));
            self.emit(sql);
        }
        if let Some(check) = new_check {
            let body = self.constraint(&check, false);
            self.emit(format!("ALTER TABLE {t} ADD {body}"));
        }
        Ok(())
    }

    // ----- data -----

    fn executable(&self, e: &Executable) -> Result<String, Fail> {
        Ok(match e {
            Executable::Sql(s) => s.clone(),
            Executable::Text { sql, binds } => self.text_with_binds(sql, binds),
            Executable::Insert(ins) => self.insert_sql(ins)?,
            Executable::Update {
                table,
                values,
                where_,
            } => self.update_sql(table, values, where_)?,
            Executable::Delete { table, where_ } => self.delete_sql(table, where_)?,
            Executable::CreateSequence {
                sequence,
                if_not_exists,
            } => self.create_sequence(sequence, *if_not_exists),
            Executable::CreateSchema {
                name,
                if_not_exists,
            } => format!(
                "CREATE SCHEMA {}{}",
                if *if_not_exists { "IF NOT EXISTS " } else { "" },
                self.q(name)
            ),
            Executable::DropSchema {
                name,
                cascade,
                if_exists,
            } => format!(
                "DROP SCHEMA {}{}{}",
                if *if_exists { "IF EXISTS " } else { "" },
                self.q(name),
                if *cascade { " CASCADE" } else { "" }
            ),
            Executable::DropSequence {
                sequence,
                if_exists,
            } => format!(
                "DROP SEQUENCE {}{}",
                if *if_exists { "IF EXISTS " } else { "" },
                self.table_name(&sequence.name, &sequence.schema)
            ),
        })
    }

    /// Substitutes `:name` bind parameters of a `text()` with literals.
    fn text_with_binds(&self, sql: &str, binds: &[(String, Literal)]) -> String {
        if binds.is_empty() {
            return sql.to_string();
        }
        let mut out = String::new();
        let chars: Vec<char> = sql.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ':'
                && i + 1 < chars.len()
                && (chars[i + 1].is_alphabetic() || chars[i + 1] == '_')
                && (i == 0 || chars[i - 1] != ':')
            {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                let name: String = chars[i + 1..j].iter().collect();
                if let Some((_, l)) = binds.iter().find(|(k, _)| *k == name) {
                    out.push_str(&self.literal(l));
                    i = j;
                    continue;
                }
            }
            out.push(c);
            i += 1;
        }
        out
    }

    /// A `bulk_insert` value for a column of `t`: as its type binds it
    /// online; offline, as SQLAlchemy renders it as a literal, which it
    /// cannot do for JSON values.
    fn bound_literal(&self, t: &TableClause, column: &str, v: &Literal) -> Result<String, Fail> {
        let ty = t
            .columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, ty)| ty);
        if let Literal::Json(text) = v {
            // Offline, `None` renders as NULL before the JSON type sees it;
            // online psycopg2 binds the JSON `null` the type serialised.
            if !self.online && text == "null" {
                return Ok("NULL".into());
            }
            if !self.online {
                let datatype = match ty {
                    Some(SqlType::Jsonb) => "JSONB",
                    _ => "JSON",
                };
                return Err(Fail::Exception(
                    "sqlalchemy.exc.CompileError".into(),
                    format!(
                        "No literal value renderer is available for literal value {text} with datatype {datatype} (column '{column}' of bulk_insert into '{}'); offline mode cannot render JSON values",
                        t.name
                    ),
                ));
            }
        }
        // Offline, PostgreSQL's network, range, text-search, MONEY, OID and
        // HSTORE types have no literal processor: SQLAlchemy stops.
        if let (false, Some(SqlType::PgOnly { class, .. })) = (self.online, ty) {
            if !matches!(v, Literal::Null)
                && !matches!(class.as_str(), "CITEXT" | "JSONPATH" | "BYTEA")
            {
                let shown = match v {
                    Literal::Str(s) => format!("'{s}'"),
                    other => self.literal(other),
                };
                return Err(Fail::Exception(
                    "sqlalchemy.exc.CompileError".into(),
                    format!("No literal value renderer is available for literal value \"{shown}\" with datatype {class}"),
                ));
            }
        }
        // Offline, SQLAlchemy's binary literal processor decodes the bytes
        // as UTF-8 and quotes them as text; online they are bound as bytes.
        if let (false, Literal::Bytes(b)) = (self.online, v) {
            let binary = match ty {
                Some(SqlType::LargeBinary) => true,
                Some(SqlType::PgOnly { class, .. }) => class == "BYTEA",
                Some(SqlType::Named(n)) => ["BYTEA", "BLOB", "BINARY", "VARBINARY"]
                    .iter()
                    .any(|p| n == p || n.starts_with(&format!("{p}("))),
                _ => false,
            };
            if binary {
                return match std::str::from_utf8(b) {
                    Ok(text) => Ok(quote_str(text)),
                    Err(e) => Err(Fail::Exception(
                        "UnicodeDecodeError".into(),
                        format!(
                            "'utf-8' codec can't decode the bytes of column '{column}' of bulk_insert into '{}' offline: {e}",
                            t.name
                        ),
                    )),
                };
            }
        }
        // Offline, SQLAlchemy's date and time literal processors call the
        // value's isoformat() (SQLite's, its date type's bind processor),
        // which a string has not: a CompileError.
        if let (false, Literal::Str(text)) = (self.online, v) {
            let datatype = match ty {
                Some(SqlType::Date) => Some("DATE"),
                Some(SqlType::DateTime { .. }) => Some("DATETIME"),
                Some(SqlType::Timestamp { .. }) => Some("TIMESTAMP"),
                Some(SqlType::Time { .. }) => Some("TIME"),
                _ => None,
            };
            if let Some(datatype) = datatype {
                return Err(Fail::Exception(
                    "sqlalchemy.exc.CompileError".into(),
                    format!(
                        "Could not render literal value {} with datatype {datatype}; see parent \
                         stack trace for more detail. (column '{column}' of bulk_insert into \
                         '{}' is given a string; offline mode renders only date and time \
                         objects for it)",
                        crate::template::repr_str(text),
                        t.name
                    ),
                ));
            }
        }
        if let (Literal::Uuid(u), Some(SqlType::Uuid { native: false, .. })) = (v, ty) {
            return Ok(quote_str(&u.replace('-', "")));
        }
        Ok(self.literal(v))
    }

    fn bulk_insert(
        &mut self,
        t: &TableClause,
        rows: &[Vec<(String, Literal)>],
        multi: bool,
    ) -> Result<(), Fail> {
        let name = self.table_name(&t.name, &t.schema);
        // Online with `multiinsert=True`, Alembic hands all rows to one
        // `executemany` whose INSERT lists the first row's keys: a later row
        // lacking one of them fails before any row is inserted, and keys the
        // first row lacks are ignored. Otherwise (offline, or one INSERT per
        // row) each row lists its own keys, in table column order.
        if self.online && multi {
            if let Some(first) = rows.first() {
                let keys: Vec<&String> = t
                    .columns
                    .iter()
                    .map(|(c, _)| c)
                    .filter(|c| first.iter().any(|(k, _)| k == *c))
                    .collect();
                for (group, row) in rows.iter().enumerate() {
                    if let Some(missing) =
                        keys.iter().find(|k| !row.iter().any(|(rk, _)| rk == **k))
                    {
                        let cols: Vec<String> = keys.iter().map(|k| self.q(k)).collect();
                        let params: Vec<String> = keys
                            .iter()
                            .map(|k| self.d.bulk_insert_placeholder(k))
                            .collect();
                        return Err(Fail::Exception(
                            "sqlalchemy.exc.StatementError".into(),
                            format!(
                                "(sqlalchemy.exc.InvalidRequestError) A value is required for bind parameter '{missing}', in parameter group {group} [SQL: INSERT INTO {name} ({}) VALUES ({})]",
                                cols.join(", "),
                                params.join(", ")
                            ),
                        ));
                    }
                }
                for row in rows {
                    let mut cols = Vec::new();
                    let mut vals = Vec::new();
                    for k in &keys {
                        if let Some((_, v)) = row.iter().find(|(rk, _)| rk == *k) {
                            cols.push(self.q(k));
                            vals.push(self.bound_literal(t, k, v)?);
                        }
                    }
                    self.emit(insert_sql(&name, &cols, &vals));
                }
            }
            return Ok(());
        }
        for row in rows {
            let mut cols = Vec::new();
            let mut vals = Vec::new();
            for (c, _) in &t.columns {
                if let Some((_, v)) = row.iter().find(|(k, _)| k == c) {
                    cols.push(self.q(c));
                    vals.push(self.bound_literal(t, c, v)?);
                }
            }
            self.emit(insert_sql(&name, &cols, &vals));
        }
        Ok(())
    }

    // ----- batch -----

    fn batch(&mut self, b: &Batch, reflector: &mut Option<&mut dyn Reflector>) -> Result<(), Fail> {
        let recreate = match b.recreate.as_str() {
            "always" => true,
            "never" => false,
            _ => self.d.batch_recreates_by_default() && b.ops.iter().any(requires_recreate),
        };
        if !recreate {
            for o in &b.ops {
                self.op(o, reflector)?;
            }
            return Ok(());
        }
        let table = match (&b.copy_from, reflector.as_deref_mut()) {
            (Some(t), _) => t.clone(),
            (None, Some(r)) if self.d.batch_reflects_by_query() => {
                // A statement failing here is a driver error in Alembic.
                flush_pending(&mut self.out, r)
                    .map_err(|e| Fail::Exception("sqlalchemy.exc.OperationalError".into(), e))?;
                reflect_sqlite(r, &b.table).map_err(Fail::Failed)?
            }
            (None, Some(r)) => {
                flush_pending(&mut self.out, r)
                    .map_err(|e| Fail::Exception("sqlalchemy.exc.ProgrammingError".into(), e))?;
                r.reflect_table(b.schema.as_deref(), &b.table)
                    .map_err(Fail::Failed)?
            }
            _ => {
                let dname = self.d.name();
                return Err(Fail::Failed(format!(
                    "This operation cannot proceed in --sql mode; batch mode with dialect {dname} requires a live database connection with which to reflect the table \"{}\". To generate a batch SQL migration script using table \"move and copy\", a complete Table object should be passed to the \"copy_from\" argument of the batch_alter_table() method so that table reflection can be skipped.",
                    b.table
                )));
            }
        };
        self.move_and_copy(b, table)
    }

    fn move_and_copy(&mut self, b: &Batch, table: Table) -> Result<(), Fail> {
        // Each column remembers the expression it is filled from.
        // Keyed as Alembic's `ApplyBatchImpl.columns`: by the column's
        // original name, which a rename keeps.
        let mut columns: Vec<(String, Column, Transfer)> = table
            .columns
            .iter()
            .map(|c| {
                let mut c2 = c.clone();
                c2.unique = false;
                c2.index = false;
                (c.name.clone(), c2, Some((c.name.clone(), None)))
            })
            .collect();
        // `existing_ordering` and `add_col_ordering`, for the reordering
        // Alembic applies when columns are added.
        let mut existing_ordering: Vec<String> =
            table.columns.iter().map(|c| c.name.clone()).collect();
        let mut add_col_ordering: Vec<(String, String)> = Vec::new();
        let mut pk_cols = Self::pk_columns(&table);
        let mut named: Vec<Constraint> = Vec::new();
        let mut unnamed: Vec<Constraint> = Vec::new();
        for c in &table.constraints {
            if matches!(c.kind, ConstraintKind::PrimaryKey { .. }) {
                continue;
            }
            if c.name.is_some() {
                named.push(c.clone());
            } else {
                unnamed.push(c.clone());
            }
        }
        let mut indexes: Vec<Index> = table.indexes.clone();
        let mut new_indexes: Vec<Index> = Vec::new();
        for o in &b.ops {
            match o {
                Op::AddColumn { column, .. } => {
                    if let Some(last) = existing_ordering.last() {
                        add_col_ordering.push((last.clone(), column.name.clone()));
                    }
                    let mut c = column.clone();
                    c.unique = false;
                    c.index = false;
                    match columns.iter_mut().find(|(k, _, _)| *k == column.name) {
                        Some(slot) => *slot = (column.name.clone(), c, None),
                        None => columns.push((column.name.clone(), c, None)),
                    }
                }
                Op::DropColumn { column, .. } => {
                    pk_cols.retain(|p| p != column);
                    let before = columns.len();
                    columns.retain(|(k, _, _)| k != column);
                    if before == columns.len() {
                        return Err(Fail::Exception("KeyError".into(), format!("'{column}'")));
                    }
                    match existing_ordering.iter().position(|k| k == column) {
                        Some(i) => {
                            existing_ordering.remove(i);
                        }
                        // `list.remove` of a column added in the same batch.
                        None => {
                            return Err(Fail::Exception(
                                "ValueError".into(),
                                "list.remove(x): x not in list".into(),
                            ))
                        }
                    }
                }
                Op::AlterColumn(a) => {
                    let Some((_, col, transfer)) =
                        columns.iter_mut().find(|(k, _, _)| *k == a.column)
                    else {
                        return Err(Fail::Exception(
                            "KeyError".into(),
                            format!("'{}'", a.column),
                        ));
                    };
                    if let Some(n) = &a.new_column_name {
                        if let Some(p) = pk_cols.iter_mut().find(|p| **p == col.name) {
                            *p = n.clone();
                        }
                        col.name = n.clone();
                    }
                    if let Some(t) = &a.type_ {
                        if affinity(&col.type_) != affinity(t) && !matches!(t, SqlType::Json) {
                            if let Some((_, cast)) = transfer {
                                *cast = Some(t.clone());
                            }
                        }
                        col.type_ = t.clone();
                    }
                    if let Some(n) = a.nullable {
                        col.nullable = Some(n);
                    }
                    if let Some(d) = &a.server_default {
                        col.server_default = d.clone();
                    }
                    if let Some(c) = &a.comment {
                        col.comment = c.clone();
                    }
                }
                Op::AddConstraint { constraint, .. } => {
                    if constraint.name.is_none() {
                        return Err(Fail::Exception(
                            "ValueError".into(),
                            "Constraint must have a name".into(),
                        ));
                    }
                    if let ConstraintKind::PrimaryKey { columns: cols } = &constraint.kind {
                        pk_cols = cols.clone();
                        continue;
                    }
                    named.retain(|c| c.name != constraint.name);
                    named.push(constraint.clone());
                }
                Op::DropConstraint { name, .. } => {
                    let before = named.len();
                    named.retain(|c| name.is_none() || c.name.as_deref() != name.as_deref());
                    if before == named.len() {
                        return Err(Fail::Exception(
                            "ValueError".into(),
                            format!(
                                "No such constraint: '{}'",
                                name.as_deref().unwrap_or("None")
                            ),
                        ));
                    }
                }
                Op::CreateIndex(i) => new_indexes.push(i.clone()),
                Op::DropIndex { name, .. } => {
                    let before = indexes.len();
                    indexes.retain(|i| i.name.as_deref() != Some(name));
                    if before == indexes.len() {
                        return Err(Fail::Exception(
                            "ValueError".into(),
                            format!("No such index: '{name}'"),
                        ));
                    }
                }
                Op::CreateTableComment { .. } | Op::DropTableComment { .. } => {}
                other => {
                    return Err(Fail::Exception(
                        "NotImplementedError".into(),
                        format!("operation not supported in batch mode: {other:?}"),
                    ))
                }
            }
        }
        if self.d.batch_frees_reused_names() {
            // PostgreSQL frees the names the new table reuses (a named
            // primary key is one of Alembic's named constraints too).
            for c in &table.constraints {
                if let Some(n) = &c.name {
                    let is_pk = matches!(c.kind, ConstraintKind::PrimaryKey { .. });
                    if (is_pk && !pk_cols.is_empty())
                        || named.iter().any(|x| x.name.as_deref() == Some(n))
                    {
                        let sql = format!(
                            "ALTER TABLE {} DROP CONSTRAINT {}",
                            self.table_name(&table.name, &table.schema),
                            self.q(n)
                        );
                        self.emit(sql);
                    }
                }
            }
        }
        let temp = format!("_alembic_tmp_{}", b.table)
            .chars()
            .take(50)
            .collect::<String>();
        if !add_col_ordering.is_empty() {
            let keyed = columns.into_iter().map(|(k, c, t)| (k, (c, t))).collect();
            columns = reorder_columns(keyed, &existing_ordering, &add_col_ordering)?
                .into_iter()
                .map(|(k, (c, t))| (k, c, t))
                .collect();
        }
        let columns: Vec<(Column, Transfer)> =
            columns.into_iter().map(|(_, c, t)| (c, t)).collect();
        let live_names: Vec<String> = columns.iter().map(|(c, _)| c.name.clone()).collect();
        let mut constraints = vec![];
        if !pk_cols.is_empty() {
            let pk_name = table.constraints.iter().find_map(|c| match &c.kind {
                ConstraintKind::PrimaryKey { .. } => c.name.clone(),
                _ => None,
            });
            constraints.push(Constraint {
                options: Default::default(),
                name: pk_name,
                kind: ConstraintKind::PrimaryKey {
                    columns: pk_cols.clone(),
                },
            });
        }
        for c in named.into_iter().chain(unnamed) {
            let cols = match &c.kind {
                ConstraintKind::Unique { columns, .. }
                | ConstraintKind::ForeignKey { columns, .. } => columns.clone(),
                _ => Vec::new(),
            };
            if cols.iter().all(|x| live_names.contains(x)) {
                constraints.push(c);
            }
        }
        let new_table = Table {
            name: temp.clone(),
            schema: table.schema.clone(),
            columns: columns
                .iter()
                .map(|(c, _)| {
                    let mut c = c.clone();
                    c.primary_key = false;
                    c.foreign_keys.clear();
                    c
                })
                .collect(),
            constraints,
            indexes: Vec::new(),
            comment: None,
            sqlite_autoincrement: table.sqlite_autoincrement,
            // Alembic builds the new table with batch_alter_table's
            // `table_kwargs` only (which aurora refuses): no dialect options.
            options: Default::default(),
            own_naming_convention: false,
            own_ddl_memo: false,
        };
        let tmp_name = self.table_name(&temp, &table.schema);
        // SQLAlchemy's CREATE TABLE creates the table's named types first,
        // without checking whether they exist (a reflected ENUM's type
        // exists, so PostgreSQL refuses, as under Alembic).
        for (key, sql) in self.named_types_to_create(&new_table) {
            self.emit_named_type(key, sql);
        }
        let sql = self.create_table_sql(&new_table, &tmp_name)?;
        self.emit(sql);
        if self.d.comment_statements() {
            // SQLAlchemy's CREATE TABLE sets the column comments (not the
            // table's, which Alembic's batch mode does not carry over).
            for col in &new_table.columns {
                if let Some(c) = &col.comment {
                    let sql = format!(
                        "COMMENT ON COLUMN {tmp_name}.{} IS {}",
                        self.q(&col.name),
                        quote_str(c)
                    );
                    self.emit(sql);
                }
            }
        }
        let mut into = Vec::new();
        let mut select = Vec::new();
        let src = self.q(&table.name);
        for (c, transfer) in &columns {
            if let Some((old, cast)) = transfer {
                into.push(self.q(&c.name));
                let e = format!("{src}.{}", self.q(old));
                select.push(match cast {
                    Some(t) => format!("CAST({e} AS {})", self.type_sql(t)),
                    None => e,
                });
            }
        }
        let sql = format!(
            "INSERT INTO {tmp_name} ({}) SELECT {} \nFROM {}",
            into.join(", "),
            select.join(", "),
            self.table_name(&table.name, &table.schema)
        );
        self.emit(sql);
        let sql = format!("DROP TABLE {}", self.table_name(&table.name, &table.schema));
        self.emit(sql);
        let sql = format!("ALTER TABLE {tmp_name} RENAME TO {}", self.q(&table.name));
        self.emit(sql);
        for mut i in indexes.into_iter().chain(new_indexes) {
            i.table = table.name.clone();
            i.schema = table.schema.clone();
            self.create_index(&i)?;
        }
        Ok(())
    }
}

/// The name SQLAlchemy gives the index of an `index=True` column:
/// `ix_<column label>`, where the label includes the schema.
fn index_flag_name(table: &str, schema: &Option<String>, column: &str) -> String {
    match schema {
        Some(s) => format!("ix_{s}_{table}_{column}"),
        None => format!("ix_{table}_{column}"),
    }
}

/// Alembic's `_adjust_self_columns_for_partial_reordering` without a
/// `partial_reordering`: each remaining original column follows the column
/// *at the previous position of the current column list*, each added column
/// follows the last original column at the time it was added, and the
/// columns are sorted by SQLAlchemy's `topological.sort`, which emits every
/// column whose predecessors are all placed, layer by layer, in list order.
fn reorder_columns<T>(
    columns: Vec<(String, T)>,
    existing_ordering: &[String],
    add_col_ordering: &[(String, String)],
) -> Result<Vec<(String, T)>, Fail> {
    let keys: Vec<String> = columns.iter().map(|(k, _)| k.clone()).collect();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, elem) in existing_ordering.iter().enumerate().skip(1) {
        if let Some(prev) = keys.get(i - 1) {
            pairs.push((prev.clone(), elem.clone()));
        }
    }
    pairs.extend(add_col_ordering.iter().cloned());
    pairs.retain(|(a, b)| a != b);
    let mut todo: Vec<String> = keys.clone();
    let mut order: Vec<String> = Vec::new();
    while !todo.is_empty() {
        let layer: Vec<String> = todo
            .iter()
            .filter(|n| !pairs.iter().any(|(p, c)| c == *n && todo.contains(p)))
            .cloned()
            .collect();
        if layer.is_empty() {
            return Err(Fail::Exception(
                "sqlalchemy.exc.CircularDependencyError".into(),
                "Circular dependency detected.".into(),
            ));
        }
        todo.retain(|n| !layer.contains(n));
        order.extend(layer);
    }
    let mut slots: Vec<Option<(String, T)>> = columns.into_iter().map(Some).collect();
    Ok(order
        .iter()
        .filter_map(|k| {
            let i = keys.iter().position(|x| x == k)?;
            slots[i].take()
        })
        .collect())
}

/// Where a recreated column's data comes from: the old column name and the
/// type to cast it to, or `None` for a new column.
type Transfer = Option<(String, Option<SqlType>)>;

fn requires_recreate(o: &Op) -> bool {
    match o {
        Op::AddColumn { column, .. } => matches!(
            column.server_default,
            Some(DefaultValue::Text(_)) | Some(DefaultValue::Expr(_))
        ),
        Op::CreateIndex(_) | Op::DropIndex { .. } => false,
        _ => true,
    }
}

fn is_integer(t: &SqlType) -> bool {
    matches!(
        t,
        SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger
    )
}

/// SQLAlchemy's type affinity classes, for deciding whether batch mode casts.
fn affinity(t: &SqlType) -> &'static str {
    match t {
        SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger => "integer",
        SqlType::String(_) | SqlType::Char(_) | SqlType::Text => "string",
        SqlType::Enum { .. } => "string",
        SqlType::Boolean { .. } => "boolean",
        SqlType::DateTime { .. } | SqlType::Timestamp { .. } => "datetime",
        SqlType::Date => "date",
        SqlType::Time { .. } => "time",
        // Types rendered under their own names: REAL, DOUBLE, DECIMAL(...),
        // NVARCHAR(...), NCHAR(...), CLOB, BINARY(...), VARBINARY(...).
        SqlType::Named(n) if n.starts_with('N') || n == "CLOB" => "string",
        SqlType::Named(n) if n.contains("BINARY") => "binary",
        SqlType::Float { .. } | SqlType::Numeric { .. } | SqlType::Named(_) => "numeric",
        SqlType::Json | SqlType::Jsonb => "json",
        SqlType::LargeBinary => "binary",
        SqlType::Uuid { .. } => "uuid",
        SqlType::Interval { .. } => "interval",
        SqlType::Double => "numeric",
        SqlType::Array(_) => "array",
        SqlType::PgOnly { class, .. } => match class.as_str() {
            "BYTEA" => "binary",
            "CITEXT" => "string",
            "INET" | "CIDR" => "inet",
            _ => "pg",
        },
        SqlType::Domain(_) => "domain",
        SqlType::Null => "null",
    }
}

fn split_target(target: &str) -> (Option<String>, String, String) {
    let parts: Vec<&str> = target.split('.').collect();
    match parts.as_slice() {
        [s, t, c] => (Some(s.to_string()), t.to_string(), c.to_string()),
        [t, c] => (None, t.to_string(), c.to_string()),
        _ => (None, target.to_string(), String::new()),
    }
}

/// Reads a live SQLite table through the reflector.
/// Runs the statements rendered so far through the reflector, so that a
/// reflection sees them (an `add_column` before a batch recreation of the
/// same table must survive it), and drops them from the output. Statements
/// inside or around an autocommit block stay for the caller, which alone can
/// end and begin transactions; the reflection then sees the database as it
/// was before them.
fn flush_pending(out: &mut Vec<Statement>, r: &mut dyn Reflector) -> Result<(), String> {
    if out.iter().any(|s| s.sql().is_none()) {
        return Ok(());
    }
    for statement in out.drain(..) {
        if let Some(sql) = statement.sql() {
            r.execute(sql)?;
        }
    }
    Ok(())
}

fn reflect_sqlite(r: &mut dyn Reflector, table: &str) -> Result<Table, String> {
    let lit = quote_str(table);
    let cols = r.query(&format!("PRAGMA table_info({lit})"))?;
    if cols.is_empty() {
        return Err(format!("No such table: {table}"));
    }
    let mut t = Table {
        name: table.to_string(),
        ..Table::default()
    };
    let mut pk: Vec<(i64, String)> = Vec::new();
    for row in cols {
        // cid, name, type, notnull, dflt_value, pk
        let name = text(&row[1]);
        let decl = text(&row[2]);
        let notnull = int(&row[3]) != 0;
        let default = match &row[4] {
            Value::Null => None,
            v => Some(DefaultValue::Text(text(v))),
        };
        let pkpos = int(&row[5]);
        if pkpos > 0 {
            pk.push((pkpos, name.clone()));
        }
        t.columns.push(Column {
            name,
            type_: parse_decl_type(&decl),
            nullable: Some(!notnull),
            primary_key: false,
            server_default: default,
            autoincrement: None,
            autoincrement_ignore_fk: false,
            comment: None,
            unique: false,
            index: false,
            foreign_keys: Vec::new(),
            checks: Vec::new(),
            default: None,
            identity: None,
        });
    }
    pk.sort();
    if !pk.is_empty() {
        t.constraints.push(Constraint {
            options: Default::default(),
            name: None,
            kind: ConstraintKind::PrimaryKey {
                columns: pk.into_iter().map(|(_, n)| n).collect(),
            },
        });
    }
    // Foreign keys: id, seq, table, from, to, on_update, on_delete, match.
    let fks = r.query(&format!("PRAGMA foreign_key_list({lit})"))?;
    let mut by_id: Vec<(i64, Constraint)> = Vec::new();
    for row in fks {
        let id = int(&row[0]);
        let from = text(&row[3]);
        let to = text(&row[4]);
        let ref_table = text(&row[2]);
        let on_update = text(&row[5]);
        let on_delete = text(&row[6]);
        let entry = by_id.iter_mut().find(|(i, _)| *i == id);
        match entry {
            Some((_, c)) => {
                if let ConstraintKind::ForeignKey {
                    columns,
                    ref_columns,
                    ..
                } = &mut c.kind
                {
                    columns.push(from);
                    ref_columns.push(to);
                }
            }
            None => by_id.push((
                id,
                Constraint {
                    options: Default::default(),
                    name: None,
                    kind: ConstraintKind::ForeignKey {
                        columns: vec![from],
                        ref_table,
                        ref_schema: None,
                        ref_columns: vec![to],
                        ondelete: (on_delete != "NO ACTION").then_some(on_delete),
                        onupdate: (on_update != "NO ACTION").then_some(on_update),
                        deferrable: None,
                        initially: None,
                    },
                },
            )),
        }
    }
    // SQLite's pragma lists foreign keys in reverse order of declaration.
    by_id.sort_by_key(|(i, _)| -*i);
    let sql_rows = r.query(&format!(
        "SELECT sql FROM sqlite_master WHERE type='table' AND name={lit}"
    ))?;
    let table_sql = sql_rows
        .first()
        .and_then(|r| r.first())
        .map(text)
        .unwrap_or_default();
    for (_, mut c) in by_id {
        if let ConstraintKind::ForeignKey { columns, .. } = &c.kind {
            c.name = constraint_name_in_sql(&table_sql, "FOREIGN KEY", columns);
        }
        t.constraints.push(c);
    }
    // Named CHECK constraints; unnamed ones cannot be tied to a column and
    // are left out of a recreate, as Alembic does.
    for (name, body) in named_checks(&table_sql) {
        t.constraints.push(Constraint {
            options: Default::default(),
            name: Some(name),
            kind: ConstraintKind::Check { sqltext: body },
        });
    }
    // Indexes (not the automatic ones behind UNIQUE/PRIMARY KEY).
    let idx = r.query(&format!("PRAGMA index_list({lit})"))?;
    for row in idx {
        let name = text(&row[1]);
        let unique = int(&row[2]) != 0;
        let origin = row.get(3).map(text).unwrap_or_default();
        let cols = r.query(&format!("PRAGMA index_info({})", quote_str(&name)))?;
        let columns: Vec<String> = cols.iter().map(|c| text(&c[2])).collect();
        if origin == "c" {
            t.indexes.push(Index {
                name: Some(name),
                table: table.to_string(),
                schema: None,
                expressions: columns.into_iter().map(IndexExpr::Column).collect(),
                unique,
                if_not_exists: false,
                postgresql_where: None,
                postgresql_using: None,
                postgresql_concurrently: false,
                sqlite_where: None,
                ..Index::default()
            });
        } else if origin == "u" {
            let cname = constraint_name_in_sql(&table_sql, "UNIQUE", &columns);
            t.constraints.push(Constraint {
                options: Default::default(),
                name: cname,
                kind: ConstraintKind::Unique {
                    columns,
                    nulls_not_distinct: None,
                },
            });
        }
    }
    t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(t)
}

/// Finds every `CONSTRAINT <name> CHECK (<body>)` in a CREATE TABLE text.
fn named_checks(sql: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = sql;
    while let Some(pos) = rest.find("CONSTRAINT ") {
        let after = &rest[pos + 11..];
        rest = after;
        let Some(name_end) = after.find(' ') else {
            break;
        };
        let name = after[..name_end].trim_matches('"').to_string();
        let tail = after[name_end..].trim_start();
        let Some(body) = tail.strip_prefix("CHECK") else {
            continue;
        };
        let body = body.trim_start();
        if !body.starts_with('(') {
            continue;
        }
        let mut depth = 0;
        for (i, ch) in body.char_indices() {
            match ch {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        out.push((name.clone(), body[1..i].to_string()));
                        break;
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Finds `CONSTRAINT <name> <kind> (<cols>)` in a CREATE TABLE text.
fn constraint_name_in_sql(sql: &str, kind: &str, cols: &[String]) -> Option<String> {
    let mut rest = sql;
    while let Some(pos) = rest.find("CONSTRAINT ") {
        let after = &rest[pos + 11..];
        let name_end = after.find(' ')?;
        let name = after[..name_end].trim_matches('"').to_string();
        let tail = after[name_end..].trim_start();
        if tail.starts_with(kind) {
            let open = tail.find('(')?;
            let close = tail.find(')')?;
            let listed: Vec<String> = tail[open + 1..close]
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect();
            if listed == cols {
                return Some(name);
            }
        }
        rest = after;
    }
    None
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => f.to_string(),
        Value::Null => String::new(),
        Value::Blob(b) => String::from_utf8_lossy(b).to_string(),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        Value::Text(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Maps a declared SQLite column type back to a SQLAlchemy type.
fn parse_decl_type(decl: &str) -> SqlType {
    let upper = decl.to_uppercase();
    let (base, args) = match upper.find('(') {
        Some(i) => (
            upper[..i].trim().to_string(),
            upper[i + 1..upper.len().saturating_sub(1)].to_string(),
        ),
        None => (upper.trim().to_string(), String::new()),
    };
    let nums: Vec<u32> = args
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    match base.as_str() {
        "INTEGER" | "INT" => SqlType::Integer,
        "BIGINT" => SqlType::BigInteger,
        "SMALLINT" => SqlType::SmallInteger,
        "VARCHAR" | "NVARCHAR" => SqlType::String(nums.first().copied()),
        "CHAR" | "NCHAR" => SqlType::Char(nums.first().copied()),
        "TEXT" => SqlType::Text,
        "BOOLEAN" => SqlType::Boolean {
            create_constraint: false,
            name: None,
        },
        "DATETIME" | "TIMESTAMP" => SqlType::DateTime { timezone: false },
        "DATE" => SqlType::Date,
        "TIME" => SqlType::Time {
            timezone: false,
            precision: None,
        },
        "FLOAT" => SqlType::Float { precision: None },
        "REAL" => SqlType::Named("REAL".into()),
        "NUMERIC" | "DECIMAL" => SqlType::Numeric {
            precision: nums.first().copied(),
            scale: nums.get(1).copied(),
        },
        "JSON" => SqlType::Json,
        "BLOB" => SqlType::LargeBinary,
        "" => SqlType::Null,
        other => SqlType::Named(other.to_string()),
    }
}

/// SQLAlchemy's `get_identity_options`: what `CREATE SEQUENCE` and
/// `GENERATED ... AS IDENTITY (...)` list.
fn sequence_options(seq: &Sequence) -> Vec<String> {
    let mut options = Vec::new();
    if let Some(n) = seq.increment {
        options.push(format!("INCREMENT BY {n}"));
    }
    if let Some(n) = seq.start {
        options.push(format!("START WITH {n}"));
    }
    if let Some(n) = seq.minvalue {
        options.push(format!("MINVALUE {n}"));
    }
    if let Some(n) = seq.maxvalue {
        options.push(format!("MAXVALUE {n}"));
    }
    if seq.nominvalue {
        options.push("NO MINVALUE".into());
    }
    if seq.nomaxvalue {
        options.push("NO MAXVALUE".into());
    }
    if let Some(n) = seq.cache {
        options.push(format!("CACHE {n}"));
    }
    if let Some(c) = seq.cycle {
        options.push(if c { "CYCLE" } else { "NO CYCLE" }.into());
    }
    options
}

/// SQLAlchemy's `define_constraint_deferrability`.
fn deferrability(deferrable: Option<bool>, initially: &Option<String>) -> String {
    let mut s = String::new();
    match deferrable {
        Some(true) => s.push_str(" DEFERRABLE"),
        Some(false) => s.push_str(" NOT DEFERRABLE"),
        None => {}
    }
    if let Some(i) = initially {
        s.push_str(&format!(" INITIALLY {i}"));
    }
    s
}

/// SQLAlchemy's INSERT of one row: `DEFAULT VALUES` when it names no column.
fn insert_sql(table: &str, cols: &[String], vals: &[String]) -> String {
    if cols.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES")
    } else {
        format!(
            "INSERT INTO {table} ({}) VALUES ({})",
            cols.join(", "),
            vals.join(", ")
        )
    }
}

#[cfg(test)]
mod reorder_tests {
    use super::reorder_columns;

    fn run(cols: &[&str], existing: &[&str], added: &[(&str, &str)]) -> Vec<String> {
        let cols = cols.iter().map(|c| (c.to_string(), ())).collect();
        let existing: Vec<String> = existing.iter().map(|c| c.to_string()).collect();
        let added: Vec<(String, String)> = added
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        reorder_columns(cols, &existing, &added)
            .unwrap_or_else(|_| panic!("cycle"))
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    // Orders measured with Alembic 1.20.1 on SQLite.
    #[test]
    fn added_column_follows_the_dropped_last_column() {
        // (id, code, kind) + add label, drop code ... downgrade: add code, drop label
        assert_eq!(
            run(
                &["id", "kind", "code"],
                &["id", "kind"],
                &[("label", "code")]
            ),
            ["id", "code", "kind"]
        );
    }

    #[test]
    fn adds_and_drops_interleaved() {
        // a b c d: add x, rename c, drop d, add y
        assert_eq!(
            run(
                &["a", "b", "c", "x", "y"],
                &["a", "b", "c"],
                &[("d", "x"), ("c", "y")]
            ),
            ["a", "x", "b", "c", "y"]
        );
    }
}
