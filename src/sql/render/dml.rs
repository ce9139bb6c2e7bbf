//! The data statements (`INSERT`, `UPDATE`, `DELETE`) and the `SELECT`s
//! inside them, as SQLAlchemy's statement compiler writes them with
//! `literal_binds`: subquery columns labelled (`max(x) AS max_1`, `anon_1`),
//! FROM lists with auto-correlation, `UPDATE ... FROM` / `DELETE ... USING`
//! for other tables, and the expressions only data statements use.

use super::{Fail, Renderer};
use crate::ops::*;
use std::collections::BTreeMap;

type TableKey = (Option<String>, String);

fn key(t: &TableClause) -> TableKey {
    (t.schema.clone(), t.name.clone())
}

/// Statement-wide state of compiling one statement: the counters of
/// anonymous labels (`anon_1`, `count_1`, ...).
#[derive(Default)]
struct Labels {
    counts: BTreeMap<String, usize>,
}

impl Labels {
    fn next(&mut self, base: &str) -> String {
        let n = self.counts.entry(base.to_string()).or_insert(0);
        *n += 1;
        format!("{base}_{n}")
    }
}

impl Renderer {
    pub(super) fn insert_sql(&self, ins: &Insert) -> Result<String, Fail> {
        let mut labels = Labels::default();
        let table = self.table_name(&ins.table.name, &ins.table.schema);
        let cols: Vec<String> = ins.columns.iter().map(|c| self.q(c)).collect();
        if let Some(select) = &ins.select {
            let s = self.resolve(select, &[], &mut labels)?;
            return Ok(format!(
                "INSERT INTO {table} ({}) {}",
                cols.join(", "),
                self.select_sql(&s)
            ));
        }
        let mut rows = Vec::new();
        for row in &ins.rows {
            let mut vals = Vec::new();
            for v in row {
                let v = self.resolve_expr(v, &[key(&ins.table)], &mut labels)?;
                vals.push(self.grouped(&v, None));
            }
            rows.push(format!("({})", vals.join(", ")));
        }
        Ok(format!(
            "INSERT INTO {table} ({}) VALUES {}",
            cols.join(", "),
            rows.join(", ")
        ))
    }

    pub(super) fn update_sql(
        &self,
        table: &TableClause,
        values: &[(String, SqlExpr)],
        where_: &Option<SqlExpr>,
    ) -> Result<String, Fail> {
        let mut labels = Labels::default();
        let target = [key(table)];
        let mut sets = Vec::new();
        for (k, v) in values {
            let v = self.resolve_expr(v, &target, &mut labels)?;
            sets.push(format!("{}={}", self.q(k), self.grouped(&v, None)));
        }
        let where_ = match where_ {
            Some(w) => Some(self.resolve_expr(w, &target, &mut labels)?),
            None => None,
        };
        // SQLAlchemy's `_extra_froms`: the other tables of the WHERE
        // clause, then of the SET values.
        let mut tables = Vec::new();
        if let Some(w) = &where_ {
            tables_of(w, &mut tables);
        }
        for (_, v) in values {
            tables_of(v, &mut tables);
        }
        tables.retain(|t| *t != target[0]);
        let mut s = format!(
            "UPDATE {} SET {}",
            self.table_name(&table.name, &table.schema),
            sets.join(", ")
        );
        if !tables.is_empty() {
            let names: Vec<String> = tables.iter().map(|(s, n)| self.table_name(n, s)).collect();
            s.push_str(&format!(" FROM {}", names.join(", ")));
        }
        if let Some(w) = where_ {
            s.push_str(&format!(" WHERE {}", self.expr(&w)));
        }
        Ok(s)
    }

    pub(super) fn delete_sql(
        &self,
        table: &TableClause,
        where_: &Option<SqlExpr>,
    ) -> Result<String, Fail> {
        let mut labels = Labels::default();
        let target = [key(table)];
        let mut s = format!(
            "DELETE FROM {}",
            self.table_name(&table.name, &table.schema)
        );
        if let Some(w) = where_ {
            let w = self.resolve_expr(w, &target, &mut labels)?;
            let mut tables = Vec::new();
            tables_of(&w, &mut tables);
            tables.retain(|t| *t != target[0]);
            if !tables.is_empty() {
                if !self.d.delete_using() {
                    return Err(Fail::Exception(
                        "NotImplementedError".into(),
                        "This backend does not support multiple-table criteria within DELETE"
                            .into(),
                    ));
                }
                let names: Vec<String> =
                    tables.iter().map(|(s, n)| self.table_name(n, s)).collect();
                s.push_str(&format!(" USING {}", names.join(", ")));
            }
            s.push_str(&format!(" WHERE {}", self.expr(&w)));
        }
        Ok(s)
    }

