//! Reads SQLAlchemy declarative models from Python source, without running Python.
//!
//! Understood: classes with `__tablename__`; columns as `name = Column(...)` (or `sa.Column`)
//! and as `name: Mapped[T]` with or without `= mapped_column(...)`; the type as a positional
//! argument or from the `Mapped[...]` annotation; `primary_key`, `nullable`, `index`, `unique`,
//! `server_default` and `ForeignKey('table.column', ondelete=..., onupdate=...)`; and
//! `__table_args__` holding `Index`, `UniqueConstraint` and `CheckConstraint` with string
//! arguments. Methods, docstrings, relationships and other attributes are skipped. A construct
//! that would change the schema but is not understood is an error naming `file:line:col`;
//! every such problem in the file is reported.

use super::{Column, ColumnType, ForeignKey, Index, Schema, Table, UniqueConstraint};

/// A model construct aurora cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{col}: {message}")]
pub struct ModelError {
    /// The models file.
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub col: usize,
    /// What is not understood.
    pub message: String,
}

/// One logical Python line: physical lines joined while brackets are open.
struct Logical {
    text: String,
    line: usize,
    indent: usize,
}

fn logical_lines(source: &str) -> Vec<Logical> {
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut depth: i32 = 0;
    let mut in_triple: Option<&str> = None;
    for (i, raw) in source.lines().enumerate() {
        if let Some(q) = in_triple {
            if raw.contains(q) {
                in_triple = None;
            }
            continue;
        }
        let trimmed = raw.trim_start();
        if current.is_none() {
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            // A docstring or other bare triple-quoted string spanning lines is skipped whole.
            for q in ["\"\"\"", "'''"] {
                if let Some(rest) = trimmed.strip_prefix(q) {
                    if !rest.contains(q) {
                        in_triple = Some(q);
                    }
                }
            }
            if in_triple.is_some() || trimmed.starts_with("\"\"\"") || trimmed.starts_with("'''") {
                continue;
            }
            current = Some(Logical {
                text: String::new(),
                line: i + 1,
                indent: raw.len() - trimmed.len(),
            });
        }
        let logical = current.as_mut().expect("set above");
        let code = strip_comment(raw);
        if !logical.text.is_empty() {
            logical.text.push(' ');
            logical.text.push_str(code.trim());
        } else {
            logical.text.push_str(code.trim_end());
            logical.text = logical.text.trim_start().to_string();
        }
        depth += bracket_delta(code);
        let continued = code.trim_end().ends_with('\\');
        if continued {
            logical.text = logical.text.trim_end_matches('\\').to_string();
        }
        if depth <= 0 && !continued {
            depth = 0;
            out.extend(current.take());
        }
    }
    out.extend(current);
    out
}

/// `line` without a trailing `# comment` (outside strings).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return &line[..i],
            None => {}
        }
        prev = c;
    }
    line
}

fn bracket_delta(code: &str) -> i32 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    for c in code.chars() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            },
        }
        prev = c;
    }
    depth
}

/// Splits `text` at top-level commas; each piece with its byte offset in `text`.
fn split_top(text: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push((start, &text[start..i]));
                    start = i + 1;
                }
                _ => {}
            },
        }
        prev = c;
    }
    if !text[start..].trim().is_empty() {
        parts.push((start, &text[start..]));
    }
    parts
        .into_iter()
        .map(|(o, p)| {
            let lead = p.len() - p.trim_start().len();
            (o + lead, p.trim())
        })
        .collect()
}

/// `Name(args)` → (`Name`, `args`) when `text` is one call.
fn as_call(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let inner = text[open + 1..].strip_suffix(')')?;
    if bracket_delta(inner) != 0 {
        return None;
    }
    Some((text[..open].trim(), inner))
}

fn python_string(text: &str) -> Option<String> {
    let t = text.trim();
    let q = t.chars().next()?;
    if (q == '"' || q == '\'') && t.len() >= 2 && t.ends_with(q) {
        Some(t[1..t.len() - 1].replace("\\'", "'").replace("\\\"", "\""))
    } else {
        None
    }
}

