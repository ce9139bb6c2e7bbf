//! Data statements of the expression language: `insert()`, `update()`,
//! `delete()` (both `sa.update(t)` and `t.update()`), `select()` inside them
//! (`scalar_subquery()`, `exists()`, `in_(select)`, `from_select`), and
//! the column expressions only they use (`case`, `cast`, `literal`,
//! `between`, `like(escape=)`, `is_(True)`, `label`). Plain Python values are
//! bound as SQLAlchemy binds them: with the column's type in `values()`,
//! with their own type in comparisons.

use super::*;

/// The calls by path this module evaluates (`sa.update(t)`, ...).
pub(super) fn call(name: &str, args: &Args) -> Option<EResult<Value>> {
    let span = args.span;
    Some(match name {
        "sa.insert" | "sa.update" | "sa.delete" => {
            let f = &name[3..];
            (|| {
                let b = bind_to(args, f, sig("sa.insert"))?;
                let t = match b.get(0) {
                    Some(Value::TableClause(t)) => t.clone(),
                    Some(Value::Table(t)) => table_clause(t),
                    Some(other) => {
                        return Err(problem(
                            b.span_of(0),
                            format!("{f}() takes a table, got {}", describe(other)),
                        ))
                    }
                    None => {
                        return Err(problem(
                            span,
                            format!("{f}() missing required argument 'table'"),
                        ))
                    }
                };
                Ok(statement(t, f))
            })()
        }
        "sa.select" => (|| {
            let b = bind_to(args, "select", sig("sa.select"))?;
            let mut s = Select::default();
            for (v, vs) in b.rest {
                match v {
                    Value::TableClause(t) => s.columns.extend(all_columns(&t)),
                    Value::Table(t) => s.columns.extend(all_columns(&table_clause(&t))),
                    other => s.columns.push(column_expr(other, vs, "select")?),
                }
            }
            Ok(Value::Select(Box::new(s)))
        })(),
        "sa.exists" => (|| {
            let b = bind_to(args, "exists", sig("sa.select"))?;
            let mut s = Select::default();
            for (v, vs) in b.rest {
                match v {
                    Value::Select(inner) if s.columns.is_empty() => s = *inner,
                    other => s.columns.push(column_expr(other, vs, "exists")?),
                }
            }
            Ok(Value::Exists(Box::new(s)))
        })(),
        "sa.case" => case(args),
        "sa.cast" => (|| {
            let b = bind_to(args, "cast", sig("sa.cast"))?;
            let e = column_expr(
                b.get(0).cloned().unwrap_or(Value::None),
                b.span_of(0),
                "cast",
            )?;
            let ty = as_type(b.get(1).unwrap_or(&Value::None), b.span_of(1))?;
            Ok(Value::Expr(SqlExpr::Cast {
                expr: Box::new(e),
                type_: ty,
            }))
        })(),
        "sa.literal" => (|| {
            let b = bind_to(args, "literal", sig("sa.literal"))?;
            let v = b.get(0).cloned().unwrap_or(Value::None);
            match b.get(1) {
                None | Some(Value::None) => {
                    let l = literal(&v, b.span_of(0))?;
                    Ok(Value::Expr(SqlExpr::Literal(l)))
                }
                Some(t) => {
                    let ty = as_type(t, b.span_of(1))?;
                    Ok(Value::Expr(value_for(&ty, v, b.span_of(0))?))
                }
            }
        })(),
        "sa.not_" => (|| {
            let b = bind_to(args, "not_", sig("sa.not_"))?;
            let e = column_expr(
                b.get(0).cloned().unwrap_or(Value::None),
                b.span_of(0),
                "not_",
            )?;
            Ok(Value::Expr(negate(e)))
        })(),
        "sa.func.count" if args.positional.is_empty() && args.keywords.is_empty() => {
            Ok(Value::Expr(SqlExpr::Func {
                name: "count".into(),
                args: vec![SqlExpr::Text("*".into())],
            }))
        }
        _ => return None,
    })
}

