//! A renderer for the subset of Mako that Alembic's `script.py.mako` templates use.
//!
//! Alembic writes every new revision file by rendering the project's `script.py.mako` with Mako.
//! This module owns that step without Python: it parses a template into a small tree of text,
//! `${...}` expressions and `% if` blocks, and renders it against a map of [`Value`]s whose
//! `str()` and `repr()` follow Python's rules, so the output is byte for byte what Mako writes.
//!
//! Supported: `${expr}` and `${expr | filter,...}` (filters `n`, `str`, `trim` and Alembic's
//! `comma`), expressions made of names, attributes, string literals, `None`/`True`/`False`,
//! calls to `repr`, `str`, `len` and `comma`, `not`/`and`/`or`, `==`/`!=`/`is`/`is not`/`in`,
//! and `a if cond else b`; control lines `% if`, `% elif`, `% else`, `% endif`; `## comments`;
//! `<%text>` and `<%doc>` blocks; `%%` at the start of a line; a backslash before a newline.
//! Anything else is an error naming the template and the line. This module never reads files.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A template error: where it happened and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {name}, line {line}: {message}")]
pub struct TemplateError {
    /// The template's name, usually its path.
    pub name: String,
    /// The 1-based line of the template where the problem starts.
    pub line: usize,
    /// What went wrong, lowercase and without a final period.
    pub message: String,
}

/// A value passed to a template, with Python's `str()`, `repr()` and truth rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Python's `None`.
    None,
    /// Python's `True` and `False`.
    Bool(bool),
    /// A Python `str`.
    Str(String),
    /// A Python `tuple`.
    Tuple(Vec<Value>),
    /// A Python `list`.
    List(Vec<Value>),
    /// An object whose attributes are read with `obj.name`.
    Namespace(BTreeMap<String, Value>),
    /// A module a `<%! import ... %>` block imported (`re`), or Mako's
    /// `context` (named `mako.runtime.Context`).
    Module(String),
    /// Alembic's `config` (the `Config` of the command).
    Config(ConfigView),
}

/// What a template can read of Alembic's `Config`: the main section's
/// options (each its interpolated value or the interpolation error), its
/// name and the ini file's path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigView {
    /// `config.config_ini_section`.
    pub ini_section: String,
    /// `config.config_file_name`.
    pub file_name: Option<String>,
    /// `config.get_main_option(name)` for each key of the main section.
    pub main: BTreeMap<String, Result<String, String>>,
}

/// The name Mako's `context` has among template values.
const MAKO_CONTEXT: &str = "mako.runtime.Context";

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    /// A tuple of strings.
    pub fn str_tuple<S: AsRef<str>>(items: &[S]) -> Value {
        Value::Tuple(items.iter().map(|s| Value::str(s.as_ref())).collect())
    }

    /// Alembic's `tuple_rev_as_scalar` applied to a tuple of strings: `None` when empty, the
    /// single string when there is one, the tuple otherwise.
    pub fn scalar_or_tuple<S: AsRef<str>>(items: &[S]) -> Value {
        match items {
            [] => Value::None,
            [one] => Value::str(one.as_ref()),
            _ => Value::str_tuple(items),
        }
    }

    /// Python's truth value.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Str(s) => !s.is_empty(),
            Value::Tuple(v) | Value::List(v) => !v.is_empty(),
            Value::Namespace(_) | Value::Module(_) | Value::Config(_) => true,
        }
    }

    /// Python's `repr()`.
    pub fn repr(&self) -> String {
        match self {
            Value::None => "None".to_string(),
            Value::Bool(true) => "True".to_string(),
            Value::Bool(false) => "False".to_string(),
            Value::Str(s) => repr_str(s),
            Value::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(Value::repr).collect();
                if inner.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            Value::List(items) => {
                let inner: Vec<String> = items.iter().map(Value::repr).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Namespace(_) => "<namespace>".to_string(),
            Value::Module(m) if m == MAKO_CONTEXT => "<mako.runtime.Context object>".to_string(),
            Value::Module(m) => format!("<module '{m}'>"),
            Value::Config(_) => "<alembic.config.Config object>".to_string(),
        }
    }

    /// Python's `str()`.
    pub fn to_py_str(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            other => other.repr(),
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Str(_) => "str",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Namespace(_) => "namespace",
            Value::Module(m) if m == MAKO_CONTEXT => "Context",
            Value::Module(_) => "module",
            Value::Config(_) => "Config",
        }
    }
}

