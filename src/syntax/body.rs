//! The body grammar: a whole revision file as a Python AST with spans.
//!
//! A pre-pass cuts the source into logical lines (joining bracketed and
//! backslash-continued lines, skipping blanks and comments) and nests them by
//! indentation; `grammar/body.pest` then parses each logical line. A line that
//! does not parse becomes [`StmtKind::Unparsed`] and keeps its indented block,
//! so module-level code aurora has no use for never stops a file from loading;
//! whoever later evaluates such a statement reports it. This module knows
//! nothing about what `op.*` means.

use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op as PrattOp, PrattParser};
use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/body.pest"]
struct BodyParser;

/// A byte range in the revision file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

/// A parsed revision file.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect, such as a call or a docstring.
    Expr(Expr),
    /// `a = b = value`, `x: T = value`; `targets` holds every left-hand side.
    Assign {
        targets: Vec<Expr>,
        annotation: Option<Expr>,
        value: Option<Expr>,
    },
    AugAssign {
        target: Expr,
        op: BinOp,
        value: Expr,
    },
    Pass,
    Return(Option<Expr>),
    Import(Vec<ImportName>),
    FromImport {
        module: String,
        names: Vec<ImportName>,
    },
    FunctionDef(FunctionDef),
    With {
        items: Vec<WithItem>,
        body: Vec<Stmt>,
    },
    If {
        test: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
    },
    For {
        target: Expr,
        iter: Expr,
        body: Vec<Stmt>,
    },
    /// A statement the language has a shape for but no meaning in migrations
    /// (`class`, `while`, `try`, `raise`, `del`, `global`, decorators, ...).
    Other {
        construct: &'static str,
        body: Vec<Stmt>,
    },
    /// A logical line that is not in the grammar, with its indented block.
    Unparsed {
        message: String,
        body: Vec<Stmt>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportName {
    pub name: String,
    pub alias: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    pub name: String,
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub default: Option<Expr>,
    /// `*args` (1) or `**kwargs` (2); 0 for a plain parameter.
    pub stars: u8,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WithItem {
    pub context: Expr,
    pub target: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Name(String),
    Str(String),
    Bytes(Vec<u8>),
    /// An f-string: its raw text between the quotes, unevaluated.
    FString(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
    Ellipsis,
    List(Vec<Expr>),
    Tuple(Vec<Expr>),
    Set(Vec<Expr>),
    /// `(key, value)` pairs; a key of `None` is a `**mapping` splat.
    Dict(Vec<(Option<Expr>, Expr)>),
    Attribute(Box<Expr>, String),
    Call {
        func: Box<Expr>,
        args: Vec<Arg>,
    },
    Subscript(Box<Expr>, Vec<Expr>),
    Slice,
    Unary(UnaryOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    IfElse {
        test: Box<Expr>,
        body: Box<Expr>,
        orelse: Box<Expr>,
    },
    Lambda,
    Comprehension,
    Await(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Positional(Expr),
    Keyword {
        name: String,
        value: Expr,
        span: Span,
    },
    Star(Expr),
    DoubleStar(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    Pos,
    Invert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    In,
    NotIn,
    Is,
    IsNot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    BitOr,
    BitXor,
    BitAnd,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    MatMul,
    Div,
    FloorDiv,
    Mod,
}

/// Parses a whole revision file. Never fails: lines outside the grammar become
/// [`StmtKind::Unparsed`].
pub fn parse_module(source: &str) -> Module {
    parse_module_skipping(source, &[])
}

/// Parses a module but leaves out the top-level functions named in `skip`
/// (their lines are not parsed at all): rendering `upgrade()` never needs
/// `downgrade()`, and a construct aurora cannot read there must not stop it.
pub fn parse_module_skipping(source: &str, skip: &[&str]) -> Module {
    let mut lines = logical_lines(source);
    if !skip.is_empty() {
        let mut kept = Vec::with_capacity(lines.len());
        let mut skipping = false;
        for line in lines {
            if line.indent == 0 {
                let text = source[line.start..line.end].trim_start();
                let text = text.strip_prefix("async ").unwrap_or(text);
                skipping = skip.iter().any(|name| {
                    text.strip_prefix("def ")
                        .and_then(|rest| rest.trim_start().strip_prefix(name))
                        .is_some_and(|rest| rest.trim_start().starts_with('('))
                });
            }
            if !skipping {
                kept.push(line);
            }
        }
        lines = kept;
    }
    let mut pos = 0;
    let body = build_block(source, &lines, &mut pos, 0);
    Module { body }
}

/// One logical line: its byte range and the column its first token sits at.
#[derive(Debug, Clone, Copy)]
struct LogicalLine {
    start: usize,
    end: usize,
    indent: usize,
}

/// Cuts the source into logical lines. Brackets and backslashes join physical
/// lines; strings (triple-quoted ones may span lines) and comments are
/// skipped over so their contents never count as brackets.
fn logical_lines(src: &str) -> Vec<LogicalLine> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let n = bytes.len();
    while i < n {
        // At the start of a physical line: measure the indentation.
        let line_start = i;
        let mut indent = 0;
        while i < n && (bytes[i] == b' ' || bytes[i] == b'\t' || bytes[i] == b'\x0c') {
            indent += if bytes[i] == b'\t' { 8 - indent % 8 } else { 1 };
            i += 1;
        }
        let _ = line_start;
        if i >= n {
            break;
        }
        if bytes[i] == b'\n' || bytes[i] == b'\r' {
            i += 1;
            continue;
        }
        if bytes[i] == b'#' {
            while i < n && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let mut depth: i32 = 0;
        let mut last_code = i;
        while i < n {
            let c = bytes[i];
            match c {
                b'#' => {
                    while i < n && bytes[i] != b'\n' {
                        i += 1;
                    }
                }
                b'\\' if i + 1 < n && (bytes[i + 1] == b'\n' || bytes[i + 1] == b'\r') => {
                    i += 2;
                    if i < n && bytes[i - 1] == b'\r' && bytes[i] == b'\n' {
                        i += 1;
                    }
                }
                b'\n' => {
                    if depth <= 0 {
                        break;
                    }
                    i += 1;
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                    last_code = i;
                }
                b')' | b']' | b'}' => {
                    depth -= 1;
                    i += 1;
                    last_code = i;
                }
                b'\'' | b'"' => {
                    i = skip_string(bytes, i);
                    last_code = i;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
                _ => {
                    i += 1;
                    last_code = i;
                }
            }
        }
        out.push(LogicalLine {
            start,
            end: last_code.max(start),
            indent,
        });
    }
    out
}

/// Returns the index just past the string literal whose quote is at `i`.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    let q = bytes[i];
    let n = bytes.len();
    let triple = i + 2 < n && bytes[i + 1] == q && bytes[i + 2] == q;
    let mut j = if triple { i + 3 } else { i + 1 };
    while j < n {
        let c = bytes[j];
        if c == b'\\' {
            j += 2;
            continue;
        }
        if triple {
            if c == q && j + 2 < n && bytes[j + 1] == q && bytes[j + 2] == q {
                return j + 3;
            }
        } else if c == q {
            return j + 1;
        } else if c == b'\n' {
            return j;
        }
        j += 1;
    }
    n
}

/// Builds the statements of one block: the lines from `*pos` on whose
/// indentation is at least `min_indent`.
fn build_block(src: &str, lines: &[LogicalLine], pos: &mut usize, min_indent: usize) -> Vec<Stmt> {
    let mut out: Vec<Stmt> = Vec::new();
    let block_indent = match lines.get(*pos) {
        Some(l) if l.indent >= min_indent => l.indent,
        _ => return out,
    };
    while let Some(line) = lines.get(*pos).copied() {
        if line.indent < block_indent {
            break;
        }
        *pos += 1;
        let text = &src[line.start..line.end];
        let parsed = BodyParser::parse(Rule::line, text);
        let mut stmts = match parsed {
            Ok(mut pairs) => {
                let line_pair = pairs.next().expect("line");
                let conv = Conv { base: line.start };
                conv.line(line_pair)
            }
            Err(e) => {
                let message = match e.variant {
                    pest::error::ErrorVariant::ParsingError { .. } => "invalid syntax".to_string(),
                    pest::error::ErrorVariant::CustomError { message } => message,
                };
                vec![Stmt {
                    kind: StmtKind::Unparsed {
                        message,
                        body: Vec::new(),
                    },
                    span: Span::new(line.start, line.end),
                }]
            }
        };
        // A following, deeper-indented run of lines is the body of this
        // line's block (or of whatever this line failed to be).
        let has_deeper = lines
            .get(*pos)
            .map(|l| l.indent > line.indent)
            .unwrap_or(false);
        if has_deeper {
            let body = build_block(src, lines, pos, line.indent + 1);
            if let Some(last) = stmts.last_mut() {
                attach_body(last, body);
            }
        }
        // `elif`/`else` lines fold into the preceding `if`.
        for stmt in stmts.drain(..) {
            if let StmtKind::Other {
                construct: "elif" | "else",
                ..
            } = &stmt.kind
            {
                if fold_else(out.last_mut(), &stmt) {
                    continue;
                }
            }
            out.push(stmt);
        }
    }
    out
}

fn attach_body(stmt: &mut Stmt, body: Vec<Stmt>) {
    match &mut stmt.kind {
        StmtKind::FunctionDef(def) => def.body.extend(body),
        StmtKind::With { body: b, .. }
        | StmtKind::If { body: b, .. }
        | StmtKind::For { body: b, .. }
        | StmtKind::Other { body: b, .. }
        | StmtKind::Unparsed { body: b, .. } => b.extend(body),
        _ => {
            stmt.kind = StmtKind::Unparsed {
                message: "unexpected indent".to_string(),
                body,
            }
        }
    }
}

/// Attaches an `elif`/`else` statement to the innermost trailing `if` of
/// `prev`. Returns false when there is no `if` to attach to.
fn fold_else(prev: Option<&mut Stmt>, stmt: &Stmt) -> bool {
    let Some(prev) = prev else { return false };
    let StmtKind::If { orelse, .. } = &mut prev.kind else {
        return false;
    };
    // An `elif` chain continues in the nested `if` it created.
    if orelse.len() == 1 && matches!(orelse[0].kind, StmtKind::If { .. }) {
        return fold_else(orelse.last_mut(), stmt);
    }
    if !orelse.is_empty() {
        return false;
    }
    match &stmt.kind {
        StmtKind::Other {
            construct: "else",
            body,
        } => {
            *orelse = body.clone();
            true
        }
        StmtKind::Other {
            construct: "elif", ..
        } => {
            // The `elif` test was stashed as the first body statement.
            let StmtKind::Other { body, .. } = &stmt.kind else {
                return false;
            };
            let mut it = body.iter();
            let Some(Stmt {
                kind: StmtKind::Expr(test),
                ..
            }) = it.next()
            else {
                return false;
            };
            orelse.push(Stmt {
                kind: StmtKind::If {
                    test: test.clone(),
                    body: it.cloned().collect(),
                    orelse: Vec::new(),
                },
                span: stmt.span,
            });
            true
        }
        _ => false,
    }
}

/// Converts pest pairs of one logical line into AST nodes, shifting spans by
/// the line's offset in the file.
struct Conv {
    base: usize,
}

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: std::sync::OnceLock<PrattParser<Rule>> = std::sync::OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(PrattOp::infix(Rule::op_or, Assoc::Left))
            .op(PrattOp::infix(Rule::op_and, Assoc::Left))
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
    })
}

impl Conv {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    fn line(&self, p: Pair<Rule>) -> Vec<Stmt> {
        let mut out = Vec::new();
        for inner in p.into_inner() {
            match inner.as_rule() {
                Rule::simple_stmts => out.extend(self.simple_stmts(inner)),
                Rule::compound => out.push(self.compound(inner)),
                _ => {}
            }
        }
        out
    }

    fn simple_stmts(&self, p: Pair<Rule>) -> Vec<Stmt> {
        p.into_inner().map(|s| self.simple_stmt(s)).collect()
    }

    fn compound(&self, p: Pair<Rule>) -> Stmt {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let header = inner.next().expect("header");
        let inline_body: Vec<Stmt> = inner
            .next()
            .map(|s| self.simple_stmts(s))
            .unwrap_or_default();
        let rule = header.as_rule();
        let mut parts = header.into_inner().filter(|x| !is_keyword(x.as_rule()));
        let kind = match rule {
            Rule::def_header => {
                let name = parts.next().expect("name").as_str().to_string();
                let mut params = Vec::new();
                for part in parts {
                    if part.as_rule() == Rule::params {
                        for param in part.into_inner() {
                            params.push(self.param(param));
                        }
                    }
                }
                StmtKind::FunctionDef(FunctionDef {
                    name,
                    params,
                    body: inline_body,
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
                StmtKind::With {
                    items,
                    body: inline_body,
                }
            }
            Rule::if_header => StmtKind::If {
                test: self.expr(parts.next().expect("test")),
                body: inline_body,
                orelse: Vec::new(),
            },
            Rule::elif_header => {
                let test = self.expr(parts.next().expect("test"));
                let mut body = vec![Stmt {
                    span: test.span,
                    kind: StmtKind::Expr(test),
                }];
                body.extend(inline_body);
                StmtKind::Other {
                    construct: "elif",
                    body,
                }
            }
            Rule::else_header => StmtKind::Other {
                construct: "else",
                body: inline_body,
            },
            Rule::for_header => {
                let target = self.target_list(parts.next().expect("target"));
                let iter = self.expr_list(parts.next().expect("iter"));
                StmtKind::For {
                    target,
                    iter,
                    body: inline_body,
                }
            }
            Rule::class_header => StmtKind::Other {
                construct: "class definition",
                body: inline_body,
            },
            Rule::while_header => StmtKind::Other {
                construct: "while loop",
                body: inline_body,
            },
            Rule::try_header => StmtKind::Other {
                construct: "try statement",
                body: inline_body,
            },
            Rule::except_header => StmtKind::Other {
                construct: "except clause",
                body: inline_body,
            },
            _ => StmtKind::Other {
                construct: "finally clause",
                body: inline_body,
            },
        };
        Stmt { kind, span }
    }

    fn param(&self, p: Pair<Rule>) -> Param {
        let span = self.span(&p);
        let mut stars = 0;
        let mut name = p.as_str().to_string();
        let mut default = None;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::param_star => stars = part.as_str().len() as u8,
                Rule::ident => name = part.as_str().to_string(),
                Rule::param_default => {
                    default = Some(self.expr(part.into_inner().next().expect("expr")))
                }
                _ => {}
            }
        }
        Param {
            name,
            default,
            stars,
            span,
        }
    }

    fn simple_stmt(&self, p: Pair<Rule>) -> Stmt {
        let span = self.span(&p);
        let rule = p.as_rule();
        let kind = match rule {
            Rule::pass_stmt => StmtKind::Pass,
            Rule::return_stmt => StmtKind::Return(
                p.into_inner()
                    .find(|x| x.as_rule() == Rule::expr_list)
                    .map(|x| self.expr_list(x)),
            ),
            Rule::import_stmt => StmtKind::Import(
                p.into_inner()
                    .filter(|x| x.as_rule() == Rule::import_as)
                    .map(|x| {
                        let mut it = x.into_inner().filter(|y| !is_keyword(y.as_rule()));
                        let name = it.next().expect("dotted").as_str().to_string();
                        let alias = it.next().map(|a| a.as_str().to_string());
                        ImportName { name, alias }
                    })
                    .collect(),
            ),
            Rule::from_stmt => {
                let mut module = String::new();
                let mut names = Vec::new();
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::relative_dots => module.push_str(part.as_str()),
                        Rule::dotted => module.push_str(part.as_str()),
                        Rule::from_names => {
                            for n in part.into_inner() {
                                let mut it = n.into_inner().filter(|y| !is_keyword(y.as_rule()));
                                let name = it.next().expect("name").as_str().to_string();
                                let alias = it.next().map(|a| a.as_str().to_string());
                                names.push(ImportName { name, alias });
                            }
                        }
                        _ => {}
                    }
                }
                StmtKind::FromImport { module, names }
            }
            Rule::assign_stmt => {
                let mut targets = Vec::new();
                let mut annotation = None;
                let mut lists = Vec::new();
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::target_list => targets.push(self.target_list(part)),
                        Rule::annotation => {
                            annotation = Some(self.expr(part.into_inner().next().expect("expr")))
                        }
                        Rule::expr_list => lists.push(self.expr_list(part)),
                        _ => {}
                    }
                }
                let value = lists.pop();
                targets.extend(lists);
                StmtKind::Assign {
                    targets,
                    annotation,
                    value,
                }
            }
            Rule::aug_assign_stmt => {
                let mut it = p.into_inner();
                let target = self.target(it.next().expect("target"));
                let op = match it.next().expect("op").as_str() {
                    "+=" => BinOp::Add,
                    "-=" => BinOp::Sub,
                    "*=" => BinOp::Mul,
                    "/=" => BinOp::Div,
                    "//=" => BinOp::FloorDiv,
                    "%=" => BinOp::Mod,
                    "|=" => BinOp::BitOr,
                    _ => BinOp::BitAnd,
                };
                let value = self.expr_list(it.next().expect("value"));
                StmtKind::AugAssign { target, op, value }
            }
            Rule::expr_stmt => StmtKind::Expr(self.expr_list(p.into_inner().next().expect("expr"))),
            Rule::raise_stmt => other("raise statement"),
            Rule::flow_stmt => other("break/continue"),
            Rule::global_stmt => other("global statement"),
            Rule::del_stmt => other("del statement"),
            Rule::assert_stmt => other("assert statement"),
            _ => other("decorator"),
        };
        Stmt { kind, span }
    }

    fn target_list(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let text_has_comma = p.as_str().contains(',');
        let items: Vec<Expr> = p.into_inner().map(|t| self.target(t)).collect();
        if items.len() == 1 && !text_has_comma {
            items.into_iter().next().expect("one")
        } else {
            Expr {
                kind: ExprKind::Tuple(items),
                span,
            }
        }
    }

    fn target(&self, p: Pair<Rule>) -> Expr {
        self.primary(p.into_inner().next().expect("primary"))
    }

    fn expr_list(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut items = Vec::new();
        let mut trailing = false;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::trailing_comma => trailing = true,
                _ => items.push(self.expr(part)),
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

    fn expr(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let inner = p.into_inner().next().expect("expr body");
        match inner.as_rule() {
            Rule::lambda => Expr {
                kind: ExprKind::Lambda,
                span,
            },
            _ => self.ternary(inner),
        }
    }

    fn ternary(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut it = p.into_inner().filter(|x| !is_keyword(x.as_rule()));
        let body = self.binary(it.next().expect("binary"));
        match (it.next(), it.next()) {
            (Some(test), Some(orelse)) => Expr {
                kind: ExprKind::IfElse {
                    test: Box::new(self.binary(test)),
                    body: Box::new(body),
                    orelse: Box::new(self.expr(orelse)),
                },
                span,
            },
            _ => body,
        }
    }

    fn binary(&self, p: Pair<Rule>) -> Expr {
        pratt()
            .map_primary(|u| self.unary(u))
            .map_infix(|lhs, op, rhs| {
                let op = match op.as_rule() {
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
                    _ => BinOp::Mod,
                };
                let span = Span::new(lhs.span.start, rhs.span.end);
                Expr {
                    kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    span,
                }
            })
            .parse(p.into_inner())
    }

    fn unary(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut ops = Vec::new();
        let mut operand = None;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::prefix_op => ops.push(match part.as_str() {
                    "-" => UnaryOp::Neg,
                    "+" => UnaryOp::Pos,
                    "~" => UnaryOp::Invert,
                    _ => UnaryOp::Not,
                }),
                _ => operand = Some(self.power(part)),
            }
        }
        let mut e = operand.expect("operand");
        for op in ops.into_iter().rev() {
            e = Expr {
                kind: ExprKind::Unary(op, Box::new(e)),
                span,
            };
        }
        e
    }

    fn power(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut awaited = false;
        let mut base = None;
        let mut exp = None;
        for part in p.into_inner() {
            match part.as_rule() {
                Rule::await_ => awaited = true,
                Rule::primary => base = Some(self.primary(part)),
                _ => exp = Some(self.unary(part)),
            }
        }
        let mut e = base.expect("base");
        if let Some(x) = exp {
            // `**` has no place in migrations beyond constants; keep it as a
            // multiplication-like node the evaluator can reject.
            e = Expr {
                kind: ExprKind::Binary(BinOp::MatMul, Box::new(e), Box::new(x)),
                span,
            };
        }
        if awaited {
            e = Expr {
                kind: ExprKind::Await(Box::new(e)),
                span,
            };
        }
        e
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
                    let args = trailer
                        .into_inner()
                        .next()
                        .map(|a| a.into_inner().map(|x| self.arg(x)).collect())
                        .unwrap_or_default();
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
                    let slices = trailer.into_inner().next().expect("slices");
                    let items = slices
                        .into_inner()
                        .map(|s| {
                            let sspan = self.span(&s);
                            let is_slice = s.as_str().contains(':')
                                && s.clone().into_inner().count() != 1
                                || s.clone().into_inner().count() == 0;
                            if is_slice {
                                Expr {
                                    kind: ExprKind::Slice,
                                    span: sspan,
                                }
                            } else {
                                self.expr(s.into_inner().next().expect("expr"))
                            }
                        })
                        .collect();
                    ExprKind::Subscript(Box::new(e), items)
                }
            };
            e = Expr { kind, span };
        }
        e
    }

    fn arg(&self, p: Pair<Rule>) -> Arg {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::kwarg => {
                let mut it = p.into_inner();
                let name = it.next().expect("name").as_str().to_string();
                let value = self.expr(it.next().expect("value"));
                Arg::Keyword { name, value, span }
            }
            Rule::star_arg => Arg::Star(self.expr(p.into_inner().next().expect("expr"))),
            Rule::dstar_arg => Arg::DoubleStar(self.expr(p.into_inner().next().expect("expr"))),
            _ => {
                let mut it = p.into_inner();
                let e = self.expr(it.next().expect("expr"));
                if it.next().is_some() {
                    Arg::Positional(Expr {
                        kind: ExprKind::Comprehension,
                        span,
                    })
                } else {
                    Arg::Positional(e)
                }
            }
        }
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
                let mut comp = false;
                for part in p.into_inner() {
                    match part.as_rule() {
                        Rule::comprehension => comp = true,
                        Rule::expr_list => {
                            for x in part.into_inner() {
                                match x.as_rule() {
                                    Rule::trailing_comma => trailing = true,
                                    _ => items.push(self.expr(x)),
                                }
                            }
                        }
                        _ => items.push(self.expr(part)),
                    }
                }
                if comp {
                    ExprKind::Comprehension
                } else if is_list {
                    ExprKind::List(items)
                } else if items.len() == 1 && !trailing {
                    let mut e = items.pop().expect("one");
                    e.span = span;
                    return e;
                } else {
                    ExprKind::Tuple(items)
                }
            }
            Rule::dict_or_set => match p.into_inner().next() {
                None => ExprKind::Dict(Vec::new()),
                Some(part) => match part.as_rule() {
                    Rule::dict_items => ExprKind::Dict(
                        part.into_inner()
                            .map(|item| {
                                let mut it = item.into_inner();
                                let a = self.expr(it.next().expect("key"));
                                match it.next() {
                                    Some(v) => (Some(a), self.expr(v)),
                                    None => (None, a),
                                }
                            })
                            .collect(),
                    ),
                    Rule::set_items => {
                        ExprKind::Set(part.into_inner().map(|x| self.expr(x)).collect())
                    }
                    _ => ExprKind::Comprehension,
                },
            },
            _ => ExprKind::Name(p.as_str().to_string()),
        };
        Expr { kind, span }
    }

    fn strings(&self, p: Pair<Rule>) -> Expr {
        let span = self.span(&p);
        let mut text = String::new();
        let mut bytes: Option<Vec<u8>> = None;
        let mut fstring = false;
        for s in p.into_inner() {
            let mut prefix = String::new();
            let mut body = "";
            let mut triple = false;
            for part in s.into_inner() {
                match part.as_rule() {
                    Rule::string_prefix => prefix = part.as_str().to_ascii_lowercase(),
                    Rule::long_string_dq | Rule::long_string_sq => {
                        let t = part.as_str();
                        body = &t[3..t.len() - 3];
                        triple = true;
                    }
                    _ => {
                        let t = part.as_str();
                        body = &t[1..t.len() - 1];
                    }
                }
            }
            let _ = triple;
            let raw = prefix.contains('r');
            if prefix.contains('f') {
                fstring = true;
            }
            let value = if raw {
                body.to_string()
            } else {
                unescape(body)
            };
            if prefix.contains('b') {
                bytes.get_or_insert_with(Vec::new).extend(value.bytes());
            } else {
                text.push_str(&value);
            }
        }
        let kind = if let Some(b) = bytes {
            ExprKind::Bytes(b)
        } else if fstring {
            ExprKind::FString(text)
        } else {
            ExprKind::Str(text)
        };
        Expr { kind, span }
    }
}

fn other(construct: &'static str) -> StmtKind {
    StmtKind::Other {
        construct,
        body: Vec::new(),
    }
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
    )
}

fn number(text: &str) -> ExprKind {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let parsed = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    match parsed {
        Some(i) => ExprKind::Int(i),
        None => ExprKind::Float(
            lower
                .trim_end_matches('j')
                .parse::<f64>()
                .unwrap_or(f64::NAN),
        ),
    }
}

/// Applies Python's backslash escapes to a non-raw string body.
fn unescape(s: &str) -> String {
    super::strings::decode("", s)
}

/// The 1-based line and column of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, col)
}
