//! Offline runs through the real binary: a body is parsed only when its SQL
//! is needed, and a construct outside aurora's language names file:line:col.

use std::process::Command;

const REVISION: &str = r#""""add accounts"""
from alembic import op
import sqlalchemy as sa

revision = 'aaaa1111'
down_revision = None


def upgrade():
    op.create_table('accounts', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade():
    while True:
        op.drop_table('accounts')
"#;

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(args)
        .current_dir(dir)
        .env("AURORA_NO_CACHE", "1")
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn only_the_function_a_run_needs_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("alembic/versions")).unwrap();
    std::fs::write(
        dir.path().join("alembic/env.py"),
        include_str!("../assets/init/generic/env.py"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alembic.ini"),
        format!(
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./t.db\n\n{}",
            include_str!("fixtures/logging.ini")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alembic/versions/aaaa1111_add.py"),
        REVISION,
    )
    .unwrap();

    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(
            "CREATE TABLE accounts (\n    id INTEGER NOT NULL, \n    PRIMARY KEY (id)\n);\n"
        ),
        "{stdout}"
    );
    assert!(stdout.ends_with("INSERT INTO alembic_version (version_num) VALUES ('aaaa1111') RETURNING version_num;\n\n"), "{stdout}");

    let (code, stdout, _) = run(dir.path(), &["downgrade", "aaaa1111:base", "--sql"]);
    assert_eq!(code, 255);
    assert!(
        stdout.contains("-- Running downgrade aaaa1111 -> \n\n"),
        "{stdout}"
    );
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("FAILED: "))
        .expect("a FAILED line");
    assert!(failed.contains("aaaa1111_add.py:14:5"), "{failed}");
    assert!(failed.contains("while loop"), "{failed}");

    // Graph commands never read bodies.
    let (code, stdout, _) = run(dir.path(), &["history"]);
    assert_eq!(
        (code, stdout.as_str()),
        (0, "<base> -> aaaa1111 (head), add accounts\n")
    );
}
