//! The renderer of `script.py.mako`: Mako's template language, with every
//! piece of Python in it read by the one Python front end and run by the
//! project's interpreter.
//!
//! Alembic writes every new revision file by rendering the project's
//! `script.py.mako` with Mako. This module owns that step without Python.
//! The lexer cuts a template as Mako's does: text, `${expr | filters}`,
//! control lines (`% if`/`% elif`/`% else`/`% endif`, `% for`/`% endfor`),
//! `## comments`, `<% %>` and `<%! %>` blocks, `<%text>`, `<%doc>`, `%%` and
//! a backslash before a newline. Each expression, filter list, control
//! line and block is then parsed by [`crate::syntax`] (the grammar and AST of
//! revision files and `env.py`), laid out so that the AST's spans give the
//! template's own line and column, and evaluated by [`crate::interp`] in one
//! module scope holding the values Alembic passes (`up_revision`,
//! `down_revision`, `config`, `create_date`, `comma`, ...), Mako's `context`
//! and `UNDEFINED`. So any Python a template holds (method calls, `%`
//! formatting, conditional expressions, comprehensions, `import re`) works
//! as it does under Mako, and the output is byte for byte what Mako writes
//! (the [`Value`] `str()`/`repr()` rules are Python's). Mako's `loop` in
//! `% for` and `return STOP_RENDERING` in a block work as in Mako.
//!
//! A Python syntax error is reported in Mako's words (`(SyntaxError) invalid
//! syntax (<unknown>, line 1) ('x +') in file '...' at line: 4 char: 10`);
//! an error while rendering names the template, line and column. Mako tags
//! other than `<%text>` and `<%doc>` (`<%def>`, `<%include>`, ...) and the
//! control keywords `while`/`try`/`with` are errors naming the line. This
//! module never reads files.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::interp::value::new_scope;
use crate::interp::{Args, Dict, ErrorKind, Interp, Native, PyError, PyResult, Scope, SourceFile};
use crate::syntax::ast::{self as py, ExprKind, StmtKind};
use crate::syntax::body::parse_module;

/// A template error: where it happened and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// The template's name, usually its path.
    pub name: String,
    /// The 1-based line of the template where the problem is.
    pub line: usize,
    /// The 1-based column, where it is known.
    pub column: Option<usize>,
    /// What went wrong.
    pub message: String,
    /// For one of Mako's compile errors (a Python syntax error in the
    /// template), the class Mako raises (`SyntaxException`,
    /// `CompileException`): the message is then Mako's, printed as Mako
    /// prints it, with `in file '...' at line: N char: M`. Alembic does not
    /// catch these: it dies with a traceback.
    pub mako: Option<&'static str>,
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.mako.is_some() {
            write!(
                f,
                "{} in file '{}' at line: {} char: {}",
                self.message,
                self.name,
                self.line,
                self.column.unwrap_or(1)
            )
        } else if let Some(column) = self.column {
            write!(
                f,
                "template {}, line {}, column {column}: {}",
                self.name, self.line, self.message
            )
        } else {
            write!(
                f,
                "template {}, line {}: {}",
                self.name, self.line, self.message
            )
        }
    }
}

impl std::error::Error for TemplateError {}

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
    /// Alembic's `config` (the `Config` of the command).
    Config(ConfigView),
    /// Alembic's `create_date`, a `datetime.datetime`.
    DateTime(DateTimeView),
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

/// A `datetime.datetime` as a template sees it: `str()` is `text`, the
/// fields (`year`, ..., `microsecond`) and `strftime` come from `local`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeView {
    /// The wall-clock date and time.
    pub local: chrono::NaiveDateTime,
    /// Python's `str()` of the value (with its UTC offset when it has one).
    pub text: String,
    /// Whether it carries a time zone (its `repr()` then names a `tzinfo`
    /// aurora does not know, and is refused).
    pub aware: bool,
}

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

/// Where a construct of the template starts (1-based, the column in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    line: usize,
    column: usize,
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    /// The `<%! %>` blocks, run before rendering.
    module_code: Vec<Block>,
    nodes: Vec<Node>,
    /// Every name the template's Python reads: those the context does not
    /// define are Mako's `UNDEFINED`.
    names: BTreeSet<String>,
}

/// The statements of a `<% %>` or `<%! %>` block.
#[derive(Debug, Clone)]
struct Block {
    body: Vec<py::Stmt>,
    code: Snippet,
}

/// One piece of Python cut out of the template: the text its AST's spans
/// point into (laid out so that they give the template's lines and
/// columns) and where the construct starts.
#[derive(Debug, Clone)]
struct Snippet {
    source: Rc<SourceFile>,
    at: Place,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    /// `${expr | filters}`.
    Expr {
        expr: py::Expr,
        code: Snippet,
        filters: Filters,
    },
    If {
        branches: Vec<(py::Expr, Snippet, Vec<Node>)>,
        otherwise: Vec<Node>,
    },
    /// `% for target in iter:` ... `% endfor`.
    For {
        target: py::Expr,
        iter: py::Expr,
        code: Snippet,
        body: Vec<Node>,
    },
    /// A `<% %>` block.
    Python(Block),
}

/// The filters of a `${...}`, innermost first, after Mako's default `str`
/// (left out by `n`).
#[derive(Debug, Clone)]
struct Filters {
    chain: Vec<Filter>,
    code: Option<Snippet>,
}

#[derive(Debug, Clone)]
enum Filter {
    /// `str` (Mako's default) and `unicode`.
    Str,
    /// `trim`: `str.strip()`.
    Trim,
    /// `h`: markupsafe's `escape`.
    Html,
    /// `x`: Mako's `xml_escape`.
    Xml,
    /// `u`: `urllib.parse.quote_plus` of the UTF-8 bytes.
    Url,
    /// Any other filter: an expression whose value is called with the text
    /// (Alembic's `comma`).
    Call(py::Expr),
}

/// One lexical piece of a template, before `% if` blocks are nested.
#[derive(Debug)]
enum Piece {
    Text(String),
    /// The code of a `<% %>` block (`module`: `<%! %>`).
    Python {
        code: String,
        code_start: usize,
        module: bool,
        at: Place,
    },
    Expr {
        code: String,
        code_start: usize,
        filters: String,
        filters_start: usize,
        at: Place,
    },
    Control {
        keyword: String,
        is_end: bool,
        text: String,
        text_start: usize,
        line: usize,
    },
}

impl Template {
    /// Parses `source`; `name` is used in error messages.
    pub fn parse(name: &str, source: &str) -> Result<Template, TemplateError> {
        let pieces = Lexer::new(name, source).run()?;
        let parser = Parser { name, src: source };
        // `<%! %>` blocks are module-level code: they run first, wherever they are.
        let mut module_code = Vec::new();
        let mut rest = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Python {
                    code,
                    code_start,
                    module: true,
                    at,
                } => module_code.push(parser.block(&code, code_start, at)?),
                other => rest.push(other),
            }
        }
        let mut iter = rest.into_iter().peekable();
        let nodes = parser.build(&mut iter, false)?;
        let mut names = BTreeSet::new();
        for block in &module_code {
            names_in_stmts(&block.body, &mut names);
        }
        names_in_nodes(&nodes, &mut names);
        Ok(Template {
            name: name.to_string(),
            module_code,
            nodes,
            names,
        })
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
        column: None,
        message: message.into(),
        mako: None,
    }
}