/// The refusal of any use of what `op.get_bind().execute()` returned
/// online (`what`: the attribute or use).
pub(super) fn result_used(span: Span, what: &str) -> RawProblem {
    problem(
        span,
        format!(
            "{what} of the result of op.get_bind().execute(): aurora executes the statement \
             with the revision's others but returns no rows to the revision, so a data \
             migration that reads rows (fetchall(), scalar(), looping) needs Alembic; or write \
             the change as one statement (update().values(col=select(...).scalar_subquery()), \
             insert().from_select(...), sa.text())"
        ),
    )
}

/// Whether [`method`] evaluates `m` on `recv`.
pub(super) fn handles(recv: &Value, m: &str, args: &Args) -> bool {
    match recv {
        Value::TableClause(_) => matches!(m, "insert" | "update" | "delete" | "select"),
        Value::Exec(e) => matches!(
            **e,
            Executable::Insert(_) | Executable::Update { .. } | Executable::Delete { .. }
        ),
        Value::Select(_) | Value::Exists(_) => true,
        Value::Expr(_) => {
            matches!(
                m,
                "is_"
                    | "is_not"
                    | "isnot"
                    | "like"
                    | "not_like"
                    | "notlike"
                    | "ilike"
                    | "not_ilike"
                    | "notilike"
                    | "between"
                    | "label"
                    | "cast"
                    | "concat"
            ) || (matches!(m, "in_" | "not_in" | "notin_")
                && matches!(args.positional.first(), Some((Value::Select(_), _))))
        }
        _ => false,
    }
}

pub(super) fn method(recv: Value, m: &str, args: Args) -> EResult<Value> {
    let span = args.span;
    match (recv, m) {
        (Value::TableClause(t), "select") => {
            bind_to(&args, "select", sig("TableClause.insert"))?;
            Ok(Value::Select(Box::new(Select {
                columns: all_columns(&t),
                ..Select::default()
            })))
        }
        (Value::TableClause(t), m) => {
            bind_to(&args, m, sig("TableClause.insert"))?;
            Ok(statement(t, m))
        }
        (Value::Exec(exe), m) => statement_method(*exe, m, args),
        (Value::Select(s), m) => select_method(*s, m, args),
        (Value::Exists(s), "where") => {
            let b = bind_to(&args, "where", sig("Executable.where"))?;
            let mut s = *s;
            for (v, vs) in b.rest {
                s.where_.push(condition(v, vs)?);
            }
            Ok(Value::Exists(Box::new(s)))
        }
        (Value::Exists(s), "select_from") => {
            let mut s = *s;
            select_from(&mut s, args)?;
            Ok(Value::Exists(Box::new(s)))
        }
        (Value::Exists(_), m) => Err(problem(
            span,
            format!("exists().{m}() is not supported by aurora"),
        )),
        (Value::Expr(e), m) => expr_method(e, m, args),
        (recv, m) => Err(problem(
            span,
            format!("unsupported call of '{m}' on {}", describe(&recv)),
        )),
    }
}

/// Refuses a statement SQLAlchemy would render with bound parameters
/// (`insert(t)` without values).
pub(super) fn check_complete(e: &Executable, span: Span) -> EResult<()> {
    match e {
        Executable::Insert(ins) if ins.columns.is_empty() => Err(problem(
            span,
            "insert() without values is not supported by aurora (SQLAlchemy writes bound \
             parameters or DEFAULT VALUES); give the values",
        )),
        Executable::Update { values, .. } if values.is_empty() => Err(problem(
            span,
            "update() without values(): SQLAlchemy writes a bound parameter for every column; \
             give the values",
        )),
        _ => Ok(()),
    }
}

fn statement(t: TableClause, f: &str) -> Value {
    Value::Exec(Box::new(match f {
        "insert" => Executable::Insert(Box::new(Insert {
            table: t,
            columns: Vec::new(),
            rows: Vec::new(),
            select: None,
        })),
        "update" => Executable::Update {
            table: t,
            values: Vec::new(),
            where_: None,
        },
        _ => Executable::Delete {
            table: t,
            where_: None,
        },
    }))
}

fn all_columns(t: &TableClause) -> Vec<SqlExpr> {
    t.columns
        .iter()
        .map(|(n, ty)| SqlExpr::Column {
            table: Some(t.name.clone()),
            schema: t.schema.clone(),
            name: n.clone(),
            type_: ty.clone(),
            class: Default::default(),
        })
        .collect()
}

