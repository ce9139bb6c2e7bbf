//! Data-driven tests of the one Python front end over `tests/fixtures/python`:
//! - `run/*.py` are Python programs that check themselves with `assert` (each
//!   also passes under CPython 3.11): they must parse, and the interpreter
//!   (`aurora::interp`) must run them to the end;
//! - `parse/*.py` hold constructs that need only parse (`async def`, `yield`,
//!   `except*`, ...): they must parse to a module.
//!
//! Together they cover every construct issue 8 lists: `def` with defaults,
//! `*args`, `**kwargs` and decorators, `class`, `if`/`for`/`while`/`break`/
//! `continue`, `try`/`except`/`else`/`finally`, `with`, `return`, `global`,
//! `lambda`, comprehensions, conditional expressions, the walrus operator,
//! f-strings with expressions and format specs, string prefixes and escapes,
//! bytes, number forms, slices, starred arguments, annotations, `async def`
//! and a UTF-8 BOM.

use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/python")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

#[test]
fn every_fixture_parses() {
    let mut failures = Vec::new();
    for path in fixtures("run").into_iter().chain(fixtures("parse")) {
        let source = std::fs::read_to_string(&path).expect("read");
        if let Err(e) = aurora::syntax::body::parse_module(&source) {
            failures.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn runnable_fixtures_run_to_the_end() {
    let mut failures = Vec::new();
    for path in fixtures("run") {
        let mut interp = aurora::interp::Interp::new(None);
        if let Err(e) = interp.run_file(&path, "__main__", Vec::new()) {
            failures.push(format!("{}: {}", path.display(), e.describe()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_assert_that_fails_in_a_fixture_is_reported() {
    // The runner above would notice a fixture that does not hold.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wrong.py");
    std::fs::write(
        &path,
        "xs = [x for x in range(3)]\nassert xs == [0, 1], 'lost'\n",
    )
    .unwrap();
    let mut interp = aurora::interp::Interp::new(None);
    let e = interp
        .run_file(&path, "__main__", Vec::new())
        .err()
        .expect("fails");
    assert!(
        e.describe().contains("wrong.py:2:1: AssertionError: lost"),
        "{}",
        e.describe()
    );
}
