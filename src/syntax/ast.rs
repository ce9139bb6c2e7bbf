//! The Python front end: one grammar (`grammar/body.pest`) and one AST with
//! spans for everything aurora reads that is Python: revision files, `env.py`,
//! models modules and the project's helper modules.
//!
//! A pre-pass cuts the source into logical lines (joining bracketed and
//! backslash-continued lines, skipping blanks and comments) and nests them by
//! indentation; the grammar then parses each logical line, and the block
//! builder folds clauses (`elif`/`else`/`except`/`finally`, decorators) into
//! their statements. A file that is not valid Python is a [`SyntaxError`]
//! with the offset, line and column Python would report; nothing of it is
//! returned. This module knows nothing about what `op.*` means.

/// A byte range in the source file.
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

/// A parsed Python module.
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
    /// `a = b = value`, `x: T = value`, `x: T`; `targets` holds every
    /// left-hand side, `value` is `None` for a bare annotation.
    Assign {
        targets: Vec<Expr>,
        annotation: Option<Expr>,
        value: Option<Expr>,
    },
    /// `target op= value`.
    AugAssign {
        target: Expr,
        op: BinOp,
        value: Expr,
    },
    Pass,
    Break,
    Continue,
    Return(Option<Expr>),
    Import(Vec<ImportName>),
    /// `from module import names`; `module` keeps its leading dots
    /// (`..pkg`), and `from m import *` has the one name `*`.
    FromImport {
        module: String,
        names: Vec<ImportName>,
    },
    FunctionDef(FunctionDef),
    ClassDef(ClassDef),
    With {
        items: Vec<WithItem>,
        body: Vec<Stmt>,
        is_async: bool,
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
        orelse: Vec<Stmt>,
        is_async: bool,
    },
    While {
        test: Expr,
        body: Vec<Stmt>,
        orelse: Vec<Stmt>,
    },
    Try(Try),
    /// `raise`, `raise exc`, `raise exc from cause`.
    Raise {
        exc: Option<Expr>,
        cause: Option<Expr>,
    },
    Global(Vec<String>),
    Nonlocal(Vec<String>),
    Del(Vec<Expr>),
    Assert {
        test: Expr,
        msg: Option<Expr>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportName {
    /// The dotted module name (`import a.b`) or the imported name (`from m import n`).
    pub name: String,
    pub alias: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionDef {
    pub name: String,
    /// Every parameter in source order; [`Param::kind`] tells positional-only,
    /// keyword-only, `*args` and `**kwargs` apart.
    pub params: Vec<Param>,
    pub body: Vec<Stmt>,
    /// Decorator expressions, outermost first.
    pub decorators: Vec<Expr>,
    /// The `-> annotation`.
    pub returns: Option<Expr>,
    pub is_async: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub default: Option<Expr>,
    /// `*args` (1) or `**kwargs` (2); 0 for any other parameter.
    pub stars: u8,
    pub span: Span,
    pub annotation: Option<Expr>,
    pub kind: ParamKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Before a `/`.
    PositionalOnly,
    PositionalOrKeyword,
    /// `*args`.
    VarPositional,
    /// After `*` or `*args`.
    KeywordOnly,
    /// `**kwargs`.
    VarKeyword,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClassDef {
    pub name: String,
    /// Positional bases (a `*bases` is an [`ExprKind::Starred`]).
    pub bases: Vec<Expr>,
    /// `metaclass=M` and other keywords; a `**kw` has no name.
    pub keywords: Vec<Keyword>,
    pub decorators: Vec<Expr>,
    pub body: Vec<Stmt>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    pub name: Option<String>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Try {
    pub body: Vec<Stmt>,
    pub handlers: Vec<ExceptHandler>,
    pub orelse: Vec<Stmt>,
    pub finalbody: Vec<Stmt>,
}

/// `except Type as name:` (or bare `except:`, or `except* Type`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptHandler {
    pub type_: Option<Expr>,
    pub name: Option<String>,
    pub body: Vec<Stmt>,
    pub is_star: bool,
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
    /// A string literal (adjacent literals concatenated), decoded.
    Str(String),
    Bytes(Vec<u8>),
    /// An f-string (or a concatenation containing one): literal text and
    /// replacement fields in order.
    FString(Vec<FStringPart>),
    Int(i64),
    /// An integer literal beyond `i64`, as decimal digits.
    BigInt(String),
    Float(f64),
    /// `2j`: the imaginary part.
    Imaginary(f64),
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
    /// `x[i]` has one index; `x[i, j]` two (Python passes them as a tuple).
    Subscript(Box<Expr>, Vec<Expr>),
    /// `lower:upper:step` inside a subscript.
    Slice {
        lower: Option<Box<Expr>>,
        upper: Option<Box<Expr>>,
        step: Option<Box<Expr>>,
    },
    Unary(UnaryOp, Box<Expr>),
    /// Every binary operator, including a single comparison (`a < b`).
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A chain of two or more comparisons: `a < b <= c`.
    Compare {
        left: Box<Expr>,
        ops: Vec<BinOp>,
        comparators: Vec<Expr>,
    },
    /// `body if test else orelse`.
    IfElse {
        test: Box<Expr>,
        body: Box<Expr>,
        orelse: Box<Expr>,
    },
    Lambda(Box<Lambda>),
    ListComp {
        elt: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    SetComp {
        elt: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    GeneratorExp {
        elt: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    DictComp {
        key: Box<Expr>,
        value: Box<Expr>,
        generators: Vec<Comprehension>,
    },
    /// `*x` in a call, a display or an assignment target.
    Starred(Box<Expr>),
    /// `target := value`.
    NamedExpr {
        target: String,
        value: Box<Expr>,
    },
    Await(Box<Expr>),
    Yield(Option<Box<Expr>>),
    YieldFrom(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lambda {
    pub params: Vec<Param>,
    pub body: Expr,
}

/// One `for target in iter if cond...` clause of a comprehension.
#[derive(Debug, Clone, PartialEq)]
pub struct Comprehension {
    pub target: Expr,
    pub iter: Expr,
    pub ifs: Vec<Expr>,
    pub is_async: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FStringPart {
    Literal(String),
    Field(FStringField),
}

/// `{expr=!r:spec}` in an f-string.
#[derive(Debug, Clone, PartialEq)]
pub struct FStringField {
    pub expr: Expr,
    /// For `{expr=}`: the text Python prints before the value (`expr=`).
    pub debug_text: Option<String>,
    /// `s`, `r` or `a`.
    pub conversion: Option<char>,
    /// The format spec, which may itself hold fields (`{x:{width}}`).
    pub spec: Option<Vec<FStringPart>>,
    pub span: Span,
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
    Pow,
}

impl BinOp {
    /// Whether this is a comparison (`<`, `in`, `is not`, ...).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::In
                | BinOp::NotIn
                | BinOp::Is
                | BinOp::IsNot
                | BinOp::Eq
                | BinOp::Ne
                | BinOp::Lt
                | BinOp::Le
                | BinOp::Gt
                | BinOp::Ge
        )
    }
}

/// A file that is not valid Python, where and why, worded as Python words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message} (line {line}, column {column})")]
pub struct SyntaxError {
    /// `SyntaxError` or `IndentationError`.
    pub kind: &'static str,
    pub message: String,
    pub offset: usize,
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
}