/// Python's `repr()` of a `str`: single quotes unless the text holds a single quote and no
/// double quote, with backslash escapes for the quote, backslashes and unprintable characters.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_py_printable(c) => out.push(c),
            c => {
                let n = c as u32;
                if n <= 0xff {
                    let _ = write!(out, "\\x{n:02x}");
                } else if n <= 0xffff {
                    let _ = write!(out, "\\u{n:04x}");
                } else {
                    let _ = write!(out, "\\U{n:08x}");
                }
            }
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable` for one character: control characters,
/// separators other than the space, format characters, surrogates, private-use characters and
/// noncharacters are not printable. Unassigned code points are treated as printable, which is
/// the one place this may differ from Python.
fn is_py_printable(c: char) -> bool {
    let n = c as u32;
    !matches!(n,
        0x00..=0x1f
        | 0x7f..=0xa0
        | 0xad
        | 0x600..=0x605
        | 0x61c
        | 0x6dd
        | 0x70f
        | 0x1680
        | 0x180e
        | 0x2000..=0x200f
        | 0x2028..=0x202f
        | 0x205f..=0x2064
        | 0x2066..=0x206f
        | 0x3000
        | 0xd800..=0xf8ff
        | 0xfeff
        | 0xfff9..=0xfffb
        | 0xfffe..=0xffff
        | 0xe0001
        | 0xe0020..=0xe007f
        | 0xf0000..=0x10ffff)
}

/// The variables a template is rendered with.
pub type Context = BTreeMap<String, Value>;

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    /// The statements of `<%! %>` blocks, run before rendering.
    module_code: Vec<PyStmt>,
    nodes: Vec<Node>,
}

/// A statement of a `<% %>` or `<%! %>` block.
#[derive(Debug, Clone)]
enum PyStmt {
    /// `import module [as name]`.
    Import {
        module: String,
        bound: String,
        line: usize,
    },
    /// `name = expr`.
    Assign {
        target: String,
        expr: Expr,
        line: usize,
    },
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Expr {
        expr: Expr,
        filters: Vec<String>,
        line: usize,
    },
    If {
        branches: Vec<(Expr, usize, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    /// `% for name in expr:` ... `% endfor`.
    For {
        target: String,
        iter: Expr,
        line: usize,
        body: Vec<Node>,
    },
    /// A `<% %>` block.
    Python(Vec<PyStmt>),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Name(String),
    Lit(Value),
    Attr(Box<Expr>, String),
    Call(String, Vec<Expr>),
    /// `receiver.name(args)`.
    Method(Box<Expr>, String, Vec<Expr>),
    /// `left % right` (string formatting).
    Mod(Box<Expr>, Box<Expr>),
    /// `(a, b)`.
    Tuple(Vec<Expr>),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    IfElse {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Is,
    IsNot,
    In,
    NotIn,
}

/// One lexical piece of a template, before `% if` blocks are nested.
#[derive(Debug)]
enum Piece {
    Text(String),
    /// The code of a `<% %>` block (`module`: `<%! %>`).
    Python {
        code: String,
        module: bool,
        line: usize,
    },
    Expr {
        code: String,
        filters: String,
        line: usize,
    },
    Control {
        keyword: String,
        is_end: bool,
        text: String,
        line: usize,
    },
}

impl Template {
    /// Parses `source`; `name` is used in error messages.
    pub fn parse(name: &str, source: &str) -> Result<Template, TemplateError> {
        let pieces = Lexer::new(name, source).run()?;
        // `<%! %>` blocks are module-level code: they run first, wherever they are.
        let mut module_code = Vec::new();
        let mut rest = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Python {
                    code,
                    module: true,
                    line,
                } => module_code.extend(parse_block(name, line, &code)?),
                other => rest.push(other),
            }
        }
        let mut iter = rest.into_iter().peekable();
        let nodes = build(name, &mut iter, None)?;
        Ok(Template {
            name: name.to_string(),
            module_code,
            nodes,
        })
    }

    /// Renders the template with `context`.
    pub fn render(&self, context: &Context) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut env = Env {
            vars: context.clone(),
            data: context,
        };
        env.vars
            .entry("context".into())
            .or_insert_with(|| Value::Module(MAKO_CONTEXT.into()));
        run_block(&self.name, &self.module_code, &mut env)?;
        render_nodes(&self.name, &self.nodes, &mut env, &mut out)?;
        Ok(out)
    }
}

/// Parses and renders `source` in one step.
pub fn render(name: &str, source: &str, context: &Context) -> Result<String, TemplateError> {
    Template::parse(name, source)?.render(context)
}

fn err(name: &str, line: usize, message: impl Into<String>) -> TemplateError {
    TemplateError {
        name: name.to_string(),
        line,
        message: message.into(),
    }
}

struct Lexer<'a> {
    name: &'a str,
    src: &'a str,
    pos: usize,
    pieces: Vec<Piece>,
}

impl<'a> Lexer<'a> {
    fn new(name: &'a str, src: &'a str) -> Self {
        Lexer {
            name,
            src,
            pos: 0,
            pieces: Vec::new(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn line_at(&self, pos: usize) -> usize {
        self.src[..pos].matches('\n').count() + 1
    }

    fn at_line_start(&self) -> bool {
        self.pos == 0 || self.src.as_bytes()[self.pos - 1] == b'\n'
    }

    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Text(prev)) = self.pieces.last_mut() {
            prev.push_str(text);
        } else {
            self.pieces.push(Piece::Text(text.to_string()));
        }
    }

    fn run(mut self) -> Result<Vec<Piece>, TemplateError> {
        while self.pos < self.src.len() {
            if self.rest().starts_with("${") {
                self.expression()?;
            } else if self.at_line_start() && self.control_line()? {
            } else if self.rest().starts_with("<%") || self.rest().starts_with("</%") {
                self.tag()?;
            } else if self.at_line_start() && self.percent_escape() {
            } else {
                self.text();
            }
        }
        Ok(self.pieces)
    }

    /// `${code}` or `${code | filters}`.
    fn expression(&mut self) -> Result<(), TemplateError> {
        let start = self.pos;
        let line = self.line_at(start);
        self.pos += 2;
        let (code, end) = self.scan_python(&['|', '}'], line)?;
        let filters = if end == '|' {
            let (filters, _) = self.scan_python(&['}'], line)?;
            filters.trim().to_string()
        } else {
            String::new()
        };
        self.pieces.push(Piece::Expr {
            code,
            filters,
            line,
        });
        Ok(())
    }

    /// Reads Python code up to one of `stops` outside brackets, strings and comments, and
    /// consumes the stop character.
    fn scan_python(
        &mut self,
        stops: &[char],
        line: usize,
    ) -> Result<(String, char), TemplateError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let mut depth: i32 = 0;
        let mut i = self.pos;
        while i < bytes.len() {
            let c = bytes[i] as char;
            if c == '#' {
                match self.src[i..].find('\n') {
                    Some(n) => i += n + 1,
                    None => i = bytes.len(),
                }
                continue;
            }
            if c == '"' || c == '\'' {
                i = skip_string(self.src, i).ok_or_else(|| {
                    err(self.name, line, "unterminated string literal in expression")
                })?;
                continue;
            }
            if depth <= 0 && stops.contains(&c) {
                self.pos = i + 1;
                return Ok((self.src[start..i].to_string(), c));
            }
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        Err(err(
            self.name,
            line,
            "unterminated expression: expected '}' to close '${'",
        ))
    }

    /// A `% keyword ...` line or a `## comment` line, consumed with its newline.
    fn control_line(&mut self) -> Result<bool, TemplateError> {
        let rest = self.rest();
        let trimmed = rest.trim_start_matches([' ', '\t']);
        let indent = rest.len() - trimmed.len();
        let is_comment = trimmed.starts_with("##");
        let is_control = trimmed.starts_with('%') && !trimmed.starts_with("%%");
        if !is_comment && !is_control {
            return Ok(false);
        }
        let line = self.line_at(self.pos);
        let body_start = self.pos + indent + if is_comment { 2 } else { 1 };
        // The line runs to the first newline not escaped by a backslash.
        let bytes = self.src.as_bytes();
        let mut i = body_start;
        let mut text = String::new();
        loop {
            if i >= bytes.len() {
                break;
            }
            if bytes[i] == b'\\' && self.src[i + 1..].starts_with('\n') {
                text.push_str(&self.src[i..i + 2]);
                i += 2;
                continue;
            }
            if bytes[i] == b'\\' && self.src[i + 1..].starts_with("\r\n") {
                text.push_str(&self.src[i..i + 3]);
                i += 3;
                continue;
            }
            if bytes[i] == b'\n' {
                i += 1;
                break;
            }
            let ch = self.src[i..].chars().next().unwrap_or('\0');
            text.push(ch);
            i += ch.len_utf8();
        }
        self.pos = i;
        if is_comment {
            return Ok(true);
        }
        let text = text.trim_end_matches('\r').trim_start_matches([' ', '\t']);
        // Mako reads the keyword as `(end)?(\w+)`.
        let word: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() {
            return Err(err(
                self.name,
                line,
                format!("invalid control line: '{text}'"),
            ));
        }
        let (is_end, keyword) = match word.strip_prefix("end") {
            Some(rest) if !rest.is_empty() => (true, rest.to_string()),
            _ => (false, word),
        };
        self.pieces.push(Piece::Control {
            keyword,
            is_end,
            text: text.to_string(),
            line,
        });
        Ok(true)
    }

    /// `<%text>`, `<%doc>`; any other tag or Python block is an error.
    fn tag(&mut self) -> Result<(), TemplateError> {
        let line = self.line_at(self.pos);
        for (open, close) in [("<%text>", "</%text>"), ("<%doc>", "</%doc>")] {
            if let Some(after) = self.rest().strip_prefix(open) {
                let Some(end) = after.find(close) else {
                    return Err(err(
                        self.name,
                        line,
                        format!("unclosed tag: {open} has no {close}"),
                    ));
                };
                if open == "<%text>" {
                    let body = after[..end].to_string();
                    self.push_text(&body);
                }
                self.pos += open.len() + end + close.len();
                return Ok(());
            }
        }
        let what: String = self
            .rest()
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '>')
            .collect();
        if what == "<%" || what == "<%!" {
            let start = self.pos + what.len();
            let Some(end) = find_block_end(self.src, start) else {
                return Err(err(
                    self.name,
                    line,
                    format!("unclosed python block: '{what}' has no '%>'"),
                ));
            };
            self.pieces.push(Piece::Python {
                code: self.src[start..end].to_string(),
                module: what == "<%!",
                line,
            });
            self.pos = end + 2;
            return Ok(());
        }
        Err(err(
            self.name,
            line,
            format!("unsupported Mako construct: tag '{what}'"),
        ))
    }

    /// `%%` at the start of a line (after optional whitespace) is a literal `%`.
    fn percent_escape(&mut self) -> bool {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        if !trimmed.starts_with("%%") {
            return false;
        }
        let ws = &rest[..rest.len() - trimmed.len()];
        let extra = trimmed[2..].len() - trimmed[2..].trim_start_matches('%').len();
        let text = format!("{ws}%{}", "%".repeat(extra));
        self.pos += ws.len() + 2 + extra;
        self.push_text(&text);
        true
    }

    /// Plain text up to the next construct; a backslash before a newline is dropped with it.
    fn text(&mut self) {
        let src = self.src;
        let bytes = src.as_bytes();
        let start = self.pos;
        let mut i = self.pos;
        while i < bytes.len() {
            let rest = &src[i..];
            if i > start && bytes[i - 1] == b'\n' {
                let t = rest.trim_start_matches([' ', '\t']);
                if t.starts_with('%') || t.starts_with("##") {
                    break;
                }
            }
            if rest.starts_with("${") || rest.starts_with("<%") || rest.starts_with("</%") {
                break;
            }
            if rest.starts_with("\\\n") || rest.starts_with("\\\r\n") {
                let text = &src[start..i];
                self.push_text(text);
                self.pos = i + if rest.starts_with("\\\n") { 2 } else { 3 };
                return;
            }
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
        let text = &src[start..i];
        self.push_text(text);
        // A construct that matched nothing else at the very start is taken as one character
        // of text so the loop always advances.
        self.pos = if i == start {
            let ch = src[i..].chars().next().map_or(1, char::len_utf8);
            self.push_text(&src[i..i + ch]);
            i + ch
        } else {
            i
        };
    }
}

