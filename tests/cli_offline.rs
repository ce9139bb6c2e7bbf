//! Offline runs through the real binary: a body is parsed only when its SQL
//! is needed, and a construct outside aurora's language names file:line:col.

mod offline_fixture_env;
use offline_fixture_env::{fixture_env_py, fixture_url, offline_fixtures};

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

/// A project whose one revision has `upgrade_body`, in `url`'s dialect.
fn project_with(url: &str, upgrade_body: &str) -> tempfile::TempDir {
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
            "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = {url}\n\n{}",
            include_str!("fixtures/logging.ini")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alembic/versions/r1_rev.py"),
        format!(
            "\"\"\"r1\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
             revision = 'r1'\ndown_revision = None\n\n\ndef upgrade():\n{upgrade_body}\n\n\n\
             def downgrade():\n    pass\n"
        ),
    )
    .unwrap();
    dir
}

const CONSTRAINTS_BODY: &str = "    op.create_table('b',
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('p', sa.Integer, sa.ForeignKey('a.id'), nullable=False),
        sa.Column('q', sa.Integer, sa.ForeignKey('a.id', ondelete='CASCADE'), unique=True),
        sa.Column('r', sa.Integer, unique=True, index=True),
        sa.Column('s', sa.Integer, unique=True),
        sa.UniqueConstraint('p', name='uq_p'),
        sa.ForeignKeyConstraint(['s'], ['a.id']),
        sa.CheckConstraint('p > 0'),
    )
    op.add_column('b', sa.Column('t', sa.Integer, unique=True))
    op.add_column('b', sa.Column('u', sa.Integer, unique=True, index=True))";

/// CREATE TABLE lists constraints as SQLAlchemy does (by creation: the
/// primary key, the explicit ones, then per column `unique=True` before its
/// foreign keys; `unique=True, index=True` is a unique index only), and
/// `add_column` of a `unique=True` column adds `UNIQUE` after it. The
/// expected text is Alembic 1.20.1's output for the same revision.
#[test]
fn create_table_constraint_order_and_add_column_unique_match_alembic() {
    let dir = project_with("postgresql://u@h/d", CONSTRAINTS_BODY);
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    let want = "CREATE TABLE b (
    id SERIAL NOT NULL, 
    p INTEGER NOT NULL, 
    q INTEGER, 
    r INTEGER, 
    s INTEGER, 
    PRIMARY KEY (id), 
    CONSTRAINT uq_p UNIQUE (p), 
    FOREIGN KEY(s) REFERENCES a (id), 
    CHECK (p > 0), 
    FOREIGN KEY(p) REFERENCES a (id), 
    UNIQUE (q), 
    FOREIGN KEY(q) REFERENCES a (id) ON DELETE CASCADE, 
    UNIQUE (s)
);

CREATE UNIQUE INDEX ix_b_r ON b (r);

ALTER TABLE b ADD COLUMN t INTEGER;

ALTER TABLE b ADD UNIQUE (t);

ALTER TABLE b ADD COLUMN u INTEGER;

CREATE UNIQUE INDEX ix_b_u ON b (u);
";
    assert!(stdout.contains(want), "{stdout}");

    // SQLite cannot ALTER a constraint in: Alembic's NotImplementedError.
    let dir = project_with("sqlite:///./t.db", CONSTRAINTS_BODY);
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stdout.ends_with("ALTER TABLE b ADD COLUMN t INTEGER;\n\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "NotImplementedError: No support for ALTER of constraints in SQLite dialect."
        ),
        "{stderr}"
    );
}

/// Two columns of one name in create_table: SQLAlchemy's Table refuses it
/// with DuplicateColumnError (exit 1) before the table is emitted.
#[test]
fn a_duplicate_column_in_create_table_is_sqlalchemys_error() {
    let dir = project_with(
        "postgresql://u@h/d",
        "    op.create_table('first', sa.Column('id', sa.Integer, primary_key=True))\n\
         \x20   op.create_table('doc', sa.Column('id', sa.Integer, primary_key=True),\n\
         \x20       sa.Column('created', sa.DateTime), sa.Column('created', sa.TIMESTAMP))",
    );
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.contains("CREATE TABLE first ("), "{stdout}");
    assert!(!stdout.contains("CREATE TABLE doc"), "{stdout}");
    assert!(
        stderr.contains("sqlalchemy.exc.DuplicateColumnError: A column with name 'created' is already present in table 'doc'."),
        "{stderr}"
    );
}

