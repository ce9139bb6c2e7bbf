//! Syntax: pest grammars turning revision files into ASTs with spans.
//!
//! This layer knows no semantics: it does not read files, resolve revisions or
//! check what an `op.*` call means. It only turns text into trees.

pub mod body;
pub mod header;
pub mod strings;

pub use header::{parse_header, Expr, Header, HeaderAssignment, HeaderError};

/// A region of source text: byte offsets plus the 1-based line and column of its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

impl Span {
    pub(crate) fn from_pest(span: pest::Span<'_>) -> Span {
        let (line, column) = span.start_pos().line_col();
        Span {
            start: span.start(),
            end: span.end(),
            line,
            column,
        }
    }
}