/// The index of the `%>` closing a Python block whose code starts at `start`.
fn find_block_end(src: &str, start: usize) -> Option<usize> {
    let mut i = start;
    while i < src.len() {
        let rest = &src[i..];
        if rest.starts_with("%>") {
            return Some(i);
        }
        let c = rest.chars().next()?;
        if c == '"' || c == '\'' {
            i = skip_string(src, i)?;
            continue;
        }
        if c == '#' {
            i += rest.find('\n').unwrap_or(rest.len());
            continue;
        }
        i += c.len_utf8();
    }
    None
}

/// The statements of a Python block: its lines dedented, each an
/// `import` or a `name = expr` assignment.
fn parse_block(name: &str, line: usize, code: &str) -> Result<Vec<PyStmt>, TemplateError> {
    let lines: Vec<(usize, &str)> = code
        .lines()
        .enumerate()
        .map(|(i, l)| (line + i, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let indent = lines
        .iter()
        .map(|(_, l)| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = Vec::new();
    for (at, l) in lines {
        if l.len() - l.trim_start().len() != indent {
            return Err(err(
                name,
                at,
                format!(
                    "unsupported Python in a <% %> block: '{}' (aurora runs imports and assignments only)",
                    l.trim()
                ),
            ));
        }
        let text = l.trim();
        if let Some(rest) = text.strip_prefix("import ") {
            for part in rest.split(',') {
                let part = part.trim();
                let (module, bound) = match part.split_once(" as ") {
                    Some((m, b)) => (m.trim(), b.trim().to_string()),
                    None => (part, part.split('.').next().unwrap_or(part).to_string()),
                };
                out.push(PyStmt::Import {
                    module: module.to_string(),
                    bound,
                    line: at,
                });
            }
            continue;
        }
        let assign = text.split_once('=').filter(|(t, v)| {
            let t = t.trim();
            !t.is_empty()
                && t.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !t.starts_with(|c: char| c.is_ascii_digit())
                && !v.starts_with('=')
        });
        let Some((target, value)) = assign else {
            return Err(err(
                name,
                at,
                format!(
                    "unsupported Python in a <% %> block: '{text}' (aurora runs imports and assignments only)"
                ),
            ));
        };
        out.push(PyStmt::Assign {
            target: target.trim().to_string(),
            expr: parse_expr(name, at, value)?,
            line: at,
        });
    }
    Ok(out)
}

/// Returns the index just past the Python string literal starting at `start`.
fn skip_string(src: &str, start: usize) -> Option<usize> {
    let bytes = src.as_bytes();
    let q = bytes[start];
    let triple = src[start..].starts_with(if q == b'"' { "\"\"\"" } else { "'''" });
    let mut i = start + if triple { 3 } else { 1 };
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if triple {
            if bytes[i] == q && bytes.get(i + 1) == Some(&q) && bytes.get(i + 2) == Some(&q) {
                return Some(i + 3);
            }
        } else if bytes[i] == q {
            return Some(i + 1);
        } else if bytes[i] == b'\n' {
            return None;
        }
        i += 1;
    }
    None
}

fn build(
    name: &str,
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
    open: Option<usize>,
) -> Result<Vec<Node>, TemplateError> {
    let mut nodes = Vec::new();
    while let Some(piece) = pieces.peek() {
        match piece {
            Piece::Control {
                keyword, is_end, ..
            } if open.is_some()
                && ((*is_end && (keyword == "if" || keyword == "for"))
                    || keyword == "elif"
                    || keyword == "else") =>
            {
                return Ok(nodes);
            }
            _ => {}
        }
        let Some(piece) = pieces.next() else { break };
        match piece {
            Piece::Text(t) => nodes.push(Node::Text(t)),
            Piece::Python { code, line, .. } => {
                nodes.push(Node::Python(parse_block(name, line, &code)?))
            }
            Piece::Expr {
                code,
                filters,
                line,
            } => {
                let expr = parse_expr(name, line, &code)?;
                let filters = parse_filters(name, line, &filters)?;
                nodes.push(Node::Expr {
                    expr,
                    filters,
                    line,
                });
            }
            Piece::Control {
                keyword,
                is_end,
                text,
                line,
            } => {
                if is_end {
                    return Err(err(
                        name,
                        line,
                        format!("no starting keyword '{keyword}' for '{text}'"),
                    ));
                }
                match keyword.as_str() {
                    "if" => nodes.push(build_if(name, pieces, &text, line)?),
                    "for" => nodes.push(build_for(name, pieces, &text, line)?),
                    "elif" | "else" => {
                        return Err(err(
                            name,
                            line,
                            format!("'{keyword}' without a matching '% if'"),
                        ))
                    }
                    other => {
                        return Err(err(
                            name,
                            line,
                            format!("unsupported Mako control line '% {other}'"),
                        ))
                    }
                }
            }
        }
    }
    // An open block's caller reports its missing end.
    let _ = open;
    Ok(nodes)
}

/// `% for name in expr:` up to its `% endfor`.
fn build_for(
    name: &str,
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
    text: &str,
    line: usize,
) -> Result<Node, TemplateError> {
    let header = text["for".len()..]
        .replace("\\\r\n", " ")
        .replace("\\\n", " ");
    let header = header.trim();
    let Some(header) = header.strip_suffix(':') else {
        return Err(err(
            name,
            line,
            format!("invalid control line: '{text}' (expected a ':' at its end)"),
        ));
    };
    let Some((target, iter)) = header.split_once(" in ") else {
        return Err(err(name, line, format!("invalid control line: '{text}'")));
    };
    let target = target.trim();
    if target.is_empty() || !target.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return Err(err(
            name,
            line,
            format!("unsupported loop target '{target}' (aurora loops over one name)"),
        ));
    }
    let iter = parse_expr(name, line, iter)?;
    let body = build(name, pieces, Some(line))?;
    match pieces.next() {
        Some(Piece::Control {
            keyword,
            is_end: true,
            ..
        }) if keyword == "for" => Ok(Node::For {
            target: target.to_string(),
            iter,
            line,
            body,
        }),
        Some(Piece::Control { text, line: l, .. }) => Err(err(
            name,
            l,
            format!("'{text}' inside the '% for' of line {line}"),
        )),
        _ => Err(err(
            name,
            line,
            "unterminated control keyword: 'for' has no '% endfor'",
        )),
    }
}

fn build_if(
    name: &str,
    pieces: &mut std::iter::Peekable<std::vec::IntoIter<Piece>>,
    text: &str,
    line: usize,
) -> Result<Node, TemplateError> {
    let mut branches = Vec::new();
    let mut cond = control_condition(name, line, text, "if")?;
    let mut cond_line = line;
    loop {
        let body = build(name, pieces, Some(line))?;
        branches.push((cond, cond_line, body));
        match pieces.next() {
            Some(Piece::Control {
                keyword,
                is_end: true,
                ..
            }) if keyword == "if" => {
                return Ok(Node::If {
                    branches,
                    otherwise: Vec::new(),
                })
            }
            Some(Piece::Control {
                keyword,
                text,
                line: l,
                ..
            }) if keyword == "elif" => {
                cond = control_condition(name, l, &text, "elif")?;
                cond_line = l;
            }
            Some(Piece::Control {
                keyword,
                text,
                line: l,
                ..
            }) if keyword == "else" => {
                let rest = text["else".len()..].trim();
                if rest != ":" {
                    return Err(err(name, l, format!("invalid control line: '{text}'")));
                }
                let otherwise = build(name, pieces, Some(line))?;
                match pieces.next() {
                    Some(Piece::Control {
                        keyword,
                        is_end: true,
                        ..
                    }) if keyword == "if" => {
                        return Ok(Node::If {
                            branches,
                            otherwise,
                        })
                    }
                    Some(Piece::Control { text, line: l, .. }) => {
                        return Err(err(
                            name,
                            l,
                            format!("'{text}' after '% else' in the '% if' of line {line}"),
                        ))
                    }
                    _ => {
                        return Err(err(
                            name,
                            line,
                            "unterminated control keyword: 'if' has no '% endif'",
                        ))
                    }
                }
            }
            _ => {
                return Err(err(
                    name,
                    line,
                    "unterminated control keyword: 'if' has no '% endif'",
                ))
            }
        }
    }
}

/// The condition of `if cond:` or `elif cond:`.
fn control_condition(
    name: &str,
    line: usize,
    text: &str,
    keyword: &str,
) -> Result<Expr, TemplateError> {
    let body = text[keyword.len()..]
        .replace("\\\r\n", " ")
        .replace("\\\n", " ");
    let body = body.trim();
    let Some(cond) = body.strip_suffix(':') else {
        return Err(err(
            name,
            line,
            format!("invalid control line: '{text}' (expected a ':' at its end)"),
        ));
    };
    parse_expr(name, line, cond)
}

fn parse_filters(name: &str, line: usize, text: &str) -> Result<Vec<String>, TemplateError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut filters = Vec::new();
    for part in text.split(',') {
        let f = part.trim();
        match f {
            "n" | "str" | "trim" | "comma" => filters.push(f.to_string()),
            _ => return Err(err(name, line, format!("unsupported Mako filter '{f}'"))),
        }
    }
    Ok(filters)
}

