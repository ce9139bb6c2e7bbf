//! Python values: the builtin types, user functions and classes, modules and
//! native objects (Rust types behind the [`Native`] trait).

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use super::error::{PyError, PyResult};
use super::Interp;
use crate::syntax::body::{Param, Stmt};

/// A name → value table: a module's globals, a function's locals.
pub type Scope = Rc<RefCell<HashMap<String, Value>>>;

pub fn new_scope() -> Scope {
    Rc::new(RefCell::new(HashMap::new()))
}

/// One Python source file, kept for locations in errors.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    /// `path:line:col` of a byte offset.
    pub fn location(&self, offset: usize) -> String {
        let (line, col) = crate::syntax::body::line_col(&self.text, offset);
        format!("{}:{line}:{col}", self.path.display())
    }
}

/// Positional and keyword arguments of a call.
#[derive(Default, Clone)]
pub struct Args {
    pub positional: Vec<Value>,
    pub keywords: Vec<(String, Value)>,
}

impl Args {
    pub fn new(positional: Vec<Value>) -> Args {
        Args {
            positional,
            keywords: Vec::new(),
        }
    }

    /// The argument named `name`, else the positional one at `index`.
    pub fn get(&self, index: usize, name: &str) -> Option<Value> {
        self.keyword(name)
            .or_else(|| self.positional.get(index).cloned())
    }

    pub fn keyword(&self, name: &str) -> Option<Value> {
        self.keywords
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    /// Fails with Python's TypeError when an argument is missing.
    pub fn require(&self, index: usize, name: &str, function: &str) -> PyResult<Value> {
        self.get(index, name).ok_or_else(|| {
            PyError::new(
                "TypeError",
                format!("{function}() missing required argument: '{name}'"),
            )
        })
    }
}

/// A function written in Rust.
pub type NativeFn = dyn Fn(&mut Interp<'_>, Args) -> PyResult<Value>;

pub struct Builtin {
    pub name: String,
    pub func: Box<NativeFn>,
}

/// A `def` (or `lambda`) with its captured scopes.
pub struct Function {
    pub name: String,
    pub params: Vec<Param>,
    /// Defaults evaluated at definition time, one per parameter.
    pub defaults: Vec<Option<Value>>,
    pub body: Rc<Vec<Stmt>>,
    pub globals: Scope,
    /// The locals of the enclosing functions, innermost last.
    pub closure: Vec<Scope>,
    pub source: Rc<SourceFile>,
    /// The module's `__name__`.
    pub module: String,
}

/// A class: its own attributes and its bases (method resolution is depth
/// first, left to right, which equals the C3 order for the single
/// inheritance chains and simple mixins env.py code uses).
pub struct Class {
    pub name: String,
    pub module: String,
    pub bases: Vec<Rc<Class>>,
    pub attrs: RefCell<HashMap<String, Value>>,
    /// Attribute names in definition order (declarative models need it).
    pub order: RefCell<Vec<String>>,
}

impl Class {
    pub fn new(name: &str, module: &str, bases: Vec<Rc<Class>>) -> Class {
        Class {
            name: name.to_string(),
            module: module.to_string(),
            bases,
            attrs: RefCell::new(HashMap::new()),
            order: RefCell::new(Vec::new()),
        }
    }

    /// The class and its ancestors, in lookup order, without repeats.
    pub fn mro(self: &Rc<Self>) -> Vec<Rc<Class>> {
        let mut out: Vec<Rc<Class>> = Vec::new();
        fn walk(class: &Rc<Class>, out: &mut Vec<Rc<Class>>) {
            if !out.iter().any(|c| Rc::ptr_eq(c, class)) {
                out.push(class.clone());
            }
            for base in &class.bases {
                walk(base, out);
            }
        }
        walk(self, &mut out);
        out
    }

    pub fn lookup(self: &Rc<Self>, name: &str) -> Option<Value> {
        self.mro()
            .iter()
            .find_map(|c| c.attrs.borrow().get(name).cloned())
    }

    pub fn is_subclass_of(self: &Rc<Self>, other: &Rc<Class>) -> bool {
        self.mro().iter().any(|c| Rc::ptr_eq(c, other))
    }

    pub fn set(&self, name: &str, value: Value) {
        if self
            .attrs
            .borrow_mut()
            .insert(name.to_string(), value)
            .is_none()
        {
            self.order.borrow_mut().push(name.to_string());
        }
    }
}

pub struct Instance {
    pub class: Rc<Class>,
    pub attrs: RefCell<HashMap<String, Value>>,
}

pub struct Module {
    pub name: String,
    pub file: Option<PathBuf>,
    pub globals: Scope,
}

/// Wrappers made by the `property`, `staticmethod` and `classmethod` builtins.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Descriptor {
    Property,
    StaticMethod,
    ClassMethod,
}

/// An insertion-ordered dict (keys compared with Python equality).
#[derive(Default, Clone)]
pub struct Dict {
    pub items: Vec<(Value, Value)>,
}

impl Dict {
    pub fn get(&self, key: &Value) -> Option<Value> {
        self.items
            .iter()
            .find(|(k, _)| k.py_eq(key))
            .map(|(_, v)| v.clone())
    }