fn python_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "True" => Some(true),
        "False" => Some(false),
        _ => None,
    }
}

/// The unqualified name of `sa.String`, `sqlalchemy.types.String` or `String`.
fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// A project type: a `TypeDecorator` subclass the models module can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomType {
    /// The name the models file uses for it (its global name there).
    pub name: String,
    /// The class name, as SQLAlchemy's `repr` writes it.
    pub class: String,
    /// What Alembic writes before the class name: `user_module_prefix`, or
    /// the class's module and a dot.
    pub prefix: String,
    /// The SQLAlchemy name of its `impl` class (`String`, `Text`, ...).
    pub impl_name: String,
}

fn parse_type(text: &str, types: &[CustomType]) -> Result<Option<ColumnType>, String> {
    let (name, args) = match as_call(text) {
        Some((n, a)) => (n, a),
        None => (text.trim(), ""),
    };
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        return Ok(None);
    }
    if let Some(custom) = types.iter().find(|t| t.name == short_name(name)) {
        // `TypeDecorator.__init__` hands its arguments to the impl class.
        let inner = format!("{}({args})", custom.impl_name);
        let Some(impl_type) = parse_type(&inner, &[])? else {
            return Err(format!(
                "the impl of {} ({}) is not a type aurora can read",
                custom.class, custom.impl_name
            ));
        };
        return Ok(Some(ColumnType::Custom {
            prefix: custom.prefix.clone(),
            class: custom.class.clone(),
            impl_type: Box::new(impl_type),
        }));
    }
    let args = split_top(args);
    let arg = |pos: usize, kw: &str| -> Option<u32> {
        args.iter()
            .find_map(|(_, a)| a.strip_prefix(kw).and_then(|v| v.trim().strip_prefix('=')))
            .or_else(|| {
                args.iter()
                    .filter(|(_, a)| !a.contains('='))
                    .nth(pos)
                    .map(|(_, a)| *a)
            })
            .and_then(|v| v.trim().parse().ok())
    };
    Ok(Some(match short_name(name) {
        "Integer" | "INTEGER" => ColumnType::Integer,
        "BigInteger" | "BIGINT" => ColumnType::BigInteger,
        "SmallInteger" | "SMALLINT" => ColumnType::SmallInteger,
        "String" | "Unicode" => ColumnType::String(arg(0, "length")),
        "Text" | "UnicodeText" => ColumnType::Text,
        "Float" => ColumnType::Float,
        "Numeric" => ColumnType::Numeric(arg(0, "precision"), arg(1, "scale")),
        "Boolean" => ColumnType::Boolean,
        "DateTime" => ColumnType::DateTime,
        "Date" => ColumnType::Date,
        "Time" => ColumnType::Time,
        "JSON" => ColumnType::Json,
        "LargeBinary" => ColumnType::LargeBinary,
        other if other.chars().next().is_some_and(char::is_uppercase) => {
            return Err(format!("unsupported column type '{other}'"))
        }
        _ => return Ok(None),
    }))
}

/// The type and nullability implied by a `Mapped[...]` annotation.
fn mapped_annotation(annotation: &str) -> Result<(Option<ColumnType>, bool), String> {
    let inner = annotation
        .trim()
        .strip_prefix("Mapped[")
        .and_then(|s| s.strip_suffix(']'))
        .ok_or_else(|| format!("unsupported annotation '{}'", annotation.trim()))?
        .trim();
    let (inner, optional) = if let Some(x) = inner
        .strip_prefix("Optional[")
        .and_then(|s| s.strip_suffix(']'))
    {
        (x.trim(), true)
    } else if let Some(x) = inner.strip_suffix("| None") {
        (x.trim(), true)
    } else if let Some(x) = inner.strip_prefix("None |") {
        (x.trim(), true)
    } else {
        (inner, false)
    };
    let ty = match inner {
        "int" => Some(ColumnType::Integer),
        "str" => Some(ColumnType::String(None)),
        "float" => Some(ColumnType::Float),
        "bool" => Some(ColumnType::Boolean),
        "datetime" | "datetime.datetime" => Some(ColumnType::DateTime),
        "date" | "datetime.date" => Some(ColumnType::Date),
        "time" | "datetime.time" => Some(ColumnType::Time),
        "Decimal" | "decimal.Decimal" => Some(ColumnType::Numeric(None, None)),
        "bytes" => Some(ColumnType::LargeBinary),
        _ => None,
    };
    Ok((ty, optional))
}

