//! The diffs `alembic check` prints: Alembic's `UpgradeOps.as_diffs()` as Python's `repr`
//! writes it, with SQLAlchemy's `repr` of tables, columns, indexes and constraints.

use super::{
    AlterColumn, Column, ColumnType, Index, IndexElement, Op, Schema, Table, UniqueConstraint,
};
use crate::template::repr_str;

/// `repr(upgrade_ops.as_diffs())`: a list of tuples, where each column alteration is a nested
/// list of its own tuples. `metadata` and `database` are the two compared schemas: an added
/// index shows its columns as the models declare them, a removed one as the database has them.
pub fn as_diffs(ops: &[Op], metadata: &Schema, database: &Schema) -> String {
    let items: Vec<String> = diff_items(ops, metadata, database)
        .into_iter()
        .map(|d| d.repr)
        .collect();
    format!("[{}]", items.join(", "))
}

/// One entry of `as_diffs()`: its kind (the tuple's first element, as Alembic names it), the
/// table it concerns, and the entry's Python `repr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffItem {
    /// `add_table`, `remove_column`, `modify_type`, ...
    pub kind: &'static str,
    /// The table the difference is on.
    pub table: String,
    /// The entry as `alembic check` prints it.
    pub repr: String,
}

/// The entries of `as_diffs()`, in order, with a column alteration's nested list kept as one
/// entry (its kind is that of its first change).
pub fn diff_items(ops: &[Op], metadata: &Schema, database: &Schema) -> Vec<DiffItem> {
    let mut items = Vec::new();
    let schemas = Schemas { metadata, database };
    for op in ops {
        push_diffs(op, &schemas, None, &mut items);
    }
    items
}

struct Schemas<'a> {
    metadata: &'a Schema,
    database: &'a Schema,
}

/// Python's `repr` of an optional schema name.
fn schema_repr(schema: Option<&str>) -> String {
    schema.map_or_else(|| "None".to_string(), repr_str)
}

/// One operation's entries; `schema` is that of the `ModifyTable` the operation is in.
fn push_diffs(op: &Op, schemas: &Schemas<'_>, schema: Option<&str>, items: &mut Vec<DiffItem>) {
    let key = |table: &str| super::table_key(schema, table);
    fn push(kind: &'static str, table: &str, repr: String) -> DiffItem {
        DiffItem {
            kind,
            table: table.to_string(),
            repr,
        }
    }
    let item = match op {
        Op::CreateTable(t) => push(
            "add_table",
            &t.name,
            format!("('add_table', {})", table_repr(t)),
        ),
        Op::DropTable(t) => push(
            "remove_table",
            &t.name,
            format!("('remove_table', {})", table_repr(t)),
        ),
        Op::AddColumn { table, column } => push(
            "add_column",
            table,
            format!(
                "('add_column', {}, {}, {})",
                schema_repr(schema),
                repr_str(table),
                column_repr(table, column, &[])
            ),
        ),
        Op::DropColumn { table, column } => push(
            "remove_column",
            table,
            format!(
                "('remove_column', {}, {}, {})",
                schema_repr(schema),
                repr_str(table),
                column_repr(table, column, &[])
            ),
        ),
        Op::CreateIndex { table, index } => {
            let owner = schemas.metadata.table(&key(table));
            push(
                "add_index",
                table,
                format!("('add_index', {})", index_repr(table, index, owner)),
            )
        }
        Op::DropIndex { table, index } => {
            let owner = schemas.database.table(&key(table));
            push(
                "remove_index",
                table,
                format!("('remove_index', {})", index_repr(table, index, owner)),
            )
        }
        Op::AddUnique { table, unique } => push(
            "add_constraint",
            table,
            format!("('add_constraint', {})", unique_repr(table, unique)),
        ),
        Op::DropUnique { table, unique } => push(
            "remove_constraint",
            table,
            format!("('remove_constraint', {})", unique_repr(table, unique)),
        ),
        Op::AddForeignKey { table, foreign_key } => push(
            "add_fk",
            table,
            format!(
                "('add_fk', <ForeignKeyConstraint on {}({}) referencing {}>)",
                table,
                foreign_key.columns.join(", "),
                foreign_key.ref_table
            ),
        ),
        Op::DropForeignKey { table, foreign_key } => push(
            "remove_fk",
            table,
            format!(
                "('remove_fk', <ForeignKeyConstraint on {}({}) referencing {}>)",
                table,
                foreign_key.columns.join(", "),
                foreign_key.ref_table
            ),
        ),
        Op::AlterColumn(alter) => {
            let kind = if alter.modify_type.is_some() {
                "modify_type"
            } else if alter.modify_nullable.is_some() {
                "modify_nullable"
            } else if alter.modify_server_default.is_some() {
                "modify_default"
            } else {
                "modify_comment"
            };
            push(kind, &alter.table, alter_repr(alter, schema))
        }
        // Alembic's table comment ops give a bare `Table(name, MetaData(), schema=...)`.
        Op::TableComment {
            table,
            comment: Some(_),
            existing,
        } => push(
            "add_table_comment",
            table,
            format!(
                "('add_table_comment', Table({}, MetaData(), schema={}), {})",
                repr_str(table),
                schema_repr(schema),
                existing.as_deref().map_or("None".to_string(), repr_str)
            ),
        ),
        Op::TableComment { table, .. } => push(
            "remove_table_comment",
            table,
            format!(
                "('remove_table_comment', Table({}, MetaData(), schema={}))",
                repr_str(table),
                schema_repr(schema)
            ),
        ),
        Op::ModifyTable {
            ops,
            schema: in_schema,
            ..
        } => {
            for op in ops {
                push_diffs(op, schemas, in_schema.as_deref(), items);
            }
            return;
        }
    };
    items.push(item);
}

