//! Autogenerate building blocks: a schema model, the comparison Alembic makes between the
//! target schema (the models) and the live one, and the operations it finds.
//!
//! [`models`] reads the `MetaData` the interpreter built from the project's models (env.py's
//! `target_metadata`) into a [`Schema`]; the caller
//! introspects the database into the same type (that is `db`'s job), [`compare`] turns the two
//! into [`Op`]s in Alembic's order, and [`render`] writes them as the text Alembic puts into the
//! upgrade and downgrade functions. Nothing here touches a file or a database.

pub mod diff;
pub mod indexes;
mod model_indexes;
pub mod models;
pub mod render;

use std::collections::{BTreeMap, BTreeSet};

/// A column type, as the migration language names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    /// `sa.Integer()`.
    Integer,
    /// `sa.BigInteger()`.
    BigInteger,
    /// `sa.SmallInteger()`.
    SmallInteger,
    /// `sa.String(length=N)`, or `sa.String()` without a length.
    String(Option<u32>),
    /// `sa.Text()`.
    Text,
    /// `sa.Float()`.
    Float,
    /// `sa.Double()` (what `Mapped[float]` means since SQLAlchemy 2.1).
    Double,
    /// `sa.Numeric(precision=P, scale=S)`.
    Numeric(Option<u32>, Option<u32>),
    /// `sa.Boolean()`.
    Boolean,
    /// `sa.DateTime()`.
    DateTime,
    /// `sa.Date()`.
    Date,
    /// `sa.Time()`.
    Time,
    /// `sa.JSON()`.
    Json,
    /// `sa.LargeBinary()`.
    LargeBinary,
    /// A reflected type rendered as `sa.` followed by this text, e.g. `VARCHAR(length=20)`.
    Reflected(String),
    /// A model type whose SQLAlchemy `repr` and DDL were worked out when the models were read,
    /// for the dialect compared against: `repr` is `DateTime(timezone=True)` or
    /// `Enum('a', 'b', name='status')` (rendered after `sa.`), `ddl` the name
    /// [`ddl_type_name`] compares (`DATETIME`, `VARCHAR(8)`).
    Other {
        /// SQLAlchemy's `repr` of the type.
        repr: String,
        /// Its DDL, as the comparison normalises it.
        ddl: String,
    },
    /// A type as env.py's `render_item` rendered it (`text`), compared and shown by `check`
    /// as `base`.
    Rendered {
        /// The text render_item returned.
        text: String,
        /// The type it stands for.
        base: Box<ColumnType>,
    },
    /// A project `TypeDecorator` subclass: rendered as `prefix` + its class
    /// name with its impl's arguments (SQLAlchemy's `repr` of a
    /// TypeDecorator inspects the impl), compiled and compared as its impl.
    Custom {
        prefix: String,
        class: String,
        impl_type: Box<ColumnType>,
    },
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Whether it is part of the primary key.
    pub primary_key: bool,
    /// The server default, as the Python source of its argument (e.g. `sa.text('0')`).
    pub server_default: Option<String>,
    /// `autoincrement=True/False` as reflected (PostgreSQL); `None` is SQLAlchemy's "auto",
    /// which Alembic does not render.
    pub autoincrement: Option<bool>,
    /// `comment=`.
    pub comment: Option<String>,
    /// A `Computed(...)` or `Identity(...)` as Alembic renders it positionally after the type
    /// (`sa.Computed('id * 2', )`).
    pub generated: Option<String>,
    /// A scalar Python-side `default=` as SQLAlchemy's `repr` shows it in `alembic check`
    /// (`ScalarElementColumnDefault(False)`); models only.
    pub python_default: Option<String>,
    /// Which model column this is, for env.py's `render_item` (see
    /// [`models::model_column`]); `None` for reflected columns.
    pub model_id: Option<usize>,
    /// The whole column as env.py's `render_item("column", ...)` rendered it.
    pub rendered: Option<String>,
}

/// An index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Its name.
    pub name: String,
    /// The columns its elements name, in order: each plain column, and the first column
    /// an expression names (SQLAlchemy's `Index.columns`, which Alembic's "Detected added
    /// index" line shows).
    pub columns: Vec<String>,
    /// What it indexes, in order (SQLAlchemy's `Index.expressions`).
    pub elements: Vec<IndexElement>,
    /// Whether it is unique.
    pub unique: bool,
    /// Whether the name came from SQLAlchemy's naming convention (`index=True`), which
    /// Alembic renders as `op.f('...')`.
    pub generated_name: bool,
    /// Dialect keyword arguments as Alembic renders them after the index's other
    /// arguments (`postgresql_using='gin'`, `postgresql_where="(qty > 0)"`); reflected
    /// only, and not compared (Alembic compares the expressions and uniqueness).
    pub dialect_kwargs: Vec<String>,
}