struct ColumnDecl {
    column: Column,
    index: bool,
    unique: bool,
    foreign_key: Option<ForeignKey>,
}

/// Reads the arguments of `Column(...)` or `mapped_column(...)`.
fn read_column_args(
    attr: &str,
    args: &str,
    mapped: Option<(Option<ColumnType>, bool)>,
    types: &[CustomType],
) -> Result<ColumnDecl, (usize, String)> {
    let mut name = attr.to_string();
    let mut ty: Option<ColumnType> = None;
    let mut nullable: Option<bool> = None;
    let mut primary_key = false;
    let mut index = false;
    let mut unique = false;
    let mut server_default = None;
    let mut foreign_key = None;
    for (i, (offset, arg)) in split_top(args).into_iter().enumerate() {
        let kw = arg.split_once('=').filter(|(k, v)| {
            k.trim().chars().all(|c| c.is_alphanumeric() || c == '_') && !v.starts_with('=')
        });
        if let Some((key, value)) = kw {
            let value = value.trim();
            let flag =
                || python_bool(value).ok_or((offset, format!("{key}= must be True or False")));
            match key.trim() {
                "primary_key" => primary_key = flag()?,
                "nullable" => nullable = Some(flag()?),
                "index" => index = flag()?,
                "unique" => unique = flag()?,
                "server_default" => server_default = Some(server_default_text(value)),
                "type_" => {
                    ty = parse_type(value, types).map_err(|m| (offset, m))?;
                }
                "name" => {
                    name = python_string(value)
                        .ok_or((offset, "name= must be a string literal".to_string()))?
                }
                // Python-side defaults, comments and the like do not change the schema that
                // autogenerate compares.
                _ => {}
            }
            continue;
        }
        if i == 0 {
            if let Some(s) = python_string(arg) {
                name = s;
                continue;
            }
        }
        if let Some((callee, fk_args)) = as_call(arg) {
            if short_name(callee) == "ForeignKey" {
                foreign_key = Some(read_foreign_key(fk_args).map_err(|m| (offset, m))?);
                continue;
            }
        }
        match parse_type(arg, types).map_err(|m| (offset, m))? {
            Some(t) => ty = Some(t),
            None => return Err((offset, format!("unsupported column argument '{arg}'"))),
        }
    }
    let (mapped_ty, optional) = match mapped {
        Some((t, optional)) => (t, Some(optional)),
        None => (None, None),
    };
    let ty = ty
        .or(mapped_ty)
        .ok_or((0, format!("column '{name}' has no type aurora can read")))?;
    let nullable = nullable.unwrap_or(!primary_key && optional.unwrap_or(true));
    let mut fk = foreign_key;
    if let Some(fk) = fk.as_mut() {
        fk.columns = vec![name.clone()];
    }
    Ok(ColumnDecl {
        column: Column {
            name,
            ty,
            nullable,
            primary_key,
            server_default,
            autoincrement: None,
        },
        index,
        unique,
        foreign_key: fk,
    })
}

/// `server_default` as Alembic renders it: a plain string becomes `'text'`, a `text(...)` call
/// becomes `sa.text(...)`.
fn server_default_text(value: &str) -> String {
    if let Some((callee, args)) = as_call(value) {
        if short_name(callee) == "text" {
            return format!("sa.text({})", args.trim());
        }
    }
    match python_string(value) {
        Some(s) => crate::template::repr_str(&s),
        None => value.to_string(),
    }
}

