//! Whether a model index and the reflected index of the same name differ, and how
//! Alembic says so: its default `compare_indexes` (unique flag and column names) and
//! PostgreSQL's (unique flag, then every element compiled and cleaned up by
//! `_cleanup_index_expr` before comparing).

use super::{Index, IndexElement};
use crate::template::repr_str;

/// Which of Alembic's index comparisons the dialect uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexRule {
    /// `DefaultImpl.compare_indexes`: the unique flag and the column names.
    #[default]
    Generic,
    /// `PostgresqlImpl.compare_indexes`: the unique flag, the number of elements, then
    /// each element's SQL as `_cleanup_index_expr` normalises it.
    Postgresql,
}

/// What changed from the reflected index `conn` to the model index `meta` of `table`, in
/// the words of Alembic's "Detected changed index" line; empty when they are equal.
pub fn index_changes(rule: IndexRule, table: &str, conn: &Index, meta: &Index) -> Vec<String> {
    let mut msg = Vec::new();
    if conn.unique != meta.unique {
        msg.push(format!(
            "unique={} to unique={}",
            py_bool(conn.unique),
            py_bool(meta.unique)
        ));
    }
    match rule {
        IndexRule::Generic => {
            if conn.columns != meta.columns {
                msg.push(format!(
                    "expression {} to {}",
                    str_tuple_repr(&conn.columns),
                    str_tuple_repr(&meta.columns)
                ));
            }
        }
        IndexRule::Postgresql => {
            if conn.elements.len() != meta.elements.len() {
                msg.push(format!(
                    "expression number {} to {}",
                    conn.elements.len(),
                    meta.elements.len()
                ));
            }
            if !msg.is_empty() {
                return msg;
            }
            for (pos, (r, m)) in conn.elements.iter().zip(&meta.elements).enumerate() {
                let (r_sql, m_sql) = (compiled(r), compiled(m));
                if cleanup_index_expr(table, &m_sql) != cleanup_index_expr(table, &r_sql) {
                    msg.push(format!(
                        "expression #{} {} to {}",
                        pos + 1,
                        repr_str(&r_sql),
                        repr_str(&m_sql)
                    ));
                }
            }
        }
    }
    msg
}

