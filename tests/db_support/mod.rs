//! Cases shared by the SQLite and PostgreSQL tests: each takes a fresh,
//! empty database (for PostgreSQL: its own schema, first on the search
//! path) and checks the version table or the online runner on it.

#![allow(dead_code)] // reason: each test binary uses only some of the helpers

use aurora::db::{
    apply_version_change, current_heads, ensure_version_table, purge_version_table, run_online,
    Connection, DbError, RunError, RunOptions, RunOutput, RunStatement, Value,
};
use aurora::plan::{Direction, Step, VersionChange};
use aurora::sql::version::VersionTable;
use aurora::sql::Dialect;

/// One column of text values, as `SELECT` returns it.
pub fn texts(conn: &mut dyn Connection, sql: &str) -> Vec<String> {
    conn.query(sql)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|row| match &row[0] {
            Value::Text(s) => s.clone(),
            other => panic!("{sql}: expected text, got {other:?}"),
        })
        .collect()
}

pub fn heads(conn: &mut dyn Connection, table: &VersionTable) -> Vec<String> {
    current_heads(conn, table).expect("current_heads")
}

pub fn has_table(conn: &mut dyn Connection, name: &str) -> bool {
    conn.table_exists(None, name).expect("table_exists")
}

/// An upgrade step from `from` to `rev`, inserting or updating the version row.
pub fn upgrade(rev: &str, from: Option<&str>, doc: &str) -> Step {
    let change = match from {
        None => VersionChange::Insert(rev.to_string()),
        Some(from) => VersionChange::Update {
            from: from.to_string(),
            to: rev.to_string(),
        },
    };
    Step {
        direction: Direction::Upgrade,
        revision: Some(rev.to_string()),
        from: from.map(str::to_string).into_iter().collect(),
        to: vec![rev.to_string()],
        path: None,
        doc: doc.to_string(),
        version_changes: vec![change],
    }
}

pub fn sql(s: &str) -> RunStatement {
    RunStatement::Sql(s.to_string())
}

/// Runs `steps`, rendering step `i` as `bodies[i]`; returns the log (the
/// migration lines as they are, a revision's prints and records marked) and
/// the result.
pub fn run(
    conn: &mut dyn Connection,
    table: &VersionTable,
    steps: &[Step],
    bodies: &[Vec<RunStatement>],
    options: RunOptions,
) -> (Vec<String>, Result<(), RunError<String>>) {
    let mut log = Vec::new();
    let mut index = 0;
    let result = run_online(
        conn,
        table,
        steps,
        &options,
        &mut |_step, _conn| {
            let body = bodies[index].clone();
            index += 1;
            Ok(body)
        },
        &mut |event| {
            log.push(match event {
                RunOutput::Migration(line) => line.to_string(),
                RunOutput::Print(text) => format!("print: {text}"),
                RunOutput::Log {
                    logger,
                    level,
                    message,
                } => format!("log {logger} {level}: {message}"),
            })
        },
    );
    (log, result)
}

/// `current_heads` on an empty database: no heads, and no table made.
pub fn current_never_creates_the_table(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    assert_eq!(heads(conn, &table), Vec::<String>::new());
    assert!(!has_table(conn, "alembic_version"));
}

/// Insert, update, delete and purge, with Alembic's row-count errors.
pub fn version_table_lifecycle(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    assert!(ensure_version_table(conn, &table).unwrap());
    assert!(
        !ensure_version_table(conn, &table).unwrap(),
        "second ensure must find the table"
    );
    assert_eq!(heads(conn, &table), Vec::<String>::new());

    let insert = |r: &str| VersionChange::Insert(r.to_string());
    let update = |f: &str, t: &str| VersionChange::Update {
        from: f.to_string(),
        to: t.to_string(),
    };
    let delete = |r: &str| VersionChange::Delete(r.to_string());

    apply_version_change(conn, &table, &insert("aaa")).unwrap();
    apply_version_change(conn, &table, &insert("bbb")).unwrap();
    let mut got = heads(conn, &table);
    got.sort();
    assert_eq!(got, ["aaa", "bbb"]);

    apply_version_change(conn, &table, &update("aaa", "ccc")).unwrap();
    apply_version_change(conn, &table, &delete("bbb")).unwrap();
    assert_eq!(heads(conn, &table), ["ccc"]);

    let err = apply_version_change(conn, &table, &update("nope", "ddd")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Online migration expected to match one row when updating 'nope' to 'ddd' in 'alembic_version'; 0 found"
    );
    let err = apply_version_change(conn, &table, &delete("nope")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Online migration expected to match one row when deleting 'nope' in 'alembic_version'; 0 found"
    );
    // Inserting a revision that is there already breaks the primary key.
    assert!(matches!(
        apply_version_change(conn, &table, &insert("ccc")),
        Err(DbError::Statement { .. })
    ));
    assert_eq!(heads(conn, &table), ["ccc"]);

    purge_version_table(conn, &table).unwrap();
    assert_eq!(heads(conn, &table), Vec::<String>::new());
    assert!(has_table(conn, "alembic_version"), "purge keeps the table");
}

