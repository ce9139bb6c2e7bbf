//! Syntax: the Python front end (one pest grammar, one AST with spans).
//!
//! This layer knows no semantics: it does not read files, resolve revisions or
//! check what an `op.*` call means. It only turns text into trees.

pub mod ast;
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

/// The 1-based line and column (in characters) of a byte offset.
pub fn line_col(input: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(input.len());
    let before = &input.as_bytes()[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + input[line_start..offset].chars().count();
    (line, column)
}
