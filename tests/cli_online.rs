//! Online runs through the real binary on SQLite: the bundled Aurora-X
//! project, round trips, a database made by Python Alembic, and atomic
//! revisions (issue 4).

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::Connection;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary copy of the bundled project (alembic.ini, env.py, versions/).
fn bundled_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["alembic.ini", "env.py", "script.py.mako"] {
        std::fs::copy(repo_root().join(file), dir.path().join(file)).unwrap();
    }
    // env.py imports the models from aurora_x/.
    std::fs::create_dir(dir.path().join("aurora_x")).unwrap();
    for file in ["__init__.py", "models.py"] {
        std::fs::copy(
            repo_root().join("aurora_x").join(file),
            dir.path().join("aurora_x").join(file),
        )
        .unwrap();
    }
    std::fs::create_dir(dir.path().join("versions")).unwrap();
    for entry in std::fs::read_dir(repo_root().join("versions")).unwrap() {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "py") {
            std::fs::copy(
                entry.path(),
                dir.path().join("versions").join(entry.file_name()),
            )
            .unwrap();
        }
    }
    dir
}

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn aurora(dir: &Path, args: &[&str]) -> Outcome {
    let output = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("ALEMBIC_CONFIG")
        .output()
        .unwrap();
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = aurora(dir, args);
    assert_eq!(
        out.code, 0,
        "aurora {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

/// Objects of the schema (type, name) and the version rows.
fn snapshot(db: &Path) -> (Vec<(String, String, String)>, Vec<String>) {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT type, name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY type, name")
        .unwrap();
    let schema = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, normalize(&r.get::<_, String>(2)?)))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let has_table: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0;
    let versions = if has_table {
        let mut stmt = conn
            .prepare("SELECT version_num FROM alembic_version ORDER BY 1")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    } else {
        Vec::new()
    };
    (schema, versions)
}

fn normalize(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn upgrade_head_builds_the_aurora_x_schema() {
    let dir = bundled_project();
    ok(dir.path(), &["upgrade", "head"]);
    let (schema, versions) = snapshot(&dir.path().join("aurora.db"));
    let tables: Vec<&str> = schema
        .iter()
        .filter(|o| o.0 == "table")
        .map(|o| o.1.as_str())
        .collect();
    assert_eq!(
        tables,
        [
            "alerts",
            "audit_logs",
            "conversation_history",
            "synthesis_tasks",
            "system_metrics",
            "users"
        ]
    );
    assert_eq!(schema.iter().filter(|o| o.0 == "index").count(), 19);
    let unique: Vec<&str> = schema
        .iter()
        .filter(|o| o.2.starts_with("CREATE UNIQUE INDEX"))
        .map(|o| o.1.as_str())
        .collect();
    assert_eq!(unique, ["ix_users_email", "ix_users_username"]);
    assert_eq!(versions, ["164468809966"]);
    assert_eq!(ok(dir.path(), &["current"]), "164468809966 (head)\n");
}

#[test]
fn the_schema_equals_the_one_python_alembic_made() {
    let dir = bundled_project();
    ok(dir.path(), &["upgrade", "head"]);
    let python = dir.path().join("python.db");
    let conn = Connection::open(&python).unwrap();
    conn.execute_batch(
        &std::fs::read_to_string(
            repo_root().join("tests/fixtures/cli/aurora_upgraded_by_alembic.sql"),
        )
        .unwrap(),
    )
    .unwrap();
    drop(conn);
    assert_eq!(snapshot(&dir.path().join("aurora.db")), snapshot(&python));
}

#[test]
fn upgrade_downgrade_upgrade_round_trip() {
    let dir = bundled_project();
    let db = dir.path().join("aurora.db");
    ok(dir.path(), &["upgrade", "head"]);
    let upgraded = snapshot(&db);
    ok(dir.path(), &["downgrade", "base"]);
    let (schema, versions) = snapshot(&db);
    assert!(schema.is_empty(), "{schema:?}");
    assert!(versions.is_empty());
    ok(dir.path(), &["upgrade", "head"]);
    assert_eq!(snapshot(&db), upgraded);
}

const ADD_STATUS: &str = r#""""add status to users

Revision ID: 8d2e6b4a1c07
Revises: 164468809966
Create Date: 2025-01-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '8d2e6b4a1c07'
down_revision = '164468809966'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('status', sa.String(length=20), nullable=True))
    op.execute("UPDATE users SET status = 'active' WHERE is_active = 1")