/// The names a template sees (the context and what its blocks and loops
/// bound) and the context itself (what Mako's `context.get` reads).
struct Env<'a> {
    vars: Context,
    data: &'a Context,
}

fn run_block(name: &str, stmts: &[PyStmt], env: &mut Env<'_>) -> Result<(), TemplateError> {
    for stmt in stmts {
        match stmt {
            PyStmt::Import {
                module,
                bound,
                line,
            } => {
                if module != "re" {
                    return Err(err(
                        name,
                        *line,
                        format!("import {module}: aurora's templates can import re only"),
                    ));
                }
                env.vars
                    .insert(bound.clone(), Value::Module(module.clone()));
            }
            PyStmt::Assign { target, expr, line } => {
                let v = eval(name, *line, expr, env)?.defined(name, *line)?;
                env.vars.insert(target.clone(), v);
            }
        }
    }
    Ok(())
}

fn render_nodes(
    name: &str,
    nodes: &[Node],
    env: &mut Env<'_>,
    out: &mut String,
) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Expr {
                expr,
                filters,
                line,
            } => {
                let value = eval(name, *line, expr, env)?;
                out.push_str(&apply_filters(name, *line, value, filters)?);
            }
            Node::If {
                branches,
                otherwise,
            } => {
                let mut taken = false;
                for (cond, line, body) in branches {
                    if eval(name, *line, cond, env)?.is_truthy() {
                        render_nodes(name, body, env, out)?;
                        taken = true;
                        break;
                    }
                }
                if !taken {
                    render_nodes(name, otherwise, env, out)?;
                }
            }
            Node::For {
                target,
                iter,
                line,
                body,
            } => {
                let items = match eval(name, *line, iter, env)?.defined(name, *line)? {
                    Value::List(items) | Value::Tuple(items) => items,
                    Value::Str(s) => s.chars().map(|c| Value::Str(c.to_string())).collect(),
                    other => {
                        return Err(err(
                            name,
                            *line,
                            format!("'{}' object is not iterable", other.type_name()),
                        ))
                    }
                };
                for item in items {
                    env.vars.insert(target.clone(), item);
                    render_nodes(name, body, env, out)?;
                }
            }
            Node::Python(stmts) => run_block(name, stmts, env)?,
        }
    }
    Ok(())
}

