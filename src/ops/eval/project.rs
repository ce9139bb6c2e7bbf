//! The project's own Python modules, evaluated on demand.
//!
//! A revision may import helpers and constants from the project it belongs
//! to (`from ckan.migration import skip_...`, `from neutron.db.migration
//! import cli`). Python runs such a module top to bottom; aurora evaluates
//! only the module-level bindings a revision actually uses, each from the
//! last statement binding that name before the point of use. A module that
//! also imports a library aurora cannot run still yields its plain constants
//! and functions; using a name that needs such code is an error naming the
//! module's file, line and column.

use super::*;
use crate::modules::{resolve_relative, ModuleFile};
use crate::syntax::body::{line_col, parse_module, ImportName};
use std::cell::RefCell;

/// A project module: its parsed source and the bindings evaluated so far.
#[derive(Debug)]
pub(super) struct ModuleData {
    pub file: ModuleFile,
    pub source: String,
    pub body: Vec<Stmt>,
    /// Why the module is not valid Python (Python's import raises it).
    pub syntax_error: Option<crate::syntax::ast::SyntaxError>,
    /// Evaluated module-level names, by (name, statement index).
    values: RefCell<HashMap<(String, usize), Value>>,
}

impl PartialEq for ModuleData {
    fn eq(&self, other: &Self) -> bool {
        self.file == other.file
    }
}

impl ModuleData {
    /// `file:line:col` of a byte offset in this module.
    pub fn location(&self, offset: usize) -> String {
        let (line, col) = line_col(&self.source, offset);
        format!("{}:{line}:{col}", self.file.path.display())
    }
}

/// Library modules aurora models itself (their names become [`Value::Path`]s).
const KNOWN_LIBRARIES: &[&str] = &[
    "alembic",
    "sqlalchemy",
    "alembic_postgresql_enum",
    "datetime",
    "decimal",
    "uuid",
    "json",
    "re",
    "os",
    "enum",
    "textwrap",
    "typing",
    "typing_extensions",
    "collections",
    "logging",
    "warnings",
    "__future__",
];

/// A problem whose message begins with a place in module `m` (`m.location(...)`).
pub(super) fn located(m: &ModuleData, span: Span, message: String) -> RawProblem {
    RawProblem {
        located_in: Some(m.file.path.clone()),
        ..problem(span, message)
    }
}

pub(super) fn is_known_library(dotted: &str) -> bool {
    let top = dotted.split('.').next().unwrap_or(dotted);
    KNOWN_LIBRARIES.contains(&top)
}

/// Every name a statement binds at its own level (not inside nested blocks).
fn binds(stmt: &Stmt, name: &str) -> bool {
    fn target_binds(t: &Expr, name: &str) -> bool {
        match &t.kind {
            ExprKind::Name(n) => n == name,
            ExprKind::Tuple(ts) | ExprKind::List(ts) => ts.iter().any(|t| target_binds(t, name)),
            _ => false,
        }
    }
    match &stmt.kind {
        StmtKind::Assign {
            targets,
            value: Some(_),
            ..
        } => targets.iter().any(|t| target_binds(t, name)),
        StmtKind::AugAssign { target, .. } => target_binds(target, name),
        StmtKind::FunctionDef(def) => def.name == name,
        StmtKind::Import(names) => names.iter().any(|n| match &n.alias {
            Some(a) => a == name,
            None => n.name.split('.').next() == Some(name),
        }),
        StmtKind::FromImport { names, .. } => names
            .iter()
            .any(|n| n.alias.as_deref().unwrap_or(&n.name) == name || n.name == "*"),
        StmtKind::ClassDef(def) => def.name == name,
        _ => false,
    }
}

/// Whether a compound statement binds `name` somewhere inside it.
fn binds_inside(stmt: &Stmt, name: &str) -> bool {
    let blocks: Vec<&Vec<Stmt>> = match &stmt.kind {
        StmtKind::If { body, orelse, .. }
        | StmtKind::For { body, orelse, .. }
        | StmtKind::While { body, orelse, .. } => vec![body, orelse],
        StmtKind::With { body, .. } => vec![body],
        StmtKind::Try(t) => {
            let mut blocks = vec![&t.body, &t.orelse, &t.finalbody];
            blocks.extend(t.handlers.iter().map(|h| &h.body));
            blocks
        }
        _ => return false,
    };
    blocks
        .into_iter()
        .flatten()
        .any(|s| binds(s, name) || binds_inside(s, name))
}