/// SQLAlchemy's `repr` of a type instance: `String(length=30)`, `INTEGER()`.
pub fn type_repr(ty: &ColumnType) -> String {
    if let ColumnType::Rendered { base, .. } = ty {
        return type_repr(base);
    }
    if let ColumnType::Custom {
        class, impl_type, ..
    } = ty
    {
        return super::render::custom_repr(class, impl_type);
    }
    let rendered = super::render::render_type(ty);
    rendered
        .strip_prefix("sa.")
        .map(str::to_string)
        .unwrap_or(rendered)
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `Column('name', Type(), ForeignKey('t.c'), table=<t>, primary_key=True, nullable=False)`.
fn column_repr(table: &str, column: &Column, foreign_keys: &[String]) -> String {
    let mut parts = vec![repr_str(&column.name), type_repr(&column.ty)];
    for target in foreign_keys {
        parts.push(format!("ForeignKey({})", repr_str(target)));
    }
    parts.push(format!("table=<{table}>"));
    if column.primary_key {
        parts.push("primary_key=True".to_string());
    }
    if !column.nullable {
        parts.push("nullable=False".to_string());
    }
    if let Some(default) = &column.python_default {
        parts.push(format!("default={default}"));
    }
    if let Some(generated) = &column.generated {
        parts.push(format!(
            "server_default={}",
            default_clause_repr(Some(generated))
        ));
    }
    if let Some(comment) = &column.comment {
        parts.push(format!("comment={}", repr_str(comment)));
    }
    format!("Column({})", parts.join(", "))
}

/// The `ForeignKey` targets of one column: the single-column foreign keys on it.
fn column_foreign_keys(table: &Table, column: &str) -> Vec<String> {
    table
        .foreign_keys
        .iter()
        .filter(|fk| fk.columns.len() == 1 && fk.columns[0] == column)
        .map(|fk| {
            format!(
                "{}.{}",
                fk.written_table.as_ref().unwrap_or(&fk.ref_table),
                fk.ref_columns.first().map(String::as_str).unwrap_or("")
            )
        })
        .collect()
}

/// `Table('name', MetaData(), Column(...), ..., schema=None)`.
fn table_repr(table: &Table) -> String {
    let mut parts = vec![repr_str(&table.name), "MetaData()".to_string()];
    for column in &table.columns {
        parts.push(column_repr(
            &table.name,
            column,
            &column_foreign_keys(table, &column.name),
        ));
    }
    parts.push(format!("schema={}", schema_repr(table.schema.as_deref())));
    format!("Table({})", parts.join(", "))
}

/// `Index('name', Column(...), unique=True)`, with the columns as the table declares them,
/// without their `ForeignKey`s (Alembic's `CreateIndexOp.to_index()` builds the index on
/// copies of the columns that carry none).
fn index_repr(table: &str, index: &Index, owner: Option<&Table>) -> String {
    let mut parts = vec![repr_str(&index.name)];
    for element in &index.elements {
        let name = match element {
            IndexElement::Column(name) => name,
            IndexElement::Expression(e) => {
                parts.push(e.repr.clone());
                continue;
            }
        };
        let found = owner.and_then(|t| t.columns.iter().find(|c| &c.name == name));
        parts.push(match found {
            Some(c) => column_repr(table, c, &[]),
            None => format!("Column({}, NullType(), table=<{table}>)", repr_str(name)),
        });
    }
    if index.unique {
        parts.push("unique=True".to_string());
    }
    format!("Index({})", parts.join(", "))
}

/// `UniqueConstraint(Column('email', NullType(), table=<t>))`: Alembic compares a copy of the
/// constraint whose columns carry no type; SQLAlchemy's `repr` never shows its name.
fn unique_repr(table: &str, unique: &UniqueConstraint) -> String {
    let parts: Vec<String> = unique
        .columns
        .iter()
        .map(|c| format!("Column({}, NullType(), table=<{table}>)", repr_str(c)))
        .collect();
    format!("UniqueConstraint({})", parts.join(", "))
}

/// `[('modify_type', None, 't', 'c', {...}, OLD, NEW), ('modify_nullable', ...)]`.
fn alter_repr(alter: &AlterColumn, schema: Option<&str>) -> String {
    let mut diffs = Vec::new();
    let (table, column) = (repr_str(&alter.table), repr_str(&alter.column));
    let schema = schema_repr(schema);
    if let Some(ty) = &alter.modify_type {
        diffs.push(format!(
            "('modify_type', {schema}, {table}, {column}, {{'existing_nullable': {}, \
             'existing_server_default': {}, 'existing_comment': {}}}, {}, {})",
            py_bool(alter.existing_nullable),
            existing_default_repr(alter),
            existing_comment_repr(alter),
            type_repr(&alter.existing_type),
            type_repr(ty)
        ));
    }
    if let Some(nullable) = alter.modify_nullable {
        diffs.push(format!(
            "('modify_nullable', {schema}, {table}, {column}, {{'existing_type': {}, \
             'existing_server_default': {}, 'existing_comment': {}}}, {}, {})",
            type_repr(&alter.existing_type),
            existing_default_repr(alter),
            existing_comment_repr(alter),
            py_bool(alter.existing_nullable),
            py_bool(nullable)
        ));
    }
    if let Some(default) = &alter.modify_server_default {
        diffs.push(format!(
            "('modify_default', {schema}, {table}, {column}, {{'existing_nullable': {}, \
             'existing_type': {}, 'existing_comment': {}}}, {}, {})",
            py_bool(alter.existing_nullable),
            type_repr(&alter.existing_type),
            existing_comment_repr(alter),
            default_clause_repr(
                alter
                    .existing_server_default
                    .as_ref()
                    .and_then(|d| d.as_deref())
            ),
            default_clause_repr(default.as_deref()),
        ));
    }
    if let Some(comment) = &alter.modify_comment {
        diffs.push(format!(
            "('modify_comment', {schema}, {table}, {column}, {{'existing_nullable': {}, \
             'existing_type': {}, 'existing_server_default': {}}}, {}, {})",
            py_bool(alter.existing_nullable),
            type_repr(&alter.existing_type),
            existing_default_repr(alter),
            existing_comment_repr(alter),
            comment.as_deref().map_or("None".to_string(), repr_str),
        ));
    }
    format!("[{}]", diffs.join(", "))
}

fn existing_comment_repr(alter: &AlterColumn) -> String {
    alter
        .existing_comment
        .as_deref()
        .map_or("None".to_string(), repr_str)
}

/// SQLAlchemy's `repr` of a `DefaultClause`: a string default shows itself, a SQL expression
/// its object (whose address differs from run to run, in Alembic's output too).
fn default_clause_repr(rendered: Option<&str>) -> String {
    match rendered {
        None => "None".to_string(),
        // A reflected identity or generated column's server default is the construct.
        // SQLAlchemy's `repr` leaves out `always=False`, its default.
        Some(text) if text.starts_with("sa.Identity(") => text["sa.".len()..]
            .replace("(always=False, ", "(")
            .replace("(always=False)", "()"),
        Some(text) if text.starts_with("sa.Computed(") => {
            let persisted = text.rsplit_once("persisted=").map_or("None)", |(_, p)| p);
            format!(
                "Computed(<sqlalchemy.sql.elements.TextClause object at 0x7f0000000000>, persisted={persisted}"
            )
        }
        Some(text) if text.starts_with("sa.text(") => {
            "DefaultClause(<sqlalchemy.sql.elements.TextClause object at 0x7f0000000000>, for_update=False)"
                .to_string()
        }
        Some(literal) => format!("DefaultClause({literal}, for_update=False)"),
    }
}

/// `existing_server_default` as Alembic's `AlterColumnOp` holds it: `False` when neither side
/// has a server default, else the reflected one (`None`, or SQLAlchemy's `DefaultClause`).
fn existing_default_repr(alter: &AlterColumn) -> String {
    match &alter.existing_server_default {
        None => "False".to_string(),
        Some(None) => "None".to_string(),
        Some(Some(text)) => default_clause_repr(Some(text)),
    }
}