/// The result of evaluating an expression: a value, or a name the context does not define
/// (Mako's `UNDEFINED`, which is false and cannot be printed).
#[derive(Debug, Clone, PartialEq)]
enum Eval {
    Value(Value),
    Undefined(String),
}

impl Eval {
    fn is_truthy(&self) -> bool {
        match self {
            Eval::Value(v) => v.truthy(),
            Eval::Undefined(_) => false,
        }
    }

    fn defined(self, name: &str, line: usize) -> Result<Value, TemplateError> {
        match self {
            Eval::Value(v) => Ok(v),
            Eval::Undefined(n) => Err(err(name, line, format!("'{n}' is undefined"))),
        }
    }
}

fn apply_filters(
    name: &str,
    line: usize,
    value: Eval,
    filters: &[String],
) -> Result<String, TemplateError> {
    let mut chain: Vec<&str> = Vec::new();
    if !filters.iter().any(|f| f == "n") {
        chain.push("str");
    }
    chain.extend(filters.iter().map(String::as_str).filter(|f| *f != "n"));
    let mut current = value;
    for f in chain {
        let v = current.defined(name, line)?;
        current = Eval::Value(match f {
            "str" => Value::Str(v.to_py_str()),
            "trim" => Value::Str(v.to_py_str().trim().to_string()),
            "comma" => Value::Str(comma(name, line, &v)?),
            _ => unreachable!("filters are checked when parsing"),
        });
    }
    Ok(current.defined(name, line)?.to_py_str())
}

/// Alembic's `format_as_comma`.
fn comma(name: &str, line: usize, value: &Value) -> Result<String, TemplateError> {
    match value {
        Value::None => Ok(String::new()),
        Value::Str(s) => Ok(s.clone()),
        Value::Tuple(items) | Value::List(items) => {
            let mut parts = Vec::new();
            for item in items {
                match item {
                    Value::Str(s) => parts.push(s.as_str()),
                    other => {
                        return Err(err(
                            name,
                            line,
                            format!("comma: expected str items, found {}", other.type_name()),
                        ))
                    }
                }
            }
            Ok(parts.join(", "))
        }
        other => Err(err(
            name,
            line,
            format!("don't know how to comma-format {}", other.repr()),
        )),
    }
}

fn eval(name: &str, line: usize, expr: &Expr, env: &Env<'_>) -> Result<Eval, TemplateError> {
    Ok(match expr {
        Expr::Name(n) => match env.vars.get(n) {
            Some(v) => Eval::Value(v.clone()),
            None => Eval::Undefined(n.clone()),
        },
        Expr::Lit(v) => Eval::Value(v.clone()),
        Expr::Attr(base, attr) => {
            let base = eval(name, line, base, env)?.defined(name, line)?;
            match &base {
                Value::Namespace(map) => match map.get(attr) {
                    Some(v) => Eval::Value(v.clone()),
                    None => {
                        return Err(err(name, line, format!("object has no attribute '{attr}'")))
                    }
                },
                Value::Config(c) if attr == "config_ini_section" => {
                    Eval::Value(Value::Str(c.ini_section.clone()))
                }
                Value::Config(c) if attr == "config_file_name" => {
                    Eval::Value(c.file_name.clone().map_or(Value::None, Value::Str))
                }
                other => {
                    return Err(err(
                        name,
                        line,
                        format!("'{}' object has no attribute '{attr}'", other.type_name()),
                    ))
                }
            }
        }
        Expr::Call(func, args) => {
            let mut values = Vec::new();
            for a in args {
                values.push(eval(name, line, a, env)?.defined(name, line)?);
            }
            let [arg] = values.as_slice() else {
                return Err(err(
                    name,
                    line,
                    format!(
                        "{func}() takes exactly one argument ({} given)",
                        values.len()
                    ),
                ));
            };
            Eval::Value(match func.as_str() {
                "repr" => Value::Str(arg.repr()),
                "str" => Value::Str(arg.to_py_str()),
                "comma" => Value::Str(comma(name, line, arg)?),
                "len" => match arg {
                    Value::Str(s) => Value::Str(s.chars().count().to_string()),
                    Value::Tuple(v) | Value::List(v) => Value::Str(v.len().to_string()),
                    other => {
                        return Err(err(
                            name,
                            line,
                            format!("object of type '{}' has no len()", other.type_name()),
                        ))
                    }
                },
                _ => unreachable!("calls are checked when parsing"),
            })
        }
        Expr::Method(recv, method, args) => {
            let recv = eval(name, line, recv, env)?.defined(name, line)?;
            let mut values = Vec::new();
            for a in args {
                values.push(eval(name, line, a, env)?.defined(name, line)?);
            }
            Eval::Value(call_method(name, line, &recv, method, &values, env)?)
        }
        Expr::Tuple(items) => {
            let mut values = Vec::new();
            for item in items {
                values.push(eval(name, line, item, env)?.defined(name, line)?);
            }
            Eval::Value(Value::Tuple(values))
        }
        Expr::Mod(left, right) => {
            let left = eval(name, line, left, env)?.defined(name, line)?;
            let right = eval(name, line, right, env)?.defined(name, line)?;
            let Value::Str(format) = &left else {
                return Err(err(
                    name,
                    line,
                    format!(
                        "unsupported operand type(s) for %: '{}' and '{}'",
                        left.type_name(),
                        right.type_name()
                    ),
                ));
            };
            Eval::Value(Value::Str(percent_format(name, line, format, &right)?))
        }
        Expr::Not(e) => Eval::Value(Value::Bool(!eval(name, line, e, env)?.is_truthy())),
        Expr::And(a, b) => {
            let left = eval(name, line, a, env)?;
            if left.is_truthy() {
                eval(name, line, b, env)?
            } else {
                left
            }
        }
        Expr::Or(a, b) => {
            let left = eval(name, line, a, env)?;
            if left.is_truthy() {
                left
            } else {
                eval(name, line, b, env)?
            }
        }
        Expr::Cmp(op, a, b) => {
            let left = eval(name, line, a, env)?.defined(name, line)?;
            let right = eval(name, line, b, env)?.defined(name, line)?;
            let result = match op {
                CmpOp::Eq => left == right,
                CmpOp::Ne => left != right,
                CmpOp::Is => is_same(&left, &right),
                CmpOp::IsNot => !is_same(&left, &right),
                CmpOp::In | CmpOp::NotIn => {
                    let found = match (&left, &right) {
                        (Value::Str(needle), Value::Str(hay)) => hay.contains(needle.as_str()),
                        (_, Value::Tuple(items) | Value::List(items)) => items.contains(&left),
                        (_, other) => {
                            return Err(err(
                                name,
                                line,
                                format!("argument of type '{}' is not iterable", other.type_name()),
                            ))
                        }
                    };
                    found == (*op == CmpOp::In)
                }
            };
            Eval::Value(Value::Bool(result))
        }
        Expr::IfElse {
            cond,
            then,
            otherwise,
        } => {
            if eval(name, line, cond, env)?.is_truthy() {
                eval(name, line, then, env)?
            } else {
                eval(name, line, otherwise, env)?
            }
        }
    })
}

