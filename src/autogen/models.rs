//! The target schema from the project's models as the interpreter evaluated them: the
//! `MetaData` values env.py hands to `context.configure(target_metadata=...)`, with the
//! declarative classes and `Table(...)` objects registered with them by [`crate::env::schema`].
//!
//! Understood: mapped classes with `__tablename__` (own attributes first, in SQLAlchemy's
//! merged order of the class dict and its annotations, then mixin columns; a subclass without a
//! table of its own adds its columns to its parent's table, as single-table inheritance does;
//! joined inheritance keeps the parent's columns out); `Column`/`mapped_column` with a type
//! positional, `type_=` or from the `Mapped[...]` annotation; `primary_key`, `nullable`,
//! `index`, `unique`, `server_default` (a string or `text(...)`), `ForeignKey('table.column',
//! ondelete=..., onupdate=..., name=...)`; `__table_args__` and `Table(...)` holding `Index`,
//! `UniqueConstraint`, `CheckConstraint`, `ForeignKeyConstraint` and dialect options; project
//! `TypeDecorator` subclasses. Relationships, methods and Python-side defaults do not change the
//! schema. Anything else that would is an error naming `file:line:col`; every such problem is
//! reported.

use std::rc::Rc;

use super::{
    model_indexes, CheckConstraint, Column, ColumnType, ForeignKey, Index, Schema, Table,
    UniqueConstraint,
};
use crate::env::schema::{
    is_type_decorator, type_decorator_args, Construct, MappedClass, MetaData,
};
use crate::env::sqlalchemy::TextClause;
use crate::interp::{Args, Class, Interp, Value};
use crate::sql::Dialect;

/// A model construct aurora cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ModelError {
    /// `file:line:col` of the construct (or of its class statement).
    pub at: String,
    /// What is not understood.
    pub message: String,
}

/// Reads the tables of `metadatas` (each a `MetaData` value); `user_module_prefix` is
/// env.py's `configure(user_module_prefix=...)`, which Alembic writes before project types.
pub fn schema_from_metadata(
    metadatas: &[Value],
    user_module_prefix: Option<&str>,
    dialect: Dialect,
) -> Result<Schema, Vec<ModelError>> {
    let mut reader = Reader {
        prefix: user_module_prefix,
        dialect,
        errors: Vec::new(),
        fk_typed: Vec::new(),
        type_map: Vec::new(),
        column_owners: Vec::new(),
        metadata_schema: None,
    };
    let mut schema = Schema::default();
    for value in metadatas {
        let Some(metadata) = value.downcast::<MetaData>() else {
            reader.errors.push(ModelError {
                at: "env.py".into(),
                message: format!("target_metadata is a {}, not a MetaData", value.type_name()),
            });
            continue;
        };
        reader.metadata_schema = metadata.schema.clone();
        let first_new = schema.tables.len();
        reader.read_metadata(metadata, &mut schema);
        // SQLAlchemy's `ForeignKey('table.column')` names a table of the MetaData's schema.
        if let Some(in_schema) = &metadata.schema {
            for table in &mut schema.tables[first_new..] {
                for fk in &mut table.foreign_keys {
                    if !fk.ref_table.contains('.') {
                        let written = std::mem::take(&mut fk.ref_table);
                        fk.ref_table = format!("{in_schema}.{written}");
                        fk.written_table = Some(written);
                    }
                }
            }
        }
    }
    // An Index made outside `__table_args__` / `Table(...)` (SQLAlchemy attaches
    // `Index('ix', Model.col)` at module level to the column's table): not read yet, so an
    // error rather than a missing index in the comparison.
    for made in crate::env::schema::take_created_indexes() {
        let Some(index) = construct(&made) else {
            continue;
        };
        let taken = TAKEN_INDEXES.with(|taken| {
            taken
                .borrow()
                .contains(&(index as *const Construct as usize))
        });
        if !taken {
            // SQLAlchemy attaches `Index('ix', Model.col, ...)` made at module level to the
            // table of the columns it names.
            match reader.free_index(index) {
                Ok((table, found)) => {
                    if let Some(t) = schema.tables.iter_mut().find(|t| t.key() == table) {
                        t.indexes.push(found);
                    }
                }
                Err(message) => reader.errors.push(ModelError {
                    at: index.at.clone().unwrap_or_else(|| "models".into()),
                    message,
                }),
            }
        }
    }
    TAKEN_INDEXES.with(|taken| taken.borrow_mut().clear());
    reader.resolve_foreign_key_types(&mut schema);
    if reader.errors.is_empty() {
        Ok(schema)
    } else {
        Err(reader.errors)
    }
}

/// Evaluates `source` as a module with SQLAlchemy's names (tests, and files read outside an
/// env.py run) and reads the `MetaData` its globals reach: `metadata`, or `Base.metadata` of
/// its declarative bases.
pub fn read_models(path: &str, source: &str) -> Result<Schema, Vec<ModelError>> {
    let mut interp = Interp::new(None);
    crate::env::sqlalchemy::install(&mut interp);
    crate::env::schema::install(&mut interp);
    let module = interp
        .run_source(
            std::path::Path::new(path),
            source.to_string(),
            "models",
            Vec::new(),
        )
        .map_err(|e| {
            let at = e.location().unwrap_or(path).to_string();
            let described = e.describe();
            let message = described
                .strip_prefix(&format!("{at}: "))
                .unwrap_or(&described)
                .to_string();
            vec![ModelError { at, message }]
        })?;
    let globals = module.globals.borrow();
    let metadatas = module_metadata(globals.values());
    schema_from_metadata(&metadatas, None, Dialect::Sqlite)
}

/// The distinct `MetaData` values among `values` and their classes' `metadata`.
pub fn module_metadata<'v>(values: impl Iterator<Item = &'v Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut push = |v: Value| {
        if v.downcast::<MetaData>().is_some()
            && !out.iter().any(|o| match (o, &v) {
                (Value::Native(a), Value::Native(b)) => Rc::ptr_eq(a, b),
                _ => false,
            })
        {
            out.push(v);
        }
    };
    let mut values: Vec<&Value> = values.collect();
    values.sort_by_key(|v| !matches!(v, Value::Native(_)));
    for v in values {
        match v {
            Value::Class(c) => {
                if let Some(m) = c.lookup("metadata") {
                    push(m);
                }
            }
            other => push(other.clone()),
        }
    }
    out
}

struct Reader<'p> {
    prefix: Option<&'p str>,
    /// The dialect compared against: server defaults and type DDL depend on it.
    dialect: Dialect,
    errors: Vec<ModelError>,
    /// Columns declared without a type but with a `ForeignKey`: (table key, column, where). As
    /// SQLAlchemy does, they take the type of the column they reference once every table is
    /// known (an annotation's type is not used for them).
    fk_typed: Vec<(String, String, Option<String>)>,
    /// The `type_annotation_map` of the class being read: each Python type as the default
    /// type its annotation means, with the type the map gives it.
    type_map: Vec<(ColumnType, Value)>,
    /// Every column value read, with its table key (`schema.table` in a schema) and column
    /// name (for an `Index(...)` made outside its table).
    column_owners: Vec<(Value, String, String)>,
    /// `MetaData(schema=...)` of the metadata being read: the schema of its tables that
    /// name none.
    metadata_schema: Option<String>,
}