/// A value used as a SQL expression: a select becomes its scalar subquery
/// only when asked (`scalar_subquery()`), as SQLAlchemy 2 requires.
pub(super) fn column_expr(v: Value, span: Span, what: &str) -> EResult<SqlExpr> {
    match v {
        Value::Select(_) => Err(problem(
            span,
            format!(
                "{what}() of a select(): SQLAlchemy 2 wants .scalar_subquery() (or .exists()) here"
            ),
        )),
        Value::Exists(s) => Ok(SqlExpr::Exists(s)),
        other => sql_expr(other, span),
    }
}

/// A WHERE criterion (see [`as_condition`]).
fn condition(v: Value, span: Span) -> EResult<SqlExpr> {
    Ok(as_condition(column_expr(v, span, "where")?))
}

fn statement_method(mut exe: Executable, m: &str, args: Args) -> EResult<Value> {
    let span = args.span;
    match m {
        "where" => {
            let b = bind_to(&args, "where", sig("Executable.where"))?;
            for (v, s) in b.rest {
                let cond = condition(v, s)?;
                let w = match &mut exe {
                    Executable::Update { where_, .. } | Executable::Delete { where_, .. } => where_,
                    _ => return Err(problem(span, "where() applies to update() and delete()")),
                };
                *w = Some(match w.take() {
                    None => cond,
                    Some(prev) => SqlExpr::Binary {
                        op: "AND",
                        left: Box::new(prev),
                        right: Box::new(cond),
                    },
                });
            }
            Ok(Value::Exec(Box::new(exe)))
        }
        "values" => {
            values(&mut exe, args)?;
            Ok(Value::Exec(Box::new(exe)))
        }
        "from_select" => {
            let Executable::Insert(ins) = &mut exe else {
                return Err(problem(span, "from_select() applies to insert()"));
            };
            let b = bind_to(&args, "from_select", sig("Insert.from_select"))?;
            let names = match b.get(0) {
                Some(Value::List(xs) | Value::Tuple(xs)) => xs
                    .iter()
                    .map(|x| match x {
                        Value::Str(s) => Ok(s.clone()),
                        Value::Expr(SqlExpr::Column { name, .. }) => Ok(name.clone()),
                        other => Err(problem(
                            b.span_of(0),
                            format!(
                                "from_select() names columns by name or column, got {}",
                                describe(other)
                            ),
                        )),
                    })
                    .collect::<EResult<Vec<_>>>()?,
                _ => {
                    return Err(problem(
                        b.span_of(0),
                        "from_select() takes a list of column names first",
                    ))
                }
            };
            for n in &names {
                if !ins.table.columns.iter().any(|(c, _)| c == n) {
                    return Err(problem(
                        b.span_of(0),
                        format!(
                            "CompileError: Unconsumed column names: {n} (table '{}' has no such column)",
                            ins.table.name
                        ),
                    ));
                }
            }
            let select = match b.get(1) {
                Some(Value::Select(s)) => s.clone(),
                other => {
                    return Err(problem(
                        b.span_of(1),
                        format!(
                            "from_select() takes a select(), got {}",
                            other.map(describe).unwrap_or_else(|| "nothing".into())
                        ),
                    ))
                }
            };
            if !ins.rows.is_empty() || ins.select.is_some() {
                return Err(problem(
                    span,
                    "from_select() on an insert() that already has values is not supported by aurora",
                ));
            }
            ins.columns = names;
            ins.select = Some(select);
            Ok(Value::Exec(Box::new(exe)))
        }
        _ => Err(problem(
            span,
            format!(
                "{m}() on an insert()/update()/delete() is not supported by aurora yet; \
                 write the statement with sa.text()"
            ),
        )),
    }
}