/// A version table made without a primary key (`version_table_pk=False`)
/// can hold a revision twice; updating it then matches two rows.
pub fn row_count_errors_report_the_count(conn: &mut dyn Connection) {
    let table = VersionTable {
        name: "legacy_versions".to_string(),
        schema: None,
    };
    conn.execute("CREATE TABLE legacy_versions (version_num VARCHAR(32) NOT NULL)")
        .unwrap();
    conn.execute("INSERT INTO legacy_versions (version_num) VALUES ('aaa')")
        .unwrap();
    conn.execute("INSERT INTO legacy_versions (version_num) VALUES ('aaa')")
        .unwrap();
    let err = apply_version_change(
        conn,
        &table,
        &VersionChange::Update {
            from: "aaa".to_string(),
            to: "bbb".to_string(),
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Online migration expected to match one row when updating 'aaa' to 'bbb' in 'legacy_versions'; 2 found"
    );
    let err =
        apply_version_change(conn, &table, &VersionChange::Delete("bbb".to_string())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Online migration expected to match one row when deleting 'bbb' in 'legacy_versions'; 2 found"
    );
}

/// A version table with another name, in a named schema.
pub fn version_table_in_a_schema(conn: &mut dyn Connection, schema: &str) {
    let table = VersionTable {
        name: "my_versions".to_string(),
        schema: Some(schema.to_string()),
    };
    assert_eq!(heads(conn, &table), Vec::<String>::new());
    assert!(!conn.table_exists(Some(schema), "my_versions").unwrap());
    ensure_version_table(conn, &table).unwrap();
    assert!(conn.table_exists(Some(schema), "my_versions").unwrap());
    apply_version_change(conn, &table, &VersionChange::Insert("abc".to_string())).unwrap();
    assert_eq!(heads(conn, &table), ["abc"]);
    let err =
        apply_version_change(conn, &table, &VersionChange::Delete("zzz".to_string())).unwrap_err();
    // Alembic names the table without its schema.
    assert!(
        err.to_string().ends_with("in 'my_versions'; 0 found"),
        "{err}"
    );
}

/// A clean run: the log lines, the schema, the version rows.
pub fn run_applies_steps_and_logs(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    let steps = [
        upgrade("r1", None, "create a"),
        upgrade("r2", Some("r1"), "add b"),
    ];
    let bodies = [
        vec![sql(
            "CREATE TABLE a (id INTEGER NOT NULL, PRIMARY KEY (id))",
        )],
        vec![
            sql("CREATE TABLE b (id INTEGER NOT NULL)"),
            sql("INSERT INTO b (id) VALUES (7)"),
        ],
    ];
    let (log, result) = run(conn, &table, &steps, &bodies, RunOptions::default());
    result.unwrap();
    let context = match conn.dialect() {
        Dialect::Sqlite => [
            "Context impl SQLiteImpl.",
            "Will assume non-transactional DDL.",
        ],
        Dialect::Postgresql => [
            "Context impl PostgresqlImpl.",
            "Will assume transactional DDL.",
        ],
    };
    assert_eq!(
        log,
        [
            context[0],
            context[1],
            "Running upgrade  -> r1, create a",
            "Running upgrade r1 -> r2, add b"
        ]
    );
    assert!(has_table(conn, "a") && has_table(conn, "b"));
    assert_eq!(
        conn.query("SELECT id FROM b").unwrap(),
        vec![vec![Value::Integer(7)]]
    );
    assert_eq!(heads(conn, &table), ["r2"]);
}

/// No steps at all still creates the version table, as Alembic's
/// `upgrade head` on an up-to-date, empty database does.
pub fn run_without_steps_creates_the_version_table(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    let (log, result) = run(conn, &table, &[], &[], RunOptions::default());
    result.unwrap();
    assert_eq!(log.len(), 2);
    assert!(has_table(conn, "alembic_version"));
    assert_eq!(heads(conn, &table), Vec::<String>::new());
}

/// The second step's second statement fails: the first step stays, the
/// second leaves no trace. `options` must give one transaction per step.
/// What a revision prints or logs is handed out where the run reaches it:
/// after the statements before it ran, and never after a failed statement.
pub fn revision_output_follows_its_statements(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one"), upgrade("r2", Some("r1"), "two")];
    let record = |message: &str| RunStatement::Log {
        logger: "migrations".to_string(),
        level: 20,
        message: message.to_string(),
    };
    let bodies = [
        vec![
            RunStatement::Print("before\n".to_string()),
            sql("CREATE TABLE one (id INTEGER)"),
            record("created one"),
        ],
        vec![
            RunStatement::Print("two starts\n".to_string()),
            sql("INSERT INTO no_such_table (id) VALUES (1)"),
            RunStatement::Print("never\n".to_string()),
            record("never logged"),
        ],
    ];
    let (log, result) = run(conn, &table, &steps, &bodies, RunOptions::default());
    assert!(
        matches!(result, Err(RunError::Statement { .. })),
        "{result:?}"
    );
    let from_run: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.starts_with("Running upgrade"))
        .collect();
    assert_eq!(
        from_run,
        [
            "Running upgrade  -> r1, one",
            "print: before\n",
            "log migrations 20: created one",
            "Running upgrade r1 -> r2, two",
            "print: two starts\n",
        ]
    );
}