/// A column with the table-level objects its keywords ask for.
struct ColumnDecl {
    column: Column,
    index: bool,
    unique: bool,
    foreign_key: Option<ForeignKey>,
    /// The `Column(...)` value, so `Index('i', col)` can name it.
    value: Value,
    /// Whether its type comes from the column its foreign key references.
    type_from_foreign_key: bool,
    /// Where it was declared.
    at: Option<String>,
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Native(a), Value::Native(b)) => Rc::ptr_eq(a, b),
        _ => false,
    }
}

fn short_name(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn construct(value: &Value) -> Option<&Construct> {
    value.downcast::<Construct>()
}

/// SQLAlchemy's `merge_lists_w_ordering`: the class dict's names and its
/// annotations' names, merged keeping both orders as far as possible.
fn merge_lists_w_ordering(a: &[String], b: &[String]) -> Vec<String> {
    let mut overlap: Vec<&String> = a.iter().filter(|x| b.contains(x)).collect();
    let mut result = Vec::new();
    let (mut current, mut other) = (a.iter(), b.iter());
    loop {
        let mut switched = false;
        for element in current.by_ref() {
            if let Some(i) = overlap.iter().position(|o| *o == element) {
                overlap.remove(i);
                std::mem::swap(&mut current, &mut other);
                switched = true;
                break;
            }
            result.push(element.clone());
        }
        if !switched {
            result.extend(other.cloned());
            break;
        }
    }
    result
}

fn own_annotations(class: &Rc<Class>) -> Vec<(String, String)> {
    match class.attrs.borrow().get("__annotations__") {
        Some(Value::Dict(d)) => d
            .borrow()
            .items
            .iter()
            .map(|(k, v)| (k.to_str(), v.to_str()))
            .collect(),
        _ => Vec::new(),
    }
}

/// The type and nullability a `Mapped[...]` annotation implies, or `None`
/// when the annotation is not `Mapped[...]`.
fn mapped_annotation(
    annotation: &str,
    names: &[(String, Value)],
    dialect: Dialect,
) -> Option<(Option<ColumnType>, bool)> {
    let mut text = annotation.trim();
    if let Some(inner) = text
        .strip_prefix(['"', '\''])
        .and_then(|t| t.strip_suffix(['"', '\'']))
    {
        text = inner.trim();
    }
    let open = text.find('[')?;
    if !matches!(short_name(&text[..open]), "Mapped") {
        return None;
    }
    let inner = text[open + 1..].strip_suffix(']')?.trim();
    let inner = inner
        .strip_prefix(['"', '\''])
        .and_then(|t| t.strip_suffix(['"', '\'']))
        .unwrap_or(inner);
    let optional_of = |s: &str| -> Option<String> {
        if let Some(x) = s
            .strip_prefix("Optional[")
            .or_else(|| s.strip_prefix("typing.Optional["))
            .and_then(|x| x.strip_suffix(']'))
        {
            return Some(x.trim().to_string());
        }
        if let Some(x) = s
            .strip_prefix("Union[")
            .or_else(|| s.strip_prefix("typing.Union["))
            .and_then(|x| x.strip_suffix(']'))
        {
            let parts: Vec<&str> = x.split(',').map(str::trim).collect();
            if parts.len() == 2 && parts.contains(&"None") {
                return parts.iter().find(|p| **p != "None").map(|p| p.to_string());
            }
        }
        let parts: Vec<&str> = s.split('|').map(str::trim).collect();
        if parts.len() == 2 && parts.contains(&"None") {
            return parts.iter().find(|p| **p != "None").map(|p| p.to_string());
        }
        None
    };
    let (inner, optional) = match optional_of(inner) {
        Some(x) => (x, true),
        None => (inner.to_string(), false),
    };
    let ty = match inner.as_str() {
        "int" => Some(ColumnType::Integer),
        "str" => Some(ColumnType::String(None)),
        "float" => Some(double_type(dialect)),
        "bool" => Some(ColumnType::Boolean),
        "datetime" | "datetime.datetime" | "dt.datetime" => Some(ColumnType::DateTime),
        "date" | "datetime.date" | "dt.date" => Some(ColumnType::Date),
        "time" | "datetime.time" | "dt.time" => Some(ColumnType::Time),
        "Decimal" | "decimal.Decimal" => Some(ColumnType::Numeric(None, None)),
        "bytes" => Some(ColumnType::LargeBinary),
        "uuid.UUID" | "UUID" => other_type("Uuid()", dialect).ok(),
        "timedelta" | "datetime.timedelta" | "dt.timedelta" => {
            other_type("Interval()", dialect).ok()
        }
        name => names
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v {
                Value::Class(c) if is_enum_class(c) => enum_type(c, None, dialect).ok(),
                _ => None,
            }),
    };
    Some((ty, optional))
}

/// An integer argument of a type: the `pos`-th positional or `kw=`.
fn int_arg(args: &Args, pos: usize, kw: &str) -> Result<Option<u32>, String> {
    let value = args
        .keyword(kw)
        .or_else(|| args.positional.get(pos).cloned());
    match value {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(i)) if i >= 0 => Ok(Some(i as u32)),
        Some(other) => Err(format!("{kw}={} is not a whole number", other.repr())),
    }
}