/// `values(...)`: keywords, a dict (keys names or columns), a list of
/// dicts (several rows, insert only) or a tuple in the table's column order.
/// SQLAlchemy lists the columns in the table's order, whatever the order
/// of the keywords, and refuses names that are not columns of the table.
fn values(exe: &mut Executable, args: Args) -> EResult<()> {
    let span = args.span;
    let b = bind_to(&args, "values", sig("Executable.values"))?;
    let (table, is_insert) = match exe {
        Executable::Insert(ins) => (ins.table.clone(), true),
        Executable::Update { table, .. } => (table.clone(), false),
        _ => return Err(problem(span, "values() applies to insert() and update()")),
    };
    let key_of = |k: &Value, s: Span| -> EResult<String> {
        match k {
            Value::Str(k) => Ok(k.clone()),
            Value::Expr(SqlExpr::Column { name, .. }) => Ok(name.clone()),
            other => Err(problem(
                s,
                format!(
                    "values() keys must be column names, got {}",
                    describe(other)
                ),
            )),
        }
    };
    let dict = |kv: &[(Value, Value)], s: Span| -> EResult<Vec<(String, Value, Span)>> {
        kv.iter()
            .map(|(k, v)| Ok((key_of(k, s)?, v.clone(), s)))
            .collect()
    };
    let mut rows: Vec<Vec<(String, Value, Span)>> = Vec::new();
    let mut single: Vec<(String, Value, Span)> = Vec::new();
    for (v, s) in b.rest {
        match v {
            Value::Dict(kv) => single.extend(dict(&kv, s)?),
            Value::List(items) if is_insert => {
                for item in items {
                    match item {
                        Value::Dict(kv) => rows.push(dict(&kv, s)?),
                        other => {
                            return Err(problem(
                                s,
                                format!(
                                    "values() of a list takes dicts (one per row), got {}",
                                    describe(&other)
                                ),
                            ))
                        }
                    }
                }
            }
            Value::Tuple(items) => {
                if items.len() > table.columns.len() {
                    return Err(problem(
                        s,
                        format!(
                            "values() of a tuple of {} values for the {} columns of '{}'",
                            items.len(),
                            table.columns.len(),
                            table.name
                        ),
                    ));
                }
                for ((c, _), v) in table.columns.iter().zip(items) {
                    single.push((c.clone(), v, s));
                }
            }
            other => {
                return Err(problem(
                    s,
                    format!("values() takes a dict, got {}", describe(&other)),
                ))
            }
        }
    }
    single.extend(b.extra);
    if !rows.is_empty() && !single.is_empty() {
        return Err(problem(
            span,
            "values() with both a list of rows and single values is not supported by aurora",
        ));
    }
    let bound = |row: Vec<(String, Value, Span)>| -> EResult<Vec<(String, SqlExpr)>> {
        let mut out = Vec::new();
        for (k, v, s) in row {
            let Some((_, ty)) = table.columns.iter().find(|(c, _)| *c == k) else {
                return Err(problem(
                    s,
                    format!(
                        "CompileError: Unconsumed column names: {k} (table '{}' has no such column)",
                        table.name
                    ),
                ));
            };
            let value = value_for(ty, v, s)?;
            out.retain(|(c, _): &(String, SqlExpr)| *c != k);
            out.push((k, value));
        }
        Ok(out)
    };
    match exe {
        Executable::Insert(ins) => {
            if ins.select.is_some() {
                return Err(problem(
                    span,
                    "values() after from_select() is not supported by aurora",
                ));
            }
            let mut keyed: Vec<Vec<(String, SqlExpr)>> = Vec::new();
            if rows.is_empty() {
                // Later values() calls add to (and override) the one row.
                let mut row: Vec<(String, SqlExpr)> = ins
                    .columns
                    .iter()
                    .cloned()
                    .zip(ins.rows.first().cloned().unwrap_or_default())
                    .collect();
                if ins.rows.len() > 1 {
                    return Err(problem(
                        span,
                        "values() after a list of rows is not supported by aurora",
                    ));
                }
                for (k, v) in bound(single)? {
                    row.retain(|(c, _)| *c != k);
                    row.push((k, v));
                }
                keyed.push(row);
            } else {
                if !ins.rows.is_empty() {
                    return Err(problem(
                        span,
                        "values() called twice with rows is not supported by aurora",
                    ));
                }
                for r in rows {
                    keyed.push(bound(r)?);
                }
            }
            let order = |k: &str| table.columns.iter().position(|(c, _)| c == k);
            let mut columns: Vec<String> = keyed[0].iter().map(|(k, _)| k.clone()).collect();
            columns.sort_by_key(|k| order(k));
            for r in &keyed {
                let mut ks: Vec<&String> = r.iter().map(|(k, _)| k).collect();
                ks.sort_by_key(|k| order(k));
                if ks.len() != columns.len() || ks.iter().zip(&columns).any(|(a, b)| *a != b) {
                    return Err(problem(
                        span,
                        "values() rows with different keys: SQLAlchemy requires every row to \
                         name the same columns",
                    ));
                }
            }
            if columns.is_empty() {
                return Err(problem(
                    span,
                    "insert() without values is not supported by aurora (SQLAlchemy writes \
                     bound parameters or DEFAULT VALUES); give the values",
                ));
            }
            ins.rows = keyed
                .into_iter()
                .map(|r| {
                    columns
                        .iter()
                        .map(|c| {
                            r.iter()
                                .find(|(k, _)| k == c)
                                .map(|(_, v)| v.clone())
                                .unwrap()
                        })
                        .collect()
                })
                .collect();
            ins.columns = columns;
        }
        Executable::Update { values, .. } => {
            if !rows.is_empty() {
                return Err(problem(span, "update().values() takes one row"));
            }
            for (k, v) in bound(single)? {
                values.retain(|(c, _)| *c != k);
                values.push((k, v));
            }
            let order = |k: &str| table.columns.iter().position(|(c, _)| c == k);
            values.sort_by_key(|(k, _)| order(k));
        }
        _ => unreachable!(),
    }
    Ok(())
}

