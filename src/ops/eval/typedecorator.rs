//! Project `TypeDecorator` subclasses used in revision bodies
//! (`coltypes.SlugString(length=64)` from `user_module_prefix`).
//!
//! SQLAlchemy's `TypeDecorator.__init__` builds `self.impl` by calling the
//! class-level `impl` with the decorator's own arguments, and DDL compiles
//! the impl (unless `load_dialect_impl` says otherwise). So such a class
//! evaluates to its `impl` type class: calling it builds the impl type.
//! A class that defines `load_dialect_impl(self, dialect)` compiles as what
//! that method returns for the configured dialect (`dialect.name`,
//! `dialect.type_descriptor(t)` = `t`); it is evaluated once, with `self`
//! unavailable, and such a class is only called without arguments (they
//! would go to `impl`, which then no longer shows in the DDL).
//! Anything else in the class that could change the DDL is refused.

use super::project::ModuleData;
use super::*;

impl Evaluator {
    /// The value of `class Name(TypeDecorator): impl = ...` at statement
    /// `index` of `m`: its impl type class. `None` when the statement is
    /// not a class whose only base is SQLAlchemy's `TypeDecorator`.
    pub(super) fn type_decorator_class(
        &mut self,
        m: &Rc<ModuleData>,
        index: usize,
    ) -> Option<EResult<Value>> {
        let stmt = &m.body[index];
        let StmtKind::ClassDef(class) = &stmt.kind else {
            return None;
        };
        if !class.keywords.is_empty() || !class.decorators.is_empty() || class.bases.len() != 1 {
            return None;
        }
        let bases = [dotted_name(&class.bases[0])?];
        let body = &class.body;
        let base = self.dotted_value(m, &bases[0], index, stmt.span)?;
        match base {
            Value::Path(p) if canonical(&p) == "sa.TypeDecorator" => {}
            _ => return None,
        }
        let mut impl_value = None;
        let mut load_dialect_impl = None;
        for s in body {
            match &s.kind {
                StmtKind::FunctionDef(def)
                    if def.name == "load_dialect_impl" && def.decorators.is_empty() =>
                {
                    load_dialect_impl = Some((def, s.span));
                }
                StmtKind::FunctionDef(def)
                    if matches!(def.name.as_str(), "__init__" | "load_dialect_impl") =>
                {
                    return Some(Err(problem(
                        s.span,
                        format!(
                            "a TypeDecorator that defines {}() is not supported: aurora compiles a TypeDecorator as its impl",
                            def.name
                        ),
                    )));
                }
                StmtKind::Assign {
                    targets,
                    value: Some(value),
                    ..
                } if targets
                    .iter()
                    .any(|t| matches!(&t.kind, ExprKind::Name(n) if n == "impl")) =>
                {
                    let mut frame = Frame {
                        module: Some(m.clone()),
                        position: index,
                        ..Frame::default()
                    };
                    let mut sink = Vec::new();
                    impl_value = Some((self.eval(value, &mut frame, &mut sink), value.span));
                }
                _ => {}
            }
        }
        let Some((value, span)) = impl_value else {
            return Some(Err(problem(
                stmt.span,
                "AssertionError: TypeDecorator implementations require a class-level variable 'impl' which refers to the class of type being decorated",
            )));
        };
        let value = match (value, load_dialect_impl) {
            (Ok(_), Some((def, at))) => return Some(self.dialect_impl_class(m, def, at)),
            (value, _) => value,
        };
        Some(value.and_then(|v| match &v {
            Value::Path(_) if as_type(&v, span).is_ok() => Ok(v),
            other => Err(problem(
                span,
                format!(
                    "impl = {}: aurora supports an impl that is a SQLAlchemy type class (impl = String)",
                    describe(other)
                ),
            )),
        }))
    }

    /// What `load_dialect_impl(self, dialect)` of module `m` returns for the
    /// configured dialect, as the class's value.
    fn dialect_impl_class(
        &mut self,
        m: &Rc<ModuleData>,
        def: &FunctionDef,
        span: Span,
    ) -> EResult<Value> {
        let args = Args {
            positional: vec![(Value::None, span), (Value::Dialect, span)],
            keywords: Vec::new(),
            span,
        };
        let mut sink = Vec::new();
        let v = self.call_module_function(m, def, args, &mut sink)?;
        match v {
            Value::Type(t) if sink.is_empty() => Ok(Value::DialectImplClass(Box::new(t))),
            other => Err(super::project::located(
                m,
                span,
                format!(
                    "{}: load_dialect_impl() gave {}: aurora supports one that returns a SQLAlchemy type instance",
                    m.location(span.start),
                    describe(&other)
                ),
            )),
        }
    }

    /// The value of a dotted name (`TypeDecorator`, `sa.types.TypeDecorator`)
    /// as module `m` sees it before statement `index`.
    fn dotted_value(
        &mut self,
        m: &Rc<ModuleData>,
        dotted: &str,
        index: usize,
        span: Span,
    ) -> Option<Value> {
        let mut parts = dotted.split('.');
        let mut v = self.module_global(m, parts.next()?, index, span).ok()?;
        for part in parts {
            v = match v {
                Value::Path(p) => Value::Path(format!("{p}.{part}")),
                Value::Module(sub) => self.module_global(&sub, part, usize::MAX, span).ok()?,
                _ => return None,
            };
        }
        Some(v)
    }
}

/// A base written as a dotted name (`TypeDecorator`, `sa.types.TypeDecorator`).
fn dotted_name(expr: &Expr) -> Option<String> {
    match &expr.kind {
        ExprKind::Name(n) => Some(n.clone()),
        ExprKind::Attribute(base, attr) => Some(format!("{}.{attr}", dotted_name(base)?)),
        _ => None,
    }
}

/// Calling a class whose DDL type comes from `load_dialect_impl()`.
pub(super) fn instantiate(t: SqlType, args: &Args) -> EResult<Value> {
    if !args.positional.is_empty() || !args.keywords.is_empty() {
        return Err(problem(
            args.span,
            "arguments to a TypeDecorator that defines load_dialect_impl() are not supported: they go to its impl, which aurora does not build",
        ));
    }
    Ok(Value::Type(t))
}