impl Index {
    /// An index of plain columns.
    pub fn on_columns(name: String, columns: Vec<String>, unique: bool) -> Index {
        Index {
            name,
            elements: columns.iter().cloned().map(IndexElement::Column).collect(),
            columns,
            unique,
            generated_name: false,
            dialect_kwargs: Vec::new(),
        }
    }

    /// Whether an element is an expression rather than a column, sorted or not (Alembic's
    /// `is_expression_index`).
    pub fn has_expressions(&self) -> bool {
        self.elements
            .iter()
            .any(|e| matches!(e, IndexElement::Expression(x) if !x.sorted_column))
    }
}

/// One element of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexElement {
    /// A table column, by name.
    Column(String),
    /// A SQL expression: `func.lower(title)`, `text('a + 1')`, `title.desc()` in the
    /// models, `lower(title::text)` or `title DESC` reflected.
    Expression(IndexExpression),
}

/// A SQL expression an index is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexExpression {
    /// As the dialect compiles it, with literal values and without table names: what
    /// Alembic's PostgreSQL comparison cleans up and compares, and names in a "changed
    /// index" line.
    pub sql: String,
    /// As `create_index` takes it: `sql` grouped as SQLAlchemy's `self_group()` groups
    /// an index element (`(a + b)`), rendered inside `sa.literal_column(...)`.
    pub grouped: String,
    /// SQLAlchemy's `repr` of the element, as `check` shows it (with the one fixed
    /// address aurora shows for every object).
    pub repr: String,
    /// Whether it is a column under sort modifiers only (`title DESC`), which Alembic
    /// does not count as an expression.
    pub sorted_column: bool,
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// Its name, if it has one.
    pub name: Option<String>,
    /// The local columns.
    pub columns: Vec<String>,
    /// The referenced table by its key: `schema.table` for a table of another schema (as
    /// SQLAlchemy's `ForeignKey('schema.table.column')` and the reflected `referred_schema`
    /// name it).
    pub ref_table: String,
    /// The referenced table as the model wrote it (`users`), where `ref_table` has the
    /// schema of `MetaData(schema=...)` added (`app.users`): SQLAlchemy's `repr` shows
    /// what was written.
    pub written_table: Option<String>,
    /// The referenced columns.
    pub ref_columns: Vec<String>,
    /// `ondelete`, if given.
    pub ondelete: Option<String>,
    /// `onupdate`, if given.
    pub onupdate: Option<String>,
    /// Whether the name is SQLAlchemy's `conv` (made by the naming convention, or reflected),
    /// which Alembic renders as `op.f('...')`.
    pub generated_name: bool,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueConstraint {
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Its columns.
    pub columns: Vec<String>,
    /// Whether the name is SQLAlchemy's `conv` (made by the naming convention, or reflected),
    /// which Alembic renders as `op.f('...')`.
    pub generated_name: bool,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Its SQL text.
    pub sqltext: String,
    /// Whether the name is SQLAlchemy's `conv` (rendered as `op.f('...')`).
    pub generated_name: bool,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its schema; `None` is the default schema (the connection's, or the models' tables
    /// without `schema=`).
    pub schema: Option<String>,
    /// Its columns, in declaration order.
    pub columns: Vec<Column>,
    /// Its indexes.
    pub indexes: Vec<Index>,
    /// Its foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// Its unique constraints.
    pub uniques: Vec<UniqueConstraint>,
    /// Its CHECK constraints. Autogenerate renders them in `create_table` but, like Alembic
    /// by default, does not compare them.
    pub checks: Vec<CheckConstraint>,
    /// Dialect options from `__table_args__` (`sqlite_autoincrement`, ...): each name with
    /// the Python source of its value.
    pub options: Vec<(String, String)>,
    /// The primary key constraint's name from the metadata's naming convention
    /// (rendered as `name=op.f('...')`).
    pub primary_key_name: Option<String>,
    /// The table's `comment=`.
    pub comment: Option<String>,
}

impl Table {
    /// The primary key columns, in column order.
    pub fn primary_key(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.as_str())
            .collect()
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// SQLAlchemy's table key: `schema.name`, or the name in the default schema.
    pub fn key(&self) -> String {
        table_key(self.schema.as_deref(), &self.name)
    }
}

/// SQLAlchemy's `_get_table_key(name, schema)`: `schema.name`, or `name` without a schema.
pub fn table_key(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{s}.{name}"),
        None => name.to_string(),
    }
}

