//! Bridges for constructs the body AST (src/syntax/body.rs) keeps only as
//! `Other`/`Lambda`/`Comprehension` with a span: their parts are cut out of
//! the source text at the top level (outside brackets and strings) and
//! parsed as expressions. To be retired when the AST carries every construct.

use crate::syntax::body::{parse_module, Arg, Expr, ExprKind, FunctionDef, Span, StmtKind};

/// Byte ranges of identifier words and of `:`/`,` at bracket depth 0 outside
/// string literals.
pub fn top_level_tokens(text: &str) -> Vec<(usize, &str)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' | b'"' => {
                let triple = bytes.get(i..i + 3) == Some(&[c, c, c][..]);
                let quote_len = if triple { 3 } else { 1 };
                i += quote_len;
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        i += 2;
                        continue;
                    }
                    if triple {
                        if bytes.get(i..i + 3) == Some(&[c, c, c][..]) {
                            i += 3;
                            break;
                        }
                    } else if bytes[i] == c {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'#' if depth == 0 => break,
            b':' | b',' if depth == 0 => out.push((i, &text[i..i + 1])),
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                // A string prefix such as r"..." or f'...'.
                if i < bytes.len() && (bytes[i] == b'\'' || bytes[i] == b'"') && i - start <= 2 {
                    continue;
                }
                if depth == 0 {
                    out.push((start, &text[start..i]));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Shifts every span of an expression parsed from a fragment back into the file.
fn shift(expr: &mut Expr, by: usize) {
    expr.span = Span::new(expr.span.start + by, expr.span.end + by);
    match &mut expr.kind {
        ExprKind::List(items) | ExprKind::Tuple(items) | ExprKind::Set(items) => {
            items.iter_mut().for_each(|e| shift(e, by))
        }
        ExprKind::Dict(pairs) => {
            for (k, v) in pairs {
                if let Some(k) = k {
                    shift(k, by);
                }
                shift(v, by);
            }
        }
        ExprKind::Attribute(e, _) | ExprKind::Unary(_, e) | ExprKind::Await(e) => shift(e, by),
        ExprKind::Call { func, args } => {
            shift(func, by);
            for arg in args {
                match arg {
                    Arg::Positional(e) | Arg::Star(e) | Arg::DoubleStar(e) => shift(e, by),
                    Arg::Keyword { value, span, .. } => {
                        shift(value, by);
                        *span = Span::new(span.start + by, span.end + by);
                    }
                }
            }
        }
        ExprKind::Subscript(e, items) => {
            shift(e, by);
            items.iter_mut().for_each(|e| shift(e, by));
        }
        ExprKind::Binary(_, a, b) => {
            shift(a, by);
            shift(b, by);
        }
        ExprKind::IfElse { test, body, orelse } => {
            shift(test, by);
            shift(body, by);
            shift(orelse, by);
        }
        _ => {}
    }
}

/// Parses `text` (found at byte `offset` of the file) as one expression.
pub fn parse_expr(text: &str, offset: usize) -> Option<Expr> {
    let wrapped = format!("({text}\n)");
    let module = parse_module(&wrapped);
    let [stmt] = module.body.as_slice() else {
        return None;
    };
    let StmtKind::Expr(expr) = &stmt.kind else {
        return None;
    };
    let mut expr = expr.clone();
    shift(&mut expr, offset.saturating_sub(1));
    Some(expr)
}

/// The call arguments in `text` (the inside of a pair of parentheses).
pub fn parse_args(text: &str, offset: usize) -> Option<Vec<Arg>> {
    let expr = parse_expr(&format!("_({text})"), offset.saturating_sub(2))?;
    match expr.kind {
        ExprKind::Call { args, .. } => Some(args),
        _ => None,
    }
}

/// `lambda params: body` as a function definition whose body returns `body`.
pub fn parse_lambda(text: &str) -> Option<(FunctionDef, String)> {
    let rest = text.trim_start().strip_prefix("lambda")?;
    let colon = top_level_tokens(rest)
        .into_iter()
        .find(|(_, t)| *t == ":")?
        .0;
    let source = format!(
        "def _lambda_({}): return ({})\n",
        &rest[..colon],
        &rest[colon + 1..]
    );
    let module = parse_module(&source);
    match module.body.into_iter().next()?.kind {
        StmtKind::FunctionDef(def) => Some((def, source)),
        _ => None,
    }
}

/// The clauses of a comprehension: `for target in iter` and `if test`.
pub enum Clause {
    For(Expr, Expr),
    If(Expr),
}

/// A comprehension cut into its element (and value, for a dict) and clauses.
pub struct Comprehension {
    /// `[`, `{`, `(` or none (a bare generator argument).
    pub bracket: Option<char>,
    pub element: Expr,
    /// The value of a dict comprehension's `key: value`.
    pub value: Option<Expr>,
    pub clauses: Vec<Clause>,
}

pub fn parse_comprehension(text: &str, offset: usize) -> Option<Comprehension> {
    let trimmed = text.trim_end();
    let (bracket, inner, inner_offset) = match trimmed.chars().next()? {
        c @ ('[' | '{' | '(') => (Some(c), &trimmed[1..trimmed.len() - 1], offset + 1),
        _ => (None, trimmed, offset),
    };
    let tokens = top_level_tokens(inner);
    let first_for = tokens.iter().position(|(_, t)| *t == "for")?;
    let element_text = &inner[..tokens[first_for].0];
    let element_text = element_text
        .trim_end()
        .strip_suffix("async")
        .unwrap_or(element_text);
    let (element, value) = if bracket == Some('{') {
        match tokens[..first_for].iter().find(|(_, t)| *t == ":") {
            Some(&(colon, _)) => (
                parse_expr(&inner[..colon], inner_offset)?,
                Some(parse_expr(
                    &inner[colon + 1..tokens[first_for].0],
                    inner_offset + colon + 1,
                )?),
            ),
            None => (parse_expr(element_text, inner_offset)?, None),
        }
    } else {
        (parse_expr(element_text, inner_offset)?, None)
    };
    let mut clauses = Vec::new();
    let marks: Vec<(usize, &str)> = tokens[first_for..]
        .iter()
        .filter(|(_, t)| *t == "for" || *t == "if")
        .copied()
        .collect();
    for (i, &(at, word)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map(|m| m.0).unwrap_or(inner.len());
        let body_start = at + word.len();
        let body = &inner[body_start..end];
        if word == "for" {
            let in_at = top_level_tokens(body)
                .into_iter()
                .find(|(_, t)| *t == "in")?
                .0;
            let target = parse_expr(&body[..in_at], inner_offset + body_start)?;
            let iter = parse_expr(&body[in_at + 2..], inner_offset + body_start + in_at + 2)?;
            clauses.push(Clause::For(target, iter));
        } else {
            clauses.push(Clause::If(parse_expr(body, inner_offset + body_start)?));
        }
    }
    Some(Comprehension {
        bracket,
        element,
        value,
        clauses,
    })
}

/// The header of a block statement (`class X(Base):`, `except E as e:`):
/// the text from `start` up to its top-level `:`, and that text's offset.
pub fn header(source: &str, start: usize) -> &str {
    let rest = &source[start..];
    let end = top_level_tokens(rest)
        .into_iter()
        .find(|(_, t)| *t == ":")
        .map(|(at, _)| at)
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The text of one simple statement (a decorator, `raise ...`, `del ...`)
/// starting at `start`: up to the end of the logical line or a top-level `;`.
pub fn simple_statement(source: &str, span: Span) -> &str {
    let text = &source[span.start..span.end.min(source.len())];
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 1;
            } else if c == q {
                quote = None;
            }
        } else {
            match c {
                b'\'' | b'"' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b'\n' | b';' | b'#' if depth == 0 => return &text[..i],
                _ => {}
            }
        }
        i += 1;
    }
    text
}
