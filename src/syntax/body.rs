//! Parsing Python source into the AST of [`super::ast`].
//!
//! Three steps, each linear in the input: [`logical_lines`] cuts the file
//! into logical lines (strings and comments skipped, brackets matched), each
//! line is parsed by `grammar/body.pest`, and [`Builder`] nests the lines by
//! indentation, folding `elif`/`else`/`except`/`finally` clauses and
//! decorators into their statements. The first problem found is returned as a
//! [`SyntaxError`]; a module is returned only when the whole file is valid.

use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op as PrattOp, PrattParser};
use pest::Parser;
use pest_derive::Parser;
use std::cell::RefCell;

pub use super::ast::*;

#[derive(Parser)]
#[grammar = "../grammar/body.pest"]
struct BodyParser;

/// Parses a whole Python module.
pub fn parse_module(source: &str) -> Result<Module, SyntaxError> {
    let _timer = crate::diagnostics::timer(crate::diagnostics::Phase::Parse);
    let lines = logical_lines(source)?;
    let mut builder = Builder {
        src: source,
        lines: &lines,
        pos: 0,
    };
    let body = builder.module()?;
    Ok(Module { body })
}

/// Parses a whole module, then leaves out the top-level functions named in
/// `skip`: a run of `upgrade()` never evaluates `downgrade()`, but the whole
/// file must still be valid Python, as it must for Python to import it.
pub fn parse_module_skipping(source: &str, skip: &[&str]) -> Result<Module, SyntaxError> {
    let mut module = parse_module(source)?;
    skip_functions(&mut module, skip);
    Ok(module)
}

/// Leaves out of a parsed module the top-level functions named in `skip`
/// (what [`parse_module_skipping`] returns, from a module parsed before).
pub fn skip_functions(module: &mut Module, skip: &[&str]) {
    if !skip.is_empty() {
        module.body.retain(
            |s| !matches!(&s.kind, StmtKind::FunctionDef(d) if skip.contains(&d.name.as_str())),
        );
    }
}

/// One logical line: its byte range and the column its first token sits at.
#[derive(Debug, Clone, Copy)]
struct LogicalLine {
    start: usize,
    end: usize,
    indent: usize,
    /// Whether a comment or a backslash continuation sits inside the line
    /// (the grammar is given a copy with those blanked out).
    has_comment: bool,
}

fn error_at(
    src: &str,
    kind: &'static str,
    offset: usize,
    message: impl Into<String>,
) -> SyntaxError {
    let (line, column) = super::line_col(src, offset);
    SyntaxError {
        kind,
        message: message.into(),
        offset,
        line,
        column,
    }
}

fn syntax_error(src: &str, offset: usize, message: impl Into<String>) -> SyntaxError {
    error_at(src, "SyntaxError", offset, message)
}

fn closing_of(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

fn bracket_name(c: u8) -> &'static str {
    match c {
        b'(' | b')' => "parenthesis",
        b'[' | b']' => "bracket",
        _ => "brace",
    }
}

/// Cuts the source into logical lines. Brackets and backslashes join physical
/// lines; strings (triple-quoted ones may span lines) and comments are
/// skipped over so their contents never count as brackets. A UTF-8 byte
/// order mark at the start is skipped.
fn logical_lines(src: &str) -> Result<Vec<LogicalLine>, SyntaxError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let n = bytes.len();
    let mut i = if src.starts_with('\u{feff}') { 3 } else { 0 };
    let mut stack: Vec<(u8, usize)> = Vec::new();
    while i < n {
        // At the start of a physical line: measure the indentation.
        let mut indent = 0;
        while i < n && (bytes[i] == b' ' || bytes[i] == b'\t' || bytes[i] == b'\x0c') {
            indent = match bytes[i] {
                b'\t' => (indent / 8 + 1) * 8,
                b'\x0c' => 0,
                _ => indent + 1,
            };
            i += 1;
        }
        if i >= n {
            break;
        }
        match bytes[i] {
            b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < n && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'\\' if matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) => {}
            _ => {}
        }
        let start = i;
        let mut last_code = i;
        let mut has_comment = false;
        while i < n {
            let c = bytes[i];
            match c {
                b'#' => {
                    has_comment = true;
                    while i < n && bytes[i] != b'\n' && bytes[i] != b'\r' {
                        i += 1;
                    }
                }
                b'\\' => {
                    has_comment = true;
                    match bytes.get(i + 1) {
                        Some(b'\n') => i += 2,
                        Some(b'\r') => {
                            i += 2;
                            if bytes.get(i) == Some(&b'\n') {
                                i += 1;
                            }
                        }
                        None => return Err(syntax_error(src, i, "unexpected EOF while parsing")),
                        Some(_) => {
                            return Err(syntax_error(
                                src,
                                i + 1,
                                "unexpected character after line continuation character",
                            ))
                        }
                    }
                    if i >= n {
                        return Err(syntax_error(src, n, "unexpected EOF while parsing"));
                    }
                }
                b'\n' | b'\r' => {
                    if stack.is_empty() {
                        break;
                    }
                    i += 1;
                }
                b'(' | b'[' | b'{' => {
                    if stack.len() >= 200 {
                        return Err(syntax_error(src, i, "too many nested parentheses"));
                    }
                    stack.push((c, i));
                    i += 1;
                    last_code = i;
                }
                b')' | b']' | b'}' => {
                    match stack.pop() {
                        None => {
                            return Err(syntax_error(src, i, format!("unmatched '{}'", c as char)))
                        }
                        Some((open, at)) if closing_of(open) != c => {
                            let (open_line, _) = super::line_col(src, at);
                            let (line, _) = super::line_col(src, i);
                            let on = if open_line == line {
                                String::new()
                            } else {
                                format!(" on line {open_line}")
                            };
                            return Err(syntax_error(
                                src,
                                i,
                                format!(
                                    "closing {} '{}' does not match opening {} '{}'{on}",
                                    bracket_name(c),
                                    c as char,
                                    bracket_name(open),
                                    open as char
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                    i += 1;
                    last_code = i;
                }
                b'\'' | b'"' => {
                    i = skip_string(src, i)?;
                    last_code = i;
                }
                b' ' | b'\t' | b'\x0c' => i += 1,
                _ => {
                    i += 1;
                    last_code = i;
                }
            }
        }
        if let Some(&(open, at)) = stack.last() {
            return Err(syntax_error(
                src,
                at,
                format!("'{}' was never closed", open as char),
            ));
        }
        out.push(LogicalLine {
            start,
            end: last_code.max(start),
            indent,
            has_comment,
        });
    }
    Ok(out)
}

/// Returns the index just past the string literal whose quote is at `i`.
fn skip_string(src: &str, i: usize) -> Result<usize, SyntaxError> {
    let bytes = src.as_bytes();
    let q = bytes[i];
    let n = bytes.len();
    let triple = i + 2 < n && bytes[i + 1] == q && bytes[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    if triple {
        // Skip runs without a quote or backslash with a fast search.
        while j < n {
            match memchr2(q, b'\\', &bytes[j..]) {
                None => break,
                Some(k) => j += k,
            }
            if bytes[j] == b'\\' {
                j += 2;
                continue;
            }
            if j + 2 < n && bytes[j + 1] == q && bytes[j + 2] == q {
                return Ok(j + 3);
            }
            j += 1;
        }
        let (line, _) = super::line_col(src, n);
        return Err(syntax_error(
            src,
            i,
            format!("unterminated triple-quoted string literal (detected at line {line})"),
        ));
    }
    while j < n {
        let c = bytes[j];
        if c == b'\\' {
            j += 2;
            // A backslash before CRLF continues the string past both.
            if j < n && bytes[j - 1] == b'\r' && bytes[j] == b'\n' {
                j += 1;
            }
            continue;
        }
        if c == q {
            return Ok(j + 1);
        }
        if c == b'\n' || c == b'\r' {
            break;
        }
        j += 1;
    }
    let (line, _) = super::line_col(src, j.min(n));
    Err(syntax_error(
        src,
        i,
        format!("unterminated string literal (detected at line {line})"),
    ))
}

fn memchr2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == a || c == b)
}

/// What a logical line turned out to be.
enum LineItem {
    Simple(Vec<Stmt>),
    Decorator(Expr),
    /// A block header, with the statements after its ':' on the same line.
    Header(Clause, Span, Option<Vec<Stmt>>),
}

/// A block header, before its body is known.
enum Clause {
    Def(FunctionDef),
    Class(ClassDef),
    If(Expr),
    Elif(Expr),
    Else,
    For {
        target: Expr,
        iter: Expr,
        is_async: bool,
    },
    While(Expr),
    With {
        items: Vec<WithItem>,
        is_async: bool,
    },
    Try,
    Except {
        type_: Option<Expr>,
        name: Option<String>,
        is_star: bool,
    },
    Finally,
}

impl Clause {
    /// How Python names the statement in "expected an indented block after ...".
    fn description(&self) -> &'static str {
        match self {
            Clause::Def(_) => "function definition",
            Clause::Class(_) => "class definition",
            Clause::If(_) => "'if' statement",
            Clause::Elif(_) => "'elif' statement",
            Clause::Else => "'else' statement",
            Clause::For { .. } => "'for' statement",
            Clause::While(_) => "'while' statement",
            Clause::With { .. } => "'with' statement",
            Clause::Try => "'try' statement",
            Clause::Except { .. } => "'except' statement",
            Clause::Finally => "'finally' statement",
        }
    }
}

/// Which clause the last statement of a block may still take.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    None,
    /// An `if` (or `elif`) chain: `elif` or `else` may follow.
    If,
    /// `for`/`while` without `else` yet.
    Loop,
    /// `try:` with its body only: `except` or `finally` must follow.
    TryBody,
    /// After an `except`: more `except`, `else` or `finally`.
    TryHandlers,
    /// After `try`'s `else`: only `finally`.
    TryElse,
}

struct Builder<'s> {
    src: &'s str,
    lines: &'s [LogicalLine],
    pos: usize,
}