/// A set of tables: the models' metadata or an introspected database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// The tables, in declaration order.
    pub tables: Vec<Table>,
}

impl Schema {
    /// The table whose key ([`Table::key`]) is `key`: its name in the default schema,
    /// `schema.name` in another.
    pub fn table(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.key() == key)
    }

    /// The table `name` of `schema`.
    pub fn table_in(&self, schema: Option<&str>, name: &str) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.name == name && t.schema.as_deref() == schema)
    }

    /// The tables in SQLAlchemy's `sorted_tables` order: by name, then moved after the tables
    /// their foreign keys reference.
    pub fn sorted_tables(&self) -> Vec<&Table> {
        let mut by_key: Vec<(String, &Table)> = self.tables.iter().map(|t| (t.key(), t)).collect();
        by_key.sort_by(|a, b| a.0.cmp(&b.0));
        let keys: BTreeSet<&str> = by_key.iter().map(|(k, _)| k.as_str()).collect();
        let mut done: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::new();
        // Repeatedly take, in key order, the first table whose dependencies are all placed;
        // a cycle falls back to key order. A foreign key names its table by key.
        while out.len() < by_key.len() {
            let next = by_key
                .iter()
                .find(|(k, t)| {
                    !done.contains(k.as_str())
                        && t.foreign_keys.iter().all(|fk| {
                            fk.ref_table == *k
                                || !keys.contains(fk.ref_table.as_str())
                                || done.contains(fk.ref_table.as_str())
                        })
                })
                .or_else(|| by_key.iter().find(|(k, _)| !done.contains(k.as_str())));
            let Some((k, t)) = next else { break };
            done.insert(k.as_str());
            out.push(*t);
        }
        out
    }
}

/// One operation found by the comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `op.create_table(...)`.
    CreateTable(Table),
    /// `op.drop_table(...)`; holds the table as it is, so the downgrade can recreate it.
    DropTable(Table),
    /// `op.create_index(...)`.
    CreateIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// `op.drop_index(...)`.
    DropIndex {
        /// The table.
        table: String,
        /// The index as it is.
        index: Index,
    },
    /// `op.add_column(...)`.
    AddColumn {
        /// The table.
        table: String,
        /// The new column.
        column: Column,
    },
    /// `op.drop_column(...)`.
    DropColumn {
        /// The table.
        table: String,
        /// The column as it is.
        column: Column,
    },
    /// `op.alter_column(...)`: a type or nullability change of an existing column.
    AlterColumn(AlterColumn),
    /// `op.create_unique_constraint(...)`.
    AddUnique {
        /// The table.
        table: String,
        /// The constraint.
        unique: UniqueConstraint,
    },
    /// `op.drop_constraint(..., type_='unique')`.
    DropUnique {
        /// The table.
        table: String,
        /// The constraint as it is.
        unique: UniqueConstraint,
    },
    /// `op.create_foreign_key(...)`.
    AddForeignKey {
        /// The table.
        table: String,
        /// The constraint.
        foreign_key: ForeignKey,
    },
    /// `op.drop_constraint(..., type_='foreignkey')`.
    DropForeignKey {
        /// The table.
        table: String,
        /// The constraint as it is.
        foreign_key: ForeignKey,
    },
    /// `op.create_table_comment(...)` (a comment set) or `op.drop_table_comment(...)`
    /// (`comment` is `None`).
    TableComment {
        /// The table.
        table: String,
        /// The new comment.
        comment: Option<String>,
        /// The comment it has now.
        existing: Option<String>,
    },
    /// The operations on one existing table, kept together as Alembic's `ModifyTableOps`.
    /// The operations inside name the table without its schema; this one carries it.
    ModifyTable {
        /// The table.
        table: String,
        /// Its schema (`None`: the default one).
        schema: Option<String>,
        /// Its operations.
        ops: Vec<Op>,
    },
}