/// `format % args` with `%s`, `%r` and `%%`.
fn percent_format(
    name: &str,
    line: usize,
    format: &str,
    args: &Value,
) -> Result<String, TemplateError> {
    let items: Vec<Value> = match args {
        Value::Tuple(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut it = items.into_iter();
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(spec @ ('s' | 'r')) => {
                let v = it.next().ok_or_else(|| {
                    err(
                        name,
                        line,
                        "TypeError: not enough arguments for format string",
                    )
                })?;
                out.push_str(&if spec == 's' { v.to_py_str() } else { v.repr() });
            }
            other => {
                return Err(err(
                    name,
                    line,
                    format!(
                        "unsupported format character '{}' (aurora formats %s, %r and %%)",
                        other.map(String::from).unwrap_or_default()
                    ),
                ))
            }
        }
    }
    if it.next().is_some() {
        return Err(err(
            name,
            line,
            "TypeError: not all arguments converted during string formatting",
        ));
    }
    Ok(out)
}

/// `receiver.method(args)` for the objects a template has: Mako's
/// `context.get`, `config.get_main_option`, `re.split` and a few `str`
/// methods.
fn call_method(
    name: &str,
    line: usize,
    recv: &Value,
    method: &str,
    args: &[Value],
    env: &Env<'_>,
) -> Result<Value, TemplateError> {
    let arity = |min: usize, max: usize| -> Result<(), TemplateError> {
        if args.len() < min || args.len() > max {
            return Err(err(
                name,
                line,
                format!(
                    "TypeError: {method}() takes {min} to {max} arguments ({} given)",
                    args.len()
                ),
            ));
        }
        Ok(())
    };
    let string = |v: &Value| -> Result<String, TemplateError> {
        match v {
            Value::Str(s) => Ok(s.clone()),
            other => Err(err(
                name,
                line,
                format!(
                    "TypeError: {method}() expected str, got {}",
                    other.type_name()
                ),
            )),
        }
    };
    match (recv, method) {
        (Value::Module(m), "get") if m == MAKO_CONTEXT => {
            arity(1, 2)?;
            let key = string(&args[0])?;
            Ok(env
                .data
                .get(&key)
                .cloned()
                .unwrap_or_else(|| args.get(1).cloned().unwrap_or(Value::None)))
        }
        (Value::Config(c), "get_main_option") => {
            arity(1, 2)?;
            match c.main.get(&string(&args[0])?) {
                Some(Ok(v)) => Ok(Value::Str(v.clone())),
                Some(Err(m)) => Err(err(name, line, m.clone())),
                None => Ok(args.get(1).cloned().unwrap_or(Value::None)),
            }
        }
        (Value::Module(m), "split") if m == "re" => {
            arity(2, 2)?;
            let parts =
                re_split(&string(&args[0])?, &string(&args[1])?).map_err(|m| err(name, line, m))?;
            Ok(Value::List(parts))
        }
        (Value::Str(s), "strip") => {
            arity(0, 0)?;
            Ok(Value::Str(s.trim().to_string()))
        }
        (Value::Str(s), "lower") => {
            arity(0, 0)?;
            Ok(Value::Str(s.to_lowercase()))
        }
        (Value::Str(s), "upper") => {
            arity(0, 0)?;
            Ok(Value::Str(s.to_uppercase()))
        }
        (Value::Str(s), "replace") => {
            arity(2, 2)?;
            Ok(Value::Str(
                s.replace(&string(&args[0])?, &string(&args[1])?),
            ))
        }
        (Value::Str(s), "split") => {
            arity(0, 1)?;
            let parts: Vec<Value> = match args.first() {
                None | Some(Value::None) => s.split_whitespace().map(Value::str).collect(),
                Some(sep) => {
                    let sep = string(sep)?;
                    if sep.is_empty() {
                        return Err(err(name, line, "ValueError: empty separator"));
                    }
                    s.split(sep.as_str()).map(Value::str).collect()
                }
            };
            Ok(Value::List(parts))
        }
        (Value::Str(s), "join") => {
            arity(1, 1)?;
            let items = match &args[0] {
                Value::List(items) | Value::Tuple(items) => items,
                other => {
                    return Err(err(
                        name,
                        line,
                        format!(
                            "TypeError: can only join an iterable, not {}",
                            other.type_name()
                        ),
                    ))
                }
            };
            let parts: Result<Vec<String>, TemplateError> = items.iter().map(string).collect();
            Ok(Value::Str(parts?.join(s)))
        }
        (other, _) => Err(err(
            name,
            line,
            format!(
                "'{}' object has no attribute '{method}' (or aurora's templates do not support it)",
                other.type_name()
            ),
        )),
    }
}

/// Python's `re.split(pattern, text)`, by aurora's interpreter's `re`.
fn re_split(pattern: &str, text: &str) -> Result<Vec<Value>, String> {
    use crate::interp::{Args, Interp, Value as Py};
    let mut interp = Interp::new(None);
    let run = |interp: &mut Interp<'_>| -> crate::interp::PyResult<Py> {
        let re = interp.load_native("re")?;
        let split = interp.get_attr(&re, "split")?;
        interp.call(&split, Args::new(vec![Py::str(pattern), Py::str(text)]))
    };
    match run(&mut interp).map_err(|e| e.describe())? {
        Py::List(items) => Ok(items
            .borrow()
            .iter()
            .map(|v| match v {
                Py::None => Value::None,
                other => Value::Str(other.to_str()),
            })
            .collect()),
        other => Err(format!("re.split returned {}", other.type_name())),
    }
}

/// Python's `is` for the singletons a template can name; other values are never identical.
fn is_same(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::None, Value::None)
            | (Value::Bool(true), Value::Bool(true))
            | (Value::Bool(false), Value::Bool(false))
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Op(&'static str),
}