impl<'s> Builder<'s> {
    fn module(&mut self) -> Result<Vec<Stmt>, SyntaxError> {
        match self.lines.first() {
            None => Ok(Vec::new()),
            Some(first) if first.indent > 0 => Err(error_at(
                self.src,
                "IndentationError",
                first.start,
                "unexpected indent",
            )),
            Some(_) => self.block(0),
        }
    }

    /// The statements of the block whose lines sit at exactly `indent`.
    fn block(&mut self, indent: usize) -> Result<Vec<Stmt>, SyntaxError> {
        let mut out: Vec<Stmt> = Vec::new();
        let mut open = Open::None;
        let mut decorators: Vec<Expr> = Vec::new();
        while let Some(line) = self.lines.get(self.pos).copied() {
            if line.indent < indent {
                break;
            }
            if line.indent > indent {
                return Err(error_at(
                    self.src,
                    "IndentationError",
                    line.start,
                    "unexpected indent",
                ));
            }
            self.pos += 1;
            let item = parse_line(self.src, line)?;
            if !decorators.is_empty()
                && !matches!(
                    item,
                    LineItem::Decorator(_)
                        | LineItem::Header(Clause::Def(_) | Clause::Class(_), ..)
                )
            {
                return Err(syntax_error(self.src, line.start, "invalid syntax"));
            }
            match item {
                LineItem::Decorator(e) => {
                    self.close(&out, open)?;
                    open = Open::None;
                    decorators.push(e);
                    if self.lines.get(self.pos).is_none_or(|l| l.indent != indent) {
                        let at = self.lines.get(self.pos).map_or(self.src.len(), |l| l.start);
                        return Err(syntax_error(self.src, at, "invalid syntax"));
                    }
                }
                LineItem::Simple(stmts) => {
                    self.close(&out, open)?;
                    open = Open::None;
                    self.no_deeper_block(indent)?;
                    out.extend(stmts);
                }
                LineItem::Header(clause, span, inline) => {
                    let body = match inline {
                        Some(stmts) => {
                            self.no_deeper_block(indent)?;
                            stmts
                        }
                        None => self.indented_body(indent, &clause, span)?,
                    };
                    let end = body.last().map_or(span.end, |s| s.span.end);
                    open = self.fold(&mut out, open, clause, span, end, body, &mut decorators)?;
                }
            }
        }
        self.close(&out, open)?;
        Ok(out)
    }

    fn no_deeper_block(&self, indent: usize) -> Result<(), SyntaxError> {
        match self.lines.get(self.pos) {
            Some(next) if next.indent > indent => Err(error_at(
                self.src,
                "IndentationError",
                next.start,
                "unexpected indent",
            )),
            _ => Ok(()),
        }
    }

    fn indented_body(
        &mut self,
        indent: usize,
        clause: &Clause,
        span: Span,
    ) -> Result<Vec<Stmt>, SyntaxError> {
        match self.lines.get(self.pos).copied() {
            Some(next) if next.indent > indent => {
                let body = self.block(next.indent)?;
                if let Some(after) = self.lines.get(self.pos) {
                    if after.indent > indent {
                        return Err(error_at(
                            self.src,
                            "IndentationError",
                            after.start,
                            "unindent does not match any outer indentation level",
                        ));
                    }
                }
                Ok(body)
            }
            next => {
                let at = next.map_or(self.src.len(), |l| l.start);
                let (line, _) = super::line_col(self.src, span.start);
                Err(error_at(
                    self.src,
                    "IndentationError",
                    at,
                    format!(
                        "expected an indented block after {} on line {line}",
                        clause.description()
                    ),
                ))
            }
        }
    }

    /// Checks that the block's last statement needs no further clause.
    fn close(&self, out: &[Stmt], open: Open) -> Result<(), SyntaxError> {
        if open == Open::TryBody {
            let at = self.lines.get(self.pos).map_or(self.src.len(), |l| l.start);
            let _ = out;
            return Err(syntax_error(
                self.src,
                at,
                "expected 'except' or 'finally' block",
            ));
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn fold(
        &self,
        out: &mut Vec<Stmt>,
        open: Open,
        clause: Clause,
        span: Span,
        end: usize,
        body: Vec<Stmt>,
        decorators: &mut Vec<Expr>,
    ) -> Result<Open, SyntaxError> {
        let invalid = || syntax_error(self.src, span.start, "invalid syntax");
        let is_continuation = matches!(
            clause,
            Clause::Elif(_) | Clause::Else | Clause::Except { .. } | Clause::Finally
        );
        if !is_continuation {
            self.close(out, open)?;
        }
        let new_stmt = |kind: StmtKind| Stmt {
            kind,
            span: Span::new(span.start, end),
        };
        let extend = |out: &mut Vec<Stmt>| {
            if let Some(last) = out.last_mut() {
                last.span.end = end;
            }
        };
        Ok(match clause {
            Clause::Def(mut def) => {
                def.body = body;
                def.decorators = std::mem::take(decorators);
                let mut stmt = new_stmt(StmtKind::FunctionDef(def));
                if let StmtKind::FunctionDef(d) = &stmt.kind {
                    if let Some(first) = d.decorators.first() {
                        stmt.span.start = first.span.start - 1;
                    }
                }
                out.push(stmt);
                Open::None
            }
            Clause::Class(mut class) => {
                class.body = body;
                class.decorators = std::mem::take(decorators);
                let start = class.decorators.first().map(|d| d.span.start - 1);
                let mut stmt = new_stmt(StmtKind::ClassDef(class));
                if let Some(start) = start {
                    stmt.span.start = start;
                }
                out.push(stmt);
                Open::None
            }
            Clause::If(test) => {
                out.push(new_stmt(StmtKind::If {
                    test,
                    body,
                    orelse: Vec::new(),
                }));
                Open::If
            }
            Clause::For {
                target,
                iter,
                is_async,
            } => {
                out.push(new_stmt(StmtKind::For {
                    target,
                    iter,
                    body,
                    orelse: Vec::new(),
                    is_async,
                }));
                Open::Loop
            }
            Clause::While(test) => {
                out.push(new_stmt(StmtKind::While {
                    test,
                    body,
                    orelse: Vec::new(),
                }));
                Open::Loop
            }
            Clause::With { items, is_async } => {
                out.push(new_stmt(StmtKind::With {
                    items,
                    body,
                    is_async,
                }));
                Open::None
            }
            Clause::Try => {
                out.push(new_stmt(StmtKind::Try(Try {
                    body,
                    handlers: Vec::new(),
                    orelse: Vec::new(),
                    finalbody: Vec::new(),
                })));
                Open::TryBody
            }
            Clause::Elif(test) => {
                if open != Open::If {
                    return Err(invalid());
                }
                let orelse = last_if_orelse(out.last_mut().ok_or_else(invalid)?);
                orelse.push(new_stmt(StmtKind::If {
                    test,
                    body,
                    orelse: Vec::new(),
                }));
                extend(out);
                Open::If
            }
            Clause::Else => {
                let last = out.last_mut().ok_or_else(invalid)?;
                match (open, &mut last.kind) {
                    (Open::If, _) => *last_if_orelse(last) = body,
                    (Open::Loop, StmtKind::For { orelse, .. } | StmtKind::While { orelse, .. }) => {
                        *orelse = body
                    }
                    (Open::TryHandlers, StmtKind::Try(t)) => t.orelse = body,
                    _ => return Err(invalid()),
                }
                extend(out);
                if open == Open::TryHandlers {
                    Open::TryElse
                } else {
                    Open::None
                }
            }
            Clause::Except {
                type_,
                name,
                is_star,
            } => {
                let last = out.last_mut().ok_or_else(invalid)?;
                match (open, &mut last.kind) {
                    (Open::TryBody | Open::TryHandlers, StmtKind::Try(t)) => {
                        t.handlers.push(ExceptHandler {
                            type_,
                            name,
                            body,
                            is_star,
                            span: Span::new(span.start, end),
                        })
                    }
                    _ => return Err(invalid()),
                }
                extend(out);
                Open::TryHandlers
            }
            Clause::Finally => {
                let last = out.last_mut().ok_or_else(invalid)?;
                match (open, &mut last.kind) {
                    (Open::TryBody | Open::TryHandlers | Open::TryElse, StmtKind::Try(t)) => {
                        t.finalbody = body
                    }
                    _ => return Err(invalid()),
                }
                extend(out);
                Open::None
            }
        })
    }
}

/// The `orelse` at the end of an `if`/`elif` chain.
fn last_if_orelse(stmt: &mut Stmt) -> &mut Vec<Stmt> {
    let StmtKind::If { orelse, .. } = &mut stmt.kind else {
        unreachable!("an open if chain ends in an if statement")
    };
    if orelse.len() == 1 && matches!(orelse[0].kind, StmtKind::If { .. }) {
        return last_if_orelse(&mut orelse[0]);
    }
    orelse
}

/// Parses one logical line.
/// The text of a logical line as the grammar sees it: comments and
/// backslash continuations inside it replaced by blanks of the same length
/// (offsets stay those of the file), so the grammar's whitespace is only
/// blanks and line breaks.
fn blank_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    out[i] = b' ';
                    i += 1;
                }
            }
            b'\\' => {
                out[i] = b' ';
                i += 1;
            }
            b'\'' | b'"' => {
                // Strings were checked by the pre-pass; skip to their end.
                let q = bytes[i];
                let triple = bytes.get(i..i + 3) == Some(&[q, q, q][..]);
                i += if triple { 3 } else { 1 };
                while i < bytes.len() {
                    if bytes[i] == b'\\' {
                        i += 2;
                    } else if triple && bytes.get(i..i + 3) == Some(&[q, q, q][..]) {
                        i += 3;
                        break;
                    } else if !triple && bytes[i] == q {
                        i += 1;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes outside strings were replaced by ASCII blanks.
    String::from_utf8(out).expect("still UTF-8")
}

fn parse_line(src: &str, line: LogicalLine) -> Result<LineItem, SyntaxError> {
    let cleaned;
    let text = if line.has_comment {
        cleaned = blank_comments(&src[line.start..line.end]);
        cleaned.as_str()
    } else {
        &src[line.start..line.end]
    };
    let conv = Conv {
        src,
        base: line.start,
        error: RefCell::new(None),
    };
    let pair = match BodyParser::parse(Rule::line, text) {
        Ok(mut pairs) => pairs.next().expect("line"),
        Err(e) => return Err(line_error(src, line.start, text, e)),
    };
    let mut item = None;
    for inner in pair.into_inner() {
        item = Some(match inner.as_rule() {
            Rule::simple_stmts => LineItem::Simple(conv.simple_stmts(inner)),
            Rule::decorator => {
                LineItem::Decorator(conv.named_expr(inner.into_inner().next().expect("expr")))
            }
            Rule::compound => conv.compound(inner),
            _ => continue,
        });
    }
    if let Some(e) = conv.error.into_inner() {
        return Err(e);
    }
    Ok(item.expect("a line holds one item"))
}

/// The SyntaxError for a line the grammar rejects, worded as Python words it
/// where aurora can tell ("expected ':'"), else "invalid syntax".
fn line_error(src: &str, base: usize, text: &str, e: pest::error::Error<Rule>) -> SyntaxError {
    // The first token after a block header that does not end in ':', if it is one.
    let mut after_header = None;
    if let Ok(mut pairs) = BodyParser::parse(Rule::header_only, text) {
        let end = pairs.next().expect("header").as_span().end();
        let rest = text[end..].trim_start_matches([' ', '\t', '\x0c']);
        if !rest.starts_with(':') {
            // CPython says "expected ':'" where the line ends after the header, and after
            // `def`, `try`, `else` and `finally` whatever follows (their ':' is forced);
            // otherwise (`if x y:`) the general "invalid syntax" below.
            let at_line_end = rest.trim().is_empty();
            let mut words = text.split_whitespace();
            let forced = match words.next() {
                Some("def" | "try" | "else" | "finally" | "else:" | "finally:") => true,
                Some("async") => words.next().is_some_and(|w| w.starts_with("def")),
                _ => false,
            };
            if at_line_end {
                return syntax_error(src, base + end, "expected ':'");
            }
            if forced {
                return syntax_error(src, base + text.len() - rest.len(), "expected ':'");
            }
            after_header = Some(text.len() - rest.len());
        }
    }
    let pos = match e.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((p, _)) => p,
    };
    // pest may report a failure at the line's start (an alternative that
    // failed at once); Python points at the token the header cannot take.
    let pos = match after_header {
        Some(at) if pos < at => at,
        _ => pos,
    };
    // pest reports where the furthest attempt failed; Python points at the
    // token there, skipping blanks.
    let mut pos = pos.min(text.len());
    while pos < text.len() && matches!(text.as_bytes()[pos], b' ' | b'\t') {
        pos += 1;
    }
    syntax_error(src, base + pos, "invalid syntax")
}

/// Converts pest pairs of one logical line into AST nodes, shifting spans by
/// the line's offset in the file. The first error found inside literals
/// (strings, f-string fields, assignment targets) is kept in `error`.
struct Conv<'s> {
    src: &'s str,
    base: usize,
    error: RefCell<Option<SyntaxError>>,
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: std::sync::OnceLock<PrattParser<Rule>> = std::sync::OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(PrattOp::infix(Rule::op_or, Assoc::Left))
            .op(PrattOp::infix(Rule::op_and, Assoc::Left))
            .op(PrattOp::prefix(Rule::op_not))
            .op(PrattOp::infix(Rule::op_in, Assoc::Left)
                | PrattOp::infix(Rule::op_not_in, Assoc::Left)
                | PrattOp::infix(Rule::op_is, Assoc::Left)
                | PrattOp::infix(Rule::op_is_not, Assoc::Left)
                | PrattOp::infix(Rule::op_eq, Assoc::Left)
                | PrattOp::infix(Rule::op_ne, Assoc::Left)
                | PrattOp::infix(Rule::op_lt, Assoc::Left)
                | PrattOp::infix(Rule::op_le, Assoc::Left)
                | PrattOp::infix(Rule::op_gt, Assoc::Left)
                | PrattOp::infix(Rule::op_ge, Assoc::Left))
            .op(PrattOp::infix(Rule::op_bitor, Assoc::Left))
            .op(PrattOp::infix(Rule::op_bitxor, Assoc::Left))
            .op(PrattOp::infix(Rule::op_bitand, Assoc::Left))
            .op(PrattOp::infix(Rule::op_shl, Assoc::Left)
                | PrattOp::infix(Rule::op_shr, Assoc::Left))
            .op(PrattOp::infix(Rule::op_add, Assoc::Left)
                | PrattOp::infix(Rule::op_sub, Assoc::Left))
            .op(PrattOp::infix(Rule::op_mul, Assoc::Left)
                | PrattOp::infix(Rule::op_matmul, Assoc::Left)
                | PrattOp::infix(Rule::op_div, Assoc::Left)
                | PrattOp::infix(Rule::op_floordiv, Assoc::Left)
                | PrattOp::infix(Rule::op_mod, Assoc::Left))
            .op(PrattOp::prefix(Rule::op_neg)
                | PrattOp::prefix(Rule::op_pos)
                | PrattOp::prefix(Rule::op_invert))
            .op(PrattOp::infix(Rule::op_pow, Assoc::Right))
            .op(PrattOp::prefix(Rule::op_await))
    })
}