/// A value of `values()` (or `literal(v, type_)`): SQL expressions as they
/// are, plain Python values bound with the column's type and rendered by
/// its literal processor, which refuses what it cannot render
/// (`CompileError: Could not render literal value`).
pub(super) fn value_for(ty: &SqlType, v: Value, span: Span) -> EResult<SqlExpr> {
    let plain = matches!(
        v,
        Value::Int(_) | Value::Float(_) | Value::Str(_) | Value::Bool(_) | Value::Literal(_)
    );
    if matches!(v, Value::None) {
        return Ok(SqlExpr::Literal(Literal::Null));
    }
    if !plain {
        return column_expr(v, span, "values");
    }
    let cannot = |what: &str| {
        Err(problem(
            span,
            format!(
                "CompileError: Could not render literal value {} with datatype {what}",
                builtins::py_repr(&v)
            ),
        ))
    };
    let no_renderer = |what: &str| {
        Err(problem(
            span,
            format!(
                "CompileError: No literal value renderer is available for literal value {} \
                 with datatype {what}; give the column a type",
                builtins::py_repr(&v)
            ),
        ))
    };
    let lit = |l| Ok(SqlExpr::Literal(l));
    match ty {
        SqlType::Null => no_renderer("NULL"),
        SqlType::Json | SqlType::Jsonb => no_renderer("JSON"),
        SqlType::Integer | SqlType::BigInteger | SqlType::SmallInteger => match &v {
            Value::Int(i) => lit(Literal::Int(*i)),
            Value::Bool(b) => lit(Literal::Int(*b as i64)),
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => lit(Literal::Int(i)),
                Err(_) => cannot("INTEGER"),
            },
            _ => cannot("INTEGER"),
        },
        SqlType::String(_) | SqlType::Char(_) | SqlType::Text | SqlType::Enum { .. } => match &v {
            Value::Str(s) => lit(Literal::Str(s.clone())),
            _ => cannot("VARCHAR"),
        },
        SqlType::Numeric { .. } | SqlType::Float { .. } | SqlType::Double => match &v {
            Value::Int(i) => lit(Literal::Int(*i)),
            Value::Float(f) => lit(Literal::Float(py_float_repr(*f))),
            Value::Literal(Literal::Decimal(d)) => lit(Literal::Decimal(d.clone())),
            _ => Err(problem(
                span,
                format!(
                    "{} bound to a numeric column is not supported by aurora; use an int, \
                     float or Decimal",
                    builtins::py_repr(&v)
                ),
            )),
        },
        other => Ok(SqlExpr::Literal(bound_literal(&v, Some(other), span)?)),
    }
}

