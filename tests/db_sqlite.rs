//! The database layer on SQLite, in process: the shared cases of
//! `db_support`, a database written by Python Alembic, files and pragmas.

mod db_support;

use std::path::{Component, Path};

use aurora::db::{
    self, apply_version_change, current_heads, Connection, DatabaseUrl, RunOptions, Value,
};
use aurora::plan::VersionChange;
use aurora::sql::version::VersionTable;
use db_support::*;

fn memory() -> Box<dyn Connection> {
    db::connect(&DatabaseUrl::parse("sqlite://").unwrap()).unwrap()
}

macro_rules! on_memory {
    ($($name:ident),* $(,)?) => {
        $(#[test]
        fn $name() {
            db_support::$name(&mut *memory());
        })*
    };
}

on_memory!(
    current_never_creates_the_table,
    version_table_lifecycle,
    row_count_errors_report_the_count,
    run_applies_steps_and_logs,
    run_without_steps_creates_the_version_table,
    version_mismatch_rolls_back_the_step,
    render_error_is_reported,
    render_sees_earlier_steps,
    purge_option_empties_the_table,
    revision_output_follows_its_statements,
);

#[test]
fn failing_step_is_rolled_back_whole() {
    // SQLite always runs one transaction per step, whatever the option says.
    db_support::failing_step_is_rolled_back_whole(&mut *memory(), RunOptions::default());
    db_support::failing_step_is_rolled_back_whole(
        &mut *memory(),
        RunOptions {
            transaction_per_migration: true,
            purge: false,
            ..Default::default()
        },
    );
}

#[test]
fn autocommit_block_commits_what_came_before() {
    db_support::autocommit_block_commits_what_came_before(
        &mut *memory(),
        "CREATE TABLE in_block (id INTEGER)",
    );
}

#[test]
fn version_table_in_an_attached_database() {
    let mut conn = memory();
    conn.execute("ATTACH DATABASE ':memory:' AS other").unwrap();
    db_support::version_table_in_a_schema(&mut *conn, "other");
    assert!(
        !has_table(&mut *conn, "my_versions"),
        "the table belongs to the attached database only"
    );
}

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/db")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The file name of a database made from Python Alembic's dump.
fn legacy_database(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("legacy.db");
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(&fixture("alembic_legacy_sqlite.sql"))
        .unwrap();
    path
}

#[test]
fn reads_and_writes_a_version_table_made_by_python_alembic() {
    let dir = tempfile::tempdir().unwrap();
    let path = legacy_database(dir.path());
    let url = DatabaseUrl::parse(&format!("sqlite:///{}", path.display())).unwrap();
    let table = VersionTable::default();
    let mut conn = db::connect(&url).unwrap();
    // The two heads, in the order Alembic inserted them.
    assert_eq!(heads(&mut *conn, &table), ["3c4d5e6f7081", "2b3c4d5e6f70"]);

    // Downgrade the audit branch to its base, then upgrade it again.
    apply_version_change(
        &mut *conn,
        &table,
        &VersionChange::Delete("3c4d5e6f7081".to_string()),
    )
    .unwrap();
    assert_eq!(heads(&mut *conn, &table), ["2b3c4d5e6f70"]);
    apply_version_change(
        &mut *conn,
        &table,
        &VersionChange::Update {
            from: "2b3c4d5e6f70".to_string(),
            to: "1a2b3c4d5e6f".to_string(),
        },
    )
    .unwrap();
    apply_version_change(
        &mut *conn,
        &table,
        &VersionChange::Insert("3c4d5e6f7081".to_string()),
    )
    .unwrap();
    drop(conn);

    // A second connection (as the next command would open) sees the same.
    let mut again = db::connect(&url).unwrap();
    let mut got = current_heads(&mut *again, &table).unwrap();
    got.sort();
    assert_eq!(got, ["1a2b3c4d5e6f", "3c4d5e6f7081"]);
}

