//! The data statements of the expression language (`insert()`, `update()`,
//! `delete()`, `select()` inside them) and SQLAlchemy's typing of the SQL
//! expressions in them: what `+` means, how a divisor is cast, where a
//! boolean becomes `x = 1` on a database without a native boolean.

use super::{Literal, SqlExpr, SqlType, TableClause};

/// `insert(t).values(...)` (one row or several) or
/// `insert(t).from_select(names, select)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: TableClause,
    pub columns: Vec<String>,
    /// One list of values per row, in `columns`' order (empty with a select).
    pub rows: Vec<Vec<SqlExpr>>,
    pub select: Option<Box<Select>>,
}

/// `select(...)` as a subquery, an `EXISTS`, an `IN` set or an
/// `INSERT ... SELECT`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    /// The columns; empty for `exists()`'s `SELECT *`.
    pub columns: Vec<SqlExpr>,
    /// `select_from(...)` and `join(...)`: FROM items given explicitly.
    pub from: Vec<FromItem>,
    pub where_: Vec<SqlExpr>,
    pub group_by: Vec<SqlExpr>,
    pub having: Vec<SqlExpr>,
    pub order_by: Vec<SqlExpr>,
    pub limit: Option<SqlExpr>,
    pub offset: Option<SqlExpr>,
    pub distinct: bool,
    /// `correlate(t, ...)`: tables left out of FROM when the enclosing
    /// statement has them, even when they are the only ones.
    pub correlate: Vec<(Option<String>, String)>,
}

/// A FROM item: a table or a join.
#[derive(Debug, Clone, PartialEq)]
pub enum FromItem {
    Table(TableClause),
    Join {
        left: Box<FromItem>,
        right: TableClause,
        on: Box<SqlExpr>,
        outer: bool,
    },
}

impl FromItem {
    /// The tables it names, leftmost first.
    pub fn tables(&self) -> Vec<(Option<String>, String)> {
        match self {
            FromItem::Table(t) => vec![(t.schema.clone(), t.name.clone())],
            FromItem::Join { left, right, .. } => {
                let mut v = left.tables();
                v.push((right.schema.clone(), right.name.clone()));
                v
            }
        }
    }
}

/// The tables an expression's columns belong to, in order of appearance,
/// each once; subqueries are their own statements and add nothing
/// (SQLAlchemy's `_from_objects`).
pub fn tables_of(e: &SqlExpr, out: &mut Vec<(Option<String>, String)>) {
    let mut push = |k: (Option<String>, String)| {
        if !out.contains(&k) {
            out.push(k)
        }
    };
    match e {
        SqlExpr::Column {
            table: Some(t),
            schema,
            ..
        } => push((schema.clone(), t.clone())),
        SqlExpr::Binary { left, right, .. } => {
            tables_of(left, out);
            tables_of(right, out);
        }
        SqlExpr::Func { args, .. } => args.iter().for_each(|a| tables_of(a, out)),
        SqlExpr::Ordered { expr, .. }
        | SqlExpr::Unary { operand: expr, .. }
        | SqlExpr::AsBool { expr, .. }
        | SqlExpr::Cast { expr, .. }
        | SqlExpr::Label { expr, .. }
        | SqlExpr::InSelect { expr, .. } => tables_of(expr, out),
        SqlExpr::In { expr, values, .. } => {
            tables_of(expr, out);
            values.iter().for_each(|a| tables_of(a, out));
        }
        SqlExpr::Like { expr, pattern, .. } => {
            tables_of(expr, out);
            tables_of(pattern, out);
        }
        SqlExpr::Between {
            expr, low, high, ..
        } => {
            tables_of(expr, out);
            tables_of(low, out);
            tables_of(high, out);
        }
        SqlExpr::Case {
            value,
            whens,
            else_,
        } => {
            if let Some(v) = value {
                tables_of(v, out);
            }
            for (w, t) in whens {
                tables_of(w, out);
                tables_of(t, out);
            }
            if let Some(e) = else_ {
                tables_of(e, out);
            }
        }
        _ => {}
    }
}

/// The type SQLAlchemy gives an expression (`SqlType::Null` is its
/// `NullType`, a type it does not know).
pub fn type_of(e: &SqlExpr) -> SqlType {
    match e {
        SqlExpr::Column { type_, .. } => type_.clone(),
        SqlExpr::Literal(l) | SqlExpr::InlineLiteral(l) => literal_type(l),
        SqlExpr::Binary { op, left, right } => match *op {
            "||" => SqlType::String(None),
            "+" | "-" | "*" | "%" => {
                let (l, r) = (type_of(left), type_of(right));
                match (&l, &r) {
                    (SqlType::Null, _) => r,
                    (
                        SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger,
                        SqlType::Numeric { .. } | SqlType::Float { .. } | SqlType::Double,
                    ) => r,
                    _ => l,
                }
            }
            "/" => match type_of(left) {
                SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger => {
                    SqlType::Numeric {
                        precision: None,
                        scale: None,
                    }
                }
                other => other,
            },
            _ => boolean(),
        },
        SqlExpr::Func { name, args } => match name.to_lowercase().as_str() {
            "count" | "char_length" => SqlType::Integer,
            "coalesce" | "max" | "min" | "sum" => args
                .iter()
                .map(type_of)
                .find(|t| *t != SqlType::Null)
                .unwrap_or(SqlType::Null),
            "now" | "current_timestamp" | "localtimestamp" => SqlType::DateTime { timezone: false },
            "current_date" => SqlType::Date,
            "concat" => SqlType::String(None),
            _ => SqlType::Null,
        },
        SqlExpr::Bool(_)
        | SqlExpr::In { .. }
        | SqlExpr::InSelect { .. }
        | SqlExpr::Like { .. }
        | SqlExpr::Between { .. }
        | SqlExpr::Exists(_)
        | SqlExpr::AsBool { .. } => boolean(),
        SqlExpr::Unary { op, operand } => {
            if *op == "NOT" {
                boolean()
            } else {
                type_of(operand)
            }
        }
        SqlExpr::Case { whens, else_, .. } => whens
            .iter()
            .map(|(_, t)| t)
            .chain(else_.as_deref())
            .map(type_of)
            .find(|t| *t != SqlType::Null)
            .unwrap_or(SqlType::Null),
        SqlExpr::Cast { type_, .. } => type_.clone(),
        SqlExpr::Label { expr, .. } | SqlExpr::Ordered { expr, .. } => type_of(expr),
        SqlExpr::Subquery(s) => s.columns.first().map(type_of).unwrap_or(SqlType::Null),
        SqlExpr::Text(_) | SqlExpr::Null => SqlType::Null,
    }
}

