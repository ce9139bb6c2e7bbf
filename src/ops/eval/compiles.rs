//! A revision's own type classes and its `@compiles` functions: `class
//! JSONB(JSON): __visit_name__ = "JSONB"` with `@compiles(JSONB, "sqlite") def
//! _(*args, **kw): return "JSONB"` (phoenix's revisions carry this pair).
//!
//! SQLAlchemy compiles an instance of such a class with the `@compiles`
//! function registered for the class and the dialect (one without dialect
//! names applies to every dialect), else with the dialect type compiler's
//! `visit_<__visit_name__>`, else (no `__visit_name__` of its own) as its base
//! type. aurora calls the function when the class is instantiated (the dialect
//! is known then) and uses the text it returns; a class whose text it cannot
//! know is a failure that surfaces only where the type is used, so a
//! `with_variant(...)` for another dialect still discards it. A `@compiles`
//! function for anything else (a SQLAlchemy construct such as
//! `ForeignKeyConstraint`) changes how SQLAlchemy renders it everywhere: a run
//! on its dialect is refused at the decorator.

use super::*;
use crate::syntax::ast::{Arg, ClassDef};

/// A class deriving from a SQLAlchemy type, defined in the revision file.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TypeSubclass {
    pub name: String,
    /// The base type's canonical path (`sa.JSON`).
    pub base: String,
    /// `__visit_name__` when the class sets its own.
    pub visit_name: Option<String>,
}

/// One `@compiles` function: the dialect names it is for (empty: all) and
/// the function.
pub(super) type Hook = (Vec<String>, Rc<FunctionDef>);

/// The `@compiles` functions of one module.
#[derive(Debug, Default)]
pub(super) struct CompileHooks {
    /// Per class of the module: (dialect names, empty for all; the function).
    pub by_class: HashMap<String, Vec<Hook>>,
    /// `@compiles` functions aurora cannot apply, on the configured dialect:
    /// the construct's name (`ForeignKeyConstraint`) and the problem.
    pub unsupported: Vec<(String, RawProblem)>,
    /// Every `@compiles` decorator for a SQLAlchemy construct, whatever its
    /// dialects: the construct as written, its dialect names (`None`: not
    /// all literal), the decorator's place.
    pub construct_decorators: Vec<(String, Option<Vec<String>>, Span)>,
}

/// Finds the module-level `@compiles(...)` functions of `body` (SQLAlchemy's
/// `sqlalchemy.ext.compiler.compiles`, however imported) for `dialect`.
pub(super) fn scan(body: &[Stmt], dialect: &str) -> CompileHooks {
    let mut plain = Vec::new(); // names bound to `compiles`
    let mut modules = Vec::new(); // dotted names bound to `sqlalchemy.ext.compiler`
    let mut classes = Vec::new();
    for stmt in body {
        match &stmt.kind {
            StmtKind::FromImport { module, names } if module == "sqlalchemy.ext.compiler" => {
                for n in names.iter().filter(|n| n.name == "compiles") {
                    plain.push(n.alias.clone().unwrap_or_else(|| n.name.clone()));
                }
            }
            StmtKind::FromImport { module, names } if module == "sqlalchemy.ext" => {
                for n in names.iter().filter(|n| n.name == "compiler") {
                    modules.push(n.alias.clone().unwrap_or_else(|| n.name.clone()));
                }
            }
            StmtKind::Import(names) => {
                for n in names.iter().filter(|n| n.name == "sqlalchemy.ext.compiler") {
                    modules.push(n.alias.clone().unwrap_or_else(|| n.name.clone()));
                }
            }
            StmtKind::ClassDef(c) => classes.push(c.name.clone()),
            _ => {}
        }
    }
    let mut hooks = CompileHooks::default();
    for stmt in body {
        let StmtKind::FunctionDef(def) = &stmt.kind else {
            continue;
        };
        for deco in &def.decorators {
            let ExprKind::Call { func, args } = &deco.kind else {
                continue;
            };
            let is_compiles = match &func.kind {
                ExprKind::Name(n) => plain.contains(n),
                ExprKind::Attribute(m, a) => a == "compiles" && modules.contains(&dotted(m)),
                _ => false,
            };
            if !is_compiles {
                continue;
            }
            let mut dialects = Vec::new();
            let mut literal = true;
            for a in args.iter().skip(1) {
                match a {
                    Arg::Positional(Expr {
                        kind: ExprKind::Str(s),
                        ..
                    }) => dialects.push(s.clone()),
                    _ => literal = false,
                }
            }
            let target = match args.first() {
                Some(Arg::Positional(Expr {
                    kind: ExprKind::Name(n),
                    ..
                })) if classes.contains(n) => Some(n.clone()),
                _ => None,
            };
            if target.is_none() {
                hooks.construct_decorators.push((
                    match args.first() {
                        Some(Arg::Positional(e)) => dotted(e),
                        _ => String::new(),
                    },
                    literal.then(|| dialects.clone()),
                    deco.span,
                ));
            }
            match target {
                Some(class) if literal => hooks
                    .by_class
                    .entry(class)
                    .or_default()
                    .push((dialects, Rc::new(def.clone()))),
                _ if literal && !dialects.is_empty() && !dialects.iter().any(|d| d == dialect) => {}
                _ => hooks.unsupported.push((
                    match args.first() {
                        Some(Arg::Positional(e)) => dotted(e),
                        _ => String::new(),
                    },
                    problem(
                        deco.span,
                        "a @compiles function for a SQLAlchemy construct changes the SQL \
                         SQLAlchemy renders for it in every revision; aurora cannot apply it",
                    ),
                )),
            }
        }
    }
    hooks
}