    pub fn get_str(&self, key: &str) -> Option<Value> {
        self.get(&Value::str(key))
    }

    pub fn insert(&mut self, key: Value, value: Value) {
        match self.items.iter_mut().find(|(k, _)| k.py_eq(&key)) {
            Some(slot) => slot.1 = value,
            None => self.items.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &Value) -> Option<Value> {
        let at = self.items.iter().position(|(k, _)| k.py_eq(key))?;
        Some(self.items.remove(at).1)
    }
}

/// An object implemented in Rust (library objects such as `context`, an
/// engine or a connection). Every hook has Python's default behaviour.
pub trait Native: Any {
    fn type_name(&self) -> String;

    /// `obj.name`; `Ok(None)` raises AttributeError.
    fn get_attr(self: Rc<Self>, _interp: &mut Interp<'_>, _name: &str) -> PyResult<Option<Value>> {
        Ok(None)
    }

    /// `obj.name = value`; `Ok(false)` raises AttributeError.
    fn set_attr(&self, _interp: &mut Interp<'_>, _name: &str, _value: Value) -> PyResult<bool> {
        Ok(false)
    }

    fn call(self: Rc<Self>, _interp: &mut Interp<'_>, _args: Args) -> PyResult<Value> {
        Err(PyError::new(
            "TypeError",
            format!("'{}' object is not callable", self.type_name()),
        ))
    }

    /// `with obj as x`: the value bound to `x`; `Ok(None)` means obj is not
    /// a context manager.
    fn enter(self: Rc<Self>, _interp: &mut Interp<'_>) -> PyResult<Option<Value>> {
        Ok(None)
    }

    /// Leaving the `with` block; `failed` when an exception is propagating.
    fn exit(self: Rc<Self>, _interp: &mut Interp<'_>, _failed: bool) -> PyResult<()> {
        Ok(())
    }

    fn get_item(self: Rc<Self>, _interp: &mut Interp<'_>, _key: Value) -> PyResult<Option<Value>> {
        Ok(None)
    }

    /// The items of `for x in obj`; `None` when not iterable.
    fn iterate(self: Rc<Self>, _interp: &mut Interp<'_>) -> PyResult<Option<Vec<Value>>> {
        Ok(None)
    }

    /// `str(obj)`.
    fn to_str(&self) -> Option<String> {
        None
    }

    fn truthy(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any;
}

#[derive(Clone, Default)]
pub enum Value {
    #[default]
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    List(Rc<RefCell<Vec<Value>>>),
    Tuple(Rc<Vec<Value>>),
    Dict(Rc<RefCell<Dict>>),
    Set(Rc<RefCell<Vec<Value>>>),
    Function(Rc<Function>),
    Builtin(Rc<Builtin>),
    Class(Rc<Class>),
    Instance(Rc<Instance>),
    Module(Rc<Module>),
    /// A function bound to its `self`.
    Method(Rc<(Value, Value)>),
    Descriptor(Rc<(Descriptor, Value)>),
    Native(Rc<dyn Native>),
}

impl Value {
    pub fn str(s: impl AsRef<str>) -> Value {
        Value::Str(Rc::from(s.as_ref()))
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Rc::new(items))
    }

    pub fn dict(dict: Dict) -> Value {
        Value::Dict(Rc::new(RefCell::new(dict)))
    }

    pub fn opt_str(s: Option<String>) -> Value {
        s.map(Value::str).unwrap_or(Value::None)
    }

    pub fn builtin(
        name: &str,
        func: impl Fn(&mut Interp<'_>, Args) -> PyResult<Value> + 'static,
    ) -> Value {
        Value::Builtin(Rc::new(Builtin {
            name: name.to_string(),
            func: Box::new(func),
        }))
    }

    pub fn native<T: Native>(object: T) -> Value {
        Value::Native(Rc::new(object))
    }

    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The native object of type `T`, if this is one.
    pub fn downcast<T: Native>(&self) -> Option<&T> {
        match self {
            Value::Native(n) => n.as_any().downcast_ref::<T>(),
            _ => None,
        }
    }

    /// The native object of type `T`, shared.
    pub fn downcast_rc<T: Native>(&self) -> Option<Rc<T>> {
        match self {
            Value::Native(n) => {
                let any: Rc<dyn Any> = n.clone();
                any.downcast::<T>().ok()
            }
            _ => None,
        }
    }

    pub fn type_name(&self) -> String {
        match self {
            Value::None => "NoneType".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "str".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::List(_) => "list".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::Dict(_) => "dict".into(),
            Value::Set(_) => "set".into(),
            Value::Function(_) | Value::Builtin(_) => "function".into(),
            Value::Class(_) => "type".into(),
            Value::Instance(i) => i.class.name.clone(),
            Value::Module(_) => "module".into(),
            Value::Method(_) => "method".into(),
            Value::Descriptor(d) => format!("{:?}", d.0).to_lowercase(),
            Value::Native(n) => n.type_name(),
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) | Value::Set(l) => !l.borrow().is_empty(),
            Value::Tuple(t) => !t.is_empty(),
            Value::Dict(d) => !d.borrow().items.is_empty(),
            Value::Native(n) => n.truthy(),
            _ => true,
        }
    }

