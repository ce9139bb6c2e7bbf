//! The header and SQL cache never serves stale results: a file edited since
//! it was cached is read again, and a fresh cache gives the same output as no
//! cache at all.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

fn revision(id: &str, down: Option<&str>, message: &str) -> String {
    let down = down
        .map(|d| format!("'{d}'"))
        .unwrap_or_else(|| "None".to_string());
    format!(
        "\"\"\"{message}\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = '{id}'\ndown_revision = {down}\n\n\n\
         def upgrade():\n    op.create_table('t_{id}', sa.Column('id', sa.Integer(), primary_key=True))\n\n\n\
         def downgrade():\n    op.drop_table('t_{id}')\n"
    )
}

/// Writes a file whose modification time lies an hour in the past, so the
/// cache accepts it.
fn write_old(path: &Path, text: &str, age: Duration) {
    std::fs::write(path, text).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

fn run(dir: &Path, cache: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(args)
        .current_dir(dir)
        .env("AURORA_CACHE_DIR", cache)
        .env_remove("AURORA_NO_CACHE")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn edited_files_are_read_again() {
    let project = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let versions = project.path().join("alembic/versions");
    std::fs::create_dir_all(&versions).unwrap();
    std::fs::write(
        project.path().join("alembic/env.py"),
        include_str!("../assets/init/generic/env.py"),
    )
    .unwrap();
    std::fs::write(
        project.path().join("alembic.ini"),
        format!(
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./t.db\n\n{}",
            include_str!("fixtures/logging.ini")
        ),
    )
    .unwrap();
    let hour = Duration::from_secs(3600);
    write_old(
        &versions.join("aaaa1111_a.py"),
        &revision("aaaa1111", None, "first"),
        hour,
    );
    write_old(
        &versions.join("bbbb2222_b.py"),
        &revision("bbbb2222", Some("aaaa1111"), "second"),
        hour,
    );

    let history = run(project.path(), cache.path(), &["history"]);
    assert_eq!(
        history,
        "aaaa1111 -> bbbb2222 (head), second\n<base> -> aaaa1111, first\n"
    );
    let sql = run(project.path(), cache.path(), &["upgrade", "head", "--sql"]);
    assert!(
        std::fs::read_dir(cache.path()).unwrap().count() >= 2,
        "the cache was written"
    );
    // Served from the cache: the same bytes.
    assert_eq!(run(project.path(), cache.path(), &["history"]), history);
    assert_eq!(
        run(project.path(), cache.path(), &["upgrade", "head", "--sql"]),
        sql
    );

    // Edit the second revision (new message, new table) with another old timestamp.
    write_old(
        &versions.join("bbbb2222_b.py"),
        &revision("bbbb2222", Some("aaaa1111"), "second, edited").replace("t_bbbb2222", "t_edited"),
        hour / 2,
    );
    assert_eq!(
        run(project.path(), cache.path(), &["history"]),
        "aaaa1111 -> bbbb2222 (head), second, edited\n<base> -> aaaa1111, first\n"
    );
    let edited_sql = run(project.path(), cache.path(), &["upgrade", "head", "--sql"]);
    assert!(edited_sql.contains("CREATE TABLE t_edited"), "{edited_sql}");
    assert!(!edited_sql.contains("t_bbbb2222"), "{edited_sql}");

    // A run without any cache agrees.
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["upgrade", "head", "--sql"])
        .current_dir(project.path())
        .env("AURORA_NO_CACHE", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), edited_sql);
}
