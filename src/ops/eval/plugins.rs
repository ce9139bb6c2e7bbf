//! Operations and values of Alembic plugins that revisions use:
//! alembic-postgresql-enum (`op.sync_enum_values`, `TableReference`,
//! `ColumnType`). The SQL is the plugin's own text, byte for byte
//! (`alembic_postgresql_enum/sql_commands/*.py`).

use super::*;

/// `alembic_postgresql_enum.TableReference(...)`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TableReference {
    pub table_name: String,
    pub column_name: String,
    /// `None`: not given (the plugin's `Unspecified`, later the enum's schema).
    pub table_schema: Option<Option<String>>,
    pub array: bool,
    pub existing_server_default: Option<String>,
}

impl TableReference {
    fn table_name_with_schema(&self) -> String {
        match self.table_schema.as_ref().and_then(|s| s.as_deref()) {
            Some(schema) if !schema.is_empty() => format!("\"{schema}\".\"{}\"", self.table_name),
            _ => format!("\"{}\"", self.table_name),
        }
    }
    fn escaped_column_name(&self) -> String {
        format!("\"{}\"", self.column_name)
    }
}

fn column_type_is_array(v: &Value, span: Span) -> EResult<bool> {
    match v {
        Value::Path(p) if p.ends_with("ColumnType.ARRAY") => Ok(true),
        Value::Path(p) if p.ends_with("ColumnType.COMMON") => Ok(false),
        other => Err(problem(
            span,
            format!(
                "column_type must be ColumnType.COMMON or ColumnType.ARRAY, got {}",
                describe(other)
            ),
        )),
    }
}

/// `TableReference(table_name, column_name, table_schema=..., column_type=..., existing_server_default=...)`.
pub(super) fn table_reference(args: &Args) -> EResult<Value> {
    let b = bind_to(
        args,
        "TableReference",
        signature("alembic_postgresql_enum.TableReference"),
    )?;
    let table_schema = match b.get(2) {
        None => None,
        Some(Value::None) => Some(None),
        Some(_) => Some(b.str(2, "table_schema")?),
    };
    Ok(Value::TableReference(Box::new(TableReference {
        table_name: b.req_str(0, "table_name", "TableReference")?,
        column_name: b.req_str(1, "column_name", "TableReference")?,
        table_schema,
        array: match b.get(3) {
            None => false,
            Some(v) => column_type_is_array(v, b.span_of(3))?,
        },
        existing_server_default: b.str(4, "existing_server_default")?,
    })))
}

fn text(sql: String) -> Op {
    Op::Execute(Executable::Text {
        sql,
        binds: Vec::new(),
    })
}

fn pairs(v: Option<&Value>, span: Span) -> EResult<Vec<(String, String)>> {
    let items = match v {
        None | Some(Value::None) => return Ok(Vec::new()),
        Some(Value::List(xs)) | Some(Value::Tuple(xs)) => xs.clone(),
        Some(other) => {
            return Err(problem(
                span,
                format!(
                    "enum_values_to_rename must be a list of (old, new) pairs, got {}",
                    describe(other)
                ),
            ))
        }
    };
    items
        .into_iter()
        .map(|p| match p {
            Value::Tuple(xs) | Value::List(xs) => match xs.as_slice() {
                [Value::Str(a), Value::Str(b)] => Ok((a.clone(), b.clone())),
                _ => Err(problem(
                    span,
                    "enum_values_to_rename items must be (old, new) string pairs",
                )),
            },
            _ => Err(problem(
                span,
                "enum_values_to_rename items must be (old, new) string pairs",
            )),
        })
        .collect()
}

fn replace_strings_in_quotes(text: &str, renames: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (old, new) in renames {
        out = out.replace(&format!("'{old}'"), &format!("'{new}'"));
        out = out.replace(&format!("\"{old}\""), &format!("\"{new}\""));
    }
    out
}

