//! Every template `list_templates` lists (generic, async, multidb, pyproject, pyproject_async)
//! runs its own env.py under aurora as under the real Alembic: `aurora init -t <template>` and
//! `alembic init -t <template>`, the same revision, then `upgrade head`, `current`,
//! `downgrade base` and `upgrade head --sql` on SQLite give the same exit codes, output,
//! `alembic_version` rows and schema.
//!
//! The reference is `$AURORA_REFERENCE_ALEMBIC`, else `alembic` on PATH. Without one the test
//! says on stderr that it did not run; under `CI=true` that is a failure instead, and a
//! reference that is set but does not run is always a failure. `.ci/run`'s reference venv has
//! `greenlet` and `aiosqlite` (SQLAlchemy's asyncio extra), so there every template is compared
//! with Alembic's own run of it. A local venv without them cannot run the async templates; only
//! outside CI, and only for that exact gap, do those templates get compared with what Alembic
//! gives for the generic template (same revision, same database) instead.

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

const TEMPLATES: &[&str] = &[
    "generic",
    "async",
    "multidb",
    "pyproject",
    "pyproject_async",
];

const REVISION: &str = r#""""create widgets

Revision ID: r1
Revises:
Create Date: 2024-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'r1'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('widgets', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('name', sa.String(20)))
    op.create_index('ix_widgets_name', 'widgets', ['name'])


def downgrade():
    op.drop_index('ix_widgets_name', table_name='widgets')
    op.drop_table('widgets')
"#;

const MULTIDB_REVISION: &str = r#""""create widgets and gadgets

Revision ID: r1
Revises:
Create Date: 2024-01-01 00:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = 'r1'
down_revision = None
branch_labels = None
depends_on = None


def upgrade(engine_name: str) -> None:
    globals()["upgrade_%s" % engine_name]()


def downgrade(engine_name: str) -> None:
    globals()["downgrade_%s" % engine_name]()