fn read_foreign_key(args: &str) -> Result<ForeignKey, String> {
    let mut fk = ForeignKey {
        name: None,
        columns: Vec::new(),
        ref_table: String::new(),
        ref_columns: Vec::new(),
        ondelete: None,
        onupdate: None,
    };
    for (i, (_, arg)) in split_top(args).into_iter().enumerate() {
        if i == 0 {
            let target = python_string(arg)
                .ok_or_else(|| "ForeignKey target must be a 'table.column' string".to_string())?;
            let (table, column) = target
                .rsplit_once('.')
                .ok_or_else(|| format!("ForeignKey target '{target}' is not 'table.column'"))?;
            fk.ref_table = table.to_string();
            fk.ref_columns = vec![column.to_string()];
            continue;
        }
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("unsupported ForeignKey argument '{arg}'"));
        };
        let value = python_string(value);
        match key.trim() {
            "ondelete" => fk.ondelete = value,
            "onupdate" => fk.onupdate = value,
            "name" => fk.name = value,
            _ => {}
        }
    }
    Ok(fk)
}

/// `__table_args__ = (Index(...), UniqueConstraint(...), CheckConstraint(...), {...})`: the
/// constraints and indexes go into `table`; a trailing dict may only hold dialect options.
/// An error gives the byte offset in `statement` of what is not understood.
fn read_table_args(statement: &str, table: &mut Table) -> Result<(), (usize, String)> {
    let eq = statement
        .find('=')
        .ok_or((0, "__table_args__ needs a value".to_string()))?;
    let value = &statement[eq + 1..];
    let lead = value.len() - value.trim_start().len();
    let value = value.trim();
    let mut offset = eq + 1 + lead;
    let inner = if let Some(rest) = value.strip_prefix('(') {
        offset += 1;
        rest.strip_suffix(')').ok_or((
            offset,
            "__table_args__ must be a tuple or a dict".to_string(),
        ))?
    } else {
        value
    };
    for (at, item) in split_top(inner) {
        let here = offset + at;
        if item.starts_with('{') {
            let body = item
                .strip_prefix('{')
                .and_then(|b| b.strip_suffix('}'))
                .ok_or((here, "cannot read the dict in __table_args__".to_string()))?;
            for (_, entry) in split_top(body) {
                let (key, value) = entry
                    .split_once(':')
                    .and_then(|(k, v)| Some((python_string(k)?, v.trim())))
                    .ok_or((here, format!("cannot read '{entry}' in __table_args__")))?;
                if key == "schema" {
                    return Err((
                        here,
                        "a table schema in __table_args__ is not supported".into(),
                    ));
                }
                table.options.push((key, value.to_string()));
            }
            continue;
        }
        let Some((callee, args)) = as_call(item) else {
            return Err((here, format!("cannot read '{item}' in __table_args__")));
        };
        let mut names: Vec<String> = Vec::new();
        let mut keywords: Vec<(&str, &str)> = Vec::new();
        for (_, arg) in split_top(args) {
            match arg.split_once('=') {
                Some((k, v)) if k.trim().chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    keywords.push((k.trim(), v.trim()))
                }
                _ => match python_string(arg) {
                    Some(s) => names.push(s),
                    None => {
                        return Err((
                            here,
                            format!("{callee}: only string arguments are understood, not '{arg}'"),
                        ))
                    }
                },
            }
        }
        let keyword = |key: &str| keywords.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let name = keyword("name").and_then(python_string);
        match short_name(callee) {
            "Index" => {
                if names.is_empty() {
                    return Err((here, "Index needs a name and columns".to_string()));
                }
                let index_name = names.remove(0);
                table.indexes.push(Index {
                    name: index_name,
                    columns: names,
                    unique: keyword("unique").and_then(python_bool).unwrap_or(false),
                    generated_name: false,
                });
            }
            "UniqueConstraint" => table.uniques.push(UniqueConstraint {
                name,
                columns: names,
            }),
            "CheckConstraint" => {
                let sqltext = names
                    .first()
                    .cloned()
                    .ok_or((here, "CheckConstraint needs its SQL text".to_string()))?;
                table.checks.push((name, sqltext));
            }
            other => {
                return Err((
                    here,
                    format!("'{other}' in __table_args__ is not supported"),
                ))
            }
        }
    }
    Ok(())
}

/// Reads every declarative model of `source`; `path` names the file in errors.
pub fn read_models(path: &str, source: &str) -> Result<Schema, Vec<ModelError>> {
    read_models_with_types(path, source, &[])
}

