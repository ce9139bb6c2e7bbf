//! SQLAlchemy's naming conventions (`sqlalchemy/sql/naming.py`) applied to
//! the constraints and indexes a revision creates or drops.
//!
//! Alembic builds every table of an operation in a `MetaData` carrying the
//! `naming_convention` of env.py's `target_metadata`, so an unnamed
//! constraint (`op.create_foreign_key(None, ...)`, `unique=True`, an implicit
//! primary key) is named by the convention, and a named one too when its
//! template uses `%(constraint_name)s` (unless the name is `op.f(...)`).
//! Without a convention SQLAlchemy's default, `ix_%(column_0_label)s`,
//! names indexes only; the renderer already does that.

use super::{Column, Constraint, ConstraintKind, Index, IndexExpr, Op, Table};
use std::collections::HashSet;

/// env.py's `target_metadata.naming_convention`, as plain data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Convention {
    /// String keys with their value: a template, or (`Err`) what the value
    /// is when it is not a string (a callable token, say).
    pub entries: Vec<(String, Result<String, String>)>,
    /// Keys that are not strings (constraint classes), described.
    pub other_keys: Vec<String>,
}

impl Convention {
    /// Identifies the convention in cache keys.
    pub fn fingerprint(&self) -> String {
        let mut s = String::new();
        for (k, v) in &self.entries {
            s.push_str(&format!("{k:?}={v:?};"));
        }
        for k in &self.other_keys {
            s.push_str(&format!("{k:?};"));
        }
        use md5::Digest;
        let digest = md5::Md5::digest(s.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn get(&self, key: &str) -> Option<&Result<String, String>> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// SQLAlchemy's `DEFAULT_NAMING_CONVENTION`, used when env.py gives none.
    pub fn sqlalchemy_default() -> Convention {
        Convention {
            entries: vec![("ix".to_string(), Ok("ix_%(column_0_label)s".to_string()))],
            other_keys: Vec::new(),
        }
    }

    /// SQLAlchemy's `_constraint_name_for_table` for a constraint or index of a model's
    /// table (autogenerate): `Ok(Some(name))` when the convention names it (a `conv`, which
    /// Alembic renders as `op.f('...')`), `Ok(None)` when its name stays as it is, `Err` with
    /// SQLAlchemy's error or what aurora cannot evaluate. `columns` are the constrained
    /// columns (none for a CHECK constraint given as SQL text); `referred`, a foreign key's
    /// table and columns. The name is not cut to the dialect's length: Alembic renders it whole.
    pub fn name_for(
        &self,
        kind: Kind,
        current: Option<&str>,
        table: &str,
        columns: &[String],
        referred: Option<(&str, &[String])>,
    ) -> Result<Option<String>, String> {
        let conv_names = HashSet::new();
        let namer = Namer {
            convention: self,
            conv_names: &conv_names,
            max_identifier_length: usize::MAX,
            postgresql: false,
        };
        let subject = Subject {
            table,
            schema: None,
            columns: Some(columns.to_vec()),
            referred: referred.map(|(t, c)| (t.to_string(), c.to_vec())),
            placeholder_referent: false,
        };
        namer.name(kind, current, &subject)
    }

    /// Whether the convention has a template for `kind`.
    pub fn has(&self, kind: Kind) -> bool {
        self.get(kind.key()).is_some()
    }

    /// Whether "ix" is SQLAlchemy's default template.
    fn is_default_ix(&self) -> bool {
        matches!(self.get("ix"), Some(Ok(t)) if t == "ix_%(column_0_label)s")
    }
}

/// Which convention key names an object.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Kind {
    /// `ix`: an index.
    Ix,
    /// `uq`: a unique constraint.
    Uq,
    /// `ck`: a CHECK constraint.
    Ck,
    /// `fk`: a foreign key constraint.
    Fk,
    /// `pk`: a primary key constraint.
    Pk,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Ix => "ix",
            Kind::Uq => "uq",
            Kind::Ck => "ck",
            Kind::Fk => "fk",
            Kind::Pk => "pk",
        }
    }
}