fn bin_op(rule: Rule) -> BinOp {
    match rule {
        Rule::op_or => BinOp::Or,
        Rule::op_and => BinOp::And,
        Rule::op_in => BinOp::In,
        Rule::op_not_in => BinOp::NotIn,
        Rule::op_is => BinOp::Is,
        Rule::op_is_not => BinOp::IsNot,
        Rule::op_eq => BinOp::Eq,
        Rule::op_ne => BinOp::Ne,
        Rule::op_lt => BinOp::Lt,
        Rule::op_le => BinOp::Le,
        Rule::op_gt => BinOp::Gt,
        Rule::op_ge => BinOp::Ge,
        Rule::op_bitor => BinOp::BitOr,
        Rule::op_bitxor => BinOp::BitXor,
        Rule::op_bitand => BinOp::BitAnd,
        Rule::op_shl => BinOp::Shl,
        Rule::op_shr => BinOp::Shr,
        Rule::op_add => BinOp::Add,
        Rule::op_sub => BinOp::Sub,
        Rule::op_mul => BinOp::Mul,
        Rule::op_matmul => BinOp::MatMul,
        Rule::op_div => BinOp::Div,
        Rule::op_floordiv => BinOp::FloorDiv,
        Rule::op_pow => BinOp::Pow,
        _ => BinOp::Mod,
    }
}

/// A folded operand and whether it is an unparenthesized comparison that
/// a following comparison operator extends into a chain.
struct Folded {
    expr: Expr,
    chain: bool,
}

impl<'s> Conv<'s> {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    fn fail(&self, offset: usize, message: impl Into<String>) {
        let mut slot = self.error.borrow_mut();
        if slot.is_none() {
            *slot = Some(syntax_error(self.src, offset, message));
        }
    }

    fn simple_stmts(&self, p: Pair<Rule>) -> Vec<Stmt> {
        p.into_inner().map(|s| self.simple_stmt(s)).collect()
    }

    fn compound(&self, p: Pair<Rule>) -> LineItem {
        let mut inner = p.into_inner();
        let header = inner.next().expect("header");
        let span = self.span(&header);
        let inline_body = inner.next().map(|s| self.simple_stmts(s));
        let clause = self.clause(header);
        LineItem::Header(clause, span, inline_body)
    }

    fn clause(&self, header: Pair<Rule>) -> Clause {
        let rule = header.as_rule();
        let mut is_async = false;
        let mut parts = header.into_inner().filter(|x| {
            if x.as_rule() == Rule::is_async {
                is_async = true;
            }
            !is_keyword(x.as_rule()) && x.as_rule() != Rule::is_async
        });
        match rule {
            Rule::def_header => {
                let name = parts.next().expect("name").as_str().to_string();
                let mut params = Vec::new();
                let mut returns = None;
                for part in parts.by_ref() {
                    match part.as_rule() {
                        Rule::params => params = self.params(part),
                        Rule::returns => {
                            returns = Some(self.expr(part.into_inner().next().expect("expr")))
                        }
                        _ => {}
                    }
                }
                drop(parts);
                Clause::Def(FunctionDef {
                    name,
                    params,
                    body: Vec::new(),
                    decorators: Vec::new(),
                    returns,
                    is_async,
                })
            }
            Rule::class_header => {
                let name = parts.next().expect("name").as_str().to_string();
                let mut bases = Vec::new();
                let mut keywords = Vec::new();
                if let Some(args) = parts.next() {
                    for arg in args.into_inner() {
                        match self.arg(arg) {
                            Arg::Positional(e) => bases.push(e),
                            Arg::Star(e) => {
                                let span = e.span;
                                bases.push(Expr {
                                    kind: ExprKind::Starred(Box::new(e)),
                                    span,
                                })
                            }
                            Arg::Keyword { name, value, span } => keywords.push(Keyword {
                                name: Some(name),
                                value,
                                span,
                            }),
                            Arg::DoubleStar(value) => keywords.push(Keyword {
                                name: None,
                                span: value.span,
                                value,
                            }),
                        }
                    }
                }
                Clause::Class(ClassDef {
                    name,
                    bases,
                    keywords,
                    decorators: Vec::new(),
                    body: Vec::new(),
                })
            }
            Rule::with_header => {
                let items = parts
                    .map(|item| {
                        let mut it = item.into_inner().filter(|x| !is_keyword(x.as_rule()));
                        let context = self.expr(it.next().expect("context"));
                        let target = it.next().map(|t| self.target(t));
                        WithItem { context, target }
                    })
                    .collect();
                Clause::With { items, is_async }
            }
            Rule::if_header => Clause::If(self.named_expr(parts.next().expect("test"))),
            Rule::elif_header => Clause::Elif(self.named_expr(parts.next().expect("test"))),
            Rule::while_header => Clause::While(self.named_expr(parts.next().expect("test"))),
            Rule::else_header => Clause::Else,
            Rule::for_header => {
                let target = self.target_list(parts.next().expect("target"));
                let iter = self.star_exprs(parts.next().expect("iter"));
                Clause::For {
                    target,
                    iter,
                    is_async,
                }
            }
            Rule::try_header => Clause::Try,
            Rule::except_header => {
                let mut is_star = false;
                let mut type_ = None;
                let mut name = None;
                for part in parts {
                    match part.as_rule() {
                        Rule::except_star => is_star = true,
                        Rule::expr => type_ = Some(self.expr(part)),
                        _ => name = Some(part.as_str().to_string()),
                    }
                }
                Clause::Except {
                    type_,
                    name,
                    is_star,
                }
            }
            _ => Clause::Finally,
        }
    }