/// Mako's `CompileException`/`SyntaxException` at a construct.
fn mako_err(
    class: &'static str,
    name: &str,
    line: usize,
    column: usize,
    message: impl Into<String>,
) -> TemplateError {
    TemplateError {
        name: name.to_string(),
        line,
        column: Some(column),
        message: message.into(),
        mako: Some(class),
    }
}

type Pieces = std::iter::Peekable<std::vec::IntoIter<Piece>>;

/// Turns the pieces of a template into nodes, parsing their Python with the
/// front end.
struct Parser<'a> {
    name: &'a str,
    src: &'a str,
}

impl Parser<'_> {
    /// Parses `code`, which starts at byte `start` of the template, as Mako
    /// parses it (`mako_code` is the text Mako hands to Python, quoted in a
    /// syntax error). The text given to the front end puts `code` at its own
    /// line and column: blank lines before it and form feeds (which Python
    /// does not count as indentation) before its first character. `before`
    /// is a line Mako puts in front of a fragment (`if False:pass` before an
    /// `elif`), placed on the line above.
    fn parse(
        &self,
        code: &str,
        start: usize,
        mako_code: &str,
        before: Option<&str>,
        at: Place,
    ) -> Result<(py::Module, Snippet), TemplateError> {
        let (line, column) = crate::syntax::line_col(self.src, start);
        let mut text = String::with_capacity(line + column + code.len() + 16);
        let first_line = match before {
            Some(before) if line >= 2 => {
                text.push_str(&"\n".repeat(line - 2));
                text.push_str(before);
                text.push('\n');
                line - 1
            }
            _ => {
                text.push_str(&"\n".repeat(line - 1));
                line
            }
        };
        text.push_str(&"\x0c".repeat(column - 1));
        text.push_str(code);
        match parse_module(&text) {
            Ok(module) => Ok((
                module,
                Snippet {
                    source: Rc::new(SourceFile {
                        path: PathBuf::from(self.name),
                        text,
                    }),
                    at,
                },
            )),
            Err(e) => {
                let quoted: String = mako_code.chars().take(50).collect();
                Err(mako_err(
                    "SyntaxException",
                    self.name,
                    e.line,
                    at.column,
                    format!(
                        "({}) {} (<unknown>, line {}) ({})",
                        e.kind,
                        e.message,
                        (e.line + 1).saturating_sub(first_line).max(1),
                        repr_str(&quoted)
                    ),
                ))
            }
        }
    }

    /// A `<% %>` block: its lines lose the first code line's indentation
    /// (Mako's `adjust_whitespace`), then it is parsed as a module.
    fn block(&self, code: &str, code_start: usize, at: Place) -> Result<Block, TemplateError> {
        let (laid_out, mako_code) = adjust_whitespace(code);
        let stripped = laid_out.trim_start();
        let start = code_start + (laid_out.len() - stripped.len());
        let mako_code = format!("{mako_code}\n");
        let (module, code) = self.parse(stripped, start, mako_code.trim_start(), None, at)?;
        Ok(Block {
            body: module.body,
            code,
        })
    }

    /// `${code | filters}`.
    fn expression(
        &self,
        code: &str,
        code_start: usize,
        filters: &str,
        filters_start: usize,
        at: Place,
    ) -> Result<Node, TemplateError> {
        let stripped = code.trim_start();
        let start = code_start + (code.len() - stripped.len());
        let mako_code = stripped.replace("\r\n", "\n");
        let (module, snippet) = self.parse(stripped, start, &mako_code, None, at)?;
        let expr = single_expression(module).ok_or_else(|| {
            let mut e = err(
                self.name,
                at.line,
                format!("'${{{}}}' must hold one Python expression", code.trim()),
            );
            e.column = Some(at.column);
            e
        })?;
        Ok(Node::Expr {
            expr,
            code: snippet,
            filters: self.filters(filters, filters_start, at)?,
        })
    }

    /// The filters after `|`: Mako reads them as a Python argument list.
    fn filters(&self, text: &str, start: usize, at: Place) -> Result<Filters, TemplateError> {
        let stripped = text.trim_start();
        let start = start + (text.len() - stripped.len());
        let mut exprs = Vec::new();
        let mut code = None;
        if !stripped.trim().is_empty() {
            let (module, snippet) = self.parse(stripped, start, stripped.trim(), None, at)?;
            let expr = single_expression(module).ok_or_else(|| {
                err(
                    self.name,
                    at.line,
                    format!("invalid filters '{}'", text.trim()),
                )
            })?;
            match expr.kind {
                ExprKind::Tuple(items) => exprs = items,
                _ => exprs.push(expr),
            }
            code = Some(snippet);
        }
        let is_name = |e: &py::Expr, n: &str| matches!(&e.kind, ExprKind::Name(x) if x == n);
        let mut chain = Vec::new();
        if !exprs.iter().any(|e| is_name(e, "n")) {
            chain.push(Filter::Str);
        }
        for e in exprs {
            let filter = match &e.kind {
                ExprKind::Name(n) => match n.as_str() {
                    "n" => continue,
                    "str" | "unicode" => Filter::Str,
                    "trim" => Filter::Trim,
                    "h" => Filter::Html,
                    "x" => Filter::Xml,
                    "u" => Filter::Url,
                    "entity" | "decode" => {
                        return Err(err(
                            self.name,
                            at.line,
                            format!("aurora does not render Mako's '{n}' filter"),
                        ))
                    }
                    _ => Filter::Call(e),
                },
                _ => Filter::Call(e),
            };
            chain.push(filter);
        }
        Ok(Filters { chain, code })
    }

    /// The Python of a control line (`if x:`), completed as Mako completes
    /// it (`if x:pass`); `else` and `elif` follow an `if False:pass` line.
    fn control(
        &self,
        text: &str,
        text_start: usize,
        line: usize,
    ) -> Result<(py::Stmt, Snippet), TemplateError> {
        let at = Place { line, column: 1 };
        let Some(len) = fragment_len(text) else {
            return Err(mako_err(
                "CompileException",
                self.name,
                line,
                1,
                format!("Fragment '{text}' is not a partial control statement"),
            ));
        };
        let code = format!("{}pass", &text[..len]);
        let keyword: String = text
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let continuation = matches!(keyword.as_str(), "elif" | "else");
        let before = continuation.then_some("if False:pass");
        let mako_code = match before {
            Some(b) => format!("{b}\n{code}"),
            None => code.clone(),
        };
        let (module, snippet) = self.parse(&code, text_start, &mako_code, before, at)?;
        let stmt = module.body.into_iter().next();
        let stmt = match (continuation, stmt) {
            (
                true,
                Some(py::Stmt {
                    kind: StmtKind::If { orelse, .. },
                    ..
                }),
            ) => orelse.into_iter().next(),
            (_, stmt) => stmt,
        };
        let stmt =
            stmt.ok_or_else(|| err(self.name, line, format!("invalid control line: '{text}'")))?;
        Ok((stmt, snippet))
    }

    /// The test of `% if`/`% elif`, with its snippet.
    fn condition(
        &self,
        text: &str,
        text_start: usize,
        line: usize,
    ) -> Result<(py::Expr, Snippet), TemplateError> {
        let (stmt, snippet) = self.control(text, text_start, line)?;
        match stmt.kind {
            StmtKind::If { test, .. } => Ok((test, snippet)),
            _ => Err(err(
                self.name,
                line,
                format!("invalid control line: '{text}'"),
            )),
        }
    }

    fn build(&self, pieces: &mut Pieces, nested: bool) -> Result<Vec<Node>, TemplateError> {
        let mut nodes = Vec::new();
        while let Some(piece) = pieces.peek() {
            match piece {
                Piece::Control {
                    keyword, is_end, ..
                } if nested
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
                Piece::Python {
                    code,
                    code_start,
                    at,
                    ..
                } => nodes.push(Node::Python(self.block(&code, code_start, at)?)),
                Piece::Expr {
                    code,
                    code_start,
                    filters,
                    filters_start,
                    at,
                } => nodes.push(self.expression(&code, code_start, &filters, filters_start, at)?),
                Piece::Control {
                    keyword,
                    is_end,
                    text,
                    text_start,
                    line,
                } => {
                    if is_end {
                        return Err(mako_err(
                            "SyntaxException",
                            self.name,
                            line,
                            1,
                            format!("No starting keyword '{keyword}' for '{text}'"),
                        ));
                    }
                    match keyword.as_str() {
                        "if" => nodes.push(self.build_if(pieces, &text, text_start, line)?),
                        "for" => nodes.push(self.build_for(pieces, &text, text_start, line)?),
                        "elif" | "else" => {
                            return Err(err(
                                self.name,
                                line,
                                format!("'{keyword}' without a matching '% if'"),
                            ))
                        }
                        other => {
                            return Err(err(
                                self.name,
                                line,
                                format!(
                                    "unsupported Mako control line '% {other}' (aurora renders % if/elif/else and % for)"
                                ),
                            ))
                        }
                    }
                }
            }
        }
        Ok(nodes)
    }

    /// `% for target in iter:` up to its `% endfor`.
    fn build_for(
        &self,
        pieces: &mut Pieces,
        text: &str,
        text_start: usize,
        line: usize,
    ) -> Result<Node, TemplateError> {
        let (stmt, code) = self.control(text, text_start, line)?;
        let StmtKind::For { target, iter, .. } = stmt.kind else {
            return Err(err(
                self.name,
                line,
                format!("invalid control line: '{text}'"),
            ));
        };
        let body = self.build(pieces, true)?;
        match pieces.next() {
            Some(Piece::Control {
                keyword,
                is_end: true,
                ..
            }) if keyword == "for" => Ok(Node::For {
                target,
                iter,
                code,
                body,
            }),
            Some(Piece::Control {
                text,
                is_end: true,
                line: l,
                ..
            }) => Err(mismatched_end(self.name, &text, "for", l)),
            Some(Piece::Control { text, line: l, .. }) => Err(err(
                self.name,
                l,
                format!("'{text}' inside the '% for' of line {line}"),
            )),
            _ => Err(unterminated(self.name, "for", line)),
        }
    }

    fn build_if(
        &self,
        pieces: &mut Pieces,
        text: &str,
        text_start: usize,
        line: usize,
    ) -> Result<Node, TemplateError> {
        let mut branches = Vec::new();
        let (mut cond, mut code) = self.condition(text, text_start, line)?;
        loop {
            let body = self.build(pieces, true)?;
            branches.push((cond, code, body));
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
                    text_start,
                    line: l,
                    ..
                }) if keyword == "elif" => {
                    (cond, code) = self.condition(&text, text_start, l)?;
                }
                Some(Piece::Control {
                    keyword,
                    text,
                    text_start,
                    line: l,
                    ..
                }) if keyword == "else" => {
                    self.control(&text, text_start, l)?;
                    let otherwise = self.build(pieces, true)?;
                    return match pieces.next() {
                        Some(Piece::Control {
                            keyword,
                            is_end: true,
                            ..
                        }) if keyword == "if" => Ok(Node::If {
                            branches,
                            otherwise,
                        }),
                        Some(Piece::Control {
                            text,
                            is_end: true,
                            line: l,
                            ..
                        }) => Err(mismatched_end(self.name, &text, "if", l)),
                        Some(Piece::Control { text, line: l, .. }) => Err(err(
                            self.name,
                            l,
                            format!("'{text}' after '% else' in the '% if' of line {line}"),
                        )),
                        _ => Err(unterminated(self.name, "if", line)),
                    };
                }
                Some(Piece::Control {
                    text,
                    is_end: true,
                    line: l,
                    ..
                }) => return Err(mismatched_end(self.name, &text, "if", l)),
                _ => return Err(unterminated(self.name, "if", line)),
            }
        }
    }
}

