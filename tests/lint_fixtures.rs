//! `aurora lint` over `tests/fixtures/lint/<rule>/{ok,err}`: each folder is a
//! project (a base revision creating `users` and `orgs`, and one revision
//! doing what the folder is about). Each is linted on PostgreSQL and on
//! SQLite; the output and exit status are compared with `expected.txt`
//! beside it (`UPDATE_SNAPSHOTS=1` rewrites them). Besides the snapshot,
//! an `err` folder must report its rule on some dialect and an `ok` folder
//! on none.

use std::path::Path;
use std::process::Command;

fn lint(dir: &Path, dialect: &str) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["lint", "--dialect", dialect])
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("ALEMBIC_CONFIG")
        .output()
        .expect("run aurora");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (text, out.status.code().unwrap_or(-1))
}

#[test]
fn lint_fixtures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint");
    let mut rules: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    rules.sort();
    assert!(rules.len() >= 15, "fixture folders missing");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut failures = Vec::new();
    for rule_dir in rules {
        let rule = rule_dir.file_name().unwrap().to_string_lossy().into_owned();
        for kind in ["err", "ok"] {
            let dir = rule_dir.join(kind);
            let mut actual = String::new();
            let mut fired = false;
            for dialect in ["postgresql", "sqlite"] {
                let (text, code) = lint(&dir, dialect);
                fired |= text.contains(&format!("[{rule}]"));
                actual.push_str(&format!("== {dialect} (exit {code})\n{text}"));
            }
            if kind == "err" && !fired {
                failures.push(format!("{rule}/err: rule did not fire\n{actual}"));
            }
            if kind == "ok" && fired {
                failures.push(format!("{rule}/ok: rule fired\n{actual}"));
            }
            let expected_path = dir.join("expected.txt");
            if update {
                std::fs::write(&expected_path, &actual).unwrap();
                continue;
            }
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if expected != actual {
                failures.push(format!(
                    "{rule}/{kind}: output differs from expected.txt\n--- expected\n{expected}--- actual\n{actual}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A copy of one fixture project with `sqlalchemy.url` pointing at an
/// SQLite file in it.
fn project_with_url(fixture: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lint")
        .join(fixture);
    std::fs::create_dir(tmp.path().join("versions")).unwrap();
    for name in ["versions/r0_base.py", "versions/r1_change.py"] {
        std::fs::copy(src.join(name), tmp.path().join(name)).unwrap();
    }
    let ini = std::fs::read_to_string(src.join("alembic.ini")).unwrap();
    std::fs::write(
        tmp.path().join("alembic.ini"),
        ini.replacen(
            "[alembic]\n",
            "[alembic]\nsqlalchemy.url = sqlite:///t.db\n",
            1,
        ),
    )
    .unwrap();
    tmp
}

fn aurora(dir: &Path, args: &[&str]) -> (String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (text, out.status.code().unwrap_or(-1))
}

fn version_table(dir: &Path, heads: &[&str]) {
    let conn = rusqlite::Connection::open(dir.join("t.db")).unwrap();
    conn.execute_batch(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)",
    )
    .unwrap();
    for head in heads {
        conn.execute("INSERT INTO alembic_version VALUES (?1)", [head])
            .unwrap();
    }
}

#[test]
fn default_range_follows_the_database() {
    // Database at r0: only r1 is linted, and `users` exists.
    let tmp = project_with_url("adding-not-nullable-field/err");
    version_table(tmp.path(), &["r0"]);
    let (text, code) = aurora(tmp.path(), &["lint", "--format", "json"]);
    assert_eq!(code, 255, "{text}");
    assert!(
        text.contains("\"rule\": \"adding-not-nullable-field\""),
        "{text}"
    );
    assert!(text.contains("\"revision\": \"r1\""), "{text}");
    // An empty version table: r0 creates `users` in the linted range, so
    // adding a NOT NULL column to it in r1 locks no existing table.
    let tmp = project_with_url("adding-not-nullable-field/err");
    version_table(tmp.path(), &[]);
    let (text, code) = aurora(tmp.path(), &["lint"]);
    assert_eq!((text.as_str(), code), ("", 0));
    // Everything applied: nothing to lint.
    let tmp = project_with_url("adding-not-nullable-field/err");
    version_table(tmp.path(), &["r1"]);
    assert_eq!(aurora(tmp.path(), &["lint"]), (String::new(), 0));
}

#[test]
fn upgrade_lint_refuses_before_touching_the_database() {
    let tmp = project_with_url("adding-not-nullable-field/err");
    let (text, code) = aurora(tmp.path(), &["upgrade", "head", "--lint"]);
    assert_eq!(code, 255, "{text}");
    assert!(text.contains("error[adding-not-nullable-field]"), "{text}");
    assert!(!tmp.path().join("t.db").exists(), "the upgrade ran");
}

#[test]
fn github_format_and_settings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/ban-drop-table/err");
    let (text, code) = aurora(
        &dir,
        &["lint", "--dialect", "postgresql", "--format", "github"],
    );
    assert_eq!(code, 0);
    assert!(
        text.starts_with(
            "::warning file=versions/r1_change.py,line=12,col=5,title=ban-drop-table::"
        ),
        "{text}"
    );
    // `[aurora.lint] ban-drop-table = error` makes it fail the run.
    let tmp = project_with_url("ban-drop-table/err");
    let ini = tmp.path().join("alembic.ini");
    let text = std::fs::read_to_string(&ini).unwrap() + "\n[aurora.lint]\nban-drop-table = error\n";
    std::fs::write(&ini, text).unwrap();
    let (text, code) = aurora(tmp.path(), &["lint", "--dialect", "postgresql"]);
    assert_eq!(code, 255, "{text}");
    assert!(text.contains("error[ban-drop-table]"), "{text}");
    // `[tool.aurora.lint]` of pyproject.toml turns it off.
    std::fs::write(
        tmp.path().join("pyproject.toml"),
        "[tool.aurora.lint]\ndisable = [\"ban-drop-table\"]\n",
    )
    .unwrap();
    let (text, code) = aurora(tmp.path(), &["lint", "--dialect", "postgresql"]);
    assert_eq!((text.as_str(), code), ("", 0));
    // An unknown rule is an error, not ignored.
    std::fs::write(
        tmp.path().join("pyproject.toml"),
        "[tool.aurora.lint]\nenable = [\"no-such-rule\"]\n",
    )
    .unwrap();
    let (text, code) = aurora(tmp.path(), &["lint"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("unknown rule 'no-such-rule'"), "{text}");
}
