//! Files aurora writes load in Python Alembic: a project made with `aurora init`, `revision`
//! (with branch labels, `--depends-on`, `--splice`) and `merge` gives the same `heads`,
//! `branches` and `history --verbose` under both programs.
//!
//! The reference is `$AURORA_REFERENCE_ALEMBIC`, else `alembic`
//! on PATH. Without one the test says on stderr that it did not run; under `CI=true` that is a
//! failure instead.

use std::path::{Path, PathBuf};
use std::process::Command;

fn reference_alembic() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AURORA_REFERENCE_ALEMBIC") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .map(|dir| Path::new(dir).join("alembic"))
        .find(|p| p.is_file())
}

fn run(program: &Path, dir: &Path, args: &[&str]) -> (i32, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
    )
}

/// Python prints the items of `Branches into:` and `Branch names:` from a set, in an order
/// that varies between runs; sort them, as the conformance checker does.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let prefix = ["Branches into: ", "Branch names: "]
            .into_iter()
            .find(|p| line.starts_with(p));
        match prefix {
            Some(prefix) => {
                let mut items: Vec<&str> = line[prefix.len()..].trim_end().split(", ").collect();
                items.sort_unstable();
                out.push_str(&format!("{prefix}{}\n", items.join(", ")));
            }
            None => out.push_str(line),
        }
    }
    out
}

#[test]
fn aurora_written_revisions_load_in_python_alembic() {
    let Some(alembic) = reference_alembic() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no reference alembic found (set AURORA_REFERENCE_ALEMBIC)"
        );
        eprintln!("aurora_written_revisions_load_in_python_alembic: NOT RUN, no reference alembic");
        return;
    };
    let aurora = Path::new(env!("CARGO_BIN_EXE_aurora"));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let steps: &[&[&str]] = &[
        &["init", "migrations"],
        &["revision", "-m", "create users", "--rev-id", "a1b2c3d4e5f6"],
        &["revision", "-m", "add email", "--rev-id", "b2c3d4e5f6a1"],
        &[
            "revision",
            "-m",
            "side branch",
            "--rev-id",
            "c3d4e5f6a1b2",
            "--head",
            "base",
            "--branch-label",
            "side",
        ],
        &[
            "revision",
            "-m",
            "fix: index!",
            "--rev-id",
            "d4e5f6a1b2c3",
            "--head",
            "a1b2",
            "--splice",
            "--depends-on",
            "side",
        ],
        &[
            "merge",
            "-m",
            "merge all",
            "--rev-id",
            "e5f6a1b2c3d4",
            "heads",
        ],
        &[
            "revision",
            "--rev-id",
            "f6a1b2c3d4e5",
            "--head",
            "e5f6",
            "--depends-on",
            "b2c3",
        ],
    ];
    for args in steps {
        let (code, stdout) = run(aurora, &root, args);
        assert_eq!(code, 0, "aurora {args:?}: {stdout}");
    }
    for args in [
        &["heads", "--verbose"][..],
        &["branches"],
        &["history"],
        &["history", "--verbose"],
        &["history", "-r", "side@base:heads"],
        &["show", "e5f6"],
    ] {
        let (aurora_code, aurora_out) = run(aurora, &root, args);
        let (alembic_code, alembic_out) = run(&alembic, &root, args);
        assert_eq!(aurora_code, 0, "aurora {args:?}");
        assert_eq!(alembic_code, 0, "alembic {args:?}: {alembic_out}");
        let (mut ours, mut theirs) = (normalise(&aurora_out), normalise(&alembic_out));
        if args[0] == "branches" {
            // The children of a branch point come from a set too: compare the lines sorted.
            let sorted = |t: &str| {
                let mut lines: Vec<&str> = t.lines().collect();
                lines.sort_unstable();
                lines.join("\n")
            };
            (ours, theirs) = (sorted(&ours), sorted(&theirs));
        }
        assert_eq!(ours, theirs, "{args:?}");
    }
    let (_, history) = run(&alembic, &root, &["history"]);
    assert!(
        history.starts_with("e5f6a1b2c3d4 (b2c3d4e5f6a1) -> f6a1b2c3d4e5 (head), empty message\n")
    );
    assert!(
        history.contains("b2c3d4e5f6a1, d4e5f6a1b2c3 -> e5f6a1b2c3d4 (mergepoint), merge all\n"),
        "{history}"
    );
}