/// A cold `upgrade head --sql` renders each body from the module parsed
/// for the revision map (one parse per file, on the loader threads). With
/// enough files for the parallel paths, the first failing revision in run
/// order is the one reported, the SQL before it is written, the other
/// function of every file is never read, and a run with a cache (cold, then
/// warm) prints the same bytes as one without.
#[test]
fn one_parse_per_file_keeps_order_and_output() {
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
    for i in 0..150 {
        let down = if i == 0 {
            "None".to_string()
        } else {
            format!("'r{:03}'", i - 1)
        };
        // r040 and r090 have bodies outside the evaluator's language; every
        // downgrade() does too, and must never be read by an upgrade.
        let body = if i == 40 || i == 90 {
            "    while True:\n        op.drop_table('t')".to_string()
        } else {
            format!("    op.create_table('t{i}', sa.Column('id', sa.Integer(), primary_key=True))")
        };
        std::fs::write(
            dir.path().join(format!("alembic/versions/r{i:03}_rev.py")),
            format!(
                "\"\"\"r{i}\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
                 revision = 'r{i:03}'\ndown_revision = {down}\n\n\ndef upgrade():\n{body}\n\n\n\
                 def downgrade():\n    while True:\n        pass\n"
            ),
        )
        .unwrap();
    }
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 255, "{stderr}");
    assert!(stdout.contains("CREATE TABLE t39 ("), "{stdout}");
    assert!(!stdout.contains("CREATE TABLE t41 ("), "{stdout}");
    let failed = stdout
        .lines()
        .find(|l| l.starts_with("FAILED: "))
        .expect("a FAILED line");
    assert!(failed.contains("r040_rev.py:10:5"), "{failed}");
    assert!(!failed.contains("r090"), "{failed}");

    let cache = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(["upgrade", "head", "--sql"])
            .current_dir(dir.path())
            .env("AURORA_CACHE_DIR", cache.path())
            .env_remove("AURORA_NO_CACHE")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255));
        assert_eq!(String::from_utf8_lossy(&out.stdout), stdout);
    }

    // A syntax error anywhere (here in a downgrade() the run never lowers)
    // still stops the run before any SQL, naming the first such file.
    for i in [120, 60] {
        let path = dir.path().join(format!("alembic/versions/r{i:03}_rev.py"));
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("        pass\n", "        pass(\n")).unwrap();
    }
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains("CREATE TABLE"), "{stdout}");
    assert!(
        stderr.contains("r060_rev.py:15:13: SyntaxError"),
        "{stderr}"
    );
}