    /// Parameters of a `def` or a `lambda`, with their kinds.
    fn params(&self, p: Pair<Rule>) -> Vec<Param> {
        let mut out: Vec<Param> = Vec::new();
        let mut keyword_only = false;
        for item in p.into_inner() {
            let span = self.span(&item);
            let rule = item.as_rule();
            if rule == Rule::param_slash {
                for param in out.iter_mut() {
                    if param.kind == ParamKind::PositionalOrKeyword {
                        param.kind = ParamKind::PositionalOnly;
                    }
                }
                continue;
            }
            let mut name = None;
            let mut annotation = None;
            let mut default = None;
            for part in item.into_inner() {
                match part.as_rule() {
                    Rule::ident => name = Some(part.as_str().to_string()),
                    Rule::param_ann => {
                        annotation = Some(self.expr(part.into_inner().next().expect("expr")))
                    }
                    Rule::param_default => {
                        default = Some(self.expr(part.into_inner().next().expect("expr")))
                    }
                    _ => {}
                }
            }
            let (kind, stars) = match rule {
                Rule::param_star | Rule::lambda_param_star => {
                    keyword_only = true;
                    if name.is_none() {
                        // A bare `*`: what follows is keyword-only.
                        continue;
                    }
                    (ParamKind::VarPositional, 1)
                }
                Rule::param_dstar | Rule::lambda_param_dstar => (ParamKind::VarKeyword, 2),
                _ if keyword_only => (ParamKind::KeywordOnly, 0),
                _ => (ParamKind::PositionalOrKeyword, 0),
            };
            let name = name.expect("parameter name");
            if out.iter().any(|p| p.name == name) {
                self.fail(
                    span.start,
                    format!("duplicate argument '{name}' in function definition"),
                );
            }
            out.push(Param {
                name,
                default,
                stars,
                span,
                annotation,
                kind,
            });
        }
        let mut seen_default = false;
        for param in &out {
            match param.kind {
                ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword => {
                    if param.default.is_some() {
                        seen_default = true;
                    } else if seen_default {
                        self.fail(
                            param.span.start,
                            "non-default argument follows default argument",
                        );
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn simple_stmt(&self, p: Pair<Rule>) -> Stmt {
        let span = self.span(&p);
        let rule = p.as_rule();
        let kind = match rule {
            Rule::pass_stmt => StmtKind::Pass,
            Rule::break_stmt => StmtKind::Break,
            Rule::continue_stmt => StmtKind::Continue,
            Rule::return_stmt => StmtKind::Return(
                p.into_inner()
                    .find(|x| x.as_rule() == Rule::star_exprs)
                    .map(|x| self.star_exprs(x)),
            ),
            Rule::import_stmt => StmtKind::Import(
                p.into_inner()
                    .filter(|x| x.as_rule() == Rule::import_as)
                    .map(|x| {
                        let span = self.span(&x);
                        let mut it = x.into_inner().filter(|y| !is_keyword(y.as_rule()));
                        let name = dotted_name(it.next().expect("dotted").as_str());
                        let alias = it.next().map(|a| a.as_str().to_string());
                        ImportName { name, alias, span }
                    })
                    .collect(),
            ),
            Rule::from_stmt => {
                let mut module = String::new();
                let mut names = Vec::new();
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::relative_dots => module.push_str(part.as_str()),
                        Rule::dotted => module.push_str(&dotted_name(part.as_str())),
                        Rule::from_names => {
                            let nspan = self.span(&part);
                            if part.as_str() == "*" {
                                names.push(ImportName {
                                    name: "*".to_string(),
                                    alias: None,
                                    span: nspan,
                                });
                            }
                            for n in part.into_inner() {
                                let span = self.span(&n);
                                let mut it = n.into_inner().filter(|y| !is_keyword(y.as_rule()));
                                let name = it.next().expect("name").as_str().to_string();
                                let alias = it.next().map(|a| a.as_str().to_string());
                                names.push(ImportName { name, alias, span });
                            }
                        }
                        _ => {}
                    }
                }
                StmtKind::FromImport { module, names }
            }
            Rule::raise_stmt => {
                let mut exc = None;
                let mut cause = None;
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::expr => exc = Some(self.expr(part)),
                        Rule::raise_from => {
                            cause = Some(self.expr(part.into_inner().nth(1).expect("cause")))
                        }
                        _ => {}
                    }
                }
                StmtKind::Raise { exc, cause }
            }
            Rule::global_stmt | Rule::nonlocal_stmt => {
                let names = p
                    .into_inner()
                    .filter(|x| x.as_rule() == Rule::ident)
                    .map(|x| x.as_str().to_string())
                    .collect();
                if rule == Rule::global_stmt {
                    StmtKind::Global(names)
                } else {
                    StmtKind::Nonlocal(names)
                }
            }
            Rule::del_stmt => {
                let list = p.into_inner().nth(1).expect("targets");
                let target = self.target_list(list);
                match target.kind {
                    ExprKind::Tuple(items) if !target_had_parens(self.src, &target.span) => {
                        StmtKind::Del(items)
                    }
                    _ => StmtKind::Del(vec![target]),
                }
            }
            Rule::assert_stmt => {
                let mut it = p.into_inner().filter(|x| x.as_rule() == Rule::expr);
                let test = self.expr(it.next().expect("test"));
                let msg = it.next().map(|m| self.expr(m));
                StmtKind::Assert { test, msg }
            }
            Rule::yield_stmt => {
                StmtKind::Expr(self.yield_expr(p.into_inner().next().expect("yield")))
            }
            _ => self.expr_stmt(p),
        };
        Stmt { kind, span }
    }

    fn expr_stmt(&self, p: Pair<Rule>) -> StmtKind {
        let mut it = p.into_inner();
        let first = self.star_exprs(it.next().expect("expression"));
        let mut values = vec![first];
        let mut annotation = None;
        for part in it {
            match part.as_rule() {
                Rule::ann_assign => {
                    let mut inner = part.into_inner();
                    annotation = Some(self.expr(inner.next().expect("annotation")));
                    if let Some(v) = inner.next() {
                        values.push(self.rhs(v));
                    }
                    if !matches!(
                        values[0].kind,
                        ExprKind::Name(_) | ExprKind::Attribute(..) | ExprKind::Subscript(..)
                    ) {
                        self.fail(
                            values[0].span.start,
                            "only single target (not tuple) can be annotated",
                        );
                    }
                    let mut values = values;
                    let target = values.remove(0);
                    return StmtKind::Assign {
                        targets: vec![target],
                        annotation,
                        value: values.pop(),
                    };
                }
                Rule::aug_assign => {
                    let mut inner = part.into_inner();
                    let op = match inner.next().expect("op").as_str() {
                        "+=" => BinOp::Add,
                        "-=" => BinOp::Sub,
                        "*=" => BinOp::Mul,
                        "/=" => BinOp::Div,
                        "//=" => BinOp::FloorDiv,
                        "%=" => BinOp::Mod,
                        "|=" => BinOp::BitOr,
                        "&=" => BinOp::BitAnd,
                        "^=" => BinOp::BitXor,
                        ">>=" => BinOp::Shr,
                        "<<=" => BinOp::Shl,
                        "**=" => BinOp::Pow,
                        _ => BinOp::MatMul,
                    };
                    let value = self.rhs(inner.next().expect("value"));
                    let target = values.pop().expect("target");
                    if !matches!(
                        target.kind,
                        ExprKind::Name(_) | ExprKind::Attribute(..) | ExprKind::Subscript(..)
                    ) {
                        self.fail(
                            target.span.start,
                            "'expression' is an illegal expression for augmented assignment",
                        );
                    }
                    return StmtKind::AugAssign { target, op, value };
                }
                _ => values.push(self.rhs(part.into_inner().next().expect("value"))),
            }
        }
        if values.len() == 1 {
            return StmtKind::Expr(values.pop().expect("one"));
        }
        let value = values.pop();
        for t in &values {
            self.check_target(t);
        }
        StmtKind::Assign {
            targets: values,
            annotation,
            value,
        }
    }

    /// Reports a left-hand side Python cannot assign to.
    fn check_target(&self, t: &Expr) {
        match &t.kind {
            ExprKind::Name(_) | ExprKind::Attribute(..) | ExprKind::Subscript(..) => {}
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for i in items {
                    self.check_target(i)
                }
            }
            ExprKind::Starred(inner) => self.check_target(inner),
            other => {
                let what = match other {
                    ExprKind::Call { .. } => "function call",
                    ExprKind::Str(_)
                    | ExprKind::Int(_)
                    | ExprKind::Float(_)
                    | ExprKind::Bytes(_) => "literal",
                    _ => "expression",
                };
                self.fail(
                    t.span.start,
                    format!("cannot assign to {what} here. Maybe you meant '==' instead of '='?"),
                );
            }
        }
    }

    fn rhs(&self, p: Pair<Rule>) -> Expr {
        match p.as_rule() {
            Rule::yield_expr => self.yield_expr(p),
            _ => self.star_exprs(p),
        }
    }