/// Mako's error for an end line that closes another keyword (`% endfor` in an `% if`).
fn mismatched_end(name: &str, text: &str, open: &str, line: usize) -> TemplateError {
    mako_err(
        "SyntaxException",
        name,
        line,
        1,
        format!("Keyword '{text}' doesn't match keyword '{open}'"),
    )
}

/// Mako's error for a control line without its end line.
fn unterminated(name: &str, keyword: &str, line: usize) -> TemplateError {
    mako_err(
        "SyntaxException",
        name,
        line,
        1,
        format!("Unterminated control keyword: '{keyword}'"),
    )
}

/// Mako's error for a `${` or `<%` whose end is missing.
fn unterminated_tag(name: &str, at: Place, expected: &str) -> TemplateError {
    mako_err(
        "SyntaxException",
        name,
        at.line,
        at.column,
        format!("Expected: {expected}; unterminated tag or expression beginning"),
    )
}

/// The one expression statement a module holds, if that is all it holds.
fn single_expression(module: py::Module) -> Option<py::Expr> {
    let mut body = module.body.into_iter();
    match (body.next(), body.next()) {
        (
            Some(py::Stmt {
                kind: StmtKind::Expr(e),
                ..
            }),
            None,
        ) => Some(e),
        _ => None,
    }
}

/// The length of a control line's text up to and including the colon that
/// ends its header, as Mako's `PythonFragment` finds it
/// (`^(\w+)(?:\s+(.*?))?:\s*(#|$)`); `None` if it is not a partial control
/// statement.
fn fragment_len(text: &str) -> Option<usize> {
    let text = text.trim_end();
    let keyword = text
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(text.len(), |(i, _)| i);
    if keyword == 0 {
        return None;
    }
    let rest = &text[keyword..];
    let ends_header = |after: &str| {
        let after = after.trim_start();
        after.is_empty() || after.starts_with('#')
    };
    if let Some(after) = rest.strip_prefix(':') {
        if ends_header(after) {
            return Some(keyword + 1);
        }
    }
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    rest.char_indices()
        .filter(|(_, c)| *c == ':')
        .find(|(i, _)| ends_header(&rest[i + 1..]))
        .map(|(i, _)| keyword + i + 1)
}