def downgrade():
    op.drop_column('users', 'status')
"#;

#[test]
fn a_database_upgraded_by_python_alembic_is_continued_and_reverted() {
    let dir = bundled_project();
    std::fs::write(
        dir.path()
            .join("versions/8d2e6b4a1c07_add_status_to_users.py"),
        ADD_STATUS,
    )
    .unwrap();
    let db = dir.path().join("aurora.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        &std::fs::read_to_string(
            repo_root().join("tests/fixtures/cli/aurora_upgraded_by_alembic.sql"),
        )
        .unwrap(),
    )
    .unwrap();
    conn.execute("INSERT INTO users (id, username, email, hashed_password, is_active) VALUES (1, 'ada', 'a@x', 'h', 1)", [])
        .unwrap();
    drop(conn);
    assert_eq!(ok(dir.path(), &["current"]), "164468809966\n");
    ok(dir.path(), &["upgrade", "head"]);
    let conn = Connection::open(&db).unwrap();
    let status: String = conn
        .query_row("SELECT status FROM users WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "active");
    drop(conn);
    assert_eq!(snapshot(&db).1, ["8d2e6b4a1c07"]);
    ok(dir.path(), &["downgrade", "-1"]);
    assert_eq!(snapshot(&db).1, ["164468809966"]);
    ok(dir.path(), &["downgrade", "base"]);
    assert_eq!(snapshot(&db), (Vec::new(), Vec::new()));
}

const FAILS_HALF_WAY: &str = r#""""fails half way

Revision ID: 7a790dd9046d
Revises: 164468809966
Create Date: 2025-01-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '7a790dd9046d'
down_revision = '164468809966'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('score', sa.Integer(), nullable=True))
    op.create_table('articles', sa.Column('id', sa.Integer(), primary_key=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade():
    op.drop_table('articles')
    op.drop_column('users', 'score')
"#;

/// The deliberate deviation `ops_sqlite_online__partial_failure`: a revision
/// that fails half-way leaves nothing behind, and a fixed file then applies.
#[test]
fn a_revision_that_fails_half_way_leaves_the_database_as_before_it() {
    let dir = bundled_project();
    let db = dir.path().join("aurora.db");
    ok(dir.path(), &["upgrade", "head"]);
    let before = snapshot(&db);
    let path = dir.path().join("versions/7a790dd9046d_fails_half_way.py");
    std::fs::write(&path, FAILS_HALF_WAY).unwrap();
    let out = aurora(dir.path(), &["upgrade", "head"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("no_such_table"), "{}", out.stderr);
    assert!(out.stderr.contains("rolled back"), "{}", out.stderr);
    assert_eq!(snapshot(&db), before);
    // Fix the file and run again: it applies cleanly (Alembic would now fail on the duplicate column).
    std::fs::write(
        &path,
        FAILS_HALF_WAY.replace(
            "    op.execute(\"INSERT INTO no_such_table VALUES (1)\")\n",
            "",
        ),
    )
    .unwrap();
    ok(dir.path(), &["upgrade", "head"]);
    let (schema, versions) = snapshot(&db);
    assert_eq!(versions, ["7a790dd9046d"]);
    assert!(schema.iter().any(|o| o.1 == "articles"));
    assert!(schema
        .iter()
        .any(|o| o.1 == "users" && o.2.contains("score INTEGER")));
}

#[test]
fn current_does_not_create_the_version_table_but_upgrade_does() {
    let dir = bundled_project();
    assert_eq!(ok(dir.path(), &["current"]), "");
    let conn = Connection::open(dir.path().join("aurora.db")).unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, 0);
    drop(conn);
    ok(dir.path(), &["stamp", "head"]);
    assert_eq!(snapshot(&dir.path().join("aurora.db")).1, ["164468809966"]);
    ok(dir.path(), &["stamp", "--purge", "base"]);
    assert!(snapshot(&dir.path().join("aurora.db")).1.is_empty());
}

#[test]
fn database_url_overrides_the_ini_and_never_shows_a_password() {
    let dir = bundled_project();
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["current", "-v"])
        .current_dir(dir.path())
        .env("DATABASE_URL", "sqlite:///./other.db")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Current revision(s) for sqlite:///./other.db:\n"
    );
    assert!(dir.path().join("other.db").exists());
    let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
        .args(["current"])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            "postgresql://scott:s3cret-pw@127.0.0.1:1/nowhere",
        )
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(!all.contains("s3cret-pw"), "{all}");
}