/// The module-level `@compiles(...)` functions of `body` for anything but a
/// class of the module (a SQLAlchemy construct): what the file, once Alembic
/// imports it for the revision map, changes in every revision's SQL.
pub(crate) fn construct_hooks(source: &str, body: &[Stmt]) -> Vec<crate::ops::ConstructHook> {
    // Cheap when there is nothing to find: no import of the compiler.
    if !source.contains("compiles") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (target, dialects, span) in scan(body, "").construct_decorators {
        let (line, col) = crate::syntax::body::line_col(source, span.start);
        out.push(crate::ops::ConstructHook {
            target,
            dialects,
            line,
            col,
        });
    }
    out
}

fn dotted(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Name(n) => n.clone(),
        ExprKind::Attribute(b, a) => format!("{}.{a}", dotted(b)),
        _ => String::new(),
    }
}

impl Evaluator {
    /// `class X(<a SQLAlchemy type>)` whose body only names its
    /// `__visit_name__` (or sets `cache_ok`, a docstring, `pass`).
    pub(super) fn type_subclass(&mut self, def: &ClassDef) -> Option<TypeSubclass> {
        if !def.decorators.is_empty() || !def.keywords.is_empty() || def.bases.len() != 1 {
            return None;
        }
        let mut frame = Frame::default();
        let mut sink = Vec::new();
        let base = match self.eval(&def.bases[0], &mut frame, &mut sink) {
            Ok(Value::Path(p)) => canonical(&p),
            _ => return None,
        };
        let no_args = Args {
            positional: Vec::new(),
            keywords: Vec::new(),
            span: def.bases[0].span,
        };
        if !matches!(type_call(&base, &no_args), Ok(Some(_))) {
            return None;
        }
        let mut visit_name = None;
        for stmt in &def.body {
            match &stmt.kind {
                StmtKind::Pass => {}
                StmtKind::Expr(Expr {
                    kind: ExprKind::Str(_),
                    ..
                }) => {}
                StmtKind::Assign {
                    targets,
                    value: Some(value),
                    ..
                } if targets.len() == 1 => match (&targets[0].kind, &value.kind) {
                    (ExprKind::Name(n), ExprKind::Str(s)) if n == "__visit_name__" => {
                        visit_name = Some(s.clone())
                    }
                    (ExprKind::Name(n), ExprKind::Bool(_)) if n == "cache_ok" => {}
                    _ => return None,
                },
                _ => return None,
            }
        }
        Some(TypeSubclass {
            name: def.name.clone(),
            base,
            visit_name,
        })
    }

    /// `X(...)` of a [`TypeSubclass`]: the type as SQLAlchemy compiles it for
    /// the configured dialect, or a failure reported where it is used.
    pub(super) fn instantiate_type_subclass(
        &mut self,
        class: &TypeSubclass,
        args: Args,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        let span = args.span;
        let base = type_call(&class.base, &args)?
            .ok_or_else(|| problem(span, format!("'{}' is not a type", class.base)))?;
        let hooks = self.compile_hooks.by_class.get(&class.name);
        let chosen = hooks.and_then(|hs| {
            hs.iter()
                .rev()
                .find(|(d, _)| d.contains(&self.ctx.dialect))
                .or_else(|| hs.iter().rev().find(|(d, _)| d.is_empty()))
                .map(|(_, f)| f.clone())
        });
        if let Some(f) = chosen {
            let compiler = Value::Failed(Box::new(problem(
                span,
                "the SQL compiler a @compiles function receives is not available to aurora",
            )));
            let call = Args {
                positional: vec![(Value::Type(base), span), (compiler, span)],
                keywords: Vec::new(),
                span,
            };
            return match self.call_function_in(&f, call, None, sink)? {
                Value::Str(text) => Ok(Value::Type(SqlType::Named(text))),
                other => Err(problem(
                    span,
                    format!(
                        "the @compiles function '{}' for '{}' returned {}, not the type's text",
                        f.name,
                        class.name,
                        describe(&other)
                    ),
                )),
            };
        }
        match &class.visit_name {
            None => Ok(Value::Type(base)),
            Some(v) => Ok(Value::Failed(Box::new(problem(
                span,
                format!(
                    "class '{}' sets __visit_name__ = '{v}' and has no @compiles function for \
                     {}: SQLAlchemy compiles it with that dialect's visit_{v}, which aurora \
                     does not know",
                    class.name, self.ctx.dialect
                ),
            )))),
        }
    }
}

/// Whether `ops` compile the SQLAlchemy construct `target` (a dotted name as
/// written, `sa.ForeignKeyConstraint`): foreign keys are known; for any other
/// construct every operation counts.
pub(super) fn ops_compile(ops: &[Op], target: &str) -> bool {
    let short = target.rsplit('.').next().unwrap_or(target);
    if !matches!(short, "ForeignKeyConstraint" | "ForeignKey") {
        return !ops.is_empty();
    }
    ops.iter().any(|op| match op {
        Op::CreateTable(t) => {
            t.columns.iter().any(|c| !c.foreign_keys.is_empty())
                || t.constraints
                    .iter()
                    .any(|c| matches!(c.kind, crate::ops::ConstraintKind::ForeignKey { .. }))
        }
        Op::AddColumn { column, .. } => !column.foreign_keys.is_empty(),
        Op::AddConstraint { constraint, .. } => {
            matches!(
                constraint.kind,
                crate::ops::ConstraintKind::ForeignKey { .. }
            )
        }
        Op::Batch(b) => ops_compile(&b.ops, target),
        Op::Autocommit(inner) => ops_compile(inner, target),
        _ => false,
    })
}