pub fn failing_step_is_rolled_back_whole(conn: &mut dyn Connection, options: RunOptions) {
    let table = VersionTable::default();
    let steps = [
        upgrade("r1", None, "one"),
        upgrade("r2", Some("r1"), "two"),
        upgrade("r3", Some("r2"), "three"),
    ];
    let bodies = [
        vec![
            sql("CREATE TABLE one (id INTEGER)"),
            sql("INSERT INTO one (id) VALUES (1)"),
        ],
        vec![
            sql("CREATE TABLE two (id INTEGER)"),
            sql("INSERT INTO no_such_table (id) VALUES (1)"),
            sql("CREATE TABLE never (id INTEGER)"),
        ],
        vec![sql("CREATE TABLE three (id INTEGER)")],
    ];
    let (log, result) = run(conn, &table, &steps, &bodies, options);
    match result {
        Err(RunError::Statement {
            step,
            revision,
            error,
            ..
        }) => {
            assert_eq!(step, "upgrade r1 -> r2");
            assert_eq!(revision.as_deref(), Some("r2"));
            let message = error.to_string();
            assert!(message.contains("no_such_table"), "{message}");
            assert!(
                message.ends_with("[SQL: INSERT INTO no_such_table (id) VALUES (1)]"),
                "{message}"
            );
        }
        other => panic!("expected a statement error, got {other:?}"),
    }
    assert_eq!(log.last().unwrap(), "Running upgrade r1 -> r2, two");
    assert!(has_table(conn, "one"));
    assert!(
        !has_table(conn, "two"),
        "the failed step's first statement must be rolled back"
    );
    assert!(!has_table(conn, "never") && !has_table(conn, "three"));
    assert_eq!(heads(conn, &table), ["r1"]);
    assert_eq!(
        conn.query("SELECT id FROM one").unwrap(),
        vec![vec![Value::Integer(1)]]
    );
}