    fn yield_expr(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut value = None;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::yield_from => {
                    let e = self.expr(part.into_inner().nth(1).expect("expr"));
                    return Expr {
                        kind: ExprKind::YieldFrom(Box::new(e)),
                        span,
                    };
                }
                Rule::star_exprs => value = Some(Box::new(self.star_exprs(part))),
                _ => {}
            }
        }
        Expr {
            kind: ExprKind::Yield(value),
            span,
        }
    }

    fn target_list(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut trailing = false;
        let mut items = Vec::new();
        for t in p.into_inner() {
            match t.as_rule() {
                Rule::trailing_comma => trailing = true,
                _ => items.push(self.target(t)),
            }
        }
        if items.len() == 1 && !trailing {
            items.pop().expect("one")
        } else {
            Expr {
                kind: ExprKind::Tuple(items),
                span,
            }
        }
    }

    fn target(&self, p: Pair<Rule>) -> Expr {
        let inner = p.into_inner().next().expect("target");
        let t = match inner.as_rule() {
            Rule::star_target => {
                let span = self.span(&inner);
                let e = self.primary(inner.into_inner().next().expect("primary"));
                Expr {
                    kind: ExprKind::Starred(Box::new(e)),
                    span,
                }
            }
            _ => self.primary(inner),
        };
        self.check_target(&t);
        t
    }

    /// A comma-separated run: one item without a comma is that item.
    fn star_exprs(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut items = Vec::new();
        let mut trailing = false;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::trailing_comma => trailing = true,
                _ => items.push(self.star_or_named(part)),
            }
        }
        if items.len() == 1 && !trailing {
            let e = items.pop().expect("one");
            if matches!(e.kind, ExprKind::Starred(_)) {
                self.fail(e.span.start, "can't use starred expression here");
            }
            e
        } else {
            Expr {
                kind: ExprKind::Tuple(items),
                span,
            }
        }
    }

    fn star_or_named(&self, p: Pair<Rule>) -> Expr {
        match p.as_rule() {
            Rule::name
            | Rule::strings
            | Rule::number
            | Rule::kw_none
            | Rule::kw_true
            | Rule::kw_false => self.atom(p),
            Rule::star_expr => {
                let span = self.span(&p);
                let e = self.disjunction(p.into_inner().next().expect("expr"));
                Expr {
                    kind: ExprKind::Starred(Box::new(e)),
                    span,
                }
            }
            _ => self.named_expr(p),
        }
    }

    fn named_expr(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let first = self.expr(it.next().expect("expr"));
        let Some(walrus) = it.next() else {
            return first;
        };
        let value = self.expr(walrus.into_inner().next().expect("value"));
        let ExprKind::Name(target) = first.kind else {
            self.fail(
                first.span.start,
                "cannot use assignment expressions with expression",
            );
            return value;
        };
        Expr {
            kind: ExprKind::NamedExpr {
                target,
                value: Box::new(value),
            },
            span,
        }
    }

    fn expr(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut it = p.into_inner();
        let first = it.next().expect("expr body");
        if first.as_rule() == Rule::lambda {
            return self.lambda(first);
        }
        let body = self.disjunction(first);
        match it.next() {
            None => body,
            Some(if_else) => {
                let mut parts = if_else.into_inner().filter(|x| !is_keyword(x.as_rule()));
                let test = self.disjunction(parts.next().expect("test"));
                let orelse = self.expr(parts.next().expect("orelse"));
                Expr {
                    kind: ExprKind::IfElse {
                        test: Box::new(test),
                        body: Box::new(body),
                        orelse: Box::new(orelse),
                    },
                    span,
                }
            }
        }
    }

    fn lambda(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut params = Vec::new();
        let mut body = None;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::lambda_params => params = self.params(part),
                Rule::expr => body = Some(self.expr(part)),
                _ => {}
            }
        }
        Expr {
            kind: ExprKind::Lambda(Box::new(Lambda {
                params,
                body: body.expect("lambda body"),
            })),
            span,
        }
    }

    fn disjunction(&self, p: Pair<Rule>) -> Expr {
        self.fold(p.into_inner()).expr
    }

    fn fold(&self, pairs: Pairs<Rule>) -> Folded {
        pratt()
            .map_primary(|u| Folded {
                expr: self.primary(u),
                chain: false,
            })
            .map_prefix(|op, rhs| {
                let start = self.base + op.as_span().start();
                let span = Span::new(start, rhs.expr.span.end);
                let kind = match op.as_rule() {
                    Rule::op_await => ExprKind::Await(Box::new(rhs.expr)),
                    rule => {
                        let op = match rule {
                            Rule::op_neg => UnaryOp::Neg,
                            Rule::op_pos => UnaryOp::Pos,
                            Rule::op_invert => UnaryOp::Invert,
                            _ => UnaryOp::Not,
                        };
                        ExprKind::Unary(op, Box::new(rhs.expr))
                    }
                };
                Folded {
                    expr: Expr { kind, span },
                    chain: false,
                }
            })
            .map_infix(|lhs, op, rhs| {
                let op = bin_op(op.as_rule());
                let span = Span::new(lhs.expr.span.start, rhs.expr.span.end);
                if op.is_comparison() {
                    if lhs.chain {
                        let kind = match lhs.expr.kind {
                            ExprKind::Binary(first, l, r) => ExprKind::Compare {
                                left: l,
                                ops: vec![first, op],
                                comparators: vec![*r, rhs.expr],
                            },
                            ExprKind::Compare {
                                left,
                                mut ops,
                                mut comparators,
                            } => {
                                ops.push(op);
                                comparators.push(rhs.expr);
                                ExprKind::Compare {
                                    left,
                                    ops,
                                    comparators,
                                }
                            }
                            other => other,
                        };
                        return Folded {
                            expr: Expr { kind, span },
                            chain: true,
                        };
                    }
                    return Folded {
                        expr: Expr {
                            kind: ExprKind::Binary(op, Box::new(lhs.expr), Box::new(rhs.expr)),
                            span,
                        },
                        chain: true,
                    };
                }
                Folded {
                    expr: Expr {
                        kind: ExprKind::Binary(op, Box::new(lhs.expr), Box::new(rhs.expr)),
                        span,
                    },
                    chain: false,
                }
            })
            .parse(pairs)
    }

    fn primary(&self, p: Pair<Rule>) -> Expr {
        let start = self.span(&p).start;
        let mut it = p.into_inner();
        let mut e = self.atom(it.next().expect("atom"));
        for trailer in it {
            let end = self.span(&trailer).end;
            let span = Span::new(start, end);
            let kind = match trailer.as_rule() {
                Rule::call => {
                    let args: Vec<Arg> = trailer
                        .into_inner()
                        .next()
                        .map(|a| a.into_inner().map(|x| self.arg(x)).collect())
                        .unwrap_or_default();
                    self.check_args(&args);
                    ExprKind::Call {
                        func: Box::new(e),
                        args,
                    }
                }
                Rule::attribute => {
                    let name = trailer
                        .into_inner()
                        .next()
                        .expect("ident")
                        .as_str()
                        .to_string();
                    ExprKind::Attribute(Box::new(e), name)
                }
                _ => {
                    let items = trailer.into_inner().next().expect("slices");
                    let mut trailing = false;
                    let mut out = Vec::new();
                    for s in items.into_inner() {
                        match s.as_rule() {
                            Rule::trailing_comma => trailing = true,
                            _ => out.push(self.slice_item(s)),
                        }
                    }
                    if out.len() == 1 && trailing {
                        let only = out.pop().expect("one");
                        let tspan = only.span;
                        out.push(Expr {
                            kind: ExprKind::Tuple(vec![only]),
                            span: tspan,
                        });
                    }
                    ExprKind::Subscript(Box::new(e), out)
                }
            };
            e = Expr { kind, span };
        }
        e
    }

    fn slice_item(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut lower = None;
        let mut rest = None;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::slice_lower => {
                    lower = Some(self.named_expr(part.into_inner().next().expect("expr")))
                }
                Rule::star_expr => return self.star_or_named(part),
                _ => rest = Some(part),
            }
        }
        let Some(rest) = rest else {
            return lower.expect("index");
        };
        let mut upper = None;
        let mut step = None;
        for part in rest.into_inner() {
            match part.as_rule() {
                Rule::slice_upper => {
                    upper = Some(Box::new(self.expr(part.into_inner().next().expect("expr"))))
                }
                Rule::slice_step => {
                    step = Some(Box::new(self.expr(part.into_inner().next().expect("expr"))))
                }
                _ => {}
            }
        }
        Expr {
            kind: ExprKind::Slice {
                lower: lower.map(Box::new),
                upper,
                step,
            },
            span,
        }
    }

    /// Python's rules on argument order.
    fn check_args(&self, args: &[Arg]) {
        let mut seen_keyword = false;
        let mut seen_double_star = false;
        for a in args {
            match a {
                Arg::Positional(e) => {
                    if seen_double_star {
                        self.fail(
                            e.span.start,
                            "positional argument follows keyword argument unpacking",
                        );
                    } else if seen_keyword {
                        self.fail(e.span.start, "positional argument follows keyword argument");
                    }
                }
                Arg::Star(e) => {
                    if seen_double_star {
                        self.fail(
                            e.span.start,
                            "iterable argument unpacking follows keyword argument unpacking",
                        );
                    }
                }
                Arg::Keyword { .. } => seen_keyword = true,
                Arg::DoubleStar(_) => seen_double_star = true,
            }
        }
        if args.len() > 1 {
            for a in args {
                if let Arg::Positional(Expr {
                    kind: ExprKind::GeneratorExp { .. },
                    span,
                }) = a
                {
                    if self.src.as_bytes().get(span.start) != Some(&b'(') {
                        self.fail(span.start, "Generator expression must be parenthesized");
                    }
                }
            }
        }
    }

    fn arg(&self, p: Pair<Rule>) -> Arg {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::star_arg => Arg::Star(self.expr(p.into_inner().next().expect("expr"))),
            Rule::dstar_arg => Arg::DoubleStar(self.expr(p.into_inner().next().expect("expr"))),
            Rule::name
            | Rule::strings
            | Rule::number
            | Rule::kw_none
            | Rule::kw_true
            | Rule::kw_false => Arg::Positional(self.atom(p)),
            Rule::fast_kwarg => {
                let mut it = p.into_inner();
                let name = it.next().expect("name").as_str().to_string();
                let value = self.atom(it.next().expect("value"));
                Arg::Keyword { name, value, span }
            }
            _ => {
                let mut it = p.into_inner();
                let e = self.named_expr(it.next().expect("expr"));
                match it.next() {
                    Some(kw) if kw.as_rule() == Rule::kw_value => {
                        let value = self.expr(kw.into_inner().next().expect("value"));
                        let parenthesized = self.src.as_bytes().get(e.span.start) == Some(&b'(');
                        match e.kind {
                            ExprKind::Name(name) if !parenthesized => {
                                Arg::Keyword { name, value, span }
                            }
                            _ => {
                                self.fail(
                                    e.span.start,
                                    "expression cannot contain assignment, perhaps you meant \"==\"?",
                                );
                                Arg::Positional(value)
                            }
                        }
                    }
                    Some(comp) => Arg::Positional(Expr {
                        kind: ExprKind::GeneratorExp {
                            elt: Box::new(e),
                            generators: self.comprehension(comp),
                        },
                        span,
                    }),
                    None => Arg::Positional(e),
                }
            }
        }
    }

    fn comprehension(&self, p: Pair<Rule>) -> Vec<Comprehension> {
        p.into_inner()
            .map(|f| {
                let mut is_async = false;
                let mut target = None;
                let mut iter = None;
                let mut ifs = Vec::new();
                for part in f.into_inner() {
                    match part.as_rule() {
                        Rule::is_async => is_async = true,
                        Rule::target_list => target = Some(self.target_list(part)),
                        Rule::disjunction => iter = Some(self.disjunction(part)),
                        Rule::comp_if => ifs.push(
                            self.disjunction(
                                part.into_inner()
                                    .find(|x| x.as_rule() == Rule::disjunction)
                                    .expect("condition"),
                            ),
                        ),
                        _ => {}
                    }
                }
                Comprehension {
                    target: target.expect("target"),
                    iter: iter.expect("iter"),
                    ifs,
                    is_async,
                }
            })
            .collect()
    }

    fn atom(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::name => ExprKind::Name(p.as_str().to_string()),
            Rule::kw_none => ExprKind::None,
            Rule::kw_true => ExprKind::Bool(true),
            Rule::kw_false => ExprKind::Bool(false),
            Rule::ellipsis => ExprKind::Ellipsis,
            Rule::number => number(p.as_str()),
            Rule::strings => return self.strings(p),
            Rule::paren | Rule::list => {
                let is_list = p.as_rule() == Rule::list;
                let mut items = Vec::new();
                let mut trailing = false;
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::comprehension => {
                            let elt = items.pop().expect("element");
                            let generators = self.comprehension(part);
                            let kind = if is_list {
                                ExprKind::ListComp {
                                    elt: Box::new(elt),
                                    generators,
                                }
                            } else {
                                ExprKind::GeneratorExp {
                                    elt: Box::new(elt),
                                    generators,
                                }
                            };
                            return Expr { kind, span };
                        }
                        Rule::trailing_comma => trailing = true,
                        Rule::yield_expr => items.push(self.yield_expr(part)),
                        _ => items.push(self.star_or_named(part)),
                    }
                }
                if is_list {
                    ExprKind::List(items)
                } else if items.len() == 1 && !trailing {
                    let mut e = items.pop().expect("one");
                    if matches!(e.kind, ExprKind::Starred(_)) {
                        self.fail(e.span.start, "cannot use starred expression here");
                    }
                    e.span = span;
                    return e;
                } else {
                    ExprKind::Tuple(items)
                }
            }
            Rule::dict_or_set => {
                let mut dict: Option<Vec<(Option<Expr>, Expr)>> = None;
                let mut set = Vec::new();
                let mut pending: Option<Expr> = None;
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::dict_value => {
                            let key = pending.take().expect("key");
                            let value = self.expr(part.into_inner().next().expect("value"));
                            dict.get_or_insert_with(Vec::new).push((Some(key), value));
                        }
                        Rule::dict_splat => {
                            let value = self.disjunction(part.into_inner().next().expect("v"));
                            dict.get_or_insert_with(Vec::new).push((None, value));
                        }
                        Rule::comprehension => {
                            let generators = self.comprehension(part);
                            let kind = match dict.as_mut().and_then(|d| d.pop()) {
                                Some((Some(key), value)) => ExprKind::DictComp {
                                    key: Box::new(key),
                                    value: Box::new(value),
                                    generators,
                                },
                                _ => ExprKind::SetComp {
                                    elt: Box::new(pending.take().expect("element")),
                                    generators,
                                },
                            };
                            return Expr { kind, span };
                        }
                        Rule::trailing_comma => {}
                        Rule::expr => pending = Some(self.expr(part)),
                        _ => {
                            if let Some(prev) = pending.take() {
                                set.push(prev);
                            }
                            pending = Some(self.star_or_named(part));
                        }
                    }
                }
                if let Some(d) = dict {
                    ExprKind::Dict(d)
                } else {
                    set.extend(pending);
                    if set.is_empty() {
                        ExprKind::Dict(Vec::new())
                    } else {
                        ExprKind::Set(set)
                    }
                }
            }
            _ => ExprKind::Name(p.as_str().to_string()),
        };
        Expr { kind, span }
    }

    fn strings(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut text = String::new();
        let mut bytes: Option<Vec<u8>> = None;
        let mut parts: Option<Vec<FStringPart>> = None;
        let mut saw_str = false;
        for s in p.into_inner() {
            let s_start = self.base + s.as_span().start();
            let mut prefix = String::new();
            let mut body = "";
            let mut body_start = 0;
            for part in s.into_inner() {
                match part.as_rule() {
                    Rule::string_prefix => prefix = part.as_str().to_ascii_lowercase(),
                    Rule::long_string_dq | Rule::long_string_sq => {
                        let t = part.as_str();
                        body = &t[3..t.len() - 3];
                        body_start = self.base + part.as_span().start() + 3;
                    }
                    _ => {
                        let t = part.as_str();
                        body = &t[1..t.len() - 1];
                        body_start = self.base + part.as_span().start() + 1;
                    }
                }
            }
            let raw = prefix.contains('r');
            if prefix.contains('b') {
                if saw_str || parts.is_some() {
                    self.fail(s_start, "cannot mix bytes and nonbytes literals");
                }
                match super::strings::decode_bytes(body, raw) {
                    Ok(b) => bytes.get_or_insert_with(Vec::new).extend(b),
                    Err((at, message)) => self.fail(body_start + at, message),
                }
                continue;
            }
            saw_str = true;
            if bytes.is_some() {
                self.fail(s_start, "cannot mix bytes and nonbytes literals");
            }
            if prefix.contains('f') {
                let list = parts.get_or_insert_with(Vec::new);
                if !text.is_empty() {
                    list.push(FStringPart::Literal(std::mem::take(&mut text)));
                }
                let fparts = self.fstring(body, body_start, raw, 0);
                for part in fparts {
                    push_part(list, part);
                }
                continue;
            }
            match super::strings::decode_str(body, raw) {
                Ok(v) => match parts.as_mut() {
                    Some(list) => push_part(list, FStringPart::Literal(v)),
                    None => text.push_str(&v),
                },
                Err((at, message)) => self.fail(body_start + at, message),
            }
        }
        let kind = if let Some(b) = bytes {
            ExprKind::Bytes(b)
        } else if let Some(list) = parts {
            ExprKind::FString(list)
        } else {
            ExprKind::Str(text)
        };
        Expr { kind, span }
    }

    /// Splits an f-string body into literal text and fields. `start` is the
    /// body's offset in the file; `depth` counts nested format specs.
    fn fstring(&self, body: &str, start: usize, raw: bool, depth: usize) -> Vec<FStringPart> {
        let bytes = body.as_bytes();
        let mut out = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        let flush = |out: &mut Vec<FStringPart>, from: usize, to: usize| {
            if from < to {
                let piece = &body[from..to];
                match super::strings::decode_str(piece, raw) {
                    Ok(v) => push_part(out, FStringPart::Literal(v)),
                    Err((at, message)) => self.fail(start + from + at, message),
                }
            }
        };
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if !raw => i += 2,
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    flush(&mut out, literal_start, i + 1);
                    i += 2;
                    literal_start = i;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    flush(&mut out, literal_start, i + 1);
                    i += 2;
                    literal_start = i;
                }
                b'}' => {
                    self.fail(start + i, "f-string: single '}' is not allowed");
                    return out;
                }
                b'{' => {
                    flush(&mut out, literal_start, i);
                    match self.fstring_field(body, start, i, raw, depth) {
                        Some((field, end)) => {
                            out.push(FStringPart::Field(field));
                            i = end;
                            literal_start = i;
                        }
                        None => return out,
                    }
                }
                _ => i += 1,
            }
        }
        flush(&mut out, literal_start, bytes.len().min(i));
        out
    }

    /// Parses the field whose '{' is at `open`; returns it and the offset
    /// just past its '}'.
    fn fstring_field(
        &self,
        body: &str,
        start: usize,
        open: usize,
        raw: bool,
        depth: usize,
    ) -> Option<(FStringField, usize)> {
        let bytes = body.as_bytes();
        if depth >= 2 {
            self.fail(start + open, "f-string: expressions nested too deeply");
            return None;
        }
        // Find the end of the expression: the first '!', ':', '=' (not part
        // of an operator) or '}' outside brackets and strings.
        let mut i = open + 1;
        let mut nesting = 0usize;
        let expr_end;
        loop {
            let Some(&c) = bytes.get(i) else {
                self.fail(start + open, "f-string: expecting '}'");
                return None;
            };
            match c {
                b'\'' | b'"' => {
                    let q = c;
                    i += 1;
                    while i < bytes.len() && bytes[i] != q {
                        i += 1;
                    }
                    i += 1;
                    continue;
                }
                b'\\' => {
                    self.fail(
                        start + i,
                        "f-string expression part cannot include a backslash",
                    );
                    return None;
                }
                b'#' => {
                    self.fail(start + i, "f-string expression part cannot include '#'");
                    return None;
                }
                b'(' | b'[' | b'{' => nesting += 1,
                b')' | b']' | b'}' if nesting > 0 => nesting -= 1,
                b'}' => {
                    expr_end = i;
                    break;
                }
                b'!' if nesting == 0 && bytes.get(i + 1) != Some(&b'=') => {
                    expr_end = i;
                    break;
                }
                b':' if nesting == 0 => {
                    expr_end = i;
                    break;
                }
                b'=' if nesting == 0
                    && !matches!(bytes.get(i + 1), Some(b'='))
                    && !matches!(
                        i.checked_sub(1).map(|k| bytes[k]),
                        Some(b'=' | b'!' | b'<' | b'>')
                    ) =>
                {
                    expr_end = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let expr_text = &body[open + 1..expr_end];
        if expr_text.trim().is_empty() {
            self.fail(start + open, "f-string: empty expression not allowed");
            return None;
        }
        let expr = self.fstring_expr(expr_text, start + open + 1)?;
        let mut i = expr_end;
        let mut debug_text = None;
        if bytes[i] == b'=' {
            debug_text = Some(body[open + 1..=i].to_string());
            i += 1;
        }
        let mut conversion = None;
        if bytes.get(i) == Some(&b'!') {
            match bytes.get(i + 1) {
                Some(&c @ (b's' | b'r' | b'a')) => conversion = Some(c as char),
                _ => {
                    self.fail(
                        start + i,
                        "f-string: invalid conversion character: expected 's', 'r', or 'a'",
                    );
                    return None;
                }
            }
            i += 2;
        }
        let mut spec = None;
        if bytes.get(i) == Some(&b':') {
            // The spec runs to the matching '}', and may hold fields.
            let spec_start = i + 1;
            let mut j = spec_start;
            let mut level = 0usize;
            while j < bytes.len() {
                match bytes[j] {
                    b'{' => level += 1,
                    b'}' if level == 0 => break,
                    b'}' => level -= 1,
                    _ => {}
                }
                j += 1;
            }
            if j >= bytes.len() {
                self.fail(start + open, "f-string: expecting '}'");
                return None;
            }
            spec = Some(self.fstring(&body[spec_start..j], start + spec_start, raw, depth + 1));
            i = j;
        }
        if bytes.get(i) != Some(&b'}') {
            self.fail(start + i.min(bytes.len()), "f-string: expecting '}'");
            return None;
        }
        if debug_text.is_some() && conversion.is_none() && spec.is_none() {
            conversion = Some('r');
        }
        Some((
            FStringField {
                expr,
                debug_text,
                conversion,
                spec,
                span: Span::new(start + open, start + i + 1),
            },
            i + 1,
        ))
    }

    /// Parses the expression of an f-string field, at `offset` in the file.
    fn fstring_expr(&self, text: &str, offset: usize) -> Option<Expr> {
        let trimmed = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        let lead = text.len() - trimmed.len();
        let trimmed = trimmed.trim_end_matches([' ', '\t', '\n', '\r', '\x0c']);
        match BodyParser::parse(Rule::fstring_field, trimmed) {
            Ok(mut pairs) => {
                let inner = Conv {
                    src: self.src,
                    base: offset + lead,
                    error: RefCell::new(None),
                };
                let pair = pairs.next().expect("field").into_inner().next().expect("e");
                let e = match pair.as_rule() {
                    Rule::yield_expr => inner.yield_expr(pair),
                    _ => inner.star_exprs(pair),
                };
                if let Some(err) = inner.error.into_inner() {
                    let mut slot = self.error.borrow_mut();
                    if slot.is_none() {
                        *slot = Some(err);
                    }
                    return None;
                }
                Some(e)
            }
            Err(_) => {
                self.fail(offset, "f-string: invalid syntax");
                None
            }
        }
    }
}

fn push_part(list: &mut Vec<FStringPart>, part: FStringPart) {
    if let FStringPart::Literal(text) = &part {
        if text.is_empty() {
            return;
        }
        if let Some(FStringPart::Literal(prev)) = list.last_mut() {
            prev.push_str(text);
            return;
        }
    }
    list.push(part);
}

/// Whether the target list at `span` was written in parentheses (then `del
/// (a, b)` deletes a tuple's names all the same; the AST keeps one target).
fn target_had_parens(src: &str, span: &Span) -> bool {
    src.as_bytes().get(span.start) == Some(&b'(')
}

fn dotted_name(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\\')
        .collect()
}

fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_and
            | Rule::kw_as
            | Rule::kw_assert
            | Rule::kw_async
            | Rule::kw_await
            | Rule::kw_break
            | Rule::kw_class
            | Rule::kw_continue
            | Rule::kw_def
            | Rule::kw_del
            | Rule::kw_elif
            | Rule::kw_else
            | Rule::kw_except
            | Rule::kw_finally
            | Rule::kw_for
            | Rule::kw_from
            | Rule::kw_global
            | Rule::kw_if
            | Rule::kw_import
            | Rule::kw_in
            | Rule::kw_is
            | Rule::kw_lambda
            | Rule::kw_nonlocal
            | Rule::kw_not
            | Rule::kw_or
            | Rule::kw_pass
            | Rule::kw_raise
            | Rule::kw_return
            | Rule::kw_try
            | Rule::kw_while
            | Rule::kw_with
            | Rule::kw_yield
    )
}

