//! Revision bodies outside the migration language: each file under
//! `tests/fixtures/sql/err/` must fail to lower with exactly the message in
//! the `.err` file beside it; files under `ok/` must lower and render for
//! both dialects, twice, to the same SQL. `AURORA_WRITE_ERR=1` rewrites the
//! `.err` snapshots.

use aurora::ops::parse_migration;
use aurora::sql::{render_ops, Dialect};
use std::path::{Path, PathBuf};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sql")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("py"))
        .collect();
    files.sort();
    files
}

#[test]
fn err_fixtures_report_file_line_col_and_construct() {
    let files = fixtures("err");
    assert!(!files.is_empty());
    for path in files {
        let src = std::fs::read_to_string(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let shown = Path::new("versions").join(name);
        let err = parse_migration(&shown, &src).expect_err(name);
        let text = format!("{err}\n");
        let snap = path.with_extension("err");
        if std::env::var("AURORA_WRITE_ERR").is_ok() {
            std::fs::write(&snap, &text).expect("write");
            continue;
        }
        let want = std::fs::read_to_string(&snap).expect("snapshot");
        assert_eq!(text, want, "{name}");
        // The caret snippet names the same place.
        let first = &err.problems[0];
        assert!(
            err.snippets()
                .contains(&format!("{}:{}", first.line, first.col)),
            "{}",
            err.snippets()
        );
    }
}

#[test]
fn ok_fixtures_render_deterministically() {
    let files = fixtures("ok");
    assert!(!files.is_empty());
    for path in files {
        let src = std::fs::read_to_string(&path).expect("read");
        let m = parse_migration(&path, &src).unwrap_or_else(|e| panic!("{e}"));
        assert!(!m.upgrade.is_empty(), "{}", path.display());
        for d in [Dialect::Sqlite, Dialect::Postgresql] {
            let a = render_ops(&m.upgrade, d, None).expect("render");
            let b = render_ops(
                &parse_migration(&path, &src).expect("again").upgrade,
                d,
                None,
            )
            .expect("render");
            assert_eq!(a, b);
        }
    }
}
