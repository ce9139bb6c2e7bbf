//! SQLAlchemy's schema and ORM names as model modules use them: types,
//! `Column`, `ForeignKey`, constraints, `MetaData`, `DeclarativeBase` /
//! `declarative_base()`, `Mapped`/`mapped_column`, `TypeDecorator`.
//!
//! Constructs are recorded with their arguments ([`Construct`]); the
//! declarative base registers each mapped class with its `MetaData`, so the
//! models env.py imports can be evaluated (and read back later).

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use crate::interp::{Args, Class, Dict, Interp, Native, PyError, PyResult, Value};

/// A schema construct or type: its SQLAlchemy name and the arguments it was
/// called with (`None` when used uncalled, as in `Column(Integer)`).
pub struct Construct {
    pub name: String,
    pub args: Option<Args>,
    /// `file:line:col` of the call that made it.
    pub at: Option<String>,
    /// What a method was called on (`desc` of `Model.column.desc()`).
    pub receiver: Option<Value>,
}

impl Native for Construct {
    fn type_name(&self) -> String {
        self.name.clone()
    }
    fn to_str(&self) -> Option<String> {
        Some(format!("{}()", self.name))
    }
    fn call(self: Rc<Self>, interp: &mut Interp<'_>, args: Args) -> PyResult<Value> {
        if self.args.is_some() {
            return Err(PyError::new(
                "TypeError",
                format!("'{}' object is not callable", self.name),
            ));
        }
        let made = Value::native(Construct {
            name: self.name.clone(),
            args: Some(args),
            at: interp.call_site(),
            receiver: None,
        });
        if self.name == "Index" {
            CREATED_INDEXES.with(|made_so_far| made_so_far.borrow_mut().push(made.clone()));
        }
        Ok(made)
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        // Type modifiers and column operators chain into new records.
        Ok(match name {
            "with_variant" | "evaluates_none" | "desc" | "asc" | "nulls_first" | "nulls_last"
            | "label" | "copy" => {
                let base = self.name.clone();
                let method = name.to_string();
                let receiver = Value::Native(self.clone());
                Some(Value::builtin(name, move |interp, args| {
                    Ok(Value::native(Construct {
                        name: format!("{base}.{method}"),
                        args: Some(args),
                        at: interp.call_site(),
                        receiver: Some(receiver.clone()),
                    }))
                }))
            }
            _ => None,
        })
    }
    fn get_item(self: Rc<Self>, _: &mut Interp<'_>, _: Value) -> PyResult<Option<Value>> {
        Ok(Some(Value::Native(self)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A class defined under a declarative base, with where its `class`
/// statement is.
pub struct MappedClass {
    pub class: Rc<Class>,
    pub at: Option<String>,
}

/// `MetaData()`: the mapped classes and tables registered with it, in the
/// order they were defined.
pub struct MetaData {
    pub naming_convention: Option<Value>,
    pub schema: Option<String>,
    pub classes: RefCell<Vec<MappedClass>>,
    pub tables: RefCell<Vec<Value>>,
}

impl Native for MetaData {
    fn type_name(&self) -> String {
        "MetaData".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "naming_convention" => Some(
                self.naming_convention
                    .clone()
                    .unwrap_or(Value::dict(Dict::default())),
            ),
            "schema" => Some(Value::opt_str(self.schema.clone())),
            "tables" => {
                let mut d = Dict::default();
                for mapped in self.classes.borrow().iter() {
                    if let Some(name) = mapped.class.lookup("__tablename__") {
                        d.insert(name, Value::Class(mapped.class.clone()));
                    }
                }
                Some(Value::dict(d))
            }
            "sorted_tables" => Some(Value::list(self.tables.borrow().clone())),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn metadata_new(_: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    Ok(Value::native(MetaData {
        naming_convention: args.keyword("naming_convention"),
        schema: args
            .keyword("schema")
            .and_then(|s| s.as_str().map(str::to_string)),
        classes: RefCell::new(Vec::new()),
        tables: RefCell::new(Vec::new()),
    }))
}

/// `Table(name, metadata, *columns)`.
fn table_new(interp: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let table = Value::native(Construct {
        name: "Table".into(),
        args: Some(args.clone()),
        at: interp.call_site(),
        receiver: None,
    });
    if let Some(metadata) = args
        .positional
        .get(1)
        .and_then(|m| m.downcast::<MetaData>())
    {
        metadata.tables.borrow_mut().push(table.clone());
    }
    Ok(table)
}

/// `@declared_attr` (and `@declared_attr.directive`, `.cascading`): marks a function SQLAlchemy
/// calls with each mapped class to make the attribute (`__tablename__`, a mixin's column).
struct DeclaredAttrDecorator;

impl Native for DeclaredAttrDecorator {
    fn type_name(&self) -> String {
        "declared_attr".into()
    }
    fn call(self: Rc<Self>, _: &mut Interp<'_>, args: Args) -> PyResult<Value> {
        let f = args.require(0, "fn", "declared_attr")?;
        Ok(Value::native(DeclaredAttr(f)))
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "directive" | "cascading" => Some(Value::Native(self)),
            _ => None,
        })
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A function decorated with `@declared_attr`.
pub struct DeclaredAttr(pub Value);

impl Native for DeclaredAttr {
    fn type_name(&self) -> String {
        "declared_attr".into()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Calls the `@declared_attr` functions `class` inherits or declares, as SQLAlchemy's
/// declarative scan does, and sets what they return on the class itself.
fn resolve_declared_attrs(interp: &mut Interp<'_>, class: &Rc<Class>) -> PyResult<()> {
    let mut names: Vec<(String, Value)> = Vec::new();
    for c in class.mro() {
        let order = c.order.borrow().clone();
        let attrs = c.attrs.borrow();
        for name in order {
            if let Some(v) = attrs.get(&name) {
                if let Some(d) = v.downcast::<DeclaredAttr>() {
                    if !names.iter().any(|(n, _)| *n == name) {
                        names.push((name.clone(), d.0.clone()));
                    }
                }
            }
        }
    }
    for (name, f) in names {
        let value = interp.call(&f, Args::new(vec![Value::Class(class.clone())]))?;
        class.set(&name, value);
    }
    Ok(())
}

/// Registers a class defined under a declarative base: a base of its own
/// (no `__tablename__`, directly under the root) gets a new `MetaData`
/// unless it declares one; every other class joins its base's `MetaData`
/// (a subclass without a table of its own, as single-table inheritance
/// writes it, too, so its columns are not lost).
fn init_subclass(interp: &mut Interp<'_>, args: Args) -> PyResult<Value> {
    let Some(Value::Class(class)) = args.positional.first() else {
        return Ok(Value::None);
    };
    let is_abstract_or_base = class
        .attrs
        .borrow()
        .get("__abstract__")
        .is_some_and(Value::truthy)
        || class
            .bases
            .iter()
            .any(|b| b.attrs.borrow().contains_key("__declarative_root__"))
            && !class.attrs.borrow().contains_key("__tablename__");
    if !is_abstract_or_base {
        resolve_declared_attrs(interp, class)?;
    }
    let own = class.attrs.borrow();
    let mapped = own.contains_key("__tablename__") || own.contains_key("__table__");
    let declares_metadata = own.contains_key("metadata");
    let is_abstract = own.get("__abstract__").is_some_and(Value::truthy);
    drop(own);
    let root_base = class
        .bases
        .iter()
        .any(|b| b.attrs.borrow().contains_key("__declarative_root__"));
    if root_base && !mapped && !declares_metadata {
        class.set("metadata", metadata_new(interp, Args::default())?);
    }
    let inherits_table = class.lookup("__tablename__").is_some();
    let is_base = root_base && !mapped;
    if (mapped || inherits_table) && !is_abstract && !is_base {
        if let Some(metadata) = class.lookup("metadata") {
            if let Some(m) = metadata.downcast::<MetaData>() {
                m.classes.borrow_mut().push(MappedClass {
                    class: class.clone(),
                    at: interp.call_site(),
                });
            }
        }
    }
    Ok(Value::None)
}

fn declarative_root(name: &str) -> Rc<Class> {
    let class = Rc::new(Class::new(name, "sqlalchemy.orm", Vec::new()));
    class.set("__declarative_root__", Value::Bool(true));
    class.set(
        "__init_subclass_native__",
        Value::builtin("__init_subclass__", init_subclass),
    );
    class
}

fn construct(name: &str) -> Value {
    Value::native(Construct {
        name: name.to_string(),
        args: None,
        at: None,
        receiver: None,
    })
}

/// The names `sqlalchemy` exports that models use, each recorded as called.
const TYPES: &[&str] = &[
    "Integer",
    "BigInteger",
    "SmallInteger",
    "String",
    "Text",
    "Unicode",
    "UnicodeText",
    "Float",
    "Numeric",
    "DECIMAL",
    "Boolean",
    "DateTime",
    "Date",
    "Time",
    "Interval",
    "JSON",
    "LargeBinary",
    "Enum",
    "ARRAY",
    "Uuid",
    "UUID",
    "VARCHAR",
    "CHAR",
    "TEXT",
    "INTEGER",
    "BIGINT",
    "SMALLINT",
    "BOOLEAN",
    "TIMESTAMP",
    "DATETIME",
    "DATE",
    "TIME",
    "FLOAT",
    "REAL",
    "NUMERIC",
    "BLOB",
    "NVARCHAR",
    "PickleType",
    "Double",
    "DOUBLE",
];

const CONSTRUCTS: &[&str] = &[
    "Column",
    "ForeignKey",
    "ForeignKeyConstraint",
    "PrimaryKeyConstraint",
    "UniqueConstraint",
    "CheckConstraint",
    "Index",
    "Sequence",
    "Identity",
    "Computed",
    "DefaultClause",
    "FetchedValue",
];

fn schema_attrs() -> Vec<(&'static str, Value)> {
    let mut attrs: Vec<(&'static str, Value)> = TYPES
        .iter()
        .chain(CONSTRUCTS)
        .map(|n| (*n, construct(n)))
        .collect();
    attrs.push(("MetaData", Value::builtin("MetaData", metadata_new)));
    attrs.push(("Table", Value::builtin("Table", table_new)));
    attrs.push(("func", Value::native(Func(String::new()))));
    attrs.push((
        "text",
        Value::builtin("text", |_, a| {
            Ok(Value::native(super::sqlalchemy::TextClause(
                a.require(0, "text", "text")?.to_str(),
            )))
        }),
    ));
    attrs.push(("literal_column", construct("literal_column")));
    attrs.push(("null", construct("null")));
    attrs.push(("true", construct("true")));
    attrs.push(("false", construct("false")));
    attrs
}

/// `sqlalchemy.func.<name>(...)`.
struct Func(String);

impl Native for Func {
    fn type_name(&self) -> String {
        "_FunctionGenerator".into()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(Some(Value::native(Func(if self.0.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.0)
        }))))
    }
    fn call(self: Rc<Self>, interp: &mut Interp<'_>, args: Args) -> PyResult<Value> {
        Ok(Value::native(Construct {
            name: format!("func.{}", self.0),
            args: Some(args),
            at: interp.call_site(),
            receiver: None,
        }))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `Mapped[...]` and the other annotation-only names.
struct Annotation;

impl Native for Annotation {
    fn type_name(&self) -> String {
        "Mapped".into()
    }
    fn get_item(self: Rc<Self>, _: &mut Interp<'_>, _: Value) -> PyResult<Option<Value>> {
        Ok(Some(Value::Native(self)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Values only passed on (`datetime.utcnow` as a column default): calling
/// or reading them at import time is refused.
struct Opaque(String);

impl Native for Opaque {
    fn type_name(&self) -> String {
        self.0.clone()
    }
    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<Value>> {
        Ok(Some(Value::native(Opaque(format!("{}.{name}", self.0)))))
    }
    fn call(self: Rc<Self>, _: &mut Interp<'_>, _: Args) -> PyResult<Value> {
        Err(PyError::unsupported(format!(
            "calling {}() while env.py runs",
            self.0
        )))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

thread_local! {
    /// Every `Index(...)` the models made, so that one no table took (SQLAlchemy attaches a
    /// module-level `Index('ix', Model.col)` to the column's table) is not silently lost.
    static CREATED_INDEXES: RefCell<Vec<Value>> = const { RefCell::new(Vec::new()) };
}

/// The `Index(...)` constructs made since [`install`], and forgets them.
pub fn take_created_indexes() -> Vec<Value> {
    CREATED_INDEXES.with(|made| std::mem::take(&mut *made.borrow_mut()))
}

pub fn install(interp: &mut Interp<'_>) {
    CREATED_INDEXES.with(|made| made.borrow_mut().clear());
    interp.register_module("sqlalchemy.schema", |_| {
        Ok(Interp::make_module("sqlalchemy.schema", schema_attrs()))
    });
    interp.register_module("sqlalchemy.types", |_| {
        let mut attrs: Vec<(&str, Value)> = TYPES.iter().map(|n| (*n, construct(n))).collect();
        attrs.push(("TypeDecorator", Value::Class(type_decorator())));
        attrs.push((
            "UserDefinedType",
            Value::Class(Rc::new(Class::new(
                "UserDefinedType",
                "sqlalchemy.types",
                Vec::new(),
            ))),
        ));
        attrs.push((
            "TypeEngine",
            Value::Class(Rc::new(Class::new(
                "TypeEngine",
                "sqlalchemy.types",
                Vec::new(),
            ))),
        ));
        Ok(Interp::make_module("sqlalchemy.types", attrs))
    });
    interp.register_module("sqlalchemy.sql", |interp| {
        let schema = interp.load_native("sqlalchemy.schema")?;
        let func = interp.get_attr(&schema, "func")?;
        let text = interp.get_attr(&schema, "text")?;
        Ok(Interp::make_module(
            "sqlalchemy.sql",
            vec![
                ("func", func.clone()),
                ("text", text),
                ("expression", Value::None),
            ],
        ))
    });
    interp.register_module("sqlalchemy.orm", |_| {
        let names = [
            "relationship",
            "backref",
            "column_property",
            "synonym",
            "deferred",
            "composite",
        ];
        let mut attrs: Vec<(&str, Value)> = names.iter().map(|n| (*n, construct(n))).collect();
        attrs.push(("mapped_column", construct("mapped_column")));
        attrs.push(("Mapped", Value::native(Annotation)));
        attrs.push(("DynamicMapped", Value::native(Annotation)));
        attrs.push(("WriteOnlyMapped", Value::native(Annotation)));
        attrs.push((
            "DeclarativeBase",
            Value::Class(declarative_root("DeclarativeBase")),
        ));
        attrs.push((
            "DeclarativeBaseNoMeta",
            Value::Class(declarative_root("DeclarativeBaseNoMeta")),
        ));
        attrs.push((
            "declarative_base",
            Value::builtin("declarative_base", |interp, args| {
                let base = Rc::new(Class::new(
                    "Base",
                    "sqlalchemy.orm",
                    vec![declarative_root("DeclarativeBase")],
                ));
                let metadata = match args.keyword("metadata") {
                    Some(m) if !m.is_none() => m,
                    _ => metadata_new(interp, Args::default())?,
                };
                base.set("metadata", metadata);
                Ok(Value::Class(base))
            }),
        ));
        attrs.push(("sessionmaker", Value::native(Opaque("sessionmaker".into()))));
        attrs.push(("Session", Value::native(Opaque("Session".into()))));
        attrs.push(("declared_attr", Value::native(DeclaredAttrDecorator)));
        Ok(Interp::make_module("sqlalchemy.orm", attrs))
    });
    interp.register_module("sqlalchemy.ext.declarative", |interp| {
        let orm = interp.load_native("sqlalchemy.orm")?;
        let declarative_base = interp.get_attr(&orm, "declarative_base")?;
        Ok(Interp::make_module(
            "sqlalchemy.ext.declarative",
            vec![("declarative_base", declarative_base)],
        ))
    });
    interp.register_module("sqlalchemy.dialects", |_| {
        Ok(Interp::make_module("sqlalchemy.dialects", vec![]))
    });
    for dialect in [
        "sqlalchemy.dialects.postgresql",
        "sqlalchemy.dialects.sqlite",
        "sqlalchemy.dialects.mysql",
    ] {
        interp.register_module(dialect, move |_| {
            let names = [
                "JSONB",
                "JSON",
                "UUID",
                "ARRAY",
                "ENUM",
                "INET",
                "CIDR",
                "MACADDR",
                "TSVECTOR",
                "BYTEA",
                "TIMESTAMP",
                "INTERVAL",
                "HSTORE",
                "MONEY",
                "DOUBLE_PRECISION",
                "VARCHAR",
                "TEXT",
                "INTEGER",
                "BIGINT",
                "BOOLEAN",
                "DATE",
                "TIME",
                "NUMERIC",
                "REAL",
                "SMALLINT",
                "CHAR",
                "BLOB",
                "DATETIME",
            ];
            Ok(Interp::make_module(
                dialect,
                names.iter().map(|n| (*n, construct(n))).collect(),
            ))
        });
    }
    interp.register_module("datetime", |_| {
        let names = ["datetime", "date", "time", "timedelta", "timezone"];
        Ok(Interp::make_module(
            "datetime",
            names
                .iter()
                .map(|n| (*n, Value::native(Opaque(n.to_string()))))
                .collect(),
        ))
    });
    interp.register_module("enum", |_| {
        let names = ["Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"];
        let mut attrs: Vec<(&str, Value)> = names
            .iter()
            .map(|n| (*n, Value::Class(Rc::new(Class::new(n, "enum", Vec::new())))))
            .collect();
        attrs.push(("auto", Value::native(Opaque("enum.auto".into()))));
        Ok(Interp::make_module("enum", attrs))
    });
    interp.register_module("uuid", |_| {
        Ok(Interp::make_module(
            "uuid",
            vec![
                ("uuid4", Value::native(Opaque("uuid.uuid4".into()))),
                ("UUID", Value::native(Opaque("uuid.UUID".into()))),
            ],
        ))
    });
    interp.register_module("decimal", |_| {
        Ok(Interp::make_module(
            "decimal",
            vec![("Decimal", Value::native(Opaque("decimal.Decimal".into())))],
        ))
    });
}

/// `TypeDecorator`: subclasses set `impl` (and `cache_ok`); calling one
/// keeps its arguments, which SQLAlchemy hands to the impl class.
fn type_decorator() -> Rc<Class> {
    let class = Rc::new(Class::new("TypeDecorator", "sqlalchemy.types", Vec::new()));
    class.set(
        "__init__",
        Value::builtin("__init__", |_, args| {
            let mut positional = args.positional.into_iter();
            let Some(Value::Instance(this)) = positional.next() else {
                return Err(PyError::new(
                    "TypeError",
                    "TypeDecorator.__init__() needs an instance",
                ));
            };
            if this.class.lookup("impl").is_none() {
                return Err(PyError::new(
                    "AssertionError",
                    "TypeDecorator implementations require a class-level variable 'impl' which refers to the class of type being decorated",
                ));
            }
            let mut kw = Dict::default();
            for (k, v) in args.keywords {
                kw.insert(Value::str(k), v);
            }
            let mut attrs = this.attrs.borrow_mut();
            attrs.insert(
                "__type_args__".into(),
                Value::tuple(positional.collect()),
            );
            attrs.insert("__type_kwargs__".into(), Value::dict(kw));
            Ok(Value::None)
        }),
    );
    class.set(
        "__repr__",
        Value::builtin("__repr__", |_, args| {
            let Some(Value::Instance(this)) = args.positional.first() else {
                return Err(PyError::new("TypeError", "__repr__() needs an instance"));
            };
            Ok(Value::str(type_decorator_repr(this)))
        }),
    );
    class
}

/// SQLAlchemy's `repr` of a `TypeDecorator` instance: its class name with the arguments its
/// impl was given that differ from the impl's defaults (`SlugString(length=64)`).
fn type_decorator_repr(this: &crate::interp::Instance) -> String {
    let impl_name = match this.class.lookup("impl") {
        Some(v) => v
            .downcast::<Construct>()
            .map(|c| c.name.rsplit('.').next().unwrap_or(&c.name).to_string())
            .unwrap_or_default(),
        None => String::new(),
    };
    let names: &[&str] = match impl_name.as_str() {
        "String" | "Unicode" | "VARCHAR" | "CHAR" | "NVARCHAR" | "Text" | "UnicodeText"
        | "LargeBinary" => &["length"],
        "Numeric" | "NUMERIC" | "DECIMAL" => &["precision", "scale"],
        "Float" => &["precision"],
        "DateTime" | "Time" | "TIMESTAMP" => &["timezone"],
        _ => &[],
    };
    let Args {
        positional,
        keywords,
    } = type_decorator_args(this);
    let mut parts = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let value = keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| positional.get(i).cloned());
        match value {
            None | Some(Value::None) | Some(Value::Bool(false)) => {}
            Some(v) => parts.push(format!("{name}={}", v.repr())),
        }
    }
    format!("{}({})", this.class.name, parts.join(", "))
}

/// The arguments a project `TypeDecorator` instance was made with (its
/// `__init__` keeps them for its impl and its `repr`).
pub fn type_decorator_args(this: &crate::interp::Instance) -> Args {
    let attrs = this.attrs.borrow();
    let positional = match attrs.get("__type_args__") {
        Some(Value::Tuple(t)) => t.as_ref().clone(),
        _ => Vec::new(),
    };
    let keywords = match attrs.get("__type_kwargs__") {
        Some(Value::Dict(d)) => d
            .borrow()
            .items
            .iter()
            .map(|(k, v)| (k.to_str(), v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    Args {
        positional,
        keywords,
    }
}

/// Whether `class` is a project `TypeDecorator` subclass.
pub fn is_type_decorator(class: &Rc<Class>) -> bool {
    class
        .mro()
        .iter()
        .skip(1)
        .any(|c| c.name == "TypeDecorator" && c.module == "sqlalchemy.types")
}

/// The attributes `sqlalchemy` itself exports from the schema layer.
pub fn top_level(interp: &mut Interp<'_>) -> PyResult<Vec<(String, Value)>> {
    let schema = interp.load_native("sqlalchemy.schema")?;
    let types = interp.load_native("sqlalchemy.types")?;
    let mut out = Vec::new();
    for module in [schema, types] {
        if let Value::Module(m) = module {
            for (k, v) in m.globals.borrow().iter() {
                if !k.starts_with("__") {
                    out.push((k.clone(), v.clone()));
                }
            }
        }
    }
    Ok(out)
}