    /// `e` with each subquery in it resolved (see [`Self::resolve`]), in
    /// the order SQLAlchemy compiles them.
    fn resolve_expr(
        &self,
        e: &SqlExpr,
        enclosing: &[TableKey],
        labels: &mut Labels,
    ) -> Result<SqlExpr, Fail> {
        Ok(match e {
            SqlExpr::Subquery(s) => {
                SqlExpr::Subquery(Box::new(self.resolve(s, enclosing, labels)?))
            }
            SqlExpr::Exists(s) => SqlExpr::Exists(Box::new(self.resolve(s, enclosing, labels)?)),
            SqlExpr::InSelect {
                expr,
                negate,
                select,
            } => {
                let expr = Box::new(self.resolve_expr(expr, enclosing, labels)?);
                SqlExpr::InSelect {
                    expr,
                    negate: *negate,
                    select: Box::new(self.resolve(select, enclosing, labels)?),
                }
            }
            SqlExpr::Binary { op, left, right } => SqlExpr::Binary {
                op,
                left: Box::new(self.resolve_expr(left, enclosing, labels)?),
                right: Box::new(self.resolve_expr(right, enclosing, labels)?),
            },
            SqlExpr::Func { name, args } => SqlExpr::Func {
                name: name.clone(),
                args: args
                    .iter()
                    .map(|a| self.resolve_expr(a, enclosing, labels))
                    .collect::<Result<_, _>>()?,
            },
            SqlExpr::Unary { op, operand } => SqlExpr::Unary {
                op,
                operand: Box::new(self.resolve_expr(operand, enclosing, labels)?),
            },
            SqlExpr::AsBool { expr, negate } => SqlExpr::AsBool {
                expr: Box::new(self.resolve_expr(expr, enclosing, labels)?),
                negate: *negate,
            },
            SqlExpr::Cast { expr, type_ } => SqlExpr::Cast {
                expr: Box::new(self.resolve_expr(expr, enclosing, labels)?),
                type_: type_.clone(),
            },
            SqlExpr::Label { expr, name } => SqlExpr::Label {
                expr: Box::new(self.resolve_expr(expr, enclosing, labels)?),
                name: name.clone(),
            },
            SqlExpr::Case {
                value,
                whens,
                else_,
            } => {
                let value = match value {
                    Some(v) => Some(Box::new(self.resolve_expr(v, enclosing, labels)?)),
                    None => None,
                };
                let mut ws = Vec::new();
                for (w, t) in whens {
                    ws.push((
                        self.resolve_expr(w, enclosing, labels)?,
                        self.resolve_expr(t, enclosing, labels)?,
                    ));
                }
                let else_ = match else_ {
                    Some(v) => Some(Box::new(self.resolve_expr(v, enclosing, labels)?)),
                    None => None,
                };
                SqlExpr::Case {
                    value,
                    whens: ws,
                    else_,
                }
            }
            other => other.clone(),
        })
    }