fn boolean() -> SqlType {
    SqlType::Boolean {
        create_constraint: false,
        name: None,
    }
}

/// The type SQLAlchemy infers from a Python value (`_resolve_value_to_type`).
pub fn literal_type(l: &Literal) -> SqlType {
    match l {
        Literal::Int(_) => SqlType::Integer,
        Literal::Str(_) => SqlType::String(None),
        Literal::Float(_) => SqlType::Double,
        Literal::Bool(_) => boolean(),
        Literal::Decimal(_) => SqlType::Numeric {
            precision: None,
            scale: None,
        },
        Literal::Date(..) => SqlType::Date,
        Literal::DateTime(..) | Literal::DateTimeTz(..) => SqlType::DateTime { timezone: false },
        _ => SqlType::Null,
    }
}

/// Whether SQLAlchemy sees the expression as a boolean condition already
/// (`_is_implicitly_boolean`: comparisons, AND/OR, IN, LIKE, EXISTS, ...).
pub fn implicitly_boolean(e: &SqlExpr) -> bool {
    match e {
        SqlExpr::Binary { op, .. } => !matches!(*op, "+" | "-" | "*" | "/" | "%" | "||"),
        SqlExpr::In { .. }
        | SqlExpr::InSelect { .. }
        | SqlExpr::Like { .. }
        | SqlExpr::Between { .. }
        | SqlExpr::Exists(_)
        | SqlExpr::AsBool { .. } => true,
        SqlExpr::Unary { op, operand } => *op == "NOT" && implicitly_boolean(operand),
        _ => false,
    }
}

/// `e` where SQLAlchemy wants a condition (a WHERE clause, an operand of
/// AND/OR): a Boolean-typed value that is not a comparison is tested as
/// `IS TRUE` (`AsBoolean`), which a database without a native boolean
/// writes `x = 1`.
pub fn as_condition(e: SqlExpr) -> SqlExpr {
    if !implicitly_boolean(&e) && matches!(type_of(&e), SqlType::Boolean { .. }) {
        SqlExpr::AsBool {
            expr: Box::new(e),
            negate: false,
        }
    } else {
        e
    }
}

/// `~e` / `sa.not_(e)` as SQLAlchemy negates it: comparisons take their
/// opposite operator, a Boolean value becomes `IS FALSE`, anything else is
/// `NOT (e)`.
pub fn negate(e: SqlExpr) -> SqlExpr {
    match e {
        SqlExpr::Binary { op, left, right } => {
            let opposite = match op {
                "=" => Some("!="),
                "!=" => Some("="),
                "<" => Some(">="),
                ">=" => Some("<"),
                ">" => Some("<="),
                "<=" => Some(">"),
                "IS" => Some("IS NOT"),
                "IS NOT" => Some("IS"),
                _ => None,
            };
            match opposite {
                Some(op) => SqlExpr::Binary { op, left, right },
                None if implicitly_boolean(&SqlExpr::Binary {
                    op,
                    left: left.clone(),
                    right: right.clone(),
                }) =>
                {
                    SqlExpr::Unary {
                        op: "NOT",
                        operand: Box::new(SqlExpr::Binary { op, left, right }),
                    }
                }
                None => not_of(SqlExpr::Binary { op, left, right }),
            }
        }
        SqlExpr::In {
            expr,
            negate,
            values,
        } => SqlExpr::In {
            expr,
            negate: !negate,
            values,
        },
        SqlExpr::InSelect {
            expr,
            negate,
            select,
        } => SqlExpr::InSelect {
            expr,
            negate: !negate,
            select,
        },
        SqlExpr::Like {
            expr,
            pattern,
            negate,
            ilike,
            escape,
        } => SqlExpr::Like {
            expr,
            pattern,
            negate: !negate,
            ilike,
            escape,
        },
        SqlExpr::Between {
            expr,
            low,
            high,
            negate,
        } => SqlExpr::Between {
            expr,
            low,
            high,
            negate: !negate,
        },
        SqlExpr::AsBool { expr, negate } => SqlExpr::AsBool {
            expr,
            negate: !negate,
        },
        SqlExpr::Bool(b) => SqlExpr::Bool(!b),
        SqlExpr::Unary { op: "NOT", operand } => *operand,
        e @ SqlExpr::Exists(_) => SqlExpr::Unary {
            op: "NOT",
            operand: Box::new(e),
        },
        other => not_of(other),
    }
}

fn not_of(e: SqlExpr) -> SqlExpr {
    if matches!(type_of(&e), SqlType::Boolean { .. }) && !implicitly_boolean(&e) {
        SqlExpr::AsBool {
            expr: Box::new(e),
            negate: true,
        }
    } else {
        SqlExpr::Unary {
            op: "NOT",
            operand: Box::new(e),
        }
    }
}
