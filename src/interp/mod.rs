//! A Python interpreter for the code around migrations (env.py and the
//! project modules it imports). It knows nothing about SQLAlchemy or Alembic:
//! those are native modules registered by the host (see `crate::env`).
//!
//! Statements and expressions come from [`crate::syntax::body`]; values are
//! in [`value`]; every failure is a [`PyError`] carrying `file:line:col`.

pub mod builtins;
pub mod error;
pub mod format;
pub mod stdlib;
pub mod value;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use error::{ErrorKind, PyError, PyResult};
use value::new_scope;
pub use value::{
    Args, Class, Descriptor, Dict, Function, Instance, Module, Native, Scope, SourceFile, Value,
};

use crate::syntax::body::{Arg, BinOp, Expr, ExprKind, Stmt, StmtKind, UnaryOp};

/// What the host (the program running the interpreter) answers: calls that
/// leave the Python world, such as running the migrations.
pub trait Host {
    fn call_host(&mut self, interp: &mut Interp<'_>, request: &str, args: Args) -> PyResult<Value>;
}

/// A native module factory, run on first import.
pub type ModuleFactory = Rc<dyn Fn(&mut Interp<'_>) -> PyResult<Value>>;

enum Flow {
    Normal,
    Return(Value),
    Break,
    Continue,
}

/// One executing code block: a module body, a function call or a class body.
struct Frame {
    locals: Scope,
    closure: Vec<Scope>,
    globals: Scope,
    source: Rc<SourceFile>,
    module: String,
    is_function: bool,
    global_names: Vec<String>,
    /// The exceptions being handled (for a bare `raise`).
    handling: Vec<PyError>,
}

impl Frame {
    /// The frame of code run at module level in `globals`, outside any module
    /// file (see [`Interp::eval_in`]).
    fn module_level(source: &Rc<SourceFile>, globals: &Scope) -> Frame {
        Frame {
            locals: globals.clone(),
            closure: Vec::new(),
            globals: globals.clone(),
            source: source.clone(),
            module: "__main__".to_string(),
            is_function: false,
            global_names: Vec::new(),
            handling: Vec::new(),
        }
    }
}

pub struct Interp<'h> {
    pub builtins: Scope,
    pub modules: HashMap<String, Value>,
    pub native_modules: HashMap<String, ModuleFactory>,
    /// `sys.path`, shared with the `sys` module.
    pub sys_path: Rc<std::cell::RefCell<Vec<Value>>>,
    pub exceptions: HashMap<String, Rc<Class>>,
    pub host: Option<&'h mut dyn Host>,
    /// What `print()` wrote, for the host to show.
    pub stdout: String,
    depth: usize,
    /// The source and offset of the call being made, for natives that
    /// record where they were called (schema constructs name it in errors).
    site: Option<(Rc<SourceFile>, usize)>,
}

impl<'h> Interp<'h> {
    pub fn new(host: Option<&'h mut dyn Host>) -> Interp<'h> {
        let mut interp = Interp {
            builtins: new_scope(),
            modules: HashMap::new(),
            native_modules: HashMap::new(),
            sys_path: Rc::new(std::cell::RefCell::new(Vec::new())),
            exceptions: HashMap::new(),
            host,
            stdout: String::new(),
            depth: 0,
            site: None,
        };
        builtins::install(&mut interp);
        stdlib::install(&mut interp);
        interp
    }

    /// Registers a native module under its dotted name.
    pub fn register_module(
        &mut self,
        name: &str,
        factory: impl Fn(&mut Interp<'_>) -> PyResult<Value> + 'static,
    ) {
        self.native_modules
            .insert(name.to_string(), Rc::new(factory));
    }

    /// A new module value with the given attributes.
    pub fn make_module(name: &str, attrs: Vec<(&str, Value)>) -> Value {
        let globals = new_scope();
        {
            let mut g = globals.borrow_mut();
            g.insert("__name__".into(), Value::str(name));
            for (k, v) in attrs {
                g.insert(k.to_string(), v);
            }
        }
        Value::Module(Rc::new(Module {
            name: name.to_string(),
            file: None,
            globals,
        }))
    }

    /// Calls the host; fails when there is none.
    pub fn call_host(&mut self, request: &str, args: Args) -> PyResult<Value> {
        let Some(host) = self.host.take() else {
            return Err(PyError::new(
                "RuntimeError",
                format!("{request}() needs a running command"),
            ));
        };
        let result = host.call_host(self, request, args);
        self.host = Some(host);
        result
    }

    /// Runs a file as the module `name` (env.py runs as a module too).
    pub fn run_file(
        &mut self,
        path: &Path,
        name: &str,
        extra: Vec<(&str, Value)>,
    ) -> PyResult<Rc<Module>> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PyError::new("FileNotFoundError", format!("{}: {e}", path.display())))?;
        self.run_source(path, text, name, extra)
    }

    pub fn run_source(
        &mut self,
        path: &Path,
        text: String,
        name: &str,
        extra: Vec<(&str, Value)>,
    ) -> PyResult<Rc<Module>> {
        let parsed = crate::syntax::body::parse_module(&text);
        let source = Rc::new(SourceFile {
            path: path.to_path_buf(),
            text,
        });
        let module_ast = parsed
            .map_err(|e| PyError::new(e.kind, e.message.clone()).at(source.location(e.offset)))?;
        let globals = new_scope();
        {
            let mut g = globals.borrow_mut();
            g.insert("__name__".into(), Value::str(name));
            g.insert("__file__".into(), Value::str(path.to_string_lossy()));
            g.insert("__doc__".into(), Value::None);
            for (k, v) in extra {
                g.insert(k.to_string(), v);
            }
        }
        let module = Rc::new(Module {
            name: name.to_string(),
            file: Some(path.to_path_buf()),
            globals: globals.clone(),
        });
        self.modules
            .insert(name.to_string(), Value::Module(module.clone()));
        let mut frame = Frame {
            locals: globals.clone(),
            closure: Vec::new(),
            globals,
            source,
            module: name.to_string(),
            is_function: false,
            global_names: Vec::new(),
            handling: Vec::new(),
        };
        match self.exec_block(&mut frame, &module_ast.body) {
            Ok(_) => Ok(module),
            Err(e) => {
                self.modules.remove(name);
                Err(e)
            }
        }
    }

    /// Evaluates one expression of `source` with `globals` as the module
    /// scope. This is the entry point of code that is not a file, such as
    /// the `${...}` expressions of a `script.py.mako` template.
    pub fn eval_in(
        &mut self,
        source: &Rc<SourceFile>,
        globals: &Scope,
        expr: &Expr,
    ) -> PyResult<Value> {
        let mut frame = Frame::module_level(source, globals);
        self.eval(&mut frame, expr)
            .map_err(|e| e.at(source.location(expr.span.start)))
    }

    /// Runs statements of `source` with `globals` as the module scope (a
    /// template's `<% %>` blocks, which Mako runs inside a function: the
    /// result says whether they ran a `return`).
    pub fn exec_in(
        &mut self,
        source: &Rc<SourceFile>,
        globals: &Scope,
        body: &[Stmt],
    ) -> PyResult<bool> {
        let mut frame = Frame::module_level(source, globals);
        Ok(matches!(
            self.exec_block(&mut frame, body)?,
            Flow::Return(_)
        ))
    }

    // ----- statements -----