    /// Python `==`.
    pub fn py_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(_) | Value::Bool(_), Value::Int(_) | Value::Bool(_)) => {
                self.as_int() == other.as_int()
            }
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Float(a), Value::Int(_) | Value::Bool(_)) => Some(*a) == other.as_float(),
            (Value::Int(_) | Value::Bool(_), Value::Float(b)) => self.as_float() == Some(*b),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                Rc::ptr_eq(a, b) || seq_eq(&a.borrow(), &b.borrow())
            }
            (Value::Tuple(a), Value::Tuple(b)) => seq_eq(a, b),
            (Value::Set(a), Value::Set(b)) => {
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len() && a.iter().all(|x| b.iter().any(|y| x.py_eq(y)))
            }
            (Value::Dict(a), Value::Dict(b)) => {
                let (a, b) = (a.borrow(), b.borrow());
                a.items.len() == b.items.len()
                    && a.items
                        .iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.py_eq(&w)))
            }
            _ => self.is(other),
        }
    }

    /// Python `is`.
    pub fn is(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => Rc::ptr_eq(a, b) || a == b,
            (Value::List(a), Value::List(b)) => Rc::ptr_eq(a, b),
            (Value::Dict(a), Value::Dict(b)) => Rc::ptr_eq(a, b),
            (Value::Set(a), Value::Set(b)) => Rc::ptr_eq(a, b),
            (Value::Tuple(a), Value::Tuple(b)) => Rc::ptr_eq(a, b),
            (Value::Function(a), Value::Function(b)) => Rc::ptr_eq(a, b),
            (Value::Builtin(a), Value::Builtin(b)) => Rc::ptr_eq(a, b),
            (Value::Class(a), Value::Class(b)) => Rc::ptr_eq(a, b),
            (Value::Instance(a), Value::Instance(b)) => Rc::ptr_eq(a, b),
            (Value::Module(a), Value::Module(b)) => Rc::ptr_eq(a, b),
            (Value::Native(a), Value::Native(b)) => std::ptr::addr_eq(Rc::as_ptr(a), Rc::as_ptr(b)),
            _ => false,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }

    /// Python `repr()`.
    pub fn repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => crate::template::repr_str(s),
            Value::Bytes(b) => format!(
                "b{}",
                crate::template::repr_str(&String::from_utf8_lossy(b))
            ),
            Value::List(l) => format!("[{}]", join_repr(&l.borrow())),
            Value::Tuple(t) if t.len() == 1 => format!("({},)", t[0].repr()),
            Value::Tuple(t) => format!("({})", join_repr(t)),
            Value::Set(s) if s.borrow().is_empty() => "set()".into(),
            Value::Set(s) => format!("{{{}}}", join_repr(&s.borrow())),
            Value::Dict(d) => format!(
                "{{{}}}",
                d.borrow()
                    .items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.repr(), v.repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Function(f) => format!("<function {}>", f.name),
            Value::Builtin(b) => format!("<built-in function {}>", b.name),
            Value::Class(c) => format!("<class '{}.{}'>", c.module, c.name),
            Value::Instance(i) => format!("<{}.{} object>", i.class.module, i.class.name),
            Value::Module(m) => format!("<module '{}'>", m.name),
            Value::Method(_) => "<bound method>".into(),
            Value::Descriptor(_) => format!("<{} object>", self.type_name()),
            Value::Native(n) => n
                .to_str()
                .unwrap_or_else(|| format!("<{} object>", n.type_name())),
        }
    }

    /// Python `str()` for values that need no method call.
    pub fn to_str(&self) -> String {
        match self {
            Value::Str(s) => s.to_string(),
            Value::Native(n) => n.to_str().unwrap_or_else(|| self.repr()),
            _ => self.repr(),
        }
    }
}

fn seq_eq(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
}

fn join_repr(items: &[Value]) -> String {
    items.iter().map(Value::repr).collect::<Vec<_>>().join(", ")
}

/// Python's float repr: shortest round-trip digits, `.0` for integral values.
pub fn float_repr(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f.is_nan() {
        return "nan".into();
    }
    let text = format!("{f:?}");
    if text.contains('e') {
        let (mantissa, exponent) = text.split_once('e').expect("exponent");
        let exponent: i32 = exponent.parse().unwrap_or(0);
        if (-5..16).contains(&exponent) {
            return format!("{f}");
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exponent.abs());
    }
    text
}