impl Reader<'_> {
    fn error(&mut self, at: Option<&str>, fallback: Option<&str>, message: String) {
        self.errors.push(ModelError {
            at: at.or(fallback).unwrap_or("models").to_string(),
            message,
        });
    }

    fn read_metadata(&mut self, metadata: &MetaData, schema: &mut Schema) {
        let classes = metadata.classes.borrow();
        // Mapped classes with a table of their own, then single-table subclasses.
        for mapped in classes.iter() {
            let own = mapped.class.attrs.borrow();
            if own.contains_key("__table__") || !own.contains_key("__tablename__") {
                continue;
            }
            drop(own);
            if let Some(table) = self.read_class(mapped, &classes) {
                schema.tables.push(table);
            }
        }
        for mapped in classes.iter() {
            if mapped.class.attrs.borrow().contains_key("__tablename__") {
                continue;
            }
            self.read_single_table_subclass(mapped, schema);
        }
        for table in metadata.tables.borrow().iter() {
            if let Some(t) = self.read_table(table) {
                schema.tables.push(t);
            }
        }
    }

    /// An `Index('name', Model.a, Model.b, unique=...)` made outside its table: the table its
    /// columns belong to, and the index.
    fn free_index(&self, index: &Construct) -> Result<(String, Index), String> {
        let args = index.args.clone().unwrap_or_default();
        let tables = std::cell::RefCell::new(Vec::<String>::new());
        let column_of = |v: &Value| {
            let (_, t, c) = self
                .column_owners
                .iter()
                .find(|(value, _, _)| same(value, v))?;
            tables.borrow_mut().push(t.clone());
            Some(c.clone())
        };
        let found = model_indexes::read_index(&args, self.dialect, &column_of)?;
        let name = &found.name;
        let tables = tables.into_inner();
        let Some(table) = tables.first() else {
            return Err(format!(
                "Index({name:?}, ...) outside a table names no column of a mapped class or \
                 table (Model.column); aurora cannot tell its table: move it into __table_args__"
            ));
        };
        if tables.iter().any(|t| t != table) {
            return Err(format!("Index({name:?}, ...) names columns of two tables"));
        }
        Ok((table.clone(), found))
    }

    /// Reads the `type_annotation_map` `class` inherits into `type_map`; whether it has one.
    fn load_type_annotation_map(&mut self, class: &Rc<Class>, at: Option<&str>) -> bool {
        self.type_map.clear();
        let Some(map) = class.lookup("type_annotation_map") else {
            return false;
        };
        let Value::Dict(d) = map else {
            self.error(at, None, "type_annotation_map is not a dict".into());
            return true;
        };
        let items: Vec<(Value, Value)> = d
            .borrow()
            .items
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (key, value) in items {
            let text = match &key {
                Value::Class(c) => c.name.clone(),
                Value::Native(n) => n.type_name(),
                other => {
                    let text = other.to_str();
                    text.strip_prefix("<built-in function ")
                        .and_then(|t| t.strip_suffix('>'))
                        .map(str::to_string)
                        .unwrap_or(text)
                }
            };
            match mapped_annotation(&format!("Mapped[{text}]"), &[], self.dialect) {
                Some((Some(ty), _)) => self.type_map.push((ty, value)),
                _ => {
                    let message =
                        format!("type_annotation_map key {text} is not a Python type aurora maps");
                    self.error(at, None, message);
                }
            }
        }
        true
    }

    /// The table of a class with its own `__tablename__`.
    fn read_class(&mut self, mapped: &MappedClass, classes: &[MappedClass]) -> Option<Table> {
        let class = &mapped.class;
        let at = mapped.at.as_deref();
        let name = match class.attrs.borrow().get("__tablename__") {
            Some(Value::Str(s)) => s.to_string(),
            Some(other) => {
                let message = format!(
                    "{}.__tablename__ is a {}; aurora reads a string",
                    class.name,
                    other.type_name()
                );
                self.error(at, None, message);
                return None;
            }
            None => return None,
        };
        let mut table = Table {
            name,
            schema: self.metadata_schema.clone(),
            ..Table::default()
        };
        // The classes whose attributes make this table: the class, then its mixins; a mapped
        // ancestor (joined inheritance) and what it inherits keep theirs.
        let mapped_ancestors: Vec<&Rc<Class>> = classes
            .iter()
            .map(|m| &m.class)
            .filter(|c| !Rc::ptr_eq(c, class) && class.is_subclass_of(c))
            .collect();
        let mut sources: Vec<Rc<Class>> = Vec::new();
        for c in class.mro() {
            let attrs = c.attrs.borrow();
            // The project's own base (`class Base(DeclarativeBase)`) contributes its columns
            // as a mixin does; SQLAlchemy's roots have none.
            let is_base = attrs.contains_key("__declarative_root__");
            drop(attrs);
            if is_base || mapped_ancestors.iter().any(|m| m.is_subclass_of(&c)) {
                continue;
            }
            sources.push(c);
        }
        let mut decls: Vec<ColumnDecl> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let annotation_map = self.load_type_annotation_map(class, at);
        for source in &sources {
            for decl in self.class_columns(source, &mut seen, at, annotation_map) {
                decls.push(decl);
            }
        }
        let table_args = class.lookup("__table_args__");
        self.finish_table(&mut table, decls, table_args.as_ref(), at);
        Some(table)
    }

    /// A mapped subclass without its own table: its columns join its parent's table.
    fn read_single_table_subclass(&mut self, mapped: &MappedClass, schema: &mut Schema) {
        let class = &mapped.class;
        let at = mapped.at.as_deref();
        let Some(Value::Str(name)) = class.lookup("__tablename__") else {
            return;
        };
        let annotation_map = self.load_type_annotation_map(class, at);
        let mut seen = Vec::new();
        let decls = self.class_columns(class, &mut seen, at, annotation_map);
        if decls.is_empty() {
            return;
        }
        if class.attrs.borrow().contains_key("__table_args__") {
            let message = format!(
                "{}: __table_args__ on a single-table inheritance subclass is not supported",
                class.name
            );
            self.error(at, None, message);
            return;
        }
        let Some(table) = schema.tables.iter_mut().find(|t| *t.name == *name) else {
            return;
        };
        let mut extra = Table {
            name: table.name.clone(),
            ..Table::default()
        };
        self.finish_table(&mut extra, decls, None, at);
        table.columns.extend(extra.columns);
        table.indexes.extend(extra.indexes);
        table.uniques.extend(extra.uniques);
        table.foreign_keys.extend(extra.foreign_keys);
    }

    /// The columns `class` itself declares, in SQLAlchemy's order; names in `seen` are
    /// already taken by a class earlier in the MRO.
    fn class_columns(
        &mut self,
        class: &Rc<Class>,
        seen: &mut Vec<String>,
        class_at: Option<&str>,
        annotation_map: bool,
    ) -> Vec<ColumnDecl> {
        let annotations = own_annotations(class);
        let annotation_names: Vec<(String, Value)> =
            match class.attrs.borrow().get("__annotation_names__") {
                Some(Value::Dict(d)) => d
                    .borrow()
                    .items
                    .iter()
                    .map(|(k, v)| (k.to_str(), v.clone()))
                    .collect(),
                _ => Vec::new(),
            };
        let dialect = self.dialect;
        let names: Vec<String> = {
            let order = class.order.borrow();
            let keys: Vec<String> = annotations.iter().map(|(k, _)| k.clone()).collect();
            merge_lists_w_ordering(&order, &keys)
        };
        let mut out = Vec::new();
        for name in names {
            if name.starts_with("__") || seen.contains(&name) {
                continue;
            }
            let value = class.attrs.borrow().get(&name).cloned();
            let annotation = annotations
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str());
            let mapped = annotation.and_then(|a| mapped_annotation(a, &annotation_names, dialect));
            let decl = match (&value, &mapped) {
                (Some(v), _)
                    if construct(v)
                        .is_some_and(|c| matches!(c.name.as_str(), "Column" | "mapped_column")) =>
                {
                    let c = construct(v).expect("checked");
                    if c.args.is_none() {
                        continue;
                    }
                    self.read_column(&name, c, v, mapped.clone(), annotation_map, class_at)
                }
                (Some(v), _) if construct(v).is_some_and(|c| c.name == "composite") => {
                    let message = format!("{}.{name}: composite() is not supported", class.name);
                    self.error(
                        construct(v).and_then(|c| c.at.as_deref()),
                        class_at,
                        message,
                    );
                    continue;
                }
                (None, Some(_)) => {
                    let empty = Value::native(Construct {
                        name: "mapped_column".into(),
                        args: Some(Args::default()),
                        at: class_at.map(str::to_string),
                        receiver: None,
                    });
                    let c = construct(&empty).expect("made above");
                    self.read_column(&name, c, &empty, mapped.clone(), annotation_map, class_at)
                }
                _ => continue,
            };
            seen.push(name);
            if let Some(d) = decl {
                out.push(d);
            }
        }
        out
    }

    /// `Column(...)` / `mapped_column(...)`.
    fn read_column(
        &mut self,
        attr: &str,
        c: &Construct,
        value: &Value,
        mapped: Option<(Option<ColumnType>, bool)>,
        annotation_map: bool,
        fallback: Option<&str>,
    ) -> Option<ColumnDecl> {
        match self.column_decl(attr, c, value, mapped, annotation_map) {
            Ok(d) => Some(d),
            Err(message) => {
                self.error(c.at.as_deref(), fallback, message);
                None
            }
        }
    }

    fn column_decl(
        &mut self,
        attr: &str,
        c: &Construct,
        value: &Value,
        mapped: Option<(Option<ColumnType>, bool)>,
        annotation_map: bool,
    ) -> Result<ColumnDecl, String> {
        let args = c.args.clone().unwrap_or_default();
        let mut name = attr.to_string();
        let mut ty: Option<ColumnType> = None;
        let mut nullable: Option<bool> = None;
        let mut primary_key = false;
        let mut index = false;
        let mut unique = false;
        let mut server_default = None;
        let mut foreign_key = None;
        let mut generated = None;
        let mut comment = None;
        let mut python_default = None;
        let mut type_value = None;
        let mut server_default_value = None;
        for (i, arg) in args.positional.iter().enumerate() {
            if i == 0 {
                if let Value::Str(s) = arg {
                    name = s.to_string();
                    continue;
                }
            }
            if let Some(fk) = construct(arg).filter(|a| a.name == "ForeignKey") {
                foreign_key = Some(read_foreign_key(fk)?);
                continue;
            }
            if let Some(g) =
                construct(arg).filter(|a| matches!(a.name.as_str(), "Computed" | "Identity"))
            {
                generated = Some(render_generated(g)?);
                continue;
            }
            // Alembic's autogenerate neither renders nor compares sequences.
            if construct(arg).is_some_and(|a| a.name == "Sequence") {
                continue;
            }
            if let Some(other) = construct(arg)
                .filter(|a| matches!(a.name.as_str(), "FetchedValue" | "DefaultClause"))
            {
                return Err(format!(
                    "column '{name}': {}(...) is not supported for autogenerate",
                    other.name
                ));
            }
            ty = Some(self.column_type(arg)?);
            type_value = Some(arg.clone());
        }
        for (key, v) in &args.keywords {
            let flag = || match v {
                Value::Bool(b) => Ok(*b),
                other => Err(format!("{key}={} must be True or False", other.repr())),
            };
            match key.as_str() {
                "primary_key" => primary_key = flag()?,
                "nullable" => nullable = Some(flag()?),
                "index" => index = flag()?,
                "unique" => unique = flag()?,
                "server_default" => {
                    server_default = server_default_text(v, self.dialect)?;
                    server_default_value = Some(v.clone());
                }
                "type_" => {
                    ty = Some(self.column_type(v)?);
                    type_value = Some(v.clone());
                }
                "name" => match v {
                    Value::Str(s) => name = s.to_string(),
                    other => return Err(format!("name={} must be a string", other.repr())),
                },
                "comment" => match v {
                    Value::Str(s) => comment = Some(s.to_string()),
                    Value::None => {}
                    other => return Err(format!("comment={} must be a string", other.repr())),
                },
                "default" | "insert_default" => python_default = scalar_default(v),
                "sort_order" if matches!(v, Value::Int(0)) => {}
                // Python-side behaviour and ORM options: not part of the compared schema.
                "onupdate"
                | "default_factory"
                | "doc"
                | "info"
                | "key"
                | "init"
                | "repr"
                | "kw_only"
                | "compare"
                | "hash"
                | "deferred"
                | "deferred_group"
                | "deferred_raiseload"
                | "active_history"
                | "autoincrement"
                | "server_onupdate"
                | "quote"
                | "use_existing_column"
                | "dataclass_metadata" => {}
                other => {
                    return Err(format!(
                        "column '{name}': {other}= is not supported for autogenerate"
                    ))
                }
            }
        }
        let (mapped_ty, optional) = match mapped {
            Some((t, optional)) => (t, Some(optional)),
            None => (None, None),
        };
        // SQLAlchemy types a column without a type of its own from the column its foreign
        // key references (the annotation's type is only used without a foreign key).
        let type_from_foreign_key = ty.is_none() && foreign_key.is_some();
        if ty.is_none() && !type_from_foreign_key && annotation_map {
            // The base's type_annotation_map wins over SQLAlchemy's defaults for the
            // annotation's Python type.
            if let Some(default) = &mapped_ty {
                let mapped_value = self
                    .type_map
                    .iter()
                    .find(|(k, _)| k == default)
                    .map(|(_, v)| v.clone());
                if let Some(v) = mapped_value {
                    ty = Some(self.column_type(&v)?);
                }
            }
        }
        let ty = if type_from_foreign_key {
            ColumnType::Integer
        } else {
            ty.or(mapped_ty)
                .ok_or_else(|| format!("column '{name}' has no type aurora can read"))?
        };
        // An Identity column is NOT NULL unless it says otherwise.
        let nullable = nullable.unwrap_or(
            !primary_key
                && optional.unwrap_or(true)
                && !generated
                    .as_deref()
                    .is_some_and(|g| g.contains("Identity(")),
        );
        if let Some(fk) = foreign_key.as_mut() {
            fk.columns = vec![name.clone()];
        }
        let model_id = MODEL_COLUMNS.with(|m| {
            let mut m = m.borrow_mut();
            m.push(ModelColumn {
                column: value.clone(),
                ty: type_value,
                server_default: server_default_value,
            });
            m.len() - 1
        });
        Ok(ColumnDecl {
            column: Column {
                name,
                ty,
                nullable,
                primary_key,
                server_default,
                autoincrement: None,
                comment,
                generated,
                python_default,
                model_id: Some(model_id),
                rendered: None,
            },
            index,
            unique,
            foreign_key,
            value: value.clone(),
            type_from_foreign_key,
            at: c.at.clone(),
        })
    }

    /// Gives each column typed by its foreign key the referenced column's type.
    fn resolve_foreign_key_types(&mut self, schema: &mut Schema) {
        for (table, column, at) in std::mem::take(&mut self.fk_typed) {
            let target = schema.table(&table).and_then(|t| {
                t.foreign_keys
                    .iter()
                    .find(|fk| fk.columns.len() == 1 && fk.columns[0] == column)
                    .map(|fk| (fk.ref_table.clone(), fk.ref_columns[0].clone()))
            });
            let ty = target.as_ref().and_then(|(t, c)| {
                schema
                    .table(t)
                    .and_then(|t| t.columns.iter().find(|col| col.name == *c))
                    .map(|col| col.ty.clone())
            });
            match ty {
                Some(ty) => {
                    if let Some(col) = schema
                        .tables
                        .iter_mut()
                        .find(|t| t.key() == table)
                        .and_then(|t| t.columns.iter_mut().find(|c| c.name == column))
                    {
                        col.ty = ty;
                    }
                }
                None => self.error(
                    at.as_deref(),
                    None,
                    format!(
                        "column '{table}.{column}' has no type and its ForeignKey target is not a column of these models; give it a type"
                    ),
                ),
            }
        }
    }

    /// A type: a SQLAlchemy type (called or not) or a project `TypeDecorator`.
    fn column_type(&self, value: &Value) -> Result<ColumnType, String> {
        match value {
            Value::Class(class) if is_type_decorator(class) => {
                self.custom_type(class, Args::default())
            }
            Value::Instance(instance) if is_type_decorator(&instance.class) => {
                self.custom_type(&instance.class, type_decorator_args(instance))
            }
            other => match construct(other) {
                Some(c) => sqlalchemy_type(c, self.dialect),
                None => Err(format!(
                    "unsupported column argument {} (a {})",
                    other.repr(),
                    other.type_name()
                )),
            },
        }
    }

    /// A project `TypeDecorator` subclass, rendered as Alembic does: `user_module_prefix`
    /// (else its module and a dot), its class name and its impl's arguments. A subclass whose
    /// rendering or DDL would depend on its own code is refused.
    fn custom_type(&self, class: &Rc<Class>, args: Args) -> Result<ColumnType, String> {
        for c in class
            .mro()
            .into_iter()
            .take_while(|c| !(c.name == "TypeDecorator" && c.module == "sqlalchemy.types"))
        {
            for method in ["__init__", "__repr__", "load_dialect_impl"] {
                if c.attrs.borrow().contains_key(method) {
                    return Err(format!(
                        "{}.{}: a TypeDecorator that defines {method}() is not supported for autogenerate; \
                         aurora renders a TypeDecorator from its impl only",
                        c.module, c.name
                    ));
                }
            }
        }
        let impl_name = match class.lookup("impl") {
            Some(v) => match construct(&v) {
                Some(c) if c.args.is_none() => c.name.clone(),
                _ => {
                    return Err(format!(
                        "{}.{}: impl = {}: aurora reads an impl that is a SQLAlchemy type class (impl = String), not an instance or a project type",
                        class.module,
                        class.name,
                        v.repr()
                    ))
                }
            },
            None => {
                return Err(format!(
                    "{}.{}: a TypeDecorator needs impl = <type>",
                    class.module, class.name
                ))
            }
        };
        let impl_type = sqlalchemy_type(
            &Construct {
                name: impl_name,
                args: Some(args),
                at: None,
                receiver: None,
            },
            self.dialect,
        )?;
        Ok(ColumnType::Custom {
            prefix: match self.prefix {
                Some(p) => p.to_string(),
                None => format!("{}.", class.module),
            },
            class: class.name.clone(),
            impl_type: Box::new(impl_type),
        })
    }

    /// Columns, then what `__table_args__` (or `Table(...)`'s other arguments) adds.
    fn finish_table(
        &mut self,
        table: &mut Table,
        decls: Vec<ColumnDecl>,
        table_args: Option<&Value>,
        at: Option<&str>,
    ) {
        if let Some(args) = table_args {
            let items: Vec<Value> = match args {
                Value::Tuple(t) => t.as_ref().clone(),
                Value::List(l) => l.borrow().clone(),
                d @ Value::Dict(_) => vec![d.clone()],
                other => {
                    let message = format!(
                        "__table_args__ is a {}; aurora reads a tuple or a dict",
                        other.type_name()
                    );
                    self.error(at, None, message);
                    Vec::new()
                }
            };
            for item in &items {
                self.table_item(table, item, &decls, at);
            }
        }
        for d in &decls {
            self.column_owners
                .push((d.value.clone(), table.key(), d.column.name.clone()));
        }
        for d in decls {
            if d.index {
                table.indexes.push(Index {
                    generated_name: true,
                    // SQLAlchemy's `column_0_label`: the table's key with `_` for `.`.
                    ..Index::on_columns(
                        format!("ix_{}_{}", table.key().replace('.', "_"), d.column.name),
                        vec![d.column.name.clone()],
                        d.unique,
                    )
                });
            } else if d.unique {
                table.uniques.push(UniqueConstraint {
                    name: None,
                    columns: vec![d.column.name.clone()],
                    generated_name: false,
                });
            }
            if let Some(fk) = d.foreign_key {
                table.foreign_keys.push(fk);
            }
            if d.type_from_foreign_key {
                self.fk_typed
                    .push((table.key(), d.column.name.clone(), d.at.clone()));
            }
            table.columns.push(d.column);
        }
    }

    /// One item of `__table_args__` or a `Table(...)` argument after the columns.
    fn table_item(
        &mut self,
        table: &mut Table,
        item: &Value,
        decls: &[ColumnDecl],
        at: Option<&str>,
    ) {
        if let Value::Dict(d) = item {
            for (k, v) in d.borrow().items.iter() {
                let key = k.to_str();
                if key == "schema" {
                    match v {
                        Value::Str(s) => table.schema = Some(s.to_string()),
                        Value::None => {}
                        other => {
                            let message = format!("schema={} must be a string", other.repr());
                            self.error(at, None, message);
                        }
                    }
                    continue;
                }
                if key == "comment" {
                    match v {
                        Value::Str(c) => table.comment = Some(c.to_string()),
                        Value::None => {}
                        other => {
                            let message = format!("comment={} must be a string", other.repr());
                            self.error(at, None, message);
                        }
                    }
                    continue;
                }
                if matches!(key.as_str(), "extend_existing" | "keep_existing" | "quote") {
                    continue;
                }
                if !(key.starts_with("sqlite_")
                    || key.starts_with("postgresql_")
                    || key.starts_with("mysql_"))
                {
                    let message =
                        format!("__table_args__ {key:?} is not supported for autogenerate");
                    self.error(at, None, message);
                    continue;
                }
                table.options.push((key, v.repr()));
            }
            return;
        }
        let Some(c) = construct(item) else {
            let message = format!("cannot read {} in __table_args__", item.repr());
            self.error(at, None, message);
            return;
        };
        let here = c.at.as_deref();
        if let Err(message) = table_constraint(table, c, decls, self.dialect) {
            self.error(here, at, message);
        }
    }

    /// `Table(name, metadata, *columns_and_constraints, **options)`.
    fn read_table(&mut self, value: &Value) -> Option<Table> {
        let c = construct(value)?;
        let at = c.at.as_deref();
        let args = c.args.clone().unwrap_or_default();
        let Some(Value::Str(name)) = args.positional.first() else {
            self.error(at, None, "Table(...) needs its name as a string".into());
            return None;
        };
        let mut table = Table {
            name: name.to_string(),
            schema: self.metadata_schema.clone(),
            ..Table::default()
        };
        let mut decls = Vec::new();
        let mut rest = Vec::new();
        for arg in args.positional.iter().skip(2) {
            match construct(arg) {
                Some(col) if col.name == "Column" => {
                    let column_name = match col.args.as_ref().and_then(|a| a.positional.first()) {
                        Some(Value::Str(s)) => s.to_string(),
                        _ => {
                            self.error(
                                col.at.as_deref(),
                                at,
                                "a Column of Table(...) needs its name first".into(),
                            );
                            continue;
                        }
                    };
                    if let Some(d) = self.read_column(&column_name, col, arg, None, false, at) {
                        decls.push(d);
                    }
                }
                _ => rest.push(arg.clone()),
            }
        }
        for (key, v) in &args.keywords {
            if key == "schema" {
                match v {
                    Value::Str(s) => table.schema = Some(s.to_string()),
                    Value::None => {}
                    other => self.error(
                        at,
                        None,
                        format!("schema={} must be a string", other.repr()),
                    ),
                }
            } else if key == "comment" {
                if let Value::Str(c) = v {
                    table.comment = Some(c.to_string());
                } else if !v.is_none() {
                    self.error(at, None, format!("comment={} must be a string", v.repr()));
                }
            } else if key.starts_with("sqlite_")
                || key.starts_with("postgresql_")
                || key.starts_with("mysql_")
            {
                table.options.push((key.clone(), v.repr()));
            } else if !matches!(key.as_str(), "extend_existing" | "keep_existing" | "quote") {
                let message =
                    format!("Table({name:?}, {key}=...) is not supported for autogenerate");
                self.error(at, None, message);
            }
        }
        let args_tuple = Value::tuple(rest);
        self.finish_table(&mut table, decls, Some(&args_tuple), at);
        Some(table)
    }
}