fn number(text: &str) -> ExprKind {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    if let Some(imag) = lower.strip_suffix('j') {
        return ExprKind::Imaginary(imag.parse::<f64>().unwrap_or(f64::NAN));
    }
    let radix = if lower.starts_with("0x") {
        16
    } else if lower.starts_with("0o") {
        8
    } else if lower.starts_with("0b") {
        2
    } else if lower.contains(['.', 'e']) {
        return ExprKind::Float(lower.parse::<f64>().unwrap_or(f64::NAN));
    } else {
        10
    };
    let digits = if radix == 10 { &lower[..] } else { &lower[2..] };
    match i64::from_str_radix(digits, radix) {
        Ok(i) => ExprKind::Int(i),
        Err(_) => ExprKind::BigInt(super::strings::radix_to_decimal(digits, radix)),
    }
}

/// The 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    super::line_col(source, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Vec<Stmt> {
        match parse_module(src) {
            Ok(m) => m.body,
            Err(e) => panic!("{e}\n{src}"),
        }
    }

    fn expr(src: &str) -> ExprKind {
        let body = parse(src);
        match &body[0].kind {
            StmtKind::Expr(e) => e.kind.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn err(src: &str) -> SyntaxError {
        parse_module(src).expect_err(src)
    }

    #[test]
    fn functions_with_every_kind_of_parameter() {
        let src = "@dec\n@mod.dec(1)\nasync def f(a, /, b: int = 1, *args, c, d=2, **kw) -> str:\n    return a\n";
        let body = parse(src);
        let StmtKind::FunctionDef(def) = &body[0].kind else {
            panic!()
        };
        assert!(def.is_async);
        assert_eq!(def.decorators.len(), 2);
        let kinds: Vec<_> = def
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a", ParamKind::PositionalOnly),
                ("b", ParamKind::PositionalOrKeyword),
                ("args", ParamKind::VarPositional),
                ("c", ParamKind::KeywordOnly),
                ("d", ParamKind::KeywordOnly),
                ("kw", ParamKind::VarKeyword),
            ]
        );
        assert!(def.params[1].annotation.is_some() && def.params[1].default.is_some());
        assert!(def.returns.is_some());
        assert_eq!(body[0].span.start, 0);
    }

    #[test]
    fn classes_loops_and_try() {
        let src = "class A(B, metaclass=M):\n    x = 1\n    def f(self): pass\nwhile x:\n    break\nelse:\n    continue\nfor a, *b in c:\n    pass\nelse:\n    pass\ntry:\n    pass\nexcept (E, F) as e:\n    raise X from e\nexcept:\n    raise\nelse:\n    pass\nfinally:\n    del a, b[0]\n";
        let body = parse(src);
        let StmtKind::ClassDef(class) = &body[0].kind else {
            panic!()
        };
        assert_eq!(class.name, "A");
        assert_eq!(class.bases.len(), 1);
        assert_eq!(class.keywords[0].name.as_deref(), Some("metaclass"));
        assert_eq!(class.body.len(), 2);
        let StmtKind::While { orelse, .. } = &body[1].kind else {
            panic!()
        };
        assert_eq!(orelse[0].kind, StmtKind::Continue);
        let StmtKind::For { target, orelse, .. } = &body[2].kind else {
            panic!()
        };
        assert!(
            matches!(&target.kind, ExprKind::Tuple(t) if matches!(t[1].kind, ExprKind::Starred(_)))
        );
        assert_eq!(orelse.len(), 1);
        let StmtKind::Try(t) = &body[3].kind else {
            panic!()
        };
        assert_eq!(t.handlers.len(), 2);
        assert_eq!(t.handlers[0].name.as_deref(), Some("e"));
        assert!(t.handlers[1].type_.is_none());
        assert!(matches!(
            t.handlers[0].body[0].kind,
            StmtKind::Raise { cause: Some(_), .. }
        ));
        assert_eq!(t.orelse.len(), 1);
        assert!(matches!(&t.finalbody[0].kind, StmtKind::Del(d) if d.len() == 2));
        assert_eq!(body.len(), 4);
    }

    #[test]
    fn expressions() {
        assert!(
            matches!(expr("lambda x, *a, k=1: x + 1\n"), ExprKind::Lambda(l) if l.params.len() == 3)
        );
        assert!(
            matches!(expr("[x for x in y if x for z in x]\n"), ExprKind::ListComp { generators, .. } if generators.len() == 2)
        );
        assert!(matches!(
            expr("{k: v for k, v in d}\n"),
            ExprKind::DictComp { .. }
        ));
        assert!(matches!(expr("{x for x in y}\n"), ExprKind::SetComp { .. }));
        assert!(
            matches!(expr("f(x for x in y)\n"), ExprKind::Call { args, .. } if matches!(args[0], Arg::Positional(Expr { kind: ExprKind::GeneratorExp { .. }, .. })))
        );
        assert!(matches!(expr("a if b else c\n"), ExprKind::IfElse { .. }));
        assert!(matches!(expr("(y := f(x))\n"), ExprKind::NamedExpr { .. }));
        assert!(
            matches!(expr("a < b <= c\n"), ExprKind::Compare { ops, .. } if ops == [BinOp::Lt, BinOp::Le])
        );
        assert!(matches!(
            expr("(a < b) < c\n"),
            ExprKind::Binary(BinOp::Lt, ..)
        ));
        assert!(
            matches!(expr("not a == b\n"), ExprKind::Unary(UnaryOp::Not, x) if matches!(x.kind, ExprKind::Binary(BinOp::Eq, ..)))
        );
        assert!(
            matches!(expr("-2 ** 2\n"), ExprKind::Unary(UnaryOp::Neg, x) if matches!(x.kind, ExprKind::Binary(BinOp::Pow, ..)))
        );
        assert!(
            matches!(expr("x[1:2, ::3, a]\n"), ExprKind::Subscript(_, items) if items.len() == 3 && matches!(items[1].kind, ExprKind::Slice { lower: None, upper: None, step: Some(_) }))
        );
        assert!(
            matches!(expr("{**a, 'b': 1}\n"), ExprKind::Dict(items) if items.len() == 2 && items[0].0.is_none())
        );
        assert!(matches!(expr("{1, *a}\n"), ExprKind::Set(items) if items.len() == 2));
        assert!(matches!(expr("{}\n"), ExprKind::Dict(items) if items.is_empty()));
        assert!(
            matches!(expr("f(*a, **k)\n"), ExprKind::Call { args, .. } if matches!(args[..], [Arg::Star(_), Arg::DoubleStar(_)]))
        );
        assert!(matches!(expr("await x\n"), ExprKind::Await(_)));
        assert_eq!(expr("0xFF_FF\n"), ExprKind::Int(0xffff));
        assert_eq!(expr("0o17\n"), ExprKind::Int(0o17));
        assert_eq!(expr("0b101\n"), ExprKind::Int(5));
        assert_eq!(expr("1_000.5e-1\n"), ExprKind::Float(100.05));
        assert_eq!(expr("2j\n"), ExprKind::Imaginary(2.0));
        assert_eq!(
            expr("99999999999999999999\n"),
            ExprKind::BigInt("99999999999999999999".into())
        );
        assert_eq!(expr("...\n"), ExprKind::Ellipsis);
    }

    #[test]
    fn strings_and_fstrings() {
        assert_eq!(
            expr("'a' \"b\" '''c''' r'\\d'\n"),
            ExprKind::Str("abc\\d".into())
        );
        assert_eq!(
            expr("b'\\x00' rb'\\x'\n"),
            ExprKind::Bytes(b"\x00\\x".to_vec())
        );
        assert_eq!(expr("'\\N{BULLET}\\101'\n"), ExprKind::Str("•A".into()));
        let ExprKind::FString(parts) = expr("f'a{x!r:>{w}}b{{c}}' 'd' F\"{y=}\"\n") else {
            panic!()
        };
        assert_eq!(parts.len(), 4, "{parts:?}");
        assert_eq!(parts[0], FStringPart::Literal("a".into()));
        let FStringPart::Field(field) = &parts[1] else {
            panic!()
        };
        assert_eq!(field.conversion, Some('r'));
        let spec = field.spec.as_ref().unwrap();
        assert_eq!(spec[0], FStringPart::Literal(">".into()));
        assert!(matches!(spec[1], FStringPart::Field(_)));
        assert_eq!(parts[2], FStringPart::Literal("b{c}d".into()));
        let FStringPart::Field(debug) = &parts[3] else {
            panic!()
        };
        assert_eq!(debug.debug_text.as_deref(), Some("y="));
        // The field's expression has its span in the file.
        let src = "f'{abc}'\n";
        let ExprKind::FString(parts) = expr(src) else {
            panic!()
        };
        let FStringPart::Field(f) = &parts[0] else {
            panic!()
        };
        assert_eq!(&src[f.expr.span.start..f.expr.span.end], "abc");
    }

    #[test]
    fn statements() {
        let body = parse("\u{feff}import a.b as c, d\nfrom ..x import (y as z, w,)\nfrom m import *\nglobal g, h\nx: int = 1\ny += 2; z = w = 3\nassert x, 'm'\nwith a as b, c:\n    yield x\nasync with a: pass\nasync for x in y: pass\n");
        assert!(
            matches!(&body[0].kind, StmtKind::Import(n) if n[0].name == "a.b" && n[0].alias.as_deref() == Some("c"))
        );
        assert!(
            matches!(&body[1].kind, StmtKind::FromImport { module, names } if module == "..x" && names.len() == 2)
        );
        assert!(
            matches!(&body[2].kind, StmtKind::FromImport { names, .. } if names[0].name == "*")
        );
        assert!(matches!(&body[3].kind, StmtKind::Global(g) if g.len() == 2));
        assert!(matches!(
            &body[4].kind,
            StmtKind::Assign {
                annotation: Some(_),
                value: Some(_),
                ..
            }
        ));
        assert!(matches!(
            &body[5].kind,
            StmtKind::AugAssign { op: BinOp::Add, .. }
        ));
        assert!(matches!(&body[6].kind, StmtKind::Assign { targets, .. } if targets.len() == 2));
        assert!(matches!(
            &body[7].kind,
            StmtKind::Assert { msg: Some(_), .. }
        ));
        assert!(
            matches!(&body[8].kind, StmtKind::With { items, body, is_async: false } if items.len() == 2 && matches!(body[0].kind, StmtKind::Expr(Expr { kind: ExprKind::Yield(_), .. })))
        );
        assert!(matches!(
            &body[9].kind,
            StmtKind::With { is_async: true, .. }
        ));
        assert!(matches!(
            &body[10].kind,
            StmtKind::For { is_async: true, .. }
        ));
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = err("def upgrade()\n    pass\n");
        assert_eq!(
            (e.kind, e.message.as_str(), e.line, e.column),
            ("SyntaxError", "expected ':'", 1, 14)
        );
        let e = err("x = 1\ndef upgrade() -> None\n    op.f()\n");
        assert_eq!(
            (e.message.as_str(), e.line, e.column),
            ("expected ':'", 2, 22)
        );
        // Where CPython says "expected ':'" and where "invalid syntax" (3.11, measured).
        for (source, message, line, column) in [
            ("if x +:\n  pass\n", "invalid syntax", 1, 7),
            ("if x y:\n  pass\n", "invalid syntax", 1, 6),
            ("if x\n  pass\n", "expected ':'", 1, 5),
            ("def f() x:\n  pass\n", "expected ':'", 1, 9),
            ("for a in b\n  pass\n", "expected ':'", 1, 11),
            ("while x\n  pass\n", "expected ':'", 1, 8),
            ("with a\n  pass\n", "expected ':'", 1, 7),
            ("try x:\n  pass\n", "expected ':'", 1, 5),
            ("if x:\n  pass\nelse x:\n  pass\n", "expected ':'", 3, 6),
            ("try:\n  pass\nexcept E\n  pass\n", "expected ':'", 3, 9),
            ("class A x:\n  pass\n", "invalid syntax", 1, 9),
            ("for a in b c:\n  pass\n", "invalid syntax", 1, 12),
            ("while x y:\n  pass\n", "invalid syntax", 1, 9),
            ("with a b:\n  pass\n", "invalid syntax", 1, 8),
            ("if x:\n  pass\nelif y z:\n  pass\n", "invalid syntax", 3, 8),
            (
                "try:\n  pass\nexcept E F:\n  pass\n",
                "invalid syntax",
                3,
                10,
            ),
            ("if x == :\n  pass\n", "invalid syntax", 1, 9),
        ] {
            let e = err(source);
            assert_eq!(
                (e.message.as_str(), e.line, e.column),
                (message, line, column),
                "{source:?}"
            );
        }
        let e = err("x = (1,\n");
        assert_eq!(
            (e.message.as_str(), e.line, e.column),
            ("'(' was never closed", 1, 5)
        );
        let e = err("if x:\npass\n");
        assert_eq!(e.kind, "IndentationError");
        assert_eq!(
            e.message,
            "expected an indented block after 'if' statement on line 1"
        );
        assert_eq!(e.line, 2);
        let e = err("if x:\n    pass\n  y\n");
        assert_eq!(
            e.message,
            "unindent does not match any outer indentation level"
        );
        let e = err("x = 1\n    y\n");
        assert_eq!((e.message.as_str(), e.line), ("unexpected indent", 2));
        let e = err("x = $\n");
        assert_eq!(
            (e.message.as_str(), e.line, e.column),
            ("invalid syntax", 1, 5)
        );
        let e = err("x = \"abc\n");
        assert_eq!(
            e.message,
            "unterminated string literal (detected at line 1)"
        );
        assert_eq!(err("f() = 1\n").line, 1);
        assert_eq!(
            err("try:\n    pass\nx = 1\n").message,
            "expected 'except' or 'finally' block"
        );
        assert_eq!(err("else:\n    pass\n").message, "invalid syntax");
        assert_eq!(err("'\\x4'\n").line, 1);
        assert_eq!(
            err("b'é'\n").message,
            "bytes can only contain ASCII literal characters"
        );
        assert_eq!(
            err("f'{}'\n").message,
            "f-string: empty expression not allowed"
        );
        assert_eq!(
            err("f(a=1, b)\n").message,
            "positional argument follows keyword argument"
        );
    }

    #[test]
    fn deep_nesting_parses() {
        let depth = 50;
        let src = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
        parse(&src);
        let src = format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        parse(&src);
        let src = format!("x = {}1{}\n", "{".repeat(depth), "}".repeat(depth));
        parse(&src);
        let src = format!("x = a{}\n", "[b:c".repeat(depth) + &"]".repeat(depth));
        parse(&src);
        let src = format!("x = {}1{}\n", "f(".repeat(depth), ")".repeat(depth));
        parse(&src);
    }
}
