//! Alembic's text forms of a revision: the one-line form (`heads`, `history`,
//! `branches`) and the verbose log entry (`show`, `-v`).

use crate::graph::RevisionMap;

/// `Script._format_down_revision`: `<base>` or the parents joined by ", ".
pub fn down_revision_text(map: &RevisionMap, i: usize) -> String {
    let rev = map.get(i);
    if rev.script.down_revision.is_empty() {
        "<base>".to_string()
    } else {
        rev.script.down_revision.join(", ")
    }
}

fn labels_text(map: &RevisionMap, i: usize) -> String {
    map.get(i)
        .branch_labels
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Script.log_entry`.
pub fn log_entry(map: &RevisionMap, i: usize, current: bool) -> String {
    let rev = map.get(i);
    let mut entry = format!(
        "Rev: {}{}{}{}{}\n",
        rev.id(),
        if rev.is_head() { " (head)" } else { "" },
        if rev.is_branch_point() {
            " (branchpoint)"
        } else {
            ""
        },
        if rev.is_merge_point() {
            " (mergepoint)"
        } else {
            ""
        },
        if current { " (current)" } else { "" },
    );
    if rev.is_merge_point() {
        entry.push_str(&format!("Merges: {}\n", down_revision_text(map, i)));
    } else {
        entry.push_str(&format!("Parent: {}\n", down_revision_text(map, i)));
    }
    if !rev.script.dependencies.is_empty() {
        entry.push_str(&format!(
            "Also depends on: {}\n",
            rev.script.dependencies.join(", ")
        ));
    }
    if rev.is_branch_point() {
        let next: Vec<&str> = rev.nextrev.iter().map(|&n| map.id(n)).collect();
        entry.push_str(&format!("Branches into: {}\n", next.join(", ")));
    }
    if !rev.branch_labels.is_empty() {
        entry.push_str(&format!("Branch names: {}\n", labels_text(map, i)));
    }
    entry.push_str(&format!("Path: {}\n", rev.script.path.display()));
    let doc: Vec<String> = python_splitlines(&rev.script.longdoc)
        .map(|line| format!("    {line}"))
        .collect();
    entry.push_str(&format!("\n{}\n", doc.join("\n")));
    entry
}

/// Python's `str.splitlines()`.
fn python_splitlines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let breaks = [
            '\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}',
        ];
        match rest.find(breaks) {
            Some(at) => {
                let line = &rest[..at];
                let width = if rest[at..].starts_with("\r\n") {
                    2
                } else {
                    rest[at..].chars().next().map_or(1, char::len_utf8)
                };
                rest = &rest[at + width..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// Options of `Script._head_only` / `cmd_format`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineOptions {
    pub include_branches: bool,
    pub include_doc: bool,
    pub include_parents: bool,
    pub tree_indicators: bool,
    pub current: bool,
}

/// `Script._head_only`: the one-line form.
pub fn head_only(map: &RevisionMap, i: usize, options: LineOptions) -> String {
    let rev = map.get(i);
    let mut text = rev.id().to_string();
    if options.include_parents {
        if !rev.script.dependencies.is_empty() {
            text = format!(
                "{} ({}) -> {}",
                down_revision_text(map, i),
                rev.script.dependencies.join(", "),
                text
            );
        } else {
            text = format!("{} -> {}", down_revision_text(map, i), text);
        }
    }
    if options.include_branches && !rev.branch_labels.is_empty() {
        text.push_str(&format!(" ({})", labels_text(map, i)));
    }
    if rev.is_real_head() {
        text.push_str(" (head)");
    }
    if rev.is_head() && !rev.is_real_head() {
        text.push_str(" (effective head)");
    }
    if options.current {
        text.push_str(" (current)");
    }
    if options.tree_indicators {
        if rev.is_branch_point() {
            text.push_str(" (branchpoint)");
        }
        if rev.is_merge_point() {
            text.push_str(" (mergepoint)");
        }
    }
    if options.include_doc {
        text.push_str(", ");
        text.push_str(rev.script.doc());
    }
    text
}

/// `Script.cmd_format`.
pub fn cmd_format(map: &RevisionMap, i: usize, verbose: bool, options: LineOptions) -> String {
    if verbose {
        log_entry(map, i, options.current)
    } else {
        head_only(map, i, options)
    }
}