def upgrade_engine1() -> None:
    op.create_table('widgets', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade_engine1() -> None:
    op.drop_table('widgets')


def upgrade_engine2() -> None:
    op.create_table('gadgets', sa.Column('id', sa.Integer(), primary_key=True))


def downgrade_engine2() -> None:
    op.drop_table('gadgets')
"#;

/// What one step leaves: exit code, stdout, and every database's version rows and schema.
#[derive(Debug, PartialEq)]
struct Outcome {
    step: String,
    code: i32,
    stdout: String,
    databases: Vec<(String, Vec<String>, Vec<String>)>,
    /// The files the multidb template's offline mode writes (`engine1.sql`, ...).
    sql_files: Vec<(String, String)>,
}

fn database_state(db: &Path) -> (Vec<String>, Vec<String>) {
    if !db.exists() {
        return (Vec::new(), Vec::new());
    }
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM sqlite_master ORDER BY name")
        .unwrap();
    // Whitespace is collapsed, as the conformance checker does: SQLite keeps the DDL text as
    // executed, and aurora's online DDL indents columns with spaces where SQLAlchemy uses tabs.
    let schema: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|s| s.unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let versions = if schema
        .iter()
        .any(|s| s.starts_with("table alembic_version:"))
    {
        let mut stmt = conn
            .prepare("SELECT version_num FROM alembic_version ORDER BY version_num")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    } else {
        Vec::new()
    };
    (versions, schema)
}

/// `<program> init -t <template> migrations` in a new folder, the databases pointed at SQLite
/// files there (`sqlite+aiosqlite` for the async templates), the revision written.
fn init(program: &Path, template: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(program)
        .args(["init", "-t", template, "migrations"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{} init -t {template}: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let driver = if template.contains("async") {
        "sqlite+aiosqlite"
    } else {
        "sqlite"
    };
    let ini = dir.path().join("alembic.ini");
    let text = std::fs::read_to_string(&ini)
        .unwrap()
        .replace(
            "driver://user:pass@localhost/dbname2",
            &format!("{driver}:///./two.db"),
        )
        .replace(
            "driver://user:pass@localhost/dbname",
            &format!("{driver}:///./one.db"),
        );
    std::fs::write(&ini, text).unwrap();
    let versions = dir.path().join("migrations/versions");
    std::fs::create_dir_all(&versions).unwrap();
    let revision = if template == "multidb" {
        MULTIDB_REVISION
    } else {
        REVISION
    };
    std::fs::write(versions.join("r1_create.py"), revision).unwrap();
    dir
}

fn run_steps(program: &Path, dir: &Path, steps: &[&[&str]]) -> Vec<Outcome> {
    steps
        .iter()
        .map(|args| {
            let output = Command::new(program)
                .args(*args)
                .current_dir(dir)
                .output()
                .unwrap();
            let databases = ["one.db", "two.db"]
                .iter()
                .filter(|db| dir.join(db).exists())
                .map(|db| {
                    let (versions, schema) = database_state(&dir.join(db));
                    (db.to_string(), versions, schema)
                })
                .collect();
            let sql_files = ["engine1.sql", "engine2.sql"]
                .iter()
                .filter_map(|f| Some((f.to_string(), std::fs::read_to_string(dir.join(f)).ok()?)))
                .collect();
            Outcome {
                sql_files,
                step: args.join(" "),
                code: output.status.code().unwrap_or(-1),
                stdout: String::from_utf8(output.stdout).unwrap(),
                databases,
            }
        })
        .collect()
}

const ONLINE: &[&[&str]] = &[
    &["upgrade", "head"],
    &["current"],
    &["downgrade", "base"],
    &["current"],
    &["upgrade", "head"],
];
const OFFLINE: &[&[&str]] = &[
    &["upgrade", "head", "--sql"],
    &["downgrade", "r1:base", "--sql"],
];

#[test]
fn every_template_env_py_runs_as_under_alembic() {
    let Some(alembic) = reference_alembic() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no reference alembic found (set AURORA_REFERENCE_ALEMBIC)"
        );
        eprintln!("every_template_env_py_runs_as_under_alembic: NOT RUN, no reference alembic");
        return;
    };
    let version = Command::new(&alembic).arg("--version").output();
    assert!(
        version.as_ref().is_ok_and(|o| o.status.success()),
        "the reference alembic {} does not run: {version:?}",
        alembic.display()
    );
    let aurora = Path::new(env!("CARGO_BIN_EXE_aurora"));
    let mut generic = None;
    for template in TEMPLATES {
        let ours = init(aurora, template);
        let theirs = init(&alembic, template);
        let offline_ours = run_steps(aurora, ours.path(), OFFLINE);
        let offline_theirs = run_steps(&alembic, theirs.path(), OFFLINE);
        let sql = match offline_ours[0].sql_files.first() {
            Some((_, text)) => text,
            None => &offline_ours[0].stdout,
        };
        assert!(sql.contains("CREATE TABLE"), "{template}: {offline_ours:?}");
        let reference_can_run = offline_theirs[0].code == 0;
        if !reference_can_run {
            // Only the known gap of the reference venv may stand in the way.
            let output = Command::new(&alembic)
                .args(["upgrade", "head", "--sql"])
                .current_dir(theirs.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "under CI the reference must run every template; {template}: {stderr}"
            );
            assert!(
                template.contains("async")
                    && (stderr.contains("No module named 'aiosqlite'")
                        || stderr.contains("requires that the Python 'greenlet' library")),
                "the reference alembic failed for template {template}: {stderr}"
            );
        }
        let online_ours = run_steps(aurora, ours.path(), ONLINE);
        assert_eq!(online_ours[0].code, 0, "{template}: {online_ours:?}");
        if reference_can_run {
            assert_eq!(offline_ours, offline_theirs, "template {template}, --sql");
            let online_theirs = run_steps(&alembic, theirs.path(), ONLINE);
            assert_eq!(online_ours, online_theirs, "template {template}, online");
            if *template == "generic" {
                generic = Some((offline_theirs, online_theirs));
            }
        } else {
            // The same revision on the same database must give what Alembic gives for the
            // generic template.
            let (offline, online) = generic
                .as_ref()
                .expect("generic runs before the async templates");
            assert_eq!(&offline_ours, offline, "template {template}, --sql");
            assert_eq!(&online_ours, online, "template {template}, online");
        }
    }
}