#[test]
fn version_table_ddl_is_stored_as_python_alembic_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = rusqlite::Connection::open(legacy_database(dir.path())).unwrap();
    let theirs: String = legacy
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();

    let mut conn = memory();
    db::ensure_version_table(&mut *conn, &VersionTable::default()).unwrap();
    let ours = texts(
        &mut *conn,
        "SELECT sql FROM sqlite_master WHERE name = 'alembic_version'",
    );
    assert_eq!(ours, [theirs]);
}

/// `sqlite:///relative.db` is relative to the current directory.
#[test]
fn relative_paths_are_relative_to_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = std::env::current_dir().unwrap();
    let ups = cwd
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    let relative = format!(
        "{}{}",
        "../".repeat(ups),
        dir.path()
            .join("rel.db")
            .display()
            .to_string()
            .trim_start_matches('/')
    );
    let url = DatabaseUrl::parse(&format!("sqlite:///{relative}")).unwrap();
    let mut conn = db::connect(&url).unwrap();
    conn.execute("CREATE TABLE t (id INTEGER)").unwrap();
    assert!(dir.path().join("rel.db").is_file());

    let absolute = DatabaseUrl::parse(&format!(
        "sqlite:///{}",
        dir.path().join("rel.db").display()
    ))
    .unwrap();
    assert!(db::connect(&absolute)
        .unwrap()
        .table_exists(None, "t")
        .unwrap());
}

#[test]
fn a_missing_directory_is_a_connect_error() {
    let url = DatabaseUrl::parse("sqlite:////nonexistent-dir-for-aurora/x.db").unwrap();
    let err = db::connect(&url).err().expect("connect must fail");
    assert!(
        err.to_string()
            .starts_with("could not connect to sqlite:////nonexistent-dir-for-aurora/x.db: "),
        "{err}"
    );
}

/// Python's sqlite3 leaves foreign keys off; the bundled SQLite defaults to on.
#[test]
fn foreign_keys_are_off_as_in_python() {
    let mut conn = memory();
    assert_eq!(
        conn.query("PRAGMA foreign_keys").unwrap(),
        vec![vec![Value::Integer(0)]]
    );
    assert_eq!(texts(&mut *conn, "PRAGMA journal_mode"), ["memory"]);
    let dir = tempfile::tempdir().unwrap();
    let url =
        DatabaseUrl::parse(&format!("sqlite:///{}", dir.path().join("j.db").display())).unwrap();
    let mut file = db::connect(&url).unwrap();
    assert_eq!(texts(&mut *file, "PRAGMA journal_mode"), ["delete"]);
    assert_eq!(
        file.query("PRAGMA synchronous").unwrap(),
        vec![vec![Value::Integer(2)]]
    );
}

#[test]
fn values_come_back_typed() {
    let mut conn = memory();
    let rows = conn.query("SELECT NULL, 42, 1.5, 'text', x'00ff'").unwrap();
    assert_eq!(
        rows,
        vec![vec![
            Value::Null,
            Value::Integer(42),
            Value::Real(1.5),
            Value::Text("text".to_string()),
            Value::Blob(vec![0, 255])
        ]]
    );
}

#[test]
fn execute_counts_changed_rows() {
    let mut conn = memory();
    assert_eq!(conn.execute("CREATE TABLE t (id INTEGER)").unwrap(), 0);
    assert_eq!(
        conn.execute("INSERT INTO t VALUES (1), (2), (3)").unwrap(),
        3
    );
    assert_eq!(
        conn.execute("UPDATE t SET id = id + 10 WHERE id > 1")
            .unwrap(),
        2
    );
    // DDL after DML reports nothing changed, not the last DML's count.
    assert_eq!(conn.execute("CREATE TABLE u (id INTEGER)").unwrap(), 0);
    assert_eq!(conn.execute("DELETE FROM t").unwrap(), 3);
    // A statement that returns rows runs through execute too.
    assert_eq!(
        conn.execute("INSERT INTO t VALUES (5) RETURNING id")
            .unwrap(),
        1
    );
    assert_eq!(
        conn.query("SELECT id FROM t").unwrap(),
        vec![vec![Value::Integer(5)]]
    );
}