/// Mako's `adjust_whitespace`: every line of a block loses the leading
/// whitespace of its first code line, except lines inside a triple-quoted
/// string or after a backslash. Returns the block with that whitespace
/// replaced by form feeds (same bytes at the same offsets, the same
/// indentation for Python) and the text Mako makes of it.
fn adjust_whitespace(code: &str) -> (String, String) {
    let mut laid_out = String::with_capacity(code.len());
    let mut mako = Vec::new();
    let mut backslashed = false;
    let mut triple: Option<&'static str> = None;
    let mut stripspace: Option<String> = None;
    for (i, raw) in code.split('\n').enumerate() {
        if i > 0 {
            laid_out.push('\n');
        }
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let continued = backslashed || triple.is_some();
        backslashed = line.ends_with('\\');
        // Mako's `in_multi_line`: follow triple quotes up to a comment.
        let mut rest = line;
        while !rest.is_empty() {
            if let Some(q) = triple {
                match rest.find(q) {
                    Some(0) => {
                        triple = None;
                        rest = &rest[3..];
                    }
                    Some(at) => rest = &rest[at..],
                    None => rest = "",
                }
            } else {
                if rest.starts_with('#') {
                    break;
                }
                if rest.starts_with("\"\"\"") {
                    triple = Some("\"\"\"");
                    rest = &rest[3..];
                    continue;
                }
                if rest.starts_with("'''") {
                    triple = Some("'''");
                    rest = &rest[3..];
                    continue;
                }
                let next = ["\"\"\"", "'''", "#"]
                    .iter()
                    .filter_map(|m| rest.find(m))
                    .min()
                    .unwrap_or(rest.len());
                rest = &rest[next..];
            }
        }
        if continued {
            laid_out.push_str(raw);
            mako.push(line.to_string());
            continue;
        }
        let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
        if stripspace.is_none() {
            let after = &line[indent_len..];
            if !after.is_empty() && !after.starts_with('#') {
                stripspace = Some(line[..indent_len].to_string());
            }
        }
        match &stripspace {
            Some(strip) if line.starts_with(strip.as_str()) => {
                laid_out.push_str(&"\x0c".repeat(strip.len()));
                laid_out.push_str(&raw[strip.len()..]);
                mako.push(line[strip.len()..].to_string());
            }
            _ => {
                laid_out.push_str(raw);
                mako.push(line.to_string());
            }
        }
    }
    (laid_out, mako.join("\n"))
}

/// Mako's runtime pieces a template can meet, and the type of Alembic's
/// `create_date`, written in Python and run by the interpreter.
const RUNTIME: &str = r#"
class Undefined:
    def __str__(self):
        raise NameError("Undefined")

    def __bool__(self):
        return False


UNDEFINED = Undefined()
STOP_RENDERING = ""


class LoopContext:
    def cycle(self, *values):
        if not values:
            raise ValueError("You must provide values to cycle through")
        return values[self.index % len(values)]


class datetime:
    def __str__(self):
        return self._text

    def __repr__(self):
        if self._aware:
            raise NotImplementedError("aurora cannot write the repr() of a create_date with a timezone")
        fields = [self.year, self.month, self.day, self.hour, self.minute]
        if self.second or self.microsecond:
            fields.append(self.second)
        if self.microsecond:
            fields.append(self.microsecond)
        return "datetime.datetime(%s)" % ", ".join([str(f) for f in fields])
"#;

/// One rendering: the interpreter, the template's module scope and what
/// Mako's `context` holds.
struct Run<'t> {
    template: &'t Template,
    interp: Interp<'static>,
    globals: Scope,
    undefined: crate::interp::Value,
    datetime: crate::interp::Value,
    /// Mako's `loop` class and the loops being rendered, innermost last.
    loop_class: crate::interp::Value,
    loops: Vec<crate::interp::Value>,
}

