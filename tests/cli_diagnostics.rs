//! `AURORA_LOG=debug`: aurora's own timings per phase on stderr, after everything Alembic
//! would print, and nothing else changed. Unset, nothing is added; an unknown value stops
//! the command before it runs.

use std::path::Path;
use std::process::Command;

const REVISION: &str = "\"\"\"add note\"\"\"\nrevision = 'aaaa1111'\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n\nfrom alembic import op\nimport sqlalchemy as sa\n\n\ndef upgrade():\n    op.create_table('note', sa.Column('id', sa.Integer(), primary_key=True))\n\n\ndef downgrade():\n    op.drop_table('note')\n";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("m/versions")).unwrap();
    std::fs::write(
        root.join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s/m\nsqlalchemy.url = sqlite:///%(here)s/t.db\n",
    )
    .unwrap();
    std::fs::write(
        root.join("m/env.py"),
        include_str!("../assets/init/generic/env.py").replace(
            "if config.config_file_name is not None:\n    fileConfig(config.config_file_name)\n",
            "",
        ),
    )
    .unwrap();
    std::fs::write(root.join("m/versions/aaaa1111_note.py"), REVISION).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str], log: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aurora"));
    command
        .args(args)
        .current_dir(dir)
        .env_remove("ALEMBIC_CONFIG")
        .env_remove("DATABASE_URL")
        .env("AURORA_CACHE_DIR", dir.join("cache"));
    match log {
        Some(value) => command.env("AURORA_LOG", value),
        None => command.env_remove("AURORA_LOG"),
    };
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The phase names in the order the report lists them.
fn phases(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("aurora: debug: "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[test]
fn debug_reports_each_phase_and_changes_nothing_else() {
    let plain = project();
    let debug = project();
    let (code, plain_out, plain_err) = run(plain.path(), &["upgrade", "head", "--sql"], None);
    assert_eq!(code, 0, "{plain_err}");
    assert!(!plain_err.contains("aurora: debug"), "{plain_err}");
    let (code, debug_out, debug_err) =
        run(debug.path(), &["upgrade", "head", "--sql"], Some("debug"));
    assert_eq!(code, 0, "{debug_err}");
    assert_eq!(debug_out, plain_out, "stdout is the same SQL");
    assert!(debug_err.starts_with(&plain_err), "{debug_err}");
    assert_eq!(
        phases(&debug_err),
        ["parse", "evaluate", "plan", "render", "total"]
    );

    // Online, the statements executed on the database are the fifth phase.
    let (code, _, err) = run(debug.path(), &["upgrade", "head"], Some("DEBUG"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        phases(&err),
        ["parse", "evaluate", "plan", "render", "execute", "total"]
    );
    let execute = err.lines().find(|l| l.contains(" execute ")).unwrap();
    assert!(execute.ends_with(" calls)"), "{execute}");

    // Off means off.
    let (_, _, err) = run(debug.path(), &["current"], Some("off"));
    assert!(!err.contains("aurora: debug"), "{err}");
}

#[test]
fn an_unknown_level_stops_before_anything_runs() {
    let p = project();
    let (code, out, err) = run(p.path(), &["upgrade", "head"], Some("verbose"));
    assert_eq!(code, 2);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "aurora: error: AURORA_LOG=\"verbose\" is not a level aurora knows; use AURORA_LOG=debug \
         for timings per phase, or leave it unset\n"
    );
    assert!(!p.path().join("t.db").exists(), "nothing may run");
}
