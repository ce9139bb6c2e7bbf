//! A model's `Index(...)` as autogenerate sees it: its elements (columns, and SQL
//! expressions compiled as SQLAlchemy compiles them with literal values and without
//! table names) and the dialect options Alembic renders on `create_index`.

use super::{Index, IndexElement, IndexExpression};
use crate::env::schema::Construct;
use crate::env::sqlalchemy::TextClause;
use crate::interp::{Args, Value};
use crate::sql::{quote_identifier, Dialect};
use crate::template::repr_str;

/// The address aurora shows for every object in a `repr` (SQLAlchemy shows `id()`).
const ADDRESS: &str = "0x7f0000000000";

/// SQLAlchemy's registered `GenericFunction`s: `func.<name>` makes an object of that class
/// (its `repr` names it); any other name makes a plain `Function`.
const GENERIC_FUNCTIONS: &[&str] = &[
    "aggregate_strings",
    "array_agg",
    "char_length",
    "coalesce",
    "concat",
    "count",
    "cube",
    "cume_dist",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "dense_rank",
    "grouping_sets",
    "localtime",
    "localtimestamp",
    "max",
    "min",
    "mode",
    "now",
    "percent_rank",
    "percentile_cont",
    "percentile_disc",
    "pow",
    "random",
    "rank",
    "rollup",
    "session_user",
    "sum",
    "sysdate",
    "user",
];

/// The ANSI functions SQLAlchemy writes without parentheses when called without arguments.
const ANSI_FUNCTIONS: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "localtime",
    "localtimestamp",
    "session_user",
    "sysdate",
    "user",
];

/// The keyword arguments a model `Index(...)` may carry here.
pub const INDEX_KEYWORDS: &[&str] = &[
    "unique",
    "postgresql_using",
    "postgresql_where",
    "postgresql_include",
];

