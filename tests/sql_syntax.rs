//! The Python grammar parses every revision file of the conformance corpus.

use aurora::syntax::body::{parse_module, StmtKind};
use std::path::Path;

#[test]
fn corpus_revisions_parse_completely() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/cases");
    let mut problems = Vec::new();
    let mut files = 0;
    for case in std::fs::read_dir(&cases).expect("cases folder") {
        let versions = case.expect("entry").path().join("project/alembic/versions");
        let Ok(entries) = std::fs::read_dir(&versions) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("py") {
                continue;
            }
            let src = std::fs::read_to_string(&path).expect("read");
            files += 1;
            if let Err(e) = parse_module(&src) {
                problems.push(format!("{}: {e}", path.display()));
            }
        }
    }
    assert!(files > 100, "found only {files} revision files");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn nests_blocks_and_keeps_spans() {
    let src = "def upgrade():\n    x = [1, (2,), {'a': b'z'}]\n    if x:\n        pass\n    elif y:\n        pass\n    else:\n        op.f('a' \"b\")\n";
    let m = parse_module(src).unwrap();
    assert_eq!(m.body.len(), 1);
    let StmtKind::FunctionDef(def) = &m.body[0].kind else {
        panic!("{:?}", m.body[0])
    };
    assert_eq!(def.name, "upgrade");
    assert_eq!(def.body.len(), 2);
    assert_eq!(
        &src[def.body[0].span.start..def.body[0].span.end],
        "x = [1, (2,), {'a': b'z'}]"
    );
    let StmtKind::If { orelse, .. } = &def.body[1].kind else {
        panic!()
    };
    let StmtKind::If { orelse: inner, .. } = &orelse[0].kind else {
        panic!()
    };
    assert_eq!(inner.len(), 1);
}