fn select_from(s: &mut Select, args: Args) -> EResult<()> {
    let b = bind_to(&args, "select_from", sig("sa.select"))?;
    for (v, vs) in b.rest {
        let t = match v {
            Value::TableClause(t) => t,
            Value::Table(t) => table_clause(&t),
            other => {
                return Err(problem(
                    vs,
                    format!("select_from() takes a table, got {}", describe(&other)),
                ))
            }
        };
        s.from.push(FromItem::Table(t));
    }
    Ok(())
}

fn select_method(mut s: Select, m: &str, args: Args) -> EResult<Value> {
    let span = args.span;
    let exprs = |args: &Args, what: &str| -> EResult<Vec<SqlExpr>> {
        let b = bind_to(args, what, sig("sa.select"))?;
        b.rest
            .into_iter()
            .map(|(v, vs)| column_expr(v, vs, what))
            .collect()
    };
    match m {
        "where" | "filter" => {
            let b = bind_to(&args, m, sig("Executable.where"))?;
            for (v, vs) in b.rest {
                s.where_.push(condition(v, vs)?);
            }
        }
        "having" => {
            let b = bind_to(&args, m, sig("Executable.where"))?;
            for (v, vs) in b.rest {
                s.having.push(condition(v, vs)?);
            }
        }
        "order_by" => s.order_by.extend(exprs(&args, m)?),
        "group_by" => s.group_by.extend(exprs(&args, m)?),
        "limit" | "offset" => {
            let b = bind_to(&args, m, sig("Select.limit"))?;
            let n = match b.get(0) {
                Some(Value::Int(i)) => SqlExpr::Literal(Literal::Int(*i)),
                other => {
                    return Err(problem(
                        b.span_of(0),
                        format!(
                            "{m}() takes an int here, got {}",
                            other.map(describe).unwrap_or_else(|| "nothing".into())
                        ),
                    ))
                }
            };
            if m == "limit" {
                s.limit = Some(n);
            } else {
                s.offset = Some(n);
            }
        }
        "distinct" => {
            let b = bind_to(&args, m, sig("sa.select"))?;
            if !b.rest.is_empty() {
                return Err(problem(
                    span,
                    "distinct(*columns) (DISTINCT ON) is not supported by aurora",
                ));
            }
            s.distinct = true;
        }
        "select_from" => select_from(&mut s, args)?,
        "join" | "outerjoin" | "join_from" => {
            if m == "join_from" {
                return Err(problem(
                    span,
                    "join_from() is not supported by aurora yet; use select_from(a).join(b, on)",
                ));
            }
            let b = bind_to(&args, m, sig("Select.join"))?;
            let right = match b.get(0) {
                Some(Value::TableClause(t)) => t.clone(),
                Some(Value::Table(t)) => table_clause(t),
                _ => return Err(problem(b.span_of(0), format!("{m}() takes a table first"))),
            };
            let on = match b.get(1) {
                Some(v @ Value::Expr(_)) => sql_expr(v.clone(), b.span_of(1))?,
                _ => {
                    return Err(problem(
                        span,
                        format!("{m}() without an ON clause is not supported by aurora; give it"),
                    ))
                }
            };
            let outer = m == "outerjoin" || b.bool(2, "isouter")?.unwrap_or(false);
            if b.bool(3, "full")?.unwrap_or(false) {
                return Err(problem(span, "full joins are not supported by aurora"));
            }
            // The join starts from the explicit FROM, else the first
            // table of the columns (SQLAlchemy's leftmost FROM).
            let left = match s.from.pop() {
                Some(f) => f,
                None => {
                    let mut tables = Vec::new();
                    for c in &s.columns {
                        tables_of(c, &mut tables);
                    }
                    let Some((schema, name)) = tables.into_iter().next() else {
                        return Err(problem(
                            span,
                            format!("{m}() of a select() with no table to join from"),
                        ));
                    };
                    FromItem::Table(TableClause {
                        name,
                        schema,
                        columns: Vec::new(),
                    })
                }
            };
            s.from.push(FromItem::Join {
                left: Box::new(left),
                right,
                on: Box::new(on),
                outer,
            });
        }
        "scalar_subquery" | "as_scalar" => {
            bind_to(&args, m, sig("TableClause.insert"))?;
            if s.columns.len() != 1 {
                return Err(problem(
                    span,
                    format!(
                        "scalar_subquery() of a select() of {} columns: it must select one",
                        s.columns.len()
                    ),
                ));
            }
            return Ok(Value::Expr(SqlExpr::Subquery(Box::new(s))));
        }
        "exists" => {
            bind_to(&args, m, sig("TableClause.insert"))?;
            return Ok(Value::Exists(Box::new(s)));
        }
        "correlate" => {
            let b = bind_to(&args, m, sig("sa.select"))?;
            for (v, vs) in b.rest {
                let t = match v {
                    Value::TableClause(t) => t,
                    Value::Table(t) => table_clause(&t),
                    other => {
                        return Err(problem(
                            vs,
                            format!("correlate() takes tables here, got {}", describe(&other)),
                        ))
                    }
                };
                s.correlate.push((t.schema, t.name));
            }
        }
        _ => {
            return Err(problem(
                span,
                format!("select().{m}() is not supported by aurora yet"),
            ))
        }
    }
    Ok(Value::Select(Box::new(s)))
}