    /// A select as SQLAlchemy compiles it inside a statement whose FROM
    /// tables are `enclosing`: the columns that are not plain columns get
    /// their anonymous labels, and `from` becomes the FROM list it renders
    /// (explicit items, then the tables of the columns and of the WHERE
    /// clause; with more than one, those of the enclosing statement are
    /// left out: auto-correlation).
    fn resolve(
        &self,
        s: &Select,
        enclosing: &[TableKey],
        labels: &mut Labels,
    ) -> Result<Select, Fail> {
        let mut out = s.clone();
        let mut items: Vec<FromItem> = Vec::new();
        let mut seen: Vec<TableKey> = Vec::new();
        for f in &s.from {
            seen.extend(f.tables());
            items.push(f.clone());
        }
        let mut implicit = Vec::new();
        for c in &s.columns {
            tables_of(c, &mut implicit);
        }
        for w in &s.where_ {
            tables_of(w, &mut implicit);
        }
        for t in implicit {
            if !seen.contains(&t) {
                seen.push(t.clone());
                items.push(FromItem::Table(TableClause {
                    name: t.1,
                    schema: t.0,
                    columns: Vec::new(),
                }));
            }
        }
        items.retain(|f| match f {
            FromItem::Table(t) => !(s.correlate.contains(&key(t)) && enclosing.contains(&key(t))),
            FromItem::Join { .. } => true,
        });
        if !enclosing.is_empty() && items.len() > 1 {
            items.retain(|f| match f {
                FromItem::Table(t) => !enclosing.contains(&key(t)),
                FromItem::Join { .. } => true,
            });
            if items.is_empty() {
                return Err(Fail::Exception(
                    "sqlalchemy.exc.InvalidRequestError".into(),
                    "Select statement returned no FROM clauses due to auto-correlation; \
                     specify correlate(<tables>) to control correlation manually."
                        .into(),
                ));
            }
        }
        out.from = items;
        let mut inner: Vec<TableKey> = enclosing.to_vec();
        for f in &out.from {
            inner.extend(f.tables());
        }
        let mut columns = Vec::new();
        for c in &s.columns {
            let c = self.resolve_expr(c, &inner, labels)?;
            columns.push(match c {
                SqlExpr::Column { .. } | SqlExpr::Label { .. } | SqlExpr::Text(_) => c,
                SqlExpr::Func { ref name, .. } => {
                    let name = labels.next(name);
                    SqlExpr::Label {
                        expr: Box::new(c),
                        name,
                    }
                }
                other => SqlExpr::Label {
                    expr: Box::new(other),
                    name: labels.next("anon"),
                },
            });
        }
        out.columns = columns;
        let each = |v: &[SqlExpr], labels: &mut Labels| -> Result<Vec<SqlExpr>, Fail> {
            v.iter()
                .map(|x| self.resolve_expr(x, &inner, labels))
                .collect()
        };
        out.where_ = each(&s.where_, labels)?;
        out.group_by = each(&s.group_by, labels)?;
        out.having = each(&s.having, labels)?;
        out.order_by = each(&s.order_by, labels)?;
        if out.offset.is_some() && out.limit.is_none() && !self.d.offset_without_limit() {
            return Err(Fail::Failed(
                "offset() without limit(): SQLAlchemy's SQLite compiler writes a bound \
                 parameter (LIMIT :param_1) that --sql cannot show; add .limit(-1)"
                    .into(),
            ));
        }
        Ok(out)
    }

    /// A resolved select's text (without the parentheses around it).
    pub(super) fn select_sql(&self, s: &Select) -> String {
        let mut text = String::from("SELECT ");
        if s.distinct {
            text.push_str("DISTINCT ");
        }
        if s.columns.is_empty() {
            text.push('*');
        } else {
            let cols: Vec<String> = s.columns.iter().map(|c| self.expr(c)).collect();
            text.push_str(&cols.join(", "));
        }
        if !s.from.is_empty() {
            let froms: Vec<String> = s.from.iter().map(|f| self.source_sql(f)).collect();
            text.push_str(" \nFROM ");
            text.push_str(&froms.join(", "));
        }
        if let Some(w) = and_all(&s.where_) {
            text.push_str(" \nWHERE ");
            text.push_str(&self.expr(&w));
        }
        if !s.group_by.is_empty() {
            let g: Vec<String> = s.group_by.iter().map(|c| self.expr(c)).collect();
            text.push_str(" GROUP BY ");
            text.push_str(&g.join(", "));
        }
        if let Some(h) = and_all(&s.having) {
            text.push_str(" \nHAVING ");
            text.push_str(&self.expr(&h));
        }
        if !s.order_by.is_empty() {
            let o: Vec<String> = s.order_by.iter().map(|c| self.expr(c)).collect();
            text.push_str(" ORDER BY ");
            text.push_str(&o.join(", "));
        }
        if s.limit.is_some() || s.offset.is_some() {
            let limit = s.limit.as_ref().map(|l| self.expr(l));
            let offset = s.offset.as_ref().map(|o| self.expr(o));
            text.push_str(&self.d.limit_clause(limit.as_deref(), offset.as_deref()));
        }
        text
    }

    fn source_sql(&self, f: &FromItem) -> String {
        match f {
            FromItem::Table(t) => self.table_name(&t.name, &t.schema),
            FromItem::Join {
                left,
                right,
                on,
                outer,
            } => format!(
                "{} {}JOIN {} ON {}",
                self.source_sql(left),
                if *outer { "LEFT OUTER " } else { "" },
                self.table_name(&right.name, &right.schema),
                self.expr(on)
            ),
        }
    }