impl Op {
    /// The operation that undoes this one, as Alembic's `reverse()`.
    pub fn reverse(&self) -> Op {
        match self {
            Op::CreateTable(t) => Op::DropTable(t.clone()),
            Op::DropTable(t) => Op::CreateTable(t.clone()),
            Op::CreateIndex { table, index } => Op::DropIndex {
                table: table.clone(),
                index: index.clone(),
            },
            Op::DropIndex { table, index } => Op::CreateIndex {
                table: table.clone(),
                index: index.clone(),
            },
            Op::AddColumn { table, column } => Op::DropColumn {
                table: table.clone(),
                column: column.clone(),
            },
            Op::DropColumn { table, column } => Op::AddColumn {
                table: table.clone(),
                column: column.clone(),
            },
            Op::AlterColumn(alter) => Op::AlterColumn(alter.reverse()),
            Op::AddUnique { table, unique } => Op::DropUnique {
                table: table.clone(),
                unique: unique.clone(),
            },
            Op::DropUnique { table, unique } => Op::AddUnique {
                table: table.clone(),
                unique: unique.clone(),
            },
            Op::AddForeignKey { table, foreign_key } => Op::DropForeignKey {
                table: table.clone(),
                foreign_key: foreign_key.clone(),
            },
            Op::DropForeignKey { table, foreign_key } => Op::AddForeignKey {
                table: table.clone(),
                foreign_key: foreign_key.clone(),
            },
            Op::TableComment {
                table,
                comment,
                existing,
            } => Op::TableComment {
                table: table.clone(),
                comment: existing.clone(),
                existing: comment.clone(),
            },
            Op::ModifyTable { table, schema, ops } => Op::ModifyTable {
                table: table.clone(),
                schema: schema.clone(),
                ops: ops.iter().rev().map(Op::reverse).collect(),
            },
        }
    }
}

/// A change to an existing column, as Alembic's `AlterColumnOp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterColumn {
    /// The table.
    pub table: String,
    /// The column.
    pub column: String,
    /// The type the column has now.
    pub existing_type: ColumnType,
    /// Whether the column accepts NULL now.
    pub existing_nullable: bool,
    /// The new type, when it changes.
    pub modify_type: Option<ColumnType>,
    /// The new nullability, when it changes.
    pub modify_nullable: Option<bool>,
    /// Alembic's `existing_server_default`: `None` (Python's `False`) when neither the model
    /// nor the database column has a server default, else the database's (`Some(None)` when
    /// only the model has one).
    pub existing_server_default: Option<Option<String>>,
    /// The new server default (`Some(None)` drops it), when `compare_server_default` found a
    /// change.
    pub modify_server_default: Option<Option<String>>,
    /// The database column's comment, when either side has one (PostgreSQL).
    pub existing_comment: Option<String>,
    /// The new comment (`Some(None)` drops it).
    pub modify_comment: Option<Option<String>>,
}

impl AlterColumn {
    /// The change that undoes this one.
    pub fn reverse(&self) -> AlterColumn {
        let mut out = self.clone();
        if let Some(ty) = &self.modify_type {
            out.existing_type = ty.clone();
            out.modify_type = Some(self.existing_type.clone());
        }
        if let Some(nullable) = self.modify_nullable {
            out.existing_nullable = nullable;
            out.modify_nullable = Some(self.existing_nullable);
        }
        if let Some(comment) = &self.modify_comment {
            out.existing_comment = comment.clone();
            out.modify_comment = Some(self.existing_comment.clone());
        }
        if let Some(default) = &self.modify_server_default {
            out.existing_server_default = Some(default.clone());
            out.modify_server_default = Some(self.existing_server_default.clone().flatten());
        }
        out
    }
}