fn expr_method(e: SqlExpr, m: &str, args: Args) -> EResult<Value> {
    let span = args.span;
    match m {
        // `IS NULL` / `IS NOT NULL`, and `IS` of anything else as SQLAlchemy
        // binds it (`IS true`, `IS 1`, `IS t.x`).
        "is_" | "is_not" | "isnot" => {
            let b = bind_to(&args, m, sig("ColumnOperators.is_"))?;
            let right = match b.get(0).cloned().unwrap_or(Value::None) {
                Value::None => SqlExpr::Null,
                v => column_expr(v, b.span_of(0), m)?,
            };
            let right = match right {
                SqlExpr::Literal(Literal::Null) => SqlExpr::Null,
                r => r,
            };
            Ok(Value::Expr(SqlExpr::Binary {
                op: if m == "is_" { "IS" } else { "IS NOT" },
                left: Box::new(e),
                right: Box::new(right),
            }))
        }
        "like" | "not_like" | "notlike" | "ilike" | "not_ilike" | "notilike" => {
            let b = bind_to(&args, m, sig("ColumnOperators.like"))?;
            let pattern = column_expr(b.get(0).cloned().unwrap_or(Value::None), b.span_of(0), m)?;
            let escape = b.str(1, "escape")?;
            Ok(Value::Expr(SqlExpr::Like {
                expr: Box::new(e),
                pattern: Box::new(pattern),
                negate: m.starts_with("not"),
                ilike: m.ends_with("ilike"),
                escape,
            }))
        }
        "between" => {
            let b = bind_to(&args, m, sig("ColumnOperators.between"))?;
            if b.bool(2, "symmetric")?.unwrap_or(false) {
                return Err(problem(
                    span,
                    "between(symmetric=True) is not supported by aurora",
                ));
            }
            let low = column_expr(b.get(0).cloned().unwrap_or(Value::None), b.span_of(0), m)?;
            let high = column_expr(b.get(1).cloned().unwrap_or(Value::None), b.span_of(1), m)?;
            Ok(Value::Expr(SqlExpr::Between {
                expr: Box::new(e),
                low: Box::new(low),
                high: Box::new(high),
                negate: false,
            }))
        }
        "label" => {
            let b = bind_to(&args, m, sig("ColumnElement.label"))?;
            let name = b.req_str(0, "name", "label")?;
            Ok(Value::Expr(SqlExpr::Label {
                expr: Box::new(e),
                name,
            }))
        }
        "cast" => {
            let b = bind_to(&args, m, sig("ColumnElement.cast"))?;
            let ty = as_type(b.get(0).unwrap_or(&Value::None), b.span_of(0))?;
            Ok(Value::Expr(SqlExpr::Cast {
                expr: Box::new(e),
                type_: ty,
            }))
        }
        "concat" => {
            let b = bind_to(&args, m, sig("ColumnElement.cast"))?;
            let r = column_expr(b.get(0).cloned().unwrap_or(Value::None), b.span_of(0), m)?;
            Ok(Value::Expr(SqlExpr::Binary {
                op: "||",
                left: Box::new(e),
                right: Box::new(r),
            }))
        }
        // `in_(select(...))`; lists stay with the evaluator's IN.
        "in_" | "not_in" | "notin_" => {
            let b = bind_to(&args, m, sig("ColumnOperators.in_"))?;
            match b.get(0) {
                Some(Value::Select(s)) => Ok(Value::Expr(SqlExpr::InSelect {
                    expr: Box::new(e),
                    negate: m != "in_",
                    select: s.clone(),
                })),
                _ => Err(problem(span, "in_() not handled here")),
            }
        }
        _ => Err(problem(
            span,
            format!("unsupported call of '{m}' on a SQL expression"),
        )),
    }
}