/// The plugin's `rename_default_if_required`.
fn rename_default(
    schema: &str,
    default: &str,
    enum_name: &str,
    renames: &[(String, String)],
) -> EResult<String> {
    let new_enum = if schema.is_empty() {
        enum_name.to_string()
    } else {
        format!("{schema}.{enum_name}")
    };
    // Python's `s[: s.find("::")]` drops the last character when there is no `::`.
    let head = |s: &str| match s.find("::") {
        Some(i) => s[..i].to_string(),
        None => {
            let mut t = s.to_string();
            t.pop();
            t
        }
    };
    if default.starts_with("ARRAY[") {
        let replaced = replace_strings_in_quotes(default, renames);
        // re.sub(r"::[.\w]+", f"::{new_enum}", ...)
        let mut out = String::new();
        let mut rest = replaced.as_str();
        while let Some(i) = rest.find("::") {
            let after = &rest[i + 2..];
            let len = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                .unwrap_or(after.len());
            if len == 0 {
                out.push_str(&rest[..i + 2]);
                rest = after;
                continue;
            }
            out.push_str(&rest[..i]);
            out.push_str(&format!("::{new_enum}"));
            rest = &after[len..];
        }
        out.push_str(rest);
        return Ok(out);
    }
    if default.ends_with("[]") {
        return Ok(format!(
            "{}::{new_enum}[]",
            replace_strings_in_quotes(&head(default), renames)
        ));
    }
    Ok(format!(
        "{}::{new_enum}",
        replace_strings_in_quotes(&head(default), renames)
    ))
}