/// The SQLite DDL name of a type, upper case and without spaces, used to decide whether a
/// model type and a reflected type are the same (Alembic's default `compare_type`).
pub fn ddl_type_name(ty: &ColumnType) -> String {
    let text = match ty {
        ColumnType::Integer => "INTEGER".to_string(),
        ColumnType::BigInteger => "BIGINT".to_string(),
        ColumnType::SmallInteger => "SMALLINT".to_string(),
        ColumnType::String(None) => "VARCHAR".to_string(),
        ColumnType::String(Some(n)) => format!("VARCHAR({n})"),
        ColumnType::Text => "TEXT".to_string(),
        ColumnType::Float => "FLOAT".to_string(),
        ColumnType::Double => "DOUBLE".to_string(),
        ColumnType::Numeric(None, _) => "NUMERIC".to_string(),
        ColumnType::Numeric(Some(p), None) => format!("NUMERIC({p})"),
        ColumnType::Numeric(Some(p), Some(s)) => format!("NUMERIC({p},{s})"),
        ColumnType::Boolean => "BOOLEAN".to_string(),
        ColumnType::DateTime => "DATETIME".to_string(),
        ColumnType::Date => "DATE".to_string(),
        ColumnType::Time => "TIME".to_string(),
        ColumnType::Json => "JSON".to_string(),
        ColumnType::LargeBinary => "BLOB".to_string(),
        ColumnType::Reflected(text) => reflected_ddl(text),
        ColumnType::Other { ddl, .. } => ddl.clone(),
        ColumnType::Rendered { base, .. } => ddl_type_name(base),
        ColumnType::Custom { impl_type, .. } => ddl_type_name(impl_type),
    };
    text.to_uppercase().replace(' ', "")
}

/// `VARCHAR(length=80)` → `VARCHAR(80)`, `NUMERIC(precision=10, scale=2)` → `NUMERIC(10,2)`.
fn reflected_ddl(text: &str) -> String {
    // PostgreSQL's reflected types carry their module (`sa.`, `postgresql.`); they compare as
    // Alembic's PostgreSQL implementation compiles them (TIMESTAMP is DateTime's DDL there,
    // FLOAT and DOUBLE PRECISION are synonyms, BYTEA is LargeBinary's DDL).
    let text = text
        .strip_prefix("sa.")
        .or_else(|| text.strip_prefix("postgresql."))
        .unwrap_or(text);
    match text {
        "TIMESTAMP()" => return "DATETIME".to_string(),
        "TIME()" => return "TIME".to_string(),
        "DOUBLE_PRECISION(precision=53)" => return "FLOAT".to_string(),
        "BYTEA()" => return "BLOB".to_string(),
        "JSON(astext_type=sa.Text())" => return "JSON".to_string(),
        "JSONB(astext_type=sa.Text())" => return "JSONB".to_string(),
        _ => {}
    }
    let Some((name, args)) = text.split_once('(') else {
        return text.to_string();
    };
    if name == "ENUM" {
        return "ENUM".to_string();
    }
    let args = args.trim_end_matches(')');
    let values: Vec<&str> = args
        .split(',')
        .map(|a| a.split_once('=').map_or(a, |(_, v)| v).trim())
        .filter(|a| !a.is_empty())
        .collect();
    if values.is_empty() {
        name.to_string()
    } else {
        format!("{name}({})", values.join(","))
    }
}

/// The downgrade of a list of upgrade operations: each reversed, in reverse order.
pub fn reverse_ops(ops: &[Op]) -> Vec<Op> {
    ops.iter().rev().map(Op::reverse).collect()
}

/// Compares the target schema `metadata` with the live `database`, as Alembic's default
/// autogenerate does for tables, columns and indexes. `version_table` is left out.
pub fn compare(metadata: &Schema, database: &Schema, version_table: &str) -> Vec<Op> {
    compare_with_options(
        metadata,
        database,
        version_table,
        &CompareOptions::default(),
    )
}

/// What env.py's `configure(...)` turns on beyond Alembic's default comparison.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// `compare_server_default=True`, with SQLite's rule for equal defaults (the only one
    /// aurora has: the caller refuses it elsewhere).
    pub server_default: bool,
    /// Whether the dialect keeps comments (PostgreSQL): Alembic then compares them.
    pub comments: bool,
    /// The connection's default schema (PostgreSQL's `current_schema()`): a model table
    /// that names it with `schema=` is compared with the reflected table of the default
    /// schema (`None`), as Alembic's `_compare_tables` does.
    pub default_schema: Option<String>,
    /// How the dialect compares an index with the reflected one of the same name.
    pub index_rule: indexes::IndexRule,
    /// env.py's `version_table_schema`: the version table is left out of the comparison in
    /// that schema only (`None`: the default one), as Alembic's `_autogen_for_tables`
    /// compares the names.
    pub version_table_schema: Option<String>,
}

