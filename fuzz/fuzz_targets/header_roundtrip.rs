//! Fuzzes the header grammar: a parsed header's `revision`,
//! `down_revision`, `branch_labels` and `depends_on`, printed back as a
//! canonical Python header, must parse to the same values.

#![no_main]

use aurora::syntax::{parse_header, Expr};
use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 4] = ["revision", "down_revision", "branch_labels", "depends_on"];

/// A Python string literal for `s`: printable ASCII as is, everything
/// else as a `\U` escape.
fn python_str(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            ' '..='~' => out.push(c),
            other => out.push_str(&format!("\\U{:08x}", other as u32)),
        }
    }
    out.push('\'');
    out
}

/// Python source for a value, or `None` for values kept only as text.
fn python(expr: &Expr) -> Option<String> {
    Some(match expr {
        Expr::Str(s) => python_str(s),
        Expr::None => "None".to_string(),
        Expr::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Expr::Tuple(items) => {
            let inner = items.iter().map(python).collect::<Option<Vec<_>>>()?;
            match inner.len() {
                1 => format!("({},)", inner[0]),
                _ => format!("({})", inner.join(", ")),
            }
        }
        Expr::List(items) => {
            let inner = items.iter().map(python).collect::<Option<Vec<_>>>()?;
            format!("[{}]", inner.join(", "))
        }
        Expr::Number(_) | Expr::Name(_) | Expr::Other(_) => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    pest::set_call_limit(std::num::NonZeroUsize::new(200_000));
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(header) = parse_header("fuzz.py", source) else {
        return;
    };
    let mut values = Vec::new();
    let mut printed = String::from("\"\"\"canonical\"\"\"\n");
    for key in KEYS {
        let Some(value) = header.get(key).and_then(|a| a.value.as_ref()) else {
            continue;
        };
        let Some(text) = python(value) else {
            continue;
        };
        printed.push_str(&format!("{key} = {text}\n"));
        values.push((key, value.clone()));
    }
    printed.push_str("\n\ndef upgrade():\n    pass\n");
    let again = parse_header("canonical.py", &printed)
        .unwrap_or_else(|e| panic!("canonical header does not parse: {e}\n{printed}"));
    for (key, value) in values {
        let reparsed = again.get(key).and_then(|a| a.value.as_ref());
        assert_eq!(
            reparsed,
            Some(&value),
            "{key} changed after printing:\n{printed}"
        );
    }
});