/// What a convention's tokens read from one constraint.
struct Subject<'a> {
    table: &'a str,
    schema: Option<&'a str>,
    /// `None`: aurora cannot tell (a CHECK's or an index expression's columns).
    columns: Option<Vec<String>>,
    /// Foreign keys: the referred table and columns.
    referred: Option<(String, Vec<String>)>,
    /// Inside `create_table`/`add_column` Alembic gives the referred table
    /// no columns, so SQLAlchemy cannot resolve a referred column.
    placeholder_referent: bool,
}

/// Applies the convention to operations lowered from a revision body.
pub(crate) struct Namer<'a> {
    pub convention: &'a Convention,
    /// Names given as `op.f(...)` in this revision (SQLAlchemy's `conv`).
    pub conv_names: &'a HashSet<String>,
    /// The dialect's `max_identifier_length`.
    pub max_identifier_length: usize,
    /// The dialect is PostgreSQL (batch mode recreates no table there by default).
    pub postgresql: bool,
}

type NResult<T> = Result<T, String>;

impl Namer<'_> {
    /// Names what the convention names in `ops`; `Err` says why it cannot.
    pub fn apply(&self, ops: &mut Vec<Op>, from: usize) -> NResult<()> {
        let mut i = from;
        while i < ops.len() {
            let extra = self.op(&mut ops[i])?;
            let n = extra.len();
            ops.splice(i + 1..i + 1, extra);
            i += 1 + n;
        }
        Ok(())
    }

    /// Names what `op` creates; returns the operations that follow it when
    /// a name needs an operation of its own.
    fn op(&self, op: &mut Op) -> NResult<Vec<Op>> {
        match op {
            Op::CreateTable(t) => self.table(t).map(|()| Vec::new()),
            Op::AddColumn {
                table,
                schema,
                column,
                ..
            } => self.add_column(table, schema, column),
            Op::CreateIndex(i) => self.index(i, None).map(|()| Vec::new()),
            Op::DropIndex {
                name,
                conv_name,
                table,
                schema,
                ..
            } => {
                let t = table.as_deref().unwrap_or("no_table");
                let subject = Subject {
                    table: t,
                    schema: schema.as_deref(),
                    columns: Some(Vec::new()),
                    referred: None,
                    placeholder_referent: false,
                };
                let current = if *conv_name {
                    None
                } else {
                    Some(name.as_str())
                };
                if let Some(n) = current {
                    if let Some(new) = self.name(Kind::Ix, Some(n), &subject)? {
                        *name = new;
                        *conv_name = true;
                    }
                }
                Ok(Vec::new())
            }
            Op::AddConstraint {
                table,
                schema,
                constraint,
            } => self
                .constraint(table, schema.as_deref(), constraint)
                .map(|()| Vec::new()),
            Op::DropConstraint {
                name: Some(name),
                table,
                schema,
                type_,
                ..
            } => {
                // Alembic's generic_constraint: an empty constraint of the type.
                let kind = match type_.as_deref() {
                    Some("foreignkey") => Kind::Fk,
                    Some("primary") => Kind::Pk,
                    Some("unique") => Kind::Uq,
                    Some("check") => Kind::Ck,
                    _ => return Ok(Vec::new()),
                };
                let subject = Subject {
                    table,
                    schema: schema.as_deref(),
                    columns: Some(Vec::new()),
                    referred: None,
                    placeholder_referent: false,
                };
                if let Some(new) = self.name(kind, Some(name), &subject)? {
                    *name = new;
                }
                Ok(Vec::new())
            }
            Op::Autocommit(inner) => self.apply(inner, 0).map(|()| Vec::new()),
            // Without a table recreation (PostgreSQL's "auto", or "never")
            // Alembic runs each batch operation as it would outside one.
            Op::Batch(b) if b.recreate == "never" || (b.recreate == "auto" && self.postgresql) => {
                self.apply(&mut b.ops, 0).map(|()| Vec::new())
            }
            Op::Batch(b) => {
                let mut copy = b.ops.clone();
                self.apply(&mut copy, 0)?;
                if copy != b.ops {
                    return Err(format!(
                        "it would name a constraint or index inside batch_alter_table('{}'), which recreates the table, where aurora does not apply naming conventions yet; give the constraint an explicit name with op.f('...')",
                        b.table
                    ));
                }
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    fn table(&self, t: &mut Table) -> NResult<()> {
        for c in &t.columns {
            self.refuse_type_check(c)?;
        }
        let table = t.name.clone();
        let schema = t.schema.clone();
        let schema = schema.as_deref();
        // The implicit primary key of `primary_key=True` columns.
        let has_explicit_pk = t
            .constraints
            .iter()
            .any(|c| matches!(c.kind, ConstraintKind::PrimaryKey { .. }));
        let pk_cols: Vec<String> = t
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect();
        if !has_explicit_pk && !pk_cols.is_empty() {
            let subject = Subject {
                table: &table,
                schema,
                columns: Some(pk_cols.clone()),
                referred: None,
                placeholder_referent: false,
            };
            if let Some(name) = self.name(Kind::Pk, None, &subject)? {
                if pk_cols.len() > 1 {
                    return Err(format!(
                        "it would name the composite primary key of table '{table}', which aurora renders only from an explicit sa.PrimaryKeyConstraint(...) when named by a convention; write one"
                    ));
                }
                t.constraints.insert(
                    0,
                    Constraint {
                        options: Default::default(),
                        name: Some(name),
                        kind: ConstraintKind::PrimaryKey { columns: pk_cols },
                    },
                );
            }
        }
        for c in &mut t.constraints {
            self.constraint_in(&table, schema, c, true)?;
        }
        for c in &mut t.columns {
            self.column_checks(&table, schema, c)?;
        }
        // Column flags: foreign keys are named in place; a `unique=True`
        // constraint has no place for a name, so when the convention names
        // it, it and every column foreign key after it become table
        // constraints in the order SQLAlchemy creates them.
        let uq_named =
            t.columns.iter().any(|c| c.unique && !c.index) && self.convention.get("uq").is_some();
        if uq_named {
            if t.sqlite_autoincrement {
                return Err(format!(
                    "it would name a unique=True constraint of table '{table}', which has sqlite_autoincrement=True; aurora cannot render that combination yet; use sa.UniqueConstraint(...)"
                ));
            }
            let mut moved = Vec::new();
            for c in &mut t.columns {
                if c.unique && !c.index {
                    let mut u = Constraint {
                        options: Default::default(),
                        name: None,
                        kind: ConstraintKind::Unique {
                            columns: vec![c.name.clone()],
                            nulls_not_distinct: None,
                        },
                    };
                    self.constraint(&table, schema, &mut u)?;
                    moved.push(u);
                    c.unique = false;
                }
                for fk in c.foreign_keys.drain(..) {
                    moved.push(fk_constraint(&c.name, fk));
                }
            }
            for mut m in moved {
                if matches!(m.kind, ConstraintKind::ForeignKey { .. }) {
                    self.constraint_in(&table, schema, &mut m, true)?;
                }
                t.constraints.push(m);
            }
        } else {
            for c in &mut t.columns {
                let col = c.name.clone();
                for fk in &mut c.foreign_keys {
                    self.column_fk(&table, schema, &col, fk)?;
                }
            }
        }
        // `index=True`: named `ix_<label>` by the renderer, which is
        // SQLAlchemy's default; another `ix` convention makes it an Index.
        if t.columns.iter().any(|c| c.index) && !self.convention.is_default_ix() {
            for c in &mut t.columns {
                if !c.index {
                    continue;
                }
                let mut index = Index {
                    name: None,
                    table: table.clone(),
                    schema: t.schema.clone(),
                    expressions: vec![IndexExpr::Column(c.name.clone())],
                    unique: c.unique,
                    ..Index::default()
                };
                self.index(&mut index, Some(&table))?;
                if index.name.is_none() {
                    return Err(no_ix(&c.name));
                }
                c.index = false;
                c.unique = false;
                t.indexes.push(index);
            }
        }
        for i in &mut t.indexes {
            self.index(i, Some(&table))?;
        }
        Ok(())
    }

    /// The CHECK constraint a `create_constraint=True` type adds is named by
    /// a "ck" convention in SQLAlchemy; aurora does not apply conventions to
    /// it yet, so it stops instead of emitting another name.
    fn refuse_type_check(&self, c: &Column) -> NResult<()> {
        if self.convention.get("ck").is_some()
            && c.type_.check_constraint(self.postgresql).is_some()
        {
            return Err(format!(
                "column '{}': the CHECK constraint of its create_constraint=True type would be \
                 named by the naming convention's \"ck\" template, which aurora does not apply \
                 to type constraints; drop create_constraint and write the CHECK as \
                 sa.CheckConstraint(...)",
                c.name
            ));
        }
        Ok(())
    }

    fn add_column(&self, table: &str, schema: &Option<String>, c: &mut Column) -> NResult<Vec<Op>> {
        self.refuse_type_check(c)?;
        self.column_checks(table, schema.as_deref(), c)?;
        let col = c.name.clone();
        for fk in &mut c.foreign_keys {
            self.column_fk(table, schema.as_deref(), &col, fk)?;
        }
        let mut extra = Vec::new();
        if c.unique && !c.index && self.convention.get("uq").is_some() {
            // Alembic adds the constraints of the table it builds around
            // the column; named, the unique one is an operation of its own,
            // and the foreign keys after it keep their order.
            let mut u = Constraint {
                options: Default::default(),
                name: None,
                kind: ConstraintKind::Unique {
                    columns: vec![col.clone()],
                    nulls_not_distinct: None,
                },
            };
            self.constraint(table, schema.as_deref(), &mut u)?;
            c.unique = false;
            extra.push(Op::AddConstraint {
                table: table.to_string(),
                schema: schema.clone(),
                constraint: u,
            });
            for fk in c.foreign_keys.drain(..) {
                extra.push(Op::AddConstraint {
                    table: table.to_string(),
                    schema: schema.clone(),
                    constraint: fk_constraint(&col, fk),
                });
            }
        }
        // `index=True`: Alembic creates the table's indexes after its
        // constraints; the renderer names it only by SQLAlchemy's default.
        if c.index && !self.convention.is_default_ix() {
            let mut index = Index {
                name: None,
                table: table.to_string(),
                schema: schema.clone(),
                expressions: vec![IndexExpr::Column(col.clone())],
                unique: c.unique,
                ..Index::default()
            };
            self.index(&mut index, None)?;
            if index.name.is_none() {
                return Err(no_ix(&col));
            }
            c.index = false;
            c.unique = false;
            extra.push(Op::CreateIndex(index));
        }
        Ok(extra)
    }

    fn column_checks(&self, table: &str, schema: Option<&str>, c: &mut Column) -> NResult<()> {
        for ck in &mut c.checks {
            self.constraint(table, schema, ck)?;
        }
        Ok(())
    }

    fn column_fk(
        &self,
        table: &str,
        schema: Option<&str>,
        column: &str,
        fk: &mut super::ForeignKey,
    ) -> NResult<()> {
        let (ref_table, ref_col) = split_target(&fk.target);
        let subject = Subject {
            table,
            schema,
            columns: Some(vec![column.to_string()]),
            referred: Some((ref_table, vec![ref_col])),
            placeholder_referent: true,
        };
        if let Some(new) = self.name(Kind::Fk, fk.name.as_deref(), &subject)? {
            fk.name = Some(new);
        }
        Ok(())
    }

    fn constraint(&self, table: &str, schema: Option<&str>, c: &mut Constraint) -> NResult<()> {
        self.constraint_in(table, schema, c, false)
    }

    /// `in_table`: a constraint of `create_table`.
    fn constraint_in(
        &self,
        table: &str,
        schema: Option<&str>,
        c: &mut Constraint,
        in_table: bool,
    ) -> NResult<()> {
        let (kind, subject) = match &c.kind {
            ConstraintKind::PrimaryKey { columns } => (
                Kind::Pk,
                Subject {
                    table,
                    schema,
                    columns: Some(columns.clone()),
                    referred: None,
                    placeholder_referent: false,
                },
            ),
            ConstraintKind::Unique { columns, .. } => (
                Kind::Uq,
                Subject {
                    table,
                    schema,
                    columns: Some(columns.clone()),
                    referred: None,
                    placeholder_referent: false,
                },
            ),
            ConstraintKind::ForeignKey {
                columns,
                ref_table,
                ref_columns,
                ..
            } => (
                Kind::Fk,
                Subject {
                    table,
                    schema,
                    columns: Some(columns.clone()),
                    referred: Some((ref_table.clone(), ref_columns.clone())),
                    placeholder_referent: in_table,
                },
            ),
            ConstraintKind::Check { .. } => (
                Kind::Ck,
                Subject {
                    table,
                    schema,
                    columns: None,
                    referred: None,
                    placeholder_referent: false,
                },
            ),
        };
        if let Some(new) = self.name(kind, c.name.as_deref(), &subject)? {
            c.name = Some(new);
        }
        Ok(())
    }

    /// An index; `table` overrides the index's own table (inside create_table).
    fn index(&self, i: &mut Index, table: Option<&str>) -> NResult<()> {
        if i.conv_name {
            return Ok(());
        }
        let table = table.map_or(i.table.clone(), str::to_string);
        let columns: Option<Vec<String>> = i
            .expressions
            .iter()
            .map(|e| match e {
                IndexExpr::Column(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        let subject = Subject {
            table: &table,
            schema: i.schema.as_deref(),
            columns,
            referred: None,
            placeholder_referent: false,
        };
        if i.name.is_none() && self.convention.is_default_ix() {
            // The renderer names it as SQLAlchemy's default does.
            return Ok(());
        }
        if let Some(new) = self.name(Kind::Ix, i.name.as_deref(), &subject)? {
            i.name = Some(new);
            i.conv_name = true;
        }
        if i.name.is_none() {
            return Err(
                "the convention has no \"ix\" key, so SQLAlchemy leaves this index unnamed and its compiler fails (AssertionError); add \"ix\" to the convention or name the index".into(),
            );
        }
        Ok(())
    }

    /// SQLAlchemy's `_constraint_name_for_table`: the new name, or `None`
    /// when the name stays as it is.
    fn name(&self, kind: Kind, current: Option<&str>, s: &Subject<'_>) -> NResult<Option<String>> {
        // A final name (`op.f`) stays, cut to the dialect's length as the
        // compiler cuts a `conv` name; index names the renderer cuts.
        if let Some(n) = current.filter(|n| self.conv_names.contains(*n)) {
            let cut = self.limit(kind, n.to_string());
            return Ok((cut != n).then_some(cut));
        }
        if let Some(other) = self.convention.other_keys.first() {
            return Err(format!(
                "its key {other} is not a string; aurora reads only the \"ix\", \"uq\", \"ck\", \"fk\" and \"pk\" keys"
            ));
        }
        let template = match self.convention.get(kind.key()) {
            None => return Ok(None),
            Some(Err(what)) => {
                return Err(format!(
                    "the value of \"{}\" is {what}, not a template string",
                    kind.key()
                ))
            }
            Some(Ok(t)) => t,
        };
        if current.is_some() && !template.contains("constraint_name") {
            return Ok(None);
        }
        self.format(kind, template, current, s)
            .map(|n| Some(self.limit(kind, n)))
            .map_err(|e| format!("\"{}\": {template:?}: {e}", kind.key()))
    }

    /// SQLAlchemy's `_truncate_and_render_maxlen_name` for a `conv` name:
    /// longer than the dialect allows, cut to `max - 8` characters, `_` and
    /// the last four hex digits of its MD5. Index names are left to the
    /// renderer, which knows them as convention names.
    fn limit(&self, kind: Kind, name: String) -> String {
        if kind == Kind::Ix || name.chars().count() <= self.max_identifier_length {
            return name;
        }
        use md5::Digest;
        let digest = md5::Md5::digest(name.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let head: String = name.chars().take(self.max_identifier_length - 8).collect();
        format!("{head}_{}", &hex[hex.len() - 4..])
    }

    /// Python's `template % ConventionDict(...)`.
    fn format(
        &self,
        kind: Kind,
        template: &str,
        current: Option<&str>,
        s: &Subject<'_>,
    ) -> NResult<String> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            let after = &rest[p + 1..];
            if let Some(a) = after.strip_prefix('%') {
                out.push('%');
                rest = a;
                continue;
            }
            let Some(inner) = after.strip_prefix('(') else {
                return Err(
                    "a '%' not followed by '(name)s' is a format aurora does not evaluate".into(),
                );
            };
            let Some(close) = inner.find(')') else {
                return Err("ValueError: incomplete format key".into());
            };
            let key = &inner[..close];
            let Some(r) = inner[close + 1..].strip_prefix('s') else {
                return Err(format!(
                    "the conversion after %({key}) is not 's'; aurora evaluates only %(name)s"
                ));
            };
            out.push_str(&self.token(kind, key, current, s)?);
            rest = r;
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `ConventionDict.__getitem__`.
    fn token(
        &self,
        kind: Kind,
        key: &str,
        current: Option<&str>,
        s: &Subject<'_>,
    ) -> NResult<String> {
        if self.convention.get(key).is_some() {
            return Err(format!(
                "the token %({key})s is a function of the convention dict, which aurora cannot call; spell the name out"
            ));
        }
        match key {
            "table_name" => return Ok(s.table.to_string()),
            "constraint_name" => {
                return current.map(str::to_string).ok_or_else(|| {
                    "sqlalchemy.exc.InvalidRequestError: Naming convention including %(constraint_name)s token requires that constraint is explicitly named.".to_string()
                })
            }
            "referred_table_name" => {
                return match &s.referred {
                    Some((t, _)) => Ok(t.clone()),
                    None => Err(format!(
                        "AttributeError: a {} constraint has no referred table",
                        kind.key()
                    )),
                }
            }
            _ => {}
        }
        let Some((idx, multiples)) = column_template(key) else {
            return Err(format!("KeyError: '{key}'"));
        };
        let attr = match multiples {
            Some(m) => key.replacen(&format!("0{m}"), "X", usize::MAX),
            None => key.replace(idx, "X"),
        };
        let referred = match attr.as_str() {
            "column_X_name" | "column_X_key" | "column_X_label" => false,
            "referred_column_X_name" => true,
            _ => return Err(format!("KeyError: '{key}'")),
        };
        let columns = match &s.columns {
            Some(c) => c,
            None => {
                return Err(format!(
                    "aurora cannot tell which columns this {} names, so it cannot evaluate %({key})s; give the constraint an explicit name with op.f('...')",
                    if kind == Kind::Ck { "CHECK expression" } else { "index expression" }
                ))
            }
        };
        let value = |i: usize| -> NResult<String> {
            if referred {
                let Some((t, cols)) = &s.referred else {
                    return Err(format!(
                        "AttributeError: a {} constraint has no elements",
                        kind.key()
                    ));
                };
                if s.placeholder_referent {
                    return Err(format!(
                        "sqlalchemy.exc.NoReferencedTableError: Foreign key associated with column '{}.{}' could not find table '{t}' with which to generate a foreign key to target column '{}'",
                        s.table,
                        columns.get(i).map_or("", String::as_str),
                        cols.get(i).map_or("", String::as_str)
                    ));
                }
                return cols
                    .get(i)
                    .cloned()
                    .ok_or_else(|| "IndexError: list index out of range".to_string());
            }
            Ok(match columns.get(i) {
                None => String::new(),
                Some(c) if attr == "column_X_label" => match s.schema {
                    Some(schema) => format!("{}_{}_{c}", schema.replace('.', "_"), s.table),
                    None => format!("{}_{c}", s.table),
                },
                Some(c) => c.clone(),
            })
        };
        match multiples {
            Some(m) => {
                let n = if referred {
                    s.referred.as_ref().map_or(0, |(_, c)| c.len())
                } else {
                    columns.len()
                };
                let parts = (0..n).map(value).collect::<NResult<Vec<_>>>()?;
                Ok(parts.join(if m.starts_with('_') { "_" } else { "" }))
            }
            None => value(idx.parse().map_err(|_| format!("KeyError: '{key}'"))?),
        }
    }
}

/// Python's `re.match(r".*_?column_(\d+)(_?N)?_.+", key)`: the digits and
/// the `N`/`_N` of the last `column_` that fits (`.*` is greedy).
fn column_template(key: &str) -> Option<(&str, Option<&str>)> {
    let mut found = None;
    for (start, _) in key.match_indices("column_") {
        let after = &key[start + "column_".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let idx = &after[..digits];
        let tail = &after[digits..];
        let candidates: &[(&str, Option<&str>)] =
            &[("_N", Some("_N")), ("N", Some("N")), ("", None)];
        for (prefix, m) in candidates {
            if let Some(t) = tail.strip_prefix(prefix) {
                if t.len() >= 2 && t.starts_with('_') {
                    found = Some((idx, *m));
                    break;
                }
            }
        }
    }
    found
}

fn no_ix(column: &str) -> String {
    format!(
        "the convention has no \"ix\" key, so SQLAlchemy leaves the index=True index of column '{column}' unnamed and cannot create it; add \"ix\" to the convention"
    )
}

fn split_target(target: &str) -> (String, String) {
    let parts: Vec<&str> = target.split('.').collect();
    match parts.as_slice() {
        [.., t, c] => (t.to_string(), c.to_string()),
        _ => (target.to_string(), String::new()),
    }
}

fn fk_constraint(column: &str, fk: super::ForeignKey) -> Constraint {
    let parts: Vec<&str> = fk.target.split('.').collect();
    let (ref_schema, ref_table, ref_col) = match parts.as_slice() {
        [s, t, c] => (Some(s.to_string()), t.to_string(), c.to_string()),
        [t, c] => (None, t.to_string(), c.to_string()),
        _ => (None, fk.target.clone(), String::new()),
    };
    Constraint {
        options: Default::default(),
        name: fk.name,
        kind: ConstraintKind::ForeignKey {
            columns: vec![column.to_string()],
            ref_table,
            ref_schema,
            ref_columns: vec![ref_col],
            ondelete: fk.ondelete,
            onupdate: fk.onupdate,
            deferrable: None,
            initially: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_tokens_follow_sqlalchemys_regex() {
        assert_eq!(column_template("column_0_name"), Some(("0", None)));
        assert_eq!(column_template("column_0N_name"), Some(("0", Some("N"))));
        assert_eq!(column_template("column_0_N_name"), Some(("0", Some("_N"))));
        assert_eq!(column_template("referred_column_1_name"), Some(("1", None)));
        assert_eq!(column_template("column_name"), None);
        assert_eq!(column_template("column_0_"), None);
    }
}