/// A server default as Alembic's SQLite implementation compares it: the SQL text without one
/// pair of enclosing parentheses, then without enclosing quotes.
fn sqlite_default_for_compare(rendered: &str) -> String {
    let text = python_default_text(rendered);
    let text = match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) if !inner.is_empty() => inner.to_string(),
        _ => text,
    };
    let unquoted = text.strip_prefix('"').unwrap_or(&text);
    let unquoted = unquoted.strip_suffix('"').unwrap_or(unquoted);
    match unquoted
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
    {
        Some(inner) if !inner.is_empty() => inner.to_string(),
        _ => text,
    }
}

/// The SQL text of a rendered server default: `'x'` (a string default) is `x`,
/// `sa.text('now()')` is `now()`.
pub fn python_default_text(rendered: &str) -> String {
    let literal = rendered
        .strip_prefix("sa.text(")
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(rendered);
    let quote = literal.chars().next().unwrap_or('\'');
    let inner = literal
        .strip_prefix(quote)
        .and_then(|t| t.strip_suffix(quote))
        .unwrap_or(literal);
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// [`compare`] with env.py's comparison options.
pub fn compare_with_options(
    metadata: &Schema,
    database: &Schema,
    version_table: &str,
    options: &CompareOptions,
) -> Vec<Op> {
    let mut ops = Vec::new();
    // Tables by (schema, name); the version table only in its own schema.
    type Name<'a> = (Option<&'a str>, &'a str);
    let not_version =
        |t: &Table| !(t.schema == options.version_table_schema && t.name == version_table);
    fn name_of(t: &Table) -> (Option<&str>, &str) {
        (t.schema.as_deref(), t.name.as_str())
    }
    let default_schema = options.default_schema.as_deref();
    let meta_name = |t: &Table| -> (Option<String>, String) {
        (
            t.schema
                .clone()
                .filter(|s| Some(s.as_str()) != default_schema),
            t.name.clone(),
        )
    };
    let db_names: BTreeSet<Name<'_>> = database
        .tables
        .iter()
        .filter(|t| not_version(t))
        .map(name_of)
        .collect();
    let meta_names: BTreeSet<(Option<String>, String)> = metadata
        .tables
        .iter()
        .filter(|t| not_version(t))
        .map(meta_name)
        .collect();
    let in_db = |t: &Table| {
        let (s, n) = meta_name(t);
        db_names.contains(&(s.as_deref(), n.as_str()))
    };
    for table in metadata.sorted_tables() {
        if !not_version(table) || in_db(table) {
            continue;
        }
        ops.push(Op::CreateTable(table.clone()));
        let index_ops = compare_indexes(&table.name, None, table);
        if !index_ops.is_empty() {
            ops.push(Op::ModifyTable {
                table: table.name.clone(),
                schema: table.schema.clone(),
                ops: index_ops,
            });
        }
    }
    for table in &database.tables {
        if db_names.contains(&name_of(table))
            && !meta_names.contains(&(table.schema.clone(), table.name.clone()))
        {
            let index_ops = compare_indexes(&table.name, Some(table), &Table::default());
            if !index_ops.is_empty() {
                ops.push(Op::ModifyTable {
                    table: table.name.clone(),
                    schema: table.schema.clone(),
                    ops: index_ops,
                });
            }
            ops.push(Op::DropTable(table.clone()));
        }
    }
    // Alembic walks the tables on both sides sorted by (schema or "", name).
    let existing: BTreeMap<(&str, &str), (&Table, &Table)> = metadata
        .tables
        .iter()
        .filter(|m| not_version(m) && in_db(m))
        .filter_map(|m| {
            let d = database.table_in(meta_name(m).0.as_deref(), &m.name)?;
            Some(((d.schema.as_deref().unwrap_or(""), d.name.as_str()), (m, d)))
        })
        .collect();
    let default_changed = |existing: &Column, column: &Column| {
        options.server_default
            && existing
                .server_default
                .as_deref()
                .map(sqlite_default_for_compare)
                != column
                    .server_default
                    .as_deref()
                    .map(sqlite_default_for_compare)
    };
    for ((_, name), (meta, db)) in existing {
        let mut table_ops = Vec::new();
        for column in &meta.columns {
            if db.column(&column.name).is_none() {
                table_ops.push(Op::AddColumn {
                    table: name.to_string(),
                    column: column.clone(),
                });
            }
        }
        for column in &meta.columns {
            if let Some(existing) = db.column(&column.name) {
                let type_changed = ddl_type_name(&existing.ty) != ddl_type_name(&column.ty);
                // A primary key column's nullability is implied; Alembic leaves it alone, and
                // ignores it on an identity column ("Ignoring nullable change on identity
                // column").
                let identity = |c: &Column| {
                    c.generated
                        .as_deref()
                        .is_some_and(|g| g.starts_with("sa.Identity("))
                };
                let nullable_changed = existing.nullable != column.nullable
                    && !column.primary_key
                    && !identity(existing)
                    && !identity(column);
                let server_default_changed = default_changed(existing, column);
                let (existing_comment, comment_changed) = if options.comments {
                    let (db, model) = (
                        existing.comment.clone().filter(|c| !c.is_empty()),
                        column.comment.clone().filter(|c| !c.is_empty()),
                    );
                    (db.clone(), db != model)
                } else {
                    (None, false)
                };
                if type_changed || nullable_changed || server_default_changed || comment_changed {
                    table_ops.push(Op::AlterColumn(AlterColumn {
                        table: name.to_string(),
                        column: column.name.clone(),
                        existing_type: existing.ty.clone(),
                        existing_nullable: existing.nullable,
                        modify_type: type_changed.then(|| column.ty.clone()),
                        modify_nullable: nullable_changed.then_some(column.nullable),
                        // A reflected Identity or Computed is the column's server default
                        // for Alembic.
                        existing_server_default: (existing.server_default.is_some()
                            || existing.generated.is_some()
                            || column.server_default.is_some()
                            || column.generated.is_some())
                        .then(|| {
                            existing
                                .server_default
                                .clone()
                                .or_else(|| existing.generated.clone())
                        }),
                        modify_server_default: server_default_changed
                            .then(|| column.server_default.clone()),
                        existing_comment,
                        modify_comment: comment_changed
                            .then(|| column.comment.clone().filter(|c| !c.is_empty())),
                    }));
                }
            }
        }
        table_ops.extend(compare_indexes_and_uniques(
            name,
            db,
            meta,
            options.index_rule,
        ));
        let (db_comment, meta_comment) = (
            db.comment.clone().filter(|c| !c.is_empty()),
            meta.comment.clone().filter(|c| !c.is_empty()),
        );
        let table_comment =
            (options.comments && db_comment != meta_comment).then(|| Op::TableComment {
                table: name.to_string(),
                comment: meta_comment,
                existing: db_comment,
            });
        table_ops.extend(compare_foreign_keys(name, db, meta));
        // Alembic's table comparators (constraints, foreign keys, the comment) run inside
        // `_compare_columns`, before it removes the columns the models lack.
        table_ops.extend(table_comment);
        for column in &db.columns {
            if meta.column(&column.name).is_none() {
                table_ops.push(Op::DropColumn {
                    table: name.to_string(),
                    column: column.clone(),
                });
            }
        }
        if !table_ops.is_empty() {
            ops.push(Op::ModifyTable {
                table: name.to_string(),
                schema: db.schema.clone(),
                ops: table_ops,
            });
        }
    }
    ops
}

/// Index and unique constraint changes of an existing table, as Alembic's
/// `_compare_indexes_and_uniques`: both kinds by name, removed ones (sorted by name) first,
/// then changed ones, then added ones (sorted by name), then the model's unnamed unique
/// constraints that no reflected one has the columns of. A reflected unnamed unique
/// constraint (SQLite's inline `UNIQUE (x)`) has no name to drop it by, so, as in Alembic,
/// it is never removed.
fn compare_indexes_and_uniques(
    table: &str,
    db: &Table,
    meta: &Table,
    index_rule: indexes::IndexRule,
) -> Vec<Op> {
    #[derive(Clone, Copy)]
    enum Obj<'a> {
        Ix(&'a Index),
        Uq(&'a UniqueConstraint),
    }
    fn by_name(t: &Table) -> BTreeMap<&str, Obj<'_>> {
        let mut names: BTreeMap<&str, Obj<'_>> = BTreeMap::new();
        for u in &t.uniques {
            if let Some(n) = &u.name {
                names.insert(n.as_str(), Obj::Uq(u));
            }
        }
        for i in &t.indexes {
            names.insert(i.name.as_str(), Obj::Ix(i));
        }
        names
    }
    let t = || table.to_string();
    let removed = |o: Obj<'_>| match o {
        Obj::Ix(i) => Op::DropIndex {
            table: t(),
            index: i.clone(),
        },
        Obj::Uq(u) => Op::DropUnique {
            table: t(),
            unique: u.clone(),
        },
    };
    let added = |o: Obj<'_>| match o {
        Obj::Ix(i) => Op::CreateIndex {
            table: t(),
            index: i.clone(),
        },
        Obj::Uq(u) => Op::AddUnique {
            table: t(),
            unique: u.clone(),
        },
    };
    let conn_names = by_name(db);
    let meta_names = by_name(meta);
    let unnamed_meta: Vec<&UniqueConstraint> =
        meta.uniques.iter().filter(|u| u.name.is_none()).collect();
    let mut ops = Vec::new();
    for (name, conn) in &conn_names {
        if meta_names.contains_key(name) {
            continue;
        }
        if let Obj::Uq(u) = conn {
            if unnamed_meta.iter().any(|m| m.columns == u.columns) {
                continue;
            }
        }
        ops.push(removed(*conn));
    }
    for (name, m) in &meta_names {
        let Some(conn) = conn_names.get(name) else {
            continue;
        };
        let changed = match (conn, m) {
            (Obj::Ix(c), Obj::Ix(m)) => !indexes::index_changes(index_rule, table, c, m).is_empty(),
            (Obj::Uq(c), Obj::Uq(m)) => c.columns != m.columns,
            _ => true,
        };
        if changed {
            ops.push(removed(*conn));
            ops.push(added(*m));
        }
    }
    for (name, m) in &meta_names {
        if !conn_names.contains_key(name) {
            ops.push(added(*m));
        }
    }
    for u in unnamed_meta {
        if !db.uniques.iter().any(|c| c.columns == u.columns) {
            ops.push(added(Obj::Uq(u)));
        }
    }
    ops
}