fn tokenize(name: &str, line: usize, code: &str) -> Result<Vec<Tok>, TemplateError> {
    let mut toks = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '\\' && chars.get(i + 1) == Some(&'\n') {
            i += 2;
            continue;
        }
        // String literals, with an optional r/R prefix.
        let (raw, q_at) = if (c == 'r' || c == 'R') && matches!(chars.get(i + 1), Some('"' | '\''))
        {
            (true, i + 1)
        } else {
            (false, i)
        };
        if matches!(chars.get(q_at), Some('"' | '\'')) && (raw || q_at == i) {
            let (s, next) = read_string(&chars, q_at, raw)
                .ok_or_else(|| err(name, line, "unterminated string literal in expression"))?;
            toks.push(Tok::Str(s));
            i = next;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Name(chars[start..i].iter().collect()));
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op = match two.as_str() {
            "==" => Some("=="),
            "!=" => Some("!="),
            _ => None,
        };
        if let Some(op) = op {
            toks.push(Tok::Op(op));
            i += 2;
            continue;
        }
        let op = match c {
            '(' => "(",
            ')' => ")",
            ',' => ",",
            '.' => ".",
            '%' => "%",
            _ => {
                return Err(err(
                    name,
                    line,
                    format!("unsupported expression '{}': unexpected '{c}'", code.trim()),
                ))
            }
        };
        toks.push(Tok::Op(op));
        i += 1;
    }
    Ok(toks)
}

