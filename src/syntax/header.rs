//! A revision file's header: its docstring and module-level assignments,
//! read from the one Python AST (`syntax::body`). The whole file is parsed:
//! Python imports it whole, so a syntax error anywhere stops Alembic too.

use thiserror::Error;

use super::ast::{ExprKind, StmtKind};
use super::body::parse_module;
use super::{line_col, Span};

/// A value on the right of a module-level assignment.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    None,
    Bool(bool),
    Number(String),
    Tuple(Vec<Expr>),
    List(Vec<Expr>),
    Name(String),
    /// Anything else (calls, operators, dicts): kept only as text.
    Other(String),
}

/// `name = value` (or `name: annotation = value`) at module level.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderAssignment {
    pub name: String,
    /// `None` for a bare annotation (`name: str`).
    pub value: Option<Expr>,
    pub span: Span,
}

/// The module-level facts of a revision file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// The module docstring (`__doc__`), decoded, if the first statement is a string.
    pub docstring: Option<String>,
    /// Every `name = value` at module level, in source order.
    pub assignments: Vec<HeaderAssignment>,
    /// Byte offset of the first function or class definition (or the end of the file).
    pub body_offset: usize,
}

impl Header {
    /// The last value assigned to `name` at module level.
    pub fn get(&self, name: &str) -> Option<&HeaderAssignment> {
        self.assignments
            .iter()
            .rev()
            .find(|a| a.name == name && a.value.is_some())
    }
}

/// A revision file that is not valid Python.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct HeaderError {
    pub line: usize,
    pub column: usize,
    /// `path:line:col: SyntaxError: message`.
    pub message: String,
    /// The underlying error, with its offset.
    pub error: super::ast::SyntaxError,
}

/// Parses the whole of `source` (a file that is not valid Python is an
/// error, as it is when Python imports it) and returns its module-level
/// docstring and assignments. `path` is used only in error messages.
pub fn parse_header(path: &str, source: &str) -> Result<Header, HeaderError> {
    parse_header_module(path, source).map(|(header, _)| header)
}

/// [`parse_header`], also handing back the parsed module, for a caller that
/// goes on to read the file's body (one parse per file).
pub fn parse_header_module(
    path: &str,
    source: &str,
) -> Result<(Header, super::ast::Module), HeaderError> {
    let module = parse_module(source).map_err(|error| HeaderError {
        line: error.line,
        column: error.column,
        message: format!(
            "{path}:{}:{}: {}: {}",
            error.line, error.column, error.kind, error.message
        ),
        error,
    })?;
    Ok((header_of(source, &module), module))
}

/// The header facts of an already parsed module.
pub fn header_of(source: &str, module: &super::ast::Module) -> Header {
    let mut header = Header {
        body_offset: source.len(),
        ..Header::default()
    };
    for (i, stmt) in module.body.iter().enumerate() {
        match &stmt.kind {
            StmtKind::Expr(e) if i == 0 => {
                if let ExprKind::Str(text) = &e.kind {
                    header.docstring = Some(text.clone());
                }
            }
            StmtKind::Assign { targets, value, .. } => {
                let value = value.as_ref().map(|v| expression(source, v));
                for target in targets {
                    if let ExprKind::Name(name) = &target.kind {
                        let (line, column) = line_col(source, stmt.span.start);
                        header.assignments.push(HeaderAssignment {
                            name: name.clone(),
                            value: value.clone(),
                            span: Span {
                                start: stmt.span.start,
                                end: stmt.span.end,
                                line,
                                column,
                            },
                        });
                    }
                }
            }
            StmtKind::FunctionDef(_) | StmtKind::ClassDef(_) => {
                header.body_offset = header.body_offset.min(stmt.span.start);
            }
            _ => {}
        }
    }
    header
}

fn expression(source: &str, e: &super::ast::Expr) -> Expr {
    match &e.kind {
        ExprKind::Str(s) => Expr::Str(s.clone()),
        ExprKind::None => Expr::None,
        ExprKind::Bool(b) => Expr::Bool(*b),
        ExprKind::Int(_) | ExprKind::BigInt(_) | ExprKind::Float(_) | ExprKind::Imaginary(_) => {
            Expr::Number(source[e.span.start..e.span.end].to_string())
        }
        ExprKind::Name(n) => Expr::Name(n.clone()),
        ExprKind::Tuple(items) => {
            Expr::Tuple(items.iter().map(|x| expression(source, x)).collect())
        }
        ExprKind::List(items) => Expr::List(items.iter().map(|x| expression(source, x)).collect()),
        _ => Expr::Other(source[e.span.start..e.span.end].to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_template_header() {
        let src = "\"\"\"add users\n\nRevision ID: abc\nRevises: \nCreate Date: 2024-01-01\n\n\"\"\"\nfrom typing import Sequence, Union\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\n# revision identifiers, used by Alembic.\nrevision: str = 'abc'\ndown_revision: Union[str, Sequence[str], None] = None\nbranch_labels: Union[str, Sequence[str], None] = ('x',)\ndepends_on: Union[str, Sequence[str], None] = None\n\n\ndef upgrade() -> None:\n    pass\n";
        let header = parse_header("a.py", src).unwrap();
        assert_eq!(
            header.docstring.as_deref(),
            Some("add users\n\nRevision ID: abc\nRevises: \nCreate Date: 2024-01-01\n\n")
        );
        assert_eq!(
            header.get("revision").unwrap().value,
            Some(Expr::Str("abc".into()))
        );
        assert_eq!(header.get("down_revision").unwrap().value, Some(Expr::None));
        assert_eq!(
            header.get("branch_labels").unwrap().value,
            Some(Expr::Tuple(vec![Expr::Str("x".into())]))
        );
        assert!(src[header.body_offset..].starts_with("def upgrade"));
    }

    #[test]
    fn old_style_header_with_tuple_merge() {
        let src = "'''merge'''\nrevision = \"m1\"\ndown_revision = (\n    'a',\n    \"b\",  # comment\n)\n";
        let header = parse_header("a.py", src).unwrap();
        assert_eq!(
            header.get("down_revision").unwrap().value,
            Some(Expr::Tuple(vec![
                Expr::Str("a".into()),
                Expr::Str("b".into())
            ]))
        );
        assert_eq!(header.docstring.as_deref(), Some("merge"));
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let src = "revision = 'a'\ndown_revision = ('b'\n";
        let error = parse_header("v/a.py", src).unwrap_err();
        assert_eq!((error.line, error.column), (2, 17));
        assert_eq!(
            error.message,
            "v/a.py:2:17: SyntaxError: '(' was never closed"
        );
    }
}