/// A type known by its SQLAlchemy `repr` (`DateTime(timezone=True)`), with the DDL the
/// comparison uses for `dialect` (as the reflected type normalises).
fn other_type(repr: &str, dialect: Dialect) -> Result<ColumnType, String> {
    let pg = dialect == Dialect::Postgresql;
    let ddl = match repr {
        "DateTime(timezone=True)" if pg => "TIMESTAMP(TRUE)".to_string(),
        "DateTime(timezone=True)" => "DATETIME".to_string(),
        "Time(timezone=True)" if pg => "TIME(TRUE)".to_string(),
        "Time(timezone=True)" => "TIME".to_string(),
        "Uuid()" if pg => "UUID".to_string(),
        "Uuid()" => "CHAR(32)".to_string(),
        "Interval()" if pg => "INTERVAL".to_string(),
        "Interval()" => "DATETIME".to_string(),
        "UnicodeText()" => "TEXT".to_string(),
        other => match other.split_once('(') {
            Some(("Unicode", rest)) => {
                let n = rest.trim_start_matches("length=").trim_end_matches(')');
                if n.is_empty() {
                    "VARCHAR".to_string()
                } else {
                    format!("VARCHAR({n})")
                }
            }
            Some(("Float", rest)) => {
                let n = rest.trim_start_matches("precision=").trim_end_matches(')');
                if pg && !n.is_empty() {
                    format!("FLOAT({n})")
                } else {
                    "FLOAT".to_string()
                }
            }
            Some((name, rest)) if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                // SQLAlchemy's uppercase types are their own DDL.
                let values: Vec<&str> = rest
                    .trim_end_matches(')')
                    .split(',')
                    .map(|a| a.split_once('=').map_or(a, |(_, v)| v).trim())
                    .filter(|a| !a.is_empty())
                    .collect();
                let name = match name {
                    "DOUBLE_PRECISION" => "DOUBLE PRECISION",
                    "TIMESTAMP" if !pg => "TIMESTAMP",
                    n => n,
                };
                if values.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}({})", values.join(","))
                }
            }
            _ => return Err(format!("unsupported column type {repr}")),
        },
    };
    Ok(ColumnType::Other {
        repr: repr.to_string(),
        ddl: ddl.to_uppercase().replace(' ', ""),
    })
}

