//! Project `TypeDecorator` subclasses used in revision bodies
//! (`coltypes.SlugString(length=64)` from `user_module_prefix`).
//!
//! SQLAlchemy's `TypeDecorator.__init__` builds `self.impl` by calling the
//! class-level `impl` with the decorator's own arguments, and DDL compiles
//! the impl (unless `load_dialect_impl` says otherwise). So such a class
//! evaluates to its `impl` type class: calling it builds the impl type.
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
        let StmtKind::Other { construct, body } = &stmt.kind else {
            return None;
        };
        if *construct != "class definition" {
            return None;
        }
        let bases = class_bases(m.source.get(stmt.span.start..)?)?;
        if bases.len() != 1 {
            return None;
        }
        let base = self.dotted_value(m, &bases[0], index, stmt.span)?;
        match base {
            Value::Path(p) if canonical(&p) == "sa.TypeDecorator" => {}
            _ => return None,
        }
        let mut impl_value = None;
        for s in body {
            match &s.kind {
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

/// The base expressions of a `class Name(A, b.C):` header, each a dotted
/// name; `None` when the header is not of that shape (keywords, calls).
fn class_bases(text: &str) -> Option<Vec<String>> {
    let rest = text.strip_prefix("class")?;
    let open = rest.find(['(', ':'])?;
    if rest[open..].starts_with(':') {
        return Some(Vec::new());
    }
    let close = rest[open..].find(')')? + open;
    let inner = &rest[open + 1..close];
    let bases: Vec<String> = inner
        .split(',')
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    let dotted = |b: &String| {
        b.split('.').all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
    };
    if bases.iter().all(dotted) {
        Some(bases)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::class_bases;

    #[test]
    fn reads_class_headers() {
        assert_eq!(
            class_bases("class A(TypeDecorator):\n"),
            Some(vec!["TypeDecorator".to_string()])
        );
        assert_eq!(
            class_bases("class A(sa.types.TypeDecorator, Mixin):"),
            Some(vec![
                "sa.types.TypeDecorator".to_string(),
                "Mixin".to_string()
            ])
        );
        assert_eq!(class_bases("class A:"), Some(vec![]));
        assert_eq!(class_bases("class A(metaclass=M):"), None);
    }
}