/// A version change that matches no row fails the step, and its
/// statements are rolled back with it.
pub fn version_mismatch_rolls_back_the_step(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    let steps = [
        upgrade("r1", None, "one"),
        upgrade("r2", Some("elsewhere"), "two"),
    ];
    let bodies = [
        vec![sql("CREATE TABLE one (id INTEGER)")],
        vec![sql("CREATE TABLE two (id INTEGER)")],
    ];
    let (_, result) = run(
        conn,
        &table,
        &steps,
        &bodies,
        RunOptions {
            transaction_per_migration: true,
            purge: false,
            ..Default::default()
        },
    );
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Online migration expected to match one row when updating 'elsewhere' to 'r2' in 'alembic_version'; 0 found"
    );
    assert!(has_table(conn, "one") && !has_table(conn, "two"));
    assert_eq!(heads(conn, &table), ["r1"]);
}

/// A render failure is reported as such and leaves nothing behind.
pub fn render_error_is_reported(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one")];
    let result = run_online(
        conn,
        &table,
        &steps,
        &RunOptions::default(),
        &mut |_, _| {
            Err::<Vec<RunStatement>, String>("revision r1: unknown op 'frobnicate'".to_string())
        },
        &mut |_| {},
    );
    match result {
        Err(RunError::Render { step, error }) => {
            assert_eq!(step, "upgrade  -> r1");
            assert_eq!(error, "revision r1: unknown op 'frobnicate'");
        }
        other => panic!("expected a render error, got {other:?}"),
    }
    assert_eq!(heads(conn, &table), Vec::<String>::new());
}

/// The render callback runs inside the step, after the steps before it
/// committed, so it can reflect what they made.
pub fn render_sees_earlier_steps(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one"), upgrade("r2", Some("r1"), "two")];
    let mut seen = Vec::new();
    let result = run_online(
        conn,
        &table,
        &steps,
        &RunOptions::default(),
        &mut |step, conn| {
            seen.push(conn.table_exists(None, "one").map_err(|e| e.to_string())?);
            match step.revision.as_deref() {
                Some("r1") => Ok(vec![sql("CREATE TABLE one (id INTEGER)")]),
                _ => Ok::<_, String>(vec![]),
            }
        },
        &mut |_| {},
    );
    result.unwrap();
    assert_eq!(seen, [false, true]);
}

/// Statements in an autocommit block run outside the step's transaction:
/// those before the block are committed by it, and a later failure rolls
/// back only what came after the block.
pub fn autocommit_block_commits_what_came_before(conn: &mut dyn Connection, inside: &str) {
    let table = VersionTable::default();
    let steps = [upgrade("r1", None, "one")];
    let bodies = [vec![
        sql("CREATE TABLE before_block (id INTEGER)"),
        RunStatement::AutocommitBegin,
        sql(inside),
        RunStatement::AutocommitEnd,
        sql("CREATE TABLE after_block (id INTEGER)"),
        sql("INSERT INTO no_such_table VALUES (1)"),
    ]];
    let (_, result) = run(
        conn,
        &table,
        &steps,
        &bodies,
        RunOptions {
            transaction_per_migration: true,
            purge: false,
            ..Default::default()
        },
    );
    assert!(
        matches!(result, Err(RunError::Statement { .. })),
        "{result:?}"
    );
    assert!(
        has_table(conn, "before_block"),
        "the block commits what came before it"
    );
    assert!(
        !has_table(conn, "after_block"),
        "what follows the block is rolled back"
    );
    assert_eq!(heads(conn, &table), Vec::<String>::new());
}

/// `stamp --purge`: the rows go before the first step.
pub fn purge_option_empties_the_table(conn: &mut dyn Connection) {
    let table = VersionTable::default();
    ensure_version_table(conn, &table).unwrap();
    for rev in ["x1", "x2"] {
        apply_version_change(conn, &table, &VersionChange::Insert(rev.to_string())).unwrap();
    }
    let mut stamp = upgrade("s1", None, "");
    stamp.direction = Direction::Stamp;
    stamp.revision = None;
    let (log, result) = run(
        conn,
        &table,
        &[stamp],
        &[], // A stamp is never rendered: rendering it would index past the end.
        RunOptions {
            transaction_per_migration: false,
            purge: true,
            ..Default::default()
        },
    );
    result.unwrap();
    assert_eq!(log.last().unwrap(), "Running stamp_revision  -> s1");
    assert_eq!(heads(conn, &table), ["s1"]);
}
