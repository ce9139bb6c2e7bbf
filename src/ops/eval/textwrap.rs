//! Python's `textwrap.dedent`, for SQL strings written as indented
//! triple-quoted literals (`op.execute(dedent(f"""..."""))`).

use super::*;

/// `textwrap.dedent(text)`: lines of only spaces and tabs become empty, then
/// the longest leading whitespace common to every other line is removed.
/// Like CPython, a line counts as a whole between `\n`s, and only ` ` and
/// `\t` are whitespace here.
pub(super) fn dedent(text: &str) -> String {
    let blank = |l: &str| l.chars().all(|c| c == ' ' || c == '\t');
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| if blank(l) { "" } else { l })
        .collect();
    let mut margin: Option<&str> = None;
    for l in lines.iter().filter(|l| !l.is_empty()) {
        let indent = &l[..l.len() - l.trim_start_matches([' ', '\t']).len()];
        margin = Some(match margin {
            None => indent,
            Some(m) if indent.starts_with(m) => m,
            Some(m) if m.starts_with(indent) => indent,
            Some(m) => {
                let common = m
                    .bytes()
                    .zip(indent.bytes())
                    .take_while(|(x, y)| x == y)
                    .count();
                &m[..common]
            }
        });
    }
    let margin = margin.unwrap_or("");
    lines
        .iter()
        .map(|l| l.strip_prefix(margin).unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The call `textwrap.dedent(text)`.
pub(super) fn call_dedent(args: &Args) -> EResult<Value> {
    let b = bind(args, "dedent", &["text"], false, false)?;
    match b.get(0) {
        Some(Value::Str(s)) => Ok(Value::Str(dedent(s))),
        Some(other) => Err(problem(
            b.span_of(0),
            format!("TypeError: dedent() takes a str, got {}", describe(other)),
        )),
        None => Err(problem(
            args.span,
            "TypeError: dedent() missing 1 required positional argument: 'text'",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::dedent;

    #[test]
    fn dedent_matches_cpython() {
        // Expected values printed by CPython 3.11's textwrap.dedent.
        assert_eq!(dedent("\n    a\n      b\n    \n    c\n"), "\na\n  b\n\nc\n");
        assert_eq!(dedent("  x\n\ty\n"), "  x\n\ty\n");
        assert_eq!(dedent("\t\ta\n\t b\n"), "\ta\n b\n");
        assert_eq!(dedent("  a\n b\n   \t\n"), " a\nb\n\n");
        assert_eq!(dedent("no indent\n  x"), "no indent\n  x");
        assert_eq!(dedent("   "), "");
    }
}