/// Reads a Python string literal (single or triple quoted) starting at the quote `start`.
fn read_string(chars: &[char], start: usize, raw: bool) -> Option<(String, usize)> {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    let mut out = String::new();
    while i < chars.len() {
        let c = chars[i];
        if triple {
            if c == q && chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q) {
                return Some((out, i + 3));
            }
        } else if c == q {
            return Some((out, i + 1));
        } else if c == '\n' {
            return None;
        }
        if c == '\\' && i + 1 < chars.len() {
            let e = chars[i + 1];
            if raw {
                out.push('\\');
                out.push(e);
                i += 2;
                continue;
            }
            i += 2;
            match e {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match chars.get(i).and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex: String = chars.get(i..i + len)?.iter().collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    i += len;
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    None
}

struct Parser<'a> {
    name: &'a str,
    line: usize,
    code: &'a str,
    toks: Vec<Tok>,
    pos: usize,
}

fn parse_expr(name: &str, line: usize, code: &str) -> Result<Expr, TemplateError> {
    let toks = tokenize(name, line, code)?;
    let mut p = Parser {
        name,
        line,
        code,
        toks,
        pos: 0,
    };
    if p.toks.is_empty() {
        return Err(p.error("empty expression"));
    }
    let e = p.ternary()?;
    if p.pos < p.toks.len() {
        return Err(p.error(&format!("unexpected {}", p.describe())));
    }
    Ok(e)
}

impl Parser<'_> {
    fn error(&self, what: &str) -> TemplateError {
        err(
            self.name,
            self.line,
            format!("unsupported expression '{}': {what}", self.code.trim()),
        )
    }

    fn describe(&self) -> String {
        match self.toks.get(self.pos) {
            Some(Tok::Name(n)) => format!("'{n}'"),
            Some(Tok::Str(s)) => repr_str(s),
            Some(Tok::Op(o)) => format!("'{o}'"),
            None => "end of expression".to_string(),
        }
    }

    fn peek_name(&self, word: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Name(n)) if n == word)
    }

    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }

    fn expect_op(&mut self, op: &str) -> Result<(), TemplateError> {
        if self.peek_op(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected '{op}', found {}", self.describe())))
        }
    }

    fn ternary(&mut self) -> Result<Expr, TemplateError> {
        let then = self.or()?;
        if !self.peek_name("if") {
            return Ok(then);
        }
        self.pos += 1;
        let cond = self.or()?;
        if !self.peek_name("else") {
            return Err(self.error(&format!("expected 'else', found {}", self.describe())));
        }
        self.pos += 1;
        let otherwise = self.ternary()?;
        Ok(Expr::IfElse {
            cond: Box::new(cond),
            then: Box::new(then),
            otherwise: Box::new(otherwise),
        })
    }

    fn or(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.and()?;
        while self.peek_name("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.not()?;
        while self.peek_name("and") {
            self.pos += 1;
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, TemplateError> {
        if self.peek_name("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn term(&mut self) -> Result<Expr, TemplateError> {
        let mut left = self.postfix()?;
        while self.peek_op("%") {
            self.pos += 1;
            let right = self.postfix()?;
            left = Expr::Mod(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, TemplateError> {
        let left = self.term()?;
        let op = if self.peek_op("==") {
            self.pos += 1;
            CmpOp::Eq
        } else if self.peek_op("!=") {
            self.pos += 1;
            CmpOp::Ne
        } else if self.peek_name("is") {
            self.pos += 1;
            if self.peek_name("not") {
                self.pos += 1;
                CmpOp::IsNot
            } else {
                CmpOp::Is
            }
        } else if self.peek_name("in") {
            self.pos += 1;
            CmpOp::In
        } else if self.peek_name("not")
            && matches!(self.toks.get(self.pos + 1), Some(Tok::Name(n)) if n == "in")
        {
            self.pos += 2;
            CmpOp::NotIn
        } else {
            return Ok(left);
        };
        let right = self.term()?;
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn postfix(&mut self) -> Result<Expr, TemplateError> {
        let mut e = self.atom()?;
        loop {
            if self.peek_op(".") {
                self.pos += 1;
                match self.toks.get(self.pos) {
                    Some(Tok::Name(attr)) => {
                        let attr = attr.clone();
                        self.pos += 1;
                        e = Expr::Attr(Box::new(e), attr);
                    }
                    _ => {
                        return Err(self.error(&format!(
                            "expected an attribute name, found {}",
                            self.describe()
                        )))
                    }
                }
            } else if self.peek_op("(") && matches!(e, Expr::Attr(..)) {
                let Expr::Attr(recv, method) = e else {
                    unreachable!("checked above")
                };
                self.pos += 1;
                let mut args = Vec::new();
                while !self.peek_op(")") {
                    args.push(self.ternary()?);
                    if !self.peek_op(",") {
                        break;
                    }
                    self.pos += 1;
                }
                self.expect_op(")")?;
                e = Expr::Method(recv, method, args);
            } else if self.peek_op("(") {
                let Expr::Name(func) = &e else {
                    return Err(self.error("only calls of repr, str, len and comma are supported"));
                };
                if !matches!(func.as_str(), "repr" | "str" | "len" | "comma") {
                    return Err(self.error(&format!(
                        "unsupported function '{func}' (supported: repr, str, len, comma)"
                    )));
                }
                let func = func.clone();
                self.pos += 1;
                let mut args = Vec::new();
                while !self.peek_op(")") {
                    args.push(self.ternary()?);
                    if !self.peek_op(",") {
                        break;
                    }
                    self.pos += 1;
                }
                self.expect_op(")")?;
                e = Expr::Call(func, args);
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, TemplateError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Name(n)) => {
                if matches!(
                    n.as_str(),
                    "if" | "else" | "and" | "or" | "not" | "is" | "in" | "lambda" | "for"
                ) {
                    return Err(self.error(&format!("unexpected '{n}'")));
                }
                self.pos += 1;
                Ok(match n.as_str() {
                    "None" => Expr::Lit(Value::None),
                    "True" => Expr::Lit(Value::Bool(true)),
                    "False" => Expr::Lit(Value::Bool(false)),
                    _ => Expr::Name(n),
                })
            }
            Some(Tok::Str(s)) => {
                // Adjacent literals concatenate, as in Python.
                let mut text = s;
                self.pos += 1;
                while let Some(Tok::Str(more)) = self.toks.get(self.pos) {
                    text.push_str(more);
                    self.pos += 1;
                }
                Ok(Expr::Lit(Value::Str(text)))
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                if self.peek_op(")") {
                    self.pos += 1;
                    return Ok(Expr::Tuple(Vec::new()));
                }
                let e = self.ternary()?;
                if !self.peek_op(",") {
                    self.expect_op(")")?;
                    return Ok(e);
                }
                let mut items = vec![e];
                while self.peek_op(",") {
                    self.pos += 1;
                    if self.peek_op(")") {
                        break;
                    }
                    items.push(self.ternary()?);
                }
                self.expect_op(")")?;
                Ok(Expr::Tuple(items))
            }
            _ => Err(self.error(&format!("unexpected {}", self.describe()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, Value)]) -> Context {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn r(src: &str, pairs: &[(&str, Value)]) -> String {
        render("t", src, &ctx(pairs)).unwrap()
    }

    fn e(src: &str, pairs: &[(&str, Value)]) -> TemplateError {
        match Template::parse("t", src) {
            Ok(t) => t.render(&ctx(pairs)).unwrap_err(),
            Err(e) => e,
        }
    }

    #[test]
    fn repr_follows_python_quoting() {
        assert_eq!(repr_str("abc"), "'abc'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(repr_str("a\\b\n"), "'a\\\\b\\n'");
        assert_eq!(repr_str("\x01é"), "'\\x01é'");
        assert_eq!(Value::str_tuple(&["a"]).repr(), "('a',)");
        assert_eq!(Value::str_tuple(&["a", "b"]).repr(), "('a', 'b')");
        assert_eq!(Value::Tuple(vec![]).repr(), "()");
        assert_eq!(
            Value::List(vec![Value::str("a"), Value::str("b")]).repr(),
            "['a', 'b']"
        );
    }

    #[test]
    fn expressions_and_filters() {
        let down = Value::str_tuple(&["a", "b"]);
        assert_eq!(r("${x | comma,n}", &[("x", down.clone())]), "a, b");
        assert_eq!(r("${x | comma,n}", &[("x", Value::None)]), "");
        assert_eq!(r("${x}", &[("x", Value::None)]), "None");
        // Without `n` the default `str` filter runs first, so `comma` sees a string.
        assert_eq!(r("${x | comma}", &[("x", down.clone())]), "('a', 'b')");
        assert_eq!(r("${repr(x)}", &[("x", down)]), "('a', 'b')");
        assert_eq!(r("${imports if imports else \"\"}", &[]), "");
        assert_eq!(
            r("${u if u else \"pass\"}", &[("u", Value::str("op.x()"))]),
            "op.x()"
        );
        assert_eq!(r("${\"}\"}", &[]), "}");
        assert_eq!(r("${x is None}", &[("x", Value::None)]), "True");
        assert_eq!(r("${not x and 'a' or 'b'}", &[("x", Value::None)]), "a");
        let ns = Value::Namespace(ctx(&[("y", Value::str("v"))]).into_iter().collect());
        assert_eq!(r("${x.y}", &[("x", ns)]), "v");
        assert_eq!(r("${x | trim}", &[("x", Value::str("  a "))]), "a");
    }

    #[test]
    fn control_lines_comments_and_escapes() {
        let src = "a\n% if x:\nX ${x}\n% elif y:\nY\n% else:\nZ\n% endif\n## gone\nb \\\nc\n%% lit\n<%text>${raw}</%text>\n";
        assert_eq!(
            r(src, &[("x", Value::str("1"))]),
            "a\nX 1\nb c\n% lit\n${raw}\n"
        );
        assert_eq!(
            r(src, &[("y", Value::Bool(true))]),
            "a\nY\nb c\n% lit\n${raw}\n"
        );
        assert_eq!(r(src, &[]), "a\nZ\nb c\n% lit\n${raw}\n");
        assert_eq!(r("  % if x:\nin\n  % endif\nout", &[]), "out");
    }

    /// Alembic's multidb `script.py.mako` constructs, rendered as Mako 1.3
    /// renders them (measured with the reference install).
    #[test]
    fn python_blocks_loops_and_context_get() {
        let src = "<%!\nimport re\n\n%>top\n<%\n    names = config.get_main_option(\"databases\")\n%>\n\n## c\n% for n in re.split(r',\\s*', names):\n\ndef up_${n}():\n    ${context.get(\"%s_upgrades\" % n, \"pass\")}\n\n% endfor\n";
        let mut main = BTreeMap::new();
        main.insert("databases".to_string(), Ok("one, two".to_string()));
        let config = Value::Config(ConfigView {
            ini_section: "alembic".into(),
            file_name: None,
            main,
        });
        assert_eq!(
            r(
                src,
                &[
                    ("config", config),
                    ("two_upgrades", Value::str("op.drop_table('t')"))
                ]
            ),
            "top\n\n\n\ndef up_one():\n    pass\n\n\ndef up_two():\n    op.drop_table('t')\n\n"
        );
        assert_eq!(
            r(
                "${'%s-%r %%' % ('a', 'b')} ${', '.join(x.split(','))}",
                &[("x", Value::str("p,q"))]
            ),
            "a-'b' % p, q"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e1 = e("a\nb\n% for x in y:\n% endfor\n", &[]);
        assert_eq!((e1.line, e1.message.as_str()), (3, "'y' is undefined"));
        let e2 = e("a\n<%!\nimport os\n%>\n", &[]);
        assert_eq!(e2.line, 3);
        assert!(e2.to_string().starts_with("template t, line 3: "), "{e2}");
        let e6 = e("<%\nif x:\n    y = 1\n%>", &[]);
        assert!(e6.message.contains("imports and assignments only"), "{e6}");
        let e7 = e("% for x in ['a']:\n", &[]);
        assert!(e7.message.contains("unsupported expression"), "{e7}");
        let e8 = e("% for x in z:\nno end\n", &[("z", Value::str("ab"))]);
        assert!(e8.message.contains("'for' has no '% endfor'"), "{e8}");
        let e3 = e("x\n${imports}\n", &[]);
        assert_eq!(
            (e3.line, e3.message.as_str()),
            (2, "'imports' is undefined")
        );
        let e4 = e("% if x:\nno end\n", &[]);
        assert_eq!(e4.line, 1);
        let e5 = e("${x | h}", &[]);
        assert!(e5.message.contains("filter 'h'"), "{e5}");
        let e6 = e("\n\n${foo(1)}", &[]);
        assert_eq!(e6.line, 3);
        let e7 = e("${a", &[]);
        assert!(e7.message.contains("unterminated"), "{e7}");
    }
}