    fn exec_block(&mut self, frame: &mut Frame, body: &[Stmt]) -> PyResult<Flow> {
        for stmt in body {
            let flow = self
                .exec_stmt(frame, stmt)
                .map_err(|e| e.at(frame.source.location(stmt.span.start)))?;
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn exec_try(&mut self, frame: &mut Frame, t: &crate::syntax::ast::Try) -> PyResult<Flow> {
        let (body, handlers, orelse, finally) = (&t.body, &t.handlers, &t.orelse, &t.finalbody);
        let mut result = self.exec_block(frame, body);
        if let Err(error) = &result {
            if matches!(error.kind, ErrorKind::Exception { .. }) {
                let error = error.clone();
                for handler in handlers {
                    if handler.is_star {
                        return Err(PyError::unsupported("except*")
                            .at(frame.source.location(handler.span.start)));
                    }
                    let name = handler.name.as_deref();
                    let handler_body = &handler.body;
                    let matched = match &handler.type_ {
                        None => true,
                        Some(expr) => {
                            let types = self.eval(frame, expr)?;
                            self.exception_matches(&error, &types)
                        }
                    };
                    if matched {
                        if let Some(name) = name {
                            let value = self.exception_value(&error);
                            self.store_name(frame, name, value);
                        }
                        frame.handling.push(error.clone());
                        result = self.exec_block(frame, handler_body);
                        frame.handling.pop();
                        break;
                    }
                }
            }
        } else if !orelse.is_empty() {
            if let Ok(Flow::Normal) = result {
                result = self.exec_block(frame, orelse);
            }
        }
        if !finally.is_empty() {
            match self.exec_block(frame, finally)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        result
    }

    /// The exception object of an error (made on first use).
    pub fn exception_value(&mut self, error: &PyError) -> Value {
        match &error.kind {
            ErrorKind::Exception { value: Some(v), .. } => v.clone(),
            ErrorKind::Exception {
                type_name, message, ..
            } => {
                let class = self
                    .exceptions
                    .get(type_name.as_str())
                    .cloned()
                    .unwrap_or_else(|| self.exceptions["Exception"].clone());
                let instance = Instance {
                    class,
                    attrs: Default::default(),
                };
                instance
                    .attrs
                    .borrow_mut()
                    .insert("args".into(), Value::tuple(vec![Value::str(message)]));
                Value::Instance(Rc::new(instance))
            }
            _ => Value::None,
        }
    }

    fn exception_matches(&mut self, error: &PyError, types: &Value) -> bool {
        match types {
            Value::Tuple(items) => items.iter().any(|t| self.exception_matches(error, t)),
            Value::Class(class) => {
                let value = self.exception_value(error);
                match value {
                    Value::Instance(i) => i.class.is_subclass_of(class),
                    _ => false,
                }
            }
            _ => false,
        }
    }

    fn exec_stmt(&mut self, frame: &mut Frame, stmt: &Stmt) -> PyResult<Flow> {
        match &stmt.kind {
            StmtKind::Expr(expr) => {
                self.eval(frame, expr)?;
            }
            StmtKind::Assign {
                targets,
                value,
                annotation,
            } => {
                if let (Some(annotation), [target], false) =
                    (annotation, targets.as_slice(), frame.is_function)
                {
                    if let ExprKind::Name(name) = &target.kind {
                        self.record_annotation(frame, name, annotation);
                    }
                }
                if let Some(value) = value {
                    let v = self.eval(frame, value)?;
                    for target in targets {
                        self.assign(frame, target, v.clone())?;
                    }
                }
            }
            StmtKind::AugAssign { target, op, value } => {
                let current = self.eval(frame, target)?;
                let right = self.eval(frame, value)?;
                let result = match (op, &current) {
                    (BinOp::Add, Value::List(l)) => {
                        let items = self.iterate(&right)?;
                        l.borrow_mut().extend(items);
                        current.clone()
                    }
                    _ => self.binary(*op, current, right)?,
                };
                self.assign(frame, target, result)?;
            }
            StmtKind::Pass => {}
            StmtKind::Return(value) => {
                let v = match value {
                    Some(e) => self.eval(frame, e)?,
                    None => Value::None,
                };
                return Ok(Flow::Return(v));
            }
            StmtKind::Import(names) => {
                for name in names {
                    let module = self.import(&name.name, &frame.module, frame.is_package())?;
                    match &name.alias {
                        Some(alias) => self.store_name(frame, alias, module),
                        None => {
                            let top = name.name.split('.').next().expect("name");
                            let top_module = self.modules[top].clone();
                            self.store_name(frame, top, top_module);
                        }
                    }
                }
            }
            StmtKind::FromImport { module, names } => {
                let resolved = self.resolve_relative(module, &frame.module, frame.is_package())?;
                let m = self.import(&resolved, "", false)?;
                for name in names {
                    if name.name == "*" {
                        if let Value::Module(m) = &m {
                            let items: Vec<(String, Value)> = m
                                .globals
                                .borrow()
                                .iter()
                                .filter(|(k, _)| !k.starts_with('_'))
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect();
                            for (k, v) in items {
                                self.store_name(frame, &k, v);
                            }
                        }
                        continue;
                    }
                    let value = match self.get_attr_opt(&m, &name.name)? {
                        Some(v) => v,
                        None => {
                            let sub = format!("{resolved}.{}", name.name);
                            match self.import(&sub, "", false) {
                                Ok(v) => v,
                                Err(_) => {
                                    return Err(PyError::new(
                                        "ImportError",
                                        format!(
                                            "cannot import name '{}' from '{resolved}'",
                                            name.name
                                        ),
                                    ))
                                }
                            }
                        }
                    };
                    let bound = name.alias.as_deref().unwrap_or(&name.name);
                    self.store_name(frame, bound, value);
                }
            }
            StmtKind::FunctionDef(def) => {
                // An `async def` is run to completion when called: asyncio.run
                // and await then just pass its result on.
                let decorators = self.eval_items(frame, &def.decorators)?;
                let mut f = self.make_function(frame, def)?;
                for decorator in decorators.into_iter().rev() {
                    f = self.call(&decorator, Args::new(vec![f]))?;
                }
                self.store_name(frame, &def.name, f);
            }
            StmtKind::ClassDef(def) => {
                let decorators = self.eval_items(frame, &def.decorators)?;
                if !def.keywords.is_empty() {
                    return Err(PyError::unsupported("class keywords (metaclass=...)"));
                }
                let bases = self.eval_items(frame, &def.bases)?;
                let mut class =
                    self.define_class(frame, &def.name, bases, &def.body, stmt.span.start)?;
                for decorator in decorators.into_iter().rev() {
                    class = self.call(&decorator, Args::new(vec![class]))?;
                }
                self.store_name(frame, &def.name, class);
            }
            StmtKind::With { items, body, .. } => return self.exec_with(frame, items, body),
            StmtKind::If { test, body, orelse } => {
                let t = self.eval(frame, test)?;
                let branch = if self.truthy(&t)? { body } else { orelse };
                return self.exec_block(frame, branch);
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                ..
            } => {
                let iterable = self.eval(frame, iter)?;
                for item in self.iterate(&iterable)? {
                    self.assign(frame, target, item)?;
                    match self.exec_block(frame, body)? {
                        Flow::Break => return Ok(Flow::Normal),
                        Flow::Continue | Flow::Normal => {}
                        ret @ Flow::Return(_) => return Ok(ret),
                    }
                }
                return self.exec_block(frame, orelse);
            }
            StmtKind::While { test, body, orelse } => {
                let mut guard = 0u64;
                loop {
                    let t = self.eval(frame, test)?;
                    if !self.truthy(&t)? {
                        break;
                    }
                    guard += 1;
                    if guard > 10_000_000 {
                        return Err(PyError::new(
                            "RuntimeError",
                            "while loop ran 10 million times",
                        ));
                    }
                    match self.exec_block(frame, body)? {
                        Flow::Break => return Ok(Flow::Normal),
                        Flow::Continue | Flow::Normal => {}
                        ret @ Flow::Return(_) => return Ok(ret),
                    }
                }
                return self.exec_block(frame, orelse);
            }
            StmtKind::Try(t) => return self.exec_try(frame, t),
            StmtKind::Break => return Ok(Flow::Break),
            StmtKind::Continue => return Ok(Flow::Continue),
            StmtKind::Raise { exc, .. } => {
                let Some(exc) = exc else {
                    return Err(frame
                        .handling
                        .last()
                        .cloned()
                        .map(|mut e| {
                            e.located = false;
                            e
                        })
                        .unwrap_or_else(|| {
                            PyError::new("RuntimeError", "No active exception to reraise")
                        }));
                };
                let value = self.eval(frame, exc)?;
                return Err(self.raise_value(value)?);
            }
            StmtKind::Global(names) => {
                frame.global_names.extend(names.iter().cloned());
            }
            StmtKind::Nonlocal(_) => {
                return Err(PyError::unsupported("a nonlocal statement"));
            }
            StmtKind::Del(targets) => {
                for target in targets {
                    match &target.kind {
                        ExprKind::Tuple(items) | ExprKind::List(items) => {
                            for t in items {
                                self.delete(frame, t)?;
                            }
                        }
                        _ => self.delete(frame, target)?,
                    }
                }
            }
            StmtKind::Assert { test, msg } => {
                let t = self.eval(frame, test)?;
                if !self.truthy(&t)? {
                    let message = match msg {
                        Some(m) => {
                            let v = self.eval(frame, m)?;
                            self.to_str(&v)?
                        }
                        None => String::new(),
                    };
                    return Err(PyError::new("AssertionError", message));
                }
            }
        }
        Ok(Flow::Normal)
    }

    /// The error that `raise value` raises.
    pub fn raise_value(&mut self, value: Value) -> PyResult<PyError> {
        let instance = match &value {
            Value::Class(_) => self.call(&value, Args::default())?,
            _ => value,
        };
        let Value::Instance(i) = &instance else {
            return Ok(PyError::new(
                "TypeError",
                "exceptions must derive from BaseException",
            ));
        };
        let message = match i.attrs.borrow().get("args") {
            Some(Value::Tuple(args)) if args.len() == 1 => args[0].to_str(),
            Some(Value::Tuple(args)) if args.is_empty() => String::new(),
            Some(args) => args.repr(),
            None => String::new(),
        };
        let mut error = PyError::new(&i.class.name, message);
        if let ErrorKind::Exception { value, .. } = &mut error.kind {
            *value = Some(instance.clone());
        }
        Ok(error)
    }

    fn define_class(
        &mut self,
        frame: &mut Frame,
        name: &str,
        bases: Vec<Value>,
        body: &[Stmt],
        at: usize,
    ) -> PyResult<Value> {
        let mut base_classes = Vec::new();
        for base in &bases {
            match base {
                Value::Class(c) => base_classes.push(c.clone()),
                Value::Native(n) => {
                    // A native type used as a base (DeclarativeBase, TypeDecorator).
                    return Err(PyError::new(
                        "TypeError",
                        format!("aurora cannot subclass the native type {}", n.type_name()),
                    ));
                }
                other => {
                    return Err(PyError::new(
                        "TypeError",
                        format!("cannot subclass a {}", other.type_name()),
                    ))
                }
            }
        }
        if base_classes.is_empty() {
            if let Some(Value::Class(object)) = self.builtins.borrow().get("object") {
                base_classes.push(object.clone());
            }
        }
        let locals = new_scope();
        let mut class_frame = Frame {
            locals: locals.clone(),
            closure: frame.closure.clone(),
            globals: frame.globals.clone(),
            source: frame.source.clone(),
            module: frame.module.clone(),
            is_function: false,
            global_names: Vec::new(),
            handling: Vec::new(),
        };
        class_frame
            .locals
            .borrow_mut()
            .insert("__module__".into(), Value::str(&frame.module));
        let order = self.exec_class_body(&mut class_frame, body)?;
        let class = Rc::new(Class::new(name, &frame.module, base_classes));
        let values = locals.borrow();
        for key in order {
            if let Some(v) = values.get(&key) {
                class.set(&key, v.clone());
            }
        }
        let class_value = Value::Class(class.clone());
        // The names an annotation's text uses, as the class body sees them (model readers
        // resolve `Mapped[Status]` to the project's `Status` class through them).
        let annotation_text: Option<Vec<String>> = match class.attrs.borrow().get("__annotations__")
        {
            Some(Value::Dict(d)) => {
                Some(d.borrow().items.iter().map(|(_, v)| v.to_str()).collect())
            }
            _ => None,
        };
        if let Some(texts) = annotation_text {
            let mut names = Dict::default();
            for text in texts {
                for word in text.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
                    if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) {
                        continue;
                    }
                    let found = class_frame
                        .locals
                        .borrow()
                        .get(word)
                        .cloned()
                        .or_else(|| frame.globals.borrow().get(word).cloned());
                    if let Some(v) = found {
                        names.insert(Value::str(word), v);
                    }
                }
            }
            class.set("__annotation_names__", Value::dict(names));
        }
        // `__init_subclass__` hooks of bases (declarative registries use it).
        let hook = class
            .bases
            .iter()
            .find_map(|b| b.lookup("__init_subclass_native__"));
        if let Some(hook) = hook {
            // The hook's call site is the class statement.
            self.site = Some((frame.source.clone(), at));
            self.call(&hook, Args::new(vec![class_value.clone()]))?;
        }
        Ok(class_value)
    }

    /// `name: annotation` at module or class level: the annotation's source
    /// text goes into `__annotations__`, as `from __future__ import
    /// annotations` (PEP 563) keeps it. Annotations are never evaluated, so
    /// one naming a type only a checker knows cannot stop a run; model
    /// readers (`Mapped[...]`) parse the text.
    fn record_annotation(&mut self, frame: &mut Frame, name: &str, annotation: &Expr) {
        let text = frame
            .source
            .text
            .get(annotation.span.start..annotation.span.end)
            .unwrap_or_default()
            .to_string();
        let existing = frame.locals.borrow().get("__annotations__").cloned();
        let dict = match existing {
            Some(Value::Dict(d)) => d,
            _ => {
                let d = Rc::new(std::cell::RefCell::new(Dict::default()));
                frame
                    .locals
                    .borrow_mut()
                    .insert("__annotations__".into(), Value::Dict(d.clone()));
                d
            }
        };
        dict.borrow_mut().insert(Value::str(name), Value::str(text));
    }

    /// `file:line:col` of the call being made: a native reads it when it is
    /// called to remember where (the site of the innermost call evaluated).
    pub fn call_site(&self) -> Option<String> {
        self.site
            .as_ref()
            .map(|(source, offset)| source.location(*offset))
    }

    /// Runs a class body and returns the names it bound, in order.
    fn exec_class_body(&mut self, frame: &mut Frame, body: &[Stmt]) -> PyResult<Vec<String>> {
        let mut order = Vec::new();
        for stmt in body {
            let before: Vec<String> = frame.locals.borrow().keys().cloned().collect();
            match self.exec_block(frame, std::slice::from_ref(stmt))? {
                Flow::Normal => {}
                _ => return Err(PyError::unsupported("return/break in a class body")),
            }
            for key in names_bound(stmt) {
                if !order.contains(&key) {
                    order.push(key);
                }
            }
            for key in frame.locals.borrow().keys() {
                if !before.contains(key) && !order.contains(key) {
                    order.push(key.clone());
                }
            }
        }
        Ok(order)
    }

    fn exec_with(
        &mut self,
        frame: &mut Frame,
        items: &[crate::syntax::body::WithItem],
        body: &[Stmt],
    ) -> PyResult<Flow> {
        let Some((first, rest)) = items.split_first() else {
            return self.exec_block(frame, body);
        };
        let manager = self.eval(frame, &first.context)?;
        let entered = self.enter(&manager)?;
        if let Some(target) = &first.target {
            self.assign(frame, target, entered)?;
        }
        let result = self.exec_with(frame, rest, body);
        self.exit(&manager, result.is_err())?;
        result
    }

    pub fn enter(&mut self, manager: &Value) -> PyResult<Value> {
        match manager {
            Value::Native(n) => n.clone().enter(self)?.ok_or_else(|| {
                PyError::new(
                    "TypeError",
                    format!(
                        "'{}' object does not support the context manager protocol",
                        n.type_name()
                    ),
                )
            }),
            Value::Instance(_) => {
                let enter = self.get_attr(manager, "__enter__")?;
                self.call(&enter, Args::default())
            }
            other => Err(PyError::new(
                "TypeError",
                format!(
                    "'{}' object does not support the context manager protocol",
                    other.type_name()
                ),
            )),
        }
    }

    pub fn exit(&mut self, manager: &Value, failed: bool) -> PyResult<()> {
        match manager {
            Value::Native(n) => n.clone().exit(self, failed),
            Value::Instance(_) => {
                let exit = self.get_attr(manager, "__exit__")?;
                self.call(
                    &exit,
                    Args::new(vec![Value::None, Value::None, Value::None]),
                )?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn make_function(
        &mut self,
        frame: &mut Frame,
        def: &crate::syntax::body::FunctionDef,
    ) -> PyResult<Value> {
        let mut defaults = Vec::new();
        for param in &def.params {
            defaults.push(match &param.default {
                Some(e) => Some(self.eval(frame, e)?),
                None => None,
            });
        }
        let mut closure = frame.closure.clone();
        if frame.is_function {
            closure.push(frame.locals.clone());
        }
        Ok(Value::Function(Rc::new(Function {
            name: def.name.clone(),
            params: def.params.clone(),
            defaults,
            body: Rc::new(def.body.clone()),
            globals: frame.globals.clone(),
            closure,
            source: frame.source.clone(),
            module: frame.module.clone(),
        })))
    }

    fn store_name(&mut self, frame: &mut Frame, name: &str, value: Value) {
        if frame.global_names.iter().any(|n| n == name) {
            frame.globals.borrow_mut().insert(name.to_string(), value);
        } else {
            frame.locals.borrow_mut().insert(name.to_string(), value);
        }
    }

    fn assign(&mut self, frame: &mut Frame, target: &Expr, value: Value) -> PyResult<()> {
        match &target.kind {
            ExprKind::Name(name) => self.store_name(frame, name, value),
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                let mut values = self.iterate(&value)?;
                if let Some(star) = items
                    .iter()
                    .position(|t| matches!(t.kind, ExprKind::Starred(_)))
                {
                    let after = items.len() - star - 1;
                    if values.len() < items.len() - 1 {
                        return Err(PyError::new(
                            "ValueError",
                            format!(
                                "not enough values to unpack (expected at least {}, got {})",
                                items.len() - 1,
                                values.len()
                            ),
                        ));
                    }
                    let tail = values.split_off(values.len() - after);
                    let middle = values.split_off(star);
                    for (t, v) in items[..star].iter().zip(values) {
                        self.assign(frame, t, v)?;
                    }
                    if let ExprKind::Starred(inner) = &items[star].kind {
                        self.assign(frame, inner, Value::list(middle))?;
                    }
                    for (t, v) in items[star + 1..].iter().zip(tail) {
                        self.assign(frame, t, v)?;
                    }
                    return Ok(());
                }
                if values.len() != items.len() {
                    return Err(PyError::new(
                        "ValueError",
                        format!(
                            "cannot unpack {} values into {} names",
                            values.len(),
                            items.len()
                        ),
                    ));
                }
                for (t, v) in items.iter().zip(values) {
                    self.assign(frame, t, v)?;
                }
            }
            ExprKind::Attribute(obj, name) => {
                let o = self.eval(frame, obj)?;
                self.set_attr(&o, name, value)?;
            }
            ExprKind::Subscript(obj, index) => {
                let o = self.eval(frame, obj)?;
                if let [Expr {
                    kind: ExprKind::Slice { lower, upper, step },
                    ..
                }] = index.as_slice()
                {
                    let (start, stop) = self.slice_bounds(frame, lower, upper, step)?;
                    let Value::List(list) = &o else {
                        return Err(PyError::new("TypeError", "slice assignment needs a list"));
                    };
                    let items = self.iterate(&value)?;
                    let len = list.borrow().len() as i64;
                    let s = clamp_index(start.unwrap_or(0), len);
                    let e = clamp_index(stop.unwrap_or(len), len).max(s);
                    list.borrow_mut().splice(s..e, items);
                    return Ok(());
                }
                let key = self.eval_index(frame, index)?;
                self.set_item(&o, key, value)?;
            }
            _ => return Err(PyError::unsupported("this assignment target")),
        }
        Ok(())
    }

    fn delete(&mut self, frame: &mut Frame, target: &Expr) -> PyResult<()> {
        match &target.kind {
            ExprKind::Name(name) => {
                frame.locals.borrow_mut().remove(name);
            }
            ExprKind::Subscript(obj, index) => {
                let o = self.eval(frame, obj)?;
                let key = self.eval_index(frame, index)?;
                match &o {
                    Value::Dict(d) => {
                        if d.borrow_mut().remove(&key).is_none() {
                            return Err(PyError::new("KeyError", key.repr()));
                        }
                    }
                    Value::List(l) => {
                        let len = l.borrow().len() as i64;
                        let i = key.as_int().unwrap_or(0);
                        let i = if i < 0 { i + len } else { i };
                        if i < 0 || i >= len {
                            return Err(PyError::new(
                                "IndexError",
                                "list assignment index out of range",
                            ));
                        }
                        l.borrow_mut().remove(i as usize);
                    }
                    _ => return Err(PyError::unsupported("del on this object")),
                }
            }
            ExprKind::Attribute(obj, name) => {
                let o = self.eval(frame, obj)?;
                if let Value::Instance(i) = &o {
                    i.attrs.borrow_mut().remove(name);
                }
            }
            _ => return Err(PyError::unsupported("this del target")),
        }
        Ok(())
    }

    fn slice_bounds(
        &mut self,
        frame: &mut Frame,
        lower: &Option<Box<Expr>>,
        upper: &Option<Box<Expr>>,
        step: &Option<Box<Expr>>,
    ) -> PyResult<(Option<i64>, Option<i64>)> {
        if step.is_some() {
            return Err(PyError::unsupported("a slice with a step"));
        }
        let mut bound = |e: &Option<Box<Expr>>| -> PyResult<Option<i64>> {
            let Some(e) = e else {
                return Ok(None);
            };
            let v = self.eval(frame, e)?;
            if matches!(v, Value::None) {
                return Ok(None);
            }
            v.as_int()
                .map(Some)
                .ok_or_else(|| PyError::new("TypeError", "slice indices must be integers"))
        };
        let start = bound(lower)?;
        let stop = bound(upper)?;
        Ok((start, stop))
    }

    fn eval_index(&mut self, frame: &mut Frame, index: &[Expr]) -> PyResult<Value> {
        if index.len() == 1 {
            self.eval(frame, &index[0])
        } else {
            let mut items = Vec::new();
            for e in index {
                items.push(self.eval(frame, e)?);
            }
            Ok(Value::tuple(items))
        }
    }

    // ----- expressions -----

    fn lookup(&self, frame: &Frame, name: &str) -> Option<Value> {
        if let Some(v) = frame.locals.borrow().get(name) {
            return Some(v.clone());
        }
        for scope in frame.closure.iter().rev() {
            if let Some(v) = scope.borrow().get(name) {
                return Some(v.clone());
            }
        }
        if let Some(v) = frame.globals.borrow().get(name) {
            return Some(v.clone());
        }
        self.builtins.borrow().get(name).cloned()
    }

    fn eval(&mut self, frame: &mut Frame, expr: &Expr) -> PyResult<Value> {
        Ok(match &expr.kind {
            ExprKind::Name(name) => self.lookup(frame, name).ok_or_else(|| {
                PyError::new("NameError", format!("name '{name}' is not defined"))
                    .at(frame.source.location(expr.span.start))
            })?,
            ExprKind::Str(s) => Value::str(s),
            ExprKind::Bytes(b) => Value::Bytes(Rc::from(b.as_slice())),
            ExprKind::FString(parts) => Value::str(self.fstring(frame, parts)?),
            ExprKind::BigInt(digits) => {
                return Err(PyError::unsupported(format!(
                    "the integer {digits} (beyond 64 bits)"
                )))
            }
            ExprKind::Imaginary(_) => return Err(PyError::unsupported("a complex number")),
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::None => Value::None,
            ExprKind::Ellipsis => Value::None,
            ExprKind::List(items) => Value::list(self.eval_items(frame, items)?),
            ExprKind::Tuple(items) => Value::tuple(self.eval_items(frame, items)?),
            ExprKind::Set(items) => {
                let values = self.eval_items(frame, items)?;
                let mut out: Vec<Value> = Vec::new();
                for v in values {
                    if !out.iter().any(|x| x.py_eq(&v)) {
                        out.push(v);
                    }
                }
                Value::Set(Rc::new(std::cell::RefCell::new(out)))
            }
            ExprKind::Dict(pairs) => {
                let mut dict = Dict::default();
                for (k, v) in pairs {
                    match k {
                        Some(k) => {
                            let key = self.eval(frame, k)?;
                            let value = self.eval(frame, v)?;
                            dict.insert(key, value);
                        }
                        None => {
                            let splat = self.eval(frame, v)?;
                            for (key, value) in self.mapping_items(&splat)? {
                                dict.insert(key, value);
                            }
                        }
                    }
                }
                Value::dict(dict)
            }
            ExprKind::Attribute(obj, name) => {
                let o = self.eval(frame, obj)?;
                self.get_attr(&o, name)
                    .map_err(|e| e.at(frame.source.location(expr.span.start)))?
            }
            ExprKind::Call { func, args } => {
                let f = self.eval(frame, func)?;
                let args = self.eval_args(frame, args)?;
                self.site = Some((frame.source.clone(), expr.span.start));
                self.call(&f, args)?
            }
            ExprKind::Subscript(obj, index) => {
                let o = self.eval(frame, obj)?;
                if let [Expr {
                    kind: ExprKind::Slice { lower, upper, step },
                    ..
                }] = index.as_slice()
                {
                    let (start, stop) = self.slice_bounds(frame, lower, upper, step)?;
                    return self.slice(&o, start, stop);
                }
                let key = self.eval_index(frame, index)?;
                self.get_item(&o, key)?
            }
            ExprKind::Slice { .. } => return Err(PyError::unsupported("a slice here")),
            ExprKind::Unary(op, operand) => {
                let v = self.eval(frame, operand)?;
                match op {
                    UnaryOp::Not => Value::Bool(!self.truthy(&v)?),
                    UnaryOp::Neg => match v {
                        Value::Int(i) => Value::Int(-i),
                        Value::Float(f) => Value::Float(-f),
                        Value::Bool(b) => Value::Int(-(b as i64)),
                        other => {
                            return Err(PyError::new(
                                "TypeError",
                                format!("bad operand type for unary -: '{}'", other.type_name()),
                            ))
                        }
                    },
                    UnaryOp::Pos => v,
                    UnaryOp::Invert => match v.as_int() {
                        Some(i) => Value::Int(!i),
                        None => {
                            return Err(PyError::new("TypeError", "bad operand type for unary ~"))
                        }
                    },
                }
            }
            ExprKind::Binary(BinOp::And, a, b) => {
                let left = self.eval(frame, a)?;
                if !self.truthy(&left)? {
                    left
                } else {
                    self.eval(frame, b)?
                }
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                let left = self.eval(frame, a)?;
                if self.truthy(&left)? {
                    left
                } else {
                    self.eval(frame, b)?
                }
            }
            ExprKind::Binary(op, a, b) => {
                let left = self.eval(frame, a)?;
                let right = self.eval(frame, b)?;
                self.binary(*op, left, right)?
            }
            ExprKind::IfElse { test, body, orelse } => {
                let t = self.eval(frame, test)?;
                if self.truthy(&t)? {
                    self.eval(frame, body)?
                } else {
                    self.eval(frame, orelse)?
                }
            }
            ExprKind::Lambda(lambda) => {
                let def = crate::syntax::ast::FunctionDef {
                    name: "<lambda>".into(),
                    params: lambda.params.clone(),
                    body: vec![Stmt {
                        kind: StmtKind::Return(Some(lambda.body.clone())),
                        span: lambda.body.span,
                    }],
                    decorators: Vec::new(),
                    returns: None,
                    is_async: false,
                };
                self.make_function(frame, &def)?
            }
            ExprKind::ListComp { elt, generators } | ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(frame, Comp::List, elt, None, generators)?
            }
            ExprKind::SetComp { elt, generators } => {
                self.comprehension(frame, Comp::Set, elt, None, generators)?
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => self.comprehension(frame, Comp::Dict, key, Some(value), generators)?,
            ExprKind::NamedExpr { target, value } => {
                let v = self.eval(frame, value)?;
                self.store_name(frame, target, v.clone());
                v
            }
            ExprKind::Starred(_) => {
                return Err(
                    PyError::new("SyntaxError", "can't use starred expression here")
                        .at(frame.source.location(expr.span.start)),
                )
            }
            ExprKind::Yield(_) | ExprKind::YieldFrom(_) => {
                return Err(PyError::unsupported("a generator (yield)")
                    .at(frame.source.location(expr.span.start)))
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } => {
                let mut current = self.eval(frame, left)?;
                let mut result = Value::Bool(true);
                for (op, right) in ops.iter().zip(comparators) {
                    let r = self.eval(frame, right)?;
                    result = self.binary(*op, current, r.clone())?;
                    if !self.truthy(&result)? {
                        break;
                    }
                    current = r;
                }
                result
            }
            ExprKind::Await(inner) => self.eval(frame, inner)?,
        })
    }

    fn comprehension(
        &mut self,
        frame: &mut Frame,
        kind: Comp,
        element: &Expr,
        value: Option<&Expr>,
        generators: &[crate::syntax::ast::Comprehension],
    ) -> PyResult<Value> {
        // The comprehension's variables live in a scope of their own.
        let scope = new_scope();
        let mut inner = Frame {
            locals: scope.clone(),
            closure: {
                let mut c = frame.closure.clone();
                if frame.is_function || !Rc::ptr_eq(&frame.locals, &frame.globals) {
                    c.push(frame.locals.clone());
                }
                c
            },
            globals: frame.globals.clone(),
            source: frame.source.clone(),
            module: frame.module.clone(),
            is_function: true,
            global_names: Vec::new(),
            handling: Vec::new(),
        };
        let mut out: Vec<(Value, Option<Value>)> = Vec::new();
        self.comprehension_level(&mut inner, element, value, generators, &mut out)?;
        Ok(match kind {
            Comp::Dict => {
                let mut d = Dict::default();
                for (k, v) in out {
                    d.insert(k, v.unwrap_or(Value::None));
                }
                Value::dict(d)
            }
            Comp::Set => {
                let mut items: Vec<Value> = Vec::new();
                for (v, _) in out {
                    if !items.iter().any(|x| x.py_eq(&v)) {
                        items.push(v);
                    }
                }
                Value::Set(Rc::new(std::cell::RefCell::new(items)))
            }
            Comp::List => Value::list(out.into_iter().map(|(v, _)| v).collect()),
        })
    }

    fn comprehension_level(
        &mut self,
        frame: &mut Frame,
        element: &Expr,
        value: Option<&Expr>,
        generators: &[crate::syntax::ast::Comprehension],
        out: &mut Vec<(Value, Option<Value>)>,
    ) -> PyResult<()> {
        let Some((first, rest)) = generators.split_first() else {
            let v = self.eval(frame, element)?;
            let value = match value {
                Some(e) => Some(self.eval(frame, e)?),
                None => None,
            };
            out.push((v, value));
            return Ok(());
        };
        let iterable = self.eval(frame, &first.iter)?;
        'items: for item in self.iterate(&iterable)? {
            self.assign(frame, &first.target, item)?;
            for test in &first.ifs {
                let t = self.eval(frame, test)?;
                if !self.truthy(&t)? {
                    continue 'items;
                }
            }
            self.comprehension_level(frame, element, value, rest, out)?;
        }
        Ok(())
    }

    fn fstring(
        &mut self,
        frame: &mut Frame,
        parts: &[crate::syntax::ast::FStringPart],
    ) -> PyResult<String> {
        use crate::syntax::ast::FStringPart;
        let mut out = String::new();
        for part in parts {
            let field = match part {
                FStringPart::Literal(text) => {
                    out.push_str(text);
                    continue;
                }
                FStringPart::Field(field) => field,
            };
            let value = self
                .eval(frame, &field.expr)
                .map_err(|e| e.at(frame.source.location(field.span.start)))?;
            if let Some(text) = &field.debug_text {
                out.push_str(text);
            }
            let spec = match &field.spec {
                Some(spec) => self.fstring(frame, spec)?,
                None => String::new(),
            };
            // `{x=}` shows the repr unless a conversion or spec says otherwise.
            let conversion = match field.conversion {
                None if field.debug_text.is_some() && field.spec.is_none() => Some('r'),
                c => c,
            };
            let converted = match conversion {
                Some('r') => Value::str(self.repr(&value)?),
                Some('s') => Value::str(self.to_str(&value)?),
                Some(c) => {
                    return Err(
                        PyError::unsupported(format!("the f-string conversion !{c}"))
                            .at(frame.source.location(field.span.start)),
                    )
                }
                None => value,
            };
            out.push_str(&self.format_value(&converted, &spec)?);
        }
        Ok(out)
    }

    fn eval_items(&mut self, frame: &mut Frame, items: &[Expr]) -> PyResult<Vec<Value>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let ExprKind::Starred(inner) = &item.kind {
                let v = self.eval(frame, inner)?;
                out.extend(self.iterate(&v)?);
                continue;
            }
            out.push(self.eval(frame, item)?);
        }
        Ok(out)
    }