/// Defect: a revision whose `def upgrade()` lacks its colon was applied as
/// if it were empty. Python Alembic cannot import the file (SyntaxError) and
/// applies nothing; aurora must stop before the first statement, naming the
/// file, line and column, with exit status 1.
#[test]
fn a_revision_that_is_not_valid_python_stops_the_run_before_anything_is_applied() {
    let dir = bundled_project();
    let broken = "\"\"\"second\n\nRevision ID: bbbb2222\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = 'bbbb2222'\ndown_revision = '164468809966'\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None\n    op.create_table('second', sa.Column('id', sa.Integer(), primary_key=True))\n\n\ndef downgrade() -> None:\n    op.drop_table('second')\n";
    std::fs::write(dir.path().join("versions/bbbb2222_second.py"), broken).unwrap();
    for args in [
        &["upgrade", "head"][..],
        &["upgrade", "head", "--sql"],
        &["heads"],
    ] {
        let out = aurora(dir.path(), args);
        assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .contains("bbbb2222_second.py:14:22: SyntaxError: expected ':'"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains("CREATE TABLE"), "{}", out.stdout);
    }
    // Not even the valid first revision ran: no schema, no version row.
    let db = dir.path().join("aurora.db");
    if db.exists() {
        let (schema, versions) = snapshot(&db);
        assert!(schema.is_empty(), "{schema:?}");
        assert!(versions.is_empty(), "{versions:?}");
    }
}

