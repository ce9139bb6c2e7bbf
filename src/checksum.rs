//! `aurora.sum`: opt-in checksums of the revision files, one file per
//! version location.
//!
//! Each line names a revision file (relative to the version location) with
//! two SHA-256 hashes: `ast:` of its normalised syntax tree (the tree of
//! [`crate::syntax::body`] printed without source positions, so comments,
//! blank lines, quote style, line wrapping and trailing commas, everything
//! black or ruff format changes, leave it alone, while any change in meaning
//! does not), and `file:` of its bytes. When an `aurora.sum` is present,
//! `upgrade`, `downgrade` and `stamp` refuse to run, before connecting, if a
//! listed file is missing or its tree changed. Nothing is written to the
//! database; Alembic ignores the file.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The file name, in each version location.
pub const SUM_FILE: &str = "aurora.sum";

const HEADER: &str = "# aurora.sum: revision file, hash of its normalised syntax tree, hash of its bytes.\n\
# Written by `aurora hash`; checked by upgrade, downgrade and stamp. Regenerate after editing a revision on purpose.\n";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of the file's normalised syntax tree.
pub fn ast_hash(source: &str) -> String {
    // A file that is not valid Python has no tree: its bytes stand in, so
    // any edit of it counts as a change.
    let printed = match crate::syntax::body::parse_module(source) {
        Ok(module) => strip_spans(&format!("{module:?}")),
        Err(_) => format!("not Python: {source}"),
    };
    hex(&Sha256::digest(printed.as_bytes()))
}

/// The hash of the file's bytes.
pub fn file_hash(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Removes every `span: Span { start: N, end: M }` from a `Debug` print.
fn strip_spans(printed: &str) -> String {
    const MARK: &str = "span: Span {";
    let mut out = String::with_capacity(printed.len());
    let mut rest = printed;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        match after.find('}') {
            Some(close) => rest = &after[close + 1..],
            None => {
                rest = after;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One line of an `aurora.sum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumEntry {
    /// The file, relative to the version location, with `/` separators.
    pub file: String,
    pub ast: String,
    pub bytes: String,
}

/// What is wrong with a listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Missing(PathBuf),
    Changed(PathBuf),
    /// An `aurora.sum` line that is not `FILE ast:HASH file:HASH`.
    BadLine {
        sum: PathBuf,
        line: usize,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing(path) => {
                write!(f, "{} is listed in {SUM_FILE} but missing", path.display())
            }
            Problem::Changed(path) => write!(
                f,
                "{} changed since {SUM_FILE} was written (its meaning, not only its formatting); \
                 restore it, or run `aurora hash` if the change is intended",
                path.display()
            ),
            Problem::BadLine { sum, line } => write!(
                f,
                "{}:{line}: not a line `FILE ast:HASH file:HASH`; regenerate it with `aurora hash`",
                sum.display()
            ),
        }
    }
}

fn relative(location: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(location).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// The entries for the revision files under `location`, sorted by file.
pub fn entries(location: &Path, files: &[PathBuf]) -> std::io::Result<Vec<SumEntry>> {
    let mut out = Vec::new();
    for path in files {
        let Some(file) = relative(location, path) else {
            continue;
        };
        let bytes = std::fs::read(path)?;
        out.push(SumEntry {
            file,
            ast: ast_hash(&String::from_utf8_lossy(&bytes)),
            bytes: file_hash(&bytes),
        });
    }
    out.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(out)
}

/// Writes `location/aurora.sum` atomically (a temporary file, then a rename).
pub fn write(location: &Path, entries: &[SumEntry]) -> std::io::Result<PathBuf> {
    let mut text = HEADER.to_string();
    for e in entries {
        text.push_str(&format!("{} ast:{} file:{}\n", e.file, e.ast, e.bytes));
    }
    let target = location.join(SUM_FILE);
    let temp = location.join(format!(".{SUM_FILE}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    if let Err(e) = std::fs::rename(&temp, &target) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(target)
}

/// Reads `location/aurora.sum`; `Ok(None)` when there is none.
pub fn read(location: &Path) -> Result<Option<Vec<SumEntry>>, Problem> {
    let sum = location.join(SUM_FILE);
    let Ok(text) = std::fs::read_to_string(&sum) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_text = line.trim();
        if line_text.is_empty() || line_text.starts_with('#') {
            continue;
        }
        let bad = || Problem::BadLine {
            sum: sum.clone(),
            line: i + 1,
        };
        let mut parts = line_text.rsplitn(3, ' ');
        let bytes = parts
            .next()
            .and_then(|p| p.strip_prefix("file:"))
            .ok_or_else(bad)?;
        let ast = parts
            .next()
            .and_then(|p| p.strip_prefix("ast:"))
            .ok_or_else(bad)?;
        let file = parts.next().filter(|f| !f.is_empty()).ok_or_else(bad)?;
        out.push(SumEntry {
            file: file.to_string(),
            ast: ast.to_string(),
            bytes: bytes.to_string(),
        });
    }
    Ok(Some(out))
}

/// Checks every `aurora.sum` among `locations`. Returns the problems found
/// and how many files were checked; no `aurora.sum` at all is no problem.
pub fn verify(locations: &[PathBuf]) -> (Vec<Problem>, usize) {
    let mut problems = Vec::new();
    let mut checked = 0;
    for location in locations {
        let listed = match read(location) {
            Ok(Some(listed)) => listed,
            Ok(None) => continue,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        for entry in listed {
            checked += 1;
            let path = location.join(&entry.file);
            match std::fs::read(&path) {
                Err(_) => problems.push(Problem::Missing(path)),
                Ok(bytes) => {
                    // Same bytes: same tree, no need to parse.
                    if file_hash(&bytes) != entry.bytes
                        && ast_hash(&String::from_utf8_lossy(&bytes)) != entry.ast
                    {
                        problems.push(Problem::Changed(path));
                    }
                }
            }
        }
    }
    (problems, checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "\"\"\"add t\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = 'a1'\ndown_revision = None\n\n\ndef upgrade():\n    op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))\n";

    #[test]
    fn reformatting_keeps_the_tree_hash() {
        let black = "\"\"\"add t\"\"\"\n\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = \"a1\"  # the id\ndown_revision = None\n\n\ndef upgrade():\n    op.create_table(\n        \"t\",\n        sa.Column(\"id\", sa.Integer, primary_key=True),\n    )\n";
        assert_eq!(ast_hash(ORIGINAL), ast_hash(black));
        assert_ne!(file_hash(ORIGINAL.as_bytes()), file_hash(black.as_bytes()));
    }

    #[test]
    fn a_change_in_meaning_changes_the_tree_hash() {
        for changed in [
            ORIGINAL.replace("'t'", "'u'"),
            ORIGINAL.replace("primary_key=True", "primary_key=False"),
            ORIGINAL.replace("down_revision = None", "down_revision = 'a0'"),
            ORIGINAL.replace("sa.Integer", "sa.BigInteger"),
        ] {
            assert_ne!(ast_hash(ORIGINAL), ast_hash(&changed), "{changed}");
        }
    }

    #[test]
    fn spans_are_stripped() {
        assert_eq!(
            strip_spans("Stmt { kind: Pass, span: Span { start: 1, end: 5 } }"),
            "Stmt { kind: Pass,  }"
        );
    }
}