/// Every revision file of `tests/fixtures/offline` runs offline as Alembic
/// ran it (recorded in the `.json` beside it by
/// `scripts/record-offline-fixtures.py`): on PostgreSQL and SQLite,
/// `upgrade a1 --sql` and `downgrade a1:base --sql` print the same standard
/// output, or both fail.
#[test]
fn offline_fixtures_print_what_alembic_printed() {
    let mut failures = Vec::new();
    for (file, name, runs) in offline_fixtures() {
        for run in &runs {
            let url = fixture_url(run);
            let project = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(project.path().join("alembic/versions")).unwrap();
            std::fs::write(project.path().join("alembic/env.py"), fixture_env_py(&file)).unwrap();
            std::fs::write(
                project.path().join("alembic.ini"),
                format!(
                    "[alembic]\nscript_location = %(here)s/alembic\nsqlalchemy.url = {url}\n\n{}",
                    include_str!("fixtures/logging.ini")
                ),
            )
            .unwrap();
            std::fs::copy(&file, project.path().join("alembic/versions/a1_rev.py")).unwrap();
            let args: Vec<&str> = run["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let (code, stdout, stderr) = self::run(project.path(), &args);
            let want_exit = run["exit"].as_i64().unwrap();
            let what = format!("{name} {} {}", run["dialect"], args.join(" "));
            if want_exit == 0 && (code != 0 || stdout != run["stdout"].as_str().unwrap()) {
                failures.push(format!(
                    "{what}: exit {code}\n--- want\n{}--- got\n{stdout}--- stderr\n{stderr}",
                    run["stdout"].as_str().unwrap()
                ));
            } else if want_exit != 0 && code <= 0 {
                failures.push(format!("{what}: Alembic failed, aurora exited {code}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A naming convention that SQLAlchemy cannot apply (here
/// `%(constraint_name)s` for an unnamed constraint, which SQLAlchemy refuses
/// with InvalidRequestError, where Alembic crashes with a traceback) stops
/// the run at the operation's file:line:col before any SQL of the revision
/// is written.
#[test]
fn a_naming_convention_that_cannot_be_applied_names_the_operation() {
    let dir = project_with(
        "postgresql://u:p@localhost/db",
        "    op.create_check_constraint(None, 't', 'x > 0')",
    );
    let env_py = include_str!("../assets/init/generic/env.py").replacen(
        "target_metadata = None",
        "from sqlalchemy import MetaData\ntarget_metadata = MetaData(naming_convention={'ck': 'ck_%(constraint_name)s'})",
        1,
    );
    std::fs::write(dir.path().join("alembic/env.py"), env_py).unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "r1", "--sql"]);
    // aurora's exit status for a revision it cannot lower.
    assert_eq!(code, 255, "{stderr}");
    assert!(!stdout.contains("ADD CONSTRAINT"), "{stdout}");
    assert!(
        stderr.contains("r1_rev.py:10:5: the naming convention of env.py's target_metadata cannot be applied here: \"ck\": \"ck_%(constraint_name)s\": sqlalchemy.exc.InvalidRequestError: Naming convention including %(constraint_name)s token requires that constraint is explicitly named."),
        "{stderr}"
    );
}

/// The CHECK constraint of a `create_constraint=True` type is emitted in
/// create_table and PostgreSQL's add_column (fixtures offline/
/// type_check_constraints and pg_online/type_check_constraints). Where
/// aurora does not do what Alembic does with it, it stops at the call:
/// SQLite's add_column and alter_column (Alembic skips the CHECK with a
/// UserWarning) and a "ck" naming convention (SQLAlchemy names the CHECK by
/// it). PostgreSQL's alter_column drops and adds the CHECKs around the ALTER
/// as Alembic does (fixture pg_online/alter_column_type_constraints).
#[test]
fn type_check_constraints_aurora_does_not_emit_are_refused() {
    let cases = [
        (
            "sqlite:///./t.db",
            "    op.add_column('t', sa.Column('flag', sa.Boolean(create_constraint=True)))",
            None,
            "add_column of 'flag': its create_constraint=True type has a CHECK constraint SQLite cannot add",
        ),
        (
            "sqlite:///./t.db",
            "    op.alter_column('t', 'e', type_=sa.Enum('a', 'b', native_enum=False, create_constraint=True))",
            None,
            "alter_column of 'e': its create_constraint=True type_ has a CHECK constraint SQLite cannot add",
        ),
        (
            "postgresql://u@h/d",
            "    op.create_table('t', sa.Column('e', sa.Enum('a', 'b', name='ee', native_enum=False, create_constraint=True)))",
            Some("MetaData(naming_convention={'ck': 'ck_%(table_name)s_%(constraint_name)s'})"),
            "column 'e': the CHECK constraint of its create_constraint=True type would be named by the naming convention's \"ck\" template",
        ),
    ];
    for (url, body, metadata, error) in cases {
        let dir = project_with(url, body);
        if let Some(metadata) = metadata {
            let env_py = include_str!("../assets/init/generic/env.py").replacen(
                "target_metadata = None",
                &format!("from sqlalchemy import MetaData\ntarget_metadata = {metadata}"),
                1,
            );
            std::fs::write(dir.path().join("alembic/env.py"), env_py).unwrap();
        }
        let (code, stdout, stderr) = run(dir.path(), &["upgrade", "r1", "--sql"]);
        assert_ne!(code, 0, "{stderr}");
        assert!(!stdout.contains("CHECK ("), "{stdout}");
        assert!(
            format!("{stdout}{stderr}").contains(error),
            "{body}: {stdout}{stderr}"
        );
    }
}

/// A string type's `collation=` is refused at the type (SQLAlchemy renders
/// `COLLATE "C"` after it, which aurora does not), before any SQL.
#[test]
fn string_collation_is_refused_at_the_type() {
    for body in [
        "    op.add_column('t', sa.Column('s', sa.String(50, collation='C')))",
        "    op.create_table('t', sa.Column('s', sa.Text(collation='C')))",
        "    op.alter_column('t', 's', type_=sa.CHAR(3, collation='C'))",
    ] {
        let dir = project_with("postgresql://u@h/d", body);
        let (code, stdout, stderr) = run(dir.path(), &["upgrade", "r1", "--sql"]);
        assert_eq!(code, 255, "{stderr}");
        assert!(!stdout.contains("TABLE t"), "{stdout}");
        assert!(
            stderr.contains("r1_rev.py:10:")
                && stderr.contains("(collation=...): aurora does not render a column collation"),
            "{body}: {stderr}"
        );
    }
}

/// `print()` in a revision writes its text among the `--sql` statements (the
/// offline fixture `print_in_revision` checks the bytes); online, it writes
/// it where the run reaches it (the recorded case `revision_print_online`
/// checks the bytes against Alembic, with a failure after a print).
#[test]
fn print_in_a_revision_writes_offline_and_online() {
    let body = "    print('creating t')\n    op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))";
    let dir = project_with("sqlite:///./t.db", body);
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("creating t\nCREATE TABLE t ("), "{stdout}");

    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "creating t\n");
}

/// A revision's own loggers (`logging.getLogger(__name__)`, named ones, the
/// root) log through the logging configuration env.py installed, where they
/// fall among the steps; `__name__` is Alembic's module name for the file.
/// The expected lines are Alembic 1.20.1's for the same revision (which has no
/// docstring, so its `Running upgrade` line has no ", doc").
#[test]
fn logging_in_a_revision_goes_through_the_logging_configuration() {
    let dir = project_with("sqlite:///./t.db", "    pass");
    std::fs::write(
        dir.path().join("alembic/versions/r1_rev.py"),
        "import logging\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
         revision = 'r1'\ndown_revision = None\n\n\
         logger = logging.getLogger(__name__)\n\
         log2 = logging.getLogger('alembic.runtime.migration')\n\n\n\
         def upgrade():\n\
         \x20   logger.info('creating %s', 't')\n\
         \x20   logger.warning('module logger %s %d', logger.name, 7)\n\
         \x20   log2.info('hello %d', 3)\n\
         \x20   log2.debug('hidden')\n\
         \x20   logging.getLogger('alembic').warning('warn %r', 'x')\n\
         \x20   op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))\n\
         \x20   logging.getLogger().error('root %s', [1])\n\n\n\
         def downgrade():\n    pass\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "head", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("CREATE TABLE t ("), "{stdout}");
    let want = "INFO  [alembic.runtime.migration] Running upgrade  -> r1\n\
                WARNI [r1_rev_py] module logger r1_rev_py 7\n\
                INFO  [alembic.runtime.migration] hello 3\n\
                WARNI [alembic] warn 'x'\n\
                ERROR [root] root [1]\n";
    assert!(stderr.ends_with(want), "{stderr}");

    // Online, the same records fall after the step's `Running` line.
    let (code, _, stderr) = run(dir.path(), &["upgrade", "head"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.ends_with(want), "{stderr}");
}

/// Alembic imports every revision file for the revision map, so a
/// module-level `@compiles(sa.ForeignKeyConstraint, 'postgresql')` in one
/// file changes the foreign keys of every revision (the reference prints
/// `FOREIGN KEY(t_id) REFERENCES t (id)` without the name for r2 below).
/// aurora refuses a run that compiles the construct, naming the hook's
/// place, also when the headers come from the cache; on another dialect
/// the hook does not apply.
#[test]
fn a_compiles_hook_in_another_revision_file_refuses_the_run() {
    let dir = project_with(
        "postgresql://u:p@localhost/db",
        "    op.create_table('t', sa.Column('id', sa.Integer, primary_key=True))",
    );
    let versions = dir.path().join("alembic/versions");
    let first = std::fs::read_to_string(versions.join("r1_rev.py")).unwrap();
    std::fs::write(
        versions.join("r1_rev.py"),
        first.replace(
            "\n\n\ndef upgrade():",
            "\nfrom sqlalchemy.ext import compiler\n\n\n\
             @compiler.compiles(sa.ForeignKeyConstraint, 'postgresql')\n\
             def _fk(element, compiler, **kw):\n    element.name = None\n    \
             return compiler.visit_foreign_key_constraint(element, **kw)\n\n\ndef upgrade():",
        ),
    )
    .unwrap();
    std::fs::write(
        versions.join("r2_fk.py"),
        "\"\"\"r2\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n\
         revision = 'r2'\ndown_revision = 'r1'\n\n\ndef upgrade():\n    \
         op.create_table('u', sa.Column('t_id', sa.Integer, sa.ForeignKey('t.id', name='u_t_fk')))\n\n\n\
         def downgrade():\n    op.drop_table('u')\n",
    )
    .unwrap();
    let hook = versions.join("r1_rev.py");
    let expect_refusal = |stdout: &str| {
        let failed = stdout
            .lines()
            .find(|l| l.starts_with("FAILED: "))
            .unwrap_or_else(|| panic!("a FAILED line in {stdout}"));
        assert!(failed.contains("r2_fk.py:10:5: "), "{failed}");
        assert!(
            failed.contains(&format!(
                "this compiles 'sa.ForeignKeyConstraint', for which {}:10:2 defines a @compiles function",
                hook.display()
            )),
            "{failed}"
        );
    };
    let (code, stdout, _) = run(dir.path(), &["upgrade", "r1:r2", "--sql"]);
    assert_eq!(code, 255);
    expect_refusal(&stdout);
    // Dropping a table compiles no foreign key: Alembic's output is aurora's.
    let (code, stdout, stderr) = run(dir.path(), &["downgrade", "r2:r1", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("DROP TABLE u;"), "{stdout}");

    // With the header cache (files older than two seconds are cached).
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let cache = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = Command::new(env!("CARGO_BIN_EXE_aurora"))
            .args(["upgrade", "r1:r2", "--sql"])
            .current_dir(dir.path())
            .env("AURORA_CACHE_DIR", cache.path())
            .env_remove("AURORA_NO_CACHE")
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(255));
        expect_refusal(&String::from_utf8_lossy(&out.stdout));
    }

    // The hook is for PostgreSQL only.
    let ini = std::fs::read_to_string(dir.path().join("alembic.ini")).unwrap();
    std::fs::write(
        dir.path().join("alembic.ini"),
        ini.replace("postgresql://u:p@localhost/db", "sqlite:///./t.db"),
    )
    .unwrap();
    let (code, stdout, stderr) = run(dir.path(), &["upgrade", "r1:r2", "--sql"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("CONSTRAINT u_t_fk FOREIGN KEY(t_id) REFERENCES t (id)"),
        "{stdout}"
    );
}

/// Arguments that would change the SQL and that aurora does not model stop
/// the run at the argument, before any database work, instead of being
/// dropped: batch mode's table_args/table_kwargs/reflect_args/reflect_kwargs/
/// naming_convention, a string type's collation, and a dialect keyword of a
/// table that the dialect does not accept (SQLAlchemy's ArgumentError).
/// Online, nothing is written: the database stays empty.
#[test]
fn arguments_that_would_change_the_sql_are_refused_not_dropped() {
    let cases = [
        (
            "    with op.batch_alter_table('t', table_kwargs={'sqlite_autoincrement': True}) as b:\n        b.add_column(sa.Column('c', sa.Integer))",
            "r1_rev.py:10:36: op.batch_alter_table(table_kwargs=...) is not supported by aurora yet",
        ),
        (
            "    with op.batch_alter_table('t', recreate='always', table_args=(sa.UniqueConstraint('a', name='uq'),)) as b:\n        b.add_column(sa.Column('c', sa.Integer))",
            "op.batch_alter_table(table_args=...) is not supported by aurora yet",
        ),
        (
            "    with op.batch_alter_table('t', reflect_args=[sa.Column('a', sa.Boolean())]) as b:\n        b.add_column(sa.Column('c', sa.Integer))",
            "op.batch_alter_table(reflect_args=...) is not supported by aurora yet",
        ),
        (
            "    with op.batch_alter_table('t', naming_convention={'uq': 'uq_%(table_name)s_%(column_0_name)s'}) as b:\n        b.drop_constraint('uq_t_a', type_='unique')",
            "op.batch_alter_table(naming_convention=...) is not supported by aurora yet",
        ),
        (
            "    op.add_column('t', sa.Column('a', sa.String(20, collation='C')))",
            "String(collation=...): aurora does not render a column collation",
        ),
        (
            "    op.create_table('t', sa.Column('id', sa.Integer), sqlite_without_rowid=True)",
            "ArgumentError: Argument 'sqlite_without_rowid' is not accepted by dialect 'sqlite' on behalf of <class 'sqlalchemy.sql.schema.Table'>",
        ),
    ];
    for (body, error) in cases {
        let dir = project_with("sqlite:///./t.db", body);
        let (code, _, stderr) = run(dir.path(), &["upgrade", "head"]);
        assert_eq!(code, 255, "{body}: {stderr}");
        assert!(stderr.contains(error), "{body}: {stderr}");
        let size = std::fs::metadata(dir.path().join("t.db")).map_or(0, |m| m.len());
        assert_eq!(size, 0, "{body}: database written");
    }
    // An empty batch argument changes nothing and is accepted.
    let dir = project_with(
        "sqlite:///./t.db",
        "    op.create_table('t', sa.Column('id', sa.Integer))\n    with op.batch_alter_table('t', table_args=(), table_kwargs={}) as b:\n        b.add_column(sa.Column('c', sa.Integer))",
    );
    let (code, _, stderr) = run(dir.path(), &["upgrade", "head"]);
    assert_eq!(code, 0, "{stderr}");
}