/// Reads `Index(name, *elements, **kw)`; `column_of` names the column a value is (a
/// column object of the table), if it is one.
pub fn read_index(
    args: &Args,
    dialect: Dialect,
    column_of: &dyn Fn(&Value) -> Option<String>,
) -> Result<Index, String> {
    for (k, _) in &args.keywords {
        if !INDEX_KEYWORDS.contains(&k.as_str()) {
            return Err(format!("Index({k}=...) is not supported for autogenerate"));
        }
    }
    let Some(Value::Str(name)) = args.positional.first() else {
        return Err("Index needs a name and columns".into());
    };
    let mut index = Index::on_columns(name.to_string(), Vec::new(), false);
    for value in &args.positional[1..] {
        let (element, column) = element(value, dialect, column_of)?;
        index.columns.extend(column);
        index.elements.push(element);
    }
    if index.elements.is_empty() {
        return Err(format!("Index({name:?}) names no column"));
    }
    index.unique = match args.keyword("unique") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(other) => return Err(format!("unique={} must be True or False", other.repr())),
    };
    // `Index.dialect_kwargs` in the order they were given, rendered as Alembic's
    // `_render_potential_expr` renders each value.
    for (k, v) in &args.keywords {
        let rendered = match (k.as_str(), v) {
            ("unique", _) => continue,
            ("postgresql_using", Value::Str(s)) => repr_str(s),
            ("postgresql_where", Value::Str(s)) => repr_str(s),
            ("postgresql_where", v) if v.downcast::<TextClause>().is_some() => {
                let text = &v.downcast::<TextClause>().expect("checked").0;
                format!("sa.text({})", repr_str(text))
            }
            ("postgresql_include", Value::List(l)) => {
                let names = l
                    .borrow()
                    .iter()
                    .map(|c| match c {
                        Value::Str(s) => Ok(repr_str(s)),
                        other => column_of(other).map(|n| repr_str(&n)).ok_or_else(|| {
                            format!(
                                "postgresql_include: aurora reads column names or this table's \
                                 columns, not {}",
                                other.repr()
                            )
                        }),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                format!("[{}]", names.join(", "))
            }
            (k, other) => {
                return Err(format!(
                    "Index({k}={}) is not supported for autogenerate; aurora reads a string, \
                     text(...) for postgresql_where, a list for postgresql_include",
                    other.repr()
                ))
            }
        };
        index.dialect_kwargs.push(format!("{k}={rendered}"));
    }
    Ok(index)
}

/// One element: a column named by a string or by the column object, or an expression;
/// with the first column it names (SQLAlchemy's `Index.columns`).
fn element(
    value: &Value,
    dialect: Dialect,
    column_of: &dyn Fn(&Value) -> Option<String>,
) -> Result<(IndexElement, Option<String>), String> {
    if let Value::Str(s) = value {
        return Ok((IndexElement::Column(s.to_string()), Some(s.to_string())));
    }
    if let Some(name) = column_of(value) {
        return Ok((IndexElement::Column(name.clone()), Some(name)));
    }
    let compiled = compile(value, dialect, column_of, true)?;
    if compiled.sql.trim_end().ends_with("_ops")
        && (compiled.sql.contains(' ') || compiled.sql.contains(')'))
    {
        return Err(format!(
            "the index expression {} includes an operator class, which Alembic cannot \
             compare (it warns and skips the index); aurora refuses it: move the operator \
             class to postgresql_ops",
            repr_str(&compiled.sql)
        ));
    }
    Ok((
        // `self_group()` leaves functions, sorted elements and text as they are.
        IndexElement::Expression(IndexExpression {
            grouped: compiled.sql.clone(),
            sql: compiled.sql,
            repr: compiled.repr,
            sorted_column: compiled.sorted_column,
        }),
        compiled.first_column,
    ))
}

/// An expression compiled as SQLAlchemy compiles it for DDL.
struct Compiled {
    sql: String,
    repr: String,
    first_column: Option<String>,
    /// A column, or a column under sort modifiers only.
    sorted_column: bool,
}

fn compile(
    value: &Value,
    dialect: Dialect,
    column_of: &dyn Fn(&Value) -> Option<String>,
    top: bool,
) -> Result<Compiled, String> {
    let plain = |sql: String, repr: String| Compiled {
        sql,
        repr,
        first_column: None,
        sorted_column: false,
    };
    if let Some(name) = column_of(value) {
        return Ok(Compiled {
            sql: quote_identifier(&name, dialect),
            repr: String::new(),
            first_column: Some(name),
            sorted_column: true,
        });
    }
    if let Some(t) = value.downcast::<TextClause>() {
        return Ok(plain(
            t.0.clone(),
            format!("<alembic.util.sqla_compat._textual_index_element object at {ADDRESS}>"),
        ));
    }
    if !top {
        // A plain Python value inside an expression is a bound literal.
        let literal = match value {
            Value::Str(s) => Some(format!("'{}'", s.replace('\'', "''"))),
            Value::Int(i) => Some(i.to_string()),
            Value::Bool(b) => Some(
                match (b, dialect) {
                    (true, Dialect::Postgresql) => "true",
                    (false, Dialect::Postgresql) => "false",
                    (true, Dialect::Sqlite) => "1",
                    (false, Dialect::Sqlite) => "0",
                }
                .to_string(),
            ),
            Value::None => Some("NULL".to_string()),
            _ => None,
        };
        if let Some(sql) = literal {
            return Ok(plain(sql, String::new()));
        }
    }
    let unsupported = || {
        format!(
            "Index: aurora reads columns, text(...), literal_column(...), func.<name>(...) and \
             .desc()/.asc()/.nulls_first()/.nulls_last() here, not {}",
            value.repr()
        )
    };
    let Some(c) = value.downcast::<Construct>() else {
        return Err(unsupported());
    };
    let args = c.args.clone().unwrap_or_default();
    let modifier = match (&c.receiver, c.name.rsplit('.').next()) {
        (Some(_), Some("desc")) => Some("DESC"),
        (Some(_), Some("asc")) => Some("ASC"),
        (Some(_), Some("nulls_first")) => Some("NULLS FIRST"),
        (Some(_), Some("nulls_last")) => Some("NULLS LAST"),
        (Some(_), _) => return Err(unsupported()),
        (None, _) => None,
    };
    if let (Some(modifier), Some(receiver)) = (modifier, &c.receiver) {
        if !args.positional.is_empty() || !args.keywords.is_empty() {
            return Err(unsupported());
        }
        let inner = compile(receiver, dialect, column_of, false)?;
        return Ok(Compiled {
            sql: format!("{} {modifier}", inner.sql),
            repr: format!("<sqlalchemy.sql.elements.UnaryExpression object at {ADDRESS}>"),
            first_column: inner.first_column,
            sorted_column: inner.sorted_column,
        });
    }
    if let Some(function) = c.name.strip_prefix("func.") {
        if !args.keywords.is_empty() || function.contains('.') {
            return Err(unsupported());
        }
        let mut first_column = None;
        let mut parts = Vec::new();
        for a in &args.positional {
            let inner = compile(a, dialect, column_of, false)?;
            first_column = first_column.or(inner.first_column);
            parts.push(inner.sql);
        }
        let lower = function.to_lowercase();
        let sql = if parts.is_empty() && ANSI_FUNCTIONS.contains(&lower.as_str()) {
            function.to_uppercase()
        } else if parts.is_empty() && lower == "count" {
            format!("{function}(*)")
        } else {
            format!("{function}({})", parts.join(", "))
        };
        let class = if GENERIC_FUNCTIONS.contains(&lower.as_str()) {
            lower.as_str()
        } else {
            "Function"
        };
        return Ok(Compiled {
            sql,
            repr: format!("<sqlalchemy.sql.functions.{class} at {ADDRESS}; {function}>"),
            first_column,
            sorted_column: false,
        });
    }
    if c.name == "literal_column" {
        return match args.positional.as_slice() {
            [Value::Str(s)] if args.keywords.is_empty() => Ok(plain(
                s.to_string(),
                format!("<sqlalchemy.sql.elements.ColumnClause at {ADDRESS}; {s}>"),
            )),
            _ => Err(unsupported()),
        };
    }
    Err(unsupported())
}
