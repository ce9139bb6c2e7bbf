//! The SQLite inspector: `sqlite_master` and the `PRAGMA table_info`,
//! `index_list`, `index_info` and `foreign_key_list` rows SQLAlchemy 2.1's
//! SQLite dialect reads, as autogenerate's model ([`crate::autogen::Schema`]).
//! Batch mode's SQLite reflection is the renderer's (`sql::Reflector`).

use super::ReflectError;
use crate::autogen::{Column, ColumnType, ForeignKey, Index, Schema, Table, UniqueConstraint};
use crate::db::{Connection, Value};

fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Text(s) => s.clone(),
        Value::Blob(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

fn int(value: &Value) -> i64 {
    match value {
        Value::Integer(i) => *i,
        Value::Text(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Reads every table of a SQLite database as SQLAlchemy's inspector sees it, for autogenerate.
pub(super) fn schema(conn: &mut dyn Connection) -> Result<Schema, ReflectError> {
    let names = conn.query(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite~_%' \
             ESCAPE '~' ORDER BY name",
    )?;
    let mut schema = Schema::default();
    for row in names {
        let name = text(&row[0]);
        schema.tables.push(table(conn, &name)?);
    }
    Ok(schema)
}

fn table(conn: &mut dyn Connection, name: &str) -> Result<Table, ReflectError> {
    let lit = sql_literal(name);
    let mut table = Table {
        name: name.to_string(),
        ..Table::default()
    };
    // cid, name, type, notnull, dflt_value, pk
    for row in conn.query(&format!("PRAGMA table_info({lit})"))? {
        let default = match &row[4] {
            Value::Null => None,
            v => Some(format!("sa.text({})", crate::template::repr_str(&text(v)))),
        };
        table.columns.push(Column {
            name: text(&row[1]),
            ty: reflected_type(&text(&row[2])),
            nullable: int(&row[3]) == 0,
            primary_key: int(&row[5]) > 0,
            server_default: default,
            autoincrement: None,
            comment: None,
            generated: None,
            python_default: None,
            model_id: None,
            rendered: None,
        });
    }
    let named = named_constraints(conn, name)?;
    // seq, name, unique, origin, partial
    for row in conn.query(&format!("PRAGMA index_list({lit})"))? {
        let index_name = text(&row[1]);
        let origin = row.get(3).map(text).unwrap_or_default();
        let info = conn.query(&format!("PRAGMA index_info({})", sql_literal(&index_name)))?;
        // An element on an expression has no column name (cid -2).
        if info.iter().any(|r| matches!(r[2], Value::Null)) {
            return Err(ReflectError::Unsupported(format!(
                "index \"{index_name}\" of table \"{name}\" is on an expression, which aurora \
                 cannot reflect on SQLite (SQLAlchemy skips it with a warning); drop the index \
                 for this comparison or compare on PostgreSQL"
            )));
        }
        let columns: Vec<String> = info.iter().map(|r| text(&r[2])).collect();
        if origin == "u" {
            // SQLAlchemy reads the name from the table's SQL; a reflected name is a `conv`.
            let name = named
                .iter()
                .find(|n| n.kind == NamedKind::Unique && n.columns == columns)
                .map(|n| n.name.clone());
            table.uniques.push(UniqueConstraint {
                generated_name: name.is_some(),
                name,
                columns,
            });
        } else if !index_name.starts_with("sqlite_autoindex") && origin != "pk" {
            table.indexes.push(Index {
                generated_name: true,
                ..Index::on_columns(index_name, columns, int(&row[2]) != 0)
            });
        }
    }
    table.indexes.sort_by(|a, b| a.name.cmp(&b.name));
    // id, seq, table, from, to, on_update, on_delete, match
    let mut foreign_keys: Vec<(i64, ForeignKey)> = Vec::new();
    for row in conn.query(&format!("PRAGMA foreign_key_list({lit})"))? {
        let id = int(&row[0]);
        let rule = |v: &Value| Some(text(v)).filter(|r| r != "NO ACTION" && !r.is_empty());
        match foreign_keys.iter_mut().find(|(i, _)| *i == id) {
            Some((_, fk)) => {
                fk.columns.push(text(&row[3]));
                fk.ref_columns.push(text(&row[4]));
            }
            None => foreign_keys.push((
                id,
                ForeignKey {
                    name: None,
                    columns: vec![text(&row[3])],
                    ref_table: text(&row[2]),
                    written_table: None,
                    ref_columns: vec![text(&row[4])],
                    onupdate: rule(&row[5]),
                    ondelete: rule(&row[6]),
                    generated_name: false,
                },
            )),
        }
    }
    // The pragma lists foreign keys last declared first.
    foreign_keys.sort_by_key(|(id, _)| -*id);
    table.foreign_keys = foreign_keys.into_iter().map(|(_, fk)| fk).collect();
    for fk in &mut table.foreign_keys {
        fk.name = named
            .iter()
            .find(|n| {
                n.kind == NamedKind::ForeignKey
                    && n.columns == fk.columns
                    && n.ref_table.as_deref() == Some(fk.ref_table.as_str())
                    && n.ref_columns == fk.ref_columns
            })
            .map(|n| n.name.clone());
        fk.generated_name = fk.name.is_some();
    }
    Ok(table)
}

#[derive(PartialEq)]
enum NamedKind {
    Unique,
    ForeignKey,
}

/// A `CONSTRAINT name UNIQUE (...)` or `CONSTRAINT name FOREIGN KEY (...) REFERENCES t (...)`
/// of a table's SQL.
struct Named {
    kind: NamedKind,
    name: String,
    columns: Vec<String>,
    ref_table: Option<String>,
    ref_columns: Vec<String>,
}

/// The named unique and foreign key constraints of a table, read from its `CREATE TABLE`
/// text as SQLAlchemy's SQLite dialect does (the pragmas give no constraint names).
fn named_constraints(conn: &mut dyn Connection, name: &str) -> Result<Vec<Named>, ReflectError> {
    let sql = conn
        .query(&format!(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {}",
            sql_literal(name)
        ))?
        .first()
        .and_then(|r| r.first())
        .map(text)
        .unwrap_or_default();
    Ok(parse_named_constraints(&sql))
}

fn parse_named_constraints(sql: &str) -> Vec<Named> {
    let mut out = Vec::new();
    let upper = sql.to_ascii_uppercase();
    let mut from = 0;
    while let Some(p) = upper[from..].find("CONSTRAINT") {
        let start = from + p + "CONSTRAINT".len();
        from = start;
        let mut cur = Cursor { s: sql, pos: start };
        if !cur.space() {
            continue;
        }
        let Some(name) = cur.ident() else { continue };
        cur.space();
        let (kind, columns) = if cur.keyword("UNIQUE") {
            cur.space();
            (NamedKind::Unique, cur.list())
        } else if cur.keyword("FOREIGN") && cur.space() && cur.keyword("KEY") {
            cur.space();
            (NamedKind::ForeignKey, cur.list())
        } else {
            continue;
        };
        let Some(columns) = columns else { continue };
        let mut named = Named {
            kind,
            name,
            columns,
            ref_table: None,
            ref_columns: Vec::new(),
        };
        if named.kind == NamedKind::ForeignKey {
            cur.space();
            if !cur.keyword("REFERENCES") {
                continue;
            }
            cur.space();
            named.ref_table = cur.ident();
            cur.space();
            named.ref_columns = cur.list().unwrap_or_default();
        }
        out.push(named);
    }
    out
}

/// A position in a table's SQL text.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    /// Skips whitespace; whether there was any.
    fn space(&mut self) -> bool {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.pos += n;
        n > 0
    }

    fn keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    /// A quoted (`"x"`, `` `x` ``, `[x]`) or bare identifier, unquoted.
    fn ident(&mut self) -> Option<String> {
        let rest = self.rest();
        let close = match rest.chars().next()? {
            '"' => '"',
            '`' => '`',
            '[' => ']',
            _ => {
                let n = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
                    .unwrap_or(rest.len());
                if n == 0 {
                    return None;
                }
                self.pos += n;
                return Some(rest[..n].to_string());
            }
        };
        let end = rest[1..].find(close)? + 1;
        self.pos += end + 1;
        Some(rest[1..end].to_string())
    }

    /// `(a, "b")`: the identifiers of a parenthesised list.
    fn list(&mut self) -> Option<Vec<String>> {
        if !self.keyword("(") {
            return None;
        }
        let mut items = Vec::new();
        loop {
            self.space();
            items.push(self.ident()?);
            self.space();
            if self.keyword(")") {
                return Some(items);
            }
            if !self.keyword(",") {
                return None;
            }
        }
    }
}

/// SQLAlchemy's SQLite type reflection: the declared type's name and arguments, as the `repr`
/// of the type instance it makes (`VARCHAR(length=80)`, `NUMERIC(precision=10, scale=2)`).
fn reflected_type(declared: &str) -> ColumnType {
    let declared = declared.trim();
    let (name, args) = match declared.split_once('(') {
        Some((n, a)) => (n.trim().to_uppercase(), a.trim_end_matches(')').to_string()),
        None => (declared.to_uppercase(), String::new()),
    };
    let args: Vec<String> = args
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let known = [
        "BIGINT",
        "BLOB",
        "BOOL",
        "BOOLEAN",
        "CHAR",
        "DATE",
        "DATETIME",
        "DOUBLE",
        "DECIMAL",
        "FLOAT",
        "INT",
        "INTEGER",
        "JSON",
        "NUMERIC",
        "REAL",
        "SMALLINT",
        "TEXT",
        "TIME",
        "TIMESTAMP",
        "VARCHAR",
        "NVARCHAR",
        "NCHAR",
    ];
    let class = if known.contains(&name.as_str()) {
        match name.as_str() {
            "INT" => "INTEGER".to_string(),
            "BOOL" => "BOOLEAN".to_string(),
            other => other.to_string(),
        }
    } else if name.contains("INT") {
        "INTEGER".to_string()
    } else if name.contains("CHAR") || name.contains("CLOB") || name.contains("TEXT") {
        "TEXT".to_string()
    } else if name.contains("BLOB") || name.is_empty() {
        return ColumnType::Reflected("NullType()".to_string());
    } else if name.contains("REAL") || name.contains("FLOA") || name.contains("DOUB") {
        "REAL".to_string()
    } else {
        "NUMERIC".to_string()
    };
    let keywords: &[&str] = match class.as_str() {
        "VARCHAR" | "CHAR" | "NVARCHAR" | "NCHAR" | "TEXT" => &["length"],
        "NUMERIC" | "DECIMAL" | "FLOAT" | "REAL" | "DOUBLE" => &["precision", "scale"],
        _ => &[],
    };
    let rendered: Vec<String> = args
        .iter()
        .zip(keywords.iter())
        .map(|(value, key)| format!("{key}={value}"))
        .collect();
    ColumnType::Reflected(format!("{class}({})", rendered.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_types_reflect_like_sqlalchemy() {
        let r = |t: &str| match reflected_type(t) {
            ColumnType::Reflected(s) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(r("VARCHAR(80)"), "VARCHAR(length=80)");
        assert_eq!(r("INTEGER"), "INTEGER()");
        assert_eq!(r("int"), "INTEGER()");
        assert_eq!(r("NUMERIC(10, 2)"), "NUMERIC(precision=10, scale=2)");
        assert_eq!(r("DATETIME"), "DATETIME()");
        assert_eq!(r("STRING"), "NUMERIC()");
    }

    /// An index on an expression has no column name to reflect: refused by name rather
    /// than read as a column called "".
    #[test]
    fn an_expression_index_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:///{}", dir.path().join("t.db").display());
        let mut conn = crate::db::connect(&crate::db::DatabaseUrl::parse(&url).unwrap()).unwrap();
        conn.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY, title VARCHAR(10))")
            .unwrap();
        conn.execute("CREATE INDEX ix_title ON posts (title)")
            .unwrap();
        assert_eq!(schema(conn.as_mut()).unwrap().tables[0].indexes.len(), 1);
        conn.execute("CREATE INDEX ix_lower ON posts (lower(title))")
            .unwrap();
        let error = schema(conn.as_mut()).unwrap_err().to_string();
        assert!(
            error.starts_with("index \"ix_lower\" of table \"posts\" is on an expression"),
            "{error}"
        );
    }
}
