//! The header grammar (`grammar/header.pest`): a revision file's docstring and
//! module-level assignments, up to the first `def`. Function bodies are left
//! for the body grammar.

use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;
use thiserror::Error;

use super::{strings, Span};

#[derive(Parser)]
#[grammar = "../grammar/header.pest"]
struct HeaderParser;

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

/// The parsed prelude of a revision file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    /// The module docstring (`__doc__`), decoded, if the first statement is a string.
    pub docstring: Option<String>,
    pub assignments: Vec<HeaderAssignment>,
    /// Byte offset where the header stops (the first `def`, or the end of the file).
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

/// A syntax error in a revision file's header.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct HeaderError {
    pub line: usize,
    pub column: usize,
    /// The full, pest-formatted message (with the path and a caret snippet).
    pub message: String,
}

/// Parses the header of `source`. `path` is used only in error messages.
pub fn parse_header(path: &str, source: &str) -> Result<Header, HeaderError> {
    let mut pairs = HeaderParser::parse(Rule::header, source).map_err(|error| {
        let (line, column) = match error.line_col {
            pest::error::LineColLocation::Pos(p) => p,
            pest::error::LineColLocation::Span(p, _) => p,
        };
        let error = error.with_path(path).renamed_rules(rule_description);
        HeaderError {
            line,
            column,
            message: format!("syntax error in revision header\n{error}"),
        }
    })?;
    let header_pair = pairs.next().expect("header rule always produces a pair");
    let mut header = Header {
        body_offset: header_pair.as_span().end(),
        ..Header::default()
    };
    let mut first_statement = true;
    for pair in header_pair.into_inner() {
        match pair.as_rule() {
            Rule::expression_statement => {
                if first_statement {
                    if let Expr::Str(text) =
                        expression(pair.into_inner().next().expect("expression"))
                    {
                        header.docstring = Some(text);
                    }
                }
                first_statement = false;
            }
            Rule::assignment => {
                first_statement = false;
                let span = Span::from_pest(pair.as_span());
                let mut name = String::new();
                let mut value = None;
                for part in pair.into_inner() {
                    match part.as_rule() {
                        Rule::target => name = part.as_str().to_string(),
                        Rule::expression => value = Some(expression(part)),
                        _ => {}
                    }
                }
                header
                    .assignments
                    .push(HeaderAssignment { name, value, span });
            }
            Rule::EOI | Rule::body_start | Rule::comment => {}
            _ => first_statement = false,
        }
    }
    Ok(header)
}

fn rule_description(rule: &Rule) -> String {
    match rule {
        Rule::header | Rule::body_start => "a statement".to_string(),
        Rule::expression | Rule::expression_in_brackets | Rule::atom_expression => {
            "an expression".to_string()
        }
        Rule::identifier | Rule::target => "a name".to_string(),
        Rule::string => "a string".to_string(),
        Rule::comment => "a comment".to_string(),
        Rule::EOI => "end of file".to_string(),
        other => format!("{other:?}").replace('_', " "),
    }
}

fn expression(pair: Pair<'_, Rule>) -> Expr {
    let text = pair.as_str().to_string();
    let mut inner = pair.into_inner();
    let first = inner.next();
    match (first, inner.next()) {
        (Some(atom_expr), None) if atom_expr.as_rule() == Rule::atom_expression => {
            atom_expression(atom_expr)
        }
        _ => Expr::Other(text),
    }
}

fn atom_expression(pair: Pair<'_, Rule>) -> Expr {
    let text = pair.as_str().to_string();
    let mut inner = pair.into_inner();
    let atom_pair = inner.next().expect("atom");
    if inner.next().is_some() {
        // A call, subscript or attribute access.
        return Expr::Other(text);
    }
    atom(atom_pair)
}

fn atom(pair: Pair<'_, Rule>) -> Expr {
    match pair.as_rule() {
        Rule::strings => {
            let mut out = String::new();
            for string in pair.into_inner() {
                out.push_str(&string_value(string));
            }
            Expr::Str(out)
        }
        Rule::none => Expr::None,
        Rule::true_ => Expr::Bool(true),
        Rule::false_ => Expr::Bool(false),
        Rule::number => Expr::Number(pair.as_str().to_string()),
        Rule::name => Expr::Name(pair.as_str().to_string()),
        Rule::tuple => {
            let has_trailing_comma = pair
                .clone()
                .into_inner()
                .any(|p| p.as_rule() == Rule::trailing_comma);
            let items: Vec<Expr> = pair
                .into_inner()
                .filter(|p| p.as_rule() != Rule::trailing_comma)
                .map(bracketed)
                .collect();
            if items.len() == 1 && !has_trailing_comma {
                items.into_iter().next().expect("one item")
            } else {
                Expr::Tuple(items)
            }
        }
        Rule::list => Expr::List(pair.into_inner().map(bracketed).collect()),
        _ => Expr::Other(pair.as_str().to_string()),
    }
}

fn bracketed(pair: Pair<'_, Rule>) -> Expr {
    let text = pair.as_str().to_string();
    let mut inner = pair.into_inner();
    match (inner.next(), inner.next()) {
        (Some(first), None) if first.as_rule() == Rule::atom_expression => atom_expression(first),
        _ => Expr::Other(text),
    }
}

fn string_value(pair: Pair<'_, Rule>) -> String {
    let mut prefix = "";
    let mut body = "";
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::string_prefix => prefix = part.as_str(),
            _ => {
                if let Some(b) = part.into_inner().next() {
                    body = b.as_str();
                }
            }
        }
    }
    strings::decode(prefix, body)
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
        assert_eq!(error.line, 3);
        assert!(error.message.contains("v/a.py"), "{}", error.message);
    }
}