/// `Double()`: PostgreSQL reflects it as `DOUBLE PRECISION`, which compares as `FLOAT` does.
fn double_type(dialect: Dialect) -> ColumnType {
    match dialect {
        Dialect::Sqlite => ColumnType::Double,
        Dialect::Postgresql => ColumnType::Other {
            repr: "Double()".into(),
            ddl: "FLOAT".into(),
        },
    }
}

/// Whether `class` is a Python `enum.Enum` subclass.
fn is_enum_class(class: &Rc<Class>) -> bool {
    class
        .mro()
        .iter()
        .skip(1)
        .any(|c| c.module == "enum" && c.name.ends_with("Enum"))
}

/// `Enum(SomeEnum)` (or `Mapped[SomeEnum]`): SQLAlchemy stores the members' names and names
/// the type after the class, lowercased.
fn enum_type(
    class: &Rc<Class>,
    name: Option<String>,
    dialect: Dialect,
) -> Result<ColumnType, String> {
    let attrs = class.attrs.borrow();
    let members: Vec<String> = class
        .order
        .borrow()
        .iter()
        .filter(|n| !n.starts_with('_'))
        .filter(|n| {
            attrs.get(*n).is_some_and(|v| {
                matches!(
                    v,
                    Value::Str(_)
                        | Value::Int(_)
                        | Value::Float(_)
                        | Value::Tuple(_)
                        | Value::Bool(_)
                ) || v.type_name() == "enum.auto"
            })
        })
        .cloned()
        .collect();
    if members.is_empty() {
        return Err(format!("Enum({}): aurora found no members", class.name));
    }
    let name = name.unwrap_or_else(|| class.name.to_lowercase());
    enum_of(&members, Some(&name), dialect)
}