    fn eval_args(&mut self, frame: &mut Frame, args: &[Arg]) -> PyResult<Args> {
        let mut out = Args::default();
        for arg in args {
            match arg {
                Arg::Positional(e) => out.positional.push(self.eval(frame, e)?),
                Arg::Keyword { name, value, .. } => {
                    let v = self.eval(frame, value)?;
                    out.keywords.push((name.clone(), v));
                }
                Arg::Star(e) => {
                    let v = self.eval(frame, e)?;
                    out.positional.extend(self.iterate(&v)?);
                }
                Arg::DoubleStar(e) => {
                    let v = self.eval(frame, e)?;
                    for (k, v) in self.mapping_items(&v)? {
                        let Value::Str(k) = k else {
                            return Err(PyError::new("TypeError", "keywords must be strings"));
                        };
                        out.keywords.push((k.to_string(), v));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The `(key, value)` pairs of a mapping (`**kwargs`, `dict.update`).
    pub fn mapping_items(&mut self, value: &Value) -> PyResult<Vec<(Value, Value)>> {
        match value {
            Value::Dict(d) => Ok(d.borrow().items.clone()),
            Value::Native(_) => {
                let items = self.get_attr(value, "items")?;
                let pairs = self.call(&items, Args::default())?;
                let mut out = Vec::new();
                for pair in self.iterate(&pairs)? {
                    let kv = self.iterate(&pair)?;
                    out.push((kv[0].clone(), kv[1].clone()));
                }
                Ok(out)
            }
            other => Err(PyError::new(
                "TypeError",
                format!("'{}' object is not a mapping", other.type_name()),
            )),
        }
    }

    // ----- calls -----

    pub fn call(&mut self, func: &Value, args: Args) -> PyResult<Value> {
        self.depth += 1;
        if self.depth > 200 {
            self.depth -= 1;
            return Err(PyError::new(
                "RecursionError",
                "maximum recursion depth exceeded",
            ));
        }
        let result = self.call_inner(func, args);
        self.depth -= 1;
        result.map_err(|mut e| {
            e.located = false;
            e
        })
    }

    fn call_inner(&mut self, func: &Value, args: Args) -> PyResult<Value> {
        match func {
            Value::Builtin(b) => (b.func)(self, args),
            Value::Function(f) => self.call_function(f, args),
            Value::Method(m) => {
                let (receiver, function) = (&m.0, &m.1);
                let mut args = args;
                args.positional.insert(0, receiver.clone());
                self.call(function, args)
            }
            Value::Class(class) => self.instantiate(class, args),
            Value::Native(n) => n.clone().call(self, args),
            Value::Instance(_) => {
                let f = self.get_attr(func, "__call__")?;
                self.call(&f, args)
            }
            other => Err(PyError::new(
                "TypeError",
                format!("'{}' object is not callable", other.type_name()),
            )),
        }
    }

    fn instantiate(&mut self, class: &Rc<Class>, args: Args) -> PyResult<Value> {
        if let Some(new) = class.lookup("__new_native__") {
            let mut a = args;
            a.positional.insert(0, Value::Class(class.clone()));
            return self.call(&new, a);
        }
        let instance = Value::Instance(Rc::new(Instance {
            class: class.clone(),
            attrs: Default::default(),
        }));
        match class.lookup("__init__") {
            Some(init @ (Value::Function(_) | Value::Builtin(_))) => {
                let mut a = args;
                a.positional.insert(0, instance.clone());
                self.call(&init, a)?;
            }
            _ => {
                let is_exception = self
                    .exceptions
                    .get("BaseException")
                    .is_some_and(|b| class.is_subclass_of(b));
                if is_exception {
                    if let Value::Instance(i) = &instance {
                        i.attrs
                            .borrow_mut()
                            .insert("args".into(), Value::tuple(args.positional));
                    }
                } else if !args.positional.is_empty() || !args.keywords.is_empty() {
                    return Err(PyError::new(
                        "TypeError",
                        format!("{}() takes no arguments", class.name),
                    ));
                }
            }
        }
        Ok(instance)
    }

    pub fn call_function(&mut self, f: &Rc<Function>, args: Args) -> PyResult<Value> {
        let locals = new_scope();
        bind_params(f, args, &locals)?;
        let mut frame = Frame {
            locals,
            closure: f.closure.clone(),
            globals: f.globals.clone(),
            source: f.source.clone(),
            module: f.module.clone(),
            is_function: true,
            global_names: Vec::new(),
            handling: Vec::new(),
        };
        let body = f.body.clone();
        match self.exec_block(&mut frame, &body)? {
            Flow::Return(v) => Ok(v),
            _ => Ok(Value::None),
        }
    }

    // ----- attributes and items -----

    pub fn get_attr(&mut self, obj: &Value, name: &str) -> PyResult<Value> {
        match self.get_attr_opt(obj, name)? {
            Some(v) => Ok(v),
            None => Err(PyError::new(
                "AttributeError",
                match obj {
                    Value::Module(m) => format!("module '{}' has no attribute '{name}'", m.name),
                    Value::Class(c) => {
                        format!("type object '{}' has no attribute '{name}'", c.name)
                    }
                    _ => format!("'{}' object has no attribute '{name}'", obj.type_name()),
                },
            )),
        }
    }

    pub fn get_attr_opt(&mut self, obj: &Value, name: &str) -> PyResult<Option<Value>> {
        match obj {
            Value::Module(m) => Ok(m.globals.borrow().get(name).cloned()),
            Value::Instance(i) => {
                if let Some(v) = i.attrs.borrow().get(name) {
                    return Ok(Some(v.clone()));
                }
                match i.class.lookup(name) {
                    Some(v) => self.bind(v, obj, &Value::Class(i.class.clone())).map(Some),
                    None if name == "__class__" => Ok(Some(Value::Class(i.class.clone()))),
                    None if name == "__dict__" => {
                        let mut d = Dict::default();
                        for (k, v) in i.attrs.borrow().iter() {
                            d.insert(Value::str(k), v.clone());
                        }
                        Ok(Some(Value::dict(d)))
                    }
                    None => Ok(None),
                }
            }
            Value::Class(c) => match name {
                "__name__" => Ok(Some(Value::str(&c.name))),
                "__module__" => Ok(Some(Value::str(&c.module))),
                "__qualname__" => Ok(Some(Value::str(&c.name))),
                _ => match c.lookup(name) {
                    Some(Value::Descriptor(d)) if d.0 == Descriptor::ClassMethod => {
                        Ok(Some(Value::Method(Rc::new((obj.clone(), d.1.clone())))))
                    }
                    Some(Value::Descriptor(d)) if d.0 == Descriptor::StaticMethod => {
                        Ok(Some(d.1.clone()))
                    }
                    other => Ok(other),
                },
            },
            Value::Native(n) => n.clone().get_attr(self, name),
            Value::Function(f) => Ok(match name {
                "__name__" | "__qualname__" => Some(Value::str(&f.name)),
                "__module__" => Some(Value::str(&f.module)),
                _ => None,
            }),
            _ => builtins::method(self, obj, name),
        }
    }

    /// Binds a class attribute found through an instance.
    fn bind(&mut self, value: Value, instance: &Value, class: &Value) -> PyResult<Value> {
        Ok(match value {
            Value::Function(_) => Value::Method(Rc::new((instance.clone(), value))),
            Value::Descriptor(d) => match d.0 {
                Descriptor::Property => self.call(&d.1, Args::new(vec![instance.clone()]))?,
                Descriptor::StaticMethod => d.1.clone(),
                Descriptor::ClassMethod => Value::Method(Rc::new((class.clone(), d.1.clone()))),
            },
            other => other,
        })
    }

    pub fn set_attr(&mut self, obj: &Value, name: &str, value: Value) -> PyResult<()> {
        match obj {
            Value::Instance(i) => {
                i.attrs.borrow_mut().insert(name.to_string(), value);
                Ok(())
            }
            Value::Module(m) => {
                m.globals.borrow_mut().insert(name.to_string(), value);
                Ok(())
            }
            Value::Class(c) => {
                c.set(name, value);
                Ok(())
            }
            Value::Native(n) => {
                if n.set_attr(self, name, value)? {
                    Ok(())
                } else {
                    Err(PyError::new(
                        "AttributeError",
                        format!("'{}' object attribute '{name}' is read-only", n.type_name()),
                    ))
                }
            }
            other => Err(PyError::new(
                "AttributeError",
                format!("'{}' object has no attribute '{name}'", other.type_name()),
            )),
        }
    }

    pub fn get_item(&mut self, obj: &Value, key: Value) -> PyResult<Value> {
        match obj {
            Value::Dict(d) => d
                .borrow()
                .get(&key)
                .ok_or_else(|| PyError::new("KeyError", key.repr())),
            Value::List(l) => index_seq(&l.borrow(), &key),
            Value::Tuple(t) => index_seq(t, &key),
            Value::Str(s) => {
                let chars: Vec<Value> = s.chars().map(|c| Value::str(c.to_string())).collect();
                index_seq(&chars, &key)
            }
            Value::Native(n) => n.clone().get_item(self, key.clone())?.ok_or_else(|| {
                PyError::new(
                    "TypeError",
                    format!("'{}' object is not subscriptable", n.type_name()),
                )
            }),
            Value::Instance(_) => {
                let f = self.get_attr(obj, "__getitem__")?;
                self.call(&f, Args::new(vec![key]))
            }
            Value::Class(_) => Ok(obj.clone()),
            other => Err(PyError::new(
                "TypeError",
                format!("'{}' object is not subscriptable", other.type_name()),
            )),
        }
    }

    pub fn set_item(&mut self, obj: &Value, key: Value, value: Value) -> PyResult<()> {
        match obj {
            Value::Dict(d) => {
                d.borrow_mut().insert(key, value);
                Ok(())
            }
            Value::List(l) => {
                let len = l.borrow().len() as i64;
                let i = key
                    .as_int()
                    .ok_or_else(|| PyError::new("TypeError", "list indices must be integers"))?;
                let i = if i < 0 { i + len } else { i };
                if i < 0 || i >= len {
                    return Err(PyError::new(
                        "IndexError",
                        "list assignment index out of range",
                    ));
                }
                l.borrow_mut()[i as usize] = value;
                Ok(())
            }
            Value::Native(_) => {
                let f = self.get_attr(obj, "__setitem__")?;
                self.call(&f, Args::new(vec![key, value]))?;
                Ok(())
            }
            other => Err(PyError::new(
                "TypeError",
                format!(
                    "'{}' object does not support item assignment",
                    other.type_name()
                ),
            )),
        }
    }

    fn slice(&mut self, obj: &Value, start: Option<i64>, stop: Option<i64>) -> PyResult<Value> {
        let range = |len: usize| {
            let len = len as i64;
            let s = clamp_index(start.unwrap_or(0), len);
            let e = clamp_index(stop.unwrap_or(len), len).max(s);
            s..e
        };
        Ok(match obj {
            Value::List(l) => {
                let l = l.borrow();
                Value::list(l[range(l.len())].to_vec())
            }
            Value::Tuple(t) => Value::tuple(t[range(t.len())].to_vec()),
            Value::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                Value::str(chars[range(chars.len())].iter().collect::<String>())
            }
            Value::Native(_) => {
                let items = self.iterate(obj)?;
                Value::list(items[range(items.len())].to_vec())
            }
            other => {
                return Err(PyError::new(
                    "TypeError",
                    format!("'{}' object is not subscriptable", other.type_name()),
                ))
            }
        })
    }

    /// The items of an iterable.
    pub fn iterate(&mut self, value: &Value) -> PyResult<Vec<Value>> {
        Ok(match value {
            Value::List(l) | Value::Set(l) => l.borrow().clone(),
            Value::Tuple(t) => t.as_ref().clone(),
            Value::Dict(d) => d.borrow().items.iter().map(|(k, _)| k.clone()).collect(),
            Value::Str(s) => s.chars().map(|c| Value::str(c.to_string())).collect(),
            Value::Bytes(b) => b.iter().map(|&x| Value::Int(x as i64)).collect(),
            Value::Native(n) => n.clone().iterate(self)?.ok_or_else(|| {
                PyError::new(
                    "TypeError",
                    format!("'{}' object is not iterable", n.type_name()),
                )
            })?,
            Value::Class(c) => match c.lookup("__members_list__") {
                Some(members) => self.iterate(&members)?,
                None => return Err(PyError::new("TypeError", "'type' object is not iterable")),
            },
            other => {
                return Err(PyError::new(
                    "TypeError",
                    format!("'{}' object is not iterable", other.type_name()),
                ))
            }
        })
    }

    pub fn truthy(&mut self, value: &Value) -> PyResult<bool> {
        if let Value::Instance(_) = value {
            if let Some(f) = self.get_attr_opt(value, "__bool__")? {
                let v = self.call(&f, Args::default())?;
                return Ok(v.truthy());
            }
            if let Some(f) = self.get_attr_opt(value, "__len__")? {
                let v = self.call(&f, Args::default())?;
                return Ok(v.truthy());
            }
        }
        Ok(value.truthy())
    }

    /// Python `str(value)`.
    pub fn to_str(&mut self, value: &Value) -> PyResult<String> {
        if let Value::Instance(i) = value {
            if let Some(f) = i.class.lookup("__str__") {
                let v = self.call(&f, Args::new(vec![value.clone()]))?;
                return Ok(v.to_str());
            }
            if let Some(Value::Tuple(args)) = i.attrs.borrow().get("args") {
                return Ok(match args.len() {
                    0 => String::new(),
                    1 => args[0].to_str(),
                    _ => Value::Tuple(args.clone()).repr(),
                });
            }
            return self.repr(value);
        }
        Ok(value.to_str())
    }

    /// Python `repr(value)`.
    pub fn repr(&mut self, value: &Value) -> PyResult<String> {
        if let Value::Instance(i) = value {
            if let Some(f) = i.class.lookup("__repr__") {
                let v = self.call(&f, Args::new(vec![value.clone()]))?;
                return Ok(v.to_str());
            }
        }
        Ok(value.repr())
    }

    pub fn format_value(&mut self, value: &Value, spec: &str) -> PyResult<String> {
        if spec.is_empty() {
            return self.to_str(value);
        }
        format::format_spec(value, spec)
    }

    // ----- operators -----

    pub fn binary(&mut self, op: BinOp, left: Value, right: Value) -> PyResult<Value> {
        use Value::*;
        let type_error = |op: &str, l: &Value, r: &Value| {
            PyError::new(
                "TypeError",
                format!(
                    "unsupported operand type(s) for {op}: '{}' and '{}'",
                    l.type_name(),
                    r.type_name()
                ),
            )
        };
        Ok(match op {
            BinOp::Pow => power(left, right)?,
            BinOp::Eq => Bool(self.equal(&left, &right)?),
            BinOp::Ne => Bool(!self.equal(&left, &right)?),
            BinOp::Is => Bool(left.is(&right)),
            BinOp::IsNot => Bool(!left.is(&right)),
            BinOp::In => Bool(self.contains(&right, &left)?),
            BinOp::NotIn => Bool(!self.contains(&right, &left)?),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ord = compare(&left, &right).ok_or_else(|| {
                    let symbol = match op {
                        BinOp::Lt => "<",
                        BinOp::Le => "<=",
                        BinOp::Gt => ">",
                        _ => ">=",
                    };
                    PyError::new(
                        "TypeError",
                        format!(
                            "'{symbol}' not supported between instances of '{}' and '{}'",
                            left.type_name(),
                            right.type_name()
                        ),
                    )
                })?;
                Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            BinOp::Add => match (&left, &right) {
                (Str(a), Str(b)) => Value::str(format!("{a}{b}")),
                (List(a), List(b)) => {
                    let mut v = a.borrow().clone();
                    v.extend(b.borrow().iter().cloned());
                    Value::list(v)
                }
                (Tuple(a), Tuple(b)) => {
                    let mut v = a.as_ref().clone();
                    v.extend(b.iter().cloned());
                    Value::tuple(v)
                }
                // CPython's own words for a sequence added to something else.
                (Str(_), _) | (List(_), _) | (Tuple(_), _) => {
                    let kind = left.type_name();
                    return Err(PyError::new(
                        "TypeError",
                        if kind == "str" {
                            format!(
                                "can only concatenate str (not \"{}\") to str",
                                right.type_name()
                            )
                        } else {
                            format!(
                                "can only concatenate {kind} (not \"{}\") to {kind}",
                                right.type_name()
                            )
                        },
                    ));
                }
                _ => arith(&left, &right, |a, b| a.checked_add(b), |a, b| a + b)
                    .ok_or_else(|| type_error("+", &left, &right))?,
            },
            BinOp::Sub => arith(&left, &right, |a, b| a.checked_sub(b), |a, b| a - b)
                .ok_or_else(|| type_error("-", &left, &right))?,
            BinOp::Mul => match (&left, &right) {
                (Str(s), Int(n)) | (Int(n), Str(s)) => Value::str(s.repeat((*n).max(0) as usize)),
                (List(l), Int(n)) => {
                    let items = l.borrow();
                    let mut out = Vec::new();
                    for _ in 0..(*n).max(0) {
                        out.extend(items.iter().cloned());
                    }
                    Value::list(out)
                }
                _ => arith(&left, &right, |a, b| a.checked_mul(b), |a, b| a * b)
                    .ok_or_else(|| type_error("*", &left, &right))?,
            },
            BinOp::Div => match (left.as_float(), right.as_float()) {
                (Some(_), Some(0.0)) => {
                    return Err(PyError::new("ZeroDivisionError", "division by zero"))
                }
                (Some(a), Some(b)) => Float(a / b),
                _ => {
                    if let Native(_) = &left {
                        let f = self.get_attr(&left, "__truediv__")?;
                        return self.call(&f, Args::new(vec![right]));
                    }
                    return Err(type_error("/", &left, &right));
                }
            },
            BinOp::FloorDiv => match (&left, &right) {
                (_, Int(0)) => {
                    return Err(PyError::new(
                        "ZeroDivisionError",
                        "integer division or modulo by zero",
                    ))
                }
                (Int(a), Int(b)) => Int(a.div_euclid(*b)
                    - if (a % b != 0) && ((*a < 0) != (*b < 0)) && a.rem_euclid(*b) == 0 {
                        1
                    } else {
                        0
                    }),
                _ => match (left.as_float(), right.as_float()) {
                    (Some(a), Some(b)) => Float((a / b).floor()),
                    _ => return Err(type_error("//", &left, &right)),
                },
            },
            BinOp::Mod => match (&left, &right) {
                (Str(s), _) => Value::str(format::percent_format(self, s, &right)?),
                (_, Int(0)) => {
                    return Err(PyError::new(
                        "ZeroDivisionError",
                        "integer division or modulo by zero",
                    ))
                }
                (Int(a), Int(b)) => Int(((a % b) + b) % b),
                _ => match (left.as_float(), right.as_float()) {
                    (Some(a), Some(b)) => Float(a - b * (a / b).floor()),
                    _ => return Err(type_error("%", &left, &right)),
                },
            },
            BinOp::BitOr => match (&left, &right) {
                (Dict(a), Dict(b)) => {
                    let mut d = a.borrow().clone();
                    for (k, v) in b.borrow().items.iter() {
                        d.insert(k.clone(), v.clone());
                    }
                    Value::dict(d)
                }
                (Set(a), Set(b)) => {
                    let mut v = a.borrow().clone();
                    for x in b.borrow().iter() {
                        if !v.iter().any(|y| y.py_eq(x)) {
                            v.push(x.clone());
                        }
                    }
                    Set(Rc::new(std::cell::RefCell::new(v)))
                }
                _ => int_op(&left, &right, |a, b| a | b)
                    .ok_or_else(|| type_error("|", &left, &right))?,
            },
            BinOp::BitAnd => {
                int_op(&left, &right, |a, b| a & b).ok_or_else(|| type_error("&", &left, &right))?
            }
            BinOp::BitXor => {
                int_op(&left, &right, |a, b| a ^ b).ok_or_else(|| type_error("^", &left, &right))?
            }
            BinOp::Shl => int_op(&left, &right, |a, b| a << b)
                .ok_or_else(|| type_error("<<", &left, &right))?,
            BinOp::Shr => int_op(&left, &right, |a, b| a >> b)
                .ok_or_else(|| type_error(">>", &left, &right))?,
            BinOp::MatMul => return Err(PyError::unsupported("the @ operator")),
            BinOp::And | BinOp::Or => unreachable!("short-circuit operators are evaluated lazily"),
        })
    }

    pub fn equal(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        if let Value::Instance(_) = a {
            if let Some(f) = self.get_attr_opt(a, "__eq__")? {
                let v = self.call(&f, Args::new(vec![b.clone()]))?;
                return Ok(v.truthy());
            }
        }
        Ok(a.py_eq(b))
    }

    pub fn contains(&mut self, container: &Value, item: &Value) -> PyResult<bool> {
        Ok(match container {
            Value::Str(s) => match item {
                Value::Str(i) => s.contains(i.as_ref()),
                _ => {
                    return Err(PyError::new(
                        "TypeError",
                        "'in <string>' requires string as left operand",
                    ))
                }
            },
            Value::Dict(d) => d.borrow().get(item).is_some(),
            Value::Native(n) => {
                if let Some(f) = n.clone().get_attr(self, "__contains__")? {
                    self.call(&f, Args::new(vec![item.clone()]))?.truthy()
                } else {
                    let items = self.iterate(container)?;
                    items.iter().any(|x| x.py_eq(item))
                }
            }
            _ => {
                let items = self.iterate(container)?;
                items.iter().any(|x| x.py_eq(item))
            }
        })
    }

    // ----- imports -----

    fn resolve_relative(
        &self,
        module: &str,
        current: &str,
        current_is_package: bool,
    ) -> PyResult<String> {
        let dots = module.chars().take_while(|&c| c == '.').count();
        if dots == 0 {
            return Ok(module.to_string());
        }
        let mut package: Vec<&str> = current.split('.').collect();
        if !current_is_package {
            package.pop();
        }
        for _ in 1..dots {
            if package.pop().is_none() {
                return Err(PyError::new(
                    "ImportError",
                    "attempted relative import beyond top-level package",
                ));
            }
        }
        if package.is_empty() || package == [""] {
            return Err(PyError::new(
                "ImportError",
                "attempted relative import with no known parent package",
            ));
        }
        let rest = &module[dots..];
        Ok(if rest.is_empty() {
            package.join(".")
        } else {
            format!("{}.{rest}", package.join("."))
        })
    }

    /// Imports a dotted module (and each package on the way) and returns it.
    pub fn import(
        &mut self,
        name: &str,
        current: &str,
        current_is_package: bool,
    ) -> PyResult<Value> {
        let name = self.resolve_relative(name, current, current_is_package)?;
        let parts: Vec<&str> = name.split('.').collect();
        let mut parent: Option<Value> = None;
        for i in 0..parts.len() {
            let full = parts[..=i].join(".");
            let module = match self.modules.get(&full) {
                Some(m) => m.clone(),
                None => {
                    let loaded = self.load_module(&full, parent.as_ref())?;
                    if let Some(p) = &parent {
                        self.set_attr(p, parts[i], loaded.clone())?;
                    }
                    loaded
                }
            };
            parent = Some(module);
        }
        Ok(parent.expect("at least one part"))
    }

    /// A registered native module by its full name, without importing its
    /// parents (for native packages that expose their submodules).
    pub fn load_native(&mut self, full: &str) -> PyResult<Value> {
        if let Some(m) = self.modules.get(full) {
            return Ok(m.clone());
        }
        let factory = self.native_modules.get(full).cloned().ok_or_else(|| {
            PyError::new("ModuleNotFoundError", format!("No module named '{full}'"))
        })?;
        let module = factory(self)?;
        self.modules.insert(full.to_string(), module.clone());
        Ok(module)
    }

    fn load_module(&mut self, full: &str, parent: Option<&Value>) -> PyResult<Value> {
        if let Some(factory) = self.native_modules.get(full).cloned() {
            let module = factory(self)?;
            self.modules.insert(full.to_string(), module.clone());
            return Ok(module);
        }
        let leaf = full.rsplit('.').next().expect("name");
        let search: Vec<PathBuf> = match parent {
            Some(Value::Module(p)) => match p.globals.borrow().get("__path__") {
                Some(Value::List(paths)) => paths
                    .borrow()
                    .iter()
                    .map(|p| PathBuf::from(p.to_str()))
                    .collect(),
                _ => Vec::new(),
            },
            Some(_) => Vec::new(),
            None => self
                .sys_path
                .borrow()
                .iter()
                .map(|p| PathBuf::from(p.to_str()))
                .collect(),
        };
        let mut namespace: Vec<PathBuf> = Vec::new();
        for dir in &search {
            let package_dir = dir.join(leaf);
            let init = package_dir.join("__init__.py");
            if init.is_file() {
                let path_list = Value::list(vec![Value::str(package_dir.to_string_lossy())]);
                let module = self.run_file(
                    &init,
                    full,
                    vec![("__path__", path_list), ("__package__", Value::str(full))],
                )?;
                return Ok(Value::Module(module));
            }
            let file = dir.join(format!("{leaf}.py"));
            if file.is_file() {
                let package = full.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
                let module =
                    self.run_file(&file, full, vec![("__package__", Value::str(package))])?;
                return Ok(Value::Module(module));
            }
            if package_dir.is_dir() {
                namespace.push(package_dir);
            }
        }
        if !namespace.is_empty() {
            let paths = Value::list(
                namespace
                    .iter()
                    .map(|p| Value::str(p.to_string_lossy()))
                    .collect(),
            );
            let module = Interp::make_module(
                full,
                vec![("__path__", paths), ("__package__", Value::str(full))],
            );
            self.modules.insert(full.to_string(), module.clone());
            return Ok(module);
        }
        Err(PyError::new(
            "ModuleNotFoundError",
            format!("No module named '{full}'"),
        ))
    }
}

/// What a comprehension builds (a generator expression builds a list).
#[derive(Clone, Copy)]
enum Comp {
    List,
    Set,
    Dict,
}

impl Frame {
    fn is_package(&self) -> bool {
        self.globals.borrow().contains_key("__path__")
    }
}

/// Names a statement binds directly (class-body order for models).
fn names_bound(stmt: &Stmt) -> Vec<String> {
    match &stmt.kind {
        StmtKind::Assign { targets, .. } => targets
            .iter()
            .filter_map(|t| match &t.kind {
                ExprKind::Name(n) => Some(n.clone()),
                _ => None,
            })
            .collect(),
        StmtKind::FunctionDef(def) => vec![def.name.clone()],
        _ => Vec::new(),
    }
}

fn bind_params(f: &Function, args: Args, locals: &Scope) -> PyResult<()> {
    let mut positional = args.positional.into_iter();
    let mut keywords = args.keywords;
    let mut locals = locals.borrow_mut();
    for (param, default) in f.params.iter().zip(&f.defaults) {
        let keyword_only = param.kind == crate::syntax::ast::ParamKind::KeywordOnly;
        match param.stars {
            1 => {
                locals.insert(
                    param.name.clone(),
                    Value::tuple(positional.by_ref().collect()),
                );
            }
            2 => {
                let mut d = Dict::default();
                for (k, v) in keywords.drain(..) {
                    d.insert(Value::str(k), v);
                }
                locals.insert(param.name.clone(), Value::dict(d));
            }
            _ => {
                let from_keyword = (param.kind != crate::syntax::ast::ParamKind::PositionalOnly)
                    .then(|| keywords.iter().position(|(k, _)| *k == param.name))
                    .flatten();
                let value = if let Some(at) = from_keyword {
                    keywords.remove(at).1
                } else if let Some(v) = (!keyword_only).then(|| positional.next()).flatten() {
                    v
                } else if let Some(d) = default {
                    d.clone()
                } else {
                    return Err(PyError::new(
                        "TypeError",
                        format!(
                            "{}() missing 1 required positional argument: '{}'",
                            f.name, param.name
                        ),
                    ));
                };
                locals.insert(param.name.clone(), value);
            }
        }
    }
    if positional.next().is_some() {
        return Err(PyError::new(
            "TypeError",
            format!(
                "{}() takes {} positional arguments but more were given",
                f.name,
                f.params.len()
            ),
        ));
    }
    if let Some((k, _)) = keywords.first() {
        return Err(PyError::new(
            "TypeError",
            format!("{}() got an unexpected keyword argument '{k}'", f.name),
        ));
    }
    Ok(())
}

fn clamp_index(i: i64, len: i64) -> usize {
    let i = if i < 0 { i + len } else { i };
    i.clamp(0, len) as usize
}

fn index_seq(items: &[Value], key: &Value) -> PyResult<Value> {
    let i = key
        .as_int()
        .ok_or_else(|| PyError::new("TypeError", "indices must be integers"))?;
    let len = items.len() as i64;
    let at = if i < 0 { i + len } else { i };
    if at < 0 || at >= len {
        return Err(PyError::new("IndexError", "index out of range"));
    }
    Ok(items[at as usize].clone())
}

fn arith(
    a: &Value,
    b: &Value,
    int: impl Fn(i64, i64) -> Option<i64>,
    float: impl Fn(f64, f64) -> f64,
) -> Option<Value> {
    match (a, b) {
        (Value::Int(_) | Value::Bool(_), Value::Int(_) | Value::Bool(_)) => {
            int(a.as_int()?, b.as_int()?).map(Value::Int)
        }
        _ => Some(Value::Float(float(a.as_float()?, b.as_float()?))),
    }
}

fn int_op(a: &Value, b: &Value, f: impl Fn(i64, i64) -> i64) -> Option<Value> {
    Some(Value::Int(f(a.as_int()?, b.as_int()?)))
}

fn power(a: Value, b: Value) -> PyResult<Value> {
    match (&a, &b) {
        (Value::Int(x), Value::Int(y)) if *y >= 0 => x
            .checked_pow(*y as u32)
            .map(Value::Int)
            .ok_or_else(|| PyError::new("OverflowError", "integer too large")),
        _ => match (a.as_float(), b.as_float()) {
            (Some(x), Some(y)) => Ok(Value::Float(x.powf(y))),
            _ => Err(PyError::new(
                "TypeError",
                "unsupported operand type(s) for **",
            )),
        },
    }
}

/// Python ordering for numbers, strings and sequences.
pub fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::List(x), Value::List(y)) => compare_seq(&x.borrow(), &y.borrow()),
        (Value::Tuple(x), Value::Tuple(y)) => compare_seq(x, y),
        _ => a.as_float()?.partial_cmp(&b.as_float()?),
    }
}

fn compare_seq(a: &[Value], b: &[Value]) -> Option<std::cmp::Ordering> {
    for (x, y) in a.iter().zip(b) {
        if !x.py_eq(y) {
            return compare(x, y);
        }
    }
    Some(a.len().cmp(&b.len()))
}
