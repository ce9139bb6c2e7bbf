//! Revisions that use the project's own Python: helper modules found on
//! `prepend_sys_path`, headers computed from a module constant, plugin
//! operations. Every fixture here is synthetic.

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
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

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A project whose package `app` holds the migrations and two helpers: one
/// with a constant next to an import of a library aurora cannot run, one
/// with a function that reads the configuration.
fn project(extra_ini: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "alembic.ini",
        &format!(
            "[alembic]\nscript_location = %(here)s/app/migrations\nprepend_sys_path = .\npath_separator = os\nsqlalchemy.url = postgresql://u@localhost/db\n{extra_ini}"
        ),
    );
    write(d, "app/__init__.py", "");
    write(d, "app/migrations/__init__.py", "");
    // A generic env.py (Alembic needs one to run anything).
    write(
        d,
        "app/migrations/env.py",
        include_str!("fixtures/recorded/_template/env.py"),
    );
    write(
        d,
        "app/cli.py",
        "import some_unavailable_library\nfrom some_unavailable_library import thing\n\nMAIN = 'main'\nLABELS = (MAIN + '_branch',)\n\ndef uses_library():\n    return thing.x\n",
    );
    write(
        d,
        "app/helpers.py",
        "def skip_legacy(op, filename):\n    version = op.get_context().config.get_main_option('legacy_version')\n    if version:\n        return int(version) >= int(filename.split('_', 1)[0])\n    return False\n",
    );
    write(
        d,
        "app/migrations/versions/001_aaaa_first.py",
        r#""""first"""
from alembic import op
import sqlalchemy as sa
from app import cli
from app.helpers import skip_legacy

revision = 'aaaa'
down_revision = None
branch_labels = cli.LABELS
depends_on = None


def upgrade():
    if skip_legacy(op, __name__):
        return
    for name in reversed(['a', 'b']):
        op.create_table(f"t_{name}", sa.Column('id', sa.Integer(), primary_key=True))


def downgrade():
    try:
        op.drop_table('t_a'.replace('a', 'b'))
    except Exception:
        op.drop_table('never')
"#,
    );
    dir
}

#[test]
fn header_computed_from_a_project_module_constant() {
    let dir = project("");
    let (code, stdout, stderr) = run(dir.path(), &["heads"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "aaaa (main_branch) (head)\n");
}

#[test]
fn helper_functions_builtins_and_fstrings_run() {
    let dir = project("");
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "aaaa", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    let b = stdout.find("CREATE TABLE t_b").expect(&stdout);
    let a = stdout.find("CREATE TABLE t_a").expect(&stdout);
    assert!(b < a, "reversed() order: {stdout}");

    let (code, stdout, stderr) = run(dir.path(), &["downgrade", "aaaa:base", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("DROP TABLE t_b;"), "{stdout}");
    assert!(!stdout.contains("never"), "{stdout}");
}

#[test]
fn sync_enum_values_renders_the_plugin_sql() {
    let dir = project("");
    write(
        dir.path(),
        "app/migrations/versions/002_bbbb_second.py",
        r#"from alembic import op
from alembic_postgresql_enum import TableReference

revision = 'bbbb'
down_revision = 'aaaa'


def upgrade():
    op.sync_enum_values(
        enum_schema="public",
        enum_name="mood",
        new_values=["ok", "fine"],
        affected_columns=[TableReference(table_schema="public", table_name="people", column_name="mood")],
        enum_values_to_rename=[],
    )


def downgrade():
    pass
"#,
    );
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "aaaa:bbbb", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("ALTER TYPE \"public\".\"mood\" RENAME TO \"mood_old\";\n\nCREATE TYPE \"public\".\"mood\" AS ENUM('ok', 'fine');\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ALTER TABLE \"public\".\"people\" \n                ALTER COLUMN \"mood\" TYPE \"public\".\"mood\" \n                USING \"mood\"::text::\"public\".\"mood\";\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DROP TYPE \"public\".\"mood_old\";\n"),
        "{stdout}"
    );
}

/// A project type module in the style of mealie's `GUID`: a `TypeDecorator`
/// whose DDL type comes from `load_dialect_impl()`, per dialect.
fn guid_project(url: &str, call: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "alembic.ini",
        &format!("[alembic]\nscript_location = %(here)s/app/migrations\nprepend_sys_path = .\npath_separator = os\nsqlalchemy.url = {url}\n"),
    );
    write(d, "app/__init__.py", "");
    write(d, "app/migrations/__init__.py", "");
    write(
        d,
        "app/migrations/env.py",
        include_str!("fixtures/recorded/_template/env.py"),
    );
    write(
        d,
        "app/guid.py",
        r#"import uuid

import sqlalchemy.types
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.types import CHAR, TypeDecorator


class GUID(TypeDecorator):
    impl = CHAR
    cache_ok = True

    @staticmethod
    def generate():
        return uuid.uuid4()

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(UUID())
        else:
            return dialect.type_descriptor(CHAR(32))


def SmallInteger():
    return sqlalchemy.types.SmallInteger()
"#,
    );
    write(
        d,
        "app/migrations/versions/a1_rev.py",
        &format!(
            r#"from alembic import op
import sqlalchemy as sa
from app.guid import GUID, SmallInteger

revision = 'a1'
down_revision = None


def upgrade():
    op.create_table('things', sa.Column('id', {call}, nullable=False), sa.Column('owner_id', GUID), sa.Column('n', sa.BigInteger().with_variant(SmallInteger, 'sqlite')))


def downgrade():
    pass
"#
        ),
    );
    dir
}

#[test]
fn type_decorator_load_dialect_impl_gives_the_ddl_type_per_dialect() {
    // What the reference Alembic prints for the same project.
    for (url, ddl) in [
        (
            "postgresql://u@localhost/db",
            "CREATE TABLE things (\n    id UUID NOT NULL, \n    owner_id UUID, \n    n BIGINT\n);",
        ),
        (
            "sqlite:///./x.db",
            "CREATE TABLE things (\n    id CHAR(32) NOT NULL, \n    owner_id CHAR(32), \n    n SMALLINT\n);",
        ),
    ] {
        let dir = guid_project(url, "GUID()");
        let (code, stdout, stderr) = run(dir.path(), &["upgrade", "a1", "--sql"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains(ddl), "{url}: {stdout}");
    }
    // Arguments would go to `impl`: refused rather than dropped.
    let dir = guid_project("postgresql://u@localhost/db", "GUID(16)");
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "a1", "--sql"]);
    assert_ne!(code, 0);
    let out = stdout + &stderr;
    assert!(
        out.contains("a1_rev.py:10:47: arguments to a TypeDecorator that defines load_dialect_impl() are not supported"),
        "{out}"
    );
}