fn enum_of(members: &[String], name: Option<&str>, dialect: Dialect) -> Result<ColumnType, String> {
    let mut repr: Vec<String> = members.iter().map(|m| repr_py(m)).collect();
    if let Some(name) = name {
        repr.push(format!("name={}", repr_py(name)));
    }
    let longest = members.iter().map(|m| m.chars().count()).max().unwrap_or(0);
    Ok(ColumnType::Other {
        repr: format!("Enum({})", repr.join(", ")),
        ddl: match dialect {
            // Alembic does not compare an enum's values; PostgreSQL reflects it as ENUM.
            Dialect::Postgresql => "ENUM".to_string(),
            Dialect::Sqlite => format!("VARCHAR({longest})"),
        },
    })
}

fn repr_py(s: &str) -> String {
    crate::template::repr_str(s)
}

/// A SQLAlchemy type construct.
fn sqlalchemy_type(c: &Construct, dialect: Dialect) -> Result<ColumnType, String> {
    let empty = Args::default();
    let args = c.args.as_ref().unwrap_or(&empty);
    let name = short_name(&c.name);
    if name == "Enum" {
        let mut enum_name = None;
        for (k, v) in &args.keywords {
            match (k.as_str(), v) {
                ("name", Value::Str(s)) => enum_name = Some(s.to_string()),
                ("native_enum", Value::Bool(true)) | ("create_constraint", Value::Bool(false)) => {}
                _ => {
                    return Err(format!(
                        "Enum({k}={}) is not supported for autogenerate",
                        v.repr()
                    ))
                }
            }
        }
        return match args.positional.as_slice() {
            [Value::Class(class)] if is_enum_class(class) => enum_type(class, enum_name, dialect),
            values if !values.is_empty() && values.iter().all(|v| matches!(v, Value::Str(_))) => {
                let members: Vec<String> = values.iter().map(Value::to_str).collect();
                enum_of(&members, enum_name.as_deref(), dialect)
            }
            _ => Err("Enum(...): aurora reads an enum.Enum class or string values".into()),
        };
    }
    let allowed: &[&str] = match name {
        "String" | "Unicode" | "VARCHAR" | "CHAR" | "NVARCHAR" => &["length"],
        "Numeric" | "NUMERIC" | "DECIMAL" => &["precision", "scale", "asdecimal"],
        "Float" => &["asdecimal", "precision"],
        "DateTime" | "Time" | "TIMESTAMP" => &["timezone"],
        _ => &[],
    };
    for (k, v) in &args.keywords {
        let harmless = matches!(
            (k.as_str(), v),
            ("timezone", Value::Bool(false)) | ("asdecimal", Value::Bool(true))
        );
        if !harmless && (k == "asdecimal" || !allowed.contains(&k.as_str())) {
            return Err(format!(
                "{name}({k}={}) is not supported for autogenerate",
                v.repr()
            ));
        }
    }
    let no_args = |ty: ColumnType| -> Result<ColumnType, String> {
        if args.positional.is_empty() {
            Ok(ty)
        } else {
            Err(format!("{name}() takes no positional arguments here"))
        }
    };
    let positional_timezone = matches!(name, "DateTime" | "Time" | "TIMESTAMP")
        .then(|| args.positional.first().cloned())
        .flatten();
    let timezone = match args.keyword("timezone").or(positional_timezone) {
        None | Some(Value::Bool(false)) => false,
        Some(Value::Bool(true)) => true,
        Some(other) => {
            return Err(format!(
                "{name}(timezone={}) must be True or False",
                other.repr()
            ))
        }
    };
    let upper = |repr: String| other_type(&repr, dialect);
    let length = |pos| int_arg(args, pos, "length");
    match name {
        "Integer" => no_args(ColumnType::Integer),
        "BigInteger" => no_args(ColumnType::BigInteger),
        "SmallInteger" => no_args(ColumnType::SmallInteger),
        "String" => Ok(ColumnType::String(length(0)?)),
        "Unicode" => upper(match length(0)? {
            Some(n) => format!("Unicode(length={n})"),
            None => "Unicode()".into(),
        }),
        "Text" => no_args(ColumnType::Text),
        "UnicodeText" => no_args(ColumnType::Other {
            repr: "UnicodeText()".into(),
            ddl: "TEXT".into(),
        }),
        "Float" => match int_arg(args, 0, "precision")? {
            None => Ok(ColumnType::Float),
            Some(p) => upper(format!("Float(precision={p})")),
        },
        "Double" => no_args(double_type(dialect)),
        "Numeric" => Ok(ColumnType::Numeric(
            int_arg(args, 0, "precision")?,
            int_arg(args, 1, "scale")?,
        )),
        "Boolean" => no_args(ColumnType::Boolean),
        "DateTime" if timezone => upper("DateTime(timezone=True)".into()),
        "DateTime" => Ok(ColumnType::DateTime),
        "Date" => no_args(ColumnType::Date),
        "Time" if timezone => upper("Time(timezone=True)".into()),
        "Time" => Ok(ColumnType::Time),
        "JSON" => no_args(ColumnType::Json),
        "LargeBinary" => no_args(ColumnType::LargeBinary),
        "Uuid" => no_args(ColumnType::Other {
            repr: "Uuid()".into(),
            ddl: String::new(),
        })
        .and_then(|_| upper("Uuid()".into())),
        "Interval" => no_args(ColumnType::Integer).and_then(|_| upper("Interval()".into())),
        "INTEGER" | "BIGINT" | "SMALLINT" | "TEXT" | "BOOLEAN" | "DATE" | "BLOB" | "REAL"
        | "DATETIME" | "TIME" | "FLOAT" | "DOUBLE" => {
            no_args(ColumnType::Integer).and_then(|_| upper(format!("{name}()")))
        }
        "TIMESTAMP" if timezone => upper("TIMESTAMP(timezone=True)".into()),
        "TIMESTAMP" => no_args(ColumnType::Integer).and_then(|_| upper("TIMESTAMP()".into())),
        "VARCHAR" | "CHAR" | "NVARCHAR" => upper(match length(0)? {
            Some(n) => format!("{name}(length={n})"),
            None => format!("{name}()"),
        }),
        "NUMERIC" | "DECIMAL" => {
            let mut parts = Vec::new();
            if let Some(p) = int_arg(args, 0, "precision")? {
                parts.push(format!("precision={p}"));
            }
            if let Some(s) = int_arg(args, 1, "scale")? {
                parts.push(format!("scale={s}"));
            }
            upper(format!("{name}({})", parts.join(", ")))
        }
        other => Err(format!("unsupported column type '{other}'")),
    }
}

