//! env.py is run as Alembic runs it: the original guide's snippet
//! (`config.set_main_option('sqlalchemy.url', os.getenv('DATABASE_URL', ...))`)
//! picks the database, code aurora cannot evaluate stops the command with
//! `file:line:col` before any database is opened, and the `[aurora]` ini
//! section replaces env.py when asked.

use std::path::Path;
use std::process::Command;

const GENERIC_ENV: &str = include_str!("../assets/init/generic/env.py");

const REVISION: &str = r#""""create widgets

Revision ID: a1
Revises:
Create Date: 2024-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'a1'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('widgets', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table('widgets')
"#;

/// The snippet of the original user guide, verbatim.
const GUIDE_SNIPPET: &str = "import os\nconfig.set_main_option(\n    'sqlalchemy.url',\n    os.getenv('DATABASE_URL', config.get_main_option('sqlalchemy.url'))\n)\n";

fn project(env_py: &str, ini_extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join("alembic.ini"),
        format!(
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = sqlite:///./ini.db\n\n{ini_extra}\n\n{}",
            include_str!("fixtures/logging.ini")
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("alembic/versions")).unwrap();
    std::fs::write(root.join("alembic/env.py"), env_py).unwrap();
    std::fs::write(root.join("alembic/versions/a1_create_widgets.py"), REVISION).unwrap();
    dir
}

fn aurora(dir: &Path, args: &[&str], env: &[(&str, Option<&str>)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aurora"));
    command.args(args).current_dir(dir);
    command.env_remove("DATABASE_URL").env_remove("AURORA_URL");
    for (k, v) in env {
        match v {
            Some(v) => command.env(k, v),
            None => command.env_remove(k),
        };
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn versions(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT version_num FROM alembic_version")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

fn with_guide_snippet() -> String {
    GENERIC_ENV.replacen(
        "config = context.config\n",
        &format!("config = context.config\n{GUIDE_SNIPPET}"),
        1,
    )
}

#[test]
fn the_guide_snippet_reads_database_url() {
    let env_py = with_guide_snippet();
    assert!(
        env_py.contains(GUIDE_SNIPPET),
        "the generic env.py has `config = context.config`"
    );
    let dir = project(&env_py, "");
    let root = dir.path();

    let (code, _, stderr) = aurora(
        root,
        &["upgrade", "head"],
        &[("DATABASE_URL", Some("sqlite:///./from_env.db"))],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(versions(&root.join("from_env.db")), ["a1"]);
    assert!(
        !root.join("ini.db").exists(),
        "the ini URL must not be used"
    );

    // Without DATABASE_URL the snippet falls back to the ini URL.
    let (code, stdout, stderr) = aurora(root, &["current"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert!(root.join("ini.db").exists());

    let (code, stdout, _) = aurora(
        root,
        &["current"],
        &[("DATABASE_URL", Some("sqlite:///./from_env.db"))],
    );
    assert_eq!(code, 0);
    assert_eq!(stdout, "a1 (head)\n");
}

#[test]
fn offline_mode_uses_the_url_env_py_computes() {
    let dir = project(&with_guide_snippet(), "");
    let (code, stdout, stderr) = aurora(
        dir.path(),
        &["upgrade", "head", "--sql"],
        &[("DATABASE_URL", Some("postgresql://u@localhost/db"))],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("BEGIN;\n"),
        "PostgreSQL output: {stdout}"
    );
    assert!(stderr.contains("PostgresqlImpl"), "{stderr}");
}

#[test]
fn code_aurora_cannot_evaluate_stops_before_the_database_is_opened() {
    // A complex number is outside what aurora evaluates.
    let env_py = GENERIC_ENV.replacen(
        "config = context.config\n",
        "config = context.config\nscale = 2j\n",
        1,
    );
    let dir = project(&env_py, "");
    let (code, stdout, stderr) = aurora(dir.path(), &["upgrade", "head"], &[]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    let line = env_py
        .lines()
        .position(|l| l.contains("2j"))
        .map(|i| i + 1)
        .unwrap();
    assert!(
        stderr.contains(&format!("env.py:{line}:1: aurora cannot evaluate")),
        "{stderr}"
    );
    assert!(
        stderr.contains("[aurora]"),
        "the message names the escape hatch: {stderr}"
    );
    assert!(
        !dir.path().join("ini.db").exists(),
        "no database may be opened"
    );
}

#[test]
fn a_python_exception_in_env_py_is_one_line_with_its_location() {
    let env_py = GENERIC_ENV.replacen(
        "config = context.config\n",
        "config = context.config\nimport os\nconfig.set_main_option('sqlalchemy.url', os.environ['NO_SUCH_VARIABLE_X'])\n",
        1,
    );
    let dir = project(&env_py, "");
    let (code, _, stderr) = aurora(dir.path(), &["upgrade", "head"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("KeyError: 'NO_SUCH_VARIABLE_X'"),
        "{stderr}"
    );
    assert!(stderr.contains("env.py:"), "{stderr}");
    assert!(!dir.path().join("ini.db").exists());
}

#[test]
fn the_aurora_section_replaces_env_py() {
    let dir = project(
        "raise RuntimeError('env.py must not run')\n",
        "[aurora]\nurl = sqlite:///./explicit.db\nversion_table = my_versions\n",
    );
    let root = dir.path();
    let (code, _, stderr) = aurora(root, &["upgrade", "head"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let conn = rusqlite::Connection::open(root.join("explicit.db")).unwrap();
    let v: String = conn
        .query_row("SELECT version_num FROM my_versions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "a1");

    // AURORA_URL wins over the section.
    let (code, _, stderr) = aurora(
        root,
        &["upgrade", "head"],
        &[("AURORA_URL", Some("sqlite:///./other.db"))],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(root.join("other.db").exists());
}

#[test]
fn env_py_callbacks_run_where_alembic_calls_them() {
    // on_version_apply writes through the same connection, in the step's transaction.
    let env_py = r#"
from alembic import context
from sqlalchemy import engine_from_config, pool, text

config = context.config


def record(ctx, step, heads, run_args):
    ctx.connection.execute(
        text("INSERT INTO log (rev, up) VALUES (:rev, :up)"),
        {"rev": step.up_revision_id, "up": int(step.is_upgrade)},
    )


connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    connection.execute(text("CREATE TABLE IF NOT EXISTS log (rev VARCHAR(32), up INTEGER)"))
    connection.commit()
    context.configure(connection=connection, target_metadata=None, on_version_apply=record)
    with context.begin_transaction():
        context.run_migrations()
"#;
    let dir = project(env_py, "");
    let root = dir.path();
    let (code, _, stderr) = aurora(root, &["upgrade", "head"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let conn = rusqlite::Connection::open(root.join("ini.db")).unwrap();
    let row: (String, i64) = conn
        .query_row("SELECT rev, up FROM log", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(row, ("a1".to_string(), 1));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Python calls include_name while iterating sets of reflected names, so
/// the order of its calls varies between runs; compare the lines sorted.
fn sorted_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// `include_name(name, type_, parent_names)` is called where Alembic's
/// `run_name_filters` is (the default schema, each reflected table, then
/// the columns and indexes of the tables the models have, with the same
/// parent names), and a rejected name counts as absent from the database:
/// the table `legacy` and the column `extra` are not dropped, while the
/// index on `extra` still is (measured with Alembic 1.20.1).
#[test]
fn include_name_filters_the_reflected_names_as_alembic_does() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/env_py/include_name");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture, dir.path());
    let (code, _, stderr) = aurora(dir.path(), &["upgrade", "head"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = aurora(dir.path(), &["check"], &[]);
    assert_eq!(code, 255, "{stderr}");
    let expected = "include_name None schema []\n\
        include_name 'legacy' table [('schema_name', None), ('schema_qualified_table_name', 'legacy')]\n\
        include_name 'widgets' table [('schema_name', None), ('schema_qualified_table_name', 'widgets')]\n\
        include_name 'id' column [('schema_name', None), ('schema_qualified_table_name', 'widgets'), ('table_name', 'widgets')]\n\
        include_name 'extra' column [('schema_name', None), ('schema_qualified_table_name', 'widgets'), ('table_name', 'widgets')]\n\
        include_name 'ix_widgets_extra' index [('schema_name', None), ('schema_qualified_table_name', 'widgets'), ('table_name', 'widgets')]\n\
        FAILED: New upgrade operations detected: [('add_table', Table('gadgets', MetaData(), \
        Column('id', Integer(), table=<gadgets>, primary_key=True, nullable=False), \
        Column('name', String(length=20), table=<gadgets>), schema=None)), \
        ('remove_index', Index('ix_widgets_extra', Column('extra', INTEGER(), table=<widgets>)))]\n";
    assert_eq!(sorted_lines(&stdout), sorted_lines(expected), "{stdout}");
    if let Some(alembic) = std::env::var_os("AURORA_REFERENCE_ALEMBIC") {
        let reference = tempfile::tempdir().unwrap();
        copy_dir(&fixture, reference.path());
        let run = |args: &[&str]| {
            Command::new(&alembic)
                .args(args)
                .current_dir(reference.path())
                .output()
                .unwrap()
        };
        assert!(
            run(&["upgrade", "head"]).status.success(),
            "reference alembic failed"
        );
        let output = run(&["check"]);
        assert_eq!(output.status.code(), Some(255));
        assert_eq!(
            sorted_lines(&String::from_utf8(output.stdout).unwrap()),
            sorted_lines(&stdout)
        );
    }
}

/// `[aurora] models = models.py` runs that file as a Python module and reads
/// the MetaData it reaches; an error in it names its file:line:col.
#[test]
fn the_aurora_models_option_runs_the_models_file() {
    let dir = project(
        GENERIC_ENV,
        "[aurora]\nurl = sqlite:///./ini.db\nmodels = models.py\n",
    );
    let root = dir.path();
    std::fs::write(
        root.join("models.py"),
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n\n\
         widgets = sa.Table('widgets', metadata, sa.Column('id', sa.Integer, primary_key=True))\n\
         gadgets = sa.Table('gadgets', metadata, sa.Column('id', sa.Integer, primary_key=True))\n",
    )
    .unwrap();
    let (code, _, stderr) = aurora(root, &["upgrade", "head"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = aurora(root, &["check"], &[]);
    assert_eq!(code, 255, "{stderr}");
    assert!(
        stdout.contains(
            "FAILED: New upgrade operations detected: [('add_table', Table('gadgets', MetaData(), "
        ),
        "{stdout}"
    );
    std::fs::write(
        root.join("models.py"),
        "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\nx = sa.Table('t', metadata, sa.Column('id', sa.Geometry))\n",
    )
    .unwrap();
    let (code, stdout, stderr) = aurora(root, &["check"], &[]);
    assert_eq!(code, 255, "{stdout}{stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("models.py:4:"), "{all}");
}

/// Flask-Migrate's env.py reads the URL and the metadata from Flask's `current_app`, which
/// aurora's interpreter cannot import: a refusal naming the import's file:line:col and the
/// `[aurora]` escape hatch, before any database is opened; with the section it runs.
#[test]
fn flask_migrate_env_py_is_refused_with_the_escape_hatch() {
    let env_py = include_str!("fixtures/env_py/flask_migrate/env.py");
    let dir = project(env_py, "");
    let (code, stdout, stderr) = aurora(dir.path(), &["upgrade", "head"], &[]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.contains("env.py:4:1: ModuleNotFoundError: No module named 'flask'"),
        "{stderr}"
    );
    assert!(stderr.contains("current_app"), "{stderr}");
    assert!(stderr.contains("[aurora]"), "{stderr}");
    assert!(!dir.path().join("ini.db").exists());

    let dir = project(env_py, "[aurora]\nurl = sqlite:///./explicit.db\n");
    let (code, _, stderr) = aurora(dir.path(), &["upgrade", "head"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(dir.path().join("explicit.db").exists());
}