impl Evaluator {
    /// The project module `dotted`, parsed once per run; `None` when it is
    /// not one of the project's modules.
    pub(super) fn project_module(&mut self, dotted: &str) -> Option<Rc<ModuleData>> {
        if let Some(m) = self.modules.get(dotted) {
            return m.clone();
        }
        let found = if is_known_library(dotted) {
            None
        } else {
            self.ctx.search_path.find(dotted)
        };
        let module = found.and_then(|file| {
            let source = std::fs::read_to_string(&file.path).ok()?;
            let (body, syntax_error) = match parse_module(&source) {
                Ok(m) => (m.body, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            Some(Rc::new(ModuleData {
                file,
                source,
                body,
                syntax_error,
                values: RefCell::new(HashMap::new()),
            }))
        });
        if module.is_some() {
            self.outside_inputs = true;
        }
        self.modules.insert(dotted.to_string(), module.clone());
        module
    }

    /// The value `import dotted` gives the name it binds in `package`'s
    /// module: a project module, or a library path aurora models.
    fn import_value(&mut self, dotted: &str) -> Value {
        match self.project_module(dotted) {
            Some(m) => Value::Module(m),
            None => Value::Path(dotted.to_string()),
        }
    }

    /// Binds the names of `import a.b.c [as x]`.
    pub(super) fn exec_import(&mut self, names: &[ImportName], frame: &mut Frame) {
        for n in names {
            match &n.alias {
                Some(a) => {
                    let v = self.import_value(&n.name);
                    frame.locals.insert(a.clone(), v);
                }
                None => {
                    let first = n.name.split('.').next().unwrap_or(&n.name).to_string();
                    let v = self.import_value(&first);
                    frame.locals.insert(first, v);
                }
            }
        }
    }

    /// The absolute module name of `from <module> import ...` in `frame`.
    fn absolute_module_name(&self, module: &str, frame: &Frame, span: Span) -> EResult<String> {
        let level = module.chars().take_while(|c| *c == '.').count();
        let name = &module[level..];
        if level == 0 {
            return Ok(name.to_string());
        }
        let package = frame
            .module
            .as_ref()
            .map(|m| m.file.package())
            .unwrap_or_default();
        resolve_relative(&package, level, name).ok_or_else(|| {
            problem(
                span,
                "ImportError: attempted relative import with no known parent package",
            )
        })
    }

    /// The value of one name of `from <module> import <name>`.
    pub(super) fn imported_name(
        &mut self,
        module: &str,
        name: &str,
        frame: &Frame,
        span: Span,
    ) -> EResult<Value> {
        let absolute = self.absolute_module_name(module, frame, span)?;
        match self.project_module(&absolute) {
            Some(m) => {
                if m.file.is_package {
                    if let Some(sub) = self.project_module(&format!("{absolute}.{name}")) {
                        if !has_binding(&m, name) {
                            return Ok(Value::Module(sub));
                        }
                    }
                }
                self.module_global(&m, name, usize::MAX, span)
            }
            // A namespace package (a folder without `__init__.py`) still
            // holds project modules.
            None => Ok(match self.project_module(&format!("{absolute}.{name}")) {
                Some(sub) => Value::Module(sub),
                None => Value::Path(format!("{absolute}.{name}")),
            }),
        }
    }

    /// The value of module-level `name` in `m` as seen from statement
    /// `before` (every statement before it has run), evaluating only the
    /// statement that binds it. Problems inside the module are reported at
    /// `span` with the module's own location in the message.
    pub(super) fn module_global(
        &mut self,
        m: &Rc<ModuleData>,
        name: &str,
        before: usize,
        span: Span,
    ) -> EResult<Value> {
        match name {
            "__name__" => return Ok(Value::Str(m.file.name.clone())),
            "__file__" => return Ok(Value::Str(m.file.path.display().to_string())),
            "__package__" => return Ok(Value::Str(m.file.package())),
            _ => {}
        }
        if let Some(e) = &m.syntax_error {
            return Err(located(
                m,
                span,
                format!(
                    "{}: {}: {} (in module '{}')",
                    m.location(e.offset),
                    e.kind,
                    e.message,
                    m.file.name
                ),
            ));
        }
        let limit = before.min(m.body.len());
        let Some(index) = (0..limit).rev().find(|&i| binds(&m.body[i], name)) else {
            if m.file.is_package {
                if let Some(sub) = self.project_module(&format!("{}.{name}", m.file.name)) {
                    return Ok(Value::Module(sub));
                }
            }
            if let Some(inner) = (0..limit).rev().find(|&i| binds_inside(&m.body[i], name)) {
                return Err(located(
                    m,
                    span,
                    format!(
                        "{}: '{name}' of module '{}' is bound inside a block aurora does not run at import time",
                        m.location(m.body[inner].span.start),
                        m.file.name
                    ),
                ));
            }
            if let Some(v) = builtin(name) {
                return Ok(v);
            }
            return Err(problem(
                span,
                format!(
                    "AttributeError: module '{}' has no attribute '{name}' ({})",
                    m.file.name,
                    m.file.path.display()
                ),
            ));
        };
        let key = (name.to_string(), index);
        if let Some(v) = m.values.borrow().get(&key) {
            return Ok(v.clone());
        }
        if self.depth > 50 {
            return Err(problem(
                span,
                "module-level names refer to each other too deeply",
            ));
        }
        self.depth += 1;
        let result = self.eval_binding(m, index, name);
        self.depth -= 1;
        let value = result.map_err(|p| {
            located(
                m,
                span,
                format!(
                    "{}: {} (in module '{}')",
                    m.location(p.span.start),
                    p.message,
                    m.file.name
                ),
            )
        })?;
        m.values.borrow_mut().insert(key, value.clone());
        Ok(value)
    }

    /// Runs statement `index` of `m` and returns what it bound to `name`.
    fn eval_binding(&mut self, m: &Rc<ModuleData>, index: usize, name: &str) -> EResult<Value> {
        let stmt = &m.body[index];
        let mut frame = Frame {
            module: Some(m.clone()),
            position: index,
            ..Frame::default()
        };
        match &stmt.kind {
            StmtKind::FunctionDef(def) => {
                Ok(Value::ModuleFunction(m.clone(), Rc::new(def.clone())))
            }
            StmtKind::Import(_) | StmtKind::Assign { .. } | StmtKind::AugAssign { .. } => {
                if let StmtKind::AugAssign { .. } = &stmt.kind {
                    let current = self.module_global(m, name, index, stmt.span)?;
                    frame.locals.insert(name.to_string(), current);
                }
                let mut sink = Vec::new();
                self.exec(stmt, &mut frame, &mut sink)?;
                if !sink.is_empty() {
                    return Err(problem(
                        stmt.span,
                        "a module-level statement runs a migration operation at import time",
                    ));
                }
                frame
                    .locals
                    .remove(name)
                    .ok_or_else(|| problem(stmt.span, format!("'{name}' was not bound")))
            }
            StmtKind::FromImport { module, names } => {
                let n = names
                    .iter()
                    .rev()
                    .find(|n| n.alias.as_deref().unwrap_or(&n.name) == name)
                    .or_else(|| names.iter().find(|n| n.name == "*"));
                match n {
                    Some(n) if n.name == "*" => {
                        let absolute = self.absolute_module_name(module, &frame, stmt.span)?;
                        match self.project_module(&absolute) {
                            Some(src) => self.module_global(&src, name, usize::MAX, stmt.span),
                            None => Err(problem(
                                stmt.span,
                                format!("'{name}' may come from 'from {absolute} import *', which aurora cannot read"),
                            )),
                        }
                    }
                    Some(n) => self.imported_name(module, &n.name, &frame, stmt.span),
                    None => Err(problem(stmt.span, format!("'{name}' was not bound"))),
                }
            }
            StmtKind::ClassDef(_) => {
                if let Some(v) = self.type_decorator_class(m, index) {
                    return v;
                }
                Err(problem(
                    stmt.span,
                    format!("'{name}' is a class definition, which aurora cannot evaluate"),
                ))
            }
            _ => Err(problem(stmt.span, format!("'{name}' was not bound"))),
        }
    }

    /// Calls a function defined in a project module, its globals being that
    /// module's. Problems inside are reported at the call with the module's
    /// location.
    pub(super) fn call_module_function(
        &mut self,
        m: &Rc<ModuleData>,
        def: &FunctionDef,
        args: Args,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        let span = args.span;
        self.call_function_in(def, args, Some(m.clone()), sink)
            .map_err(|p| {
                if p.located_in.as_deref() == Some(m.file.path.as_path()) && p.span == span {
                    return p;
                }
                located(
                    m,
                    span,
                    format!(
                        "{}: {} (in {}() of module '{}')",
                        m.location(p.span.start),
                        p.message,
                        def.name,
                        m.file.name
                    ),
                )
            })
    }
}

/// The revision file itself as a module (its module-level names evaluated
/// lazily, like a project module's).
pub(super) fn revision_module(
    source: &str,
    ctx: &LowerContext,
) -> Result<Rc<ModuleData>, crate::syntax::ast::SyntaxError> {
    Ok(revision_module_of(source, ctx, parse_module(source)?.body))
}

/// The revision file as a module, from its already parsed statements.
pub(super) fn revision_module_of(
    source: &str,
    ctx: &LowerContext,
    body: Vec<Stmt>,
) -> Rc<ModuleData> {
    Rc::new(ModuleData {
        file: ModuleFile {
            name: revision_module_name(&ctx.path),
            path: ctx.path.clone(),
            is_package: false,
        },
        source: source.to_string(),
        body,
        syntax_error: None,
        values: RefCell::new(HashMap::new()),
    })
}

pub(super) fn has_binding(m: &ModuleData, name: &str) -> bool {
    m.body.iter().any(|s| binds(s, name))
}

/// Python's module name for a revision file: Alembic loads it with
/// `re.sub(r"\W", "_", filename)` as the module id.
pub(super) fn revision_module_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
