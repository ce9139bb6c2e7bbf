//! Data-driven tests of the header grammar: every file under
//! `tests/fixtures/header/ok/` must read as its `.expected` snapshot says (the
//! snapshots were made by loading the same files with Python Alembic's
//! rules), and every file under `err/` must fail with a `file:line:col`
//! message matching its `.err` snapshot.

use std::path::{Path, PathBuf};

use aurora::script::Script;
use aurora::syntax::parse_header;

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/header")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "<none>".to_string()
    } else {
        items.join(", ")
    }
}

/// Renders what aurora read in the snapshot format.
fn describe(script: &Script) -> String {
    format!(
        "revision: {}\ndown_revision: {}\nbranch_labels: {}\ndepends_on: {}\ndoc: {}\nlongdoc:\n{}\n",
        script.revision,
        list(&script.down_revision),
        list(&script.branch_labels),
        list(&script.dependencies),
        script.doc(),
        script.longdoc
    )
}

#[test]
fn ok_fixtures_read_as_python_alembic_reads_them() {
    let mut failures = Vec::new();
    for path in fixtures("ok") {
        let source = std::fs::read_to_string(&path).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
        let actual = match parse_header(&path.display().to_string(), &source) {
            Ok(header) => match Script::from_header(&path, &header) {
                Ok(script) => describe(&script),
                Err(e) => format!("error: {e}\n"),
            },
            Err(e) => format!("error: {}\n", e.message),
        };
        if actual != expected {
            failures.push(format!(
                "{}:\n--- expected\n{expected}--- actual\n{actual}",
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn err_fixtures_name_the_file_line_and_column() {
    let mut failures = Vec::new();
    for path in fixtures("err") {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let actual = match parse_header(&name, &source) {
            Ok(header) => format!("parsed: {header:?}\n"),
            Err(e) => format!("{}\n", e.message),
        };
        let snapshot = path.with_extension("err");
        if std::env::var_os("AURORA_BLESS").is_some() {
            std::fs::write(&snapshot, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if actual != expected {
            failures.push(format!(
                "{name}:\n--- expected\n{expected}--- actual\n{actual}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