/// Foreign key changes of one table, matched by columns, referenced table and columns and
/// their `ON DELETE`/`ON UPDATE` rules: removed ones first, then added ones, as Alembic.
fn compare_foreign_keys(table: &str, db: &Table, meta: &Table) -> Vec<Op> {
    fn rule(r: &Option<String>) -> String {
        match r.as_deref().map(str::to_uppercase) {
            None => "NO ACTION".to_string(),
            Some(r) => r,
        }
    }
    let signature = |fk: &ForeignKey| {
        (
            fk.columns.clone(),
            fk.ref_table.clone(),
            fk.ref_columns.clone(),
            rule(&fk.ondelete),
            rule(&fk.onupdate),
        )
    };
    let mut ops = Vec::new();
    for fk in &db.foreign_keys {
        if !meta
            .foreign_keys
            .iter()
            .any(|m| signature(m) == signature(fk))
        {
            ops.push(Op::DropForeignKey {
                table: table.to_string(),
                foreign_key: fk.clone(),
            });
        }
    }
    for fk in &meta.foreign_keys {
        if !db
            .foreign_keys
            .iter()
            .any(|d| signature(d) == signature(fk))
        {
            ops.push(Op::AddForeignKey {
                table: table.to_string(),
                foreign_key: fk.clone(),
            });
        }
    }
    ops
}