#[test]
fn transactions_roll_back_ddl() {
    let mut conn = memory();
    conn.begin().unwrap();
    conn.execute("CREATE TABLE t (id INTEGER)").unwrap();
    conn.rollback().unwrap();
    assert!(!conn.table_exists(None, "t").unwrap());
    conn.begin().unwrap();
    conn.execute("CREATE TABLE t (id INTEGER)").unwrap();
    conn.commit().unwrap();
    assert!(conn.table_exists(None, "t").unwrap());
}

/// The shape of the legacy fixture's history (three revisions, one DDL
/// statement each) run on a file, then read back by a new connection. Run
/// under `strace -f -c -e trace=fdatasync` to count disk flushes against
/// Python Alembic's (see the module docs of `db::runner`).
#[test]
fn runs_on_a_file_database_persist() {
    let dir = tempfile::tempdir().unwrap();
    let url = DatabaseUrl::parse(&format!(
        "sqlite:///{}",
        dir.path().join("run.db").display()
    ))
    .unwrap();
    let table = VersionTable::default();
    let steps = [
        upgrade("1a2b3c4d5e6f", None, "create account"),
        upgrade("3c4d5e6f7081", Some("1a2b3c4d5e6f"), "audit branch"),
        upgrade("2b3c4d5e6f70", Some("3c4d5e6f7081"), "add email"),
    ];
    let bodies = [
        vec![sql("CREATE TABLE account (id INTEGER NOT NULL, name VARCHAR(50) NOT NULL, PRIMARY KEY (id))")],
        vec![sql("CREATE TABLE audit_log (id INTEGER NOT NULL, entry TEXT, PRIMARY KEY (id))")],
        vec![sql("ALTER TABLE account ADD COLUMN email VARCHAR(100)")],
    ];
    let (_, result) = run(
        &mut *db::connect(&url).unwrap(),
        &table,
        &steps,
        &bodies,
        RunOptions::default(),
    );
    result.unwrap();
    let mut again = db::connect(&url).unwrap();
    assert_eq!(heads(&mut *again, &table), ["2b3c4d5e6f70"]);
    assert!(has_table(&mut *again, "account") && has_table(&mut *again, "audit_log"));
}

/// With foreign keys switched on by the migration, a deferred violation
/// fails at `COMMIT`: the step fails, and its transaction is rolled back
/// rather than left open.
#[test]
fn a_failing_commit_names_the_step_and_rolls_back() {
    let mut conn = memory();
    conn.execute("PRAGMA foreign_keys = ON").unwrap();
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one"), upgrade("r2", Some("r1"), "two")];
    let bodies = [
        vec![sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")],
        vec![
            sql("CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"),
            sql("INSERT INTO child VALUES (42)"),
        ],
    ];
    let (_, result) = run(&mut *conn, &table, &steps, &bodies, RunOptions::default());
    match result {
        Err(aurora::db::RunError::Statement { step, error, .. }) => {
            assert_eq!(step, "upgrade r1 -> r2");
            assert!(
                error
                    .to_string()
                    .starts_with("FOREIGN KEY constraint failed"),
                "{error}"
            );
        }
        other => panic!("expected the commit to fail, got {other:?}"),
    }
    assert!(has_table(&mut *conn, "parent") && !has_table(&mut *conn, "child"));
    assert_eq!(heads(&mut *conn, &table), ["r1"]);
    // No transaction is left open: a new one can begin.
    conn.begin().unwrap();
    conn.rollback().unwrap();
}

/// One statement per call, as Python's sqlite3 allows: a second one is an
/// error, not silently dropped. Trailing `;`, blanks and comments are fine.
#[test]
fn one_statement_at_a_time() {
    let mut conn = memory();
    let err = conn
        .execute("CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "You can only execute one statement at a time.\n[SQL: CREATE TABLE a (x INTEGER); CREATE TABLE b (x INTEGER)]"
    );
    assert!(!conn.table_exists(None, "a").unwrap());
    conn.execute("CREATE TABLE a (x INTEGER);  -- done\n")
        .unwrap();
    assert!(conn.table_exists(None, "a").unwrap());
    assert_eq!(conn.execute("  -- nothing\n").unwrap(), 0);
    assert!(conn.query("SELECT 1; SELECT 2").is_err());
}
