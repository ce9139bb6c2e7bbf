//! In-place list methods on a revision function's own local lists.
//!
//! Values here are copies, not shared references, so `names.append(x)` can
//! only be done faithfully when no other binding may see the same list. A
//! local counts as the sole owner of its list while it was bound by a plain
//! `name = [...]` (or a list comprehension) and not read since as a whole
//! (being read may have aliased it: `other = names`, `f(names)`). Mutating a
//! list that is not known to be owned stays an error instead of a guess.

use super::*;

/// The list methods handled here.
pub(super) fn is_mutation(method: &str) -> bool {
    matches!(method, "append" | "extend" | "insert")
}

/// Whether `value` builds a new list nobody else refers to.
pub(super) fn is_fresh_list(value: &Expr) -> bool {
    matches!(value.kind, ExprKind::List(_) | ExprKind::ListComp { .. })
}

impl Evaluator {
    /// `name.append(x)`, `name.extend(it)`, `name.insert(i, x)` on the
    /// frame's own list `name`.
    pub(super) fn mutate_local_list(
        &mut self,
        name: &str,
        method: &str,
        args: &[Arg],
        span: Span,
        frame: &mut Frame,
        sink: &mut Vec<Op>,
    ) -> EResult<Value> {
        let mut values = Vec::new();
        for a in args {
            match a {
                Arg::Positional(x) => values.push((self.eval(x, frame, sink)?, x.span)),
                _ => {
                    return Err(problem(
                        span,
                        format!("list.{method}() takes positional arguments only"),
                    ))
                }
            }
        }
        let want = if method == "insert" { 2 } else { 1 };
        if values.len() != want {
            return Err(problem(
                span,
                format!(
                    "TypeError: list.{method}() takes exactly {want} argument{} ({} given)",
                    if want == 1 { "" } else { "s" },
                    values.len()
                ),
            ));
        }
        // An argument may have read (and so aliased) the list itself.
        if !frame.owned_lists.contains(name) {
            return Err(problem(
                span,
                format!(
                    "unsupported call of '{method}' on the list '{name}': it may be shared with another name"
                ),
            ));
        }
        let mut values = values.into_iter();
        let (first, first_span) = values.next().expect("one argument");
        let Some(Value::List(items)) = frame.locals.get_mut(name) else {
            unreachable!("an owned list is bound to a list");
        };
        match method {
            "append" => items.push(first),
            "extend" => items.extend(iteration_items(first, first_span)?),
            _ => {
                let Value::Int(i) = first else {
                    return Err(problem(
                        first_span,
                        format!(
                            "TypeError: list.insert() index must be an integer, got {}",
                            describe(&first)
                        ),
                    ));
                };
                let (x, _) = values.next().expect("two arguments");
                let len = items.len() as i64;
                let at = if i < 0 { (i + len).max(0) } else { i.min(len) };
                items.insert(at as usize, x);
            }
        }
        Ok(Value::None)
    }
}