/// An element as PostgreSQL compiles it: a column by its name, quoted where PostgreSQL
/// needs it.
fn compiled(element: &IndexElement) -> String {
    match element {
        IndexElement::Column(name) => {
            crate::sql::quote_identifier(name, crate::sql::Dialect::Postgresql)
        }
        IndexElement::Expression(e) => e.sql.clone(),
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Python's `repr` of a tuple of strings: `('a',)`, `('a', 'b')`, `()`.
pub fn str_tuple_repr(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| repr_str(s)).collect();
    match parts.len() {
        1 => format!("({},)", parts[0]),
        _ => format!("({})", parts.join(", ")),
    }
}

/// Alembic's `PostgresqlImpl._cleanup_index_expr`: lower case without quotes and without
/// the table's name, `::type` casts removed, outer parentheses and the sort modifiers
/// PostgreSQL leaves out (`ASC`, `NULLS LAST` after an ascending element, `NULLS FIRST`
/// after a descending one) dropped, `CAST(x AS type)` unwrapped, spaces removed.
pub fn cleanup_index_expr(table: &str, expr: &str) -> String {
    let mut expr = expr.to_lowercase().replace(['"', '\''], "");
    expr = expr.replace(&format!("{}.", table.to_lowercase()), "");
    expr = strip_double_colon_casts(&expr);
    expr = strip_outer_parens(expr);
    expr = strip_default_modifier(expr);
    expr = strip_outer_parens(expr);
    loop {
        let (next, replaced) = strip_cast_functions(&expr);
        expr = next;
        if !replaced {
            break;
        }
    }
    expr.replace(' ', "")
}

fn strip_outer_parens(mut expr: String) -> String {
    while expr.len() >= 2 && expr.starts_with('(') && expr.ends_with(')') {
        expr = expr[1..expr.len() - 1].to_string();
    }
    // Python's `expr[1:-1]` of "()" or "(" leaves "" or stops; one character "(" ... ")"
    // cannot both hold for a single character, so the loop above is the whole rule.
    expr
}

/// The first of Alembic's `_default_modifiers_re` that matches at the end, its group
/// removed.
fn strip_default_modifier(expr: String) -> String {
    if let Some(rest) = expr.strip_suffix(" asc nulls last") {
        return rest.to_string();
    }
    if let Some(rest) = expr.strip_suffix(" nulls last") {
        if !rest.ends_with(" desc") {
            return rest.to_string();
        }
    }
    if let Some(rest) = expr.strip_suffix(" asc") {
        return rest.to_string();
    }
    if let Some(rest) = expr.strip_suffix(" asc nulls first") {
        return format!("{rest} nulls first");
    }
    if let Some(rest) = expr.strip_suffix(" desc nulls first") {
        return format!("{rest} desc");
    }
    expr
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Where `\s*` starting at `at` ends.
fn spaces(text: &[char], mut at: usize) -> usize {
    while at < text.len() && text[at].is_whitespace() {
        at += 1;
    }
    at
}

/// Where `\s+` starting at `at` ends, if it matches.
fn spaces1(text: &[char], at: usize) -> Option<usize> {
    let end = spaces(text, at);
    (end > at).then_some(end)
}

/// Where `literal` (lower case) matches at `at`, case-insensitively.
fn keyword(text: &[char], at: usize, literal: &str) -> Option<usize> {
    let mut i = at;
    for l in literal.chars() {
        if i >= text.len() || text[i].to_lowercase().next() != Some(l) {
            return None;
        }
        i += 1;
    }
    Some(i)
}

/// A name: `"quoted"` or `\w+`.
fn name(text: &[char], at: usize) -> Option<usize> {
    if text.get(at) == Some(&'"') {
        let close = text[at + 1..].iter().position(|&c| c == '"')?;
        return (close > 0).then_some(at + 1 + close + 1);
    }
    let mut i = at;
    while i < text.len() && is_word(text[i]) {
        i += 1;
    }
    (i > at).then_some(i)
}

/// Every place Alembic's `_type_name_re` can end when it starts at `at`, in the order a
/// regular expression prefers them (each optional part taken when it matches first).
fn type_name_ends(text: &[char], at: usize) -> Vec<usize> {
    let Some(first) = name(text, at) else {
        return Vec::new();
    };
    // (?:\.(?:"[^"]+"|\w+))?
    let mut ends = optional(first, |i| {
        (text.get(i) == Some(&'.'))
            .then(|| name(text, i + 1))
            .flatten()
    });
    // (?:\s+(?:varying|precision))?
    ends = ends
        .into_iter()
        .flat_map(|e| {
            optional(e, |i| {
                let s = spaces1(text, i)?;
                keyword(text, s, "varying").or_else(|| keyword(text, s, "precision"))
            })
        })
        .collect();
    // (?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?
    ends = ends
        .into_iter()
        .flat_map(|e| {
            optional(e, |i| {
                let mut j = spaces(text, i);
                if text.get(j) != Some(&'(') {
                    return None;
                }
                j = digits(text, spaces(text, j + 1))?;
                let k = spaces(text, j);
                if text.get(k) == Some(&',') {
                    if let Some(d) = digits(text, spaces(text, k + 1)) {
                        j = d;
                    }
                }
                j = spaces(text, j);
                (text.get(j) == Some(&')')).then_some(j + 1)
            })
        })
        .collect();
    // (?:\s+with(?:out)?\s+time\s+zone)?
    ends = ends
        .into_iter()
        .flat_map(|e| {
            optional(e, |i| {
                let s = spaces1(text, i)?;
                let w = keyword(text, s, "without").or_else(|| keyword(text, s, "with"))?;
                let t = keyword(text, spaces1(text, w)?, "time")?;
                keyword(text, spaces1(text, t)?, "zone")
            })
        })
        .collect();
    // (?:\s*\[\s*\d*\s*\])*
    ends.into_iter()
        .flat_map(|e| {
            let mut chain = vec![e];
            let mut at = e;
            while let Some(next) = array_suffix(text, at) {
                chain.push(next);
                at = next;
            }
            chain.reverse();
            chain
        })
        .collect()
}

/// `(?:...)?` after `at`: where it ends when the part matches (preferred), then `at`.
fn optional(at: usize, part: impl Fn(usize) -> Option<usize>) -> Vec<usize> {
    match part(at) {
        Some(end) => vec![end, at],
        None => vec![at],
    }
}

fn digits(text: &[char], at: usize) -> Option<usize> {
    let mut i = at;
    while i < text.len() && text[i].is_ascii_digit() {
        i += 1;
    }
    (i > at).then_some(i)
}

fn array_suffix(text: &[char], at: usize) -> Option<usize> {
    let mut j = spaces(text, at);
    if text.get(j) != Some(&'[') {
        return None;
    }
    j = spaces(text, j + 1);
    while j < text.len() && text[j].is_ascii_digit() {
        j += 1;
    }
    j = spaces(text, j);
    (text.get(j) == Some(&']')).then_some(j + 1)
}

/// `_cast_re.sub("", expr)`: every `::\s*type` removed.
fn strip_double_colon_casts(expr: &str) -> String {
    let text: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        if text[i] == ':' && text.get(i + 1) == Some(&':') {
            if let Some(&end) = type_name_ends(&text, spaces(&text, i + 2)).first() {
                i = end;
                continue;
            }
        }
        out.push(text[i]);
        i += 1;
    }
    out
}

/// One `_cast_fn_re.subn(r"\1", expr)` pass: each `cast(x as type)` (the first `as` that
/// a type and `)` follow) replaced by `x`; whether anything was.
fn strip_cast_functions(expr: &str) -> (String, bool) {
    let text: Vec<char> = expr.chars().collect();
    let mut out = String::new();
    let mut replaced = false;
    let mut i = 0;
    while i < text.len() {
        if let Some((inner, end)) = cast_call(&text, i) {
            out.extend(&text[inner.0..inner.1]);
            replaced = true;
            i = end;
            continue;
        }
        out.push(text[i]);
        i += 1;
    }
    (out, replaced)
}

/// `\bcast\s*\((.*?)\s+as\s+TYPE\s*\)` at `at`: the group's span and the match's end.
fn cast_call(text: &[char], at: usize) -> Option<((usize, usize), usize)> {
    if at > 0 && is_word(text[at - 1]) {
        return None;
    }
    let open = spaces(text, keyword(text, at, "cast")?);
    if text.get(open) != Some(&'(') {
        return None;
    }
    let start = open + 1;
    // `.*?`: as few characters as will do, never a newline.
    for end in start..=text.len() {
        if end > start && text[end - 1] == '\n' {
            return None;
        }
        let Some(s) = spaces1(text, end) else {
            continue;
        };
        let Some(a) = keyword(text, s, "as") else {
            continue;
        };
        let Some(t) = spaces1(text, a) else {
            continue;
        };
        for type_end in type_name_ends(text, t) {
            let close = spaces(text, type_end);
            if text.get(close) == Some(&')') {
                return Some(((start, end), close + 1));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::cleanup_index_expr;

    /// Expected values printed by Alembic 1.20.1's `PostgresqlImpl._cleanup_index_expr`.
    #[test]
    fn cleans_up_as_alembic() {
        for (input, expected) in [
            ("lower(title::text)", "lower(title)"),
            ("lower('title'::text)", "lower(title)"),
            ("(a + b)", "a+b"),
            ("a DESC", "adesc"),
            ("a ASC", "a"),
            ("a NULLS LAST", "a"),
            ("a DESC NULLS LAST", "adescnullslast"),
            ("a ASC NULLS FIRST", "anullsfirst"),
            ("a DESC NULLS FIRST", "adesc"),
            ("CAST(a AS VARCHAR(10))", "a"),
            ("cast(cast(a as text) as character varying(5))", "a"),
            ("(data ->> 'k'::text)", "data->>k"),
            ("posts.title", "title"),
            ("(created_at)::timestamp with time zone", "created_at"),
            ("coalesce(tags, '{}'::text[])", "coalesce(tags,{})"),
            ("\"Name\"", "name"),
            ("(a) + (b)", "a)+(b"),
            ("cast(x as int) + cast(y as text)", "x+y"),
            ("((lower(name)))::text", "lower(name)"),
        ] {
            assert_eq!(cleanup_index_expr("posts", input), expected, "{input}");
        }
    }
}