/// `Computed(sqltext, persisted=...)` and `Identity(...)` as Alembic renders them.
fn render_generated(c: &Construct) -> Result<String, String> {
    let args = c.args.clone().unwrap_or_default();
    if c.name == "Computed" {
        check_keywords("Computed", &args, &["persisted"])?;
        let text = match args.positional.first() {
            Some(Value::Str(s)) => repr_py(s),
            Some(v) if v.downcast::<TextClause>().is_some() => {
                repr_py(&v.downcast::<TextClause>().expect("checked").0)
            }
            _ => return Err("Computed needs its SQL text as a string".into()),
        };
        let kwargs = match args.keyword("persisted") {
            None | Some(Value::None) => String::new(),
            Some(Value::Bool(b)) => format!("persisted={}", if b { "True" } else { "False" }),
            Some(other) => return Err(format!("persisted={} must be True or False", other.repr())),
        };
        return Ok(format!("sa.Computed({text}, {kwargs})"));
    }
    // SQLAlchemy's identity options in their declared order, then `always`/`on_null`.
    const ORDER: &[&str] = &[
        "start",
        "increment",
        "minvalue",
        "maxvalue",
        "nominvalue",
        "nomaxvalue",
        "cycle",
        "cache",
        "order",
        "always",
        "on_null",
    ];
    if !args.positional.is_empty() {
        return Err("Identity(...) takes keyword arguments only".into());
    }
    check_keywords("Identity", &args, ORDER)?;
    let mut parts = vec![];
    let always = args.keyword("always").unwrap_or(Value::Bool(false));
    parts.push(format!("always={}", always.repr()));
    for key in ORDER {
        if matches!(*key, "always") {
            continue;
        }
        if let Some(v) = args.keyword(key) {
            if !v.is_none() {
                parts.push(format!("{key}={}", v.repr()));
            }
        }
    }
    Ok(format!("sa.Identity({})", parts.join(", ")))
}

/// A Python-side `default=` as SQLAlchemy's `repr` shows a scalar one; other defaults (a
/// callable, a SQL expression) show object addresses, which no comparison can rely on.
fn scalar_default(value: &Value) -> Option<String> {
    match value {
        Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::Str(_) => {
            Some(format!("ScalarElementColumnDefault({})", value.repr()))
        }
        _ => None,
    }
}

/// `server_default=`: a string becomes `'text'`, `text(...)` becomes `sa.text(...)`, and a
/// SQL expression (`func.now()`, `sa.false()`) the `sa.text(...)` of what `dialect` compiles.
fn server_default_text(value: &Value, dialect: Dialect) -> Result<Option<String>, String> {
    if let Some(t) = value.downcast::<TextClause>() {
        return Ok(Some(format!("sa.text({})", repr_py(&t.0))));
    }
    let sqlite = dialect == Dialect::Sqlite;
    if let Some(c) = construct(value) {
        let compiled = match (c.name.as_str(), &c.args) {
            ("true", Some(a)) | ("false", Some(a)) if a.positional.is_empty() => {
                match (c.name.as_str(), sqlite) {
                    ("true", true) => "1".to_string(),
                    ("false", true) => "0".to_string(),
                    (name, false) => name.to_string(),
                    _ => unreachable!(),
                }
            }
            ("null", Some(a)) if a.positional.is_empty() => {
                if sqlite { "(NULL)".into() } else { "NULL".into() }
            }
            ("literal_column", Some(a)) if a.positional.len() == 1 => match &a.positional[0] {
                Value::Str(s) => s.to_string(),
                _ => return Err("literal_column(...) needs a string".into()),
            },
            (name, Some(a)) if name.starts_with("func.") && a.positional.is_empty() && a.keywords.is_empty() => {
                let f = &name["func.".len()..];
                let bare = match f.to_lowercase().as_str() {
                    "now" if sqlite => "CURRENT_TIMESTAMP".to_string(),
                    "current_timestamp" => "CURRENT_TIMESTAMP".to_string(),
                    "current_date" => "CURRENT_DATE".to_string(),
                    "current_time" => "CURRENT_TIME".to_string(),
                    "localtimestamp" if !sqlite => "LOCALTIMESTAMP".to_string(),
                    "localtimestamp" => "DATETIME(CURRENT_TIMESTAMP, 'localtime')".to_string(),
                    _ => format!("{f}()"),
                };
                if sqlite { format!("({bare})") } else { bare }
            }
            _ => {
                return Err(format!(
                    "server_default={}(...) is not supported for autogenerate; use a string, text(...) or func.<name>()",
                    c.name
                ))
            }
        };
        return Ok(Some(format!("sa.text({})", repr_py(&compiled))));
    }
    match value {
        Value::Str(s) => Ok(Some(repr_py(s))),
        Value::None => Ok(None),
        other => Err(format!(
            "server_default={} is not supported for autogenerate; use a string or text(...)",
            other.repr()
        )),
    }
}