/// `sa.case((cond, result), ..., value=..., else_=...)`, or with a dict of
/// `{compared value: result}` and `value=`.
fn case(args: &Args) -> EResult<Value> {
    let b = bind_to(args, "case", sig("sa.case"))?;
    let value = match b.get(0) {
        None | Some(Value::None) => None,
        Some(v) => Some(column_expr(v.clone(), b.span_of(0), "case")?),
    };
    let else_ = match b.get(1) {
        None => None,
        Some(v) => Some(Box::new(column_expr(v.clone(), b.span_of(1), "case")?)),
    };
    let mut whens = Vec::new();
    for (v, vs) in b.rest {
        match v {
            Value::Tuple(pair) | Value::List(pair) if pair.len() == 2 => {
                let mut it = pair.into_iter();
                let (c, r) = (it.next().unwrap(), it.next().unwrap());
                let cond = if value.is_some() {
                    column_expr(c, vs, "case")?
                } else {
                    as_condition(column_expr(c, vs, "case")?)
                };
                whens.push((cond, column_expr(r, vs, "case")?));
            }
            Value::Dict(kv) if value.is_some() => {
                for (k, r) in kv {
                    whens.push((column_expr(k, vs, "case")?, column_expr(r, vs, "case")?));
                }
            }
            other => {
                return Err(problem(
                    vs,
                    format!(
                        "case() takes (condition, result) tuples{}, got {}",
                        if value.is_some() { " or a dict" } else { "" },
                        describe(&other)
                    ),
                ))
            }
        }
    }
    if whens.is_empty() {
        return Err(problem(b.span, "case() without WHEN clauses"));
    }
    Ok(Value::Expr(SqlExpr::Case {
        value: value.map(Box::new),
        whens,
        else_,
    }))
}

fn sig(path: &str) -> &'static Signature {
    SIGNATURES
        .iter()
        .find(|s| s.path == path)
        .unwrap_or_else(|| panic!("no signature for {path}"))
}

/// The signatures of the calls this module evaluates.
const SIGNATURES: &[Signature] = &[
    Signature {
        path: "sa.insert",
        params: &["table"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.select",
        params: &[],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.case",
        params: &["value", "else_"],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.cast",
        params: &["expression", "type_"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "sa.literal",
        params: &["value", "type_", "literal_execute"],
        rest: false,
        extra: false,
        unsupported: &["literal_execute"],
    },
    Signature {
        path: "sa.not_",
        params: &["clause"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "TableClause.insert",
        params: &[],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "Executable.where",
        params: &[],
        rest: true,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "Executable.values",
        params: &[],
        rest: true,
        extra: true,
        unsupported: &[],
    },
    Signature {
        path: "Insert.from_select",
        params: &["names", "select", "include_defaults"],
        rest: false,
        extra: false,
        unsupported: &["include_defaults"],
    },
    Signature {
        path: "Select.limit",
        params: &["limit"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "Select.join",
        params: &["target", "onclause", "isouter", "full"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnOperators.is_",
        params: &["other"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnOperators.like",
        params: &["other", "escape"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnOperators.between",
        params: &["cleft", "cright", "symmetric"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnOperators.in_",
        params: &["other"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnElement.label",
        params: &["name"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
    Signature {
        path: "ColumnElement.cast",
        params: &["type_"],
        rest: false,
        extra: false,
        unsupported: &[],
    },
];