    /// The expressions only data statements use (see `expr`).
    pub(super) fn dml_expr(&self, e: &SqlExpr) -> String {
        match e {
            SqlExpr::Unary { op: "NOT", operand } => {
                format!("NOT {}", self.grouped(operand, Some("NOT")))
            }
            SqlExpr::Unary { op, operand } => {
                format!("{op}{}", self.grouped(operand, Some("neg")))
            }
            SqlExpr::AsBool { expr, negate } => {
                let x = self.expr(expr);
                match (self.d.native_boolean(), negate) {
                    (true, false) => x,
                    (true, true) => format!("NOT {x}"),
                    (false, false) => format!("{x} = 1"),
                    (false, true) => format!("{x} = 0"),
                }
            }
            SqlExpr::Like {
                expr,
                pattern,
                negate,
                ilike,
                escape,
            } => {
                let not = if *negate { "NOT " } else { "" };
                let mut s = if *ilike && !self.d.native_ilike() {
                    format!(
                        "lower({}) {not}LIKE lower({})",
                        self.expr(expr),
                        self.expr(pattern)
                    )
                } else {
                    let op = if *ilike { "ILIKE" } else { "LIKE" };
                    format!(
                        "{} {not}{op} {}",
                        self.grouped(expr, Some("LIKE")),
                        self.grouped(pattern, Some("LIKE"))
                    )
                };
                if let Some(esc) = escape {
                    s.push_str(&format!(
                        " ESCAPE {}",
                        self.literal(&Literal::Str(esc.clone()))
                    ));
                }
                s
            }
            SqlExpr::Between {
                expr,
                low,
                high,
                negate,
            } => format!(
                "{} {}BETWEEN {} AND {}",
                self.grouped(expr, Some("BETWEEN")),
                if *negate { "NOT " } else { "" },
                self.grouped(low, Some("BETWEEN")),
                self.grouped(high, Some("BETWEEN"))
            ),
            SqlExpr::Case {
                value,
                whens,
                else_,
            } => {
                let mut s = String::from("CASE ");
                if let Some(v) = value {
                    s.push_str(&self.expr(v));
                    s.push(' ');
                }
                for (w, t) in whens {
                    let cond = if value.is_some() {
                        self.expr(w)
                    } else {
                        self.grouped(w, None)
                    };
                    s.push_str(&format!("WHEN {cond} THEN {} ", self.expr(t)));
                }
                if let Some(e) = else_ {
                    s.push_str(&format!("ELSE {} ", self.expr(e)));
                }
                s.push_str("END");
                s
            }
            SqlExpr::Cast { expr, type_ } => {
                format!("CAST({} AS {})", self.expr(expr), self.type_sql(type_))
            }
            SqlExpr::Label { expr, name } => format!("{} AS {}", self.expr(expr), self.q(name)),
            SqlExpr::Subquery(s) => format!("({})", self.select_sql(s)),
            SqlExpr::Exists(s) => format!("EXISTS ({})", self.select_sql(s)),
            SqlExpr::InSelect {
                expr,
                negate,
                select,
            } => {
                if *negate {
                    format!(
                        "({} NOT IN ({}))",
                        self.grouped(expr, Some("NOT IN")),
                        self.select_sql(select)
                    )
                } else {
                    format!(
                        "{} IN ({})",
                        self.grouped(expr, Some("IN")),
                        self.select_sql(select)
                    )
                }
            }
            other => unreachable!("not a data statement expression: {other:?}"),
        }
    }

    /// Whether SQLAlchemy parenthesizes a data statement expression under
    /// `against` (`None`: standing alone, as a SET value).
    pub(super) fn dml_is_grouped(e: &SqlExpr, against: Option<&str>) -> bool {
        match e {
            SqlExpr::Unary { op: "NOT", .. } => super::is_precedent("NOT", against),
            SqlExpr::Unary { .. } => super::is_precedent("neg", against),
            SqlExpr::Like { negate, .. } => {
                super::is_precedent(if *negate { "NOT LIKE" } else { "LIKE" }, against)
            }
            SqlExpr::Between { .. } => super::is_precedent("BETWEEN", against),
            SqlExpr::InSelect { negate: false, .. } => super::is_precedent("IN", against),
            SqlExpr::Exists(_) => true,
            _ => false,
        }
    }
}

/// WHERE criteria joined by AND, as `where(a, b)` and `where(a).where(b)` do.
fn and_all(v: &[SqlExpr]) -> Option<SqlExpr> {
    let mut it = v.iter().cloned();
    let first = it.next()?;
    Some(it.fold(first, |acc, x| SqlExpr::Binary {
        op: "AND",
        left: Box::new(acc),
        right: Box::new(x),
    }))
}