fn string_keyword(args: &Args, key: &str) -> Result<Option<String>, String> {
    match args.keyword(key) {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.to_string())),
        Some(other) => Err(format!("{key}={} must be a string", other.repr())),
    }
}

fn check_keywords(what: &str, args: &Args, allowed: &[&str]) -> Result<(), String> {
    for (k, _) in &args.keywords {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("{what}({k}=...) is not supported for autogenerate"));
        }
    }
    Ok(())
}

fn read_foreign_key(c: &Construct) -> Result<ForeignKey, String> {
    let args = c.args.clone().unwrap_or_default();
    check_keywords("ForeignKey", &args, &["ondelete", "onupdate", "name"])?;
    let target = match args.positional.first() {
        Some(Value::Str(s)) => s.to_string(),
        _ => return Err("ForeignKey target must be a 'table.column' string".into()),
    };
    let (table, column) = target
        .rsplit_once('.')
        .ok_or_else(|| format!("ForeignKey target '{target}' is not 'table.column'"))?;
    Ok(ForeignKey {
        name: string_keyword(&args, "name")?,
        columns: Vec::new(),
        ref_table: table.to_string(),
        written_table: None,
        ref_columns: vec![column.to_string()],
        ondelete: string_keyword(&args, "ondelete")?,
        onupdate: string_keyword(&args, "onupdate")?,
        generated_name: false,
    })
}

/// A column named by a string or by the column object itself.
fn column_name(value: &Value, decls: &[ColumnDecl], what: &str) -> Result<String, String> {
    if let Value::Str(s) = value {
        return Ok(s.to_string());
    }
    decls
        .iter()
        .find(|d| same(&d.value, value))
        .map(|d| d.column.name.clone())
        .ok_or_else(|| {
            format!(
                "{what}: only column names or this table's columns are understood, not {}",
                value.repr()
            )
        })
}

/// What a model column was declared with, for env.py's `render_item`: the `Column(...)`
/// value, its type value (when given) and its `server_default=` value.
#[derive(Clone)]
pub struct ModelColumn {
    pub column: Value,
    pub ty: Option<Value>,
    pub server_default: Option<Value>,
}

thread_local! {
    static MODEL_COLUMNS: std::cell::RefCell<Vec<ModelColumn>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The model column `Column::model_id` names.
pub fn model_column(id: usize) -> Option<ModelColumn> {
    MODEL_COLUMNS.with(|m| m.borrow().get(id).cloned())
}

thread_local! {
    /// The `Index(...)` constructs a table took, by address (see `schema_from_metadata`).
    static TAKEN_INDEXES: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn table_constraint(
    table: &mut Table,
    c: &Construct,
    decls: &[ColumnDecl],
    dialect: Dialect,
) -> Result<(), String> {
    let args = c.args.clone().unwrap_or_default();
    let name = short_name(&c.name);
    match name {
        "Index" => {
            // Taken by this table, whether or not it can be read (its own error says why not).
            TAKEN_INDEXES.with(|taken| taken.borrow_mut().push(c as *const Construct as usize));
            let column_of = |v: &Value| {
                decls
                    .iter()
                    .find(|d| same(&d.value, v))
                    .map(|d| d.column.name.clone())
            };
            table
                .indexes
                .push(model_indexes::read_index(&args, dialect, &column_of)?);
        }
        "UniqueConstraint" => {
            check_keywords("UniqueConstraint", &args, &["name"])?;
            let columns = args
                .positional
                .iter()
                .map(|v| column_name(v, decls, "UniqueConstraint"))
                .collect::<Result<Vec<_>, _>>()?;
            table.uniques.push(UniqueConstraint {
                name: string_keyword(&args, "name")?,
                columns,
                generated_name: false,
            });
        }
        "CheckConstraint" => {
            check_keywords("CheckConstraint", &args, &["name"])?;
            let sqltext = match args.positional.first() {
                Some(Value::Str(s)) => s.to_string(),
                Some(v) if v.downcast::<TextClause>().is_some() => {
                    v.downcast::<TextClause>().expect("checked").0.clone()
                }
                _ => return Err("CheckConstraint needs its SQL text as a string".into()),
            };
            table.checks.push(CheckConstraint {
                name: string_keyword(&args, "name")?,
                sqltext,
                generated_name: false,
            });
        }
        "ForeignKeyConstraint" => {
            check_keywords(
                "ForeignKeyConstraint",
                &args,
                &["name", "ondelete", "onupdate"],
            )?;
            let list = |v: Option<&Value>| -> Result<Vec<Value>, String> {
                match v {
                    Some(Value::List(l)) => Ok(l.borrow().clone()),
                    Some(Value::Tuple(t)) => Ok(t.as_ref().clone()),
                    _ => Err("ForeignKeyConstraint needs two lists of columns".into()),
                }
            };
            let columns = list(args.positional.first())?
                .iter()
                .map(|v| column_name(v, decls, "ForeignKeyConstraint"))
                .collect::<Result<Vec<_>, _>>()?;
            let mut ref_table = None;
            let mut ref_columns = Vec::new();
            for target in list(args.positional.get(1))? {
                let Value::Str(s) = target else {
                    return Err(
                        "ForeignKeyConstraint targets must be 'table.column' strings".into(),
                    );
                };
                let (t, col) = s.rsplit_once('.').ok_or_else(|| {
                    format!("ForeignKeyConstraint target '{s}' is not 'table.column'")
                })?;
                if ref_table.get_or_insert_with(|| t.to_string()) != t {
                    return Err("ForeignKeyConstraint targets name more than one table".into());
                }
                ref_columns.push(col.to_string());
            }
            table.foreign_keys.push(ForeignKey {
                name: string_keyword(&args, "name")?,
                columns,
                ref_table: ref_table.unwrap_or_default(),
                written_table: None,
                ref_columns,
                ondelete: string_keyword(&args, "ondelete")?,
                onupdate: string_keyword(&args, "onupdate")?,
                generated_name: false,
            });
        }
        other => return Err(format!("'{other}' in __table_args__ is not supported")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::merge_lists_w_ordering;

    #[test]
    fn merge_keeps_sqlalchemys_order() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            merge_lists_w_ordering(
                &s(&["__tablename__", "id", "x", "created_at"]),
                &s(&["id", "name", "data", "y", "created_at"])
            ),
            s(&[
                "__tablename__",
                "id",
                "name",
                "data",
                "y",
                "x",
                "created_at"
            ])
        );
    }
}