/// [`read_models`], with the project types (`TypeDecorator` subclasses) the
/// file can use.
pub fn read_models_with_types(
    path: &str,
    source: &str,
    types: &[CustomType],
) -> Result<Schema, Vec<ModelError>> {
    let mut schema = Schema::default();
    let mut errors = Vec::new();
    let lines = logical_lines(source);
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        i += 1;
        if l.indent != 0 || !l.text.starts_with("class ") {
            continue;
        }
        // The class body: the following lines indented deeper than the class statement.
        let body_start = i;
        while i < lines.len() && lines[i].indent > 0 {
            i += 1;
        }
        let body = &lines[body_start..i];
        let Some(body_indent) = body.first().map(|b| b.indent) else {
            continue;
        };
        let mut table = Table::default();
        let mut decls: Vec<ColumnDecl> = Vec::new();
        let mut table_args: Option<&Logical> = None;
        let mut error = |line: &Logical, offset: usize, message: String| {
            errors.push(ModelError {
                path: path.to_string(),
                line: line.line,
                col: line.indent + offset + 1,
                message,
            });
        };
        for stmt in body.iter().filter(|b| b.indent == body_indent) {
            let text = stmt.text.as_str();
            if let Some(value) = text.strip_prefix("__tablename__") {
                let value = value.trim_start().trim_start_matches('=');
                match python_string(value) {
                    Some(name) => table.name = name,
                    None => error(stmt, 0, "__tablename__ must be a string literal".into()),
                }
                continue;
            }
            if text.starts_with("__table_args__") {
                table_args = Some(stmt);
                continue;
            }
            // `attr: annotation = value`, `attr: annotation` or `attr = value`.
            let (target, value, value_offset) = match text.split_once(" = ") {
                Some((t, v)) => (t, Some(v), t.len() + 3),
                None => (text, None, 0),
            };
            let (attr, annotation) = match target.split_once(':') {
                Some((a, ann)) => (a.trim(), Some(ann.trim())),
                None => (target.trim(), None),
            };
            if !attr.chars().all(|c| c.is_alphanumeric() || c == '_') || attr.is_empty() {
                continue;
            }
            let mapped = match annotation {
                Some(ann) if ann.starts_with("Mapped[") => match mapped_annotation(ann) {
                    Ok(m) => Some(m),
                    Err(m) => {
                        error(stmt, attr.len() + 2, m);
                        continue;
                    }
                },
                _ => None,
            };
            let call = value.and_then(as_call);
            let decl = match (call, &mapped) {
                (Some((callee, args)), _)
                    if matches!(short_name(callee), "Column" | "mapped_column") =>
                {
                    let args_offset = value_offset + callee.len() + 1;
                    read_column_args(attr, args, mapped.clone(), types)
                        .map_err(|(o, m)| (args_offset + o, m))
                }
                (None, Some(_)) if value.is_none() => {
                    read_column_args(attr, "", mapped.clone(), types).map_err(|(_, m)| (0, m))
                }
                _ => continue,
            };
            match decl {
                Ok(d) => decls.push(d),
                Err((offset, message)) => error(stmt, offset, message),
            }
        }
        if table.name.is_empty() {
            continue;
        }
        if let Some(stmt) = table_args {
            if let Err((offset, message)) = read_table_args(&stmt.text, &mut table) {
                error(stmt, offset, message);
            }
        }
        for d in decls {
            if d.index {
                table.indexes.push(Index {
                    name: format!("ix_{}_{}", table.name, d.column.name),
                    columns: vec![d.column.name.clone()],
                    unique: d.unique,
                    generated_name: true,
                });
            } else if d.unique {
                table.uniques.push(UniqueConstraint {
                    name: None,
                    columns: vec![d.column.name.clone()],
                });
            }
            if let Some(fk) = d.foreign_key {
                table.foreign_keys.push(fk);
            }
            table.columns.push(d.column);
        }
        schema.tables.push(table);
    }
    if errors.is_empty() {
        Ok(schema)
    } else {
        Err(errors)
    }
}