impl Evaluator {
    /// `op.sync_enum_values(enum_schema, enum_name, new_values, affected_columns,
    /// enum_values_to_rename=(), indexes_to_recreate=None)`.
    pub(super) fn sync_enum_values(&mut self, args: &Args, sink: &mut Vec<Op>) -> EResult<Value> {
        let f = "op.sync_enum_values";
        let b = bind_to(args, f, signature("op.sync_enum_values"))?;
        let schema = b.req_str(0, "enum_schema", f)?;
        let name = b.req_str(1, "enum_name", f)?;
        let new_values = b.str_list(2, "new_values")?;
        let renames = pairs(b.get(4), b.span_of(4))?;
        match b.get(5) {
            None | Some(Value::None) => {}
            Some(Value::List(xs)) if xs.is_empty() => {}
            Some(_) => {
                return Err(problem(
                    b.span_of(5),
                    "indexes_to_recreate (TableIndex) is not supported by aurora yet",
                ))
            }
        }
        let columns = match b.get(3) {
            Some(Value::List(xs)) | Some(Value::Tuple(xs)) => xs.clone(),
            _ => {
                return Err(problem(
                    b.span_of(3),
                    "affected_columns must be a list of TableReference",
                ))
            }
        };
        let mut refs = Vec::new();
        for c in columns {
            match c {
                Value::TableReference(mut r) => {
                    if r.table_schema.is_none() {
                        r.table_schema = Some(Some(schema.clone()));
                    }
                    refs.push(*r);
                }
                Value::Tuple(_) => {
                    return Err(problem(
                        b.span_of(3),
                        "old-style (table, column) affected_columns make alembic-postgresql-enum query the column default from the database; use TableReference(...) instead",
                    ))
                }
                _ => return Err(problem(b.span_of(3), "Affected columns must contain tuples or TableReferences")),
            }
        }
        // The plugin skips (with a warning) on any dialect but PostgreSQL.
        if self.ctx.dialect != "postgresql" {
            return Ok(Value::None);
        }
        let enum_type = format!("\"{schema}\".\"{name}\"");
        let temporary = format!("\"{name}_old\"");
        let temporary_type = format!("\"{schema}\".{temporary}");
        sink.push(text(format!(
            "ALTER TYPE {enum_type} RENAME TO {temporary}"
        )));
        sink.push(text(format!(
            "CREATE TYPE {enum_type} AS ENUM({})",
            new_values
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
        for (operator, function) in [("!=", "new_old_not_equals"), ("=", "new_old_equals")] {
            let qualified_function = format!("\"{schema}\".{function}");
            let qualified_operator = format!("\"{schema}\".{operator}");
            if renames.is_empty() {
                sink.push(text(format!(
                    "\n            CREATE FUNCTION {qualified_function}(\n                new_enum_val {enum_type}, old_enum_val {temporary_type}\n            )\n            RETURNS boolean AS $$\n                SELECT new_enum_val::text {operator} old_enum_val::text;\n            $$ LANGUAGE SQL IMMUTABLE\n        "
                )));
            } else {
                let whens = renames
                    .iter()
                    .map(|(o, n)| format!("WHEN old_enum_val::text = '{o}' THEN '{n}'"))
                    .collect::<Vec<_>>()
                    .join(" ");
                sink.push(text(format!(
                    "\n            CREATE FUNCTION {qualified_function}(\n                new_enum_val {enum_type}, old_enum_val {temporary_type}\n            )\n            RETURNS boolean AS $$\n                SELECT new_enum_val::text {operator} CASE\n                    {whens}\n\n                    ELSE old_enum_val::text\n                END;\n            $$ LANGUAGE SQL IMMUTABLE\n        "
                )));
            }
            sink.push(text(format!(
                "\n        CREATE OPERATOR {qualified_operator} (\n            leftarg = {enum_type},\n            rightarg = {temporary_type},\n            procedure = {qualified_function}\n        )\n    "
            )));
        }
        for r in &refs {
            let table = r.table_name_with_schema();
            let column = r.escaped_column_name();
            if r.existing_server_default.is_some() {
                sink.push(text(format!(
                    "ALTER TABLE {table}\n             ALTER COLUMN {column} DROP DEFAULT"
                )));
            }
            if r.array {
                let mut cast = format!("{column}::text[]");
                for (o, n) in &renames {
                    cast = format!("array_replace({cast}, '{o}', '{n}')");
                }
                sink.push(text(format!(
                    "ALTER TABLE {table} \n            ALTER COLUMN {column} TYPE {enum_type}[]\n            USING {cast}::{enum_type}[]\n            "
                )));
            } else if renames.is_empty() {
                sink.push(text(format!(
                    "ALTER TABLE {table} \n                ALTER COLUMN {column} TYPE {enum_type} \n                USING {column}::text::{enum_type}\n                "
                )));
            } else {
                let whens = renames
                    .iter()
                    .map(|(o, n)| format!("WHEN {column}::text = '{o}' THEN '{n}'::{enum_type}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                sink.push(text(format!(
                    "ALTER TABLE {table} \n                ALTER COLUMN {column} TYPE {enum_type} \n                USING CASE \n                {whens}\n\n                ELSE {column}::text::{enum_type}\n                END\n                "
                )));
            }
            if let Some(default) = &r.existing_server_default {
                let default = rename_default(&schema, default, &name, &renames)?;
                sink.push(text(format!(
                    "ALTER TABLE {table}\n            ALTER COLUMN {column} SET DEFAULT {default}"
                )));
            }
        }
        for (operator, function) in [("!=", "new_old_not_equals"), ("=", "new_old_equals")] {
            let qualified_function = format!("\"{schema}\".{function}");
            let qualified_operator = format!("\"{schema}\".{operator}");
            sink.push(text(format!(
                "\n            DROP OPERATOR IF EXISTS {qualified_operator} (\n                {enum_type},\n                {temporary_type}\n            )\n            "
            )));
            sink.push(text(format!(
                "\n        DROP FUNCTION {qualified_function}(\n            new_enum_val {enum_type}, old_enum_val {temporary_type}\n        )\n    "
            )));
        }
        sink.push(text(format!("DROP TYPE {temporary_type}")));
        Ok(Value::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_defaults_follow_the_plugin() {
        let r = vec![("a".to_string(), "b".to_string())];
        assert_eq!(
            rename_default("public", "'a'::old", "e", &r).unwrap(),
            "'b'::public.e"
        );
        assert_eq!(
            rename_default("", "'a'::old[]", "e", &r).unwrap(),
            "'b'::e[]"
        );
        assert_eq!(
            rename_default("s", "ARRAY['a'::x.old]", "e", &r).unwrap(),
            "ARRAY['b'::s.e]"
        );
    }
}