impl Template {
    /// Renders the template with `context`.
    pub fn render(&self, context: &Context) -> Result<String, TemplateError> {
        let mut run = Run::new(self)?;
        let mut data = Dict::default();
        for (key, value) in context {
            let value = run.value(value)?;
            data.insert(PyValue::str(key), value);
        }
        // Alembic passes `comma=util.format_as_comma` with the revision's values.
        if data.get_str("comma").is_none() {
            data.insert(
                PyValue::str("comma"),
                PyValue::builtin("format_as_comma", |_, args| {
                    let value = args.require(0, "value", "format_as_comma")?;
                    format_as_comma(&value).map(PyValue::str)
                }),
            );
        }
        {
            let mut globals = run.globals.borrow_mut();
            for (key, value) in &data.items {
                globals.insert(key.to_str(), value.clone());
            }
            globals.insert("UNDEFINED".into(), run.undefined.clone());
            globals.insert("STOP_RENDERING".into(), PyValue::str(""));
            globals
                .entry("context".into())
                .or_insert_with(|| PyValue::native(MakoContext { data }));
            let builtins = run.interp.builtins.borrow();
            for name in &self.names {
                if !globals.contains_key(name) && !builtins.contains_key(name) {
                    globals.insert(name.clone(), run.undefined.clone());
                }
            }
        }
        for block in &self.module_code {
            // `<%! %>` code is module-level Python, where `return` is a
            // SyntaxError when Mako compiles the template.
            if run.exec(block)? {
                let mut e = err(
                    &self.name,
                    block.code.at.line,
                    "SyntaxError: 'return' outside function",
                );
                e.column = Some(block.code.at.column);
                return Err(e);
            }
        }
        let mut out = String::new();
        // A `return` in a `<% %>` block (Mako's `return STOP_RENDERING`)
        // ends the rendering: the text written so far is the output.
        run.nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

use crate::interp::Value as PyValue;

impl<'t> Run<'t> {
    fn new(template: &'t Template) -> Result<Run<'t>, TemplateError> {
        let mut interp = Interp::new(None);
        let runtime = interp
            .run_source(
                Path::new("mako/runtime.py"),
                RUNTIME.to_string(),
                "mako.runtime",
                Vec::new(),
            )
            .map_err(|e| err(&template.name, 1, describe(&e)))?;
        let get = |name: &str| {
            runtime
                .globals
                .borrow()
                .get(name)
                .cloned()
                .unwrap_or_default()
        };
        let undefined = get("UNDEFINED");
        let datetime = get("datetime");
        let loop_class = get("LoopContext");
        Ok(Run {
            template,
            interp,
            globals: new_scope(),
            undefined,
            datetime,
            loop_class,
            loops: Vec::new(),
        })
    }

    fn error(&self, e: PyError, at: Place) -> TemplateError {
        // The innermost place in the template (not in Mako's runtime).
        let prefix = format!("{}:", self.template.name);
        let (line, column) = e
            .trace
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            .find_map(parse_location)
            .unwrap_or((at.line, at.column));
        TemplateError {
            name: self.template.name.clone(),
            line,
            column: Some(column),
            message: describe(&e),
            mako: None,
        }
    }

    fn eval(&mut self, expr: &py::Expr, code: &Snippet) -> Result<PyValue, TemplateError> {
        self.interp
            .eval_in(&code.source, &self.globals, expr)
            .map_err(|e| self.error(e, code.at))
    }

    /// Runs a block; `true` when it ran a `return`.
    fn exec(&mut self, block: &Block) -> Result<bool, TemplateError> {
        self.interp
            .exec_in(&block.code.source, &self.globals, &block.body)
            .map_err(|e| self.error(e, block.code.at))
    }

    /// Renders `nodes`; `true` when a block's `return` stopped the rendering.
    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> Result<bool, TemplateError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Expr {
                    expr,
                    code,
                    filters,
                } => {
                    let value = self.eval(expr, code)?;
                    let text = self.filter(value, filters, code.at)?;
                    out.push_str(&text);
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut taken = None;
                    for (test, code, body) in branches {
                        let value = self.eval(test, code)?;
                        let truth = self
                            .interp
                            .truthy(&value)
                            .map_err(|e| self.error(e, code.at))?;
                        if truth {
                            taken = Some(body);
                            break;
                        }
                    }
                    if self.nodes(taken.unwrap_or(otherwise), out)? {
                        return Ok(true);
                    }
                }
                Node::For {
                    target,
                    iter,
                    code,
                    body,
                } => {
                    let iterable = self.eval(iter, code)?;
                    let items = self
                        .interp
                        .iterate(&iterable)
                        .map_err(|e| self.error(e, code.at))?;
                    // Mako's `loop`: the iteration's index, first, last, ...
                    // and the enclosing loop as `loop.parent`.
                    let saved = self.globals.borrow().get("loop").cloned();
                    let parent = self.loops.last().cloned().unwrap_or_default();
                    let looping = self
                        .interp
                        .call(&self.loop_class.clone(), Args::default())
                        .map_err(|e| self.error(e, code.at))?;
                    self.globals
                        .borrow_mut()
                        .insert("loop".into(), looping.clone());
                    self.loops.push(looping.clone());
                    let count = items.len();
                    let mut stopped = false;
                    for (index, item) in items.into_iter().enumerate() {
                        self.set_loop(&looping, &parent, index, count)
                            .map_err(|e| self.error(e, code.at))?;
                        self.bind(target, item)
                            .map_err(|e| self.error(e, code.at))?;
                        if self.nodes(body, out)? {
                            stopped = true;
                            break;
                        }
                    }
                    self.loops.pop();
                    match saved {
                        Some(v) => self.globals.borrow_mut().insert("loop".into(), v),
                        None => self.globals.borrow_mut().remove("loop"),
                    };
                    if stopped {
                        return Ok(true);
                    }
                }
                Node::Python(block) => {
                    if self.exec(block)? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// The attributes of Mako's `LoopContext` for one iteration.
    fn set_loop(
        &mut self,
        looping: &PyValue,
        parent: &PyValue,
        index: usize,
        count: usize,
    ) -> PyResult<()> {
        let int = |n: usize| PyValue::Int(i64::try_from(n).unwrap_or(i64::MAX));
        for (name, value) in [
            ("index", int(index)),
            ("reverse_index", int(count - index - 1)),
            ("first", PyValue::Bool(index == 0)),
            ("last", PyValue::Bool(index + 1 == count)),
            ("even", PyValue::Bool(index.is_multiple_of(2))),
            ("odd", PyValue::Bool(!index.is_multiple_of(2))),
            ("parent", parent.clone()),
        ] {
            self.interp.set_attr(looping, name, value)?;
        }
        Ok(())
    }

    /// Binds a `% for` target (a name or a tuple of names) to one item.
    fn bind(&mut self, target: &py::Expr, item: PyValue) -> PyResult<()> {
        match &target.kind {
            ExprKind::Name(name) => {
                self.globals.borrow_mut().insert(name.clone(), item);
                Ok(())
            }
            ExprKind::Tuple(targets) | ExprKind::List(targets) => {
                let items = self.interp.iterate(&item)?;
                if items.len() != targets.len() {
                    return Err(PyError::new(
                        "ValueError",
                        if items.len() > targets.len() {
                            format!("too many values to unpack (expected {})", targets.len())
                        } else {
                            format!(
                                "not enough values to unpack (expected {}, got {})",
                                targets.len(),
                                items.len()
                            )
                        },
                    ));
                }
                for (t, v) in targets.iter().zip(items) {
                    self.bind(t, v)?;
                }
                Ok(())
            }
            _ => Err(PyError::unsupported(
                "a '% for' target other than names".to_string(),
            )),
        }
    }

    /// Applies the filters of a `${...}`; what is written must be a `str`.
    fn filter(
        &mut self,
        value: PyValue,
        filters: &Filters,
        at: Place,
    ) -> Result<String, TemplateError> {
        let mut value = value;
        for filter in &filters.chain {
            let result = match filter {
                Filter::Str => self.interp.to_str(&value).map(PyValue::str),
                Filter::Trim => match &value {
                    PyValue::Str(s) => Ok(PyValue::str(s.trim())),
                    other => Err(no_attribute(other, "strip")),
                },
                Filter::Html => self
                    .interp
                    .to_str(&value)
                    .map(|s| PyValue::str(escape_markup(&s))),
                Filter::Xml => match &value {
                    PyValue::Str(s) => Ok(PyValue::str(escape_markup(s))),
                    other => Err(PyError::new(
                        "TypeError",
                        format!(
                            "expected string or bytes-like object, got '{}'",
                            other.type_name()
                        ),
                    )),
                },
                Filter::Url => match &value {
                    PyValue::Str(s) => Ok(PyValue::str(quote_plus(s))),
                    other => Err(no_attribute(other, "encode")),
                },
                Filter::Call(expr) => {
                    let code = filters.code.as_ref().expect("filters have their code");
                    let f = self.eval(expr, code)?;
                    self.interp.call(&f, Args::new(vec![value.clone()]))
                }
            };
            value = result.map_err(|e| self.error(e, at))?;
        }
        match value {
            PyValue::Str(s) => Ok(s.to_string()),
            other => Err(self.error(
                PyError::new(
                    "TypeError",
                    format!("expected str instance, {} found", other.type_name()),
                ),
                at,
            )),
        }
    }

    /// A context value as the interpreter's value.
    fn value(&mut self, value: &Value) -> Result<PyValue, TemplateError> {
        Ok(match value {
            Value::None => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Str(s) => PyValue::str(s),
            Value::Tuple(items) => PyValue::tuple(self.values(items)?),
            Value::List(items) => PyValue::list(self.values(items)?),
            Value::Config(view) => PyValue::native(ConfigObject(view.clone())),
            Value::DateTime(d) => self
                .datetime_value(d)
                .map_err(|e| err(&self.template.name, 1, describe(&e)))?,
        })
    }

    fn values(&mut self, items: &[Value]) -> Result<Vec<PyValue>, TemplateError> {
        items.iter().map(|v| self.value(v)).collect()
    }

    fn datetime_value(&mut self, d: &DateTimeView) -> PyResult<PyValue> {
        use chrono::{Datelike, Timelike};
        let object = self.interp.call(&self.datetime.clone(), Args::default())?;
        let local = d.local;
        let micro = local.nanosecond() / 1000 % 1_000_000;
        for (name, value) in [
            ("year", PyValue::Int(local.year().into())),
            ("month", PyValue::Int(local.month().into())),
            ("day", PyValue::Int(local.day().into())),
            ("hour", PyValue::Int(local.hour().into())),
            ("minute", PyValue::Int(local.minute().into())),
            ("second", PyValue::Int(local.second().into())),
            ("microsecond", PyValue::Int(micro.into())),
            ("_text", PyValue::str(&d.text)),
            ("_aware", PyValue::Bool(d.aware)),
            (
                "strftime",
                PyValue::builtin("strftime", move |_, args| {
                    let format = args.require(0, "format", "strftime")?;
                    let Some(format) = format.as_str() else {
                        return Err(PyError::new(
                            "TypeError",
                            format!(
                                "strftime() argument 1 must be str, not {}",
                                format.type_name()
                            ),
                        ));
                    };
                    strftime(&local, format).map(PyValue::str)
                }),
            ),
        ] {
            self.interp.set_attr(&object, name, value)?;
        }
        Ok(object)
    }
}

/// `line:col` → `(line, col)`.
fn parse_location(location: &str) -> Option<(usize, usize)> {
    let (line, column) = location.split_once(':')?;
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// An interpreter error in a template's words: the exception as Python
/// prints its last line, or what aurora cannot evaluate.
fn describe(e: &PyError) -> String {
    match &e.kind {
        ErrorKind::Exception {
            type_name, message, ..
        } => {
            if message.is_empty() {
                type_name.clone()
            } else {
                format!("{type_name}: {message}")
            }
        }
        ErrorKind::Unsupported { construct } => {
            format!("aurora cannot evaluate {construct} in a template")
        }
        ErrorKind::Host { message, .. } => message.clone(),
    }
}

fn no_attribute(value: &PyValue, name: &str) -> PyError {
    PyError::new(
        "AttributeError",
        format!("'{}' object has no attribute '{name}'", value.type_name()),
    )
}

/// Alembic's `format_as_comma`.
fn format_as_comma(value: &PyValue) -> PyResult<String> {
    let items = match value {
        PyValue::None => return Ok(String::new()),
        PyValue::Str(s) => return Ok(s.to_string()),
        PyValue::List(l) | PyValue::Set(l) => l.borrow().clone(),
        PyValue::Tuple(t) => t.as_ref().clone(),
        other => {
            return Err(PyError::new(
                "ValueError",
                format!("Don't know how to comma-format {}", other.repr()),
            ))
        }
    };
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            PyValue::Str(s) => parts.push(s.to_string()),
            other => {
                return Err(PyError::new(
                    "TypeError",
                    format!(
                        "sequence item {i}: expected str instance, {} found",
                        other.type_name()
                    ),
                ))
            }
        }
    }
    Ok(parts.join(", "))
}

/// markupsafe's `escape` (Mako's `h`) and Mako's `xml_escape` (`x`): the
/// same five characters.
fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `urllib.parse.quote_plus` of the UTF-8 bytes (Mako's `u`).
fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `datetime.strftime` for the directives that do not depend on the
/// locale's time zone names; any other directive is refused.
fn strftime(d: &chrono::NaiveDateTime, format: &str) -> PyResult<String> {
    use chrono::{Datelike, Timelike};
    const DAYS: [&str; 7] = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let day = DAYS[d.weekday().num_days_from_monday() as usize];
        let month = MONTHS[d.month0() as usize];
        let hour12 = match d.hour() % 12 {
            0 => 12,
            h => h,
        };
        let _ = match chars.next() {
            Some('Y') => write!(out, "{:04}", d.year()),
            Some('y') => write!(out, "{:02}", d.year().rem_euclid(100)),
            Some('m') => write!(out, "{:02}", d.month()),
            Some('d') => write!(out, "{:02}", d.day()),
            Some('H') => write!(out, "{:02}", d.hour()),
            Some('I') => write!(out, "{hour12:02}"),
            Some('M') => write!(out, "{:02}", d.minute()),
            Some('S') => write!(out, "{:02}", d.second()),
            Some('f') => write!(out, "{:06}", d.nanosecond() / 1000 % 1_000_000),
            Some('j') => write!(out, "{:03}", d.ordinal()),
            Some('p') => write!(out, "{}", if d.hour() < 12 { "AM" } else { "PM" }),
            Some('a') => write!(out, "{}", &day[..3]),
            Some('A') => write!(out, "{day}"),
            Some('b') => write!(out, "{}", &month[..3]),
            Some('B') => write!(out, "{month}"),
            Some('%') => write!(out, "%"),
            other => {
                return Err(PyError::unsupported(format!(
                    "the strftime directive '%{}'",
                    other.map(String::from).unwrap_or_default()
                )))
            }
        };
    }
    Ok(out)
}

/// Mako's `context`: `get`, `keys()`, `context[name]` and `name in context`
/// over the values the template was rendered with (falling back to the
/// builtins, as Mako's does).
struct MakoContext {
    data: Dict,
}

impl Native for MakoContext {
    fn type_name(&self) -> String {
        "Context".into()
    }

    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<PyValue>> {
        let me = self.clone();
        Ok(Some(match name {
            "get" => PyValue::builtin("get", move |interp, args| {
                let key = args.require(0, "key", "get")?;
                Ok(me
                    .data
                    .get(&key)
                    .or_else(|| interp.builtins.borrow().get(&key.to_str()).cloned())
                    .unwrap_or_else(|| args.get(1, "default").unwrap_or_default()))
            }),
            "keys" => PyValue::builtin("keys", move |_, _| {
                Ok(PyValue::list(
                    me.data.items.iter().map(|(k, _)| k.clone()).collect(),
                ))
            }),
            "kwargs" => PyValue::dict(self.data.clone()),
            "__contains__" => PyValue::builtin("__contains__", move |_, args| {
                let key = args.require(0, "key", "__contains__")?;
                Ok(PyValue::Bool(me.data.get(&key).is_some()))
            }),
            _ => return Ok(None),
        }))
    }

    fn get_item(
        self: Rc<Self>,
        interp: &mut Interp<'_>,
        key: PyValue,
    ) -> PyResult<Option<PyValue>> {
        match self
            .data
            .get(&key)
            .or_else(|| interp.builtins.borrow().get(&key.to_str()).cloned())
        {
            Some(v) => Ok(Some(v)),
            None => Err(PyError::new("KeyError", key.repr())),
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Alembic's `config` in a template.
struct ConfigObject(ConfigView);

impl Native for ConfigObject {
    fn type_name(&self) -> String {
        "Config".into()
    }

    fn get_attr(self: Rc<Self>, _: &mut Interp<'_>, name: &str) -> PyResult<Option<PyValue>> {
        let me = self.clone();
        Ok(Some(match name {
            "get_main_option" => PyValue::builtin("get_main_option", move |_, args| {
                let key = args.require(0, "name", "get_main_option")?.to_str();
                match me.0.main.get(&key) {
                    Some(Ok(v)) => Ok(PyValue::str(v)),
                    Some(Err(m)) => Err(PyError::host(m.clone(), Rc::new(()))),
                    None => Ok(args.get(1, "default").unwrap_or_default()),
                }
            }),
            "config_ini_section" => PyValue::str(&self.0.ini_section),
            "config_file_name" => PyValue::opt_str(self.0.file_name.clone()),
            _ => return Ok(None),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The names the Python of `nodes` reads.
fn names_in_nodes(nodes: &[Node], out: &mut BTreeSet<String>) {
    for node in nodes {
        match node {
            Node::Text(_) => {}
            Node::Expr { expr, filters, .. } => {
                names_in_expr(expr, out);
                for f in &filters.chain {
                    if let Filter::Call(e) = f {
                        names_in_expr(e, out);
                    }
                }
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (test, _, body) in branches {
                    names_in_expr(test, out);
                    names_in_nodes(body, out);
                }
                names_in_nodes(otherwise, out);
            }
            Node::For {
                target, iter, body, ..
            } => {
                names_in_expr(target, out);
                names_in_expr(iter, out);
                names_in_nodes(body, out);
            }
            Node::Python(block) => names_in_stmts(&block.body, out),
        }
    }
}

fn names_in_stmts(stmts: &[py::Stmt], out: &mut BTreeSet<String>) {
    for stmt in stmts {
        match &stmt.kind {
            StmtKind::Expr(e) => names_in_expr(e, out),
            StmtKind::Assign {
                targets,
                annotation,
                value,
            } => {
                targets.iter().for_each(|t| names_in_expr(t, out));
                annotation
                    .iter()
                    .chain(value)
                    .for_each(|e| names_in_expr(e, out));
            }
            StmtKind::AugAssign { target, value, .. } => {
                names_in_expr(target, out);
                names_in_expr(value, out);
            }
            StmtKind::Return(e) => e.iter().for_each(|e| names_in_expr(e, out)),
            StmtKind::FunctionDef(def) => {
                def.decorators.iter().for_each(|e| names_in_expr(e, out));
                for p in &def.params {
                    p.default.iter().for_each(|e| names_in_expr(e, out));
                }
                names_in_stmts(&def.body, out);
            }
            StmtKind::ClassDef(def) => {
                def.bases.iter().for_each(|e| names_in_expr(e, out));
                names_in_stmts(&def.body, out);
            }
            StmtKind::With { items, body, .. } => {
                for item in items {
                    names_in_expr(&item.context, out);
                }
                names_in_stmts(body, out);
            }
            StmtKind::If { test, body, orelse } | StmtKind::While { test, body, orelse } => {
                names_in_expr(test, out);
                names_in_stmts(body, out);
                names_in_stmts(orelse, out);
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                ..
            } => {
                names_in_expr(target, out);
                names_in_expr(iter, out);
                names_in_stmts(body, out);
                names_in_stmts(orelse, out);
            }
            StmtKind::Try(t) => {
                names_in_stmts(&t.body, out);
                for h in &t.handlers {
                    h.type_.iter().for_each(|e| names_in_expr(e, out));
                    names_in_stmts(&h.body, out);
                }
                names_in_stmts(&t.orelse, out);
                names_in_stmts(&t.finalbody, out);
            }
            StmtKind::Raise { exc, cause } => {
                exc.iter().chain(cause).for_each(|e| names_in_expr(e, out))
            }
            StmtKind::Del(targets) => targets.iter().for_each(|e| names_in_expr(e, out)),
            StmtKind::Assert { test, msg } => {
                names_in_expr(test, out);
                msg.iter().for_each(|e| names_in_expr(e, out));
            }
            StmtKind::Pass
            | StmtKind::Break
            | StmtKind::Continue
            | StmtKind::Import(_)
            | StmtKind::FromImport { .. }
            | StmtKind::Global(_)
            | StmtKind::Nonlocal(_) => {}
        }
    }
}

fn names_in_expr(expr: &py::Expr, out: &mut BTreeSet<String>) {
    let all = |items: &[py::Expr], out: &mut BTreeSet<String>| {
        items.iter().for_each(|e| names_in_expr(e, out))
    };
    match &expr.kind {
        ExprKind::Name(n) => {
            out.insert(n.clone());
        }
        ExprKind::Str(_)
        | ExprKind::Bytes(_)
        | ExprKind::Int(_)
        | ExprKind::BigInt(_)
        | ExprKind::Float(_)
        | ExprKind::Imaginary(_)
        | ExprKind::Bool(_)
        | ExprKind::None
        | ExprKind::Ellipsis => {}
        ExprKind::FString(parts) => names_in_fstring(parts, out),
        ExprKind::List(items) | ExprKind::Tuple(items) | ExprKind::Set(items) => all(items, out),
        ExprKind::Dict(pairs) => {
            for (k, v) in pairs {
                k.iter().for_each(|k| names_in_expr(k, out));
                names_in_expr(v, out);
            }
        }
        ExprKind::Attribute(base, _) => names_in_expr(base, out),
        ExprKind::Call { func, args } => {
            names_in_expr(func, out);
            for arg in args {
                match arg {
                    py::Arg::Positional(e)
                    | py::Arg::Star(e)
                    | py::Arg::DoubleStar(e)
                    | py::Arg::Keyword { value: e, .. } => names_in_expr(e, out),
                }
            }
        }
        ExprKind::Subscript(base, index) => {
            names_in_expr(base, out);
            all(index, out);
        }
        ExprKind::Slice { lower, upper, step } => {
            for e in [lower, upper, step].into_iter().flatten() {
                names_in_expr(e, out);
            }
        }
        ExprKind::Unary(_, e)
        | ExprKind::Starred(e)
        | ExprKind::Await(e)
        | ExprKind::YieldFrom(e) => names_in_expr(e, out),
        ExprKind::Yield(e) => e.iter().for_each(|e| names_in_expr(e, out)),
        ExprKind::NamedExpr { value, .. } => names_in_expr(value, out),
        ExprKind::Binary(_, a, b) => {
            names_in_expr(a, out);
            names_in_expr(b, out);
        }
        ExprKind::Compare {
            left, comparators, ..
        } => {
            names_in_expr(left, out);
            all(comparators, out);
        }
        ExprKind::IfElse { test, body, orelse } => {
            names_in_expr(test, out);
            names_in_expr(body, out);
            names_in_expr(orelse, out);
        }
        ExprKind::Lambda(l) => {
            for p in &l.params {
                p.default.iter().for_each(|e| names_in_expr(e, out));
            }
            names_in_expr(&l.body, out);
        }
        ExprKind::ListComp { elt, generators }
        | ExprKind::SetComp { elt, generators }
        | ExprKind::GeneratorExp { elt, generators } => {
            names_in_expr(elt, out);
            names_in_generators(generators, out);
        }
        ExprKind::DictComp {
            key,
            value,
            generators,
        } => {
            names_in_expr(key, out);
            names_in_expr(value, out);
            names_in_generators(generators, out);
        }
    }
}

fn names_in_generators(generators: &[py::Comprehension], out: &mut BTreeSet<String>) {
    for g in generators {
        names_in_expr(&g.target, out);
        names_in_expr(&g.iter, out);
        g.ifs.iter().for_each(|e| names_in_expr(e, out));
    }
}

fn names_in_fstring(parts: &[py::FStringPart], out: &mut BTreeSet<String>) {
    for part in parts {
        if let py::FStringPart::Field(field) = part {
            names_in_expr(&field.expr, out);
            if let Some(spec) = &field.spec {
                names_in_fstring(spec, out);
            }
        }
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

    /// The line and column of a construct starting at byte `pos`.
    fn place(&self, pos: usize) -> Place {
        let (line, column) = crate::syntax::line_col(self.src, pos);
        Place { line, column }
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
        let at = self.place(start);
        self.pos += 2;
        let code_start = self.pos;
        let (code, end) = self.scan_python(&['|', '}'], at)?;
        let (filters, filters_start) = if end == '|' {
            let filters_start = self.pos;
            let (filters, _) = self.scan_python(&['}'], at)?;
            (filters, filters_start)
        } else {
            (String::new(), self.pos)
        };
        self.pieces.push(Piece::Expr {
            code,
            code_start,
            filters,
            filters_start,
            at,
        });
        Ok(())
    }

    /// Reads Python code up to one of `stops` outside brackets, strings and comments, and
    /// consumes the stop character.
    fn scan_python(&mut self, stops: &[char], at: Place) -> Result<(String, char), TemplateError> {
        let expected = if stops.contains(&'|') { "\\|,}" } else { "}" };
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
                i = skip_string(self.src, i)
                    .ok_or_else(|| unterminated_tag(self.name, at, expected))?;
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
        Err(unterminated_tag(self.name, at, expected))
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
        let text = text.trim_end_matches('\r');
        let text_start = body_start + (text.len() - text.trim_start_matches([' ', '\t']).len());
        let text = text.trim_start_matches([' ', '\t']);
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
            text_start,
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
                return Err(unterminated_tag(self.name, self.place(self.pos), "%>"));
            };
            self.pieces.push(Piece::Python {
                code: self.src[start..end].to_string(),
                code_start: start,
                module: what == "<%!",
                at: self.place(self.pos),
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
    }

    #[test]
    fn values_keep_python_types() {
        let down = Value::str_tuple(&["a", "b"]);
        assert_eq!(r("${repr(x)}", &[("x", down.clone())]), "('a', 'b')");
        assert_eq!(
            r("${repr(x)}", &[("x", Value::str_tuple(&["a"]))]),
            "('a',)"
        );
        assert_eq!(r("${x | comma,n}", &[("x", down.clone())]), "a, b");
        assert_eq!(r("${x | comma,n}", &[("x", Value::None)]), "");
        // Without `n` the default `str` filter runs first, so `comma` sees a string.
        assert_eq!(r("${x | comma}", &[("x", down)]), "('a', 'b')");
        let list = Value::List(vec![Value::str("a"), Value::Bool(true)]);
        assert_eq!(r("${x}", &[("x", list)]), "['a', True]");
        assert_eq!(r("${\"}\"}", &[]), "}");
    }

    #[test]
    fn undefined_names_are_false_and_cannot_be_written() {
        assert_eq!(r("${imports if imports else \"\"}", &[]), "");
        assert_eq!(r("${x is UNDEFINED} ${bool(x)}", &[]), "True False");
        let e1 = e("a\n\n   ${imports}\n", &[]);
        assert_eq!(
            (e1.line, e1.column, e1.message.as_str()),
            (3, Some(4), "NameError: Undefined")
        );
        assert_eq!(
            e1.to_string(),
            "template t, line 3, column 4: NameError: Undefined"
        );
    }

    #[test]
    fn runtime_errors_point_into_the_template() {
        // Inside a block: the line and column of the failing expression.
        let e1 = e("<%\n    a = 1\n    b = a.nope\n%>", &[]);
        assert_eq!((e1.line, e1.column), (3, Some(9)), "{e1}");
        assert_eq!(
            e1.message,
            "AttributeError: 'int' object has no attribute 'nope'"
        );
        // A function defined in one block and called from an expression.
        let e2 = e("<%!\ndef f():\n    return {}['k']\n%>\n${f()}", &[]);
        assert_eq!((e2.line, e2.message.as_str()), (3, "KeyError: 'k'"), "{e2}");
        let e3 = e("${x | n}", &[("x", Value::None)]);
        assert_eq!(
            e3.message,
            "TypeError: expected str instance, NoneType found"
        );
    }

    #[test]
    fn syntax_errors_are_makos() {
        let e1 = e("ab\n  ${x +}", &[]);
        assert_eq!(e1.mako, Some("SyntaxException"));
        assert_eq!(
            e1.to_string(),
            "(SyntaxError) invalid syntax (<unknown>, line 1) ('x +') in file 't' at line: 2 char: 3"
        );
        let e2 = e("${x = 1}", &[]);
        assert!(e2.message.contains("one Python expression"), "{e2}");
    }

    #[test]
    fn mako_constructs_outside_the_subset_are_errors() {
        let e1 = e("a\n<%def name=\"f()\">x</%def>", &[]);
        assert_eq!(e1.line, 2);
        assert!(e1.message.contains("tag '<%def'"), "{e1}");
        let e2 = e("% while x:\n% endwhile\n", &[]);
        assert!(e2.message.contains("'% while'"), "{e2}");
        let e3 = e("% if x:\nno end\n", &[]);
        assert_eq!(e3.message, "Unterminated control keyword: 'if'");
        let e4 = e("${x | entity}", &[]);
        assert!(e4.message.contains("'entity' filter"), "{e4}");
        let e5 = e("${a", &[]);
        assert!(e5.message.contains("unterminated tag"), "{e5}");
    }

    #[test]
    fn config_interpolation_errors_surface() {
        let mut main = BTreeMap::new();
        main.insert(
            "bad".to_string(),
            Err("'%' must be followed by '%' or '('".into()),
        );
        let config = Value::Config(ConfigView {
            ini_section: "alembic".into(),
            file_name: Some("alembic.ini".into()),
            main,
        });
        let e1 = e(
            "${config.get_main_option('bad')}",
            &[("config", config.clone())],
        );
        assert_eq!(e1.message, "'%' must be followed by '%' or '('");
        assert_eq!(
            r("${config.config_file_name}", &[("config", config)]),
            "alembic.ini"
        );
    }

    #[test]
    fn blocks_are_dedented_in_place() {
        let block = "\n    a = 1\n    if a:\n        b = '''\n  x'''\n";
        let (laid_out, mako) = adjust_whitespace(block);
        assert_eq!(laid_out.len(), block.len());
        assert_eq!(
            laid_out,
            "\n\x0c\x0c\x0c\x0ca = 1\n\x0c\x0c\x0c\x0cif a:\n\x0c\x0c\x0c\x0c    b = '''\n  x'''\n"
        );
        assert_eq!(mako, "\na = 1\nif a:\n    b = '''\n  x'''\n");
    }

    #[test]
    fn control_fragments_end_at_their_colon() {
        assert_eq!(fragment_len("if x:"), Some(5));
        assert_eq!(fragment_len("if d['a:b']:  # why: not"), Some(12));
        assert_eq!(fragment_len("else:"), Some(5));
        assert_eq!(fragment_len("if(x):"), None);
        assert_eq!(fragment_len("for x in y"), None);
    }

    #[test]
    fn crlf_templates_keep_their_line_ends() {
        assert_eq!(
            r(
                "a ${x}\r\n% if x:\r\nyes\r\n% endif\r\n",
                &[("x", Value::str("1"))]
            ),
            "a 1\r\nyes\r\n"
        );
    }
}