/// Index changes of one table: added indexes sorted by name, then removed ones sorted by name.
fn compare_indexes(table: &str, db: Option<&Table>, meta: &Table) -> Vec<Op> {
    let db_indexes: BTreeMap<&str, &Index> = db
        .map(|t| t.indexes.iter().map(|i| (i.name.as_str(), i)).collect())
        .unwrap_or_default();
    let meta_indexes: BTreeMap<&str, &Index> =
        meta.indexes.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut ops = Vec::new();
    for (name, index) in &meta_indexes {
        match db_indexes.get(name) {
            None => ops.push(Op::CreateIndex {
                table: table.to_string(),
                index: (*index).clone(),
            }),
            Some(existing)
                if existing.elements != index.elements || existing.unique != index.unique =>
            {
                ops.push(Op::DropIndex {
                    table: table.to_string(),
                    index: (*existing).clone(),
                });
                ops.push(Op::CreateIndex {
                    table: table.to_string(),
                    index: (*index).clone(),
                });
            }
            Some(_) => {}
        }
    }
    // Alembic drops the indexes of a dropped table explicitly, before the table.
    for (name, index) in &db_indexes {
        if !meta_indexes.contains_key(name) {
            ops.push(Op::DropIndex {
                table: table.to_string(),
                index: (*index).clone(),
            });
        }
    }
    ops
}