/// The same defect on a database that is already at the first revision: the
/// broken second revision stops `upgrade head` (online and `--sql`) with a
/// SyntaxError at its file:line:col and exit status 1; the schema and
/// `alembic_version` stay exactly as they were.
#[test]
fn a_revision_missing_its_colon_leaves_an_upgraded_database_unchanged() {
    let dir = bundled_project();
    let first = aurora(dir.path(), &["upgrade", "head"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let db = dir.path().join("aurora.db");
    let before = snapshot(&db);
    assert_eq!(before.1, vec!["164468809966".to_string()]);
    let broken = "\"\"\"second\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\nrevision = 'bbbb2222'\ndown_revision = '164468809966'\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade()\n    op.create_table('second', sa.Column('id', sa.Integer(), primary_key=True))\n\n\ndef downgrade():\n    op.drop_table('second')\n";
    std::fs::write(dir.path().join("versions/bbbb2222_second.py"), broken).unwrap();
    for args in [&["upgrade", "head"][..], &["upgrade", "head", "--sql"]] {
        let out = aurora(dir.path(), args);
        assert_eq!(out.code, 1, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr
                .contains("bbbb2222_second.py:11:14: SyntaxError: expected ':'"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains("CREATE TABLE"), "{}", out.stdout);
        assert_eq!(snapshot(&db), before, "{args:?} changed the database");
    }
}

/// Defect: 50 nested parentheses in a body line made `upgrade head --sql`
/// parse for ever (the grammar was exponential in the nesting). The fuzz
/// target `parse_time` asserts the linear bound; this checks the command
/// completes and renders the statement.
#[test]
fn fifty_nested_parentheses_in_a_body_render() {
    let dir = bundled_project();
    let nested = format!("{}'SELECT 1'{}", "(".repeat(50), ")".repeat(50));
    let revision = format!("\"\"\"nested\"\"\"\nfrom alembic import op\n\nrevision = 'cccc3333'\ndown_revision = '164468809966'\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    op.execute({nested})\n\n\ndef downgrade():\n    pass\n");
    std::fs::write(dir.path().join("versions/cccc3333_nested.py"), revision).unwrap();
    let out = aurora(dir.path(), &["upgrade", "164468809966:cccc3333", "--sql"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("SELECT 1;"), "{}", out.stdout);
}

/// `downgrade -1` from two heads: Alembic warns that it is ambiguous (a UserWarning, between
/// the context lines and the first step) and downgrades the first version row's branch.
#[test]
fn downgrade_relative_from_several_heads_warns_and_takes_the_first_row() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    ok(root, &["init", "m"]);
    let ini = std::fs::read_to_string(root.join("alembic.ini")).unwrap();
    let ini: String = ini
        .lines()
        .map(|l| {
            if l.starts_with("sqlalchemy.url") {
                "sqlalchemy.url = sqlite:///%(here)s/t.db".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(root.join("alembic.ini"), ini + "\n").unwrap();
    for (id, down) in [("aaa", "None"), ("bbb", "'aaa'"), ("ccc", "'aaa'")] {
        std::fs::write(
            root.join(format!("m/versions/{id}_x.py")),
            format!(
                "\"\"\"{id}\"\"\"\nrevision = '{id}'\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
            ),
        )
        .unwrap();
    }
    ok(root, &["upgrade", "heads"]);
    let rows = |db: &Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(db).unwrap();
        let mut stmt = conn
            .prepare("SELECT version_num FROM alembic_version")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let first = rows(&root.join("t.db"));
    assert_eq!(first.len(), 2, "{first:?}");
    let run = aurora(root, &["downgrade", "-1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "INFO  [alembic.runtime.migration] Context impl SQLiteImpl.\n\
             INFO  [alembic.runtime.migration] Will assume non-transactional DDL.\n\
             UserWarning: downgrade -1 from multiple heads is ambiguous; this usage will be \
             disallowed in a future release.\n\
             INFO  [alembic.runtime.migration] Running downgrade {} -> aaa, {}\n",
            first[0], first[0]
        )
    );
    assert_eq!(rows(&root.join("t.db")), [first[1].clone()]);
    // From one head there is nothing ambiguous.
    let run = aurora(root, &["downgrade", "-1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("UserWarning"), "{}", run.stderr);
}

/// `sqlite_master` text exactly as stored, whitespace included.
fn stored_schema_text(db: &Path) -> Vec<(String, String)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn online_ddl_is_stored_as_sqlalchemy_compiles_it_tabs_included() {
    // SQLAlchemy's CREATE TABLE puts a tab before each column; Alembic executes that text as
    // it is, and only its --sql writer turns tabs into four spaces.
    let dir = bundled_project();
    ok(dir.path(), &["upgrade", "head"]);
    let python = dir.path().join("python.db");
    let conn = Connection::open(&python).unwrap();
    conn.execute_batch(
        &std::fs::read_to_string(
            repo_root().join("tests/fixtures/cli/aurora_upgraded_by_alembic.sql"),
        )
        .unwrap(),
    )
    .unwrap();
    drop(conn);
    let ours = stored_schema_text(&dir.path().join("aurora.db"));
    assert!(ours
        .iter()
        .any(|(_, sql)| sql.contains("(\n\tid INTEGER NOT NULL, \n\t")));
    assert_eq!(ours, stored_schema_text(&python));
    let offline = ok(dir.path(), &["upgrade", "head", "--sql"]);
    assert!(offline.contains("(\n    id INTEGER NOT NULL, \n    "));
    assert!(!offline.contains('\t'));
}

#[test]
fn a_tab_in_executed_sql_reaches_the_database_as_a_tab() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("alembic.ini"),
        "[alembic]\nscript_location = %(here)s\nsqlalchemy.url = sqlite:///%(here)s/t.db\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("env.py"),
        "from alembic import context\nfrom sqlalchemy import engine_from_config, pool\n\
         config = context.config\n\
         if context.is_offline_mode():\n    context.configure(url=config.get_main_option('sqlalchemy.url'), literal_binds=True)\n    with context.begin_transaction():\n        context.run_migrations()\n\
         else:\n    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix='sqlalchemy.', poolclass=pool.NullPool)\n    with engine.connect() as connection:\n        context.configure(connection=connection)\n        with context.begin_transaction():\n            context.run_migrations()\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("versions")).unwrap();
    std::fs::write(
        dir.path().join("versions/r1_rev.py"),
        "from alembic import op\nimport sqlalchemy as sa\nrevision = 'r1'\ndown_revision = None\n\n\
         def upgrade():\n    op.create_table('t', sa.Column('id', sa.Integer(), primary_key=True), sa.Column('name', sa.String(20)))\n    op.execute(\"INSERT INTO t (id, name) VALUES (1, 'a\\tb')\")\n\n\
         def downgrade():\n    op.drop_table('t')\n",
    )
    .unwrap();
    ok(dir.path(), &["upgrade", "head"]);
    let conn = Connection::open(dir.path().join("t.db")).unwrap();
    let name: String = conn
        .query_row("SELECT name FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "a\tb");
}

const READS_ROWS: &str = r#""""reads rows through the connection

Revision ID: 7a790dd9046d
Revises: 164468809966
Create Date: 2025-01-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '7a790dd9046d'
down_revision = '164468809966'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('score', sa.Integer(), nullable=True))
    conn = op.get_bind()
    res = conn.execute(sa.text('SELECT id FROM users'))
    if res:
        op.execute("UPDATE users SET score = 1")


def downgrade():
    op.drop_column('users', 'score')
"#;

/// Online, `op.get_bind().execute(...)` returns a result in Alembic (here
/// truthy, so Alembic runs the UPDATE); aurora returns no rows to a
/// revision, so any use of the result stops the run at its file:line:col
/// before anything is applied, instead of taking the `if` the wrong way.
#[test]
fn using_the_result_of_get_bind_execute_online_is_refused_before_anything_runs() {
    let dir = bundled_project();
    let db = dir.path().join("aurora.db");
    ok(dir.path(), &["upgrade", "164468809966"]);
    let before = snapshot(&db);
    std::fs::write(
        dir.path().join("versions/7a790dd9046d_reads_rows.py"),
        READS_ROWS,
    )
    .unwrap();
    let out = aurora(dir.path(), &["upgrade", "head"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "7a790dd9046d_reads_rows.py:21:8: testing the truth value of the result of op.get_bind().execute()"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&db), before);
    // Offline, Alembic's mock connection returns None: the `if` is not taken.
    let sql = ok(dir.path(), &["upgrade", "164468809966:head", "--sql"]);
    assert!(sql.contains("SELECT id FROM users;"), "{sql}");
    assert!(!sql.contains("SET score = 1"), "{sql}");
}

const RUNS_AT_IMPORT: &str = r#""""runs an operation when the file is imported

Revision ID: 7a790dd9046e
Revises: 164468809966
Create Date: 2025-01-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

revision = '7a790dd9046e'
down_revision = '164468809966'
branch_labels = None
depends_on = None

# Harmless at import: a name, no operation.
NAME = op.f('ix_users_score')
op.execute("UPDATE users SET email = lower(email)")


def upgrade():
    op.add_column('users', sa.Column('score', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('users', 'score')
"#;

/// Alembic imports every revision file inside the migration run, so an operation in a
/// file's top-level statements runs in every command. Offline aurora writes it after
/// BEGIN; online it refuses at the statement, before anything is executed (a top-level
/// `op.f()` alone is fine).
#[test]
fn an_operation_run_at_import_is_refused_online_before_anything_runs() {
    let dir = bundled_project();
    let db = dir.path().join("aurora.db");
    ok(dir.path(), &["upgrade", "164468809966"]);
    let before = snapshot(&db);
    let file = dir.path().join("versions/7a790dd9046e_runs_at_import.py");
    std::fs::write(&file, RUNS_AT_IMPORT).unwrap();
    let out = aurora(dir.path(), &["upgrade", "head"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("7a790dd9046e_runs_at_import.py:18:1: a top-level statement of this revision file runs operations"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&db), before);
    let sql = ok(dir.path(), &["upgrade", "164468809966:head", "--sql"]);
    assert!(
        sql.contains("UPDATE users SET email = lower(email);"),
        "{sql}"
    );
    // Without the operation the same file runs online.
    std::fs::write(
        &file,
        RUNS_AT_IMPORT.replace(
            "op.execute(\"UPDATE users SET email = lower(email)\")\n",
            "",
        ),
    )
    .unwrap();
    ok(dir.path(), &["upgrade", "head"]);
}
